/*
 * The event loop (loadd/loop.c): slices of the poll set, order, waits,
 * stops and what the signals ask for.  Pipes stand in for sockets.
 */
#include <sys/types.h>

#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "loop.h"
#include "unit.h"

struct tsrc {
	int		 fd;		/* -1: a tick */
	int		 wait;		/* what its timeout says */
	unsigned	 runs;
	unsigned	 nfd;		/* its slice's size at the last run */
	short		 revents;
	unsigned	 order;		/* when it ran in the pass */
	int		 stop;		/* stops the loop when it runs */
	struct loop	*l;
};

static unsigned	 ran;		/* a counter for the order */
static unsigned	 reloads, statss;

static unsigned
t_fds(void *arg, struct pollfd *pfd, unsigned max)
{
	struct tsrc	*t = arg;

	if (t->fd == -1 || max == 0)
		return (0);
	pfd->fd = t->fd;
	pfd->events = POLLIN;
	pfd->revents = 0;
	return (1);
}

static int
t_wait(void *arg, uint64_t now)
{
	struct tsrc	*t = arg;

	(void)now;
	return (t->wait);
}

static void
t_run(void *arg, const struct pollfd *pfd, unsigned n, uint64_t now)
{
	struct tsrc	*t = arg;

	(void)now;
	t->runs++;
	t->nfd = n;
	t->revents = n > 0 ? pfd[0].revents : 0;
	if (n > 0)
		ck_assert_int_eq(pfd[0].fd, t->fd);
	t->order = ran++;
	if (t->stop)
		loop_stop(t->l, 7);
}

static void
add(struct loop *l, struct tsrc *t, int fd, int wait)
{
	struct loop_source s = { "t", t_fds, t_wait, t_run, t };

	memset(t, 0, sizeof(*t));
	t->fd = fd;
	t->wait = wait;
	t->l = l;
	ck_assert_int_eq(loop_add(l, &s), 0);
}

static void
on_reload(void *arg)
{
	(void)arg;
	reloads++;
}

static void
on_stats(void *arg)
{
	(void)arg;
	statss++;
}

/* Each source sees its own descriptors, in the order they were added. */
START_TEST(test_loop_slices)
{
	struct loop	 l;
	struct tsrc	 a, b, tick;
	int		 pa[2], pb[2];

	ck_assert_int_eq(pipe(pa), 0);
	ck_assert_int_eq(pipe(pb), 0);
	ck_assert_int_eq(loop_init(&l, 8), 0);
	add(&l, &a, pa[0], -1);
	add(&l, &tick, -1, -1);
	add(&l, &b, pb[0], 0);
	ck_assert_int_eq(write(pb[1], "x", 1), 1);
	ran = 0;
	ck_assert_int_eq(loop_pass(&l), 0);
	ck_assert_uint_eq(a.runs, 1);
	ck_assert_uint_eq(tick.runs, 1);
	ck_assert_uint_eq(b.runs, 1);
	ck_assert_uint_eq(a.order, 0);
	ck_assert_uint_eq(tick.order, 1);
	ck_assert_uint_eq(b.order, 2);
	ck_assert_uint_eq(a.nfd, 1);
	ck_assert_uint_eq(tick.nfd, 0);
	ck_assert_uint_eq(b.nfd, 1);
	ck_assert(!(a.revents & POLLIN));
	ck_assert(b.revents & POLLIN);
	loop_free(&l);
	close(pa[0]);
	close(pa[1]);
	close(pb[0]);
	close(pb[1]);
}
END_TEST

/* The shortest wish wins, never more than a second. */
START_TEST(test_loop_wait)
{
	struct loop	 l;
	struct tsrc	 a, b, c;
	int		 p[2];

	/* A readable pipe: no pass below sleeps, whatever its timeout. */
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(write(p[1], "x", 1), 1);
	ck_assert_int_eq(loop_init(&l, 4), 0);
	add(&l, &a, -1, 5);
	add(&l, &b, -1, -1);
	add(&l, &c, p[0], -1);
	ck_assert_int_eq(loop_pass(&l), 0);
	ck_assert_int_eq(l.wait_ms, 5);
	b.wait = 0;
	ck_assert_int_eq(loop_pass(&l), 0);
	ck_assert_int_eq(l.wait_ms, 0);
	a.wait = -1;
	b.wait = -1;
	ck_assert_int_eq(loop_pass(&l), 0);
	ck_assert_int_eq(l.wait_ms, LOOP_MAXWAIT_MS);
	b.wait = 50000;
	ck_assert_int_eq(loop_pass(&l), 0);
	ck_assert_int_eq(l.wait_ms, LOOP_MAXWAIT_MS);
	ck_assert_uint_eq(c.runs, 4);
	loop_free(&l);
	close(p[0]);
	close(p[1]);
}
END_TEST

