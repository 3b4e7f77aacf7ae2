/*
 * The engine's flows: a packet of a virtual service (inbound) or of a
 * server's reply (outbound), its flow found or made, rewritten.
 *
 * Inbound (to a virtual service): the client's packets get the chosen
 * server's address and port as destination.  Outbound (from a server's
 * service address): the reply gets the virtual address and port back as
 * source.  The outbound rewrite needs no flow state, since the
 * configuration fixes which service a server address belongs to; the flow
 * is only consulted to keep its TCP state and timer right.
 *
 * Checksums are updated incrementally (RFC 1624), except where the I/O
 * layer says the transport checksum is not final yet: then it is computed
 * in full, since the kernel will take what we give it as final.
 *
 * This file owns what happens to a flow on its packets: a new flow's
 * server (persistence, then the method's pick), the passive health signs
 * it writes into the server (syn_pending_ms, synacks, refused), TCP
 * tracking, and the answers (a RST, an ICMP unreachable) to packets no
 * server takes.  The flow table itself is flow.c's.
 */
#include <arpa/inet.h>

#include <string.h>

#include "cksum.h"
#include "clients.h"
#include "engine_priv.h"
#include "reset.h"
#include "sched.h"

static int	 flow_over(struct engine *, struct pktbuf *, const struct pkt *,
		    struct service *, struct flow **, uint32_t);
static struct flow *new_flow(struct engine *, struct pktbuf *,
		    const struct pkt *, struct service *, uint32_t, int,
		    uint32_t);
static int	 over_limits(struct engine *, struct pktbuf *,
		    const struct pkt *, struct service *, union addr *,
		    int *, uint32_t);
static int	 pick_server(struct engine *, const struct pkt *,
		    struct service *, int, uint32_t);
static int	 all_full(const struct pool *, const struct service *);
static void	 known_flow(struct engine *, struct pktbuf *,
		    const struct pkt *, struct flow *, uint32_t);
static void	 tcp_track(struct engine *, struct flow *, uint8_t, int,
		    uint32_t);
static inline void fp_hook(struct engine *, struct flow *);
static int	 outbound_reset(struct engine *, struct pktbuf *,
		    const struct pkt *, struct service *, struct flow *,
		    uint32_t);
static void	 rewrite(struct pktbuf *, const struct pkt *, int,
		    const union addr *, uint16_t);
static inline uint32_t seq_next(const uint8_t *, const struct pkt *);
static inline void seq_advance(uint32_t *, uint32_t);
static int	 answer_rst(struct engine *, struct pktbuf *, const struct pkt *,
		    uint32_t);
static void	 no_server(struct engine *, struct pktbuf *, const struct pkt *,
		    struct service *, int, uint32_t);
static void	 unknown_flow(struct engine *, struct pktbuf *,
		    const struct pkt *, struct service *, uint32_t);

void
engine_inbound(struct engine *e, struct pktbuf *pb, const struct pkt *p,
    struct service *svc, uint32_t h, uint32_t now)
{
	struct server	*srv;
	struct flow	*f;
	uint16_t	 si = (uint16_t)(svc - e->pool->svc);
	int		 syn = 0, recover = 0;

	e->st.inbound++;
	/*
	 * The first fragment alone would be rewritten and the rest not:
	 * fragments are dropped (the kernel reassembles before queueing, so
	 * only odd cases get here).
	 */
	if (p->flags & PKT_F_FRAG) {
		drop_svc(e, pb, svc, DROP_FRAGMENT);
		return;
	}
	f = flow_lookup(&e->ft, h, &p->src, p->sport, si);
	if (f != NULL && flow_over(e, pb, p, svc, &f, now))
		return;
	if (p->proto == PROTO_TCP) {
		syn = (p->tcpflags & (TH_SYN | TH_ACK | TH_RST)) == TH_SYN;
		if (f != NULL && syn && (f->state == FS_TIME_WAIT ||
		    f->state == FS_CLOSE)) {
			/* The client reuses its port: a new connection. */
			flow_remove(&e->ft, f);
			f = NULL;
		}
		if (f == NULL && !syn) {
			if (!svc->method->consistent) {
				unknown_flow(e, pb, p, svc, now);
				return;
			}
			/*
			 * A consistent hash finds the server the flow had
			 * (on this loadd before a restart, or on another).
			 * The entry stays evictable until the server answers,
			 * so stray packets cannot fill the table.
			 */
			recover = 1;
		}
	}
	if (f == NULL) {
		if ((f = new_flow(e, pb, p, svc, h, recover, now)) == NULL)
			return;
		fp_hook(e, f);
	} else
		known_flow(e, pb, p, f, now);

