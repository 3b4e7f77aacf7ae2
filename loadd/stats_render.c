/*
 * The outputs of the stats tables (stats.c): loadctl's text and JSON,
 * the Prometheus text exposition and the stats log.  Each walks a table
 * in its order and shows the fields that have a name in it; nothing here
 * knows what a field is.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "compat.h"
#include "engine.h"
#include "log.h"
#include "pktio.h"
#include "pool.h"
#include "srvhist.h"
#include "stats.h"

/*
 * An element's name outside the log, where names are single words: "bad
 * MAC" is bad_MAC.  The log keeps the words apart.
 */
static const char *
elem_name(const struct stats_vec *vec, unsigned e, char *buf, size_t len)
{
	char	*c;

	strlcpy(buf, vec->name((int)e), len);
	for (c = buf; *c != '\0'; c++)
		if (*c == ' ')
			*c = '_';
	return (buf);
}

/* A row to show: not a free slot. */
static int
row_used(const struct stats_src *s, const struct stats_object *ob,
    unsigned row)
{
	return (ob->used == NULL || ob->used(s, row));
}

static int
elem_shown(const struct stats_field *f, uint64_t v, int prom)
{
	return (v != 0 ||
	    !(f->flags & (prom ? STATS_F_PROMNZ : STATS_F_NONZERO)));
}

/* A value in a text table, a Prometheus sample or the log. */
static const char *
val_text(const struct stats_field *f, const struct stats_val *v, char *buf,
    size_t len)
{
	switch (v->type) {
	case SV_UINT:
		snprintf(buf, len, "%llu", (unsigned long long)v->u);
		return (buf);
	case SV_BOOL:
		return (v->u ? "yes" : "-");
	case SV_REAL:
		snprintf(buf, len, "%.*f", (int)f->decimals, v->r);
		return (buf);
	case SV_STR:
		return (v->s);
	case SV_NONE:
		break;
	}
	return ("");
}

/* Text: loadd's fields a line each; services and servers, tables. */

static void
text_vec(const struct stats_src *s, const struct stats_field *f,
    struct obuf *o)
{
	const struct stats_vec	*vec = f->vec;
	char			 title[64], en[64], *c;
	uint64_t		 u;
	unsigned		 e;

	strlcpy(title, f->name, sizeof(title));
	for (c = title; *c != '\0'; c++)
		if (*c == '_')
			*c = ' ';
	ob_printf(o, "%s:\n", title);
	for (e = vec->first; e < vec->n; e++) {
		u = vec->get(s, 0, e);
		if (elem_shown(f, u, 0))
			ob_printf(o, "  %-18s %llu\n", elem_name(vec, e, en,
			    sizeof(en)), (unsigned long long)u);
	}
}

static void
text_list(const struct stats_src *s, const struct stats_object *ob,
    struct obuf *o)
{
	const struct stats_field *f;
	struct stats_val	 v;
	char			 b[64];
	unsigned		 i;

	for (i = 0; i < ob->nf; i++) {
		f = &ob->f[i];
		if (f->name == NULL || !stats_field_on(f, s))
			continue;
		if (f->vec != NULL) {
			text_vec(s, f, o);
			continue;
		}
		stats_value(f, s, 0, &v);
		ob_printf(o, "%-20s %s\n", f->name, val_text(f, &v, b,
		    sizeof(b)));
	}
}

/* A row of a table, or its headings. */
static void
text_row(const struct stats_src *s, const struct stats_object *ob,
    unsigned row, int heading, struct obuf *o)
{
	const struct stats_field *f;
	struct stats_val	 v;
	const char		*t, *sep = "";
	char			 b[64];
	unsigned		 i;

	for (i = 0; i < ob->nf; i++) {
		f = &ob->f[i];
		if (f->head == NULL || !stats_field_on(f, s) ||
		    (heading && (f->flags & STATS_F_TAIL)))
			continue;
		if (heading)
			t = f->head;
		else {
			stats_value(f, s, row, &v);
			t = val_text(f, &v, b, sizeof(b));
		}
		if (f->flags & STATS_F_TAIL)
			ob_printf(o, "%s", t);
		else
			ob_printf(o, "%s%*s", sep, f->width, t);
		sep = " ";
	}
	ob_printf(o, "\n");
}

