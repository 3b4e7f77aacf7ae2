/*
 * What ctl.c (the sockets, their clients and budgets) and ctl_http.c
 * (the metrics port's requests and pages) share; nobody else includes
 * this.
 */
#ifndef LOADD_CTL_PRIV_H
#define LOADD_CTL_PRIV_H

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "ctl.h"
#include "obuf.h"
#include "stats.h"

/* A rendered page, shared by the clients that asked for it. */
struct mpage {
	char		*b;		/* head and body */
	size_t		 len;
	size_t		 hlen;		/* the head's: all a HEAD gets */
	char		*mem;		/* what to free */
	unsigned	 refs;
	uint64_t	 born_ms;
};

struct client {
	int		 fd;
	int		 pidx;
	uint64_t	 since;
	size_t		 inlen;
	char		 in[CTL_LINEMAX + 1];
	struct obuf	 out;
	struct mpage	*page;		/* or out is the answer */
	size_t		 off;		/* of the answer, written */
	int		 answering;
	int		 waiting;	/* for the page being rendered */
	int		 want;		/* that page: enum page */
	int		 head_only;	/* HEAD: the answer's head alone */
	int		 http;		/* a client of the metrics port */
	union addr	 peer;		/* its source address */
};

/* The pages rendered from the counters. */
enum page {
	PG_METRICS = 0,		/* /metrics */
	PG_STATUS,		/* /status.json */
	PG_N
};

/* A page being rendered, and the last one. */
struct render {
	int		 on;
	struct obuf	 buf;
	struct stats_cursor cur;
	unsigned	 reloads;
	struct mpage	*page;
};

struct ctl {
	int		 fd;
	int		 pidx;
	int		 hfd;		/* metrics over HTTP, or -1 */
	int		 hpidx;
	char		 path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct client	 c[CTL_MAXCLIENTS];
	struct client	 h[HTTP_MAXCLIENTS];
	struct render	 r[PG_N];
	struct mpage	*html;		/* the status page, or NULL */
	struct ctl_http_stats st;
};

/* ctl.c: the client has its answer; it is sent from now on. */
void	 ctl_answer(struct client *, uint64_t now_ms);

/* ctl_http.c */
/* A request, once its head is in (or eof): answered, or waiting. */
void	 ctl_http_read(struct ctl *, struct client *, struct ctlenv *,
	    int eof);
/* A slice of each page being rendered; the waiting get finished ones. */
void	 ctl_http_render(struct ctl *, struct ctlenv *);
void	 ctl_page_put(struct mpage *);
/* The pages, rendered and being rendered, freed. */
void	 ctl_http_free(struct ctl *);

#endif
