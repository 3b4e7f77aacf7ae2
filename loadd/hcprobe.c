/*
 * Active probes.  Every server of a service with probes has one probe
 * slot: at most one probe in flight, started every interval, failed at
 * its timeout.  Sockets are non-blocking and polled by loadd's main loop
 * beside the packet socket, so a hung server costs a descriptor and
 * nothing else.  TCP probes close with a RST (SO_LINGER 0) so that they
 * leave no TIME_WAIT behind on either side.  What a TCP or HTTP probe
 * does on the wire is shared with lmd's checks (common/probe.c).
 *
 * Owns: each server's probe slot (its socket, phase, timing and the HTTP
 * answer so far), the raw ICMP sockets, and the probes, ok, failed and
 * timeouts counters of struct health_stats.  Every result goes to
 * srvstate_probe(), which counts it towards rise and fall.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/icmp6.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cksum.h"
#include "compat.h"
#include "hcprobe.h"
#include "probe.h"
#include "reload.h"
#include "srvstate.h"

#define HTTP_BUFLEN	8192	/* what an HTTP probe reads of the answer */

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
	uint32_t	 sig;		/* what it probes (probe_sig()) */
	char		*buf;		/* HTTP answer */
	size_t		 blen;
};

struct hcprobes {
	struct pool	*pool;
	struct srvstate	*ss;		/* where results go */
	struct health_stats *st;
	struct probe	*pr;		/* one per server */
	int		 icmp4, icmp6;	/* raw sockets, or -1 */
	int		 ipidx4, ipidx6;
	uint16_t	 ident;		/* ICMP echo identifier */
	uint16_t	 gen;		/* ICMP sequence generation */
};

static const struct hcconf *probing(const struct hcprobes *, unsigned);
static int	 icmp_socket(int);
static uint32_t	 probe_sig(const struct hcprobes *, unsigned);
static uint32_t	 sig_add(uint32_t, const void *, size_t);
static int	 icmp_need(struct hcprobes *);
static int	 pollfd_add(struct pollfd *, unsigned *, int, short);
static void	 probe_start(struct hcprobes *, unsigned, uint64_t);
static void	 echo_send(struct hcprobes *, unsigned, uint64_t);
static void	 probe_io(struct hcprobes *, unsigned, short, uint64_t,
		    uint8_t *);
static void	 connect_done(struct hcprobes *, unsigned, short, uint64_t,
		    uint8_t *);
static void	 http_send(struct hcprobes *, unsigned, uint64_t, uint8_t *);
static void	 http_answer(struct hcprobes *, unsigned, uint64_t,
		    uint8_t *);
static const uint8_t *echo_reply(const uint8_t *, size_t, int,
		    const struct sockaddr_storage *, union addr *);
static void	 icmp_read(struct hcprobes *, int, int, uint64_t, uint8_t *);
static void	 probe_done(struct hcprobes *, unsigned, int, const char *,
		    uint64_t, uint8_t *);
static void	 probe_close(struct probe *);

/* Raw ICMP sockets opened while loadd could, for every later pool. */
static int	 pre4 = -1, pre6 = -1;

/* The health settings of server i if it is probed, else NULL. */
static const struct hcconf *
probing(const struct hcprobes *h, unsigned i)
{
	const struct hcconf *hc = h->pool->svc[h->pool->srv[i].svc].hc;

	if (!h->pool->srv[i].used)
		return (NULL);	/* a free slot */
	return (hc != NULL && hc->type != HC_NONE ? hc : NULL);
}

static int
icmp_socket(int family)
{
	int	 fd;

	fd = socket(family == 4 ? AF_INET : AF_INET6, SOCK_RAW |
	    SOCK_NONBLOCK | SOCK_CLOEXEC, family == 4 ? IPPROTO_ICMP :
	    IPPROTO_ICMPV6);
#ifdef ICMP6_FILTER
	if (fd != -1 && family == 6) {
		struct icmp6_filter f;

		ICMP6_FILTER_SETBLOCKALL(&f);
		ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &f);
		(void)setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &f,
		    sizeof(f));
	}
