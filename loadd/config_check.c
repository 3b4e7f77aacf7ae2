/*
 * Checking loadd.conf once it is read: what one key cannot say alone.
 * A service block needs its address, ports and servers, its health keys
 * must agree, the bitmask method takes a network; across services no
 * address is balanced twice; offload rules out what needs the servers'
 * answers; agent reports need a key file.  Each error names the line to
 * blame, or the end of the file for what is missing.
 */
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>

#include "cfgfile.h"
#include "compat.h"
#include "config.h"
#include "config_spec.h"
#include "health.h"
#include "pkt.h"
#include "sched.h"

static const char *spec_name(const struct svcspec *, char *, size_t);
static int	 check_required(struct parse *, struct svcspec *);
static void	 check_servers(struct parse *, struct svcspec *);
static int	 expand_bitmask(struct parse *, struct svcspec *);
static int	 bitmask_network(struct cfgfile *, const struct srvspec *);
static void	 check_services_apart(struct parse *, unsigned);
static void	 check_servers_apart(struct parse *);

static const char *
spec_name(const struct svcspec *sp, char *buf, size_t len)
{
	if (sp->line == 0)
		return ("");
	snprintf(buf, len, "service \"%s\": ", sp->name);
	return (buf);
}

/* What needs several health keys of a service at once. */
int
check_health(struct parse *ps, struct svcspec *sp)
{
	struct cfgfile	*cf = &ps->cf;
	const struct hcconf *hc = &sp->hc;
	unsigned	 errors = cf->errors, eof = cf->line;
	unsigned	 l;

	/* The line to blame: the block's own, or the default's. */
#define HLINE(k)	(sp->seen[k] ? sp->seen[k] : ps->spec[0].seen[k])
#define OWNLINE(k)	(sp->seen[k])
	if (hc->type != HC_NONE && hc->timeout_ms > hc->interval_ms) {
		l = HLINE(K_CHECK_TIMEOUT);
		cf->line = l ? l : HLINE(K_CHECK_INTERVAL);
		cfg_error(cf, "check_timeout (%u ms) is longer than "
		    "check_interval (%u ms)", hc->timeout_ms, hc->interval_ms);
	}
	if (hc->type != HC_HTTP) {
		static const enum key httpkeys[] = { K_CHECK_PATH, K_CHECK_HOST,
		    K_CHECK_STATUS, K_CHECK_BODY };
		size_t	 i;

		for (i = 0; i < sizeof(httpkeys) / sizeof(httpkeys[0]); i++)
			if ((l = OWNLINE(httpkeys[i])) != 0) {
				cf->line = l;
				cfg_error(cf, "%s is for \"check = http\", but "
				    "the check is %s",
				    config_key_name(httpkeys[i]),
				    hc_type_name(hc->type));
			}
	}
	if (hc->type == HC_ICMP && (l = OWNLINE(K_CHECK_PORT)) != 0) {
		cf->line = l;
		cfg_error(cf, "check_port: ICMP echo has no port");
	}
#undef HLINE
#undef OWNLINE
	cf->line = eof;
	return (cf->errors == errors ? 0 : -1);
}

/*
 * The bitmask method takes its servers as one network, "10.0.1.0/29", and
 * every address of it is a server (pf does the same: the client's host
 * bits are grafted onto the network).  Anything else is an error.
 */
static int
expand_bitmask(struct parse *ps, struct svcspec *sp)
{
	struct cfgfile	*cf = &ps->cf;
	const struct sched_method *m = sp->opts.method != NULL ?
			    sp->opts.method : ps->dflt.method;
	int		 bitmask = m != NULL && sched_takes_network(m);
	struct srvspec	 net, *s;
	unsigned	 i, n;
	uint32_t	 low;

	for (i = 0; i < sp->nsrv; i++)
		if (sp->srv[i].prefix != 0)
			break;
	if (i == sp->nsrv) {
		if (bitmask) {
			cf->line = sp->seen[K_SERVERS];
			cfg_error(cf, "servers: the bitmask method needs a "
			    "network, as \"servers = 10.0.1.0/29\"");
			return (-1);
		}
		return (0);
	}
	cf->line = sp->srv[i].line;
	if (!bitmask) {
		cfg_error(cf, "servers: a network is only for "
		    "\"balancingmode = bitmask\"");
		return (-1);
	}
	if (sp->nsrv != 1) {
		cfg_error(cf, "servers: the bitmask method takes one network "
		    "and nothing else");
		return (-1);
	}
	net = sp->srv[0];
	if (bitmask_network(cf, &net) == -1)
		return (-1);
	n = 1u << ((net.family == 4 ? 32 : 128) - net.prefix);
	low = ntohl(net.addr.w[net.family == 4 ? 0 : 3]);
	if (n > sp->srvcap) {
		if ((s = reallocarray(sp->srv, n, sizeof(*s))) == NULL) {
			cfg_error(cf, "out of memory");
			return (-1);
		}
		sp->srv = s;
		sp->srvcap = n;
	}
	for (i = 0; i < n; i++) {
		s = &sp->srv[i];
		*s = net;
		s->prefix = 0;
		s->addr.w[net.family == 4 ? 0 : 3] = htonl(low | i);
	}
	sp->nsrv = n;
	return (0);
}

