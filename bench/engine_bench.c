/*
 * Engine benchmark: packets per second through engine_process() alone, no
 * I/O, for a cache-resident flow table (1 000 flows) and a large one
 * (1 000 000 flows).  A benchmark, not a test: it prints numbers and the
 * machine they were measured on.
 *
 * Every packet is written into a buffer from a template (as a NIC would
 * put it in memory), with the client address and port of its flow, and
 * then rewritten by the engine, one by one (engine_process) and in batches
 * of 64 (engine_process_batch, as the NFQUEUE loop calls it).  Flows are
 * visited in a scattered order so that a large table really misses the
 * cache.  The baseline, in the same run, is the same loop with only the
 * parser: the ratio (batches / parse only) says what the flow lookup and
 * the rewrite cost on top of reading the packet.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "cksum.h"
#include "config.h"
#include "engine.h"
#include "hash.h"
#include "pkt.h"

static struct config	 conf;
static long		 rss_kb;
static uint8_t		 tmpl[40];

static double
now_s(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

static void
load_config(uint32_t maxflows)
{
	char	 path[] = "/tmp/engine_bench.XXXXXX";
	FILE	*fp;
	int	 fd;

	if ((fd = mkstemp(path)) == -1 || (fp = fdopen(fd, "w")) == NULL) {
		perror("mkstemp");
		exit(1);
	}
	fprintf(fp, "ipaliasing = 10.0.0.1\nports = 80\n"
	    "servers = 10.0.1.1, 10.0.1.2, 10.0.1.3\nmaxflows = %u\n",
	    maxflows);
	fclose(fp);
	if (config_load(&conf, path, NULL) == -1)
		exit(1);
	unlink(path);
}

/* A TCP packet to 10.0.0.1:80; fill() sets the client. */
static void
make_template(void)
{
	uint8_t	 t[40] = {
		0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0,
		172, 16, 0, 0, 10, 0, 0, 1,
		0, 0, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x10, 0xff, 0xff,
		0, 0, 0, 0
	};

	memcpy(tmpl, t, sizeof(t));
}

/*
 * Flow i's client: an address and a port that look random (a bijective
 * mix of i, so every flow is distinct), as real clients do -- a key set
 * with structure (consecutive addresses and ports) can flatter or hurt a
 * hash by luck.
 */
static inline void
fill(uint8_t *b, uint32_t i, uint8_t flags)
{
	uint32_t	 a = hash_final(i ^ 0x5bd1e995u);
	uint16_t	 port = (uint16_t)(1024 + hash_final(i + 0x9e3779b9u) %
			    64000);

	memcpy(b, tmpl, sizeof(tmpl));
	b[12] = (uint8_t)(a >> 24);
	b[13] = (uint8_t)(a >> 16);
	b[14] = (uint8_t)(a >> 8);
	b[15] = (uint8_t)a;
	b[20] = (uint8_t)(port >> 8);
	b[21] = (uint8_t)port;
	b[33] = flags;
}

/* Visits every flow once per round in a scattered but fixed order. */
static inline uint32_t
scatter(uint64_t k, uint32_t nflows)
{
	return ((uint32_t)((k * 2654435761u) % nflows));
}

