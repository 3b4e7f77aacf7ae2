/*
 * gen_fixtures: writes the captures that the replay test feeds to loadd,
 * and what loadd should report for each, into a directory.
 *
 *	gen_fixtures OUTDIR
 *
 * Packets are built with libnet and written with libpcap.  libnet runs
 * without an injection backend (LIBNET_NONE), so no root is needed.
 * Every capture is the same on every run and every machine: timestamps
 * are fixed and the pseudo-random choices come from a fixed seed.
 *
 * The generator plays clients and servers of one virtual service,
 * 203.0.113.10:80 balanced over 10.0.1.11, 10.0.1.12 and 10.0.1.13.  It
 * cannot see which server loadd picks, so the replies it writes come from
 * the server that round-robin in configuration order picks for the n-th
 * new connection; verify_replay checks that loadd picked the same.
 *
 *	tcp.pcap	  100 interleaved connections (Ethernet)
 *	raw.pcap	  20 connections (raw IPv4)
 *	bad.pcap	  connections mixed with packets loadd must drop or
 *			  pass untouched (Ethernet)
 *	gro.pcap	  4 connections with 65549-byte frames (Ethernet,
 *			  snaplen 262144)
 *	unsupported.pcap  one packet of a link type loadd refuses (PPP)
 *	damaged-trunc.pcap, damaged-caplen.pcap, damaged-magic.pcap
 *			  tcp.pcap damaged after 100 packets, and in its header
 *	NAME.expect	  the counts loadd's replay summary should show
 */
#include <sys/types.h>

#include <arpa/inet.h>

#include <err.h>
#include <errno.h>
#include <libnet.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VIP		"203.0.113.10"
#define VPORT		80
#define NSERVERS	3
#define T0		1700000000	/* time of the first packet, seconds */
#define TSTEP		1000		/* microseconds between packets */
#define WINDOW		8		/* connections open at the same time */
#define EN_HLEN	14
#define ETH_MINLEN	60		/* shorter frames are padded on the wire */
#define FRAMEMAX	(65535 + 64)	/* the largest IPv4 datagram, framed */
#define SNAPLEN		65535
#define SNAPLEN_MAX	262144		/* tcpdump's default since 4.0 */
#define IPMAX_PAYLOAD	(65535 - 40)	/* TCP payload of the largest datagram */
#define DAMAGE_AFTER	100		/* intact records in damaged captures */
#define SEED		0x10add5edU

enum outcome {
	O_PASS,			/* written untouched */
	O_REWRITE,		/* written rewritten */
	O_DROP,
	O_NOTIP			/* not IP: written untouched, counted apart */
};

/* Drop reasons, named as loadd's "stats: drops" line names them. */
enum reason {
	R_NONE,
	R_TRUNCATED,
	R_BAD_VERSION,
	R_BAD_HDRLEN,
	R_BAD_TOTLEN,
	R_BAD_L4,
	R_FRAGMENT,
	R_NO_SERVICE,
	R_NO_FLOW,
	R_CAPTURE_TRUNCATED,
	R_N
};

static const char *const reason_names[R_N] = {
	[R_NONE] = "none",
	[R_TRUNCATED] = "truncated",
	[R_BAD_VERSION] = "bad_version",
	[R_BAD_HDRLEN] = "bad_header_length",
	[R_BAD_TOTLEN] = "bad_total_length",
	[R_BAD_L4] = "bad_transport_header",
	[R_FRAGMENT] = "fragment",
	[R_NO_SERVICE] = "no_service",
	[R_NO_FLOW] = "no_flow",
	[R_CAPTURE_TRUNCATED] = "capture_truncated",
};

/* What loadd should count for a capture. */
struct tally {
	unsigned	 read;
	unsigned	 written;
	unsigned	 rewritten;
	unsigned	 dropped;
	unsigned	 notip;
	unsigned	 flows;
	unsigned	 drop[R_N];
};

/* One capture being written. */
struct gen {
	libnet_t	*l;
	pcap_t		*dead;
	pcap_dumper_t	*dump;
	const char	*dir;
	const char	*name;
	int		 dlt;
	uint32_t	 usec;		/* time of the next packet after T0 */
	uint32_t	 rng;		/* xorshift32 state */
	uint16_t	 ipid;
	unsigned	 rr;		/* the server round-robin picks next */
	struct tally	 t;
};

/* One TCP segment to build. */
struct seg {
	uint32_t	 src;		/* network byte order */
	uint32_t	 dst;
	uint16_t	 sport;		/* host byte order */
	uint16_t	 dport;
	uint32_t	 seq;
	uint32_t	 ack;
	uint8_t		 flags;
	const uint8_t	*payload;
	uint16_t	 plen;
	uint16_t	 frag;		/* IP flags and fragment offset */
	uint16_t	 vlan;		/* 802.1Q tag, 0 for none */
	int		 ipopts;	/* carry 4 bytes of IP options */
	int		 fromserver;	/* for the Ethernet addresses only */
};

