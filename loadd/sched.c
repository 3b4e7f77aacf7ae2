/*
 * Balancing methods.  Each method is one pick function and one line in
 * the table below; the name is what users type after -b or in
 * "balancingmode =".  A method only sees servers that take new flows
 * (up, weight above 0); weight 0 is quiescent, as in IPVS: no new flows,
 * existing ones go on.
 *
 * Definitions follow the systems operators know: IPVS for lc, wlc, sed and
 * nq; nginx's smooth weighted round-robin; HAProxy's power of two random
 * choices; pf's source-hash; Maglev (NSDI 2016) with Katran's weights.
 */
#include <arpa/inet.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agent.h"
#include "hash.h"
#include "pkt.h"
#include "pool.h"
#include "sched.h"
#include "sched_priv.h"

static int	 pick_wrr(struct pool *, struct service *, const struct pkt *,
		    const struct sched_ctx *);
static int	 pick_static(struct pool *, struct service *,
		    const struct pkt *, const struct sched_ctx *);
static int	 pick_leastconn(struct pool *, struct service *,
		    const struct pkt *, const struct sched_ctx *);
static int	 pick_wlc(struct pool *, struct service *, const struct pkt *,
		    const struct sched_ctx *);
static int	 pick_sed(struct pool *, struct service *, const struct pkt *,
		    const struct sched_ctx *);
static int	 pick_nq(struct pool *, struct service *, const struct pkt *,
		    const struct sched_ctx *);
static int	 pick_random(struct pool *, struct service *,
		    const struct pkt *, const struct sched_ctx *);
static int	 pick_random2(struct pool *, struct service *,
		    const struct pkt *, const struct sched_ctx *);
static int	 pick_sourcehash(struct pool *, struct service *,
		    const struct pkt *, const struct sched_ctx *);
static int	 pick_leasttraffic(struct pool *, struct service *,
		    const struct pkt *, const struct sched_ctx *);
static int	 pick_responsetime(struct pool *, struct service *,
		    const struct pkt *, const struct sched_ctx *);
static int	 pick_bitmask(struct pool *, struct service *,
		    const struct pkt *, const struct sched_ctx *);
static int	 pick_intl(struct pool *, struct service *, const struct pkt *,
		    const struct sched_ctx *);
static int	 pick_leastload(struct pool *, struct service *,
		    const struct pkt *, const struct sched_ctx *);
static int	 pick_loadsharing(struct pool *, struct service *,
		    const struct pkt *, const struct sched_ctx *);
static int	 smooth_wrr(struct pool *, struct service *,
		    const struct sched_ctx *, int);

static const struct sched_method methods[] = {
	{ "roundrobin", "roundrobbin",
	    "each new flow to the next server in turn",
	    sched_pick_roundrobin, NULL, 0, 0 },
	{ "wrr", NULL,
	    "weighted round-robin, smooth: weights 5,1,1 give a a b a c a a",
	    pick_wrr, NULL, 0, 0 },
	{ "static", NULL,
	    "fixed proportions by configured weight, as wrr",
	    pick_static, NULL, 0, 0 },
	{ "leastconn", "lc",
	    "fewest active flows",
	    pick_leastconn, NULL, 0, 0 },
	{ "wlc", NULL,
	    "fewest active flows per weight (IPVS's default)",
	    pick_wlc, NULL, 0, 0 },
	{ "sed", NULL,
	    "shortest expected delay: least (flows + 1) / weight",
	    pick_sed, NULL, 0, 0 },
	{ "nq", NULL,
	    "never queue: an idle server if any, else sed",
	    pick_nq, NULL, 0, 0 },
	{ "random", NULL,
	    "random, in proportion to weight",
	    pick_random, NULL, 0, 0 },
	{ "random2", NULL,
	    "power of two random choices: the less loaded of two",
	    pick_random2, NULL, 0, 0 },
	{ "sourcehash", "source-hash",
	    "same client address, same server (weighted rendezvous hash)",
	    pick_sourcehash, NULL, 0, 1 },
	{ "leasttraffic", NULL,
	    "least bytes per second per weight, decaying average",
	    pick_leasttraffic, NULL, 0, 0 },
	{ "responsetime", NULL,
	    "least (flows + 1) x measured SYN to SYN+ACK time",
	    pick_responsetime, NULL, 0, 0 },
	{ "maglev", "mh",
	    "Maglev consistent hash of the flow; stateless recovery",
	    sched_maglev_pick, sched_maglev_setup, 1, 1 },
	{ "bitmask", NULL,
	    "pf's bitmask: the client's host bits pick the server",
	    pick_bitmask, NULL, 0, 1 },
	/*
	 * The methods of the original loadd that live on agent reports
	 * (lmd); while no fresh report is there they run on what loadd
	 * measures itself, and loadd says so at start-up.
	 */
	{ "leastload", NULL,
	    "least agent-reported load (estimated between reports); else wlc",
	    pick_leastload, NULL, 0, 0 },
	{ "loadsharing", NULL,
	    "weights scaled by the agents' spare CPU; else wrr",
	    pick_loadsharing, NULL, 0, 0 },
	{ "intlloadsharing", NULL,
	    "least (flows + 1) x (response time + 1 ms) x agent load / weight",
	    pick_intl, NULL, 0, 0 },
};