/* A set too small: the later sources get what is left, nothing breaks. */
START_TEST(test_loop_full_set)
{
	struct loop	 l;
	struct tsrc	 a, b;
	int		 pa[2], pb[2];

	ck_assert_int_eq(pipe(pa), 0);
	ck_assert_int_eq(pipe(pb), 0);
	ck_assert_int_eq(loop_init(&l, 1), 0);
	add(&l, &a, pa[0], 0);
	add(&l, &b, pb[0], 0);
	ck_assert_int_eq(loop_pass(&l), 0);
	ck_assert_uint_eq(a.nfd, 1);
	ck_assert_uint_eq(b.nfd, 0);
	ck_assert_uint_eq(b.runs, 1);
	loop_free(&l);
	close(pa[0]);
	close(pa[1]);
	close(pb[0]);
	close(pb[1]);
}
END_TEST

/* A source that stops the loop: the rest of the pass is not run. */
START_TEST(test_loop_stop)
{
	struct loop	 l;
	struct tsrc	 a, b;

	ck_assert_int_eq(loop_init(&l, 4), 0);
	add(&l, &a, -1, 0);
	add(&l, &b, -1, 0);
	a.stop = 1;
	ck_assert_int_eq(loop_run(&l), 7);
	ck_assert_uint_eq(a.runs, 1);
	ck_assert_uint_eq(b.runs, 0);
	loop_free(&l);
}
END_TEST

/* HUP reloads and USR1 logs after the pass; TERM ends loop_run. */
START_TEST(test_loop_signals)
{
	struct loop	 l;
	struct tsrc	 a;
	struct loop_hooks h = { on_reload, on_stats, NULL };
	unsigned	 i;

	ck_assert_int_eq(loop_init(&l, 4), 0);
	add(&l, &a, -1, 0);
	loop_signals(&l, &h);
	reloads = statss = 0;
	raise(SIGHUP);
	ck_assert_int_eq(loop_pass(&l), 0);
	ck_assert_uint_eq(reloads, 1);
	ck_assert_uint_eq(statss, 0);
	raise(SIGUSR1);
	ck_assert_int_eq(loop_pass(&l), 0);
	ck_assert_uint_eq(reloads, 1);
	ck_assert_uint_eq(statss, 1);
	/* Asked once, done once. */
	ck_assert_int_eq(loop_pass(&l), 0);
	ck_assert_uint_eq(reloads + statss, 2);
	raise(SIGPIPE);		/* ignored: no death */
	raise(SIGTERM);
	ck_assert(loop_stopping(&l));
	i = a.runs;
	ck_assert_int_eq(loop_run(&l), 0);
	ck_assert_uint_eq(a.runs, i);
	ck_assert(l.stopped);
	loop_free(&l);
}
END_TEST

START_TEST(test_loop_too_many)
{
	struct loop	 l;
	struct tsrc	 t[LOOP_MAXSRC + 1];
	struct loop_source s = { "t", t_fds, t_wait, t_run, NULL };
	unsigned	 i;

	ck_assert_int_eq(loop_init(&l, 4), 0);
	for (i = 0; i < LOOP_MAXSRC; i++)
		add(&l, &t[i], -1, 0);
	s.arg = &t[LOOP_MAXSRC];
	ck_assert_int_eq(loop_add(&l, &s), -1);
	s.run = NULL;
	ck_assert_int_eq(loop_add(&l, &s), -1);
	loop_free(&l);
}
END_TEST

Suite *
loop_suite(void)
{
	Suite	*s = suite_create("loop");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_loop_slices);
	tcase_add_test(tc, test_loop_wait);
	tcase_add_test(tc, test_loop_full_set);
	tcase_add_test(tc, test_loop_stop);
	tcase_add_test(tc, test_loop_signals);
	tcase_add_test(tc, test_loop_too_many);
	suite_add_tcase(s, tc);
	return (s);
}
