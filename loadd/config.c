/*
 * Reading loadd.conf.  The file is read in full first; services and
 * servers are built at the end, when every key is known, and every error
 * found on the way is reported (file:line: what is wrong) before giving up.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include "compat.h"

#include "cfgfile.h"
#include "config.h"
#include "log.h"
#include "pkt.h"
#include "sched.h"

#define MAXPORTS	64

struct srvspec {
	union addr	 addr;
	uint16_t	 port;		/* 0: the service's port */
	uint16_t	 weight;
	uint8_t		 family;
	unsigned	 line;
};

struct parse {
	struct cfgfile	 cf;
	struct config	*conf;
	unsigned	 seen[32];	/* line where each key was first seen */

	union addr	 vip;
	int		 vipfamily;
	uint16_t	 ports[MAXPORTS];
	unsigned	 nports;
	uint8_t		 proto;
	struct srvspec	*srv;
	unsigned	 nsrv;
	unsigned	 srvcap;
	unsigned	 method_line;
	char		 method[64];
};

static int	 parse_uint(const char *, unsigned long, unsigned long,
		    unsigned long *);
static void	 parse_servers(struct parse *, char *);
static void	 parse_ports(struct parse *, char *);
static int	 build(struct parse *);

enum key {
	K_SERVERS, K_IPALIASING, K_PORTS, K_BALANCINGMODE, K_VERBOSEMODE,
	K_DAEMON, K_TRANSPARENT, K_PROTOCOL, K_QUEUE, K_DIVERTPORT,
	K_MAXFLOWS, K_TO_EST, K_TO_TRANS, K_TO_UDP, K_QUEUE_MAXLEN,
	K_FAILOPEN, K_PIDFILE, K_FACILITY, K_NKEYS
};

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
	{ "protocol",			K_PROTOCOL },
	{ "queue",			K_QUEUE },
	{ "divertport",			K_DIVERTPORT },
	{ "maxflows",			K_MAXFLOWS },
	{ "timeout_tcp_established",	K_TO_EST },
	{ "timeout_tcp_transitory",	K_TO_TRANS },
	{ "timeout_udp",		K_TO_UDP },
	{ "queue_maxlen",		K_QUEUE_MAXLEN },
	{ "failopen",			K_FAILOPEN },
	{ "pidfile",			K_PIDFILE },
	{ "syslog_facility",		K_FACILITY },
};

static int
parse_uint(const char *s, unsigned long min, unsigned long max,
    unsigned long *v)
{
	char	*end;

	if (*s < '0' || *s > '9')
		return (-1);
	errno = 0;
	*v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || *v < min || *v > max)
		return (-1);
	return (0);
}

/* "servers = 10.0.1.11, 10.0.1.12:8080 weight 5, [2001:db8::1]:80" */
static void
parse_servers(struct parse *ps, char *v)
{
	char		*item, *w, *save;
	struct srvspec	*s;
	unsigned long	 weight;
	void		*n;

	while ((item = cfg_list_next(&v)) != NULL) {
		if (*item == '\0') {
			cfg_error(&ps->cf, "servers: empty entry in list");
			continue;
		}
		if (ps->nsrv == ps->srvcap) {
			ps->srvcap = ps->srvcap ? ps->srvcap * 2 : 16;
			if ((n = reallocarray(ps->srv, ps->srvcap,
			    sizeof(*ps->srv))) == NULL) {
				cfg_error(&ps->cf, "out of memory");
				return;
			}
			ps->srv = n;
		}
		s = &ps->srv[ps->nsrv];
		memset(s, 0, sizeof(*s));
		s->weight = 1;
		s->line = ps->cf.line;
		w = strtok_r(item, " \t", &save);
		if ((s->family = (uint8_t)addr_parse(w, &s->addr, &s->port))
		    == 0) {
			cfg_error(&ps->cf, "servers: \"%s\" is not an address "
			    "or address:port", w);
			continue;
		}
		if ((w = strtok_r(NULL, " \t", &save)) != NULL) {
			if (strcmp(w, "weight") != 0) {
				cfg_error(&ps->cf, "servers: unexpected \"%s\" "
				    "after an address (only \"weight N\")", w);
				continue;
			}
			w = strtok_r(NULL, " \t", &save);
			if (w == NULL || parse_uint(w, 0, 65535, &weight) ==
			    -1) {
				cfg_error(&ps->cf, "servers: weight must be "
				    "0..65535");
				continue;
			}
			s->weight = (uint16_t)weight;
			if ((w = strtok_r(NULL, " \t", &save)) != NULL) {
				cfg_error(&ps->cf, "servers: unexpected \"%s\"",
				    w);
				continue;
			}
		}
		if (ps->nsrv == POOL_MAXSERVERS) {
			cfg_error(&ps->cf, "servers: more than %d servers",
			    POOL_MAXSERVERS);
			return;
		}
		ps->nsrv++;
	}
}

