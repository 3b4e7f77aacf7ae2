/*
 * Packet parsing.  A packet is parsed once into a small struct pkt; every
 * later decision uses it.  Every length is checked before a field is read,
 * and nothing is ever cast from the buffer: fields are copied out.
 */
#ifndef LOADD_PKT_H
#define LOADD_PKT_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define PROTO_ICMP	1
#define PROTO_TCP	6
#define PROTO_UDP	17
#define PROTO_ICMPV6	58

#define TH_FIN		0x01
#define TH_SYN		0x02
#define TH_RST		0x04
#define TH_PUSH		0x08
#define TH_ACK		0x10

/* Why a packet could not be parsed.  pkt_strerror() names each. */
enum pkt_err {
	PKT_OK = 0,
	PKT_ETRUNC,		/* shorter than its headers say */
	PKT_EVERSION,		/* neither IPv4 nor IPv6 */
	PKT_EHDRLEN,		/* IPv4 header length below 20 */
	PKT_ETOTLEN,		/* IP length field beyond the buffer or too small */
	PKT_EL4,		/* TCP/UDP/ICMP header truncated or inconsistent */
	PKT_EEXTHDR,		/* IPv6 extension header chain bad or too long */
	PKT_EJUMBO,		/* IPv6 jumbogram, not supported */
	PKT_NERR
};

#define PKT_F_FRAG	0x01	/* a fragment (first or not) */
#define PKT_F_LATERFRAG	0x02	/* a fragment with a non-zero offset */
#define PKT_F_IPOPTS	0x04	/* IPv4 options present */
#define PKT_F_EXTHDR	0x08	/* IPv6 extension headers present */
#define PKT_F_PORTS	0x10	/* sport/dport are valid */

struct pkt {
	uint8_t		family;		/* 4 or 6 */
	uint8_t		proto;		/* upper-layer protocol */
	uint8_t		flags;		/* PKT_F_* */
	uint8_t		tcpflags;	/* TH_* for TCP */
	uint16_t	l3len;		/* IP header(s), extension headers included */
	uint32_t	len;		/* IP datagram length (may be < buffer) */
	uint16_t	sport;		/* network byte order */
	uint16_t	dport;		/* network byte order */
	uint8_t		icmp_type;
	uint8_t		icmp_code;
	union addr	src;
	union addr	dst;
};

int		 pkt_parse(const uint8_t *buf, size_t len, struct pkt *);
int		 pkt_parse_inner(const uint8_t *buf, size_t len, struct pkt *);
/* Whether an ICMP (family 4) or ICMPv6 (6) type is an error message. */
int		 pkt_icmp_is_error(int family, uint8_t type);
const char	*pkt_strerror(int);

#endif
