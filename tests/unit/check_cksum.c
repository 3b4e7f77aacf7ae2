/*
 * Checksums: cksum_add() against a byte-by-byte RFC 1071 reference, and
 * the property that matters to a NAT: after loadd rewrites an address
 * and a port, every checksum in the packet is bit for bit what a full
 * recomputation gives.  A checksum that is merely "valid" is not enough:
 * UDP must never emit 0x0000 for a computed zero, and TCP must never
 * emit 0xffff for it.
 *
 * This file also holds the reference checksums the other suites use.
 */
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cksum.h"
#include "config.h"
#include "engine.h"
#include "pkt.h"
#include "unit.h"

/* Random packets per family and protocol. */
#define NRANDOM		6000

struct rig {
	struct config	 conf;
	struct engine	 e;
};

static void	 rig_init(struct rig *, const char *);
static void	 rig_free(struct rig *);
static unsigned	 cksum_off(uint8_t);
static uint16_t	 mem16(uint16_t);
static void	 random_addr(uint32_t *, int, union addr *);
static size_t	 random_packet(uint8_t *, size_t, uint32_t *, int, uint8_t,
		    const union addr *, uint16_t, const union addr *, uint16_t);
static void	 set_addr_port(uint8_t *, int, const union addr *, uint16_t);
static void	 expect_rewrite(uint8_t *, unsigned, int, const union addr *,
		    uint16_t);
static void	 nat_direct(uint8_t *, int, const union addr *, uint16_t);
static void	 assert_same_packet(const uint8_t *, const uint8_t *, size_t,
		    uint32_t);

/* The reference checksums, shared with the other suites. */

uint16_t
ref_cksum(const uint8_t *b, size_t len)
{
	uint64_t	 sum = 0;
	size_t		 i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)b[i] << 8 | b[i + 1];
	if (len & 1)
		sum += (uint32_t)b[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ((uint16_t)~sum);
}

static unsigned
cksum_off(uint8_t proto)
{
	switch (proto) {
	case PROTO_TCP:
		return (16);
	case PROTO_UDP:
		return (6);
	default:
		return (2);	/* ICMP and ICMPv6 */
	}
}

uint16_t
ref_l4_cksum(const uint8_t *ip, unsigned l3len, unsigned len, uint8_t proto)
{
	uint8_t		*tmp;
	unsigned	 l4len = len - l3len, ph = 0;
	uint16_t	 ck;

	tmp = malloc(40 + l4len);
	ck_assert_ptr_nonnull(tmp);
	if (proto == PROTO_ICMP)
		ph = 0;		/* ICMPv4 has no pseudo-header */
	else if ((ip[0] >> 4) == 4) {
		memcpy(tmp, ip + 12, 8);
		tmp[8] = 0;
		tmp[9] = proto;
		put_be16(tmp + 10, (uint16_t)l4len);
		ph = 12;
	} else {
		memcpy(tmp, ip + 8, 32);
		put_be16(tmp + 32, (uint16_t)(l4len >> 16));
		put_be16(tmp + 34, (uint16_t)l4len);
		put_be16(tmp + 36, 0);
		tmp[38] = 0;
		tmp[39] = proto;
		ph = 40;
	}
	memcpy(tmp + ph, ip + l3len, l4len);
	put_be16(tmp + ph + cksum_off(proto), 0);
	ck = ref_cksum(tmp, ph + l4len);
	free(tmp);
	return (ck);
}

