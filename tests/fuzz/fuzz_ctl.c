/*
 * libFuzzer harness for the control commands: any line gives an answer
 * or an error line, never a crash, a leak or an answer without its end.
 * The commands act on a small configuration with a few flows, as loadd
 * would run it; reload is refused here (it reads files).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cfgfile.h"
#include "compat.h"
#include "config.h"
#include "ctl.h"
#include "engine.h"
#include "health.h"
#include "pktio.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct config	 conf;
static struct engine	 e;
static struct health	*h;
static struct pktio	 io;
static struct ctlenv	 env;

static const char text[] =
    "ipaliasing = 192.0.2.10\nports = 80\n"
    "servers = 10.0.1.11, 10.0.1.12 weight 2, 10.0.1.13 backup\n"
    "check = none\n"
    "service = dns\nipaliasing = 192.0.2.10\nprotocol = udp\nports = 53\n"
    "servers = 10.0.1.11, 10.0.1.21\n"
    "service = six\nipaliasing = 2001:db8::10\nports = 443\n"
    "servers = [2001:db8:1::11]:8443\nbalancingmode = maglev\n";

static int
no_reload(void *arg, char *err, size_t len)
{
	(void)arg;
	strlcpy(err, "not in the fuzzer", len);
	return (-1);
}

static void
quiet(const char *msg)
{
	(void)msg;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	cfg_set_reporter(quiet);
	if (config_load_text(&conf, "fuzz.conf", text, sizeof(text) - 1, NULL,
	    NULL) == -1 ||
	    engine_init(&e, &conf.pool, 1024, conf.timeout, 1) == -1 ||
	    (h = health_new(&conf.pool)) == NULL)
		abort();
	env.e = &e;
	env.conf = &conf;
	env.h = h;
	env.io = &io;
	env.reload = no_reload;
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct obuf	 o;
	char		 line[CTL_LINEMAX + 1];

	/* As the socket hands it over: one line, no NUL, bounded. */
	if (size > CTL_LINEMAX || memchr(data, '\0', size) != NULL)
		return (0);
	memcpy(line, data, size);
	line[size] = '\0';
	memset(&o, 0, sizeof(o));
	(void)ctl_command(&env, line, &o);
	if (o.len == 0 || o.b[o.len - 1] != '\n')
		abort();	/* every answer ends its last line */
	ob_free(&o);
	return (0);
}
