/*
 * The load report on the wire.  Fields are copied one by one between the
 * datagram and struct report, at fixed offsets, in network byte order, as
 * ntpd does: the received buffer is never cast to a structure, and
 * nothing from it is used before the length, version, key id and MAC
 * have been checked, in that order.  The layout is in
 * doc/report-protocol.md; the offsets below are the only other copy.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "byteorder.h"
#include "cfgfile.h"
#include "report.h"

/* Byte offsets of the fields. */
#define OFF_MAGIC	0
#define OFF_VERSION	4
#define OFF_KEYID	5
#define OFF_FAMILY	6
#define OFF_PROTO	7
#define OFF_ADDR	8
#define OFF_PORT	24
#define OFF_CONNPORT	26
#define OFF_SEQ		28
#define OFF_TSSEC	36
#define OFF_TSNSEC	44
#define OFF_CPU		48
#define OFF_MEM		50
#define OFF_LOAD	52
#define OFF_CONNS	56
#define OFF_CHECK	60
#define OFF_FLAGS	61
#define OFF_WEIGHT	62
#define OFF_CHECKUS	64
#define OFF_INTERVAL	68
#define OFF_MAC		REPORT_BODYLEN

#define INTERVAL_MAX_MS	3600000u	/* one hour */

/*
 * A key file line: an id, 64 hex digits and up to REPORT_KEYMAXNETS
 * networks, IPv6 ones included; anything longer is not a key line.
 */
#define KEYLINE_MAX	1024

static int	 fields_ok(const struct report *);
static int	 parse_net(const char *, struct report_net *);
static int	 parse_key_line(char *, struct report_key *, const char **);

static const char *const errnames[REPORT_NERR] = {
	"ok",
	"wrong length",
	"bad magic or unknown version",
	"unknown key id",
	"bad MAC",
	"field out of range",
};

int
report_init(void)
{
	return (sodium_init() < 0 ? -1 : 0);
}

const char *
report_strerror(int e)
{
	if (e < 0 || e >= REPORT_NERR)
		return ("unknown error");
	return (errnames[e]);
}

/*
 * Both sides hold a report to the same ranges, so that lmd cannot send
 * what loadd would refuse.
 */
static int
fields_ok(const struct report *r)
{
	unsigned	 i;

	if (r->family != 4 && r->family != 6)
		return (0);
	if (r->proto != 6 && r->proto != 17)
		return (0);
	if (r->family == 4)
		for (i = 4; i < sizeof(r->addr.b); i++)
			if (r->addr.b[i] != 0)
				return (0);
	if (r->port == 0 || r->ts_nsec >= 1000000000u ||
	    r->cpu_pm > REPORT_PM_MAX || r->mem_pm > REPORT_PM_MAX ||
	    r->check > REPORT_CHECK_DOWN || (r->flags & ~REPORT_F_ALL) != 0 ||
	    r->interval_ms == 0 || r->interval_ms > INTERVAL_MAX_MS)
		return (0);
	return (1);
}

int
report_encode(uint8_t *buf, size_t len, const struct report *r,
    const struct report_key *key)
{
	if (len < REPORT_LEN || !fields_ok(r))
		return (-1);
	memset(buf, 0, REPORT_LEN);
	be32enc(buf + OFF_MAGIC, REPORT_MAGIC);
	buf[OFF_VERSION] = REPORT_VERSION;
	buf[OFF_KEYID] = key->id;
	buf[OFF_FAMILY] = r->family;
	buf[OFF_PROTO] = r->proto;
	memcpy(buf + OFF_ADDR, r->addr.b, sizeof(r->addr.b));
	be16enc(buf + OFF_PORT, r->port);
	be16enc(buf + OFF_CONNPORT, r->conn_port);
	be64enc(buf + OFF_SEQ, r->seq);
	be64enc(buf + OFF_TSSEC, r->ts_sec);
	be32enc(buf + OFF_TSNSEC, r->ts_nsec);
	be16enc(buf + OFF_CPU, r->cpu_pm);
	be16enc(buf + OFF_MEM, r->mem_pm);
	be32enc(buf + OFF_LOAD, r->load100);
	be32enc(buf + OFF_CONNS, r->conns);
	buf[OFF_CHECK] = r->check;
	buf[OFF_FLAGS] = r->flags;
	be16enc(buf + OFF_WEIGHT, r->weight);
	be32enc(buf + OFF_CHECKUS, r->check_us);
	be32enc(buf + OFF_INTERVAL, r->interval_ms);
	crypto_auth_hmacsha256(buf + OFF_MAC, buf, REPORT_BODYLEN, key->key);
	return (REPORT_LEN);
}

