/*
 * Per-client limits (max_client_conns, max_client_rate): the flows a
 * client has open through a service and the new connections it may
 * open, in a table allocated at start (CLIENTS_WAYS-way sets, like the
 * persistence table): no allocation per packet.  A client is its address
 * cut to a prefix (IPv6 by /64 unless told otherwise), so that one host
 * cannot escape its limit by the addresses of its own network.
 *
 * When a set is full, the entry that knows least makes room: an empty
 * one, else one with no open flow seen least recently, else the least
 * recently seen (its client's count starts again; counted as evicted).
 */
#ifndef LOADD_CLIENTS_H
#define LOADD_CLIENTS_H

#include <stdint.h>

#include "addr.h"

#define CLIENTS_WAYS	4
#define CLIENT_MAXCONNS	1000000
#define CLIENT_MAXRATE	1000000	/* a bucket of it in thousandths fits */

/* What a service allows each client; 0: no limit. */
struct client_limits {
	uint32_t	 max_conns;	/* open flows at once */
	uint32_t	 rate;		/* new connections per second */
	uint32_t	 burst;		/* the bucket's size; 0: rate */
	uint8_t		 plen4;		/* the client's prefix: 1..32 */
	uint8_t		 plen6;		/* 1..128 */
};

struct client_ent {
	uint32_t	 key[4];	/* the address cut to its prefix */
	uint32_t	 active;	/* open flows */
	uint32_t	 tokens;	/* the bucket, in thousandths */
	uint32_t	 stamp_ms;	/* the bucket's last fill; last seen */
	uint32_t	 refused;	/* connections refused to it */
	uint16_t	 svc;
	uint8_t		 used;
	uint8_t		 family;
};

struct clients {
	struct client_ent *ent;
	uint32_t	 nsets;		/* a power of two */
	uint32_t	 seed;
	uint64_t	 evicted;	/* entries with open flows pushed out */
};

enum client_verdict {
	CL_OK = 0,
	CL_CONNS,	/* max_client_conns reached */
	CL_RATE,	/* max_client_rate exceeded */
};

int		 clients_init(struct clients *, uint32_t entries, uint32_t seed);
void		 clients_free(struct clients *);
int		 clients_limited(const struct client_limits *);
/* The table's key of a client address. */
void		 clients_key(const struct client_limits *, int family,
		    const union addr *, union addr *key);
/* A new connection: CL_OK (counted as open) or why not. */
int		 clients_admit(struct clients *, const struct client_limits *,
		    int family, const union addr *key, uint16_t svc,
		    uint32_t now_ms);
/* A connection admitted by clients_admit() ends. */
void		 clients_release(struct clients *, const union addr *key,
		    uint16_t svc);
/* An entry, or NULL: for show clients and the tests. */
const struct client_ent *clients_find(const struct clients *,
		    const union addr *key, uint16_t svc);

#endif