enum ending {
	END_FIN,		/* FIN both ways, last ACK */
	END_CRST,		/* the client resets */
	END_SRST		/* the server resets */
};

/* One connection through the VIP, emitted a packet at a time. */
struct conn {
	uint32_t	 client;	/* network byte order */
	uint16_t	 cport;
	uint16_t	 vlan;
	int		 ipopts;
	enum ending	 ending;
	int		 srv;		/* set when the SYN goes out */
	int		 step;
	uint32_t	 cseq;
	uint32_t	 sseq;
	uint16_t	 req;		/* payload sizes */
	uint16_t	 resp;
};

typedef void	(*hook_fn)(struct gen *, unsigned);

static uint32_t	 rnd(struct gen *);
static void	 fill(struct gen *, uint8_t *, size_t);
static uint32_t	 addr(const char *);
static uint32_t	 server_addr(int);
static void	 gen_open(struct gen *, const char *, const char *, int, int);
static void	 gen_close(struct gen *, int);
static void	 emit(struct gen *, const uint8_t *, uint32_t, uint32_t,
		    enum outcome, enum reason);
static void	 lnet(struct gen *, libnet_ptag_t);
static void	 link_hdr(struct gen *, uint16_t, int);
static size_t	 cull(struct gen *, uint8_t *, int);
static size_t	 build_tcp(struct gen *, const struct seg *, uint8_t *);
static size_t	 build_ip(struct gen *, uint32_t, uint32_t, uint8_t, uint16_t,
		    const uint8_t *, uint16_t, uint8_t *);
static void	 ip_cksum_fix(uint8_t *);
static uint16_t	 pick_size(struct gen *, unsigned);
static int	 conn_step(struct gen *, struct conn *);
static void	 run_conns(struct gen *, struct conn *, unsigned, hook_fn);
static void	 conns_init(struct gen *, struct conn *, unsigned, const char *,
		    uint16_t);
static void	 bad_packet(struct gen *, unsigned);
static void	 bad_hook(struct gen *, unsigned);
static void	 write_tcp(const char *);
static void	 write_raw(const char *);
static void	 write_bad(const char *);
static void	 write_gro(const char *);
static void	 write_unsupported(const char *);
static void	 write_damaged(const char *);
static void	 write_file(const char *, const char *, const uint8_t *, size_t);
static uint32_t	 get32(const uint8_t *, int);
static void	 put32(uint8_t *, uint32_t, int);

static const uint8_t	 mac_router[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t	 mac_lb[6] = { 0x02, 0, 0, 0, 0, 0x02 };
static const uint8_t	 mac_srv[6] = { 0x02, 0, 0, 0, 0x01, 0x00 };
static const uint8_t	 mac_bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static unsigned		 bad_next;	/* the next bad packet of bad.pcap */

/* xorshift32: the same sequence everywhere, unlike random(3). */
static uint32_t
rnd(struct gen *g)
{
	uint32_t x = g->rng;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return (g->rng = x);
}

static void
fill(struct gen *g, uint8_t *buf, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)rnd(g);
}

static uint32_t
addr(const char *s)
{
	struct in_addr	 a;

	if (inet_pton(AF_INET, s, &a) != 1)
		errx(1, "%s: not an IPv4 address", s);
	return (a.s_addr);
}

static uint32_t
server_addr(int i)
{
	static const char *const servers[NSERVERS] = {
		"10.0.1.11", "10.0.1.12", "10.0.1.13"
	};

	return (addr(servers[i]));
}

static void
gen_open(struct gen *g, const char *dir, const char *name, int dlt,
    int snaplen)
{
	char	 errbuf[LIBNET_ERRBUF_SIZE], path[4096];

	memset(g, 0, sizeof(*g));
	g->dir = dir;
	g->name = name;
	g->dlt = dlt;
	g->rng = SEED;
	if ((g->l = libnet_init(LIBNET_NONE, NULL, errbuf)) == NULL)
		errx(1, "libnet_init: %s", errbuf);
	if ((g->dead = pcap_open_dead(dlt, snaplen)) == NULL)
		errx(1, "pcap_open_dead failed");
	snprintf(path, sizeof(path), "%s/%s.pcap", dir, name);
	if ((g->dump = pcap_dump_open(g->dead, path)) == NULL)
		errx(1, "%s", pcap_geterr(g->dead));
}

