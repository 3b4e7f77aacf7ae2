/*
 * Building what loadd.conf describes: one service per block and port,
 * each with its own copy of the block's servers, in the struct pool of
 * struct config; then the offload marks, the agent keys, the indexes and
 * every method's tables.  The specs were parsed by config.c and are
 * checked by config_check.c on the way.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfgfile.h"
#include "compat.h"
#include "config.h"
#include "config_spec.h"
#include "hash.h"
#include "health.h"
#include "pkt.h"
#include "report.h"
#include "sched.h"

static int	 count(struct parse *, unsigned, unsigned *, unsigned *);
static int	 alloc_pool(struct parse *, unsigned, unsigned);
static int	 add_service(struct parse *, const struct svcspec *, unsigned);
static void	 add_server(struct pool *, const struct svcspec *,
		    const struct srvspec *);
static void	 offload_marks(struct parse *);
static uint32_t	 offload_mark(uint32_t, const struct service *,
		    const struct server *);
static void	 offloaded_timeout(struct config *);
static int	 load_keys(struct parse *);
static void	 set_use_backup(struct pool *);
static void	 set_limits(const struct parse *, const struct svcspec *,
		    struct service *);

/*
 * Checks every block that makes services; the number of services and
 * servers they make, or -1.  The implicit block makes services if the
 * top of the file sets it up; its health defaults are checked anyway.
 */
static int
count(struct parse *ps, unsigned first, unsigned *nsvc, unsigned *nsrv)
{
	struct svcspec	*sp;
	unsigned	 i;

	*nsvc = *nsrv = 0;
	if (first == 1)
		(void)check_health(ps, &ps->spec[0]);
	for (i = first; i < ps->nspec; i++) {
		sp = &ps->spec[i];
		if (check_spec(ps, sp) == -1)
			continue;
		*nsvc += sp->nports;
		*nsrv += sp->nports * sp->nsrv;
	}
	if (ps->cf.errors != 0)
		return (-1);
	if (*nsvc > POOL_MAXSERVICES || *nsrv > POOL_MAXSERVERS) {
		cfg_error(&ps->cf, "end of file: %u services with %u servers "
		    "in all; at most %d and %d", *nsvc, *nsrv,
		    POOL_MAXSERVICES, POOL_MAXSERVERS);
		return (-1);
	}
	return (0);
}

static int
alloc_pool(struct parse *ps, unsigned nsvc, unsigned nsrv)
{
	struct pool	*pool = &ps->conf->pool;

	pool->svc = calloc(nsvc, sizeof(*pool->svc));
	pool->srv = calloc(nsrv, sizeof(*pool->srv));
	pool->hcs = calloc(nsvc, sizeof(*pool->hcs));
	if (pool->svc == NULL || pool->srv == NULL || pool->hcs == NULL) {
		cfg_report("%s: out of memory", ps->cf.path);
		return (-1);
	}
	return (0);
}

/* The service of a block's port p, and its servers; 0, or -1. */
static int
add_service(struct parse *ps, const struct svcspec *sp, unsigned p)
{
	struct config	*conf = ps->conf;
	struct pool	*pool = &conf->pool;
	struct service	*svc = &pool->svc[pool->nsvc];
	char		 a[ADDR_STRLEN];
	unsigned	 j;

	svc->vip = sp->vip;
	svc->family = (uint8_t)sp->vipfamily;
	svc->port = sp->ports[p];
	svc->proto = sp->opts.proto ? sp->opts.proto : ps->dflt.proto;
	svc->method = sp->opts.method != NULL ? sp->opts.method :
	    conf->method;
	pool->hcs[pool->nsvc] = sp->hc;
	svc->hc = &pool->hcs[pool->nsvc];
	/*
	 * A UDP service says nothing of TCP: unless a check is given, its
	 * servers are pinged.
	 */
	if (svc->proto == PROTO_UDP && !sp->seen[K_CHECK] &&
	    !ps->spec[0].seen[K_CHECK])
		pool->hcs[pool->nsvc].type = HC_ICMP;

	svc->used = 1;
	svc->nsrv = (uint16_t)sp->nsrv;
	if ((svc->members = calloc(sp->nsrv + 1, sizeof(*svc->members))) ==
	    NULL) {
		cfg_report("%s: out of memory", ps->cf.path);
		return (-1);
	}
	svc->specline = sp->line;
	svc->hashkey = sp->seen[K_HASHKEY] && sp->line ? sp->opts.hashkey :
	    ps->dflt.hashkey;
	svc->maglev_size = sp->opts.maglev_size ? sp->opts.maglev_size :
	    ps->dflt.maglev_size;
	svc->sticky = sp->seen[K_STICKY] && sp->line ? sp->opts.sticky :
	    ps->dflt.sticky;
	if (svc->sticky)
		conf->sticky_any = 1;
	set_limits(ps, sp, svc);
	strlcpy(svc->label, sp->line ? sp->name : "default",
	    sizeof(svc->label));
	addr_ntop(svc->family, &svc->vip, a, sizeof(a));
	snprintf(svc->name, sizeof(svc->name),
	    svc->family == 6 ? "[%s]:%u/%s" : "%s:%u/%s", a, svc->port,
	    svc->proto == PROTO_TCP ? "tcp" : "udp");
	if (conf->offload)
		check_offload(ps, sp, svc, &pool->hcs[pool->nsvc]);
	for (j = 0; j < sp->nsrv; j++) {
		svc->members[j] = (uint16_t)pool->nsrv;
		add_server(pool, sp, &sp->srv[j]);
	}
	pool->nsvc++;
	return (0);
}