int
report_decode(struct report *out, const uint8_t *buf, size_t len,
    const struct report_keys *keys)
{
	const struct report_key	*key;
	struct report		 r;

	if (len != REPORT_LEN)
		return (REPORT_ELEN);
	if (be32dec(buf + OFF_MAGIC) != REPORT_MAGIC ||
	    buf[OFF_VERSION] != REPORT_VERSION)
		return (REPORT_EVERSION);
	if ((key = report_keys_find(keys, buf[OFF_KEYID])) == NULL)
		return (REPORT_EKEYID);
	/* Constant time: the MAC is compared by libsodium's verify. */
	if (crypto_auth_hmacsha256_verify(buf + OFF_MAC, buf, REPORT_BODYLEN,
	    key->key) != 0)
		return (REPORT_EMAC);

	memset(&r, 0, sizeof(r));
	r.keyid = buf[OFF_KEYID];
	r.family = buf[OFF_FAMILY];
	r.proto = buf[OFF_PROTO];
	memcpy(r.addr.b, buf + OFF_ADDR, sizeof(r.addr.b));
	r.port = be16dec(buf + OFF_PORT);
	r.conn_port = be16dec(buf + OFF_CONNPORT);
	r.seq = be64dec(buf + OFF_SEQ);
	r.ts_sec = be64dec(buf + OFF_TSSEC);
	r.ts_nsec = be32dec(buf + OFF_TSNSEC);
	r.cpu_pm = be16dec(buf + OFF_CPU);
	r.mem_pm = be16dec(buf + OFF_MEM);
	r.load100 = be32dec(buf + OFF_LOAD);
	r.conns = be32dec(buf + OFF_CONNS);
	r.check = buf[OFF_CHECK];
	r.flags = buf[OFF_FLAGS];
	r.weight = be16dec(buf + OFF_WEIGHT);
	r.check_us = be32dec(buf + OFF_CHECKUS);
	r.interval_ms = be32dec(buf + OFF_INTERVAL);
	if (!fields_ok(&r))
		return (REPORT_EFIELD);
	*out = r;
	return (REPORT_OK);
}

/*
 * 2^20 numbers per millisecond of wall clock: an lmd started later
 * begins above everything an earlier one can have sent, unless that one
 * sent more than a billion reports a second, or the clock went back.
 */
uint64_t
report_seq_start(uint64_t unix_ms)
{
	return (unix_ms << 20);
}

/*
 * Following the clock keeps every report's number close to its time, so
 * that a receiver can refuse numbers from the future (report_seq_limit)
 * and a forged number near that limit is overtaken by the genuine ones
 * within the limit's distance.  A clock set back by more than
 * REPORT_SEQ_AHEAD_MS starts the numbers again from the clock: loadd
 * takes them as replays until its memory of the last one lapses (at
 * most twice its window), which is better than numbers it would refuse
 * as from the future until the clock catches up.
 */
uint64_t
report_seq_next(uint64_t prev, uint64_t unix_ms)
{
	uint64_t	 t = report_seq_start(unix_ms);

	if (t > prev)
		return (t);
	if ((prev >> 20) - unix_ms > REPORT_SEQ_AHEAD_MS)
		return (t);
	return (prev + 1);
}

uint64_t
report_seq_limit(uint64_t unix_ms, uint64_t ahead_ms)
{
	uint64_t	 ms;

	/* 2^44 ms is more than 500 years from 1970. */
	if (unix_ms >= (1ull << 43) || ahead_ms >= (1ull << 42))
		return (UINT64_MAX);
	ms = unix_ms + ahead_ms + REPORT_SEQ_AHEAD_MS;
	return (report_seq_start(ms) | ((1ull << 20) - 1));
}

