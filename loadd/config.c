/*
 * Reading loadd.conf.  The file is read in full first; services and
 * servers are built at the end, when every key is known, and every error
 * found on the way is reported (file:line: what is wrong) before giving up.
 *
 * The original file describes one virtual address: ipaliasing, ports and
 * servers at the top.  More services follow "service = NAME" lines, each
 * with its own ipaliasing, ports, servers, protocol and balancingmode;
 * balancingmode and protocol at the top are the default of every service.
 *
 * Every key is a line of the keyword table below, read by the engine of
 * common/cfgkw.c; this file has the keys that need a parser of their own.
 * What is checked once the file is read is in config_check.c, the
 * services and servers are made in config_build.c.
 */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include "agent.h"
#include "cfgfile.h"
#include "cfgkw.h"
#include "compat.h"
#include "config.h"
#include "config_spec.h"
#include "health.h"
#include "pkt.h"
#include "sched.h"

/*
 * Where a key may be given, and what it sets: the file itself ("service
 * =" lines), the global keys (before the first "service ="), a service
 * block, its method, protocol and hashing (at the top: every block's
 * default), and its health checks (at the top: their defaults).
 */
enum section { S_FILE, S_GLOBAL, S_SERVICE, S_OPTS, S_HEALTH, S_N };

static void	 parse_servers(struct cfgfile *, const struct cfgkw *, void *,
		    char *);
static int	 parse_server(struct cfgfile *, struct srvspec *, char *);
static void	 parse_ports(struct cfgfile *, const struct cfgkw *, void *,
		    char *);
static void	 parse_service(struct cfgfile *, const struct cfgkw *, void *,
		    char *);
static void	 parse_method(struct cfgfile *, const struct cfgkw *, void *,
		    char *);
static void	 parse_hashkey(struct cfgfile *, const struct cfgkw *, void *,
		    char *);
static void	 parse_maglev_size(struct cfgfile *, const struct cfgkw *,
		    void *, char *);
static void	 parse_rate(struct cfgfile *, const struct cfgkw *, void *,
		    char *);
static int	 server_option(struct cfgfile *, struct srvspec *,
		    const char *, char **);
static void	 parse_status(struct cfgfile *, const struct cfgkw *, void *,
		    char *);
static void	 parse_verbose(struct cfgfile *, const struct cfgkw *, void *,
		    char *);
static void	 parse_ctlmode(struct cfgfile *, const struct cfgkw *, void *,
		    char *);
static void	 set_transparent(struct cfgfile *, void *, unsigned long);
static void	 parse_offload(struct cfgfile *, const struct cfgkw *, void *,
		    char *);
static void	 parse_offload_ifs(struct cfgfile *, const struct cfgkw *,
		    void *, char *);
static void	 set_transitory(struct cfgfile *, void *, unsigned long);
static void	 set_agent_window(struct cfgfile *, void *, unsigned long);
static void	 sections(struct parse *, struct cfgkw_section *);
static void	 config_defaults(struct config *, const char *);
static void	 config_override(struct parse *,
		    const struct config_overrides *);

static const struct cfgkw_choice unknown_flows[] = {
	{ "drop", 0 }, { "reset", 1 }, { NULL, 0 },
};
static const struct cfgkw_choice checks[] = {
	{ "tcp", HC_TCP }, { "http", HC_HTTP }, { "icmp", HC_ICMP },
	{ "none", HC_NONE }, { NULL, 0 },
};
static const struct cfgkw_choice starts[] = {
	{ "up", 1 }, { "down", 0 }, { NULL, 0 },
};
static const struct cfgkw_choice down_flows[] = {
	{ "keep", HC_KEEP }, { "reset", HC_RESET }, { NULL, 0 },
};
static const struct cfgkw_choice noservers[] = {
	{ "reset", HC_NS_RESET }, { "icmp", HC_NS_ICMP },
	{ "drop", HC_NS_DROP }, { NULL, 0 },
};

#define G(m)		CFGKW_FIELD(struct config, m)
#define SV(m)		CFGKW_FIELD(struct svcspec, m)
#define O(m)		CFGKW_FIELD(struct svcopts, m)
#define H(m)		CFGKW_FIELD(struct hcconf, m)
#define SECONDS		"a number of seconds"
#define MAXSECONDS	(30 * 86400)
#define HC_TIME		"a time from 10ms to 3600 seconds (\"2\", \"0.5\", " \
			"\"500ms\")"
