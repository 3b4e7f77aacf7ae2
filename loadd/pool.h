/*
 * Services and servers: what the engine balances.  A service is a virtual
 * address, port and protocol with its own pool of real servers and its
 * own method.  The control plane owns these tables; the engine reads them
 * and bumps the counters.
 */
#ifndef LOADD_POOL_H
#define LOADD_POOL_H

#include <arpa/inet.h>

#include <stdint.h>

#include "addr.h"
#include "clients.h"
#include "hash.h"
#include "drop.h"

#define POOL_MAXSERVICES	1024
#define POOL_MAXSERVERS		4096
#define SRV_NAMELEN		64
#define SVC_LABELLEN		32

/* What the schedulers see: the worst of health and the operator's word. */
enum srv_state {
	SRV_UP = 0,
	SRV_DOWN,
	SRV_DRAINING,
	SRV_DISABLED,
};

/* Why a server is in its state (the last transition's cause). */
enum srv_reason {
	SR_START = 0,		/* the state it starts in */
	SR_PROBE,		/* an active probe */
	SR_PASSIVE,		/* SYNs unanswered or refused */
	SR_AGENT,		/* its lmd agent */
	SR_OPERATOR,		/* configuration or loadctl */
	SR_RETRY,		/* passive down, tried again (no probes) */
};

/*
 * A part of a structure that can also be named as a whole, in the manner
 * of the kernel's struct_group(): the members are reached as if the group
 * were not there (s->addr), and the group is assigned at once
 * (s->conf = from->conf).
 */
#define STRUCT_GROUP(TAG, NAME, ...)					\
	union {								\
		struct { __VA_ARGS__ };					\
		struct TAG { __VA_ARGS__ } NAME;			\
	}

/*
 * A real server.  It keeps its slot in the pool for its whole life:
 * flows, persistence, probes and agent reports name it by its index, and
 * a reload never renumbers (reload.c).  Each part has one owner.
 */
struct server {
	/* What the file says: config_build.c builds it, a reload replaces it. */
	STRUCT_GROUP(srv_conf, conf,
	union addr	 addr;
	uint16_t	 port;		/* host byte order */
	uint16_t	 svc;		/* its service's slot */
	uint16_t	 cweight;	/* configured */
	uint8_t		 family;
	uint8_t		 backup;	/* only while no primary is up */
	uint8_t		 cfgdisabled;	/* "disabled" in the configuration */
	uint32_t	 mark;		/* offload: the first packet's mark */
	uint32_t	 maxconn;	/* active flows it takes; 0: no cap */
	uint32_t	 lowconn;	/* at its cap until active <= this */
	unsigned	 line;		/* where the configuration names it */
	char		 name[SRV_NAMELEN];	/* "addr:port" */
	);

	/*
	 * Its state: srvstate.c (probe verdicts, passive signs, agents'
	 * verdicts, slow start), loadctl's word (admin) and reload.c (used,
	 * ghost).
	 */
	uint8_t		 used;		/* 0: a free slot */
	uint8_t		 ghost;		/* gone by a reload, draining its flows */
	uint8_t		 state;		/* enum srv_state */
	uint8_t		 reason;	/* enum srv_reason */
	uint8_t		 healthy;	/* health checks say up */
	uint8_t		 admin;		/* SRV_UP, SRV_DRAINING, SRV_DISABLED */
	uint8_t		 agent_down;	/* its agent says its service is down */
	uint8_t		 agent_drain;	/* its agent asks for drain */
	uint8_t		 drained;	/* "safe to stop" was said */
	uint16_t	 weight;	/* in effect (slow start); 0: no new flows */

	/* Scheduler state: sched.c. */
	int64_t		 cw;		/* smooth weighted round-robin */
	uint64_t	 rate;		/* bytes per second, decaying average */
	uint64_t	 rate_bytes;	/* bytes counted at the last sample */
	uint32_t	 rtt_us;	/* SYN to SYN+ACK, peak-decaying */

	/* Passive health: written by the engine, read by srvstate.c. */
	uint32_t	 syn_pending_ms;	/* oldest unanswered SYN; 0: none */
	uint32_t	 synacks;	/* SYN+ACKs seen */
	uint32_t	 refused;	/* SYNs answered with a RST */

	/* Its cap (maxconn): connlimit.c, for the engine. */
	uint8_t		 atcap;		/* takes no new flow (srv_full) */
	uint32_t	 atcap_since;	/* ms, when at cap */
	uint64_t	 atcap_ms;	/* time at its cap, to the last tick */
	uint64_t	 atcap_times;	/* times it reached its cap */

	/* Counters, written by the engine only. */
	uint64_t	 flows_active;
	uint64_t	 flows_total;
	uint64_t	 pkts_in;	/* client -> server */
	uint64_t	 pkts_out;	/* server -> client */
	uint64_t	 bytes_in;
	uint64_t	 bytes_out;
};

struct sched_method;
struct hcconf;

