/*
 * Reload.  The new configuration is read beside the old one (by the
 * caller, with config_load()); if it has any error the old one stays.
 * Otherwise its pool is merged with what must survive of the old one and
 * the flow table is renumbered in place, between two batches: the kernel
 * holds the packets that arrive meanwhile, so none is lost.
 *
 * A service is the same service if its virtual address, port and
 * protocol are; a server is the same if it serves the same service at
 * the same address and port.  Those keep their flows, counters, health,
 * agent data and operator state (drain, disable); their weight and
 * options are the new configuration's.  A server that is gone and still
 * has flows becomes a ghost: draining, weight 0, kept (with its service,
 * if that is gone too) so that its connections finish; the next reload
 * forgets it once it has none.
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

static int
same_service(const struct service *a, const struct service *b)
{
	return (a->family == b->family && a->proto == b->proto &&
	    a->port == b->port && addr_eq(&a->vip, &b->vip));
}

/* What stays of a server: its traffic, health and the operator's word. */
static void
carry_server(struct server *to, const struct server *from)
{
	to->flows_active = from->flows_active;
	to->flows_total = from->flows_total;
	to->pkts_in = from->pkts_in;
	to->pkts_out = from->pkts_out;
	to->bytes_in = from->bytes_in;
	to->bytes_out = from->bytes_out;
	to->rtt_us = from->rtt_us;
	to->rate = from->rate;
	to->rate_bytes = from->rate_bytes;
	to->syn_pending_ms = from->syn_pending_ms;
	to->synacks = from->synacks;
	to->refused = from->refused;
	to->agent_down = from->agent_down;
	to->agent_drain = from->agent_drain;
	to->drained = from->drained;
	to->state = from->state;
	to->reason = from->reason;
	/* A probe's verdict stands, unless the probe now starts down. */
	to->healthy = from->healthy;
	/*
	 * "disabled" in the file is the file's; loadctl's word stays; a
	 * ghost's draining was the reload's, not the operator's.
	 */
	if (!to->cfgdisabled && !from->cfgdisabled && !from->ghost)
		to->admin = from->admin;
}

static void
carry_service(struct service *to, const struct service *from)
{
	to->pkts_in = from->pkts_in;
	to->pkts_out = from->pkts_out;
	to->bytes_in = from->bytes_in;
	to->bytes_out = from->bytes_out;
	to->flows_active = from->flows_active;
	to->flows_total = from->flows_total;
	memcpy(to->drops, from->drops, sizeof(to->drops));
	to->rr_next = from->rr_next;
	to->rnd = from->rnd;
}

