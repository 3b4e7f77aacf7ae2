/*
 * The replay backend: read a capture with libpcap, let the engine rewrite
 * it, write what passes to another capture.  No root, no kernel: this is
 * how most engine tests and the engine benchmark run.
 *
 * Ethernet (with up to two VLAN tags), raw IP and Linux cooked captures are
 * read; other link types are refused.  A damaged capture ends the replay
 * with an error after what came before it has been written.
 */
#include <arpa/inet.h>

#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "byteorder.h"
#include "pktio.h"

#define SLOTSZ	(65536 + 64)

struct slot {
	struct pcap_pkthdr	 hdr;
	uint8_t			 frame[SLOTSZ];
};

struct pcapio {
	pcap_t		*in;
	pcap_t		*dead;
	pcap_dumper_t	*out;
	int		 dlt;
	struct slot	*slots;
	struct timeval	 lastts;	/* of the last packet read */
};

static int	 pcapio_open(struct pktio *);
static int	 pcapio_recv(struct pktio *, struct pktbuf *, unsigned);
static int	 pcapio_send(struct pktio *, struct pktbuf *, unsigned);
static void	 pcapio_close(struct pktio *);
static int	 pcapio_inject(struct pktio *, const uint8_t *, uint32_t, int);
static int	 linkhdr(int, const uint8_t *, uint32_t, unsigned *);

const struct pktio_ops pktio_pcap_ops = {
	"pcap", pcapio_open, pcapio_recv, pcapio_send, pcapio_close,
	pcapio_inject, NULL
};

static int
pcapio_open(struct pktio *io)
{
	struct pcapio	*pc;
	char		 errbuf[PCAP_ERRBUF_SIZE];
	int		 snap;

	if ((pc = calloc(1, sizeof(*pc))) == NULL ||
	    (pc->slots = calloc(PKTIO_BATCH, sizeof(struct slot))) == NULL) {
		free(pc);
		fprintf(stderr, "loadd: out of memory\n");
		return (-1);
	}
	io->priv = pc;
	io->fd = -1;
	if ((pc->in = pcap_open_offline(io->rpath, errbuf)) == NULL) {
		fprintf(stderr, "loadd: %s: %s\n", io->rpath, errbuf);
		return (-1);
	}
	pc->dlt = pcap_datalink(pc->in);
	switch (pc->dlt) {
	case DLT_EN10MB:
	case DLT_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
	case DLT_LINUX_SLL:
		break;
	default:
		fprintf(stderr, "loadd: %s: link type %s (%d) is not "
		    "supported; loadd reads Ethernet, raw IP and Linux "
		    "cooked captures\n", io->rpath,
		    pcap_datalink_val_to_name(pc->dlt) ?
		    pcap_datalink_val_to_name(pc->dlt) : "unknown", pc->dlt);
		return (-1);
	}
	/*
	 * The output keeps whole what the input kept: its snapshot length,
	 * and at least a full 64 KB frame (as GRO makes them on capture).
	 */
	snap = pcap_snapshot(pc->in);
	if (snap < SLOTSZ)
		snap = SLOTSZ;
	if ((pc->dead = pcap_open_dead(pc->dlt, snap)) == NULL) {
		fprintf(stderr, "loadd: pcap_open_dead failed\n");
		return (-1);
	}
	if ((pc->out = pcap_dump_open(pc->dead, io->wpath)) == NULL) {
		fprintf(stderr, "loadd: %s: %s\n", io->wpath,
		    pcap_geterr(pc->dead));
		return (-1);
	}
	return (0);
}

/*
 * Finds the IP header in a frame.  Returns 1 for IP, 0 for a frame that is
 * not IP (it passes untouched), -1 for a frame too short for its link
 * header.
 */
static int
linkhdr(int dlt, const uint8_t *f, uint32_t len, unsigned *off)
{
	uint16_t	 type;
	unsigned	 o, tags;

	switch (dlt) {
	case DLT_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
		*off = 0;
		return (1);
	case DLT_LINUX_SLL:
		if (len < 16)
			return (-1);
		o = 16;
		type = be16dec(f + 14);
		break;
	default:	/* DLT_EN10MB */
		if (len < 14)
			return (-1);
		o = 14;
		type = be16dec(f + 12);
		for (tags = 0; tags < 2 && (type == 0x8100 || type == 0x88a8);
		    tags++) {
			if (len < o + 4)
				return (-1);
			type = be16dec(f + o + 2);
			o += 4;
		}
		break;
	}
	*off = o;
	return (type == 0x0800 || type == 0x86dd);
}

