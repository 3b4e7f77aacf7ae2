/*
 * The tables of fields: loadd as a whole, a service, a server and its
 * agent.  See stats.h; the outputs that walk them are in stats_render.c.
 *
 * A table's order is the order of every output: show stats' lines and
 * keys, show servers' columns, the Prometheus families and the fields of
 * a stats log line.
 */
#include <stdio.h>
#include <string.h>

#include "agent.h"
#include "config.h"
#include "ctl.h"
#include "engine.h"
#include "health.h"
#include "log.h"
#include "pktio.h"
#include "sched.h"
#include "srvhist.h"
#include "stats.h"

#define MEMBER(b, t, m)	.base = (b), .off = offsetof(t, m), \
			.size = sizeof(((t *)0)->m)
#define ENGINE(m)	MEMBER(STATS_B_ENGINE, struct engine, m)
#define PKTIO(m)	MEMBER(STATS_B_PKTIO, struct pktio, m)
#define HEALTH(m)	MEMBER(STATS_B_HEALTH, struct health_stats, m)
#define HTTP(m)		MEMBER(STATS_B_HTTP, struct ctl_http_stats, m)
#define SERVICE(m)	MEMBER(STATS_B_SERVICE, struct service, m)
#define SERVER(m)	MEMBER(STATS_B_SERVER, struct server, m)
#define AGENT(m)	MEMBER(STATS_B_AGENT, struct agent_state, m)

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static void
val_uint(struct stats_val *v, uint64_t u)
{
	v->type = SV_UINT;
	v->u = u;
}

static void
val_bool(struct stats_val *v, int b)
{
	v->type = SV_BOOL;
	v->u = b != 0;
}

static void
val_real(struct stats_val *v, double r)
{
	v->type = SV_REAL;
	v->r = r;
}

static void
val_str(struct stats_val *v, const char *s)
{
	v->type = SV_STR;
	v->s = s;
}

/* Loadd as a whole. */

static void
uptime(const struct stats_src *s, unsigned row, struct stats_val *v)
{
	(void)row;
	val_uint(v, (s->now_ms - s->started_ms) / 1000);
}

static uint64_t
drops(const struct stats_src *s, unsigned row, unsigned d)
{
	(void)row;
	return (s->e->st.drop[d]);
}

static uint64_t
reports(const struct stats_src *s, unsigned row, unsigned r)
{
	(void)row;
	return (s->agent->count[r]);
}

static const char *
probe_result(int r)
{
	return (r == 0 ? "ok" : "failed");
}

static uint64_t
probes(const struct stats_src *s, unsigned row, unsigned r)
{
	(void)row;
	if (s->hs == NULL)
		return (0);
	return (r == 0 ? s->hs->ok : s->hs->failed);
}

static const char *
http_outcome(int o)
{
	static const char *const names[] = { "served", "full", "per_source",
	    "timeout" };

	return (o >= 0 && (size_t)o < NELEM(names) ? names[o] : "?");
}

static uint64_t
http_conns(const struct stats_src *s, unsigned row, unsigned o)
{
	const uint64_t	 n[] = { s->http->served, s->http->full,
			    s->http->per_source, s->http->timeouts };

	(void)row;
	return (o < NELEM(n) ? n[o] : 0);
}

static const struct stats_vec drops_vec = {
	"reason", 1, DROP_NREASONS, engine_drop_name, drops,
};
static const struct stats_vec reports_vec = {
	"result", 0, AGENT_NRESULTS, agent_result_name, reports,
};
static const struct stats_vec probes_vec = {
	"result", 0, 2, probe_result, probes,
};
static const struct stats_vec http_vec = {
	"outcome", 0, 4, http_outcome, http_conns,
};

/*
 * The order is show stats'.  The first drop reason, "ok", is not one:
 * nothing counts it, and no output shows it.
 */
