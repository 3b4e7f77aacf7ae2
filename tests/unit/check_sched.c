/*
 * Balancing methods: looked up by name as users type them, and for each
 * method the property that defines it, on pools built by hand with the
 * counters (active flows, bytes, response times) set to what the test
 * needs.  The last cases go through the engine with a configuration file,
 * for what only shows there: Maglev's recovery of mid-stream packets and
 * the SYN to SYN+ACK time that responsetime measures.
 */
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "engine.h"
#include "flow.h"
#include "pkt.h"
#include "pool.h"
#include "sched.h"
#include "unit.h"

/* Service 0 has servers 0 to 3, service 1 servers 4 and 5. */
#define NSRV		6

struct rr {
	struct pool	 pool;
	struct service	 svc[2];
	struct server	 srv[NSRV];
	uint16_t	 members[NSRV];
};

static void	 rr_init(struct rr *);
static int	 pick(struct rr *, unsigned);

/* Two services in one pool, as config.c lays them out; all servers up. */
static void
rr_init(struct rr *r)
{
	unsigned	 i;

	memset(r, 0, sizeof(*r));
	r->pool.svc = r->svc;
	r->pool.nsvc = 2;
	r->pool.srv = r->srv;
	r->pool.nsrv = NSRV;
	r->pool.nsvc_used = 2;
	r->svc[0].members = r->members;
	r->svc[0].nsrv = 4;
	r->svc[1].members = r->members + 4;
	r->svc[1].nsrv = 2;
	for (i = 0; i < 2; i++) {
		r->svc[i].method = sched_default();
		r->svc[i].used = 1;
	}
	for (i = 0; i < NSRV; i++) {
		r->members[i] = (uint16_t)i;
		r->srv[i].used = 1;
		r->srv[i].svc = i < 4 ? 0 : 1;
		r->srv[i].weight = 1;
		r->srv[i].state = SRV_UP;
	}
}

/* No agents: what the methods know besides the pool. */
static const struct sched_ctx noagents;

static int
pick(struct rr *r, unsigned svc)
{
	return (r->svc[svc].method->pick(&r->pool, &r->svc[svc], NULL,
	    &noagents));
}

START_TEST(test_find)
{
	static const char *const good[] = {
		"roundrobin", "RoundRobin", "ROUNDROBIN", "roundrobbin",
		"RoundRobbin",
	};
	static const char *const bad[] = {
		"nonsense", "", "round", "roundrobin ", " roundrobin",
		"roundrobbinn", "round-robin", "rr",
	};
	size_t	 i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ck_assert_msg(sched_find(good[i]) == sched_default(),
		    "\"%s\" not found", good[i]);
		ck_assert_str_eq(sched_find(good[i])->name, "roundrobin");
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(sched_find(bad[i]) == NULL, "\"%s\" found",
		    bad[i]);
	ck_assert_ptr_nonnull(sched_default()->pick);
}
END_TEST

/*
 * What config.c and loadd.c ask of a method, by the method and never by
 * its name: which takes a network (bitmask), which measure the servers'
 * answers or traffic (refused with offload), which live on agents.
 */
START_TEST(test_method_kinds)
{
	char		 names[512], *n, *save;
	const struct sched_method *m;
	int		 measures, agent;

	sched_names(names, sizeof(names));
	for (n = strtok_r(names, ", ", &save); n != NULL;
	    n = strtok_r(NULL, ", ", &save)) {
		ck_assert_ptr_nonnull(m = sched_find(n));
		measures = strcmp(n, "responsetime") == 0 ||
		    strcmp(n, "leasttraffic") == 0 ||
		    strcmp(n, "intlloadsharing") == 0;
		agent = strcmp(n, "leastload") == 0 ||
		    strcmp(n, "loadsharing") == 0 ||
		    strcmp(n, "intlloadsharing") == 0;
		ck_assert_int_eq(sched_takes_network(m),
		    strcmp(n, "bitmask") == 0);
		ck_assert_int_eq(sched_measures_replies(m), measures);
		ck_assert_int_eq(sched_agent_fallback(m) != NULL, agent);
	}
	ck_assert_str_eq(sched_agent_fallback(sched_find("leastload")),
	    "as wlc (active flows per weight)");
}
END_TEST

/* What loadd -h prints: every method by its name. */
START_TEST(test_list)
{
	FILE	*fp;
	char	 line[256];

	fp = tmpfile();
	ck_assert_ptr_nonnull(fp);
	sched_list(fp, "    ");
	rewind(fp);
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), fp));
	ck_assert_msg(strncmp(line, "    roundrobin ", 15) == 0, "%s", line);
	fclose(fp);
}
END_TEST

START_TEST(test_usable)
{
	struct rr	 r;

	rr_init(&r);
	ck_assert_int_eq(sched_usable(&r.pool, 0), 1);
	r.srv[0].weight = 0;
	ck_assert_int_eq(sched_usable(&r.pool, 0), 0);
	r.srv[0].weight = 65535;
	ck_assert_int_eq(sched_usable(&r.pool, 0), 1);
	r.srv[0].state = SRV_DOWN;
	ck_assert_int_eq(sched_usable(&r.pool, 0), 0);
	r.srv[0].state = SRV_DRAINING;
	ck_assert_int_eq(sched_usable(&r.pool, 0), 0);
	r.srv[0].state = SRV_DISABLED;
	ck_assert_int_eq(sched_usable(&r.pool, 0), 0);
}
END_TEST

/* Each server in turn, so each gets the same share. */
START_TEST(test_rr_even)
{
	struct rr	 r;
	unsigned	 count[NSRV] = { 0 }, i;
	int		 s;

	rr_init(&r);
	for (i = 0; i < 4000; i++) {
		s = pick(&r, 0);
		ck_assert_int_eq(s, (int)(i % 4));
		count[s]++;
	}
	for (i = 0; i < 4; i++)
		ck_assert_uint_eq(count[i], 1000);
	ck_assert_uint_eq(count[4] + count[5], 0);
}
END_TEST

/* Servers that take no new flows are skipped; the rest share evenly. */
START_TEST(test_rr_skips)
{
	struct rr	 r;
	unsigned	 count[NSRV] = { 0 }, i;
	int		 s, prev = -1;

	rr_init(&r);
	r.srv[1].state = SRV_DOWN;
	r.srv[2].weight = 0;
	for (i = 0; i < 1000; i++) {
		s = pick(&r, 0);
		ck_assert_msg(s == 0 || s == 3, "picked server %d", s);
		ck_assert_int_ne(s, prev);
		prev = s;
		count[s]++;
	}
	ck_assert_uint_eq(count[0], 500);
	ck_assert_uint_eq(count[3], 500);
}
END_TEST

START_TEST(test_rr_none)
{
	struct rr	 r;
	unsigned	 i;

	rr_init(&r);
	for (i = 0; i < 4; i++)
		r.srv[i].state = i % 2 ? SRV_DOWN : SRV_DISABLED;
	for (i = 0; i < 10; i++)
		ck_assert_int_eq(pick(&r, 0), -1);
	/* The other service is not affected. */
	ck_assert_int_eq(pick(&r, 1), 4);
	/* One back, and it takes everything. */
	r.srv[2].state = SRV_UP;
	for (i = 0; i < 10; i++)
		ck_assert_int_eq(pick(&r, 0), 2);
}
END_TEST

/* Services keep their own turn and never pick another's servers. */
START_TEST(test_rr_services)
{
	struct rr	 r;
	unsigned	 i;

	rr_init(&r);
	for (i = 0; i < 100; i++) {
		ck_assert_int_eq(pick(&r, 0), (int)(i % 4));
		ck_assert_int_eq(pick(&r, 1), 4);
		ck_assert_int_eq(pick(&r, 1), 5);
	}
}
END_TEST

/* A server coming back takes its turn, not a burst. */
START_TEST(test_rr_comeback)
{
	struct rr	 r;
	unsigned	 count[NSRV] = { 0 }, i;

	rr_init(&r);
	r.srv[1].state = SRV_DOWN;
	for (i = 0; i < 30; i++)
		ck_assert_int_ne(pick(&r, 0), 1);
	r.srv[1].state = SRV_UP;
	for (i = 0; i < 8; i++)
		count[pick(&r, 0)]++;
	for (i = 0; i < 4; i++)
		ck_assert_uint_eq(count[i], 2);
}
END_TEST

/*
 * A pool of one service, 192.0.2.10:80/tcp, with n servers built by
 * hand.  Server id k is 10.1.(k / 256).(k % 256):80; tp_server() puts
 * any id in any slot, so that two pools can hold the same servers in
 * another order.  All start up with weight 1.
 */
