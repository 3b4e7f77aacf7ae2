/* The text buffer of answers and pages: see obuf.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "obuf.h"

#define OB_MAX		(64u << 20)	/* the longest answer */

void
ob_printf(struct obuf *o, const char *fmt, ...)
{
	va_list	 ap;
	size_t	 ncap;
	char	*nb;
	int	 n;

	if (o->full)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(o->b != NULL ? o->b + o->len : NULL,
		    o->b != NULL ? o->cap - o->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			o->full = 1;
			return;
		}
		if (o->b != NULL && (size_t)n < o->cap - o->len) {
			o->len += (size_t)n;
			return;
		}
		ncap = o->cap ? o->cap * 2 : 4096;
		while (ncap < o->len + (size_t)n + 1)
			ncap *= 2;
		if (ncap > OB_MAX || (nb = realloc(o->b, ncap)) == NULL) {
			o->full = 1;
			return;
		}
		o->b = nb;
		o->cap = ncap;
	}
}

void
ob_json_str(struct obuf *o, const char *s)
{
	ob_printf(o, "\"");
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			ob_printf(o, "\\%c", *s);
		else if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			ob_printf(o, "\\u%04x", (unsigned char)*s);
		else
			ob_printf(o, "%c", *s);
	}
	ob_printf(o, "\"");
}

void
ob_free(struct obuf *o)
{
	free(o->b);
	memset(o, 0, sizeof(*o));
}