static const struct stats_field loadd_fields[] = {
	{ .name = "uptime_s", .get = uptime, .prom = "up_seconds",
	  .type = STATS_GAUGE, .help = "Seconds since loadd started." },
	{ .name = "packets", ENGINE(st.pkts), .logpre = "packets ",
	  .prom = "packets_total", .type = STATS_COUNTER,
	  .help = "Packets handled." },
	{ .name = "bytes", ENGINE(st.bytes) },
	{ .name = "inbound", ENGINE(st.inbound), .logpre = ", inbound " },
	{ .name = "outbound", ENGINE(st.outbound), .logpre = ", outbound " },
	{ .name = "rewritten", ENGINE(st.rewritten), .logpre = ", rewritten ",
	  .prom = "rewritten_packets_total", .type = STATS_COUNTER,
	  .help = "Packets rewritten." },
	{ .name = "passed", ENGINE(st.passed), .logpre = ", passed ",
	  .prom = "passed_packets_total", .type = STATS_COUNTER,
	  .help = "Packets not ours, passed untouched." },
	{ .name = "dropped", ENGINE(st.dropped), .logpre = ", dropped " },
	{ .name = "icmp_translated", ENGINE(st.icmp_translated),
	  .logpre = ", icmp translated ", .prom = "icmp_translated_total",
	  .type = STATS_COUNTER, .help = "ICMP errors translated." },
	{ .name = "resets", ENGINE(st.resets), .logpre = ", resets ",
	  .prom = "resets_total", .type = STATS_COUNTER,
	  .help = "RSTs sent for packets of unknown flows." },
	{ .name = "refused", ENGINE(st.refused), .logpre = ", refused ",
	  .prom = "refused_total", .type = STATS_COUNTER,
	  .help = "New flows refused (RST or ICMP) for want of a server." },
	{ .name = "flows_reset", ENGINE(st.flows_reset),
	  .logpre = ", flows reset ", .prom = "flows_reset_total",
	  .type = STATS_COUNTER,
	  .help = "Flows reset because their server went down." },
	{ .name = "recovered", ENGINE(st.recovered) },
	{ .name = "offloaded", ENGINE(st.offloaded), .prom = "offloaded_total",
	  .type = STATS_COUNTER,
	  .help = "Flows handed to the kernel (offload = yes)." },
	{ .name = "offload_packets", ENGINE(st.offload_pkts) },
	{ .name = "offload_ended", ENGINE(st.ct_ended),
	  .prom = "offload_ended_total", .type = STATS_COUNTER,
	  .help = "Offloaded flows the kernel ended (conntrack events)." },
	{ .name = "offload_end_unknown", ENGINE(st.ct_unknown) },
	{ .name = "offload_adopted", ENGINE(st.ct_adopted) },
	{ .name = "conntrack_events_bad", ENGINE(st.ct_bad) },
	{ .name = "conntrack_events_lost", ENGINE(st.ct_lost),
	  .prom = "conntrack_events_lost_total", .type = STATS_COUNTER,
	  .help = "Times conntrack events were lost (socket buffer full)." },
	{ .name = "offload_swept", ENGINE(st.ct_swept) },
	{ .name = "fastpath_added", ENGINE(st.fp_added),
	  .prom = "fastpath_added_total", .type = STATS_COUNTER,
	  .help = "Flows put in the eBPF fast path's map (offload = bpf)." },
	{ .name = "fastpath_refused", ENGINE(st.fp_refused),
	  .prom = "fastpath_refused_total", .type = STATS_COUNTER,
	  .help = "Flows the map refused (full): kept on the slow path." },
	{ .name = "fastpath_deleted", ENGINE(st.fp_deleted) },
	{ .name = "fastpath_closed", ENGINE(st.fp_closed) },
	{ .name = "fastpath_adopted", ENGINE(st.fp_adopted) },
	{ .name = "fastpath_unknown", ENGINE(st.fp_unknown) },
	{ .name = "fastpath_queue_full", ENGINE(st.fp_qfull) },
	{ .name = "fastpath_strays", ENGINE(st.fp_strays) },
	{ .name = "fastpath_events", ENGINE(st.fp_events),
	  .prom = "fastpath_events_total", .type = STATS_COUNTER,
	  .help = "SYN, FIN and RST the fast path carried, told to loadd "
	  "(its event ring) and applied." },
	{ .name = "fastpath_events_stale", ENGINE(st.fp_ev_stale),
	  .prom = "fastpath_events_stale_total", .type = STATS_COUNTER,
	  .help = "Fast path events about no flow in the table (any more): "
	  "ignored." },
	{ .name = "fastpath_events_lost", ENGINE(st.fp_ev_lost),
	  .prom = "fastpath_events_lost_total", .type = STATS_COUNTER,
	  .help = "Fast path events lost to a full ring (the program's "
	  "count; the poll catches their FIN and RST)." },
	{ .name = "fastpath_events_bad", ENGINE(st.fp_ev_bad) },
	{ .name = "fastpath_answered", ENGINE(st.fp_answered) },
	{ .name = "fastpath_syn_wait", ENGINE(st.fp_synwait) },
	{ .name = "return_noflow", ENGINE(st.return_noflow) },
	{ .name = "csum_partial", ENGINE(st.csum_partial) },
	{ .name = "flows", ENGINE(ft.count), .logpre = ", flows ",
	  .prom = "flows", .type = STATS_GAUGE, .help = "Flows in the table." },
	{ .name = "flows_max", ENGINE(ft.cap), .logpre = "/",
	  .prom = "flows_max", .type = STATS_GAUGE,
	  .help = "Size of the flow table." },
	{ .name = "flows_inserted", ENGINE(ft.st.inserted) },
	{ .name = "flows_expired", ENGINE(ft.st.expired),
	  .logpre = ", expired ", .prom = "flows_expired_total",
	  .type = STATS_COUNTER, .help = "Flows expired." },
	{ .name = "flows_evicted", ENGINE(ft.st.evicted),
	  .logpre = ", evicted ", .prom = "flows_evicted_total",
	  .type = STATS_COUNTER, .help = "Flows evicted to make room." },
	{ .name = "flows_table_full", ENGINE(ft.st.full) },
	{ .name = "clients_evicted", ENGINE(clients.evicted),
	  .prom = "clients_evicted_total", .type = STATS_COUNTER,
	  .help = "Per-client entries with open flows pushed out of a full "
	  "table (their counts start again)." },
	{ .name = "io_received", PKTIO(st.recv) },
	{ .name = "io_sent", PKTIO(st.sent) },
	{ .name = "io_injected", PKTIO(st.injected), .logpre = ", injected " },
	{ .name = "io_errors", PKTIO(st.errors), .logpre = ", io errors ",
	  .prom = "io_errors_total", .type = STATS_COUNTER,
	  .help = "Packet I/O errors." },
	{ .name = "io_overruns", PKTIO(st.overruns),
	  .logpre = ", io overruns ", .prom = "io_overruns_total",
	  .type = STATS_COUNTER,
	  .help = "Times the kernel dropped messages: loadd's socket full." },
	{ .name = "io_queue_dropped", PKTIO(st.qdropped),
	  .logpre = ", queue full ", .prom = "io_queue_dropped_total",
	  .type = STATS_COUNTER,
	  .help = "Packets the kernel's queue dropped because it was full "
	  "(NFQUEUE, queue_maxlen), by the kernel's count." },
	{ .name = "io_queue_user_dropped", PKTIO(st.udropped),
	  .logpre = ", queue undelivered ",
	  .prom = "io_queue_user_dropped_total", .type = STATS_COUNTER,
	  .help = "Packets the kernel's queue could not send to loadd "
	  "(NFQUEUE), by the kernel's count." },
	{ .name = "probes", HEALTH(probes) },
	{ .name = "probes_ok", HEALTH(ok) },
	{ .name = "probes_failed", HEALTH(failed) },
	{ .name = "probes_timeouts", HEALTH(timeouts) },
	{ .name = "state_changes", HEALTH(transitions) },
	{ .name = "drops", .vec = &drops_vec, .flags = STATS_F_NONZERO,
	  .logpre = "drops", .prom = "dropped_packets_total",
	  .type = STATS_COUNTER, .help = "Packets dropped, by reason." },
	{ .vec = &http_vec, .flags = STATS_F_HTTP,
	  .prom = "metrics_connections_total", .type = STATS_COUNTER,
	  .help = "Connections to the metrics port, by outcome." },
	{ HTTP(renders), .flags = STATS_F_HTTP,
	  .prom = "metrics_renders_total", .type = STATS_COUNTER,
	  .help = "Pages rendered on the metrics port (/metrics and "
	  "/status.json, each at most once a second)." },
	{ .vec = &probes_vec, .prom = "probes_total", .type = STATS_COUNTER,
	  .help = "Health probes, by result." },
	{ .name = "agent_reports", .vec = &reports_vec,
	  .flags = STATS_F_AGENT, .logpre = "agent reports:",
	  .prom = "agent_reports_total", .type = STATS_COUNTER,
	  .help = "Agent reports, by result." },
};