int
ref_cksums_ok(const uint8_t *ip, unsigned len, char *why, size_t whylen)
{
	uint8_t		 hdr[60], proto;
	unsigned	 l3len, hl;
	uint16_t	 want, have;

	if ((ip[0] >> 4) == 4) {
		hl = (ip[0] & 0x0f) * 4u;
		memcpy(hdr, ip, hl);
		put_be16(hdr + 10, 0);
		want = ref_cksum(hdr, hl);
		have = get_be16(ip + 10);
		if (want != have) {
			snprintf(why, whylen, "IP header checksum 0x%04x, "
			    "full recompute 0x%04x", have, want);
			return (0);
		}
		if (get_be16(ip + 6) & 0x3fff)
			return (1);	/* a fragment: no whole segment */
	}
	l3len = tpkt_l3len(ip, &proto);
	if (proto != PROTO_TCP && proto != PROTO_UDP && proto != PROTO_ICMP &&
	    proto != PROTO_ICMPV6)
		return (1);
	have = get_be16(ip + l3len + cksum_off(proto));
	want = ref_l4_cksum(ip, l3len, len, proto);
	if (proto == PROTO_UDP) {
		if (have == 0 && (ip[0] >> 4) == 4)
			return (1);	/* no checksum: allowed in IPv4 */
		if (want == 0)
			want = 0xffff;
	}
	if (want != have) {
		snprintf(why, whylen, "proto %u checksum 0x%04x, full "
		    "recompute 0x%04x", proto, have, want);
		return (0);
	}
	return (1);
}

/* Helpers. */

static void
rig_init(struct rig *r, const char *text)
{
	conf_load_text(&r->conf, text);
	ck_assert_int_eq(engine_init(&r->e, &r->conf.pool, r->conf.maxflows,
	    r->conf.timeout, 0x5eed), 0);
}

static void
rig_free(struct rig *r)
{
	engine_free(&r->e);
	config_free(&r->conf);
}

/* A big-endian value as cksum.h sees it: the two bytes in memory order. */
static uint16_t
mem16(uint16_t v)
{
	uint8_t		 b[2];
	uint16_t	 m;

	put_be16(b, v);
	memcpy(&m, b, 2);
	return (m);
}

/*
 * A random address, with 16-bit halves of all zeros or all ones now and
 * then: those are where one's complement arithmetic has its two zeros.
 */
static void
random_addr(uint32_t *seed, int family, union addr *a)
{
	unsigned	 i, n = family == 4 ? 2 : 8;
	uint32_t	 r;

	memset(a, 0, sizeof(*a));
	for (i = 0; i < n; i++) {
		r = unit_rand(seed);
		switch (r % 8) {
		case 0:
			put_be16(a->b + 2 * i, 0);
			break;
		case 1:
			put_be16(a->b + 2 * i, 0xffff);
			break;
		default:
			put_be16(a->b + 2 * i, (uint16_t)(r >> 8));
			break;
		}
	}
	/* Never a documentation prefix, so never the test's VIPs. */
	if (a->b[0] == 192 || a->b[0] == 0x20)
		a->b[0] ^= 0x40;
}

static size_t
random_packet(uint8_t *buf, size_t size, uint32_t *seed, int family,
    uint8_t proto, const union addr *src, uint16_t sport,
    const union addr *dst, uint16_t dport)
{
	static const uint8_t ext[] = { 0, 60, 43 };
	uint8_t		 pay[1500];
	uint8_t		 l4proto;
	unsigned	 i, l3len;
	uint32_t	 r = unit_rand(seed);
	struct tpkt	 t = {
		.family = family, .proto = proto, .sport = sport,
		.dport = dport, .tcpflags = TH_SYN, .payload = pay,
	};
	size_t		 len;

	t.src = family == 4 ? "0.0.0.1" : "::1";
	t.dst = t.src;
	/* Payload of any length, odd ones included, sometimes all ones. */
	t.paylen = unit_rand(seed) % sizeof(pay);
	for (i = 0; i < t.paylen; i++)
		pay[i] = (r & 0x100) ? 0xff : (uint8_t)unit_rand(seed);
	if (family == 4 && (r & 3) == 0)
		t.ipopts = 4 * ((r >> 2) % 11);
	if (family == 6 && (r & 3) == 0) {
		t.ext = ext;
		t.next = 1 + (r >> 2) % 3;
	}
	if (proto == PROTO_TCP && (r & 0x200))
		t.tcpflags = TH_ACK | ((r & 0x400) ? TH_PUSH : 0);
	len = tpkt_build(buf, size, &t);
	ck_assert_uint_ne(len, 0);
	memcpy(buf + (family == 4 ? 12 : 8), src->b, family == 4 ? 4 : 16);
	memcpy(buf + (family == 4 ? 16 : 24), dst->b, family == 4 ? 4 : 16);
	l3len = tpkt_l3len(buf, &l4proto);
	tpkt_set_cksums(buf, l3len, (unsigned)len, proto);
	return (len);
}

