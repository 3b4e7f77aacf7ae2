/*
 * Internet checksums (RFC 1071) and their incremental update (RFC 1624).
 * All checksum arithmetic of loadd is here.  Sums are taken over 16-bit
 * words in the order they lie in memory, so no byte swapping is needed:
 * one's complement addition is independent of byte order as long as
 * every operand is read the same way.
 */
#ifndef LOADD_CKSUM_H
#define LOADD_CKSUM_H

#include <stddef.h>
#include <stdint.h>

/* Adds len bytes at buf to the 32-bit running sum. */
uint32_t	 cksum_add(uint32_t sum, const void *buf, size_t len);

static inline uint16_t
cksum_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return ((uint16_t)sum);
}

/* The checksum field for data whose running sum is sum. */
static inline uint16_t
cksum_finish(uint32_t sum)
{
	return ((uint16_t)~cksum_fold(sum));
}

/*
 * RFC 1624, equation 3: HC' = ~(~HC + ~m + m').  Unlike equation 2 it
 * gives the same result as a full recomputation.
 */
static inline uint16_t
cksum_update16(uint16_t hc, uint16_t m, uint16_t mp)
{
	uint32_t sum;

	sum = (uint32_t)(uint16_t)~hc + (uint16_t)~m + mp;
	return ((uint16_t)~cksum_fold(sum));
}

static inline uint16_t
cksum_update32(uint16_t hc, uint32_t m, uint32_t mp)
{
	uint32_t sum;

	sum = (uint32_t)(uint16_t)~hc +
	    (uint16_t)~(m & 0xffff) + (uint16_t)~(m >> 16) +
	    (mp & 0xffff) + (mp >> 16);
	return ((uint16_t)~cksum_fold(sum));
}

/* Updates hc for a change of n 32-bit words (an address). */
static inline uint16_t
cksum_update_words(uint16_t hc, const uint32_t *old, const uint32_t *new,
    unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (old[i] != new[i])
			hc = cksum_update32(hc, old[i], new[i]);
	return (hc);
}

/* The pseudo-header sum of RFC 793/768 (IPv4) or RFC 8200 (IPv6). */
uint32_t	 cksum_pseudo(int family, const void *src, const void *dst,
		    uint8_t proto, uint32_t l4len);

#endif
