/*
 * report_forge: what an attacker sends at loadd's report port, for the
 * integration test of the agents (tests/integration/agents.sh).
 *
 *   report_forge -d ADDR:PORT [-S SRC] [-n COUNT] WHAT
 *
 * sends COUNT (1) datagrams of one kind, WHAT being
 *
 *   -g LEN	LEN random bytes (at 104 bytes the magic is wrong: "bad
 *		version" in loadd's counters)
 *   -G ID	104 bytes: magic "LMDR", version 1, key id ID, then random
 *		bytes: "bad MAC", or "unknown key id" when loadd has no key ID
 *   -V		a well-formed header of version 2: "bad version"
 *   -k KEYFILE -s ADDR:PORT [-a AGE] [-c CPU] [-x up|down] [-D] [-M]
 *	[-q SEQ]
 *		a report for the server ADDR:PORT signed with the first key
 *		of KEYFILE (common/report.c), its timestamp AGE seconds ago
 *		(0; negative: ahead), CPU per mille (0), check up, no drain
 *		unless -D; its sequence number SEQ (a number, "max" for
 *		2^64-1, or "now+MS": that of an lmd started MS ms from now),
 *		by default "now+0".  -M makes it authentic but malformed
 *		(family 5, signed again).
 *   -r FILE	the bytes of FILE (a captured report), COUNT times
 *
 * With -S SRC the datagrams go out of a raw socket (IP_HDRINCL, so root
 * or CAP_NET_RAW) with the source address SRC: a spoofed sender.  Else
 * from an ordinary UDP socket.  Prints "sent N datagram(s) of L bytes".
 *
 *   report_forge -w FILE -l PORT -f SRC [-b OFF=VAL] [-t SECONDS]
 *
 * captures a report: waits (at most SECONDS, default 5) for a UDP
 * datagram of 104 bytes from SRC to PORT whose payload byte OFF is VAL,
 * as a raw UDP socket sees every datagram the host receives (so it does
 * not take the datagram away from loadd), and writes its payload to
 * FILE.  Exits 1 when none came.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <err.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "addr.h"
#include "report.h"

#define MAXDGRAM	2048
#define MAXCOUNT	100000

static void	 usage(void) __attribute__((noreturn));
static int	 parse_seq(const char *, uint64_t, uint64_t *);
static int	 parse4(const char *, struct in_addr *, uint16_t *, int);
static int	 capture(const char *, uint16_t, struct in_addr, int, int,
		    long);
static void	 send_all(const uint8_t *, size_t, struct in_addr, uint16_t,
		    const char *, long);

static void
usage(void)
{
	fprintf(stderr,
	    "usage: report_forge -d addr:port [-S src] [-n count] "
	    "-g len | -G keyid | -V | -r file |\n"
	    "           -k keyfile -s addr:port [-a age] [-c cpu] "
	    "[-x up|down] [-D] [-M] [-q seq]\n"
	    "       report_forge -w file -l port -f src [-b off=val] "
	    "[-t seconds]\n");
	exit(2);
}

/* "a.b.c.d" or, when want_port, "a.b.c.d:port". */
static int
parse4(const char *s, struct in_addr *in, uint16_t *port, int want_port)
{
	union addr	 a;
	uint16_t	 p = 0;

	if (addr_parse(s, &a, &p) != 4 || (want_port && p == 0))
		return (-1);
	memcpy(in, a.b, 4);
	if (port != NULL)
		*port = p;
	return (0);
}

/* "max", "now+MS" or a number; now is unix time in ms. */
static int
parse_seq(const char *s, uint64_t now, uint64_t *seq)
{
	unsigned long long	 v;
	char			*end;

	if (strcmp(s, "max") == 0) {
		*seq = UINT64_MAX;
		return (0);
	}
	if (strncmp(s, "now+", 4) == 0) {
		v = strtoull(s + 4, &end, 10);
		if (end == s + 4 || *end != '\0' || v > 86400000ull)
			return (-1);
		*seq = report_seq_start(now + v);
		return (0);
	}
	v = strtoull(s, &end, 10);
	if (end == s || *end != '\0')
		return (-1);
	*seq = v;
	return (0);
}

