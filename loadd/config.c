/*
 * Reading loadd.conf.  The file is read in full first; services and
 * servers are built at the end, when every key is known, and every error
 * found on the way is reported (file:line: what is wrong) before giving up.
 *
 * The original file describes one virtual address: ipaliasing, ports and
 * servers at the top.  More services follow "service = NAME" lines, each
 * with its own ipaliasing, ports, servers, protocol and balancingmode;
 * balancingmode and protocol at the top are the default of every service.
 */
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include "agent.h"
#include "cfgfile.h"
#include "hash.h"
#include "health.h"
#include "compat.h"
#include "config.h"
#include "log.h"
#include "pkt.h"
#include "sched.h"

#define MAXPORTS	64
#define MAXSPECS	256

enum key {
	K_SERVERS, K_IPALIASING, K_PORTS, K_BALANCINGMODE, K_VERBOSEMODE,
	K_DAEMON, K_TRANSPARENT, K_PROTOCOL, K_QUEUE,
	K_MAXFLOWS, K_TO_EST, K_TO_TRANS, K_TO_UDP, K_TO_UDP_UNREPLIED,
	K_QUEUE_MAXLEN,
	K_FAILOPEN, K_PIDFILE, K_FACILITY, K_SERVICE, K_UNKNOWN_FLOW,
	K_RESET_RATE, K_HASHKEY, K_MAGLEV_SIZE, K_STICKY, K_STICKY_CLIENTS,
	/* Health: service keys, their defaults at the top. */
	K_CHECK, K_CHECK_INTERVAL, K_CHECK_TIMEOUT, K_CHECK_RISE, K_CHECK_FALL,
	K_CHECK_PORT, K_CHECK_PATH, K_CHECK_HOST, K_CHECK_STATUS, K_CHECK_BODY,
	K_CHECK_START, K_PASSIVE, K_PASSIVE_TIMEOUT, K_PASSIVE_FALL,
	K_PASSIVE_RETRY, K_DOWN_FLOWS, K_NOSERVER, K_SLOWSTART,
	/* Agent reports (global). */
	K_KEYFILE, K_REPORTPORT, K_REPORTADDRESS, K_AGENT_WINDOW, K_AGENT_STALE,
	K_CTLSOCKET, K_CTLMODE, K_METRICS, K_USER, K_CHROOT, K_PRIVSEP,
	K_OFFLOAD, K_OFFLOAD_SALT,
	K_NKEYS
};

/* Keys that belong to a service; the others are global. */
#define SERVICE_KEY(k)	((k) == K_SERVERS || (k) == K_IPALIASING || \
			 (k) == K_PORTS || (k) == K_BALANCINGMODE || \
			 (k) == K_PROTOCOL || (k) == K_HASHKEY || \
			 (k) == K_MAGLEV_SIZE || (k) == K_STICKY || \
			 ((k) >= K_CHECK && (k) <= K_SLOWSTART))

static const struct {
	const char	*name;
	enum key	 key;
} keys[] = {
	/* The original HUT loadd keys. */
	{ "servers",			K_SERVERS },
	{ "ipaliasing",			K_IPALIASING },
	{ "ports",			K_PORTS },
	{ "balancingmode",		K_BALANCINGMODE },
	{ "verbosemode",		K_VERBOSEMODE },
	{ "daemon",			K_DAEMON },
	{ "transparent_proxy",		K_TRANSPARENT },
	/* Ours. */
	{ "vip",			K_IPALIASING },
	{ "protocol",			K_PROTOCOL },
	{ "queue",			K_QUEUE },
	{ "divertport",			K_QUEUE },	/* the same key */
	{ "maxflows",			K_MAXFLOWS },
	{ "timeout_tcp_established",	K_TO_EST },
	{ "timeout_tcp_transitory",	K_TO_TRANS },
	{ "timeout_udp",		K_TO_UDP },
	{ "timeout_udp_unreplied",	K_TO_UDP_UNREPLIED },
	{ "queue_maxlen",		K_QUEUE_MAXLEN },
	{ "failopen",			K_FAILOPEN },
	{ "pidfile",			K_PIDFILE },
	{ "syslog_facility",		K_FACILITY },
	{ "service",			K_SERVICE },
	{ "unknown_flow",		K_UNKNOWN_FLOW },
	{ "reset_rate",			K_RESET_RATE },
	{ "hashkey",			K_HASHKEY },
	{ "maglev_size",		K_MAGLEV_SIZE },
	{ "sticky",			K_STICKY },
	{ "sticky_clients",		K_STICKY_CLIENTS },
	{ "check",			K_CHECK },
	{ "check_interval",		K_CHECK_INTERVAL },
	{ "check_timeout",		K_CHECK_TIMEOUT },
	{ "timeout_cleanup",		K_CHECK_TIMEOUT },	/* PLB */
	{ "check_rise",			K_CHECK_RISE },
	{ "check_fall",			K_CHECK_FALL },
	{ "check_port",			K_CHECK_PORT },
	{ "check_path",			K_CHECK_PATH },
	{ "check_host",			K_CHECK_HOST },
	{ "check_status",		K_CHECK_STATUS },
	{ "check_body",			K_CHECK_BODY },
	{ "check_start",		K_CHECK_START },
	{ "passive",			K_PASSIVE },
	{ "passive_timeout",		K_PASSIVE_TIMEOUT },
	{ "passive_fall",		K_PASSIVE_FALL },
	{ "passive_retry",		K_PASSIVE_RETRY },
	{ "server_retry",		K_PASSIVE_RETRY },	/* PLB */
	{ "down_flows",			K_DOWN_FLOWS },
	{ "noserver",			K_NOSERVER },
	{ "slowstart",			K_SLOWSTART },
	{ "keyfile",			K_KEYFILE },
	{ "reportport",			K_REPORTPORT },
	{ "reportaddress",		K_REPORTADDRESS },
	{ "agent_window",		K_AGENT_WINDOW },
	{ "agent_stale",		K_AGENT_STALE },
	{ "ctlsocket",			K_CTLSOCKET },
	{ "ctlsocket_mode",		K_CTLMODE },
	{ "metrics",			K_METRICS },
	{ "user",			K_USER },
	{ "chroot",			K_CHROOT },
	{ "privsep",			K_PRIVSEP },
	{ "offload",			K_OFFLOAD },
	{ "offload_salt",		K_OFFLOAD_SALT },
};

static const char *
keys_name(enum key k)
{
	size_t	 i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (keys[i].key == k)
			return (keys[i].name);
	return ("?");
}

struct srvspec {
	union addr	 addr;
	uint16_t	 port;		/* 0: the service's port */
	uint16_t	 weight;
	uint8_t		 family;
	uint8_t		 prefix;	/* a network (bitmask); 0: a host */
	uint8_t		 backup;
	uint8_t		 disabled;
	unsigned	 line;
};

#define BITMASK_MAXHOSTBITS	10	/* 1024 servers */

