/*
 * Health: whether each server takes new flows.  The object loadd.c and
 * ctl.c hold is made of two parts with their own files: hcprobe.c runs
 * the active probes and hands each result to srvstate.c, the server
 * state machine, which also judges the passive signs, applies the
 * operator's and the agents' word, and runs backups and slow start.
 *
 * Owns: the two parts of the pool's health, which live as long as loadd
 * (a reload tells them which slots are new or freed), and the counters
 * of struct health_stats; hcprobe.c counts the probes and their results,
 * srvstate.c the transitions.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "compat.h"
#include "hcprobe.h"
#include "health.h"
#include "srvstate.h"

struct health {
	struct hcprobes	*probes;
	struct srvstate	*ss;
	struct health_stats st;
};

static const char *const hc_type_names[] = {
	[HC_TCP] = "tcp",
	[HC_HTTP] = "http",
	[HC_ICMP] = "icmp",
	[HC_NONE] = "none",
};

const char *
hc_type_name(int t)
{
	if (t < 0 || t > HC_NONE)
		return ("?");
	return (hc_type_names[t]);
}

void
hcconf_default(struct hcconf *hc)
{
	memset(hc, 0, sizeof(*hc));
	hc->type = HC_TCP;
	hc->start_up = 1;
	hc->passive = 1;
	hc->down_flows = HC_KEEP;
	hc->noserver = HC_NS_RESET;
	hc->interval_ms = 2000;
	hc->timeout_ms = 1000;
	hc->rise = 2;
	hc->fall = 3;
	hc->passive_timeout_ms = 3000;
	hc->passive_fall = 5;
	hc->passive_retry = 30;
	hc->status_lo = 200;
	hc->status_hi = 399;
	strlcpy(hc->path, "/", sizeof(hc->path));
}

void
health_preopen(void)
{
	hcprobe_preopen();
}

struct health *
health_new(struct pool *p)
{
	struct health	*h;
	int		 e;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return (NULL);
	if ((h->ss = srvstate_new(p, &h->st)) == NULL ||
	    (h->probes = hcprobe_new(p, h->ss, &h->st)) == NULL) {
		e = errno;
		health_free(h);
		errno = e;
		return (NULL);
	}
	return (h);
}

void
health_free(struct health *h)
{
	if (h == NULL)
		return;
	hcprobe_free(h->probes);
	srvstate_free(h->ss);
	free(h);
}

const struct health_stats *
health_stats(const struct health *h)
{
	return (&h->st);
}

int
health_reload(struct health *h, const uint8_t *slots, uint64_t now)
{
	srvstate_reload(h->ss, slots, now);
	return (hcprobe_reload(h->probes, slots));
}

unsigned
health_pollfds(struct health *h, struct pollfd *pfd, unsigned max)
{
	return (hcprobe_pollfds(h->probes, pfd, max));
}

int
health_timeout(const struct health *h, uint64_t now)
{
	uint64_t	 t;

	t = hcprobe_due(h->probes, now + 1000);
	t = srvstate_due(h->ss, now, t);
	return (t <= now ? 0 : (int)(t - now));
}

void
health_run(struct health *h, const struct pollfd *pfd, unsigned n,
    uint64_t now, uint8_t *gone)
{
	hcprobe_run(h->probes, pfd, n, now, gone);
	srvstate_tick(h->ss, now, gone);
}

void
health_ramp(struct health *h, unsigned i)
{
	srvstate_ramp(h->ss, i);
}

void
health_set_admin(struct health *h, unsigned i, int admin, int reason)
{
	srvstate_admin(h->ss, i, admin, reason);
}

void
health_agents(struct health *h, const struct agent *a, uint64_t now,
    uint8_t *gone)
{
	srvstate_agents(h->ss, a, now, gone);
}