/* Writes an address and port, destination (dst) or source, no checksums. */
static void
set_addr_port(uint8_t *ip, int dst, const union addr *a, uint16_t port)
{
	uint8_t		 proto;
	unsigned	 l3len = tpkt_l3len(ip, &proto);

	if ((ip[0] >> 4) == 4)
		memcpy(ip + (dst ? 16 : 12), a->b, 4);
	else
		memcpy(ip + (dst ? 24 : 8), a->b, 16);
	put_be16(ip + l3len + (dst ? 2 : 0), port);
}

/* What a correct rewrite gives: new fields, checksums computed in full. */
static void
expect_rewrite(uint8_t *ip, unsigned len, int dst, const union addr *a,
    uint16_t port)
{
	uint8_t		 proto;
	unsigned	 l3len = tpkt_l3len(ip, &proto);
	int		 noudpck;

	noudpck = proto == PROTO_UDP && (ip[0] >> 4) == 4 &&
	    get_be16(ip + l3len + 6) == 0;
	set_addr_port(ip, dst, a, port);
	tpkt_set_cksums(ip, l3len, len, proto);
	if (noudpck)
		put_be16(ip + l3len + 6, 0);
}

/*
 * The rewrite done with the cksum.h primitives alone, as a NAT would:
 * RFC 1624 updates for the address words and the port.
 */
static void
nat_direct(uint8_t *ip, int dst, const union addr *na, uint16_t port)
{
	uint8_t		 proto;
	unsigned	 l3len = tpkt_l3len(ip, &proto), aoff, nw;
	uint32_t	 old[4];
	uint16_t	 ipck, ck, oport, nport = mem16(port);
	uint8_t		*l4 = ip + l3len;

	nw = (ip[0] >> 4) == 4 ? 1 : 4;
	aoff = nw == 1 ? (dst ? 16 : 12) : (dst ? 24 : 8);
	memcpy(old, ip + aoff, 4 * nw);
	if (nw == 1) {
		memcpy(&ipck, ip + 10, 2);
		ipck = cksum_update32(ipck, old[0], na->w[0]);
		memcpy(ip + 10, &ipck, 2);
	}
	memcpy(ip + aoff, na->w, 4 * nw);
	memcpy(&oport, l4 + (dst ? 2 : 0), 2);
	memcpy(l4 + (dst ? 2 : 0), &nport, 2);
	memcpy(&ck, l4 + cksum_off(proto), 2);
	if (proto == PROTO_UDP && nw == 1 && ck == 0)
		return;
	ck = cksum_update_words(ck, old, na->w, nw);
	ck = cksum_update16(ck, oport, nport);
	if (proto == PROTO_UDP && ck == 0)
		ck = 0xffff;
	memcpy(l4 + cksum_off(proto), &ck, 2);
}

static void
assert_same_packet(const uint8_t *got, const uint8_t *want, size_t len,
    uint32_t iter)
{
	char	 why[128];

	if (memcmp(got, want, len) == 0)
		return;
	if (!ref_cksums_ok(got, (unsigned)len, why, sizeof(why)))
		ck_abort_msg("packet %u: %s", iter, why);
	ck_abort_msg("packet %u: rewritten bytes differ from the expected "
	    "packet", iter);
}

/* cksum_add and cksum_finish against the reference. */

START_TEST(test_add_reference)
{
	uint8_t		 buf[208];
	uint32_t	 seed = 0xc5c5c5c5u;
	unsigned	 len, align, rep, i;
	uint16_t	 got;

	for (len = 0; len <= 200; len++)
		for (align = 0; align < 4; align++)
			for (rep = 0; rep < 8; rep++) {
				for (i = 0; i < len; i++)
					buf[align + i] = rep == 0 ? 0xff :
					    rep == 1 ? 0 :
					    (uint8_t)unit_rand(&seed);
				got = cksum_finish(cksum_add(0, buf + align,
				    len));
				ck_assert_msg(got == mem16(ref_cksum(buf +
				    align, len)), "length %u, offset %u, "
				    "pattern %u: 0x%04x, expected 0x%04x", len,
				    align, rep, ntohs(got),
				    ref_cksum(buf + align, len));
			}
}
END_TEST

