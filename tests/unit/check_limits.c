/*
 * Connection limits through the engine (loadd/connlimit.c and the
 * engine's first-packet decision): per-server caps and their low-water
 * mark, the hash methods' fall-through, max_clients, and the per-client
 * open flows and rate, each released exactly once however a flow ends.
 * The rig answers nothing (no resetter): a refusal is a counted drop.
 */
#include <arpa/inet.h>

#include <stdio.h>
#include <string.h>

#include "clients.h"
#include "compat.h"
#include "connlimit.h"
#include "ctl.h"
#include "obuf.h"
#include "rig.h"
#include "sched.h"

#define BASE	"ipaliasing = 192.0.2.10\nports = 80\n"
#define OTHER	"198.51.100.99"

static struct server	*srv_of(uint16_t);
static int		 syn_from(const char *, uint16_t);
static const struct client_ent *client_of(const char *);
static uint64_t		 drops(int);

static struct server *
srv_of(uint16_t cport)
{
	struct flow	*f = rig_flow(cport);

	ck_assert_ptr_nonnull(f);
	return (&R.conf.pool.srv[f->srv]);
}

/* A SYN from another client address; its verdict. */
static int
syn_from(const char *src, uint16_t cport)
{
	struct tpkt t = {
		.family = 4, .proto = PROTO_TCP, .src = src, .dst = VIP,
		.sport = cport, .dport = 80, .tcpflags = TH_SYN, .paylen = 0,
	};

	return (rig_run(&t));
}

static const struct client_ent *
client_of(const char *src)
{
	union addr	 a, k;

	memset(&a, 0, sizeof(a));
	ck_assert_int_eq(inet_pton(AF_INET, src, a.b), 1);
	clients_key(&R.conf.pool.svc[0].climits, 4, &a, &k);
	return (clients_find(&R.e.clients, &k, 0));
}

static uint64_t
drops(int reason)
{
	return (R.conf.pool.svc[0].drops[reason]);
}

/*
 * Three servers of maxconn 2 fill 2/2/2; the seventh is refused and
 * counted as servers_full; one closing lets the next in, to its server.
 */
START_TEST(test_caps_fill)
{
	struct server	*s;
	unsigned	 i;

	rig_open(BASE "servers = 10.0.1.11 maxconn 2, 10.0.1.12 maxconn 2, "
	    "10.0.1.13 maxconn 2\nbalancingmode = leastconn\n");
	for (i = 0; i < 6; i++)
		ck_assert_int_eq(rig_c2v((uint16_t)(40000 + i), TH_SYN),
		    V_REWRITTEN);
	for (i = 0; i < 3; i++) {
		ck_assert_uint_eq(R.conf.pool.srv[i].flows_active, 2);
		ck_assert(R.conf.pool.srv[i].atcap);
		ck_assert_uint_eq(R.conf.pool.srv[i].atcap_times, 1);
	}
	ck_assert_int_eq(rig_c2v(40006, TH_SYN), V_DROP);
	ck_assert_uint_eq(drops(DROP_FULL), 1);
	ck_assert_uint_eq(drops(DROP_NOSERVER), 0);
	s = srv_of(40001);
	ck_assert_int_eq(rig_c2v(40001, TH_RST), V_REWRITTEN);
	ck_assert_uint_eq(s->flows_active, 1);
	ck_assert(!s->atcap);
	ck_assert_int_eq(rig_c2v(40007, TH_SYN), V_REWRITTEN);
	ck_assert_ptr_eq(srv_of(40007), s);
	ck_assert_int_eq(rig_c2v(40008, TH_SYN), V_DROP);
	ck_assert_uint_eq(drops(DROP_FULL), 2);
	rig_close();
}
END_TEST

