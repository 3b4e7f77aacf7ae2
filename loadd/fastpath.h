/*
 * The eBPF fast path (Linux, built with LOADD_FASTPATH): loads the tc
 * program of bpf/fastpath.bpf.c, pins it and its maps on bpffs so that
 * they outlive loadd, attaches it to interfaces, and fills the flow map
 * for the engine (through live_fp.c: offload = bpf).  doc/fastpath.md
 * says how.
 *
 * Runtime state owned here: the descriptors of the program and maps.  The
 * flows in the map are the engine's to add and delete; the counters in
 * them are the program's.
 */
#ifndef LOADD_FASTPATH_H
#define LOADD_FASTPATH_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "fastpath_map.h"

#define FASTPATH_BPFFS		"/sys/fs/bpf"
#define FASTPATH_NAME		"loadd"		/* pin directory in bpffs */
#define FASTPATH_MAX_FLOWS	65536
/* The tc filter's handle and priority on clsact ingress: ours to find. */
#define FASTPATH_TC_HANDLE	0x10ad
#define FASTPATH_TC_PRIO	0x10ad
#define FASTPATH_ERRLEN		256

struct fastpath;

struct fastpath_conf {
	const char	*bpffs;		/* NULL: FASTPATH_BPFFS, mounted if not */
	const char	*name;		/* NULL: FASTPATH_NAME */
	uint32_t	 max_flows;	/* 0: FASTPATH_MAX_FLOWS (2 entries each) */
	int		 adopt_only;	/* fail, not load, when nothing is pinned */
};

/* One flow as the engine sees it; ports in host order. */
struct fastpath_flow {
	int		 family;	/* 4 or 6 */
	uint8_t		 proto;		/* IPPROTO_TCP or IPPROTO_UDP */
	union addr	 client;
	union addr	 vip;
	union addr	 server;
	uint16_t	 cport;
	uint16_t	 vport;
	uint16_t	 sport;		/* the server's port */
};

/* What the program counted in one direction. */
struct fastpath_dir {
	uint64_t	 packets;	/* segments */
	uint64_t	 bytes;		/* IP bytes, a GSO packet's headers once */
	uint64_t	 last_ns;	/* CLOCK_MONOTONIC; 0: no packet yet */
	int		 fin;
	int		 rst;
};

#define FASTPATH_HAS_TO_SERVER	0x01	/* the client->VIP entry exists */
#define FASTPATH_HAS_TO_CLIENT	0x02	/* the server->client entry exists */

struct fastpath_counters {
	int			 has;	/* FASTPATH_HAS_* */
	struct fastpath_dir	 to_server;
	struct fastpath_dir	 to_client;
};

struct fastpath_stats {
	uint64_t	 st[FP_ST_MAX];	/* indexed by enum fp_stat */
};

extern const char *const fastpath_stat_names[FP_ST_MAX];

/*
 * Opens the fast path: adopts the program and maps pinned by an earlier
 * loadd if they are there and of this layout, else loads the program and
 * pins it (unless adopt_only).  Needs root (CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN to mount).
 * Returns NULL with the reason in err.
 */
struct fastpath	*fastpath_open(const struct fastpath_conf *, char *err,
		    size_t errlen);
/* Whether fastpath_open found the pins rather than loading anew. */
int		 fastpath_adopted(const struct fastpath *);
/* How many flows the map holds at most (the pinned map's, if adopted). */
uint32_t	 fastpath_capacity(const struct fastpath *);
/* Closes the descriptors; the pins and tc filters stay. */
void		 fastpath_close(struct fastpath *);
/*
 * libbpf's messages (a verifier's refusal among them) to fn, a line at a
 * time, at FASTPATH_LOG_*; NULL: none at all.  Without a call, libbpf
 * writes its warnings to stderr.
 */
#define FASTPATH_LOG_WARN	0
#define FASTPATH_LOG_INFO	1
#define FASTPATH_LOG_DEBUG	2
void		 fastpath_set_logger(void (*fn)(int level, const char *line));
/* The reason of the last failure of a call on fp. */
const char	*fastpath_error(const struct fastpath *);

/* Attaches at the ingress of ifname (replacing an earlier one). */
int		 fastpath_attach(struct fastpath *, const char *ifname);
/* Removes loadd's filter from ifname; 0 also if none was there. */
int		 fastpath_detach(const char *ifname, char *err, size_t errlen);
/* The id of the program of loadd's filter on ifname, 0 if none; -1. */
int		 fastpath_query(const char *ifname, uint32_t *prog_id,
		    char *err, size_t errlen);
