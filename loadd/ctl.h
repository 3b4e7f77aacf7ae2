/*
 * The control socket: a UNIX stream socket, one command per connection
 * (a line of at most CTL_LINEMAX bytes), the answer, then the connection
 * is closed -- as HAProxy's stats socket in its non-interactive mode.  It
 * runs in loadd's loop: every socket is non-blocking, an answer waits in
 * memory until the client takes it, and a client that sends nothing is
 * dropped after a few seconds.  loadctl(8) is its client.
 */
#ifndef LOADD_CTL_H
#define LOADD_CTL_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include "obuf.h"

#define CTL_LINEMAX	1024
#define CTL_MAXCLIENTS	16	/* on the control socket */
#define HTTP_MAXCLIENTS	64	/* on the metrics port, apart */
/* Poll slots the control plane may use: two listeners and the clients. */
#define CTL_NFDS	(2 + CTL_MAXCLIENTS + HTTP_MAXCLIENTS)

struct agent;
struct config;
struct ctl_http_stats;
struct engine;
struct health;
struct pktio;

/* What the commands look at; the main loop keeps it current. */
struct ctlenv {
	struct engine		*e;
	struct config		*conf;
	struct health		*h;
	struct agent		*agent;
	struct pktio		*io;
	uint64_t		 now_ms;	/* monotonic */
	uint64_t		 started_ms;
	unsigned		 reloads;	/* successful reloads so far */
	const struct ctl_http_stats *http;	/* set by ctl_run */
	/* Reloads the configuration: 0, or -1 with why in err. */
	int			(*reload)(void *, char *err, size_t);
	void			*arg;
};

struct ctl;

/* What became of connections to the metrics port. */
struct ctl_http_stats {
	uint64_t	 served;	/* a page or an error answered */
	uint64_t	 renders;	/* pages rendered */
	uint64_t	 full;		/* refused: every slot taken */
	uint64_t	 per_source;	/* refused: too many from one address */
	uint64_t	 timeouts;	/* closed: head or answer too slow */
};

/* Creates the socket (mode 0600 unless mode says otherwise); NULL fails. */
struct ctl	*ctl_open(const char *path, unsigned mode);
void		 ctl_close(struct ctl *);
/*
 * Also serve HTTP on this listening TCP socket (owned by c): the status
 * page at /, its JSON at /status.json, Prometheus at /metrics.
 */
void		 ctl_set_http(struct ctl *, int fd);
unsigned	 ctl_pollfds(struct ctl *, struct pollfd *, unsigned max);
void		 ctl_run(struct ctl *, const struct pollfd *, unsigned n,
		    struct ctlenv *);
/* 1 while a page is being rendered: the loop must not sleep in poll. */
int		 ctl_busy(const struct ctl *);

/*
 * One command, its answer appended to out; returns 0, or -1 when the
 * answer is an error.  Exposed for the unit tests and the fuzzer.
 */
int		 ctl_command(struct ctlenv *, char *line, struct obuf *out);

#endif
