/*
 * loadd: a packet-level load balancer (reverse NAT) in the line of the
 * HUT project's loadd and of natd.  The command line keeps the original's
 * flags: -f -p -b -d -v -t -h.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <err.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cfgfile.h"
#include "compat.h"

#include "agent.h"
#include "config.h"
#include "ctl.h"
#include "engine.h"
#include "health.h"
#include "log.h"
#include "pktio.h"
#ifdef LOADD_OFFLOAD
#include "ctevents.h"
#endif
#include "privsep.h"
#include "reload.h"
#include "reset.h"
#include "rules.h"
#include "sched.h"
#include "sysctl_check.h"

#ifndef LOADD_VERSION
#define LOADD_VERSION	"0.1"
#endif
#define LOADD_PIDFILE	"/var/run/loadd.pid"

static volatile sig_atomic_t	 quit, dumpstats, hup;

static void	 usage(FILE *, int) __attribute__((noreturn));
static void	 on_signal(int);
static uint32_t	 monotime(void);
static uint32_t	 monotime_ms(void);
static uint64_t	 monotime_ms64(void);
static void	 note_health(const struct config *);
static void	 stats_log(const struct engine *, const struct pktio *);
static void	 drops_format(char *, size_t, const uint64_t *);
static int	 run_replay(struct config *, const char *, const char *);
static int	 enable_reset(struct engine *, const struct config *);
static void	 note_methods(const struct config *);
static int	 run_live(struct config *, const char *,
		    struct config_overrides *, struct pidfh **);

static void
usage(FILE *fp, int status)
{
	fprintf(fp,
	    "usage: loadd [-dhntv] [-b method] [-f file] [-p port] [-s socket]\n"
	    "       loadd -R [-f file] [-p port] [iptables | ipfw]\n"
	    "       loadd [-v] [-b method] [-f file] -r in.pcap -w out.pcap\n"
	    "\n"
	    "  -f file    configuration file (default %s)\n"
	    "  -p port    divert port (FreeBSD) or NFQUEUE number (Linux); "
	    "default %d\n"
	    "  -b method  balancing method (overrides balancingmode)\n"
	    "  -s socket  control socket (overrides ctlsocket; default %s)\n"
	    "  -d         run as a daemon\n"
	    "  -v         more verbose (repeat for debug)\n"
	    "  -t         transparent proxy (always on; accepted for "
	    "compatibility)\n"
	    "  -n         check the configuration and exit\n"
	    "  -R         print the firewall rules the configuration needs "
	    "and exit\n"
	    "             (iptables on Linux, ipfw on FreeBSD, or as named)\n"
	    "  -r file    replay: read packets from a capture ...\n"
	    "  -w file    ... and write the rewritten ones to this capture\n"
	    "  -h         this help\n"
	    "\n"
	    "balancing methods:\n", LOADD_CONF, LOADD_QUEUE, LOADD_CTLSOCKET);
	sched_list(fp, "  ");
	exit(status);
}

static void
on_signal(int sig)
{
	switch (sig) {
	case SIGUSR1:
		dumpstats = 1;
		break;
	case SIGHUP:
		hup = 1;
		break;
	default:
		quit = 1;
		break;
	}
}

static uint32_t
monotime_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint32_t)((uint64_t)ts.tv_sec * 1000 +
	    (uint64_t)ts.tv_nsec / 1000000));
}

/* Milliseconds, not wrapping: for health checks. */
static uint64_t
monotime_ms64(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

/* Poll slots: packets, reports, conntrack events, the control plane, probes. */
static unsigned
nc_nalloc(unsigned nsrv)
{
	return (nsrv + 8 + CTL_NFDS);
}

static uint32_t
monotime(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint32_t)ts.tv_sec);
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
static void
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
	if (pool->agent != NULL) {
		const struct agent *a = pool->agent;
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
		if (pool->agent != NULL && pool->agent->st[i].valid) {
			const struct agent_state *as = &pool->agent->st[i];

			log_notice("stats: server %s agent: %s, age %llu ms, "
			    "cpu %u.%u%%, load %u.%02u, memory %u.%u%%, "
			    "connections %u, check %s (%u us)%s, load now %u",
			    srv->name, agent_fresh(pool->agent, i,
			    pool->now_ms) ? "fresh" : "stale",
			    (unsigned long long)agent_age(pool->agent, i,
			    pool->now_ms), as->r.cpu_pm / 10, as->r.cpu_pm % 10,
			    as->r.load100 / 100, as->r.load100 % 100,
			    as->r.mem_pm / 10, as->r.mem_pm % 10, as->r.conns,
			    as->r.check == REPORT_CHECK_UP ? "up" :
			    as->r.check == REPORT_CHECK_DOWN ? "down" : "none",
			    as->r.check_us, (as->r.flags & REPORT_F_DRAIN) ?
			    ", drain" : "", agent_load_now(pool->agent, pool, i));
		}
	}
}

