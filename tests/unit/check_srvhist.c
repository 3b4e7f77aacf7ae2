/*
 * The servers' last minutes (loadd/srvhist.c): what the engine's tick
 * samples from a server's counters, second by second, oldest first; a
 * gap shared out over its seconds, one longer than the ring starting
 * anew; the ring wrapping; a value too big held at its limit; a slot
 * that is freed, new, or reused by a reload starting from nothing.
 * Counters are set by hand, as the engine would have counted them; the
 * reload is reload_swap(), as a SIGHUP does it.  And the history in the
 * status page's JSON.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "engine.h"
#include "reload.h"
#include "rig.h"
#include "srvhist.h"
#include "unit.h"

#define CONF	"ipaliasing = 192.0.2.10\nports = 80\ncheck = none\n" \
		"servers = 10.0.1.11, 10.0.1.12\n"
#define T0	5000

static struct srvhist_sample	 v[SRVHIST_SECONDS + 1];

static void
setup(void)
{
	rig_open(CONF);
	memset(v, 0, sizeof(v));
}

static void
teardown(void)
{
	rig_close();
}

/* Server i had this much more traffic, as the engine counts it. */
static void
traffic(unsigned i, uint64_t flows, uint64_t in, uint64_t out)
{
	struct server	*s = &R.conf.pool.srv[i];

	s->flows_total += flows;
	s->bytes_in += in;
	s->bytes_out += out;
}

static unsigned
hist(unsigned i)
{
	return (srvhist_get(&R.e.hist, i, v, SRVHIST_SECONDS));
}

/* Each second's traffic, a second each, oldest first; server by server. */
START_TEST(test_seconds)
{
	struct obuf	 o;
	unsigned	 k;

	engine_tick(&R.e, T0);		/* where the counters start */
	ck_assert_uint_eq(hist(0), 0);
	for (k = 1; k <= 3; k++) {
		traffic(0, k, 1000 * k, 2000 * k);
		traffic(1, 10 * k, 0, 0);
		engine_tick(&R.e, T0 + k);
		/* Twice in one second: the second call samples nothing. */
		engine_tick(&R.e, T0 + k);
	}
	ck_assert_uint_eq(hist(0), 3);
	for (k = 0; k < 3; k++) {
		ck_assert_uint_eq(v[k].flows, k + 1);
		ck_assert_uint_eq(v[k].bytes_in, 1000 * (k + 1));
		ck_assert_uint_eq(v[k].bytes_out, 2000 * (k + 1));
	}
	ck_assert_uint_eq(hist(1), 3);
	ck_assert_uint_eq(v[2].flows, 30);
	ck_assert_uint_eq(v[2].bytes_in, 0);
	/* At most what is asked for: the newest. */
	ck_assert_uint_eq(srvhist_get(&R.e.hist, 0, v, 2), 2);
	ck_assert_uint_eq(v[0].flows, 2);
	ck_assert_uint_eq(v[1].flows, 3);
	ck_assert_uint_eq(srvhist_get(&R.e.hist, POOL_MAXSERVERS, v, 2), 0);
	/* The status page's JSON of it. */
	memset(&o, 0, sizeof(o));
	srvhist_json(&R.e.hist, 0, &o);
	ck_assert_str_eq(o.b, "{\"seconds\":3,\"new_flows\":[1,2,3],"
	    "\"bytes_in\":[1000,2000,3000],\"bytes_out\":[2000,4000,6000]}");
	ob_free(&o);
	srvhist_forget(&R.e.hist, 0);
	srvhist_json(&R.e.hist, 0, &o);
	ck_assert_str_eq(o.b, "{\"seconds\":0,\"new_flows\":[],"
	    "\"bytes_in\":[],\"bytes_out\":[]}");
	ob_free(&o);
}
END_TEST

/* A loop held up 4 s: the traffic of those seconds, shared out. */
START_TEST(test_gap)
{
	unsigned	 k;

	engine_tick(&R.e, T0);
	traffic(0, 40, 4000, 400);
	engine_tick(&R.e, T0 + 4);
	ck_assert_uint_eq(hist(0), 4);
	for (k = 0; k < 4; k++) {
		ck_assert_uint_eq(v[k].flows, 10);
		ck_assert_uint_eq(v[k].bytes_in, 1000);
		ck_assert_uint_eq(v[k].bytes_out, 100);
	}
	/* Longer than the ring: nothing of before is worth showing. */
	traffic(0, 5, 0, 0);
	engine_tick(&R.e, T0 + 4 + SRVHIST_SECONDS + 1);
	ck_assert_uint_eq(hist(0), 0);
	traffic(0, 7, 0, 0);
	engine_tick(&R.e, T0 + 4 + SRVHIST_SECONDS + 2);
	ck_assert_uint_eq(hist(0), 1);
	ck_assert_uint_eq(v[0].flows, 7);
}
END_TEST

