/*
 * test_core_buf.c - the bounded buffer, op_strlcpy and the memory pool
 * (plugin/buf.c, plugin/pool.c; contracts in include/outpost/buf.h and
 * include/outpost/pool.h).
 *
 * What matters most: an append that would pass the maximum fails and
 * leaves the buffer exactly as it was (length and bytes), the buffer is
 * always NUL terminated, log escaping never lets a control byte through,
 * and pool memory is zero-filled even when malloc hands back dirty memory.
 */
#include "config.h"

#include "unit.h"

#include <stdbool.h>
#include <stdlib.h>

#include "outpost/buf.h"
#include "outpost/pool.h"

/* The buffer must hold exactly these bytes, NUL terminated. */
static void want_buf(const char *label, const struct op_buf *b, const void *want, size_t wn)
{
	WANT_MEM(label, op_buf_str(b), b->len, want, wn);
	WANT_INT(label, op_buf_str(b)[b->len], '\0');
	if (b->data != NULL && b->cap < b->len + 1) {
		print_error("%s: capacity %zu cannot hold %zu bytes and the NUL\n", label, b->cap,
			    b->len);
		fail();
	}
}

/* ---- op_buf: bounds ---------------------------------------------------- */

/* clang-format off */
static const size_t max_rows[] = {0, 1, 2, 63, 64, 65, 127, 128, 129, 1000, 4096};
/* clang-format on */

static void test_buf_append_fills_to_max_exactly(void **state)
{
	char src[4096], label[64];

	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (char)('a' + i % 26);
	for (size_t r = 0; r < NROWS(max_rows); r++) {
		size_t max = max_rows[r];
		struct op_buf one, steps;

		/* In one append. */
		snprintf(label, sizeof(label), "max=%zu in one append", max);
		op_buf_init(&one, max);
		WANT_INT(label, op_buf_append(&one, src, max), 0);
		want_buf(label, &one, src, max);
		op_buf_free(&one);

		/* Byte by byte: every growth step lands on the maximum. */
		snprintf(label, sizeof(label), "max=%zu byte by byte", max);
		op_buf_init(&steps, max);
		for (size_t i = 0; i < max; i++)
			WANT_INT(label, op_buf_putc(&steps, src[i]), 0);
		want_buf(label, &steps, src, max);
		WANT_INT(label, op_buf_putc(&steps, 'x'), -1);
		want_buf(label, &steps, src, max);
		op_buf_free(&steps);
	}
}

/* clang-format off */
static const struct {
	size_t max;
	const char *prefill;
	size_t extra; /* bytes of the append that must fail */
} past_rows[] = {
	{0, "", 1},        {1, "", 2},        {1, "a", 1},        {10, "", 11},
	{10, "0123456789", 1}, {10, "01234", 6}, {64, "x", 64},   {100, "abc", 1000},
};
/* clang-format on */

static void test_buf_append_one_past_max_fails_and_leaves_buffer_unchanged(void **state)
{
	char big[2000], label[64];

	memset(big, 'Z', sizeof(big));
	for (size_t r = 0; r < NROWS(past_rows); r++) {
		struct op_buf b;
		size_t n = strlen(past_rows[r].prefill);
		char *data_before;
		size_t cap_before;

		snprintf(label, sizeof(label), "max=%zu prefill=%zu extra=%zu", past_rows[r].max, n,
			 past_rows[r].extra);
		op_buf_init(&b, past_rows[r].max);
		WANT_INT(label, op_buf_puts(&b, past_rows[r].prefill), 0);
		data_before = b.data;
		cap_before = b.cap;
		WANT_INT(label, op_buf_append(&b, big, past_rows[r].extra), -1);
		want_buf(label, &b, past_rows[r].prefill, n);
		WANT_INT(label, op_buf_printf(&b, "%.*s", (int)past_rows[r].extra, big), -1);
		want_buf(label, &b, past_rows[r].prefill, n);
		WANT_PTR(label, b.data, data_before);
		WANT_SIZE(label, b.cap, cap_before);
		op_buf_free(&b);
	}
}

