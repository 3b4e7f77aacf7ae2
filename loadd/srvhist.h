/*
 * A short history of every server, for the status page's charts: new
 * flows and bytes in and out in each of the last SRVHIST_SECONDS
 * seconds.  The engine samples its own counters once a second, between
 * batches (engine_tick.c), never per packet; a reload clears the
 * history of a slot whose server is new or gone (reload.c), so that a
 * chart never mixes two servers.
 *
 * The rings are allocated once, for every slot the pool can have
 * (POOL_MAXSERVERS): a reload never allocates, and pages of slots that
 * have never been used are never touched.
 */
#ifndef LOADD_SRVHIST_H
#define LOADD_SRVHIST_H

#include <stdint.h>

#include "obuf.h"

#define SRVHIST_SECONDS	300

struct pool;

/* One second of one server, per second; a value that overflows is held. */
struct srvhist_sample {
	uint32_t	 flows;		/* flows sent to it */
	uint32_t	 bytes_in;	/* client -> server */
	uint32_t	 bytes_out;	/* server -> client */
};

/* Where a server's counters were at the last sample. */
struct srvhist_srv {
	uint64_t	 flows;
	uint64_t	 bytes_in;
	uint64_t	 bytes_out;
	uint16_t	 n;		/* seconds it has in its ring */
	uint8_t		 based;		/* the counters above are read */
};

struct srvhist {
	struct srvhist_srv	*srv;	/* POOL_MAXSERVERS */
	struct srvhist_sample	*ring;	/* SRVHIST_SECONDS per server */
	uint32_t		 t;	/* the second last sampled */
	unsigned		 head;	/* its place in every ring */
	int			 started;
};

int	 srvhist_init(struct srvhist *);
void	 srvhist_free(struct srvhist *);
/*
 * The seconds since the last call, from the pool's counters: a gap of
 * several seconds (a loop held up) is shared out evenly over them.
 */
void	 srvhist_tick(struct srvhist *, const struct pool *, uint32_t now);
/* Forgets slot i's history: its server is new or gone. */
void	 srvhist_forget(struct srvhist *, unsigned i);
/*
 * Server i's last seconds, oldest first, at most max of them; returns
 * how many.  The last one is the second before the last sample.
 */
unsigned srvhist_get(const struct srvhist *, unsigned i,
	    struct srvhist_sample *, unsigned max);
/*
 * The same in JSON: {"seconds":N,"new_flows":[...],"bytes_in":[...],
 * "bytes_out":[...]}, N values each.
 */
void	 srvhist_json(const struct srvhist *, unsigned i, struct obuf *);

#endif
