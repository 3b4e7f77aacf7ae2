/*
 * The wire side of checks shared by loadd and lmd (common/probe.c): the
 * HTTP status line as each program reads it, the judging of an answer
 * read in pieces, the request, and a connect on the loopback interface.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "probe.h"
#include "unit.h"

/* How loadd and lmd read status lines (hcprobe.c and check.c). */
#define LOADD		0
#define LMD		(HTTP_ANYVERSION | HTTP_WHOLELINE)

static int
st(const char *s, int flags)
{
	return (http_status(s, strlen(s), flags));
}

START_TEST(test_status_loadd)
{
	ck_assert_int_eq(st("HTTP/1.0 200 OK\r\n", LOADD), 200);
	ck_assert_int_eq(st("HTTP/1.1 503 Busy\r\n", LOADD), 503);
	ck_assert_int_eq(st("HTTP/1.1 101\r\n", LOADD), 101);
	/* Judged on the first 12 bytes: the rest need not have come. */
	ck_assert_int_eq(st("HTTP/1.1 204", LOADD), 204);
	ck_assert_int_eq(st("HTTP/1.1 204\r", LOADD), 204);
	ck_assert_int_eq(st("HTTP/1.1 20", LOADD), 0);
	ck_assert_int_eq(st("", LOADD), 0);
	/* Only HTTP/1.0 and 1.1, upper case. */
	ck_assert_int_eq(st("HTTP/1.2 200 OK\r\n", LOADD), -1);
	ck_assert_int_eq(st("HTTP/2.0 200 OK\r\n", LOADD), -1);
	ck_assert_int_eq(st("http/1.1 200 OK\r\n", LOADD), -1);
	ck_assert_int_eq(st("HTTP/1,1 200 OK\r\n", LOADD), -1);
	/* Three digits, the first 1 to 5, then a space or the line's end. */
	ck_assert_int_eq(st("HTTP/1.1 099 X\r\n", LOADD), -1);
	ck_assert_int_eq(st("HTTP/1.1 600 X\r\n", LOADD), -1);
	ck_assert_int_eq(st("HTTP/1.1 2x0 X\r\n", LOADD), -1);
	ck_assert_int_eq(st("HTTP/1.1 2000 X\r\n", LOADD), -1);
	ck_assert_int_eq(st("HTTP/1.1  200 X\r\n", LOADD), -1);
	ck_assert_int_eq(st("HTTP/1.1 200\tOK\r\n", LOADD), -1);
	ck_assert_int_eq(st("SSH-2.0-OpenSSH_9.6\r\n", LOADD), -1);
}
END_TEST

START_TEST(test_status_lmd)
{
	ck_assert_int_eq(st("HTTP/1.1 200 OK\r\n", LMD), 200);
	ck_assert_int_eq(st("HTTP/1.0 404 Not Found\r\nServer: x\r\n", LMD),
	    404);
	ck_assert_int_eq(st("HTTP/1.1 200\r\n", LMD), 200);
	/* Any one-digit version. */
	ck_assert_int_eq(st("HTTP/2.0 200 OK\r\n", LMD), 200);
	ck_assert_int_eq(st("HTTP/x.1 200 OK\r\n", LMD), -1);
	ck_assert_int_eq(st("HTTP/10 200 OK\r\n", LMD), -1);
	/* Nothing is judged before the line's CRLF. */
	ck_assert_int_eq(st("HTTP/1.1 200 OK", LMD), 0);
	ck_assert_int_eq(st("HTTP/1.1 200 OK\r", LMD), 0);
	ck_assert_int_eq(st("HTTP/1.1 2000 OK", LMD), 0);
	/* A whole line too short, or with a lone CR after the code. */
	ck_assert_int_eq(st("HTTP/1.1\r\n", LMD), -1);
	ck_assert_int_eq(st("\r\nHTTP/1.1 200 OK\r\n", LMD), -1);
	ck_assert_int_eq(st("HTTP/1.1 200\r\r\n", LMD), -1);
	ck_assert_int_eq(st("HTTP/1.1 200\rOK\r\n", LMD), -1);
	ck_assert_int_eq(st("HTTP/1.1 2000 OK\r\n", LMD), -1);
	ck_assert_int_eq(st("HTTP/1.1 600 OK\r\n", LMD), -1);
	/* Each choice alone. */
	ck_assert_int_eq(st("HTTP/2.0 200 OK", HTTP_ANYVERSION), 200);
	ck_assert_int_eq(st("HTTP/2.0 200 OK\r\n", HTTP_WHOLELINE), -1);
	ck_assert_int_eq(st("HTTP/1.1 200\rOK\r\n", HTTP_ANYVERSION), 200);
}
END_TEST

