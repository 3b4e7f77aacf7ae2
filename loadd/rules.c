/*
 * loadd -R: the firewall rules a configuration needs, as shell commands
 * an operator can read and pipe into sh.
 *
 * Linux (offload = no): everything sits in the raw table's PREROUTING,
 * in a chain of its own so that it can be removed in one go.  The raw table runs before
 * connection tracking and before the routing decision: the rewritten
 * packet is then routed to its new destination, and conntrack never sees
 * one flow as two halves because the balanced traffic is not tracked.
 * NFQUEUE ends the chain for a packet, so the notrack rule comes first.
 *
 * ICMP errors about balanced flows must pass loadd too (RFC 5508): those
 * from the real servers, and those this host makes itself when it
 * forwards a rewritten packet (fragmentation needed, say), which leave
 * through OUTPUT.
 *
 * Fragments: loadd must see whole datagrams, or a rewritten first
 * fragment travels without its followers.  The kernel reassembles in
 * PREROUTING before the raw table (nf_defrag_ipv4/ipv6, priority -400)
 * only while something in the namespace asks it to; conntrack does, but
 * "CT --notrack" keeps conntrack off.  The socket match asks for
 * defragmentation and nothing else, so one such rule, in a chain that
 * nothing jumps to, turns reassembly on at no cost per packet.  The
 * kernel fragments the rewritten datagram again on the way out.
 */
#include <stdio.h>

#include "config.h"
#include "pkt.h"
#include "rules.h"


/*
 * Rules go once per address: whether service i is the first of family
 * fam with its virtual address, and server i the first with its address.
 */
static int
first_vip(const struct pool *pool, unsigned i, int fam)
{
	unsigned	 j;

	if (pool->svc[i].family != fam)
		return (0);
	for (j = 0; j < i; j++)
		if (pool->svc[j].family == fam &&
		    addr_eq(&pool->svc[j].vip, &pool->svc[i].vip))
			return (0);
	return (1);
}

static int
first_srv_addr(const struct pool *pool, unsigned i, int fam)
{
	unsigned	 j;

	if (pool->srv[i].family != fam)
		return (0);
	for (j = 0; j < i; j++)
		if (pool->srv[j].family == fam &&
		    addr_eq(&pool->srv[j].addr, &pool->srv[i].addr))
			return (0);
	return (1);
}

static const char *
protoname(uint8_t proto)
{
	return (proto == PROTO_UDP ? "udp" : "tcp");
}

static void	 print_vips(FILE *, const struct config *, int, const char *);
static void	 print_servers(FILE *, const struct config *, int,
		    const char *);
static void	 print_out(FILE *, const struct config *, int, const char *);
static void	 print_family(FILE *, const struct config *, int);
static void	 print_offload(FILE *, const struct config *, int);
static void	 print_fastpath_removal(FILE *, const struct config *);
static void	 print_replypath(FILE *, const struct config *);
static void	 print_flat(FILE *, const struct config *, int);
static void	 ipfw_vips(FILE *, const struct config *, unsigned, int);
static void	 ipfw_servers(FILE *, const struct config *, unsigned, int);

void
rules_print_iptables(FILE *fp, const struct config *conf)
{
	const struct pool	*pool = &conf->pool;
	unsigned		 i;
	int			 have4 = 0, have6 = 0;

	for (i = 0; i < pool->nsvc; i++) {
		if (pool->svc[i].family == 6)
			have6 = 1;
		else
			have4 = 1;
	}
	fprintf(fp, "# loadd: firewall rules for %s, queue %d%s\n",
	    conf->path, conf->queue, conf->offload ? ", offload" : "");
	if (have4)
		(conf->offload ? print_offload : print_family)(fp, conf, 4);
	if (have6)
		(conf->offload ? print_offload : print_family)(fp, conf, 6);
	if (conf->fastpath)
		print_fastpath_removal(fp, conf);
}

