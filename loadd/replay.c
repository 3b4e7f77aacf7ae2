/*
 * Replay: the engine on a capture instead of the kernel's queue, with the
 * capture's clock (loadd -r in.pcap -w out.pcap).  No health checks,
 * agents or control socket: what a capture shows is the engine's work.
 */
#include <sys/types.h>

#include <stdio.h>
#include <string.h>

#include "config.h"
#include "engine.h"
#include "log.h"
#include "pktio.h"
#include "replay.h"
#include "setup.h"
#include "stats.h"

int
run_replay(struct config *conf, const char *rpath, const char *wpath)
{
	struct pktio	 io;
	struct engine	 e;
	struct pktbuf	 pb[PKTIO_BATCH];
	char		 why[256];
	int		 n, i, rc = 0;
	uint32_t	 ts = 0;

	memset(&io, 0, sizeof(io));
	io.ops = &pktio_pcap_ops;
	io.rpath = rpath;
	io.wpath = wpath;
	if (io.ops->open(&io) == -1) {
		io.ops->close(&io);
		return (1);
	}
	if (setup_engine(&e, conf, 0, why, sizeof(why)) == -1) {
		log_warnx("%s", why);
		io.ops->close(&io);
		return (1);
	}
	if (log_getverbose() > 0)
		setup_note_methods(conf);
	while (!io.eof) {
		if ((n = io.ops->recv(&io, pb, PKTIO_BATCH)) <= 0)
			continue;
		for (i = 0; i < n; i++) {
			if (pb[i].flags & PB_SKIP)
				continue;
			ts = pb[i].ts;
			engine_set_ms(&e, pb[i].ts_ms);
			engine_process(&e, &pb[i], ts);
		}
		io.ops->send(&io, pb, (unsigned)n);
		setup_flush_generated(&e, &io);
		engine_tick(&e, ts);
	}
	io.ops->close(&io);
	if (io.failed)
		rc = 1;
	log_notice("replay: %llu packets read, %llu written, %llu rewritten, "
	    "%llu dropped, %llu not IP", (unsigned long long)io.st.recv,
	    (unsigned long long)io.st.sent,
	    (unsigned long long)e.st.rewritten,
	    (unsigned long long)e.st.dropped, (unsigned long long)io.st.notip);
	if (log_getverbose() > 0)
		stats_log(&e, &io);
	engine_free(&e);
	return (rc);
}