/* Whether a bitmask network is one, and small enough; 0 or -1. */
static int
bitmask_network(struct cfgfile *cf, const struct srvspec *net)
{
	unsigned	 maxpfx = net->family == 4 ? 32 : 128;
	uint32_t	 low, mask;

	if (net->prefix > maxpfx ||
	    maxpfx - net->prefix > BITMASK_MAXHOSTBITS) {
		cfg_error(cf, "servers: a bitmask network has %u to %u bits of "
		    "prefix (at most %d servers)", maxpfx - BITMASK_MAXHOSTBITS,
		    maxpfx, 1 << BITMASK_MAXHOSTBITS);
		return (-1);
	}
	mask = (1u << (maxpfx - net->prefix)) - 1;
	low = ntohl(net->addr.w[net->family == 4 ? 0 : 3]);
	if (low & mask) {
		cfg_error(cf, "servers: %s/%u is not a network: host bits are "
		    "set", addr_ntop(net->family, &net->addr,
		    (char [ADDR_STRLEN]){ 0 }, ADDR_STRLEN), net->prefix);
		return (-1);
	}
	return (0);
}

/* A block's address, ports and servers; the implicit one's at the end. */
static int
check_required(struct parse *ps, struct svcspec *sp)
{
	struct cfgfile	*cf = &ps->cf;
	char		 nb[SVC_LABELLEN + 16];
	const char	*sn = spec_name(sp, nb, sizeof(nb));
	unsigned	 errors = cf->errors;

	if (sp->line == 0) {
		if (sp->vipfamily == 0)
			cfg_error(cf, "end of file: no virtual address: set "
			    "\"ipaliasing = <address>\"");
		if (sp->nports == 0)
			cfg_error(cf, "end of file: no ports: set \"ports = "
			    "<port>, ...\"");
		if (sp->nsrv == 0)
			cfg_error(cf, "end of file: no real servers: set "
			    "\"servers = <address>, ...\"");
	} else {
		cf->line = sp->line;
		if (sp->vipfamily == 0)
			cfg_error(cf, "%sno virtual address (ipaliasing)", sn);
		if (sp->nports == 0)
			cfg_error(cf, "%sno ports", sn);
		if (sp->nsrv == 0)
			cfg_error(cf, "%sno real servers", sn);
	}
	return (cf->errors == errors ? 0 : -1);
}

/* A block's servers against its address and against each other. */
static void
check_servers(struct parse *ps, struct svcspec *sp)
{
	struct cfgfile	*cf = &ps->cf;
	char		 a[ADDR_STRLEN];
	unsigned	 i, j;
	int		 explicit_port = 0;

	for (i = 0; i < sp->nsrv; i++) {
		struct srvspec *s = &sp->srv[i];
		uint16_t	 port = s->port;

		/* "10.0.1.11" and "10.0.1.11:80" are one server on port 80. */
		if (port == 0 && sp->nports == 1)
			port = sp->ports[0];

		cf->line = s->line;
		addr_ntop(s->family, &s->addr, a, sizeof(a));
		if (s->family != sp->vipfamily)
			cfg_error(cf, "servers: %s is IPv%d but the virtual "
			    "address is IPv%d", a, s->family, sp->vipfamily);
		if (s->port != 0)
			explicit_port = 1;
		for (j = 0; j < i; j++)
			if (addr_eq(&sp->srv[j].addr, &s->addr) &&
			    (sp->srv[j].port ? sp->srv[j].port :
			    (sp->nports == 1 ? sp->ports[0] : 0)) == port &&
			    sp->srv[j].family == s->family)
				cfg_error(cf, "servers: duplicate server %s "
				    "(first on line %u)", a, sp->srv[j].line);
	}
	if (explicit_port && sp->nports > 1) {
		cf->line = sp->seen[K_SERVERS];
		cfg_error(cf, "servers: a server port (address:port) needs "
		    "exactly one balanced port, but ports lists %u",
		    sp->nports);
	}
}

