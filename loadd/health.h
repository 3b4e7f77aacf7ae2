/*
 * Health: whether each server takes new flows.  Active probes (TCP
 * connect, HTTP GET, ICMP echo) run in loadd's own loop on non-blocking
 * sockets, so nothing here ever waits; passive detection reads what the
 * engine saw (SYNs unanswered or refused).  The result is the server's
 * state, with the reason of its last change, logged once per change.
 *
 * health.c holds the two parts: the probes (hcprobe.c) and the server
 * state machine (srvstate.c), which srv_update() and hcount_result() are
 * part of.
 */
#ifndef LOADD_HEALTH_H
#define LOADD_HEALTH_H

#include <poll.h>
#include <stdint.h>

#include "pool.h"

enum hc_type {
	HC_TCP = 0,
	HC_HTTP,
	HC_ICMP,
	HC_NONE,
};

/* What happens to a down server's flows. */
enum hc_downflows {
	HC_KEEP = 0,		/* they go on until they time out (IPVS) */
	HC_RESET,		/* RST to both ends; UDP flows are forgotten */
};

/* What a new flow gets when no server takes it. */
enum hc_noserver {
	HC_NS_RESET = 0,	/* TCP: RST; UDP: ICMP port unreachable */
	HC_NS_ICMP,		/* ICMP port unreachable */
	HC_NS_DROP,		/* nothing: the client retries */
};

#define HC_PATHLEN	256
#define HC_BODYLEN	128
#define HC_HOSTLEN	128

/* A service's health settings, as the configuration gives them. */
struct hcconf {
	uint8_t		 type;		/* enum hc_type */
	uint8_t		 start_up;	/* servers start up (1) or down (0) */
	uint8_t		 passive;	/* passive detection on */
	uint8_t		 down_flows;	/* enum hc_downflows */
	uint8_t		 noserver;	/* enum hc_noserver */
	uint16_t	 port;		/* 0: the server's own port */
	uint32_t	 interval_ms;
	uint32_t	 timeout_ms;
	uint32_t	 rise;
	uint32_t	 fall;
	uint32_t	 passive_timeout_ms;
	uint32_t	 passive_fall;
	uint32_t	 passive_retry;	/* s: retry a passive down, no probes */
	uint32_t	 slowstart;	/* s: weight ramps up after coming up */
	uint16_t	 status_lo;	/* HTTP status accepted */
	uint16_t	 status_hi;
	char		 path[HC_PATHLEN];
	char		 host[HC_HOSTLEN];	/* "": the server's address */
	char		 body[HC_BODYLEN];	/* "": not checked */
};

void		 hcconf_default(struct hcconf *);
const char	*hc_type_name(int);

/*
 * The counting of one server's results, apart from any socket, so that
 * it can be tested alone: rise successes in a row bring a down server up,
 * fall failures in a row take an up one down.
 */
struct hcount {
	uint32_t	 ok;		/* successes in a row */
	uint32_t	 bad;		/* failures in a row */
	uint8_t		 up;
};

/* Counts one result; returns 1 when the state changed. */
int		 hcount_result(struct hcount *, int ok, uint32_t rise,
		    uint32_t fall);

struct health;

/*
 * Sets every server's starting state.  Opens what ICMP probes need
 * (a raw socket, before privileges go); NULL with errno on failure.
 */
struct health	*health_new(struct pool *);
/* Opens the raw ICMP sockets now, for the probes of every later pool. */
void		 health_preopen(void);
void		 health_free(struct health *);
/* The descriptors to poll; returns how many were filled (<= max). */
unsigned	 health_pollfds(struct health *, struct pollfd *, unsigned max);
/* Milliseconds until health_run() has something to do. */
int		 health_timeout(const struct health *, uint64_t now_ms);
/*
 * Reads results (pfd as filled by health_pollfds, after poll), times out
 * probes, starts those that are due, judges passive signs, moves slow
 * starts along.  Servers that went out of service are marked in *gone
 * (one flag per server), so that their flows can be reset.
 */
void		 health_run(struct health *, const struct pollfd *, unsigned n,
		    uint64_t now_ms, uint8_t *gone);
/* A server new in the pool (a reload added it) ramps up, if slow start. */
void		 health_ramp(struct health *, unsigned srv);
/* The operator's word (or the agent's): SRV_UP, SRV_DRAINING, SRV_DISABLED. */
void		 health_set_admin(struct health *, unsigned srv, int admin,
		    int reason);

struct agent;
/* Applies what the agents say (down, drain) and says when drained. */
void		 health_agents(struct health *, const struct agent *,
		    uint64_t now_ms, uint8_t *gone);

struct health_stats {
	uint64_t	 probes;
	uint64_t	 ok;
	uint64_t	 failed;
	uint64_t	 timeouts;
	uint64_t	 transitions;
};
const struct health_stats *health_stats(const struct health *);
/*
 * After reload_swap() (slots: what it did to each server slot): the
 * health of the servers that stay goes on (probes in flight, results in
 * a row, passive history, slow start) unless their probe changed; new
 * servers start from their configured verdict, freed slots are
 * forgotten; the counters go on.  -1 with errno when an ICMP socket the
 * new configuration needs cannot be had: those probes fail, said.
 */
int		 health_reload(struct health *, const uint8_t *slots,
		    uint64_t now_ms);

/*
 * Recomputes a server's state from health and the operator's word, and
 * its service's use of backups; rebuilds what depends on the pool.
 * Returns 1 if the server stopped taking new flows.
 */
int		 srv_update(struct pool *, unsigned srv, int reason,
		    const char *why);

#endif
