/*
 * metrics.h - counters, gauges and histograms, rendered in the Prometheus
 * text format (version 0.0.4) by the metrics endpoint
 * (plugin/metrics_http.c) and read by the control socket's `status`.
 *
 * A registry holds metric families; a family has a name (outpost_*, the
 * unit in the name: _seconds, _bytes, _total for counters), one line of
 * help, up to OP_METRIC_MAX_LABELS label names and at most max_series
 * label sets.  Label values are bounded by construction: they come from
 * code (stage, verdict, algorithm, result names) or from the configuration
 * (rate rule names), never from a message (no login, sender or domain).  A
 * label set past max_series is counted in one overflow series whose
 * labels all say "other", so a bug can never grow the registry without
 * bound.
 *
 * Increments are lock-free (relaxed atomics): a series, once created, is
 * never moved or freed, and finding it is a scan of a published array.
 * Creating a series takes the family's mutex.  Families live as long as
 * the process (the default registry) or their registry.
 *
 * The op_metrics_*() helpers at the bottom are the one-line calls the
 * milter layer and the modules make; they count into the default registry.
 */
#ifndef OUTPOST_METRICS_H
#define OUTPOST_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <sys/socket.h>

#include "outpost/buf.h"

#define OP_METRIC_MAX_LABELS  3
#define OP_METRIC_MAX_BUCKETS 20

enum op_metric_type {
	OP_METRIC_COUNTER,
	OP_METRIC_GAUGE,
	OP_METRIC_HISTOGRAM,
};

struct op_metric_registry;
struct op_metric;
struct op_series;

/* A new, empty registry; NULL when memory is short.  Free it with
 * op_metric_registry_free(), which accepts NULL and sets *r = NULL. */
struct op_metric_registry *op_metric_registry_new(void);
void op_metric_registry_free(struct op_metric_registry **r);

/* The process-wide registry the op_metrics_*() helpers count into, with
 * every outpost_* family registered (on first use). */
struct op_metric_registry *op_metrics_default(void);

/* Register a family.  labels is a comma-separated list of label names
 * ("" for none); max_series bounds its label sets (1 for none).  A
 * histogram takes nbounds ascending upper bounds (the +Inf bucket is
 * implicit); others pass NULL, 0.  Returns the family, or NULL when the
 * name, the labels or the bounds are not valid Prometheus names or the
 * registry cannot hold more (an existing family of the same name and type
 * is returned as is). */
struct op_metric *op_metric_new(struct op_metric_registry *r, enum op_metric_type t,
				const char *name, const char *help, const char *labels,
				size_t max_series, const double *bounds, size_t nbounds);

/* A family whose one value (no labels) is read by fn at render time: a
 * gauge or a counter kept elsewhere (event log lines, messages in flight).
 * Returns the family or NULL, as op_metric_new(). */
struct op_metric *op_metric_new_fn(struct op_metric_registry *r, enum op_metric_type t,
				   const char *name, const char *help, double (*fn)(void));

/* The series of family m with these label values (as many as m has
 * labels; NULL for a family without), created at 0 when new.  Never NULL
 * for a non-NULL m: past max_series, or when memory is short, the
 * overflow series is returned.  Keep the pointer: it never moves. */
struct op_series *op_metric_series(struct op_metric *m, const char *const *values);

/* Counter: add n.  Gauge: add n (may be negative through the cast). */
void op_series_add(struct op_series *s, uint64_t n);

/* Gauge: set the value. */
void op_series_set(struct op_series *s, int64_t v);

/* Histogram: count one observation of v (seconds or another unit >= 0;
 * the sum keeps 1e-9 of a unit, i.e. nanoseconds for seconds). */
void op_series_observe(struct op_series *s, double v);

/* The value of a counter or gauge series (tests, `status`). */
int64_t op_series_value(const struct op_series *s);

/* Append every family of r to b in the Prometheus text format, families
 * in registration order, series in creation order.  Returns 0, or -1
 * when b is full (its maximum). */
int op_metric_render(struct op_metric_registry *r, struct op_buf *b);

/* Parse metrics.listen: "ADDR:PORT" (IPv4) or "[ADDR]:PORT" (IPv6),
 * numeric only, port 1-65535, into *ss (*len_r its length).  0, or -1 with
 * *err_r. */
int op_metrics_addr_parse(const char *spec, struct sockaddr_storage *ss, socklen_t *len_r,
			  const char **err_r);

/* Seconds since since (CLOCK_MONOTONIC), for the observe helpers. */
double op_metrics_since(const struct timespec *since);

/* ---- the helpers the daemon calls (default registry) --------------------- */

struct op_msg;

/* A message ended (session.c, where its summary line is logged): counts
 * outpost_messages_total{verdict,end}, held messages by module and each
 * module's result, read from the first word of its summary slot
 * ("dkim=sign d=..." -> module="dkim", result="sign"). */
void op_metrics_message(const struct op_msg *m, const char *how);

/* The modules ran stage (enum op_stage) for seconds (pipeline.c). */
void op_metrics_stage(unsigned stage, double seconds);

/* The dkim module added a signature with algorithm alg ("rsa-sha256"). */
void op_metrics_dkim_signature(const char *alg);

/* The auth module verified a DKIM signature: result per RFC 8601 ("pass",
 * "fail", ..., "none" for a message without signature). */
void op_metrics_dkim_verify(const char *result);

/* The spf module got result ("pass", ...) for identity ("mailfrom",
 * "helo", "egress"). */
void op_metrics_spf(const char *identity, const char *result);

/* One DNS lookup of the SPF engine took seconds; failed: no answer
 * (timeout, SERVFAIL), as opposed to an answer with or without data. */
void op_metrics_spf_dns(double seconds, bool failed);

/* A rate rule (its configured name) was over its limit; action is what it
 * does ("tempfail", "reject", "hold", "log"). */
void op_metrics_rate_hit(const char *rule, const char *action);

/* A rule held an account (then = "hold_account"). */
void op_metrics_rate_account_held(void);

/* A store operation (op "check" or "refund") on backend ("lmdb",
 * "redis") took seconds and succeeded or failed. */
void op_metrics_store(const char *backend, const char *op, bool ok, double seconds);

/* A reload finished: ok when the new configuration is active. */
void op_metrics_reload(bool ok);

/* What `status` reports of a store backend. */
struct op_metrics_store_state {
	uint64_t ops, errors;	    /* since start */
	time_t last_ok, last_error; /* wall clock, 0: never */
};
void op_metrics_store_state(const char *backend, struct op_metrics_store_state *st);

/* Reloads since start and the last one's result and time (0: none yet). */
void op_metrics_reload_state(uint64_t *ok_r, uint64_t *refused_r, bool *last_ok_r, time_t *last_r);

/* Wall-clock time the registry was first used (the daemon's start). */
time_t op_metrics_start_time(void);

#endif
