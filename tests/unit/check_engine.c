/*
 * The engine, end to end: packets in, verdicts and rewritten bytes out,
 * with the pool built from a configuration file exactly as loadd builds
 * it.  Time is whatever each call says; nothing sleeps.
 *
 *	client 198.51.100.7:port  ->  VIP 192.0.2.10:80
 *	                              -> 10.0.1.11:80, 10.0.1.12:80,
 *	                                 10.0.1.13:8080 (round-robin)
 */
#include <arpa/inet.h>

#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "engine.h"
#include "pkt.h"
#include "pktio.h"
#include "rig.h"
#include "unit.h"

#ifdef LOADD_OFFLOAD
#include <sys/socket.h>

#include <endian.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include "ctevents.h"
#endif

#define CONF		"ipaliasing = 192.0.2.10\nports = 80\n" \
			"servers = 10.0.1.11, 10.0.1.12, 10.0.1.13:8080\n"

static struct server	*srv_of(uint16_t);
static const struct server *dst_server(void);
static void		 assert_unchanged(void);
static void		 assert_cksums(void);
static void		 assert_src(const char *, uint16_t);
static void		 establish(uint16_t);

static struct server *
srv_of(uint16_t cport)
{
	struct flow	*f = rig_flow(cport);

	ck_assert_ptr_nonnull(f);
	return (&R.conf.pool.srv[f->srv]);
}

/* The server an inbound packet was sent to, from its rewritten bytes. */
static const struct server *
dst_server(void)
{
	union addr		 a;
	const struct server	*s;

	memset(&a, 0, sizeof(a));
	memcpy(a.b, R.buf + 16, 4);
	s = pool_find_server(&R.conf.pool, 4, R.buf[9], &a,
	    htons(get_be16(R.buf + 20 + 2)));
	ck_assert_msg(s != NULL, "rewritten to something not a server");
	/* The source is left alone. */
	ck_assert_mem_eq(R.buf + 12, R.orig + 12, 4);
	ck_assert_mem_eq(R.buf + 20, R.orig + 20, 2);
	assert_cksums();
	return (s);
}

static void
assert_unchanged(void)
{
	ck_assert_mem_eq(R.buf, R.orig, R.len);
}

static void
assert_cksums(void)
{
	char	 why[128];

	ck_assert_msg(ref_cksums_ok(R.buf, (unsigned)R.len, why, sizeof(why)),
	    "%s", why);
}

static void
assert_src(const char *addr, uint16_t port)
{
	uint8_t	 a[4];

	inet_pton(AF_INET, addr, a);
	ck_assert_mem_eq(R.buf + 12, a, 4);
	ck_assert_uint_eq(get_be16(R.buf + 20), port);
	/* The destination is left alone. */
	ck_assert_mem_eq(R.buf + 16, R.orig + 16, 4);
	ck_assert_mem_eq(R.buf + 22, R.orig + 22, 2);
	assert_cksums();
}

/* The three-way handshake for the client's port. */
static void
establish(uint16_t cport)
{
	struct server	*srv;

	ck_assert_int_eq(rig_c2v(cport, TH_SYN), V_REWRITTEN);
	srv = srv_of(cport);
	ck_assert_int_eq(rig_s2c(srv, cport, TH_SYN | TH_ACK), V_REWRITTEN);
	ck_assert_int_eq(rig_c2v(cport, TH_ACK), V_REWRITTEN);
	ck_assert_uint_eq(rig_flow(cport)->state, FS_ESTABLISHED);
}

START_TEST(test_round_robin)
{
	const struct server	*s;
	unsigned		 i;

	rig_open(CONF);
	for (i = 0; i < 9; i++) {
		ck_assert_int_eq(rig_c2v((uint16_t)(40000 + i), TH_SYN),
		    V_REWRITTEN);
		s = dst_server();
		ck_assert_msg(s == &R.conf.pool.srv[i % 3], "SYN %u went to "
		    "%s", i, s->name);
		ck_assert_uint_eq(get_be16(R.buf + 22), i % 3 == 2 ? 8080 :
		    80);
		ck_assert_uint_eq(rig_flow((uint16_t)(40000 + i))->state,
		    FS_SYN_SENT);
	}
	for (i = 0; i < 3; i++) {
		ck_assert_uint_eq(R.conf.pool.srv[i].flows_active, 3);
		ck_assert_uint_eq(R.conf.pool.srv[i].flows_total, 3);
		ck_assert_uint_eq(R.conf.pool.srv[i].pkts_in, 3);
	}
	ck_assert_uint_eq(R.conf.pool.svc[0].flows_total, 9);
	ck_assert_uint_eq(R.e.st.pkts, 9);
	ck_assert_uint_eq(R.e.st.inbound, 9);
	ck_assert_uint_eq(R.e.st.rewritten, 9);
	ck_assert_uint_eq(R.e.st.dropped, 0);
	ck_assert_uint_eq(R.e.ft.count, 9);
	rig_close();
}
END_TEST

/* Every packet of a flow goes where its SYN went. */
START_TEST(test_flow_sticks)
{
	const struct server	*first[5];
	unsigned		 i, round;
	uint16_t		 p;

	rig_open(CONF);
	for (i = 0; i < 5; i++) {
		ck_assert_int_eq(rig_c2v((uint16_t)(40000 + i), TH_SYN),
		    V_REWRITTEN);
		first[i] = dst_server();
	}
	for (round = 0; round < 10; round++)
		for (i = 0; i < 5; i++) {
			p = (uint16_t)(40000 + (i * 3 + round) % 5);
			ck_assert_int_eq(rig_c2v(p, round == 0 ? TH_SYN :
			    TH_ACK | TH_PUSH), V_REWRITTEN);
			ck_assert_ptr_eq(dst_server(), first[p - 40000]);
		}
	ck_assert_uint_eq(R.e.ft.count, 5);
	ck_assert_uint_eq(R.conf.pool.svc[0].flows_total, 5);
	ck_assert_uint_eq(R.conf.pool.srv[0].pkts_in, 2 * 11);
	rig_close();
}
END_TEST

/* Replies leave with the VIP and service port as their source. */
START_TEST(test_reply)
{
	struct server	*srv;
	uint16_t	 p;

	rig_open(CONF);
	for (p = 40000; p < 40003; p++) {
		ck_assert_int_eq(rig_c2v(p, TH_SYN), V_REWRITTEN);
		srv = srv_of(p);
		ck_assert_int_eq(rig_s2c(srv, p, TH_SYN | TH_ACK), V_REWRITTEN);
		/* 10.0.1.13 answers from 8080: still VIP:80 to the client. */
		assert_src(VIP, 80);
		ck_assert_uint_eq(srv->pkts_out, 1);
	}
	ck_assert_uint_eq(R.e.st.outbound, 3);
	ck_assert_uint_eq(R.e.st.return_noflow, 0);

	/* Without a flow (loadd restarted, say), still translated. */
	ck_assert_int_eq(rig_s2c(&R.conf.pool.srv[1], 50000, TH_ACK), V_REWRITTEN);
	assert_src(VIP, 80);
	ck_assert_uint_eq(R.e.st.return_noflow, 1);
	/* A server's packet to a client port of another server's flow. */
	ck_assert_int_eq(rig_s2c(&R.conf.pool.srv[0], 40001, TH_ACK), V_REWRITTEN);
	ck_assert_uint_eq(R.e.st.return_noflow, 2);
	ck_assert_uint_eq(rig_flow(40001)->state, FS_SYN_RECV);
	rig_close();
}
END_TEST

/* A segment that is not a SYN and matches no flow goes nowhere. */
START_TEST(test_noflow)
{
	static const uint8_t flags[] = {
		TH_ACK, TH_ACK | TH_PUSH, TH_FIN | TH_ACK, TH_RST,
		TH_SYN | TH_ACK, TH_SYN | TH_RST, 0,
	};
	size_t	 i;

	rig_open(CONF);
	for (i = 0; i < sizeof(flags); i++) {
		ck_assert_int_eq(rig_c2v((uint16_t)(41000 + i), flags[i]), V_DROP);
		assert_unchanged();
		ck_assert_ptr_null(rig_flow((uint16_t)(41000 + i)));
	}
	ck_assert_uint_eq(R.e.st.drop[DROP_NOFLOW], sizeof(flags));
	ck_assert_uint_eq(R.e.st.dropped, sizeof(flags));
	ck_assert_uint_eq(R.e.ft.count, 0);
	ck_assert_uint_eq(R.conf.pool.svc[0].flows_total, 0);
	ck_assert_str_eq(engine_drop_name(DROP_NOFLOW), "no_flow");
	rig_close();
}
END_TEST

