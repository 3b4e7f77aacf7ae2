/*
 * verify_replay: checks, packet by packet, what "loadd -r IN -w OUT" wrote.
 *
 *	verify_replay IN OUT --vip ADDR --port PORT --servers A[:P],B[:P],...
 *	    [--drops N] [--damaged]
 *
 * The verifier has its own model of what loadd promises for each input
 * packet: pass untouched (not IP, or not for the service), rewrite towards
 * a server (client to VIP:PORT, TCP, a pure SYN or a known flow), rewrite
 * back (from a server's address and port), or drop (malformed, truncated
 * by the capture, a fragment or another protocol or port at the VIP, a
 * mid-stream packet of an unknown flow).  The service is TCP and IPv4;
 * the model does not follow IPv6, so an IPv6 packet may be dropped (loadd
 * drops malformed ones) or written, but if written then untouched.
 *
 * The output keeps the input's order minus the drops, so input and output
 * records are paired in order; a pair must have the same timestamp and
 * lengths.  For every output packet it checks the IPv4 and TCP/UDP
 * checksums by full recomputation, that only the fields loadd may change
 * changed, where inbound packets went and where replies come from, that
 * every packet of a client flow went to the same server, and that new
 * flows went round-robin over the servers in the order given.
 *
 * --drops N: the number of drops the fixture's generator expects; the
 * output must be that much shorter than the input, and the model must
 * agree.  --damaged: the input may end in a read error (the replay of a
 * damaged capture); only what came before it is checked.
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

#define MAXSERVERS	64
#define MAXCAP		262144		/* libpcap's largest snaplen */
#define WINDOW		4096		/* input records looked ahead */
#define FLOWCAP		(1U << 16)	/* flows the model can follow */
#define SHOWFAILS	50		/* failures printed in full */
#define NREASONS	16		/* drop reasons tallied by name */

#define TCP_FIN		0x01
#define TCP_SYN		0x02
#define TCP_RST		0x04
#define TCP_ACK		0x10

/* What loadd should do with an input packet. */
enum expect {
	X_PASS,			/* written untouched */
	X_NOTIP,		/* not IP: written untouched */
	X_IN,			/* client to the service: towards a server */
	X_OUT,			/* a server's reply: back to the VIP */
	X_DROP,
	X_EITHER		/* IPv6: written untouched, or dropped */
};

/* One capture record. */
struct rec {
	struct pcap_pkthdr	 h;
	unsigned		 no;		/* 1 for the first record */
	uint8_t			*f;		/* h.caplen bytes */
};

/* What a frame holds, as far as the model cares. */
struct parsed {
	int		 kind;		/* K_* */
	const char	*bad;		/* why a malformed packet is dropped */
	unsigned	 off;		/* IP header offset in the frame */
	unsigned	 hlen;
	unsigned	 tot;
	int		 frag;		/* MF set or a non-zero offset */
	int		 later;		/* a non-zero offset */
	uint8_t		 proto;
	uint32_t	 src;		/* network byte order */
	uint32_t	 dst;
	int		 ports;		/* sport, dport and flags are valid */
	uint16_t	 sport;		/* host byte order */
	uint16_t	 dport;
	uint8_t		 tcpflags;
};

#define K_NOTIP		0
#define K_IPV4		1
#define K_BAD		2	/* IPv4 that loadd must drop as malformed */
#define K_IPV6		3

/* The model's view of a client flow (client address and port). */
struct vflow {
	uint32_t	 addr;
	uint16_t	 port;
	uint8_t		 used;
	uint8_t		 closed;	/* RST, or FIN both ways: a SYN starts anew */
	uint8_t		 cfin;
	uint8_t		 sfin;
	int		 srv;		/* server index, -1 until seen */
};

struct server {
	uint32_t	 addr;		/* network byte order */
	uint16_t	 port;
	unsigned	 flows;
	char		 name[32];
};

