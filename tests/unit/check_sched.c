/*
 * Balancing methods: looked up by name as users type them, and
 * round-robin's order over the servers that take new flows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"
#include "sched.h"
#include "unit.h"

/* Service 0 has servers 0 to 3, service 1 servers 4 and 5. */
#define NSRV		6

struct rr {
	struct pool	 pool;
	struct service	 svc[2];
	struct server	 srv[NSRV];
};

static void	 rr_init(struct rr *);
static int	 pick(struct rr *, unsigned);

/* Two services in one pool, as config.c lays them out; all servers up. */
static void
rr_init(struct rr *r)
{
	unsigned	 i;

	memset(r, 0, sizeof(*r));
	r->pool.svc = r->svc;
	r->pool.nsvc = 2;
	r->pool.srv = r->srv;
	r->pool.nsrv = NSRV;
	r->svc[0].first = 0;
	r->svc[0].nsrv = 4;
	r->svc[1].first = 4;
	r->svc[1].nsrv = 2;
	for (i = 0; i < 2; i++)
		r->svc[i].method = sched_default();
	for (i = 0; i < NSRV; i++) {
		r->srv[i].svc = i < 4 ? 0 : 1;
		r->srv[i].weight = 1;
		r->srv[i].state = SRV_UP;
	}
}

static int
pick(struct rr *r, unsigned svc)
{
	return (r->svc[svc].method->pick(&r->pool, &r->svc[svc], NULL, 0));
}

START_TEST(test_find)
{
	static const char *const good[] = {
		"roundrobin", "RoundRobin", "ROUNDROBIN", "roundrobbin",
		"RoundRobbin",
	};
	static const char *const bad[] = {
		"nonsense", "", "round", "roundrobin ", " roundrobin",
		"roundrobbinn", "round-robin", "rr",
	};
	size_t	 i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ck_assert_msg(sched_find(good[i]) == sched_default(),
		    "\"%s\" not found", good[i]);
		ck_assert_str_eq(sched_find(good[i])->name, "roundrobin");
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(sched_find(bad[i]) == NULL, "\"%s\" found",
		    bad[i]);
	ck_assert_ptr_nonnull(sched_default()->pick);
}
END_TEST

/* What loadd -h prints: every method by its name. */
START_TEST(test_list)
{
	FILE	*fp;
	char	 line[256];

	fp = tmpfile();
	ck_assert_ptr_nonnull(fp);
	sched_list(fp, "    ");
	rewind(fp);
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), fp));
	ck_assert_msg(strncmp(line, "    roundrobin ", 15) == 0, "%s", line);
	fclose(fp);
}
END_TEST

START_TEST(test_usable)
{
	struct rr	 r;

	rr_init(&r);
	ck_assert_int_eq(sched_usable(&r.pool, 0), 1);
	r.srv[0].weight = 0;
	ck_assert_int_eq(sched_usable(&r.pool, 0), 0);
	r.srv[0].weight = 65535;
	ck_assert_int_eq(sched_usable(&r.pool, 0), 1);
	r.srv[0].state = SRV_DOWN;
	ck_assert_int_eq(sched_usable(&r.pool, 0), 0);
	r.srv[0].state = SRV_DRAINING;
	ck_assert_int_eq(sched_usable(&r.pool, 0), 0);
	r.srv[0].state = SRV_DISABLED;
	ck_assert_int_eq(sched_usable(&r.pool, 0), 0);
}
END_TEST

/* Each server in turn, so each gets the same share. */
START_TEST(test_rr_even)
{
	struct rr	 r;
	unsigned	 count[NSRV] = { 0 }, i;
	int		 s;

	rr_init(&r);
	for (i = 0; i < 4000; i++) {
		s = pick(&r, 0);
		ck_assert_int_eq(s, (int)(i % 4));
		count[s]++;
	}
	for (i = 0; i < 4; i++)
		ck_assert_uint_eq(count[i], 1000);
	ck_assert_uint_eq(count[4] + count[5], 0);
}
END_TEST

/* Servers that take no new flows are skipped; the rest share evenly. */
START_TEST(test_rr_skips)
{
	struct rr	 r;
	unsigned	 count[NSRV] = { 0 }, i;
	int		 s, prev = -1;

	rr_init(&r);
	r.srv[1].state = SRV_DOWN;
	r.srv[2].weight = 0;
	for (i = 0; i < 1000; i++) {
		s = pick(&r, 0);
		ck_assert_msg(s == 0 || s == 3, "picked server %d", s);
		ck_assert_int_ne(s, prev);
		prev = s;
		count[s]++;
	}
	ck_assert_uint_eq(count[0], 500);
	ck_assert_uint_eq(count[3], 500);
}
END_TEST

START_TEST(test_rr_none)
{
	struct rr	 r;
	unsigned	 i;

	rr_init(&r);
	for (i = 0; i < 4; i++)
		r.srv[i].state = i % 2 ? SRV_DOWN : SRV_DISABLED;
	for (i = 0; i < 10; i++)
		ck_assert_int_eq(pick(&r, 0), -1);
	/* The other service is not affected. */
	ck_assert_int_eq(pick(&r, 1), 4);
	/* One back, and it takes everything. */
	r.srv[2].state = SRV_UP;
	for (i = 0; i < 10; i++)
		ck_assert_int_eq(pick(&r, 0), 2);
}
END_TEST

/* Services keep their own turn and never pick another's servers. */
START_TEST(test_rr_services)
{
	struct rr	 r;
	unsigned	 i;

	rr_init(&r);
	for (i = 0; i < 100; i++) {
		ck_assert_int_eq(pick(&r, 0), (int)(i % 4));
		ck_assert_int_eq(pick(&r, 1), 4);
		ck_assert_int_eq(pick(&r, 1), 5);
	}
}
END_TEST

/* A server coming back takes its turn, not a burst. */
START_TEST(test_rr_comeback)
{
	struct rr	 r;
	unsigned	 count[NSRV] = { 0 }, i;

	rr_init(&r);
	r.srv[1].state = SRV_DOWN;
	for (i = 0; i < 30; i++)
		ck_assert_int_ne(pick(&r, 0), 1);
	r.srv[1].state = SRV_UP;
	for (i = 0; i < 8; i++)
		count[pick(&r, 0)]++;
	for (i = 0; i < 4; i++)
		ck_assert_uint_eq(count[i], 2);
}
END_TEST

Suite *
sched_suite(void)
{
	Suite	*s = suite_create("sched");
	TCase	*tc;

	tc = tcase_create("methods");
	tcase_add_test(tc, test_find);
	tcase_add_test(tc, test_list);
	tcase_add_test(tc, test_usable);
	suite_add_tcase(s, tc);

	tc = tcase_create("roundrobin");
	tcase_add_test(tc, test_rr_even);
	tcase_add_test(tc, test_rr_skips);
	tcase_add_test(tc, test_rr_none);
	tcase_add_test(tc, test_rr_services);
	tcase_add_test(tc, test_rr_comeback);
	suite_add_tcase(s, tc);
	return (s);
}
