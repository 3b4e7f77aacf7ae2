/*
 * pkt_parse(): what it accepts, what it refuses and why, and that no
 * byte sequence makes it read outside the buffer.  Every buffer handed
 * to pkt_parse() here is a heap copy of exactly the length under test,
 * so that AddressSanitizer sees a read of even one byte too many.
 *
 * This file also holds tpkt_build(), the packet builder the other
 * suites use.
 */
#include <arpa/inet.h>

#include <stdlib.h>
#include <string.h>

#include "pkt.h"
#include "unit.h"

#define CLIENT4		"198.51.100.7"
#define VIP4		"192.0.2.10"
#define CLIENT6		"2001:db8:ffff::7"
#define VIP6		"2001:db8::10"

static int	 parse_exact(const uint8_t *, size_t, struct pkt *);
static size_t	 build_tcp4(uint8_t *, size_t, unsigned);
static size_t	 build_tcp6_ext(uint8_t *, size_t, const uint8_t *,
		    unsigned, uint16_t);
static void	 check_addrs(const struct pkt *, int, const char *,
		    const char *);

/* Packet building, shared with the other suites. */

uint16_t
get_be16(const uint8_t *p)
{
	return ((uint16_t)(p[0] << 8 | p[1]));
}

void
put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

size_t
tpkt_build(uint8_t *buf, size_t size, const struct tpkt *t)
{
	unsigned	 l3, l4h, len, i, off;
	uint8_t		*l4;

	l3 = t->family == 4 ? 20 + t->ipopts : 40 + 8 * t->next;
	switch (t->proto) {
	case PROTO_TCP:
		l4h = 20;
		break;
	case PROTO_UDP:
	case PROTO_ICMP:
	case PROTO_ICMPV6:
		l4h = 8;
		break;
	default:
		l4h = 0;
		break;
	}
	len = l3 + l4h + t->paylen;
	if (len > size || len - (t->family == 6 ? 40 : 0) > 65535)
		return (0);
	memset(buf, 0, len);
	if (t->family == 4) {
		buf[0] = (uint8_t)(0x40 | l3 / 4);
		put_be16(buf + 2, (uint16_t)len);
		put_be16(buf + 4, 0x1234);
		put_be16(buf + 6, t->frag);
		buf[8] = 64;
		buf[9] = t->proto;
		ck_assert_int_eq(inet_pton(AF_INET, t->src, buf + 12), 1);
		ck_assert_int_eq(inet_pton(AF_INET, t->dst, buf + 16), 1);
		/* No-operation options: legal, and meaningless to loadd. */
		memset(buf + 20, 1, t->ipopts);
	} else {
		buf[0] = 0x60;
		put_be16(buf + 4, (uint16_t)(len - 40));
		buf[6] = t->next > 0 ? t->ext[0] : t->proto;
		buf[7] = 64;
		ck_assert_int_eq(inet_pton(AF_INET6, t->src, buf + 8), 1);
		ck_assert_int_eq(inet_pton(AF_INET6, t->dst, buf + 24), 1);
		for (i = 0; i < t->next; i++) {
			off = 40 + 8 * i;
			buf[off] = i + 1 < t->next ? t->ext[i + 1] : t->proto;
			buf[off + 1] = 0;
			if (t->ext[i] == 44) {
				put_be16(buf + off + 2, t->fragoff);
				put_be16(buf + off + 6, 0x4242);
			} else if (t->ext[i] != 43) {
				/* A PadN option fills the 6 bytes left. */
				buf[off + 2] = 1;
				buf[off + 3] = 4;
			}
		}
	}
	l4 = buf + l3;
	switch (t->proto) {
	case PROTO_TCP:
		put_be16(l4, t->sport);
		put_be16(l4 + 2, t->dport);
		put_be16(l4 + 4, 0x0102);
		put_be16(l4 + 6, 0x0304);
		if (t->tcpflags & TH_ACK)
			put_be16(l4 + 10, 0x0506);
		l4[12] = 5 << 4;
		l4[13] = t->tcpflags;
		put_be16(l4 + 14, 0xffff);
		break;
	case PROTO_UDP:
		put_be16(l4, t->sport);
		put_be16(l4 + 2, t->dport);
		put_be16(l4 + 4, (uint16_t)(8 + t->paylen));
		break;
	case PROTO_ICMP:
	case PROTO_ICMPV6:
		l4[0] = t->family == 4 ? 8 : 128;	/* echo request */
		put_be16(l4 + 4, 0x0777);
		put_be16(l4 + 6, 1);
		break;
	default:
		break;
	}
	for (i = 0; i < t->paylen; i++)
		l4[l4h + i] = t->payload != NULL ? t->payload[i] :
		    (uint8_t)(i * 7 + 3);
	tpkt_set_cksums(buf, l3, len, t->proto);
	return (len);
}