#define NMETHODS	(sizeof(methods) / sizeof(methods[0]))

const struct sched_method *
sched_find(const char *name)
{
	size_t	 i;

	for (i = 0; i < NMETHODS; i++)
		if (strcasecmp(name, methods[i].name) == 0 ||
		    (methods[i].alias != NULL &&
		    strcasecmp(name, methods[i].alias) == 0))
			return (&methods[i]);
	return (NULL);
}

const struct sched_method *
sched_default(void)
{
	return (&methods[0]);
}

/* "roundrobin, wrr, ..." into buf, for error messages. */
const char *
sched_names(char *buf, size_t len)
{
	size_t	 i, off = 0;
	int	 r;

	buf[0] = '\0';
	for (i = 0; i < NMETHODS; i++) {
		r = snprintf(buf + off, len - off, "%s%s", i ? ", " : "",
		    methods[i].name);
		if (r < 0 || (size_t)r >= len - off)
			break;
		off += (size_t)r;
	}
	return (buf);
}

void
sched_list(FILE *fp, const char *indent)
{
	size_t	 i;

	for (i = 0; i < NMETHODS; i++)
		fprintf(fp, "%s%-14s %s\n", indent, methods[i].name,
		    methods[i].descr);
}

int
sched_usable(const struct pool *p, unsigned i)
{
	const struct server *s = &p->srv[i];

	return (s->state == SRV_UP && s->weight > 0 &&
	    s->backup == p->svc[s->svc].use_backup);
}

/*
 * Whether a server takes a new flow now: usable and not at its cap.  A
 * server at its cap keeps its place in the methods' tables (maglev's,
 * the weights): only the excess goes elsewhere, and the tables are not
 * rebuilt each time a flow starts or ends.
 */
int
sched_open(const struct pool *p, unsigned i)
{
	return (sched_usable(p, i) && !srv_full(&p->srv[i]));
}

int
sched_setup(struct pool *p)
{
	unsigned	 i;

	for (i = 0; i < p->nsvc; i++)
		if (p->svc[i].used && p->svc[i].method->setup != NULL &&
		    p->svc[i].method->setup(p, &p->svc[i]) == -1)
			return (-1);
	return (0);
}

void
sched_weights_changed(struct pool *p, unsigned svc)
{
	struct service	*s = &p->svc[svc];

	if (s->method->setup != NULL)
		(void)s->method->setup(p, s);
}

/* xorshift64*: cheap, and good enough to spread flows. */
static uint64_t
rnd_next(struct service *svc)
{
	uint64_t x = svc->rnd ? svc->rnd : 0x9e3779b97f4a7c15ull;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	svc->rnd = x;
	return (x * 0x2545f4914f6cdd1dull);
}

/*
 * Round-robin over the service's servers, skipping those that take no
 * new flows.  rr_next survives between picks, so a server coming back
 * does not get a burst.
 */