	srv = &e->pool->srv[f->srv];
	if (flow_offloaded(f)) {
		/*
		 * The kernel's DNAT rule for this mark rewrites the packet,
		 * and conntrack every later one of the connection, both ways.
		 * Its packets and bytes are counted when the kernel ends it.
		 */
		pb->mark = srv->mark;
		e->st.offload_pkts++;
		return;
	}
	srv->pkts_in++;
	srv->bytes_in += p->len;
	svc->pkts_in++;
	svc->bytes_in += p->len;
	rewrite(pb, p, 1, &srv->addr, htons(srv->port));
	pb->verdict = V_REWRITTEN;
	e->st.rewritten++;
}

/*
 * A client's packet for a flow that is over, for the kernel or for its
 * server: the flow leaves the table (*fp becomes NULL) and the packet
 * may start a new one, or the packet gets its answer here (1).
 */
static int
flow_over(struct engine *e, struct pktbuf *pb, const struct pkt *p,
    struct service *svc, struct flow **fp, uint32_t now)
{
	struct flow	*f = *fp;

	if (flow_offloaded(f) && (p->proto != PROTO_TCP ||
	    !(p->tcpflags & TH_SYN) || f->cseq != seq_next(pb->data, p))) {
		/*
		 * The rules queue only the first packet of each conntrack
		 * entry: the kernel has forgotten this flow's (its destroy
		 * event is on its way), and this is a new one -- a new
		 * decision, as when a flow expires.  Only a SYN sent again
		 * before the first was let through is the same connection.
		 */
		flow_remove(&e->ft, f);
		*fp = NULL;
		return (0);
	}
	if (!reset_due(e, f))
		return (0);
	engine_fp_takeout(e, f);	/* offload = bpf: the rest comes here */
	/*
	 * Its server is down and the service resets such flows: the client
	 * hears so now (a UDP flow just finds a new server).
	 */
	if (p->proto == PROTO_TCP) {
		if (f->cls != FC_CLOSING) {
			flow_inactive(e, f);
			flow_set_state(&e->ft, f, FS_CLOSE, now);
			e->st.flows_reset++;
		}
		if (!(p->tcpflags & TH_SYN)) {
			no_server(e, pb, p, svc, 0, now);
			return (1);
		}
	} else
		e->st.flows_reset++;
	flow_remove(&e->ft, f);
	*fp = NULL;
	return (0);
}

/*
 * A new flow, with its server; NULL when the table is full or no server
 * takes it (the packet is then dropped or answered).
 */
static struct flow *
new_flow(struct engine *e, struct pktbuf *pb, const struct pkt *p,
    struct service *svc, uint32_t h, int recover, uint32_t now)
{
	struct pool	*pool = e->pool;
	struct server	*srv;
	struct flow	*f;
	union addr	 ckey;
	uint16_t	 si = (uint16_t)(svc - pool->svc);
	int		 pick, client = 0;

