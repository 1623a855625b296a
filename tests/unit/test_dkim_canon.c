/*
 * test_dkim_canon.c - DKIM canonicalization (plugin/dkim_canon.c): header
 * and body tables (RFC 6376 3.4.5 examples and edge cases), every chunk
 * boundary, held-back empty lines, known body hashes (RFC 6376 empty
 * bodies, RFC 8463 A.3), and the streaming body canonicalizer against a
 * plain whole-body reference on long lines and many chunkings.
 * Signatures are tested in test_dkim_sign.c.
 */
#include "config.h"

#include "unit.h"

#include <stdbool.h>
#include <stdlib.h>

#include <openssl/evp.h>

#include "outpost/buf.h"
#include "outpost/dkim_canon.h"

#define BIG (64 * 1024 * 1024)

static int collect(void *arg, const void *data, size_t n)
{
	return op_buf_append(arg, data, n);
}

static char *b64(const unsigned char *p, size_t n)
{
	char *s = malloc(4 * ((n + 2) / 3) + 1);

	assert_non_null(s);
	EVP_EncodeBlock((unsigned char *)s, p, (int)n);
	return s;
}

static void canon_parse_accepts_pairs_and_defaults_body_to_simple(void **state)
{
	static const struct {
		const char *in;
		int ret;
		enum op_dkim_canon h, b;
	} rows[] = {
	    {"simple/simple", 0, OP_DKIM_CANON_SIMPLE, OP_DKIM_CANON_SIMPLE},
	    {"relaxed/relaxed", 0, OP_DKIM_CANON_RELAXED, OP_DKIM_CANON_RELAXED},
	    {"relaxed/simple", 0, OP_DKIM_CANON_RELAXED, OP_DKIM_CANON_SIMPLE},
	    {"simple/relaxed", 0, OP_DKIM_CANON_SIMPLE, OP_DKIM_CANON_RELAXED},
	    {"relaxed", 0, OP_DKIM_CANON_RELAXED, OP_DKIM_CANON_SIMPLE},
	    {"simple", 0, OP_DKIM_CANON_SIMPLE, OP_DKIM_CANON_SIMPLE},
	    {"", -1, 0, 0},
	    {"relaxed/", -1, 0, 0},
	    {"/relaxed", -1, 0, 0},
	    {"Relaxed/simple", -1, 0, 0},
	    {"relaxed/simple/simple", -1, 0, 0},
	    {"relaxedx", -1, 0, 0},
	};

	(void)state;
	for (size_t i = 0; i < NROWS(rows); i++) {
		enum op_dkim_canon h = 9, b = 9;
		int r = op_dkim_canon_parse(rows[i].in, &h, &b);

		WANT_INT(rows[i].in, r, rows[i].ret);
		if (r == 0) {
			WANT_INT(rows[i].in, h, rows[i].h);
			WANT_INT(rows[i].in, b, rows[i].b);
		}
	}
}

#define S(x) x, sizeof(x) - 1

static const struct hdr_row {
	const char *why, *name, *value;
	size_t vlen;
	const char *simple;
	size_t slen;
	const char *relaxed;
	size_t rlen;
} hdr_rows[] = {
    {"RFC 6376 3.4.5 A", "A", S(" X"), S("A: X\r\n"), S("a:X\r\n")},
    {"RFC 6376 3.4.5 B: WSP before colon, folded", "B ", S(" Y\t\r\n\tZ  "),
     S("B : Y\t\r\n\tZ  \r\n"), S("b:Y Z\r\n")},
    {"fold right after the colon", "Subject", S("\r\n\tHello"), S("Subject:\r\n\tHello\r\n"),
     S("subject:Hello\r\n")},
    {"bare LF fold counts as CRLF", "Subject", S(" a\n\tb"), S("Subject: a\r\n\tb\r\n"),
     S("subject:a b\r\n")},
    {"empty value", "X-Empty", S(""), S("X-Empty:\r\n"), S("x-empty:\r\n")},
    {"blank value", "X-Empty", S(" \t "), S("X-Empty: \t \r\n"), S("x-empty:\r\n")},
    {"mixed-case name", "Message-ID", S(" <a@B>"), S("Message-ID: <a@B>\r\n"),
     S("message-id:<a@B>\r\n")},
    {"WSP runs inside and at the end", "To", S(" a\t\tb \t c\t "), S("To: a\t\tb \t c\t \r\n"),
     S("to:a b c\r\n")},
    {"8-bit bytes kept", "Subject", S(" caf\xc3\xa9  \xe9"), S("Subject: caf\xc3\xa9  \xe9\r\n"),
     S("subject:caf\xc3\xa9 \xe9\r\n")},
    {"bare CR is an ordinary byte", "Subject", S(" a\rb"), S("Subject: a\rb\r\n"),
     S("subject:a\rb\r\n")},
    {"several folds", "Received", S(" from a\r\n by b\r\n\t(c);\r\n d"),
     S("Received: from a\r\n by b\r\n\t(c);\r\n d\r\n"), S("received:from a by b (c); d\r\n")},
};