/* One service block as written: a virtual address and its ports. */
struct svcspec {
	char		 name[SVC_LABELLEN];
	unsigned	 line;		/* the "service =" line; 0: implicit */
	unsigned	 seen[K_NKEYS];
	union addr	 vip;
	int		 vipfamily;
	uint16_t	 ports[MAXPORTS];
	unsigned	 nports;
	uint8_t		 proto;		/* 0: the default */
	uint32_t	 hashkey;
	uint32_t	 maglev_size;	/* 0: the default */
	uint32_t	 sticky;	/* seconds; 0: off */
	char		 method[64];
	struct hcconf	 hc;		/* spec[0]'s: every service's default */
	struct srvspec	*srv;
	unsigned	 nsrv;
	unsigned	 srvcap;
};

struct parse {
	struct cfgfile	 cf;
	struct config	*conf;
	unsigned	 seen[K_NKEYS];	/* global keys: first line */
	struct svcspec	*spec;		/* spec[0] is the implicit service */
	unsigned	 nspec;
	struct svcspec	*cur;		/* where service keys go */
	uint8_t		 proto;		/* default protocol */
	char		 method[64];	/* default method */
	uint32_t	 hashkey;	/* default hash key */
	uint32_t	 maglev_size;	/* default Maglev table size */
	uint32_t	 sticky;	/* default persistence */
};

static void	 parse_servers(struct parse *, struct svcspec *, char *);
static void	 parse_ports(struct parse *, struct svcspec *, char *);
static void	 parse_service_key(struct parse *, enum key, const char *,
		    char *);
static void	 parse_global_key(struct parse *, enum key, const char *,
		    char *);
static void	 new_service(struct parse *, const char *);
static void	 parse_health_key(struct parse *, struct svcspec *, enum key,
		    const char *, char *);
static int	 check_health(struct parse *, struct svcspec *);
static int	 check_spec(struct parse *, struct svcspec *);
static int	 expand_bitmask(struct parse *, struct svcspec *);
static int	 build(struct parse *);
static void	 check_offload(struct parse *, const struct svcspec *,
		    const struct service *, struct hcconf *);
static void	 offload_marks(struct parse *);
static int	 config_read(struct config *, const char *, const char *,
		    size_t, const struct config_overrides *);
static const char *spec_name(const struct svcspec *, char *, size_t);

/* "servers = 10.0.1.11, 10.0.1.12:8080 weight 5, [2001:db8::1]:80" */
static void
parse_servers(struct parse *ps, struct svcspec *sp, char *v)
{
	char		*item, *w, *save, *slash;
	struct srvspec	*s;
	unsigned long	 weight;
	void		*n;
	int		 bad;

	while ((item = cfg_list_next(&v)) != NULL) {
		if (*item == '\0') {
			cfg_error(&ps->cf, "servers: empty entry in list");
			continue;
		}
		if (sp->nsrv == POOL_MAXSERVERS) {
			cfg_error(&ps->cf, "servers: more than %d servers",
			    POOL_MAXSERVERS);
			return;
		}
		if (sp->nsrv == sp->srvcap) {
			sp->srvcap = sp->srvcap ? sp->srvcap * 2 : 16;
			if ((n = reallocarray(sp->srv, sp->srvcap,
			    sizeof(*sp->srv))) == NULL) {
				cfg_error(&ps->cf, "out of memory");
				return;
			}
			sp->srv = n;
		}
		s = &sp->srv[sp->nsrv];
		memset(s, 0, sizeof(*s));
		s->weight = 1;
		s->line = ps->cf.line;
		w = strtok_r(item, " \t", &save);
		if ((slash = strchr(w, '/')) != NULL) {
			/* A network, for the bitmask method. */
			*slash = '\0';
			if (cfg_uint(slash + 1, 1, 128, &weight) == -1) {
				cfg_error(&ps->cf, "servers: \"%s\" is not a "
				    "prefix length", slash + 1);
				continue;
			}
			s->prefix = (uint8_t)weight;
		}
		if ((s->family = (uint8_t)addr_parse(w, &s->addr, &s->port))
		    == 0) {
			cfg_error(&ps->cf, "servers: \"%s\" is not an address "
			    "or address:port", w);
			continue;
		}
		bad = 0;
		while (!bad && (w = strtok_r(NULL, " \t", &save)) != NULL) {
			if (strcmp(w, "backup") == 0)
				s->backup = 1;
			else if (strcmp(w, "disabled") == 0)
				s->disabled = 1;
			else if (strcmp(w, "weight") == 0) {
				w = strtok_r(NULL, " \t", &save);
				if (w == NULL || cfg_uint(w, 0, 65535,
				    &weight) == -1) {
					cfg_error(&ps->cf, "servers: weight "
					    "must be 0..65535");
					bad = 1;
				} else
					s->weight = (uint16_t)weight;
			} else {
				cfg_error(&ps->cf, "servers: unexpected \"%s\" "
				    "after an address (weight N, backup, "
				    "disabled)", w);
				bad = 1;
			}
		}
		if (!bad)
			sp->nsrv++;
	}
}

/* "ports = 80, 443" */
static void
parse_ports(struct parse *ps, struct svcspec *sp, char *v)
{
	char		*item;
	uint16_t	 port;
	unsigned	 i;

	while ((item = cfg_list_next(&v)) != NULL) {
		if (port_parse(item, &port) == -1) {
			cfg_error(&ps->cf, "ports: \"%s\" is not a port "
			    "(1..65535)", item);
			continue;
		}
		for (i = 0; i < sp->nports; i++)
			if (sp->ports[i] == port)
				break;
		if (i < sp->nports) {
			cfg_error(&ps->cf, "ports: port %u given twice", port);
			continue;
		}
		if (sp->nports == MAXPORTS) {
			cfg_error(&ps->cf, "ports: more than %d ports",
			    MAXPORTS);
			return;
		}
		sp->ports[sp->nports++] = port;
	}
}

/* "service = NAME" starts a new service block. */
static void
new_service(struct parse *ps, const char *name)
{
	struct svcspec	*sp;
	const char	*c;
	unsigned	 i;

	for (c = name; *c != '\0'; c++)
		if (!isalnum((unsigned char)*c) && *c != '-' && *c != '_' &&
		    *c != '.')
			break;
	if (*c != '\0' || c - name >= SVC_LABELLEN) {
		cfg_error(&ps->cf, "service: \"%s\" is not a name (letters, "
		    "digits, '-', '_', '.'; at most %d)", name,
		    SVC_LABELLEN - 1);
		return;
	}
	for (i = 1; i < ps->nspec; i++)
		if (strcmp(ps->spec[i].name, name) == 0) {
			cfg_error(&ps->cf, "service \"%s\" given twice (first "
			    "on line %u)", name, ps->spec[i].line);
			return;
		}
	if (ps->nspec == MAXSPECS) {
		cfg_error(&ps->cf, "service: more than %d services",
		    MAXSPECS - 1);
		return;
	}
	sp = &ps->spec[ps->nspec++];
	strlcpy(sp->name, name, sizeof(sp->name));
	sp->line = ps->cf.line;
	sp->hc = ps->spec[0].hc;	/* the defaults given so far */
	ps->cur = sp;
}

