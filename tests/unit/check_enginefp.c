/*
 * offload = bpf, the engine's side (engine_fp.c): what it asks of the
 * fast path's map -- the queue of adds and deletes, read as the live loop
 * reads it -- and what it does with the counters the map hands back.  No
 * BPF here: the kernel's side is check_fastpath.c's.
 *
 *	client 198.51.100.7:port  ->  VIP 192.0.2.10:80
 *	                              -> 10.0.1.11:80, 10.0.1.12:80 (round-robin)
 */
#include <arpa/inet.h>

#include <string.h>

#include "config.h"
#include "engine.h"
#include "pkt.h"
#include "reset.h"
#include "rig.h"
#include "srvstate.h"
#include "unit.h"

#define CONF	"ipaliasing = 192.0.2.10\nports = 80\n" \
		"servers = 10.0.1.11, 10.0.1.12:8080\n" \
		"timeout_tcp_established = 100\n"

static struct engine_fpreq *queue(unsigned *);
static struct server *establish(uint16_t);
static void	 handshake(uint16_t);
static void	 event(uint16_t, const struct server *, int, uint8_t,
		    uint32_t);
static void	 counted(uint16_t, uint64_t, uint64_t);
static void	 assert_tuple(const struct engine_fpreq *, uint16_t,
		    const struct server *);

/* The add of the last flow establish() made. */
static struct engine_fpreq	 added;

static struct engine_fpreq *
queue(unsigned *n)
{
	return (engine_fp_queue(&R.e, n));
}

/*
 * What the map's program tells of a segment it carried: from the client
 * (to the server) or from the server, with flags, at e->ms + dms.
 */
static void
event(uint16_t cport, const struct server *srv, int from_client,
    uint8_t flags, uint32_t dms)
{
	struct engine_fpev	 ev;
	uint16_t		 port;

	memset(&ev, 0, sizeof(ev));
	ev.t.family = 4;
	ev.t.proto = PROTO_TCP;
	ck_assert_int_eq(addr_parse(CLIENT, &ev.t.client, &port), 4);
	ck_assert_int_eq(addr_parse(VIP, &ev.t.vip, &port), 4);
	ev.t.server = srv->addr;
	ev.t.cport = cport;
	ev.t.vport = 80;
	ev.t.sport = srv->port;
	ev.from_client = from_client;
	ev.tcpflags = flags;
	ev.ms = R.e.ms + dms;
	engine_fp_event(&R.e, &ev, R.now);
}

/* The poll reads the map's counters of the flow: packets each way. */
static void
counted(uint16_t cport, uint64_t to_server, uint64_t to_client)
{
	struct engine_fpcount	 c;

	memset(&c, 0, sizeof(c));
	c.has = ENGINE_FPC_TO_SERVER | ENGINE_FPC_TO_CLIENT;
	c.pkts[0] = to_server;
	c.pkts[1] = to_client;
	engine_fp_update(&R.e, (uint32_t)(rig_flow(cport) - R.e.ft.f), &c,
	    R.now);
}

/*
 * A connection as loadd sees it with the map: its SYN (which asks the
 * flow into the map at once), the SYN+ACK told by an event, the client's
 * ACK counted by the map; established at the poll.
 */