struct tp {
	struct pool	 pool;
	struct service	 svc;
	struct server	*srv;
	uint16_t	*members;
};

static void	 tp_init(struct tp *, unsigned, const char *);
static void	 tp_server(struct tp *, unsigned, unsigned);
static void	 tp_weights(struct tp *, const uint16_t *);
static void	 tp_free(struct tp *);
static int	 tp_pick(struct tp *, const struct pkt *);
static void	 tp_setup(struct tp *, uint32_t);
static void	 client_pkt(struct pkt *, unsigned, uint16_t);
static void	 maglev_count(const struct tp *, unsigned *);

static void
tp_init(struct tp *t, unsigned n, const char *method)
{
	unsigned	 i;

	memset(t, 0, sizeof(*t));
	t->srv = calloc(n ? n : 1, sizeof(*t->srv));
	ck_assert_ptr_nonnull(t->srv);
	t->pool.svc = &t->svc;
	t->pool.nsvc = 1;
	t->pool.srv = t->srv;
	t->pool.nsrv = n;
	t->svc.method = sched_find(method);
	ck_assert_msg(t->svc.method != NULL, "no method \"%s\"", method);
	t->svc.family = 4;
	t->svc.proto = PROTO_TCP;
	t->svc.port = 80;
	ck_assert_int_eq(inet_pton(AF_INET, "192.0.2.10", t->svc.vip.b), 1);
	t->members = calloc(n ? n : 1, sizeof(*t->members));
	ck_assert_ptr_nonnull(t->members);
	t->svc.members = t->members;
	t->svc.nsrv = (uint16_t)n;
	t->svc.used = 1;
	t->pool.nsvc_used = 1;
	for (i = 0; i < n; i++) {
		t->members[i] = (uint16_t)i;
		tp_server(t, i, i);
		t->srv[i].used = 1;
	}
}

static void
tp_server(struct tp *t, unsigned i, unsigned id)
{
	struct server	*s = &t->srv[i];

	memset(s, 0, sizeof(*s));
	s->addr.b[0] = 10;
	s->addr.b[1] = 1;
	s->addr.b[2] = (uint8_t)(id >> 8);
	s->addr.b[3] = (uint8_t)id;
	s->family = 4;
	s->port = 80;
	s->weight = 1;
	s->state = SRV_UP;
	snprintf(s->name, sizeof(s->name), "10.1.%u.%u:80", (id >> 8) & 255,
	    id & 255);
}

/* Weights of the servers in order, one per server. */
static void
tp_weights(struct tp *t, const uint16_t *w)
{
	unsigned	 i;

	for (i = 0; i < t->pool.nsrv; i++)
		t->srv[i].weight = w[i];
}

static void
tp_free(struct tp *t)
{
	free(t->svc.maglev);
	free(t->srv);
	free(t->members);
	memset(t, 0, sizeof(*t));
}

static int
tp_pick(struct tp *t, const struct pkt *pk)
{
	int	 i;

	/* Not ck_assert: in a loop of 100000 picks its cost shows. */
	i = t->svc.method->pick(&t->pool, &t->svc, pk, &noagents);
	if (i < -1 || i >= (int)t->pool.nsrv)
		ck_abort_msg("picked %d of %u servers", i, t->pool.nsrv);
	return (i);
}

/* Builds the method's setup (Maglev's table) for a table of size m. */
static void
tp_setup(struct tp *t, uint32_t m)
{
	t->svc.maglev_size = m;
	ck_assert_int_eq(sched_setup(&t->pool), 0);
	ck_assert_uint_eq(t->svc.maglev_size, m);
}

/*
 * The SYN of client n (0 to 65535) from port to the service, as
 * pkt_parse() would leave it: address 198.18.(n / 256).(n % 256).
 */
static void
client_pkt(struct pkt *pk, unsigned n, uint16_t port)
{
	memset(pk, 0, sizeof(*pk));
	pk->family = 4;
	pk->proto = PROTO_TCP;
	pk->flags = PKT_F_PORTS;
	pk->tcpflags = TH_SYN;
	pk->l3len = 20;
	pk->len = 40;
	pk->src.b[0] = 198;
	pk->src.b[1] = 18;
	pk->src.b[2] = (uint8_t)(n >> 8);
	pk->src.b[3] = (uint8_t)n;
	pk->dst.b[0] = 192;
	pk->dst.b[1] = 0;
	pk->dst.b[2] = 2;
	pk->dst.b[3] = 10;
	pk->sport = htons(port);
	pk->dport = htons(80);
}

/*
 * Smooth weighted round-robin (nginx): weights 5, 1 and 1 give exactly
 * a a b a c a a, cycle after cycle.
 */
START_TEST(test_wrr_sequence)
{
	static const uint16_t w[] = { 5, 1, 1 };
	static const int want[] = { 0, 0, 1, 0, 2, 0, 0 };
	struct tp	 t;
	unsigned	 i;
	int		 s;

	tp_init(&t, 3, "wrr");
	tp_weights(&t, w);
	for (i = 0; i < 70; i++) {
		s = tp_pick(&t, NULL);
		ck_assert_msg(s == want[i % 7], "pick %u: server %d, not %d",
		    i, s, want[i % 7]);
	}
	tp_free(&t);
}
END_TEST

/*
 * Shares are exact over whole cycles, and no server gets a long run.
 * Within a cycle a's five picks are spread; a cycle both ends and
 * begins with a a, so the longest run is 4 (plain weighted round-robin
 * would send 5 new flows in a row to a: a a a a a b c).  Every window
 * of 7 consecutive picks holds exactly 5 a, 1 b and 1 c.
 */
START_TEST(test_wrr_shares)
{
	static const uint16_t w[] = { 5, 1, 1 };
	struct tp	 t;
	unsigned	 count[3] = { 0 }, win[3], i, j, run = 0, maxrun = 0;
	int		 seq[7000], prev = -1;

	tp_init(&t, 3, "wrr");
	tp_weights(&t, w);
	for (i = 0; i < 7000; i++) {
		seq[i] = tp_pick(&t, NULL);
		ck_assert_int_ge(seq[i], 0);
		count[seq[i]]++;
		run = seq[i] == prev ? run + 1 : 1;
		if (run > maxrun)
			maxrun = run;
		prev = seq[i];
	}
	ck_assert_uint_eq(count[0], 5000);
	ck_assert_uint_eq(count[1], 1000);
	ck_assert_uint_eq(count[2], 1000);
	ck_assert_uint_eq(maxrun, 4);
	for (i = 0; i + 7 <= 7000; i++) {
		memset(win, 0, sizeof(win));
		for (j = i; j < i + 7; j++)
			win[seq[j]]++;
		ck_assert_msg(win[0] == 5 && win[1] == 1 && win[2] == 1,
		    "picks %u to %u: %u a, %u b, %u c", i, i + 6, win[0],
		    win[1], win[2]);
	}
	tp_free(&t);
}
END_TEST

/* Weight 0 is quiescent: never picked; the others keep their ratio. */
START_TEST(test_wrr_weight0)
{
	static const uint16_t w[] = { 5, 0, 1 };
	struct tp	 t;
	unsigned	 count[3] = { 0 }, i;
	int		 s;

	tp_init(&t, 3, "wrr");
	tp_weights(&t, w);
	for (i = 0; i < 600; i++) {
		s = tp_pick(&t, NULL);
		ck_assert_int_ne(s, 1);
		ck_assert_int_ge(s, 0);
		count[s]++;
	}
	ck_assert_uint_eq(count[0], 500);
	ck_assert_uint_eq(count[2], 100);
	tp_free(&t);
}
END_TEST

/* A server that is down is skipped, whatever its weight. */
START_TEST(test_wrr_down)
{
	static const uint16_t w[] = { 5, 1, 1 };
	struct tp	 t;
	unsigned	 count[3] = { 0 }, i;
	int		 s;

	tp_init(&t, 3, "wrr");
	tp_weights(&t, w);
	t.srv[1].state = SRV_DOWN;
	for (i = 0; i < 600; i++) {
		s = tp_pick(&t, NULL);
		ck_assert_int_ne(s, 1);
		ck_assert_int_ge(s, 0);
		count[s]++;
	}
	ck_assert_uint_eq(count[0], 500);
	ck_assert_uint_eq(count[2], 100);
	/* The big one down: the two small ones alternate. */
	t.srv[0].state = SRV_DOWN;
	t.srv[1].state = SRV_UP;
	for (i = 0; i < 100; i++)
		count[tp_pick(&t, NULL)]++;
	ck_assert_uint_eq(count[1], 50);
	ck_assert_uint_eq(count[2], 150);
	/* None left. */
	t.srv[1].state = SRV_DOWN;
	t.srv[2].weight = 0;
	ck_assert_int_eq(tp_pick(&t, NULL), -1);
	tp_free(&t);
}
END_TEST