/* lowconn: at its cap until its flows come down to the mark. */
START_TEST(test_caps_lowconn)
{
	struct server	*s;
	unsigned	 i;

	rig_open(BASE "servers = 10.0.1.11 maxconn 4 lowconn 2\n");
	s = &R.conf.pool.srv[0];
	engine_set_ms(&R.e, 1000);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(rig_c2v((uint16_t)(40000 + i), TH_SYN),
		    V_REWRITTEN);
	ck_assert(s->atcap);
	ck_assert_int_eq(rig_c2v(40000, TH_RST), V_REWRITTEN);
	ck_assert_uint_eq(s->flows_active, 3);
	ck_assert(s->atcap);
	ck_assert_int_eq(rig_c2v(40010, TH_SYN), V_DROP);
	engine_set_ms(&R.e, 3500);
	ck_assert_int_eq(rig_c2v(40001, TH_RST), V_REWRITTEN);
	ck_assert(!s->atcap);
	ck_assert_uint_eq(s->atcap_ms, 2500);
	ck_assert_int_eq(rig_c2v(40011, TH_SYN), V_REWRITTEN);
	ck_assert_int_eq(rig_c2v(40012, TH_SYN), V_REWRITTEN);
	ck_assert(s->atcap);
	ck_assert_uint_eq(s->atcap_times, 2);
	/* The tick counts the time while it lasts; a lowered cap shows. */
	engine_set_ms(&R.e, 4500);
	limits_tick(&R.conf.pool, 4500);
	ck_assert_uint_eq(s->atcap_ms, 3500);
	s->maxconn = 10;
	s->lowconn = 0;
	limits_tick(&R.conf.pool, 4600);
	ck_assert(!s->atcap);
	ck_assert_uint_eq(s->atcap_ms, 3600);
	rig_close();
}
END_TEST

/*
 * The hash methods: a client whose server is at its cap falls to the next
 * candidate in the method's order, the same one each time, and comes back
 * to its own server once that has room: persistence breaks only for the
 * excess.
 */
static void
hash_fallthrough(const char *method)
{
	char		 conf[256];
	struct server	*own, *next;

	snprintf(conf, sizeof(conf), BASE "servers = 10.0.1.11 maxconn 1, "
	    "10.0.1.12 maxconn 1, 10.0.1.13 maxconn 1, 10.0.1.14 maxconn 1\n"
	    "balancingmode = %s\n", method);
	rig_open(conf);
	ck_assert_int_eq(sched_setup(&R.conf.pool), 0);
	ck_assert_int_eq(rig_c2v(40000, TH_SYN), V_REWRITTEN);
	own = srv_of(40000);
	ck_assert_int_eq(rig_c2v(40001, TH_SYN), V_REWRITTEN);
	next = srv_of(40001);
	ck_assert_ptr_ne(next, own);
	ck_assert_int_eq(rig_c2v(40001, TH_RST), V_REWRITTEN);
	ck_assert_int_eq(rig_c2v(40002, TH_SYN), V_REWRITTEN);
	if (strcmp(method, "sourcehash") == 0)
		/* By address alone: the same next candidate every time. */
		ck_assert_ptr_eq(srv_of(40002), next);
	ck_assert_int_eq(rig_c2v(40000, TH_RST), V_REWRITTEN);
	ck_assert_int_eq(rig_c2v(40003, TH_SYN), V_REWRITTEN);
	if (strcmp(method, "sourcehash") == 0)
		ck_assert_ptr_eq(srv_of(40003), own);
	rig_close();
}

START_TEST(test_caps_sourcehash)
{
	hash_fallthrough("sourcehash");
}
END_TEST

/* Maglev: an entry whose server is full falls to the next entries'. */
START_TEST(test_caps_maglev)
{
	struct pkt	 pk;
	struct service	*svc;
	int		 own, i;
	unsigned	 n, moved = 0, kept = 0;

	hash_fallthrough("maglev");
	rig_open(BASE "servers = 10.0.1.11 maxconn 1, 10.0.1.12, 10.0.1.13, "
	    "10.0.1.14\nbalancingmode = maglev\nmaglev_size = 251\n");
	ck_assert_int_eq(sched_setup(&R.conf.pool), 0);
	svc = &R.conf.pool.svc[0];
	R.conf.pool.srv[0].flows_active = 1;
	srv_cap_update(&R.conf.pool.srv[0], 0);
	memset(&pk, 0, sizeof(pk));
	pk.family = 4;
	pk.proto = PROTO_TCP;
	for (n = 0; n < 2000; n++) {
		pk.src.w[0] = htonl(0xc6120000u + n);
		pk.sport = htons((uint16_t)(1024 + n));
		own = sched_maglev_lookup(&R.conf.pool, svc, &pk);
		i = svc->method->pick(&R.conf.pool, svc, &pk, &R.e.sc);
		ck_assert_int_ge(i, 1);
		/* The same flow, the same fall-back. */
		ck_assert_int_eq(svc->method->pick(&R.conf.pool, svc, &pk,
		    &R.e.sc), i);
		if (own == 0)
			moved++;
		else {
			ck_assert_int_eq(i, own);
			kept++;
		}
	}
	ck_assert_uint_gt(moved, 0);
	ck_assert_uint_gt(kept, moved);
	rig_close();
}
END_TEST

