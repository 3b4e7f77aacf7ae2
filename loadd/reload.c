/*
 * Reload.  The new configuration is read beside the old one (by the
 * caller, with config_load()); if it has any error the old one stays.
 * Otherwise the running pool takes it in place, between two batches: the
 * kernel holds the packets that arrive meanwhile, so none is lost.
 *
 * A service is the same service if its virtual address, port and
 * protocol are; a server is the same if it serves the same service at
 * the same address and port.  Each keeps its slot: the configuration's
 * part (conf) is replaced whole, and what runs stays where it is, so
 * flows, persistence, probes and agent data need no renumbering.  A
 * server that is gone and still has flows becomes a ghost: draining,
 * weight 0, kept (with its service, if that is gone too) so that its
 * connections finish; a later reload frees its slot once it has none.
 */
#include <sys/types.h>

#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compat.h"
#include "config.h"
#include "engine.h"
#include "health.h"
#include "log.h"
#include "reload.h"
#include "sched.h"
#include "sticky.h"

/* What becomes of an old server slot. */
enum fate {
	F_EMPTY = 0,	/* a free slot */
	F_KEEP,		/* in the new configuration */
	F_GHOST,	/* gone, draining its flows */
	F_FREE,		/* gone, no flows */
	F_DROP,		/* gone, its address serves another service now */
};

struct plan {
	struct pool	*op, *np;
	uint32_t	 inuse[POOL_MAXSERVERS];	/* flows per slot */
	uint8_t		 fate[POOL_MAXSERVERS];		/* old slot */
	uint8_t		 svcfate[POOL_MAXSERVICES];	/* old slot */
	uint16_t	 srvslot[POOL_MAXSERVERS];	/* new server */
	uint16_t	 svcslot[POOL_MAXSERVICES];	/* new service */
	uint16_t	*members[POOL_MAXSERVICES];	/* slot's, ready */
	uint16_t	 nmembers[POOL_MAXSERVICES];
	unsigned	 nsvc, nsrv;		/* slots after: high-water */
	unsigned	 kept, added, ghosts, dropped;
};

#define NOSLOT	UINT16_MAX

static int
same_service(const struct service *a, const struct service *b)
{
	return (a->family == b->family && a->proto == b->proto &&
	    a->port == b->port && addr_eq(&a->vip, &b->vip));
}

/* What needs a restart; warnings for what takes effect later. */
static int
restart_checks(const struct engine *e, const struct config *old,
    const struct config *nc, char *err, size_t errlen)
{
	/* What needs a restart. */
	if (nc->queue != old->queue) {
		snprintf(err, errlen, "the queue (%d -> %d) changes only with a "
		    "restart; the running configuration stays", old->queue,
		    nc->queue);
		return (-1);
	}
	if ((nc->keyfile[0] != '\0') != (old->keyfile[0] != '\0') ||
	    nc->reportport != old->reportport ||
	    nc->reportfamily != old->reportfamily ||
	    !addr_eq(&nc->reportaddr, &old->reportaddr)) {
		snprintf(err, errlen, "turning agent reports on or off, or "
		    "moving them to another port or address, needs a restart; "
		    "the running configuration stays");
		return (-1);
	}
	if (nc->offload != old->offload) {
		snprintf(err, errlen, "offload is turned %s only with a restart "
		    "(and the rules of loadd -R); the running configuration "
		    "stays", nc->offload ? "on" : "off");
		return (-1);
	}
	if (nc->fastpath != old->fastpath || nc->fp_nifs != old->fp_nifs ||
	    memcmp(nc->fp_ifs, old->fp_ifs, sizeof(nc->fp_ifs)) != 0 ||
	    strcmp(nc->fp_pin, old->fp_pin) != 0) {
		snprintf(err, errlen, "offload = bpf, its interfaces and its "
		    "pins change only with a restart; the running "
		    "configuration stays");
		return (-1);
	}
	if (nc->offload && nc->offload_salt != old->offload_salt)
		log_warnx("reload: offload_salt changed: every server has a "
		    "new mark; apply the rules of loadd -R again");
	if (strcmp(nc->ctlsocket, old->ctlsocket) != 0) {
		snprintf(err, errlen, "the control socket moves only with a "
		    "restart; the running configuration stays");
		return (-1);
	}
	if (nc->maxflows != old->maxflows)
		log_warnx("reload: maxflows %u -> %u: the flow table keeps its "
		    "size (%u) until a restart", old->maxflows, nc->maxflows,
		    e->ft.cap);
	return (0);
}

