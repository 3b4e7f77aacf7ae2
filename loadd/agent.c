/*
 * Agent reports, loadd's side.  A datagram goes through these gates, in
 * order, and the first it fails is counted and ends its way:
 *
 *  1. report_decode(): exact length, magic and version, key id, MAC
 *     (constant time), field ranges.  Nothing before the MAC is trusted.
 *  2. Sender: the report names a server by family, protocol, address and
 *     port, as loadd.conf does ("servers = 10.0.1.11:8080"); that server
 *     must exist, and the datagram's source address must be its address.
 *     The MAC already proves the key; this rule keeps a server holding
 *     the shared key from speaking for another one, unless it can also
 *     send from the other's address.
 *  3. Key: the key file may bind a key to servers; the key must be one
 *     that may speak for the server named.  With a key per server, a
 *     server that spoofs its neighbour's address still cannot sign for it.
 *  4. Staleness: the report's timestamp must lie within window_ms of
 *     loadd's wall clock, either way.  This bounds how long a captured
 *     report stays usable, also right after loadd restarts, when it
 *     remembers no sequence numbers.
 *  5. Future: lmd derives its sequence numbers from its clock
 *     (report_seq_next), so a number beyond what a clock window_ms ahead
 *     of loadd's can give (report_seq_limit) is not genuine.  Without
 *     this gate one report numbered 2^64-1 would make every later one a
 *     replay.
 *  6. Replay: the sequence number must be larger than that of the last
 *     report accepted from the same server, as long as that report's
 *     own timestamp is within the window.  Once it is not, every report
 *     sent before it would fail gate 4, so there is nothing left to
 *     replay, and a smaller number is taken again: an lmd whose clock
 *     was set back, or one that a forged number got ahead of, is heard
 *     again after at most twice the window.
 *
 * Only then is the server's state replaced.  A report rejected at any
 * gate changes nothing, not even the replay state.
 */
#include <arpa/inet.h>

#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "pool.h"
#include "reload.h"

static const char *const result_names[AGENT_NRESULTS] = {
	"accepted",
	"wrong length",
	"bad version",
	"unknown key id",
	"bad MAC",
	"malformed",
	"unknown sender",
	"stale",
	"replay",
	"key not allowed",
	"future sequence",
};

/* The reported interval is trusted only within these bounds. */
#define INTERVAL_FLOOR_MS	100
#define INTERVAL_CEIL_MS	60000

int
agent_init(struct agent *a, const struct pool *pool,
    const struct report_keys *keys, uint32_t window_ms,
    uint32_t stale_intervals)
{
	memset(a, 0, sizeof(*a));
	a->keys = keys;
	a->window_ms = window_ms;
	a->stale_intervals = stale_intervals > 0 ? stale_intervals : 1;
	/* One state a server slot, for the daemon's life: slots never move. */
	(void)pool;
	a->nsrv = POOL_MAXSERVERS;
	if ((a->st = calloc(a->nsrv, sizeof(*a->st))) == NULL)
		return (-1);
	return (0);
}

void
agent_free(struct agent *a)
{
	free(a->st);
	memset(a, 0, sizeof(*a));
}

/*
 * After a reload: servers keep their slots, so their reports stay; a slot
 * whose server is gone or new (slots[i] != RS_SAME) starts afresh.  A key
 * taken out of the file, or bound to other servers, is how an operator
 * revokes it: what it said ends now, its sequence number too.
 */
void
agent_reload(struct agent *a, const struct pool *pool,
    const struct report_keys *keys, const uint8_t *slots,
    uint32_t window_ms, uint32_t stale_intervals)
{
	const struct report_key *k;
	const struct server *srv;
	unsigned	 i;

	for (i = 0; i < a->nsrv; i++) {
		if (!a->st[i].valid)
			continue;
		srv = i < pool->nsrv ? &pool->srv[i] : NULL;
		if (slots[i] != RS_SAME || srv == NULL || !srv->used ||
		    (k = report_keys_find(keys, a->st[i].r.keyid)) == NULL ||
		    !report_key_allows(k, srv->family, &srv->addr))
			memset(&a->st[i], 0, sizeof(a->st[i]));
	}
	a->keys = keys;
	a->window_ms = window_ms;
	a->stale_intervals = stale_intervals > 0 ? stale_intervals : 1;
}

const char *
agent_result_name(int r)
{
	if (r < 0 || r >= AGENT_NRESULTS)
		return ("?");
	return (result_names[r]);
}

static int
count(struct agent *a, int r)
{
	a->count[r]++;
	return (r);
}

