/*
 * IPv4 and IPv6 parsing into struct pkt.
 *
 * The datagram length is taken from the IP header; bytes past it (an
 * Ethernet minimum-size pad) are ignored, bytes missing from it are an
 * error.  IPv4 options are skipped, not refused: they do not change what
 * loadd rewrites.  IPv6 extension headers are walked up to a fixed depth.
 */
#include <string.h>

#include "byteorder.h"
#include "pkt.h"

#define PKT_MAXEXTHDR	8

static const char *const pkt_errstr[PKT_NERR] = {
	[PKT_OK] = "ok",
	[PKT_ETRUNC] = "truncated",
	[PKT_EVERSION] = "bad IP version",
	[PKT_EHDRLEN] = "bad IP header length",
	[PKT_ETOTLEN] = "bad IP total length",
	[PKT_EL4] = "bad transport header",
	[PKT_EEXTHDR] = "bad IPv6 extension header",
	[PKT_EJUMBO] = "IPv6 jumbogram",
};

static int	 pkt_parse_ip(const uint8_t *, size_t, struct pkt *, int);
static int	 pkt_parse4(const uint8_t *, size_t, struct pkt *, int);
static int	 pkt_parse6(const uint8_t *, size_t, struct pkt *, int);
static int	 pkt_parse_l4(const uint8_t *, struct pkt *, int);

const char *
pkt_strerror(int e)
{
	if (e < 0 || e >= PKT_NERR)
		return ("unknown");
	return (pkt_errstr[e]);
}

int
pkt_parse(const uint8_t *buf, size_t len, struct pkt *p)
{
	return (pkt_parse_ip(buf, len, p, 0));
}

/*
 * Parses the packet quoted in an ICMP error: a whole IP header and at
 * least the first 8 bytes of the transport header, which hold the ports
 * (RFC 792, RFC 4443).  The quote is the beginning of the original
 * packet, so its length field is not checked against len; p->len is what
 * the quote holds.
 */
int
pkt_parse_inner(const uint8_t *buf, size_t len, struct pkt *p)
{
	return (pkt_parse_ip(buf, len, p, 1));
}

/* Either of the two above, by the IP version; inner for a quote. */
static int
pkt_parse_ip(const uint8_t *buf, size_t len, struct pkt *p, int inner)
{
	memset(p, 0, sizeof(*p));
	if (len < 1)
		return (PKT_ETRUNC);
	switch (buf[0] >> 4) {
	case 4:
		return (pkt_parse4(buf, len, p, inner));
	case 6:
		return (pkt_parse6(buf, len, p, inner));
	default:
		return (PKT_EVERSION);
	}
}

static int
pkt_parse4(const uint8_t *buf, size_t len, struct pkt *p, int inner)
{
	unsigned	 hlen, tot, off;

	if (len < 20)
		return (PKT_ETRUNC);
	hlen = (unsigned)(buf[0] & 0x0f) * 4;
	if (hlen < 20)
		return (PKT_EHDRLEN);
	tot = be16dec(buf + 2);
	if (tot < hlen)
		return (PKT_ETOTLEN);
	if (inner) {
		if (hlen > len)
			return (PKT_ETRUNC);
		tot = len > 0xffff ? 0xffff : (unsigned)len;
	} else if (tot > len)
		return (PKT_ETOTLEN);
	p->family = 4;
	p->len = tot;
	p->l3len = (uint16_t)hlen;
	p->proto = buf[9];
	memcpy(&p->src.w[0], buf + 12, 4);
	memcpy(&p->dst.w[0], buf + 16, 4);
	if (hlen > 20)
		p->flags |= PKT_F_IPOPTS;
	off = be16dec(buf + 6);
	if (off & 0x3fff) {
		/* MF set or a non-zero offset. */
		p->flags |= PKT_F_FRAG;
		if (off & 0x1fff) {
			p->flags |= PKT_F_LATERFRAG;
			return (PKT_OK);
		}
	}
	return (pkt_parse_l4(buf, p, inner));
}

