/*
 * offload = bpf in the live daemon: the glue between the engine's
 * requests (engine_fp.c, which makes no system call) and the loader
 * (fastpath.c, which does).
 *
 * As root, before the privilege drop: the program is loaded and pinned,
 * or adopted from the pins of an earlier loadd, and attached to every
 * offload_interfaces entry; a failure (no bpffs, verifier refusal, an
 * old kernel, a missing interface) stops the start with its reason --
 * never a quiet fallback to the slow path.  The event ring is mapped
 * then too.  After the drop the packet process keeps the map descriptors
 * and the ring's mapping only: updates, lookups, deletes and the walk
 * through an open descriptor need no capability on the kernels that let
 * them (a check at start says so if this one does not), and reading the
 * ring is no system call at all.
 *
 * Runtime state owned here: the loader's handle.  The flows in the map
 * are the engine's; the program and its pins outlive loadd on purpose
 * (established flows keep flowing while it restarts), and loadd -R says
 * how to remove them.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <err.h>

#include "clock.h"
#include "compat.h"
#include "config.h"
#include "engine.h"
#include "fastpath.h"
#include "live_fp.h"
#include "log.h"

/*
 * Map entries read per second, at most (two per flow): the default map
 * (65536 flows) is read whole every second, in 128 system calls; a
 * larger one takes a round of several seconds.
 */
#define POLL_BUDGET	131072

struct livefp {
	struct fastpath		*fp;
	struct fastpath_scan	 scan;	/* the poll's place in the map */
	int			 scanerr;	/* said once */
	struct fastpath_events	*ev;	/* the program's event ring */
	struct engine		*e;	/* for the events, while read */
	uint32_t		 now;
};

/* What the poll hands each entry it reads. */
struct pollarg {
	struct livefp		*lf;
	struct engine		*e;
	uint32_t		 now;
	uint64_t		 now_ns;
};

/* What the walk at start collects: it may not change the map itself. */
struct adopt {
	struct engine_fpreq	*r;
	struct engine_fpcount	*c;
	uint32_t		 n, cap;
};

static void	 to_flow(const struct engine_fpreq *, struct fastpath_flow *);
static void	 from_flow(const struct fastpath_flow *, struct engine_fpreq *);
static void	 to_count(const struct fastpath_counters *,
		    struct engine_fpcount *);
static void	 drain_cb(void *, struct engine *);
static void	 do_add(struct livefp *, struct engine *,
		    const struct engine_fpreq *);
static void	 libbpf_log(int, const char *);
static int	 poll_entry(const struct fastpath_flow *, int,
		    const struct fastpath_dir *, void *);
static void	 on_event(const struct fastpath_event *, void *);
static void	 carry_out(struct livefp *, struct engine *,
		    const struct engine_fpreq *, unsigned);
static int	 collect(const struct fastpath_flow *,
		    const struct fastpath_counters *, void *);

/* libbpf says it in loadd's log (stderr is /dev/null in a daemon). */
static void
libbpf_log(int level, const char *line)
{
	if (level == FASTPATH_LOG_WARN)
		log_warnx("libbpf: %s", line);
	else if (level == FASTPATH_LOG_INFO)
		log_info("libbpf: %s", line);
	else
		log_debug("libbpf: %s", line);
}