/* Closes the capture and, if asked, writes NAME.expect from the tally. */
static void
gen_close(struct gen *g, int expect)
{
	char	 path[4096];
	FILE	*fp;
	int	 i;

	if (pcap_dump_flush(g->dump) == -1)
		errx(1, "%s.pcap: write failed", g->name);
	pcap_dump_close(g->dump);
	pcap_close(g->dead);
	libnet_destroy(g->l);
	if (!expect)
		return;

	snprintf(path, sizeof(path), "%s/%s.expect", g->dir, g->name);
	if ((fp = fopen(path, "w")) == NULL)
		err(1, "%s", path);
	fprintf(fp, "# %s.pcap: what \"loadd -v -r\" should report "
	    "(written by gen_fixtures)\n", g->name);
	fprintf(fp, "read %u\nwritten %u\nrewritten %u\ndropped %u\n"
	    "notip %u\nflows %u\n", g->t.read, g->t.written, g->t.rewritten,
	    g->t.dropped, g->t.notip, g->t.flows);
	for (i = 1; i < R_N; i++)
		if (g->t.drop[i] != 0)
			fprintf(fp, "drop %s %u\n", reason_names[i],
			    g->t.drop[i]);
	if (fclose(fp) == EOF)
		err(1, "%s", path);
}

/* Writes one record, one millisecond after the one before. */
static void
emit(struct gen *g, const uint8_t *frame, uint32_t caplen, uint32_t len,
    enum outcome o, enum reason r)
{
	struct pcap_pkthdr	 h;

	memset(&h, 0, sizeof(h));
	h.ts.tv_sec = T0 + g->usec / 1000000;
	h.ts.tv_usec = g->usec % 1000000;
	h.caplen = caplen;
	h.len = len;
	g->usec += TSTEP;
	pcap_dump((u_char *)g->dump, &h, frame);

	g->t.read++;
	switch (o) {
	case O_DROP:
		g->t.dropped++;
		g->t.drop[r]++;
		break;
	case O_REWRITE:
		g->t.rewritten++;
		g->t.written++;
		break;
	case O_NOTIP:
		g->t.notip++;
		g->t.written++;
		break;
	case O_PASS:
		g->t.written++;
		break;
	}
}

static void
lnet(struct gen *g, libnet_ptag_t tag)
{
	if (tag == -1)
		errx(1, "libnet: %s", libnet_geterror(g->l));
}

/* The link header of the capture's link type; raw IP has none. */
static void
link_hdr(struct gen *g, uint16_t vlan, int fromserver)
{
	const uint8_t	*src = fromserver ? mac_srv : mac_router;

	if (g->dlt != DLT_EN10MB)
		return;
	if (vlan != 0)
		lnet(g, libnet_build_802_1q(mac_lb, src, 0x8100, 0, 0, vlan,
		    ETHERTYPE_IP, NULL, 0, g->l, 0));
	else
		lnet(g, libnet_build_ethernet(mac_lb, src, ETHERTYPE_IP, NULL,
		    0, g->l, 0));
}

/*
 * Assembles the packet built so far into buf (FRAMEMAX bytes) and clears
 * the context for the next one.  Ethernet frames are padded to the
 * minimum size as a capture of received frames shows them, so the
 * fixtures also check that loadd looks at the IP length, not the frame's.
 */
static size_t
cull(struct gen *g, uint8_t *buf, int pad)
{
	uint8_t		*pkt;
	uint32_t	 n;

	/*
	 * libnet 1.1.6 culls only in LIBNET_LINK_ADV mode, which opens a
	 * packet socket and so needs root.  The assembly it would call is
	 * exported; in LIBNET_NONE mode it neither aligns nor checks the
	 * layers, so its buffer is freed as libnet_adv_free_packet() does.
	 */
	if (libnet_adv_cull_packet(g->l, &pkt, &n) == -1 &&
	    libnet_pblock_coalesce(g->l, &pkt, &n) == -1)
		errx(1, "libnet: %s", libnet_geterror(g->l));
	if (n > FRAMEMAX)
		errx(1, "libnet built a packet of %u bytes", n);
	memcpy(buf, pkt, n);
	libnet_adv_free_packet(g->l, pkt);
	libnet_clear_packet(g->l);
	if (pad && g->dlt == DLT_EN10MB && n < ETH_MINLEN) {
		memset(buf + n, 0, ETH_MINLEN - n);
		n = ETH_MINLEN;
	}
	return (n);
}

static size_t
build_tcp(struct gen *g, const struct seg *s, uint8_t *buf)
{
	/* Three NOPs and an end of list: options that change nothing. */
	static const uint8_t	 opts[4] = { 1, 1, 1, 0 };
	uint16_t		 hlen = LIBNET_IPV4_H + (s->ipopts ? 4 : 0);

	lnet(g, libnet_build_tcp(s->sport, s->dport, s->seq, s->ack, s->flags,
	    65535, 0, 0, LIBNET_TCP_H + s->plen, s->payload, s->plen, g->l,
	    0));
	if (s->ipopts)
		lnet(g, libnet_build_ipv4_options(opts, sizeof(opts), g->l,
		    0));
	lnet(g, libnet_build_ipv4(hlen + LIBNET_TCP_H + s->plen, 0, g->ipid++,
	    s->frag, 64, IPPROTO_TCP, 0, s->src, s->dst, NULL, 0, g->l, 0));
	link_hdr(g, s->vlan, s->fromserver);
	return (cull(g, buf, 1));
}