/* An answer judged after each byte, as the slowest server sends it. */
static enum http_verdict
trickle(const struct http_expect *x, const char *s, size_t *at, int *code)
{
	enum http_verdict v = HTTP_MORE;
	size_t		 n = strlen(s), i;

	for (i = 1; i <= n && v == HTTP_MORE; i++)
		v = http_judge(x, s, i, 0, code);
	*at = i - 1;
	return (v);
}

START_TEST(test_judge_partial)
{
	struct http_expect x = { 200, 399, NULL, LOADD };
	struct http_expect y = { 200, 200, NULL, LMD };
	const char	*ok = "HTTP/1.1 200 OK\r\nServer: t\r\n\r\nhello";
	size_t		 at;
	int		 code;

	/* loadd decides at the twelfth byte, lmd at the end of the line. */
	ck_assert_int_eq(trickle(&x, ok, &at, &code), HTTP_PASS);
	ck_assert_uint_eq(at, 12);
	ck_assert_int_eq(code, 200);
	ck_assert_int_eq(trickle(&y, ok, &at, &code), HTTP_PASS);
	ck_assert_uint_eq(at, 17);
	ck_assert_int_eq(code, 200);
	/* Until then nothing is said, and no code given. */
	ck_assert_int_eq(http_judge(&y, ok, 16, 0, &code), HTTP_MORE);
	ck_assert_int_eq(code, 0);
	/* An answer that ends first is short. */
	ck_assert_int_eq(http_judge(&x, ok, 11, 1, &code), HTTP_SHORT);
	ck_assert_int_eq(http_judge(&x, "", 0, 1, &code), HTTP_SHORT);
	ck_assert_int_eq(http_judge(&y, ok, 16, 1, &code), HTTP_SHORT);
	ck_assert_int_eq(http_judge(&y, "", 0, 1, &code), HTTP_SHORT);
	/* Not HTTP as soon as that shows. */
	ck_assert_int_eq(trickle(&x, "SSH-2.0-OpenSSH_9.6\r\n", &at, &code),
	    HTTP_NOTHTTP);
	ck_assert_uint_eq(at, 12);
	ck_assert_int_eq(trickle(&y, "HTTP/1.1 2000 OK\r\n", &at, &code),
	    HTTP_NOTHTTP);
	ck_assert_uint_eq(at, 18);
	/*
	 * loadd judges what the first read brought: a four-digit code is
	 * not HTTP when it comes at once, but has passed at its twelfth
	 * byte when the answer trickles in.
	 */
	ck_assert_int_eq(http_judge(&x, "HTTP/1.1 2000 OK\r\n", 18, 0, &code),
	    HTTP_NOTHTTP);
	ck_assert_int_eq(trickle(&x, "HTTP/1.1 2000 OK\r\n", &at, &code),
	    HTTP_PASS);
	ck_assert_uint_eq(at, 12);
}
END_TEST

