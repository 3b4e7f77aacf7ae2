#ifndef LOADD_SYSCTL_CHECK_H
#define LOADD_SYSCTL_CHECK_H

struct config;

/*
 * Says, one line each through say(), which kernel settings will keep the
 * rewritten packets from their way, and what to do; returns how many.
 * Reads /proc/sys and asks the routing table: call it before the
 * privilege split, in loadd's network namespace.
 */
int	 sysctl_check(const struct config *,
	    void (*say)(const char *, ...)
	    __attribute__((format(printf, 1, 2))));

#endif
