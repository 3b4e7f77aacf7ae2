/*
 * The eBPF fast path's maps, as both sides see them: the tc program
 * (bpf/fastpath.bpf.c) and its loader (loadd/fastpath.c).  Only types
 * from <linux/types.h>, so that clang -target bpf and the C11 build
 * read the same bytes.
 *
 * One flow is two entries of the flow map, one per direction, each keyed
 * by the 5-tuple as it arrives at the balancer:
 *
 *	client:cport -> VIP:vport	 FP_TO_SERVER: dst becomes server:port
 *	server:port  -> client:cport	 FP_TO_CLIENT: src becomes VIP:vport
 *
 * so that every packet costs one lookup and each direction has its own
 * counters in its own entry.  Either entry alone is enough to rebuild the
 * whole flow (its key holds two ends, its value the third).
 */
#ifndef LOADD_FASTPATH_MAP_H
#define LOADD_FASTPATH_MAP_H

#include <linux/types.h>

#define FP_TO_SERVER	1	/* rewrite the destination */
#define FP_TO_CLIENT	2	/* rewrite the source */

/*
 * A change of these two layouts must change a key or value size: sizes
 * and map types are what fastpath_open checks before it adopts pins.
 * Every byte is part of the hash: the pads must be 0.
 */
struct fp_key {
	__u32	saddr[4];	/* network order; IPv4 in [0], the rest 0 */
	__u32	daddr[4];
	__u16	sport;		/* network order */
	__u16	dport;		/* network order */
	__u8	proto;		/* IPPROTO_TCP or IPPROTO_UDP */
	__u8	family;		/* 4 or 6 */
	__u8	pad[2];
};

struct fp_val {
	/* Written by user space when it adds the entry; read per packet. */
	__u32	addr[4];	/* the new dst (FP_TO_SERVER) or src address */
	__u16	port;		/* the new port, network order */
	__u8	dir;		/* FP_TO_SERVER or FP_TO_CLIENT */
	__u8	pad;
	__u32	pad2;
	/* Written by the program, read by user space. */
	__u64	packets;	/* segments: a GSO packet counts gso_segs */
	__u64	bytes;		/* IP bytes as received (GSO: headers once) */
	__u64	last_ns;	/* bpf_ktime_get_ns() (CLOCK_MONOTONIC) */
	/*
	 * A TCP FIN or RST went through in this direction: one byte each,
	 * set by a plain store, so that no read-modify-write can lose one.
	 */
	__u8	fin;
	__u8	rst;
	__u8	pad3[6];
};

/*
 * The event ring (BPF_MAP_TYPE_RINGBUF): one record for each TCP packet
 * with SYN, FIN or RST that the program carried (a map hit, rewritten
 * and redirected), so that loadd sees what it would have seen of the
 * packet: its flags and when.  Packets the program passes on to loadd
 * make none (loadd sees them).  80 bytes a record with the ring's header.
 */
#define FP_EVENTS_BYTES	(1u << 20)	/* 13107 records */

struct fp_event {
	struct fp_key	key;	/* the packet's tuple as it arrived */
	__u32	addr[4];	/* its entry's new address (fp_val.addr) */
	__u64	ns;		/* bpf_ktime_get_ns() (CLOCK_MONOTONIC) */
	__u16	port;		/* its entry's new port (fp_val.port) */
	__u8	dir;		/* FP_TO_SERVER (from the client) or
				   FP_TO_CLIENT (from the server) */
	__u8	tcpflags;	/* byte 13 of the TCP header */
	__u8	pad[4];
};

/*
 * What became of the packets the program saw, one per-CPU counter each
 * (every packet touches one, so they must not share a cache line).
 */
enum fp_stat {
	FP_ST_HIT,		/* rewritten and redirected */
	FP_ST_MISS,		/* TCP/UDP over IP, no entry: passed */
	FP_ST_NOTIP,		/* not IPv4/IPv6 (ARP, VLAN...): passed */
	FP_ST_OTHER,		/* not TCP/UDP, IP options, IPv6 extension
				   headers, broadcast, multicast: passed */
	FP_ST_FRAG,		/* fragments: passed */
	FP_ST_SHORT,		/* truncated headers: passed */
	FP_ST_TTL,		/* TTL or hop limit would expire: passed */
	FP_ST_FIB,		/* no route, not forwardable, too big: passed */
	FP_ST_ERROR,		/* a helper failed mid-rewrite: dropped */
	FP_ST_RINGFULL,		/* an event not written: the ring was full
				   (the packet still went on) */
	FP_ST_MAX
};

#endif
