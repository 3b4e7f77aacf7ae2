/*
 * common/cfgfile.c: the reader under loadd.conf and lmd.conf.  What an
 * operator may point -f at by mistake (a FIFO, a directory, /dev/zero,
 * /dev/urandom, a huge file, a file of garbage) ends quickly with one
 * clear message and bounded output, in bounded memory.  Memory is
 * measured as the peak resident size of a child process that does
 * nothing but read the file (wait4's rusage), so the runner's own
 * memory does not count.
 */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfgfile.h"
#include "compat.h"
#include "unit.h"

static char	 msgs[16384];
static unsigned	 nmsgs;
static char	 tmpdir[64];
static char	 path[128];

static void	 collect(const char *);
static void	 setup(void);
static void	 teardown(void);
static void	 write_file(const char *, size_t);
static unsigned	 read_all(const char *);
static long	 child_peak_kb(const char *, unsigned *);
static int	 printable(const char *);

static void
collect(const char *msg)
{
	nmsgs++;
	strlcat(msgs, msg, sizeof(msgs));
	strlcat(msgs, "\n", sizeof(msgs));
}

static void
setup(void)
{
	msgs[0] = '\0';
	nmsgs = 0;
	strlcpy(tmpdir, "/tmp/loadd-unit-cfg-XXXXXX", sizeof(tmpdir));
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(path, sizeof(path), "%s/f", tmpdir);
	cfg_set_reporter(collect);
}

static void
teardown(void)
{
	cfg_set_reporter(NULL);
	(void)unlink(path);
	(void)rmdir(path);
	(void)rmdir(tmpdir);
}

/* The file at path: len bytes of text (NULL: a sparse file of len). */
static void
write_file(const char *text, size_t len)
{
	int	 fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ne(fd, -1);
	if (text != NULL)
		ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
	else
		ck_assert_int_eq(ftruncate(fd, (off_t)len), 0);
	close(fd);
}

/* Opens and reads p to the end; the number of key = value lines. */
static unsigned
read_all(const char *p)
{
	struct cfgfile	 cf;
	char		*k, *v;
	unsigned	 n = 0;

	if (cfg_open(&cf, p) == 0)
		while (cfg_next(&cf, &k, &v))
			n++;
	cfg_close(&cf);
	return (n);
}

/*
 * Reads p in a child; its peak resident size in KB, and in *nmsg how
 * many messages it reported (at most 255).
 */
static long
child_peak_kb(const char *p, unsigned *nmsg)
{
	struct rusage	 ru;
	pid_t		 pid;
	int		 status;

	fflush(stdout);
	fflush(stderr);
	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		nmsgs = 0;
		(void)read_all(p);
		_exit(nmsgs > 255 ? 255 : (int)nmsgs);
	}
	ck_assert_int_eq(wait4(pid, &status, 0, &ru), pid);
	ck_assert_msg(WIFEXITED(status), "the reader died (status %#x)",
	    status);
	*nmsg = (unsigned)WEXITSTATUS(status);
	return (ru.ru_maxrss);
}

/* Whether every byte of s is printable ASCII or a newline. */
static int
printable(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s != '\n' && (*s < 0x20 || *s > 0x7e))
			return (0);
	return (1);
}

START_TEST(test_regular)
{
	struct cfgfile	 cf;
	char		*k, *v;
	const char	*text = "# comment\n\n  a = 1  # two\nb=x, y\r\nc =\n"
			    "last = no newline";

	write_file(text, strlen(text));
	ck_assert_int_eq(cfg_open(&cf, path), 0);
	ck_assert_int_eq(cfg_next(&cf, &k, &v), 1);
	ck_assert_str_eq(k, "a");
	ck_assert_str_eq(v, "1");
	ck_assert_uint_eq(cf.line, 3);
	ck_assert_int_eq(cfg_next(&cf, &k, &v), 1);
	ck_assert_str_eq(k, "b");
	ck_assert_str_eq(v, "x, y");
	ck_assert_int_eq(cfg_next(&cf, &k, &v), 1);
	ck_assert_str_eq(k, "c");
	ck_assert_str_eq(v, "");
	ck_assert_int_eq(cfg_next(&cf, &k, &v), 1);
	ck_assert_str_eq(k, "last");
	ck_assert_str_eq(v, "no newline");
	ck_assert_uint_eq(cf.line, 6);
	ck_assert_int_eq(cfg_next(&cf, &k, &v), 0);
	ck_assert_uint_eq(cf.errors, 0);
	cfg_close(&cf);
	ck_assert_str_eq(msgs, "");
}
END_TEST

/* A FIFO nobody writes to: refused at once, not waited on. */
START_TEST(test_fifo)
{
	struct cfgfile	 cf;
	char		 want[200];

	ck_assert_int_eq(mkfifo(path, 0600), 0);
	ck_assert_int_eq(cfg_open(&cf, path), -1);
	ck_assert_uint_eq(cf.errors, 1);
	cfg_close(&cf);
	snprintf(want, sizeof(want), "%s: a FIFO, not a regular file: "
	    "refused\n", path);
	ck_assert_str_eq(msgs, want);
}
END_TEST