/* What report_decode()'s answer counts as. */
static int
decode_class(int e)
{
	switch (e) {
	case REPORT_OK:
		return (AGENT_ACCEPTED);
	case REPORT_ELEN:
		return (AGENT_ELEN);
	case REPORT_EVERSION:
		return (AGENT_EVERSION);
	case REPORT_EKEYID:
		return (AGENT_EKEYID);
	case REPORT_EMAC:
		return (AGENT_EMAC);
	default:
		return (AGENT_EFIELD);
	}
}

/*
 * Gates 2 and 3: the report speaks of a server of the pool, comes from
 * that server's address, and its key may speak for it.
 */
static int
sender(const struct agent *a, const struct pool *pool, const struct report *r,
    int family, const union addr *src, unsigned *ip)
{
	static const uint8_t	 v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0,
				    0, 0xff, 0xff };
	const struct server	*srv;
	const struct report_key	*key;
	union addr		 from;

	from = *src;
	if (family == 6 && memcmp(from.b, v4mapped, sizeof(v4mapped)) == 0) {
		family = 4;
		memset(&from, 0, sizeof(from));
		memcpy(from.b, src->b + 12, 4);
	}
	srv = pool_find_server(pool, r->family, r->proto, &r->addr,
	    htons(r->port));
	if (srv == NULL || family != r->family || !addr_eq(&from, &srv->addr))
		return (AGENT_ESENDER);
	*ip = (unsigned)(srv - pool->srv);
	if (*ip >= a->nsrv)
		return (AGENT_ESENDER);
	if ((key = report_keys_find(a->keys, r->keyid)) == NULL ||
	    !report_key_allows(key, srv->family, &srv->addr))
		return (AGENT_EKEYSRV);
	return (AGENT_ACCEPTED);
}

/* Gates 4 to 6: the report's time, sequence, and that it is not a replay. */
static int
fresh(const struct agent *a, const struct report *r, unsigned i,
    uint64_t wall_ms)
{
	const struct agent_state *st = &a->st[i];
	uint64_t	 ts_ms, last_ms;

	/* ts_sec is at most 2^64-1: keep the product from wrapping. */
	if (r->ts_sec > UINT64_MAX / 1000 - 1)
		return (AGENT_ESTALE);
	ts_ms = r->ts_sec * 1000 + r->ts_nsec / 1000000;
	if ((ts_ms > wall_ms && ts_ms - wall_ms > a->window_ms) ||
	    (ts_ms < wall_ms && wall_ms - ts_ms > a->window_ms))
		return (AGENT_ESTALE);
	if (r->seq > report_seq_limit(wall_ms, a->window_ms))
		return (AGENT_EFUTURE);
	if (st->valid && r->seq <= st->seq) {
		/* The last one passed gate 4, so this cannot wrap. */
		last_ms = st->r.ts_sec * 1000 + st->r.ts_nsec / 1000000;
		if (last_ms + a->window_ms >= wall_ms)
			return (AGENT_EREPLAY);
	}
	return (AGENT_ACCEPTED);
}

int
agent_receive(struct agent *a, const struct pool *pool, const uint8_t *buf,
    size_t len, int family, const union addr *src, uint64_t wall_ms,
    uint64_t mono_ms, unsigned *srvp)
{
	struct report		 r;
	struct agent_state	*st;
	unsigned		 i = 0;
	int			 c;

	if ((c = decode_class(report_decode(&r, buf, len, a->keys))) !=
	    AGENT_ACCEPTED ||
	    (c = sender(a, pool, &r, family, src, &i)) != AGENT_ACCEPTED ||
	    (c = fresh(a, &r, i, wall_ms)) != AGENT_ACCEPTED)
		return (count(a, c));

	/* A report without drain ends an override; the next drain counts. */
	st = &a->st[i];
	if (!(r.flags & REPORT_F_DRAIN))
		st->overridden = 0;
	st->valid = 1;
	st->seq = r.seq;
	st->rcvd_ms = mono_ms;
	st->flows_at = pool->srv[i].flows_total;
	st->reports++;
	st->r = r;
	if (srvp != NULL)
		*srvp = i;
	return (count(a, AGENT_ACCEPTED));
}

uint64_t
agent_age(const struct agent *a, unsigned srv, uint64_t mono_ms)
{
	const struct agent_state *st;

	if (srv >= a->nsrv || !a->st[srv].valid)
		return (UINT64_MAX);
	st = &a->st[srv];
	return (mono_ms > st->rcvd_ms ? mono_ms - st->rcvd_ms : 0);
}