void
tpkt_set_cksums(uint8_t *buf, unsigned l3len, unsigned len, uint8_t proto)
{
	uint16_t	 ck;
	unsigned	 coff;

	if ((buf[0] >> 4) == 4) {
		put_be16(buf + 10, 0);
		put_be16(buf + 10, ref_cksum(buf, (buf[0] & 0x0f) * 4u));
	}
	switch (proto) {
	case PROTO_TCP:
		coff = 16;
		break;
	case PROTO_UDP:
		coff = 6;
		break;
	case PROTO_ICMP:
	case PROTO_ICMPV6:
		coff = 2;
		break;
	default:
		return;
	}
	if (len < l3len + coff + 2)
		return;
	ck = ref_l4_cksum(buf, l3len, len, proto);
	/* RFC 768: a computed zero is sent as all ones. */
	if (proto == PROTO_UDP && ck == 0)
		ck = 0xffff;
	put_be16(buf + l3len + coff, ck);
}

unsigned
tpkt_l3len(const uint8_t *buf, uint8_t *proto)
{
	unsigned	 off = 40;
	uint8_t		 nh;

	if ((buf[0] >> 4) == 4) {
		*proto = buf[9];
		return ((buf[0] & 0x0f) * 4u);
	}
	for (nh = buf[6]; nh == 0 || nh == 43 || nh == 60 || nh == 44;) {
		nh = buf[off];
		off += nh == 44 ? 8 : (buf[off + 1] + 1u) * 8;
	}
	*proto = nh;
	return (off);
}

/* Local helpers. */

/* Parses a heap copy of exactly len bytes. */
static int
parse_exact(const uint8_t *buf, size_t len, struct pkt *p)
{
	uint8_t	*copy;
	int	 rc;

	copy = malloc(len > 0 ? len : 1);
	ck_assert_ptr_nonnull(copy);
	if (len > 0)
		memcpy(copy, buf, len);
	rc = pkt_parse(copy, len, p);
	free(copy);
	return (rc);
}

static size_t
build_tcp4(uint8_t *buf, size_t size, unsigned paylen)
{
	struct tpkt t = {
		.family = 4, .proto = PROTO_TCP, .src = CLIENT4, .dst = VIP4,
		.sport = 40000, .dport = 80, .tcpflags = TH_SYN,
		.paylen = paylen,
	};

	return (tpkt_build(buf, size, &t));
}

static size_t
build_tcp6_ext(uint8_t *buf, size_t size, const uint8_t *ext, unsigned next,
    uint16_t fragoff)
{
	struct tpkt t = {
		.family = 6, .proto = PROTO_TCP, .src = CLIENT6, .dst = VIP6,
		.sport = 40000, .dport = 80, .tcpflags = TH_SYN,
		.ext = ext, .next = next, .fragoff = fragoff,
	};

	return (tpkt_build(buf, size, &t));
}

static void
check_addrs(const struct pkt *p, int family, const char *src, const char *dst)
{
	union addr	 a;

	memset(&a, 0, sizeof(a));
	ck_assert_int_eq(inet_pton(family == 4 ? AF_INET : AF_INET6, src,
	    a.b), 1);
	ck_assert_msg(addr_eq(&p->src, &a), "source address is not %s", src);
	memset(&a, 0, sizeof(a));
	ck_assert_int_eq(inet_pton(family == 4 ? AF_INET : AF_INET6, dst,
	    a.b), 1);
	ck_assert_msg(addr_eq(&p->dst, &a), "destination address is not %s",
	    dst);
}

/* Valid packets of every kind parse into the right fields. */

static const struct {
	int		 family;
	uint8_t		 proto;
	uint8_t		 tcpflags;
	unsigned	 paylen;
	unsigned	 l3len;
	unsigned	 l4hdr;
} valid[] = {
	{ 4, PROTO_TCP, TH_SYN, 0, 20, 20 },
	{ 4, PROTO_TCP, TH_ACK | TH_PUSH, 333, 20, 20 },
	{ 4, PROTO_UDP, 0, 0, 20, 8 },
	{ 4, PROTO_UDP, 0, 512, 20, 8 },
	{ 4, PROTO_ICMP, 0, 56, 20, 8 },
	{ 6, PROTO_TCP, TH_SYN | TH_ACK, 0, 40, 20 },
	{ 6, PROTO_TCP, TH_FIN | TH_ACK, 1001, 40, 20 },
	{ 6, PROTO_UDP, 0, 0, 40, 8 },
	{ 6, PROTO_UDP, 0, 77, 40, 8 },
	{ 6, PROTO_ICMPV6, 0, 56, 40, 8 },
};

