/*
 * verify_replay: checks, packet by packet, what "loadd -r IN -w OUT" wrote.
 *
 *	verify_replay IN OUT --vip ADDR [--proto tcp|udp] --port PORT
 *	    --servers A[:P],B[:P],... [--vip ...] [--maxflows N]
 *	    [--timeouts EST,TRANSITORY,UDP] [--reset] [--drops N]
 *	    [--udp-none N] [--udp-ffff N] [--damaged]
 *
 * Each --vip starts a service, as "service =" does in loadd.conf: its
 * protocol (tcp unless --proto says udp), port and servers in
 * configuration order; IPv6 servers with a port are written [A]:P.
 * --maxflows, --timeouts and --reset say what loadd.conf says about the
 * flow table and unknown flows (timeouts default to loadd's 7440, 240 and
 * 300 s; without --maxflows the table has no limit).
 *
 * The verifier has its own model of what loadd promises for each input
 * packet, written from loadd's documentation: pass untouched (not IP, or
 * not for a service), rewrite towards a server (client to VIP and port,
 * a pure SYN or a known flow, or any UDP datagram), rewrite back (from a
 * server's address and port), translate an ICMP error about a balanced
 * flow (RFC 5508), answer a stray TCP packet with a RST (--reset), or
 * drop (malformed, truncated by the capture, a fragment, another protocol
 * or port at a VIP, a mid-stream packet of no flow, no room in the table,
 * an ICMP error with a bad checksum).  Its flow table keeps, per client
 * address, port and service: the server, the TCP state (which gives the
 * timeout class), the time of the last packet and when the flow entered
 * its class.  Flows expire when loadd's expiry runs: after every 64
 * records (loadd's replay batch), at the time of the last IP packet
 * before.  A flow idle for less than its timeout is alive; one idle for
 * timeout + timeout/16 + 1 s or more at an expiry run is gone; in
 * between the model cannot tell, and a packet of such a flow is a
 * failure of the fixture.  When the table is full a new flow evicts the
 * half-open flow that entered its class first, else the closing one;
 * established TCP and UDP flows are never evicted.
 *
 * The output keeps the input's order minus the drops, so input and output
 * records are paired in order; a pair has the same timestamp and, but for
 * a RST put in a packet's place, the same lengths.  For every output
 * packet it checks the IPv4 header and TCP, UDP and ICMP checksums by
 * full recomputation (IPv6 ones with the pseudo-header), that only the
 * fields loadd may change changed, where inbound packets went and where
 * replies come from, that every packet of a flow went to the same server,
 * and that new flows went round-robin over the service's servers in the
 * order given.  A new flow that went elsewhere is reported once, and then
 * followed where it went.
 *
 * --drops N: the number of drops the fixture's generator expects; the
 * output must be that much shorter than the input, and the model must
 * agree.  --udp-none N, --udp-ffff N: so many rewritten UDP datagrams
 * must have kept a checksum of 0 (none), and so many datagrams or whole
 * quoted ones must have come out 0xffff (a computed 0); the fixture says
 * how many it made, so the cases are known to have been met.  --damaged:
 * the input may end in a read error (the replay of a damaged capture);
 * only what came before it is checked.
 *
 * Exit status 0 when every check passed, 1 otherwise, 2 on bad usage.
 */
#include <sys/types.h>

#include <arpa/inet.h>

#include <errno.h>
#include <limits.h>
#include <pcap/pcap.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXSERVICES	16
#define MAXSERVERS	64
#define MAXCAP		262144		/* libpcap's largest snaplen */
#define WINDOW		4096		/* input records looked ahead */
#define FLOWCAP		(1U << 16)	/* flow slots of the model */
#define SHOWFAILS	50		/* failures printed in full */
#define NREASONS	16		/* drop reasons tallied by name */
#define BATCH		64		/* records per expiry run of loadd */
#define MAXMASK		48		/* words a check may leave out */

#define TCP_FIN		0x01
#define TCP_SYN		0x02
#define TCP_RST		0x04
#define TCP_PSH		0x08
#define TCP_ACK		0x10

#define P_ICMP		1
#define P_TCP		6
#define P_UDP		17
#define P_ICMPV6	58

/* What loadd should do with an input packet. */
enum expect {
	X_PASS,			/* written untouched */
	X_NOTIP,		/* not IP: written untouched */
	X_IN,			/* client to a service: towards a server */
	X_OUT,			/* a server's reply: from the VIP */
	X_ICMP_TOSERVER,	/* an error about a reply loadd rewrote */
	X_ICMP_TOCLIENT,	/* an error about a client's packet, too */
	X_RESET,		/* answered with a RST in its place */
	X_DROP
};

/* One capture record. */
struct rec {
	struct pcap_pkthdr	 h;
	unsigned		 no;		/* 1 for the first record */
	uint8_t			*f;		/* h.caplen bytes */
};

/* An address of either family. */
struct vaddr {
	uint8_t		 family;	/* 4 or 6 */
	uint8_t		 a[16];		/* network byte order */
};

/* The packet an ICMP error quotes, as far as the model cares. */
struct quote {
	int		 ok;		/* a whole IP header and the ports */
	unsigned	 off;		/* its IP header's offset in frame */
	unsigned	 len;		/* bytes of it the error holds */
	unsigned	 hlen;		/* its IP and extension headers */
	unsigned	 tot;		/* its length, as its header says */
	uint8_t		 proto;
	struct vaddr	 src;
	struct vaddr	 dst;
	uint16_t	 sport;
	uint16_t	 dport;
};

/* What a frame holds, as far as the model cares. */
struct parsed {
	int		 kind;		/* K_* */
	const char	*bad;		/* why a malformed packet is dropped */
	uint8_t		 family;
	unsigned	 off;		/* IP header offset in the frame */
	unsigned	 hlen;		/* with options, extension headers */
	unsigned	 tot;		/* the datagram's length */
	int		 frag;		/* a fragment, first or later */
	int		 later;		/* a fragment with a non-zero offset */
	uint8_t		 proto;
	struct vaddr	 src;
	struct vaddr	 dst;
	int		 ports;		/* sport, dport, TCP fields valid */
	uint16_t	 sport;		/* host byte order */
	uint16_t	 dport;
	uint8_t		 tcpflags;
	uint32_t	 seq;
	uint32_t	 ack;
	unsigned	 doff;		/* TCP header length */
	int		 icmperr;	/* an ICMP (IPv4) or ICMPv6 error */
	uint8_t		 icmptype;
	uint8_t		 icmpcode;
	struct quote	 q;		/* icmperr: what it quotes */
};

#define K_NOTIP		0
#define K_IP		1
#define K_BAD		2	/* IP that loadd must drop as malformed */

/* TCP states as loadd's flow table keeps them (flow.h), and UDP. */
enum fstate {
	FS_NONE,
	FS_SYN_SENT,		/* client SYN seen */
	FS_SYN_RECV,		/* server SYN+ACK seen */
	FS_ESTABLISHED,		/* client ACK of the SYN+ACK seen */
	FS_FIN_WAIT,		/* one side sent FIN */
	FS_TIME_WAIT,		/* both sides sent FIN */
	FS_CLOSE,		/* RST seen */
	FS_UDP
};

/* Timeout classes: each has its timeout; the first two are evictable. */
enum fclass {
	FC_HALFOPEN,
	FC_CLOSING,
	FC_ESTABLISHED,
	FC_UDP,
	FC_N
};

static const char *const class_names[FC_N] = {
	"transitory", "transitory", "established", "UDP"
};

#define SLOT_FREE	0
#define SLOT_USED	1
#define SLOT_DEAD	2	/* freed; lookups probe past it */

/* The model's view of a flow: a client address and port at a service. */
struct vflow {
	struct vaddr	 addr;
	uint16_t	 port;
	uint8_t		 slot;		/* SLOT_* */
	uint8_t		 state;		/* enum fstate */
	uint8_t		 fins;		/* 1: client FIN seen, 2: server FIN */
	uint8_t		 unsure;	/* idle past its timeout at an expiry */
	unsigned	 svc;
	unsigned	 srv;
	uint32_t	 last;		/* time of its last packet */
	uint32_t	 since;		/* time it entered its class */
	uint64_t	 order;		/* when it entered its class, in turn */
};

struct service {
	struct vaddr	 vip;
	uint8_t		 proto;
	uint16_t	 port;
	unsigned	 first;		/* its servers: first .. + nsrv - 1 */
	unsigned	 nsrv;
	unsigned	 flows;		/* new flows so far */
	char		 name[64];
};

struct server {
	struct vaddr	 addr;
	uint16_t	 port;		/* 0: the service's */
	unsigned	 svc;
	unsigned	 flows;
	char		 name[64];
};

/* What the model decided about one input packet. */
struct verdict {
	enum expect	 x;
	const char	*why;		/* X_DROP: the reason, loadd's name */
	int		 svc;		/* the service concerned, or -1 */
	int		 srv;		/* the server concerned, or -1 */
	int		 isnew;		/* the packet starts a flow ... */
	unsigned	 flowno;	/* ... the service's flow number this */
	struct vflow	*f;		/* the flow, if any */
};

