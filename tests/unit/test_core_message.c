/*
 * test_core_message.c - queued header edits and the header list as it will
 * leave (plugin/message.c, include/outpost/message.h).
 *
 * op_msg_final_headers() must replay edits exactly as the MTA applies the
 * milter's requests, because the DKIM module signs its result:
 *   ADD     appends (smfi_addheader)
 *   INSERT  puts the header before the index-th one, 0 = top; an index past
 *           the end appends (smfi_insheader(3))
 *   CHANGE  replaces the value of the nth header of that name, counted
 *           case-insensitively over the list as edited so far; when there
 *           is no nth one the MTA appends the header instead (smfi_chgheader(3);
 *           Postfix cleanup_upd_header()), and index 0 means 1 (Postfix
 *           milter8.c, "Sendmail 8 compatibility")
 *   DELETE  removes the nth header of that name (0 means 1); none: nothing
 *           happens
 */
#include "config.h"

#include "unit.h"

#include <stdbool.h>
#include <stdlib.h>

#include "outpost/buf.h"
#include "outpost/message.h"
#include "outpost/pool.h"

/* ---- op_field_name_valid ----------------------------------------------- */

/* clang-format off */
static const struct {
	const char *name;
	size_t n;
	bool want;
} field_rows[] = {
	{"From", 4, true},
	{"X-Spam-Flag", 11, true},
	{"a", 1, true},
	{"!#$%&'*+-./=?^_`{|}~", 20, true},  /* every special that is allowed */
	{"0123456789", 10, true},
	{"From:", 4, true},                  /* n excludes the colon */
	{"", 0, false},
	{"From:", 5, false},
	{":", 1, false},
	{"Fr om", 5, false},
	{" From", 5, false},
	{"From ", 5, false},
	{"Tab\t", 4, false},
	{"X-\177", 3, false},
	{"X-T\xc3\xa9st", 7, false},
	{"x\0y", 3, false},
	{"Line\r\n", 6, false},
};
/* clang-format on */

static void test_field_name_valid_accepts_printable_ascii_except_colon(void **state)
{
	char label[64];

	for (size_t r = 0; r < NROWS(field_rows); r++) {
		snprintf(label, sizeof(label), "\"%s\" (%zu bytes)",
			 unit_esc(field_rows[r].name, field_rows[r].n), field_rows[r].n);
		WANT_INT(label, op_field_name_valid(field_rows[r].name, field_rows[r].n),
			 field_rows[r].want);
	}
}

/* ---- op_msg_edit -------------------------------------------------------- */

/* A message with its own pool and nothing else. */
static struct op_msg *msg_new(void)
{
	struct op_msg *m = calloc(1, sizeof(*m));

	assert_non_null(m);
	m->pool = op_pool_new();
	assert_non_null(m->pool);
	return m;
}

static void msg_free(struct op_msg **m)
{
	op_pool_free(&(*m)->pool);
	free(*m);
	*m = NULL;
}

/* clang-format off */
static const struct {
	const char *label;
	enum op_edit_kind kind;
	const char *name, *value;
	int want;
	const char *err; /* part of the error text */
} edit_rows[] = {
	{"plain add", OP_EDIT_ADD, "X-Outpost", "ok", 0, NULL},
	{"empty value", OP_EDIT_ADD, "X-Outpost", "", 0, NULL},
	{"CRLF TAB fold", OP_EDIT_ADD, "X-Outpost", "a;\r\n\tb=c", 0, NULL},
	{"CRLF SP fold", OP_EDIT_INSERT, "X-Outpost", "a;\r\n b=c", 0, NULL},
	{"two folds", OP_EDIT_CHANGE, "X-Outpost", "a\r\n\tb\r\n c", 0, NULL},
	{"delete without value", OP_EDIT_DELETE, "X-Outpost", NULL, 0, NULL},
	{"name with space", OP_EDIT_ADD, "X Outpost", "v", -1, "field name"},
	{"name with colon", OP_EDIT_ADD, "X-Outpost:", "v", -1, "field name"},
	{"empty name", OP_EDIT_ADD, "", "v", -1, "field name"},
	{"8-bit name", OP_EDIT_ADD, "X-Caf\xc3\xa9", "v", -1, "field name"},
	{"name with TAB", OP_EDIT_DELETE, "X-Outpost\t", NULL, -1, "field name"},
	{"name with DEL", OP_EDIT_CHANGE, "X-\177", "v", -1, "field name"},
	{"bare LF", OP_EDIT_ADD, "X-Outpost", "a\nb", -1, "CR or LF"},
	{"bare CR", OP_EDIT_ADD, "X-Outpost", "a\rb", -1, "CR or LF"},
	{"LF then WSP", OP_EDIT_ADD, "X-Outpost", "a\n\tb", -1, "CR or LF"},
	{"CRLF without WSP", OP_EDIT_ADD, "X-Outpost", "a\r\nb", -1, "CR or LF"},
	{"trailing CRLF", OP_EDIT_ADD, "X-Outpost", "a\r\n", -1, "CR or LF"},
	{"CR CRLF SP", OP_EDIT_ADD, "X-Outpost", "a\r\r\n b", -1, "CR or LF"},
	{"LF CR", OP_EDIT_ADD, "X-Outpost", "a\n\r b", -1, "CR or LF"},
	{"CRLF CRLF SP", OP_EDIT_ADD, "X-Outpost", "a\r\n\r\n b", -1, "CR or LF"},
	{"add without value", OP_EDIT_ADD, "X-Outpost", NULL, -1, "CR or LF"},
};
/* clang-format on */