/* Says what the agent-based methods do while no agent reports. */
static void
note_methods(const struct config *conf)
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
static void
note_health(const struct config *conf)
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

static int
enable_reset(struct engine *e, const struct config *conf)
{
	struct resetter	*r;

	if ((r = reset_new(conf->reset_rate)) == NULL) {
		warnx("cannot set up libnet for resets");
		return (-1);
	}
	engine_set_reset(e, r, conf->unknown_reset);
	return (0);
}

/* Sends what the engine made up during the last batch. */
static void
flush_generated(struct engine *e, struct pktio *io)
{
	struct engine_gen *g;
	unsigned	 i, n;

	g = engine_generated(e, &n);
	for (i = 0; i < n; i++)
		(void)io->ops->inject(io, g[i].data, g[i].len, g[i].family);
}

static int
run_replay(struct config *conf, const char *rpath, const char *wpath)
{
	struct pktio	 io;
	struct engine	 e;
	struct pktbuf	 pb[PKTIO_BATCH];
	int		 n, i, rc = 0;
	uint32_t	 ts = 0;

	memset(&io, 0, sizeof(io));
	io.ops = &pktio_pcap_ops;
	io.rpath = rpath;
	io.wpath = wpath;
	if (io.ops->open(&io) == -1) {
		io.ops->close(&io);
		return (1);
	}
	if (engine_init(&e, &conf->pool, conf->maxflows, conf->timeout,
	    (uint64_t)arc4random() << 32 | arc4random()) == -1) {
		io.ops->close(&io);
		warnx("cannot allocate a flow table for %u flows",
		    conf->maxflows);
		return (1);
	}
	if (enable_reset(&e, conf) == -1 ||
	    (conf->sticky_any &&
	    engine_set_sticky(&e, conf->sticky_clients) == -1)) {
		warnx("cannot set up the engine");
		io.ops->close(&io);
		engine_free(&e);
		return (1);
	}
	if (log_getverbose() > 0)
		note_methods(conf);
	while (!io.eof) {
		if ((n = io.ops->recv(&io, pb, PKTIO_BATCH)) <= 0)
			continue;
		for (i = 0; i < n; i++) {
			if (pb[i].flags & PB_SKIP)
				continue;
			ts = pb[i].ts;
			engine_set_ms(&e, pb[i].ts_ms);
			engine_process(&e, &pb[i], ts);
		}
		io.ops->send(&io, pb, (unsigned)n);
		flush_generated(&e, &io);
		engine_tick(&e, ts);
	}
	io.ops->close(&io);
	if (io.failed)
		rc = 1;
	log_notice("replay: %llu packets read, %llu written, %llu rewritten, "
	    "%llu dropped, %llu not IP", (unsigned long long)io.st.recv,
	    (unsigned long long)io.st.sent,
	    (unsigned long long)e.st.rewritten,
	    (unsigned long long)e.st.dropped, (unsigned long long)io.st.notip);
	if (log_getverbose() > 0)
		stats_log(&e, &io);
	engine_free(&e);
	return (rc);
}

