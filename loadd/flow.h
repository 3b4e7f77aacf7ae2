/*
 * The flow table.  One entry per client connection through a service,
 * keyed by (client address, client port, service): the same key serves
 * both directions, because a server's address and port name its service
 * (the configuration makes that mapping unique).
 *
 * Everything is allocated at start-up, for maxflows entries; the packet
 * path never allocates.  Entries sit on one list per timeout class, in the
 * order they were last linked, so expiry looks only at list heads.
 */
#ifndef LOADD_FLOW_H
#define LOADD_FLOW_H

#include <stdint.h>

#include "addr.h"
#include "hash.h"

enum flow_state {
	FS_NONE = 0,
	FS_SYN_SENT,		/* client SYN seen */
	FS_SYN_RECV,		/* server SYN+ACK seen */
	FS_ESTABLISHED,		/* client ACK of the SYN+ACK seen */
	FS_FIN_WAIT,		/* one side sent FIN */
	FS_TIME_WAIT,		/* both sides sent FIN */
	FS_CLOSE,		/* RST seen */
	FS_UDP,
	FS_RECOVERED,		/* mid-stream, server found again by hash */
	FS_OFFLOADED,		/* handed to the kernel (offload = yes) */
	FS_UDP_UNREPLIED,	/* UDP, no answer from the server yet */
	FS_OFFLOAD_PENDING,	/* handed over; conntrack has not confirmed */
	FS_NSTATES
};

/* Timeout classes; each has its own list and idle timeout. */
enum flow_class {
	FC_HALFOPEN = 0,	/* SYN_SENT, SYN_RECV, RECOVERED and
				   OFFLOAD_PENDING: evicted first */
	FC_CLOSING,		/* FIN_WAIT, TIME_WAIT, CLOSE: evicted next */
	FC_ESTABLISHED,		/* never evicted */
	FC_UDP,			/* evicted only from a service over its share */
	FC_OFFLOADED,		/* the kernel's: evicted after CLOSING, as
				   only loadd's bookkeeping goes */
	FC_UDP_UNREPLIED,	/* no answer yet: evicted first, with HALFOPEN */
	FC_N
};

#define FLOW_NIL	0u
/* How many of the oldest UDP flows an insertion looks at for eviction. */
#define FLOW_SHARE_SCAN	8

/* Seen-flags: a FIN from each side, and the conntrack sweep's mark. */
#define FLOW_CFIN	0x01
#define FLOW_SFIN	0x02
#define FLOW_CTSWEEP	0x04	/* offloaded: not yet seen in a conntrack dump */
#define FLOW_CLIENT	0x08	/* counted in its client's open flows */
#define FLOW_FAST	0x10	/* offload = bpf: in the fast path's map */
#define FLOW_FPNO	0x20	/* offload = bpf: kept out of it (refused) */

struct flow {
	uint32_t	caddr[4];	/* client address (union addr words) */
	uint32_t	hnext;		/* hash chain, or free list */
	uint32_t	prev;		/* class list */
	uint32_t	next;
	uint32_t	last;		/* last packet, seconds */
	uint32_t	linked;		/* when put on its class list */
	uint16_t	cport;		/* client port, network order */
	uint16_t	svc;		/* service index */
	uint16_t	srv;		/* server index */
	uint8_t		state;		/* enum flow_state */
	uint8_t		cls;		/* enum flow_class */
	uint8_t		seen;		/* FLOW_CFIN ... FLOW_FPNO */
	uint8_t		synms[3];	/* SYN time, ms modulo 2^24 */
	/*
	 * TCP: the next sequence number the client and the server will
	 * send, so that a flow can be reset at both ends.  An offloaded
	 * flow's packets go through the kernel, not loadd, and neither
	 * field follows them: cseq stays what the client's first packet
	 * made it (0 for a flow adopted from conntrack), so that the same
	 * SYN sent again is told from a new connection; sseq is not a
	 * sequence number at all but conntrack's id of the connection, 0
	 * until conntrack confirms it, and a destroy event ends the flow
	 * only if it carries this id, not an older connection's on the
	 * same addresses and ports.
	 */
	uint32_t	cseq;
	uint32_t	sseq;
};