/* Which old services and servers the new configuration names again. */
static void
plan_match(struct plan *pl)
{
	struct pool	*op = pl->op, *np = pl->np;
	const struct service *os;
	const struct server *n, *o;
	unsigned	 i, j, k;

	for (j = 0; j < np->nsvc; j++) {
		pl->svcslot[j] = NOSLOT;
		for (i = 0; i < op->nsvc; i++)
			if (op->svc[i].used &&
			    same_service(&op->svc[i], &np->svc[j])) {
				pl->svcslot[j] = (uint16_t)i;
				pl->svcfate[i] = F_KEEP;
				break;
			}
	}
	for (k = 0; k < np->nsrv; k++) {
		n = &np->srv[k];
		pl->srvslot[k] = NOSLOT;
		if ((i = pl->svcslot[n->svc]) == NOSLOT)
			continue;
		os = &op->svc[i];
		for (j = 0; j < os->nsrv; j++) {
			o = SVC_SRV(op, os, j);
			if (o->port == n->port && addr_eq(&o->addr, &n->addr) &&
			    pl->fate[os->members[j]] == F_EMPTY) {
				pl->srvslot[k] = os->members[j];
				pl->fate[os->members[j]] = F_KEEP;
				pl->kept++;
				break;
			}
		}
	}
}

/*
 * The old servers the new configuration does not name: a ghost while it
 * has flows, unless its address and port now serve another service
 * (replies could not be told apart: its flows go).  A service that is
 * gone stays while one of its servers is a ghost.
 */
static void
plan_gone(struct plan *pl)
{
	struct pool	*op = pl->op;
	const struct server *o;
	unsigned	 i;

	for (i = 0; i < op->nsrv; i++) {
		o = &op->srv[i];
		if (!o->used || pl->fate[i] == F_KEEP)
			continue;
		if (pl->inuse[i] == 0)
			pl->fate[i] = F_FREE;
		else if (pool_find_server(pl->np, o->family,
		    op->svc[o->svc].proto, &o->addr, htons(o->port)) != NULL)
			pl->fate[i] = F_DROP;
		else {
			pl->fate[i] = F_GHOST;
			pl->ghosts++;
			if (pl->svcfate[o->svc] != F_KEEP)
				pl->svcfate[o->svc] = F_GHOST;
		}
	}
	for (i = 0; i < op->nsvc; i++)
		if (op->svc[i].used && pl->svcfate[i] == F_EMPTY)
			pl->svcfate[i] = F_FREE;
}

/* The lowest slot free after this reload, from *from on; or NOSLOT. */
static uint16_t
free_slot(const uint8_t *avail, unsigned max, unsigned *from)
{
	unsigned	 i;

	for (i = *from; i < max; i++)
		if (avail[i]) {
			*from = i + 1;
			return ((uint16_t)i);
		}
	return (NOSLOT);
}

/* Slots for the new services and servers; -1 if the pool is full. */
static int
plan_slots(struct plan *pl, char *err, size_t errlen)
{
	struct pool	*op = pl->op, *np = pl->np;
	unsigned	 j, k, from;

	uint8_t		 avail[POOL_MAXSERVERS];

	pl->nsvc = op->nsvc;
	pl->nsrv = op->nsrv;
	memset(avail, 1, sizeof(avail));
	for (j = 0; j < op->nsvc; j++)
		if (pl->svcfate[j] == F_KEEP || pl->svcfate[j] == F_GHOST)
			avail[j] = 0;
	for (j = 0, from = 0; j < np->nsvc; j++) {
		if (pl->svcslot[j] != NOSLOT)
			continue;
		if ((pl->svcslot[j] = free_slot(avail, POOL_MAXSERVICES,
		    &from)) == NOSLOT)
			goto full;
		if (pl->svcslot[j] >= pl->nsvc)
			pl->nsvc = pl->svcslot[j] + 1u;
	}
	memset(avail, 1, sizeof(avail));
	for (k = 0; k < op->nsrv; k++)
		if (pl->fate[k] == F_KEEP || pl->fate[k] == F_GHOST)
			avail[k] = 0;
	for (k = 0, from = 0; k < np->nsrv; k++) {
		if (pl->srvslot[k] != NOSLOT)
			continue;
		if ((pl->srvslot[k] = free_slot(avail, POOL_MAXSERVERS,
		    &from)) == NOSLOT)
			goto full;
		if (pl->srvslot[k] >= pl->nsrv)
			pl->nsrv = pl->srvslot[k] + 1u;
		pl->added++;
	}
	return (0);
full:
	snprintf(err, errlen, "with the old servers that still have flows, "
	    "more than %d services or %d servers", POOL_MAXSERVICES,
	    POOL_MAXSERVERS);
	return (-1);
}

