/*
 * The flow table: lookups, eviction when full, and expiry.  Time is
 * simulated: every call is given its `now`, and nothing sleeps.  A
 * release callback records every entry that leaves, so each test can
 * say exactly which entries went and that none went twice.
 */
#include <arpa/inet.h>

#include <stdlib.h>
#include <string.h>

#include "flow.h"
#include "unit.h"

#define NKEYS		64

/* What the release callback saw; tests fork, so globals are private. */
static unsigned	 nreleased;
static int	 last_released;		/* client number, or -1 */
static int	 present[NKEYS];	/* for the model check */
static int	 model;			/* check against present[] */

static union addr	 client(unsigned);
static struct flow	*ins(struct flowtab *, unsigned, uint8_t, uint32_t);
static struct flow	*look(struct flowtab *, unsigned);
static void		 on_release(void *, const struct flow *);
static void		 setup(struct flowtab *, uint32_t);
static uint32_t		 expires_after(struct flowtab *, uint8_t,
			    uint32_t, uint32_t);

/*
 * Client n: address 198.51.100.(n % 200), port 10000 + n, service 3;
 * so clients 5 and 205 share an address, and only the port tells them
 * apart.
 */
static union addr
client(unsigned n)
{
	union addr	 a;

	memset(&a, 0, sizeof(a));
	a.b[0] = 198;
	a.b[1] = 51;
	a.b[2] = 100;
	a.b[3] = (uint8_t)(n % 200);
	return (a);
}

static struct flow *
ins(struct flowtab *ft, unsigned n, uint8_t state, uint32_t now)
{
	union addr	 a = client(n);
	uint16_t	 port = htons((uint16_t)(10000 + n));

	return (flow_insert(ft, flow_hash(ft, &a, port, 3), &a, port, 3,
	    (uint16_t)n, state, now));
}

static struct flow *
look(struct flowtab *ft, unsigned n)
{
	union addr	 a = client(n);
	uint16_t	 port = htons((uint16_t)(10000 + n));

	return (flow_lookup(ft, flow_hash(ft, &a, port, 3), &a, port, 3));
}

static void
on_release(void *arg, const struct flow *f)
{
	struct flowtab	*ft = arg;
	unsigned	 n = ntohs(f->cport) - 10000u;

	ck_assert_msg(f >= ft->f + 1 && f <= ft->f + ft->cap,
	    "released entry outside the table");
	ck_assert_msg(f->state != FS_NONE, "released a free entry");
	nreleased++;
	last_released = (int)n;
	if (model) {
		ck_assert_msg(n < NKEYS && present[n], "client %u released "
		    "but not in the table", n);
		present[n] = 0;
	}
}

static void
setup(struct flowtab *ft, uint32_t cap)
{
	ck_assert_int_eq(flowtab_init(ft, cap, 0xf10f10u), 0);
	flowtab_set_release(ft, on_release, ft);
	nreleased = 0;
	last_released = -1;
	model = 0;
}

/*
 * Inserts one flow in state at t0, runs expiry every second and returns
 * how long after t0 it went.
 */
static uint32_t
expires_after(struct flowtab *ft, uint8_t state, uint32_t t0, uint32_t limit)
{
	uint32_t	 now;

	nreleased = 0;
	ck_assert_ptr_nonnull(ins(ft, 1, state, t0));
	for (now = t0 + 1; now <= t0 + limit; now++) {
		flow_expire(ft, now, 1000);
		if (nreleased > 0) {
			ck_assert_ptr_null(look(ft, 1));
			ck_assert_uint_eq(nreleased, 1);
			return (now - t0);
		}
		ck_assert_ptr_nonnull(look(ft, 1));
	}
	ck_abort_msg("flow in state %s still there after %u s",
	    flow_state_name(state), limit);
	return (0);
}

START_TEST(test_entry_size)
{
	/* Memory per flow is documented in loadd.conf(5). */
	ck_assert_uint_eq(sizeof(struct flow), 56);
}
END_TEST