int
sched_pick_roundrobin(struct pool *p, struct service *svc,
    const struct pkt *pk, const struct sched_ctx *sc)
{
	unsigned	 n, i;

	(void)pk;
	(void)sc;
	for (n = 0; n < svc->nsrv; n++) {
		i = svc->rr_next % svc->nsrv;
		svc->rr_next = i + 1;
		if (sched_open(p, svc->members[i]))
			return ((int)svc->members[i]);
	}
	return (-1);
}

/*
 * nginx's smooth weighted round-robin: every pick adds each server's
 * weight to its current value, takes the largest, and takes the total
 * off it.  Proportions follow the weights and no server gets a long run.
 */
static int
pick_wrr(struct pool *p, struct service *svc, const struct pkt *pk,
    const struct sched_ctx *sc)
{
	(void)pk;
	return (smooth_wrr(p, svc, sc, 0));
}

/*
 * Fixed proportions by the configured weights.  Today that is wrr; the
 * difference will show when weights can change at run time (agents, slow
 * start): static keeps to the configuration, like HAProxy's static-rr.
 */
static int
pick_static(struct pool *p, struct service *svc, const struct pkt *pk,
    const struct sched_ctx *sc)
{
	return (pick_wrr(p, svc, pk, sc));
}

/*
 * The least-* family shares one loop: the server with the least cost per
 * weight, ties broken in turn from rr_next so that equal servers share.
 * Costs are compared as fractions cost/weight by cross-multiplying, no
 * division.
 */
enum lc_kind {
	LC_PLAIN,	/* active flows */
	LC_WLC,		/* active flows / weight */
	LC_SED,		/* (active + 1) / weight */
	LC_TRAFFIC,	/* bytes per second / weight */
	LC_RTT,		/* (active + 1) x response time (us) / weight */
	LC_INTL,	/* (active + 1) x (response time (ms) + 1) x
			   (1000 + agent load) / weight */
	LC_LOAD,	/* agent load, estimated since the report / weight */
};

/*
 * What the agents say of a server for the schedulers: its load in per
 * mille of CPU, estimated from the flows sent to it since its last report
 * (agent_load_now), and the weight it asks for.  A server without fresh
 * reports gets the average load of its fresh neighbours (so that it is
 * neither shunned nor swamped) and its configured weight.
 */
static int
agent_ok(const struct sched_ctx *sc, unsigned i)
{
	return (sc->agent != NULL && agent_fresh(sc->agent, i, sc->now_ms));
}

static uint64_t
svc_avg_load(const struct pool *p, const struct sched_ctx *sc,
    const struct service *svc, int *all)
{
	uint64_t	 sum = 0;
	unsigned	 i, k, n = 0, u = 0;

	for (k = 0; k < svc->nsrv; k++) {
		i = svc->members[k];
		if (!sched_usable(p, i))
			continue;
		u++;
		if (!agent_ok(sc, i))
			continue;
		sum += agent_load_now(sc->agent, p, i);
		n++;
	}
	if (all != NULL)
		*all = u > 0 && n == u;
	return (n ? sum / n : 0);
}

static uint64_t
srv_load(const struct pool *p, const struct sched_ctx *sc, unsigned i,
    uint64_t avg)
{
	uint64_t	 l;

	l = agent_ok(sc, i) ? agent_load_now(sc->agent, p, i) : avg;
	return (l > 10000 ? 10000 : l);
}

static uint64_t
srv_weight(const struct pool *p, const struct sched_ctx *sc, unsigned i)
{
	if (sc->agent == NULL)
		return (p->srv[i].weight);
	return (agent_weight(sc->agent, i, p->srv[i].weight, sc->now_ms));
}

static uint64_t
lc_cost(const struct server *s, enum lc_kind kind)
{
	switch (kind) {
	case LC_SED:
		return (s->flows_active + 1);
	case LC_TRAFFIC:
		return (s->rate);
	case LC_RTT:
		/* A server not measured yet counts as fast, to get measured. */
		return ((s->flows_active + 1) *
		    (uint64_t)(s->rtt_us ? s->rtt_us : 1));
	case LC_INTL:
		return ((s->flows_active + 1) * (uint64_t)(s->rtt_us / 1000 + 1));
	case LC_LOAD:
		return (1);	/* the load comes from the agents: pick_least */
	default:
		return (s->flows_active);
	}
}