/* A service. */

static unsigned
svc_rows(const struct stats_src *s)
{
	return (s->pool->nsvc);
}

static int
svc_used(const struct stats_src *s, unsigned i)
{
	return (s->pool->svc[i].used);
}

static void
svc_method(const struct stats_src *s, unsigned i, struct stats_val *v)
{
	val_str(v, s->pool->svc[i].method->name);
}

static unsigned
svc_up(const struct stats_src *s, unsigned i)
{
	const struct service	*svc = &s->pool->svc[i];
	unsigned		 k, up = 0;

	for (k = 0; k < svc->nsrv; k++)
		if (SVC_SRV(s->pool, svc, k)->state == SRV_UP)
			up++;
	return (up);
}

static void
svc_servers_up(const struct stats_src *s, unsigned i, struct stats_val *v)
{
	val_uint(v, svc_up(s, i));
}

/* "2/3": servers up of all. */
static void
svc_up_of(const struct stats_src *s, unsigned i, struct stats_val *v)
{
	snprintf(v->buf, sizeof(v->buf), "%u/%u", svc_up(s, i),
	    (unsigned)s->pool->svc[i].nsrv);
	val_str(v, v->buf);
}

static void
svc_drops(const struct stats_src *s, unsigned i, struct stats_val *v)
{
	unsigned	 d;

	val_uint(v, 0);
	for (d = 0; d < DROP_NREASONS; d++)
		v->u += s->pool->svc[i].drops[d];
}

