/*
 * The server state machine.  A server's state is the worst of three
 * words: health (active probes and passive detection), the operator's
 * (configuration, loadctl) and its agent's (lmd).  Each change is logged
 * once, with its reason, and rebuilds what depends on who takes new
 * flows: the service's use of its backups and the scheduler's tables.
 *
 * Passive detection reads three things the engine writes per server: the
 * time of the oldest SYN not yet answered, and counts of SYN+ACKs and of
 * SYNs answered by a RST.  A SYN left unanswered for passive_timeout, or
 * a refusal, is one failure; any SYN+ACK clears them; passive_fall
 * failures take the server down.  A server taken down passively comes
 * back by probes (rise successes), or, with "check = none", is tried again
 * after passive_retry seconds.
 *
 * Owns, per server: the counts of probe results in a row, what passive
 * detection has seen and counted, and when a slow start began.
 * Writes, at run time, struct server's healthy, state, reason, drained,
 * admin, agent_down and agent_drain, and its weight while a slow start
 * lasts, and struct service's use_backup (config.c gives them their first
 * values, reload.c those of the servers a reload adds, drains or keeps
 * with new settings; loadctl's enable and weight set agent_drain and the
 * weights).  Reads the engine's passive signs (syn_pending_ms, synacks,
 * refused) and clears syn_pending_ms once it has counted that SYN.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "log.h"
#include "reload.h"
#include "sched.h"
#include "srvstate.h"

#define PASSIVE_EVERY	100	/* ms between passive judgements */

/* What the state machine keeps of one server. */
struct srvrun {
	struct hcount	 cnt;		/* probe results in a row */
	uint32_t	 synacks;	/* the engine's counts, as last seen */
	uint32_t	 refused;
	uint32_t	 pbad;		/* passive failures in a row */
	uint64_t	 pdown;		/* when passively taken down */
	uint64_t	 ramp;		/* slow start: when it came up; 0: none */
};

struct srvstate {
	struct pool	*pool;
	struct srvrun	*r;		/* one per server */
	struct health_stats *st;
	uint64_t	 passive_last;	/* the last passive judgement */
};

static void	 backups(struct pool *, struct service *);
static void	 came_up(struct srvstate *, unsigned, uint64_t);
static void	 judged(struct srvstate *, unsigned, int, int, const char *,
		    uint64_t, uint8_t *);
static void	 passive(struct srvstate *, uint64_t, uint8_t *);
static void	 passive_signs(struct srvstate *, unsigned, uint64_t);
static void	 slowstart(struct srvstate *, uint64_t);

int
hcount_result(struct hcount *c, int ok, uint32_t rise, uint32_t fall)
{
	if (ok) {
		c->bad = 0;
		if (c->ok < UINT32_MAX)
			c->ok++;
		if (!c->up && c->ok >= rise) {
			c->up = 1;
			return (1);
		}
	} else {
		c->ok = 0;
		if (c->bad < UINT32_MAX)
			c->bad++;
		if (c->up && c->bad >= fall) {
			c->up = 0;
			return (1);
		}
	}
	return (0);
}

/* Backups take new flows while no primary does; said when that changes. */
static void
backups(struct pool *p, struct service *svc)
{
	unsigned	 j, nb = 0;
	uint8_t		 ub;

	ub = !pool_primary_up(p, svc);
	if (ub == svc->use_backup)
		return;
	svc->use_backup = ub;
	for (j = 0; j < svc->nsrv; j++)
		if (SVC_SRV(p, svc, j)->backup)
			nb++;
	if (ub && nb > 0)
		log_warnx("service %s %s: no primary server is up; "
		    "%u backup server(s) take new flows", svc->label,
		    svc->name, nb);
	else if (ub)
		log_warnx("service %s %s: no server is up", svc->label,
		    svc->name);
	else
		log_notice("service %s %s: a primary server is up "
		    "again", svc->label, svc->name);
}