/* "ports = 80, 443" */
static void
parse_ports(struct parse *ps, char *v)
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
		for (i = 0; i < ps->nports; i++)
			if (ps->ports[i] == port)
				break;
		if (i < ps->nports) {
			cfg_error(&ps->cf, "ports: port %u given twice", port);
			continue;
		}
		if (ps->nports == MAXPORTS) {
			cfg_error(&ps->cf, "ports: more than %d ports",
			    MAXPORTS);
			return;
		}
		ps->ports[ps->nports++] = port;
	}
}

int
config_load(struct config *conf, const char *path,
    const struct config_overrides *ov)
{
	struct parse	*ps;
	char		*k, *v;
	size_t		 i;
	unsigned long	 n;
	int		 b, rc = -1;
	enum key	 key;

	memset(conf, 0, sizeof(*conf));
	conf->path = path;
	conf->queue = LOADD_QUEUE;
	conf->maxflows = LOADD_MAXFLOWS;
	conf->queue_maxlen = LOADD_QUEUE_MAXLEN;
	conf->timeout[FC_HALFOPEN] = 240;
	conf->timeout[FC_CLOSING] = 240;
	conf->timeout[FC_ESTABLISHED] = 7440;
	conf->timeout[FC_UDP] = 300;
	conf->facility = LOG_DAEMON;
	conf->method = sched_default();

	if ((ps = calloc(1, sizeof(*ps))) == NULL) {
		cfg_report("%s: out of memory", path);
		return (-1);
	}
	ps->conf = conf;
	ps->proto = PROTO_TCP;
	if (cfg_open(&ps->cf, path) == -1)
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
		if (ps->seen[key] != 0) {
			cfg_error(&ps->cf, "%s given twice (first on line %u)",
			    keys[i].name, ps->seen[key]);
			continue;
		}
		ps->seen[key] = ps->cf.line;
		if (*v == '\0') {
			cfg_error(&ps->cf, "%s: missing value", keys[i].name);
			continue;
		}

		switch (key) {
		case K_SERVERS:
			parse_servers(ps, v);
			break;
		case K_IPALIASING:
		{
			uint16_t port;

			ps->vipfamily = addr_parse(v, &ps->vip, &port);
			if (ps->vipfamily == 0 || port != 0) {
				cfg_error(&ps->cf, "ipaliasing: \"%s\" is not "
				    "an IP address", v);
				ps->vipfamily = 0;
			}
			break;
		}
		case K_PORTS:
			parse_ports(ps, v);
			break;
		case K_BALANCINGMODE:
			strlcpy(ps->method, v, sizeof(ps->method));
			ps->method_line = ps->cf.line;
			if (sched_find(v) == NULL)
				cfg_error(&ps->cf, "balancingmode: unknown "
				    "method \"%s\" (loadd -h lists them)", v);
			break;
		case K_VERBOSEMODE:
		case K_DAEMON:
		case K_TRANSPARENT:
		case K_FAILOPEN:
			if ((b = cfg_bool(v)) == -1) {
				cfg_error(&ps->cf, "%s: \"%s\" is not yes or "
				    "no", keys[i].name, v);
				break;
			}
			if (key == K_VERBOSEMODE)
				conf->verbose = b;
			else if (key == K_DAEMON)
				conf->daemon = b;
			else if (key == K_TRANSPARENT) {
				conf->transparent = b;
				if (!b)
					cfg_error(&ps->cf, "transparent_proxy: "
					    "loadd only works transparently; "
					    "remove the key or say yes");
			} else
				conf->failopen = b;
			break;
		case K_PROTOCOL:
			if (strcasecmp(v, "tcp") == 0)
				ps->proto = PROTO_TCP;
			else if (strcasecmp(v, "udp") == 0)
				ps->proto = PROTO_UDP;
			else
				cfg_error(&ps->cf, "protocol: \"%s\" is not "
				    "tcp or udp", v);
			break;
		case K_QUEUE:
		case K_DIVERTPORT:
			if (parse_uint(v, 0, 65535, &n) == -1)
				cfg_error(&ps->cf, "%s: \"%s\" is not 0..65535",
				    keys[i].name, v);
			else
				conf->queue = (int)n;
			break;
		case K_MAXFLOWS:
			if (parse_uint(v, 1, LOADD_MAXFLOWS_LIMIT, &n) == -1)
				cfg_error(&ps->cf, "maxflows: \"%s\" is not "
				    "1..%u", v, LOADD_MAXFLOWS_LIMIT);
			else
				conf->maxflows = (uint32_t)n;
			break;
		case K_TO_EST:
		case K_TO_TRANS:
		case K_TO_UDP:
			if (parse_uint(v, 1, 30 * 86400, &n) == -1) {
				cfg_error(&ps->cf, "%s: \"%s\" is not a number "
				    "of seconds (1..2592000)", keys[i].name, v);
				break;
			}
			if (key == K_TO_EST)
				conf->timeout[FC_ESTABLISHED] = (uint32_t)n;
			else if (key == K_TO_UDP)
				conf->timeout[FC_UDP] = (uint32_t)n;
			else
				conf->timeout[FC_HALFOPEN] =
				    conf->timeout[FC_CLOSING] = (uint32_t)n;
			break;
		case K_QUEUE_MAXLEN:
			if (parse_uint(v, 1, 1u << 20, &n) == -1)
				cfg_error(&ps->cf, "queue_maxlen: \"%s\" is not "
				    "1..1048576", v);
			else
				conf->queue_maxlen = (uint32_t)n;
			break;
		case K_PIDFILE:
			if (*v != '/')
				cfg_error(&ps->cf, "pidfile: \"%s\" is not an "
				    "absolute path", v);
			else if (strlcpy(conf->pidfile, v,
			    sizeof(conf->pidfile)) >= sizeof(conf->pidfile))
				cfg_error(&ps->cf, "pidfile: path too long");
			break;
		case K_FACILITY:
			if ((b = log_facility(v)) == -1)
				cfg_error(&ps->cf, "syslog_facility: unknown "
				    "facility \"%s\"", v);
			else
				conf->facility = b;
			break;
		case K_NKEYS:
			break;
		}
	}

	if (ov != NULL) {
		if (ov->queue != -1)
			conf->queue = ov->queue;
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
	free(ps->srv);
	free(ps);
	if (rc == -1)
		pool_free(&conf->pool);
	return (rc);
}

