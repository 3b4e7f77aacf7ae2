/*
 * The engine: classify, find or create the flow, rewrite, verdict.
 *
 * This file owns the engine's set-up and the first half of the work on a
 * packet: parsing it, finding out whose it is, and handing it on to the
 * other parts (engine_priv.h lists them), in batches that prefetch the
 * flow table.  It also answers the flow table's callbacks: a flow
 * leaving, a service's share.
 */
#include <arpa/inet.h>

#include <stdlib.h>
#include <string.h>

#include "engine_priv.h"
#include "reset.h"

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
	[DROP_FULL] = "servers_full",
	[DROP_MAXCLIENTS] = "max_clients_reached",
	[DROP_CLIENT_CONNS] = "client_conns_reached",
	[DROP_CLIENT_RATE] = "client_rate_exceeded",
};

static void	 engine_release(void *, const struct flow *);
static int	 engine_over_share(void *, unsigned);

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
	    (e->sweep = calloc(POOL_MAXSERVERS + 1, 1)) == NULL ||
	    srvhist_init(&e->hist) == -1) {
		engine_free(e);
		return (-1);
	}
	if (timeouts != NULL)
		for (i = 0; i < FC_N; i++)
			if (timeouts[i] != 0)	/* 0: the table's default */
				e->ft.timeout[i] = timeouts[i];
	if (clients_init(&e->clients, ENGINE_CLIENTS,
	    (uint32_t)(e->ft.hkey.k[1] >> 32) ^ 0xc11e47) == -1) {
		engine_free(e);
		return (-1);
	}
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
	engine_fp_free(e);
	flowtab_free(&e->ft);
	sticky_free(&e->sticky);
	clients_free(&e->clients);
	reset_free(e->reset);
	e->reset = NULL;
	free(e->gen);
	e->gen = NULL;
	free(e->sweep);
	e->sweep = NULL;
	srvhist_free(&e->hist);
}

void
engine_set_reset(struct engine *e, struct resetter *r, int unknown)
{
	reset_free(e->reset);
	e->reset = r;
	e->unknown_reset = unknown;
}

void
engine_set_ms(struct engine *e, uint32_t ms)
{
	e->ms = ms;
}

void
engine_set_agent(struct engine *e, const struct agent *a)
{
	e->sc.agent = a;
}

void
engine_set_mono_ms(struct engine *e, uint64_t now_ms)
{
	e->sc.now_ms = now_ms;
}

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

/*
 * A flow is leaving the table.  A persistent client's time starts again:
 * it stays with its server for sticky seconds after its last connection
 * ended, not after it began.
 */
static void
engine_release(void *arg, const struct flow *f)
{
	struct engine	*e = arg;
	union addr	 a;

	if (f->cls != FC_CLOSING)
		flow_inactive(e, f);
	if (e->fp != NULL)
		engine_fp_release(e, &e->ft.f[f - e->ft.f]);
	if (f->svc < e->pool->nsvc && e->pool->svc[f->svc].sticky &&
	    sticky_get(&e->sticky, memcpy(&a, f->caddr, sizeof(a)), f->svc,
	    e->now, e->pool->svc[f->svc].sticky) == f->srv)
		sticky_put(&e->sticky, &a, f->svc, f->srv, e->now,
		    e->pool->svc[f->svc].sticky);
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
		engine_inbound(e, pb, &c->p, c->svc, c->hash, now);
		break;
	case PK_OUT:
		engine_outbound(e, pb, &c->p, c->srv, c->hash, now);
		break;
	case PK_ICMP:
		engine_icmp_error(e, pb, &c->p);
		break;
	default:
		break;
	}
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
