#include <string.h>

#include "byteorder.h"
#include "cksum.h"

uint32_t
cksum_add(uint32_t sum, const void *buf, size_t len)
{
	const uint8_t	*p = buf;
	uint64_t	 acc = sum;
	uint32_t	 w32;
	uint16_t	 w16;

	/* Four bytes at a time into a 64-bit accumulator, folded at the end. */
	while (len >= 4) {
		memcpy(&w32, p, 4);
		acc += w32;
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		memcpy(&w16, p, 2);
		acc += w16;
		p += 2;
		len -= 2;
	}
	if (len == 1) {
		/* The odd byte is padded with a zero byte after it. */
		w16 = 0;
		memcpy(&w16, p, 1);
		acc += w16;
	}
	while (acc >> 32)
		acc = (acc & 0xffffffffu) + (acc >> 32);
	/* Fold once so that the caller can keep adding without overflow. */
	acc = (acc & 0xffff) + (acc >> 16);
	acc = (acc & 0xffff) + (acc >> 16);
	return ((uint32_t)acc);
}

uint32_t
cksum_pseudo(int family, const void *src, const void *dst, uint8_t proto,
    uint32_t l4len)
{
	uint32_t	 sum;
	uint8_t		 tail[4];

	if (family == 4) {
		sum = cksum_add(0, src, 4);
		sum = cksum_add(sum, dst, 4);
		tail[0] = 0;
		tail[1] = proto;
		be16enc(tail + 2, (uint16_t)l4len);
		return (cksum_add(sum, tail, 4));
	}
	sum = cksum_add(0, src, 16);
	sum = cksum_add(sum, dst, 16);
	be32enc(tail, l4len);
	sum = cksum_add(sum, tail, 4);
	tail[0] = tail[1] = tail[2] = 0;
	tail[3] = proto;
	return (cksum_add(sum, tail, 4));
}
