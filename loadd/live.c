/*
 * The live daemon.  run_live() opens what the configuration asks for, in
 * an order where the first failure leaves nothing behind, drops root,
 * registers each part with the loop (loop.h) and runs it; live_reload()
 * swaps the configuration under them.
 *
 * The loop's sources, in the order they run each pass:
 *	packets		the kernel's queue, drained a bounded number of batches
 *	clock		the control plane's "now" for this pass
 *	reports		lmd's reports (with a keyfile)
 *	conntrack	conntrack's events (offload = yes)
 *	fastpath	the eBPF program's events (offload = bpf: the SYN, FIN
 *			and RST it carried; also read after each batch; its
 *			map's requests are carried out after each batch and
 *			each tick, its counters read by the tick)
 *	health		probes, passive signs, slow starts, agents' verdicts
 *	tick		the flow table's timeouts, once a second
 *	control		the control socket and the metrics listener
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <err.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfgfile.h"
#include "clock.h"
#include "compat.h"

#include "agent.h"
#include "config.h"
#include "ctl.h"
#include "engine.h"
#include "health.h"
#include "live.h"
#include "log.h"
#include "loop.h"
#include "pktio.h"
#ifdef LOADD_FASTPATH
#include "live_fp.h"
#endif
#ifdef LOADD_OFFLOAD
#include "ctevents.h"
#endif
#include "privsep.h"
#include "reload.h"
#include "sched.h"
#include "setup.h"
#include "stats.h"
#include "sysctl_check.h"

/* Poll slots: packets, reports, conntrack, the control plane, probes. */
#define LIVE_MAXFDS	(POOL_MAXSERVERS + 8 + CTL_NFDS)
#define AGENTS_MS	100	/* agents' verdicts, at most this often */

struct live {
	struct config		*conf;
	const char		*path;
	struct config_overrides	*ov;
	struct loop		 loop;
	struct pktio		 io;
	struct engine		 e;
	struct health		*h;
	struct agent		 agent, *ag;
	struct ctl		*ctl;
	struct ctlenv		 env;
	uint8_t			 gone[POOL_MAXSERVERS + 1];
	uint8_t			 slots[POOL_MAXSERVERS];	/* by a reload */
	int			 rfd;		/* agent reports, or -1 */
	int			 privfd;	/* to the privileged parent, or -1 */
	struct ctev		*ctev;	/* offload: conntrack's ends, or NULL */
	struct livefp		*lfp;	/* offload = bpf, or NULL */
	uint64_t		 lastagents;
	uint32_t		 lasttick;
	int			 reported;	/* a report came this pass */
};

/* Configuration errors during a reload: logged, the first one kept. */
static char	 reload_why[256];

