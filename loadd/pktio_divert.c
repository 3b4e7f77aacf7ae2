/*
 * The FreeBSD backend: an ipfw divert(4) socket, as natd uses it.
 *
 * A diverted packet comes with a sockaddr_in: for a packet caught on the
 * way in, sin_addr is the address of the interface it arrived on; on the
 * way out it is INADDR_ANY; sin_port holds the number of the rule that
 * diverted it.  Writing the packet back with the same sockaddr reinjects
 * it where it left the kernel, after that rule.  Several packets are read
 * per wakeup with recvmmsg(2) and their addresses kept beside them.
 *
 * Checksums, by divert(4): a packet written back as incoming with a bad
 * IP header checksum is dropped, so the engine's incremental update must
 * start from a valid one, which the kernel checked on input.  A packet
 * caught on the way out may not have its IP header checksum yet; the
 * kernel computes it on reinjection, but it is recomputed here anyway so
 * that what is written is right in both directions.
 *
 * DIVERT_EMULATION builds the same code over an AF_UNIX datagram socket
 * for the tests on Linux: each datagram is the sockaddr_in followed by the
 * packet, and tests/divert/divemu.c plays the kernel's side.
 */
#include <sys/types.h>
#include <sys/socket.h>
#ifdef DIVERT_EMULATION
#include <sys/un.h>
#endif

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cksum.h"
#include "log.h"
#include "pktio.h"

#define SLOTSZ		(65535 + 64)
#define HDRSZ		((int)sizeof(struct sockaddr_in))

struct divio {
	uint8_t			*rx;		/* PKTIO_BATCH slots */
	struct sockaddr_in	 from[PKTIO_BATCH];
	struct mmsghdr		 msgs[PKTIO_BATCH];
	struct iovec		 iov[PKTIO_BATCH][2];
#ifdef DIVERT_EMULATION
	uint8_t			 hdr[PKTIO_BATCH][sizeof(struct sockaddr_in)];
	struct sockaddr_un	 peer;
#endif
};

static int	 divio_open(struct pktio *);
static int	 divert_socket(struct pktio *, struct divio *);
static int	 divio_recv(struct pktio *, struct pktbuf *, unsigned);
static int	 divio_send(struct pktio *, struct pktbuf *, unsigned);
static void	 divio_close(struct pktio *);
static int	 divio_inject(struct pktio *, const uint8_t *, uint32_t, int);

const struct pktio_ops pktio_divert_ops = {
	"divert", divio_open, divio_recv, divio_send, divio_close,
	divio_inject, NULL
};

#ifdef DIVERT_EMULATION
/* The socket of the emulated kernel, named after the divert port. */
const char *
divert_emulation_path(unsigned port, int kernel)
{
	static char	 path[108];

	snprintf(path, sizeof(path), "/tmp/loadd-divert-%u.%s", port,
	    kernel ? "kernel" : "loadd");
	return (path);
}
#endif

/* The divert socket bound to its port (emulated: a Unix socket); -1. */
static int
divert_socket(struct pktio *io, struct divio *d)
{
	int			 fd = -1;
#ifdef DIVERT_EMULATION
	struct sockaddr_un	 sun;

	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s",
	    divert_emulation_path(io->queue, 0));
	unlink(sun.sun_path);
	if (fd == -1 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		log_warn("divert (emulated): %s", sun.sun_path);
		goto fail;
	}
	d->peer.sun_family = AF_UNIX;
	snprintf(d->peer.sun_path, sizeof(d->peer.sun_path), "%s",
	    divert_emulation_path(io->queue, 1));
#else
	struct sockaddr_in	 sin;

	(void)d;
#ifdef PF_DIVERT
	/* FreeBSD 14 and later have a protocol family of their own. */
	fd = socket(PF_DIVERT, SOCK_RAW, 0);
#endif
	if (fd == -1)
		fd = socket(PF_INET, SOCK_RAW, IPPROTO_DIVERT);
	if (fd == -1) {
		log_warn("divert: socket (is ipdivert.ko loaded?)");
		goto fail;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_len = sizeof(sin);
	sin.sin_port = htons((uint16_t)io->queue);
	sin.sin_addr.s_addr = INADDR_ANY;
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		log_warn("divert: bind port %u", io->queue);
		goto fail;
	}
#endif
	return (fd);
fail:
	if (fd != -1)
		close(fd);
	return (-1);
}

static int
divio_open(struct pktio *io)
{
	struct divio		*d;
	int			 fd, sz, i;

	if ((d = calloc(1, sizeof(*d))) == NULL ||
	    (d->rx = malloc((size_t)PKTIO_BATCH * SLOTSZ)) == NULL) {
		free(d);
		log_warnx("divert: out of memory");
		return (-1);
	}
	io->priv = d;
	if ((fd = divert_socket(io, d)) == -1) {
		io->fd = -1;
		return (-1);
	}
	sz = 4 * 1024 * 1024;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	io->fd = fd;
	for (i = 0; i < PKTIO_BATCH; i++) {
#ifdef DIVERT_EMULATION
		d->iov[i][0].iov_base = d->hdr[i];
		d->iov[i][0].iov_len = HDRSZ;
		d->iov[i][1].iov_base = d->rx + (size_t)i * SLOTSZ;
		d->iov[i][1].iov_len = SLOTSZ;
		d->msgs[i].msg_hdr.msg_iovlen = 2;
#else
		d->iov[i][0].iov_base = d->rx + (size_t)i * SLOTSZ;
		d->iov[i][0].iov_len = SLOTSZ;
		d->msgs[i].msg_hdr.msg_iovlen = 1;
		d->msgs[i].msg_hdr.msg_name = &d->from[i];
#endif
		d->msgs[i].msg_hdr.msg_iov = d->iov[i];
	}
	log_info("divert: port %u bound", io->queue);
	return (0);
}

