/*
 * The wire side of an active check, for loadd's probes and lmd's checks
 * alike (probe.h).  Every byte of an answer comes from the server being
 * checked and is judged by its length, never as a string.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "probe.h"

int
probe_socket(int family, int flags)
{
	struct linger	 lg = { 1, 0 };
	int		 fd;

	fd = socket(family == 6 ? AF_INET6 : AF_INET,
	    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	if (fd != -1 && (flags & PROBE_RST))
		(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	return (fd);
}

int
probe_connect(int fd, const struct sockaddr_storage *ss, socklen_t len)
{
	if (connect(fd, (const struct sockaddr *)ss, len) == -1 &&
	    errno != EINPROGRESS)
		return (-1);
	return (0);
}

int
probe_connected(int fd)
{
	socklen_t	 len = sizeof(int);
	int		 e = 0;

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) == -1)
		e = errno;
	return (e);
}

int
http_request(char *buf, size_t len, const char *path, const char *host,
    const char *agent)
{
	int	 n;

	n = snprintf(buf, len, "GET %s HTTP/1.0\r\nHost: %s\r\n"
	    "User-Agent: %s\r\nConnection: close\r\n\r\n", path, host, agent);
	if (n < 0 || (size_t)n >= len)
		return (-1);
	return (n);
}

static int
is_digit(char c)
{
	return (c >= '0' && c <= '9');
}

int
http_status(const char *b, size_t n, int flags)
{
	const char	*eol;

	if (flags & HTTP_WHOLELINE) {
		if ((eol = memmem(b, n, "\r\n", 2)) == NULL)
			return (0);
		n = (size_t)(eol - b);
		if (n < 12)
			return (-1);
	} else if (n < 12)
		return (0);
	if (memcmp(b, "HTTP/", 5) != 0 || b[6] != '.' || b[8] != ' ')
		return (-1);
	if (flags & HTTP_ANYVERSION) {
		if (!is_digit(b[5]) || !is_digit(b[7]))
			return (-1);
	} else if (b[5] != '1' || (b[7] != '0' && b[7] != '1'))
		return (-1);
	if (b[9] < '1' || b[9] > '5' || !is_digit(b[10]) || !is_digit(b[11]))
		return (-1);
	/*
	 * The end of the line: a whole line was cut before its CRLF, so
	 * only a space may follow the code there (a lone CR is no end of
	 * line); judged on its first bytes, a CR is where its CRLF starts.
	 */
	if (n > 12 && b[12] != ' ' &&
	    ((flags & HTTP_WHOLELINE) || b[12] != '\r'))
		return (-1);
	return ((b[9] - '0') * 100 + (b[10] - '0') * 10 + (b[11] - '0'));
}

enum http_verdict
http_judge(const struct http_expect *x, const char *b, size_t n, int end,
    int *status)
{
	const char	*body;
	int		 st;

	*status = 0;
	if ((st = http_status(b, n, x->flags)) == 0)
		return (end ? HTTP_SHORT : HTTP_MORE);
	if (st == -1)
		return (HTTP_NOTHTTP);
	*status = st;
	if (st < x->lo || st > x->hi)
		return (HTTP_STATUS);
	if (x->body == NULL || x->body[0] == '\0')
		return (HTTP_PASS);
	/* The body starts after the blank line that ends the header. */
	if ((body = memmem(b, n, "\r\n\r\n", 4)) != NULL &&
	    memmem(body + 4, n - (size_t)(body + 4 - b), x->body,
	    strlen(x->body)) != NULL)
		return (HTTP_PASS);
	return (end ? HTTP_NOBODY : HTTP_MORE);
}

enum http_verdict
http_read(int fd, char *buf, size_t cap, size_t *len,
    const struct http_expect *x, int *status)
{
	ssize_t	 r;

	*status = 0;
	r = recv(fd, buf + *len, cap - *len, 0);
	if (r == -1)
		return (errno == EAGAIN || errno == EINTR ? HTTP_MORE :
		    HTTP_ERROR);
	*len += (size_t)r;
	return (http_judge(x, buf, *len, r == 0 || *len == cap, status));
}
