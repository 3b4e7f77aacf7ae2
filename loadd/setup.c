/*
 * The engine's set-up, one for the live daemon and the replay, and the
 * log lines that say how each service will run.
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>

#include "compat.h"

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