/* An IPv4 packet whose transport bytes are given as they are. */
static size_t
build_ip(struct gen *g, uint32_t src, uint32_t dst, uint8_t proto,
    uint16_t frag, const uint8_t *l4, uint16_t l4len, uint8_t *buf)
{
	lnet(g, libnet_build_ipv4(LIBNET_IPV4_H + l4len, 0, g->ipid++, frag,
	    64, proto, 0, src, dst, l4, l4len, g->l, 0));
	link_hdr(g, 0, 0);
	return (cull(g, buf, 1));
}

/* Recomputes the checksum of a 20-byte IPv4 header changed after libnet. */
static void
ip_cksum_fix(uint8_t *ip)
{
	uint32_t	 sum = 0;
	int		 i;

	ip[10] = ip[11] = 0;
	for (i = 0; i < 20; i += 2)
		sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	sum = ~sum & 0xffff;
	ip[10] = (uint8_t)(sum >> 8);
	ip[11] = (uint8_t)sum;
}

/*
 * Payload sizes: the extremes and some odd sizes first, since an odd
 * length is where a checksum's padding byte goes wrong, then any size
 * from 1 to 1400.
 */
static uint16_t
pick_size(struct gen *g, unsigned i)
{
	static const uint16_t	 sizes[] = { 1, 1400, 1399, 2, 3, 537, 1023 };

	if (i < sizeof(sizes) / sizeof(sizes[0]))
		return (sizes[i]);
	return ((uint16_t)(1 + rnd(g) % 1400));
}

/* Emits the next packet of a connection; returns 1 after its last. */
static int
conn_step(struct gen *g, struct conn *c)
{
	static uint8_t	 payload[IPMAX_PAYLOAD];
	static uint8_t	 buf[FRAMEMAX];
	struct seg	 s;
	int		 fromserver, last = 0;
	size_t		 n;

	memset(&s, 0, sizeof(s));
	fromserver = c->step == 1 || c->step == 4 || c->step == 6 ||
	    (c->step == 5 && c->ending == END_SRST);
	if (c->step == 0) {
		c->srv = (int)(g->rr++ % NSERVERS);
		g->t.flows++;
	}
	if (fromserver) {
		s.src = server_addr(c->srv);
		s.sport = VPORT;
		s.dst = c->client;
		s.dport = c->cport;
		s.seq = c->sseq;
		s.ack = c->cseq;
	} else {
		s.src = c->client;
		s.sport = c->cport;
		s.dst = addr(VIP);
		s.dport = VPORT;
		s.seq = c->cseq;
		s.ack = c->sseq;
		s.ipopts = c->ipopts;
	}
	s.vlan = c->vlan;
	s.fromserver = fromserver;
	switch (c->step) {
	case 0:
		s.flags = TH_SYN;
		s.ack = 0;
		c->cseq++;
		break;
	case 1:
		s.flags = TH_SYN | TH_ACK;
		c->sseq++;
		break;
	case 2:
		s.flags = TH_ACK;
		break;
	case 3:
		s.flags = TH_PUSH | TH_ACK;
		s.plen = c->req;
		c->cseq += c->req;
		break;
	case 4:
		s.flags = TH_PUSH | TH_ACK;
		s.plen = c->resp;
		c->sseq += c->resp;
		break;
	case 5:
		if (c->ending == END_FIN) {
			s.flags = TH_FIN | TH_ACK;
			c->cseq++;
		} else {
			s.flags = TH_RST | TH_ACK;
			last = 1;
		}
		break;
	case 6:
		s.flags = TH_FIN | TH_ACK;
		c->sseq++;
		break;
	default:
		s.flags = TH_ACK;
		last = 1;
		break;
	}
	if (s.plen != 0) {
		fill(g, payload, s.plen);
		s.payload = payload;
	}
	n = build_tcp(g, &s, buf);
	emit(g, buf, (uint32_t)n, (uint32_t)n, O_REWRITE, R_NONE);
	c->step++;
	return (last);
}

/*
 * Emits n connections interleaved: up to WINDOW are open at once and each
 * step picks one of them at random, so that packets of other flows lie
 * between a flow's packets and stickiness is really tested.  SYNs go out
 * in the order of the array.  hook, if set, runs after every packet.
 */
static void
run_conns(struct gen *g, struct conn *c, unsigned n, hook_fn hook)
{
	unsigned	 active[WINDOW], nactive = 0, next = 0, done = 0;
	unsigned	 j, k, pkts = 0;

	while (done < n) {
		if (next < n && nactive < WINDOW &&
		    (nactive == 0 || rnd(g) % 3 == 0)) {
			k = next++;
			active[nactive++] = k;
			conn_step(g, &c[k]);
		} else {
			j = rnd(g) % nactive;
			k = active[j];
			if (conn_step(g, &c[k])) {
				active[j] = active[--nactive];
				done++;
			}
		}
		if (hook != NULL)
			hook(g, pkts);
		pkts++;
	}
}