static struct {
	struct service	 svc[MAXSERVICES];
	unsigned	 nsvc;
	struct server	 srv[MAXSERVERS];
	unsigned	 nsrv;
	uint32_t	 maxflows;	/* 0: no limit */
	uint32_t	 timeout[FC_N];
	int		 reset;
	int		 dlt;
	int		 outsnap;	/* the output file's snaplen */
	unsigned	 fails;
	unsigned	 checked;
	struct vflow	*flows;
	unsigned	 nflows;	/* flows in the table */
	unsigned	 slots;		/* slots used or dead */
	uint64_t	 order;
	uint32_t	 now;
	int		 clock_set;
	int		 unsure_order[FC_N];
	unsigned	 expired;
	unsigned	 evicted;
	unsigned	 refused;
	unsigned	 udp_none;
	unsigned	 udp_ffff;
	unsigned	 xdrops;
	unsigned	 xdrop_by[NREASONS];
	const char	*xdrop_name[NREASONS];
} v;

/*
 * Input records read but not settled yet.  An output record is paired
 * with the first of them that it matches; those before it were dropped.
 */
static struct pending {
	struct rec	 r;
	struct parsed	 p;
}			 q[WINDOW];
static unsigned		 qhead, qlen;

static void	 usage(void) __attribute__((noreturn));
static void	 fail(const char *, ...) __attribute__((format(printf, 1, 2)));
static uint16_t	 get16(const uint8_t *);
static uint32_t	 get32(const uint8_t *);
static void	 put16(uint8_t *, uint16_t);
static int	 addr_eq(const struct vaddr *, const struct vaddr *);
static void	 addr_get(struct vaddr *, int, const uint8_t *);
static const char *ep_str(const struct vaddr *, int, char *, size_t);
static unsigned	 alen(int);
static void	 parse(const struct rec *, struct parsed *);
static void	 parse4(const uint8_t *, unsigned, struct parsed *);
static void	 parse6(const uint8_t *, unsigned, struct parsed *);
static void	 parse_l4(const uint8_t *, struct parsed *);
static void	 parse_quote(const uint8_t *, unsigned, unsigned,
		    struct parsed *);
static int	 icmp_is_error(int, uint8_t, uint8_t);
static const char *desc(const struct rec *, const struct parsed *, char *,
		    size_t);
static int	 service_find(uint8_t, const struct vaddr *, uint16_t);
static int	 server_find(uint8_t, const struct vaddr *, uint16_t);
static int	 is_vip(const struct vaddr *);
static uint32_t	 flow_hash(const struct vaddr *, uint16_t, unsigned);
static struct vflow *flow_find(const struct vaddr *, uint16_t, unsigned);
static struct vflow *flow_add(const struct vaddr *, uint16_t, unsigned);
static void	 flow_free(struct vflow *);
static int	 flow_class(uint8_t);
static void	 flow_state(struct vflow *, uint8_t);
static void	 track(struct vflow *, uint8_t, int);
static struct vflow *flow_oldest(int);
static struct vflow *flow_new(const struct parsed *, unsigned, const char *,
		    struct verdict *);
static void	 unsure(const char *, const struct vflow *);
static void	 clock_at(uint32_t);
static void	 tick(void);
static void	 classify(const struct rec *, const struct parsed *,
		    struct verdict *);
static void	 classify_in(const struct parsed *, int, const char *,
		    struct verdict *);
static void	 classify_out(const char *, const struct parsed *, int,
		    struct verdict *);
static void	 classify_icmp(const struct rec *, const struct parsed *,
		    const char *, struct verdict *);
static void	 count_drop(const char *);
static uint64_t	 sum16(uint64_t, const uint8_t *, size_t);
static uint16_t	 fold(uint64_t);
static uint64_t	 pseudo(const struct vaddr *, const struct vaddr *, uint8_t,
		    unsigned);
static int	 ip4_ok(const uint8_t *, unsigned);
static int	 l4_ok(const struct vaddr *, const struct vaddr *, uint8_t,
		    const uint8_t *, unsigned);
static int	 icmp_ok(const uint8_t *, const struct parsed *);
static uint16_t	 quote_sum(const uint8_t *, const struct quote *, unsigned);
static unsigned	 mask_addr(unsigned *, unsigned, unsigned, int);
static long	 first_diff(const uint8_t *, const uint8_t *, unsigned,
		    const unsigned *, unsigned);
static int	 same_header(const struct rec *, const struct rec *);
static int	 same_bytes(const struct rec *, const struct parsed *,
		    const struct rec *);
static int	 match(const struct rec *);
static void	 check_sums(const char *, const struct rec *,
		    const struct parsed *, const struct rec *,
		    const struct parsed *);
static void	 check_rewrite(const char *, const struct rec *,
		    const struct parsed *, const struct rec *,
		    const struct verdict *);
static void	 check_icmp(const char *, const struct rec *,
		    const struct parsed *, const struct rec *,
		    const struct verdict *);
static void	 check_reset(const char *, const struct rec *,
		    const struct parsed *, const struct rec *);
static void	 check_pair(const char *, const struct rec *,
		    const struct parsed *, const struct rec *,
		    const struct verdict *);
static int	 next_rec(pcap_t *, struct rec *, const char *, unsigned *,
		    int, int *);
static void	 settle(struct pending *, const struct rec *);
static int	 parse_addr(const char *, struct vaddr *);
static void	 parse_servers(struct service *, char *);
static unsigned long number(const char *);

static void
usage(void)
{
	fprintf(stderr, "usage: verify_replay IN OUT --vip ADDR "
	    "[--proto tcp|udp] --port PORT --servers A[:P],B[:P],...\n"
	    "    [--vip ...] [--maxflows N] [--timeouts EST,TRANSITORY,UDP] "
	    "[--reset]\n    [--drops N] [--udp-none N] [--udp-ffff N] "
	    "[--damaged]\n");
	exit(2);
}

static void
fail(const char *fmt, ...)
{
	va_list	 ap;

	if (++v.fails > SHOWFAILS) {
		if (v.fails == SHOWFAILS + 1)
			printf("verify_replay: more failures; only counting "
			    "them from here\n");
		return;
	}
	printf("verify_replay: FAIL: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static uint16_t
get16(const uint8_t *p)
{
	return ((uint16_t)(p[0] << 8 | p[1]));
}

static uint32_t
get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3]);
}

static void
put16(uint8_t *p, uint16_t x)
{
	p[0] = (uint8_t)(x >> 8);
	p[1] = (uint8_t)x;
}

static unsigned
alen(int family)
{
	return (family == 4 ? 4 : 16);
}

static int
addr_eq(const struct vaddr *a, const struct vaddr *b)
{
	return (a->family == b->family &&
	    memcmp(a->a, b->a, alen(a->family)) == 0);
}

static void
addr_get(struct vaddr *a, int family, const uint8_t *p)
{
	memset(a, 0, sizeof(*a));
	a->family = (uint8_t)family;
	memcpy(a->a, p, alen(family));
}

/* "198.51.100.7:40003", "[2001:db8::10]:80", or without a port (-1). */
static const char *
ep_str(const struct vaddr *a, int port, char *buf, size_t len)
{
	char	 s[INET6_ADDRSTRLEN];

	if (inet_ntop(a->family == 4 ? AF_INET : AF_INET6, a->a, s,
	    sizeof(s)) == NULL)
		snprintf(s, sizeof(s), "?");
	if (port < 0)
		snprintf(buf, len, "%s", s);
	else
		snprintf(buf, len, a->family == 4 ? "%s:%d" : "[%s]:%d", s,
		    port);
	return (buf);
}

/*
 * Finds the IP header and reads what the model needs.  What counts as
 * malformed is what RFC 791, 8200, 793 and 768 say cannot be a packet: a
 * header shorter than its minimum, a length field beyond the data or
 * below the header, an extension header or a transport header that does
 * not fit.  loadd reads the version from the packet, not the link type,
 * and so does the model.
 */
static void
parse(const struct rec *r, struct parsed *p)
{
	const uint8_t	*f = r->f;
	uint32_t	 cap = r->h.caplen;
	unsigned	 o, tags, type;

	memset(p, 0, sizeof(*p));
	if (v.dlt == DLT_EN10MB) {
		if (cap < 14)
			return;
		o = 14;
		type = get16(f + 12);
		for (tags = 0; tags < 2 && (type == 0x8100 || type == 0x88a8);
		    tags++) {
			if (cap < o + 4)
				return;
			type = get16(f + o + 2);
			o += 4;
		}
		if (type != 0x0800 && type != 0x86dd)
			return;
	} else
		o = 0;
	p->off = o;
	p->kind = K_BAD;
	if (cap - o < 1) {
		p->bad = "truncated";
		return;
	}
	switch (f[o] >> 4) {
	case 4:
		parse4(f + o, cap - o, p);
		break;
	case 6:
		parse6(f + o, cap - o, p);
		break;
	default:
		p->bad = "bad_version";
		break;
	}
}

static void
parse4(const uint8_t *ip, unsigned len, struct parsed *p)
{
	unsigned	 fo;

	if (len < 20) {
		p->bad = "truncated";
		return;
	}
	p->hlen = (unsigned)(ip[0] & 0x0f) * 4;
	p->tot = get16(ip + 2);
	if (p->hlen < 20) {
		p->bad = "bad_header_length";
		return;
	}
	if (p->tot < p->hlen || p->tot > len) {
		p->bad = "bad_total_length";
		return;
	}
	p->family = 4;
	p->proto = ip[9];
	addr_get(&p->src, 4, ip + 12);
	addr_get(&p->dst, 4, ip + 16);
	fo = get16(ip + 6);
	p->frag = (fo & 0x3fff) != 0;
	p->later = (fo & 0x1fff) != 0;
	p->kind = K_IP;
	if (!p->later)
		parse_l4(ip, p);
}

