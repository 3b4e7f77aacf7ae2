/*
 * Addresses as loadd keeps them: one 16-byte union for both families, so
 * a flow key has one shape.  An IPv4 address sits in w[0], the rest is 0.
 */
#ifndef LOADD_ADDR_H
#define LOADD_ADDR_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

union addr {
	uint32_t	w[4];	/* network byte order */
	uint8_t		b[16];
};

#define ADDR_STRLEN	46	/* INET6_ADDRSTRLEN */

static inline int
addr_eq(const union addr *a, const union addr *b)
{
	return (a->w[0] == b->w[0] && a->w[1] == b->w[1] &&
	    a->w[2] == b->w[2] && a->w[3] == b->w[3]);
}

/*
 * Parses "a.b.c.d", "a.b.c.d:port", "v6addr" or "[v6addr]:port".
 * Returns the family (4 or 6) and fills a and port (host order; 0 when
 * absent), or 0 when text is not an address.
 */
int		 addr_parse(const char *text, union addr *a, uint16_t *port);
const char	*addr_ntop(int family, const union addr *, char *, size_t);
int		 port_parse(const char *text, uint16_t *port);

/*
 * Between loadd's addresses and the socket API's.  Family 0 is IPv6's
 * "any" (one socket for both families, with IPV6_V6ONLY off).  Ports are
 * in host order.
 */
struct sockaddr_storage;
unsigned	 addr_to_sockaddr(int family, const union addr *, uint16_t port,
		    struct sockaddr_storage *);
int		 addr_from_sockaddr(const struct sockaddr_storage *,
		    union addr *, uint16_t *port);

#endif
