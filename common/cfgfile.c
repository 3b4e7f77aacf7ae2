#include <sys/types.h>
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cfgfile.h"
#include "log.h"

static char		*trim(char *);
static void		 cfg_report_stderr(const char *);
static void		 cfg_emit(const char *);
static const char	*file_kind(mode_t);

static cfg_reporter	 reporter = cfg_report_stderr;

static void
cfg_report_stderr(const char *msg)
{
	fprintf(stderr, "%s\n", msg);
}

/*
 * Where errors go: stderr by default; a daemon reloading its
 * configuration sends them to its log instead.
 */
void
cfg_set_reporter(cfg_reporter fn)
{
	reporter = fn != NULL ? fn : cfg_report_stderr;
}

static struct {
	char		*why;
	size_t		 len;
	const char	*prefix;
} catch;

static void
cfg_catch(const char *msg)
{
	log_warnx("%s%s", catch.prefix, msg);
	if (catch.why[0] == '\0')
		snprintf(catch.why, catch.len, "%s", msg);
}

void
cfg_catch_begin(char *why, size_t len, const char *prefix)
{
	why[0] = '\0';
	catch.why = why;
	catch.len = len;
	catch.prefix = prefix;
	reporter = cfg_catch;
}

void
cfg_catch_end(void)
{
	reporter = cfg_report_stderr;
	catch.why = NULL;
}

/*
 * Messages quote what the file says, and the file may be binary
 * garbage: whatever is not printable ASCII goes out as \xHH, so that
 * no control byte reaches a terminal, a log or a control client.
 */
static void
cfg_emit(const char *msg)
{
	char		 out[1024];
	size_t		 o = 0;
	unsigned char	 c;

	for (; (c = (unsigned char)*msg) != '\0'; msg++) {
		if (c >= 0x20 && c < 0x7f) {
			if (o + 1 >= sizeof(out))
				break;
			out[o++] = (char)c;
		} else {
			if (o + 4 >= sizeof(out))
				break;
			snprintf(out + o, 5, "\\x%02x", c);
			o += 4;
		}
	}
	out[o] = '\0';
	reporter(out);
}

void
cfg_report(const char *fmt, ...)
{
	char	 msg[1024];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cfg_emit(msg);
}

static const char *
file_kind(mode_t m)
{
	if (S_ISDIR(m))
		return ("a directory");
	if (S_ISFIFO(m))
		return ("a FIFO");
	if (S_ISCHR(m))
		return ("a character device");
	if (S_ISBLK(m))
		return ("a block device");
	if (S_ISSOCK(m))
		return ("a socket");
	return ("not a regular file");
}

/*
 * Reads what fd holds, at most max bytes: one buffer of max + 1 bytes
 * and the NUL (pages not read into are never touched), so what is read
 * is never copied -- key files go through here too -- and a file that
 * grows while it is read is refused one byte past the bound, whatever
 * fstat() said.  On failure the buffer is wiped and freed.
 */