/* max_clients: the service's active flows, whatever their servers. */
START_TEST(test_max_clients)
{
	rig_open(BASE "servers = 10.0.1.11, 10.0.1.12\nmax_clients = 3\n");
	ck_assert_uint_eq(R.conf.pool.svc[0].max_clients, 3);
	ck_assert_int_eq(rig_c2v(40000, TH_SYN), V_REWRITTEN);
	ck_assert_int_eq(rig_c2v(40001, TH_SYN), V_REWRITTEN);
	ck_assert_int_eq(syn_from(OTHER, 40002), V_REWRITTEN);
	ck_assert_int_eq(syn_from(OTHER, 40003), V_DROP);
	ck_assert_uint_eq(drops(DROP_MAXCLIENTS), 1);
	ck_assert_int_eq(rig_c2v(40000, TH_RST), V_REWRITTEN);
	ck_assert_int_eq(syn_from(OTHER, 40003), V_REWRITTEN);
	rig_close();
}
END_TEST

/*
 * max_client_conns: one client's open flows; another client is not
 * touched; a closing flow gives its place back once, not again when it
 * leaves the table.
 */
START_TEST(test_client_conns)
{
	rig_open(BASE "servers = 10.0.1.11, 10.0.1.12\n"
	    "max_client_conns = 2\n");
	ck_assert_int_eq(rig_c2v(40000, TH_SYN), V_REWRITTEN);
	ck_assert_int_eq(rig_c2v(40001, TH_SYN), V_REWRITTEN);
	ck_assert_int_eq(rig_c2v(40002, TH_SYN), V_DROP);
	ck_assert_uint_eq(drops(DROP_CLIENT_CONNS), 1);
	ck_assert_uint_eq(client_of(CLIENT)->active, 2);
	ck_assert_uint_eq(client_of(CLIENT)->refused, 1);
	ck_assert_int_eq(syn_from(OTHER, 40002), V_REWRITTEN);
	ck_assert_int_eq(syn_from(OTHER, 40003), V_REWRITTEN);
	ck_assert_uint_eq(client_of(OTHER)->active, 2);
	/* Closed by a RST, then expired: released once. */
	ck_assert_int_eq(rig_c2v(40000, TH_RST), V_REWRITTEN);
	ck_assert_uint_eq(client_of(CLIENT)->active, 1);
	R.now += 100000;
	flow_expire(&R.e.ft, R.now, 1000);
	ck_assert_ptr_null(rig_flow(40000));
	ck_assert_uint_eq(client_of(CLIENT)->active, 0);
	ck_assert_uint_eq(client_of(OTHER)->active, 0);
	ck_assert_uint_eq(R.conf.pool.svc[0].flows_active, 0);
	/* Taken from the table while open (eviction, reload): once too. */
	ck_assert_int_eq(rig_c2v(40010, TH_SYN), V_REWRITTEN);
	ck_assert_uint_eq(client_of(CLIENT)->active, 1);
	flow_remove(&R.e.ft, rig_flow(40010));
	ck_assert_uint_eq(client_of(CLIENT)->active, 0);
	rig_close();
}
END_TEST

