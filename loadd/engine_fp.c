/*
 * offload = bpf: the engine's side of the eBPF fast path (doc/fastpath.md).
 *
 * The engine stays what it is without the fast path: it decides every
 * connection from its first packet, through the queue.  Then it asks for
 * the flow to be put in the map, both directions -- a TCP flow at once
 * (its SYN), a UDP flow after ENGINE_FP_AFTER datagrams -- and from then
 * on the kernel carries its packets and tells loadd of the SYN, FIN and
 * RST among them (engine_fp_event), which the engine takes as if it had
 * seen them: passive health, answer times, the flow's state.
 *
 * The engine makes no system call: it queues its adds and deletes (struct
 * engine_fpreq) and the live loop carries them out (the adds before the
 * verdicts of the batch that made them), or at once through the drain
 * callback when the queue fills (so that no delete is ever lost while a
 * drain exists).  Without a drain -- replay, the fuzzers, the unit tests
 * -- nothing is lost either while the caller empties the queue, and a
 * full queue is counted.  The map's counters come back through
 * engine_fp_update: packets and bytes to the flow's server and service,
 * the last packet's time to the flow's timer (idle expiry as without the
 * fast path), the client's ACK that makes a flow established (no event
 * tells it), and the FIN and RST whose events a full ring lost.  A flow
 * leaves the map when it is over (TIME_WAIT, CLOSE) or leaves the table.
 *
 * Runtime state owned here: struct engine_fp (the queue, the list of
 * flows in the map, the counters already taken from each, when each was
 * asked in).  A flow is in the map while FLOW_FAST is set; FLOW_FPNO
 * keeps it out for good (the map refused it, or it was taken out).
 */
#include <arpa/inet.h>

#include <stdlib.h>
#include <string.h>

#include "engine_priv.h"

static int	 fp_push(struct engine *, const struct engine_fpreq *);
static void	 fp_tuple(const struct engine *, const struct flow *,
		    struct engine_fpreq *);
static void	 fp_link(struct engine_fp *, uint32_t);
static void	 fp_unlink(struct engine_fp *, uint32_t);
static void	 fp_account(struct engine *, unsigned, uint64_t[4],
		    const struct engine_fpcount *);
static void	 fp_close(struct engine *, struct flow *,
		    const struct engine_fpcount *, uint32_t);
static void	 fp_apply(struct engine *, struct flow *, uint8_t, int,
		    uint32_t);
static void	 fp_answered(struct engine *, struct flow *, uint32_t);

int
engine_set_fastpath(struct engine *e, engine_fp_drain_fn drain, void *arg)
{
	struct engine_fp	*fp;

	if ((fp = calloc(1, sizeof(*fp))) == NULL ||
	    (fp->q = calloc(ENGINE_FPQMAX, sizeof(*fp->q))) == NULL ||
	    (fp->fl = calloc((size_t)e->ft.cap + 1, sizeof(*fp->fl))) ==
	    NULL) {
		if (fp != NULL)
			free(fp->q);
		free(fp);
		return (-1);
	}
	fp->drain = drain;
	fp->arg = arg;
	fp->synmax = e->ft.cap / 4;
	e->fp = fp;
	return (0);
}

void
engine_fp_free(struct engine *e)
{
	if (e->fp == NULL)
		return;
	free(e->fp->q);
	free(e->fp->fl);
	free(e->fp);
	e->fp = NULL;
}

struct engine_fpreq *
engine_fp_queue(struct engine *e, unsigned *n)
{
	struct engine_fpreq	*q;
	struct engine_fp	*fp = e->fp;

	if (fp == NULL) {
		*n = 0;
		return (NULL);
	}
	*n = fp->nq - fp->qhead;
	q = fp->q + fp->qhead;
	fp->nq = fp->qhead = fp->lastadd = 0;
	return (q);
}

/*
 * The adds queued so far, and the deletes queued before them (order is
 * kept: a tuple may leave and come back): what the live loop carries out
 * before it sends a batch's verdicts, so that the server's answer to a
 * SYN finds the flow in the map.  The rest waits for engine_fp_queue.
 */
struct engine_fpreq *
engine_fp_queue_adds(struct engine *e, unsigned *n)
{
	struct engine_fp	*fp = e->fp;
	struct engine_fpreq	*q;

	if (fp == NULL || fp->lastadd <= fp->qhead) {
		*n = 0;
		return (NULL);
	}
	q = fp->q + fp->qhead;
	*n = fp->lastadd - fp->qhead;
	fp->qhead = fp->lastadd;
	return (q);
}

