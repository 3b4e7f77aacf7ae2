/*
 * The eBPF fast path (bpf/fastpath.bpf.c, loadd/fastpath.c), in the
 * kernel: the program is loaded for real and fed hand-built frames with
 * BPF_PROG_TEST_RUN.  Each test runs in network and mount namespaces of
 * its own, with two veth interfaces standing for the client and server
 * sides of a balancer:
 *
 *	c0 02:00:00:00:00:01  198.18.0.1/24  2001:2::1/64      (clients)
 *	s0 02:00:00:00:00:02  198.18.1.1/24  2001:2:0:1::1/64  (servers)
 *
 * and a private bpffs for the pins.  Every expected checksum comes from
 * ref_cksums_ok() (check_cksum.c), which shares nothing with the kernel's
 * helpers.  Needs root and bpf(2): without them the suite has no tests
 * and says so.
 */
#ifdef LOADD_FASTPATH
#include <sys/mount.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>

#include <sys/syscall.h>

#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <linux/sched.h>

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "fastpath.h"
#include "pkt.h"
#include "unit.h"

/* loadd/sched.h hides libc's <sched.h> here: the system calls direct. */
#define unshare(f)	((int)syscall(SYS_unshare, (f)))
#define setns(fd, t)	((int)syscall(SYS_setns, (fd), (t)))

#define ETH	14
#define MAC_C0	"\x02\x00\x00\x00\x00\x01"
#define MAC_S0	"\x02\x00\x00\x00\x00\x02"

#define CLIENT	"198.18.0.2"
#define VIP	"198.18.100.1"
#define SERVER	"198.18.1.11"
#define CLIENT6	"2001:2::2"
#define VIP6	"2001:2:0:100::1"
#define SERVER6	"2001:2:0:1::11"
#define CPORT	40000
#define VPORT	80
#define SPORT	8080

static const char lab_script[] =
    "set -e; export PATH=\"$PATH:/usr/sbin:/sbin\"\n"
    "ip link set lo up\n"
    "ip link add c0 address 02:00:00:00:00:01 type veth peer name c1\n"
    "ip link add s0 address 02:00:00:00:00:02 type veth peer name s1\n"
    "for i in c0 c1 s0 s1; do ip link set $i up; done\n"
    "ip addr add 198.18.0.1/24 dev c0\n"
    "ip addr add 198.18.1.1/24 dev s0\n"
    "ip addr add 2001:2::1/64 dev c0 nodad\n"
    "ip addr add 2001:2:0:1::1/64 dev s0 nodad\n"
    "ip neigh add 198.18.0.2 lladdr 02:00:00:00:00:c2 dev c0 nud permanent\n"
    "ip neigh add 198.18.1.11 lladdr 02:00:00:00:00:11 dev s0 nud permanent\n"
    "echo 1 > /proc/sys/net/ipv4/conf/all/forwarding\n"
    "echo 1 > /proc/sys/net/ipv6/conf/all/forwarding\n";

static struct fastpath		*fp;
static struct fastpath_conf	 conf;
static char			 fsdir[] = "/tmp/check_fastpath.XXXXXX";
static int			 oldnet = -1, oldmnt = -1;

static void	 lab_setup(void);
static void	 lab_teardown(void);
static size_t	 frame(uint8_t *, size_t, const struct tpkt *, const char *);
static int	 run(const char *, const uint8_t *, size_t, uint8_t *,
		    size_t *);
static void	 flow_of(struct fastpath_flow *, int, uint8_t);
static uint64_t	 stat_of(enum fp_stat);
static void	 expect_pass(const char *, const uint8_t *, size_t,
		    enum fp_stat);
static void	 expect_rewrite(const char *, const uint8_t *, size_t,
		    const struct tpkt *);
static void	 both_ways(int, uint8_t);
static int	 count_flow(const struct fastpath_flow *,
		    const struct fastpath_counters *, void *);

static void
lab_setup(void)
{
	char	 err[FASTPATH_ERRLEN];

	oldnet = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	oldmnt = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(oldnet, 0);
	ck_assert_int_ge(oldmnt, 0);
	ck_assert_ptr_nonnull(mkdtemp(fsdir));
	ck_assert_msg(unshare(CLONE_NEWNET | CLONE_NEWNS) == 0,
	    "unshare: %s", strerror(errno));
	ck_assert_int_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL),
	    0);
	ck_assert_msg(system(lab_script) == 0, "the veth lab failed");
	memset(&conf, 0, sizeof(conf));
	conf.bpffs = fsdir;	/* fastpath_open mounts bpffs there */
	conf.max_flows = 64;
	fp = fastpath_open(&conf, err, sizeof(err));
	ck_assert_msg(fp != NULL, "%s", err);
	ck_assert_int_eq(fastpath_adopted(fp), 0);
}

static void
lab_teardown(void)
{
	fastpath_close(fp);
	fp = NULL;
	fastpath_unpin(&conf, NULL, 0);
	umount2(fsdir, MNT_DETACH);
	/* Back to the runner's namespaces (CK_FORK=no runs tests here). */
	if (oldnet >= 0 && setns(oldnet, CLONE_NEWNET) == 0)
		close(oldnet);
	if (oldmnt >= 0 && setns(oldmnt, CLONE_NEWNS) == 0)
		close(oldmnt);
	oldnet = oldmnt = -1;
	rmdir(fsdir);
	memcpy(fsdir + sizeof(fsdir) - 7, "XXXXXX", 6);
}

/* An Ethernet frame to dstmac around the IP packet of t. */
static size_t
frame(uint8_t *buf, size_t size, const struct tpkt *t, const char *dstmac)
{
	size_t	 len;

	len = tpkt_build(buf + ETH, size - ETH, t);
	ck_assert_uint_gt(len, 0);
	memcpy(buf, dstmac, 6);
	memcpy(buf + 6, "\x02\x00\x00\x00\x00\xee", 6);
	put_be16(buf + 12, t->family == 4 ? 0x0800 : 0x86dd);
	return (len + ETH);
}