static void header_canon_matches_table(void **state)
{
	struct op_buf out;
	const char *err = NULL;

	(void)state;
	op_buf_init(&out, 4096);
	for (size_t i = 0; i < NROWS(hdr_rows); i++) {
		const struct hdr_row *r = &hdr_rows[i];

		for (int c = 0; c < 2; c++) {
			char label[128];

			snprintf(label, sizeof label, "%s (%s)", r->why, op_dkim_canon_name(c));
			op_buf_reset(&out);
			WANT_INT(label,
				 op_dkim_canon_header(c, r->name, r->value, r->vlen, &out, &err),
				 0);
			WANT_MEM(label, out.data, out.len, c ? r->relaxed : r->simple,
				 c ? r->rlen : r->slen);
		}
	}
	op_buf_free(&out);
}

static void header_canon_fails_past_buffer_maximum(void **state)
{
	struct op_buf out;
	const char *err = NULL;

	(void)state;
	for (int c = 0; c < 2; c++) {
		op_buf_init(&out, 10);
		assert_int_equal(
		    op_dkim_canon_header(c, "Subject", S(" a long subject"), &out, &err), -1);
		assert_non_null(err);
		op_buf_free(&out);
	}
}

static const struct body_row {
	const char *why, *in;
	size_t ilen;
	const char *simple;
	size_t slen;
	const char *relaxed;
	size_t rlen;
} body_rows[] = {
    {"RFC 6376 3.4.5 example", S(" C \r\nD \t E\r\n\r\n\r\n"), S(" C \r\nD \t E\r\n"),
     S(" C\r\nD E\r\n")},
    {"empty body", S(""), S("\r\n"), S("")},
    {"body of one CRLF", S("\r\n"), S("\r\n"), S("")},
    {"body of empty lines", S("\r\n\r\n\r\n"), S("\r\n"), S("")},
    {"last line without CRLF", S("abc"), S("abc\r\n"), S("abc\r\n")},
    {"trailing empty lines dropped", S("a\r\n\r\n\r\n"), S("a\r\n"), S("a\r\n")},
    {"inner empty lines kept", S("a\r\n\r\n\r\nb\r\n"), S("a\r\n\r\n\r\nb\r\n"),
     S("a\r\n\r\n\r\nb\r\n")},
    {"leading empty line kept", S("\r\nx\r\n"), S("\r\nx\r\n"), S("\r\nx\r\n")},
    {"trailing WSP-only lines", S("a\r\n \t\r\n\r\n"), S("a\r\n \t\r\n"), S("a\r\n")},
    {"inner WSP-only line", S("a\r\n  \r\nb\r\n"), S("a\r\n  \r\nb\r\n"), S("a\r\n\r\nb\r\n")},
    {"leading and inner WSP runs", S("  a  b\t\r\n"), S("  a  b\t\r\n"), S(" a b\r\n")},
    {"bare LF is a line end", S("a\nb\n\n"), S("a\r\nb\r\n"), S("a\r\nb\r\n")},
    {"bare CR is content", S("a\rb\r\n"), S("a\rb\r\n"), S("a\rb\r\n")},
    {"CR CR LF", S("a\r\r\n"), S("a\r\r\n"), S("a\r\r\n")},
    {"CR at the very end", S("a\r"), S("a\r\r\n"), S("a\r\r\n")},
    {"WSP before a bare CR", S("a \rb\r\n"), S("a \rb\r\n"), S("a \rb\r\n")},
    {"WSP at end without CRLF", S("a \t"), S("a \t\r\n"), S("a\r\n")},
    {"only WSP without CRLF", S("  "), S("  \r\n"), S("")},
    {"8-bit and NUL bytes", S("\xe9t\xe9\0x\r\n"), S("\xe9t\xe9\0x\r\n"), S("\xe9t\xe9\0x\r\n")},
    {"RFC 8463 example body",
     S("Hi.\r\n\r\nWe lost the game.  Are you hungry yet?\r\n\r\nJoe.\r\n\r\n"),
     S("Hi.\r\n\r\nWe lost the game.  Are you hungry yet?\r\n\r\nJoe.\r\n"),
     S("Hi.\r\n\r\nWe lost the game. Are you hungry yet?\r\n\r\nJoe.\r\n")},
};

