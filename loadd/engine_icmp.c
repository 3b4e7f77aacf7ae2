/*
 * ICMP errors about balanced flows (RFC 5508).  The error quotes the
 * beginning of the packet that caused it, as that packet was when the
 * error was made: on one side of loadd it names the virtual address, on
 * the other the real server.  Both the outer header and the quote are
 * translated, and every checksum over them.  An error with a bad checksum
 * is dropped rather than translated, so that loadd never turns a damaged
 * message into a valid one.  No ICMP message changes a flow's state.
 *
 * a) The quote is a reply we rewrote (from VIP:port to a client): the
 *    error went to the virtual address, from a router on the client's side
 *    or from this host (fragmentation needed on the way to the client).
 *    It goes to the flow's server, quoting the server's address and port.
 * b) The quote is a client's packet we rewrote (to server:port): the error
 *    comes from the server's side and goes to the client, quoting the
 *    virtual address and port, and from the virtual address if the server
 *    itself sent it.
 *
 * This file owns nothing but that translation; it reads the flow table
 * and counts into the engine's, services' and servers' counters.
 */
#include <arpa/inet.h>

#include <string.h>

#include "cksum.h"
#include "engine_priv.h"

static int	 to_server(struct engine *, struct pktbuf *, const struct pkt *,
		    const struct pkt *, struct service *);
static int	 to_client(struct engine *, struct pktbuf *, const struct pkt *,
		    const struct pkt *, struct server *);
static int	 icmp_cksum_ok(const uint8_t *, const struct pkt *);
static void	 icmp_finish(uint8_t *, const struct pkt *);
static void	 rewrite_inner(uint8_t *, const struct pkt *, int,
		    const union addr *, uint16_t);

void
engine_icmp_error(struct engine *e, struct pktbuf *pb, const struct pkt *p)
{
	struct pool	*pool = e->pool;
	uint8_t		*quote = pb->data + p->l3len + 8;
	size_t		 qlen = (size_t)p->len - p->l3len - 8;
	struct pkt	 q;
	struct service	*svc;
	struct server	*srv;

	if (pkt_parse_inner(quote, qlen, &q) != PKT_OK ||
	    !(q.flags & PKT_F_PORTS) || q.family != p->family) {
		/* Not about a TCP or UDP flow, so not about ours. */
		goto notours;
	}
	if ((svc = pool_find_service(pool, q.family, q.proto, &q.src,
	    q.sport)) != NULL) {
		if (!to_server(e, pb, p, &q, svc))
			return;
	} else if ((srv = pool_find_server(pool, q.family, q.proto, &q.dst,
	    q.dport)) != NULL) {
		if (!to_client(e, pb, p, &q, srv))
			return;
	} else
		goto notours;

	icmp_finish(pb->data, p);
	pb->verdict = V_REWRITTEN;
	e->st.rewritten++;
	e->st.icmp_translated++;
	return;

notours:
	if (pool_is_vip(pool, p->family, &p->dst))
		drop(e, pb, DROP_NOSERVICE);
	else
		e->st.passed++;
}

/*
 * a) An error about a reply of svc's: to the flow's server.  0 if it was
 * dropped instead.
 */
static int
to_server(struct engine *e, struct pktbuf *pb, const struct pkt *p,
    const struct pkt *q, struct service *svc)
{
	struct pool	*pool = e->pool;
	uint8_t		*ip = pb->data;
	struct server	*srv;
	struct flow	*f;
	uint32_t	 h;
	uint16_t	 si = (uint16_t)(svc - pool->svc);

	h = flow_hash(&e->ft, &q->dst, q->dport, si);
	f = flow_lookup(&e->ft, h, &q->dst, q->dport, si);
	if (f == NULL) {
		drop_svc(e, pb, svc, DROP_NOFLOW);
		return (0);
	}
	if (!icmp_cksum_ok(ip, p)) {
		drop_svc(e, pb, svc, DROP_ICMP_CSUM);
		return (0);
	}
	srv = &pool->srv[f->srv];
	rewrite_inner(ip + p->l3len + 8, q, 0, &srv->addr, htons(srv->port));
	if (addr_eq(&p->dst, &svc->vip))
		memcpy(ip + (p->family == 4 ? 16 : 24), srv->addr.b,
		    p->family == 4 ? 4 : 16);
	srv->pkts_in++;
	srv->bytes_in += p->len;
	return (1);
}

