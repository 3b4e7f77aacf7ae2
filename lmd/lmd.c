/*
 * lmd: the agent on a real server.  Every interval it samples the
 * server's load, runs its service check beside, and sends one signed
 * report (common/report.c) to every loadd of loaddservers; when the
 * check result or the drain request changes it reports at once.
 *
 *   lmd [-dnv] [-f file]          run, or check the configuration
 *   lmd -D | -U [-f file]         ask the running lmd to drain / undrain
 *   lmd -k id                     print a new key line for the key file
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <paths.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cfgfile.h"
#include "clock.h"
#include "compat.h"
#include "lmd.h"
#include "log.h"
#include "proc.h"

struct lmd {
	struct lmd_conf	*conf;
	const struct report_key *key;
	struct sampler	*sampler;
	struct check	 check;
	int		 sock4, sock6;
	int		 drain;
	uint64_t	 seq;
	uint64_t	 sent, errors;
	unsigned	 failing[LMD_MAXLOADD];	/* logged once per outage */
};

static volatile sig_atomic_t	 quit, drain_req, undrain_req;
static int			 sigchld_pipe[2] = { -1, -1 };

static void	 usage(FILE *, int) __attribute__((noreturn));
static void	 on_signal(int);
static void	 on_sigchld(int);
static int	 open_socket(const struct lmd_conf *, int);
static void	 make_report(struct lmd *, struct report *);
static void	 send_report(struct lmd *, const char *);
static int	 signal_running(struct lmd_conf *, int);
static int	 genkey(const char *);
static void	 setup(struct lmd *, struct lmd_conf *);
static void	 drain_signals(struct lmd *);
static uint64_t	 next_due(uint64_t, uint64_t, uint32_t);
static void	 check_due(struct lmd *, uint64_t, uint64_t *, uint64_t);
static void	 wait_until(struct lmd *, uint64_t);
static int	 run(struct lmd_conf *, struct pidfh *, int);
static void	 check_only(struct lmd_conf *) __attribute__((noreturn));
static struct pidfh *pidfile_take(struct lmd_conf *);
struct args;
static void	 parse_args(int, char *[], struct args *);

static void
usage(FILE *fp, int status)
{
	fprintf(fp,
	    "usage: lmd [-dhnv] [-f file]\n"
	    "       lmd -D | -U [-f file]\n"
	    "       lmd -k id\n"
	    "\n"
	    "  -f file  configuration file (default %s)\n"
	    "  -d       run as a daemon\n"
	    "  -v       more verbose (repeat for debug)\n"
	    "  -n       check the configuration and the key file and exit\n"
	    "  -D       ask the running lmd to report drain (SIGUSR1)\n"
	    "  -U       ask the running lmd to stop draining (SIGUSR2)\n"
	    "  -k id    print a new random key line \"id hexkey\" and exit\n"
	    "  -h       this help\n", LMD_CONF);
	exit(status);
}

static void
on_signal(int sig)
{
	switch (sig) {
	case SIGUSR1:
		drain_req = 1;
		break;
	case SIGUSR2:
		undrain_req = 1;
		break;
	default:
		quit = 1;
		break;
	}
}

/* Wakes the loop to reap a command check. */
static void
on_sigchld(int sig)
{
	ssize_t	 w;
	int	 saved = errno;

	(void)sig;
	/* A full pipe already holds a wake-up: a failed write loses none. */
	if (sigchld_pipe[1] != -1) {
		w = write(sigchld_pipe[1], "c", 1);
		(void)w;
	}
	errno = saved;
}

