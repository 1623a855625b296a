/*
 * config_value.c - typed configuration values: parse from text or from a
 * libconfig setting, format back, compare, free (see config_int.h).
 *
 * Numbers go through strtoll with end-pointer, ERANGE and bounds checks;
 * sizes and durations accept a unit suffix.  A default is parsed by the
 * same code as the file, so the table cannot hold a value the file could
 * not.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config_int.h"
#include "outpost/log.h"

static const struct unit {
	const char *suffix;
	long long mult;
} size_units[] = {{"", 1}, {"k", 1024LL}, {"m", 1024LL * 1024}, {"g", 1024LL * 1024 * 1024}},
  time_units[] = {{"", 1000},	{"ms", 1},	{"s", 1000},
		  {"m", 60000}, {"h", 3600000}, {"d", 86400000}};

/* Parse "123unit" with one of units.  0 or -1. */
static int parse_number(const char *text, const struct unit *u, size_t nu, long long *r)
{
	char *end;
	long long v;

	if (*text == '\0' || *text == ' ')
		return -1;
	errno = 0;
	v = strtoll(text, &end, 10);
	if (errno == ERANGE || end == text)
		return -1;
	for (size_t i = 0; i < nu; i++) {
		if (strcasecmp(end, u[i].suffix) != 0)
			continue;
		if (v != 0 &&
		    (v > __LONG_LONG_MAX__ / u[i].mult || v < -__LONG_LONG_MAX__ / u[i].mult))
			return -1;
		*r = v * u[i].mult;
		return 0;
	}
	return -1;
}

static int check_bounds(const struct op_conf_key *k, long long v, const char **err_r)
{
	if (v < k->min || v > k->max) {
		*err_r = "value out of range";
		return -1;
	}
	return 0;
}

/* Index of text among "a|b|c", or -1. */
static int choice_index(const char *choices, const char *text)
{
	size_t tl = strlen(text);
	int i = 0;

	for (const char *p = choices; *p; i++) {
		const char *bar = strchr(p, '|');
		size_t n = bar ? (size_t)(bar - p) : strlen(p);

		if (n == tl && strncmp(p, text, n) == 0)
			return i;
		p += n + (bar != NULL);
	}
	return -1;
}

static int parse_list(const struct op_conf_key *k, const char *text, void *dst, const char **err_r)
{
	struct op_strlist l = {0};

	/* Append, never assign: a list setting arrives one element at a time. */
	if (k->type == OP_CT_STRLIST)
		return op_strlist_split(dst, text) < 0 ? (*err_r = "out of memory", -1) : 0;
	if (op_strlist_split(&l, text) < 0) {
		*err_r = "out of memory";
		return -1;
	}
	for (size_t i = 0; i < l.n; i++) {
		struct op_cidr c;

		if (op_cidr_parse(l.v[i], &c, err_r) < 0 ||
		    op_cidr_list_add((struct op_cidr_list *)dst, &c) < 0) {
			op_strlist_free(&l);
			return -1;
		}
	}
	op_strlist_free(&l);
	return 0;
}