/* Canonicalize in pieces ending at cuts[0..ncuts) then at n. */
static void canon_body(enum op_dkim_canon c, const char *in, size_t n, const size_t *cuts,
		       size_t ncuts, struct op_buf *out)
{
	struct op_dkim_body b;
	const char *err = NULL;
	size_t at = 0;

	op_dkim_body_init(&b, c, collect, out);
	for (size_t i = 0; i <= ncuts; i++) {
		size_t end = i < ncuts ? cuts[i] : n;

		assert_int_equal(op_dkim_body_feed(&b, in + at, end - at, &err), 0);
		at = end;
	}
	assert_int_equal(op_dkim_body_finish(&b, &err), 0);
}

static void check_body_row(const struct body_row *r, int c, const size_t *cuts, size_t ncuts)
{
	struct op_buf out;
	char label[160];

	snprintf(label, sizeof label, "%s (%s, %zu chunks, first cut at %zu)", r->why,
		 op_dkim_canon_name(c), ncuts + 1, ncuts ? cuts[0] : r->ilen);
	op_buf_init(&out, BIG);
	canon_body(c, r->in, r->ilen, cuts, ncuts, &out);
	WANT_MEM(label, op_buf_str(&out), out.len, c ? r->relaxed : r->simple,
		 c ? r->rlen : r->slen);
	op_buf_free(&out);
}

static void body_canon_matches_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < NROWS(body_rows); i++)
		for (int c = 0; c < 2; c++)
			check_body_row(&body_rows[i], c, NULL, 0);
}

static void body_canon_is_the_same_at_every_chunk_boundary(void **state)
{
	size_t cuts[256];

	(void)state;
	for (size_t i = 0; i < NROWS(body_rows); i++) {
		const struct body_row *r = &body_rows[i];

		for (int c = 0; c < 2; c++) {
			for (size_t k = 0; k <= r->ilen; k++)
				check_body_row(r, c, &k, 1);
			for (size_t k = 0; k < r->ilen && k < 256; k++)
				cuts[k] = k + 1; /* one byte at a time */
			check_body_row(r, c, cuts, r->ilen < 256 ? r->ilen : 256);
		}
	}
}

static void body_digest(enum op_dkim_canon c, const char *in, size_t n, size_t cut1, size_t cut2,
			unsigned char *dg)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	struct op_dkim_body b;
	const char *err = NULL;

	assert_int_equal(EVP_DigestInit_ex(md, EVP_sha256(), NULL), 1);
	op_dkim_body_init_md(&b, c, md);
	assert_int_equal(op_dkim_body_feed(&b, in, cut1, &err), 0);
	assert_int_equal(op_dkim_body_feed(&b, in + cut1, cut2 - cut1, &err), 0);
	assert_int_equal(op_dkim_body_feed(&b, in + cut2, n - cut2, &err), 0);
	assert_int_equal(op_dkim_body_finish(&b, &err), 0);
	assert_int_equal(EVP_DigestFinal_ex(md, dg, NULL), 1);
	EVP_MD_CTX_free(md);
}