/* Runs the program on a frame arriving on ifname; returns the verdict. */
static int
run(const char *ifname, const uint8_t *in, size_t len, uint8_t *out,
    size_t *outlen)
{
	struct __sk_buff	 ctx;
	int			 rc;

	memset(&ctx, 0, sizeof(ctx));
	ctx.ifindex = if_nametoindex(ifname);
	ctx.ingress_ifindex = ctx.ifindex;
	ck_assert_uint_gt(ctx.ifindex, 0);
	LIBBPF_OPTS(bpf_test_run_opts, opts,
	    .data_in = in,
	    .data_size_in = (uint32_t)len,
	    .data_out = out,
	    .data_size_out = (uint32_t)*outlen,
	    .ctx_in = &ctx,
	    .ctx_size_in = sizeof(ctx),
	);
	rc = bpf_prog_test_run_opts(fastpath_prog_fd(fp), &opts);
	ck_assert_msg(rc == 0, "BPF_PROG_TEST_RUN: %s", strerror(-rc));
	*outlen = opts.data_size_out;
	return ((int)opts.retval);
}

/* The test flow: CLIENT:CPORT -> VIP:VPORT carried by SERVER:SPORT. */
static void
flow_of(struct fastpath_flow *f, int family, uint8_t proto)
{
	int	 af = family == 4 ? AF_INET : AF_INET6;

	memset(f, 0, sizeof(*f));
	f->family = family;
	f->proto = proto;
	ck_assert_int_eq(inet_pton(af, family == 4 ? CLIENT : CLIENT6,
	    f->client.b), 1);
	ck_assert_int_eq(inet_pton(af, family == 4 ? VIP : VIP6, f->vip.b), 1);
	ck_assert_int_eq(inet_pton(af, family == 4 ? SERVER : SERVER6,
	    f->server.b), 1);
	f->cport = CPORT;
	f->vport = VPORT;
	f->sport = SPORT;
}

static uint64_t
stat_of(enum fp_stat st)
{
	struct fastpath_stats	 s;

	ck_assert_int_eq(fastpath_stats_read(fp, &s), 0);
	return (s.st[st]);
}

/* The frame goes on untouched (TC_ACT_OK), counted under st. */
static void
expect_pass(const char *ifname, const uint8_t *in, size_t len,
    enum fp_stat st)
{
	uint8_t		 out[4096];
	size_t		 outlen = sizeof(out);
	uint64_t	 before = stat_of(st);

	ck_assert_int_eq(run(ifname, in, len, out, &outlen), TC_ACT_OK);
	ck_assert_uint_eq(outlen, len);
	ck_assert_msg(memcmp(in, out, len) == 0, "a passed frame changed");
	ck_assert_msg(stat_of(st) == before + 1, "counter %s: %llu, was %llu",
	    fastpath_stat_names[st], (unsigned long long)stat_of(st),
	    (unsigned long long)before);
}

/*
 * The frame is redirected, and its IP packet is exactly want's (the
 * rewritten addresses and ports, TTL 63, every checksum right).
 */
static void
expect_rewrite(const char *ifname, const uint8_t *in, size_t len,
    const struct tpkt *want)
{
	uint8_t		 out[4096], exp[4096];
	size_t		 outlen = sizeof(out), explen;
	char		 why[128];
	uint64_t	 before = stat_of(FP_ST_HIT);

	ck_assert_int_eq(run(ifname, in, len, out, &outlen), TC_ACT_REDIRECT);
	ck_assert_uint_eq(outlen, len);
	ck_assert_msg(ref_cksums_ok(out + ETH, outlen - ETH, why,
	    sizeof(why)), "rewritten packet: %s", why);
	explen = tpkt_build(exp, sizeof(exp), want);
	ck_assert_uint_eq(explen + ETH, outlen);
	/* tpkt_build writes TTL 64: the router took one. */
	if (want->family == 4) {
		exp[8] = 63;
		put_be16(exp + 10, 0);
		put_be16(exp + 10, ref_cksum(exp, 20));
	} else
		exp[7] = 63;
	ck_assert_msg(memcmp(exp, out + ETH, explen) == 0,
	    "the rewritten packet is not the one expected");
	ck_assert_uint_eq(stat_of(FP_ST_HIT), before + 1);
}

/* Both directions of one flow, rewritten and counted. */
static void
both_ways(int family, uint8_t proto)
{
	struct fastpath_flow	 f;
	struct fastpath_counters c;
	struct tpkt		 t, w;
	uint8_t			 in[2048];
	size_t			 len, flen;
	uint64_t		 t0, t1;

	flow_of(&f, family, proto);
	ck_assert_msg(fastpath_flow_add(fp, &f) == 0, "%s",
	    fastpath_error(fp));

	memset(&t, 0, sizeof(t));
	t.family = family;
	t.proto = proto;
	t.src = family == 4 ? CLIENT : CLIENT6;
	t.dst = family == 4 ? VIP : VIP6;
	t.sport = CPORT;
	t.dport = VPORT;
	t.tcpflags = TH_ACK;
	t.paylen = 333;
	w = t;
	w.dst = family == 4 ? SERVER : SERVER6;
	w.dport = SPORT;
	len = flen = frame(in, sizeof(in), &t, MAC_C0);
	t0 = fastpath_now_ns();
	expect_rewrite("c0", in, len, &w);
	expect_rewrite("c0", in, len, &w);
	t1 = fastpath_now_ns();

	/* The reply: server -> client becomes VIP -> client. */
	t.src = family == 4 ? SERVER : SERVER6;
	t.dst = family == 4 ? CLIENT : CLIENT6;
	t.sport = SPORT;
	t.dport = CPORT;
	t.paylen = 1000;
	w = t;
	w.src = family == 4 ? VIP : VIP6;
	w.sport = VPORT;
	len = frame(in, sizeof(in), &t, MAC_S0);
	expect_rewrite("s0", in, len, &w);

	ck_assert_int_eq(fastpath_flow_read(fp, &f, &c), 0);
	ck_assert_int_eq(c.has, FASTPATH_HAS_TO_SERVER |
	    FASTPATH_HAS_TO_CLIENT);
	ck_assert_uint_eq(c.to_server.packets, 2);
	ck_assert_uint_eq(c.to_server.bytes, 2 * (flen - ETH));
	ck_assert_uint_eq(c.to_client.packets, 1);
	ck_assert_uint_eq(c.to_client.bytes, len - ETH);
	ck_assert_msg(c.to_server.last_ns >= t0 && c.to_server.last_ns <= t1,
	    "last seen %llu not within [%llu, %llu]",
	    (unsigned long long)c.to_server.last_ns, (unsigned long long)t0,
	    (unsigned long long)t1);
	ck_assert_uint_ge(c.to_client.last_ns, c.to_server.last_ns);
	ck_assert(!c.to_server.fin && !c.to_server.rst);
}

