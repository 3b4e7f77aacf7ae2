/*
 * The control socket and its commands.  See ctl.h and loadctl(8).
 *
 * Every command is parsed from one line split into words; every answer
 * is built in memory first, in text (tables for people) or JSON (for
 * programs: "json" before the command), so a command either answers in
 * full or says "error: ..." -- never half of one.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <arpa/inet.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "agent.h"
#include "compat.h"
#include "config.h"
#include "ctl.h"
#include "engine.h"
#include "health.h"
#include "log.h"
#include "pktio.h"
#include "sched.h"

#define CTL_MAXCLIENTS	16
#define CTL_IDLE_MS	5000		/* to send a command */
#define CTL_OUTMAX	(64u << 20)	/* the longest answer */
#define CTL_MAXWORDS	16
#define FLOWS_DEFAULT	100
#define FLOWS_MAX	1000000

struct client {
	int		 fd;
	int		 pidx;
	uint64_t	 since;
	size_t		 inlen;
	char		 in[CTL_LINEMAX + 1];
	struct obuf	 out;
	size_t		 off;		/* of out, written */
	int		 answering;
	int		 http;		/* a metrics scrape */
};

struct ctl {
	int		 fd;
	int		 pidx;
	int		 hfd;		/* metrics over HTTP, or -1 */
	int		 hpidx;
	char		 path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct client	 c[CTL_MAXCLIENTS];
};

void
ob_printf(struct obuf *o, const char *fmt, ...)
{
	va_list	 ap;
	size_t	 ncap;
	char	*nb;
	int	 n;

	if (o->full)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(o->b != NULL ? o->b + o->len : NULL,
		    o->b != NULL ? o->cap - o->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			o->full = 1;
			return;
		}
		if (o->b != NULL && (size_t)n < o->cap - o->len) {
			o->len += (size_t)n;
			return;
		}
		ncap = o->cap ? o->cap * 2 : 4096;
		while (ncap < o->len + (size_t)n + 1)
			ncap *= 2;
		if (ncap > CTL_OUTMAX || (nb = realloc(o->b, ncap)) == NULL) {
			o->full = 1;
			return;
		}
		o->b = nb;
		o->cap = ncap;
	}
}

void
ob_json_str(struct obuf *o, const char *s)
{
	ob_printf(o, "\"");
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			ob_printf(o, "\\%c", *s);
		else if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			ob_printf(o, "\\u%04x", (unsigned char)*s);
		else
			ob_printf(o, "%c", *s);
	}
	ob_printf(o, "\"");
}

void
ob_free(struct obuf *o)
{
	free(o->b);
	memset(o, 0, sizeof(*o));
}

struct ctl *
ctl_open(const char *path, unsigned mode)
{
	struct sockaddr_un	 sun;
	struct ctl		*c;
	mode_t			 old;
	int			 fd, i;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		log_warnx("control socket %s: path too long", path);
		return (NULL);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		log_warn("control socket");
		return (NULL);
	}
	/*
	 * A socket left by a loadd that died is replaced; one that answers
	 * belongs to a running loadd and is not.
	 */
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
		log_warnx("control socket %s: another loadd answers on it",
		    path);
		close(fd);
		return (NULL);
	}
	close(fd);
	(void)unlink(path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		log_warn("control socket");
		return (NULL);
	}
	old = umask(0177);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		umask(old);
		log_warn("control socket %s", path);
		close(fd);
		return (NULL);
	}
	umask(old);
	if (chmod(path, (mode_t)mode) == -1 || listen(fd, 16) == -1) {
		log_warn("control socket %s", path);
		close(fd);
		(void)unlink(path);
		return (NULL);
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		(void)unlink(path);
		return (NULL);
	}
	c->fd = fd;
	c->hfd = c->hpidx = -1;
	strlcpy(c->path, path, sizeof(c->path));
	for (i = 0; i < CTL_MAXCLIENTS; i++)
		c->c[i].fd = -1;
	return (c);
}

static void
client_close(struct client *cl)
{
	if (cl->fd != -1)
		close(cl->fd);
	ob_free(&cl->out);
	memset(cl, 0, sizeof(*cl));
	cl->fd = -1;
}

void
ctl_close(struct ctl *c)
{
	int	 i;

	if (c == NULL)
		return;
	for (i = 0; i < CTL_MAXCLIENTS; i++)
		client_close(&c->c[i]);
	close(c->fd);
	if (c->hfd != -1)
		close(c->hfd);
	(void)unlink(c->path);
	free(c);
}

void
ctl_set_http(struct ctl *c, int fd)
{
	c->hfd = fd;
}

unsigned
ctl_pollfds(struct ctl *c, struct pollfd *pfd, unsigned max)
{
	unsigned	 n = 0;
	int		 i;

	c->pidx = -1;
	if (n < max) {
		pfd[n].fd = c->fd;
		pfd[n].events = POLLIN;
		pfd[n].revents = 0;
		c->pidx = (int)n++;
	}
	c->hpidx = -1;
	if (c->hfd != -1 && n < max) {
		pfd[n].fd = c->hfd;
		pfd[n].events = POLLIN;
		pfd[n].revents = 0;
		c->hpidx = (int)n++;
	}
	for (i = 0; i < CTL_MAXCLIENTS; i++) {
		c->c[i].pidx = -1;
		if (c->c[i].fd == -1 || n == max)
			continue;
		pfd[n].fd = c->c[i].fd;
		pfd[n].events = c->c[i].answering ? POLLOUT : POLLIN;
		pfd[n].revents = 0;
		c->c[i].pidx = (int)n++;
	}
	return (n);
}

