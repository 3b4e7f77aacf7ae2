/*
 * Logging shared by loadd and lmd, in the manner of relayd's log.c:
 * err(3)/errx(3) before the daemon has started, these functions after.
 * In the foreground messages go to stderr; a daemon logs to syslog.
 */
#ifndef LOADD_LOG_H
#define LOADD_LOG_H

#include <stdarg.h>

/* Verbosity: 0 errors and notices, 1 info (-v), 2 debug (-vv). */
void	log_init(const char *ident, int foreground, int facility);
/*
 * 2 debug, 1 info, 0 notices and up (the default), -1 warnings and up,
 * -2 fatal errors only.
 */
void	log_setverbose(int);
int	log_getverbose(void);
int	log_facility(const char *);

void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_notice(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
