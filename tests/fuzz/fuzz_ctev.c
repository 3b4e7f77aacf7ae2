/*
 * libFuzzer harness for conntrack's event messages (offload = yes,
 * loadd/ctevents.c) and what the engine does with them.  The input is a
 * datagram as the event socket would read it: any number of netlink
 * messages; a mark 0x4c0000NN stands for the mark of server NN.  Every message parses to a defined result without reading
 * past its end; what parses goes to an engine in offload mode with a
 * 64-entry flow table (entries taken back, ids learned, flows ended), and
 * its counters stay consistent.
 */
#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libmnl/libmnl.h>

#include "config.h"
#include "ctevents.h"
#include "engine.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct config	 conf;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char	 path[] = "/tmp/fuzz_ctev.XXXXXX";
	FILE	*fp;
	int	 fd;

	(void)argc;
	(void)argv;
	if ((fd = mkstemp(path)) == -1 || (fp = fdopen(fd, "w")) == NULL)
		abort();
	/* The service of the seeds (mkseeds.py): 10.0.0.1:80. */
	fprintf(fp, "offload = yes\nipaliasing = 10.0.0.1\nports = 80, 53\n"
	    "servers = 10.0.1.1, 10.0.1.2, 10.0.1.3\nmaxflows = 64\n");
	fclose(fp);
	if (config_load(&conf, path, NULL) == -1)
		abort();
	unlink(path);
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint32_t		 buf[65536 / 4];
	struct engine		 e;
	struct ct_end		 ce;
	const struct nlmsghdr	*nlh;
	unsigned		 i;
	uint64_t		 active = 0;
	int			 len, rc;

	if (size > sizeof(buf))
		return (0);
	memcpy(buf, data, size);	/* netlink messages are aligned */
	if (engine_init(&e, &conf.pool, conf.maxflows, conf.timeout, 42) ==
	    -1)
		abort();
	e.offload = 1;
	len = (int)size;
	for (nlh = (const struct nlmsghdr *)buf; ctev_msg_ok(nlh, len);
	    nlh = mnl_nlmsg_next(nlh, &len)) {
		rc = ctev_parse(nlh, &ce);
		if (rc < -1 || rc > 1)
			abort();
		if (rc == 1) {
			if (ce.family != 4 && ce.family != 6)
				abort();
			/*
			 * The harness's shortcut to the servers' marks (a
			 * hash the fuzzer would not guess): 0x4c0000NN is
			 * server NN's, if there is one.
			 */
			if ((ce.mark & 0x00ffff00) == 0 &&
			    (ce.mark & 0xff) < conf.pool.nsrv)
				ce.mark = conf.pool.srv[ce.mark & 0xff].mark;
			(void)engine_offload_event(&e, &ce, 1000);
		}
	}
	/* Every flow in the table is counted active on its server. */
	for (i = 0; i < conf.pool.nsrv; i++)
		active += conf.pool.srv[i].flows_active;
	if (active != e.ft.count)
		abort();
	for (i = 0; i < conf.pool.nsrv; i++) {
		conf.pool.srv[i].flows_active = 0;
		conf.pool.srv[i].flows_total = 0;
	}
	for (i = 0; i < conf.pool.nsvc; i++)
		conf.pool.svc[i].flows_active = 0;
	engine_free(&e);
	return (0);
}