START_TEST(test_tcp4)
{
	both_ways(4, PROTO_TCP);
}
END_TEST

START_TEST(test_tcp6)
{
	both_ways(6, PROTO_TCP);
}
END_TEST

START_TEST(test_udp4)
{
	both_ways(4, PROTO_UDP);
}
END_TEST

START_TEST(test_udp6)
{
	both_ways(6, PROTO_UDP);
}
END_TEST

/*
 * UDP over IPv4 without a checksum keeps none; one whose rewritten
 * checksum comes out 0 is sent as 0xffff (RFC 768).
 */
START_TEST(test_udp_zero)
{
	struct fastpath_flow	 f;
	struct tpkt		 t, w;
	uint8_t			 in[256], out[256], pay[16], exp[256];
	size_t			 len, outlen = sizeof(out);
	uint16_t		 sum;

	flow_of(&f, 4, PROTO_UDP);
	ck_assert_int_eq(fastpath_flow_add(fp, &f), 0);
	memset(&t, 0, sizeof(t));
	t.family = 4;
	t.proto = PROTO_UDP;
	t.src = CLIENT;
	t.dst = VIP;
	t.sport = CPORT;
	t.dport = VPORT;
	t.paylen = sizeof(pay);
	len = frame(in, sizeof(in), &t, MAC_C0);
	put_be16(in + ETH + 20 + 6, 0);
	ck_assert_int_eq(run("c0", in, len, out, &outlen), TC_ACT_REDIRECT);
	ck_assert_uint_eq(get_be16(out + ETH + 20 + 6), 0);
	ck_assert_int_eq(memcmp(out + ETH + 16, in + ETH + 16, 4) != 0, 1);
	ck_assert_uint_eq(get_be16(out + ETH + 20 + 2), SPORT);

	/*
	 * A payload whose last word makes the rewritten packet's sum
	 * 0xffff, i.e. a computed checksum of 0.
	 */
	memset(pay, 0x5a, sizeof(pay));
	w = t;
	w.dst = SERVER;
	w.dport = SPORT;
	w.payload = pay;
	pay[14] = pay[15] = 0;
	tpkt_build(exp, sizeof(exp), &w);
	sum = (uint16_t)~get_be16(exp + 20 + 6);
	put_be16(pay + 14, (uint16_t)(0xffff - sum));
	t.payload = pay;
	len = frame(in, sizeof(in), &t, MAC_C0);
	ck_assert_uint_ne(get_be16(in + ETH + 20 + 6), 0);
	outlen = sizeof(out);
	ck_assert_int_eq(run("c0", in, len, out, &outlen), TC_ACT_REDIRECT);
	ck_assert_uint_eq(get_be16(out + ETH + 20 + 6), 0xffff);
}
END_TEST

/*
 * On a bridge's port, a frame for the bridge's MAC is "other host" to
 * the port: the flow's packets are still rewritten there.
 */
START_TEST(test_bridge_port)
{
	struct fastpath_flow	 f;
	struct tpkt		 t, w;
	uint8_t			 in[256];
	size_t			 len;

	flow_of(&f, 4, PROTO_TCP);
	ck_assert_int_eq(fastpath_flow_add(fp, &f), 0);
	memset(&t, 0, sizeof(t));
	t.family = 4;
	t.proto = PROTO_TCP;
	t.src = SERVER;
	t.dst = CLIENT;
	t.sport = SPORT;
	t.dport = CPORT;
	t.tcpflags = TH_ACK;
	w = t;
	w.src = VIP;
	w.sport = VPORT;
	len = frame(in, sizeof(in), &t, "\x02\x00\x00\x00\x00\xb0");
	expect_rewrite("s0", in, len, &w);
}
END_TEST

/* FIN and RST are noted per direction, and still forwarded. */
START_TEST(test_fin_rst)
{
	struct fastpath_flow	 f;
	struct fastpath_counters c;
	struct tpkt		 t;
	uint8_t			 in[256], out[256];
	size_t			 len, outlen = sizeof(out);

	flow_of(&f, 4, PROTO_TCP);
	ck_assert_int_eq(fastpath_flow_add(fp, &f), 0);
	memset(&t, 0, sizeof(t));
	t.family = 4;
	t.proto = PROTO_TCP;
	t.src = CLIENT;
	t.dst = VIP;
	t.sport = CPORT;
	t.dport = VPORT;
	t.tcpflags = TH_ACK | TH_FIN;
	len = frame(in, sizeof(in), &t, MAC_C0);
	ck_assert_int_eq(run("c0", in, len, out, &outlen), TC_ACT_REDIRECT);
	t.src = SERVER;
	t.dst = CLIENT;
	t.sport = SPORT;
	t.dport = CPORT;
	t.tcpflags = TH_RST;
	len = frame(in, sizeof(in), &t, MAC_S0);
	outlen = sizeof(out);
	ck_assert_int_eq(run("s0", in, len, out, &outlen), TC_ACT_REDIRECT);
	ck_assert_int_eq(fastpath_flow_read(fp, &f, &c), 0);
	ck_assert(c.to_server.fin && !c.to_server.rst);
	ck_assert(!c.to_client.fin && c.to_client.rst);
}
END_TEST

