/*
 * slowconn: holds many TCP connections to one address open, idle or
 * sending a request head one byte at a time (slowloris), and says what
 * the server did with them.  For tests/integration/metrics.sh.
 *
 *	slowconn [-n conns] [-t seconds] [-i ms] address port
 *
 * -n	connections (default 200, at most 1000)
 * -t	how long to hold them after the last one is made (default 10 s,
 *	at most 60)
 * -i	send one byte of a never-ending request head every ms
 *	milliseconds (default 0: send nothing)
 *
 * Prints "opened O failed F closed C open E": connections established,
 * those that could not be, those the server closed within the time,
 * and those still open at the end.  Stops by itself.
 */
#include <sys/socket.h>
#include <sys/time.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAXCONN	1000

static long long
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

int
main(int argc, char *argv[])
{
	static const char head[] = "GET /metrics HTTP/1.1\r\nX-Slow: ";
	struct sockaddr_storage ss;
	struct pollfd	 pfd[MAXCONN];
	struct timeval	 ctmo = { 2, 0 };
	size_t		 sent[MAXCONN];
	socklen_t	 sl;
	long long	 end, next;
	long		 n = 200, secs = 10, iv = 0;
	int		 ch, i, fd, opened = 0, failed = 0, closed = 0, open_ = 0;
	char		 buf[512];

	while ((ch = getopt(argc, argv, "n:t:i:")) != -1) {
		switch (ch) {
		case 'n':
			n = strtol(optarg, NULL, 10);
			break;
		case 't':
			secs = strtol(optarg, NULL, 10);
			break;
		case 'i':
			iv = strtol(optarg, NULL, 10);
			break;
		default:
			fprintf(stderr, "usage: slowconn [-n conns] [-t seconds] "
			    "[-i ms] address port\n");
			return (2);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 2 || n < 1 || n > MAXCONN || secs < 1 || secs > 60 ||
	    iv < 0)
		errx(2, "usage: slowconn [-n 1..%d] [-t 1..60] [-i ms] "
		    "address port", MAXCONN);
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, argv[0],
	    &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		ss.ss_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons(atoi(argv[1]));
		sl = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, argv[0],
	    &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		ss.ss_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(atoi(argv[1]));
		sl = sizeof(struct sockaddr_in6);
	} else
		errx(2, "%s: not an address", argv[0]);

	for (i = 0; i < n; i++) {
		pfd[i].fd = -1;
		pfd[i].events = POLLIN;
		sent[i] = 0;
		if ((fd = socket(ss.ss_family, SOCK_STREAM, 0)) == -1)
			err(1, "socket");
		/* A blocking connect, bounded: SO_SNDTIMEO bounds it too. */
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &ctmo,
		    sizeof(ctmo));
		if (connect(fd, (struct sockaddr *)&ss, sl) == -1) {
			failed++;
			close(fd);
			continue;
		}
		(void)fcntl(fd, F_SETFL, O_NONBLOCK);
		pfd[i].fd = fd;
		opened++;
	}
	/* The time counts from the last connection made. */
	end = now_ms() + secs * 1000;
	next = now_ms();
	while (now_ms() < end) {
		long long	 t = now_ms();
		int		 tmo = (int)(end - t);

		if (iv > 0) {
			if (t >= next) {
				for (i = 0; i < n; i++)
					if (pfd[i].fd != -1 &&
					    send(pfd[i].fd, head + sent[i] %
					    (sizeof(head) - 1), 1,
					    MSG_NOSIGNAL) == 1)
						sent[i]++;
				next = t + iv;
			}
			if (next - t < tmo)
				tmo = (int)(next - t);
		}
		if (poll(pfd, (nfds_t)n, tmo > 0 ? tmo : 0) == -1 &&
		    errno != EINTR)
			err(1, "poll");
		for (i = 0; i < n; i++) {
			ssize_t r;

			if (pfd[i].fd == -1 || pfd[i].revents == 0)
				continue;
			r = recv(pfd[i].fd, buf, sizeof(buf), 0);
			if (r > 0 || (r == -1 && errno == EAGAIN))
				continue;
			close(pfd[i].fd);
			pfd[i].fd = -1;
			closed++;
		}
	}
	for (i = 0; i < n; i++)
		if (pfd[i].fd != -1) {
			open_++;
			close(pfd[i].fd);
		}
	printf("opened %d failed %d closed %d open %d\n", opened, failed,
	    closed, open_);
	return (0);
}