/*
 * IPv6 with its extension headers: hop-by-hop, routing and destination
 * options by their length field, the fragment header by its 8 bytes.  A
 * payload length of 0 announces a jumbogram (RFC 2675), which loadd does
 * not take.  loadd also refuses chains of more than 8 extension headers;
 * no fixture has one.
 */
static void
parse6(const uint8_t *ip, unsigned len, struct parsed *p)
{
	unsigned	 plen, off, nh, hl, fo;

	if (len < 40) {
		p->bad = "truncated";
		return;
	}
	plen = get16(ip + 4);
	if (plen == 0) {
		p->bad = "jumbogram";
		return;
	}
	if (40 + plen > len) {
		p->bad = "bad_total_length";
		return;
	}
	p->family = 6;
	p->tot = 40 + plen;
	addr_get(&p->src, 6, ip + 8);
	addr_get(&p->dst, 6, ip + 24);
	nh = ip[6];
	for (off = 40;;) {
		if (nh == 0 || nh == 43 || nh == 60) {
			if (off + 8 > p->tot ||
			    off + (hl = ((unsigned)ip[off + 1] + 1) * 8) >
			    p->tot) {
				p->bad = "bad_extension_header";
				return;
			}
			nh = ip[off];
			off += hl;
		} else if (nh == 44) {
			if (off + 8 > p->tot) {
				p->bad = "bad_extension_header";
				return;
			}
			nh = ip[off];
			fo = get16(ip + off + 2);
			off += 8;
			if (fo & 0xfff8) {
				p->frag = p->later = 1;
				break;
			}
			/* Offset 0 and no more: a whole packet (RFC 6946). */
			p->frag = fo & 1;
		} else
			break;
	}
	p->hlen = off;
	p->proto = (uint8_t)nh;
	p->kind = K_IP;
	if (!p->later)
		parse_l4(ip, p);
}

static int
icmp_is_error(int family, uint8_t proto, uint8_t type)
{
	if (family == 4 && proto == P_ICMP)
		return (type == 3 || type == 4 || type == 11 || type == 12);
	if (family == 6 && proto == P_ICMPV6)
		return (type >= 1 && type <= 4);
	return (0);
}

/* The transport header at p->hlen, which the datagram must hold. */
static void
parse_l4(const uint8_t *ip, struct parsed *p)
{
	const uint8_t	*l4 = ip + p->hlen;
	unsigned	 n = p->tot - p->hlen, ulen;

	switch (p->proto) {
	case P_TCP:
		if (n < 20 || (p->doff = (unsigned)(l4[12] >> 4) * 4) < 20 ||
		    p->doff > n)
			break;
		p->tcpflags = l4[13];
		p->seq = get32(l4 + 4);
		p->ack = get32(l4 + 8);
		p->ports = 1;
		goto ports;
	case P_UDP:
		/* A first fragment holds only part of the datagram. */
		if (n < 8 || (!p->frag && ((ulen = get16(l4 + 4)) < 8 ||
		    ulen > n)))
			break;
		p->ports = 1;
		goto ports;
	case P_ICMP:
	case P_ICMPV6:
		if (n < 8)
			break;
		p->icmptype = l4[0];
		p->icmpcode = l4[1];
		if (!p->frag && icmp_is_error(p->family, p->proto, l4[0])) {
			p->icmperr = 1;
			parse_quote(l4 + 8, n - 8, p->off + p->hlen + 8, p);
		}
		return;
	default:
		return;
	}
	if (!p->ports) {
		p->kind = K_BAD;
		p->bad = "bad_transport_header";
	}
	return;
ports:
	p->sport = get16(l4);
	p->dport = get16(l4 + 2);
}

/*
 * The packet an ICMP error quotes (RFC 792, 4443): the beginning of the
 * original, at least its IP header and 8 transport bytes (the ports).
 * Its length field is the original's, which the quote may not hold all
 * of.  A quote of the other family, of a later fragment, or of a protocol
 * without ports is about no flow.
 */
static void
parse_quote(const uint8_t *b, unsigned len, unsigned off, struct parsed *p)
{
	struct quote	*qu = &p->q;
	unsigned	 hl, nh, fo;

	memset(qu, 0, sizeof(*qu));
	qu->off = off;
	qu->len = len;
	if (len < 1 || (unsigned)(b[0] >> 4) != p->family)
		return;
	if (p->family == 4) {
		if (len < 20 || (hl = (unsigned)(b[0] & 0x0f) * 4) < 20 ||
		    hl > len || get16(b + 2) < hl || (get16(b + 6) & 0x1fff))
			return;
		qu->tot = get16(b + 2);
		nh = b[9];
		addr_get(&qu->src, 4, b + 12);
		addr_get(&qu->dst, 4, b + 16);
	} else {
		if (len < 40 || get16(b + 4) == 0)
			return;
		qu->tot = 40 + get16(b + 4);
		addr_get(&qu->src, 6, b + 8);
		addr_get(&qu->dst, 6, b + 24);
		nh = b[6];
		for (hl = 40;;) {
			if (nh == 0 || nh == 43 || nh == 60) {
				if (hl + 8 > len)
					return;
				fo = ((unsigned)b[hl + 1] + 1) * 8;
				nh = b[hl];
				hl += fo;
				if (hl > len)
					return;
			} else if (nh == 44) {
				if (hl + 8 > len ||
				    (get16(b + hl + 2) & 0xfff8))
					return;
				nh = b[hl];
				hl += 8;
			} else
				break;
		}
	}
	if ((nh != P_TCP && nh != P_UDP) || len - hl < 8)
		return;
	qu->hlen = hl;
	qu->proto = (uint8_t)nh;
	qu->sport = get16(b + hl);
	qu->dport = get16(b + hl + 2);
	qu->ok = 1;
}

/* "#12 (198.51.100.7:40003 > 203.0.113.10:80 tcp [S])" and so on. */
static const char *
desc(const struct rec *r, const struct parsed *p, char *buf, size_t sz)
{
	char	 a[64], b[64], c[64], d[64], fl[8];
	int	 n = 0;

	if (p->kind == K_NOTIP)
		snprintf(buf, sz, "#%u (not IP, %u bytes)", r->no,
		    r->h.caplen);
	else if (p->kind == K_BAD)
		snprintf(buf, sz, "#%u (malformed IP: %s)", r->no, p->bad);
	else if (p->icmperr && p->q.ok)
		snprintf(buf, sz, "#%u (%s > %s icmp%s %u/%u quoting %s %s > "
		    "%s)", r->no, ep_str(&p->src, -1, a, sizeof(a)),
		    ep_str(&p->dst, -1, b, sizeof(b)), p->family == 6 ? "6" :
		    "", p->icmptype, p->icmpcode, p->q.proto == P_TCP ? "tcp" :
		    "udp", ep_str(&p->q.src, p->q.sport, c, sizeof(c)),
		    ep_str(&p->q.dst, p->q.dport, d, sizeof(d)));
	else if (p->ports) {
		if (p->proto == P_TCP) {
			if (p->tcpflags & TCP_SYN)
				fl[n++] = 'S';
			if (p->tcpflags & TCP_FIN)
				fl[n++] = 'F';
			if (p->tcpflags & TCP_RST)
				fl[n++] = 'R';
			if (p->tcpflags & TCP_PSH)
				fl[n++] = 'P';
			if (p->tcpflags & TCP_ACK)
				fl[n++] = '.';
		}
		fl[n] = '\0';
		snprintf(buf, sz, "#%u (%s > %s %s%s%s%s)", r->no,
		    ep_str(&p->src, p->sport, a, sizeof(a)),
		    ep_str(&p->dst, p->dport, b, sizeof(b)),
		    p->proto == P_TCP ? "tcp [" : "udp", fl,
		    p->proto == P_TCP ? "]" : "", p->frag ? " fragment" : "");
	} else
		snprintf(buf, sz, "#%u (%s > %s proto %u%s)", r->no,
		    ep_str(&p->src, -1, a, sizeof(a)),
		    ep_str(&p->dst, -1, b, sizeof(b)), p->proto,
		    p->frag ? " fragment" : "");
	return (buf);
}

/* The service at a VIP, port and protocol, or -1. */
static int
service_find(uint8_t proto, const struct vaddr *a, uint16_t port)
{
	unsigned	 i;

	for (i = 0; i < v.nsvc; i++)
		if (v.svc[i].proto == proto && v.svc[i].port == port &&
		    addr_eq(&v.svc[i].vip, a))
			return ((int)i);
	return (-1);
}

/* The server at an address, port and protocol, or -1. */
static int
server_find(uint8_t proto, const struct vaddr *a, uint16_t port)
{
	unsigned	 i;

	for (i = 0; i < v.nsrv; i++)
		if (v.svc[v.srv[i].svc].proto == proto &&
		    v.srv[i].port == port && addr_eq(&v.srv[i].addr, a))
			return ((int)i);
	return (-1);
}