/* The UDP socket agent reports come to; -1 after saying why. */
static int
report_socket(const struct config *conf)
{
	struct sockaddr_storage ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t		 sl;
	char			 a[ADDR_STRLEN];
	int			 fd, off = 0;

	memset(&ss, 0, sizeof(ss));
	if (conf->reportfamily == 4) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(conf->reportport);
		memcpy(&sin->sin_addr, &conf->reportaddr.w[0], 4);
		sl = sizeof(*sin);
	} else {
		/* Any address: one socket for both families. */
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(conf->reportport);
		if (conf->reportfamily == 6)
			memcpy(&sin6->sin6_addr, conf->reportaddr.b, 16);
		sl = sizeof(*sin6);
	}
	if ((fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1) {
		log_warn("report socket");
		return (-1);
	}
	if (ss.ss_family == AF_INET6 && conf->reportfamily == 0)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off,
		    sizeof(off));
	/*
	 * No SO_REUSEADDR: with it, any local user could bind the same
	 * address and port and take the reports (UDP delivers each to one
	 * of the sockets).  A port in use is an error.
	 */
	if (bind(fd, (struct sockaddr *)&ss, sl) == -1) {
		log_warn("report socket: bind %s port %u",
		    conf->reportfamily ? addr_ntop(conf->reportfamily,
		    &conf->reportaddr, a, sizeof(a)) : "any", conf->reportport);
		close(fd);
		return (-1);
	}
	return (fd);
}

static uint64_t
wall_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

/* Reads what is waiting on the report socket (a bounded number). */
static void
report_read(int fd, struct agent *a, struct pool *pool, uint64_t mono)
{
	struct sockaddr_storage ss;
	socklen_t	 sl;
	uint8_t		 buf[REPORT_LEN + 1];	/* longer is wrong anyway */
	union addr	 src;
	ssize_t		 n;
	unsigned	 i, srv;
	int		 family, r;

	for (i = 0; i < 256; i++) {
		sl = sizeof(ss);
		n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&ss,
		    &sl);
		if (n == -1)
			return;
		memset(&src, 0, sizeof(src));
		if (ss.ss_family == AF_INET) {
			family = 4;
			memcpy(&src.w[0],
			    &((struct sockaddr_in *)&ss)->sin_addr, 4);
		} else if (ss.ss_family == AF_INET6) {
			family = 6;
			memcpy(src.b,
			    &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
		} else
			continue;
		r = agent_receive(a, pool, buf, (size_t)n, family, &src,
		    wall_ms(), mono, &srv);
		if (r != AGENT_ACCEPTED)
			log_debug("report from %s: %s", addr_ntop(family, &src,
			    (char [ADDR_STRLEN]){ 0 }, ADDR_STRLEN),
			    agent_result_name(r));
	}
}

/* Everything the live loop keeps, for the reload to swap. */
struct live {
	struct config		*conf;
	const char		*path;
	struct config_overrides	*ov;
	struct pktio		 io;
	struct engine		 e;
	struct health		*h;
	struct agent		 agent, *ag;
	struct ctl		*ctl;
	struct ctlenv		 env;
	struct pollfd		*pfd;
	unsigned		 nalloc;
	uint8_t			*gone;
	int			 rfd;
	int			 mfd;	/* metrics listener, or -1 */
	int			 privfd;	/* to the privileged parent, or -1 */
	struct ctev		*ctev;	/* offload: conntrack's ends, or NULL */
};

static char	 reload_why[256];

/* Configuration errors during a reload: logged, the first one kept. */
static void
reload_report(const char *msg)
{
	log_warnx("reload: %s", msg);
	if (reload_why[0] == '\0')
		strlcpy(reload_why, msg, sizeof(reload_why));
}