/* What the event ring handed over, in order. */
static struct fastpath_event	 evs[8];
static unsigned			 nevs;

static void
ev_catch(const struct fastpath_event *ev, void *arg)
{
	(void)arg;
	if (nevs < 8)
		evs[nevs] = *ev;
	nevs++;
}

/* The events waiting now; none of them malformed. */
static unsigned
ev_read(struct fastpath_events *r)
{
	uint64_t	 bad = 0;

	nevs = 0;
	ck_assert_int_ge(fastpath_events_read(r, &bad), 0);
	ck_assert_uint_eq(bad, 0);
	return (nevs);
}

/* One TCP segment of the test flow through the program: its verdict. */
static int
segment(int from_client, uint8_t flags, uint16_t cport)
{
	struct tpkt	 t;
	uint8_t		 in[256], out[256];
	size_t		 len, outlen = sizeof(out);

	memset(&t, 0, sizeof(t));
	t.family = 4;
	t.proto = PROTO_TCP;
	t.src = from_client ? CLIENT : SERVER;
	t.dst = from_client ? VIP : CLIENT;
	t.sport = from_client ? cport : SPORT;
	t.dport = from_client ? VPORT : cport;
	t.tcpflags = flags;
	len = frame(in, sizeof(in), &t, from_client ? MAC_C0 : MAC_S0);
	return (run(from_client ? "c0" : "s0", in, len, out, &outlen));
}

/*
 * Each SYN, FIN and RST the program carries is one event, with the
 * flow's whole tuple, the direction, the flags and the time; a plain
 * ACK, a miss and a UDP datagram make none.
 */
START_TEST(test_events)
{
	struct fastpath_events	*r;
	struct fastpath_flow	 f, u;
	uint64_t		 t0, t1;

	flow_of(&f, 4, PROTO_TCP);
	ck_assert_int_eq(fastpath_flow_add(fp, &f), 0);
	ck_assert_ptr_nonnull(r = fastpath_events_open(fp, ev_catch, NULL));
	ck_assert_int_ge(fastpath_events_fd(r), 0);
	ck_assert_uint_eq(ev_read(r), 0);

	t0 = fastpath_now_ns();
	ck_assert_int_eq(segment(0, TH_SYN | TH_ACK, CPORT), TC_ACT_REDIRECT);
	t1 = fastpath_now_ns();
	ck_assert_uint_eq(ev_read(r), 1);
	ck_assert_int_eq(evs[0].dir, FP_TO_CLIENT);
	ck_assert_uint_eq(evs[0].tcpflags, TH_SYN | TH_ACK);
	ck_assert_msg(evs[0].ns >= t0 && evs[0].ns <= t1, "event time %llu "
	    "not within [%llu, %llu]", (unsigned long long)evs[0].ns,
	    (unsigned long long)t0, (unsigned long long)t1);
	ck_assert_int_eq(memcmp(&evs[0].flow, &f, sizeof(f)), 0);

	ck_assert_int_eq(segment(1, TH_ACK, CPORT), TC_ACT_REDIRECT);
	ck_assert_int_eq(segment(0, TH_ACK | TH_PUSH, CPORT), TC_ACT_REDIRECT);
	ck_assert_uint_eq(ev_read(r), 0);

	ck_assert_int_eq(segment(1, TH_FIN | TH_ACK, CPORT), TC_ACT_REDIRECT);
	ck_assert_int_eq(segment(0, TH_RST, CPORT), TC_ACT_REDIRECT);
	ck_assert_uint_eq(ev_read(r), 2);
	ck_assert_int_eq(evs[0].dir, FP_TO_SERVER);
	ck_assert_uint_eq(evs[0].tcpflags, TH_FIN | TH_ACK);
	ck_assert_int_eq(memcmp(&evs[0].flow, &f, sizeof(f)), 0);
	ck_assert_int_eq(evs[1].dir, FP_TO_CLIENT);
	ck_assert_uint_eq(evs[1].tcpflags, TH_RST);
	ck_assert_uint_ge(evs[1].ns, evs[0].ns);

	/* A miss (another client port), and a UDP flow's datagram. */
	ck_assert_int_eq(segment(1, TH_SYN, CPORT + 1), TC_ACT_OK);
	flow_of(&u, 4, PROTO_UDP);
	ck_assert_int_eq(fastpath_flow_add(fp, &u), 0);
	both_ways(6, PROTO_UDP);
	ck_assert_uint_eq(ev_read(r), 0);
	fastpath_events_close(r);
}
END_TEST

/*
 * A full ring: the event is lost and counted, the packet still carried;
 * once loadd has read the ring, events come again.
 */
