/*
 * The fast path for loadd's flows: a tc (cls_bpf, direct-action)
 * program on the ingress of the balancer's interfaces.  A TCP or UDP
 * packet whose 5-tuple is in the flow map gets the rewrite loadd would
 * give it (client->VIP becomes client->server, server->client becomes
 * VIP->client), the router's TTL decrement, and leaves by the kernel's
 * FIB and neighbour tables (bpf_redirect_neigh); a TCP one with SYN, FIN
 * or RST is told to loadd through the event ring, since loadd puts a
 * flow in the map at its SYN and must still know how it goes on.  Everything else --
 * misses, ARP, ICMP, fragments, IP options, IPv6 extension headers,
 * VLAN-tagged frames, broadcast and multicast frames, packets the FIB
 * will not forward (local, unroutable, too big) -- goes on untouched (TC_ACT_OK) to netfilter
 * and so to loadd's NFQUEUE, which handles all of them already.
 *
 * A packet is only written once every check that can send it back to the
 * slow path has passed (the FIB lookup included), so the slow path never
 * sees a half-rewritten packet.  A helper that fails after that point
 * drops the packet (FP_ST_ERROR); none is expected to.
 *
 * All checksum work goes through bpf_l3_csum_replace and
 * bpf_l4_csum_replace: they know about CHECKSUM_PARTIAL (the pseudo-header
 * sum of a GSO or locally sent packet) and CHECKSUM_COMPLETE, which is
 * why a 64 KB GSO packet is rewritten whole and stays correct.
 *
 * Map layout and counters: loadd/fastpath_map.h.  The user-space side:
 * loadd/fastpath.c.  doc/fastpath.md says how to see and remove it.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>
#include <linux/udp.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "fastpath_map.h"

/* <linux/socket.h> needs the libc; these two are all the program uses. */
#define FP_AF_INET	2
#define FP_AF_INET6	10

#define IP_MF		0x2000
#define IP_OFFMASK	0x1fff

/*
 * Two entries per flow, so a plain hash map, not an LRU one: loadd owns
 * the flow table and must know exactly which flows the kernel carries; a
 * full map refuses a new entry (loadd keeps that flow itself) instead of
 * silently evicting one.  The loader sets the real size before loading.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct fp_key);
	__type(value, struct fp_val);
} fp_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FP_ST_MAX);
	__type(key, __u32);
	__type(value, __u64);
} fp_stats SEC(".maps");

/*
 * Events for loadd: the SYN, FIN and RST of the TCP packets carried here
 * (fastpath_map.h).  The loader sets the size.
 */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, FP_EVENTS_BYTES);
} fp_events SEC(".maps");

/* Where the headers are, once parsed. */
struct fp_pkt {
	__u32	l4;		/* transport header offset */
	__u32	csum;		/* transport checksum offset */
	__u8	family;
	__u8	proto;
	__u8	fin;
	__u8	rst;
	__u8	tcpflags;	/* byte 13 of the TCP header */
	__u8	l4hlen;		/* transport header length */
	__u8	tos;
	__u32	flowinfo;	/* IPv6: traffic class and flow label */
};

static __always_inline void
stat_inc(enum fp_stat st)
{
	__u32	 key = st;
	__u64	*c;

	c = bpf_map_lookup_elem(&fp_stats, &key);
	if (c != NULL)
		*c += 1;	/* per-CPU: no other writer */
}

/* The packet goes on, untouched, to netfilter and loadd's queue. */
static __always_inline int
fp_pass(enum fp_stat st)
{
	stat_inc(st);
	return (TC_ACT_OK);
}

/*
 * Makes the first len bytes readable by direct access.  A GSO packet or
 * one from a paged driver may hold its headers outside the linear part.
 */
static __always_inline int
fp_pull(struct __sk_buff *skb, __u32 len)
{
	if ((void *)(long)skb->data + len <= (void *)(long)skb->data_end)
		return (0);
	if (len > skb->len)
		return (-1);
	return (bpf_skb_pull_data(skb, len) == 0 ? 0 : -1);
}

/*
 * Parses Ethernet, IPv4 or IPv6 and the TCP or UDP ports into k, or says
 * which counter the packet passes under.  Returns -1 for "rewrite it".
 */
