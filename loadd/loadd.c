/*
 * loadd: a packet-level load balancer (reverse NAT) in the line of the
 * HUT project's loadd and of natd.  The command line keeps the original's
 * flags: -f -p -b -d -v -t -h.
 */
#include <sys/types.h>

#include <err.h>
#include <errno.h>
#include <paths.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compat.h"

#include "agent.h"
#include "config.h"
#include "engine.h"
#include "live.h"
#include "log.h"
#include "pktio.h"
#include "privsep.h"
#include "proc.h"
#include "replay.h"
#include "rules.h"
#include "sched.h"
#include "setup.h"
#include "sysctl_check.h"

#ifndef LOADD_VERSION
#define LOADD_VERSION	"0.1"
#endif
#define LOADD_PIDFILE	"/var/run/loadd.pid"

struct args;

static void	 usage(FILE *, int) __attribute__((noreturn));
static void	 flag_method(struct args *, const char *);
static void	 flag_queue(struct args *, const char *);
static void	 flag_socket(struct args *, const char *);
static void	 flag_rulesfor(struct args *, const char *);
static void	 parse_args(int, char *[], struct args *);
static void	 run_once(struct config *, const struct args *);
static struct pidfh *pidfile_take(const struct config *);

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

/* What the command line asks. */
struct args {
	struct config_overrides	 ov;
	const char		*path;		/* -f */
	const char		*rpath, *wpath;	/* -r, -w */
	const char		*rulesfor;	/* -R's operand */
	int			 checkonly;	/* -n */
	int			 printrules;	/* -R */
};

static void
flag_method(struct args *a, const char *arg)
{
	if ((a->ov.method = sched_find(arg)) == NULL) {
		fprintf(stderr, "loadd: unknown balancing method \"%s\"; "
		    "methods:\n", arg);
		sched_list(stderr, "  ");
		exit(1);
	}
}

static void
flag_queue(struct args *a, const char *arg)
{
	char	*end;
	long	 l;

	errno = 0;
	l = strtol(arg, &end, 10);
	if (errno != 0 || *end != '\0' || end == arg || l < 0 || l > 65535)
		errx(1, "-p %s: not a port or queue number (0..65535)", arg);
	a->ov.queue = (int)l;
}

static void
flag_socket(struct args *a, const char *arg)
{
	if (arg[0] != '/' || strlen(arg) >= 100)
		errx(1, "-s %s: the control socket is an absolute path under "
		    "100 bytes", arg);
	a->ov.ctlsocket = arg;
}

static void
flag_rulesfor(struct args *a, const char *arg)
{
	if (strcmp(arg, "ipfw") != 0 && strcmp(arg, "iptables") != 0)
		errx(1, "-R %s: rules for iptables or ipfw", arg);
	a->rulesfor = arg;
}

static void
parse_args(int argc, char *argv[], struct args *a)
{
	int	 ch;

	memset(a, 0, sizeof(*a));
	a->ov.queue = -1;
	a->path = LOADD_CONF;
#if defined(__linux__) && !defined(DIVERT_EMULATION)
	a->rulesfor = "iptables";
#else
	a->rulesfor = "ipfw";
#endif
	while ((ch = getopt(argc, argv, "b:df:hnp:Rr:s:tvw:")) != -1) {
		switch (ch) {
		case 'b':
			flag_method(a, optarg);
			break;
		case 'd':
			a->ov.daemon = 1;
			break;
		case 'f':
			a->path = optarg;
			break;
		case 'h':
			usage(stdout, 0);
		case 'n':
			a->checkonly = 1;
			break;
		case 'p':
			flag_queue(a, optarg);
			break;
		case 'R':
			a->printrules = 1;
			break;
		case 'r':
			a->rpath = optarg;
			break;
		case 's':
			flag_socket(a, optarg);
			break;
		case 't':
			/* Transparent is the only mode there is. */
			break;
		case 'v':
			a->ov.verbose++;
			break;
		case 'w':
			a->wpath = optarg;
			break;
		default:
			usage(stderr, 1);
		}
	}
	/* -R takes the firewall's name as an operand: iptables or ipfw. */
	if (a->printrules && optind == argc - 1)
		flag_rulesfor(a, argv[optind++]);
	if (optind != argc)
		usage(stderr, 1);
	if ((a->rpath == NULL) != (a->wpath == NULL))
		errx(1, "replay needs both -r in.pcap and -w out.pcap");
}

/* -n, -R and replay: what runs once and exits. */
static void
run_once(struct config *conf, const struct args *a)
{
	int	 rc;

	if (a->checkonly) {
		/* The host's settings: warnings, the file is still OK. */
		(void)sysctl_check(conf, warnx);
		printf("configuration OK\n");
		config_free(conf);
		exit(0);
	}
	if (a->printrules) {
		if (strcmp(a->rulesfor, "ipfw") == 0)
			rules_print_ipfw(stdout, conf);
		else
			rules_print_iptables(stdout, conf);
		config_free(conf);
		exit(0);
	}
	if (a->rpath != NULL) {
		rc = run_replay(conf, a->rpath, a->wpath);
		config_free(conf);
		exit(rc);
	}
}

static struct pidfh *
pidfile_take(const struct config *conf)
{
	struct pidfh	*pfh;
	const char	*pidpath;
	pid_t		 other;

	pidpath = conf->pidfile[0] ? conf->pidfile :
	    (conf->daemon ? LOADD_PIDFILE : NULL);
	if (pidpath == NULL)
		return (NULL);
	if ((pfh = pidfile_open(pidpath, 0644, &other)) == NULL) {
		if (errno == EEXIST)
			errx(1, "already running as pid %d (%s)", (int)other,
			    pidpath);
		err(1, "%s", pidpath);
	}
	return (pfh);
}

int
main(int argc, char *argv[])
{
	struct config	 conf;
	struct args	 a;
	struct pidfh	*pfh;
	char		 why[512];
	int		 rc;

	if (stdfds_open() == -1)
		err(1, "%s", _PATH_DEVNULL);
	/*
	 * Whatever descriptors the invoker left open (a pipe, a socket)
	 * would live on in the packet process: none is loadd's.
	 */
	closefrom(3);
	log_init("loadd", 1, 0);
	parse_args(argc, argv, &a);

	if (config_load(&conf, a.path, &a.ov) == -1)
		exit(1);
	log_setverbose(conf.verbose);
	if (conf.privsep && (a.checkonly || (a.rpath == NULL &&
	    !a.printrules && geteuid() == 0)) &&
	    privsep_user_ok(&conf, why, sizeof(why)) == -1)
		errx(1, "%s", why);
	run_once(&conf, &a);

	pfh = pidfile_take(&conf);
	rc = run_live(&conf, a.path, &a.ov, &pfh);
	if (pfh != NULL)
		pidfile_remove(pfh);
	config_free(&conf);
	return (rc);
}
