/*
 * The stats module (loadd/stats.c, stats_render.c): the tables say what
 * each output shows, and each output -- loadctl's text and JSON, the
 * Prometheus page, the stats log -- shows every field its table names
 * there, with the value the table reads.  Then, with counters set by
 * hand, the outputs agree with each other and with the pool; the page
 * cut into slices is the page whole; what agents and the metrics port
 * add is there only with them, a free slot nowhere; the lines people
 * and scripts read keep their form.
 *
 * The pool is CONF below, built by the engine rig (rig.c); every counter
 * of the engine, the packet I/O and the probes has a value of its own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "compat.h"
#include "config.h"
#include "ctl.h"
#include "engine.h"
#include "health.h"
#include "pktio.h"
#include "rig.h"
#include "srvhist.h"
#include "stats.h"
#include "unit.h"

#define CONF	"ipaliasing = 192.0.2.10\nports = 80\n" \
		"servers = 10.0.1.11, 10.0.1.12 weight 2, 10.0.1.13 backup\n" \
		"check = none\n" \
		"service = dns\nipaliasing = 192.0.2.10\nprotocol = udp\n" \
		"ports = 53\nservers = 10.0.1.21\n"
#define NOW_MS		10000

static struct pktio		 io;
static struct health_stats	 hs = { 11, 12, 13, 14, 15 };
static struct ctl_http_stats	 http = { 21, 22, 23, 24, 25 };
static struct report_keys	 keys;
static struct agent		 ag;
static struct stats_src		 S;
static struct obuf		 O;

/* Distinct values, 8 bytes at a time. */
static void
fill(void *p, size_t len, uint64_t base)
{
	uint64_t	 v;
	size_t		 i;

	for (i = 0; i + sizeof(v) <= len; i += sizeof(v)) {
		v = base + i / sizeof(v) * 7;
		memcpy((char *)p + i, &v, sizeof(v));
	}
}

static void
agent_says(unsigned srv, uint64_t rcvd_ms, uint16_t cpu_pm, uint8_t flags)
{
	struct agent_state	*as = &ag.st[srv];

	as->valid = 1;
	as->rcvd_ms = rcvd_ms;
	as->r.interval_ms = 1000;
	as->r.cpu_pm = cpu_pm;
	as->r.mem_pm = 456;
	as->r.load100 = 1207;
	as->r.conns = 9;
	as->r.check = REPORT_CHECK_UP;
	as->r.check_us = 250;
	as->r.flags = flags;
	as->r.weight = 5;
}

static void
setup(void)
{
	struct pool	*p;
	unsigned	 i;

	rig_open(CONF);
	p = &R.conf.pool;
	fill(&R.e.st, sizeof(R.e.st), 1000);
	R.e.st.drop[DROP_NOSERVICE] = 0;	/* a reason without drops */
	fill(&R.e.ft.st, sizeof(R.e.ft.st), 2000);
	fill(&io.st, sizeof(io.st), 3000);
	for (i = 0; i < p->nsvc; i++)
		fill(&p->svc[i].pkts_in, 6 * sizeof(uint64_t), 100 * (i + 1));
	p->svc[1].drops[DROP_NOFLOW] = 5;
	p->svc[1].use_backup = 1;
	for (i = 0; i < p->nsrv; i++) {
		fill(&p->srv[i].flows_active, 6 * sizeof(uint64_t),
		    1000 * (i + 1));
		p->srv[i].rtt_us = 1500 * i + 7;
	}
	p->srv[1].state = SRV_DRAINING;
	p->srv[1].reason = SR_OPERATOR;
	p->srv[1].drained = 1;
	ck_assert_int_eq(agent_init(&ag, p, &keys, 30000, 3), 0);
	fill(ag.count, sizeof(ag.count), 40);
	agent_says(0, NOW_MS - 1000, 345, 0);
	agent_says(2, NOW_MS - 9000, 789, REPORT_F_DRAIN);
	ag.st[2].overridden = 1;
	/* What the stats log reads, where loadd keeps it. */
	engine_set_agent(&R.e, &ag);
	engine_set_mono_ms(&R.e, NOW_MS);
	S.e = &R.e;
	S.pool = p;
	S.io = &io;
	S.hs = &hs;
	S.agent = &ag;
	S.http = &http;
	S.now_ms = NOW_MS;
	S.started_ms = 1000;
	S.hist = NULL;		/* the status page's tests set it */
	memset(&O, 0, sizeof(O));
}

static void
teardown(void)
{
	ob_free(&O);
	engine_set_agent(&R.e, NULL);
	agent_free(&ag);
	rig_close();
}

