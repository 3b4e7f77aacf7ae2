/*
 * libFuzzer harness for the packet parser: any bytes in, a defined
 * result out, and what it claims to have found lies inside the buffer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "pkt.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pkt	 p;
	int		 rc;

	rc = pkt_parse(data, size, &p);
	if (rc < 0 || rc >= PKT_NERR)
		abort();
	if (rc == PKT_OK) {
		if (p.len > size || p.l3len > p.len)
			abort();
		if (p.family != 4 && p.family != 6)
			abort();
	}
	return (0);
}
