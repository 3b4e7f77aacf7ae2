/*
 * Health checking.  Every server of a service with probes has one probe
 * slot: at most one probe in flight, started every interval, failed at
 * its timeout.  Sockets are non-blocking and polled by loadd's main loop
 * beside the packet socket, so a hung server costs a descriptor and
 * nothing else.  TCP probes close with a RST (SO_LINGER 0) so that they
 * leave no TIME_WAIT behind on either side.
 *
 * Passive detection reads three things the engine writes per server: the
 * time of the oldest SYN not yet answered, and counts of SYN+ACKs and of
 * SYNs answered by a RST.  A SYN left unanswered for passive_timeout, or
 * a refusal, is one failure; any SYN+ACK clears them; passive_fall
 * failures take the server down.  A server taken down passively comes
 * back by probes (rise successes), or, with "check = none", is tried again
 * after passive_retry seconds.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/icmp6.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cksum.h"
#include "agent.h"
#include "compat.h"
#include "health.h"
#include "log.h"
#include "sched.h"

#define HTTP_BUFLEN	8192	/* what an HTTP probe reads of the answer */
#define PASSIVE_EVERY	100	/* ms between passive judgements */

enum phase {
	P_IDLE = 0,
	P_CONNECT,		/* TCP and HTTP: connect() in progress */
	P_READ,			/* HTTP: request sent, reading the answer */
	P_ECHO,			/* ICMP: echo request sent */
};

struct probe {
	int		 fd;
	int		 pidx;		/* its place in the pollfd array, or -1 */
	uint8_t		 phase;
	uint16_t	 seq;		/* ICMP */
	uint64_t	 next;		/* when the next probe starts */
	uint64_t	 deadline;	/* when the running one fails */
	struct hcount	 cnt;
	char		*buf;		/* HTTP answer */
	size_t		 blen;

	/* Passive. */
	uint32_t	 synacks;	/* last seen counts */
	uint32_t	 refused;
	uint32_t	 pbad;		/* passive failures in a row */
	uint64_t	 pdown;		/* when passively taken down */

	/* Slow start. */
	uint64_t	 ramp;		/* when it came up; 0: no ramp */
};

struct health {
	struct pool	*pool;
	struct probe	*pr;
	int		 icmp4, icmp6;	/* raw sockets, or -1 */
	int		 ipidx4, ipidx6;
	uint16_t	 ident;		/* ICMP echo identifier */
	uint16_t	 gen;		/* ICMP sequence generation */
	uint64_t	 passive_last;
	struct health_stats st;
};

static void	 probe_start(struct health *, unsigned, uint64_t);
static void	 probe_done(struct health *, unsigned, int, const char *,
		    uint64_t, uint8_t *);
static void	 probe_close(struct probe *);
static void	 probe_io(struct health *, unsigned, short, uint64_t,
		    uint8_t *);
static void	 icmp_read(struct health *, int, int, uint64_t, uint8_t *);
static void	 passive(struct health *, uint64_t, uint8_t *);
static void	 slowstart(struct health *, uint64_t);
static void	 came_up(struct health *, unsigned, uint64_t);

/* Raw ICMP sockets opened while loadd could, for every later health_new(). */
static int	 pre4 = -1, pre6 = -1;

void
health_preopen(void)
{
	if (pre4 == -1)
		pre4 = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    IPPROTO_ICMP);
	if (pre6 == -1) {
		pre6 = socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    IPPROTO_ICMPV6);
#ifdef ICMP6_FILTER
		if (pre6 != -1) {
			struct icmp6_filter f;

			ICMP6_FILTER_SETBLOCKALL(&f);
			ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &f);
			(void)setsockopt(pre6, IPPROTO_ICMPV6, ICMP6_FILTER,
			    &f, sizeof(f));
		}
#endif
	}
}

static const char *const hc_type_names[] = {
	[HC_TCP] = "tcp",
	[HC_HTTP] = "http",
	[HC_ICMP] = "icmp",
	[HC_NONE] = "none",
};

const char *
hc_type_name(int t)
{
	if (t < 0 || t > HC_NONE)
		return ("?");
	return (hc_type_names[t]);
}