static __always_inline int
fp_parse(struct __sk_buff *skb, struct fp_pkt *p, struct fp_key *k)
{
	void		*data, *end;
	struct ethhdr	*eth;
	struct iphdr	*ip;
	struct ipv6hdr	*ip6;
	struct tcphdr	*tcp;
	struct udphdr	*udp;
	__u32		 l4len;

	/*
	 * Unicast only.  PACKET_OTHERHOST is let in because on a bridge's
	 * port a frame for the bridge's address is "other host" to the
	 * port; only flows in the map are touched, and the FIB must agree.
	 * VLAN tags still on the skb belong to a VLAN device: not ours.
	 */
	if ((skb->pkt_type != PACKET_HOST &&
	    skb->pkt_type != PACKET_OTHERHOST) || skb->vlan_present)
		return (FP_ST_OTHER);
	if (fp_pull(skb, ETH_HLEN) < 0)
		return (FP_ST_SHORT);
	data = (void *)(long)skb->data;
	end = (void *)(long)skb->data_end;
	eth = data;
	if ((void *)(eth + 1) > end)
		return (FP_ST_SHORT);

	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		if (fp_pull(skb, ETH_HLEN + sizeof(*ip)) < 0)
			return (FP_ST_SHORT);
		data = (void *)(long)skb->data;
		end = (void *)(long)skb->data_end;
		ip = data + ETH_HLEN;
		if ((void *)(ip + 1) > end)
			return (FP_ST_SHORT);
		if (ip->version != 4 || ip->ihl != 5)
			return (FP_ST_OTHER);	/* options: the slow path */
		if (ip->frag_off & bpf_htons(IP_MF | IP_OFFMASK))
			return (FP_ST_FRAG);
		if (ip->ttl <= 1)
			return (FP_ST_TTL);
		p->family = 4;
		p->proto = ip->protocol;
		p->tos = ip->tos;
		p->l4 = ETH_HLEN + sizeof(*ip);
		k->saddr[0] = ip->saddr;
		k->daddr[0] = ip->daddr;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		if (fp_pull(skb, ETH_HLEN + sizeof(*ip6)) < 0)
			return (FP_ST_SHORT);
		data = (void *)(long)skb->data;
		end = (void *)(long)skb->data_end;
		ip6 = data + ETH_HLEN;
		if ((void *)(ip6 + 1) > end)
			return (FP_ST_SHORT);
		if (ip6->version != 6)
			return (FP_ST_OTHER);
		/* No extension header walking: they all take the slow path. */
		if (ip6->nexthdr == 44)		/* IPPROTO_FRAGMENT */
			return (FP_ST_FRAG);
		if (ip6->hop_limit <= 1)
			return (FP_ST_TTL);
		p->family = 6;
		p->proto = ip6->nexthdr;
		p->flowinfo = *(__u32 *)ip6 & bpf_htonl(0x0fffffff);
		p->l4 = ETH_HLEN + sizeof(*ip6);
		__builtin_memcpy(k->saddr, &ip6->saddr, 16);
		__builtin_memcpy(k->daddr, &ip6->daddr, 16);
	} else
		return (FP_ST_NOTIP);

	if (p->proto == IPPROTO_TCP) {
		l4len = sizeof(*tcp);
		p->csum = p->l4 + __builtin_offsetof(struct tcphdr, check);
	} else if (p->proto == IPPROTO_UDP) {
		l4len = sizeof(*udp);
		p->csum = p->l4 + __builtin_offsetof(struct udphdr, check);
	} else
		return (FP_ST_OTHER);	/* ICMP, ICMPv6, extension headers */
	if (fp_pull(skb, p->l4 + l4len) < 0)
		return (FP_ST_SHORT);
	data = (void *)(long)skb->data;
	end = (void *)(long)skb->data_end;
	if (p->proto == IPPROTO_TCP) {
		tcp = data + p->l4;
		if ((void *)(tcp + 1) > end)
			return (FP_ST_SHORT);
		k->sport = tcp->source;
		k->dport = tcp->dest;
		p->fin = tcp->fin;
		p->l4hlen = (__u8)(tcp->doff * 4);
		p->rst = tcp->rst;
		p->tcpflags = ((__u8 *)tcp)[13];
	} else {
		udp = data + p->l4;
		if ((void *)(udp + 1) > end)
			return (FP_ST_SHORT);
		p->l4hlen = sizeof(*udp);
		k->sport = udp->source;
		k->dport = udp->dest;
	}
	k->proto = p->proto;
	k->family = p->family;
	return (-1);
}

/*
 * Writes the new address and port of one end (source or destination)
 * and the TTL or hop limit, with every checksum the change touches.
 * Returns 0, or -1 when a helper failed (the packet is then half done).
 */
