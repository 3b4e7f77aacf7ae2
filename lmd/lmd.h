/*
 * lmd, the agent on a real server: its configuration, the samples it
 * takes and the service checks it runs.  See lmd(8) and lmd.conf(5).
 */
#ifndef LMD_H
#define LMD_H

#include <sys/types.h>

#include <limits.h>
#include <stdint.h>

#include "addr.h"
#include "report.h"

#ifndef LMD_CONF
#define LMD_CONF		"/usr/local/etc/lmd.conf"
#endif
#define LMD_PIDFILE		"/var/run/lmd.pid"
#define LMD_MAXLOADD		16
#define LMD_URLLEN		1024
#define LMD_CMDLEN		1024
#define LMD_USERLEN		256
/*
 * Command checks run as this user unless lmd.conf says otherwise: it
 * exists on Linux and the BSDs alike and owns no files (lmd.conf(5)).
 */
#define LMD_CHECK_USER		"nobody"
/* The whole environment of a command check, lmd's own is not passed. */
#define LMD_CHECK_PATH		"/usr/sbin:/usr/bin:/sbin:/bin"

enum check_type {
	CHECK_NONE = 0,
	CHECK_HTTP,
	CHECK_TCP,
	CHECK_COMMAND,
};

struct lmd_dest {
	int		 family;
	union addr	 addr;
	uint16_t	 port;
};

struct lmd_conf {
	const char	*path;
	struct lmd_dest	 loadd[LMD_MAXLOADD];
	unsigned	 nloadd;
	char		 keyfile[PATH_MAX];
	int		 keyid;		/* 0: the first key of the file */
	struct report_keys keys;
	uint32_t	 interval_ms;
	int		 family;	/* the service: what loadd.conf says */
	union addr	 addr;
	uint16_t	 port;
	uint8_t		 proto;
	uint16_t	 watch_port;	/* connections counted on this port */
	int		 src_family;	/* 0: any source address */
	union addr	 src;
	uint16_t	 weight;	/* hint; 0: none */
	int		 drain;		/* start drained */
	char		 cgroup[PATH_MAX];
	char		 pidfile[PATH_MAX];
	int		 facility;
	int		 verbose;

	enum check_type	 check;
	uint32_t	 check_interval_ms;
	uint32_t	 check_timeout_ms;
	/* http: http://HOST[:PORT]/PATH, where HOST is an address literal. */
	char		 check_url[LMD_URLLEN];
	char		 http_host[ADDR_STRLEN + 8];	/* Host: header */
	char		 http_path[LMD_URLLEN];
	unsigned	 check_status;
	/* http and tcp: where to connect. */
	int		 check_family;
	union addr	 check_addr;
	uint16_t	 check_port;
	char		 check_command[LMD_CMDLEN];
	char		 check_user[LMD_USERLEN];

	/*
	 * The lines that set what is only checked after parsing (a key
	 * file, a cgroup, a bind, a user), so that those errors name
	 * file:line too; 0 for a default.  line_source is the line of
	 * source, or of service when reports are sent from its address.
	 */
	unsigned	 line_loadd;
	unsigned	 line_keyfile;
	unsigned	 line_source;
	unsigned	 line_cgroup;
	unsigned	 line_pidfile;
	unsigned	 line_check_user;
};

/* Returns 0, or -1 after writing every error as "file:line: ...". */
int	 lmd_conf_load(struct lmd_conf *, const char *path);
void	 lmd_conf_free(struct lmd_conf *);
/*
 * "file:line", or "file" for line 0 (a default), into buf: the start of
 * an error about what a line of the configuration set.
 */
const char	*lmd_conf_where(const struct lmd_conf *, unsigned line,
		    char *buf, size_t len);
struct passwd;
/*
 * getpwnam(), or NULL with why ("no such user", or the error of the
 * lookup itself) in buf.
 */
struct passwd	*lmd_user(const char *name, char *why, size_t len);

/* One sample of the server's load. */
struct sample {
	uint16_t	 cpu_pm;
	uint16_t	 mem_pm;
	uint32_t	 load100;
	uint32_t	 conns;
};

struct sampler;

/* Opens what sampling needs; NULL after logging why not. */
struct sampler	*sample_open(const struct lmd_conf *);
/* Fills s; a figure that cannot be read keeps its last value. */
void		 sample_take(struct sampler *, struct sample *);
void		 sample_close(struct sampler *);

/*
 * A service check runs beside the report loop: check_start() begins it,
 * check_poll() says which descriptor to wait on, check_step() advances
 * it when that descriptor is ready or the deadline has passed.  A check
 * that is done has its result in status and latency_us.
 */
struct check {
	const struct lmd_conf *conf;
	int		 running;
	int		 fd;		/* socket, command's error pipe, or -1 */
	short		 events;	/* POLLIN or POLLOUT */
	pid_t		 pid;		/* command check */
	uint64_t	 start_us;	/* monotonic */
	uint64_t	 deadline_us;
	int		 sent;		/* http: request written */
	char		 buf[512];	/* http: the reply so far; command:
					   why the child did not exec */
	size_t		 len;
	int		 status;	/* REPORT_CHECK_* of the last check */
	uint32_t	 latency_us;
	char		 why[128];	/* the reason of a failure */
	int		 user_missing;	/* check_user gone: logged once */
};

void	 check_init(struct check *, const struct lmd_conf *);
/* Starts a check; a check that fails at once is done on return. */
void	 check_start(struct check *, uint64_t now_us);
/* Called when check->fd is ready, when the child may have exited, or
 * on a timer; finishes the check at the deadline. */
void	 check_step(struct check *, uint64_t now_us);
void	 check_abort(struct check *);

uint64_t	 lmd_monotime_us(void);

#endif