/* The id of fp's program, and its descriptor (for BPF_PROG_TEST_RUN). */
uint32_t	 fastpath_prog_id(const struct fastpath *);
int		 fastpath_prog_fd(const struct fastpath *);
/* Removes the pins (and the directory); 0 also if there were none. */
int		 fastpath_unpin(const struct fastpath_conf *, char *err,
		    size_t errlen);

/*
 * Flows.  add puts both directions in the map or neither (-1: errno
 * EEXIST when a direction's tuple is there already, E2BIG when the map
 * is full, EINVAL for a flow that is not TCP or UDP).  del removes both
 * (-1 with ENOENT when neither was there).  read fills c (-1, ENOENT).
 * None allocates.
 */
int		 fastpath_flow_add(struct fastpath *,
		    const struct fastpath_flow *);
int		 fastpath_flow_del(struct fastpath *,
		    const struct fastpath_flow *);
int		 fastpath_flow_read(struct fastpath *,
		    const struct fastpath_flow *, struct fastpath_counters *);
/*
 * Calls cb once per flow in the map (one or both directions present),
 * e.g. to take the flows back after a restart; cb returns nonzero to
 * stop.  cb must not add or delete flows: collect them and act after.
 * Returns the number of flows seen, or -1.
 */
int		 fastpath_flow_walk(struct fastpath *,
		    int (*cb)(const struct fastpath_flow *,
		    const struct fastpath_counters *, void *), void *arg);

/*
 * The map read a batch at a time (bpf_map_lookup_batch), entry by entry:
 * cb gets each entry's flow, its direction (FASTPATH_HAS_TO_SERVER or
 * _TO_CLIENT) and what the program counted there.  A round over the
 * whole map may take several calls: sc (zeroed at first) keeps the
 * place; each call reads about budget entries.  Entries present for the
 * whole round are seen exactly once in it (a hash map never rehashes).
 * Returns 1 when the round is complete (the next call starts another),
 * 0 when the budget ran out first, or -1.
 */
#define FASTPATH_BATCH		1024	/* entries per system call */
struct fastpath_scan {
	uint64_t	 token[8];	/* the kernel's place (a bucket) */
	int		 started;
};
int		 fastpath_flow_scan(struct fastpath *, struct fastpath_scan *,
		    unsigned budget, int (*cb)(const struct fastpath_flow *,
		    int dir, const struct fastpath_dir *, void *), void *arg);

/*
 * The whole flow of one entry of the map (its key, and the new address,
 * port and direction of its value, or of an event): -1 if they make no
 * sense.
 */
int		 fastpath_flow_of(const struct fp_key *, const __u32 addr[4],
		    __u16 port, __u8 dir, struct fastpath_flow *);

/*
 * The event ring (fastpath_map.h): what the program tells loadd of the
 * TCP packets it carried with SYN, FIN or RST.  events_open maps the ring
 * and makes the descriptor to poll: as root, before any sandbox (reading
 * it then makes no system call).  read calls cb for each record waiting
 * (a record of the wrong size is counted in *bad, not passed on) and
 * returns how many it passed, or -1.
 */
struct fastpath_event {
	struct fastpath_flow	 flow;
	int			 dir;	/* FP_TO_SERVER: the client's packet */
	uint8_t			 tcpflags;
	uint64_t		 ns;	/* CLOCK_MONOTONIC */
};
struct fastpath_events;
typedef void	(*fastpath_event_fn)(const struct fastpath_event *, void *);

struct fastpath_events *fastpath_events_open(struct fastpath *,
		    fastpath_event_fn, void *arg);
int		 fastpath_events_fd(const struct fastpath_events *);
int		 fastpath_events_read(struct fastpath_events *, uint64_t *bad);
void		 fastpath_events_close(struct fastpath_events *);
/* The ring's descriptor (BPF_PROG_TEST_RUN's tests read it directly). */
int		 fastpath_events_map_fd(const struct fastpath *);

/* The program's counters, summed over the CPUs. */
int		 fastpath_stats_read(struct fastpath *, struct fastpath_stats *);
/* The clock of fastpath_dir.last_ns, in nanoseconds. */
uint64_t	 fastpath_now_ns(void);

#endif