	/*
	 * No room is known before the method is asked, so that a refused
	 * connection does not use up a server's turn.
	 */
	if (!flow_room(&e->ft)) {
		e->ft.st.full++;
		drop_svc(e, pb, svc, DROP_TABLEFULL);
		return (NULL);
	}
	if (!recover && over_limits(e, pb, p, svc, &ckey, &client, now))
		return (NULL);
	if ((pick = pick_server(e, p, svc, recover, now)) < 0) {
		if (client)
			clients_release(&e->clients, &ckey, si);
		no_server(e, pb, p, svc, all_full(pool, svc) ? DROP_FULL :
		    DROP_NOSERVER, now);
		return (NULL);
	}
	f = flow_insert(&e->ft, h, &p->src, p->sport, si, (uint16_t)pick,
	    e->offload ? FS_OFFLOAD_PENDING :
	    p->proto != PROTO_TCP ? FS_UDP_UNREPLIED :
	    recover ? FS_RECOVERED : FS_SYN_SENT, now);
	if (f == NULL) {
		if (client)
			clients_release(&e->clients, &ckey, si);
		drop_svc(e, pb, svc, DROP_TABLEFULL);
		return (NULL);
	}
	if (client)
		f->seen |= FLOW_CLIENT;
	f->synms[0] = (uint8_t)e->ms;
	f->synms[1] = (uint8_t)(e->ms >> 8);
	f->synms[2] = (uint8_t)(e->ms >> 16);
	if (p->proto == PROTO_TCP)
		f->cseq = seq_next(pb->data, p);
	if (recover)
		e->st.recovered++;
	if (e->offload) {
		f->sseq = 0;	/* its conntrack id: not known yet */
		e->st.offloaded++;
	} else if (!recover && p->proto == PROTO_TCP &&
	    pool->srv[pick].syn_pending_ms == 0)
		/* Passive health: is this SYN answered in time? */
		pool->srv[pick].syn_pending_ms = e->ms | 1;
	if (svc->sticky)
		sticky_put(&e->sticky, &p->src, si, (uint16_t)pick, now,
		    svc->sticky);
	srv = &pool->srv[pick];
	srv->flows_active++;
	srv->flows_total++;
	svc->flows_active++;
	svc->flows_total++;
	if (srv->maxconn != 0)
		srv_cap_update(srv, e->ms);
	return (f);
}

/*
 * The service's limits on a new flow (not a recovered one: that is a
 * connection already made): max_clients, then its client's open flows
 * and rate.  1 when refused (the packet has its answer), else 0 and
 * *client says whether the client's entry counts the flow (*key is the
 * entry's key): whoever does not keep the flow gives it back.
 */
static int
over_limits(struct engine *e, struct pktbuf *pb, const struct pkt *p,
    struct service *svc, union addr *key, int *client, uint32_t now)
{
	uint16_t	 si = (uint16_t)(svc - e->pool->svc);

	if (svc->max_clients != 0 && svc->flows_active >= svc->max_clients) {
		no_server(e, pb, p, svc, DROP_MAXCLIENTS, now);
		return (1);
	}
	if (!clients_limited(&svc->climits))
		return (0);
	clients_key(&svc->climits, p->family, &p->src, key);
	switch (clients_admit(&e->clients, &svc->climits, p->family, key,
	    si, e->ms)) {
	case CL_CONNS:
		no_server(e, pb, p, svc, DROP_CLIENT_CONNS, now);
		return (1);
	case CL_RATE:
		/*
		 * Dropped, not refused: the client sends its SYN again a
		 * second later, by when its bucket has filled -- slowed down
		 * rather than turned away.
		 */
		drop_svc(e, pb, svc, DROP_CLIENT_RATE);
		return (1);
	default:
		*client = 1;
		return (0);
	}
}

/* No server took a new flow: because each usable one is at its cap? */
static int
all_full(const struct pool *pool, const struct service *svc)
{
	unsigned	 k;
	int		 full = 0;

	for (k = 0; k < svc->nsrv; k++) {
		if (!sched_usable(pool, svc->members[k]))
			continue;
		if (!srv_full(SVC_SRV(pool, svc, k)))
			return (0);
		full = 1;
	}
	return (full);
}