/* n connections from client, source ports from port0 up. */
static void
conns_init(struct gen *g, struct conn *c, unsigned n, const char *client,
    uint16_t port0)
{
	unsigned	 i;

	memset(c, 0, n * sizeof(*c));
	for (i = 0; i < n; i++) {
		c[i].client = addr(client);
		c[i].cport = (uint16_t)(port0 + i);
		c[i].ending = i % 10 == 3 ? END_CRST :
		    i % 10 == 7 ? END_SRST : END_FIN;
		c[i].cseq = rnd(g);
		c[i].sseq = rnd(g);
		c[i].req = pick_size(g, i);
		c[i].resp = pick_size(g, i + 1);
	}
}

static void
write_tcp(const char *dir)
{
	struct gen	 g;
	struct conn	 c[100];

	gen_open(&g, dir, "tcp", DLT_EN10MB, SNAPLEN);
	conns_init(&g, c, 100, "198.51.100.7", 40000);
	run_conns(&g, c, 100, NULL);
	gen_close(&g, 1);
}

static void
write_raw(const char *dir)
{
	struct gen	 g;
	struct conn	 c[20];

	gen_open(&g, dir, "raw", DLT_RAW, SNAPLEN);
	conns_init(&g, c, 20, "198.51.100.8", 50000);
	run_conns(&g, c, 20, NULL);
	gen_close(&g, 1);
}

/*
 * The k-th packet of bad.pcap that is not part of a good connection.
 * Each says what loadd should do with it.  Returns quietly past the last.
 */
