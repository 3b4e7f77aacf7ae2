/*
 * The kernel settings loadd's packets depend on, checked at start and by
 * "loadd -n".  A wrong one fails silently -- the packets are dropped, and
 * nothing is logged -- so each gets one line saying what to do.
 *
 * Linux: forwarding for each family in use.  In NFQUEUE mode loadd gives
 * a server's IPv4 reply the virtual address as its source before the
 * kernel routes it, so the checks the kernel makes on a source address
 * apply to the rewritten reply where it came in (the interface of the
 * route to the server): reverse-path filtering, strict (1) always and
 * loose (2) when this host has no route to the virtual address, and the
 * martian check on a local source, when the virtual address is also an
 * address of this host, unless accept_local is on.  The kernel takes the
 * larger of conf.all and conf.IFACE for rp_filter, and either for
 * accept_local.  With offload = yes conntrack gives the reply its source
 * after routing, and IPv6 makes none of these checks: only forwarding
 * matters there.
 *
 * /proc/sys is read in loadd's network namespace and before the privilege
 * split: the packet process runs chrooted where /proc is not.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "sysctl_check.h"

#if defined(__linux__) && !defined(DIVERT_EMULATION)
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include <libmnl/libmnl.h>

#define IFACES_MAX	32

struct route {
	int		 type;		/* RTN_UNICAST, RTN_LOCAL, ... */
	unsigned	 oif;		/* 0 if none */
};

static int	 sysctl_int(const char *);
static int	 iface_int(const char *, const char *);
static int	 route_get(struct mnl_socket *, const union addr *,
		    struct route *);
static int	 route_msg(const struct nlmsghdr *, void *);
static int	 route_attr(const struct nlattr *, void *);
static int	 check_forwarding(const struct config *,
		    void (*)(const char *, ...));
static struct mnl_socket *rtnl_open(void (*)(const char *, ...));
static unsigned	 server_ifaces(struct mnl_socket *, const struct pool *,
		    unsigned *);
static int	 check_vips(struct mnl_socket *, const struct pool *,
		    const char *, int,
		    void (*)(const char *, ...));
static int	 check_replypath(const struct config *,
		    void (*)(const char *, ...));

/* The integer in a /proc/sys file, or -1 if it cannot be read. */
static int
sysctl_int(const char *path)
{
	FILE	*fp;
	int	 v;

	if ((fp = fopen(path, "r")) == NULL)
		return (-1);
	if (fscanf(fp, "%d", &v) != 1)
		v = -1;
	fclose(fp);
	return (v);
}

static int
iface_int(const char *ifname, const char *what)
{
	char	 path[128];

	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/%s",
	    ifname, what);
	return (sysctl_int(path));
}