static uint64_t
svc_drop(const struct stats_src *s, unsigned i, unsigned d)
{
	return (s->pool->svc[i].drops[d]);
}

static void
svc_backup_note(const struct stats_src *s, unsigned i, struct stats_val *v)
{
	val_str(v, s->pool->svc[i].use_backup ? " (on backup)" : "");
}

static void
svc_labels(const struct stats_src *s, unsigned i,
    const struct stats_field *f, char *buf, size_t len)
{
	const struct service	*svc = &s->pool->svc[i];

	if (f->flags & STATS_F_VIP)
		snprintf(buf, len, "service=\"%s\",vip=\"%s\"", svc->label,
		    svc->name);
	else
		snprintf(buf, len, "service=\"%s\"", svc->label);
}

static void
svc_logname(const struct stats_src *s, unsigned i, struct obuf *o)
{
	const struct service	*svc = &s->pool->svc[i];

	ob_printf(o, "service %s %s (%s)", svc->label, svc->name,
	    svc->method->name);
}

static const struct stats_vec svc_drops_vec = {
	"reason", 1, DROP_NREASONS, engine_drop_name, svc_drop,
};

/*
 * The counters of a service and of a server are logged alike: "flows 3
 * active, 10 total; packets ...".
 */
#define LOG_FLOWS	.logpre = ": flows ", .logpost = " active"
#define LOG_TOTAL	.logpre = ", ", .logpost = " total"
#define LOG_PIN		.logpre = "; packets ", .logpost = " in"
#define LOG_BIN		.logpre = "; bytes ", .logpost = " in"
#define LOG_OUT		.logpre = ", ", .logpost = " out"

static const struct stats_field service_fields[] = {
	{ .name = "service", .head = "SERVICE", .width = -12,
	  SERVICE(label), .flags = STATS_F_STR },
	{ .name = "vip", .head = "VIRTUAL", .width = -28, SERVICE(name),
	  .flags = STATS_F_STR },
	{ .name = "method", .head = "METHOD", .width = -15,
	  .get = svc_method },
	{ .name = "servers", SERVICE(nsrv) },
	{ .head = "UP", .width = 5, .get = svc_up_of },
	{ .name = "servers_up", .get = svc_servers_up },
	{ .name = "on_backup", SERVICE(use_backup), .flags = STATS_F_BOOL },
	{ .name = "max_clients", SERVICE(max_clients),
	  .prom = "service_max_clients", .type = STATS_GAUGE,
	  .flags = STATS_F_VIP,
	  .help = "Its cap on active flows (max_clients); 0: none." },
	{ .name = "max_client_conns", SERVICE(climits.max_conns) },
	{ .name = "max_client_rate", SERVICE(climits.rate) },
	{ .name = "flows_active", .head = "ACTIVE", .width = 8,
	  SERVICE(flows_active), LOG_FLOWS, .prom = "service_flows_active",
	  .type = STATS_GAUGE, .flags = STATS_F_VIP,
	  .help = "Active flows of the service." },
	{ .name = "flows_total", .head = "TOTAL", .width = 10,
	  SERVICE(flows_total), LOG_TOTAL },
	{ .name = "packets_in", SERVICE(pkts_in), LOG_PIN },
	{ .name = "packets_out", SERVICE(pkts_out), LOG_OUT },
	{ .name = "bytes_in", .head = "BYTES_IN", .width = 12,
	  SERVICE(bytes_in), LOG_BIN },
	{ .name = "bytes_out", .head = "BYTES_OUT", .width = 12,
	  SERVICE(bytes_out), LOG_OUT },
	{ .head = "DROPS", .width = 8, .get = svc_drops },
	{ .name = "drops", .vec = &svc_drops_vec, .logpre = "; drops",
	  .flags = STATS_F_NONZERO | STATS_F_PROMNZ,
	  .prom = "service_dropped_packets_total", .type = STATS_COUNTER,
	  .help = "Packets dropped, by service and reason." },
	{ .head = "", .flags = STATS_F_TAIL, .get = svc_backup_note },
};

