/*
 * Reload: a new configuration swapped in under running traffic.
 */
#ifndef LOADD_RELOAD_H
#define LOADD_RELOAD_H

#include <stddef.h>
#include <stdint.h>

#include "pool.h"

struct config;
struct engine;

/* What a reload did to a server slot. */
enum reload_slot {
	RS_SAME = 0,	/* the same server, or a free slot still free */
	RS_NEW,		/* a server new to the slot */
	RS_FREED,	/* its server is gone */
};

/*
 * Moves the engine from the configuration old to nc, which config_load()
 * has read without error; the running pool becomes nc's.  Services and
 * servers keep their slots: those that stay take the new configuration
 * and keep everything that runs (flows, counters, health, agent data,
 * the operator's drain or disable); new ones take free slots; a server
 * that is gone but still has flows stays as a draining "ghost" until
 * its flows end (a later reload frees its slot); flows of a server now
 * serving another service are dropped from the table.  slots
 * (POOL_MAXSERVERS entries) receives what happened to each server slot
 * (enum reload_slot).
 *
 * Returns 0, or -1 with why in err and nothing changed (what cannot change
 * without a restart: the queue, the report socket, the control socket;
 * more slots than the pool has; memory).
 */
int	 reload_swap(struct engine *, struct config *old, struct config *nc,
	    uint8_t *slots, char *err, size_t errlen);

#endif