/* Checks what needs the whole file, and builds services and servers. */
static int
build(struct parse *ps)
{
	struct config	*conf = ps->conf;
	struct pool	*pool = &conf->pool;
	struct cfgfile	*cf = &ps->cf;
	struct service	*svc;
	struct server	*srv;
	char		 a[ADDR_STRLEN];
	unsigned	 i, j, p;
	int		 explicit_port = 0;

	if (ps->method[0] != '\0')
		conf->method = sched_find(ps->method);
	if (ps->vipfamily == 0)
		cfg_error(cf, "end of file: no virtual address: set "
		    "\"ipaliasing = <address>\"");
	if (ps->nports == 0)
		cfg_error(cf, "end of file: no ports: set \"ports = <port>, "
		    "...\"");
	if (ps->nsrv == 0)
		cfg_error(cf, "end of file: no real servers: set "
		    "\"servers = <address>, ...\"");
	if (cf->errors != 0)
		return (-1);

	for (i = 0; i < ps->nsrv; i++) {
		struct srvspec *s = &ps->srv[i];

		cf->line = s->line;
		addr_ntop(s->family, &s->addr, a, sizeof(a));
		if (s->family != ps->vipfamily)
			cfg_error(cf, "servers: %s is IPv%d but the virtual "
			    "address is IPv%d", a, s->family, ps->vipfamily);
		if (addr_eq(&s->addr, &ps->vip))
			cfg_error(cf, "servers: %s is the virtual address "
			    "itself", a);
		if (s->port != 0)
			explicit_port = 1;
		for (j = 0; j < i; j++)
			if (addr_eq(&ps->srv[j].addr, &s->addr) &&
			    ps->srv[j].port == s->port &&
			    ps->srv[j].family == s->family)
				cfg_error(cf, "servers: duplicate server %s "
				    "(first on line %u)", a, ps->srv[j].line);
	}
	if (explicit_port && ps->nports > 1) {
		cf->line = ps->seen[K_SERVERS];
		cfg_error(cf, "servers: a server port (address:port) needs "
		    "exactly one balanced port, but ports lists %u",
		    ps->nports);
	}
	if (cf->errors != 0)
		return (-1);

	pool->nsvc = ps->nports;
	pool->nsrv = ps->nports * ps->nsrv;
	if (pool->nsrv > POOL_MAXSERVERS) {
		cf->line = ps->seen[K_SERVERS];
		cfg_error(cf, "servers: %u ports times %u servers is more than "
		    "%d", ps->nports, ps->nsrv, POOL_MAXSERVERS);
		return (-1);
	}
	pool->svc = calloc(pool->nsvc, sizeof(*pool->svc));
	pool->srv = calloc(pool->nsrv, sizeof(*pool->srv));
	if (pool->svc == NULL || pool->srv == NULL) {
		cfg_report("%s: out of memory", cf->path);
		return (-1);
	}
	for (p = 0; p < ps->nports; p++) {
		svc = &pool->svc[p];
		svc->vip = ps->vip;
		svc->family = (uint8_t)ps->vipfamily;
		svc->port = ps->ports[p];
		svc->proto = ps->proto;
		svc->method = conf->method;
		svc->first = (uint16_t)(p * ps->nsrv);
		svc->nsrv = (uint16_t)ps->nsrv;
		addr_ntop(svc->family, &svc->vip, a, sizeof(a));
		snprintf(svc->name, sizeof(svc->name),
		    svc->family == 6 ? "[%s]:%u/%s" : "%s:%u/%s", a, svc->port,
		    svc->proto == PROTO_TCP ? "tcp" : "udp");
		for (i = 0; i < ps->nsrv; i++) {
			srv = &pool->srv[svc->first + i];
			srv->addr = ps->srv[i].addr;
			srv->family = ps->srv[i].family;
			srv->port = ps->srv[i].port ? ps->srv[i].port :
			    svc->port;
			srv->weight = ps->srv[i].weight;
			srv->svc = (uint16_t)p;
			srv->state = SRV_UP;
			addr_ntop(srv->family, &srv->addr, a, sizeof(a));
			snprintf(srv->name, sizeof(srv->name),
			    srv->family == 6 ? "[%s]:%u" : "%s:%u", a,
			    srv->port);
		}
	}
	if (pool_index(pool, arc4random()) == -1) {
		cfg_report("%s: out of memory", cf->path);
		return (-1);
	}
	return (0);
}

void
config_free(struct config *conf)
{
	pool_free(&conf->pool);
}