/* The VIP on a port or protocol it does not serve. */
START_TEST(test_noservice)
{
	struct tpkt	 t = {
		.family = 4, .proto = PROTO_TCP, .src = CLIENT, .dst = VIP,
		.sport = 40000, .dport = 81, .tcpflags = TH_SYN,
	};

	rig_open(CONF);
	ck_assert_int_eq(rig_run(&t), V_DROP);
	assert_unchanged();
	t.proto = PROTO_UDP;
	t.dport = 80;
	ck_assert_int_eq(rig_run(&t), V_DROP);
	assert_unchanged();
	t.proto = PROTO_ICMP;
	ck_assert_int_eq(rig_run(&t), V_DROP);
	assert_unchanged();
	t.proto = 47;	/* GRE */
	ck_assert_int_eq(rig_run(&t), V_DROP);
	ck_assert_uint_eq(R.e.st.drop[DROP_NOSERVICE], 4);
	ck_assert_uint_eq(R.e.st.dropped, 4);
	ck_assert_uint_eq(R.e.ft.count, 0);
	rig_close();
}
END_TEST

/* What is neither to the VIP nor from a server passes untouched. */
START_TEST(test_unrelated)
{
	struct tpkt	 t = {
		.family = 4, .proto = PROTO_TCP, .src = "203.0.113.5",
		.dst = "198.51.100.9", .sport = 1234, .dport = 80,
		.tcpflags = TH_SYN, .paylen = 5,
	};

	rig_open(CONF);
	ck_assert_int_eq(rig_run(&t), V_ACCEPT);
	assert_unchanged();
	t.proto = PROTO_ICMP;
	ck_assert_int_eq(rig_run(&t), V_ACCEPT);
	assert_unchanged();
	/* From a server, but not from its service port. */
	t.proto = PROTO_TCP;
	t.src = "10.0.1.11";
	t.sport = 22;
	ck_assert_int_eq(rig_run(&t), V_ACCEPT);
	assert_unchanged();
	/* 10.0.1.13 serves on 8080, not 80. */
	t.src = "10.0.1.13";
	t.sport = 80;
	ck_assert_int_eq(rig_run(&t), V_ACCEPT);
	assert_unchanged();
	/* The right port, the wrong protocol. */
	t.src = "10.0.1.11";
	t.proto = PROTO_UDP;
	ck_assert_int_eq(rig_run(&t), V_ACCEPT);
	assert_unchanged();
	/* To a server directly (an administrator's ssh). */
	t.src = CLIENT;
	t.dst = "10.0.1.12";
	t.proto = PROTO_TCP;
	t.sport = 50000;
	t.dport = 22;
	ck_assert_int_eq(rig_run(&t), V_ACCEPT);
	assert_unchanged();
	ck_assert_uint_eq(R.e.st.passed, 6);
	ck_assert_uint_eq(R.e.st.rewritten, 0);
	ck_assert_uint_eq(R.e.st.dropped, 0);
	ck_assert_uint_eq(R.e.ft.count, 0);
	rig_close();
}
END_TEST

/* Bad packets are dropped and counted by their parse error. */
START_TEST(test_garbage)
{
	/* A SYN of 50 bytes, cut to len bytes and with one byte set. */
	static const struct {
		unsigned	 len;
		int		 off;		/* byte to set, or -1 */
		uint8_t		 val;
		int		 err;
	} bad[] = {
		{ 0, -1, 0, PKT_ETRUNC },
		{ 19, -1, 0, PKT_ETRUNC },
		{ 50, 0, 0x55, PKT_EVERSION },
		{ 50, 0, 0x05, PKT_EVERSION },
		{ 50, 0, 0x44, PKT_EHDRLEN },
		{ 49, -1, 0, PKT_ETOTLEN },
		{ 50, 3, 10, PKT_ETOTLEN },
		{ 50, 32, 0x30, PKT_EL4 },
		{ 50, 32, 0xf0, PKT_EL4 },
	};
	unsigned	 i;
	int		 err;

	rig_open(CONF);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rig_c2v(40000, TH_SYN);
		ck_assert_uint_eq(R.len, 50);
		memcpy(R.buf, R.orig, R.len);
		if (bad[i].off >= 0)
			R.buf[bad[i].off] = bad[i].val;
		memcpy(R.orig, R.buf, R.len);
		memset(&R.pb, 0, sizeof(R.pb));
		R.pb.data = R.buf;
		R.pb.len = bad[i].len;
		engine_process(&R.e, &R.pb, R.now);
		ck_assert_msg(R.pb.verdict == V_DROP, "case %u: verdict %u", i,
		    R.pb.verdict);
		assert_unchanged();
		err = bad[i].err;
		ck_assert_msg(R.e.st.drop[DROP_PARSE + err] > 0, "case %u: no "
		    "%s drop", i, engine_drop_name(DROP_PARSE + err));
	}
	ck_assert_uint_eq(R.e.st.drop[DROP_PARSE + PKT_ETRUNC], 2);
	ck_assert_uint_eq(R.e.st.drop[DROP_PARSE + PKT_EVERSION], 2);
	ck_assert_uint_eq(R.e.st.drop[DROP_PARSE + PKT_EHDRLEN], 1);
	ck_assert_uint_eq(R.e.st.drop[DROP_PARSE + PKT_ETOTLEN], 2);
	ck_assert_uint_eq(R.e.st.drop[DROP_PARSE + PKT_EL4], 2);
	/* The SYNs before each case were rewritten. */
	ck_assert_uint_eq(R.e.st.dropped, 9);

	/* What the capture layer could not give in full. */
	rig_c2v(40001, TH_SYN);
	memcpy(R.buf, R.orig, R.len);
	memset(&R.pb, 0, sizeof(R.pb));
	R.pb.data = R.buf;
	R.pb.len = (uint32_t)R.len;
	R.pb.flags = PB_TRUNCATED;
	engine_process(&R.e, &R.pb, R.now);
	ck_assert_int_eq(R.pb.verdict, V_DROP);
	ck_assert_uint_eq(R.e.st.drop[DROP_TRUNCATED], 1);
	rig_close();
}
END_TEST

START_TEST(test_drop_names)
{
	int	 r;

	for (r = 0; r < DROP_NREASONS; r++)
		ck_assert_str_ne(engine_drop_name(r), "?");
	ck_assert_str_eq(engine_drop_name(DROP_PARSE + PKT_EL4),
	    "bad_transport_header");
	ck_assert_str_eq(engine_drop_name(DROP_TABLEFULL), "table_full");
	ck_assert_str_eq(engine_drop_name(-1), "?");
	ck_assert_str_eq(engine_drop_name(DROP_NREASONS), "?");
}
END_TEST

/* Fragments of balanced traffic cannot be rewritten in part: dropped. */
START_TEST(test_fragments)
{
	struct tpkt	 t = {
		.family = 4, .proto = PROTO_TCP, .src = CLIENT, .dst = VIP,
		.sport = 40000, .dport = 80, .tcpflags = TH_SYN, .paylen = 64,
		.frag = 0x2000,
	};

	rig_open(CONF);
	ck_assert_int_eq(rig_run(&t), V_DROP);		/* first */
	assert_unchanged();
	t.frag = 0x0008;
	ck_assert_int_eq(rig_run(&t), V_DROP);		/* later */
	assert_unchanged();
	/* A server's reply in fragments. */
	t.src = "10.0.1.11";
	t.dst = CLIENT;
	t.sport = 80;
	t.dport = 40000;
	t.frag = 0x2000;
	ck_assert_int_eq(rig_run(&t), V_DROP);
	assert_unchanged();
	ck_assert_uint_eq(R.e.st.drop[DROP_FRAGMENT], 3);
	ck_assert_uint_eq(R.e.ft.count, 0);
	/* Someone else's fragments are someone else's business. */
	t.src = "203.0.113.5";
	ck_assert_int_eq(rig_run(&t), V_ACCEPT);
	t.frag = 0x0010;
	ck_assert_int_eq(rig_run(&t), V_ACCEPT);
	ck_assert_uint_eq(R.e.st.passed, 2);
	rig_close();
}
END_TEST

