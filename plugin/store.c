/*
 * store.c - the process-wide registry of rate stores and the dispatch to
 * their backends (see include/outpost/store.h).
 *
 * A store is shared by every snapshot that names the same one (LMDB: the
 * same path, since LMDB allows one environment per file and process;
 * Redis: the same address, prefix and timeouts), so a reload keeps its
 * counters, its LMDB environment and its Redis connections.  The backend
 * is opened on first use, never at config load: the daemon forks and
 * drops its privileges after loading, and an LMDB environment must not
 * cross a fork.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outpost/metrics.h"
#include "outpost/store.h"

struct op_store {
	struct op_store *next;
	int refs; /* under registry_lock */
	const struct op_store_ops *ops;
	char *id;		   /* what makes two stores the same */
	struct op_store_conf conf; /* strings owned */
	char *path, *address, *prefix;
	pthread_mutex_t open_lock;
	void *h; /* the backend's handle once opened */
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct op_store *registry;

bool op_store_key_valid(const char *key)
{
	size_t n = 0;

	for (const unsigned char *p = (const unsigned char *)key; *p; p++, n++)
		if (*p <= 0x20 || *p >= 0x7f)
			return false;
	return n > 0 && n <= OP_STORE_KEY_MAX;
}

static char *store_id(const struct op_store_conf *c)
{
	char *id;
	int n;

	if (c->kind == OP_STORE_LMDB)
		n = asprintf(&id, "lmdb %s", c->lmdb_path);
	else
		n = asprintf(&id, "redis %s %s %lld %lld", c->redis_address, c->redis_prefix,
			     c->redis_connect_timeout_ms, c->redis_timeout_ms);
	return n < 0 ? NULL : id;
}

static void store_free(struct op_store *st)
{
	if (st == NULL)
		return;
	if (st->h != NULL)
		st->ops->close(st->h);
	pthread_mutex_destroy(&st->open_lock);
	free(st->id);
	free(st->path);
	free(st->address);
	free(st->prefix);
	free(st);
}

static struct op_store *store_new(const struct op_store_conf *c, char *id, const char **err_r)
{
	struct op_store *st = calloc(1, sizeof(*st));

	if (st == NULL)
		return free(id), *err_r = "out of memory", NULL;
	st->id = id;
	pthread_mutex_init(&st->open_lock, NULL);
	st->refs = 1;
	st->conf = *c;
	st->path = strdup(c->lmdb_path ? c->lmdb_path : "");
	st->address = strdup(c->redis_address ? c->redis_address : "");
	st->prefix = strdup(c->redis_prefix ? c->redis_prefix : "");
	if (st->path == NULL || st->address == NULL || st->prefix == NULL) {
		store_free(st);
		return *err_r = "out of memory", NULL;
	}
	st->conf.lmdb_path = st->path;
	st->conf.redis_address = st->address;
	st->conf.redis_prefix = st->prefix;
	st->ops = &op_store_lmdb_ops;
#ifdef HAVE_HIREDIS
	if (c->kind == OP_STORE_REDIS)
		st->ops = &op_store_redis_ops;
#endif
	return st;
}

struct op_store *op_store_get(const struct op_store_conf *conf, const char **err_r)
{
	struct op_store *st;
	char *id;

#ifndef HAVE_HIREDIS
	if (conf->kind == OP_STORE_REDIS)
		return *err_r = "this outpost was built without hiredis: no Redis store", NULL;
#endif
	id = store_id(conf);
	if (id == NULL)
		return *err_r = "out of memory", NULL;
	pthread_mutex_lock(&registry_lock);
	for (st = registry; st != NULL; st = st->next)
		if (strcmp(st->id, id) == 0)
			break;
	if (st != NULL) {
		st->refs++;
		free(id);
	} else if ((st = store_new(conf, id, err_r)) != NULL) {
		st->next = registry;
		registry = st;
	}
	pthread_mutex_unlock(&registry_lock);
	return st;
}

void op_store_put(struct op_store **stp)
{
	struct op_store *st = stp ? *stp : NULL, **pp;
	bool last = false;

	if (st == NULL)
		return;
	*stp = NULL;
	pthread_mutex_lock(&registry_lock);
	if (--st->refs == 0) {
		for (pp = &registry; *pp != NULL; pp = &(*pp)->next)
			if (*pp == st) {
				*pp = st->next;
				break;
			}
		last = true;
	}
	pthread_mutex_unlock(&registry_lock);
	if (last)
		store_free(st);
}

const char *op_store_name(const struct op_store *st)
{
	return st->ops->name;
}

/* The backend handle, opened on first use.  NULL with *err_r. */
static void *store_handle(struct op_store *st, const char **err_r)
{
	void *h = __atomic_load_n(&st->h, __ATOMIC_ACQUIRE);

	if (h != NULL)
		return h;
	pthread_mutex_lock(&st->open_lock);
	h = st->h;
	if (h == NULL) {
		h = st->ops->open(&st->conf, err_r);
		__atomic_store_n(&st->h, h, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&st->open_lock);
	return h;
}

int op_store_check(struct op_store *st, struct op_store_check *c, const char **err_r)
{
	struct timespec t0;
	void *h;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	h = store_handle(st, err_r);
	c->held = c->now_held = c->refused = false;
	for (size_t i = 0; i < c->nitems; i++) {
		c->items[i].allowed = false;
		c->items[i].retry_us = 0;
		c->items[i].tat = 0;
	}
	r = h ? st->ops->check(h, c, err_r) : -1;
	op_metrics_store(st->ops->name, "check", r == 0, op_metrics_since(&t0));
	return r;
}

int op_store_refund(struct op_store *st, const struct op_store_item *items, size_t n,
		    const char **err_r)
{
	struct timespec t0;
	void *h;
	int r;

	if (n == 0)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	h = store_handle(st, err_r);
	r = h ? st->ops->refund(h, items, n, err_r) : -1;
	op_metrics_store(st->ops->name, "refund", r == 0, op_metrics_since(&t0));
	return r;
}

int op_store_scan(struct op_store *st, const char *key, op_store_entry_fn fn, void *arg,
		  const char **err_r)
{
	void *h = store_handle(st, err_r);

	return h ? st->ops->scan(h, key, fn, arg, err_r) : -1;
}

int op_store_reset(struct op_store *st, const char *key, size_t *n_r, const char **err_r)
{
	void *h = store_handle(st, err_r);

	*n_r = 0;
	return h ? st->ops->reset(h, key, n_r, err_r) : -1;
}

int op_store_hold_list(struct op_store *st, op_store_hold_fn fn, void *arg, const char **err_r)
{
	void *h = store_handle(st, err_r);

	return h ? st->ops->hold_list(h, fn, arg, err_r) : -1;
}

int op_store_hold_release(struct op_store *st, const char *account, bool *found_r,
			  const char **err_r)
{
	void *h = store_handle(st, err_r);

	*found_r = false;
	return h ? st->ops->hold_release(h, account, found_r, err_r) : -1;
}