static void
parse_service_key(struct parse *ps, enum key key, const char *kname,
    char *v)
{
	struct svcspec	*sp = ps->cur;
	uint16_t	 port;
	uint8_t		 proto = 0;

	if (sp->seen[key] != 0) {
		cfg_error(&ps->cf, "%s given twice (first on line %u)", kname,
		    sp->seen[key]);
		return;
	}
	sp->seen[key] = ps->cf.line;
	switch (key) {
	case K_SERVERS:
		parse_servers(ps, sp, v);
		break;
	case K_IPALIASING:
		sp->vipfamily = addr_parse(v, &sp->vip, &port);
		if (sp->vipfamily == 0 || port != 0) {
			cfg_error(&ps->cf, "%s: \"%s\" is not an IP address",
			    kname, v);
			sp->vipfamily = 0;
		}
		break;
	case K_PORTS:
		parse_ports(ps, sp, v);
		break;
	case K_BALANCINGMODE:
		if (sched_find(v) == NULL) {
			char names[512];

			cfg_error(&ps->cf, "balancingmode: unknown method "
			    "\"%s\"; the methods are %s", v,
			    sched_names(names, sizeof(names)));
		}
		else if (sp == &ps->spec[0])
			strlcpy(ps->method, v, sizeof(ps->method));
		else
			strlcpy(sp->method, v, sizeof(sp->method));
		break;
	case K_HASHKEY:
	{
		/*
		 * A number, or any text: pf's source-hash key.  The same key
		 * on every loadd gives the same choices.
		 */
		uint32_t	 h = 0x811c9dc5;
		const char	*c;
		unsigned long	 n;

		if (cfg_uint(v, 0, UINT32_MAX, &n) == 0)
			h = (uint32_t)n;
		else
			for (c = v; *c != '\0'; c++)
				h = (h ^ (uint8_t)*c) * 16777619u;
		if (sp == &ps->spec[0])
			ps->hashkey = h;
		else
			sp->hashkey = h;
		break;
	}
	case K_STICKY:
	{
		unsigned long	 n;

		if (cfg_uint(v, 0, 30 * 86400, &n) == -1) {
			cfg_error(&ps->cf, "sticky: \"%s\" is not a number of "
			    "seconds (0..2592000)", v);
			break;
		}
		if (sp == &ps->spec[0])
			ps->sticky = (uint32_t)n;
		else
			sp->sticky = (uint32_t)n;
		break;
	}
	case K_MAGLEV_SIZE:
	{
		unsigned long	 n;

		if (cfg_uint(v, 251, MAGLEV_SIZE_MAX, &n) == -1 ||
		    !sched_is_prime((uint32_t)n)) {
			cfg_error(&ps->cf, "maglev_size: \"%s\" is not a prime "
			    "from 251 to %d", v, MAGLEV_SIZE_MAX);
			break;
		}
		if (sp == &ps->spec[0])
			ps->maglev_size = (uint32_t)n;
		else
			sp->maglev_size = (uint32_t)n;
		break;
	}
	case K_PROTOCOL:
		if (strcasecmp(v, "tcp") == 0)
			proto = PROTO_TCP;
		else if (strcasecmp(v, "udp") == 0)
			proto = PROTO_UDP;
		else {
			cfg_error(&ps->cf, "protocol: \"%s\" is not tcp or udp",
			    v);
			break;
		}
		if (sp == &ps->spec[0])
			ps->proto = proto;
		else
			sp->proto = proto;
		break;
	default:
		if (key >= K_CHECK && key <= K_SLOWSTART)
			parse_health_key(ps, sp, key, kname, v);
		break;
	}
}

static void
parse_health_key(struct parse *ps, struct svcspec *sp, enum key key,
    const char *kname, char *v)
{
	struct hcconf	*hc = &sp->hc;
	unsigned long	 n, m;
	uint32_t	 ms;
	char		*dash;
	int		 b;

	switch (key) {
	case K_CHECK:
		if (strcasecmp(v, "tcp") == 0)
			hc->type = HC_TCP;
		else if (strcasecmp(v, "http") == 0)
			hc->type = HC_HTTP;
		else if (strcasecmp(v, "icmp") == 0)
			hc->type = HC_ICMP;
		else if (strcasecmp(v, "none") == 0)
			hc->type = HC_NONE;
		else
			cfg_error(&ps->cf, "check: \"%s\" is not tcp, http, "
			    "icmp or none", v);
		break;
	case K_CHECK_INTERVAL:
	case K_CHECK_TIMEOUT:
	case K_PASSIVE_TIMEOUT:
		if (cfg_ms(v, 10, 3600 * 1000, &ms) == -1) {
			cfg_error(&ps->cf, "%s: \"%s\" is not a time from 10ms "
			    "to 3600 seconds (\"2\", \"0.5\", \"500ms\")", kname,
			    v);
			break;
		}
		if (key == K_CHECK_INTERVAL)
			hc->interval_ms = ms;
		else if (key == K_CHECK_TIMEOUT)
			hc->timeout_ms = ms;
		else
			hc->passive_timeout_ms = ms;
		break;
	case K_CHECK_RISE:
	case K_CHECK_FALL:
	case K_PASSIVE_FALL:
		if (cfg_uint(v, 1, 1000, &n) == -1) {
			cfg_error(&ps->cf, "%s: \"%s\" is not 1..1000", kname,
			    v);
			break;
		}
		if (key == K_CHECK_RISE)
			hc->rise = (uint32_t)n;
		else if (key == K_CHECK_FALL)
			hc->fall = (uint32_t)n;
		else
			hc->passive_fall = (uint32_t)n;
		break;
	case K_PASSIVE_RETRY:
	case K_SLOWSTART:
		if (cfg_uint(v, key == K_SLOWSTART ? 0 : 1, 86400, &n) ==
		    -1) {
			cfg_error(&ps->cf, "%s: \"%s\" is not a number of "
			    "seconds (%d..86400)", kname, v,
			    key == K_SLOWSTART ? 0 : 1);
			break;
		}
		if (key == K_SLOWSTART)
			hc->slowstart = (uint32_t)n;
		else
			hc->passive_retry = (uint32_t)n;
		break;
	case K_CHECK_PORT:
		if (port_parse(v, &hc->port) == -1)
			cfg_error(&ps->cf, "check_port: \"%s\" is not a port "
			    "(1..65535)", v);
		break;
	case K_CHECK_PATH:
		if (*v != '/' || strpbrk(v, " \t\r\n") != NULL ||
		    strlcpy(hc->path, v, sizeof(hc->path)) >= sizeof(hc->path))
			cfg_error(&ps->cf, "check_path: \"%s\" is not a path "
			    "(starts with '/', no spaces, under %d bytes)", v,
			    HC_PATHLEN);
		break;
	case K_CHECK_HOST:
		if (strpbrk(v, " \t\r\n") != NULL ||
		    strlcpy(hc->host, v, sizeof(hc->host)) >= sizeof(hc->host))
			cfg_error(&ps->cf, "check_host: \"%s\" is not a host "
			    "name (no spaces, under %d bytes)", v, HC_HOSTLEN);
		break;
	case K_CHECK_BODY:
		if (strpbrk(v, "\r\n") != NULL ||
		    strlcpy(hc->body, v, sizeof(hc->body)) >= sizeof(hc->body))
			cfg_error(&ps->cf, "check_body: text too long (under "
			    "%d bytes)", HC_BODYLEN);
		break;
	case K_CHECK_STATUS:
		if ((dash = strchr(v, '-')) != NULL)
			*dash++ = '\0';
		if (cfg_uint(v, 100, 599, &n) == -1 || (dash != NULL &&
		    cfg_uint(dash, n, 599, &m) == -1)) {
			cfg_error(&ps->cf, "check_status: not a status (100..599)"
			    " or a range of them (\"200-399\")");
			break;
		}
		hc->status_lo = (uint16_t)n;
		hc->status_hi = (uint16_t)(dash != NULL ? m : n);
		break;
	case K_CHECK_START:
		if (strcasecmp(v, "up") == 0)
			hc->start_up = 1;
		else if (strcasecmp(v, "down") == 0)
			hc->start_up = 0;
		else
			cfg_error(&ps->cf, "check_start: \"%s\" is not up or "
			    "down", v);
		break;
	case K_PASSIVE:
		if ((b = cfg_bool(v)) == -1)
			cfg_error(&ps->cf, "passive: \"%s\" is not yes or no",
			    v);
		else
			hc->passive = (uint8_t)b;
		break;
	case K_DOWN_FLOWS:
		if (strcasecmp(v, "keep") == 0)
			hc->down_flows = HC_KEEP;
		else if (strcasecmp(v, "reset") == 0)
			hc->down_flows = HC_RESET;
		else
			cfg_error(&ps->cf, "down_flows: \"%s\" is not keep or "
			    "reset", v);
		break;
	case K_NOSERVER:
		if (strcasecmp(v, "reset") == 0)
			hc->noserver = HC_NS_RESET;
		else if (strcasecmp(v, "icmp") == 0)
			hc->noserver = HC_NS_ICMP;
		else if (strcasecmp(v, "drop") == 0)
			hc->noserver = HC_NS_DROP;
		else
			cfg_error(&ps->cf, "noserver: \"%s\" is not reset, icmp "
			    "or drop", v);
		break;
	default:
		break;
	}
}