/*
 * A scrape: HTTP/1.0 or 1.1, GET /metrics, answered once the request's
 * head is in (or what fits of it), then the connection is closed.
 */
static void
http_read(struct client *cl, struct ctlenv *env, int eof)
{
	struct obuf	 body;

	if (memmem(cl->in, cl->inlen, "\r\n\r\n", 4) == NULL &&
	    memmem(cl->in, cl->inlen, "\n\n", 2) == NULL &&
	    cl->inlen < CTL_LINEMAX && !eof)
		return;
	memset(&body, 0, sizeof(body));
	if (strncmp(cl->in, "GET /metrics ", 13) == 0 ||
	    strncmp(cl->in, "GET /metrics?", 13) == 0) {
		ctl_metrics(env, &body);
		ob_printf(&cl->out, "HTTP/1.0 200 OK\r\nContent-Type: text/plain; "
		    "version=0.0.4; charset=utf-8\r\nContent-Length: %zu\r\n"
		    "Connection: close\r\n\r\n", body.len);
		if (body.len > 0)
			ob_printf(&cl->out, "%.*s", (int)body.len, body.b);
	} else if (strncmp(cl->in, "GET ", 4) == 0)
		ob_printf(&cl->out, "HTTP/1.0 404 Not Found\r\nContent-Length: "
		    "10\r\nConnection: close\r\n\r\nnot found\n");
	else
		ob_printf(&cl->out, "HTTP/1.0 400 Bad Request\r\n"
		    "Content-Length: 12\r\nConnection: close\r\n\r\n"
		    "bad request\n");
	ob_free(&body);
	if (cl->out.full) {
		ob_free(&cl->out);
		ob_printf(&cl->out, "HTTP/1.0 500 Internal Server Error\r\n"
		    "Content-Length: 0\r\n\r\n");
	}
	cl->answering = 1;
	cl->off = 0;
}

static void
client_read(struct client *cl, struct ctlenv *env)
{
	ssize_t	 r;
	char	*nl;

	r = read(cl->fd, cl->in + cl->inlen, CTL_LINEMAX - cl->inlen);
	if (r == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r < 0 || (r == 0 && cl->inlen == 0)) {
		client_close(cl);
		return;
	}
	cl->inlen += (size_t)r;
	cl->in[cl->inlen] = '\0';
	if (cl->http) {
		http_read(cl, env, r == 0);
		return;
	}
	nl = memchr(cl->in, '\n', cl->inlen);
	/* A last line without its newline is a line too. */
	if (nl == NULL && r == 0)
		nl = cl->in + cl->inlen;
	if (nl == NULL) {
		if (cl->inlen < CTL_LINEMAX)
			return;
		ob_printf(&cl->out, "error: command longer than %d bytes\n",
		    CTL_LINEMAX);
	} else if (memchr(cl->in, '\0', (size_t)(nl - cl->in)) != NULL)
		ob_printf(&cl->out, "error: NUL byte in the command\n");
	else {
		*nl = '\0';
		if (nl > cl->in && nl[-1] == '\r')
			nl[-1] = '\0';
		(void)ctl_command(env, cl->in, &cl->out);
	}
	if (cl->out.full) {
		ob_free(&cl->out);
		ob_printf(&cl->out, "error: answer too long\n");
	}
	cl->answering = 1;
	cl->off = 0;
	(void)shutdown(cl->fd, SHUT_RD);
}