void
hcconf_default(struct hcconf *hc)
{
	memset(hc, 0, sizeof(*hc));
	hc->type = HC_TCP;
	hc->start_up = 1;
	hc->passive = 1;
	hc->down_flows = HC_KEEP;
	hc->noserver = HC_NS_RESET;
	hc->interval_ms = 2000;
	hc->timeout_ms = 1000;
	hc->rise = 2;
	hc->fall = 3;
	hc->passive_timeout_ms = 3000;
	hc->passive_fall = 5;
	hc->passive_retry = 30;
	hc->status_lo = 200;
	hc->status_hi = 399;
	strlcpy(hc->path, "/", sizeof(hc->path));
}

int
hcount_result(struct hcount *c, int ok, uint32_t rise, uint32_t fall)
{
	if (ok) {
		c->bad = 0;
		if (c->ok < UINT32_MAX)
			c->ok++;
		if (!c->up && c->ok >= rise) {
			c->up = 1;
			return (1);
		}
	} else {
		c->ok = 0;
		if (c->bad < UINT32_MAX)
			c->bad++;
		if (c->up && c->bad >= fall) {
			c->up = 0;
			return (1);
		}
	}
	return (0);
}

/* Whether any primary server of the service takes new flows. */
static int
primary_up(const struct pool *p, const struct service *svc)
{
	const struct server *s;
	unsigned	 k;

	for (k = 0; k < svc->nsrv; k++) {
		s = SVC_SRV(p, svc, k);
		if (!s->backup && s->state == SRV_UP && s->weight > 0)
			return (1);
	}
	return (0);
}

int
srv_update(struct pool *p, unsigned i, int reason, const char *why)
{
	struct server	*s = &p->srv[i];
	struct service	*svc = &p->svc[s->svc];
	uint8_t		 st, ub;
	unsigned	 j, nb = 0;

	if (s->admin == SRV_DISABLED)
		st = SRV_DISABLED;
	else if (s->admin == SRV_DRAINING || s->agent_drain)
		st = SRV_DRAINING;
	else if (!s->healthy || s->agent_down)
		st = SRV_DOWN;
	else
		st = SRV_UP;
	if (st == s->state)
		return (0);
	s->drained = 0;
	log_notice("service %s %s: server %s%s %s -> %s (%s%s%s)",
	    svc->label, svc->name, s->name, s->backup ? " (backup)" : "",
	    srv_state_name(s->state), srv_state_name(st),
	    srv_reason_name(reason), why != NULL ? ": " : "",
	    why != NULL ? why : "");
	s->state = st;
	s->reason = (uint8_t)reason;

	ub = !primary_up(p, svc);
	if (ub != svc->use_backup) {
		svc->use_backup = ub;
		for (j = 0; j < svc->nsrv; j++)
			if (SVC_SRV(p, svc, j)->backup)
				nb++;
		if (ub && nb > 0)
			log_warnx("service %s %s: no primary server is up; "
			    "%u backup server(s) take new flows", svc->label,
			    svc->name, nb);
		else if (ub)
			log_warnx("service %s %s: no server is up", svc->label,
			    svc->name);
		else
			log_notice("service %s %s: a primary server is up "
			    "again", svc->label, svc->name);
	}
	if (svc->method->setup != NULL && svc->method->setup(p, svc) == -1)
		log_warnx("service %s: cannot rebuild the %s table",
		    svc->label, svc->method->name);
	return (st == SRV_DOWN);
}

struct health *
health_new(struct pool *p)
{
	struct health	*h;
	struct server	*s;
	const struct hcconf *hc;
	unsigned	 i, need4 = 0, need6 = 0;
	int		 fd;

	if ((h = calloc(1, sizeof(*h))) == NULL ||
	    (p->nsrv > 0 && (h->pr = calloc(p->nsrv, sizeof(*h->pr))) ==
	    NULL)) {
		free(h);
		return (NULL);
	}
	h->pool = p;
	h->icmp4 = h->icmp6 = -1;
	h->ident = (uint16_t)arc4random();
	for (i = 0; i < p->nsrv; i++) {
		s = &p->srv[i];
		hc = p->svc[s->svc].hc;
		h->pr[i].fd = -1;
		h->pr[i].pidx = -1;
		if (!s->used)
			continue;	/* a free slot */
		h->pr[i].synacks = s->synacks;
		h->pr[i].refused = s->refused;
		h->pr[i].cnt.up = s->healthy;
		if (hc == NULL || hc->type == HC_NONE)
			continue;
		/* Spread the first probes over one interval. */
		h->pr[i].next = (uint64_t)hc->interval_ms * i / p->nsrv;
		if (hc->type == HC_ICMP) {
			if (s->family == 4)
				need4 = 1;
			else
				need6 = 1;
		}
	}
	if (need4 && pre4 != -1)
		h->icmp4 = pre4;
	else if (need4) {
		if ((fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, IPPROTO_ICMP)) == -1)
			goto fail;
		h->icmp4 = fd;
	}
	if (need6 && pre6 != -1)
		h->icmp6 = pre6;
	else if (need6) {
#ifdef ICMP6_FILTER
		struct icmp6_filter f;
#endif

		if ((fd = socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, IPPROTO_ICMPV6)) == -1)
			goto fail;
		h->icmp6 = fd;