/* What needs several health keys of a service at once. */
static int
check_health(struct parse *ps, struct svcspec *sp)
{
	struct cfgfile	*cf = &ps->cf;
	const struct hcconf *hc = &sp->hc;
	unsigned	 errors = cf->errors, eof = cf->line;
	unsigned	 l;

	/* The line to blame: the block's own, or the default's. */
#define HLINE(k)	(sp->seen[k] ? sp->seen[k] : ps->spec[0].seen[k])
#define OWNLINE(k)	(sp->seen[k])
	if (hc->type != HC_NONE && hc->timeout_ms > hc->interval_ms) {
		l = HLINE(K_CHECK_TIMEOUT);
		cf->line = l ? l : HLINE(K_CHECK_INTERVAL);
		cfg_error(cf, "check_timeout (%u ms) is longer than "
		    "check_interval (%u ms)", hc->timeout_ms, hc->interval_ms);
	}
	if (hc->type != HC_HTTP) {
		static const enum key httpkeys[] = { K_CHECK_PATH, K_CHECK_HOST,
		    K_CHECK_STATUS, K_CHECK_BODY };
		size_t	 i;

		for (i = 0; i < sizeof(httpkeys) / sizeof(httpkeys[0]); i++)
			if ((l = OWNLINE(httpkeys[i])) != 0) {
				cf->line = l;
				cfg_error(cf, "%s is for \"check = http\", but "
				    "the check is %s", keys_name(httpkeys[i]),
				    hc_type_name(hc->type));
			}
	}
	if (hc->type == HC_ICMP && (l = OWNLINE(K_CHECK_PORT)) != 0) {
		cf->line = l;
		cfg_error(cf, "check_port: ICMP echo has no port");
	}
#undef HLINE
#undef OWNLINE
	cf->line = eof;
	return (cf->errors == errors ? 0 : -1);
}