static int
pick_least(struct pool *p, struct service *svc, const struct sched_ctx *sc,
    enum lc_kind kind)
{
	unsigned	 n, k, i, best = 0, bestk = 0;
	uint64_t	 c, w, bc = 0, bw = 1, avg = 0;
	double		 dc, bdc = 0;
	int		 found = 0, agents = kind == LC_INTL || kind == LC_LOAD;

	if (agents)
		avg = svc_avg_load(p, sc, svc, NULL);
	for (n = 0; n < svc->nsrv; n++) {
		k = (svc->rr_next + n) % svc->nsrv;
		i = svc->members[k];
		if (!sched_open(p, i))
			continue;
		c = lc_cost(&p->srv[i], kind);
		if (agents) {
			/* Products of several terms: compared as reals. */
			w = srv_weight(p, sc, i);
			if (w == 0)
				continue;
			dc = (double)c * (double)(kind == LC_LOAD ?
			    srv_load(p, sc, i, avg) + 1 : 1000 + srv_load(p, sc,
			    i, avg)) / (double)w;
			if (!found || dc < bdc) {
				best = i;
				bestk = k;
				bdc = dc;
				found = 1;
			}
			continue;
		}
		w = kind == LC_PLAIN ? 1 : p->srv[i].weight;
		if (!found || c * bw < bc * w) {
			best = i;
			bestk = k;
			bc = c;
			bw = w;
			found = 1;
		}
	}
	if (!found)
		return (-1);
	svc->rr_next = bestk + 1;
	return ((int)best);
}

static int
pick_leastconn(struct pool *p, struct service *svc, const struct pkt *pk,
    const struct sched_ctx *sc)
{
	(void)pk;
	return (pick_least(p, svc, sc, LC_PLAIN));
}

static int
pick_wlc(struct pool *p, struct service *svc, const struct pkt *pk,
    const struct sched_ctx *sc)
{
	(void)pk;
	return (pick_least(p, svc, sc, LC_WLC));
}

static int
pick_sed(struct pool *p, struct service *svc, const struct pkt *pk,
    const struct sched_ctx *sc)
{
	(void)pk;
	return (pick_least(p, svc, sc, LC_SED));
}

/* Never queue: an idle server if there is one, else sed. */
static int
pick_nq(struct pool *p, struct service *svc, const struct pkt *pk,
    const struct sched_ctx *sc)
{
	unsigned	 n, k, i;

	(void)pk;
	for (n = 0; n < svc->nsrv; n++) {
		k = (svc->rr_next + n) % svc->nsrv;
		i = svc->members[k];
		if (sched_open(p, i) && p->srv[i].flows_active == 0) {
			svc->rr_next = k + 1;
			return ((int)i);
		}
	}
	return (pick_least(p, svc, sc, LC_SED));
}

/* A server drawn at random in proportion to its weight. */
static int
draw(struct pool *p, struct service *svc)
{
	uint64_t	 total = 0, r;
	unsigned	 i, k;

	for (k = 0; k < svc->nsrv; k++)
		if (sched_open(p, svc->members[k]))
			total += SVC_SRV(p, svc, k)->weight;
	if (total == 0)
		return (-1);
	r = rnd_next(svc) % total;
	for (k = 0; k < svc->nsrv; k++) {
		i = svc->members[k];
		if (!sched_open(p, i))
			continue;
		if (r < p->srv[i].weight)
			return ((int)i);
		r -= p->srv[i].weight;
	}
	return (-1);
}

static int
pick_random(struct pool *p, struct service *svc, const struct pkt *pk,
    const struct sched_ctx *sc)
{
	(void)pk;
	(void)sc;
	return (draw(p, svc));
}

/*
 * Two weighted draws, and the one with fewer active flows per weight:
 * nearly as good as least connections, without its herd behaviour when
 * several balancers see stale counts.
 */
