/*
 * libFuzzer harness for the engine.  The input is a sequence of packets,
 * each preceded by two bytes: its length (low 11 bits), and a flag for a
 * partial checksum.  They go through one engine with a small flow table,
 * so that flows are created, tracked, evicted and expired.
 *
 * After each packet: the length never changes, a rewritten packet still
 * parses, its IPv4 header checksum is still valid if it was before, and
 * the counters add up.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cksum.h"
#include "config.h"
#include "engine.h"
#include "pkt.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct config	 conf;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char	 path[] = "/tmp/fuzz_engine.XXXXXX";
	FILE	*fp;
	int	 fd;

	(void)argc;
	(void)argv;
	if ((fd = mkstemp(path)) == -1 || (fp = fdopen(fd, "w")) == NULL)
		abort();
	/* The fuzzer's packets are most useful when they hit the service. */
	fprintf(fp, "ipaliasing = 10.0.0.1\nports = 80, 53\n"
	    "servers = 10.0.1.1, 10.0.1.2 weight 2, 10.0.1.3 weight 0\n"
	    "maxflows = 64\ntimeout_tcp_transitory = 10\n"
	    "timeout_tcp_established = 20\ntimeout_udp = 15\n");
	fclose(fp);
	if (config_load(&conf, path, NULL) == -1)
		abort();
	unlink(path);
	return (0);
}

static int
ip4_header_ok(const uint8_t *b, size_t len)
{
	size_t	 hl;

	if (len < 20 || (b[0] >> 4) != 4)
		return (0);
	hl = (size_t)(b[0] & 0x0f) * 4;
	if (hl < 20 || hl > len)
		return (0);
	return (cksum_fold(cksum_add(0, b, hl)) == 0xffff);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct engine	 e;
	struct pktbuf	 pb;
	struct pkt	 p;
	uint8_t		 buf[2048];
	size_t		 off = 0, len;
	uint32_t	 now = 1000;
	uint64_t	 sum;
	unsigned	 i;
	int		 hdr_ok;

	if (engine_init(&e, &conf.pool, conf.maxflows, conf.timeout, 42) ==
	    -1)
		abort();
	while (off + 2 <= size) {
		len = (size_t)(data[off] | (data[off + 1] & 0x07) << 8);
		memset(&pb, 0, sizeof(pb));
		if (data[off + 1] & 0x80)
			pb.flags |= PB_CSUM_PARTIAL;
		now += (data[off + 1] >> 3) & 0x0f;
		off += 2;
		if (len > size - off)
			len = size - off;
		memcpy(buf, data + off, len);
		off += len;
		pb.data = buf;
		pb.len = (uint32_t)len;
		hdr_ok = ip4_header_ok(buf, len);
		engine_process(&e, &pb, now);
		if (pb.len != len)
			abort();
		if (pb.verdict == V_REWRITTEN) {
			if (pkt_parse(buf, len, &p) != PKT_OK)
				abort();
			if (hdr_ok && !ip4_header_ok(buf, len))
				abort();
		}
		engine_tick(&e, now);
	}
	sum = e.st.passed + e.st.rewritten + e.st.dropped;
	if (sum != e.st.pkts)
		abort();
	sum = 0;
	for (i = 0; i < DROP_NREASONS; i++)
		sum += e.st.drop[i];
	if (sum != e.st.dropped || e.ft.count > e.ft.cap)
		abort();
	engine_free(&e);
	for (i = 0; i < conf.pool.nsrv; i++)
		conf.pool.srv[i].flows_active = 0;
	return (0);
}
