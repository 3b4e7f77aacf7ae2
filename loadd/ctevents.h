/*
 * offload = yes (Linux): the ends of offloaded connections, from
 * conntrack's destroy events.  See ctevents.c.
 */
#ifndef LOADD_CTEVENTS_H
#define LOADD_CTEVENTS_H

#include <stdint.h>

#include "engine.h"

struct ctev;
struct nlmsghdr;

struct ctev	*ctev_open(void);
int		 ctev_fd(const struct ctev *);
void		 ctev_read(struct ctev *, struct engine *, uint32_t now);
void		 ctev_tick(struct ctev *, struct engine *, uint32_t now);
int		 ctev_dump(struct ctev *, struct engine *, uint32_t now);
void		 ctev_close(struct ctev *);
int		 ctev_parse(const struct nlmsghdr *, struct ct_end *);
int		 ctev_msg_ok(const struct nlmsghdr *, int len);

#endif