START_TEST(test_ringfull)
{
	struct fastpath_events	*r;
	struct fastpath_flow	 f;
	unsigned		 n;

	flow_of(&f, 4, PROTO_TCP);
	ck_assert_int_eq(fastpath_flow_add(fp, &f), 0);
	ck_assert_ptr_nonnull(r = fastpath_events_open(fp, ev_catch, NULL));
	for (n = 0; n < 2 * FP_EVENTS_BYTES / 80 &&
	    stat_of(FP_ST_RINGFULL) == 0; n++)
		ck_assert_int_eq(segment(1, TH_SYN, CPORT), TC_ACT_REDIRECT);
	ck_assert_uint_eq(stat_of(FP_ST_RINGFULL), 1);
	/* 80 bytes a record with the ring's header. */
	ck_assert_uint_eq(n - 1, FP_EVENTS_BYTES / 80);
	ck_assert_uint_eq(ev_read(r), n - 1);
	ck_assert_int_eq(segment(0, TH_FIN | TH_ACK, CPORT), TC_ACT_REDIRECT);
	ck_assert_uint_eq(ev_read(r), 1);
	ck_assert_uint_eq(stat_of(FP_ST_RINGFULL), 1);
	fastpath_events_close(r);
}
END_TEST

/* What is not an established flow's packet goes on untouched. */
START_TEST(test_pass)
{
	static const uint8_t	 ext_frag[] = { 44 };
	struct fastpath_flow	 f;
	struct fastpath_counters c;
	struct tpkt		 t, u;
	uint8_t			 in[256];
	size_t			 len;

	flow_of(&f, 4, PROTO_TCP);
	ck_assert_int_eq(fastpath_flow_add(fp, &f), 0);
	memset(&t, 0, sizeof(t));
	t.family = 4;
	t.proto = PROTO_TCP;
	t.src = CLIENT;
	t.dst = VIP;
	t.sport = CPORT;
	t.dport = VPORT;
	t.tcpflags = TH_ACK;
	t.paylen = 20;

	/* A miss: another client port. */
	u = t;
	u.sport = CPORT + 1;
	len = frame(in, sizeof(in), &u, MAC_C0);
	expect_pass("c0", in, len, FP_ST_MISS);

	/* ARP (a request for 198.18.0.1). */
	memcpy(in, "\xff\xff\xff\xff\xff\xff\x02\x00\x00\x00\x00\xee"
	    "\x08\x06\x00\x01\x08\x00\x06\x04\x00\x01"
	    "\x02\x00\x00\x00\x00\xee\xc6\x12\x00\x02"
	    "\x00\x00\x00\x00\x00\x00\xc6\x12\x00\x01", 42);
	expect_pass("c0", in, 42, FP_ST_OTHER);	/* broadcast */
	memcpy(in, MAC_C0, 6);
	expect_pass("c0", in, 42, FP_ST_NOTIP);

	/* The flow's tuple as a fragment, with IP options, TTL 1. */
	u = t;
	u.frag = 0x2000;	/* MF */
	len = frame(in, sizeof(in), &u, MAC_C0);
	expect_pass("c0", in, len, FP_ST_FRAG);
	u = t;
	u.ipopts = 4;
	len = frame(in, sizeof(in), &u, MAC_C0);
	expect_pass("c0", in, len, FP_ST_OTHER);
	u = t;
	len = frame(in, sizeof(in), &u, MAC_C0);
	in[ETH + 8] = 1;
	tpkt_set_cksums(in + ETH, 20, (unsigned)len - ETH, PROTO_TCP);
	expect_pass("c0", in, len, FP_ST_TTL);

	/* The flow's tuple in a multicast frame. */
	len = frame(in, sizeof(in), &t, "\x01\x00\x5e\x00\x00\x01");
	expect_pass("c0", in, len, FP_ST_OTHER);

	/* ICMP to the VIP. */
	u = t;
	u.proto = PROTO_ICMP;
	len = frame(in, sizeof(in), &u, MAC_C0);
	expect_pass("c0", in, len, FP_ST_OTHER);

	/* Truncated: the TCP header cut short. */
	len = frame(in, sizeof(in), &t, MAC_C0);
	expect_pass("c0", in, ETH + 20 + 10, FP_ST_SHORT);

	/* IPv6: a fragment header before TCP. */
	flow_of(&f, 6, PROTO_TCP);
	ck_assert_int_eq(fastpath_flow_add(fp, &f), 0);
	u = t;
	u.family = 6;
	u.src = CLIENT6;
	u.dst = VIP6;
	u.ext = ext_frag;
	u.next = 1;
	u.fragoff = 1;		/* M */
	len = frame(in, sizeof(in), &u, MAC_C0);
	expect_pass("c0", in, len, FP_ST_FRAG);

	/* None of it counted on the flows. */
	flow_of(&f, 4, PROTO_TCP);
	ck_assert_int_eq(fastpath_flow_read(fp, &f, &c), 0);
	ck_assert_uint_eq(c.to_server.packets + c.to_client.packets, 0);
	ck_assert_uint_eq(stat_of(FP_ST_HIT), 0);
}
END_TEST

/*
 * What the FIB will not forward takes the slow path unchanged: a server
 * without a route, and a packet over the egress MTU -- unless it is a
 * GSO packet, which is counted by its segments.
 */