START_TEST(test_directory)
{
	struct cfgfile	 cf;
	char		 want[200];

	ck_assert_int_eq(mkdir(path, 0700), 0);
	ck_assert_int_eq(cfg_open(&cf, path), -1);
	cfg_close(&cf);
	snprintf(want, sizeof(want), "%s: a directory, not a regular file: "
	    "refused\n", path);
	ck_assert_str_eq(msgs, want);
}
END_TEST

/* Devices that never end: refused before a byte is read. */
START_TEST(test_devices)
{
	static const char *const dev[] = { "/dev/zero", "/dev/urandom" };
	char		 want[200];
	unsigned	 n;
	long		 kb, base;

	snprintf(want, sizeof(want), "%s: a character device, not a regular "
	    "file: refused\n", dev[_i]);
	ck_assert_uint_eq(read_all(dev[_i]), 0);
	ck_assert_str_eq(msgs, want);
	write_file("a = 1\n", 6);
	base = child_peak_kb(path, &n);
	kb = child_peak_kb(dev[_i], &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_msg(kb - base < 1024, "%s: peak %ld KB, %ld KB for a small "
	    "file", dev[_i], kb, base);
}
END_TEST

/* 100 MB (sparse): refused by its size, nothing read. */
START_TEST(test_huge_file)
{
	char		 want[200];
	unsigned	 n;
	long		 kb, base;

	write_file("a = 1\n", 6);
	base = child_peak_kb(path, &n);
	write_file(NULL, 100u << 20);
	ck_assert_uint_eq(read_all(path), 0);
	snprintf(want, sizeof(want), "%s: larger than %u bytes: refused\n",
	    path, CFG_MAXFILE);
	ck_assert_str_eq(msgs, want);
	kb = child_peak_kb(path, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_msg(kb - base < 1024, "peak %ld KB, %ld KB for a small file",
	    kb, base);
}
END_TEST

/* The largest file read, and one byte more. */
START_TEST(test_file_bound)
{
	char	*text;

	ck_assert_ptr_nonnull(text = malloc(CFG_MAXFILE + 1));
	memset(text, '\n', CFG_MAXFILE + 1);
	memcpy(text, "a = 1", 5);
	write_file(text, CFG_MAXFILE);
	ck_assert_uint_eq(read_all(path), 1);
	ck_assert_str_eq(msgs, "");
	write_file(text, CFG_MAXFILE + 1);
	ck_assert_uint_eq(read_all(path), 0);
	ck_assert_ptr_nonnull(strstr(msgs, "larger than"));
	free(text);
}
END_TEST

/*
 * A 1 MB line: one error naming it, and the lines after it are read
 * with their right numbers.
 */
START_TEST(test_long_line)
{
	struct cfgfile	 cf;
	char		*text, *k, *v, want[200];
	size_t		 n = 1u << 20;
	long		 kb, base;
	unsigned	 nm;

	ck_assert_ptr_nonnull(text = malloc(n + 64));
	memcpy(text, "a = 1\n", 6);
	memset(text + 6, 'x', n);
	memcpy(text + 6 + n, "\nb = 2\n", 7);
	write_file(text, 6 + n + 7);
	ck_assert_int_eq(cfg_open(&cf, path), 0);
	ck_assert_int_eq(cfg_next(&cf, &k, &v), 1);
	ck_assert_str_eq(k, "a");
	ck_assert_int_eq(cfg_next(&cf, &k, &v), 1);
	ck_assert_str_eq(k, "b");
	ck_assert_uint_eq(cf.line, 3);
	ck_assert_int_eq(cfg_next(&cf, &k, &v), 0);
	ck_assert_uint_eq(cf.errors, 1);
	cfg_close(&cf);
	snprintf(want, sizeof(want), "%s:2: line too long (at most %d bytes)\n",
	    path, CFG_MAXLINE);
	ck_assert_str_eq(msgs, want);
	/* Its memory: the file once, no copy of the line. */
	write_file("a = 1\n", 6);
	base = child_peak_kb(path, &nm);
	write_file(text, 6 + n + 7);
	kb = child_peak_kb(path, &nm);
	ck_assert_msg(kb - base < 3 * 1024, "peak %ld KB, %ld KB for a small "
	    "file", kb, base);
	free(text);
}
END_TEST

/* The longest line taken, its newline included, and one byte more. */
START_TEST(test_line_bound)
{
	char	 text[2 * CFG_MAXLINE + 16];
	size_t	 len;

	memcpy(text, "k = ", 4);
	memset(text + 4, 'v', CFG_MAXLINE - 5);
	text[CFG_MAXLINE - 1] = '\n';
	len = CFG_MAXLINE;
	write_file(text, len);
	ck_assert_uint_eq(read_all(path), 1);
	ck_assert_str_eq(msgs, "");
	text[CFG_MAXLINE - 1] = 'v';
	text[CFG_MAXLINE] = '\n';
	write_file(text, CFG_MAXLINE + 1);
	ck_assert_uint_eq(read_all(path), 0);
	ck_assert_ptr_nonnull(strstr(msgs, ":1: line too long"));
}
END_TEST

START_TEST(test_nul)
{
	struct cfgfile	 cf;
	char		*k, *v, want[200];
	const char	 text[] = "a = 1\nb = x\0y\nc = 3\n";

	write_file(text, sizeof(text) - 1);
	ck_assert_int_eq(cfg_open(&cf, path), 0);
	ck_assert_int_eq(cfg_next(&cf, &k, &v), 1);
	ck_assert_str_eq(k, "a");
	ck_assert_int_eq(cfg_next(&cf, &k, &v), 1);
	ck_assert_str_eq(k, "c");
	ck_assert_uint_eq(cf.line, 3);
	cfg_close(&cf);
	snprintf(want, sizeof(want), "%s:2: NUL byte in line\n", path);
	ck_assert_str_eq(msgs, want);
}
END_TEST

/*
 * Thousands of bad lines: CFG_MAXERRORS messages, then one "giving up",
 * and the rest of the file is not read.
 */
START_TEST(test_many_errors)
{
	struct cfgfile	 cf;
	char		*text, *k, *v, want[200];
	size_t		 i, n = 5000;

	ck_assert_ptr_nonnull(text = malloc(n * 4));
	for (i = 0; i < n; i++)
		memcpy(text + i * 4, "bad\n", 4);
	write_file(text, n * 4);
	ck_assert_int_eq(cfg_open(&cf, path), 0);
	ck_assert_int_eq(cfg_next(&cf, &k, &v), 0);
	ck_assert_uint_eq(cf.line, CFG_MAXERRORS + 1);
	/* Errors found later are counted, and not reported. */
	cfg_error(&cf, "end of file: something missing");
	ck_assert_uint_eq(cf.errors, CFG_MAXERRORS + 2);
	cfg_close(&cf);
	ck_assert_uint_eq(nmsgs, CFG_MAXERRORS + 1);
	snprintf(want, sizeof(want), "%s:%d: more than %d errors, giving up\n",
	    path, CFG_MAXERRORS + 1, CFG_MAXERRORS);
	ck_assert_str_eq(msgs + strlen(msgs) - strlen(want), want);
	free(text);
}
END_TEST

/* Binary garbage: bounded, and no byte of it unescaped in a message. */
START_TEST(test_garbage)
{
	char		 text[65536];
	size_t		 i;
	unsigned	 n;
	uint32_t	 x = 12345;

	for (i = 0; i < sizeof(text); i++) {
		x = x * 1103515245 + 12345;
		text[i] = (char)(x >> 16);
		if (text[i] == '\0')
			text[i] = '=';
	}
	write_file(text, sizeof(text));
	(void)read_all(path);
	ck_assert_uint_le(nmsgs, CFG_MAXERRORS + 1);
	ck_assert_msg(printable(msgs), "unescaped bytes in:\n%s", msgs);
	ck_assert_msg(strstr(msgs, "\\x") != NULL, "%s", msgs);
	(void)child_peak_kb(path, &n);
	ck_assert_uint_le(n, CFG_MAXERRORS + 1);
}
END_TEST

START_TEST(test_mem_bound)
{
	struct cfgfile	 cf;

	ck_assert_int_eq(cfg_open_mem(&cf, "text", "", CFG_MAXFILE + 1), -1);
	ck_assert_uint_eq(cf.errors, 1);
	cfg_close(&cf);
	ck_assert_str_eq(msgs, "text: larger than 4194304 bytes: refused\n");
}
END_TEST

/*
 * A daemon's reload catches the messages: each is logged, the first is
 * kept (bounded, and made printable as every message is); after the
 * catch, messages go where they went before it -- stderr.
 */
START_TEST(test_catch)
{
	char	 why[16];

	strlcpy(why, "stale", sizeof(why));
	cfg_catch_begin(why, sizeof(why), "reload: ");
	ck_assert_str_eq(why, "");
	cfg_report("line %d: first\x01 and a long tail", 3);
	cfg_report("line %d: second", 4);
	ck_assert_str_eq(why, "line 3: first\\x");
	cfg_catch_end();
	ck_assert_int_eq(nmsgs, 0);	/* setup's collector was not used */
	cfg_report("after");		/* stderr again: no crash, no catch */
	ck_assert_str_eq(why, "line 3: first\\x");
}
END_TEST

Suite *
cfgfile_suite(void)
{
	Suite	*s = suite_create("cfgfile");
	TCase	*tc;

	tc = tcase_create("read");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_regular);
	tcase_add_test(tc, test_fifo);
	tcase_add_test(tc, test_directory);
	tcase_add_loop_test(tc, test_devices, 0, 2);
	tcase_add_test(tc, test_huge_file);
	tcase_add_test(tc, test_file_bound);
	tcase_add_test(tc, test_long_line);
	tcase_add_test(tc, test_line_bound);
	tcase_add_test(tc, test_nul);
	tcase_add_test(tc, test_many_errors);
	tcase_add_test(tc, test_garbage);
	tcase_add_test(tc, test_mem_bound);
	tcase_add_test(tc, test_catch);
	suite_add_tcase(s, tc);
	return (s);
}