START_TEST(test_valid)
{
	uint8_t		 buf[2048];
	struct pkt	 p;
	size_t		 len;
	int		 v6 = valid[_i].family == 6;
	struct tpkt	 t = {
		.family = valid[_i].family, .proto = valid[_i].proto,
		.src = v6 ? CLIENT6 : CLIENT4, .dst = v6 ? VIP6 : VIP4,
		.sport = 40001, .dport = 443, .tcpflags = valid[_i].tcpflags,
		.paylen = valid[_i].paylen,
	};

	len = tpkt_build(buf, sizeof(buf), &t);
	ck_assert_uint_eq(len, valid[_i].l3len + valid[_i].l4hdr +
	    valid[_i].paylen);
	ck_assert_int_eq(parse_exact(buf, len, &p), PKT_OK);
	ck_assert_uint_eq(p.family, valid[_i].family);
	ck_assert_uint_eq(p.proto, valid[_i].proto);
	ck_assert_uint_eq(p.len, len);
	ck_assert_uint_eq(p.l3len, valid[_i].l3len);
	check_addrs(&p, t.family, t.src, t.dst);
	if (t.proto == PROTO_TCP || t.proto == PROTO_UDP) {
		ck_assert_uint_eq(p.flags, PKT_F_PORTS);
		ck_assert_uint_eq(ntohs(p.sport), 40001);
		ck_assert_uint_eq(ntohs(p.dport), 443);
		ck_assert_uint_eq(p.tcpflags, valid[_i].tcpflags);
	} else {
		/* ICMP has no ports: the engine must not balance it. */
		ck_assert_uint_eq(p.flags, 0);
		ck_assert_uint_eq(p.icmp_type, v6 ? 128 : 8);
		ck_assert_uint_eq(p.icmp_code, 0);
	}
}
END_TEST

/* A protocol loadd does not know (GRE) parses, without ports. */
START_TEST(test_other_proto)
{
	uint8_t		 buf[128];
	struct pkt	 p;
	struct tpkt	 t = {
		.family = 4, .proto = 47, .src = CLIENT4, .dst = VIP4,
		.paylen = 24,
	};
	size_t		 len = tpkt_build(buf, sizeof(buf), &t);

	ck_assert_int_eq(parse_exact(buf, len, &p), PKT_OK);
	ck_assert_uint_eq(p.proto, 47);
	ck_assert_uint_eq(p.flags & PKT_F_PORTS, 0);
}
END_TEST

/*
 * Truncation.  Cutting the buffer short of what the IP header claims is
 * PKT_ETRUNC below a fixed header and PKT_ETOTLEN after; cutting the
 * datagram itself (length field and buffer agree) leaves the transport
 * header short: PKT_EL4, or PKT_EJUMBO for an IPv6 payload length of 0.
 */

static const struct {
	int		 family;
	uint8_t		 proto;
} trunc_kinds[] = {
	{ 4, PROTO_TCP }, { 4, PROTO_UDP }, { 4, PROTO_ICMP },
	{ 6, PROTO_TCP }, { 6, PROTO_UDP }, { 6, PROTO_ICMPV6 },
};

START_TEST(test_truncated)
{
	uint8_t		 full[128], cut[128];
	struct pkt	 p;
	size_t		 len, n, iphdr;
	int		 v6 = trunc_kinds[_i].family == 6, rc, want;
	struct tpkt	 t = {
		.family = trunc_kinds[_i].family,
		.proto = trunc_kinds[_i].proto,
		.src = v6 ? CLIENT6 : CLIENT4, .dst = v6 ? VIP6 : VIP4,
		.sport = 1234, .dport = 80, .tcpflags = TH_SYN,
	};

	len = tpkt_build(full, sizeof(full), &t);
	iphdr = v6 ? 40 : 20;
	ck_assert_int_eq(parse_exact(full, len, &p), PKT_OK);
	for (n = 0; n < len; n++) {
		/* The buffer is short, the header still says len. */
		rc = parse_exact(full, n, &p);
		want = n < iphdr ? PKT_ETRUNC : PKT_ETOTLEN;
		ck_assert_msg(rc == want, "IPv%d proto %u cut to %zu of %zu "
		    "bytes: %s, expected %s", t.family, t.proto, n, len,
		    pkt_strerror(rc), pkt_strerror(want));

		/* The datagram is short, and says so. */
		memcpy(cut, full, n);
		if (n >= iphdr) {
			if (v6)
				put_be16(cut + 4, (uint16_t)(n - 40));
			else
				put_be16(cut + 2, (uint16_t)n);
		}
		rc = parse_exact(cut, n, &p);
		if (n < iphdr)
			want = PKT_ETRUNC;
		else if (v6 && n == 40)
			want = PKT_EJUMBO;
		else
			want = PKT_EL4;
		ck_assert_msg(rc == want, "IPv%d proto %u datagram of %zu of "
		    "%zu bytes: %s, expected %s", t.family, t.proto, n, len,
		    pkt_strerror(rc), pkt_strerror(want));
	}
}
END_TEST

START_TEST(test_bad_version)
{
	static const uint8_t versions[] = { 0, 1, 2, 3, 5, 7, 8, 15 };
	uint8_t		 buf[128];
	struct pkt	 p;
	size_t		 len, i;

	len = build_tcp4(buf, sizeof(buf), 0);
	for (i = 0; i < sizeof(versions); i++) {
		buf[0] = (uint8_t)(versions[i] << 4 | 5);
		ck_assert_msg(parse_exact(buf, len, &p) == PKT_EVERSION,
		    "version %u accepted", versions[i]);
	}
	/* A single byte is enough to refuse on the version. */
	ck_assert_int_eq(parse_exact(buf, 1, &p), PKT_EVERSION);
	ck_assert_int_eq(parse_exact(buf, 0, &p), PKT_ETRUNC);
}
END_TEST