/* Queues a request; when the queue is full its owner empties it first. */
static int
fp_push(struct engine *e, const struct engine_fpreq *r)
{
	struct engine_fp	*fp = e->fp;

	if (fp->nq == ENGINE_FPQMAX && fp->drain != NULL)
		fp->drain(fp->arg, e);
	if (fp->nq == ENGINE_FPQMAX) {
		e->st.fp_qfull++;
		return (-1);
	}
	fp->q[fp->nq++] = *r;
	if (r->op == FPQ_ADD)
		fp->lastadd = fp->nq;
	return (0);
}

/* The map's view of a flow: client -> VIP, rewritten to the server. */
static void
fp_tuple(const struct engine *e, const struct flow *f, struct engine_fpreq *r)
{
	const struct service	*svc = &e->pool->svc[f->svc];
	const struct server	*srv = &e->pool->srv[f->srv];

	memset(r, 0, sizeof(*r));
	r->family = svc->family;
	r->proto = svc->proto;
	r->flow = (uint32_t)(f - e->ft.f);
	r->srv = f->srv;
	memcpy(r->client.w, f->caddr, sizeof(r->client.w));
	r->vip = svc->vip;
	r->server = srv->addr;
	r->cport = ntohs(f->cport);
	r->vport = svc->port;
	r->sport = srv->port;
}

static void
fp_link(struct engine_fp *fp, uint32_t i)
{
	fp->fl[i].prev = FLOW_NIL;
	fp->fl[i].next = fp->head;
	fp->fl[i].round_added = fp->round;
	fp->fl[i].round_seen = fp->round;
	if (fp->head != FLOW_NIL)
		fp->fl[fp->head].prev = i;
	fp->head = i;
	fp->count++;
}

static void
fp_unlink(struct engine_fp *fp, uint32_t i)
{
	struct engine_fpflow	*l = &fp->fl[i];

	if (l->prev != FLOW_NIL)
		fp->fl[l->prev].next = l->next;
	else
		fp->head = l->next;
	if (l->next != FLOW_NIL)
		fp->fl[l->next].prev = l->prev;
	l->next = l->prev = FLOW_NIL;
	fp->count--;
}

/*
 * A packet of a TCP flow loadd has decided, or of a UDP flow (answered
 * or not): into the map, unless it is there already or kept out.  TCP at
 * once: the map's events tell loadd of its SYN+ACK, FIN and RST (but once
 * established while half-open flows pile up: synmax).  UDP
 * after ENGINE_FP_AFTER packets: one-way datagrams (a stream to a server
 * that never answers) go in, while a spoofed flood, one datagram per
 * tuple, never costs the map anything.  On every such packet, so the
 * test comes first.
 */
void
engine_fp_offer(struct engine *e, struct flow *f)
{
	struct engine_fpreq	 r;
	uint32_t		 i = (uint32_t)(f - e->ft.f);

	if (f->seen & (FLOW_FAST | FLOW_FPNO | FLOW_CFIN | FLOW_SFIN))
		return;
	if ((f->state == FS_UDP || f->state == FS_UDP_UNREPLIED) &&
	    ++e->fp->fl[i].npkts < ENGINE_FP_AFTER)
		return;
	if ((f->state == FS_SYN_SENT || f->state == FS_SYN_RECV) &&
	    e->ft.list[FC_HALFOPEN].count > e->fp->synmax) {
		e->st.fp_synwait++;	/* offered again once established */
		return;
	}
	fp_tuple(e, f, &r);
	r.op = FPQ_ADD;
	if (fp_push(e, &r) == -1)
		return;
	f->seen |= FLOW_FAST;
	e->fp->fl[i].since = e->ms;
	e->fp->fl[i].csyn = 0;
	memset(e->fp->fl[i].taken, 0, sizeof(e->fp->fl[i].taken));
	fp_link(e->fp, i);
	e->st.fp_added++;
}

/* A flow leaves the table: out of the map, and its slot starts afresh. */
void
engine_fp_release(struct engine *e, struct flow *f)
{
	uint32_t	 i = (uint32_t)(f - e->ft.f);

	engine_fp_takeout(e, f);
	e->fp->fl[i].npkts = 0;
}

/*
 * The flow leaves the map (it leaves the table, or is to be closed or
 * reset on the slow path): a delete, with the counters already taken so
 * that whoever carries it out can account for the rest.
 */
