/*
 * The Linux backend: an NFQUEUE through libmnl and libnetfilter_queue.
 *
 * Packets come in with recvmmsg(2), up to PKTIO_BATCH per system call.
 * Verdicts go out coalesced into one netlink buffer and one sendto(2) per
 * batch: a verdict that carries a rewritten payload cannot use the kernel's
 * batch-verdict message, but the kernel reads any number of ordinary
 * verdict messages from one buffer.
 *
 * Checksums: NFQA_CFG_F_GSO is not requested, so the kernel segments GSO
 * packets and completes partial checksums before queueing; the engine can
 * update checksums incrementally.  Should a packet still arrive flagged
 * NFQA_SKB_CSUMNOTREADY, the engine computes its transport checksum in
 * full, because after a payload change the kernel takes it as final.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#include "log.h"
#include "pktio.h"

#define RXBUFSZ		(65536 + 4096)	/* one queued packet and its headers */
#define RCVBUF		(8 * 1024 * 1024)
#define SNDBUF		(4 * 1024 * 1024)
#define TXLIMIT		(512 * 1024)
#define NFQ_PROCFILE	"/proc/net/netfilter/nfnetlink_queue"

struct nfqio {
	struct mnl_socket	*nl;
	uint32_t		 portid;
	uint8_t			*rx;		/* PKTIO_BATCH * RXBUFSZ */
	struct mmsghdr		 msgs[PKTIO_BATCH];
	struct iovec		 iov[PKTIO_BATCH];
	uint8_t			*tx;		/* txlimit + a packet */
	size_t			 txlimit;
	struct mnl_nlmsg_batch	*batch;
	time_t			 lastwarn;
	int			 raw4, raw6;	/* to send made-up packets */
	int			 procfd;	/* the kernel's queue counters */
};

static int	 nfqio_open(struct pktio *);
static int	 nfqio_recv(struct pktio *, struct pktbuf *, unsigned);
static int	 nfqio_send(struct pktio *, struct pktbuf *, unsigned);
static void	 nfqio_close(struct pktio *);
static int	 nfqio_inject(struct pktio *, const uint8_t *, uint32_t, int);
static int	 nfqio_config(struct nfqio *, unsigned, uint8_t, uint32_t,
		    uint32_t, uint32_t);
static int	 nfqio_flush(struct pktio *, struct mnl_nlmsg_batch *);
static int	 queue_bind(struct pktio *, struct nfqio *);
static int	 queue_buffers(struct nfqio *, int);
static void	 nfqio_refresh(struct pktio *);

const struct pktio_ops pktio_nfq_ops = {
	"nfq", nfqio_open, nfqio_recv, nfqio_send, nfqio_close, nfqio_inject,
	nfqio_refresh
};

/*
 * Sends one configuration message and waits for the kernel's answer, so
 * that "queue already taken" or "no permission" is reported at start-up.
 */
static int
nfqio_config(struct nfqio *q, unsigned queue, uint8_t cmd, uint32_t flags,
    uint32_t mask, uint32_t maxlen)
{
	char			 buf[8192];
	struct nlmsghdr		*nlh;
	static uint32_t		 seq;
	ssize_t			 n;

	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, (int)queue);
	nlh->nlmsg_flags |= NLM_F_ACK;
	nlh->nlmsg_seq = ++seq;
	if (cmd != 0)
		nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, cmd);
	else {
		nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, 0xffff);
		mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(flags));
		mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(mask));
		nfq_nlmsg_cfg_put_qmaxlen(nlh, maxlen);
	}
	if (mnl_socket_sendto(q->nl, nlh, nlh->nlmsg_len) < 0)
		return (-1);
	n = mnl_socket_recvfrom(q->nl, buf, sizeof(buf));
	if (n < 0)
		return (-1);
	return (mnl_cb_run(buf, (size_t)n, seq, q->portid, NULL, NULL) < 0 ?
	    -1 : 0);
}