/* Ghosts of the old service slot i, in their order there. */
static unsigned
old_ghosts(const struct plan *pl, unsigned i, uint16_t *to)
{
	const struct service *os = &pl->op->svc[i];
	unsigned	 k, n = 0;

	if (i >= pl->op->nsvc || !os->used)
		return (0);
	for (k = 0; k < os->nsrv; k++)
		if (pl->fate[os->members[k]] == F_GHOST) {
			if (to != NULL)
				to[n] = os->members[k];
			n++;
		}
	return (n);
}

/*
 * Each service's servers after the reload: the new configuration's in
 * its order, then the ghosts.  Allocated before anything changes.
 */
static int
plan_members(struct plan *pl)
{
	const struct service *ns;
	unsigned	 i, j, k, n;
	uint16_t	*m;

	for (j = 0; j < pl->np->nsvc; j++) {
		ns = &pl->np->svc[j];
		i = pl->svcslot[j];
		n = ns->nsrv + old_ghosts(pl, i, NULL);
		if ((m = calloc(n + 1, sizeof(*m))) == NULL)
			return (-1);
		pl->members[i] = m;
		pl->nmembers[i] = (uint16_t)n;
		for (k = 0; k < ns->nsrv; k++)
			m[k] = pl->srvslot[ns->members[k]];
		(void)old_ghosts(pl, i, m + ns->nsrv);
	}
	for (i = 0; i < pl->op->nsvc; i++) {
		if (pl->svcfate[i] != F_GHOST || pl->members[i] != NULL)
			continue;
		n = old_ghosts(pl, i, NULL);
		if ((pl->members[i] = calloc(n + 1, sizeof(*m))) == NULL)
			return (-1);
		pl->nmembers[i] = (uint16_t)n;
		(void)old_ghosts(pl, i, pl->members[i]);
	}
	return (0);
}

/* The services' slots after the reload (svc2 and hcs2 hold the old ones). */
static void
apply_services(struct plan *pl, struct service *svc2, struct hcconf *hcs2)
{
	struct pool	*op = pl->op, *np = pl->np;
	struct service	*ns;
	unsigned	 i, j;

	for (i = 0; i < op->nsvc; i++)
		if (pl->svcfate[i] == F_FREE) {
			free(svc2[i].maglev);
			free(svc2[i].members);
			memset(&svc2[i], 0, sizeof(svc2[i]));
		} else if (pl->svcfate[i] == F_GHOST) {
			/* Nothing new goes to a service that is gone. */
			hcs2[i] = *op->svc[i].hc;
			hcs2[i].noserver = HC_NS_RESET;
			svc2[i].ghost = 1;
		}
	for (j = 0; j < np->nsvc; j++) {
		ns = &np->svc[j];
		i = pl->svcslot[j];
		if (pl->svcfate[i] == F_KEEP && i < op->nsvc) {
			svc2[i].conf = ns->conf;
			svc2[i].ghost = 0;
			free(ns->members);
		} else {
			svc2[i] = *ns;
			svc2[i].members = NULL;
			svc2[i].maglev = NULL;
			free(ns->members);
		}
		free(ns->maglev);	/* made for np's order: made again */
		ns->members = NULL;
		ns->maglev = NULL;
		hcs2[i] = np->hcs[j];
	}
	for (i = 0; i < pl->nsvc; i++) {
		if (pl->members[i] == NULL)
			continue;
		if (i < op->nsvc && pl->svcfate[i] != F_EMPTY &&
		    pl->svcfate[i] != F_FREE) {
			free(svc2[i].maglev);
			free(svc2[i].members);
		}
		svc2[i].maglev = NULL;
		svc2[i].nsrv = pl->nmembers[i];
		svc2[i].members = pl->members[i];
		pl->members[i] = NULL;
		svc2[i].used = 1;
		svc2[i].hc = &hcs2[i];
	}
}