static int
pick_random2(struct pool *p, struct service *svc, const struct pkt *pk,
    const struct sched_ctx *sc)
{
	int		 a, b;
	uint64_t	 ca, cb;

	(void)pk;
	(void)sc;
	if ((a = draw(p, svc)) < 0)
		return (-1);
	b = draw(p, svc);
	ca = p->srv[a].flows_active * p->srv[b].weight;
	cb = p->srv[b].flows_active * p->srv[a].weight;
	return (cb < ca ? b : a);
}

uint32_t
sched_server_hash(const struct server *s, uint32_t seed)
{
	uint32_t h = seed;

	h = hash_mix(h, s->addr.w[0]);
	h = hash_mix(h, s->addr.w[1]);
	h = hash_mix(h, s->addr.w[2]);
	h = hash_mix(h, s->addr.w[3]);
	h = hash_mix(h, s->port);
	return (hash_final(h));
}

/*
 * pf's source-hash, made weighted and stable: each server scores
 * -weight / ln(u), u a hash of (key, client address, server) in (0, 1);
 * the highest score wins (weighted rendezvous hashing).  The same client
 * gets the same server while the pool is unchanged; when a server goes,
 * only its clients move.
 */
static int
pick_sourcehash(struct pool *p, struct service *svc, const struct pkt *pk,
    const struct sched_ctx *sc)
{
	unsigned	 i, k;
	uint32_t	 hc, h;
	double		 u, score, best = 0;
	int		 bi = -1;

	if (pk == NULL)
		return (sched_pick_roundrobin(p, svc, pk, sc));
	hc = svc->hashkey;
	hc = hash_mix(hc, pk->src.w[0]);
	hc = hash_mix(hc, pk->src.w[1]);
	hc = hash_mix(hc, pk->src.w[2]);
	hc = hash_mix(hc, pk->src.w[3]);
	for (k = 0; k < svc->nsrv; k++) {
		i = svc->members[k];
		if (!sched_open(p, i))
			continue;
		h = hash_final(hash_mix(hc, sched_server_hash(&p->srv[i], 0)));
		u = ((double)h + 1.0) / 4294967297.0;
		score = -(double)p->srv[i].weight / log(u);
		if (bi < 0 || score > best) {
			best = score;
			bi = (int)i;
		}
	}
	return (bi);
}

/* Least bytes per second per weight (sampled by sched_tick). */
static int
pick_leasttraffic(struct pool *p, struct service *svc, const struct pkt *pk,
    const struct sched_ctx *sc)
{
	(void)pk;
	return (pick_least(p, svc, sc, LC_TRAFFIC));
}

/* Least (flows + 1) x response time per weight. */
static int
pick_responsetime(struct pool *p, struct service *svc, const struct pkt *pk,
    const struct sched_ctx *sc)
{
	(void)pk;
	return (pick_least(p, svc, sc, LC_RTT));
}

/*
 * Peak-decaying average: a slower sample counts at once, a faster one
 * pulls the average down by an eighth, so a server that turns slow loses
 * traffic at once and wins it back gradually.
 */
void
sched_rtt_sample(struct pool *p, unsigned i, uint32_t us)
{
	struct server	*s = &p->srv[i];

	if (us == 0)
		us = 1;
	if (s->rtt_us == 0 || us > s->rtt_us)
		s->rtt_us = us;
	else
		s->rtt_us -= (s->rtt_us - us) / 8 + ((s->rtt_us - us) % 8 != 0);
}

/* Bytes per second, an exponentially decaying average of 1 s samples. */
void
sched_tick(struct pool *p, uint32_t now)
{
	struct server	*s;
	uint64_t	 bytes, delta;
	unsigned	 i;

	(void)now;
	for (i = 0; i < p->nsrv; i++) {
		s = &p->srv[i];
		if (!s->used)
			continue;
		bytes = s->bytes_in + s->bytes_out;
		delta = bytes - s->rate_bytes;
		s->rate_bytes = bytes;
		s->rate = s->rate - s->rate / 4 + delta / 4;
	}
}