struct livefp *
livefp_open(const struct config *conf)
{
	struct fastpath_conf	 fc;
	struct livefp		*lf;
	char			 why[FASTPATH_ERRLEN], dir[PATH_MAX], *slash;
	unsigned		 i;

	if ((lf = calloc(1, sizeof(*lf))) == NULL)
		err(1, "calloc");
	memset(&fc, 0, sizeof(fc));
	/* offload_pin = BPFFS/NAME; the default bpffs is mounted if need be. */
	strlcpy(dir, conf->fp_pin, sizeof(dir));
	if ((slash = strrchr(dir, '/')) == NULL || slash == dir)
		errx(1, "offload_pin %s: not a directory in a bpffs",
		    conf->fp_pin);
	*slash = '\0';
	fc.name = slash + 1;
	fc.bpffs = strcmp(dir, FASTPATH_BPFFS) == 0 ? NULL : dir;
	fc.max_flows = conf->fp_maxflows;
	fastpath_set_logger(libbpf_log);
	if ((lf->fp = fastpath_open(&fc, why, sizeof(why))) == NULL)
		errx(1, "offload = bpf: %s", why);
	if (fastpath_adopted(lf->fp) &&
	    fastpath_capacity(lf->fp) != conf->fp_maxflows)
		log_warnx("offload = bpf: the pinned map holds %u flows, not "
		    "offload_maxflows %u (remove the pins, as loadd -R says, "
		    "to change it)", fastpath_capacity(lf->fp),
		    conf->fp_maxflows);
	for (i = 0; i < conf->fp_nifs; i++)
		if (fastpath_attach(lf->fp, conf->fp_ifs[i]) == -1)
			errx(1, "offload = bpf: %s", fastpath_error(lf->fp));
	/* The ring is mapped now: reading it later needs no system call. */
	if ((lf->ev = fastpath_events_open(lf->fp, on_event, lf)) == NULL)
		err(1, "offload = bpf: the event ring");
	log_info("offload = bpf: %s program on %u interface(s), map of %u "
	    "flows in %s", fastpath_adopted(lf->fp) ? "the pinned" :
	    "a new", conf->fp_nifs, fastpath_capacity(lf->fp), conf->fp_pin);
	return (lf);
}

/* The loop polls this: readable while the ring holds events. */
int
livefp_fd(const struct livefp *lf)
{
	return (fastpath_events_fd(lf->ev));
}

/*
 * What the program carried with SYN, FIN or RST, to the engine; then the
 * deletes that made (flows closed).
 */
void
livefp_events(struct livefp *lf, struct engine *e, uint32_t now)
{
	lf->e = e;
	lf->now = now;
	if (fastpath_events_read(lf->ev, &e->st.fp_ev_bad) == -1)
		log_warn("offload = bpf: reading the event ring");
	lf->e = NULL;
}

static void
on_event(const struct fastpath_event *fe, void *arg)
{
	struct livefp		*lf = arg;
	struct engine_fpev	 ev;
	struct engine_fpreq	*r = &ev.t;

	if (lf->e == NULL)
		return;
	memset(&ev, 0, sizeof(ev));
	r->family = (uint8_t)fe->flow.family;
	r->proto = fe->flow.proto;
	r->client = fe->flow.client;
	r->vip = fe->flow.vip;
	r->server = fe->flow.server;
	r->cport = fe->flow.cport;
	r->vport = fe->flow.vport;
	r->sport = fe->flow.sport;
	ev.from_client = fe->dir == FP_TO_SERVER;
	ev.tcpflags = fe->tcpflags;
	ev.ms = (uint32_t)(fe->ns / 1000000);
	engine_fp_event(lf->e, &ev, lf->now);
}

/*
 * After the drop: the engine gets its queue (drained here when full), and
 * the flows an earlier loadd left in the map come back into the table.
 */
void
livefp_start(struct livefp *lf, struct engine *e, uint32_t now)
{
	struct fastpath_stats	 st;
	struct fastpath_flow	 ff;
	struct adopt		 a;
	uint32_t		 i, kept = 0;

	if (fastpath_stats_read(lf->fp, &st) == -1)
		fatalx("offload = bpf: the packet process cannot read the "
		    "map (%s): this kernel wants CAP_BPF for map calls; run "
		    "with privsep = no", fastpath_error(lf->fp));
	if (engine_set_fastpath(e, drain_cb, lf) == -1)
		fatal("offload = bpf: engine");
	if (e->fp->synmax > fastpath_capacity(lf->fp) / 4)
		e->fp->synmax = fastpath_capacity(lf->fp) / 4;
	engine_set_ms(e, (uint32_t)clock_mono_ms());
	memset(&a, 0, sizeof(a));
	a.cap = fastpath_capacity(lf->fp);
	if ((a.r = calloc(a.cap, sizeof(*a.r))) == NULL ||
	    (a.c = calloc(a.cap, sizeof(*a.c))) == NULL)
		fatal("offload = bpf: adoption");
	if (fastpath_flow_walk(lf->fp, collect, &a) == -1)
		log_warnx("offload = bpf: %s", fastpath_error(lf->fp));
	for (i = 0; i < a.n; i++) {
		if (engine_fp_adopt(e, &a.r[i], &a.c[i], now)) {
			kept++;
			continue;
		}
		to_flow(&a.r[i], &ff);
		(void)fastpath_flow_del(lf->fp, &ff);
	}
	if (a.n != 0)
		log_notice("offload = bpf: %u flow(s) in the map taken back, "
		    "%u of no configured server deleted", kept, a.n - kept);
	free(a.r);
	free(a.c);
	/* Events left in the ring: about the flows taken back, or stale. */
	livefp_events(lf, e, now);
	livefp_drain(lf, e);
}