static int
is_vip(const struct vaddr *a)
{
	unsigned	 i;

	for (i = 0; i < v.nsvc; i++)
		if (addr_eq(&v.svc[i].vip, a))
			return (1);
	return (0);
}

static uint32_t
flow_hash(const struct vaddr *a, uint16_t port, unsigned svc)
{
	uint32_t	 h = 2166136261U;
	unsigned	 i;

	for (i = 0; i < 16; i++)
		h = (h ^ a->a[i]) * 16777619U;
	h = (h ^ port) * 16777619U;
	return ((h ^ svc) * 16777619U);
}

/* The model's flow of a client address and port at a service, or NULL. */
static struct vflow *
flow_find(const struct vaddr *a, uint16_t port, unsigned svc)
{
	struct vflow	*f;
	uint32_t	 h = flow_hash(a, port, svc);
	unsigned	 n;

	for (n = 0; n < FLOWCAP; n++, h++) {
		f = &v.flows[h & (FLOWCAP - 1)];
		if (f->slot == SLOT_FREE)
			return (NULL);
		if (f->slot == SLOT_USED && f->port == port && f->svc == svc &&
		    addr_eq(&f->addr, a))
			return (f);
	}
	return (NULL);
}

/* A new flow in the model's table; the caller knows there is none yet. */
static struct vflow *
flow_add(const struct vaddr *a, uint16_t port, unsigned svc)
{
	struct vflow	*f;
	uint32_t	 h = flow_hash(a, port, svc);

	if (v.slots >= FLOWCAP / 2) {
		fprintf(stderr, "verify_replay: more than %u flows in all; "
		    "the model cannot follow\n", FLOWCAP / 2);
		exit(1);
	}
	for (;; h++) {
		f = &v.flows[h & (FLOWCAP - 1)];
		if (f->slot != SLOT_USED)
			break;
	}
	if (f->slot == SLOT_FREE)
		v.slots++;
	memset(f, 0, sizeof(*f));
	f->slot = SLOT_USED;
	f->addr = *a;
	f->port = port;
	f->svc = svc;
	f->last = v.now;
	v.nflows++;
	return (f);
}

static void
flow_free(struct vflow *f)
{
	f->slot = SLOT_DEAD;
	v.nflows--;
}

static int
flow_class(uint8_t state)
{
	switch (state) {
	case FS_ESTABLISHED:
		return (FC_ESTABLISHED);
	case FS_FIN_WAIT:
	case FS_TIME_WAIT:
	case FS_CLOSE:
		return (FC_CLOSING);
	case FS_UDP:
		return (FC_UDP);
	default:
		return (FC_HALFOPEN);
	}
}

/* A new state; a new class puts the flow at the end of its class. */
static void
flow_state(struct vflow *f, uint8_t st)
{
	if (f->state == FS_NONE || flow_class(st) != flow_class(f->state)) {
		f->since = v.now;
		f->order = ++v.order;
	}
	f->state = st;
}

/*
 * TCP state from both directions, as loadd.conf(5) and flow.h describe
 * it: a RST closes, a server's SYN+ACK answers the SYN, the client's ACK
 * of it establishes, a FIN starts the closing and FINs both ways end it.
 */
static void
track(struct vflow *f, uint8_t fl, int fromclient)
{
	uint8_t	 st = f->state;

	if (fl & TCP_FIN)
		f->fins |= fromclient ? 1 : 2;
	if (fl & TCP_RST)
		st = FS_CLOSE;
	else {
		if (st == FS_SYN_SENT && !fromclient &&
		    (fl & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK))
			st = FS_SYN_RECV;
		else if (st == FS_SYN_RECV && fromclient &&
		    (fl & (TCP_SYN | TCP_ACK)) == TCP_ACK)
			st = FS_ESTABLISHED;
		if (f->fins != 0 && (st == FS_ESTABLISHED ||
		    st == FS_SYN_RECV))
			st = FS_FIN_WAIT;
		if (f->fins == 3 && st == FS_FIN_WAIT)
			st = FS_TIME_WAIT;
	}
	flow_state(f, st);
	f->last = v.now;
}

/* The flow of a class that entered it first: the next to evict. */
static struct vflow *
flow_oldest(int cls)
{
	struct vflow	*f, *best = NULL;
	unsigned	 i;

	for (i = 0; i < FLOWCAP; i++) {
		f = &v.flows[i];
		if (f->slot == SLOT_USED && flow_class(f->state) == cls &&
		    (best == NULL || f->order < best->order))
			best = f;
	}
	return (best);
}

/*
 * A packet of a flow the model may or may not have: loadd was free to
 * have expired it, so the fixture proves nothing here.
 */
static void
unsure(const char *d, const struct vflow *f)
{
	fail("input %s: fixture: the flow was idle for its %s timeout at an "
	    "expiry run, and loadd may or may not have expired it yet; let "
	    "the packet come sooner or later", d,
	    class_names[flow_class(f->state)]);
}

/*
 * A new flow for the packet p at service s: room made by eviction if the
 * table is full, then the next server of the service by round-robin.
 * NULL if the table is full of flows loadd never evicts.
 */
static struct vflow *
flow_new(const struct parsed *p, unsigned s, const char *d,
    struct verdict *vd)
{
	struct service	*svc = &v.svc[s];
	struct vflow	*f, *old;
	unsigned	 i;
	int		 cls;

	if (v.maxflows != 0 && v.nflows >= v.maxflows) {
		for (i = 0; i < FLOWCAP; i++)
			if (v.flows[i].slot == SLOT_USED &&
			    v.flows[i].unsure) {
				unsure(d, &v.flows[i]);
				break;
			}
		old = NULL;
		for (cls = FC_HALFOPEN; cls <= FC_CLOSING && old == NULL;
		    cls++)
			if ((old = flow_oldest(cls)) != NULL &&
			    v.unsure_order[cls])
				fail("input %s: fixture: an expiry run may "
				    "have put %s flows back in another order, "
				    "so which one is evicted is not known", d,
				    cls == FC_HALFOPEN ? "half-open" :
				    "closing");
		if (old == NULL) {
			v.refused++;
			return (NULL);
		}
		flow_free(old);
		v.evicted++;
	}
	f = flow_add(&p->src, p->sport, s);
	f->srv = svc->first + svc->flows % svc->nsrv;
	flow_state(f, p->proto == P_TCP ? FS_SYN_SENT : FS_UDP);
	vd->isnew = 1;
	vd->flowno = ++svc->flows;
	v.srv[f->srv].flows++;
	return (f);
}

/* The clock is the packets' time in seconds, and never runs backwards. */
static void
clock_at(uint32_t t)
{
	if (!v.clock_set || (int32_t)(t - v.now) > 0) {
		v.now = t;
		v.clock_set = 1;
	}
}

/*
 * loadd's expiry run, as its bounds allow the model to know it: a flow
 * idle for timeout + timeout/16 + 1 s is gone, one idle for its timeout
 * or more may be.  An entry looked at and kept goes to the end of its
 * class, which may change which is evicted first; the model notes where
 * that may have happened rather than copying how loadd decides.
 */
static void
tick(void)
{
	struct vflow	*f;
	uint32_t	 to, idle;
	unsigned	 i;
	int		 cls;

	for (i = 0; i < FLOWCAP; i++) {
		f = &v.flows[i];
		if (f->slot != SLOT_USED)
			continue;
		cls = flow_class(f->state);
		to = v.timeout[cls];
		idle = v.now - f->last;
		if (idle >= to + to / 16 + 1) {
			flow_free(f);
			v.expired++;
		} else if (idle >= to)
			f->unsure = 1;
		else if (cls <= FC_CLOSING &&
		    v.now - f->since >= (to / 16 ? to / 16 : 1))
			v.unsure_order[cls] = 1;
	}
}

