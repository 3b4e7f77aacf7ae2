/*
 * The engine's set-up, one for the live daemon and the replay, and the
 * log lines that say how each service will run.
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>

#include "compat.h"

#include "agent.h"
#include "config.h"
#include "engine.h"
#include "health.h"
#include "log.h"
#include "pktio.h"
#include "reset.h"
#include "sched.h"
#include "setup.h"

/*
 * The flow table, resets and persistence.  A daemon that reloads keeps a
 * persistence table even when no service is sticky yet: a reload may
 * turn persistence on.
 */
int
setup_engine(struct engine *e, struct config *conf, int reloadable,
    char *err, size_t errlen)
{
	struct resetter	*r;

	if (engine_init(e, &conf->pool, conf->maxflows,
	    conf->timeout, (uint64_t)arc4random() << 32 | arc4random()) == -1) {
		snprintf(err, errlen, "cannot allocate a flow table for %u "
		    "flows", conf->maxflows);
		return (-1);
	}
	e->offload = conf->offload;
	if ((r = reset_new(conf->reset_rate)) == NULL) {
		snprintf(err, errlen, "cannot set up libnet for resets");
		engine_free(e);
		return (-1);
	}
	engine_set_reset(e, r, conf->unknown_reset);
	if ((reloadable || conf->sticky_any) &&
	    engine_set_sticky(e, conf->sticky_clients) == -1) {
		snprintf(err, errlen, "cannot allocate the persistence table");
		engine_free(e);
		return (-1);
	}
	return (0);
}

static void	 drops_format(char *, size_t, const uint64_t *);

/* Says what the agent-based methods do while no agent reports. */
void
setup_note_methods(const struct config *conf)
{
	const struct service	*svc;
	const char		*how;
	unsigned		 i;

	for (i = 0; i < conf->pool.nsvc; i++) {
		svc = &conf->pool.svc[i];
		if ((how = sched_agent_fallback(svc->method)) == NULL)
			continue;
		if (conf->keyfile[0] == '\0')
			log_notice("service %s %s: %s: agent reports are off "
			    "(no keyfile): balancing %s", svc->label,
			    svc->name, svc->method->name, how);
		else
			log_notice("service %s %s: %s: until agents report, "
			    "and for servers whose reports stop: balancing %s",
			    svc->label, svc->name, svc->method->name, how);
	}
}

/* Says how each service watches its servers. */
void
setup_note_health(const struct config *conf)
{
	const struct service	*svc;
	const struct hcconf	*hc;
	unsigned		 i;

	for (i = 0; i < conf->pool.nsvc; i++) {
		svc = &conf->pool.svc[i];
		hc = svc->hc;
		if (hc->type == HC_NONE)
			log_info("service %s %s: no probes; passive detection "
			    "%s", svc->label, svc->name,
			    hc->passive ? "on" : "off");
		else
			log_info("service %s %s: %s probes every %u ms, timeout "
			    "%u ms, fall %u, rise %u; servers start %s; passive "
			    "detection %s", svc->label, svc->name,
			    hc_type_name(hc->type), hc->interval_ms,
			    hc->timeout_ms, hc->fall, hc->rise,
			    hc->start_up ? "up" : "down until probed",
			    hc->passive ? "on" : "off");
	}
}

/* Sends what the engine made up during the last batch. */
void
setup_flush_generated(struct engine *e, struct pktio *io)
{
	struct engine_gen *g;
	unsigned	 i, n;

	g = engine_generated(e, &n);
	for (i = 0; i < n; i++)
		(void)io->ops->inject(io, g[i].data, g[i].len, g[i].family);
}

/* Appends " reason=count" for every non-zero counter to buf. */
static void
drops_format(char *buf, size_t len, const uint64_t *drops)
{
	size_t	 off = 0;
	unsigned i;
	int	 r;

	buf[0] = '\0';
	for (i = 0; i < DROP_NREASONS; i++) {
		if (drops[i] == 0)
			continue;
		r = snprintf(buf + off, len - off, " %s=%llu",
		    engine_drop_name((int)i), (unsigned long long)drops[i]);
		if (r < 0 || (size_t)r >= len - off)
			break;
		off += (size_t)r;
	}
	if (off == 0)
		snprintf(buf, len, " none");
}