START_TEST(test_init)
{
	struct flowtab	 ft;

	ck_assert_int_eq(flowtab_init(&ft, 0, 1), -1);
	ck_assert_int_eq(flowtab_init(&ft, (1u << 30) + 1, 1), -1);
	setup(&ft, 1);
	ck_assert_uint_eq(ft.cap, 1);
	ck_assert_uint_eq(ft.count, 0);
	ck_assert_uint_eq(ft.timeout[FC_HALFOPEN], 240);
	ck_assert_uint_eq(ft.timeout[FC_CLOSING], 240);
	ck_assert_uint_eq(ft.timeout[FC_ESTABLISHED], 7440);
	ck_assert_uint_eq(ft.timeout[FC_UDP], 300);
	ck_assert_ptr_nonnull(ins(&ft, 0, FS_UDP, 1));
	ck_assert_ptr_null(ins(&ft, 1, FS_UDP, 1));
	flowtab_free(&ft);
}
END_TEST

START_TEST(test_insert_lookup_remove)
{
	struct flowtab	 ft;
	struct flow	*f;
	union addr	 a = client(5), b;
	uint16_t	 port = htons(10005);

	setup(&ft, 16);
	f = ins(&ft, 5, FS_SYN_SENT, 100);
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_eq(look(&ft, 5), f);
	ck_assert_mem_eq(f->caddr, a.w, sizeof(f->caddr));
	ck_assert_uint_eq(f->cport, port);
	ck_assert_uint_eq(f->svc, 3);
	ck_assert_uint_eq(f->srv, 5);
	ck_assert_uint_eq(f->state, FS_SYN_SENT);
	ck_assert_uint_eq(f->cls, FC_HALFOPEN);
	ck_assert_uint_eq(f->last, 100);
	ck_assert_uint_eq(ft.count, 1);
	ck_assert_uint_eq(ft.st.inserted, 1);

	/* Another port, service or address is another flow. */
	ck_assert_ptr_null(flow_lookup(&ft, flow_hash(&ft, &a, htons(10006),
	    3), &a, htons(10006), 3));
	ck_assert_ptr_null(flow_lookup(&ft, flow_hash(&ft, &a, port, 4), &a,
	    port, 4));
	b = a;
	b.b[3]++;
	ck_assert_ptr_null(flow_lookup(&ft, flow_hash(&ft, &b, port, 3), &b,
	    port, 3));
	/* An IPv6 address whose first word is the IPv4 address. */
	b = a;
	b.w[3] = htonl(1);
	ck_assert_ptr_null(flow_lookup(&ft, flow_hash(&ft, &b, port, 3), &b,
	    port, 3));
	/* Even in the right bucket, the key is compared in full. */
	ck_assert_ptr_null(flow_lookup(&ft, flow_hash(&ft, &a, port, 3), &b,
	    port, 3));

	flow_remove(&ft, f);
	ck_assert_ptr_null(look(&ft, 5));
	ck_assert_uint_eq(ft.count, 0);
	ck_assert_uint_eq(nreleased, 1);
	ck_assert_int_eq(last_released, 5);
	ck_assert_uint_eq(ft.list[FC_HALFOPEN].count, 0);
	flowtab_free(&ft);
}
END_TEST

/* A full table of many keys, half removed and put back. */
START_TEST(test_many)
{
	struct flowtab	 ft;
	struct flow	*f;
	unsigned	 n, cap = 1000;
	union addr	 a;

	setup(&ft, cap);
	for (n = 0; n < cap; n++)
		ck_assert_ptr_nonnull(ins(&ft, n, FS_UDP, 1));
	ck_assert_uint_eq(ft.count, cap);
	for (n = 0; n < cap; n++) {
		f = look(&ft, n);
		ck_assert_ptr_nonnull(f);
		ck_assert_uint_eq(f->srv, n);
	}
	for (n = 0; n < cap; n += 2)
		flow_remove(&ft, look(&ft, n));
	ck_assert_uint_eq(ft.count, cap / 2);
	ck_assert_uint_eq(nreleased, cap / 2);
	for (n = 0; n < cap; n++)
		ck_assert_msg((look(&ft, n) != NULL) == (n % 2 == 1),
		    "client %u", n);
	for (n = 0; n < cap; n += 2)
		ck_assert_ptr_nonnull(ins(&ft, n, FS_ESTABLISHED, 2));
	for (n = 0; n < cap; n++)
		ck_assert_uint_eq(look(&ft, n)->srv, n);
	/* The same client under the other services is not there. */
	a = client(7);
	ck_assert_ptr_null(flow_lookup(&ft, flow_hash(&ft, &a, htons(10007),
	    0), &a, htons(10007), 0));
	flowtab_free(&ft);
}
END_TEST