/* static: the configured proportions, exactly. */
START_TEST(test_static_shares)
{
	static const uint16_t w[] = { 3, 1 };
	struct tp	 t;
	unsigned	 count[2] = { 0 }, i;
	int		 s;

	tp_init(&t, 2, "static");
	tp_weights(&t, w);
	for (i = 0; i < 4000; i++) {
		s = tp_pick(&t, NULL);
		ck_assert_int_ge(s, 0);
		count[s]++;
	}
	ck_assert_uint_eq(count[0], 3000);
	ck_assert_uint_eq(count[1], 1000);
	tp_free(&t);
}
END_TEST

/* leastconn (and its alias lc): the server with the fewest active flows. */
START_TEST(test_lc_fewest)
{
	static const uint64_t flows[] = { 5, 2, 7, 3 };
	struct tp	 t;
	unsigned	 i;

	ck_assert_ptr_eq(sched_find("lc"), sched_find("leastconn"));
	tp_init(&t, 4, "lc");
	for (i = 0; i < 4; i++)
		t.srv[i].flows_active = flows[i];
	/* Weights do not count for plain leastconn. */
	t.srv[3].weight = 100;
	for (i = 0; i < 10; i++)
		ck_assert_int_eq(tp_pick(&t, NULL), 1);
	/* The least loaded down: the next least. */
	t.srv[1].state = SRV_DOWN;
	ck_assert_int_eq(tp_pick(&t, NULL), 3);
	/* Flows counted as the engine counts them: the counts even out. */
	t.srv[1].state = SRV_UP;
	for (i = 0; i < 11; i++)
		t.srv[tp_pick(&t, NULL)].flows_active++;
	for (i = 0; i < 4; i++)
		ck_assert_uint_eq(t.srv[i].flows_active, 7);
	tp_free(&t);
}
END_TEST

/* Servers with equally few flows take new ones in turn. */
START_TEST(test_lc_ties)
{
	static const uint64_t flows[] = { 4, 2, 2, 2 };
	struct tp	 t;
	unsigned	 i;

	tp_init(&t, 4, "leastconn");
	for (i = 0; i < 4; i++)
		t.srv[i].flows_active = flows[i];
	for (i = 0; i < 30; i++)
		ck_assert_int_eq(tp_pick(&t, NULL), (int)(1 + i % 3));
	tp_free(&t);
}
END_TEST

/*
 * wlc: least flows per weight.  10 flows on weight 5 (2 each) is less
 * load than 4 on weight 1, though it is more flows.
 */
START_TEST(test_wlc)
{
	static const uint16_t w[] = { 5, 1 };
	struct tp	 t;
	unsigned	 i;

	tp_init(&t, 2, "wlc");
	tp_weights(&t, w);
	t.srv[0].flows_active = 10;
	t.srv[1].flows_active = 4;
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(tp_pick(&t, NULL), 0);
	/* leastconn on the same pool takes the one with fewer flows. */
	t.svc.method = sched_find("leastconn");
	ck_assert_int_eq(tp_pick(&t, NULL), 1);
	/* Filled as the engine would: flows follow the weights, 5 to 1. */
	t.svc.method = sched_find("wlc");
	t.srv[0].flows_active = 0;
	t.srv[1].flows_active = 0;
	for (i = 0; i < 600; i++)
		t.srv[tp_pick(&t, NULL)].flows_active++;
	ck_assert_uint_eq(t.srv[0].flows_active, 500);
	ck_assert_uint_eq(t.srv[1].flows_active, 100);
	tp_free(&t);
}
END_TEST

/*
 * sed counts the flow about to be added: an idle server of weight 1 has
 * an expected delay of 1, a server of weight 10 with 5 flows 6/10.  wlc
 * sends the flow to the idle small server (0 < 5/10), sed to the big
 * one, and nq to the idle one again since it never queues.
 */
START_TEST(test_sed_wlc_nq)
{
	static const uint16_t w[] = { 1, 10 };
	struct tp	 t;

	tp_init(&t, 2, "wlc");
	tp_weights(&t, w);
	t.srv[1].flows_active = 5;
	ck_assert_int_eq(tp_pick(&t, NULL), 0);
	t.svc.method = sched_find("sed");
	ck_assert_int_eq(tp_pick(&t, NULL), 1);
	ck_assert_int_eq(tp_pick(&t, NULL), 1);
	t.svc.method = sched_find("nq");
	ck_assert_int_eq(tp_pick(&t, NULL), 0);
	ck_assert_int_eq(tp_pick(&t, NULL), 0);
	tp_free(&t);
}
END_TEST

/*
 * nq takes an idle server even when a far bigger one is nearly idle;
 * with no idle server it is sed, which here differs from wlc: 1 flow on
 * weight 1 against 4 on weight 3 is wlc's 1 < 4/3 but sed's 2 > 5/3.
 */
START_TEST(test_nq)
{
	static const uint16_t w[] = { 1, 100 };
	static const uint16_t w2[] = { 1, 3 };
	struct tp	 t;

	tp_init(&t, 2, "nq");
	tp_weights(&t, w);
	t.srv[1].flows_active = 1;
	ck_assert_int_eq(tp_pick(&t, NULL), 0);
	t.svc.method = sched_find("sed");
	ck_assert_int_eq(tp_pick(&t, NULL), 1);

	tp_weights(&t, w2);
	t.srv[0].flows_active = 1;
	t.srv[1].flows_active = 4;
	t.svc.method = sched_find("wlc");
	ck_assert_int_eq(tp_pick(&t, NULL), 0);
	t.svc.method = sched_find("sed");
	ck_assert_int_eq(tp_pick(&t, NULL), 1);
	t.svc.method = sched_find("nq");
	ck_assert_int_eq(tp_pick(&t, NULL), 1);
	/* An idle server that is down does not count as idle. */
	t.srv[0].flows_active = 0;
	t.srv[0].state = SRV_DOWN;
	ck_assert_int_eq(tp_pick(&t, NULL), 1);
	tp_free(&t);
}
END_TEST

/*
 * random: in proportion to weight.  The generator is deterministic, so
 * the counts are the same on every run; the test still allows the
 * +-3 percentage points any fair draw would meet over 100000 picks, so
 * that it does not depend on the generator's exact output.
 */
START_TEST(test_random_weights)
{
	static const uint16_t w[] = { 1, 2, 3, 4, 7 };
	struct tp	 t;
	unsigned	 count[5] = { 0 }, i, n = 100000;
	double		 share;
	int		 s;

	tp_init(&t, 5, "random");
	tp_weights(&t, w);
	/* Down, it gets nothing; its weight is not counted. */
	t.srv[4].state = SRV_DOWN;
	for (i = 0; i < n; i++) {
		s = tp_pick(&t, NULL);
		ck_assert_int_ge(s, 0);
		count[s]++;
	}
	ck_assert_uint_eq(count[4], 0);
	for (i = 0; i < 4; i++) {
		share = (double)count[i] / n;
		ck_assert_msg(share > w[i] / 10.0 - 0.03 &&
		    share < w[i] / 10.0 + 0.03, "server %u (weight %u): "
		    "share %.4f", i, w[i], share);
	}
	tp_free(&t);
}
END_TEST

/*
 * random2: the less loaded of two draws.  One of three equal servers
 * has 1000 active flows, the others none: it wins only when both draws
 * hit it, (1/3)^2 = 11.1% of picks (random alone would give it 33%).
 * Allowed: 2 percentage points above that; the other two share the rest.
 */
START_TEST(test_random2_prefers_idle)
{
	struct tp	 t;
	unsigned	 count[3] = { 0 }, i, n = 90000;
	double		 share;
	int		 s;

	tp_init(&t, 3, "random2");
	t.srv[0].flows_active = 1000;
	for (i = 0; i < n; i++) {
		s = tp_pick(&t, NULL);
		ck_assert_int_ge(s, 0);
		count[s]++;
	}
	share = (double)count[0] / n;
	ck_assert_msg(share < 1.0 / 9 + 0.02, "the loaded server got %.4f",
	    share);
	for (i = 1; i < 3; i++) {
		share = (double)count[i] / n;
		ck_assert_msg(share > 4.0 / 9 - 0.03 && share < 4.0 / 9 + 0.03,
		    "idle server %u got %.4f", i, share);
	}
	tp_free(&t);
}
END_TEST

/*
 * sourcehash: the same client address, the same server, whatever its
 * port and however often it comes; and the clients spread over all
 * servers.
 */