/* A client over its rate is dropped (its SYN comes again); others not. */
START_TEST(test_client_rate)
{
	rig_open(BASE "servers = 10.0.1.11\nmax_client_rate = 2/s\n");
	ck_assert_uint_eq(R.conf.pool.svc[0].climits.rate, 2);
	engine_set_ms(&R.e, 5000);
	ck_assert_int_eq(rig_c2v(40000, TH_SYN), V_REWRITTEN);
	ck_assert_int_eq(rig_c2v(40001, TH_SYN), V_REWRITTEN);
	ck_assert_int_eq(rig_c2v(40002, TH_SYN), V_DROP);
	ck_assert_uint_eq(drops(DROP_CLIENT_RATE), 1);
	ck_assert_int_eq(syn_from(OTHER, 40003), V_REWRITTEN);
	engine_set_ms(&R.e, 5500);
	ck_assert_int_eq(rig_c2v(40002, TH_SYN), V_REWRITTEN);
	ck_assert_int_eq(rig_c2v(40004, TH_SYN), V_DROP);
	ck_assert_uint_eq(drops(DROP_CLIENT_RATE), 2);
	rig_close();
}
END_TEST

/* The configuration: where each limit lands, and the top's default. */
START_TEST(test_limits_conf)
{
	struct config	 c;

	conf_load_text(&c, "max_client_conns = 5\nclient_prefix6 = 48\n"
	    "ipaliasing = 192.0.2.10\nports = 80\n"
	    "servers = 10.0.1.11 maxconn 200 lowconn 150 weight 3, "
	    "10.0.1.12\n"
	    "service = b\nipaliasing = 192.0.2.11\nports = 80\n"
	    "servers = 10.0.2.11\nmax_clients = 1000\n"
	    "max_client_rate = 20\nclient_prefix4 = 24\n");
	ck_assert_uint_eq(c.pool.srv[0].maxconn, 200);
	ck_assert_uint_eq(c.pool.srv[0].lowconn, 150);
	ck_assert_uint_eq(c.pool.srv[0].cweight, 3);
	ck_assert_uint_eq(c.pool.srv[1].maxconn, 0);
	ck_assert_uint_eq(c.pool.svc[0].climits.max_conns, 5);
	ck_assert_uint_eq(c.pool.svc[0].climits.plen4, 32);
	ck_assert_uint_eq(c.pool.svc[0].climits.plen6, 48);
	ck_assert_uint_eq(c.pool.svc[0].max_clients, 0);
	ck_assert_uint_eq(c.pool.svc[1].max_clients, 1000);
	ck_assert_uint_eq(c.pool.svc[1].climits.max_conns, 5);
	ck_assert_uint_eq(c.pool.svc[1].climits.rate, 20);
	ck_assert_uint_eq(c.pool.svc[1].climits.plen4, 24);
	ck_assert_uint_eq(c.pool.svc[1].climits.plen6, 48);
	config_free(&c);
}
END_TEST

/*
 * offload = yes: the decision is loadd's on the first packet, and the end
 * is conntrack's destroy event: the cap, the service's and the client's
 * counts free there, once.
 */
START_TEST(test_limits_offload)
{
	struct ct_end	 ce;
	struct server	*s;
	struct tpkt	 t = {
		.family = 4, .proto = PROTO_TCP, .src = CLIENT, .dst = VIP,
		.sport = 1000, .dport = 80, .tcpflags = TH_SYN,
	};

	rig_open("offload = yes\n" BASE "servers = 10.0.1.11 maxconn 2\n"
	    "max_client_conns = 3\n");
	R.e.offload = R.conf.offload;
	s = &R.conf.pool.srv[0];
	ck_assert_int_eq(rig_run(&t), V_ACCEPT);
	ck_assert_uint_eq(R.pb.mark, s->mark);
	t.sport = 1001;
	ck_assert_int_eq(rig_run(&t), V_ACCEPT);
	ck_assert(s->atcap);
	ck_assert_uint_eq(client_of(CLIENT)->active, 2);
	t.sport = 1002;
	ck_assert_int_eq(rig_run(&t), V_DROP);
	ck_assert_uint_eq(drops(DROP_FULL), 1);
	/* Confirmed, then ended by the kernel. */
	memset(&ce, 0, sizeof(ce));
	ce.family = 4;
	ce.proto = PROTO_TCP;
	inet_pton(AF_INET, CLIENT, ce.client.b);
	inet_pton(AF_INET, VIP, ce.vip.b);
	ce.cport = htons(1000);
	ce.vport = htons(80);
	ce.ctid = 77;
	ce.mark = s->mark;
	ck_assert_int_eq(engine_offload_event(&R.e, &ce, R.now), 1);
	ce.destroyed = 1;
	ck_assert_int_eq(engine_offload_event(&R.e, &ce, R.now), 1);
	ck_assert_ptr_null(rig_flow(1000));
	ck_assert_uint_eq(s->flows_active, 1);
	ck_assert(!s->atcap);
	ck_assert_uint_eq(client_of(CLIENT)->active, 1);
	/* The same event again (a dump's sweep, say): nothing twice. */
	ck_assert_int_eq(engine_offload_event(&R.e, &ce, R.now), 0);
	ck_assert_uint_eq(client_of(CLIENT)->active, 1);
	ck_assert_int_eq(rig_run(&t), V_ACCEPT);
	rig_close();
}
END_TEST

