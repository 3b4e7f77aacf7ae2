/*
 * gen_fixtures: writes the captures that the replay test feeds to loadd,
 * the configuration each is written for, and what loadd should report
 * for each, into a directory.
 *
 *	gen_fixtures OUTDIR
 *
 * libnet builds the IP headers (with IPv4 options and IPv6 extension
 * headers) and the link headers; the transport headers are built here,
 * with their checksums, because some fixtures need a checksum libnet
 * would not write: none at all, one that comes out 0 after loadd's
 * rewrite, a wrong one.  libnet runs without an injection backend
 * (LIBNET_NONE), so no root is needed; libpcap writes the captures.
 * Every capture is the same on every run and every machine: timestamps
 * are fixed and the pseudo-random choices come from a fixed seed.
 *
 * The generator plays clients and servers of the four services in
 * services[] below, which NAME.conf gives loadd.  It cannot see which
 * server loadd picks, so the replies it writes come from the server that
 * round-robin in configuration order picks for the n-th new flow of the
 * service; verify_replay checks that loadd picked the same.
 *
 *	tcp.pcap	  100 interleaved IPv4 connections (Ethernet)
 *	raw.pcap	  IPv4 and IPv6 connections in raw IP
 *	bad.pcap	  connections mixed with IPv4 packets loadd must drop
 *			  or pass untouched (Ethernet)
 *	gro.pcap	  4 connections with 65549-byte frames (Ethernet,
 *			  snaplen 262144)
 *	v6.pcap		  IPv6 connections, some with extension headers, IPv4
 *			  ones between them, and IPv6 packets loadd must drop
 *	udp.pcap	  UDP flows over IPv4 and IPv6, with checksums that
 *			  must stay 0 or come out 0xffff
 *	icmp.pcap	  ICMP and ICMPv6 errors about balanced flows
 *	flood.pcap	  a SYN flood against a flow table of 64 entries
 *	full.pcap	  round-robin after a SYN refused for a full table
 *	timeout.pcap	  idle flows that must live on, and flows that must
 *			  be gone, told apart by the capture's timestamps
 *	reset.pcap	  packets of no flow answered with resets
 *	unsupported.pcap  one packet of a link type loadd refuses (PPP)
 *	damaged-trunc.pcap, damaged-caplen.pcap, damaged-magic.pcap
 *			  tcp.pcap damaged after 100 packets, and in its header
 *	NAME.conf	  the configuration NAME.pcap is written for
 *	NAME.expect	  the counts loadd should report for NAME.pcap, and
 *			  the arguments verify_replay needs for it
 */
#include <sys/types.h>

#include <arpa/inet.h>

#include <err.h>
#include <errno.h>
#include <libnet.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0		1700000000	/* time of the first packet, seconds */
#define TSTEP		1000		/* microseconds between packets */
#define BATCH		64		/* records per expiry run of loadd */
#define WINDOW		8		/* connections open at the same time */
#define EN_HLEN		14
#define ETH_MINLEN	60		/* shorter frames are padded on the wire */
#define FRAMEMAX	(65535 + 64)	/* the largest IPv4 datagram, framed */
#define SNAPLEN		65535
#define SNAPLEN_MAX	262144		/* tcpdump's default since 4.0 */
#define IPMAX_PAYLOAD	(65535 - 40)	/* TCP payload of the largest datagram */
#define DAMAGE_AFTER	100		/* intact records in damaged captures */
#define SEED		0x10add5edU
#define MAXSRV		3		/* servers of a service, at most */

/* loadd's defaults (loadd.conf(5)); a configuration names only others. */
#define DEF_TO_EST	7440
#define DEF_TO_TRANS	240
#define DEF_TO_UDP	300

/* The flood: a table this small, so many established, so many SYNs. */
#define FLOOD_MAXFLOWS	64
#define FLOOD_EST	20
#define FLOOD_SYNS	(2 * FLOOD_MAXFLOWS)

/* IPv6 fragment headers (RFC 8200 4.5), for seg.frag6. */
#define FRAG6_NONE	0
#define FRAG6_ATOMIC	1		/* offset 0, no more fragments */
#define FRAG6_FIRST	2		/* offset 0, more fragments */
#define FRAG6_LATER	3		/* offset 1448 */

enum outcome {
	O_PASS,			/* written untouched */
	O_REWRITE,		/* written rewritten */
	O_ICMP,			/* an ICMP error, written translated */
	O_RESET,		/* written as a RST in its place */
	O_DROP,
	O_NOTIP			/* not IP: written untouched, counted apart */
};

/* Drop reasons, named as loadd's "stats: drops" line names them. */
enum reason {
	R_NONE,
	R_TRUNCATED,
	R_BAD_VERSION,
	R_BAD_HDRLEN,
	R_BAD_TOTLEN,
	R_BAD_L4,
	R_BAD_EXTHDR,
	R_JUMBO,
	R_FRAGMENT,
	R_NO_SERVICE,
	R_NO_FLOW,
	R_TABLE_FULL,
	R_CAPTURE_TRUNCATED,
	R_ICMP_CSUM,
	R_N
};

static const char *const reason_names[R_N] = {
	[R_NONE] = "none",
	[R_TRUNCATED] = "truncated",
	[R_BAD_VERSION] = "bad_version",
	[R_BAD_HDRLEN] = "bad_header_length",
	[R_BAD_TOTLEN] = "bad_total_length",
	[R_BAD_L4] = "bad_transport_header",
	[R_BAD_EXTHDR] = "bad_extension_header",
	[R_JUMBO] = "jumbogram",
	[R_FRAGMENT] = "fragment",
	[R_NO_SERVICE] = "no_service",
	[R_NO_FLOW] = "no_flow",
	[R_TABLE_FULL] = "table_full",
	[R_CAPTURE_TRUNCATED] = "capture_truncated",
	[R_ICMP_CSUM] = "icmp_bad_checksum",
};

/*
 * Counters of loadd's "stats:" line that a fixture pins, named as the
 * line names them (spaces as underscores; "flows" is the table's count).
 */
enum statkey {
	ST_ICMP,
	ST_RESETS,
	ST_EVICTED,
	ST_EXPIRED,
	ST_FLOWS,
	ST_N
};

static const char *const stat_names[ST_N] = {
	[ST_ICMP] = "icmp_translated",
	[ST_RESETS] = "resets",
	[ST_EVICTED] = "evicted",
	[ST_EXPIRED] = "expired",
	[ST_FLOWS] = "flows",
};

/* An address of either family. */
struct ipaddr {
	int		 family;	/* 4 or 6 */
	uint8_t		 a[16];		/* network byte order */
};

/*
 * The services every fixture is written for.  The first is the block at
 * the top of the configuration file, as the original loadd had it.
 */
enum { SVC_WEB, SVC_WEB6, SVC_DNS, SVC_DNS6, NSVC };

struct svcdef {
	const char	*name;		/* "service =" name; NULL: top block */
	const char	*vip;
	uint8_t		 proto;
	uint16_t	 port;
	uint16_t	 srvport;	/* servers' port; 0: the service's */
	unsigned	 nsrv;
	const char	*srv[MAXSRV];
};

static const struct svcdef services[NSVC] = {
	[SVC_WEB] = { NULL, "203.0.113.10", IPPROTO_TCP, 80, 0, 3,
	    { "10.0.1.11", "10.0.1.12", "10.0.1.13" } },
	[SVC_WEB6] = { "web6", "2001:db8::10", IPPROTO_TCP, 80, 0, 3,
	    { "2001:db8:1::11", "2001:db8:1::12", "2001:db8:1::13" } },
	/* Servers on another port: the port is translated too. */
	[SVC_DNS] = { "dns", "203.0.113.10", IPPROTO_UDP, 53, 5300, 2,
	    { "10.0.2.21", "10.0.2.22" } },
	[SVC_DNS6] = { "dns6", "2001:db8::10", IPPROTO_UDP, 53, 5300, 2,
	    { "2001:db8:2::21", "2001:db8:2::22" } },
};

/* The global keys of a fixture's configuration. */
struct settings {
	unsigned	 maxflows;
	unsigned	 to_est;	/* timeout_tcp_established */
	unsigned	 to_trans;	/* timeout_tcp_transitory */
	unsigned	 to_udp;	/* timeout_udp */
	int		 reset;		/* unknown_flow = reset */
};

/* What loadd should count for a capture. */
struct tally {
	unsigned	 read;
	unsigned	 written;
	unsigned	 rewritten;
	unsigned	 dropped;
	unsigned	 notip;
	unsigned	 flows;		/* new flows, all services */
	unsigned	 udp_none;	/* rewritten UDP without checksum */
	unsigned	 udp_ffff;	/* rewritten UDP with checksum 0xffff */
	unsigned	 drop[R_N];
	unsigned	 srvflows[NSVC][MAXSRV];
	long		 stat[ST_N];	/* -1: not pinned */
};

/* One capture being written. */
struct gen {
	libnet_t	*l;
	pcap_t		*dead;
	pcap_dumper_t	*dump;
	const char	*dir;
	const char	*name;
	int		 dlt;
	uint64_t	 usec;		/* time of the next packet after T0 */
	uint32_t	 rng;		/* xorshift32 state */
	uint16_t	 ipid;
	uint32_t	 fillseq;	/* of the filler packets */
	unsigned	 rr[NSVC];	/* the server round-robin picks next */
	struct settings	 set;
	struct tally	 t;
};

/* Checksum choices for a packet's transport header. */
#define CK_RIGHT	0
#define CK_NONE		1	/* UDP over IPv4: 0, no checksum */
#define CK_WRONG	2
#define CK_NOPSEUDO	3	/* ICMPv6: computed without the pseudo-header */

/* One packet to build: TCP, UDP, ICMP or ICMPv6 over IPv4 or IPv6. */
struct seg {
	struct ipaddr	 src;
	struct ipaddr	 dst;
	uint8_t		 proto;
	uint16_t	 sport;		/* TCP and UDP, host byte order */
	uint16_t	 dport;
	uint32_t	 seq;		/* TCP */
	uint32_t	 ack;
	uint8_t		 flags;
	uint8_t		 icmptype;	/* ICMP */
	uint8_t		 icmpcode;
	uint32_t	 icmpword;	/* the 4 bytes after the checksum */
	const uint8_t	*payload;	/* data, or an ICMP error's quote */
	uint16_t	 plen;
	int		 rawl4;		/* payload: the whole transport part */
	int		 cksum;		/* CK_* */
	int		 zeroafter;	/* UDP: checksum 0 once rewritten */
	struct ipaddr	 rw;		/* zeroafter: the address and port */
	uint16_t	 rwport;	/* loadd writes, in place of ... */
	int		 rwdst;		/* ... the destination (else source) */
	uint16_t	 frag;		/* IPv4 flags and fragment offset */
	int		 frag6;		/* FRAG6_* */
	uint16_t	 vlan;		/* 802.1Q tag, 0 for none */
	int		 ipopts;	/* IPv4: 4 bytes of options */
	int		 exthdrs;	/* IPv6: hop-by-hop, dest. options */
	int		 fromserver;	/* for the Ethernet addresses only */
};

enum ending {
	END_FIN,		/* FIN both ways, last ACK */
	END_CRST,		/* the client resets */
	END_SRST		/* the server resets */
};

/*
 * One flow through a service, emitted a packet at a time: a TCP
 * connection, or a UDP exchange of two queries and two answers.
 */
struct conn {
	int		 svc;		/* services[] index */
	struct ipaddr	 client;
	uint16_t	 cport;
	uint16_t	 vlan;
	int		 ipopts;
	int		 exthdrs;
	int		 frag6;		/* the client's packets carry this */
	enum ending	 ending;
	int		 srv;		/* set when the flow starts */
	int		 step;
	uint32_t	 cseq;
	uint32_t	 sseq;
	uint16_t	 req;		/* payload sizes */
	uint16_t	 resp;
	int		 nocksum;	/* UDP over IPv4: no checksums */
	int		 zerostep;	/* UDP: the step (from 1) whose checksum
					   comes out 0 after the rewrite */
};

typedef void	(*hook_fn)(struct gen *, unsigned);
typedef void	(*extra_fn)(struct gen *, unsigned);

static uint32_t	 rnd(struct gen *);
static void	 fill(struct gen *, uint8_t *, size_t);
static struct ipaddr addr(const char *);
static uint32_t	 a4(const struct ipaddr *);
static struct ipaddr vip_of(int);
static struct ipaddr srv_addr(int, int);
static uint16_t	 srv_port(int);
static void	 srv_name(int, int, int, char *, size_t);
static void	 gen_open(struct gen *, const char *, const char *, int, int);
static void	 gen_close(struct gen *, int);
static void	 write_conf(const struct gen *);
static void	 write_expect(const struct gen *);
static void	 gen_at(struct gen *, unsigned);
static void	 emit(struct gen *, const uint8_t *, uint32_t, uint32_t,
		    enum outcome, enum reason);