static unsigned
nrows(const struct stats_object *ob)
{
	return (ob->rows != NULL ? ob->rows(&S) : 1);
}

/* A value as text, a table and the log write it; NULL: none now. */
static const char *
as_text(const struct stats_field *f, unsigned row, int prom, char *buf,
    size_t len)
{
	struct stats_val	 v;

	stats_value(f, &S, row, &v);
	switch (v.type) {
	case SV_UINT:
		snprintf(buf, len, "%llu", (unsigned long long)v.u);
		break;
	case SV_BOOL:
		strlcpy(buf, prom ? (v.u ? "1" : "0") : (v.u ? "yes" : "-"),
		    len);
		break;
	case SV_REAL:
		snprintf(buf, len, "%.*f", (int)f->decimals, v.r);
		break;
	case SV_STR:
		strlcpy(buf, v.s, len);
		break;
	case SV_NONE:
		return (NULL);
	}
	return (buf);
}

/* A name outside the log: "bad MAC" is bad_MAC. */
static const char *
one_word(const char *name, char c, char *buf, size_t len)
{
	char	*p;

	strlcpy(buf, name, len);
	for (p = buf; *p != '\0'; p++)
		if (*p == ' ' || *p == '_')
			*p = c;
	return (buf);
}

static int
elem_shown(const struct stats_field *f, uint64_t v, int prom)
{
	return (v != 0 ||
	    !(f->flags & (prom ? STATS_F_PROMNZ : STATS_F_NONZERO)));
}

/* Whether line is a whole line of text. */
static int
has_line(const char *text, const char *line)
{
	const char	*p;
	size_t		 n = strlen(line);

	for (p = text; (p = strstr(p, line)) != NULL; p++)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return (1);
	return (0);
}

static unsigned
count(const char *text, const char *what)
{
	const char	*p;
	unsigned	 n = 0;

	for (p = text; (p = strstr(p, what)) != NULL; p++)
		n++;
	return (n);
}

/* The n-th line of text (0 is the first), in buf. */
static const char *
nth_line(const char *text, unsigned n, char *buf, size_t len)
{
	const char	*nl;

	for (; n > 0 && text != NULL; n--)
		if ((text = strchr(text, '\n')) != NULL)
			text++;
	ck_assert_ptr_nonnull(text);
	nl = strchr(text, '\n');
	ck_assert_ptr_nonnull(nl);
	ck_assert_uint_lt((size_t)(nl - text), len);
	memcpy(buf, text, (size_t)(nl - text));
	buf[nl - text] = '\0';
	return (buf);
}

/* Every field with a name has a name, a heading, a family or a log word. */
START_TEST(test_tables)
{
	const struct stats_object *ob;
	const struct stats_field *f, *g;
	unsigned		 o, i, j, k;
	size_t			 n;

	for (o = 0; o < STATS_NOBJ; o++) {
		ob = &stats_objects[o];
		for (i = 0; i < ob->nf; i++) {
			f = &ob->f[i];
			ck_assert_msg(f->name || f->head || f->prom || f->logpre,
			    "object %u field %u is shown nowhere", o, i);
			ck_assert(f->get != NULL || f->vec != NULL ||
			    f->json != NULL || f->base != STATS_B_NONE);
			ck_assert(f->vec == NULL || f->head == NULL);
			ck_assert(f->sub == NULL || f->get != NULL);
			if (f->prom != NULL) {
				ck_assert_ptr_nonnull(f->help);
				n = strlen(f->prom);
				/* Counters end in _total, nothing else does. */
				ck_assert_int_eq(f->type == STATS_COUNTER,
				    n > 6 && strcmp(f->prom + n - 6,
				    "_total") == 0);
			}
			for (j = i + 1; j < ob->nf; j++) {
				g = &ob->f[j];
				ck_assert(f->name == NULL || g->name == NULL ||
				    strcmp(f->name, g->name) != 0);
			}
			for (k = 0; k < STATS_NOBJ; k++)
				for (j = 0; j < stats_objects[k].nf; j++) {
					g = &stats_objects[k].f[j];
					ck_assert(f == g || f->prom == NULL ||
					    g->prom == NULL ||
					    strcmp(f->prom, g->prom) != 0);
				}
		}
	}
}
END_TEST

