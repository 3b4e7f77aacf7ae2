/*
 * The control socket and the metrics port: listening, their clients and
 * their budgets.  See ctl.h; the commands are in ctl_cmd.c, what the
 * metrics port answers (its routes, the pages its clients share) in
 * ctl_http.c.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "compat.h"
#include "ctl.h"
#include "ctl_priv.h"
#include "log.h"

#define CTL_IDLE_MS	5000		/* to send a command */

/*
 * Clients of the metrics port come from the network, the control
 * socket's from the operator: each has its own, so that no number of
 * connections to the metrics port can keep loadctl out.  A client of
 * the metrics port -- a scraper, or a browser on the status page --
 * must send its request's head within HTTP_HEAD_MS (slowloris) and take
 * the answer within HTTP_SEND_MS; one source address holds at most
 * HTTP_PER_SOURCE connections.  What they get is ctl_http.c's.
 */
#define HTTP_HEAD_MS	2000
#define HTTP_SEND_MS	10000
#define HTTP_PER_SOURCE	4
#define CTL_SEND_SLICE	(64u << 10)	/* bytes to one client per pass */

/*
 * The directory of the socket must be one that no other user can write
 * to: there, another user could put a socket, a file or a symbolic link
 * of theirs in the socket's place between loadd's steps.  A sticky
 * directory (/tmp) is refused too: the operator's socket belongs in a
 * directory of root's (/var/run) or of loadd's own user.
 */
static int
ctl_dir_ok(const char *path)
{
	struct stat	 st;
	char		 dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char		*sl;

	strlcpy(dir, path, sizeof(dir));
	if ((sl = strrchr(dir, '/')) == NULL)
		strlcpy(dir, ".", sizeof(dir));
	else if (sl == dir)
		dir[1] = '\0';
	else
		*sl = '\0';
	if (stat(dir, &st) == -1) {
		log_warn("control socket %s: directory %s", path, dir);
		return (-1);
	}
	if (!S_ISDIR(st.st_mode)) {
		log_warnx("control socket %s: %s is not a directory", path, dir);
		return (-1);
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		log_warnx("control socket %s: directory %s belongs to uid %u, "
		    "neither root nor loadd's user", path, dir,
		    (unsigned)st.st_uid);
		return (-1);
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		log_warnx("control socket %s: other users may write to "
		    "directory %s (mode %04o); put the socket in a directory "
		    "only root can write to (ctlsocket, -s)", path, dir,
		    (unsigned)(st.st_mode & 07777));
		return (-1);
	}
	return (0);
}

/*
 * The listening socket at path, or -1 (said in the log).  A socket left
 * by a loadd that died is replaced; one that answers belongs to a
 * running loadd and is not.
 */
static int
ctl_listen(const struct sockaddr_un *sun, const char *path, unsigned mode)
{
	mode_t	 old;
	int	 fd;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		log_warn("control socket");
		return (-1);
	}
	if (connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0) {
		log_warnx("control socket %s: another loadd answers on it",
		    path);
		close(fd);
		return (-1);
	}
	close(fd);
	(void)unlink(path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		log_warn("control socket");
		return (-1);
	}
	/*
	 * The socket is born with its mode: no chmod() by name afterwards,
	 * which would follow whatever the name had become by then.
	 */
	old = umask((mode_t)(~mode & 0777));
	if (bind(fd, (const struct sockaddr *)sun, sizeof(*sun)) == -1) {
		umask(old);
		log_warn("control socket %s", path);
		close(fd);
		return (-1);
	}
	umask(old);
	if (listen(fd, 16) == -1) {
		log_warn("control socket %s", path);
		close(fd);
		(void)unlink(path);
		return (-1);
	}
	return (fd);
}

struct ctl *
ctl_open(const char *path, unsigned mode)
{
	struct sockaddr_un	 sun;
	struct ctl		*c;
	int			 fd, i;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		log_warnx("control socket %s: path too long", path);
		return (NULL);
	}
	if (ctl_dir_ok(path) == -1 ||
	    (fd = ctl_listen(&sun, path, mode)) == -1)
		return (NULL);
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		(void)unlink(path);
		return (NULL);
	}
	c->fd = fd;
	c->hfd = c->hpidx = -1;
	strlcpy(c->path, path, sizeof(c->path));
	for (i = 0; i < CTL_MAXCLIENTS; i++)
		c->c[i].fd = -1;
	for (i = 0; i < HTTP_MAXCLIENTS; i++)
		c->h[i].fd = -1;
	return (c);
}

static void
client_close(struct client *cl)
{
	if (cl->fd != -1)
		close(cl->fd);
	ob_free(&cl->out);
	ctl_page_put(cl->page);
	memset(cl, 0, sizeof(*cl));
	cl->fd = -1;
}