static void
bad_packet(struct gen *g, unsigned k)
{
	static uint8_t	 buf[FRAMEMAX];
	uint8_t		 l4[256], *ip;
	uint32_t	 vip = addr(VIP), bad = addr("198.51.100.66");
	uint32_t	 n, tot, off = g->dlt == DLT_EN10MB ? EN_HLEN : 0;
	struct seg	 s;

	memset(&s, 0, sizeof(s));
	s.src = bad;
	s.dst = vip;
	s.sport = (uint16_t)(45000 + k);
	s.dport = VPORT;
	s.seq = rnd(g);
	s.flags = TH_SYN;
	ip = buf + off;

	switch (k) {
	case 0:
		/* An IP header cut after 12 bytes (not a capture limit). */
		build_tcp(g, &s, buf);
		emit(g, buf, off + 12, off + 12, O_DROP, R_TRUNCATED);
		break;
	case 1:
		/* An Ethernet header that announces IP, and nothing after. */
		build_tcp(g, &s, buf);
		emit(g, buf, off, off, O_DROP, R_TRUNCATED);
		break;
	case 2:
		/* IP version 5. */
		n = (uint32_t)build_tcp(g, &s, buf);
		ip[0] = 0x55;
		ip_cksum_fix(ip);
		emit(g, buf, n, n, O_DROP, R_BAD_VERSION);
		break;
	case 3:
		/* Header length 16 bytes: below the minimum of 20. */
		n = (uint32_t)build_tcp(g, &s, buf);
		ip[0] = 0x44;
		emit(g, buf, n, n, O_DROP, R_BAD_HDRLEN);
		break;
	case 4:
		/* Total length 100 bytes beyond the frame. */
		n = (uint32_t)build_tcp(g, &s, buf);
		tot = (uint32_t)(ip[2] << 8 | ip[3]) + 100;
		ip[2] = (uint8_t)(tot >> 8);
		ip[3] = (uint8_t)tot;
		ip_cksum_fix(ip);
		emit(g, buf, n, n, O_DROP, R_BAD_TOTLEN);
		break;
	case 5:
		/* Total length 12: smaller than the header itself. */
		n = (uint32_t)build_tcp(g, &s, buf);
		ip[2] = 0;
		ip[3] = 12;
		ip_cksum_fix(ip);
		emit(g, buf, n, n, O_DROP, R_BAD_TOTLEN);
		break;
	case 6:
		/* Protocol TCP with a 12-byte transport header. */
		fill(g, l4, 12);
		l4[0] = (uint8_t)(s.sport >> 8);
		l4[1] = (uint8_t)s.sport;
		l4[2] = 0;
		l4[3] = VPORT;
		n = (uint32_t)build_ip(g, bad, vip, IPPROTO_TCP, 0, l4, 12, buf);
		emit(g, buf, n, n, O_DROP, R_BAD_L4);
		break;
	case 7:
		/* TCP data offset 4 (16 bytes): below the minimum. */
		n = (uint32_t)build_tcp(g, &s, buf);
		ip[20 + 12] = 0x40;
		emit(g, buf, n, n, O_DROP, R_BAD_L4);
		break;
	case 8:
		/* TCP data offset 15 (60 bytes) in a 30-byte segment. */
		fill(g, l4, 10);
		s.payload = l4;
		s.plen = 10;
		n = (uint32_t)build_tcp(g, &s, buf);
		ip[20 + 12] = 0xf0;
		emit(g, buf, n, n, O_DROP, R_BAD_L4);
		break;
	case 9:
		/* A SYN to the service as a first fragment (MF set). */
		s.frag = IP_MF;
		n = (uint32_t)build_tcp(g, &s, buf);
		emit(g, buf, n, n, O_DROP, R_FRAGMENT);
		break;
	case 10:
		/* A later fragment to the VIP: offset 1480, no TCP header. */
		fill(g, l4, 40);
		n = (uint32_t)build_ip(g, bad, vip, IPPROTO_TCP, 185, l4, 40,
		    buf);
		emit(g, buf, n, n, O_DROP, R_FRAGMENT);
		break;
	case 11:
		/* ICMP echo to the VIP: no service answers it. */
		fill(g, l4, 32);
		lnet(g, libnet_build_icmpv4_echo(ICMP_ECHO, 0, 0, 0x1234, 1,
		    l4, 32, g->l, 0));
		lnet(g, libnet_build_ipv4(LIBNET_IPV4_H + LIBNET_ICMPV4_ECHO_H +
		    32, 0, g->ipid++, 0, 64, IPPROTO_ICMP, 0, bad, vip, NULL, 0,
		    g->l, 0));
		link_hdr(g, 0, 0);
		n = (uint32_t)cull(g, buf, 1);
		emit(g, buf, n, n, O_DROP, R_NO_SERVICE);
		break;
	case 12:
		/* UDP to VIP:80; the service is TCP. */
		fill(g, l4, 24);
		lnet(g, libnet_build_udp(s.sport, VPORT, LIBNET_UDP_H + 24, 0,
		    l4, 24, g->l, 0));
		lnet(g, libnet_build_ipv4(LIBNET_IPV4_H + LIBNET_UDP_H + 24, 0,
		    g->ipid++, 0, 64, IPPROTO_UDP, 0, bad, vip, NULL, 0, g->l,
		    0));
		link_hdr(g, 0, 0);
		n = (uint32_t)cull(g, buf, 1);
		emit(g, buf, n, n, O_DROP, R_NO_SERVICE);
		break;
	case 13:
		/* A SYN to VIP:443, a port that is not balanced. */
		s.dport = 443;
		n = (uint32_t)build_tcp(g, &s, buf);
		emit(g, buf, n, n, O_DROP, R_NO_SERVICE);
		break;
	case 14:
		/* A mid-stream ACK of a connection loadd never saw. */
		s.flags = TH_ACK;
		s.ack = rnd(g);
		n = (uint32_t)build_tcp(g, &s, buf);
		emit(g, buf, n, n, O_DROP, R_NO_FLOW);
		break;
	case 15:
		/* SYN+ACK from the client side: not a pure SYN, no flow. */
		s.flags = TH_SYN | TH_ACK;
		s.ack = rnd(g);
		n = (uint32_t)build_tcp(g, &s, buf);
		emit(g, buf, n, n, O_DROP, R_NO_FLOW);
		break;
	case 16:
		/* ARP who-has VIP: not IP, written as it is. */
		lnet(g, libnet_build_arp(ARPHRD_ETHER, ETHERTYPE_IP, 6, 4,
		    ARPOP_REQUEST, mac_router, (const uint8_t *)&bad,
		    mac_bcast, (const uint8_t *)&vip, NULL, 0, g->l, 0));
		lnet(g, libnet_build_ethernet(mac_bcast, mac_router,
		    ETHERTYPE_ARP, NULL, 0, g->l, 0));
		n = (uint32_t)cull(g, buf, 1);
		emit(g, buf, n, n, O_NOTIP, R_NONE);
		break;
	case 17:
		/* A 10-byte runt: too short to say what it is. */
		fill(g, buf, 10);
		emit(g, buf, 10, 10, O_NOTIP, R_NONE);
		break;
	case 18:
		/*
		 * A SYN with 200 bytes of data, captured with a snaplen of
		 * 64: loadd cannot rewrite what it does not have.
		 */
		fill(g, l4, 200);
		s.payload = l4;
		s.plen = 200;
		n = (uint32_t)build_tcp(g, &s, buf);
		emit(g, buf, 64, n, O_DROP, R_CAPTURE_TRUNCATED);
		break;
	case 19:
		/* Traffic that is none of loadd's business. */
		s.src = addr("192.0.2.1");
		s.dst = addr("192.0.2.2");
		n = (uint32_t)build_tcp(g, &s, buf);
		emit(g, buf, n, n, O_PASS, R_NONE);
		break;
	case 20:
		/* A server's SYN+ACK with no flow: rewritten all the same. */
		s.src = server_addr(1);
		s.sport = VPORT;
		s.dst = addr("198.51.100.77");
		s.dport = 47000;
		s.flags = TH_SYN | TH_ACK;
		s.ack = rnd(g);
		s.fromserver = 1;
		n = (uint32_t)build_tcp(g, &s, buf);
		emit(g, buf, n, n, O_REWRITE, R_NONE);
		break;
	case 21:
		/* A server's reply as a first fragment. */
		s.src = server_addr(0);
		s.sport = VPORT;
		s.dst = addr("198.51.100.77");
		s.dport = 47001;
		s.flags = TH_ACK;
		s.frag = IP_MF;
		s.fromserver = 1;
		n = (uint32_t)build_tcp(g, &s, buf);
		emit(g, buf, n, n, O_DROP, R_FRAGMENT);
		break;
	case 22:
		/* From a server's address but another port: not a reply. */
		s.src = server_addr(0);
		s.sport = 22;
		s.dst = addr("198.51.100.77");
		s.dport = 47002;
		s.flags = TH_ACK;
		s.fromserver = 1;
		n = (uint32_t)build_tcp(g, &s, buf);
		emit(g, buf, n, n, O_PASS, R_NONE);
		break;
	case 23:
		/* UDP whose length field says 4 bytes. */
		fill(g, l4, 16);
		lnet(g, libnet_build_udp(s.sport, VPORT, 4, 0, l4, 16, g->l,
		    0));
		lnet(g, libnet_build_ipv4(LIBNET_IPV4_H + LIBNET_UDP_H + 16, 0,
		    g->ipid++, 0, 64, IPPROTO_UDP, 0, bad, vip, NULL, 0, g->l,
		    0));
		link_hdr(g, 0, 0);
		n = (uint32_t)cull(g, buf, 1);
		emit(g, buf, n, n, O_DROP, R_BAD_L4);
		break;
	default:
		return;
	}
	bad_next = k + 1;
}