int
cfg_read_fd(int fd, const char *path, size_t max, char **textp,
    size_t *lenp)
{
	char	*text;
	size_t	 len = 0;
	ssize_t	 r;

	if ((text = malloc(max + 2)) == NULL) {
		cfg_report("%s: out of memory", path);
		return (-1);
	}
	while (len <= max) {
		if ((r = read(fd, text + len, max + 1 - len)) == -1) {
			if (errno == EINTR)
				continue;
			cfg_report("%s: %s", path, strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (len > max) {
		cfg_report("%s: larger than %zu bytes: refused", path, max);
		goto fail;
	}
	text[len] = '\0';
	*textp = text;
	*lenp = len;
	return (0);
fail:
	explicit_bzero(text, len);
	free(text);
	return (-1);
}

/*
 * O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused
 * right after, like every file that is not regular.
 */
int
cfg_read_file(const char *path, char **textp, size_t *lenp)
{
	struct stat	 st;
	int		 fd, rc = -1;

	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY |
	    O_CLOEXEC)) == -1) {
		cfg_report("%s: %s", path, strerror(errno));
		return (-1);
	}
	if (fstat(fd, &st) == -1)
		cfg_report("%s: %s", path, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		cfg_report("%s: %s, not a regular file: refused", path,
		    file_kind(st.st_mode));
	else if (st.st_size < 0 || (uintmax_t)st.st_size > CFG_MAXFILE)
		cfg_report("%s: larger than %u bytes: refused", path,
		    CFG_MAXFILE);
	else
		rc = cfg_read_fd(fd, path, CFG_MAXFILE, textp, lenp);
	close(fd);
	return (rc);
}

int
cfg_open(struct cfgfile *cf, const char *path)
{
	char	*text;
	size_t	 len;

	memset(cf, 0, sizeof(*cf));
	cf->path = path;
	if (cfg_read_file(path, &text, &len) == -1) {
		cf->errors++;
		return (-1);
	}
	cf->text = cf->own = text;
	cf->len = len;
	return (0);
}

/*
 * The same, for a file's text already in memory (read by someone else,
 * who keeps it until cfg_close()).
 */
int
cfg_open_mem(struct cfgfile *cf, const char *path, const char *text,
    size_t len)
{
	memset(cf, 0, sizeof(*cf));
	cf->path = path;
	if (len > CFG_MAXFILE) {
		cfg_report("%s: larger than %u bytes: refused", path,
		    CFG_MAXFILE);
		cf->errors++;
		return (-1);
	}
	cf->text = text;
	cf->len = len;
	return (0);
}

void
cfg_close(struct cfgfile *cf)
{
	if (cf->own != NULL) {
		explicit_bzero(cf->own, cf->len);
		free(cf->own);
	}
	cf->own = NULL;
	cf->text = NULL;
	cf->len = cf->off = 0;
	explicit_bzero(cf->buf, sizeof(cf->buf));
}

/*
 * Counted always, reported up to CFG_MAXERRORS; then once "giving up",
 * and cfg_next() reads no further.
 */
void
cfg_error(struct cfgfile *cf, const char *fmt, ...)
{
	char	 msg[1024];
	va_list	 ap;

	cf->errors++;
	if (cf->errors > CFG_MAXERRORS + 1)
		return;
	if (cf->errors == CFG_MAXERRORS + 1) {
		cfg_report("%s:%u: more than %d errors, giving up", cf->path,
		    cf->line, CFG_MAXERRORS);
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cfg_report("%s:%u: %s", cf->path, cf->line, msg);
}

static char *
trim(char *s)
{
	char	*e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return (s);
}

int
cfg_next(struct cfgfile *cf, char **key, char **value)
{
	const char	*l, *nl;
	char		*s, *eq, *hash;
	size_t		 n;

	while (cf->off < cf->len && cf->errors <= CFG_MAXERRORS) {
		l = cf->text + cf->off;
		nl = memchr(l, '\n', cf->len - cf->off);
		n = nl != NULL ? (size_t)(nl - l) + 1 : cf->len - cf->off;
		cf->off += n;
		cf->line++;
		if (n > CFG_MAXLINE) {
			cfg_error(cf, "line too long (at most %d bytes)",
			    CFG_MAXLINE);
			continue;
		}
		if (memchr(l, '\0', n) != NULL) {
			cfg_error(cf, "NUL byte in line");
			continue;
		}
		memcpy(cf->buf, l, n);
		cf->buf[n] = '\0';
		if ((hash = strchr(cf->buf, '#')) != NULL)
			*hash = '\0';
		s = trim(cf->buf);
		if (*s == '\0')
			continue;
		if ((eq = strchr(s, '=')) == NULL) {
			cfg_error(cf, "expected \"key = value\", got \"%.40s%s\"",
			    s, strlen(s) > 40 ? "..." : "");
			continue;
		}
		*eq = '\0';
		*key = trim(s);
		*value = trim(eq + 1);
		if (**key == '\0') {
			cfg_error(cf, "missing key before '='");
			continue;
		}
		return (1);
	}
	return (0);
}

char *
cfg_list_next(char **s)
{
	char	*item, *comma;

	if (*s == NULL)
		return (NULL);
	item = *s;
	if ((comma = strchr(item, ',')) != NULL) {
		*comma = '\0';
		*s = comma + 1;
	} else
		*s = NULL;
	return (trim(item));
}

int
cfg_bool(const char *v)
{
	if (strcasecmp(v, "yes") == 0 || strcasecmp(v, "true") == 0 ||
	    strcasecmp(v, "on") == 0 || strcmp(v, "1") == 0)
		return (1);
	if (strcasecmp(v, "no") == 0 || strcasecmp(v, "false") == 0 ||
	    strcasecmp(v, "off") == 0 || strcmp(v, "0") == 0)
		return (0);
	return (-1);
}

int
cfg_uint(const char *s, unsigned long min, unsigned long max,
    unsigned long *v)
{
	char	*end;

	if (*s < '0' || *s > '9')
		return (-1);
	errno = 0;
	*v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || *v < min || *v > max)
		return (-1);
	return (0);
}

int
cfg_ms(const char *s, uint32_t min, uint32_t max, uint32_t *ms)
{
	uint64_t	 v = 0;
	unsigned	 digits = 0, frac = 0;
	int		 dot = 0;

	for (; (*s >= '0' && *s <= '9') || (*s == '.' && !dot); s++) {
		if (*s == '.') {
			if (digits == 0)
				return (-1);
			dot = 1;
			continue;
		}
		if ((dot && frac == 3) || digits > 9)
			return (-1);	/* finer than 1 ms, or too long */
		v = v * 10 + (uint64_t)(*s - '0');
		digits++;
		if (dot)
			frac++;
	}
	if (digits == 0 || (dot && frac == 0))
		return (-1);
	if (strcmp(s, "ms") == 0) {
		if (dot)
			return (-1);
	} else if (*s == '\0' || strcmp(s, "s") == 0) {
		for (; frac < 3; frac++)
			v *= 10;
	} else
		return (-1);
	if (v < min || v > max)
		return (-1);
	*ms = (uint32_t)v;
	return (0);
}
