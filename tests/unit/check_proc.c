/*
 * common/proc.c: the standard descriptors and the signal set-up the
 * programs share.  Each test runs in a child process of its own
 * (unit_in_child, here since it is about processes, and used by the
 * sandbox suite too).
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <paths.h>
#include <signal.h>
#include <unistd.h>

#include "proc.h"
#include "unit.h"

static volatile sig_atomic_t	 got;

static void
on_sig(int sig)
{
	got = sig;
}

int
unit_in_child(int (*fn)(void))
{
	pid_t	 pid;
	int	 st;

	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0)
		_exit(fn());
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st), "the child died of signal %d",
	    WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	return (WEXITSTATUS(st));
}

/* Whether fd is open on /dev/null. */
static int
is_devnull(int fd)
{
	struct stat	 a, b;

	return (fstat(fd, &a) == 0 && stat(_PATH_DEVNULL, &b) == 0 &&
	    S_ISCHR(a.st_mode) && a.st_rdev == b.st_rdev);
}

/* Each check in the child sets one bit of its exit status on failure. */
static int
stdfds_child(void)
{
	struct stat	 out, again;
	int		 bad = 0, fd, lowest, p[2];

	/*
	 * Whatever the runner left on 0-2 (CI may start it without a
	 * stdin): a pipe on 1, which must stay, and 0 and 2 closed.
	 */
	if (pipe(p) == -1 || dup2(p[1], 1) == -1 || fstat(1, &out) == -1)
		return (0x80);
	if (p[0] > 2)
		(void)close(p[0]);
	if (p[1] > 2)
		(void)close(p[1]);
	(void)close(0);
	(void)close(2);
	/* The lowest number free above 0-2, before and after. */
	if ((lowest = fcntl(1, F_DUPFD, 3)) == -1 || close(lowest) == -1)
		return (0x80);
	if (stdfds_open() == -1)
		return (0x40);
	if (!is_devnull(0))
		bad |= 0x01;
	if (!is_devnull(2))
		bad |= 0x02;
	if (fstat(1, &again) == -1 || again.st_ino != out.st_ino ||
	    again.st_dev != out.st_dev)
		bad |= 0x04;
	/* Nothing else left open, and the next file gets a number past 2. */
	if ((fd = open(_PATH_DEVNULL, O_RDONLY)) != lowest)
		bad |= 0x08;
	return (bad);
}

START_TEST(test_stdfds_open)
{
	int	 bad = unit_in_child(stdfds_child);

	ck_assert_msg(bad == 0, "stdfds_open checks failed: 0x%02x (0x80 "
	    "set-up, 0x40 it failed, 0x01/0x02 0 or 2 not on /dev/null, 0x04 "
	    "the open 1 replaced, 0x08 a descriptor left open or 0-2 not "
	    "taken)", bad);
}
END_TEST

/* Each check in the child sets one bit of its exit status on failure. */
static int
sig_child(void)
{
	struct sigaction	 sa;
	int			 bad = 0;

	/* What the runner may have set must not decide the result. */
	signal(SIGTERM, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	sig_catch(on_sig, SIGUSR1, SIGUSR2, 0);
	if (sigaction(SIGUSR1, NULL, &sa) == -1 || sa.sa_handler != on_sig ||
	    (sa.sa_flags & SA_RESTART))
		bad |= 0x01;
	if (sigaction(SIGUSR2, NULL, &sa) == -1 || sa.sa_handler != on_sig)
		bad |= 0x02;
	/* A signal not in the list keeps what it had. */
	if (sigaction(SIGTERM, NULL, &sa) == -1 || sa.sa_handler != SIG_DFL)
		bad |= 0x04;
	if (sigaction(SIGPIPE, NULL, &sa) == -1 || sa.sa_handler != SIG_IGN)
		bad |= 0x08;
	if (raise(SIGUSR2) != 0 || got != SIGUSR2)
		bad |= 0x10;
	return (bad);
}

START_TEST(test_sig_catch)
{
	int	 bad = unit_in_child(sig_child);

	ck_assert_msg(bad == 0, "sig_catch checks failed: 0x%02x (0x01/0x02 "
	    "a listed signal not caught or SA_RESTART, 0x04 an unlisted one "
	    "changed, 0x08 SIGPIPE not ignored, 0x10 the handler did not "
	    "run)", bad);
}
END_TEST

Suite *
proc_suite(void)
{
	Suite	*s = suite_create("proc");
	TCase	*tc = tcase_create("stdfds");

	tcase_add_test(tc, test_stdfds_open);
	suite_add_tcase(s, tc);
	tc = tcase_create("signals");
	tcase_add_test(tc, test_sig_catch);
	suite_add_tcase(s, tc);
	return (s);
}
