/*
 * The servers' short histories: see srvhist.h.  This file owns them;
 * the engine calls srvhist_tick() and reload.c srvhist_forget().
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"
#include "srvhist.h"

int
srvhist_init(struct srvhist *h)
{
	memset(h, 0, sizeof(*h));
	/*
	 * About 3.6 KB a slot, 14 MB in all, as zeroed pages that cost
	 * nothing until a server's ring is first written.
	 */
	h->srv = calloc(POOL_MAXSERVERS, sizeof(*h->srv));
	h->ring = calloc((size_t)POOL_MAXSERVERS * SRVHIST_SECONDS,
	    sizeof(*h->ring));
	if (h->srv == NULL || h->ring == NULL) {
		srvhist_free(h);
		return (-1);
	}
	return (0);
}

void
srvhist_free(struct srvhist *h)
{
	free(h->srv);
	free(h->ring);
	memset(h, 0, sizeof(*h));
}

void
srvhist_forget(struct srvhist *h, unsigned i)
{
	if (h->srv == NULL || i >= POOL_MAXSERVERS)
		return;
	memset(&h->srv[i], 0, sizeof(h->srv[i]));
}

static uint32_t
per_second(uint64_t now, uint64_t *last, uint32_t gap)
{
	uint64_t	 d;

	/* A counter never goes back; if it did, that is no traffic. */
	d = now > *last ? (now - *last) / gap : 0;
	*last = now;
	return (d > UINT32_MAX ? UINT32_MAX : (uint32_t)d);
}

/* gap seconds for server i, its counters in s. */
static void
sample(struct srvhist *h, unsigned i, const struct server *s, uint32_t gap)
{
	struct srvhist_srv	*hs = &h->srv[i];
	struct srvhist_sample	 v, *ring = &h->ring[(size_t)i *
				    SRVHIST_SECONDS];
	unsigned		 k, at;

	if (!hs->based) {
		/* A server new to its slot: from now on. */
		hs->flows = s->flows_total;
		hs->bytes_in = s->bytes_in;
		hs->bytes_out = s->bytes_out;
		hs->based = 1;
		hs->n = 0;
		return;
	}
	v.flows = per_second(s->flows_total, &hs->flows, gap);
	v.bytes_in = per_second(s->bytes_in, &hs->bytes_in, gap);
	v.bytes_out = per_second(s->bytes_out, &hs->bytes_out, gap);
	for (k = 0; k < gap; k++) {
		at = (h->head + 1 + k) % SRVHIST_SECONDS;
		ring[at] = v;
	}
	hs->n = hs->n + gap > SRVHIST_SECONDS ? SRVHIST_SECONDS :
	    (uint16_t)(hs->n + gap);
}

void
srvhist_tick(struct srvhist *h, const struct pool *p, uint32_t now)
{
	uint32_t	 gap;
	unsigned	 i;

	if (h->srv == NULL)
		return;
	gap = now - h->t;
	if (h->started && gap == 0)
		return;
	if (!h->started || gap > SRVHIST_SECONDS) {
		/* The first sample, or a gap longer than the ring: anew. */
		for (i = 0; i < POOL_MAXSERVERS; i++)
			h->srv[i].based = 0;
		gap = 1;
	}
	for (i = 0; i < p->nsrv && i < POOL_MAXSERVERS; i++) {
		if (p->srv[i].used)
			sample(h, i, &p->srv[i], gap);
		else
			srvhist_forget(h, i);
	}
	h->head = (h->head + gap) % SRVHIST_SECONDS;
	h->t = now;
	h->started = 1;
}

unsigned
srvhist_get(const struct srvhist *h, unsigned i, struct srvhist_sample *out,
    unsigned max)
{
	const struct srvhist_sample *ring;
	unsigned	 n, k;

	if (h->srv == NULL || i >= POOL_MAXSERVERS)
		return (0);
	n = h->srv[i].n;
	if (n > max)
		n = max;
	ring = &h->ring[(size_t)i * SRVHIST_SECONDS];
	for (k = 0; k < n; k++)
		out[k] = ring[(h->head + SRVHIST_SECONDS - n + 1 + k) %
		    SRVHIST_SECONDS];
	return (n);
}

static void
json_series(struct obuf *o, const char *key, const struct srvhist_sample *v,
    unsigned n, size_t off)
{
	uint32_t	 u;
	unsigned	 k;

	ob_printf(o, ",\"%s\":[", key);
	for (k = 0; k < n; k++) {
		memcpy(&u, (const char *)&v[k] + off, sizeof(u));
		ob_printf(o, "%s%u", k > 0 ? "," : "", u);
	}
	ob_printf(o, "]");
}

void
srvhist_json(const struct srvhist *h, unsigned i, struct obuf *o)
{
	struct srvhist_sample	 v[SRVHIST_SECONDS];
	unsigned		 n;

	n = srvhist_get(h, i, v, SRVHIST_SECONDS);
	ob_printf(o, "{\"seconds\":%u", n);
	json_series(o, "new_flows", v, n,
	    offsetof(struct srvhist_sample, flows));
	json_series(o, "bytes_in", v, n,
	    offsetof(struct srvhist_sample, bytes_in));
	json_series(o, "bytes_out", v, n,
	    offsetof(struct srvhist_sample, bytes_out));
	ob_printf(o, "}");
}