static void
parse_global_key(struct parse *ps, enum key key, const char *kname, char *v)
{
	struct config	*conf = ps->conf;
	unsigned long	 n;
	int		 b;

	if (ps->cur != &ps->spec[0]) {
		cfg_error(&ps->cf, "%s is a global key: put it before the "
		    "first \"service =\" line", kname);
		return;
	}
	if (ps->seen[key] != 0) {
		cfg_error(&ps->cf, "%s given twice (first on line %u)", kname,
		    ps->seen[key]);
		return;
	}
	ps->seen[key] = ps->cf.line;

	switch (key) {
	case K_VERBOSEMODE:
		/*
		 * yes or no, or the PLB levels: 0 everything, 1 information,
		 * 2 warnings, 3 fatal errors only.
		 */
		if (cfg_uint(v, 0, 3, &n) == 0) {
			static const int lv[] = { 2, 1, -1, -2 };

			conf->verbose = lv[n];
			break;
		}
		if ((b = cfg_bool(v)) == -1)
			cfg_error(&ps->cf, "verbosemode: \"%s\" is not yes, no "
			    "or a level 0 (everything) .. 3 (fatal errors "
			    "only)", v);
		else
			conf->verbose = b;
		break;
	case K_OFFLOAD:
		if ((b = cfg_bool(v)) == -1)
			cfg_error(&ps->cf, "offload: \"%s\" is not yes or no",
			    v);
		else
			conf->offload = b;
		break;
	case K_OFFLOAD_SALT:
		if (cfg_uint(v, 0, UINT32_MAX, &n) == -1)
			cfg_error(&ps->cf, "offload_salt: \"%s\" is not "
			    "0..4294967295", v);
		else
			conf->offload_salt = (uint32_t)n;
		break;
	case K_DAEMON:
	case K_TRANSPARENT:
	case K_FAILOPEN:
		if ((b = cfg_bool(v)) == -1) {
			cfg_error(&ps->cf, "%s: \"%s\" is not yes or no", kname,
			    v);
			break;
		}
		if (key == K_VERBOSEMODE)
			conf->verbose = b;
		else if (key == K_DAEMON)
			conf->daemon = b;
		else if (key == K_TRANSPARENT) {
			conf->transparent = b;
			if (!b)
				cfg_error(&ps->cf, "transparent_proxy: loadd "
				    "only works transparently; remove the key "
				    "or say yes");
		} else
			conf->failopen = b;
		break;
	case K_QUEUE:
		if (cfg_uint(v, 0, 65535, &n) == -1)
			cfg_error(&ps->cf, "%s: \"%s\" is not 0..65535", kname,
			    v);
		else
			conf->queue = (int)n;
		break;
	case K_MAXFLOWS:
		if (cfg_uint(v, 1, LOADD_MAXFLOWS_LIMIT, &n) == -1)
			cfg_error(&ps->cf, "maxflows: \"%s\" is not 1..%u", v,
			    LOADD_MAXFLOWS_LIMIT);
		else
			conf->maxflows = (uint32_t)n;
		break;
	case K_TO_EST:
	case K_TO_TRANS:
	case K_TO_UDP:
	case K_TO_UDP_UNREPLIED:
		if (cfg_uint(v, 1, 30 * 86400, &n) == -1) {
			cfg_error(&ps->cf, "%s: \"%s\" is not a number of "
			    "seconds (1..2592000)", kname, v);
			break;
		}
		if (key == K_TO_EST)
			conf->timeout[FC_ESTABLISHED] = (uint32_t)n;
		else if (key == K_TO_UDP)
			conf->timeout[FC_UDP] = (uint32_t)n;
		else if (key == K_TO_UDP_UNREPLIED)
			conf->timeout[FC_UDP_UNREPLIED] = (uint32_t)n;
		else
			conf->timeout[FC_HALFOPEN] =
			    conf->timeout[FC_CLOSING] = (uint32_t)n;
		break;
	case K_QUEUE_MAXLEN:
		if (cfg_uint(v, 1, 1u << 20, &n) == -1)
			cfg_error(&ps->cf, "queue_maxlen: \"%s\" is not "
			    "1..1048576", v);
		else
			conf->queue_maxlen = (uint32_t)n;
		break;
	case K_PIDFILE:
		if (*v != '/')
			cfg_error(&ps->cf, "pidfile: \"%s\" is not an absolute "
			    "path", v);
		else if (strlcpy(conf->pidfile, v, sizeof(conf->pidfile)) >=
		    sizeof(conf->pidfile))
			cfg_error(&ps->cf, "pidfile: path too long");
		break;
	case K_STICKY_CLIENTS:
		if (cfg_uint(v, 16, 1u << 24, &n) == -1)
			cfg_error(&ps->cf, "sticky_clients: \"%s\" is not "
			    "16..16777216", v);
		else
			conf->sticky_clients = (uint32_t)n;
		break;
	case K_UNKNOWN_FLOW:
		if (strcasecmp(v, "drop") == 0)
			conf->unknown_reset = 0;
		else if (strcasecmp(v, "reset") == 0)
			conf->unknown_reset = 1;
		else
			cfg_error(&ps->cf, "unknown_flow: \"%s\" is not drop or "
			    "reset", v);
		break;
	case K_RESET_RATE:
		if (cfg_uint(v, 1, 1000000, &n) == -1)
			cfg_error(&ps->cf, "reset_rate: \"%s\" is not "
			    "1..1000000", v);
		else
			conf->reset_rate = (uint32_t)n;
		break;
	case K_USER:
		if (strlcpy(conf->user, v, sizeof(conf->user)) >=
		    sizeof(conf->user) || strpbrk(v, " \t:/") != NULL)
			cfg_error(&ps->cf, "user: \"%s\" is not a user name", v);
		break;
	case K_CHROOT:
		if (*v != '/' || strlcpy(conf->chroot, v, sizeof(conf->chroot))
		    >= sizeof(conf->chroot))
			cfg_error(&ps->cf, "chroot: \"%s\" is not an absolute "
			    "path", v);
		break;
	case K_PRIVSEP:
		if ((b = cfg_bool(v)) == -1)
			cfg_error(&ps->cf, "privsep: \"%s\" is not yes or no", v);
		else
			conf->privsep = b;
		break;
	case K_CTLSOCKET:
		if (*v != '/')
			cfg_error(&ps->cf, "ctlsocket: \"%s\" is not an absolute "
			    "path", v);
		else if (strlen(v) >= 100 || strlcpy(conf->ctlsocket, v,
		    sizeof(conf->ctlsocket)) >= sizeof(conf->ctlsocket))
			cfg_error(&ps->cf, "ctlsocket: path too long (a UNIX "
			    "socket's path is under 100 bytes)");
		break;
	case K_CTLMODE:
	{
		char	*end;

		errno = 0;
		n = strtoul(v, &end, 8);
		if (errno != 0 || *end != '\0' || *v < '0' || *v > '7' ||
		    n > 0777 || (n & 0111) != 0)
			cfg_error(&ps->cf, "ctlsocket_mode: \"%s\" is not an "
			    "octal mode such as 0600 or 0660", v);
		else
			conf->ctlmode = (unsigned)n;
		break;
	}
	case K_METRICS:
	{
		uint16_t	 port;

		conf->metricsfamily = addr_parse(v, &conf->metricsaddr,
		    &port);
		if (conf->metricsfamily == 0 || port == 0) {
			cfg_error(&ps->cf, "metrics: \"%s\" is not address:port "
			    "(127.0.0.1:9670, say)", v);
			conf->metricsfamily = 0;
		} else
			conf->metricsport = port;
		break;
	}
	case K_KEYFILE:
		if (*v != '/')
			cfg_error(&ps->cf, "keyfile: \"%s\" is not an absolute "
			    "path", v);
		else if (strlcpy(conf->keyfile, v, sizeof(conf->keyfile)) >=
		    sizeof(conf->keyfile))
			cfg_error(&ps->cf, "keyfile: path too long");
		break;
	case K_REPORTPORT:
		if (cfg_uint(v, 1, 65535, &n) == -1)
			cfg_error(&ps->cf, "reportport: \"%s\" is not 1..65535",
			    v);
		else
			conf->reportport = (uint16_t)n;
		break;
	case K_REPORTADDRESS:
	{
		uint16_t	 port;

		conf->reportfamily = addr_parse(v, &conf->reportaddr, &port);
		if (conf->reportfamily == 0 || port != 0) {
			cfg_error(&ps->cf, "reportaddress: \"%s\" is not an IP "
			    "address", v);
			conf->reportfamily = 0;
		}
		break;
	}
	case K_AGENT_WINDOW:
		if (cfg_uint(v, 1, 3600, &n) == -1)
			cfg_error(&ps->cf, "agent_window: \"%s\" is not a number "
			    "of seconds (1..3600)", v);
		else
			conf->agent_window_ms = (uint32_t)n * 1000;
		break;
	case K_AGENT_STALE:
		if (cfg_uint(v, 1, 1000, &n) == -1)
			cfg_error(&ps->cf, "agent_stale: \"%s\" is not 1..1000",
			    v);
		else
			conf->agent_stale = (uint32_t)n;
		break;
	case K_FACILITY:
		if ((b = log_facility(v)) == -1)
			cfg_error(&ps->cf, "syslog_facility: unknown facility "
			    "\"%s\"", v);
		else
			conf->facility = b;
		break;
	default:
		break;
	}
}

/* Keys read by the privileged parent, when the text comes from it too. */
static const struct report_keys *given_keys;

int
config_load(struct config *conf, const char *path,
    const struct config_overrides *ov)
{
	return (config_load_text(conf, path, NULL, 0, NULL, ov));
}

int
config_load_text(struct config *conf, const char *path, const char *text,
    size_t len, const struct report_keys *rk,
    const struct config_overrides *ov)
{
	int	 rc;

	given_keys = rk;
	rc = config_read(conf, path, text, len, ov);
	given_keys = NULL;
	return (rc);
}