static int
capture(const char *file, uint16_t port, struct in_addr src, int off,
    int val, long seconds)
{
	struct pollfd	 pfd;
	struct timespec	 ts;
	uint8_t		 b[MAXDGRAM];
	uint64_t	 now, end;
	ssize_t		 n;
	size_t		 ihl, ulen;
	int		 fd, out;

	if ((fd = socket(AF_INET, SOCK_RAW, IPPROTO_UDP)) == -1)
		err(2, "raw socket");
	clock_gettime(CLOCK_MONOTONIC, &ts);
	end = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000 +
	    (uint64_t)seconds * 1000;
	pfd.fd = fd;
	pfd.events = POLLIN;
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		now = (uint64_t)ts.tv_sec * 1000 +
		    (uint64_t)ts.tv_nsec / 1000000;
		if (now >= end)
			break;
		if (poll(&pfd, 1, (int)(end - now)) <= 0)
			continue;
		if ((n = recv(fd, b, sizeof(b), 0)) < 28)
			continue;
		ihl = (size_t)(b[0] & 0x0f) * 4;
		if ((b[0] >> 4) != 4 || b[9] != IPPROTO_UDP || ihl < 20 ||
		    (size_t)n < ihl + 8 || memcmp(b + 12, &src, 4) != 0)
			continue;
		if (((b[ihl + 2] << 8) | b[ihl + 3]) != port)
			continue;
		ulen = (size_t)((b[ihl + 4] << 8) | b[ihl + 5]);
		if (ulen != 8 + REPORT_LEN || (size_t)n < ihl + ulen)
			continue;
		if (off >= 0 && b[ihl + 8 + (size_t)off] != val)
			continue;
		if ((out = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0600)) ==
		    -1)
			err(2, "%s", file);
		if (write(out, b + ihl + 8, REPORT_LEN) != REPORT_LEN)
			err(2, "%s", file);
		close(out);
		close(fd);
		printf("captured %d bytes from %s\n", REPORT_LEN,
		    inet_ntoa(src));
		return (0);
	}
	close(fd);
	fprintf(stderr, "report_forge: no report from %s to port %u in %ld "
	    "s\n", inet_ntoa(src), port, seconds);
	return (1);
}

static void
send_all(const uint8_t *p, size_t len, struct in_addr dst, uint16_t dport,
    const char *spoof, long count)
{
	struct sockaddr_in	 sin;
	struct in_addr		 src;
	uint8_t			 pkt[20 + 8 + MAXDGRAM];
	long			 i, sent = 0;
	int			 fd, on = 1;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr = dst;
	sin.sin_port = htons(dport);
	if (spoof == NULL) {
		if ((fd = socket(AF_INET, SOCK_DGRAM, 0)) == -1)
			err(2, "socket");
		for (i = 0; i < count; i++) {
			if (sendto(fd, p, len, 0, (struct sockaddr *)&sin,
			    sizeof(sin)) == (ssize_t)len)
				sent++;
			usleep(2000);
		}
		close(fd);
		printf("sent %ld datagram(s) of %zu bytes\n", sent, len);
		return;
	}
	if (parse4(spoof, &src, NULL, 0) == -1)
		usage();
	if ((fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW)) == -1)
		err(2, "raw socket");
	(void)setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &on, sizeof(on));
	memset(pkt, 0, 28);
	pkt[0] = 0x45;
	pkt[2] = (uint8_t)((28 + len) >> 8);	/* the kernel sets it anyway */
	pkt[3] = (uint8_t)(28 + len);
	pkt[8] = 64;
	pkt[9] = IPPROTO_UDP;
	memcpy(pkt + 12, &src, 4);
	memcpy(pkt + 16, &dst, 4);
	pkt[20] = 0x9c;				/* source port 40000 */
	pkt[21] = 0x40;
	pkt[22] = (uint8_t)(dport >> 8);
	pkt[23] = (uint8_t)dport;
	pkt[24] = (uint8_t)((8 + len) >> 8);
	pkt[25] = (uint8_t)(8 + len);
	/* UDP checksum 0: none, allowed over IPv4. */
	memcpy(pkt + 28, p, len);
	for (i = 0; i < count; i++) {
		if (sendto(fd, pkt, 28 + len, 0, (struct sockaddr *)&sin,
		    sizeof(sin)) == (ssize_t)(28 + len))
			sent++;
		usleep(2000);
	}
	close(fd);
	printf("sent %ld datagram(s) of %zu bytes from %s\n", sent, len,
	    spoof);
}