static void
client_write(struct client *cl)
{
	ssize_t	 w;

	if (cl->off < cl->out.len) {
		w = send(cl->fd, cl->out.b + cl->off, cl->out.len - cl->off,
		    MSG_NOSIGNAL);
		if (w == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (w <= 0) {
			client_close(cl);
			return;
		}
		cl->off += (size_t)w;
	}
	if (cl->off >= cl->out.len)
		client_close(cl);
}

static void	 accept_clients(struct ctl *, int, int, struct ctlenv *);

void
ctl_run(struct ctl *c, const struct pollfd *pfd, unsigned n,
    struct ctlenv *env)
{
	struct client	*cl;
	int		 i;

	for (i = 0; i < CTL_MAXCLIENTS; i++) {
		cl = &c->c[i];
		if (cl->fd == -1)
			continue;
		if (cl->pidx >= 0 && (unsigned)cl->pidx < n &&
		    pfd[cl->pidx].revents != 0) {
			if (cl->answering)
				client_write(cl);
			else
				client_read(cl, env);
		}
		/* Slow clients go: the loop is for packets. */
		if (cl->fd != -1 && env->now_ms > cl->since + CTL_IDLE_MS *
		    (cl->answering ? 6 : 1))
			client_close(cl);
	}
	if (c->hpidx >= 0 && (unsigned)c->hpidx < n &&
	    (pfd[c->hpidx].revents & POLLIN))
		accept_clients(c, c->hfd, 1, env);
	if (c->pidx >= 0 && (unsigned)c->pidx < n &&
	    (pfd[c->pidx].revents & POLLIN))
		accept_clients(c, c->fd, 0, env);
}

static void
accept_clients(struct ctl *c, int lfd, int http, struct ctlenv *env)
{
	struct client	*cl;
	int		 fd, i, k;

	for (k = 0; k < CTL_MAXCLIENTS; k++) {
		if ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK |
		    SOCK_CLOEXEC)) == -1)
			return;
		for (i = 0; i < CTL_MAXCLIENTS; i++)
			if (c->c[i].fd == -1)
				break;
		if (i == CTL_MAXCLIENTS) {
			char	 junk[CTL_LINEMAX];

			if (http)
				(void)send(fd, "HTTP/1.0 503 Service "
				    "Unavailable\r\n\r\n", 38, MSG_NOSIGNAL);
			else
				(void)send(fd, "error: too many clients\n", 24,
				    MSG_NOSIGNAL);
			/* What it sent is read, so that closing is no RST. */
			(void)shutdown(fd, SHUT_WR);
			(void)recv(fd, junk, sizeof(junk), MSG_DONTWAIT);
			close(fd);
			continue;
		}
		cl = &c->c[i];
		memset(cl, 0, sizeof(*cl));
		cl->fd = fd;
		cl->pidx = -1;
		cl->http = http;
		cl->since = env->now_ms;
	}
}

/* Commands. */