static int
config_read(struct config *conf, const char *path, const char *text,
    size_t len, const struct config_overrides *ov)
{
	struct parse	*ps;
	char		*k, *v;
	size_t		 i;
	unsigned	 j;
	int		 rc = -1;
	enum key	 key;

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

	if ((ps = calloc(1, sizeof(*ps))) == NULL ||
	    (ps->spec = calloc(MAXSPECS, sizeof(*ps->spec))) == NULL) {
		free(ps);
		cfg_report("%s: out of memory", path);
		return (-1);
	}
	ps->conf = conf;
	ps->proto = PROTO_TCP;
	hcconf_default(&ps->spec[0].hc);
	ps->nspec = 1;
	ps->cur = &ps->spec[0];
	if ((text != NULL ? cfg_open_mem(&ps->cf, path, text, len) :
	    cfg_open(&ps->cf, path)) == -1)
		goto done;

	while (cfg_next(&ps->cf, &k, &v)) {
		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (strcasecmp(k, keys[i].name) == 0)
				break;
		if (i == sizeof(keys) / sizeof(keys[0])) {
			cfg_error(&ps->cf, "unknown key \"%s\"", k);
			continue;
		}
		key = keys[i].key;
		if (*v == '\0') {
			cfg_error(&ps->cf, "%s: missing value", keys[i].name);
			continue;
		}
		if (key == K_SERVICE)
			new_service(ps, v);
		else if (SERVICE_KEY(key))
			parse_service_key(ps, key, keys[i].name, v);
		else
			parse_global_key(ps, key, keys[i].name, v);
	}

	if (ov != NULL) {
		if (ov->queue != -1)
			conf->queue = ov->queue;
		if (ov->ctlsocket != NULL)
			strlcpy(conf->ctlsocket, ov->ctlsocket,
			    sizeof(conf->ctlsocket));
		if (ov->method != NULL)
			strlcpy(ps->method, ov->method->name,
			    sizeof(ps->method));
		conf->verbose += ov->verbose;
		conf->daemon |= ov->daemon;
	}
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

static const char *
spec_name(const struct svcspec *sp, char *buf, size_t len)
{
	if (sp->line == 0)
		return ("");
	snprintf(buf, len, "service \"%s\": ", sp->name);
	return (buf);
}

/*
 * The bitmask method takes its servers as one network, "10.0.1.0/29", and
 * every address of it is a server (pf does the same: the client's host
 * bits are grafted onto the network).  Anything else is an error.
 */
static int
expand_bitmask(struct parse *ps, struct svcspec *sp)
{
	struct cfgfile	*cf = &ps->cf;
	const char	*m = sp->method[0] ? sp->method : ps->method;
	int		 bitmask = m[0] != '\0' &&
			    sched_find(m) == sched_find("bitmask");
	struct srvspec	 net, *s;
	unsigned	 i, hostbits, n, maxpfx;
	uint32_t	 low, mask;

	for (i = 0; i < sp->nsrv; i++)
		if (sp->srv[i].prefix != 0)
			break;
	if (i == sp->nsrv) {
		if (bitmask) {
			cf->line = sp->seen[K_SERVERS];
			cfg_error(cf, "servers: the bitmask method needs a "
			    "network, as \"servers = 10.0.1.0/29\"");
			return (-1);
		}
		return (0);
	}
	cf->line = sp->srv[i].line;
	if (!bitmask) {
		cfg_error(cf, "servers: a network is only for "
		    "\"balancingmode = bitmask\"");
		return (-1);
	}
	if (sp->nsrv != 1) {
		cfg_error(cf, "servers: the bitmask method takes one network "
		    "and nothing else");
		return (-1);
	}
	net = sp->srv[0];
	maxpfx = net.family == 4 ? 32 : 128;
	if (net.prefix > maxpfx || maxpfx - net.prefix > BITMASK_MAXHOSTBITS) {
		cfg_error(cf, "servers: a bitmask network has %u to %u bits of "
		    "prefix (at most %d servers)", maxpfx - BITMASK_MAXHOSTBITS,
		    maxpfx, 1 << BITMASK_MAXHOSTBITS);
		return (-1);
	}
	hostbits = maxpfx - net.prefix;
	n = 1u << hostbits;
	mask = n - 1;
	low = ntohl(net.addr.w[net.family == 4 ? 0 : 3]);
	if (low & mask) {
		cfg_error(cf, "servers: %s/%u is not a network: host bits are "
		    "set", addr_ntop(net.family, &net.addr, (char [ADDR_STRLEN]){
		    0 }, ADDR_STRLEN), net.prefix);
		return (-1);
	}
	if (n > sp->srvcap) {
		if ((s = reallocarray(sp->srv, n, sizeof(*s))) == NULL) {
			cfg_error(cf, "out of memory");
			return (-1);
		}
		sp->srv = s;
		sp->srvcap = n;
	}
	for (i = 0; i < n; i++) {
		s = &sp->srv[i];
		*s = net;
		s->prefix = 0;
		s->addr.w[net.family == 4 ? 0 : 3] = htonl(low | i);
	}
	sp->nsrv = n;
	return (0);
}

/* Checks one service block on its own. */
static int
check_spec(struct parse *ps, struct svcspec *sp)
{
	struct cfgfile	*cf = &ps->cf;
	char		 a[ADDR_STRLEN], nb[SVC_LABELLEN + 16];
	const char	*sn = spec_name(sp, nb, sizeof(nb));
	unsigned	 i, j, errors = cf->errors, eof = cf->line;
	int		 explicit_port = 0;

	if (sp->line == 0) {
		cf->line = eof;
		if (sp->vipfamily == 0)
			cfg_error(cf, "end of file: no virtual address: set "
			    "\"ipaliasing = <address>\"");
		if (sp->nports == 0)
			cfg_error(cf, "end of file: no ports: set \"ports = "
			    "<port>, ...\"");
		if (sp->nsrv == 0)
			cfg_error(cf, "end of file: no real servers: set "
			    "\"servers = <address>, ...\"");
	} else {
		cf->line = sp->line;
		if (sp->vipfamily == 0)
			cfg_error(cf, "%sno virtual address (ipaliasing)", sn);
		if (sp->nports == 0)
			cfg_error(cf, "%sno ports", sn);
		if (sp->nsrv == 0)
			cfg_error(cf, "%sno real servers", sn);
	}
	if (cf->errors != errors)
		goto out;
	if (check_health(ps, sp) == -1 || expand_bitmask(ps, sp) == -1)
		goto out;

	for (i = 0; i < sp->nsrv; i++) {
		struct srvspec *s = &sp->srv[i];
		uint16_t	 port = s->port;

		/* "10.0.1.11" and "10.0.1.11:80" are one server on port 80. */
		if (port == 0 && sp->nports == 1)
			port = sp->ports[0];

		cf->line = s->line;
		addr_ntop(s->family, &s->addr, a, sizeof(a));
		if (s->family != sp->vipfamily)
			cfg_error(cf, "servers: %s is IPv%d but the virtual "
			    "address is IPv%d", a, s->family, sp->vipfamily);
		if (s->port != 0)
			explicit_port = 1;
		for (j = 0; j < i; j++)
			if (addr_eq(&sp->srv[j].addr, &s->addr) &&
			    (sp->srv[j].port ? sp->srv[j].port :
			    (sp->nports == 1 ? sp->ports[0] : 0)) == port &&
			    sp->srv[j].family == s->family)
				cfg_error(cf, "servers: duplicate server %s "
				    "(first on line %u)", a, sp->srv[j].line);
	}
	if (explicit_port && sp->nports > 1) {
		cf->line = sp->seen[K_SERVERS];
		cfg_error(cf, "servers: a server port (address:port) needs "
		    "exactly one balanced port, but ports lists %u",
		    sp->nports);
	}
out:
	cf->line = eof;
	return (cf->errors == errors ? 0 : -1);
}

/*
 * offload = yes: loadd sees a connection's first packets only (the rules
 * queue what conntrack calls NEW), the kernel the rest.  What needs more
 * than the first packets cannot work, and says so: passive health (the
 * servers' answers), resetting a dead server's connections (their
 * sequence numbers), and the methods that measure answer times or
 * traffic.
 */
static void
check_offload(struct parse *ps, const struct svcspec *sp,
    const struct service *svc, struct hcconf *hc)
{
	struct cfgfile	*cf = &ps->cf;
	const char	*m = svc->method->name;
	unsigned	 line = sp->line ? sp->line : cf->line;

	if (hc->passive && (sp->seen[K_PASSIVE] ||
	    ps->spec[0].seen[K_PASSIVE])) {
		cf->line = sp->seen[K_PASSIVE] ? sp->seen[K_PASSIVE] :
		    ps->spec[0].seen[K_PASSIVE];
		cfg_error(cf, "passive: with offload = yes loadd never sees "
		    "the servers' answers; say passive = no (active checks "
		    "still run)");
	}
	hc->passive = 0;
	if (hc->down_flows == HC_RESET) {
		cf->line = sp->seen[K_DOWN_FLOWS] ? sp->seen[K_DOWN_FLOWS] :
		    ps->spec[0].seen[K_DOWN_FLOWS];
		cfg_error(cf, "down_flows = reset: with offload = yes the "
		    "kernel carries established connections and loadd knows "
		    "no sequence numbers to reset them with");
	}
	if (strcmp(m, "responsetime") == 0 || strcmp(m, "leasttraffic") == 0 ||
	    strcmp(m, "intlloadsharing") == 0) {
		cf->line = sp->seen[K_BALANCINGMODE] ?
		    sp->seen[K_BALANCINGMODE] :
		    ps->spec[0].seen[K_BALANCINGMODE] ?
		    ps->spec[0].seen[K_BALANCINGMODE] : line;
		cfg_error(cf, "service %s: method %s measures what only the "
		    "kernel sees with offload = yes (answer times, traffic)",
		    svc->name, m);
	}
}

/*
 * Each server's mark: a hash of what the server is (its service's address,
 * port and protocol, its own address and port), so that a reload or a
 * restart keeps every mark and the DNAT rules of loadd -R stay right; the
 * top byte 0x4c says loadd.  Two servers with one mark would be one to the
 * rules: offload_salt chooses other marks.
 */
static void
offload_marks(struct parse *ps)
{
	struct pool	*pool = &ps->conf->pool;
	struct server	*s, *o;
	struct service	*v;
	unsigned	 i, j, k;
	uint32_t	 h;

	/*
	 * A full queue would let a first packet through unmarked: conntrack
	 * would then carry the whole connection untranslated.
	 */
	if (ps->conf->failopen) {
		ps->cf.line = ps->seen[K_FAILOPEN];
		cfg_error(&ps->cf, "failopen: with offload = yes a first "
		    "packet let through unmarked takes its whole connection "
		    "untranslated; say failopen = no");
	}
	for (i = 0; i < pool->nsrv; i++) {
		s = &pool->srv[i];
		v = &pool->svc[s->svc];
		h = hash_mix(0x4c6f6164u, ps->conf->offload_salt);
		for (k = 0; k < 4; k++)
			h = hash_mix(h, v->vip.w[k]);
		h = hash_mix(h, (uint32_t)v->port << 16 | v->proto);
		for (k = 0; k < 4; k++)
			h = hash_mix(h, s->addr.w[k]);
		h = hash_mix(h, s->port);
		s->mark = OFFLOAD_MARK_TAG | (hash_final(h) &
		    ~OFFLOAD_MARK_MASK);
		for (j = 0; j < i; j++) {
			o = &pool->srv[j];
			if (o->mark != s->mark)
				continue;
			ps->cf.line = s->line;
			cfg_error(&ps->cf, "offload: servers %s (%s) and %s (%s, "
			    "line %u) would share the mark 0x%08x; set "
			    "offload_salt to any other number", s->name,
			    v->name, o->name, pool->svc[o->svc].name, o->line,
			    s->mark);
		}
	}
}

/* Checks what needs every service, and builds services and servers. */
static int
build(struct parse *ps)
{
	struct config	*conf = ps->conf;
	struct pool	*pool = &conf->pool;
	struct cfgfile	*cf = &ps->cf;
	struct svcspec	*sp;
	struct service	*svc;
	struct server	*srv;
	char		 a[ADDR_STRLEN];
	unsigned	 first = 1, i, j, p, nsvc = 0, nsrv = 0, eof = cf->line;

	if (ps->method[0] != '\0')
		conf->method = sched_find(ps->method);

	/* The implicit service exists if the top of the file sets it up. */
	sp = &ps->spec[0];
	if (sp->seen[K_IPALIASING] || sp->seen[K_PORTS] ||
	    sp->seen[K_SERVERS] || ps->nspec == 1)
		first = 0;
	/* The defaults at the top are checked even if no service uses them. */
	if (first == 1)
		(void)check_health(ps, &ps->spec[0]);
	for (i = first; i < ps->nspec; i++) {
		sp = &ps->spec[i];
		if (check_spec(ps, sp) == -1)
			continue;
		nsvc += sp->nports;
		nsrv += sp->nports * sp->nsrv;
	}
	if (cf->errors != 0)
		return (-1);
	if (nsvc > POOL_MAXSERVICES || nsrv > POOL_MAXSERVERS) {
		cfg_error(cf, "end of file: %u services with %u servers in "
		    "all; at most %d and %d", nsvc, nsrv, POOL_MAXSERVICES,
		    POOL_MAXSERVERS);
		return (-1);
	}

	pool->svc = calloc(nsvc, sizeof(*pool->svc));
	pool->srv = calloc(nsrv, sizeof(*pool->srv));
	pool->hcs = calloc(nsvc, sizeof(*pool->hcs));
	if (pool->svc == NULL || pool->srv == NULL || pool->hcs == NULL) {
		cfg_report("%s: out of memory", cf->path);
		return (-1);
	}
	for (i = first; i < ps->nspec; i++) {
		sp = &ps->spec[i];
		for (p = 0; p < sp->nports; p++) {
			svc = &pool->svc[pool->nsvc];
			svc->vip = sp->vip;
			svc->family = (uint8_t)sp->vipfamily;
			svc->port = sp->ports[p];
			svc->proto = sp->proto ? sp->proto : ps->proto;
			svc->method = sp->method[0] ? sched_find(sp->method) :
			    conf->method;
			pool->hcs[pool->nsvc] = sp->hc;
			svc->hc = &pool->hcs[pool->nsvc];
			/*
			 * A UDP service says nothing of TCP: unless a check
			 * is given, its servers are pinged.
			 */
			if (svc->proto == PROTO_UDP && !sp->seen[K_CHECK] &&
			    !ps->spec[0].seen[K_CHECK])
				pool->hcs[pool->nsvc].type = HC_ICMP;

			svc->used = 1;
			svc->nsrv = (uint16_t)sp->nsrv;
			if ((svc->members = calloc(sp->nsrv + 1,
			    sizeof(*svc->members))) == NULL) {
				cfg_report("%s: out of memory", cf->path);
				return (-1);
			}
			svc->specline = sp->line;
			svc->hashkey = sp->seen[K_HASHKEY] && sp->line ?
			    sp->hashkey : ps->hashkey;
			svc->maglev_size = sp->maglev_size ? sp->maglev_size :
			    ps->maglev_size;
			svc->sticky = sp->seen[K_STICKY] && sp->line ?
			    sp->sticky : ps->sticky;
			if (svc->sticky)
				conf->sticky_any = 1;
			strlcpy(svc->label, sp->line ? sp->name : "default",
			    sizeof(svc->label));
			addr_ntop(svc->family, &svc->vip, a, sizeof(a));
			snprintf(svc->name, sizeof(svc->name),
			    svc->family == 6 ? "[%s]:%u/%s" : "%s:%u/%s", a,
			    svc->port, svc->proto == PROTO_TCP ? "tcp" : "udp");
			if (conf->offload)
				check_offload(ps, sp, svc,
				    &pool->hcs[pool->nsvc]);
			for (j = 0; j < sp->nsrv; j++) {
				svc->members[j] = (uint16_t)pool->nsrv;
				srv = &pool->srv[pool->nsrv++];
				srv->used = 1;
				srv->addr = sp->srv[j].addr;
				srv->family = sp->srv[j].family;
				srv->port = sp->srv[j].port ? sp->srv[j].port :
				    svc->port;
				srv->weight = sp->srv[j].weight;
				srv->cweight = sp->srv[j].weight;
				srv->backup = sp->srv[j].backup;
				srv->svc = (uint16_t)pool->nsvc;
				srv->healthy = sp->hc.start_up ||
				    sp->hc.type == HC_NONE;
				srv->admin = sp->srv[j].disabled ?
				    SRV_DISABLED : SRV_UP;
				srv->cfgdisabled = sp->srv[j].disabled;
				srv->state = srv->admin != SRV_UP ?
				    srv->admin : srv->healthy ? SRV_UP :
				    SRV_DOWN;
				srv->reason = sp->srv[j].disabled ?
				    SR_OPERATOR : SR_START;
				srv->line = sp->srv[j].line;
				addr_ntop(srv->family, &srv->addr, a, sizeof(a));
				snprintf(srv->name, sizeof(srv->name),
				    srv->family == 6 ? "[%s]:%u" : "%s:%u", a,
				    srv->port);
			}
			pool->nsvc++;
		}
	}

	/*
	 * Across services: a virtual address, port and protocol is one
	 * service; a server address, port and protocol belongs to one service
	 * (its replies are rewritten by that mapping alone); no server is a
	 * virtual address.
	 */
	for (i = 0; i < pool->nsvc; i++) {
		svc = &pool->svc[i];
		for (j = 0; j < i; j++)
			if (pool->svc[j].proto == svc->proto &&
			    pool->svc[j].port == svc->port &&
			    pool->svc[j].family == svc->family &&
			    addr_eq(&pool->svc[j].vip, &svc->vip)) {
				cf->line = svc->specline ? svc->specline : eof;
				cfg_error(cf, "%s is balanced twice (services "
				    "\"%s\" and \"%s\")", svc->name,
				    pool->svc[j].label, svc->label);
				break;
			}
	}
	for (i = 0; i < pool->nsrv; i++) {
		srv = &pool->srv[i];
		svc = &pool->svc[srv->svc];
		for (j = 0; j < pool->nsvc; j++)
			if (pool->svc[j].family == srv->family &&
			    addr_eq(&pool->svc[j].vip, &srv->addr)) {
				cf->line = srv->line;
				cfg_error(cf, "servers: %s is a virtual address",
				    srv->name);
				break;
			}
		for (j = 0; j < i; j++) {
			const struct server *o = &pool->srv[j];

			if (o->svc != srv->svc && o->port == srv->port &&
			    o->family == srv->family &&
			    pool->svc[o->svc].proto == svc->proto &&
			    addr_eq(&o->addr, &srv->addr)) {
				cf->line = srv->line;
				cfg_error(cf, "servers: %s/%s already serves "
				    "%s (line %u): its replies could not be "
				    "told apart", srv->name, svc->proto ==
				    PROTO_TCP ? "tcp" : "udp",
				    pool->svc[o->svc].name, o->line);
				break;
			}
		}
	}
	cf->line = eof;
	if (conf->offload)
		offload_marks(ps);
	/*
	 * loadd hears when the kernel forgets an offloaded flow; should the
	 * event be lost, the entry goes after conntrack's own default for an
	 * established connection (5 days) and an hour, or loadd's timeouts
	 * if longer.  It is evicted for newcomers before that if need be.
	 */
	conf->timeout[FC_OFFLOADED] = 5 * 86400 + 3600;
	for (i = 0; i < FC_N; i++)
		if (i != FC_OFFLOADED &&
		    conf->timeout[i] > conf->timeout[FC_OFFLOADED])
			conf->timeout[FC_OFFLOADED] = conf->timeout[i];
	if (cf->errors != 0)
		return (-1);
	/* The report keys, checked as the configuration is. */
	if (conf->keyfile[0] == '\0' && (ps->seen[K_REPORTPORT] ||
	    ps->seen[K_REPORTADDRESS])) {
		cf->line = ps->seen[K_REPORTPORT] ? ps->seen[K_REPORTPORT] :
		    ps->seen[K_REPORTADDRESS];
		cfg_error(cf, "agent reports need \"keyfile = PATH\": loadd "
		    "takes no report it cannot authenticate");
		cf->line = eof;
		return (-1);
	}
	if (conf->keyfile[0] != '\0') {
		if (report_init() == -1) {
			cfg_report("%s: libsodium cannot start", cf->path);
			return (-1);
		}
		if (given_keys != NULL)
			conf->keys = *given_keys;
		else if (report_keys_load(&conf->keys, conf->keyfile) == -1) {
			cf->line = ps->seen[K_KEYFILE];
			cfg_error(cf, "keyfile: %s not loaded", conf->keyfile);
			cf->line = eof;
			return (-1);
		}
	}
	for (i = 0; i < pool->nsvc; i++) {
		svc = &pool->svc[i];
		svc->use_backup = 1;
		for (j = 0; j < svc->nsrv; j++)
			if (!SVC_SRV(pool, svc, j)->backup &&
			    SVC_SRV(pool, svc, j)->state == SRV_UP &&
			    SVC_SRV(pool, svc, j)->weight > 0)
				svc->use_backup = 0;
	}
	if (pool_index(pool, arc4random()) == -1 || sched_setup(pool) == -1) {
		cfg_report("%s: out of memory", cf->path);
		return (-1);
	}
	return (0);
}

void
config_free(struct config *conf)
{
	report_keys_clear(&conf->keys);
	pool_free(&conf->pool);
}
