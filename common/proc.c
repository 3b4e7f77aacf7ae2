/*
 * Process set-up shared by the programs: standard descriptors that are
 * really open, and which signals a daemon catches and how.
 */
#include <fcntl.h>
#include <paths.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"

/*
 * Opens /dev/null on whichever of 0, 1 and 2 is closed; -1 if it cannot.
 * A program started with one of them closed would otherwise give that
 * number to the next file or socket it opens, and what it then prints
 * on stdout or stderr (a log line, an answer) would land there: in a
 * capture loadd writes, on a socket.  So it comes first in main(),
 * before anything else is opened.
 */
int
stdfds_open(void)
{
	int	 fd;

	/* open(2) returns the lowest free number: a closed one of 0-2 first. */
	while ((fd = open(_PATH_DEVNULL, O_RDWR)) != -1 && fd <= STDERR_FILENO)
		;
	if (fd == -1)
		return (-1);
	(void)close(fd);
	return (0);
}

/*
 * Catches each signal of the list, which ends with 0, with handler; and
 * ignores SIGPIPE, so that a peer gone away (a control client, a closed
 * pipe) is an EPIPE from write(2) rather than the end of the daemon.
 * No SA_RESTART: a signal interrupts poll(2), so that the loop sees the
 * handler's flag at once.  sigaction(2) fails only for a number that is
 * no signal, which no caller passes, so its result is not looked at.
 */
void
sig_catch(void (*handler)(int), ...)
{
	struct sigaction	 sa;
	va_list			 ap;
	int			 sig;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sigemptyset(&sa.sa_mask);
	va_start(ap, handler);
	while ((sig = va_arg(ap, int)) != 0)
		(void)sigaction(sig, &sa, NULL);
	va_end(ap);
	(void)signal(SIGPIPE, SIG_IGN);
}
