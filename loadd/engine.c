/*
 * The engine: classify, find or create the flow, rewrite, verdict.
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
 */
#include <arpa/inet.h>

#include <stdlib.h>
#include <string.h>

#include "cksum.h"
#include "engine.h"
#include "health.h"
#include "reset.h"
#include "sched.h"

#define EXPIRE_BUDGET	4096	/* entries looked at per engine_tick() */
#define SWEEP_BUDGET	65536	/* the same, for a down server's flows */
#define PREFETCH2_FLOWS	(1u << 17)	/* see engine_process_batch() */

static const char *const drop_names[DROP_NREASONS] = {
	[DROP_PARSE + PKT_OK] = "ok",
	[DROP_PARSE + PKT_ETRUNC] = "truncated",
	[DROP_PARSE + PKT_EVERSION] = "bad_version",
	[DROP_PARSE + PKT_EHDRLEN] = "bad_header_length",
	[DROP_PARSE + PKT_ETOTLEN] = "bad_total_length",
	[DROP_PARSE + PKT_EL4] = "bad_transport_header",
	[DROP_PARSE + PKT_EEXTHDR] = "bad_extension_header",
	[DROP_PARSE + PKT_EJUMBO] = "jumbogram",
	[DROP_FRAGMENT] = "fragment",
	[DROP_NOSERVICE] = "no_service",
	[DROP_NOFLOW] = "no_flow",
	[DROP_TABLEFULL] = "table_full",
	[DROP_NOSERVER] = "no_server",
	[DROP_TRUNCATED] = "capture_truncated",
	[DROP_ICMP_CSUM] = "icmp_bad_checksum",
};

static void	 engine_release(void *, const struct flow *);
static int	 engine_over_share(void *, unsigned);
static void	 flow_inactive(struct engine *, const struct flow *);
static inline uint32_t seq_next(const uint8_t *, const struct pkt *);
static inline void seq_advance(uint32_t *, uint32_t);
static int	 answer_rst(struct engine *, struct pktbuf *, const struct pkt *,
		    uint32_t);
static void	 no_server(struct engine *, struct pktbuf *, const struct pkt *,
		    struct service *, int, uint32_t);
static void	 tcp_track(struct engine *, struct flow *, uint8_t, int,
		    uint32_t);
static void	 rewrite(struct pktbuf *, const struct pkt *, int,
		    const union addr *, uint16_t);
/* What classify() found out about a packet, for finish(). */
enum { PK_DONE = 0, PK_IN, PK_OUT, PK_ICMP };

struct pctx {
	struct pkt	 p;
	uint32_t	 first;		/* the chain's head, for prefetching */
	struct service	*svc;
	struct server	*srv;
	uint32_t	 hash;
	int		 kind;
};

static void	 classify(struct engine *, struct pktbuf *, struct pctx *);
static void	 finish(struct engine *, struct pktbuf *, struct pctx *,
		    uint32_t);
static void	 inbound(struct engine *, struct pktbuf *, const struct pkt *,
		    struct service *, uint32_t, uint32_t);
static void	 outbound(struct engine *, struct pktbuf *, const struct pkt *,
		    struct server *, uint32_t, uint32_t);
static void	 unknown_flow(struct engine *, struct pktbuf *,
		    const struct pkt *, struct service *, uint32_t);
static void	 icmp_error(struct engine *, struct pktbuf *,
		    const struct pkt *);
static int	 icmp_cksum_ok(const uint8_t *, const struct pkt *);
static void	 icmp_finish(uint8_t *, const struct pkt *);
static void	 rewrite_inner(uint8_t *, const struct pkt *, int,
		    const union addr *, uint16_t);

const char *
engine_drop_name(int r)
{
	if (r < 0 || r >= DROP_NREASONS || drop_names[r] == NULL)
		return ("?");
	return (drop_names[r]);
}

int
engine_init(struct engine *e, struct pool *pool, uint32_t maxflows,
    const uint32_t timeouts[FC_N], uint64_t seed)
{
	int	 i;

	memset(e, 0, sizeof(*e));
	e->pool = pool;
	if (flowtab_init(&e->ft, maxflows, seed) == -1)
		return (-1);
	if ((e->gen = calloc(ENGINE_GENMAX, sizeof(*e->gen))) == NULL ||
	    (e->sweep = calloc(POOL_MAXSERVERS + 1, 1)) == NULL) {
		engine_free(e);
		return (-1);
	}
	if (timeouts != NULL)
		for (i = 0; i < FC_N; i++)
			if (timeouts[i] != 0)	/* 0: the table's default */
				e->ft.timeout[i] = timeouts[i];
	flowtab_set_release(&e->ft, engine_release, e);
	e->ft.over_share = engine_over_share;
	return (0);
}