static int
live_reload(void *arg, char *err, size_t errlen)
{
	struct live	*L = arg;
	struct config	*nc;
	struct health_stats hst;
	uint16_t	*srvmap;
	unsigned	 oldnsrv = L->conf->pool.nsrv, room, i, j;
	uint16_t	*kept;
	struct pollfd	*npfd;
	uint8_t		*ngone;
	int		 rc;

	log_notice("reload: reading %s", L->path);
	if ((nc = calloc(1, sizeof(*nc))) == NULL ||
	    (srvmap = calloc(oldnsrv + 1, sizeof(*srvmap))) == NULL) {
		free(nc);
		snprintf(err, errlen, "out of memory");
		return (-1);
	}
	reload_why[0] = '\0';
	cfg_set_reporter(reload_report);
	if (L->privfd != -1)
		rc = privsep_fetch(L->privfd, nc, L->path, L->ov, reload_why,
		    sizeof(reload_why));
	else
		rc = config_load(nc, L->path, L->ov);
	cfg_set_reporter(NULL);
	if (rc == -1) {
		snprintf(err, errlen, "%s; the running configuration stays",
		    reload_why[0] ? reload_why : "configuration not loaded");
		log_warnx("reload: %s", err);
		free(nc);
		free(srvmap);
		return (-1);
	}
	/* Room for the merged pool (new and ghosts), first. */
	room = nc->pool.nsrv + oldnsrv;
	npfd = calloc(nc_nalloc(room), sizeof(*npfd));
	ngone = calloc(room + 1, 1);
	if (npfd == NULL || ngone == NULL ||
	    reload_swap(&L->e, L->conf, nc, srvmap, err, errlen) == -1) {
		if (npfd == NULL || ngone == NULL)
			snprintf(err, errlen, "out of memory");
		log_warnx("reload: %s; the running configuration stays", err);
		free(npfd);
		free(ngone);
		config_free(nc);
		free(nc);
		free(srvmap);
		return (-1);
	}
	/*
	 * Health follows the new pool; probes start again, spread out.  Its
	 * counters go on (they are counters to Prometheus too).
	 */
	hst = *health_stats(L->h);
	health_free(L->h);
	L->h = NULL;
	if (L->ag != NULL &&
	    agent_remap(L->ag, &nc->pool, &nc->keys, srvmap, oldnsrv,
	    nc->agent_window_ms, nc->agent_stale) == -1)
		log_warnx("reload: out of memory: agent reports start afresh");
	config_free(L->conf);
	*L->conf = *nc;
	free(nc);
	L->env.reloads++;	/* a metrics page half rendered starts again */
	kept = srvmap;		/* old -> new: what is not in it is new */
	L->e.pool = &L->conf->pool;
	L->conf->pool.agent = L->ag;
	if (L->ag != NULL)
		L->ag->keys = &L->conf->keys;
	free(L->pfd);
	free(L->gone);
	L->pfd = npfd;
	L->gone = ngone;
	L->nalloc = nc_nalloc(room);
	if ((L->h = health_new(&L->conf->pool)) == NULL)
		fatal("reload: health checks");
	health_stats_carry(L->h, &hst);
	/* Servers the reload added take their slow start, if any. */
	for (i = 0; i < L->conf->pool.nsrv; i++) {
		for (j = 0; j < oldnsrv && kept[j] != i; j++)
			;
		if (j == oldnsrv && !L->conf->pool.srv[i].ghost)
			health_ramp(L->h, i);
	}
	free(kept);
	L->env.conf = L->conf;
	L->env.h = L->h;
	note_health(L->conf);
	return (0);
}

/* The metrics listener; ctl.c answers its scrapes. */
static int
metrics_socket(const struct config *conf)
{
	struct sockaddr_storage ss;
	socklen_t	 sl;
	int		 fd, one = 1;

	memset(&ss, 0, sizeof(ss));
	if (conf->metricsfamily == 4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(conf->metricsport);
		memcpy(&sin->sin_addr, &conf->metricsaddr.w[0], 4);
		sl = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(conf->metricsport);
		memcpy(&sin6->sin6_addr, conf->metricsaddr.b, 16);
		sl = sizeof(*sin6);
	}
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1)
		return (-1);
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) == -1 ||
	    listen(fd, 64) == -1) {
		close(fd);
		return (-1);
	}
	return (fd);
}

static int
run_live(struct config *conf, const char *path, struct config_overrides *ov,
    struct pidfh **pfhp)
{
	static struct live L;
	struct pktbuf	 pb[PKTIO_BATCH];
	struct sigaction sa;
	char		 why[256];
	uint64_t	 ms, lastagents = 0;
	uint32_t	 now, lasttick = 0;
	unsigned	 i, npfd, base;
	int		 n, loops, rc = 0, tmo, ridx, cidx;

	memset(&L, 0, sizeof(L));
	L.conf = conf;
	L.path = path;
	L.ov = ov;
	L.rfd = L.mfd = L.privfd = -1;
	L.io.ops = &PKTIO_LIVE;
#if !defined(__linux__) || defined(DIVERT_EMULATION)
	for (n = 0; n < (int)conf->pool.nsvc; n++)
		if (conf->pool.svc[n].family == 6)
			errx(1, "service %s %s: divert(4) carries IPv4 only; "
			    "IPv6 services need Linux and NFQUEUE",
			    conf->pool.svc[n].label, conf->pool.svc[n].name);
#endif
#ifndef LOADD_OFFLOAD
	if (conf->offload)
		errx(1, "offload = yes needs Linux (NFQUEUE and conntrack)");
#endif
	/* Settings that would drop the packets silently; /proc is here. */
	(void)sysctl_check(conf, log_warnx);
	L.io.queue = (unsigned)conf->queue;
	L.io.queue_maxlen = conf->queue_maxlen;
	L.io.failopen = conf->failopen;

