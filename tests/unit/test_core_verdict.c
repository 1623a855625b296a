/*
 * test_core_verdict.c - verdicts and SMTP replies (plugin/verdict.c,
 * include/outpost/verdict.h).
 *
 * The promise under test: nothing malformed ever reaches the MTA.  Every
 * TEMPFAIL or REJECT carries a 4xx or 5xx code whose class matches the
 * action and the enhanced code, the text is printable ASCII without CR or
 * LF with '%' doubled, and errors map to actions in one place.
 */
#include "config.h"

#include "unit.h"

#include <stdbool.h>
#include <stdlib.h>

#include "outpost/config.h"
#include "outpost/verdict.h"

static const char *act(int a)
{
	return op_action_name((enum op_action)a);
}

#define WANT_ACT(label, got, want) WANT_STR(label, act(got), act(want))

/* The reply of v is well formed and printable. */
static void want_printable(const char *label, const struct op_verdict *v)
{
	for (const char *p = v->text; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f) {
			print_error("%s: reply text \"%s\" holds byte 0x%02x\n", label,
				    unit_esc(v->text, strlen(v->text)), (unsigned char)*p);
			fail();
		}
}

/* ---- op_reply_valid --------------------------------------------------- */

/* clang-format off */
static const struct {
	const char *rcode, *xcode, *text;
	bool want;
} valid_rows[] = {
	/* good */
	{"451", "4.7.1", "Try again later", true},
	{"550", "5.7.23", "SPF validation failed", true},
	{"421", "4.3.2", "", true},
	{"554", "5.7.1", "quotes \" and 'and' ~ are printable", true},
	{"452", "4.123.456", "three digits each", true},
	{"450", "4.2.0", "100%% doubled", true},
	/* class digits that do not match */
	{"451", "5.7.1", "mismatch", false},
	{"550", "4.7.1", "mismatch", false},
	/* 2xx and 3xx are not milter replies */
	{"250", "2.0.0", "ok", false},
	{"221", "2.0.0", "bye", false},
	{"354", "3.0.0", "go ahead", false},
	/* bad reply codes */
	{"45", "4.7.1", "short", false},
	{"4511", "4.7.1", "long", false},
	{"4a1", "4.7.1", "letter", false},
	{"650", "6.0.0", "class 6", false},
	{"", "", "empty", false},
	/* bad enhanced codes */
	{"451", "4.7", "two parts", false},
	{"451", "4.1000.1", "four-digit subject", false},
	{"451", "4.1.1000", "four-digit detail", false},
	{"451", "6.0.0", "class 6", false},
	{"451", "4..1", "empty subject", false},
	{"451", "4.7.", "empty detail", false},
	{"451", ".4.7.1", "leading dot", false},
	{"451", "4.7.1.", "trailing dot", false},
	{"451", "4.7.1.1", "four parts", false},
	{"451", "4.a.1", "letter", false},
	{"451", "4-7-1", "dashes", false},
	{"451", "44.7.1", "two-digit class", false},
	{"451", "4.7.1 ", "trailing space", false},
	{"451", "", "missing", false},
	/* control characters in the text */
	{"451", "4.7.1", "line\r\nbreak", false},
	{"451", "4.7.1", "bare\nLF", false},
	{"451", "4.7.1", "bare\rCR", false},
	{"451", "4.7.1", "tab\there", false},
	{"451", "4.7.1", "DEL\177", false},
	{"451", "4.7.1", "8-bit caf\xc3\xa9", false},
	{"451", "4.7.1", "\001", false},
};
/* clang-format on */

static void test_reply_valid_accepts_only_matching_4xx_5xx_with_printable_text(void **state)
{
	char label[128];

	for (size_t r = 0; r < NROWS(valid_rows); r++) {
		snprintf(label, sizeof(label), "\"%s\" \"%s\" \"%s\"", valid_rows[r].rcode,
			 valid_rows[r].xcode,
			 unit_esc(valid_rows[r].text, strlen(valid_rows[r].text)));
		WANT_INT(
		    label,
		    op_reply_valid(valid_rows[r].rcode, valid_rows[r].xcode, valid_rows[r].text),
		    valid_rows[r].want);
	}
}

/* ---- op_verdict_set ---------------------------------------------------- */