/*
 * offload = bpf needs no rule: loadd loads and attaches its program
 * itself, and leaves it, its filters and its pins when it stops, on
 * purpose (established flows keep flowing while it restarts).  What
 * removes them is printed as comments, each "# remove: " line a command
 * (the systemd unit's ExecStopPost runs them).
 */
static void
print_fastpath_removal(FILE *fp, const struct config *conf)
{
	unsigned	 i;

	fprintf(fp, "# offload = bpf: the tc program, its filters and its pins "
	    "outlive loadd\n# (established flows keep flowing while it "
	    "restarts); what removes them:\n");
	for (i = 0; i < conf->fp_nifs; i++)
		fprintf(fp, "# remove: tc filter del dev %s ingress handle "
		    "0x10ad prio 0x10ad bpf\n", conf->fp_ifs[i]);
	fprintf(fp, "# remove: rm -rf %s\n", conf->fp_pin);
}

/*
 * offload = yes: conntrack tracks the balanced traffic, and only the
 * first packet of each conntrack entry (NEW and not yet confirmed: a
 * connection's SYN, a UDP flow's first datagram) goes to loadd, from the
 * mangle table (after conntrack, before NAT).  loadd's verdict marks the
 * packet with its server's mark; in the nat table the mark is copied to
 * the conntrack entry (so that its events say it is loadd's) and the
 * DNAT rule for it rewrites the packet, and conntrack every later packet
 * of the connection both ways, and the ICMP errors about it (RFC 5508),
 * in the kernel.  The marks depend only on what each server
 * is, so the rules stay right across reloads; a reload that adds servers
 * needs them applied again (running them again is harmless).
 */
static void
print_offload(FILE *fp, const struct config *conf, int fam)
{
	const struct pool	*pool = &conf->pool;
	const struct service	*svc;
	const struct server	*srv;
	char			 a[ADDR_STRLEN], chain[32];
	const char		*ipt, *fwd;
	unsigned		 i;

	snprintf(chain, sizeof(chain), "loadd-%d", conf->queue);
	ipt = fam == 6 ? "ip6tables" : "iptables";
	fwd = fam == 6 ? "net.ipv6.conf.all.forwarding" :
	    "net.ipv4.ip_forward";
	fprintf(fp, "# remove with: %s -t mangle -D PREROUTING -j %s; "
	    "%s -t nat -D PREROUTING -j %s; %s -t mangle -F %s; "
	    "%s -t mangle -X %s; %s -t nat -F %s; %s -t nat -X %s\n",
	    ipt, chain, ipt, chain, ipt, chain, ipt, chain, ipt, chain, ipt,
	    chain);
	fprintf(fp, "sysctl -qw %s=1\n", fwd);
	print_flat(fp, conf, fam);
	/* Each connection's packets and bytes, for loadd's counters. */
	fprintf(fp, "sysctl -qw net.netfilter.nf_conntrack_acct=1\n");
	fprintf(fp, "%s-restore --noflush <<'EOF'\n*mangle\n:%s - [0:0]\n",
	    ipt, chain);
	for (i = 0; i < pool->nsvc; i++) {
		svc = &pool->svc[i];
		if (svc->family != fam)
			continue;
		addr_ntop(svc->family, &svc->vip, a, sizeof(a));
		fprintf(fp, "-A %s -d %s -p %s --dport %u -m conntrack "
		    "--ctstate NEW ! --ctstatus CONFIRMED -j NFQUEUE "
		    "--queue-num %d\n", chain, a, protoname(svc->proto),
		    svc->port, conf->queue);
	}
	fprintf(fp, "COMMIT\n*nat\n:%s - [0:0]\n", chain);
	fprintf(fp, "-A %s -m mark --mark 0x%08x/0x%08x -j CONNMARK "
	    "--save-mark\n", chain, OFFLOAD_MARK_TAG, OFFLOAD_MARK_MASK);
	for (i = 0; i < pool->nsrv; i++) {
		srv = &pool->srv[i];
		svc = &pool->svc[srv->svc];
		if (srv->family != fam || srv->ghost)
			continue;
		addr_ntop(srv->family, &srv->addr, a, sizeof(a));
		fprintf(fp, "-A %s -m mark --mark 0x%08x -p %s -j DNAT "
		    "--to-destination %s%s%s:%u\n", chain, srv->mark,
		    protoname(svc->proto), fam == 6 ? "[" : "", a,
		    fam == 6 ? "]" : "", srv->port);
	}
	fprintf(fp, "COMMIT\nEOF\n");
	fprintf(fp, "%s -t mangle -C PREROUTING -j %s 2>/dev/null || "
	    "%s -t mangle -I PREROUTING -j %s\n", ipt, chain, ipt, chain);
	fprintf(fp, "%s -t nat -C PREROUTING -j %s 2>/dev/null || "
	    "%s -t nat -I PREROUTING -j %s\n", ipt, chain, ipt, chain);
}

