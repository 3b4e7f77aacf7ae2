/*
 * Persistence (sticky = SECONDS): a client returns to the server it had,
 * whatever the method, until it has been away that long.  A bounded
 * client table, as pen's and pf's sticky-address: 4-way sets, the least
 * recently used entry of a set makes room.  Allocated at start.
 */
#ifndef LOADD_STICKY_H
#define LOADD_STICKY_H

#include <stdint.h>

#include "addr.h"

struct sticky_ent {
	uint32_t	caddr[4];
	uint32_t	last;		/* seconds */
	uint16_t	svc;
	uint16_t	srv;		/* server index + 1; 0: empty */
};

struct sticky {
	struct sticky_ent *ent;
	uint32_t	 nsets;		/* a power of two */
	uint32_t	 seed;
	uint64_t	 hits;
	uint64_t	 replaced;	/* live entries pushed out */
};

#define STICKY_WAYS	4

int		 sticky_init(struct sticky *, uint32_t entries, uint32_t seed);
void		 sticky_free(struct sticky *);
/* The server the client had within timeout seconds, or -1. */
int		 sticky_get(struct sticky *, const union addr *, uint16_t svc,
		    uint32_t now, uint32_t timeout);
/* Remembers (or refreshes) the client's server. */
void		 sticky_put(struct sticky *, const union addr *, uint16_t svc,
		    uint16_t srv, uint32_t now, uint32_t timeout);

/* After a reload: forgets the clients of the servers gone[slot] names. */
void		 sticky_forget(struct sticky *, const uint8_t *gone,
		    unsigned nsrv);

#endif
