#include <ctype.h>
#include <errno.h>
#include <sys/types.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cfgfile.h"

static char	*trim(char *);
static void	 cfg_report_stderr(const char *);

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

void
cfg_report(const char *fmt, ...)
{
	char	 msg[1024];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	reporter(msg);
}

int
cfg_open(struct cfgfile *cf, const char *path)
{
	memset(cf, 0, sizeof(*cf));
	cf->path = path;
	if ((cf->fp = fopen(path, "r")) == NULL) {
		cfg_report("%s: %s", path, strerror(errno));
		cf->errors++;
		return (-1);
	}
	return (0);
}

/* The same, for a file's text already in memory (read by someone else). */
int
cfg_open_mem(struct cfgfile *cf, const char *path, const char *text,
    size_t len)
{
	memset(cf, 0, sizeof(*cf));
	cf->path = path;
	if (len == 0)
		text = "\n", len = 1;
	if ((cf->fp = fmemopen((void *)(uintptr_t)text, len, "r")) == NULL) {
		cfg_report("%s: %s", path, strerror(errno));
		cf->errors++;
		return (-1);
	}
	return (0);
}

void
cfg_close(struct cfgfile *cf)
{
	if (cf->fp != NULL)
		fclose(cf->fp);
	cf->fp = NULL;
	free(cf->buf);
	cf->buf = NULL;
	cf->bufsz = 0;
}

void
cfg_error(struct cfgfile *cf, const char *fmt, ...)
{
	char	 msg[1024];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cfg_report("%s:%u: %s", cf->path, cf->line, msg);
	cf->errors++;
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
	char	*s, *eq, *hash;
	ssize_t	 n;

	while ((n = getline(&cf->buf, &cf->bufsz, cf->fp)) != -1) {
		cf->line++;
		if (n > CFG_MAXLINE) {
			cfg_error(cf, "line too long (at most %d bytes)",
			    CFG_MAXLINE);
			continue;
		}
		if (strlen(cf->buf) != (size_t)n) {
			cfg_error(cf, "NUL byte in line");
			continue;
		}
		if ((hash = strchr(cf->buf, '#')) != NULL)
			*hash = '\0';
		s = trim(cf->buf);
		if (*s == '\0')
			continue;
		if ((eq = strchr(s, '=')) == NULL) {
			cfg_error(cf, "expected \"key = value\", got \"%s\"", s);
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
	if (ferror(cf->fp))
		cfg_error(cf, "read error: %s", strerror(errno));
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
