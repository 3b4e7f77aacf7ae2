/*
 * The configuration file syntax shared by loadd.conf and lmd.conf:
 * "key = value" lines, '#' starts a comment, blank lines are ignored.
 * Values may be lists separated by commas.  Errors name file:line.
 *
 * A file is untrusted input of bounded size: only a regular file is
 * read, of at most CFG_MAXFILE bytes, read once into memory (so a file
 * that grows while it is read is cut at the bound and refused); a line
 * of more than CFG_MAXLINE bytes is an error; after CFG_MAXERRORS
 * errors the rest of the file is not read.  Bytes that are not
 * printable ASCII are escaped in every message.
 */
#ifndef LOADD_CFGFILE_H
#define LOADD_CFGFILE_H

#include <stdint.h>
#include <stdio.h>

#define CFG_MAXLINE	4096		/* bytes in a line, its newline included */
#define CFG_MAXFILE	(4u << 20)	/* bytes in a file */
#define CFG_MAXERRORS	20		/* errors reported before giving up */

struct cfgfile {
	const char	*path;
	const char	*text;		/* the whole file */
	char		*own;		/* text, when it is ours to free */
	size_t		 len;
	size_t		 off;		/* where the next line starts */
	unsigned	 line;
	unsigned	 errors;
	char		 buf[CFG_MAXLINE + 1];	/* the line cfg_next returns */
};

/*
 * Reads a whole regular file of at most CFG_MAXFILE bytes; the text is
 * NUL-terminated and the caller frees it.  0, or -1 after a message
 * through cfg_report().
 */
int	 cfg_read_file(const char *path, char **text, size_t *len);
/*
 * The bounded read under it, for a descriptor opened and checked by the
 * caller (key files): at most max bytes, NUL-terminated, into a buffer of
 * its own that the caller frees; errors reported as "path: ...".
 */
int	 cfg_read_fd(int fd, const char *path, size_t max, char **text,
	    size_t *len);
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
/*
 * A daemon reading its file again: until cfg_catch_end, each message
 * goes to the log (after prefix, "" for none) and the first is kept in
 * why (emptied first), the reason an answer gives.
 */
void	 cfg_catch_begin(char *why, size_t len, const char *prefix);
void	 cfg_catch_end(void);
void	 cfg_report(const char *, ...) __attribute__((format(printf, 1, 2)));
/* yes/no, true/false, on/off, 1/0; -1 when none of those. */
int	 cfg_bool(const char *);

#endif