/* The route's outgoing interface, from the answer's attributes. */
static int
route_attr(const struct nlattr *attr, void *arg)
{
	struct route	*rt = arg;

	if (mnl_attr_get_type(attr) == RTA_OIF &&
	    mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
		rt->oif = mnl_attr_get_u32(attr);
	return (MNL_CB_OK);
}

/* The answer: the route (an error answer is libmnl's, errno set). */
static int
route_msg(const struct nlmsghdr *nh, void *arg)
{
	const struct rtmsg	*rm = mnl_nlmsg_get_payload(nh);
	struct route		*rt = arg;

	if (nh->nlmsg_type != RTM_NEWROUTE ||
	    mnl_nlmsg_get_payload_len(nh) < sizeof(*rm))
		return (MNL_CB_ERROR);
	rt->type = rm->rtm_type;
	rt->oif = 0;
	return (mnl_attr_parse(nh, sizeof(*rm), route_attr, rt));
}

/*
 * Asks the kernel how it would route to an IPv4 address ("ip route get"):
 * 0 and the route, or -1 if there is none (or the question failed).
 */
static int
route_get(struct mnl_socket *nl, const union addr *a, struct route *rt)
{
	union {
		struct nlmsghdr	 nh;
		uint8_t		 b[8192];
	} buf;
	struct nlmsghdr	*nh;
	struct rtmsg	*rm;
	ssize_t		 n;
	static uint32_t	 seq;

	nh = mnl_nlmsg_put_header(buf.b);
	nh->nlmsg_type = RTM_GETROUTE;
	nh->nlmsg_flags = NLM_F_REQUEST;
	nh->nlmsg_seq = ++seq;
	rm = mnl_nlmsg_put_extra_header(nh, sizeof(*rm));
	rm->rtm_family = AF_INET;
	rm->rtm_dst_len = 32;
	mnl_attr_put(nh, RTA_DST, 4, &a->w[0]);
	if (mnl_socket_sendto(nl, nh, nh->nlmsg_len) == -1)
		return (-1);
	do {
		n = mnl_socket_recvfrom(nl, buf.b, sizeof(buf));
	} while (n == -1 && errno == EINTR);
	if (n <= 0 || mnl_cb_run(buf.b, (size_t)n, seq,
	    mnl_socket_get_portid(nl), route_msg, rt) == MNL_CB_ERROR)
		return (-1);
	return (0);
}

static int
check_forwarding(const struct config *conf, void (*say)(const char *, ...))
{
	unsigned	 i;
	int		 have4 = 0, have6 = 0, n = 0;

	for (i = 0; i < conf->pool.nsvc; i++) {
		if (conf->pool.svc[i].family == 6)
			have6 = 1;
		else
			have4 = 1;
	}
	if (have4 && sysctl_int("/proc/sys/net/ipv4/ip_forward") == 0) {
		say("net.ipv4.ip_forward = 0: this host does not forward the "
		    "rewritten packets; sysctl -w net.ipv4.ip_forward=1 "
		    "(loadd -R prints it)");
		n++;
	}
	if (have6 &&
	    sysctl_int("/proc/sys/net/ipv6/conf/all/forwarding") == 0) {
		say("net.ipv6.conf.all.forwarding = 0: this host does not "
		    "forward the rewritten packets; sysctl -w "
		    "net.ipv6.conf.all.forwarding=1 (loadd -R prints it)");
		n++;
	}
	return (n);
}

/* A route netlink socket to ask with, or NULL (said). */
static struct mnl_socket *
rtnl_open(void (*say)(const char *, ...))
{
	struct mnl_socket	*nl;
	struct timeval		 tv = { 1, 0 };

	if ((nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC)) == NULL ||
	    mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) == -1) {
		say("cannot ask the routing table (%s): reverse-path "
		    "filtering and local virtual addresses not checked",
		    strerror(errno));
		if (nl != NULL)
			mnl_socket_close(nl);
		return (NULL);
	}
	(void)setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &tv,
	    sizeof(tv));
	return (nl);
}

/* The interfaces the servers' replies come in on (IPv4): how many. */
static unsigned
server_ifaces(struct mnl_socket *nl, const struct pool *pool, unsigned *ifs)
{
	struct route	 rt;
	unsigned	 i, j, nifs = 0;

	for (i = 0; i < pool->nsrv; i++) {
		if (pool->srv[i].family != 4 ||
		    route_get(nl, &pool->srv[i].addr, &rt) == -1 ||
		    rt.oif == 0)
			continue;
		for (j = 0; j < nifs && ifs[j] != rt.oif; j++)
			;
		if (j == nifs && nifs < IFACES_MAX)
			ifs[nifs++] = rt.oif;
	}
	return (nifs);
}

/* The virtual addresses, as replies coming in on ifname see them. */
static int
check_vips(struct mnl_socket *nl, const struct pool *pool, const char *ifname,
    int rpf,
    void (*say)(const char *, ...))
{
	const struct service	*svc;
	struct route		 rt;
	char			 a[ADDR_STRLEN];
	unsigned		 i;
	int			 n = 0, local, vrt;

	local = sysctl_int("/proc/sys/net/ipv4/conf/all/accept_local") == 1 ||
	    iface_int(ifname, "accept_local") == 1;
	for (i = 0; i < pool->nsvc; i++) {
		svc = &pool->svc[i];
		if (svc->family != 4)
			continue;
		vrt = route_get(nl, &svc->vip, &rt);
		addr_ntop(4, &svc->vip, a, sizeof(a));
		if (vrt == 0 && rt.type == RTN_LOCAL && !local) {
			say("%s: virtual address %s is an address of this "
			    "host: the kernel drops the servers' replies "
			    "rewritten to come from it (a local source); "
			    "sysctl -w net/ipv4/conf/%s/accept_local=1 "
			    "(loadd -R sets it)", ifname, a, ifname);
			n++;
		} else if (rpf == 2 && (vrt == -1 ||
		    (rt.type != RTN_UNICAST && rt.type != RTN_LOCAL))) {
			say("%s: loose reverse-path filtering drops the "
			    "servers' replies from %s: this host has no route "
			    "to it; add one (a default route will do)", ifname,
			    a);
			n++;
		}
	}
	return (n);
}

