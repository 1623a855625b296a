/*
 * test_rate_gcra.c - the GCRA arithmetic (plugin/gcra.c) over a fake
 * clock: bursts, windows, refunds, the clock going backwards, rates as
 * written in the config.
 *
 * Each scenario is a table of steps at given times (microseconds from an
 * origin): a request of n units, a refund, or a check of the room; the
 * TAT is kept between steps as a store would keep it.
 */
#include "config.h"

#include "unit.h"

#include <stdbool.h>
#include <stdlib.h>

#include "outpost/gcra.h"

#define T0  1700000000000000LL /* an origin on the wall clock, µs */
#define SEC 1000000LL

enum op { REQ, REFUND, ROOM };

struct step {
	int64_t at; /* µs after T0 */
	enum op op;
	uint64_t n;    /* units */
	bool allowed;  /* REQ: wanted decision */
	int64_t retry; /* REQ denied: wanted retry (µs), -1 never; ROOM: wanted room */
};

struct scenario {
	const char *name;
	const char *rate; /* "LIMIT/WINDOW" */
	uint64_t burst;	  /* 0: the limit */
	struct step steps[16];
	size_t nsteps;
};

/* clang-format off */
static const struct scenario scenarios[] = {
	{"burst of the limit at once, then one per interval", "10/10s", 0, {
		{0, REQ, 10, true, 0},
		{0, REQ, 1, false, 1 * SEC},
		{1 * SEC - 1, REQ, 1, false, 1},
		{1 * SEC, REQ, 1, true, 0},
		{1 * SEC, REQ, 1, false, 1 * SEC},
		{11 * SEC, ROOM, 0, false, 10},
	}, 6},
	{"a burst smaller than the limit", "60/1m", 5, {
		{0, REQ, 1, true, 0}, {0, REQ, 1, true, 0}, {0, REQ, 1, true, 0},
		{0, REQ, 1, true, 0}, {0, REQ, 1, true, 0},
		{0, REQ, 1, false, 1 * SEC},
		{2 * SEC, REQ, 2, true, 0},
		{2 * SEC, REQ, 1, false, 1 * SEC},
	}, 8},
	{"a day's quota: limit + burst within one window at most", "5/1d", 0, {
		{0, REQ, 5, true, 0},
		{3600 * SEC, REQ, 1, false, 86400 * SEC / 5 - 3600 * SEC},
		{86400 * SEC / 5, REQ, 1, true, 0},
		{86400 * SEC, ROOM, 0, false, 4},
		{86400 * SEC, REQ, 4, true, 0},
		{86400 * SEC, REQ, 1, false, 86400 * SEC / 5},
	}, 6},
	{"a refused request consumes nothing", "2/1m", 0, {
		{0, REQ, 2, true, 0},
		{0, REQ, 1, false, 30 * SEC},
		{0, REQ, 1, false, 30 * SEC},
		{30 * SEC, REQ, 1, true, 0},
	}, 4},
	{"more than the burst at once never passes", "100/1h", 10, {
		{0, REQ, 11, false, -1},
		{0, REQ, 10, true, 0},
		{7200 * SEC, REQ, 11, false, -1},
	}, 3},
	{"a refund gives the room back", "3/1m", 0, {
		{0, REQ, 3, true, 0},
		{0, REQ, 1, false, 20 * SEC},
		{0, REFUND, 2, false, 0},
		{0, ROOM, 0, false, 2},
		{0, REQ, 2, true, 0},
		{0, REQ, 1, false, 20 * SEC},
	}, 6},
	{"a refund never makes more room than at rest", "3/1m", 0, {
		{0, REQ, 1, true, 0},
		{0, REFUND, 5, false, 0},
		{0, ROOM, 0, false, 3},
		{0, REQ, 4, false, -1},
		{0, REQ, 3, true, 0},
	}, 5},
	{"the clock going backwards is no worse than a full bucket", "10/10s", 0, {
		{100 * SEC, REQ, 10, true, 0},
		{-3600 * SEC, REQ, 1, false, 1 * SEC},
		{-3600 * SEC + 1 * SEC, REQ, 1, true, 0},
		{-3600 * SEC + 1 * SEC, REQ, 1, false, 1 * SEC},
		/* back on time: the key refilled meanwhile, one burst at most */
		{100 * SEC, REQ, 10, true, 0},
		{100 * SEC, REQ, 1, false, 1 * SEC},
	}, 6},
	{"the clock jumping forwards refills, never beyond the burst", "10/10s", 0, {
		{0, REQ, 10, true, 0},
		{86400 * SEC, ROOM, 0, false, 10},
		{86400 * SEC, REQ, 11, false, -1},
	}, 3},
	{"bytes: a big limit with K/M/G and a fractional interval", "10M/1h", 0, {
		{0, REQ, 5 * 1024 * 1024, true, 0},
		{0, REQ, 5 * 1024 * 1024, true, 0},
		{0, REQ, 1024, false, 351562},
		{1 * SEC, REQ, 2912, true, 0},
	}, 4},
};
/* clang-format on */