/* clang-format off */
static const struct {
	enum op_action a;
	const char *rcode, *xcode;
	int ret;
	const char *want_rcode, *want_xcode;
} set_rows[] = {
	{OP_ACT_TEMPFAIL, "451", "4.7.1", 0, "451", "4.7.1"},
	{OP_ACT_TEMPFAIL, "421", "4.3.2", 0, "421", "4.3.2"},
	{OP_ACT_REJECT, "550", "5.7.23", 0, "550", "5.7.23"},
	{OP_ACT_REJECT, "554", "5.7.1", 0, "554", "5.7.1"},
	/* malformed: the standard reply of the action instead */
	{OP_ACT_TEMPFAIL, "451", "5.7.1", -1, "451", "4.3.0"},
	{OP_ACT_TEMPFAIL, "451", "4.7", -1, "451", "4.3.0"},
	{OP_ACT_TEMPFAIL, "", "", -1, "451", "4.3.0"},
	{OP_ACT_TEMPFAIL, NULL, NULL, -1, "451", "4.3.0"},
	{OP_ACT_TEMPFAIL, "250", "2.0.0", -1, "451", "4.3.0"},
	{OP_ACT_TEMPFAIL, "4511", "4.7.1", -1, "451", "4.3.0"},
	{OP_ACT_REJECT, "550", "4.7.1", -1, "550", "5.7.1"},
	{OP_ACT_REJECT, "550", "5.1000.1", -1, "550", "5.7.1"},
	{OP_ACT_REJECT, "550", "6.0.0", -1, "550", "5.7.1"},
	{OP_ACT_REJECT, NULL, NULL, -1, "550", "5.7.1"},
	{OP_ACT_REJECT, "354", "3.0.0", -1, "550", "5.7.1"},
	{OP_ACT_REJECT, "5501", "5.7.1", -1, "550", "5.7.1"},
	/* well formed, but the wrong class for the action: a TEMPFAIL sent
	 * with a 5xx reply would be a permanent rejection at the MTA */
	{OP_ACT_TEMPFAIL, "550", "5.7.1", -1, "451", "4.3.0"},
	{OP_ACT_REJECT, "451", "4.7.1", -1, "550", "5.7.1"},
	/* actions without a reply keep whatever they were given */
	{OP_ACT_ACCEPT, NULL, NULL, 0, "", ""},
	{OP_ACT_HOLD, NULL, NULL, 0, "", ""},
	{OP_ACT_CONTINUE, NULL, NULL, 0, "", ""},
};
/* clang-format on */

static void test_verdict_set_falls_back_to_standard_reply_on_malformed_codes(void **state)
{
	char label[128];

	for (size_t r = 0; r < NROWS(set_rows); r++) {
		struct op_verdict v;

		snprintf(label, sizeof(label), "%s %s %s", act(set_rows[r].a),
			 set_rows[r].rcode ? set_rows[r].rcode : "NULL",
			 set_rows[r].xcode ? set_rows[r].xcode : "NULL");
		op_verdict_clear(&v);
		WANT_INT(label,
			 op_verdict_set(&v, set_rows[r].a, set_rows[r].rcode, set_rows[r].xcode,
					"text %d", (int)r),
			 set_rows[r].ret);
		WANT_ACT(label, v.action, set_rows[r].a);
		WANT_STR(label, v.rcode, set_rows[r].want_rcode);
		WANT_STR(label, v.xcode, set_rows[r].want_xcode);
		if (v.action == OP_ACT_TEMPFAIL || v.action == OP_ACT_REJECT)
			WANT_INT(label, op_reply_valid(v.rcode, v.xcode, v.text), true);
	}
}

/* clang-format off */
static const struct {
	const char *name, *in, *text;
} sanitise_rows[] = {
	{"plain text is kept", "Message refused", "Message refused"},
	{"CR LF become spaces", "line1\r\nline2", "line1  line2"},
	{"bare LF becomes a space", "a\nb", "a b"},
	{"TAB becomes a space", "\tx", " x"},
	{"percent is doubled", "100% sure", "100%% sure"},
	{"double percent is doubled again", "%%", "%%%%"},
	{"8-bit bytes become spaces", "caf\xc3\xa9", "caf  "},
	{"DEL becomes a space", "a\177b", "a b"},
	{"ESC becomes a space", "\033[1m", " [1m"},
	{"empty text", "", ""},
};
/* clang-format on */

static void test_verdict_set_sanitises_text_for_the_mta(void **state)
{
	for (size_t r = 0; r < NROWS(sanitise_rows); r++) {
		struct op_verdict v;

		op_verdict_clear(&v);
		WANT_INT(
		    sanitise_rows[r].name,
		    op_verdict_set(&v, OP_ACT_REJECT, "550", "5.7.1", "%s", sanitise_rows[r].in),
		    0);
		WANT_STR(sanitise_rows[r].name, v.text, sanitise_rows[r].text);
		/* The log keeps what was meant (escaped when logged). */
		WANT_STR(sanitise_rows[r].name, v.reason, sanitise_rows[r].in);
		want_printable(sanitise_rows[r].name, &v);
	}
}

