/*
 * The live daemon's event loop, in the manner of Redis's ae.c.  Each part
 * of loadd that waits on something registers a source: the descriptors it
 * wants polled, how long it may let the loop sleep, and what to do once
 * poll returns.  A pass polls every source's descriptors at once, then
 * runs the sources in the order they were added, each with its own slice
 * of the poll set; a source without descriptors runs every pass (a tick).
 *
 * The loop owns the poll set, allocated once for the most descriptors
 * the daemon can have: nothing a source does (a reload from loadctl in
 * the control source included) frees it under another.  It owns the
 * signals too, read as flags: a SIGHUP's reload runs at the end of a
 * pass, after every source.
 */
#ifndef LOADD_LOOP_H
#define LOADD_LOOP_H

#include <poll.h>
#include <stdint.h>

#define LOOP_MAXSRC	16
#define LOOP_MAXWAIT_MS	1000	/* the flow table ticks once a second */

struct loop_source {
	const char	*name;
	/* Fills at most max entries; returns how many.  NULL: none. */
	unsigned	(*fds)(void *, struct pollfd *, unsigned max);
	/* How long the loop may sleep for it, in ms; -1: as long as it likes. */
	int		(*timeout)(void *, uint64_t now_ms);
	/* After poll: its slice of the set, revents filled in. */
	void		(*run)(void *, const struct pollfd *, unsigned n,
			    uint64_t now_ms);
	void		*arg;
};

/* What the signals ask for, done by the daemon between passes. */
struct loop_hooks {
	void		(*reload)(void *);	/* SIGHUP */
	void		(*stats)(void *);	/* SIGUSR1 */
	void		*arg;
};

struct loop {
	struct loop_source	 src[LOOP_MAXSRC];
	unsigned		 first[LOOP_MAXSRC];	/* its slice of pfd */
	unsigned		 nfd[LOOP_MAXSRC];
	unsigned		 nsrc;
	struct pollfd		*pfd;
	unsigned		 nalloc;
	struct loop_hooks	 hooks;
	uint64_t		 passes;
	int			 wait_ms;	/* the last poll's timeout */
	int			 stopped;
	int			 rc;		/* loop_run's status */
};

int	 loop_init(struct loop *, unsigned maxfds);
void	 loop_free(struct loop *);
int	 loop_add(struct loop *, const struct loop_source *);
void	 loop_signals(struct loop *, const struct loop_hooks *);
int	 loop_pass(struct loop *);
int	 loop_run(struct loop *);
void	 loop_stop(struct loop *, int rc);
int	 loop_stopping(const struct loop *);

#endif
