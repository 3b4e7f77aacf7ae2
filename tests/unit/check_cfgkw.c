/*
 * common/cfgkw.c: the keyword engine under loadd.conf and lmd.conf, on a
 * table of its own that has every kind.  Each kind takes a good value
 * into its field and refuses each limit and bad syntax with the message
 * the daemons have always given; unknown keys, keys given twice, aliases,
 * keys out of their section and empty values are refused too; and a
 * table whose field cannot hold what it allows is caught before use.
 * Files are text in memory (cfg_open_mem), named "t".
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "addr.h"
#include "cfgfile.h"
#include "cfgkw.h"
#include "compat.h"
#include "unit.h"

enum { I_NUM, I_SECS, I_PORT, I_FLAG, I_TIME, I_PROTO, I_WORD, I_VIP,
    I_LISTEN, I_NAME, I_BODY, I_FILE, I_SOCK, I_BOTH, I_CUSTOM, I_FAC,
    I_BLOCKED, I_BLOCK, I_N };
enum { T_TOP, T_BLOCK, T_N };

/* What the test table sets: one field of each kind and size. */
struct obj {
	uint32_t	 num;
	uint32_t	 secs;
	uint16_t	 port;
	int		 flag;
	uint32_t	 ms;
	uint8_t		 proto;
	unsigned	 word;
	union addr	 vip;
	int		 vipfamily;
	union addr	 laddr;
	int		 lfamily;
	uint16_t	 lport;
	char		 name[8];
	char		 body[8];
	char		 file[16];
	char		 sock[16];
	uint32_t	 both[2];
	char		 custom[16];
	int		 facility;
	int		 blocked;
	unsigned	 blocks;	/* "block =" lines */
};

static void	 collect(const char *);
static void	 set_both(struct cfgfile *, void *, unsigned long);
static void	 parse_custom(struct cfgfile *, const struct cfgkw *, void *,
		    char *);
static void	 parse_block(struct cfgfile *, const struct cfgkw *, void *,
		    char *);
static int	 run(const char *, const struct cfgkw_table *);

static const struct cfgkw_choice words[] = {
	{ "one", 1 }, { "two", 2 }, { "three", 3 }, { NULL, 0 },
};
static const struct cfgkw_choice big[] = {
	{ "big", 300 }, { NULL, 0 },
};

#define F(m)	CFGKW_FIELD(struct obj, m)

static const struct cfgkw keys[] = {
	{ "num", I_NUM, T_TOP, CFGKW_UINT, .min = 1, .max = 10, F(num) },
	{ "number", I_NUM, T_TOP, CFGKW_UINT, .min = 1, .max = 10, F(num) },
	{ "secs", I_SECS, T_TOP, CFGKW_UINT, .max = 86400,
	    .what = "a number of seconds", F(secs) },
	{ "port", I_PORT, T_TOP, CFGKW_UINT, .min = 1, .max = 65535,
	    .what = "a port", F(port) },
	{ "flag", I_FLAG, T_TOP, CFGKW_BOOL, F(flag) },
	{ "time", I_TIME, T_TOP, CFGKW_MS, .min = 10, .max = 60000,
	    .what = "a time from 10ms to 60 seconds", F(ms) },
	{ "proto", I_PROTO, T_TOP, CFGKW_CHOICE, .choices = cfgkw_protocols,
	    F(proto) },
	{ "word", I_WORD, T_TOP, CFGKW_CHOICE, .choices = words, F(word) },
	{ "vip", I_VIP, T_TOP, CFGKW_ADDR, F(vip),
	    .off_family = offsetof(struct obj, vipfamily) },
	{ "listen", I_LISTEN, T_TOP, CFGKW_ADDRPORT, F(laddr),
	    .off_family = offsetof(struct obj, lfamily),
	    .off_port = offsetof(struct obj, lport) },
	{ "name", I_NAME, T_TOP, CFGKW_STRING, .reject = " :",
	    .what = "a name", F(name) },
	{ "body", I_BODY, T_TOP, CFGKW_STRING, .reject = "\r",
	    .toolong = "text too long (under 8 bytes)", F(body) },
	{ "file", I_FILE, T_TOP, CFGKW_PATH, .toolong = "path too long",
	    F(file) },
	{ "sock", I_SOCK, T_TOP, CFGKW_PATH, .max = 9, F(sock) },
	{ "both", I_BOTH, T_TOP, CFGKW_UINT, .max = 100, .set = set_both },
	{ "custom", I_CUSTOM, T_TOP, CFGKW_FUNC, .parse = parse_custom },
	{ "facility", I_FAC, T_TOP, CFGKW_FUNC, .parse = cfgkw_facility,
	    F(facility) },
	{ "blocked", I_BLOCKED, T_TOP, CFGKW_BOOL, F(blocked) },
	{ "block", I_BLOCK, T_BLOCK, CFGKW_FUNC, .flags = CFGKW_MANY,
	    .parse = parse_block },
};