START_TEST(test_ihl_below_5)
{
	uint8_t		 buf[128];
	struct pkt	 p;
	size_t		 len;

	len = build_tcp4(buf, sizeof(buf), 0);
	buf[0] = (uint8_t)(0x40 | _i);
	ck_assert_int_eq(parse_exact(buf, len, &p), PKT_EHDRLEN);
}
END_TEST

START_TEST(test_total_length)
{
	uint8_t		 buf[256];
	struct pkt	 p;
	size_t		 len;

	len = build_tcp4(buf, sizeof(buf), 10);
	/* One byte more than the buffer. */
	put_be16(buf + 2, (uint16_t)(len + 1));
	ck_assert_int_eq(parse_exact(buf, len, &p), PKT_ETOTLEN);
	put_be16(buf + 2, 0xffff);
	ck_assert_int_eq(parse_exact(buf, len, &p), PKT_ETOTLEN);
	/* Smaller than the IP header itself. */
	put_be16(buf + 2, 19);
	ck_assert_int_eq(parse_exact(buf, len, &p), PKT_ETOTLEN);
	put_be16(buf + 2, 0);
	ck_assert_int_eq(parse_exact(buf, len, &p), PKT_ETOTLEN);
	/* Smaller than a header with options. */
	buf[0] = 0x46;
	put_be16(buf + 2, 20);
	ck_assert_int_eq(parse_exact(buf, len, &p), PKT_ETOTLEN);
}
END_TEST

START_TEST(test_ipv6_payload_length)
{
	uint8_t		 buf[256];
	struct pkt	 p;
	size_t		 len;

	len = build_tcp6_ext(buf, sizeof(buf), NULL, 0, 0);
	put_be16(buf + 4, (uint16_t)(len - 40 + 1));
	ck_assert_int_eq(parse_exact(buf, len, &p), PKT_ETOTLEN);
	/* Payload length 0 announces a jumbogram (RFC 2675). */
	put_be16(buf + 4, 0);
	ck_assert_int_eq(parse_exact(buf, len, &p), PKT_EJUMBO);
}
END_TEST

/* An Ethernet minimum-size pad after the datagram is not part of it. */
START_TEST(test_trailing_bytes)
{
	uint8_t		 buf[256];
	struct pkt	 p;
	size_t		 len;

	len = build_tcp4(buf, sizeof(buf), 0);
	memset(buf + len, 0xaa, 18);
	ck_assert_int_eq(parse_exact(buf, len + 18, &p), PKT_OK);
	ck_assert_uint_eq(p.len, len);
	ck_assert_uint_eq(ntohs(p.dport), 80);

	len = build_tcp6_ext(buf, sizeof(buf), NULL, 0, 0);
	memset(buf + len, 0x55, 7);
	ck_assert_int_eq(parse_exact(buf, len + 7, &p), PKT_OK);
	ck_assert_uint_eq(p.len, len);

	/* A UDP datagram shorter than the IP payload is fine as well. */
	{
		struct tpkt t = {
			.family = 4, .proto = PROTO_UDP, .src = CLIENT4,
			.dst = VIP4, .sport = 53, .dport = 53, .paylen = 10,
		};

		len = tpkt_build(buf, sizeof(buf), &t);
		put_be16(buf + 24, 8);
		ck_assert_int_eq(parse_exact(buf, len, &p), PKT_OK);
		ck_assert_uint_eq(p.flags, PKT_F_PORTS);
	}
}
END_TEST

/* IHL 6 to 15: the options are skipped and the ports still found. */
START_TEST(test_ipv4_options)
{
	uint8_t		 buf[256];
	struct pkt	 p;
	size_t		 len;
	unsigned	 ihl = (unsigned)_i;
	struct tpkt	 t = {
		.family = 4, .proto = PROTO_UDP, .src = CLIENT4, .dst = VIP4,
		.sport = 5353, .dport = 8080, .paylen = 3,
		.ipopts = (ihl - 5) * 4,
	};

	len = tpkt_build(buf, sizeof(buf), &t);
	ck_assert_int_eq(parse_exact(buf, len, &p), PKT_OK);
	ck_assert_uint_eq(p.l3len, ihl * 4);
	ck_assert_uint_eq(p.flags, PKT_F_IPOPTS | PKT_F_PORTS);
	ck_assert_uint_eq(ntohs(p.sport), 5353);
	ck_assert_uint_eq(ntohs(p.dport), 8080);
	check_addrs(&p, 4, CLIENT4, VIP4);

	t.proto = PROTO_TCP;
	t.tcpflags = TH_SYN;
	len = tpkt_build(buf, sizeof(buf), &t);
	ck_assert_int_eq(parse_exact(buf, len, &p), PKT_OK);
	ck_assert_uint_eq(p.l3len, ihl * 4);
	ck_assert_uint_eq(p.tcpflags, TH_SYN);
	ck_assert_uint_eq(ntohs(p.dport), 8080);
	/* The options eat the room the TCP header needed. */
	ck_assert_int_eq(parse_exact(buf, len - 1, &p), PKT_ETOTLEN);
}
END_TEST

