/*
 * rate_rules.c - parse the rules of the rate module (rate.rules and each
 * tenant's rate_rules) and build the values of counter keys (see
 * include/outpost/rate.h).  Parsing is done once per snapshot; nothing
 * here runs per message except op_rate_key_value and op_rate_client_net,
 * which are leaf code.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "outpost/cidr.h"
#include "outpost/config.h"
#include "outpost/rate.h"

static const char *const part_names[OP_RATE_PART__COUNT] = {
    "login", "sender", "sender_domain", "tenant", "client_ip", "rcpt_domain",
};
static const char *const count_names[] = {"messages", "recipients", "bytes"};
static const char *const scope_names[] = {"all", "internal", "external"};
static const char *const action_names[] = {"tempfail", "reject", "hold", "log"};
static const char *const rule_keys[] = {"name",	       "key",	      "count",	"limit",
					"burst",       "apply_to",    "action", "then",
					"ipv4_prefix", "ipv6_prefix", NULL};

const char *op_rate_part_name(enum op_rate_part p)
{
	return p < OP_RATE_PART__COUNT ? part_names[p] : "?";
}

const char *op_rate_count_name(enum op_rate_count c)
{
	return c <= OP_RATE_BYTES ? count_names[c] : "?";
}

const char *op_rate_action_name(enum op_rate_action a)
{
	return a <= OP_RATE_LOG ? action_names[a] : "?";
}

/* Index of name in names (n entries), or -1. */
static int pick(const char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return (int)i;
	return -1;
}

/* "login" or "login+rcpt_domain" into r.  0 or -1 with *why. */
static int parse_key(const char *text, struct op_rate_rule *r, const char **why)
{
	char buf[64], *save = NULL, *tok;

	if (strlen(text) >= sizeof(buf))
		return *why = "unknown key", -1;
	memcpy(buf, text, strlen(text) + 1);
	r->nparts = 0;
	for (tok = strtok_r(buf, "+", &save); tok; tok = strtok_r(NULL, "+", &save)) {
		int p = pick(part_names, OP_RATE_PART__COUNT, tok);

		if (p < 0)
			return *why =
				   "key: expected login, sender, sender_domain, tenant, client_ip, "
				   "rcpt_domain, or two of them joined by '+'",
			       -1;
		if (r->nparts == OP_RATE_PARTS_MAX)
			return *why = "key: at most two parts", -1;
		if (r->nparts == 1 && r->part[0] == (enum op_rate_part)p)
			return *why = "key: the same part twice", -1;
		r->part[r->nparts++] = (enum op_rate_part)p;
	}
	return r->nparts ? 0 : (*why = "key: empty", -1);
}

/* One string member of a rule through names; -2 when absent. */
static int str_choice(const config_setting_t *s, const char *member, const char *const *names,
		      size_t n, const char **text_r)
{
	const config_setting_t *m = config_setting_get_member(s, member);

	if (m == NULL)
		return -2;
	*text_r = config_setting_get_string(m);
	if (*text_r == NULL)
		return -1;
	return names ? pick(names, n, *text_r) : 0;
}

/* A non-negative integer member, plain or a string with K/M/G ("64K");
 * -2 when absent, -1 when malformed. */
static int uint_member(const config_setting_t *s, const char *member, unsigned long long max,
		       unsigned long long *v)
{
	const config_setting_t *m = config_setting_get_member(s, member);
	const char *t;
	char *end;

	if (m == NULL)
		return -2;
	if (config_setting_type(m) == CONFIG_TYPE_INT ||
	    config_setting_type(m) == CONFIG_TYPE_INT64) {
		long long x = config_setting_get_int64(m);

		if (x < 1 || (unsigned long long)x > max)
			return -1;
		*v = (unsigned long long)x;
		return 0;
	}
	t = config_setting_get_string(m);
	if (t == NULL || !isdigit((unsigned char)t[0]))
		return -1;
	errno = 0;
	*v = strtoull(t, &end, 10);
	if (*end && !end[1] && strchr("kKmMgG", *end))
		*v <<= (*end == 'k' || *end == 'K') ? 10 : (*end == 'm' || *end == 'M') ? 20 : 30;
	else if (*end)
		return -1;
	return errno == ERANGE || *v < 1 || *v > max ? -1 : 0;
}

