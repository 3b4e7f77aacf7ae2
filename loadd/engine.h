/*
 * The engine: packet in, verdict and rewritten packet out.  It does no
 * I/O, allocates nothing and logs nothing per packet; what it decides is
 * visible through counters only.
 */
#ifndef LOADD_ENGINE_H
#define LOADD_ENGINE_H

#include <stdint.h>

#include "drop.h"
#include "flow.h"
#include "pkt.h"
#include "pool.h"
#include "sched.h"
#include "sticky.h"
#include "srvhist.h"

enum verdict {
	V_ACCEPT = 0,		/* pass unchanged */
	V_REWRITTEN,		/* pass the rewritten bytes */
	V_DROP,
};

/* One packet as the I/O layer hands it over. */
#define PB_CSUM_PARTIAL	0x01	/* L4 checksum not final (NFQ CSUMNOTREADY) */
#define PB_TRUNCATED	0x02	/* capture shorter than the packet */
#define PB_RESIZED	0x04	/* the engine changed len (a reset) */

struct pktbuf {
	uint8_t		*data;		/* the IP header */
	uint32_t	 len;
	uint32_t	 id;		/* NFQ packet id; pcap record number */
	uint32_t	 ts;		/* capture time in seconds (replay) */
	uint32_t	 ts_ms;		/* and in milliseconds, modulo 2^32 */
	uint16_t	 flags;		/* PB_* */
	uint8_t		 verdict;	/* enum verdict, set by the engine */
	uint8_t		 linkhdr;	/* bytes of link header before data */
	uint32_t	 mark;		/* set by the engine (offload); 0: none */
};

struct engine_stats {
	uint64_t	 pkts;
	uint64_t	 bytes;
	uint64_t	 inbound;	/* client -> virtual service */
	uint64_t	 outbound;	/* server -> client */
	uint64_t	 passed;	/* not ours, untouched */
	uint64_t	 rewritten;
	uint64_t	 dropped;
	uint64_t	 csum_partial;	/* L4 checksum left partial: computed in full */
	uint64_t	 return_noflow;	/* replies without a flow, rewritten */
	uint64_t	 icmp_translated;	/* ICMP errors translated */
	uint64_t	 resets;	/* unknown flows answered with a RST */
	uint64_t	 recovered;	/* unknown flows found again by hash */
	uint64_t	 refused;	/* new flows, no server: RST or ICMP sent */
	uint64_t	 flows_reset;	/* flows of a down server reset */
	uint64_t	 gen_full;	/* packets not generated: queue full */
	uint64_t	 offloaded;	/* flows handed to the kernel */
	uint64_t	 offload_pkts;	/* their packets loadd saw (marked) */
	uint64_t	 ct_ended;	/* offloaded flows the kernel ended */
	uint64_t	 ct_unknown;	/* ends of no flow of loadd's */
	uint64_t	 ct_adopted;	/* conntrack's, taken back (restart) */
	uint64_t	 ct_bad;	/* conntrack events that did not parse */
	uint64_t	 ct_swept;	/* ends found by a dump, their events lost */
	uint64_t	 ct_lost;	/* their socket overflowed: some lost */
	uint64_t	 fp_added;	/* offload = bpf: flows put in the map */
	uint64_t	 fp_refused;	/* the map refused them (full, ...) */
	uint64_t	 fp_deleted;	/* flows taken out of the map */
	uint64_t	 fp_closed;	/* FIN or RST seen in the map */
	uint64_t	 fp_adopted;	/* the map's flows taken back at start */
	uint64_t	 fp_unknown;	/* the map's flows of no service: deleted */
	uint64_t	 fp_qfull;	/* requests lost: queue full, no drain */
	uint64_t	 fp_strays;	/* map entries of no flow in the map */
	uint64_t	 fp_events;	/* the map's SYN, FIN, RST events applied */
	uint64_t	 fp_ev_stale;	/* events of no flow (any more): ignored */
	uint64_t	 fp_ev_lost;	/* the program's ring was full (its count) */
	uint64_t	 fp_ev_bad;	/* malformed ring records */
	uint64_t	 fp_answered;	/* half-open flows the poll found talking */
	uint64_t	 fp_synwait;	/* TCP flows kept out until established:
					   too many half-open (a SYN flood) */
	uint64_t	 drop[DROP_NREASONS];
};

struct agent;
struct resetter;

/*
 * The per-client table (max_client_conns, max_client_rate): entries for
 * this many clients of every limited service at once, 2 MB allocated at
 * start; loadd.conf(5) says what happens past it.
 */
#define ENGINE_CLIENTS	65536

/*
 * offload = bpf: what the engine asks of the fast path's map (engine_fp.c).
 * The engine makes no system call: it queues adds and deletes, which the
 * live loop carries out after each batch and each tick (or the queue's
 * owner when it fills), and it is told what the map counted.
 */
