/*
 * The scheduler interface: a table of balancing methods by name.  A
 * method picks a server of a service for a new flow; flows already in
 * the table never ask again.
 */
#ifndef LOADD_SCHED_H
#define LOADD_SCHED_H

#include <stdint.h>
#include <stdio.h>

struct agent;
struct pkt;
struct pool;
struct service;

/*
 * What a method may know besides the pool: the lmd agents' reports and
 * the time to judge their freshness by.  Runtime state, so the engine
 * owns it (engine_set_agent, engine_set_mono_ms), not the configuration.
 */
struct sched_ctx {
	const struct agent *agent;	/* lmd reports, or NULL */
	uint64_t	 now_ms;	/* monotonic, for their freshness */
};

struct sched_method {
	const char	*name;
	const char	*alias;		/* a historical spelling, or NULL */
	const char	*descr;
	/* The index of a server in pool->srv, or -1 when none; sc not NULL. */
	int		(*pick)(struct pool *, struct service *,
			    const struct pkt *, const struct sched_ctx *);
	/*
	 * Builds what the method needs once the servers are known, and again
	 * whenever which servers take new flows changes; NULL if nothing.
	 */
	int		(*setup)(struct pool *, struct service *);
	/* The same server for the same flow, without state (stateless). */
	int		 consistent;
	/* Weights shape a hash: changing them moves clients (no slow start). */
	int		 hashed;
};

const struct sched_method	*sched_find(const char *name);
const struct sched_method	*sched_default(void);
void				 sched_list(FILE *, const char *indent);
const char			*sched_names(char *, size_t);

/* Whether a server takes new flows: up and a weight above 0. */
int				 sched_usable(const struct pool *, unsigned);
/* Usable and not at its cap (maxconn): what the methods pick from. */
int				 sched_open(const struct pool *, unsigned);
/* Builds the setup of every service; -1 if memory runs out. */
int				 sched_setup(struct pool *);
/* A weight of one of the service's servers changed: tables follow. */
void				 sched_weights_changed(struct pool *, unsigned);
/* Samples each server's traffic: call once a second. */
void				 sched_tick(struct pool *, uint32_t now);
/* A measured SYN to SYN+ACK time of a server. */
void				 sched_rtt_sample(struct pool *, unsigned,
				    uint32_t us);
/* Maglev's lookup, for the flow of p (by client and service). */
int				 sched_maglev_lookup(const struct pool *,
				    const struct service *, const struct pkt *);
int				 sched_is_prime(uint32_t);
/* What an agent-based method does without agents; NULL for the others. */
const char			*sched_agent_fallback(const struct sched_method *);
/* pf's bitmask: the servers are one network, each address a server. */
int				 sched_takes_network(const struct sched_method *);
/*
 * Whether a method measures the servers' answers or traffic, which loadd
 * does not see when the kernel carries established flows (offload).
 */
int				 sched_measures_replies(
				    const struct sched_method *);

#define MAGLEV_SIZE_DEFAULT	65537
#define MAGLEV_SIZE_MAX		131071

#endif
