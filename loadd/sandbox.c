/*
 * The packet process's system call filter (Linux, libseccomp).  After
 * the privilege drop the process keeps CAP_NET_ADMIN, which NFQUEUE
 * verdicts need, and with it the power to open new netlink sockets and
 * rewrite firewall rules and routes.  The filter takes that away: the
 * process may use the sockets it holds and open only the kinds its
 * health probes need (IPv4, IPv6; UNIX for syslog), and only the calls
 * its loop makes.  Anything else fails with EPERM -- a failing call is
 * logged by the code that made it, where a killed balancer would say
 * nothing.  The list was taken from strace of the packet process under
 * every feature's integration test.
 */
#include <sys/socket.h>
#ifdef LOADD_FASTPATH
#include <linux/bpf.h>
#endif

#include <errno.h>
#include <seccomp.h>
#include <stddef.h>

#include "log.h"
#include "sandbox.h"

static const int allowed[] = {
	/* The packet loop: NFQUEUE, raw sockets, probes, control, reports. */
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
	SCMP_SYS(pread64), SCMP_SYS(lseek), SCMP_SYS(close),
	SCMP_SYS(recvfrom), SCMP_SYS(recvmsg), SCMP_SYS(recvmmsg),
	SCMP_SYS(sendto), SCMP_SYS(sendmsg), SCMP_SYS(sendmmsg),
	SCMP_SYS(poll), SCMP_SYS(ppoll),
	SCMP_SYS(connect), SCMP_SYS(accept), SCMP_SYS(accept4),
	SCMP_SYS(bind), SCMP_SYS(listen), SCMP_SYS(shutdown),
	SCMP_SYS(getsockopt), SCMP_SYS(setsockopt), SCMP_SYS(getsockname),
	SCMP_SYS(getpeername), SCMP_SYS(fcntl), SCMP_SYS(fstat),
	SCMP_SYS(newfstatat), SCMP_SYS(unlink), SCMP_SYS(unlinkat),
	/* Memory. */
	SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(brk),
	SCMP_SYS(madvise), SCMP_SYS(mprotect),
	/* Time, signals, the rest of the C library. */
	SCMP_SYS(clock_gettime), SCMP_SYS(clock_getres),
	SCMP_SYS(gettimeofday), SCMP_SYS(time), SCMP_SYS(nanosleep),
	SCMP_SYS(clock_nanosleep), SCMP_SYS(rt_sigaction),
	SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn),
	SCMP_SYS(sigaltstack), SCMP_SYS(restart_syscall), SCMP_SYS(kill),
	SCMP_SYS(tgkill), SCMP_SYS(getpid), SCMP_SYS(gettid),
	SCMP_SYS(getppid), SCMP_SYS(getuid), SCMP_SYS(geteuid),
	SCMP_SYS(getgid), SCMP_SYS(getegid), SCMP_SYS(getrandom),
	SCMP_SYS(futex), SCMP_SYS(sched_yield), SCMP_SYS(uname),
	SCMP_SYS(getrusage), SCMP_SYS(exit), SCMP_SYS(exit_group),
};

/* The socket families the packet process may still open. */
static const int families[] = { AF_INET, AF_INET6, AF_UNIX };

#ifdef LOADD_FASTPATH
/*
 * offload = bpf: bpf(2) on the map descriptors opened before the drop,
 * and nothing else of it (no loading, no attaching, no ids to open).
 */
static const int bpf_cmds[] = { BPF_MAP_LOOKUP_ELEM, BPF_MAP_UPDATE_ELEM,
	BPF_MAP_DELETE_ELEM, BPF_MAP_GET_NEXT_KEY, BPF_MAP_LOOKUP_BATCH };
#endif

static int	 allow_arg0(scmp_filter_ctx, int, const int *, unsigned);

/* Allows call when its first argument is one of v. */
static int
allow_arg0(scmp_filter_ctx ctx, int call, const int *v, unsigned n)
{
	unsigned	 i;

	for (i = 0; i < n; i++) {
		struct scmp_arg_cmp cmp = {
			.arg = 0, .op = SCMP_CMP_EQ,
			.datum_a = (scmp_datum_t)v[i], .datum_b = 0,
		};

		if (seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, call, 1,
		    &cmp) < 0)
			return (-1);
	}
	return (0);
}

int
sandbox_packet_process(void)
{
	scmp_filter_ctx	 ctx;
	unsigned	 i;
	int		 rc = -1;

	if ((ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM))) == NULL) {
		log_warnx("seccomp_init failed");
		return (-1);
	}
	for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		/* A call this architecture lacks is skipped, not an error. */
		if (allowed[i] >= 0 &&
		    seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0) < 0)
			goto done;
	if (allow_arg0(ctx, SCMP_SYS(socket), families,
	    sizeof(families) / sizeof(families[0])) == -1)
		goto done;
#ifdef LOADD_FASTPATH
	if (allow_arg0(ctx, SCMP_SYS(bpf), bpf_cmds,
	    sizeof(bpf_cmds) / sizeof(bpf_cmds[0])) == -1)
		goto done;
#endif
	if (seccomp_load(ctx) < 0)
		goto done;
	rc = 0;
done:
	if (rc == -1)
		log_warnx("cannot install the system call filter");
	seccomp_release(ctx);
	return (rc);
}
