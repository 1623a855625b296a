/*
 * rate.h - rate rules: what is counted, per what key, how fast, and what
 * happens beyond the limit (the rate module, plugin/mod_rate.c, applies
 * them; plugin/rate_rules.c parses them).
 *
 *   rate: { rules = ( { name = "login-minute"; key = "login"; count = "recipients";
 *                       limit = "100/1m"; burst = 150; action = "tempfail"; } ); };
 *   tenants = ( { name = "bulk"; ...; rate_rules = ( { name = "login-minute";
 *                                                     limit = "1000/1m"; } ); } );
 *
 * A tenant's rate_rules override the global rule of the same name field
 * by field (unnamed fields are inherited), add rules of new names, and
 * switch a global rule off with limit = "none".
 *
 * A counter key is the rule's key parts with the message's values, then
 * '#', then the rule's name: "login:alice#login-minute",
 * "login:alice+rcpt_domain:example.net#per-domain",
 * "client_ip:192.0.2.0/24#relay".  Values are lower case (except logins)
 * and percent-encoded ('#', '%', '+', space, controls, non-ASCII); a value
 * longer than OP_RATE_VALUE_MAX is replaced by '~' and a 64-bit hash.
 */
#ifndef OUTPOST_RATE_H
#define OUTPOST_RATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "outpost/gcra.h"

#define OP_RATE_NAME_MAX  64
#define OP_RATE_VALUE_MAX 160 /* encoded bytes of one key value */
#define OP_RATE_PARTS_MAX 2

enum op_rate_part {
	OP_RATE_LOGIN = 0, /* SASL login ({auth_authen}) */
	OP_RATE_SENDER,	   /* envelope sender, lower case */
	OP_RATE_SENDER_DOMAIN,
	OP_RATE_TENANT,
	OP_RATE_CLIENT_IP,   /* client address within ipv4_prefix / ipv6_prefix */
	OP_RATE_RCPT_DOMAIN, /* only with count = recipients */
	OP_RATE_PART__COUNT
};

enum op_rate_count { OP_RATE_MESSAGES = 0, OP_RATE_RECIPIENTS, OP_RATE_BYTES };
enum op_rate_scope { OP_RATE_ALL = 0, OP_RATE_INTERNAL, OP_RATE_EXTERNAL };
enum op_rate_action { OP_RATE_TEMPFAIL = 0, OP_RATE_REJECT, OP_RATE_HOLD, OP_RATE_LOG };

struct op_rate_rule {
	char name[OP_RATE_NAME_MAX];
	enum op_rate_part part[OP_RATE_PARTS_MAX];
	size_t nparts;
	unsigned ipv4_prefix, ipv6_prefix;
	enum op_rate_count count;
	struct op_gcra_rate rate; /* burst defaults to the limit */
	char limit_text[32];	  /* "100/1m", for logs and replies */
	enum op_rate_scope scope;
	enum op_rate_action action;
	bool hold_account; /* then = "hold_account" */
	bool off;	   /* limit = "none" (tenant override) */
	unsigned line;
};

struct op_rate_rules {
	struct op_rate_rule *v;
	size_t n;
};

/* Parse a list of rules (a libconfig setting, or NULL for none) into out.
 * With base (a tenant's list), a rule named like one of base overrides it
 * field by field; the result holds base's rules, overridden, then the new
 * ones, without those switched off.  At most max rules.  Returns 0, or -1
 * with "FILE:LINE: what" in err. */
int op_rate_rules_parse(const void *setting, const struct op_rate_rules *base, size_t max,
			struct op_rate_rules *out, char *err, size_t errsize);

void op_rate_rules_free(struct op_rate_rules *r);

/* "login", "sender", ... and "messages", "recipients", "bytes";
 * "tempfail", "reject", "hold", "log". */
const char *op_rate_part_name(enum op_rate_part p);
const char *op_rate_count_name(enum op_rate_count c);
const char *op_rate_action_name(enum op_rate_action a);

/* Append value, percent-encoded as keys want it (lower-cased when lower),
 * to out at *o (out has outsize bytes).  Returns -1 when it does not fit. */
int op_rate_key_value(char *out, size_t outsize, size_t *o, const char *value, bool lower);

/* Write the network of addr within the prefix ("192.0.2.0/24",
 * "2001:db8:1::/64") into out.  -1 when addr is not an address. */
int op_rate_client_net(const char *addr, unsigned prefix4, unsigned prefix6, char *out,
		       size_t outsize);

struct op_config;
struct op_store;

/* The store rate.* of cfg names (embedded: the LMDB one, whatever
 * rate.store says), referenced for the caller (op_store_put).  NULL with
 * *err_r.  For outpostctl; the module keeps its own. */
struct op_store *op_mod_rate_store(const struct op_config *cfg, bool embedded, const char **err_r);

#endif