static const struct {
	uint16_t	 frag;		/* IPv4 flags and offset */
	uint8_t		 flags;		/* what pkt_parse says */
} frags4[] = {
	{ 0x4000, PKT_F_PORTS },			/* DF only */
	{ 0x2000, PKT_F_FRAG | PKT_F_PORTS },		/* first */
	{ 0x6000, PKT_F_FRAG | PKT_F_PORTS },		/* first, DF too */
	{ 0x2001, PKT_F_FRAG | PKT_F_LATERFRAG },	/* middle */
	{ 0x0001, PKT_F_FRAG | PKT_F_LATERFRAG },	/* last */
	{ 0x1fff, PKT_F_FRAG | PKT_F_LATERFRAG },	/* last, far */
};

START_TEST(test_ipv4_fragments)
{
	uint8_t		 buf[256];
	struct pkt	 p;
	size_t		 len;
	struct tpkt	 t = {
		.family = 4, .proto = PROTO_TCP, .src = CLIENT4, .dst = VIP4,
		.sport = 40000, .dport = 80, .tcpflags = TH_ACK, .paylen = 16,
		.frag = frags4[_i].frag,
	};

	len = tpkt_build(buf, sizeof(buf), &t);
	ck_assert_int_eq(parse_exact(buf, len, &p), PKT_OK);
	ck_assert_uint_eq(p.flags, frags4[_i].flags);
	ck_assert_uint_eq(p.proto, PROTO_TCP);
	if (p.flags & PKT_F_PORTS)
		ck_assert_uint_eq(ntohs(p.dport), 80);
	else
		ck_assert_uint_eq(p.dport, 0);

	/* A later fragment is payload only: no header to truncate. */
	if (frags4[_i].flags & PKT_F_LATERFRAG) {
		put_be16(buf + 2, 21);
		tpkt_set_cksums(buf, 20, 21, 0);
		ck_assert_int_eq(parse_exact(buf, 21, &p), PKT_OK);
	}
}
END_TEST

/* The first fragment of a large UDP datagram carries only part of it. */
START_TEST(test_ipv4_first_fragment_udp)
{
	uint8_t		 buf[256];
	struct pkt	 p;
	size_t		 len;
	struct tpkt	 t = {
		.family = 4, .proto = PROTO_UDP, .src = CLIENT4, .dst = VIP4,
		.sport = 5000, .dport = 53, .paylen = 64, .frag = 0x2000,
	};

	len = tpkt_build(buf, sizeof(buf), &t);
	put_be16(buf + 24, 3000);
	ck_assert_int_eq(parse_exact(buf, len, &p), PKT_OK);
	ck_assert_uint_eq(p.flags, PKT_F_FRAG | PKT_F_PORTS);
	ck_assert_uint_eq(ntohs(p.dport), 53);
	/* Not a fragment: the same length is a lie. */
	put_be16(buf + 6, 0);
	ck_assert_int_eq(parse_exact(buf, len, &p), PKT_EL4);
}
END_TEST

START_TEST(test_tcp_data_offset)
{
	uint8_t		 buf[256];
	struct pkt	 p;
	size_t		 len;
	unsigned	 doff;

	len = build_tcp4(buf, sizeof(buf), 40);
	for (doff = 0; doff < 5; doff++) {
		buf[20 + 12] = (uint8_t)(doff << 4);
		ck_assert_msg(parse_exact(buf, len, &p) == PKT_EL4,
		    "data offset %u accepted", doff);
	}
	/* 20 + 40 bytes of segment: offsets up to 15 (60 bytes) fit. */
	for (doff = 5; doff <= 15; doff++) {
		buf[20 + 12] = (uint8_t)(doff << 4);
		ck_assert_msg(parse_exact(buf, len, &p) == PKT_OK,
		    "data offset %u refused", doff);
	}
	/* Without the payload, any offset above 5 runs past the segment. */
	len = build_tcp4(buf, sizeof(buf), 0);
	for (doff = 6; doff <= 15; doff++) {
		buf[20 + 12] = (uint8_t)(doff << 4);
		ck_assert_msg(parse_exact(buf, len, &p) == PKT_EL4,
		    "data offset %u accepted", doff);
	}
}
END_TEST

