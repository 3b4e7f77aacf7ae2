/*
 * Health: the rise/fall counting alone, server states and backups, and
 * what the engine does for health: passive signs, new flows no server
 * takes (RST, ICMP), the flows of a server that went down (RST to both
 * ends, with the numbers each end expects), slow start.  The packets loadd
 * makes up are checked with the reference checksum of unit.h.
 */
#include <arpa/inet.h>

#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "compat.h"
#include "config.h"
#include "ctl.h"
#include "engine.h"
#include "health.h"
#include "pkt.h"
#include "reload.h"
#include "reset.h"
#include "sched.h"
#include "rig.h"
#include "unit.h"

#define CONF		"ipaliasing = 192.0.2.10\nports = 80\n" \
			"servers = 10.0.1.11, 10.0.1.12, 10.0.1.13 backup\n"

/* The rig, with a resetter: the engine may make up packets. */
static void
open_rig(const char *text)
{
	struct resetter	*r;

	rig_open(text);
	ck_assert_ptr_nonnull(r = reset_new(1000));
	engine_set_reset(&R.e, r, 0);
}

static uint32_t
be32(const uint8_t *b)
{
	return ((uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	    (uint32_t)b[2] << 8 | b[3]);
}

/* Whether the IPv4 packet b is a TCP segment src:sport -> dst:dport. */
static void
assert_tcp(const uint8_t *b, size_t len, const char *src, uint16_t sport,
    const char *dst, uint16_t dport, uint8_t flags)
{
	uint8_t	 a[4];
	char	 why[128];

	ck_assert_uint_eq(len, 40);
	ck_assert_uint_eq(b[9], PROTO_TCP);
	inet_pton(AF_INET, src, a);
	ck_assert_mem_eq(b + 12, a, 4);
	inet_pton(AF_INET, dst, a);
	ck_assert_mem_eq(b + 16, a, 4);
	ck_assert_uint_eq(get_be16(b + 20), sport);
	ck_assert_uint_eq(get_be16(b + 22), dport);
	ck_assert_uint_eq(b[33], flags);
	ck_assert_msg(ref_cksums_ok(b, (unsigned)len, why, sizeof(why)), "%s",
	    why);
}

/* Takes a server out by health, as a probe would. */
static int
srv_down(unsigned i)
{
	R.conf.pool.srv[i].healthy = 0;
	return (srv_update(&R.conf.pool, i, SR_PROBE, "test"));
}

static void
srv_up(unsigned i)
{
	R.conf.pool.srv[i].healthy = 1;
	(void)srv_update(&R.conf.pool, i, SR_PROBE, "test");
}

START_TEST(test_rise_fall)
{
	struct hcount	 c = { 0, 0, 1 };
	int		 i;

	/* fall - 1 failures, then a success: no change, counts start over. */
	ck_assert_int_eq(hcount_result(&c, 0, 2, 3), 0);
	ck_assert_int_eq(hcount_result(&c, 0, 2, 3), 0);
	ck_assert_int_eq(hcount_result(&c, 1, 2, 3), 0);
	ck_assert_int_eq(hcount_result(&c, 0, 2, 3), 0);
	ck_assert_int_eq(hcount_result(&c, 0, 2, 3), 0);
	ck_assert_uint_eq(c.up, 1);
	/* The third in a row takes it down, once. */
	ck_assert_int_eq(hcount_result(&c, 0, 2, 3), 1);
	ck_assert_uint_eq(c.up, 0);
	ck_assert_int_eq(hcount_result(&c, 0, 2, 3), 0);
	/* Flapping below rise keeps it down. */
	for (i = 0; i < 10; i++) {
		ck_assert_int_eq(hcount_result(&c, 1, 2, 3), 0);
		ck_assert_int_eq(hcount_result(&c, 0, 2, 3), 0);
	}
	ck_assert_int_eq(hcount_result(&c, 1, 2, 3), 0);
	ck_assert_int_eq(hcount_result(&c, 1, 2, 3), 1);
	ck_assert_uint_eq(c.up, 1);
	/* rise = fall = 1: every result decides. */
	ck_assert_int_eq(hcount_result(&c, 0, 1, 1), 1);
	ck_assert_int_eq(hcount_result(&c, 1, 1, 1), 1);
}
END_TEST

START_TEST(test_config)
{
	struct config		 conf;
	const struct hcconf	*hc;

	conf_load_text(&conf,
	    "check = http\ncheck_interval = 0.5\ncheck_timeout = 250ms\n"
	    "check_path = /health\ncheck_status = 200-204\n"
	    "check_body = ok\ncheck_fall = 4\nserver_retry = 9\n"
	    "noserver = icmp\n"
	    "ipaliasing = 192.0.2.10\nports = 80\n"
	    "servers = 10.0.1.11 weight 3 backup, 10.0.1.12 disabled, "
	    "10.0.1.13\n"
	    "service = b\nipaliasing = 192.0.2.11\nports = 80\n"
	    "servers = 10.0.2.1\ncheck = tcp\ncheck_start = down\n"
	    "down_flows = reset\nslowstart = 30\n");
	hc = conf.pool.svc[0].hc;
	ck_assert_uint_eq(hc->type, HC_HTTP);
	ck_assert_uint_eq(hc->interval_ms, 500);
	ck_assert_uint_eq(hc->timeout_ms, 250);
	ck_assert_str_eq(hc->path, "/health");
	ck_assert_str_eq(hc->body, "ok");
	ck_assert_uint_eq(hc->status_lo, 200);
	ck_assert_uint_eq(hc->status_hi, 204);
	ck_assert_uint_eq(hc->fall, 4);
	ck_assert_uint_eq(hc->rise, 2);
	ck_assert_uint_eq(hc->passive_retry, 9);
	ck_assert_uint_eq(hc->noserver, HC_NS_ICMP);
	ck_assert_uint_eq(hc->down_flows, HC_KEEP);
	/* The block inherits the defaults above it and overrides some. */
	hc = conf.pool.svc[1].hc;
	ck_assert_uint_eq(hc->type, HC_TCP);
	ck_assert_uint_eq(hc->interval_ms, 500);
	ck_assert_uint_eq(hc->fall, 4);
	ck_assert_uint_eq(hc->noserver, HC_NS_ICMP);
	ck_assert_uint_eq(hc->down_flows, HC_RESET);
	ck_assert_uint_eq(hc->slowstart, 30);
	ck_assert_uint_eq(hc->start_up, 0);
	/* Server options. */
	ck_assert_uint_eq(conf.pool.srv[0].backup, 1);
	ck_assert_uint_eq(conf.pool.srv[0].cweight, 3);
	ck_assert_uint_eq(conf.pool.srv[1].state, SRV_DISABLED);
	ck_assert_uint_eq(conf.pool.srv[1].reason, SR_OPERATOR);
	ck_assert_uint_eq(conf.pool.srv[2].state, SRV_UP);
	ck_assert_uint_eq(conf.pool.svc[0].use_backup, 0);
	/* check_start = down: down, and with no server up at all. */
	ck_assert_uint_eq(conf.pool.srv[3].state, SRV_DOWN);
	ck_assert_uint_eq(conf.pool.svc[1].use_backup, 1);
	config_free(&conf);

	/* The defaults (loadd.conf(5)). */
	conf_load_text(&conf, CONF);
	hc = conf.pool.svc[0].hc;
	ck_assert_uint_eq(hc->type, HC_TCP);
	ck_assert_uint_eq(hc->interval_ms, 2000);
	ck_assert_uint_eq(hc->timeout_ms, 1000);
	ck_assert_uint_eq(hc->fall, 3);
	ck_assert_uint_eq(hc->rise, 2);
	ck_assert_uint_eq(hc->passive, 1);
	ck_assert_uint_eq(hc->passive_timeout_ms, 3000);
	ck_assert_uint_eq(hc->passive_fall, 5);
	ck_assert_uint_eq(hc->noserver, HC_NS_RESET);
	ck_assert_uint_eq(hc->down_flows, HC_KEEP);
	config_free(&conf);

	/* PLB's levels: 0 everything .. 3 fatal errors only. */
	conf_load_text(&conf, CONF "verbosemode = 0\n");
	ck_assert_int_eq(conf.verbose, 2);
	config_free(&conf);
	conf_load_text(&conf, CONF "verbosemode = 3\n");
	ck_assert_int_eq(conf.verbose, -2);
	config_free(&conf);

	/* A UDP service is pinged unless a check is given. */
	conf_load_text(&conf, CONF "protocol = udp\n");
	ck_assert_uint_eq(conf.pool.svc[0].hc->type, HC_ICMP);
	config_free(&conf);
	conf_load_text(&conf, CONF "protocol = udp\ncheck = tcp\n"
	    "check_port = 8080\n");
	ck_assert_uint_eq(conf.pool.svc[0].hc->type, HC_TCP);
	config_free(&conf);
}
END_TEST

START_TEST(test_backup)
{
	unsigned	 i;

	open_rig(CONF);
	/* Primaries up: the backup gets nothing. */
	for (i = 0; i < 6; i++) {
		ck_assert_int_eq(rig_c2v((uint16_t)(40000 + i), TH_SYN),
		    V_REWRITTEN);
		ck_assert_uint_ne(rig_flow((uint16_t)(40000 + i))->srv, 2);
	}
	ck_assert_int_eq(srv_down(0), 1);
	ck_assert_uint_eq(R.conf.pool.srv[0].state, SRV_DOWN);
	ck_assert_uint_eq(R.conf.pool.srv[0].reason, SR_PROBE);
	ck_assert_uint_eq(R.conf.pool.svc[0].use_backup, 0);
	ck_assert_int_eq(rig_c2v(41000, TH_SYN), V_REWRITTEN);
	ck_assert_uint_eq(rig_flow(41000)->srv, 1);
	/* The last primary goes: the backup takes new flows. */
	ck_assert_int_eq(srv_down(1), 1);
	ck_assert_uint_eq(R.conf.pool.svc[0].use_backup, 1);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(rig_c2v((uint16_t)(42000 + i), TH_SYN),
		    V_REWRITTEN);
		ck_assert_uint_eq(rig_flow((uint16_t)(42000 + i))->srv, 2);
	}
	/* A primary is back: the backup stops taking new flows. */
	srv_up(1);
	ck_assert_uint_eq(R.conf.pool.svc[0].use_backup, 0);
	ck_assert_int_eq(rig_c2v(43000, TH_SYN), V_REWRITTEN);
	ck_assert_uint_eq(rig_flow(43000)->srv, 1);
	/* Draining and disabled are not "down": no reset of flows. */
	R.conf.pool.srv[1].admin = SRV_DRAINING;
	ck_assert_int_eq(srv_update(&R.conf.pool, 1, SR_OPERATOR, NULL), 0);
	ck_assert_uint_eq(R.conf.pool.srv[1].state, SRV_DRAINING);
	ck_assert_uint_eq(R.conf.pool.svc[0].use_backup, 1);
	rig_close();
}
END_TEST

