/*
 * The commands of the control socket, and their answers.  See ctl.h and
 * loadctl(8).
 *
 * Every command is parsed from one line split into words; every answer
 * is built in memory first, in text (tables for people) or JSON (for
 * programs: "json" before the command), so a command either answers in
 * full or says "error: ..." -- never half of one.  The counters' answers
 * (show stats, services, servers, metrics) are the stats module's.
 */
#include <arpa/inet.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "clients.h"
#include "config.h"
#include "connlimit.h"
#include "ctl.h"
#include "engine.h"
#include "health.h"
#include "log.h"
#include "sched.h"
#include "stats.h"

#define CTL_MAXWORDS	16
#define FLOWS_DEFAULT	100
#define FLOWS_MAX	1000000

struct cmdctx {
	struct ctlenv	*env;
	struct obuf	*o;
	int		 json;
	char		*w[CTL_MAXWORDS];
	int		 nw;
};

static int	 cmd_show(struct cmdctx *, int);
static int	 cmd_flows(struct cmdctx *, int);
static int	 cmd_weight(struct cmdctx *, int);
static int	 cmd_maxconn(struct cmdctx *, int);
static int	 cmd_clients(struct cmdctx *, int);
static int	 cmd_admin(struct cmdctx *, int);
static int	 cmd_reload(struct cmdctx *, int);
static int	 cmd_metrics(struct cmdctx *, int);
static int	 cmd_status(struct cmdctx *, int);
static int	 cmd_help(struct cmdctx *, int);

/* The commands, in the order help lists them. */
static const struct cmd {
	const char	*word;
	const char	*sub;		/* its second word, or NULL */
	int		 nw;		/* its number of words; 0: fn checks */
	int		(*fn)(struct cmdctx *, int);
	int		 arg;
	const char	*help;
} cmds[] = {
	{ "show", "servers", 2, cmd_show, STATS_SERVERS,
	  "show servers                 every server: state, reason, weight, "
	  "flows, bytes, agent" },
	{ "show", "services", 2, cmd_show, STATS_SERVICES,
	  "show services                every service" },
	{ "show", "flows", 0, cmd_flows, 2,
	  "show flows [service NAME] [server ADDR:PORT] [client ADDR] "
	  "[state S] [limit N]" },
	{ "show", "stats", 2, cmd_show, STATS_LOADD,
	  "show stats                   counters, drops by reason" },
	{ "show", "status", 2, cmd_status, 0,
	  "show status                  the status page's JSON: services, "
	  "servers, their last minutes" },
	{ "show", "clients", 0, cmd_clients, 2,
	  "show clients [service NAME] [refused] [limit N]  per-client "
	  "limits: open flows, tokens, refusals" },
	{ "set", "maxconn", 0, cmd_maxconn, 0,
	  "set maxconn SERVER N [L]     cap its active flows (0: none), "
	  "low-water mark L" },
	{ "set", NULL, 0, cmd_weight, 0,
	  "set weight SERVER N          SERVER is ADDR:PORT or "
	  "SERVICE/ADDR:PORT" },
	{ "drain", NULL, 0, cmd_admin, SRV_DRAINING,
	  "drain SERVER                 no new flows; its flows go on" },
	{ "disable", NULL, 0, cmd_admin, SRV_DISABLED,
	  "disable SERVER               no new flows (operator)" },
	{ "enable", NULL, 0, cmd_admin, SRV_UP,
	  "enable SERVER                undo drain or disable (also an "
	  "agent's drain)" },
	{ "reload", NULL, 1, cmd_reload, 0,
	  "reload                       read the configuration again" },
	{ "metrics", NULL, 1, cmd_metrics, 0,
	  "metrics                      Prometheus text format" },
	{ "help", NULL, 1, cmd_help, 0, NULL },
};

static int
cmd_error(struct cmdctx *x, const char *fmt, ...)
	__attribute__((__format__(__printf__, 2, 3)));

static int
cmd_error(struct cmdctx *x, const char *fmt, ...)
{
	char	 msg[512];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (x->json) {
		ob_printf(x->o, "{\"error\":");
		ob_json_str(x->o, msg);
		ob_printf(x->o, "}\n");
	} else
		ob_printf(x->o, "error: %s\n", msg);
	return (-1);
}