/* The servers' slots after the reload (srv2 holds the old ones). */
static void
apply_servers(struct plan *pl, struct server *srv2, struct service *svc2)
{
	struct pool	*op = pl->op, *np = pl->np;
	const struct server *n;
	struct server	*s;
	unsigned	 i, k;
	int		 keepadmin;

	for (i = 0; i < op->nsrv; i++) {
		s = &srv2[i];
		if (pl->fate[i] == F_FREE || pl->fate[i] == F_DROP)
			memset(s, 0, sizeof(*s));
		else if (pl->fate[i] == F_GHOST) {
			s->ghost = 1;
			s->admin = SRV_DRAINING;
			s->weight = s->cweight = 0;
			s->backup = 0;
			log_notice("reload: service %s: server %s is gone from "
			    "the configuration; draining its %u flow(s)",
			    svc2[s->svc].label, s->name, pl->inuse[i]);
		}
	}
	for (k = 0; k < np->nsrv; k++) {
		n = &np->srv[k];
		s = &srv2[i = pl->srvslot[k]];
		if (pl->fate[i] == F_KEEP && i < op->nsrv) {
			/*
			 * "disabled" in the file is the file's; loadctl's
			 * word stays; a ghost's draining was the reload's.
			 */
			keepadmin = !n->cfgdisabled && !s->cfgdisabled &&
			    !s->ghost;
			s->conf = n->conf;
			s->weight = n->weight;
			s->cw = 0;
			s->ghost = 0;
			if (!keepadmin)
				s->admin = n->admin;
		} else
			*s = *n;
		s->svc = pl->svcslot[n->svc];
		s->used = 1;
	}
}

/* Flows of servers whose address moved to another service leave. */
static void
drop_flows(struct plan *pl, struct engine *e)
{
	struct flow	*f;
	uint32_t	 i;

	for (i = 1; i <= e->ft.cap; i++) {
		f = &e->ft.f[i];
		if (f->state == FS_NONE)
			continue;
		if (f->srv >= pl->op->nsrv || pl->fate[f->srv] == F_DROP ||
		    pl->fate[f->srv] == F_FREE) {
			flow_remove(&e->ft, f);
			pl->dropped++;
		}
	}
}

/* What each slot went through; the persistence of the gone forgotten. */
static void
report_slots(struct plan *pl, struct engine *e, uint8_t *slots)
{
	unsigned	 i, k;

	memset(slots, RS_SAME, POOL_MAXSERVERS);
	for (i = 0; i < pl->op->nsrv; i++)
		if (pl->fate[i] == F_FREE || pl->fate[i] == F_DROP)
			slots[i] = RS_FREED;
	for (k = 0; k < pl->np->nsrv; k++)
		if (pl->fate[pl->srvslot[k]] != F_KEEP)
			slots[pl->srvslot[k]] = RS_NEW;
	sticky_forget(&e->sticky, slots, POOL_MAXSERVERS);
	for (i = 0; i < POOL_MAXSERVERS; i++)
		if (slots[i] != RS_SAME)
			srvhist_forget(&e->hist, i);
}

static unsigned
count_used_svc(const struct pool *p)
{
	unsigned	 i, n = 0;

	for (i = 0; i < p->nsvc; i++)
		n += p->svc[i].used;
	return (n);
}

static unsigned
count_used_srv(const struct pool *p)
{
	unsigned	 i, n = 0;

	for (i = 0; i < p->nsrv; i++)
		n += p->srv[i].used;
	return (n);
}

/* The merged pool, indexed and ready for the schedulers. */
static int
finish_pool(struct pool *np)
{
	unsigned	 i;

	while (np->nsrv > 0 && !np->srv[np->nsrv - 1].used)
		np->nsrv--;
	while (np->nsvc > 0 && !np->svc[np->nsvc - 1].used)
		np->nsvc--;
	if (pool_index(np, np->seed) == -1)
		return (-1);
	for (i = 0; i < np->nsrv; i++)
		if (np->srv[i].used)
			(void)srv_update(np, i, SR_OPERATOR, "reload");
	for (i = 0; i < np->nsvc; i++)
		np->svc[i].use_backup = !pool_primary_up(np, &np->svc[i]);
	return (sched_setup(np));
}