static void	 lnet(struct gen *, libnet_ptag_t);
static void	 link_hdr(struct gen *, uint16_t, int, int);
static size_t	 cull(struct gen *, uint8_t *, int);
static uint64_t	 sum16(uint64_t, const uint8_t *, size_t);
static uint16_t	 fold(uint64_t);
static uint64_t	 pseudo(const struct ipaddr *, const struct ipaddr *, uint8_t,
		    size_t);
static void	 put16(uint8_t *, uint16_t);
static void	 put32(uint8_t *, uint32_t);
static size_t	 l4_build(const struct seg *, uint8_t *);
static size_t	 ip_build(struct gen *, const struct seg *, const uint8_t *,
		    size_t, uint8_t *, int);
static size_t	 build_seg(struct gen *, const struct seg *, uint8_t *);
static void	 ip_cksum_fix(uint8_t *);
static void	 filler(struct gen *);
static void	 tick_at(struct gen *, unsigned);
static uint16_t	 pick_size(struct gen *, unsigned);
static void	 conn_pick(struct gen *, struct conn *);
static void	 conn_seg(const struct conn *, int, struct seg *);
static void	 conn_tcp(struct gen *, struct conn *, int, uint8_t, uint16_t,
		    enum outcome, enum reason);
static void	 conn_udp(struct gen *, struct conn *, int, uint16_t, int,
		    enum outcome, enum reason);
static int	 conn_step(struct gen *, struct conn *);
static void	 run_conns(struct gen *, struct conn *, unsigned, hook_fn);
static void	 conns_init(struct gen *, struct conn *, unsigned, int,
		    const char *, uint16_t);
static void	 extra_hook(struct gen *, unsigned);
static void	 extra_drain(struct gen *);
static void	 bad_packet(struct gen *, unsigned);
static void	 v6_packet(struct gen *, unsigned);
static void	 udp_packet(struct gen *, unsigned);
static size_t	 quote_of(struct gen *, const struct conn *, int, uint16_t,
		    size_t, int, uint8_t *);
static void	 icmp_error(struct gen *, uint8_t, uint8_t, uint32_t,
		    const struct ipaddr *, const struct ipaddr *,
		    const uint8_t *, size_t, int, enum outcome, enum reason);
static void	 stray_seg(struct gen *, struct seg *, int, const char *,
		    uint16_t, uint16_t, uint8_t);
static void	 emit_seg(struct gen *, struct seg *, uint16_t, enum outcome,
		    enum reason);
static void	 write_tcp(const char *);
static void	 write_raw(const char *);
static void	 write_bad(const char *);
static void	 write_gro(const char *);
static void	 write_v6(const char *);
static void	 write_udp(const char *);
static void	 write_icmp(const char *);
static void	 write_flood(const char *);
static void	 write_full(const char *);
static void	 write_timeout(const char *);
static void	 write_reset(const char *);
static void	 write_unsupported(const char *);
static void	 write_damaged(const char *);
static void	 write_file(const char *, const char *, const uint8_t *,
		    size_t);
static uint32_t	 get32(const uint8_t *, int);
static void	 put32x(uint8_t *, uint32_t, int);

static const uint8_t	 mac_router[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t	 mac_lb[6] = { 0x02, 0, 0, 0, 0, 0x02 };
static const uint8_t	 mac_srv[6] = { 0x02, 0, 0, 0, 0x01, 0x00 };
static const uint8_t	 mac_bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

/* Packets put between the connections of a capture, one at a time. */
static extra_fn		 extra;
static unsigned		 extra_next;

/* xorshift32: the same sequence everywhere, unlike random(3). */
static uint32_t
rnd(struct gen *g)
{
	uint32_t x = g->rng;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return (g->rng = x);
}

static void
fill(struct gen *g, uint8_t *buf, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)rnd(g);
}

static struct ipaddr
addr(const char *s)
{
	struct ipaddr	 a;

	memset(&a, 0, sizeof(a));
	if (inet_pton(AF_INET, s, a.a) == 1)
		a.family = 4;
	else if (inet_pton(AF_INET6, s, a.a) == 1)
		a.family = 6;
	else
		errx(1, "%s: not an IP address", s);
	return (a);
}

/* An IPv4 address as libnet takes it: network byte order. */
static uint32_t
a4(const struct ipaddr *a)
{
	uint32_t	 v;

	memcpy(&v, a->a, 4);
	return (v);
}

static struct ipaddr
vip_of(int svc)
{
	return (addr(services[svc].vip));
}

static struct ipaddr
srv_addr(int svc, int i)
{
	return (addr(services[svc].srv[i]));
}

static uint16_t
srv_port(int svc)
{
	return (services[svc].srvport ? services[svc].srvport :
	    services[svc].port);
}

/*
 * A server as loadd names it ("10.0.1.11:80", "[2001:db8:1::11]:80"),
 * or, with full unset, as a configuration lists it: the port only where
 * it differs from the service's.
 */
static void
srv_name(int svc, int i, int full, char *buf, size_t len)
{
	const char	*a = services[svc].srv[i];
	int		 v6 = strchr(a, ':') != NULL;

	if (!full && services[svc].srvport == 0)
		snprintf(buf, len, "%s", a);
	else
		snprintf(buf, len, v6 ? "[%s]:%u" : "%s:%u", a,
		    srv_port(svc));
}

static void
gen_open(struct gen *g, const char *dir, const char *name, int dlt,
    int snaplen)
{
	char	 errbuf[LIBNET_ERRBUF_SIZE], path[4096];
	int	 i;

	memset(g, 0, sizeof(*g));
	g->dir = dir;
	g->name = name;
	g->dlt = dlt;
	g->rng = SEED;
	g->set.maxflows = 4096;
	g->set.to_est = DEF_TO_EST;
	g->set.to_trans = DEF_TO_TRANS;
	g->set.to_udp = DEF_TO_UDP;
	for (i = 0; i < ST_N; i++)
		g->t.stat[i] = 0;
	/* The table's count at the end is pinned only where designed. */
	g->t.stat[ST_FLOWS] = -1;
	if ((g->l = libnet_init(LIBNET_NONE, NULL, errbuf)) == NULL)
		errx(1, "libnet_init: %s", errbuf);
	if ((g->dead = pcap_open_dead(dlt, snaplen)) == NULL)
		errx(1, "pcap_open_dead failed");
	snprintf(path, sizeof(path), "%s/%s.pcap", dir, name);
	if ((g->dump = pcap_dump_open(g->dead, path)) == NULL)
		errx(1, "%s", pcap_geterr(g->dead));
}

/*
 * Closes the capture and writes NAME.conf and, if asked, NAME.expect
 * from the tally.
 */
static void
gen_close(struct gen *g, int expect)
{
	if (pcap_dump_flush(g->dump) == -1)
		errx(1, "%s.pcap: write failed", g->name);
	pcap_dump_close(g->dump);
	pcap_close(g->dead);
	libnet_destroy(g->l);
	write_conf(g);
	if (expect)
		write_expect(g);
}

/* The configuration the capture is written for: settings and services. */
static void
write_conf(const struct gen *g)
{
	const struct svcdef	*sv;
	char			 path[4096], name[64];
	FILE			*fp;
	int			 i, k;

	snprintf(path, sizeof(path), "%s/%s.conf", g->dir, g->name);
	if ((fp = fopen(path, "w")) == NULL)
		err(1, "%s", path);
	fprintf(fp, "# %s.pcap is written for this configuration "
	    "(by gen_fixtures).\nmaxflows = %u\n", g->name, g->set.maxflows);
	if (g->set.to_est != DEF_TO_EST)
		fprintf(fp, "timeout_tcp_established = %u\n", g->set.to_est);
	if (g->set.to_trans != DEF_TO_TRANS)
		fprintf(fp, "timeout_tcp_transitory = %u\n", g->set.to_trans);
	if (g->set.to_udp != DEF_TO_UDP)
		fprintf(fp, "timeout_udp = %u\n", g->set.to_udp);
	if (g->set.reset)
		fprintf(fp, "unknown_flow = reset\n");
	for (i = 0; i < NSVC; i++) {
		sv = &services[i];
		if (sv->name != NULL)
			fprintf(fp, "\nservice = %s\n", sv->name);
		fprintf(fp, "ipaliasing = %s\n", sv->vip);
		if (sv->proto == IPPROTO_UDP)
			fprintf(fp, "protocol = udp\n");
		fprintf(fp, "ports = %u\nservers = ", sv->port);
		for (k = 0; k < (int)sv->nsrv; k++) {
			srv_name(i, k, 0, name, sizeof(name));
			fprintf(fp, "%s%s", k ? ", " : "", name);
		}
		fprintf(fp, "\nbalancingmode = roundrobin\n");
	}
	if (fclose(fp) == EOF)
		err(1, "%s", path);
}

/*
 * NAME.expect: the summary's counts, the UDP datagrams loadd must leave
 * without a checksum or give 0xffff, the drop counters, each server's new
 * flows, the counters of the stats line the fixture pins, and the
 * arguments verify_replay needs to know the same configuration.
 */
static void
write_expect(const struct gen *g)
{
	const struct svcdef	*sv;
	char			 path[4096], name[64];
	FILE			*fp;
	int			 i, k;

	snprintf(path, sizeof(path), "%s/%s.expect", g->dir, g->name);
	if ((fp = fopen(path, "w")) == NULL)
		err(1, "%s", path);
	fprintf(fp, "# %s.pcap: what \"loadd -v -r\" should report "
	    "(written by gen_fixtures)\n", g->name);
	fprintf(fp, "read %u\nwritten %u\nrewritten %u\ndropped %u\n"
	    "notip %u\nflows %u\nudp_none %u\nudp_ffff %u\n", g->t.read,
	    g->t.written, g->t.rewritten, g->t.dropped, g->t.notip,
	    g->t.flows, g->t.udp_none, g->t.udp_ffff);
	for (i = 1; i < R_N; i++)
		if (g->t.drop[i] != 0)
			fprintf(fp, "drop %s %u\n", reason_names[i],
			    g->t.drop[i]);
	for (i = 0; i < NSVC; i++)
		for (k = 0; k < (int)services[i].nsrv; k++) {
			srv_name(i, k, 1, name, sizeof(name));
			fprintf(fp, "server %s %u\n", name,
			    g->t.srvflows[i][k]);
		}
	for (i = 0; i < ST_N; i++)
		if (g->t.stat[i] >= 0)
			fprintf(fp, "stat %s %ld\n", stat_names[i],
			    g->t.stat[i]);
	fprintf(fp, "verify");
	for (i = 0; i < NSVC; i++) {
		sv = &services[i];
		fprintf(fp, " --vip %s%s --port %u --servers", sv->vip,
		    sv->proto == IPPROTO_UDP ? " --proto udp" : "", sv->port);
		for (k = 0; k < (int)sv->nsrv; k++) {
			srv_name(i, k, 0, name, sizeof(name));
			fprintf(fp, "%c%s", k ? ',' : ' ', name);
		}
	}
	fprintf(fp, " --maxflows %u --timeouts %u,%u,%u%s\n",
	    g->set.maxflows, g->set.to_est, g->set.to_trans, g->set.to_udp,
	    g->set.reset ? " --reset" : "");
	if (fclose(fp) == EOF)
		err(1, "%s", path);
}

/* The next packet is sec seconds after T0 (time only moves forward). */
static void
gen_at(struct gen *g, unsigned sec)
{
	uint64_t	 usec = (uint64_t)sec * 1000000;

	if (usec < g->usec)
		errx(1, "%s.pcap: time would run backwards to %u s", g->name,
		    sec);
	g->usec = usec;
}

/* Writes one record, one millisecond after the one before. */
static void
emit(struct gen *g, const uint8_t *frame, uint32_t caplen, uint32_t len,
    enum outcome o, enum reason r)
{
	struct pcap_pkthdr	 h;

	memset(&h, 0, sizeof(h));
	h.ts.tv_sec = (time_t)(T0 + g->usec / 1000000);
	h.ts.tv_usec = (suseconds_t)(g->usec % 1000000);
	h.caplen = caplen;
	h.len = len;
	g->usec += TSTEP;
	pcap_dump((u_char *)g->dump, &h, frame);

	g->t.read++;
	switch (o) {
	case O_DROP:
		g->t.dropped++;
		g->t.drop[r]++;
		break;
	case O_ICMP:
		g->t.stat[ST_ICMP]++;
		/* FALLTHROUGH */
	case O_REWRITE:
		g->t.rewritten++;
		g->t.written++;
		break;
	case O_RESET:
		/* loadd counts resets apart from what it rewrites. */
		g->t.stat[ST_RESETS]++;
		g->t.written++;
		break;
	case O_NOTIP:
		g->t.notip++;
		g->t.written++;
		break;
	case O_PASS:
		g->t.written++;
		break;
	}
}