START_TEST(test_tcp_states)
{
	struct server	*srv;
	struct flow	*f;

	rig_open(CONF);
	ck_assert_int_eq(rig_c2v(40000, TH_SYN), V_REWRITTEN);
	f = rig_flow(40000);
	srv = srv_of(40000);
	ck_assert_uint_eq(f->state, FS_SYN_SENT);
	ck_assert_uint_eq(f->cls, FC_HALFOPEN);
	/* A retransmitted SYN changes nothing. */
	ck_assert_int_eq(rig_c2v(40000, TH_SYN), V_REWRITTEN);
	ck_assert_uint_eq(f->state, FS_SYN_SENT);
	ck_assert_int_eq(rig_s2c(srv, 40000, TH_SYN | TH_ACK), V_REWRITTEN);
	ck_assert_uint_eq(f->state, FS_SYN_RECV);
	ck_assert_int_eq(rig_c2v(40000, TH_ACK), V_REWRITTEN);
	ck_assert_uint_eq(f->state, FS_ESTABLISHED);
	ck_assert_uint_eq(f->cls, FC_ESTABLISHED);
	ck_assert_int_eq(rig_c2v(40000, TH_ACK | TH_PUSH), V_REWRITTEN);
	ck_assert_int_eq(rig_s2c(srv, 40000, TH_ACK | TH_PUSH), V_REWRITTEN);
	ck_assert_uint_eq(f->state, FS_ESTABLISHED);
	ck_assert_int_eq(rig_c2v(40000, TH_FIN | TH_ACK), V_REWRITTEN);
	ck_assert_uint_eq(f->state, FS_FIN_WAIT);
	ck_assert_uint_eq(f->cls, FC_CLOSING);
	ck_assert_int_eq(rig_s2c(srv, 40000, TH_FIN | TH_ACK), V_REWRITTEN);
	ck_assert_uint_eq(f->state, FS_TIME_WAIT);
	ck_assert_int_eq(rig_c2v(40000, TH_ACK), V_REWRITTEN);
	ck_assert_uint_eq(f->state, FS_TIME_WAIT);

	/* The server closes first. */
	establish(40001);
	f = rig_flow(40001);
	ck_assert_int_eq(rig_s2c(srv_of(40001), 40001, TH_FIN | TH_ACK),
	    V_REWRITTEN);
	ck_assert_uint_eq(f->state, FS_FIN_WAIT);
	ck_assert_int_eq(rig_c2v(40001, TH_FIN | TH_ACK), V_REWRITTEN);
	ck_assert_uint_eq(f->state, FS_TIME_WAIT);

	/* A reset from either side. */
	establish(40002);
	ck_assert_int_eq(rig_c2v(40002, TH_RST), V_REWRITTEN);
	ck_assert_uint_eq(rig_flow(40002)->state, FS_CLOSE);
	establish(40003);
	ck_assert_int_eq(rig_s2c(srv_of(40003), 40003, TH_RST | TH_ACK),
	    V_REWRITTEN);
	ck_assert_uint_eq(rig_flow(40003)->state, FS_CLOSE);
	ck_assert_uint_eq(rig_flow(40003)->cls, FC_CLOSING);
	/* A reset does not take the mapping away at once. */
	ck_assert_int_eq(rig_c2v(40003, TH_ACK), V_REWRITTEN);
	rig_close();
}
END_TEST

/* A client reusing its port after a close gets a new decision. */
START_TEST(test_port_reuse)
{
	struct server	*old, *neu;
	uint16_t	 p;

	rig_open(CONF);
	for (p = 40000; p < 40002; p++) {
		establish(p);
		old = srv_of(p);
		if (p == 40000) {
			rig_c2v(p, TH_FIN | TH_ACK);
			rig_s2c(old, p, TH_FIN | TH_ACK);
			ck_assert_uint_eq(rig_flow(p)->state, FS_TIME_WAIT);
		} else {
			rig_c2v(p, TH_RST);
			ck_assert_uint_eq(rig_flow(p)->state, FS_CLOSE);
		}
		/* Closing is no load: the least-* methods count it out. */
		ck_assert_uint_eq(old->flows_active, 0);
		ck_assert_int_eq(rig_c2v(p, TH_SYN), V_REWRITTEN);
		neu = srv_of(p);
		ck_assert_ptr_eq(dst_server(), neu);
		ck_assert_ptr_ne(neu, old);
		ck_assert_uint_eq(rig_flow(p)->state, FS_SYN_SENT);
		ck_assert_uint_eq(old->flows_active, 0);
		ck_assert_uint_eq(neu->flows_active, 1);
	}
	ck_assert_uint_eq(R.conf.pool.svc[0].flows_total, 4);
	ck_assert_uint_eq(R.e.st.dropped, 0);

	/* A SYN in the middle of a live connection is no new decision. */
	establish(40005);
	old = srv_of(40005);
	ck_assert_int_eq(rig_c2v(40005, TH_SYN), V_REWRITTEN);
	ck_assert_ptr_eq(srv_of(40005), old);
	ck_assert_uint_eq(rig_flow(40005)->state, FS_ESTABLISHED);
	rig_close();
}
END_TEST

START_TEST(test_flows_expire)
{
	unsigned	 i;
	uint16_t	 p;

	rig_open(CONF);
	for (p = 40000; p < 40006; p++)
		establish(p);
	for (p = 40006; p < 40009; p++)
		ck_assert_int_eq(rig_c2v(p, TH_SYN), V_REWRITTEN);
	for (i = 0; i < 3; i++)
		ck_assert_uint_eq(R.conf.pool.srv[i].flows_active, 3);
	/* Not yet: the half-open flows have 240 s, the others 7440 s. */
	engine_tick(&R.e, R.now + 200);
	ck_assert_uint_eq(R.e.ft.count, 9);
	/* Past the half-open timeout only. */
	engine_tick(&R.e, R.now + 300);
	ck_assert_uint_eq(R.e.ft.count, 6);
	for (i = 0; i < 3; i++)
		ck_assert_uint_eq(R.conf.pool.srv[i].flows_active, 2);
	engine_tick(&R.e, R.now + 100000);
	ck_assert_uint_eq(R.e.ft.count, 0);
	for (i = 0; i < 3; i++) {
		ck_assert_uint_eq(R.conf.pool.srv[i].flows_active, 0);
		ck_assert_uint_eq(R.conf.pool.srv[i].flows_total, 3);
	}
	ck_assert_uint_eq(R.e.ft.st.expired, 9);
	/* The engine's clock moved on: a late packet has no flow. */
	ck_assert_int_eq(rig_c2v(40000, TH_ACK), V_DROP);
	ck_assert_uint_eq(R.e.st.drop[DROP_NOFLOW], 1);
	rig_close();
}
END_TEST

/* Busy flows live on, however long they last. */
START_TEST(test_busy_flow_lives)
{
	unsigned	 i;

	rig_open(CONF);
	establish(40000);
	for (i = 0; i < 1000; i++) {
		R.now += 60;
		ck_assert_int_eq(rig_c2v(40000, TH_ACK), V_REWRITTEN);
		engine_tick(&R.e, R.now);
	}
	ck_assert_uint_eq(R.e.ft.count, 1);
	ck_assert_uint_eq(R.e.ft.st.expired, 0);
	rig_close();
}
END_TEST

/*
 * A server that is down, draining or of weight 0 gets no new flows;
 * flows it already has go on in both directions.
 */
static const uint8_t unusable[][2] = {
	{ SRV_DOWN, 1 }, { SRV_DRAINING, 1 }, { SRV_DISABLED, 1 },
	{ SRV_UP, 0 },
};