/* Puts a bad packet after every second packet of the good connections. */
static void
bad_hook(struct gen *g, unsigned pkt)
{
	if (pkt % 2 == 1)
		bad_packet(g, bad_next);
}

/*
 * Good connections with bad packets in between, then two connections
 * that reuse the source ports of finished ones (after a reset and after
 * FIN both ways): loadd must see new flows there and pick the next
 * servers.  One connection is VLAN-tagged, one carries IP options.
 */
static void
write_bad(const char *dir)
{
	struct gen	 g;
	struct conn	 c[6], again[2];
	unsigned	 before;

	gen_open(&g, dir, "bad", DLT_EN10MB, SNAPLEN);
	conns_init(&g, c, 6, "198.51.100.20", 41000);
	c[2].vlan = 100;
	c[4].ipopts = 1;
	bad_next = 0;
	run_conns(&g, c, 6, bad_hook);

	conns_init(&g, again, 2, "198.51.100.20", 41000);
	again[0].cport = c[3].cport;		/* ended by the client's RST */
	again[1].cport = c[0].cport;		/* ended by FIN both ways */
	if (c[3].ending != END_CRST || c[0].ending != END_FIN)
		errx(1, "bad.pcap: the connections to reuse ended otherwise");
	run_conns(&g, again, 2, bad_hook);
	/* Whatever bad packets found no place between the good ones. */
	do {
		before = bad_next;
		bad_packet(&g, bad_next);
	} while (bad_next != before);
	gen_close(&g, 1);
}

/*
 * Frames of the largest IPv4 datagram, 65535 bytes plus the Ethernet
 * header, in a capture whose snaplen (tcpdump's default) holds them.  A
 * capture taken where the NIC or GRO coalesces segments looks like this.
 * What loadd writes must keep them whole.
 */
static void
write_gro(const char *dir)
{
	struct gen	 g;
	struct conn	 c[4];

	gen_open(&g, dir, "gro", DLT_EN10MB, SNAPLEN_MAX);
	conns_init(&g, c, 4, "198.51.100.9", 42000);
	c[1].req = IPMAX_PAYLOAD;
	c[2].resp = IPMAX_PAYLOAD;
	run_conns(&g, c, 4, NULL);
	gen_close(&g, 1);
}