/* A server's agent: what its last report said. */

static void
ag_fresh(const struct stats_src *s, unsigned i, struct stats_val *v)
{
	val_bool(v, agent_fresh(s->agent, i, s->now_ms));
}

static void
ag_age(const struct stats_src *s, unsigned i, struct stats_val *v)
{
	val_uint(v, agent_age(s->agent, i, s->now_ms));
}

static const char *
ag_check_name(const struct agent_state *as)
{
	return (as->r.check == REPORT_CHECK_UP ? "up" :
	    as->r.check == REPORT_CHECK_DOWN ? "down" : "none");
}

static void
ag_check(const struct stats_src *s, unsigned i, struct stats_val *v)
{
	val_str(v, ag_check_name(&s->agent->st[i]));
}

static void
ag_drain(const struct stats_src *s, unsigned i, struct stats_val *v)
{
	val_bool(v, s->agent->st[i].r.flags & REPORT_F_DRAIN);
}

static void
ag_load_now(const struct stats_src *s, unsigned i, struct stats_val *v)
{
	val_uint(v, agent_load_now(s->agent, s->pool, i));
}

static const struct stats_field agent_fields[] = {
	{ .name = "fresh", .get = ag_fresh },
	{ .name = "age_ms", .get = ag_age },
	{ .name = "cpu_permille", AGENT(r.cpu_pm) },
	{ .name = "load100", AGENT(r.load100) },
	{ .name = "memory_permille", AGENT(r.mem_pm) },
	{ .name = "connections", AGENT(r.conns) },
	{ .name = "check", .get = ag_check },
	{ .name = "check_us", AGENT(r.check_us) },
	{ .name = "drain", .get = ag_drain },
	{ .name = "drain_overridden", AGENT(overridden),
	  .flags = STATS_F_BOOL },
	{ .name = "weight_hint", AGENT(r.weight) },
	{ .name = "load_now", .get = ag_load_now },
};

static const struct stats_object agent_object = {
	agent_fields, NELEM(agent_fields), NULL, NULL, NULL, NULL, NULL,
};

/* A server. */

static unsigned
srv_rows(const struct stats_src *s)
{
	return (s->pool->nsrv);
}

static int
srv_used(const struct stats_src *s, unsigned i)
{
	return (s->pool->srv[i].used);
}

static void
srv_service(const struct stats_src *s, unsigned i, struct stats_val *v)
{
	val_str(v, s->pool->svc[s->pool->srv[i].svc].label);
}

static void
srv_vip(const struct stats_src *s, unsigned i, struct stats_val *v)
{
	val_str(v, s->pool->svc[s->pool->srv[i].svc].name);
}

static void
srv_up(const struct stats_src *s, unsigned i, struct stats_val *v)
{
	val_bool(v, s->pool->srv[i].state == SRV_UP);
}

static uint64_t
srv_in_state(const struct stats_src *s, unsigned i, unsigned st)
{
	return (s->pool->srv[i].state == st);
}

static int
srv_drained(const struct server *srv)
{
	return (srv->state == SRV_DRAINING && srv->drained);
}

/* Its state for a person: "drained" is draining with no flow left. */
static void
srv_state_shown(const struct stats_src *s, unsigned i, struct stats_val *v)
{
	const struct server	*srv = &s->pool->srv[i];

	val_str(v, srv_drained(srv) ? "drained" : srv_state_name(srv->state));
}

static void
srv_state(const struct stats_src *s, unsigned i, struct stats_val *v)
{
	val_str(v, srv_state_name(s->pool->srv[i].state));
}

static void
srv_reason(const struct stats_src *s, unsigned i, struct stats_val *v)
{
	val_str(v, srv_reason_name(s->pool->srv[i].reason));
}

static void
srv_is_drained(const struct stats_src *s, unsigned i, struct stats_val *v)
{
	val_bool(v, srv_drained(&s->pool->srv[i]));
}

/* "1/2": the weight in effect of the configured one. */
static void
srv_weights(const struct stats_src *s, unsigned i, struct stats_val *v)
{
	const struct server	*srv = &s->pool->srv[i];

	snprintf(v->buf, sizeof(v->buf), "%u/%u", srv->weight, srv->cweight);
	val_str(v, v->buf);
}

static void
srv_rtt_ms(const struct stats_src *s, unsigned i, struct stats_val *v)
{
	val_real(v, s->pool->srv[i].rtt_us / 1000.0);
}

static void
srv_rtt_s(const struct stats_src *s, unsigned i, struct stats_val *v)
{
	val_real(v, s->pool->srv[i].rtt_us / 1e6);
}