/*
 * pf's bitmask pool: the servers are a network, and the client address's
 * host bits name the server (client 198.51.100.13 on 10.0.1.0/29 goes to
 * 10.0.1.5).  A server that takes no new flows passes its clients to the
 * next one that does.
 */
static int
pick_bitmask(struct pool *p, struct service *svc, const struct pkt *pk,
    const struct sched_ctx *sc)
{
	uint32_t	 host;
	unsigned	 n, i;

	(void)sc;
	if (pk == NULL || svc->nsrv == 0)
		return (-1);
	host = ntohl(svc->family == 6 ? pk->src.w[3] : pk->src.w[0]);
	for (n = 0; n < svc->nsrv; n++) {
		i = svc->members[(host + n) % svc->nsrv];
		if (sched_open(p, i))
			return ((int)i);
	}
	return (-1);
}

/*
 * Least load: the server whose agent reports the least CPU load (with the
 * flows sent to it since its report counted in, as agent_load_now()
 * estimates), per weight.  Unless every usable server has fresh reports
 * it is wlc, so that loads and flow counts are never compared.
 */
static int
pick_leastload(struct pool *p, struct service *svc, const struct pkt *pk,
    const struct sched_ctx *sc)
{
	int	 all;

	(void)pk;
	(void)svc_avg_load(p, sc, svc, &all);
	return (pick_least(p, svc, sc, all ? LC_LOAD : LC_WLC));
}

/*
 * Load sharing: smooth weighted round-robin on weight x spare capacity,
 * the weight being the agent's hint if it gives one, the spare capacity
 * 1001 - load per mille (the estimate between reports); servers without
 * fresh reports count as loaded as the average of the others.
 */
static int
pick_loadsharing(struct pool *p, struct service *svc, const struct pkt *pk,
    const struct sched_ctx *sc)
{
	(void)pk;
	return (smooth_wrr(p, svc, sc, 1));
}

/*
 * The smooth weighted round-robin of pick_wrr(); byload: each weight is
 * scaled by the server's spare capacity as its agent reports it
 * (loadsharing).
 */
static int
smooth_wrr(struct pool *p, struct service *svc, const struct sched_ctx *sc,
    int byload)
{
	struct server	*s, *best = NULL;
	int64_t		 total = 0, ew;
	uint64_t	 avg = 0, l;
	unsigned	 i, k;

	if (byload)
		avg = svc_avg_load(p, sc, svc, NULL);
	for (k = 0; k < svc->nsrv; k++) {
		i = svc->members[k];
		if (!sched_open(p, i))
			continue;
		s = &p->srv[i];
		if (byload) {
			l = srv_load(p, sc, i, avg);
			ew = (int64_t)srv_weight(p, sc, i) *
			    (int64_t)(l >= 1000 ? 1 : 1001 - l);
		} else
			ew = s->weight;
		s->cw += ew;
		total += ew;
		if (best == NULL || s->cw > best->cw)
			best = s;
	}
	if (best == NULL)
		return (-1);
	best->cw -= total;
	return ((int)(best - p->srv));
}

/*
 * "Intelligent load sharing": least (active flows + 1) x (response time
 * in ms + 1) x (1000 + agent load per mille) / weight; see loadd.conf(5).
 */
static int
pick_intl(struct pool *p, struct service *svc, const struct pkt *pk,
    const struct sched_ctx *sc)
{
	(void)pk;
	return (pick_least(p, svc, sc, LC_INTL));
}

/*
 * For the methods that live on agent reports: what they do while no agent
 * reports (lmd is not part of this loadd yet); NULL for the others.
 */
const char *
sched_agent_fallback(const struct sched_method *m)
{
	if (m->pick == pick_leastload)
		return ("as wlc (active flows per weight)");
	if (m->pick == pick_loadsharing)
		return ("by configured weights (wrr)");
	if (m->pick == pick_intl)
		return ("on active flows, response time and weights only");
	return (NULL);
}

int
sched_takes_network(const struct sched_method *m)
{
	return (m->pick == pick_bitmask);
}

int
sched_measures_replies(const struct sched_method *m)
{
	return (m->pick == pick_responsetime || m->pick == pick_leasttraffic ||
	    m->pick == pick_intl);
}