/* No server: a SYN is answered by a RST from the VIP, in its place. */
START_TEST(test_noserver_reset)
{
	open_rig(CONF);
	(void)srv_down(0);
	(void)srv_down(1);
	(void)srv_down(2);
	ck_assert_int_eq(rig_c2v(40000, TH_SYN), V_REWRITTEN);
	ck_assert_uint_ne(R.pb.flags & PB_RESIZED, 0);
	assert_tcp(R.buf, R.pb.len, VIP, 80, CLIENT, 40000,
	    TH_RST | TH_ACK);
	ck_assert_uint_eq(R.e.st.refused, 1);
	ck_assert_uint_eq(R.conf.pool.svc[0].drops[DROP_NOSERVER], 1);
	ck_assert_ptr_null(rig_flow(40000));
	rig_close();
}
END_TEST

/*
 * The same with offload = yes: the SYN is dropped (its unconfirmed
 * conntrack entry goes with it) and the RST is sent on its own, so that
 * no untranslated entry is confirmed.  unknown_flow = reset likewise.
 */
START_TEST(test_noserver_reset_offload)
{
	struct engine_gen *g;
	unsigned	 n;
	char		 why[128];

	open_rig("offload = yes\n" CONF);
	R.e.offload = R.conf.offload;
	R.e.unknown_reset = 1;
	(void)srv_down(0);
	(void)srv_down(1);
	(void)srv_down(2);
	ck_assert_int_eq(rig_c2v(40000, TH_SYN), V_DROP);
	g = engine_generated(&R.e, &n);
	ck_assert_uint_eq(n, 1);
	assert_tcp(g[0].data, g[0].len, VIP, 80, CLIENT, 40000,
	    TH_RST | TH_ACK);
	ck_assert_msg(ref_cksums_ok(g[0].data, g[0].len, why, sizeof(why)),
	    "%s", why);
	ck_assert_uint_eq(R.e.st.refused, 1);
	ck_assert_ptr_null(rig_flow(40000));
	/* A mid-stream segment of no flow: RST, on its own too. */
	ck_assert_int_eq(rig_c2v(40001, TH_ACK), V_DROP);
	g = engine_generated(&R.e, &n);
	ck_assert_uint_eq(n, 1);
	assert_tcp(g[0].data, g[0].len, VIP, 80, CLIENT, 40001, TH_RST);
	ck_assert_uint_eq(R.e.st.resets, 1);
	rig_close();
}
END_TEST