/* A client's packet to service s. */
static void
classify_in(const struct parsed *p, int s, const char *d, struct verdict *vd)
{
	struct vflow	*f;
	int		 syn;

	vd->svc = s;
	if (p->frag) {
		vd->why = "fragment";
		return;
	}
	f = flow_find(&p->src, p->sport, (unsigned)s);
	if (f != NULL && f->unsure)
		unsure(d, f);
	if (p->proto == P_TCP) {
		syn = (p->tcpflags & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_SYN;
		if (f != NULL && syn && (f->state == FS_TIME_WAIT ||
		    f->state == FS_CLOSE)) {
			/* The client reuses the port: a new connection. */
			flow_free(f);
			f = NULL;
		}
		if (f == NULL && !syn) {
			if (v.reset && !(p->tcpflags & TCP_RST))
				vd->x = X_RESET;
			else
				vd->why = "no_flow";
			return;
		}
	}
	if (f == NULL) {
		if ((f = flow_new(p, (unsigned)s, d, vd)) == NULL) {
			vd->why = "table_full";
			return;
		}
	} else if (p->proto == P_TCP)
		track(f, p->tcpflags, 1);
	else
		f->last = v.now;
	vd->f = f;
	vd->srv = (int)f->srv;
	vd->x = X_IN;
}

/* A packet from server k's address and port: a reply. */
static void
classify_out(const char *d, const struct parsed *p, int k,
    struct verdict *vd)
{
	struct vflow	*f;

	vd->srv = k;
	vd->svc = (int)v.srv[k].svc;
	if (p->frag) {
		vd->why = "fragment";
		return;
	}
	f = flow_find(&p->dst, p->dport, v.srv[k].svc);
	if (f != NULL && f->unsure)
		unsure(d, f);
	if (f != NULL && f->srv != (unsigned)k)
		fail("input %s: a reply from %s for a flow that loadd sent to "
		    "%s (the fixture assumes round-robin in configuration "
		    "order)", d, v.srv[k].name, v.srv[f->srv].name);
	else if (f != NULL && p->proto == P_TCP)
		track(f, p->tcpflags, 0);
	else if (f != NULL)
		f->last = v.now;
	vd->x = X_OUT;
}

/*
 * An ICMP error (RFC 5508).  If it quotes a reply from a service (which
 * loadd rewrote), it goes to the server of the client's flow: no flow,
 * no translation.  If it quotes a packet to a server (which loadd
 * rewrote from the VIP), it goes back to the client; that needs no flow.
 * A bad checksum is dropped, not translated; loadd looks for the flow
 * first.  No ICMP message changes a flow or its timer.
 */
static void
classify_icmp(const struct rec *r, const struct parsed *p, const char *d,
    struct verdict *vd)
{
	const struct quote	*qu = &p->q;
	struct vflow		*f;
	int			 s, k;

	if (!qu->ok)
		goto notours;
	if ((s = service_find(qu->proto, &qu->src, qu->sport)) != -1) {
		vd->svc = s;
		if ((f = flow_find(&qu->dst, qu->dport, (unsigned)s)) ==
		    NULL) {
			vd->why = "no_flow";
			return;
		}
		if (f->unsure)
			unsure(d, f);
		if (!icmp_ok(r->f, p)) {
			vd->why = "icmp_bad_checksum";
			return;
		}
		vd->srv = (int)f->srv;
		vd->x = X_ICMP_TOSERVER;
		return;
	}
	if ((k = server_find(qu->proto, &qu->dst, qu->dport)) != -1) {
		vd->srv = k;
		vd->svc = (int)v.srv[k].svc;
		if (!icmp_ok(r->f, p)) {
			vd->why = "icmp_bad_checksum";
			return;
		}
		vd->x = X_ICMP_TOCLIENT;
		return;
	}
notours:
	if (is_vip(&p->dst))
		vd->why = "no_service";
	else
		vd->x = X_PASS;
}

/*
 * What loadd should do with an input packet, with the model's flows
 * brought up to date.  vd->why names a drop's reason as loadd's counters
 * do; vd->isnew says that the packet starts a flow.
 */
static void
classify(const struct rec *r, const struct parsed *p, struct verdict *vd)
{
	char	 d[256];
	int	 s, k;

	memset(vd, 0, sizeof(*vd));
	vd->x = X_DROP;
	vd->svc = vd->srv = -1;
	desc(r, p, d, sizeof(d));
	if (p->kind == K_NOTIP) {
		vd->x = X_NOTIP;
		return;
	}
	if (r->h.caplen < r->h.len) {
		vd->why = "capture_truncated";
		return;
	}
	if (p->kind == K_BAD) {
		vd->why = p->bad;
		return;
	}
	if (p->icmperr) {
		classify_icmp(r, p, d, vd);
		return;
	}
	if (!p->ports) {
		/* Later fragments, ICMP and other protocols. */
		if (is_vip(&p->dst))
			vd->why = p->frag ? "fragment" : "no_service";
		else
			vd->x = X_PASS;
		return;
	}
	if ((s = service_find(p->proto, &p->dst, p->dport)) != -1)
		classify_in(p, s, d, vd);
	else if ((k = server_find(p->proto, &p->src, p->sport)) != -1)
		classify_out(d, p, k, vd);
	else if (is_vip(&p->dst))
		vd->why = "no_service";
	else
		vd->x = X_PASS;
}

static void
count_drop(const char *why)
{
	unsigned	 i;

	v.xdrops++;
	for (i = 0; i < NREASONS && v.xdrop_name[i] != NULL; i++)
		if (strcmp(v.xdrop_name[i], why) == 0)
			break;
	if (i == NREASONS)
		return;
	v.xdrop_name[i] = why;
	v.xdrop_by[i]++;
}

static uint64_t
sum16(uint64_t sum, const uint8_t *b, size_t len)
{
	size_t	 i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint64_t)(b[i] << 8 | b[i + 1]);
	if (len & 1)
		sum += (uint64_t)b[len - 1] << 8;
	return (sum);
}

static uint16_t
fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ((uint16_t)sum);
}

/* The pseudo-header: RFC 793 and 768 for IPv4, RFC 8200 8.1 for IPv6. */
static uint64_t
pseudo(const struct vaddr *src, const struct vaddr *dst, uint8_t proto,
    unsigned len)
{
	uint64_t	 sum;

	sum = sum16(0, src->a, alen(src->family));
	sum = sum16(sum, dst->a, alen(dst->family));
	return (sum + proto + (len & 0xffff) + (len >> 16));
}

static int
ip4_ok(const uint8_t *ip, unsigned hlen)
{
	return (fold(sum16(0, ip, hlen)) == 0xffff);
}

/* Whether a whole TCP or UDP segment sums right with its pseudo-header. */
static int
l4_ok(const struct vaddr *src, const struct vaddr *dst, uint8_t proto,
    const uint8_t *l4, unsigned len)
{
	return (fold(sum16(pseudo(src, dst, proto, len), l4, len)) == 0xffff);
}

/* Whether an ICMP message (ICMPv6: with its pseudo-header) sums right. */
static int
icmp_ok(const uint8_t *f, const struct parsed *p)
{
	unsigned	 n = p->tot - p->hlen;
	uint64_t	 sum = 0;

	if (p->family == 6)
		sum = pseudo(&p->src, &p->dst, P_ICMPV6, n);
	return (fold(sum16(sum, f + p->off + p->hlen, n)) == 0xffff);
}

/*
 * For a quote cut before the end of its segment: the one's complement
 * sum of the transport checksum and of the words loadd changes (both
 * addresses and both ports).  A right update keeps it, since the
 * checksum is the negated sum of everything it covers (RFC 1624); 0 and
 * 0xffff are the same number.
 */
static uint16_t
quote_sum(const uint8_t *f, const struct quote *qu, unsigned coff)
{
	unsigned	 aoff = qu->off + (qu->src.family == 4 ? 12 : 8);
	uint64_t	 sum;
	uint16_t	 r;

	sum = get16(f + coff);
	sum = sum16(sum, f + aoff, 2 * alen(qu->src.family));
	sum = sum16(sum, f + qu->off + qu->hlen, 4);
	r = fold(sum);
	return (r == 0 ? 0xffff : r);
}

/* Adds the 16-bit words of an address at off to a mask. */
static unsigned
mask_addr(unsigned *mask, unsigned n, unsigned off, int family)
{
	unsigned	 i;

	for (i = 0; i < alen(family); i += 2)
		mask[n++] = off + i;
	return (n);
}

/*
 * The first offset where a and b differ, but for the 16-bit words that
 * start at the n offsets of mask; -1 if none.
 */
static long
first_diff(const uint8_t *a, const uint8_t *b, unsigned len,
    const unsigned *mask, unsigned n)
{
	unsigned	 i, j;

	for (i = 0; i < len; i++) {
		if (a[i] == b[i])
			continue;
		for (j = 0; j < n; j++)
			if (i == mask[j] || i == mask[j] + 1)
				break;
		if (j == n)
			return ((long)i);
	}
	return (-1);
}

static int
same_header(const struct rec *in, const struct rec *out)
{
	return (in->h.ts.tv_sec == out->h.ts.tv_sec &&
	    in->h.ts.tv_usec == out->h.ts.tv_usec &&
	    in->h.caplen == out->h.caplen && in->h.len == out->h.len);
}

/*
 * Whether out has in's bytes apart from what loadd may rewrite in a
 * TCP or UDP packet: addresses, ports and checksums.
 */
static int
same_bytes(const struct rec *in, const struct parsed *p,
    const struct rec *out)
{
	unsigned	 mask[MAXMASK], n = 0, l4;

	if (p->kind == K_IP) {
		if (p->family == 4)
			mask[n++] = p->off + 10;
		n = mask_addr(mask, n, p->off + (p->family == 4 ? 12 : 8),
		    p->family);
		n = mask_addr(mask, n, p->off + (p->family == 4 ? 16 : 24),
		    p->family);
		if (p->ports) {
			l4 = p->off + p->hlen;
			mask[n++] = l4;
			mask[n++] = l4 + 2;
			mask[n++] = l4 + (p->proto == P_TCP ? 16 : 6);
		}
	}
	return (first_diff(in->f, out->f, in->h.caplen, mask, n) == -1);
}

/*
 * Which pending input record out was made from: the first with the same
 * time and lengths and the same bytes but for rewritable fields, else
 * the first with the same time and lengths (check_pair then says what
 * changed), else the first with the same time and wire length that out
 * holds less of (check_pair says it was cut), else the first with the
 * same time (a RST in its place, or check_pair says what is wrong),
 * else -1.
 */
