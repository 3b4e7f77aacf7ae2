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

/*
 * The per-packet table hashes: an address (four words), a fifth word (port
 * and service) and a random key.  Vector multiply-shift (Dietzfelbinger):
 * h = (k5 + sum k[i] * x[i]) mod 2^64, top 32 bits.  For random 64-bit
 * keys and 32-bit words this is strongly universal, so an attacker who
 * does not know the key cannot aim at a bucket any better than by chance;
 * and unlike a chain of mixing rounds its five multiplications are
 * independent, so the hash costs a few cycles.  (It is not a PRF: keep the
 * key secret, and do not print hash values.)
 */

struct hkey {
	uint64_t	k[6];
};

/* Expands a seed into a key (splitmix64); odd multipliers. */
static inline void
hkey_init(struct hkey *hk, uint64_t seed)
{
	uint64_t	 z;
	int		 i;

	for (i = 0; i < 6; i++) {
		z = (seed += 0x9e3779b97f4a7c15ull);
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		hk->k[i] = (z ^ (z >> 31)) | 1;
	}
}

static inline uint32_t
hash_words(const struct hkey *hk, const uint32_t w[4], uint32_t tail)
{
	return (hash_final((uint32_t)((hk->k[0] * w[0] + hk->k[1] * w[1] +
	    hk->k[2] * w[2] + hk->k[3] * w[3] + hk->k[4] * tail +
	    hk->k[5]) >> 32)));
}

/*
 * The slot of hash h in a table of mask + 1 slots: the hash's top bits
 * (multiply-shift's good bits; its low bits are weak for keys that differ
 * in few places).  For any table size, not only powers of two.
 */
static inline uint32_t
hash_slot(uint32_t h, uint32_t mask)
{
	return ((uint32_t)(((uint64_t)h * ((uint64_t)mask + 1)) >> 32));
}

#endif
