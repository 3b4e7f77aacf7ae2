/*
 * The agent report: encoding and decoding (common/report.c), the key
 * file, and loadd's receiver rules (loadd/agent.c): one test for each
 * class of rejected datagram, key rotation, and the freshness, drain and
 * load estimates the schedulers will read.
 */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "agent.h"
#include "cfgfile.h"
#include "compat.h"
#include "config.h"
#include "report.h"
#include "reload.h"
#include "unit.h"

#define POOLCONF	"ipaliasing = 192.0.2.10\nports = 80\n" \
			"servers = 10.0.1.11, 10.0.1.12:8080\n"
#define NOW_MS		1700000000123ull	/* wall clock of the tests */
#define MONO_MS		5000000ull

static char	 msgs[8192];
static char	 keypath[64];

static void
collect(const char *msg)
{
	strlcat(msgs, msg, sizeof(msgs));
	strlcat(msgs, "\n", sizeof(msgs));
}

static void
setup(void)
{
	ck_assert_int_eq(report_init(), 0);
	msgs[0] = '\0';
	cfg_set_reporter(collect);
}

static void
teardown(void)
{
	cfg_set_reporter(NULL);
	if (keypath[0] != '\0')
		unlink(keypath);
	keypath[0] = '\0';
}

static void
make_key(struct report_key *k, uint8_t id, uint8_t fill)
{
	memset(k, 0, sizeof(*k));	/* no servers: it speaks for all */
	k->id = id;
	memset(k->key, fill, sizeof(k->key));
}

/* A report from 10.0.1.11:80/tcp, sampled "now". */
static void
make_report(struct report *r, uint64_t seq)
{
	memset(r, 0, sizeof(*r));
	r->family = 4;
	r->proto = 6;
	ck_assert_int_eq(inet_pton(AF_INET, "10.0.1.11", r->addr.b), 1);
	r->port = 80;
	r->conn_port = 80;
	r->seq = seq;
	r->ts_sec = NOW_MS / 1000;
	r->ts_nsec = (uint32_t)(NOW_MS % 1000) * 1000000u;
	r->cpu_pm = 250;
	r->mem_pm = 600;
	r->load100 = 123;
	r->conns = 25;
	r->check = REPORT_CHECK_UP;
	r->check_us = 1500;
	r->interval_ms = 1000;
}

static void
v4(union addr *a, const char *text)
{
	memset(a, 0, sizeof(*a));
	ck_assert_int_eq(inet_pton(AF_INET, text, a->b), 1);
}

/* Re-signs a datagram after a test changed its body. */
static void
resign(uint8_t *buf, const struct report_key *k)
{
	crypto_auth_hmacsha256(buf + REPORT_BODYLEN, buf, REPORT_BODYLEN,
	    k->key);
}

/* Writes text to a temporary key file of the given mode. */
static void
write_keyfile(const char *text, mode_t mode)
{
	int	 fd;

	snprintf(keypath, sizeof(keypath), "/tmp/loadd-unit-key-XXXXXX");
	ck_assert_int_ne(fd = mkstemp(keypath), -1);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
}

/* Whether msgs has "keypath:line: " followed somewhere by phrase. */
static int
has_msg(unsigned line, const char *phrase)
{
	char		 prefix[128];
	const char	*s;

	if (line > 0)
		snprintf(prefix, sizeof(prefix), "%s:%u: ", keypath, line);
	else
		snprintf(prefix, sizeof(prefix), "%s: ", keypath);
	for (s = msgs; (s = strstr(s, prefix)) != NULL; s++) {
		const char *e = strchr(s, '\n');

		if (e != NULL && memmem(s, (size_t)(e - s), phrase,
		    strlen(phrase)) != NULL)
			return (1);
	}
	return (0);
}

/* Encoding and decoding. */

START_TEST(test_roundtrip)
{
	struct report_keys	 keys;
	struct report		 r, d;
	uint8_t			 buf[REPORT_LEN + 8];

	memset(&keys, 0, sizeof(keys));
	make_key(&keys.k[0], 7, 0xa5);
	keys.n = 1;
	make_report(&r, 0x123456789abcdef0ull);
	r.flags = REPORT_F_DRAIN;
	r.weight = 42;
	ck_assert_int_eq(report_encode(buf, sizeof(buf), &r, &keys.k[0]),
	    REPORT_LEN);
	/* Network byte order at the documented offsets. */
	ck_assert_mem_eq(buf, "LMDR\x01\x07\x04\x06\x0a\x00\x01\x0b", 12);
	ck_assert_mem_eq(buf + 24, "\x00\x50\x00\x50\x12\x34\x56\x78", 8);
	ck_assert_mem_eq(buf + 48, "\x00\xfa\x02\x58", 4);
	ck_assert_int_eq(report_decode(&d, buf, REPORT_LEN, &keys), REPORT_OK);
	r.keyid = 7;
	ck_assert_int_eq(memcmp(&r, &d, sizeof(r)), 0);

	/* IPv6, UDP. */
	r.family = 6;
	r.proto = 17;
	ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8::11", r.addr.b), 1);
	r.check = REPORT_CHECK_DOWN;
	ck_assert_int_eq(report_encode(buf, sizeof(buf), &r, &keys.k[0]),
	    REPORT_LEN);
	ck_assert_int_eq(report_decode(&d, buf, REPORT_LEN, &keys), REPORT_OK);
	ck_assert_int_eq(memcmp(&r, &d, sizeof(r)), 0);
}
END_TEST

START_TEST(test_encode_refuses)
{
	struct report_key	 k;
	struct report		 r;
	uint8_t			 buf[REPORT_LEN];

	make_key(&k, 1, 1);
	make_report(&r, 1);
	ck_assert_int_eq(report_encode(buf, REPORT_LEN - 1, &r, &k), -1);
	r.cpu_pm = 1001;
	ck_assert_int_eq(report_encode(buf, sizeof(buf), &r, &k), -1);
	make_report(&r, 1);
	r.family = 5;
	ck_assert_int_eq(report_encode(buf, sizeof(buf), &r, &k), -1);
	make_report(&r, 1);
	r.addr.b[7] = 1;	/* junk after an IPv4 address */
	ck_assert_int_eq(report_encode(buf, sizeof(buf), &r, &k), -1);
	make_report(&r, 1);
	r.interval_ms = 0;
	ck_assert_int_eq(report_encode(buf, sizeof(buf), &r, &k), -1);
}
END_TEST