/* Checks one service block on its own. */
int
check_spec(struct parse *ps, struct svcspec *sp)
{
	struct cfgfile	*cf = &ps->cf;
	unsigned	 errors = cf->errors, eof = cf->line;

	if (check_required(ps, sp) == 0 && check_health(ps, sp) == 0 &&
	    expand_bitmask(ps, sp) == 0)
		check_servers(ps, sp);
	cf->line = eof;
	return (cf->errors == errors ? 0 : -1);
}

/*
 * offload = yes: loadd sees a connection's first packets only (the rules
 * queue what conntrack calls NEW), the kernel the rest.  What needs more
 * than the first packets cannot work, and says so: passive health (the
 * servers' answers), resetting a dead server's connections (their
 * sequence numbers), and the methods that measure answer times or
 * traffic.
 */
void
check_offload(struct parse *ps, const struct svcspec *sp,
    const struct service *svc, struct hcconf *hc)
{
	struct cfgfile	*cf = &ps->cf;
	unsigned	 line = sp->line ? sp->line : cf->line;

	if (hc->passive && (sp->seen[K_PASSIVE] ||
	    ps->spec[0].seen[K_PASSIVE])) {
		cf->line = sp->seen[K_PASSIVE] ? sp->seen[K_PASSIVE] :
		    ps->spec[0].seen[K_PASSIVE];
		cfg_error(cf, "passive: with offload = yes loadd never sees "
		    "the servers' answers; say passive = no (active checks "
		    "still run)");
	}
	hc->passive = 0;
	if (hc->down_flows == HC_RESET) {
		cf->line = sp->seen[K_DOWN_FLOWS] ? sp->seen[K_DOWN_FLOWS] :
		    ps->spec[0].seen[K_DOWN_FLOWS];
		cfg_error(cf, "down_flows = reset: with offload = yes the "
		    "kernel carries established connections and loadd knows "
		    "no sequence numbers to reset them with");
	}
	if (sched_measures_replies(svc->method)) {
		cf->line = sp->seen[K_BALANCINGMODE] ?
		    sp->seen[K_BALANCINGMODE] :
		    ps->spec[0].seen[K_BALANCINGMODE] ?
		    ps->spec[0].seen[K_BALANCINGMODE] : line;
		cfg_error(cf, "service %s: method %s measures what only the "
		    "kernel sees with offload = yes (answer times, traffic)",
		    svc->name, svc->method->name);
	}
}

/*
 * Across services: a virtual address, port and protocol is one service; a
 * server address, port and protocol belongs to one service (its replies
 * are rewritten by that mapping alone); no server is a virtual address.
 * What has no line of its own is blamed on eof.
 */
void
check_pool(struct parse *ps, unsigned eof)
{
	check_services_apart(ps, eof);
	check_servers_apart(ps);
	ps->cf.line = eof;
}

static void
check_services_apart(struct parse *ps, unsigned eof)
{
	struct pool	*pool = &ps->conf->pool;
	struct cfgfile	*cf = &ps->cf;
	struct service	*svc;
	unsigned	 i, j;

	for (i = 0; i < pool->nsvc; i++) {
		svc = &pool->svc[i];
		for (j = 0; j < i; j++)
			if (pool->svc[j].proto == svc->proto &&
			    pool->svc[j].port == svc->port &&
			    pool->svc[j].family == svc->family &&
			    addr_eq(&pool->svc[j].vip, &svc->vip)) {
				cf->line = svc->specline ? svc->specline : eof;
				cfg_error(cf, "%s is balanced twice (services "
				    "\"%s\" and \"%s\")", svc->name,
				    pool->svc[j].label, svc->label);
				break;
			}
	}
}