START_TEST(test_server_unusable)
{
	struct server	*s1;
	unsigned	 i;
	uint16_t	 p;

	rig_open(CONF);
	for (p = 40000; p < 40003; p++)
		establish(p);
	s1 = &R.conf.pool.srv[1];
	ck_assert_ptr_eq(srv_of(40001), s1);
	s1->state = unusable[_i][0];
	s1->weight = unusable[_i][1];
	for (i = 0; i < 8; i++) {
		ck_assert_int_eq(rig_c2v((uint16_t)(41000 + i), TH_SYN),
		    V_REWRITTEN);
		ck_assert_ptr_ne(dst_server(), s1);
	}
	ck_assert_uint_eq(R.conf.pool.srv[0].flows_active, 1 + 4);
	ck_assert_uint_eq(R.conf.pool.srv[2].flows_active, 1 + 4);
	ck_assert_uint_eq(s1->flows_active, 1);
	ck_assert_int_eq(rig_c2v(40001, TH_ACK | TH_PUSH), V_REWRITTEN);
	ck_assert_ptr_eq(dst_server(), s1);
	ck_assert_int_eq(rig_s2c(s1, 40001, TH_ACK), V_REWRITTEN);
	assert_src(VIP, 80);
	ck_assert_uint_eq(R.e.st.return_noflow, 0);
	rig_close();
}
END_TEST

START_TEST(test_no_server)
{
	unsigned	 i;

	rig_open(CONF);
	establish(40000);
	for (i = 0; i < 3; i++) {
		R.conf.pool.srv[i].state = unusable[_i][0];
		R.conf.pool.srv[i].weight = unusable[_i][1];
	}
	ck_assert_int_eq(rig_c2v(40001, TH_SYN), V_DROP);
	assert_unchanged();
	ck_assert_uint_eq(R.e.st.drop[DROP_NOSERVER], 1);
	ck_assert_uint_eq(R.conf.pool.svc[0].drops[DROP_NOSERVER], 1);
	ck_assert_ptr_null(rig_flow(40001));
	/* The established flow is not affected. */
	ck_assert_int_eq(rig_c2v(40000, TH_ACK), V_REWRITTEN);
	/* One server back: new flows go to it. */
	R.conf.pool.srv[2].state = SRV_UP;
	R.conf.pool.srv[2].weight = 1;
	ck_assert_int_eq(rig_c2v(40001, TH_SYN), V_REWRITTEN);
	ck_assert_ptr_eq(dst_server(), &R.conf.pool.srv[2]);
	rig_close();
}
END_TEST

START_TEST(test_table_full)
{
	uint16_t	 p;

	rig_open(CONF "maxflows = 4\n");
	for (p = 40000; p < 40004; p++)
		establish(p);
	ck_assert_int_eq(rig_c2v(40004, TH_SYN), V_DROP);
	assert_unchanged();
	ck_assert_uint_eq(R.e.st.drop[DROP_TABLEFULL], 1);
	ck_assert_uint_eq(R.e.ft.st.full, 1);
	ck_assert_uint_eq(R.conf.pool.srv[0].flows_active +
	    R.conf.pool.srv[1].flows_active + R.conf.pool.srv[2].flows_active,
	    4);
	for (p = 40000; p < 40004; p++)
		ck_assert_int_eq(rig_c2v(p, TH_ACK), V_REWRITTEN);
	rig_close();
}
END_TEST

/* Full of half-open flows (a SYN flood): the oldest makes room. */
START_TEST(test_table_full_evicts)
{
	struct server	*oldest;
	uint16_t	 p;

	rig_open(CONF "maxflows = 4\n");
	for (p = 40000; p < 40004; p++) {
		ck_assert_int_eq(rig_c2v(p, TH_SYN), V_REWRITTEN);
		R.now++;
	}
	oldest = srv_of(40000);
	ck_assert_uint_eq(oldest->flows_active, 2);
	ck_assert_int_eq(rig_c2v(40004, TH_SYN), V_REWRITTEN);
	ck_assert_ptr_null(rig_flow(40000));
	ck_assert_uint_eq(R.e.ft.st.evicted, 1);
	ck_assert_uint_eq(R.conf.pool.srv[0].flows_active +
	    R.conf.pool.srv[1].flows_active + R.conf.pool.srv[2].flows_active,
	    4);
	ck_assert_int_eq(rig_c2v(40000, TH_ACK), V_DROP);
	ck_assert_uint_eq(R.e.st.drop[DROP_NOFLOW], 1);
	rig_close();
}
END_TEST

/* Sends one UDP datagram from 10.9.(n/250).(n%250+1):port to VIP:53. */
static int
udp_from(unsigned n, uint16_t port)
{
	char		 src[32];
	struct tpkt	 t = {
		.family = 4, .proto = PROTO_UDP, .src = src, .dst = VIP,
		.sport = port, .dport = 53, .paylen = 1,
	};

	snprintf(src, sizeof(src), "10.9.%u.%u", n / 250, n % 250 + 1);
	return (rig_run(&t));
}

/*
 * Spoofed UDP (the security review's first way in): 1000 datagrams from
 * 1000 sources nobody answers fill a table of 1000, and yet the next
 * real TCP SYN and UDP datagram get in, each in place of the oldest
 * unreplied entry; nothing is dropped for want of room.
 */
START_TEST(test_udp_spoof_flood)
{
	unsigned	 n;

	rig_open("maxflows = 1000\n"
	    "ipaliasing = 192.0.2.10\nports = 80\n"
	    "servers = 10.0.1.11, 10.0.1.12\n"
	    "service = dns\nipaliasing = 192.0.2.10\nports = 53\n"
	    "protocol = udp\nservers = 10.0.1.11, 10.0.1.12\n");
	for (n = 0; n < 1000; n++)
		ck_assert_int_eq(udp_from(n, 1024), V_REWRITTEN);
	ck_assert_uint_eq(R.e.ft.count, 1000);
	ck_assert_uint_eq(R.e.ft.list[FC_UDP_UNREPLIED].count, 1000);
	ck_assert_int_eq(rig_c2v(40000, TH_SYN), V_REWRITTEN);
	ck_assert_int_eq(udp_from(5000, 1024), V_REWRITTEN);
	ck_assert_uint_eq(R.e.ft.st.evicted, 2);
	ck_assert_uint_eq(R.e.st.drop[DROP_TABLEFULL], 0);
	ck_assert_uint_eq(R.e.ft.st.full, 0);
	/* The oldest spoofed ones went; the newest stay. */
	ck_assert_int_eq(udp_from(999, 1024), V_REWRITTEN);
	ck_assert_uint_eq(R.e.ft.st.evicted, 2);
	rig_close();
}
END_TEST

/* A reply from the flow's server to 10.9.x.y:port. */
static void
udp_reply(unsigned n, uint16_t port)
{
	const struct flow	*f;
	const struct server	*s;
	char			 src[ADDR_STRLEN], dst[32];
	union addr		 a;
	struct tpkt		 t = {
		.family = 4, .proto = PROTO_UDP, .src = src, .dst = dst,
		.sport = 53, .dport = port, .paylen = 1,
	};

	snprintf(dst, sizeof(dst), "10.9.%u.%u", n / 250, n % 250 + 1);
	memset(&a, 0, sizeof(a));
	ck_assert_int_eq(inet_pton(AF_INET, dst, a.b), 1);
	f = flow_lookup(&R.e.ft, flow_hash(&R.e.ft, &a, htons(port), 1),
	    &a, htons(port), 1);
	ck_assert_ptr_nonnull(f);
	s = &R.conf.pool.srv[f->srv];
	addr_ntop(4, &s->addr, src, sizeof(src));
	ck_assert_int_eq(rig_run(&t), V_REWRITTEN);
}

/*
 * Answered UDP flows stay, but one service cannot take another's share:
 * with two services and a table of 100, a service holding more than 50
 * loses its oldest answered flows to the other's newcomers; at 50 each,
 * neither gives way and a newcomer is refused (and counted).
 */
