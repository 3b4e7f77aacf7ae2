/*
 * fastpathctl: the eBPF fast path (loadd/fastpath.c) by hand, for the
 * integration test and for looking at a live balancer.  Until the engine
 * fills the flow map itself, this is how flows get into it.
 *
 *	fastpathctl [-b bpffs] [-n name] [-m maxflows] command [args]
 *
 *	load			load the program, or adopt the pinned one
 *	attach IF...		load or adopt, attach at IF's ingress
 *
 * The other commands only adopt: they fail when nothing is pinned.
 *	detach IF...		remove loadd's filter from IF
 *	query IF		the attached program's id (0: none)
 *	add PROTO C:P V:P S:P	a flow: client, virtual service, server
 *	del PROTO C:P V:P S:P
 *	read PROTO C:P V:P S:P	one flow's counters
 *	show			every flow in the map, with its counters
 *	stats			the program's counters
 *	unpin			remove the pins
 *
 * Counters print as key=value words, for awk.  Exits 1 with a message on
 * any failure.
 */
#include <err.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "fastpath.h"

static void	 usage(void) __attribute__((noreturn));
static void	 flow_parse(char **, struct fastpath_flow *);
static void	 dir_print(const char *, const struct fastpath_dir *,
		    uint64_t);
static int	 show_one(const struct fastpath_flow *,
		    const struct fastpath_counters *, void *);
static struct fastpath	*fp_open(const struct fastpath_conf *);

static void
usage(void)
{
	fprintf(stderr, "usage: fastpathctl [-b bpffs] [-n name] "
	    "[-m maxflows] load | attach IF... | detach IF... | query IF |\n"
	    "       add|del|read tcp|udp CLIENT:PORT VIP:PORT SERVER:PORT |"
	    " show | stats | unpin\n");
	exit(1);
}

static void
flow_parse(char **av, struct fastpath_flow *f)
{
	int	 fam[3];

	memset(f, 0, sizeof(*f));
	if (strcmp(av[0], "tcp") == 0)
		f->proto = IPPROTO_TCP;
	else if (strcmp(av[0], "udp") == 0)
		f->proto = IPPROTO_UDP;
	else
		errx(1, "%s: not tcp or udp", av[0]);
	fam[0] = addr_parse(av[1], &f->client, &f->cport);
	fam[1] = addr_parse(av[2], &f->vip, &f->vport);
	fam[2] = addr_parse(av[3], &f->server, &f->sport);
	if (fam[0] == 0 || fam[0] != fam[1] || fam[1] != fam[2])
		errx(1, "%s %s %s: three addresses of one family", av[1],
		    av[2], av[3]);
	if (f->cport == 0 || f->vport == 0 || f->sport == 0)
		errx(1, "every address needs its port");
	f->family = fam[0];
}

static void
dir_print(const char *name, const struct fastpath_dir *d, uint64_t now)
{
	printf(" %s_packets=%llu %s_bytes=%llu %s_fin=%d %s_rst=%d "
	    "%s_idle_ms=%lld", name, (unsigned long long)d->packets, name,
	    (unsigned long long)d->bytes, name, d->fin, name, d->rst, name,
	    d->last_ns == 0 ? -1LL : (long long)((now - d->last_ns) /
	    1000000));
}

static int
show_one(const struct fastpath_flow *f, const struct fastpath_counters *c,
    void *arg)
{
	char		 a[3][ADDR_STRLEN];
	uint64_t	 now = *(uint64_t *)arg;
	int		 v6 = f->family == 6;

	addr_ntop(f->family, &f->client, a[0], sizeof(a[0]));
	addr_ntop(f->family, &f->vip, a[1], sizeof(a[1]));
	addr_ntop(f->family, &f->server, a[2], sizeof(a[2]));
	printf("%s %s%s%s:%u %s%s%s:%u %s%s%s:%u has=%d",
	    f->proto == IPPROTO_TCP ? "tcp" : "udp",
	    v6 ? "[" : "", a[0], v6 ? "]" : "", f->cport,
	    v6 ? "[" : "", a[1], v6 ? "]" : "", f->vport,
	    v6 ? "[" : "", a[2], v6 ? "]" : "", f->sport, c->has);
	dir_print("to_server", &c->to_server, now);
	dir_print("to_client", &c->to_client, now);
	printf("\n");
	return (0);
}

