/*
 * TCP resets for packets of unknown flows, built with libnet.
 */
#ifndef LOADD_RESET_H
#define LOADD_RESET_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

struct pkt;
struct resetter;

struct resetter	*reset_new(uint32_t rate);
void		 reset_free(struct resetter *);
/*
 * Writes into buf the RST that answers the TCP segment orig (parsed as
 * p; RFC 793, "Reset Generation"), from its destination back to its
 * source.  buf may be orig itself: the RST then takes the segment's
 * place.  Returns the new length, or 0 when the rate limit says no or
 * the segment itself is a RST.
 */
size_t		 reset_make(struct resetter *, uint8_t *buf, size_t cap,
		    const uint8_t *orig, const struct pkt *p, uint32_t now);
/* Takes one token of the rate limit: 0 when there is none left. */
int		 reset_allow(struct resetter *, uint32_t now);
/* A bare TCP segment (a RST) into buf; the length, or 0. No rate limit. */
size_t		 reset_build(struct resetter *, uint8_t *buf, size_t cap,
		    int family, const union addr *src, uint16_t sport,
		    const union addr *dst, uint16_t dport, uint32_t seq,
		    uint32_t ack, uint8_t flags);
/*
 * ICMP port unreachable (ICMPv6 type 1 code 4) from the destination of
 * the packet orig (parsed as p) back to its source, into buf (not orig).
 * Rate-limited like reset_make().
 */
size_t		 reset_unreach(struct resetter *, uint8_t *buf, size_t cap,
		    const uint8_t *orig, const struct pkt *p, uint32_t now);

#endif