void
ctl_close(struct ctl *c)
{
	int	 i;

	if (c == NULL)
		return;
	for (i = 0; i < CTL_MAXCLIENTS; i++)
		client_close(&c->c[i]);
	for (i = 0; i < HTTP_MAXCLIENTS; i++)
		client_close(&c->h[i]);
	ctl_http_free(c);
	close(c->fd);
	if (c->hfd != -1)
		close(c->hfd);
	(void)unlink(c->path);
	free(c);
}

int
ctl_busy(const struct ctl *c)
{
	int	 i;

	for (i = 0; i < PG_N; i++)
		if (c->r[i].on)
			return (1);
	return (0);
}

static unsigned
clients_pollfds(struct client *cl, int ncl, struct pollfd *pfd, unsigned n,
    unsigned max)
{
	int	 i;

	for (i = 0; i < ncl; i++) {
		cl[i].pidx = -1;
		if (cl[i].fd == -1 || cl[i].waiting || n == max)
			continue;
		pfd[n].fd = cl[i].fd;
		pfd[n].events = cl[i].answering ? POLLOUT : POLLIN;
		pfd[n].revents = 0;
		cl[i].pidx = (int)n++;
	}
	return (n);
}

unsigned
ctl_pollfds(struct ctl *c, struct pollfd *pfd, unsigned max)
{
	unsigned	 n = 0;

	c->pidx = -1;
	if (n < max) {
		pfd[n].fd = c->fd;
		pfd[n].events = POLLIN;
		pfd[n].revents = 0;
		c->pidx = (int)n++;
	}
	c->hpidx = -1;
	if (c->hfd != -1 && n < max) {
		pfd[n].fd = c->hfd;
		pfd[n].events = POLLIN;
		pfd[n].revents = 0;
		c->hpidx = (int)n++;
	}
	n = clients_pollfds(c->c, CTL_MAXCLIENTS, pfd, n, max);
	n = clients_pollfds(c->h, HTTP_MAXCLIENTS, pfd, n, max);
	return (n);
}

void
ctl_answer(struct client *cl, uint64_t now_ms)
{
	cl->answering = 1;
	cl->waiting = 0;
	cl->off = 0;
	cl->since = now_ms;	/* the answer has its own deadline */
}

static void
client_read(struct ctl *c, struct client *cl, struct ctlenv *env)
{
	ssize_t	 r;
	char	*nl;

	r = read(cl->fd, cl->in + cl->inlen, CTL_LINEMAX - cl->inlen);
	if (r == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r < 0 || (r == 0 && cl->inlen == 0)) {
		client_close(cl);
		return;
	}
	cl->inlen += (size_t)r;
	cl->in[cl->inlen] = '\0';
	if (cl->http) {
		ctl_http_read(c, cl, env, r == 0);
		return;
	}
	nl = memchr(cl->in, '\n', cl->inlen);
	/* A last line without its newline is a line too. */
	if (nl == NULL && r == 0)
		nl = cl->in + cl->inlen;
	if (nl == NULL) {
		if (cl->inlen < CTL_LINEMAX)
			return;
		ob_printf(&cl->out, "error: command longer than %d bytes\n",
		    CTL_LINEMAX);
	} else if (memchr(cl->in, '\0', (size_t)(nl - cl->in)) != NULL)
		ob_printf(&cl->out, "error: NUL byte in the command\n");
	else {
		*nl = '\0';
		if (nl > cl->in && nl[-1] == '\r')
			nl[-1] = '\0';
		(void)ctl_command(env, cl->in, &cl->out);
	}
	if (cl->out.full) {
		ob_free(&cl->out);
		ob_printf(&cl->out, "error: answer too long\n");
	}
	ctl_answer(cl, env->now_ms);
	(void)shutdown(cl->fd, SHUT_RD);
}

