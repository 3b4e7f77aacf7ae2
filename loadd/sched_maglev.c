/*
 * Maglev (balancingmode = maglev): the lookup table of each service,
 * built from its servers alone, and the pick that reads it, falling to
 * the next entries when a server is at its cap.
 */
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "pkt.h"
#include "pool.h"
#include "sched.h"
#include "sched_priv.h"

int
sched_is_prime(uint32_t n)
{
	uint32_t d;

	if (n < 2)
		return (0);
	for (d = 2; (uint64_t)d * d <= n; d++)
		if (n % d == 0)
			return (0);
	return (1);
}

/*
 * Maglev: every server walks its own permutation of the table (an
 * offset and a skip from two hashes of its address and port) and claims
 * the next free entry in turn; a server of weight w claims w/wmax entries
 * per round (Katran's weighted fill).  The table depends only on the
 * servers and their weights, not on the order they were configured in or
 * on any random seed, so every loadd with the same servers builds the
 * same table, and a flow finds the same server on any of them or after a
 * restart.  Removing one of N servers moves about 1/N of the entries.
 */
/*
 * Orders a service's members (by position) by address and port, for a
 * fill that ignores the configuration's order.
 */
static const struct pool *sort_pool;
static const struct service *sort_svc;

/* A member's permutation of the table and its claims so far. */
struct maglev_perm {
	uint32_t	 off, skip;	/* first preferred entry, the step */
	uint32_t	 next;		/* preferences used */
	uint32_t	 acc;		/* weight earned towards a claim */
};

static int
server_cmp(const void *a, const void *b)
{
	const struct server *x = SVC_SRV(sort_pool, sort_svc,
	    *(const uint16_t *)a);
	const struct server *y = SVC_SRV(sort_pool, sort_svc,
	    *(const uint16_t *)b);
	int		 c;

	if ((c = memcmp(x->addr.b, y->addr.b, sizeof(x->addr.b))) != 0)
		return (c);
	return ((int)x->port - (int)y->port);
}

/*
 * The table, a round at a time: each usable member in order claims its
 * next free preferred entry, a lighter one only every wmax/weight
 * rounds, until every entry is taken.
 */
static void
maglev_fill(const struct pool *p, struct service *svc, const uint16_t *order,
    struct maglev_perm *pm, uint32_t wmax, uint8_t *taken)
{
	uint32_t	 M = svc->maglev_size, filled = 0, c;
	unsigned	 i, k, n = svc->nsrv;

	while (filled < M) {
		for (k = 0; k < n && filled < M; k++) {
			i = order[k];
			if (!sched_usable(p, svc->members[i]))
				continue;
			pm[i].acc += SVC_SRV(p, svc, i)->weight;
			if (pm[i].acc < wmax)
				continue;
			pm[i].acc -= wmax;
			do {
				c = (uint32_t)(((uint64_t)pm[i].off +
				    (uint64_t)pm[i].next * pm[i].skip) % M);
				pm[i].next++;
			} while (taken[c]);
			taken[c] = 1;
			svc->maglev[c] = (uint16_t)i;
			filled++;
		}
	}
}