static struct {
	uint32_t	 vip;
	uint16_t	 port;
	struct server	 srv[MAXSERVERS];
	unsigned	 nsrv;
	int		 dlt;
	int		 outsnap;	/* the output file's snaplen */
	unsigned	 fails;
	unsigned	 checked;
	unsigned	 newflows;
	unsigned	 nflows;
	unsigned	 xdrops;
	unsigned	 xdrop_by[NREASONS];
	const char	*xdrop_name[NREASONS];
	struct vflow	*flows;
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
static const char *ipstr(uint32_t, char *);
static void	 parse(const struct rec *, struct parsed *);
static const char *desc(const struct rec *, const struct parsed *, char *,
		    size_t);
static int	 server_find(uint32_t, uint16_t);
static struct vflow *flow_get(uint32_t, uint16_t, int);
static enum expect classify(const struct rec *, const struct parsed *,
		    const char **, struct vflow **, int *);
static void	 count_drop(const char *);
static uint32_t	 sum16(uint32_t, const uint8_t *, size_t);
static uint16_t	 fold(uint32_t);
static void	 cksum_ok(const struct rec *, const struct parsed *, int *,
		    int *);
static int	 same_header(const struct rec *, const struct rec *);
static int	 same_bytes(const struct rec *, const struct parsed *,
		    const struct rec *);
static int	 match(const struct rec *);
static int	 differs(const struct rec *, const struct rec *,
		    const unsigned *, unsigned);
static void	 check_pair(const struct rec *, const struct parsed *,
		    const struct rec *, enum expect, struct vflow *, int);
static int	 next_rec(pcap_t *, struct rec *, const char *, unsigned *,
		    int, int *);
static void	 settle(struct pending *, const struct rec *);
static void	 parse_servers(char *);
static unsigned long number(const char *);

static void
usage(void)
{
	fprintf(stderr, "usage: verify_replay IN OUT --vip ADDR --port PORT "
	    "--servers A[:P],B[:P],... [--drops N] [--damaged]\n");
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
	uint32_t	 a;

	memcpy(&a, p, 4);
	return (a);
}

static const char *
ipstr(uint32_t a, char *buf)
{
	return (inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN));
}

/*
 * Finds the IP header and reads what the model needs.  What counts as
 * malformed is what RFC 791, 793 and 768 say cannot be a packet: a header
 * shorter than 20 bytes, a length field beyond the data or below the
 * header, a transport header that does not fit.
 */
static void
parse(const struct rec *r, struct parsed *p)
{
	const uint8_t	*f = r->f, *ip, *l4;
	uint32_t	 cap = r->h.caplen;
	unsigned	 o, tags, type, l4len, doff, ulen, fo;

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
	ip = f + o;
	if (cap - o < 1) {
		p->kind = K_BAD;
		p->bad = "truncated";
		return;
	}
	if (ip[0] >> 4 == 6) {
		p->kind = K_IPV6;
		return;
	}
	p->kind = K_BAD;
	if (ip[0] >> 4 != 4) {
		p->bad = "bad_version";
		return;
	}
	if (cap - o < 20) {
		p->bad = "truncated";
		return;
	}
	p->hlen = (unsigned)(ip[0] & 0x0f) * 4;
	p->tot = get16(ip + 2);
	if (p->hlen < 20) {
		p->bad = "bad_header_length";
		return;
	}
	if (p->tot < p->hlen || p->tot > cap - o) {
		p->bad = "bad_total_length";
		return;
	}
	p->proto = ip[9];
	p->src = get32(ip + 12);
	p->dst = get32(ip + 16);
	fo = get16(ip + 6);
	p->frag = (fo & 0x3fff) != 0;
	p->later = (fo & 0x1fff) != 0;
	p->kind = K_IPV4;
	if (p->later)
		return;
	l4 = ip + p->hlen;
	l4len = p->tot - p->hlen;
	switch (p->proto) {
	case IPPROTO_TCP:
		doff = (unsigned)(l4[12] >> 4) * 4;
		if (l4len < 20 || doff < 20 || doff > l4len) {
			p->kind = K_BAD;
			p->bad = "bad_transport_header";
			return;
		}
		p->tcpflags = l4[13];
		p->ports = 1;
		break;
	case IPPROTO_UDP:
		if (l4len < 8 || (!p->frag &&
		    ((ulen = get16(l4 + 4)) < 8 || ulen > l4len))) {
			p->kind = K_BAD;
			p->bad = "bad_transport_header";
			return;
		}
		p->ports = 1;
		break;
	case IPPROTO_ICMP:
		if (l4len < 8) {
			p->kind = K_BAD;
			p->bad = "bad_transport_header";
		}
		return;
	default:
		return;
	}
	p->sport = get16(l4);
	p->dport = get16(l4 + 2);
}