static int
match(const struct rec *out)
{
	struct pending	*e;
	unsigned	 i;
	int		 first = -1, cut = -1, when = -1;

	for (i = 0; i < qlen; i++) {
		e = &q[(qhead + i) % WINDOW];
		if (same_header(&e->r, out)) {
			if (same_bytes(&e->r, &e->p, out))
				return ((int)i);
			if (first == -1)
				first = (int)i;
		} else if (e->r.h.ts.tv_sec == out->h.ts.tv_sec &&
		    e->r.h.ts.tv_usec == out->h.ts.tv_usec) {
			if (cut == -1 && e->r.h.len == out->h.len &&
			    out->h.caplen < e->r.h.caplen)
				cut = (int)i;
			if (when == -1)
				when = (int)i;
		}
	}
	return (first != -1 ? first : cut != -1 ? cut : when);
}

/*
 * The checksums of a rewritten TCP or UDP packet, recomputed in full.
 * The input's must be right, or the check would prove nothing.  A UDP
 * datagram over IPv4 without a checksum (0) must keep none; one with a
 * checksum must not lose it: a computed 0 is sent as 0xffff (RFC 768).
 */
static void
check_sums(const char *d, const struct rec *in, const struct parsed *pi,
    const struct rec *out, const struct parsed *po)
{
	const uint8_t	*l4in = in->f + pi->off + pi->hlen;
	const uint8_t	*l4out = out->f + po->off + po->hlen;
	unsigned	 coff = pi->proto == P_TCP ? 16 : 6;
	unsigned	 n = pi->tot - pi->hlen;
	const char	*name = pi->proto == P_TCP ? "TCP" : "UDP";
	uint16_t	 ckin = get16(l4in + coff), ckout = get16(l4out + coff);

	if (pi->family == 4 && !ip4_ok(in->f + pi->off, pi->hlen)) {
		fail("input %s: fixture: wrong IPv4 header checksum", d);
		return;
	}
	if (po->family == 4 && !ip4_ok(out->f + po->off, po->hlen))
		fail("%s: output #%u has a wrong IPv4 header checksum", d,
		    out->no);
	if (pi->frag)
		return;
	if (pi->proto == P_UDP && pi->family == 4 && ckin == 0) {
		if (ckout != 0)
			fail("%s: output #%u has UDP checksum 0x%04x; the "
			    "input had none (0) and must keep none", d,
			    out->no, ckout);
		else
			v.udp_none++;
		return;
	}
	if (!l4_ok(&pi->src, &pi->dst, pi->proto, l4in, n)) {
		fail("input %s: fixture: wrong %s checksum", d, name);
		return;
	}
	if (pi->proto == P_UDP && ckout == 0)
		fail("%s: output #%u has UDP checksum 0, which says none; a "
		    "computed 0 must be sent as 0xffff", d, out->no);
	else if (!l4_ok(&po->src, &po->dst, po->proto, l4out, n))
		fail("%s: output #%u has a wrong %s checksum 0x%04x", d,
		    out->no, name, ckout);
	else if (pi->proto == P_UDP && ckout == 0xffff)
		v.udp_ffff++;
}

/*
 * An inbound packet must go to the flow's server, a reply must come from
 * the VIP and port of the server's service; nothing else may change but
 * the checksums.
 */
static void
check_rewrite(const char *d, const struct rec *in, const struct parsed *pi,
    const struct rec *out, const struct verdict *vd)
{
	const struct service	*svc = &v.svc[vd->svc];
	const struct server	*srv = &v.srv[vd->srv];
	struct parsed		 po;
	unsigned		 mask[MAXMASK], n = 0, l4 = pi->off + pi->hlen;
	int			 in_dir = vd->x == X_IN, s;
	long			 at;
	char			 a[64];

	if (pi->family == 4)
		mask[n++] = pi->off + 10;
	n = mask_addr(mask, n, pi->off + (pi->family == 4 ? 12 : 8) +
	    (in_dir ? alen(pi->family) : 0), pi->family);
	mask[n++] = l4 + (in_dir ? 2 : 0);
	mask[n++] = l4 + (pi->proto == P_TCP ? 16 : 6);
	if ((at = first_diff(in->f, out->f, in->h.caplen, mask, n)) != -1)
		fail("%s %s: output #%u differs at byte %ld; only the %s "
		    "address, port and checksums may change",
		    in_dir ? "inbound" : "reply", d, out->no, at,
		    in_dir ? "destination" : "source");
	parse(out, &po);
	if (po.kind != K_IP || !po.ports) {
		fail("%s: output #%u is no longer a TCP or UDP packet", d,
		    out->no);
		return;
	}
	if (!in_dir) {
		if (!addr_eq(&po.src, &svc->vip) || po.sport != svc->port)
			fail("reply %s: output #%u comes from %s, not from the "
			    "VIP %s", d, out->no, ep_str(&po.src, po.sport, a,
			    sizeof(a)), svc->name);
	} else if ((s = server_find(po.proto, &po.dst, po.dport)) == -1)
		fail("inbound %s: output #%u goes to %s, which is not a "
		    "server", d, out->no, ep_str(&po.dst, po.dport, a,
		    sizeof(a)));
	else if (s != vd->srv && vd->isnew) {
		fail("inbound %s: new flow number %u of %s went to %s; "
		    "round-robin in configuration order picks %s", d,
		    vd->flowno, svc->name, v.srv[s].name, srv->name);
		/* Said once; from here the flow must stay where it went. */
		v.srv[vd->f->srv].flows--;
		v.srv[s].flows++;
		vd->f->srv = (unsigned)s;
	} else if (s != vd->srv)
		fail("inbound %s: output #%u went to %s, earlier packets of "
		    "the flow to %s", d, out->no, v.srv[s].name, srv->name);
	check_sums(d, in, pi, out, &po);
}

/*
 * A translated ICMP error: the input with the addresses and port that
 * RFC 5508 translation changes, and every checksum right.
 *
 * Towards the server: the quote's source becomes the flow's server and
 * its port, and the error's destination, if it is the VIP, the server.
 * Towards the client: the quote's destination becomes the VIP and port,
 * and the error's source, if it is that server, the VIP.
 *
 * The quote's transport checksum covers the whole original segment: where
 * the quote holds it all, it is recomputed; where it holds the checksum
 * but not all it covers, the update must keep the sum of the checksum
 * and the changed words; where it ends before the checksum, there is
 * nothing to check.
 */
static void
check_icmp(const char *d, const struct rec *in, const struct parsed *pi,
    const struct rec *out, const struct verdict *vd)
{
	static uint8_t		 want[MAXCAP];
	const struct service	*svc = &v.svc[vd->svc];
	const struct server	*srv = &v.srv[vd->srv];
	const struct quote	*qi = &pi->q;
	struct parsed		 po;
	unsigned		 mask[MAXMASK], n = 0, al = alen(pi->family);
	unsigned		 src = pi->family == 4 ? 12 : 8;
	unsigned		 coff, qend = qi->off + qi->len;
	uint16_t		 ckin, ckout;
	long			 at;
	char			 a[64], b[160];

	if (out->h.caplen != in->h.caplen) {
		fail("ICMP error %s: output #%u is %u bytes, not %u", d,
		    out->no, out->h.caplen, in->h.caplen);
		return;
	}
	memcpy(want, in->f, in->h.caplen);
	if (vd->x == X_ICMP_TOSERVER) {
		if (addr_eq(&pi->dst, &svc->vip))
			memcpy(want + pi->off + src + al, srv->addr.a, al);
		memcpy(want + qi->off + src, srv->addr.a, al);
		put16(want + qi->off + qi->hlen, srv->port);
		snprintf(b, sizeof(b), "the quote from %s",
		    ep_str(&srv->addr, srv->port, a, sizeof(a)));
	} else {
		if (addr_eq(&pi->src, &srv->addr))
			memcpy(want + pi->off + src, svc->vip.a, al);
		memcpy(want + qi->off + src + al, svc->vip.a, al);
		put16(want + qi->off + qi->hlen + 2, svc->port);
		snprintf(b, sizeof(b), "the quote to %s, and from the VIP "
		    "if %s sent it", svc->name, srv->name);
	}
	if (pi->family == 4) {
		mask[n++] = pi->off + 10;
		mask[n++] = qi->off + 10;
	}
	mask[n++] = pi->off + pi->hlen + 2;
	coff = qi->off + qi->hlen + (qi->proto == P_TCP ? 16 : 6);
	if (coff + 2 <= qend)
		mask[n++] = coff;
	if ((at = first_diff(want, out->f, in->h.caplen, mask, n)) != -1) {
		fail("ICMP error %s: output #%u has 0x%02x at byte %ld where "
		    "its translation (%s) has 0x%02x", d, out->no,
		    out->f[at], at, b, want[at]);
		return;
	}

	parse(out, &po);
	if (po.kind != K_IP || !po.icmperr || !po.q.ok) {
		fail("ICMP error %s: output #%u is no longer one", d, out->no);
		return;
	}
	if (pi->family == 4 && !ip4_ok(out->f + po.off, po.hlen))
		fail("ICMP error %s: output #%u has a wrong IPv4 header "
		    "checksum", d, out->no);
	if (!icmp_ok(out->f, &po))
		fail("ICMP error %s: output #%u has a wrong ICMP%s checksum", d,
		    out->no, pi->family == 6 ? "v6" : "");
	if (pi->family == 4 && ip4_ok(in->f + qi->off, qi->hlen) &&
	    !ip4_ok(out->f + qi->off, qi->hlen))
		fail("ICMP error %s: output #%u quotes an IPv4 header with a "
		    "wrong checksum", d, out->no);
	if (coff + 2 > qend)
		return;
	ckin = get16(in->f + coff);
	ckout = get16(out->f + coff);
	if (qi->proto == P_UDP && pi->family == 4 && ckin == 0) {
		if (ckout != 0)
			fail("ICMP error %s: output #%u quotes UDP checksum "
			    "0x%04x; the quote had none (0)", d, out->no,
			    ckout);
		return;
	}
	if (qi->proto == P_UDP && ckout == 0)
		fail("ICMP error %s: output #%u quotes UDP checksum 0; a "
		    "computed 0 is 0xffff", d, out->no);
	else if (qi->len >= qi->tot) {
		if (!l4_ok(&qi->src, &qi->dst, qi->proto,
		    in->f + qi->off + qi->hlen, qi->tot - qi->hlen))
			fail("input %s: fixture: the quote's checksum is wrong",
			    d);
		else if (!l4_ok(&po.q.src, &po.q.dst, po.q.proto,
		    out->f + qi->off + qi->hlen, qi->tot - qi->hlen))
			fail("ICMP error %s: output #%u quotes a whole segment "
			    "whose %s checksum 0x%04x is wrong", d, out->no,
			    qi->proto == P_TCP ? "TCP" : "UDP", ckout);
		else if (qi->proto == P_UDP && ckout == 0xffff)
			v.udp_ffff++;
	} else if (quote_sum(in->f, qi, coff) != quote_sum(out->f, &po.q,
	    coff))
		fail("ICMP error %s: output #%u quotes %s checksum 0x%04x "
		    "(0x%04x before): not updated right for the new address "
		    "and port", d, out->no, qi->proto == P_TCP ? "TCP" : "UDP",
		    ckout, ckin);
}