/* The ring wraps: the last SRVHIST_SECONDS seconds, in order. */
START_TEST(test_wrap)
{
	unsigned	 k, n = SRVHIST_SECONDS + 57;

	engine_tick(&R.e, T0);
	for (k = 1; k <= n; k++) {
		traffic(0, k, 0, 0);
		engine_tick(&R.e, T0 + k);
	}
	ck_assert_uint_eq(hist(0), SRVHIST_SECONDS);
	for (k = 0; k < SRVHIST_SECONDS; k++)
		ck_assert_uint_eq(v[k].flows, n - SRVHIST_SECONDS + 1 + k);
}
END_TEST

/* More than 4 GB in a second is shown as 4 GB, not as what wraps. */
START_TEST(test_held)
{
	engine_tick(&R.e, T0);
	traffic(0, 0, (uint64_t)UINT32_MAX + 5, 1);
	engine_tick(&R.e, T0 + 1);
	ck_assert_uint_eq(hist(0), 1);
	ck_assert_uint_eq(v[0].bytes_in, UINT32_MAX);
	ck_assert_uint_eq(v[0].bytes_out, 1);
}
END_TEST

/* A slot set free has no history; used again, it starts from there. */
START_TEST(test_free_slot)
{
	engine_tick(&R.e, T0);
	traffic(1, 3, 0, 0);
	engine_tick(&R.e, T0 + 1);
	ck_assert_uint_eq(hist(1), 1);
	R.conf.pool.srv[1].used = 0;
	traffic(1, 100, 0, 0);
	engine_tick(&R.e, T0 + 2);
	ck_assert_uint_eq(hist(1), 0);
	R.conf.pool.srv[1].used = 1;
	engine_tick(&R.e, T0 + 3);	/* its counters read again */
	ck_assert_uint_eq(hist(1), 0);
	traffic(1, 2, 0, 0);
	engine_tick(&R.e, T0 + 4);
	ck_assert_uint_eq(hist(1), 1);
	ck_assert_uint_eq(v[0].flows, 2);
	/* Forgotten: from the next tick on, nothing before. */
	srvhist_forget(&R.e.hist, 1);
	ck_assert_uint_eq(hist(1), 0);
}
END_TEST

static void
reload(const char *text, uint8_t *slots)
{
	struct config	*nc;
	char		 err[256];

	ck_assert_ptr_nonnull(nc = calloc(1, sizeof(*nc)));
	conf_load_text(nc, text);
	ck_assert_int_eq(reload_swap(&R.e, &R.conf, nc, slots, err,
	    sizeof(err)), 0);
	config_free(&R.conf);
	R.conf = *nc;
	R.e.pool = &R.conf.pool;
	free(nc);
}

/*
 * A reload: the server that stays keeps its history; the one that goes
 * leaves its slot, and the one that takes the slot starts afresh,
 * without a spike from the counters of before.
 */
START_TEST(test_reload)
{
	uint8_t		 slots[POOL_MAXSERVERS];
	unsigned	 k;

	engine_tick(&R.e, T0);
	for (k = 1; k <= 5; k++) {
		traffic(0, 1, 0, 0);
		traffic(1, 2, 0, 0);
		engine_tick(&R.e, T0 + k);
	}
	ck_assert_uint_eq(hist(1), 5);
	reload("ipaliasing = 192.0.2.10\nports = 80\ncheck = none\n"
	    "servers = 10.0.1.11, 10.0.1.99\n", slots);
	ck_assert_uint_eq(slots[0], RS_SAME);
	ck_assert_str_eq(R.conf.pool.srv[1].name, "10.0.1.99:80");
	ck_assert_uint_eq(slots[1], RS_NEW);
	ck_assert_uint_eq(hist(0), 5);
	ck_assert_uint_eq(hist(1), 0);
	traffic(0, 1, 0, 0);
	traffic(1, 4, 0, 0);
	engine_tick(&R.e, T0 + 6);
	ck_assert_uint_eq(hist(0), 6);
	/* Its counters were read at the first tick after the reload. */
	ck_assert_uint_eq(hist(1), 0);
	traffic(1, 4, 0, 0);
	engine_tick(&R.e, T0 + 7);
	ck_assert_uint_eq(hist(1), 1);
	ck_assert_uint_eq(v[0].flows, 4);
}
END_TEST

Suite *
srvhist_suite(void)
{
	Suite	*s = suite_create("srvhist");
	TCase	*tc;

	tc = tcase_create("history");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_seconds);
	tcase_add_test(tc, test_gap);
	tcase_add_test(tc, test_wrap);
	tcase_add_test(tc, test_held);
	tcase_add_test(tc, test_free_slot);
	tcase_add_test(tc, test_reload);
	suite_add_tcase(s, tc);
	return (s);
}
