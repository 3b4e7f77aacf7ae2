/*
 * Why the engine drops a packet: one counter per reason, for the whole
 * engine and for each service.
 */
#ifndef LOADD_DROP_H
#define LOADD_DROP_H

#include "pkt.h"

/* Why the engine dropped a packet.  engine_drop_name() names each. */
enum drop_reason {
	DROP_PARSE = 0,		/* + enum pkt_err: one counter per parse error */
	DROP_FRAGMENT = PKT_NERR,	/* a fragment of a balanced flow */
	DROP_NOSERVICE,		/* to a virtual address, no such service */
	DROP_NOFLOW,		/* mid-stream packet of an unknown flow */
	DROP_TABLEFULL,		/* new flow, no room even after eviction */
	DROP_NOSERVER,		/* new flow, no usable server */
	DROP_TRUNCATED,		/* the I/O layer could not give us it all */
	DROP_ICMP_CSUM,		/* an ICMP error to translate, bad checksum */
	/* Limits (connlimit.h): refused as no_server is, or dropped (rate). */
	DROP_FULL,		/* new flow, every usable server at its cap */
	DROP_MAXCLIENTS,	/* new flow, the service at max_clients */
	DROP_CLIENT_CONNS,	/* new flow, its client at max_client_conns */
	DROP_CLIENT_RATE,	/* new flow, its client over max_client_rate */
	DROP_NREASONS
};

#endif
