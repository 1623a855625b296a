/*
 * test_spf_suite.c - the RFC 7208 test suite (openspf.org, release
 * 2014.04, as python3-spf ships it) through outpost's SPF engine
 * (plugin/mod_spf.c) over libspf2's zone layer: no DNS server.
 *
 *   test_spf_suite [DATAFILE]
 *
 * DATAFILE (default $srcdir/tests/data/spf/rfc7208-tests.txt) is the
 * suite converted by tests/data/spf/yaml2tests.py.  Each test whose result
 * is not among the suite's accepted results prints its id with got/want
 * and the engine's reason.  The last line is "rfc7208: N/M passed".  The
 * exit status is 0 when at least SPF_SUITE_FLOOR tests pass (so a
 * regression fails `make check`), 1 otherwise, 99 when the data cannot be
 * read.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outpost/spf.h"

/* 203 less a-null and mx-null: a NUL byte inside a TXT record, which
 * libspf2's DNS layers (its zone layer here) keep as C strings, so the
 * record reaches the grammar check cut short at the NUL. */
#define SPF_SUITE_FLOOR 201
#define LINE_MAX_	8192

static int pass, total;
static struct op_spf_zone *zone;
static struct op_spf_engine *engine;
static const struct op_spf_limits limits = {10, 2, 10, 20000};

/* Decode %XX in place; a lone "%" is the empty string. */
static char *pct(char *s)
{
	char *o = s;

	if (strcmp(s, "%") == 0) {
		s[0] = '\0';
		return s;
	}
	for (char *p = s; *p; p++) {
		if (p[0] == '%' && p[1] && p[2]) {
			char hex[3] = {p[1], p[2], 0};

			*o++ = (char)strtol(hex, NULL, 16);
			p += 2;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	return s;
}

static int split(char *line, char **f, int max)
{
	int n = 0;

	for (char *t = strtok(line, " \n"); t && n < max; t = strtok(NULL, " \n"))
		f[n++] = t;
	return n;
}

static void scenario_end(void)
{
	op_spf_engine_free(&engine);
	op_spf_zone_free(&zone);
}

static int scenario_start(void)
{
	const char *err;

	scenario_end();
	if (op_spf_zone_new(&zone, &err) < 0) {
		fprintf(stderr, "zone: %s\n", err);
		return -1;
	}
	return 0;
}

static int zone_line(char **f, int n)
{
	const char *err;
	int r;

	if (n < 4)
		return -1;
	if (strcmp(f[2], "TIMEOUT") == 0)
		r = op_spf_zone_timeout(zone, pct(f[1]), f[3], &err);
	else
		r = op_spf_zone_add(zone, pct(f[1]), f[2], pct(f[3]), &err);
	if (r < 0)
		fprintf(stderr, "zone %s %s: %s (ignored)\n", f[1], f[2], err);
	return 0;
}

/* "fail,softfail" holds got? */
static int accepted(const char *list, const char *got)
{
	char copy[256];

	snprintf(copy, sizeof(copy), "%s", list);
	for (char *t = strtok(copy, ","); t; t = strtok(NULL, ","))
		if (strcmp(t, got) == 0)
			return 1;
	return 0;
}

static int test_line(char **f, int n, const char *scenario)
{
	struct op_spf_outcome o;
	const char *err, *got;

	if (n < 6)
		return -1;
	if (engine == NULL && op_spf_engine_new(&limits, zone, &engine, &err) < 0) {
		fprintf(stderr, "engine: %s\n", err);
		return -1;
	}
	op_spf_check(engine, pct(f[3]), pct(f[4]), pct(f[2]), 0, &o);
	got = op_spf_result_name(o.result);
	total++;
	if (accepted(f[5], got)) {
		pass++;
		return 0;
	}
	printf("FAIL %s/%s: got %s, want %s (terms=%u voids=%u%s%s)\n", scenario, pct(f[1]), got,
	       f[5], o.terms, o.voids, o.problem[0] ? " problem: " : "", o.problem);
	return 0;
}

int main(int argc, char **argv)
{
	char path[4096], line[LINE_MAX_], scenario[256] = "";
	const char *srcdir = getenv("srcdir");
	FILE *fp;

	if (argc > 1)
		snprintf(path, sizeof(path), "%s", argv[1]);
	else
		snprintf(path, sizeof(path), "%s/tests/data/spf/rfc7208-tests.txt",
			 srcdir ? srcdir : ".");
	fp = fopen(path, "r");
	if (fp == NULL) {
		perror(path);
		return 99;
	}
	while (fgets(line, sizeof(line), fp)) {
		char *f[8];
		int n = split(line, f, 8), r = 0;

		if (n == 0 || f[0][0] == '#')
			continue;
		if (strcmp(f[0], "S") == 0) {
			r = scenario_start();
			snprintf(scenario, sizeof(scenario), "%s", n > 2 ? pct(f[2]) : "?");
		} else if (strcmp(f[0], "Z") == 0) {
			r = zone_line(f, n);
		} else if (strcmp(f[0], "T") == 0) {
			r = test_line(f, n, scenario);
		}
		if (r < 0) {
			fprintf(stderr, "%s: bad line or setup failure\n", path);
			fclose(fp);
			return 99;
		}
	}
	fclose(fp);
	scenario_end();
	printf("rfc7208: %d/%d passed\n", pass, total);
	return pass >= SPF_SUITE_FLOOR ? 0 : 1;
}
