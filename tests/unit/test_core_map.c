/*
 * test_core_map.c - the string-keyed hash map (plugin/map.c,
 * include/outpost/map.h): growth to 100,000 keys, ASCII case folding,
 * add-versus-put on duplicates, absent keys, and lookups by length-bounded
 * slices that are not NUL terminated (how callers look up the domain part
 * of an address without copying it).
 */
#include "config.h"

#include "unit.h"

#include <stdbool.h>
#include <stdlib.h>

#include "outpost/map.h"

#define NKEYS 100000

/* Values are small integers dressed as pointers; 0 would read as "absent". */
#define V(i) ((void *)(uintptr_t)(i))

static void test_map_holds_100000_keys_and_finds_each(void **state)
{
	struct op_map *m = op_map_new(false);
	char key[32], label[64];

	assert_non_null(m);
	for (unsigned i = 0; i < NKEYS; i++) {
		snprintf(key, sizeof(key), "key-%u", i);
		WANT_INT(key, op_map_add(m, key, V(i + 1)), 1);
	}
	WANT_SIZE("count after inserts", op_map_count(m), NKEYS);
	for (unsigned i = 0; i < NKEYS; i++) {
		snprintf(key, sizeof(key), "key-%u", i);
		WANT_PTR(key, op_map_get(m, key), V(i + 1));
	}
	/* Absent keys that look like present ones. */
	for (unsigned i = NKEYS; i < NKEYS + 1000; i++) {
		snprintf(key, sizeof(key), "key-%u", i);
		WANT_PTR(key, op_map_get(m, key), NULL);
		snprintf(label, sizeof(label), "KEY-%u", i - NKEYS);
		WANT_PTR(label, op_map_get(m, label), NULL); /* case-sensitive map */
	}
	WANT_SIZE("count after lookups", op_map_count(m), NKEYS);
	op_map_free(&m);
	WANT_PTR("map after free", m, NULL);
}

static void count_entry(const char *key, void *value, void *arg)
{
	unsigned *seen = arg;
	uintptr_t i = (uintptr_t)value;

	if (i == 0 || i > 1000) {
		print_error("each: key %s has value %lu, want 1..1000\n", key, (unsigned long)i);
		fail();
	}
	seen[i - 1]++;
}

static void test_map_each_visits_every_entry_once(void **state)
{
	struct op_map *m = op_map_new(true);
	unsigned seen[1000] = {0};
	char key[32];

	assert_non_null(m);
	for (unsigned i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "Host%u.Example", i);
		assert_int_equal(op_map_put(m, key, V(i + 1)), 0);
	}
	op_map_each(m, count_entry, seen);
	for (unsigned i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "visits of value %u", i + 1);
		WANT_INT(key, seen[i], 1);
	}
	op_map_free(&m);
}

/* clang-format off */
static const struct {
	bool icase;
	const char *stored, *asked;
	bool found;
} case_rows[] = {
	{true, "example.org", "EXAMPLE.ORG", true},
	{true, "Example.ORG", "example.org", true},
	{true, "Example.ORG", "eXaMpLe.OrG", true},
	{true, "a-z_0-9@[]", "A-Z_0-9@[]", true},
	{true, "@[\\]^_`", "`{|}~@", false},  /* folding is A-Z only, not the bytes next to it */
	{true, "\xc3\xa9t\xc3\xa9", "\xc3\x89T\xc3\x89", false}, /* no UTF-8 folding */
	{true, "example.org", "example.org.", false},
	{false, "alice", "Alice", false},
	{false, "alice", "alice", true},
	{false, "Alice", "ALICE", false},
};
/* clang-format on */

static void test_map_icase_folds_ascii_letters_only(void **state)
{
	char label[96];

	for (size_t r = 0; r < NROWS(case_rows); r++) {
		struct op_map *m = op_map_new(case_rows[r].icase);

		snprintf(label, sizeof(label), "%s map: put \"%s\", get \"%s\"",
			 case_rows[r].icase ? "icase" : "exact",
			 unit_esc(case_rows[r].stored, strlen(case_rows[r].stored)),
			 unit_esc(case_rows[r].asked, strlen(case_rows[r].asked)));
		assert_non_null(m);
		assert_int_equal(op_map_put(m, case_rows[r].stored, V(7)), 0);
		WANT_PTR(label, op_map_get(m, case_rows[r].asked),
			 case_rows[r].found ? V(7) : NULL);
		/* add of the asked key collides exactly when the lookup found it */
		WANT_INT(label, op_map_add(m, case_rows[r].asked, V(8)),
			 case_rows[r].found ? 0 : 1);
		WANT_SIZE(label, op_map_count(m), case_rows[r].found ? 1 : 2);
		op_map_free(&m);
	}
}

