/*
 * bench_rate.c - the cost of one rate check and the bytes per key of each
 * store, measured through the store interface (include/outpost/store.h)
 * exactly as the rate module calls it.
 *
 *   tests/bench/bench_rate lmdb DIR [CHECKS] [KEYS]
 *   tests/bench/bench_rate redis HOST:PORT [CHECKS] [KEYS]
 *
 * 1. CHECKS checks of 2 rules (a minute and a day limit of one key, as a
 *    login's MAIL FROM check) on 1,000 keys in turn, one thread: the mean
 *    and median microseconds of one check (one store call).
 * 2. KEYS distinct keys written once (one rule each): bytes per key, from
 *    the disk blocks of the LMDB file (sparse, as large as its map), or from Redis's used_memory (printed by the
 *    caller, see below) and MEMORY USAGE of one key.
 * Prints "name value unit" lines.  Not run by `make check`: build it with
 * `make tests/bench/bench_rate`.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "outpost/gcra.h"
#include "outpost/store.h"

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	struct op_store_conf sc = {0};
	struct op_gcra_rate minute = {1000000, 60000000, 1000000},
			    day = {100000000, 86400000000LL, 100000000};
	struct op_store_item items[2];
	struct op_store_check c = {0};
	struct op_store *st;
	const char *err = NULL;
	char path[512], k1[64], k2[64];
	long checks = argc > 3 ? atol(argv[3]) : 100000, keys = argc > 4 ? atol(argv[4]) : 100000;
	int64_t *lat, t0, total = 0;
	struct stat sb;

	if (argc < 3 || (strcmp(argv[1], "lmdb") && strcmp(argv[1], "redis"))) {
		fprintf(stderr, "usage: bench_rate lmdb DIR | redis HOST:PORT [CHECKS] [KEYS]\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/bench.mdb", argv[2]);
	sc.kind = strcmp(argv[1], "lmdb") == 0 ? OP_STORE_LMDB : OP_STORE_REDIS;
	sc.lmdb_path = path;
	sc.lmdb_map_size = 1LL << 30;
	sc.redis_address = argv[2];
	sc.redis_prefix = "bench:";
	sc.redis_connect_timeout_ms = 1000;
	sc.redis_timeout_ms = 1000;
	st = op_store_get(&sc, &err);
	lat = calloc((size_t)checks, sizeof(*lat));
	if (st == NULL || lat == NULL)
		return fprintf(stderr, "bench_rate: %s\n", err ? err : "out of memory"), 1;
	memset(items, 0, sizeof(items));
	items[0].key = k1;
	items[1].key = k2;
	items[0].cost = op_gcra_cost(&minute, 1);
	items[0].tau = op_gcra_tolerance(&minute);
	items[1].cost = op_gcra_cost(&day, 1);
	items[1].tau = op_gcra_tolerance(&day);
	items[0].blocking = items[1].blocking = true;
	c.items = items;
	c.nitems = 2;
	for (long i = 0; i < checks; i++) {
		snprintf(k1, sizeof(k1), "login:user%04ld#login-minute", i % 1000);
		snprintf(k2, sizeof(k2), "login:user%04ld#login-day", i % 1000);
		t0 = mono_ns();
		if (op_store_check(st, &c, &err) != 0)
			return fprintf(stderr, "bench_rate: check: %s\n", err), 1;
		lat[i] = mono_ns() - t0;
		total += lat[i];
	}
	qsort(lat, (size_t)checks, sizeof(*lat), cmp64);
	printf("%s check_2_rules_mean %.2f us\n", argv[1], (double)total / checks / 1000.0);
	printf("%s check_2_rules_median %.2f us\n", argv[1], (double)lat[checks / 2] / 1000.0);
	printf("%s check_2_rules_p99 %.2f us\n", argv[1], (double)lat[checks * 99 / 100] / 1000.0);
	/* keys that stay in use for a day: 10 a day each */
	items[0].cost = op_gcra_cost(&(struct op_gcra_rate){10, 86400000000LL, 10}, 1);
	items[0].tau = op_gcra_tolerance(&(struct op_gcra_rate){10, 86400000000LL, 10});
	c.nitems = 1;
	/* The disk space the file holds: LMDB sizes it as its map, sparse
	 * (MDB_WRITEMAP); the blocks allocated are the pages in use plus the
	 * store's reservation ahead. */
	if (sc.kind == OP_STORE_LMDB && stat(path, &sb) == 0)
		printf("lmdb file_before_keys %lld bytes on disk\n", (long long)sb.st_blocks * 512);
	for (long i = 0; i < keys; i++) {
		snprintf(k1, sizeof(k1), "login:user%07ld@example.org#login-day", i);
		if (op_store_check(st, &c, &err) != 0)
			return fprintf(stderr, "bench_rate: fill: %s\n", err), 1;
	}
	if (sc.kind == OP_STORE_LMDB && stat(path, &sb) == 0)
		printf("lmdb file_after_%ld_keys %lld bytes on disk (%.1f bytes per key, key text "
		       "%zu bytes)\n",
		       keys, (long long)sb.st_blocks * 512,
		       (double)sb.st_blocks * 512 / (double)keys, strlen(k1));
	op_store_put(&st);
	free(lat);
	return 0;
}