/* A UDP socket of one family, bound to the source address if one. */
static int
open_socket(const struct lmd_conf *c, int family)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sl;
	char			 a[ADDR_STRLEN], where[PATH_MAX + 16];
	int			 fd;

	/* Only the balancers' addresses ask for a family. */
	if ((fd = socket(family == 6 ? AF_INET6 : AF_INET, SOCK_DGRAM, 0)) ==
	    -1)
		err(1, "%s: loaddservers: an IPv%d socket",
		    lmd_conf_where(c, c->line_loadd, where, sizeof(where)),
		    family);
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) == -1 ||
	    fcntl(fd, F_SETFL, O_NONBLOCK) == -1)
		err(1, "fcntl");
	if (c->src_family != family)
		return (fd);
	sl = addr_to_sockaddr(family, &c->src, 0, &ss);
	if (bind(fd, (struct sockaddr *)&ss, sl) == -1)
		err(1, "%s: reports cannot be sent from %s (they must come "
		    "from the server's address; see service and source in "
		    "lmd.conf(5)): bind",
		    lmd_conf_where(c, c->line_source, where, sizeof(where)),
		    addr_ntop(family, &c->src, a, sizeof(a)));
	return (fd);
}

/* The report of now: a sample, the check, the drain, the clock. */
static void
make_report(struct lmd *l, struct report *r)
{
	const struct lmd_conf	*c = l->conf;
	struct timespec		 ts;
	struct sample		 s;

	sample_take(l->sampler, &s);
	clock_gettime(CLOCK_REALTIME, &ts);
	memset(r, 0, sizeof(*r));
	r->family = (uint8_t)c->family;
	r->proto = c->proto;
	r->addr = c->addr;
	r->port = c->port;
	r->conn_port = c->watch_port;
	/* Numbers that follow the clock: report_seq_next(). */
	r->seq = report_seq_next(l->seq, (uint64_t)ts.tv_sec * 1000 +
	    (uint64_t)ts.tv_nsec / 1000000);
	if (r->seq < l->seq)
		log_warnx("the clock went back: sequence numbers start again "
		    "from it; loadd takes them once its window has passed");
	l->seq = r->seq;
	r->ts_sec = (uint64_t)ts.tv_sec;
	r->ts_nsec = (uint32_t)ts.tv_nsec;
	r->cpu_pm = s.cpu_pm;
	r->mem_pm = s.mem_pm;
	r->load100 = s.load100;
	r->conns = s.conns;
	r->check = (uint8_t)l->check.status;
	r->check_us = l->check.latency_us;
	r->flags = l->drain ? REPORT_F_DRAIN : 0;
	r->weight = c->weight;
	r->interval_ms = c->interval_ms;
}

static void
send_report(struct lmd *l, const char *why)
{
	const struct lmd_conf	*c = l->conf;
	struct sockaddr_storage	 ss;
	socklen_t		 sl;
	struct report		 r;
	uint8_t			 buf[REPORT_LEN];
	char			 a[ADDR_STRLEN];
	unsigned		 i;
	int			 fd;

	make_report(l, &r);
	if (report_encode(buf, sizeof(buf), &r, l->key) != REPORT_LEN)
		fatalx("report_encode: a field is out of range");
	log_debug("report %llu (%s): cpu %u, mem %u, load %u.%02u, conns %u, "
	    "check %s %u us%s", (unsigned long long)r.seq, why, r.cpu_pm,
	    r.mem_pm, r.load100 / 100, r.load100 % 100, r.conns,
	    r.check == REPORT_CHECK_UP ? "up" : r.check == REPORT_CHECK_DOWN ?
	    "down" : "unknown", r.check_us, l->drain ? ", drain" : "");

	for (i = 0; i < c->nloadd; i++) {
		const struct lmd_dest *d = &c->loadd[i];

		sl = addr_to_sockaddr(d->family, &d->addr, d->port, &ss);
		fd = d->family == 6 ? l->sock6 : l->sock4;
		if (sendto(fd, buf, sizeof(buf), 0, (struct sockaddr *)&ss,
		    sl) == -1) {
			l->errors++;
			if (l->failing[i]++ == 0)
				log_warn("send to loadd %s port %u",
				    addr_ntop(d->family, &d->addr, a,
				    sizeof(a)), d->port);
			continue;
		}
		if (l->failing[i] != 0)
			log_notice("sending to loadd %s port %u again after "
			    "%u failures", addr_ntop(d->family, &d->addr, a,
			    sizeof(a)), d->port, l->failing[i]);
		l->failing[i] = 0;
		l->sent++;
	}
}