/*
 * Fresh: age < stale_intervals x interval, where interval is what the
 * agent says it uses, held to 100 ms .. 60 s so that an agent cannot
 * keep itself fresh for an hour with one report.
 */
int
agent_fresh(const struct agent *a, unsigned srv, uint64_t mono_ms)
{
	uint64_t	 age, iv;

	if ((age = agent_age(a, srv, mono_ms)) == UINT64_MAX)
		return (0);
	iv = a->st[srv].r.interval_ms;
	if (iv < INTERVAL_FLOOR_MS)
		iv = INTERVAL_FLOOR_MS;
	if (iv > INTERVAL_CEIL_MS)
		iv = INTERVAL_CEIL_MS;
	return (age < iv * a->stale_intervals);
}

/*
 * A "down" from an agent counts only while fresh: when reports stop,
 * whether the server lives is up to the health checks.
 */
int
agent_down(const struct agent *a, unsigned srv, uint64_t mono_ms)
{
	return (agent_fresh(a, srv, mono_ms) &&
	    a->st[srv].r.check == REPORT_CHECK_DOWN);
}

/*
 * Drain counts only while the agent's reports are fresh, like down: an
 * agent that has gone quiet no longer decides about its server, the
 * health checks do.  Were it otherwise, one forged report with the drain
 * flag would keep a server out until a genuine report undid it, and a
 * forger who also holds off the genuine ones (a number from the future,
 * a flood) would keep it out for as long as loadd runs.  An operator who
 * wants a server out whatever happens to its agent says so with loadctl
 * drain or disable; stopping lmd together with the service should come
 * after the drain, or the health checks take the server out.
 *
 * The operator's word also wins the other way: loadctl enable overrides
 * a drain the agent asks for, until the agent sends a report without
 * drain (lmd -U, or a restarted lmd); a drain after that counts again.
 */
int
agent_drain(const struct agent *a, unsigned srv, uint64_t mono_ms)
{
	if (!agent_fresh(a, srv, mono_ms))
		return (0);
	return ((a->st[srv].r.flags & REPORT_F_DRAIN) != 0 &&
	    !a->st[srv].overridden);
}

int
agent_override_drain(struct agent *a, unsigned srv, uint64_t mono_ms)
{
	if (!agent_drain(a, srv, mono_ms))
		return (0);
	a->st[srv].overridden = 1;
	return (1);
}

uint16_t
agent_weight(const struct agent *a, unsigned srv, uint16_t configured,
    uint64_t mono_ms)
{
	if (!agent_fresh(a, srv, mono_ms) || a->st[srv].r.weight == 0)
		return (configured);
	return (a->st[srv].r.weight);
}

/*
 * Load between reports.  With cpu the reported CPU per mille, conns the
 * reported established connections and n the flows loadd sent the
 * server since that report:
 *
 *	cost = conns > 0 ? max(cpu / conns, 1) : AGENT_NEWCONN_COST
 *	load = cpu + n x cost
 *
 * Each new flow is assumed to cost what an average existing connection
 * costs now (at least 1 per mille; 10 per mille when the server reports
 * none to average over).  So a server that looked idle at its last report
 * looks busier with every flow sent to it, and the next report replaces
 * the guess with a measurement.  Without a report the load is 0: the
 * callers look at agent_fresh() first.
 */
uint32_t
agent_load(const struct agent *a, unsigned srv, uint64_t flows_since)
{
	const struct report	*r;
	uint64_t		 cost, load;

	if (srv >= a->nsrv || !a->st[srv].valid)
		return (0);
	r = &a->st[srv].r;
	if (r->conns > 0) {
		cost = r->cpu_pm / r->conns;
		if (cost == 0)
			cost = 1;
	} else
		cost = AGENT_NEWCONN_COST;
	if (flows_since > (UINT32_MAX - r->cpu_pm) / cost)
		return (UINT32_MAX);
	load = r->cpu_pm + flows_since * cost;
	return ((uint32_t)load);
}

uint32_t
agent_load_now(const struct agent *a, const struct pool *pool, unsigned srv)
{
	uint64_t	 since;

	if (srv >= a->nsrv || srv >= pool->nsrv || !a->st[srv].valid)
		return (0);
	since = pool->srv[srv].flows_total - a->st[srv].flows_at;
	return (agent_load(a, srv, since));
}

/* conns + n, the same estimate in connections. */
uint64_t
agent_conns(const struct agent *a, unsigned srv, uint64_t flows_since)
{
	if (srv >= a->nsrv || !a->st[srv].valid)
		return (flows_since);
	return (a->st[srv].r.conns + flows_since);
}