static int
divio_recv(struct pktio *io, struct pktbuf *pb, unsigned max)
{
	struct divio	*d = io->priv;
	int		 got, i, len;

	if (max > PKTIO_BATCH)
		max = PKTIO_BATCH;
	for (i = 0; i < (int)max; i++) {
		d->msgs[i].msg_hdr.msg_namelen = sizeof(d->from[i]);
		d->msgs[i].msg_hdr.msg_flags = 0;
	}
	got = recvmmsg(io->fd, d->msgs, max, MSG_DONTWAIT, NULL);
	if (got == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return (0);
		log_warn("divert: recvmmsg");
		return (-1);
	}
	for (i = 0; i < got; i++) {
		len = (int)d->msgs[i].msg_len;
		memset(&pb[i], 0, sizeof(pb[i]));
		pb[i].id = (uint32_t)i;
		pb[i].data = d->rx + (size_t)i * SLOTSZ;
#ifdef DIVERT_EMULATION
		if (len < HDRSZ) {
			/* No address: the packet cannot be put back. */
			pb[i].flags |= PB_TRUNCATED;
			pb[i].len = 0;
			io->st.errors++;
			continue;
		}
		memcpy(&d->from[i], d->hdr[i], HDRSZ);
		len -= HDRSZ;
#endif
		pb[i].len = (uint32_t)len;
		if (d->msgs[i].msg_hdr.msg_flags & MSG_TRUNC)
			pb[i].flags |= PB_TRUNCATED;
	}
	io->st.recv += (uint64_t)got;
	return (got);
}

/* A full IPv4 header checksum, for packets caught on the way out. */
static void
ip_header_cksum(uint8_t *ip, uint32_t len)
{
	unsigned	 hl;
	uint16_t	 ck = 0;

	if (len < 20 || (ip[0] >> 4) != 4)
		return;
	hl = (unsigned)(ip[0] & 0x0f) * 4;
	if (hl < 20 || hl > len)
		return;
	memcpy(ip + 10, &ck, 2);
	ck = cksum_finish(cksum_add(0, ip, hl));
	memcpy(ip + 10, &ck, 2);
}

/* Writes one packet to the divert socket, addressed as to says. */
static int
div_out(struct pktio *io, struct sockaddr_in *to, const uint8_t *data,
    uint32_t len)
{
#ifdef DIVERT_EMULATION
	struct divio	*d = io->priv;
	struct iovec	 iov[2];
	struct msghdr	 mh;

	iov[0].iov_base = to;
	iov[0].iov_len = HDRSZ;
	iov[1].iov_base = (void *)(uintptr_t)data;
	iov[1].iov_len = len;
	memset(&mh, 0, sizeof(mh));
	mh.msg_name = &d->peer;
	mh.msg_namelen = sizeof(d->peer);
	mh.msg_iov = iov;
	mh.msg_iovlen = 2;
	return (sendmsg(io->fd, &mh, 0) == -1 ? -1 : 0);
#else
	return (sendto(io->fd, data, len, 0, (struct sockaddr *)to,
	    sizeof(*to)) == -1 ? -1 : 0);
#endif
}

static int
divio_send(struct pktio *io, struct pktbuf *pb, unsigned n)
{
	struct divio	*d = io->priv;
	unsigned	 i;
	int		 rc = 0;

	for (i = 0; i < n; i++) {
		if (pb[i].verdict == V_DROP || pb[i].len == 0)
			continue;
		if (d->from[i].sin_addr.s_addr == INADDR_ANY &&
		    pb[i].verdict == V_REWRITTEN)
			ip_header_cksum(pb[i].data, pb[i].len);
		if (div_out(io, &d->from[i], pb[i].data, pb[i].len) == -1) {
			io->st.errors++;
			rc = -1;
			continue;
		}
		io->st.sent++;
	}
	return (rc);
}

/* A packet of loadd's own: written as outbound (address INADDR_ANY). */
static int
divio_inject(struct pktio *io, const uint8_t *data, uint32_t len, int family)
{
	struct sockaddr_in	 to;

	memset(&to, 0, sizeof(to));
	to.sin_family = AF_INET;
	if (family != 4 || div_out(io, &to, data, len) == -1) {
		io->st.errors++;
		return (-1);
	}
	io->st.injected++;
	return (0);
}

static void
divio_close(struct pktio *io)
{
	struct divio	*d = io->priv;

	if (io->fd != -1)
		close(io->fd);
#ifdef DIVERT_EMULATION
	unlink(divert_emulation_path(io->queue, 0));
#endif
	io->fd = -1;
	if (d != NULL) {
		free(d->rx);
		free(d);
	}
	io->priv = NULL;
}