static void
check_servers_apart(struct parse *ps)
{
	struct pool	*pool = &ps->conf->pool;
	struct cfgfile	*cf = &ps->cf;
	const struct server *srv, *o;
	const struct service *svc;
	unsigned	 i, j;

	for (i = 0; i < pool->nsrv; i++) {
		srv = &pool->srv[i];
		svc = &pool->svc[srv->svc];
		for (j = 0; j < pool->nsvc; j++)
			if (pool->svc[j].family == srv->family &&
			    addr_eq(&pool->svc[j].vip, &srv->addr)) {
				cf->line = srv->line;
				cfg_error(cf, "servers: %s is a virtual address",
				    srv->name);
				break;
			}
		for (j = 0; j < i; j++) {
			o = &pool->srv[j];
			if (o->svc != srv->svc && o->port == srv->port &&
			    o->family == srv->family &&
			    pool->svc[o->svc].proto == svc->proto &&
			    addr_eq(&o->addr, &srv->addr)) {
				cf->line = srv->line;
				cfg_error(cf, "servers: %s/%s already serves "
				    "%s (line %u): its replies could not be "
				    "told apart", srv->name, svc->proto ==
				    PROTO_TCP ? "tcp" : "udp",
				    pool->svc[o->svc].name, o->line);
				break;
			}
		}
	}
}

/* Agent reports: loadd takes no report it cannot authenticate. */
int
check_agent(struct parse *ps)
{
	struct config	*conf = ps->conf;
	struct cfgfile	*cf = &ps->cf;
	unsigned	 eof = cf->line;

	if (conf->keyfile[0] != '\0' || (!ps->seen[K_REPORTPORT] &&
	    !ps->seen[K_REPORTADDRESS]))
		return (0);
	cf->line = ps->seen[K_REPORTPORT] ? ps->seen[K_REPORTPORT] :
	    ps->seen[K_REPORTADDRESS];
	cfg_error(cf, "agent reports need \"keyfile = PATH\": loadd takes no "
	    "report it cannot authenticate");
	cf->line = eof;
	return (-1);
}

/*
 * offload = bpf: the interfaces are the operator's to name (the program
 * sits on what clients' and servers' packets arrive on; guessing from
 * routes would miss a bridge's ports), and only a Linux loadd built with
 * the fast path has it.  The offload_* keys without it are mistakes.
 */
int
check_fastpath(struct parse *ps)
{
	struct config	*conf = ps->conf;
	struct cfgfile	*cf = &ps->cf;
	unsigned	 eof = cf->line;
	int		 rc = 0;

	if (!conf->fastpath) {
		if (ps->seen[K_OFFLOAD_IFS] || ps->seen[K_OFFLOAD_MAXFLOWS] ||
		    ps->seen[K_OFFLOAD_PIN]) {
			cf->line = ps->seen[K_OFFLOAD_IFS] ?
			    ps->seen[K_OFFLOAD_IFS] :
			    ps->seen[K_OFFLOAD_MAXFLOWS] ?
			    ps->seen[K_OFFLOAD_MAXFLOWS] : ps->seen[K_OFFLOAD_PIN];
			cfg_error(cf, "offload_interfaces, offload_maxflows and "
			    "offload_pin are for offload = bpf");
			rc = -1;
		}
		cf->line = eof;
		return (rc);
	}
	cf->line = ps->seen[K_OFFLOAD];
#if !defined(__linux__)
	cfg_error(cf, "offload = bpf needs Linux (a tc eBPF program); on this "
	    "system use offload = no");
	rc = -1;
#elif !defined(LOADD_FASTPATH)
	cfg_error(cf, "offload = bpf: this loadd was built without the eBPF "
	    "fast path (it needs libbpf, bpftool and clang's BPF target at "
	    "build time, and no FASTPATH=no)");
	rc = -1;
#endif
	if (rc == 0 && (strrchr(conf->fp_pin, '/') == conf->fp_pin ||
	    conf->fp_pin[strlen(conf->fp_pin) - 1] == '/')) {
		cf->line = ps->seen[K_OFFLOAD_PIN];
		cfg_error(cf, "offload_pin: a directory in a bpffs, such as "
		    "%s", LOADD_FP_PIN);
		rc = -1;
	}
	cf->line = ps->seen[K_OFFLOAD];
	if (rc == 0 && conf->fp_nifs == 0) {
		cfg_error(cf, "offload = bpf needs \"offload_interfaces = "
		    "IF, ...\": the interfaces packets arrive on from the "
		    "clients and from the servers (a bridge's ports, not the "
		    "bridge)");
		rc = -1;
	}
	cf->line = eof;
	return (rc);
}
