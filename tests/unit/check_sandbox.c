/*
 * The packet process's system call filter (loadd/sandbox.c), installed
 * for real in a child process: what the loop needs still works, what an
 * intruder would want (a new netlink socket for firewall rules and
 * routes, a raw packet socket, running a program) fails with EPERM.
 */
#ifdef LOADD_SECCOMP
#include <sys/prctl.h>
#include <sys/socket.h>

#include <linux/netlink.h>

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "sandbox.h"
#include "unit.h"

/* Each check in the child sets one bit of its exit status on failure. */
static int
child(void)
{
	char	*argv[] = { "/bin/true", NULL };
	int	 fd, bad = 0;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 ||
	    sandbox_packet_process() == -1)
		return (0x80);
	/* Allowed: probes' sockets, time, memory. */
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) == -1)
		bad |= 0x01;
	else
		close(fd);
	if ((fd = socket(AF_INET6, SOCK_DGRAM, 0)) == -1 &&
	    errno == EPERM)
		bad |= 0x02;
	else if (fd != -1)
		close(fd);
	/* Refused: new netlink sockets of any kind, packet sockets, exec. */
	if ((fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE)) != -1 ||
	    errno != EPERM)
		bad |= 0x04;
	if ((fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER)) != -1 ||
	    errno != EPERM)
		bad |= 0x08;
	if ((fd = socket(AF_PACKET, SOCK_RAW, 0)) != -1 || errno != EPERM)
		bad |= 0x10;
	execv(argv[0], argv);
	if (errno != EPERM)
		bad |= 0x20;
	return (bad);
}

START_TEST(test_filter)
{
	int	 bad = unit_in_child(child);

	ck_assert_msg(bad == 0, "filter checks failed: 0x%02x (0x80 no "
	    "filter, 0x01/0x02 a probe socket refused, 0x04/0x08 netlink "
	    "allowed, 0x10 packet socket allowed, 0x20 exec allowed)", bad);
}
END_TEST

Suite *
sandbox_suite(void)
{
	Suite	*s = suite_create("sandbox");
	TCase	*tc = tcase_create("seccomp");

	tcase_add_test(tc, test_filter);
	suite_add_tcase(s, tc);
	return (s);
}
#endif /* LOADD_SECCOMP */
