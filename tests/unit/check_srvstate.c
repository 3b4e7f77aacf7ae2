/*
 * The server state machine alone (loadd/srvstate.c), on a pool loaded
 * from a configuration text, with no socket and no engine: probe results
 * counted to rise and fall, the worst of health, the operator's word and
 * the agent's, passive detection and its interplay with the probes, when
 * it wants to run, slow start, and free slots left alone.
 */
#include <string.h>

#include "config.h"
#include "health.h"
#include "srvstate.h"
#include "unit.h"

#define CONF		"ipaliasing = 192.0.2.10\nports = 80\n" \
			"servers = 10.0.1.11, 10.0.1.12, 10.0.1.13 backup\n"

struct t {
	struct config	 conf;
	struct health_stats st;
	struct srvstate	*ss;
	uint8_t		 gone[4];
};

static void
t_open(struct t *t, const char *text)
{
	memset(t, 0, sizeof(*t));
	conf_load_text(&t->conf, text);
	ck_assert_ptr_nonnull(t->ss = srvstate_new(&t->conf.pool, &t->st));
}

static void
t_close(struct t *t)
{
	srvstate_free(t->ss);
	config_free(&t->conf);
}

/* n results of one kind for server i. */
static void
results(struct t *t, unsigned i, int ok, unsigned n, uint64_t now)
{
	while (n-- > 0)
		srvstate_probe(t->ss, i, ok, ok ? NULL : "refused", now,
		    t->gone);
}

START_TEST(test_probe_results)
{
	struct t	 t;
	struct server	*s;

	t_open(&t, CONF "check = tcp\n");
	s = &t.conf.pool.srv[0];
	/* fall - 1 failures change nothing. */
	results(&t, 0, 0, 2, 1000);
	ck_assert_uint_eq(s->state, SRV_UP);
	ck_assert_uint_eq(s->healthy, 1);
	ck_assert_uint_eq(t.gone[0], 0);
	ck_assert_uint_eq(t.st.transitions, 0);
	/* The third: down, by the probes, and its flows may go. */
	results(&t, 0, 0, 1, 1000);
	ck_assert_uint_eq(s->state, SRV_DOWN);
	ck_assert_uint_eq(s->reason, SR_PROBE);
	ck_assert_uint_eq(s->healthy, 0);
	ck_assert_uint_eq(t.gone[0], 1);
	ck_assert_uint_eq(t.st.transitions, 1);
	/* rise successes bring it back. */
	results(&t, 0, 1, 1, 2000);
	ck_assert_uint_eq(s->state, SRV_DOWN);
	results(&t, 0, 1, 1, 2000);
	ck_assert_uint_eq(s->state, SRV_UP);
	ck_assert_uint_eq(s->reason, SR_PROBE);
	ck_assert_uint_eq(t.st.transitions, 2);
	/* Both primaries down: the backup takes new flows, until one is up. */
	results(&t, 0, 0, 3, 3000);
	results(&t, 1, 0, 3, 3000);
	ck_assert_uint_eq(t.conf.pool.svc[0].use_backup, 1);
	results(&t, 1, 1, 2, 4000);
	ck_assert_uint_eq(t.conf.pool.svc[0].use_backup, 0);
	t_close(&t);
}
END_TEST

