/*
 * udpblast: small UDP datagrams as fast as it can (or at a given rate),
 * bounded in time and in count, for the live benchmark (bench/live.sh).
 *
 *	udpblast [-t secs] [-n count] [-r pps] [-s bytes] [-k sockets]
 *	    [-p first_port] dst:port ...
 *	udpblast -R -a first_src -A naddrs -p first_port -P nports
 *	    [-t secs] [-n count] [-r pps] [-s bytes] dst:port
 *
 * Socket mode (the default): K UDP sockets, each with its own source port
 * (first_port + i if -p is given, else an ephemeral one), socket i
 * connected to the (i mod D)-th destination; it
 * sends batches of 64 datagrams with sendmmsg() on each socket in turn.
 * Every socket is one flow (source port, destination), so a balancer that
 * spreads flows spreads them over its servers; -k 1 is one flow.  Fixed
 * ports (-p) keep one benchmark mode from meeting flows (conntrack
 * entries) another mode left behind.
 *
 * Raw mode (-R): one raw IPv4 socket sending datagrams that it builds,
 * from naddrs source addresses counted up from first_src and nports
 * source ports counted up from first_port: every (address, port) pair in
 * turn, naddrs x nports distinct flows, then again from the first.  This
 * is how the benchmark fills loadd's flow table with a million flows.
 * Root (CAP_NET_RAW).
 *
 * It stops after secs seconds (default 5) or count datagrams (default
 * 10^9), whichever comes first, and prints one line:
 *
 *	sent N secs T errors E
 *
 * Exit status 0 if anything went out.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <arpa/inet.h>

#include <err.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BATCH		64
#define MAXSOCKS	1024
#define MAXDSTS		16
#define MAXPAYLOAD	1400
#define HDRS		(sizeof(struct ip) + sizeof(struct udphdr))

static void	usage(void) __attribute__((noreturn));

static void
usage(void)
{
	fprintf(stderr, "usage: udpblast [-t secs] [-n count] [-r pps] "
	    "[-s bytes] [-k sockets]\n"
	    "           [-p first_port] dst:port ...\n"
	    "       udpblast -R -a first_src -A naddrs -p first_port "
	    "-P nports [-t secs]\n"
	    "           [-n count] [-r pps] [-s bytes] dst:port\n");
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
	return v;
}

static void
parse_dst(const char *s, struct sockaddr_in *sin)
{
	char		 buf[64];
	char		*colon;

	if (strlen(s) >= sizeof(buf))
		errx(2, "%s: too long", s);
	strcpy(buf, s);
	if ((colon = strrchr(buf, ':')) == NULL)
		errx(2, "%s: want address:port", s);
	*colon = '\0';
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	if (inet_pton(AF_INET, buf, &sin->sin_addr) != 1)
		errx(2, "%s: not an IPv4 address", buf);
	sin->sin_port = htons((uint16_t)number(colon + 1, 1, 65535, "port"));
}

static double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Ones' complement sum of len bytes, folded later. */
static uint32_t
sum16(const void *p, size_t len, uint32_t sum)
{
	const uint8_t	*b = p;

	while (len > 1) {
		sum += (uint32_t)(b[0] << 8 | b[1]);
		b += 2;
		len -= 2;
	}
	if (len == 1)
		sum += (uint32_t)(b[0] << 8);
	return sum;
}

static uint16_t
fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/*
 * Paces to rate datagrams per second: sleeps while the datagrams sent so
 * far are ahead of the time elapsed.
 */
static void
pace(unsigned long rate, unsigned long sent, double t0)
{
	double		ahead;
	struct timespec	ts;

	if (rate == 0)
		return;
	ahead = (double)sent / (double)rate - (now() - t0);
	if (ahead > 0.0002) {
		ts.tv_sec = (time_t)ahead;
		ts.tv_nsec = (long)((ahead - (double)ts.tv_sec) * 1e9);
		nanosleep(&ts, NULL);
	}
}

