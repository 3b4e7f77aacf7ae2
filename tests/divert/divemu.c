/*
 * divemu: plays the kernel's side of divert(4) for loadd-divemu (loadd
 * built with DIVERT_EMULATION), so that the divert backend runs on Linux.
 *
 *   divemu -p PORT -r IN.pcap --vip ADDR --servers A,B,C [-n]
 *
 * Each IPv4 packet of the capture is "diverted" the way the ipfw rules of
 * ipfw-rules/ would divert it: to the virtual address, as incoming on the
 * outside interface (sin_addr 192.0.2.1, rule 100); from a server, as
 * incoming on the inside interface (10.0.1.1, rule 200), except every
 * fourth reply, which is caught on the way out (INADDR_ANY, rule 300)
 * with its IP header checksum zeroed, as the kernel may leave it before
 * ip_output.  Each packet gets a unique IP ID so that what comes back can
 * be matched to what went out.
 *
 * What loadd writes back is checked as divert(4) would treat it and more:
 * the same sockaddr as the packet came with, a valid IP header checksum
 * (the kernel drops an incoming packet without one), a valid TCP/UDP
 * checksum, the destination rewritten to a server on the way in and the
 * source to the virtual address on the way back.  Ends with
 * "divemu: ... N errors" and exits 1 on any error.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cksum.h"
#include "pkt.h"

#define MAXPKT	20000
#define MAXSRV	16

struct sent {
	struct sockaddr_in	 sin;
	int			 inbound;	/* to the VIP */
	int			 back;		/* came back */
};

static struct sent	 sent[MAXPKT];
static uint32_t		 vip;
static uint32_t		 srv[MAXSRV];
static unsigned		 nsrv, errors;

static void	 fail(const char *, ...) __attribute__((format(printf, 1, 2)));

static void
fail(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	fprintf(stdout, "divemu: FAIL: ");
	vfprintf(stdout, fmt, ap);
	fprintf(stdout, "\n");
	va_end(ap);
	errors++;
}

static const char *
path(unsigned port, int kernel)
{
	static char	 p[2][108];

	snprintf(p[kernel], sizeof(p[kernel]), "/tmp/loadd-divert-%u.%s",
	    port, kernel ? "kernel" : "loadd");
	return (p[kernel]);
}

static int
is_server(uint32_t a)
{
	unsigned	 i;

	for (i = 0; i < nsrv; i++)
		if (srv[i] == a)
			return (1);
	return (0);
}

static int
l4_ok(const uint8_t *ip, const struct pkt *p)
{
	uint32_t	 sum;
	uint16_t	 ck;

	if (p->proto != PROTO_TCP && p->proto != PROTO_UDP)
		return (1);
	if (p->proto == PROTO_UDP) {
		memcpy(&ck, ip + p->l3len + 6, 2);
		if (ck == 0)
			return (1);
	}
	sum = cksum_pseudo(4, ip + 12, ip + 16, p->proto, p->len - p->l3len);
	sum = cksum_add(sum, ip + p->l3len, p->len - p->l3len);
	return (cksum_fold(sum) == 0xffff);
}

/* Checks one packet that loadd wrote back. */
static void
check_back(const uint8_t *buf, size_t len)
{
	struct sockaddr_in	 sin;
	const uint8_t		*ip = buf + sizeof(sin);
	struct pkt		 p;
	uint16_t		 id;
	struct sent		*s;

	if (len < sizeof(sin) + 20) {
		fail("a datagram of %zu bytes", len);
		return;
	}
	memcpy(&sin, buf, sizeof(sin));
	id = (uint16_t)(ip[4] << 8 | ip[5]);
	if (id >= MAXPKT || (s = &sent[id])->sin.sin_family == 0) {
		fail("a packet with IP ID %u that was never sent", id);
		return;
	}
	if (s->back++) {
		fail("packet %u written back twice", id);
		return;
	}
	if (memcmp(&sin, &s->sin, sizeof(sin)) != 0)
		fail("packet %u: written back with %s:%u, diverted with %s:%u",
		    id, inet_ntoa(sin.sin_addr), ntohs(sin.sin_port),
		    inet_ntoa(s->sin.sin_addr), ntohs(s->sin.sin_port));
	if (cksum_fold(cksum_add(0, ip, (size_t)(ip[0] & 0x0f) * 4)) !=
	    0xffff)
		fail("packet %u: bad IP header checksum (%s: the kernel drops "
		    "it)", id, sin.sin_addr.s_addr ? "incoming" : "outgoing");
	if (pkt_parse(ip, len - sizeof(sin), &p) != PKT_OK) {
		fail("packet %u does not parse", id);
		return;
	}
	if (!l4_ok(ip, &p))
		fail("packet %u: bad transport checksum", id);
	if (s->inbound && !is_server(p.dst.w[0]))
		fail("packet %u: to the VIP, but not rewritten to a server",
		    id);
	if (!s->inbound && p.src.w[0] != vip)
		fail("packet %u: a reply, but its source is not the VIP", id);
}