/* Handed to the kernel (offload = yes), confirmed by conntrack or not. */
static inline int
flow_offloaded(const struct flow *f)
{
	return (f->state == FS_OFFLOADED || f->state == FS_OFFLOAD_PENDING);
}

struct flow_list {
	uint32_t	head;
	uint32_t	tail;
	uint32_t	count;
};

struct flowtab_stats {
	uint64_t	inserted;
	uint64_t	expired;
	uint64_t	evicted;
	uint64_t	full;		/* inserts refused: table full */
};

typedef void	(*flow_release_fn)(void *arg, const struct flow *);
/* Whether a service holds more than its share of the table. */
typedef int	(*flow_over_share_fn)(void *arg, unsigned svc);

struct flowtab {
	struct flow	*f;		/* f[0] is unused: index 0 is nil */
	uint32_t	*bucket;
	size_t		 fsize;		/* mapped sizes, 0 if from malloc */
	size_t		 bsize;
	uint32_t	 mask;
	uint32_t	 cap;
	uint32_t	 count;
	uint32_t	 freelist;
	struct hkey	 hkey;		/* secret, random at start */
	uint32_t	 timeout[FC_N];
	struct flow_list list[FC_N];
	struct flowtab_stats st;
	flow_release_fn	 release;	/* called for every entry that goes */
	flow_over_share_fn over_share;	/* may be NULL: UDP never evicted */
	void		*arg;
};

int		 flowtab_init(struct flowtab *, uint32_t maxflows,
		    uint64_t seed);
void		 flowtab_free(struct flowtab *);
void		 flowtab_set_release(struct flowtab *, flow_release_fn,
		    void *);

/*
 * Inserts a new entry; when the table is full, evicts the oldest entry
 * nobody has answered (half-open TCP, unreplied UDP), else the oldest
 * closing one, else an offloaded one, else the oldest of the few oldest
 * UDP flows of a service over its share (over_share).  Established TCP
 * flows are never evicted.
 */
struct flow	*flow_insert(struct flowtab *, uint32_t hash,
		    const union addr *, uint16_t cport, uint16_t svc,
		    uint16_t srv, uint8_t state, uint32_t now);
void		 flow_remove(struct flowtab *, struct flow *);
/* Whether flow_insert() would find room (free, or an entry to evict). */
int		 flow_room(const struct flowtab *);
void		 flow_set_state(struct flowtab *, struct flow *, uint8_t state,
		    uint32_t now);
/* Expires idle entries, looking at no more than budget entries. */
uint32_t	 flow_expire(struct flowtab *, uint32_t now, uint32_t budget);
int		 flow_class_of(uint8_t state);
const char	*flow_state_name(int);

/* Per packet, so inline: the hash of a flow's key, and the lookup. */
static inline uint32_t
flow_hash(const struct flowtab *ft, const union addr *a, uint16_t cport,
    uint16_t svc)
{
	return (hash_words(&ft->hkey, a->w, (uint32_t)cport << 16 | svc));
}

static inline struct flow *
flow_lookup(struct flowtab *ft, uint32_t hash, const union addr *a,
    uint16_t cport, uint16_t svc)
{
	uint32_t	 i;
	struct flow	*f;

	for (i = ft->bucket[hash_slot(hash, ft->mask)]; i != FLOW_NIL;
	    i = f->hnext) {
		f = &ft->f[i];
		if (f->cport == cport && f->svc == svc &&
		    f->caddr[3] == a->w[3] && f->caddr[0] == a->w[0] &&
		    f->caddr[1] == a->w[1] && f->caddr[2] == a->w[2])
			return (f);
	}
	return (NULL);
}

#endif