/* show stats, services or servers: a table, or JSON. */
static int
cmd_show(struct cmdctx *x, int obj)
{
	struct stats_src	 src;

	stats_src_env(&src, x->env);
	stats_show(&src, (unsigned)obj, x->json, x->o);
	return (0);
}

/* What the status page reads (/status.json): always JSON. */
static int
cmd_status(struct cmdctx *x, int arg)
{
	struct stats_src	 src;

	(void)arg;
	stats_src_env(&src, x->env);
	src.hist = x->env->e != NULL ? &x->env->e->hist : NULL;
	stats_status(&src, x->o);
	return (0);
}

static int
cmd_metrics(struct cmdctx *x, int arg)
{
	struct stats_src	 src;

	(void)arg;
	stats_src_env(&src, x->env);
	stats_prom(&src, x->o);
	return (0);
}

/* What show flows is asked for. */
struct flows_filter {
	const char	*svc;
	const char	*srv;
	const char	*state;
	union addr	 client;
	int		 family;	/* of client; 0: any client */
	unsigned long	 limit;
};

/* "[service NAME] [server ADDR:PORT] [client ADDR] [state S] [limit N]" */
static int
flows_filter(struct cmdctx *x, int first, struct flows_filter *ff)
{
	const char	*v;
	char		*end;
	uint16_t	 port;
	int		 k;

	memset(ff, 0, sizeof(*ff));
	ff->limit = FLOWS_DEFAULT;
	for (k = first; k < x->nw; k += 2) {
		if (k + 1 >= x->nw)
			return (cmd_error(x, "show flows: \"%s\" needs a value",
			    x->w[k]));
		v = x->w[k + 1];
		if (strcmp(x->w[k], "service") == 0)
			ff->svc = v;
		else if (strcmp(x->w[k], "server") == 0)
			ff->srv = v;
		else if (strcmp(x->w[k], "state") == 0)
			ff->state = v;
		else if (strcmp(x->w[k], "client") == 0) {
			if ((ff->family = addr_parse(v, &ff->client,
			    &port)) == 0 || port != 0)
				return (cmd_error(x, "show flows: \"%s\" is not "
				    "an address", v));
		} else if (strcmp(x->w[k], "limit") == 0) {
			errno = 0;
			ff->limit = strtoul(v, &end, 10);
			if (errno != 0 || *end != '\0' || v[0] < '0' ||
			    v[0] > '9' || ff->limit < 1 ||
			    ff->limit > FLOWS_MAX)
				return (cmd_error(x, "show flows: limit is 1..%d",
				    FLOWS_MAX));
		} else
			return (cmd_error(x, "show flows: unknown filter \"%s\" "
			    "(service, server, client, state, limit)",
			    x->w[k]));
	}
	return (0);
}

static int
flows_match(const struct flows_filter *ff, const struct flow *f,
    const struct service *svc, const struct server *s)
{
	union addr	 ca;

	if (ff->svc != NULL && strcmp(ff->svc, svc->label) != 0)
		return (0);
	if (ff->srv != NULL && strcmp(ff->srv, s->name) != 0)
		return (0);
	if (ff->state != NULL && strcmp(ff->state,
	    flow_state_name(f->state)) != 0)
		return (0);
	memcpy(&ca, f->caddr, sizeof(ca));
	return (ff->family == 0 ||
	    (ff->family == svc->family && addr_eq(&ca, &ff->client)));
}