/*
 * A big table (mapped, huge pages asked for) filled with the keys a scan
 * or a NAT'd client farm produces -- consecutive addresses and ports,
 * v4 and v6 -- spreads them as a random function would.  (A linear hash
 * alone, without the finalizer, left 20 % to 89 % of them empty,
 * depending on the key.)
 */
START_TEST(test_big_spread)
{
	struct flowtab	 ft;
	union addr	 a;
	uint32_t	 n, cap = 1u << 18, i, len, longest = 0, empty = 0;
	uint16_t	 port;
	int		 v6 = _i;

	setup(&ft, cap);
	ck_assert_uint_gt(ft.fsize, 0);		/* not from malloc */
	for (n = 0; n < cap; n++) {
		memset(&a, 0, sizeof(a));
		if (v6) {
			a.b[0] = 0x20;
			a.b[1] = 0x01;
			a.b[2] = 0x0d;
			a.b[3] = 0xb8;
			a.b[14] = (uint8_t)(n >> 12);
			a.b[15] = (uint8_t)(n >> 4);
		} else {
			a.b[0] = 10;
			a.b[2] = (uint8_t)(n >> 12);
			a.b[3] = (uint8_t)(n >> 4);
		}
		port = htons((uint16_t)(40000 + (n & 15)));
		ck_assert_ptr_nonnull(flow_insert(&ft, flow_hash(&ft, &a,
		    port, 1), &a, port, 1, 0, FS_UDP, 1));
	}
	for (i = 0; i <= ft.mask; i++) {
		len = 0;
		for (n = ft.bucket[i]; n != FLOW_NIL; n = ft.f[n].hnext)
			len++;
		if (len == 0)
			empty++;
		if (len > longest)
			longest = len;
	}
	/*
	 * Twice as many buckets as flows; a random function would leave
	 * e^-0.5 = 60.7 % of them empty, and its longest chain would be
	 * about 8 long.
	 */
	ck_assert_uint_eq(ft.mask + 1, 2 * cap);
	ck_assert_msg(empty > cap * 2 / 1000 * 595 &&
	    empty < cap * 2 / 1000 * 619, "%u of %u buckets empty", empty,
	    2 * cap);
	ck_assert_msg(longest <= 14, "a chain of %u", longest);
	ck_assert_uint_eq(ft.count, cap);
	flowtab_free(&ft);
}
END_TEST

/* Established TCP and UDP flows are never given up for a newcomer. */
START_TEST(test_full)
{
	struct flowtab	 ft;
	struct flow	*f;
	unsigned	 n;

	setup(&ft, 8);
	for (n = 0; n < 8; n++) {
		f = ins(&ft, n, n < 4 ? FS_SYN_SENT : FS_UDP, 10 + n);
		ck_assert_ptr_nonnull(f);
		if (n < 4)
			flow_set_state(&ft, f, FS_ESTABLISHED, 20 + n);
	}
	ck_assert_ptr_null(ins(&ft, 8, FS_SYN_SENT, 30));
	ck_assert_ptr_null(ins(&ft, 9, FS_UDP, 31));
	ck_assert_uint_eq(ft.st.full, 2);
	ck_assert_uint_eq(ft.st.evicted, 0);
	ck_assert_uint_eq(nreleased, 0);
	ck_assert_uint_eq(ft.count, 8);
	for (n = 0; n < 8; n++)
		ck_assert_ptr_nonnull(look(&ft, n));
	ck_assert_ptr_null(look(&ft, 8));
	flowtab_free(&ft);
}
END_TEST

