/*
 * libFuzzer harness for the agent report decoder and loadd's receiver
 * rules.  The first byte of an input chooses how the rest is used:
 *
 *   bit 0 clear  the rest is a datagram exactly as received;
 *   bit 0 set    the rest is a datagram whose MAC the harness writes with
 *                the key its key id names (if any), so that the fuzzer
 *                also reaches what lies behind the MAC: field ranges,
 *                sender, staleness and replay;
 *   bit 1 set    the datagram comes from the address it names, not from
 *                10.0.1.11.
 *
 * Any input gives one of the defined results, and only an accepted
 * report changes the server's state.
 */
#include <arpa/inet.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "agent.h"
#include "cfgfile.h"
#include "config.h"
#include "report.h"

#define NOW_MS		1700000000000ull

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct config		 conf;
static struct report_keys	 keys;
static struct agent		 agent;
static uint64_t			 mono = 1000;

static void
quiet(const char *msg)
{
	(void)msg;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char text[] = "ipaliasing = 10.0.0.1\nports = 80\n"
	    "servers = 10.0.1.11, 10.0.1.12:8080\nservice = dns\n"
	    "ipaliasing = 2001:db8::1\nprotocol = udp\nports = 53\n"
	    "servers = 2001:db8::11\n";
	char	 path[] = "/tmp/fuzz_report.XXXXXX";
	int	 fd;

	(void)argc;
	(void)argv;
	if (report_init() == -1 || (fd = mkstemp(path)) == -1)
		abort();
	if (write(fd, text, sizeof(text) - 1) != (ssize_t)sizeof(text) - 1)
		abort();
	close(fd);
	cfg_set_reporter(quiet);
	if (config_load(&conf, path, NULL) == -1)
		abort();
	unlink(path);
	keys.k[0].id = 1;
	memset(keys.k[0].key, 0x42, REPORT_KEYLEN);
	keys.k[1].id = 2;
	memset(keys.k[1].key, 0x99, REPORT_KEYLEN);
	keys.n = 2;
	if (agent_init(&agent, &conf.pool, &keys, AGENT_WINDOW_MS,
	    AGENT_STALE_INTERVALS) == -1)
		abort();
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct report_key	*k;
	struct agent_state	 before;
	union addr		 src;
	uint8_t			*buf;
	unsigned		 srv = UINT32_MAX, i;
	int			 family = 4, r;

	if (size < 1)
		return (0);
	/* A copy of its own size, so ASan sees any read past the end. */
	if ((buf = malloc(size > 1 ? size - 1 : 1)) == NULL)
		abort();
	memcpy(buf, data + 1, size - 1);
	if ((data[0] & 1) && size - 1 >= REPORT_LEN &&
	    (k = report_keys_find(&keys, buf[5])) != NULL)
		crypto_auth_hmacsha256(buf + REPORT_BODYLEN, buf,
		    REPORT_BODYLEN, k->key);
	memset(&src, 0, sizeof(src));
	inet_pton(AF_INET, "10.0.1.11", src.b);
	if ((data[0] & 2) && size - 1 >= 24) {
		memcpy(src.b, buf + 8, 16);
		family = buf[6] == 6 ? 6 : 4;
	}
	mono += data[0] >> 2;
	before = agent.st[0];
	r = agent_receive(&agent, &conf.pool, buf, size - 1, family, &src,
	    NOW_MS, mono, &srv);
	if (r < 0 || r >= AGENT_NRESULTS)
		abort();
	if (r == AGENT_ACCEPTED) {
		if (srv >= conf.pool.nsrv || !agent.st[srv].valid ||
		    agent.st[srv].rcvd_ms != mono ||
		    agent.st[srv].r.cpu_pm > REPORT_PM_MAX ||
		    !agent_fresh(&agent, srv, mono))
			abort();
		(void)agent_load_now(&agent, &conf.pool, srv);
	} else if (memcmp(&before, &agent.st[0], sizeof(before)) != 0)
		abort();
	for (i = 0; i < conf.pool.nsrv; i++)
		(void)agent_load(&agent, i, data[0]);
	free(buf);
	return (0);
}