static int
pcapio_recv(struct pktio *io, struct pktbuf *pb, unsigned max)
{
	struct pcapio		*pc = io->priv;
	struct pcap_pkthdr	*h;
	const u_char		*data;
	struct slot		*s;
	unsigned		 n = 0, off;
	int			 rc;

	if (max > PKTIO_BATCH)
		max = PKTIO_BATCH;
	while (n < max && !io->eof) {
		rc = pcap_next_ex(pc->in, &h, &data);
		if (rc == PCAP_ERROR_BREAK) {
			io->eof = 1;
			break;
		}
		if (rc != 1) {
			fprintf(stderr, "loadd: %s: damaged capture after %llu "
			    "packets: %s\n", io->rpath,
			    (unsigned long long)io->st.recv,
			    pcap_geterr(pc->in));
			io->eof = io->failed = 1;
			break;
		}
		s = &pc->slots[n];
		s->hdr = *h;
		pc->lastts = h->ts;
		if (s->hdr.caplen > sizeof(s->frame))
			s->hdr.caplen = sizeof(s->frame);
		memcpy(s->frame, data, s->hdr.caplen);
		memset(&pb[n], 0, sizeof(pb[n]));
		pb[n].id = (uint32_t)io->st.recv;
		pb[n].ts = (uint32_t)s->hdr.ts.tv_sec;
		pb[n].ts_ms = (uint32_t)((uint64_t)s->hdr.ts.tv_sec * 1000 +
		    (uint64_t)s->hdr.ts.tv_usec / 1000);
		io->st.recv++;
		rc = linkhdr(pc->dlt, s->frame, s->hdr.caplen, &off);
		if (rc <= 0) {
			/* Not IP, or too short to tell: pass it on. */
			pb[n].data = s->frame;
			pb[n].len = s->hdr.caplen;
			pb[n].flags = PB_SKIP;
			io->st.notip++;
		} else {
			pb[n].data = s->frame + off;
			pb[n].len = s->hdr.caplen - off;
			pb[n].linkhdr = (uint8_t)off;
			if (s->hdr.caplen < s->hdr.len)
				pb[n].flags |= PB_TRUNCATED;
		}
		n++;
	}
	return ((int)n);
}

static int
pcapio_send(struct pktio *io, struct pktbuf *pb, unsigned n)
{
	struct pcapio	*pc = io->priv;
	unsigned	 i;

	for (i = 0; i < n; i++) {
		if (pb[i].verdict == V_DROP)
			continue;
		if (pb[i].flags & PB_RESIZED)
			pc->slots[i].hdr.caplen = pc->slots[i].hdr.len =
			    pb[i].linkhdr + pb[i].len;
		pcap_dump((u_char *)pc->out, &pc->slots[i].hdr,
		    pc->slots[i].frame);
		io->st.sent++;
	}
	return (0);
}

/*
 * A packet of loadd's own goes into the output capture after the batch
 * that made it, stamped with the last time read, with a link header of
 * zeros where the link type wants one.
 */
static int
pcapio_inject(struct pktio *io, const uint8_t *pkt, uint32_t len, int family)
{
	struct pcapio		*pc = io->priv;
	struct pcap_pkthdr	 h;
	uint8_t			 frame[16 + 1500];
	uint16_t		 type = family == 4 ? 0x0800 : 0x86dd;
	unsigned		 off = 0;

	switch (pc->dlt) {
	case DLT_EN10MB:
		off = 14;
		memset(frame, 0, off);
		be16enc(frame + 12, type);
		break;
	case DLT_LINUX_SLL:
		off = 16;
		memset(frame, 0, off);
		frame[1] = 4;		/* sent by us */
		be16enc(frame + 14, type);
		break;
	default:
		break;
	}
	if (len > sizeof(frame) - off) {
		io->st.errors++;
		return (-1);
	}
	memcpy(frame + off, pkt, len);
	h.ts = pc->lastts;
	h.caplen = h.len = off + len;
	pcap_dump((u_char *)pc->out, &h, frame);
	io->st.injected++;
	return (0);
}

static void
pcapio_close(struct pktio *io)
{
	struct pcapio	*pc = io->priv;

	if (pc == NULL)
		return;
	if (pc->out != NULL) {
		if (pcap_dump_flush(pc->out) == -1) {
			fprintf(stderr, "loadd: %s: write failed\n", io->wpath);
			io->failed = 1;
		}
		pcap_dump_close(pc->out);
	}
	if (pc->dead != NULL)
		pcap_close(pc->dead);
	if (pc->in != NULL)
		pcap_close(pc->in);
	free(pc->slots);
	free(pc);
	io->priv = NULL;
}
