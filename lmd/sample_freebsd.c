/*
 * Samples on FreeBSD, by sysctl: CPU from kern.cp_time deltas (all CPUs,
 * busy = total - idle), load from vm.loadavg, memory in use as
 * (v_page_count - v_free_count - v_inactive_count) / v_page_count, and
 * established TCP connections on the watched port from
 * net.inet.tcp.pcblist, as netstat(1) reads it.  The cgroup key has no
 * meaning here and is ignored.  Not yet compiled or run on FreeBSD.
 */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/sysctl.h>

#include <netinet/in.h>
#include <netinet/in_pcb.h>
#include <netinet/tcp_fsm.h>
#include <netinet/tcp_var.h>

#include <stdlib.h>
#include <string.h>

#include "lmd.h"
#include "log.h"

struct sampler {
	const struct lmd_conf *conf;
	long		 prev[CPUSTATES];
	int		 primed;
	struct sample	 last;
};

struct sampler *
sample_open(const struct lmd_conf *conf)
{
	struct sampler	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		log_warn("sample_open");
		return (NULL);
	}
	s->conf = conf;
	return (s);
}

void
sample_close(struct sampler *s)
{
	free(s);
}

static u_int
vmstat(const char *name)
{
	u_int	 v = 0;
	size_t	 len = sizeof(v);

	if (sysctlbyname(name, &v, &len, NULL, 0) == -1)
		return (0);
	return (v);
}

static void
conns(struct sampler *s)
{
	struct xinpgen	*xig, *head;
	struct xtcpcb	*xt;
	char		*buf;
	size_t		 len = 0;
	uint32_t	 n = 0;

	if (sysctlbyname("net.inet.tcp.pcblist", NULL, &len, NULL, 0) == -1 ||
	    (buf = malloc(len)) == NULL)
		return;
	if (sysctlbyname("net.inet.tcp.pcblist", buf, &len, NULL, 0) == -1 ||
	    len < sizeof(*head)) {
		free(buf);
		return;
	}
	head = (struct xinpgen *)buf;
	for (xig = (struct xinpgen *)(buf + head->xig_len);
	    (char *)xig + sizeof(*xig) <= buf + len &&
	    xig->xig_len > sizeof(struct xinpgen);
	    xig = (struct xinpgen *)((char *)xig + xig->xig_len)) {
		xt = (struct xtcpcb *)xig;
		if (xt->t_state == TCPS_ESTABLISHED &&
		    ntohs(xt->xt_inp.inp_lport) == s->conf->watch_port)
			n++;
	}
	s->last.conns = n;
	free(buf);
}

void
sample_take(struct sampler *s, struct sample *out)
{
	long		 cp[CPUSTATES];
	double		 la[3];
	size_t		 len = sizeof(cp);
	uint64_t	 total = 0, busy = 0, t;
	u_int		 pages, freep, inact;
	int		 i;

	if (sysctlbyname("kern.cp_time", cp, &len, NULL, 0) == 0) {
		for (i = 0; i < CPUSTATES; i++) {
			t = (uint64_t)(cp[i] - s->prev[i]);
			total += t;
			if (i != CP_IDLE)
				busy += t;
		}
		s->last.cpu_pm = s->primed && total > 0 ?
		    (uint16_t)(busy * 1000 / total) : 0;
		memcpy(s->prev, cp, sizeof(cp));
		s->primed = 1;
	}
	if (getloadavg(la, 1) == 1 && la[0] >= 0)
		s->last.load100 = (uint32_t)(la[0] * 100 + 0.5);
	pages = vmstat("vm.stats.vm.v_page_count");
	freep = vmstat("vm.stats.vm.v_free_count");
	inact = vmstat("vm.stats.vm.v_inactive_count");
	if (pages > 0 && freep + inact <= pages)
		s->last.mem_pm = (uint16_t)((uint64_t)(pages - freep - inact) *
		    1000 / pages);
	conns(s);
	*out = s->last;
}