void
engine_client_release(struct engine *e, const struct flow *f)
{
	struct flow	*w = &e->ft.f[f - e->ft.f];
	const struct service *svc;
	union addr	 a, key;

	/* Exactly once: the flag goes with the count. */
	w->seen &= (uint8_t)~FLOW_CLIENT;
	if (f->svc >= e->pool->nsvc)
		return;
	svc = &e->pool->svc[f->svc];
	memcpy(&a, f->caddr, sizeof(a));
	clients_key(&svc->climits, svc->family, &a, &key);
	clients_release(&e->clients, &key, f->svc);
}

/*
 * A new flow's server: the client's own if the service is persistent and
 * that server still takes flows, else the method's pick; -1 if none.  A
 * recovered flow goes where the consistent hash says, as it did before.
 */
static int
pick_server(struct engine *e, const struct pkt *p, struct service *svc,
    int recover, uint32_t now)
{
	struct pool	*pool = e->pool;
	uint16_t	 si = (uint16_t)(svc - pool->svc);
	int		 pick = -1;

	if (svc->sticky && !recover) {
		pick = sticky_get(&e->sticky, &p->src, si, now, svc->sticky);
		if (pick >= 0 && ((unsigned)pick >= pool->nsrv ||
		    pool->srv[pick].svc != si ||
		    !sched_open(pool, (unsigned)pick)))
			pick = -1;
	}
	if (pick < 0)
		pick = svc->method->pick(pool, svc, p, &e->sc);
	return (pick);
}

/*
 * offload = bpf: a TCP flow goes into the map as soon as loadd has
 * decided it (its SYN: the map's events tell loadd the rest), a UDP flow
 * once busy (engine_fp_offer counts); one that is over (TIME_WAIT, a RST)
 * comes out of it, so that a new connection from the same client port is
 * loadd's to decide again.  A recovered flow waits for its server's
 * answer: stray packets must not fill the map.
 */
static inline void
fp_hook(struct engine *e, struct flow *f)
{
	if (e->fp == NULL)
		return;
	switch (f->state) {
	case FS_SYN_SENT:
	case FS_SYN_RECV:
	case FS_ESTABLISHED:
	case FS_UDP:
	case FS_UDP_UNREPLIED:
		engine_fp_offer(e, f);
		break;
	case FS_TIME_WAIT:
	case FS_CLOSE:
		engine_fp_takeout(e, f);
		break;
	default:
		break;
	}
}

/* A client's packet of a flow in the table: its state and timer. */
static void
known_flow(struct engine *e, struct pktbuf *pb, const struct pkt *p,
    struct flow *f, uint32_t now)
{
	if (flow_offloaded(f) || p->proto != PROTO_TCP) {
		f->last = now;
		fp_hook(e, f);
		return;
	}
	seq_advance(&f->cseq, seq_next(pb->data, p));
	engine_tcp_seen(e, f, p->tcpflags, 1, now);
	fp_hook(e, f);
}

/*
 * What a TCP segment's flags tell, from the client or from the server:
 * the passive health signs and the flow's state.  From a packet loadd
 * handles, or from the fast path's event about one it carried (then
 * e->ms is the packet's time).
 */
void
engine_tcp_seen(struct engine *e, struct flow *f, uint8_t fl,
    int from_client, uint32_t now)
{
	struct server	*srv = &e->pool->srv[f->srv];

	if (f->state != FS_SYN_SENT)
		;
	else if (from_client) {
		if ((fl & (TH_SYN | TH_ACK | TH_RST)) == TH_SYN &&
		    srv->syn_pending_ms == 0)
			srv->syn_pending_ms = e->ms | 1;
		else if ((fl & (TH_SYN | TH_ACK | TH_RST)) == TH_ACK) {
			/*
			 * The client acknowledges a SYN+ACK this loadd never
			 * saw (the replies took another balancer): the
			 * server did answer.  For passive health only: the
			 * flow stays half-open, evictable (a blind ACK is
			 * no proof).
			 */
			srv->synacks++;
			srv->syn_pending_ms = 0;
		}
	} else {
		/* Passive health: the server answers. */
		if (fl & TH_RST)
			srv->refused++;
		else if (fl & TH_SYN)
			srv->synacks++;
		srv->syn_pending_ms = 0;
	}
	tcp_track(e, f, fl, from_client, now);
}

