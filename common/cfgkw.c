/*
 * The keyword engine: one "key = value" line read by a table of keywords
 * (cfgkw.h).  The tables are the daemons' (loadd/config.c, lmd/lmd_conf.c);
 * this file knows no keyword, only kinds of values.
 */
#include <netinet/in.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "cfgfile.h"
#include "cfgkw.h"
#include "log.h"

static const struct cfgkw *find(const struct cfgkw_table *, const char *);
static void	 parse_value(struct cfgfile *, const struct cfgkw *, void *,
		    char *);
static int	 parse_number(const struct cfgkw *, const char *,
		    unsigned long *);
static void	 parse_addr(struct cfgfile *, const struct cfgkw *, void *,
		    const char *);
static void	 parse_text(struct cfgfile *, const struct cfgkw *, void *,
		    const char *);
static void	 store(const struct cfgkw *, void *, unsigned long);
static const char *expected(const struct cfgkw *, char *, size_t);
static void	 refuse(struct cfgfile *, const struct cfgkw *, const char *);
static unsigned long largest(const struct cfgkw *);
static const char *entry_fault(const struct cfgkw_table *, size_t);

const struct cfgkw_choice cfgkw_protocols[] = {
	{ "tcp", IPPROTO_TCP },
	{ "udp", IPPROTO_UDP },
	{ NULL, 0 },
};

static const struct cfgkw *
find(const struct cfgkw_table *t, const char *key)
{
	size_t	 i;

	for (i = 0; i < t->nkw; i++)
		if (strcasecmp(key, t->kw[i].name) == 0)
			return (&t->kw[i]);
	return (NULL);
}

/*
 * What the two daemons have always done differs only in when an empty
 * value is refused (empty_given): loadd before anything else, lmd once
 * the key counts as given.
 */
int
cfgkw_apply(struct cfgfile *cf, const struct cfgkw_table *t,
    const struct cfgkw_section *sect, const char *key, char *value)
{
	const struct cfgkw		*kw;
	const struct cfgkw_section	*s;
	unsigned			 errors = cf->errors;

	if ((kw = find(t, key)) == NULL) {
		cfg_error(cf, "unknown key \"%s\"", key);
		return (-1);
	}
	s = &sect[kw->section];
	if (*value == '\0' && !t->empty_given)
		cfg_error(cf, "%s: %s", kw->name, t->novalue);
	else if (s->obj == NULL)
		cfg_error(cf, "%s %s", kw->name, s->closed);
	else if (!(kw->flags & CFGKW_MANY) && s->seen[kw->id] != 0)
		cfg_error(cf, "%s given twice (first on line %u)", kw->name,
		    s->seen[kw->id]);
	else {
		if (!(kw->flags & CFGKW_MANY))
			s->seen[kw->id] = cf->line;
		if (*value == '\0')
			cfg_error(cf, "%s: %s", kw->name, t->novalue);
		else
			parse_value(cf, kw, s->obj, value);
	}
	return (cf->errors == errors ? 0 : -1);
}

static void
parse_value(struct cfgfile *cf, const struct cfgkw *kw, void *obj, char *v)
{
	unsigned long	 n;

	switch (kw->kind) {
	case CFGKW_ADDR:
	case CFGKW_ADDRPORT:
		parse_addr(cf, kw, obj, v);
		break;
	case CFGKW_STRING:
	case CFGKW_PATH:
		parse_text(cf, kw, obj, v);
		break;
	case CFGKW_FUNC:
		kw->parse(cf, kw, obj, v);
		break;
	default:
		if (parse_number(kw, v, &n) == -1)
			refuse(cf, kw, v);
		else if (kw->set != NULL)
			kw->set(cf, obj, n);
		else
			store(kw, obj, n);
		break;
	}
}