/*
 * A block's limits, or the top of the file's where the block does not
 * give them; a client is its /32 or /64 unless told otherwise.
 */
#define OPT(k, m)	(sp->seen[(k)] && sp->line ? sp->opts.m : ps->dflt.m)

static void
set_limits(const struct parse *ps, const struct svcspec *sp,
    struct service *svc)
{
	struct client_limits *l = &svc->climits;

	svc->max_clients = OPT(K_MAX_CLIENTS, max_clients);
	l->max_conns = OPT(K_MAX_CLIENT_CONNS, climits.max_conns);
	l->rate = OPT(K_MAX_CLIENT_RATE, climits.rate);
	l->burst = 0;
	l->plen4 = OPT(K_CLIENT_PREFIX4, climits.plen4);
	l->plen6 = OPT(K_CLIENT_PREFIX6, climits.plen6);
	if (l->plen4 == 0)
		l->plen4 = 32;
	if (l->plen6 == 0)
		l->plen6 = 64;
}

/* One server of the service being added (pool->nsvc). */
static void
add_server(struct pool *pool, const struct svcspec *sp,
    const struct srvspec *ss)
{
	struct server	*srv = &pool->srv[pool->nsrv++];
	char		 a[ADDR_STRLEN];

	srv->used = 1;
	srv->addr = ss->addr;
	srv->family = ss->family;
	srv->port = ss->port ? ss->port : pool->svc[pool->nsvc].port;
	srv->weight = ss->weight;
	srv->cweight = ss->weight;
	srv->backup = ss->backup;
	srv->maxconn = ss->maxconn;
	srv->lowconn = ss->lowconn;
	srv->svc = (uint16_t)pool->nsvc;
	srv->healthy = sp->hc.start_up || sp->hc.type == HC_NONE;
	srv->admin = ss->disabled ? SRV_DISABLED : SRV_UP;
	srv->cfgdisabled = ss->disabled;
	srv->state = srv->admin != SRV_UP ? srv->admin : srv->healthy ?
	    SRV_UP : SRV_DOWN;
	srv->reason = ss->disabled ? SR_OPERATOR : SR_START;
	srv->line = ss->line;
	addr_ntop(srv->family, &srv->addr, a, sizeof(a));
	snprintf(srv->name, sizeof(srv->name),
	    srv->family == 6 ? "[%s]:%u" : "%s:%u", a, srv->port);
}

/*
 * Each server's mark: a hash of what the server is (its service's address,
 * port and protocol, its own address and port), so that a reload or a
 * restart keeps every mark and the DNAT rules of loadd -R stay right; the
 * top byte 0x4c says loadd.  Two servers with one mark would be one to the
 * rules: offload_salt chooses other marks.
 */
static void
offload_marks(struct parse *ps)
{
	struct pool	*pool = &ps->conf->pool;
	struct server	*s, *o;
	struct service	*v;
	unsigned	 i, j;

	/*
	 * A full queue would let a first packet through unmarked: conntrack
	 * would then carry the whole connection untranslated.
	 */
	if (ps->conf->failopen) {
		ps->cf.line = ps->seen[K_FAILOPEN];
		cfg_error(&ps->cf, "failopen: with offload = yes a first "
		    "packet let through unmarked takes its whole connection "
		    "untranslated; say failopen = no");
	}
	for (i = 0; i < pool->nsrv; i++) {
		s = &pool->srv[i];
		v = &pool->svc[s->svc];
		s->mark = offload_mark(ps->conf->offload_salt, v, s);
		for (j = 0; j < i; j++) {
			o = &pool->srv[j];
			if (o->mark != s->mark)
				continue;
			ps->cf.line = s->line;
			cfg_error(&ps->cf, "offload: servers %s (%s) and %s (%s, "
			    "line %u) would share the mark 0x%08x; set "
			    "offload_salt to any other number", s->name,
			    v->name, o->name, pool->svc[o->svc].name, o->line,
			    s->mark);
		}
	}
}