static void test_buf_printf_overflow_fails_and_leaves_buffer_unchanged(void **state)
{
	/* clang-format off */
	static const struct {
		size_t max;
		const char *prefill, *arg;
		int want;
		const char *result;
	} rows[] = {
		{8, "", "1234567", 0, "<1234567"},      /* 8 bytes: exactly max */
		{8, "", "12345678", -1, ""},            /* 9 bytes */
		{8, "ab", "12345", 0, "ab<12345"},
		{8, "ab", "123456", -1, "ab"},
		{0, "", "", -1, ""},                    /* "<" alone is one too many */
		{300, "", "", 0, "<"},
	};
	/* clang-format on */
	char label[64];

	for (size_t r = 0; r < NROWS(rows); r++) {
		struct op_buf b;

		snprintf(label, sizeof(label), "max=%zu prefill=\"%s\" arg=\"%s\"", rows[r].max,
			 rows[r].prefill, rows[r].arg);
		op_buf_init(&b, rows[r].max);
		op_buf_puts(&b, rows[r].prefill);
		WANT_INT(label, op_buf_printf(&b, "<%s", rows[r].arg), rows[r].want);
		want_buf(label, &b, rows[r].result, strlen(rows[r].result));
		op_buf_free(&b);
	}
}

static void test_buf_printf_appends_formatted_text(void **state)
{
	struct op_buf b;

	op_buf_init(&b, 200);
	WANT_INT("first", op_buf_printf(&b, "%s=%d", "n", 42), 0);
	WANT_INT("second", op_buf_printf(&b, " %05.1f|%-3s|%x", 3.14159, "a", 255), 0);
	want_buf("printf twice", &b, "n=42 003.1|a  |ff", 17);
	op_buf_free(&b);
}

/* Text that fits the room already allocated is formatted once in place;
 * one byte more makes the buffer grow; putc fills the last byte of the
 * room, then grows it. */
static void test_buf_printf_and_putc_fill_the_room_then_grow(void **state)
{
	struct op_buf b;
	char fill[61];

	memset(fill, 'x', 60);
	fill[60] = '\0';
	op_buf_init(&b, 1000);
	op_buf_puts(&b, fill); /* 60 bytes + NUL: a capacity of 64 */
	WANT_SIZE("capacity after 60 bytes", b.cap, 64);
	WANT_INT("printf of 3 bytes", op_buf_printf(&b, "<%s", "ab"), 0);
	WANT_SIZE("capacity after 63 bytes (the room, exactly)", b.cap, 64);
	WANT_INT("putc of the 64th byte", op_buf_putc(&b, '>'), 0);
	WANT_SIZE("capacity after 64 bytes", b.cap, 128);
	WANT_INT("printf past the room", op_buf_printf(&b, "%070d", 7), 0);
	WANT_SIZE("length", b.len, 134);
	WANT_INT("the text", strncmp(b.data + 60, "<ab>0000", 8), 0);
	WANT_INT("the NUL", b.data[134], '\0');
	WANT_INT("its last digit", b.data[133], '7');
	op_buf_free(&b);
}

/* SIZE_MAX is the natural way to say "no limit of my own". */
static void test_buf_without_practical_limit_grows(void **state)
{
	struct op_buf b;
	char want[1000];

	op_buf_init(&b, SIZE_MAX);
	for (size_t i = 0; i < 100; i++) {
		WANT_INT("append 10 bytes", op_buf_append(&b, "0123456789", 10), 0);
		memcpy(want + i * 10, "0123456789", 10);
	}
	want_buf("max=SIZE_MAX after 100 appends", &b, want, 1000);
	op_buf_free(&b);
}

/* ---- op_buf: content ------------------------------------------------- */