/*
 * b) An error about a client's packet to srv: to the client, as from the
 * service.  0 if it was dropped instead.
 */
static int
to_client(struct engine *e, struct pktbuf *pb, const struct pkt *p,
    const struct pkt *q, struct server *srv)
{
	struct service	*svc = &e->pool->svc[srv->svc];
	uint8_t		*ip = pb->data;

	if (!icmp_cksum_ok(ip, p)) {
		drop_svc(e, pb, svc, DROP_ICMP_CSUM);
		return (0);
	}
	rewrite_inner(ip + p->l3len + 8, q, 1, &svc->vip, htons(svc->port));
	if (addr_eq(&p->src, &srv->addr))
		memcpy(ip + (p->family == 4 ? 12 : 8), svc->vip.b,
		    p->family == 4 ? 4 : 16);
	srv->pkts_out++;
	srv->bytes_out += p->len;
	return (1);
}

/* Whether the ICMP or ICMPv6 checksum of the message is right. */
static int
icmp_cksum_ok(const uint8_t *ip, const struct pkt *p)
{
	uint32_t	 sum = 0;
	unsigned	 l4len = (unsigned)p->len - p->l3len;

	if (p->family == 6)
		sum = cksum_pseudo(6, ip + 8, ip + 24, PROTO_ICMPV6, l4len);
	sum = cksum_add(sum, ip + p->l3len, l4len);
	return (cksum_fold(sum) == 0xffff);
}

/*
 * Recomputes the ICMP checksum and the outer IPv4 header checksum in full:
 * errors are rare, and what changed is spread over the message.
 */
static void
icmp_finish(uint8_t *ip, const struct pkt *p)
{
	uint8_t		*icmp = ip + p->l3len;
	unsigned	 l4len = (unsigned)p->len - p->l3len;
	uint32_t	 sum = 0;
	uint16_t	 ck = 0;

	memcpy(icmp + 2, &ck, 2);
	if (p->family == 6)
		sum = cksum_pseudo(6, ip + 8, ip + 24, PROTO_ICMPV6, l4len);
	ck = cksum_finish(cksum_add(sum, icmp, l4len));
	memcpy(icmp + 2, &ck, 2);
	if (p->family == 4) {
		ck = 0;
		memcpy(ip + 10, &ck, 2);
		ck = cksum_finish(cksum_add(0, ip, p->l3len));
		memcpy(ip + 10, &ck, 2);
	}
}

/*
 * Rewrites the quoted packet's destination (dst != 0) or source, its
 * IPv4 header checksum, and its transport checksum when the quote holds
 * it; the quote's checksums cover the whole original packet, so they can
 * only be updated, not recomputed.
 */
static void
rewrite_inner(uint8_t *ip, const struct pkt *q, int dst,
    const union addr *na, uint16_t nport)
{
	uint8_t		*l4 = ip + q->l3len;
	const union addr *oa = dst ? &q->dst : &q->src;
	uint16_t	 oport = dst ? q->dport : q->sport;
	unsigned	 nw = q->family == 4 ? 1 : 4, coff;
	uint16_t	 ck;

	if (q->family == 4) {
		memcpy(&ck, ip + 10, 2);
		ck = cksum_update32(ck, oa->w[0], na->w[0]);
		memcpy(ip + 10, &ck, 2);
		memcpy(ip + (dst ? 16 : 12), na->w, 4);
	} else
		memcpy(ip + (dst ? 24 : 8), na->w, 16);
	memcpy(l4 + (dst ? 2 : 0), &nport, 2);

	coff = q->proto == PROTO_TCP ? 16 : 6;
	if ((unsigned)q->len - q->l3len < coff + 2)
		return;		/* the quote ends before the checksum */
	memcpy(&ck, l4 + coff, 2);
	if (q->proto == PROTO_UDP && ck == 0 && q->family == 4)
		return;
	ck = cksum_update_words(ck, oa->w, na->w, nw);
	ck = cksum_update16(ck, oport, nport);
	if (q->proto == PROTO_UDP && ck == 0)
		ck = 0xffff;
	memcpy(l4 + coff, &ck, 2);
}