/* JSON */

static void	 json_object(const struct stats_src *,
		    const struct stats_object *, unsigned, struct obuf *);

static void
json_vec(const struct stats_src *s, const struct stats_field *f,
    unsigned row, struct obuf *o)
{
	const struct stats_vec	*vec = f->vec;
	const char		*sep = "";
	char			 en[64];
	uint64_t		 u;
	unsigned		 e;

	ob_printf(o, "{");
	for (e = vec->first; e < vec->n; e++) {
		u = vec->get(s, row, e);
		if (!elem_shown(f, u, 0))
			continue;
		ob_printf(o, "%s\"%s\":%llu", sep, elem_name(vec, e, en,
		    sizeof(en)), (unsigned long long)u);
		sep = ",";
	}
	ob_printf(o, "}");
}

static void
json_value(const struct stats_src *s, const struct stats_field *f,
    unsigned row, struct obuf *o)
{
	struct stats_val	 v;

	if (f->vec != NULL) {
		json_vec(s, f, row, o);
		return;
	}
	if (f->json != NULL) {
		f->json(s, row, o);
		return;
	}
	stats_value(f, s, row, &v);
	if (f->sub != NULL && v.u)
		json_object(s, f->sub, row, o);
	else if (f->sub != NULL || v.type == SV_NONE)
		ob_printf(o, "null");
	else if (v.type == SV_BOOL)
		ob_printf(o, "%s", v.u ? "true" : "false");
	else if (v.type == SV_STR)
		ob_json_str(o, v.s);
	else if (v.type == SV_REAL)
		ob_printf(o, "%.*f", (int)f->decimals, v.r);
	else
		ob_printf(o, "%llu", (unsigned long long)v.u);
}

static void
json_object(const struct stats_src *s, const struct stats_object *ob,
    unsigned row, struct obuf *o)
{
	const struct stats_field *f;
	const char		*sep = "";
	unsigned		 i;

	ob_printf(o, "{");
	for (i = 0; i < ob->nf; i++) {
		f = &ob->f[i];
		if (f->name == NULL || !stats_field_on(f, s))
			continue;
		ob_printf(o, "%s\"%s\":", sep, f->name);
		json_value(s, f, row, o);
		sep = ",";
	}
	ob_printf(o, "}");
}

/*
 * loadctl's show: for loadd a list of names and values, or a JSON
 * object; for services and servers a table with a row each, or a JSON
 * array of objects.
 */
void
stats_show(const struct stats_src *s, unsigned obj, int json,
    struct obuf *o)
{
	const struct stats_object *ob = &stats_objects[obj];
	const char		*sep = "";
	unsigned		 i, n;

	if (ob->rows == NULL) {
		if (!json)
			text_list(s, ob, o);
		else {
			json_object(s, ob, 0, o);
			ob_printf(o, "\n");
		}
		return;
	}
	if (!json)
		text_row(s, ob, 0, 1, o);
	else
		ob_printf(o, "[");
	for (i = 0, n = ob->rows(s); i < n; i++) {
		if (!row_used(s, ob, i))
			continue;
		if (!json)
			text_row(s, ob, i, 0, o);
		else {
			ob_printf(o, "%s", sep);
			json_object(s, ob, i, o);
			sep = ",";
		}
	}
	if (json)
		ob_printf(o, "]\n");
}

/*
 * The status page's JSON: {"history_s":N,"loadd":{...},"services":[...],
 * "servers":[...]}.  The cursor's field says how far the object in
 * hand is: 0 not begun, 1 begun, 2 a row written (the next needs a
 * comma).
 */
int
stats_status_step(const struct stats_src *s, struct obuf *o,
    struct stats_cursor *c, unsigned budget)
{
	static const char *const key[STATS_NOBJ] = { "loadd", "services",
	    "servers" };
	const struct stats_object *ob;
	unsigned		 n;