START_TEST(test_udp_length)
{
	uint8_t		 buf[256];
	struct pkt	 p;
	size_t		 len;
	unsigned	 ulen;
	struct tpkt	 t = {
		.family = 6, .proto = PROTO_UDP, .src = CLIENT6, .dst = VIP6,
		.sport = 5000, .dport = 53, .paylen = 12,
	};

	len = tpkt_build(buf, sizeof(buf), &t);
	for (ulen = 0; ulen < 8; ulen++) {
		put_be16(buf + 40 + 4, (uint16_t)ulen);
		ck_assert_msg(parse_exact(buf, len, &p) == PKT_EL4,
		    "UDP length %u accepted", ulen);
	}
	for (ulen = 8; ulen <= 20; ulen++) {
		put_be16(buf + 40 + 4, (uint16_t)ulen);
		ck_assert_int_eq(parse_exact(buf, len, &p), PKT_OK);
	}
	for (ulen = 21; ulen <= 65535; ulen += 997) {
		put_be16(buf + 40 + 4, (uint16_t)ulen);
		ck_assert_msg(parse_exact(buf, len, &p) == PKT_EL4,
		    "UDP length %u accepted for 20 bytes", ulen);
	}
}
END_TEST

/* Hop-by-hop, destination options and routing, then TCP. */
START_TEST(test_ipv6_exthdr)
{
	static const uint8_t ext[] = { 0, 60, 43 };
	uint8_t		 buf[256];
	struct pkt	 p;
	size_t		 len;

	len = build_tcp6_ext(buf, sizeof(buf), ext, 3, 0);
	ck_assert_int_eq(parse_exact(buf, len, &p), PKT_OK);
	ck_assert_uint_eq(p.flags, PKT_F_EXTHDR | PKT_F_PORTS);
	ck_assert_uint_eq(p.proto, PROTO_TCP);
	ck_assert_uint_eq(p.l3len, 40 + 24);
	ck_assert_uint_eq(ntohs(p.sport), 40000);
	ck_assert_uint_eq(ntohs(p.dport), 80);
	ck_assert_uint_eq(p.tcpflags, TH_SYN);
	check_addrs(&p, 6, CLIENT6, VIP6);

	/* A longer header: destination options of 24 bytes. */
	buf[40 + 8 + 1] = 2;
	memmove(buf + 40 + 8 + 24, buf + 40 + 8 + 8, len - 56);
	memset(buf + 40 + 8 + 8, 0, 16);
	buf[40 + 8 + 8] = 1;	/* PadN */
	buf[40 + 8 + 9] = 14;
	len += 16;
	put_be16(buf + 4, (uint16_t)(len - 40));
	ck_assert_int_eq(parse_exact(buf, len, &p), PKT_OK);
	ck_assert_uint_eq(p.l3len, 40 + 40);
	ck_assert_uint_eq(ntohs(p.dport), 80);
}
END_TEST

START_TEST(test_ipv6_exthdr_overrun)
{
	static const uint8_t ext[] = { 0, 60 };
	uint8_t		 buf[256];
	struct pkt	 p;
	size_t		 len;

	len = build_tcp6_ext(buf, sizeof(buf), ext, 2, 0);
	/* The second header says 8 * (1 + 3) bytes: past the packet. */
	buf[48 + 1] = 3;
	ck_assert_int_eq(parse_exact(buf, len, &p), PKT_EEXTHDR);
	buf[48 + 1] = 255;
	ck_assert_int_eq(parse_exact(buf, len, &p), PKT_EEXTHDR);

	/* A header cut after fewer than its 8 fixed bytes. */
	len = build_tcp6_ext(buf, sizeof(buf), ext, 2, 0);
	put_be16(buf + 4, 8 + 4);
	ck_assert_int_eq(parse_exact(buf, 40 + 12, &p), PKT_EEXTHDR);
	put_be16(buf + 4, 8);
	ck_assert_int_eq(parse_exact(buf, 40 + 8, &p), PKT_EEXTHDR);
	/* Nothing at all after the IPv6 header, yet one announced. */
	put_be16(buf + 4, 4);
	ck_assert_int_eq(parse_exact(buf, 44, &p), PKT_EEXTHDR);
}
END_TEST

/* Eight extension headers are walked; a ninth is refused. */
START_TEST(test_ipv6_exthdr_chain)
{
	uint8_t		 ext[20], buf[512];
	struct pkt	 p;
	size_t		 len;
	unsigned	 n = (unsigned)_i, i;
	int		 rc;

	for (i = 0; i < n; i++)
		ext[i] = (i % 2) ? 60 : 0;
	len = build_tcp6_ext(buf, sizeof(buf), ext, n, 0);
	rc = parse_exact(buf, len, &p);
	if (n <= 8) {
		ck_assert_msg(rc == PKT_OK, "%u headers: %s", n,
		    pkt_strerror(rc));
		ck_assert_uint_eq(ntohs(p.dport), 80);
		ck_assert_uint_eq(p.l3len, 40 + 8 * n);
	} else
		ck_assert_msg(rc == PKT_EEXTHDR, "%u headers: %s", n,
		    pkt_strerror(rc));
}
END_TEST

