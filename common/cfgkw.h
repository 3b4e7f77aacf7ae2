/*
 * Keyword tables for the "key = value" files of cfgfile.h, in the manner
 * of HAProxy's cfg_kws and nginx's command tables: each keyword says what
 * its value is (its kind and limits), where it may be given and what it
 * sets, and one engine reads every line of loadd.conf and lmd.conf by its
 * daemon's table.  Errors name file:line and what was expected:
 *
 *	file:line: NAME: "VALUE" is not WHAT
 *
 * A kind has its own WHAT ("yes or no", "MIN..MAX", "tcp, http or none")
 * unless the keyword gives one.  What no kind can say (lists of servers,
 * ranges, lookups) is a parser of the keyword's own.
 */
#ifndef LOADD_CFGKW_H
#define LOADD_CFGKW_H

#include <stddef.h>

struct cfgfile;

enum cfgkw_kind {
	CFGKW_UINT,	/* decimal, min..max */
	CFGKW_BOOL,	/* yes/no, true/false, on/off, 1/0 */
	CFGKW_MS,	/* a duration in ms (cfg_ms), min..max; needs what */
	CFGKW_CHOICE,	/* one word of choices, any case */
	CFGKW_ADDR,	/* an IP address without a port */
	CFGKW_ADDRPORT,	/* address:port, the port required */
	CFGKW_STRING,	/* text into a char array */
	CFGKW_PATH,	/* the same, an absolute path */
	CFGKW_FUNC,	/* the keyword's own parser */
};

#define CFGKW_MANY	0x01	/* may be given again: no "given twice" */

/* A word of a CFGKW_CHOICE and the number it sets. */
struct cfgkw_choice {
	const char	*word;
	unsigned	 value;
};

struct cfgkw {
	const char	*name;
	unsigned	 id;		/* its slot in seen[]; aliases share one */
	unsigned	 section;	/* where it may be given, what it sets */
	enum cfgkw_kind	 kind;
	unsigned	 flags;
	/* UINT, MS: the limits; STRING, PATH: the longest (0: the field's). */
	unsigned long	 min, max;
	/*
	 * The value expected, as errors say it: "NAME: \"VALUE\" is not
	 * WHAT"; a UINT's limits follow in parentheses.  NULL: the kind's.
	 */
	const char	*what;
	/* STRING, PATH: "NAME: TOOLONG" for a long value; NULL: WHAT. */
	const char	*toolong;
	const char	*reject;	/* STRING, PATH: bytes not allowed */
	const struct cfgkw_choice *choices;	/* ends with a NULL word */
	/*
	 * The field it sets in its section's object, and the field's size:
	 * 1, 2, 4 or 8 bytes for a number (unsigned, or an int that the
	 * limits keep positive), the array for text, a union addr for an
	 * address, with an int family beside it and a uint16_t port.
	 */
	size_t		 off;
	size_t		 size;
	size_t		 off_family;
	size_t		 off_port;
	/* A number's setter instead of off; it may refuse the value. */
	void		(*set)(struct cfgfile *, void *obj, unsigned long);
	/* CFGKW_FUNC: reads the value and sets what it sets. */
	void		(*parse)(struct cfgfile *, const struct cfgkw *,
			    void *obj, char *value);
};

/* The field a keyword sets: CFGKW_FIELD(struct config, maxflows). */
#define CFGKW_FIELD(type, member)					\
	.off = offsetof(type, member),					\
	.size = sizeof(((type *)0)->member)

struct cfgkw_table {
	const struct cfgkw *kw;
	size_t		 nkw;
	unsigned	 nids;		/* slots in every seen[] */
	unsigned	 nsections;
	/* "NAME: NOVALUE" for "key =" with nothing after it. */
	const char	*novalue;
	/*
	 * Whether "key =" counts as the key given (a later line with a
	 * value is then "given twice"); if not, it is refused before the
	 * key's section or seen[] are looked at.
	 */
	int		 empty_given;
};

/* A section as it stands on the line being read. */
struct cfgkw_section {
	void		*obj;		/* what its keywords set; NULL: closed */
	unsigned	*seen;		/* line each id was first given on */
	const char	*closed;	/* "NAME CLOSED" when obj is NULL */
};

/*
 * Reads one line, key and value as cfg_next() returned them, by the
 * table, sect[] holding each of its sections; 0, or -1 after the line's
 * errors were reported.
 */
int		 cfgkw_apply(struct cfgfile *, const struct cfgkw_table *,
		    const struct cfgkw_section *, const char *key, char *value);
/* The first name of an id, for errors found after parsing. */
const char	*cfgkw_name(const struct cfgkw_table *, unsigned id);
/*
 * Whether a table can be used as it says: every field big enough for
 * its limits, every kind with what it needs.  0, or -1 with why.
 */
int		 cfgkw_table_check(const struct cfgkw_table *, char *why,
		    size_t len);

/* A CFGKW_FUNC for a syslog facility by name, into an int. */
void		 cfgkw_facility(struct cfgfile *, const struct cfgkw *,
		    void *obj, char *value);
/* tcp and udp, as IP protocol numbers. */
extern const struct cfgkw_choice cfgkw_protocols[];

/* A macro's value as text, for a WHAT that names a size. */
#define CFGKW_STR(x)	CFGKW_STR1(x)
#define CFGKW_STR1(x)	#x

#endif
