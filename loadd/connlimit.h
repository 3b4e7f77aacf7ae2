/*
 * Connection limits (issue 19): a server's cap (maxconn, with its
 * low-water mark lowconn), a service's max_clients and its clients'
 * limits (clients.h).  The engine asks on the first packet of a flow, so
 * the limits hold with every method and with offload alike.
 */
#ifndef LOADD_CONNLIMIT_H
#define LOADD_CONNLIMIT_H

#include <stdint.h>

struct pool;
struct server;

/*
 * A server's flow count or cap changed: whether it is at its cap now,
 * the time spent there and the times it got there follow (ms: the
 * engine's millisecond clock).
 */
void	 srv_cap_update(struct server *, uint32_t ms);
/* Once a second: every server's state against its cap, time at cap. */
void	 limits_tick(struct pool *, uint32_t ms);

#endif
