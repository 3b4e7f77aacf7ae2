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

#define RELOAD_GONE	UINT16_MAX

/*
 * Moves the engine from the configuration old to nc, which config_load()
 * has read without error.  Servers and services that stay keep their
 * flows, counters, health and operator state; a server that is gone but
 * still has flows stays as a draining "ghost" until its flows end (the
 * next reload forgets it); flows of a server now serving another service
 * are dropped from the table.  srvmap (old->nsrv entries) receives each
 * old server's new index, or RELOAD_GONE.
 *
 * Returns 0, or -1 with why in err and nothing changed (what cannot change
 * without a restart: the queue, the report socket, the control socket).
 */
int	 reload_swap(struct engine *, struct config *old, struct config *nc,
	    uint16_t *srvmap, char *err, size_t errlen);

#endif
