/*
 * test_track_helpers.c - the track module's leaf helpers (plugin/track.c,
 * include/outpost/track.h): UUIDv7 tracking IDs, cleaning of customer
 * text, the Feedback-ID template and List-Id parsing.
 */
#include "config.h"

#include "unit.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "outpost/track.h"

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* RFC 9562: 8-4-4-4-12 lower-case hex, version 7, variant 10, the first
 * 48 bits the Unix time in milliseconds; later times sort later. */
static void test_uuid7_layout_and_order(void **state)
{
	char prev[OP_TRACK_UUID_LEN + 1] = "", id[OP_TRACK_UUID_LEN + 1];
	struct timespec ts = {1795459967, 123456789};

	(void)state;
	for (int i = 0; i < 2000; i++) {
		unsigned long long ms = 0;

		WANT_INT("uuid7", op_track_uuid7(&ts, id), 0);
		WANT_SIZE(id, strlen(id), 36);
		for (int k = 0; k < 36; k++) {
			bool dash = k == 8 || k == 13 || k == 18 || k == 23;

			if (dash ? id[k] != '-' : hexval(id[k]) < 0) {
				print_error("%s: character %d: got '%c'\n", id, k, id[k]);
				fail();
			}
		}
		WANT_INT("version nibble", id[14], '7');
		WANT_INT("variant", hexval(id[19]) >> 2, 2);
		for (int k = 0; k < 13; k++)
			if (id[k] != '-')
				ms = ms * 16 + (unsigned long long)hexval(id[k]);
		WANT_SIZE("time prefix", ms,
			  (unsigned long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
		if (prev[0] && strcmp(prev, id) >= 0) {
			print_error("not time-ordered: %s then %s\n", prev, id);
			fail();
		}
		memcpy(prev, id, sizeof(id));
		ts.tv_nsec += 300; /* more than the 244 ns resolution */
		if (ts.tv_nsec >= 1000000000)
			ts.tv_sec++, ts.tv_nsec -= 1000000000;
	}
}

#define IDS_PER_THREAD 3000
#define ID_THREADS     4

static char same_instant[ID_THREADS * IDS_PER_THREAD][OP_TRACK_UUID_LEN + 1];

static void *make_ids(void *arg)
{
	char(*ids)[OP_TRACK_UUID_LEN + 1] = arg;
	struct timespec ts = {1795459967, 123456789};

	for (int i = 0; i < IDS_PER_THREAD; i++)
		if (op_track_uuid7(&ts, ids[i]) < 0)
			ids[i][0] = '\0';
	return NULL;
}

static int cmp_id(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* IDs made at one instant by several threads (each drawing from its own
 * pool of random bytes) all differ. */
static void test_uuid7_same_instant_ids_differ_across_threads(void **state)
{
	pthread_t t[ID_THREADS];
	size_t n = ID_THREADS * IDS_PER_THREAD, dup = 0;

	(void)state;
	for (int i = 0; i < ID_THREADS; i++)
		assert_int_equal(
		    pthread_create(&t[i], NULL, make_ids, same_instant[i * IDS_PER_THREAD]), 0);
	for (int i = 0; i < ID_THREADS; i++)
		pthread_join(t[i], NULL);
	qsort(same_instant, n, sizeof(same_instant[0]), cmp_id);
	for (size_t i = 0; i < n; i++) {
		WANT_SIZE(same_instant[i], strlen(same_instant[i]), 36);
		if (i > 0 && strcmp(same_instant[i - 1], same_instant[i]) == 0 && dup++ < 3)
			print_error("the same ID twice: %s\n", same_instant[i]);
	}
	WANT_SIZE("IDs made twice", dup, 0);
}

/* clang-format off */
static const struct {
	const char *in;
	size_t max;
	const char *want;
} id_rows[] = {
	{"spring-2026", 64, "spring-2026"},
	{"  Spring Sale 2026\r\n\t", 64, "Spring_Sale_2026"},
	{"a:b:c", 64, "a_b_c"},                 /* a colon would shift the fields */
	{"<x>;\"y\"", 64, "x_y"},
	{"Grüße", 64, "Gr_e"},
	{"!!!", 64, ""},
	{"abcdefghij", 4, "abcd"},
	{"ab   cd", 3, "ab"},                   /* no '_' at the end of the cut */
};

static const struct {
	const char *in;
	size_t max;
	const char *want;
} tag_rows[] = {
	{" vip ", 64, "vip"},
	{"two words", 64, "two words"},
	{"line\r\n\tfolded", 64, "line folded"},
	{"ctl\001x", 64, "ctl x"},
	{"Grüße", 64, "Grüße"},
	{"Grüße", 4, "Gr"},                     /* not inside the two-octet ü */
	{"abcdef", 3, "abc"},
	{"", 64, ""},
};
/* clang-format on */

static void test_clean_id_and_tag(void **state)
{
	char out[300];

	(void)state;
	for (size_t i = 0; i < NROWS(id_rows); i++) {
		op_track_clean_id(id_rows[i].in, strlen(id_rows[i].in), id_rows[i].max, out,
				  sizeof(out));
		WANT_STR(id_rows[i].in, out, id_rows[i].want);
	}
	for (size_t i = 0; i < NROWS(tag_rows); i++) {
		op_track_clean_tag(tag_rows[i].in, strlen(tag_rows[i].in), tag_rows[i].max, out,
				   sizeof(out));
		WANT_STR(tag_rows[i].in, out, tag_rows[i].want);
	}
	op_track_clean_id("abcdefgh", 8, 64, out, 4);
	WANT_STR("outsize bounds", out, "abc");
}

/* clang-format off */
static const struct {
	const char *tmpl;
	bool ok;
} tmpl_rows[] = {
	{"{campaign}:{tenant}:{type}", true},
	{"", true},
	{"fixed", true},
	{"c-{campaign}:{list}", true},
	{"a:b:c:d", false},
	{"{nope}", false},
	{"{campaign", false},
	{"a b", false},
};

static const struct {
	const char *id;
	bool ok;
} sid_rows[] = {
	{"outpost1", true}, {"abcde", true}, {"abcdefghijklmno", true},
	{"abcd", false}, {"abcdefghijklmnop", false}, {"out post", false}, {"out:post", false},
};

static const struct {
	const char *label, *tmpl, *campaign, *tenant, *type, *list, *sid, *want;
} fbid_rows[] = {
	{"all fields", "{campaign}:{tenant}:{type}", "spring", "acme", "bulk", NULL, "outpost1",
	 "spring:acme:bulk:outpost1"},
	{"no campaign: its part left out", "{campaign}:{tenant}:{type}", NULL, "acme", "bulk", NULL,
	 "outpost1", "acme:bulk:outpost1"},
	{"customer text is cleaned", "{campaign}:{tenant}", "Big Sale: 50%", "acme", NULL, NULL,
	 "outpost1", "Big_Sale_50:acme:outpost1"},
	{"text around a field", "c{campaign}:x-{list}", "7", NULL, NULL, "news.example", "sender1",
	 "c7:x-news.example:sender1"},
	{"empty template", "", "spring", "acme", "bulk", NULL, "outpost1", "outpost1"},
};
/* clang-format on */

static void test_feedback_id_template(void **state)
{
	char out[OP_TRACK_FBID_MAX];

	(void)state;
	for (size_t i = 0; i < NROWS(tmpl_rows); i++) {
		const char *why = op_track_template_check(tmpl_rows[i].tmpl);

		WANT_INT(tmpl_rows[i].tmpl, why == NULL, tmpl_rows[i].ok);
	}
	for (size_t i = 0; i < NROWS(sid_rows); i++)
		WANT_INT(sid_rows[i].id, op_track_sender_id_check(sid_rows[i].id) == NULL,
			 sid_rows[i].ok);
	for (size_t i = 0; i < NROWS(fbid_rows); i++) {
		struct op_track_fields f = {fbid_rows[i].campaign, fbid_rows[i].tenant,
					    fbid_rows[i].type, fbid_rows[i].list};

		WANT_INT(
		    fbid_rows[i].label,
		    op_track_feedback_id(fbid_rows[i].tmpl, &f, fbid_rows[i].sid, out, sizeof(out)),
		    0);
		WANT_STR(fbid_rows[i].label, out, fbid_rows[i].want);
	}
	{
		struct op_track_fields f = {"campaign", "tenant", "type", NULL};

		WANT_INT("out too small",
			 op_track_feedback_id("{campaign}:{tenant}", &f, "outpost1", out, 10), -1);
	}
}

static void test_list_id(void **state)
{
	static const struct {
		const char *in, *want;
	} rows[] = {
	    {" Newsletter <news.acme.example>", "news.acme.example"},
	    {" <news.acme.example>", "news.acme.example"},
	    {" news.acme.example", "news.acme.example"},
	    {" \"Odd\" <weird list!>", "weird_list"},
	    {" <unterminated", "unterminated"},
	};
	char out[256];

	(void)state;
	for (size_t i = 0; i < NROWS(rows); i++) {
		op_track_list_id(rows[i].in, strlen(rows[i].in), out, sizeof(out));
		WANT_STR(rows[i].in, out, rows[i].want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_uuid7_layout_and_order),
	    cmocka_unit_test(test_uuid7_same_instant_ids_differ_across_threads),
	    cmocka_unit_test(test_clean_id_and_tag),
	    cmocka_unit_test(test_feedback_id_template),
	    cmocka_unit_test(test_list_id),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