static void test_msg_edit_refuses_bad_names_and_bare_cr_lf_but_accepts_folds(void **state)
{
	for (size_t r = 0; r < NROWS(edit_rows); r++) {
		struct op_msg *m = msg_new();
		const char *err = NULL;
		char name[64], value[64];

		/* The message keeps copies: the caller's strings may go away. */
		op_strlcpy(name, edit_rows[r].name, sizeof(name));
		if (edit_rows[r].value)
			op_strlcpy(value, edit_rows[r].value, sizeof(value));
		WANT_INT(edit_rows[r].label,
			 op_msg_edit(m, edit_rows[r].kind, name, edit_rows[r].value ? value : NULL,
				     1, "test", &err),
			 edit_rows[r].want);
		if (edit_rows[r].want < 0) {
			WANT_CONTAINS(edit_rows[r].label, err, edit_rows[r].err);
			WANT_SIZE(edit_rows[r].label, m->nedits, 0);
		} else {
			memset(name, 'Z', sizeof(name));
			memset(value, 'Z', sizeof(value));
			WANT_SIZE(edit_rows[r].label, m->nedits, 1);
			WANT_STR(edit_rows[r].label, m->edits[0].name, edit_rows[r].name);
			WANT_STR(edit_rows[r].label, m->edits[0].value, edit_rows[r].value);
			WANT_INT(edit_rows[r].label, m->edits[0].kind, edit_rows[r].kind);
			WANT_STR(edit_rows[r].label, m->edits[0].module, "test");
		}
		msg_free(&m);
	}
}

static void test_msg_edit_keeps_many_edits_in_order(void **state)
{
	struct op_msg *m = msg_new();
	char name[32], label[32];
	const char *err;

	for (unsigned i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "X-%u", i);
		WANT_INT(name, op_msg_edit(m, OP_EDIT_ADD, name, name, 0, "test", &err), 0);
	}
	WANT_SIZE("edits queued", m->nedits, 1000);
	for (unsigned i = 0; i < 1000; i++) {
		snprintf(label, sizeof(label), "edit %u", i);
		snprintf(name, sizeof(name), "X-%u", i);
		WANT_STR(label, m->edits[i].name, name);
	}
	msg_free(&m);
}

/* ---- op_msg_final_headers -------------------------------------------- */

/* Received headers of every scenario, values as libmilter gives them. */
/* clang-format off */
static const struct op_header received[] = {
	{"Received", " from a.example by b.example", 0},
	{"From", " <alice@example.org>", 0},
	{"X-A", " 1", 0},
	{"Subject", " hello", 0},
	{"X-A", " 2", 0},
	{"x-a", " 3", 0},
};
/* clang-format on */

#define BASE                                                                                       \
	"Received: from a.example by b.example|From: <alice@example.org>|X-A: 1|Subject: "         \
	"hello|X-A: 2|x-a: 3"

struct edit {
	enum op_edit_kind kind;
	const char *name, *value;
	unsigned index;
};

