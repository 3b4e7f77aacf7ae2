/*
 * Unit tests of loadd: one check(3) suite per module, and the few helpers
 * the suites share.  Packets are built byte by byte by tpkt_build(), and
 * every checksum a test relies on comes from ref_cksum(), a deliberately
 * naive RFC 1071 sum that shares no code with common/cksum.c.
 */
#ifndef LOADD_UNIT_H
#define LOADD_UNIT_H

#include <stddef.h>
#include <stdint.h>

#include <check.h>

struct config;
struct config_overrides;

/* Per-test time limit for the long randomized tests, in seconds. */
#define UNIT_SLOW_TIMEOUT	120

Suite	*pkt_suite(void);
Suite	*cksum_suite(void);
Suite	*conf_suite(void);
Suite	*cfgfile_suite(void);
Suite	*cfgkw_suite(void);
Suite	*flow_suite(void);
Suite	*engine_suite(void);
Suite	*engine_fp_suite(void);
Suite	*sched_suite(void);
Suite	*health_suite(void);
Suite	*probe_suite(void);
Suite	*hcprobe_suite(void);
Suite	*srvstate_suite(void);
Suite	*report_suite(void);
Suite	*loop_suite(void);
Suite	*proc_suite(void);
Suite	*stats_suite(void);
Suite	*ctl_suite(void);
Suite	*srvhist_suite(void);
Suite	*clients_suite(void);
Suite	*limits_suite(void);
#ifdef LOADD_SECCOMP
Suite	*sandbox_suite(void);
#endif
#ifdef LOADD_FASTPATH
Suite	*fastpath_suite(void);
#endif

/*
 * A test packet: IPv4 or IPv6, TCP, UDP, ICMP/ICMPv6 echo or a bare IP
 * header, with valid checksums.  Ports are in host byte order.
 */
struct tpkt {
	int		 family;	/* 4 or 6 */
	uint8_t		 proto;
	const char	*src;
	const char	*dst;
	uint16_t	 sport;
	uint16_t	 dport;
	uint8_t		 tcpflags;
	unsigned	 paylen;
	const uint8_t	*payload;	/* NULL: a counting pattern */
	unsigned	 ipopts;	/* IPv4 option bytes, 4n */
	uint16_t	 frag;		/* IPv4 flags and offset */
	const uint8_t	*ext;		/* IPv6 extension headers */
	unsigned	 next;		/* how many, 8 bytes each */
	uint16_t	 fragoff;	/* IPv6 offset << 3 | M */
};

/* Returns the packet length, or 0 when it does not fit in size. */
size_t		 tpkt_build(uint8_t *, size_t, const struct tpkt *);
/* Sets the IPv4 header and transport checksums from ref_cksum(). */
void		 tpkt_set_cksums(uint8_t *buf, unsigned l3len, unsigned len,
		    uint8_t proto);
/* The transport header offset and protocol of a packet tpkt_build made. */
unsigned	 tpkt_l3len(const uint8_t *buf, uint8_t *proto);

uint16_t	 get_be16(const uint8_t *);
void		 put_be16(uint8_t *, uint16_t);

/* RFC 1071 over bytes taken two at a time as big-endian words. */
uint16_t	 ref_cksum(const uint8_t *, size_t);
/* The transport checksum the packet should carry (host order). */
uint16_t	 ref_l4_cksum(const uint8_t *ip, unsigned l3len, unsigned len,
		    uint8_t proto);
/* Whether every checksum of the packet is exactly what ref_cksum says. */
int		 ref_cksums_ok(const uint8_t *ip, unsigned len, char *why,
		    size_t whylen);

/*
 * Runs fn in a child process, so that what it changes (a system call
 * filter, descriptors, signal dispositions) stays out of the runner, with
 * CK_FORK=no too; returns fn's result, the exit status (the bits of the
 * checks that failed, by the suites' convention).  A child that dies of
 * a signal fails the current test.
 */
int		 unit_in_child(int (*)(void));

/*
 * Loads text as a loadd.conf (written to a temporary file), failing the
 * current test with what config_load() said if it does not load.
 */
void		 conf_load_text(struct config *, const char *text);

/*
 * A small deterministic generator (xorshift32), so that a failing
 * randomized test fails the same way on every run and every libc.
 */
static inline uint32_t
unit_rand(uint32_t *state)
{
	uint32_t x = *state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*state = x;
	return (x);
}

#endif