START_TEST(test_sourcehash_stable)
{
	struct tp	 t;
	struct pkt	 pk;
	int		 first[1000];
	unsigned	 count[5] = { 0 }, c, round;
	int		 s;

	tp_init(&t, 5, "sourcehash");
	ck_assert_ptr_eq(sched_find("source-hash"), t.svc.method);
	for (c = 0; c < 1000; c++) {
		client_pkt(&pk, c, 40000);
		first[c] = tp_pick(&t, &pk);
		ck_assert_int_ge(first[c], 0);
		count[first[c]]++;
	}
	for (round = 1; round < 5; round++)
		for (c = 0; c < 1000; c++) {
			client_pkt(&pk, c, (uint16_t)(40000 + round * 7));
			s = tp_pick(&t, &pk);
			ck_assert_msg(s == first[c], "client %u: server %d, "
			    "then %d", c, first[c], s);
		}
	for (c = 0; c < 5; c++)
		ck_assert_uint_gt(count[c], 100);
	tp_free(&t);
}
END_TEST

/* Another hash key, another mapping (pf's source-hash key). */
START_TEST(test_sourcehash_key)
{
	struct tp	 t;
	struct pkt	 pk;
	int		 first[1000];
	unsigned	 c, moved = 0;

	tp_init(&t, 5, "sourcehash");
	for (c = 0; c < 1000; c++) {
		client_pkt(&pk, c, 40000);
		first[c] = tp_pick(&t, &pk);
	}
	t.svc.hashkey = 0x5eed1234;
	for (c = 0; c < 1000; c++) {
		client_pkt(&pk, c, 40000);
		if (tp_pick(&t, &pk) != first[c])
			moved++;
	}
	/* Independent mappings agree on 1 client in 5: most move. */
	ck_assert_msg(moved > 500, "only %u of 1000 clients moved", moved);
	tp_free(&t);
}
END_TEST

/* Weighted: 20000 client addresses share as the weights, +-5 points. */
START_TEST(test_sourcehash_weights)
{
	static const uint16_t w[] = { 1, 2, 3, 4 };
	struct tp	 t;
	struct pkt	 pk;
	unsigned	 count[4] = { 0 }, c, n = 20000;
	double		 share;
	int		 s;

	tp_init(&t, 4, "sourcehash");
	tp_weights(&t, w);
	for (c = 0; c < n; c++) {
		client_pkt(&pk, c, 40000);
		s = tp_pick(&t, &pk);
		ck_assert_int_ge(s, 0);
		count[s]++;
	}
	for (c = 0; c < 4; c++) {
		share = (double)count[c] / n;
		ck_assert_msg(share > w[c] / 10.0 - 0.05 &&
		    share < w[c] / 10.0 + 0.05, "server %u (weight %u): "
		    "share %.4f", c, w[c], share);
	}
	tp_free(&t);
}
END_TEST

/*
 * One of five servers goes down: only its clients move, spread over the
 * other four; when it comes back, everyone is where they were.
 */
START_TEST(test_sourcehash_remove)
{
	struct tp	 t;
	struct pkt	 pk;
	int		 first[2000], s;
	unsigned	 count[5] = { 0 }, c, ondown = 0;

	tp_init(&t, 5, "sourcehash");
	for (c = 0; c < 2000; c++) {
		client_pkt(&pk, c, 40000);
		first[c] = tp_pick(&t, &pk);
	}
	t.srv[2].state = SRV_DOWN;
	for (c = 0; c < 2000; c++) {
		client_pkt(&pk, c, 40000);
		s = tp_pick(&t, &pk);
		ck_assert_int_ne(s, 2);
		ck_assert_int_ge(s, 0);
		if (first[c] != 2)
			ck_assert_msg(s == first[c], "client %u moved from "
			    "server %d to %d", c, first[c], s);
		else {
			ondown++;
			count[s]++;
		}
	}
	ck_assert_uint_gt(ondown, 200);
	for (c = 0; c < 5; c++)
		if (c != 2)
			ck_assert_msg(count[c] > ondown / 8, "server %u took "
			    "%u of the %u moved clients", c, count[c], ondown);
	t.srv[2].state = SRV_UP;
	for (c = 0; c < 2000; c++) {
		client_pkt(&pk, c, 40000);
		ck_assert_int_eq(tp_pick(&t, &pk), first[c]);
	}
	tp_free(&t);
}
END_TEST

/*
 * leasttraffic: sched_tick() turns each second's bytes into a decaying
 * average (a quarter of the new second each tick); the server with the
 * least bytes per second per weight gets the flow.
 */
START_TEST(test_leasttraffic)
{
	static const uint16_t w[] = { 1, 1, 2 };
	struct tp	 t;
	unsigned	 i;

	tp_init(&t, 3, "leasttraffic");
	tp_weights(&t, w);
	t.srv[0].bytes_in = 3000;
	t.srv[0].bytes_out = 1000;
	t.srv[1].bytes_in = 1600;
	t.srv[2].bytes_out = 4000;
	sched_tick(&t.pool, 1);
	ck_assert_uint_eq(t.srv[0].rate, 1000);
	ck_assert_uint_eq(t.srv[1].rate, 400);
	ck_assert_uint_eq(t.srv[2].rate, 1000);
	/* Per weight: 1000, 400, 500. */
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(tp_pick(&t, NULL), 1);

	/*
	 * From now on 1000, 8000 and 3600 bytes a second.  After a minute the
	 * averages are within 4 bytes of that: 1000, 8000 and 1800 per weight.
	 */
	for (i = 2; i < 62; i++) {
		t.srv[0].bytes_in += 1000;
		t.srv[1].bytes_in += 8000;
		t.srv[2].bytes_in += 3600;
		sched_tick(&t.pool, i);
	}
	ck_assert_uint_ge(t.srv[0].rate, 1000 - 4);
	ck_assert_uint_le(t.srv[0].rate, 1000 + 4);
	ck_assert_uint_ge(t.srv[1].rate, 8000 - 4);
	ck_assert_uint_le(t.srv[1].rate, 8000 + 4);
	ck_assert_uint_ge(t.srv[2].rate, 3600 - 4);
	ck_assert_uint_le(t.srv[2].rate, 3600 + 4);
	ck_assert_int_eq(tp_pick(&t, NULL), 0);
	/*
	 * Weight counts: the server of weight 2 has more traffic than the
	 * first, but less per weight once the first doubles its own.
	 */
	for (i = 62; i < 122; i++) {
		t.srv[0].bytes_in += 2000;
		t.srv[1].bytes_in += 8000;
		t.srv[2].bytes_in += 3600;
		sched_tick(&t.pool, i);
	}
	ck_assert_uint_gt(t.srv[2].rate, t.srv[0].rate);
	ck_assert_int_eq(tp_pick(&t, NULL), 2);
	tp_free(&t);
}
END_TEST

/*
 * responsetime: a server that answers SYNs in 10 ms while the others
 * answer in 1 ms gets no new flows while active flows are equal; it does
 * when the fast ones are loaded enough, since the cost is
 * (flows + 1) x time.
 */
START_TEST(test_responsetime_pick)
{
	struct tp	 t;
	unsigned	 count[3] = { 0 }, i;

	tp_init(&t, 3, "responsetime");
	sched_rtt_sample(&t.pool, 0, 10000);
	sched_rtt_sample(&t.pool, 1, 1000);
	sched_rtt_sample(&t.pool, 2, 1000);
	for (i = 0; i < 100; i++)
		count[tp_pick(&t, NULL)]++;
	ck_assert_uint_eq(count[0], 0);
	/* The two fast ones, equal, take turns. */
	ck_assert_uint_eq(count[1], 50);
	ck_assert_uint_eq(count[2], 50);
	for (i = 0; i < 3; i++)
		t.srv[i].flows_active = 4;
	ck_assert_int_ne(tp_pick(&t, NULL), 0);
	/* 1 x 10 ms for the idle slow one, 11 x 1 ms for the others. */
	t.srv[0].flows_active = 0;
	t.srv[1].flows_active = 10;
	t.srv[2].flows_active = 10;
	ck_assert_int_eq(tp_pick(&t, NULL), 0);
	/* A server not measured yet counts as fast, so it gets measured. */
	t.srv[2].rtt_us = 0;
	t.srv[2].flows_active = 0;
	ck_assert_int_eq(tp_pick(&t, NULL), 2);
	tp_free(&t);
}
END_TEST

/*
 * The peak-decaying average: a slower sample counts at once; a faster
 * one takes an eighth of the difference off (rounded up, so that it
 * reaches the new time).
 */