static int
check_replypath(const struct config *conf, void (*say)(const char *, ...))
{
	unsigned	 ifs[IFACES_MAX], nifs, j;
	char		 ifname[IF_NAMESIZE];
	struct mnl_socket *nl;
	int		 n = 0, all, fwd, own, rpf;

	if ((nl = rtnl_open(say)) == NULL)
		return (0);
	nifs = server_ifaces(nl, &conf->pool, ifs);
	all = sysctl_int("/proc/sys/net/ipv4/conf/all/rp_filter");
	fwd = sysctl_int("/proc/sys/net/ipv4/ip_forward");
	for (j = 0; j < nifs; j++) {
		if (if_indextoname(ifs[j], ifname) == NULL)
			continue;
		/* ip_forward = 0 is said once, above. */
		if (fwd == 1 && iface_int(ifname, "forwarding") == 0) {
			say("%s: net.ipv4.conf.%s.forwarding = 0: the servers' "
			    "replies that come in there are not forwarded; "
			    "sysctl -w net/ipv4/conf/%s/forwarding=1", ifname,
			    ifname, ifname);
			n++;
		}
		own = iface_int(ifname, "rp_filter");
		rpf = own > all ? own : all;
		if (rpf == 1) {
			say("%s: strict reverse-path filtering (rp_filter: all "
			    "%d, %s %d; the larger applies) drops the servers' "
			    "replies once loadd gives them the virtual address "
			    "as source; sysctl -w net/ipv4/conf/%s/rp_filter=2 "
			    "(loadd -R sets it)", ifname, all, ifname, own,
			    ifname);
			n++;
		}
		n += check_vips(nl, &conf->pool, ifname, rpf, say);
	}
	mnl_socket_close(nl);
	return (n);
}

int
sysctl_check(const struct config *conf, void (*say)(const char *, ...))
{
	int	 n;

	if (sysctl_int("/proc/sys/net/ipv4/ip_forward") == -1) {
		say("cannot read /proc/sys/net/ipv4/ip_forward: kernel "
		    "settings not checked");
		return (0);
	}
	n = check_forwarding(conf, say);
	if (!conf->offload)
		n += check_replypath(conf, say);
	return (n);
}

#elif defined(__FreeBSD__)
#include <sys/sysctl.h>

int
sysctl_check(const struct config *conf, void (*say)(const char *, ...))
{
	size_t	 len;
	int	 v, n = 0;

	(void)conf;
	len = sizeof(v);
	if (sysctlbyname("net.inet.ip.forwarding", &v, &len, NULL, 0) == 0 &&
	    v == 0) {
		say("net.inet.ip.forwarding = 0: this host does not forward "
		    "the rewritten packets; sysctl net.inet.ip.forwarding=1 "
		    "(loadd -R prints it)");
		n++;
	}
	/* Without it, reassembled datagrams skip the divert rule. */
	len = sizeof(v);
	if (sysctlbyname("net.inet.ip.fw.one_pass", &v, &len, NULL, 0) == 0 &&
	    v != 0) {
		say("net.inet.ip.fw.one_pass = %d: a datagram the reass rule "
		    "puts together leaves ipfw without reaching loadd; "
		    "sysctl net.inet.ip.fw.one_pass=0 (loadd -R prints it)",
		    v);
		n++;
	}
	return (n);
}

#else

/*
 * The divert emulation on Linux (tests/divert/) plays the kernel itself:
 * there are no settings of its to check.
 */
int
sysctl_check(const struct config *conf, void (*say)(const char *, ...))
{
	(void)conf;
	(void)say;
	return (0);
}

#endif