int
main(int argc, char *argv[])
{
	static uint8_t		 pkts[BATCH][HDRS + MAXPAYLOAD];
	static struct mmsghdr	 msgs[BATCH];
	static struct iovec	 iov[BATCH];
	static int		 socks[MAXSOCKS];
	struct sockaddr_in	 dsts[MAXDSTS], first_src;
	double			 secs = 5, t0, t;
	unsigned long		 count = 1000000000UL, rate = 0, sent = 0;
	unsigned long		 errors = 0, naddrs = 0, nports = 0;
	unsigned long		 first_port = 0, k = 64, i, n, pair = 0, npairs;
	size_t			 payload = 18;
	int			 ch, raw = 0, have_src = 0, ndst, s, r;
	unsigned int		 cur = 0;

	while ((ch = getopt(argc, argv, "A:a:k:n:P:p:Rr:s:t:")) != -1) {
		switch (ch) {
		case 'A':
			naddrs = number(optarg, 1, 1UL << 24, "addresses");
			break;
		case 'a':
			if (inet_pton(AF_INET, optarg, &first_src.sin_addr) != 1)
				errx(2, "%s: not an IPv4 address", optarg);
			have_src = 1;
			break;
		case 'k':
			k = number(optarg, 1, MAXSOCKS, "sockets");
			break;
		case 'n':
			count = number(optarg, 1, ULONG_MAX, "count");
			break;
		case 'P':
			nports = number(optarg, 1, 65535, "ports");
			break;
		case 'p':
			first_port = number(optarg, 1, 65535, "port");
			break;
		case 'R':
			raw = 1;
			break;
		case 'r':
			rate = number(optarg, 1, ULONG_MAX, "rate");
			break;
		case 's':
			payload = number(optarg, 0, MAXPAYLOAD, "size");
			break;
		case 't':
			secs = (double)number(optarg, 1, 3600, "seconds");
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1 || argc > MAXDSTS || (raw && argc != 1))
		usage();
	ndst = argc;
	for (s = 0; s < ndst; s++)
		parse_dst(argv[s], &dsts[s]);

	memset(pkts, 0, sizeof(pkts));
	for (i = 0; i < BATCH; i++) {
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}

	if (raw) {
		if (!have_src || naddrs == 0 || nports == 0 ||
		    first_port == 0 || first_port + nports - 1 > 65535)
			usage();
		npairs = naddrs * nports;
		if ((s = socket(AF_INET, SOCK_RAW, IPPROTO_RAW)) == -1)
			err(1, "raw socket");
		for (i = 0; i < BATCH; i++) {
			iov[i].iov_base = pkts[i];
			iov[i].iov_len = HDRS + payload;
			msgs[i].msg_hdr.msg_name = &dsts[0];
			msgs[i].msg_hdr.msg_namelen = sizeof(dsts[0]);
		}
		t0 = now();
		while (sent < count && (t = now()) - t0 < secs) {
			n = count - sent < BATCH ? count - sent : BATCH;
			for (i = 0; i < n; i++) {
				struct ip	*ip = (struct ip *)pkts[i];
				struct udphdr	*uh = (struct udphdr *)(ip + 1);
				uint32_t	 src, sum;
				uint16_t	 ulen;

				src = ntohl(first_src.sin_addr.s_addr) +
				    (uint32_t)(pair % naddrs);
				ulen = (uint16_t)(sizeof(*uh) + payload);
				ip->ip_v = 4;
				ip->ip_hl = 5;
				ip->ip_ttl = 64;
				ip->ip_p = IPPROTO_UDP;
				ip->ip_len = htons((uint16_t)(HDRS + payload));
				ip->ip_src.s_addr = htonl(src);
				ip->ip_dst = dsts[0].sin_addr;
				uh->uh_sport = htons((uint16_t)(first_port +
				    pair / naddrs));
				uh->uh_dport = dsts[0].sin_port;
				uh->uh_ulen = htons(ulen);
				uh->uh_sum = 0;
				/* Pseudo-header, header, zero payload. */
				sum = sum16(&ip->ip_src, 8, 0);
				sum += IPPROTO_UDP + ulen;
				sum = sum16(uh, sizeof(*uh), sum);
				/* sum16 adds big-endian words: store it so. */
				uh->uh_sum = htons(fold(sum));
				if (uh->uh_sum == 0)
					uh->uh_sum = 0xffff;
				if (++pair == npairs)
					pair = 0;
			}
			r = sendmmsg(s, msgs, (unsigned int)n, 0);
			if (r > 0)
				sent += (unsigned long)r;
			else
				errors++;
			pace(rate, sent, t0);
		}
	} else {
		if (first_port != 0 && first_port + k - 1 > 65535)
			usage();
		for (i = 0; i < k; i++) {
			if ((socks[i] = socket(AF_INET, SOCK_DGRAM, 0)) == -1)
				err(1, "socket");
			if (first_port != 0) {
				struct sockaddr_in	src;

				memset(&src, 0, sizeof(src));
				src.sin_family = AF_INET;
				src.sin_port = htons((uint16_t)(first_port + i));
				if (bind(socks[i], (struct sockaddr *)&src,
				    sizeof(src)) == -1)
					err(1, "bind port %lu", first_port + i);
			}
			if (connect(socks[i], (struct sockaddr *)&dsts[i %
			    (unsigned long)ndst], sizeof(dsts[0])) == -1)
				err(1, "connect %s", argv[i % (unsigned long)ndst]);
		}
		for (i = 0; i < BATCH; i++) {
			iov[i].iov_base = pkts[i];
			iov[i].iov_len = payload;
		}
		t0 = now();
		while (sent < count && (t = now()) - t0 < secs) {
			n = count - sent < BATCH ? count - sent : BATCH;
			r = sendmmsg(socks[cur], msgs, (unsigned int)n,
			    MSG_DONTWAIT);
			if (r > 0)
				sent += (unsigned long)r;
			else
				errors++;
			if (++cur == k)
				cur = 0;
			pace(rate, sent, t0);
		}
	}
	t = now() - t0;
	printf("sent %lu secs %.3f errors %lu\n", sent, t, errors);
	return sent > 0 ? 0 : 1;
}