/* The value of a UINT, BOOL, MS or CHOICE; 0, or -1. */
static int
parse_number(const struct cfgkw *kw, const char *v, unsigned long *n)
{
	const struct cfgkw_choice *c;
	uint32_t	 ms;
	int		 b;

	switch (kw->kind) {
	case CFGKW_UINT:
		return (cfg_uint(v, kw->min, kw->max, n));
	case CFGKW_BOOL:
		if ((b = cfg_bool(v)) == -1)
			return (-1);
		*n = (unsigned long)b;
		return (0);
	case CFGKW_MS:
		if (cfg_ms(v, (uint32_t)kw->min, (uint32_t)kw->max, &ms) == -1)
			return (-1);
		*n = ms;
		return (0);
	case CFGKW_CHOICE:
		for (c = kw->choices; c->word != NULL; c++)
			if (strcasecmp(v, c->word) == 0) {
				*n = c->value;
				return (0);
			}
		return (-1);
	default:
		return (-1);
	}
}

/*
 * The family is stored whatever the outcome, as lmd has always done: its
 * checks at the end of the file go by what the line said, even wrongly.
 */
static void
parse_addr(struct cfgfile *cf, const struct cfgkw *kw, void *obj,
    const char *v)
{
	char		*o = obj;
	union addr	*a = (union addr *)(void *)(o + kw->off);
	uint16_t	 port, *portp = &port;
	int		 family;

	if (kw->kind == CFGKW_ADDRPORT)
		portp = (uint16_t *)(void *)(o + kw->off_port);
	family = addr_parse(v, a, portp);
	memcpy(o + kw->off_family, &family, sizeof(family));
	if (family == 0 || (kw->kind == CFGKW_ADDR ? *portp != 0 :
	    *portp == 0))
		refuse(cf, kw, v);
}

/*
 * What the value looks like is checked first, then its length; each has
 * its message, or both share the one given.
 */
static void
parse_text(struct cfgfile *cf, const struct cfgkw *kw, void *obj,
    const char *v)
{
	char		*field = (char *)obj + kw->off;
	size_t		 max = kw->max != 0 ? kw->max : kw->size - 1;
	int		 form, has_what;

	form = (kw->kind == CFGKW_PATH && *v != '/') ||
	    (kw->reject != NULL && strpbrk(v, kw->reject) != NULL);
	has_what = kw->what != NULL || kw->kind == CFGKW_PATH;
	if ((form && has_what) || (!form && strlen(v) > max &&
	    kw->toolong == NULL))
		refuse(cf, kw, v);
	else if (form || strlen(v) > max)
		cfg_error(cf, "%s: %s", kw->name, kw->toolong);
	else
		memcpy(field, v, strlen(v) + 1);	/* max < size */
}

static void
store(const struct cfgkw *kw, void *obj, unsigned long n)
{
	char		*field = (char *)obj + kw->off;
	uint8_t		 u8 = (uint8_t)n;
	uint16_t	 u16 = (uint16_t)n;
	uint32_t	 u32 = (uint32_t)n;
	uint64_t	 u64 = n;

	switch (kw->size) {
	case 1:
		memcpy(field, &u8, 1);
		break;
	case 2:
		memcpy(field, &u16, 2);
		break;
	case 4:
		memcpy(field, &u32, 4);
		break;
	default:
		memcpy(field, &u64, 8);
		break;
	}
}

/* "tcp, http or none" for a CHOICE; the limits for a UINT. */
static const char *
expected(const struct cfgkw *kw, char *buf, size_t len)
{
	const struct cfgkw_choice *c;
	size_t		 off = 0;
	int		 r;

	switch (kw->kind) {
	case CFGKW_UINT:
		if (kw->what != NULL)
			snprintf(buf, len, "%s (%lu..%lu)", kw->what, kw->min,
			    kw->max);
		else
			snprintf(buf, len, "%lu..%lu", kw->min, kw->max);
		return (buf);
	case CFGKW_CHOICE:
		if (kw->what != NULL)
			return (kw->what);
		buf[0] = '\0';
		for (c = kw->choices; c->word != NULL && off < len; c++) {
			r = snprintf(buf + off, len - off, "%s%s",
			    c == kw->choices ? "" : c[1].word != NULL ? ", " :
			    " or ", c->word);
			if (r < 0)
				break;
			off += (size_t)r;
		}
		return (buf);
	default:
		break;
	}
	if (kw->what != NULL)
		return (kw->what);
	switch (kw->kind) {
	case CFGKW_BOOL:
		return ("yes or no");
	case CFGKW_ADDR:
		return ("an IP address");
	case CFGKW_ADDRPORT:
		return ("address:port");
	case CFGKW_PATH:
		return ("an absolute path");
	default:
		return ("valid");
	}
}