static void
lnet(struct gen *g, libnet_ptag_t t)
{
	if (t == -1)
		errx(1, "libnet: %s", libnet_geterror(g->l));
}

/* The link header of the capture's link type; raw IP has none. */
static void
link_hdr(struct gen *g, uint16_t vlan, int fromserver, int family)
{
	const uint8_t	*src = fromserver ? mac_srv : mac_router;
	uint16_t	 type = family == 6 ? ETHERTYPE_IPV6 : ETHERTYPE_IP;

	if (g->dlt != DLT_EN10MB)
		return;
	if (vlan != 0)
		lnet(g, libnet_build_802_1q(mac_lb, src, 0x8100, 0, 0, vlan,
		    type, NULL, 0, g->l, 0));
	else
		lnet(g, libnet_build_ethernet(mac_lb, src, type, NULL, 0, g->l,
		    0));
}

/*
 * Assembles the packet built so far into buf (FRAMEMAX bytes) and clears
 * the context for the next one.  Ethernet frames are padded to the
 * minimum size as a capture of received frames shows them, so the
 * fixtures also check that loadd looks at the IP length, not the frame's.
 */
static size_t
cull(struct gen *g, uint8_t *buf, int pad)
{
	uint8_t		*pkt;
	uint32_t	 n;

	/*
	 * libnet 1.1.6 culls only in LIBNET_LINK_ADV mode, which opens a
	 * packet socket and so needs root.  The assembly it would call is
	 * exported; in LIBNET_NONE mode it neither aligns nor checks the
	 * layers, so its buffer is freed as libnet_adv_free_packet() does.
	 */
	if (libnet_adv_cull_packet(g->l, &pkt, &n) == -1 &&
	    libnet_pblock_coalesce(g->l, &pkt, &n) == -1)
		errx(1, "libnet: %s", libnet_geterror(g->l));
	if (n > FRAMEMAX)
		errx(1, "libnet built a packet of %u bytes", n);
	memcpy(buf, pkt, n);
	libnet_adv_free_packet(g->l, pkt);
	libnet_clear_packet(g->l);
	if (pad && g->dlt == DLT_EN10MB && n < ETH_MINLEN) {
		memset(buf + n, 0, ETH_MINLEN - n);
		n = ETH_MINLEN;
	}
	return (n);
}

/* The Internet checksum's sum of big-endian 16-bit words (RFC 1071). */
static uint64_t
sum16(uint64_t sum, const uint8_t *b, size_t len)
{
	size_t	 i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint64_t)(b[i] << 8 | b[i + 1]);
	if (len & 1)
		sum += (uint64_t)b[len - 1] << 8;
	return (sum);
}

static uint16_t
fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ((uint16_t)sum);
}