static void body_hash_is_the_same_for_every_three_way_split(void **state)
{
	static const char body[] = " C \r\nD \t E\r\n\r\n\ra\r\r\n  \t\r\n x\ny\r\n\t\r\n\r\n \r\n";
	size_t n = sizeof body - 1;
	unsigned char want[32], got[32];

	(void)state;
	for (int c = 0; c < 2; c++) {
		body_digest(c, body, n, n, n, want);
		for (size_t i = 0; i <= n; i++) {
			for (size_t j = i; j <= n; j++) {
				char label[64];

				snprintf(label, sizeof label, "%s, cut at %zu and %zu",
					 op_dkim_canon_name(c), i, j);
				body_digest(c, body, n, i, j, got);
				WANT_MEM(label, got, 32, want, 32);
			}
		}
	}
}

struct counter {
	uint64_t bytes, crlf;
};

static int count_sink(void *arg, const void *data, size_t n)
{
	struct counter *k = arg;
	const char *p = data;

	for (size_t i = 0; i < n; i++)
		k->crlf += p[i] == '\n';
	k->bytes += n;
	return 0;
}

static void body_canon_counts_held_back_empty_lines(void **state)
{
	static const char crlfs[] = "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n";
	const uint64_t lines = 1000000;
	const char *err = NULL;

	(void)state;
	for (int c = 0; c < 2; c++) {
		for (int content_after = 0; content_after < 2; content_after++) {
			struct counter k = {0, 0};
			struct op_dkim_body b;

			op_dkim_body_init(&b, c, count_sink, &k);
			assert_int_equal(op_dkim_body_feed(&b, "a\r\n", 3, &err), 0);
			for (uint64_t i = 0; i < lines / 10; i++)
				assert_int_equal(op_dkim_body_feed(&b, crlfs, 20, &err), 0);
			/* the run is held as a count, not as bytes */
			assert_int_equal(b.empty_lines, lines);
			assert_true(b.stage_len <= 3);
			if (content_after)
				assert_int_equal(op_dkim_body_feed(&b, "z\r\n", 3, &err), 0);
			assert_int_equal(op_dkim_body_finish(&b, &err), 0);
			assert_int_equal(k.crlf, content_after ? lines + 2 : 1);
			assert_int_equal(k.bytes, content_after ? 2 * lines + 6 : 3);
		}
	}
}

static int failing_sink(void *arg, const void *data, size_t n)
{
	(void)arg;
	(void)data;
	(void)n;
	return -1;
}

static void body_canon_refuses_feed_after_finish_and_sink_failure(void **state)
{
	struct op_buf out;
	struct op_dkim_body b;
	const char *err = NULL;

	(void)state;
	op_buf_init(&out, 100);
	op_dkim_body_init(&b, OP_DKIM_CANON_SIMPLE, collect, &out);
	assert_int_equal(op_dkim_body_finish(&b, &err), 0);
	assert_int_equal(op_dkim_body_feed(&b, "x", 1, &err), -1);
	assert_string_equal(err, "body fed after its end");
	assert_int_equal(op_dkim_body_finish(&b, &err), -1);
	op_buf_free(&out);

	op_dkim_body_init(&b, OP_DKIM_CANON_RELAXED, failing_sink, NULL);
	for (int i = 0; i < 10 && op_dkim_body_feed(&b, "0123456789\r\n", 12, &err) == 0; i++)
		;
	assert_int_equal(op_dkim_body_finish(&b, &err), -1);
	assert_string_equal(err, "body digest failed");
	assert_int_equal(op_dkim_body_feed(&b, "x", 1, &err), -1);
}

