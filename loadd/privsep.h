/*
 * Privilege separation, as relayd does it: a privileged parent that only
 * reads the configuration and the key file when asked and relays
 * signals, and the packet process, which runs as an unprivileged user in
 * an empty chroot with CAP_NET_ADMIN alone (NFQUEUE verdicts need it).
 */
#ifndef LOADD_PRIVSEP_H
#define LOADD_PRIVSEP_H

#include <stddef.h>

struct config;
struct config_overrides;
struct pidfh;

/*
 * Whether the packet process's user exists and is not root: 0, or -1
 * with what to do in err.  loadd -n and the start ask it before anything
 * else, so that a missing user is a clear error, not a dead child.
 */
int	 privsep_user_ok(const struct config *, char *err, size_t errlen);
/*
 * Forks.  The parent writes the pid file, serves the child and exits
 * with it; it never returns.  The child drops its privileges and returns
 * its end of the channel to the parent; *pfhp is closed (the parent
 * owns the file).  Exits on failure: loadd never runs half-dropped.
 */
int	 privsep_split(const struct config *, const char *path,
	    const struct config_overrides *, struct pidfh **pfhp);
/*
 * In the child: asks the parent for the configuration as it is now and
 * parses it.  Returns 0, or -1 with why in err.
 */
int	 privsep_fetch(int fd, struct config *, const char *path,
	    const struct config_overrides *, char *err, size_t errlen);

#endif