enum { FPQ_ADD = 1, FPQ_DEL };
struct engine_fpreq {
	uint8_t		 op;		/* FPQ_ADD, FPQ_DEL */
	uint8_t		 family;
	uint8_t		 proto;		/* PROTO_TCP, PROTO_UDP */
	uint32_t	 flow;		/* the table's index */
	uint16_t	 srv;		/* the server's index */
	union addr	 client;
	union addr	 vip;
	union addr	 server;
	uint16_t	 cport;		/* host order */
	uint16_t	 vport;
	uint16_t	 sport;
	uint64_t	 taken[4];	/* del: counters already accounted */
};

/*
 * What the map counted for a flow: [0] to the server, [1] to the client,
 * for the directions in has (the poll reads one entry at a time).
 */
#define ENGINE_FPC_TO_SERVER	0x01
#define ENGINE_FPC_TO_CLIENT	0x02
struct engine_fpcount {
	int		 has;		/* ENGINE_FPC_*; 0: neither is in the map */
	uint64_t	 pkts[2];
	uint64_t	 bytes[2];
	uint32_t	 idle;		/* seconds since its last packet */
	int		 fin[2];
	int		 rst;
};

/*
 * What the fast path's program tells of a TCP packet it carried with SYN,
 * FIN or RST (its event ring): the flow's tuple (op, flow, srv and taken
 * unused), the direction, the flags, and when (e->ms's clock).
 */
struct engine_fpev {
	struct engine_fpreq	 t;
	int			 from_client;
	uint8_t			 tcpflags;
	uint32_t		 ms;	/* CLOCK_MONOTONIC ms, modulo 2^32 */
};

/*
 * Per flow: its counters already added to its server's (in the map), or
 * how many packets loadd has seen of a UDP flow (not yet): a UDP flow
 * goes into the map after ENGINE_FP_AFTER of them, so that a spoofed
 * flood (one datagram per tuple) and single exchanges (DNS) do not churn
 * it.  A TCP flow goes in at its SYN: the map's events tell loadd what
 * its features need (the SYN+ACK, FIN, RST), and a flood of SYNs costs
 * loadd a map add and delete each (doc/fastpath.md).
 */
#define ENGINE_FP_AFTER	8
struct engine_fpflow {
	uint64_t	 taken[4];	/* pkts to server, to client, bytes */
	uint32_t	 npkts;		/* packets seen while established */
	uint32_t	 since;		/* e->ms when it was asked in: older
					   events are another flow's */
	uint32_t	 csyn;		/* the client's SYNs the map carried */
	uint32_t	 next;		/* the list of flows in the map */
	uint32_t	 prev;
	uint16_t	 round_added;	/* the poll's round when it went in */
	uint16_t	 round_seen;	/* the last round that read an entry */
};

#define ENGINE_FPQMAX	1024
struct engine;
typedef void	(*engine_fp_drain_fn)(void *, struct engine *);

struct engine_fp {
	struct engine_fpreq	*q;
	unsigned		 nq;
	unsigned		 qhead;	/* taken by engine_fp_queue_adds */
	unsigned		 lastadd;	/* q[lastadd - 1]: the last add */
	struct engine_fpflow	*fl;	/* ft.cap + 1 entries */
	uint32_t		 head;	/* of the flows in the map */
	uint32_t		 count;
	uint16_t		 round;		/* the poll's, counted */
	/*
	 * Half-open flows in the table beyond which a TCP flow waits for
	 * its handshake (loadd sees it) before it goes into the map: a SYN
	 * flood, spoofed or to servers that do not answer, must not fill
	 * the map nor cost an add and a delete per SYN.  A quarter of the
	 * table; live_fp.c makes it a quarter of the map if that is less.
	 */
	uint32_t		 synmax;
	engine_fp_drain_fn	 drain;	/* called when the queue is full */
	void			*arg;
};

/*
 * Packets the engine makes up (resets of a down server's flows, ICMP
 * unreachables), for the I/O layer to send after the batch.
 */
#define ENGINE_GENMAX	64
#define ENGINE_GENSLOT	1280
struct engine_gen {
	uint32_t	 len;
	uint8_t		 family;
	uint8_t		 data[ENGINE_GENSLOT];
};

struct engine {
	struct pool		*pool;
	struct resetter		*reset;	/* NULL: nothing is generated */
	int			 unknown_reset;	/* RST unknown flows */
	int			 offload;	/* new flows go to the kernel */
	struct engine_fp	*fp;	/* offload = bpf, or NULL */
	struct engine_gen	*gen;
	unsigned		 ngen;
	uint8_t			*sweep;	/* per server: reset its flows */
	uint32_t		 sweep_pos;	/* 0: no sweep running */
	struct sticky		 sticky;	/* persistence: client -> server */
	struct clients		 clients;	/* per-client limits */
	struct flowtab		 ft;
	struct sched_ctx	 sc;	/* what the methods know besides pool */
	struct engine_stats	 st;
	uint32_t		 now;
	int			 clock_set;
	uint32_t		 ms;	/* milliseconds, for measurements */
	uint32_t		 sched_tick;	/* when rates were sampled */
	struct srvhist		 hist;	/* the servers' last minutes */
};