int op_cv_from_text(const struct op_conf_key *k, const char *text, void *dst, const char **err_r)
{
	long long v;
	char *end;
	int i;

	switch (k->type) {
	case OP_CT_BOOL:
		if (strcasecmp(text, "true") == 0 || strcasecmp(text, "yes") == 0)
			*(bool *)dst = true;
		else if (strcasecmp(text, "false") == 0 || strcasecmp(text, "no") == 0)
			*(bool *)dst = false;
		else
			return (*err_r = "expected true or false"), -1;
		return 0;
	case OP_CT_INT:
	case OP_CT_SIZE:
	case OP_CT_DURATION:
		if (parse_number(text, k->type == OP_CT_DURATION ? time_units : size_units,
				 k->type == OP_CT_DURATION ? 6 : (k->type == OP_CT_SIZE ? 4 : 1),
				 &v) < 0)
			return (*err_r = k->type == OP_CT_DURATION
					     ? "expected a time such as 30s, 5m, 250ms"
					 : k->type == OP_CT_SIZE
					     ? "expected a size such as 65536, 64K, 1M"
					     : "expected an integer"),
			       -1;
		if (check_bounds(k, v, err_r) < 0)
			return -1;
		*(long long *)dst = v;
		return 0;
	case OP_CT_MODE:
		errno = 0;
		v = strtoll(text, &end, 8);
		if (errno || end == text || *end != '\0' || check_bounds(k, v, err_r) < 0)
			return (*err_r = "expected an octal mode such as \"0660\""), -1;
		*(long long *)dst = v;
		return 0;
	case OP_CT_STRING:
		if ((*(char **)dst = strdup(text)) == NULL)
			return (*err_r = "out of memory"), -1;
		return 0;
	case OP_CT_ENUM:
	case OP_CT_ACTION:
		if ((i = choice_index(k->choices, text)) < 0)
			return (*err_r = "not one of the allowed choices"), -1;
		*(int *)dst = k->type == OP_CT_ACTION ? op_action_parse(text) : i;
		return 0;
	case OP_CT_LOGLEVEL:
		if ((i = op_log_level_parse(text)) < 0)
			return (*err_r = "expected debug, info, notice, warning or error"), -1;
		*(int *)dst = i;
		return 0;
	case OP_CT_STRLIST:
	case OP_CT_CIDRLIST:
		return parse_list(k, text, dst, err_r);
	case OP_CT_SECTION:
		break;
	}
	*err_r = "not a value";
	return -1;
}

static int setting_list(const struct op_conf_key *k, const config_setting_t *s, void *dst,
			const char **err_r)
{
	int n;

	if (config_setting_type(s) != CONFIG_TYPE_ARRAY &&
	    config_setting_type(s) != CONFIG_TYPE_LIST)
		return op_cv_from_text(
		    k, config_setting_get_string(s) ? config_setting_get_string(s) : "", dst,
		    err_r);
	n = config_setting_length(s);
	for (int i = 0; i < n; i++) {
		const char *e = config_setting_get_string_elem(s, i);

		if (e == NULL)
			return (*err_r = "list elements must be strings"), -1;
		if (strchr(e, ',') != NULL || strchr(e, ' ') != NULL)
			return (*err_r = "a list element holds a comma or a space"), -1;
		if (op_cv_from_text(k, e, dst, err_r) < 0)
			return -1;
	}
	return 0;
}

int op_cv_from_setting(const struct op_conf_key *k, const config_setting_t *s, void *dst,
		       const char **err_r)
{
	char num[32];
	int t = config_setting_type(s);

	if (k->type == OP_CT_STRLIST || k->type == OP_CT_CIDRLIST)
		return setting_list(k, s, dst, err_r);
	if (t == CONFIG_TYPE_STRING)
		return op_cv_from_text(k, config_setting_get_string(s), dst, err_r);
	if (t == CONFIG_TYPE_BOOL && k->type == OP_CT_BOOL) {
		*(bool *)dst = config_setting_get_bool(s);
		return 0;
	}
	if ((t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64) &&
	    (k->type == OP_CT_INT || k->type == OP_CT_SIZE || k->type == OP_CT_DURATION)) {
		snprintf(num, sizeof(num), "%lld", (long long)config_setting_get_int64(s));
		return op_cv_from_text(k, num, dst, err_r);
	}
	if (k->type == OP_CT_MODE)
		return (*err_r = "write the mode as a quoted octal string, e.g. \"0660\""), -1;
	*err_r = "wrong type of value";
	return -1;
}