/* A running sum may be continued at any even offset. */
START_TEST(test_add_chained)
{
	uint8_t		 buf[200];
	uint32_t	 seed = 0x01020304u, sum;
	unsigned	 len, cut, i;

	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)unit_rand(&seed);
	for (len = 0; len <= sizeof(buf); len++)
		for (cut = 0; cut <= len; cut += 2) {
			sum = cksum_add(0, buf, cut);
			sum = cksum_add(sum, buf + cut, len - cut);
			ck_assert_uint_eq(cksum_finish(sum),
			    mem16(ref_cksum(buf, len)));
		}
}
END_TEST

/* Enough ones to carry many times over in every accumulator width. */
START_TEST(test_add_large)
{
	uint8_t		*buf;
	size_t		 len = 65575, i;
	uint32_t	 seed = 7;

	buf = malloc(len);
	ck_assert_ptr_nonnull(buf);
	memset(buf, 0xff, len);
	ck_assert_uint_eq(cksum_finish(cksum_add(0, buf, len)),
	    mem16(ref_cksum(buf, len)));
	/* A running sum of all ones is four bytes of 0xff before buf. */
	ck_assert_uint_eq(cksum_finish(cksum_add(0xffffffffu, buf + 4,
	    len - 4)), mem16(ref_cksum(buf, len)));
	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)unit_rand(&seed);
	ck_assert_uint_eq(cksum_finish(cksum_add(0, buf, len)),
	    mem16(ref_cksum(buf, len)));
	free(buf);
}
END_TEST

START_TEST(test_pseudo)
{
	uint8_t		 ph[40], src[16], dst[16];
	uint32_t	 seed = 99;
	unsigned	 i, rep;
	uint32_t	 l4len;
	uint8_t		 proto;

	for (rep = 0; rep < 2000; rep++) {
		for (i = 0; i < 16; i++) {
			src[i] = (uint8_t)unit_rand(&seed);
			dst[i] = (uint8_t)unit_rand(&seed);
		}
		proto = rep & 1 ? PROTO_TCP : PROTO_UDP;
		l4len = unit_rand(&seed) % 65536;
		memcpy(ph, src, 4);
		memcpy(ph + 4, dst, 4);
		ph[8] = 0;
		ph[9] = proto;
		put_be16(ph + 10, (uint16_t)l4len);
		ck_assert_uint_eq(cksum_finish(cksum_pseudo(4, src, dst, proto,
		    l4len)), mem16(ref_cksum(ph, 12)));
		memcpy(ph, src, 16);
		memcpy(ph + 16, dst, 16);
		put_be16(ph + 32, (uint16_t)(l4len >> 16));
		put_be16(ph + 34, (uint16_t)l4len);
		memset(ph + 36, 0, 3);
		ph[39] = proto;
		ck_assert_uint_eq(cksum_finish(cksum_pseudo(6, src, dst, proto,
		    l4len)), mem16(ref_cksum(ph, 40)));
	}
}
END_TEST

/*
 * RFC 1624 equation 3 gives the full recomputation's answer, 0x0000
 * and 0xffff included, whatever word changes to whatever value.
 */