const struct report_key *
report_keys_find(const struct report_keys *keys, unsigned id)
{
	unsigned	 i;

	for (i = 0; i < keys->n && i < REPORT_MAXKEYS; i++)
		if (keys->k[i].id == id)
			return (&keys->k[i]);
	return (NULL);
}

int
report_key_allows(const struct report_key *k, int family,
    const union addr *a)
{
	const struct report_net	*n;
	unsigned		 i, full, rest;

	if (k->nnets == 0)
		return (1);
	for (i = 0; i < k->nnets && i < REPORT_KEYMAXNETS; i++) {
		n = &k->nets[i];
		if (n->family != family)
			continue;
		full = n->plen / 8;
		rest = n->plen % 8;
		if (full > sizeof(a->b) || memcmp(a->b, n->addr.b, full) != 0)
			continue;
		if (rest != 0 && full < sizeof(a->b) &&
		    ((a->b[full] ^ n->addr.b[full]) &
		    (uint8_t)(0xff << (8 - rest))) != 0)
			continue;
		return (1);
	}
	return (0);
}

void
report_keys_clear(struct report_keys *keys)
{
	sodium_memzero(keys, sizeof(*keys));
}

/*
 * "ADDRESS" or "ADDRESS/PREFIX", as loadd.conf writes them, without a
 * port; the host bits must be zero.  Returns 0 or -1.
 */
static int
parse_net(const char *text, struct report_net *n)
{
	char		 a[ADDR_STRLEN + 1], *slash, *end;
	unsigned long	 plen;
	uint16_t	 port = 0;
	unsigned	 i, max;
	int		 family;

	if (strlen(text) >= sizeof(a))
		return (-1);
	memcpy(a, text, strlen(text) + 1);
	if ((slash = strchr(a, '/')) != NULL)
		*slash = '\0';
	/* A bracket would be "[v6]:port". */
	if (strchr(a, '[') != NULL ||
	    (family = addr_parse(a, &n->addr, &port)) == 0 || port != 0)
		return (-1);
	max = family == 4 ? 32 : 128;
	plen = max;
	if (slash != NULL) {
		if (!isdigit((unsigned char)slash[1]))
			return (-1);
		errno = 0;
		plen = strtoul(slash + 1, &end, 10);
		if (*end != '\0' || errno != 0 || plen > max)
			return (-1);
	}
	for (i = 0; i < max; i++)
		if (i >= plen && (n->addr.b[i / 8] & (0x80 >> (i % 8))) != 0)
			return (-1);
	n->family = (uint8_t)family;
	n->plen = (uint8_t)plen;
	return (0);
}

/* "ID HEX [NET ...]": fills k, or returns -1 with why set. */
static int
parse_key_line(char *s, struct report_key *k, const char **why)
{
	char		*idtext, *hex, *net, *end, *save;
	unsigned long	 id;
	size_t		 binlen;

	memset(k, 0, sizeof(*k));
	idtext = strtok_r(s, " \t", &save);
	hex = strtok_r(NULL, " \t", &save);
	if (idtext == NULL || hex == NULL) {
		*why = "expected \"ID HEXKEY [SERVER ...]\"";
		return (-1);
	}
	errno = 0;
	id = strtoul(idtext, &end, 10);
	if (!isdigit((unsigned char)*idtext) || *end != '\0' || errno != 0 ||
	    id < 1 || id > 255) {
		*why = "key id is not a number from 1 to 255";
		return (-1);
	}
	if (strlen(hex) != REPORT_KEYLEN * 2 ||
	    sodium_hex2bin(k->key, sizeof(k->key), hex, strlen(hex), NULL,
	    &binlen, NULL) != 0 || binlen != REPORT_KEYLEN) {
		*why = "key is not 64 hexadecimal digits (32 bytes)";
		sodium_memzero(k->key, sizeof(k->key));
		return (-1);
	}
	while ((net = strtok_r(NULL, " \t", &save)) != NULL) {
		if (k->nnets == REPORT_KEYMAXNETS) {
			*why = "more than 16 servers or networks for one key";
			sodium_memzero(k, sizeof(*k));
			return (-1);
		}
		if (parse_net(net, &k->nets[k->nnets]) == -1) {
			*why = "a server is an address or a network "
			    "(ADDRESS/PREFIX, host bits zero), without a port";
			sodium_memzero(k, sizeof(*k));
			return (-1);
		}
		k->nnets++;
	}
	k->id = (uint8_t)id;
	return (0);
}