/* The n-th flow listed. */
static void
flows_row(struct cmdctx *x, const struct flow *f, const struct service *svc,
    const struct server *s, unsigned long n)
{
	const struct engine *e = x->env->e;
	union addr	 ca;
	char		 a[ADDR_STRLEN], cb[ADDR_STRLEN + 8];
	unsigned	 idle = e->now - f->last;
	/* offload = bpf: what the map carried, as of its last reading. */
	int		 fast = (f->seen & FLOW_FAST) && e->fp != NULL;
	unsigned long long bytes = fast ? e->fp->fl[f - e->ft.f].taken[2] +
			    e->fp->fl[f - e->ft.f].taken[3] : 0;

	memcpy(&ca, f->caddr, sizeof(ca));
	addr_ntop(svc->family, &ca, a, sizeof(a));
	snprintf(cb, sizeof(cb), svc->family == 6 ? "[%s]:%u" : "%s:%u", a,
	    ntohs(f->cport));
	if (!x->json) {
		ob_printf(x->o, "%-12s %-40s %-24s %-12s %6u", svc->label, cb,
		    s->name, flow_state_name(f->state), idle);
		if (e->fp != NULL)
			ob_printf(x->o, " %-4s %12llu", fast ? "map" : "loadd",
			    bytes);
		ob_printf(x->o, "\n");
		return;
	}
	ob_printf(x->o, "%s{\"service\":", n ? "," : "");
	ob_json_str(x->o, svc->label);
	ob_printf(x->o, ",\"client\":");
	ob_json_str(x->o, cb);
	ob_printf(x->o, ",\"server\":");
	ob_json_str(x->o, s->name);
	ob_printf(x->o, ",\"state\":\"%s\",\"idle_s\":%u",
	    flow_state_name(f->state), idle);
	if (e->fp != NULL)
		ob_printf(x->o, ",\"path\":\"%s\",\"fastpath_bytes\":%llu",
		    fast ? "map" : "loadd", bytes);
	ob_printf(x->o, "}");
}

/* show flows FILTER...: the filter's words start at w[first]. */
static int
cmd_flows(struct cmdctx *x, int first)
{
	const struct engine	*e = x->env->e;
	const struct pool	*p = &x->env->conf->pool;
	const struct flow	*f;
	struct flows_filter	 ff;
	unsigned long		 n = 0;
	uint32_t		 i;

	if (flows_filter(x, first, &ff) == -1)
		return (-1);
	if (!x->json)
		ob_printf(x->o, "%-12s %-40s %-24s %-12s %6s%s\n", "SERVICE",
		    "CLIENT", "SERVER", "STATE", "IDLE", e->fp == NULL ? "" :
		    " PATH    MAP_BYTES");
	else
		ob_printf(x->o, "[");
	for (i = 1; i <= e->ft.cap && n < ff.limit && !x->o->full; i++) {
		f = &e->ft.f[i];
		if (f->state == FS_NONE || f->svc >= p->nsvc ||
		    f->srv >= p->nsrv ||
		    !flows_match(&ff, f, &p->svc[f->svc], &p->srv[f->srv]))
			continue;
		flows_row(x, f, &p->svc[f->svc], &p->srv[f->srv], n++);
	}
	if (x->json)
		ob_printf(x->o, "]\n");
	return (0);
}

/*
 * A server by "ADDR:PORT", or "SERVICE/ADDR:PORT" where one address and
 * port serve several services (TCP and UDP, say).
 */
static int
find_server(struct cmdctx *x, const char *arg, unsigned *idx)
{
	const struct pool	*p = &x->env->conf->pool;
	const char		*slash, *name = arg;
	size_t			 sl = 0;
	unsigned		 i, found = 0;

	if ((slash = strchr(arg, '/')) != NULL) {
		sl = (size_t)(slash - arg);
		name = slash + 1;
	}
	for (i = 0; i < p->nsrv; i++) {
		if (!p->srv[i].used || strcmp(p->srv[i].name, name) != 0)
			continue;
		if (slash != NULL &&
		    (strlen(p->svc[p->srv[i].svc].label) != sl ||
		    strncmp(p->svc[p->srv[i].svc].label, arg, sl) != 0))
			continue;
		*idx = i;
		found++;
	}
	if (found == 0)
		return (cmd_error(x, "no server \"%s\" (show servers lists "
		    "them, as address:port)", arg));
	if (found > 1)
		return (cmd_error(x, "\"%s\" serves %u services: say which, as "
		    "SERVICE/%s", arg, found, name));
	return (0);
}