static uint32_t
offload_mark(uint32_t salt, const struct service *v, const struct server *s)
{
	uint32_t	 h;
	unsigned	 k;

	h = hash_mix(0x4c6f6164u, salt);
	for (k = 0; k < 4; k++)
		h = hash_mix(h, v->vip.w[k]);
	h = hash_mix(h, (uint32_t)v->port << 16 | v->proto);
	for (k = 0; k < 4; k++)
		h = hash_mix(h, s->addr.w[k]);
	h = hash_mix(h, s->port);
	return (OFFLOAD_MARK_TAG | (hash_final(h) & ~OFFLOAD_MARK_MASK));
}

/*
 * loadd hears when the kernel forgets an offloaded flow; should the event
 * be lost, the entry goes after conntrack's own default for an
 * established connection (5 days) and an hour, or loadd's timeouts if
 * longer.  It is evicted for newcomers before that if need be.
 */
static void
offloaded_timeout(struct config *conf)
{
	unsigned	 i;

	conf->timeout[FC_OFFLOADED] = 5 * 86400 + 3600;
	for (i = 0; i < FC_N; i++)
		if (i != FC_OFFLOADED &&
		    conf->timeout[i] > conf->timeout[FC_OFFLOADED])
			conf->timeout[FC_OFFLOADED] = conf->timeout[i];
}

/* The agents' keys: the parent's, or read from the key file. */
static int
load_keys(struct parse *ps)
{
	struct config	*conf = ps->conf;
	struct cfgfile	*cf = &ps->cf;
	unsigned	 eof = cf->line;

	if (conf->keyfile[0] == '\0')
		return (0);
	if (report_init() == -1) {
		cfg_report("%s: libsodium cannot start", cf->path);
		return (-1);
	}
	if (ps->given_keys != NULL)
		conf->keys = *ps->given_keys;
	else if (report_keys_load(&conf->keys, conf->keyfile) == -1) {
		cf->line = ps->seen[K_KEYFILE];
		cfg_error(cf, "keyfile: %s not loaded", conf->keyfile);
		cf->line = eof;
		return (-1);
	}
	return (0);
}

/* A service starts on its backups if no primary server takes flows. */
static void
set_use_backup(struct pool *pool)
{
	unsigned	 i;

	for (i = 0; i < pool->nsvc; i++)
		pool->svc[i].use_backup = !pool_primary_up(pool,
		    &pool->svc[i]);
}

/* Checks what needs every service, and builds services and servers. */
int
build(struct parse *ps)
{
	struct config	*conf = ps->conf;
	struct pool	*pool = &conf->pool;
	struct cfgfile	*cf = &ps->cf;
	struct svcspec	*sp = &ps->spec[0];
	unsigned	 first = 1, i, p, nsvc, nsrv, eof = cf->line;

	if (ps->dflt.method != NULL)
		conf->method = ps->dflt.method;
	if (sp->seen[K_IPALIASING] || sp->seen[K_PORTS] ||
	    sp->seen[K_SERVERS] || ps->nspec == 1)
		first = 0;
	if (count(ps, first, &nsvc, &nsrv) == -1 ||
	    alloc_pool(ps, nsvc, nsrv) == -1)
		return (-1);
	for (i = first; i < ps->nspec; i++)
		for (p = 0; p < ps->spec[i].nports; p++)
			if (add_service(ps, &ps->spec[i], p) == -1)
				return (-1);
	check_pool(ps, eof);
	if (conf->offload)
		offload_marks(ps);
	offloaded_timeout(conf);
	if (cf->errors != 0 || check_agent(ps) == -1 ||
	    check_fastpath(ps) == -1 || load_keys(ps) == -1)
		return (-1);
	set_use_backup(pool);
	if (pool_index(pool, arc4random()) == -1 || sched_setup(pool) == -1) {
		cfg_report("%s: out of memory", cf->path);
		return (-1);
	}
	return (0);
}