/* show stats: a line "name value" for each field; a block per family. */
START_TEST(test_text_loadd)
{
	const struct stats_object *ob = &stats_objects[STATS_LOADD];
	const struct stats_field *f;
	char			 line[128], v[64], t[64];
	unsigned		 i, e, shown = 0;
	uint64_t		 u;

	stats_show(&S, STATS_LOADD, 0, &O);
	for (i = 0; i < ob->nf; i++) {
		f = &ob->f[i];
		if (f->name == NULL)
			continue;
		shown++;
		if (f->vec == NULL) {
			snprintf(line, sizeof(line), "%-20s %s", f->name,
			    as_text(f, 0, 0, v, sizeof(v)));
			ck_assert_msg(has_line(O.b, line), "no \"%s\"", line);
			continue;
		}
		snprintf(line, sizeof(line), "%s:",
		    one_word(f->name, ' ', t, sizeof(t)));
		ck_assert_msg(has_line(O.b, line), "no \"%s\"", line);
		for (e = f->vec->first; e < f->vec->n; e++) {
			u = f->vec->get(&S, 0, e);
			snprintf(line, sizeof(line), "  %-18s %llu",
			    one_word(f->vec->name((int)e), '_', t, sizeof(t)),
			    (unsigned long long)u);
			ck_assert_int_eq(has_line(O.b, line),
			    elem_shown(f, u, 0));
		}
	}
	ck_assert_uint_gt(shown, 30);
}
END_TEST

/* show services, show servers: each column's heading, then its cells. */
START_TEST(test_text_table)
{
	const struct stats_object *ob = &stats_objects[_i];
	const struct stats_field *f;
	char			 line[512], v[64];
	const char		*p, *cell;
	unsigned		 i, row;
	size_t			 n;

	stats_show(&S, (unsigned)_i, 0, &O);
	ck_assert_uint_eq(count(O.b, "\n"), 1 + nrows(ob));
	for (row = 0; row <= nrows(ob); row++) {
		p = nth_line(O.b, row, line, sizeof(line));
		for (i = 0; i < ob->nf; i++) {
			f = &ob->f[i];
			if (f->head == NULL || (row == 0 &&
			    (f->flags & STATS_F_TAIL)))
				continue;
			cell = row == 0 ? f->head :
			    as_text(f, row - 1, 0, v, sizeof(v));
			if (!(f->flags & STATS_F_TAIL))
				p += strspn(p, " ");
			n = strlen(cell);
			ck_assert_msg(strncmp(p, cell, n) == 0,
			    "row %u: \"%s\" where %s \"%s\" was due", row, p,
			    f->head, cell);
			p += n;
		}
		ck_assert_str_eq(p, "");
	}
}
END_TEST

/* Where the n-th object of a JSON array ends (just after its '}'). */
static const char *
json_nth(const char *j, unsigned n, const char **start)
{
	int	 depth = 0, str = 0;

	for (; *j != '\0'; j++) {
		if (str) {
			if (*j == '\\')
				j++;
			else if (*j == '"')
				str = 0;
			continue;
		}
		if (*j == '"')
			str = 1;
		else if (*j == '{' && depth++ == 0)
			*start = j;
		else if (*j == '}' && --depth == 0 && n-- == 0)
			return (j + 1);
	}
	return (NULL);
}

/* "key":value in obj .. end, as JSON writes the field's value. */
static void
json_has(const char *obj, const char *end, const struct stats_field *f,
    unsigned row)
{
	struct stats_val	 v;
	char			 want[256], en[64];
	const char		*p;
	unsigned		 e;
	uint64_t		 u;

	if (f->vec != NULL) {
		for (e = f->vec->first; e < f->vec->n; e++) {
			u = f->vec->get(&S, row, e);
			snprintf(want, sizeof(want), "\"%s\":%llu",
			    one_word(f->vec->name((int)e), '_', en,
			    sizeof(en)), (unsigned long long)u);
			p = memmem(obj, (size_t)(end - obj), want, strlen(want));
			ck_assert_int_eq(p != NULL, elem_shown(f, u, 0));
		}
		return;
	}
	stats_value(f, &S, row, &v);
	if (f->json != NULL)
		snprintf(want, sizeof(want), "\"%s\":", f->name);
	else if (f->sub != NULL)
		snprintf(want, sizeof(want), "\"%s\":%s", f->name,
		    v.u ? "{" : "null");
	else if (v.type == SV_STR)
		snprintf(want, sizeof(want), "\"%s\":\"%s\"", f->name, v.s);
	else if (v.type == SV_BOOL)
		snprintf(want, sizeof(want), "\"%s\":%s", f->name,
		    v.u ? "true" : "false");
	else
		snprintf(want, sizeof(want), "\"%s\":%llu", f->name,
		    (unsigned long long)v.u);
	ck_assert_msg(memmem(obj, (size_t)(end - obj), want,
	    strlen(want)) != NULL, "no %s in %.*s", want, (int)(end - obj),
	    obj);
}

