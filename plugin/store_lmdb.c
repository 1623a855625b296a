/*
 * store_lmdb.c - the embedded rate store: one LMDB file (the only file
 * that includes lmdb.h).  See include/outpost/store.h.
 *
 * Layout: database "rate" maps a counter key to {TAT, tolerance} (two
 * native int64, microseconds); database "hold" maps an account to {since,
 * why}.  A check is one write transaction: LMDB serialises writers across
 * the processes of the host with a robust mutex in its lock file, so the
 * read-decide-write of GCRA is atomic for every outpost on the host.
 *
 * Durability: MDB_NOSYNC.  A commit reaches the kernel (a restart or a
 * crash of outpost loses nothing); an OS crash may lose the last seconds
 * of counting, never the file's integrity.
 *
 * Writes go straight into the shared map (MDB_WRITEMAP): a commit is no
 * system call at all instead of an lseek, a writev and a pwrite (two
 * commits per message: about 8 us of CPU).  LMDB then makes the file as
 * large as the map, sparse; a page first touched through the map on a
 * full disk would kill the process with SIGBUS instead of failing a
 * write.  So every write transaction first makes sure the disk blocks it
 * may touch are allocated (reserve(): posix_fallocate up to RESERVE_AHEAD
 * past the last page in use, the whole map for a transaction that may
 * rewrite every page); when that fails, the transaction is not run and
 * the check fails with "No space left on device", as a write would have.
 * The disk holds the pages in use plus at most RESERVE_AHEAD.
 *
 * Reclaiming: a counter at rest (TAT <= now) means the same as no
 * counter.  Each check's transaction also walks a few entries (SWEEP_STEP,
 * and two more per item: faster than checks create keys) from where the
 * last walk stopped, and deletes those at rest; when the map is full
 * anyway, one transaction deletes every such entry and the check is
 * retried.  So the file holds about the keys active within one window,
 * whatever the traffic, and no background task is needed.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lmdb.h>

#include "outpost/gcra.h"
#include "outpost/store.h"

#define SWEEP_STEP    4 /* entries walked per check, and 2 more per item */
#define HOLD_WHY_MAX  200
#define RESERVE_AHEAD (4 << 20) /* bytes allocated past the last page */
#define TXN_MANY      SIZE_MAX	/* reserve(): a transaction of unbounded size */

struct lmdb_store {
	MDB_env *env;
	MDB_dbi rate, hold;
	pthread_mutex_t sweep_lock; /* sweep_from: the walk's position */
	char sweep_from[OP_STORE_KEY_MAX + 1];
	int fd;
	size_t psize, mapsize;
	size_t reserved; /* bytes from 0 this process allocated; under the write lock */
};

struct counter {
	int64_t tat, tau;
};

static int64_t (*test_clock)(void);

void op_store_lmdb_set_clock(int64_t (*now_us)(void))
{
	test_clock = now_us;
}