/* "input #12 (198.51.100.7:40003 > 203.0.113.10:80 tcp [S])" and so on. */
static const char *
desc(const struct rec *r, const struct parsed *p, char *buf, size_t sz)
{
	char	 a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN], fl[8];
	int	 n = 0;

	if (p->kind == K_NOTIP)
		snprintf(buf, sz, "#%u (not IP, %u bytes)", r->no,
		    r->h.caplen);
	else if (p->kind == K_IPV6)
		snprintf(buf, sz, "#%u (IPv6)", r->no);
	else if (p->kind == K_BAD)
		snprintf(buf, sz, "#%u (malformed IPv4: %s)", r->no, p->bad);
	else if (p->ports) {
		if (p->proto == IPPROTO_TCP) {
			if (p->tcpflags & TCP_SYN)
				fl[n++] = 'S';
			if (p->tcpflags & TCP_FIN)
				fl[n++] = 'F';
			if (p->tcpflags & TCP_RST)
				fl[n++] = 'R';
			if (p->tcpflags & TCP_ACK)
				fl[n++] = '.';
		}
		fl[n] = '\0';
		snprintf(buf, sz, "#%u (%s:%u > %s:%u %s%s%s%s)", r->no,
		    ipstr(p->src, a), p->sport, ipstr(p->dst, b), p->dport,
		    p->proto == IPPROTO_TCP ? "tcp [" : "udp", fl,
		    p->proto == IPPROTO_TCP ? "]" : "",
		    p->frag ? " fragment" : "");
	} else
		snprintf(buf, sz, "#%u (%s > %s proto %u%s)", r->no,
		    ipstr(p->src, a), ipstr(p->dst, b), p->proto,
		    p->frag ? " fragment" : "");
	return (buf);
}

static int
server_find(uint32_t a, uint16_t port)
{
	unsigned	 i;

	for (i = 0; i < v.nsrv; i++)
		if (v.srv[i].addr == a && v.srv[i].port == port)
			return ((int)i);
	return (-1);
}