static void test_verdict_set_truncates_long_text_without_splitting_a_percent_pair(void **state)
{
	/* clang-format off */
	static const char fill[] = {'%', 'x', '\n'};
	/* clang-format on */
	char in[1000];

	for (size_t f = 0; f < NROWS(fill); f++) {
		struct op_verdict v;
		char label[64];
		size_t n;

		memset(in, fill[f], sizeof(in) - 1);
		in[sizeof(in) - 1] = '\0';
		snprintf(label, sizeof(label), "999 times 0x%02x", (unsigned char)fill[f]);
		op_verdict_clear(&v);
		op_verdict_set(&v, OP_ACT_TEMPFAIL, "451", "4.7.1", "%s", in);
		n = strlen(v.text);
		if (n >= sizeof(v.text) || n < sizeof(v.text) - 3) {
			print_error("%s: got text length %zu, want %zu..%zu\n", label, n,
				    sizeof(v.text) - 3, sizeof(v.text) - 1);
			fail();
		}
		if (fill[f] == '%')
			WANT_INT(label, n % 2, 0);
		WANT_INT(label, op_reply_valid(v.rcode, v.xcode, v.text), true);
		want_printable(label, &v);
		WANT_SIZE(label, strlen(v.reason), sizeof(v.reason) - 1);
	}
}

/* ---- op_verdict_error ------------------------------------------------- */

/* clang-format off */
static const struct {
	int configured; /* cfg->on_error[c]; -1 = no config at all */
	const char *detail;
	enum op_action action;
	const char *rcode, *xcode;
} error_rows[] = {
	{OP_ACT_TEMPFAIL, "4.3", OP_ACT_TEMPFAIL, "451", "4.4.3"},
	{OP_ACT_TEMPFAIL, "3.0", OP_ACT_TEMPFAIL, "451", "4.3.0"},
	{OP_ACT_REJECT, "7.1", OP_ACT_REJECT, "550", "5.7.1"},
	{OP_ACT_REJECT, "3.4", OP_ACT_REJECT, "550", "5.3.4"},
	{OP_ACT_ACCEPT, "3.0", OP_ACT_ACCEPT, "", ""},
	/* not a valid setting: the safe default (the client retries) */
	{OP_ACT_CONTINUE, "3.0", OP_ACT_TEMPFAIL, "451", "4.3.0"},
	{OP_ACT_HOLD, "3.0", OP_ACT_TEMPFAIL, "451", "4.3.0"},
	{OP_ACT_DISCARD, "3.0", OP_ACT_TEMPFAIL, "451", "4.3.0"},
	{99, "3.0", OP_ACT_TEMPFAIL, "451", "4.3.0"},
	{-1, "4.4", OP_ACT_TEMPFAIL, "451", "4.4.4"},
	/* a malformed detail still gives a well-formed reply */
	{OP_ACT_TEMPFAIL, "x", OP_ACT_TEMPFAIL, "451", "4.3.0"},
	{OP_ACT_REJECT, "7", OP_ACT_REJECT, "550", "5.7.1"},
	{OP_ACT_REJECT, "", OP_ACT_REJECT, "550", "5.7.1"},
};
/* clang-format on */

static void test_verdict_error_maps_each_configured_action_to_codes(void **state)
{
	/* clang-format off */
	static const char *const classes[OP_ERR__COUNT] = {"internal", "resource", "config",
							   "dns",      "store",    "limit"};
	char label[96];

	for (size_t r = 0; r < NROWS(error_rows); r++) {
		for (int c = 0; c < OP_ERR__COUNT; c++) {
			struct op_config cfg;
			struct op_verdict v;

			memset(&cfg, 0, sizeof(cfg));
			/* The other classes say something else: only c may count. */
			for (int o = 0; o < OP_ERR__COUNT; o++)
				cfg.on_error[o] = error_rows[r].configured == OP_ACT_REJECT ? OP_ACT_ACCEPT
											  : OP_ACT_REJECT;
			cfg.on_error[c] = error_rows[r].configured;
			snprintf(label, sizeof(label), "on_%s_error=%s detail=\"%s\"", classes[c],
				 error_rows[r].configured < 0 ? "(no config)" : act(error_rows[r].configured),
				 error_rows[r].detail);
			op_verdict_clear(&v);
			op_verdict_error(&v, error_rows[r].configured < 0 ? NULL : &cfg,
					 (enum op_errclass)c, error_rows[r].detail, "lookup of %s failed",
					 "example.org");
			WANT_ACT(label, v.action, error_rows[r].action);
			WANT_STR(label, v.rcode, error_rows[r].rcode);
			WANT_STR(label, v.xcode, error_rows[r].xcode);
			WANT_STR(label, v.reason, "lookup of example.org failed");
			WANT_STR(label, v.text, "lookup of example.org failed");
		}
	}
}

