/*
 * fuzz_dkim_canon.c - DKIM canonicalization (plugin/dkim_canon.c): the
 * header canonicalizer and the streaming body canonicalizer.
 *
 * Input: one flag byte (bit 0: relaxed headers, bit 1: relaxed body), one
 * byte seeding the body's chunk sizes, then a message: header fields up to
 * the first empty line (a line starting with SP or TAB continues the
 * field; the value is everything after the colon, folding kept, as the
 * MTA hands it over with SMFIP_HDR_LEADSPC), then the body.
 *
 * Promises checked: a relaxed header is one line ending in CRLF and
 * canonicalizing it again changes nothing; the body's canonical bytes do
 * not depend on how the body is split into chunks, and equal those of a
 * plain model of RFC 6376 3.4.3 and 3.4.4 written here (bare LF counted as
 * CRLF, as dkim_canon.h says).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "outpost/buf.h"
#include "outpost/dkim_canon.h"

#define CANON_INPUT_MAX (256 * 1024)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_init();
	return 0;
}

/* ---- headers ------------------------------------------------------------ */

static void check_header(enum op_dkim_canon c, const char *name, const char *v, size_t n)
{
	struct op_buf out, again;
	const char *err = NULL, *colon;

	op_buf_init(&out, 1 << 20);
	if (op_dkim_canon_header(c, name, v, n, &out, &err) < 0) {
		FUZZ_CHECK(err != NULL, "header refused without a reason");
		op_buf_free(&out);
		return;
	}
	FUZZ_CHECK(out.len >= 3 && memcmp(out.data + out.len - 2, "\r\n", 2) == 0,
		   "canonical header does not end in CRLF");
	if (c == OP_DKIM_CANON_RELAXED) {
		FUZZ_CHECK(memchr(out.data, '\n', out.len - 1) == NULL,
			   "relaxed header still folded");
		colon = memchr(out.data, ':', out.len);
		FUZZ_CHECK(colon != NULL, "relaxed header without its colon");
		/* The name part, then the value without the final CRLF. */
		char *nm = strndup(out.data, (size_t)(colon - out.data));
		size_t vl = out.len - 2 - (size_t)(colon + 1 - out.data);

		op_buf_init(&again, 1 << 20);
		FUZZ_CHECK(nm != NULL, "out of memory");
		FUZZ_CHECK(op_dkim_canon_header(c, nm, colon + 1, vl, &again, &err) == 0,
			   "relaxed output refused when canonicalized again");
		FUZZ_CHECK(again.len == out.len && memcmp(again.data, out.data, out.len) == 0,
			   "relaxed canonicalization is not idempotent");
		free(nm);
		op_buf_free(&again);
	}
	op_buf_free(&out);
}