/*
 * A RST in place of a stray TCP packet (RFC 793, "Reset Generation"):
 * from the VIP and port to the client, with the packet's ACK number as
 * its sequence number if it had an ACK, else with sequence number 0 and
 * an ACK of all the packet occupied (data, SYN, FIN).  A bare IPv4 or
 * IPv6 header and TCP header; the frame keeps its link header.
 */
static void
check_reset(const char *d, const struct rec *in, const struct parsed *pi,
    const struct rec *out)
{
	struct parsed	 po;
	const uint8_t	*th;
	unsigned	 want = pi->off + (pi->family == 4 ? 40 : 60);
	uint32_t	 seq, ack;
	uint8_t		 flags;
	char		 a[64], b[64];

	if (out->h.caplen != want || out->h.len != want) {
		fail("%s: output #%u should be a RST of %u bytes, but has %u "
		    "of %u", d, out->no, want, out->h.caplen, out->h.len);
		return;
	}
	if (memcmp(in->f, out->f, pi->off) != 0)
		fail("%s: the RST of output #%u has another link header", d,
		    out->no);
	parse(out, &po);
	if (po.kind != K_IP || po.family != pi->family || po.proto != P_TCP ||
	    !po.ports || po.tot != want - pi->off || po.frag) {
		fail("%s: output #%u is not a TCP packet of %u bytes", d,
		    out->no, want - pi->off);
		return;
	}
	if (po.hlen != (pi->family == 4 ? 20u : 40u) || po.doff != 20)
		fail("%s: output #%u: the RST has IP or TCP options", d,
		    out->no);
	if (!addr_eq(&po.src, &pi->dst) || po.sport != pi->dport ||
	    !addr_eq(&po.dst, &pi->src) || po.dport != pi->sport)
		fail("%s: output #%u: the RST goes %s > %s, not back from the "
		    "VIP to the client", d, out->no, ep_str(&po.src, po.sport,
		    a, sizeof(a)), ep_str(&po.dst, po.dport, b, sizeof(b)));
	th = out->f + po.off + po.hlen;
	flags = th[13] & 0x3f;
	if (pi->tcpflags & TCP_ACK) {
		if (flags != TCP_RST || po.seq != pi->ack)
			fail("%s: output #%u: flags 0x%02x seq %u; the answer "
			    "to an ACK is a RST (0x04) with seq %u", d, out->no,
			    flags, po.seq, pi->ack);
	} else {
		ack = pi->seq + (pi->tot - pi->hlen - pi->doff) +
		    ((pi->tcpflags & TCP_SYN) ? 1 : 0) +
		    ((pi->tcpflags & TCP_FIN) ? 1 : 0);
		seq = po.seq;
		if (flags != (TCP_RST | TCP_ACK) || seq != 0 || po.ack != ack)
			fail("%s: output #%u: flags 0x%02x seq %u ack %u; the "
			    "answer to a segment without ACK is RST+ACK (0x14) "
			    "with seq 0 and ack %u", d, out->no, flags, seq,
			    po.ack, ack);
	}
	if (po.family == 4 && !ip4_ok(out->f + po.off, po.hlen))
		fail("%s: the RST of output #%u has a wrong IPv4 header "
		    "checksum", d, out->no);
	if (!l4_ok(&po.src, &po.dst, P_TCP, th, 20))
		fail("%s: the RST of output #%u has a wrong TCP checksum "
		    "0x%04x", d, out->no, get16(th + 16));
}

/* Checks one written packet against the input it came from. */
static void
check_pair(const char *d, const struct rec *in, const struct parsed *pi,
    const struct rec *out, const struct verdict *vd)
{
	if (vd->x == X_RESET) {
		check_reset(d, in, pi, out);
		return;
	}
	if (out->h.caplen != in->h.caplen) {
		fail("%s: output #%u holds %u of its %u bytes (the output "
		    "file's snaplen is %d)", d, out->no, out->h.caplen,
		    in->h.caplen, v.outsnap);
		return;
	}
	switch (vd->x) {
	case X_NOTIP:
	case X_PASS:
		if (memcmp(in->f, out->f, in->h.caplen) != 0)
			fail("input %s should pass untouched but output #%u "
			    "differs", d, out->no);
		break;
	case X_IN:
	case X_OUT:
		check_rewrite(d, in, pi, out, vd);
		break;
	case X_ICMP_TOSERVER:
	case X_ICMP_TOCLIENT:
		check_icmp(d, in, pi, out, vd);
		break;
	default:
		break;
	}
}

/*
 * Reads the next record into r.  Returns 1, or 0 at the end; a read
 * error ends the capture too, and is a failure unless damaged is set.
 */
static int
next_rec(pcap_t *pc, struct rec *r, const char *path, unsigned *count,
    int damaged, int *broken)
{
	struct pcap_pkthdr	*h;
	const u_char		*data;
	int			 rc;

	if (*broken)
		return (0);
	rc = pcap_next_ex(pc, &h, &data);
	if (rc == PCAP_ERROR_BREAK)
		return (0);
	if (rc != 1) {
		*broken = 1;
		if (damaged)
			printf("verify_replay: %s ends in damage after %u "
			    "records, as expected: %s\n", path, *count,
			    pcap_geterr(pc));
		else
			fail("%s: read error after %u records: %s", path,
			    *count, pcap_geterr(pc));
		return (0);
	}
	r->h = *h;
	if (r->h.caplen > MAXCAP)
		r->h.caplen = MAXCAP;
	if ((r->f = malloc(r->h.caplen + 1)) == NULL) {
		fprintf(stderr, "verify_replay: out of memory\n");
		exit(1);
	}
	memcpy(r->f, data, r->h.caplen);
	r->no = ++*count;
	return (1);
}

/*
 * Decides about an input record, in input order, so that the model's
 * flows see the packets as loadd did: out is what loadd wrote for it, or
 * NULL if it wrote nothing.  After every BATCH records the model's
 * expiry runs, as loadd's does.
 */
static void
settle(struct pending *e, const struct rec *out)
{
	struct verdict	 vd;
	char		 d[256];

	if (e->p.kind != K_NOTIP)
		clock_at((uint32_t)e->r.h.ts.tv_sec);
	classify(&e->r, &e->p, &vd);
	if (vd.x == X_DROP)
		count_drop(vd.why);
	desc(&e->r, &e->p, d, sizeof(d));
	if (out == NULL) {
		if (vd.x != X_DROP)
			fail("input %s is missing from the output", d);
	} else if (vd.x == X_DROP)
		fail("input %s should be dropped (%s) but was written as "
		    "output #%u", d, vd.why, out->no);
	else
		check_pair(d, &e->r, &e->p, out, &vd);
	if (e->r.no % BATCH == 0)
		tick();
	free(e->r.f);
	e->r.f = NULL;
}

static unsigned long
number(const char *s)
{
	unsigned long	 l;
	char		*end;

	errno = 0;
	l = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s || l > INT_MAX)
		usage();
	return (l);
}

static int
parse_addr(const char *s, struct vaddr *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, a->a) == 1)
		a->family = 4;
	else if (inet_pton(AF_INET6, s, a->a) == 1)
		a->family = 6;
	return (a->family);
}

