/*
 * Privilege separation.  Everything that needs root is done before the
 * split: the packet socket is bound, the raw sockets (resets, ICMP
 * probes), the report and metrics sockets and the control socket are
 * open.  Then:
 *
 *   parent (root)                         child (user, chroot, CAP_NET_ADMIN)
 *   writes the pid file                   drops privileges, runs the loop
 *   SIGHUP, SIGUSR1, SIGTERM -> child     reload: "R" on the channel
 *   "R": reads loadd.conf and the         parses the text it is sent,
 *        key file, checks both, sends        with the keys it is sent
 *   child exits: removes the pid file
 *        and the control socket, exits
 *
 * The parent reads nothing from the child but one request byte, and
 * sends only what it read from files root chose; so a compromised child
 * gains nothing from it but the configuration's text.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#ifdef __linux__
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#endif

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfgfile.h"
#ifdef LOADD_SECCOMP
#include "sandbox.h"
#endif

#if defined(__SANITIZE_ADDRESS__)
#define LOADD_SANITIZED	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define LOADD_SANITIZED	1
#endif
#endif
#include "compat.h"
#include "config.h"
#include "log.h"
#include "privsep.h"
#include "proc.h"

static volatile sig_atomic_t	 sig_got;
static pid_t			 child_pid;

static void
parent_signal(int sig)
{
	int	 saved = errno;

	/* Everything goes to the packet process; it decides. */
	if (child_pid > 0)
		kill(child_pid, sig == SIGINT ? SIGTERM : sig);
	sig_got = sig;
	errno = saved;
}

static int
write_all(int fd, const void *buf, size_t len)
{
	const uint8_t	*b = buf;
	ssize_t		 w;

	while (len > 0) {
		if ((w = write(fd, b, len)) == -1) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		b += w;
		len -= (size_t)w;
	}
	return (0);
}

static int
read_all(int fd, void *buf, size_t len)
{
	uint8_t	*b = buf;
	ssize_t	 r;

	while (len > 0) {
		if ((r = read(fd, b, len)) == -1) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		if (r == 0)
			return (-1);
		b += r;
		len -= (size_t)r;
	}
	return (0);
}

static char	 parent_why[256];

/*
 * One answer: [status][length][text] and, when the status is 0, the key
 * set.  The file is read once, bounded as every configuration file is
 * (cfg_read_file: a regular file of at most CFG_MAXFILE bytes, so that
 * neither a FIFO nor /dev/zero holds or bloats this process), and
 * checked with the very text sent.
 */
static void
parent_answer(int fd, const char *path, const struct config_overrides *ov)
{
	struct config	 c;
	uint32_t	 hdr[2];
	char		*text = NULL;
	size_t		 len = 0;
	int		 ok = -1;

	cfg_catch_begin(parent_why, sizeof(parent_why), "");
	if (cfg_read_file(path, &text, &len) == 0)
		ok = config_load_text(&c, path, text, len, NULL, ov);
	cfg_catch_end();
	if (ok == -1 && parent_why[0] == '\0')
		strlcpy(parent_why, "configuration not loaded",
		    sizeof(parent_why));
	if (ok == 0) {
		hdr[0] = 0;
		hdr[1] = (uint32_t)len;
		if (write_all(fd, hdr, sizeof(hdr)) == -1 ||
		    write_all(fd, text, len) == -1 ||
		    write_all(fd, &c.keys, sizeof(c.keys)) == -1)
			log_warn("privsep: answering the packet process");
		config_free(&c);
	} else {
		hdr[0] = 1;
		hdr[1] = (uint32_t)strlen(parent_why);
		if (write_all(fd, hdr, sizeof(hdr)) == -1 ||
		    write_all(fd, parent_why, hdr[1]) == -1)
			log_warn("privsep: answering the packet process");
	}
	if (text != NULL) {
		explicit_bzero(text, len);
		free(text);
	}
}