START_TEST(test_decode_errors)
{
	struct report_keys	 keys;
	struct report		 r, d;
	uint8_t			 buf[REPORT_LEN + 1], copy[REPORT_LEN + 1];
	unsigned		 i;

	memset(&keys, 0, sizeof(keys));
	make_key(&keys.k[0], 3, 0x11);
	keys.n = 1;
	make_report(&r, 99);
	ck_assert_int_eq(report_encode(buf, sizeof(buf), &r, &keys.k[0]),
	    REPORT_LEN);
	memset(&d, 0xee, sizeof(d));
	memcpy(copy, buf, sizeof(copy));

	ck_assert_int_eq(report_decode(&d, buf, 0, &keys), REPORT_ELEN);
	ck_assert_int_eq(report_decode(&d, buf, REPORT_LEN - 1, &keys),
	    REPORT_ELEN);
	ck_assert_int_eq(report_decode(&d, buf, REPORT_LEN + 1, &keys),
	    REPORT_ELEN);
	buf[4] = 2;
	ck_assert_int_eq(report_decode(&d, buf, REPORT_LEN, &keys),
	    REPORT_EVERSION);
	memcpy(buf, copy, sizeof(buf));
	buf[0] = 'X';
	ck_assert_int_eq(report_decode(&d, buf, REPORT_LEN, &keys),
	    REPORT_EVERSION);
	memcpy(buf, copy, sizeof(buf));
	buf[5] = 4;
	ck_assert_int_eq(report_decode(&d, buf, REPORT_LEN, &keys),
	    REPORT_EKEYID);
	buf[5] = 0;
	ck_assert_int_eq(report_decode(&d, buf, REPORT_LEN, &keys),
	    REPORT_EKEYID);
	/* Any changed bit of the body or of the MAC breaks the MAC. */
	for (i = 6; i < REPORT_LEN; i++) {
		memcpy(buf, copy, sizeof(buf));
		buf[i] ^= 0x01;
		ck_assert_msg(report_decode(&d, buf, REPORT_LEN, &keys) ==
		    REPORT_EMAC, "byte %u changed, MAC still good", i);
	}
	/* Authentic but out of range. */
	memcpy(buf, copy, sizeof(buf));
	buf[48] = 0x10;		/* CPU 4346 per mille */
	resign(buf, &keys.k[0]);
	ck_assert_int_eq(report_decode(&d, buf, REPORT_LEN, &keys),
	    REPORT_EFIELD);
	memcpy(buf, copy, sizeof(buf));
	buf[61] = 0x80;		/* an undefined flag */
	resign(buf, &keys.k[0]);
	ck_assert_int_eq(report_decode(&d, buf, REPORT_LEN, &keys),
	    REPORT_EFIELD);
	/* Nothing was written on any failure. */
	for (i = 0; i < sizeof(d); i++)
		ck_assert_uint_eq(((uint8_t *)&d)[i], 0xee);
	ck_assert_str_eq(report_strerror(REPORT_EMAC), "bad MAC");
}
END_TEST

START_TEST(test_seq_start)
{
	/* A later start is above 2^20 reports of an earlier one per ms. */
	ck_assert(report_seq_start(NOW_MS + 1) >
	    report_seq_start(NOW_MS) + 1000000);
	ck_assert(report_seq_start(NOW_MS) < (1ull << 62));
}
END_TEST

/* lmd's numbers follow its clock; loadd's limit is the clock's. */
START_TEST(test_seq_next_limit)
{
	uint64_t	 s0 = report_seq_start(NOW_MS), s;

	/* The clock moved on: its number. */
	ck_assert_uint_eq(report_seq_next(s0, NOW_MS + 5),
	    report_seq_start(NOW_MS + 5));
	/* Same millisecond, or the clock went back a little: one more. */
	ck_assert_uint_eq(report_seq_next(s0, NOW_MS), s0 + 1);
	ck_assert_uint_eq(report_seq_next(s0, NOW_MS - REPORT_SEQ_AHEAD_MS),
	    s0 + 1);
	/* Set back further: from the clock again (smaller). */
	s = report_seq_next(s0, NOW_MS - REPORT_SEQ_AHEAD_MS - 1);
	ck_assert_uint_eq(s, report_seq_start(NOW_MS - REPORT_SEQ_AHEAD_MS -
	    1));
	ck_assert_uint_lt(s, s0);
	/* The limit: all of the millisecond window + 1 s ahead. */
	ck_assert_uint_eq(report_seq_limit(NOW_MS, 30000),
	    report_seq_start(NOW_MS + 30000 + REPORT_SEQ_AHEAD_MS + 1) - 1);
	ck_assert_uint_lt(report_seq_limit(NOW_MS, 30000), UINT64_MAX);
	/* Absurd clocks do not wrap into a small limit. */
	ck_assert_uint_eq(report_seq_limit(UINT64_MAX, 30000), UINT64_MAX);
	ck_assert_uint_eq(report_seq_limit(NOW_MS, UINT64_MAX), UINT64_MAX);
}
END_TEST

/* The key file. */

START_TEST(test_keys_good)
{
	struct report_keys	 keys;

	write_keyfile("# loadd and lmd share these\n\n"
	    "1 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"
	    "  200\tFFEEDDCCBBAA99887766554433221100ffeeddccbbaa99887766554433221100"
	    "  # the next one\n", 0600);
	ck_assert_int_eq(report_keys_load(&keys, keypath), 0);
	ck_assert_str_eq(msgs, "");
	ck_assert_uint_eq(keys.n, 2);
	ck_assert_uint_eq(keys.k[0].id, 1);
	ck_assert_uint_eq(keys.k[0].key[31], 0x1f);
	ck_assert_uint_eq(keys.k[1].id, 200);
	ck_assert_uint_eq(keys.k[1].key[0], 0xff);
	ck_assert_ptr_eq(report_keys_find(&keys, 200), &keys.k[1]);
	ck_assert_ptr_null(report_keys_find(&keys, 2));
	report_keys_clear(&keys);
	ck_assert_uint_eq(keys.n, 0);
	ck_assert_uint_eq(keys.k[0].key[31], 0);
}
END_TEST

START_TEST(test_keys_mode)
{
	struct report_keys	 keys;
	static const mode_t	 modes[] = { 0644, 0640, 0604, 0620, 0602 };
	unsigned		 i;

	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		msgs[0] = '\0';
		write_keyfile("1 000102030405060708090a0b0c0d0e0f"
		    "101112131415161718191a1b1c1d1e1f\n", modes[i]);
		ck_assert_int_eq(report_keys_load(&keys, keypath), -1);
		ck_assert_msg(has_msg(0, "lets group or others read or write"),
		    "mode %o: %s", (unsigned)modes[i], msgs);
		ck_assert_uint_eq(keys.n, 0);
		unlink(keypath);
	}
	ck_assert_ptr_nonnull(strstr(msgs, "mode 0602"));
	keypath[0] = '\0';
	msgs[0] = '\0';
	ck_assert_int_eq(report_keys_load(&keys, "/nonexistent/key"), -1);
	ck_assert_ptr_nonnull(strstr(msgs, "/nonexistent/key: No such file"));
}
END_TEST

