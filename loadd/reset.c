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

#include "pkt.h"
#include "reset.h"

struct resetter {
	libnet_t	*l4;
	libnet_t	*l6;
	libnet_ptag_t	 tcp4, ip4, tcp6, ip6;
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
	if (r->l4 == NULL || r->l6 == NULL) {
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
	free(r);
}

static uint32_t
get32(const uint8_t *b)
{
	return ((uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	    (uint32_t)b[2] << 8 | b[3]);
}

size_t
reset_make(struct resetter *r, uint8_t *buf, size_t cap, const struct pkt *p,
    uint32_t now)
{
	const uint8_t	*th = buf + p->l3len;
	uint32_t	 seq, ack, seglen, n;
	uint8_t		 flags;
	uint8_t		*out;
	libnet_t	*l;
	struct libnet_in6_addr s6, d6;
	uint16_t	 sport = ntohs(p->dport), dport = ntohs(p->sport);

	if (p->proto != PROTO_TCP || (p->tcpflags & TH_RST))
		return (0);
	if (now != r->last) {
		r->tokens = r->rate;
		r->last = now;
	}
	if (r->tokens == 0)
		return (0);

	/* RFC 793: answer the ACK's number, or acknowledge the segment. */
	seglen = (uint32_t)p->len - p->l3len - (uint32_t)(th[12] >> 4) * 4;
	if (p->tcpflags & TH_SYN)
		seglen++;
	if (p->tcpflags & TH_FIN)
		seglen++;
	if (p->tcpflags & TH_ACK) {
		seq = get32(th + 8);
		ack = 0;
		flags = TH_RST;
	} else {
		seq = 0;
		ack = get32(th + 4) + seglen;
		flags = TH_RST | TH_ACK;
	}

	if (p->family == 4) {
		l = r->l4;
		r->tcp4 = libnet_build_tcp(sport, dport, seq, ack, flags, 0, 0,
		    0, LIBNET_TCP_H, NULL, 0, l, r->tcp4);
		r->ip4 = libnet_build_ipv4(LIBNET_IPV4_H + LIBNET_TCP_H, 0, 0,
		    0x4000, 64, IPPROTO_TCP, 0, p->dst.w[0], p->src.w[0], NULL,
		    0, l, r->ip4);
		if (r->tcp4 == -1 || r->ip4 == -1)
			return (0);
	} else {
		l = r->l6;
		memcpy(&s6, p->dst.b, 16);
		memcpy(&d6, p->src.b, 16);
		r->tcp6 = libnet_build_tcp(sport, dport, seq, ack, flags, 0, 0,
		    0, LIBNET_TCP_H, NULL, 0, l, r->tcp6);
		r->ip6 = libnet_build_ipv6(0, 0, LIBNET_TCP_H, IPPROTO_TCP, 64,
		    s6, d6, NULL, 0, l, r->ip6);
		if (r->tcp6 == -1 || r->ip6 == -1)
			return (0);
	}
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
	r->tokens--;
	return (n);
}