static struct server *
establish(uint16_t cport)
{
	struct engine_fpreq	*q;
	struct server		*srv;
	unsigned		 n;

	ck_assert_int_eq(rig_c2v(cport, TH_SYN), V_REWRITTEN);
	srv = &R.conf.pool.srv[rig_flow(cport)->srv];
	q = engine_fp_queue_adds(&R.e, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(q[0].op, FPQ_ADD);
	assert_tuple(&q[0], cport, srv);
	added = q[0];
	ck_assert(rig_flow(cport)->seen & FLOW_FAST);
	(void)queue(&n);
	ck_assert_uint_eq(n, 0);
	event(cport, srv, 0, TH_SYN | TH_ACK, 1);
	ck_assert_uint_eq(rig_flow(cport)->state, FS_SYN_RECV);
	counted(cport, 1, 1);
	ck_assert_uint_eq(rig_flow(cport)->state, FS_ESTABLISHED);
	return (srv);
}

/* A whole handshake through loadd (a flow the map refused, say). */
static void
handshake(uint16_t cport)
{
	struct server	*srv;

	ck_assert_int_eq(rig_c2v(cport, TH_SYN), V_REWRITTEN);
	srv = &R.conf.pool.srv[rig_flow(cport)->srv];
	ck_assert_int_eq(rig_s2c(srv, cport, TH_SYN | TH_ACK), V_REWRITTEN);
	ck_assert_int_eq(rig_c2v(cport, TH_ACK), V_REWRITTEN);
}

static void
assert_tuple(const struct engine_fpreq *r, uint16_t cport,
    const struct server *srv)
{
	char	 a[ADDR_STRLEN];

	ck_assert_uint_eq(r->family, 4);
	ck_assert_uint_eq(r->proto, PROTO_TCP);
	ck_assert_str_eq(addr_ntop(4, &r->client, a, sizeof(a)), CLIENT);
	ck_assert_str_eq(addr_ntop(4, &r->vip, a, sizeof(a)), VIP);
	ck_assert_uint_eq(r->cport, cport);
	ck_assert_uint_eq(r->vport, 80);
	ck_assert(addr_eq(&r->server, &srv->addr));
	ck_assert_uint_eq(r->sport, srv->port);
	ck_assert_uint_eq(r->flow, (uint32_t)(rig_flow(cport) - R.e.ft.f));
}

/*
 * Into the map at the SYN, before the verdicts (the adds and what came
 * before them; a later delete waits); the whole connection then told by
 * events: passive health, the answer time, established at the poll, each
 * FIN ending it at once for the least-* methods, out of the map when
 * both are seen.
 */
START_TEST(test_add_at_syn)
{
	struct engine_fpreq	*q;
	struct server		*srv;
	struct flow		*f;
	unsigned		 n;

	rig_open(CONF);
	ck_assert_int_eq(engine_set_fastpath(&R.e, NULL, NULL), 0);
	engine_set_ms(&R.e, 5000);
	ck_assert_int_eq(rig_c2v(40000, TH_SYN), V_REWRITTEN);
	f = rig_flow(40000);
	srv = &R.conf.pool.srv[f->srv];
	ck_assert_uint_ne(srv->syn_pending_ms, 0);
	ck_assert_uint_eq(srv->flows_active, 1);
	q = engine_fp_queue_adds(&R.e, &n);
	ck_assert_uint_eq(n, 1);
	assert_tuple(&q[0], 40000, srv);
	ck_assert_uint_eq(R.e.st.fp_added, 1);
	ck_assert_ptr_null(engine_fp_queue_adds(&R.e, &n));
	ck_assert_uint_eq(n, 0);
	(void)queue(&n);
	ck_assert_uint_eq(n, 0);

	/* The SYN+ACK, 7 ms after the SYN, told by the map. */
	event(40000, srv, 0, TH_SYN | TH_ACK, 7);
	ck_assert_uint_eq(f->state, FS_SYN_RECV);
	ck_assert_uint_eq(srv->synacks, 1);
	ck_assert_uint_eq(srv->syn_pending_ms, 0);
	ck_assert_uint_eq(srv->rtt_us, 7000);
	ck_assert_uint_eq(R.e.st.fp_events, 1);
	/* A SYN retransmitted through the map proves nothing more. */
	event(40000, srv, 1, TH_SYN, 8);
	counted(40000, 1, 1);
	ck_assert_uint_eq(f->state, FS_SYN_RECV);
	counted(40000, 2, 1);		/* and now an ACK */
	ck_assert_uint_eq(f->state, FS_ESTABLISHED);
	ck_assert_uint_eq(srv->synacks, 1);

	/* The server's FIN: no longer a load, at once; still in the map. */
	event(40000, srv, 0, TH_FIN | TH_ACK, 50);
	ck_assert_uint_eq(f->state, FS_FIN_WAIT);
	ck_assert_uint_eq(srv->flows_active, 0);
	ck_assert(f->seen & FLOW_FAST);
	(void)queue(&n);
	ck_assert_uint_eq(n, 0);
	/* The client's: out of the map, TIME_WAIT kept by loadd. */
	event(40000, srv, 1, TH_FIN | TH_ACK, 51);
	ck_assert_uint_eq(f->state, FS_TIME_WAIT);
	ck_assert(!(f->seen & FLOW_FAST));
	ck_assert_uint_eq(srv->flows_active, 0);
	ck_assert_uint_eq(R.e.st.fp_events, 4);
	ck_assert_uint_eq(R.e.st.fp_closed, 0);
	q = queue(&n);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(q[0].op, FPQ_DEL);
	/* The client's port again, later: a new decision by loadd. */
	ck_assert_int_eq(rig_c2v(40000, TH_SYN), V_REWRITTEN);
	ck_assert_ptr_ne(rig_flow(40000), NULL);
	ck_assert_uint_eq(rig_flow(40000)->state, FS_SYN_SENT);
	q = engine_fp_queue_adds(&R.e, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(q[0].op, FPQ_ADD);
	rig_close();
}
END_TEST

/* A refused connection (the server's RST) and a server that is silent. */
START_TEST(test_events_health)
{
	struct engine_fpreq	*q;
	struct server		*srv;
	struct flow		*f;
	unsigned		 n;

	rig_open(CONF);
	ck_assert_int_eq(engine_set_fastpath(&R.e, NULL, NULL), 0);
	engine_set_ms(&R.e, 5000);
	ck_assert_int_eq(rig_c2v(40000, TH_SYN), V_REWRITTEN);
	f = rig_flow(40000);
	srv = &R.conf.pool.srv[f->srv];
	(void)queue(&n);
	event(40000, srv, 0, TH_RST | TH_ACK, 1);
	ck_assert_uint_eq(srv->refused, 1);
	ck_assert_uint_eq(srv->syn_pending_ms, 0);
	ck_assert_uint_eq(f->state, FS_CLOSE);
	ck_assert_uint_eq(srv->flows_active, 0);
	ck_assert(!(f->seen & FLOW_FAST));
	q = queue(&n);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(q[0].op, FPQ_DEL);

	/*
	 * A silent server: its SYN pending from loadd's verdict on; the
	 * client's retransmissions through the map keep it pending (even
	 * after another flow's answer cleared it), nothing clears it.
	 */
	ck_assert_int_eq(rig_c2v(40001, TH_SYN), V_REWRITTEN);
	srv = &R.conf.pool.srv[rig_flow(40001)->srv];
	ck_assert_uint_eq(srv->syn_pending_ms, 5000 | 1);
	srv->syn_pending_ms = 0;
	event(40001, srv, 1, TH_SYN, 1000);
	ck_assert_uint_eq(srv->syn_pending_ms, 6000 | 1);
	event(40001, srv, 1, TH_SYN, 3000);
	ck_assert_uint_eq(srv->syn_pending_ms, 6000 | 1);
	counted(40001, 2, 0);
	ck_assert_uint_eq(rig_flow(40001)->state, FS_SYN_SENT);
	ck_assert_uint_eq(srv->syn_pending_ms, 6000 | 1);
	ck_assert_uint_eq(srv->synacks, 0);
	rig_close();
}
END_TEST

/*
 * The SYN+ACK's event and a retransmitted SYN's, in either order: one
 * answer counted, the flow answered.
 */
START_TEST(test_events_race)
{
	struct server	*srv;
	unsigned	 n, k;
	uint16_t	 port;

	rig_open(CONF);
	ck_assert_int_eq(engine_set_fastpath(&R.e, NULL, NULL), 0);
	engine_set_ms(&R.e, 5000);
	for (k = 0; k < 2; k++) {
		port = (uint16_t)(40000 + k);
		ck_assert_int_eq(rig_c2v(port, TH_SYN), V_REWRITTEN);
		srv = &R.conf.pool.srv[rig_flow(port)->srv];
		(void)queue(&n);
		event(port, srv, k == 0, k == 0 ? TH_SYN : TH_SYN | TH_ACK, 3);
		event(port, srv, k != 0, k != 0 ? TH_SYN : TH_SYN | TH_ACK, 3);
		ck_assert_uint_eq(rig_flow(port)->state, FS_SYN_RECV);
		ck_assert_uint_eq(srv->synacks, 1);
		ck_assert_uint_eq(srv->syn_pending_ms, 0);
		ck_assert_uint_eq(srv->rtt_us, 3000);
		/* The retransmitted SYN is not the client's ACK. */
		counted(port, 1, 1);
		ck_assert_uint_eq(rig_flow(port)->state, FS_SYN_RECV);
		counted(port, 2, 1);
		ck_assert_uint_eq(rig_flow(port)->state, FS_ESTABLISHED);
	}
	rig_close();
}
END_TEST

/*
 * Events about no flow of the table, another server's, or older than the
 * flow (its client port's previous connection): ignored, counted.
 */
START_TEST(test_events_stale)
{
	struct server	*srv, *other;
	unsigned	 n;

	rig_open(CONF);
	ck_assert_int_eq(engine_set_fastpath(&R.e, NULL, NULL), 0);
	engine_set_ms(&R.e, 5000);
	srv = &R.conf.pool.srv[0];
	event(40000, srv, 0, TH_FIN | TH_ACK, 0);
	ck_assert_uint_eq(R.e.st.fp_ev_stale, 1);
	(void)establish(40000);
	srv = &R.conf.pool.srv[rig_flow(40000)->srv];
	other = &R.conf.pool.srv[srv == &R.conf.pool.srv[0] ? 1 : 0];
	event(40000, other, 0, TH_FIN | TH_ACK, 2);
	ck_assert_uint_eq(R.e.st.fp_ev_stale, 2);
	event(40000, srv, 0, TH_RST, (uint32_t)-10);	/* before its SYN */
	ck_assert_uint_eq(R.e.st.fp_ev_stale, 3);
	ck_assert_uint_eq(rig_flow(40000)->state, FS_ESTABLISHED);
	ck_assert_uint_eq(srv->flows_active, 1);
	/* Gone from the table: its late events change nothing. */
	event(40000, srv, 0, TH_RST, 5);
	ck_assert_ptr_nonnull(rig_flow(40000));
	engine_tick(&R.e, R.now + 300);
	ck_assert_ptr_null(rig_flow(40000));
	event(40000, srv, 1, TH_FIN, 6);
	ck_assert_uint_eq(R.e.st.fp_ev_stale, 4);
	(void)queue(&n);
	rig_close();
}
END_TEST

/*
 * Half-open flows piling up (a SYN flood, servers that do not answer):
 * a new TCP flow goes into the map only once loadd saw its handshake.
 */
START_TEST(test_syn_flood)
{
	struct engine_fpreq	*q;
	struct server		*srv;
	unsigned		 n, i;

	rig_open(CONF);
	ck_assert_int_eq(engine_set_fastpath(&R.e, NULL, NULL), 0);
	R.e.fp->synmax = 2;
	for (i = 0; i < 2; i++)
		ck_assert_int_eq(rig_c2v((uint16_t)(40000 + i), TH_SYN),
		    V_REWRITTEN);
	(void)engine_fp_queue_adds(&R.e, &n);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(rig_c2v(40002, TH_SYN), V_REWRITTEN);
	(void)queue(&n);
	ck_assert_uint_eq(n, 0);
	ck_assert(!(rig_flow(40002)->seen & FLOW_FAST));
	ck_assert_uint_eq(R.e.st.fp_synwait, 1);
	/* Its handshake through loadd; in the map once established. */
	srv = &R.conf.pool.srv[rig_flow(40002)->srv];
	ck_assert_int_eq(rig_s2c(srv, 40002, TH_SYN | TH_ACK), V_REWRITTEN);
	(void)queue(&n);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(rig_c2v(40002, TH_ACK), V_REWRITTEN);
	ck_assert_uint_eq(rig_flow(40002)->state, FS_ESTABLISHED);
	q = engine_fp_queue_adds(&R.e, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(q[0].cport, 40002);
	ck_assert(rig_flow(40002)->seen & FLOW_FAST);
	rig_close();
}
END_TEST

/* leastconn: a FIN told by the map frees the server's place at once. */
START_TEST(test_events_leastconn)
{
	struct server	*a, *b;
	unsigned	 n;

	rig_open("ipaliasing = 192.0.2.10\nports = 80\n"
	    "servers = 10.0.1.11, 10.0.1.12\nbalancingmode = leastconn\n");
	ck_assert_int_eq(engine_set_fastpath(&R.e, NULL, NULL), 0);
	a = establish(40000);
	b = establish(40001);
	ck_assert_ptr_ne(a, b);
	ck_assert_uint_eq(a->flows_active, 1);
	(void)queue(&n);
	event(40000, a, 1, TH_FIN | TH_ACK, 10);
	ck_assert_uint_eq(a->flows_active, 0);
	ck_assert_uint_eq(b->flows_active, 1);
	/* The next two connections both go to a. */
	ck_assert_int_eq(rig_c2v(40002, TH_SYN), V_REWRITTEN);
	ck_assert_ptr_eq(&R.conf.pool.srv[rig_flow(40002)->srv], a);
	rig_close();
}
END_TEST

/* A map that is full: the flow stays loadd's, and is not asked again. */
START_TEST(test_refused)
{
	struct engine_fpreq	 r;
	struct engine_fpreq	*q;
	unsigned		 n;

	rig_open(CONF);
	ck_assert_int_eq(engine_set_fastpath(&R.e, NULL, NULL), 0);
	ck_assert_int_eq(rig_c2v(40000, TH_SYN), V_REWRITTEN);
	q = engine_fp_queue_adds(&R.e, &n);
	ck_assert_uint_eq(n, 1);
	r = q[0];
	engine_fp_refused(&R.e, &r);
	ck_assert(!(rig_flow(40000)->seen & FLOW_FAST));
	ck_assert(rig_flow(40000)->seen & FLOW_FPNO);
	ck_assert_uint_eq(R.e.st.fp_refused, 1);
	handshake(40000);
	ck_assert_uint_eq(rig_flow(40000)->state, FS_ESTABLISHED);
	ck_assert_int_eq(rig_c2v(40000, TH_ACK), V_REWRITTEN);
	(void)queue(&n);
	ck_assert_uint_eq(n, 0);
	/* Not in the map: the poll finds no flow for its entries. */
	ck_assert_uint_eq(engine_fp_find(&R.e, &r), FLOW_NIL);
	ck_assert_uint_eq(R.e.st.fp_strays, 1);
	rig_close();
}
END_TEST

/*
 * The poll: counters go to the server and service as increments, the
 * last packet's time to the flow's timer; FIN of both sides closes the
 * flow and takes it out of the map, with what was already counted.
 */
START_TEST(test_update_and_close)
{
	struct engine_fpreq	 r, *q;
	struct engine_fpcount	 c;
	struct server		*srv;
	struct flow		*f;
	uint64_t		 in0, out0;
	unsigned		 n;

	rig_open(CONF);
	ck_assert_int_eq(engine_set_fastpath(&R.e, NULL, NULL), 0);
	srv = establish(40000);
	r = added;
	f = rig_flow(40000);
	in0 = srv->bytes_in;
	out0 = srv->bytes_out;
	memset(&c, 0, sizeof(c));
	c.has = ENGINE_FPC_TO_SERVER | ENGINE_FPC_TO_CLIENT;
	c.pkts[0] = 10;
	c.pkts[1] = 20;
	c.bytes[0] = 1000;
	c.bytes[1] = 50000;
	c.idle = 3;
	assert_tuple(&r, 40000, srv);
	ck_assert_uint_eq(engine_fp_find(&R.e, &r), r.flow);
	engine_fp_update(&R.e, r.flow, &c, R.now + 10);
	ck_assert_uint_eq(srv->bytes_in - in0, 1000);
	ck_assert_uint_eq(srv->bytes_out - out0, 50000);
	ck_assert_uint_eq(R.conf.pool.svc[0].bytes_out, srv->bytes_out);
	ck_assert_uint_eq(f->last, R.now + 7);
	c.bytes[1] = 80000;
	c.fin[0] = c.fin[1] = 1;
	engine_fp_update(&R.e, r.flow, &c, R.now + 11);
	ck_assert_uint_eq(srv->bytes_out - out0, 80000);
	ck_assert_uint_eq(f->state, FS_TIME_WAIT);
	ck_assert(!(f->seen & FLOW_FAST));
	ck_assert_uint_eq(srv->flows_active, 0);
	ck_assert_uint_eq(R.e.st.fp_closed, 1);
	q = queue(&n);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(q[0].op, FPQ_DEL);
	assert_tuple(&q[0], 40000, srv);
	ck_assert_uint_eq(q[0].taken[3], 80000);
	/* The delete's last reading adds only what came since. */
	c.bytes[1] = 80100;
	engine_fp_deleted(&R.e, &q[0], &c);
	ck_assert_uint_eq(srv->bytes_out - out0, 80100);
	ck_assert_uint_eq(R.e.st.fp_deleted, 1);
	ck_assert_uint_eq(engine_fp_find(&R.e, &r), FLOW_NIL);
	rig_close();
}
END_TEST

/*
 * The poll reads one entry at a time: each direction's counters are
 * taken on their own, so reading them apart counts each byte once; a
 * FIN seen in one direction (its event lost) makes the flow FIN_WAIT.
 */
START_TEST(test_update_by_direction)
{
	struct engine_fpreq	 r;
	struct engine_fpcount	 c;
	struct server		*srv;
	struct flow		*f;
	uint64_t		 in0, out0;

	rig_open(CONF);
	ck_assert_int_eq(engine_set_fastpath(&R.e, NULL, NULL), 0);
	srv = establish(40000);
	r = added;
	f = rig_flow(40000);
	in0 = srv->bytes_in;
	out0 = srv->bytes_out;
	memset(&c, 0, sizeof(c));
	c.has = ENGINE_FPC_TO_SERVER;
	c.bytes[0] = 1000;
	c.idle = UINT32_MAX;		/* the other direction: no packet yet */
	engine_fp_update(&R.e, r.flow, &c, R.now + 10);
	memset(&c, 0, sizeof(c));
	c.has = ENGINE_FPC_TO_CLIENT;
	c.bytes[1] = 50000;
	c.idle = 2;
	engine_fp_update(&R.e, r.flow, &c, R.now + 10);
	ck_assert_uint_eq(srv->bytes_in - in0, 1000);
	ck_assert_uint_eq(srv->bytes_out - out0, 50000);
	ck_assert_uint_eq(f->last, R.now + 8);
	/* Again, grown in one direction only. */
	memset(&c, 0, sizeof(c));
	c.has = ENGINE_FPC_TO_SERVER;
	c.bytes[0] = 1500;
	engine_fp_update(&R.e, r.flow, &c, R.now + 11);
	ck_assert_uint_eq(srv->bytes_in - in0, 1500);
	ck_assert_uint_eq(srv->bytes_out - out0, 50000);
	/* The server's FIN, read in its own entry. */
	memset(&c, 0, sizeof(c));
	c.has = ENGINE_FPC_TO_CLIENT;
	c.bytes[1] = 50100;
	c.fin[1] = 1;
	engine_fp_update(&R.e, r.flow, &c, R.now + 12);
	ck_assert_uint_eq(srv->bytes_out - out0, 50100);
	ck_assert_uint_eq(f->state, FS_FIN_WAIT);
	ck_assert(f->seen & FLOW_FAST);	/* half-closed: it stays */
	ck_assert_uint_eq(srv->flows_active, 0);
	rig_close();
}
END_TEST

/*
 * A round over the whole map that read no entry of a flow: gone from the
 * map behind loadd's back, the slow path carries it.  A flow put in the
 * map during the round is not judged by it; one whose entry was read is
 * kept.
 */
START_TEST(test_round_end)
{
	struct engine_fpreq	 r1, r2;
	struct engine_fpcount	 c;
	unsigned		 n;

	rig_open(CONF);
	ck_assert_int_eq(engine_set_fastpath(&R.e, NULL, NULL), 0);
	(void)establish(40000);
	r1 = added;
	(void)establish(40001);
	r2 = added;
	/* Both went in during round 0: it judges neither. */
	engine_fp_round_end(&R.e);
	ck_assert(rig_flow(40000)->seen & FLOW_FAST);
	ck_assert(rig_flow(40001)->seen & FLOW_FAST);
	/* Round 1 reads 40000's entry only. */
	memset(&c, 0, sizeof(c));
	c.has = ENGINE_FPC_TO_SERVER;
	c.idle = UINT32_MAX;
	engine_fp_update(&R.e, engine_fp_find(&R.e, &r1), &c, R.now + 1);
	(void)establish(40002);		/* in during round 1 */
	(void)queue(&n);
	engine_fp_round_end(&R.e);
	ck_assert(rig_flow(40000)->seen & FLOW_FAST);
	ck_assert(!(rig_flow(40001)->seen & FLOW_FAST));
	ck_assert(rig_flow(40001)->seen & FLOW_FPNO);
	ck_assert(rig_flow(40002)->seen & FLOW_FAST);
	ck_assert_uint_eq(engine_fp_find(&R.e, &r2), FLOW_NIL);
	/* Its packets go through loadd again, and it is not queued back. */
	ck_assert_int_eq(rig_c2v(40001, TH_ACK), V_REWRITTEN);
	(void)queue(&n);
	ck_assert_uint_eq(n, 0);
	rig_close();
}
END_TEST

/*
 * An entry whose tuple names a flow of loadd's but another server (the
 * slot was reused, a hand put it there) is a stray, not that flow's.
 */
START_TEST(test_find_other_server)
{
	struct engine_fpreq	 r;

	rig_open(CONF);
	ck_assert_int_eq(engine_set_fastpath(&R.e, NULL, NULL), 0);
	(void)establish(40000);
	r = added;
	ck_assert_uint_eq(engine_fp_find(&R.e, &r), r.flow);
	r.sport++;
	ck_assert_uint_eq(engine_fp_find(&R.e, &r), FLOW_NIL);
	r.sport--;
	r.vport++;
	ck_assert_uint_eq(engine_fp_find(&R.e, &r), FLOW_NIL);
	ck_assert_uint_eq(R.e.st.fp_strays, 2);
	rig_close();
}
END_TEST

/* Idle in the map as out of it: the flow expires, and is deleted. */
START_TEST(test_idle_expiry)
{
	struct engine_fpreq	 r, *q;
	struct engine_fpcount	 c;
	unsigned		 n;

	rig_open(CONF);
	ck_assert_int_eq(engine_set_fastpath(&R.e, NULL, NULL), 0);
	(void)establish(40000);
	r = added;
	/* Busy in the map: the map's last packet keeps it. */
	memset(&c, 0, sizeof(c));
	c.has = ENGINE_FPC_TO_SERVER | ENGINE_FPC_TO_CLIENT;
	c.idle = 0;
	engine_fp_update(&R.e, r.flow, &c, R.now + 90);
	engine_tick(&R.e, R.now + 150);
	ck_assert_ptr_nonnull(rig_flow(40000));
	(void)queue(&n);
	ck_assert_uint_eq(n, 0);
	engine_tick(&R.e, R.now + 300);
	ck_assert_ptr_null(rig_flow(40000));
	q = queue(&n);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(q[0].op, FPQ_DEL);
	ck_assert_uint_eq(q[0].cport, 40000);
	rig_close();
}
END_TEST

/*
 * UDP: a one-way stream goes in after ENGINE_FP_AFTER of the client's
 * datagrams, answered or not; a spoofed flood (one datagram per tuple)
 * never does.  The poll makes it an answered flow (its timeout, its
 * place in eviction order) once the map counted the server's datagrams.
 */
START_TEST(test_udp_oneway)
{
	struct tpkt	 t = {
		.family = 4, .proto = PROTO_UDP, .src = CLIENT, .dst = VIP,
		.sport = 5000, .dport = 53, .paylen = 40,
	};
	struct engine_fpreq *q, r;
	struct engine_fpcount c;
	struct flow	*f;
	unsigned	 i, n;

	rig_open("ipaliasing = 192.0.2.10\nports = 53\nprotocol = udp\n"
	    "servers = 10.0.1.11\ntimeout_udp = 100\n");
	ck_assert_int_eq(engine_set_fastpath(&R.e, NULL, NULL), 0);
	/* The flood: many tuples, one datagram each. */
	for (i = 0; i < 100; i++) {
		t.sport = (uint16_t)(6000 + i);
		ck_assert_int_eq(rig_run(&t), V_REWRITTEN);
	}
	(void)queue(&n);
	ck_assert_uint_eq(n, 0);
	t.sport = 5000;
	for (i = 0; i < ENGINE_FP_AFTER; i++) {
		(void)queue(&n);
		ck_assert_uint_eq(n, 0);
		ck_assert_int_eq(rig_run(&t), V_REWRITTEN);
	}
	q = queue(&n);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(q[0].op, FPQ_ADD);
	ck_assert_uint_eq(q[0].proto, PROTO_UDP);
	ck_assert_uint_eq(q[0].vport, 53);
	ck_assert_uint_eq(q[0].cport, 5000);
	r = q[0];
	f = rig_flow(5000);
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(f->state, FS_UDP_UNREPLIED);
	ck_assert(f->seen & FLOW_FAST);
	ck_assert_uint_eq(R.e.st.fp_added, 1);

	/* The map carries it, the server silent: still unreplied, alive. */
	memset(&c, 0, sizeof(c));
	c.has = ENGINE_FPC_TO_SERVER;
	c.pkts[0] = 500;
	c.bytes[0] = 500 * 68;
	ck_assert_uint_eq(engine_fp_find(&R.e, &r), (uint32_t)(f - R.e.ft.f));
	engine_fp_update(&R.e, r.flow, &c, R.now + 20);
	ck_assert_uint_eq(f->state, FS_UDP_UNREPLIED);
	ck_assert_uint_eq(f->last, R.now + 20);
	engine_tick(&R.e, R.now + 45);	/* 30 s unreplied timeout */
	ck_assert_ptr_eq(rig_flow(5000), f);
	ck_assert_uint_eq(R.conf.pool.srv[0].pkts_in, 100 + ENGINE_FP_AFTER +
	    500);
	/* The server answers through the map: an answered flow. */
	c.has = ENGINE_FPC_TO_CLIENT;
	c.pkts[1] = 3;
	engine_fp_update(&R.e, r.flow, &c, R.now + 46);
	ck_assert_uint_eq(f->state, FS_UDP);
	ck_assert_uint_eq(f->cls, FC_UDP);
	ck_assert_uint_eq(R.e.ft.list[FC_UDP].head, r.flow);
	ck_assert_uint_eq(f->last, R.now + 46);
	engine_tick(&R.e, R.now + 120);	/* timeout_udp 100 */
	ck_assert_ptr_eq(rig_flow(5000), f);
	engine_tick(&R.e, R.now + 160);
	ck_assert_ptr_null(rig_flow(5000));
	q = queue(&n);
	ck_assert_uint_ge(n, 1);
	ck_assert_uint_eq(q[n - 1].op, FPQ_DEL);
	ck_assert_uint_eq(q[n - 1].cport, 5000);
	rig_close();
}
END_TEST

/* At start: a flow of a configured server comes back; others do not. */
START_TEST(test_adopt)
{
	struct engine_fpreq	 r;
	struct engine_fpcount	 c;
	struct server		*srv;
	struct flow		*f;
	uint16_t		 port;

	rig_open(CONF);
	ck_assert_int_eq(engine_set_fastpath(&R.e, NULL, NULL), 0);
	srv = &R.conf.pool.srv[1];
	memset(&r, 0, sizeof(r));
	memset(&c, 0, sizeof(c));
	r.family = 4;
	r.proto = PROTO_TCP;
	ck_assert_int_eq(addr_parse(CLIENT, &r.client, &port), 4);
	ck_assert_int_eq(addr_parse(VIP, &r.vip, &port), 4);
	r.server = srv->addr;
	r.cport = 41000;
	r.vport = 80;
	r.sport = 8080;
	c.has = ENGINE_FPC_TO_SERVER | ENGINE_FPC_TO_CLIENT;
	c.pkts[0] = 50;
	c.pkts[1] = 100;
	c.bytes[1] = 123456;
	c.idle = 2;
	ck_assert_int_eq(engine_fp_adopt(&R.e, &r, &c, R.now), 1);
	f = rig_flow(41000);
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(f->state, FS_ESTABLISHED);
	ck_assert_ptr_eq(&R.conf.pool.srv[f->srv], srv);
	ck_assert(f->seen & FLOW_FAST);
	ck_assert_uint_eq(srv->flows_active, 1);
	ck_assert_uint_eq(srv->bytes_out, 123456);
	ck_assert_uint_eq(R.e.fp->fl[f - R.e.ft.f].taken[3], 123456);
	ck_assert_uint_eq(R.e.st.fp_adopted, 1);
	/* Its next packet through loadd keeps it where it is. */
	ck_assert_int_eq(rig_c2v(41000, TH_ACK), V_REWRITTEN);
	ck_assert_uint_eq(f->state, FS_ESTABLISHED);
	/* A server's port this configuration does not have. */
	r.cport = 41001;
	r.sport = 81;
	ck_assert_int_eq(engine_fp_adopt(&R.e, &r, &c, R.now), 0);
	ck_assert_ptr_null(rig_flow(41001));
	ck_assert_uint_eq(R.e.st.fp_unknown, 1);
	rig_close();
}
END_TEST

/*
 * down_flows = reset, a flow in the map: out of it, and each end gets a
 * bare ACK far outside its window; its answering ACK gets a RST.
 */
START_TEST(test_reset_in_map)
{
	struct engine_gen	*g;
	struct engine_fpreq	*q;
	struct server		*srv;
	struct flow		*f;
	struct resetter		*rs;
	unsigned		 n, i;

	rig_open(CONF "check = tcp\ndown_flows = reset\n");
	ck_assert_ptr_nonnull(rs = reset_new(1000));
	engine_set_reset(&R.e, rs, 0);
	ck_assert_int_eq(engine_set_fastpath(&R.e, NULL, NULL), 0);
	srv = establish(40000);
	(void)queue(&n);
	f = rig_flow(40000);
	srv->healthy = 0;
	ck_assert_int_eq(srv_update(&R.conf.pool, (unsigned)(srv -
	    R.conf.pool.srv), SR_PROBE, "test"), 1);
	engine_server_down(&R.e, (unsigned)(srv - R.conf.pool.srv));
	for (i = 0; i < 100 && R.e.sweep_pos != 0; i++)
		engine_tick(&R.e, R.now);
	q = queue(&n);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(q[0].op, FPQ_DEL);
	ck_assert(!(f->seen & FLOW_FAST));
	g = engine_generated(&R.e, &n);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(g[0].data[33], TH_ACK);	/* to the client */
	ck_assert_uint_eq(g[1].data[33], TH_ACK);	/* to the server */
	/* The client's answer: a RST in its place, the flow closed. */
	ck_assert_int_eq(rig_c2v(40000, TH_ACK), V_REWRITTEN);
	ck_assert_uint_eq(R.buf[33], TH_RST);
	ck_assert_uint_eq(f->state, FS_CLOSE);
	ck_assert_uint_eq(R.e.st.flows_reset, 1);
	/* The server's answer too. */
	ck_assert_int_eq(rig_s2c(srv, 40000, TH_ACK), V_REWRITTEN);
	ck_assert_uint_eq(R.buf[33] & TH_RST, TH_RST);
	rig_close();
}
END_TEST

static unsigned	 drained;

static void
drain(void *arg, struct engine *e)
{
	unsigned	 n;

	(void)arg;
	(void)engine_fp_queue(e, &n);
	drained += n;
}

/* A full queue is handed to its owner; without one, the loss counted. */
START_TEST(test_queue_full)
{
	unsigned	 i, n;

	rig_open(CONF);
	ck_assert_int_eq(engine_set_fastpath(&R.e, drain, NULL), 0);
	for (i = 0; i < ENGINE_FPQMAX + 10; i++)
		handshake((uint16_t)(20000 + i));
	(void)queue(&n);
	ck_assert_uint_eq(drained, ENGINE_FPQMAX);
	ck_assert_uint_eq(n, 10);
	ck_assert_uint_eq(R.e.st.fp_qfull, 0);
	R.e.fp->drain = NULL;
	for (i = 0; i < ENGINE_FPQMAX + 1; i++)
		handshake((uint16_t)(30000 + i));
	/* Asked again on each of its three packets. */
	ck_assert_uint_eq(R.e.st.fp_qfull, 3);
	/* The one not queued is loadd's, and may be asked again. */
	ck_assert(!(rig_flow(30000 + ENGINE_FPQMAX)->seen & FLOW_FAST));
	rig_close();
}
END_TEST

Suite *
engine_fp_suite(void)
{
	Suite	*s = suite_create("engine_fp");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_add_at_syn);
	tcase_add_test(tc, test_events_health);
	tcase_add_test(tc, test_events_race);
	tcase_add_test(tc, test_events_stale);
	tcase_add_test(tc, test_events_leastconn);
	tcase_add_test(tc, test_syn_flood);
	tcase_add_test(tc, test_refused);
	tcase_add_test(tc, test_update_and_close);
	tcase_add_test(tc, test_idle_expiry);
	tcase_add_test(tc, test_update_by_direction);
	tcase_add_test(tc, test_round_end);
	tcase_add_test(tc, test_find_other_server);
	tcase_add_test(tc, test_udp_oneway);
	tcase_add_test(tc, test_adopt);
	tcase_add_test(tc, test_queue_full);
	tcase_add_test(tc, test_reset_in_map);
	suite_add_tcase(s, tc);
	return (s);
}