/*
 * NFQUEUE mode, IPv4: loadd gives a server's reply the virtual address as
 * its source before the kernel routes it, so the reply meets the checks
 * the kernel makes on a packet's source where it came in (the interface
 * of the route to the server).  Strict reverse-path filtering drops it,
 * since the way back to the virtual address is not through that
 * interface; loose filtering (2) passes it while any route to the
 * virtual address exists.  The kernel applies max(conf.all, conf.IFACE),
 * so the interface gets 2 when either says 1.  And while the virtual
 * address is also an address of this host (an alias, as the original's
 * users set it, or a VRRP address that comes and goes), the reply has a
 * local source: a martian, unless accept_local is on.  It is set always,
 * because such an address may appear after the rules are applied.
 * Offload needs neither: conntrack gives the reply its source after the
 * routing decision.  IPv6 has no such checks.
 */
static void
print_replypath(FILE *fp, const struct config *conf)
{
	const struct pool	*pool = &conf->pool;
	const struct server	*srv;
	char			 a[ADDR_STRLEN];
	unsigned		 i;

	fprintf(fp, "# The interfaces the servers' replies come in on: "
	    "accept_local, and loose\n# reverse-path filtering where it "
	    "was strict (see loadd(8), KERNEL SETTINGS).\n"
	    "# Each change is reported with the command that undoes it.\n"
	    "for dev in $(for a in");
	for (i = 0; i < pool->nsrv; i++) {
		srv = &pool->srv[i];
		if (!first_srv_addr(pool, i, 4))
			continue;
		fprintf(fp, " %s", addr_ntop(4, &srv->addr, a, sizeof(a)));
	}
	fprintf(fp, "; do ip -4 -o route get \"$a\"; done |\n"
	    "    sed -n 's/.* dev \\([^ ]*\\).*/\\1/p' | sort -u); do\n"
	    "\tc=net/ipv4/conf/$dev\n"
	    "\tif [ \"$(sysctl -n \"$c/accept_local\")\" != 1 ]; then\n"
	    "\t\tsysctl -qw \"$c/accept_local=1\"\n"
	    "\t\techo \"loadd: $c/accept_local=1 (undo: sysctl -w "
	    "$c/accept_local=0)\" >&2\n"
	    "\tfi\n"
	    "\tr=$(sysctl -n \"$c/rp_filter\")\n"
	    "\tif [ \"$r\" = 1 ] || { [ \"$r\" = 0 ] &&\n"
	    "\t    [ \"$(sysctl -n net.ipv4.conf.all.rp_filter)\" = 1 ]; }; "
	    "then\n"
	    "\t\tsysctl -qw \"$c/rp_filter=2\"\n"
	    "\t\techo \"loadd: $c/rp_filter=2, loose (undo: sysctl -w "
	    "$c/rp_filter=$r)\" >&2\n"
	    "\tfi\n"
	    "done\n");
}

/*
 * A flat network: the clients on this host's link, and no router that
 * sends them the virtual address.  Someone must answer ARP (neighbour
 * discovery) for it on the client side, and loadd cannot know which
 * interface that is: a comment says how.  Linux answers a proxy ARP entry
 * only for an address routed out of another interface than the one the
 * question came in on; the route to the servers' side carries nothing,
 * since loadd rewrites the packets before the routing decision.
 */