START_TEST(test_udp_share)
{
	unsigned	 n;

	rig_open("maxflows = 100\n"
	    "ipaliasing = 192.0.2.10\nports = 80\n"
	    "servers = 10.0.1.11, 10.0.1.12\n"
	    "service = dns\nipaliasing = 192.0.2.10\nports = 53\n"
	    "protocol = udp\nservers = 10.0.1.11, 10.0.1.12\n");
	for (n = 0; n < 100; n++) {
		ck_assert_int_eq(udp_from(n, 1024), V_REWRITTEN);
		udp_reply(n, 1024);
	}
	ck_assert_uint_eq(R.e.ft.list[FC_UDP].count, 100);
	ck_assert_uint_eq(R.conf.pool.svc[1].flows_active, 100);
	/*
	 * dns holds 100 of 100: the web service's connections get in, each
	 * handshake done before the next SYN (a half-open entry is the first
	 * to go for a newcomer).
	 */
	for (n = 0; n < 50; n++) {
		uint16_t cp = (uint16_t)(40000 + n);

		ck_assert_int_eq(rig_c2v(cp, TH_SYN), V_REWRITTEN);
		ck_assert_int_eq(rig_s2c(&R.conf.pool.srv[rig_flow(cp)->srv],
		    cp, TH_SYN | TH_ACK), V_REWRITTEN);
		ck_assert_int_eq(rig_c2v(cp, TH_ACK), V_REWRITTEN);
	}
	ck_assert_uint_eq(R.e.ft.st.evicted, 50);
	ck_assert_uint_eq(R.conf.pool.svc[1].flows_active, 50);
	ck_assert_uint_eq(R.e.ft.list[FC_ESTABLISHED].count, 50);
	ck_assert_int_eq(udp_from(900, 1024), V_DROP);
	ck_assert_uint_eq(R.e.st.drop[DROP_TABLEFULL], 1);
	ck_assert_uint_eq(R.e.ft.st.evicted, 50);
	rig_close();
}
END_TEST

START_TEST(test_udp)
{
	struct tpkt	 t = {
		.family = 4, .proto = PROTO_UDP, .src = CLIENT, .dst = VIP,
		.sport = 5000, .dport = 53, .paylen = 40,
	};
	const struct server	*s;
	struct server		*srv;
	char			 a[ADDR_STRLEN];
	unsigned		 i;

	rig_open("ipaliasing = 192.0.2.10\nports = 53\nprotocol = udp\n"
	    "servers = 10.0.1.11, 10.0.1.12\ntimeout_udp = 30\n");
	ck_assert_int_eq(rig_run(&t), V_REWRITTEN);
	s = dst_server();
	ck_assert_ptr_eq(s, &R.conf.pool.srv[0]);
	/* Nobody has answered yet: the first to go if room runs out. */
	ck_assert_uint_eq(rig_flow(5000)->state, FS_UDP_UNREPLIED);
	ck_assert_uint_eq(rig_flow(5000)->cls, FC_UDP_UNREPLIED);
	for (i = 0; i < 5; i++) {
		ck_assert_int_eq(rig_run(&t), V_REWRITTEN);
		ck_assert_ptr_eq(dst_server(), s);
	}
	/* The reply. */
	srv = &R.conf.pool.srv[0];
	t.src = addr_ntop(4, &srv->addr, a, sizeof(a));
	t.dst = CLIENT;
	t.sport = 53;
	t.dport = 5000;
	ck_assert_int_eq(rig_run(&t), V_REWRITTEN);
	assert_src(VIP, 53);
	ck_assert_uint_eq(rig_flow(5000)->state, FS_UDP);
	ck_assert_uint_eq(rig_flow(5000)->cls, FC_UDP);
	/* TCP to the UDP service's port is no service. */
	ck_assert_int_eq(rig_c2v(40000, TH_SYN), V_DROP);
	ck_assert_uint_eq(R.e.st.drop[DROP_NOSERVICE], 1);
	/* A reply keeps the flow alive; silence ends it. */
	R.now += 20;
	ck_assert_int_eq(rig_run(&t), V_REWRITTEN);
	engine_tick(&R.e, R.now + 25);
	ck_assert_ptr_nonnull(rig_flow(5000));
	engine_tick(&R.e, R.now + 40);
	ck_assert_ptr_null(rig_flow(5000));
	ck_assert_uint_eq(srv->flows_active, 0);
	rig_close();
}
END_TEST

START_TEST(test_ipv6)
{
	static const uint8_t ext[] = { 0, 60 }, frag[] = { 44 };
	struct tpkt	 t = {
		.family = 6, .proto = PROTO_TCP, .src = "2001:db8:ffff::7",
		.dst = "2001:db8::10", .sport = 40000, .dport = 443,
		.tcpflags = TH_SYN, .paylen = 17,
	};
	uint8_t		 want[16];
	char		 why[128];
	unsigned	 i;

	rig_open("ipaliasing = 2001:db8::10\nports = 443\n"
	    "servers = 2001:db8:1::11, [2001:db8:1::12]:8443\n");
	for (i = 0; i < 4; i++) {
		if (i >= 2) {
			t.ext = ext;
			t.next = 2;
		}
		t.sport = (uint16_t)(40000 + i);
		ck_assert_int_eq(rig_run(&t), V_REWRITTEN);
		inet_pton(AF_INET6, i % 2 ? "2001:db8:1::12" :
		    "2001:db8:1::11", want);
		ck_assert_mem_eq(R.buf + 24, want, 16);
		ck_assert_uint_eq(get_be16(R.buf + 40 + 8 * t.next + 2),
		    i % 2 ? 8443 : 443);
		ck_assert_mem_eq(R.buf + 8, R.orig + 8, 16);
		ck_assert_msg(ref_cksums_ok(R.buf, (unsigned)R.len, why,
		    sizeof(why)), "%s", why);
	}
	/* The reply from the translated port. */
	t.src = "2001:db8:1::12";
	t.dst = "2001:db8:ffff::7";
	t.sport = 8443;
	t.dport = 40003;
	t.tcpflags = TH_SYN | TH_ACK;
	ck_assert_int_eq(rig_run(&t), V_REWRITTEN);
	inet_pton(AF_INET6, "2001:db8::10", want);
	ck_assert_mem_eq(R.buf + 8, want, 16);
	ck_assert_uint_eq(get_be16(R.buf + 40 + 8 * t.next), 443);
	ck_assert_msg(ref_cksums_ok(R.buf, (unsigned)R.len, why, sizeof(why)),
	    "%s", why);
	ck_assert_uint_eq(R.e.st.return_noflow, 0);
	/* IPv6 fragments of balanced traffic are dropped too. */
	t.ext = frag;
	t.next = 1;
	t.src = "2001:db8:ffff::7";
	t.dst = "2001:db8::10";
	t.sport = 40009;
	t.dport = 443;
	t.tcpflags = TH_SYN;
	t.fragoff = 0x0001;
	ck_assert_int_eq(rig_run(&t), V_DROP);
	t.fragoff = 0x0100;
	ck_assert_int_eq(rig_run(&t), V_DROP);
	ck_assert_uint_eq(R.e.st.drop[DROP_FRAGMENT], 2);
	rig_close();
}
END_TEST

/* Counters the operator reads: packets and bytes, both ways. */
START_TEST(test_counters)
{
	struct server	*srv;
	uint64_t	 bytes;

	rig_open(CONF);
	establish(40000);
	srv = srv_of(40000);
	bytes = R.e.st.bytes;
	ck_assert_uint_eq(R.e.st.pkts, 3);
	ck_assert_uint_eq(bytes, 2 * (40 + 10) + (40 + 21));
	ck_assert_uint_eq(srv->pkts_in, 2);
	ck_assert_uint_eq(srv->pkts_out, 1);
	ck_assert_uint_eq(srv->bytes_in, 2 * 50);
	ck_assert_uint_eq(srv->bytes_out, 61);
	ck_assert_uint_eq(R.conf.pool.svc[0].pkts_in, 2);
	ck_assert_uint_eq(R.conf.pool.svc[0].pkts_out, 1);
	rig_close();
}
END_TEST