#endif
	return (fd);
}

void
hcprobe_preopen(void)
{
	if (pre4 == -1)
		pre4 = icmp_socket(4);
	if (pre6 == -1)
		pre6 = icmp_socket(6);
}

/*
 * What a probe of server i asks and of whom: when a reload changes it,
 * the probe starts again and its results in a row count afresh.
 */
static uint32_t
probe_sig(const struct hcprobes *h, unsigned i)
{
	const struct server *s = &h->pool->srv[i];
	const struct hcconf *hc = h->pool->svc[s->svc].hc;
	uint32_t	 v = 2166136261u;	/* FNV-1a */

#define SIG(x)	v = sig_add(v, &(x), sizeof(x))
	SIG(hc->type);
	SIG(hc->port);
	SIG(hc->interval_ms);
	SIG(hc->timeout_ms);
	SIG(hc->status_lo);
	SIG(hc->status_hi);
	v = sig_add(v, hc->path, strlen(hc->path));
	v = sig_add(v, hc->host, strlen(hc->host) + 1);
	v = sig_add(v, hc->body, strlen(hc->body) + 1);
	SIG(s->family);
	SIG(s->addr);
	SIG(s->port);
#undef SIG
	return (v);
}

static uint32_t
sig_add(uint32_t v, const void *p, size_t len)
{
	const uint8_t	*b = p;

	while (len-- > 0)
		v = (v ^ *b++) * 16777619u;
	return (v);
}

/* Opens the raw ICMP sockets the probes now need; -1 if one cannot be. */
static int
icmp_need(struct hcprobes *h)
{
	const struct hcconf *hc;
	unsigned	 i, need4 = 0, need6 = 0;

	for (i = 0; i < h->pool->nsrv; i++)
		if ((hc = probing(h, i)) != NULL && hc->type == HC_ICMP) {
			if (h->pool->srv[i].family == 4)
				need4 = 1;
			else
				need6 = 1;
		}
	if (need4 && h->icmp4 == -1)
		h->icmp4 = pre4 != -1 ? pre4 : icmp_socket(4);
	if (need6 && h->icmp6 == -1)
		h->icmp6 = pre6 != -1 ? pre6 : icmp_socket(6);
	return ((need4 && h->icmp4 == -1) || (need6 && h->icmp6 == -1) ?
	    -1 : 0);
}

struct hcprobes *
hcprobe_new(struct pool *p, struct srvstate *ss, struct health_stats *st)
{
	struct hcprobes	*h;
	const struct hcconf *hc;
	unsigned	 i;
	int		 e;

	/* A slot's probe lives as long as the slot: every slot has one. */
	if ((h = calloc(1, sizeof(*h))) == NULL ||
	    (h->pr = calloc(POOL_MAXSERVERS, sizeof(*h->pr))) == NULL) {
		free(h);
		return (NULL);
	}
	h->pool = p;
	h->ss = ss;
	h->st = st;
	h->icmp4 = h->icmp6 = -1;
	h->ipidx4 = h->ipidx6 = -1;
	h->ident = (uint16_t)arc4random();
	for (i = 0; i < POOL_MAXSERVERS; i++) {
		h->pr[i].fd = -1;
		h->pr[i].pidx = -1;
		if (i >= p->nsrv || (hc = probing(h, i)) == NULL)
			continue;
		/* Spread the first probes over one interval. */
		h->pr[i].next = (uint64_t)hc->interval_ms * i / p->nsrv;
		h->pr[i].sig = probe_sig(h, i);
	}
	if (icmp_need(h) == -1) {
		e = errno;
		hcprobe_free(h);
		errno = e;
		return (NULL);
	}
	return (h);
}

