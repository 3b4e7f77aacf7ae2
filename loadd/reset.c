/*
 * Resets for mid-stream TCP packets that belong to no known flow (after a
 * restart, or a flow another balancer saw), when the configuration says
 * "unknown_flow = reset": the client learns at once that its connection
 * is gone instead of retrying into silence.
 *
 * The reset replaces the offending packet in the same buffer, so it leaves
 * with that packet's verdict: NFQUEUE accepts a shorter payload, and
 * routing sends it back to the client.  libnet builds it, with its
 * protocol tags reused so that the headers are not allocated again; the
 * assembly still allocates one buffer per reset, which the rate limit
 * bounds (a token bucket, so that a flood of stray ACKs cannot be turned
 * into a flood of resets).
 */
#include <sys/types.h>

#include <arpa/inet.h>
#include <libnet.h>
#include <stdlib.h>
#include <string.h>

#include "byteorder.h"
#include "pkt.h"
#include "reset.h"

struct resetter {
	libnet_t	*l4, *l6;	/* TCP resets */
	libnet_t	*li4, *li6;	/* ICMP unreachables */
	libnet_ptag_t	 tcp4, ip4, tcp6, ip6;
	libnet_ptag_t	 icmp4, iip4, icmp6, iip6;
	uint32_t	 rate;		/* resets per second, and the burst */
	uint32_t	 tokens;
	uint32_t	 last;
};

struct resetter *
reset_new(uint32_t rate)
{
	struct resetter	*r;
	char		 errbuf[LIBNET_ERRBUF_SIZE];

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return (NULL);
	r->l4 = libnet_init(LIBNET_NONE, NULL, errbuf);
	r->l6 = libnet_init(LIBNET_NONE, NULL, errbuf);
	r->li4 = libnet_init(LIBNET_NONE, NULL, errbuf);
	r->li6 = libnet_init(LIBNET_NONE, NULL, errbuf);
	if (r->l4 == NULL || r->l6 == NULL || r->li4 == NULL ||
	    r->li6 == NULL) {
		reset_free(r);
		return (NULL);
	}
	r->rate = r->tokens = rate;
	return (r);
}

void
reset_free(struct resetter *r)
{
	if (r == NULL)
		return;
	if (r->l4 != NULL)
		libnet_destroy(r->l4);
	if (r->l6 != NULL)
		libnet_destroy(r->l6);
	if (r->li4 != NULL)
		libnet_destroy(r->li4);
	if (r->li6 != NULL)
		libnet_destroy(r->li6);
	free(r);
}

/* One token, if the bucket has one left this second. */
int
reset_allow(struct resetter *r, uint32_t now)
{
	if (now != r->last) {
		r->tokens = r->rate;
		r->last = now;
	}
	if (r->tokens == 0)
		return (0);
	r->tokens--;
	return (1);
}

/* Hands over what libnet assembled, if it fits. */
static size_t
assemble(libnet_t *l, uint8_t *buf, size_t cap)
{
	uint8_t		*out;
	uint32_t	 n;

	/*
	 * libnet 1.1.6 hands out assembled packets only in link-layer
	 * advanced mode, which needs a device; the assembly itself is
	 * exported and works on a build-only context.
	 */
	if (libnet_pblock_coalesce(l, &out, &n) == -1)
		return (0);
	if (n > cap) {
		libnet_adv_free_packet(l, out);
		return (0);
	}
	memcpy(buf, out, n);
	libnet_adv_free_packet(l, out);
	return (n);
}