int
reload_swap(struct engine *e, struct config *old, struct config *nc,
    uint16_t *srvmap, char *err, size_t errlen)
{
	struct pool	*op = &old->pool, *np = &nc->pool;
	struct service	*svc2 = NULL;
	struct server	*srv2 = NULL;
	struct hcconf	*hcs2 = NULL;
	struct flow	*f;
	uint32_t	*inuse = NULL;
	uint16_t	*svcmap = NULL, *nsrvto = NULL, *gsvc = NULL;
	uint16_t	*final = NULL;	/* old server -> merged pool */
	uint8_t		*sweep;
	unsigned	 i, j, k, nsvc2, nsrv2, nghost = 0, nghostsvc = 0;
	unsigned	 ns, kept = 0, added = 0, ghosts = 0, dropped = 0;
	int		 rc = -1;

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

	svcmap = calloc(op->nsvc + 1, sizeof(*svcmap));
	inuse = calloc(op->nsrv + 1, sizeof(*inuse));
	gsvc = calloc(op->nsvc + 1, sizeof(*gsvc));
	nsrvto = calloc(np->nsrv + 1, sizeof(*nsrvto));
	final = calloc(op->nsrv + 1, sizeof(*final));
	if (svcmap == NULL || inuse == NULL || gsvc == NULL || nsrvto == NULL ||
	    final == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	/* Who still has flows in the table. */
	for (i = 1; i <= e->ft.cap; i++) {
		f = &e->ft.f[i];
		if (f->state != FS_NONE && f->srv < op->nsrv)
			inuse[f->srv]++;
	}
	/* Old services and servers in the new configuration. */
	for (i = 0; i < op->nsvc; i++) {
		svcmap[i] = RELOAD_GONE;
		for (j = 0; j < np->nsvc; j++)
			if (same_service(&op->svc[i], &np->svc[j])) {
				svcmap[i] = (uint16_t)j;
				break;
			}
	}
	for (i = 0; i < op->nsrv; i++) {
		const struct server *s = &op->srv[i];

		final[i] = RELOAD_GONE;
		srvmap[i] = RELOAD_GONE;
		if ((ns = svcmap[s->svc]) != RELOAD_GONE)
			for (j = np->svc[ns].first;
			    j < np->svc[ns].first + np->svc[ns].nsrv; j++)
				if (np->srv[j].port == s->port &&
				    addr_eq(&np->srv[j].addr, &s->addr)) {
					srvmap[i] = (uint16_t)j;
					break;
				}
		if (srvmap[i] != RELOAD_GONE || inuse[i] == 0)
			continue;
		/*
		 * A ghost, unless its address and port now serve another
		 * service: replies could not be told apart, so its flows go.
		 */
		if (pool_find_server(np, s->family, op->svc[s->svc].proto,
		    &s->addr, htons(s->port)) != NULL) {
			srvmap[i] = RELOAD_GONE - 1;	/* flows dropped */
			continue;
		}
		nghost++;
		if (svcmap[s->svc] == RELOAD_GONE && gsvc[s->svc] == 0)
			gsvc[s->svc] = (uint16_t)++nghostsvc;
	}
	nsvc2 = np->nsvc + nghostsvc;
	nsrv2 = np->nsrv + nghost;
	if (nsvc2 > POOL_MAXSERVICES || nsrv2 > POOL_MAXSERVERS) {
		snprintf(err, errlen, "with the old servers that still have "
		    "flows, %u services and %u servers: more than %d and %d",
		    nsvc2, nsrv2, POOL_MAXSERVICES, POOL_MAXSERVERS);
		goto out;
	}
	svc2 = calloc(nsvc2, sizeof(*svc2));
	srv2 = calloc(nsrv2, sizeof(*srv2));
	hcs2 = calloc(nsvc2, sizeof(*hcs2));
	sweep = realloc(e->sweep, nsrv2 + 1);
	if (svc2 == NULL || srv2 == NULL || hcs2 == NULL || sweep == NULL) {
		if (sweep != NULL)
			e->sweep = sweep;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	e->sweep = sweep;
	memset(e->sweep, 0, nsrv2 + 1);
	e->sweep_pos = 0;

	/*
	 * The merged pool: each new service with its servers and then its
	 * ghosts, then the ghost services.  Servers of a service stay next
	 * to each other, as the pool wants.
	 */
	k = 0;
	for (i = 0; i < nsvc2; i++) {
		unsigned	 o = 0;

		if (i < np->nsvc) {
			svc2[i] = np->svc[i];
			hcs2[i] = np->hcs[i];
		} else {
			for (o = 0; o < op->nsvc; o++)
				if (gsvc[o] == i - np->nsvc + 1)
					break;
			svc2[i] = op->svc[o];
			svc2[i].maglev = NULL;
			hcs2[i] = *op->svc[o].hc;
			/* Nothing new goes to a service that is gone. */
			hcs2[i].noserver = HC_NS_RESET;
		}
		svc2[i].hc = &hcs2[i];
		svc2[i].first = (uint16_t)k;
		if (i < np->nsvc)
			for (j = np->svc[i].first;
			    j < np->svc[i].first + np->svc[i].nsrv; j++) {
				srv2[k] = np->srv[j];
				srv2[k].svc = (uint16_t)i;
				nsrvto[j] = (uint16_t)k++;
			}
		for (j = 0; j < op->nsrv; j++) {
			const struct server *s = &op->srv[j];

			if (srvmap[j] != RELOAD_GONE || inuse[j] == 0)
				continue;
			if (i < np->nsvc ? svcmap[s->svc] != i :
			    s->svc != o)
				continue;
			srv2[k] = *s;
			srv2[k].svc = (uint16_t)i;
			srv2[k].admin = SRV_DRAINING;
			srv2[k].ghost = 1;
			srv2[k].weight = srv2[k].cweight = 0;
			srv2[k].backup = 0;
			final[j] = (uint16_t)k++;
			ghosts++;
			log_notice("reload: service %s: server %s is gone from "
			    "the configuration; draining its %u flow(s)",
			    svc2[i].label, s->name, inuse[j]);
		}
		svc2[i].nsrv = (uint16_t)(k - svc2[i].first);
	}
	/* New indices for the servers that stay, and what they keep. */
	for (i = 0; i < op->nsrv; i++) {
		if (srvmap[i] == RELOAD_GONE - 1)
			final[i] = RELOAD_GONE;
		else if (srvmap[i] != RELOAD_GONE) {
			final[i] = nsrvto[srvmap[i]];
			carry_server(&srv2[final[i]], &op->srv[i]);
			kept++;
		}
	}
	memcpy(srvmap, final, op->nsrv * sizeof(*srvmap));
	for (i = 0; i < op->nsvc; i++)
		if (svcmap[i] != RELOAD_GONE)
			carry_service(&svc2[svcmap[i]], &op->svc[i]);
		else if (gsvc[i] != 0)
			svcmap[i] = (uint16_t)(np->nsvc + gsvc[i] - 1);

	/* Flows of servers that could not stay leave, with the old pool. */
	for (i = 1; i <= e->ft.cap; i++) {
		f = &e->ft.f[i];
		if (f->state == FS_NONE)
			continue;
		if (f->srv >= op->nsrv || srvmap[f->srv] == RELOAD_GONE ||
		    svcmap[f->svc] == RELOAD_GONE) {
			flow_remove(&e->ft, f);
			dropped++;
		}
	}

	/* The swap. */
	free(np->svc);		/* its Maglev tables moved to svc2 */
	free(np->srv);
	free(np->hcs);
	added = np->nsrv;
	np->svc = svc2;
	np->srv = srv2;
	np->hcs = hcs2;
	np->nsvc = nsvc2;
	np->nsrv = nsrv2;
	svc2 = NULL;
	srv2 = NULL;
	hcs2 = NULL;
	if (pool_index(np, np->seed) == -1) {
		snprintf(err, errlen, "out of memory (the old configuration's "
		    "flows are kept, the new pool may be incomplete)");
		goto out;
	}
	np->agent = op->agent;
	np->now_ms = op->now_ms;
	for (i = 0; i < np->nsrv; i++)
		(void)srv_update(np, i, SR_OPERATOR, "reload");
	for (i = 0; i < np->nsvc; i++) {
		struct service *s = &np->svc[i];

		s->use_backup = 1;
		for (j = s->first; j < s->first + s->nsrv; j++)
			if (!np->srv[j].backup && np->srv[j].state == SRV_UP &&
			    np->srv[j].weight > 0)
				s->use_backup = 0;
	}
	(void)sched_setup(np);

	flow_remap(&e->ft, svcmap, op->nsvc, srvmap, op->nsrv);
	sticky_remap(&e->sticky, svcmap, op->nsvc, srvmap, op->nsrv);
	e->pool = np;
	for (i = 0; i < FC_N; i++)
		e->ft.timeout[i] = nc->timeout[i];
	e->unknown_reset = nc->unknown_reset;
	log_notice("reload: %u service(s), %u server(s): %u kept, %u new, "
	    "%u draining ghost(s), %u flow(s) dropped", np->nsvc, np->nsrv,
	    kept, added > kept ? added - kept : 0, ghosts, dropped);
	rc = 0;
out:
	free(svc2);
	free(srv2);
	free(hcs2);
	free(svcmap);
	free(inuse);
	free(gsvc);
	free(nsrvto);
	free(final);
	return (rc);
}