static const struct cfgkw_table table = {
	keys, sizeof(keys) / sizeof(keys[0]), I_N, T_N, "missing value", 0
};
/* lmd's way with "key =": the key counts as given. */
static const struct cfgkw_table table_given = {
	keys, sizeof(keys) / sizeof(keys[0]), I_N, T_N, "no value", 1
};

static struct obj	 o;
static char		 msgs[8192];

static void
collect(const char *msg)
{
	strlcat(msgs, msg, sizeof(msgs));
	strlcat(msgs, "\n", sizeof(msgs));
}

static void
set_both(struct cfgfile *cf, void *obj, unsigned long n)
{
	struct obj	*p = obj;

	p->both[0] = p->both[1] = (uint32_t)n;
	if (n == 13)
		cfg_error(cf, "both: not 13");
}

static void
parse_custom(struct cfgfile *cf, const struct cfgkw *kw, void *obj, char *v)
{
	struct obj	*p = obj;

	if (strchr(v, '!') != NULL)
		cfg_error(cf, "%s: no '!' in \"%s\"", kw->name, v);
	else
		strlcpy(p->custom, v, sizeof(p->custom));
}

static void
parse_block(struct cfgfile *cf, const struct cfgkw *kw, void *obj, char *v)
{
	struct obj	*p = obj;

	(void)cf;
	(void)kw;
	(void)v;
	p->blocks++;
}

/*
 * Reads text by a table, as a daemon would: the top section is open
 * until the first "block =" line, which closes it.  The errors, counted.
 */
static int
run(const char *text, const struct cfgkw_table *t)
{
	struct cfgfile		 cf;
	struct cfgkw_section	 sect[T_N];
	unsigned		 seen_top[I_N], seen_block[I_N];
	char			*k, *v;
	unsigned		 errors;

	memset(&o, 0, sizeof(o));
	memset(seen_top, 0, sizeof(seen_top));
	memset(seen_block, 0, sizeof(seen_block));
	msgs[0] = '\0';
	cfg_set_reporter(collect);
	ck_assert_int_eq(cfg_open_mem(&cf, "t", text, strlen(text)), 0);
	while (cfg_next(&cf, &k, &v)) {
		sect[T_TOP] = (struct cfgkw_section){ o.blocks ? NULL : &o,
		    seen_top, "is for the top: before the first block" };
		sect[T_BLOCK] = (struct cfgkw_section){ &o, seen_block, NULL };
		errors = cf.errors;
		ck_assert_int_eq(cfgkw_apply(&cf, t, sect, k, v),
		    cf.errors == errors ? 0 : -1);
	}
	errors = cf.errors;
	cfg_close(&cf);
	cfg_set_reporter(NULL);
	return ((int)errors);
}