START_TEST(test_judge_status)
{
	struct http_expect x = { 200, 399, NULL, LOADD };
	struct http_expect y = { 204, 204, NULL, LMD };
	int		 code;

	ck_assert_int_eq(http_judge(&x, "HTTP/1.1 200 OK\r\n", 17, 0, &code),
	    HTTP_PASS);
	ck_assert_int_eq(http_judge(&x, "HTTP/1.1 399 X\r\n", 16, 0, &code),
	    HTTP_PASS);
	ck_assert_int_eq(http_judge(&x, "HTTP/1.1 199 X\r\n", 16, 0, &code),
	    HTTP_STATUS);
	ck_assert_int_eq(code, 199);
	ck_assert_int_eq(http_judge(&x, "HTTP/1.1 400 X\r\n", 16, 0, &code),
	    HTTP_STATUS);
	ck_assert_int_eq(code, 400);
	/* lmd expects one code. */
	ck_assert_int_eq(http_judge(&y, "HTTP/1.1 204 X\r\n", 16, 0, &code),
	    HTTP_PASS);
	ck_assert_int_eq(code, 204);
	ck_assert_int_eq(http_judge(&y, "HTTP/1.1 200 X\r\n", 16, 0, &code),
	    HTTP_STATUS);
	ck_assert_int_eq(code, 200);
	ck_assert_int_eq(http_judge(&y, "HTTP/1.1 X\r\n", 12, 0, &code),
	    HTTP_NOTHTTP);
	ck_assert_int_eq(code, 0);
}
END_TEST

START_TEST(test_judge_body)
{
	struct http_expect x = { 200, 399, "alive", LOADD };
	const char	*a = "HTTP/1.1 200 OK\r\nX-Text: alive\r\n\r\nnot yet, "
			    "still alive";
	char		 big[8192];
	size_t		 at, hdr;
	int		 code;

	/* The text counts in the body only, after the blank line. */
	ck_assert_int_eq(trickle(&x, a, &at, &code), HTTP_PASS);
	ck_assert_uint_eq(at, strlen(a));
	hdr = (size_t)(strstr(a, "\r\n\r\n") - a) + 4;
	ck_assert_int_eq(http_judge(&x, a, hdr, 0, &code), HTTP_MORE);
	ck_assert_int_eq(http_judge(&x, a, hdr, 1, &code), HTTP_NOBODY);
	ck_assert_int_eq(code, 200);
	/* The status is judged first. */
	ck_assert_int_eq(http_judge(&x, "HTTP/1.1 500 X\r\n\r\nalive", 23, 1,
	    &code), HTTP_STATUS);
	/* A full buffer without the text: the answer is judged as it is. */
	memset(big, 'x', sizeof(big));
	memcpy(big, "HTTP/1.0 200 OK\r\n\r\n", 19);
	ck_assert_int_eq(http_judge(&x, big, sizeof(big), 0, &code),
	    HTTP_MORE);
	ck_assert_int_eq(http_judge(&x, big, sizeof(big), 1, &code),
	    HTTP_NOBODY);
	memcpy(big + sizeof(big) - 5, "alive", 5);
	ck_assert_int_eq(http_judge(&x, big, sizeof(big), 1, &code),
	    HTTP_PASS);
	/* "" is no text to look for. */
	x.body = "";
	ck_assert_int_eq(http_judge(&x, a, 12, 0, &code), HTTP_PASS);
}
END_TEST

static void
nonblocking_pair(int sv[2])
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_ne(fcntl(sv[0], F_SETFL, O_NONBLOCK), -1);
}

