/*
 * test_track_unsub.c - one-click unsubscribe tokens (plugin/unsub.c,
 * include/outpost/unsub.h, docs/unsubscribe-token.md).
 *
 * - base64url matches RFC 4648's test vectors and refuses padding, other
 *   alphabets and non-canonical text;
 * - a token made here equals the one an independent implementation (the
 *   Python of docs/unsubscribe-token.md) makes for the same fields: the
 *   format is what the page says;
 * - every token round-trips; the first secret signs, any verifies;
 * - a changed octet anywhere, a foreign secret, an unknown version, or
 *   junk is refused, and an expired token is reported as expired only
 *   when it is authentic.
 */
#include "config.h"

#include "unit.h"

#include <stdbool.h>
#include <stdlib.h>

#include "outpost/buf.h"
#include "outpost/unsub.h"

#define SECRET_NEW "new-secret-0123456789abcdef"
#define SECRET_OLD "old-secret-0123456789abcdef"

/* clang-format off */
static const struct {
	const char *plain, *b64;
} b64_rows[] = {
	{"", ""}, {"f", "Zg"}, {"fo", "Zm8"}, {"foo", "Zm9v"}, {"foob", "Zm9vYg"},
	{"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"},
	{"\xfb\xff\xbf", "-_-_"},            /* the two url-safe characters */
};
/* clang-format on */

static void test_b64url_matches_rfc4648_vectors(void **state)
{
	char out[64], back[64];

	(void)state;
	for (size_t i = 0; i < NROWS(b64_rows); i++) {
		long n = op_b64url_encode(b64_rows[i].plain, strlen(b64_rows[i].plain), out, sizeof(out));
		long m;

		WANT_INT(b64_rows[i].b64, n, (long)strlen(b64_rows[i].b64));
		WANT_STR(b64_rows[i].plain, out, b64_rows[i].b64);
		m = op_b64url_decode(out, (size_t)n, back, sizeof(back));
		WANT_MEM(b64_rows[i].b64, back, (size_t)m, b64_rows[i].plain, strlen(b64_rows[i].plain));
	}
}

static void test_b64url_refuses_bad_text(void **state)
{
	static const char *const bad[] = {
		"Zg==",  /* padding */
		"Zm9v+", /* standard alphabet */
		"Zm/v",
		"Z",     /* impossible length */
		"Zh",    /* non-canonical: unused bits set */
		"Zm9 v",
	};
	char out[64];

	(void)state;
	for (size_t i = 0; i < NROWS(bad); i++)
		WANT_INT(bad[i], op_b64url_decode(bad[i], strlen(bad[i]), out, sizeof(out)), -1);
	WANT_INT("out too small", op_b64url_decode("Zm9vYmFy", 8, out, 5), -1);
	WANT_INT("encode out too small", op_b64url_encode("foobar", 6, out, 8), -1);
}

/* Tokens made by the Python reference of docs/unsubscribe-token.md. */
/* clang-format off */
static const struct {
	const char *tenant, *list, *rcpt;
	uint64_t expires;
	const char *token;
} known_rows[] = {
	{"acme", "news.example.com", "bob@example.net", 1900000000,
	 "AQAAAABxP7MABGFjbWUQbmV3cy5leGFtcGxlLmNvbQ9ib2JAZXhhbXBsZS5uZXSvfm-fVAoL2fgadirdcchB-ZNCHfvSCyAO58_xoYVCuA"},
	{"acme", "", "", 1700000000,
	 "AQAAAABlU_EABGFjbWUAAGdMLmSBAq70nn7uAremlEuAXBPbgNOS_lW7yujYFy1j"},
};
/* clang-format on */