static void test_buf_append_keeps_embedded_nuls(void **state)
{
	/* clang-format off */
	static const char part1[] = {'a', '\0', 'b'};
	/* clang-format on */
	static const char part2[] = {'\0', '\0'};
	/* clang-format off */
	static const char want[] = {'a', '\0', 'b', '\0', '\0', 'c'};
	/* clang-format on */
	struct op_buf b;

	op_buf_init(&b, 6);
	WANT_INT("a\\0b", op_buf_append(&b, part1, sizeof(part1)), 0);
	WANT_INT("\\0\\0", op_buf_append(&b, part2, sizeof(part2)), 0);
	WANT_INT("c", op_buf_putc(&b, 'c'), 0);
	want_buf("NUL-holding buffer", &b, want, sizeof(want));
	WANT_INT("putc NUL past max", op_buf_putc(&b, '\0'), -1);
	want_buf("NUL-holding buffer after refused putc", &b, want, sizeof(want));
	op_buf_free(&b);
}

/* clang-format off */
static const struct {
	const char *name;
	const char *in;
	size_t inlen;
	const char *out;
} esc_rows[] = {
	{"printable ASCII is copied", "Hello, world! ~{}", 17, "Hello, world! ~{}"},
	{"double quote is escaped", "say \"hi\"", 8, "say \\\"hi\\\""},
	{"backslash is escaped", "a\\b", 3, "a\\\\b"},
	{"CR LF become hex", "a\r\nb", 4, "a\\x0d\\x0ab"},
	{"TAB becomes hex", "\t", 1, "\\x09"},
	{"NUL becomes hex", "a\0b", 3, "a\\x00b"},
	{"ESC becomes hex", "\033[31m", 5, "\\x1b[31m"},
	{"DEL becomes hex", "\177", 1, "\\x7f"},
	{"8-bit becomes hex", "caf\xc3\xa9", 5, "caf\\xc3\\xa9"},
	{"0xff becomes hex", "\xff", 1, "\\xff"},
	{"space is kept", " ", 1, " "},
	{"empty input", "", 0, ""},
};
/* clang-format on */

static void test_buf_escape_makes_controls_quotes_backslash_and_8bit_safe(void **state)
{
	for (size_t r = 0; r < NROWS(esc_rows); r++) {
		struct op_buf b;

		op_buf_init(&b, 256);
		WANT_INT(esc_rows[r].name,
			 op_buf_put_escaped(&b, esc_rows[r].in, esc_rows[r].inlen), 0);
		want_buf(esc_rows[r].name, &b, esc_rows[r].out, strlen(esc_rows[r].out));
		for (size_t i = 0; i < b.len; i++) {
			unsigned char c = (unsigned char)b.data[i];

			if (c < 0x20 || c >= 0x7f) {
				print_error("%s: byte %zu of the output is 0x%02x\n",
					    esc_rows[r].name, i, c);
				fail();
			}
		}
		op_buf_free(&b);
	}
}

static void test_buf_escape_stops_when_full_keeping_whole_escapes(void **state)
{
	/* clang-format off */
	static const struct {
		size_t max;
		const char *in, *out;
	} rows[] = {
		{4, "ab\ncd", "ab"},       /* "\x0a" does not fit after "ab" */
		{6, "ab\ncd", "ab\\x0a"},  /* it does, "c" does not */
		{3, "a\"b", "a\\\""},
		{2, "a\"b", "a"},
		{0, "a", ""},
		{4, "abcdef", "abcd"},     /* a run: what fits of it */
		{5, "abc\"def", "abc\\\""},
	};
	/* clang-format on */
	char label[64];

	for (size_t r = 0; r < NROWS(rows); r++) {
		struct op_buf b;

		snprintf(label, sizeof(label), "max=%zu in=%s", rows[r].max,
			 unit_esc(rows[r].in, strlen(rows[r].in)));
		op_buf_init(&b, rows[r].max);
		WANT_INT(label, op_buf_put_escaped(&b, rows[r].in, strlen(rows[r].in)), -1);
		want_buf(label, &b, rows[r].out, strlen(rows[r].out));
		op_buf_free(&b);
	}
}