static const struct {
	uint16_t	 fragoff;	/* offset << 3 | M */
	uint8_t		 flags;
} frags6[] = {
	{ 0x0000, PKT_F_EXTHDR | PKT_F_PORTS },		/* atomic */
	{ 0x0001, PKT_F_EXTHDR | PKT_F_FRAG | PKT_F_PORTS },	/* first */
	{ 0x0009, PKT_F_EXTHDR | PKT_F_FRAG | PKT_F_LATERFRAG }, /* middle */
	{ 0x0008, PKT_F_EXTHDR | PKT_F_FRAG | PKT_F_LATERFRAG }, /* last */
	{ 0xfff8, PKT_F_EXTHDR | PKT_F_FRAG | PKT_F_LATERFRAG },
};

START_TEST(test_ipv6_fragments)
{
	static const uint8_t ext[] = { 0, 44 };
	uint8_t		 buf[256];
	struct pkt	 p;
	size_t		 len;

	len = build_tcp6_ext(buf, sizeof(buf), ext + 1, 1, frags6[_i].fragoff);
	ck_assert_int_eq(parse_exact(buf, len, &p), PKT_OK);
	ck_assert_uint_eq(p.flags, frags6[_i].flags);
	ck_assert_uint_eq(p.proto, PROTO_TCP);
	ck_assert_uint_eq(p.l3len, 48);
	if (p.flags & PKT_F_PORTS)
		ck_assert_uint_eq(ntohs(p.dport), 80);

	/* The same behind a hop-by-hop header. */
	len = build_tcp6_ext(buf, sizeof(buf), ext, 2, frags6[_i].fragoff);
	ck_assert_int_eq(parse_exact(buf, len, &p), PKT_OK);
	ck_assert_uint_eq(p.flags, frags6[_i].flags);
	ck_assert_uint_eq(p.l3len, 56);
}
END_TEST

START_TEST(test_strerror)
{
	int	 e;

	for (e = 0; e < PKT_NERR; e++) {
		ck_assert_ptr_nonnull(pkt_strerror(e));
		ck_assert_str_ne(pkt_strerror(e), "unknown");
	}
	ck_assert_str_eq(pkt_strerror(PKT_OK), "ok");
	ck_assert_str_eq(pkt_strerror(-1), "unknown");
	ck_assert_str_eq(pkt_strerror(PKT_NERR), "unknown");
}
END_TEST

/*
 * The largest datagrams.  An IPv4 total length of 65535 is fine.  An
 * IPv6 payload length above 65495 makes a datagram of more than 65535
 * bytes, which struct pkt's 16-bit len cannot hold: pkt_parse() must
 * refuse it rather than hand back a wrapped length (the engine sums
 * p->len - p->l3len bytes for a partial checksum).
 */
START_TEST(test_largest_datagrams)
{
	uint8_t		*buf;
	struct pkt	 p;
	size_t		 len;
	unsigned	 plen;
	int		 rc;
	struct tpkt	 t = {
		.family = 4, .proto = PROTO_UDP, .src = CLIENT4, .dst = VIP4,
		.sport = 5000, .dport = 53, .paylen = 65535 - 28,
	};

	buf = malloc(65536 + 40);
	ck_assert_ptr_nonnull(buf);
	len = tpkt_build(buf, 65536 + 40, &t);
	ck_assert_uint_eq(len, 65535);
	ck_assert_int_eq(parse_exact(buf, len, &p), PKT_OK);
	ck_assert_uint_eq(p.len, 65535);

	t.family = 6;
	t.src = CLIENT6;
	t.dst = VIP6;
	for (plen = 65480; plen <= 65535; plen++) {
		t.paylen = plen - 8;
		len = tpkt_build(buf, 65536 + 40, &t);
		ck_assert_uint_eq(len, 40 + plen);
		rc = parse_exact(buf, len, &p);
		if (rc == PKT_OK)
			ck_assert_msg((size_t)p.len == len, "IPv6 payload "
			    "length %u: parsed as OK with len %u, the "
			    "datagram is %zu bytes", plen, p.len, len);
	}
	free(buf);
}
END_TEST

/*
 * Robustness: random bytes and random damage to valid packets.  The
 * parser must return a known code, and anything it calls valid must lie
 * inside the buffer.
 */

static void
check_sane(const uint8_t *buf, size_t len, uint32_t iter)
{
	struct pkt	 p;
	int		 rc;

	rc = parse_exact(buf, len, &p);
	ck_assert_msg(rc >= 0 && rc < PKT_NERR, "iteration %u: code %d",
	    iter, rc);
	if (rc != PKT_OK)
		return;
	ck_assert_msg(p.family == 4 || p.family == 6, "iteration %u", iter);
	ck_assert_msg(p.len <= len && p.l3len <= p.len,
	    "iteration %u: len %u l3len %u of %zu", iter, p.len, p.l3len, len);
	if (p.flags & PKT_F_PORTS)
		ck_assert_msg(p.l3len + 8u <= p.len, "iteration %u: ports "
		    "past the end", iter);
	if (p.flags & PKT_F_LATERFRAG)
		ck_assert_msg(!(p.flags & PKT_F_PORTS), "iteration %u: a "
		    "later fragment with ports", iter);
}

