/*
 * loadd's active probes (loadd/hcprobe.c) against a server this test plays
 * on the loopback interface: the request an HTTP probe sends, and what
 * each kind of answer makes of the server and the counters.  The test
 * runs loadd's side (health_pollfds, poll, health_run) and the server's
 * side in turns, in one process, waiting for what it expects with a
 * bound.  ICMP probes need a raw socket (root) and are left to
 * tests/integration/health.sh.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "health.h"
#include "reload.h"
#include "unit.h"

/* The server's side and loadd's. */
struct lab {
	int		 l;		/* bound to the port */
	int		 listening;	/* 0: connects are refused */
	int		 c;		/* the probe's connection, accepted */
	uint16_t	 port;
	const char	*reply;		/* NULL: never answers */
	char		 req[1024];	/* what the probe sent */
	size_t		 reqlen;
	struct config	 conf;
	struct health	*h;
	uint8_t		 gone[4];
};

static void
lab_open(struct lab *b, int listening, const char *reply, const char *conf)
{
	struct sockaddr_in sin;
	socklen_t	 sl = sizeof(sin);
	char		 text[1024];

	memset(b, 0, sizeof(*b));
	b->c = -1;
	b->reply = reply;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_ne(b->l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK,
	    0), -1);
	ck_assert_int_eq(bind(b->l, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(b->l, (struct sockaddr *)&sin, &sl), 0);
	b->port = ntohs(sin.sin_port);
	/* Bound and not listening, the port refuses and stays ours. */
	if ((b->listening = listening))
		ck_assert_int_eq(listen(b->l, 4), 0);
	snprintf(text, sizeof(text), "ipaliasing = 192.0.2.10\nports = 80\n"
	    "servers = 127.0.0.1:%u\n%s", b->port, conf);
	conf_load_text(&b->conf, text);
	ck_assert_ptr_nonnull(b->h = health_new(&b->conf.pool));
}

static void
lab_close(struct lab *b)
{
	health_free(b->h);
	config_free(&b->conf);
	if (b->c != -1)
		close(b->c);
	close(b->l);
}

/*
 * The server: takes the connection, reads the request, answers it and
 * says that is all.
 */
static void
lab_serve(struct lab *b)
{
	ssize_t	 r;

	if (b->listening && b->c == -1)
		b->c = accept(b->l, NULL, NULL);
	if (b->c == -1 || b->reqlen == sizeof(b->req) - 1)
		return;
	r = recv(b->c, b->req + b->reqlen, sizeof(b->req) - 1 - b->reqlen,
	    MSG_DONTWAIT);
	if (r <= 0)
		return;
	b->reqlen += (size_t)r;
	b->req[b->reqlen] = '\0';
	if (strstr(b->req, "\r\n\r\n") == NULL || b->reply == NULL)
		return;
	ck_assert_int_eq(send(b->c, b->reply, strlen(b->reply), MSG_NOSIGNAL),
	    (ssize_t)strlen(b->reply));
	(void)shutdown(b->c, SHUT_WR);
}

/*
 * Runs loadd's probes and the server in turns until the counter *what
 * reaches n, 5 s at most.
 */
static void
lab_until(struct lab *b, const uint64_t *what, uint64_t n, const char *name)
{
	struct pollfd	 pfd[8];
	uint64_t	 end = clock_mono_ms() + 5000;
	unsigned	 k;

	while (*what < n && clock_mono_ms() < end) {
		k = health_pollfds(b->h, pfd, 8);
		(void)poll(pfd, k, 10);
		health_run(b->h, pfd, k, clock_mono_ms(), b->gone);
		lab_serve(b);
	}
	ck_assert_msg(*what >= n, "%s: %llu after 5 s, not %llu", name,
	    (unsigned long long)*what, (unsigned long long)n);
}

START_TEST(test_http_pass)
{
	const struct health_stats *st;
	struct lab	 b;
	char		 want[256];

	lab_open(&b, 1, "HTTP/1.1 204 No Content\r\n\r\n",
	    "check = http\ncheck_path = /healthz?full=1\n");
	st = health_stats(b.h);
	lab_until(&b, &st->ok, 1, "probes passed");
	snprintf(want, sizeof(want), "GET /healthz?full=1 HTTP/1.0\r\n"
	    "Host: 127.0.0.1\r\nUser-Agent: loadd-health-check\r\n"
	    "Connection: close\r\n\r\n");
	ck_assert_str_eq(b.req, want);
	ck_assert_uint_eq(st->probes, 1);
	ck_assert_uint_eq(st->failed, 0);
	ck_assert_uint_eq(b.conf.pool.srv[0].state, SRV_UP);
	lab_close(&b);
}
END_TEST

#define HOST	"health-checks.a-rather-long-service-name.example.org"