#ifdef ICMP6_FILTER
		ICMP6_FILTER_SETBLOCKALL(&f);
		ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &f);
		(void)setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &f,
		    sizeof(f));
#endif
	}
	return (h);
fail:
	health_free(h);
	return (NULL);
}

void
health_free(struct health *h)
{
	unsigned	 i;

	if (h == NULL)
		return;
	for (i = 0; h->pr != NULL && i < h->pool->nsrv; i++)
		probe_close(&h->pr[i]);
	if (h->icmp4 != -1 && h->icmp4 != pre4)
		close(h->icmp4);
	if (h->icmp6 != -1 && h->icmp6 != pre6)
		close(h->icmp6);
	free(h->pr);
	free(h);
}

const struct health_stats *
health_stats(const struct health *h)
{
	return (&h->st);
}

void
health_stats_carry(struct health *h, const struct health_stats *old)
{
	h->st = *old;
}

unsigned
health_pollfds(struct health *h, struct pollfd *pfd, unsigned max)
{
	struct probe	*pr;
	unsigned	 i, n = 0;

	h->ipidx4 = h->ipidx6 = -1;
	if (h->icmp4 != -1 && n < max) {
		pfd[n].fd = h->icmp4;
		pfd[n].events = POLLIN;
		pfd[n].revents = 0;
		h->ipidx4 = (int)n++;
	}
	if (h->icmp6 != -1 && n < max) {
		pfd[n].fd = h->icmp6;
		pfd[n].events = POLLIN;
		pfd[n].revents = 0;
		h->ipidx6 = (int)n++;
	}
	for (i = 0; i < h->pool->nsrv; i++) {
		pr = &h->pr[i];
		pr->pidx = -1;
		if (pr->fd == -1 || n == max)
			continue;
		pfd[n].fd = pr->fd;
		pfd[n].events = pr->phase == P_CONNECT ? POLLOUT : POLLIN;
		pfd[n].revents = 0;
		pr->pidx = (int)n++;
	}
	return (n);
}

int
health_timeout(const struct health *h, uint64_t now)
{
	const struct probe *pr;
	uint64_t	 t = now + 1000;
	unsigned	 i;

	for (i = 0; i < h->pool->nsrv; i++) {
		pr = &h->pr[i];
		if (!h->pool->srv[i].used)
			continue;
		if (pr->fd != -1 || pr->phase == P_ECHO) {
			if (pr->deadline < t)
				t = pr->deadline;
		} else if (h->pool->svc[h->pool->srv[i].svc].hc != NULL &&
		    h->pool->svc[h->pool->srv[i].svc].hc->type != HC_NONE &&
		    pr->next < t)
			t = pr->next;
		if (pr->ramp != 0 || h->pool->srv[i].syn_pending_ms != 0)
			t = t < now + PASSIVE_EVERY ? t : now + PASSIVE_EVERY;
	}
	return (t <= now ? 0 : (int)(t - now));
}