	for (; c->obj < STATS_NOBJ; c->obj++, c->field = 0, c->row = 0) {
		ob = &stats_objects[c->obj];
		if (budget == 0)
			return (0);
		if (c->field == 0) {
			if (c->obj == 0)
				ob_printf(o, "{\"history_s\":%u,\"uptime_ms\":"
				    "%llu", SRVHIST_SECONDS, (unsigned long long)
				    (s->now_ms - s->started_ms));
			ob_printf(o, ",\"%s\":%s", key[c->obj],
			    ob->rows != NULL ? "[" : "");
			c->field = 1;
		}
		if (ob->rows == NULL) {
			json_object(s, ob, 0, o);
			budget--;
			continue;
		}
		for (n = ob->rows(s); c->row < n; c->row++) {
			if (budget == 0)
				return (0);
			budget--;
			if (!row_used(s, ob, c->row))
				continue;
			ob_printf(o, "%s", c->field == 2 ? "," : "");
			json_object(s, ob, c->row, o);
			c->field = 2;
		}
		ob_printf(o, "]");
	}
	ob_printf(o, "}\n");
	return (1);
}

void
stats_status(const struct stats_src *s, struct obuf *o)
{
	struct stats_cursor	 c;

	memset(&c, 0, sizeof(c));
	while (!stats_status_step(s, o, &c, UINT_MAX))
		;
}

/*
 * Prometheus: family by family, each with its HELP and TYPE, then a line
 * for each row (none for a value not there now), or one for each of a
 * row's elements.
 */

static void
prom_head(const struct stats_field *f, struct obuf *o)
{
	ob_printf(o, "# HELP loadd_%s %s\n# TYPE loadd_%s %s\n", f->prom,
	    f->help, f->prom, f->type == STATS_COUNTER ? "counter" : "gauge");
}

static void
prom_vec(const struct stats_src *s, const struct stats_field *f,
    unsigned row, const char *lab, struct obuf *o)
{
	const struct stats_vec	*vec = f->vec;
	char			 en[64];
	uint64_t		 u;
	unsigned		 e;

	for (e = vec->first; e < vec->n; e++) {
		u = vec->get(s, row, e);
		if (elem_shown(f, u, 1))
			ob_printf(o, "loadd_%s{%s%s%s=\"%s\"} %llu\n", f->prom,
			    lab, *lab != '\0' ? "," : "", vec->label,
			    elem_name(vec, e, en, sizeof(en)),
			    (unsigned long long)u);
	}
}

static void
prom_row(const struct stats_src *s, const struct stats_object *ob,
    const struct stats_field *f, unsigned row, struct obuf *o)
{
	struct stats_val	 v;
	char			 lab[256], b[64];

	lab[0] = '\0';
	if (ob->labels != NULL)
		ob->labels(s, row, f, lab, sizeof(lab));
	if (f->vec != NULL) {
		prom_vec(s, f, row, lab, o);
		return;
	}
	stats_value(f, s, row, &v);
	if (v.type == SV_NONE)
		return;
	if (v.type == SV_BOOL)
		v.type = SV_UINT;	/* a truth is 1 or 0 here */
	ob_printf(o, "loadd_%s%s%s%s %s\n", f->prom, *lab != '\0' ? "{" : "",
	    lab, *lab != '\0' ? "}" : "", val_text(f, &v, b, sizeof(b)));
}

/*
 * A row is one family's line or lines for loadd, a service or a server;
 * a family's head goes with its first row, so that a page cut between
 * two calls has every head once.
 */
int
stats_prom_step(const struct stats_src *s, struct obuf *o,
    struct stats_cursor *c, unsigned budget)
{
	const struct stats_object *ob;
	const struct stats_field *f;
	unsigned		 n;

