/*
 * What the metrics port answers: the routes (the status page at /, its
 * JSON at /status.json, Prometheus at /metrics; GET and HEAD), and the
 * pages its clients share.  Each rendered page (the Prometheus page,
 * the status page's JSON) is rendered at most once per HTTP_PAGE_MS, a
 * slice of rows per pass of the loop (HTTP_SLICE of the Prometheus
 * page's, a family's lines for one server say; STATUS_SLICE servers
 * with their minutes of history), and every client in that time gets
 * the same copy.  The status page itself never changes: it is made
 * once, at start.  The connections and their budgets are ctl.c's.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "ctl_priv.h"
#include "engine.h"
#include "log.h"
#include "stats.h"
#include "statuspage.h"

#define HTTP_PAGE_MS	1000
#define HTTP_SLICE	256
#define STATUS_SLICE	32
#define HTTP_HDRROOM	256		/* room left for the HTTP head */

void
ctl_page_put(struct mpage *pg)
{
	if (pg != NULL && --pg->refs == 0) {
		free(pg->mem);
		free(pg);
	}
}

static struct mpage	*page_of(struct obuf *, size_t, size_t, uint64_t);

/* The status page is made here, before loadd gives up its privileges. */
void
ctl_set_http(struct ctl *c, int fd)
{
	struct obuf	 o;
	size_t		 hlen;

	c->hfd = fd;
	memset(&o, 0, sizeof(o));
	if (statuspage_make(&o, &hlen) == -1 ||
	    (c->html = page_of(&o, 0, hlen, 0)) == NULL)
		log_warnx("status page: out of memory; / answers 500");
	ob_free(&o);
}

/* The page begins again, with room for the HTTP head in front. */
static void
render_start(struct render *r, const struct ctlenv *env)
{
	memset(&r->cur, 0, sizeof(r->cur));
	r->reloads = env->reloads;
	ob_free(&r->buf);
	ob_printf(&r->buf, "%*s", HTTP_HDRROOM, "");
}

/*
 * An answer of the connection's own: an error, its head alone for a
 * HEAD.
 */
static void
http_error(struct client *cl, const char *status, const char *extra)
{
	const char	*body = strchr(status, ' ') + 1;

	ob_printf(&cl->out, "HTTP/1.0 %s\r\nContent-Type: text/plain; "
	    "charset=utf-8\r\nContent-Length: %zu\r\nX-Content-Type-Options: "
	    "nosniff\r\n%sConnection: close\r\n\r\n", status,
	    strlen(body) + 1, extra);
	if (!cl->head_only)
		ob_printf(&cl->out, "%s\n", body);
}

/* What a request asks for. */
enum route {
	RT_BAD = 0,		/* not HTTP as we know it: 400 */
	RT_METHOD,		/* neither GET nor HEAD: 405 */
	RT_NONE,		/* no such page: 404 */
	RT_HTML,		/* / */
	RT_METRICS,		/* /metrics */
	RT_STATUS,		/* /status.json */
};

/*
 * The request line: "GET /path HTTP/1.x" or HEAD, with a query after
 * the path ignored.  Any other method (a word of capitals) is 405.
 */