int
srv_update(struct pool *p, unsigned i, int reason, const char *why)
{
	struct server	*s = &p->srv[i];
	struct service	*svc = &p->svc[s->svc];
	uint8_t		 st;

	if (s->admin == SRV_DISABLED)
		st = SRV_DISABLED;
	else if (s->admin == SRV_DRAINING || s->agent_drain)
		st = SRV_DRAINING;
	else if (!s->healthy || s->agent_down)
		st = SRV_DOWN;
	else
		st = SRV_UP;
	if (st == s->state)
		return (0);
	s->drained = 0;
	log_notice("service %s %s: server %s%s %s -> %s (%s%s%s)",
	    svc->label, svc->name, s->name, s->backup ? " (backup)" : "",
	    srv_state_name(s->state), srv_state_name(st),
	    srv_reason_name(reason), why != NULL ? ": " : "",
	    why != NULL ? why : "");
	s->state = st;
	s->reason = (uint8_t)reason;
	backups(p, svc);
	if (svc->method->setup != NULL && svc->method->setup(p, svc) == -1)
		log_warnx("service %s: cannot rebuild the %s table",
		    svc->label, svc->method->name);
	return (st == SRV_DOWN);
}

/* Server i's run starts from what the configuration (or a reload) says. */
static void
run_init(struct srvstate *ss, unsigned i)
{
	const struct server *s = &ss->pool->srv[i];
	struct srvrun	*r = &ss->r[i];

	memset(r, 0, sizeof(*r));
	if (i >= ss->pool->nsrv || !s->used)
		return;		/* a free slot */
	r->synacks = s->synacks;
	r->refused = s->refused;
	r->cnt.up = s->healthy;
}

struct srvstate *
srvstate_new(struct pool *p, struct health_stats *st)
{
	struct srvstate	*ss;
	unsigned	 i;

	if ((ss = calloc(1, sizeof(*ss))) == NULL)
		return (NULL);
	/* A slot's run lives as long as the slot: every slot has one. */
	if ((ss->r = calloc(POOL_MAXSERVERS, sizeof(*ss->r))) == NULL) {
		free(ss);
		errno = ENOMEM;
		return (NULL);
	}
	ss->pool = p;
	ss->st = st;
	for (i = 0; i < p->nsrv; i++)
		run_init(ss, i);
	return (ss);
}

void
srvstate_reload(struct srvstate *ss, const uint8_t *slots, uint64_t now)
{
	unsigned	 i;

	for (i = 0; i < POOL_MAXSERVERS; i++)
		if (slots[i] != RS_SAME)
			run_init(ss, i);
	slowstart(ss, now);
}

void
srvstate_recount(struct srvstate *ss, unsigned i)
{
	ss->r[i].cnt.ok = 0;
	ss->r[i].cnt.bad = 0;
}

void
srvstate_free(struct srvstate *ss)
{
	if (ss == NULL)
		return;
	free(ss->r);
	free(ss);
}

/*
 * Slow start: a server that comes up begins at a tenth of its configured
 * weight (at least 1); now 0 starts the ramp at the next tick.
 */
static void
came_up(struct srvstate *ss, unsigned i, uint64_t now)
{
	struct server	*s = &ss->pool->srv[i];
	const struct service *svc = &ss->pool->svc[s->svc];

	if (svc->hc == NULL || svc->hc->slowstart == 0 ||
	    svc->method->hashed || s->cweight <= 1) {
		s->weight = s->cweight;
		return;
	}
	ss->r[i].ramp = now ? now : 1;
	s->weight = (uint16_t)(s->cweight / 10 > 1 ? s->cweight / 10 : 1);
}

/*
 * Health has a new verdict on server i (up or not) for reason, said in
 * msg: the server's state follows, and a slow start if it came up.
 */
static void
judged(struct srvstate *ss, unsigned i, int up, int reason, const char *msg,
    uint64_t now, uint8_t *gone)
{
	struct server	*s = &ss->pool->srv[i];
	int		 was = s->state;

	s->healthy = (uint8_t)up;
	ss->st->transitions++;
	if (srv_update(ss->pool, i, reason, msg) && gone != NULL)
		gone[i] = 1;
	if (was != SRV_UP && s->state == SRV_UP)
		came_up(ss, i, now);
}

