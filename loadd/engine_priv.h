/*
 * What the parts of the engine share, and nobody else: engine.h is the
 * interface.  The engine is one object (struct engine) in several files,
 * one job each:
 *
 *	engine.c	set-up, classify, process and batch (prefetching),
 *			the flow table's callbacks
 *	engine_flow.c	inbound and outbound: new flows (the method's pick,
 *			persistence, passive health), TCP tracking, rewrite,
 *			and the answers to packets no server takes
 *	engine_icmp.c	ICMP errors about balanced flows, translated
 *	engine_offload.c conntrack offload: events, adoption, sweeps
 *	engine_fp.c	offload = bpf: the fast path's map, asked through a
 *			queue; its counters taken back
 *	engine_tick.c	timeouts, the reset of a down server's flows, the
 *			queue of generated packets
 *
 * The helpers below run on every packet or nearly: inline.
 */
#ifndef LOADD_ENGINE_PRIV_H
#define LOADD_ENGINE_PRIV_H

#include "engine.h"
#include "health.h"
#include "connlimit.h"

/* engine_flow.c */
void	 engine_inbound(struct engine *, struct pktbuf *, const struct pkt *,
	    struct service *, uint32_t, uint32_t);
void	 engine_outbound(struct engine *, struct pktbuf *, const struct pkt *,
	    struct server *, uint32_t, uint32_t);
/* A TCP segment's flags, seen or told by the fast path: health, state. */
void	 engine_tcp_seen(struct engine *, struct flow *, uint8_t, int,
	    uint32_t);
/* engine_fp.c: offload = bpf */
void	 engine_fp_offer(struct engine *, struct flow *);
void	 engine_fp_takeout(struct engine *, struct flow *);
void	 engine_fp_release(struct engine *, struct flow *);
void	 engine_fp_free(struct engine *);
/* engine_icmp.c */
void	 engine_icmp_error(struct engine *, struct pktbuf *,
	    const struct pkt *);

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

/* engine_flow.c: a flow counted in its client's open flows ends. */
void	 engine_client_release(struct engine *, const struct flow *);

/*
 * A flow stops being active: it left the table, or it is closing.  Active
 * flows are what the least-* methods count, so a closed connection
 * waiting out its timeout is no load (IPVS counts these "inactive").
 * Once per flow (its class says whether it was done), so that the caps
 * (maxconn, max_clients, the client's) free its place exactly once.
 */
static inline void
flow_inactive(struct engine *e, const struct flow *f)
{
	struct server	*s;

	if (f->srv < e->pool->nsrv && e->pool->srv[f->srv].flows_active > 0) {
		s = &e->pool->srv[f->srv];
		s->flows_active--;
		if (s->atcap)
			srv_cap_update(s, e->ms);
	}
	if (f->svc < e->pool->nsvc && e->pool->svc[f->svc].flows_active > 0)
		e->pool->svc[f->svc].flows_active--;
	if (f->seen & FLOW_CLIENT)
		engine_client_release(e, f);
}

#endif