int
sched_maglev_setup(struct pool *p, struct service *svc)
{
	uint32_t		 M = svc->maglev_size ? svc->maglev_size :
				    MAGLEV_SIZE_DEFAULT;
	struct maglev_perm	 pm[POOL_MAXSERVERS];
	uint32_t		 wmax = 0, j;
	unsigned		 i, n = svc->nsrv;
	uint8_t			*taken;
	uint16_t		 order[POOL_MAXSERVERS];

	if (svc->maglev == NULL) {
		svc->maglev_size = M;
		if ((svc->maglev = calloc(M, sizeof(uint16_t))) == NULL)
			return (-1);
	}
	if ((taken = calloc(M, 1)) == NULL)
		return (-1);
	for (i = 0; i < n; i++) {
		const struct server *s = SVC_SRV(p, svc, i);

		pm[i].off = sched_server_hash(s, 0x6d61676c) % M; /* "magl" */
		pm[i].skip = sched_server_hash(s, 0x65762121) % (M - 1) + 1;
		pm[i].next = 0;
		pm[i].acc = 0;
		if (sched_usable(p, svc->members[i]) && s->weight > wmax)
			wmax = s->weight;
	}
	if (wmax == 0) {
		/* Nobody takes new flows: every entry says so. */
		for (j = 0; j < M; j++)
			svc->maglev[j] = UINT16_MAX;
		free(taken);
		return (0);
	}
	/*
	 * Who claims first in a round decides a contested entry: go by
	 * address, so that the configuration's order does not matter.
	 */
	for (i = 0; i < n; i++)
		order[i] = (uint16_t)i;
	sort_pool = p;
	sort_svc = svc;
	qsort(order, n, sizeof(order[0]), server_cmp);
	maglev_fill(p, svc, order, pm, wmax, taken);
	free(taken);
	return (0);
}

/*
 * The flow's entry: a hash of client address and port, protocol, and the
 * virtual address and port, with a fixed seed (the same on every loadd).
 */
static uint32_t
maglev_entry(const struct service *svc, const struct pkt *pk)
{
	uint32_t	 h = 0x4c4f4144;	/* "LOAD" */

	h = hash_mix(h, pk->src.w[0]);
	h = hash_mix(h, pk->src.w[1]);
	h = hash_mix(h, pk->src.w[2]);
	h = hash_mix(h, pk->src.w[3]);
	h = hash_mix(h, (uint32_t)pk->sport << 16 | pk->proto);
	h = hash_mix(h, svc->vip.w[0] ^ svc->vip.w[3]);
	h = hash_mix(h, svc->port);
	return (hash_final(h) % svc->maglev_size);
}

int
sched_maglev_lookup(const struct pool *p, const struct service *svc,
    const struct pkt *pk)
{
	uint16_t	 e;

	(void)p;
	if (svc->maglev == NULL)
		return (-1);
	e = svc->maglev[maglev_entry(svc, pk)];
	if (e == UINT16_MAX || e >= svc->nsrv)
		return (-1);
	return ((int)svc->members[e]);
}

/*
 * The flow's entry names a server at its cap: the next entries of the
 * table, in order, name the next candidates (a few dozen entries see
 * every server of a small pool, weighted as the table is), so that the
 * same flow always falls to the same server while the caps stay as they
 * are.  Past MAGLEV_PROBE entries, the first open member after it.
 */
#define MAGLEV_PROBE	256

static int
maglev_next(const struct pool *p, const struct service *svc, uint32_t c,
    uint16_t e)
{
	uint32_t	 n;
	uint16_t	 m;

	for (n = 1; n < MAGLEV_PROBE && n < svc->maglev_size; n++) {
		m = svc->maglev[(c + n) % svc->maglev_size];
		if (m < svc->nsrv && sched_open(p, svc->members[m]))
			return ((int)svc->members[m]);
	}
	for (n = 1; n < svc->nsrv; n++) {
		m = (uint16_t)((e + n) % svc->nsrv);
		if (sched_open(p, svc->members[m]))
			return ((int)svc->members[m]);
	}
	return (-1);
}

int
sched_maglev_pick(struct pool *p, struct service *svc, const struct pkt *pk,
    const struct sched_ctx *sc)
{
	uint32_t	 c;
	uint16_t	 e;
	int		 i;

	if (pk == NULL)
		return (sched_pick_roundrobin(p, svc, pk, sc));
	if (svc->maglev == NULL)
		return (-1);
	c = maglev_entry(svc, pk);
	e = svc->maglev[c];
	if (e == UINT16_MAX || e >= svc->nsrv)
		return (-1);
	i = (int)svc->members[e];
	if (!sched_usable(p, (unsigned)i))
		return (-1);
	if (srv_full(&p->srv[i]))
		return (maglev_next(p, svc, c, e));
	return (i);
}