#define PATHLONG	"path too long"
#define VIP		K_IPALIASING, S_SERVICE, CFGKW_ADDR, SV(vip),	\
			.off_family = offsetof(struct svcspec, vipfamily)
#define QUEUE		K_QUEUE, S_GLOBAL, CFGKW_UINT, .max = 65535, G(queue)
#define CHECK_TIMEOUT	K_CHECK_TIMEOUT, S_HEALTH, CFGKW_MS, .min = 10,	\
			.max = 3600 * 1000, .what = HC_TIME, H(timeout_ms)
#define PASSIVE_RETRY	K_PASSIVE_RETRY, S_HEALTH, CFGKW_UINT, .min = 1, \
			.max = 86400, .what = SECONDS, H(passive_retry)

static const struct cfgkw keywords[] = {
	/* The original HUT loadd keys. */
	{ "servers", K_SERVERS, S_SERVICE, CFGKW_FUNC,
	    .parse = parse_servers },
	{ "ipaliasing", VIP },
	{ "ports", K_PORTS, S_SERVICE, CFGKW_FUNC, .parse = parse_ports },
	{ "balancingmode", K_BALANCINGMODE, S_OPTS, CFGKW_FUNC,
	    .parse = parse_method },
	{ "verbosemode", K_VERBOSEMODE, S_GLOBAL, CFGKW_FUNC,
	    .parse = parse_verbose },
	{ "daemon", K_DAEMON, S_GLOBAL, CFGKW_BOOL, G(daemon) },
	{ "transparent_proxy", K_TRANSPARENT, S_GLOBAL, CFGKW_BOOL,
	    .set = set_transparent },
	/* Ours. */
	{ "vip", VIP },
	{ "protocol", K_PROTOCOL, S_OPTS, CFGKW_CHOICE,
	    .choices = cfgkw_protocols, O(proto) },
	{ "queue", QUEUE },
	{ "divertport", QUEUE },
	{ "maxflows", K_MAXFLOWS, S_GLOBAL, CFGKW_UINT, .min = 1,
	    .max = LOADD_MAXFLOWS_LIMIT, G(maxflows) },
	{ "timeout_tcp_established", K_TO_EST, S_GLOBAL, CFGKW_UINT, .min = 1,
	    .max = MAXSECONDS, .what = SECONDS, G(timeout[FC_ESTABLISHED]) },
	{ "timeout_tcp_transitory", K_TO_TRANS, S_GLOBAL, CFGKW_UINT, .min = 1,
	    .max = MAXSECONDS, .what = SECONDS, .set = set_transitory },
	{ "timeout_udp", K_TO_UDP, S_GLOBAL, CFGKW_UINT, .min = 1,
	    .max = MAXSECONDS, .what = SECONDS, G(timeout[FC_UDP]) },
	{ "timeout_udp_unreplied", K_TO_UDP_UNREPLIED, S_GLOBAL, CFGKW_UINT,
	    .min = 1, .max = MAXSECONDS, .what = SECONDS,
	    G(timeout[FC_UDP_UNREPLIED]) },
	{ "queue_maxlen", K_QUEUE_MAXLEN, S_GLOBAL, CFGKW_UINT, .min = 1,
	    .max = 1u << 20, G(queue_maxlen) },
	{ "failopen", K_FAILOPEN, S_GLOBAL, CFGKW_BOOL, G(failopen) },
	{ "pidfile", K_PIDFILE, S_GLOBAL, CFGKW_PATH, .toolong = PATHLONG,
	    G(pidfile) },
	{ "syslog_facility", K_FACILITY, S_GLOBAL, CFGKW_FUNC,
	    .parse = cfgkw_facility, G(facility) },
	{ "service", K_SERVICE, S_FILE, CFGKW_FUNC, .flags = CFGKW_MANY,
	    .parse = parse_service },
	{ "unknown_flow", K_UNKNOWN_FLOW, S_GLOBAL, CFGKW_CHOICE,
	    .choices = unknown_flows, G(unknown_reset) },
	{ "reset_rate", K_RESET_RATE, S_GLOBAL, CFGKW_UINT, .min = 1,
	    .max = 1000000, G(reset_rate) },
	{ "hashkey", K_HASHKEY, S_OPTS, CFGKW_FUNC, .parse = parse_hashkey },
	{ "maglev_size", K_MAGLEV_SIZE, S_OPTS, CFGKW_FUNC,
	    .parse = parse_maglev_size },
	{ "sticky", K_STICKY, S_OPTS, CFGKW_UINT, .max = MAXSECONDS,
	    .what = SECONDS, O(sticky) },
	{ "sticky_clients", K_STICKY_CLIENTS, S_GLOBAL, CFGKW_UINT, .min = 16,
	    .max = 1u << 24, G(sticky_clients) },
	{ "check", K_CHECK, S_HEALTH, CFGKW_CHOICE, .choices = checks,
	    H(type) },
	{ "check_interval", K_CHECK_INTERVAL, S_HEALTH, CFGKW_MS, .min = 10,
	    .max = 3600 * 1000, .what = HC_TIME, H(interval_ms) },
	{ "check_timeout", CHECK_TIMEOUT },
	{ "timeout_cleanup", CHECK_TIMEOUT },		/* PLB */
	{ "check_rise", K_CHECK_RISE, S_HEALTH, CFGKW_UINT, .min = 1,
	    .max = 1000, H(rise) },
	{ "check_fall", K_CHECK_FALL, S_HEALTH, CFGKW_UINT, .min = 1,
	    .max = 1000, H(fall) },
	{ "check_port", K_CHECK_PORT, S_HEALTH, CFGKW_UINT, .min = 1,
	    .max = 65535, .what = "a port", H(port) },
	{ "check_path", K_CHECK_PATH, S_HEALTH, CFGKW_PATH, .reject = " \t\r\n",
	    .what = "a path (starts with '/', no spaces, under "
	    CFGKW_STR(HC_PATHLEN) " bytes)", H(path) },
	{ "check_host", K_CHECK_HOST, S_HEALTH, CFGKW_STRING,
	    .reject = " \t\r\n", .what = "a host name (no spaces, under "
	    CFGKW_STR(HC_HOSTLEN) " bytes)", H(host) },
	{ "check_status", K_CHECK_STATUS, S_HEALTH, CFGKW_FUNC,
	    .parse = parse_status },
	{ "check_body", K_CHECK_BODY, S_HEALTH, CFGKW_STRING, .reject = "\r\n",
	    .toolong = "text too long (under " CFGKW_STR(HC_BODYLEN) " bytes)",
	    H(body) },
	{ "check_start", K_CHECK_START, S_HEALTH, CFGKW_CHOICE,
	    .choices = starts, H(start_up) },
	{ "passive", K_PASSIVE, S_HEALTH, CFGKW_BOOL, H(passive) },
	{ "passive_timeout", K_PASSIVE_TIMEOUT, S_HEALTH, CFGKW_MS, .min = 10,
	    .max = 3600 * 1000, .what = HC_TIME, H(passive_timeout_ms) },
	{ "passive_fall", K_PASSIVE_FALL, S_HEALTH, CFGKW_UINT, .min = 1,
	    .max = 1000, H(passive_fall) },
	{ "passive_retry", PASSIVE_RETRY },
	{ "server_retry", PASSIVE_RETRY },		/* PLB */
	{ "down_flows", K_DOWN_FLOWS, S_HEALTH, CFGKW_CHOICE,
	    .choices = down_flows, H(down_flows) },
	{ "noserver", K_NOSERVER, S_HEALTH, CFGKW_CHOICE, .choices = noservers,
	    H(noserver) },
	{ "slowstart", K_SLOWSTART, S_HEALTH, CFGKW_UINT, .max = 86400,
	    .what = SECONDS, H(slowstart) },
	{ "keyfile", K_KEYFILE, S_GLOBAL, CFGKW_PATH, .toolong = PATHLONG,
	    G(keyfile) },
	{ "reportport", K_REPORTPORT, S_GLOBAL, CFGKW_UINT, .min = 1,
	    .max = 65535, G(reportport) },
	{ "reportaddress", K_REPORTADDRESS, S_GLOBAL, CFGKW_ADDR,
	    G(reportaddr), .off_family = offsetof(struct config, reportfamily) },
	{ "agent_window", K_AGENT_WINDOW, S_GLOBAL, CFGKW_UINT, .min = 1,
	    .max = 3600, .what = SECONDS, .set = set_agent_window },
	{ "agent_stale", K_AGENT_STALE, S_GLOBAL, CFGKW_UINT, .min = 1,
	    .max = 1000, G(agent_stale) },
	{ "ctlsocket", K_CTLSOCKET, S_GLOBAL, CFGKW_PATH, .max = 99,
	    .toolong = PATHLONG " (a UNIX socket's path is under 100 bytes)",
	    G(ctlsocket) },
	{ "ctlsocket_mode", K_CTLMODE, S_GLOBAL, CFGKW_FUNC,
	    .parse = parse_ctlmode },
	{ "metrics", K_METRICS, S_GLOBAL, CFGKW_ADDRPORT,
	    .what = "address:port (127.0.0.1:9670, say)", G(metricsaddr),
	    .off_family = offsetof(struct config, metricsfamily),
	    .off_port = offsetof(struct config, metricsport) },
	{ "user", K_USER, S_GLOBAL, CFGKW_STRING, .reject = " \t:/",
	    .what = "a user name", G(user) },
	{ "chroot", K_CHROOT, S_GLOBAL, CFGKW_PATH, G(chroot) },
	{ "privsep", K_PRIVSEP, S_GLOBAL, CFGKW_BOOL, G(privsep) },
	{ "offload", K_OFFLOAD, S_GLOBAL, CFGKW_FUNC, .parse = parse_offload },
	{ "offload_salt", K_OFFLOAD_SALT, S_GLOBAL, CFGKW_UINT,
	    .max = UINT32_MAX, G(offload_salt) },
	{ "max_clients", K_MAX_CLIENTS, S_OPTS, CFGKW_UINT,
	    .max = LOADD_MAXFLOWS_LIMIT, O(max_clients) },
	{ "max_client_conns", K_MAX_CLIENT_CONNS, S_OPTS, CFGKW_UINT,
	    .max = CLIENT_MAXCONNS, O(climits.max_conns) },
	{ "max_client_rate", K_MAX_CLIENT_RATE, S_OPTS, CFGKW_FUNC,
	    .parse = parse_rate },
	{ "client_prefix4", K_CLIENT_PREFIX4, S_OPTS, CFGKW_UINT, .min = 1,
	    .max = 32, .what = "a prefix length", O(climits.plen4) },
	{ "client_prefix6", K_CLIENT_PREFIX6, S_OPTS, CFGKW_UINT, .min = 1,
	    .max = 128, .what = "a prefix length", O(climits.plen6) },
	{ "offload_interfaces", K_OFFLOAD_IFS, S_GLOBAL, CFGKW_FUNC,
	    .parse = parse_offload_ifs },
	{ "offload_maxflows", K_OFFLOAD_MAXFLOWS, S_GLOBAL, CFGKW_UINT,
	    .min = 16, .max = LOADD_FP_MAXFLOWS_LIMIT, G(fp_maxflows) },
	{ "offload_pin", K_OFFLOAD_PIN, S_GLOBAL, CFGKW_PATH,
	    .reject = " \t", G(fp_pin) },
};

