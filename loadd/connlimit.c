/*
 * Connection limits: see connlimit.h.
 *
 * A server at its cap takes no new flow until its active flows come down
 * to its low-water mark.  The mark defaults to maxconn - 1, as HAProxy's
 * maxconn: a place frees as soon as a flow ends.  IPVS without a lower
 * threshold waits for 3/4 of the upper one; that is lowconn here, on
 * request, because hysteresis the operator did not ask for looks like a
 * server that refuses work it has room for.
 */
#include "connlimit.h"
#include "pool.h"

void
srv_cap_update(struct server *s, uint32_t ms)
{
	int	 full = srv_full(s);

	if (full && !s->atcap) {
		s->atcap = 1;
		s->atcap_since = ms;
		s->atcap_times++;
	} else if (!full && s->atcap) {
		s->atcap_ms += (uint32_t)(ms - s->atcap_since);
		s->atcap = 0;
	}
}

void
limits_tick(struct pool *p, uint32_t ms)
{
	struct server	*s;
	unsigned	 i;

	for (i = 0; i < p->nsrv; i++) {
		s = &p->srv[i];
		if (!s->used)
			continue;
		/* A reload or loadctl may have moved the cap. */
		srv_cap_update(s, ms);
		if (s->atcap) {
			s->atcap_ms += (uint32_t)(ms - s->atcap_since);
			s->atcap_since = ms;
		}
	}
}
