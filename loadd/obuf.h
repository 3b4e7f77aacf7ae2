/*
 * An append-only text buffer with a size limit: what the control
 * socket's answers, the metrics page and the stats log are written into.
 * A buffer that reaches its limit, or runs out of memory, says so in
 * full and takes nothing more, so that an answer is whole or refused.
 */
#ifndef LOADD_OBUF_H
#define LOADD_OBUF_H

#include <stddef.h>

struct obuf {
	char		*b;
	size_t		 len;
	size_t		 cap;
	int		 full;		/* the limit was reached */
};

void	 ob_printf(struct obuf *, const char *, ...)
	    __attribute__((__format__(__printf__, 2, 3)));
/* s as a JSON string, quoted; bytes outside printable ASCII escaped. */
void	 ob_json_str(struct obuf *, const char *);
void	 ob_free(struct obuf *);

#endif