static void
json_fields(const struct stats_object *ob, const char *obj, const char *end,
    unsigned row)
{
	const struct stats_field *f;
	struct stats_val	 v;
	unsigned		 i;

	for (i = 0; i < ob->nf; i++) {
		f = &ob->f[i];
		if (f->name == NULL || !stats_field_on(f, &S))
			continue;
		json_has(obj, end, f, row);
		if (f->sub == NULL)
			continue;
		stats_value(f, &S, row, &v);
		if (v.u)
			json_fields(f->sub, obj, end, row);
	}
}

/* JSON: every named field of every row, nothing after the last. */
START_TEST(test_json)
{
	const struct stats_object *ob = &stats_objects[_i];
	const char		*obj = NULL, *end = NULL;
	unsigned		 row;

	stats_show(&S, (unsigned)_i, 1, &O);
	for (row = 0; row < nrows(ob); row++) {
		ck_assert_ptr_nonnull(end = json_nth(O.b, row, &obj));
		json_fields(ob, obj, end, row);
	}
	ck_assert_str_eq(end, ob->rows != NULL ? "]\n" : "\n");
	ck_assert_ptr_null(strstr(O.b, ",,"));
	ck_assert_ptr_null(strstr(O.b, "{,"));
	ck_assert_ptr_null(strstr(O.b, ",}"));
}
END_TEST

/* The labels of a row, as the families of services and servers have them. */
static void
prom_labels(unsigned obj, const struct stats_field *f, unsigned row,
    char *buf, size_t len)
{
	const struct pool	*p = S.pool;

	buf[0] = '\0';
	if (obj == STATS_SERVICES)
		snprintf(buf, len, (f->flags & STATS_F_VIP) ?
		    "service=\"%s\",vip=\"%s\"" : "service=\"%s\"",
		    p->svc[row].label, p->svc[row].name);
	else if (obj == STATS_SERVERS)
		snprintf(buf, len, "service=\"%s\",server=\"%s\"",
		    p->svc[p->srv[row].svc].label, p->srv[row].name);
}

static void
prom_family(unsigned obj, const struct stats_field *f, unsigned row)
{
	char		 lab[256], want[512], en[64], v[64];
	const char	*val;
	unsigned	 e;
	uint64_t	 u;

	prom_labels(obj, f, row, lab, sizeof(lab));
	if (f->vec != NULL) {
		for (e = f->vec->first; e < f->vec->n; e++) {
			u = f->vec->get(&S, row, e);
			snprintf(want, sizeof(want), "loadd_%s{%s%s%s=\"%s\"} "
			    "%llu", f->prom, lab, lab[0] ? "," : "",
			    f->vec->label, one_word(f->vec->name((int)e), '_',
			    en, sizeof(en)), (unsigned long long)u);
			ck_assert_int_eq(has_line(O.b, want),
			    elem_shown(f, u, 1));
		}
		return;
	}
	snprintf(want, sizeof(want), "loadd_%s%s%s%s ", f->prom,
	    lab[0] ? "{" : "", lab, lab[0] ? "}" : "");
	if ((val = as_text(f, row, 1, v, sizeof(v))) == NULL) {
		ck_assert_ptr_null(strstr(O.b, want));
		return;
	}
	strlcat(want, val, sizeof(want));
	ck_assert_msg(has_line(O.b, want), "no \"%s\"", want);
}

/* Prometheus: each family's HELP and TYPE once, then its rows' lines. */
START_TEST(test_prom)
{
	const struct stats_object *ob;
	const struct stats_field *f;
	char			 want[256];
	unsigned		 o, i, row, nfam = 0;

	stats_prom(&S, &O);
	for (o = 0; o < STATS_NOBJ; o++) {
		ob = &stats_objects[o];
		for (i = 0; i < ob->nf; i++) {
			f = &ob->f[i];
			if (f->prom == NULL)
				continue;
			nfam++;
			snprintf(want, sizeof(want), "# HELP loadd_%s %s\n"
			    "# TYPE loadd_%s %s\n", f->prom, f->help, f->prom,
			    f->type == STATS_COUNTER ? "counter" : "gauge");
			ck_assert_uint_eq(count(O.b, want), 1);
			for (row = 0; row < nrows(ob); row++)
				prom_family(o, f, row);
		}
	}
	ck_assert_uint_eq(count(O.b, "# TYPE "), nfam);
}
END_TEST