START_TEST(test_keys_malformed)
{
	struct report_keys	 keys;

	write_keyfile(
	    "1 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"
	    "2 0001020304\n"
	    "0 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"
	    "256 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"
	    "x1 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"
	    "3 zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"
	    "4\n"
	    "5 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f x\n"
	    "1 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n",
	    0600);
	ck_assert_int_eq(report_keys_load(&keys, keypath), -1);
	ck_assert_msg(has_msg(2, "64 hexadecimal digits"), "%s", msgs);
	ck_assert_msg(has_msg(3, "1 to 255"), "%s", msgs);
	ck_assert_msg(has_msg(4, "1 to 255"), "%s", msgs);
	ck_assert_msg(has_msg(5, "1 to 255"), "%s", msgs);
	ck_assert_msg(has_msg(6, "64 hexadecimal digits"), "%s", msgs);
	ck_assert_msg(has_msg(7, "expected \"ID HEXKEY [SERVER ...]\""), "%s",
	    msgs);
	ck_assert_msg(has_msg(8, "a server is an address or a network"), "%s",
	    msgs);
	ck_assert_msg(has_msg(9, "key id 1 given twice"), "%s", msgs);
	ck_assert_msg(!has_msg(1, ""), "%s", msgs);
	ck_assert_uint_eq(keys.n, 0);
}
END_TEST

START_TEST(test_keys_limits)
{
	struct report_keys	 keys;
	char			 text[1024] = "";
	char			 line[128];
	unsigned		 i;

	for (i = 1; i <= REPORT_MAXKEYS + 1; i++) {
		snprintf(line, sizeof(line), "%u %064u\n", i, i);
		strlcat(text, line, sizeof(text));
	}
	write_keyfile(text, 0600);
	ck_assert_int_eq(report_keys_load(&keys, keypath), -1);
	ck_assert_msg(has_msg(REPORT_MAXKEYS + 1, "more than 4 keys"), "%s",
	    msgs);
	unlink(keypath);
	msgs[0] = '\0';
	write_keyfile("# nothing yet\n", 0400);
	ck_assert_int_eq(report_keys_load(&keys, keypath), -1);
	ck_assert_msg(has_msg(0, "no key"), "%s", msgs);
}
END_TEST

/* "ID HEX SERVER...": the servers a key may speak for. */
START_TEST(test_keys_servers)
{
	struct report_keys	 keys;
	union addr		 a;

	write_keyfile(
	    "1 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"
	    "2 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f 10.0.1.11 10.0.2.0/24\t2001:db8::11  # s1, a rack, s1 v6\n"
	    "3 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f 0.0.0.0/0\n", 0600);
	ck_assert_int_eq(report_keys_load(&keys, keypath), 0);
	ck_assert_str_eq(msgs, "");
	ck_assert_uint_eq(keys.n, 3);
	/* The old syntax: every server. */
	ck_assert_uint_eq(keys.k[0].nnets, 0);
	v4(&a, "10.9.9.9");
	ck_assert_int_eq(report_key_allows(&keys.k[0], 4, &a), 1);
	ck_assert_uint_eq(keys.k[1].nnets, 3);
	ck_assert_uint_eq(keys.k[1].key[31], 0x1f);
	v4(&a, "10.0.1.11");
	ck_assert_int_eq(report_key_allows(&keys.k[1], 4, &a), 1);
	v4(&a, "10.0.1.12");
	ck_assert_int_eq(report_key_allows(&keys.k[1], 4, &a), 0);
	v4(&a, "10.0.2.200");
	ck_assert_int_eq(report_key_allows(&keys.k[1], 4, &a), 1);
	v4(&a, "10.0.3.1");
	ck_assert_int_eq(report_key_allows(&keys.k[1], 4, &a), 0);
	memset(&a, 0, sizeof(a));
	ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8::11", a.b), 1);
	ck_assert_int_eq(report_key_allows(&keys.k[1], 6, &a), 1);
	a.b[15] = 0x12;
	ck_assert_int_eq(report_key_allows(&keys.k[1], 6, &a), 0);
	/* Families do not mix: 0.0.0.0/0 is every IPv4 server only. */
	ck_assert_int_eq(report_key_allows(&keys.k[2], 6, &a), 0);
	v4(&a, "192.0.2.1");
	ck_assert_int_eq(report_key_allows(&keys.k[2], 4, &a), 1);
	report_keys_clear(&keys);
}
END_TEST