void
health_run(struct health *h, const struct pollfd *pfd, unsigned n,
    uint64_t now, uint8_t *gone)
{
	struct pool	*p = h->pool;
	struct probe	*pr;
	const struct hcconf *hc;
	unsigned	 i;

	if (h->ipidx4 >= 0 && (unsigned)h->ipidx4 < n &&
	    (pfd[h->ipidx4].revents & POLLIN))
		icmp_read(h, h->icmp4, 4, now, gone);
	if (h->ipidx6 >= 0 && (unsigned)h->ipidx6 < n &&
	    (pfd[h->ipidx6].revents & POLLIN))
		icmp_read(h, h->icmp6, 6, now, gone);
	for (i = 0; i < p->nsrv; i++) {
		pr = &h->pr[i];
		hc = p->svc[p->srv[i].svc].hc;
		if (!p->srv[i].used || hc == NULL || hc->type == HC_NONE)
			continue;
		if (pr->fd != -1 && pr->pidx >= 0 && (unsigned)pr->pidx < n &&
		    pfd[pr->pidx].revents != 0)
			probe_io(h, i, pfd[pr->pidx].revents, now, gone);
		if ((pr->fd != -1 || pr->phase == P_ECHO) &&
		    now >= pr->deadline) {
			h->st.timeouts++;
			probe_done(h, i, 0, "timeout", now, gone);
		}
		if (pr->phase == P_IDLE && now >= pr->next)
			probe_start(h, i, now);
	}
	if (now >= h->passive_last + PASSIVE_EVERY) {
		h->passive_last = now;
		passive(h, now, gone);
		slowstart(h, now);
	}
}

void
health_ramp(struct health *h, unsigned i)
{
	if (i < h->pool->nsrv && h->pool->srv[i].state == SRV_UP)
		came_up(h, i, 0);
}

void
health_set_admin(struct health *h, unsigned i, int admin, int reason)
{
	struct server	*s = &h->pool->srv[i];
	int		 was = s->state;

	s->admin = (uint8_t)admin;
	(void)srv_update(h->pool, i, reason, NULL);
	if (was != SRV_UP && s->state == SRV_UP)
		came_up(h, i, 0);
}

static void
probe_close(struct probe *pr)
{
	if (pr->fd != -1)
		close(pr->fd);
	pr->fd = -1;
	pr->pidx = -1;
	pr->phase = P_IDLE;
	free(pr->buf);
	pr->buf = NULL;
	pr->blen = 0;
}

static socklen_t
sockaddr_of(const struct server *s, uint16_t port, struct sockaddr_storage *ss)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (s->family == 4) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, &s->addr.w[0], 4);
		return (sizeof(*sin));
	}
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	memcpy(&sin6->sin6_addr, s->addr.b, 16);
	return (sizeof(*sin6));
}