void
engine_fp_takeout(struct engine *e, struct flow *f)
{
	struct engine_fpreq	 r;
	uint32_t		 i = (uint32_t)(f - e->ft.f);

	if (e->fp == NULL || !(f->seen & FLOW_FAST))
		return;
	fp_tuple(e, f, &r);
	r.op = FPQ_DEL;
	memcpy(r.taken, e->fp->fl[i].taken, sizeof(r.taken));
	(void)fp_push(e, &r);
	f->seen &= (uint8_t)~FLOW_FAST;
	f->seen |= FLOW_FPNO;
	fp_unlink(e->fp, i);
}

/* The map would not take a flow (full, say): loadd carries it. */
void
engine_fp_refused(struct engine *e, const struct engine_fpreq *r)
{
	struct flow	*f;

	if (e->fp == NULL || r->op != FPQ_ADD || r->flow == FLOW_NIL ||
	    r->flow > e->ft.cap)
		return;
	e->st.fp_refused++;
	f = &e->ft.f[r->flow];
	/* Only if the slot still holds that flow. */
	if (!(f->seen & FLOW_FAST) || f->srv != r->srv ||
	    f->cport != htons(r->cport) ||
	    memcmp(f->caddr, r->client.w, sizeof(f->caddr)) != 0)
		return;
	f->seen &= (uint8_t)~FLOW_FAST;
	f->seen |= FLOW_FPNO;
	fp_unlink(e->fp, r->flow);
}

/* A delete was carried out; c is what the map had counted until then. */
void
engine_fp_deleted(struct engine *e, const struct engine_fpreq *r,
    const struct engine_fpcount *c)
{
	uint64_t	 taken[4];

	e->st.fp_deleted++;
	memcpy(taken, r->taken, sizeof(taken));
	if (c != NULL && c->has)
		fp_account(e, r->srv, taken, c);
}

/*
 * The traffic the map counted since taken, to the server and service,
 * for the directions read; taken moves up to what was read.
 */
static void
fp_account(struct engine *e, unsigned si, uint64_t taken[4],
    const struct engine_fpcount *c)
{
	struct server	*srv;
	struct service	*svc;
	const uint64_t	 now[4] = { c->pkts[0], c->pkts[1], c->bytes[0],
			    c->bytes[1] };
	uint64_t	 d[4] = { 0, 0, 0, 0 };
	int		 k;

	for (k = 0; k < 4; k++) {
		if (!(c->has & (k % 2 == 0 ? ENGINE_FPC_TO_SERVER :
		    ENGINE_FPC_TO_CLIENT)))
			continue;
		/* A counter below what was taken is a new entry's: all. */
		d[k] = now[k] >= taken[k] ? now[k] - taken[k] : now[k];
		taken[k] = now[k];
	}
	if (si >= e->pool->nsrv)
		return;
	srv = &e->pool->srv[si];
	svc = &e->pool->svc[srv->svc];
	srv->pkts_in += d[0];
	srv->pkts_out += d[1];
	srv->bytes_in += d[2];
	srv->bytes_out += d[3];
	svc->pkts_in += d[0];
	svc->pkts_out += d[1];
	svc->bytes_in += d[2];
	svc->bytes_out += d[3];
}

/*
 * The flow in the map with an entry's tuple, or FLOW_NIL (counted): its
 * delete is on its way, or the entry is not loadd's.
 */
uint32_t
engine_fp_find(struct engine *e, const struct engine_fpreq *r)
{
	struct pool	*pool = e->pool;
	struct service	*svc;
	struct server	*srv;
	struct flow	*f;
	uint16_t	 si, cport = htons(r->cport);

	if (e->fp == NULL || (svc = pool_find_service(pool, r->family,
	    r->proto, &r->vip, htons(r->vport))) == NULL)
		goto stray;
	si = (uint16_t)(svc - pool->svc);
	f = flow_lookup(&e->ft, flow_hash(&e->ft, &r->client, cport, si),
	    &r->client, cport, si);
	if (f == NULL || !(f->seen & FLOW_FAST))
		goto stray;
	srv = &pool->srv[f->srv];
	if (srv->port != r->sport || !addr_eq(&srv->addr, &r->server))
		goto stray;
	return ((uint32_t)(f - e->ft.f));
stray:
	if (e->fp != NULL)
		e->st.fp_strays++;
	return (FLOW_NIL);
}

/*
 * A round of the poll over the whole map is complete: a flow that was in
 * the map when it began and of which it read no entry is gone from the
 * map behind loadd's back (bpftool, a hand): the slow path carries it.
 */