START_TEST(test_responsetime_decay)
{
	struct tp	 t;
	unsigned	 i;

	tp_init(&t, 1, "responsetime");
	ck_assert_uint_eq(t.srv[0].rtt_us, 0);
	sched_rtt_sample(&t.pool, 0, 1000);
	ck_assert_uint_eq(t.srv[0].rtt_us, 1000);
	sched_rtt_sample(&t.pool, 0, 10000);
	ck_assert_uint_eq(t.srv[0].rtt_us, 10000);
	sched_rtt_sample(&t.pool, 0, 1000);
	ck_assert_uint_eq(t.srv[0].rtt_us, 10000 - 9000 / 8);
	sched_rtt_sample(&t.pool, 0, 1000);
	/* 8875 - (7875 / 8 + 1) = 7890: rounded up. */
	ck_assert_uint_eq(t.srv[0].rtt_us, 7890);
	/* A slower sample in the middle of the descent: at once again. */
	sched_rtt_sample(&t.pool, 0, 9000);
	ck_assert_uint_eq(t.srv[0].rtt_us, 9000);
	for (i = 0; i < 100; i++)
		sched_rtt_sample(&t.pool, 0, 1000);
	ck_assert_uint_eq(t.srv[0].rtt_us, 1000);
	/* 0 ms (same millisecond) is 1 us, not "unmeasured". */
	t.srv[0].rtt_us = 0;
	sched_rtt_sample(&t.pool, 0, 0);
	ck_assert_uint_eq(t.srv[0].rtt_us, 1);
	tp_free(&t);
}
END_TEST

/*
 * Maglev's table names, for each entry, a server that takes new flows
 * (counts per server go to count, which has room for every server).
 * Checked without ck_assert, whose cost per call shows over millions
 * of entries.
 */
static void
maglev_count(const struct tp *t, unsigned *count)
{
	uint32_t	 j;
	uint16_t	 e;

	ck_assert_ptr_nonnull(t->svc.maglev);
	memset(count, 0, t->pool.nsrv * sizeof(*count));
	for (j = 0; j < t->svc.maglev_size; j++) {
		e = t->svc.maglev[j];
		if (e >= t->svc.nsrv)
			ck_abort_msg("entry %u: %u (of %u servers)", j, e,
			    t->svc.nsrv);
		if (!sched_usable(&t->pool, t->svc.members[e]))
			ck_abort_msg("entry %u names server %u, which takes "
			    "no new flows", j, e);
		count[e]++;
	}
}

/*
 * From 3 to 100 servers, in a table of 65537 or of 251 entries: every
 * entry names a server that takes new flows (one of weight 0 and, from
 * 4 servers on, one that is down are in every pool), and servers of
 * equal weight own equal shares, one entry apart at most, since each
 * claims one entry in turn until the table is full.
 */
START_TEST(test_maglev_fill)
{
	static const uint32_t sizes[] = { MAGLEV_SIZE_DEFAULT, 251 };
	struct tp	 t;
	unsigned	 count[100], n, i, lo, hi;
	size_t		 k;

	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++)
		for (n = 3; n <= 100; n++) {
			tp_init(&t, n, "maglev");
			t.srv[1].weight = 0;
			if (n > 3)
				t.srv[n - 1].state = SRV_DOWN;
			tp_setup(&t, sizes[k]);
			maglev_count(&t, count);
			lo = UINT32_MAX;
			hi = 0;
			for (i = 0; i < n; i++) {
				if (!sched_usable(&t.pool, i))
					continue;
				lo = count[i] < lo ? count[i] : lo;
				hi = count[i] > hi ? count[i] : hi;
			}
			ck_assert_msg(lo > 0 && hi - lo <= 1, "%u servers, "
			    "table of %u: shares from %u to %u entries", n,
			    sizes[k], lo, hi);
			tp_free(&t);
		}
}
END_TEST

/*
 * The tables themselves do not change between versions: balancers that
 * share an ECMP route must agree on every entry, including while they
 * are upgraded one at a time (doc/scale-out.md).  The digests are
 * those of the tables built before the fill was restructured (December
 * 2026); a change that moves entries must say so and change them on
 * purpose.
 */
START_TEST(test_maglev_golden)
{
	static const struct {
		uint32_t	 size, digest;
	} want[] = { { 251, 0xeedd0a23u },
	    { MAGLEV_SIZE_DEFAULT, 0x81f3b6bfu } };
	struct tp	 t;
	uint32_t	 h, j;
	unsigned	 i;
	size_t		 k;

	for (k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
		tp_init(&t, 7, "maglev");
		for (i = 0; i < 7; i++)
			t.srv[i].weight = i + 1;
		t.srv[3].state = SRV_DOWN;
		tp_setup(&t, want[k].size);
		h = 2166136261u;	/* FNV-1a over the entries */
		for (j = 0; j < t.svc.maglev_size; j++) {
			h = (h ^ (t.svc.maglev[j] & 0xff)) * 16777619u;
			h = (h ^ (t.svc.maglev[j] >> 8)) * 16777619u;
		}
		ck_assert_msg(h == want[k].digest, "table of %u entries: "
		    "digest %08x, want %08x", want[k].size, h,
		    want[k].digest);
		tp_free(&t);
	}
}
END_TEST

/* Weighted: shares of the table follow the weights, +-2% of the table. */
START_TEST(test_maglev_weights)
{
	static const uint16_t w1[] = { 2, 1, 1 }, w2[] = { 4, 3, 2, 1 };
	static const struct {
		const uint16_t	*w;
		unsigned	 n, total;
	} c[] = {
		{ w1, 3, 4 },
		{ w2, 4, 10 },
	};
	static const uint32_t sizes[] = { MAGLEV_SIZE_DEFAULT, 251 };
	struct tp	 t;
	unsigned	 count[4], i;
	size_t		 k, s;
	double		 share, want;

	for (k = 0; k < sizeof(c) / sizeof(c[0]); k++)
		for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			tp_init(&t, c[k].n, "maglev");
			tp_weights(&t, c[k].w);
			tp_setup(&t, sizes[s]);
			maglev_count(&t, count);
			for (i = 0; i < c[k].n; i++) {
				share = (double)count[i] / sizes[s];
				want = (double)c[k].w[i] / c[k].total;
				ck_assert_msg(share > want - 0.02 &&
				    share < want + 0.02, "table of %u, "
				    "server %u of weight %u: share %.4f",
				    sizes[s], i, c[k].w[i], share);
			}
			tp_free(&t);
		}
}
END_TEST

/*
 * The same flow (client address and port, protocol), the same server,
 * every time; the flows of one client spread over all servers, since
 * the port counts.
 */
START_TEST(test_maglev_same_flow)
{
	struct tp	 t;
	struct pkt	 pk;
	unsigned	 count[3] = { 0 }, i, round;
	int		 first[3000], s;

	tp_init(&t, 3, "maglev");
	ck_assert_ptr_eq(sched_find("mh"), t.svc.method);
	ck_assert_int_eq(t.svc.method->consistent, 1);
	tp_setup(&t, MAGLEV_SIZE_DEFAULT);
	for (i = 0; i < 3000; i++) {
		client_pkt(&pk, i % 1000, (uint16_t)(40000 + i));
		first[i] = tp_pick(&t, &pk);
		ck_assert_int_ge(first[i], 0);
		ck_assert_int_eq(sched_maglev_lookup(&t.pool, &t.svc, &pk),
		    first[i]);
	}
	for (round = 0; round < 3; round++)
		for (i = 0; i < 3000; i++) {
			client_pkt(&pk, i % 1000, (uint16_t)(40000 + i));
			/* Whatever the TCP flags: recovery relies on it. */
			pk.tcpflags = round == 0 ? TH_ACK : TH_ACK | TH_PUSH;
			s = tp_pick(&t, &pk);
			ck_assert_msg(s == first[i], "flow %u: server %d, then "
			    "%d", i, first[i], s);
		}
	for (i = 0; i < 1000; i++) {
		client_pkt(&pk, 7, (uint16_t)(20000 + i));
		count[tp_pick(&t, &pk)]++;
	}
	for (i = 0; i < 3; i++)
		ck_assert_uint_gt(count[i], 200);
	tp_free(&t);
}
END_TEST

/*
 * Two loadd with the same servers, configured in a different order,
 * must send every flow to the same server: the table is built from the
 * servers' addresses, so that a flow that moves from one loadd to
 * another (or survives a restart with an edited file) stays where it is.
 */