START_TEST(test_update_equals_recompute)
{
	static const uint16_t edge[] = { 0x0000, 0xffff, 0x0001, 0xfffe };
	uint8_t		 buf[64];
	uint32_t	 seed = 0xabcdef01u, m32, n32;
	unsigned	 rep, len, i, coff, woff;
	uint16_t	 hc, m, n;

	for (rep = 0; rep < 50000; rep++) {
		len = 8 + 4 * (unit_rand(&seed) % 14);
		for (i = 0; i < len; i++)
			buf[i] = (rep & 8) ? 0 : (uint8_t)unit_rand(&seed);
		/* Never all zero: that is where the two zeros differ. */
		buf[0] = 0x45;
		coff = 2;
		woff = 4 + 4 * (unit_rand(&seed) % ((len - 4) / 4));
		for (i = woff; i < woff + 4; i += 2)
			if (unit_rand(&seed) & 1)
				put_be16(buf + i, edge[unit_rand(&seed) % 4]);
		put_be16(buf + coff, 0);
		put_be16(buf + coff, ref_cksum(buf, len));

		memcpy(&hc, buf + coff, 2);
		if (rep & 1) {
			memcpy(&m, buf + woff, 2);
			n = (rep & 2) ? mem16(edge[unit_rand(&seed) % 4]) :
			    (uint16_t)unit_rand(&seed);
			memcpy(buf + woff, &n, 2);
			hc = cksum_update16(hc, m, n);
		} else {
			memcpy(&m32, buf + woff, 4);
			if (rep & 2)
				n32 = (rep & 4) ? 0x0000ffffu : 0xffff0000u;
			else
				n32 = unit_rand(&seed);
			memcpy(buf + woff, &n32, 4);
			hc = (rep & 4) ? cksum_update32(hc, m32, n32) :
			    cksum_update_words(hc, &m32, &n32, 1);
		}
		put_be16(buf + coff, 0);
		ck_assert_msg(hc == mem16(ref_cksum(buf, len)), "round %u: "
		    "incremental 0x%04x, full 0x%04x", rep, ntohs(hc),
		    ref_cksum(buf, len));
	}
}
END_TEST

/* The same on whole packets, NAT style, with the primitives alone. */
START_TEST(test_update_packets)
{
	uint8_t		 buf[1600], want[1600];
	uint32_t	 seed = 0x51515151u + (uint32_t)_i, iter;
	union addr	 a, b, na;
	size_t		 len;
	int		 family = _i & 1 ? 6 : 4, dst;
	uint8_t		 proto = _i & 2 ? PROTO_UDP : PROTO_TCP, l4proto;
	uint16_t	 nport;

	for (iter = 0; iter < NRANDOM; iter++) {
		random_addr(&seed, family, &a);
		random_addr(&seed, family, &b);
		random_addr(&seed, family, &na);
		len = random_packet(buf, sizeof(buf), &seed, family, proto,
		    &a, (uint16_t)unit_rand(&seed), &b,
		    (uint16_t)unit_rand(&seed));
		if (proto == PROTO_UDP && family == 4 && iter % 16 == 0)
			put_be16(buf + tpkt_l3len(buf, &l4proto) + 6, 0);
		dst = iter & 1;
		nport = (uint16_t)unit_rand(&seed);
		memcpy(want, buf, len);
		expect_rewrite(want, (unsigned)len, dst, &na, nport);
		nat_direct(buf, dst, &na, nport);
		assert_same_packet(buf, want, len, iter);
	}
}
END_TEST

/*
 * Through the engine: new flows to the VIP, and replies from the
 * servers, each packet compared byte for byte with the expected one.
 */

static const struct {
	int		 family;
	uint8_t		 proto;
	const char	*conf;
	const char	*vip;
	uint16_t	 port;
} rigs[] = {
	{ 4, PROTO_TCP,
	    "ipaliasing = 192.0.2.10\nports = 80\nmaxflows = 20000\n"
	    "servers = 10.0.1.11, 10.0.1.12:8080, 255.255.0.0:65535, "
	    "0.0.255.255:1\n", "192.0.2.10", 80 },
	{ 4, PROTO_UDP,
	    "ipaliasing = 192.0.2.10\nports = 53\nprotocol = udp\n"
	    "maxflows = 20000\n"
	    "servers = 10.0.1.11, 10.0.1.12:5353, 255.255.0.0:65535, "
	    "0.0.255.255:1\n", "192.0.2.10", 53 },
	{ 6, PROTO_TCP,
	    "ipaliasing = 2001:db8::10\nports = 443\nmaxflows = 20000\n"
	    "servers = 2001:db8:1::11, [2001:db8:1::12]:8443, "
	    "[ffff::ffff:0:ffff:0]:65535\n", "2001:db8::10", 443 },
	{ 6, PROTO_UDP,
	    "ipaliasing = 2001:db8::10\nports = 53\nprotocol = udp\n"
	    "maxflows = 20000\n"
	    "servers = 2001:db8:1::11, [2001:db8:1::12]:5353, "
	    "[ffff::ffff:0:ffff:0]:65535\n", "2001:db8::10", 53 },
};