static void test_map_add_refuses_duplicates_and_keeps_old_value(void **state)
{
	/* clang-format off */
	static const struct {
		const char *key;
		uintptr_t value;
		int want;           /* op_map_add's return */
		uintptr_t after;    /* value of key afterwards */
	} rows[] = {
		{"a.example", 1, 1, 1},
		{"b.example", 2, 1, 2},
		{"a.example", 3, 0, 1},  /* duplicate: old value stays */
		{"A.EXAMPLE", 4, 0, 1},  /* duplicate after folding */
		{"b.example", 5, 0, 2},
		{"", 6, 1, 6},           /* the empty key is a key */
		{"", 7, 0, 6},
	};
	/* clang-format on */
	struct op_map *m = op_map_new(true);

	assert_non_null(m);
	for (size_t r = 0; r < NROWS(rows); r++) {
		char label[64];

		snprintf(label, sizeof(label), "row %zu add \"%s\"=%lu", r, rows[r].key,
			 (unsigned long)rows[r].value);
		WANT_INT(label, op_map_add(m, rows[r].key, V(rows[r].value)), rows[r].want);
		WANT_PTR(label, op_map_get(m, rows[r].key), V(rows[r].after));
	}
	WANT_SIZE("count", op_map_count(m), 3);
	op_map_free(&m);
}

static void test_map_put_replaces_value_without_adding_a_key(void **state)
{
	struct op_map *m = op_map_new(true);

	assert_non_null(m);
	WANT_INT("first put", op_map_put(m, "key", V(1)), 0);
	WANT_INT("second put", op_map_put(m, "KEY", V(2)), 0);
	WANT_PTR("value after second put", op_map_get(m, "key"), V(2));
	WANT_INT("put NULL value", op_map_put(m, "key", NULL), 0);
	WANT_PTR("value after put NULL", op_map_get(m, "key"), NULL);
	WANT_SIZE("count", op_map_count(m), 1);
	op_map_free(&m);
}

static void test_map_absent_keys_and_null_map_give_null(void **state)
{
	/* clang-format off */
	static const char *const absent[] = {"", "exampl", "example.orgx", "xexample.org",
					     "example.or", "example.org ", " example.org"};
	struct op_map *m = op_map_new(false);

	assert_non_null(m);
	WANT_PTR("empty map", op_map_get(m, "example.org"), NULL);
	WANT_PTR("empty map, empty key", op_map_get(m, ""), NULL);
	assert_int_equal(op_map_put(m, "example.org", V(1)), 0);
	for (size_t r = 0; r < NROWS(absent); r++)
		WANT_PTR(absent[r], op_map_get(m, absent[r]), NULL);
	WANT_PTR("NULL map", op_map_get(NULL, "example.org"), NULL);
	WANT_SIZE("NULL map count", op_map_count(NULL), 0);
	op_map_each(NULL, count_entry, NULL);
	op_map_free(&m);
	op_map_free(&m); /* already NULL */
	op_map_free(NULL);
}

static void test_map_getn_looks_up_slices_without_terminator(void **state)
{
	/* Not NUL terminated anywhere: getn must read exactly n bytes. */
	static const char raw[] = {'a', 'l', 'i', 'c', 'e', '@', 'E', 'x', 'a', 'm', 'p', 'l',
				   'e', '.', 'O', 'R', 'G', '>', '>'};
	static const struct {
		size_t off, n;
		uintptr_t want;
	} rows[] = {
		{6, 11, 1},  /* "Example.ORG" */
		{6, 12, 0},  /* "Example.ORG>" */
		{6, 10, 0},  /* "Example.OR" */
		{0, 5, 2},   /* "alice" */
		{0, 4, 0},   /* "alic" */
		{0, 6, 0},   /* "alice@" */
		{14, 3, 3},  /* "ORG" */
		{5, 0, 4},   /* the empty key */
	};
	/* clang-format on */
	struct op_map *m = op_map_new(true);
	char label[64];

	assert_non_null(m);
	assert_int_equal(op_map_put(m, "example.org", V(1)), 0);
	assert_int_equal(op_map_put(m, "alice", V(2)), 0);
	assert_int_equal(op_map_put(m, "org", V(3)), 0);
	assert_int_equal(op_map_put(m, "", V(4)), 0);
	for (size_t r = 0; r < NROWS(rows); r++) {
		snprintf(label, sizeof(label), "getn(\"%.*s\", %zu)", (int)rows[r].n,
			 raw + rows[r].off, rows[r].n);
		WANT_PTR(label, op_map_getn(m, raw + rows[r].off, rows[r].n), V(rows[r].want));
	}
	op_map_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_map_holds_100000_keys_and_finds_each),
	    cmocka_unit_test(test_map_each_visits_every_entry_once),
	    cmocka_unit_test(test_map_icase_folds_ascii_letters_only),
	    cmocka_unit_test(test_map_add_refuses_duplicates_and_keeps_old_value),
	    cmocka_unit_test(test_map_put_replaces_value_without_adding_a_key),
	    cmocka_unit_test(test_map_absent_keys_and_null_map_give_null),
	    cmocka_unit_test(test_map_getn_looks_up_slices_without_terminator),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
