/*
 * report_recv: the receiving end of the lmd tests.  Listens on a UDP
 * address, decodes every datagram with common/report.c under the keys of
 * a key file, and prints one line per datagram:
 *
 *   ms=ELAPSED from=ADDR result=ok|<error> seq=N ... drain=0|1
 *
 * so that a shell test can check what lmd sends and when.  It stops
 * after -t seconds or -n datagrams.
 *
 *   report_recv -k keyfile -l 127.0.0.1:8671 [-t seconds] [-n count]
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <err.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "report.h"

static uint64_t
now_ms(clockid_t clk)
{
	struct timespec	 ts;

	clock_gettime(clk, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

int
main(int argc, char *argv[])
{
	struct report_keys	 keys;
	struct report		 r;
	struct sockaddr_in	 sin, from;
	struct pollfd		 pfd;
	union addr		 a;
	socklen_t		 flen;
	uint8_t			 buf[2048];
	const char		*keyfile = NULL, *listen_at = NULL;
	char			 as[ADDR_STRLEN], fs[ADDR_STRLEN];
	uint64_t		 start, deadline, wall, ts;
	long			 seconds = 10, count = -1, got = 0;
	uint16_t		 port;
	ssize_t			 n;
	int			 ch, fd, e;

	while ((ch = getopt(argc, argv, "k:l:n:t:")) != -1) {
		switch (ch) {
		case 'k':
			keyfile = optarg;
			break;
		case 'l':
			listen_at = optarg;
			break;
		case 'n':
			count = atol(optarg);
			break;
		case 't':
			seconds = atol(optarg);
			break;
		default:
			errx(2, "usage: report_recv -k keyfile -l addr:port "
			    "[-t seconds] [-n count]");
		}
	}
	if (keyfile == NULL || listen_at == NULL ||
	    addr_parse(listen_at, &a, &port) != 4 || port == 0)
		errx(2, "usage: report_recv -k keyfile -l addr:port "
		    "[-t seconds] [-n count]");
	if (report_init() == -1 || report_keys_load(&keys, keyfile) == -1)
		exit(2);
	if ((fd = socket(AF_INET, SOCK_DGRAM, 0)) == -1)
		err(2, "socket");
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	memcpy(&sin.sin_addr, a.b, 4);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		err(2, "bind %s", listen_at);
	printf("listening\n");
	fflush(stdout);
	start = now_ms(CLOCK_MONOTONIC);
	deadline = start + (uint64_t)seconds * 1000;
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (count < 0 || got < count) {
		uint64_t t = now_ms(CLOCK_MONOTONIC);

		if (t >= deadline)
			break;
		if (poll(&pfd, 1, (int)(deadline - t)) <= 0)
			continue;
		flen = sizeof(from);
		if ((n = recvfrom(fd, buf, sizeof(buf), 0,
		    (struct sockaddr *)&from, &flen)) == -1)
			continue;
		got++;
		memset(&a, 0, sizeof(a));
		memcpy(a.b, &from.sin_addr, 4);
		addr_ntop(4, &a, fs, sizeof(fs));
		printf("ms=%llu from=%s len=%zd ", (unsigned long long)
		    (now_ms(CLOCK_MONOTONIC) - start), fs, n);
		if ((e = report_decode(&r, buf, (size_t)n, &keys)) !=
		    REPORT_OK) {
			printf("result=\"%s\"\n", report_strerror(e));
			fflush(stdout);
			continue;
		}
		wall = now_ms(CLOCK_REALTIME);
		ts = r.ts_sec * 1000 + r.ts_nsec / 1000000;
		printf("result=ok keyid=%u server=%s:%u/%s conn_port=%u "
		    "seq=%llu skew_ms=%lld cpu=%u mem=%u load=%u conns=%u "
		    "check=%s check_us=%u drain=%d weight=%u interval=%u\n",
		    r.keyid, addr_ntop(r.family, &r.addr, as, sizeof(as)),
		    r.port, r.proto == 6 ? "tcp" : "udp", r.conn_port,
		    (unsigned long long)r.seq, (long long)(wall - ts),
		    r.cpu_pm, r.mem_pm, r.load100, r.conns,
		    r.check == REPORT_CHECK_UP ? "up" :
		    r.check == REPORT_CHECK_DOWN ? "down" : "unknown",
		    r.check_us, (r.flags & REPORT_F_DRAIN) != 0, r.weight,
		    r.interval_ms);
		fflush(stdout);
	}
	report_keys_clear(&keys);
	close(fd);
	return (0);
}