static __always_inline int
fp_rewrite(struct __sk_buff *skb, const struct fp_pkt *p,
    const struct fp_key *k, const struct fp_val *v)
{
	__u64	 mangled = p->proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0;
	__u32	 aoff, poff;
	__u16	 oldport;
	__u8	 hop;
	__s64	 diff;

	if (v->dir == FP_TO_SERVER) {
		poff = p->l4 + 2;
		oldport = k->dport;
	} else {
		poff = p->l4;
		oldport = k->sport;
	}
	if (p->family == 4) {
		struct iphdr	*ip;
		__u32		 off = ETH_HLEN +
				    __builtin_offsetof(struct iphdr, check);
		__u32		 old = v->dir == FP_TO_SERVER ? k->daddr[0] :
				    k->saddr[0];
		__u16		 oldw, neww;
		void		*data = (void *)(long)skb->data;
		void		*end = (void *)(long)skb->data_end;

		ip = data + ETH_HLEN;
		if ((void *)(ip + 1) > end)
			return (-1);
		/* The TTL shares a 16-bit word with the protocol. */
		oldw = *(__u16 *)&ip->ttl;
		hop = ip->ttl - 1;
		((__u8 *)&neww)[0] = hop;
		((__u8 *)&neww)[1] = ip->protocol;
		aoff = ETH_HLEN + (v->dir == FP_TO_SERVER ?
		    __builtin_offsetof(struct iphdr, daddr) :
		    __builtin_offsetof(struct iphdr, saddr));
		if (bpf_skb_store_bytes(skb, aoff, &v->addr[0], 4,
		    BPF_F_INVALIDATE_HASH) < 0 ||
		    bpf_l3_csum_replace(skb, off, old, v->addr[0], 4) < 0 ||
		    bpf_l4_csum_replace(skb, p->csum, old, v->addr[0],
		    BPF_F_PSEUDO_HDR | mangled | 4) < 0)
			return (-1);
		if (bpf_skb_store_bytes(skb, ETH_HLEN +
		    __builtin_offsetof(struct iphdr, ttl), &hop, 1, 0) < 0 ||
		    bpf_l3_csum_replace(skb, off, oldw, neww, 2) < 0)
			return (-1);
	} else {
		struct ipv6hdr	*ip6;
		__u32		 old[4];
		void		*data = (void *)(long)skb->data;
		void		*end = (void *)(long)skb->data_end;

		ip6 = data + ETH_HLEN;
		if ((void *)(ip6 + 1) > end)
			return (-1);
		hop = ip6->hop_limit - 1;
		if (v->dir == FP_TO_SERVER) {
			__builtin_memcpy(old, k->daddr, 16);
			aoff = ETH_HLEN + __builtin_offsetof(struct ipv6hdr,
			    daddr);
		} else {
			__builtin_memcpy(old, k->saddr, 16);
			aoff = ETH_HLEN + __builtin_offsetof(struct ipv6hdr,
			    saddr);
		}
		/* No header checksum; the pseudo-header takes the diff. */
		diff = bpf_csum_diff(old, 16, (__be32 *)v->addr, 16, 0);
		if (diff < 0)
			return (-1);
		if (bpf_skb_store_bytes(skb, aoff, v->addr, 16,
		    BPF_F_INVALIDATE_HASH) < 0 ||
		    bpf_l4_csum_replace(skb, p->csum, 0, diff,
		    BPF_F_PSEUDO_HDR | mangled) < 0 ||
		    bpf_skb_store_bytes(skb, ETH_HLEN +
		    __builtin_offsetof(struct ipv6hdr, hop_limit), &hop, 1,
		    0) < 0)
			return (-1);
	}
	if (oldport != v->port &&
	    (bpf_skb_store_bytes(skb, poff, &v->port, 2, 0) < 0 ||
	    bpf_l4_csum_replace(skb, p->csum, oldport, v->port,
	    mangled | 2) < 0))
		return (-1);
	return (0);
}

#define FP_TH_FIN	0x01
#define FP_TH_SYN	0x02
#define FP_TH_RST	0x04

/*
 * Tells loadd about a SYN, FIN or RST the program carried, as it would
 * have seen it.  Adaptive wake-up (flags 0): the kernel wakes loadd only
 * when the ring goes from empty to not, not once per record.  A full ring
 * loses the event, counted; the packet goes on regardless (loadd's poll
 * of the entry's fin and rst bytes catches a lost FIN or RST).
 */
static __always_inline void
fp_event(const struct fp_pkt *p, const struct fp_key *k,
    const struct fp_val *v, __u64 now)
{
	struct fp_event	 ev;

	if (p->proto != IPPROTO_TCP ||
	    !(p->tcpflags & (FP_TH_SYN | FP_TH_FIN | FP_TH_RST)))
		return;
	__builtin_memset(&ev, 0, sizeof(ev));
	ev.key = *k;
	__builtin_memcpy(ev.addr, v->addr, sizeof(ev.addr));
	ev.ns = now;
	ev.port = v->port;
	ev.dir = v->dir;
	ev.tcpflags = p->tcpflags;
	if (bpf_ringbuf_output(&fp_events, &ev, sizeof(ev), 0) != 0)
		stat_inc(FP_ST_RINGFULL);
}

