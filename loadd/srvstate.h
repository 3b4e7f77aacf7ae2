/*
 * The server state machine of health.h, apart from any socket: what the
 * probes found (each result, counted to rise and fall), what passive
 * detection makes of the engine's signs, the operator's word and the
 * agent's, combined into each server's state; backups and slow start
 * follow from it.  health.c holds one for its pool; the unit tests drive
 * one alone.
 */
#ifndef LOADD_SRVSTATE_H
#define LOADD_SRVSTATE_H

#include <stdint.h>

#include "health.h"

struct srvstate;
struct agent;

/*
 * For the servers of p, as the configuration left them; transitions are
 * counted in st.  NULL with errno when out of memory.
 */
struct srvstate	*srvstate_new(struct pool *p, struct health_stats *st);
void		 srvstate_free(struct srvstate *);
/*
 * After a reload: what was kept of new and freed slots is forgotten (a new
 * server starts from the verdict the configuration gives it); the others
 * keep their counts, passive history and slow start (re-applied to the
 * weights the reload set).
 */
void		 srvstate_reload(struct srvstate *, const uint8_t *slots,
		    uint64_t now_ms);
/* Server i's probe results in a row count afresh (its probe changed). */
void		 srvstate_recount(struct srvstate *, unsigned srv);
/*
 * One probe result of server srv (why: the failure, or NULL): counted,
 * and when the count reaches rise or fall, the server's new health.
 * Sets gone[srv] (gone may be NULL) when it stopped taking new flows.
 */
void		 srvstate_probe(struct srvstate *, unsigned srv, int ok,
		    const char *why, uint64_t now_ms, uint8_t *gone);
/* Judges the passive signs and moves slow starts on, every 100 ms. */
void		 srvstate_tick(struct srvstate *, uint64_t now_ms,
		    uint8_t *gone);
/* t, or sooner if srvstate_tick() has work before then. */
uint64_t	 srvstate_due(const struct srvstate *, uint64_t now_ms,
		    uint64_t t);
/* What health_set_admin(), health_agents() and health_ramp() do. */
void		 srvstate_admin(struct srvstate *, unsigned srv, int admin,
		    int reason);
void		 srvstate_agents(struct srvstate *, const struct agent *,
		    uint64_t now_ms, uint8_t *gone);
void		 srvstate_ramp(struct srvstate *, unsigned srv);

#endif
