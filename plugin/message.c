/*
 * message.c - the message's header list and its queued edits
 * (see include/outpost/message.h).
 *
 * Edits are replayed on a copy of the received header list in the order
 * they were queued, the way the MTA applies smfi_addheader (append),
 * smfi_insheader (insert at index) and smfi_chgheader (change or delete the
 * nth occurrence), so the DKIM module sees the message that will leave.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "outpost/message.h"
#include "outpost/pool.h"

static const char *const class_names[] = {
    [OP_CLASS_EXTERNAL] = "external",
    [OP_CLASS_AUTH] = "auth",
    [OP_CLASS_HOST] = "host",
    [OP_CLASS_DAEMON] = "daemon",
};

const char *op_class_name(enum op_class c)
{
	return (c >= OP_CLASS_EXTERNAL && c <= OP_CLASS_DAEMON) ? class_names[c] : "?";
}

bool op_field_name_valid(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 33 || c > 126 || c == ':')
			return false;
	}
	return true;
}

/* A value may fold (CRLF followed by SP or TAB) but carries no bare CR or
 * LF and no NUL. */
static bool edit_value_valid(const char *v)
{
	for (const char *p = v; *p != '\0'; p++) {
		if (*p == '\r') {
			if (p[1] != '\n' || (p[2] != ' ' && p[2] != '\t'))
				return false;
			p++;
		} else if (*p == '\n') {
			return false;
		}
	}
	return true;
}

int op_msg_edit(struct op_msg *m, enum op_edit_kind kind, const char *name, const char *value,
		unsigned index, const char *module, const char **err_r)
{
	struct op_edit *e;

	if (!op_field_name_valid(name, strlen(name))) {
		*err_r = "header name is not an RFC 5322 field name";
		return -1;
	}
	if (kind != OP_EDIT_DELETE && (value == NULL || !edit_value_valid(value))) {
		*err_r = "header value has a bare CR or LF";
		return -1;
	}
	if (m->nedits == m->edit_cap) {
		size_t ncap = m->edit_cap ? m->edit_cap * 2 : 8;
		struct op_edit *v = op_pool_alloc(m->pool, ncap * sizeof(*v));

		if (v == NULL) {
			*err_r = "out of memory";
			return -1;
		}
		if (m->nedits)
			memcpy(v, m->edits, m->nedits * sizeof(*v));
		m->edits = v;
		m->edit_cap = ncap;
	}
	e = &m->edits[m->nedits];
	e->kind = kind;
	e->name = op_pool_strdup(m->pool, name);
	e->value = kind == OP_EDIT_DELETE ? NULL : op_pool_strdup(m->pool, value);
	e->index = index;
	e->module = module;
	if (e->name == NULL || (kind != OP_EDIT_DELETE && e->value == NULL)) {
		*err_r = "out of memory";
		return -1;
	}
	m->nedits++;
	return 0;
}

const struct op_header *op_msg_header(const struct op_msg *m, const char *name, unsigned nth)
{
	for (size_t i = 0; i < m->nhdrs; i++)
		if (strcasecmp(m->hdrs[i].name, name) == 0 && --nth == 0)
			return &m->hdrs[i];
	return NULL;
}

unsigned op_msg_header_count(const struct op_msg *m, const char *name)
{
	unsigned n = 0;

	for (size_t i = 0; i < m->nhdrs; i++)
		if (strcasecmp(m->hdrs[i].name, name) == 0)
			n++;
	return n;
}

/* Index in v[0..n) of the nth header called name, or n. */
static size_t final_find(const struct op_header *v, size_t n, const char *name, unsigned nth)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(v[i].name, name) == 0 && --nth == 0)
			return i;
	return n;
}

/* Apply one edit to v (n entries, room for one more). */
static void final_apply(struct op_header *v, size_t *n, const struct op_edit *e, const char *val)
{
	size_t at;

	switch (e->kind) {
	case OP_EDIT_ADD:
	case OP_EDIT_INSERT:
		at = e->kind == OP_EDIT_ADD || e->index > *n ? *n : e->index;
		memmove(&v[at + 1], &v[at], (*n - at) * sizeof(*v));
		v[at].name = e->name;
		v[at].value = val;
		v[at].value_len = strlen(val);
		(*n)++;
		break;
	case OP_EDIT_CHANGE:
		/* Like the MTA: index 0 means 1, and when there is no nth header
		 * the change appends one (smfi_chgheader(3), Postfix
		 * cleanup_upd_header()). */
		at = final_find(v, *n, e->name, e->index ? e->index : 1);
		if (at == *n)
			v[(*n)++].name = e->name;
		v[at].value = val;
		v[at].value_len = strlen(val);
		break;
	case OP_EDIT_DELETE:
		at = final_find(v, *n, e->name, e->index ? e->index : 1);
		if (at < *n) {
			memmove(&v[at], &v[at + 1], (*n - at - 1) * sizeof(*v));
			(*n)--;
		}
		break;
	}
}

int op_msg_final_headers(struct op_msg *m, struct op_header **out_r, size_t *n_r)
{
	struct op_header *v = op_pool_alloc(m->pool, (m->nhdrs + m->nedits + 1) * sizeof(*v));
	size_t n = m->nhdrs;

	if (v == NULL)
		return -1;
	if (n)
		memcpy(v, m->hdrs, n * sizeof(*v));
	for (size_t i = 0; i < m->nedits; i++) {
		const struct op_edit *e = &m->edits[i];
		const char *val = NULL;

		if (e->kind != OP_EDIT_DELETE) {
			/* Delivered as "Name: value": the leading space is ours. */
			size_t len = strlen(e->value);
			char *s = op_pool_alloc(m->pool, len + 2);

			if (s == NULL)
				return -1;
			s[0] = ' ';
			memcpy(s + 1, e->value, len + 1);
			val = s;
		}
		final_apply(v, &n, e, val);
	}
	*out_r = v;
	*n_r = n;
	return 0;
}

void op_msg_summary(struct op_msg *m, size_t modidx, const char *fmt, ...)
{
	va_list ap;

	if (modidx >= OP_MOD_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(m->summary[modidx], sizeof(m->summary[modidx]), fmt, ap);
	va_end(ap);
}
