/*
 * The scheduler interface: a table of balancing methods by name.  A
 * method picks a server of a service for a new flow; flows already in
 * the table never ask again.
 */
#ifndef LOADD_SCHED_H
#define LOADD_SCHED_H

#include <stdint.h>
#include <stdio.h>

struct pkt;
struct pool;
struct service;

struct sched_method {
	const char	*name;
	const char	*alias;		/* a historical spelling, or NULL */
	const char	*descr;
	/* Returns the index of a server in pool->srv, or -1 when none. */
	int		(*pick)(struct pool *, struct service *,
			    const struct pkt *, uint32_t now);
};

const struct sched_method	*sched_find(const char *name);
const struct sched_method	*sched_default(void);
void				 sched_list(FILE *, const char *indent);

/* Whether a server takes new flows: up and a weight above 0. */
int				 sched_usable(const struct pool *, unsigned);

#endif