	if (L.io.ops->open(&L.io) == -1) {
		L.io.ops->close(&L.io);
		return (1);
	}
#ifdef LOADD_OFFLOAD
	if (conf->offload && (L.ctev = ctev_open()) == NULL)
		errx(1, "offload: cannot hear conntrack's events (is "
		    "nf_conntrack_netlink loaded?)");
#endif
	/* ICMP probes may come with a reload, when root is gone. */
	if (geteuid() == 0)
		health_preopen();
	if ((L.h = health_new(&conf->pool)) == NULL)
		err(1, "health checks (ICMP probes need a raw socket)");
	L.nalloc = nc_nalloc(conf->pool.nsrv);
	if ((L.pfd = calloc(L.nalloc, sizeof(*L.pfd))) == NULL ||
	    (L.gone = calloc(conf->pool.nsrv + 1, 1)) == NULL)
		err(1, "calloc");
	if (conf->keyfile[0] != '\0') {
		if ((L.rfd = report_socket(conf)) == -1)
			errx(1, "cannot receive agent reports");
		if (agent_init(&L.agent, &conf->pool, &conf->keys,
		    conf->agent_window_ms, conf->agent_stale) == -1)
			errx(1, "cannot allocate agent state");
		L.ag = &L.agent;
		conf->pool.agent = L.ag;
		log_info("agent reports: UDP port %u, %u key(s) from %s",
		    conf->reportport, conf->keys.n, conf->keyfile);
	}
	if (conf->metricsfamily != 0 &&
	    (L.mfd = metrics_socket(conf)) == -1)
		err(1, "metrics listener on port %u", conf->metricsport);
	/* The last thing that may fail: nothing is left behind after it. */
	if ((L.ctl = ctl_open(conf->ctlsocket, conf->ctlmode)) == NULL)
		errx(1, "cannot open the control socket %s (another loadd? "
		    "\"ctlsocket =\" or -s chooses another)", conf->ctlsocket);
	if (L.mfd != -1) {
		ctl_set_http(L.ctl, L.mfd);
		L.mfd = -1;
	}
	L.env.e = &L.e;
	L.env.conf = conf;
	L.env.h = L.h;
	L.env.agent = L.ag;
	L.env.io = &L.io;
	L.env.reload = live_reload;
	L.env.arg = &L;
	L.env.started_ms = L.env.now_ms = monotime_ms64();

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (conf->daemon) {
		if (daemon(0, 0) == -1)
			err(1, "daemon");
		log_init("loadd", 0, conf->facility);
	}
	/* Everything that needs root is open: root goes. */
	if (conf->privsep && geteuid() == 0)
		L.privfd = privsep_split(conf, path, ov, pfhp);
	else {
		if (geteuid() == 0)
			log_warnx("privsep = no: the packet process keeps root");
		if (*pfhp != NULL)
			pidfile_write(*pfhp);
	}
	/*
	 * The flow table is the packet process's alone: made after the
	 * split, so that the parent holds no copy of it.
	 */
	if (engine_init(&L.e, &conf->pool, conf->maxflows, conf->timeout,
	    (uint64_t)arc4random() << 32 | arc4random()) == -1)
		fatalx("cannot allocate a flow table for %u flows",
		    conf->maxflows);
	L.e.offload = conf->offload;
	if (enable_reset(&L.e, conf) == -1)
		fatalx("cannot set up libnet for resets");
	/* Persistence may be turned on by a reload: the table is always there. */
	if (engine_set_sticky(&L.e, conf->sticky_clients) == -1)
		fatalx("cannot allocate the persistence table");
#ifdef LOADD_OFFLOAD
	/* What this loadd handed over before a restart, conntrack still has. */
	if (L.ctev != NULL)
		(void)ctev_dump(L.ctev, &L.e, monotime());
#endif
	note_methods(conf);
	log_notice("started: %u service(s), %u server(s), method %s, "
	    "queue %d, %u flows, control socket %s", conf->pool.nsvc,
	    conf->pool.nsrv, conf->method->name, conf->queue, conf->maxflows,
	    conf->ctlsocket);
	note_health(conf);

