/*
 * Balancing methods.  Each method is one pick function and one line in
 * the table below; the name is what users type after -b or in
 * "balancingmode =".
 */
#include <string.h>
#include <strings.h>

#include "pkt.h"
#include "pool.h"
#include "sched.h"

static int	 sched_roundrobin(struct pool *, struct service *,
		    const struct pkt *, uint32_t);

static const struct sched_method methods[] = {
	{ "roundrobin", "roundrobbin",
	    "each new flow to the next usable server in turn",
	    sched_roundrobin },
};

#define NMETHODS	(sizeof(methods) / sizeof(methods[0]))

const struct sched_method *
sched_find(const char *name)
{
	size_t	 i;

	for (i = 0; i < NMETHODS; i++)
		if (strcasecmp(name, methods[i].name) == 0 ||
		    (methods[i].alias != NULL &&
		    strcasecmp(name, methods[i].alias) == 0))
			return (&methods[i]);
	return (NULL);
}

const struct sched_method *
sched_default(void)
{
	return (&methods[0]);
}

void
sched_list(FILE *fp, const char *indent)
{
	size_t	 i;

	for (i = 0; i < NMETHODS; i++)
		fprintf(fp, "%s%-14s %s\n", indent, methods[i].name,
		    methods[i].descr);
}

int
sched_usable(const struct pool *p, unsigned i)
{
	const struct server *s = &p->srv[i];

	return (s->state == SRV_UP && s->weight > 0);
}

/*
 * Round-robin over the service's servers, skipping those that take no
 * new flows.  rr_next survives between picks, so a server coming back
 * does not get a burst.
 */
static int
sched_roundrobin(struct pool *p, struct service *svc, const struct pkt *pk,
    uint32_t now)
{
	unsigned	 n, i;

	(void)pk;
	(void)now;
	for (n = 0; n < svc->nsrv; n++) {
		i = svc->rr_next % svc->nsrv;
		svc->rr_next = i + 1;
		if (sched_usable(p, svc->first + i))
			return ((int)(svc->first + i));
	}
	return (-1);
}