/* The netlink socket, bound to the queue and configured. */
static int
queue_bind(struct pktio *io, struct nfqio *q)
{
	uint32_t	 flags;

	if ((q->nl = mnl_socket_open(NETLINK_NETFILTER)) == NULL) {
		log_warn("nfq: netlink socket");
		return (-1);
	}
	if (mnl_socket_bind(q->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		log_warn("nfq: netlink bind");
		return (-1);
	}
	q->portid = mnl_socket_get_portid(q->nl);
	io->fd = mnl_socket_get_fd(q->nl);
	if (nfqio_config(q, io->queue, NFQNL_CFG_CMD_BIND, 0, 0, 0) == -1) {
		/* The kernel says EPERM for a queue bound by another. */
		if (errno == EPERM || errno == EBUSY)
			log_warnx("nfq: cannot bind queue %u: another program "
			    "(another loadd?) holds it, or loadd lacks "
			    "CAP_NET_ADMIN; -p chooses another queue",
			    io->queue);
		else
			log_warn("nfq: binding queue %u", io->queue);
		return (-1);
	}
	flags = io->failopen ? NFQA_CFG_F_FAIL_OPEN : 0;
	if (nfqio_config(q, io->queue, 0, flags,
	    NFQA_CFG_F_FAIL_OPEN | NFQA_CFG_F_GSO, io->queue_maxlen) == -1) {
		log_warn("nfq: configuring queue %u", io->queue);
		return (-1);
	}
	return (0);
}

/* Socket buffers for bursts, and the verdict batch that fits them. */
static int
queue_buffers(struct nfqio *q, int fd)
{
	socklen_t	 sl;
	int		 sz, i;

	/* Room for bursts: the kernel drops what does not fit. */
	sz = RCVBUF;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) == -1)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	sz = SNDBUF;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) == -1)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	sl = sizeof(sz);
	if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, &sl) == -1)
		sz = 212992;
	/*
	 * One sendto must fit the send buffer; the last message of a batch
	 * may run past the limit by one packet.
	 */
	q->txlimit = TXLIMIT;
	if ((size_t)sz < q->txlimit + 2 * RXBUFSZ)
		q->txlimit = (size_t)sz > 3 * RXBUFSZ ?
		    (size_t)sz - 2 * RXBUFSZ : RXBUFSZ / 2;
	if ((q->tx = malloc(q->txlimit + 2 * RXBUFSZ)) == NULL ||
	    (q->batch = mnl_nlmsg_batch_start(q->tx, q->txlimit)) == NULL) {
		log_warnx("nfq: out of memory");
		return (-1);
	}
	for (i = 0; i < PKTIO_BATCH; i++) {
		q->iov[i].iov_base = q->rx + (size_t)i * RXBUFSZ;
		q->iov[i].iov_len = RXBUFSZ;
		q->msgs[i].msg_hdr.msg_iov = &q->iov[i];
		q->msgs[i].msg_hdr.msg_iovlen = 1;
	}
	return (0);
}

static int
nfqio_open(struct pktio *io)
{
	struct nfqio	*q;

	if ((q = calloc(1, sizeof(*q))) == NULL ||
	    (q->rx = malloc((size_t)PKTIO_BATCH * RXBUFSZ)) == NULL) {
		free(q);
		log_warnx("nfq: out of memory");
		return (-1);
	}
	io->priv = q;
	q->procfd = -1;
	/*
	 * Raw sockets for the packets loadd makes up (resets of a down
	 * server's flows, ICMP unreachables); IPPROTO_RAW means the header
	 * is ours.  Without them those packets are counted as errors.
	 */
	q->raw4 = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	q->raw6 = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (q->raw4 == -1 || q->raw6 == -1)
		log_warn("nfq: raw socket: loadd cannot send resets of "
		    "its own");
	if (queue_bind(io, q) == -1 || queue_buffers(q, io->fd) == -1)
		return (-1);
	/* Opened now: the packet process may open nothing later. */
	if ((q->procfd = open(NFQ_PROCFILE, O_RDONLY | O_CLOEXEC)) == -1)
		log_warn("nfq: %s: the queue's own drops are not counted",
		    NFQ_PROCFILE);
	log_info("nfq: queue %u bound, fail-open %s, queue length %u",
	    io->queue, io->failopen ? "on" : "off", io->queue_maxlen);
	return (0);
}