int
hcprobe_reload(struct hcprobes *h, const uint8_t *slots)
{
	struct probe	*pr;
	uint32_t	 sig;
	unsigned	 i;

	for (i = 0; i < POOL_MAXSERVERS; i++) {
		pr = &h->pr[i];
		if (i >= h->pool->nsrv || probing(h, i) == NULL) {
			probe_close(pr);
			pr->sig = 0;
			continue;
		}
		sig = probe_sig(h, i);
		if (slots[i] == RS_SAME && sig == pr->sig)
			continue;	/* its probe goes on */
		probe_close(pr);
		pr->next = 0;		/* at the next pass */
		pr->deadline = 0;
		pr->sig = sig;
		if (slots[i] == RS_SAME)
			srvstate_recount(h->ss, i);
	}
	return (icmp_need(h));
}

void
hcprobe_free(struct hcprobes *h)
{
	unsigned	 i;

	if (h == NULL)
		return;
	for (i = 0; h->pr != NULL && i < POOL_MAXSERVERS; i++)
		probe_close(&h->pr[i]);
	if (h->icmp4 != -1 && h->icmp4 != pre4)
		close(h->icmp4);
	if (h->icmp6 != -1 && h->icmp6 != pre6)
		close(h->icmp6);
	free(h->pr);
	free(h);
}

/* Adds fd to the poll set; returns its place. */
static int
pollfd_add(struct pollfd *pfd, unsigned *n, int fd, short events)
{
	pfd[*n].fd = fd;
	pfd[*n].events = events;
	pfd[*n].revents = 0;
	return ((int)(*n)++);
}

unsigned
hcprobe_pollfds(struct hcprobes *h, struct pollfd *pfd, unsigned max)
{
	struct probe	*pr;
	unsigned	 i, n = 0;

	h->ipidx4 = h->ipidx6 = -1;
	if (h->icmp4 != -1 && n < max)
		h->ipidx4 = pollfd_add(pfd, &n, h->icmp4, POLLIN);
	if (h->icmp6 != -1 && n < max)
		h->ipidx6 = pollfd_add(pfd, &n, h->icmp6, POLLIN);
	for (i = 0; i < h->pool->nsrv; i++) {
		pr = &h->pr[i];
		pr->pidx = -1;
		if (pr->fd == -1 || n == max)
			continue;
		pr->pidx = pollfd_add(pfd, &n, pr->fd,
		    pr->phase == P_CONNECT ? POLLOUT : POLLIN);
	}
	return (n);
}

uint64_t
hcprobe_due(const struct hcprobes *h, uint64_t t)
{
	const struct probe *pr;
	unsigned	 i;

	for (i = 0; i < h->pool->nsrv; i++) {
		pr = &h->pr[i];
		if (probing(h, i) == NULL)
			continue;
		if (pr->fd != -1 || pr->phase == P_ECHO) {
			if (pr->deadline < t)
				t = pr->deadline;
		} else if (pr->next < t)
			t = pr->next;
	}
	return (t);
}

