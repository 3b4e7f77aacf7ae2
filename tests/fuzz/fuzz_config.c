/*
 * libFuzzer harness for the configuration parser: any file contents give
 * either a loaded configuration or errors, never a crash or a leak.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cfgfile.h"
#include "config.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char	 path[] = "/tmp/fuzz_config.XXXXXX";

static void
quiet(const char *msg)
{
	(void)msg;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int	 fd;

	(void)argc;
	(void)argv;
	if ((fd = mkstemp(path)) == -1)
		abort();
	close(fd);
	/* The fuzzer does not need to see each parse error. */
	cfg_set_reporter(quiet);
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config	 conf;
	FILE		*fp;

	if ((fp = fopen(path, "w")) == NULL)
		abort();
	if (size > 0 && fwrite(data, size, 1, fp) != 1)
		abort();
	fclose(fp);
	if (config_load(&conf, path, NULL) == 0)
		config_free(&conf);
	return (0);
}