/* A control command's answer, in a buffer the caller frees. */
static int
ctl(struct obuf *o, const char *cmd)
{
	struct ctlenv	 env;
	char		 line[256];

	memset(&env, 0, sizeof(env));
	env.e = &R.e;
	env.conf = &R.conf;
	memset(o, 0, sizeof(*o));
	strlcpy(line, cmd, sizeof(line));
	return (ctl_command(&env, line, o));
}

/* loadctl: show clients lists the offender; set maxconn caps at once. */
START_TEST(test_limits_ctl)
{
	struct obuf	 o;

	rig_open(BASE "servers = 10.0.1.11, 10.0.1.12\n"
	    "max_client_conns = 1\nbalancingmode = leastconn\n");
	ck_assert_int_eq(rig_c2v(40000, TH_SYN), V_REWRITTEN);
	ck_assert_int_eq(rig_c2v(40001, TH_SYN), V_DROP);
	ck_assert_int_eq(ctl(&o, "show clients"), 0);
	ck_assert_msg(strstr(o.b, "default      198.51.100.7/32") != NULL &&
	    strstr(o.b, "REFUSED") != NULL, "%s", o.b);
	ob_free(&o);
	ck_assert_int_eq(ctl(&o, "json show clients refused"), 0);
	ck_assert_msg(strstr(o.b, "\"client\":\"198.51.100.7/32\","
	    "\"active\":1,\"max_conns\":1,\"tokens\":0,\"rate\":0,"
	    "\"refused\":1") != NULL, "%s", o.b);
	ob_free(&o);
	/* Each server at 1 of 1 once the cap is set: the next is refused. */
	ck_assert_int_eq(ctl(&o, "set maxconn 10.0.1.11:80 1"), 0);
	ck_assert_str_eq(o.b, "10.0.1.11:80: maxconn 1 (full)\n");
	ob_free(&o);
	ck_assert_int_eq(ctl(&o, "set maxconn 10.0.1.12:80 1"), 0);
	ob_free(&o);
	ck_assert_int_eq(syn_from(OTHER, 40002), V_REWRITTEN);
	ck_assert_int_eq(syn_from("198.51.100.98", 40003), V_DROP);
	ck_assert_uint_eq(drops(DROP_FULL), 1);
	ck_assert_int_eq(ctl(&o, "set maxconn 10.0.1.12:80 5 5"), -1);
	ck_assert_ptr_nonnull(strstr(o.b, "is not below 5"));
	ob_free(&o);
	ck_assert_int_eq(ctl(&o, "set maxconn 10.0.1.12:80 0"), 0);
	ob_free(&o);
	ck_assert_int_eq(syn_from("198.51.100.98", 40004), V_REWRITTEN);
	rig_close();
}
END_TEST

Suite *
limits_suite(void)
{
	Suite	*s = suite_create("limits");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_caps_fill);
	tcase_add_test(tc, test_caps_lowconn);
	tcase_add_test(tc, test_caps_sourcehash);
	tcase_add_test(tc, test_caps_maglev);
	tcase_add_test(tc, test_max_clients);
	tcase_add_test(tc, test_client_conns);
	tcase_add_test(tc, test_client_rate);
	tcase_add_test(tc, test_limits_conf);
	tcase_add_test(tc, test_limits_ctl);
	tcase_add_test(tc, test_limits_offload);
	suite_add_tcase(s, tc);
	return (s);
}
