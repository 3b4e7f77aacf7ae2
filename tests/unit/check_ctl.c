/*
 * The metrics port (loadd/ctl.c), over real sockets on 127.0.0.1: a
 * scrape gets the Prometheus page whole, with its HTTP head, though the
 * page of 300 servers takes several passes of the loop to render; two
 * scrapers share one rendering; a reload in the middle starts the page
 * again; the status page's JSON is rendered the same way, and the page
 * itself comes with a Content-Security-Policy that names its own style
 * and script by their hashes; HEAD gets the head alone; other requests
 * get their error.  The loop is the test's own: ctl_pollfds, poll,
 * ctl_run, as loadd's loop calls them.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "compat.h"
#include "config.h"
#include "ctl.h"
#include "engine.h"
#include "pktio.h"
#include "rig.h"
#include "stats.h"
#include "unit.h"

#define NSERVERS	300	/* 3300 rows: more than one slice of 256 */
#define MAXPASSES	2000

struct scraper {
	int		 fd;
	int		 eof;
	struct obuf	 got;
};

static struct ctl	*C;
static struct ctlenv	 env;
static struct pktio	 io;
static char		 dir[64], path[96];
static uint16_t		 port;

static void
setup(void)
{
	struct sockaddr_in	 sin;
	socklen_t		 sl = sizeof(sin);
	struct obuf		 conf;
	int			 fd, i;

	memset(&conf, 0, sizeof(conf));
	ob_printf(&conf, "ipaliasing = 192.0.2.10\nports = 80\ncheck = none\n"
	    "servers = 10.0.0.1");
	for (i = 1; i < NSERVERS; i++)
		ob_printf(&conf, ", 10.0.%d.%d", i / 250, i % 250 + 1);
	ob_printf(&conf, "\n");
	rig_open(conf.b);
	ob_free(&conf);

	strlcpy(dir, "/tmp/loadd-unit-ctl-XXXXXX", sizeof(dir));
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/ctl.sock", dir);
	ck_assert_ptr_nonnull(C = ctl_open(path, 0600));
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	ck_assert_int_ne(fd, -1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(fd, 16), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	port = ntohs(sin.sin_port);
	ctl_set_http(C, fd);

	memset(&env, 0, sizeof(env));
	env.e = &R.e;
	env.conf = &R.conf;
	env.io = &io;
	env.now_ms = 50000;
	env.started_ms = 1000;
}

static void
teardown(void)
{
	ctl_close(C);
	rmdir(dir);
	rig_close();
}

/* Connects to the metrics port and sends the request. */
static void
scrape(struct scraper *s, const char *req)
{
	struct sockaddr_in	 sin;

	memset(s, 0, sizeof(*s));
	s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ne(s->fd, -1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(port);
	ck_assert_int_eq(connect(s->fd, (struct sockaddr *)&sin,
	    sizeof(sin)), 0);
	ck_assert_int_eq(write(s->fd, req, strlen(req)), (ssize_t)strlen(req));
	ck_assert_int_ne(fcntl(s->fd, F_SETFL, O_NONBLOCK), -1);
}

/* Takes what has come; 1 once the answer is whole (loadd closed). */
static int
pump(struct scraper *s)
{
	char	 buf[65536];
	ssize_t	 n;

	while (!s->eof) {
		if ((n = read(s->fd, buf, sizeof(buf))) > 0) {
			ob_printf(&s->got, "%.*s", (int)n, buf);
			continue;
		}
		if (n == -1 && errno == EAGAIN)
			break;
		ck_assert_int_eq(n, 0);
		s->eof = 1;
		close(s->fd);
	}
	return (s->eof);
}

/*
 * Passes of the loop until every scraper has its answer; returns how
 * many passes rendered (ctl_busy).  At pass reload_at the configuration
 * is said to have been reloaded.
 */
static unsigned
run(struct scraper *s, unsigned ns, unsigned reload_at)
{
	struct pollfd	 pfd[CTL_NFDS];
	unsigned	 pass, n, i, done, busy = 0;

	for (pass = 0; pass < MAXPASSES; pass++) {
		if (pass == reload_at)
			env.reloads++;
		n = ctl_pollfds(C, pfd, CTL_NFDS);
		(void)poll(pfd, n, ctl_busy(C) ? 0 : 20);
		ctl_run(C, pfd, n, &env);
		busy += ctl_busy(C);
		for (i = 0, done = 0; i < ns; i++)
			done += pump(&s[i]);
		if (done == ns)
			return (busy);
	}
	ck_abort_msg("no answer in %d passes of the loop", MAXPASSES);
	return (0);
}

/* The page as loadctl's metrics command makes it, at once. */
static void
page_whole(struct obuf *o)
{
	struct stats_src	 src;

	stats_src_env(&src, &env);
	stats_prom(&src, o);
}

/*
 * An answer is its head and the page; the page is what the stats module
 * makes at once, but for the metrics port's own counters, which move
 * with the scrapes.
 */
static void
assert_page(const struct scraper *s)
{
	struct obuf	 want;
	const char	*body, *p, *q;
	char		 head[256];
	size_t		 np, nq;

	ck_assert_ptr_nonnull(s->got.b);
	ck_assert_ptr_nonnull(body = strstr(s->got.b, "\r\n\r\n"));
	body += 4;
	snprintf(head, sizeof(head), "HTTP/1.0 200 OK\r\nContent-Type: "
	    "text/plain; version=0.0.4; charset=utf-8\r\nX-Content-Type-Options:"
	    " nosniff\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
	    strlen(body));
	ck_assert_int_eq(strncmp(s->got.b, head, strlen(head)), 0);
	memset(&want, 0, sizeof(want));
	page_whole(&want);
	for (p = body, q = want.b; *p != '\0' && *q != '\0';
	    p += np + 1, q += nq + 1) {
		np = strcspn(p, "\n");
		nq = strcspn(q, "\n");
		ck_assert_msg((np == nq && strncmp(p, q, np) == 0) ||
		    (strncmp(p, "loadd_metrics_", 14) == 0 &&
		    strncmp(q, "loadd_metrics_", 14) == 0),
		    "the page has \"%.*s\" where \"%.*s\" was due", (int)np, p,
		    (int)nq, q);
		ck_assert(p[np] == '\n' && q[nq] == '\n');
	}
	ck_assert(*p == '\0' && *q == '\0');
	ob_free(&want);
}

/* 3300 rows and more: several passes of the loop render the page. */
START_TEST(test_scrape)
{
	struct scraper	 s;

	scrape(&s, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
	ck_assert_uint_gt(run(&s, 1, UINT_MAX), 1);
	assert_page(&s);
	ob_free(&s.got);
}
END_TEST

START_TEST(test_shared)
{
	struct scraper	 s[2];

	scrape(&s[0], "GET /metrics HTTP/1.0\r\n\r\n");
	scrape(&s[1], "GET /metrics?x=1 HTTP/1.0\r\n\r\n");
	(void)run(s, 2, UINT_MAX);
	assert_page(&s[0]);
	ck_assert_str_eq(s[0].got.b, s[1].got.b);
	ob_free(&s[0].got);
	ob_free(&s[1].got);
	/* Rendered once for both; within a second, the next gets it too. */
	scrape(&s[0], "GET /metrics HTTP/1.0\r\n\r\n");
	ck_assert_uint_eq(run(s, 1, UINT_MAX), 0);
	assert_page(&s[0]);
	ob_free(&s[0].got);
	page_whole(&s[1].got);
	ck_assert_ptr_nonnull(strstr(s[1].got.b,
	    "loadd_metrics_renders_total 1\n"));
	ob_free(&s[1].got);
}
END_TEST

/*
 * A reload while the page renders: it starts again (more passes than
 * without), and is whole.
 */
START_TEST(test_reload)
{
	struct scraper	 s;
	struct obuf	 o;
	unsigned	 plain, reloaded;

	scrape(&s, "GET /metrics HTTP/1.0\r\n\r\n");
	plain = run(&s, 1, UINT_MAX);
	ob_free(&s.got);
	env.now_ms += 1000;	/* the page is old: the next is rendered */
	scrape(&s, "GET /metrics HTTP/1.0\r\n\r\n");
	reloaded = run(&s, 1, 3);
	ck_assert_uint_gt(reloaded, plain);
	assert_page(&s);
	ob_free(&s.got);
	memset(&o, 0, sizeof(o));
	page_whole(&o);
	ck_assert_ptr_nonnull(strstr(o.b, "loadd_metrics_renders_total 2\n"));
	ob_free(&o);
}
END_TEST

#define ERRHEAD(status, len, extra) "HTTP/1.0 " status "\r\nContent-Type: " \
	"text/plain; charset=utf-8\r\nContent-Length: " #len "\r\n" \
	"X-Content-Type-Options: nosniff\r\n" extra "Connection: close\r\n\r\n"

START_TEST(test_errors)
{
	static const struct {
		const char	*req;
		const char	*answer;
	} t[] = {
		{ "GET /other HTTP/1.0\r\n\r\n",
		  ERRHEAD("404 Not Found", 10, "") "Not Found\n" },
		{ "GET /metricsx HTTP/1.0\r\n\r\n",
		  ERRHEAD("404 Not Found", 10, "") "Not Found\n" },
		{ "HEAD /status HTTP/1.0\r\n\r\n",
		  ERRHEAD("404 Not Found", 10, "") },
		{ "POST /metrics HTTP/1.0\r\nContent-Length: 0\r\n\r\n",
		  ERRHEAD("405 Method Not Allowed", 19, "Allow: GET, HEAD\r\n")
		  "Method Not Allowed\n" },
		{ "DELETE / HTTP/1.1\r\n\r\n",
		  ERRHEAD("405 Method Not Allowed", 19, "Allow: GET, HEAD\r\n")
		  "Method Not Allowed\n" },
		{ "HELLO\r\n\r\n",
		  ERRHEAD("400 Bad Request", 12, "") "Bad Request\n" },
		{ "GET metrics HTTP/1.0\r\n\r\n",
		  ERRHEAD("400 Bad Request", 12, "") "Bad Request\n" },
		{ "GET /metrics\r\n\r\n",
		  ERRHEAD("400 Bad Request", 12, "") "Bad Request\n" },
	};
	struct scraper	 s[4];
	unsigned	 i, k, n = sizeof(t) / sizeof(t[0]);

	/* Four at a time: one address may hold no more (HTTP_PER_SOURCE). */
	for (i = 0; i < n; i += k) {
		for (k = 0; k < 4 && i + k < n; k++)
			scrape(&s[k], t[i + k].req);
		(void)run(s, k, UINT_MAX);
		for (k = 0; k < 4 && i + k < n; k++) {
			ck_assert_str_eq(s[k].got.b, t[i + k].answer);
			ob_free(&s[k].got);
		}
	}
}
END_TEST

static unsigned
count(const char *s, const char *what)
{
	unsigned	 n = 0;

	while ((s = strstr(s, what)) != NULL) {
		n++;
		s++;
	}
	return (n);
}

/* A header's value in an answer's head, or NULL; cut at its CRLF. */
static char *
header(const char *ans, const char *name, char *buf, size_t len)
{
	const char	*p, *end = strstr(ans, "\r\n\r\n");
	size_t		 n;

	snprintf(buf, len, "\r\n%s: ", name);
	if ((p = strstr(ans, buf)) == NULL || end == NULL || p > end)
		return (NULL);
	p += strlen(buf);
	n = strcspn(p, "\r");
	if (n >= len)
		return (NULL);
	memcpy(buf, p, n);
	buf[n] = '\0';
	return (buf);
}

/* What lies between open and close in the page, hashed for CSP. */
static void
part_hash(const char *page, const char *open, const char *close, char *buf,
    size_t len)
{
	unsigned char	 h[crypto_hash_sha256_BYTES];
	char		 b64[64];
	const char	*p, *q;

	ck_assert_ptr_nonnull(p = strstr(page, open));
	p += strlen(open);
	ck_assert_ptr_nonnull(q = strstr(p, close));
	crypto_hash_sha256(h, (const unsigned char *)p, (size_t)(q - p));
	sodium_bin2base64(b64, sizeof(b64), h, sizeof(h),
	    sodium_base64_VARIANT_ORIGINAL);
	snprintf(buf, len, "'sha256-%s'", b64);
}

/*
 * The status page: HTML, its policy allowing its own style and script
 * (by hash) and fetches from where it came from, nothing else; nothing
 * in it from elsewhere.  HEAD: the same head, no page.
 */
START_TEST(test_page)
{
	struct scraper	 s[2];
	char		 csp[512], h[128], want[512], style[80], script[80];
	const char	*body;

	scrape(&s[0], "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
	scrape(&s[1], "HEAD /?refresh=1 HTTP/1.0\r\n\r\n");
	(void)run(s, 2, UINT_MAX);
	ck_assert_int_eq(strncmp(s[0].got.b, "HTTP/1.0 200 OK\r\n", 17), 0);
	ck_assert_ptr_nonnull(body = strstr(s[0].got.b, "\r\n\r\n"));
	body += 4;
	ck_assert_str_eq(header(s[0].got.b, "Content-Type", h, sizeof(h)),
	    "text/html; charset=utf-8");
	ck_assert_str_eq(header(s[0].got.b, "X-Content-Type-Options", h,
	    sizeof(h)), "nosniff");
	ck_assert_uint_eq(strtoul(header(s[0].got.b, "Content-Length", h,
	    sizeof(h)), NULL, 10), strlen(body));
	ck_assert_int_eq(strncmp(body, "<!DOCTYPE html>", 15), 0);
	part_hash(body, "<style>", "</style>", style, sizeof(style));
	part_hash(body, "<script>", "</script>", script, sizeof(script));
	snprintf(want, sizeof(want), "default-src 'none'; script-src %s; "
	    "style-src %s; connect-src 'self'; img-src data:; base-uri 'none'; "
	    "form-action 'none'; frame-ancestors 'none'", script, style);
	ck_assert_str_eq(header(s[0].got.b, "Content-Security-Policy", csp,
	    sizeof(csp)), want);
	/* One script, one style, nothing from elsewhere, no markup by data. */
	ck_assert_ptr_null(strstr(strstr(body, "<script>") + 1, "<script"));
	ck_assert_ptr_null(strstr(body, "src="));
	ck_assert_ptr_null(strstr(body, "url("));
	ck_assert_ptr_null(strstr(body, "@import"));
	/* The one address in it is SVG's namespace, a name, not a fetch. */
	ck_assert_uint_eq(count(body, "//"), count(body,
	    "\"http://www.w3.org/2000/svg\""));
	ck_assert_ptr_null(strstr(body, "innerHTML"));
	ck_assert_ptr_nonnull(strstr(body, "status.json"));
	/* HEAD: that head, to the byte, and nothing after it. */
	ck_assert_uint_eq(strlen(s[1].got.b), (size_t)(body - s[0].got.b));
	ck_assert_int_eq(strncmp(s[1].got.b, s[0].got.b, strlen(s[1].got.b)),
	    0);
	ob_free(&s[0].got);
	ob_free(&s[1].got);
}
END_TEST

/*
 * /status.json: the JSON as loadctl's show status makes it, rendered a
 * slice at a time and shared like the Prometheus page; HEAD gets its
 * head, with the length of the page it would get.
 */
START_TEST(test_status)
{
	struct scraper	 s[3];
	struct stats_src src;
	struct obuf	 want;
	char		 h[128];
	const char	*body;

	engine_tick(&R.e, 100);
	R.conf.pool.srv[7].flows_total += 12;
	engine_tick(&R.e, 101);
	scrape(&s[0], "GET /status.json HTTP/1.1\r\nHost: x\r\n\r\n");
	scrape(&s[1], "GET /status.json?t=5 HTTP/1.0\r\n\r\n");
	scrape(&s[2], "HEAD /status.json HTTP/1.0\r\n\r\n");
	/* 300 servers: more than one slice of the status page's. */
	ck_assert_uint_gt(run(s, 3, UINT_MAX), 2);
	ck_assert_ptr_nonnull(body = strstr(s[0].got.b, "\r\n\r\n"));
	body += 4;
	ck_assert_str_eq(header(s[0].got.b, "Content-Type", h, sizeof(h)),
	    "application/json");
	ck_assert_str_eq(header(s[0].got.b, "Cache-Control", h, sizeof(h)),
	    "no-store");
	memset(&want, 0, sizeof(want));
	stats_src_env(&src, &env);
	src.hist = &R.e.hist;
	stats_status(&src, &want);
	ck_assert_str_eq(body, want.b);
	ck_assert_ptr_nonnull(strstr(body, "\"server\":\"10.0.0.8:80\""));
	ck_assert_ptr_nonnull(strstr(body, "\"new_flows\":[12]"));
	ck_assert_str_eq(s[0].got.b, s[1].got.b);
	ck_assert_uint_eq(strlen(s[2].got.b), (size_t)(body - s[0].got.b));
	ck_assert_int_eq(strncmp(s[2].got.b, s[0].got.b, strlen(s[2].got.b)),
	    0);
	ob_free(&want);
	ob_free(&s[0].got);
	ob_free(&s[1].got);
	ob_free(&s[2].got);
	/* loadctl's show status is the same JSON. */
	ck_assert_int_eq(ctl_command(&env, (char []){ "show status" }, &want),
	    0);
	ck_assert_ptr_nonnull(strstr(want.b, "\"new_flows\":[12]"));
	ob_free(&want);
}
END_TEST

Suite *
ctl_suite(void)
{
	Suite	*s = suite_create("ctl");
	TCase	*tc;

	tc = tcase_create("metrics port");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_scrape);
	tcase_add_test(tc, test_shared);
	tcase_add_test(tc, test_reload);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_page);
	tcase_add_test(tc, test_status);
	suite_add_tcase(s, tc);
	return (s);
}
