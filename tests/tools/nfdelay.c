/*
 * nfdelay: holds every packet of an NFQUEUE for a fixed time, then
 * accepts it -- a slow link for the tests, where the kernel has no netem.
 *
 *   nfdelay -q QUEUE -d MILLISECONDS [-t SECONDS]
 *
 * Packets are released in order, each DELAY after it arrived, so a burst
 * is not serialized: enough for delaying handshakes.  It stops by itself
 * after -t seconds (default 120), so a test cannot leave it running.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <err.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#define MAXHELD	4096

struct held {
	uint32_t	 id;
	double		 due;
};

static struct held	 held[MAXHELD];
static unsigned		 nheld, first;

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

static void
config(struct mnl_socket *nl, unsigned q, int bind)
{
	char		 buf[512];
	struct nlmsghdr	*nlh;

	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, (int)q);
	if (bind)
		nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, NFQNL_CFG_CMD_BIND);
	else
		nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_META, 0);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		err(1, "nfqueue config");
}

static void
verdict(struct mnl_socket *nl, unsigned q, uint32_t id)
{
	char		 buf[512];
	struct nlmsghdr	*nlh;

	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_VERDICT, (int)q);
	nfq_nlmsg_verdict_put(nlh, (int)id, NF_ACCEPT);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		warn("verdict");
}

int
main(int argc, char *argv[])
{
	struct mnl_socket	*nl;
	struct nlattr		*attr[NFQA_MAX + 1];
	struct nfqnl_msg_packet_hdr *ph;
	struct nlmsghdr		*nlh;
	struct pollfd		 pfd;
	char			 buf[65536 + 1024];
	unsigned		 q = 0;
	double			 delay = 0.05, end, t;
	int			 ch, n, len, timeout, life = 120;

	while ((ch = getopt(argc, argv, "d:q:t:")) != -1) {
		switch (ch) {
		case 'd':
			delay = atof(optarg) / 1000.0;
			break;
		case 'q':
			q = (unsigned)atoi(optarg);
			break;
		case 't':
			life = atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: nfdelay -q queue -d ms "
			    "[-t seconds]\n");
			return (1);
		}
	}
	if ((nl = mnl_socket_open(NETLINK_NETFILTER)) == NULL ||
	    mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
		err(1, "netlink");
	config(nl, q, 1);
	config(nl, q, 0);
	pfd.fd = mnl_socket_get_fd(nl);
	pfd.events = POLLIN;
	end = now() + life;
	while ((t = now()) < end) {
		while (nheld > 0 && held[first].due <= t) {
			verdict(nl, q, held[first].id);
			first = (first + 1) % MAXHELD;
			nheld--;
		}
		timeout = nheld > 0 ? (int)((held[first].due - t) * 1000) + 1 :
		    100;
		if (poll(&pfd, 1, timeout) <= 0)
			continue;
		if ((n = (int)mnl_socket_recvfrom(nl, buf, sizeof(buf))) < 0) {
			if (errno == ENOBUFS)
				continue;
			err(1, "recv");
		}
		len = n;
		for (nlh = (struct nlmsghdr *)buf; mnl_nlmsg_ok(nlh, len);
		    nlh = mnl_nlmsg_next(nlh, &len)) {
			memset(attr, 0, sizeof(attr));
			if (nfq_nlmsg_parse(nlh, attr) < 0 ||
			    attr[NFQA_PACKET_HDR] == NULL)
				continue;
			ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
			if (nheld == MAXHELD) {
				verdict(nl, q, ntohl(ph->packet_id));
				continue;
			}
			held[(first + nheld) % MAXHELD].id =
			    ntohl(ph->packet_id);
			held[(first + nheld) % MAXHELD].due = now() + delay;
			nheld++;
		}
	}
	while (nheld > 0) {
		verdict(nl, q, held[first].id);
		first = (first + 1) % MAXHELD;
		nheld--;
	}
	mnl_socket_close(nl);
	return (0);
}