/* The fields of one rule group s over r (which holds defaults or the
 * overridden rule).  *burst_set when burst was given.  0 or -1. */
static int rule_fields(const config_setting_t *s, struct op_rate_rule *r, bool *burst_set,
		       char *err, size_t errsize)
{
	const char *t = NULL, *why = NULL;
	unsigned long long v;
	int i;

	if ((i = str_choice(s, "key", NULL, 0, &t)) == -1 || (i == 0 && parse_key(t, r, &why) < 0))
		return op_conf_err(err, errsize, s, "rule %s: %s", r->name,
				   why ? why : "key must be a string");
	if ((i = str_choice(s, "count", count_names, 3, &t)) == -1)
		return op_conf_err(err, errsize, s,
				   "rule %s: count: expected messages, recipients or bytes",
				   r->name);
	r->count = i >= 0 ? (enum op_rate_count)i : r->count;
	if ((i = str_choice(s, "apply_to", scope_names, 3, &t)) == -1)
		return op_conf_err(err, errsize, s,
				   "rule %s: apply_to: expected all, internal or external",
				   r->name);
	r->scope = i >= 0 ? (enum op_rate_scope)i : r->scope;
	if ((i = str_choice(s, "action", action_names, 4, &t)) == -1)
		return op_conf_err(err, errsize, s,
				   "rule %s: action: expected tempfail, reject, hold or log",
				   r->name);
	r->action = i >= 0 ? (enum op_rate_action)i : r->action;
	if ((i = str_choice(s, "then", NULL, 0, &t)) == -1 ||
	    (i == 0 && strcmp(t, "hold_account") && t[0]))
		return op_conf_err(err, errsize, s,
				   "rule %s: then: expected \"hold_account\" (or \"\")", r->name);
	r->hold_account = i == 0 ? t[0] != '\0' : r->hold_account;
	if ((i = str_choice(s, "limit", NULL, 0, &t)) == -1)
		return op_conf_err(err, errsize, s,
				   "rule %s: limit must be a string such as \"100/1m\"", r->name);
	if (i == 0 && strcmp(t, "none") == 0)
		r->off = true;
	else if (i == 0 && op_gcra_parse(t, &r->rate, &why) < 0)
		return op_conf_err(err, errsize, s, "rule %s: limit \"%s\": %s", r->name, t, why);
	else if (i == 0)
		r->off = false;
	op_gcra_format(&r->rate, r->limit_text, sizeof(r->limit_text));
	if ((i = uint_member(s, "burst", OP_GCRA_LIMIT_MAX, &v)) == -1)
		return op_conf_err(err, errsize, s,
				   "rule %s: burst must be a number from 1 to 10^12", r->name);
	*burst_set = i == 0;
	r->rate.burst = i == 0 ? v : r->rate.burst;
	if ((i = uint_member(s, "ipv4_prefix", 32, &v)) == -1)
		return op_conf_err(err, errsize, s, "rule %s: ipv4_prefix must be 1..32", r->name);
	r->ipv4_prefix = i == 0 ? (unsigned)v : r->ipv4_prefix;
	if ((i = uint_member(s, "ipv6_prefix", 128, &v)) == -1)
		return op_conf_err(err, errsize, s, "rule %s: ipv6_prefix must be 1..128", r->name);
	r->ipv6_prefix = i == 0 ? (unsigned)v : r->ipv6_prefix;
	return 0;
}