void
srvstate_probe(struct srvstate *ss, unsigned i, int ok, const char *why,
    uint64_t now, uint8_t *gone)
{
	struct srvrun	*r = &ss->r[i];
	const struct server *s = &ss->pool->srv[i];
	const struct hcconf *hc = ss->pool->svc[s->svc].hc;
	char		 msg[160];

	if (!hcount_result(&r->cnt, ok, hc->rise, hc->fall)) {
		if (!ok && r->cnt.bad == 1 && s->healthy)
			log_info("service %s: server %s: %s probe failed "
			    "(%s), 1 of %u", ss->pool->svc[s->svc].label,
			    s->name, hc_type_name(hc->type), why ? why : "?",
			    hc->fall);
		return;
	}
	r->pbad = 0;
	if (ok)
		snprintf(msg, sizeof(msg), "%s probe passed %u times",
		    hc_type_name(hc->type), hc->rise);
	else
		snprintf(msg, sizeof(msg), "%s probe failed %u times: %s",
		    hc_type_name(hc->type), hc->fall, why ? why : "?");
	judged(ss, i, r->cnt.up, SR_PROBE, msg, now, gone);
}

/* Counts what the engine saw of server i since the last look. */
static void
passive_signs(struct srvstate *ss, unsigned i, uint64_t now)
{
	struct server	*s = &ss->pool->srv[i];
	struct srvrun	*r = &ss->r[i];
	const struct hcconf *hc = ss->pool->svc[s->svc].hc;

	if (s->synacks != r->synacks) {
		r->synacks = s->synacks;
		r->pbad = 0;
	}
	if (s->refused != r->refused) {
		r->pbad += s->refused - r->refused;
		r->refused = s->refused;
	}
	/* The engine's clock is the low 32 bits of this one. */
	if (s->syn_pending_ms != 0 && (uint32_t)((uint32_t)now -
	    s->syn_pending_ms) > hc->passive_timeout_ms) {
		s->syn_pending_ms = 0;
		r->pbad++;
	}
}

static void
passive(struct srvstate *ss, uint64_t now, uint8_t *gone)
{
	struct pool	*p = ss->pool;
	struct server	*s;
	struct srvrun	*r;
	const struct hcconf *hc;
	char		 msg[96];
	unsigned	 i;

	for (i = 0; i < p->nsrv; i++) {
		s = &p->srv[i];
		r = &ss->r[i];
		if (!s->used || (hc = p->svc[s->svc].hc) == NULL)
			continue;
		passive_signs(ss, i, now);
		if (!hc->passive) {
			r->pbad = 0;
			continue;
		}
		if (s->healthy && r->pbad >= hc->passive_fall) {
			snprintf(msg, sizeof(msg), "%u SYNs unanswered or "
			    "refused", r->pbad);
			/* The probes must show rise successes again. */
			r->cnt.up = 0;
			r->cnt.ok = 0;
			r->pbad = 0;
			r->pdown = now;
			judged(ss, i, 0, SR_PASSIVE, msg, now, gone);
		} else if (!s->healthy && hc->type == HC_NONE &&
		    r->pdown != 0 && now - r->pdown >=
		    (uint64_t)hc->passive_retry * 1000) {
			r->cnt.up = 1;
			r->pdown = 0;
			judged(ss, i, 1, SR_RETRY, "no probes: trying it again",
			    now, gone);
		}
	}
}

/*
 * Slow start: the weight in effect grows linearly from a tenth of the
 * configured weight (at least 1) to all of it over slowstart seconds.
 */