static void body_hash_matches_known_answers(void **state)
{
	static const struct {
		const char *why, *body;
		size_t len;
		enum op_dkim_canon c;
		const char *bh;
	} rows[] = {
	    {"empty body, simple (RFC 6376 3.4.3)", S(""), OP_DKIM_CANON_SIMPLE,
	     "frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY="},
	    {"empty body, relaxed (RFC 6376 3.4.4)", S(""), OP_DKIM_CANON_RELAXED,
	     "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="},
	    {"RFC 8463 A.3 body, relaxed",
	     S("Hi.\r\n\r\nWe lost the game.  Are you hungry yet?\r\n\r\nJoe.\r\n\r\n"),
	     OP_DKIM_CANON_RELAXED, "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8="},
	    {"RFC 8463 body, simple (dkimpy's rfc6376.signed.msg)",
	     S("Hi.\r\n\r\nWe lost the game.  Are you hungry yet?\r\n\r\nJoe.\r\n\r\n"),
	     OP_DKIM_CANON_SIMPLE, "4bLNXImK9drULnmePzZNEBleUanJCX5PIsDIFoH4KTQ="},
	};
	unsigned char dg[32];

	(void)state;
	for (size_t i = 0; i < NROWS(rows); i++) {
		char *got;

		body_digest(rows[i].c, rows[i].body, rows[i].len, 0, 0, dg);
		got = b64(dg, 32);
		WANT_MEM(rows[i].why, got, strlen(got), rows[i].bh, strlen(rows[i].bh));
		free(got);
	}
}

/* The body canonicalization of RFC 6376 3.4.3 and 3.4.4 written the plain
 * way, on the whole body at once, as the reference for the streaming one:
 * split into lines at each LF (a CR just before it belongs to the line
 * end; a last line without LF counts), relaxed: each WSP run one SP and
 * none at the end of a line; then drop the empty lines at the end; simple:
 * an empty body is one CRLF. */
static void ref_body(enum op_dkim_canon c, const char *in, size_t n, struct op_buf *out)
{
	size_t keep = 0; /* out->len after the last line with content */

	for (size_t i = 0; i < n;) {
		const char *lf = memchr(in + i, '\n', n - i);
		size_t end = lf ? (size_t)(lf - in) : n, next = lf ? end + 1 : n;

		size_t start = out->len;

		if (lf && end > i && in[end - 1] == '\r')
			end--;
		for (size_t j = i; j < end; j++) {
			bool wsp = in[j] == ' ' || in[j] == '\t';

			if (c == OP_DKIM_CANON_SIMPLE || !wsp) {
				assert_int_equal(op_buf_putc(out, in[j]), 0);
				continue;
			}
			while (j + 1 < end && (in[j + 1] == ' ' || in[j + 1] == '\t'))
				j++;
			if (j + 1 < end)
				assert_int_equal(op_buf_putc(out, ' '), 0);
		}
		assert_int_equal(op_buf_append(out, "\r\n", 2), 0);
		if (out->len > start + 2)
			keep = out->len; /* content: the empty lines before it stay */
		i = next;
	}
	out->len = keep;
	out->data[keep] = '\0';
	if (c == OP_DKIM_CANON_SIMPLE && keep == 0)
		assert_int_equal(op_buf_append(out, "\r\n", 2), 0);
}

/* Tricky bodies built at run time: long lines (past the stage and the
 * eight-byte scan), long WSP runs, CR and LF at every alignment. */
