/*
 * config_load(): what a good loadd.conf gives, and that every kind of
 * mistake is refused with a "file:line: what is wrong" message on the
 * right line.  Files are written to temporary files at run time, and
 * stderr is caught through a temporary file as well; the descriptor is
 * put back afterwards, so this works with and without CK_FORK.
 */
#include <sys/types.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "config.h"
#include "pkt.h"
#include "sched.h"
#include "unit.h"

#define ERRSZ		8192

/* Three good lines that most error cases build on. */
#define BASE		"ipaliasing = 192.0.2.10\nports = 80\n" \
			"servers = 10.0.1.11, 10.0.1.12\n"

struct capture {
	int	 saved;
	int	 fd;
};

/* config_load() keeps a pointer to the path: it must outlive the test. */
static char	 conf_path[256];

static void	 capture_begin(struct capture *);
static void	 capture_end(struct capture *, char *, size_t);
static int	 load_text(struct config *, const char *, size_t,
		    const struct config_overrides *, char *, size_t);
static int	 has_error(const char *, unsigned, const char *);
static void	 check_server(const struct server *, const char *, uint16_t,
		    uint16_t, const char *);

static void
capture_begin(struct capture *c)
{
	char	 tmpl[] = "/tmp/loadd-unit-stderr-XXXXXX";

	fflush(stderr);
	c->fd = mkstemp(tmpl);
	ck_assert_int_ne(c->fd, -1);
	unlink(tmpl);
	c->saved = dup(2);
	ck_assert_int_ne(c->saved, -1);
	ck_assert_int_ne(dup2(c->fd, 2), -1);
}