/* The page made in slices of any size is the page made at once. */
START_TEST(test_prom_slices)
{
	struct stats_cursor	 c;
	struct obuf		 cut;
	unsigned		 budget, passes;
	size_t			 n;

	stats_prom(&S, &O);
	for (budget = 1; budget <= 64; budget++) {
		memset(&c, 0, sizeof(c));
		memset(&cut, 0, sizeof(cut));
		for (passes = 1; !stats_prom_step(&S, &cut, &c, budget);
		    passes++)
			ck_assert_uint_lt(passes, 1000);
		for (n = 0; cut.b[n] == O.b[n] && O.b[n] != '\0'; n++)
			;
		ck_assert_msg(cut.b[n] == O.b[n], "slices of %u rows: the "
		    "page differs at \"%.60s\", not \"%.60s\"", budget,
		    cut.b + n, O.b + n);
		ob_free(&cut);
	}
}
END_TEST

/* stats_log's lines, stderr caught in a file. */
static void
log_lines(struct obuf *out)
{
	char	 tmpl[] = "/tmp/loadd-unit-stats-XXXXXX", buf[4096];
	int	 fd, saved;
	ssize_t	 n;
	off_t	 off = 0;

	fflush(stderr);
	ck_assert_int_ne(fd = mkstemp(tmpl), -1);
	unlink(tmpl);
	ck_assert_int_ne(saved = dup(2), -1);
	ck_assert_int_ne(dup2(fd, 2), -1);
	stats_log(&R.e, &io);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	while ((n = pread(fd, buf, sizeof(buf) - 1, off)) > 0) {
		buf[n] = '\0';
		ob_printf(out, "%s", buf);
		off += n;
	}
	close(fd);
}

/* The line of the log that has what, or NULL. */
static const char *
log_line(const char *log, const char *what, char *buf, size_t len)
{
	const char	*p, *nl;

	if ((p = strstr(log, what)) == NULL)
		return (NULL);
	while (p > log && p[-1] != '\n')
		p--;
	nl = strchr(p, '\n');
	snprintf(buf, len, "%.*s", (int)(nl - p), p);
	return (buf);
}

static void
log_field(const char *line, const struct stats_field *f, unsigned row)
{
	char		 want[256], v[64];
	unsigned	 e;
	uint64_t	 u;
	int		 any = 0;

	if (f->vec == NULL) {
		snprintf(want, sizeof(want), "%s%s%s", f->logpre,
		    as_text(f, row, 0, v, sizeof(v)),
		    f->logpost != NULL ? f->logpost : "");
		ck_assert_msg(strstr(line, want) != NULL, "no \"%s\" in %s",
		    want, line);
		return;
	}
	for (e = f->vec->first; e < f->vec->n; e++) {
		u = f->vec->get(&S, row, e);
		snprintf(want, sizeof(want), " %s=%llu", f->vec->name((int)e),
		    (unsigned long long)u);
		ck_assert_int_eq(strstr(line, want) != NULL, elem_shown(f, u, 0));
		any |= elem_shown(f, u, 0);
	}
	if (!any) {
		snprintf(want, sizeof(want), "%s none", f->logpre);
		ck_assert_ptr_nonnull(strstr(line, want));
	}
}

/* The stats log: each field where its table puts it, on its row's line. */
START_TEST(test_log)
{
	const struct stats_object *ob;
	const struct stats_field *f;
	char			 what[128], line[2048];
	unsigned		 o, i, row;

	log_lines(&O);
	for (o = 0; o < STATS_NOBJ; o++) {
		ob = &stats_objects[o];
		for (row = 0; row < nrows(ob); row++) {
			for (i = 0; i < ob->nf; i++) {
				f = &ob->f[i];
				if (f->logpre == NULL)
					continue;
				if (o == STATS_SERVICES)
					snprintf(what, sizeof(what), "stats: "
					    "service %s ", S.pool->svc[row].label);
				else if (o == STATS_SERVERS)
					snprintf(what, sizeof(what), "stats: "
					    "server %s (", S.pool->srv[row].name);
				else
					snprintf(what, sizeof(what), "stats: %s",
					    f->vec != NULL ? f->logpre :
					    "packets ");
				ck_assert_msg(log_line(O.b, what, line,
				    sizeof(line)) != NULL, "no line \"%s\"", what);
				log_field(line, f, row);
			}
		}
	}
}
END_TEST

/*
 * Counters set by hand, read back from every output: each says what the
 * pool says, in the form people and scripts read.
 */