	for (; c->obj < STATS_NOBJ; c->obj++, c->field = 0) {
		ob = &stats_objects[c->obj];
		for (; c->field < ob->nf; c->field++, c->row = 0) {
			f = &ob->f[c->field];
			if (f->prom == NULL || !stats_field_on(f, s))
				continue;
			n = ob->rows != NULL ? ob->rows(s) : 1;
			if (c->row == 0) {
				if (budget == 0)
					return (0);
				prom_head(f, o);
			}
			for (; c->row < n; c->row++) {
				if (budget == 0)
					return (0);
				budget--;
				if (row_used(s, ob, c->row))
					prom_row(s, ob, f, c->row, o);
			}
		}
	}
	return (1);
}

void
stats_prom(const struct stats_src *s, struct obuf *o)
{
	struct stats_cursor	 c;

	memset(&c, 0, sizeof(c));
	while (!stats_prom_step(s, o, &c, UINT_MAX))
		;
}

/*
 * The stats log: a line of loadd's totals, a line for each family by
 * label (drops, agent reports), a line for each service and server.
 */

static void
log_value(const struct stats_src *s, const struct stats_field *f,
    unsigned row, struct obuf *o)
{
	const struct stats_vec	*vec = f->vec;
	struct stats_val	 v;
	char			 b[64];
	uint64_t		 u;
	unsigned		 e, n = 0;

	ob_printf(o, "%s", f->logpre);
	if (vec == NULL) {
		stats_value(f, s, row, &v);
		ob_printf(o, "%s%s", val_text(f, &v, b, sizeof(b)),
		    f->logpost != NULL ? f->logpost : "");
		return;
	}
	for (e = vec->first; e < vec->n; e++) {
		u = vec->get(s, row, e);
		if (elem_shown(f, u, 0)) {
			ob_printf(o, " %s=%llu", vec->name((int)e),
			    (unsigned long long)u);
			n++;
		}
	}
	if (n == 0)
		ob_printf(o, " none");
}

static void
log_line(struct obuf *o)
{
	if (o->b != NULL && !o->full)
		log_notice("%s", o->b);
	else
		log_warnx("stats: out of memory");
	ob_free(o);
}

static void
log_loadd(const struct stats_src *s)
{
	const struct stats_object *ob = &stats_objects[STATS_LOADD];
	const struct stats_field *f;
	struct obuf		 line;
	unsigned		 i;

	memset(&line, 0, sizeof(line));
	ob_printf(&line, "stats: ");
	for (i = 0; i < ob->nf; i++) {
		f = &ob->f[i];
		if (f->logpre != NULL && f->vec == NULL && stats_field_on(f, s))
			log_value(s, f, 0, &line);
	}
	log_line(&line);
	for (i = 0; i < ob->nf; i++) {
		f = &ob->f[i];
		if (f->logpre == NULL || f->vec == NULL || !stats_field_on(f, s))
			continue;
		ob_printf(&line, "stats: ");
		log_value(s, f, 0, &line);
		log_line(&line);
	}
}

static void
log_rows(const struct stats_src *s, const struct stats_object *ob)
{
	const struct stats_field *f;
	struct obuf		 line;
	unsigned		 i, row, n;

	memset(&line, 0, sizeof(line));
	for (row = 0, n = ob->rows(s); row < n; row++) {
		if (!row_used(s, ob, row))
			continue;
		ob_printf(&line, "stats: ");
		ob->logname(s, row, &line);
		for (i = 0; i < ob->nf; i++) {
			f = &ob->f[i];
			if (f->logpre != NULL && stats_field_on(f, s))
				log_value(s, f, row, &line);
		}
		log_line(&line);
		if (ob->logmore != NULL)
			ob->logmore(s, row);
	}
}

void
stats_log(const struct engine *e, const struct pktio *io)
{
	struct stats_src	 s;

	memset(&s, 0, sizeof(s));
	s.e = e;
	s.pool = e->pool;
	s.io = io;
	s.agent = e->sc.agent;
	s.now_ms = e->sc.now_ms;
	log_loadd(&s);
	log_rows(&s, &stats_objects[STATS_SERVICES]);
	log_rows(&s, &stats_objects[STATS_SERVERS]);
}
