/*
 * What an active check does on the wire, shared by loadd's health probes
 * (loadd/hcprobe.c) and lmd's service checks (lmd/check.c): a non-blocking
 * TCP connect (to what addr_to_sockaddr() gives) and how it ended, an
 * HTTP/1.0 GET and the judging of its answer.  Nothing here keeps state,
 * waits or logs: each caller polls its own sockets, keeps its own
 * deadlines and words its own failures.
 */
#ifndef LOADD_PROBE_H
#define LOADD_PROBE_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>

#define PROBE_RST	0x1	/* close with a RST: no TIME_WAIT on either side */

/*
 * A non-blocking, close-on-exec TCP socket of family 4 or 6; -1 with
 * errno on failure.
 */
int		 probe_socket(int family, int flags);
/*
 * Starts connecting fd: 0 when the connect is done or under way (the
 * socket turns writable when it ends), -1 with errno when it failed.
 */
int		 probe_connect(int fd, const struct sockaddr_storage *,
		    socklen_t);
/* How a connect that has ended went: 0, or its errno. */
int		 probe_connected(int fd);

/*
 * "GET path HTTP/1.0" with Host, User-Agent and "Connection: close" into
 * buf; returns its length, or -1 when it does not fit in len.
 */
int		 http_request(char *buf, size_t len, const char *path,
		    const char *host, const char *agent);

/* What an HTTP check accepts of an answer. */
struct http_expect {
	int		 lo, hi;	/* the status codes that pass */
	const char	*body;		/* text the answer holds; NULL, "": any */
	int		 flags;
};
/*
 * The two programs read the status line as they always have: loadd takes
 * HTTP/1.0 and HTTP/1.1 and judges as soon as the first 12 bytes are in;
 * lmd takes any HTTP/d.d and judges the line once its CRLF has come.
 */
#define HTTP_ANYVERSION	0x1	/* HTTP/d.d, not only HTTP/1.0 and 1.1 */
#define HTTP_WHOLELINE	0x2	/* wait for the status line's CRLF */

enum http_verdict {
	HTTP_MORE = 0,		/* nothing to say yet: read on */
	HTTP_PASS,		/* the status passes, and the body if asked */
	HTTP_SHORT,		/* it ended before a status line could be read */
	HTTP_NOTHTTP,		/* its first line is not an HTTP status line */
	HTTP_STATUS,		/* a status outside lo-hi */
	HTTP_NOBODY,		/* the expected text is not in what was read */
	HTTP_ERROR,		/* http_read(): recv() failed, errno says why */
};

/*
 * The status code of the answer's first line: "HTTP/1.1 200 OK" is the
 * version, one space, three digits (the first 1 to 5), then a space or
 * the end of the line.  Returns the code, 0 when more of the answer is
 * needed to tell, -1 when it is not an HTTP status line.
 */
int		 http_status(const char *, size_t, int flags);
/*
 * Judges the len bytes of an answer read so far; end says that no more
 * will come (the peer closed, or the buffer is full).  *status is the
 * code once it has been read, 0 before.
 */
enum http_verdict http_judge(const struct http_expect *, const char *,
		    size_t len, int end, int *status);
/*
 * Reads what has come of the answer on fd into buf, after the *len bytes
 * already there and up to cap in all, then judges it as http_judge()
 * does.  A read that would block is HTTP_MORE.
 */
enum http_verdict http_read(int fd, char *buf, size_t cap, size_t *len,
		    const struct http_expect *, int *status);

#endif
