/* The live daemon: the kernel's packets, health, agents, the operator. */
#ifndef LOADD_LIVE_H
#define LOADD_LIVE_H

struct config;
struct config_overrides;
struct pidfh;

int	 run_live(struct config *, const char *path, struct config_overrides *,
	    struct pidfh **);

#endif