/* Full: the oldest half-open entry goes first, even before closing ones. */
START_TEST(test_evict_halfopen)
{
	struct flowtab	 ft;
	unsigned	 n;
	static const uint8_t states[8] = {
		FS_ESTABLISHED, FS_FIN_WAIT, FS_SYN_SENT, FS_SYN_RECV,
		FS_SYN_SENT, FS_TIME_WAIT, FS_UDP, FS_ESTABLISHED,
	};

	setup(&ft, 8);
	for (n = 0; n < 8; n++) {
		ck_assert_ptr_nonnull(ins(&ft, n, FS_SYN_SENT, 10 + n));
		if (states[n] != FS_SYN_SENT)
			flow_set_state(&ft, look(&ft, n), states[n], 10 + n);
	}
	/* Half-open: 2, 3, 4 in that order; closing: 1, 5. */
	ck_assert_ptr_nonnull(ins(&ft, 8, FS_ESTABLISHED, 30));
	ck_assert_int_eq(last_released, 2);
	ck_assert_ptr_null(look(&ft, 2));
	ck_assert_ptr_nonnull(ins(&ft, 9, FS_ESTABLISHED, 31));
	ck_assert_int_eq(last_released, 3);
	ck_assert_ptr_nonnull(ins(&ft, 10, FS_ESTABLISHED, 32));
	ck_assert_int_eq(last_released, 4);
	ck_assert_uint_eq(ft.st.evicted, 3);
	ck_assert_uint_eq(nreleased, 3);
	/* Then the closing ones, oldest first. */
	ck_assert_ptr_nonnull(ins(&ft, 11, FS_ESTABLISHED, 33));
	ck_assert_int_eq(last_released, 1);
	ck_assert_ptr_nonnull(ins(&ft, 12, FS_ESTABLISHED, 34));
	ck_assert_int_eq(last_released, 5);
	ck_assert_uint_eq(ft.st.evicted, 5);
	/* And then nothing more can go. */
	ck_assert_ptr_null(ins(&ft, 13, FS_SYN_SENT, 35));
	ck_assert_uint_eq(ft.st.full, 1);
	ck_assert_uint_eq(nreleased, 5);
	for (n = 0; n <= 12; n++)
		ck_assert_msg((look(&ft, n) != NULL) ==
		    !(n >= 1 && n <= 5), "client %u", n);
	ck_assert_uint_eq(ft.count, 8);
	flowtab_free(&ft);
}
END_TEST

/* A half-open newcomer can push out the previous half-open newcomer. */
START_TEST(test_evict_newcomers)
{
	struct flowtab	 ft;
	unsigned	 n;

	setup(&ft, 4);
	for (n = 0; n < 4; n++)
		ck_assert_ptr_nonnull(ins(&ft, n, FS_SYN_SENT, 1));
	for (n = 4; n < 100; n++) {
		ck_assert_ptr_nonnull(ins(&ft, n, FS_SYN_SENT, 2 + n));
		ck_assert_int_eq(last_released, (int)n - 4);
	}
	ck_assert_uint_eq(ft.count, 4);
	ck_assert_uint_eq(ft.st.evicted, 96);
	ck_assert_uint_eq(nreleased, 96);
	flowtab_free(&ft);
}
END_TEST

/*
 * An idle flow goes no earlier than its timeout, and no later than a
 * sixteenth of it (plus the one-second tick) after that.
 */
static const uint32_t timeouts[] = {
	1, 2, 3, 15, 16, 17, 31, 33, 100, 240, 300, 1000, 7440,
};

START_TEST(test_expiry_bounds)
{
	static const uint8_t states[] = {
		FS_SYN_SENT, FS_FIN_WAIT, FS_ESTABLISHED, FS_UDP,
	};
	struct flowtab	 ft;
	uint32_t	 to = timeouts[_i], after;
	size_t		 s;
	int		 cls;

	setup(&ft, 4);
	for (s = 0; s < sizeof(states); s++) {
		cls = flow_class_of(states[s]);
		ft.timeout[cls] = to;
		after = expires_after(&ft, states[s], 1000000 + 50000 * s,
		    2 * to + 2);
		ck_assert_msg(after >= to && after <= to + to / 16 + 1,
		    "%s, timeout %u: went after %u s", flow_state_name(
		    states[s]), to, after);
		ck_assert_uint_eq(ft.st.expired, s + 1);
	}
	flowtab_free(&ft);
}
END_TEST

/* A flow that sees packets lives on, and times out once they stop. */
START_TEST(test_touched_lives)
{
	struct flowtab	 ft;
	struct flow	*f;
	uint32_t	 to = timeouts[_i], now, t0 = 5000, stop;

	setup(&ft, 4);
	ft.timeout[FC_UDP] = to;
	f = ins(&ft, 1, FS_UDP, t0);
	ck_assert_ptr_nonnull(f);
	stop = t0 + 5 * to + 50;
	for (now = t0 + 1; now <= stop; now++) {
		/* A packet every (to + 1) / 2 seconds. */
		if ((now - t0) % ((to + 1) / 2) == 0)
			f->last = now;
		flow_expire(&ft, now, 1000);
		ck_assert_msg(look(&ft, 1) == f, "timeout %u: a busy flow went "
		    "at %u s", to, now - t0);
	}
	stop = f->last;
	for (; nreleased == 0; now++) {
		ck_assert_msg(now - stop <= to + to / 16 + 1, "timeout %u: "
		    "idle for %u s and still there", to, now - stop);
		flow_expire(&ft, now, 1000);
	}
	ck_assert_msg(now - 1 - stop >= to, "timeout %u: gone after %u s",
	    to, now - 1 - stop);
	flowtab_free(&ft);
}
END_TEST