START_TEST(test_engine_rewrite)
{
	struct rig	 r;
	struct pktbuf	 pb;
	struct server	*srv;
	uint8_t		 buf[1600], want[1600];
	uint32_t	 seed = 0x0e0e0e0eu + (uint32_t)_i, iter;
	union addr	 vip, client, sa;
	size_t		 len;
	int		 family = rigs[_i].family, inbound;
	uint8_t		 proto = rigs[_i].proto, l4proto;
	unsigned	 l3len;
	uint16_t	 cport, port;

	rig_init(&r, rigs[_i].conf);
	memset(&vip, 0, sizeof(vip));
	ck_assert_int_eq(inet_pton(family == 4 ? AF_INET : AF_INET6,
	    rigs[_i].vip, vip.b), 1);
	for (iter = 0; iter < NRANDOM; iter++) {
		random_addr(&seed, family, &client);
		cport = (uint16_t)unit_rand(&seed);
		inbound = iter & 1;
		if (inbound)
			len = random_packet(buf, sizeof(buf), &seed, family,
			    proto, &client, cport, &vip, rigs[_i].port);
		else {
			srv = &r.conf.pool.srv[unit_rand(&seed) %
			    r.conf.pool.nsrv];
			len = random_packet(buf, sizeof(buf), &seed, family,
			    proto, &srv->addr, srv->port, &client, cport);
		}
		l3len = tpkt_l3len(buf, &l4proto);
		if (proto == PROTO_TCP && inbound)
			buf[l3len + 13] = TH_SYN;	/* a new flow */
		tpkt_set_cksums(buf, l3len, (unsigned)len, proto);
		if (proto == PROTO_UDP && family == 4 && iter % 16 == 0)
			put_be16(buf + l3len + 6, 0);
		memcpy(want, buf, len);

		memset(&pb, 0, sizeof(pb));
		pb.data = buf;
		pb.len = (uint32_t)len;
		engine_process(&r.e, &pb, 1000 + iter / 100);
		ck_assert_msg(pb.verdict == V_REWRITTEN, "packet %u: verdict "
		    "%u", iter, pb.verdict);
		if (inbound) {
			/* Whichever server it chose, it must be one. */
			memset(&sa, 0, sizeof(sa));
			memcpy(sa.b, buf + (family == 4 ? 16 : 24),
			    family == 4 ? 4 : 16);
			port = get_be16(buf + l3len + 2);
			ck_assert_ptr_nonnull(pool_find_server(&r.conf.pool,
			    (uint8_t)family, proto, &sa, htons(port)));
			expect_rewrite(want, (unsigned)len, 1, &sa, port);
		} else
			expect_rewrite(want, (unsigned)len, 0, &vip,
			    rigs[_i].port);
		assert_same_packet(buf, want, len, iter);
	}
	ck_assert_uint_eq(r.e.st.rewritten, NRANDOM);
	rig_free(&r);
}
END_TEST

/* A UDP/IPv4 datagram sent without a checksum keeps none. */
START_TEST(test_udp_zero_stays_zero)
{
	struct rig	 r;
	struct pktbuf	 pb;
	uint8_t		 buf[256];
	char		 why[128];
	size_t		 len;
	int		 dir;
	struct tpkt	 t = {
		.family = 4, .proto = PROTO_UDP, .src = "198.51.100.7",
		.dst = "192.0.2.10", .sport = 40000, .dport = 53,
		.paylen = 33,
	};

	rig_init(&r, rigs[1].conf);
	for (dir = 0; dir < 2; dir++) {
		len = tpkt_build(buf, sizeof(buf), &t);
		put_be16(buf + 26, 0);
		memset(&pb, 0, sizeof(pb));
		pb.data = buf;
		pb.len = (uint32_t)len;
		pb.flags = dir ? PB_CSUM_PARTIAL : 0;
		engine_process(&r.e, &pb, 1);
		ck_assert_uint_eq(pb.verdict, V_REWRITTEN);
		ck_assert_uint_eq(get_be16(buf + 26), 0);
		ck_assert_msg(ref_cksums_ok(buf, (unsigned)len, why,
		    sizeof(why)), "%s", why);
		t.sport++;
	}
	/* And the reply from the server. */
	t.src = "10.0.1.11";
	t.dst = "198.51.100.7";
	t.sport = 53;
	t.dport = 40000;
	len = tpkt_build(buf, sizeof(buf), &t);
	put_be16(buf + 26, 0);
	memset(&pb, 0, sizeof(pb));
	pb.data = buf;
	pb.len = (uint32_t)len;
	engine_process(&r.e, &pb, 2);
	ck_assert_uint_eq(pb.verdict, V_REWRITTEN);
	ck_assert_uint_eq(get_be16(buf + 26), 0);
	ck_assert_uint_eq(get_be16(buf + 20), 53);
	rig_free(&r);
}
END_TEST

