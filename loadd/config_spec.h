/*
 * loadd.conf as written, between its three readers: config.c parses the
 * file into these specs (its keyword table names every key),
 * config_check.c finds what is wrong with them, config_build.c makes the
 * services and servers of struct config from them.  Private to the three.
 */
#ifndef LOADD_CONFIG_SPEC_H
#define LOADD_CONFIG_SPEC_H

#include <stdint.h>

#include "addr.h"
#include "cfgfile.h"
#include "health.h"
#include "pool.h"

#define MAXPORTS	64
#define MAXSPECS	256
#define BITMASK_MAXHOSTBITS	10	/* 1024 servers */

/*
 * Every key, as the keyword table's ids: the line a key was first given
 * on is seen[id].  Aliases (vip, divertport, ...) share their key's id.
 */
enum key {
	K_SERVERS, K_IPALIASING, K_PORTS, K_BALANCINGMODE, K_VERBOSEMODE,
	K_DAEMON, K_TRANSPARENT, K_PROTOCOL, K_QUEUE,
	K_MAXFLOWS, K_TO_EST, K_TO_TRANS, K_TO_UDP, K_TO_UDP_UNREPLIED,
	K_QUEUE_MAXLEN,
	K_FAILOPEN, K_PIDFILE, K_FACILITY, K_SERVICE, K_UNKNOWN_FLOW,
	K_RESET_RATE, K_HASHKEY, K_MAGLEV_SIZE, K_STICKY, K_STICKY_CLIENTS,
	/* Health: service keys, their defaults at the top. */
	K_CHECK, K_CHECK_INTERVAL, K_CHECK_TIMEOUT, K_CHECK_RISE, K_CHECK_FALL,
	K_CHECK_PORT, K_CHECK_PATH, K_CHECK_HOST, K_CHECK_STATUS, K_CHECK_BODY,
	K_CHECK_START, K_PASSIVE, K_PASSIVE_TIMEOUT, K_PASSIVE_FALL,
	K_PASSIVE_RETRY, K_DOWN_FLOWS, K_NOSERVER, K_SLOWSTART,
	/* Agent reports (global). */
	K_KEYFILE, K_REPORTPORT, K_REPORTADDRESS, K_AGENT_WINDOW, K_AGENT_STALE,
	K_CTLSOCKET, K_CTLMODE, K_METRICS, K_USER, K_CHROOT, K_PRIVSEP,
	K_OFFLOAD, K_OFFLOAD_SALT, K_OFFLOAD_IFS, K_OFFLOAD_MAXFLOWS,
	K_OFFLOAD_PIN,
	/* Limits (service keys, their defaults at the top). */
	K_MAX_CLIENTS, K_MAX_CLIENT_CONNS, K_MAX_CLIENT_RATE,
	K_CLIENT_PREFIX4, K_CLIENT_PREFIX6,
	K_NKEYS
};

struct srvspec {
	union addr	 addr;
	uint16_t	 port;		/* 0: the service's port */
	uint16_t	 weight;
	uint8_t		 family;
	uint8_t		 prefix;	/* a network (bitmask); 0: a host */
	uint8_t		 backup;
	uint8_t		 disabled;
	uint32_t	 maxconn;	/* 0: no cap */
	uint32_t	 lowconn;	/* 0: maxconn - 1 */
	unsigned	 line;
};

struct sched_method;

/*
 * What a service block chooses for itself; at the top of the file the
 * same keys set the default of every block (struct parse's dflt).
 */
struct svcopts {
	const struct sched_method *method;	/* NULL: the default */
	uint8_t		 proto;		/* 0: the default */
	uint32_t	 hashkey;
	uint32_t	 maglev_size;	/* 0: the default */
	uint32_t	 sticky;	/* seconds; 0: off */
	uint32_t	 max_clients;	/* 0: no limit */
	struct client_limits climits;	/* plen 0: the default */
};

/* One service block as written: a virtual address and its ports. */
struct svcspec {
	char		 name[SVC_LABELLEN];
	unsigned	 line;		/* the "service =" line; 0: implicit */
	unsigned	 seen[K_NKEYS];
	union addr	 vip;
	int		 vipfamily;
	uint16_t	 ports[MAXPORTS];
	unsigned	 nports;
	struct svcopts	 opts;
	struct hcconf	 hc;		/* spec[0]'s: every service's default */
	struct srvspec	*srv;
	unsigned	 nsrv;
	unsigned	 srvcap;
};

struct config;
struct report_keys;

struct parse {
	struct cfgfile	 cf;
	struct config	*conf;
	unsigned	 seen[K_NKEYS];	/* global keys: first line */
	struct svcspec	*spec;		/* spec[0] is the implicit service */
	unsigned	 nspec;
	struct svcspec	*cur;		/* where service keys go */
	struct svcopts	 dflt;		/* the top of the file's */
	/* Keys read by the privileged parent; NULL: read the key file. */
	const struct report_keys *given_keys;
};

/* config.c: a key's name, for errors about it found after parsing. */
const char	*config_key_name(enum key);

/* config_check.c: errors go to cfg_error(); an int is 0, or -1 if any. */
int		 check_spec(struct parse *, struct svcspec *);
int		 check_health(struct parse *, struct svcspec *);
void		 check_offload(struct parse *, const struct svcspec *,
		    const struct service *, struct hcconf *);
void		 check_pool(struct parse *, unsigned eof);
int		 check_agent(struct parse *);
int		 check_fastpath(struct parse *);

/* config_build.c: the services and servers of ps->conf. */
int		 build(struct parse *);

#endif