static void
refuse(struct cfgfile *cf, const struct cfgkw *kw, const char *v)
{
	char	 buf[256];

	cfg_error(cf, "%s: \"%s\" is not %s", kw->name, v,
	    expected(kw, buf, sizeof(buf)));
}

const char *
cfgkw_name(const struct cfgkw_table *t, unsigned id)
{
	size_t	 i;

	for (i = 0; i < t->nkw; i++)
		if (t->kw[i].id == id)
			return (t->kw[i].name);
	return ("?");
}

void
cfgkw_facility(struct cfgfile *cf, const struct cfgkw *kw, void *obj,
    char *v)
{
	int	 f;

	if ((f = log_facility(v)) == -1)
		cfg_error(cf, "%s: unknown facility \"%s\"", kw->name, v);
	else
		memcpy((char *)obj + kw->off, &f, sizeof(f));
}

/* The biggest number a keyword may store. */
static unsigned long
largest(const struct cfgkw *kw)
{
	const struct cfgkw_choice *c;
	unsigned long	 m = 0;

	switch (kw->kind) {
	case CFGKW_BOOL:
		return (1);
	case CFGKW_CHOICE:
		for (c = kw->choices; c->word != NULL; c++)
			if (c->value > m)
				m = c->value;
		return (m);
	default:
		return (kw->max);
	}
}

/* What is wrong with entry i of a table, or NULL. */
static const char *
entry_fault(const struct cfgkw_table *t, size_t i)
{
	const struct cfgkw *kw = &t->kw[i];
	size_t		 j;

	if (kw->name == NULL || kw->id >= t->nids ||
	    kw->section >= t->nsections)
		return ("no name, or an id or section out of range");
	for (j = 0; j < i; j++)
		if (strcasecmp(t->kw[j].name, kw->name) == 0)
			return ("named twice");
	switch (kw->kind) {
	case CFGKW_MS:
		if (kw->what == NULL || kw->max > UINT32_MAX)
			return ("a duration needs what and a 32-bit max");
		/* FALLTHROUGH */
	case CFGKW_UINT:
		if (kw->min > kw->max)
			return ("min is above max");
		/* FALLTHROUGH */
	case CFGKW_BOOL:
	case CFGKW_CHOICE:
		if (kw->kind == CFGKW_CHOICE && (kw->choices == NULL ||
		    kw->choices[0].word == NULL))
			return ("a choice without words");
		if (kw->set == NULL && kw->size != 1 && kw->size != 2 &&
		    kw->size != 4 && kw->size != 8)
			return ("a number's field is not 1, 2, 4 or 8 bytes");
		if (kw->set == NULL && kw->size < sizeof(long) &&
		    largest(kw) >> (8 * kw->size) != 0)
			return ("its field is too small for its largest value");
		return (NULL);
	case CFGKW_STRING:
	case CFGKW_PATH:
		if (kw->size == 0 || kw->max >= kw->size ||
		    (kw->what == NULL && kw->toolong == NULL &&
		    kw->kind == CFGKW_STRING))
			return ("text needs a field longer than max, and what "
			    "or toolong");
		return (NULL);
	case CFGKW_ADDR:
	case CFGKW_ADDRPORT:
		return (kw->size == sizeof(union addr) ? NULL :
		    "an address's field is not a union addr");
	case CFGKW_FUNC:
		return (kw->parse == NULL ? "a parser of its own is missing" :
		    NULL);
	}
	return ("an unknown kind");
}

int
cfgkw_table_check(const struct cfgkw_table *t, char *why, size_t len)
{
	const char	*fault;
	size_t		 i;

	if (t->novalue == NULL) {
		snprintf(why, len, "keyword table: no novalue message");
		return (-1);
	}
	for (i = 0; i < t->nkw; i++)
		if ((fault = entry_fault(t, i)) != NULL) {
			snprintf(why, len, "keyword table, entry %zu (%s): %s",
			    i, t->kw[i].name != NULL ? t->kw[i].name : "?",
			    fault);
			return (-1);
		}
	return (0);
}