void
engine_outbound(struct engine *e, struct pktbuf *pb, const struct pkt *p,
    struct server *srv, uint32_t h, uint32_t now)
{
	struct pool	*pool = e->pool;
	struct service	*svc = &pool->svc[srv->svc];
	struct flow	*f;

	e->st.outbound++;
	if (p->flags & PKT_F_FRAG) {
		drop_svc(e, pb, svc, DROP_FRAGMENT);
		return;
	}
	f = flow_lookup(&e->ft, h, &p->dst, p->dport, srv->svc);
	if (f != NULL && flow_offloaded(f)) {
		/* conntrack translates it (rules of another mode queued it). */
		e->st.offload_pkts++;
		return;
	}
	if (f != NULL && outbound_reset(e, pb, p, svc, f, now))
		return;
	if (f != NULL && &pool->srv[f->srv] == srv) {
		if (p->proto == PROTO_TCP) {
			if (f->state == FS_SYN_SENT ||
			    f->state == FS_RECOVERED)
				f->sseq = seq_next(pb->data, p);
			else
				seq_advance(&f->sseq, seq_next(pb->data, p));
			engine_tcp_seen(e, f, p->tcpflags, 0, now);
			fp_hook(e, f);
		} else if (f->state == FS_UDP_UNREPLIED) {
			/* The server answers: a flow worth keeping. */
			flow_set_state(&e->ft, f, FS_UDP, now);
			fp_hook(e, f);
		} else {
			f->last = now;
			fp_hook(e, f);
		}
	} else
		e->st.return_noflow++;

	srv->pkts_out++;
	srv->bytes_out += p->len;
	svc->pkts_out++;
	svc->bytes_out += p->len;
	rewrite(pb, p, 0, &svc->vip, htons(svc->port));
	pb->verdict = V_REWRITTEN;
	e->st.rewritten++;
}

/*
 * offload = bpf: a server's segment of a flow taken out of the map to be
 * reset (its server is down, down_flows = reset; engine_tick.c's
 * reset_flow asked it for this ACK) gets a RST of its own numbers.
 */
static int
outbound_reset(struct engine *e, struct pktbuf *pb, const struct pkt *p,
    struct service *svc, struct flow *f, uint32_t now)
{
	if (!(f->seen & FLOW_FPNO) || p->proto != PROTO_TCP ||
	    (p->tcpflags & TH_RST) || !reset_due(e, f))
		return (0);
	if (f->cls != FC_CLOSING) {
		flow_inactive(e, f);
		flow_set_state(&e->ft, f, FS_CLOSE, now);
		e->st.flows_reset++;
	}
	if (!answer_rst(e, pb, p, now))
		drop_svc(e, pb, svc, DROP_NOSERVER);
	return (1);
}

/*
 * TCP state from both directions, enough to choose a timeout: no
 * sequence checking (the end hosts do that), and a RST only shortens the
 * timeout, so a forged RST cannot take a mapping away at once.
 */