START_TEST(test_maglev_order)
{
	struct tp	 a, b;
	struct pkt	 pk;
	unsigned	 n = 10, i, differ = 0, moved = 0;
	uint32_t	 j;
	int		 sa, sb;

	tp_init(&a, n, "maglev");
	tp_init(&b, n, "maglev");
	/* b holds the same servers, last first. */
	for (i = 0; i < n; i++)
		tp_server(&b, i, n - 1 - i);
	tp_setup(&a, MAGLEV_SIZE_DEFAULT);
	tp_setup(&b, MAGLEV_SIZE_DEFAULT);
	for (j = 0; j < MAGLEV_SIZE_DEFAULT; j++)
		if (!addr_eq(&a.srv[a.svc.maglev[j]].addr,
		    &b.srv[b.svc.maglev[j]].addr))
			differ++;
	for (i = 0; i < 10000; i++) {
		client_pkt(&pk, i % 5000, (uint16_t)(30000 + i));
		sa = tp_pick(&a, &pk);
		sb = tp_pick(&b, &pk);
		ck_assert_int_ge(sa, 0);
		ck_assert_int_ge(sb, 0);
		if (strcmp(a.srv[sa].name, b.srv[sb].name) != 0)
			moved++;
	}
	ck_assert_msg(differ == 0 && moved == 0, "same servers in another "
	    "order: %u of %u table entries name another server, %u of 10000 "
	    "flows go to another server", differ, MAGLEV_SIZE_DEFAULT, moved);
	tp_free(&a);
	tp_free(&b);
}
END_TEST

/*
 * One of 10 servers goes down: its tenth of the table goes to the others,
 * and few other entries change.  Allowed: 1/N of the table plus 3 points
 * in all.  When it comes back, the table is exactly what it was.
 */
START_TEST(test_maglev_remove)
{
	struct tp	 t;
	uint16_t	*before;
	unsigned	 count[10], n = 10, changed = 0, others = 0;
	uint32_t	 j, m = MAGLEV_SIZE_DEFAULT;

	tp_init(&t, n, "maglev");
	tp_setup(&t, m);
	before = malloc(m * sizeof(*before));
	ck_assert_ptr_nonnull(before);
	memcpy(before, t.svc.maglev, m * sizeof(*before));
	t.srv[3].state = SRV_DOWN;
	tp_setup(&t, m);
	maglev_count(&t, count);
	ck_assert_uint_eq(count[3], 0);
	for (j = 0; j < m; j++)
		if (t.svc.maglev[j] != before[j]) {
			changed++;
			if (before[j] != 3)
				others++;
		}
	ck_assert_msg(changed <= m * (1.0 / n + 0.03), "%u of %u entries "
	    "changed (%u of them not the removed server's)", changed, m,
	    others);
	t.srv[3].state = SRV_UP;
	tp_setup(&t, m);
	ck_assert_mem_eq(t.svc.maglev, before, m * sizeof(*before));
	free(before);
	tp_free(&t);
}
END_TEST

/*
 * A server added to 10: it takes its 1/11 of the table, and few other
 * entries change: at most 1/(N+1) of the table plus 3 points in all.
 */
START_TEST(test_maglev_add)
{
	struct tp	 t;
	uint16_t	*before;
	unsigned	 count[11], n = 10, changed = 0;
	uint32_t	 j, m = MAGLEV_SIZE_DEFAULT;

	tp_init(&t, n + 1, "maglev");
	t.srv[n].state = SRV_DOWN;
	tp_setup(&t, m);
	before = malloc(m * sizeof(*before));
	ck_assert_ptr_nonnull(before);
	memcpy(before, t.svc.maglev, m * sizeof(*before));
	t.srv[n].state = SRV_UP;
	tp_setup(&t, m);
	maglev_count(&t, count);
	ck_assert_uint_ge(count[n], m / (n + 1));
	ck_assert_uint_le(count[n], m / (n + 1) + 1);
	for (j = 0; j < m; j++)
		if (t.svc.maglev[j] != before[j])
			changed++;
	ck_assert_msg(changed <= m * (1.0 / (n + 1) + 0.03), "%u of %u "
	    "entries changed", changed, m);
	free(before);
	tp_free(&t);
}
END_TEST

/*
 * 1000 servers in a table of 65537 entries: built well within a start-up
 * or a reload (the limit is loose, for sanitizers and busy machines; the
 * benchmark proper is in bench/), and still one entry apart at most.
 */
START_TEST(test_maglev_big)
{
	struct tp	 t;
	struct timespec	 t0, t1;
	unsigned	*count, i, n = 1000;
	double		 ms;

	tp_init(&t, n, "maglev");
	count = calloc(n, sizeof(*count));
	ck_assert_ptr_nonnull(count);
	ck_assert_int_eq(clock_gettime(CLOCK_MONOTONIC, &t0), 0);
	tp_setup(&t, MAGLEV_SIZE_DEFAULT);
	ck_assert_int_eq(clock_gettime(CLOCK_MONOTONIC, &t1), 0);
	ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
	ck_assert_msg(ms < 200, "table built in %.1f ms", ms);
	maglev_count(&t, count);
	for (i = 0; i < n; i++)
		ck_assert_msg(count[i] == MAGLEV_SIZE_DEFAULT / n ||
		    count[i] == MAGLEV_SIZE_DEFAULT / n + 1, "server %u: %u "
		    "entries", i, count[i]);
	free(count);
	tp_free(&t);
}
END_TEST

/* No server takes new flows: no flow gets one. */
START_TEST(test_maglev_none)
{
	struct tp	 t;
	struct pkt	 pk;
	unsigned	 i;

	tp_init(&t, 3, "maglev");
	for (i = 0; i < 3; i++)
		t.srv[i].state = SRV_DOWN;
	tp_setup(&t, 251);
	for (i = 0; i < 100; i++) {
		client_pkt(&pk, i, 40000);
		ck_assert_int_eq(tp_pick(&t, &pk), -1);
	}
	/* One back, and it takes every flow. */
	t.srv[1].state = SRV_UP;
	tp_setup(&t, 251);
	for (i = 0; i < 100; i++) {
		client_pkt(&pk, i, 40000);
		ck_assert_int_eq(tp_pick(&t, &pk), 1);
	}
	tp_free(&t);
}
END_TEST