static const struct cfgkw_table table = {
	keywords, sizeof(keywords) / sizeof(keywords[0]), K_NKEYS, S_N,
	"missing value", 0
};

const char *
config_key_name(enum key k)
{
	return (cfgkw_name(&table, k));
}

/* "servers = 10.0.1.11, 10.0.1.12:8080 weight 5, [2001:db8::1]:80" */
static void
parse_servers(struct cfgfile *cf, const struct cfgkw *kw, void *obj, char *v)
{
	struct svcspec	*sp = obj;
	struct srvspec	*s;
	char		*item;
	void		*n;

	(void)kw;
	while ((item = cfg_list_next(&v)) != NULL) {
		if (*item == '\0') {
			cfg_error(cf, "servers: empty entry in list");
			continue;
		}
		if (sp->nsrv == POOL_MAXSERVERS) {
			cfg_error(cf, "servers: more than %d servers",
			    POOL_MAXSERVERS);
			return;
		}
		if (sp->nsrv == sp->srvcap) {
			sp->srvcap = sp->srvcap ? sp->srvcap * 2 : 16;
			if ((n = reallocarray(sp->srv, sp->srvcap,
			    sizeof(*sp->srv))) == NULL) {
				cfg_error(cf, "out of memory");
				return;
			}
			sp->srv = n;
		}
		s = &sp->srv[sp->nsrv];
		if (parse_server(cf, s, item) == 0)
			sp->nsrv++;
	}
}

