/*
 * The configuration file syntax shared by loadd.conf and lmd.conf:
 * "key = value" lines, '#' starts a comment, blank lines are ignored.
 * Values may be lists separated by commas.  Errors name file:line.
 */
#ifndef LOADD_CFGFILE_H
#define LOADD_CFGFILE_H

#include <stdint.h>
#include <stdio.h>

#define CFG_MAXLINE	4096

struct cfgfile {
	const char	*path;
	FILE		*fp;
	unsigned	 line;
	unsigned	 errors;
	char		*buf;
	size_t		 bufsz;
};

int	 cfg_open(struct cfgfile *, const char *path);
/* A decimal number from min to max; 0, or -1. */
int	 cfg_uint(const char *, unsigned long min, unsigned long max,
	    unsigned long *);
/*
 * A duration into milliseconds, from min to max: seconds with up to three
 * decimals ("2", "0.5", "1.25s") or milliseconds ("500ms"); 0, or -1.
 */
int	 cfg_ms(const char *, uint32_t min, uint32_t max, uint32_t *ms);
int	 cfg_open_mem(struct cfgfile *, const char *path, const char *text,
	    size_t len);
/* Returns 1 with key and value set, 0 at end of file. */
int	 cfg_next(struct cfgfile *, char **key, char **value);
void	 cfg_close(struct cfgfile *);
void	 cfg_error(struct cfgfile *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/* Splits s at commas; returns the next trimmed item or NULL. */
char	*cfg_list_next(char **s);
typedef void	(*cfg_reporter)(const char *msg);
void	 cfg_set_reporter(cfg_reporter);
void	 cfg_report(const char *, ...) __attribute__((format(printf, 1, 2)));
/* yes/no, true/false, on/off, 1/0; -1 when none of those. */
int	 cfg_bool(const char *);

#endif