static void
client_write(struct client *cl)
{
	const char	*b = cl->page != NULL ? cl->page->b : cl->out.b;
	size_t		 len = cl->page != NULL ? cl->page->len : cl->out.len;
	ssize_t		 w;

	if (cl->page != NULL && cl->head_only)
		len = cl->page->hlen;

	if (cl->off < len) {
		/* A slice per pass: a big page is copied out bit by bit. */
		w = send(cl->fd, b + cl->off, len - cl->off > CTL_SEND_SLICE ?
		    CTL_SEND_SLICE : len - cl->off, MSG_NOSIGNAL);
		if (w == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (w <= 0) {
			client_close(cl);
			return;
		}
		cl->off += (size_t)w;
	}
	if (cl->off >= len)
		client_close(cl);
}

static void
clients_run(struct ctl *c, struct client *cls, int ncl, uint64_t read_ms,
    uint64_t send_ms, const struct pollfd *pfd, unsigned n,
    struct ctlenv *env)
{
	struct client	*cl;
	int		 i;

	for (i = 0; i < ncl; i++) {
		cl = &cls[i];
		if (cl->fd == -1)
			continue;
		if (cl->pidx >= 0 && (unsigned)cl->pidx < n &&
		    pfd[cl->pidx].revents != 0) {
			if (cl->answering)
				client_write(cl);
			else
				client_read(c, cl, env);
		}
		/* Slow clients go: the loop is for packets. */
		if (cl->fd != -1 && !cl->waiting && env->now_ms >
		    cl->since + (cl->answering ? send_ms : read_ms)) {
			if (cl->http)
				c->st.timeouts++;
			client_close(cl);
		}
	}
}

static void	 accept_clients(struct ctl *, int, int, struct ctlenv *);

void
ctl_run(struct ctl *c, const struct pollfd *pfd, unsigned n,
    struct ctlenv *env)
{
	env->http = &c->st;
	clients_run(c, c->c, CTL_MAXCLIENTS, CTL_IDLE_MS, 6 * CTL_IDLE_MS,
	    pfd, n, env);
	clients_run(c, c->h, HTTP_MAXCLIENTS, HTTP_HEAD_MS, HTTP_SEND_MS,
	    pfd, n, env);
	ctl_http_render(c, env);
	if (c->hpidx >= 0 && (unsigned)c->hpidx < n &&
	    (pfd[c->hpidx].revents & POLLIN))
		accept_clients(c, c->hfd, 1, env);
	if (c->pidx >= 0 && (unsigned)c->pidx < n &&
	    (pfd[c->pidx].revents & POLLIN))
		accept_clients(c, c->fd, 0, env);
}

/* Says no to a connection without an RST, and closes it. */
static void
refuse(int fd, int http)
{
	static const char busy_http[] = "HTTP/1.0 503 Service Unavailable\r\n"
			    "Content-Length: 0\r\n\r\n";
	static const char busy_ctl[] = "error: too many clients\n";
	char	 junk[CTL_LINEMAX];

	if (http)
		(void)send(fd, busy_http, sizeof(busy_http) - 1, MSG_NOSIGNAL);
	else
		(void)send(fd, busy_ctl, sizeof(busy_ctl) - 1, MSG_NOSIGNAL);
	/* What it sent is read, so that closing is no RST. */
	(void)shutdown(fd, SHUT_WR);
	(void)recv(fd, junk, sizeof(junk), MSG_DONTWAIT);
	close(fd);
}

static void
peer_addr(const struct sockaddr_storage *ss, union addr *a)
{
	memset(a, 0, sizeof(*a));
	if (ss->ss_family == AF_INET)
		memcpy(a->b, &((const struct sockaddr_in *)(const void *)ss)->
		    sin_addr, 4);
	else if (ss->ss_family == AF_INET6)
		memcpy(a->b, &((const struct sockaddr_in6 *)(const void *)ss)->
		    sin6_addr, 16);
}

/* At most a slot's worth of connections per pass, for each listener. */
static void
accept_clients(struct ctl *c, int lfd, int http, struct ctlenv *env)
{
	struct sockaddr_storage ss;
	socklen_t	 sl;
	struct client	*cls = http ? c->h : c->c, *cl;
	union addr	 peer;
	int		 ncl = http ? HTTP_MAXCLIENTS : CTL_MAXCLIENTS;
	int		 fd, i, k, free_i, same;

	for (k = 0; k < CTL_MAXCLIENTS; k++) {
		sl = sizeof(ss);
		memset(&ss, 0, sizeof(ss));
		if ((fd = accept4(lfd, (struct sockaddr *)&ss, &sl,
		    SOCK_NONBLOCK | SOCK_CLOEXEC)) == -1)
			return;
		peer_addr(&ss, &peer);
		free_i = -1;
		same = 0;
		for (i = 0; i < ncl; i++) {
			if (cls[i].fd == -1) {
				if (free_i == -1)
					free_i = i;
			} else if (http && addr_eq(&cls[i].peer, &peer))
				same++;
		}
		if (http && same >= HTTP_PER_SOURCE) {
			c->st.per_source++;
			refuse(fd, http);
			continue;
		}
		if (free_i == -1) {
			if (http)
				c->st.full++;
			refuse(fd, http);
			continue;
		}
		cl = &cls[free_i];
		memset(cl, 0, sizeof(*cl));
		cl->fd = fd;
		cl->pidx = -1;
		cl->http = http;
		cl->peer = peer;
		cl->since = env->now_ms;
	}
}
