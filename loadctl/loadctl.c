/*
 * loadctl: loadd's control client.  It sends one command line to the
 * control socket and prints the answer; see loadctl(8).
 *
 * Every failure says what failed on stderr and exits with its own
 * status, which scripts may rely on (loadctl(8), EXIT STATUS): an error
 * answered by loadd, loadd not reached, loadd refusing this client, a
 * usage error.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <err.h>
#include <errno.h>
#include <paths.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "compat.h"
#include "ctlsocket.h"
#include "proc.h"

#define LINEMAX		1024

#define EXIT_ERROR	1	/* loadd answered with an error */
#define EXIT_UNREACHED	2	/* no loadd on the socket, or no answer */
#define EXIT_REFUSED	3	/* loadd refused this client: try again */
#define EXIT_USAGE	EX_USAGE	/* 64 */

/*
 * How loadd's answer to a client over its limit starts; it closes
 * after it, without reading the command (loadd/ctl.c, accept_clients).
 */
#define REFUSAL		"error: too many clients"

enum answer { A_OK, A_ERROR, A_REFUSED };

static void	 usage(FILE *, int) __attribute__((__noreturn__));
static enum answer	 classify(const char *, size_t);
struct reply;
static size_t	 command_line(int, char *[], int, char *);
static int	 ctl_connect(const char *, const struct timeval *);
static int	 send_command(int, const char *, const char *, size_t);
static void	 out_write(FILE *, const char *, size_t);
static void	 read_answer(int, int, struct reply *);
static int	 verdict(const char *, const struct reply *, int, int, long);

static void
usage(FILE *fp, int rc)
{
	fprintf(fp,
	    "usage: loadctl [-j] [-s socket] command [argument ...]\n"
	    "\n"
	    "  -j         answer in JSON\n"
	    "  -s socket  loadd's control socket (default %s)\n"
	    "\n"
	    "commands:\n"
	    "  show servers | services | stats | status\n"
	    "  show flows [service NAME] [server ADDR:PORT] [client ADDR] "
	    "[state S] [limit N]\n"
	    "  set weight SERVER N\n"
	    "  drain SERVER | disable SERVER | enable SERVER\n"
	    "  reload\n"
	    "  metrics\n", LOADD_CTLSOCKET);
	exit(rc);
}

/* What the start of an answer (at least sizeof(REFUSAL) - 1 bytes) is. */
static enum answer
classify(const char *buf, size_t len)
{
	if (len >= sizeof(REFUSAL) - 1 &&
	    memcmp(buf, REFUSAL, sizeof(REFUSAL) - 1) == 0)
		return (A_REFUSED);
	if ((len >= 6 && memcmp(buf, "error:", 6) == 0) ||
	    (len >= 9 && memcmp(buf, "{\"error\":", 9) == 0))
		return (A_ERROR);
	return (A_OK);
}

/* The command line to send, from the words: its length. */
static size_t
command_line(int argc, char *argv[], int json, char *line)
{
	size_t	 len = 0, n;
	int	 i;

	if (json)
		len = strlcpy(line, "json ", LINEMAX);
	for (i = 0; i < argc; i++) {
		n = strlen(argv[i]);
		if (len + n + 2 > LINEMAX)
			errx(EXIT_USAGE, "command longer than %d bytes",
			    LINEMAX);
		if (i > 0)
			line[len++] = ' ';
		memcpy(line + len, argv[i], n);
		len += n;
	}
	line[len++] = '\n';
	return (len);
}

static int
ctl_connect(const char *path, const struct timeval *tv)
{
	struct sockaddr_un	 sun;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path))
		errx(EXIT_USAGE, "%s: socket path too long (at most %zu "
		    "bytes)", path, sizeof(sun.sun_path) - 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1)
		err(EXIT_UNREACHED, "socket");
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, tv, sizeof(*tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, tv, sizeof(*tv));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		err(EXIT_UNREACHED, "%s (is loadd running? -s names its "
		    "socket)", path);
	return (fd);
}

/*
 * Sends the command; 0, or the errno of a peer that closed first.
 * MSG_NOSIGNAL: a loadd that refuses this client may close before the
 * command is written; then its refusal is still there to read, and a
 * SIGPIPE would kill loadctl without a word.
 */