/* The rule's name, or one made of its key, count and limit. */
static int rule_name(const config_setting_t *s, bool need, char *out, char *err, size_t errsize)
{
	const char *name = NULL, *key = "?", *count = "messages", *limit = "?";

	if (config_setting_lookup_string(s, "name", &name)) {
		bool bad = name[0] == '\0' || strlen(name) >= OP_RATE_NAME_MAX;

		for (const char *p = name; *p && !bad; p++)
			bad = *p <= ' ' || *p >= 0x7f || *p == '#' || *p == '%';
		if (bad)
			return op_conf_err(err, errsize, s,
					   "a rule name is 1 to %d printable characters "
					   "without '#', '%%' or space",
					   OP_RATE_NAME_MAX - 1);
		memcpy(out, name, strlen(name) + 1);
		return 0;
	}
	if (need)
		return op_conf_err(err, errsize, s, "a tenant's rate rule needs a name");
	config_setting_lookup_string(s, "key", &key);
	config_setting_lookup_string(s, "count", &count);
	config_setting_lookup_string(s, "limit", &limit);
	snprintf(out, OP_RATE_NAME_MAX, "%s:%s:%s", key, count, limit);
	for (char *p = out; *p; p++)
		if (*p == '#' || *p == '%' || *p <= ' ' || *p >= 0x7f)
			*p = '_';
	return 0;
}

/* Check one rule group for unknown members. */
static int rule_known(const config_setting_t *s, char *err, size_t errsize)
{
	if (!config_setting_is_group(s))
		return op_conf_err(err, errsize, s,
				   "a rate rule is a group { key = ...; limit = ...; }");
	for (int i = 0; i < config_setting_length(s); i++) {
		const config_setting_t *m = config_setting_get_elem(s, (unsigned)i);

		if (pick(rule_keys, sizeof(rule_keys) / sizeof(rule_keys[0]) - 1,
			 config_setting_name(m)) < 0)
			return op_conf_err(err, errsize, m, "unknown rate rule field '%s'",
					   config_setting_name(m));
	}
	return 0;
}

/* Rules across fields, once a rule is complete. */
static int rule_check(const config_setting_t *s, const struct op_rate_rule *r, char *err,
		      size_t errsize)
{
	if (r->nparts == 0)
		return op_conf_err(err, errsize, s, "rule %s needs a key", r->name);
	if (r->rate.limit == 0 && !r->off)
		return op_conf_err(err, errsize, s, "rule %s needs a limit such as \"100/1m\"",
				   r->name);
	for (size_t i = 0; i < r->nparts; i++)
		if (r->part[i] == OP_RATE_RCPT_DOMAIN && r->count != OP_RATE_RECIPIENTS)
			return op_conf_err(err, errsize, s,
					   "rule %s: a key with rcpt_domain counts recipients "
					   "(count = \"recipients\")",
					   r->name);
	return 0;
}

static struct op_rate_rule *find(struct op_rate_rule *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0)
			return &v[i];
	return NULL;
}

/* Parse element s into the rule list (n used of cap).  0 or -1. */
static int rule_one(const config_setting_t *s, bool tenant, struct op_rate_rule *v, size_t *n,
		    size_t nbase, size_t max, char *err, size_t errsize)
{
	struct op_rate_rule tmp = {0}, *r;
	bool burst_set = false, was_default;

	if (rule_known(s, err, errsize) < 0 || rule_name(s, tenant, tmp.name, err, errsize) < 0)
		return -1;
	r = find(v, *n, tmp.name);
	if (r != NULL && (size_t)(r - v) >= nbase)
		return op_conf_err(err, errsize, s, "two rate rules are named %s", tmp.name);
	if (r == NULL) {
		if (*n == max)
			return op_conf_err(err, errsize, s, "more than rate.max_rules (%zu) rules",
					   max);
		r = &v[(*n)++];
		*r = tmp;
		r->ipv4_prefix = 32;
		r->ipv6_prefix = 64;
	}
	was_default = r->rate.burst == r->rate.limit;
	r->line = (unsigned)config_setting_source_line(s);
	if (rule_fields(s, r, &burst_set, err, errsize) < 0)
		return -1;
	if (!burst_set && (was_default || r->rate.burst == 0))
		r->rate.burst = r->rate.limit; /* the default follows an overridden limit */
	return rule_check(s, r, err, errsize);
}