/* The configuration read again; on any error the running one stays. */
static struct config *
reload_read(struct live *L, char *err, size_t errlen)
{
	struct config	*nc;
	int		 rc;

	if ((nc = calloc(1, sizeof(*nc))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return (NULL);
	}
	cfg_catch_begin(reload_why, sizeof(reload_why), "reload: ");
	if (L->privfd != -1)
		rc = privsep_fetch(L->privfd, nc, L->path, L->ov, reload_why,
		    sizeof(reload_why));
	else
		rc = config_load(nc, L->path, L->ov);
	cfg_catch_end();
	if (rc == -1) {
		snprintf(err, errlen, "%s; the running configuration stays",
		    reload_why[0] ? reload_why : "configuration not loaded");
		log_warnx("reload: %s", err);
		free(nc);
		return (NULL);
	}
	return (nc);
}

static int
live_reload(void *arg, char *err, size_t errlen)
{
	struct live	*L = arg;
	struct config	*nc;
	unsigned	 i;

	log_notice("reload: reading %s", L->path);
	if ((nc = reload_read(L, err, errlen)) == NULL)
		return (-1);
	if (reload_swap(&L->e, L->conf, nc, L->slots, err, errlen) == -1) {
		log_warnx("reload: %s; the running configuration stays", err);
		config_free(nc);
		free(nc);
		return (-1);
	}
	if (L->ag != NULL)
		agent_reload(L->ag, &nc->pool, &nc->keys, L->slots,
		    nc->agent_window_ms, nc->agent_stale);
	config_free(L->conf);
	*L->conf = *nc;
	free(nc);
	L->env.reloads++;	/* a metrics page half rendered starts again */
	L->e.pool = &L->conf->pool;
	if (L->ag != NULL)
		L->ag->keys = &L->conf->keys;
	memset(L->gone, 0, sizeof(L->gone));
	if (health_reload(L->h, L->slots, clock_mono_ms()) == -1)
		log_warn("reload: ICMP probes need a raw socket, which loadd "
		    "opens at its start only when it starts as root; those "
		    "probes fail");
	/* Servers the reload added take their slow start, if any. */
	for (i = 0; i < L->conf->pool.nsrv; i++)
		if (L->slots[i] == RS_NEW && L->conf->pool.srv[i].used &&
		    !L->conf->pool.srv[i].ghost)
			health_ramp(L->h, i);
	L->env.conf = L->conf;
	setup_note_health(L->conf);
	return (0);
}

static void
on_sighup(void *arg)
{
	char	 why[256];

	log_notice("SIGHUP: reloading");
	(void)live_reload(arg, why, sizeof(why));
}

static void
on_sigusr1(void *arg)
{
	struct live	*L = arg;

	stats_log(&L->e, &L->io);
}

/* A descriptor polled for reading, or nothing. */
static unsigned
one_fd(int fd, struct pollfd *pfd, unsigned max)
{
	if (fd == -1 || max == 0)
		return (0);
	pfd->fd = fd;
	pfd->events = POLLIN;
	pfd->revents = 0;
	return (1);
}

static unsigned
packets_fds(void *arg, struct pollfd *pfd, unsigned max)
{
	struct live	*L = arg;

	return (one_fd(L->io.fd, pfd, max));
}

/* Drains what is waiting, a bounded number of batches. */
static void
packets_run(void *arg, const struct pollfd *pfd, unsigned n, uint64_t now_ms)
{
	struct live	*L = arg;
	struct pktbuf	 pb[PKTIO_BATCH];
	uint32_t	 now = (uint32_t)(now_ms / 1000);
	int		 loops, got;

	(void)pfd;
	(void)n;
	for (loops = 0; loops < 64 && !loop_stopping(&L->loop); loops++) {
		if ((got = L->io.ops->recv(&L->io, pb, PKTIO_BATCH)) < 0) {
			loop_stop(&L->loop, 1);
			break;
		}
		if (got == 0)
			break;
		engine_set_ms(&L->e, (uint32_t)clock_mono_ms());
		engine_process_batch(&L->e, pb, (unsigned)got, now);
#ifdef LOADD_FASTPATH
		if (L->lfp != NULL)
			livefp_adds(L->lfp, &L->e);
#endif
		L->io.ops->send(&L->io, pb, (unsigned)got);
		setup_flush_generated(&L->e, &L->io);
#ifdef LOADD_FASTPATH
		if (L->lfp != NULL) {
			livefp_events(L->lfp, &L->e, now);
			livefp_drain(L->lfp, &L->e);
		}
#endif
	}
}

#ifdef LOADD_FASTPATH
static unsigned
fastpath_fds(void *arg, struct pollfd *pfd, unsigned max)
{
	struct live	*L = arg;

	return (one_fd(livefp_fd(L->lfp), pfd, max));
}

/* The program's events when no packet came to loadd meanwhile. */
static void
fastpath_run(void *arg, const struct pollfd *pfd, unsigned n,
    uint64_t now_ms)
{
	struct live	*L = arg;

	if (n == 0 || !(pfd[0].revents & POLLIN))
		return;
	livefp_events(L->lfp, &L->e, (uint32_t)(now_ms / 1000));
	livefp_drain(L->lfp, &L->e);
}
#endif

/* One "now" for the control plane's pass, taken after the packets. */
static void
clock_run(void *arg, const struct pollfd *pfd, unsigned n, uint64_t now_ms)
{
	struct live	*L = arg;

	(void)pfd;
	(void)n;
	engine_set_mono_ms(&L->e, now_ms);
	L->env.now_ms = now_ms;
}

/* The UDP socket agent reports come to; -1 after saying why. */
static int
report_socket(const struct config *conf)
{
	struct sockaddr_storage ss;
	socklen_t		 sl;
	char			 a[ADDR_STRLEN];
	int			 fd, off = 0;

	/* Family 0: any address, one socket for both families. */
	sl = addr_to_sockaddr(conf->reportfamily, &conf->reportaddr,
	    conf->reportport, &ss);
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

static unsigned
reports_fds(void *arg, struct pollfd *pfd, unsigned max)
{
	struct live	*L = arg;

	return (one_fd(L->rfd, pfd, max));
}

/* Reads what is waiting on the report socket (a bounded number). */
static void
reports_run(void *arg, const struct pollfd *pfd, unsigned n, uint64_t now_ms)
{
	struct live	*L = arg;
	struct sockaddr_storage ss;
	socklen_t	 sl;
	uint8_t		 buf[REPORT_LEN + 1];	/* longer is wrong anyway */
	union addr	 src;
	ssize_t		 got;
	unsigned	 i, srv;
	int		 family, r;

	if (n == 0 || !(pfd[0].revents & POLLIN))
		return;
	L->reported = 1;
	for (i = 0; i < 256; i++) {
		sl = sizeof(ss);
		got = recvfrom(L->rfd, buf, sizeof(buf), 0,
		    (struct sockaddr *)&ss, &sl);
		if (got == -1)
			return;
		if ((family = addr_from_sockaddr(&ss, &src, NULL)) == 0)
			continue;
		r = agent_receive(L->ag, &L->conf->pool, buf, (size_t)got,
		    family, &src, clock_wall_ms(), now_ms, &srv);
		if (r != AGENT_ACCEPTED)
			log_debug("report from %s: %s", addr_ntop(family, &src,
			    (char [ADDR_STRLEN]){ 0 }, ADDR_STRLEN),
			    agent_result_name(r));
	}
}

#ifdef LOADD_OFFLOAD
static unsigned
conntrack_fds(void *arg, struct pollfd *pfd, unsigned max)
{
	struct live	*L = arg;

	return (one_fd(ctev_fd(L->ctev), pfd, max));
}

static void
conntrack_run(void *arg, const struct pollfd *pfd, unsigned n,
    uint64_t now_ms)
{
	struct live	*L = arg;

	if (n == 1 && (pfd[0].revents & POLLIN))
		ctev_read(L->ctev, &L->e, (uint32_t)(now_ms / 1000));
	else
		ctev_tick(L->ctev, &L->e, (uint32_t)(now_ms / 1000));
}
#endif

static unsigned
health_fds(void *arg, struct pollfd *pfd, unsigned max)
{
	struct live	*L = arg;

	return (health_pollfds(L->h, pfd, max));
}

static int
health_wait(void *arg, uint64_t now_ms)
{
	struct live	*L = arg;

	return (health_timeout(L->h, now_ms));
}

/*
 * Probes, passive signs, slow starts, the agents' verdicts; never waits.
 * A server found down has its flows handled by the engine at once.
 */
static void
health_src_run(void *arg, const struct pollfd *pfd, unsigned n,
    uint64_t now_ms)
{
	struct live	*L = arg;
	unsigned	 i;

	health_run(L->h, pfd, n, now_ms, L->gone);
	if (L->ag != NULL && (now_ms >= L->lastagents + AGENTS_MS ||
	    L->reported)) {
		health_agents(L->h, L->ag, now_ms, L->gone);
		L->lastagents = now_ms;
	}
	L->reported = 0;
	for (i = 0; i < L->conf->pool.nsrv; i++)
		if (L->gone[i]) {
			L->gone[i] = 0;
			engine_server_down(&L->e, i);
		}
}

/* The flow table's clock: once a second, and while a sweep goes on. */
static void
tick_run(void *arg, const struct pollfd *pfd, unsigned n, uint64_t now_ms)
{
	struct live	*L = arg;
	uint32_t	 now = (uint32_t)(now_ms / 1000);

	(void)pfd;
	(void)n;
	if (now != L->lasttick && L->io.ops->refresh != NULL)
		L->io.ops->refresh(&L->io);
	if (now != L->lasttick || L->e.sweep_pos != 0) {
		engine_tick(&L->e, now);
#ifdef LOADD_FASTPATH
		/*
		 * The map's counters, timers and closes, once a second; its
		 * deletes before the packets made up, which may be answered
		 * at once (a reset's ACKs).
		 */
		if (L->lfp != NULL && now != L->lasttick)
			livefp_poll(L->lfp, &L->e, now);
		else if (L->lfp != NULL)
			livefp_drain(L->lfp, &L->e);
#endif
		setup_flush_generated(&L->e, &L->io);
		L->lasttick = now;
	}
}

static unsigned
control_fds(void *arg, struct pollfd *pfd, unsigned max)
{
	struct live	*L = arg;

	return (ctl_pollfds(L->ctl, pfd, max));
}

/* No sleeping while a metrics page is being rendered. */
static int
control_wait(void *arg, uint64_t now_ms)
{
	struct live	*L = arg;

	(void)now_ms;
	return (ctl_busy(L->ctl) ? 0 : -1);
}

static void
control_run(void *arg, const struct pollfd *pfd, unsigned n, uint64_t now_ms)
{
	struct live	*L = arg;

	(void)now_ms;
	ctl_run(L->ctl, pfd, n, &L->env);
}

/* The metrics listener; ctl.c answers its scrapes. */
static int
metrics_socket(const struct config *conf)
{
	struct sockaddr_storage ss;
	socklen_t	 sl;
	int		 fd, one = 1;

	sl = addr_to_sockaddr(conf->metricsfamily, &conf->metricsaddr,
	    conf->metricsport, &ss);
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

static void
add_sources(struct live *L)
{
	const struct loop_source src[] = {
		{ "packets", packets_fds, NULL, packets_run, L },
		{ "clock", NULL, NULL, clock_run, L },
		{ "reports", reports_fds, NULL, reports_run, L },
#ifdef LOADD_OFFLOAD
		{ "conntrack", conntrack_fds, NULL, conntrack_run, L },
#endif
#ifdef LOADD_FASTPATH
		{ "fastpath", fastpath_fds, NULL, fastpath_run, L },
#endif
		{ "health", health_fds, health_wait, health_src_run, L },
		{ "tick", NULL, NULL, tick_run, L },
		{ "control", control_fds, control_wait, control_run, L },
	};
	unsigned	 i;

	for (i = 0; i < sizeof(src) / sizeof(src[0]); i++) {
		if (strcmp(src[i].name, "reports") == 0 && L->rfd == -1)
			continue;
#ifdef LOADD_OFFLOAD
		if (strcmp(src[i].name, "conntrack") == 0 && L->ctev == NULL)
			continue;
#endif
#ifdef LOADD_FASTPATH
		if (strcmp(src[i].name, "fastpath") == 0 && L->lfp == NULL)
			continue;
#endif
		if (loop_add(&L->loop, &src[i]) == -1)
			fatalx("loop: too many sources");
	}
}

/*
 * Everything that needs root, in an order where the first failure
 * leaves nothing behind: the queue, conntrack's events, probes' raw
 * sockets, the report socket, the metrics listener, the control socket.
 */
static void
live_open(struct live *L, struct config *conf)
{
	int	 mfd = -1;

	L->io.queue = (unsigned)conf->queue;
	L->io.queue_maxlen = conf->queue_maxlen;
	L->io.failopen = conf->failopen;
	if (L->io.ops->open(&L->io) == -1) {
		L->io.ops->close(&L->io);
		exit(1);
	}
#ifdef LOADD_OFFLOAD
	if (conf->offload && (L->ctev = ctev_open()) == NULL)
		errx(1, "offload: cannot hear conntrack's events (is "
		    "nf_conntrack_netlink loaded?)");
#endif
	/* ICMP probes may come with a reload, when root is gone. */
	if (geteuid() == 0)
		health_preopen();
	if ((L->h = health_new(&conf->pool)) == NULL)
		err(1, "health checks (ICMP probes need a raw socket)");
	if (conf->keyfile[0] != '\0') {
		if ((L->rfd = report_socket(conf)) == -1)
			errx(1, "cannot receive agent reports");
		if (agent_init(&L->agent, &conf->pool, &conf->keys,
		    conf->agent_window_ms, conf->agent_stale) == -1)
			errx(1, "cannot allocate agent state");
		L->ag = &L->agent;
		log_info("agent reports: UDP port %u, %u key(s) from %s",
		    conf->reportport, conf->keys.n, conf->keyfile);
	}
	if (conf->metricsfamily != 0 && (mfd = metrics_socket(conf)) == -1)
		err(1, "metrics listener on port %u", conf->metricsport);
#ifdef LOADD_FASTPATH
	/* Its pins and filters outlive loadd by design, even a failed start. */
	if (conf->fastpath)
		L->lfp = livefp_open(conf);
#endif
	/* The last thing that may fail: nothing is left behind after it. */
	if ((L->ctl = ctl_open(conf->ctlsocket, conf->ctlmode)) == NULL)
		errx(1, "cannot open the control socket %s (another loadd? "
		    "\"ctlsocket =\" or -s chooses another)", conf->ctlsocket);
	if (mfd != -1)
		ctl_set_http(L->ctl, mfd);
}

/* After the root drop: the flow table, and what it adopts. */
static void
live_start(struct live *L, struct config *conf)
{
	char	 why[256];

	/*
	 * The flow table is the packet process's alone: made after the
	 * split, so that the parent holds no copy of it.
	 */
	if (setup_engine(&L->e, conf, 1, why, sizeof(why)) == -1)
		fatalx("%s", why);
	engine_set_agent(&L->e, L->ag);
#ifdef LOADD_OFFLOAD
	/* What this loadd handed over before a restart, conntrack still has. */
	if (L->ctev != NULL)
		(void)ctev_dump(L->ctev, &L->e, clock_mono_s());
#endif
#ifdef LOADD_FASTPATH
	/* What an earlier loadd put in the map, and it still carries. */
	if (L->lfp != NULL)
		livefp_start(L->lfp, &L->e, clock_mono_s());
#endif
	setup_note_methods(conf);
	log_notice("started: %u service(s), %u server(s), method %s, "
	    "queue %d, %u flows, control socket %s", conf->pool.nsvc,
	    conf->pool.nsrv, conf->method->name, conf->queue, conf->maxflows,
	    conf->ctlsocket);
	setup_note_health(conf);
}

static void
live_close(struct live *L)
{
	log_notice("stopping");
	stats_log(&L->e, &L->io);
	ctl_close(L->ctl);
	if (L->ag != NULL) {
		engine_set_agent(&L->e, NULL);
		agent_free(L->ag);
		close(L->rfd);
	}
	health_free(L->h);
#ifdef LOADD_OFFLOAD
	ctev_close(L->ctev);
#endif
#ifdef LOADD_FASTPATH
	if (L->lfp != NULL)
		livefp_drain(L->lfp, &L->e);
	livefp_close(L->lfp);
#endif
	L->io.ops->close(&L->io);
	engine_free(&L->e);
	loop_free(&L->loop);
}

int
run_live(struct config *conf, const char *path, struct config_overrides *ov,
    struct pidfh **pfhp)
{
	static struct live L;
	const struct loop_hooks hooks = { on_sighup, on_sigusr1, &L };
	int		 rc;

	memset(&L, 0, sizeof(L));
	L.conf = conf;
	L.path = path;
	L.ov = ov;
	L.rfd = L.privfd = -1;
	L.io.ops = &PKTIO_LIVE;
#if !defined(__linux__) || defined(DIVERT_EMULATION)
	for (rc = 0; rc < (int)conf->pool.nsvc; rc++)
		if (conf->pool.svc[rc].family == 6)
			errx(1, "service %s %s: divert(4) carries IPv4 only; "
			    "IPv6 services need Linux and NFQUEUE",
			    conf->pool.svc[rc].label, conf->pool.svc[rc].name);
#endif
#ifndef LOADD_OFFLOAD
	if (conf->offload)
		errx(1, "offload = yes needs Linux (NFQUEUE and conntrack)");
#endif
	/* Settings that would drop the packets silently; /proc is here. */
	(void)sysctl_check(conf, log_warnx);
	if (loop_init(&L.loop, LIVE_MAXFDS) == -1)
		err(1, "calloc");
	live_open(&L, conf);
	L.env.e = &L.e;
	L.env.conf = conf;
	L.env.h = L.h;
	L.env.agent = L.ag;
	L.env.io = &L.io;
	L.env.reload = live_reload;
	L.env.arg = &L;
	L.env.started_ms = L.env.now_ms = clock_mono_ms();
	loop_signals(&L.loop, &hooks);
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
	live_start(&L, conf);
	add_sources(&L);
	rc = loop_run(&L.loop);
	live_close(&L);
	return (rc);
}