/* One server of the list: "10.0.1.12:8080 weight 5 backup"; 0 or -1. */
static int
parse_server(struct cfgfile *cf, struct srvspec *s, char *item)
{
	char		*w, *save, *slash;
	unsigned long	 plen;

	memset(s, 0, sizeof(*s));
	s->weight = 1;
	s->line = cf->line;
	w = strtok_r(item, " \t", &save);
	if ((slash = strchr(w, '/')) != NULL) {
		/* A network, for the bitmask method. */
		*slash = '\0';
		if (cfg_uint(slash + 1, 1, 128, &plen) == -1) {
			cfg_error(cf, "servers: \"%s\" is not a prefix length",
			    slash + 1);
			return (-1);
		}
		s->prefix = (uint8_t)plen;
	}
	if ((s->family = (uint8_t)addr_parse(w, &s->addr, &s->port)) == 0) {
		cfg_error(cf, "servers: \"%s\" is not an address or "
		    "address:port", w);
		return (-1);
	}
	while ((w = strtok_r(NULL, " \t", &save)) != NULL)
		if (server_option(cf, s, w, &save) == -1)
			return (-1);
	if (s->lowconn != 0 && s->lowconn >= s->maxconn) {
		cfg_error(cf, "servers: lowconn %u needs a maxconn above it",
		    s->lowconn);
		return (-1);
	}
	return (0);
}

