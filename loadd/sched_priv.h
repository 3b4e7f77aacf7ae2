/*
 * What the methods' files share (sched.c, sched_maglev.c); not for the
 * rest of loadd, which goes through sched.h.
 */
#ifndef LOADD_SCHED_PRIV_H
#define LOADD_SCHED_PRIV_H

#include <stdint.h>

#include "pool.h"

struct pkt;
struct sched_ctx;

/* A hash of a server's own identity, stable whatever else the pool has. */
uint32_t	 sched_server_hash(const struct server *, uint32_t seed);
int		 sched_pick_roundrobin(struct pool *, struct service *,
		    const struct pkt *, const struct sched_ctx *);
int		 sched_maglev_pick(struct pool *, struct service *,
		    const struct pkt *, const struct sched_ctx *);
int		 sched_maglev_setup(struct pool *, struct service *);

#endif