/* The flow table's clock never runs backwards. */
START_TEST(test_clock_backwards)
{
	rig_open(CONF);
	R.now = 5000;
	establish(40000);
	R.now = 4000;
	ck_assert_int_eq(rig_c2v(40000, TH_ACK), V_REWRITTEN);
	ck_assert_uint_eq(rig_flow(40000)->last, 5000);
	ck_assert_uint_eq(R.e.now, 5000);
	rig_close();
}
END_TEST

/*
 * The clock is any 32-bit count of seconds: replay passes capture
 * times.  The engine starts at 0 and only moves forward by a signed
 * 32-bit comparison, so a first time at or past 2^31 (a capture from
 * 2038-01-19 on) must still move it, or no flow would ever expire.
 */
START_TEST(test_clock_late_start)
{
	rig_open(CONF);
	R.now = 2200000000u;	/* 2039-09-20 */
	ck_assert_int_eq(rig_c2v(40000, TH_SYN), V_REWRITTEN);
	ck_assert_uint_eq(R.e.now, R.now);
	engine_tick(&R.e, R.now + 100000);
	ck_assert_msg(R.e.ft.count == 0, "a flow idle for 100000 s is still "
	    "in the table");
	ck_assert_uint_eq(R.conf.pool.srv[0].flows_active, 0);
	rig_close();
}
END_TEST

/*
 * The largest IPv6 datagram a capture can hold, 65536 bytes (payload
 * length 65496), here an ICMPv6 error about a balanced flow, as a replay
 * of a crafted capture would hand it over.  Whatever the verdict, the
 * engine must not read past the 65536 bytes it was given.
 */
START_TEST(test_huge_ipv6_datagram)
{
	uint8_t		*ip;
	size_t		 len = 65536;
	struct tpkt	 t = {
		.family = 6, .proto = PROTO_TCP, .src = "2001:db8:ffff::7",
		.dst = "2001:db8::10", .sport = 40000, .dport = 443,
		.tcpflags = TH_SYN,
	};

	rig_open("ipaliasing = 2001:db8::10\nports = 443\n"
	    "servers = 2001:db8:1::11\n");
	ck_assert_int_eq(rig_run(&t), V_REWRITTEN);
	ip = calloc(1, len);
	ck_assert_ptr_nonnull(ip);
	/* Outer header: a router on the client's side to the VIP. */
	ip[0] = 0x60;
	put_be16(ip + 4, (uint16_t)(len - 40));
	ip[6] = PROTO_ICMPV6;
	ip[7] = 64;
	inet_pton(AF_INET6, "2001:db8:ffff::1", ip + 8);
	inet_pton(AF_INET6, "2001:db8::10", ip + 24);
	ip[40] = 1;		/* destination unreachable */
	ip[41] = 4;		/* port unreachable */
	/* The quote: the server's SYN+ACK as it left loadd. */
	ip[48] = 0x60;
	put_be16(ip + 48 + 4, 20);
	ip[48 + 6] = PROTO_TCP;
	ip[48 + 7] = 64;
	inet_pton(AF_INET6, "2001:db8::10", ip + 48 + 8);
	inet_pton(AF_INET6, "2001:db8:ffff::7", ip + 48 + 24);
	put_be16(ip + 88, 443);
	put_be16(ip + 88 + 2, 40000);
	ip[88 + 12] = 5 << 4;
	ip[88 + 13] = TH_SYN | TH_ACK;
	put_be16(ip + 42, ref_l4_cksum(ip, 40, (unsigned)len, PROTO_ICMPV6));

	memset(&R.pb, 0, sizeof(R.pb));
	R.pb.data = ip;
	R.pb.len = (uint32_t)len;
	engine_process(&R.e, &R.pb, R.now);
	ck_assert_uint_eq(R.e.st.pkts, 2);
	if (R.pb.verdict == V_REWRITTEN) {
		/* Translated: to the server, checksum and all. */
		char		 why[128];
		uint8_t		 a[16];

		inet_pton(AF_INET6, "2001:db8:1::11", a);
		ck_assert_mem_eq(ip + 24, a, 16);
		ck_assert_msg(ref_cksums_ok(ip, (unsigned)len, why,
		    sizeof(why)), "%s", why);
	} else
		ck_assert_int_eq(R.pb.verdict, V_DROP);
	free(ip);
	rig_close();
}
END_TEST

/*
 * offload = yes: a new flow's packet goes back untouched with its
 * server's mark (the kernel's DNAT rule for the mark rewrites it);
 * conntrack's events give the entry's id and then end the flow, with
 * the connection's counters.
 */
static void
ct_event(struct ct_end *ce, uint16_t cport, uint32_t ctid, int destroyed)
{
	memset(ce, 0, sizeof(*ce));
	ce->family = 4;
	ce->proto = PROTO_TCP;
	inet_pton(AF_INET, CLIENT, ce->client.b);
	inet_pton(AF_INET, VIP, ce->vip.b);
	ce->cport = htons(cport);
	ce->vport = htons(80);
	ce->ctid = ctid;
	ce->destroyed = destroyed;
}

/* A SYN from cport with sequence number seq. */
static int
syn_seq(uint16_t cport, uint32_t seq)
{
	struct tpkt	 t = {
		.family = 4, .proto = PROTO_TCP, .src = CLIENT, .dst = VIP,
		.sport = cport, .dport = 80, .tcpflags = TH_SYN,
	};

	R.len = tpkt_build(R.buf, sizeof(R.buf), &t);
	ck_assert_uint_ne(R.len, 0);
	R.buf[24] = (uint8_t)(seq >> 24);
	R.buf[25] = (uint8_t)(seq >> 16);
	R.buf[26] = (uint8_t)(seq >> 8);
	R.buf[27] = (uint8_t)seq;
	tpkt_set_cksums(R.buf, 20, (unsigned)R.len, PROTO_TCP);
	memcpy(R.orig, R.buf, R.len);
	memset(&R.pb, 0, sizeof(R.pb));
	R.pb.data = R.buf;
	R.pb.len = (uint32_t)R.len;
	engine_process(&R.e, &R.pb, R.now);
	return (R.pb.verdict);
}