void
hcprobe_run(struct hcprobes *h, const struct pollfd *pfd, unsigned n,
    uint64_t now, uint8_t *gone)
{
	struct probe	*pr;
	unsigned	 i;

	if (h->ipidx4 >= 0 && (unsigned)h->ipidx4 < n &&
	    (pfd[h->ipidx4].revents & POLLIN))
		icmp_read(h, h->icmp4, 4, now, gone);
	if (h->ipidx6 >= 0 && (unsigned)h->ipidx6 < n &&
	    (pfd[h->ipidx6].revents & POLLIN))
		icmp_read(h, h->icmp6, 6, now, gone);
	for (i = 0; i < h->pool->nsrv; i++) {
		pr = &h->pr[i];
		if (probing(h, i) == NULL)
			continue;
		if (pr->fd != -1 && pr->pidx >= 0 && (unsigned)pr->pidx < n &&
		    pfd[pr->pidx].revents != 0)
			probe_io(h, i, pfd[pr->pidx].revents, now, gone);
		if ((pr->fd != -1 || pr->phase == P_ECHO) &&
		    now >= pr->deadline) {
			h->st->timeouts++;
			probe_done(h, i, 0, "timeout", now, gone);
		}
		if (pr->phase == P_IDLE && now >= pr->next)
			probe_start(h, i, now);
	}
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

static void
probe_start(struct hcprobes *h, unsigned i, uint64_t now)
{
	struct probe	*pr = &h->pr[i];
	const struct server *s = &h->pool->srv[i];
	const struct hcconf *hc = h->pool->svc[s->svc].hc;
	struct sockaddr_storage ss;
	socklen_t	 sl;
	int		 fd;

	pr->next = now + hc->interval_ms;
	pr->deadline = now + hc->timeout_ms;
	h->st->probes++;
	if (hc->type == HC_ICMP) {
		echo_send(h, i, now);
		return;
	}
	sl = addr_to_sockaddr(s->family, &s->addr, hc->port ? hc->port :
	    s->port, &ss);
	if ((fd = probe_socket(s->family, PROBE_RST)) == -1) {
		probe_done(h, i, 0, strerror(errno), now, NULL);
		return;
	}
	pr->fd = fd;
	pr->phase = P_CONNECT;
	if (probe_connect(fd, &ss, sl) == -1)
		probe_done(h, i, 0, strerror(errno), now, NULL);
}

/*
 * An echo request on the shared raw socket, numbered so that the reply
 * names its server: the low 12 bits of the sequence are the server's
 * index, the high 4 a generation, so that a late reply to an earlier
 * probe is not taken for this one's.
 */
static void
echo_send(struct hcprobes *h, unsigned i, uint64_t now)
{
	struct probe	*pr = &h->pr[i];
	const struct server *s = &h->pool->srv[i];
	struct sockaddr_storage ss;
	socklen_t	 sl;
	uint8_t		 echo[16];
	uint16_t	 ck;
	int		 fd = s->family == 4 ? h->icmp4 : h->icmp6;

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
	sl = addr_to_sockaddr(s->family, &s->addr, 0, &ss);
	if (sendto(fd, echo, sizeof(echo), 0, (struct sockaddr *)&ss,
	    sl) == -1) {
		probe_done(h, i, 0, strerror(errno), now, NULL);
		return;
	}
	pr->phase = P_ECHO;
}

static void
probe_io(struct hcprobes *h, unsigned i, short ev, uint64_t now,
    uint8_t *gone)
{
	if (h->pr[i].phase == P_CONNECT)
		connect_done(h, i, ev, now, gone);
	else
		http_answer(h, i, now, gone);
}

static void
connect_done(struct hcprobes *h, unsigned i, short ev, uint64_t now,
    uint8_t *gone)
{
	const struct server *s = &h->pool->srv[i];
	int		 e;

	e = probe_connected(h->pr[i].fd);
	/* Woken without being writable, and no error said: not connected. */
	if (e == 0 && !(ev & POLLOUT))
		e = ECONNREFUSED;
	if (e != 0)
		probe_done(h, i, 0, strerror(e), now, gone);
	else if (h->pool->svc[s->svc].hc->type == HC_TCP)
		probe_done(h, i, 1, NULL, now, gone);
	else
		http_send(h, i, now, gone);
}

static void
http_send(struct hcprobes *h, unsigned i, uint64_t now, uint8_t *gone)
{
	struct probe	*pr = &h->pr[i];
	const struct server *s = &h->pool->srv[i];
	const struct hcconf *hc = h->pool->svc[s->svc].hc;
	char		 req[HC_PATHLEN + HC_HOSTLEN + 128];
	char		 a[ADDR_STRLEN], a6[ADDR_STRLEN + 2];
	const char	*host = hc->host;
	int		 n;

	/* check_host, or the server's address ([v6]). */
	if (host[0] == '\0' && s->family == 6) {
		snprintf(a6, sizeof(a6), "[%s]", addr_ntop(6, &s->addr, a,
		    sizeof(a)));
		host = a6;
	} else if (host[0] == '\0')
		host = addr_ntop(4, &s->addr, a, sizeof(a));
	n = http_request(req, sizeof(req), hc->path, host,
	    "loadd-health-check");
	/* A fresh connection takes a short request whole. */
	if (n == -1 || send(pr->fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
		probe_done(h, i, 0, "cannot send the request", now, gone);
		return;
	}
	if ((pr->buf = malloc(HTTP_BUFLEN)) == NULL) {
		probe_done(h, i, 0, "out of memory", now, gone);
		return;
	}
	pr->phase = P_READ;
}

/* Reads what has come of the answer; done once it can be judged. */
static void
http_answer(struct hcprobes *h, unsigned i, uint64_t now, uint8_t *gone)
{
	struct probe	*pr = &h->pr[i];
	const struct hcconf *hc = h->pool->svc[h->pool->srv[i].svc].hc;
	struct http_expect x = { hc->status_lo, hc->status_hi, hc->body, 0 };
	char		 why[32];
	int		 code;

	switch (http_read(pr->fd, pr->buf, HTTP_BUFLEN, &pr->blen, &x,
	    &code)) {
	case HTTP_MORE:
		break;
	case HTTP_PASS:
		probe_done(h, i, 1, NULL, now, gone);
		break;
	case HTTP_ERROR:
		probe_done(h, i, 0, strerror(errno), now, gone);
		break;
	case HTTP_SHORT:
		probe_done(h, i, 0, "short answer", now, gone);
		break;
	case HTTP_NOTHTTP:
		probe_done(h, i, 0, "not an HTTP answer", now, gone);
		break;
	case HTTP_STATUS:
		snprintf(why, sizeof(why), "status %d", code);
		probe_done(h, i, 0, why, now, gone);
		break;
	case HTTP_NOBODY:
		probe_done(h, i, 0, "expected text not in the answer", now,
		    gone);
		break;
	}
}

/*
 * The ICMP header of an echo reply in the r bytes of b, with the address
 * it came from in *from; NULL for anything else.
 */
static const uint8_t *
echo_reply(const uint8_t *b, size_t r, int family,
    const struct sockaddr_storage *ss, union addr *from)
{
	unsigned	 hl;

	memset(from, 0, sizeof(*from));
	if (family == 4) {
		/* Raw IPv4 sockets hand over the IP header too. */
		if (r < 20 || (b[0] >> 4) != 4)
			return (NULL);
		hl = (unsigned)(b[0] & 0xf) * 4;
		if (hl < 20 || r < hl + 8 || b[hl] != 0)	/* echo reply */
			return (NULL);
		memcpy(&from->w[0], b + 12, 4);
		return (b + hl);
	}
	if (r < 8 || ss->ss_family != AF_INET6 || b[0] != ICMP6_ECHO_REPLY)
		return (NULL);
	memcpy(from->b, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
	return (b);
}

static void
icmp_read(struct hcprobes *h, int fd, int family, uint64_t now,
    uint8_t *gone)
{
	struct sockaddr_storage ss;
	socklen_t	 sl;
	uint8_t		 b[1500];
	const uint8_t	*ic;
	union addr	 from;
	ssize_t		 r;
	unsigned	 i, guard;
	uint16_t	 seq;

	for (guard = 0; guard < 1024; guard++) {
		sl = sizeof(ss);
		r = recvfrom(fd, b, sizeof(b), 0, (struct sockaddr *)&ss, &sl);
		if (r == -1)
			return;
		if ((ic = echo_reply(b, (size_t)r, family, &ss, &from)) ==
		    NULL || (uint16_t)(ic[4] << 8 | ic[5]) != h->ident)
			continue;
		seq = (uint16_t)(ic[6] << 8 | ic[7]);
		i = seq & 0xfff;
		if (i >= h->pool->nsrv || h->pr[i].phase != P_ECHO ||
		    h->pr[i].seq != seq || h->pool->srv[i].family != family ||
		    !addr_eq(&h->pool->srv[i].addr, &from))
			continue;
		probe_done(h, i, 1, NULL, now, gone);
	}
}

static void
probe_done(struct hcprobes *h, unsigned i, int ok, const char *why,
    uint64_t now, uint8_t *gone)
{
	probe_close(&h->pr[i]);
	if (ok)
		h->st->ok++;
	else
		h->st->failed++;
	srvstate_probe(h->ss, i, ok, why, now, gone);
}