static void run_scenario(const struct scenario *sc)
{
	struct op_gcra_rate r = {0};
	const char *err = NULL;
	int64_t tat = 0, tau;
	char label[200];

	WANT_INT(sc->name, op_gcra_parse(sc->rate, &r, &err), 0);
	r.burst = sc->burst ? sc->burst : r.limit;
	tau = op_gcra_tolerance(&r);
	for (size_t i = 0; i < sc->nsteps; i++) {
		const struct step *s = &sc->steps[i];
		int64_t now = T0 + s->at;
		struct op_gcra_result res;

		snprintf(label, sizeof(label), "%s: step %zu", sc->name, i + 1);
		switch (s->op) {
		case REQ:
			op_gcra_check(tat, now, op_gcra_cost(&r, s->n), tau, &res);
			WANT_INT(label, res.allowed, s->allowed);
			WANT_INT(label, res.retry_us, s->allowed ? 0 : s->retry);
			tat = res.allowed ? res.tat : res.keep;
			break;
		case REFUND:
			tat = op_gcra_refund(tat, now, op_gcra_cost(&r, s->n));
			break;
		case ROOM:
			WANT_INT(label, op_gcra_room(tat, now, tau, op_gcra_cost(&r, 1)), s->retry);
			break;
		}
	}
}

static void test_gcra_scenarios_over_a_fake_clock(void **state)
{
	(void)state;
	for (size_t i = 0; i < NROWS(scenarios); i++)
		run_scenario(&scenarios[i]);
}

/* Long runs at the limit: over any window at most limit + burst pass, and
 * a sender keeping at the limit gets the limit per window. */
static void test_gcra_long_run_stays_within_limit_plus_burst(void **state)
{
	static const struct {
		const char *rate;
		uint64_t burst;
		int64_t step; /* µs between attempts */
	} rows[] = {
	    {"100/1m", 0, 10000},
	    {"7/1m", 0, 1000},
	    {"5000/1d", 50, 1 * SEC},
	    {"3/1s", 1, 7},
	};

	(void)state;
	for (size_t i = 0; i < NROWS(rows); i++) {
		struct op_gcra_rate r = {0};
		const char *err;
		int64_t tat = 0, tau, cost, end;
		uint64_t passed = 0, first_window = 0;

		WANT_INT(rows[i].rate, op_gcra_parse(rows[i].rate, &r, &err), 0);
		r.burst = rows[i].burst ? rows[i].burst : r.limit;
		tau = op_gcra_tolerance(&r);
		cost = op_gcra_cost(&r, 1);
		end = T0 + 10 * r.window_us;
		for (int64_t now = T0; now < end; now += rows[i].step) {
			struct op_gcra_result res;

			op_gcra_check(tat, now, cost, tau, &res);
			if (!res.allowed)
				continue;
			tat = res.tat;
			passed++;
			if (now < T0 + r.window_us)
				first_window++;
		}
		WANT_SIZE(rows[i].rate, first_window <= r.limit + r.burst, 1);
		/* ten windows: burst + 10 * limit, give or take the last unit */
		WANT_SIZE(rows[i].rate, passed <= r.burst + 10 * r.limit + 1, 1);
		WANT_SIZE(rows[i].rate, passed + 1 >= r.burst + 10 * r.limit - 1, 1);
	}
}

