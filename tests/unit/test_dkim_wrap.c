/*
 * test_dkim_wrap.c - lines broken as Postfix's SMTP client breaks them
 * (plugin/dkim_wrap.c), checked against the rule of smtp_text_out():
 * after `limit` octets of a line, CRLF and a space, then limit - 1 octets
 * per segment.  The end-to-end proof is tests/e2e/t-dkim-postfix-real-dns.sh
 * (signatures over wrapped lines verify after a real Postfix relays them).
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "outpost/buf.h"
#include "outpost/dkim_wrap.h"
#include "outpost/pool.h"
#include "unit.h"

static int buf_sink(void *arg, const void *data, size_t n, const char **err_r)
{
	(void)err_r;
	return op_buf_append(arg, data, n);
}

/* The expected broken form of one line of n 'x' octets (no CRLF). */
static void expect_line(struct op_buf *b, size_t n, size_t limit)
{
	size_t room = limit;

	while (n > 0) {
		size_t take = n < room ? n : room;

		for (size_t i = 0; i < take; i++)
			op_buf_putc(b, 'x');
		n -= take;
		if (n > 0) {
			op_buf_puts(b, "\r\n ");
			room = limit - 1;
		}
	}
}

static void fill(struct op_buf *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		op_buf_putc(b, 'x');
}

static void test_wrap_body_lines_break_like_postfix(void **state)
{
	static const size_t lens[] = {0, 1, 997, 998, 999, 1995, 1996, 1997, 2048, 5000};
	(void)state;
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		struct op_buf in, got, want;
		struct op_dkim_wrap w;
		const char *err;
		char label[64];

		op_buf_init(&in, 1 << 20);
		op_buf_init(&got, 1 << 20);
		op_buf_init(&want, 1 << 20);
		fill(&in, lens[i]);
		op_buf_puts(&in, "\r\nend\r\n");
		expect_line(&want, lens[i], 998);
		op_buf_puts(&want, "\r\nend\r\n");
		op_dkim_wrap_init(&w, 998);
		WANT_INT("feed", op_dkim_wrap_feed(&w, in.data, in.len, buf_sink, &got, &err), 0);
		WANT_INT("finish", op_dkim_wrap_finish(&w, buf_sink, &got, &err), 0);
		snprintf(label, sizeof(label), "line of %zu octets", lens[i]);
		WANT_MEM(label, got.data, got.len, want.data, want.len);
		op_buf_free(&in);
		op_buf_free(&got);
		op_buf_free(&want);
	}
}

static void test_wrap_same_output_for_every_chunk_split(void **state)
{
	struct op_buf in, whole;
	struct op_dkim_wrap w;
	const char *err;

	(void)state;
	op_buf_init(&in, 1 << 20);
	op_buf_init(&whole, 1 << 20);
	fill(&in, 2100);
	op_buf_puts(&in, "\r\n\r\ntail\r");
	fill(&in, 1000);
	op_buf_puts(&in, "\r\n");
	op_dkim_wrap_init(&w, 998);
	op_dkim_wrap_feed(&w, in.data, in.len, buf_sink, &whole, &err);
	op_dkim_wrap_finish(&w, buf_sink, &whole, &err);
	for (size_t cut = 1; cut < in.len; cut += 7) {
		struct op_buf got;
		char label[64];

		op_buf_init(&got, 1 << 20);
		op_dkim_wrap_init(&w, 998);
		op_dkim_wrap_feed(&w, in.data, cut, buf_sink, &got, &err);
		op_dkim_wrap_feed(&w, in.data + cut, in.len - cut, buf_sink, &got, &err);
		op_dkim_wrap_finish(&w, buf_sink, &got, &err);
		snprintf(label, sizeof(label), "split at %zu", cut);
		WANT_MEM(label, got.data, got.len, whole.data, whole.len);
		op_buf_free(&got);
	}
	op_buf_free(&in);
	op_buf_free(&whole);
}

static void test_wrap_lone_cr_is_line_content(void **state)
{
	struct op_buf got;
	struct op_dkim_wrap w;
	const char *err;

	(void)state;
	op_buf_init(&got, 1024);
	op_dkim_wrap_init(&w, 4);
	op_dkim_wrap_feed(&w, "ab\rcd\r\nef", 9, buf_sink, &got, &err);
	op_dkim_wrap_finish(&w, buf_sink, &got, &err);
	WANT_MEM("limit 4, CR inside a line", got.data, got.len, "ab\rc\r\n d\r\nef", 12);
	op_buf_free(&got);
}

static void test_wrap_header_counts_name_and_folds(void **state)
{
	static const struct {
		size_t name_len, limit;
		const char *value, *want;
	} rows[] = {
		/* "Subject:" is 8 octets: the first line holds 10 - 8 = 2 more */
		{7, 10, " abcdefgh", " a\r\n bcdefgh"},
		{7, 10, " a", " a"},
		/* a fold starts a new line */
		{7, 10, " a\r\n\tbcdefghijk", " a\r\n\tbcdefghij\r\n k"},
		{7, 10, " a\r\n\tbcdefghij", " a\r\n\tbcdefghij"},
		{7, 0, " abcdefgh", " abcdefgh"},
	};
	struct op_pool *pool = op_pool_new();

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char label[64];

		snprintf(label, sizeof(label), "row %zu", i);
		WANT_STR(label, op_dkim_wrap_header(pool, rows[i].name_len, rows[i].value, rows[i].limit),
			 rows[i].want);
	}
	op_pool_free(&pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wrap_body_lines_break_like_postfix),
		cmocka_unit_test(test_wrap_same_output_for_every_chunk_split),
		cmocka_unit_test(test_wrap_lone_cr_is_line_content),
		cmocka_unit_test(test_wrap_header_counts_name_and_folds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