/* Write ms as the largest exact unit. */
static void format_duration(long long ms, struct op_buf *out)
{
	static const struct unit u[] = {{"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}};

	for (size_t i = 0; i < 4; i++)
		if (ms != 0 && ms % u[i].mult == 0) {
			op_buf_printf(out, "%lld%s", ms / u[i].mult, u[i].suffix);
			return;
		}
	op_buf_printf(out, "%lldms", ms);
}

static void format_list(const struct op_conf_key *k, const void *src, struct op_buf *out)
{
	char a[64];

	op_buf_puts(out, "[");
	if (k->type == OP_CT_STRLIST) {
		const struct op_strlist *l = src;

		for (size_t i = 0; i < l->n; i++)
			op_buf_printf(out, "%s\"%s\"", i ? ", " : "", l->v[i]);
	} else {
		const struct op_cidr_list *l = src;

		for (size_t i = 0; i < l->n; i++) {
			inet_ntop(l->v[i].family, l->v[i].addr, a, sizeof(a));
			op_buf_printf(out, "%s\"%s/%u\"", i ? ", " : "", a, l->v[i].prefix);
		}
	}
	op_buf_puts(out, "]");
}

void op_cv_format(const struct op_conf_key *k, const void *src, struct op_buf *out)
{
	static const char *const levels[] = {"error",	"error",  "error", "error",
					     "warning", "notice", "info",  "debug"};
	switch (k->type) {
	case OP_CT_BOOL:
		op_buf_puts(out, *(const bool *)src ? "true" : "false");
		break;
	case OP_CT_INT:
		op_buf_printf(out, "%lld", *(const long long *)src);
		break;
	case OP_CT_SIZE:
		op_buf_printf(out, "%lld", *(const long long *)src);
		break;
	case OP_CT_DURATION:
		op_buf_putc(out, '"');
		format_duration(*(const long long *)src, out);
		op_buf_putc(out, '"');
		break;
	case OP_CT_MODE:
		op_buf_printf(out, "\"%04llo\"", *(const long long *)src);
		break;
	case OP_CT_STRING:
		op_buf_printf(out, "\"%s\"", *(char *const *)src ? *(char *const *)src : "");
		break;
	case OP_CT_ACTION:
		op_buf_printf(out, "\"%s\"", op_action_name(*(const int *)src));
		break;
	case OP_CT_ENUM: {
		const char *p = k->choices;

		for (int i = *(const int *)src; i > 0 && strchr(p, '|'); i--)
			p = strchr(p, '|') + 1;
		op_buf_printf(out, "\"%.*s\"", (int)strcspn(p, "|"), p);
		break;
	}
	case OP_CT_LOGLEVEL:
		op_buf_printf(out, "\"%s\"", levels[*(const int *)src & 7]);
		break;
	case OP_CT_STRLIST:
	case OP_CT_CIDRLIST:
		format_list(k, src, out);
		break;
	case OP_CT_SECTION:
		break;
	}
}

bool op_cv_equal(const struct op_conf_key *k, const void *a, const void *b)
{
	struct op_buf x, y;
	bool eq;

	op_buf_init(&x, 1 << 20);
	op_buf_init(&y, 1 << 20);
	op_cv_format(k, a, &x);
	op_cv_format(k, b, &y);
	eq = strcmp(op_buf_str(&x), op_buf_str(&y)) == 0;
	op_buf_free(&x);
	op_buf_free(&y);
	return eq;
}

void op_cv_free(const struct op_conf_key *k, void *dst)
{
	switch (k->type) {
	case OP_CT_STRING:
		free(*(char **)dst);
		*(char **)dst = NULL;
		break;
	case OP_CT_STRLIST:
		op_strlist_free(dst);
		break;
	case OP_CT_CIDRLIST:
		op_cidr_list_free(dst);
		break;
	default:
		break;
	}
}

int op_strlist_add(struct op_strlist *l, const char *s)
{
	char **v = realloc(l->v, (l->n + 2) * sizeof(*v));

	if (v == NULL)
		return -1;
	l->v = v;
	if ((v[l->n] = strdup(s)) == NULL)
		return -1;
	v[++l->n] = NULL;
	return 0;
}

int op_strlist_split(struct op_strlist *l, const char *text)
{
	const char *sep = ", \t";

	for (const char *p = text + strspn(text, sep); *p; p += strspn(p, sep)) {
		size_t n = strcspn(p, sep);
		char *w = strndup(p, n);

		if (w == NULL || op_strlist_add(l, w) < 0) {
			free(w);
			return -1;
		}
		free(w);
		p += n;
	}
	return 0;
}

void op_strlist_free(struct op_strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}
