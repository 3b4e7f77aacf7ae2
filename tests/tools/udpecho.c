/*
 * udpecho: answers every UDP datagram to a port with a fixed text, from
 * one process and one socket, for bench/soak.sh.
 *
 *	udpecho [-t secs] port text
 *
 * The lab's responder, socat UDP4-RECVFROM,fork, leaves some datagrams of
 * a steady stream of requests unanswered (a few in a hundred, sent one
 * after another; the server's own counters show them arrive and no answer
 * leave), which a test that counts every request cannot tell from a
 * datagram the balancer lost.  This one reads a datagram and answers it
 * before it reads the next: nothing arriving is skipped.
 *
 * IPv4 and IPv6 (one socket, v4-mapped).  It ends after secs seconds
 * (default 86400) or on a signal; at the end it prints
 *
 *	answered N
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <err.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void	usage(void) __attribute__((noreturn));
static void	on_signal(int);

static volatile sig_atomic_t	stop;

static void
usage(void)
{
	fprintf(stderr, "usage: udpecho [-t secs] port text\n");
	exit(2);
}

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
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
	return v;
}

int
main(int argc, char *argv[])
{
	struct sockaddr_in6	 sin6;
	struct sockaddr_storage	 from;
	struct pollfd		 pfd;
	struct sigaction	 sa;
	socklen_t		 fromlen;
	char			 buf[2048], text[512];
	unsigned long		 secs = 86400, answered = 0;
	size_t			 tlen;
	time_t			 end;
	ssize_t			 n;
	int			 ch, fd, off = 0;

	while ((ch = getopt(argc, argv, "t:")) != -1) {
		switch (ch) {
		case 't':
			secs = number(optarg, 1, 86400 * 30, "seconds");
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 2)
		usage();
	/* The text and a newline, as "echo text" would answer. */
	tlen = strlen(argv[1]);
	if (tlen + 1 > sizeof(text))
		errx(2, "text longer than %zu bytes", sizeof(text) - 1);
	memcpy(text, argv[1], tlen);
	text[tlen++] = '\n';

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_addr = in6addr_any;
	sin6.sin6_port = htons((uint16_t)number(argv[0], 1, 65535, "port"));
	if ((fd = socket(AF_INET6, SOCK_DGRAM, 0)) == -1)
		err(1, "socket");
	if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) == -1)
		err(1, "IPV6_V6ONLY");
	if (bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)) == -1)
		err(1, "bind port %s", argv[0]);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	end = time(NULL) + (time_t)secs;
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (!stop && time(NULL) < end) {
		/* Wakes once a second to see the time and the signals. */
		if (poll(&pfd, 1, 1000) <= 0)
			continue;
		fromlen = sizeof(from);
		n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from,
		    &fromlen);
		if (n == -1)
			continue;
		if (sendto(fd, text, tlen, 0, (struct sockaddr *)&from,
		    fromlen) == (ssize_t)tlen)
			answered++;
	}
	printf("answered %lu\n", answered);
	return 0;
}