static void test_buf_fresh_reset_and_truncated_buffers_are_terminated(void **state)
{
	struct op_buf b;
	char *data;

	op_buf_init(&b, 100);
	WANT_STR("fresh buffer", op_buf_str(&b), "");
	WANT_SIZE("fresh buffer allocates nothing", b.cap, 0);
	op_buf_puts(&b, "hello world");
	op_buf_truncate(&b, 5);
	want_buf("truncated to 5", &b, "hello", 5);
	op_buf_truncate(&b, 50); /* longer than len: no change */
	want_buf("truncate past len", &b, "hello", 5);
	data = b.data;
	op_buf_reset(&b);
	want_buf("reset", &b, "", 0);
	WANT_PTR("reset keeps the allocation", b.data, data);
	op_buf_free(&b);
	WANT_PTR("free clears data", b.data, NULL);
	WANT_STR("freed buffer", op_buf_str(&b), "");
	WANT_INT("freed buffer is reusable", op_buf_puts(&b, "again"), 0);
	want_buf("reused", &b, "again", 5);
	op_buf_free(&b);
}

/* ---- op_strlcpy -------------------------------------------------------- */

static void test_strlcpy_truncates_and_always_terminates(void **state)
{
	/* clang-format off */
	static const struct {
		const char *src;
		size_t size;
		bool ret;
		const char *dst;
	} rows[] = {
		{"", 1, true, ""},          {"abc", 4, true, "abc"},  {"abc", 10, true, "abc"},
		{"abc", 3, false, "ab"},    {"abc", 2, false, "a"},   {"abc", 1, false, ""},
		{"", 16, true, ""},
	};
	/* clang-format on */
	char label[64];

	for (size_t r = 0; r < NROWS(rows); r++) {
		char dst[16];

		memset(dst, '#', sizeof(dst));
		snprintf(label, sizeof(label), "\"%s\" into %zu bytes", rows[r].src, rows[r].size);
		WANT_INT(label, op_strlcpy(dst, rows[r].src, rows[r].size), rows[r].ret);
		WANT_STR(label, dst, rows[r].dst);
		/* Nothing written past dstsize. */
		if (rows[r].size < sizeof(dst))
			WANT_INT(label, dst[rows[r].size], '#');
	}
}

static void test_strlcpy_into_zero_bytes_writes_nothing(void **state)
{
	char dst[4] = "###";

	WANT_INT("size 0", op_strlcpy(dst, "abc", 0), false);
	WANT_STR("size 0 leaves dst", dst, "###");
}

/* ---- op_pool ----------------------------------------------------------- */

static bool all_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0)
			return false;
	return true;
}

static void want_aligned(const char *label, const void *p)
{
	if ((uintptr_t)p % _Alignof(max_align_t) != 0) {
		print_error("%s: got %p, want alignment %zu\n", label, p, _Alignof(max_align_t));
		fail();
	}
}

/* clang-format off */
static const size_t pool_sizes[] = {0, 1, 7, 15, 16, 17, 100, 1000, 8191, 8192, 8193, 65536, 1 << 20};
/* clang-format on */

/* Many small and large allocations: each zero-filled, aligned, writable in
 * full without touching any other. */
static void test_pool_allocations_are_zeroed_aligned_and_disjoint(void **state)
{
	enum { ROUNDS = 3, PER = NROWS(pool_sizes) * 20 };
	char label[96];

	/* Several rounds: later pools are likely to get the memory the earlier
	 * ones dirtied and freed, so "zero-filled" is really checked. */
	for (int round = 0; round < ROUNDS; round++) {
		struct op_pool *p = op_pool_new();
		unsigned char *v[PER];
		size_t n[PER], total = 0;

		assert_non_null(p);
		for (size_t i = 0; i < PER; i++) {
			n[i] = pool_sizes[i % NROWS(pool_sizes)];
			v[i] = op_pool_alloc(p, n[i]);
			snprintf(label, sizeof(label), "round %d alloc %zu of %zu bytes", round, i,
				 n[i]);
			if (v[i] == NULL) {
				print_error("%s: got NULL\n", label);
				fail();
			}
			want_aligned(label, v[i]);
			if (!all_zero(v[i], n[i])) {
				print_error("%s: got dirty memory, want zero-filled\n", label);
				fail();
			}
			memset(v[i], (int)(i % 255) + 1, n[i]);
			total += n[i];
		}
		/* No allocation overlapped another: each still holds its byte. */
		for (size_t i = 0; i < PER; i++)
			for (size_t j = 0; j < n[i]; j++)
				if (v[i][j] != (unsigned char)(i % 255 + 1)) {
					print_error(
					    "round %d alloc %zu byte %zu: got 0x%02x, want 0x%02x "
					    "(overwritten by a later allocation)\n",
					    round, i, j, v[i][j], (unsigned)(i % 255 + 1));
					fail();
				}
		WANT_SIZE("op_pool_used counts bytes handed out", op_pool_used(p), total);
		op_pool_free(&p);
	}
}