static void test_token_matches_independent_implementation(void **state)
{
	const char *secrets[] = {SECRET_NEW};

	(void)state;
	for (size_t i = 0; i < NROWS(known_rows); i++) {
		struct op_unsub u = {0}, got;
		char tok[OP_UNSUB_TOKEN_MAX];
		const char *err = NULL;

		op_strlcpy(u.tenant, known_rows[i].tenant, sizeof(u.tenant));
		op_strlcpy(u.list, known_rows[i].list, sizeof(u.list));
		op_strlcpy(u.rcpt, known_rows[i].rcpt, sizeof(u.rcpt));
		u.expires = known_rows[i].expires;
		WANT_INT("encode", op_unsub_encode(&u, SECRET_NEW, strlen(SECRET_NEW), tok, sizeof(tok), &err), 0);
		WANT_STR(known_rows[i].rcpt, tok, known_rows[i].token);
		WANT_INT("verify before expiry",
			 op_unsub_verify(known_rows[i].token, secrets, 1, (time_t)u.expires - 1, &got),
			 OP_UNSUB_VALID);
		WANT_STR("tenant", got.tenant, known_rows[i].tenant);
		WANT_STR("list", got.list, known_rows[i].list);
		WANT_STR("rcpt", got.rcpt, known_rows[i].rcpt);
		WANT_SIZE("expires", got.expires, known_rows[i].expires);
		WANT_INT("version", got.version, 1);
	}
}

/* clang-format off */
static const struct {
	const char *label, *sign_with;
	const char *verify_with[3];
	time_t now;
	enum op_unsub_status want;
} verify_rows[] = {
	{"new secret, new list", SECRET_NEW, {SECRET_NEW, SECRET_OLD}, 1000, OP_UNSUB_VALID},
	{"old secret still verifies", SECRET_OLD, {SECRET_NEW, SECRET_OLD}, 1000, OP_UNSUB_VALID},
	{"old secret dropped", SECRET_OLD, {SECRET_NEW}, 1000, OP_UNSUB_BAD_SIGNATURE},
	{"foreign secret", "someone-elses-secret-000", {SECRET_NEW, SECRET_OLD}, 1000, OP_UNSUB_BAD_SIGNATURE},
	{"one second before expiry", SECRET_NEW, {SECRET_NEW}, 1999, OP_UNSUB_VALID},
	{"at expiry", SECRET_NEW, {SECRET_NEW}, 2000, OP_UNSUB_EXPIRED},
	{"long expired", SECRET_NEW, {SECRET_NEW}, 999999, OP_UNSUB_EXPIRED},
	{"expired and forged", "someone-elses-secret-000", {SECRET_NEW}, 999999, OP_UNSUB_BAD_SIGNATURE},
	{"no secret", SECRET_NEW, {NULL}, 1000, OP_UNSUB_NO_SECRET},
};
/* clang-format on */

static void test_verify_rotation_and_expiry(void **state)
{
	(void)state;
	for (size_t i = 0; i < NROWS(verify_rows); i++) {
		struct op_unsub u = {.expires = 2000}, got;
		char tok[OP_UNSUB_TOKEN_MAX];
		const char *err;
		size_t n = 0;

		op_strlcpy(u.tenant, "acme", sizeof(u.tenant));
		op_strlcpy(u.rcpt, "bob@example.net", sizeof(u.rcpt));
		while (n < 3 && verify_rows[i].verify_with[n])
			n++;
		WANT_INT(verify_rows[i].label,
			 op_unsub_encode(&u, verify_rows[i].sign_with, strlen(verify_rows[i].sign_with), tok,
					 sizeof(tok), &err), 0);
		WANT_INT(verify_rows[i].label,
			 op_unsub_verify(tok, verify_rows[i].verify_with, n, verify_rows[i].now, &got),
			 verify_rows[i].want);
		if (verify_rows[i].want == OP_UNSUB_VALID || verify_rows[i].want == OP_UNSUB_EXPIRED)
			WANT_STR(verify_rows[i].label, got.rcpt, "bob@example.net");
		else
			WANT_STR(verify_rows[i].label, got.tenant, "");
	}
}

