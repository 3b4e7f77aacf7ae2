/*
 * udpsize: one UDP request of a chosen size, one answer of a chosen size,
 * both checked byte for byte, for the large-datagram tests
 * (tests/integration/frag.sh).
 *
 *	udpsize -l port
 *	udpsize [-n tries] host port request_bytes answer_bytes
 *
 * Server (-l): one socket for IPv4 and IPv6 on the port; every datagram
 * that is a well-formed request is answered from the address it came to,
 * with a datagram of the size asked for.
 *
 * Client: sends the request and waits up to a second for the answer; a
 * request whose answer does not come is sent again, up to tries times
 * (default 5).  Prints one line, "ok: sent N, received M", or what went
 * wrong; exit status 0 only for a complete, correct answer.
 *
 * The request:  "LDSZ", the answer's size (4 bytes, network order), then
 *               filler.
 * The answer:   "LDSZ", the request's size as received (4 bytes), 1 if
 *               the request's filler was intact and 0 if not, then filler.
 * The filler byte at offset i is (i * 31 + 7) mod 256: a datagram whose
 * fragments were put together in the wrong order, or cut, shows.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <err.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAGIC		"LDSZ"
#define HDRLEN		9
#define MAXDGRAM	65507	/* the largest UDP payload over IPv4 */

static void		 usage(void) __attribute__((noreturn));
static unsigned long	 number(const char *, unsigned long, unsigned long,
			    const char *);
static void		 fill(uint8_t *, size_t, size_t);
static int		 intact(const uint8_t *, size_t, size_t);
static int		 serve(const char *);
static int		 ask(const char *, const char *, size_t, size_t,
			    unsigned);

static uint8_t		 buf[MAXDGRAM + 1];
static uint8_t		 out[MAXDGRAM];

static void
usage(void)
{
	fprintf(stderr, "usage: udpsize -l port\n"
	    "       udpsize [-n tries] host port request_bytes "
	    "answer_bytes\n");
	exit(2);
}

static unsigned long
number(const char *s, unsigned long min, unsigned long max, const char *what)
{
	char		*end;
	unsigned long	 v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		errx(2, "%s: %s out of range %lu..%lu", s, what, min, max);
	return (v);
}

static void
fill(uint8_t *p, size_t from, size_t to)
{
	size_t	 i;

	for (i = from; i < to; i++)
		p[i] = (uint8_t)(i * 31 + 7);
}

static int
intact(const uint8_t *p, size_t from, size_t to)
{
	size_t	 i;

	for (i = from; i < to; i++)
		if (p[i] != (uint8_t)(i * 31 + 7))
			return (0);
	return (1);
}

static int
serve(const char *port)
{
	struct sockaddr_in6	 sin6;
	struct sockaddr_storage	 ss;
	socklen_t		 sl;
	ssize_t			 n;
	uint32_t		 want, got;
	int			 fd, off = 0, one = 1;

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons((uint16_t)number(port, 1, 65535, "port"));
	if ((fd = socket(AF_INET6, SOCK_DGRAM, 0)) == -1)
		err(1, "socket");
	(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)) == -1)
		err(1, "bind port %s", port);
	for (;;) {
		sl = sizeof(ss);
		n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&ss,
		    &sl);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			err(1, "recvfrom");
		}
		/* Not a request, or asking for too much or too little. */
		if (n < 8 || memcmp(buf, MAGIC, 4) != 0)
			continue;
		memcpy(&want, buf + 4, 4);
		want = ntohl(want);
		if (want < HDRLEN || want > MAXDGRAM)
			continue;
		memcpy(out, MAGIC, 4);
		got = htonl((uint32_t)n);
		memcpy(out + 4, &got, 4);
		out[8] = (uint8_t)intact(buf, 8, (size_t)n);
		fill(out, HDRLEN, want);
		if (sendto(fd, out, want, 0, (struct sockaddr *)&ss, sl) == -1)
			warn("sendto");
	}
}

static int
ask(const char *host, const char *port, size_t reqlen, size_t anslen,
    unsigned tries)
{
	struct addrinfo	 hints, *ai;
	struct pollfd	 pfd;
	uint32_t	 v;
	ssize_t		 n;
	unsigned	 t;
	int		 fd, rc, lasterr = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, port, &hints, &ai)) != 0)
		errx(2, "%s port %s: %s", host, port, gai_strerror(rc));
	if ((fd = socket(ai->ai_family, SOCK_DGRAM, 0)) == -1)
		err(1, "socket");
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1)
		err(1, "connect %s port %s", host, port);
	freeaddrinfo(ai);
	memcpy(out, MAGIC, 4);
	v = htonl((uint32_t)anslen);
	memcpy(out + 4, &v, 4);
	fill(out, 8, reqlen);
	for (t = 0; t < tries; t++) {
		if (send(fd, out, reqlen, 0) == -1) {
			lasterr = errno;
			continue;
		}
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 1000) <= 0)
			continue;
		if ((n = recv(fd, buf, sizeof(buf), 0)) == -1) {
			/* An ICMP error from an earlier try, say. */
			lasterr = errno;
			continue;
		}
		if ((size_t)n != anslen || n < HDRLEN ||
		    memcmp(buf, MAGIC, 4) != 0) {
			printf("bad answer: %zd bytes, %zu expected\n", n,
			    anslen);
			return (1);
		}
		memcpy(&v, buf + 4, 4);
		if (ntohl(v) != reqlen || buf[8] != 1) {
			printf("the server received %u bytes (%zu sent), "
			    "%s\n", ntohl(v), reqlen, buf[8] == 1 ? "intact" :
			    "damaged");
			return (1);
		}
		if (!intact(buf, HDRLEN, anslen)) {
			printf("answer of %zd bytes damaged\n", n);
			return (1);
		}
		printf("ok: sent %zu, received %zd\n", reqlen, n);
		return (0);
	}
	printf("no answer after %u tries%s%s\n", tries,
	    lasterr ? ": " : "", lasterr ? strerror(lasterr) : "");
	return (1);
}

int
main(int argc, char *argv[])
{
	const char	*listen = NULL;
	unsigned	 tries = 5;
	int		 ch;

	while ((ch = getopt(argc, argv, "l:n:")) != -1) {
		switch (ch) {
		case 'l':
			listen = optarg;
			break;
		case 'n':
			tries = (unsigned)number(optarg, 1, 1000, "tries");
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (listen != NULL) {
		if (argc != 0)
			usage();
		return (serve(listen));
	}
	if (argc != 4)
		usage();
	return (ask(argv[0], argv[1],
	    number(argv[2], 8, MAXDGRAM, "request size"),
	    number(argv[3], HDRLEN, MAXDGRAM, "answer size"), tries));
}
