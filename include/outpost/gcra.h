/*
 * gcra.h - the generic cell rate algorithm: one timestamp per key.
 *
 * A rate is `limit` units per `window`, with a bucket of `burst` units: a
 * key at rest may take `burst` units at once, then refills at limit per
 * window.  Over any span of one window at most limit + burst units pass;
 * a sender that keeps at the limit gets exactly limit per window.
 *
 * The state of a key is its theoretical arrival time (TAT), microseconds
 * since the epoch: the time at which the key is at rest again.  A request
 * of n units costs cost(n) = floor(n * window / limit) microseconds and is
 * allowed when the new TAT, max(TAT, now) + cost, is at most now +
 * tolerance, tolerance = ceil(burst * window / limit).  Everything is a
 * function of (TAT, now): the caller supplies the clock (the stores use
 * the wall clock, the tests a fake one), and the stores keep the TAT.
 *
 * Leaf code: no allocation, no logging, no clock of its own.
 */
#ifndef OUTPOST_GCRA_H
#define OUTPOST_GCRA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OP_GCRA_WINDOW_MIN_US 1000000LL		    /* 1 s */
#define OP_GCRA_WINDOW_MAX_US (366LL * 86400000000) /* 366 d */
#define OP_GCRA_LIMIT_MAX     1000000000000ULL	    /* 10^12 units per window */

struct op_gcra_rate {
	uint64_t limit;	   /* units per window, 1..OP_GCRA_LIMIT_MAX */
	int64_t window_us; /* OP_GCRA_WINDOW_MIN_US..OP_GCRA_WINDOW_MAX_US */
	uint64_t burst;	   /* units that may pass at once from rest, >= 1 */
};

/* What one check decided. */
struct op_gcra_result {
	bool allowed;
	int64_t tat;	  /* TAT to store when the request is counted */
	int64_t keep;	  /* TAT to store when it is not (denied, or refused by another
	                   * rule): the stored one, or now + tau when the clock went
	                   * backwards; a store writes it when it differs */
	int64_t retry_us; /* denied: microseconds until the same request passes; -1 when it
	                   * never can (its cost exceeds the tolerance); 0 when allowed */
};

/* Microseconds n units cost under r (floor(n * window / limit), saturating). */
int64_t op_gcra_cost(const struct op_gcra_rate *r, uint64_t n);

/* The tolerance of r in microseconds (ceil(burst * window / limit)). */
int64_t op_gcra_tolerance(const struct op_gcra_rate *r);

/* Decide a request costing cost microseconds against a key whose stored
 * TAT is tat (0 or any value <= now: the key is at rest), at time now,
 * with tolerance tau.  A TAT beyond now + tau (the clock went backwards
 * since it was stored) is read as now + tau, and res->keep says so: a
 * clock step never makes a key stricter than a full bucket that refills
 * from now on.  Fills *res. */
void op_gcra_check(int64_t tat, int64_t now, int64_t cost, int64_t tau, struct op_gcra_result *res);

/* Give back cost microseconds to a key (a counted attempt that did not
 * happen).  Returns the TAT to store; a value <= now means the key is at
 * rest and may be deleted. */
int64_t op_gcra_refund(int64_t tat, int64_t now, int64_t cost);

/* How full the bucket is, in thousandths (0 at rest, 1000 when the next
 * unit is refused), for operators (`outpostctl rate top`). */
int op_gcra_level(int64_t tat, int64_t now, int64_t tau);

/* Units of cost unit_cost that would pass now (the bucket's room). */
uint64_t op_gcra_room(int64_t tat, int64_t now, int64_t tau, int64_t unit_cost);

/* Parse a rate "LIMIT/WINDOW": LIMIT a positive integer with an optional
 * K, M or G suffix (powers of 1024, for bytes), WINDOW an optional count
 * and a unit s, m, h or d ("100/1m", "5000/d", "10M/1h").  Fills limit and
 * window_us (burst untouched).  Returns 0, or -1 with *err_r (static). */
int op_gcra_parse(const char *text, struct op_gcra_rate *r, const char **err_r);

/* Write "LIMIT/WINDOW" for r back into out (e.g. "100/1m"). */
void op_gcra_format(const struct op_gcra_rate *r, char *out, size_t outsize);

#endif