START_TEST(test_keys_bad_servers)
{
	struct report_keys	 keys;
	char			 text[2048], *p;
	unsigned		 i;

	write_keyfile(
	    "1 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f 10.0.1.11:80\n"
	    "2 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f 10.0.1.1/24\n"
	    "3 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f 10.0.1.0/33\n"
	    "4 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f 10.0.1.0/\n"
	    "5 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f 10.0.1.0/-1\n"
	    "6 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f [2001:db8::1]:80\n"
	    "7 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f somehost\n"
	    "8 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f 2001:db8::/129\n", 0600);
	ck_assert_int_eq(report_keys_load(&keys, keypath), -1);
	for (i = 1; i <= 8; i++)
		ck_assert_msg(has_msg(i, "a server is an address or a network"),
		    "line %u: %s", i, msgs);
	ck_assert_uint_eq(keys.n, 0);
	unlink(keypath);
	/* 16 servers are fine, 17 are not. */
	msgs[0] = '\0';
	p = text + snprintf(text, sizeof(text), "1 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
	for (i = 1; i <= REPORT_KEYMAXNETS; i++)
		p += snprintf(p, sizeof(text) - (size_t)(p - text),
		    " 10.0.1.%u", i);
	snprintf(p, sizeof(text) - (size_t)(p - text), "\n");
	write_keyfile(text, 0600);
	ck_assert_int_eq(report_keys_load(&keys, keypath), 0);
	ck_assert_uint_eq(keys.k[0].nnets, REPORT_KEYMAXNETS);
	unlink(keypath);
	p = text + strlen(text) - 1;
	snprintf(p, sizeof(text) - (size_t)(p - text), " 10.0.1.99\n");
	write_keyfile(text, 0600);
	ck_assert_int_eq(report_keys_load(&keys, keypath), -1);
	ck_assert_msg(has_msg(1, "more than 16 servers"), "%s", msgs);
}
END_TEST

/*
 * Whatever is at the key file's path, loading ends at once, with a few
 * lines of errors and little memory: a device, a FIFO without a writer,
 * a huge file, a file of many bad lines, a long line, NUL bytes.
 */
START_TEST(test_keys_bounded)
{
	struct report_keys	 keys;
	char			 fifo[64], *big;
	const char		*s;
	unsigned		 i, n;
	int			 fd;

	ck_assert_int_eq(report_keys_load(&keys, "/dev/zero"), -1);
	ck_assert_ptr_nonnull(strstr(msgs, "/dev/zero: not a regular file"));
	msgs[0] = '\0';
	ck_assert_int_eq(report_keys_load(&keys, "/dev/urandom"), -1);
	ck_assert_ptr_nonnull(strstr(msgs, "not a regular file"));
	/* A FIFO must not wait for a writer (check's timeout would fire). */
	snprintf(fifo, sizeof(fifo), "/tmp/loadd-unit-fifo-%ld", (long)getpid());
	unlink(fifo);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	msgs[0] = '\0';
	ck_assert_int_eq(report_keys_load(&keys, fifo), -1);
	unlink(fifo);
	ck_assert_ptr_nonnull(strstr(msgs, "not a regular file"));

	/* Larger than REPORT_KEYFILE_MAX: refused before it is read. */
	ck_assert_ptr_nonnull(big = malloc(REPORT_KEYFILE_MAX + 2));
	memset(big, '#', REPORT_KEYFILE_MAX + 1);
	big[REPORT_KEYFILE_MAX + 1] = '\0';
	msgs[0] = '\0';
	write_keyfile(big, 0600);
	ck_assert_int_eq(report_keys_load(&keys, keypath), -1);
	ck_assert_msg(has_msg(0, "larger than 65536 bytes"), "%s", msgs);
	unlink(keypath);

	/* Thousands of bad lines: at most REPORT_KEYFILE_MAXERR said. */
	for (i = 0; i + 2 < REPORT_KEYFILE_MAX; i += 2) {
		big[i] = 'x';
		big[i + 1] = '\n';
	}
	big[i] = '\0';
	msgs[0] = '\0';
	write_keyfile(big, 0600);
	ck_assert_int_eq(report_keys_load(&keys, keypath), -1);
	for (n = 0, s = msgs; (s = strchr(s, '\n')) != NULL; s++)
		n++;
	ck_assert_uint_eq(n, REPORT_KEYFILE_MAXERR + 1);
	ck_assert_msg(has_msg(0, "more than 10 errors"), "%s", msgs);
	ck_assert_msg(has_msg(10, "expected"), "%s", msgs);
	ck_assert_msg(!has_msg(11, ""), "%s", msgs);
	unlink(keypath);

	/* One line of 60 KiB: one error, and the good key after it counts. */
	memset(big, 'a', 60000);
	snprintf(big + 60000, 200, "\n1 %s\n",
	    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
	msgs[0] = '\0';
	write_keyfile(big, 0600);
	ck_assert_int_eq(report_keys_load(&keys, keypath), -1);
	ck_assert_msg(has_msg(1, "line too long"), "%s", msgs);
	ck_assert_msg(!has_msg(2, ""), "%s", msgs);
	unlink(keypath);
	free(big);

	/* A NUL byte. */
	snprintf(keypath, sizeof(keypath), "/tmp/loadd-unit-key-XXXXXX");
	ck_assert_int_ne(fd = mkstemp(keypath), -1);
	ck_assert_int_eq(write(fd, "1 \0", 3), 3);
	ck_assert_int_eq(fchmod(fd, 0600), 0);
	close(fd);
	msgs[0] = '\0';
	ck_assert_int_eq(report_keys_load(&keys, keypath), -1);
	ck_assert_msg(has_msg(0, "NUL byte"), "%s", msgs);
	ck_assert_uint_eq(keys.n, 0);
}
END_TEST

/* loadd's receiver. */

struct rx {
	struct config		 conf;
	struct report_keys	 keys;
	struct agent		 a;
	union addr		 src;	/* 10.0.1.11 */
};

static void
rx_setup(struct rx *x)
{
	conf_load_text(&x->conf, POOLCONF);
	memset(&x->keys, 0, sizeof(x->keys));
	make_key(&x->keys.k[0], 1, 0x42);
	x->keys.n = 1;
	ck_assert_int_eq(agent_init(&x->a, &x->conf.pool, &x->keys,
	    AGENT_WINDOW_MS, AGENT_STALE_INTERVALS), 0);
	v4(&x->src, "10.0.1.11");
}

static void
rx_teardown(struct rx *x)
{
	agent_free(&x->a);
	config_free(&x->conf);
}

/* Encodes r with key and gives it to the agent from x->src. */
static int
rx_send(struct rx *x, const struct report *r, const struct report_key *k,
    uint64_t wall, uint64_t mono)
{
	uint8_t	 buf[REPORT_LEN];

	ck_assert_int_eq(report_encode(buf, sizeof(buf), r, k), REPORT_LEN);
	return (agent_receive(&x->a, &x->conf.pool, buf, sizeof(buf), 4,
	    &x->src, wall, mono, NULL));
}

START_TEST(test_agent_accept)
{
	struct rx	 x;
	struct report	 r;
	uint8_t		 buf[REPORT_LEN];
	unsigned	 srv = 99;

	rx_setup(&x);
	make_report(&r, 10);
	ck_assert_int_eq(report_encode(buf, sizeof(buf), &r, &x.keys.k[0]),
	    REPORT_LEN);
	ck_assert_int_eq(agent_receive(&x.a, &x.conf.pool, buf, sizeof(buf),
	    4, &x.src, NOW_MS, MONO_MS, &srv), AGENT_ACCEPTED);
	ck_assert_uint_eq(srv, 0);
	ck_assert_uint_eq(x.a.count[AGENT_ACCEPTED], 1);
	ck_assert_int_eq(x.a.st[0].valid, 1);
	ck_assert_uint_eq(x.a.st[0].r.cpu_pm, 250);
	ck_assert_uint_eq(x.a.st[0].rcvd_ms, MONO_MS);
	ck_assert_int_eq(x.a.st[1].valid, 0);

	/* The second server, 10.0.1.12:8080, from a v4-mapped source. */
	v4(&r.addr, "10.0.1.12");
	r.port = 8080;
	ck_assert_int_eq(report_encode(buf, sizeof(buf), &r, &x.keys.k[0]),
	    REPORT_LEN);
	memset(&x.src, 0, sizeof(x.src));
	ck_assert_int_eq(inet_pton(AF_INET6, "::ffff:10.0.1.12", x.src.b), 1);
	ck_assert_int_eq(agent_receive(&x.a, &x.conf.pool, buf, sizeof(buf),
	    6, &x.src, NOW_MS, MONO_MS, &srv), AGENT_ACCEPTED);
	ck_assert_uint_eq(srv, 1);
	rx_teardown(&x);
}
END_TEST

/* The four classes report_decode() finds, counted by the agent. */
START_TEST(test_agent_decode_classes)
{
	struct rx	 x;
	struct report	 r;
	struct report_key other;
	uint8_t		 buf[REPORT_LEN];

	rx_setup(&x);
	make_report(&r, 10);
	ck_assert_int_eq(report_encode(buf, sizeof(buf), &r, &x.keys.k[0]),
	    REPORT_LEN);
	ck_assert_int_eq(agent_receive(&x.a, &x.conf.pool, buf, 50, 4, &x.src,
	    NOW_MS, MONO_MS, NULL), AGENT_ELEN);
	buf[4] = 9;
	ck_assert_int_eq(agent_receive(&x.a, &x.conf.pool, buf, sizeof(buf),
	    4, &x.src, NOW_MS, MONO_MS, NULL), AGENT_EVERSION);
	make_key(&other, 2, 0x42);
	ck_assert_int_eq(rx_send(&x, &r, &other, NOW_MS, MONO_MS),
	    AGENT_EKEYID);
	/* The right id, the wrong secret: a forgery. */
	make_key(&other, 1, 0x43);
	ck_assert_int_eq(rx_send(&x, &r, &other, NOW_MS, MONO_MS), AGENT_EMAC);
	ck_assert_uint_eq(x.a.count[AGENT_ELEN], 1);
	ck_assert_uint_eq(x.a.count[AGENT_EVERSION], 1);
	ck_assert_uint_eq(x.a.count[AGENT_EKEYID], 1);
	ck_assert_uint_eq(x.a.count[AGENT_EMAC], 1);
	ck_assert_uint_eq(x.a.count[AGENT_ACCEPTED], 0);
	ck_assert_int_eq(x.a.st[0].valid, 0);
	rx_teardown(&x);
}
END_TEST

START_TEST(test_agent_replay)
{
	struct rx	 x;
	struct report	 r;

	rx_setup(&x);
	make_report(&r, 10);
	ck_assert_int_eq(rx_send(&x, &r, &x.keys.k[0], NOW_MS, MONO_MS),
	    AGENT_ACCEPTED);
	/* The same datagram again, and an older one. */
	ck_assert_int_eq(rx_send(&x, &r, &x.keys.k[0], NOW_MS, MONO_MS + 1),
	    AGENT_EREPLAY);
	r.seq = 9;
	r.cpu_pm = 900;
	ck_assert_int_eq(rx_send(&x, &r, &x.keys.k[0], NOW_MS, MONO_MS + 2),
	    AGENT_EREPLAY);
	ck_assert_uint_eq(x.a.count[AGENT_EREPLAY], 2);
	ck_assert_uint_eq(x.a.st[0].r.cpu_pm, 250);
	ck_assert_uint_eq(x.a.st[0].rcvd_ms, MONO_MS);
	/* Sequence numbers are per server. */
	v4(&r.addr, "10.0.1.12");
	r.port = 8080;
	v4(&x.src, "10.0.1.12");
	ck_assert_int_eq(rx_send(&x, &r, &x.keys.k[0], NOW_MS, MONO_MS),
	    AGENT_ACCEPTED);
	/* A restarted lmd starts above the old one. */
	v4(&r.addr, "10.0.1.11");
	r.port = 80;
	v4(&x.src, "10.0.1.11");
	r.seq = report_seq_start(NOW_MS);
	ck_assert_int_eq(rx_send(&x, &r, &x.keys.k[0], NOW_MS, MONO_MS + 3),
	    AGENT_ACCEPTED);
	rx_teardown(&x);
}
END_TEST

START_TEST(test_agent_stale)
{
	struct rx	 x;
	struct report	 r;

	rx_setup(&x);
	make_report(&r, 10);
	/* 30 s either way is still fine; 30.001 s is not. */
	ck_assert_int_eq(rx_send(&x, &r, &x.keys.k[0], NOW_MS + 30001,
	    MONO_MS), AGENT_ESTALE);
	ck_assert_int_eq(rx_send(&x, &r, &x.keys.k[0], NOW_MS - 30001,
	    MONO_MS), AGENT_ESTALE);
	ck_assert_int_eq(x.a.st[0].valid, 0);
	ck_assert_int_eq(rx_send(&x, &r, &x.keys.k[0], NOW_MS - 30000,
	    MONO_MS), AGENT_ACCEPTED);
	r.seq++;
	ck_assert_int_eq(rx_send(&x, &r, &x.keys.k[0], NOW_MS + 30000,
	    MONO_MS), AGENT_ACCEPTED);
	/* A timestamp that overflows milliseconds. */
	r.seq++;
	r.ts_sec = UINT64_MAX;
	ck_assert_int_eq(rx_send(&x, &r, &x.keys.k[0], NOW_MS, MONO_MS),
	    AGENT_ESTALE);
	ck_assert_uint_eq(x.a.count[AGENT_ESTALE], 3);
	/* A stale report did not advance the sequence. */
	ck_assert_uint_eq(x.a.st[0].seq, 11);
	rx_teardown(&x);
}
END_TEST

START_TEST(test_agent_sender)
{
	struct rx	 x;
	struct report	 r;

	rx_setup(&x);
	make_report(&r, 10);
	/* 10.0.1.12 speaking for 10.0.1.11. */
	v4(&x.src, "10.0.1.12");
	ck_assert_int_eq(rx_send(&x, &r, &x.keys.k[0], NOW_MS, MONO_MS),
	    AGENT_ESENDER);
	/* A server loadd does not balance to, from its own address. */
	v4(&r.addr, "10.0.1.99");
	v4(&x.src, "10.0.1.99");
	ck_assert_int_eq(rx_send(&x, &r, &x.keys.k[0], NOW_MS, MONO_MS),
	    AGENT_ESENDER);
	/* The right address, the wrong port or protocol. */
	v4(&r.addr, "10.0.1.11");
	v4(&x.src, "10.0.1.11");
	r.port = 81;
	ck_assert_int_eq(rx_send(&x, &r, &x.keys.k[0], NOW_MS, MONO_MS),
	    AGENT_ESENDER);
	r.port = 80;
	r.proto = 17;
	ck_assert_int_eq(rx_send(&x, &r, &x.keys.k[0], NOW_MS, MONO_MS),
	    AGENT_ESENDER);
	ck_assert_uint_eq(x.a.count[AGENT_ESENDER], 4);
	ck_assert_int_eq(x.a.st[0].valid, 0);
	rx_teardown(&x);
}
END_TEST

/* Two keys during rotation; then the old one is retired. */
START_TEST(test_agent_rotation)
{
	struct rx		 x;
	struct report		 r;
	struct report_key	 oldk, newk;

	rx_setup(&x);
	make_key(&oldk, 1, 0x42);
	make_key(&newk, 2, 0x99);
	x.keys.k[1] = newk;
	x.keys.n = 2;
	make_report(&r, 10);
	ck_assert_int_eq(rx_send(&x, &r, &oldk, NOW_MS, MONO_MS),
	    AGENT_ACCEPTED);
	r.seq++;
	ck_assert_int_eq(rx_send(&x, &r, &newk, NOW_MS, MONO_MS),
	    AGENT_ACCEPTED);
	ck_assert_uint_eq(x.a.st[0].r.keyid, 2);
	/* The old key leaves loadd's file. */
	x.keys.k[0] = newk;
	x.keys.n = 1;
	r.seq++;
	ck_assert_int_eq(rx_send(&x, &r, &oldk, NOW_MS, MONO_MS),
	    AGENT_EKEYID);
	ck_assert_int_eq(rx_send(&x, &r, &newk, NOW_MS, MONO_MS),
	    AGENT_ACCEPTED);
	rx_teardown(&x);
}
END_TEST

START_TEST(test_agent_fresh)
{
	struct rx	 x;
	struct report	 r;

	rx_setup(&x);
	ck_assert_uint_eq(agent_age(&x.a, 0, MONO_MS), UINT64_MAX);
	ck_assert_int_eq(agent_fresh(&x.a, 0, MONO_MS), 0);
	ck_assert_uint_eq(agent_weight(&x.a, 0, 5, MONO_MS), 5);
	make_report(&r, 10);
	r.check = REPORT_CHECK_DOWN;
	r.weight = 9;
	ck_assert_int_eq(rx_send(&x, &r, &x.keys.k[0], NOW_MS, MONO_MS),
	    AGENT_ACCEPTED);
	ck_assert_uint_eq(agent_age(&x.a, 0, MONO_MS + 1500), 1500);
	/* Three intervals of 1 s. */
	ck_assert_int_eq(agent_fresh(&x.a, 0, MONO_MS + 2999), 1);
	ck_assert_int_eq(agent_down(&x.a, 0, MONO_MS + 2999), 1);
	ck_assert_uint_eq(agent_weight(&x.a, 0, 5, MONO_MS + 2999), 9);
	ck_assert_int_eq(agent_fresh(&x.a, 0, MONO_MS + 3000), 0);
	ck_assert_int_eq(agent_down(&x.a, 0, MONO_MS + 3000), 0);
	ck_assert_uint_eq(agent_weight(&x.a, 0, 5, MONO_MS + 3000), 5);
	/* An interval of an hour is held to 60 s. */
	r.seq++;
	r.interval_ms = 3600000;
	ck_assert_int_eq(rx_send(&x, &r, &x.keys.k[0], NOW_MS, MONO_MS),
	    AGENT_ACCEPTED);
	ck_assert_int_eq(agent_fresh(&x.a, 0, MONO_MS + 179999), 1);
	ck_assert_int_eq(agent_fresh(&x.a, 0, MONO_MS + 180000), 0);
	ck_assert_int_eq(agent_fresh(&x.a, 5, MONO_MS), 0);
	rx_teardown(&x);
}
END_TEST

START_TEST(test_agent_drain)
{
	struct rx	 x;
	struct report	 r;

	rx_setup(&x);
	ck_assert_int_eq(agent_drain(&x.a, 0, MONO_MS), 0);
	make_report(&r, 10);
	r.flags = REPORT_F_DRAIN;
	ck_assert_int_eq(rx_send(&x, &r, &x.keys.k[0], NOW_MS, MONO_MS),
	    AGENT_ACCEPTED);
	ck_assert_int_eq(agent_drain(&x.a, 0, MONO_MS), 1);
	ck_assert_int_eq(agent_drain(&x.a, 1, MONO_MS), 0);
	/*
	 * The drain lapses with the reports (three intervals of 1 s): an
	 * agent gone quiet, or a forger who stopped, decides nothing.
	 */
	ck_assert_int_eq(agent_drain(&x.a, 0, MONO_MS + 2999), 1);
	ck_assert_int_eq(agent_drain(&x.a, 0, MONO_MS + 3000), 0);
	ck_assert_int_eq(agent_drain(&x.a, 0, MONO_MS + 60000), 0);
	/* A new report brings it back. */
	r.seq++;
	ck_assert_int_eq(rx_send(&x, &r, &x.keys.k[0], NOW_MS, MONO_MS + 60000),
	    AGENT_ACCEPTED);
	ck_assert_int_eq(agent_drain(&x.a, 0, MONO_MS + 60000), 1);
	/* Undone by the agent. */
	r.seq++;
	r.flags = 0;
	ck_assert_int_eq(rx_send(&x, &r, &x.keys.k[0], NOW_MS, MONO_MS + 60001),
	    AGENT_ACCEPTED);
	ck_assert_int_eq(agent_drain(&x.a, 0, MONO_MS + 60001), 0);
	ck_assert_int_eq(agent_drain(&x.a, 99, MONO_MS), 0);
	rx_teardown(&x);
}
END_TEST

/*
 * Security review item 2: a forged number from the future.  2^64-1, or
 * anything beyond what a clock agent_window ahead can give, is refused
 * and changes nothing; the genuine reports go on.
 */
START_TEST(test_agent_future)
{
	struct rx	 x;
	struct report	 r, f;
	uint64_t	 lim = report_seq_limit(NOW_MS, AGENT_WINDOW_MS);

	rx_setup(&x);
	make_report(&r, report_seq_start(NOW_MS - 3600000));	/* an hour up */
	ck_assert_int_eq(rx_send(&x, &r, &x.keys.k[0], NOW_MS, MONO_MS),
	    AGENT_ACCEPTED);
	make_report(&f, UINT64_MAX);
	f.flags = REPORT_F_DRAIN;
	ck_assert_int_eq(rx_send(&x, &f, &x.keys.k[0], NOW_MS, MONO_MS + 1),
	    AGENT_EFUTURE);
	f.seq = lim + 1;
	ck_assert_int_eq(rx_send(&x, &f, &x.keys.k[0], NOW_MS, MONO_MS + 1),
	    AGENT_EFUTURE);
	ck_assert_uint_eq(x.a.count[AGENT_EFUTURE], 2);
	ck_assert_str_eq(agent_result_name(AGENT_EFUTURE), "future sequence");
	ck_assert_int_eq(agent_drain(&x.a, 0, MONO_MS + 1), 0);
	r.seq++;
	ck_assert_int_eq(rx_send(&x, &r, &x.keys.k[0], NOW_MS, MONO_MS + 2),
	    AGENT_ACCEPTED);
	/* The limit itself is a possible genuine number. */
	r.seq = lim;
	ck_assert_int_eq(rx_send(&x, &r, &x.keys.k[0], NOW_MS, MONO_MS + 3),
	    AGENT_ACCEPTED);
	rx_teardown(&x);
}
END_TEST

/*
 * The forger's best: the highest number loadd takes, with drain and a
 * timestamp window ahead.  The genuine lmd (started an hour ago, old
 * style numbers) is held off as "replay" only while the forged report
 * is within the window, then heard again and the drain ends; a clock-
 * following lmd overtakes the forged number sooner.  No restart needed.
 */
START_TEST(test_agent_forged_then_genuine)
{
	struct rx	 x;
	struct report	 r, f;
	uint64_t	 t;

	rx_setup(&x);
	make_report(&r, report_seq_start(NOW_MS - 3600000));
	ck_assert_int_eq(rx_send(&x, &r, &x.keys.k[0], NOW_MS, MONO_MS),
	    AGENT_ACCEPTED);
	make_report(&f, report_seq_limit(NOW_MS, AGENT_WINDOW_MS));
	f.flags = REPORT_F_DRAIN;
	f.ts_sec = (NOW_MS + AGENT_WINDOW_MS) / 1000;
	f.ts_nsec = (uint32_t)((NOW_MS + AGENT_WINDOW_MS) % 1000) * 1000000u;
	ck_assert_int_eq(rx_send(&x, &f, &x.keys.k[0], NOW_MS, MONO_MS + 100),
	    AGENT_ACCEPTED);
	ck_assert_int_eq(agent_drain(&x.a, 0, MONO_MS + 100), 1);
	/* Genuine reports every second: replays while the forgery is young. */
	for (t = 1000; t <= 2 * AGENT_WINDOW_MS; t += 1000) {
		r.seq++;
		r.ts_sec = (NOW_MS + t) / 1000;
		ck_assert_int_eq(rx_send(&x, &r, &x.keys.k[0], NOW_MS + t,
		    MONO_MS + t), AGENT_EREPLAY);
	}
	/* Its drain lapsed long before: the forger went quiet at 100 ms. */
	ck_assert_int_eq(agent_drain(&x.a, 0, MONO_MS + 3100), 0);
	ck_assert_int_eq(agent_drain(&x.a, 0, MONO_MS + 2 * AGENT_WINDOW_MS),
	    0);
	/* Past the forged timestamp's window: heard again. */
	t = 2 * AGENT_WINDOW_MS + 1;
	r.seq++;
	r.ts_sec = (NOW_MS + t) / 1000;
	r.ts_nsec = (uint32_t)((NOW_MS + t) % 1000) * 1000000u;
	ck_assert_int_eq(rx_send(&x, &r, &x.keys.k[0], NOW_MS + t, MONO_MS + t),
	    AGENT_ACCEPTED);
	ck_assert_int_eq(agent_fresh(&x.a, 0, MONO_MS + t), 1);
	ck_assert_int_eq(agent_drain(&x.a, 0, MONO_MS + t), 0);
	/* The forged report itself, replayed now, is stale. */
	ck_assert_int_eq(rx_send(&x, &f, &x.keys.k[0], NOW_MS + t,
	    MONO_MS + t), AGENT_ESTALE);

	/* An lmd whose numbers follow its clock overtakes sooner. */
	rx_teardown(&x);
	rx_setup(&x);
	ck_assert_int_eq(rx_send(&x, &f, &x.keys.k[0], NOW_MS, MONO_MS),
	    AGENT_ACCEPTED);
	make_report(&r, 0);
	for (t = 1000; t < 2 * AGENT_WINDOW_MS; t += 1000) {
		r.seq = report_seq_next(r.seq, NOW_MS + t);
		r.ts_sec = (NOW_MS + t) / 1000;
		r.ts_nsec = (uint32_t)((NOW_MS + t) % 1000) * 1000000u;
		if (rx_send(&x, &r, &x.keys.k[0], NOW_MS + t, MONO_MS + t) ==
		    AGENT_ACCEPTED)
			break;
	}
	ck_assert_uint_le(t, AGENT_WINDOW_MS + REPORT_SEQ_AHEAD_MS + 1000);
	rx_teardown(&x);
}
END_TEST

/* A key bound to s2 (10.0.1.12) may not speak for s1 (10.0.1.11). */
START_TEST(test_agent_key_bound)
{
	struct rx	 x;
	struct report	 r;

	rx_setup(&x);
	make_key(&x.keys.k[1], 2, 0x77);
	v4(&x.keys.k[1].nets[0].addr, "10.0.1.12");
	x.keys.k[1].nets[0].family = 4;
	x.keys.k[1].nets[0].plen = 32;
	x.keys.k[1].nnets = 1;
	x.keys.n = 2;
	/* s2 holding key 2 spoofs s1's address and signs for s1. */
	make_report(&r, 10);
	r.flags = REPORT_F_DRAIN;
	ck_assert_int_eq(rx_send(&x, &r, &x.keys.k[1], NOW_MS, MONO_MS),
	    AGENT_EKEYSRV);
	ck_assert_uint_eq(x.a.count[AGENT_EKEYSRV], 1);
	ck_assert_str_eq(agent_result_name(AGENT_EKEYSRV), "key not allowed");
	ck_assert_int_eq(x.a.st[0].valid, 0);
	/* Key 1, of the old syntax, speaks for every server. */
	ck_assert_int_eq(rx_send(&x, &r, &x.keys.k[0], NOW_MS, MONO_MS),
	    AGENT_ACCEPTED);
	/* Key 2 speaks for s2. */
	v4(&r.addr, "10.0.1.12");
	r.port = 8080;
	v4(&x.src, "10.0.1.12");
	ck_assert_int_eq(rx_send(&x, &r, &x.keys.k[1], NOW_MS, MONO_MS),
	    AGENT_ACCEPTED);
	rx_teardown(&x);
}
END_TEST

/* loadctl enable's override, as the agent keeps it. */
START_TEST(test_agent_override)
{
	struct rx	 x;
	struct report	 r;

	rx_setup(&x);
	make_report(&r, 10);
	/* No drain: nothing to override. */
	ck_assert_int_eq(rx_send(&x, &r, &x.keys.k[0], NOW_MS, MONO_MS),
	    AGENT_ACCEPTED);
	ck_assert_int_eq(agent_override_drain(&x.a, 0, MONO_MS), 0);
	ck_assert_int_eq(agent_override_drain(&x.a, 7, MONO_MS), 0);
	r.seq++;
	r.flags = REPORT_F_DRAIN;
	ck_assert_int_eq(rx_send(&x, &r, &x.keys.k[0], NOW_MS, MONO_MS),
	    AGENT_ACCEPTED);
	ck_assert_int_eq(agent_drain(&x.a, 0, MONO_MS), 1);
	ck_assert_int_eq(agent_override_drain(&x.a, 0, MONO_MS), 1);
	ck_assert_int_eq(agent_drain(&x.a, 0, MONO_MS), 0);
	/* More drain reports: the override holds. */
	r.seq++;
	ck_assert_int_eq(rx_send(&x, &r, &x.keys.k[0], NOW_MS, MONO_MS + 500),
	    AGENT_ACCEPTED);
	ck_assert_int_eq(agent_drain(&x.a, 0, MONO_MS + 500), 0);
	/* The agent ends its drain; its next drain counts again. */
	r.seq++;
	r.flags = 0;
	ck_assert_int_eq(rx_send(&x, &r, &x.keys.k[0], NOW_MS, MONO_MS + 600),
	    AGENT_ACCEPTED);
	ck_assert_int_eq(x.a.st[0].overridden, 0);
	r.seq++;
	r.flags = REPORT_F_DRAIN;
	ck_assert_int_eq(rx_send(&x, &r, &x.keys.k[0], NOW_MS, MONO_MS + 700),
	    AGENT_ACCEPTED);
	ck_assert_int_eq(agent_drain(&x.a, 0, MONO_MS + 700), 1);
	rx_teardown(&x);
}
END_TEST

/*
 * A reload keeps each server's agent state, except what a key the new
 * key file revokes (gone, or bound elsewhere) said and what was said of a
 * slot whose server is gone or new; it takes the new window and
 * staleness.
 */
START_TEST(test_agent_reload)
{
	struct rx		 x;
	struct report		 r;
	struct report_keys	 nk;
	static uint8_t		 slots[POOL_MAXSERVERS];

	rx_setup(&x);
	make_key(&x.keys.k[1], 2, 0x77);
	x.keys.n = 2;
	make_report(&r, 10);
	r.flags = REPORT_F_DRAIN;
	ck_assert_int_eq(rx_send(&x, &r, &x.keys.k[1], NOW_MS, MONO_MS),
	    AGENT_ACCEPTED);
	v4(&r.addr, "10.0.1.12");
	r.port = 8080;
	v4(&x.src, "10.0.1.12");
	ck_assert_int_eq(rx_send(&x, &r, &x.keys.k[0], NOW_MS, MONO_MS),
	    AGENT_ACCEPTED);
	ck_assert_int_eq(agent_override_drain(&x.a, 1, MONO_MS), 1);
	/* The new file: key 1 as before, key 2 bound to 10.0.1.12 only. */
	nk = x.keys;
	v4(&nk.k[1].nets[0].addr, "10.0.1.12");
	nk.k[1].nets[0].family = 4;
	nk.k[1].nets[0].plen = 32;
	nk.k[1].nnets = 1;
	memset(slots, RS_SAME, sizeof(slots));
	agent_reload(&x.a, &x.conf.pool, &nk, slots, 5000, 7);
	ck_assert_uint_eq(x.a.window_ms, 5000);
	ck_assert_uint_eq(x.a.stale_intervals, 7);
	ck_assert_ptr_eq(x.a.keys, &nk);
	/* s1's state came with key 2, which may no longer speak for it. */
	ck_assert_int_eq(x.a.st[0].valid, 0);
	ck_assert_int_eq(agent_drain(&x.a, 0, MONO_MS), 0);
	/* s2's (key 1) stays, the operator's override with it. */
	ck_assert_int_eq(x.a.st[1].valid, 1);
	ck_assert_int_eq(x.a.st[1].overridden, 1);
	/* A key taken out of the file: the same. */
	nk.n = 1;
	agent_reload(&x.a, &x.conf.pool, &nk, slots, 5000, 7);
	ck_assert_int_eq(x.a.st[1].valid, 1);
	/* Its slot given to a new server: what the old one said ends. */
	slots[1] = RS_NEW;
	agent_reload(&x.a, &x.conf.pool, &nk, slots, 5000, 7);
	ck_assert_int_eq(x.a.st[1].valid, 0);
	ck_assert_int_eq(rx_send(&x, &r, &x.keys.k[0], NOW_MS, MONO_MS + 1),
	    AGENT_ACCEPTED);
	ck_assert_int_eq(x.a.st[1].valid, 1);
	slots[1] = RS_SAME;
	nk.k[0].id = 3;
	agent_reload(&x.a, &x.conf.pool, &nk, slots, 5000, 7);
	ck_assert_int_eq(x.a.st[1].valid, 0);
	rx_teardown(&x);
}
END_TEST

START_TEST(test_agent_load)
{
	struct rx	 x;
	struct report	 r;

	rx_setup(&x);
	ck_assert_uint_eq(agent_load(&x.a, 0, 10), 0);
	ck_assert_uint_eq(agent_conns(&x.a, 0, 10), 10);
	/* 250 per mille over 25 connections: 10 per new flow. */
	make_report(&r, 10);
	x.conf.pool.srv[0].flows_total = 1000;
	ck_assert_int_eq(rx_send(&x, &r, &x.keys.k[0], NOW_MS, MONO_MS),
	    AGENT_ACCEPTED);
	ck_assert_uint_eq(agent_load(&x.a, 0, 0), 250);
	ck_assert_uint_eq(agent_load(&x.a, 0, 5), 300);
	ck_assert_uint_eq(agent_conns(&x.a, 0, 5), 30);
	x.conf.pool.srv[0].flows_total = 1007;
	ck_assert_uint_eq(agent_load_now(&x.a, &x.conf.pool, 0), 320);
	ck_assert_uint_eq(agent_load(&x.a, 0, UINT64_MAX), UINT32_MAX);
	/* Idle and no connections: each new flow still counts. */
	r.seq++;
	r.cpu_pm = 0;
	r.conns = 0;
	ck_assert_int_eq(rx_send(&x, &r, &x.keys.k[0], NOW_MS, MONO_MS),
	    AGENT_ACCEPTED);
	ck_assert_uint_eq(agent_load(&x.a, 0, 3), 3 * AGENT_NEWCONN_COST);
	ck_assert_uint_eq(agent_load_now(&x.a, &x.conf.pool, 0), 0);
	/* Busy connections too cheap to divide: at least 1 each. */
	r.seq++;
	r.cpu_pm = 5;
	r.conns = 100;
	ck_assert_int_eq(rx_send(&x, &r, &x.keys.k[0], NOW_MS, MONO_MS),
	    AGENT_ACCEPTED);
	ck_assert_uint_eq(agent_load(&x.a, 0, 4), 9);
	rx_teardown(&x);
}
END_TEST

Suite *
report_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("report");
	tc = tcase_create("wire");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_encode_refuses);
	tcase_add_test(tc, test_decode_errors);
	tcase_add_test(tc, test_seq_start);
	tcase_add_test(tc, test_seq_next_limit);
	suite_add_tcase(s, tc);

	tc = tcase_create("keyfile");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_keys_good);
	tcase_add_test(tc, test_keys_mode);
	tcase_add_test(tc, test_keys_malformed);
	tcase_add_test(tc, test_keys_limits);
	tcase_add_test(tc, test_keys_servers);
	tcase_add_test(tc, test_keys_bad_servers);
	tcase_add_test(tc, test_keys_bounded);
	suite_add_tcase(s, tc);

	tc = tcase_create("agent");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_agent_accept);
	tcase_add_test(tc, test_agent_decode_classes);
	tcase_add_test(tc, test_agent_replay);
	tcase_add_test(tc, test_agent_stale);
	tcase_add_test(tc, test_agent_sender);
	tcase_add_test(tc, test_agent_rotation);
	tcase_add_test(tc, test_agent_fresh);
	tcase_add_test(tc, test_agent_drain);
	tcase_add_test(tc, test_agent_future);
	tcase_add_test(tc, test_agent_forged_then_genuine);
	tcase_add_test(tc, test_agent_key_bound);
	tcase_add_test(tc, test_agent_override);
	tcase_add_test(tc, test_agent_reload);
	tcase_add_test(tc, test_agent_load);
	suite_add_tcase(s, tc);
	return (s);
}
