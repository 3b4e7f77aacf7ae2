/*
 * loadd's side of the lmd reports: what a received datagram may change,
 * and what the schedulers may ask about a server's agent.  No sockets
 * and no clocks in here: the caller passes the datagram, where it came
 * from and the time, so that every rule can be tested on its own.
 *
 * The agent state is an array parallel to pool->srv (same index), owned
 * by this module; struct server is left alone.
 */
#ifndef LOADD_AGENT_H
#define LOADD_AGENT_H

#include <stdint.h>

#include "addr.h"
#include "report.h"

struct pool;

#define AGENT_WINDOW_MS		30000	/* timestamps within +-30 s */
#define AGENT_STALE_INTERVALS	3	/* reports missed before falling back */
#define AGENT_NEWCONN_COST	10	/* per mille of CPU, when unknown */

/* What agent_receive() made of a datagram; one counter each. */
enum agent_result {
	AGENT_ACCEPTED = 0,
	AGENT_ELEN,		/* REPORT_ELEN */
	AGENT_EVERSION,		/* REPORT_EVERSION */
	AGENT_EKEYID,		/* REPORT_EKEYID */
	AGENT_EMAC,		/* REPORT_EMAC */
	AGENT_EFIELD,		/* REPORT_EFIELD: authentic but malformed */
	AGENT_ESENDER,		/* not from a configured server */
	AGENT_ESTALE,		/* timestamp outside the window */
	AGENT_EREPLAY,		/* sequence not newer than the last accepted */
	AGENT_EKEYSRV,		/* the key may not speak for that server */
	AGENT_EFUTURE,		/* sequence ahead of the clock */
	AGENT_NRESULTS,
};

/* What the last accepted report of one server said, and when. */
struct agent_state {
	int		 valid;		/* a report was accepted */
	uint64_t	 seq;		/* of the last accepted report */
	uint64_t	 rcvd_ms;	/* loadd's monotonic clock at acceptance */
	uint64_t	 flows_at;	/* the server's flows_total then */
	uint64_t	 reports;	/* accepted from this server */
	uint8_t		 overridden;	/* loadctl enable overrode its drain */
	struct report	 r;		/* the values */
};

struct agent {
	struct agent_state *st;		/* nsrv entries, like pool->srv */
	unsigned	 nsrv;
	const struct report_keys *keys;
	uint32_t	 window_ms;	/* allowed clock difference */
	uint32_t	 stale_intervals;
	uint64_t	 count[AGENT_NRESULTS];
};

/* Returns 0, or -1 if memory runs out.  keys must outlive the agent. */
int		 agent_init(struct agent *, const struct pool *,
		    const struct report_keys *, uint32_t window_ms,
		    uint32_t stale_intervals);
void		 agent_free(struct agent *);
/*
 * After a reload: the new keys and limits; the state of a slot whose
 * server is gone or new (slots, see reload.h) is forgotten, and so is one
 * whose report came with a key that the new key file no longer has, or
 * no longer lets speak for the server.
 */
void		 agent_reload(struct agent *, const struct pool *,
		    const struct report_keys *, const uint8_t *slots,
		    uint32_t window_ms, uint32_t stale_intervals);

/*
 * One received datagram of len bytes from (family, src), at wall-clock
 * time wall_ms (unix milliseconds) and monotonic time mono_ms.  A
 * v4-mapped IPv6 source counts as IPv4.  Returns an enum agent_result,
 * counted in a->count; only AGENT_ACCEPTED changes any state, and *srv
 * is then the index of the server in pool->srv.
 */
int		 agent_receive(struct agent *, const struct pool *,
		    const uint8_t *buf, size_t len, int family,
		    const union addr *src, uint64_t wall_ms, uint64_t mono_ms,
		    unsigned *srv);
const char	*agent_result_name(int);

/*
 * Milliseconds since the last report of server srv was accepted, or
 * UINT64_MAX if none ever was.
 */
uint64_t	 agent_age(const struct agent *, unsigned srv, uint64_t mono_ms);
/*
 * Whether server srv's agent data is fresh: a report was accepted less
 * than stale_intervals times its reported interval ago.  When it is not,
 * the schedulers use the configured weight and their own measurements.
 */
int		 agent_fresh(const struct agent *, unsigned srv,
		    uint64_t mono_ms);
/* Fresh, and the agent's check says the service is down. */
int		 agent_down(const struct agent *, unsigned srv, uint64_t mono_ms);
/*
 * The last accepted report asked for drain, it is fresh, and the
 * operator has not overridden it (see agent.c).
 */
int		 agent_drain(const struct agent *, unsigned srv,
		    uint64_t mono_ms);
/*
 * loadctl enable: if server srv's agent drains it now, overrides that
 * drain until the agent sends a report without drain; returns 1 then,
 * else 0.
 */
int		 agent_override_drain(struct agent *, unsigned srv,
		    uint64_t mono_ms);
/* The weight to use: the fresh hint if there is one, else configured. */
uint16_t	 agent_weight(const struct agent *, unsigned srv,
		    uint16_t configured, uint64_t mono_ms);
/*
 * Estimated CPU load of server srv, per mille (may exceed 1000), given
 * the new flows loadd sent it since its last report; see agent.c for the
 * formula.  agent_load_now() takes those flows from pool->srv's counter.
 */
uint32_t	 agent_load(const struct agent *, unsigned srv,
		    uint64_t flows_since);
uint32_t	 agent_load_now(const struct agent *, const struct pool *,
		    unsigned srv);
/* Reported established connections plus flows sent since. */
uint64_t	 agent_conns(const struct agent *, unsigned srv,
		    uint64_t flows_since);

#endif