static void
tcp_track(struct engine *e, struct flow *f, uint8_t fl, int from_client,
    uint32_t now)
{
	struct flowtab	*ft = &e->ft;
	uint8_t		 st = f->state;
	uint32_t	 t0;

	if (fl & TH_FIN)
		f->seen |= from_client ? FLOW_CFIN : FLOW_SFIN;
	if (fl & TH_RST)
		st = FS_CLOSE;
	else {
		switch (st) {
		case FS_SYN_SENT:
			if (!from_client &&
			    (fl & (TH_SYN | TH_ACK)) == (TH_SYN | TH_ACK)) {
				st = FS_SYN_RECV;
				/* The server's answer time, passively. */
				t0 = (uint32_t)f->synms[0] |
				    (uint32_t)f->synms[1] << 8 |
				    (uint32_t)f->synms[2] << 16;
				sched_rtt_sample(e->pool, f->srv,
				    ((e->ms - t0) & 0xffffff) * 1000);
			}
			/*
			 * A client's ACK proves nothing here: anybody can
			 * send one blindly, and a flow that became
			 * established on its word could not be evicted.
			 */
			break;
		case FS_RECOVERED:
			/* The server knows the connection: it is real. */
			if (!from_client)
				st = FS_ESTABLISHED;
			break;
		case FS_SYN_RECV:
			if (from_client && (fl & (TH_SYN | TH_ACK)) == TH_ACK)
				st = FS_ESTABLISHED;
			break;
		default:
			break;
		}
		if ((f->seen & (FLOW_CFIN | FLOW_SFIN)) != 0 &&
		    (st == FS_ESTABLISHED ||
		    st == FS_SYN_RECV))
			st = FS_FIN_WAIT;
		if ((f->seen & (FLOW_CFIN | FLOW_SFIN)) ==
		    (FLOW_CFIN | FLOW_SFIN) && st == FS_FIN_WAIT)
			st = FS_TIME_WAIT;
	}
	if (st != f->state) {
		if (f->cls != FC_CLOSING && flow_class_of(st) == FC_CLOSING)
			flow_inactive(e, f);
		flow_set_state(ft, f, st, now);
	} else
		f->last = now;
}

/*
 * Rewrites the destination (dst != 0) or the source address and port,
 * and every checksum that covers them.
 */
static void
rewrite(struct pktbuf *pb, const struct pkt *p, int dst,
    const union addr *na, uint16_t nport)
{
	uint8_t		*ip = pb->data;
	uint8_t		*l4 = ip + p->l3len;
	const union addr *oa = dst ? &p->dst : &p->src;
	uint16_t	 oport = dst ? p->dport : p->sport;
	unsigned	 aoff, poff, coff, l4len, nw;
	uint16_t	 ipck, ck;
	uint32_t	 sum;

	nw = p->family == 4 ? 1 : 4;
	if (p->family == 4) {
		aoff = dst ? 16 : 12;
		memcpy(&ipck, ip + 10, 2);
		ipck = cksum_update32(ipck, oa->w[0], na->w[0]);
		memcpy(ip + 10, &ipck, 2);
	} else
		aoff = dst ? 24 : 8;
	memcpy(ip + aoff, na->w, nw * 4);
	poff = dst ? 2 : 0;
	memcpy(l4 + poff, &nport, 2);

	coff = p->proto == PROTO_TCP ? 16 : 6;
	memcpy(&ck, l4 + coff, 2);
	if (p->proto == PROTO_UDP && ck == 0 && p->family == 4)
		return;		/* no UDP checksum: leave it so */
	if (pb->flags & PB_CSUM_PARTIAL) {
		l4len = (unsigned)p->len - p->l3len;
		ck = 0;
		memcpy(l4 + coff, &ck, 2);
		sum = cksum_pseudo(p->family, ip + (p->family == 4 ? 12 : 8),
		    ip + (p->family == 4 ? 16 : 24), p->proto, l4len);
		sum = cksum_add(sum, l4, l4len);
		ck = cksum_finish(sum);
	} else {
		ck = cksum_update_words(ck, oa->w, na->w, nw);
		ck = cksum_update16(ck, oport, nport);
	}
	if (p->proto == PROTO_UDP && ck == 0)
		ck = 0xffff;
	memcpy(l4 + coff, &ck, 2);
}

/* The sequence number that follows a TCP segment. */
static inline uint32_t
seq_next(const uint8_t *ip, const struct pkt *p)
{
	const uint8_t	*th = ip + p->l3len;
	uint32_t	 seq;

	seq = (uint32_t)th[4] << 24 | (uint32_t)th[5] << 16 |
	    (uint32_t)th[6] << 8 | th[7];
	seq += (uint32_t)p->len - p->l3len - (uint32_t)(th[12] >> 4) * 4;
	if (p->tcpflags & TH_SYN)
		seq++;
	if (p->tcpflags & TH_FIN)
		seq++;
	return (seq);
}