/* ---- op_verdict_merge -------------------------------------------------- */

static const struct {
	enum op_action dst, src, want;
	const char *winner; /* "dst" or "src" */
} merge_rows[] = {
	{OP_ACT_CONTINUE, OP_ACT_CONTINUE, OP_ACT_CONTINUE, "dst"},
	{OP_ACT_CONTINUE, OP_ACT_HOLD, OP_ACT_HOLD, "src"},
	{OP_ACT_CONTINUE, OP_ACT_REJECT, OP_ACT_REJECT, "src"},
	{OP_ACT_HOLD, OP_ACT_CONTINUE, OP_ACT_HOLD, "dst"},
	/* HOLD never replaces a terminating verdict */
	{OP_ACT_ACCEPT, OP_ACT_HOLD, OP_ACT_ACCEPT, "dst"},
	{OP_ACT_DISCARD, OP_ACT_HOLD, OP_ACT_DISCARD, "dst"},
	{OP_ACT_TEMPFAIL, OP_ACT_HOLD, OP_ACT_TEMPFAIL, "dst"},
	{OP_ACT_REJECT, OP_ACT_HOLD, OP_ACT_REJECT, "dst"},
	/* ... and a terminating verdict replaces HOLD */
	{OP_ACT_HOLD, OP_ACT_TEMPFAIL, OP_ACT_TEMPFAIL, "src"},
	{OP_ACT_HOLD, OP_ACT_ACCEPT, OP_ACT_ACCEPT, "src"},
	/* REJECT beats TEMPFAIL, whichever came first */
	{OP_ACT_TEMPFAIL, OP_ACT_REJECT, OP_ACT_REJECT, "src"},
	{OP_ACT_REJECT, OP_ACT_TEMPFAIL, OP_ACT_REJECT, "dst"},
	/* refusals beat acceptance */
	{OP_ACT_ACCEPT, OP_ACT_TEMPFAIL, OP_ACT_TEMPFAIL, "src"},
	{OP_ACT_REJECT, OP_ACT_ACCEPT, OP_ACT_REJECT, "dst"},
	{OP_ACT_DISCARD, OP_ACT_REJECT, OP_ACT_REJECT, "src"},
	/* equal strength: the first one stays */
	{OP_ACT_TEMPFAIL, OP_ACT_TEMPFAIL, OP_ACT_TEMPFAIL, "dst"},
	{OP_ACT_REJECT, OP_ACT_REJECT, OP_ACT_REJECT, "dst"},
};

static void test_verdict_merge_keeps_the_stronger_and_hold_never_replaces_a_decision(void **state)
{
	char label[64];

	for (size_t r = 0; r < NROWS(merge_rows); r++) {
		struct op_verdict dst, src;

		snprintf(label, sizeof(label), "%s merged with %s", act(merge_rows[r].dst),
			 act(merge_rows[r].src));
		op_verdict_clear(&dst);
		op_verdict_clear(&src);
		dst.action = merge_rows[r].dst;
		dst.module = "dst";
		src.action = merge_rows[r].src;
		src.module = "src";
		op_verdict_merge(&dst, &src);
		WANT_ACT(label, dst.action, merge_rows[r].want);
		WANT_STR(label, dst.module, merge_rows[r].winner);
	}
}

static void test_action_names_round_trip(void **state)
{
	for (int a = 0; a < OP_ACT__COUNT; a++)
		WANT_INT(act(a), op_action_parse(act(a)), a);
	WANT_INT("unknown name", op_action_parse("bounce"), -1);
	WANT_INT("names are exact", op_action_parse("Reject"), -1);
	WANT_STR("out of range", op_action_name(OP_ACT__COUNT), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reply_valid_accepts_only_matching_4xx_5xx_with_printable_text),
		cmocka_unit_test(test_verdict_set_falls_back_to_standard_reply_on_malformed_codes),
		cmocka_unit_test(test_verdict_set_sanitises_text_for_the_mta),
		cmocka_unit_test(test_verdict_set_truncates_long_text_without_splitting_a_percent_pair),
		cmocka_unit_test(test_verdict_error_maps_each_configured_action_to_codes),
		cmocka_unit_test(test_verdict_merge_keeps_the_stronger_and_hold_never_replaces_a_decision),
		cmocka_unit_test(test_action_names_round_trip),
	};
	/* clang-format on */

	return cmocka_run_group_tests(tests, NULL, NULL);
}