/* A word after a server's address, and its value if it takes one. */
static int
server_option(struct cfgfile *cf, struct srvspec *s, const char *w,
    char **save)
{
	const char	*v;
	unsigned long	 n;

	if (strcmp(w, "backup") == 0) {
		s->backup = 1;
		return (0);
	}
	if (strcmp(w, "disabled") == 0) {
		s->disabled = 1;
		return (0);
	}
	if (strcmp(w, "weight") != 0 && strcmp(w, "maxconn") != 0 &&
	    strcmp(w, "lowconn") != 0) {
		cfg_error(cf, "servers: unexpected \"%s\" after an address "
		    "(weight N, maxconn N, lowconn N, backup, disabled)", w);
		return (-1);
	}
	v = strtok_r(NULL, " \t", save);
	if (strcmp(w, "weight") == 0) {
		if (v == NULL || cfg_uint(v, 0, 65535, &n) == -1) {
			cfg_error(cf, "servers: weight must be 0..65535");
			return (-1);
		}
		s->weight = (uint16_t)n;
		return (0);
	}
	if (v == NULL || cfg_uint(v, 1, LOADD_MAXFLOWS_LIMIT, &n) == -1) {
		cfg_error(cf, "servers: %s must be 1..%u", w,
		    LOADD_MAXFLOWS_LIMIT);
		return (-1);
	}
	if (w[0] == 'm')
		s->maxconn = (uint32_t)n;
	else
		s->lowconn = (uint32_t)n;
	return (0);
}

/* "ports = 80, 443" */
static void
parse_ports(struct cfgfile *cf, const struct cfgkw *kw, void *obj, char *v)
{
	struct svcspec	*sp = obj;
	char		*item;
	uint16_t	 port;
	unsigned	 i;

	(void)kw;
	while ((item = cfg_list_next(&v)) != NULL) {
		if (port_parse(item, &port) == -1) {
			cfg_error(cf, "ports: \"%s\" is not a port "
			    "(1..65535)", item);
			continue;
		}
		for (i = 0; i < sp->nports; i++)
			if (sp->ports[i] == port)
				break;
		if (i < sp->nports) {
			cfg_error(cf, "ports: port %u given twice", port);
			continue;
		}
		if (sp->nports == MAXPORTS) {
			cfg_error(cf, "ports: more than %d ports", MAXPORTS);
			return;
		}
		sp->ports[sp->nports++] = port;
	}
}

/* "service = NAME" starts a new service block. */
static void
parse_service(struct cfgfile *cf, const struct cfgkw *kw, void *obj,
    char *name)
{
	struct parse	*ps = obj;
	struct svcspec	*sp;
	const char	*c;
	unsigned	 i;

	(void)kw;
	for (c = name; *c != '\0'; c++)
		if (!isalnum((unsigned char)*c) && *c != '-' && *c != '_' &&
		    *c != '.')
			break;
	if (*c != '\0' || c - name >= SVC_LABELLEN) {
		cfg_error(cf, "service: \"%s\" is not a name (letters, "
		    "digits, '-', '_', '.'; at most %d)", name,
		    SVC_LABELLEN - 1);
		return;
	}
	for (i = 1; i < ps->nspec; i++)
		if (strcmp(ps->spec[i].name, name) == 0) {
			cfg_error(cf, "service \"%s\" given twice (first "
			    "on line %u)", name, ps->spec[i].line);
			return;
		}
	if (ps->nspec == MAXSPECS) {
		cfg_error(cf, "service: more than %d services", MAXSPECS - 1);
		return;
	}
	sp = &ps->spec[ps->nspec++];
	strlcpy(sp->name, name, sizeof(sp->name));
	sp->line = cf->line;
	sp->hc = ps->spec[0].hc;	/* the defaults given so far */
	ps->cur = sp;
}