static int
srv_has_agent(const struct stats_src *s, unsigned i)
{
	return (s->agent != NULL && i < s->agent->nsrv &&
	    s->agent->st[i].valid);
}

/* Its agent in a few words: "fresh 2s cpu 35% up drain". */
static void
srv_agent_text(const struct stats_src *s, unsigned i, struct stats_val *v)
{
	const struct agent_state *as;

	if (!srv_has_agent(s, i)) {
		val_str(v, "-");
		return;
	}
	as = &s->agent->st[i];
	snprintf(v->buf, sizeof(v->buf), "%s %llus cpu %u%% %s%s",
	    agent_fresh(s->agent, i, s->now_ms) ? "fresh" : "stale",
	    (unsigned long long)(agent_age(s->agent, i, s->now_ms) / 1000),
	    as->r.cpu_pm / 10u, as->r.check == REPORT_CHECK_UP ? "up" :
	    as->r.check == REPORT_CHECK_DOWN ? "down" : "-",
	    !(as->r.flags & REPORT_F_DRAIN) ? "" : as->overridden ?
	    " drain(overridden)" : " drain");
	val_str(v, v->buf);
}

static void
srv_agent(const struct stats_src *s, unsigned i, struct stats_val *v)
{
	val_bool(v, srv_has_agent(s, i));
}

/* The CPU its agent reported, while that is fresh. */
static void
srv_agent_cpu(const struct stats_src *s, unsigned i, struct stats_val *v)
{
	if (agent_fresh(s->agent, i, s->now_ms))
		val_real(v, s->agent->st[i].r.cpu_pm / 1000.0);
}

/* Seconds since its agent's last report, if it ever reported. */
static void
srv_agent_age(const struct stats_src *s, unsigned i, struct stats_val *v)
{
	if (srv_has_agent(s, i))
		val_real(v, agent_age(s->agent, i, s->now_ms) / 1000.0);
}

/* Its last minutes (the status page's JSON). */
static void
srv_history(const struct stats_src *s, unsigned i, struct obuf *o)
{
	srvhist_json(s->hist, i, o);
}

static void
srv_labels(const struct stats_src *s, unsigned i,
    const struct stats_field *f, char *buf, size_t len)
{
	const struct server	*srv = &s->pool->srv[i];

	(void)f;
	snprintf(buf, len, "service=\"%s\",server=\"%s\"",
	    s->pool->svc[srv->svc].label, srv->name);
}

static void
srv_logname(const struct stats_src *s, unsigned i, struct obuf *o)
{
	const struct server	*srv = &s->pool->srv[i];

	ob_printf(o, "server %s (%s)%s %s (%s)", srv->name,
	    s->pool->svc[srv->svc].name, srv->backup ? " backup" : "",
	    srv_drained(srv) ? "drained (safe to stop)" :
	    srv_state_name(srv->state), srv_reason_name(srv->reason));
}

/*
 * Its agent's report in the log, where the per mille figures are per
 * cent with a decimal and the load has two.
 */
static void
srv_logagent(const struct stats_src *s, unsigned i)
{
	const struct agent_state *as;

	if (!srv_has_agent(s, i))
		return;
	as = &s->agent->st[i];
	log_notice("stats: server %s agent: %s, age %llu ms, cpu %u.%u%%, "
	    "load %u.%02u, memory %u.%u%%, connections %u, check %s (%u us)%s, "
	    "load now %u", s->pool->srv[i].name,
	    agent_fresh(s->agent, i, s->now_ms) ? "fresh" : "stale",
	    (unsigned long long)agent_age(s->agent, i, s->now_ms),
	    as->r.cpu_pm / 10u, as->r.cpu_pm % 10u, as->r.load100 / 100,
	    as->r.load100 % 100, as->r.mem_pm / 10u, as->r.mem_pm % 10u,
	    as->r.conns, ag_check_name(as), as->r.check_us,
	    (as->r.flags & REPORT_F_DRAIN) ? ", drain" : "",
	    agent_load_now(s->agent, s->pool, i));
}

static const struct stats_vec srv_state_vec = {
	"state", SRV_UP, SRV_DISABLED + 1, srv_state_name, srv_in_state,
};

/* "-": no cap; "200", "200 full" while it takes no new flow. */
static void
srv_cap_text(const struct stats_src *s, unsigned i, struct stats_val *v)
{
	const struct server	*srv = &s->pool->srv[i];

	if (srv->maxconn == 0) {
		val_str(v, "-");
		return;
	}
	snprintf(v->buf, sizeof(v->buf), "%u%s", srv->maxconn,
	    srv->atcap ? " full" : "");
	val_str(v, v->buf);
}