struct cmdctx {
	struct ctlenv	*env;
	struct obuf	*o;
	int		 json;
	char		*w[CTL_MAXWORDS];
	int		 nw;
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

static const char *
agent_text(struct ctlenv *env, unsigned i, char *buf, size_t len)
{
	const struct agent_state *as;

	if (env->agent == NULL || !env->agent->st[i].valid)
		return ("-");
	as = &env->agent->st[i];
	snprintf(buf, len, "%s %llus cpu %u%% %s%s",
	    agent_fresh(env->agent, i, env->now_ms) ? "fresh" : "stale",
	    (unsigned long long)(agent_age(env->agent, i, env->now_ms) / 1000),
	    as->r.cpu_pm / 10, as->r.check == REPORT_CHECK_UP ? "up" :
	    as->r.check == REPORT_CHECK_DOWN ? "down" : "-",
	    !(as->r.flags & REPORT_F_DRAIN) ? "" : as->overridden ?
	    " drain(overridden)" : " drain");
	return (buf);
}

static void
show_servers(struct cmdctx *x)
{
	struct ctlenv		*env = x->env;
	const struct pool	*p = &env->conf->pool;
	const struct server	*s;
	const struct agent_state *as;
	char			 ab[64];
	unsigned		 i;

	if (!x->json)
		ob_printf(x->o, "%-12s %-24s %-9s %-8s %9s %3s %8s %10s %12s "
		    "%12s %7s %s\n", "SERVICE", "SERVER", "STATE", "REASON",
		    "WEIGHT", "BAK", "ACTIVE", "TOTAL", "BYTES_IN", "BYTES_OUT",
		    "RTT_MS", "AGENT");
	else
		ob_printf(x->o, "[");
	for (i = 0; i < p->nsrv; i++) {
		s = &p->srv[i];
		if (!x->json) {
			char	 wb[16];

			snprintf(wb, sizeof(wb), "%u/%u", s->weight, s->cweight);
			ob_printf(x->o, "%-12s %-24s %-9s %-8s %9s %3s %8llu "
			    "%10llu %12llu %12llu %7.3f %s\n",
			    p->svc[s->svc].label, s->name,
			    s->state == SRV_DRAINING && s->drained ? "drained" :
			    srv_state_name(s->state), srv_reason_name(s->reason),
			    wb, s->backup ? "yes" : "-",
			    (unsigned long long)s->flows_active,
			    (unsigned long long)s->flows_total,
			    (unsigned long long)s->bytes_in,
			    (unsigned long long)s->bytes_out,
			    s->rtt_us / 1000.0, agent_text(env, i, ab,
			    sizeof(ab)));
			continue;
		}
		ob_printf(x->o, "%s{\"service\":", i ? "," : "");
		ob_json_str(x->o, p->svc[s->svc].label);
		ob_printf(x->o, ",\"vip\":");
		ob_json_str(x->o, p->svc[s->svc].name);
		ob_printf(x->o, ",\"server\":");
		ob_json_str(x->o, s->name);
		ob_printf(x->o, ",\"state\":\"%s\",\"reason\":\"%s\","
		    "\"drained\":%s,\"ghost\":%s,"
		    "\"weight\":%u,\"configured_weight\":%u,\"backup\":%s,"
		    "\"healthy\":%s,\"flows_active\":%llu,\"flows_total\":%llu,"
		    "\"packets_in\":%llu,\"packets_out\":%llu,"
		    "\"bytes_in\":%llu,\"bytes_out\":%llu,"
		    "\"response_time_us\":%u",
		    srv_state_name(s->state), srv_reason_name(s->reason),
		    s->state == SRV_DRAINING && s->drained ? "true" : "false",
		    s->ghost ? "true" : "false",
		    s->weight, s->cweight, s->backup ? "true" : "false",
		    s->healthy ? "true" : "false",
		    (unsigned long long)s->flows_active,
		    (unsigned long long)s->flows_total,
		    (unsigned long long)s->pkts_in,
		    (unsigned long long)s->pkts_out,
		    (unsigned long long)s->bytes_in,
		    (unsigned long long)s->bytes_out, s->rtt_us);
		if (env->agent != NULL && env->agent->st[i].valid) {
			as = &env->agent->st[i];
			ob_printf(x->o, ",\"agent\":{\"fresh\":%s,\"age_ms\":%llu,"
			    "\"cpu_permille\":%u,\"load100\":%u,"
			    "\"memory_permille\":%u,\"connections\":%u,"
			    "\"check\":\"%s\",\"check_us\":%u,\"drain\":%s,"
			    "\"drain_overridden\":%s,"
			    "\"weight_hint\":%u,\"load_now\":%u}",
			    agent_fresh(env->agent, i, env->now_ms) ? "true" :
			    "false", (unsigned long long)agent_age(env->agent, i,
			    env->now_ms), as->r.cpu_pm, as->r.load100,
			    as->r.mem_pm, as->r.conns,
			    as->r.check == REPORT_CHECK_UP ? "up" :
			    as->r.check == REPORT_CHECK_DOWN ? "down" : "none",
			    as->r.check_us,
			    (as->r.flags & REPORT_F_DRAIN) ? "true" : "false",
			    as->overridden ? "true" : "false",
			    as->r.weight, agent_load_now(env->agent, p, i));
		} else
			ob_printf(x->o, ",\"agent\":null");
		ob_printf(x->o, "}");
	}
	if (x->json)
		ob_printf(x->o, "]\n");
}

static void
show_services(struct cmdctx *x)
{
	const struct pool	*p = &x->env->conf->pool;
	const struct service	*svc;
	unsigned		 i, j, up, d;
	uint64_t		 drops;

	if (!x->json)
		ob_printf(x->o, "%-12s %-28s %-15s %5s %8s %10s %12s %12s %8s\n",
		    "SERVICE", "VIRTUAL", "METHOD", "UP", "ACTIVE", "TOTAL",
		    "BYTES_IN", "BYTES_OUT", "DROPS");
	else
		ob_printf(x->o, "[");
	for (i = 0; i < p->nsvc; i++) {
		svc = &p->svc[i];
		for (up = 0, j = svc->first; j < svc->first + svc->nsrv; j++)
			if (p->srv[j].state == SRV_UP)
				up++;
		for (drops = 0, d = 0; d < DROP_NREASONS; d++)
			drops += svc->drops[d];
		if (!x->json) {
			char	 ub[16];

			snprintf(ub, sizeof(ub), "%u/%u", up, svc->nsrv);
			ob_printf(x->o, "%-12s %-28s %-15s %5s %8llu %10llu "
			    "%12llu %12llu %8llu%s\n", svc->label, svc->name,
			    svc->method->name, ub,
			    (unsigned long long)svc->flows_active,
			    (unsigned long long)svc->flows_total,
			    (unsigned long long)svc->bytes_in,
			    (unsigned long long)svc->bytes_out,
			    (unsigned long long)drops,
			    svc->use_backup ? " (on backup)" : "");
			continue;
		}
		ob_printf(x->o, "%s{\"service\":", i ? "," : "");
		ob_json_str(x->o, svc->label);
		ob_printf(x->o, ",\"vip\":");
		ob_json_str(x->o, svc->name);
		ob_printf(x->o, ",\"method\":\"%s\",\"servers\":%u,"
		    "\"servers_up\":%u,\"on_backup\":%s,\"flows_active\":%llu,"
		    "\"flows_total\":%llu,\"packets_in\":%llu,"
		    "\"packets_out\":%llu,\"bytes_in\":%llu,\"bytes_out\":%llu,"
		    "\"drops\":{", svc->method->name, svc->nsrv, up,
		    svc->use_backup ? "true" : "false",
		    (unsigned long long)svc->flows_active,
		    (unsigned long long)svc->flows_total,
		    (unsigned long long)svc->pkts_in,
		    (unsigned long long)svc->pkts_out,
		    (unsigned long long)svc->bytes_in,
		    (unsigned long long)svc->bytes_out);
		for (d = 0, j = 0; d < DROP_NREASONS; d++) {
			if (svc->drops[d] == 0)
				continue;
			ob_printf(x->o, "%s\"%s\":%llu", j++ ? "," : "",
			    engine_drop_name((int)d),
			    (unsigned long long)svc->drops[d]);
		}
		ob_printf(x->o, "}}");
	}
	if (x->json)
		ob_printf(x->o, "]\n");
}

/* "[service NAME] [server ADDR:PORT] [client ADDR] [state S] [limit N]" */
static int
show_flows(struct cmdctx *x, int first)
{
	const struct engine	*e = x->env->e;
	const struct pool	*p = &x->env->conf->pool;
	const struct flow	*f;
	const struct server	*s;
	const struct service	*svc;
	const char		*fsvc = NULL, *fsrv = NULL, *fstate = NULL;
	union addr		 fcl, ca;
	char			 a[ADDR_STRLEN], cb[ADDR_STRLEN + 8];
	unsigned long		 limit = FLOWS_DEFAULT, n = 0;
	uint16_t		 port;
	uint32_t		 i;
	int			 k, fam = 0;
	char			*end;

	for (k = first; k < x->nw; k += 2) {
		if (k + 1 >= x->nw)
			return (cmd_error(x, "show flows: \"%s\" needs a value",
			    x->w[k]));
		if (strcmp(x->w[k], "service") == 0)
			fsvc = x->w[k + 1];
		else if (strcmp(x->w[k], "server") == 0)
			fsrv = x->w[k + 1];
		else if (strcmp(x->w[k], "state") == 0)
			fstate = x->w[k + 1];
		else if (strcmp(x->w[k], "client") == 0) {
			if ((fam = addr_parse(x->w[k + 1], &fcl, &port)) == 0 ||
			    port != 0)
				return (cmd_error(x, "show flows: \"%s\" is not "
				    "an address", x->w[k + 1]));
		} else if (strcmp(x->w[k], "limit") == 0) {
			errno = 0;
			limit = strtoul(x->w[k + 1], &end, 10);
			if (errno != 0 || *end != '\0' || x->w[k + 1][0] < '0' ||
			    x->w[k + 1][0] > '9' || limit < 1 ||
			    limit > FLOWS_MAX)
				return (cmd_error(x, "show flows: limit is 1..%d",
				    FLOWS_MAX));
		} else
			return (cmd_error(x, "show flows: unknown filter \"%s\" "
			    "(service, server, client, state, limit)",
			    x->w[k]));
	}
	if (!x->json)
		ob_printf(x->o, "%-12s %-40s %-24s %-12s %6s\n", "SERVICE",
		    "CLIENT", "SERVER", "STATE", "IDLE");
	else
		ob_printf(x->o, "[");
	for (i = 1; i <= e->ft.cap && n < limit && !x->o->full; i++) {
		f = &e->ft.f[i];
		if (f->state == FS_NONE || f->svc >= p->nsvc ||
		    f->srv >= p->nsrv)
			continue;
		svc = &p->svc[f->svc];
		s = &p->srv[f->srv];
		if (fsvc != NULL && strcmp(fsvc, svc->label) != 0)
			continue;
		if (fsrv != NULL && strcmp(fsrv, s->name) != 0)
			continue;
		if (fstate != NULL && strcmp(fstate,
		    flow_state_name(f->state)) != 0)
			continue;
		memcpy(&ca, f->caddr, sizeof(ca));
		if (fam != 0 && (fam != svc->family || !addr_eq(&ca, &fcl)))
			continue;
		addr_ntop(svc->family, &ca, a, sizeof(a));
		snprintf(cb, sizeof(cb), svc->family == 6 ? "[%s]:%u" :
		    "%s:%u", a, ntohs(f->cport));
		if (!x->json)
			ob_printf(x->o, "%-12s %-40s %-24s %-12s %6u\n",
			    svc->label, cb, s->name, flow_state_name(f->state),
			    e->now - f->last);
		else {
			ob_printf(x->o, "%s{\"service\":", n ? "," : "");
			ob_json_str(x->o, svc->label);
			ob_printf(x->o, ",\"client\":");
			ob_json_str(x->o, cb);
			ob_printf(x->o, ",\"server\":");
			ob_json_str(x->o, s->name);
			ob_printf(x->o, ",\"state\":\"%s\",\"idle_s\":%u}",
			    flow_state_name(f->state), e->now - f->last);
		}
		n++;
	}
	if (x->json)
		ob_printf(x->o, "]\n");
	return (0);
}

static void
show_stats(struct cmdctx *x)
{
	struct ctlenv		*env = x->env;
	const struct engine	*e = env->e;
	const struct health_stats *hs = health_stats(env->h);
	unsigned		 d, j;
	struct {
		const char	*name;
		uint64_t	 v;
	} c[] = {
		{ "uptime_s", (env->now_ms - env->started_ms) / 1000 },
		{ "packets", e->st.pkts },
		{ "bytes", e->st.bytes },
		{ "inbound", e->st.inbound },
		{ "outbound", e->st.outbound },
		{ "rewritten", e->st.rewritten },
		{ "passed", e->st.passed },
		{ "dropped", e->st.dropped },
		{ "icmp_translated", e->st.icmp_translated },
		{ "resets", e->st.resets },
		{ "refused", e->st.refused },
		{ "flows_reset", e->st.flows_reset },
		{ "recovered", e->st.recovered },
		{ "offloaded", e->st.offloaded },
		{ "offload_packets", e->st.offload_pkts },
		{ "offload_ended", e->st.ct_ended },
		{ "offload_end_unknown", e->st.ct_unknown },
		{ "offload_adopted", e->st.ct_adopted },
		{ "conntrack_events_bad", e->st.ct_bad },
		{ "conntrack_events_lost", e->st.ct_lost },
		{ "return_noflow", e->st.return_noflow },
		{ "csum_partial", e->st.csum_partial },
		{ "flows", e->ft.count },
		{ "flows_max", e->ft.cap },
		{ "flows_inserted", e->ft.st.inserted },
		{ "flows_expired", e->ft.st.expired },
		{ "flows_evicted", e->ft.st.evicted },
		{ "flows_table_full", e->ft.st.full },
		{ "io_received", env->io->st.recv },
		{ "io_sent", env->io->st.sent },
		{ "io_injected", env->io->st.injected },
		{ "io_errors", env->io->st.errors },
		{ "io_overruns", env->io->st.overruns },
		{ "probes", hs->probes },
		{ "probes_ok", hs->ok },
		{ "probes_failed", hs->failed },
		{ "probes_timeouts", hs->timeouts },
		{ "state_changes", hs->transitions },
	};

	ob_printf(x->o, x->json ? "{" : "");
	for (j = 0; j < sizeof(c) / sizeof(c[0]); j++)
		ob_printf(x->o, x->json ? "%s\"%s\":%llu" : "%s%-20s %llu\n",
		    x->json && j ? "," : "", c[j].name,
		    (unsigned long long)c[j].v);
	ob_printf(x->o, x->json ? ",\"drops\":{" : "drops:\n");
	for (d = 0, j = 0; d < DROP_NREASONS; d++) {
		if (e->st.drop[d] == 0)
			continue;
		ob_printf(x->o, x->json ? "%s\"%s\":%llu" : "%s  %-18s %llu\n",
		    x->json && j++ ? "," : "", engine_drop_name((int)d),
		    (unsigned long long)e->st.drop[d]);
	}
	ob_printf(x->o, x->json ? "}" : "");
	if (env->agent != NULL) {
		ob_printf(x->o, x->json ? ",\"agent_reports\":{" :
		    "agent reports:\n");
		for (d = 0; d < AGENT_NRESULTS; d++) {
			char	 nm[32], *c2;

			strlcpy(nm, agent_result_name((int)d), sizeof(nm));
			for (c2 = nm; *c2 != '\0'; c2++)
				if (*c2 == ' ')
					*c2 = '_';
			ob_printf(x->o, x->json ? "%s\"%s\":%llu" :
			    "%s  %-18s %llu\n", x->json && d ? "," : "", nm,
			    (unsigned long long)env->agent->count[d]);
		}
		ob_printf(x->o, x->json ? "}" : "");
	}
	ob_printf(x->o, x->json ? "}\n" : "");
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
		if (strcmp(p->srv[i].name, name) != 0)
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
cmd_weight(struct cmdctx *x)
{
	struct pool	*p = &x->env->conf->pool;
	struct server	*s;
	unsigned long	 w;
	unsigned	 i;
	char		*end;

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

static void
help(struct cmdctx *x)
{
	ob_printf(x->o,
	    "show servers                 every server: state, reason, "
	    "weight, flows, bytes, agent\n"
	    "show services                every service\n"
	    "show flows [service NAME] [server ADDR:PORT] [client ADDR] "
	    "[state S] [limit N]\n"
	    "show stats                   counters, drops by reason\n"
	    "set weight SERVER N          SERVER is ADDR:PORT or "
	    "SERVICE/ADDR:PORT\n"
	    "drain SERVER                 no new flows; its flows go on\n"
	    "disable SERVER               no new flows (operator)\n"
	    "enable SERVER                undo drain or disable (also an "
	    "agent's drain)\n"
	    "reload                       read the configuration again\n"
	    "metrics                      Prometheus text format\n"
	    "json COMMAND                 the answer in JSON\n");
}

int
ctl_command(struct ctlenv *env, char *line, struct obuf *out)
{
	struct cmdctx	 x;
	char		*save, *w, err[512];
	int		 off = 0;

	memset(&x, 0, sizeof(x));
	x.env = env;
	x.o = out;
	if (strncmp(line, "json", 4) == 0 && (line[4] == ' ' ||
	    line[4] == '\t'))
		x.json = 1;
	/* Commands are printable ASCII: nothing else is echoed back. */
	for (w = line; *w != '\0'; w++)
		if ((*w < 0x20 && *w != '\t') || (unsigned char)*w >= 0x7f)
			return (cmd_error(&x, "the command has a byte that is "
			    "not printable ASCII (0x%02x)", (unsigned char)*w));
	x.json = 0;
	for (w = strtok_r(line, " \t", &save); w != NULL;
	    w = strtok_r(NULL, " \t", &save)) {
		if (x.nw == CTL_MAXWORDS)
			return (cmd_error(&x, "too many words"));
		x.w[x.nw++] = w;
	}
	if (x.nw > 0 && strcmp(x.w[0], "json") == 0) {
		x.json = 1;
		off = 1;
		memmove(x.w, x.w + 1, sizeof(x.w[0]) * (size_t)(x.nw - 1));
		x.nw--;
	}
	(void)off;
	if (x.nw == 0)
		return (cmd_error(&x, "no command (try \"help\")"));
	if (strcmp(x.w[0], "show") == 0 && x.nw >= 2) {
		if (strcmp(x.w[1], "servers") == 0 && x.nw == 2)
			show_servers(&x);
		else if (strcmp(x.w[1], "services") == 0 && x.nw == 2)
			show_services(&x);
		else if (strcmp(x.w[1], "stats") == 0 && x.nw == 2)
			show_stats(&x);
		else if (strcmp(x.w[1], "flows") == 0)
			return (show_flows(&x, 2));
		else
			return (cmd_error(&x, "show: servers, services, flows "
			    "or stats"));
		return (0);
	}
	if (strcmp(x.w[0], "set") == 0)
		return (cmd_weight(&x));
	if (strcmp(x.w[0], "drain") == 0)
		return (cmd_admin(&x, SRV_DRAINING));
	if (strcmp(x.w[0], "disable") == 0)
		return (cmd_admin(&x, SRV_DISABLED));
	if (strcmp(x.w[0], "enable") == 0)
		return (cmd_admin(&x, SRV_UP));
	if (strcmp(x.w[0], "metrics") == 0 && x.nw == 1) {
		ctl_metrics(env, out);
		return (0);
	}
	if (strcmp(x.w[0], "reload") == 0 && x.nw == 1) {
		if (env->reload == NULL)
			return (cmd_error(&x, "reload: not possible here"));
		if (env->reload(env->arg, err, sizeof(err)) == -1)
			return (cmd_error(&x, "reload: %s", err));
		ob_printf(out, x.json ? "{\"reload\":\"ok\"}\n" :
		    "reload: OK\n");
		return (0);
	}
	if (strcmp(x.w[0], "help") == 0 && x.nw == 1) {
		help(&x);
		return (0);
	}
	return (cmd_error(&x, "unknown command \"%s\" (try \"help\")",
	    x.w[0]));
}

/* Prometheus */

static void
metric_head(struct obuf *o, const char *name, const char *type,
    const char *helptext)
{
	ob_printf(o, "# HELP loadd_%s %s\n# TYPE loadd_%s %s\n", name,
	    helptext, name, type);
}

void
ctl_metrics(struct ctlenv *env, struct obuf *o)
{
	const struct engine	*e = env->e;
	const struct pool	*p = &env->conf->pool;
	const struct health_stats *hs = health_stats(env->h);
	const struct server	*s;
	const struct service	*svc;
	unsigned		 i, d, st;
	static const struct {
		const char	*name;
		size_t		 off;
		const char	*help;
	} sc[] = {
		{ "server_flows_started_total",
		    offsetof(struct server, flows_total),
		    "Flows sent to the server." },
		{ "server_packets_in_total", offsetof(struct server, pkts_in),
		    "Packets from clients to the server." },
		{ "server_packets_out_total", offsetof(struct server, pkts_out),
		    "Packets from the server to clients." },
		{ "server_bytes_in_total", offsetof(struct server, bytes_in),
		    "Bytes from clients to the server." },
		{ "server_bytes_out_total", offsetof(struct server, bytes_out),
		    "Bytes from the server to clients." },
	};

	const struct {
		const char	*name;
		const char	*type;
		const char	*help;
		uint64_t	 v;
	} one[] = {
		{ "up_seconds", "gauge", "Seconds since loadd started.",
		    (env->now_ms - env->started_ms) / 1000 },
		{ "packets_total", "counter", "Packets handled.", e->st.pkts },
		{ "rewritten_packets_total", "counter", "Packets rewritten.",
		    e->st.rewritten },
		{ "passed_packets_total", "counter",
		    "Packets not ours, passed untouched.", e->st.passed },
		{ "resets_total", "counter",
		    "RSTs sent for packets of unknown flows.", e->st.resets },
		{ "refused_total", "counter",
		    "New flows refused (RST or ICMP) for want of a server.",
		    e->st.refused },
		{ "flows_reset_total", "counter",
		    "Flows reset because their server went down.",
		    e->st.flows_reset },
		{ "offloaded_total", "counter",
		    "Flows handed to the kernel (offload = yes).",
		    e->st.offloaded },
		{ "offload_ended_total", "counter",
		    "Offloaded flows the kernel ended (conntrack events).",
		    e->st.ct_ended },
		{ "conntrack_events_lost_total", "counter",
		    "Times conntrack events were lost (socket buffer full).",
		    e->st.ct_lost },
		{ "icmp_translated_total", "counter", "ICMP errors translated.",
		    e->st.icmp_translated },
		{ "flows", "gauge", "Flows in the table.", e->ft.count },
		{ "flows_max", "gauge", "Size of the flow table.", e->ft.cap },
		{ "flows_expired_total", "counter", "Flows expired.",
		    e->ft.st.expired },
		{ "flows_evicted_total", "counter",
		    "Flows evicted to make room.", e->ft.st.evicted },
		{ "io_errors_total", "counter", "Packet I/O errors.",
		    env->io->st.errors },
		{ "io_overruns_total", "counter",
		    "Packets the kernel dropped: loadd's socket was full.",
		    env->io->st.overruns },
	};

	for (i = 0; i < sizeof(one) / sizeof(one[0]); i++) {
		metric_head(o, one[i].name, one[i].type, one[i].help);
		ob_printf(o, "loadd_%s %llu\n", one[i].name,
		    (unsigned long long)one[i].v);
	}
	metric_head(o, "dropped_packets_total", "counter",
	    "Packets dropped, by reason.");
	for (d = 0; d < DROP_NREASONS; d++)
		if (d != 0)	/* "ok" is no reason */
			ob_printf(o, "loadd_dropped_packets_total{reason=\"%s\"} "
			    "%llu\n", engine_drop_name((int)d),
			    (unsigned long long)e->st.drop[d]);
	metric_head(o, "probes_total", "counter", "Health probes, by result.");
	ob_printf(o, "loadd_probes_total{result=\"ok\"} %llu\n"
	    "loadd_probes_total{result=\"failed\"} %llu\n",
	    (unsigned long long)hs->ok, (unsigned long long)hs->failed);
	if (env->agent != NULL) {
		metric_head(o, "agent_reports_total", "counter",
		    "Agent reports, by result.");
		for (d = 0; d < AGENT_NRESULTS; d++) {
			char	 nm[32], *c;

			strlcpy(nm, agent_result_name((int)d), sizeof(nm));
			for (c = nm; *c != '\0'; c++)
				if (*c == ' ')
					*c = '_';
			ob_printf(o, "loadd_agent_reports_total{result=\"%s\"} "
			    "%llu\n", nm,
			    (unsigned long long)env->agent->count[d]);
		}
	}

	metric_head(o, "service_flows_active", "gauge",
	    "Active flows of the service.");
	for (i = 0; i < p->nsvc; i++) {
		svc = &p->svc[i];
		ob_printf(o, "loadd_service_flows_active{service=\"%s\","
		    "vip=\"%s\"} %llu\n", svc->label, svc->name,
		    (unsigned long long)svc->flows_active);
	}
	metric_head(o, "service_dropped_packets_total", "counter",
	    "Packets dropped, by service and reason.");
	for (i = 0; i < p->nsvc; i++)
		for (d = 1; d < DROP_NREASONS; d++)
			if (p->svc[i].drops[d] != 0)
				ob_printf(o, "loadd_service_dropped_packets_total"
				    "{service=\"%s\",reason=\"%s\"} %llu\n",
				    p->svc[i].label, engine_drop_name((int)d),
				    (unsigned long long)p->svc[i].drops[d]);
	metric_head(o, "server_up", "gauge",
	    "1 if the server takes new flows.");
	for (i = 0; i < p->nsrv; i++) {
		s = &p->srv[i];
		ob_printf(o, "loadd_server_up{service=\"%s\",server=\"%s\"} "
		    "%d\n", p->svc[s->svc].label, s->name,
		    s->state == SRV_UP);
	}
	metric_head(o, "server_state", "gauge",
	    "The server's state: 1 for the one it is in.");
	for (i = 0; i < p->nsrv; i++) {
		s = &p->srv[i];
		for (st = SRV_UP; st <= SRV_DISABLED; st++)
			ob_printf(o, "loadd_server_state{service=\"%s\","
			    "server=\"%s\",state=\"%s\"} %d\n",
			    p->svc[s->svc].label, s->name, srv_state_name(
			    (int)st), s->state == st);
	}
	metric_head(o, "server_weight", "gauge", "Weight in effect.");
	for (i = 0; i < p->nsrv; i++) {
		s = &p->srv[i];
		ob_printf(o, "loadd_server_weight{service=\"%s\",server=\"%s\"} "
		    "%u\n", p->svc[s->svc].label, s->name, s->weight);
	}
	metric_head(o, "server_flows_active", "gauge", "Active flows.");
	for (i = 0; i < p->nsrv; i++) {
		s = &p->srv[i];
		ob_printf(o, "loadd_server_flows_active{service=\"%s\","
		    "server=\"%s\"} %llu\n", p->svc[s->svc].label, s->name,
		    (unsigned long long)s->flows_active);
	}
	for (d = 0; d < sizeof(sc) / sizeof(sc[0]); d++) {
		metric_head(o, sc[d].name, "counter", sc[d].help);
		for (i = 0; i < p->nsrv; i++) {
			s = &p->srv[i];
			ob_printf(o, "loadd_%s{service=\"%s\",server=\"%s\"} "
			    "%llu\n", sc[d].name, p->svc[s->svc].label, s->name,
			    (unsigned long long)*(const uint64_t *)(const void *)
			    ((const char *)s + sc[d].off));
		}
	}
	metric_head(o, "server_response_seconds", "gauge",
	    "Measured SYN to SYN+ACK time, decaying average.");
	for (i = 0; i < p->nsrv; i++) {
		s = &p->srv[i];
		ob_printf(o, "loadd_server_response_seconds{service=\"%s\","
		    "server=\"%s\"} %.6f\n", p->svc[s->svc].label, s->name,
		    s->rtt_us / 1e6);
	}
	if (env->agent != NULL) {
		metric_head(o, "server_agent_cpu_ratio", "gauge",
		    "CPU use its agent reported (0..1), while fresh.");
		for (i = 0; i < p->nsrv; i++)
			if (agent_fresh(env->agent, i, env->now_ms))
				ob_printf(o, "loadd_server_agent_cpu_ratio"
				    "{service=\"%s\",server=\"%s\"} %.3f\n",
				    p->svc[p->srv[i].svc].label, p->srv[i].name,
				    env->agent->st[i].r.cpu_pm / 1000.0);
	}
}