/* The model's flow of a client address and port; created if asked. */
static struct vflow *
flow_get(uint32_t a, uint16_t port, int create)
{
	uint32_t	 h;
	unsigned	 n;
	struct vflow	*f;

	h = (a * 2654435761U) ^ ((uint32_t)port * 40503U);
	for (n = 0; n < FLOWCAP; n++, h++) {
		f = &v.flows[h & (FLOWCAP - 1)];
		if (f->used && f->addr == a && f->port == port)
			return (f);
		if (!f->used) {
			if (!create)
				return (NULL);
			if (v.nflows >= FLOWCAP / 2) {
				fprintf(stderr, "verify_replay: more than %u "
				    "flows; the model cannot follow\n",
				    FLOWCAP / 2);
				exit(1);
			}
			memset(f, 0, sizeof(*f));
			f->used = 1;
			f->addr = a;
			f->port = port;
			f->srv = -1;
			v.nflows++;
			return (f);
		}
	}
	return (NULL);
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

/*
 * What loadd should do with an input packet, and the model's flow state
 * after it.  *why names the drop reason as loadd's counters do; *isnew
 * says that the packet starts a flow.
 */
static enum expect
classify(const struct rec *r, const struct parsed *p, const char **why,
    struct vflow **fp, int *isnew)
{
	struct vflow	*f;
	char		 d[128];
	int		 s, syn;

	*why = NULL;
	*fp = NULL;
	*isnew = 0;
	if (p->kind == K_NOTIP)
		return (X_NOTIP);
	if (r->h.caplen < r->h.len) {
		*why = "capture_truncated";
		return (X_DROP);
	}
	if (p->kind == K_IPV6)
		return (X_EITHER);
	if (p->kind == K_BAD) {
		*why = p->bad;
		return (X_DROP);
	}
	if (!p->ports) {
		if (p->dst != v.vip)
			return (X_PASS);
		*why = p->frag ? "fragment" : "no_service";
		return (X_DROP);
	}
	if (p->proto == IPPROTO_TCP && p->dst == v.vip &&
	    p->dport == v.port) {
		if (p->frag) {
			*why = "fragment";
			return (X_DROP);
		}
		f = flow_get(p->src, p->sport, 0);
		syn = (p->tcpflags & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_SYN;
		if (f != NULL && syn && f->closed) {
			/* The client reuses the port: a new connection. */
			f->closed = f->cfin = f->sfin = 0;
			f->srv = -1;
			*isnew = 1;
		}
		if (f == NULL && !syn) {
			*why = "no_flow";
			return (X_DROP);
		}
		if (f == NULL) {
			f = flow_get(p->src, p->sport, 1);
			*isnew = 1;
		}
		if (p->tcpflags & TCP_RST)
			f->closed = 1;
		if (p->tcpflags & TCP_FIN)
			f->cfin = 1;
		if (f->cfin && f->sfin)
			f->closed = 1;
		*fp = f;
		return (X_IN);
	}
	if (p->proto == IPPROTO_TCP &&
	    (s = server_find(p->src, p->sport)) != -1) {
		if (p->frag) {
			*why = "fragment";
			return (X_DROP);
		}
		f = flow_get(p->dst, p->dport, 0);
		if (f != NULL && f->srv != -1 && f->srv != s)
			fail("input %s: a reply from %s for a flow that loadd "
			    "sent to %s (the fixture assumes round-robin in "
			    "configuration order)",
			    desc(r, p, d, sizeof(d)), v.srv[s].name,
			    v.srv[f->srv].name);
		else if (f != NULL) {
			if (p->tcpflags & TCP_RST)
				f->closed = 1;
			if (p->tcpflags & TCP_FIN)
				f->sfin = 1;
			if (f->cfin && f->sfin)
				f->closed = 1;
		}
		*fp = f;
		return (X_OUT);
	}
	if (p->dst == v.vip) {
		*why = "no_service";
		return (X_DROP);
	}
	return (X_PASS);
}

static uint32_t
sum16(uint32_t sum, const uint8_t *b, size_t len)
{
	size_t	 i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (len & 1)
		sum += (uint32_t)(b[len - 1] << 8);
	return (sum);
}

static uint16_t
fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ((uint16_t)sum);
}

/*
 * Recomputes the IPv4 header checksum and, for a whole TCP or UDP
 * datagram, the transport checksum; the sums come out as 0xffff when
 * right.  *l4ok is -1 where there is no transport checksum to check.
 */
static void
cksum_ok(const struct rec *r, const struct parsed *p, int *ipok, int *l4ok)
{
	const uint8_t	*ip = r->f + p->off;
	uint8_t		 ph[12];
	unsigned	 l4len = p->tot - p->hlen;
	uint32_t	 sum;

	*ipok = fold(sum16(0, ip, p->hlen)) == 0xffff;
	*l4ok = -1;
	/* A UDP checksum of 0 means none was computed. */
	if (p->ports && !p->frag && (p->proto == IPPROTO_TCP ||
	    (p->proto == IPPROTO_UDP && get16(ip + p->hlen + 6) != 0))) {
		memcpy(ph, ip + 12, 8);
		ph[8] = 0;
		ph[9] = p->proto;
		ph[10] = (uint8_t)(l4len >> 8);
		ph[11] = (uint8_t)l4len;
		sum = sum16(0, ph, sizeof(ph));
		sum = sum16(sum, ip + p->hlen, l4len);
		*l4ok = fold(sum) == 0xffff;
	}
}

static int
same_header(const struct rec *in, const struct rec *out)
{
	return (in->h.ts.tv_sec == out->h.ts.tv_sec &&
	    in->h.ts.tv_usec == out->h.ts.tv_usec &&
	    in->h.caplen == out->h.caplen && in->h.len == out->h.len);
}

/*
 * Whether out has in's bytes apart from what loadd may rewrite:
 * addresses, ports and checksums.
 */
static int
same_bytes(const struct rec *in, const struct parsed *p,
    const struct rec *out)
{
	unsigned	 mask[8], n = 0, l4;

	if (p->kind == K_IPV4) {
		mask[n++] = p->off + 10;
		mask[n++] = p->off + 12;
		mask[n++] = p->off + 14;
		mask[n++] = p->off + 16;
		mask[n++] = p->off + 18;
		if (p->ports) {
			l4 = p->off + p->hlen;
			mask[n++] = l4;
			mask[n++] = l4 + 2;
			mask[n++] = l4 + (p->proto == IPPROTO_TCP ? 16 : 6);
		}
	}
	return (!differs(in, out, mask, n));
}

/*
 * Which pending input record out was made from: the first with the same
 * time and lengths and the same bytes but for rewritable fields, else
 * the first with the same time and lengths (check_pair then says what
 * changed), else the first with the same time and wire length that out
 * holds less of (check_pair says it was cut), else -1.
 */
static int
match(const struct rec *out)
{
	struct pending	*e;
	unsigned	 i;
	int		 first = -1, cut = -1;

	for (i = 0; i < qlen; i++) {
		e = &q[(qhead + i) % WINDOW];
		if (same_header(&e->r, out)) {
			if (same_bytes(&e->r, &e->p, out))
				return ((int)i);
			if (first == -1)
				first = (int)i;
		} else if (cut == -1 &&
		    e->r.h.ts.tv_sec == out->h.ts.tv_sec &&
		    e->r.h.ts.tv_usec == out->h.ts.tv_usec &&
		    e->r.h.len == out->h.len && out->h.caplen < e->r.h.caplen)
			cut = (int)i;
	}
	return (first != -1 ? first : cut);
}

/*
 * Whether the records differ anywhere but in the 16-bit words starting
 * at the n offsets of mask.
 */
static int
differs(const struct rec *a, const struct rec *b, const unsigned *mask,
    unsigned n)
{
	unsigned	 i, j;

	for (i = 0; i < a->h.caplen; i++) {
		if (a->f[i] == b->f[i])
			continue;
		for (j = 0; j < n; j++)
			if (i == mask[j] || i == mask[j] + 1)
				break;
		if (j == n)
			return (1);
	}
	return (0);
}

/* Checks one written packet against the input it came from. */
static void
check_pair(const struct rec *in, const struct parsed *pi,
    const struct rec *out, enum expect x, struct vflow *f, int isnew)
{
	struct parsed	 po;
	char		 d[128], a[INET_ADDRSTRLEN];
	unsigned	 mask[5], l4, want;
	int		 s, ipok, l4ok, inipok, inl4ok;

	desc(in, pi, d, sizeof(d));
	if (out->h.caplen != in->h.caplen) {
		fail("%s: output #%u holds %u of its %u bytes (the output "
		    "file's snaplen is %d)", d, out->no, out->h.caplen,
		    in->h.caplen, v.outsnap);
		return;
	}
	parse(out, &po);
	l4 = pi->off + pi->hlen;
	switch (x) {
	case X_NOTIP:
	case X_PASS:
		if (memcmp(in->f, out->f, in->h.caplen) != 0)
			fail("input %s should pass untouched but output #%u "
			    "differs", d, out->no);
		break;
	case X_IN:
		/* Only the destination and the checksums may change. */
		mask[0] = pi->off + 10;
		mask[1] = pi->off + 16;
		mask[2] = pi->off + 18;
		mask[3] = l4 + 2;
		mask[4] = l4 + 16;
		if (differs(in, out, mask, 5))
			fail("inbound %s: output #%u changed more than the "
			    "destination address and port", d, out->no);
		s = server_find(po.dst, po.dport);
		if (s == -1) {
			fail("inbound %s: output #%u goes to %s:%u, which is "
			    "not a server", d, out->no, ipstr(po.dst, a),
			    po.dport);
			break;
		}
		if (f == NULL)
			break;
		if (f->srv == -1) {
			f->srv = s;
			if (isnew) {
				want = v.newflows % v.nsrv;
				if ((unsigned)s != want)
					fail("inbound %s: new flow number %u "
					    "went to %s; round-robin in "
					    "configuration order picks %s", d,
					    v.newflows + 1, v.srv[s].name,
					    v.srv[want].name);
				v.newflows++;
				v.srv[s].flows++;
			}
		} else if (f->srv != s)
			fail("inbound %s: output #%u went to %s, earlier "
			    "packets of the flow to %s", d, out->no,
			    v.srv[s].name, v.srv[f->srv].name);
		break;
	case X_OUT:
		/* Only the source and the checksums may change. */
		mask[0] = pi->off + 10;
		mask[1] = pi->off + 12;
		mask[2] = pi->off + 14;
		mask[3] = l4;
		mask[4] = l4 + 16;
		if (differs(in, out, mask, 5))
			fail("reply %s: output #%u changed more than the "
			    "source address and port", d, out->no);
		if (po.kind != K_IPV4 || po.src != v.vip ||
		    po.sport != v.port)
			fail("reply %s: output #%u comes from %s:%u, not from "
			    "the VIP", d, out->no, ipstr(po.src, a), po.sport);
		break;
	case X_DROP:
	case X_EITHER:
		break;
	}

	/*
	 * Every IPv4 packet written must carry right checksums, unless the
	 * input's were wrong already: passing garbage on is not loadd's
	 * fault, and an incremental update keeps a wrong sum wrong.
	 */
	if (po.kind == K_IPV4 && pi->kind == K_IPV4) {
		cksum_ok(out, &po, &ipok, &l4ok);
		cksum_ok(in, pi, &inipok, &inl4ok);
		if (!ipok && inipok)
			fail("%s: output #%u has a wrong IPv4 header checksum",
			    d, out->no);
		if (l4ok == 0 && inl4ok != 0)
			fail("%s: output #%u has a wrong %s checksum", d,
			    out->no, po.proto == IPPROTO_TCP ? "TCP" : "UDP");
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
 * NULL if it wrote nothing.
 */
static void
settle(struct pending *e, const struct rec *out)
{
	struct vflow	*f;
	const char	*why;
	char		 d[128];
	enum expect	 x;
	int		 isnew;

	x = classify(&e->r, &e->p, &why, &f, &isnew);
	if (x == X_EITHER && out == NULL) {
		x = X_DROP;
		why = "ipv6";
	} else if (x == X_EITHER)
		x = X_PASS;
	if (x == X_DROP)
		count_drop(why);
	desc(&e->r, &e->p, d, sizeof(d));
	if (out == NULL) {
		if (x != X_DROP)
			fail("input %s is missing from the output", d);
	} else if (x == X_DROP)
		fail("input %s should be dropped (%s) but was written as "
		    "output #%u", d, why, out->no);
	else
		check_pair(&e->r, &e->p, out, x, f, isnew);
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

/* "10.0.1.11,10.0.1.12:8080": servers in configuration order. */
static void
parse_servers(char *list)
{
	char		*item, *save = NULL, *colon, *end;
	struct in_addr	 a;
	unsigned long	 port;

	for (item = strtok_r(list, ",", &save); item != NULL;
	    item = strtok_r(NULL, ",", &save)) {
		if (v.nsrv == MAXSERVERS)
			usage();
		port = v.port;
		if ((colon = strchr(item, ':')) != NULL) {
			*colon = '\0';
			errno = 0;
			port = strtoul(colon + 1, &end, 10);
			if (errno != 0 || *end != '\0' || port == 0 ||
			    port > 65535)
				usage();
		}
		if (inet_pton(AF_INET, item, &a) != 1)
			usage();
		v.srv[v.nsrv].addr = a.s_addr;
		v.srv[v.nsrv].port = (uint16_t)port;
		snprintf(v.srv[v.nsrv].name, sizeof(v.srv[0].name), "%s:%lu",
		    item, port);
		v.nsrv++;
	}
}

int
main(int argc, char *argv[])
{
	char		 errbuf[PCAP_ERRBUF_SIZE], *servers = NULL;
	const char	*inpath, *outpath;
	pcap_t		*pin, *pout;
	struct pending	*e;
	struct rec	 out;
	struct in_addr	 a;
	unsigned long	 l;
	unsigned	 i, k, nin = 0, nout = 0, lo, hi;
	long		 drops = -1;
	int		 damaged = 0, inbroken = 0, outbroken = 0, j;

	if (argc < 3)
		usage();
	inpath = argv[1];
	outpath = argv[2];
	v.vip = 0;
	v.port = 0;
	for (i = 3; i < (unsigned)argc; i++) {
		if (strcmp(argv[i], "--damaged") == 0) {
			damaged = 1;
			continue;
		}
		if (i + 1 == (unsigned)argc)
			usage();
		if (strcmp(argv[i], "--vip") == 0) {
			if (inet_pton(AF_INET, argv[++i], &a) != 1)
				usage();
			v.vip = a.s_addr;
		} else if (strcmp(argv[i], "--port") == 0) {
			l = number(argv[++i]);
			if (l == 0 || l > 65535)
				usage();
			v.port = (uint16_t)l;
		} else if (strcmp(argv[i], "--drops") == 0)
			drops = (long)number(argv[++i]);
		else if (strcmp(argv[i], "--servers") == 0)
			servers = argv[++i];
		else
			usage();
	}
	/* Servers without a port get the service's, so --port comes first. */
	if (v.vip == 0 || v.port == 0 || servers == NULL)
		usage();
	parse_servers(servers);
	if (v.nsrv == 0)
		usage();
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
	if (v.dlt != DLT_EN10MB && v.dlt != DLT_RAW && v.dlt != DLT_IPV4) {
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

	if (drops >= 0) {
		if ((long)nout != (long)nin - drops)
			fail("%u packets in, %u out: expected %ld drops, "
			    "got %d", nin, nout, drops, (int)(nin - nout));
		if ((long)v.xdrops != drops)
			fail("the model expects %u drops, the fixture %ld",
			    v.xdrops, drops);
	}
	if (v.newflows > 0) {
		lo = hi = v.srv[0].flows;
		printf("verify_replay: new flows per server:");
		for (i = 0; i < v.nsrv; i++) {
			printf(" %s %u", v.srv[i].name, v.srv[i].flows);
			if (v.srv[i].flows < lo)
				lo = v.srv[i].flows;
			if (v.srv[i].flows > hi)
				hi = v.srv[i].flows;
		}
		printf("\n");
		if (hi - lo > 1)
			fail("round-robin spread %u..%u flows per server; "
			    "it must differ by at most 1", lo, hi);
	}
	if (v.xdrops > 0) {
		printf("verify_replay: expected drops:");
		for (i = 0; i < NREASONS && v.xdrop_name[i] != NULL; i++)
			printf(" %s=%u", v.xdrop_name[i], v.xdrop_by[i]);
		printf("\n");
	}
	pcap_close(pin);
	pcap_close(pout);
	free(v.flows);
	printf("verify_replay: %u packets checked, %u failures\n", v.checked,
	    v.fails);
	return (v.fails == 0 ? 0 : 1);
}