/* The log's word on a capped server: "; maxconn 200 (full), 3 times..." */
static void
srv_cap_log(const struct stats_src *s, unsigned i, struct stats_val *v)
{
	const struct server	*srv = &s->pool->srv[i];

	if (srv->maxconn == 0) {
		val_str(v, "");
		return;
	}
	snprintf(v->buf, sizeof(v->buf), "; maxconn %u%s, at cap %llu "
	    "times, %.1f s", srv->maxconn, srv->atcap ? " (full)" : "",
	    (unsigned long long)srv->atcap_times, srv->atcap_ms / 1000.0);
	val_str(v, v->buf);
}

static void
srv_atcap_s(const struct stats_src *s, unsigned i, struct stats_val *v)
{
	val_real(v, s->pool->srv[i].atcap_ms / 1000.0);
}

/* The columns of show servers, the keys of its JSON, then the agent. */
static const struct stats_field server_fields[] = {
	{ .name = "service", .head = "SERVICE", .width = -12,
	  .get = srv_service },
	{ .name = "vip", .get = srv_vip },
	{ .name = "server", .head = "SERVER", .width = -24, SERVER(name),
	  .flags = STATS_F_STR },
	{ .get = srv_up, .prom = "server_up", .type = STATS_GAUGE,
	  .help = "1 if the server takes new flows." },
	{ .vec = &srv_state_vec, .prom = "server_state", .type = STATS_GAUGE,
	  .help = "The server's state: 1 for the one it is in." },
	{ .head = "STATE", .width = -9, .get = srv_state_shown },
	{ .name = "state", .get = srv_state },
	{ .name = "reason", .head = "REASON", .width = -8,
	  .get = srv_reason },
	{ .name = "drained", .get = srv_is_drained },
	{ .name = "ghost", SERVER(ghost), .flags = STATS_F_BOOL },
	{ .head = "WEIGHT", .width = 9, .get = srv_weights },
	{ .name = "weight", SERVER(weight), .prom = "server_weight",
	  .type = STATS_GAUGE, .help = "Weight in effect." },
	{ .name = "configured_weight", SERVER(cweight) },
	{ .name = "backup", .head = "BAK", .width = 3, SERVER(backup),
	  .flags = STATS_F_BOOL },
	{ .name = "healthy", SERVER(healthy), .flags = STATS_F_BOOL },
	{ .head = "MAXCONN", .width = -12, .get = srv_cap_text },
	{ .name = "maxconn", SERVER(maxconn), .prom = "server_maxconn",
	  .type = STATS_GAUGE, .help = "Its cap on active flows; 0: none." },
	{ .name = "lowconn", SERVER(lowconn) },
	{ .name = "at_cap", SERVER(atcap), .flags = STATS_F_BOOL,
	  .prom = "server_at_cap",
	  .type = STATS_GAUGE,
	  .help = "1 while the server is at its cap and takes no new flow." },
	{ .name = "at_cap_times", SERVER(atcap_times),
	  .prom = "server_at_cap_total",
	  .type = STATS_COUNTER, .help = "Times the server reached its cap." },
	{ .name = "at_cap_s", .get = srv_atcap_s, .decimals = 3,
	  .prom = "server_at_cap_seconds_total",
	  .type = STATS_COUNTER, .help = "Time spent at its cap." },
	{ .name = "flows_active", .head = "ACTIVE", .width = 8,
	  SERVER(flows_active), LOG_FLOWS, .prom = "server_flows_active",
	  .type = STATS_GAUGE, .help = "Active flows." },
	{ .name = "flows_total", .head = "TOTAL", .width = 10,
	  SERVER(flows_total), LOG_TOTAL,
	  .prom = "server_flows_started_total", .type = STATS_COUNTER,
	  .help = "Flows sent to the server." },
	{ .name = "packets_in", SERVER(pkts_in), LOG_PIN,
	  .prom = "server_packets_in_total", .type = STATS_COUNTER,
	  .help = "Packets from clients to the server." },
	{ .name = "packets_out", SERVER(pkts_out), LOG_OUT,
	  .prom = "server_packets_out_total", .type = STATS_COUNTER,
	  .help = "Packets from the server to clients." },
	{ .name = "bytes_in", .head = "BYTES_IN", .width = 12,
	  SERVER(bytes_in), LOG_BIN, .prom = "server_bytes_in_total",
	  .type = STATS_COUNTER, .help = "Bytes from clients to the server." },
	{ .name = "bytes_out", .head = "BYTES_OUT", .width = 12,
	  SERVER(bytes_out), LOG_OUT, .prom = "server_bytes_out_total",
	  .type = STATS_COUNTER, .help = "Bytes from the server to clients." },
	{ .logpre = "", .get = srv_cap_log },
	{ .name = "response_time_us", SERVER(rtt_us) },
	{ .head = "RTT_MS", .width = 7, .get = srv_rtt_ms, .decimals = 3 },
	{ .get = srv_rtt_s, .decimals = 6, .prom = "server_response_seconds",
	  .type = STATS_GAUGE,
	  .help = "Measured SYN to SYN+ACK time, decaying average." },
	{ .head = "AGENT", .get = srv_agent_text },
	{ .name = "agent", .get = srv_agent, .sub = &agent_object },
	{ .get = srv_agent_cpu, .decimals = 3, .flags = STATS_F_AGENT,
	  .prom = "server_agent_cpu_ratio", .type = STATS_GAUGE,
	  .help = "CPU use its agent reported (0..1), while fresh." },
	{ .get = srv_agent_age, .decimals = 3, .flags = STATS_F_AGENT,
	  .prom = "server_agent_age_seconds", .type = STATS_GAUGE,
	  .help = "Seconds since its agent's last report, once it reported." },
	{ .name = "history", .flags = STATS_F_HIST, .json = srv_history },
};