/* What lmd opens before it runs: sockets, sampler, check, signals. */
static void
setup(struct lmd *l, struct lmd_conf *c)
{
	struct sigaction sa;
	unsigned	 i;
	int		 need4 = 0, need6 = 0;

	memset(l, 0, sizeof(*l));
	l->conf = c;
	l->sock4 = l->sock6 = -1;
	l->drain = c->drain;
	l->key = report_keys_find(&c->keys, (unsigned)c->keyid);
	if (l->key != NULL && !report_key_allows(l->key, c->family, &c->addr))
		log_warnx("%s: key %d is bound to other servers than %s: a "
		    "loadd with the same key file refuses these reports",
		    c->keyfile, c->keyid, addr_ntop(c->family, &c->addr,
		    (char [ADDR_STRLEN]){ 0 }, ADDR_STRLEN));
	for (i = 0; i < c->nloadd; i++) {
		if (c->loadd[i].family == 6)
			need6 = 1;
		else
			need4 = 1;
	}
	if (need4)
		l->sock4 = open_socket(c, 4);
	if (need6)
		l->sock6 = open_socket(c, 6);
	if ((l->sampler = sample_open(c)) == NULL)
		exit(1);
	check_init(&l->check, c);
	if (pipe(sigchld_pipe) == -1)
		err(1, "pipe");
	for (i = 0; i < 2; i++)
		if (fcntl(sigchld_pipe[i], F_SETFD, FD_CLOEXEC) == -1 ||
		    fcntl(sigchld_pipe[i], F_SETFL, O_NONBLOCK) == -1)
			err(1, "fcntl");

	sig_catch(on_signal, SIGTERM, SIGINT, SIGUSR1, SIGUSR2, 0);
	/* Only a child's end matters, not its stops. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigchld;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_NOCLDSTOP;
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGHUP, SIG_IGN);
}

/* SIGUSR1 and SIGUSR2: drain and undrain, said to loadd at once. */
static void
drain_signals(struct lmd *l)
{
	int	 d;

	if (!drain_req && !undrain_req)
		return;
	/* The later signal wins if both came in one wakeup. */
	d = drain_req && !undrain_req ? 1 : undrain_req && !drain_req ? 0 :
	    !l->drain;
	drain_req = undrain_req = 0;
	if (d == l->drain)
		return;
	l->drain = d;
	log_notice("%s", d ? "drain: asking loadd for no new flows" :
	    "drain ended");
	send_report(l, d ? "drain" : "undrain");
}

/* The next time of a periodic deadline that has come. */
static uint64_t
next_due(uint64_t due, uint64_t now, uint32_t every_ms)
{
	due += (uint64_t)every_ms * 1000;
	return (due <= now ? now + (uint64_t)every_ms * 1000 : due);
}

/* The service check: started when due, stepped; a change reported. */
static void
check_due(struct lmd *l, uint64_t now, uint64_t *next_check,
    uint64_t next_report)
{
	const struct lmd_conf *c = l->conf;
	int		 last_status;

	/* Before check_start(): a check may fail at once, in it. */
	last_status = l->check.status;
	if (!l->check.running && c->check != CHECK_NONE &&
	    now >= *next_check) {
		check_start(&l->check, now);
		*next_check = next_due(*next_check, now, c->check_interval_ms);
	}
	check_step(&l->check, now);
	if (!l->check.running && l->check.status != last_status) {
		log_notice("check: service %s (%s)",
		    l->check.status == REPORT_CHECK_UP ? "up" : "down",
		    l->check.why);
		if (now < next_report)
			send_report(l, "check changed");
	}
}

/* Sleeps until wake, a child's end, the check's socket or a signal. */
static void
wait_until(struct lmd *l, uint64_t wake)
{
	struct pollfd	 pfd[2];
	uint64_t	 now = clock_mono_us();
	char		 drop[64];
	int		 nfd = 0, timeout;

	timeout = wake > now ? (int)((wake - now + 999) / 1000) : 0;
	pfd[nfd].fd = sigchld_pipe[0];
	pfd[nfd++].events = POLLIN;
	if (l->check.running && l->check.fd != -1) {
		pfd[nfd].fd = l->check.fd;
		pfd[nfd++].events = l->check.events;
	}
	if (poll(pfd, (nfds_t)nfd, timeout) == -1 && errno != EINTR)
		fatal("poll");
	if (pfd[0].revents & POLLIN)
		while (read(sigchld_pipe[0], drop, sizeof(drop)) > 0)
			;
}

static int
run(struct lmd_conf *c, struct pidfh *pfh, int daemonize)
{
	struct lmd	 l;
	uint64_t	 now, next_report, next_check, wake;

	setup(&l, c);
	if (daemonize) {
		if (daemon(0, 0) == -1)
			err(1, "daemon");
		log_init("lmd", 0, c->facility);
	}
	if (pfh != NULL)
		pidfile_write(pfh);

	/* Numbers above those of any earlier run: report_seq_start(). */
	l.seq = report_seq_start(clock_wall_ms());
	log_notice("started: reporting every %u ms to %u loadd(s), key %d, "
	    "check %s%s", c->interval_ms, c->nloadd, c->keyid,
	    c->check == CHECK_HTTP ? c->check_url : c->check == CHECK_TCP ?
	    "tcp" : c->check == CHECK_COMMAND ? c->check_command : "none",
	    l.drain ? ", draining" : "");

	next_check = next_report = clock_mono_us();
	while (!quit) {
		now = clock_mono_us();
		drain_signals(&l);
		check_due(&l, now, &next_check, next_report);
		if (now >= next_report) {
			send_report(&l, "interval");
			next_report = next_due(next_report, now,
			    c->interval_ms);
		}
		wake = next_report;
		if (c->check != CHECK_NONE && !l.check.running &&
		    next_check < wake)
			wake = next_check;
		if (l.check.running && l.check.deadline_us < wake)
			wake = l.check.deadline_us;
		wait_until(&l, wake);
	}
	check_abort(&l.check);
	log_notice("stopping: %llu reports sent, %llu send errors",
	    (unsigned long long)l.sent, (unsigned long long)l.errors);
	sample_close(l.sampler);
	return (0);
}

/* -D and -U: signal the lmd that holds the pidfile. */
static int
signal_running(struct lmd_conf *c, int sig)
{
	struct pidfh	*pfh;
	pid_t		 other = -1;
	char		 where[PATH_MAX + 16];

	if ((pfh = pidfile_open(c->pidfile, 0644, &other)) != NULL) {
		pidfile_remove(pfh);
		errx(1, "no lmd is running (%s is not held)", c->pidfile);
	}
	if (errno != EEXIST || other <= 0)
		err(1, "%s: pidfile %s%s",
		    lmd_conf_where(c, c->line_pidfile, where, sizeof(where)),
		    c->pidfile, c->line_pidfile == 0 ? " (the default)" : "");
	if (kill(other, sig) == -1)
		err(1, "kill %d", (int)other);
	printf("lmd %d asked to %s\n", (int)other,
	    sig == SIGUSR1 ? "drain" : "stop draining");
	return (0);
}

/* -k: a key line; the operator puts it into both key files. */
static int
genkey(const char *idtext)
{
	uint8_t		 key[REPORT_KEYLEN];
	char		 hex[REPORT_KEYLEN * 2 + 1], *end;
	long		 id;

	errno = 0;
	id = strtol(idtext, &end, 10);
	if (errno != 0 || *end != '\0' || end == idtext || id < 1 || id > 255)
		errx(1, "-k %s: a key id is 1..255", idtext);
	randombytes_buf(key, sizeof(key));
	sodium_bin2hex(hex, sizeof(hex), key, sizeof(key));
	printf("%ld %s\n", id, hex);
	sodium_memzero(key, sizeof(key));
	sodium_memzero(hex, sizeof(hex));
	return (0);
}

/* -n: the file, and what the samples need (a cgroup's files). */
static void
check_only(struct lmd_conf *conf)
{
	struct sampler	*sm;

	if ((sm = sample_open(conf)) == NULL) {
		lmd_conf_free(conf);
		exit(1);
	}
	sample_close(sm);
	printf("configuration OK\n");
	lmd_conf_free(conf);
	exit(0);
}

static struct pidfh *
pidfile_take(struct lmd_conf *conf)
{
	struct pidfh	*pfh;
	char		 where[PATH_MAX + 16];
	pid_t		 other;

	if ((pfh = pidfile_open(conf->pidfile, 0644, &other)) == NULL) {
		if (errno == EEXIST)
			errx(1, "already running as pid %d (%s)", (int)other,
			    conf->pidfile);
		err(1, "%s: pidfile %s%s", lmd_conf_where(conf,
		    conf->line_pidfile, where, sizeof(where)), conf->pidfile,
		    conf->line_pidfile == 0 ? " (the default)" : "");
	}
	/*
	 * Its lock must die with lmd: a command check that leaves a daemon
	 * behind must not keep it (check.c closes more, this is the rule
	 * for whatever else lmd may run).
	 */
	if (fcntl(pidfile_fileno(pfh), F_SETFD, FD_CLOEXEC) == -1)
		err(1, "%s: fcntl", conf->pidfile);
	return (pfh);
}

/* What the command line asks for. */
struct args {
	const char	*path;
	const char	*keyid;		/* -k: make a key */
	int		 checkonly;	/* -n */
	int		 daemonize;	/* -d */
	int		 verbose;	/* -v, counted */
	int		 sig;		/* -D, -U: to the running lmd */
};

static void
parse_args(int argc, char *argv[], struct args *a)
{
	int	 ch;

	memset(a, 0, sizeof(*a));
	a->path = LMD_CONF;
	while ((ch = getopt(argc, argv, "dDf:hk:nUv")) != -1) {
		switch (ch) {
		case 'd':
			a->daemonize = 1;
			break;
		case 'D':
			a->sig = SIGUSR1;
			break;
		case 'f':
			a->path = optarg;
			break;
		case 'h':
			usage(stdout, 0);
		case 'k':
			a->keyid = optarg;
			break;
		case 'n':
			a->checkonly = 1;
			break;
		case 'U':
			a->sig = SIGUSR2;
			break;
		case 'v':
			a->verbose++;
			break;
		default:
			usage(stderr, 1);
		}
	}
	if (optind != argc)
		usage(stderr, 1);
}

int
main(int argc, char *argv[])
{
	struct lmd_conf	 conf;
	struct args	 a;
	struct pidfh	*pfh;
	char		 where[PATH_MAX + 16];
	int		 rc;

	if (stdfds_open() == -1)
		err(1, "%s", _PATH_DEVNULL);
	log_init("lmd", 1, 0);
	parse_args(argc, argv, &a);
	if (report_init() == -1)
		errx(1, "libsodium cannot be initialised");
	if (a.keyid != NULL)
		return (genkey(a.keyid));

	if (lmd_conf_load(&conf, a.path) == -1)
		exit(1);
	log_setverbose(a.verbose > 0 ? a.verbose : conf.verbose);
	if (conf.check == CHECK_COMMAND && conf.line_check_user != 0 &&
	    geteuid() != 0)
		log_notice("%s: check_user %s: lmd is not root, so checks run "
		    "as its own user (uid %d)", lmd_conf_where(&conf,
		    conf.line_check_user, where, sizeof(where)),
		    conf.check_user, (int)geteuid());
	if (a.checkonly)
		check_only(&conf);
	if (a.sig != 0) {
		rc = signal_running(&conf, a.sig);
		lmd_conf_free(&conf);
		return (rc);
	}
	pfh = pidfile_take(&conf);
	rc = run(&conf, pfh, a.daemonize);
	pidfile_remove(pfh);
	lmd_conf_free(&conf);
	return (rc);
}