/* Good values of each kind, into their fields. */
START_TEST(test_good)
{
	ck_assert_int_eq(run("num = 1\nsecs = 86400\nport = 65535\n"
	    "FLAG = on\ntime = 0.5\nproto = UDP\nword = three\n"
	    "vip = 2001:db8::1\nlisten = 192.0.2.1:80\nname = abcdefg\n"
	    "body = a b c\nfile = /a/b\nsock = /12345678\nboth = 7\n"
	    "custom = hello\nfacility = local3\nblocked = no\n", &table), 0);
	ck_assert_str_eq(msgs, "");
	ck_assert_uint_eq(o.num, 1);
	ck_assert_uint_eq(o.secs, 86400);
	ck_assert_uint_eq(o.port, 65535);
	ck_assert_int_eq(o.flag, 1);
	ck_assert_uint_eq(o.ms, 500);
	ck_assert_uint_eq(o.proto, 17);
	ck_assert_uint_eq(o.word, 3);
	ck_assert_int_eq(o.vipfamily, 6);
	ck_assert_uint_eq(o.vip.b[0], 0x20);
	ck_assert_int_eq(o.lfamily, 4);
	ck_assert_uint_eq(o.laddr.b[0], 192);
	ck_assert_uint_eq(o.lport, 80);
	ck_assert_str_eq(o.name, "abcdefg");
	ck_assert_str_eq(o.body, "a b c");
	ck_assert_str_eq(o.file, "/a/b");
	ck_assert_str_eq(o.sock, "/12345678");
	ck_assert_uint_eq(o.both[0], 7);
	ck_assert_uint_eq(o.both[1], 7);
	ck_assert_str_eq(o.custom, "hello");
	ck_assert_int_eq(o.facility, LOG_LOCAL3);

	/* The other ends of the ranges, and the other spellings. */
	ck_assert_int_eq(run("num = 10\nsecs = 0\nport = 1\nflag = false\n"
	    "time = 10ms\nproto = tcp\nvip = 192.0.2.7\n"
	    "listen = [::1]:9670\n", &table), 0);
	ck_assert_uint_eq(o.num, 10);
	ck_assert_uint_eq(o.port, 1);
	ck_assert_int_eq(o.flag, 0);
	ck_assert_uint_eq(o.ms, 10);
	ck_assert_uint_eq(o.proto, 6);
	ck_assert_int_eq(o.vipfamily, 4);
	ck_assert_int_eq(o.lfamily, 6);
	ck_assert_uint_eq(o.lport, 9670);
	ck_assert_int_eq(run("time = 60\n", &table), 0);
	ck_assert_uint_eq(o.ms, 60000);
}
END_TEST