/* The one lookup of a method by name: services keep the pointer. */
static void
parse_method(struct cfgfile *cf, const struct cfgkw *kw, void *obj, char *v)
{
	struct svcopts	*o = obj;
	char		 names[512];

	(void)kw;
	if ((o->method = sched_find(v)) == NULL)
		cfg_error(cf, "balancingmode: unknown method \"%s\"; the "
		    "methods are %s", v, sched_names(names, sizeof(names)));
}

/*
 * A number, or any text: pf's source-hash key.  The same key on every
 * loadd gives the same choices.
 */
static void
parse_hashkey(struct cfgfile *cf, const struct cfgkw *kw, void *obj, char *v)
{
	struct svcopts	*o = obj;
	uint32_t	 h = 0x811c9dc5;
	const char	*c;
	unsigned long	 n;

	(void)cf;
	(void)kw;
	if (cfg_uint(v, 0, UINT32_MAX, &n) == 0)
		h = (uint32_t)n;
	else
		for (c = v; *c != '\0'; c++)
			h = (h ^ (uint8_t)*c) * 16777619u;
	o->hashkey = h;
}

/* "max_client_rate = 20/s" (or 20): new connections per second. */
static void
parse_rate(struct cfgfile *cf, const struct cfgkw *kw, void *obj, char *v)
{
	struct svcopts	*o = obj;
	unsigned long	 n;
	size_t		 len = strlen(v);

	(void)kw;
	if (len > 2 && strcmp(v + len - 2, "/s") == 0)
		v[len - 2] = '\0';
	if (cfg_uint(v, 0, CLIENT_MAXRATE, &n) == -1) {
		cfg_error(cf, "max_client_rate: \"%s\" is not a rate "
		    "(N/s, 0..%u; 0: no limit)", v, CLIENT_MAXRATE);
		return;
	}
	o->climits.rate = (uint32_t)n;
}

static void
parse_maglev_size(struct cfgfile *cf, const struct cfgkw *kw, void *obj,
    char *v)
{
	struct svcopts	*o = obj;
	unsigned long	 n;

	(void)kw;
	if (cfg_uint(v, 251, MAGLEV_SIZE_MAX, &n) == -1 ||
	    !sched_is_prime((uint32_t)n))
		cfg_error(cf, "maglev_size: \"%s\" is not a prime from 251 to "
		    "%d", v, MAGLEV_SIZE_MAX);
	else
		o->maglev_size = (uint32_t)n;
}

/* "check_status = 200" or "200-399". */
static void
parse_status(struct cfgfile *cf, const struct cfgkw *kw, void *obj, char *v)
{
	struct hcconf	*hc = obj;
	unsigned long	 n, m;
	char		*dash;

	(void)kw;
	if ((dash = strchr(v, '-')) != NULL)
		*dash++ = '\0';
	if (cfg_uint(v, 100, 599, &n) == -1 || (dash != NULL &&
	    cfg_uint(dash, n, 599, &m) == -1)) {
		cfg_error(cf, "check_status: not a status (100..599) or a "
		    "range of them (\"200-399\")");
		return;
	}
	hc->status_lo = (uint16_t)n;
	hc->status_hi = (uint16_t)(dash != NULL ? m : n);
}

/*
 * yes or no, or the PLB levels: 0 everything, 1 information, 2 warnings,
 * 3 fatal errors only.
 */
static void
parse_verbose(struct cfgfile *cf, const struct cfgkw *kw, void *obj, char *v)
{
	static const int lv[] = { 2, 1, -1, -2 };
	struct config	*conf = obj;
	unsigned long	 n;
	int		 b;

	(void)kw;
	if (cfg_uint(v, 0, 3, &n) == 0)
		conf->verbose = lv[n];
	else if ((b = cfg_bool(v)) == -1)
		cfg_error(cf, "verbosemode: \"%s\" is not yes, no or a level 0 "
		    "(everything) .. 3 (fatal errors only)", v);
	else
		conf->verbose = b;
}