START_TEST(test_offload)
{
	struct ct_end	 ce;
	struct server	*s1, *s2;
	struct flow	*f;

	rig_open("offload = yes\n" CONF "balancingmode = leastconn\n");
	R.e.offload = R.conf.offload;	/* as loadd does */
	ck_assert_int_eq(syn_seq(1000, 5000), V_ACCEPT);
	assert_unchanged();
	f = rig_flow(1000);
	ck_assert_ptr_nonnull(f);
	/* Until conntrack confirms it: pending, with the transitory timeout. */
	ck_assert_uint_eq(f->state, FS_OFFLOAD_PENDING);
	ck_assert_uint_eq(f->cls, FC_HALFOPEN);
	s1 = srv_of(1000);
	ck_assert_uint_eq(R.pb.mark, s1->mark);
	ck_assert_uint_eq(R.pb.mark & OFFLOAD_MARK_MASK, OFFLOAD_MARK_TAG);
	ck_assert_uint_eq(s1->flows_active, 1);
	/* The same SYN again (sent before the first got through). */
	ck_assert_int_eq(syn_seq(1000, 5000), V_ACCEPT);
	ck_assert_uint_eq(R.pb.mark, s1->mark);
	ck_assert_uint_eq(s1->flows_active, 1);
	ck_assert_uint_eq(R.e.st.offloaded, 1);
	/* Least connections: the next one elsewhere, with its own mark. */
	ck_assert_int_eq(syn_seq(1001, 7000), V_ACCEPT);
	s2 = srv_of(1001);
	ck_assert_ptr_ne(s1, s2);
	ck_assert_uint_eq(R.pb.mark, s2->mark);
	ck_assert_uint_ne(s1->mark, s2->mark);
	/* No byte counted yet: conntrack counts them. */
	ck_assert_uint_eq(s1->pkts_in, 0);

	/* The entry's id, then its end; another id is another entry's. */
	ct_event(&ce, 1000, 77, 0);
	ce.mark = s2->mark;	/* another server's: not this flow's entry */
	ck_assert_int_eq(engine_offload_event(&R.e, &ce, R.now), 1);
	ck_assert_uint_eq(rig_flow(1000)->sseq, 0);
	ck_assert_uint_eq(rig_flow(1000)->state, FS_OFFLOAD_PENDING);
	ce.mark = s1->mark;
	ck_assert_int_eq(engine_offload_event(&R.e, &ce, R.now), 1);
	ck_assert_uint_eq(rig_flow(1000)->sseq, 77);
	ck_assert_uint_eq(rig_flow(1000)->state, FS_OFFLOADED);
	ck_assert_uint_eq(rig_flow(1000)->cls, FC_OFFLOADED);
	ct_event(&ce, 1000, 76, 1);
	ck_assert_int_eq(engine_offload_event(&R.e, &ce, R.now), 0);
	ck_assert_ptr_nonnull(rig_flow(1000));
	ct_event(&ce, 1000, 77, 1);
	ce.pkts[0] = 10;
	ce.bytes[0] = 1000;
	ce.pkts[1] = 8;
	ce.bytes[1] = 5000;
	ck_assert_int_eq(engine_offload_event(&R.e, &ce, R.now), 1);
	ck_assert_ptr_null(rig_flow(1000));
	ck_assert_uint_eq(s1->flows_active, 0);
	ck_assert_uint_eq(s1->pkts_in, 10);
	ck_assert_uint_eq(s1->bytes_out, 5000);
	ck_assert_uint_eq(R.e.st.ct_ended, 1);

	/*
	 * A new connection on port 1001 (another ISN: conntrack made a new
	 * entry) is a new decision; the old entry's end, heard late, does
	 * not end it.
	 */
	ct_event(&ce, 1001, 5, 0);
	ce.mark = s2->mark;
	ck_assert_int_eq(engine_offload_event(&R.e, &ce, R.now), 1);
	ck_assert_int_eq(syn_seq(1001, 9000), V_ACCEPT);
	ck_assert_uint_eq(R.e.st.offloaded, 3);
	ck_assert_uint_eq(rig_flow(1001)->sseq, 0);
	ct_event(&ce, 1001, 5, 1);
	ck_assert_int_eq(engine_offload_event(&R.e, &ce, R.now), 0);
	ck_assert_ptr_nonnull(rig_flow(1001));
	ct_event(&ce, 1001, 6, 0);
	ce.mark = srv_of(1001)->mark;
	ck_assert_int_eq(engine_offload_event(&R.e, &ce, R.now), 1);
	ck_assert_uint_eq(rig_flow(1001)->sseq, 6);

	/* A queued mid-stream packet: conntrack lost the flow; not ours. */
	ck_assert_int_eq(syn_seq(1002, 1), V_ACCEPT);
	ck_assert_int_eq(rig_c2v(1002, TH_ACK), V_DROP);
	ck_assert_ptr_null(rig_flow(1002));
	/* Events about other flows are counted and change nothing. */
	ct_event(&ce, 4444, 9, 1);
	ck_assert_int_eq(engine_offload_event(&R.e, &ce, R.now), 0);
	ck_assert_uint_eq(R.e.ft.count, 1);

	/*
	 * After a restart conntrack lists what it carries for loadd: each
	 * entry comes back with the server its mark names, active.
	 */
	ct_event(&ce, 5555, 31, 0);
	ce.mark = s2->mark;
	ck_assert_int_eq(engine_offload_event(&R.e, &ce, R.now), 1);
	ck_assert_ptr_eq(srv_of(5555), s2);
	ck_assert_uint_eq(rig_flow(5555)->state, FS_OFFLOADED);
	ck_assert_uint_eq(rig_flow(5555)->sseq, 31);
	ck_assert_uint_eq(R.e.st.ct_adopted, 1);
	ct_event(&ce, 5556, 32, 0);
	ce.mark = OFFLOAD_MARK_TAG | 1;		/* no server's */
	ck_assert_int_eq(engine_offload_event(&R.e, &ce, R.now), 0);
	ck_assert_ptr_null(rig_flow(5556));
	ct_event(&ce, 5555, 31, 1);
	ck_assert_int_eq(engine_offload_event(&R.e, &ce, R.now), 1);
	ck_assert_ptr_null(rig_flow(5555));
	rig_close();
}
END_TEST

/*
 * Lost events, reconciled: a flow whose end was never heard is swept by
 * a complete dump that does not list it; one the dump lists stays; an
 * incomplete dump sweeps nothing.  A flow whose "new" event never came
 * (the kernel dropped its first packet) expires with the transitory
 * timeout, not after days.
 */
START_TEST(test_offload_sweep)
{
	struct ct_end	 ce;
	struct server	*s1;
	unsigned	 port;

	rig_open("offload = yes\ntimeout_tcp_transitory = 60\n" CONF);
	R.e.offload = R.conf.offload;
	for (port = 2000; port < 2003; port++) {
		ck_assert_int_eq(syn_seq((uint16_t)port, 5000), V_ACCEPT);
		ct_event(&ce, (uint16_t)port, port, 0);
		ce.mark = srv_of((uint16_t)port)->mark;
		ck_assert_int_eq(engine_offload_event(&R.e, &ce, R.now), 1);
		ck_assert_uint_eq(rig_flow((uint16_t)port)->state,
		    FS_OFFLOADED);
	}
	/* An incomplete dump (events lost during it) removes nothing. */
	engine_ct_sweep_begin(&R.e);
	ck_assert_uint_eq(engine_ct_sweep_end(&R.e, 0), 0);
	ck_assert_uint_eq(R.e.ft.count, 3);
	/* A complete one lists 2000 and 2002: 2001's end was lost. */
	engine_ct_sweep_begin(&R.e);
	for (port = 2000; port < 2003; port += 2) {
		ct_event(&ce, (uint16_t)port, port, 0);
		ce.mark = srv_of((uint16_t)port)->mark;
		ck_assert_int_eq(engine_offload_event(&R.e, &ce, R.now), 1);
	}
	s1 = srv_of(2001);
	ck_assert_uint_eq(s1->flows_active, 1);
	ck_assert_uint_eq(engine_ct_sweep_end(&R.e, 1), 1);
	ck_assert_ptr_null(rig_flow(2001));
	ck_assert_uint_eq(s1->flows_active, 0);
	ck_assert_ptr_nonnull(rig_flow(2000));
	ck_assert_ptr_nonnull(rig_flow(2002));
	ck_assert_uint_eq(R.e.st.ct_swept, 1);
	/* The next dump starts afresh: nothing left marked. */
	engine_ct_sweep_begin(&R.e);
	for (port = 2000; port < 2003; port += 2) {
		ct_event(&ce, (uint16_t)port, port, 0);
		ce.mark = srv_of((uint16_t)port)->mark;
		(void)engine_offload_event(&R.e, &ce, R.now);
	}
	ck_assert_uint_eq(engine_ct_sweep_end(&R.e, 1), 0);

	/* A first packet the kernel dropped: no event, gone in 60 s. */
	ck_assert_int_eq(syn_seq(3000, 5000), V_ACCEPT);
	ck_assert_uint_eq(rig_flow(3000)->state, FS_OFFLOAD_PENDING);
	R.now += 61;
	engine_tick(&R.e, R.now);
	ck_assert_ptr_null(rig_flow(3000));
	ck_assert_ptr_nonnull(rig_flow(2000));
	rig_close();
}
END_TEST

/* Marks follow what a server is, not where the file lists it. */
START_TEST(test_offload_marks)
{
	struct config	 a, b, c;
	unsigned	 i, j;

	conf_load_text(&a, "offload = yes\n" CONF);
	conf_load_text(&b, "offload = yes\nipaliasing = 192.0.2.10\n"
	    "ports = 80\nservers = 10.0.1.13:8080, 10.0.1.11, 10.0.1.12\n");
	conf_load_text(&c, "offload = yes\noffload_salt = 1\n" CONF);
	for (i = 0; i < a.pool.nsrv; i++) {
		ck_assert_uint_eq(a.pool.srv[i].mark & OFFLOAD_MARK_MASK,
		    OFFLOAD_MARK_TAG);
		for (j = 0; j < b.pool.nsrv; j++)
			if (strcmp(a.pool.srv[i].name, b.pool.srv[j].name) == 0)
				break;
		ck_assert_uint_lt(j, b.pool.nsrv);
		ck_assert_uint_eq(a.pool.srv[i].mark, b.pool.srv[j].mark);
		ck_assert_uint_ne(a.pool.srv[i].mark, c.pool.srv[i].mark);
		for (j = 0; j < i; j++)
			ck_assert_uint_ne(a.pool.srv[i].mark,
			    a.pool.srv[j].mark);
	}
	config_free(&a);
	config_free(&b);
	config_free(&c);
}
END_TEST

