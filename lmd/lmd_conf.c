/*
 * Reading lmd.conf: the original key loaddservers and what this lmd
 * adds.  Every error is reported as "file:line: what is wrong" before
 * giving up; see lmd.conf(5).  Every key is a line of the keyword table
 * below, read by common/cfgkw.c; the parsers here are for the keys no
 * kind of value covers.
 */
#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include "cfgfile.h"
#include "cfgkw.h"
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

/* Where report_keys_load()'s errors go: after "file:line: keyfile: ". */
static char	 keyfile_where[PATH_MAX + 16];

static void	 parse_loadd(struct cfgfile *, const struct cfgkw *, void *,
		    char *);
static void	 parse_port(struct cfgfile *, const struct cfgkw *, void *,
		    char *);
static void	 parse_source(struct cfgfile *, const struct cfgkw *, void *,
		    char *);
static void	 parse_check_url(struct cfgfile *, const struct cfgkw *,
		    void *, char *);
static int	 parse_url(struct lmd_conf *, const char *);
static void	 parse_check_user(struct cfgfile *, const struct cfgkw *,
		    void *, char *);
static void	 keyfile_report(const char *);
static void	 conf_defaults(struct lmd_conf *, const char *);
static void	 check_required(struct cfgfile *, struct lmd_conf *,
		    const unsigned *);
static void	 conf_derive(struct cfgfile *, struct lmd_conf *,
		    const unsigned *);
static void	 conf_keys(struct cfgfile *, struct lmd_conf *,
		    const unsigned *);

static const struct cfgkw_choice checks[] = {
	{ "none", CHECK_NONE }, { "http", CHECK_HTTP }, { "tcp", CHECK_TCP },
	{ "command", CHECK_COMMAND }, { NULL, 0 },
};

/* The one message names the size: it must stay true. */
_Static_assert(LMD_CMDLEN - 1 == 1023, "check_command's error says 1023");

#define C(m)		CFGKW_FIELD(struct lmd_conf, m)
#define INTERVAL	"a number of seconds from 0.1 to 3600"

/* lmd.conf has no sections: every key in section 0, the struct lmd_conf. */
static const struct cfgkw keywords[] = {
	{ "loaddservers", K_LOADDSERVERS, 0, CFGKW_FUNC,	/* the original */
	    .parse = parse_loadd },
	{ "keyfile", K_KEYFILE, 0, CFGKW_STRING, .toolong = "not a path",
	    C(keyfile) },
	{ "keyid", K_KEYID, 0, CFGKW_UINT, .min = 1, .max = 255, C(keyid) },
	{ "interval", K_INTERVAL, 0, CFGKW_MS, .min = MS_MIN_INTERVAL,
	    .max = MS_MAX_INTERVAL, .what = INTERVAL, C(interval_ms) },
	{ "service", K_SERVICE, 0, CFGKW_ADDRPORT,
	    .what = "address:port (as loadd.conf names this server)",
	    C(addr), .off_family = offsetof(struct lmd_conf, family),
	    .off_port = offsetof(struct lmd_conf, port) },
	{ "protocol", K_PROTOCOL, 0, CFGKW_CHOICE, .choices = cfgkw_protocols,
	    C(proto) },
	{ "port", K_PORT, 0, CFGKW_FUNC, .parse = parse_port },
	{ "source", K_SOURCE, 0, CFGKW_FUNC, .parse = parse_source },
	{ "weight", K_WEIGHT, 0, CFGKW_UINT, .max = 65535, C(weight) },
	{ "drain", K_DRAIN, 0, CFGKW_BOOL, C(drain) },
	{ "cgroup", K_CGROUP, 0, CFGKW_STRING, .toolong = "not a path",
	    C(cgroup) },
	{ "pidfile", K_PIDFILE, 0, CFGKW_STRING, .toolong = "not a path",
	    C(pidfile) },
	{ "syslog_facility", K_FACILITY, 0, CFGKW_FUNC,
	    .parse = cfgkw_facility, C(facility) },
	{ "verbosemode", K_VERBOSE, 0, CFGKW_BOOL, C(verbose) },
	{ "check", K_CHECK, 0, CFGKW_CHOICE, .choices = checks, C(check) },
	{ "check_url", K_CHECK_URL, 0, CFGKW_FUNC, .parse = parse_check_url },
	{ "check_status", K_CHECK_STATUS, 0, CFGKW_UINT, .min = 100,
	    .max = 599, .what = "an HTTP status", C(check_status) },
	{ "check_address", K_CHECK_ADDRESS, 0, CFGKW_ADDRPORT, C(check_addr),
	    .off_family = offsetof(struct lmd_conf, check_family),
	    .off_port = offsetof(struct lmd_conf, check_port) },
	{ "check_command", K_CHECK_COMMAND, 0, CFGKW_STRING,
	    .toolong = "empty or longer than 1023 bytes", C(check_command) },
	{ "check_timeout", K_CHECK_TIMEOUT, 0, CFGKW_MS, .min = 1,
	    .max = MS_MAX_TIMEOUT, .what = "a number of seconds from 0.001 to "
	    "60", C(check_timeout_ms) },
	{ "check_interval", K_CHECK_INTERVAL, 0, CFGKW_MS,
	    .min = MS_MIN_INTERVAL, .max = MS_MAX_INTERVAL, .what = INTERVAL,
	    C(check_interval_ms) },
	{ "check_user", K_CHECK_USER, 0, CFGKW_FUNC,
	    .parse = parse_check_user },
};