static int
cmd_admin(struct cmdctx *x, int admin)
{
	struct pool	*p = &x->env->conf->pool;
	unsigned	 i;
	int		 over = 0;

	if (x->nw != 2)
		return (cmd_error(x, "usage: %s SERVER", x->w[0]));
	if (find_server(x, x->w[1], &i) == -1)
		return (-1);
	/*
	 * enable is the operator's word over the agent's drain too (a
	 * forged report may have asked for it); see agent_drain().
	 */
	if (admin == SRV_UP && x->env->agent != NULL &&
	    agent_override_drain(x->env->agent, i, x->env->now_ms)) {
		over = 1;
		p->srv[i].agent_drain = 0;
		log_notice("service %s: server %s: its agent's drain "
		    "overridden (operator); it holds until the agent "
		    "reports without drain", p->svc[p->srv[i].svc].label,
		    p->srv[i].name);
	}
	health_set_admin(x->env->h, i, admin, SR_OPERATOR);
	if (x->json) {
		ob_printf(x->o, "{\"server\":");
		ob_json_str(x->o, p->srv[i].name);
		ob_printf(x->o, ",\"state\":\"%s\"%s}\n",
		    srv_state_name(p->srv[i].state), over ?
		    ",\"agent_drain_overridden\":true" : "");
	} else
		ob_printf(x->o, "%s: %s%s\n", p->srv[i].name,
		    srv_state_name(p->srv[i].state), over ?
		    " (its agent's drain overridden)" : "");
	return (0);
}

static int
cmd_weight(struct cmdctx *x, int arg)
{
	struct pool	*p = &x->env->conf->pool;
	struct server	*s;
	unsigned long	 w;
	unsigned	 i;
	char		*end;

	(void)arg;
	if (x->nw != 4 || strcmp(x->w[1], "weight") != 0)
		return (cmd_error(x, "usage: set weight SERVER N"));
	if (find_server(x, x->w[2], &i) == -1)
		return (-1);
	errno = 0;
	w = strtoul(x->w[3], &end, 10);
	if (errno != 0 || *end != '\0' || x->w[3][0] < '0' ||
	    x->w[3][0] > '9' || w > 65535)
		return (cmd_error(x, "set weight: \"%s\" is not 0..65535",
		    x->w[3]));
	s = &p->srv[i];
	log_notice("service %s: server %s: weight %u -> %lu (operator)",
	    p->svc[s->svc].label, s->name, s->cweight, w);
	s->cweight = (uint16_t)w;
	s->weight = (uint16_t)w;
	/* Who takes new flows may change (weight 0), and the tables with it. */
	(void)srv_update(p, i, SR_OPERATOR, "weight");
	sched_weights_changed(p, s->svc);
	if (x->json) {
		ob_printf(x->o, "{\"server\":");
		ob_json_str(x->o, s->name);
		ob_printf(x->o, ",\"weight\":%u}\n", s->weight);
	} else
		ob_printf(x->o, "%s: weight %u\n", s->name, s->weight);
	return (0);
}

/* A number word of 0..max, or -1. */
static long
cmd_number(const char *w, unsigned long max)
{
	unsigned long	 n;
	char		*end;

	errno = 0;
	n = strtoul(w, &end, 10);
	if (errno != 0 || *end != '\0' || w[0] < '0' || w[0] > '9' || n > max)
		return (-1);
	return ((long)n);
}

/* set maxconn SERVER N [L]: until the next reload, as set weight. */
static int
cmd_maxconn(struct cmdctx *x, int arg)
{
	struct pool	*p = &x->env->conf->pool;
	struct server	*s;
	long		 n, low = 0;
	unsigned	 i;

	(void)arg;
	if (x->nw != 4 && x->nw != 5)
		return (cmd_error(x, "usage: set maxconn SERVER N [LOWCONN]"));
	if (find_server(x, x->w[2], &i) == -1)
		return (-1);
	if ((n = cmd_number(x->w[3], LOADD_MAXFLOWS_LIMIT)) == -1)
		return (cmd_error(x, "set maxconn: \"%s\" is not 0..%u (0: no "
		    "cap)", x->w[3], LOADD_MAXFLOWS_LIMIT));
	if (x->nw == 5 && ((low = cmd_number(x->w[4], LOADD_MAXFLOWS_LIMIT)) ==
	    -1 || low >= n))
		return (cmd_error(x, "set maxconn: the low-water mark \"%s\" "
		    "is not below %ld", x->w[4], n));
	s = &p->srv[i];
	log_notice("service %s: server %s: maxconn %u -> %ld, lowconn %u -> "
	    "%ld (operator)", p->svc[s->svc].label, s->name, s->maxconn, n,
	    s->lowconn, low);
	s->maxconn = (uint32_t)n;
	s->lowconn = (uint32_t)low;
	srv_cap_update(s, x->env->e->ms);
	if (x->json) {
		ob_printf(x->o, "{\"server\":");
		ob_json_str(x->o, s->name);
		ob_printf(x->o, ",\"maxconn\":%u,\"lowconn\":%u,"
		    "\"at_cap\":%s}\n", s->maxconn, s->lowconn,
		    s->atcap ? "true" : "false");
	} else if (s->lowconn != 0)
		ob_printf(x->o, "%s: maxconn %u lowconn %u%s\n", s->name,
		    s->maxconn, s->lowconn, s->atcap ? " (full)" : "");
	else
		ob_printf(x->o, "%s: maxconn %u%s\n", s->name, s->maxconn,
		    s->atcap ? " (full)" : "");
	return (0);
}