static void
drain(int fd, int wait_ms, unsigned *back)
{
	struct pollfd	 pfd = { fd, POLLIN, 0 };
	uint8_t		 buf[65536 + 64];
	ssize_t		 n;

	while (poll(&pfd, 1, wait_ms) > 0) {
		if ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) <= 0)
			break;
		check_back(buf, (size_t)n);
		(*back)++;
	}
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "vip", required_argument, NULL, 'V' },
		{ "servers", required_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 }
	};
	struct sockaddr_un	 me, peer;
	struct pcap_pkthdr	*h;
	const u_char		*data;
	char			 errbuf[PCAP_ERRBUF_SIZE], *list = NULL, *tok;
	uint8_t			 buf[65536 + 64], *ip;
	struct sockaddr_in	 sin;
	struct pkt		 p;
	pcap_t			*pc;
	unsigned		 port = 0, nsent = 0, back = 0, replies = 0, off;
	unsigned		 expect_drops = 0;
	const char		*rpath = NULL;
	int			 ch, fd, dlt, i;
	size_t			 len;
	uint16_t		 ck;

	while ((ch = getopt_long(argc, argv, "d:p:r:", longopts, NULL)) != -1)
		switch (ch) {
		case 'd':
			expect_drops = (unsigned)atoi(optarg);
			break;
		case 'p':
			port = (unsigned)atoi(optarg);
			break;
		case 'r':
			rpath = optarg;
			break;
		case 'V':
			if (inet_pton(AF_INET, optarg, &vip) != 1)
				errx(1, "--vip %s", optarg);
			break;
		case 'S':
			list = optarg;
			break;
		default:
			errx(1, "usage: divemu -p port -r in.pcap --vip A "
			    "--servers A,B [-d drops]");
		}
	if (rpath == NULL || list == NULL || vip == 0)
		errx(1, "usage: divemu -p port -r in.pcap --vip A --servers A,B");
	for (tok = strtok(list, ","); tok != NULL && nsrv < MAXSRV;
	    tok = strtok(NULL, ","))
		if (inet_pton(AF_INET, tok, &srv[nsrv++]) != 1)
			errx(1, "--servers: %s", tok);

	/* A test tool stops by itself, whatever happens. */
	alarm(120);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM, 0)) == -1)
		err(1, "socket");
	memset(&me, 0, sizeof(me));
	me.sun_family = AF_UNIX;
	snprintf(me.sun_path, sizeof(me.sun_path), "%s", path(port, 1));
	unlink(me.sun_path);
	if (bind(fd, (struct sockaddr *)&me, sizeof(me)) == -1)
		err(1, "%s", me.sun_path);
	memset(&peer, 0, sizeof(peer));
	peer.sun_family = AF_UNIX;
	snprintf(peer.sun_path, sizeof(peer.sun_path), "%s", path(port, 0));

	if ((pc = pcap_open_offline(rpath, errbuf)) == NULL)
		errx(1, "%s: %s", rpath, errbuf);
	dlt = pcap_datalink(pc);
	while (pcap_next_ex(pc, &h, &data) == 1 && nsent < MAXPKT) {
		off = dlt == DLT_EN10MB ? 14 : 0;
		if (h->caplen <= off || h->caplen - off > 65535)
			continue;
		if (dlt == DLT_EN10MB && (data[12] != 0x08 || data[13] != 0))
			continue;	/* not IPv4: divert sees only IP */
		len = h->caplen - off;
		ip = buf + sizeof(sin);
		memcpy(ip, data + off, len);
		if (pkt_parse(ip, len, &p) != PKT_OK || p.family != 4 ||
		    !(p.flags & PKT_F_PORTS))
			continue;	/* the kernel would not divert it */
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		if (p.dst.w[0] == vip) {
			inet_pton(AF_INET, "192.0.2.1", &sin.sin_addr);
			sin.sin_port = htons(100);
		} else if (is_server(p.src.w[0])) {
			if (++replies % 4 == 0) {
				sin.sin_addr.s_addr = INADDR_ANY;
				sin.sin_port = htons(300);
			} else {
				inet_pton(AF_INET, "10.0.1.1", &sin.sin_addr);
				sin.sin_port = htons(200);
			}
		} else
			continue;
		/* A unique IP ID, with the header checksum to match. */
		ip[4] = (uint8_t)(nsent >> 8);
		ip[5] = (uint8_t)nsent;
		ck = 0;
		memcpy(ip + 10, &ck, 2);
		if (sin.sin_addr.s_addr != INADDR_ANY) {
			ck = cksum_finish(cksum_add(0, ip, p.l3len));
			memcpy(ip + 10, &ck, 2);
		}
		sent[nsent].sin = sin;
		sent[nsent].inbound = p.dst.w[0] == vip;
		memcpy(buf, &sin, sizeof(sin));
		/*
		 * Never block: loadd may itself be waiting to write back to
		 * us, and a datagram queue holds only a few packets.
		 */
		for (i = 0; i < 1000; i++) {
			if (sendto(fd, buf, sizeof(sin) + len, MSG_DONTWAIT,
			    (struct sockaddr *)&peer, sizeof(peer)) != -1)
				break;
			if (errno != EAGAIN && errno != ENOBUFS &&
			    errno != ECONNREFUSED && errno != ENOENT)
				err(1, "sendto");
			drain(fd, 10, &back);
		}
		nsent++;
		drain(fd, 0, &back);
	}
	pcap_close(pc);
	drain(fd, 500, &back);
	close(fd);
	unlink(me.sun_path);

	printf("divemu: %u diverted, %u written back, %u dropped by loadd, "
	    "%u errors\n", nsent, back, nsent - back, errors);
	if (nsent == 0)
		fail("nothing was diverted");
	if (nsent - back != expect_drops)
		fail("%u packets dropped, expected %u", nsent - back,
		    expect_drops);
	return (errors ? 1 : 0);
}