const struct stats_object stats_objects[STATS_NOBJ] = {
	[STATS_LOADD] = { loadd_fields, NELEM(loadd_fields), NULL, NULL,
	    NULL, NULL, NULL },
	[STATS_SERVICES] = { service_fields, NELEM(service_fields), svc_rows,
	    svc_used, svc_labels, svc_logname, NULL },
	[STATS_SERVERS] = { server_fields, NELEM(server_fields), srv_rows,
	    srv_used, srv_labels, srv_logname, srv_logagent },
};

/* Where a field's member is read, or NULL where that part is not there. */
static const void *
field_base(const struct stats_field *f, const struct stats_src *s,
    unsigned row)
{
	switch (f->base) {
	case STATS_B_ENGINE:
		return (s->e);
	case STATS_B_PKTIO:
		return (s->io);
	case STATS_B_HEALTH:
		return (s->hs);
	case STATS_B_HTTP:
		return (s->http);
	case STATS_B_SERVICE:
		return (&s->pool->svc[row]);
	case STATS_B_SERVER:
		return (&s->pool->srv[row]);
	case STATS_B_AGENT:
		return (s->agent != NULL && row < s->agent->nsrv ?
		    &s->agent->st[row] : NULL);
	case STATS_B_NONE:
		break;
	}
	return (NULL);
}

void
stats_value(const struct stats_field *f, const struct stats_src *s,
    unsigned row, struct stats_val *v)
{
	const unsigned char	*p;
	uint64_t		 u64;
	uint32_t		 u32;
	uint16_t		 u16;
	uint8_t			 u8;

	v->type = SV_NONE;
	v->u = 0;
	if (f->get != NULL) {
		f->get(s, row, v);
		return;
	}
	p = field_base(f, s, row);
	if (f->flags & STATS_F_STR) {
		val_str(v, p != NULL ? (const char *)p + f->off : "");
		return;
	}
	/* The counters of a part that is not there are 0. */
	v->type = (f->flags & STATS_F_BOOL) ? SV_BOOL : SV_UINT;
	if (p == NULL)
		return;
	p += f->off;
	/* Copied out: a member's alignment is its struct's business. */
	switch (f->size) {
	case 1:
		memcpy(&u8, p, 1);
		v->u = u8;
		break;
	case 2:
		memcpy(&u16, p, 2);
		v->u = u16;
		break;
	case 4:
		memcpy(&u32, p, 4);
		v->u = u32;
		break;
	default:
		memcpy(&u64, p, 8);
		v->u = u64;
		break;
	}
}

int
stats_field_on(const struct stats_field *f, const struct stats_src *s)
{
	if ((f->flags & STATS_F_AGENT) && s->agent == NULL)
		return (0);
	if ((f->flags & STATS_F_HTTP) && s->http == NULL)
		return (0);
	if ((f->flags & STATS_F_HIST) && s->hist == NULL)
		return (0);
	return (1);
}

void
stats_src_env(struct stats_src *s, const struct ctlenv *env)
{
	memset(s, 0, sizeof(*s));
	s->e = env->e;
	s->pool = &env->conf->pool;
	s->io = env->io;
	s->hs = env->h != NULL ? health_stats(env->h) : NULL;
	s->agent = env->agent;
	s->http = env->http;
	s->now_ms = env->now_ms;
	s->started_ms = env->started_ms;
}
