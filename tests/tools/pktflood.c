/*
 * pktflood: sends garbage at a virtual address, so that the integration
 * test can watch loadd drop it, count it and go on serving.
 *
 *	pktflood -d VIP -c COUNT [-s SEED] [-p PORT] [-S SRC]
 *
 * Raw IPv4 through libnet (LIBNET_RAW4), so it needs root or CAP_NET_RAW;
 * the integration test runs it in a client namespace.  Linux fills in the
 * total length and the header checksum of everything a raw socket sends,
 * so garbage in the IP header itself cannot go out this way; the kinds
 * below are what passes the kernel's checks and must be stopped by loadd:
 *
 *	truncated TCP header	protocol 6 with 1..19 bytes of payload
 *	TCP data offset < 5
 *	TCP data offset beyond the segment
 *	UDP to VIP:PORT whose length field is wrong
 *	other protocols		a random protocol number, random payload
 *	ICMP echo
 *	IP fragments		MF set with a TCP header, or a later offset
 *	TCP ACK for no flow	a mid-stream segment loadd never saw begin
 *	random TCP		20..80 random bytes as protocol 6
 *
 * One of each in turn, COUNT in all; the same SEED sends the same bytes.
 * The source address is SRC, or by default the one the kernel would use
 * towards VIP, so that the well-formed parts (the ACKs, ICMP) carry right
 * checksums.  Prints how many packets went out; exits 0 if any did.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <err.h>
#include <errno.h>
#include <libnet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAXCOUNT	100000000UL

enum kind {
	K_TCP_SHORT,
	K_TCP_DOFF_LOW,
	K_TCP_DOFF_HIGH,
	K_UDP_BADLEN,
	K_PROTO,
	K_ICMP,
	K_FRAG,
	K_ACK_NOFLOW,
	K_RANDOM_TCP,
	K_N
};

static uint32_t	 rng;

static void	 usage(void) __attribute__((noreturn));
static uint32_t	 rnd(void);
static void	 fill(uint8_t *, size_t);
static unsigned long number(const char *, unsigned long);
static void	 put16(uint8_t *, uint16_t);
static void	 chomp(char *);
static uint32_t	 route_source(uint32_t);
static int	 build(libnet_t *, enum kind, uint32_t, uint32_t, uint16_t);

static void
usage(void)
{
	fprintf(stderr, "usage: pktflood -d VIP -c COUNT [-s SEED] [-p PORT] "
	    "[-S SRC]\n");
	exit(1);
}

/* xorshift32: the same sequence for the same seed, on any libc. */
static uint32_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return (rng);
}

static void
fill(uint8_t *buf, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)rnd();
}

static unsigned long
number(const char *s, unsigned long max)
{
	unsigned long	 l;
	char		*end;

	errno = 0;
	l = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s || l > max)
		errx(1, "%s: not a number (0..%lu)", s, max);
	return (l);
}

/*
 * The source address of the route to dst: connecting a UDP socket sends
 * nothing but makes the kernel choose one.  0 if there is no route; the
 * kernel then fills in the address of each packet it sends.
 */