int op_rate_rules_parse(const void *setting, const struct op_rate_rules *base, size_t max,
			struct op_rate_rules *out, char *err, size_t errsize)
{
	const config_setting_t *list = setting;
	size_t nbase = base ? base->n : 0, n = nbase, o = 0;
	int len = list ? config_setting_length(list) : 0;
	struct op_rate_rule *v;

	out->v = NULL;
	out->n = 0;
	if (list && !config_setting_is_list(list))
		return op_conf_err(err, errsize, list,
				   "rate rules are a list: ( { ... }, { ... } )");
	v = calloc(nbase + (size_t)len + 1, sizeof(*v));
	if (v == NULL)
		return snprintf(err, errsize, "out of memory"), -1;
	if (nbase)
		memcpy(v, base->v, nbase * sizeof(*v));
	for (int i = 0; i < len; i++) {
		if (rule_one(config_setting_get_elem(list, (unsigned)i), base != NULL, v, &n, nbase,
			     max, err, errsize) < 0) {
			free(v);
			return -1;
		}
	}
	for (size_t i = 0; i < n; i++) /* drop the rules switched off */
		if (!v[i].off)
			v[o++] = v[i];
	out->v = v;
	out->n = o;
	return 0;
}

void op_rate_rules_free(struct op_rate_rules *r)
{
	free(r->v);
	r->v = NULL;
	r->n = 0;
}

/* 64-bit FNV-1a: names over-long values in keys. */
static uint64_t fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

int op_rate_key_value(char *out, size_t outsize, size_t *o, const char *value, bool lower)
{
	size_t start = *o, w = 0;

	if (start >= outsize)
		return -1; /* not even room for the NUL (an empty value wrote past out) */
	for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
		unsigned char c = lower ? (unsigned char)tolower(*p) : *p;
		bool esc = c <= 0x20 || c >= 0x7f || c == '#' || c == '%' || c == '+';

		if (w + (esc ? 3 : 1) > OP_RATE_VALUE_MAX || start + w + 4 > outsize) {
			w = OP_RATE_VALUE_MAX + 1;
			break;
		}
		if (esc)
			snprintf(out + start + w, 4, "%%%02X", c);
		else
			out[start + w] = (char)c;
		w += esc ? 3 : 1;
	}
	if (w > OP_RATE_VALUE_MAX) {
		if (start + 18 > outsize)
			return -1;
		snprintf(out + start, 18, "~%016llx", (unsigned long long)fnv1a(value));
		w = 17;
	}
	out[start + w] = '\0';
	*o = start + w;
	return 0;
}

int op_rate_client_net(const char *addr, unsigned prefix4, unsigned prefix6, char *out,
		       size_t outsize)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	uint8_t a[16];
	char text[INET6_ADDRSTRLEN];
	int family;
	unsigned prefix, bits;

	if (op_addr_parse(addr, &family, a) < 0)
		return -1;
	if (family == AF_INET6 && memcmp(a, mapped, 12) == 0) {
		memmove(a, a + 12, 4);
		memset(a + 4, 0, 12);
		family = AF_INET;
	}
	prefix = family == AF_INET ? prefix4 : prefix6;
	bits = family == AF_INET ? 32 : 128;
	for (unsigned i = prefix; i < bits; i++)
		a[i / 8] &= (uint8_t) ~(0x80u >> (i % 8));
	if (inet_ntop(family, a, text, sizeof(text)) == NULL)
		return -1;
	return snprintf(out, outsize, "%s/%u", text, prefix) < (int)outsize ? 0 : -1;
}