int
main(int argc, char *argv[])
{
	struct report_keys	 keys;
	struct report		 r;
	struct in_addr		 dst, src, sv;
	struct timespec		 now;
	uint8_t			 buf[MAXDGRAM];
	const char		*dest = NULL, *spoof = NULL, *keyfile = NULL;
	const char		*server = NULL, *rfile = NULL, *wfile = NULL;
	const char		*from = NULL, *seqtext = "now+0";
	double			 age = 0;
	size_t			 len = 0;
	ssize_t			 n;
	long			 count = 1, seconds = 5, glen = -1, cpu = 0;
	long			 gid = -1;
	uint16_t		 dport = 0, svport, lport = 0;
	int			 ch, fd, version2 = 0, down = 0, drain = 0;
	int			 malformed = 0, off = -1, val = 0;

	while ((ch = getopt(argc, argv, "a:b:c:Dd:f:G:g:k:l:Mn:q:r:S:s:t:Vw:x:"))
	    != -1) {
		switch (ch) {
		case 'a':
			age = atof(optarg);
			break;
		case 'b':
			if (sscanf(optarg, "%d=%d", &off, &val) != 2 ||
			    off < 0 || off >= REPORT_LEN)
				usage();
			break;
		case 'c':
			cpu = atol(optarg);
			break;
		case 'D':
			drain = 1;
			break;
		case 'd':
			dest = optarg;
			break;
		case 'f':
			from = optarg;
			break;
		case 'G':
			gid = atol(optarg);
			break;
		case 'g':
			glen = atol(optarg);
			break;
		case 'k':
			keyfile = optarg;
			break;
		case 'l':
			lport = (uint16_t)atoi(optarg);
			break;
		case 'M':
			malformed = 1;
			break;
		case 'n':
			count = atol(optarg);
			break;
		case 'q':
			seqtext = optarg;
			break;
		case 'r':
			rfile = optarg;
			break;
		case 'S':
			spoof = optarg;
			break;
		case 's':
			server = optarg;
			break;
		case 't':
			seconds = atol(optarg);
			break;
		case 'V':
			version2 = 1;
			break;
		case 'w':
			wfile = optarg;
			break;
		case 'x':
			if (strcmp(optarg, "down") == 0)
				down = 1;
			else if (strcmp(optarg, "up") != 0)
				usage();
			break;
		default:
			usage();
		}
	}
	if (argc != optind)
		usage();
	if (report_init() == -1)
		errx(2, "libsodium cannot be used");

	if (wfile != NULL) {
		if (from == NULL || lport == 0 ||
		    parse4(from, &src, NULL, 0) == -1 || seconds < 1)
			usage();
		return (capture(wfile, lport, src, off, val, seconds));
	}

	if (dest == NULL || parse4(dest, &dst, &dport, 1) == -1 ||
	    count < 1 || count > MAXCOUNT)
		usage();
	if (glen >= 0) {
		if (glen > MAXDGRAM)
			usage();
		len = (size_t)glen;
		randombytes_buf(buf, len);
	} else if (gid >= 0 || version2) {
		len = REPORT_LEN;
		randombytes_buf(buf, len);
		buf[0] = 'L';
		buf[1] = 'M';
		buf[2] = 'D';
		buf[3] = 'R';
		buf[4] = version2 ? 2 : REPORT_VERSION;
		buf[5] = (uint8_t)(gid >= 0 ? gid : 1);
	} else if (rfile != NULL) {
		if ((fd = open(rfile, O_RDONLY)) == -1)
			err(2, "%s", rfile);
		if ((n = read(fd, buf, sizeof(buf))) <= 0)
			errx(2, "%s: empty", rfile);
		close(fd);
		len = (size_t)n;
	} else if (keyfile != NULL) {
		if (server == NULL || parse4(server, &sv, &svport, 1) == -1 ||
		    cpu < 0 || cpu > REPORT_PM_MAX)
			usage();
		if (report_keys_load(&keys, keyfile) == -1 || keys.n == 0)
			exit(2);
		clock_gettime(CLOCK_REALTIME, &now);
		memset(&r, 0, sizeof(r));
		r.family = 4;
		r.proto = IPPROTO_TCP;
		memcpy(r.addr.b, &sv, 4);
		r.port = svport;
		r.conn_port = svport;
		if (parse_seq(seqtext, (uint64_t)now.tv_sec * 1000 +
		    (uint64_t)now.tv_nsec / 1000000, &r.seq) == -1)
			usage();
		r.ts_sec = (uint64_t)((double)now.tv_sec - age);
		r.ts_nsec = (uint32_t)now.tv_nsec;
		r.cpu_pm = (uint16_t)cpu;
		r.mem_pm = 100;
		r.check = down ? REPORT_CHECK_DOWN : REPORT_CHECK_UP;
		r.flags = drain ? REPORT_F_DRAIN : 0;
		r.check_us = 100;
		r.interval_ms = 500;
		if (report_encode(buf, sizeof(buf), &r, &keys.k[0]) !=
		    REPORT_LEN)
			errx(2, "cannot encode the report");
		len = REPORT_LEN;
		if (malformed) {
			/* The family byte (offset 6), then the MAC again. */
			buf[6] = 5;
			crypto_auth_hmacsha256(buf + REPORT_BODYLEN, buf,
			    REPORT_BODYLEN, keys.k[0].key);
		}
		report_keys_clear(&keys);
	} else
		usage();

	send_all(buf, len, dst, dport, spoof, count);
	return (0);
}