/* What show clients is asked for. */
struct clients_filter {
	const char	*svc;		/* a label, or NULL */
	int		 refused;	/* only those refused something */
	unsigned long	 limit;
};

static int
clients_filter(struct cmdctx *x, int first, struct clients_filter *cf)
{
	int	 i;
	long	 n;

	memset(cf, 0, sizeof(*cf));
	cf->limit = FLOWS_DEFAULT;
	for (i = first; i < x->nw; i++) {
		if (strcmp(x->w[i], "refused") == 0) {
			cf->refused = 1;
			continue;
		}
		if (i + 1 == x->nw || (strcmp(x->w[i], "service") != 0 &&
		    strcmp(x->w[i], "limit") != 0))
			return (cmd_error(x, "show clients: [service NAME] "
			    "[refused] [limit N]"));
		if (strcmp(x->w[i], "service") == 0)
			cf->svc = x->w[++i];
		else if ((n = cmd_number(x->w[++i], FLOWS_MAX)) <= 0)
			return (cmd_error(x, "show clients: limit is 1..%d",
			    FLOWS_MAX));
		else
			cf->limit = (unsigned long)n;
	}
	return (0);
}

/* The bucket as it stands now, in whole connections (not refilled). */
static unsigned
client_tokens(const struct client_ent *c, const struct client_limits *l,
    uint32_t now_ms)
{
	uint64_t	 t, cap;

	if (l->rate == 0)
		return (0);
	cap = (uint64_t)(l->burst ? l->burst : l->rate) * 1000;
	t = c->tokens + (uint64_t)(now_ms - c->stamp_ms) * l->rate;
	return ((unsigned)((t > cap ? cap : t) / 1000));
}

static void
clients_row(struct cmdctx *x, const struct client_ent *c,
    const struct service *svc, unsigned long n)
{
	const struct client_limits *l = &svc->climits;
	union addr	 a;
	char		 ab[ADDR_STRLEN], cb[ADDR_STRLEN + 8];
	uint32_t	 now = x->env->e->ms;

	memcpy(a.w, c->key, sizeof(a.w));
	addr_ntop(c->family, &a, ab, sizeof(ab));
	snprintf(cb, sizeof(cb), "%s/%u", ab, c->family == 6 ? l->plen6 :
	    l->plen4);
	if (!x->json) {
		ob_printf(x->o, "%-12s %-44s %6u %6u %7u %6u %8u %7u\n",
		    svc->label, cb, c->active, l->max_conns,
		    client_tokens(c, l, now), l->rate, c->refused,
		    (now - c->stamp_ms) / 1000);
		return;
	}
	ob_printf(x->o, "%s{\"service\":", n ? "," : "");
	ob_json_str(x->o, svc->label);
	ob_printf(x->o, ",\"client\":");
	ob_json_str(x->o, cb);
	ob_printf(x->o, ",\"active\":%u,\"max_conns\":%u,\"tokens\":%u,"
	    "\"rate\":%u,\"refused\":%u,\"idle_s\":%u}", c->active,
	    l->max_conns, client_tokens(c, l, now), l->rate, c->refused,
	    (now - c->stamp_ms) / 1000);
}

/*
 * show clients: the per-client table's entries of limited services, those
 * with open flows or refusals (an entry with neither is room to reuse).
 */
