/*
 * The fast path's event ring, read (fastpath.h): the SYN, FIN and RST of
 * the TCP packets the program carried, so that loadd knows what it would
 * have seen of them (live_fp.c hands them to the engine).
 *
 * libbpf's ring_buffer maps the ring (the consumer's page read-write,
 * the data read-only) and makes an epoll descriptor that is readable
 * while records wait; both are made here, before the privilege drop and
 * the seccomp filter.  Reading afterwards is memory only: no system call
 * (the kernel is woken by nobody, it is the producer).
 *
 * Every record is the program's, but it is still checked: one of the
 * wrong size, or whose tuple makes no sense, is counted and skipped.
 */
#include <netinet/in.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "fastpath.h"

struct fastpath_events {
	struct ring_buffer	*rb;
	fastpath_event_fn	 cb;
	void			*arg;
	uint64_t		*bad;	/* during a read */
	int			 passed;
};

static int	 one_record(void *, void *, size_t);

struct fastpath_events *
fastpath_events_open(struct fastpath *fp, fastpath_event_fn cb, void *arg)
{
	struct fastpath_events	*ev;

	if ((ev = calloc(1, sizeof(*ev))) == NULL)
		return (NULL);
	ev->cb = cb;
	ev->arg = arg;
	if ((ev->rb = ring_buffer__new(fastpath_events_map_fd(fp), one_record,
	    ev, NULL)) == NULL) {
		free(ev);
		return (NULL);
	}
	return (ev);
}

int
fastpath_events_fd(const struct fastpath_events *ev)
{
	return (ring_buffer__epoll_fd(ev->rb));
}

static int
one_record(void *arg, void *data, size_t len)
{
	struct fastpath_events	*ev = arg;
	struct fastpath_event	 e;
	struct fp_event		 r;

	if (len != sizeof(r)) {
		(*ev->bad)++;
		return (0);
	}
	memcpy(&r, data, sizeof(r));
	if (r.key.proto != IPPROTO_TCP ||
	    fastpath_flow_of(&r.key, r.addr, r.port, r.dir, &e.flow) == -1) {
		(*ev->bad)++;
		return (0);
	}
	e.dir = r.dir;
	e.tcpflags = r.tcpflags;
	e.ns = r.ns;
	ev->passed++;
	ev->cb(&e, ev->arg);
	return (0);
}

int
fastpath_events_read(struct fastpath_events *ev, uint64_t *bad)
{
	int	 rc;

	ev->bad = bad;
	ev->passed = 0;
	if ((rc = ring_buffer__consume(ev->rb)) < 0) {
		errno = -rc;
		return (-1);
	}
	return (ev->passed);
}

void
fastpath_events_close(struct fastpath_events *ev)
{
	if (ev == NULL)
		return;
	ring_buffer__free(ev->rb);
	free(ev);
}