/* "10.0.1.11,10.0.1.12:8080,[2001:db8::1]:80": in configuration order. */
static void
parse_servers(struct service *svc, char *list)
{
	char		*item, *save = NULL, *colon, *end;
	struct server	*srv;
	unsigned long	 port;

	svc->first = v.nsrv;
	for (item = strtok_r(list, ",", &save); item != NULL;
	    item = strtok_r(NULL, ",", &save)) {
		if (v.nsrv == MAXSERVERS)
			usage();
		srv = &v.srv[v.nsrv];
		port = 0;
		if (*item == '[') {
			if ((colon = strstr(item, "]:")) == NULL)
				usage();
			*colon = '\0';
			item++;
			colon++;
		} else if ((colon = strchr(item, ':')) != NULL &&
		    strchr(colon + 1, ':') != NULL)
			colon = NULL;		/* IPv6 without a port */
		if (colon != NULL) {
			*colon = '\0';
			errno = 0;
			port = strtoul(colon + 1, &end, 10);
			if (errno != 0 || *end != '\0' || port == 0 ||
			    port > 65535)
				usage();
		}
		if (parse_addr(item, &srv->addr) != svc->vip.family)
			usage();
		srv->port = (uint16_t)port;
		srv->svc = (unsigned)(svc - v.svc);
		v.nsrv++;
	}
	svc->nsrv = v.nsrv - svc->first;
}

int
main(int argc, char *argv[])
{
	char		 errbuf[PCAP_ERRBUF_SIZE], *t, a[64];
	const char	*inpath, *outpath, *opt;
	struct service	*svc = NULL;
	struct server	*srv;
	pcap_t		*pin, *pout;
	struct pending	*e;
	struct rec	 out;
	unsigned long	 l;
	unsigned	 i, k, nin = 0, nout = 0, lo, hi;
	long		 drops = -1, none = -1, ffff = -1;
	int		 damaged = 0, inbroken = 0, outbroken = 0, j;

	if (argc < 3)
		usage();
	inpath = argv[1];
	outpath = argv[2];
	v.timeout[FC_HALFOPEN] = v.timeout[FC_CLOSING] = 240;
	v.timeout[FC_ESTABLISHED] = 7440;
	v.timeout[FC_UDP] = 300;
	for (i = 3; i < (unsigned)argc; i++) {
		opt = argv[i];
		if (strcmp(opt, "--damaged") == 0) {
			damaged = 1;
			continue;
		}
		if (strcmp(opt, "--reset") == 0) {
			v.reset = 1;
			continue;
		}
		if (i + 1 == (unsigned)argc)
			usage();
		t = argv[++i];
		if (strcmp(opt, "--vip") == 0) {
			if (v.nsvc == MAXSERVICES)
				usage();
			svc = &v.svc[v.nsvc++];
			if (parse_addr(t, &svc->vip) == 0)
				usage();
			svc->proto = P_TCP;
		} else if (strcmp(opt, "--proto") == 0 && svc != NULL) {
			if (strcmp(t, "tcp") == 0)
				svc->proto = P_TCP;
			else if (strcmp(t, "udp") == 0)
				svc->proto = P_UDP;
			else
				usage();
		} else if (strcmp(opt, "--port") == 0 && svc != NULL) {
			if ((l = number(t)) == 0 || l > 65535)
				usage();
			svc->port = (uint16_t)l;
		} else if (strcmp(opt, "--servers") == 0 && svc != NULL &&
		    svc->nsrv == 0)
			parse_servers(svc, t);
		else if (strcmp(opt, "--maxflows") == 0)
			v.maxflows = (uint32_t)number(t);
		else if (strcmp(opt, "--timeouts") == 0) {
			if (sscanf(t, "%u,%u,%u", &v.timeout[FC_ESTABLISHED],
			    &v.timeout[FC_HALFOPEN], &v.timeout[FC_UDP]) != 3)
				usage();
			v.timeout[FC_CLOSING] = v.timeout[FC_HALFOPEN];
		} else if (strcmp(opt, "--drops") == 0)
			drops = (long)number(t);
		else if (strcmp(opt, "--udp-none") == 0)
			none = (long)number(t);
		else if (strcmp(opt, "--udp-ffff") == 0)
			ffff = (long)number(t);
		else
			usage();
	}
	if (v.nsvc == 0)
		usage();
	for (i = 0; i < v.nsvc; i++) {
		svc = &v.svc[i];
		if (svc->port == 0 || svc->nsrv == 0)
			usage();
		snprintf(svc->name, sizeof(svc->name), "%s/%s",
		    ep_str(&svc->vip, svc->port, a, sizeof(a)),
		    svc->proto == P_TCP ? "tcp" : "udp");
		for (k = svc->first; k < svc->first + svc->nsrv; k++) {
			srv = &v.srv[k];
			if (srv->port == 0)
				srv->port = svc->port;
			ep_str(&srv->addr, srv->port, srv->name,
			    sizeof(srv->name));
		}
	}
	if ((v.flows = calloc(FLOWCAP, sizeof(*v.flows))) == NULL) {
		fprintf(stderr, "verify_replay: out of memory\n");
		return (1);
	}

	if ((pin = pcap_open_offline(inpath, errbuf)) == NULL) {
		printf("verify_replay: FAIL: %s: %s\n", inpath, errbuf);
		return (1);
	}
	if ((pout = pcap_open_offline(outpath, errbuf)) == NULL) {
		printf("verify_replay: FAIL: %s: %s\n", outpath, errbuf);
		return (1);
	}
	v.dlt = pcap_datalink(pin);
	if (v.dlt != DLT_EN10MB && v.dlt != DLT_RAW && v.dlt != DLT_IPV4 &&
	    v.dlt != DLT_IPV6) {
		printf("verify_replay: FAIL: %s: link type %d is not one "
		    "verify_replay reads\n", inpath, v.dlt);
		return (1);
	}
	v.outsnap = pcap_snapshot(pout);
	if (pcap_datalink(pout) != v.dlt)
		fail("%s has link type %d, %s has %d", outpath,
		    pcap_datalink(pout), inpath, v.dlt);

	for (;;) {
		/* Keep the window full, then pair the next output record. */
		while (qlen < WINDOW && !inbroken) {
			e = &q[(qhead + qlen) % WINDOW];
			if (!next_rec(pin, &e->r, inpath, &nin, damaged,
			    &inbroken))
				break;
			parse(&e->r, &e->p);
			qlen++;
		}
		if (!next_rec(pout, &out, outpath, &nout, 0, &outbroken))
			break;
		v.checked++;
		if ((j = match(&out)) == -1)
			fail("output #%u matches no input packet (out of "
			    "order, or not from %s)", out.no, inpath);
		else {
			for (k = 0; k <= (unsigned)j; k++)
				settle(&q[(qhead + k) % WINDOW],
				    k == (unsigned)j ? &out : NULL);
			qhead = (qhead + (unsigned)j + 1) % WINDOW;
			qlen -= (unsigned)j + 1;
		}
		free(out.f);
	}
	/* The output has ended: the rest of the input was dropped. */
	while (qlen > 0) {
		settle(&q[qhead], NULL);
		qhead = (qhead + 1) % WINDOW;
		qlen--;
		while (qlen < WINDOW && !inbroken) {
			e = &q[(qhead + qlen) % WINDOW];
			if (!next_rec(pin, &e->r, inpath, &nin, damaged,
			    &inbroken))
				break;
			parse(&e->r, &e->p);
			qlen++;
		}
	}
	/* loadd's expiry runs after its last batch too. */
	if (nin % BATCH != 0)
		tick();

	if (drops >= 0) {
		if ((long)nout != (long)nin - drops)
			fail("%u packets in, %u out: expected %ld drops, "
			    "got %d", nin, nout, drops, (int)(nin - nout));
		if ((long)v.xdrops != drops)
			fail("the model expects %u drops, the fixture %ld",
			    v.xdrops, drops);
	}
	if (none >= 0 && (long)v.udp_none != none)
		fail("%u rewritten UDP datagrams kept checksum 0 (none); the "
		    "fixture has %ld", v.udp_none, none);
	if (ffff >= 0 && (long)v.udp_ffff != ffff)
		fail("%u rewritten UDP checksums came out 0xffff; the fixture "
		    "has %ld made to", v.udp_ffff, ffff);
	for (i = 0; i < v.nsvc; i++) {
		svc = &v.svc[i];
		if (svc->flows == 0)
			continue;
		lo = hi = v.srv[svc->first].flows;
		printf("verify_replay: new flows of %s, as loadd placed them:",
		    svc->name);
		for (k = svc->first; k < svc->first + svc->nsrv; k++) {
			printf(" %s %u", v.srv[k].name, v.srv[k].flows);
			if (v.srv[k].flows < lo)
				lo = v.srv[k].flows;
			if (v.srv[k].flows > hi)
				hi = v.srv[k].flows;
		}
		printf("\n");
		if (hi - lo > 1)
			fail("round-robin spread %u..%u flows per server of "
			    "%s; it must differ by at most 1", lo, hi,
			    svc->name);
	}
	if (v.xdrops > 0) {
		printf("verify_replay: expected drops:");
		for (i = 0; i < NREASONS && v.xdrop_name[i] != NULL; i++)
			printf(" %s=%u", v.xdrop_name[i], v.xdrop_by[i]);
		printf("\n");
	}
	printf("verify_replay: model: %u flows left, %u expired, %u evicted, "
	    "%u refused; UDP checksums: %u kept 0, %u came out 0xffff\n",
	    v.nflows, v.expired, v.evicted, v.refused, v.udp_none, v.udp_ffff);
	pcap_close(pin);
	pcap_close(pout);
	free(v.flows);
	printf("verify_replay: %u packets checked, %u failures\n", v.checked,
	    v.fails);
	return (v.fails == 0 ? 0 : 1);
}