/* Walk the header block p[0..n); returns where the body starts. */
static size_t headers(enum op_dkim_canon c, const char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t start = i, colon, end;

		if (p[i] == '\n' || (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n'))
			return i + (p[i] == '\r' ? 2 : 1);
		/* The field: up to a line end not followed by WSP. */
		for (end = i; end < n; end++)
			if (p[end] == '\n' &&
			    !(end + 1 < n && (p[end + 1] == ' ' || p[end + 1] == '\t')))
				break;
		/* The name: up to a colon on the field's first line (a line
		 * without one is not a header field). */
		for (colon = start; colon < end && p[colon] != ':' && p[colon] != '\n'; colon++)
			;
		if (colon < end && p[colon] == ':') {
			char *name = strndup(p + start, colon - start);
			size_t vend = end;

			/* The value without the field's own line end. */
			if (vend > colon + 1 && p[vend - 1] == '\r')
				vend--;
			FUZZ_CHECK(name != NULL, "out of memory");
			check_header(c, name, p + colon + 1, vend - colon - 1);
			free(name);
		}
		i = end < n ? end + 1 : n;
	}
	return n;
}

/* ---- body --------------------------------------------------------------- */

static int buf_sink(void *arg, const void *data, size_t n)
{
	return op_buf_append(arg, data, n);
}

/* Canonicalize body p[0..n) in chunks drawn from seed (0: one chunk). */
static void body_run(enum op_dkim_canon c, const unsigned char *p, size_t n, unsigned seed,
		     struct op_buf *out)
{
	struct op_dkim_body b;
	const char *err = NULL;
	size_t i = 0;

	op_dkim_body_init(&b, c, buf_sink, out);
	while (i < n) {
		size_t k = n - i;

		if (seed != 0) {
			seed = seed * 1103515245u + 12345u;
			k = 1 + (seed >> 16) % 7;
			if ((seed >> 8) % 5 == 0)
				k = 1 + (seed >> 12) % (OP_DKIM_BODY_STAGE + 3);
			if (k > n - i)
				k = n - i;
		}
		FUZZ_CHECK(op_dkim_body_feed(&b, p + i, k, &err) == 0, "body feed failed");
		i += k;
	}
	FUZZ_CHECK(op_dkim_body_finish(&b, &err) == 0, "body finish failed");
	FUZZ_CHECK(op_dkim_body_feed(&b, "x", 1, &err) < 0 && err != NULL,
		   "body fed after its end without an error");
}

/* One body line (without its line end) into out, relaxed or not. */
static void model_line(bool relaxed, const unsigned char *s, size_t n, struct op_buf *out)
{
	size_t o = out->len;

	for (size_t i = 0; i < n; i++) {
		bool wsp = s[i] == ' ' || s[i] == '\t';

		if (relaxed && wsp) {
			while (i + 1 < n && (s[i + 1] == ' ' || s[i + 1] == '\t'))
				i++;
			op_buf_putc(out, ' ');
		} else {
			op_buf_putc(out, (char)s[i]);
		}
	}
	if (relaxed && out->len > o && out->data[out->len - 1] == ' ')
		op_buf_truncate(out, out->len - 1);
	op_buf_append(out, "\r\n", 2);
}

/* RFC 6376 3.4.3 / 3.4.4 the plain way: lines (CRLF or bare LF ends one),
 * a last line without its end completed, trailing empty lines dropped. */
static void body_model(bool relaxed, const unsigned char *p, size_t n, struct op_buf *out)
{
	size_t start = 0, keep = 0;

	for (size_t i = 0; i <= n; i++) {
		size_t len, before = out->len;

		if (i < n && p[i] != '\n')
			continue;
		if (i == n && start == n)
			break;
		len = i - start;
		if (i < n && len > 0 && p[i - 1] == '\r')
			len--;
		model_line(relaxed, p + start, len, out);
		if (out->len - before != 2)
			keep = out->len; /* not an empty line: all so far stays */
		start = i + 1;
	}
	op_buf_truncate(out, keep);
	if (!relaxed && out->len == 0)
		op_buf_append(out, "\r\n", 2);
}

static bool same(const struct op_buf *a, const struct op_buf *b)
{
	return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum op_dkim_canon hc, bc;
	struct op_buf whole, chunked, model;
	const char *text;
	size_t body;

	if (size < 2 || size > CANON_INPUT_MAX)
		return -1;
	hc = (data[0] & 1) ? OP_DKIM_CANON_RELAXED : OP_DKIM_CANON_SIMPLE;
	bc = (data[0] & 2) ? OP_DKIM_CANON_RELAXED : OP_DKIM_CANON_SIMPLE;
	text = (const char *)data + 2;
	body = headers(hc, text, size - 2);
	op_buf_init(&whole, 4 * size + 16);
	op_buf_init(&chunked, 4 * size + 16);
	op_buf_init(&model, 4 * size + 16);
	body_run(bc, (const unsigned char *)text + body, size - 2 - body, 0, &whole);
	body_run(bc, (const unsigned char *)text + body, size - 2 - body, data[1] | 0x100u,
		 &chunked);
	body_model(bc == OP_DKIM_CANON_RELAXED, (const unsigned char *)text + body, size - 2 - body,
		   &model);
	FUZZ_CHECK(same(&whole, &chunked), "canonical body depends on the chunk sizes");
	FUZZ_CHECK(same(&whole, &model), "canonical body differs from the RFC 6376 model");
	op_buf_free(&whole);
	op_buf_free(&chunked);
	op_buf_free(&model);
	return 0;
}