/* Totals, drops by reason, then each service and each server. */
void
stats_log(const struct engine *e, const struct pktio *io)
{
	const struct pool	*pool = e->pool;
	const struct service	*svc;
	const struct server	*srv;
	char			 drops[1024];
	unsigned		 i;

	log_notice("stats: packets %llu, inbound %llu, outbound %llu, "
	    "rewritten %llu, icmp translated %llu, resets %llu, refused %llu, "
	    "flows reset %llu, injected %llu, passed %llu, "
	    "dropped %llu, flows %u/%u, expired %llu, evicted %llu, io errors %llu, "
	    "io overruns %llu",
	    (unsigned long long)e->st.pkts, (unsigned long long)e->st.inbound,
	    (unsigned long long)e->st.outbound,
	    (unsigned long long)e->st.rewritten,
	    (unsigned long long)e->st.icmp_translated,
	    (unsigned long long)e->st.resets,
	    (unsigned long long)e->st.refused,
	    (unsigned long long)e->st.flows_reset,
	    (unsigned long long)io->st.injected,
	    (unsigned long long)e->st.passed, (unsigned long long)e->st.dropped,
	    e->ft.count, e->ft.cap, (unsigned long long)e->ft.st.expired,
	    (unsigned long long)e->ft.st.evicted,
	    (unsigned long long)io->st.errors,
	    (unsigned long long)io->st.overruns);
	drops_format(drops, sizeof(drops), e->st.drop);
	log_notice("stats: drops%s", drops);
	if (e->sc.agent != NULL) {
		const struct agent *a = e->sc.agent;
		size_t	 off = 0;
		int	 r;

		for (i = 0; i < AGENT_NRESULTS; i++) {
			r = snprintf(drops + off, sizeof(drops) - off, " %s=%llu",
			    agent_result_name((int)i),
			    (unsigned long long)a->count[i]);
			if (r < 0 || (size_t)r >= sizeof(drops) - off)
				break;
			off += (size_t)r;
		}
		log_notice("stats: agent reports:%s", drops);
	}
	for (i = 0; i < pool->nsvc; i++) {
		svc = &pool->svc[i];
		if (!svc->used)
			continue;
		drops_format(drops, sizeof(drops), svc->drops);
		log_notice("stats: service %s %s (%s): flows %llu active, "
		    "%llu total; packets %llu in, %llu out; bytes %llu in, "
		    "%llu out; drops%s", svc->label, svc->name,
		    svc->method->name, (unsigned long long)svc->flows_active,
		    (unsigned long long)svc->flows_total,
		    (unsigned long long)svc->pkts_in,
		    (unsigned long long)svc->pkts_out,
		    (unsigned long long)svc->bytes_in,
		    (unsigned long long)svc->bytes_out, drops);
	}
	for (i = 0; i < pool->nsrv; i++) {
		srv = &pool->srv[i];
		if (!srv->used)
			continue;
		log_notice("stats: server %s (%s)%s %s (%s): flows %llu "
		    "active, %llu total; packets %llu in, %llu out; bytes %llu "
		    "in, %llu out", srv->name, pool->svc[srv->svc].name,
		    srv->backup ? " backup" : "", srv->state == SRV_DRAINING &&
		    srv->drained ? "drained (safe to stop)" :
		    srv_state_name(srv->state),
		    srv_reason_name(srv->reason),
		    (unsigned long long)srv->flows_active,
		    (unsigned long long)srv->flows_total,
		    (unsigned long long)srv->pkts_in,
		    (unsigned long long)srv->pkts_out,
		    (unsigned long long)srv->bytes_in,
		    (unsigned long long)srv->bytes_out);
		if (e->sc.agent != NULL && e->sc.agent->st[i].valid) {
			const struct agent_state *as = &e->sc.agent->st[i];

			log_notice("stats: server %s agent: %s, age %llu ms, "
			    "cpu %u.%u%%, load %u.%02u, memory %u.%u%%, "
			    "connections %u, check %s (%u us)%s, load now %u",
			    srv->name, agent_fresh(e->sc.agent, i,
			    e->sc.now_ms) ? "fresh" : "stale",
			    (unsigned long long)agent_age(e->sc.agent, i,
			    e->sc.now_ms), as->r.cpu_pm / 10, as->r.cpu_pm % 10,
			    as->r.load100 / 100, as->r.load100 % 100,
			    as->r.mem_pm / 10, as->r.mem_pm % 10, as->r.conns,
			    as->r.check == REPORT_CHECK_UP ? "up" :
			    as->r.check == REPORT_CHECK_DOWN ? "down" : "none",
			    as->r.check_us, (as->r.flags & REPORT_F_DRAIN) ?
			    ", drain" : "", agent_load_now(e->sc.agent, pool, i));
		}
	}
}