/*
 * A rewrite whose full recomputation is 0x0000.  The first payload word
 * is chosen to make it so: with that word 0 the rewritten segment sums
 * to ~C, so the word C brings the sum to 0xffff and the checksum to 0.
 * UDP must then carry 0xffff (RFC 768), TCP must carry 0x0000.
 *
 * _i: bit 0 UDP, bit 1 partial checksum, bit 2 reply direction,
 * bit 3 IPv6.
 */
START_TEST(test_computed_zero)
{
	struct rig	 r;
	struct pktbuf	 pb;
	uint8_t		 buf[256], copy[256], pay[40], proto;
	size_t		 len;
	unsigned	 l3len, coff;
	int		 udp = _i & 1, partial = _i & 2, reply = _i & 4;
	int		 v6 = _i & 8;
	struct server	*srv;
	union addr	 vip;
	uint16_t	 c, want;
	struct tpkt	 t = {
		.family = v6 ? 6 : 4, .proto = udp ? PROTO_UDP : PROTO_TCP,
		.tcpflags = TH_SYN, .paylen = sizeof(pay), .payload = pay,
	};

	rig_init(&r, rigs[(v6 ? 2 : 0) + (udp ? 1 : 0)].conf);
	/* A fresh round-robin gives the first server. */
	srv = &r.conf.pool.srv[0];
	vip = r.conf.pool.svc[0].vip;
	memset(pay, 0x5a, sizeof(pay));
	pay[0] = pay[1] = 0;
	t.src = v6 ? "2001:db8:ffff::7" : "198.51.100.7";
	t.dst = v6 ? "2001:db8::10" : "192.0.2.10";
	t.sport = 40000;
	t.dport = r.conf.pool.svc[0].port;
	if (reply) {
		t.src = v6 ? "2001:db8:1::11" : "10.0.1.11";
		t.dst = v6 ? "2001:db8:ffff::7" : "198.51.100.7";
		t.sport = srv->port;
		t.dport = 40000;
		t.tcpflags = TH_SYN | TH_ACK;
	}
	len = tpkt_build(buf, sizeof(buf), &t);
	l3len = tpkt_l3len(buf, &proto);
	coff = l3len + (udp ? 6 : 16);

	/* What the rewritten packet sums to with the word at 0. */
	memcpy(copy, buf, len);
	if (reply)
		set_addr_port(copy, 0, &vip, r.conf.pool.svc[0].port);
	else
		set_addr_port(copy, 1, &srv->addr, srv->port);
	c = ref_l4_cksum(copy, l3len, (unsigned)len, t.proto);
	put_be16(pay, c);
	len = tpkt_build(buf, sizeof(buf), &t);
	memcpy(copy + l3len + (udp ? 8 : 20), pay, 2);
	ck_assert_uint_eq(ref_l4_cksum(copy, l3len, (unsigned)len, t.proto),
	    0);

	if (partial)
		put_be16(buf + coff, 0x1234);
	memset(&pb, 0, sizeof(pb));
	pb.data = buf;
	pb.len = (uint32_t)len;
	pb.flags = partial ? PB_CSUM_PARTIAL : 0;
	engine_process(&r.e, &pb, 1);
	ck_assert_uint_eq(pb.verdict, V_REWRITTEN);
	if (!reply)
		ck_assert_mem_eq(buf + (v6 ? 24 : 16), srv->addr.b,
		    v6 ? 16 : 4);
	want = udp ? 0xffff : 0x0000;
	ck_assert_msg(get_be16(buf + coff) == want, "%s%s %s: checksum "
	    "0x%04x, expected 0x%04x", udp ? "UDP" : "TCP", v6 ? "/IPv6" : "",
	    reply ? "reply" : "new flow", get_be16(buf + coff), want);
	rig_free(&r);
}
END_TEST