START_TEST(test_agree)
{
	struct server	*s = &S.pool->srv[1];

	R.e.st.pkts = 123456;
	s->flows_active = 3;
	s->flows_total = 4242;
	s->pkts_in = 5;
	s->pkts_out = 6;
	s->bytes_in = 777777;
	s->bytes_out = 8;
	s->rtt_us = 2500;

	stats_show(&S, STATS_SERVERS, 0, &O);
	ck_assert(has_line(O.b, "SERVICE      SERVER                   STATE "
	    "    REASON      WEIGHT BAK MAXCONN        ACTIVE      TOTAL     "
	    "BYTES_IN    BYTES_OUT  RTT_MS AGENT"));
	ck_assert(has_line(O.b, "default      10.0.1.12:80             drained "
	    "  operator       2/2   - -                   3       4242       "
	    "777777            8   2.500 -"));
	ck_assert(has_line(O.b, "default      10.0.1.11:80             up     "
	    "   start          1/1   - -                1000       1007       "
	    "  1028         1035   0.007 fresh 1s cpu 34% up"));
	ob_free(&O);
	stats_show(&S, STATS_SERVERS, 1, &O);
	ck_assert_ptr_nonnull(strstr(O.b, "\"server\":\"10.0.1.12:80\","
	    "\"state\":\"draining\",\"reason\":\"operator\",\"drained\":true,"
	    "\"ghost\":false,\"weight\":2,\"configured_weight\":2,"
	    "\"backup\":false,\"healthy\":true,\"maxconn\":0,\"lowconn\":0,"
	    "\"at_cap\":false,\"at_cap_times\":0,\"at_cap_s\":0.000,"
	    "\"flows_active\":3,"
	    "\"flows_total\":4242,\"packets_in\":5,\"packets_out\":6,"
	    "\"bytes_in\":777777,\"bytes_out\":8,\"response_time_us\":2500,"
	    "\"agent\":null}"));
	ob_free(&O);
	stats_prom(&S, &O);
	ck_assert(has_line(O.b, "loadd_packets_total 123456"));
	ck_assert(has_line(O.b, "loadd_server_flows_started_total{service="
	    "\"default\",server=\"10.0.1.12:80\"} 4242"));
	ck_assert(has_line(O.b, "loadd_server_state{service=\"default\","
	    "server=\"10.0.1.12:80\",state=\"draining\"} 1"));
	ck_assert(has_line(O.b, "loadd_server_response_seconds{service="
	    "\"default\",server=\"10.0.1.12:80\"} 0.002500"));
	ck_assert(has_line(O.b, "loadd_server_agent_cpu_ratio{service="
	    "\"default\",server=\"10.0.1.11:80\"} 0.345"));
	/* The age of every agent that reported, fresh (s1) or not (s3). */
	ck_assert(has_line(O.b, "loadd_server_agent_age_seconds{service="
	    "\"default\",server=\"10.0.1.11:80\"} 1.000"));
	ck_assert(has_line(O.b, "loadd_server_agent_age_seconds{service="
	    "\"default\",server=\"10.0.1.13:80\"} 9.000"));
	ck_assert_uint_eq(count(O.b, "loadd_server_agent_age_seconds{"), 2);
	ob_free(&O);
	log_lines(&O);
	ck_assert_ptr_nonnull(strstr(O.b, "loadd: stats: packets 123456, "));
	ck_assert(has_line(O.b, "loadd: stats: server 10.0.1.12:80 "
	    "(192.0.2.10:80/tcp) drained (safe to stop) (operator): flows 3 "
	    "active, 4242 total; packets 5 in, 6 out; bytes 777777 in, 8 out"));
	ck_assert(has_line(O.b, "loadd: stats: server 10.0.1.11:80 agent: "
	    "fresh, age 1000 ms, cpu 34.5%, load 12.07, memory 45.6%, "
	    "connections 9, check up (250 us), load now 38611"));
	ck_assert(has_line(O.b, "loadd: stats: service dns "
	    "192.0.2.10:53/udp (roundrobin): flows 228 active, 235 total; "
	    "packets 200 in, 207 out; bytes 214 in, 221 out; drops no_flow=5"));
}
END_TEST

/* show services' table, with its note of a service on its backups. */
START_TEST(test_services_text)
{
	stats_show(&S, STATS_SERVICES, 0, &O);
	ck_assert_str_eq(O.b,
	    "SERVICE      VIRTUAL                      METHOD             UP "
	    "  ACTIVE      TOTAL     BYTES_IN    BYTES_OUT    DROPS\n"
	    "default      192.0.2.10:80/tcp            roundrobin        2/3 "
	    "     128        135          114          121        0\n"
	    "dns          192.0.2.10:53/udp            roundrobin        1/1 "
	    "     228        235          214          221        5 "
	    "(on backup)\n");
}
END_TEST

