/*
 * offload = yes: what conntrack says of the connections loadd handed
 * over.  loadd sees only the first packet of each conntrack entry; the
 * kernel carries the rest and multicasts (ctnetlink) an event when it
 * confirms an entry and another when it forgets it.  Those carrying
 * loadd's mark (the nat rules copy the packet's mark to the entry) give
 * the entry's id, then end loadd's flow: least-connection counts stay
 * true, and the connection's packets and bytes (nf_conntrack_acct) reach
 * its server's counters.
 *
 * Every event is parsed as untrusted input; what does not parse is
 * counted and skipped.  A full socket buffer loses events (counted);
 * loadd then asks conntrack for the entries it still has and sweeps
 * from its table the offloaded flows that are not among them (their
 * ends were lost), at most once every CTEV_DUMP_GAP seconds.  A flow whose
 * "new" event never comes (the kernel dropped the marked first packet,
 * or the event was lost) stays pending, with the transitory timeout.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include "config.h"
#include "ctevents.h"
#include "log.h"
#include "pkt.h"

#define CTEV_RCVBUF	(4 * 1024 * 1024)
#define CTEV_DUMP_GAP	10	/* seconds between two dumps, at least */
#define CTEV_DUMP_MAX	30	/* a dump not done by then is given up */

struct ctev {
	struct mnl_socket	*nl;
	uint32_t		 seq;		/* of the last dump asked for */
	int			 dumping;	/* its answer is coming in */
	int			 dump_lost;	/* some of it was lost */
	int			 want_dump;	/* events were lost */
	uint32_t		 dump_at;	/* when it was asked for */
	uint8_t			 buf[65536];
};

/* Not const: libmnl's iterating macros cast it away. */
static int	 ctev_tuple(struct nlattr *, struct ct_end *);
static int	 tuple_ip(struct nlattr *, struct ct_end *, int *, int *);
static int	 tuple_proto(struct nlattr *, struct ct_end *, int *, int *);
static void	 ctev_counters(struct nlattr *, uint64_t *, uint64_t *);

/*
 * mnl_nlmsg_ok() casts the message's length to int: a length above 2^31
 * passes it, and mnl_nlmsg_next() then walks backwards for ever.  And the
 * attributes are read up to the aligned length.
 */
int
ctev_msg_ok(const struct nlmsghdr *nlh, int len)
{
	return (mnl_nlmsg_ok(nlh, len) && nlh->nlmsg_len <= (unsigned)len &&
	    MNL_ALIGN(nlh->nlmsg_len) <= (unsigned)len);
}

struct ctev *
ctev_open(void)
{
	struct ctev	*c;
	int		 sz = CTEV_RCVBUF, fd;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return (NULL);
	if ((c->nl = mnl_socket_open(NETLINK_NETFILTER)) == NULL ||
	    mnl_socket_bind(c->nl, NF_NETLINK_CONNTRACK_NEW |
	    NF_NETLINK_CONNTRACK_DESTROY, MNL_SOCKET_AUTOPID) < 0) {
		log_warn("offload: conntrack events");
		ctev_close(c);
		return (NULL);
	}
	fd = mnl_socket_get_fd(c->nl);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) == -1)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	return (c);
}

int
ctev_fd(const struct ctev *c)
{
	return (mnl_socket_get_fd(c->nl));
}

void
ctev_close(struct ctev *c)
{
	if (c == NULL)
		return;
	if (c->nl != NULL)
		mnl_socket_close(c->nl);
	free(c);
}

/*
 * Asks conntrack for every entry with loadd's mark (a dump, filtered in
 * the kernel): after a restart, loadd learns again the connections it
 * handed over before, so that least connections counts them and their
 * ends are heard.  The answers come in with the events.
 */
int
ctev_dump(struct ctev *c, struct engine *e, uint32_t now)
{
	uint8_t		 buf[256];
	struct nlmsghdr	*nlh;
	struct nfgenmsg	*nfg;

	if (c->dumping)		/* one at a time: the sweep needs all of it */
		return (0);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_GET;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = ++c->seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = AF_UNSPEC;
	nfg->version = NFNETLINK_V0;
	mnl_attr_put_u32(nlh, CTA_MARK, htonl(OFFLOAD_MARK_TAG));
	mnl_attr_put_u32(nlh, CTA_MARK_MASK, htonl(OFFLOAD_MARK_MASK));
	if (mnl_socket_sendto(c->nl, nlh, nlh->nlmsg_len) < 0) {
		log_warn("offload: asking conntrack for its entries");
		c->dump_at = now;	/* asked again after the gap, not at once */
		return (-1);
	}
	engine_ct_sweep_begin(e);
	c->dumping = 1;
	c->dump_lost = 0;
	c->want_dump = 0;
	c->dump_at = now;
	return (0);
}

