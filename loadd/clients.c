/*
 * Per-client limits: see clients.h.
 */
#include <arpa/inet.h>

#include <stdlib.h>
#include <string.h>

#include "clients.h"
#include "hash.h"

int
clients_init(struct clients *c, uint32_t entries, uint32_t seed)
{
	uint32_t	 n = 1;

	memset(c, 0, sizeof(*c));
	while (n * CLIENTS_WAYS < entries)
		n <<= 1;
	if ((c->ent = calloc((size_t)n * CLIENTS_WAYS,
	    sizeof(*c->ent))) == NULL)
		return (-1);
	c->nsets = n;
	c->seed = seed;
	return (0);
}

void
clients_free(struct clients *c)
{
	free(c->ent);
	c->ent = NULL;
}

int
clients_limited(const struct client_limits *l)
{
	return (l->max_conns != 0 || l->rate != 0);
}

void
clients_key(const struct client_limits *l, int family, const union addr *a,
    union addr *key)
{
	unsigned	 plen = family == 4 ? l->plen4 : l->plen6;
	unsigned	 i, bits;

	memset(key, 0, sizeof(*key));
	for (i = 0; i < 4 && plen > 0; i++, plen -= bits) {
		bits = plen > 32 ? 32 : plen;
		key->w[i] = a->w[i] & htonl(bits == 32 ? 0xffffffffu :
		    ~(0xffffffffu >> bits));
	}
}

static struct client_ent *
set_of(const struct clients *c, const union addr *key, uint16_t svc)
{
	uint32_t h = c->seed;

	h = hash_mix(h, key->w[0]);
	h = hash_mix(h, key->w[1]);
	h = hash_mix(h, key->w[2]);
	h = hash_mix(h, key->w[3]);
	h = hash_mix(h, svc);
	return (&c->ent[(size_t)(hash_final(h) & (c->nsets - 1)) *
	    CLIENTS_WAYS]);
}

static int
same(const struct client_ent *e, const union addr *key, uint16_t svc)
{
	return (e->used && e->svc == svc &&
	    memcmp(e->key, key->w, sizeof(e->key)) == 0);
}

const struct client_ent *
clients_find(const struct clients *c, const union addr *key, uint16_t svc)
{
	struct client_ent *set;
	unsigned	 i;

	if (c->ent == NULL)
		return (NULL);
	set = set_of(c, key, svc);
	for (i = 0; i < CLIENTS_WAYS; i++)
		if (same(&set[i], key, svc))
			return (&set[i]);
	return (NULL);
}

/* Room in a full set: the entry that knows least (clients.h). */
static struct client_ent *
make_room(struct clients *c, struct client_ent *set, uint32_t now_ms)
{
	struct client_ent *e = NULL, *idle = NULL;
	unsigned	 i;

	for (i = 0; i < CLIENTS_WAYS; i++) {
		if (!set[i].used)
			return (&set[i]);
		if (e == NULL || now_ms - set[i].stamp_ms >
		    now_ms - e->stamp_ms)
			e = &set[i];
		if (set[i].active == 0 && (idle == NULL ||
		    now_ms - set[i].stamp_ms > now_ms - idle->stamp_ms))
			idle = &set[i];
	}
	if (idle != NULL)
		return (idle);
	c->evicted++;
	return (e);
}

/* The bucket, filled for the time since it was last seen. */
static void
refill(struct client_ent *e, const struct client_limits *l, uint32_t now_ms)
{
	uint64_t	 cap, t;

	cap = (uint64_t)(l->burst ? l->burst : l->rate) * 1000;
	t = e->tokens + (uint64_t)(now_ms - e->stamp_ms) * l->rate;
	e->tokens = (uint32_t)(t > cap ? cap : t);
	e->stamp_ms = now_ms;
}

int
clients_admit(struct clients *c, const struct client_limits *l, int family,
    const union addr *key, uint16_t svc, uint32_t now_ms)
{
	struct client_ent *set, *e = NULL;
	unsigned	 i;

	if (c->ent == NULL || !clients_limited(l))
		return (CL_OK);
	set = set_of(c, key, svc);
	for (i = 0; i < CLIENTS_WAYS && e == NULL; i++)
		if (same(&set[i], key, svc))
			e = &set[i];
	if (e == NULL) {
		e = make_room(c, set, now_ms);
		memset(e, 0, sizeof(*e));
		memcpy(e->key, key->w, sizeof(e->key));
		e->svc = svc;
		e->family = (uint8_t)family;
		e->used = 1;
		e->tokens = (l->burst ? l->burst : l->rate) * 1000u;
		e->stamp_ms = now_ms;
	}
	if (l->rate != 0)
		refill(e, l, now_ms);
	else
		e->stamp_ms = now_ms;
	if (l->max_conns != 0 && e->active >= l->max_conns) {
		e->refused++;
		return (CL_CONNS);
	}
	if (l->rate != 0) {
		if (e->tokens < 1000) {
			e->refused++;
			return (CL_RATE);
		}
		e->tokens -= 1000;
	}
	e->active++;
	return (CL_OK);
}

void
clients_release(struct clients *c, const union addr *key, uint16_t svc)
{
	struct client_ent *set;
	unsigned	 i;

	if (c->ent == NULL)
		return;
	set = set_of(c, key, svc);
	for (i = 0; i < CLIENTS_WAYS; i++)
		if (same(&set[i], key, svc)) {
			if (set[i].active > 0)
				set[i].active--;
			return;
		}
}