/* The pseudo-header sum: RFC 793 and 768 for IPv4, RFC 8200 for IPv6. */
static uint64_t
pseudo(const struct ipaddr *src, const struct ipaddr *dst, uint8_t proto,
    size_t len)
{
	size_t		 alen = src->family == 4 ? 4 : 16;
	uint64_t	 sum;

	sum = sum16(0, src->a, alen);
	sum = sum16(sum, dst->a, alen);
	return (sum + proto + (len & 0xffff) + (len >> 16));
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/*
 * The transport header and data of s into out; returns their length.
 * TCP has no options and a 64 KB window; ICMP's second word is
 * s->icmpword (a next-hop MTU, a pointer, an echo's id and sequence).
 */
static size_t
l4_build(const struct seg *s, uint8_t *out)
{
	struct ipaddr	 src = s->src, dst = s->dst;
	size_t		 hl, n, coff;
	uint64_t	 sum;
	uint16_t	 ck, port;

	if (s->rawl4) {
		memcpy(out, s->payload, s->plen);
		return (s->plen);
	}
	switch (s->proto) {
	case IPPROTO_TCP:
		put16(out, s->sport);
		put16(out + 2, s->dport);
		put32(out + 4, s->seq);
		put32(out + 8, s->ack);
		out[12] = 5 << 4;
		out[13] = s->flags;
		put16(out + 14, 65535);
		put32(out + 16, 0);
		hl = 20;
		coff = 16;
		break;
	case IPPROTO_UDP:
		put16(out, s->sport);
		put16(out + 2, s->dport);
		put16(out + 4, (uint16_t)(8 + s->plen));
		put16(out + 6, 0);
		hl = 8;
		coff = 6;
		break;
	default:
		out[0] = s->icmptype;
		out[1] = s->icmpcode;
		put16(out + 2, 0);
		put32(out + 4, s->icmpword);
		hl = 8;
		coff = 2;
		break;
	}
	if (s->plen != 0)
		memcpy(out + hl, s->payload, s->plen);
	n = hl + s->plen;

	if (s->zeroafter) {
		/*
		 * Choose the first two bytes of data so that, once loadd has
		 * put rw:rwport in, the datagram sums to 0xffff: its checksum
		 * is then 0, which UDP must send as 0xffff (RFC 768).
		 */
		if (s->proto != IPPROTO_UDP || s->plen < 2)
			errx(1, "zeroafter needs UDP with data");
		if (s->rwdst)
			dst = s->rw;
		else
			src = s->rw;
		port = s->rwport;
		put16(out + (s->rwdst ? 2 : 0), port);
		put16(out + hl, 0);
		sum = pseudo(&src, &dst, s->proto, n);
		put16(out + hl, (uint16_t)~fold(sum16(sum, out, n)));
		put16(out + (s->rwdst ? 2 : 0), s->rwdst ? s->dport : s->sport);
		src = s->src;
		dst = s->dst;
	}

	sum = 0;
	if (s->proto != IPPROTO_ICMP &&
	    !(s->proto == IPPROTO_ICMPV6 && s->cksum == CK_NOPSEUDO))
		sum = pseudo(&src, &dst, s->proto, n);
	ck = (uint16_t)~fold(sum16(sum, out, n));
	if (s->proto == IPPROTO_UDP && ck == 0)
		ck = 0xffff;
	if (s->cksum == CK_NONE)
		ck = 0;
	else if (s->cksum == CK_WRONG)
		ck ^= 0x5a5a;
	put16(out + coff, ck);
	return (n);
}

/*
 * The IP packet of transport bytes l4 into buf, with the link header of
 * the capture if link is set; returns its length.
 */
static size_t
ip_build(struct gen *g, const struct seg *s, const uint8_t *l4, size_t l4len,
    uint8_t *buf, int link)
{
	/* Three NOPs and an end of list: options that change nothing. */
	static const uint8_t	 opts[4] = { 1, 1, 1, 0 };
	/* A PadN option filling an 8-byte extension header. */
	static const uint8_t	 padn[6] = { 1, 4, 0, 0, 0, 0 };
	static uint8_t		 data[FRAMEMAX];
	struct libnet_in6_addr	 s6, d6;
	uint16_t		 hlen, fo;
	uint8_t			 nh;
	size_t			 plen = l4len;

	if (s->src.family == 4) {
		if (l4len != 0)
			lnet(g, libnet_build_data(l4, (uint32_t)l4len, g->l,
			    0));
		hlen = LIBNET_IPV4_H + (s->ipopts ? 4 : 0);
		if (s->ipopts)
			lnet(g, libnet_build_ipv4_options(opts, sizeof(opts),
			    g->l, 0));
		lnet(g, libnet_build_ipv4((uint16_t)(hlen + l4len), 0,
		    g->ipid++, s->frag, 64, s->proto, 0, a4(&s->src),
		    a4(&s->dst), NULL, 0, g->l, 0));
	} else {
		nh = s->proto;
		if (s->frag6 != FRAG6_NONE) {
			/*
			 * Built here: libnet 1.1.6 writes the fragment
			 * header's offset and identification in host order.
			 */
			fo = s->frag6 == FRAG6_LATER ? 1448 :
			    s->frag6 == FRAG6_FIRST ? 1 : 0;
			data[0] = nh;
			data[1] = 0;
			put16(data + 2, fo);
			put32(data + 4, g->ipid++);
			memcpy(data + 8, l4, l4len);
			l4 = data;
			l4len += 8;
			plen += 8;
			nh = 44;
		}
		if (l4len != 0)
			lnet(g, libnet_build_data(l4, (uint32_t)l4len, g->l,
			    0));
		if (s->exthdrs) {
			lnet(g, libnet_build_ipv6_destopts(nh, 0, padn,
			    sizeof(padn), g->l, 0));
			lnet(g, libnet_build_ipv6_hbhopts(60, 0, padn,
			    sizeof(padn), g->l, 0));
			nh = 0;
			plen += 16;
		}
		memcpy(&s6, s->src.a, 16);
		memcpy(&d6, s->dst.a, 16);
		lnet(g, libnet_build_ipv6(0, 0, (uint16_t)plen, nh, 64, s6, d6,
		    NULL, 0, g->l, 0));
	}
	if (link)
		link_hdr(g, s->vlan, s->fromserver, s->src.family);
	return (cull(g, buf, link));
}

/* A whole frame for s; returns its length. */
static size_t
build_seg(struct gen *g, const struct seg *s, uint8_t *buf)
{
	static uint8_t	 l4[FRAMEMAX];
	size_t		 n;

	n = l4_build(s, l4);
	return (ip_build(g, s, l4, n, buf, 1));
}

/* Recomputes the checksum of a 20-byte IPv4 header changed after libnet. */
static void
ip_cksum_fix(uint8_t *ip)
{
	ip[10] = ip[11] = 0;
	put16(ip + 10, (uint16_t)~fold(sum16(0, ip, 20)));
}

/* An ACK between two hosts loadd has nothing to do with: passed. */
static void
filler(struct gen *g)
{
	static uint8_t	 buf[FRAMEMAX];
	struct seg	 s;
	size_t		 n;

	memset(&s, 0, sizeof(s));
	s.src = addr("192.0.2.1");
	s.dst = addr("192.0.2.2");
	s.proto = IPPROTO_TCP;
	s.sport = 1000;
	s.dport = 2000;
	s.seq = g->fillseq++;
	s.flags = TH_ACK;
	n = build_seg(g, &s, buf);
	emit(g, buf, (uint32_t)n, (uint32_t)n, O_PASS, R_NONE);
}

/*
 * Makes loadd's flow expiry run at second sec before the next packet.
 * loadd replays a capture in batches of BATCH records and expires flows
 * after each batch, at the time of its last IP packet; so the batch is
 * filled up to its end with packets at sec that loadd passes untouched.
 */
static void
tick_at(struct gen *g, unsigned sec)
{
	gen_at(g, sec);
	do
		filler(g);
	while (g->t.read % BATCH != 0);
}

/*
 * Payload sizes: the extremes and some odd sizes first, since an odd
 * length is where a checksum's padding byte goes wrong, then any size
 * from 1 to 1400.
 */
static uint16_t
pick_size(struct gen *g, unsigned i)
{
	static const uint16_t	 sizes[] = { 1, 1400, 1399, 2, 3, 537, 1023 };

	if (i < sizeof(sizes) / sizeof(sizes[0]))
		return (sizes[i]);
	return ((uint16_t)(1 + rnd(g) % 1400));
}

/* A new flow: round-robin over the service's servers, in their order. */
static void
conn_pick(struct gen *g, struct conn *c)
{
	c->srv = (int)(g->rr[c->svc]++ % services[c->svc].nsrv);
	g->t.flows++;
	g->t.srvflows[c->svc][c->srv]++;
}

/* The addresses and ports of a packet of c, either way. */
static void
conn_seg(const struct conn *c, int fromserver, struct seg *s)
{
	memset(s, 0, sizeof(*s));
	s->proto = services[c->svc].proto;
	if (fromserver) {
		s->src = srv_addr(c->svc, c->srv);
		s->sport = srv_port(c->svc);
		s->dst = c->client;
		s->dport = c->cport;
	} else {
		s->src = c->client;
		s->sport = c->cport;
		s->dst = vip_of(c->svc);
		s->dport = services[c->svc].port;
		s->ipopts = c->ipopts;
		s->frag6 = c->frag6;
	}
	s->vlan = c->vlan;
	s->exthdrs = c->exthdrs;
	s->fromserver = fromserver;
	s->cksum = c->nocksum ? CK_NONE : CK_RIGHT;
}

/* Emits one TCP segment of c, with plen bytes of data. */
static void
conn_tcp(struct gen *g, struct conn *c, int fromserver, uint8_t flags,
    uint16_t plen, enum outcome o, enum reason r)
{
	static uint8_t	 payload[IPMAX_PAYLOAD];
	static uint8_t	 buf[FRAMEMAX];
	struct seg	 s;
	uint32_t	 adv;
	size_t		 n;

	conn_seg(c, fromserver, &s);
	s.flags = flags;
	s.seq = fromserver ? c->sseq : c->cseq;
	if (flags & TH_ACK)
		s.ack = fromserver ? c->cseq : c->sseq;
	if (plen != 0) {
		fill(g, payload, plen);
		s.payload = payload;
		s.plen = plen;
	}
	n = build_seg(g, &s, buf);
	emit(g, buf, (uint32_t)n, (uint32_t)n, o, r);
	adv = plen + ((flags & (TH_SYN | TH_FIN)) ? 1 : 0);
	if (fromserver)
		c->sseq += adv;
	else
		c->cseq += adv;
}

/*
 * Emits one UDP datagram of c.  With zero set, its checksum comes out 0
 * once loadd has rewritten it (so loadd must write 0xffff).
 */
static void
conn_udp(struct gen *g, struct conn *c, int fromserver, uint16_t plen,
    int zero, enum outcome o, enum reason r)
{
	static uint8_t	 payload[IPMAX_PAYLOAD];
	static uint8_t	 buf[FRAMEMAX];
	struct seg	 s;
	size_t		 n;

	conn_seg(c, fromserver, &s);
	fill(g, payload, plen);
	s.payload = payload;
	s.plen = plen;
	if (zero) {
		s.zeroafter = 1;
		s.rwdst = !fromserver;
		if (fromserver) {
			s.rw = vip_of(c->svc);
			s.rwport = services[c->svc].port;
		} else {
			s.rw = srv_addr(c->svc, c->srv);
			s.rwport = srv_port(c->svc);
		}
	}
	n = build_seg(g, &s, buf);
	emit(g, buf, (uint32_t)n, (uint32_t)n, o, r);
	if (o == O_REWRITE && c->nocksum)
		g->t.udp_none++;
	else if (o == O_REWRITE && zero)
		g->t.udp_ffff++;
}

/* Emits the next packet of a flow; returns 1 after its last. */
static int
conn_step(struct gen *g, struct conn *c)
{
	int	 step = c->step++;

	if (services[c->svc].proto == IPPROTO_UDP) {
		/* A query and its answer, twice. */
		if (step == 0)
			conn_pick(g, c);
		conn_udp(g, c, step % 2, step % 2 ? c->resp : c->req,
		    c->zerostep == step + 1, O_REWRITE, R_NONE);
		return (step >= 3);
	}
	switch (step) {
	case 0:
		conn_pick(g, c);
		conn_tcp(g, c, 0, TH_SYN, 0, O_REWRITE, R_NONE);
		break;
	case 1:
		conn_tcp(g, c, 1, TH_SYN | TH_ACK, 0, O_REWRITE, R_NONE);
		break;
	case 2:
		conn_tcp(g, c, 0, TH_ACK, 0, O_REWRITE, R_NONE);
		break;
	case 3:
		conn_tcp(g, c, 0, TH_PUSH | TH_ACK, c->req, O_REWRITE, R_NONE);
		break;
	case 4:
		conn_tcp(g, c, 1, TH_PUSH | TH_ACK, c->resp, O_REWRITE,
		    R_NONE);
		break;
	case 5:
		if (c->ending == END_FIN) {
			conn_tcp(g, c, 0, TH_FIN | TH_ACK, 0, O_REWRITE,
			    R_NONE);
			break;
		}
		conn_tcp(g, c, c->ending == END_SRST, TH_RST | TH_ACK, 0,
		    O_REWRITE, R_NONE);
		return (1);
	case 6:
		conn_tcp(g, c, 1, TH_FIN | TH_ACK, 0, O_REWRITE, R_NONE);
		break;
	default:
		conn_tcp(g, c, 0, TH_ACK, 0, O_REWRITE, R_NONE);
		return (1);
	}
	return (0);
}

/*
 * Emits n flows interleaved: up to WINDOW are open at once and each step
 * picks one of them at random, so that packets of other flows lie between
 * a flow's packets and stickiness is really tested.  Flows start in the
 * order of the array.  hook, if set, runs after every packet.
 */
static void
run_conns(struct gen *g, struct conn *c, unsigned n, hook_fn hook)
{
	unsigned	 active[WINDOW], nactive = 0, next = 0, done = 0;
	unsigned	 j, k, pkts = 0;

	while (done < n) {
		if (next < n && nactive < WINDOW &&
		    (nactive == 0 || rnd(g) % 3 == 0)) {
			k = next++;
			active[nactive++] = k;
			conn_step(g, &c[k]);
		} else {
			j = rnd(g) % nactive;
			k = active[j];
			if (conn_step(g, &c[k])) {
				active[j] = active[--nactive];
				done++;
			}
		}
		if (hook != NULL)
			hook(g, pkts);
		pkts++;
	}
}

/* n flows of a service from client, source ports from port0 up. */
static void
conns_init(struct gen *g, struct conn *c, unsigned n, int svc,
    const char *client, uint16_t port0)
{
	unsigned	 i;

	memset(c, 0, n * sizeof(*c));
	for (i = 0; i < n; i++) {
		c[i].svc = svc;
		c[i].client = addr(client);
		c[i].cport = (uint16_t)(port0 + i);
		c[i].ending = i % 10 == 3 ? END_CRST :
		    i % 10 == 7 ? END_SRST : END_FIN;
		c[i].cseq = rnd(g);
		c[i].sseq = rnd(g);
		c[i].req = pick_size(g, i);
		c[i].resp = pick_size(g, i + 1);
	}
}

/* Puts the next extra packet after every second packet of the flows. */
static void
extra_hook(struct gen *g, unsigned pkt)
{
	if (pkt % 2 == 1)
		extra(g, extra_next);
}

/* The extra packets that found no place between the flows. */
static void
extra_drain(struct gen *g)
{
	unsigned	 before;

	do {
		before = extra_next;
		extra(g, extra_next);
	} while (extra_next != before);
}

/*
 * A TCP segment of no connection the generator follows, from client:sport
 * to the service's VIP and port dport, with pseudo-random sequence and
 * ACK numbers (drawn here, one after the other: the order in which a
 * function's arguments are evaluated is unspecified, and differs between
 * compilers).  The ACK field is filled even without the ACK flag, as a
 * receiver must ignore it then.  The caller may change the segment.
 */
static void
stray_seg(struct gen *g, struct seg *s, int svc, const char *client,
    uint16_t sport, uint16_t dport, uint8_t flags)
{
	uint32_t	 seq, ack;

	seq = rnd(g);
	ack = rnd(g);
	memset(s, 0, sizeof(*s));
	s->src = addr(client);
	s->dst = vip_of(svc);
	s->proto = IPPROTO_TCP;
	s->sport = sport;
	s->dport = dport;
	s->seq = seq;
	s->ack = ack;
	s->flags = flags;
}

/* Emits s with plen bytes of data. */
static void
emit_seg(struct gen *g, struct seg *s, uint16_t plen, enum outcome o,
    enum reason r)
{
	static uint8_t	 buf[FRAMEMAX];
	uint8_t		 payload[1500];
	size_t		 n;

	if (plen != 0) {
		fill(g, payload, plen);
		s->payload = payload;
		s->plen = plen;
	}
	n = build_seg(g, s, buf);
	emit(g, buf, (uint32_t)n, (uint32_t)n, o, r);
	s->payload = NULL;
	s->plen = 0;
}

static void
write_tcp(const char *dir)
{
	struct gen	 g;
	struct conn	 c[100];

	gen_open(&g, dir, "tcp", DLT_EN10MB, SNAPLEN);
	conns_init(&g, c, 100, SVC_WEB, "198.51.100.7", 40000);
	run_conns(&g, c, 100, NULL);
	gen_close(&g, 1);
}

/* Raw IP (no link header): IPv4 and, every fourth, IPv6 connections. */
static void
write_raw(const char *dir)
{
	struct gen	 g;
	struct conn	 c[26];
	unsigned	 i;

	gen_open(&g, dir, "raw", DLT_RAW, SNAPLEN);
	conns_init(&g, c, 26, SVC_WEB, "198.51.100.8", 50000);
	for (i = 2; i < 26; i += 4) {
		c[i].svc = SVC_WEB6;
		c[i].client = addr("2001:db8:100::8");
	}
	run_conns(&g, c, 26, NULL);
	gen_close(&g, 1);
}

/*
 * The k-th packet of bad.pcap that is not part of a good connection.
 * Each says what loadd should do with it.  Returns quietly past the last.
 */
static void
bad_packet(struct gen *g, unsigned k)
{
	static uint8_t	 buf[FRAMEMAX];
	uint8_t		 l4[256], *ip;
	struct ipaddr	 vip = vip_of(SVC_WEB), bad = addr("198.51.100.66");
	uint32_t	 n, tot, off = g->dlt == DLT_EN10MB ? EN_HLEN : 0;
	struct seg	 s;

	memset(&s, 0, sizeof(s));
	s.src = bad;
	s.dst = vip;
	s.proto = IPPROTO_TCP;
	s.sport = (uint16_t)(45000 + k);
	s.dport = 80;
	s.seq = rnd(g);
	s.flags = TH_SYN;
	ip = buf + off;

	switch (k) {
	case 0:
		/* An IP header cut after 12 bytes (not a capture limit). */
		build_seg(g, &s, buf);
		emit(g, buf, off + 12, off + 12, O_DROP, R_TRUNCATED);
		break;
	case 1:
		/* An Ethernet header that announces IP, and nothing after. */
		build_seg(g, &s, buf);
		emit(g, buf, off, off, O_DROP, R_TRUNCATED);
		break;
	case 2:
		/* IP version 5. */
		n = (uint32_t)build_seg(g, &s, buf);
		ip[0] = 0x55;
		ip_cksum_fix(ip);
		emit(g, buf, n, n, O_DROP, R_BAD_VERSION);
		break;
	case 3:
		/* Header length 16 bytes: below the minimum of 20. */
		n = (uint32_t)build_seg(g, &s, buf);
		ip[0] = 0x44;
		emit(g, buf, n, n, O_DROP, R_BAD_HDRLEN);
		break;
	case 4:
		/* Total length 100 bytes beyond the frame. */
		n = (uint32_t)build_seg(g, &s, buf);
		tot = (uint32_t)(ip[2] << 8 | ip[3]) + 100;
		put16(ip + 2, (uint16_t)tot);
		ip_cksum_fix(ip);
		emit(g, buf, n, n, O_DROP, R_BAD_TOTLEN);
		break;
	case 5:
		/* Total length 12: smaller than the header itself. */
		n = (uint32_t)build_seg(g, &s, buf);
		put16(ip + 2, 12);
		ip_cksum_fix(ip);
		emit(g, buf, n, n, O_DROP, R_BAD_TOTLEN);
		break;
	case 6:
		/* Protocol TCP with a 12-byte transport header. */
		fill(g, l4, 12);
		put16(l4, s.sport);
		put16(l4 + 2, 80);
		s.rawl4 = 1;
		s.payload = l4;
		s.plen = 12;
		n = (uint32_t)build_seg(g, &s, buf);
		emit(g, buf, n, n, O_DROP, R_BAD_L4);
		break;
	case 7:
		/* TCP data offset 4 (16 bytes): below the minimum. */
		n = (uint32_t)build_seg(g, &s, buf);
		ip[20 + 12] = 0x40;
		emit(g, buf, n, n, O_DROP, R_BAD_L4);
		break;
	case 8:
		/* TCP data offset 15 (60 bytes) in a 30-byte segment. */
		fill(g, l4, 10);
		s.payload = l4;
		s.plen = 10;
		n = (uint32_t)build_seg(g, &s, buf);
		ip[20 + 12] = 0xf0;
		emit(g, buf, n, n, O_DROP, R_BAD_L4);
		break;
	case 9:
		/* A SYN to the service as a first fragment (MF set). */
		s.frag = IP_MF;
		n = (uint32_t)build_seg(g, &s, buf);
		emit(g, buf, n, n, O_DROP, R_FRAGMENT);
		break;
	case 10:
		/* A later fragment to the VIP: offset 1480, no TCP header. */
		fill(g, l4, 40);
		s.rawl4 = 1;
		s.payload = l4;
		s.plen = 40;
		s.frag = 185;
		n = (uint32_t)build_seg(g, &s, buf);
		emit(g, buf, n, n, O_DROP, R_FRAGMENT);
		break;
	case 11:
		/* ICMP echo to the VIP: no service answers it. */
		fill(g, l4, 32);
		s.proto = IPPROTO_ICMP;
		s.icmptype = ICMP_ECHO;
		s.icmpword = 0x12340001;
		s.payload = l4;
		s.plen = 32;
		n = (uint32_t)build_seg(g, &s, buf);
		emit(g, buf, n, n, O_DROP, R_NO_SERVICE);
		break;
	case 12:
		/* UDP to VIP:80; the service there is TCP. */
		fill(g, l4, 24);
		s.proto = IPPROTO_UDP;
		s.payload = l4;
		s.plen = 24;
		n = (uint32_t)build_seg(g, &s, buf);
		emit(g, buf, n, n, O_DROP, R_NO_SERVICE);
		break;
	case 13:
		/* A SYN to VIP:443, a port that is not balanced. */
		s.dport = 443;
		n = (uint32_t)build_seg(g, &s, buf);
		emit(g, buf, n, n, O_DROP, R_NO_SERVICE);
		break;
	case 14:
		/* A mid-stream ACK of a connection loadd never saw. */
		s.flags = TH_ACK;
		s.ack = rnd(g);
		n = (uint32_t)build_seg(g, &s, buf);
		emit(g, buf, n, n, O_DROP, R_NO_FLOW);
		break;
	case 15:
		/* SYN+ACK from the client side: not a pure SYN, no flow. */
		s.flags = TH_SYN | TH_ACK;
		s.ack = rnd(g);
		n = (uint32_t)build_seg(g, &s, buf);
		emit(g, buf, n, n, O_DROP, R_NO_FLOW);
		break;
	case 16:
		/* ARP who-has VIP: not IP, written as it is. */
		lnet(g, libnet_build_arp(ARPHRD_ETHER, ETHERTYPE_IP, 6, 4,
		    ARPOP_REQUEST, mac_router, bad.a, mac_bcast, vip.a, NULL,
		    0, g->l, 0));
		lnet(g, libnet_build_ethernet(mac_bcast, mac_router,
		    ETHERTYPE_ARP, NULL, 0, g->l, 0));
		n = (uint32_t)cull(g, buf, 1);
		emit(g, buf, n, n, O_NOTIP, R_NONE);
		break;
	case 17:
		/* A 10-byte runt: too short to say what it is. */
		fill(g, buf, 10);
		emit(g, buf, 10, 10, O_NOTIP, R_NONE);
		break;
	case 18:
		/*
		 * A SYN with 200 bytes of data, captured with a snaplen of
		 * 64: loadd cannot rewrite what it does not have.
		 */
		fill(g, l4, 200);
		s.payload = l4;
		s.plen = 200;
		n = (uint32_t)build_seg(g, &s, buf);
		emit(g, buf, 64, n, O_DROP, R_CAPTURE_TRUNCATED);
		break;
	case 19:
		/* Traffic that is none of loadd's business. */
		s.src = addr("192.0.2.1");
		s.dst = addr("192.0.2.2");
		n = (uint32_t)build_seg(g, &s, buf);
		emit(g, buf, n, n, O_PASS, R_NONE);
		break;
	case 20:
		/* A server's SYN+ACK with no flow: rewritten all the same. */
		s.src = srv_addr(SVC_WEB, 1);
		s.sport = 80;
		s.dst = addr("198.51.100.77");
		s.dport = 47000;
		s.flags = TH_SYN | TH_ACK;
		s.ack = rnd(g);
		s.fromserver = 1;
		n = (uint32_t)build_seg(g, &s, buf);
		emit(g, buf, n, n, O_REWRITE, R_NONE);
		break;
	case 21:
		/* A server's reply as a first fragment. */
		s.src = srv_addr(SVC_WEB, 0);
		s.sport = 80;
		s.dst = addr("198.51.100.77");
		s.dport = 47001;
		s.flags = TH_ACK;
		s.frag = IP_MF;
		s.fromserver = 1;
		n = (uint32_t)build_seg(g, &s, buf);
		emit(g, buf, n, n, O_DROP, R_FRAGMENT);
		break;
	case 22:
		/* From a server's address but another port: not a reply. */
		s.src = srv_addr(SVC_WEB, 0);
		s.sport = 22;
		s.dst = addr("198.51.100.77");
		s.dport = 47002;
		s.flags = TH_ACK;
		s.fromserver = 1;
		n = (uint32_t)build_seg(g, &s, buf);
		emit(g, buf, n, n, O_PASS, R_NONE);
		break;
	case 23:
		/* UDP whose length field says 4 bytes. */
		fill(g, l4, 16);
		s.proto = IPPROTO_UDP;
		s.payload = l4;
		s.plen = 16;
		n = (uint32_t)build_seg(g, &s, buf);
		put16(ip + 20 + 4, 4);
		emit(g, buf, n, n, O_DROP, R_BAD_L4);
		break;
	default:
		return;
	}
	extra_next = k + 1;
}

/*
 * Good connections with bad packets in between, then two connections
 * that reuse the source ports of finished ones (after a reset and after
 * FIN both ways): loadd must see new flows there and pick the next
 * servers.  One connection is VLAN-tagged, one carries IP options.
 */
static void
write_bad(const char *dir)
{
	struct gen	 g;
	struct conn	 c[6], again[2];

	gen_open(&g, dir, "bad", DLT_EN10MB, SNAPLEN);
	conns_init(&g, c, 6, SVC_WEB, "198.51.100.20", 41000);
	c[2].vlan = 100;
	c[4].ipopts = 1;
	extra = bad_packet;
	extra_next = 0;
	run_conns(&g, c, 6, extra_hook);

	conns_init(&g, again, 2, SVC_WEB, "198.51.100.20", 41000);
	again[0].cport = c[3].cport;		/* ended by the client's RST */
	again[1].cport = c[0].cport;		/* ended by FIN both ways */
	if (c[3].ending != END_CRST || c[0].ending != END_FIN)
		errx(1, "bad.pcap: the connections to reuse ended otherwise");
	run_conns(&g, again, 2, extra_hook);
	extra_drain(&g);
	gen_close(&g, 1);
}

/*
 * Frames of the largest IPv4 datagram, 65535 bytes plus the Ethernet
 * header, in a capture whose snaplen (tcpdump's default) holds them.  A
 * capture taken where the NIC or GRO coalesces segments looks like this.
 * What loadd writes must keep them whole.
 */
static void
write_gro(const char *dir)
{
	struct gen	 g;
	struct conn	 c[4];

	gen_open(&g, dir, "gro", DLT_EN10MB, SNAPLEN_MAX);
	conns_init(&g, c, 4, SVC_WEB, "198.51.100.9", 42000);
	c[1].req = IPMAX_PAYLOAD;
	c[2].resp = IPMAX_PAYLOAD;
	run_conns(&g, c, 4, NULL);
	gen_close(&g, 1);
}

/* The k-th IPv6 packet of v6.pcap that belongs to no connection. */
static void
v6_packet(struct gen *g, unsigned k)
{
	static uint8_t	 buf[FRAMEMAX];
	uint8_t		 l4[64], *ip = buf + EN_HLEN;
	struct seg	 s;
	uint32_t	 n;

	memset(&s, 0, sizeof(s));
	s.src = addr("2001:db8:100::66");
	s.dst = vip_of(SVC_WEB6);
	s.proto = IPPROTO_TCP;
	s.sport = (uint16_t)(45100 + k);
	s.dport = 80;
	s.seq = rnd(g);
	s.flags = TH_SYN;

	switch (k) {
	case 0:
		/* A SYN to [VIP6]:443, a port that is not balanced. */
		s.dport = 443;
		n = (uint32_t)build_seg(g, &s, buf);
		emit(g, buf, n, n, O_DROP, R_NO_SERVICE);
		break;
	case 1:
		/* UDP to [VIP6]:80; the service there is TCP. */
		fill(g, l4, 20);
		s.proto = IPPROTO_UDP;
		s.payload = l4;
		s.plen = 20;
		n = (uint32_t)build_seg(g, &s, buf);
		emit(g, buf, n, n, O_DROP, R_NO_SERVICE);
		break;
	case 2:
		/* A mid-stream ACK of a connection loadd never saw. */
		s.flags = TH_ACK;
		s.ack = rnd(g);
		n = (uint32_t)build_seg(g, &s, buf);
		emit(g, buf, n, n, O_DROP, R_NO_FLOW);
		break;
	case 3:
		/* A SYN as a first fragment (fragment header, M set). */
		s.frag6 = FRAG6_FIRST;
		n = (uint32_t)build_seg(g, &s, buf);
		emit(g, buf, n, n, O_DROP, R_FRAGMENT);
		break;
	case 4:
		/* A later fragment: offset 1448, no TCP header. */
		fill(g, l4, 40);
		s.rawl4 = 1;
		s.payload = l4;
		s.plen = 40;
		s.frag6 = FRAG6_LATER;
		n = (uint32_t)build_seg(g, &s, buf);
		emit(g, buf, n, n, O_DROP, R_FRAGMENT);
		break;
	case 5:
		/* An IPv6 header cut after 30 bytes. */
		build_seg(g, &s, buf);
		emit(g, buf, EN_HLEN + 30, EN_HLEN + 30, O_DROP, R_TRUNCATED);
		break;
	case 6:
		/* A payload length 100 bytes beyond the frame. */
		n = (uint32_t)build_seg(g, &s, buf);
		put16(ip + 4, (uint16_t)(20 + 100));
		emit(g, buf, n, n, O_DROP, R_BAD_TOTLEN);
		break;
	case 7:
		/* A hop-by-hop header of 88 bytes in a 36-byte payload. */
		s.exthdrs = 1;
		n = (uint32_t)build_seg(g, &s, buf);
		ip[40 + 1] = 10;
		emit(g, buf, n, n, O_DROP, R_BAD_EXTHDR);
		break;
	case 8:
		/* Payload length 0: a jumbogram, which loadd does not take. */
		n = (uint32_t)build_seg(g, &s, buf);
		put16(ip + 4, 0);
		emit(g, buf, n, n, O_DROP, R_JUMBO);
		break;
	case 9:
		/* IPv6 traffic that is none of loadd's business. */
		s.src = addr("2001:db8:ffff::1");
		s.dst = addr("2001:db8:ffff::2");
		n = (uint32_t)build_seg(g, &s, buf);
		emit(g, buf, n, n, O_PASS, R_NONE);
		break;
	case 10:
		/* From a server's address but another port: not a reply. */
		s.src = srv_addr(SVC_WEB6, 0);
		s.sport = 22;
		s.dst = addr("2001:db8:100::77");
		s.flags = TH_ACK;
		s.fromserver = 1;
		n = (uint32_t)build_seg(g, &s, buf);
		emit(g, buf, n, n, O_PASS, R_NONE);
		break;
	case 11:
		/* A server's SYN+ACK with no flow: rewritten all the same. */
		s.src = srv_addr(SVC_WEB6, 2);
		s.sport = 80;
		s.dst = addr("2001:db8:100::77");
		s.dport = 47100;
		s.flags = TH_SYN | TH_ACK;
		s.ack = rnd(g);
		s.fromserver = 1;
		n = (uint32_t)build_seg(g, &s, buf);
		emit(g, buf, n, n, O_REWRITE, R_NONE);
		break;
	case 12:
		/* A server's reply as a first fragment. */
		s.src = srv_addr(SVC_WEB6, 1);
		s.sport = 80;
		s.dst = addr("2001:db8:100::77");
		s.dport = 47101;
		s.flags = TH_ACK;
		s.frag6 = FRAG6_FIRST;
		s.fromserver = 1;
		n = (uint32_t)build_seg(g, &s, buf);
		emit(g, buf, n, n, O_DROP, R_FRAGMENT);
		break;
	case 13:
		/*
		 * "No next header" (59) to the VIP: no service.  Eight
		 * bytes follow, to be ignored (RFC 8200 4.7): with none the
		 * payload length would be 0, which says jumbogram.
		 */
		fill(g, l4, 8);
		s.rawl4 = 1;
		s.proto = 59;
		s.payload = l4;
		s.plen = 8;
		n = (uint32_t)build_seg(g, &s, buf);
		emit(g, buf, n, n, O_DROP, R_NO_SERVICE);
		break;
	default:
		return;
	}
	extra_next = k + 1;
}

/*
 * IPv6 connections to [2001:db8::10]:80 with IPv4 ones to the same
 * port of 203.0.113.10 between them, each service with its own
 * round-robin.  Two connections carry hop-by-hop and destination options
 * in every packet, both ways; one is VLAN-tagged; one sends its packets
 * as atomic fragments (a fragment header saying offset 0 and no more
 * fragments: a whole packet, RFC 6946).  IPv6 packets that loadd must
 * drop or pass lie between them.
 */
static void
write_v6(const char *dir)
{
	struct gen	 g;
	struct conn	 c[40];
	unsigned	 i;

	gen_open(&g, dir, "v6", DLT_EN10MB, SNAPLEN);
	conns_init(&g, c, 40, SVC_WEB6, "2001:db8:100::7", 43000);
	for (i = 4; i < 40; i += 8) {
		c[i].svc = SVC_WEB;
		c[i].client = addr("198.51.100.7");
	}
	c[2].exthdrs = 1;
	c[13].exthdrs = 1;
	c[5].vlan = 200;
	c[9].frag6 = FRAG6_ATOMIC;
	extra = v6_packet;
	extra_next = 0;
	run_conns(&g, c, 40, extra_hook);
	extra_drain(&g);
	gen_close(&g, 1);
}

/* The k-th UDP packet of udp.pcap that belongs to no flow. */
static void
udp_packet(struct gen *g, unsigned k)
{
	static uint8_t	 buf[FRAMEMAX];
	uint8_t		 l4[64];
	struct seg	 s;
	uint32_t	 n;

	memset(&s, 0, sizeof(s));
	s.src = addr("198.51.100.66");
	s.dst = vip_of(SVC_DNS);
	s.proto = IPPROTO_UDP;
	s.sport = (uint16_t)(34000 + k);
	s.dport = 53;
	fill(g, l4, 30);
	s.payload = l4;
	s.plen = 30;

	switch (k) {
	case 0:
		/* A TCP SYN to VIP:53; the service there is UDP. */
		s.proto = IPPROTO_TCP;
		s.flags = TH_SYN;
		s.plen = 0;
		n = (uint32_t)build_seg(g, &s, buf);
		emit(g, buf, n, n, O_DROP, R_NO_SERVICE);
		break;
	case 1:
		/* UDP to VIP:54, a port that is not balanced. */
		s.dport = 54;
		n = (uint32_t)build_seg(g, &s, buf);
		emit(g, buf, n, n, O_DROP, R_NO_SERVICE);
		break;
	case 2:
		/* A UDP length field beyond the datagram. */
		n = (uint32_t)build_seg(g, &s, buf);
		put16(buf + EN_HLEN + 20 + 4, 8 + 30 + 1);
		emit(g, buf, n, n, O_DROP, R_BAD_L4);
		break;
	case 3:
		/* A query to [VIP6]:53 as a first fragment. */
		s.src = addr("2001:db8:100::66");
		s.dst = vip_of(SVC_DNS6);
		s.frag6 = FRAG6_FIRST;
		n = (uint32_t)build_seg(g, &s, buf);
		emit(g, buf, n, n, O_DROP, R_FRAGMENT);
		break;
	case 4:
		/* An answer from a server to a client loadd never saw. */
		s.src = srv_addr(SVC_DNS, 1);
		s.sport = srv_port(SVC_DNS);
		s.dst = addr("198.51.100.77");
		s.dport = 34100;
		s.fromserver = 1;
		n = (uint32_t)build_seg(g, &s, buf);
		emit(g, buf, n, n, O_REWRITE, R_NONE);
		break;
	default:
		return;
	}
	extra_next = k + 1;
}

/*
 * UDP flows to 203.0.113.10:53 and [2001:db8::10]:53, whose servers
 * listen on port 5300: two queries and two answers each, interleaved.
 * One IPv4 flow sends no checksums (0: must stay 0).  In some flows one
 * datagram is made so that its checksum comes out 0 after loadd rewrote
 * it, which UDP must send as 0xffff; over IPv6 a 0 would even make the
 * datagram invalid.
 */
static void
write_udp(const char *dir)
{
	struct gen	 g;
	struct conn	 c[16];
	unsigned	 i;

	gen_open(&g, dir, "udp", DLT_EN10MB, SNAPLEN);
	conns_init(&g, c, 16, SVC_DNS, "198.51.100.30", 33000);
	for (i = 8; i < 16; i++) {
		c[i].svc = SVC_DNS6;
		c[i].client = addr("2001:db8:100::30");
	}
	for (i = 0; i < 16; i++) {
		/* Room for the two bytes that make a checksum 0. */
		if (c[i].req < 2)
			c[i].req = 2;
		if (c[i].resp < 2)
			c[i].resp = 2;
	}
	c[1].nocksum = 1;
	c[2].zerostep = 1;	/* the first query */
	c[3].zerostep = 2;	/* the first answer */
	c[4].zerostep = 3;	/* the second query */
	c[5].vlan = 300;
	c[9].zerostep = 1;
	c[10].zerostep = 4;	/* the second answer */
	c[12].exthdrs = 1;
	extra = udp_packet;
	extra_next = 0;
	run_conns(&g, c, 16, extra_hook);
	extra_drain(&g);
	gen_close(&g, 1);
}

/*
 * The IP packet of flow c that an ICMP error quotes, as it was on the
 * far side of loadd: a reply as loadd rewrote it (from the VIP), or a
 * client's packet as loadd rewrote it (to the server).  It has plen bytes
 * of data; the quote keeps qlen bytes of it (0: all).  With zero set (UDP)
 * the quoted checksum comes out 0 once loadd has translated it back, so
 * loadd must write 0xffff there.  Returns the quote's length.
 */
static size_t
quote_of(struct gen *g, const struct conn *c, int reply, uint16_t plen,
    size_t qlen, int zero, uint8_t *out)
{
	uint8_t		 payload[1500], l4[1600];
	struct seg	 s;
	size_t		 n;

	memset(&s, 0, sizeof(s));
	s.proto = services[c->svc].proto;
	if (reply) {
		s.src = vip_of(c->svc);
		s.sport = services[c->svc].port;
		s.dst = c->client;
		s.dport = c->cport;
		s.seq = c->sseq;
		s.ack = c->cseq;
	} else {
		s.src = c->client;
		s.sport = c->cport;
		s.dst = srv_addr(c->svc, c->srv);
		s.dport = srv_port(c->svc);
		s.seq = c->cseq;
		s.ack = c->sseq;
	}
	s.flags = TH_PUSH | TH_ACK;
	s.cksum = c->nocksum ? CK_NONE : CK_RIGHT;
	s.ipopts = c->ipopts && !reply;
	s.exthdrs = c->exthdrs;
	fill(g, payload, plen);
	s.payload = payload;
	s.plen = plen;
	if (zero) {
		s.zeroafter = 1;
		s.rwdst = !reply;
		if (reply) {
			s.rw = srv_addr(c->svc, c->srv);
			s.rwport = srv_port(c->svc);
		} else {
			s.rw = vip_of(c->svc);
			s.rwport = services[c->svc].port;
		}
	}
	n = l4_build(&s, l4);
	n = ip_build(g, &s, l4, n, out, 0);
	return (qlen != 0 && qlen < n ? qlen : n);
}

/* Emits an ICMP (IPv4) or ICMPv6 error from src to dst quoting q. */
static void
icmp_error(struct gen *g, uint8_t type, uint8_t code, uint32_t word,
    const struct ipaddr *src, const struct ipaddr *dst, const uint8_t *q,
    size_t qlen, int cksum, enum outcome o, enum reason r)
{
	static uint8_t	 buf[FRAMEMAX];
	struct seg	 s;
	size_t		 n;

	memset(&s, 0, sizeof(s));
	s.src = *src;
	s.dst = *dst;
	s.proto = src->family == 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6;
	s.icmptype = type;
	s.icmpcode = code;
	s.icmpword = word;
	s.payload = q;
	s.plen = (uint16_t)qlen;
	s.cksum = cksum;
	n = build_seg(g, &s, buf);
	emit(g, buf, (uint32_t)n, (uint32_t)n, o, r);
}

/*
 * ICMP errors about balanced flows, both ways (RFC 5508), between the
 * packets of the flows they are about; then the flows go on and must
 * still go to their servers, since an ICMP error changes no flow.
 *
 * Towards the server (the quote is a reply loadd rewrote, from the VIP):
 * the error goes to the flow's server, quoting the server's address and
 * port.  Towards the client (the quote is a client's packet loadd
 * rewrote, to the server): the quote names the VIP and port again, and
 * an error the server sent itself comes from the VIP.
 *
 * Quotes come whole (as Linux sends them: the quote's TCP or UDP
 * checksum can then be checked in full), cut after 8 transport bytes (RFC
 * 792's minimum: no checksum in it) and cut after the TCP header (the
 * checksum is there, the data it covers is not).
 */
static void
write_icmp(const char *dir)
{
	static uint8_t	 q[1600];
	struct gen	 g;
	struct conn	 w[2], u[2], s6, u6, ghost, ghost6;
	struct ipaddr	 vip = vip_of(SVC_WEB), vip6 = vip_of(SVC_WEB6);
	struct ipaddr	 rtr = addr("198.51.100.1");
	struct ipaddr	 rtr6 = addr("2001:db8:100::1");
	struct ipaddr	 srtr = addr("10.0.1.1"), sa, sb;
	struct conn	*all[6];
	size_t		 n;
	unsigned	 i;

	gen_open(&g, dir, "icmp", DLT_EN10MB, SNAPLEN);
	conns_init(&g, w, 2, SVC_WEB, "198.51.100.31", 41500);
	conns_init(&g, u, 2, SVC_DNS, "198.51.100.31", 33300);
	conns_init(&g, &s6, 1, SVC_WEB6, "2001:db8:100::31", 41600);
	conns_init(&g, &u6, 1, SVC_DNS6, "2001:db8:100::31", 33400);
	u[1].nocksum = 1;
	w[1].ipopts = 1;
	u6.exthdrs = 1;
	all[0] = &w[0];
	all[1] = &w[1];
	all[2] = &u[0];
	all[3] = &u[1];
	all[4] = &s6;
	all[5] = &u6;
	/* Up to the first data both ways, or the first query's answer. */
	for (i = 0; i < 6; i++) {
		all[i]->ending = END_FIN;
		while (all[i]->step <
		    (services[all[i]->svc].proto == IPPROTO_TCP ? 5 : 2))
			conn_step(&g, all[i]);
	}

	/* Fragmentation needed, from a router, about a whole reply. */
	n = quote_of(&g, &w[0], 1, 200, 0, 0, q);
	icmp_error(&g, ICMP_UNREACH, ICMP_UNREACH_NEEDFRAG, 1400, &rtr, &vip, q,
	    n, CK_RIGHT, O_ICMP, R_NONE);
	/* Time exceeded, quoting 8 bytes of TCP: no checksum there. */
	n = quote_of(&g, &w[1], 1, 100, 20 + 8, 0, q);
	icmp_error(&g, ICMP_TIMXCEED, ICMP_TIMXCEED_INTRANS, 0, &rtr, &vip, q,
	    n, CK_RIGHT, O_ICMP, R_NONE);
	/* Parameter problem, quoting the TCP header without the data. */
	n = quote_of(&g, &w[0], 1, 100, 20 + 20, 0, q);
	icmp_error(&g, ICMP_PARAMPROB, 0, 0x16000000, &rtr, &vip, q, n,
	    CK_RIGHT, O_ICMP, R_NONE);
	/* Port unreachable from the client about a DNS answer. */
	n = quote_of(&g, &u[0], 1, 60, 0, 0, q);
	icmp_error(&g, ICMP_UNREACH, ICMP_UNREACH_PORT, 0, &u[0].client, &vip,
	    q, n, CK_RIGHT, O_ICMP, R_NONE);
	/*
	 * The same about an answer whose checksum, translated back to the
	 * server's address and port, is 0: it must be quoted as 0xffff.
	 */
	n = quote_of(&g, &u[0], 1, 61, 0, 1, q);
	icmp_error(&g, ICMP_UNREACH, ICMP_UNREACH_PORT, 0, &u[0].client, &vip,
	    q, n, CK_RIGHT, O_ICMP, R_NONE);
	g.t.udp_ffff++;
	/* The same about an answer without a UDP checksum: it stays 0. */
	n = quote_of(&g, &u[1], 1, 60, 0, 0, q);
	icmp_error(&g, ICMP_UNREACH, ICMP_UNREACH_PORT, 0, &u[1].client, &vip,
	    q, n, CK_RIGHT, O_ICMP, R_NONE);
	/* Port unreachable from the server itself about a request. */
	sa = srv_addr(SVC_WEB, w[0].srv);
	n = quote_of(&g, &w[0], 0, 150, 0, 0, q);
	icmp_error(&g, ICMP_UNREACH, ICMP_UNREACH_PORT, 0, &sa, &w[0].client, q,
	    n, CK_RIGHT, O_ICMP, R_NONE);
	/*
	 * Time exceeded from a router on the servers' side: its source
	 * stays.  The quoted packet has IP options: the ports come after them.
	 */
	n = quote_of(&g, &w[1], 0, 80, 24 + 8, 0, q);
	icmp_error(&g, ICMP_TIMXCEED, ICMP_TIMXCEED_INTRANS, 0, &srtr,
	    &w[1].client, q, n, CK_RIGHT, O_ICMP, R_NONE);
	/* Packet too big about an IPv6 reply, from a router. */
	n = quote_of(&g, &s6, 1, 300, 0, 0, q);
	icmp_error(&g, ICMP6_PACKET_TOO_BIG, 0, 1280, &rtr6, &vip6, q, n,
	    CK_RIGHT, O_ICMP, R_NONE);
	/* Port unreachable from an IPv6 server about a request. */
	sb = srv_addr(SVC_WEB6, s6.srv);
	n = quote_of(&g, &s6, 0, 100, 0, 0, q);
	icmp_error(&g, ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_NOPORT, 0, &sb,
	    &s6.client, q, n, CK_RIGHT, O_ICMP, R_NONE);
	/*
	 * Port unreachable from an IPv6 client about a DNS answer with
	 * extension headers: the ports come after them.
	 */
	n = quote_of(&g, &u6, 1, 40, 0, 0, q);
	icmp_error(&g, ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_NOPORT, 0,
	    &u6.client, &vip6, q, n, CK_RIGHT, O_ICMP, R_NONE);

	/* Wrong checksums: loadd must not turn them into right ones. */
	n = quote_of(&g, &w[0], 1, 200, 0, 0, q);
	icmp_error(&g, ICMP_UNREACH, ICMP_UNREACH_NEEDFRAG, 1400, &rtr, &vip, q,
	    n, CK_WRONG, O_DROP, R_ICMP_CSUM);
	sa = srv_addr(SVC_WEB, w[1].srv);
	n = quote_of(&g, &w[1], 0, 50, 0, 0, q);
	icmp_error(&g, ICMP_UNREACH, ICMP_UNREACH_PORT, 0, &sa, &w[1].client, q,
	    n, CK_WRONG, O_DROP, R_ICMP_CSUM);
	/* ICMPv6 summed as if it were ICMP, without the pseudo-header. */
	n = quote_of(&g, &s6, 1, 300, 0, 0, q);
	icmp_error(&g, ICMP6_PACKET_TOO_BIG, 0, 1280, &rtr6, &vip6, q, n,
	    CK_NOPSEUDO, O_DROP, R_ICMP_CSUM);

	/* Errors about replies of flows loadd does not have. */
	conns_init(&g, &ghost, 1, SVC_WEB, "198.51.100.99", 4444);
	conns_init(&g, &ghost6, 1, SVC_WEB6, "2001:db8:100::99", 4444);
	n = quote_of(&g, &ghost, 1, 100, 0, 0, q);
	icmp_error(&g, ICMP_UNREACH, ICMP_UNREACH_NEEDFRAG, 1400, &rtr, &vip, q,
	    n, CK_RIGHT, O_DROP, R_NO_FLOW);
	n = quote_of(&g, &ghost6, 1, 100, 0, 0, q);
	icmp_error(&g, ICMP6_PACKET_TOO_BIG, 0, 1280, &rtr6, &vip6, q, n,
	    CK_RIGHT, O_DROP, R_NO_FLOW);

	/*
	 * Towards the client no flow is needed: an error from a server
	 * about a packet of a flow loadd does not have is translated too.
	 */
	sa = srv_addr(SVC_WEB, 2);
	ghost.srv = 2;
	n = quote_of(&g, &ghost, 0, 60, 0, 0, q);
	icmp_error(&g, ICMP_UNREACH, ICMP_UNREACH_PORT, 0, &sa, &ghost.client,
	    q, n, CK_RIGHT, O_ICMP, R_NONE);

	/* Echo requests to the VIPs: no service answers them. */
	fill(&g, q, 32);
	icmp_error(&g, ICMP_ECHO, 0, 0x12340001, &w[0].client, &vip, q, 32,
	    CK_RIGHT, O_DROP, R_NO_SERVICE);
	icmp_error(&g, ICMP6_ECHO_REQUEST, 0, 0x12340001, &s6.client, &vip6, q,
	    32, CK_RIGHT, O_DROP, R_NO_SERVICE);

	/* An error about traffic that is not loadd's, between other hosts. */
	ghost.client = addr("192.0.2.9");
	ghost.svc = SVC_WEB;
	n = quote_of(&g, &ghost, 0, 40, 0, 0, q);
	memcpy(q + 16, addr("192.0.2.2").a, 4);		/* its destination */
	ip_cksum_fix(q);
	sa = addr("192.0.2.1");
	sb = addr("192.0.2.9");
	icmp_error(&g, ICMP_UNREACH, ICMP_UNREACH_PORT, 0, &sa, &sb, q, n,
	    CK_RIGHT, O_PASS, R_NONE);
	/* An error to the VIP about a port loadd does not balance. */
	ghost.client = addr("198.51.100.31");
	n = quote_of(&g, &ghost, 1, 40, 0, 0, q);
	put16(q + 20, 443);				/* its source port */
	icmp_error(&g, ICMP_UNREACH, ICMP_UNREACH_PORT, 0, &rtr, &vip, q, n,
	    CK_RIGHT, O_DROP, R_NO_SERVICE);

	/* The flows go on to the end, to the same servers. */
	for (i = 0; i < 6; i++)
		while (!conn_step(&g, all[i]))
			;
	gen_close(&g, 1);
}

/*
 * A SYN flood against a table of FLOOD_MAXFLOWS entries.
 *
 * FLOOD_EST connections are established first.  Then FLOOD_SYNS SYNs
 * come from as many spoofed addresses: the first fill the table, each
 * later one evicts the oldest half-open entry, which is the oldest SYN of
 * the flood, since established flows are never evicted.  ACKs on both
 * sides of the edge show the order: the oldest SYN and the last one
 * evicted are gone (no flow), the oldest survivor and the newest SYN are
 * there.  The established connections go on to their servers.
 *
 * Then new connections take the rest of the table, each SYN evicting
 * one more flood entry, until every entry is an established connection.
 * Two of them start to close; new SYNs evict the older closing entry, then
 * a half-open entry rather than the closing one left, then that one.  With
 * the table full of established connections again, one more SYN finds no
 * room (table_full), and the evicted connections' next packets find no
 * flow.
 */
static void
write_flood(const char *dir)
{
	struct gen	 g;
	struct conn	 est[FLOOD_EST], syn[FLOOD_SYNS];
	struct conn	 more[FLOOD_MAXFLOWS - FLOOD_EST], z[3], last;
	unsigned	 i, room = FLOOD_MAXFLOWS - FLOOD_EST, nevict;
	char		 a[INET_ADDRSTRLEN];

	if (FLOOD_SYNS <= room)
		errx(1, "flood.pcap: a flood that fits evicts nothing");
	nevict = FLOOD_SYNS - room;

	gen_open(&g, dir, "flood", DLT_EN10MB, SNAPLEN);
	g.set.maxflows = FLOOD_MAXFLOWS;
	conns_init(&g, est, FLOOD_EST, SVC_WEB, "198.51.100.40", 44000);
	for (i = 0; i < FLOOD_EST; i++) {
		est[i].ending = END_FIN;
		while (est[i].step < 3)
			conn_step(&g, &est[i]);
	}

	for (i = 0; i < FLOOD_SYNS; i++) {
		snprintf(a, sizeof(a), "100.64.%u.%u", i / 200, i % 200 + 1);
		conns_init(&g, &syn[i], 1, SVC_WEB, a,
		    (uint16_t)(1024 + rnd(&g) % 60000));
		conn_step(&g, &syn[i]);
	}
	conn_tcp(&g, &syn[0], 0, TH_ACK, 0, O_DROP, R_NO_FLOW);
	conn_tcp(&g, &syn[nevict - 1], 0, TH_ACK, 0, O_DROP, R_NO_FLOW);
	conn_tcp(&g, &syn[nevict], 0, TH_ACK, 0, O_REWRITE, R_NONE);
	conn_tcp(&g, &syn[FLOOD_SYNS - 1], 0, TH_ACK, 0, O_REWRITE, R_NONE);

	for (i = 0; i < FLOOD_EST; i++)
		while (est[i].step < 5)
			conn_step(&g, &est[i]);

	conns_init(&g, more, room, SVC_WEB, "198.51.100.41", 45000);
	for (i = 0; i < room; i++)
		while (more[i].step < 3)
			conn_step(&g, &more[i]);

	/*
	 * est[1] closes both ways, then est[0] is reset by its client: two
	 * closing entries.  z[0]'s SYN evicts est[1], the older, and stays
	 * half-open; z[1]'s SYN evicts z[0], since a half-open entry goes
	 * before a closing one however old; est[0], still there, goes on;
	 * z[2]'s SYN evicts it.
	 */
	conn_tcp(&g, &est[1], 0, TH_FIN | TH_ACK, 0, O_REWRITE, R_NONE);
	conn_tcp(&g, &est[1], 1, TH_FIN | TH_ACK, 0, O_REWRITE, R_NONE);
	conn_tcp(&g, &est[0], 0, TH_RST | TH_ACK, 0, O_REWRITE, R_NONE);
	conns_init(&g, z, 3, SVC_WEB, "198.51.100.42", 46000);
	conn_step(&g, &z[0]);
	conn_step(&g, &z[1]);
	conn_tcp(&g, &z[0], 0, TH_ACK, 0, O_DROP, R_NO_FLOW);
	conn_tcp(&g, &est[0], 0, TH_ACK, 0, O_REWRITE, R_NONE);
	while (z[1].step < 3)
		conn_step(&g, &z[1]);
	while (z[2].step < 3)
		conn_step(&g, &z[2]);

	/*
	 * No room and nothing to evict.  The generator's round-robin does
	 * not move for the refused SYN: no connection was made.
	 */
	conns_init(&g, &last, 1, SVC_WEB, "198.51.100.43", 47000);
	conn_tcp(&g, &last, 0, TH_SYN, 0, O_DROP, R_TABLE_FULL);
	conn_tcp(&g, &est[0], 0, TH_ACK, 0, O_DROP, R_NO_FLOW);
	conn_tcp(&g, &est[1], 0, TH_ACK, 0, O_DROP, R_NO_FLOW);

	/* Established before the flood, still there after it all. */
	while (!conn_step(&g, &est[5]))
		;
	g.t.stat[ST_EVICTED] = nevict + room + 3;
	g.t.stat[ST_FLOWS] = FLOOD_MAXFLOWS;
	gen_close(&g, 1);
}

/*
 * A table of 4 entries, full of established connections: a SYN is refused
 * (table_full).  Then a connection is reset, which makes its entry
 * evictable, and the next SYN takes it.  A refused SYN made no
 * connection, so round-robin has not moved for it ("each new connection
 * to the next server in turn", loadd.conf(5)): the fifth connection goes
 * to the second server.
 */
static void
write_full(const char *dir)
{
	struct gen	 g;
	struct conn	 c[4], refused, next;
	unsigned	 i;

	gen_open(&g, dir, "full", DLT_EN10MB, SNAPLEN);
	g.set.maxflows = 4;
	conns_init(&g, c, 4, SVC_WEB, "198.51.100.45", 48000);
	for (i = 0; i < 4; i++)
		while (c[i].step < 3)
			conn_step(&g, &c[i]);
	conns_init(&g, &refused, 1, SVC_WEB, "198.51.100.46", 48100);
	conn_tcp(&g, &refused, 0, TH_SYN, 0, O_DROP, R_TABLE_FULL);
	conn_tcp(&g, &c[1], 0, TH_RST | TH_ACK, 0, O_REWRITE, R_NONE);
	conns_init(&g, &next, 1, SVC_WEB, "198.51.100.46", 48101);
	next.ending = END_FIN;
	while (!conn_step(&g, &next))
		;
	g.t.stat[ST_EVICTED] = 1;
	g.t.stat[ST_FLOWS] = 4;
	gen_close(&g, 1);
}

/*
 * Idle flows, with timeouts made short: established TCP 100 s,
 * transitory TCP 20 s, UDP 30 s.  Time is the capture's: loadd's clock in
 * replay is each packet's timestamp, and its expiry runs after each batch
 * of BATCH records, at the time of the batch's last IP packet.  A flow
 * idle for less than its timeout must live on whatever expiry did; one
 * idle for timeout + timeout/16 + 1 s at an expiry run must be gone
 * (loadd looks at an entry again a sixteenth of its timeout after it last
 * did).  Every check below comes right after tick_at(), which ends a batch
 * at the given second so that expiry runs then, and each leaves a second
 * of margin beyond those bounds.
 *
 *	  0 s	connections a, b and k established, h1 and h2 half-open
 *		(SYN only), UDP flow u: query and answer
 *	 19 s	h1's ACK: idle 19 s < 20, so rewritten
 *	 23 s	h2's ACK: idle 23 s >= 20 + 1 + 2, no flow
 *	 29 s	u's query: idle 29 s < 30, same server
 *	 62 s	u's query: idle 33 s >= 30 + 1 + 2: a new flow, so the
 *		service's next server by round-robin; data from k's
 *		server; fragmentation needed about a reply of b
 *	 99 s	a's data: idle 99 s < 100, same server
 *	108 s	b's data: idle 108 s >= 100 + 6 + 2, no flow, though an
 *		ICMP error about it came at 62 s (ICMP changes no flow);
 *		its server's answer is rewritten all the same (that needs
 *		no flow); UDP flow w: query and answer
 *	130 s	w's server answers again: idle 22 s
 *	150 s	w's query: 42 s after the last, 20 s after its server's
 *		answer, which keeps the flow: same server; k's ACK: 150 s
 *		after the last, 88 s after its server's data at 62 s: same
 *		server
 *	1000 s	a last packet: the expiry after it takes every flow left
 */
static void
write_timeout(const char *dir)
{
	static uint8_t	 qb[1600];
	struct gen	 g;
	struct conn	 c[5], u, w;
	struct ipaddr	 rtr = addr("198.51.100.1"), vip = vip_of(SVC_WEB);
	size_t		 n;

	gen_open(&g, dir, "timeout", DLT_EN10MB, SNAPLEN);
	g.set.to_est = 100;
	g.set.to_trans = 20;
	g.set.to_udp = 30;
	conns_init(&g, c, 5, SVC_WEB, "198.51.100.50", 46000);
	conns_init(&g, &u, 1, SVC_DNS, "198.51.100.50", 33500);
	conns_init(&g, &w, 1, SVC_DNS, "198.51.100.50", 33501);
	while (c[0].step < 5)
		conn_step(&g, &c[0]);
	while (c[1].step < 5)
		conn_step(&g, &c[1]);
	while (c[4].step < 5)
		conn_step(&g, &c[4]);
	conn_step(&g, &c[2]);
	conn_step(&g, &c[3]);
	conn_step(&g, &u);
	conn_step(&g, &u);

	tick_at(&g, 19);
	conn_tcp(&g, &c[2], 0, TH_ACK, 0, O_REWRITE, R_NONE);
	tick_at(&g, 23);
	conn_tcp(&g, &c[3], 0, TH_ACK, 0, O_DROP, R_NO_FLOW);
	tick_at(&g, 29);
	conn_step(&g, &u);
	conn_step(&g, &u);
	tick_at(&g, 62);
	u.step = 0;
	conn_step(&g, &u);
	conn_step(&g, &u);
	conn_tcp(&g, &c[4], 1, TH_PUSH | TH_ACK, 100, O_REWRITE, R_NONE);
	n = quote_of(&g, &c[1], 1, 300, 0, 0, qb);
	icmp_error(&g, ICMP_UNREACH, ICMP_UNREACH_NEEDFRAG, 1400, &rtr, &vip,
	    qb, n, CK_RIGHT, O_ICMP, R_NONE);
	tick_at(&g, 99);
	conn_tcp(&g, &c[0], 0, TH_PUSH | TH_ACK, 100, O_REWRITE, R_NONE);
	conn_tcp(&g, &c[0], 1, TH_PUSH | TH_ACK, 200, O_REWRITE, R_NONE);
	tick_at(&g, 108);
	conn_tcp(&g, &c[1], 0, TH_PUSH | TH_ACK, 100, O_DROP, R_NO_FLOW);
	conn_tcp(&g, &c[1], 1, TH_PUSH | TH_ACK, 200, O_REWRITE, R_NONE);
	conn_step(&g, &w);
	conn_step(&g, &w);
	tick_at(&g, 130);
	conn_udp(&g, &w, 1, 50, 0, O_REWRITE, R_NONE);
	tick_at(&g, 150);
	conn_step(&g, &w);
	conn_step(&g, &w);
	conn_tcp(&g, &c[4], 0, TH_ACK, 0, O_REWRITE, R_NONE);
	gen_at(&g, 1000);
	filler(&g);
	/* h2, h1, u, u's second flow, b; then a, w and k at the very end. */
	g.t.stat[ST_EXPIRED] = 8;
	g.t.stat[ST_FLOWS] = 0;
	gen_close(&g, 1);
}

/*
 * unknown_flow = reset: a TCP packet to a service that is not a SYN and
 * belongs to no flow is answered with a RST from the VIP and port, in its
 * place (RFC 793: the ACK's number as sequence number if it has an ACK,
 * else an ACK of everything it carried).  A RST is never answered.  Real
 * connections and other drops are as without the setting.  Segments
 * without ACK carry a number in the ACK field all the same, which the
 * RST must not take for one.
 */
static void
write_reset(const char *dir)
{
	const char	*c4 = "198.51.100.61", *c6 = "2001:db8:100::61";
	struct gen	 g;
	struct conn	 c[4];
	struct seg	 s;

	gen_open(&g, dir, "reset", DLT_EN10MB, SNAPLEN);
	g.set.reset = 1;
	conns_init(&g, c, 4, SVC_WEB, "198.51.100.60", 47000);
	c[2].svc = c[3].svc = SVC_WEB6;
	c[2].client = c[3].client = addr("2001:db8:100::60");
	run_conns(&g, c, 4, NULL);

	/* IPv4: a bare ACK, an ACK with data, data without ACK, a FIN. */
	stray_seg(&g, &s, SVC_WEB, c4, 48000, 80, TH_ACK);
	emit_seg(&g, &s, 0, O_RESET, R_NONE);
	stray_seg(&g, &s, SVC_WEB, c4, 48001, 80, TH_PUSH | TH_ACK);
	emit_seg(&g, &s, 100, O_RESET, R_NONE);
	stray_seg(&g, &s, SVC_WEB, c4, 48002, 80, TH_PUSH);
	emit_seg(&g, &s, 100, O_RESET, R_NONE);
	/* Sequence number and length wrap around 2^32. */
	stray_seg(&g, &s, SVC_WEB, c4, 48003, 80, TH_FIN | TH_PUSH);
	s.seq = 0xfffffff0U;
	emit_seg(&g, &s, 20, O_RESET, R_NONE);
	/* A VLAN tag: the RST keeps the frame's link header. */
	stray_seg(&g, &s, SVC_WEB, c4, 48004, 80, TH_ACK);
	s.vlan = 100;
	emit_seg(&g, &s, 0, O_RESET, R_NONE);
	/* Resets are not answered. */
	stray_seg(&g, &s, SVC_WEB, c4, 48005, 80, TH_RST);
	emit_seg(&g, &s, 0, O_DROP, R_NO_FLOW);
	stray_seg(&g, &s, SVC_WEB, c4, 48006, 80, TH_RST | TH_ACK);
	emit_seg(&g, &s, 0, O_DROP, R_NO_FLOW);
	/* Not to a service: dropped as without the setting. */
	stray_seg(&g, &s, SVC_WEB, c4, 48007, 443, TH_ACK);
	emit_seg(&g, &s, 0, O_DROP, R_NO_SERVICE);
	/* IPv6: a bare ACK, one after extension headers, data, a RST. */
	stray_seg(&g, &s, SVC_WEB6, c6, 48100, 80, TH_ACK);
	emit_seg(&g, &s, 0, O_RESET, R_NONE);
	stray_seg(&g, &s, SVC_WEB6, c6, 48101, 80, TH_ACK);
	s.exthdrs = 1;
	emit_seg(&g, &s, 0, O_RESET, R_NONE);
	stray_seg(&g, &s, SVC_WEB6, c6, 48102, 80, TH_PUSH);
	emit_seg(&g, &s, 33, O_RESET, R_NONE);
	stray_seg(&g, &s, SVC_WEB6, c6, 48103, 80, TH_RST);
	emit_seg(&g, &s, 0, O_DROP, R_NO_FLOW);
	gen_close(&g, 1);
}

/* One SYN in PPP framing: a link type loadd does not read. */
static void
write_unsupported(const char *dir)
{
	static const uint8_t	 ppp[4] = { 0xff, 0x03, 0x00, 0x21 };
	struct gen		 g;
	struct seg		 s;
	static uint8_t		 buf[FRAMEMAX + sizeof(ppp)];
	size_t			 n;

	gen_open(&g, dir, "unsupported", DLT_PPP, SNAPLEN);
	memset(&s, 0, sizeof(s));
	s.src = addr("198.51.100.7");
	s.dst = vip_of(SVC_WEB);
	s.proto = IPPROTO_TCP;
	s.sport = 40000;
	s.dport = 80;
	s.flags = TH_SYN;
	n = build_seg(&g, &s, buf + sizeof(ppp));
	memcpy(buf, ppp, sizeof(ppp));
	n += sizeof(ppp);
	emit(&g, buf, (uint32_t)n, (uint32_t)n, O_DROP, R_NONE);
	gen_close(&g, 0);
}

static uint32_t
get32(const uint8_t *p, int swap)
{
	uint32_t	 v;

	memcpy(&v, p, 4);
	if (swap)
		v = (v >> 24) | ((v >> 8) & 0xff00) | ((v << 8) & 0xff0000) |
		    (v << 24);
	return (v);
}

static void
put32x(uint8_t *p, uint32_t v, int swap)
{
	if (swap)
		v = (v >> 24) | ((v >> 8) & 0xff00) | ((v << 8) & 0xff0000) |
		    (v << 24);
	memcpy(p, &v, 4);
}

static void
write_file(const char *dir, const char *name, const uint8_t *buf,
    size_t len)
{
	char	 path[4096];
	FILE	*fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fp = fopen(path, "wb")) == NULL)
		err(1, "%s", path);
	if (len != 0 && fwrite(buf, 1, len, fp) != len)
		err(1, "%s", path);
	if (fclose(fp) == EOF)
		err(1, "%s", path);
}