/* The dump's end: the flows it did not list are swept, if it is whole. */
static void
ctev_dump_done(struct ctev *c, struct engine *e, int whole)
{
	unsigned	 n;

	c->dumping = 0;
	n = engine_ct_sweep_end(e, whole && !c->dump_lost);
	if (n > 0)
		log_info("offload: %u flows ended while their conntrack "
		    "events were lost; swept", n);
	if (!whole || c->dump_lost)
		c->want_dump = 1;	/* again, when the gap allows */
}

/*
 * Between reads: a dump that was wanted, once the gap since the last one
 * allows; a dump whose end never came is given up (nothing swept).
 */
void
ctev_tick(struct ctev *c, struct engine *e, uint32_t now)
{
	if (c->dumping && now - c->dump_at > CTEV_DUMP_MAX) {
		log_warnx("offload: conntrack's list did not end; asking again");
		c->dump_lost = 1;
		ctev_dump_done(c, e, 0);
	}
	if (c->want_dump && !c->dumping && now - c->dump_at >= CTEV_DUMP_GAP)
		(void)ctev_dump(c, e, now);
}

/*
 * Reads what is waiting: every event is a datagram of its own, and each
 * new connection makes two, so up to CTEV_BUDGET per call.  After a loss
 * conntrack is asked for its entries again (ctev_tick): the flows whose
 * "new" event was lost learn their ids, and those whose end was lost are
 * swept when the list is complete.
 */
#define CTEV_BUDGET	8192

void
ctev_read(struct ctev *c, struct engine *e, uint32_t now)
{
	struct ct_end		 ce;
	const struct nlmsghdr	*nlh;
	const struct nlmsgerr	*err;
	ssize_t			 n;
	int			 loops, len, rc, lost = 0;

	for (loops = 0; loops < CTEV_BUDGET; loops++) {
		n = recv(mnl_socket_get_fd(c->nl), c->buf, sizeof(c->buf),
		    MSG_DONTWAIT);
		if (n == -1) {
			if (errno == ENOBUFS) {
				e->st.ct_lost++;
				lost = 1;
				if (c->dumping)
					c->dump_lost = 1;
				continue;
			}
			if (errno != EAGAIN && errno != EINTR)
				log_warn("offload: reading conntrack events");
			break;
		}
		len = (int)n;
		for (nlh = (const struct nlmsghdr *)c->buf;
		    ctev_msg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
			if (nlh->nlmsg_type == NLMSG_DONE) {
				if (c->dumping && nlh->nlmsg_seq == c->seq)
					ctev_dump_done(c, e, !(nlh->nlmsg_flags &
					    NLM_F_DUMP_INTR));
				continue;
			}
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				/* The dump refused: nothing is taken back. */
				err = mnl_nlmsg_get_payload(nlh);
				if (nlh->nlmsg_len >= MNL_NLMSG_HDRLEN +
				    sizeof(*err) && err->error != 0) {
					e->st.ct_bad++;
					log_warnx("offload: conntrack refused "
					    "to list its entries: %s",
					    strerror(-err->error));
					if (c->dumping)
						ctev_dump_done(c, e, 0);
				}
				continue;
			}
			rc = ctev_parse(nlh, &ce);
			if (rc == -1)
				e->st.ct_bad++;
			else if (rc == 1)
				(void)engine_offload_event(e, &ce, now);
		}
	}
	if (lost)
		c->want_dump = 1;
	ctev_tick(c, e, now);
}

/*
 * One netlink message: 1 and ce filled if it is a new or destroyed entry
 * with loadd's mark, 0 if it is something else, -1 if it does not parse.
 */
int
ctev_parse(const struct nlmsghdr *nlh, struct ct_end *ce)
{
	const struct nfgenmsg	*nfg;
	struct nlattr		*a;
	int			 tuple = 0;
	uint32_t		 mark = 0;

	if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof(*nfg))
		return (-1);
	if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_CTNETLINK ||
	    (NFNL_MSG_TYPE(nlh->nlmsg_type) != IPCTNL_MSG_CT_DELETE &&
	    NFNL_MSG_TYPE(nlh->nlmsg_type) != IPCTNL_MSG_CT_NEW))
		return (0);
	nfg = mnl_nlmsg_get_payload(nlh);
	memset(ce, 0, sizeof(*ce));
	ce->destroyed = NFNL_MSG_TYPE(nlh->nlmsg_type) == IPCTNL_MSG_CT_DELETE;
	if (nfg->nfgen_family == AF_INET)
		ce->family = 4;
	else if (nfg->nfgen_family == AF_INET6)
		ce->family = 6;
	else
		return (0);
	mnl_attr_for_each(a, nlh, sizeof(*nfg)) {
		switch (mnl_attr_get_type(a)) {
		case CTA_TUPLE_ORIG:
			tuple = mnl_attr_validate(a, MNL_TYPE_NESTED) == -1 ||
			    ctev_tuple(a, ce) == -1 ? -1 : 1;
			break;
		case CTA_ID:
			if (mnl_attr_validate(a, MNL_TYPE_U32) == -1)
				return (-1);
			ce->ctid = ntohl(mnl_attr_get_u32(a));
			break;
		case CTA_MARK:
			if (mnl_attr_validate(a, MNL_TYPE_U32) == -1)
				return (-1);
			mark = ntohl(mnl_attr_get_u32(a));
			break;
		case CTA_COUNTERS_ORIG:
			if (mnl_attr_validate(a, MNL_TYPE_NESTED) == -1)
				return (-1);
			ctev_counters(a, &ce->pkts[0], &ce->bytes[0]);
			break;
		case CTA_COUNTERS_REPLY:
			if (mnl_attr_validate(a, MNL_TYPE_NESTED) == -1)
				return (-1);
			ctev_counters(a, &ce->pkts[1], &ce->bytes[1]);
			break;
		default:
			break;
		}
	}
	/* Not loadd's (other protocols, other connections): not looked at. */
	if ((mark & OFFLOAD_MARK_MASK) != OFFLOAD_MARK_TAG)
		return (0);
	ce->mark = mark;
	return (tuple == 1 ? 1 : -1);
}

