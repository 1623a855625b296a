/*
 * gcra.c - GCRA arithmetic over a theoretical arrival time (see
 * include/outpost/gcra.h).  128-bit intermediates keep n * window exact up
 * to the largest limits; results saturate instead of wrapping.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outpost/gcra.h"

#define US_MAX INT64_MAX

int64_t op_gcra_cost(const struct op_gcra_rate *r, uint64_t n)
{
	unsigned __int128 c = (unsigned __int128)n * (uint64_t)r->window_us / r->limit;

	return c > (unsigned __int128)US_MAX ? US_MAX : (int64_t)c;
}

int64_t op_gcra_tolerance(const struct op_gcra_rate *r)
{
	unsigned __int128 p = (unsigned __int128)r->burst * (uint64_t)r->window_us;
	unsigned __int128 c = (p + r->limit - 1) / r->limit;

	return c > (unsigned __int128)US_MAX ? US_MAX : (int64_t)c;
}

/* a + b without overflow (both >= 0). */
static int64_t sat_add(int64_t a, int64_t b)
{
	return a > US_MAX - b ? US_MAX : a + b;
}

void op_gcra_check(int64_t tat, int64_t now, int64_t cost, int64_t tau, struct op_gcra_result *res)
{
	int64_t base = tat > now ? tat : now;
	int64_t limit_at = sat_add(now, tau);
	int64_t next;

	if (base > limit_at)
		base = limit_at; /* the clock went backwards: at most a full bucket */
	next = sat_add(base, cost);
	res->tat = tat;
	res->keep = tat > limit_at ? limit_at : tat;
	if (cost > tau) {
		res->allowed = false;
		res->retry_us = -1;
		return;
	}
	if (next <= limit_at) {
		res->allowed = true;
		res->tat = next;
		res->retry_us = 0;
		return;
	}
	res->allowed = false;
	res->retry_us = next - limit_at;
}

int64_t op_gcra_refund(int64_t tat, int64_t now, int64_t cost)
{
	if (tat <= now || cost >= tat - now)
		return now;
	return tat - cost;
}

int op_gcra_level(int64_t tat, int64_t now, int64_t tau)
{
	int64_t used = tat - now;

	if (used <= 0 || tau <= 0)
		return used > 0 ? 1000 : 0;
	if (used >= tau)
		return 1000;
	return (int)((unsigned __int128)used * 1000 / (uint64_t)tau);
}

uint64_t op_gcra_room(int64_t tat, int64_t now, int64_t tau, int64_t unit_cost)
{
	int64_t used = tat > now ? tat - now : 0;

	if (used >= tau)
		return 0;
	if (unit_cost <= 0)
		return UINT64_MAX;
	return (uint64_t)((tau - used) / unit_cost);
}

static const struct {
	char unit;
	int64_t us;
} window_units[] = {{'s', 1000000LL}, {'m', 60000000LL}, {'h', 3600000000LL}, {'d', 86400000000LL}};

/* "[COUNT]UNIT" into microseconds.  0 or -1. */
static int parse_window(const char *w, int64_t *us_r)
{
	unsigned long long count = 1;
	char *end = (char *)w;

	if (isdigit((unsigned char)*w)) {
		errno = 0;
		count = strtoull(w, &end, 10);
		if (errno == ERANGE || count == 0 || count > 1000000)
			return -1;
	}
	if (end[0] == '\0' || end[1] != '\0')
		return -1;
	for (size_t i = 0; i < sizeof(window_units) / sizeof(window_units[0]); i++) {
		if (tolower((unsigned char)end[0]) != window_units[i].unit)
			continue;
		if ((int64_t)count > OP_GCRA_WINDOW_MAX_US / window_units[i].us)
			return -1;
		*us_r = (int64_t)count * window_units[i].us;
		return 0;
	}
	return -1;
}

int op_gcra_parse(const char *text, struct op_gcra_rate *r, const char **err_r)
{
	const char *slash = strchr(text, '/');
	unsigned long long limit, mult = 1;
	char *end;
	int64_t us;

	if (slash == NULL || !isdigit((unsigned char)text[0]))
		return *err_r = "a rate is LIMIT/WINDOW, e.g. \"100/1m\" or \"5000/1d\"", -1;
	errno = 0;
	limit = strtoull(text, &end, 10);
	if (end != slash) {
		switch (tolower((unsigned char)*end)) {
		case 'k':
			mult = 1024ULL;
			break;
		case 'm':
			mult = 1024ULL * 1024;
			break;
		case 'g':
			mult = 1024ULL * 1024 * 1024;
			break;
		default:
			mult = 0;
			break;
		}
		if (mult == 0 || end + 1 != slash)
			return *err_r =
				   "the limit of a rate is a number, optionally with K, M or G",
			       -1;
	}
	if (errno == ERANGE || limit == 0 || limit > OP_GCRA_LIMIT_MAX / mult)
		return *err_r = "the limit of a rate must be between 1 and 10^12", -1;
	if (parse_window(slash + 1, &us) < 0)
		return *err_r =
			   "the window of a rate is [COUNT]s, m, h or d (1s to 366d), e.g. \"1m\"",
		       -1;
	r->limit = limit * mult;
	r->window_us = us;
	return 0;
}

void op_gcra_format(const struct op_gcra_rate *r, char *out, size_t outsize)
{
	size_t u = sizeof(window_units) / sizeof(window_units[0]);

	while (u-- > 1 && r->window_us % window_units[u].us != 0)
		;
	snprintf(out, outsize, "%llu/%lld%c", (unsigned long long)r->limit,
		 (long long)(r->window_us / window_units[u].us), window_units[u].unit);
}
