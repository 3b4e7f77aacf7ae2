/*
 * The active probes of health.h (TCP connect, HTTP GET, ICMP echo): one
 * slot per server, run on non-blocking sockets in loadd's loop.  Each
 * result goes to the server state machine (srvstate.h), which counts it.
 */
#ifndef LOADD_HCPROBE_H
#define LOADD_HCPROBE_H

#include <poll.h>
#include <stdint.h>

#include "health.h"

struct hcprobes;
struct srvstate;

/* What health_preopen() does. */
void		 hcprobe_preopen(void);
/*
 * The probes of p's servers, whose results go to ss; probes, their
 * results and timeouts are counted in st.  Opens the raw ICMP sockets
 * its probes need unless hcprobe_preopen() did.  NULL with errno.
 */
struct hcprobes	*hcprobe_new(struct pool *p, struct srvstate *ss,
		    struct health_stats *st);
void		 hcprobe_free(struct hcprobes *);
/*
 * After a reload (slots: what reload_swap() did to each server slot):
 * the probes of gone servers close, new servers' start at the next pass,
 * and a server whose probe changed (check, port, path, timing) starts
 * again; the others go on.  -1 with errno if an ICMP socket the new
 * configuration needs cannot be had (those probes then fail, said).
 */
int		 hcprobe_reload(struct hcprobes *, const uint8_t *slots);
/* What health_pollfds() does. */
unsigned	 hcprobe_pollfds(struct hcprobes *, struct pollfd *,
		    unsigned max);
/* t, or sooner if a probe is due to start or to time out before then. */
uint64_t	 hcprobe_due(const struct hcprobes *, uint64_t t);
/*
 * Reads answers (pfd as filled by hcprobe_pollfds()), times out the
 * probes whose deadline passed and starts those that are due.
 */
void		 hcprobe_run(struct hcprobes *, const struct pollfd *,
		    unsigned n, uint64_t now_ms, uint8_t *gone);

#endif