	while (!quit) {
		L.pfd[0].fd = L.io.fd;
		L.pfd[0].events = POLLIN;
		L.pfd[0].revents = 0;
		npfd = 1;
		ridx = cidx = -1;
		if (L.rfd != -1) {
			L.pfd[npfd].fd = L.rfd;
			L.pfd[npfd].events = POLLIN;
			L.pfd[npfd].revents = 0;
			ridx = (int)npfd++;
		}
#ifdef LOADD_OFFLOAD
		if (L.ctev != NULL) {
			L.pfd[npfd].fd = ctev_fd(L.ctev);
			L.pfd[npfd].events = POLLIN;
			L.pfd[npfd].revents = 0;
			cidx = (int)npfd++;
		}
#endif
		base = npfd;
		npfd += ctl_pollfds(L.ctl, L.pfd + npfd, L.nalloc - npfd);
		i = npfd;
		npfd += health_pollfds(L.h, L.pfd + npfd, L.nalloc - npfd);
		tmo = health_timeout(L.h, monotime_ms64());
		if (tmo > 1000)
			tmo = 1000;
		if (ctl_busy(L.ctl))
			tmo = 0;	/* a metrics page is being rendered */
		if (poll(L.pfd, npfd, tmo) == -1 && errno != EINTR) {
			log_warn("poll");
			rc = 1;
			break;
		}
		now = monotime();
		/* Drain what is waiting, a bounded number of batches. */
		for (loops = 0; loops < 64 && !quit; loops++) {
			if ((n = L.io.ops->recv(&L.io, pb, PKTIO_BATCH)) < 0) {
				rc = 1;
				quit = 1;
				break;
			}
			if (n == 0)
				break;
			engine_set_ms(&L.e, monotime_ms());
			engine_process_batch(&L.e, pb, (unsigned)n, now);
			L.io.ops->send(&L.io, pb, (unsigned)n);
			flush_generated(&L.e, &L.io);
		}
		/* Probes, passive signs, slow starts, agents; never waits. */
		ms = monotime_ms64();
		L.conf->pool.now_ms = ms;
		L.env.now_ms = ms;
		if (ridx != -1 && (L.pfd[ridx].revents & POLLIN))
			report_read(L.rfd, L.ag, &L.conf->pool, ms);
#ifdef LOADD_OFFLOAD
		if (cidx != -1 && (L.pfd[cidx].revents & POLLIN))
			ctev_read(L.ctev, &L.e, now);
		else if (L.ctev != NULL)
			ctev_tick(L.ctev, &L.e, now);
#endif
		health_run(L.h, L.pfd + i, npfd - i, ms, L.gone);
		if (L.ag != NULL && (ms >= lastagents + 100 ||
		    (ridx != -1 && (L.pfd[ridx].revents & POLLIN)))) {
			health_agents(L.h, L.ag, ms, L.gone);
			lastagents = ms;
		}
		for (i = 0; i < L.conf->pool.nsrv; i++)
			if (L.gone[i]) {
				L.gone[i] = 0;
				engine_server_down(&L.e, i);
			}
		if (now != lasttick || L.e.sweep_pos != 0) {
			engine_tick(&L.e, now);
			flush_generated(&L.e, &L.io);
			lasttick = now;
		}
		/* The operator: control socket, metrics, signals. */
		ctl_run(L.ctl, L.pfd + base, npfd - base, &L.env);
		if (dumpstats) {
			dumpstats = 0;
			stats_log(&L.e, &L.io);
		}
		if (hup) {
			hup = 0;
			log_notice("SIGHUP: reloading");
			(void)live_reload(&L, why, sizeof(why));
		}
	}
	log_notice("stopping");
	stats_log(&L.e, &L.io);
	ctl_close(L.ctl);
	if (L.mfd != -1)
		close(L.mfd);
	if (L.ag != NULL) {
		L.conf->pool.agent = NULL;
		agent_free(L.ag);
		close(L.rfd);
	}
	health_free(L.h);
	free(L.pfd);
	free(L.gone);
#ifdef LOADD_OFFLOAD
	ctev_close(L.ctev);
#endif
	L.io.ops->close(&L.io);
	engine_free(&L.e);
	return (rc);
}