/* A state change takes the new state's timeout at once. */
START_TEST(test_class_change)
{
	struct flowtab	 ft;
	struct flow	*f;
	uint32_t	 now;

	setup(&ft, 4);
	ft.timeout[FC_HALFOPEN] = 10;
	ft.timeout[FC_ESTABLISHED] = 1000;
	ft.timeout[FC_CLOSING] = 20;
	f = ins(&ft, 1, FS_SYN_SENT, 100);
	ck_assert_ptr_nonnull(f);
	flow_set_state(&ft, f, FS_SYN_RECV, 105);
	ck_assert_uint_eq(f->cls, FC_HALFOPEN);
	flow_set_state(&ft, f, FS_ESTABLISHED, 108);
	ck_assert_uint_eq(f->cls, FC_ESTABLISHED);
	ck_assert_uint_eq(ft.list[FC_HALFOPEN].count, 0);
	ck_assert_uint_eq(ft.list[FC_ESTABLISHED].count, 1);
	/* Idle for 50 times the half-open timeout: established lives. */
	for (now = 109; now < 600; now++)
		flow_expire(&ft, now, 1000);
	ck_assert_ptr_eq(look(&ft, 1), f);
	flow_set_state(&ft, f, FS_FIN_WAIT, 600);
	ck_assert_uint_eq(f->cls, FC_CLOSING);
	for (now = 601; nreleased == 0; now++) {
		ck_assert_msg(now <= 600 + 20 + 20 / 16 + 1, "closing flow "
		    "idle for %u s", now - 600);
		flow_expire(&ft, now, 1000);
	}
	ck_assert_uint_ge(now - 1, 620);

	/* And back: established to closing to established is not stuck. */
	f = ins(&ft, 2, FS_SYN_SENT, 700);
	flow_set_state(&ft, f, FS_CLOSE, 701);
	flow_set_state(&ft, f, FS_UDP, 702);
	ck_assert_uint_eq(f->cls, FC_UDP);
	ck_assert_uint_eq(ft.list[FC_CLOSING].count, 0);
	ck_assert_uint_eq(ft.list[FC_UDP].count, 1);
	flowtab_free(&ft);
}
END_TEST

/* Expiry does no more than its budget of work per call. */
START_TEST(test_expire_budget)
{
	struct flowtab	 ft;
	unsigned	 n;

	setup(&ft, 32);
	ft.timeout[FC_UDP] = 10;
	for (n = 0; n < 10; n++)
		ck_assert_ptr_nonnull(ins(&ft, n, FS_UDP, 100));
	ck_assert_uint_eq(flow_expire(&ft, 200, 3), 3);
	ck_assert_uint_eq(nreleased, 3);
	ck_assert_uint_eq(ft.count, 7);
	/* The oldest go first. */
	ck_assert_ptr_null(look(&ft, 0));
	ck_assert_ptr_nonnull(look(&ft, 3));
	ck_assert_uint_eq(flow_expire(&ft, 200, 100), 7);
	ck_assert_uint_eq(ft.count, 0);
	ck_assert_uint_eq(ft.st.expired, 10);
	ck_assert_uint_eq(flow_expire(&ft, 300, 100), 0);
	flowtab_free(&ft);
}
END_TEST

/*
 * A random mix of inserts, removals, state changes, packets and expiry,
 * checked against a model of which clients are in the table.  The
 * release callback fails the test on an entry released twice.
 */