/*
 * Damages a copy of tcp.pcap byte by byte, the way a disk, a copy or a
 * killed tcpdump does: cut in the middle of record DAMAGE_AFTER, an
 * absurd length in that record's header, a file header that is not a
 * capture's.  DAMAGE_AFTER crosses loadd's batch of 64, so both a whole
 * batch and the part of one before the damage must reach the output.
 * They are replayed with tcp.conf.
 */
static void
write_damaged(const char *dir)
{
	char		 path[4096];
	uint8_t		*buf, *copy;
	FILE		*fp;
	size_t		 len, off, cut;
	uint32_t	 magic, caplen;
	unsigned	 i;
	int		 swap;
	long		 sz;

	snprintf(path, sizeof(path), "%s/tcp.pcap", dir);
	if ((fp = fopen(path, "rb")) == NULL)
		err(1, "%s", path);
	if (fseek(fp, 0, SEEK_END) == -1 || (sz = ftell(fp)) < 24 ||
	    fseek(fp, 0, SEEK_SET) == -1)
		errx(1, "%s: cannot size it", path);
	len = (size_t)sz;
	if ((buf = malloc(len)) == NULL || (copy = malloc(len)) == NULL)
		err(1, "malloc");
	if (fread(buf, 1, len, fp) != len)
		errx(1, "%s: short read", path);
	fclose(fp);

	magic = get32(buf, 0);
	if (magic == 0xa1b2c3d4)
		swap = 0;
	else if (magic == 0xd4c3b2a1)
		swap = 1;
	else
		errx(1, "%s: not a microsecond pcap file", path);
	for (off = 24, i = 0; i < DAMAGE_AFTER; i++) {
		if (off + 16 > len)
			errx(1, "%s: fewer than %u records", path,
			    DAMAGE_AFTER + 1);
		off += 16 + get32(buf + off + 8, swap);
	}
	if (off + 16 > len)
		errx(1, "%s: fewer than %u records", path, DAMAGE_AFTER + 1);
	caplen = get32(buf + off + 8, swap);

	/* Cut in the middle of the record's data. */
	cut = off + 16 + caplen / 2;
	write_file(dir, "damaged-trunc.pcap", buf, cut);

	/* A record that claims 2 GB. */
	memcpy(copy, buf, len);
	put32x(copy + off + 8, 0x7fffffff, swap);
	put32x(copy + off + 12, 0x7fffffff, swap);
	write_file(dir, "damaged-caplen.pcap", copy, len);

	/* A magic number no capture format has. */
	memcpy(copy, buf, len);
	put32x(copy, 0xdeadbeef, 0);
	write_file(dir, "damaged-magic.pcap", copy, len);

	free(buf);
	free(copy);

	snprintf(path, sizeof(path), "%s/damaged.expect", dir);
	if ((fp = fopen(path, "w")) == NULL)
		err(1, "%s", path);
	fprintf(fp, "# damaged-trunc.pcap and damaged-caplen.pcap: records "
	    "before the damage\nbefore %u\n", DAMAGE_AFTER);
	if (fclose(fp) == EOF)
		err(1, "%s", path);
}

int
main(int argc, char *argv[])
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen_fixtures OUTDIR\n");
		return (1);
	}
	write_tcp(argv[1]);
	write_raw(argv[1]);
	write_bad(argv[1]);
	write_gro(argv[1]);
	write_v6(argv[1]);
	write_udp(argv[1]);
	write_icmp(argv[1]);
	write_flood(argv[1]);
	write_full(argv[1]);
	write_timeout(argv[1]);
	write_reset(argv[1]);
	write_unsupported(argv[1]);
	write_damaged(argv[1]);
	return (0);
}
