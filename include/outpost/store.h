/*
 * store.h - where rate counters and held accounts live: one interface,
 * two backends.
 *
 *   lmdb   (plugin/store_lmdb.c)  one LMDB file shared by the processes of
 *          one host; survives a restart; the default, needs no server.
 *   redis  (plugin/store_redis.c) counters shared by every relay of a
 *          cluster; one round trip per check (a Lua script loaded once,
 *          called with EVALSHA); compiled out without hiredis.
 *
 * A counter is a GCRA theoretical arrival time (outpost/gcra.h) under a
 * key such as "login:alice#login-minute" (the key of the rule, then '#',
 * then the rule's name); it is stored with the rule's tolerance so that an
 * operator's view needs no config, and it is gone (expired, reclaimed)
 * once the key is at rest.  A held account ("login:alice") is stored with
 * the time and the rule that held it, until an operator releases it.
 *
 * The stores are process-wide and reference counted (op_store_get): a
 * config reload keeps them, and a store is opened on first use, after the
 * daemon forked and dropped its privileges.  Every operation is safe from
 * any thread and bounded in time (LMDB: local; Redis: its timeouts, and
 * no attempt at all while it is known to be down, with backoff).
 */
#ifndef OUTPOST_STORE_H
#define OUTPOST_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OP_STORE_KEY_MAX 400 /* bytes of a counter or account key */

enum op_store_kind { OP_STORE_LMDB = 0, OP_STORE_REDIS = 1 };

/* Where a store is: what op_store_get compares to share one. */
struct op_store_conf {
	enum op_store_kind kind;
	const char *lmdb_path;
	long long lmdb_map_size;   /* bytes */
	const char *redis_address; /* "HOST:PORT", "[V6]:PORT" or "unix:/path" */
	const char *redis_prefix;  /* before every key */
	long long redis_connect_timeout_ms;
	long long redis_timeout_ms; /* per command */
};

/* One counter of a check (in) and what became of it (out). */
struct op_store_item {
	const char *key;   /* in: counter key, at most OP_STORE_KEY_MAX bytes */
	int64_t cost;	   /* in: microseconds this attempt costs (op_gcra_cost) */
	int64_t tau;	   /* in: the rule's tolerance (op_gcra_tolerance) */
	bool blocking;	   /* in: a denial refuses the whole attempt */
	bool hold_on_deny; /* in: a denial holds the check's account */
	bool allowed;	   /* out */
	int64_t retry_us;  /* out: denied: until the same attempt passes; -1 never */
	int64_t tat;	   /* out: the key's TAT after the check */
};

/* A check: items, the account to look up or hold, and the outcome. */
struct op_store_check {
	struct op_store_item *items;
	size_t nitems;
	const char *account;  /* "login:alice", "sender:bob@example.org", or NULL */
	bool query_held;      /* in: say whether the account is held, and if it is,
	                       * check nothing (it is held whatever the counters say) */
	const char *hold_why; /* in: stored with a new hold ("rule NAME") */
	bool held;	      /* out: the account is held (before this check) */
	bool now_held;	      /* out: this check held the account */
	bool refused;	      /* out: a blocking item was denied: nothing was counted */
	int64_t now;	      /* out: the store's clock, microseconds since the epoch */
};

/* One counter as the operator sees it. */
struct op_store_entry {
	const char *key;
	int64_t tat, tau, now;
};

/* One held account. */
struct op_store_hold {
	const char *account;
	int64_t since_us; /* when it was held, microseconds since the epoch */
	const char *why;  /* "rule login-day" */
};

struct op_store;

typedef int (*op_store_entry_fn)(const struct op_store_entry *e, void *arg);
typedef int (*op_store_hold_fn)(const struct op_store_hold *h, void *arg);

/* The store for conf, shared with every other user of the same one (LMDB:
 * same path; Redis: same address and prefix), referenced for the caller.
 * Nothing is opened or connected yet.  Returns NULL only when out of
 * memory or when conf names Redis in a build without hiredis (*err_r). */
struct op_store *op_store_get(const struct op_store_conf *conf, const char **err_r);

/* Drop a reference; the last one closes the store.  Accepts NULL. */
void op_store_put(struct op_store **st);

/* "lmdb" or "redis". */
const char *op_store_name(const struct op_store *st);

/* Check and count the items of one stage at once.  Each item is decided
 * by GCRA; when a blocking item is denied, nothing is written (a refused
 * attempt consumes nothing); otherwise every allowed item is counted and
 * denied non-blocking ones are left as they were.  A denied item with
 * hold_on_deny holds c->account.  Returns 0, or -1 with *err_r (store
 * unreachable, timeout, full): then nothing is known about the items. */
int op_store_check(struct op_store *st, struct op_store_check *c, const char **err_r);

/* Give back items[i].cost on items[i].key (tau unused). 0 or -1. */
int op_store_refund(struct op_store *st, const struct op_store_item *items, size_t n,
		    const char **err_r);

/* Call fn for every counter whose key is key (with '#') or starts with
 * key + '#', or for every counter when key is NULL.  fn returns 0 to go
 * on, non-zero to stop.  Returns 0 or -1. */
int op_store_scan(struct op_store *st, const char *key, op_store_entry_fn fn, void *arg,
		  const char **err_r);

/* Delete the counters op_store_scan(key) would list; *n_r how many.  0 or -1. */
int op_store_reset(struct op_store *st, const char *key, size_t *n_r, const char **err_r);

/* Held accounts: list them, release one (*found_r false when it was not
 * held).  0 or -1. */
int op_store_hold_list(struct op_store *st, op_store_hold_fn fn, void *arg, const char **err_r);
int op_store_hold_release(struct op_store *st, const char *account, bool *found_r,
			  const char **err_r);

/* The backends' operations (store.c dispatches to them). */
struct op_store_ops {
	const char *name;
	void *(*open)(const struct op_store_conf *conf, const char **err_r);
	void (*close)(void *h);
	int (*check)(void *h, struct op_store_check *c, const char **err_r);
	int (*refund)(void *h, const struct op_store_item *items, size_t n, const char **err_r);
	int (*scan)(void *h, const char *key, op_store_entry_fn fn, void *arg, const char **err_r);
	int (*reset)(void *h, const char *key, size_t *n_r, const char **err_r);
	int (*hold_list)(void *h, op_store_hold_fn fn, void *arg, const char **err_r);
	int (*hold_release)(void *h, const char *account, bool *found_r, const char **err_r);
};

extern const struct op_store_ops op_store_lmdb_ops;
#ifdef HAVE_HIREDIS
extern const struct op_store_ops op_store_redis_ops;
#endif

/* Tests: the clock of the LMDB store (microseconds since the epoch);
 * NULL restores the wall clock.  Process-wide. */
void op_store_lmdb_set_clock(int64_t (*now_us)(void));

/* True when key is a well-formed counter or account key: 1 to
 * OP_STORE_KEY_MAX printable ASCII bytes without space. */
bool op_store_key_valid(const char *key);

#endif