/* Without agents or the metrics port, what they add is not there. */
START_TEST(test_parts)
{
	S.agent = NULL;
	S.http = NULL;
	engine_set_agent(&R.e, NULL);
	stats_show(&S, STATS_LOADD, 0, &O);
	ck_assert_ptr_null(strstr(O.b, "agent reports:"));
	ob_free(&O);
	stats_show(&S, STATS_SERVERS, 1, &O);
	ck_assert_uint_eq(count(O.b, "\"agent\":null"), S.pool->nsrv);
	ob_free(&O);
	stats_show(&S, STATS_SERVERS, 0, &O);
	ck_assert_ptr_null(strstr(O.b, "fresh"));
	ob_free(&O);
	stats_prom(&S, &O);
	ck_assert_ptr_null(strstr(O.b, "loadd_agent_reports_total"));
	ck_assert_ptr_null(strstr(O.b, "loadd_server_agent_cpu_ratio"));
	ck_assert_ptr_null(strstr(O.b, "loadd_server_agent_age_seconds"));
	ck_assert_ptr_null(strstr(O.b, "loadd_metrics_"));
	ob_free(&O);
	log_lines(&O);
	ck_assert_ptr_null(strstr(O.b, "agent"));
	ob_free(&O);
	S.http = &http;
	stats_prom(&S, &O);
	ck_assert(has_line(O.b, "loadd_metrics_connections_total{outcome="
	    "\"per_source\"} 24"));
	ck_assert(has_line(O.b, "loadd_metrics_renders_total 22"));
}
END_TEST

/* A free slot (its occupant gone by a reload) is in no output. */
START_TEST(test_free_slots)
{
	static const char *const gone[] = { "10.0.1.11:80", "10.0.1.21:53",
	    "service=\"dns\"", "service dns", "\"dns\"", "\ndns " };
	unsigned	 obj, json, k;

	S.pool->srv[0].used = 0;
	S.pool->srv[3].used = 0;
	S.pool->svc[1].used = 0;
	for (obj = STATS_SERVICES; obj <= STATS_SERVERS; obj++)
		for (json = 0; json < 2; json++) {
			stats_show(&S, obj, (int)json, &O);
			if (json)
				ck_assert_int_eq(strncmp(O.b, "[{", 2), 0);
			else
				ck_assert_uint_eq(count(O.b, "\n"), 1 +
				    (obj == STATS_SERVICES ? 1 : 2));
			ob_printf(&O, "\n");
			stats_prom(&S, &O);
			log_lines(&O);
			for (k = 0; k < sizeof(gone) / sizeof(gone[0]); k++)
				ck_assert_msg(strstr(O.b, gone[k]) == NULL,
				    "%s is shown: \"%.80s\"", gone[k],
				    strstr(O.b, gone[k]));
			ob_free(&O);
		}
}
END_TEST

/* The servers' histories: two seconds of traffic on the first server. */
static void
two_seconds(void)
{
	struct server	*s = &S.pool->srv[0];

	engine_tick(&R.e, 100);
	s->flows_total += 3;
	s->bytes_in += 300;
	s->bytes_out += 3000;
	engine_tick(&R.e, 101);
	s->flows_total += 5;
	engine_tick(&R.e, 102);
	S.hist = &R.e.hist;
}

/*
 * The status page's JSON: loadd's object, services and servers as
 * loadctl's show ... json has them, each server with its history.
 */