void
engine_fp_round_end(struct engine *e)
{
	struct engine_fp	*fp = e->fp;
	struct engine_fpflow	*l;
	uint32_t		 i, next;

	if (fp == NULL)
		return;
	for (i = fp->head; i != FLOW_NIL; i = next) {
		l = &fp->fl[i];
		next = l->next;
		if (l->round_added == fp->round || l->round_seen == fp->round)
			continue;
		e->ft.f[i].seen &= (uint8_t)~FLOW_FAST;
		e->ft.f[i].seen |= FLOW_FPNO;
		fp_unlink(fp, i);
	}
	fp->round++;
}

/* What the map counted for the flow in slot i: counters, timer, end. */
void
engine_fp_update(struct engine *e, uint32_t i,
    const struct engine_fpcount *c, uint32_t now)
{
	struct engine_fp	*fp = e->fp;
	struct flow		*f;
	uint32_t		 last;

	if (fp == NULL || i == FLOW_NIL || i > e->ft.cap)
		return;
	f = &e->ft.f[i];
	if (!(f->seen & FLOW_FAST))
		return;
	now = engine_clock(e, now);
	if (!c->has) {
		/* Gone from the map behind loadd's back: the slow path's. */
		f->seen &= (uint8_t)~FLOW_FAST;
		f->seen |= FLOW_FPNO;
		fp_unlink(fp, i);
		return;
	}
	fp->fl[i].round_seen = fp->round;
	fp_account(e, f->srv, fp->fl[i].taken, c);
	/*
	 * A UDP flow that went in unanswered (one-way datagrams) and whose
	 * server has answered since, through the map: a flow worth keeping,
	 * with the timeout and the place in eviction order that go with it.
	 */
	if (f->state == FS_UDP_UNREPLIED && fp->fl[i].taken[1] != 0) {
		last = f->last;
		flow_set_state(&e->ft, f, FS_UDP, now);
		f->last = last;
	}
	last = now - c->idle;
	if (c->idle <= now && (int32_t)(last - f->last) > 0)
		f->last = last;
	if (e->pool->svc[f->svc].proto != PROTO_TCP)
		return;
	/*
	 * The client sent more than SYNs through the map (its ACK of the
	 * SYN+ACK), the server answered: established, as tcp_track would
	 * have said on the ACK.  Until then a spoofed SYN's flow, answered
	 * by its server, stays half-open (evictable).  The counters are
	 * those taken so far: the poll reads one direction at a time.
	 */
	if (fp->fl[i].taken[0] > fp->fl[i].csyn && fp->fl[i].taken[1] != 0)
		fp_answered(e, f, now);
	if (c->rst || c->fin[0] || c->fin[1])
		fp_close(e, f, c, now);
}

/*
 * Both ends talked through the map, and the flow is still half-open to
 * loadd: the client's ACK (the map tells no event of it), or the
 * SYN+ACK's event was lost (a full ring), or the flow was taken back
 * half-open at start.  Established, and a server's answer not told
 * counted for passive health (not its time: that is not known).
 */
static void
fp_answered(struct engine *e, struct flow *f, uint32_t now)
{
	struct server	*srv = &e->pool->srv[f->srv];

	if (f->state == FS_SYN_SENT) {
		srv->synacks++;
		srv->syn_pending_ms = 0;
	} else if (f->state != FS_SYN_RECV && f->state != FS_RECOVERED)
		return;
	flow_set_state(&e->ft, f, FS_ESTABLISHED, now);
	e->st.fp_answered++;
}

/*
 * A FIN or RST the map saw and whose event never came (the ring was
 * full; or it is still in the ring, and then it changes nothing more):
 * the flow takes the state it would have had.
 */
static void
fp_close(struct engine *e, struct flow *f, const struct engine_fpcount *c,
    uint32_t now)
{
	int	 missed = 0;

	if (c->fin[0] && !(f->seen & FLOW_CFIN)) {
		fp_apply(e, f, TH_FIN | TH_ACK, 1, now);
		missed = 1;
	}
	if (c->fin[1] && !(f->seen & FLOW_SFIN) && f->state != FS_NONE) {
		fp_apply(e, f, TH_FIN | TH_ACK, 0, now);
		missed = 1;
	}
	if (c->rst && f->state != FS_CLOSE && f->state != FS_NONE) {
		/* Which side sent it the map does not say: no health sign. */
		fp_apply(e, f, TH_RST, 1, now);
		missed = 1;
	}
	if (missed)
		e->st.fp_closed++;
}

/* A segment's flags the map carried, as loadd would have taken them. */
static void
fp_apply(struct engine *e, struct flow *f, uint8_t fl, int from_client,
    uint32_t now)
{
	engine_tcp_seen(e, f, fl, from_client, now);
	if (f->state == FS_TIME_WAIT || f->state == FS_CLOSE)
		engine_fp_takeout(e, f);
}