static void test_gcra_parse_and_format(void **state)
{
	static const struct {
		const char *text;
		int rc;
		uint64_t limit;
		int64_t window_us;
		const char *formatted;
	} rows[] = {
	    {"100/1m", 0, 100, 60 * SEC, "100/1m"},
	    {"5000/1d", 0, 5000, 86400 * SEC, "5000/1d"},
	    {"5000/d", 0, 5000, 86400 * SEC, "5000/1d"},
	    {"10M/1h", 0, 10485760, 3600 * SEC, "10485760/1h"},
	    {"64k/30s", 0, 65536, 30 * SEC, "65536/30s"},
	    {"1/90m", 0, 1, 5400 * SEC, "1/90m"},
	    {"2/7d", 0, 2, 7 * 86400 * SEC, "2/7d"},
	    {"0/1m", -1, 0, 0, NULL},
	    {"100", -1, 0, 0, NULL},
	    {"100/", -1, 0, 0, NULL},
	    {"100/1w", -1, 0, 0, NULL},
	    {"100/0s", -1, 0, 0, NULL},
	    {"100/367d", -1, 0, 0, NULL},
	    {"-1/1m", -1, 0, 0, NULL},
	    {"1x/1m", -1, 0, 0, NULL},
	    {"100/1m ", -1, 0, 0, NULL},
	    {"1000000000001/1m", -1, 0, 0, NULL},
	    {"99999999999999999999999/1m", -1, 0, 0, NULL},
	};

	(void)state;
	for (size_t i = 0; i < NROWS(rows); i++) {
		struct op_gcra_rate r = {0};
		const char *err = NULL;
		char out[64];

		WANT_INT(rows[i].text, op_gcra_parse(rows[i].text, &r, &err), rows[i].rc);
		if (rows[i].rc < 0) {
			WANT_INT(rows[i].text, err != NULL, 1);
			continue;
		}
		WANT_SIZE(rows[i].text, r.limit, rows[i].limit);
		WANT_INT(rows[i].text, r.window_us, rows[i].window_us);
		op_gcra_format(&r, out, sizeof(out));
		WANT_STR(rows[i].text, out, rows[i].formatted);
	}
}

static void test_gcra_level_and_saturation(void **state)
{
	struct op_gcra_rate huge = {1, 366LL * 86400 * SEC, 1000000000000ULL};
	struct op_gcra_result res;

	(void)state;
	WANT_INT("at rest", op_gcra_level(T0 - 5, T0, 100), 0);
	WANT_INT("half", op_gcra_level(T0 + 50, T0, 100), 500);
	WANT_INT("full", op_gcra_level(T0 + 100, T0, 100), 1000);
	WANT_INT("beyond", op_gcra_level(T0 + 500, T0, 100), 1000);
	/* 10^12 units of a 1-per-366-days rate: saturates, never wraps */
	WANT_INT("tolerance saturates", op_gcra_tolerance(&huge) > 0, 1);
	WANT_INT("cost saturates", op_gcra_cost(&huge, UINT64_MAX), INT64_MAX);
	op_gcra_check(0, T0, INT64_MAX, INT64_MAX, &res);
	WANT_INT("saturated check allowed", res.allowed, 1);
	WANT_INT("saturated tat", res.tat, INT64_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_gcra_scenarios_over_a_fake_clock),
	    cmocka_unit_test(test_gcra_long_run_stays_within_limit_plus_burst),
	    cmocka_unit_test(test_gcra_parse_and_format),
	    cmocka_unit_test(test_gcra_level_and_saturation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