static struct fastpath *
fp_open(const struct fastpath_conf *conf)
{
	struct fastpath	*fp;
	char		 err[FASTPATH_ERRLEN];

	if ((fp = fastpath_open(conf, err, sizeof(err))) == NULL)
		errx(1, "%s", err);
	return (fp);
}

int
main(int argc, char *argv[])
{
	struct fastpath_conf	 conf;
	struct fastpath_flow	 f;
	struct fastpath_counters c;
	struct fastpath_stats	 st;
	struct fastpath		*fp;
	const char		*cmd;
	char			 err[FASTPATH_ERRLEN];
	uint64_t		 now;
	uint32_t		 id;
	int			 ch, i, n;

	memset(&conf, 0, sizeof(conf));
	while ((ch = getopt(argc, argv, "b:m:n:")) != -1) {
		switch (ch) {
		case 'b':
			conf.bpffs = optarg;
			break;
		case 'm':
			conf.max_flows = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'n':
			conf.name = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	cmd = argv[0];

	conf.adopt_only = strcmp(cmd, "load") != 0 &&
	    strcmp(cmd, "attach") != 0;
	if (!conf.adopt_only) {
		fp = fp_open(&conf);
		for (i = 1; i < argc; i++)
			if (fastpath_attach(fp, argv[i]) == -1)
				errx(1, "%s", fastpath_error(fp));
		printf("%s prog_id=%u capacity=%u\n", fastpath_adopted(fp) ?
		    "adopted" : "loaded", fastpath_prog_id(fp),
		    fastpath_capacity(fp));
		fastpath_close(fp);
	} else if (strcmp(cmd, "detach") == 0) {
		for (i = 1; i < argc; i++)
			if (fastpath_detach(argv[i], err, sizeof(err)) == -1)
				errx(1, "%s", err);
	} else if (strcmp(cmd, "query") == 0 && argc == 2) {
		if (fastpath_query(argv[1], &id, err, sizeof(err)) == -1)
			errx(1, "%s", err);
		printf("%u\n", id);
	} else if ((strcmp(cmd, "add") == 0 || strcmp(cmd, "del") == 0 ||
	    strcmp(cmd, "read") == 0) && argc == 5) {
		flow_parse(argv + 1, &f);
		fp = fp_open(&conf);
		if (cmd[0] == 'a')
			n = fastpath_flow_add(fp, &f);
		else if (cmd[0] == 'd')
			n = fastpath_flow_del(fp, &f);
		else if ((n = fastpath_flow_read(fp, &f, &c)) == 0) {
			now = fastpath_now_ns();
			show_one(&f, &c, &now);
		}
		if (n == -1)
			errx(1, "%s", fastpath_error(fp));
		fastpath_close(fp);
	} else if (strcmp(cmd, "show") == 0) {
		fp = fp_open(&conf);
		now = fastpath_now_ns();
		if (fastpath_flow_walk(fp, show_one, &now) == -1)
			errx(1, "%s", fastpath_error(fp));
		fastpath_close(fp);
	} else if (strcmp(cmd, "stats") == 0) {
		fp = fp_open(&conf);
		if (fastpath_stats_read(fp, &st) == -1)
			errx(1, "%s", fastpath_error(fp));
		for (i = 0; i < FP_ST_MAX; i++)
			printf("%s %llu\n", fastpath_stat_names[i],
			    (unsigned long long)st.st[i]);
		fastpath_close(fp);
	} else if (strcmp(cmd, "unpin") == 0) {
		if (fastpath_unpin(&conf, err, sizeof(err)) == -1)
			errx(1, "%s", err);
	} else
		usage();
	return (0);
}