/* A service keeps its slot too; the same parts, the same owners. */
struct service {
	/* What the file says: config_build.c, replaced by a reload. */
	STRUCT_GROUP(svc_conf, conf,
	union addr	 vip;
	uint16_t	 port;		/* host byte order */
	uint8_t		 family;
	uint8_t		 proto;
	char		 name[SRV_NAMELEN];	/* "vip:port/proto" */
	char		 label[SVC_LABELLEN];	/* "service =" name, "default" */
	unsigned	 specline;	/* its "service =" line, 0: implicit */
	const struct sched_method *method;
	uint32_t	 hashkey;	/* sourcehash = key, maglev */
	uint32_t	 sticky;	/* persistence in seconds, 0: off */
	uint32_t	 maglev_size;	/* a prime */
	uint32_t	 max_clients;	/* its active flows; 0: no limit */
	struct client_limits climits;	/* per client; see clients.h */
	);
	const struct hcconf *hc;	/* its health settings: pool->hcs[slot] */

	/* Its servers, by slot: config_build.c and reload.c. */
	uint16_t	*members;
	uint16_t	 nsrv;
	uint8_t		 used;		/* 0: a free slot */
	uint8_t		 ghost;		/* gone by a reload, its servers draining */
	uint8_t		 use_backup;	/* no primary server takes flows */

	/* Scheduler state: sched.c. */
	uint32_t	 rr_next;
	uint64_t	 rnd;		/* random, random2 */
	uint16_t	*maglev;	/* lookup table: a member's position */

	/* Counters: the engine. */
	uint64_t	 pkts_in;
	uint64_t	 pkts_out;
	uint64_t	 bytes_in;
	uint64_t	 bytes_out;
	uint64_t	 flows_active;
	uint64_t	 flows_total;
	uint64_t	 drops[DROP_NREASONS];
};

/*
 * Whether a server is at its cap (maxconn): full, or it was and has not
 * yet come down to its low-water mark (lowconn, by default maxconn - 1:
 * a place is free as soon as one flow ends).
 */
static inline int
srv_full(const struct server *s)
{
	uint32_t	 low;

	if (s->maxconn == 0)
		return (0);
	low = s->lowconn != 0 && s->lowconn < s->maxconn ? s->lowconn :
	    s->maxconn - 1;
	return (s->flows_active >= s->maxconn ||
	    (s->atcap && s->flows_active > low));
}

/* The server in position k of a service. */
#define SVC_SRV(p, svc, k)	(&(p)->srv[(svc)->members[(k)]])

/*
 * Slots 0 .. nsvc-1 and 0 .. nsrv-1, some of them free (used = 0) after
 * a reload took their occupant away; a service lists its servers' slots.
 * Lookup by address uses small open hash tables built by pool_index().
 */
struct pool {
	struct service	*svc;
	unsigned	 nsvc;
	unsigned	 nsvc_used;	/* not counting free slots */
	struct server	*srv;
	unsigned	 nsrv;
	struct hcconf	*hcs;		/* health settings, one per service */

	uint32_t	*svc_map;	/* (proto, vip, port) -> service + 1 */
	uint32_t	*srv_map;	/* (proto, addr, port) -> server + 1 */
	uint32_t	*vip_map;	/* virtual address -> service + 1 */
	uint32_t	 svc_mask;
	uint32_t	 srv_mask;
	uint32_t	 seed;
	struct hkey	 hkey;		/* from seed */
};

int		 pool_index(struct pool *, uint32_t seed);
/* Whether a primary (not backup) server of svc takes new flows. */
int		 pool_primary_up(const struct pool *, const struct service *);
void		 pool_free(struct pool *);
int		 pool_is_vip(const struct pool *, uint8_t family,
		    const union addr *);
const char	*srv_state_name(int);
const char	*srv_reason_name(int);

/*
 * The service of a virtual address:port and the server of a real one: on
 * every packet, so inline.  Open addressing (linear probing from the
 * hash's slot), at most a quarter full.
 */
static inline uint32_t
pool_hash(const struct hkey *hk, uint32_t mask, uint8_t family,
    uint8_t proto, const union addr *a, uint16_t port)
{
	return (hash_slot(hash_words(hk, a->w,
	    (uint32_t)port << 16 | (uint32_t)family << 8 | proto), mask));
}

static inline struct service *
pool_find_service(const struct pool *p, uint8_t family, uint8_t proto,
    const union addr *a, uint16_t port_be)
{
	uint32_t	 h, i;
	struct service	*s;

	h = pool_hash(&p->hkey, p->svc_mask, family, proto, a, port_be);
	while ((i = p->svc_map[h & p->svc_mask]) != 0) {
		s = &p->svc[i - 1];
		if (s->proto == proto && s->family == family &&
		    htons(s->port) == port_be &&
		    addr_eq(&s->vip, a))
			return (s);
		h++;
	}
	return (NULL);
}

static inline struct server *
pool_find_server(const struct pool *p, uint8_t family, uint8_t proto,
    const union addr *a, uint16_t port_be)
{
	uint32_t	 h, i;
	struct server	*s;

	h = pool_hash(&p->hkey, p->srv_mask, family, proto, a, port_be);
	while ((i = p->srv_map[h & p->srv_mask]) != 0) {
		s = &p->srv[i - 1];
		if (p->svc[s->svc].proto == proto && s->family == family &&
		    htons(s->port) == port_be && addr_eq(&s->addr, a))
			return (s);
		h++;
	}
	return (NULL);
}

#endif
