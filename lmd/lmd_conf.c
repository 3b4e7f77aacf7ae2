/*
 * Reading lmd.conf: the original key loaddservers and what this lmd
 * adds.  Every error is reported as "file:line: what is wrong" before
 * giving up; see lmd.conf(5).
 */
#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include "cfgfile.h"
#include "compat.h"
#include "lmd.h"
#include "log.h"

#define MS_MIN_INTERVAL		100
#define MS_MAX_INTERVAL		3600000
#define MS_MAX_TIMEOUT		60000

enum key {
	K_LOADDSERVERS, K_KEYFILE, K_KEYID, K_INTERVAL, K_SERVICE, K_PROTOCOL,
	K_PORT, K_SOURCE, K_WEIGHT, K_DRAIN, K_CGROUP, K_PIDFILE, K_FACILITY,
	K_VERBOSE, K_CHECK, K_CHECK_URL, K_CHECK_STATUS, K_CHECK_ADDRESS,
	K_CHECK_COMMAND, K_CHECK_TIMEOUT, K_CHECK_INTERVAL, K_CHECK_USER,
	K_NKEYS
};

static const struct {
	const char	*name;
	enum key	 key;
} keys[] = {
	{ "loaddservers",	K_LOADDSERVERS },	/* the original key */
	{ "keyfile",		K_KEYFILE },
	{ "keyid",		K_KEYID },
	{ "interval",		K_INTERVAL },
	{ "service",		K_SERVICE },
	{ "protocol",		K_PROTOCOL },
	{ "port",		K_PORT },
	{ "source",		K_SOURCE },
	{ "weight",		K_WEIGHT },
	{ "drain",		K_DRAIN },
	{ "cgroup",		K_CGROUP },
	{ "pidfile",		K_PIDFILE },
	{ "syslog_facility",	K_FACILITY },
	{ "verbosemode",	K_VERBOSE },
	{ "check",		K_CHECK },
	{ "check_url",		K_CHECK_URL },
	{ "check_status",	K_CHECK_STATUS },
	{ "check_address",	K_CHECK_ADDRESS },
	{ "check_command",	K_CHECK_COMMAND },
	{ "check_timeout",	K_CHECK_TIMEOUT },
	{ "check_interval",	K_CHECK_INTERVAL },
	{ "check_user",		K_CHECK_USER },
};

/* Where report_keys_load()'s errors go: after "file:line: keyfile: ". */
static char	 keyfile_where[PATH_MAX + 16];

static void	 parse_loadd(struct cfgfile *, struct lmd_conf *, char *);
static int	 parse_url(struct lmd_conf *, const char *);
static void	 parse_key(struct cfgfile *, struct lmd_conf *, enum key,
		    char *);
static void	 keyfile_report(const char *);

/* "loaddservers = 10.0.0.1, 10.0.0.2:8671, [2001:db8::1]:8671" */
static void
parse_loadd(struct cfgfile *cf, struct lmd_conf *c, char *v)
{
	struct lmd_dest	*d;
	char		*item;

	while ((item = cfg_list_next(&v)) != NULL) {
		if (c->nloadd == LMD_MAXLOADD) {
			cfg_error(cf, "loaddservers: more than %d balancers",
			    LMD_MAXLOADD);
			return;
		}
		d = &c->loadd[c->nloadd];
		if ((d->family = addr_parse(item, &d->addr, &d->port)) == 0) {
			cfg_error(cf, "loaddservers: \"%s\" is not an address "
			    "or address:port", item);
			continue;
		}
		if (d->port == 0)
			d->port = REPORT_PORT;
		c->nloadd++;
	}
}

/*
 * "http://127.0.0.1:8080/health", "http://[::1]/": an address, not a
 * name, so that a check never waits for DNS.
 */
