/*
 * libFuzzer harness for the judging of an HTTP answer, which loadd's
 * probes and lmd's checks share (common/probe.c).  The first byte of an
 * input chooses the reader: its low two bits are the HTTP_* flags (loadd
 * reads with none, lmd with both), bit 2 asks for a body text.  The rest
 * is the answer, judged after each of its first 512 bytes as if it
 * trickled in, and whole, before and at its end.  Whatever the bytes, every verdict is a defined one, a
 * status is given only with the verdicts that read one and is a code of
 * 100..599 on the right side of the range, and an answer that has ended
 * is never left undecided.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "probe.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
judge(const struct http_expect *x, const char *b, size_t n, int end)
{
	enum http_verdict v;
	int		 st;

	v = http_judge(x, b, n, end, &st);
	if (v > HTTP_NOBODY || (end && v == HTTP_MORE))
		abort();
	if (v == HTTP_PASS || v == HTTP_STATUS || v == HTTP_NOBODY) {
		if (st < 100 || st > 599 || http_status(b, n, x->flags) != st)
			abort();
		if ((v == HTTP_STATUS) == (st >= x->lo && st <= x->hi))
			abort();
	} else if (st != 0 && v != HTTP_MORE)
		abort();
	if ((v == HTTP_NOTHTTP) != (http_status(b, n, x->flags) == -1) ||
	    (v == HTTP_SHORT && http_status(b, n, x->flags) != 0))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_expect x = { 200, 399, NULL, 0 };
	const char	*b;
	size_t		 n, i;

	if (size < 1)
		return (0);
	x.flags = data[0] & (HTTP_ANYVERSION | HTTP_WHOLELINE);
	if (data[0] & 0x4)
		x.body = "alive";
	b = (const char *)data + 1;
	n = size - 1;
	/* Byte by byte over what decides the status line, then whole. */
	for (i = 0; i <= n && i <= 512; i++)
		judge(&x, b, i, 0);
	judge(&x, b, n, 0);
	judge(&x, b, n, 1);
	return (0);
}