int
engine_set_sticky(struct engine *e, uint32_t entries)
{
	sticky_free(&e->sticky);
	return (sticky_init(&e->sticky, entries,
	    (uint32_t)(e->ft.hkey.k[0] >> 32) ^ 0x5717c4));
}

void
engine_free(struct engine *e)
{
	flowtab_free(&e->ft);
	sticky_free(&e->sticky);
	reset_free(e->reset);
	e->reset = NULL;
	free(e->gen);
	e->gen = NULL;
	free(e->sweep);
	e->sweep = NULL;
}

void
engine_set_reset(struct engine *e, struct resetter *r, int unknown)
{
	reset_free(e->reset);
	e->reset = r;
	e->unknown_reset = unknown;
}

struct engine_gen *
engine_generated(struct engine *e, unsigned *n)
{
	*n = e->ngen;
	e->ngen = 0;
	return (e->gen);
}

/* A RST to send on its own; 0 when the queue is full. */
static int
gen_rst(struct engine *e, int family, const union addr *src, uint16_t sport,
    const union addr *dst, uint16_t dport, uint32_t seq, uint32_t ack)
{
	struct engine_gen *g;

	if (e->reset == NULL || e->ngen == ENGINE_GENMAX) {
		e->st.gen_full++;
		return (0);
	}
	g = &e->gen[e->ngen];
	g->len = (uint32_t)reset_build(e->reset, g->data, sizeof(g->data),
	    family, src, ntohs(sport), dst, ntohs(dport), seq, ack,
	    TH_RST | TH_ACK);
	if (g->len == 0)
		return (0);
	g->family = (uint8_t)family;
	e->ngen++;
	return (1);
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

void
engine_server_down(struct engine *e, unsigned i)
{
	const struct service *svc;

	if (i >= e->pool->nsrv || e->reset == NULL)
		return;
	svc = &e->pool->svc[e->pool->srv[i].svc];
	if (svc->hc == NULL || svc->hc->down_flows != HC_RESET)
		return;
	e->sweep[i] = 1;
	e->sweep_pos = 1;
}

/* Whether the flow's server is down and its service resets such flows. */
static inline int
reset_due(const struct engine *e, const struct flow *f)
{
	const struct hcconf *hc;

	/* On every packet: the server's state first, the rest seldom. */
	if (e->pool->srv[f->srv].state != SRV_DOWN)
		return (0);
	hc = e->pool->svc[f->svc].hc;
	return (hc != NULL && hc->down_flows == HC_RESET && e->reset != NULL);
}

/*
 * Resets one flow of a down server: RST to the client as from the
 * virtual service, RST to the server as from the client, each with the
 * sequence number the other end expects next (RFC 5961 takes a RST at
 * once only then).  The entry stays, closing, so that whatever the
 * client still sends is answered with a RST of its own numbers.
 */
static int
reset_flow(struct engine *e, struct flow *f, uint32_t now)
{
	const struct service *svc = &e->pool->svc[f->svc];
	const struct server *s = &e->pool->srv[f->srv];
	union addr	 ca;

	memcpy(&ca, f->caddr, sizeof(ca));
	if (svc->proto != PROTO_TCP) {
		flow_remove(&e->ft, f);
		e->st.flows_reset++;
		return (1);
	}
	if (f->cls == FC_CLOSING)
		return (1);
	if (e->ngen + 2 > ENGINE_GENMAX)
		return (0);
	(void)gen_rst(e, svc->family, &svc->vip, htons(svc->port), &ca,
	    f->cport, f->sseq, f->cseq);
	(void)gen_rst(e, svc->family, &ca, f->cport, &s->addr,
	    htons(s->port), f->cseq, f->sseq);
	flow_inactive(e, f);
	flow_set_state(&e->ft, f, FS_CLOSE, now);
	e->st.flows_reset++;
	return (1);
}

/* Goes on resetting the flows of down servers, a budget at a time. */
static void
sweep(struct engine *e, uint32_t now, uint32_t budget)
{
	struct flow	*f;
	uint32_t	 end;
	unsigned	 i;

	end = e->sweep_pos + budget;
	if (end > e->ft.cap + 1)
		end = e->ft.cap + 1;
	for (; e->sweep_pos < end; e->sweep_pos++) {
		f = &e->ft.f[e->sweep_pos];
		if (f->state == FS_NONE || f->srv >= e->pool->nsrv ||
		    !e->sweep[f->srv] || !reset_due(e, f))
			continue;
		if (!reset_flow(e, f, now))
			return;		/* the queue is full: next time */
	}
	if (e->sweep_pos > e->ft.cap) {
		e->sweep_pos = 0;
		for (i = 0; i < e->pool->nsrv; i++)
			e->sweep[i] = 0;
	}
}

/*
 * A flow stops being active: it left the table, or it is closing.  Active
 * flows are what the least-* methods count, so a closed connection
 * waiting out its timeout is no load (IPVS counts these "inactive").
 */
static void
flow_inactive(struct engine *e, const struct flow *f)
{
	if (f->srv < e->pool->nsrv && e->pool->srv[f->srv].flows_active > 0)
		e->pool->srv[f->srv].flows_active--;
	if (f->svc < e->pool->nsvc && e->pool->svc[f->svc].flows_active > 0)
		e->pool->svc[f->svc].flows_active--;
}

/*
 * A flow is leaving the table.  A persistent client's time starts again:
 * it stays with its server for sticky seconds after its last connection
 * ended, not after it began.
 */
/*
 * A service's share of the flow table: an equal part of it for each
 * service.  A UDP service above it may lose its oldest flows to
 * newcomers (its own too) when the table is full (flow_victim).
 */
static int
engine_over_share(void *arg, unsigned si)
{
	const struct engine	*e = arg;
	const struct pool	*pool = e->pool;

	if (si >= pool->nsvc || pool->nsvc_used == 0)
		return (1);
	return (pool->svc[si].flows_active > e->ft.cap / pool->nsvc_used);
}

static void
engine_release(void *arg, const struct flow *f)
{
	struct engine	*e = arg;
	union addr	 a;

	if (f->cls != FC_CLOSING)
		flow_inactive(e, f);
	if (f->svc < e->pool->nsvc && e->pool->svc[f->svc].sticky &&
	    sticky_get(&e->sticky, memcpy(&a, f->caddr, sizeof(a)), f->svc,
	    e->now, e->pool->svc[f->svc].sticky) == f->srv)
		sticky_put(&e->sticky, &a, f->svc, f->srv, e->now,
		    e->pool->svc[f->svc].sticky);
}

static inline void
drop(struct engine *e, struct pktbuf *pb, int reason)
{
	pb->verdict = V_DROP;
	e->st.dropped++;
	e->st.drop[reason]++;
}

/* A drop that a service can be blamed for. */
static inline void
drop_svc(struct engine *e, struct pktbuf *pb, struct service *svc,
    int reason)
{
	drop(e, pb, reason);
	svc->drops[reason]++;
}

/*
 * First half of the work on a packet: parse it and find out whose it is.
 * What needs the flow table is left for finish(), so that a batch can
 * fetch the table's cache lines for all its packets before it needs them.
 */
static void
classify(struct engine *e, struct pktbuf *pb, struct pctx *c)
{
	struct pkt	*p = &c->p;
	int		 rc;

	c->kind = PK_DONE;
	e->st.pkts++;
	e->st.bytes += pb->len;
	pb->verdict = V_ACCEPT;
	pb->mark = 0;
	if (pb->flags & PB_CSUM_PARTIAL)
		e->st.csum_partial++;
	if (pb->flags & PB_TRUNCATED) {
		drop(e, pb, DROP_TRUNCATED);
		return;
	}
	if ((rc = pkt_parse(pb->data, pb->len, p)) != PKT_OK) {
		drop(e, pb, DROP_PARSE + rc);
		return;
	}
	/*
	 * One field at a time: the parser stored them one by one, and a
	 * load spanning two of those stores waits for both to reach the
	 * cache (a store-forwarding stall was a sixth of the engine's time).
	 */
	if (p->proto == PROTO_ICMP || p->proto == PROTO_ICMPV6) {
		if (p->family == (p->proto == PROTO_ICMP ? 4 : 6) &&
		    !(p->flags & PKT_F_FRAG) &&
		    pkt_icmp_is_error(p->family, p->icmp_type)) {
			c->kind = PK_ICMP;
			return;
		}
	}
	if (!(p->flags & PKT_F_PORTS)) {
		/*
		 * Later fragments, ICMP and other protocols.  To a virtual
		 * address they have nowhere to go; anything else is not ours.
		 */
		if (pool_is_vip(e->pool, p->family, &p->dst))
			drop(e, pb, (p->flags & PKT_F_FRAG) ? DROP_FRAGMENT :
			    DROP_NOSERVICE);
		else
			e->st.passed++;
		return;
	}
	c->svc = pool_find_service(e->pool, p->family, p->proto, &p->dst,
	    p->dport);
	if (c->svc != NULL) {
		c->kind = PK_IN;
		c->hash = flow_hash(&e->ft, &p->src, p->sport,
		    (uint16_t)(c->svc - e->pool->svc));
		return;
	}
	c->srv = pool_find_server(e->pool, p->family, p->proto, &p->src,
	    p->sport);
	if (c->srv != NULL) {
		c->kind = PK_OUT;
		c->hash = flow_hash(&e->ft, &p->dst, p->dport, c->srv->svc);
		return;
	}
	if (pool_is_vip(e->pool, p->family, &p->dst))
		drop(e, pb, DROP_NOSERVICE);
	else
		e->st.passed++;
}

static void
finish(struct engine *e, struct pktbuf *pb, struct pctx *c, uint32_t now)
{
	switch (c->kind) {
	case PK_IN:
		inbound(e, pb, &c->p, c->svc, c->hash, now);
		break;
	case PK_OUT:
		outbound(e, pb, &c->p, c->srv, c->hash, now);
		break;
	case PK_ICMP:
		icmp_error(e, pb, &c->p);
		break;
	default:
		break;
	}
}

static inline uint32_t
engine_clock(struct engine *e, uint32_t now)
{
	/*
	 * Time never runs backwards for the flow table.  The first time
	 * seen is taken as it is, whatever its distance from 0.
	 */
	if (!e->clock_set || (int32_t)(now - e->now) > 0) {
		e->now = now;
		e->clock_set = 1;
	}
	return (e->now);
}

/*
 * offload: a connection conntrack has and loadd does not -- one handed
 * over before a restart (listed by ctev_dump), or whose entry was evicted
 * -- goes back into the table, with the server its mark names.
 */
static int
offload_adopt(struct engine *e, const struct ct_end *ce, struct service *svc,
    uint32_t now)
{
	struct pool	*pool = e->pool;
	struct server	*srv = NULL;
	struct flow	*f;
	uint16_t	 si = (uint16_t)(svc - pool->svc);
	unsigned	 i = 0, k;

	for (k = 0; k < svc->nsrv; k++)
		if (SVC_SRV(pool, svc, k)->mark == ce->mark) {
			i = svc->members[k];
			srv = &pool->srv[i];
			break;
		}
	if (srv == NULL || !flow_room(&e->ft)) {
		e->st.ct_unknown++;
		return (0);
	}
	f = flow_insert(&e->ft, flow_hash(&e->ft, &ce->client, ce->cport, si),
	    &ce->client, ce->cport, si, (uint16_t)i, FS_OFFLOADED, now);
	if (f == NULL) {
		e->st.ct_unknown++;
		return (0);
	}
	f->sseq = ce->ctid;
	f->cseq = 0;
	memset(f->synms, 0, sizeof(f->synms));
	srv->flows_active++;
	srv->flows_total++;
	svc->flows_active++;
	svc->flows_total++;
	e->st.ct_adopted++;
	return (1);
}

/*
 * offload: what conntrack says of a connection loadd handed over.  Its
 * entry was confirmed ("new": the id it has, so that the destroy event of
 * an older connection on the same ports is not taken for this one's), or
 * destroyed: the flow leaves loadd's table, and its traffic, as conntrack
 * counted it, goes to its server's counters.
 */
int
engine_offload_event(struct engine *e, const struct ct_end *ce, uint32_t now)
{
	struct service	*svc;
	struct server	*srv;
	struct flow	*f;
	uint16_t	 si;

	svc = pool_find_service(e->pool, ce->family, ce->proto, &ce->vip,
	    ce->vport);
	f = NULL;
	if (svc != NULL) {
		si = (uint16_t)(svc - e->pool->svc);
		f = flow_lookup(&e->ft, flow_hash(&e->ft, &ce->client,
		    ce->cport, si), &ce->client, ce->cport, si);
	}
	now = engine_clock(e, now);
	if (f == NULL && svc != NULL && !ce->destroyed)
		return (offload_adopt(e, ce, svc, now));
	if (f == NULL || !flow_offloaded(f)) {
		e->st.ct_unknown++;
		return (0);
	}
	if (!ce->destroyed) {
		/*
		 * Confirmed (or listed by a dump): the flow has its id, and
		 * lives on past a sweep.  (A late event of an older
		 * connection to another server changes nothing.)
		 */
		if (ce->mark != e->pool->srv[f->srv].mark)
			return (1);
		if (f->sseq == 0)
			f->sseq = ce->ctid;
		if (f->sseq == ce->ctid) {
			f->seen &= (uint8_t)~FLOW_CTSWEEP;
			if (f->state == FS_OFFLOAD_PENDING)
				flow_set_state(&e->ft, f, FS_OFFLOADED, now);
		}
		return (1);
	}
	/* The end of an older connection, or of one never heard of. */
	if (f->sseq == 0 || f->sseq != ce->ctid) {
		e->st.ct_unknown++;
		return (0);
	}
	srv = &e->pool->srv[f->srv];
	srv->pkts_in += ce->pkts[0];
	srv->bytes_in += ce->bytes[0];
	srv->pkts_out += ce->pkts[1];
	srv->bytes_out += ce->bytes[1];
	svc->pkts_in += ce->pkts[0];
	svc->bytes_in += ce->bytes[0];
	svc->pkts_out += ce->pkts[1];
	svc->bytes_out += ce->bytes[1];
	flow_remove(&e->ft, f);
	e->st.ct_ended++;
	return (1);
}

/*
 * Reconciling with conntrack after lost events (ctevents.c): before a
 * dump, every confirmed offloaded flow is marked; the dump's entries and
 * new events unmark theirs (engine_offload_event); when the dump is
 * complete, what is still marked has ended unheard and leaves the table.
 * An incomplete dump unmarks everything and removes nothing.
 */
void
engine_ct_sweep_begin(struct engine *e)
{
	uint32_t	 i;

	for (i = e->ft.list[FC_OFFLOADED].head; i != FLOW_NIL;
	    i = e->ft.f[i].next)
		e->ft.f[i].seen |= FLOW_CTSWEEP;
}

unsigned
engine_ct_sweep_end(struct engine *e, int complete)
{
	struct flow	*f;
	uint32_t	 i, next;
	unsigned	 n = 0;

	for (i = e->ft.list[FC_OFFLOADED].head; i != FLOW_NIL; i = next) {
		f = &e->ft.f[i];
		next = f->next;
		if (!(f->seen & FLOW_CTSWEEP))
			continue;
		f->seen &= (uint8_t)~FLOW_CTSWEEP;
		if (complete) {
			flow_remove(&e->ft, f);
			n++;
		}
	}
	e->st.ct_swept += n;
	return (n);
}

void
engine_process(struct engine *e, struct pktbuf *pb, uint32_t now)
{
	struct pctx	 c;

	now = engine_clock(e, now);
	classify(e, pb, &c);
	finish(e, pb, &c, now);
}

/*
 * Prefetching for a batch.  The first pass classifies every packet and
 * prefetches its hash bucket, and the flow entry of the packet PF_ENTRY
 * places back (whose bucket has arrived by then); the second does the
 * work, and while it works on packet i it fetches, for a table beyond the
 * caches, the chain's second entry of packet i + PF_NEXT when the first
 * entry is another flow's.  So every miss has several packets' work to
 * hide behind, and only a few are outstanding at once (a core tracks
 * about ten).
 */
#define PF_ENTRY	8
#define PF_NEXT		6

/* A 56-byte entry mostly straddles two cache lines: fetch both. */
static inline void
prefetch_flow(const struct flow *f)
{
	__builtin_prefetch(f);
	__builtin_prefetch((const char *)f + sizeof(*f) - 1);
}

static inline void
prefetch_entry(struct engine *e, struct pctx *c)
{
	uint32_t	 b;

	if (c->kind != PK_IN && c->kind != PK_OUT)
		return;
	b = e->ft.bucket[hash_slot(c->hash, e->ft.mask)];
	c->first = b;
	if (b != FLOW_NIL)
		prefetch_flow(&e->ft.f[b]);
}

static inline void
prefetch_next(struct engine *e, const struct pctx *c)
{
	const struct flow	*f;
	const union addr	*a;
	uint16_t		 port, svc;

	if (c->first == FLOW_NIL || (c->kind != PK_IN && c->kind != PK_OUT))
		return;
	if (c->kind == PK_IN) {
		a = &c->p.src;
		port = c->p.sport;
		svc = (uint16_t)(c->svc - e->pool->svc);
	} else {
		a = &c->p.dst;
		port = c->p.dport;
		svc = c->srv->svc;
	}
	f = &e->ft.f[c->first];
	if (f->hnext != FLOW_NIL && (f->cport != port || f->svc != svc ||
	    f->caddr[3] != a->w[3] || f->caddr[0] != a->w[0] ||
	    f->caddr[1] != a->w[1] || f->caddr[2] != a->w[2]))
		prefetch_flow(&e->ft.f[f->hnext]);
}

void
engine_process_batch(struct engine *e, struct pktbuf *pb, unsigned n,
    uint32_t now)
{
	struct pctx	 c[ENGINE_BATCH];
	unsigned	 i, base, m;
	int		 big = e->ft.cap > PREFETCH2_FLOWS;

	now = engine_clock(e, now);
	for (base = 0; base < n; base += m) {
		m = n - base < ENGINE_BATCH ? n - base : ENGINE_BATCH;
		for (i = 0; i < m; i++) {
			classify(e, &pb[base + i], &c[i]);
			c[i].first = FLOW_NIL;
			if (c[i].kind == PK_IN || c[i].kind == PK_OUT)
				__builtin_prefetch(&e->ft.bucket[
				    hash_slot(c[i].hash, e->ft.mask)]);
			if (i >= PF_ENTRY)
				prefetch_entry(e, &c[i - PF_ENTRY]);
		}
		for (i = m > PF_ENTRY ? m - PF_ENTRY : 0; i < m; i++)
			prefetch_entry(e, &c[i]);
		for (i = 0; i < m; i++) {
			if (big && i + PF_NEXT < m)
				prefetch_next(e, &c[i + PF_NEXT]);
			finish(e, &pb[base + i], &c[i], now);
		}
	}
}

static void
inbound(struct engine *e, struct pktbuf *pb, const struct pkt *p,
    struct service *svc, uint32_t h, uint32_t now)
{
	struct pool	*pool = e->pool;
	struct flow	*f;
	struct server	*srv;
	uint16_t	 si = (uint16_t)(svc - pool->svc);
	int		 syn, pick, recover = 0;

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
	if (f != NULL && flow_offloaded(f) && (p->proto != PROTO_TCP ||
	    !(p->tcpflags & TH_SYN) || f->cseq != seq_next(pb->data, p))) {
		/*
		 * The rules queue only the first packet of each conntrack
		 * entry: the kernel has forgotten this flow's (its destroy
		 * event is on its way), and this is a new one -- a new
		 * decision, as when a flow expires.  Only a SYN sent again
		 * before the first was let through is the same connection.
		 */
		flow_remove(&e->ft, f);
		f = NULL;
	}
	if (f != NULL && reset_due(e, f)) {
		/*
		 * Its server is down and the service resets such flows: the
		 * client hears so now (a UDP flow just finds a new server).
		 */
		if (p->proto == PROTO_TCP) {
			if (f->cls != FC_CLOSING) {
				flow_inactive(e, f);
				flow_set_state(&e->ft, f, FS_CLOSE, now);
				e->st.flows_reset++;
			}
			if (!(p->tcpflags & TH_SYN)) {
				no_server(e, pb, p, svc, 1, now);
				return;
			}
		} else
			e->st.flows_reset++;
		flow_remove(&e->ft, f);
		f = NULL;
	}

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
		/*
		 * No room is known before the method is asked, so that a
		 * refused connection does not use up a server's turn.
		 */
		if (!flow_room(&e->ft)) {
			e->ft.st.full++;
			drop_svc(e, pb, svc, DROP_TABLEFULL);
			return;
		}
		pick = -1;
		if (svc->sticky && !recover) {
			pick = sticky_get(&e->sticky, &p->src, si, now,
			    svc->sticky);
			if (pick >= 0 && ((unsigned)pick >= pool->nsrv ||
			    pool->srv[pick].svc != si ||
			    !sched_usable(pool, (unsigned)pick)))
				pick = -1;
		}
		if (pick < 0)
			pick = svc->method->pick(pool, svc, p, now);
		if (pick < 0) {
			no_server(e, pb, p, svc, 0, now);
			return;
		}
		f = flow_insert(&e->ft, h, &p->src, p->sport, si,
		    (uint16_t)pick, e->offload ? FS_OFFLOAD_PENDING :
		    p->proto != PROTO_TCP ? FS_UDP_UNREPLIED :
		    recover ? FS_RECOVERED : FS_SYN_SENT, now);
		if (f == NULL) {
			drop_svc(e, pb, svc, DROP_TABLEFULL);
			return;
		}
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
			sticky_put(&e->sticky, &p->src, si, (uint16_t)pick,
			    now, svc->sticky);
		srv = &pool->srv[pick];
		srv->flows_active++;
		srv->flows_total++;
		svc->flows_active++;
		svc->flows_total++;
	} else if (flow_offloaded(f))
		f->last = now;
	else if (p->proto == PROTO_TCP) {
		seq_advance(&f->cseq, seq_next(pb->data, p));
		if (syn && f->state == FS_SYN_SENT &&
		    pool->srv[f->srv].syn_pending_ms == 0)
			pool->srv[f->srv].syn_pending_ms = e->ms | 1;
		else if (f->state == FS_SYN_SENT && (p->tcpflags &
		    (TH_SYN | TH_ACK | TH_RST)) == TH_ACK) {
			/*
			 * The client acknowledges a SYN+ACK this loadd never
			 * saw (the replies took another balancer): the server
			 * did answer.  For passive health only: the flow stays
			 * half-open, evictable (a blind ACK is no proof).
			 */
			pool->srv[f->srv].synacks++;
			pool->srv[f->srv].syn_pending_ms = 0;
		}
		tcp_track(e, f, p->tcpflags, 1, now);
	} else
		f->last = now;

	srv = &pool->srv[f->srv];
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
 * A new flow that no server takes (or a packet of a flow whose server went
 * down, reset): a TCP client gets a RST in the packet's place, a UDP one
 * an ICMP port unreachable, as the service says, so that nobody waits.
 */
static void
no_server(struct engine *e, struct pktbuf *pb, const struct pkt *p,
    struct service *svc, int gone, uint32_t now)
{
	struct engine_gen *g;
	int		 how = svc->hc != NULL ? svc->hc->noserver : HC_NS_DROP;

	if (gone)
		how = HC_NS_RESET;
	if (e->reset == NULL || how == HC_NS_DROP)
		goto drop;
	if (p->proto == PROTO_TCP && how == HC_NS_RESET) {
		if (!answer_rst(e, pb, p, now))
			goto drop;
		/* A reset flow was counted as such: this is no refusal. */
		if (!gone) {
			svc->drops[DROP_NOSERVER]++;
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
	drop_svc(e, pb, svc, DROP_NOSERVER);
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

static void
outbound(struct engine *e, struct pktbuf *pb, const struct pkt *p,
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
	if (f != NULL && &pool->srv[f->srv] == srv) {
		if (p->proto == PROTO_TCP) {
			if (f->state == FS_SYN_SENT ||
			    f->state == FS_RECOVERED)
				f->sseq = seq_next(pb->data, p);
			else
				seq_advance(&f->sseq, seq_next(pb->data, p));
			if (f->state == FS_SYN_SENT) {
				/* Passive health: the server answers. */
				if (p->tcpflags & TH_RST)
					srv->refused++;
				else if (p->tcpflags & TH_SYN)
					srv->synacks++;
				srv->syn_pending_ms = 0;
			}
			tcp_track(e, f, p->tcpflags, 0, now);
		} else if (f->state == FS_UDP_UNREPLIED)
			/* The server answers: a flow worth keeping. */
			flow_set_state(&e->ft, f, FS_UDP, now);
		else
			f->last = now;
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
		if (f->seen != 0 && (st == FS_ESTABLISHED ||
		    st == FS_SYN_RECV))
			st = FS_FIN_WAIT;
		if (f->seen == (FLOW_CFIN | FLOW_SFIN) && st == FS_FIN_WAIT)
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

/*
 * ICMP errors about balanced flows (RFC 5508).  The error quotes the
 * beginning of the packet that caused it, as that packet was when the
 * error was made: on one side of loadd it names the virtual address, on
 * the other the real server.  Both the outer header and the quote are
 * translated, and every checksum over them.  An error with a bad checksum
 * is dropped rather than translated, so that loadd never turns a damaged
 * message into a valid one.  No ICMP message changes a flow's state.
 *
 * a) The quote is a reply we rewrote (from VIP:port to a client): the
 *    error went to the virtual address, from a router on the client's side
 *    or from this host (fragmentation needed on the way to the client).
 *    It goes to the flow's server, quoting the server's address and port.
 * b) The quote is a client's packet we rewrote (to server:port): the error
 *    comes from the server's side and goes to the client, quoting the
 *    virtual address and port, and from the virtual address if the server
 *    itself sent it.
 */
static void
icmp_error(struct engine *e, struct pktbuf *pb, const struct pkt *p)
{
	struct pool	*pool = e->pool;
	uint8_t		*ip = pb->data;
	uint8_t		*quote = ip + p->l3len + 8;
	size_t		 qlen = (size_t)p->len - p->l3len - 8;
	struct pkt	 q;
	struct service	*svc;
	struct server	*srv;
	struct flow	*f;
	uint32_t	 h;
	uint16_t	 si;
	unsigned	 alen = p->family == 4 ? 4 : 16;
	unsigned	 srcoff = p->family == 4 ? 12 : 8;
	unsigned	 dstoff = p->family == 4 ? 16 : 24;

	if (pkt_parse_inner(quote, qlen, &q) != PKT_OK ||
	    !(q.flags & PKT_F_PORTS) || q.family != p->family) {
		/* Not about a TCP or UDP flow, so not about ours. */
		goto notours;
	}
	if ((svc = pool_find_service(pool, q.family, q.proto, &q.src,
	    q.sport)) != NULL) {
		si = (uint16_t)(svc - pool->svc);
		h = flow_hash(&e->ft, &q.dst, q.dport, si);
		f = flow_lookup(&e->ft, h, &q.dst, q.dport, si);
		if (f == NULL) {
			drop_svc(e, pb, svc, DROP_NOFLOW);
			return;
		}
		if (!icmp_cksum_ok(ip, p)) {
			drop_svc(e, pb, svc, DROP_ICMP_CSUM);
			return;
		}
		srv = &pool->srv[f->srv];
		rewrite_inner(quote, &q, 0, &srv->addr, htons(srv->port));
		if (addr_eq(&p->dst, &svc->vip))
			memcpy(ip + dstoff, srv->addr.b, alen);
		srv->pkts_in++;
		srv->bytes_in += p->len;
	} else if ((srv = pool_find_server(pool, q.family, q.proto, &q.dst,
	    q.dport)) != NULL) {
		svc = &pool->svc[srv->svc];
		if (!icmp_cksum_ok(ip, p)) {
			drop_svc(e, pb, svc, DROP_ICMP_CSUM);
			return;
		}
		rewrite_inner(quote, &q, 1, &svc->vip, htons(svc->port));
		if (addr_eq(&p->src, &srv->addr))
			memcpy(ip + srcoff, svc->vip.b, alen);
		srv->pkts_out++;
		srv->bytes_out += p->len;
	} else
		goto notours;

	icmp_finish(ip, p);
	pb->verdict = V_REWRITTEN;
	e->st.rewritten++;
	e->st.icmp_translated++;
	return;

notours:
	if (pool_is_vip(pool, p->family, &p->dst))
		drop(e, pb, DROP_NOSERVICE);
	else
		e->st.passed++;
}

/* Whether the ICMP or ICMPv6 checksum of the message is right. */
static int
icmp_cksum_ok(const uint8_t *ip, const struct pkt *p)
{
	uint32_t	 sum = 0;
	unsigned	 l4len = (unsigned)p->len - p->l3len;

	if (p->family == 6)
		sum = cksum_pseudo(6, ip + 8, ip + 24, PROTO_ICMPV6, l4len);
	sum = cksum_add(sum, ip + p->l3len, l4len);
	return (cksum_fold(sum) == 0xffff);
}

/*
 * Recomputes the ICMP checksum and the outer IPv4 header checksum in full:
 * errors are rare, and what changed is spread over the message.
 */
static void
icmp_finish(uint8_t *ip, const struct pkt *p)
{
	uint8_t		*icmp = ip + p->l3len;
	unsigned	 l4len = (unsigned)p->len - p->l3len;
	uint32_t	 sum = 0;
	uint16_t	 ck = 0;

	memcpy(icmp + 2, &ck, 2);
	if (p->family == 6)
		sum = cksum_pseudo(6, ip + 8, ip + 24, PROTO_ICMPV6, l4len);
	ck = cksum_finish(cksum_add(sum, icmp, l4len));
	memcpy(icmp + 2, &ck, 2);
	if (p->family == 4) {
		ck = 0;
		memcpy(ip + 10, &ck, 2);
		ck = cksum_finish(cksum_add(0, ip, p->l3len));
		memcpy(ip + 10, &ck, 2);
	}
}

/*
 * Rewrites the quoted packet's destination (dst != 0) or source, its
 * IPv4 header checksum, and its transport checksum when the quote holds
 * it; the quote's checksums cover the whole original packet, so they can
 * only be updated, not recomputed.
 */
static void
rewrite_inner(uint8_t *ip, const struct pkt *q, int dst,
    const union addr *na, uint16_t nport)
{
	uint8_t		*l4 = ip + q->l3len;
	const union addr *oa = dst ? &q->dst : &q->src;
	uint16_t	 oport = dst ? q->dport : q->sport;
	unsigned	 nw = q->family == 4 ? 1 : 4, coff;
	uint16_t	 ck;

	if (q->family == 4) {
		memcpy(&ck, ip + 10, 2);
		ck = cksum_update32(ck, oa->w[0], na->w[0]);
		memcpy(ip + 10, &ck, 2);
		memcpy(ip + (dst ? 16 : 12), na->w, 4);
	} else
		memcpy(ip + (dst ? 24 : 8), na->w, 16);
	memcpy(l4 + (dst ? 2 : 0), &nport, 2);

	coff = q->proto == PROTO_TCP ? 16 : 6;
	if ((unsigned)q->len - q->l3len < coff + 2)
		return;		/* the quote ends before the checksum */
	memcpy(&ck, l4 + coff, 2);
	if (q->proto == PROTO_UDP && ck == 0 && q->family == 4)
		return;
	ck = cksum_update_words(ck, oa->w, na->w, nw);
	ck = cksum_update16(ck, oport, nport);
	if (q->proto == PROTO_UDP && ck == 0)
		ck = 0xffff;
	memcpy(l4 + coff, &ck, 2);
}

void
engine_set_ms(struct engine *e, uint32_t ms)
{
	e->ms = ms;
}

void
engine_tick(struct engine *e, uint32_t now)
{
	now = engine_clock(e, now);
	flow_expire(&e->ft, now, EXPIRE_BUDGET);
	if (e->sweep_pos != 0)
		sweep(e, now, SWEEP_BUDGET);
	if (now != e->sched_tick) {
		sched_tick(e->pool, now);
		e->sched_tick = now;
	}
}