static void
slowstart(struct srvstate *ss, uint64_t now)
{
	struct server	*s;
	struct srvrun	*r;
	uint64_t	 span, w;
	unsigned	 i;

	for (i = 0; i < ss->pool->nsrv; i++) {
		r = &ss->r[i];
		if (r->ramp == 0)
			continue;
		s = &ss->pool->srv[i];
		if (r->ramp == 1)
			r->ramp = now;
		span = (uint64_t)ss->pool->svc[s->svc].hc->slowstart * 1000;
		if (s->state != SRV_UP || now - r->ramp >= span) {
			s->weight = s->cweight;
			r->ramp = 0;
			continue;
		}
		w = (uint64_t)s->cweight * (now - r->ramp) / span;
		if (w < (uint64_t)s->cweight / 10)
			w = s->cweight / 10;
		s->weight = (uint16_t)(w > 0 ? w : 1);
	}
}

void
srvstate_tick(struct srvstate *ss, uint64_t now, uint8_t *gone)
{
	if (now < ss->passive_last + PASSIVE_EVERY)
		return;
	ss->passive_last = now;
	passive(ss, now, gone);
	slowstart(ss, now);
}

uint64_t
srvstate_due(const struct srvstate *ss, uint64_t now, uint64_t t)
{
	unsigned	 i;

	/* A SYN waits for its answer, or a weight ramps up. */
	for (i = 0; i < ss->pool->nsrv; i++)
		if (ss->pool->srv[i].used && (ss->r[i].ramp != 0 ||
		    ss->pool->srv[i].syn_pending_ms != 0))
			return (t < now + PASSIVE_EVERY ? t : now +
			    PASSIVE_EVERY);
	return (t);
}

void
srvstate_admin(struct srvstate *ss, unsigned i, int admin, int reason)
{
	struct server	*s = &ss->pool->srv[i];
	int		 was = s->state;

	s->admin = (uint8_t)admin;
	(void)srv_update(ss->pool, i, reason, NULL);
	if (was != SRV_UP && s->state == SRV_UP)
		came_up(ss, i, 0);
}

void
srvstate_ramp(struct srvstate *ss, unsigned i)
{
	if (i < ss->pool->nsrv && ss->pool->srv[i].state == SRV_UP)
		came_up(ss, i, 0);
}

/* Why the agent's word on server i changed, for the log. */
static const char *
agent_why(const struct agent *a, unsigned i, int down, int drain,
    uint64_t now)
{
	if (down)
		return ("its agent says the service is down");
	if (drain)
		return ("its agent asks for drain");
	if (a == NULL || !agent_fresh(a, i, now))
		return ("its agent has gone quiet; health checks decide");
	return ("its agent says the service is up");
}

/*
 * What the agents say, applied: a service its agent calls down takes no
 * new flows, and drain takes no new flows and lets the existing ones
 * finish, and loadd says once when the last one has.  Both count only
 * while the reports are fresh: stale ones count for nothing, and the
 * probes decide (agent_drain() says why for drain).
 */
void
srvstate_agents(struct srvstate *ss, const struct agent *a, uint64_t now,
    uint8_t *gone)
{
	struct pool	*p = ss->pool;
	struct server	*s;
	unsigned	 i;
	int		 down, drain, was;

	for (i = 0; i < p->nsrv; i++) {
		s = &p->srv[i];
		if (!s->used)
			continue;
		down = a != NULL && agent_down(a, i, now);
		drain = a != NULL && agent_drain(a, i, now);
		if (down != s->agent_down || drain != s->agent_drain) {
			was = s->state;
			s->agent_down = (uint8_t)down;
			s->agent_drain = (uint8_t)drain;
			if (srv_update(p, i, SR_AGENT, agent_why(a, i, down,
			    drain, now)) && gone != NULL)
				gone[i] = 1;
			if (was != SRV_UP && s->state == SRV_UP)
				came_up(ss, i, now);
		}
		if (s->state == SRV_DRAINING && !s->drained &&
		    s->flows_active == 0) {
			s->drained = 1;
			log_notice("service %s %s: server %s is drained: no "
			    "active flows; safe to stop", p->svc[s->svc].label,
			    p->svc[s->svc].name, s->name);
		}
	}
}