static int
parse_url(struct lmd_conf *c, const char *url)
{
	char		 hostport[ADDR_STRLEN + 8];
	const char	*p, *slash;
	size_t		 n;

	if (strncasecmp(url, "http://", 7) != 0)
		return (-1);
	p = url + 7;
	slash = strchr(p, '/');
	n = slash != NULL ? (size_t)(slash - p) : strlen(p);
	if (n == 0 || n >= sizeof(hostport))
		return (-1);
	memcpy(hostport, p, n);
	hostport[n] = '\0';
	if ((c->check_family = addr_parse(hostport, &c->check_addr,
	    &c->check_port)) == 0)
		return (-1);
	if (c->check_port == 0)
		c->check_port = 80;
	strlcpy(c->http_host, hostport, sizeof(c->http_host));
	if (strlcpy(c->http_path, slash != NULL ? slash : "/",
	    sizeof(c->http_path)) >= sizeof(c->http_path))
		return (-1);
	/* What goes into the request line must not end it early. */
	for (p = c->http_path; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return (-1);
	strlcpy(c->check_url, url, sizeof(c->check_url));
	return (0);
}

struct passwd *
lmd_user(const char *name, char *why, size_t len)
{
	struct passwd	*pw;

	errno = 0;
	if ((pw = getpwnam(name)) != NULL)
		return (pw);
	/* getpwnam(3): "not found" may come with any of these, or none. */
	if (errno == 0 || errno == ENOENT || errno == ESRCH || errno == EBADF ||
	    errno == EPERM)
		strlcpy(why, "no such user", len);
	else
		strlcpy(why, strerror(errno), len);
	return (NULL);
}

/*
 * The key file's own errors (common/report.c) name that file; this puts
 * the lmd.conf line that named it in front.  lmd reads its configuration
 * once, before it starts, so the errors go where cfg_report() sends them
 * by default: stderr.
 */
static void
keyfile_report(const char *msg)
{
	fprintf(stderr, "%s: keyfile: %s\n", keyfile_where, msg);
}

const char *
lmd_conf_where(const struct lmd_conf *c, unsigned line, char *buf,
    size_t len)
{
	if (line != 0)
		snprintf(buf, len, "%s:%u", c->path, line);
	else
		snprintf(buf, len, "%s", c->path);
	return (buf);
}

static void
parse_key(struct cfgfile *cf, struct lmd_conf *c, enum key k, char *v)
{
	unsigned long	 n;
	uint16_t	 port;
	char		 why[128];
	int		 b;

	switch (k) {
	case K_LOADDSERVERS:
		parse_loadd(cf, c, v);
		break;
	case K_KEYFILE:
		if (*v == '\0' || strlcpy(c->keyfile, v, sizeof(c->keyfile)) >=
		    sizeof(c->keyfile))
			cfg_error(cf, "keyfile: not a path");
		break;
	case K_KEYID:
		if (cfg_uint(v, 1, 255, &n) == -1)
			cfg_error(cf, "keyid: \"%s\" is not 1..255", v);
		else
			c->keyid = (int)n;
		break;
	case K_INTERVAL:
		if (cfg_ms(v, MS_MIN_INTERVAL, MS_MAX_INTERVAL,
		    &c->interval_ms) == -1)
			cfg_error(cf, "interval: \"%s\" is not a number of "
			    "seconds from 0.1 to 3600", v);
		break;
	case K_SERVICE:
		if ((c->family = addr_parse(v, &c->addr, &c->port)) == 0 ||
		    c->port == 0)
			cfg_error(cf, "service: \"%s\" is not address:port (as "
			    "loadd.conf names this server)", v);
		break;
	case K_PROTOCOL:
		if (strcasecmp(v, "tcp") == 0)
			c->proto = 6;
		else if (strcasecmp(v, "udp") == 0)
			c->proto = 17;
		else
			cfg_error(cf, "protocol: \"%s\" is not tcp or udp", v);
		break;
	case K_PORT:
		if (port_parse(v, &c->watch_port) == -1)
			cfg_error(cf, "port: \"%s\" is not a port", v);
		break;
	case K_SOURCE:
		if (strcasecmp(v, "any") == 0)
			c->src_family = -1;
		else if ((c->src_family = addr_parse(v, &c->src, &port)) == 0 ||
		    port != 0) {
			cfg_error(cf, "source: \"%s\" is not an address or "
			    "\"any\"", v);
			c->src_family = 0;
		}
		break;
	case K_WEIGHT:
		if (cfg_uint(v, 0, 65535, &n) == -1)
			cfg_error(cf, "weight: \"%s\" is not 0..65535", v);
		else
			c->weight = (uint16_t)n;
		break;
	case K_DRAIN:
		if ((b = cfg_bool(v)) == -1)
			cfg_error(cf, "drain: \"%s\" is not yes or no", v);
		else
			c->drain = b;
		break;
	case K_CGROUP:
		if (*v == '\0' || strlcpy(c->cgroup, v, sizeof(c->cgroup)) >=
		    sizeof(c->cgroup))
			cfg_error(cf, "cgroup: not a path");
		break;
	case K_PIDFILE:
		if (*v == '\0' || strlcpy(c->pidfile, v, sizeof(c->pidfile)) >=
		    sizeof(c->pidfile))
			cfg_error(cf, "pidfile: not a path");
		break;
	case K_FACILITY:
		if ((c->facility = log_facility(v)) == -1) {
			cfg_error(cf, "syslog_facility: unknown facility "
			    "\"%s\"", v);
			c->facility = LOG_DAEMON;
		}
		break;
	case K_VERBOSE:
		if ((b = cfg_bool(v)) == -1)
			cfg_error(cf, "verbosemode: \"%s\" is not yes or no", v);
		else
			c->verbose = b;
		break;
	case K_CHECK:
		if (strcasecmp(v, "none") == 0)
			c->check = CHECK_NONE;
		else if (strcasecmp(v, "http") == 0)
			c->check = CHECK_HTTP;
		else if (strcasecmp(v, "tcp") == 0)
			c->check = CHECK_TCP;
		else if (strcasecmp(v, "command") == 0)
			c->check = CHECK_COMMAND;
		else
			cfg_error(cf, "check: \"%s\" is not none, http, tcp or "
			    "command", v);
		break;
	case K_CHECK_URL:
		if (parse_url(c, v) == -1)
			cfg_error(cf, "check_url: \"%s\" is not "
			    "http://ADDRESS[:PORT]/PATH", v);
		break;
	case K_CHECK_STATUS:
		if (cfg_uint(v, 100, 599, &n) == -1)
			cfg_error(cf, "check_status: \"%s\" is not an HTTP "
			    "status (100..599)", v);
		else
			c->check_status = (unsigned)n;
		break;
	case K_CHECK_ADDRESS:
		if ((c->check_family = addr_parse(v, &c->check_addr,
		    &c->check_port)) == 0 || c->check_port == 0)
			cfg_error(cf, "check_address: \"%s\" is not "
			    "address:port", v);
		break;
	case K_CHECK_COMMAND:
		if (*v == '\0' || strlcpy(c->check_command, v,
		    sizeof(c->check_command)) >= sizeof(c->check_command))
			cfg_error(cf, "check_command: empty or longer than %d "
			    "bytes", LMD_CMDLEN - 1);
		break;
	case K_CHECK_TIMEOUT:
		if (cfg_ms(v, 1, MS_MAX_TIMEOUT, &c->check_timeout_ms) == -1)
			cfg_error(cf, "check_timeout: \"%s\" is not a number of "
			    "seconds from 0.001 to 60", v);
		break;
	case K_CHECK_INTERVAL:
		if (cfg_ms(v, MS_MIN_INTERVAL, MS_MAX_INTERVAL,
		    &c->check_interval_ms) == -1)
			cfg_error(cf, "check_interval: \"%s\" is not a number "
			    "of seconds from 0.1 to 3600", v);
		break;
	case K_CHECK_USER:
		if (strlcpy(c->check_user, v, sizeof(c->check_user)) >=
		    sizeof(c->check_user))
			cfg_error(cf, "check_user: longer than %d bytes",
			    LMD_USERLEN - 1);
		else if (lmd_user(v, why, sizeof(why)) == NULL)
			cfg_error(cf, "check_user: \"%s\": %s", v, why);
		break;
	case K_NKEYS:
		break;
	}
}

int
lmd_conf_load(struct lmd_conf *c, const char *path)
{
	struct cfgfile	 cf;
	unsigned	 seen[K_NKEYS];
	char		*k, *v, a[ADDR_STRLEN], why[128];
	size_t		 i;

	memset(c, 0, sizeof(*c));
	memset(seen, 0, sizeof(seen));
	c->path = path;
	c->interval_ms = 1000;
	c->proto = 6;
	c->check_status = 200;
	c->check_timeout_ms = 2000;
	c->facility = LOG_DAEMON;
	strlcpy(c->pidfile, LMD_PIDFILE, sizeof(c->pidfile));
	strlcpy(c->check_user, LMD_CHECK_USER, sizeof(c->check_user));
	if (cfg_open(&cf, path) == -1)
		return (-1);
	while (cfg_next(&cf, &k, &v)) {
		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (strcasecmp(k, keys[i].name) == 0)
				break;
		if (i == sizeof(keys) / sizeof(keys[0])) {
			cfg_error(&cf, "unknown key \"%s\"", k);
			continue;
		}
		if (seen[keys[i].key] != 0) {
			cfg_error(&cf, "%s given twice (first on line %u)",
			    keys[i].name, seen[keys[i].key]);
			continue;
		}
		seen[keys[i].key] = cf.line;
		if (*v == '\0') {
			cfg_error(&cf, "%s: no value", keys[i].name);
			continue;
		}
		parse_key(&cf, c, keys[i].key, v);
	}

	/* What only the whole file can say; named at its end. */
	if (seen[K_LOADDSERVERS] == 0)
		cfg_error(&cf, "end of file: no loaddservers");
	if (seen[K_SERVICE] == 0)
		cfg_error(&cf, "end of file: no service (address:port as "
		    "loadd.conf names this server)");
	if (seen[K_KEYFILE] == 0)
		cfg_error(&cf, "end of file: no keyfile");
	if (c->check == CHECK_HTTP && seen[K_CHECK_URL] == 0)
		cfg_error(&cf, "end of file: check = http needs check_url");
	if (c->check == CHECK_COMMAND && seen[K_CHECK_COMMAND] == 0)
		cfg_error(&cf, "end of file: check = command needs "
		    "check_command");
	if (c->check == CHECK_COMMAND && seen[K_CHECK_USER] == 0 &&
	    lmd_user(c->check_user, why, sizeof(why)) == NULL)
		cfg_error(&cf, "end of file: check = command runs as "
		    "check_user %s (the default): %s; name another user",
		    c->check_user, why);
	if (c->check == CHECK_TCP && seen[K_CHECK_ADDRESS] == 0 &&
	    c->family != 0) {
		c->check_family = c->family;
		c->check_addr = c->addr;
		c->check_port = c->port;
	}
	if (c->check_interval_ms == 0)
		c->check_interval_ms = c->interval_ms;
	if (c->watch_port == 0)
		c->watch_port = c->port;
	/* Reports come from the server's own address unless told. */
	c->line_source = seen[K_SOURCE];
	if (c->src_family == 0 && c->family != 0) {
		c->src_family = c->family;
		c->src = c->addr;
		c->line_source = seen[K_SERVICE];
	}
	if (c->src_family == -1)
		c->src_family = 0;
	if (c->src_family != 0)
		for (i = 0; i < c->nloadd; i++)
			if (c->loadd[i].family != c->src_family) {
				cf.line = seen[K_LOADDSERVERS];
				cfg_error(&cf, "loaddservers: %s is IPv%d but "
				    "reports are sent from an IPv%d address "
				    "(see service and source)",
				    addr_ntop(c->loadd[i].family,
				    &c->loadd[i].addr, a, sizeof(a)),
				    c->loadd[i].family, c->src_family);
				break;
			}
	c->line_loadd = seen[K_LOADDSERVERS];
	c->line_keyfile = seen[K_KEYFILE];
	c->line_cgroup = seen[K_CGROUP];
	c->line_pidfile = seen[K_PIDFILE];
	c->line_check_user = seen[K_CHECK_USER];
	if (cf.errors == 0) {
		lmd_conf_where(c, c->line_keyfile, keyfile_where,
		    sizeof(keyfile_where));
		cfg_set_reporter(keyfile_report);
		if (report_keys_load(&c->keys, c->keyfile) == -1)
			cf.errors++;
		cfg_set_reporter(NULL);
	}
	if (cf.errors == 0 && c->keyid != 0 &&
	    report_keys_find(&c->keys, (unsigned)c->keyid) == NULL) {
		cf.line = seen[K_KEYID];
		cfg_error(&cf, "keyid: no key %d in %s", c->keyid, c->keyfile);
	}
	if (cf.errors == 0 && c->keyid == 0)
		c->keyid = c->keys.k[0].id;
	cfg_close(&cf);
	if (cf.errors > 0) {
		lmd_conf_free(c);
		return (-1);
	}
	return (0);
}

void
lmd_conf_free(struct lmd_conf *c)
{
	report_keys_clear(&c->keys);
}