static void test_pool_strndup_copies_embedded_nuls_and_terminates(void **state)
{
	/* clang-format off */
	static const struct {
		const char *name;
		const char *s;
		size_t n;
	} rows[] = {
		{"plain", "hello", 5},
		{"prefix", "hello", 3},
		{"empty", "", 0},
		{"embedded NUL", "a\0b", 3},
		{"leading NULs", "\0\0x", 3},
		{"trailing NUL", "ab\0", 3},
	};
	/* clang-format on */
	struct op_pool *p = op_pool_new();

	assert_non_null(p);
	for (size_t r = 0; r < NROWS(rows); r++) {
		char *c = op_pool_strndup(p, rows[r].s, rows[r].n);

		assert_non_null(c);
		WANT_MEM(rows[r].name, c, rows[r].n, rows[r].s, rows[r].n);
		WANT_INT(rows[r].name, c[rows[r].n], '\0');
	}
	WANT_STR("strdup", op_pool_strdup(p, "copy me"), "copy me");
	WANT_PTR("strdup(NULL)", op_pool_strdup(p, NULL), NULL);
	op_pool_free(&p);
}

static void test_pool_free_accepts_null_and_clears_the_pointer(void **state)
{
	struct op_pool *p = NULL;

	op_pool_free(NULL);
	op_pool_free(&p);
	WANT_PTR("free(&NULL)", p, NULL);
	p = op_pool_new();
	assert_non_null(p);
	op_pool_free(&p);
	WANT_PTR("pointer after free", p, NULL);
	op_pool_free(&p); /* twice is harmless */
}

static void test_pool_refuses_impossible_sizes(void **state)
{
	struct op_pool *p = op_pool_new();

	assert_non_null(p);
	WANT_PTR("alloc SIZE_MAX", op_pool_alloc(p, SIZE_MAX), NULL);
	WANT_PTR("alloc SIZE_MAX - 8", op_pool_alloc(p, SIZE_MAX - 8), NULL);
	WANT_PTR("strndup SIZE_MAX", op_pool_strndup(p, "", SIZE_MAX), NULL);
	/* The pool is still usable. */
	assert_non_null(op_pool_alloc(p, 10));
	op_pool_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_buf_append_fills_to_max_exactly),
	    cmocka_unit_test(test_buf_append_one_past_max_fails_and_leaves_buffer_unchanged),
	    cmocka_unit_test(test_buf_printf_overflow_fails_and_leaves_buffer_unchanged),
	    cmocka_unit_test(test_buf_printf_appends_formatted_text),
	    cmocka_unit_test(test_buf_printf_and_putc_fill_the_room_then_grow),
	    cmocka_unit_test(test_buf_without_practical_limit_grows),
	    cmocka_unit_test(test_buf_append_keeps_embedded_nuls),
	    cmocka_unit_test(test_buf_escape_makes_controls_quotes_backslash_and_8bit_safe),
	    cmocka_unit_test(test_buf_escape_stops_when_full_keeping_whole_escapes),
	    cmocka_unit_test(test_buf_fresh_reset_and_truncated_buffers_are_terminated),
	    cmocka_unit_test(test_strlcpy_truncates_and_always_terminates),
	    cmocka_unit_test(test_strlcpy_into_zero_bytes_writes_nothing),
	    cmocka_unit_test(test_pool_allocations_are_zeroed_aligned_and_disjoint),
	    cmocka_unit_test(test_pool_strndup_copies_embedded_nuls_and_terminates),
	    cmocka_unit_test(test_pool_free_accepts_null_and_clears_the_pointer),
	    cmocka_unit_test(test_pool_refuses_impossible_sizes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
