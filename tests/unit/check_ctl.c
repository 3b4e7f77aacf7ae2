/*
 * The metrics port (loadd/ctl.c), over real sockets on 127.0.0.1: a
 * scrape gets the Prometheus page whole, with its HTTP head, though the
 * page of 300 servers takes several passes of the loop to render; two
 * scrapers share one rendering; a reload in the middle starts the page
 * again; other requests get their error.  The loop is the test's own:
 * ctl_pollfds, poll, ctl_run, as loadd's loop calls them.
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
	    "text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: %zu\r\n"
	    "Connection: close\r\n\r\n", strlen(body));
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

START_TEST(test_errors)
{
	struct scraper	 s[2];

	scrape(&s[0], "GET /other HTTP/1.0\r\n\r\n");
	scrape(&s[1], "HELLO\r\n\r\n");
	(void)run(s, 2, UINT_MAX);
	ck_assert_str_eq(s[0].got.b, "HTTP/1.0 404 Not Found\r\nContent-Length: "
	    "10\r\nConnection: close\r\n\r\nnot found\n");
	ck_assert_str_eq(s[1].got.b, "HTTP/1.0 400 Bad Request\r\n"
	    "Content-Length: 12\r\nConnection: close\r\n\r\nbad request\n");
	ob_free(&s[0].got);
	ob_free(&s[1].got);
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
	suite_add_tcase(s, tc);
	return (s);
}
