/*
 * loadctl: loadd's control client.  It sends one command line to the
 * control socket and prints the answer; see loadctl(8).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compat.h"

#ifndef LOADD_CTLSOCKET
#define LOADD_CTLSOCKET	"/var/run/loadd.sock"
#endif
#define LINEMAX		1024

static void __attribute__((__noreturn__))
usage(FILE *fp, int rc)
{
	fprintf(fp,
	    "usage: loadctl [-j] [-s socket] command [argument ...]\n"
	    "\n"
	    "  -j         answer in JSON\n"
	    "  -s socket  loadd's control socket (default %s)\n"
	    "\n"
	    "commands:\n"
	    "  show servers | services | stats\n"
	    "  show flows [service NAME] [server ADDR:PORT] [client ADDR] "
	    "[state S] [limit N]\n"
	    "  set weight SERVER N\n"
	    "  drain SERVER | disable SERVER | enable SERVER\n"
	    "  reload\n"
	    "  metrics\n", LOADD_CTLSOCKET);
	exit(rc);
}

int
main(int argc, char *argv[])
{
	struct sockaddr_un	 sun;
	struct timeval		 tv = { 30, 0 };
	const char		*path = LOADD_CTLSOCKET;
	char			 line[LINEMAX + 2], buf[8192];
	size_t			 len = 0, n;
	ssize_t			 r;
	int			 ch, fd, json = 0, i, first = 1, failed = 0;

	/* "+": options end at the command ("set weight S -1" is its own). */
	while ((ch = getopt(argc, argv, "+hjs:")) != -1) {
		switch (ch) {
		case 'h':
			usage(stdout, 0);
		case 'j':
			json = 1;
			break;
		case 's':
			path = optarg;
			break;
		default:
			usage(stderr, 2);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		usage(stderr, 2);
	if (json)
		len = strlcpy(line, "json ", sizeof(line));
	for (i = 0; i < argc; i++) {
		n = strlen(argv[i]);
		if (len + n + 2 > LINEMAX)
			errx(2, "command longer than %d bytes", LINEMAX);
		if (i > 0)
			line[len++] = ' ';
		memcpy(line + len, argv[i], n);
		len += n;
	}
	line[len++] = '\n';

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path))
		errx(2, "%s: path too long", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1)
		err(2, "socket");
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		err(2, "%s (is loadd running? -s names its socket)", path);
	if (write(fd, line, len) != (ssize_t)len)
		err(2, "%s: write", path);
	while ((r = read(fd, buf, sizeof(buf))) > 0) {
		/* An answer that starts with an error is a failure. */
		if (first && ((r >= 6 && memcmp(buf, "error:", 6) == 0) ||
		    (r >= 9 && memcmp(buf, "{\"error\":", 9) == 0)))
			failed = 1;
		first = 0;
		if (fwrite(buf, 1, (size_t)r, stdout) != (size_t)r)
			err(2, "stdout");
	}
	/* A reset after the answer (a busy loadd) still leaves the answer. */
	if (r == -1 && (first || errno != ECONNRESET))
		err(2, "%s: read", path);
	if (first)
		errx(2, "%s: no answer", path);
	close(fd);
	return (failed);
}