int
report_keys_load(struct report_keys *keys, const char *path)
{
	struct stat	 st;
	struct report_key k;
	char		*buf = NULL, *line, *next, *s, *e;
	const char	*why;
	unsigned	 lineno = 0, errors = 0;
	size_t		 len = 0, n;
	int		 fd, rc = -1;

#define KEYERR(...) do {						\
	if (++errors <= REPORT_KEYFILE_MAXERR)				\
		cfg_report(__VA_ARGS__);				\
} while (0)

	memset(keys, 0, sizeof(*keys));
	/*
	 * O_NONBLOCK: opening a FIFO must not wait for a writer.  The
	 * checks are on the file opened, not on whatever the name is now.
	 */
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
	    O_NONBLOCK)) == -1) {
		cfg_report("%s: %s", path, strerror(errno));
		return (-1);
	}
	if (fstat(fd, &st) == -1) {
		cfg_report("%s: %s", path, strerror(errno));
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		cfg_report("%s: not a regular file", path);
		goto done;
	}
	if (st.st_mode & (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH)) {
		cfg_report("%s: mode %04o lets group or others read or write "
		    "the key; refusing it (chmod 600 %s)", path,
		    (unsigned)(st.st_mode & 07777), path);
		goto done;
	}
	if (st.st_size > REPORT_KEYFILE_MAX) {
		cfg_report("%s: larger than %d bytes: not a key file", path,
		    REPORT_KEYFILE_MAX);
		goto done;
	}
	/* A key file is small: a huge one is refused before it costs. */
	if (cfg_read_fd(fd, path, REPORT_KEYFILE_MAX, &buf, &len) == -1)
		goto done;
	if (memchr(buf, '\0', len) != NULL) {
		cfg_report("%s: has a NUL byte: not a key file", path);
		goto done;
	}
	for (line = buf; line < buf + len && errors <=
	    REPORT_KEYFILE_MAXERR; line = next) {
		lineno++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		else
			next = buf + len;
		if ((n = strlen(line)) > KEYLINE_MAX) {
			KEYERR("%s:%u: line too long (more than %d bytes)", path,
			    lineno, KEYLINE_MAX);
			continue;
		}
		if ((s = strchr(line, '#')) != NULL)
			*s = '\0';
		for (s = line; isspace((unsigned char)*s); s++)
			;
		for (e = s + strlen(s); e > s && isspace((unsigned char)e[-1]);)
			*--e = '\0';
		if (*s == '\0')
			continue;
		if (parse_key_line(s, &k, &why) == -1) {
			KEYERR("%s:%u: %s", path, lineno, why);
			continue;
		}
		if (report_keys_find(keys, k.id) != NULL) {
			KEYERR("%s:%u: key id %u given twice", path, lineno,
			    (unsigned)k.id);
			continue;
		}
		if (keys->n == REPORT_MAXKEYS) {
			KEYERR("%s:%u: more than %d keys", path, lineno,
			    REPORT_MAXKEYS);
			continue;
		}
		keys->k[keys->n++] = k;
	}
	if (errors > REPORT_KEYFILE_MAXERR)
		cfg_report("%s: more than %d errors; the rest is not read",
		    path, REPORT_KEYFILE_MAXERR);
	else if (errors == 0 && keys->n == 0)
		KEYERR("%s: no key in the file", path);
	if (errors == 0)
		rc = 0;
#undef KEYERR

done:
	sodium_memzero(&k, sizeof(k));
	if (buf != NULL) {
		sodium_memzero(buf, len);
		free(buf);
	}
	close(fd);
	if (rc == -1)
		report_keys_clear(keys);
	return (rc);
}