/* UDP (or "noserver = icmp"): ICMP port unreachable quoting the packet. */
START_TEST(test_noserver_icmp)
{
	static const char *const conf[] = {
		CONF "protocol = udp\n",
		CONF "noserver = icmp\n",
	};
	struct tpkt	 t = {
		.family = 4, .src = CLIENT, .dst = VIP, .sport = 40000,
		.dport = 80, .tcpflags = TH_SYN, .paylen = 10,
	};
	struct engine_gen *g;
	uint8_t		 orig[2048], a[4];
	unsigned	 n;
	char		 why[128];

	open_rig(conf[_i]);
	t.proto = _i == 0 ? PROTO_UDP : PROTO_TCP;
	(void)srv_down(0);
	(void)srv_down(1);
	(void)srv_down(2);
	ck_assert_int_eq(rig_run(&t), V_DROP);
	memcpy(orig, R.buf, R.len);
	g = engine_generated(&R.e, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(g[0].family, 4);
	ck_assert_uint_eq(g[0].len, 20 + 8 + R.len);
	ck_assert_uint_eq(g[0].data[9], PROTO_ICMP);
	inet_pton(AF_INET, VIP, a);
	ck_assert_mem_eq(g[0].data + 12, a, 4);
	inet_pton(AF_INET, CLIENT, a);
	ck_assert_mem_eq(g[0].data + 16, a, 4);
	ck_assert_uint_eq(g[0].data[20], 3);	/* unreachable */
	ck_assert_uint_eq(g[0].data[21], 3);	/* port */
	ck_assert_mem_eq(g[0].data + 28, orig, R.len);
	ck_assert_msg(ref_cksums_ok(g[0].data, g[0].len, why, sizeof(why)),
	    "%s", why);
	ck_assert_uint_eq(R.e.st.refused, 1);
	/* Taken once. */
	g = engine_generated(&R.e, &n);
	ck_assert_uint_eq(n, 0);
	rig_close();
}
END_TEST

START_TEST(test_noserver_drop)
{
	unsigned	 n;

	open_rig(CONF "noserver = drop\n");
	(void)srv_down(0);
	(void)srv_down(1);
	(void)srv_down(2);
	ck_assert_int_eq(rig_c2v(40000, TH_SYN), V_DROP);
	(void)engine_generated(&R.e, &n);
	ck_assert_uint_eq(n, 0);
	ck_assert_uint_eq(R.e.st.refused, 0);
	rig_close();
}
END_TEST

/* What the engine tells srvstate.c: SYNs, answers, refusals. */
START_TEST(test_passive_signs)
{
	struct server	*s;
	struct flow	*f;
	uint32_t	 n;

	open_rig(CONF);
	engine_set_ms(&R.e, 5000);
	ck_assert_int_eq(rig_c2v(40000, TH_SYN), V_REWRITTEN);
	s = &R.conf.pool.srv[rig_flow(40000)->srv];
	ck_assert_uint_eq(s->syn_pending_ms, 5000 | 1);
	/* A second SYN does not move the oldest. */
	engine_set_ms(&R.e, 6000);
	ck_assert_int_eq(rig_c2v(40000, TH_SYN), V_REWRITTEN);
	ck_assert_uint_eq(s->syn_pending_ms, 5000 | 1);
	ck_assert_int_eq(rig_s2c(s, 40000, TH_SYN | TH_ACK), V_REWRITTEN);
	ck_assert_uint_eq(s->syn_pending_ms, 0);
	ck_assert_uint_eq(s->synacks, 1);
	ck_assert_uint_eq(s->refused, 0);
	/* A RST answering a SYN is a refusal. */
	ck_assert_int_eq(rig_c2v(40010, TH_SYN), V_REWRITTEN);
	f = rig_flow(40010);
	s = &R.conf.pool.srv[f->srv];
	ck_assert_int_eq(rig_s2c(s, 40010, TH_RST | TH_ACK), V_REWRITTEN);
	ck_assert_uint_eq(s->refused, 1);
	ck_assert_uint_eq(s->syn_pending_ms, 0);
	/*
	 * Replies through another balancer (scale-out): the client's ACK
	 * of the SYN+ACK is the server's answer for passive health; the
	 * flow stays half-open (evictable: an ACK can be sent blindly).
	 */
	engine_set_ms(&R.e, 7000);
	ck_assert_int_eq(rig_c2v(40020, TH_SYN), V_REWRITTEN);
	f = rig_flow(40020);
	s = &R.conf.pool.srv[f->srv];
	ck_assert_uint_ne(s->syn_pending_ms, 0);
	n = s->synacks;
	ck_assert_int_eq(rig_c2v(40020, TH_ACK), V_REWRITTEN);
	ck_assert_uint_eq(s->syn_pending_ms, 0);
	ck_assert_uint_eq(s->synacks, n + 1);
	ck_assert_uint_eq(f->state, FS_SYN_SENT);
	ck_assert_uint_eq(f->cls, FC_HALFOPEN);
	rig_close();
}
END_TEST

/* Passive detection, judged by health_run(), with probes off. */
START_TEST(test_passive_down)
{
	struct health	*h;
	struct server	*s;
	uint8_t		 gone[4] = { 0 };

	open_rig(CONF "check = none\npassive_timeout = 1\npassive_fall = 2\n"
	    "passive_retry = 5\n");
	ck_assert_ptr_nonnull(h = health_new(&R.conf.pool));
	s = &R.conf.pool.srv[0];
	/* Two refusals in a row. */
	s->refused += 2;
	health_run(h, NULL, 0, 100000, gone);
	ck_assert_uint_eq(s->state, SRV_DOWN);
	ck_assert_uint_eq(s->reason, SR_PASSIVE);
	ck_assert_uint_eq(gone[0], 1);
	/* With no probes it is tried again after passive_retry. */
	health_run(h, NULL, 0, 104000, gone);
	ck_assert_uint_eq(s->state, SRV_DOWN);
	health_run(h, NULL, 0, 105100, gone);
	ck_assert_uint_eq(s->state, SRV_UP);
	ck_assert_uint_eq(s->reason, SR_RETRY);
	/* SYNs left unanswered past passive_timeout, twice. */
	s = &R.conf.pool.srv[1];
	s->syn_pending_ms = 200000 | 1;
	health_run(h, NULL, 0, 200500, gone);
	ck_assert_uint_eq(s->state, SRV_UP);
	health_run(h, NULL, 0, 201100, gone);
	ck_assert_uint_eq(s->syn_pending_ms, 0);
	ck_assert_uint_eq(s->state, SRV_UP);
	/* An answer in between starts the count again. */
	s->synacks++;
	health_run(h, NULL, 0, 201300, gone);
	s->syn_pending_ms = 201300 | 1;
	health_run(h, NULL, 0, 202400, gone);
	ck_assert_uint_eq(s->state, SRV_UP);
	s->syn_pending_ms = 202400 | 1;
	health_run(h, NULL, 0, 203500, gone);
	ck_assert_uint_eq(s->state, SRV_DOWN);
	ck_assert_uint_eq(s->reason, SR_PASSIVE);
	/* Both primaries down: the backup takes over. */
	ck_assert_uint_eq(R.conf.pool.svc[0].use_backup, 0);
	health_free(h);
	rig_close();
}
END_TEST

/*
 * "down_flows = reset": the flows of a server that goes down get a RST
 * each way, with the sequence number the other end expects next.
 */
START_TEST(test_down_reset)
{
	struct engine_gen *g;
	struct server	*s;
	struct flow	*f;
	char		 a[ADDR_STRLEN];
	uint32_t	 cseq, sseq;
	unsigned	 n, i;

	open_rig(CONF "down_flows = reset\n");
	ck_assert_int_eq(rig_c2v(40000, TH_SYN), V_REWRITTEN);
	f = rig_flow(40000);
	s = &R.conf.pool.srv[f->srv];
	ck_assert_int_eq(rig_s2c(s, 40000, TH_SYN | TH_ACK), V_REWRITTEN);
	ck_assert_int_eq(rig_c2v(40000, TH_ACK), V_REWRITTEN);
	/*
	 * tpkt numbers every segment alike, so the highest end is that of
	 * the SYN with its 10 bytes (and the SYN+ACK with its 21).
	 */
	ck_assert_int_eq(rig_c2v(40000, TH_ACK | TH_PUSH), V_REWRITTEN);
	cseq = be32(R.buf + 24) + 10 + 1;
	ck_assert_int_eq(rig_s2c(s, 40000, TH_ACK | TH_PUSH), V_REWRITTEN);
	sseq = be32(R.buf + 24) + 21 + 1;
	ck_assert_uint_eq(f->cseq, cseq);
	ck_assert_uint_eq(f->sseq, sseq);
	/* Another flow, to the other server, stays. */
	ck_assert_int_eq(rig_c2v(40001, TH_SYN), V_REWRITTEN);
	ck_assert_uint_ne(rig_flow(40001)->srv, f->srv);

	ck_assert_int_eq(srv_down(f->srv), 1);
	engine_server_down(&R.e, f->srv);
	/* The sweep looks at a budget of entries per tick. */
	for (i = 0; i < 100 && R.e.sweep_pos != 0; i++)
		engine_tick(&R.e, R.now);
	g = engine_generated(&R.e, &n);
	ck_assert_uint_eq(n, 2);
	assert_tcp(g[0].data, g[0].len, VIP, 80, CLIENT, 40000,
	    TH_RST | TH_ACK);
	ck_assert_uint_eq(be32(g[0].data + 24), sseq);
	ck_assert_uint_eq(be32(g[0].data + 28), cseq);
	addr_ntop(4, &s->addr, a, sizeof(a));
	assert_tcp(g[1].data, g[1].len, CLIENT, 40000, a, s->port,
	    TH_RST | TH_ACK);
	ck_assert_uint_eq(be32(g[1].data + 24), cseq);
	ck_assert_uint_eq(R.e.st.flows_reset, 1);
	ck_assert_uint_eq(f->state, FS_CLOSE);
	ck_assert_uint_eq(rig_flow(40001)->state, FS_SYN_SENT);
	ck_assert_uint_eq(R.e.sweep_pos, 0);
	/* The sweep is over: nothing more. */
	engine_tick(&R.e, R.now);
	(void)engine_generated(&R.e, &n);
	ck_assert_uint_eq(n, 0);
	/* What the client still sends is answered with a RST in place. */
	ck_assert_int_eq(rig_c2v(40000, TH_ACK), V_REWRITTEN);
	assert_tcp(R.buf, R.pb.len, VIP, 80, CLIENT, 40000, TH_RST);
	/* A new connection from the same port goes to a live server. */
	ck_assert_int_eq(rig_c2v(40000, TH_SYN), V_REWRITTEN);
	ck_assert_uint_ne(rig_flow(40000)->srv, s - R.conf.pool.srv);
	for (i = 0; i < R.conf.pool.nsrv; i++)
		ck_assert_uint_eq(R.e.sweep[i], 0);
	rig_close();
}
END_TEST

/* "down_flows = keep" (the default): nothing is reset. */
START_TEST(test_down_keep)
{
	struct flow	*f;
	unsigned	 n;

	open_rig(CONF);
	ck_assert_int_eq(rig_c2v(40000, TH_SYN), V_REWRITTEN);
	f = rig_flow(40000);
	ck_assert_int_eq(srv_down(f->srv), 1);
	engine_server_down(&R.e, f->srv);
	engine_tick(&R.e, R.now);
	(void)engine_generated(&R.e, &n);
	ck_assert_uint_eq(n, 0);
	/* The flow goes on to its server. */
	ck_assert_int_eq(rig_c2v(40000, TH_ACK), V_REWRITTEN);
	ck_assert_uint_eq(R.e.st.flows_reset, 0);
	rig_close();
}
END_TEST

/* A UDP flow of a down server finds a new server with its next datagram. */
START_TEST(test_down_udp)
{
	struct tpkt	 t = {
		.family = 4, .proto = PROTO_UDP, .src = CLIENT, .dst = VIP,
		.sport = 40000, .dport = 80, .paylen = 10,
	};
	uint16_t	 first;

	open_rig(CONF "protocol = udp\ndown_flows = reset\n");
	ck_assert_int_eq(rig_run(&t), V_REWRITTEN);
	first = rig_flow(40000)->srv;
	(void)srv_down(first);
	ck_assert_int_eq(rig_run(&t), V_REWRITTEN);
	ck_assert_uint_ne(rig_flow(40000)->srv, first);
	ck_assert_uint_eq(R.e.st.flows_reset, 1);
	rig_close();
}
END_TEST

/* Slow start: from a tenth of the weight to all of it, linearly. */
START_TEST(test_slowstart)
{
	struct health	*h;
	struct server	*s;
	uint8_t		 gone[4] = { 0 };

	open_rig("ipaliasing = 192.0.2.10\nports = 80\nbalancingmode = wrr\n"
	    "servers = 10.0.1.11 weight 100, 10.0.1.12 weight 100\n"
	    "check = none\nslowstart = 10\n");
	ck_assert_ptr_nonnull(h = health_new(&R.conf.pool));
	s = &R.conf.pool.srv[0];
	health_set_admin(h, 0, SRV_DISABLED, SR_OPERATOR);
	ck_assert_uint_eq(s->state, SRV_DISABLED);
	health_set_admin(h, 0, SRV_UP, SR_OPERATOR);
	ck_assert_uint_eq(s->state, SRV_UP);
	ck_assert_uint_eq(s->weight, 10);
	health_run(h, NULL, 0, 50000, gone);	/* the ramp starts */
	ck_assert_uint_eq(s->weight, 10);
	health_run(h, NULL, 0, 55000, gone);
	ck_assert_uint_eq(s->weight, 50);
	health_run(h, NULL, 0, 60000, gone);
	ck_assert_uint_eq(s->weight, 100);
	ck_assert_uint_eq(s->cweight, 100);
	health_free(h);
	rig_close();

	/* Not for the hashes: weights there move clients. */
	open_rig("ipaliasing = 192.0.2.10\nports = 80\n"
	    "balancingmode = sourcehash\n"
	    "servers = 10.0.1.11 weight 100, 10.0.1.12 weight 100\n"
	    "check = none\nslowstart = 10\n");
	ck_assert_ptr_nonnull(h = health_new(&R.conf.pool));
	health_set_admin(h, 0, SRV_DISABLED, SR_OPERATOR);
	health_set_admin(h, 0, SRV_UP, SR_OPERATOR);
	ck_assert_uint_eq(R.conf.pool.srv[0].weight, 100);
	health_free(h);
	rig_close();
}
END_TEST

/* Maglev's table follows the servers that take new flows. */
START_TEST(test_maglev_rebuilt)
{
	unsigned	 i, n0 = 0;

	open_rig("ipaliasing = 192.0.2.10\nports = 80\nbalancingmode = maglev\n"
	    "servers = 10.0.1.11, 10.0.1.12\n");
	for (i = 0; i < R.conf.pool.svc[0].maglev_size; i++)
		if (R.conf.pool.svc[0].maglev[i] == 0)
			n0++;
	ck_assert_uint_gt(n0, 0);
	(void)srv_down(0);
	for (i = 0; i < R.conf.pool.svc[0].maglev_size; i++)
		ck_assert_uint_eq(R.conf.pool.svc[0].maglev[i], 1);
	/* Every new flow finds a server. */
	for (i = 0; i < 50; i++)
		ck_assert_int_eq(rig_c2v((uint16_t)(40000 + i), TH_SYN),
		    V_REWRITTEN);
	rig_close();
}
END_TEST

/* Reloads the rig's configuration with text, as a SIGHUP would. */
static void
rig_reload(const char *text, uint8_t *slots)
{
	struct config	*nc;
	char		 err[256];

	nc = calloc(1, sizeof(*nc));
	ck_assert_ptr_nonnull(nc);
	conf_load_text(nc, text);
	ck_assert_int_eq(reload_swap(&R.e, &R.conf, nc, slots, err,
	    sizeof(err)), 0);
	config_free(&R.conf);
	R.conf = *nc;
	R.e.pool = &R.conf.pool;
	free(nc);
}

/* An agent whose server i reported cpu per mille, fresh at now_ms. */
static void
agent_says(struct agent *a, unsigned i, uint16_t cpu, uint8_t check,
    uint8_t flags, uint64_t now_ms)
{
	struct agent_state *st = &a->st[i];

	memset(st, 0, sizeof(*st));
	st->valid = 1;
	st->rcvd_ms = now_ms;
	st->flows_at = R.conf.pool.srv[i].flows_total;
	st->r.cpu_pm = cpu;
	st->r.check = check;
	st->r.flags = flags;
	st->r.interval_ms = 1000;
}

static unsigned
pick_many(unsigned n, unsigned *count)
{
	unsigned	 i;

	for (i = 0; i < n; i++) {
		ck_assert_int_eq(rig_c2v((uint16_t)(20000 + i), TH_SYN),
		    V_REWRITTEN);
		count[rig_flow((uint16_t)(20000 + i))->srv]++;
	}
	return (n);
}

/* leastload: the least loaded by report, with the estimate in between. */
START_TEST(test_leastload)
{
	struct agent	 a;
	struct report_keys k;
	unsigned	 count[4] = { 0 };

	open_rig("ipaliasing = 192.0.2.10\nports = 80\n"
	    "servers = 10.0.1.11, 10.0.1.12, 10.0.1.13\n"
	    "balancingmode = leastload\n");
	memset(&k, 0, sizeof(k));
	ck_assert_int_eq(agent_init(&a, &R.conf.pool, &k, 30000, 3), 0);
	engine_set_agent(&R.e, &a);
	engine_set_mono_ms(&R.e, 100000);
	/* Not all fresh: wlc, shared evenly. */
	agent_says(&a, 0, 900, REPORT_CHECK_UP, 0, 100000);
	pick_many(30, count);
	ck_assert_uint_eq(count[0], 10);
	ck_assert_uint_eq(count[1], 10);
	/* All fresh: s1 at 90% gets nothing while the others are far below. */
	agent_says(&a, 0, 900, REPORT_CHECK_UP, 0, 100000);
	agent_says(&a, 1, 100, REPORT_CHECK_UP, 0, 100000);
	agent_says(&a, 2, 100, REPORT_CHECK_UP, 0, 100000);
	memset(count, 0, sizeof(count));
	R.e.ft.st.inserted = 0;
	{
		unsigned i;

		for (i = 0; i < 40; i++) {
			ck_assert_int_eq(rig_c2v((uint16_t)(30000 + i), TH_SYN),
			    V_REWRITTEN);
			count[rig_flow((uint16_t)(30000 + i))->srv]++;
		}
	}
	/* 40 new flows at 1% each estimated: 80 points to share. */
	ck_assert_uint_eq(count[0], 0);
	ck_assert_uint_ge(count[1], 19);
	ck_assert_uint_ge(count[2], 19);
	/* Stale reports: back to wlc. */
	engine_set_mono_ms(&R.e, 100000 + 3 * 1000 + 1);
	memset(count, 0, sizeof(count));
	{
		unsigned i;

		for (i = 0; i < 30; i++) {
			ck_assert_int_eq(rig_c2v((uint16_t)(31000 + i), TH_SYN),
			    V_REWRITTEN);
			count[rig_flow((uint16_t)(31000 + i))->srv]++;
		}
	}
	ck_assert_uint_gt(count[0], 0);
	engine_set_agent(&R.e, NULL);
	agent_free(&a);
	rig_close();
}
END_TEST

/* loadsharing: shares follow weight x spare capacity. */
START_TEST(test_loadsharing)
{
	struct agent	 a;
	struct report_keys k;
	unsigned	 count[4] = { 0 }, i;

	open_rig("ipaliasing = 192.0.2.10\nports = 80\n"
	    "servers = 10.0.1.11, 10.0.1.12\nbalancingmode = loadsharing\n"
	    "maxflows = 100000\n");
	memset(&k, 0, sizeof(k));
	ck_assert_int_eq(agent_init(&a, &R.conf.pool, &k, 30000, 3), 0);
	engine_set_agent(&R.e, &a);
	engine_set_mono_ms(&R.e, 5000);
	/* Busy and idle; the estimate moves little over 100 flows. */
	agent_says(&a, 0, 750, REPORT_CHECK_UP, 0, 5000);
	agent_says(&a, 1, 0, REPORT_CHECK_UP, 0, 5000);
	a.st[0].r.conns = 1000;		/* 0.75 per mille per connection */
	a.st[1].r.conns = 1000;
	for (i = 0; i < 100; i++) {
		ck_assert_int_eq(rig_c2v((uint16_t)(20000 + i), TH_SYN),
		    V_REWRITTEN);
		count[rig_flow((uint16_t)(20000 + i))->srv]++;
	}
	/* Spare 251 against 1001: about 20% and 80%. */
	ck_assert_uint_ge(count[0], 15);
	ck_assert_uint_le(count[0], 25);
	engine_set_agent(&R.e, NULL);
	agent_free(&a);
	rig_close();
}
END_TEST

/*
 * A reload keeps the agents: they are the engine's, not the pool's, and
 * leastload goes on reading them (without them it would be wlc, and the
 * idle but loaded s1 would get the next flows).
 */
START_TEST(test_reload_agents)
{
	struct agent	 a;
	struct report_keys k;
	static uint8_t	 slots[POOL_MAXSERVERS];
	unsigned	 count[4] = { 0 }, i;
	static const char text[] = "ipaliasing = 192.0.2.10\nports = 80\n"
	    "servers = 10.0.1.11, 10.0.1.12\nbalancingmode = leastload\n";

	open_rig(text);
	memset(&k, 0, sizeof(k));
	ck_assert_int_eq(agent_init(&a, &R.conf.pool, &k, 30000, 3), 0);
	engine_set_agent(&R.e, &a);
	engine_set_mono_ms(&R.e, 5000);
	agent_says(&a, 0, 900, REPORT_CHECK_UP, 0, 5000);
	agent_says(&a, 1, 100, REPORT_CHECK_UP, 0, 5000);
	pick_many(10, count);
	ck_assert_uint_eq(count[1], 10);
	rig_reload(text, slots);
	ck_assert_uint_eq(slots[0], RS_SAME);
	ck_assert_uint_eq(slots[1], RS_SAME);
	/* s1: 100 + 10 flows x 1 % = 200 per mille, still far below s0. */
	memset(count, 0, sizeof(count));
	for (i = 0; i < 10; i++) {
		ck_assert_int_eq(rig_c2v((uint16_t)(30000 + i), TH_SYN),
		    V_REWRITTEN);
		count[rig_flow((uint16_t)(30000 + i))->srv]++;
	}
	ck_assert_uint_eq(count[0], 0);
	ck_assert_uint_eq(count[1], 10);
	engine_set_agent(&R.e, NULL);
	agent_free(&a);
	rig_close();
}
END_TEST

/* intlloadsharing: the agent's load multiplies in. */
START_TEST(test_intl_agents)
{
	struct agent	 a;
	struct report_keys k;
	unsigned	 count[4] = { 0 };

	open_rig("ipaliasing = 192.0.2.10\nports = 80\n"
	    "servers = 10.0.1.11, 10.0.1.12\n"
	    "balancingmode = intlloadsharing\n");
	memset(&k, 0, sizeof(k));
	ck_assert_int_eq(agent_init(&a, &R.conf.pool, &k, 30000, 3), 0);
	engine_set_agent(&R.e, &a);
	engine_set_mono_ms(&R.e, 5000);
	/*
	 * s1 at 100% costs (0 + 1) x 1 x 2000; s2, idle, costs
	 * (n + 1) x 1 x (1000 + n) after n flows: s2, s1 (2000 < 2002),
	 * then s2 again (2002 < 4000).
	 */
	agent_says(&a, 0, 1000, REPORT_CHECK_UP, 0, 5000);
	agent_says(&a, 1, 0, REPORT_CHECK_UP, 0, 5000);
	a.st[1].r.conns = 1000000;	/* a negligible cost per connection */
	a.st[0].r.conns = 1000000;
	pick_many(3, count);
	ck_assert_uint_eq(count[0], 1);
	ck_assert_uint_eq(count[1], 2);
	ck_assert_uint_eq(rig_flow(20000)->srv, 1);
	ck_assert_uint_eq(rig_flow(20001)->srv, 0);
	engine_set_agent(&R.e, NULL);
	agent_free(&a);
	rig_close();
}
END_TEST

/* Agent down and drain as server states; "safe to stop". */
START_TEST(test_agent_states)
{
	struct agent	 a;
	struct report_keys k;
	struct health	*h;
	struct server	*s;
	uint8_t		 gone[4] = { 0 };

	open_rig(CONF "check = none\n");
	memset(&k, 0, sizeof(k));
	ck_assert_int_eq(agent_init(&a, &R.conf.pool, &k, 30000, 3), 0);
	ck_assert_ptr_nonnull(h = health_new(&R.conf.pool));
	s = &R.conf.pool.srv[0];
	agent_says(&a, 0, 100, REPORT_CHECK_DOWN, 0, 1000);
	health_agents(h, &a, 1000, gone);
	ck_assert_uint_eq(s->state, SRV_DOWN);
	ck_assert_uint_eq(s->reason, SR_AGENT);
	ck_assert_uint_eq(gone[0], 1);
	/* Its reports stop: what it said counts no more. */
	health_agents(h, &a, 1000 + 3001, gone);
	ck_assert_uint_eq(s->state, SRV_UP);
	/* Drain: no new flows, the existing ones go on. */
	ck_assert_int_eq(rig_c2v(40000, TH_SYN), V_REWRITTEN);
	ck_assert_uint_eq(rig_flow(40000)->srv, 0);
	agent_says(&a, 0, 100, REPORT_CHECK_UP, REPORT_F_DRAIN, 9000);
	health_agents(h, &a, 9000, gone);
	ck_assert_uint_eq(s->state, SRV_DRAINING);
	ck_assert_uint_eq(s->drained, 0);
	ck_assert_int_eq(rig_c2v(40001, TH_SYN), V_REWRITTEN);
	ck_assert_uint_ne(rig_flow(40001)->srv, 0);
	ck_assert_int_eq(rig_c2v(40000, TH_ACK), V_REWRITTEN);
	ck_assert_uint_eq(rig_flow(40000)->srv, 0);
	/* Its last flow ends: safe to stop, said once. */
	ck_assert_int_eq(rig_c2v(40000, TH_RST), V_REWRITTEN);
	flow_remove(&R.e.ft, rig_flow(40000));
	ck_assert_uint_eq(s->flows_active, 0);
	health_agents(h, &a, 9100, gone);
	ck_assert_uint_eq(s->drained, 1);
	/*
	 * Drain lapses when the reports stop, as down does: a quiet agent
	 * (or a forger who stopped) decides nothing; the probes do.
	 */
	health_agents(h, &a, 9000 + 2999, gone);
	ck_assert_uint_eq(s->state, SRV_DRAINING);
	health_agents(h, &a, 9000 + 3000, gone);
	ck_assert_uint_eq(s->state, SRV_UP);
	ck_assert_uint_eq(s->reason, SR_AGENT);
	/* Asked again, then withdrawn. */
	agent_says(&a, 0, 100, REPORT_CHECK_UP, REPORT_F_DRAIN, 60000);
	health_agents(h, &a, 60000, gone);
	ck_assert_uint_eq(s->state, SRV_DRAINING);
	agent_says(&a, 0, 100, REPORT_CHECK_UP, 0, 61000);
	health_agents(h, &a, 61000, gone);
	ck_assert_uint_eq(s->state, SRV_UP);
	health_free(h);
	agent_free(&a);
	rig_close();
}
END_TEST

/*
 * loadctl enable overrides an agent's drain (a forged one, say) until
 * the agent reports without drain; its next drain counts again.
 */
START_TEST(test_agent_enable_override)
{
	struct agent	 a;
	struct report_keys k;
	struct health	*h;
	struct server	*s;
	struct ctlenv	 env;
	struct obuf	 out;
	char		 cmd[64];
	uint8_t		 gone[4] = { 0 };

	open_rig(CONF "check = none\n");
	memset(&k, 0, sizeof(k));
	ck_assert_int_eq(agent_init(&a, &R.conf.pool, &k, 30000, 3), 0);
	ck_assert_ptr_nonnull(h = health_new(&R.conf.pool));
	memset(&env, 0, sizeof(env));
	env.e = &R.e;
	env.conf = &R.conf;
	env.h = h;
	env.agent = &a;
	env.now_ms = 1000;
	memset(&out, 0, sizeof(out));
	s = &R.conf.pool.srv[0];

	/* Nothing to override: enable says nothing about an agent. */
	strlcpy(cmd, "enable 10.0.1.11:80", sizeof(cmd));
	ck_assert_int_eq(ctl_command(&env, cmd, &out), 0);
	ck_assert_ptr_null(strstr(out.b, "overridden"));
	ob_free(&out);

	agent_says(&a, 0, 100, REPORT_CHECK_UP, REPORT_F_DRAIN, 1000);
	health_agents(h, &a, 1000, gone);
	ck_assert_uint_eq(s->state, SRV_DRAINING);
	strlcpy(cmd, "enable 10.0.1.11:80", sizeof(cmd));
	ck_assert_int_eq(ctl_command(&env, cmd, &out), 0);
	ck_assert_ptr_nonnull(strstr(out.b, "10.0.1.11:80: up (its agent's "
	    "drain overridden)"));
	ob_free(&out);
	ck_assert_uint_eq(s->state, SRV_UP);
	ck_assert_uint_eq(s->reason, SR_OPERATOR);
	/* More drain reports do not undo the operator's word. */
	a.st[0].rcvd_ms = 1500;
	health_agents(h, &a, 1500, gone);
	ck_assert_uint_eq(s->state, SRV_UP);
	ck_assert_int_eq(agent_drain(&a, 0, 1500), 0);
	ck_assert_int_eq(a.st[0].overridden, 1);
	/* The JSON of show servers says so. */
	strlcpy(cmd, "json show servers", sizeof(cmd));
	env.now_ms = 1500;
	ck_assert_int_eq(ctl_command(&env, cmd, &out), 0);
	ck_assert_ptr_nonnull(strstr(out.b, "\"drain\":true,"
	    "\"drain_overridden\":true"));
	ob_free(&out);
	health_free(h);
	agent_free(&a);
	rig_close();
}
END_TEST

/*
 * Reload: a server removed (with a flow) stays as a draining ghost in its
 * slot, those added take free slots and new flows, the one that stays
 * keeps its slot, flow and counters; nothing is renumbered.
 */
START_TEST(test_reload)
{
	struct config	*nc;
	struct server	*s;
	struct flow	*f;
	static uint8_t	 slots[POOL_MAXSERVERS];
	char		 err[256];
	unsigned	 i, s11, s12;
	uint64_t	 total11;

	open_rig("ipaliasing = 192.0.2.10\nports = 80\n"
	    "servers = 10.0.1.11, 10.0.1.12\n");
	ck_assert_int_eq(rig_c2v(40000, TH_SYN), V_REWRITTEN);
	ck_assert_int_eq(rig_c2v(40001, TH_SYN), V_REWRITTEN);
	s11 = R.conf.pool.srv[0].addr.b[3] == 11 ? 0 : 1;
	s12 = 1 - s11;
	total11 = R.conf.pool.srv[s11].flows_total;
	R.conf.pool.srv[s11].admin = SRV_DRAINING;	/* loadctl drain */
	(void)srv_update(&R.conf.pool, s11, SR_OPERATOR, NULL);

	/* .12 goes, .13 and .14 come, .11 stays; another service too. */
	nc = calloc(1, sizeof(*nc));
	ck_assert_ptr_nonnull(nc);
	conf_load_text(nc, "ipaliasing = 192.0.2.10\nports = 80\n"
	    "servers = 10.0.1.13, 10.0.1.11 weight 3, 10.0.1.14\n"
	    "service = b\nipaliasing = 192.0.2.20\nports = 53\n"
	    "protocol = udp\nservers = 10.0.2.1\n");
	ck_assert_int_eq(reload_swap(&R.e, &R.conf, nc, slots, err,
	    sizeof(err)), 0);
	ck_assert_ptr_eq(R.e.pool, &nc->pool);
	/* Slots 0 and 1 as they were; .13, .14 and b's server after. */
	ck_assert_uint_eq(nc->pool.nsvc, 2);
	ck_assert_uint_eq(nc->pool.nsrv, 5);
	ck_assert_uint_eq(slots[s11], RS_SAME);
	ck_assert_uint_eq(slots[s12], RS_SAME);
	for (i = 2; i < 5; i++) {
		ck_assert_uint_eq(slots[i], RS_NEW);
		ck_assert_uint_eq(nc->pool.srv[i].used, 1);
		ck_assert_uint_eq(nc->pool.srv[i].ghost, 0);
	}
	ck_assert_uint_eq(nc->pool.srv[2].addr.b[3], 13);
	ck_assert_uint_eq(nc->pool.srv[3].addr.b[3], 14);
	ck_assert_uint_eq(nc->pool.srv[4].svc, 1);
	/* The first service lists .13, .11, .14 as the file does, then the ghost. */
	ck_assert_uint_eq(nc->pool.svc[0].nsrv, 4);
	ck_assert_uint_eq(nc->pool.svc[0].members[0], 2);
	ck_assert_uint_eq(nc->pool.svc[0].members[1], s11);
	ck_assert_uint_eq(nc->pool.svc[0].members[2], 3);
	ck_assert_uint_eq(nc->pool.svc[0].members[3], s12);
	s = &nc->pool.srv[s12];
	ck_assert_uint_eq(s->addr.b[3], 12);
	ck_assert_uint_eq(s->ghost, 1);
	ck_assert_uint_eq(s->state, SRV_DRAINING);
	ck_assert_uint_eq(s->flows_active, 1);
	/* .11 keeps its flow, counters and the operator's drain. */
	s = &nc->pool.srv[s11];
	ck_assert_uint_eq(s->addr.b[3], 11);
	ck_assert_uint_eq(s->flows_total, total11);
	ck_assert_uint_eq(s->state, SRV_DRAINING);
	ck_assert_uint_eq(s->cweight, 3);
	/* Both old flows are where they were. */
	f = rig_flow(40000);
	ck_assert_ptr_nonnull(f);
	ck_assert(f->srv == s11 || f->srv == s12);
	f = rig_flow(40001);
	ck_assert_ptr_nonnull(f);
	ck_assert(f->srv == s11 || f->srv == s12);
	ck_assert_int_eq(rig_c2v(40000, TH_ACK), V_REWRITTEN);
	/* New flows: only .13 and .14 (.11 drains, .12 is a ghost). */
	for (i = 0; i < 6; i++) {
		ck_assert_int_eq(rig_c2v((uint16_t)(41000 + i), TH_SYN),
		    V_REWRITTEN);
		f = rig_flow((uint16_t)(41000 + i));
		ck_assert(f->srv == 2 || f->srv == 3);
	}
	/* The old configuration goes, as loadd does it. */
	config_free(&R.conf);
	R.conf = *nc;
	R.e.pool = &R.conf.pool;
	free(nc);
	rig_close();
}
END_TEST

/*
 * Slots over several reloads: a server gone without flows frees its
 * slot, the next server added takes it (and nobody's persistence), a
 * server that stays keeps its slot whatever the file's order.
 */
START_TEST(test_reload_slots)
{
	static uint8_t	 slots[POOL_MAXSERVERS];
	union addr	 c;
	static const char *const files[] = {
	    "servers = 10.0.1.12, 10.0.1.11\n",
	    "servers = 10.0.1.15, 10.0.1.12, 10.0.1.16\n",
	};
	char		 text[256];

	open_rig("ipaliasing = 192.0.2.10\nports = 80\nsticky = 60\n"
	    "servers = 10.0.1.11, 10.0.1.12, 10.0.1.13\n");
	memset(&c, 0, sizeof(c));
	c.b[0] = 198;
	if (R.e.sticky.ent == NULL)
		ck_assert_int_eq(engine_set_sticky(&R.e, 1024), 0);
	sticky_put(&R.e.sticky, &c, 0, 2, 100, 60);	/* a client of .13 */
	/* .13 goes (no flows): its slot is freed; the order changes. */
	snprintf(text, sizeof(text), "ipaliasing = 192.0.2.10\nports = 80\n"
	    "sticky = 60\n%s", files[0]);
	rig_reload(text, slots);
	ck_assert_uint_eq(slots[2], RS_FREED);
	ck_assert_uint_eq(R.conf.pool.nsrv, 2);		/* the tail shrinks */
	ck_assert_uint_eq(R.conf.pool.srv[0].addr.b[3], 11);
	ck_assert_uint_eq(R.conf.pool.srv[1].addr.b[3], 12);
	ck_assert_uint_eq(R.conf.pool.svc[0].members[0], 1);
	ck_assert_uint_eq(R.conf.pool.svc[0].members[1], 0);
	ck_assert_int_eq(sticky_get(&R.e.sticky, &c, 0, 110, 60), -1);
	/* .11 goes too; .15 and .16 come: slot 0, then slot 2. */
	sticky_put(&R.e.sticky, &c, 0, 0, 100, 60);	/* a client of .11 */
	snprintf(text, sizeof(text), "ipaliasing = 192.0.2.10\nports = 80\n"
	    "sticky = 60\n%s", files[1]);
	rig_reload(text, slots);
	ck_assert_uint_eq(slots[0], RS_NEW);
	ck_assert_uint_eq(slots[1], RS_SAME);
	ck_assert_uint_eq(slots[2], RS_NEW);
	ck_assert_uint_eq(R.conf.pool.srv[0].addr.b[3], 15);
	ck_assert_uint_eq(R.conf.pool.srv[1].addr.b[3], 12);
	ck_assert_uint_eq(R.conf.pool.srv[2].addr.b[3], 16);
	ck_assert_int_eq(sticky_get(&R.e.sticky, &c, 0, 110, 60), -1);
	ck_assert_int_eq(rig_c2v(42000, TH_SYN), V_REWRITTEN);
	rig_close();
}
END_TEST

/* A reload keeps a slow start going; a server it adds starts its own. */
START_TEST(test_reload_slowstart)
{
	static const char conf[] = "ipaliasing = 192.0.2.10\nports = 80\n"
	    "balancingmode = wrr\ncheck = none\nslowstart = 10\n"
	    "servers = 10.0.1.11 weight 100, 10.0.1.12 weight 100";
	struct health	*h;
	uint8_t		 slots[POOL_MAXSERVERS], gone[4] = { 0 };
	char		 text[256];

	snprintf(text, sizeof(text), "%s\n", conf);
	open_rig(text);
	ck_assert_ptr_nonnull(h = health_new(&R.conf.pool));
	health_set_admin(h, 0, SRV_DISABLED, SR_OPERATOR);
	health_set_admin(h, 0, SRV_UP, SR_OPERATOR);
	health_run(h, NULL, 0, 50000, gone);	/* the ramp starts */
	health_run(h, NULL, 0, 55000, gone);
	ck_assert_uint_eq(R.conf.pool.srv[0].weight, 50);
	snprintf(text, sizeof(text), "%s, 10.0.1.13 weight 100\n", conf);
	rig_reload(text, slots);
	ck_assert_uint_eq(slots[2], RS_NEW);
	ck_assert_int_eq(health_reload(h, slots, 55000), 0);
	health_ramp(h, 2);
	/* Half way still, not the whole weight the reload wrote. */
	ck_assert_uint_eq(R.conf.pool.srv[0].weight, 50);
	ck_assert_uint_eq(R.conf.pool.srv[1].weight, 100);
	ck_assert_uint_eq(R.conf.pool.srv[2].weight, 10);
	health_run(h, NULL, 0, 60000, gone);
	ck_assert_uint_eq(R.conf.pool.srv[0].weight, 100);
	health_run(h, NULL, 0, 65000, gone);	/* its ramp began at 60 s */
	ck_assert_uint_eq(R.conf.pool.srv[2].weight, 50);
	health_free(h);
	rig_close();
}
END_TEST

/* Persistence after a reload: the clients of a slot gone or new go. */
START_TEST(test_sticky_forget)
{
	struct sticky	 st;
	union addr	 a, b;
	uint8_t		 gone[4] = { 0, RS_NEW, 0, 0 };

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	inet_pton(AF_INET, "198.51.100.7", a.b);
	inet_pton(AF_INET, "198.51.100.8", b.b);
	ck_assert_int_eq(sticky_init(&st, 64, 7), 0);
	sticky_put(&st, &a, 0, 1, 100, 300);
	sticky_put(&st, &b, 0, 3, 100, 300);
	sticky_forget(&st, gone, 4);
	ck_assert_int_eq(sticky_get(&st, &a, 0, 110, 300), -1);
	ck_assert_int_eq(sticky_get(&st, &b, 0, 110, 300), 3);
	gone[3] = RS_FREED;
	sticky_forget(&st, gone, 4);
	ck_assert_int_eq(sticky_get(&st, &b, 0, 110, 300), -1);
	sticky_free(&st);
}
END_TEST

/* A reload refuses what needs a restart, and changes nothing. */
START_TEST(test_reload_refused)
{
	struct config	 nc;
	static uint8_t	 slots[POOL_MAXSERVERS];
	char		 err[256];

	open_rig(CONF);
	conf_load_text(&nc, CONF "queue = 9000\n");
	ck_assert_int_eq(reload_swap(&R.e, &R.conf, &nc, slots, err,
	    sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "queue"));
	ck_assert_ptr_eq(R.e.pool, &R.conf.pool);
	config_free(&nc);
	rig_close();
}
END_TEST

/*
 * The batch path (prefetching, the NFQUEUE loop's) decides exactly as the
 * one-by-one path: same verdicts, same bytes, over a table big enough for
 * every prefetch pass.
 */
START_TEST(test_batch_same)
{
	static struct config	 ca, cb;
	static struct engine	 ea, eb;
	static uint8_t		 ba[ENGINE_BATCH][128], bb[ENGINE_BATCH][128];
	struct pktbuf		 pa[ENGINE_BATCH], pbb[ENGINE_BATCH];
	struct tpkt		 t = {
		.family = 4, .proto = PROTO_TCP, .dst = VIP, .dport = 80,
		.paylen = 10,
	};
	char			 src[32];
	size_t			 len;
	unsigned		 round, i, k;
	uint32_t		 x = 12345;
	static const char	 text[] = "ipaliasing = 192.0.2.10\n"
	    "ports = 80\nservers = 10.0.1.11, 10.0.1.12, 10.0.1.13\n"
	    "maxflows = 200000\ncheck = none\n";

	conf_load_text(&ca, text);
	conf_load_text(&cb, text);
	ck_assert_int_eq(engine_init(&ea, &ca.pool, ca.maxflows, ca.timeout,
	    77), 0);
	ck_assert_int_eq(engine_init(&eb, &cb.pool, cb.maxflows, cb.timeout,
	    77), 0);
	for (round = 0; round < 400; round++) {
		for (i = 0; i < ENGINE_BATCH; i++) {
			x = x * 1103515245u + 12345u;
			/* 2000 clients x 8 ports: new flows and repeats. */
			snprintf(src, sizeof(src), "198.51.%u.%u",
			    (x >> 8) % 8, (x >> 16) % 250 + 1);
			t.src = src;
			t.sport = (uint16_t)(40000 + (x >> 24) % 8);
			t.tcpflags = (x & 3) == 0 ? TH_SYN : TH_ACK;
			len = tpkt_build(ba[i], sizeof(ba[i]), &t);
			ck_assert_uint_ne(len, 0);
			memcpy(bb[i], ba[i], len);
			memset(&pa[i], 0, sizeof(pa[i]));
			memset(&pbb[i], 0, sizeof(pbb[i]));
			pa[i].data = ba[i];
			pbb[i].data = bb[i];
			pa[i].len = pbb[i].len = (uint32_t)len;
		}
		for (i = 0; i < ENGINE_BATCH; i++)
			engine_process(&ea, &pa[i], 1000 + round);
		engine_process_batch(&eb, pbb, ENGINE_BATCH, 1000 + round);
		for (i = 0; i < ENGINE_BATCH; i++) {
			ck_assert_uint_eq(pa[i].verdict, pbb[i].verdict);
			ck_assert_uint_eq(pa[i].len, pbb[i].len);
			ck_assert_mem_eq(ba[i], bb[i], pa[i].len);
		}
	}
	ck_assert_uint_eq(ea.ft.count, eb.ft.count);
	ck_assert_uint_gt(ea.ft.count, 1000);
	for (k = 0; k < ca.pool.nsrv; k++)
		ck_assert_uint_eq(ca.pool.srv[k].flows_total,
		    cb.pool.srv[k].flows_total);
	engine_free(&ea);
	engine_free(&eb);
	config_free(&ca);
	config_free(&cb);
}
END_TEST

Suite *
health_suite(void)
{
	Suite	*s = suite_create("health");
	TCase	*tc = tcase_create("health");

	tcase_add_test(tc, test_rise_fall);
	tcase_add_test(tc, test_config);
	tcase_add_test(tc, test_backup);
	tcase_add_test(tc, test_noserver_reset);
	tcase_add_test(tc, test_noserver_reset_offload);
	tcase_add_loop_test(tc, test_noserver_icmp, 0, 2);
	tcase_add_test(tc, test_noserver_drop);
	tcase_add_test(tc, test_passive_signs);
	tcase_add_test(tc, test_passive_down);
	tcase_add_test(tc, test_down_reset);
	tcase_add_test(tc, test_down_keep);
	tcase_add_test(tc, test_down_udp);
	tcase_add_test(tc, test_slowstart);
	tcase_add_test(tc, test_maglev_rebuilt);
	suite_add_tcase(s, tc);
	tc = tcase_create("agents");
	tcase_add_test(tc, test_leastload);
	tcase_add_test(tc, test_loadsharing);
	tcase_add_test(tc, test_intl_agents);
	tcase_add_test(tc, test_reload_agents);
	tcase_add_test(tc, test_agent_states);
	tcase_add_test(tc, test_agent_enable_override);
	suite_add_tcase(s, tc);
	tc = tcase_create("reload");
	tcase_add_test(tc, test_reload);
	tcase_add_test(tc, test_reload_refused);
	tcase_add_test(tc, test_reload_slots);
	tcase_add_test(tc, test_reload_slowstart);
	tcase_add_test(tc, test_sticky_forget);
	tcase_add_test(tc, test_batch_same);
	suite_add_tcase(s, tc);
	return (s);
}