/* A bad line: exactly this message, and the field left alone. */
static const struct {
	const char	*text;
	const char	*msg;
} bad[] = {
	/* CFGKW_UINT: each limit, bad syntax; what before the limits. */
	{ "num = 0\n", "t:1: num: \"0\" is not 1..10" },
	{ "num = 11\n", "t:1: num: \"11\" is not 1..10" },
	{ "num = -1\n", "t:1: num: \"-1\" is not 1..10" },
	{ "num = 5x\n", "t:1: num: \"5x\" is not 1..10" },
	{ "num = 0x5\n", "t:1: num: \"0x5\" is not 1..10" },
	{ "num = 99999999999999999999999\n",
	    "t:1: num: \"99999999999999999999999\" is not 1..10" },
	{ "secs = 86401\n",
	    "t:1: secs: \"86401\" is not a number of seconds (0..86400)" },
	{ "port = 65536\n", "t:1: port: \"65536\" is not a port (1..65535)" },
	{ "port = http\n", "t:1: port: \"http\" is not a port (1..65535)" },
	/* CFGKW_BOOL */
	{ "flag = maybe\n", "t:1: flag: \"maybe\" is not yes or no" },
	{ "flag = 2\n", "t:1: flag: \"2\" is not yes or no" },
	/* CFGKW_MS: each limit, finer than 1 ms, bad syntax. */
	{ "time = 9ms\n",
	    "t:1: time: \"9ms\" is not a time from 10ms to 60 seconds" },
	{ "time = 60.001\n",
	    "t:1: time: \"60.001\" is not a time from 10ms to 60 seconds" },
	{ "time = 0.0005\n",
	    "t:1: time: \"0.0005\" is not a time from 10ms to 60 seconds" },
	{ "time = 5x\n",
	    "t:1: time: \"5x\" is not a time from 10ms to 60 seconds" },
	/* CFGKW_CHOICE: the words in the table's order. */
	{ "proto = sctp\n", "t:1: proto: \"sctp\" is not tcp or udp" },
	{ "word = four\n", "t:1: word: \"four\" is not one, two or three" },
	/* CFGKW_ADDR and CFGKW_ADDRPORT. */
	{ "vip = 192.0.2.1:80\n",
	    "t:1: vip: \"192.0.2.1:80\" is not an IP address" },
	{ "vip = www.example.com\n",
	    "t:1: vip: \"www.example.com\" is not an IP address" },
	{ "listen = 192.0.2.1\n",
	    "t:1: listen: \"192.0.2.1\" is not address:port" },
	{ "listen = [::1]:0\n", "t:1: listen: \"[::1]:0\" is not address:port" },
	/* CFGKW_STRING: what for its form, toolong (or what) for length. */
	{ "name = a b\n", "t:1: name: \"a b\" is not a name" },
	{ "name = abcdefgh\n", "t:1: name: \"abcdefgh\" is not a name" },
	{ "body = abcdefgh\n", "t:1: body: text too long (under 8 bytes)" },
	{ "body = a\rb\n", "t:1: body: text too long (under 8 bytes)" },
	/* CFGKW_PATH: absolute, and its own limit below the field's. */
	{ "file = a/b\n", "t:1: file: \"a/b\" is not an absolute path" },
	{ "file = /0123456789abcdef\n", "t:1: file: path too long" },
	{ "sock = /123456789\n",
	    "t:1: sock: \"/123456789\" is not an absolute path" },
	/* A setter and a parser of its own may refuse what they get. */
	{ "both = 101\n", "t:1: both: \"101\" is not 0..100" },
	{ "both = 13\n", "t:1: both: not 13" },
	{ "custom = a!\n", "t:1: custom: no '!' in \"a!\"" },
	{ "facility = kitchen\n",
	    "t:1: facility: unknown facility \"kitchen\"" },
	/* Keys: unknown, twice (aliases too), out of their section. */
	{ "colour = blue\n", "t:1: unknown key \"colour\"" },
	{ "num = 1\n\nNUM = 2\n", "t:3: num given twice (first on line 1)" },
	{ "number = 1\nnum = 2\n", "t:2: num given twice (first on line 1)" },
	{ "num = 1\nnumber = 2\n",
	    "t:2: number given twice (first on line 1)" },
	{ "flag = yes\nflag = maybe\n",
	    "t:2: flag given twice (first on line 1)" },
	{ "block = a\nblocked = yes\n",
	    "t:2: blocked is for the top: before the first block" },
	/* An empty value, refused before anything else. */
	{ "num =\n", "t:1: num: missing value" },
	{ "block = a\nblocked =\n", "t:2: blocked: missing value" },
};

START_TEST(test_bad)
{
	char	 want[256];

	ck_assert_int_eq(run(bad[_i].text, &table), 1);
	snprintf(want, sizeof(want), "%s\n", bad[_i].msg);
	ck_assert_str_eq(msgs, want);
}
END_TEST

/* What a refused line sets: nothing, but the family of an address. */
START_TEST(test_refused_untouched)
{
	ck_assert_int_eq(run("num = 11\nname = a:b\ntime = 5x\nflag = x\n"
	    "word = four\nfile = /0123456789abcdef\n", &table), 6);
	ck_assert_uint_eq(o.num, 0);
	ck_assert_str_eq(o.name, "");
	ck_assert_uint_eq(o.ms, 0);
	ck_assert_int_eq(o.flag, 0);
	ck_assert_uint_eq(o.word, 0);
	ck_assert_str_eq(o.file, "");
	/* lmd's checks at the end of a file go by the family it gave. */
	ck_assert_int_eq(run("listen = 192.0.2.1\n", &table), 1);
	ck_assert_int_eq(o.lfamily, 4);
}
END_TEST

/* CFGKW_MANY: given again and again; no seen[] entry. */
START_TEST(test_many)
{
	ck_assert_int_eq(run("block = a\nblock = b\nBLOCK = c\n", &table), 0);
	ck_assert_uint_eq(o.blocks, 3);
}
END_TEST

/*
 * An empty value: by default refused first, and the key may be given
 * later; with empty_given it counts as the key, after its section and
 * seen[] (lmd).
 */