static size_t tricky_body(int which, char *buf, size_t size)
{
	static const char alphabet[] = "ab \t\r\nx\r\n\0\v\x1f";
	uint32_t seed = 12345u + (uint32_t)which;
	size_t n = 0;

	switch (which) {
	case 0: /* one line of 100,000 octets, CRLF */
		memset(buf, 'a', 100000);
		memcpy(buf + 100000, "\r\n", 2);
		return 100002;
	case 1: /* a long last line ending in a bare CR */
		memset(buf, 'b', 70000);
		buf[70000] = '\r';
		return 70001;
	case 2: /* base64-like lines, an empty line, a WSP tail */
		for (int l = 0; l < 2000; l++) {
			for (int k = 0; k < 76; k++)
				buf[n++] = (char)('A' + (l + k) % 26);
			buf[n++] = '\r';
			buf[n++] = '\n';
		}
		memcpy(buf + n, "\r\n \t \r\n\r\n", 9);
		return n + 9;
	case 3: /* a WSP run of 20,000 between words, trailing WSP */
		buf[n++] = 'w';
		memset(buf + n, ' ', 20000);
		n += 20000;
		memcpy(buf + n, "\tz\t \r\n", 6);
		return n + 6;
	default: /* pseudo-random bytes from a small alphabet */
		while (n < size && n < 30000 + (size_t)which * 1000) {
			seed = seed * 1103515245u + 12345u;
			buf[n++] = alphabet[(seed >> 16) % (sizeof alphabet - 1)];
		}
		return n;
	}
}

static void canon_chunks(enum op_dkim_canon c, const char *in, size_t n, size_t step, uint32_t seed,
			 struct op_buf *out)
{
	struct op_dkim_body b;
	const char *err = NULL;

	op_dkim_body_init(&b, c, collect, out);
	for (size_t at = 0; at < n;) {
		size_t k = step;

		if (step == 0) {
			seed = seed * 1103515245u + 12345u;
			k = 1 + (seed >> 16) % 9000;
		}
		if (k > n - at)
			k = n - at;
		assert_int_equal(op_dkim_body_feed(&b, in + at, k, &err), 0);
		at += k;
	}
	assert_int_equal(op_dkim_body_finish(&b, &err), 0);
}

static void body_canon_matches_the_reference(void **state)
{
	static const size_t steps[] = {SIZE_MAX,
				       1,
				       2,
				       7,
				       8,
				       9,
				       76,
				       77,
				       78,
				       OP_DKIM_BODY_STAGE - 1,
				       OP_DKIM_BODY_STAGE,
				       OP_DKIM_BODY_STAGE + 1,
				       0 /* pseudo-random */};
	const size_t size = 200000;
	char *in = malloc(size);
	struct op_buf got, want;

	(void)state;
	assert_non_null(in);
	op_buf_init(&got, BIG);
	op_buf_init(&want, BIG);
	for (int which = 0; which < 10 + (int)NROWS(body_rows); which++) {
		const char *body = in;
		size_t n;

		if (which < 10) {
			n = tricky_body(which, in, size);
		} else {
			body = body_rows[which - 10].in;
			n = body_rows[which - 10].ilen;
		}
		for (int c = 0; c < 2; c++) {
			op_buf_reset(&want);
			ref_body(c, body, n, &want);
			for (size_t s = 0; s < NROWS(steps); s++) {
				char label[96];

				snprintf(label, sizeof label, "body %d, %s, chunks of %zu%s", which,
					 op_dkim_canon_name(c), steps[s] == SIZE_MAX ? n : steps[s],
					 steps[s] == 0 ? " (pseudo-random)" : "");
				op_buf_reset(&got);
				canon_chunks(c, body, n, steps[s], (uint32_t)which, &got);
				WANT_MEM(label, got.data, got.len, want.data, want.len);
			}
		}
	}
	op_buf_free(&got);
	op_buf_free(&want);
	free(in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(canon_parse_accepts_pairs_and_defaults_body_to_simple),
	    cmocka_unit_test(header_canon_matches_table),
	    cmocka_unit_test(header_canon_fails_past_buffer_maximum),
	    cmocka_unit_test(body_canon_matches_table),
	    cmocka_unit_test(body_canon_is_the_same_at_every_chunk_boundary),
	    cmocka_unit_test(body_hash_is_the_same_for_every_three_way_split),
	    cmocka_unit_test(body_canon_counts_held_back_empty_lines),
	    cmocka_unit_test(body_canon_refuses_feed_after_finish_and_sink_failure),
	    cmocka_unit_test(body_hash_matches_known_answers),
	    cmocka_unit_test(body_canon_matches_the_reference),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
