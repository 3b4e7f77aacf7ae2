#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "sticky.h"

int
sticky_init(struct sticky *st, uint32_t entries, uint32_t seed)
{
	uint32_t	 n = 1;

	memset(st, 0, sizeof(*st));
	while (n * STICKY_WAYS < entries)
		n <<= 1;
	if ((st->ent = calloc((size_t)n * STICKY_WAYS,
	    sizeof(*st->ent))) == NULL)
		return (-1);
	st->nsets = n;
	st->seed = seed;
	return (0);
}

void
sticky_free(struct sticky *st)
{
	free(st->ent);
	st->ent = NULL;
}

static struct sticky_ent *
sticky_set(const struct sticky *st, const union addr *a, uint16_t svc)
{
	uint32_t h = st->seed;

	h = hash_mix(h, a->w[0]);
	h = hash_mix(h, a->w[1]);
	h = hash_mix(h, a->w[2]);
	h = hash_mix(h, a->w[3]);
	h = hash_mix(h, svc);
	return (&st->ent[(size_t)(hash_final(h) & (st->nsets - 1)) *
	    STICKY_WAYS]);
}

static int
same(const struct sticky_ent *e, const union addr *a, uint16_t svc)
{
	return (e->srv != 0 && e->svc == svc && e->caddr[0] == a->w[0] &&
	    e->caddr[1] == a->w[1] && e->caddr[2] == a->w[2] &&
	    e->caddr[3] == a->w[3]);
}

int
sticky_get(struct sticky *st, const union addr *a, uint16_t svc,
    uint32_t now, uint32_t timeout)
{
	struct sticky_ent	*set;
	unsigned		 i;

	if (st->ent == NULL)
		return (-1);
	set = sticky_set(st, a, svc);
	for (i = 0; i < STICKY_WAYS; i++)
		if (same(&set[i], a, svc)) {
			if ((uint32_t)(now - set[i].last) >= timeout)
				return (-1);
			st->hits++;
			return (set[i].srv - 1);
		}
	return (-1);
}

void
sticky_put(struct sticky *st, const union addr *a, uint16_t svc,
    uint16_t srv, uint32_t now, uint32_t timeout)
{
	struct sticky_ent	*set, *e = NULL;
	unsigned		 i;

	if (st->ent == NULL)
		return;
	set = sticky_set(st, a, svc);
	for (i = 0; i < STICKY_WAYS && e == NULL; i++)
		if (same(&set[i], a, svc))
			e = &set[i];
	for (i = 0; i < STICKY_WAYS && e == NULL; i++)
		if (set[i].srv == 0)
			e = &set[i];
	if (e == NULL) {
		/* The least recently used makes room. */
		e = &set[0];
		for (i = 1; i < STICKY_WAYS; i++)
			if ((int32_t)(set[i].last - e->last) < 0)
				e = &set[i];
		if ((uint32_t)(now - e->last) < timeout)
			st->replaced++;
	}
	memcpy(e->caddr, a->w, sizeof(e->caddr));
	e->svc = svc;
	e->srv = (uint16_t)(srv + 1);
	e->last = now;
}

/*
 * After a reload: the clients of a server whose slot was freed or given
 * to a new server are forgotten (gone[slot] != 0).  Slots do not move,
 * so every other entry stays where it is.
 */
void
sticky_forget(struct sticky *st, const uint8_t *gone, unsigned nsrv)
{
	struct sticky_ent *e;
	size_t		 n, i;

	if (st->ent == NULL)
		return;
	n = (size_t)st->nsets * STICKY_WAYS;
	for (i = 0; i < n; i++) {
		e = &st->ent[i];
		if (e->srv != 0 && (e->srv - 1u >= nsrv || gone[e->srv - 1]))
			memset(e, 0, sizeof(*e));
	}
}
