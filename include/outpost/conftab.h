/*
 * conftab.h - the one declarative table of configuration keys.
 *
 * Every key of outpost.conf(5) is a row: dotted name, type, where its value
 * lives in struct op_config, default (as text, parsed by the same code as
 * the file), bounds, whether a reload may change it, and one line of help.
 * `make check` compares docs/outpost.conf.5 with this table
 * (tests/check-manpage.sh, via `outpost -p`).
 */
#ifndef OUTPOST_CONFTAB_H
#define OUTPOST_CONFTAB_H

#include <stdbool.h>
#include <stddef.h>

enum op_ct_type {
	OP_CT_BOOL,	/* true/false */
	OP_CT_INT,	/* integer within [min, max] */
	OP_CT_SIZE,	/* bytes: 100000, "64K", "1M", "1G" */
	OP_CT_DURATION, /* milliseconds: 30 (seconds), "250ms", "10s", "5m", "1h", "1d" */
	OP_CT_STRING,
	OP_CT_MODE,	/* octal file mode as a string: "0660" */
	OP_CT_ENUM,	/* one of choices ("a|b|c"), stored as its index (int) */
	OP_CT_ACTION,	/* an action name among choices, stored as enum op_action (int) */
	OP_CT_LOGLEVEL, /* syslog level name, stored as LOG_* (int) */
	OP_CT_STRLIST,	/* array of strings */
	OP_CT_CIDRLIST, /* array of addresses or CIDR ranges */
	OP_CT_SECTION,	/* structured: parsed by its own code (tenants, key lists) */
};

struct op_conf_key {
	const char *name;
	enum op_ct_type type;
	size_t offset;	     /* in struct op_config; unused for SECTION */
	const char *def;     /* default written as in the file; NULL = none */
	long long min, max;  /* INT, SIZE, DURATION (ms), MODE */
	const char *choices; /* ENUM: "accept|tempfail|reject" */
	bool reloadable;     /* false: read once at start (socket, user, pid file); a reload
	                      * that changes it logs a warning and the daemon keeps
	                      * using the value it started with */
	const char *help;
};

/* The table and its length. */
const struct op_conf_key *op_conftab(size_t *n_r);

/* The row called name (dotted), or NULL. */
const struct op_conf_key *op_conftab_find(const char *name);

/* "bool", "integer", "size", ... for documentation and messages. */
const char *op_ct_type_name(enum op_ct_type t);

#endif