static void
say(int fd, const char *s)
{
	ck_assert_int_eq(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

START_TEST(test_read)
{
	struct http_expect x = { 200, 200, NULL, LMD };
	char		 buf[32];
	size_t		 len = 0;
	int		 sv[2], code, p[2];

	nonblocking_pair(sv);
	/* Nothing there yet, then part of the line, then the rest. */
	ck_assert_int_eq(http_read(sv[0], buf, sizeof(buf), &len, &x, &code),
	    HTTP_MORE);
	say(sv[1], "HTTP/1.1 200");
	ck_assert_int_eq(http_read(sv[0], buf, sizeof(buf), &len, &x, &code),
	    HTTP_MORE);
	ck_assert_uint_eq(len, 12);
	say(sv[1], " OK\r\n");
	ck_assert_int_eq(http_read(sv[0], buf, sizeof(buf), &len, &x, &code),
	    HTTP_PASS);
	ck_assert_int_eq(code, 200);
	/* The peer closes before the line is whole. */
	len = 0;
	say(sv[1], "HTTP/1.1 200 OK");
	ck_assert_int_eq(http_read(sv[0], buf, sizeof(buf), &len, &x, &code),
	    HTTP_MORE);
	close(sv[1]);
	ck_assert_int_eq(http_read(sv[0], buf, sizeof(buf), &len, &x, &code),
	    HTTP_SHORT);
	close(sv[0]);
	/* Oversize: a line longer than the buffer is never whole. */
	nonblocking_pair(sv);
	len = 0;
	say(sv[1], "HTTP/1.1 200 OK and a very long reason\r\n");
	ck_assert_int_eq(http_read(sv[0], buf, sizeof(buf), &len, &x, &code),
	    HTTP_SHORT);
	ck_assert_uint_eq(len, sizeof(buf));
	close(sv[0]);
	close(sv[1]);
	/* recv() on what is no socket. */
	ck_assert_int_eq(pipe(p), 0);
	len = 0;
	ck_assert_int_eq(http_read(p[0], buf, sizeof(buf), &len, &x, &code),
	    HTTP_ERROR);
	ck_assert_int_eq(errno, ENOTSOCK);
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(test_request)
{
	const char	*want = "GET /health?x=1 HTTP/1.0\r\nHost: [2001:db8::1]"
			    "\r\nUser-Agent: t\r\nConnection: close\r\n\r\n";
	char		 buf[256];
	size_t		 n = strlen(want);

	ck_assert_int_eq(http_request(buf, sizeof(buf), "/health?x=1",
	    "[2001:db8::1]", "t"), (int)n);
	ck_assert_str_eq(buf, want);
	/* It fits with its NUL or not at all. */
	ck_assert_int_eq(http_request(buf, n + 1, "/health?x=1",
	    "[2001:db8::1]", "t"), (int)n);
	ck_assert_int_eq(http_request(buf, n, "/health?x=1",
	    "[2001:db8::1]", "t"), -1);
}
END_TEST

/* Connects to port of 127.0.0.1 and waits (5 s at most) for the end. */
static int
connect_loopback(uint16_t port)
{
	struct sockaddr_storage ss;
	struct pollfd	 pfd;
	union addr	 a;
	socklen_t	 sl;
	int		 fd, e;

	memset(&a, 0, sizeof(a));
	a.w[0] = htonl(INADDR_LOOPBACK);
	sl = addr_to_sockaddr(4, &a, port, &ss);
	ck_assert_int_ne(fd = probe_socket(4, PROBE_RST), -1);
	ck_assert_int_ne(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
	ck_assert_int_ne(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
	ck_assert_int_eq(probe_connect(fd, &ss, sl), 0);
	pfd.fd = fd;
	pfd.events = POLLOUT;
	ck_assert_msg(poll(&pfd, 1, 5000) == 1,
	    "the connect to port %u did not end within 5 s", port);
	e = probe_connected(fd);
	close(fd);
	return (e);
}

START_TEST(test_connect)
{
	struct sockaddr_in sin;
	socklen_t	 sl = sizeof(sin);
	int		 l;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_ne(l = socket(AF_INET, SOCK_STREAM, 0), -1);
	ck_assert_int_eq(bind(l, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(l, (struct sockaddr *)&sin, &sl), 0);
	ck_assert_int_eq(listen(l, 4), 0);
	ck_assert_int_eq(connect_loopback(ntohs(sin.sin_port)), 0);
	/* The same port with no one listening: refused. */
	close(l);
	ck_assert_int_eq(connect_loopback(ntohs(sin.sin_port)), ECONNREFUSED);
}
END_TEST

Suite *
probe_suite(void)
{
	Suite	*s = suite_create("probe");
	TCase	*tc = tcase_create("http");

	tcase_add_test(tc, test_status_loadd);
	tcase_add_test(tc, test_status_lmd);
	tcase_add_test(tc, test_judge_partial);
	tcase_add_test(tc, test_judge_status);
	tcase_add_test(tc, test_judge_body);
	tcase_add_test(tc, test_read);
	tcase_add_test(tc, test_request);
	suite_add_tcase(s, tc);
	tc = tcase_create("socket");
	tcase_add_test(tc, test_connect);
	suite_add_tcase(s, tc);
	return (s);
}