/* An octal mode without execute bits: a socket is read and written. */
static void
parse_ctlmode(struct cfgfile *cf, const struct cfgkw *kw, void *obj, char *v)
{
	struct config	*conf = obj;
	unsigned long	 n;
	char		*end;

	(void)kw;
	errno = 0;
	n = strtoul(v, &end, 8);
	if (errno != 0 || *end != '\0' || *v < '0' || *v > '7' ||
	    n > 0777 || (n & 0111) != 0)
		cfg_error(cf, "ctlsocket_mode: \"%s\" is not an octal mode such "
		    "as 0600 or 0660", v);
	else
		conf->ctlmode = (unsigned)n;
}

/*
 * offload = no | yes | conntrack | bpf: yes is conntrack's mode (its name
 * since there are two); bpf is the eBPF fast path, which keeps the rules
 * and the engine of offload = no and hands established flows to a map.
 */
static void
parse_offload(struct cfgfile *cf, const struct cfgkw *kw, void *obj, char *v)
{
	struct config	*conf = obj;
	int		 b;

	(void)kw;
	conf->offload = conf->fastpath = 0;
	if (strcasecmp(v, "bpf") == 0)
		conf->fastpath = 1;
	else if (strcasecmp(v, "conntrack") == 0)
		conf->offload = 1;
	else if ((b = cfg_bool(v)) != -1)
		conf->offload = b;
	else
		cfg_error(cf, "offload: \"%s\" is none of no, yes (conntrack), "
		    "conntrack, bpf", v);
}

/*
 * "offload_interfaces = eth0, eth1": where the fast path's program sits,
 * the interfaces packets arrive on from clients and from servers (a
 * bridge's ports, not the bridge: doc/fastpath.md says why).
 */
static void
parse_offload_ifs(struct cfgfile *cf, const struct cfgkw *kw, void *obj,
    char *v)
{
	struct config	*conf = obj;
	char		*item;
	unsigned	 i;

	(void)kw;
	conf->fp_nifs = 0;
	memset(conf->fp_ifs, 0, sizeof(conf->fp_ifs));
	while ((item = cfg_list_next(&v)) != NULL) {
		if (*item == '\0' || strlen(item) >= sizeof(conf->fp_ifs[0]) ||
		    strpbrk(item, "/: \t") != NULL ||
		    strcmp(item, ".") == 0 || strcmp(item, "..") == 0) {
			cfg_error(cf, "offload_interfaces: \"%s\" is not an "
			    "interface name (1 to 15 bytes, no / or :)", item);
			continue;
		}
		for (i = 0; i < conf->fp_nifs; i++)
			if (strcmp(conf->fp_ifs[i], item) == 0)
				break;
		if (i < conf->fp_nifs) {
			cfg_error(cf, "offload_interfaces: %s twice", item);
			continue;
		}
		if (conf->fp_nifs == CONF_FP_MAXIFS) {
			cfg_error(cf, "offload_interfaces: more than %d",
			    CONF_FP_MAXIFS);
			return;
		}
		strlcpy(conf->fp_ifs[conf->fp_nifs++], item,
		    sizeof(conf->fp_ifs[0]));
	}
}

static void
set_transparent(struct cfgfile *cf, void *obj, unsigned long b)
{
	struct config	*conf = obj;

	conf->transparent = (int)b;
	if (!b)
		cfg_error(cf, "transparent_proxy: loadd only works "
		    "transparently; remove the key or say yes");
}

/* PLB's one timeout for connections opening and closing. */
static void
set_transitory(struct cfgfile *cf, void *obj, unsigned long n)
{
	struct config	*conf = obj;

	(void)cf;
	conf->timeout[FC_HALFOPEN] = conf->timeout[FC_CLOSING] = (uint32_t)n;
}

static void
set_agent_window(struct cfgfile *cf, void *obj, unsigned long n)
{
	struct config	*conf = obj;

	(void)cf;
	conf->agent_window_ms = (uint32_t)n * 1000;
}

/* The sections as they stand on the line about to be read. */
static void
sections(struct parse *ps, struct cfgkw_section *s)
{
	struct svcspec	*sp = ps->cur;
	int		 top = sp == &ps->spec[0];

	s[S_FILE] = (struct cfgkw_section){ ps, ps->seen, NULL };
	s[S_GLOBAL] = (struct cfgkw_section){ top ? ps->conf : NULL,
	    ps->seen, "is a global key: put it before the first "
	    "\"service =\" line" };
	s[S_SERVICE] = (struct cfgkw_section){ sp, sp->seen, NULL };
	s[S_OPTS] = (struct cfgkw_section){ top ? &ps->dflt : &sp->opts,
	    sp->seen, NULL };
	s[S_HEALTH] = (struct cfgkw_section){ &sp->hc, sp->seen, NULL };
}