START_TEST(test_random_buffers)
{
	static const uint8_t nhs[] = { 0, 43, 44, 60, 6, 17, 58, 59 };
	uint8_t		 buf[128];
	uint32_t	 seed = 0x10ad0001u, iter, i;
	size_t		 len;

	for (iter = 0; iter < 100000; iter++) {
		len = unit_rand(&seed) % (sizeof(buf) + 1);
		for (i = 0; i < len; i++)
			buf[i] = (uint8_t)unit_rand(&seed);
		/* Most of the time, look enough like IP to get further in. */
		if (len > 0 && (iter & 3) != 0) {
			if (iter & 4) {
				buf[0] = (uint8_t)(0x40 | (buf[0] & 0x0f));
				if (len >= 4 && (iter & 8))
					put_be16(buf + 2, (uint16_t)(
					    unit_rand(&seed) % (len + 1)));
			} else {
				buf[0] = 0x60;
				if (len >= 7)
					buf[6] = nhs[unit_rand(&seed) % 8];
				if (len >= 6 && (iter & 8))
					put_be16(buf + 4, (uint16_t)(
					    unit_rand(&seed) % (len + 1)));
			}
		}
		check_sane(buf, len, iter);
	}
}
END_TEST

START_TEST(test_random_mutations)
{
	static const uint8_t ext[] = { 0, 60, 43, 44 };
	uint8_t		 base[4][256], buf[256];
	size_t		 blen[4], len;
	uint32_t	 seed = 0x10ad0002u, iter, n, k;
	struct tpkt	 t = {
		.family = 4, .proto = PROTO_TCP, .src = CLIENT4, .dst = VIP4,
		.sport = 40000, .dport = 80, .tcpflags = TH_SYN, .paylen = 20,
		.ipopts = 8,
	};

	blen[0] = tpkt_build(base[0], sizeof(base[0]), &t);
	t.proto = PROTO_UDP;
	t.ipopts = 0;
	t.frag = 0x2000;
	blen[1] = tpkt_build(base[1], sizeof(base[1]), &t);
	blen[2] = build_tcp6_ext(base[2], sizeof(base[2]), ext, 3, 0);
	blen[3] = build_tcp6_ext(base[3], sizeof(base[3]), ext, 4, 1);
	for (iter = 0; iter < 100000; iter++) {
		k = iter % 4;
		memcpy(buf, base[k], blen[k]);
		len = blen[k];
		for (n = 1 + unit_rand(&seed) % 4; n > 0; n--)
			buf[unit_rand(&seed) % len] = (uint8_t)unit_rand(&seed);
		if (unit_rand(&seed) & 1)
			len = unit_rand(&seed) % (len + 1);
		check_sane(buf, len, iter);
	}
}
END_TEST

Suite *
pkt_suite(void)
{
	Suite	*s = suite_create("pkt");
	TCase	*tc;

	tc = tcase_create("valid");
	tcase_add_loop_test(tc, test_valid, 0,
	    (int)(sizeof(valid) / sizeof(valid[0])));
	tcase_add_test(tc, test_other_proto);
	tcase_add_test(tc, test_trailing_bytes);
	tcase_add_loop_test(tc, test_ipv4_options, 6, 16);
	tcase_add_test(tc, test_strerror);
	suite_add_tcase(s, tc);

	tc = tcase_create("refused");
	tcase_add_loop_test(tc, test_truncated, 0,
	    (int)(sizeof(trunc_kinds) / sizeof(trunc_kinds[0])));
	tcase_add_test(tc, test_bad_version);
	tcase_add_loop_test(tc, test_ihl_below_5, 0, 5);
	tcase_add_test(tc, test_total_length);
	tcase_add_test(tc, test_ipv6_payload_length);
	tcase_add_test(tc, test_tcp_data_offset);
	tcase_add_test(tc, test_udp_length);
	tcase_add_test(tc, test_largest_datagrams);
	suite_add_tcase(s, tc);

	tc = tcase_create("fragments");
	tcase_add_loop_test(tc, test_ipv4_fragments, 0,
	    (int)(sizeof(frags4) / sizeof(frags4[0])));
	tcase_add_test(tc, test_ipv4_first_fragment_udp);
	tcase_add_loop_test(tc, test_ipv6_fragments, 0,
	    (int)(sizeof(frags6) / sizeof(frags6[0])));
	suite_add_tcase(s, tc);

	tc = tcase_create("ipv6_exthdr");
	tcase_add_test(tc, test_ipv6_exthdr);
	tcase_add_test(tc, test_ipv6_exthdr_overrun);
	tcase_add_loop_test(tc, test_ipv6_exthdr_chain, 1, 21);
	suite_add_tcase(s, tc);

	tc = tcase_create("robustness");
	tcase_set_timeout(tc, UNIT_SLOW_TIMEOUT);
	tcase_add_test(tc, test_random_buffers);
	tcase_add_test(tc, test_random_mutations);
	suite_add_tcase(s, tc);
	return (s);
}