static void
probe_start(struct health *h, unsigned i, uint64_t now)
{
	struct probe	*pr = &h->pr[i];
	struct server	*s = &h->pool->srv[i];
	const struct hcconf *hc = h->pool->svc[s->svc].hc;
	struct sockaddr_storage ss;
	struct linger	 lg = { 1, 0 };
	socklen_t	 sl;
	uint8_t		 echo[16];
	uint16_t	 ck;
	int		 fd;

	pr->next = now + hc->interval_ms;
	pr->deadline = now + hc->timeout_ms;
	h->st.probes++;
	sl = sockaddr_of(s, hc->port ? hc->port : s->port, &ss);

	if (hc->type == HC_ICMP) {
		fd = s->family == 4 ? h->icmp4 : h->icmp6;
		if (fd == -1) {
			probe_done(h, i, 0, "no ICMP socket", now, NULL);
			return;
		}
		h->gen++;
		pr->seq = (uint16_t)((h->gen & 0xf) << 12 | (i & 0xfff));
		memset(echo, 0, sizeof(echo));
		echo[0] = s->family == 4 ? 8 : ICMP6_ECHO_REQUEST;
		echo[4] = (uint8_t)(h->ident >> 8);
		echo[5] = (uint8_t)h->ident;
		echo[6] = (uint8_t)(pr->seq >> 8);
		echo[7] = (uint8_t)pr->seq;
		memcpy(echo + 8, "loadd-hc", 8);
		if (s->family == 4) {
			/* The kernel sums ICMPv6 itself, not ICMP. */
			ck = cksum_finish(cksum_add(0, echo, sizeof(echo)));
			memcpy(echo + 2, &ck, 2);
		}
		((struct sockaddr_in *)&ss)->sin_port = 0;
		if (s->family == 6)
			((struct sockaddr_in6 *)&ss)->sin6_port = 0;
		if (sendto(fd, echo, sizeof(echo), 0, (struct sockaddr *)&ss,
		    sl) == -1) {
			probe_done(h, i, 0, strerror(errno), now, NULL);
			return;
		}
		pr->phase = P_ECHO;
		return;
	}

	fd = socket(s->family == 4 ? AF_INET : AF_INET6,
	    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	if (fd == -1) {
		probe_done(h, i, 0, strerror(errno), now, NULL);
		return;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	pr->fd = fd;
	pr->phase = P_CONNECT;
	if (connect(fd, (struct sockaddr *)&ss, sl) == -1 &&
	    errno != EINPROGRESS)
		probe_done(h, i, 0, strerror(errno), now, NULL);
}

/* "HTTP/1.x NNN" */
static int
http_status(const char *b, size_t n)
{
	int	 st;

	if (n < 12 || memcmp(b, "HTTP/1.", 7) != 0 ||
	    (b[7] != '0' && b[7] != '1') || b[8] != ' ' ||
	    b[9] < '1' || b[9] > '5' || b[10] < '0' || b[10] > '9' ||
	    b[11] < '0' || b[11] > '9' ||
	    (n > 12 && b[12] != ' ' && b[12] != '\r'))
		return (-1);
	st = (b[9] - '0') * 100 + (b[10] - '0') * 10 + (b[11] - '0');
	return (st);
}

static const char *
http_judge(const struct hcconf *hc, const char *b, size_t n, int eof)
{
	static char	 why[64];
	const char	*body;
	int		 st;

	if (n < 12)
		return (eof ? "short answer" : NULL);
	if ((st = http_status(b, n)) == -1)
		return ("not an HTTP answer");
	if (st < hc->status_lo || st > hc->status_hi) {
		snprintf(why, sizeof(why), "status %d", st);
		return (why);
	}
	if (hc->body[0] == '\0')
		return ("");
	if ((body = memmem(b, n, "\r\n\r\n", 4)) != NULL &&
	    memmem(body + 4, n - (size_t)(body + 4 - b), hc->body,
	    strlen(hc->body)) != NULL)
		return ("");
	if (eof || n == HTTP_BUFLEN)
		return ("expected text not in the answer");
	return (NULL);
}

static void
probe_io(struct health *h, unsigned i, short ev, uint64_t now, uint8_t *gone)
{
	struct probe	*pr = &h->pr[i];
	struct server	*s = &h->pool->srv[i];
	const struct hcconf *hc = h->pool->svc[s->svc].hc;
	char		 req[HC_PATHLEN + HC_HOSTLEN + 128], host[ADDR_STRLEN];
	const char	*verdict;
	socklen_t	 sl = sizeof(int);
	ssize_t		 r;
	int		 e = 0, n;

	if (pr->phase == P_CONNECT) {
		if (getsockopt(pr->fd, SOL_SOCKET, SO_ERROR, &e, &sl) == -1)
			e = errno;
		if (e == 0 && !(ev & POLLOUT))
			e = ECONNREFUSED;
		if (e != 0) {
			probe_done(h, i, 0, strerror(e), now, gone);
			return;
		}
		if (hc->type == HC_TCP) {
			probe_done(h, i, 1, NULL, now, gone);
			return;
		}
		if (hc->host[0] != '\0')
			strlcpy(host, hc->host, sizeof(host));
		else
			addr_ntop(s->family, &s->addr, host, sizeof(host));
		n = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\n"
		    "Host: %s%s%s\r\nUser-Agent: loadd-health-check\r\n"
		    "Connection: close\r\n\r\n", hc->path,
		    s->family == 6 && hc->host[0] == '\0' ? "[" : "", host,
		    s->family == 6 && hc->host[0] == '\0' ? "]" : "");
		/* A fresh connection takes a short request whole. */
		if (n < 0 || (size_t)n >= sizeof(req) ||
		    send(pr->fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
			probe_done(h, i, 0, "cannot send the request", now,
			    gone);
			return;
		}
		if ((pr->buf = malloc(HTTP_BUFLEN)) == NULL) {
			probe_done(h, i, 0, "out of memory", now, gone);
			return;
		}
		pr->phase = P_READ;
		return;
	}
	/* P_READ */
	r = recv(pr->fd, pr->buf + pr->blen, HTTP_BUFLEN - pr->blen, 0);
	if (r == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		probe_done(h, i, 0, strerror(errno), now, gone);
		return;
	}
	pr->blen += (size_t)r;
	if ((verdict = http_judge(hc, pr->buf, pr->blen, r == 0)) == NULL)
		return;
	probe_done(h, i, verdict[0] == '\0', verdict, now, gone);
}

static void
icmp_read(struct health *h, int fd, int family, uint64_t now, uint8_t *gone)
{
	struct sockaddr_storage ss;
	socklen_t	 sl;
	uint8_t		 b[1500];
	const uint8_t	*ic;
	union addr	 from;
	ssize_t		 r;
	unsigned	 i, hl, guard;
	uint16_t	 id, seq;

	for (guard = 0; guard < 1024; guard++) {
		sl = sizeof(ss);
		r = recvfrom(fd, b, sizeof(b), 0, (struct sockaddr *)&ss, &sl);
		if (r == -1)
			return;
		memset(&from, 0, sizeof(from));
		if (family == 4) {
			/* Raw IPv4 sockets hand over the IP header too. */
			if (r < 20 || (b[0] >> 4) != 4)
				continue;
			hl = (unsigned)(b[0] & 0xf) * 4;
			if (hl < 20 || (size_t)r < hl + 8)
				continue;
			ic = b + hl;
			if (ic[0] != 0)		/* echo reply */
				continue;
			memcpy(&from.w[0], b + 12, 4);
		} else {
			if (r < 8 || ss.ss_family != AF_INET6)
				continue;
			ic = b;
			if (ic[0] != ICMP6_ECHO_REPLY)
				continue;
			memcpy(from.b, &((struct sockaddr_in6 *)&ss)->sin6_addr,
			    16);
		}
		id = (uint16_t)(ic[4] << 8 | ic[5]);
		seq = (uint16_t)(ic[6] << 8 | ic[7]);
		if (id != h->ident)
			continue;
		i = seq & 0xfff;
		if (i >= h->pool->nsrv || h->pr[i].phase != P_ECHO ||
		    h->pr[i].seq != seq || h->pool->srv[i].family != family ||
		    !addr_eq(&h->pool->srv[i].addr, &from))
			continue;
		probe_done(h, i, 1, NULL, now, gone);
	}
}

static void
came_up(struct health *h, unsigned i, uint64_t now)
{
	struct server	*s = &h->pool->srv[i];
	const struct service *svc = &h->pool->svc[s->svc];

	if (svc->hc == NULL || svc->hc->slowstart == 0 ||
	    svc->method->hashed || s->cweight <= 1) {
		s->weight = s->cweight;
		return;
	}
	h->pr[i].ramp = now ? now : 1;
	s->weight = (uint16_t)(s->cweight / 10 > 1 ? s->cweight / 10 : 1);
}

/*
 * Slow start: the weight in effect grows linearly from a tenth of the
 * configured weight (at least 1) to all of it over slowstart seconds.
 */
static void
slowstart(struct health *h, uint64_t now)
{
	struct server	*s;
	struct probe	*pr;
	uint64_t	 span, w;
	unsigned	 i;

	for (i = 0; i < h->pool->nsrv; i++) {
		pr = &h->pr[i];
		if (pr->ramp == 0)
			continue;
		s = &h->pool->srv[i];
		if (pr->ramp == 1)
			pr->ramp = now;
		span = (uint64_t)h->pool->svc[s->svc].hc->slowstart * 1000;
		if (s->state != SRV_UP || now - pr->ramp >= span) {
			s->weight = s->cweight;
			pr->ramp = 0;
			continue;
		}
		w = (uint64_t)s->cweight * (now - pr->ramp) / span;
		if (w < (uint64_t)s->cweight / 10)
			w = s->cweight / 10;
		s->weight = (uint16_t)(w > 0 ? w : 1);
	}
}

static void
probe_done(struct health *h, unsigned i, int ok, const char *why,
    uint64_t now, uint8_t *gone)
{
	struct probe	*pr = &h->pr[i];
	struct server	*s = &h->pool->srv[i];
	const struct hcconf *hc = h->pool->svc[s->svc].hc;
	char		 msg[160];
	int		 was = s->state;

	probe_close(pr);
	if (ok)
		h->st.ok++;
	else
		h->st.failed++;
	if (!hcount_result(&pr->cnt, ok, hc->rise, hc->fall)) {
		if (!ok && pr->cnt.bad == 1 && s->healthy)
			log_info("service %s: server %s: %s probe failed "
			    "(%s), 1 of %u", h->pool->svc[s->svc].label,
			    s->name, hc_type_name(hc->type), why ? why : "?",
			    hc->fall);
		return;
	}
	h->st.transitions++;
	s->healthy = pr->cnt.up;
	pr->pbad = 0;
	if (ok)
		snprintf(msg, sizeof(msg), "%s probe passed %u times",
		    hc_type_name(hc->type), hc->rise);
	else
		snprintf(msg, sizeof(msg), "%s probe failed %u times: %s",
		    hc_type_name(hc->type), hc->fall, why ? why : "?");
	if (srv_update(h->pool, i, SR_PROBE, msg) && gone != NULL)
		gone[i] = 1;
	if (was != SRV_UP && s->state == SRV_UP)
		came_up(h, i, now);
}

static void
passive(struct health *h, uint64_t now, uint8_t *gone)
{
	struct pool	*p = h->pool;
	struct server	*s;
	struct probe	*pr;
	const struct hcconf *hc;
	char		 msg[96];
	unsigned	 i;
	int		 was;

	for (i = 0; i < p->nsrv; i++) {
		s = &p->srv[i];
		pr = &h->pr[i];
		hc = p->svc[s->svc].hc;
		if (!s->used || hc == NULL)
			continue;
		if (s->synacks != pr->synacks) {
			pr->synacks = s->synacks;
			pr->pbad = 0;
		}
		if (s->refused != pr->refused) {
			pr->pbad += s->refused - pr->refused;
			pr->refused = s->refused;
		}
		if (s->syn_pending_ms != 0 && (uint32_t)((uint32_t)now -
		    s->syn_pending_ms) > hc->passive_timeout_ms) {
			s->syn_pending_ms = 0;
			pr->pbad++;
		}
		if (!hc->passive) {
			pr->pbad = 0;
			continue;
		}
		if (s->healthy && pr->pbad >= hc->passive_fall) {
			snprintf(msg, sizeof(msg), "%u SYNs unanswered or "
			    "refused", pr->pbad);
			s->healthy = 0;
			pr->cnt.up = 0;
			pr->cnt.ok = 0;
			pr->pbad = 0;
			pr->pdown = now;
			h->st.transitions++;
			if (srv_update(p, i, SR_PASSIVE, msg) && gone != NULL)
				gone[i] = 1;
		} else if (!s->healthy && hc->type == HC_NONE &&
		    pr->pdown != 0 && now - pr->pdown >=
		    (uint64_t)hc->passive_retry * 1000) {
			was = s->state;
			s->healthy = 1;
			pr->cnt.up = 1;
			pr->pdown = 0;
			h->st.transitions++;
			(void)srv_update(p, i, SR_RETRY, "no probes: trying "
			    "it again");
			if (was != SRV_UP && s->state == SRV_UP)
				came_up(h, i, now);
		}
	}
}

/*
 * What the agents say, applied: a service its agent calls down takes no
 * new flows, and drain takes no new flows and lets the existing ones
 * finish, and loadd says once when the last one has.  Both count only
 * while the reports are fresh: stale ones count for nothing, and the
 * probes decide (agent_drain() says why for drain).
 */
void
health_agents(struct health *h, const struct agent *a, uint64_t now,
    uint8_t *gone)
{
	struct pool	*p = h->pool;
	struct server	*s;
	unsigned	 i;
	int		 down, drain, was;

	for (i = 0; i < p->nsrv; i++) {
		s = &p->srv[i];
		if (!s->used)
			continue;
		down = a != NULL && agent_down(a, i, now);
		drain = a != NULL && agent_drain(a, i, now);
		if (down != s->agent_down || drain != s->agent_drain) {
			was = s->state;
			s->agent_down = (uint8_t)down;
			s->agent_drain = (uint8_t)drain;
			if (srv_update(p, i, SR_AGENT, down ? "its agent "
			    "says the service is down" : drain ? "its agent "
			    "asks for drain" : a == NULL || !agent_fresh(a, i, now) ?
			    "its agent has gone quiet; health checks decide" :
			    "its agent says the service is up") && gone != NULL)
				gone[i] = 1;
			if (was != SRV_UP && s->state == SRV_UP)
				came_up(h, i, now);
		}
		if (s->state == SRV_DRAINING && !s->drained &&
		    s->flows_active == 0) {
			s->drained = 1;
			log_notice("service %s %s: server %s is drained: no "
			    "active flows; safe to stop", p->svc[s->svc].label,
			    p->svc[s->svc].name, s->name);
		}
	}
}