static void
run(uint32_t nflows, uint64_t npkts)
{
	struct engine	 e;
	struct pktbuf	 pb, bpb[ENGINE_BATCH];
	struct pkt	 p;
	uint8_t		 buf[64], bbuf[ENGINE_BATCH][64];
	uint64_t	 k, sink = 0;
	double		 t0, t_parse, t_engine, t_batch;
	uint32_t	 i, j;

	load_config(nflows);
	if (engine_init(&e, &conf.pool, nflows, conf.timeout, 1) == -1) {
		fprintf(stderr, "engine_init failed\n");
		exit(1);
	}
	/* Open every flow with a SYN first. */
	for (i = 0; i < nflows; i++) {
		fill(buf, i, 0x02);
		memset(&pb, 0, sizeof(pb));
		pb.data = buf;
		pb.len = 40;
		engine_process(&e, &pb, 1);
		if (pb.verdict != V_REWRITTEN) {
			fprintf(stderr, "setup: flow %u not created\n", i);
			exit(1);
		}
	}

	t0 = now_s();
	for (k = 0; k < npkts; k++) {
		fill(buf, scatter(k, nflows), 0x10);
		sink += (uint64_t)pkt_parse(buf, 40, &p) + p.sport;
	}
	t_parse = now_s() - t0;

	t0 = now_s();
	for (k = 0; k < npkts; k++) {
		fill(buf, scatter(k, nflows), 0x10);
		pb.data = buf;
		pb.len = 40;
		pb.flags = 0;
		engine_process(&e, &pb, 2);
		sink += pb.verdict;
	}
	t_engine = now_s() - t0;

	t0 = now_s();
	for (k = 0; k < npkts; k += ENGINE_BATCH) {
		for (j = 0; j < ENGINE_BATCH; j++) {
			fill(bbuf[j], scatter(k + j, nflows), 0x10);
			bpb[j].data = bbuf[j];
			bpb[j].len = 40;
			bpb[j].flags = 0;
		}
		engine_process_batch(&e, bpb, ENGINE_BATCH, 2);
		sink += bpb[0].verdict;
	}
	t_batch = now_s() - t0;

	if (nflows >= 1000000) {
		struct rusage	 ru;

		/* The whole table is touched by now: this is what it costs. */
		getrusage(RUSAGE_SELF, &ru);
		rss_kb = ru.ru_maxrss;
	}
	if (e.st.drop[DROP_NOFLOW] != 0 || e.ft.count != nflows) {
		fprintf(stderr, "benchmark broken: %llu packets without flow\n",
		    (unsigned long long)e.st.drop[DROP_NOFLOW]);
		exit(1);
	}
	printf("| %9u | %12llu | %7.2f Mpps | %7.2f Mpps | %6.1f ns | "
	    "%7.2f Mpps | %5.2f |\n", nflows, (unsigned long long)npkts,
	    (double)npkts / t_engine / 1e6, (double)npkts / t_batch / 1e6,
	    t_batch / (double)npkts * 1e9, (double)npkts / t_parse / 1e6,
	    t_batch / t_parse);
	if (sink == 42)
		printf("\n");	/* keeps the loops from being optimized away */
	engine_free(&e);
	config_free(&conf);
}

int
main(int argc, char *argv[])
{
	struct utsname	 u;
	FILE		*fp;
	char		 line[256], *model = NULL;
	uint64_t	 scale = 1;
	uint32_t	 only = 0;

	if (argc > 1 && strcmp(argv[1], "-q") == 0)
		scale = 0;	/* quick: a check that it runs */
	else if (argc > 1)
		only = (uint32_t)strtoul(argv[1], NULL, 10);	/* for perf */
	make_template();
	uname(&u);
	if ((fp = fopen("/proc/cpuinfo", "r")) != NULL) {
		while (fgets(line, sizeof(line), fp) != NULL)
			if (strncmp(line, "model name", 10) == 0) {
				model = strchr(line, ':');
				if (model != NULL) {
					model += 2;
					model[strcspn(model, "\n")] = '\0';
				}
				break;
			}
		fclose(fp);
	}
	printf("machine: %s %s %s, %ld CPUs, %s\n", u.sysname, u.release,
	    u.machine, sysconf(_SC_NPROCESSORS_ONLN), model ? model : "?");
	printf("one core, engine_process() only, 40-byte TCP packets\n\n");
	printf("| flows     | packets      | one by one   | batches of 64 "
	    "| per pkt   | parse only   | ratio |\n");
	printf("|-----------|--------------|--------------|---------------"
	    "|-----------|--------------|-------|\n");
	if (only != 0) {
		run(only, 20000000);
		return (0);
	}
	run(1000, scale ? 50000000 : 100000);
	run(1000000, scale ? 20000000 : 100000);
	printf("\nresident memory of the whole benchmark with 1 000 000 flows "
	    "in the table: %.1f MB\n", (double)rss_kb / 1024);
	return (0);
}
