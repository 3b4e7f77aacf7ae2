/*
 * TCP resets for packets of unknown flows, built with libnet.
 */
#ifndef LOADD_RESET_H
#define LOADD_RESET_H

#include <stddef.h>
#include <stdint.h>

struct pkt;
struct resetter;

struct resetter	*reset_new(uint32_t rate);
void		 reset_free(struct resetter *);
/*
 * Turns the TCP segment in buf (parsed as p) into the RST that answers
 * it (RFC 793, "Reset Generation"), in place, from its destination back to
 * its source.  Returns the new length, or 0 when the rate limit says no or
 * the segment itself is a RST.
 */
size_t		 reset_make(struct resetter *, uint8_t *buf, size_t cap,
		    const struct pkt *p, uint32_t now);

#endif
