/*
 * Service checks, as the original lmd's "HTTP module testing service":
 * an HTTP GET with an expected status, a TCP connect, or a command whose
 * exit status decides.  Each runs beside the report loop without
 * blocking it: sockets are non-blocking and the loop polls them, a
 * command is a child the loop reaps, and everything has a deadline
 * after which the check is down and its socket closed or its process
 * group killed.  What HTTP and TCP checks do on the wire is shared with
 * loadd's probes (common/probe.c).
 *
 * A command is the operator's code, not lmd's: it runs as check_user
 * (when lmd is root), with a fixed environment, stdin, stdout and stderr
 * on /dev/null and no other descriptor of lmd's, so that it can neither
 * use what lmd holds nor keep it (a command that leaves a daemon behind
 * used to keep the pidfile's lock, and lmd could not start again).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <paths.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "compat.h"
#include "lmd.h"
#include "log.h"
#include "probe.h"

static void	 finish(struct check *, int, uint64_t, const char *, ...)
		    __attribute__((format(printf, 4, 5)));
static void	 start_connect(struct check *);
static void	 start_command(struct check *);
static void	 command_child(const struct lmd_conf *, const struct passwd *,
		    int) __attribute__((noreturn));
static void	 child_fail(int, const char *) __attribute__((noreturn));
static void	 read_child_error(struct check *);
static void	 send_request(struct check *, uint64_t);
static void	 step_http(struct check *, uint64_t);
static void	 step_tcp(struct check *, uint64_t);

void
check_init(struct check *c, const struct lmd_conf *conf)
{
	memset(c, 0, sizeof(*c));
	c->conf = conf;
	c->fd = -1;
	c->pid = -1;
	c->status = REPORT_CHECK_UNKNOWN;
}

static void
finish(struct check *c, int status, uint64_t now, const char *fmt, ...)
{
	va_list	 ap;

	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	c->running = 0;
	c->status = status;
	c->latency_us = now - c->start_us > UINT32_MAX ? UINT32_MAX :
	    (uint32_t)(now - c->start_us);
	va_start(ap, fmt);
	vsnprintf(c->why, sizeof(c->why), fmt, ap);
	va_end(ap);
}

static void
start_connect(struct check *c)
{
	const struct lmd_conf	*conf = c->conf;
	struct sockaddr_storage	 ss;
	socklen_t		 slen;

	slen = addr_to_sockaddr(conf->check_family, &conf->check_addr,
	    conf->check_port, &ss);
	if ((c->fd = probe_socket(conf->check_family, 0)) == -1) {
		finish(c, REPORT_CHECK_DOWN, c->start_us, "socket: %s",
		    strerror(errno));
		return;
	}
	if (probe_connect(c->fd, &ss, slen) == -1) {
		finish(c, REPORT_CHECK_DOWN, clock_mono_us(), "connect: %s",
		    strerror(errno));
		return;
	}
	c->events = POLLOUT;
}

/*
 * In the child, before exec: says which step failed on the error pipe
 * (one write, far below PIPE_BUF, so the parent reads it whole).
 */
static void
child_fail(int errfd, const char *step)
{
	char	 msg[128];
	ssize_t	 w;
	int	 e = errno, n;

	n = snprintf(msg, sizeof(msg), "%s: %s", step, strerror(e));
	/* Nothing to do if this fails too: the check is down anyway. */
	if (n > 0) {
		w = write(errfd, msg, (size_t)n < sizeof(msg) ? (size_t)n :
		    sizeof(msg) - 1);
		(void)w;
	}
	_exit(127);
}

/*
 * The child of a command check.  lmd has one thread, so the library
 * calls between fork and exec (initgroups, snprintf) are safe.  pw is
 * NULL when lmd is not root and the command runs as lmd's own user.
 */