/*
 * A packet whose transport checksum the kernel left partial (offload)
 * carries no meaningful checksum; the engine must write the full one.
 */
START_TEST(test_partial)
{
	struct rig	 r;
	struct pktbuf	 pb;
	uint8_t		 buf[1600], l4proto;
	uint32_t	 seed = 0x9a9a9a9au + (uint32_t)_i, iter;
	union addr	 vip, client;
	struct server	*srv;
	size_t		 len;
	unsigned	 l3len, coff;
	int		 family = rigs[_i].family;
	uint8_t		 proto = rigs[_i].proto;
	char		 why[128];
	uint16_t	 garbage;

	rig_init(&r, rigs[_i].conf);
	memset(&vip, 0, sizeof(vip));
	ck_assert_int_eq(inet_pton(family == 4 ? AF_INET : AF_INET6,
	    rigs[_i].vip, vip.b), 1);
	for (iter = 0; iter < 1000; iter++) {
		random_addr(&seed, family, &client);
		if (iter & 1)
			len = random_packet(buf, sizeof(buf), &seed, family,
			    proto, &client, (uint16_t)(iter + 1), &vip,
			    rigs[_i].port);
		else {
			srv = &r.conf.pool.srv[iter % r.conf.pool.nsrv];
			len = random_packet(buf, sizeof(buf), &seed, family,
			    proto, &srv->addr, srv->port, &client, 1234);
		}
		l3len = tpkt_l3len(buf, &l4proto);
		if (proto == PROTO_TCP && (iter & 1)) {
			buf[l3len + 13] = TH_SYN;
			tpkt_set_cksums(buf, l3len, (unsigned)len, proto);
		}
		/* Anything but 0, which UDP/IPv4 reads as "no checksum". */
		coff = l3len + (proto == PROTO_TCP ? 16 : 6);
		garbage = (uint16_t)(1 + unit_rand(&seed) % 0xfffe);
		put_be16(buf + coff, garbage);
		memset(&pb, 0, sizeof(pb));
		pb.data = buf;
		pb.len = (uint32_t)len;
		pb.flags = PB_CSUM_PARTIAL;
		engine_process(&r.e, &pb, 1);
		ck_assert_uint_eq(pb.verdict, V_REWRITTEN);
		ck_assert_msg(ref_cksums_ok(buf, (unsigned)len, why,
		    sizeof(why)), "packet %u: %s", iter, why);
	}
	ck_assert_uint_eq(r.e.st.csum_partial, 1000);
	rig_free(&r);
}
END_TEST

Suite *
cksum_suite(void)
{
	Suite	*s = suite_create("cksum");
	TCase	*tc;

	tc = tcase_create("sum");
	tcase_set_timeout(tc, UNIT_SLOW_TIMEOUT);
	tcase_add_test(tc, test_add_reference);
	tcase_add_test(tc, test_add_chained);
	tcase_add_test(tc, test_add_large);
	tcase_add_test(tc, test_pseudo);
	suite_add_tcase(s, tc);

	tc = tcase_create("update");
	tcase_set_timeout(tc, UNIT_SLOW_TIMEOUT);
	tcase_add_test(tc, test_update_equals_recompute);
	tcase_add_loop_test(tc, test_update_packets, 0, 4);
	suite_add_tcase(s, tc);

	tc = tcase_create("engine");
	tcase_set_timeout(tc, UNIT_SLOW_TIMEOUT);
	tcase_add_loop_test(tc, test_engine_rewrite, 0,
	    (int)(sizeof(rigs) / sizeof(rigs[0])));
	tcase_add_test(tc, test_udp_zero_stays_zero);
	tcase_add_loop_test(tc, test_computed_zero, 0, 16);
	tcase_add_loop_test(tc, test_partial, 0,
	    (int)(sizeof(rigs) / sizeof(rigs[0])));
	suite_add_tcase(s, tc);
	return (s);
}
