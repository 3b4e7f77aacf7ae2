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

static void	 usage(FILE *, int) __attribute__((noreturn));

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

	if (stdfds_open() == -1)
		err(1, "%s", _PATH_DEVNULL);
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