static int
cmd_clients(struct cmdctx *x, int first)
{
	const struct clients	*t = &x->env->e->clients;
	const struct pool	*p = &x->env->conf->pool;
	const struct client_ent	*c;
	struct clients_filter	 cf;
	unsigned long		 n = 0;
	size_t			 i;

	if (clients_filter(x, first, &cf) == -1)
		return (-1);
	if (!x->json)
		ob_printf(x->o, "%-12s %-44s %6s %6s %7s %6s %8s %7s\n",
		    "SERVICE", "CLIENT", "ACTIVE", "MAX", "TOKENS", "RATE",
		    "REFUSED", "IDLE_S");
	else
		ob_printf(x->o, "[");
	for (i = 0; t->ent != NULL && i < (size_t)t->nsets * CLIENTS_WAYS &&
	    n < cf.limit && !x->o->full; i++) {
		c = &t->ent[i];
		if (!c->used || c->svc >= p->nsvc || !p->svc[c->svc].used ||
		    (c->active == 0 && c->refused == 0) ||
		    (cf.refused && c->refused == 0) || (cf.svc != NULL &&
		    strcmp(cf.svc, p->svc[c->svc].label) != 0))
			continue;
		clients_row(x, c, &p->svc[c->svc], n++);
	}
	if (x->json)
		ob_printf(x->o, "]\n");
	return (0);
}

static int
cmd_reload(struct cmdctx *x, int arg)
{
	char	 err[512];

	(void)arg;
	if (x->env->reload == NULL)
		return (cmd_error(x, "reload: not possible here"));
	if (x->env->reload(x->env->arg, err, sizeof(err)) == -1)
		return (cmd_error(x, "reload: %s", err));
	ob_printf(x->o, x->json ? "{\"reload\":\"ok\"}\n" : "reload: OK\n");
	return (0);
}

static int
cmd_help(struct cmdctx *x, int arg)
{
	size_t	 i;

	(void)arg;
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (cmds[i].help != NULL)
			ob_printf(x->o, "%s\n", cmds[i].help);
	ob_printf(x->o, "json COMMAND                 the answer in JSON\n");
	return (0);
}

/*
 * The line into words, "json" taken off the front.  Commands are
 * printable ASCII: nothing else is echoed back.
 */
static int
cmd_words(struct cmdctx *x, char *line)
{
	char	*save, *w;

	/* The error about a byte is in JSON if the line asks for JSON. */
	x->json = strncmp(line, "json", 4) == 0 &&
	    (line[4] == ' ' || line[4] == '\t');
	for (w = line; *w != '\0'; w++)
		if ((*w < 0x20 && *w != '\t') || (unsigned char)*w >= 0x7f)
			return (cmd_error(x, "the command has a byte that is "
			    "not printable ASCII (0x%02x)", (unsigned char)*w));
	x->json = 0;
	for (w = strtok_r(line, " \t", &save); w != NULL;
	    w = strtok_r(NULL, " \t", &save)) {
		if (x->nw == CTL_MAXWORDS)
			return (cmd_error(x, "too many words"));
		x->w[x->nw++] = w;
	}
	if (x->nw > 0 && strcmp(x->w[0], "json") == 0) {
		x->json = 1;
		memmove(x->w, x->w + 1, sizeof(x->w[0]) * (size_t)(x->nw - 1));
		x->nw--;
	}
	return (0);
}

static const struct cmd *
cmd_find(const struct cmdctx *x)
{
	const struct cmd	*c;
	size_t			 i;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		c = &cmds[i];
		if (strcmp(x->w[0], c->word) != 0 ||
		    (c->sub != NULL && (x->nw < 2 ||
		    strcmp(x->w[1], c->sub) != 0)) ||
		    (c->nw != 0 && x->nw != c->nw))
			continue;
		return (c);
	}
	return (NULL);
}

int
ctl_command(struct ctlenv *env, char *line, struct obuf *out)
{
	struct cmdctx		 x;
	const struct cmd	*c;

	memset(&x, 0, sizeof(x));
	x.env = env;
	x.o = out;
	if (cmd_words(&x, line) == -1)
		return (-1);
	if (x.nw == 0)
		return (cmd_error(&x, "no command (try \"help\")"));
	if ((c = cmd_find(&x)) != NULL)
		return (c->fn(&x, c->arg));
	if (strcmp(x.w[0], "show") == 0 && x.nw >= 2)
		return (cmd_error(&x, "show: servers, services, flows, clients, "
		    "stats or status"));
	return (cmd_error(&x, "unknown command \"%s\" (try \"help\")",
	    x.w[0]));
}
