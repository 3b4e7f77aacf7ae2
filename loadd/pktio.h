/*
 * Packet I/O: one small interface, one file per backend.  A backend hands
 * over a batch of packets, the engine sets a verdict on each (rewriting
 * in place), and the backend gives the batch back to the kernel or the
 * output capture in one go.
 */
#ifndef LOADD_PKTIO_H
#define LOADD_PKTIO_H

#include <stdint.h>

#include "engine.h"

#define PKTIO_BATCH	64
#define PB_SKIP		0x80	/* not IP (replay): pass without the engine */

struct pktio_stats {
	uint64_t	 recv;		/* packets read */
	uint64_t	 sent;		/* verdicts given or packets written */
	uint64_t	 errors;	/* I/O and netlink errors */
	uint64_t	 overruns;	/* the kernel dropped: socket buffer full */
	/* The kernel's own counts of the queue (NFQUEUE), read by refresh. */
	uint64_t	 qdropped;	/* the queue was full (queue_maxlen) */
	uint64_t	 udropped;	/* could not be sent to loadd's socket */
	uint64_t	 notip;		/* replay: frames that were not IP */
	uint64_t	 injected;	/* packets the engine made up, sent */
};

struct pktio {
	const struct pktio_ops	*ops;
	int			 fd;	/* to poll, or -1 */
	int			 eof;	/* replay: capture ended */
	int			 failed;	/* replay: capture damaged */
	unsigned		 queue;
	uint32_t		 queue_maxlen;
	int			 failopen;
	const char		*rpath;
	const char		*wpath;
	void			*priv;
	struct pktio_stats	 st;
};

struct pktio_ops {
	const char	*name;
	int		(*open)(struct pktio *);
	/* Up to max packets into pb; 0 when none is waiting; -1 fatal. */
	int		(*recv)(struct pktio *, struct pktbuf *, unsigned max);
	/* Gives every packet of the batch back with its verdict. */
	int		(*send)(struct pktio *, struct pktbuf *, unsigned n);
	void		(*close)(struct pktio *);
	/* Sends a packet the engine made up (an IP datagram); -1 failed. */
	int		(*inject)(struct pktio *, const uint8_t *, uint32_t len,
			    int family);
	/* Reads the kernel's counters of the queue into st; NULL: none. */
	void		(*refresh)(struct pktio *);
};

extern const struct pktio_ops	pktio_pcap_ops;
#if defined(__linux__) && !defined(DIVERT_EMULATION)
extern const struct pktio_ops	pktio_nfq_ops;
#define PKTIO_LIVE	pktio_nfq_ops
#define LOADD_OFFLOAD	1	/* conntrack carries established flows */
#else
extern const struct pktio_ops	pktio_divert_ops;
#define PKTIO_LIVE	pktio_divert_ops
#endif
#ifdef DIVERT_EMULATION
const char	*divert_emulation_path(unsigned, int);
#endif
#if defined(__linux__) && !defined(DIVERT_EMULATION)
/*
 * The dropped and user-dropped counts of queue in the text of
 * /proc/net/netfilter/nfnetlink_queue; -1 when it has no such line.
 */
int		 nfq_proc_counts(const char *text, unsigned queue,
		    uint64_t *dropped, uint64_t *udropped);
#endif

#endif
