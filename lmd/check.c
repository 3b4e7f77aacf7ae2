/*
 * Service checks, as the original lmd's "HTTP module testing service":
 * an HTTP GET with an expected status, a TCP connect, or a command whose
 * exit status decides.  Each runs beside the report loop without
 * blocking it: sockets are non-blocking and the loop polls them, a
 * command is a child the loop reaps, and everything has a deadline
 * after which the check is down and its socket closed or its process
 * group killed.
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

#include <netinet/in.h>

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

#include "compat.h"
#include "lmd.h"
#include "log.h"

static void	 finish(struct check *, int, uint64_t, const char *, ...)
		    __attribute__((format(printf, 4, 5)));
static void	 start_connect(struct check *);
static void	 start_command(struct check *);
static void	 command_child(const struct lmd_conf *, const struct passwd *,
		    int) __attribute__((noreturn));
static void	 child_fail(int, const char *) __attribute__((noreturn));
static void	 read_child_error(struct check *);
static void	 step_http(struct check *, uint64_t);
static void	 step_tcp(struct check *, uint64_t);

uint64_t
lmd_monotime_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000);
}

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

/*
 * "HTTP/1.1 200 OK\r\n": the version, one space, three digits, then a
 * space and a reason or the end of the line.  Anything else is not HTTP.
 */
int
http_status_parse(const char *s, size_t len)
{
	const char	*eol;
	int		 code;

	if ((eol = memmem(s, len, "\r\n", 2)) == NULL)
		return (-1);
	len = (size_t)(eol - s);
	if (len < 12 || memcmp(s, "HTTP/", 5) != 0 ||
	    s[5] < '0' || s[5] > '9' || s[6] != '.' ||
	    s[7] < '0' || s[7] > '9' || s[8] != ' ')
		return (-1);
	if (s[9] < '1' || s[9] > '5' || s[10] < '0' || s[10] > '9' ||
	    s[11] < '0' || s[11] > '9')
		return (-1);
	if (len > 12 && s[12] != ' ')
		return (-1);
	code = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
	return (code);
}

static void
start_connect(struct check *c)
{
	const struct lmd_conf	*conf = c->conf;
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t		 slen;
	int			 flags;

	memset(&ss, 0, sizeof(ss));
	if (conf->check_family == 6) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(conf->check_port);
		memcpy(&sin6->sin6_addr, conf->check_addr.b, 16);
		slen = sizeof(*sin6);
	} else {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(conf->check_port);
		memcpy(&sin->sin_addr, conf->check_addr.b, 4);
		slen = sizeof(*sin);
	}
	if ((c->fd = socket(ss.ss_family, SOCK_STREAM, 0)) == -1) {
		finish(c, REPORT_CHECK_DOWN, c->start_us, "socket: %s",
		    strerror(errno));
		return;
	}
	if ((flags = fcntl(c->fd, F_GETFL)) == -1 ||
	    fcntl(c->fd, F_SETFL, flags | O_NONBLOCK) == -1 ||
	    fcntl(c->fd, F_SETFD, FD_CLOEXEC) == -1) {
		finish(c, REPORT_CHECK_DOWN, c->start_us, "fcntl: %s",
		    strerror(errno));
		return;
	}
	if (connect(c->fd, (struct sockaddr *)&ss, slen) == -1 &&
	    errno != EINPROGRESS) {
		finish(c, REPORT_CHECK_DOWN, lmd_monotime_us(), "connect: %s",
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

/* Whether a non-blocking connect has ended, and how. */
static int
connect_result(struct check *c, uint64_t now)
{
	socklen_t	 len = sizeof(int);
	int		 e = 0;

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &len) == -1)
		e = errno;
	if (e != 0) {
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

static void
step_http(struct check *c, uint64_t now)
{
	const struct lmd_conf	*conf = c->conf;
	struct pollfd		 pfd;
	char			 req[LMD_URLLEN + 256];
	ssize_t			 n;
	int			 len, code;

	pfd.fd = c->fd;
	pfd.events = c->events;
	if (poll(&pfd, 1, 0) <= 0)
		return;
	if (!c->sent) {
		if (connect_result(c, now) == -1)
			return;
		len = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\n"
		    "Host: %s\r\nUser-Agent: lmd\r\nConnection: close\r\n\r\n",
		    conf->http_path, conf->http_host);
		if (len < 0 || (size_t)len >= sizeof(req)) {
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
		return;
	}
	n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len, 0);
	if (n == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		finish(c, REPORT_CHECK_DOWN, now, "recv: %s", strerror(errno));
		return;
	}
	c->len += (size_t)n;
	c->buf[c->len] = '\0';
	if (memmem(c->buf, c->len, "\r\n", 2) == NULL) {
		if (n == 0 || c->len == sizeof(c->buf) - 1)
			finish(c, REPORT_CHECK_DOWN, now, "no HTTP status line");
		return;
	}
	if ((code = http_status_parse(c->buf, c->len)) == -1)
		finish(c, REPORT_CHECK_DOWN, now, "not an HTTP status line");
	else if ((unsigned)code != conf->check_status)
		finish(c, REPORT_CHECK_DOWN, now, "status %d, expected %u",
		    code, conf->check_status);
	else
		finish(c, REPORT_CHECK_UP, now, "status %d", code);
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