START_TEST(test_empty)
{
	ck_assert_int_eq(run("num =\nnum = 2\n", &table), 1);
	ck_assert_str_eq(msgs, "t:1: num: missing value\n");
	ck_assert_uint_eq(o.num, 2);

	ck_assert_int_eq(run("num =\nnum = 2\n", &table_given), 2);
	ck_assert_str_eq(msgs, "t:1: num: no value\n"
	    "t:2: num given twice (first on line 1)\n");
	ck_assert_uint_eq(o.num, 0);
	ck_assert_int_eq(run("num = 2\nnum =\n", &table_given), 1);
	ck_assert_str_eq(msgs, "t:2: num given twice (first on line 1)\n");
	ck_assert_int_eq(run("block = a\nblocked =\n", &table_given), 1);
	ck_assert_str_eq(msgs,
	    "t:2: blocked is for the top: before the first block\n");
}
END_TEST

START_TEST(test_name)
{
	ck_assert_str_eq(cfgkw_name(&table, I_NUM), "num");
	ck_assert_str_eq(cfgkw_name(&table, I_BLOCK), "block");
	ck_assert_str_eq(cfgkw_name(&table, I_N), "?");
}
END_TEST

/* Tables that cannot work, each refused with the entry named. */
static const struct cfgkw broken[][1] = {
	{ { "small", 0, 0, CFGKW_UINT, .max = 256,
	    CFGKW_FIELD(struct obj, proto) } },
	{ { "odd", 0, 0, CFGKW_UINT, .max = 5, .size = 3 } },
	{ { "limits", 0, 0, CFGKW_UINT, .min = 5, .max = 4, F(num) } },
	{ { "time", 0, 0, CFGKW_MS, .max = 10, F(ms) } },
	{ { "bigword", 0, 0, CFGKW_CHOICE, .choices = big, F(proto) } },
	{ { "nowords", 0, 0, CFGKW_CHOICE, F(word) } },
	{ { "text", 0, 0, CFGKW_STRING, F(name) } },
	{ { "long", 0, 0, CFGKW_PATH, .max = 8, F(name) } },
	{ { "addr", 0, 0, CFGKW_ADDR, F(lport) } },
	{ { "func", 0, 0, CFGKW_FUNC, .parse = NULL } },
	{ { "id", I_N, 0, CFGKW_BOOL, F(flag) } },
	{ { "section", 0, T_N, CFGKW_BOOL, F(flag) } },
	{ { NULL, 0, 0, CFGKW_BOOL, F(flag) } },
};

START_TEST(test_table_check)
{
	struct cfgkw_table	 t = table;
	struct cfgkw		 twice[2] = { keys[0], keys[0] };
	char			 why[256], want[64];

	ck_assert_int_eq(cfgkw_table_check(&table, why, sizeof(why)), 0);
	ck_assert_int_eq(cfgkw_table_check(&table_given, why, sizeof(why)),
	    0);
	t.kw = broken[_i];
	t.nkw = 1;
	ck_assert_int_eq(cfgkw_table_check(&t, why, sizeof(why)), -1);
	snprintf(want, sizeof(want), "entry 0 (%s): ",
	    broken[_i][0].name != NULL ? broken[_i][0].name : "?");
	ck_assert_msg(strstr(why, want) != NULL, "%s", why);
	/* Two entries of one name: the second is never reached. */
	t.kw = twice;
	t.nkw = 2;
	ck_assert_int_eq(cfgkw_table_check(&t, why, sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "entry 1 (num): named twice"));
}
END_TEST

Suite *
cfgkw_suite(void)
{
	Suite	*s = suite_create("cfgkw");
	TCase	*tc;

	tc = tcase_create("keywords");
	tcase_add_test(tc, test_good);
	tcase_add_loop_test(tc, test_bad, 0,
	    (int)(sizeof(bad) / sizeof(bad[0])));
	tcase_add_test(tc, test_refused_untouched);
	tcase_add_test(tc, test_many);
	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_name);
	suite_add_tcase(s, tc);

	tc = tcase_create("table");
	tcase_add_loop_test(tc, test_table_check, 0,
	    (int)(sizeof(broken) / sizeof(broken[0])));
	suite_add_tcase(s, tc);
	return (s);
}
