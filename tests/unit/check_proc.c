/*
 * common/proc.c: the signal set-up the daemons share.  Each test runs in
 * a child process of its own, so that what it changes (dispositions)
 * stays out of the runner, with CK_FORK=no too.
 */
#include <sys/wait.h>

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

/* Each check in the child sets one bit of its exit status on failure. */
static int
sig_child(void)
{
	struct sigaction	 sa;
	int			 bad = 0;

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
	pid_t	 pid;
	int	 st;

	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		/* What the runner may have set must not decide the result. */
		signal(SIGTERM, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		_exit(sig_child());
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st), "the child died of signal %d",
	    WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	ck_assert_msg(WEXITSTATUS(st) == 0, "sig_catch checks failed: 0x%02x "
	    "(0x01/0x02 a listed signal not caught or SA_RESTART, 0x04 an "
	    "unlisted one changed, 0x08 SIGPIPE not ignored, 0x10 the handler "
	    "did not run)", WEXITSTATUS(st));
}
END_TEST

Suite *
proc_suite(void)
{
	Suite	*s = suite_create("proc");
	TCase	*tc = tcase_create("signals");

	tcase_add_test(tc, test_sig_catch);
	suite_add_tcase(s, tc);
	return (s);
}