static void __attribute__((__noreturn__))
parent_loop(int fd, const struct config *conf, const char *path,
    const struct config_overrides *ov, struct pidfh *pfh)
{
	struct pollfd	 pfd;
	char		 ctl[sizeof(conf->ctlsocket)];
	uint8_t		 req;
	int		 status = 0, rc = 1;
	pid_t		 w;

	strlcpy(ctl, conf->ctlsocket, sizeof(ctl));
	sig_catch(parent_signal, SIGTERM, SIGINT, SIGHUP, SIGUSR1, 0);
	if (pfh != NULL)
		pidfile_write(pfh);
	pfd.fd = fd;
	pfd.events = POLLIN;
	for (;;) {
		if ((w = waitpid(child_pid, &status, WNOHANG)) == child_pid)
			break;
		if (poll(&pfd, 1, 500) == -1 && errno != EINTR)
			break;
		if (!(pfd.revents & (POLLIN | POLLHUP)))
			continue;
		if (read(fd, &req, 1) != 1) {
			/* The child has gone: reap it below. */
			(void)waitpid(child_pid, &status, 0);
			break;
		}
		if (req == 'R')
			parent_answer(fd, path, ov);
	}
	if (WIFEXITED(status))
		rc = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		log_warnx("the packet process died of signal %d",
		    WTERMSIG(status));
	(void)unlink(ctl);
	if (pfh != NULL)
		pidfile_remove(pfh);
	exit(rc);
}

/* The chroot: root's, and nobody else may write to it. */
static void
check_chroot(const char *dir)
{
	struct stat	 st;

	if (stat(dir, &st) == -1) {
		if (errno != ENOENT || mkdir(dir, 0755) == -1 ||
		    stat(dir, &st) == -1)
			fatal("chroot %s", dir);
		log_info("created %s for the packet process's chroot", dir);
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != 0 ||
	    (st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
		fatalx("chroot %s: must be a directory owned by root that "
		    "nobody else may write to", dir);
}

#ifdef __linux__
/* Exactly CAP_NET_ADMIN, effective and permitted; nothing to inherit. */
static void
keep_net_admin(void)
{
	struct __user_cap_header_struct	 hdr;
	struct __user_cap_data_struct	 data[2];

	memset(&hdr, 0, sizeof(hdr));
	memset(data, 0, sizeof(data));
	hdr.version = _LINUX_CAPABILITY_VERSION_3;
	hdr.pid = 0;
	data[CAP_NET_ADMIN / 32].effective = 1u << (CAP_NET_ADMIN % 32);
	data[CAP_NET_ADMIN / 32].permitted = 1u << (CAP_NET_ADMIN % 32);
	if (syscall(SYS_capset, &hdr, data) == -1)
		fatal("capset");
}
#endif

int
privsep_user_ok(const struct config *conf, char *err, size_t errlen)
{
	struct passwd	*pw;

	if ((pw = getpwnam(conf->user)) == NULL) {
		snprintf(err, errlen, "user %s: no such user; create it "
		    "(\"make install\" does: useradd --system --user-group "
		    "--home-dir %s --shell /usr/sbin/nologin %s) or name "
		    "another with \"user =\" in loadd.conf", conf->user,
		    conf->chroot, conf->user);
		return (-1);
	}
	if (pw->pw_uid == 0) {
		snprintf(err, errlen, "user %s is root: choose an "
		    "unprivileged user of loadd's own", conf->user);
		return (-1);
	}
	return (0);
}

/*
 * What the packet process does last, once its user and capabilities are
 * final: the sanitizers' exception, then the system call filter.
 */
static void
sandbox_last(void)
{
#if defined(__linux__) && defined(__has_feature)
#if __has_feature(address_sanitizer)
	/*
	 * Sanitizer builds only: LeakSanitizer stops the world with ptrace,
	 * which a process that changed its user may not undergo.
	 */
	(void)prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
#endif
#elif defined(__linux__) && defined(__SANITIZE_ADDRESS__)
	(void)prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
#endif
#ifdef LOADD_SECCOMP
	/*
	 * The system call filter, last: nothing above may be needed again.
	 * Sanitizer builds go without (LeakSanitizer's ptrace, the
	 * sanitizers' own calls): the filter is for the product.
	 */
#ifndef LOADD_SANITIZED
	if (sandbox_packet_process() == -1)
		fatalx("packet process: no system call filter");
#endif
#endif
}

static void
drop(const struct config *conf)
{
	struct passwd	*pw;
	uid_t		 uid;
	gid_t		 gid;
#ifdef __linux__
	int		 cap;
#endif

	if ((pw = getpwnam(conf->user)) == NULL)
		fatalx("user %s: no such user", conf->user);
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	if (uid == 0)
		fatalx("user %s is root: choose an unprivileged user",
		    conf->user);
	check_chroot(conf->chroot);
#ifdef __linux__
	/* The bounding set goes while CAP_SETPCAP is still there. */
	for (cap = 0; cap <= 63; cap++)
		if (cap != CAP_NET_ADMIN &&
		    prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == -1 &&
		    errno != EINVAL)
			fatal("dropping capability %d", cap);
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) == -1)
		fatal("PR_SET_KEEPCAPS");
#endif
	if (chroot(conf->chroot) == -1 || chdir("/") == -1)
		fatal("chroot %s", conf->chroot);
	if (setgroups(1, &gid) == -1 || setresgid(gid, gid, gid) == -1 ||
	    setresuid(uid, uid, uid) == -1)
		fatal("dropping to user %s", conf->user);
#ifdef __linux__
	keep_net_admin();
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) == -1 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("prctl");
#endif
	if (setuid(0) != -1)
		fatalx("privileges not dropped: setuid(0) worked");
	sandbox_last();
	log_info("packet process: user %s, chroot %s, capabilities: "
	    "CAP_NET_ADMIN only", conf->user, conf->chroot);
}

