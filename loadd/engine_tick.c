/*
 * The engine between batches: flow timeouts, the rates the schedulers
 * sample once a second (and the servers' histories, srvhist.c), and
 * the reset of a down server's flows, a budget at a time.
 *
 * This file owns the sweep (which servers' flows are to be reset, and
 * how far through the table it got) and the queue of packets the engine
 * makes up, which the I/O layer empties after each batch
 * (engine_generated); engine_flow.c adds its answers to it too.
 */
#include <arpa/inet.h>

#include <string.h>

#include "engine_priv.h"
#include "reset.h"
#include "sched.h"

#define EXPIRE_BUDGET	4096	/* entries looked at per engine_tick() */
#define SWEEP_BUDGET	65536	/* the same, for a down server's flows */

static int	 gen_rst(struct engine *, int, const union addr *, uint16_t,
		    const union addr *, uint16_t, uint32_t, uint32_t, uint8_t);
static int	 reset_flow(struct engine *, struct flow *, uint32_t);
static void	 sweep(struct engine *, uint32_t, uint32_t);

void
engine_tick(struct engine *e, uint32_t now)
{
	now = engine_clock(e, now);
	flow_expire(&e->ft, now, EXPIRE_BUDGET);
	if (e->sweep_pos != 0)
		sweep(e, now, SWEEP_BUDGET);
	if (now != e->sched_tick) {
		sched_tick(e->pool, now);
		limits_tick(e->pool, e->ms);
		srvhist_tick(&e->hist, e->pool, now);
		e->sched_tick = now;
	}
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

struct engine_gen *
engine_generated(struct engine *e, unsigned *n)
{
	*n = e->ngen;
	e->ngen = 0;
	return (e->gen);
}

/* A RST (or a bare ACK) to send on its own; 0 when the queue is full. */
static int
gen_rst(struct engine *e, int family, const union addr *src, uint16_t sport,
    const union addr *dst, uint16_t dport, uint32_t seq, uint32_t ack,
    uint8_t flags)
{
	struct engine_gen *g;

	if (e->reset == NULL || e->ngen == ENGINE_GENMAX) {
		e->st.gen_full++;
		return (0);
	}
	g = &e->gen[e->ngen];
	g->len = (uint32_t)reset_build(e->reset, g->data, sizeof(g->data),
	    family, src, ntohs(sport), dst, ntohs(dport), seq, ack, flags);
	if (g->len == 0)
		return (0);
	g->family = (uint8_t)family;
	e->ngen++;
	return (1);
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
	if (f->seen & FLOW_FAST) {
		/*
		 * offload = bpf: loadd has not seen this flow's sequence
		 * numbers since it went into the map.  Out of it, each end
		 * gets a bare ACK far outside its window, which it answers
		 * with an ACK of its own numbers (RFC 793); that reaches
		 * loadd, which answers it with an exact RST (flow_over, and
		 * outbound_reset for the server's).
		 */
		engine_fp_takeout(e, f);
		(void)gen_rst(e, svc->family, &svc->vip, htons(svc->port), &ca,
		    f->cport, f->sseq - 0x40000000u, f->cseq, TH_ACK);
		(void)gen_rst(e, svc->family, &ca, f->cport, &s->addr,
		    htons(s->port), f->cseq - 0x40000000u, f->sseq, TH_ACK);
		return (1);
	}
	(void)gen_rst(e, svc->family, &svc->vip, htons(svc->port), &ca,
	    f->cport, f->sseq, f->cseq, TH_RST | TH_ACK);
	(void)gen_rst(e, svc->family, &ca, f->cport, &s->addr,
	    htons(s->port), f->cseq, f->sseq, TH_RST | TH_ACK);
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