static void
capture_end(struct capture *c, char *out, size_t outlen)
{
	ssize_t	 n;

	fflush(stderr);
	dup2(c->saved, 2);
	close(c->saved);
	n = pread(c->fd, out, outlen - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	close(c->fd);
}

/* Writes len bytes of text to a file and loads it; stderr goes to err. */
static int
load_text(struct config *conf, const char *text, size_t len,
    const struct config_overrides *ov, char *err, size_t errlen)
{
	struct capture	 c;
	int		 fd, rc;

	snprintf(conf_path, sizeof(conf_path), "/tmp/loadd-unit-XXXXXX");
	fd = mkstemp(conf_path);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
	capture_begin(&c);
	rc = config_load(conf, conf_path, ov);
	capture_end(&c, err, errlen);
	unlink(conf_path);
	return (rc);
}

void
conf_load_text(struct config *conf, const char *text)
{
	char	 err[ERRSZ];

	ck_assert_msg(load_text(conf, text, strlen(text), NULL, err,
	    sizeof(err)) == 0, "configuration not loaded: %s", err);
	/* A good configuration says nothing. */
	ck_assert_str_eq(err, "");
}

/* Whether err has a line "path:line: ..." that contains phrase. */
static int
has_error(const char *err, unsigned line, const char *phrase)
{
	char		 prefix[300];
	const char	*s, *e;
	size_t		 plen;

	snprintf(prefix, sizeof(prefix), "%s:%u: ", conf_path, line);
	plen = strlen(prefix);
	for (s = err; *s != '\0'; s = *e ? e + 1 : e) {
		e = strchr(s, '\n');
		if (e == NULL)
			e = s + strlen(s);
		if ((size_t)(e - s) >= plen && strncmp(s, prefix, plen) == 0 &&
		    memmem(s, (size_t)(e - s), phrase, strlen(phrase)) != NULL)
			return (1);
	}
	return (0);
}

static void
check_server(const struct server *s, const char *addr, uint16_t port,
    uint16_t weight, const char *name)
{
	union addr	 a;

	memset(&a, 0, sizeof(a));
	ck_assert_int_eq(inet_pton(strchr(addr, ':') ? AF_INET6 : AF_INET,
	    addr, a.b), 1);
	ck_assert_msg(addr_eq(&s->addr, &a), "server %s is not at %s",
	    s->name, addr);
	ck_assert_uint_eq(s->family, strchr(addr, ':') ? 6 : 4);
	ck_assert_uint_eq(s->port, port);
	ck_assert_uint_eq(s->weight, weight);
	ck_assert_uint_eq(s->state, SRV_UP);
	ck_assert_str_eq(s->name, name);
}

/* Good files. */

START_TEST(test_sample)
{
	/* make check runs from the top of the tree; allow a build dir. */
	static const char *const paths[] = {
		"etc/loadd.conf", "../etc/loadd.conf", "../../etc/loadd.conf",
	};
	struct config	 conf;
	struct capture	 c;
	char		 err[ERRSZ];
	size_t		 i;
	int		 rc;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (access(paths[i], R_OK) == 0)
			break;
	ck_assert_msg(i < sizeof(paths) / sizeof(paths[0]),
	    "etc/loadd.conf not found; run from the source tree");
	capture_begin(&c);
	rc = config_load(&conf, paths[i], NULL);
	capture_end(&c, err, sizeof(err));
	ck_assert_msg(rc == 0, "%s: %s", paths[i], err);
	ck_assert_str_eq(err, "");
	ck_assert_uint_eq(conf.pool.nsvc, 1);
	ck_assert_uint_eq(conf.pool.nsrv, 3);
	ck_assert_str_eq(conf.pool.svc[0].name, "192.0.2.10:80/tcp");
	check_server(&conf.pool.srv[0], "10.0.1.11", 80, 1, "10.0.1.11:80");
	check_server(&conf.pool.srv[2], "10.0.1.13", 80, 1, "10.0.1.13:80");
	ck_assert_ptr_eq(conf.method, sched_find("roundrobin"));
	ck_assert_int_eq(conf.transparent, 1);
	ck_assert_int_eq(conf.verbose, 0);
	ck_assert_int_eq(conf.daemon, 0);
	config_free(&conf);
}
END_TEST

START_TEST(test_minimal)
{
	struct config	 conf;
	union addr	 vip;

	conf_load_text(&conf, BASE);
	ck_assert_uint_eq(conf.pool.nsvc, 1);
	ck_assert_uint_eq(conf.pool.nsrv, 2);
	memset(&vip, 0, sizeof(vip));
	inet_pton(AF_INET, "192.0.2.10", vip.b);
	ck_assert(addr_eq(&conf.pool.svc[0].vip, &vip));
	ck_assert_uint_eq(conf.pool.svc[0].family, 4);
	ck_assert_uint_eq(conf.pool.svc[0].port, 80);
	ck_assert_uint_eq(conf.pool.svc[0].proto, PROTO_TCP);
	ck_assert_uint_eq(conf.pool.svc[0].members[0], 0);
	ck_assert_uint_eq(conf.pool.svc[0].nsrv, 2);
	ck_assert_str_eq(conf.pool.svc[0].name, "192.0.2.10:80/tcp");
	ck_assert_ptr_eq(conf.pool.svc[0].method, sched_default());
	check_server(&conf.pool.srv[0], "10.0.1.11", 80, 1, "10.0.1.11:80");
	check_server(&conf.pool.srv[1], "10.0.1.12", 80, 1, "10.0.1.12:80");
	ck_assert_uint_eq(conf.pool.srv[1].svc, 0);

	/* What the file does not say. */
	ck_assert_ptr_eq(conf.method, sched_default());
	ck_assert_int_eq(conf.queue, LOADD_QUEUE);
	ck_assert_uint_eq(conf.maxflows, LOADD_MAXFLOWS);
	ck_assert_uint_eq(conf.queue_maxlen, LOADD_QUEUE_MAXLEN);
	ck_assert_uint_eq(conf.timeout[FC_ESTABLISHED], 7440);
	ck_assert_uint_eq(conf.timeout[FC_HALFOPEN], 240);
	ck_assert_uint_eq(conf.timeout[FC_CLOSING], 240);
	ck_assert_uint_eq(conf.timeout[FC_UDP], 300);
	ck_assert_int_eq(conf.facility, LOG_DAEMON);
	ck_assert_int_eq(conf.failopen, 0);
	ck_assert_str_eq(conf.pidfile, "");

	/* The pool is indexed: the engine can find the service. */
	ck_assert_ptr_eq(pool_find_service(&conf.pool, 4, PROTO_TCP, &vip,
	    htons(80)), &conf.pool.svc[0]);
	ck_assert_ptr_null(pool_find_service(&conf.pool, 4, PROTO_UDP, &vip,
	    htons(80)));
	ck_assert_int_eq(pool_is_vip(&conf.pool, 4, &vip), 1);
	ck_assert_ptr_eq(pool_find_server(&conf.pool, 4, PROTO_TCP,
	    &conf.pool.srv[1].addr, htons(80)), &conf.pool.srv[1]);
	config_free(&conf);
	ck_assert_uint_eq(conf.pool.nsrv, 0);
}
END_TEST

/* Comments, blank lines, odd spacing and upper case keys are all fine. */
START_TEST(test_syntax)
{
	struct config	 conf;

	conf_load_text(&conf,
	    "# loadd.conf\n"
	    "\n"
	    "   IPALIASING=192.0.2.10   # the VIP\n"
	    "\tPorts\t=\t8080\t\n"
	    "Servers =10.0.1.11 ,10.0.1.12,   10.0.1.13\n"
	    "BalancingMode = RoundRobin\n"
	    "verbosemode = YES\n"
	    "# servers = 10.0.9.9\n");
	ck_assert_uint_eq(conf.pool.nsrv, 3);
	ck_assert_uint_eq(conf.pool.svc[0].port, 8080);
	check_server(&conf.pool.srv[2], "10.0.1.13", 8080, 1,
	    "10.0.1.13:8080");
	ck_assert_int_eq(conf.verbose, 1);
	config_free(&conf);
}
END_TEST

/* The original HUT loadd spelling of round-robin. */
START_TEST(test_roundrobbin)
{
	struct config	 conf;

	conf_load_text(&conf, BASE "balancingmode = roundrobbin\n");
	ck_assert_ptr_nonnull(conf.method);
	ck_assert_ptr_eq(conf.method, sched_find("roundrobin"));
	ck_assert_ptr_eq(conf.pool.svc[0].method, conf.method);
	config_free(&conf);
}
END_TEST

START_TEST(test_two_ports)
{
	struct config	 conf;
	unsigned	 i;

	conf_load_text(&conf, "ipaliasing = 192.0.2.10\nports = 80, 443\n"
	    "servers = 10.0.1.11, 10.0.1.12, 10.0.1.13 weight 3\n");
	ck_assert_uint_eq(conf.pool.nsvc, 2);
	ck_assert_uint_eq(conf.pool.nsrv, 6);
	ck_assert_str_eq(conf.pool.svc[0].name, "192.0.2.10:80/tcp");
	ck_assert_str_eq(conf.pool.svc[1].name, "192.0.2.10:443/tcp");
	ck_assert_uint_eq(conf.pool.svc[1].members[0], 3);
	ck_assert_uint_eq(conf.pool.svc[1].nsrv, 3);
	for (i = 0; i < 6; i++) {
		/* Each service has every server, on its own port. */
		ck_assert_uint_eq(conf.pool.srv[i].svc, i / 3);
		ck_assert_uint_eq(conf.pool.srv[i].port, i < 3 ? 80 : 443);
	}
	check_server(&conf.pool.srv[3], "10.0.1.11", 443, 1, "10.0.1.11:443");
	check_server(&conf.pool.srv[5], "10.0.1.13", 443, 3, "10.0.1.13:443");
	check_server(&conf.pool.srv[2], "10.0.1.13", 80, 3, "10.0.1.13:80");
	config_free(&conf);
}
END_TEST

START_TEST(test_weight_and_port)
{
	struct config	 conf;

	conf_load_text(&conf, "ipaliasing = 192.0.2.10\nports = 80\n"
	    "servers = 10.0.1.11 weight 5, 10.0.1.12:8080, "
	    "10.0.1.13:8081 weight 0\n");
	ck_assert_uint_eq(conf.pool.nsrv, 3);
	check_server(&conf.pool.srv[0], "10.0.1.11", 80, 5, "10.0.1.11:80");
	check_server(&conf.pool.srv[1], "10.0.1.12", 8080, 1,
	    "10.0.1.12:8080");
	check_server(&conf.pool.srv[2], "10.0.1.13", 8081, 0,
	    "10.0.1.13:8081");
	/* Replies come from the translated port. */
	ck_assert_ptr_eq(pool_find_server(&conf.pool, 4, PROTO_TCP,
	    &conf.pool.srv[1].addr, htons(8080)), &conf.pool.srv[1]);
	ck_assert_ptr_null(pool_find_server(&conf.pool, 4, PROTO_TCP,
	    &conf.pool.srv[1].addr, htons(80)));
	config_free(&conf);
}
END_TEST

START_TEST(test_ipv6)
{
	struct config	 conf;

	conf_load_text(&conf, "ipaliasing = 2001:db8::10\nports = 443\n"
	    "servers = [2001:db8:1::11]:8443 weight 2, 2001:db8:1::12\n"
	    "protocol = udp\n");
	ck_assert_str_eq(conf.pool.svc[0].name, "[2001:db8::10]:443/udp");
	ck_assert_uint_eq(conf.pool.svc[0].family, 6);
	ck_assert_uint_eq(conf.pool.svc[0].proto, PROTO_UDP);
	check_server(&conf.pool.srv[0], "2001:db8:1::11", 8443, 2,
	    "[2001:db8:1::11]:8443");
	check_server(&conf.pool.srv[1], "2001:db8:1::12", 443, 1,
	    "[2001:db8:1::12]:443");
	config_free(&conf);
}
END_TEST

/* Every key this loadd adds, with a value that is not the default. */
START_TEST(test_all_keys)
{
	struct config	 conf;

	conf_load_text(&conf, BASE
	    "daemon = on\n"
	    "transparent_proxy = true\n"
	    "protocol = TCP\n"
	    "queue = 0\n"
	    "maxflows = 5000\n"
	    "timeout_tcp_established = 3600\n"
	    "timeout_tcp_transitory = 60\n"
	    "timeout_udp = 30\n"
	    "queue_maxlen = 100\n"
	    "failopen = 1\n"
	    "pidfile = /run/loadd-test.pid\n"
	    "syslog_facility = local3\n");
	ck_assert_int_eq(conf.daemon, 1);
	ck_assert_int_eq(conf.transparent, 1);
	ck_assert_int_eq(conf.queue, 0);
	ck_assert_uint_eq(conf.maxflows, 5000);
	ck_assert_uint_eq(conf.timeout[FC_ESTABLISHED], 3600);
	ck_assert_uint_eq(conf.timeout[FC_HALFOPEN], 60);
	ck_assert_uint_eq(conf.timeout[FC_CLOSING], 60);
	ck_assert_uint_eq(conf.timeout[FC_UDP], 30);
	ck_assert_uint_eq(conf.queue_maxlen, 100);
	ck_assert_int_eq(conf.failopen, 1);
	ck_assert_str_eq(conf.pidfile, "/run/loadd-test.pid");
	ck_assert_int_eq(conf.facility, LOG_LOCAL3);
	config_free(&conf);

	conf_load_text(&conf, BASE "divertport = 8671\n");
	ck_assert_int_eq(conf.queue, 8671);
	config_free(&conf);

	/* offload: yes is conntrack's mode, and so is its new name. */
	conf_load_text(&conf, BASE "offload = conntrack\n");
	ck_assert_int_eq(conf.offload, 1);
	ck_assert_int_eq(conf.fastpath, 0);
	config_free(&conf);
#ifdef LOADD_FASTPATH
	conf_load_text(&conf, BASE "offload = bpf\n"
	    "offload_interfaces = eth0, p1,p2\noffload_maxflows = 1024\n"
	    "offload_pin = /sys/fs/bpf/lb1\n");
	ck_assert_int_eq(conf.offload, 0);
	ck_assert_int_eq(conf.fastpath, 1);
	ck_assert_uint_eq(conf.fp_nifs, 3);
	ck_assert_str_eq(conf.fp_ifs[0], "eth0");
	ck_assert_str_eq(conf.fp_ifs[2], "p2");
	ck_assert_uint_eq(conf.fp_maxflows, 1024);
	ck_assert_str_eq(conf.fp_pin, "/sys/fs/bpf/lb1");
	config_free(&conf);
#endif
}
END_TEST

/* The command line wins over the file. */
START_TEST(test_overrides)
{
	struct config		 conf;
	struct config_overrides	 ov = { .queue = 1234, .verbose = 2,
				    .daemon = 1, .method = NULL };
	char			 err[ERRSZ];
	const char		*text = BASE "queue = 5\nverbosemode = yes\n"
				    "balancingmode = roundrobbin\n";

	ck_assert_int_eq(load_text(&conf, text, strlen(text), &ov, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(conf.queue, 1234);
	ck_assert_int_eq(conf.verbose, 1 + 2);
	ck_assert_int_eq(conf.daemon, 1);
	ck_assert_ptr_eq(conf.method, sched_find("roundrobin"));
	config_free(&conf);

	/* Not given on the command line: the file's values stand. */
	ov.queue = -1;
	ov.verbose = 0;
	ov.daemon = 0;
	ov.method = sched_default();
	ck_assert_int_eq(load_text(&conf, text, strlen(text), &ov, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(conf.queue, 5);
	ck_assert_int_eq(conf.verbose, 1);
	ck_assert_int_eq(conf.daemon, 0);
	ck_assert_ptr_eq(conf.method, sched_default());
	ck_assert_ptr_eq(conf.pool.svc[0].method, sched_default());
	config_free(&conf);
}
END_TEST

/* A 4000-byte line is fine; the limit is CFG_MAXLINE. */
START_TEST(test_long_comment)
{
	struct config	 conf;
	char		*text;
	size_t		 n = 4000;

	text = malloc(n + sizeof(BASE) + 2);
	ck_assert_ptr_nonnull(text);
	memset(text, 'x', n);
	text[0] = '#';
	text[n] = '\n';
	memcpy(text + n + 1, BASE, sizeof(BASE));
	conf_load_text(&conf, text);
	ck_assert_uint_eq(conf.pool.nsrv, 2);
	config_free(&conf);
	free(text);
}
END_TEST

/* Bad files: each must fail, naming the line and what is wrong. */

static const struct {
	const char	*name;
	const char	*text;
	size_t		 len;		/* 0: strlen(text) */
	unsigned	 line;
	const char	*phrase;
} bad[] = {
	{ "unknown key", BASE "colour = blue\n", 0, 4,
	    "unknown key \"colour\"" },
	{ "bad server address",
	    "ipaliasing = 192.0.2.10\nports = 80\n"
	    "servers = 10.0.1.11, 10.0.1.300\n", 0, 3,
	    "\"10.0.1.300\" is not an address" },
	{ "bad server port",
	    "ipaliasing = 192.0.2.10\nports = 80\n"
	    "servers = 10.0.1.11:http\n", 0, 3,
	    "\"10.0.1.11:http\" is not an address" },
	{ "empty server entry",
	    "ipaliasing = 192.0.2.10\nports = 80\n"
	    "servers = 10.0.1.11, , 10.0.1.12\n", 0, 3, "empty entry" },
	{ "duplicate server",
	    "ipaliasing = 192.0.2.10\nports = 80\n# two of one\n"
	    "servers = 10.0.1.11, 10.0.1.12, 10.0.1.11\n", 0, 4,
	    "duplicate server 10.0.1.11 (first on line 4)" },
	{ "duplicate server with port",
	    "ipaliasing = 192.0.2.10\nports = 80\n"
	    "servers = 10.0.1.11:8080, 10.0.1.11:8080\n", 0, 3,
	    "duplicate server 10.0.1.11" },
	{ "duplicate server, once with the service port",
	    "ipaliasing = 192.0.2.10\nports = 80\n"
	    "servers = 10.0.1.11, 10.0.1.11:80\n", 0, 3,
	    "duplicate server 10.0.1.11" },
	{ "no ipaliasing", "ports = 80\nservers = 10.0.1.11\n\n# end\n", 0, 4,
	    "end of file: no virtual address" },
	{ "no ports", "ipaliasing = 192.0.2.10\nservers = 10.0.1.11\n", 0, 2,
	    "end of file: no ports" },
	{ "no servers", "ipaliasing = 192.0.2.10\nports = 80\n", 0, 2,
	    "end of file: no real servers" },
	{ "port 0", "ipaliasing = 192.0.2.10\nports = 0\n"
	    "servers = 10.0.1.11\n", 0, 2, "ports: \"0\" is not a port" },
	{ "port 65536", "ipaliasing = 192.0.2.10\nports = 80, 65536\n"
	    "servers = 10.0.1.11\n", 0, 2, "ports: \"65536\" is not a port" },
	{ "port http", "ipaliasing = 192.0.2.10\nports = http\n"
	    "servers = 10.0.1.11\n", 0, 2, "ports: \"http\" is not a port" },
	{ "port -1", "ipaliasing = 192.0.2.10\nports = -1\n"
	    "servers = 10.0.1.11\n", 0, 2, "ports: \"-1\" is not a port" },
	{ "port twice", "ipaliasing = 192.0.2.10\nports = 80, 443, 80\n"
	    "servers = 10.0.1.11\n", 0, 2, "port 80 given twice" },
	{ "bad boolean", BASE "daemon = maybe\n", 0, 4,
	    "daemon: \"maybe\" is not yes or no" },
	{ "bad verbosity", BASE "verbosemode = 4\n", 0, 4,
	    "verbosemode: \"4\" is not yes, no or a level 0 (everything) .. "
	    "3 (fatal errors only)" },
	{ "unknown method", BASE "balancingmode = fastest\n", 0, 4,
	    "unknown method \"fastest\"" },
	{ "key twice", BASE "\nPORTS = 443\n", 0, 5,
	    "ports given twice (first on line 2)" },
	{ "server IPv6, VIP IPv4",
	    "ipaliasing = 192.0.2.10\nports = 80\n"
	    "servers = 10.0.1.11, 2001:db8::1\n", 0, 3,
	    "2001:db8::1 is IPv6 but the virtual address is IPv4" },
	{ "server IPv4, VIP IPv6",
	    "ipaliasing = 2001:db8::10\nports = 80\n"
	    "servers = 10.0.1.11\n", 0, 3,
	    "10.0.1.11 is IPv4 but the virtual address is IPv6" },
	{ "server is the VIP", "ipaliasing = 192.0.2.10\nports = 80\n"
	    "servers = 10.0.1.11, 192.0.2.10:8080\n", 0, 3,
	    "192.0.2.10:8080 is a virtual address" },
	{ "server port, two ports",
	    "ipaliasing = 192.0.2.10\nports = 80, 443\n\n"
	    "servers = 10.0.1.11:8080, 10.0.1.12\n", 0, 4,
	    "needs exactly one balanced port" },
	{ "no '='", "ipaliasing 192.0.2.10\nports = 80\n"
	    "servers = 10.0.1.11\n", 0, 1, "expected \"key = value\"" },
	{ "no key", BASE " = 5\n", 0, 4, "missing key before '='" },
	{ "no value", "ipaliasing = 192.0.2.10\nports =\n"
	    "servers = 10.0.1.11\n", 0, 2, "ports: missing value" },
	{ "NUL byte", BASE "daemon = no\0pe\n", sizeof(BASE) + 14, 4,
	    "NUL byte in line" },
	{ "transparent_proxy = no", BASE "transparent_proxy = no\n", 0, 4,
	    "loadd only works transparently" },
	{ "weight too big", "ipaliasing = 192.0.2.10\nports = 80\n"
	    "servers = 10.0.1.11 weight 65536\n", 0, 3,
	    "weight must be 0..65535" },
	{ "weight missing", "ipaliasing = 192.0.2.10\nports = 80\n"
	    "servers = 10.0.1.11 weight\n", 0, 3, "weight must be 0..65535" },
	{ "not weight", "ipaliasing = 192.0.2.10\nports = 80\n"
	    "servers = 10.0.1.11 heavy 5\n", 0, 3, "unexpected \"heavy\"" },
	{ "after weight", "ipaliasing = 192.0.2.10\nports = 80\n"
	    "servers = 10.0.1.11 weight 5 6\n", 0, 3, "unexpected \"6\"" },
	{ "VIP with port", "ipaliasing = 192.0.2.10:80\nports = 80\n"
	    "servers = 10.0.1.11\n", 0, 1, "is not an IP address" },
	{ "VIP a name", "ipaliasing = www.example.com\nports = 80\n"
	    "servers = 10.0.1.11\n", 0, 1, "is not an IP address" },
	{ "protocol", BASE "protocol = sctp\n", 0, 4, "is not tcp or udp" },
	{ "queue", BASE "queue = 65536\n", 0, 4, "is not 0..65535" },
	{ "maxflows 0", BASE "maxflows = 0\n", 0, 4, "maxflows: \"0\"" },
	{ "maxflows huge", BASE "maxflows = 99999999999999999999\n", 0, 4,
	    "maxflows: \"99999999999999999999\"" },
	{ "timeout 0", BASE "timeout_udp = 0\n", 0, 4,
	    "timeout_udp: \"0\" is not a number of seconds" },
	{ "timeout negative", BASE "timeout_tcp_established = -5\n", 0, 4,
	    "timeout_tcp_established: \"-5\"" },
	{ "queue_maxlen", BASE "queue_maxlen = 2000000\n", 0, 4,
	    "queue_maxlen: \"2000000\"" },
	{ "pidfile", BASE "pidfile = run/loadd.pid\n", 0, 4,
	    "is not an absolute path" },
	{ "facility", BASE "syslog_facility = kitchen\n", 0, 4,
	    "unknown facility \"kitchen\"" },
	/* Health checks (loadd.conf(5), HEALTH CHECKS). */
	{ "check type", BASE "check = ping\n", 0, 4,
	    "\"ping\" is not tcp, http, icmp or none" },
	{ "check interval", BASE "check_interval = 2x\n", 0, 4,
	    "check_interval: \"2x\" is not a time" },
	{ "check interval too short", BASE "check_interval = 5ms\n", 0, 4,
	    "is not a time from 10ms" },
	{ "check interval finer than a millisecond", BASE
	    "check_interval = 0.0005\n", 0, 4, "is not a time" },
	{ "check timeout over the interval", BASE "check_interval = 1\n"
	    "check_timeout = 1.5\n", 0, 5,
	    "check_timeout (1500 ms) is longer than check_interval (1000 ms)" },
	{ "check timeout over a service's interval", BASE
	    "check_timeout = 1.5\nservice = b\nipaliasing = 192.0.2.11\n"
	    "ports = 80\nservers = 10.0.2.1\ncheck_interval = 1\n", 0, 4,
	    "is longer than check_interval" },
	{ "check fall zero", BASE "check_fall = 0\n", 0, 4,
	    "check_fall: \"0\" is not 1..1000" },
	{ "server_retry, PLB's name", BASE "server_retry = 0\n", 0, 4,
	    "server_retry: \"0\" is not a number of seconds" },
	{ "check path without http", BASE "check_path = /health\n", 0, 4,
	    "check_path is for \"check = http\", but the check is tcp" },
	{ "check path not a path", BASE "check = http\ncheck_path = health\n",
	    0, 5, "check_path: \"health\" is not a path" },
	{ "check status", BASE "check = http\ncheck_status = 999\n", 0, 5,
	    "check_status: not a status" },
	{ "check status range backwards", BASE "check = http\n"
	    "check_status = 399-200\n", 0, 5, "check_status: not a status" },
	{ "icmp has no port", BASE "check = icmp\ncheck_port = 80\n", 0, 5,
	    "check_port: ICMP echo has no port" },
	{ "check start", BASE "check_start = maybe\n", 0, 4,
	    "\"maybe\" is not up or down" },
	{ "passive", BASE "passive = perhaps\n", 0, 4,
	    "passive: \"perhaps\" is not yes or no" },
	{ "down_flows", BASE "down_flows = kill\n", 0, 4,
	    "\"kill\" is not keep or reset" },
	{ "noserver", BASE "noserver = 503\n", 0, 4,
	    "\"503\" is not reset, icmp or drop" },
	{ "slowstart", BASE "slowstart = -1\n", 0, 4,
	    "slowstart: \"-1\" is not a number of seconds" },
	{ "server option", "ipaliasing = 192.0.2.10\nports = 80\n"
	    "servers = 10.0.1.11 spare\n", 0, 3,
	    "unexpected \"spare\" after an address (weight N, maxconn N, "
	    "lowconn N, backup, disabled)" },
	{ "maxconn 0", "ipaliasing = 192.0.2.10\nports = 80\n"
	    "servers = 10.0.1.11 maxconn 0\n", 0, 3,
	    "servers: maxconn must be 1..268435456" },
	{ "lowconn above", "ipaliasing = 192.0.2.10\nports = 80\n"
	    "servers = 10.0.1.11 maxconn 10 lowconn 10\n", 0, 3,
	    "lowconn 10 needs a maxconn above it" },
	{ "client rate", BASE "max_client_rate = fast\n", 0, 4,
	    "max_client_rate: \"fast\" is not a rate" },
	{ "client prefix", BASE "client_prefix6 = 129\n", 0, 4,
	    "client_prefix6" },
	{ "offload value", "offload = maybe\n" BASE, 0, 1,
	    "offload: \"maybe\" is none of no, yes (conntrack), conntrack, "
	    "bpf" },
	{ "offload_interfaces without bpf", BASE
	    "offload_interfaces = eth0\n", 0, 4, "are for offload = bpf" },
	{ "offload_interfaces, a slash", "offload = bpf\n"
	    "offload_interfaces = eth0, a/b\n" BASE, 0, 2,
	    "\"a/b\" is not an interface name" },
	{ "offload_interfaces, too long", "offload = bpf\n"
	    "offload_interfaces = abcdefghijklmnop\n" BASE, 0, 2,
	    "is not an interface name" },
	{ "offload_interfaces twice", "offload = bpf\n"
	    "offload_interfaces = eth0, eth0\n" BASE, 0, 2, "eth0 twice" },
	{ "offload_maxflows 0", "offload = bpf\n"
	    "offload_interfaces = eth0\noffload_maxflows = 0\n" BASE, 0, 3,
	    "offload_maxflows" },
#ifdef LOADD_FASTPATH
	{ "offload = bpf, no interfaces", "offload = bpf\n" BASE, 0, 1,
	    "offload = bpf needs \"offload_interfaces" },
	{ "offload_pin not a directory in bpffs", "offload = bpf\n"
	    "offload_interfaces = eth0\noffload_pin = /loadd\n" BASE, 0, 3,
	    "offload_pin: a directory in a bpffs" },
#else
	{ "offload = bpf without the fast path", "offload = bpf\n"
	    "offload_interfaces = eth0\n" BASE, 0, 1,
	    "offload = bpf" },
#endif
	{ "offload salt", "offload_salt = -3\n" BASE, 0, 1,
	    "offload_salt: \"-3\" is not 0..4294967295" },
	{ "offload and passive", "offload = yes\n" BASE "passive = yes\n", 0,
	    5, "loadd never sees the servers' answers" },
	{ "offload and down_flows", "offload = yes\ndown_flows = reset\n" BASE,
	    0, 2, "down_flows = reset: with offload = yes" },
	{ "offload and responsetime", "offload = yes\n" BASE
	    "balancingmode = responsetime\n", 0, 5,
	    "method responsetime measures what only the kernel sees" },
	{ "offload and failopen", "offload = yes\nfailopen = yes\n" BASE, 0,
	    2, "failopen: with offload = yes" },
	{ "offload and leasttraffic", "offload = yes\n"
	    "service = a\nipaliasing = 192.0.2.10\nports = 80\n"
	    "servers = 10.0.1.11\nbalancingmode = leasttraffic\n", 0, 6,
	    "method leasttraffic measures" },
};

START_TEST(test_bad)
{
	struct config	 conf;
	char		 err[ERRSZ];
	size_t		 len;

	len = bad[_i].len != 0 ? bad[_i].len : strlen(bad[_i].text);
	ck_assert_msg(load_text(&conf, bad[_i].text, len, NULL, err,
	    sizeof(err)) == -1, "%s: loaded", bad[_i].name);
	ck_assert_msg(has_error(err, bad[_i].line, bad[_i].phrase),
	    "%s: no \"%s:%u: ...%s...\" in:\n%s", bad[_i].name, conf_path,
	    bad[_i].line, bad[_i].phrase, err);
	/* Nothing half-built is left behind. */
	ck_assert_ptr_null(conf.pool.svc);
	ck_assert_uint_eq(conf.pool.nsrv, 0);
}
END_TEST

START_TEST(test_line_too_long)
{
	struct config	 conf;
	char		 err[ERRSZ], *text;
	size_t		 n = 5000, len;

	text = malloc(n + 2 * sizeof(BASE));
	ck_assert_ptr_nonnull(text);
	memcpy(text, BASE, sizeof(BASE) - 1);
	len = sizeof(BASE) - 1;
	memcpy(text + len, "servers2 = ", 11);
	memset(text + len + 11, 'x', n);
	len += 11 + n;
	text[len++] = '\n';
	ck_assert_int_eq(load_text(&conf, text, len, NULL, err, sizeof(err)),
	    -1);
	ck_assert_msg(has_error(err, 4, "line too long"), "%s", err);
	free(text);
}
END_TEST

START_TEST(test_nonexistent)
{
	struct config	 conf;
	struct capture	 c;
	char		 err[ERRSZ];
	int		 rc;

	capture_begin(&c);
	rc = config_load(&conf, "/nonexistent/loadd-unit/loadd.conf", NULL);
	capture_end(&c, err, sizeof(err));
	ck_assert_int_eq(rc, -1);
	ck_assert_msg(strstr(err, "/nonexistent/loadd-unit/loadd.conf: "
	    "No such file or directory") != NULL, "%s", err);
}
END_TEST

/* An empty file lacks everything, and all of it is reported. */
START_TEST(test_empty)
{
	struct config	 conf;
	char		 err[ERRSZ];

	ck_assert_int_eq(load_text(&conf, "", 0, NULL, err, sizeof(err)), -1);
	ck_assert_msg(has_error(err, 0, "no virtual address"), "%s", err);
	ck_assert_msg(has_error(err, 0, "no ports"), "%s", err);
	ck_assert_msg(has_error(err, 0, "no real servers"), "%s", err);
}
END_TEST

/* Every error in the file is reported, not only the first. */
START_TEST(test_all_errors_reported)
{
	struct config	 conf;
	char		 err[ERRSZ];
	const char	*text = "ipaliasing = 192.0.2.10\n"
			    "ports = 80, http\n"
			    "servers = 10.0.1.11\n"
			    "daemon = perhaps\n"
			    "frobnicate = yes\n";

	ck_assert_int_eq(load_text(&conf, text, strlen(text), NULL, err,
	    sizeof(err)), -1);
	ck_assert_msg(has_error(err, 2, "\"http\" is not a port"), "%s", err);
	ck_assert_msg(has_error(err, 4, "\"perhaps\" is not yes or no"), "%s",
	    err);
	ck_assert_msg(has_error(err, 5, "unknown key \"frobnicate\""), "%s",
	    err);
}
END_TEST

Suite *
conf_suite(void)
{
	Suite	*s = suite_create("conf");
	TCase	*tc;

	tc = tcase_create("good");
	tcase_add_test(tc, test_sample);
	tcase_add_test(tc, test_minimal);
	tcase_add_test(tc, test_syntax);
	tcase_add_test(tc, test_roundrobbin);
	tcase_add_test(tc, test_two_ports);
	tcase_add_test(tc, test_weight_and_port);
	tcase_add_test(tc, test_ipv6);
	tcase_add_test(tc, test_all_keys);
	tcase_add_test(tc, test_overrides);
	tcase_add_test(tc, test_long_comment);
	suite_add_tcase(s, tc);

	tc = tcase_create("bad");
	tcase_add_loop_test(tc, test_bad, 0,
	    (int)(sizeof(bad) / sizeof(bad[0])));
	tcase_add_test(tc, test_line_too_long);
	tcase_add_test(tc, test_nonexistent);
	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_all_errors_reported);
	suite_add_tcase(s, tc);
	return (s);
}
