/*
 * A keyed hash for the flow table and the address maps.  The seed is
 * random at start-up so that nobody can aim a flood at one bucket chain.
 * The mixing is the murmur3 finalizer applied word by word: cheap enough
 * for every packet, and good enough with a secret seed since chains are
 * also bounded by eviction.
 */
#ifndef LOADD_HASH_H
#define LOADD_HASH_H

#include <stdint.h>

static inline uint32_t
hash_mix(uint32_t h, uint32_t k)
{
	k *= 0xcc9e2d51u;
	k = (k << 15) | (k >> 17);
	k *= 0x1b873593u;
	h ^= k;
	h = (h << 13) | (h >> 19);
	return (h * 5 + 0xe6546b64u);
}

static inline uint32_t
hash_final(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return (h);
}

#endif