int		 engine_init(struct engine *, struct pool *, uint32_t maxflows,
		    const uint32_t timeouts[FC_N], uint64_t seed);
void		 engine_free(struct engine *);
/* A client table of this many entries for services with sticky set. */
int		 engine_set_sticky(struct engine *, uint32_t entries);
/*
 * Lets the engine answer with resets and ICMP (r owned by e); unknown
 * says whether mid-stream packets of unknown flows get a RST too.
 */
void		 engine_set_reset(struct engine *, struct resetter *,
		    int unknown);
/* A server went down: its flows are reset if its service says so. */
void		 engine_server_down(struct engine *, unsigned srv);
/* The packets made up since the last call; *n of them, then forgotten. */
struct engine_gen *engine_generated(struct engine *, unsigned *n);
#define ENGINE_BATCH	64

void		 engine_process(struct engine *, struct pktbuf *, uint32_t now);
/* The same for n packets at once, faster on a large flow table. */
void		 engine_process_batch(struct engine *, struct pktbuf *,
		    unsigned n, uint32_t now);
/* A finer clock for measurements (any origin, wraps): set per batch. */
void		 engine_set_ms(struct engine *, uint32_t ms);
/*
 * The lmd agents whose reports the methods read (NULL: none): set at
 * start, kept across reloads as the agents are.  Their freshness is
 * judged by the control plane's monotonic clock, set once a pass.
 */
void		 engine_set_agent(struct engine *, const struct agent *);
void		 engine_set_mono_ms(struct engine *, uint64_t now_ms);
/* Housekeeping between batches: flow expiry with a work budget. */
void		 engine_tick(struct engine *, uint32_t now);
const char	*engine_drop_name(int);

/*
 * A conntrack event about an offloaded connection (ctevents.c reads
 * them): its entry was confirmed (new) or destroyed.
 */
struct ct_end {
	union addr	 client;
	union addr	 vip;		/* where the client sent it */
	uint16_t	 cport;		/* network byte order */
	uint16_t	 vport;
	uint8_t		 family;
	uint8_t		 proto;
	uint32_t	 ctid;		/* 0: not given */
	uint32_t	 mark;		/* the entry's: loadd's server mark */
	int		 destroyed;	/* 0: new (or listed by a dump) */
	uint64_t	 pkts[2];	/* client -> server, server -> client */
	uint64_t	 bytes[2];	/* (0 without nf_conntrack_acct) */
};

/*
 * offload = bpf (engine_fp.c).  set_fastpath turns it on; the queue is
 * emptied by the caller with engine_fp_queue (then forgotten) and what
 * failed is said with engine_fp_refused.  The poll reads the map's
 * entries a batch at a time: engine_fp_find names the flow of an entry's
 * tuple (FLOW_NIL: none in the map, counted), engine_fp_update hands
 * over what the entry counted, and engine_fp_round_end closes a round
 * over the whole map (a flow that none of its entries named is gone from
 * the map: the slow path carries it).
 * engine_fp_adopt takes a flow of the map back at start: 0 if no service
 * or server of this configuration has it (the caller deletes it).
 */
int		 engine_set_fastpath(struct engine *, engine_fp_drain_fn,
		    void *);
struct engine_fpreq *engine_fp_queue(struct engine *, unsigned *n);
/* Only up to the last add (what must be done before the verdicts). */
struct engine_fpreq *engine_fp_queue_adds(struct engine *, unsigned *n);
void		 engine_fp_refused(struct engine *, const struct engine_fpreq *);
void		 engine_fp_deleted(struct engine *, const struct engine_fpreq *,
		    const struct engine_fpcount *);
uint32_t	 engine_fp_find(struct engine *, const struct engine_fpreq *);
void		 engine_fp_round_end(struct engine *);
void		 engine_fp_update(struct engine *, uint32_t flow,
		    const struct engine_fpcount *, uint32_t now);
int		 engine_fp_adopt(struct engine *, const struct engine_fpreq *,
		    const struct engine_fpcount *, uint32_t now);
/*
 * An event of the map's program, applied as if loadd had seen the
 * packet's flags; one about no flow in the table (or another flow now)
 * is counted and ignored.
 */
void		 engine_fp_event(struct engine *, const struct engine_fpev *,
		    uint32_t now);

/* Returns 1 if it was about one of loadd's offloaded flows. */
int		 engine_offload_event(struct engine *, const struct ct_end *,
		    uint32_t now);
/* A conntrack dump begins; it ends complete (ends swept) or not. */
void		 engine_ct_sweep_begin(struct engine *);
unsigned	 engine_ct_sweep_end(struct engine *, int complete);

#endif