void
engine_fp_event(struct engine *e, const struct engine_fpev *ev, uint32_t now)
{
	const struct engine_fpreq *t = &ev->t;
	struct service	*svc;
	struct server	*srv;
	struct flow	*f;
	uint16_t	 si, cport = htons(t->cport);
	uint32_t	 ms;

	if (e->fp == NULL)
		return;
	if (t->proto != PROTO_TCP || (svc = pool_find_service(e->pool,
	    t->family, t->proto, &t->vip, htons(t->vport))) == NULL)
		goto stale;
	si = (uint16_t)(svc - e->pool->svc);
	f = flow_lookup(&e->ft, flow_hash(&e->ft, &t->client, cport, si),
	    &t->client, cport, si);
	/*
	 * The flow must be the one the map carried: asked into it (in it
	 * still, or taken out since: the packet went through all the same),
	 * to this server, and not after the packet (a client's port used
	 * again for a new flow).
	 */
	if (f == NULL || !(f->seen & (FLOW_FAST | FLOW_FPNO)) ||
	    (int32_t)(ev->ms - e->fp->fl[f - e->ft.f].since) < 0)
		goto stale;
	srv = &e->pool->srv[f->srv];
	if (srv->port != t->sport || !addr_eq(&srv->addr, &t->server))
		goto stale;
	now = engine_clock(e, now);
	if (ev->from_client && (ev->tcpflags & (TH_SYN | TH_ACK)) == TH_SYN)
		e->fp->fl[f - e->ft.f].csyn++;
	ms = e->ms;
	e->ms = ev->ms;		/* the packet's time: answer times, health */
	fp_apply(e, f, ev->tcpflags, ev->from_client, now);
	e->ms = ms;
	e->st.fp_events++;
	return;
stale:
	e->st.fp_ev_stale++;
}

/*
 * At start: a flow the pinned map carries (an earlier loadd put it
 * there) goes back into the table with its server, found by address and
 * port in the service of its virtual address.  0: none of this
 * configuration's, or no room; the caller deletes it from the map.
 */
int
engine_fp_adopt(struct engine *e, const struct engine_fpreq *r,
    const struct engine_fpcount *c, uint32_t now)
{
	struct pool	*pool = e->pool;
	struct service	*svc;
	struct flow	*f;
	uint16_t	 si, cport = htons(r->cport);
	uint32_t	 i;
	unsigned	 k, srv = 0;
	int		 found = 0;

	if (e->fp == NULL || (svc = pool_find_service(pool, r->family,
	    r->proto, &r->vip, htons(r->vport))) == NULL)
		goto unknown;
	for (k = 0; k < svc->nsrv && !found; k++) {
		srv = svc->members[k];
		found = pool->srv[srv].port == r->sport &&
		    addr_eq(&pool->srv[srv].addr, &r->server);
	}
	si = (uint16_t)(svc - pool->svc);
	now = engine_clock(e, now);
	if (!found || !flow_room(&e->ft))
		goto unknown;
	/*
	 * A TCP flow the server has not answered through the map is taken
	 * back half-open (evictable), until the map shows both ends talk;
	 * a UDP flow unanswered likewise.
	 */
	if ((f = flow_insert(&e->ft, flow_hash(&e->ft, &r->client, cport, si),
	    &r->client, cport, si, (uint16_t)srv, r->proto == PROTO_TCP ?
	    (c->pkts[1] != 0 ? FS_ESTABLISHED : FS_RECOVERED) :
	    (c->pkts[1] != 0 ? FS_UDP : FS_UDP_UNREPLIED), now)) == NULL)
		goto unknown;
	f->cseq = f->sseq = 0;		/* not known: the map does not say */
	memset(f->synms, 0, sizeof(f->synms));
	f->seen = FLOW_FAST;
	i = (uint32_t)(f - e->ft.f);
	/* The events still in the ring are about this flow. */
	e->fp->fl[i].since = e->ms - (1u << 30);
	memset(e->fp->fl[i].taken, 0, sizeof(e->fp->fl[i].taken));
	fp_link(e->fp, i);
	pool->srv[srv].flows_active++;
	pool->srv[srv].flows_total++;
	svc->flows_active++;
	svc->flows_total++;
	if (svc->sticky)
		sticky_put(&e->sticky, &r->client, si, (uint16_t)srv, now,
		    svc->sticky);
	e->st.fp_adopted++;
	engine_fp_update(e, i, c, now);
	return (1);
unknown:
	e->st.fp_unknown++;
	return (0);
}
