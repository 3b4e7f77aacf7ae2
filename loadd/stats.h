/*
 * What loadd counts, as every output shows it, in the manner of HAProxy's
 * stat fields: one table of fields per object -- loadd as a whole
 * (engine, flow table, packet I/O, probes, agents), a service, a server
 * -- each field with its name in each output and where its value is
 * read.  Every output walks the same tables: loadctl's text and JSON
 * (show stats, services, servers), the status page's JSON (show status,
 * /status.json), the Prometheus page, and the stats log (SIGUSR1, and
 * when loadd stops).  A field that an output does not
 * show has no name there.
 *
 * The renderers are in stats_render.c, the tables in stats.c.
 */
#ifndef LOADD_STATS_H
#define LOADD_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "obuf.h"

struct agent;
struct ctl_http_stats;
struct ctlenv;
struct engine;
struct health_stats;
struct pktio;
struct pool;
struct srvhist;

/* One moment of loadd as the outputs read it; a NULL part is not there. */
struct stats_src {
	const struct engine		*e;
	const struct pool		*pool;
	const struct pktio		*io;
	const struct health_stats	*hs;
	const struct agent		*agent;
	const struct ctl_http_stats	*http;	/* the metrics port's */
	const struct srvhist		*hist;	/* the servers' last minutes:
						   the status page's */
	uint64_t			 now_ms;	/* monotonic */
	uint64_t			 started_ms;
};

enum stats_type {
	STATS_GAUGE = 0,
	STATS_COUNTER,		/* only ever grows */
};

/* A value as stats_value() reads it. */
enum stats_vtype {
	SV_NONE = 0,		/* nothing to show now (no fresh agent) */
	SV_UINT,
	SV_BOOL,		/* u is 0 or 1 */
	SV_REAL,		/* shown with the field's decimals */
	SV_STR,
};

struct stats_val {
	enum stats_vtype	 type;
	uint64_t		 u;
	double			 r;
	const char		*s;
	char			 buf[64];	/* s, when the reader makes it */
};

/* Where a field's member is: in what object of stats_src, at what row. */
enum stats_base {
	STATS_B_NONE = 0,	/* the field has a reader function instead */
	STATS_B_ENGINE,		/* struct engine */
	STATS_B_PKTIO,		/* struct pktio */
	STATS_B_HEALTH,		/* struct health_stats */
	STATS_B_HTTP,		/* struct ctl_http_stats */
	STATS_B_SERVICE,	/* pool->svc[row] */
	STATS_B_SERVER,		/* pool->srv[row] */
	STATS_B_AGENT,		/* agent->st[row] */
};

#define STATS_F_BOOL	0x01	/* a member that is 0 or 1: a truth */
#define STATS_F_STR	0x02	/* a member that is a string (char[]) */
#define STATS_F_NONZERO	0x04	/* text, JSON, log: only elements not 0 */
#define STATS_F_PROMNZ	0x08	/* Prometheus too: one series per service
				   and reason would be most of a page */
#define STATS_F_AGENT	0x10	/* only while agents report (lmd) */
#define STATS_F_HTTP	0x20	/* only with the metrics port */
#define STATS_F_VIP	0x40	/* Prometheus: the service's virtual
				   address as a label too */
#define STATS_F_TAIL	0x80	/* text table: a note right after the
				   column before, without a heading */
#define STATS_F_HIST	0x100	/* only with the histories (hist) */

/* A family of counters by label: drops by reason, reports by result. */
struct stats_vec {
	const char	*label;		/* Prometheus label: "reason" */
	unsigned	 first;		/* the elements: first .. n - 1 */
	unsigned	 n;
	const char	*(*name)(int);
	uint64_t	(*get)(const struct stats_src *, unsigned row,
			    unsigned elem);
};

struct stats_object;

struct stats_field {
	const char	*name;		/* JSON key, show stats' name */
	const char	*head;		/* heading of a text table's column */
	int		 width;		/* the column's; < 0: left-aligned */
	const char	*prom;		/* Prometheus family after "loadd_" */
	const char	*help;		/* its HELP */
	enum stats_type	 type;
	unsigned	 decimals;	/* of an SV_REAL value */
	unsigned	 flags;		/* STATS_F_* */
	const char	*logpre;	/* the stats log: text before the value */
	const char	*logpost;	/* and after it, or NULL */
	/* The value: a member (a number of 1, 2, 4 or 8 bytes, a truth, a
	   string), or what get says. */
	enum stats_base	 base;
	size_t		 off;
	size_t		 size;
	void		(*get)(const struct stats_src *, unsigned row,
			    struct stats_val *);
	const struct stats_vec *vec;	/* a family by label instead */
	const struct stats_object *sub;	/* JSON: an object in the object,
					   there if get says true */
	/* JSON: a value that is no number or string (a series), whole. */
	void		(*json)(const struct stats_src *, unsigned row,
			    struct obuf *);
};

/*
 * Objects with rows (services, servers) say for each output which row a
 * line is about: Prometheus labels, and the row's name in the log.
 */
struct stats_object {
	const struct stats_field *f;
	unsigned	 nf;
	unsigned	(*rows)(const struct stats_src *);	/* NULL: one */
	/* Whether a row is shown: a free slot is not (pool.h). */
	int		(*used)(const struct stats_src *, unsigned row);
	void		(*labels)(const struct stats_src *, unsigned row,
			    const struct stats_field *, char *, size_t);
	void		(*logname)(const struct stats_src *, unsigned row,
			    struct obuf *);
	/* Lines the log adds after the row's (its agent's report). */
	void		(*logmore)(const struct stats_src *, unsigned row);
};

enum {
	STATS_LOADD = 0,	/* loadd as a whole: show stats */
	STATS_SERVICES,
	STATS_SERVERS,
	STATS_NOBJ
};
extern const struct stats_object	 stats_objects[STATS_NOBJ];

/* The state of a Prometheus page rendered a slice at a time. */
struct stats_cursor {
	unsigned	 obj;
	unsigned	 field;
	unsigned	 row;
};

/* What loadctl's commands see (ctl.h), as the outputs read it. */
void	 stats_src_env(struct stats_src *, const struct ctlenv *);
/* A field's value at a row (0 for loadd's own fields). */
void	 stats_value(const struct stats_field *, const struct stats_src *,
	    unsigned row, struct stats_val *);
/* Whether a field is there at all (agents, the metrics port). */
int	 stats_field_on(const struct stats_field *, const struct stats_src *);

/* show stats, show services, show servers: in text, or JSON. */
void	 stats_show(const struct stats_src *, unsigned obj, int json,
	    struct obuf *);
/*
 * The Prometheus page from where the cursor says (zeroed: the start), at
 * most budget rows (a family's line or lines for one service or server);
 * returns 1 when the page is complete.
 */
int	 stats_prom_step(const struct stats_src *, struct obuf *,
	    struct stats_cursor *, unsigned budget);
/* The whole page at once. */
void	 stats_prom(const struct stats_src *, struct obuf *);
/*
 * The status page's JSON -- loadd's object, the services and the
 * servers as loadctl's show ... json writes them, in one object -- in
 * slices like stats_prom_step(); a row is a service or a server.
 */
int	 stats_status_step(const struct stats_src *, struct obuf *,
	    struct stats_cursor *, unsigned budget);
void	 stats_status(const struct stats_src *, struct obuf *);
/* The stats log: the totals, drops by reason, each service and server. */
void	 stats_log(const struct engine *, const struct pktio *);

#endif