static int
collect(const struct fastpath_flow *f, const struct fastpath_counters *c,
    void *arg)
{
	struct adopt		*a = arg;
	struct engine_fpreq	*r;

	if (a->n == a->cap)
		return (1);
	r = &a->r[a->n];
	from_flow(f, r);
	to_count(c, &a->c[a->n]);
	a->n++;
	return (0);
}

static void
from_flow(const struct fastpath_flow *f, struct engine_fpreq *r)
{
	memset(r, 0, sizeof(*r));
	r->family = (uint8_t)f->family;
	r->proto = f->proto;
	r->client = f->client;
	r->vip = f->vip;
	r->server = f->server;
	r->cport = f->cport;
	r->vport = f->vport;
	r->sport = f->sport;
}

static void
to_flow(const struct engine_fpreq *r, struct fastpath_flow *f)
{
	memset(f, 0, sizeof(*f));
	f->family = r->family;
	f->proto = r->proto;
	f->client = r->client;
	f->vip = r->vip;
	f->server = r->server;
	f->cport = r->cport;
	f->vport = r->vport;
	f->sport = r->sport;
}

/* The map's two directions as the engine takes them. */
static void
to_count(const struct fastpath_counters *c, struct engine_fpcount *k)
{
	uint64_t	 last, now;

	memset(k, 0, sizeof(*k));
	k->has = (c->has & FASTPATH_HAS_TO_SERVER ? ENGINE_FPC_TO_SERVER : 0) |
	    (c->has & FASTPATH_HAS_TO_CLIENT ? ENGINE_FPC_TO_CLIENT : 0);
	k->pkts[0] = c->to_server.packets;
	k->pkts[1] = c->to_client.packets;
	k->bytes[0] = c->to_server.bytes;
	k->bytes[1] = c->to_client.bytes;
	k->fin[0] = c->to_server.fin;
	k->fin[1] = c->to_client.fin;
	k->rst = c->to_server.rst || c->to_client.rst;
	last = c->to_server.last_ns > c->to_client.last_ns ?
	    c->to_server.last_ns : c->to_client.last_ns;
	now = fastpath_now_ns();
	/* No packet through the map yet: the engine's timer stands. */
	k->idle = last == 0 ? UINT32_MAX : now <= last ? 0 :
	    (uint32_t)((now - last) / 1000000000ull);
}

static void
drain_cb(void *arg, struct engine *e)
{
	livefp_drain(arg, e);
}

void
livefp_drain(struct livefp *lf, struct engine *e)
{
	struct engine_fpreq	*q;
	unsigned		 n;

	q = engine_fp_queue(e, &n);
	carry_out(lf, e, q, n);
}

/*
 * Before a batch's verdicts: the flows it decided go into the map, so
 * that the servers' answers to their SYNs take the fast path.
 */
void
livefp_adds(struct livefp *lf, struct engine *e)
{
	struct engine_fpreq	*q;
	unsigned		 n;

	q = engine_fp_queue_adds(e, &n);
	carry_out(lf, e, q, n);
}

static void
carry_out(struct livefp *lf, struct engine *e, const struct engine_fpreq *q,
    unsigned n)
{
	struct fastpath_flow	 ff;
	struct fastpath_counters c;
	struct engine_fpcount	 k;
	unsigned		 i;

	for (i = 0; i < n; i++) {
		if (q[i].op == FPQ_ADD) {
			do_add(lf, e, &q[i]);
			continue;
		}
		/* What the map counted since the last poll, then the delete. */
		to_flow(&q[i], &ff);
		if (fastpath_flow_read(lf->fp, &ff, &c) == 0)
			to_count(&c, &k);
		else
			memset(&k, 0, sizeof(k));
		(void)fastpath_flow_del(lf->fp, &ff);
		engine_fp_deleted(e, &q[i], &k);
	}
}