/* One queued packet's message into *pb: 1, or 0 (not a packet; counted). */
static inline int
take_packet(struct pktio *io, const struct nlmsghdr *nlh, struct pktbuf *pb)
{
	struct nlattr		*attr[NFQA_MAX + 1];
	struct nfqnl_msg_packet_hdr *ph;
	uint32_t		 skbinfo, caplen;

	if (nlh->nlmsg_type == NLMSG_ERROR) {
		/* A verdict the kernel refused. */
		io->st.errors++;
		return (0);
	}
	if (NFNL_MSG_TYPE(nlh->nlmsg_type) != NFQNL_MSG_PACKET)
		return (0);
	memset(attr, 0, sizeof(attr));
	if (nfq_nlmsg_parse(nlh, attr) < 0 || attr[NFQA_PACKET_HDR] == NULL ||
	    mnl_attr_get_payload_len(attr[NFQA_PACKET_HDR]) < sizeof(*ph)) {
		io->st.errors++;
		return (0);
	}
	ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
	memset(pb, 0, sizeof(*pb));
	pb->id = ntohl(ph->packet_id);
	if (attr[NFQA_PAYLOAD] != NULL) {
		pb->data = mnl_attr_get_payload(attr[NFQA_PAYLOAD]);
		pb->len = mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]);
	}
	if (attr[NFQA_CAP_LEN] != NULL) {
		caplen = ntohl(mnl_attr_get_u32(attr[NFQA_CAP_LEN]));
		if (caplen != pb->len)
			pb->flags |= PB_TRUNCATED;
	}
	if (attr[NFQA_SKB_INFO] != NULL) {
		skbinfo = ntohl(mnl_attr_get_u32(attr[NFQA_SKB_INFO]));
		if (skbinfo & NFQA_SKB_CSUMNOTREADY)
			pb->flags |= PB_CSUM_PARTIAL;
	}
	return (1);
}

static int
nfqio_recv(struct pktio *io, struct pktbuf *pb, unsigned max)
{
	struct nfqio		*q = io->priv;
	const struct nlmsghdr	*nlh;
	struct pktbuf		 spare;
	unsigned		 n = 0, i;
	int			 got, len;

	if (max > PKTIO_BATCH)
		max = PKTIO_BATCH;
	got = recvmmsg(io->fd, q->msgs, max, MSG_DONTWAIT, NULL);
	if (got == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return (0);
		if (errno == ENOBUFS) {
			/* The kernel dropped packets: the buffer was full. */
			io->st.overruns++;
			return (0);
		}
		log_warn("nfq: recvmmsg");
		return (-1);
	}
	for (i = 0; i < (unsigned)got; i++) {
		len = (int)q->msgs[i].msg_len;
		/* (a length above 2^31 would pass mnl_nlmsg_ok) */
		for (nlh = q->iov[i].iov_base; mnl_nlmsg_ok(nlh, len) &&
		    nlh->nlmsg_len <= (unsigned)len;
		    nlh = mnl_nlmsg_next(nlh, &len)) {
			if (n < max) {
				n += (unsigned)take_packet(io, nlh, &pb[n]);
				continue;
			}
			/* More than one packet per datagram: unusual. */
			if (take_packet(io, nlh, &spare))
				io->st.errors++;
		}
	}
	io->st.recv += n;
	return ((int)n);
}

static int
nfqio_flush(struct pktio *io, struct mnl_nlmsg_batch *b)
{
	struct nfqio	*q = io->priv;
	time_t		 t;

	if (mnl_socket_sendto(q->nl, mnl_nlmsg_batch_head(b),
	    mnl_nlmsg_batch_size(b)) < 0) {
		io->st.errors++;
		t = time(NULL);
		if (t != q->lastwarn) {
			log_warn("nfq: sending verdicts");
			q->lastwarn = t;
		}
		return (-1);
	}
	return (0);
}