START_TEST(test_fib)
{
	struct fastpath_flow	 f;
	struct fastpath_counters c;
	struct __sk_buff	 ctx;
	struct tpkt		 t;
	uint8_t			 in[3200], out[3200];
	size_t			 len;
	int			 rc;

	flow_of(&f, 4, PROTO_TCP);
	ck_assert_int_eq(inet_pton(AF_INET, "203.0.113.9", f.server.b), 1);
	ck_assert_int_eq(fastpath_flow_add(fp, &f), 0);
	memset(&t, 0, sizeof(t));
	t.family = 4;
	t.proto = PROTO_TCP;
	t.src = CLIENT;
	t.dst = VIP;
	t.sport = CPORT;
	t.dport = VPORT;
	t.tcpflags = TH_ACK;
	t.paylen = 100;
	len = frame(in, sizeof(in), &t, MAC_C0);
	expect_pass("c0", in, len, FP_ST_FIB);
	ck_assert_int_eq(fastpath_flow_del(fp, &f), 0);

	flow_of(&f, 4, PROTO_TCP);
	ck_assert_int_eq(fastpath_flow_add(fp, &f), 0);
	t.paylen = 3000;
	len = frame(in, sizeof(in), &t, MAC_C0);
	expect_pass("c0", in, len, FP_ST_FIB);

	memset(&ctx, 0, sizeof(ctx));
	ctx.ifindex = ctx.ingress_ifindex = if_nametoindex("c0");
	ctx.gso_segs = 3;
	ctx.gso_size = 1000;
	LIBBPF_OPTS(bpf_test_run_opts, opts,
	    .data_in = in,
	    .data_size_in = (uint32_t)len,
	    .data_out = out,
	    .data_size_out = sizeof(out),
	    .ctx_in = &ctx,
	    .ctx_size_in = sizeof(ctx),
	);
	rc = bpf_prog_test_run_opts(fastpath_prog_fd(fp), &opts);
	ck_assert_msg(rc == 0, "BPF_PROG_TEST_RUN: %s", strerror(-rc));
	ck_assert_int_eq(opts.retval, TC_ACT_REDIRECT);
	ck_assert_int_eq(fastpath_flow_read(fp, &f, &c), 0);
	ck_assert_uint_eq(c.to_server.packets, 3);
	ck_assert_uint_eq(c.to_server.bytes, len - ETH);

	/*
	 * The same GSO packet whose segments (1400 bytes of payload, 1440
	 * with the headers) do not fit the way to the server (MTU 1400):
	 * the slow path, where the kernel says "fragmentation needed".
	 */
	ck_assert_int_eq(system("ip link set s0 mtu 1400"), 0);
	ctx.gso_segs = 3;
	ctx.gso_size = 1400;
	opts.data_size_out = sizeof(out);
	rc = bpf_prog_test_run_opts(fastpath_prog_fd(fp), &opts);
	ck_assert_msg(rc == 0, "BPF_PROG_TEST_RUN: %s", strerror(-rc));
	ck_assert_int_eq(opts.retval, TC_ACT_OK);
	ctx.gso_size = 1360;		/* 1400 with the headers: fits */
	opts.data_size_out = sizeof(out);
	rc = bpf_prog_test_run_opts(fastpath_prog_fd(fp), &opts);
	ck_assert_msg(rc == 0, "BPF_PROG_TEST_RUN: %s", strerror(-rc));
	ck_assert_int_eq(opts.retval, TC_ACT_REDIRECT);
	ck_assert_int_eq(system("ip link set s0 mtu 1500"), 0);
}
END_TEST

static int
count_flow(const struct fastpath_flow *f, const struct fastpath_counters *c,
    void *arg)
{
	int	*n = arg;

	ck_assert_int_eq(f->cport, CPORT);
	ck_assert_int_eq(f->vport, VPORT);
	ck_assert_int_eq(f->sport, SPORT);
	ck_assert_int_eq(c->has, FASTPATH_HAS_TO_SERVER |
	    FASTPATH_HAS_TO_CLIENT);
	n[f->family == 4 ? 0 : 1]++;
	return (0);
}

/*
 * The map: adding twice, deleting, a full map, and a second loader (a
 * restarted loadd) that adopts the pins and walks the flows back.
 */
