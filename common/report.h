/*
 * The load report that lmd sends to loadd: one UDP datagram of fixed
 * layout, network byte order, authenticated with HMAC-SHA-256 under a
 * key chosen by a key id.  doc/report-protocol.md has the byte layout
 * and the rules; this is the only code that reads or writes it.
 */
#ifndef LOADD_REPORT_H
#define LOADD_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define REPORT_MAGIC		0x4c4d4452u	/* "LMDR" */
#define REPORT_VERSION		1
#define REPORT_BODYLEN		72	/* what the MAC covers */
#define REPORT_MACLEN		32	/* HMAC-SHA-256, not truncated */
#define REPORT_LEN		(REPORT_BODYLEN + REPORT_MACLEN)
#define REPORT_KEYLEN		32
#define REPORT_MAXKEYS		4
#define REPORT_PORT		8671	/* loadd's report port; 8670 diverts */

enum report_check {
	REPORT_CHECK_UNKNOWN = 0,	/* no check configured, or not run yet */
	REPORT_CHECK_UP,
	REPORT_CHECK_DOWN,
};

#define REPORT_F_DRAIN		0x01	/* no new flows, please */
#define REPORT_F_ALL		REPORT_F_DRAIN

#define REPORT_PM_MAX		1000	/* per-mille fields */

/* A report as both sides use it; ports and numbers in host order. */
struct report {
	uint8_t		 keyid;		/* set by the decoder */
	uint8_t		 family;	/* 4 or 6 */
	uint8_t		 proto;		/* 6 TCP, 17 UDP */
	union addr	 addr;		/* the server's service address */
	uint16_t	 port;		/* and its port, as loadd.conf names it */
	uint16_t	 conn_port;	/* the local port conns counts */
	uint64_t	 seq;		/* newer reports have larger numbers */
	uint64_t	 ts_sec;	/* unix time of the sample */
	uint32_t	 ts_nsec;
	uint16_t	 cpu_pm;	/* CPU busy, per mille, 0..1000 */
	uint16_t	 mem_pm;	/* memory in use, per mille, 0..1000 */
	uint32_t	 load100;	/* 1-minute load average x 100 */
	uint32_t	 conns;		/* established TCP connections */
	uint8_t		 check;		/* enum report_check */
	uint8_t		 flags;		/* REPORT_F_* */
	uint16_t	 weight;	/* a weight hint; 0: none */
	uint32_t	 check_us;	/* how long the last check took */
	uint32_t	 interval_ms;	/* lmd's report interval */
};

/*
 * The servers a key may speak for: addresses or networks.  A key with
 * none speaks for every server (the key files of before this list).
 */
#define REPORT_KEYMAXNETS	16

struct report_net {
	union addr	 addr;		/* host bits zero */
	uint8_t		 family;	/* 4 or 6 */
	uint8_t		 plen;		/* 0..32 or 0..128 */
};

struct report_key {
	uint8_t		 id;		/* 1..255 */
	uint8_t		 key[REPORT_KEYLEN];
	uint8_t		 nnets;		/* 0: any server */
	struct report_net nets[REPORT_KEYMAXNETS];
};

struct report_keys {
	struct report_key k[REPORT_MAXKEYS];
	unsigned	 n;
};

/* What report_decode() says; each has its own counter in loadd. */
enum report_err {
	REPORT_OK = 0,
	REPORT_ELEN,		/* not exactly REPORT_LEN bytes */
	REPORT_EVERSION,	/* bad magic or a version we do not speak */
	REPORT_EKEYID,		/* no key with that id */
	REPORT_EMAC,		/* the MAC does not match */
	REPORT_EFIELD,		/* authentic, but a field is out of range */
	REPORT_NERR,
};

/* Initialises libsodium; -1 if it cannot be used. */
int		 report_init(void);
/*
 * Writes r, signed with key, into buf.  Returns REPORT_LEN, or -1 if
 * len is too small or a field of r is out of range.  r->keyid is ignored:
 * the key's id is written.
 */
int		 report_encode(uint8_t *buf, size_t len, const struct report *r,
		    const struct report_key *key);
/*
 * Checks, in this order, the length, magic and version, key id, MAC and
 * field ranges of a received datagram.  r is written only on REPORT_OK.
 */
int		 report_decode(struct report *r, const uint8_t *buf, size_t len,
		    const struct report_keys *keys);
const char	*report_strerror(int);

/*
 * The first sequence number of an lmd started at unix time ms.  See
 * doc/report-protocol.md, "Sequence numbers".
 */
uint64_t	 report_seq_start(uint64_t unix_ms);
/*
 * The number of the next report after prev, at unix time ms: the
 * clock's number when it is larger, else prev + 1; when prev is more
 * than REPORT_SEQ_AHEAD_MS ahead of the clock (the clock was set back),
 * the clock's number again.
 */
uint64_t	 report_seq_next(uint64_t prev, uint64_t unix_ms);
/*
 * The largest sequence number a receiver whose clock reads unix time ms
 * takes from a sender whose clock may be up to ahead_ms ahead of its
 * own: report_seq_start(ms + ahead_ms + REPORT_SEQ_AHEAD_MS), all of
 * that millisecond.
 */
uint64_t	 report_seq_limit(uint64_t unix_ms, uint64_t ahead_ms);
#define REPORT_SEQ_AHEAD_MS	1000

/*
 * Reads a key file: "ID HEX [ADDRESS[/PREFIX] ...]" lines, ID 1..255,
 * HEX 64 hex digits, then the servers the key may speak for (at most
 * REPORT_KEYMAXNETS; none: every server); '#' comments and blank lines
 * allowed; at most REPORT_MAXKEYS keys.  Refuses anything but a regular
 * file of at most REPORT_KEYFILE_MAX bytes, and a file that group or
 * others may read or write.  Errors go through cfg_report() as
 * "file:line: ..." (or "file: ..."), at most REPORT_KEYFILE_MAXERR of
 * them.  Returns 0 or -1.
 */
#define REPORT_KEYFILE_MAX	65536
#define REPORT_KEYFILE_MAXERR	10
int		 report_keys_load(struct report_keys *, const char *path);
const struct report_key *report_keys_find(const struct report_keys *,
		    unsigned id);
/* Whether key may speak for a server of that family and address. */
int		 report_key_allows(const struct report_key *, int family,
		    const union addr *);
/* Wipes the keys from memory. */
void		 report_keys_clear(struct report_keys *);

#endif