/* A tuple's addresses: 1 for each of source and destination found. */
static int
tuple_ip(struct nlattr *a, struct ct_end *ce, int *src, int *dst)
{
	struct nlattr	*b;
	size_t		 alen = ce->family == 4 ? 4 : 16;

	mnl_attr_for_each_nested(b, a) {
		switch (mnl_attr_get_type(b)) {
		case CTA_IP_V4_SRC:
		case CTA_IP_V6_SRC:
			if (mnl_attr_get_payload_len(b) != alen)
				return (-1);
			memcpy(ce->client.b, mnl_attr_get_payload(b), alen);
			*src = 1;
			break;
		case CTA_IP_V4_DST:
		case CTA_IP_V6_DST:
			if (mnl_attr_get_payload_len(b) != alen)
				return (-1);
			memcpy(ce->vip.b, mnl_attr_get_payload(b), alen);
			*dst = 1;
			break;
		}
	}
	return (0);
}

/* A tuple's protocol and ports. */
static int
tuple_proto(struct nlattr *a, struct ct_end *ce, int *sport, int *dport)
{
	struct nlattr	*b;

	mnl_attr_for_each_nested(b, a) {
		switch (mnl_attr_get_type(b)) {
		case CTA_PROTO_NUM:
			if (mnl_attr_validate(b, MNL_TYPE_U8) == -1)
				return (-1);
			ce->proto = mnl_attr_get_u8(b);
			break;
		case CTA_PROTO_SRC_PORT:
			if (mnl_attr_validate(b, MNL_TYPE_U16) == -1)
				return (-1);
			ce->cport = mnl_attr_get_u16(b);
			*sport = 1;
			break;
		case CTA_PROTO_DST_PORT:
			if (mnl_attr_validate(b, MNL_TYPE_U16) == -1)
				return (-1);
			ce->vport = mnl_attr_get_u16(b);
			*dport = 1;
			break;
		}
	}
	return (0);
}

/* The original direction: client -> virtual address. */
static int
ctev_tuple(struct nlattr *tuple, struct ct_end *ce)
{
	struct nlattr	*a;
	int		 src = 0, dst = 0, sport = 0, dport = 0;

	mnl_attr_for_each_nested(a, tuple) {
		/* Others (a zone, say) are not looked at. */
		if ((mnl_attr_get_type(a) == CTA_TUPLE_IP ||
		    mnl_attr_get_type(a) == CTA_TUPLE_PROTO) &&
		    mnl_attr_validate(a, MNL_TYPE_NESTED) == -1)
			return (-1);
		if ((mnl_attr_get_type(a) == CTA_TUPLE_IP &&
		    tuple_ip(a, ce, &src, &dst) == -1) ||
		    (mnl_attr_get_type(a) == CTA_TUPLE_PROTO &&
		    tuple_proto(a, ce, &sport, &dport) == -1))
			return (-1);
	}
	if (!src || !dst || !sport || !dport ||
	    (ce->proto != PROTO_TCP && ce->proto != PROTO_UDP))
		return (-1);
	return (0);
}

static void
ctev_counters(struct nlattr *nest, uint64_t *pkts, uint64_t *bytes)
{
	struct nlattr		*a;

	mnl_attr_for_each_nested(a, nest) {
		if (mnl_attr_validate(a, MNL_TYPE_U64) == -1)
			continue;
		if (mnl_attr_get_type(a) == CTA_COUNTERS_PACKETS)
			*pkts = be64toh(mnl_attr_get_u64(a));
		else if (mnl_attr_get_type(a) == CTA_COUNTERS_BYTES)
			*bytes = be64toh(mnl_attr_get_u64(a));
	}
}