/* The state is the worst of health, the operator's word and the agent's. */
START_TEST(test_worst_of)
{
	struct t	 t;
	struct server	*s;

	t_open(&t, CONF "check = tcp\n");
	s = &t.conf.pool.srv[0];
	results(&t, 0, 0, 3, 1000);
	ck_assert_uint_eq(s->state, SRV_DOWN);
	srvstate_admin(t.ss, 0, SRV_DRAINING, SR_OPERATOR);
	ck_assert_uint_eq(s->state, SRV_DRAINING);
	ck_assert_uint_eq(s->reason, SR_OPERATOR);
	srvstate_admin(t.ss, 0, SRV_DISABLED, SR_OPERATOR);
	ck_assert_uint_eq(s->state, SRV_DISABLED);
	/* Health comes back while disabled: still disabled. */
	results(&t, 0, 1, 2, 2000);
	ck_assert_uint_eq(s->healthy, 1);
	ck_assert_uint_eq(s->state, SRV_DISABLED);
	srvstate_admin(t.ss, 0, SRV_UP, SR_OPERATOR);
	ck_assert_uint_eq(s->state, SRV_UP);
	/* The agent's drain, then its down, then both gone. */
	s->agent_drain = 1;
	ck_assert_int_eq(srv_update(&t.conf.pool, 0, SR_AGENT, NULL), 0);
	ck_assert_uint_eq(s->state, SRV_DRAINING);
	s->agent_drain = 0;
	s->agent_down = 1;
	ck_assert_int_eq(srv_update(&t.conf.pool, 0, SR_AGENT, NULL), 1);
	ck_assert_uint_eq(s->state, SRV_DOWN);
	ck_assert_uint_eq(s->reason, SR_AGENT);
	/* No change, nothing said: the reason stays. */
	ck_assert_int_eq(srv_update(&t.conf.pool, 0, SR_OPERATOR, NULL), 0);
	ck_assert_uint_eq(s->reason, SR_AGENT);
	s->agent_down = 0;
	ck_assert_int_eq(srv_update(&t.conf.pool, 0, SR_AGENT, NULL), 0);
	ck_assert_uint_eq(s->state, SRV_UP);
	t_close(&t);
}
END_TEST

/* Passive detection, judged every 100 ms, and what it does to the probes. */
START_TEST(test_passive)
{
	struct t	 t;
	struct server	*s;

	t_open(&t, CONF "check = tcp\npassive_fall = 2\n");
	s = &t.conf.pool.srv[0];
	results(&t, 0, 1, 5, 500);
	/* A SYN+ACK between two refusals starts the count again. */
	s->refused++;
	srvstate_tick(t.ss, 1000, t.gone);
	s->synacks++;
	s->refused++;
	srvstate_tick(t.ss, 1100, t.gone);
	ck_assert_uint_eq(s->state, SRV_UP);
	/* Two in a row, but judged no sooner than 100 ms after the last. */
	s->refused++;
	srvstate_tick(t.ss, 1150, t.gone);
	ck_assert_uint_eq(s->state, SRV_UP);
	srvstate_tick(t.ss, 1200, t.gone);
	ck_assert_uint_eq(s->state, SRV_DOWN);
	ck_assert_uint_eq(s->reason, SR_PASSIVE);
	ck_assert_uint_eq(t.gone[0], 1);
	ck_assert_uint_eq(t.st.transitions, 1);
	/* The probes' earlier successes do not count: rise new ones do. */
	results(&t, 0, 1, 1, 1300);
	ck_assert_uint_eq(s->state, SRV_DOWN);
	results(&t, 0, 1, 1, 1300);
	ck_assert_uint_eq(s->state, SRV_UP);
	ck_assert_uint_eq(s->reason, SR_PROBE);
	/*
	 * A probe verdict clears the passive count: one refusal before the
	 * probes took it down and up again, one after, is not two.
	 */
	s->refused++;
	srvstate_tick(t.ss, 1400, t.gone);
	results(&t, 0, 0, 3, 1400);
	results(&t, 0, 1, 2, 1400);
	s->refused++;
	srvstate_tick(t.ss, 1500, t.gone);
	ck_assert_uint_eq(s->state, SRV_UP);
	t_close(&t);

	/* "passive = no": the signs are read and not counted. */
	t_open(&t, CONF "check = tcp\npassive = no\npassive_fall = 2\n");
	s = &t.conf.pool.srv[0];
	s->refused += 10;
	s->syn_pending_ms = 1000 | 1;
	srvstate_tick(t.ss, 9000, t.gone);
	ck_assert_uint_eq(s->state, SRV_UP);
	ck_assert_uint_eq(s->syn_pending_ms, 0);
	s->refused++;
	srvstate_tick(t.ss, 9100, t.gone);
	ck_assert_uint_eq(s->state, SRV_UP);
	t_close(&t);
}
END_TEST