static void
command_child(const struct lmd_conf *conf, const struct passwd *pw,
    int errfd)
{
	static char	*const env[] = {
		"PATH=" LMD_CHECK_PATH,
		"HOME=/",
		NULL
	};
	int		 fd;

	/* Its own process group, so that a timeout kills it all. */
	setpgid(0, 0);
	/* The error pipe above 0-2, whatever lmd's 0-2 were. */
	if (errfd < 3 && (errfd = fcntl(errfd, F_DUPFD_CLOEXEC, 3)) == -1)
		_exit(127);
	if ((fd = open(_PATH_DEVNULL, O_RDWR)) == -1)
		child_fail(errfd, _PATH_DEVNULL);
	if (dup2(fd, 0) == -1 || dup2(fd, 1) == -1 || dup2(fd, 2) == -1)
		child_fail(errfd, "dup2");
	/* Nothing of lmd's beyond 0-2 but the pipe, which exec closes. */
	for (fd = 3; fd < errfd; fd++)
		(void)close(fd);
	closefrom(errfd + 1);
	if (chdir("/") == -1)
		child_fail(errfd, "chdir /");
	if (pw != NULL) {
		if (initgroups(conf->check_user, pw->pw_gid) == -1)
			child_fail(errfd, "initgroups");
		if (setgid(pw->pw_gid) == -1)
			child_fail(errfd, "setgid");
		if (setuid(pw->pw_uid) == -1)
			child_fail(errfd, "setuid");
	}
	/* lmd ignores these; the command starts with the defaults. */
	signal(SIGPIPE, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	execle(_PATH_BSHELL, "sh", "-c", conf->check_command, (char *)NULL,
	    env);
	child_fail(errfd, _PATH_BSHELL);
}

static void
start_command(struct check *c)
{
	const struct lmd_conf	*conf = c->conf;
	struct passwd		*pw = NULL;
	char			 where[PATH_MAX + 16], why[128];
	int			 p[2];

	/*
	 * Looked up for every check, so that a user removed after start-up
	 * stops the checks rather than leaving them to a stale uid (with
	 * NSS beyond files this may wait on a directory service, as the
	 * command itself would).
	 */
	if (geteuid() == 0) {
		if ((pw = lmd_user(conf->check_user, why, sizeof(why))) ==
		    NULL) {
			if (!c->user_missing)
				log_warnx("%s: check_user \"%s\": %s; command "
				    "checks fail until it exists",
				    lmd_conf_where(conf, conf->line_check_user,
				    where, sizeof(where)), conf->check_user,
				    why);
			c->user_missing = 1;
			finish(c, REPORT_CHECK_DOWN, c->start_us,
			    "check_user \"%s\": %s", conf->check_user, why);
			return;
		}
		if (c->user_missing)
			log_notice("check_user \"%s\" exists again",
			    conf->check_user);
		c->user_missing = 0;
	}
	if (pipe2(p, O_CLOEXEC) == -1) {
		finish(c, REPORT_CHECK_DOWN, c->start_us, "pipe: %s",
		    strerror(errno));
		return;
	}
	switch ((c->pid = fork())) {
	case -1:
		finish(c, REPORT_CHECK_DOWN, c->start_us, "fork: %s",
		    strerror(errno));
		close(p[0]);
		close(p[1]);
		return;
	case 0:
		close(p[0]);
		command_child(conf, pw, p[1]);
	default:
		close(p[1]);
		setpgid(c->pid, c->pid);
		if (fcntl(p[0], F_SETFL, O_NONBLOCK) == -1) {
			/* Only the reason of a failed exec would be lost. */
			close(p[0]);
			break;
		}
		/* Readable at exec (EOF) or with a reason before exit 127. */
		c->fd = p[0];
		c->events = POLLIN;
		break;
	}
}

/*
 * Reads what the child said before exec; closes the pipe at its end,
 * which comes when the command was executed or the child has exited.
 */
static void
read_child_error(struct check *c)
{
	ssize_t	 n;

	if (c->fd == -1)
		return;
	n = read(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
	if (n > 0) {
		c->len += (size_t)n;
		c->buf[c->len] = '\0';
		if (c->len < sizeof(c->buf) - 1)
			return;
	} else if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	close(c->fd);
	c->fd = -1;
}

void
check_start(struct check *c, uint64_t now)
{
	if (c->running || c->conf->check == CHECK_NONE)
		return;
	c->running = 1;
	c->start_us = now;
	c->deadline_us = now + (uint64_t)c->conf->check_timeout_ms * 1000;
	c->sent = 0;
	c->len = 0;
	c->events = 0;
	c->why[0] = '\0';
	switch (c->conf->check) {
	case CHECK_HTTP:
	case CHECK_TCP:
		start_connect(c);
		break;
	case CHECK_COMMAND:
		start_command(c);
		break;
	case CHECK_NONE:
		break;
	}
}

/* How a non-blocking connect that has ended went. */
static int
connect_result(struct check *c, uint64_t now)
{
	int	 e;

	if ((e = probe_connected(c->fd)) != 0) {
		finish(c, REPORT_CHECK_DOWN, now, "connect: %s", strerror(e));
		return (-1);
	}
	return (0);
}

static void
step_tcp(struct check *c, uint64_t now)
{
	struct pollfd	 pfd;

	pfd.fd = c->fd;
	pfd.events = POLLOUT;
	if (poll(&pfd, 1, 0) <= 0)
		return;
	if (connect_result(c, now) == 0)
		finish(c, REPORT_CHECK_UP, now, "connected");
}

/* Connected: sends the request. */
static void
send_request(struct check *c, uint64_t now)
{
	const struct lmd_conf	*conf = c->conf;
	char			 req[LMD_URLLEN + 256];
	ssize_t			 n;
	int			 len;

	if (connect_result(c, now) == -1)
		return;
	if ((len = http_request(req, sizeof(req), conf->http_path,
	    conf->http_host, "lmd")) == -1) {
		finish(c, REPORT_CHECK_DOWN, now, "request too long");
		return;
	}
	/* A few hundred bytes fit in any socket buffer at once. */
	if ((n = send(c->fd, req, (size_t)len, MSG_NOSIGNAL)) != len) {
		finish(c, REPORT_CHECK_DOWN, now, "send: %s",
		    n == -1 ? strerror(errno) : "short write");
		return;
	}
	c->sent = 1;
	c->events = POLLIN;
}

/*
 * The first line of the reply must be a well-formed status line with
 * check_status; nothing after it counts.
 */
static void
step_http(struct check *c, uint64_t now)
{
	const struct lmd_conf	*conf = c->conf;
	struct http_expect	 x = {
		(int)conf->check_status, (int)conf->check_status, NULL,
		HTTP_ANYVERSION | HTTP_WHOLELINE
	};
	struct pollfd		 pfd;
	enum http_verdict	 v;
	int			 code;

	pfd.fd = c->fd;
	pfd.events = c->events;
	if (poll(&pfd, 1, 0) <= 0)
		return;
	if (!c->sent) {
		send_request(c, now);
		return;
	}
	/* The buffer less its last byte, which ends a command's reason. */
	v = http_read(c->fd, c->buf, sizeof(c->buf) - 1, &c->len, &x, &code);
	if (v == HTTP_MORE)
		return;
	if (v == HTTP_PASS)
		finish(c, REPORT_CHECK_UP, now, "status %d", code);
	else if (v == HTTP_ERROR)
		finish(c, REPORT_CHECK_DOWN, now, "recv: %s", strerror(errno));
	else if (v == HTTP_STATUS)
		finish(c, REPORT_CHECK_DOWN, now, "status %d, expected %u",
		    code, conf->check_status);
	else if (v == HTTP_NOTHTTP)
		finish(c, REPORT_CHECK_DOWN, now, "not an HTTP status line");
	else	/* HTTP_SHORT: no body is asked for, so never HTTP_NOBODY */
		finish(c, REPORT_CHECK_DOWN, now, "no HTTP status line");
}

void
check_step(struct check *c, uint64_t now)
{
	pid_t	 r;
	int	 st;

	if (!c->running)
		return;
	switch (c->conf->check) {
	case CHECK_HTTP:
		step_http(c, now);
		break;
	case CHECK_TCP:
		step_tcp(c, now);
		break;
	case CHECK_COMMAND:
		read_child_error(c);
		if ((r = waitpid(c->pid, &st, WNOHANG)) == c->pid) {
			c->pid = -1;
			/* Written before _exit, so there by now. */
			read_child_error(c);
			if (c->len > 0)
				finish(c, REPORT_CHECK_DOWN, now, "not run: %s",
				    c->buf);
			else if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
				finish(c, REPORT_CHECK_UP, now, "exit 0");
			else if (WIFEXITED(st))
				finish(c, REPORT_CHECK_DOWN, now, "exit %d",
				    WEXITSTATUS(st));
			else
				finish(c, REPORT_CHECK_DOWN, now, "signal %d",
				    WIFSIGNALED(st) ? WTERMSIG(st) : 0);
			return;
		}
		break;
	case CHECK_NONE:
		return;
	}
	if (c->running && now >= c->deadline_us) {
		check_abort(c);
		finish(c, REPORT_CHECK_DOWN, now, "timed out after %u ms",
		    c->conf->check_timeout_ms);
	}
}

/* Ends a running check: closes its socket or kills its processes. */
void
check_abort(struct check *c)
{
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	if (c->pid > 0) {
		kill(-c->pid, SIGKILL);
		kill(c->pid, SIGKILL);
		waitpid(c->pid, NULL, 0);
		c->pid = -1;
	}
	c->running = 0;
}
