/*
 * Lookups from addresses to services and servers.  Built once per
 * configuration; the packet path only reads them.
 */
#include <arpa/inet.h>

#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "pkt.h"
#include "pool.h"

static uint32_t	 roundup_pow2(uint32_t);

static const char *const srv_state_names[] = {
	[SRV_UP] = "up",
	[SRV_DOWN] = "down",
	[SRV_DRAINING] = "draining",
	[SRV_DISABLED] = "disabled",
};

const char *
srv_state_name(int s)
{
	if (s < 0 || s > SRV_DISABLED)
		return ("?");
	return (srv_state_names[s]);
}

static const char *const srv_reason_names[] = {
	[SR_START] = "start",
	[SR_PROBE] = "probe",
	[SR_PASSIVE] = "passive",
	[SR_AGENT] = "agent",
	[SR_OPERATOR] = "operator",
	[SR_RETRY] = "retry",
};

const char *
srv_reason_name(int r)
{
	if (r < 0 || r > SR_RETRY)
		return ("?");
	return (srv_reason_names[r]);
}


static uint32_t
roundup_pow2(uint32_t v)
{
	uint32_t p = 1;

	while (p < v)
		p <<= 1;
	return (p);
}

/* Builds both maps; the tables are at most a quarter full. */
int
pool_index(struct pool *p, uint32_t seed)
{
	uint32_t	 i, h, sz;

	p->seed = seed;
	hkey_init(&p->hkey, seed);
	free(p->svc_map);
	free(p->srv_map);
	free(p->vip_map);
	p->svc_map = p->srv_map = p->vip_map = NULL;
	sz = roundup_pow2(p->nsvc * 4 + 4);
	p->svc_mask = sz - 1;
	if ((p->svc_map = calloc(sz, sizeof(uint32_t))) == NULL ||
	    (p->vip_map = calloc(sz, sizeof(uint32_t))) == NULL)
		return (-1);
	sz = roundup_pow2(p->nsrv * 4 + 4);
	p->srv_mask = sz - 1;
	if ((p->srv_map = calloc(sz, sizeof(uint32_t))) == NULL)
		return (-1);

	p->nsvc_used = 0;
	for (i = 0; i < p->nsvc; i++) {
		const struct service *s = &p->svc[i];

		if (!s->used)
			continue;
		p->nsvc_used++;
		h = pool_hash(&p->hkey, p->svc_mask, s->family, s->proto,
		    &s->vip, htons(s->port));
		while (p->svc_map[h & p->svc_mask] != 0)
			h++;
		p->svc_map[h & p->svc_mask] = i + 1;

		if (pool_is_vip(p, s->family, &s->vip))
			continue;
		h = pool_hash(&p->hkey, p->svc_mask, s->family, 0, &s->vip, 0);
		while (p->vip_map[h & p->svc_mask] != 0)
			h++;
		p->vip_map[h & p->svc_mask] = i + 1;
	}
	for (i = 0; i < p->nsrv; i++) {
		const struct server *s = &p->srv[i];

		if (!s->used)
			continue;
		h = pool_hash(&p->hkey, p->srv_mask, s->family,
		    p->svc[s->svc].proto, &s->addr, htons(s->port));
		while (p->srv_map[h & p->srv_mask] != 0)
			h++;
		p->srv_map[h & p->srv_mask] = i + 1;
	}
	return (0);
}

int
pool_primary_up(const struct pool *p, const struct service *svc)
{
	const struct server *s;
	unsigned	 k;

	for (k = 0; k < svc->nsrv; k++) {
		s = SVC_SRV(p, svc, k);
		if (!s->backup && s->state == SRV_UP && s->weight > 0)
			return (1);
	}
	return (0);
}

void
pool_free(struct pool *p)
{
	unsigned i;

	for (i = 0; p->svc != NULL && i < p->nsvc; i++) {
		free(p->svc[i].maglev);
		free(p->svc[i].members);
	}
	free(p->svc);
	free(p->srv);
	free(p->hcs);
	free(p->svc_map);
	free(p->srv_map);
	free(p->vip_map);
	memset(p, 0, sizeof(*p));
}

/* Whether a is the virtual address of some service, any port. */
int
pool_is_vip(const struct pool *p, uint8_t family, const union addr *a)
{
	uint32_t	 h, i;
	struct service	*s;

	h = pool_hash(&p->hkey, p->svc_mask, family, 0, a, 0);
	while ((i = p->vip_map[h & p->svc_mask]) != 0) {
		s = &p->svc[i - 1];
		if (s->family == family && addr_eq(&s->vip, a))
			return (1);
		h++;
	}
	return (0);
}
