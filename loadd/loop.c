/*
 * The live daemon's event loop: see loop.h.  One loop a process (the
 * signal flags are the process's).
 */
#include <sys/types.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "loop.h"
#include "proc.h"

static volatile sig_atomic_t	 sig_quit, sig_stats, sig_reload;

static void
on_signal(int sig)
{
	switch (sig) {
	case SIGUSR1:
		sig_stats = 1;
		break;
	case SIGHUP:
		sig_reload = 1;
		break;
	default:
		sig_quit = 1;
		break;
	}
}

int
loop_init(struct loop *l, unsigned maxfds)
{
	memset(l, 0, sizeof(*l));
	if ((l->pfd = calloc(maxfds, sizeof(*l->pfd))) == NULL)
		return (-1);
	l->nalloc = maxfds;
	return (0);
}

void
loop_free(struct loop *l)
{
	free(l->pfd);
	l->pfd = NULL;
	l->nalloc = 0;
}

int
loop_add(struct loop *l, const struct loop_source *s)
{
	if (l->nsrc == LOOP_MAXSRC || s->run == NULL)
		return (-1);
	l->src[l->nsrc++] = *s;
	return (0);
}

/*
 * TERM and INT stop the loop, HUP reloads, USR1 logs the statistics; a
 * write to a client gone away is an error, not a death.
 */
void
loop_signals(struct loop *l, const struct loop_hooks *h)
{
	l->hooks = *h;
	sig_quit = sig_stats = sig_reload = 0;
	sig_catch(on_signal, SIGTERM, SIGINT, SIGUSR1, SIGHUP, 0);
}

void
loop_stop(struct loop *l, int rc)
{
	l->stopped = 1;
	if (rc != 0)
		l->rc = rc;
}

/* The poll set for this pass, and how long it may wait. */
static unsigned
gather(struct loop *l, int *tmo)
{
	struct loop_source *s;
	uint64_t	 now = clock_mono_ms();
	unsigned	 i, n = 0;
	int		 t;

	*tmo = LOOP_MAXWAIT_MS;
	for (i = 0; i < l->nsrc; i++) {
		s = &l->src[i];
		l->first[i] = n;
		l->nfd[i] = s->fds != NULL ?
		    s->fds(s->arg, l->pfd + n, l->nalloc - n) : 0;
		n += l->nfd[i];
		if (s->timeout != NULL && (t = s->timeout(s->arg, now)) >= 0 &&
		    t < *tmo)
			*tmo = t;
	}
	return (n);
}

/* One pass: poll, every source, then what the signals asked for. */
int
loop_pass(struct loop *l)
{
	struct loop_source *s;
	unsigned	 i, n;
	int		 tmo;

	n = gather(l, &tmo);
	l->wait_ms = tmo;
	if (poll(l->pfd, n, tmo) == -1 && errno != EINTR) {
		log_warn("poll");
		loop_stop(l, 1);
		return (-1);
	}
	l->passes++;
	for (i = 0; i < l->nsrc && !l->stopped; i++) {
		s = &l->src[i];
		s->run(s->arg, l->pfd + l->first[i], l->nfd[i],
		    clock_mono_ms());
	}
	if (sig_quit)
		loop_stop(l, 0);
	if (sig_stats) {
		sig_stats = 0;
		if (l->hooks.stats != NULL)
			l->hooks.stats(l->hooks.arg);
	}
	if (sig_reload && !l->stopped) {
		sig_reload = 0;
		if (l->hooks.reload != NULL)
			l->hooks.reload(l->hooks.arg);
	}
	return (0);
}

/* Whether the loop is to stop: by a source, or by a signal not yet seen. */
int
loop_stopping(const struct loop *l)
{
	return (l->stopped || sig_quit);
}

int
loop_run(struct loop *l)
{
	while (!l->stopped) {
		if (sig_quit) {
			loop_stop(l, 0);
			break;
		}
		(void)loop_pass(l);
	}
	return (l->rc);
}