int
main(int argc, char *argv[])
{
	struct config		 conf;
	struct config_overrides	 ov;
	struct pidfh		*pfh = NULL;
	const char		*path = LOADD_CONF, *rpath = NULL, *wpath = NULL;
	const char		*pidpath;
#if defined(__linux__) && !defined(DIVERT_EMULATION)
	const char		*rulesfor = "iptables";
#else
	const char		*rulesfor = "ipfw";
#endif
	int			 ch, checkonly = 0, printrules = 0, rc;
	pid_t			 other;
	char			*end;
	long			 l;

	/*
	 * Whatever descriptors the invoker left open (a pipe, a socket)
	 * would live on in the packet process: none is loadd's.
	 */
	closefrom(3);
	memset(&ov, 0, sizeof(ov));
	ov.queue = -1;
	log_init("loadd", 1, 0);

	while ((ch = getopt(argc, argv, "b:df:hnp:Rr:s:tvw:")) != -1) {
		switch (ch) {
		case 'b':
			if ((ov.method = sched_find(optarg)) == NULL) {
				fprintf(stderr, "loadd: unknown balancing "
				    "method \"%s\"; methods:\n", optarg);
				sched_list(stderr, "  ");
				exit(1);
			}
			break;
		case 'd':
			ov.daemon = 1;
			break;
		case 'f':
			path = optarg;
			break;
		case 'h':
			usage(stdout, 0);
		case 'n':
			checkonly = 1;
			break;
		case 'p':
			errno = 0;
			l = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || end == optarg ||
			    l < 0 || l > 65535)
				errx(1, "-p %s: not a port or queue number "
				    "(0..65535)", optarg);
			ov.queue = (int)l;
			break;
		case 'R':
			printrules = 1;
			break;
		case 'r':
			rpath = optarg;
			break;
		case 's':
			if (optarg[0] != '/' || strlen(optarg) >= 100)
				errx(1, "-s %s: the control socket is an absolute "
				    "path under 100 bytes", optarg);
			ov.ctlsocket = optarg;
			break;
		case 't':
			/* Transparent is the only mode there is. */
			break;
		case 'v':
			ov.verbose++;
			break;
		case 'w':
			wpath = optarg;
			break;
		default:
			usage(stderr, 1);
		}
	}
	/* -R takes the firewall's name as an operand: iptables or ipfw. */
	if (printrules && optind == argc - 1) {
		rulesfor = argv[optind++];
		if (strcmp(rulesfor, "ipfw") != 0 &&
		    strcmp(rulesfor, "iptables") != 0)
			errx(1, "-R %s: rules for iptables or ipfw", rulesfor);
	}
	if (optind != argc)
		usage(stderr, 1);
	if ((rpath == NULL) != (wpath == NULL))
		errx(1, "replay needs both -r in.pcap and -w out.pcap");

	if (config_load(&conf, path, &ov) == -1)
		exit(1);
	log_setverbose(conf.verbose);
	if (conf.privsep && (checkonly || (rpath == NULL && !printrules &&
	    geteuid() == 0))) {
		char	 why[512];

		if (privsep_user_ok(&conf, why, sizeof(why)) == -1)
			errx(1, "%s", why);
	}
	if (checkonly) {
		/* The host's settings: warnings, the file is still OK. */
		(void)sysctl_check(&conf, warnx);
		printf("configuration OK\n");
		config_free(&conf);
		exit(0);
	}
	if (printrules) {
		if (strcmp(rulesfor, "ipfw") == 0)
			rules_print_ipfw(stdout, &conf);
		else
			rules_print_iptables(stdout, &conf);
		config_free(&conf);
		exit(0);
	}
	if (rpath != NULL) {
		rc = run_replay(&conf, rpath, wpath);
		config_free(&conf);
		exit(rc);
	}

	pidpath = conf.pidfile[0] ? conf.pidfile :
	    (conf.daemon ? LOADD_PIDFILE : NULL);
	if (pidpath != NULL) {
		pfh = pidfile_open(pidpath, 0644, &other);
		if (pfh == NULL) {
			if (errno == EEXIST)
				errx(1, "already running as pid %d (%s)",
				    (int)other, pidpath);
			err(1, "%s", pidpath);
		}
	}
	rc = run_live(&conf, path, &ov, &pfh);
	if (pfh != NULL)
		pidfile_remove(pfh);
	config_free(&conf);
	return (rc);
}