/*
 * One flow into the map.  A tuple already there is an older flow's left
 * behind (a crash between the table and the map): it goes.  A full map
 * leaves the flow to loadd, counted, and logged now and then.
 */
static void
do_add(struct livefp *lf, struct engine *e, const struct engine_fpreq *r)
{
	struct fastpath_flow	 ff;
	uint64_t		 n = e->st.fp_refused + 1;
	int			 rc;

	to_flow(r, &ff);
	if ((rc = fastpath_flow_add(lf->fp, &ff)) == -1 && errno == EEXIST) {
		(void)fastpath_flow_del(lf->fp, &ff);
		rc = fastpath_flow_add(lf->fp, &ff);
	}
	if (rc == 0)
		return;
	/* The 1st, 2nd, 4th, 8th ... refusal: seen, not a flood. */
	if ((n & (n - 1)) == 0)
		log_warnx("offload = bpf: a flow stays on the slow path: %s "
		    "(%llu so far; offload_maxflows sizes the map)",
		    fastpath_error(lf->fp), (unsigned long long)n);
	engine_fp_refused(e, r);
}

/* One entry of the map, read by the poll: to its flow, if any. */
static int
poll_entry(const struct fastpath_flow *ff, int dir,
    const struct fastpath_dir *d, void *arg)
{
	struct pollarg		*a = arg;
	struct engine_fpreq	 r;
	struct engine_fpcount	 k;
	uint32_t		 i;
	int			 x = dir == FASTPATH_HAS_TO_SERVER ? 0 : 1;

	/*
	 * A FIN or RST read in the map: its event, written just after the
	 * flag, may have come since the batch was read; applied first, it
	 * leaves the poll nothing to make up for.
	 */
	if (d->fin || d->rst)
		livefp_events(a->lf, a->e, a->now);
	from_flow(ff, &r);
	if ((i = engine_fp_find(a->e, &r)) == FLOW_NIL)
		return (0);
	memset(&k, 0, sizeof(k));
	k.has = x == 0 ? ENGINE_FPC_TO_SERVER : ENGINE_FPC_TO_CLIENT;
	k.pkts[x] = d->packets;
	k.bytes[x] = d->bytes;
	k.fin[x] = d->fin;
	k.rst = d->rst;
	/* No packet through the map yet: the engine's timer stands. */
	k.idle = d->last_ns == 0 ? UINT32_MAX : a->now_ns <= d->last_ns ? 0 :
	    (uint32_t)((a->now_ns - d->last_ns) / 1000000000ull);
	engine_fp_update(a->e, i, &k, a->now);
	return (0);
}

/*
 * Once a second: what the map counted, a budget of entries at a time
 * (the events waiting are applied first, so that the poll only finds
 * what they lost), and the program's count of lost events.
 */
void
livefp_poll(struct livefp *lf, struct engine *e, uint32_t now)
{
	struct fastpath_stats	 st;
	struct pollarg		 a;
	int			 rc;

	livefp_events(lf, e, now);
	if (fastpath_stats_read(lf->fp, &st) == 0)
		e->st.fp_ev_lost = st.st[FP_ST_RINGFULL];
	a.lf = lf;
	a.e = e;
	a.now = now;
	a.now_ns = fastpath_now_ns();
	rc = fastpath_flow_scan(lf->fp, &lf->scan, POLL_BUDGET, poll_entry,
	    &a);
	if (rc == 1)
		engine_fp_round_end(e);
	else if (rc == -1 && !lf->scanerr) {
		/* Said once: the counters stand still until it works. */
		log_warnx("%s", fastpath_error(lf->fp));
		lf->scanerr = 1;
	}
	if (rc != -1)
		lf->scanerr = 0;
	livefp_drain(lf, e);
}

void
livefp_close(struct livefp *lf)
{
	if (lf == NULL)
		return;
	fastpath_events_close(lf->ev);
	fastpath_close(lf->fp);
	free(lf);
}