/* Change one character at every position: never valid. */
static void test_every_tampered_character_is_refused(void **state)
{
	const char *secrets[] = {SECRET_NEW};
	const char *tok0 = known_rows[0].token;
	size_t n = strlen(tok0);

	(void)state;
	for (size_t i = 0; i < n; i++) {
		char tok[OP_UNSUB_TOKEN_MAX], label[64];
		struct op_unsub got;
		enum op_unsub_status st;

		memcpy(tok, tok0, n + 1);
		tok[i] = tok[i] == 'A' ? 'B' : 'A';
		st = op_unsub_verify(tok, secrets, 1, 1000, &got);
		snprintf(label, sizeof(label), "character %zu changed", i);
		if (st == OP_UNSUB_VALID || st == OP_UNSUB_EXPIRED) {
			print_error("%s: got %s, want a refusal\n", label, op_unsub_status_name(st));
			fail();
		}
	}
}

static void test_malformed_tokens_are_refused(void **state)
{
	static const struct {
		const char *label, *token;
		enum op_unsub_status want;
	} rows[] = {
		{"empty", "", OP_UNSUB_MALFORMED},
		{"not base64url", "!!!!", OP_UNSUB_MALFORMED},
		{"too short", "AQAAAA", OP_UNSUB_MALFORMED},
		{"version 2", "AgAAAABxP7MABGFjbWUAAA", OP_UNSUB_BAD_VERSION},
		{"cut in half", "AQAAAABxP7MABGFjbWUQbmV3cy5leGFtcGxl", OP_UNSUB_MALFORMED},
		{"padding", "AQAAAABlU_EABGFjbWUAAGdMLmSBAq70nn7uAremlEuAXBPbgNOS_lW7yujYFy1j==",
		 OP_UNSUB_MALFORMED},
		{"longer than any token",
		 "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB"
		 "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB"
		 "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB"
		 "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB"
		 "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB"
		 "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB"
		 "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB"
		 "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB"
		 "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB"
		 "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB"
		 "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB",
		 OP_UNSUB_MALFORMED},
	};
	const char *secrets[] = {SECRET_NEW};

	(void)state;
	for (size_t i = 0; i < NROWS(rows); i++) {
		struct op_unsub got;

		WANT_INT(rows[i].label, op_unsub_verify(rows[i].token, secrets, 1, 1000, &got), rows[i].want);
	}
}

static void test_fields_at_the_limit(void **state)
{
	struct op_unsub u = {.expires = 5000}, got;
	char tok[OP_UNSUB_TOKEN_MAX];
	const char *err = NULL, *secrets[] = {SECRET_NEW};

	(void)state;
	memset(u.tenant, 't', OP_UNSUB_FIELD_MAX);
	memset(u.list, 'l', OP_UNSUB_FIELD_MAX);
	memset(u.rcpt, 'r', OP_UNSUB_FIELD_MAX);
	WANT_INT("255-octet fields", op_unsub_encode(&u, SECRET_NEW, strlen(SECRET_NEW), tok, sizeof(tok), &err), 0);
	WANT_INT("255-octet fields verify", op_unsub_verify(tok, secrets, 1, 10, &got), OP_UNSUB_VALID);
	WANT_STR("rcpt", got.rcpt, u.rcpt);
	WANT_INT("small buffer", op_unsub_encode(&u, SECRET_NEW, strlen(SECRET_NEW), tok, 100, &err), -1);
	WANT_STR("small buffer says", err, "token buffer too small");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64url_matches_rfc4648_vectors),
		cmocka_unit_test(test_b64url_refuses_bad_text),
		cmocka_unit_test(test_token_matches_independent_implementation),
		cmocka_unit_test(test_verify_rotation_and_expiry),
		cmocka_unit_test(test_every_tampered_character_is_refused),
		cmocka_unit_test(test_malformed_tokens_are_refused),
		cmocka_unit_test(test_fields_at_the_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
