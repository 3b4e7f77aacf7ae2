/*
 * The status page that the metrics listener serves at "/": one HTML
 * document with its style and script inline and nothing from anywhere
 * else (balancers sit on isolated networks).  Its script reads
 * /status.json (stats_status()) every two seconds and draws the services
 * and servers, their state, reason, weight, flows, agent, and charts of
 * their last minutes (srvhist.h).  Every text from loadd goes into the
 * page as text (textContent), never as markup.
 */
#ifndef LOADD_STATUSPAGE_H
#define LOADD_STATUSPAGE_H

#include <stddef.h>

#include "obuf.h"

/*
 * The whole answer -- the HTTP head, with a Content-Security-Policy that
 * allows the page's own style and script by their SHA-256 and nothing
 * else but requests to where it came from, then the page -- appended to
 * o; *hlen is the head's length.  Returns 0, or -1 (out of memory).
 */
int	 statuspage_make(struct obuf *o, size_t *hlen);

#endif