static int64_t lmdb_now(void)
{
	struct timespec ts;

	if (test_clock != NULL)
		return test_clock();
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int lmdb_fail(int rc, const char **err_r)
{
	*err_r = mdb_strerror(rc);
	return -1;
}

static MDB_val val_of(const char *s)
{
	MDB_val v = {strlen(s), (void *)s};

	return v;
}

static bool get_counter(MDB_txn *txn, MDB_dbi dbi, const char *key, struct counter *c)
{
	MDB_val k = val_of(key), v;

	if (mdb_get(txn, dbi, &k, &v) != 0 || v.mv_size != sizeof(*c))
		return false;
	memcpy(c, v.mv_data, sizeof(*c));
	return true;
}

/* With the write lock held (in a write transaction): make sure the disk
 * blocks a transaction touching nkeys keys may write are allocated.  Each
 * key rewrites its leaf and branch pages (copy on write) and the free list
 * grows by as many: 2 * (depth + 1) pages a key, and RESERVE_AHEAD of
 * slack, allocated RESERVE_AHEAD at a time.  0 or an errno. */
static int reserve(struct lmdb_store *s, MDB_txn *txn, size_t nkeys)
{
	MDB_envinfo info;
	MDB_stat st;
	size_t used, need, want;
	int rc;

	if (mdb_env_info(s->env, &info) != 0 || mdb_stat(txn, s->rate, &st) != 0)
		st.ms_depth = 8, info.me_last_pgno = s->mapsize / s->psize;
	used = (info.me_last_pgno + 1) * s->psize;
	if (nkeys == TXN_MANY || nkeys > s->mapsize / s->psize)
		need = s->mapsize;
	else
		need = used + 2 * (st.ms_depth + 1) * nkeys * s->psize + RESERVE_AHEAD / 2;
	if (need > s->mapsize)
		need = s->mapsize;
	if (need <= s->reserved)
		return 0;
	want = need == s->mapsize ? need : need + RESERVE_AHEAD / 2;
	if (want > s->mapsize)
		want = s->mapsize;
	rc = posix_fallocate(s->fd, (off_t)s->reserved, (off_t)(want - s->reserved));
	if (rc == 0)
		s->reserved = want;
	return rc;
}

/* Begin a write transaction that touches at most nkeys keys (TXN_MANY:
 * any number), its disk blocks reserved.  0 or an LMDB error / errno. */
static int write_begin(struct lmdb_store *s, size_t nkeys, MDB_txn **txn_r)
{
	int rc = mdb_txn_begin(s->env, NULL, 0, txn_r);

	if (rc == 0 && (rc = reserve(s, *txn_r, nkeys)) != 0)
		mdb_txn_abort(*txn_r);
	return rc;
}

static void lmdb_close(void *h)
{
	struct lmdb_store *s = h;

	if (s == NULL)
		return;
	if (s->env != NULL)
		mdb_env_close(s->env);
	pthread_mutex_destroy(&s->sweep_lock);
	free(s);
}

/* The file descriptor, page size and map size reserve() needs. */
static int env_params(struct lmdb_store *s)
{
	MDB_envinfo info;
	MDB_stat st;
	int rc = mdb_env_get_fd(s->env, &s->fd);

	if (rc == 0)
		rc = mdb_env_stat(s->env, &st);
	if (rc == 0)
		rc = mdb_env_info(s->env, &info);
	if (rc != 0)
		return rc;
	s->psize = st.ms_psize;
	s->mapsize = info.me_mapsize;
	return 0;
}

static void *lmdb_open(const struct op_store_conf *conf, const char **err_r)
{
	struct lmdb_store *s = calloc(1, sizeof(*s));
	MDB_txn *txn = NULL;
	int rc, dead;

	if (s == NULL)
		return *err_r = "out of memory", NULL;
	pthread_mutex_init(&s->sweep_lock, NULL);
	rc = mdb_env_create(&s->env);
	if (rc == 0)
		rc = mdb_env_set_mapsize(s->env, (size_t)conf->lmdb_map_size);
	if (rc == 0)
		rc = mdb_env_set_maxdbs(s->env, 4);
	if (rc == 0)
		rc = mdb_env_open(
		    s->env, conf->lmdb_path,
		    MDB_NOSUBDIR | MDB_NOTLS | MDB_NOSYNC | MDB_NORDAHEAD | MDB_WRITEMAP, 0640);
	if (rc == 0)
		rc = mdb_reader_check(s->env, &dead); /* slots of killed processes */
	if (rc == 0)
		rc = env_params(s);
	if (rc == 0)
		rc = write_begin(s, 2, &txn); /* a new file: two database records */
	if (rc == 0)
		rc = mdb_dbi_open(txn, "rate", MDB_CREATE, &s->rate);
	if (rc == 0)
		rc = mdb_dbi_open(txn, "hold", MDB_CREATE, &s->hold);
	if (rc == 0) {
		rc = mdb_txn_commit(txn);
		txn = NULL;
	}
	if (rc == 0)
		return s;
	if (txn != NULL)
		mdb_txn_abort(txn);
	*err_r = mdb_strerror(rc);
	lmdb_close(s);
	return NULL;
}

/* Delete counters at rest: up to max entries from the saved position (all
 * of them when max is 0).  Returns 0 or an LMDB error. */
static int sweep(struct lmdb_store *s, MDB_txn *txn, int64_t now, size_t max)
{
	MDB_cursor *cur;
	MDB_val k, v;
	size_t seen = 0;
	int rc, op = MDB_FIRST;

	rc = mdb_cursor_open(txn, s->rate, &cur);
	if (rc != 0)
		return rc;
	pthread_mutex_lock(&s->sweep_lock);
	if (max != 0 && s->sweep_from[0]) {
		k = val_of(s->sweep_from);
		op = MDB_SET_RANGE;
	}
	for (rc = mdb_cursor_get(cur, &k, &v, op); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		struct counter c;

		if (max != 0 && seen++ == max)
			break;
		if (v.mv_size == sizeof(c))
			memcpy(&c, v.mv_data, sizeof(c));
		if ((v.mv_size != sizeof(c) || c.tat <= now) && (rc = mdb_cursor_del(cur, 0)) != 0)
			break;
	}
	s->sweep_from[0] = '\0';
	if (rc == 0 && k.mv_size <= OP_STORE_KEY_MAX) { /* stopped early: resume here */
		memcpy(s->sweep_from, k.mv_data, k.mv_size);
		s->sweep_from[k.mv_size] = '\0';
	}
	pthread_mutex_unlock(&s->sweep_lock);
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

static int put_hold(struct lmdb_store *s, MDB_txn *txn, const char *account, int64_t now,
		    const char *why)
{
	char buf[sizeof(int64_t) + HOLD_WHY_MAX];
	size_t wl = why ? strlen(why) : 0;
	MDB_val k = val_of(account), v;

	if (wl > HOLD_WHY_MAX)
		wl = HOLD_WHY_MAX;
	memcpy(buf, &now, sizeof(now));
	if (wl)
		memcpy(buf + sizeof(now), why, wl);
	v.mv_size = sizeof(now) + wl;
	v.mv_data = buf;
	return mdb_put(txn, s->hold, &k, &v, 0);
}

/* Decide every item; write back only the TATs a backwards clock
 * corrected.  Sets c->refused.  0 or an LMDB error. */
static int decide(struct lmdb_store *s, MDB_txn *txn, struct op_store_check *c, int64_t now)
{
	for (size_t i = 0; i < c->nitems; i++) {
		struct op_store_item *it = &c->items[i];
		struct counter cur = {0, it->tau};
		struct op_gcra_result r;

		get_counter(txn, s->rate, it->key, &cur);
		op_gcra_check(cur.tat, now, it->cost, it->tau, &r);
		it->allowed = r.allowed;
		it->retry_us = r.retry_us;
		it->tat = r.tat;
		if (!r.allowed && it->blocking)
			c->refused = true;
		if (r.keep != cur.tat) {
			struct counter k = {r.keep, it->tau};
			MDB_val kk = val_of(it->key), d = {sizeof(k), &k};
			int rc = mdb_put(txn, s->rate, &kk, &d, 0);

			if (rc != 0)
				return rc;
		}
	}
	return 0;
}

/* Write what decide() concluded.  0 or an LMDB error. */
static int apply(struct lmdb_store *s, MDB_txn *txn, struct op_store_check *c, int64_t now)
{
	int rc = 0;

	for (size_t i = 0; i < c->nitems && rc == 0; i++) {
		struct op_store_item *it = &c->items[i];
		struct counter v = {it->tat, it->tau};
		MDB_val k = val_of(it->key), d = {sizeof(v), &v};

		if (!it->allowed && it->hold_on_deny && c->account && !c->now_held) {
			rc = put_hold(s, txn, c->account, now, c->hold_why);
			c->now_held = rc == 0;
		}
		if (it->allowed && !c->refused && rc == 0)
			rc = mdb_put(txn, s->rate, &k, &d, 0);
	}
	return rc;
}

/* Delete every counter at rest, in a transaction of its own (pages freed
 * by a transaction are reusable once it committed). */
static int sweep_all(struct lmdb_store *s)
{
	MDB_txn *txn;
	int rc = write_begin(s, TXN_MANY, &txn);

	if (rc != 0)
		return rc;
	rc = sweep(s, txn, lmdb_now(), 0);
	if (rc != 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	return mdb_txn_commit(txn);
}

static int check_once(struct lmdb_store *s, struct op_store_check *c)
{
	MDB_txn *txn;
	MDB_val k, v;
	int64_t now = lmdb_now();
	/* the items, the walk of sweep(), a hold */
	int rc = write_begin(s, c->nitems + SWEEP_STEP + 2 * c->nitems + 1, &txn);

	if (rc != 0)
		return rc;
	c->now = now;
	c->held = c->now_held = c->refused = false;
	if (c->query_held && c->account != NULL) {
		k = val_of(c->account);
		c->held = mdb_get(txn, s->hold, &k, &v) == 0;
		if (c->held)
			goto out;
	}
	rc = decide(s, txn, c, now);
	if (rc == 0)
		rc = apply(s, txn, c, now);
	if (rc == 0)
		rc = sweep(s, txn, now, SWEEP_STEP + 2 * c->nitems);
out:
	if (rc != 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	return mdb_txn_commit(txn);
}

static int lmdb_check(void *h, struct op_store_check *c, const char **err_r)
{
	int rc = check_once(h, c);

	/* Pages a transaction frees are reused two transactions later. */
	for (int i = 0; rc == MDB_MAP_FULL && i < 2; i++)
		if ((rc = sweep_all(h)) == 0)
			rc = check_once(h, c);
	return rc ? lmdb_fail(rc, err_r) : 0;
}

static int lmdb_refund(void *h, const struct op_store_item *items, size_t n, const char **err_r)
{
	struct lmdb_store *s = h;
	MDB_txn *txn = NULL;
	int64_t now = lmdb_now();
	int rc = write_begin(s, n, &txn);

	if (rc != 0)
		return lmdb_fail(rc, err_r);
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct counter c;
		MDB_val k = val_of(items[i].key), d = {sizeof(c), &c};

		if (!get_counter(txn, s->rate, items[i].key, &c))
			continue;
		c.tat = op_gcra_refund(c.tat, now, items[i].cost);
		rc = c.tat <= now ? mdb_del(txn, s->rate, &k, NULL)
				  : mdb_put(txn, s->rate, &k, &d, 0);
	}
	if (rc != 0) {
		mdb_txn_abort(txn);
		return lmdb_fail(rc, err_r);
	}
	rc = mdb_txn_commit(txn);
	return rc ? lmdb_fail(rc, err_r) : 0;
}

/* Walk the counters op_store_scan(key) names; with del, delete them
 * (counting into *n_r), otherwise call fn.  A write transaction for del. */
static int walk(struct lmdb_store *s, const char *key, bool del, op_store_entry_fn fn, void *arg,
		size_t *n_r, const char **err_r)
{
	char prefix[OP_STORE_KEY_MAX + 2] = "";
	bool exact = key != NULL && strchr(key, '#') != NULL;
	size_t plen = 0;
	MDB_txn *txn;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	int64_t now = lmdb_now();
	int rc, op = MDB_FIRST;

	if (key != NULL) {
		plen = strlen(key) + (exact ? 0 : 1);
		if (plen > OP_STORE_KEY_MAX)
			return *err_r = "key too long", -1;
		memcpy(prefix, key, strlen(key));
		prefix[plen - 1] = exact ? prefix[plen - 1] : '#';
		k.mv_size = plen;
		k.mv_data = prefix;
		op = MDB_SET_RANGE;
	}
	if (del)
		rc = write_begin(s, exact ? 1 : TXN_MANY, &txn);
	else
		rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
	if (rc != 0)
		return lmdb_fail(rc, err_r);
	rc = mdb_cursor_open(txn, s->rate, &cur);
	for (rc = rc ? rc : mdb_cursor_get(cur, &k, &v, op); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		struct counter c;
		char kb[OP_STORE_KEY_MAX + 1];
		struct op_store_entry e = {kb, 0, 0, now};

		if (plen && (k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0 ||
			     (exact && k.mv_size != plen)))
			break;
		if (v.mv_size != sizeof(c) || k.mv_size > OP_STORE_KEY_MAX)
			continue;
		memcpy(&c, v.mv_data, sizeof(c));
		if (del) {
			if ((rc = mdb_cursor_del(cur, 0)) != 0)
				break;
			(*n_r)++;
			continue;
		}
		if (c.tat <= now)
			continue; /* at rest: the same as absent */
		memcpy(kb, k.mv_data, k.mv_size);
		kb[k.mv_size] = '\0';
		e.tat = c.tat;
		e.tau = c.tau;
		if (fn(&e, arg) != 0)
			break;
	}
	if (!del)
		mdb_cursor_close(cur); /* a read-only transaction does not free its cursors */
	if (rc != 0 && rc != MDB_NOTFOUND) {
		mdb_txn_abort(txn);
		return lmdb_fail(rc, err_r);
	}
	if (!del) {
		mdb_txn_abort(txn);
		return 0;
	}
	rc = mdb_txn_commit(txn);
	return rc ? lmdb_fail(rc, err_r) : 0;
}

static int lmdb_scan(void *h, const char *key, op_store_entry_fn fn, void *arg, const char **err_r)
{
	return walk(h, key, false, fn, arg, NULL, err_r);
}

static int lmdb_reset(void *h, const char *key, size_t *n_r, const char **err_r)
{
	return walk(h, key, true, NULL, NULL, n_r, err_r);
}

static int lmdb_hold_list(void *h, op_store_hold_fn fn, void *arg, const char **err_r)
{
	struct lmdb_store *s = h;
	MDB_txn *txn;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);

	if (rc != 0)
		return lmdb_fail(rc, err_r);
	rc = mdb_cursor_open(txn, s->hold, &cur);
	for (rc = rc ? rc : mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		char acct[OP_STORE_KEY_MAX + 1], why[HOLD_WHY_MAX + 1];
		struct op_store_hold hd = {acct, 0, why};
		size_t wl;

		if (k.mv_size > OP_STORE_KEY_MAX || v.mv_size < sizeof(int64_t))
			continue;
		memcpy(acct, k.mv_data, k.mv_size);
		acct[k.mv_size] = '\0';
		memcpy(&hd.since_us, v.mv_data, sizeof(int64_t));
		wl = v.mv_size - sizeof(int64_t);
		wl = wl > HOLD_WHY_MAX ? HOLD_WHY_MAX : wl;
		memcpy(why, (char *)v.mv_data + sizeof(int64_t), wl);
		why[wl] = '\0';
		if (fn(&hd, arg) != 0)
			break;
	}
	mdb_cursor_close(cur); /* a read-only transaction does not free its cursors */
	mdb_txn_abort(txn);
	return rc != 0 && rc != MDB_NOTFOUND ? lmdb_fail(rc, err_r) : 0;
}

static int lmdb_hold_release(void *h, const char *account, bool *found_r, const char **err_r)
{
	struct lmdb_store *s = h;
	MDB_txn *txn;
	MDB_val k = val_of(account);
	int rc = write_begin(s, 1, &txn);

	if (rc != 0)
		return lmdb_fail(rc, err_r);
	rc = mdb_del(txn, s->hold, &k, NULL);
	*found_r = rc == 0;
	if (rc != 0 && rc != MDB_NOTFOUND) {
		mdb_txn_abort(txn);
		return lmdb_fail(rc, err_r);
	}
	rc = mdb_txn_commit(txn);
	return rc ? lmdb_fail(rc, err_r) : 0;
}

const struct op_store_ops op_store_lmdb_ops = {
    .name = "lmdb",
    .open = lmdb_open,
    .close = lmdb_close,
    .check = lmdb_check,
    .refund = lmdb_refund,
    .scan = lmdb_scan,
    .reset = lmdb_reset,
    .hold_list = lmdb_hold_list,
    .hold_release = lmdb_hold_release,
};