SEC("tc")
int
fp_ingress(struct __sk_buff *skb)
{
	struct fp_pkt		 p = {};
	struct fp_key		 k = {};
	struct fp_val		*v;
	struct bpf_fib_lookup	 fib = {};
	struct bpf_redir_neigh	 nh = {};
	__u32			 segs, mtu;
	__u64			 len, now;
	int			 st;

	if ((st = fp_parse(skb, &p, &k)) >= 0)
		return (fp_pass(st));
	v = bpf_map_lookup_elem(&fp_flows, &k);
	if (v == NULL)
		return (fp_pass(FP_ST_MISS));
	if (v->dir != FP_TO_SERVER && v->dir != FP_TO_CLIENT)
		return (fp_pass(FP_ST_OTHER));

	/* Where the rewritten packet goes; nothing is written before. */
	fib.l4_protocol = p.proto;
	fib.ifindex = skb->ingress_ifindex;
	fib.sport = v->dir == FP_TO_CLIENT ? v->port : k.sport;
	fib.dport = v->dir == FP_TO_SERVER ? v->port : k.dport;
	if (p.family == 4) {
		fib.family = FP_AF_INET;
		fib.tos = p.tos;
		fib.ipv4_src = v->dir == FP_TO_CLIENT ? v->addr[0] :
		    k.saddr[0];
		fib.ipv4_dst = v->dir == FP_TO_SERVER ? v->addr[0] :
		    k.daddr[0];
	} else {
		fib.family = FP_AF_INET6;
		fib.flowinfo = p.flowinfo;
		__builtin_memcpy(fib.ipv6_src, v->dir == FP_TO_CLIENT ?
		    v->addr : k.saddr, 16);
		__builtin_memcpy(fib.ipv6_dst, v->dir == FP_TO_SERVER ?
		    v->addr : k.daddr, 16);
	}
	/*
	 * tot_len 0: the kernel checks the packet against the egress MTU
	 * itself (is_skb_forwardable, which lets every GSO packet by).  A
	 * packet too big, or to a local or unroutable address, or through
	 * an interface that does not forward, takes the slow path, which
	 * says why (ICMP).
	 */
	st = bpf_fib_lookup(skb, &fib, sizeof(fib), 0);
	if (st != BPF_FIB_LKUP_RET_SUCCESS && st != BPF_FIB_LKUP_RET_NO_NEIGH)
		return (fp_pass(FP_ST_FIB));
	/*
	 * The lookup passes any GSO packet as forwardable; its segments
	 * must fit the egress MTU too, or they would leave oversized (a
	 * black hole behind a smaller link).  Too big: the slow path, where
	 * the kernel's forwarding sends "fragmentation needed" and loadd
	 * translates it for the server (RFC 5508), as without the map.
	 */
	if (skb->gso_size != 0) {
		mtu = 0;
		/* Only the egress MTU wanted: a GSO packet passes the check. */
		if (bpf_check_mtu(skb, fib.ifindex, &mtu, 0, 0) !=
		    BPF_MTU_CHK_RET_SUCCESS || p.l4 - ETH_HLEN + p.l4hlen +
		    skb->gso_size > mtu)
			return (fp_pass(FP_ST_FIB));
	}

	segs = skb->gso_segs;
	len = skb->len - ETH_HLEN;
	if (fp_rewrite(skb, &p, &k, v) < 0) {
		stat_inc(FP_ST_ERROR);
		return (TC_ACT_SHOT);
	}

	/*
	 * Atomic adds on the entry, not per-CPU values: one flow's packets
	 * are nearly always on one CPU (RSS, RPS and GRO hash the flow), so
	 * the line is not contended, and a per-CPU hash would keep a copy of
	 * the rewrite for every CPU and make loadd write them all.
	 */
	now = bpf_ktime_get_ns();
	__sync_fetch_and_add(&v->packets, segs > 1 ? segs : 1);
	__sync_fetch_and_add(&v->bytes, len);
	v->last_ns = now;
	if (p.fin)
		v->fin = 1;
	if (p.rst)
		v->rst = 1;
	fp_event(&p, &k, v, now);

	if (p.family == 4) {
		nh.nh_family = FP_AF_INET;
		nh.ipv4_nh = fib.ipv4_dst;
	} else {
		nh.nh_family = FP_AF_INET6;
		__builtin_memcpy(nh.ipv6_nh, fib.ipv6_dst, 16);
	}
	stat_inc(FP_ST_HIT);
	return (bpf_redirect_neigh(fib.ifindex, &nh, sizeof(nh), 0));
}

/*
 * bpf_fib_lookup and bpf_redirect_neigh are GPL-only helpers: the kernel
 * loads the program only with a GPL-compatible licence string.
 */
char _license[] SEC("license") = "Dual BSD/GPL";