static uint32_t
route_source(uint32_t dst)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	uint32_t		 src = 0;
	int			 s;

	if ((s = socket(AF_INET, SOCK_DGRAM, 0)) == -1)
		return (0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(9);
	sin.sin_addr.s_addr = dst;
	if (connect(s, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    getsockname(s, (struct sockaddr *)&sin, &len) == 0)
		src = sin.sin_addr.s_addr;
	close(s);
	return (src);
}

/* libnet ends some of its messages in a newline, some not. */
static void
chomp(char *s)
{
	size_t	 n = strlen(s);

	if (n > 0 && s[n - 1] == '\n')
		s[n - 1] = '\0';
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/*
 * Builds one packet of the given kind in l.  Returns 0, or -1 with
 * libnet's error in l.
 */
static int
build(libnet_t *l, enum kind k, uint32_t src, uint32_t dst, uint16_t port)
{
	uint8_t		 b[128];
	uint16_t	 len = 0, frag = 0, sport;
	uint8_t		 proto = IPPROTO_TCP;
	unsigned	 doff;

	sport = (uint16_t)(1024 + rnd() % 64000);
	switch (k) {
	case K_TCP_SHORT:
		len = (uint16_t)(1 + rnd() % 19);
		fill(b, len);
		if (len >= 4) {
			put16(b, sport);
			put16(b + 2, port);
		}
		break;
	case K_TCP_DOFF_LOW:
	case K_TCP_DOFF_HIGH:
		len = 20;
		fill(b, len);
		put16(b, sport);
		put16(b + 2, port);
		b[13] = 0x10;	/* ACK */
		if (k == K_TCP_DOFF_LOW)
			doff = rnd() % 5;
		else {
			/* A header of 24..60 bytes in a shorter segment. */
			doff = 6 + rnd() % 10;
			len = (uint16_t)(20 + rnd() % (doff * 4 - 20));
			fill(b + 20, (size_t)len - 20);
		}
		b[12] = (uint8_t)(doff << 4);
		break;
	case K_UDP_BADLEN:
		proto = IPPROTO_UDP;
		len = (uint16_t)(8 + rnd() % 32);
		fill(b, len);
		put16(b, sport);
		put16(b + 2, port);
		/* Below the header's own 8 bytes, or beyond the datagram. */
		put16(b + 4, (uint16_t)(rnd() % 2 ? rnd() % 8 :
		    len + 1 + rnd() % 100));
		break;
	case K_PROTO:
		do
			proto = (uint8_t)rnd();
		while (proto == IPPROTO_TCP || proto == IPPROTO_UDP ||
		    proto == IPPROTO_ICMP);
		len = (uint16_t)(rnd() % 65);
		fill(b, len);
		break;
	case K_ICMP:
		len = (uint16_t)(rnd() % 57);
		fill(b, len);
		if (libnet_build_icmpv4_echo(ICMP_ECHO, 0, 0, (uint16_t)rnd(),
		    (uint16_t)rnd(), b, len, l, 0) == -1)
			return (-1);
		proto = IPPROTO_ICMP;
		len += LIBNET_ICMPV4_ECHO_H;
		return (libnet_build_ipv4(LIBNET_IPV4_H + len, 0,
		    (uint16_t)(rnd() | 1), 0, 64, proto, 0, src, dst, NULL, 0,
		    l, 0) == -1 ? -1 : 0);
	case K_FRAG:
		if (rnd() % 2) {
			/* A first fragment: a SYN to the service, MF set. */
			frag = IP_MF;
			len = (uint16_t)(rnd() % 64);
			fill(b, len);
			if (libnet_build_tcp(sport, port, rnd(), 0, TH_SYN,
			    65535, 0, 0, LIBNET_TCP_H + len, b, len, l, 0) == -1)
				return (-1);
			len += LIBNET_TCP_H;
			return (libnet_build_ipv4(LIBNET_IPV4_H + len, 0,
			    (uint16_t)(rnd() | 1), frag, 64, proto, 0, src, dst,
			    NULL, 0, l, 0) == -1 ? -1 : 0);
		}
		/* A later fragment, with or without more to come. */
		frag = (uint16_t)(1 + rnd() % 0x1fff);
		if (rnd() % 2)
			frag |= IP_MF;
		len = (uint16_t)(8 * (1 + rnd() % 8));
		fill(b, len);
		break;
	case K_ACK_NOFLOW:
		if (libnet_build_tcp(sport, port, rnd(), rnd(), TH_ACK, 65535,
		    0, 0, LIBNET_TCP_H, NULL, 0, l, 0) == -1)
			return (-1);
		return (libnet_build_ipv4(LIBNET_IPV4_H + LIBNET_TCP_H, 0,
		    (uint16_t)(rnd() | 1), 0, 64, proto, 0, src, dst, NULL, 0,
		    l, 0) == -1 ? -1 : 0);
	case K_RANDOM_TCP:
	default:
		len = (uint16_t)(20 + rnd() % 61);
		fill(b, len);
		break;
	}
	return (libnet_build_ipv4(LIBNET_IPV4_H + len, 0, (uint16_t)(rnd() | 1),
	    frag, 64, proto, 0, src, dst, len ? b : NULL, len, l, 0) == -1 ?
	    -1 : 0);
}

int
main(int argc, char *argv[])
{
	char		 errbuf[LIBNET_ERRBUF_SIZE];
	const char	*vip = NULL;
	libnet_t	*l;
	struct in_addr	 a;
	unsigned long	 count = 0, i, sent = 0, errors = 0;
	uint32_t	 src = 0, dst;
	uint16_t	 port = 80;
	int		 ch, have_count = 0;

	rng = 1;
	while ((ch = getopt(argc, argv, "c:d:p:s:S:")) != -1) {
		switch (ch) {
		case 'c':
			count = number(optarg, MAXCOUNT);
			have_count = 1;
			break;
		case 'd':
			vip = optarg;
			break;
		case 'p':
			port = (uint16_t)number(optarg, 65535);
			break;
		case 's':
			rng = (uint32_t)number(optarg, UINT32_MAX);
			break;
		case 'S':
			if (inet_pton(AF_INET, optarg, &a) != 1)
				errx(1, "-S %s: not an IPv4 address", optarg);
			src = a.s_addr;
			break;
		default:
			usage();
		}
	}
	if (vip == NULL || !have_count || optind != argc)
		usage();
	if (inet_pton(AF_INET, vip, &a) != 1)
		errx(1, "-d %s: not an IPv4 address", vip);
	dst = a.s_addr;
	if (src == 0)
		src = route_source(dst);
	/* xorshift never leaves 0: seed 0 would send the same bytes forever. */
	if (rng == 0)
		rng = 1;

	if ((l = libnet_init(LIBNET_RAW4, NULL, errbuf)) == NULL) {
		chomp(errbuf);
		errx(1, "libnet_init: %s (raw sockets need root or "
		    "CAP_NET_RAW)", errbuf);
	}
	for (i = 0; i < count; i++) {
		libnet_clear_packet(l);
		if (build(l, (enum kind)(i % K_N), src, dst, port) == -1) {
			snprintf(errbuf, sizeof(errbuf), "%s",
			    libnet_geterror(l));
			chomp(errbuf);
			errx(1, "libnet: %s", errbuf);
		}
		if (libnet_write(l) == -1)
			errors++;
		else
			sent++;
	}
	libnet_destroy(l);
	printf("pktflood: sent %lu of %lu packets to %s (%lu send errors)\n",
	    sent, count, vip, errors);
	return (sent > 0 || count == 0 ? 0 : 1);
}