size_t
reset_build(struct resetter *r, uint8_t *buf, size_t cap, int family,
    const union addr *src, uint16_t sport, const union addr *dst,
    uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags)
{
	struct libnet_in6_addr s6, d6;
	libnet_t	*l;

	if (family == 4) {
		l = r->l4;
		r->tcp4 = libnet_build_tcp(sport, dport, seq, ack, flags, 0, 0,
		    0, LIBNET_TCP_H, NULL, 0, l, r->tcp4);
		r->ip4 = libnet_build_ipv4(LIBNET_IPV4_H + LIBNET_TCP_H, 0, 0,
		    0x4000, 64, IPPROTO_TCP, 0, src->w[0], dst->w[0], NULL,
		    0, l, r->ip4);
		if (r->tcp4 == -1 || r->ip4 == -1)
			return (0);
	} else {
		l = r->l6;
		memcpy(&s6, src->b, 16);
		memcpy(&d6, dst->b, 16);
		r->tcp6 = libnet_build_tcp(sport, dport, seq, ack, flags, 0, 0,
		    0, LIBNET_TCP_H, NULL, 0, l, r->tcp6);
		r->ip6 = libnet_build_ipv6(0, 0, LIBNET_TCP_H, IPPROTO_TCP, 64,
		    s6, d6, NULL, 0, l, r->ip6);
		if (r->tcp6 == -1 || r->ip6 == -1)
			return (0);
	}
	return (assemble(l, buf, cap));
}

size_t
reset_make(struct resetter *r, uint8_t *buf, size_t cap, const uint8_t *orig,
    const struct pkt *p, uint32_t now)
{
	const uint8_t	*th = orig + p->l3len;
	uint32_t	 seq, ack, seglen;
	uint8_t		 flags;
	size_t		 n;

	if (p->proto != PROTO_TCP || (p->tcpflags & TH_RST))
		return (0);
	if (!reset_allow(r, now))
		return (0);

	/* RFC 793: answer the ACK's number, or acknowledge the segment. */
	seglen = (uint32_t)p->len - p->l3len - (uint32_t)(th[12] >> 4) * 4;
	if (p->tcpflags & TH_SYN)
		seglen++;
	if (p->tcpflags & TH_FIN)
		seglen++;
	if (p->tcpflags & TH_ACK) {
		seq = be32dec(th + 8);
		ack = 0;
		flags = TH_RST;
	} else {
		seq = 0;
		ack = be32dec(th + 4) + seglen;
		flags = TH_RST | TH_ACK;
	}
	n = reset_build(r, buf, cap, p->family, &p->dst, ntohs(p->dport),
	    &p->src, ntohs(p->sport), seq, ack, flags);
	if (n == 0)
		r->tokens++;
	return (n);
}

/*
 * ICMP port unreachable about the packet in orig, from its destination
 * (RFC 1812 4.3.2.3: as much of the packet as fits in 576 bytes; RFC 4443
 * 2.4: in 1280).
 */
size_t
reset_unreach(struct resetter *r, uint8_t *buf, size_t cap,
    const uint8_t *orig, const struct pkt *p, uint32_t now)
{
	struct libnet_in6_addr s6, d6;
	libnet_t	*l;
	uint32_t	 q;
	size_t		 n;

	if (!reset_allow(r, now))
		return (0);
	if (p->family == 4) {
		q = p->len < 576 - 28 ? p->len : 576 - 28;
		l = r->li4;
		r->icmp4 = libnet_build_icmpv4_unreach(3, 3, 0, orig, q, l,
		    r->icmp4);
		r->iip4 = libnet_build_ipv4(LIBNET_IPV4_H +
		    LIBNET_ICMPV4_UNREACH_H + q, 0xc0, 0, 0, 64, IPPROTO_ICMP,
		    0, p->dst.w[0], p->src.w[0], NULL, 0, l, r->iip4);
		if (r->icmp4 == -1 || r->iip4 == -1)
			goto fail;
	} else {
		q = p->len < 1280 - 48 ? p->len : 1280 - 48;
		l = r->li6;
		memcpy(&s6, p->dst.b, 16);
		memcpy(&d6, p->src.b, 16);
		r->icmp6 = libnet_build_icmpv6_unreach(1, 4, 0,
		    (uint8_t *)(uintptr_t)orig, q, l, r->icmp6);
		r->iip6 = libnet_build_ipv6(0, 0, LIBNET_ICMPV6_UNREACH_H + q,
		    IPPROTO_ICMPV6, 64, s6, d6, NULL, 0, l, r->iip6);
		if (r->icmp6 == -1 || r->iip6 == -1)
			goto fail;
	}
	if ((n = assemble(l, buf, cap)) != 0)
		return (n);
fail:
	r->tokens++;
	return (0);
}