static int
send_command(int fd, const char *path, const char *line, size_t len)
{
	size_t	 off;
	ssize_t	 r;

	for (off = 0; off < len; off += (size_t)r) {
		if ((r = send(fd, line + off, len - off, MSG_NOSIGNAL)) !=
		    -1)
			continue;
		if (errno == EINTR) {
			r = 0;
			continue;
		}
		if (errno != EPIPE && errno != ECONNRESET)
			err(EXIT_UNREACHED, "%s: sending the command", path);
		return (errno);
	}
	return (0);
}

/* What came back. */
struct reply {
	enum answer	 a;
	int		 decided;	/* the answer's kind is known */
	int		 rerr;		/* the read's errno, if one failed */
};

static void
out_write(FILE *out, const char *buf, size_t n)
{
	if (fwrite(buf, 1, n, out) != n)
		err(EXIT_UNREACHED, "%s", out == stdout ? "stdout" : "stderr");
}

/*
 * Reads and prints the answer.  Its first bytes say what it is; they are
 * gathered before anything is printed.  Text errors go to stderr; a JSON
 * answer is for a program and stays on stdout, error or not.
 */
static void
read_answer(int fd, int json, struct reply *rp)
{
	char		 buf[8192];
	size_t		 have = 0;
	ssize_t		 r;
	FILE		*out = stdout;

	memset(rp, 0, sizeof(*rp));
	for (;;) {
		r = read(fd, buf + have, sizeof(buf) - have);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			rp->rerr = errno;
		if (r > 0)
			have += (size_t)r;
		if (!rp->decided && (r <= 0 || have >= sizeof(REFUSAL) - 1)) {
			if (have == 0)
				break;
			rp->decided = 1;
			if ((rp->a = classify(buf, have)) == A_REFUSED)
				break;
			if (rp->a == A_ERROR && !json)
				out = stderr;
		}
		if (rp->decided && have > 0) {
			out_write(out, buf, have);
			have = 0;
		}
		if (r <= 0)
			break;
	}
	if (fflush(out) == EOF)
		err(EXIT_UNREACHED, "%s", out == stdout ? "stdout" : "stderr");
}

/* The exit status of what came back, or a word and the status. */
static int
verdict(const char *path, const struct reply *rp, int senderr, int json,
    long timeout)
{
	if (rp->a == A_REFUSED)
		errx(EXIT_REFUSED, "%s: loadd refused the connection: too many "
		    "clients; try again", path);
	if (!rp->decided) {
		if (rp->rerr == EAGAIN || rp->rerr == EWOULDBLOCK)
			errx(EXIT_UNREACHED, "%s: no answer within %ld s", path,
			    timeout);
		if (senderr != 0)
			errx(EXIT_UNREACHED, "%s: loadd closed the connection "
			    "before the command was sent", path);
		if (rp->rerr != 0) {
			errno = rp->rerr;
			err(EXIT_UNREACHED, "%s: no answer", path);
		}
		errx(EXIT_UNREACHED, "%s: closed without an answer", path);
	}
	/* A reset after the answer (a busy loadd) still leaves the answer. */
	if (rp->rerr != 0 && rp->rerr != ECONNRESET) {
		errno = rp->rerr;
		err(EXIT_UNREACHED, "%s: the answer was cut short", path);
	}
	if (rp->a == A_ERROR) {
		if (json)
			warnx("loadd answered with an error");
		return (EXIT_ERROR);
	}
	return (0);
}

int
main(int argc, char *argv[])
{
	struct timeval	 tv = { 30, 0 };
	struct reply	 rp;
	const char	*path = LOADD_CTLSOCKET;
	char		 line[LINEMAX + 2];
	size_t		 len;
	int		 ch, fd, json = 0, senderr;

	/* The answer must not go to the socket, should it get 1 or 2. */
	if (stdfds_open() == -1)
		err(EXIT_UNREACHED, "%s", _PATH_DEVNULL);
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
			usage(stderr, EXIT_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		usage(stderr, EXIT_USAGE);
	len = command_line(argc, argv, json, line);
	fd = ctl_connect(path, &tv);
	senderr = send_command(fd, path, line, len);
	read_answer(fd, json, &rp);
	close(fd);
	return (verdict(path, &rp, senderr, json, (long)tv.tv_sec));
}