int
config_load(struct config *conf, const char *path,
    const struct config_overrides *ov)
{
	return (config_load_text(conf, path, NULL, 0, NULL, ov));
}

static void
config_defaults(struct config *conf, const char *path)
{
	memset(conf, 0, sizeof(*conf));
	conf->path = path;
	conf->queue = LOADD_QUEUE;
	conf->maxflows = LOADD_MAXFLOWS;
	conf->queue_maxlen = LOADD_QUEUE_MAXLEN;
	conf->reset_rate = LOADD_RESET_RATE;
	conf->sticky_clients = LOADD_STICKY_CLIENTS;
	conf->timeout[FC_HALFOPEN] = 240;
	conf->timeout[FC_CLOSING] = 240;
	conf->timeout[FC_ESTABLISHED] = 7440;
	conf->timeout[FC_UDP] = 300;
	conf->timeout[FC_UDP_UNREPLIED] = 30;
	conf->facility = LOG_DAEMON;
	conf->method = sched_default();
	conf->reportport = REPORT_PORT;
	strlcpy(conf->ctlsocket, LOADD_CTLSOCKET, sizeof(conf->ctlsocket));
	strlcpy(conf->user, LOADD_USER, sizeof(conf->user));
	strlcpy(conf->chroot, LOADD_CHROOT, sizeof(conf->chroot));
	conf->privsep = 1;
	conf->ctlmode = 0600;
	conf->agent_window_ms = AGENT_WINDOW_MS;
	conf->agent_stale = AGENT_STALE_INTERVALS;
	conf->fp_maxflows = LOADD_FP_MAXFLOWS;
	strlcpy(conf->fp_pin, LOADD_FP_PIN, sizeof(conf->fp_pin));
}

/* The command line's word, over the file's; its method is the default. */
static void
config_override(struct parse *ps, const struct config_overrides *ov)
{
	struct config	*conf = ps->conf;

	if (ov == NULL)
		return;
	if (ov->queue != -1)
		conf->queue = ov->queue;
	if (ov->ctlsocket != NULL)
		strlcpy(conf->ctlsocket, ov->ctlsocket,
		    sizeof(conf->ctlsocket));
	if (ov->method != NULL)
		ps->dflt.method = ov->method;
	conf->verbose += ov->verbose;
	conf->daemon |= ov->daemon;
}

int
config_load_text(struct config *conf, const char *path, const char *text,
    size_t len, const struct report_keys *rk,
    const struct config_overrides *ov)
{
	struct parse		*ps;
	struct cfgkw_section	 sect[S_N];
	char			*k, *v, why[256];
	unsigned		 j;
	int			 rc = -1;

	config_defaults(conf, path);
	if (cfgkw_table_check(&table, why, sizeof(why)) == -1) {
		cfg_report("%s: %s", path, why);
		return (-1);
	}
	if ((ps = calloc(1, sizeof(*ps))) == NULL ||
	    (ps->spec = calloc(MAXSPECS, sizeof(*ps->spec))) == NULL) {
		free(ps);
		cfg_report("%s: out of memory", path);
		return (-1);
	}
	ps->conf = conf;
	ps->given_keys = rk;
	ps->dflt.proto = PROTO_TCP;
	hcconf_default(&ps->spec[0].hc);
	ps->nspec = 1;
	ps->cur = &ps->spec[0];
	if ((text != NULL ? cfg_open_mem(&ps->cf, path, text, len) :
	    cfg_open(&ps->cf, path)) == -1)
		goto done;
	while (cfg_next(&ps->cf, &k, &v)) {
		sections(ps, sect);
		(void)cfgkw_apply(&ps->cf, &table, sect, k, v);
	}
	config_override(ps, ov);
	if (ps->cf.errors == 0 && build(ps) == 0)
		rc = 0;
done:
	if (rc == -1 && ps->cf.errors == 0)
		cfg_report("%s: configuration not loaded", path);
	cfg_close(&ps->cf);
	for (j = 0; j < ps->nspec; j++)
		free(ps->spec[j].srv);
	free(ps->spec);
	free(ps);
	if (rc == -1)
		pool_free(&conf->pool);
	return (rc);
}

void
config_free(struct config *conf)
{
	report_keys_clear(&conf->keys);
	pool_free(&conf->pool);
}
