/*
 * The engine test rig of check_engine.c and check_health.c: a pool built
 * from a configuration text exactly as loadd builds it, an engine on it,
 * and one packet at a time through engine_process().
 *
 *	client 198.51.100.7:port  ->  VIP 192.0.2.10:80  ->  the servers
 */
#ifndef LOADD_TEST_RIG_H
#define LOADD_TEST_RIG_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "engine.h"
#include "unit.h"

#define CLIENT		"198.51.100.7"
#define VIP		"192.0.2.10"

struct rig {
	struct config	 conf;
	struct engine	 e;
	uint8_t		 buf[2048];	/* the last packet, as the engine left it */
	uint8_t		 orig[2048];	/* and before */
	struct pktbuf	 pb;
	size_t		 len;
	uint32_t	 now;		/* what each call says the time is */
};

/* Each test runs in its own process: one rig per test is enough. */
extern struct rig	 R;

void		 rig_open(const char *text);
void		 rig_close(void);
/* Builds a packet, hands it to the engine and returns the verdict. */
int		 rig_run(const struct tpkt *);
/* A TCP segment from the client's port to VIP:80 (10 bytes of data). */
int		 rig_c2v(uint16_t cport, uint8_t flags);
/* A TCP segment from a server to the client's port (21 bytes). */
int		 rig_s2c(const struct server *, uint16_t cport, uint8_t flags);
/* The client port's flow with the first service, or NULL. */
struct flow	*rig_flow(uint16_t cport);

#endif