/* When the machine wants its next tick: soon while there is work. */
START_TEST(test_due)
{
	struct t	 t;
	struct server	*s;

	t_open(&t, "ipaliasing = 192.0.2.10\nports = 80\nbalancingmode = wrr\n"
	    "servers = 10.0.1.11 weight 100, 10.0.1.12 weight 100\n"
	    "check = tcp\nslowstart = 10\n");
	s = &t.conf.pool.srv[1];
	ck_assert_uint_eq(srvstate_due(t.ss, 5000, 6000), 6000);
	ck_assert_uint_eq(srvstate_due(t.ss, 5000, 5050), 5050);
	/* A SYN waits for its answer. */
	s->syn_pending_ms = 4900 | 1;
	ck_assert_uint_eq(srvstate_due(t.ss, 5000, 6000), 5100);
	ck_assert_uint_eq(srvstate_due(t.ss, 5000, 5050), 5050);
	s->syn_pending_ms = 0;
	/* A weight ramps up. */
	srvstate_admin(t.ss, 1, SRV_DISABLED, SR_OPERATOR);
	srvstate_admin(t.ss, 1, SRV_UP, SR_OPERATOR);
	ck_assert_uint_eq(srvstate_due(t.ss, 5000, 6000), 5100);
	t_close(&t);
}
END_TEST

/* Slow start after the probes bring a server back, and when it ends. */
START_TEST(test_slowstart)
{
	struct t	 t;
	struct server	*s;

	t_open(&t, "ipaliasing = 192.0.2.10\nports = 80\nbalancingmode = wrr\n"
	    "servers = 10.0.1.11 weight 100, 10.0.1.12 weight 100\n"
	    "check = tcp\nslowstart = 10\n");
	s = &t.conf.pool.srv[0];
	results(&t, 0, 0, 3, 1000);
	ck_assert_uint_eq(s->state, SRV_DOWN);
	/* Up at 20 s: a tenth of the weight, then a line to all of it. */
	results(&t, 0, 1, 2, 20000);
	ck_assert_uint_eq(s->weight, 10);
	srvstate_tick(t.ss, 25000, t.gone);
	ck_assert_uint_eq(s->weight, 50);
	srvstate_tick(t.ss, 29000, t.gone);
	ck_assert_uint_eq(s->weight, 90);
	srvstate_tick(t.ss, 30000, t.gone);
	ck_assert_uint_eq(s->weight, 100);
	ck_assert_uint_eq(srvstate_due(t.ss, 30000, 31000), 31000);
	/* Down during the ramp: the ramp ends with the configured weight. */
	results(&t, 0, 0, 3, 40000);
	results(&t, 0, 1, 2, 41000);
	srvstate_tick(t.ss, 42000, t.gone);
	ck_assert_uint_eq(s->weight, 10);
	results(&t, 0, 0, 3, 43000);
	srvstate_tick(t.ss, 43100, t.gone);
	ck_assert_uint_eq(s->weight, 100);
	ck_assert_uint_eq(srvstate_due(t.ss, 43100, 44000), 44000);
	/* A server new to the pool ramps up too (health_ramp()). */
	srvstate_ramp(t.ss, 1);
	ck_assert_uint_eq(t.conf.pool.srv[1].weight, 10);
	t_close(&t);
}
END_TEST

/* A free slot (a reload took its server away) is left alone. */
START_TEST(test_free_slot)
{
	struct t	 t;
	struct server	*s;

	t_open(&t, CONF "check = none\npassive_fall = 2\n");
	s = &t.conf.pool.srv[1];
	s->used = 0;
	s->refused += 5;
	s->syn_pending_ms = 1000 | 1;
	ck_assert_uint_eq(srvstate_due(t.ss, 9000, 10000), 10000);
	srvstate_tick(t.ss, 9000, t.gone);
	ck_assert_uint_eq(s->state, SRV_UP);
	ck_assert_uint_eq(s->syn_pending_ms, 1000 | 1);
	ck_assert_uint_eq(t.gone[1], 0);
	/* The same signs on a server in use take it down. */
	s = &t.conf.pool.srv[0];
	s->refused += 5;
	srvstate_tick(t.ss, 9100, t.gone);
	ck_assert_uint_eq(s->state, SRV_DOWN);
	t_close(&t);
}
END_TEST

Suite *
srvstate_suite(void)
{
	Suite	*s = suite_create("srvstate");
	TCase	*tc = tcase_create("states");

	tcase_add_test(tc, test_probe_results);
	tcase_add_test(tc, test_worst_of);
	tcase_add_test(tc, test_passive);
	tcase_add_test(tc, test_due);
	tcase_add_test(tc, test_slowstart);
	tcase_add_test(tc, test_free_slot);
	suite_add_tcase(s, tc);
	return (s);
}