/* Who still has flows in the table. */
static void
count_flows(struct plan *pl, const struct engine *e)
{
	const struct flow *f;
	uint32_t	 i;

	for (i = 1; i <= e->ft.cap; i++) {
		f = &e->ft.f[i];
		if (f->state != FS_NONE && f->srv < pl->op->nsrv)
			pl->inuse[f->srv]++;
	}
}

/*
 * The new arrays, the old ones' contents moved in and changed; what is
 * left of the two configurations' arrays is freed.
 */
static void
install(struct plan *pl, struct engine *e, struct service *svc2,
    struct server *srv2, struct hcconf *hcs2, uint8_t *slots)
{
	struct pool	*op = pl->op, *np = pl->np;

	memcpy(svc2, op->svc, op->nsvc * sizeof(*svc2));
	memcpy(srv2, op->srv, op->nsrv * sizeof(*srv2));
	memcpy(hcs2, op->hcs, op->nsvc * sizeof(*hcs2));
	apply_services(pl, svc2, hcs2);
	apply_servers(pl, srv2, svc2);
	drop_flows(pl, e);
	report_slots(pl, e, slots);
	memset(e->sweep, 0, POOL_MAXSERVERS + 1);
	e->sweep_pos = 0;

	/* The old arrays' contents live on in the new ones. */
	free(op->svc);
	free(op->srv);
	free(op->hcs);
	op->svc = NULL;
	op->srv = NULL;
	op->hcs = NULL;
	op->nsvc = op->nsrv = 0;
	free(np->svc);
	free(np->srv);
	free(np->hcs);
	np->svc = svc2;
	np->srv = srv2;
	np->hcs = hcs2;
	np->nsvc = pl->nsvc;
	np->nsrv = pl->nsrv;
}

int
reload_swap(struct engine *e, struct config *old, struct config *nc,
    uint8_t *slots, char *err, size_t errlen)
{
	struct plan	*pl;
	struct service	*svc2 = NULL;
	struct server	*srv2 = NULL;
	struct hcconf	*hcs2 = NULL;
	unsigned	 i;
	int		 rc = -1;

	if (restart_checks(e, old, nc, err, errlen) == -1)
		return (-1);
	if ((pl = calloc(1, sizeof(*pl))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return (-1);
	}
	pl->op = &old->pool;
	pl->np = &nc->pool;
	count_flows(pl, e);
	plan_match(pl);
	plan_gone(pl);
	if (plan_slots(pl, err, errlen) == -1)
		goto out;
	svc2 = calloc(pl->nsvc, sizeof(*svc2));
	srv2 = calloc(pl->nsrv, sizeof(*srv2));
	hcs2 = calloc(pl->nsvc, sizeof(*hcs2));
	if (svc2 == NULL || srv2 == NULL || hcs2 == NULL ||
	    plan_members(pl) == -1) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}

	/* Nothing fails from here on but the index (said, not undone). */
	install(pl, e, svc2, srv2, hcs2, slots);
	svc2 = NULL;
	srv2 = NULL;
	hcs2 = NULL;
	if (finish_pool(pl->np) == -1) {
		snprintf(err, errlen, "out of memory (the old configuration's "
		    "flows are kept, the new pool may be incomplete)");
		goto out;
	}
	e->pool = pl->np;
	for (i = 0; i < FC_N; i++)
		e->ft.timeout[i] = nc->timeout[i];
	e->unknown_reset = nc->unknown_reset;
	log_notice("reload: %u service(s), %u server(s): %u kept, %u new, "
	    "%u draining ghost(s), %u flow(s) dropped",
	    count_used_svc(pl->np), count_used_srv(pl->np), pl->kept,
	    pl->added, pl->ghosts, pl->dropped);
	rc = 0;
out:
	for (i = 0; i < POOL_MAXSERVICES; i++)
		free(pl->members[i]);
	free(pl);
	free(svc2);
	free(srv2);
	free(hcs2);
	return (rc);
}