/* One SYN in PPP framing: a link type loadd does not read. */
static void
write_unsupported(const char *dir)
{
	static const uint8_t	 ppp[4] = { 0xff, 0x03, 0x00, 0x21 };
	struct gen		 g;
	struct seg		 s;
	static uint8_t		 buf[FRAMEMAX + sizeof(ppp)];
	size_t			 n;

	gen_open(&g, dir, "unsupported", DLT_PPP, SNAPLEN);
	memset(&s, 0, sizeof(s));
	s.src = addr("198.51.100.7");
	s.dst = addr(VIP);
	s.sport = 40000;
	s.dport = VPORT;
	s.flags = TH_SYN;
	n = build_tcp(&g, &s, buf + sizeof(ppp));
	memcpy(buf, ppp, sizeof(ppp));
	n += sizeof(ppp);
	emit(&g, buf, (uint32_t)n, (uint32_t)n, O_DROP, R_NONE);
	gen_close(&g, 0);
}

static uint32_t
get32(const uint8_t *p, int swap)
{
	uint32_t	 v;

	memcpy(&v, p, 4);
	if (swap)
		v = (v >> 24) | ((v >> 8) & 0xff00) | ((v << 8) & 0xff0000) |
		    (v << 24);
	return (v);
}

static void
put32(uint8_t *p, uint32_t v, int swap)
{
	if (swap)
		v = (v >> 24) | ((v >> 8) & 0xff00) | ((v << 8) & 0xff0000) |
		    (v << 24);
	memcpy(p, &v, 4);
}

static void
write_file(const char *dir, const char *name, const uint8_t *buf,
    size_t len)
{
	char	 path[4096];
	FILE	*fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fp = fopen(path, "wb")) == NULL)
		err(1, "%s", path);
	if (len != 0 && fwrite(buf, 1, len, fp) != len)
		err(1, "%s", path);
	if (fclose(fp) == EOF)
		err(1, "%s", path);
}

/*
 * Damages a copy of tcp.pcap byte by byte, the way a disk, a copy or a
 * killed tcpdump does: cut in the middle of record DAMAGE_AFTER, an
 * absurd length in that record's header, a file header that is not a
 * capture's.  DAMAGE_AFTER crosses loadd's batch of 64, so both a whole
 * batch and the part of one before the damage must reach the output.
 */
static void
write_damaged(const char *dir)
{
	char		 path[4096];
	uint8_t		*buf, *copy;
	FILE		*fp;
	size_t		 len, off, cut;
	uint32_t	 magic, caplen;
	unsigned	 i;
	int		 swap;
	long		 sz;

	snprintf(path, sizeof(path), "%s/tcp.pcap", dir);
	if ((fp = fopen(path, "rb")) == NULL)
		err(1, "%s", path);
	if (fseek(fp, 0, SEEK_END) == -1 || (sz = ftell(fp)) < 24 ||
	    fseek(fp, 0, SEEK_SET) == -1)
		errx(1, "%s: cannot size it", path);
	len = (size_t)sz;
	if ((buf = malloc(len)) == NULL || (copy = malloc(len)) == NULL)
		err(1, "malloc");
	if (fread(buf, 1, len, fp) != len)
		errx(1, "%s: short read", path);
	fclose(fp);

	magic = get32(buf, 0);
	if (magic == 0xa1b2c3d4)
		swap = 0;
	else if (magic == 0xd4c3b2a1)
		swap = 1;
	else
		errx(1, "%s: not a microsecond pcap file", path);
	for (off = 24, i = 0; i < DAMAGE_AFTER; i++) {
		if (off + 16 > len)
			errx(1, "%s: fewer than %u records", path,
			    DAMAGE_AFTER + 1);
		off += 16 + get32(buf + off + 8, swap);
	}
	if (off + 16 > len)
		errx(1, "%s: fewer than %u records", path, DAMAGE_AFTER + 1);
	caplen = get32(buf + off + 8, swap);

	/* Cut in the middle of the record's data. */
	cut = off + 16 + caplen / 2;
	write_file(dir, "damaged-trunc.pcap", buf, cut);

	/* A record that claims 2 GB. */
	memcpy(copy, buf, len);
	put32(copy + off + 8, 0x7fffffff, swap);
	put32(copy + off + 12, 0x7fffffff, swap);
	write_file(dir, "damaged-caplen.pcap", copy, len);

	/* A magic number no capture format has. */
	memcpy(copy, buf, len);
	put32(copy, 0xdeadbeef, 0);
	write_file(dir, "damaged-magic.pcap", copy, len);

	free(buf);
	free(copy);

	snprintf(path, sizeof(path), "%s/damaged.expect", dir);
	if ((fp = fopen(path, "w")) == NULL)
		err(1, "%s", path);
	fprintf(fp, "# damaged-trunc.pcap and damaged-caplen.pcap: records "
	    "before the damage\nbefore %u\n", DAMAGE_AFTER);
	if (fclose(fp) == EOF)
		err(1, "%s", path);
}

int
main(int argc, char *argv[])
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen_fixtures OUTDIR\n");
		return (1);
	}
	write_tcp(argv[1]);
	write_raw(argv[1]);
	write_bad(argv[1]);
	write_gro(argv[1]);
	write_unsupported(argv[1]);
	write_damaged(argv[1]);
	return (0);
}