START_TEST(test_status)
{
	struct obuf	 want, part, one;
	const char	*obj = NULL, *end;
	unsigned	 i;

	two_seconds();
	memset(&want, 0, sizeof(want));
	memset(&part, 0, sizeof(part));
	ob_printf(&want, "{\"history_s\":%u,\"uptime_ms\":9000,\"loadd\":",
	    SRVHIST_SECONDS);
	stats_show(&S, STATS_LOADD, 1, &part);
	ob_printf(&want, "%.*s,\"services\":", (int)part.len - 1, part.b);
	ob_free(&part);
	stats_show(&S, STATS_SERVICES, 1, &part);
	ob_printf(&want, "%.*s,\"servers\":", (int)part.len - 1, part.b);
	ob_free(&part);
	stats_status(&S, &O);
	ck_assert_int_eq(strncmp(O.b, want.b, want.len), 0);
	ck_assert_ptr_nonnull(strstr(O.b, "\"server\":\"10.0.1.11:80\""));
	ck_assert_ptr_nonnull(strstr(O.b, ",\"history\":{\"seconds\":2,"
	    "\"new_flows\":[3,5],\"bytes_in\":[300,0],\"bytes_out\":[3000,0]}}"));
	ck_assert_uint_eq(count(O.b, "\"history\":{\"seconds\":2,"),
	    S.pool->nsrv);
	ck_assert_str_eq(O.b + O.len - 4, "}]}\n");
	/* Each server's object is show servers' with its history added. */
	S.hist = NULL;
	stats_show(&S, STATS_SERVERS, 1, &part);
	for (i = 0; i < S.pool->nsrv; i++) {
		ck_assert_ptr_nonnull(end = json_nth(part.b, i, &obj));
		memset(&one, 0, sizeof(one));
		ob_printf(&one, "%.*s,\"history\":{", (int)(end - 1 - obj), obj);
		ck_assert_msg(strstr(O.b, one.b) != NULL, "no %s", one.b);
		ob_free(&one);
	}
	/* Without the histories (loadctl's show servers json), none. */
	ck_assert_ptr_null(strstr(part.b, "history"));
	ob_free(&part);
	ob_free(&want);
}
END_TEST

/* The status JSON cut into slices of any size is the JSON whole. */
START_TEST(test_status_slices)
{
	struct stats_cursor	 c;
	struct obuf		 o;
	unsigned		 budget, calls;

	two_seconds();
	S.pool->srv[1].used = 0;
	stats_status(&S, &O);
	ck_assert_ptr_null(strstr(O.b, "10.0.1.12:80"));
	for (budget = 1; budget <= 4; budget++) {
		memset(&c, 0, sizeof(c));
		memset(&o, 0, sizeof(o));
		calls = 1;
		while (!stats_status_step(&S, &o, &c, budget))
			calls++;
		ck_assert_str_eq(o.b, O.b);
		ck_assert_uint_ge(calls, (1 + S.pool->nsvc + S.pool->nsrv) /
		    budget);
		ob_free(&o);
	}
}
END_TEST

#if defined(__linux__) && !defined(DIVERT_EMULATION)
/* The kernel's counters of loadd's queue, from its /proc file's text. */
START_TEST(test_nfq_proc)
{
	static const char text[] =
	    "    0  12345     0 2 65531     7     1     1044  1\n"
	    "   17 987654    64 2 65531 18446744073709551615 "
	    "4294967296 99  1\n";
	uint64_t	 d = 5, u = 5;

	ck_assert_int_eq(nfq_proc_counts(text, 0, &d, &u), 0);
	ck_assert_uint_eq(d, 7);
	ck_assert_uint_eq(u, 1);
	ck_assert_int_eq(nfq_proc_counts(text, 17, &d, &u), 0);
	ck_assert_uint_eq(d, UINT64_MAX);
	ck_assert_uint_eq(u, 4294967296ull);
	/* No line for the queue, or none at all: nothing changes. */
	d = u = 5;
	ck_assert_int_eq(nfq_proc_counts(text, 1, &d, &u), -1);
	ck_assert_int_eq(nfq_proc_counts("", 0, &d, &u), -1);
	ck_assert_int_eq(nfq_proc_counts("garbage\n\n 0 1\n", 0, &d, &u),
	    -1);
	ck_assert_uint_eq(d, 5);
	ck_assert_uint_eq(u, 5);
}
END_TEST
#endif

Suite *
stats_suite(void)
{
	Suite	*s = suite_create("stats");
	TCase	*tc;

	tc = tcase_create("outputs");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_tables);
	tcase_add_test(tc, test_text_loadd);
	tcase_add_loop_test(tc, test_text_table, STATS_SERVICES,
	    STATS_SERVERS + 1);
	tcase_add_loop_test(tc, test_json, 0, STATS_NOBJ);
	tcase_add_test(tc, test_prom);
	tcase_add_test(tc, test_prom_slices);
	tcase_add_test(tc, test_log);
	suite_add_tcase(s, tc);
	tc = tcase_create("agree");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_agree);
	tcase_add_test(tc, test_services_text);
	tcase_add_test(tc, test_parts);
	tcase_add_test(tc, test_free_slots);
	tcase_add_test(tc, test_status);
	tcase_add_test(tc, test_status_slices);
#if defined(__linux__) && !defined(DIVERT_EMULATION)
	tcase_add_test(tc, test_nfq_proc);
#endif
	suite_add_tcase(s, tc);
	return (s);
}