#define MAXEDITS 6

/* clang-format off */
static const struct {
	const char *label;
	struct edit e[MAXEDITS];
	const char *want; /* "Name:value|Name:value|..." */
} final_rows[] = {
	{"no edits", {{0}}, BASE},
	{"add appends",
	 {{OP_EDIT_ADD, "X-New", "v", 0}},
	 BASE "|X-New: v"},
	{"insert 0 goes on top",
	 {{OP_EDIT_INSERT, "X-Top", "t", 0}},
	 "X-Top: t|" BASE},
	{"insert 2 goes before the third",
	 {{OP_EDIT_INSERT, "X-Mid", "m", 2}},
	 "Received: from a.example by b.example|From: <alice@example.org>|X-Mid: m|X-A: 1|"
	 "Subject: hello|X-A: 2|x-a: 3"},
	{"insert at the count appends",
	 {{OP_EDIT_INSERT, "X-End", "e", 6}},
	 BASE "|X-End: e"},
	{"insert past the end appends",
	 {{OP_EDIT_INSERT, "X-Far", "f", 1000}},
	 BASE "|X-Far: f"},
	{"change 1 is the first of that name",
	 {{OP_EDIT_CHANGE, "X-A", "one", 1}},
	 "Received: from a.example by b.example|From: <alice@example.org>|X-A: one|Subject: hello|"
	 "X-A: 2|x-a: 3"},
	{"change counts names case-insensitively",
	 {{OP_EDIT_CHANGE, "X-A", "three", 3}},
	 "Received: from a.example by b.example|From: <alice@example.org>|X-A: 1|Subject: hello|"
	 "X-A: 2|x-a: three"},
	{"change keeps folds",
	 {{OP_EDIT_CHANGE, "subject", "new\r\n\tsubject", 1}},
	 "Received: from a.example by b.example|From: <alice@example.org>|X-A: 1|"
	 "Subject: new\r\n\tsubject|X-A: 2|x-a: 3"},
	{"change of a missing nth header appends it",
	 {{OP_EDIT_CHANGE, "X-A", "four", 4}},
	 BASE "|X-A: four"},
	{"change of an absent name appends it",
	 {{OP_EDIT_CHANGE, "X-None", "n", 1}},
	 BASE "|X-None: n"},
	{"change index 0 means the first",
	 {{OP_EDIT_CHANGE, "From", "<bob@example.org>", 0}},
	 "Received: from a.example by b.example|From: <bob@example.org>|X-A: 1|Subject: hello|"
	 "X-A: 2|x-a: 3"},
	{"delete 2 removes the second",
	 {{OP_EDIT_DELETE, "x-A", NULL, 2}},
	 "Received: from a.example by b.example|From: <alice@example.org>|X-A: 1|Subject: hello|"
	 "x-a: 3"},
	{"delete index 0 means the first",
	 {{OP_EDIT_DELETE, "Received", NULL, 0}},
	 "From: <alice@example.org>|X-A: 1|Subject: hello|X-A: 2|x-a: 3"},
	{"delete of a missing nth header does nothing",
	 {{OP_EDIT_DELETE, "X-A", NULL, 4}},
	 BASE},
	{"delete of an absent name does nothing",
	 {{OP_EDIT_DELETE, "X-None", NULL, 1}},
	 BASE},
	{"delete 1 twice removes the first two",
	 {{OP_EDIT_DELETE, "X-A", NULL, 1}, {OP_EDIT_DELETE, "X-A", NULL, 1}},
	 "Received: from a.example by b.example|From: <alice@example.org>|Subject: hello|x-a: 3"},
	{"insert index counts the list after an earlier delete",
	 {{OP_EDIT_DELETE, "Received", NULL, 1}, {OP_EDIT_INSERT, "X-I", "i", 1}},
	 "From: <alice@example.org>|X-I: i|X-A: 1|Subject: hello|X-A: 2|x-a: 3"},
	{"edits see headers added by earlier edits",
	 {{OP_EDIT_ADD, "X-B", "b1", 0},
	  {OP_EDIT_INSERT, "X-B", "b0", 0},
	  {OP_EDIT_CHANGE, "X-B", "b1-changed", 2},
	  {OP_EDIT_DELETE, "X-B", NULL, 1}},
	 BASE "|X-B: b1-changed"},
	{"insert then change the inserted one",
	 {{OP_EDIT_INSERT, "X-A", "0", 0}, {OP_EDIT_CHANGE, "X-A", "zero", 1}},
	 "X-A: zero|" BASE},
	{"delete everything of a name, then add it",
	 {{OP_EDIT_DELETE, "X-A", NULL, 3},
	  {OP_EDIT_DELETE, "X-A", NULL, 2},
	  {OP_EDIT_DELETE, "X-A", NULL, 1},
	  {OP_EDIT_ADD, "X-A", "only", 0}},
	 "Received: from a.example by b.example|From: <alice@example.org>|Subject: hello|X-A: only"},
};
/* clang-format on */