static void
print_flat(FILE *fp, const struct config *conf, int fam)
{
	const struct pool	*pool = &conf->pool;
	const struct service	*svc;
	char			 a[ADDR_STRLEN];
	unsigned		 i;

	fprintf(fp, "# A flat network (clients on this host's link, CIF; "
	    "the servers' side SIF)\n# needs an answer to %s for the "
	    "virtual address on CIF:\n", fam == 6 ?
	    "neighbour solicitations" : "ARP");
	for (i = 0; i < pool->nsvc; i++) {
		svc = &pool->svc[i];
		if (!first_vip(pool, i, fam))
			continue;
		addr_ntop(fam, &svc->vip, a, sizeof(a));
		if (fam == 6)
			fprintf(fp, "#   proxy: sysctl -qw net/ipv6/conf/CIF/"
			    "proxy_ndp=1; ip -6 neigh replace proxy %s dev "
			    "CIF\n#   or an alias: ip addr add %s/128 dev CIF\n",
			    a, a);
		else
			fprintf(fp, "#   proxy: ip neigh replace proxy %s dev "
			    "CIF; ip route replace %s/32 dev SIF\n"
			    "#   or an alias: ip addr add %s/32 dev CIF%s\n",
			    a, a, a, conf->offload ? "" :
			    " (accept_local above makes it work)");
	}
}

/* Everything addressed to a virtual address is loadd's. */
static void
print_vips(FILE *fp, const struct config *conf, int fam, const char *chain)
{
	const struct pool	*pool = &conf->pool;
	char			 a[ADDR_STRLEN];
	unsigned		 i;

	for (i = 0; i < pool->nsvc; i++) {
		if (!first_vip(pool, i, fam))
			continue;
		addr_ntop(pool->svc[i].family, &pool->svc[i].vip, a,
		    sizeof(a));
		fprintf(fp, "-A %s -d %s -j CT --notrack\n", chain, a);
		fprintf(fp, "-A %s -d %s -j NFQUEUE --queue-num %d\n", chain, a,
		    conf->queue);
	}
}

/*
 * What real servers send through this host: replies from each one's
 * service port, and ICMP errors from each address (once per address).
 * What they send this host itself (answers to health probes, agent
 * reports) is not loadd's.
 */
static void
print_servers(FILE *fp, const struct config *conf, int fam,
    const char *chain)
{
	const struct pool	*pool = &conf->pool;
	const struct server	*srv;
	const char		*proto;
	char			 a[ADDR_STRLEN];
	unsigned		 i;

	fprintf(fp, "-A %s -m addrtype --dst-type LOCAL -j RETURN\n", chain);
	for (i = 0; i < pool->nsrv; i++) {
		srv = &pool->srv[i];
		if (srv->family != fam)
			continue;
		proto = protoname(pool->svc[srv->svc].proto);
		addr_ntop(srv->family, &srv->addr, a, sizeof(a));
		fprintf(fp, "-A %s -s %s -p %s --sport %u -j CT --notrack\n",
		    chain, a, proto, srv->port);
		fprintf(fp, "-A %s -s %s -p %s --sport %u -j NFQUEUE "
		    "--queue-num %d\n", chain, a, proto, srv->port,
		    conf->queue);
	}
	proto = fam == 6 ? "icmpv6" : "icmp";
	for (i = 0; i < pool->nsrv; i++) {
		srv = &pool->srv[i];
		if (!first_srv_addr(pool, i, fam))
			continue;
		addr_ntop(srv->family, &srv->addr, a, sizeof(a));
		fprintf(fp, "-A %s -s %s -p %s -j CT --notrack\n", chain, a,
		    proto);
		fprintf(fp, "-A %s -s %s -p %s -j NFQUEUE --queue-num %d\n",
		    chain, a, proto, conf->queue);
	}
}

/*
 * ICMP errors this host makes about forwarded packets; not those about
 * its own (to its probes, say), which stay here.
 */