/* What the answer says decides, after fall failures in a row. */
START_TEST(test_http_fail)
{
	static const char *const replies[] = {
		"HTTP/1.1 503 Busy\r\n\r\n",		/* status */
		"HTTP/1.1 200 OK\r\n\r\nsorry",		/* no "alive" */
		"SSH-2.0-OpenSSH_9.6\r\n",		/* not HTTP */
	};
	const struct health_stats *st;
	struct lab	 b;

	lab_open(&b, 1, replies[_i], "check = http\ncheck_body = alive\n"
	    "check_fall = 1\ncheck_host = " HOST "\n");
	st = health_stats(b.h);
	lab_until(&b, &st->failed, 1, "probes failed");
	/* check_host whole, even longer than an address. */
	ck_assert_ptr_nonnull(strstr(b.req, "\r\nHost: " HOST "\r\n"));
	ck_assert_uint_eq(st->ok, 0);
	ck_assert_uint_eq(st->timeouts, 0);
	ck_assert_uint_eq(st->transitions, 1);
	ck_assert_uint_eq(b.conf.pool.srv[0].state, SRV_DOWN);
	ck_assert_uint_eq(b.conf.pool.srv[0].reason, SR_PROBE);
	ck_assert_uint_eq(b.gone[0], 1);
	lab_close(&b);
}
END_TEST

START_TEST(test_tcp)
{
	const struct health_stats *st;
	struct lab	 b;

	/* Someone listens: the connect is all a TCP probe asks. */
	lab_open(&b, 1, NULL, "check = tcp\n");
	st = health_stats(b.h);
	lab_until(&b, &st->ok, 1, "probes passed");
	ck_assert_uint_eq(b.reqlen, 0);
	lab_close(&b);
	/* Nobody does: refused. */
	lab_open(&b, 0, NULL, "check = tcp\ncheck_fall = 1\n");
	st = health_stats(b.h);
	lab_until(&b, &st->failed, 1, "probes failed");
	ck_assert_uint_eq(st->timeouts, 0);
	ck_assert_uint_eq(b.conf.pool.srv[0].state, SRV_DOWN);
	lab_close(&b);
}
END_TEST

/* A server that takes the request and never answers: the timeout. */
START_TEST(test_timeout)
{
	const struct health_stats *st;
	struct lab	 b;

	lab_open(&b, 1, NULL, "check = http\ncheck_interval = 0.3\n"
	    "check_timeout = 0.2\n");
	st = health_stats(b.h);
	lab_until(&b, &st->timeouts, 2, "probes timed out");
	ck_assert_uint_ge(st->failed, 2);
	ck_assert_uint_ge(st->probes, 2);
	ck_assert_uint_eq(st->ok, 0);
	lab_close(&b);
}
END_TEST

/*
 * A reload keeps a server's probe and its results in a row, unless the
 * probe changed or the slot has a new server: then they count afresh.
 */
START_TEST(test_reload_keeps)
{
	const struct health_stats *st;
	struct lab	 b;
	uint8_t		 slots[POOL_MAXSERVERS];

	lab_open(&b, 0, NULL, "check = tcp\ncheck_interval = 0.05\n"
	    "check_timeout = 0.04\ncheck_fall = 3\n");
	st = health_stats(b.h);
	lab_until(&b, &st->failed, 2, "probes failed");
	ck_assert_uint_eq(b.conf.pool.srv[0].state, SRV_UP);
	memset(slots, RS_SAME, sizeof(slots));
	switch (_i) {
	case 0:		/* the same: the third failure in a row decides */
		break;
	case 1:		/* the probe changed: three more */
		b.conf.pool.hcs[0].timeout_ms = 30;
		break;
	case 2:		/* another server in the slot: three more */
		slots[0] = RS_NEW;
		break;
	}
	ck_assert_int_eq(health_reload(b.h, slots, clock_mono_ms()), 0);
	lab_until(&b, &st->failed, 3, "probes failed");
	ck_assert_uint_eq(b.conf.pool.srv[0].state, _i == 0 ? SRV_DOWN :
	    SRV_UP);
	lab_until(&b, &st->failed, 5, "probes failed");
	ck_assert_uint_eq(b.conf.pool.srv[0].state, SRV_DOWN);
	ck_assert_uint_eq(st->transitions, 1);
	lab_close(&b);
}
END_TEST

Suite *
hcprobe_suite(void)
{
	Suite	*s = suite_create("hcprobe");
	TCase	*tc = tcase_create("loopback");

	tcase_add_test(tc, test_http_pass);
	tcase_add_loop_test(tc, test_http_fail, 0, 3);
	tcase_add_test(tc, test_tcp);
	tcase_add_test(tc, test_timeout);
	tcase_add_loop_test(tc, test_reload_keeps, 0, 3);
	suite_add_tcase(s, tc);
	return (s);
}
