/*
 * Offload (offload = yes): the first packet of a connection gets its
 * server's mark, the kernel's DNAT rule and conntrack do the rest, and
 * conntrack's events (ctevents.c) say what became of it.
 *
 * This file owns the engine's side of those events: an offloaded flow's
 * conntrack id (kept in its sseq), its end with the traffic conntrack
 * counted, the connections conntrack has and loadd does not (adopted),
 * and the reconciliation after lost events (the FLOW_CTSWEEP mark).
 */
#include <string.h>

#include "engine_priv.h"

static int	 offload_adopt(struct engine *, const struct ct_end *,
		    struct service *, uint32_t);
static void	 offload_end(struct engine *, const struct ct_end *,
		    struct service *, struct flow *);

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
 * destroyed: the flow leaves loadd's table (offload_end).
 */
int
engine_offload_event(struct engine *e, const struct ct_end *ce, uint32_t now)
{
	struct service	*svc;
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
	offload_end(e, ce, svc, f);
	return (1);
}

/*
 * An offloaded flow ended: it leaves the table, and its traffic, as
 * conntrack counted it, goes to its server's and service's counters.
 */
static void
offload_end(struct engine *e, const struct ct_end *ce, struct service *svc,
    struct flow *f)
{
	struct server	*srv = &e->pool->srv[f->srv];

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
