/*
 * offload = bpf in the live daemon (Linux, LOADD_FASTPATH): the fast
 * path opened and attached as root, its map filled and read for the
 * engine by the packet process.  live_fp.c says how.
 */
#ifndef LOADD_LIVE_FP_H
#define LOADD_LIVE_FP_H

#include <stdint.h>

struct config;
struct engine;
struct livefp;

/* As root, before the drop: open (or adopt) and attach; exits on failure. */
struct livefp	*livefp_open(const struct config *);
/* After the drop: the engine's queue, and the flows the map still has. */
void		 livefp_start(struct livefp *, struct engine *, uint32_t now);
/* The descriptor that is readable while the program's events wait. */
int		 livefp_fd(const struct livefp *);
/* The program's events (SYN, FIN, RST it carried) to the engine. */
void		 livefp_events(struct livefp *, struct engine *, uint32_t now);
/* Carries out the engine's adds (and what came before them): first. */
void		 livefp_adds(struct livefp *, struct engine *);
/* Carries out what the engine queued. */
void		 livefp_drain(struct livefp *, struct engine *);
/* Reads the counters of a budget of the map's flows for the engine. */
void		 livefp_poll(struct livefp *, struct engine *, uint32_t now);
/* Closes the descriptors; the program, its pins and its filters stay. */
void		 livefp_close(struct livefp *);

#endif