/* "key =": lmd has always counted the key as given, then refused it. */
static const struct cfgkw_table table = {
	keywords, sizeof(keywords) / sizeof(keywords[0]), K_NKEYS, 1,
	"no value", 1
};

/* "loaddservers = 10.0.0.1, 10.0.0.2:8671, [2001:db8::1]:8671" */
static void
parse_loadd(struct cfgfile *cf, const struct cfgkw *kw, void *obj, char *v)
{
	struct lmd_conf	*c = obj;
	struct lmd_dest	*d;
	char		*item;

	(void)kw;
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

/* The port whose connections are counted; the service's by default. */
static void
parse_port(struct cfgfile *cf, const struct cfgkw *kw, void *obj, char *v)
{
	struct lmd_conf	*c = obj;

	(void)kw;
	if (port_parse(v, &c->watch_port) == -1)
		cfg_error(cf, "port: \"%s\" is not a port", v);
}

/* Where reports come from: an address of this host, or "any". */
static void
parse_source(struct cfgfile *cf, const struct cfgkw *kw, void *obj, char *v)
{
	struct lmd_conf	*c = obj;
	uint16_t	 port;

	(void)kw;
	if (strcasecmp(v, "any") == 0)
		c->src_family = -1;
	else if ((c->src_family = addr_parse(v, &c->src, &port)) == 0 ||
	    port != 0) {
		cfg_error(cf, "source: \"%s\" is not an address or \"any\"",
		    v);
		c->src_family = 0;
	}
}

static void
parse_check_url(struct cfgfile *cf, const struct cfgkw *kw, void *obj,
    char *v)
{
	(void)kw;
	if (parse_url(obj, v) == -1)
		cfg_error(cf, "check_url: \"%s\" is not "
		    "http://ADDRESS[:PORT]/PATH", v);
}

/* A user that exists now; lmd.c says if it is not root to become it. */
static void
parse_check_user(struct cfgfile *cf, const struct cfgkw *kw, void *obj,
    char *v)
{
	struct lmd_conf	*c = obj;
	char		 why[128];

	(void)kw;
	if (strlcpy(c->check_user, v, sizeof(c->check_user)) >=
	    sizeof(c->check_user))
		cfg_error(cf, "check_user: longer than %d bytes",
		    LMD_USERLEN - 1);
	else if (lmd_user(v, why, sizeof(why)) == NULL)
		cfg_error(cf, "check_user: \"%s\": %s", v, why);
}

static void
conf_defaults(struct lmd_conf *c, const char *path)
{
	memset(c, 0, sizeof(*c));
	c->path = path;
	c->interval_ms = 1000;
	c->proto = 6;
	c->check_status = 200;
	c->check_timeout_ms = 2000;
	c->facility = LOG_DAEMON;
	strlcpy(c->pidfile, LMD_PIDFILE, sizeof(c->pidfile));
	strlcpy(c->check_user, LMD_CHECK_USER, sizeof(c->check_user));
}

/* What only the whole file can say; named at its end. */
static void
check_required(struct cfgfile *cf, struct lmd_conf *c, const unsigned *seen)
{
	char	 why[128];

	if (seen[K_LOADDSERVERS] == 0)
		cfg_error(cf, "end of file: no loaddservers");
	if (seen[K_SERVICE] == 0)
		cfg_error(cf, "end of file: no service (address:port as "
		    "loadd.conf names this server)");
	if (seen[K_KEYFILE] == 0)
		cfg_error(cf, "end of file: no keyfile");
	if (c->check == CHECK_HTTP && seen[K_CHECK_URL] == 0)
		cfg_error(cf, "end of file: check = http needs check_url");
	if (c->check == CHECK_COMMAND && seen[K_CHECK_COMMAND] == 0)
		cfg_error(cf, "end of file: check = command needs "
		    "check_command");
	if (c->check == CHECK_COMMAND && seen[K_CHECK_USER] == 0 &&
	    lmd_user(c->check_user, why, sizeof(why)) == NULL)
		cfg_error(cf, "end of file: check = command runs as "
		    "check_user %s (the default): %s; name another user",
		    c->check_user, why);
}

/*
 * What the file leaves to the service's address and port, and the lines
 * that set what is only checked after parsing.
 */
static void
conf_derive(struct cfgfile *cf, struct lmd_conf *c, const unsigned *seen)
{
	char		 a[ADDR_STRLEN];
	size_t		 i;

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
				cf->line = seen[K_LOADDSERVERS];
				cfg_error(cf, "loaddservers: %s is IPv%d but "
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
}

/* The key file, once the rest is right; keyid, its first key by default. */
static void
conf_keys(struct cfgfile *cf, struct lmd_conf *c, const unsigned *seen)
{
	if (cf->errors == 0) {
		lmd_conf_where(c, c->line_keyfile, keyfile_where,
		    sizeof(keyfile_where));
		cfg_set_reporter(keyfile_report);
		if (report_keys_load(&c->keys, c->keyfile) == -1)
			cf->errors++;
		cfg_set_reporter(NULL);
	}
	if (cf->errors == 0 && c->keyid != 0 &&
	    report_keys_find(&c->keys, (unsigned)c->keyid) == NULL) {
		cf->line = seen[K_KEYID];
		cfg_error(cf, "keyid: no key %d in %s", c->keyid, c->keyfile);
	}
	if (cf->errors == 0 && c->keyid == 0)
		c->keyid = c->keys.k[0].id;
}

int
lmd_conf_load(struct lmd_conf *c, const char *path)
{
	struct cfgfile		 cf;
	struct cfgkw_section	 sect;
	unsigned		 seen[K_NKEYS];
	char			*k, *v, why[256];

	conf_defaults(c, path);
	memset(seen, 0, sizeof(seen));
	sect = (struct cfgkw_section){ c, seen, NULL };
	if (cfgkw_table_check(&table, why, sizeof(why)) == -1) {
		cfg_report("%s: %s", path, why);
		return (-1);
	}
	if (cfg_open(&cf, path) == -1)
		return (-1);
	while (cfg_next(&cf, &k, &v))
		(void)cfgkw_apply(&cf, &table, &sect, k, v);
	check_required(&cf, c, seen);
	conf_derive(&cf, c, seen);
	conf_keys(&cf, c, seen);
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