static void
print_out(FILE *fp, const struct config *conf, int fam, const char *chain)
{
	static const char *const err4[] = { "destination-unreachable",
	    "time-exceeded", "parameter-problem" };
	static const char *const err6[] = { "destination-unreachable",
	    "packet-too-big", "time-exceeded", "parameter-problem" };
	unsigned	 i;

	fprintf(fp, "-A %s-out -m addrtype --dst-type LOCAL -j RETURN\n",
	    chain);
	if (fam == 6)
		for (i = 0; i < sizeof(err6) / sizeof(err6[0]); i++)
			fprintf(fp, "-A %s-out -p icmpv6 --icmpv6-type %s "
			    "-j NFQUEUE --queue-num %d\n", chain, err6[i],
			    conf->queue);
	else
		for (i = 0; i < sizeof(err4) / sizeof(err4[0]); i++)
			fprintf(fp, "-A %s-out -p icmp --icmp-type %s "
			    "-j NFQUEUE --queue-num %d\n", chain, err4[i],
			    conf->queue);
}

/* The rules for the services of one address family. */
static void
print_family(FILE *fp, const struct config *conf, int fam)
{
	char		 chain[32];
	const char	*ipt, *fwd;

	snprintf(chain, sizeof(chain), "loadd-%d", conf->queue);
	ipt = fam == 6 ? "ip6tables" : "iptables";
	fwd = fam == 6 ? "net.ipv6.conf.all.forwarding" :
	    "net.ipv4.ip_forward";

	fprintf(fp, "# remove with: %s -t raw -D PREROUTING -j %s; "
	    "%s -t raw -D OUTPUT -j %s-out; %s -t raw -F %s; "
	    "%s -t raw -X %s; %s -t raw -F %s-out; %s -t raw -X %s-out; "
	    "%s -t raw -F %s-defrag; %s -t raw -X %s-defrag\n",
	    ipt, chain, ipt, chain, ipt, chain, ipt, chain, ipt, chain, ipt,
	    chain, ipt, chain, ipt, chain);
	fprintf(fp, "sysctl -qw %s=1\n", fwd);
	if (fam == 4)
		print_replypath(fp, conf);
	print_flat(fp, conf, fam);
	/*
	 * The chains are filled in one iptables-restore transaction, so that
	 * running the rules again never leaves a moment in which balanced
	 * traffic passes untranslated; the jumps to them come last.
	 */
	fprintf(fp, "%s-restore --noflush <<'EOF'\n*raw\n", ipt);
	fprintf(fp, ":%s - [0:0]\n:%s-out - [0:0]\n:%s-defrag - [0:0]\n",
	    chain, chain, chain);
	/* Never reached: it is there to turn reassembly on (see above). */
	fprintf(fp, "-A %s-defrag -m socket -j RETURN\n", chain);
	print_vips(fp, conf, fam, chain);
	print_servers(fp, conf, fam, chain);
	print_out(fp, conf, fam, chain);
	fprintf(fp, "COMMIT\nEOF\n");
	fprintf(fp, "%s -t raw -C PREROUTING -j %s 2>/dev/null || "
	    "%s -t raw -I PREROUTING -j %s\n", ipt, chain, ipt, chain);
	fprintf(fp, "%s -t raw -C OUTPUT -j %s-out 2>/dev/null || "
	    "%s -t raw -I OUTPUT -j %s-out\n", ipt, chain, ipt, chain);
}

/* ipfw: each IPv4 virtual address's datagrams, reassembled, to loadd. */
static void
ipfw_vips(FILE *fp, const struct config *conf, unsigned rule, int set)
{
	const struct pool	*pool = &conf->pool;
	const struct service	*svc;
	char			 a[ADDR_STRLEN];
	unsigned		 i;

	for (i = 0; i < pool->nsvc; i++) {
		svc = &pool->svc[i];
		if (svc->family != 4) {
			fprintf(fp, "# service %s %s: divert(4) carries IPv4 "
			    "only; IPv6 services need Linux and NFQUEUE\n",
			    svc->label, svc->name);
			continue;
		}
		if (!first_vip(pool, i, 4))
			continue;
		addr_ntop(4, &svc->vip, a, sizeof(a));
		fprintf(fp, "ipfw -q add %u set %d reass all from any to %s in\n",
		    rule, set, a);
		fprintf(fp, "ipfw -q add %u set %d divert %d ip from any to %s "
		    "in\n", rule + 1, set, conf->queue, a);
	}
}