static enum route
http_route(const char *in, int *head)
{
	static const struct {
		const char	*path;
		enum route	 rt;
	} routes[] = {
		{ "/", RT_HTML },
		{ "/metrics", RT_METRICS },
		{ "/status.json", RT_STATUS },
	};
	const char	*p;
	size_t		 n, i;

	*head = 0;
	if (strncmp(in, "GET ", 4) == 0)
		p = in + 4;
	else if (strncmp(in, "HEAD ", 5) == 0) {
		p = in + 5;
		*head = 1;
	} else {
		n = strspn(in, "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
		return (n > 0 && n <= 16 && in[n] == ' ' ? RT_METHOD : RT_BAD);
	}
	n = strcspn(p, " ?\r\n");
	if (*p != '/' || (p[n] != ' ' && p[n] != '?'))
		return (RT_BAD);
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (strlen(routes[i].path) == n &&
		    memcmp(p, routes[i].path, n) == 0)
			return (routes[i].rt);
	return (RT_NONE);
}

/* A page shared: its last copy if recent, else the next one rendered. */
static void
http_page(struct ctl *c, struct client *cl, enum page pg, struct ctlenv *env)
{
	struct render	*r = &c->r[pg];

	if (r->page != NULL && env->now_ms < r->page->born_ms + HTTP_PAGE_MS &&
	    r->reloads == env->reloads) {
		cl->page = r->page;
		r->page->refs++;
		c->st.served++;
		ctl_answer(cl, env->now_ms);
		return;
	}
	if (!r->on) {
		r->on = 1;
		render_start(r, env);
	}
	cl->want = pg;
	cl->waiting = 1;
}

/*
 * A request: HTTP/1.0 or 1.1, GET or HEAD of one of the routes,
 * answered once the request's head is in (or what fits of it), then the
 * connection is closed.
 */
void
ctl_http_read(struct ctl *c, struct client *cl, struct ctlenv *env, int eof)
{
	if (memmem(cl->in, cl->inlen, "\r\n\r\n", 4) == NULL &&
	    memmem(cl->in, cl->inlen, "\n\n", 2) == NULL &&
	    cl->inlen < CTL_LINEMAX && !eof)
		return;
	(void)shutdown(cl->fd, SHUT_RD);
	switch (http_route(cl->in, &cl->head_only)) {
	case RT_METRICS:
		http_page(c, cl, PG_METRICS, env);
		return;
	case RT_STATUS:
		http_page(c, cl, PG_STATUS, env);
		return;
	case RT_HTML:
		if (c->html != NULL) {
			cl->page = c->html;
			c->html->refs++;
		} else
			http_error(cl, "500 Internal Server Error", "");
		break;
	case RT_NONE:
		http_error(cl, "404 Not Found", "");
		break;
	case RT_METHOD:
		http_error(cl, "405 Method Not Allowed", "Allow: GET, HEAD\r\n");
		break;
	case RT_BAD:
		cl->head_only = 0;
		http_error(cl, "400 Bad Request", "");
		break;
	}
	c->st.served++;
	ctl_answer(cl, env->now_ms);
}

/*
 * A page from a buffer whose first hroom bytes are not the page's: the
 * page, its head (hlen bytes) first, is after them.  The buffer is the
 * page's from then on.
 */
static struct mpage *
page_of(struct obuf *o, size_t hroom, size_t hlen, uint64_t now_ms)
{
	struct mpage	*pg;

	if (o->full || o->b == NULL || (pg = calloc(1, sizeof(*pg))) == NULL)
		return (NULL);
	pg->mem = o->b;
	pg->b = o->b + hroom;
	pg->len = o->len - hroom;
	pg->hlen = hlen;
	pg->born_ms = now_ms;
	pg->refs = 1;
	memset(o, 0, sizeof(*o));
	return (pg);
}

/* The page rendered, its HTTP head written in front; NULL: none. */
static struct mpage *
page_make(struct render *r, enum page kind, uint64_t now_ms)
{
	static const char *const type[PG_N] = {
		"text/plain; version=0.0.4; charset=utf-8",
		"application/json\r\nCache-Control: no-store",
	};
	struct mpage	*pg;
	char		 head[HTTP_HDRROOM + 1];
	int		 hl;

	hl = snprintf(head, sizeof(head), "HTTP/1.0 200 OK\r\nContent-Type: "
	    "%s\r\nX-Content-Type-Options: nosniff\r\nContent-Length: %zu"
	    "\r\nConnection: close\r\n\r\n", type[kind],
	    r->buf.len > HTTP_HDRROOM ? r->buf.len - HTTP_HDRROOM : 0);
	if (hl < 0 || hl > HTTP_HDRROOM)
		hl = HTTP_HDRROOM;	/* cannot be: the head is short */
	if (r->buf.b != NULL && !r->buf.full)
		memcpy(r->buf.b + HTTP_HDRROOM - hl, head, (size_t)hl);
	if ((pg = page_of(&r->buf, HTTP_HDRROOM - (size_t)hl, (size_t)hl,
	    now_ms)) == NULL)
		ob_free(&r->buf);
	return (pg);
}

/* Every client waiting for it gets the page, or an error if there is none. */
static void
page_serve(struct ctl *c, enum page kind, struct mpage *pg, uint64_t now_ms)
{
	struct client	*cl;
	int		 i;

	for (i = 0; i < HTTP_MAXCLIENTS; i++) {
		cl = &c->h[i];
		if (!cl->waiting || cl->want != (int)kind)
			continue;
		if (pg != NULL) {
			cl->page = pg;
			pg->refs++;
		} else
			http_error(cl, "500 Internal Server Error", "");
		c->st.served++;
		ctl_answer(cl, now_ms);
	}
}

/*
 * One slice of each page being rendered; when one is complete, every
 * client waiting for it gets it.  A reload in the middle starts it
 * again: a page shows one configuration's servers.
 */
void
ctl_http_render(struct ctl *c, struct ctlenv *env)
{
	struct mpage		*pg;
	struct stats_src	 src;
	struct render		*r;
	int			 k, done;

	for (k = 0; k < PG_N; k++) {
		r = &c->r[k];
		if (!r->on)
			continue;
		if (r->reloads != env->reloads)
			render_start(r, env);
		stats_src_env(&src, env);
		if (k == PG_METRICS)
			done = stats_prom_step(&src, &r->buf, &r->cur,
			    HTTP_SLICE);
		else {
			src.hist = env->e != NULL ? &env->e->hist : NULL;
			done = stats_status_step(&src, &r->buf, &r->cur,
			    STATUS_SLICE);
		}
		if (!done)
			continue;
		r->on = 0;
		c->st.renders++;
		if ((pg = page_make(r, (enum page)k, env->now_ms)) != NULL) {
			ctl_page_put(r->page);
			r->page = pg;
		}
		page_serve(c, (enum page)k, pg, env->now_ms);
	}
}

void
ctl_http_free(struct ctl *c)
{
	int	 i;

	for (i = 0; i < PG_N; i++) {
		ob_free(&c->r[i].buf);
		ctl_page_put(c->r[i].page);
		c->r[i].page = NULL;
	}
	ctl_page_put(c->html);
	c->html = NULL;
}
