/*
 * Process set-up shared by the programs: which signals a daemon catches
 * and how.
 */
#include <signal.h>
#include <stdarg.h>
#include <string.h>

#include "proc.h"

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
