/*
 * loadd.conf: the original HUT loadd keys and the ones this loadd adds.
 * See loadd.conf(5).
 */
#ifndef LOADD_CONFIG_H
#define LOADD_CONFIG_H

#include <limits.h>
#include <stdint.h>

#include "ctlsocket.h"
#include "flow.h"
#include "pool.h"
#include "report.h"

#ifndef LOADD_CONF
#define LOADD_CONF		"/usr/local/etc/loadd.conf"
#endif
#define LOADD_QUEUE		8670	/* the original's divert port */
#define LOADD_MAXFLOWS		1000000
#define LOADD_MAXFLOWS_LIMIT	(1u << 28)
/* offload = bpf: interfaces to attach to, flows in the map (2 entries each). */
#define CONF_FP_MAXIFS		16
#define LOADD_FP_MAXFLOWS	65536
#define LOADD_FP_MAXFLOWS_LIMIT	(1u << 24)
#define LOADD_FP_PIN		"/sys/fs/bpf/loadd"
#define LOADD_QUEUE_MAXLEN	4096
#define LOADD_RESET_RATE	1000
#define LOADD_STICKY_CLIENTS	65536
/*
 * The packet process's user: one of loadd's own, so that no other
 * daemon's process can signal or trace it (nobody is shared by many).
 */
#ifndef LOADD_USER
#define LOADD_USER		"loadd"
#endif
#ifndef LOADD_CHROOT
#define LOADD_CHROOT		"/var/empty"
#endif

struct sched_method;

struct config {
	const char	*path;
	int		 queue;		/* NFQUEUE number or divert port */
	int		 verbose;
	int		 daemon;
	int		 transparent;
	int		 failopen;
	int		 unknown_reset;	/* unknown_flow = reset */
	uint32_t	 reset_rate;
	uint32_t	 sticky_clients;	/* persistence table size */
	int		 sticky_any;	/* some service has sticky */
	uint32_t	 queue_maxlen;
	uint32_t	 maxflows;
	uint32_t	 timeout[FC_N];
	int		 facility;
	char		 pidfile[PATH_MAX];
	/* Agent reports: on when a key file is given. */
	char		 keyfile[PATH_MAX];
	struct report_keys keys;
	union addr	 reportaddr;	/* bind address; family 0: any */
	int		 reportfamily;
	uint16_t	 reportport;
	uint32_t	 agent_window_ms;
	uint32_t	 agent_stale;	/* intervals */
	char		 ctlsocket[108];
	char		 user[64];	/* the packet process's */
	char		 chroot[PATH_MAX];
	int		 privsep;
	unsigned	 ctlmode;
	union addr	 metricsaddr;	/* metrics listener; family 0: none */
	int		 metricsfamily;
	uint16_t	 metricsport;
	int		 offload;	/* conntrack: established flows to the kernel */
	uint32_t	 offload_salt;	/* changes every server's mark */
	/* offload = bpf: the eBPF fast path (doc/fastpath.md). */
	int		 fastpath;
	char		 fp_ifs[CONF_FP_MAXIFS][16];	/* offload_interfaces */
	unsigned	 fp_nifs;
	uint32_t	 fp_maxflows;	/* offload_maxflows: the map's size */
	char		 fp_pin[PATH_MAX];	/* offload_pin: on a bpffs */
	const struct sched_method *method;
	struct pool	 pool;
};

/* offload: a server's mark; the top byte says loadd (0x4c, 'L'). */
#define OFFLOAD_MARK_TAG	0x4c000000u
#define OFFLOAD_MARK_MASK	0xff000000u

/* What the command line says; it wins over the file. */
struct config_overrides {
	int		 queue;		/* -1: not given */
	const struct sched_method *method;
	int		 verbose;
	int		 daemon;
	const char	*ctlsocket;	/* -s; NULL: not given */
};

/* Returns 0, or -1 after writing every error as "file:line: ...". */
int	 config_load(struct config *, const char *path,
	    const struct config_overrides *);
/*
 * The same from the file's text in memory, and with the keys already
 * read (both by loadd's privileged parent); keys NULL: read the key file.
 */
int	 config_load_text(struct config *, const char *path, const char *text,
	    size_t len, const struct report_keys *keys,
	    const struct config_overrides *);
void	 config_free(struct config *);

#endif