/* ipfw: the servers' answers and ICMP errors, to loadd. */
static void
ipfw_servers(FILE *fp, const struct config *conf, unsigned rule, int set)
{
	const struct pool	*pool = &conf->pool;
	const struct server	*srv;
	char			 a[ADDR_STRLEN];
	unsigned		 i;

	for (i = 0; i < pool->nsrv; i++) {
		srv = &pool->srv[i];
		if (srv->family != 4)
			continue;
		addr_ntop(4, &srv->addr, a, sizeof(a));
		/* Large replies come in fragments too: once per address. */
		if (first_srv_addr(pool, i, 4))
			fprintf(fp, "ipfw -q add %u set %d reass all from %s to "
			    "not me in\n", rule + 2, set, a);
		/* Not what the servers send this host (probe answers). */
		fprintf(fp, "ipfw -q add %u set %d divert %d %s from %s %u to "
		    "not me in\n", rule + 2, set, conf->queue,
		    protoname(pool->svc[srv->svc].proto), a, srv->port);
	}
	for (i = 0; i < pool->nsrv; i++) {
		srv = &pool->srv[i];
		if (!first_srv_addr(pool, i, 4))
			continue;
		addr_ntop(4, &srv->addr, a, sizeof(a));
		fprintf(fp, "ipfw -q add %u set %d divert %d icmp from %s to "
		    "not me in icmptypes 3,4,11,12\n", rule + 3, set,
		    conf->queue, a);
	}
}

/*
 * FreeBSD: ipfw divert rules.  They are built in a staging set and swapped
 * in with "ipfw set swap", which is atomic, for the same reason the
 * iptables rules are restored in one transaction: no moment in which
 * balanced traffic passes untranslated.  divert(4) carries IPv4 only.
 */
void
rules_print_ipfw(FILE *fp, const struct config *conf)
{
	unsigned	 rule = (unsigned)conf->queue;
	int		 live = 30, staging = 31;

	if (rule == 0 || rule > 65000)
		rule = 8670;
	fprintf(fp, "# loadd: ipfw rules for %s, divert port %d, in set %d\n",
	    conf->path, conf->queue, live);
	fprintf(fp, "# remove with: ipfw -q delete set %d\n", live);
	if (conf->offload)
		fprintf(fp, "# offload = yes needs Linux (conntrack): loadd "
		    "on FreeBSD refuses it\n");
	if (conf->fastpath)
		fprintf(fp, "# offload = bpf needs Linux (tc eBPF): loadd on "
		    "FreeBSD refuses it\n");
	fprintf(fp, "sysctl net.inet.ip.forwarding=1\n");
	/*
	 * With one_pass (the default), a datagram that a reass rule has put
	 * together leaves ipfw at once and never reaches the divert rule.
	 */
	fprintf(fp, "sysctl net.inet.ip.fw.one_pass=0\n");
	fprintf(fp, "ipfw -q set disable %d\n", staging);
	fprintf(fp, "ipfw -q delete set %d\n", staging);
	ipfw_vips(fp, conf, rule, staging);
	ipfw_servers(fp, conf, rule, staging);
	fprintf(fp, "ipfw -q add %u set %d divert %d icmp from me to any out "
	    "icmptypes 3,4,11,12\n", rule + 4, staging, conf->queue);
	fprintf(fp, "ipfw -q set swap %d %d\n", live, staging);
	fprintf(fp, "ipfw -q set enable %d\n", live);
	fprintf(fp, "ipfw -q delete set %d\n", staging);
}