/* Table sizes must be prime (maglev_size); the check behind it. */
START_TEST(test_is_prime)
{
	static const uint32_t primes[] = {
		2, 3, 5, 7, 251, 257, 65521, 65537, 131071,
	};
	static const uint32_t others[] = {
		0, 1, 4, 9, 25, 249, 253, 255, 65535, 65536, 131073,
		251u * 257u, 65521u * 65537u, UINT32_MAX,
	};
	size_t	 i;

	for (i = 0; i < sizeof(primes) / sizeof(primes[0]); i++)
		ck_assert_msg(sched_is_prime(primes[i]), "%u", primes[i]);
	for (i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		ck_assert_msg(!sched_is_prime(others[i]), "%u", others[i]);
	ck_assert(sched_is_prime(MAGLEV_SIZE_DEFAULT));
	ck_assert(sched_is_prime(MAGLEV_SIZE_MAX));
}
END_TEST

/*
 * The largest 32-bit prime, and the largest square of a 16-bit prime.
 * Trial division must stop at the square root without d * d wrapping
 * around 2^32; a wrapped bound runs on to d = n (seconds of work, hence
 * the slow test case) and calls the prime composite.
 */
START_TEST(test_is_prime_large)
{
	ck_assert_msg(sched_is_prime(4294967291u), "4294967291 is prime");
	ck_assert(!sched_is_prime(65521u * 65521u));
}
END_TEST

/*
 * Through the engine, with the pool built from a configuration file as
 * loadd builds it:
 *
 *	client 198.51.100.7:port  ->  VIP 192.0.2.10:80
 *	                              -> 10.0.1.11 .. 10.0.1.15
 *	                                 (10.0.1.13 on 8080)
 *
 * Two rigs stand for two loadd instances, or one before and after a
 * restart: each loads the file on its own and has its own flow table
 * with its own seed.
 */
#define E_CLIENT	"198.51.100.7"
#define E_VIP		"192.0.2.10"
#define E_CONF(m)	"ipaliasing = 192.0.2.10\nports = 80\n" \
			"maxflows = 4096\nbalancingmode = " m "\n" \
			"servers = 10.0.1.11, 10.0.1.12, 10.0.1.13:8080, " \
			"10.0.1.14, 10.0.1.15\n"

struct erig {
	struct config	 conf;
	struct engine	 e;
	uint8_t		 buf[256];
	uint8_t		 orig[256];
	size_t		 len;
	uint32_t	 now;
};

/* Each test runs in its own process: two rigs per test are enough. */
static struct erig	 E1, E2;

static void		 erig_open(struct erig *, const char *, uint32_t);
static void		 erig_close(struct erig *);
static int		 erig_run(struct erig *, const struct tpkt *);
static int		 erig_c2v(struct erig *, uint16_t, uint8_t);
static int		 erig_s2c(struct erig *, unsigned, uint16_t, uint8_t);
static unsigned		 erig_dst(struct erig *);
static struct flow	*erig_flow(struct erig *, uint16_t);

static void
erig_open(struct erig *r, const char *text, uint32_t seed)
{
	memset(r, 0, sizeof(*r));
	conf_load_text(&r->conf, text);
	ck_assert_int_eq(engine_init(&r->e, &r->conf.pool, r->conf.maxflows,
	    r->conf.timeout, seed), 0);
	r->now = 1000;
}

static void
erig_close(struct erig *r)
{
	engine_free(&r->e);
	config_free(&r->conf);
}

static int
erig_run(struct erig *r, const struct tpkt *t)
{
	struct pktbuf	 pb;

	r->len = tpkt_build(r->buf, sizeof(r->buf), t);
	ck_assert_uint_ne(r->len, 0);
	memcpy(r->orig, r->buf, r->len);
	memset(&pb, 0, sizeof(pb));
	pb.data = r->buf;
	pb.len = (uint32_t)r->len;
	pb.verdict = 0xff;
	engine_process(&r->e, &pb, r->now);
	return (pb.verdict);
}

/* A TCP segment from the client's port to VIP:80. */
static int
erig_c2v(struct erig *r, uint16_t cport, uint8_t flags)
{
	struct tpkt t = {
		.family = 4, .proto = PROTO_TCP, .src = E_CLIENT, .dst = E_VIP,
		.sport = cport, .dport = 80, .tcpflags = flags, .paylen = 10,
	};

	return (erig_run(r, &t));
}

/* A TCP segment from server si to the client's port. */
static int
erig_s2c(struct erig *r, unsigned si, uint16_t cport, uint8_t flags)
{
	const struct server	*srv = &r->conf.pool.srv[si];
	char			 a[ADDR_STRLEN];
	struct tpkt		 t = {
		.family = 4, .proto = PROTO_TCP, .dst = E_CLIENT,
		.sport = srv->port, .dport = cport, .tcpflags = flags,
		.paylen = 21,
	};

	t.src = addr_ntop(4, &srv->addr, a, sizeof(a));
	return (erig_run(r, &t));
}

/*
 * The server an inbound packet was rewritten to, by its index in the
 * pool (the same in both rigs, which load the same file).
 */
static unsigned
erig_dst(struct erig *r)
{
	union addr		 a;
	const struct server	*s;
	char			 why[128];

	memset(&a, 0, sizeof(a));
	memcpy(a.b, r->buf + 16, 4);
	s = pool_find_server(&r->conf.pool, 4, PROTO_TCP, &a,
	    htons(get_be16(r->buf + 20 + 2)));
	ck_assert_msg(s != NULL, "rewritten to something not a server");
	ck_assert_mem_eq(r->buf + 12, r->orig + 12, 4);
	ck_assert_msg(ref_cksums_ok(r->buf, (unsigned)r->len, why,
	    sizeof(why)), "%s", why);
	return ((unsigned)(s - r->conf.pool.srv));
}

static struct flow *
erig_flow(struct erig *r, uint16_t cport)
{
	union addr	 a;

	memset(&a, 0, sizeof(a));
	inet_pton(AF_INET, E_CLIENT, a.b);
	return (flow_lookup(&r->e.ft, flow_hash(&r->e.ft, &a, htons(cport), 0),
	    &a, htons(cport), 0));
}

#define E_NFLOWS	200

/*
 * A mid-stream segment of a flow this loadd does not know is not
 * dropped: it goes to the server Maglev names for it, which is the
 * server the flow's SYN would have got, and the flow is entered as
 * recovered.
 */
START_TEST(test_maglev_engine_recover)
{
	struct tpkt	 syn = {
		.family = 4, .proto = PROTO_TCP, .src = E_CLIENT, .dst = E_VIP,
		.dport = 80, .tcpflags = TH_SYN,
	};
	struct pkt	 pk;
	uint8_t		 b[128];
	size_t		 len;
	unsigned	 count[5] = { 0 }, i, s;
	struct flow	*f;
	uint16_t	 port;

	erig_open(&E1, E_CONF("maglev"), 0xe1);
	for (i = 0; i < E_NFLOWS; i++) {
		port = (uint16_t)(41000 + i);
		ck_assert_int_eq(erig_c2v(&E1, port, TH_ACK | TH_PUSH),
		    V_REWRITTEN);
		s = erig_dst(&E1);
		count[s]++;
		f = erig_flow(&E1, port);
		ck_assert_ptr_nonnull(f);
		ck_assert_uint_eq(f->state, FS_RECOVERED);
		ck_assert_uint_eq(f->srv, s);
		/* Where this client port's SYN would go. */
		syn.sport = port;
		len = tpkt_build(b, sizeof(b), &syn);
		ck_assert_int_eq(pkt_parse(b, len, &pk), PKT_OK);
		ck_assert_int_eq(sched_maglev_lookup(&E1.conf.pool,
		    &E1.conf.pool.svc[0], &pk), (int)s);
	}
	ck_assert_uint_eq(E1.e.st.recovered, E_NFLOWS);
	ck_assert_uint_eq(E1.e.st.rewritten, E_NFLOWS);
	ck_assert_uint_eq(E1.e.st.dropped, 0);
	ck_assert_uint_eq(E1.e.ft.count, E_NFLOWS);
	for (i = 0; i < 5; i++)
		ck_assert_uint_gt(count[i], 0);

	/* And a SYN from the same port, on a loadd of its own, agrees. */
	erig_open(&E2, E_CONF("maglev"), 0xe2);
	for (i = 0; i < E_NFLOWS; i++) {
		port = (uint16_t)(41000 + i);
		ck_assert_int_eq(erig_c2v(&E2, port, TH_SYN), V_REWRITTEN);
		ck_assert_uint_eq(erig_dst(&E2), erig_flow(&E1, port)->srv);
		ck_assert_uint_eq(erig_flow(&E2, port)->state, FS_SYN_SENT);
	}
	ck_assert_uint_eq(E2.e.st.recovered, 0);
	erig_close(&E2);
	erig_close(&E1);
}
END_TEST

/*
 * Connections opened through one loadd go on through another (or the
 * same one restarted): each mid-stream segment reaches the server that
 * has the connection.
 */
START_TEST(test_maglev_engine_two)
{
	unsigned	 first[E_NFLOWS], i, s;
	uint16_t	 port;

	erig_open(&E1, E_CONF("maglev"), 0x1111);
	erig_open(&E2, E_CONF("maglev"), 0x2222);
	for (i = 0; i < E_NFLOWS; i++) {
		port = (uint16_t)(42000 + i);
		ck_assert_int_eq(erig_c2v(&E1, port, TH_SYN), V_REWRITTEN);
		first[i] = erig_dst(&E1);
		ck_assert_int_eq(erig_s2c(&E1, first[i], port,
		    TH_SYN | TH_ACK), V_REWRITTEN);
		ck_assert_int_eq(erig_c2v(&E1, port, TH_ACK), V_REWRITTEN);
		ck_assert_uint_eq(erig_flow(&E1, port)->state,
		    FS_ESTABLISHED);
	}
	ck_assert_uint_eq(E1.e.st.recovered, 0);
	/* The connections move to the other loadd. */
	for (i = 0; i < E_NFLOWS; i++) {
		port = (uint16_t)(42000 + i);
		ck_assert_int_eq(erig_c2v(&E2, port, TH_ACK | TH_PUSH),
		    V_REWRITTEN);
		s = erig_dst(&E2);
		ck_assert_msg(s == first[i], "port %u: server %u on the "
		    "first loadd, %u on the second", port, first[i], s);
		ck_assert_int_eq(erig_s2c(&E2, s, port, TH_ACK), V_REWRITTEN);
		ck_assert_uint_eq(erig_flow(&E2, port)->state,
		    FS_ESTABLISHED);
	}
	ck_assert_uint_eq(E2.e.st.recovered, E_NFLOWS);
	ck_assert_uint_eq(E2.e.st.return_noflow, 0);
	erig_close(&E2);
	erig_close(&E1);
}
END_TEST

/*
 * A recovered flow is real once the server answers: data makes it
 * established; a RST (the server does not know the connection) closes
 * it.  Until then it stays recovered, and evictable, so that stray
 * segments cannot fill the table with entries that never get an answer.
 */
START_TEST(test_maglev_engine_states)
{
	struct flow	*f;
	unsigned	 s;

	erig_open(&E1, E_CONF("maglev"), 0xe1);
	ck_assert_int_eq(erig_c2v(&E1, 43000, TH_ACK), V_REWRITTEN);
	s = erig_dst(&E1);
	f = erig_flow(&E1, 43000);
	ck_assert_uint_eq(f->state, FS_RECOVERED);
	ck_assert_uint_eq(f->cls, FC_HALFOPEN);
	ck_assert_uint_eq(E1.conf.pool.srv[s].flows_active, 1);
	/* More from the client: the same server, still unconfirmed. */
	ck_assert_int_eq(erig_c2v(&E1, 43000, TH_ACK | TH_PUSH), V_REWRITTEN);
	ck_assert_uint_eq(erig_dst(&E1), s);
	ck_assert_uint_eq(f->state, FS_RECOVERED);
	/* The server answers with data. */
	ck_assert_int_eq(erig_s2c(&E1, s, 43000, TH_ACK | TH_PUSH),
	    V_REWRITTEN);
	ck_assert_uint_eq(f->state, FS_ESTABLISHED);
	ck_assert_uint_eq(f->cls, FC_ESTABLISHED);

	/* Another, which the server resets. */
	ck_assert_int_eq(erig_c2v(&E1, 43001, TH_ACK | TH_PUSH), V_REWRITTEN);
	s = erig_dst(&E1);
	f = erig_flow(&E1, 43001);
	ck_assert_uint_eq(f->state, FS_RECOVERED);
	ck_assert_int_eq(erig_s2c(&E1, s, 43001, TH_RST), V_REWRITTEN);
	ck_assert_uint_eq(f->state, FS_CLOSE);
	ck_assert_uint_eq(E1.e.st.recovered, 2);
	/* The client then opens the port again: a new flow, same server. */
	ck_assert_int_eq(erig_c2v(&E1, 43001, TH_SYN), V_REWRITTEN);
	ck_assert_uint_eq(erig_dst(&E1), s);
	ck_assert_uint_eq(erig_flow(&E1, 43001)->state, FS_SYN_SENT);
	ck_assert_uint_eq(E1.e.st.recovered, 2);
	erig_close(&E1);
}
END_TEST

/*
 * responsetime measures each server passively: the time from a client's
 * SYN to the server's SYN+ACK, on the engine's millisecond clock, which
 * may start anywhere and wrap (at 2^24 in the flow, at 2^32 outside).
 */
static const uint32_t rt_t0[] = { 1000, 0x00fffff0, 0xffffffe0 };

START_TEST(test_responsetime_engine)
{
	uint32_t	 t0 = rt_t0[_i];
	unsigned	 a, b, c, i;

	erig_open(&E1, "ipaliasing = 192.0.2.10\nports = 80\n"
	    "balancingmode = responsetime\n"
	    "servers = 10.0.1.11, 10.0.1.12, 10.0.1.13:8080\n", 0xe1);
	engine_set_ms(&E1.e, t0);
	ck_assert_int_eq(erig_c2v(&E1, 40000, TH_SYN), V_REWRITTEN);
	a = erig_dst(&E1);
	ck_assert_uint_eq(E1.conf.pool.srv[a].rtt_us, 0);
	engine_set_ms(&E1.e, t0 + 50);
	ck_assert_int_eq(erig_s2c(&E1, a, 40000, TH_SYN | TH_ACK),
	    V_REWRITTEN);
	ck_assert_uint_eq(E1.conf.pool.srv[a].rtt_us, 50000);
	/* The client's ACK and a SYN+ACK again measure nothing. */
	engine_set_ms(&E1.e, t0 + 500);
	ck_assert_int_eq(erig_c2v(&E1, 40000, TH_ACK), V_REWRITTEN);
	ck_assert_int_eq(erig_s2c(&E1, a, 40000, TH_SYN | TH_ACK),
	    V_REWRITTEN);
	ck_assert_uint_eq(E1.conf.pool.srv[a].rtt_us, 50000);

	/* The two others answer in 10 ms. */
	engine_set_ms(&E1.e, t0 + 1000);
	ck_assert_int_eq(erig_c2v(&E1, 40001, TH_SYN), V_REWRITTEN);
	b = erig_dst(&E1);
	ck_assert_int_eq(erig_c2v(&E1, 40002, TH_SYN), V_REWRITTEN);
	c = erig_dst(&E1);
	ck_assert_uint_ne(b, a);
	ck_assert_uint_ne(c, a);
	ck_assert_uint_ne(c, b);
	engine_set_ms(&E1.e, t0 + 1010);
	ck_assert_int_eq(erig_s2c(&E1, b, 40001, TH_SYN | TH_ACK),
	    V_REWRITTEN);
	ck_assert_int_eq(erig_s2c(&E1, c, 40002, TH_SYN | TH_ACK),
	    V_REWRITTEN);
	ck_assert_uint_eq(E1.conf.pool.srv[b].rtt_us, 10000);
	ck_assert_uint_eq(E1.conf.pool.srv[c].rtt_us, 10000);
	/*
	 * The slow one gets no new flow while the fast ones cost less: 6
	 * more flows leave them at 4 each, (4 + 1) x 10 ms = 50 ms against
	 * its (1 + 1) x 50 ms = 100 ms.
	 */
	for (i = 0; i < 6; i++) {
		ck_assert_int_eq(erig_c2v(&E1, (uint16_t)(40010 + i), TH_SYN),
		    V_REWRITTEN);
		ck_assert_uint_ne(erig_dst(&E1), a);
	}
	erig_close(&E1);
}
END_TEST

Suite *
sched_suite(void)
{
	Suite	*s = suite_create("sched");
	TCase	*tc;

	tc = tcase_create("methods");
	tcase_add_test(tc, test_find);
	tcase_add_test(tc, test_method_kinds);
	tcase_add_test(tc, test_list);
	tcase_add_test(tc, test_usable);
	suite_add_tcase(s, tc);

	tc = tcase_create("roundrobin");
	tcase_add_test(tc, test_rr_even);
	tcase_add_test(tc, test_rr_skips);
	tcase_add_test(tc, test_rr_none);
	tcase_add_test(tc, test_rr_services);
	tcase_add_test(tc, test_rr_comeback);
	suite_add_tcase(s, tc);

	tc = tcase_create("wrr");
	tcase_add_test(tc, test_wrr_sequence);
	tcase_add_test(tc, test_wrr_shares);
	tcase_add_test(tc, test_wrr_weight0);
	tcase_add_test(tc, test_wrr_down);
	tcase_add_test(tc, test_static_shares);
	suite_add_tcase(s, tc);

	tc = tcase_create("least");
	tcase_add_test(tc, test_lc_fewest);
	tcase_add_test(tc, test_lc_ties);
	tcase_add_test(tc, test_wlc);
	tcase_add_test(tc, test_sed_wlc_nq);
	tcase_add_test(tc, test_nq);
	tcase_add_test(tc, test_leasttraffic);
	tcase_add_test(tc, test_responsetime_pick);
	tcase_add_test(tc, test_responsetime_decay);
	suite_add_tcase(s, tc);

	tc = tcase_create("random");
	tcase_add_test(tc, test_random_weights);
	tcase_add_test(tc, test_random2_prefers_idle);
	suite_add_tcase(s, tc);

	tc = tcase_create("sourcehash");
	tcase_add_test(tc, test_sourcehash_stable);
	tcase_add_test(tc, test_sourcehash_key);
	tcase_add_test(tc, test_sourcehash_weights);
	tcase_add_test(tc, test_sourcehash_remove);
	suite_add_tcase(s, tc);

	tc = tcase_create("maglev");
	tcase_set_timeout(tc, UNIT_SLOW_TIMEOUT);
	tcase_add_test(tc, test_maglev_fill);
	tcase_add_test(tc, test_maglev_golden);
	tcase_add_test(tc, test_maglev_weights);
	tcase_add_test(tc, test_maglev_same_flow);
	tcase_add_test(tc, test_maglev_order);
	tcase_add_test(tc, test_maglev_remove);
	tcase_add_test(tc, test_maglev_add);
	tcase_add_test(tc, test_maglev_big);
	tcase_add_test(tc, test_maglev_none);
	tcase_add_test(tc, test_is_prime);
	tcase_add_test(tc, test_is_prime_large);
	suite_add_tcase(s, tc);

	tc = tcase_create("engine");
	tcase_add_test(tc, test_maglev_engine_recover);
	tcase_add_test(tc, test_maglev_engine_two);
	tcase_add_test(tc, test_maglev_engine_states);
	tcase_add_loop_test(tc, test_responsetime_engine, 0,
	    (int)(sizeof(rt_t0) / sizeof(rt_t0[0])));
	suite_add_tcase(s, tc);
	return (s);
}