START_TEST(test_random_model)
{
	static const uint8_t states[] = {
		FS_SYN_SENT, FS_SYN_RECV, FS_ESTABLISHED, FS_FIN_WAIT,
		FS_TIME_WAIT, FS_CLOSE, FS_UDP,
	};
	struct flowtab	 ft;
	struct flow	*f;
	uint32_t	 seed = 0xf1f1f1f1u, now = 1000, op;
	unsigned	 n, k, npresent, ninserted = 0, nremoved = 0;

	setup(&ft, 24);
	model = 1;
	ft.timeout[FC_HALFOPEN] = 20;
	ft.timeout[FC_CLOSING] = 30;
	ft.timeout[FC_ESTABLISHED] = 200;
	ft.timeout[FC_UDP] = 50;
	memset(present, 0, sizeof(present));
	for (op = 0; op < 200000; op++) {
		k = unit_rand(&seed) % NKEYS;
		f = look(&ft, k);
		switch (unit_rand(&seed) % 8) {
		case 0:
		case 1:
			if (f != NULL)
				break;
			f = ins(&ft, k, states[unit_rand(&seed) % 7], now);
			if (f != NULL) {
				present[k] = 1;
				ninserted++;
			}
			break;
		case 2:
			if (f != NULL) {
				flow_remove(&ft, f);
				nremoved++;
			}
			break;
		case 3:
			if (f != NULL)
				flow_set_state(&ft, f,
				    states[unit_rand(&seed) % 7], now);
			break;
		case 4:
			if (f != NULL)
				f->last = now;
			break;
		default:
			now += unit_rand(&seed) % 4;
			flow_expire(&ft, now, 1 + unit_rand(&seed) % 8);
			break;
		}
		for (n = 0, npresent = 0; n < NKEYS; n++) {
			npresent += present[n] != 0;
			if ((look(&ft, n) != NULL) != (present[n] != 0))
				ck_abort_msg("op %u: client %u %s", op, n,
				    present[n] ? "lost" : "not released");
		}
		ck_assert_uint_eq(ft.count, npresent);
		ck_assert_uint_eq(ft.list[0].count + ft.list[1].count +
		    ft.list[2].count + ft.list[3].count, npresent);
	}
	ck_assert_uint_eq(ninserted, ft.st.inserted);
	ck_assert_uint_eq(nreleased, ft.st.expired + ft.st.evicted + nremoved);
	ck_assert_uint_eq(ninserted - nreleased, ft.count);
	ck_assert_uint_gt(ft.st.expired, 0);
	ck_assert_uint_gt(ft.st.evicted, 0);
	flowtab_free(&ft);
}
END_TEST

START_TEST(test_states)
{
	static const struct {
		uint8_t		 state;
		int		 cls;
		const char	*name;
	} tab[] = {
		{ FS_SYN_SENT, FC_HALFOPEN, "syn_sent" },
		{ FS_SYN_RECV, FC_HALFOPEN, "syn_recv" },
		{ FS_ESTABLISHED, FC_ESTABLISHED, "established" },
		{ FS_FIN_WAIT, FC_CLOSING, "fin_wait" },
		{ FS_TIME_WAIT, FC_CLOSING, "time_wait" },
		{ FS_CLOSE, FC_CLOSING, "close" },
		{ FS_UDP, FC_UDP, "udp" },
	};
	size_t	 i;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		ck_assert_int_eq(flow_class_of(tab[i].state), tab[i].cls);
		ck_assert_str_eq(flow_state_name(tab[i].state), tab[i].name);
	}
	ck_assert_str_eq(flow_state_name(-1), "?");
	ck_assert_str_eq(flow_state_name(FS_NSTATES), "?");
}
END_TEST

Suite *
flow_suite(void)
{
	Suite	*s = suite_create("flow");
	TCase	*tc;

	tc = tcase_create("table");
	tcase_add_test(tc, test_entry_size);
	tcase_add_test(tc, test_init);
	tcase_add_test(tc, test_insert_lookup_remove);
	tcase_add_test(tc, test_many);
	tcase_add_loop_test(tc, test_big_spread, 0, 2);
	tcase_add_test(tc, test_states);
	suite_add_tcase(s, tc);

	tc = tcase_create("eviction");
	tcase_add_test(tc, test_full);
	tcase_add_test(tc, test_evict_halfopen);
	tcase_add_test(tc, test_evict_newcomers);
	suite_add_tcase(s, tc);

	tc = tcase_create("expiry");
	tcase_set_timeout(tc, UNIT_SLOW_TIMEOUT);
	tcase_add_loop_test(tc, test_expiry_bounds, 0,
	    (int)(sizeof(timeouts) / sizeof(timeouts[0])));
	tcase_add_loop_test(tc, test_touched_lives, 0,
	    (int)(sizeof(timeouts) / sizeof(timeouts[0])));
	tcase_add_test(tc, test_class_change);
	tcase_add_test(tc, test_expire_budget);
	tcase_add_test(tc, test_random_model);
	suite_add_tcase(s, tc);
	return (s);
}