START_TEST(test_map)
{
	struct fastpath_conf	 small;
	struct fastpath_flow	 f, g;
	struct fastpath		*fp2;
	char			 err[FASTPATH_ERRLEN];
	int			 n[2] = { 0, 0 }, i;

	flow_of(&f, 4, PROTO_TCP);
	ck_assert_int_eq(fastpath_flow_add(fp, &f), 0);
	ck_assert_int_eq(fastpath_flow_add(fp, &f), -1);
	ck_assert_int_eq(errno, EEXIST);
	flow_of(&g, 6, PROTO_UDP);
	ck_assert_int_eq(fastpath_flow_add(fp, &g), 0);
	g.proto = 1;
	ck_assert_int_eq(fastpath_flow_add(fp, &g), -1);
	ck_assert_int_eq(errno, EINVAL);

	fp2 = fastpath_open(&conf, err, sizeof(err));
	ck_assert_msg(fp2 != NULL, "%s", err);
	ck_assert_int_eq(fastpath_adopted(fp2), 1);
	ck_assert_uint_eq(fastpath_prog_id(fp2), fastpath_prog_id(fp));
	ck_assert_uint_eq(fastpath_capacity(fp2), 64);
	ck_assert_int_eq(fastpath_flow_walk(fp2, count_flow, n), 2);
	ck_assert_int_eq(n[0], 1);
	ck_assert_int_eq(n[1], 1);
	ck_assert_int_eq(fastpath_flow_del(fp2, &f), 0);
	ck_assert_int_eq(fastpath_flow_del(fp, &f), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(fastpath_flow_walk(fp, NULL, NULL), 1);
	fastpath_close(fp2);

	/* Full: the third flow is refused whole, no half left behind. */
	memset(&small, 0, sizeof(small));
	small.bpffs = fsdir;
	small.name = "small";
	small.max_flows = 2;
	fp2 = fastpath_open(&small, err, sizeof(err));
	ck_assert_msg(fp2 != NULL, "%s", err);
	for (i = 0; i < 3; i++) {
		f.cport = (uint16_t)(1000 + i);
		if (i < 2)
			ck_assert_int_eq(fastpath_flow_add(fp2, &f), 0);
		else {
			ck_assert_int_eq(fastpath_flow_add(fp2, &f), -1);
			ck_assert_int_eq(errno, E2BIG);
		}
	}
	ck_assert_int_eq(fastpath_flow_walk(fp2, NULL, NULL), 2);
	fastpath_close(fp2);
	ck_assert_int_eq(fastpath_unpin(&small, err, sizeof(err)), 0);
}
END_TEST

#define SCAN_FLOWS	2500

struct scanseen {
	uint8_t		 dir[SCAN_FLOWS];	/* FASTPATH_HAS_* bits seen */
	unsigned	 entries, twice;
};

static int
scan_one(const struct fastpath_flow *f, int dir, const struct fastpath_dir *d,
    void *arg)
{
	struct scanseen	*ss = arg;
	unsigned	 i = (unsigned)f->cport - 1000;

	ck_assert_uint_lt(i, SCAN_FLOWS);
	ck_assert_int_eq(f->vport, VPORT);
	ck_assert_int_eq(f->sport, SPORT);
	ck_assert_uint_eq(d->packets, 0);
	if (ss->dir[i] & dir)
		ss->twice++;
	ss->dir[i] |= (uint8_t)dir;
	ss->entries++;
	return (0);
}

/*
 * The poll's batched read: 2500 flows (5000 entries, more than a batch)
 * read over several calls of a small budget, each entry exactly once a
 * round, the end of the round said, and the next round whole again.
 */
START_TEST(test_scan)
{
	struct fastpath_conf	 big;
	struct fastpath_flow	 f;
	struct fastpath_scan	 sc;
	struct fastpath		*fp2;
	struct scanseen		*ss;
	char			 err[FASTPATH_ERRLEN];
	unsigned		 i, calls;
	int			 rc, round;

	memset(&big, 0, sizeof(big));
	big.bpffs = fsdir;
	big.name = "big";
	big.max_flows = SCAN_FLOWS;
	fp2 = fastpath_open(&big, err, sizeof(err));
	ck_assert_msg(fp2 != NULL, "%s", err);
	flow_of(&f, 4, PROTO_TCP);
	for (i = 0; i < SCAN_FLOWS; i++) {
		f.cport = (uint16_t)(1000 + i);
		ck_assert_int_eq(fastpath_flow_add(fp2, &f), 0);
	}
	ss = calloc(1, sizeof(*ss));
	ck_assert_ptr_nonnull(ss);
	memset(&sc, 0, sizeof(sc));
	for (round = 0; round < 2; round++) {
		memset(ss, 0, sizeof(*ss));
		calls = 0;
		do {
			rc = fastpath_flow_scan(fp2, &sc, 1, scan_one, ss);
			ck_assert_msg(rc != -1, "%s", fastpath_error(fp2));
			calls++;
		} while (rc == 0 && calls < 100);
		ck_assert_int_eq(rc, 1);
		ck_assert_uint_ge(calls, 5);	/* 1024 entries a call */
		ck_assert_uint_eq(ss->entries, 2 * SCAN_FLOWS);
		ck_assert_uint_eq(ss->twice, 0);
		for (i = 0; i < SCAN_FLOWS; i++)
			ck_assert_uint_eq(ss->dir[i], FASTPATH_HAS_TO_SERVER |
			    FASTPATH_HAS_TO_CLIENT);
	}
	/* A budget of the whole map reads it in one call. */
	memset(ss, 0, sizeof(*ss));
	ck_assert_int_eq(fastpath_flow_scan(fp2, &sc, 2 * SCAN_FLOWS + 1,
	    scan_one, ss), 1);
	ck_assert_uint_eq(ss->entries, 2 * SCAN_FLOWS);
	free(ss);
	fastpath_close(fp2);
	ck_assert_int_eq(fastpath_unpin(&big, err, sizeof(err)), 0);
}
END_TEST

/* Pins of another layout are refused, not used. */
START_TEST(test_layout)
{
	struct fastpath_conf	 other;
	char			 path[256], err[FASTPATH_ERRLEN];
	int			 fd;

	memset(&other, 0, sizeof(other));
	other.bpffs = fsdir;
	other.name = "old";
	snprintf(path, sizeof(path), "%s/old", fsdir);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	fd = bpf_map_create(BPF_MAP_TYPE_HASH, NULL, 8, 8, 16, NULL);
	ck_assert_int_ge(fd, 0);
	snprintf(path, sizeof(path), "%s/old/flows", fsdir);
	ck_assert_int_eq(bpf_obj_pin(fd, path), 0);
	snprintf(path, sizeof(path), "%s/old/stats", fsdir);
	ck_assert_int_eq(bpf_obj_pin(fd, path), 0);
	snprintf(path, sizeof(path), "%s/old/events", fsdir);
	ck_assert_int_eq(bpf_obj_pin(fd, path), 0);
	snprintf(path, sizeof(path), "%s/old/prog", fsdir);
	ck_assert_int_eq(bpf_obj_pin(fastpath_prog_fd(fp), path), 0);
	close(fd);
	ck_assert_ptr_null(fastpath_open(&other, err, sizeof(err)));
	ck_assert_msg(strstr(err, "another layout") != NULL, "%s", err);
	ck_assert_int_eq(fastpath_unpin(&other, err, sizeof(err)), 0);

	other.name = "none";
	other.adopt_only = 1;
	ck_assert_ptr_null(fastpath_open(&other, err, sizeof(err)));
	ck_assert_msg(strstr(err, "no fast path is loaded") != NULL, "%s",
	    err);
}
END_TEST

/* tc: attach, find, replace, detach, detach again. */
START_TEST(test_tc)
{
	char		 err[FASTPATH_ERRLEN];
	uint32_t	 id;

	ck_assert_int_eq(fastpath_query("c0", &id, err, sizeof(err)), 0);
	ck_assert_uint_eq(id, 0);
	ck_assert_msg(fastpath_attach(fp, "c0") == 0, "%s",
	    fastpath_error(fp));
	ck_assert_int_eq(fastpath_attach(fp, "c0"), 0);
	ck_assert_int_eq(fastpath_attach(fp, "s0"), 0);
	ck_assert_int_eq(fastpath_query("c0", &id, err, sizeof(err)), 0);
	ck_assert_uint_eq(id, fastpath_prog_id(fp));
	ck_assert_int_eq(fastpath_detach("c0", err, sizeof(err)), 0);
	ck_assert_int_eq(fastpath_query("c0", &id, err, sizeof(err)), 0);
	ck_assert_uint_eq(id, 0);
	ck_assert_int_eq(fastpath_detach("c0", err, sizeof(err)), 0);
	ck_assert_int_eq(fastpath_query("s0", &id, err, sizeof(err)), 0);
	ck_assert_uint_eq(id, fastpath_prog_id(fp));
	ck_assert_int_eq(fastpath_attach(fp, "nosuch0"), -1);
	ck_assert_msg(strstr(fastpath_error(fp), "nosuch0") != NULL, "%s",
	    fastpath_error(fp));
}
END_TEST

/*
 * A second loader (another loadd, its own pins) does not take an
 * interface whose filter holds the first one's program: refused, with
 * the way to remove it; once it is gone, the second attaches.
 */
START_TEST(test_tc_other)
{
	struct fastpath_conf	 other;
	struct fastpath		*fp2;
	char			 err[FASTPATH_ERRLEN];
	uint32_t		 id;

	memset(&other, 0, sizeof(other));
	other.bpffs = fsdir;
	other.name = "second";
	fp2 = fastpath_open(&other, err, sizeof(err));
	ck_assert_msg(fp2 != NULL, "%s", err);
	ck_assert_uint_ne(fastpath_prog_id(fp2), fastpath_prog_id(fp));
	ck_assert_msg(fastpath_attach(fp, "c0") == 0, "%s",
	    fastpath_error(fp));
	ck_assert_int_eq(fastpath_attach(fp2, "c0"), -1);
	ck_assert_msg(strstr(fastpath_error(fp2), "another program") != NULL &&
	    strstr(fastpath_error(fp2), "tc filter del dev c0") != NULL, "%s",
	    fastpath_error(fp2));
	ck_assert_int_eq(fastpath_query("c0", &id, err, sizeof(err)), 0);
	ck_assert_uint_eq(id, fastpath_prog_id(fp));
	ck_assert_int_eq(fastpath_detach("c0", err, sizeof(err)), 0);
	ck_assert_msg(fastpath_attach(fp2, "c0") == 0, "%s",
	    fastpath_error(fp2));
	ck_assert_int_eq(fastpath_detach("c0", err, sizeof(err)), 0);
	fastpath_close(fp2);
	ck_assert_int_eq(fastpath_unpin(&other, err, sizeof(err)), 0);
}
END_TEST

/* What the logger of fastpath_set_logger() was given. */
static char	 logged[4][128];
static int	 loglevels[4];
static unsigned	 nlogged;

static void
log_catch(int level, const char *line)
{
	if (nlogged < 4) {
		loglevels[nlogged] = level;
		snprintf(logged[nlogged], sizeof(logged[0]), "%s", line);
	}
	nlogged++;
}

static int
print_via(libbpf_print_fn_t fn, enum libbpf_print_level level,
    const char *fmt, ...)
{
	va_list	 ap;
	int	 rc;

	va_start(ap, fmt);
	rc = fn(level, fmt, ap);
	va_end(ap);
	return (rc);
}

/* libbpf's messages reach loadd's log a line at a time, at their level. */
START_TEST(test_logger)
{
	libbpf_print_fn_t fn;

	nlogged = 0;
	fastpath_set_logger(log_catch);
	fn = libbpf_set_print(NULL);
	ck_assert_ptr_nonnull(fn);
	print_via(fn, LIBBPF_WARN, "-- BEGIN PROG LOAD LOG --\n%s\n\n"
	    "-- END PROG LOAD LOG --\n", "R1 invalid mem access");
	print_via(fn, LIBBPF_DEBUG, "map %d", 7);
	ck_assert_uint_eq(nlogged, 4);
	ck_assert_str_eq(logged[0], "-- BEGIN PROG LOAD LOG --");
	ck_assert_str_eq(logged[1], "R1 invalid mem access");
	ck_assert_str_eq(logged[2], "-- END PROG LOAD LOG --");
	ck_assert_int_eq(loglevels[2], FASTPATH_LOG_WARN);
	ck_assert_str_eq(logged[3], "map 7");
	ck_assert_int_eq(loglevels[3], FASTPATH_LOG_DEBUG);
	fastpath_set_logger(NULL);
	ck_assert_ptr_null(libbpf_set_print(NULL));
}
END_TEST

Suite *
fastpath_suite(void)
{
	Suite	*s = suite_create("fastpath");
	TCase	*tc;

	tc = tcase_create("logger");
	tcase_add_test(tc, test_logger);
	suite_add_tcase(s, tc);
	if (geteuid() != 0 ||
	    libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_SCHED_CLS, NULL) != 1) {
		printf("fastpath: skipped: loading the tc program needs root "
		    "and bpf(2)\n");
		return (s);
	}
	tc = tcase_create("kernel");
	tcase_add_checked_fixture(tc, lab_setup, lab_teardown);
	tcase_add_test(tc, test_tcp4);
	tcase_add_test(tc, test_tcp6);
	tcase_add_test(tc, test_udp4);
	tcase_add_test(tc, test_udp6);
	tcase_add_test(tc, test_udp_zero);
	tcase_add_test(tc, test_bridge_port);
	tcase_add_test(tc, test_fin_rst);
	tcase_add_test(tc, test_events);
	tcase_add_test(tc, test_ringfull);
	tcase_add_test(tc, test_pass);
	tcase_add_test(tc, test_fib);
	tcase_add_test(tc, test_map);
	tcase_add_test(tc, test_scan);
	tcase_add_test(tc, test_layout);
	tcase_add_test(tc, test_tc);
	tcase_add_test(tc, test_tc_other);
	suite_add_tcase(s, tc);
	return (s);
}
#else
typedef int check_fastpath_unused;
#endif /* LOADD_FASTPATH */