/* Keeps the highest, in sequence space (retransmissions go back). */
static inline void
seq_advance(uint32_t *cur, uint32_t seq)
{
	if ((int32_t)(seq - *cur) > 0)
		*cur = seq;
}

/*
 * Answers a TCP segment with a RST: 1, or 0 if none may be sent (rate
 * limit, queue full).  Without offload the RST takes the segment's place
 * in its verdict.  With offload it must not: conntrack has made an
 * unconfirmed entry of the client's segment, and a RST let through in its
 * place would confirm it, untranslated -- the client's next SYN from the
 * same port would then bypass loadd (tested in offload.sh).  So the
 * segment is dropped, which takes its entry with it, and the RST is sent
 * on its own, as loadd's other generated packets are.
 */
static int
answer_rst(struct engine *e, struct pktbuf *pb, const struct pkt *p,
    uint32_t now)
{
	struct engine_gen *g;
	size_t		 n;

	if (!e->offload) {
		if ((n = reset_make(e->reset, pb->data, pb->len, pb->data, p,
		    now)) == 0)
			return (0);
		pb->len = (uint32_t)n;
		pb->flags |= PB_RESIZED;
		pb->verdict = V_REWRITTEN;
		return (1);
	}
	if (e->ngen == ENGINE_GENMAX) {
		e->st.gen_full++;
		return (0);
	}
	g = &e->gen[e->ngen];
	if ((n = reset_make(e->reset, g->data, sizeof(g->data), pb->data, p,
	    now)) == 0)
		return (0);
	g->len = (uint32_t)n;
	g->family = p->family;
	e->ngen++;
	pb->verdict = V_DROP;
	return (1);
}

/*
 * A new flow that no server takes, or that a limit refuses (why: the
 * drop reason it is counted under), or a packet of a flow whose server
 * went down (why 0: reset): a TCP client gets a RST in the packet's
 * place, a UDP one an ICMP port unreachable, as the service says, so
 * that nobody waits.
 */
static void
no_server(struct engine *e, struct pktbuf *pb, const struct pkt *p,
    struct service *svc, int why, uint32_t now)
{
	struct engine_gen *g;
	int		 how = svc->hc != NULL ? svc->hc->noserver : HC_NS_DROP;
	int		 gone = why == 0;

	if (gone) {
		how = HC_NS_RESET;
		why = DROP_NOSERVER;
	}
	if (e->reset == NULL || how == HC_NS_DROP)
		goto drop;
	if (p->proto == PROTO_TCP && how == HC_NS_RESET) {
		if (!answer_rst(e, pb, p, now))
			goto drop;
		/* A reset flow was counted as such: this is no refusal. */
		if (!gone) {
			svc->drops[why]++;
			e->st.refused++;
		}
		return;
	}
	if (e->ngen == ENGINE_GENMAX) {
		e->st.gen_full++;
		goto drop;
	}
	g = &e->gen[e->ngen];
	if ((g->len = (uint32_t)reset_unreach(e->reset, g->data,
	    sizeof(g->data), pb->data, p, now)) != 0) {
		g->family = p->family;
		e->ngen++;
		e->st.refused++;
	}
drop:
	drop_svc(e, pb, svc, why);
}

/*
 * A TCP packet, not a SYN, of no known flow: dropped, or (by
 * configuration) answered with a RST that takes the packet's place.
 */
static void
unknown_flow(struct engine *e, struct pktbuf *pb, const struct pkt *p,
    struct service *svc, uint32_t now)
{
	if (e->reset != NULL && e->unknown_reset && answer_rst(e, pb, p, now)) {
		e->st.resets++;
		return;
	}
	drop_svc(e, pb, svc, DROP_NOFLOW);
}