/* "Name:value|..." of v, checking value_len on the way. */
static void render(const char *label, const struct op_header *v, size_t n, char *out,
		   size_t outsize)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		WANT_SIZE(label, v[i].value_len, strlen(v[i].value));
		o += (size_t)snprintf(out + o, outsize - o, "%s%s:%s", i ? "|" : "", v[i].name,
				      v[i].value);
		assert_true(o < outsize);
	}
}

static void test_final_headers_apply_edits_in_order_as_the_mta_does(void **state)
{
	for (size_t r = 0; r < NROWS(final_rows); r++) {
		struct op_msg *m = msg_new();
		struct op_header hdrs[NROWS(received)], *out = NULL;
		size_t n = 0;
		char got[1024], before[1024];
		const char *err = NULL;

		memcpy(hdrs, received, sizeof(hdrs));
		for (size_t i = 0; i < NROWS(hdrs); i++)
			hdrs[i].value_len = strlen(hdrs[i].value);
		m->hdrs = hdrs;
		m->nhdrs = m->hdr_cap = NROWS(hdrs);
		for (size_t i = 0; i < MAXEDITS && final_rows[r].e[i].name != NULL; i++) {
			const struct edit *e = &final_rows[r].e[i];

			if (op_msg_edit(m, e->kind, e->name, e->value, e->index, "test", &err) !=
			    0) {
				print_error("%s: edit %zu refused: %s\n", final_rows[r].label, i,
					    err);
				fail();
			}
		}
		render(final_rows[r].label, m->hdrs, m->nhdrs, before, sizeof(before));
		WANT_INT(final_rows[r].label, op_msg_final_headers(m, &out, &n), 0);
		render(final_rows[r].label, out, n, got, sizeof(got));
		WANT_STR(final_rows[r].label, got, final_rows[r].want);
		/* The received list itself is left alone. */
		WANT_STR(final_rows[r].label, before, BASE);
		render(final_rows[r].label, m->hdrs, m->nhdrs, before, sizeof(before));
		WANT_STR(final_rows[r].label, before, BASE);
		msg_free(&m);
	}
}

static void test_final_headers_of_an_empty_message_are_the_added_ones(void **state)
{
	struct op_msg *m = msg_new();
	struct op_header *out = NULL;
	size_t n = 99;
	const char *err;
	char got[256];

	WANT_INT("no headers, no edits", op_msg_final_headers(m, &out, &n), 0);
	WANT_SIZE("no headers, no edits", n, 0);
	assert_int_equal(op_msg_edit(m, OP_EDIT_DELETE, "X-A", NULL, 1, "test", &err), 0);
	assert_int_equal(op_msg_edit(m, OP_EDIT_INSERT, "X-B", "b", 5, "test", &err), 0);
	assert_int_equal(op_msg_edit(m, OP_EDIT_INSERT, "X-A", "a", 0, "test", &err), 0);
	WANT_INT("edits only", op_msg_final_headers(m, &out, &n), 0);
	render("edits only", out, n, got, sizeof(got));
	WANT_STR("edits only", got, "X-A: a|X-B: b");
	msg_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_field_name_valid_accepts_printable_ascii_except_colon),
	    cmocka_unit_test(test_msg_edit_refuses_bad_names_and_bare_cr_lf_but_accepts_folds),
	    cmocka_unit_test(test_msg_edit_keeps_many_edits_in_order),
	    cmocka_unit_test(test_final_headers_apply_edits_in_order_as_the_mta_does),
	    cmocka_unit_test(test_final_headers_of_an_empty_message_are_the_added_ones),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