#ifdef LOADD_OFFLOAD
/* conntrack's event messages, as the kernel writes them. */
static struct nlmsghdr *
ct_msg(uint8_t *buf, int type, uint8_t proto, uint32_t mark)
{
	struct nlmsghdr	*nlh;
	struct nfgenmsg	*nfg;
	struct nlattr	*t, *n;
	uint32_t	 a;

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = NFNL_SUBSYS_CTNETLINK << 8 | type;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = AF_INET;
	t = mnl_attr_nest_start(nlh, CTA_TUPLE_ORIG);
	n = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
	inet_pton(AF_INET, CLIENT, &a);
	mnl_attr_put_u32(nlh, CTA_IP_V4_SRC, a);
	inet_pton(AF_INET, VIP, &a);
	mnl_attr_put_u32(nlh, CTA_IP_V4_DST, a);
	mnl_attr_nest_end(nlh, n);
	n = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
	mnl_attr_put_u8(nlh, CTA_PROTO_NUM, proto);
	mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, htons(1000));
	mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, htons(80));
	mnl_attr_nest_end(nlh, n);
	mnl_attr_nest_end(nlh, t);
	n = mnl_attr_nest_start(nlh, CTA_COUNTERS_ORIG);
	mnl_attr_put_u64(nlh, CTA_COUNTERS_PACKETS, htobe64(12));
	mnl_attr_put_u64(nlh, CTA_COUNTERS_BYTES, htobe64(3456));
	mnl_attr_nest_end(nlh, n);
	mnl_attr_put_u32(nlh, CTA_ID, htonl(4242));
	if (mark != 0)
		mnl_attr_put_u32(nlh, CTA_MARK, htonl(mark));
	return (nlh);
}

START_TEST(test_ctev_parse)
{
	uint8_t		 buf[1024];
	struct nlmsghdr	*nlh;
	struct nlattr	*a;
	struct ct_end	 ce;
	size_t		 len, cut;

	nlh = ct_msg(buf, IPCTNL_MSG_CT_DELETE, PROTO_TCP, 0x4c123456);
	ck_assert_int_eq(ctev_parse(nlh, &ce), 1);
	ck_assert_int_eq(ce.destroyed, 1);
	ck_assert_uint_eq(ce.family, 4);
	ck_assert_uint_eq(ce.proto, PROTO_TCP);
	ck_assert_uint_eq(ntohs(ce.cport), 1000);
	ck_assert_uint_eq(ntohs(ce.vport), 80);
	ck_assert_uint_eq(ce.ctid, 4242);
	ck_assert_uint_eq(ce.pkts[0], 12);
	ck_assert_uint_eq(ce.bytes[0], 3456);
	ck_assert_uint_eq(ce.client.b[3], 7);
	nlh = ct_msg(buf, IPCTNL_MSG_CT_NEW, PROTO_TCP, 0x4c123456);
	ck_assert_int_eq(ctev_parse(nlh, &ce), 1);
	ck_assert_int_eq(ce.destroyed, 0);
	/* Not loadd's: other marks, no mark, other message types. */
	nlh = ct_msg(buf, IPCTNL_MSG_CT_DELETE, PROTO_TCP, 0x12345678);
	ck_assert_int_eq(ctev_parse(nlh, &ce), 0);
	nlh = ct_msg(buf, IPCTNL_MSG_CT_DELETE, PROTO_TCP, 0);
	ck_assert_int_eq(ctev_parse(nlh, &ce), 0);
	nlh = ct_msg(buf, IPCTNL_MSG_CT_GET, PROTO_TCP, 0x4c123456);
	ck_assert_int_eq(ctev_parse(nlh, &ce), 0);
	/* loadd's mark on what loadd never balances, or bent: bad. */
	nlh = ct_msg(buf, IPCTNL_MSG_CT_DELETE, PROTO_ICMP, 0x4c123456);
	ck_assert_int_eq(ctev_parse(nlh, &ce), -1);
	nlh = ct_msg(buf, IPCTNL_MSG_CT_DELETE, PROTO_TCP, 0x4c123456);
	a = (struct nlattr *)((uint8_t *)mnl_nlmsg_get_payload(nlh) +
	    MNL_ALIGN(sizeof(struct nfgenmsg)));
	a = (struct nlattr *)((uint8_t *)a + MNL_ATTR_HDRLEN);	/* TUPLE_IP */
	a = (struct nlattr *)((uint8_t *)a + MNL_ATTR_HDRLEN);	/* V4_SRC */
	a->nla_len = MNL_ATTR_HDRLEN + 3;
	ck_assert_int_eq(ctev_parse(nlh, &ce), -1);
	/* A length above 2^31 passes mnl_nlmsg_ok(), not ctev_msg_ok(). */
	nlh = ct_msg(buf, IPCTNL_MSG_CT_DELETE, PROTO_TCP, 0x4c123456);
	ck_assert_int_eq(ctev_msg_ok(nlh, (int)nlh->nlmsg_len), 1);
	nlh->nlmsg_len = 0xfffffff0u;
	ck_assert_int_eq(ctev_msg_ok(nlh, 64), 0);
	/* Cut anywhere: never read past the end. */
	nlh = ct_msg(buf, IPCTNL_MSG_CT_DELETE, PROTO_TCP, 0x4c123456);
	len = nlh->nlmsg_len;
	for (cut = 0; cut < len; cut++) {
		nlh->nlmsg_len = (uint32_t)cut;
		(void)ctev_parse(nlh, &ce);
	}
}
END_TEST
#endif

Suite *
engine_suite(void)
{
	Suite	*s = suite_create("engine");
	TCase	*tc;
	int	 n = (int)(sizeof(unusable) / sizeof(unusable[0]));

	tc = tcase_create("balance");
	tcase_add_test(tc, test_round_robin);
	tcase_add_test(tc, test_flow_sticks);
	tcase_add_test(tc, test_reply);
	tcase_add_loop_test(tc, test_server_unusable, 0, n);
	tcase_add_loop_test(tc, test_no_server, 0, n);
	tcase_add_test(tc, test_udp);
	tcase_add_test(tc, test_udp_spoof_flood);
	tcase_add_test(tc, test_udp_share);
	tcase_add_test(tc, test_ipv6);
	tcase_add_test(tc, test_counters);
	suite_add_tcase(s, tc);

	tc = tcase_create("refuse");
	tcase_add_test(tc, test_noflow);
	tcase_add_test(tc, test_noservice);
	tcase_add_test(tc, test_unrelated);
	tcase_add_test(tc, test_garbage);
	tcase_add_test(tc, test_drop_names);
	tcase_add_test(tc, test_fragments);
	tcase_add_test(tc, test_huge_ipv6_datagram);
	suite_add_tcase(s, tc);

	tc = tcase_create("flows");
	tcase_add_test(tc, test_tcp_states);
	tcase_add_test(tc, test_port_reuse);
	tcase_add_test(tc, test_flows_expire);
	tcase_add_test(tc, test_busy_flow_lives);
	tcase_add_test(tc, test_table_full);
	tcase_add_test(tc, test_table_full_evicts);
	tcase_add_test(tc, test_clock_backwards);
	tcase_add_test(tc, test_clock_late_start);
	suite_add_tcase(s, tc);

	tc = tcase_create("offload");
	tcase_add_test(tc, test_offload);
	tcase_add_test(tc, test_offload_marks);
	tcase_add_test(tc, test_offload_sweep);
#ifdef LOADD_OFFLOAD
	tcase_add_test(tc, test_ctev_parse);
#endif
	suite_add_tcase(s, tc);
	return (s);
}