static int
pkt_parse6(const uint8_t *buf, size_t len, struct pkt *p, int inner)
{
	unsigned	 plen, off, nh, n, hl;
	uint16_t	 fo;

	if (len < 40)
		return (PKT_ETRUNC);
	plen = be16dec(buf + 4);
	if (plen == 0)
		return (PKT_EJUMBO);
	if (inner)
		plen = len - 40 > 0xffff - 40 ? 0xffff - 40 :
		    (unsigned)len - 40;
	else if (40 + plen > len)
		return (PKT_ETOTLEN);
	p->family = 6;
	p->len = 40 + plen;
	memcpy(p->src.b, buf + 8, 16);
	memcpy(p->dst.b, buf + 24, 16);

	nh = buf[6];
	off = 40;
	for (n = 0;; n++) {
		switch (nh) {
		case 0:		/* hop-by-hop options */
		case 43:	/* routing */
		case 60:	/* destination options */
			if (n == PKT_MAXEXTHDR || off + 8 > p->len)
				return (PKT_EEXTHDR);
			hl = ((unsigned)buf[off + 1] + 1) * 8;
			if (off + hl > p->len)
				return (PKT_EEXTHDR);
			p->flags |= PKT_F_EXTHDR;
			nh = buf[off];
			off += hl;
			continue;
		case 44:	/* fragment */
			if (n == PKT_MAXEXTHDR || off + 8 > p->len)
				return (PKT_EEXTHDR);
			p->flags |= PKT_F_EXTHDR | PKT_F_FRAG;
			nh = buf[off];
			fo = be16dec(buf + off + 2);
			off += 8;
			if (fo & 0xfff8) {
				p->flags |= PKT_F_LATERFRAG;
				p->proto = (uint8_t)nh;
				p->l3len = (uint16_t)off;
				return (PKT_OK);
			}
			if ((fo & 1) == 0) {
				/* An atomic fragment (RFC 6946): a whole packet. */
				p->flags &= (uint8_t)~PKT_F_FRAG;
			}
			continue;
		default:
			break;
		}
		break;
	}
	p->proto = (uint8_t)nh;
	p->l3len = (uint16_t)off;
	return (pkt_parse_l4(buf, p, inner));
}

/*
 * Reads the transport header that starts at p->l3len.  In the quote of an
 * ICMP error (inner) only the first 8 bytes are promised: the ports, and
 * the TCP flags when the quote reaches them; lengths describe the
 * original packet, not the quote, so they are not checked against it.
 */
static int
pkt_parse_l4(const uint8_t *buf, struct pkt *p, int inner)
{
	const uint8_t	*l4 = buf + p->l3len;
	unsigned	 l4len = (unsigned)p->len - p->l3len;
	unsigned	 doff, ulen;

	switch (p->proto) {
	case PROTO_TCP:
		if (l4len < (inner ? 8u : 20u))
			return (PKT_EL4);
		if (!inner) {
			doff = (unsigned)(l4[12] >> 4) * 4;
			if (doff < 20 || doff > l4len)
				return (PKT_EL4);
		}
		if (l4len >= 14)
			p->tcpflags = l4[13];
		break;
	case PROTO_UDP:
		if (l4len < 8)
			return (PKT_EL4);
		ulen = be16dec(l4 + 4);
		/* A first fragment carries only part of the datagram. */
		if (!inner && !(p->flags & PKT_F_FRAG) &&
		    (ulen < 8 || ulen > l4len))
			return (PKT_EL4);
		break;
	case PROTO_ICMP:
	case PROTO_ICMPV6:
		if (l4len < 8)
			return (PKT_EL4);
		p->icmp_type = l4[0];
		p->icmp_code = l4[1];
		return (PKT_OK);
	default:
		return (PKT_OK);
	}
	memcpy(&p->sport, l4, 2);
	memcpy(&p->dport, l4 + 2, 2);
	p->flags |= PKT_F_PORTS;
	return (PKT_OK);
}

int
pkt_icmp_is_error(int family, uint8_t type)
{
	if (family == 4)
		return (type == 3 || type == 4 || type == 11 || type == 12);
	return (type >= 1 && type <= 4);
}