int
privsep_split(const struct config *conf, const char *path,
    const struct config_overrides *ov, struct pidfh **pfhp)
{
	int	 sp[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1)
		fatal("socketpair");
	switch ((child_pid = fork())) {
	case -1:
		fatal("fork");
	case 0:
		close(sp[0]);
		if (*pfhp != NULL) {
			pidfile_close(*pfhp);
			*pfhp = NULL;
		}
		drop(conf);
		return (sp[1]);
	default:
		close(sp[1]);
		parent_loop(sp[0], conf, path, ov, *pfhp);
	}
}

int
privsep_fetch(int fd, struct config *nc, const char *path,
    const struct config_overrides *ov, char *err, size_t errlen)
{
	struct report_keys keys;
	uint32_t	 hdr[2];
	char		*text;
	uint8_t		 req = 'R';
	int		 rc;

	if (write_all(fd, &req, 1) == -1 ||
	    read_all(fd, hdr, sizeof(hdr)) == -1) {
		snprintf(err, errlen, "the privileged process does not answer");
		return (-1);
	}
	if (hdr[1] > CFG_MAXFILE ||
	    (text = malloc((size_t)hdr[1] + 1)) == NULL) {
		snprintf(err, errlen, "bad answer from the privileged process");
		return (-1);
	}
	if (read_all(fd, text, hdr[1]) == -1 ||
	    (hdr[0] == 0 && read_all(fd, &keys, sizeof(keys)) == -1)) {
		free(text);
		snprintf(err, errlen, "the privileged process does not answer");
		return (-1);
	}
	text[hdr[1]] = '\0';
	if (hdr[0] != 0) {
		snprintf(err, errlen, "%s", text);
		free(text);
		return (-1);
	}
	rc = config_load_text(nc, path, text, hdr[1], &keys, ov);
	explicit_bzero(text, hdr[1]);
	explicit_bzero(&keys, sizeof(keys));
	free(text);
	if (rc == -1)
		snprintf(err, errlen, "configuration not loaded");
	return (rc);
}