static int
nfqio_send(struct pktio *io, struct pktbuf *pb, unsigned n)
{
	struct nfqio		*q = io->priv;
	struct mnl_nlmsg_batch	*b = q->batch;
	struct nlmsghdr		*nlh;
	unsigned		 i;
	int			 rc = 0;

	for (i = 0; i < n; i++) {
		nlh = nfq_nlmsg_put(mnl_nlmsg_batch_current(b),
		    NFQNL_MSG_VERDICT, (int)io->queue);
		nfq_nlmsg_verdict_put(nlh, (int)pb[i].id,
		    pb[i].verdict == V_DROP ? NF_DROP : NF_ACCEPT);
		/* offload: the mark picks the kernel's DNAT rule. */
		if (pb[i].mark != 0)
			nfq_nlmsg_verdict_put_mark(nlh, pb[i].mark);
		if (pb[i].verdict == V_REWRITTEN)
			nfq_nlmsg_verdict_put_pkt(nlh, pb[i].data, pb[i].len);
		io->st.sent++;
		if (!mnl_nlmsg_batch_next(b)) {
			if (nfqio_flush(io, b) == -1)
				rc = -1;
			mnl_nlmsg_batch_reset(b);
		}
	}
	if (!mnl_nlmsg_batch_is_empty(b) && nfqio_flush(io, b) == -1)
		rc = -1;
	mnl_nlmsg_batch_reset(b);
	return (rc);
}

int
nfq_proc_counts(const char *text, unsigned queue, uint64_t *dropped,
    uint64_t *udropped)
{
	const char	*l;
	unsigned	 num;
	uint64_t	 d, u;

	for (l = text; l != NULL && *l != '\0'; l = strchr(l, '\n'),
	    l = l != NULL ? l + 1 : NULL)
		if (sscanf(l, "%u %*u %*u %*u %*u %" SCNu64 " %" SCNu64, &num,
		    &d, &u) == 3 && num == queue) {
			*dropped = d;
			*udropped = u;
			return (0);
		}
	return (-1);
}

/*
 * The kernel's counters of loadd's queue, one line per queue in
 * /proc/net/netfilter/nfnetlink_queue: number, portid, waiting, copy
 * mode, copy range, dropped (the queue was full), user-dropped (netlink
 * could not deliver), the last id, 1.  Read once a second.
 */
static void
nfqio_refresh(struct pktio *io)
{
	struct nfqio	*q = io->priv;
	char		 buf[4096];
	ssize_t		 n;

	if (q == NULL || q->procfd == -1)
		return;
	if ((n = pread(q->procfd, buf, sizeof(buf) - 1, 0)) <= 0)
		return;
	buf[n] = '\0';
	(void)nfq_proc_counts(buf, io->queue, &io->st.qdropped,
	    &io->st.udropped);
}

static void
nfqio_close(struct pktio *io)
{
	struct nfqio	*q = io->priv;

	if (q == NULL)
		return;
	if (q->nl != NULL) {
		/* Unbinding makes the kernel drop what still waits. */
		(void)nfqio_config(q, io->queue, NFQNL_CFG_CMD_UNBIND, 0, 0,
		    0);
		mnl_socket_close(q->nl);
	}
	if (q->batch != NULL)
		mnl_nlmsg_batch_stop(q->batch);
	if (q->raw4 != -1)
		close(q->raw4);
	if (q->raw6 != -1)
		close(q->raw6);
	if (q->procfd != -1)
		close(q->procfd);
	free(q->rx);
	free(q->tx);
	free(q);
	io->priv = NULL;
	io->fd = -1;
}

static int
nfqio_inject(struct pktio *io, const uint8_t *pkt, uint32_t len, int family)
{
	struct nfqio		*q = io->priv;
	struct sockaddr_in	 sin;
	struct sockaddr_in6	 sin6;
	ssize_t			 r;

	if (family == 4 && len >= 20 && q->raw4 != -1) {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		memcpy(&sin.sin_addr, pkt + 16, 4);
		r = sendto(q->raw4, pkt, len, 0, (struct sockaddr *)&sin,
		    sizeof(sin));
	} else if (family == 6 && len >= 40 && q->raw6 != -1) {
		memset(&sin6, 0, sizeof(sin6));
		sin6.sin6_family = AF_INET6;
		memcpy(&sin6.sin6_addr, pkt + 24, 16);
		r = sendto(q->raw6, pkt, len, 0, (struct sockaddr *)&sin6,
		    sizeof(sin6));
	} else
		r = -1;
	if (r == -1) {
		io->st.errors++;
		return (-1);
	}
	io->st.injected++;
	return (0);
}
