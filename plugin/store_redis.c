/*
 * store_redis.c - the cluster rate store: Redis through hiredis (the only
 * file that includes it; compiled out without hiredis).  See
 * include/outpost/store.h.
 *
 * One check is one round trip: EVALSHA of a Lua script (SCRIPT LOAD once
 * per store, again only when Redis answers NOSCRIPT after a restart) that
 * reads the counters, decides them by GCRA on Redis's own clock (TIME: one
 * clock for every relay), and writes them with an expiry at the moment
 * the key is at rest again (so keys expire with their window).  Counters
 * are PREFIX "r:" KEY with value "TAT TAU"; held accounts PREFIX "h:"
 * ACCOUNT with value "SINCE WHY".
 *
 * Time bounds: connect and every command have their own timeout
 * (rate.redis_connect_timeout, rate.redis_timeout).  After a failure the
 * store is "down" for a backoff (BACKOFF_MIN doubling to BACKOFF_MAX):
 * calls fail at once, and when the backoff ends a single caller probes
 * while the others still fail at once; the first success ends it.  So a
 * paused or dead Redis costs one timeout per backoff period, never one
 * per message.  Connections are pooled (one per concurrent caller at
 * most, POOL_MAX kept idle); after a failure every idle one is dropped.
 *
 * XXX: Redis Cluster is not supported: the keys of one check may live in
 * different hash slots.  Use one primary (with replicas/Sentinel).
 */
#include "config.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis.h>

#include "outpost/blocking.h"
#include "outpost/store.h"

#define POOL_MAX    32
#define BACKOFF_MIN 100000LL  /* µs */
#define BACKOFF_MAX 2000000LL /* µs */
#define SCAN_BATCH  "500"
#define COST_MAX    (1LL << 52) /* Lua numbers are doubles */

static const char script[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
    "local function put(k, tat, tau)\n"
    "  redis.call('SET', k, string.format('%d %d', tat, tau), 'PX', math.floor((tat - now) / 1000) "
    "+ 1)\n"
    "end\n"
    "if ARGV[1] == 'r' then\n"
    "  for i = 1, #KEYS do\n"
    "    local v = redis.call('GET', KEYS[i])\n"
    "    if v then\n"
    "      local tat, tau = string.match(v, '^(%d+) (%d+)')\n"
    "      tat = tonumber(tat) or 0\n"
    "      local c = tonumber(ARGV[i + 1])\n"
    "      if tat <= now or c >= tat - now then redis.call('DEL', KEYS[i])\n"
    "      else put(KEYS[i], tat - c, tonumber(tau) or 0) end\n"
    "    end\n"
    "  end\n"
    "  return {now}\n"
    "end\n"
    "local n = tonumber(ARGV[2])\n"
    "local hk = KEYS[n + 1]\n"
    "local out = {now, 0, 0, 0}\n"
    "if hk and ARGV[3] == '1' and redis.call('EXISTS', hk) == 1 then\n"
    "  out[2] = 1\n"
    "  return out\n"
    "end\n"
    "local refused, keep = false, {}\n"
    "for i = 1, n do\n"
    "  local b = 4 + (i - 1) * 4\n"
    "  local cost, tau = tonumber(ARGV[b + 1]), tonumber(ARGV[b + 2])\n"
    "  local v = redis.call('GET', KEYS[i])\n"
    "  local tat = v and tonumber(string.match(v, '^%d+')) or 0\n"
    "  if tat > now + tau then tat = now + tau; put(KEYS[i], tat, tau) end\n"
    "  local base = math.max(tat, now)\n"
    "  local nt, ok, retry = base + cost, 0, 0\n"
    "  if cost > tau then retry = -1\n"
    "  elseif nt <= now + tau then ok = 1; tat = nt; keep[#keep + 1] = {i, nt, tau}\n"
    "  else retry = nt - now - tau end\n"
    "  if ok == 0 and ARGV[b + 3] == '1' then refused = true end\n"
    "  if ok == 0 and hk and ARGV[b + 4] == '1' and out[3] == 0 then\n"
    "    redis.call('SET', hk, string.format('%d ', now) .. ARGV[4]); out[3] = 1\n"
    "  end\n"
    "  out[#out + 1] = ok; out[#out + 1] = retry; out[#out + 1] = tat\n"
    "end\n"
    "if refused then out[4] = 1 else\n"
    "  for _, e in ipairs(keep) do put(KEYS[e[1]], e[2], e[3]) end\n"
    "end\n"
    "return out\n";

struct redis_store {
	pthread_mutex_t lock; /* everything below */
	redisContext *idle[POOL_MAX];
	int nidle;
	char sha[48];	    /* of the loaded script, "" until loaded */
	int64_t down_until; /* µs, 0 when up */
	int64_t backoff;
	bool probing;
	char host[256];
	int port;
	bool is_unix;
	char prefix[128];
	struct timeval connect_tv, cmd_tv;
};

static __thread char errbuf[256];

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int fail(const char **err_r, const char *what, const char *detail)
{
	snprintf(errbuf, sizeof(errbuf), "redis: %s%s%s", what, detail ? ": " : "",
		 detail ? detail : "");
	*err_r = errbuf;
	return -1;
}

static struct timeval tv_of(long long ms)
{
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};

	return tv;
}

/* "HOST:PORT", "[V6]:PORT" or "unix:/path" into s.  0 or -1. */
static int parse_address(struct redis_store *s, const char *a)
{
	const char *colon;
	char *end;
	long port;
	size_t hl;

	if (strncmp(a, "unix:", 5) == 0) {
		s->is_unix = true;
		return snprintf(s->host, sizeof(s->host), "%s", a + 5) < (int)sizeof(s->host) ? 0
											      : -1;
	}
	colon = strrchr(a, ':');
	if (colon == NULL || colon == a)
		return -1;
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || port < 1 || port > 65535)
		return -1;
	hl = (size_t)(colon - a);
	if (a[0] == '[' && hl >= 2 && a[hl - 1] == ']') {
		a++;
		hl -= 2;
	}
	if (hl == 0 || hl >= sizeof(s->host))
		return -1;
	memcpy(s->host, a, hl);
	s->host[hl] = '\0';
	s->port = (int)port;
	return 0;
}

static void redis_close(void *h)
{
	struct redis_store *s = h;

	if (s == NULL)
		return;
	for (int i = 0; i < s->nidle; i++)
		redisFree(s->idle[i]);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static void *redis_open(const struct op_store_conf *conf, const char **err_r)
{
	struct redis_store *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return *err_r = "out of memory", NULL;
	pthread_mutex_init(&s->lock, NULL);
	if (parse_address(s, conf->redis_address) < 0) {
		redis_close(s);
		return *err_r = "rate.redis_address: expected HOST:PORT, [IPV6]:PORT or unix:/path",
		       NULL;
	}
	snprintf(s->prefix, sizeof(s->prefix), "%s", conf->redis_prefix);
	s->connect_tv = tv_of(conf->redis_connect_timeout_ms);
	s->cmd_tv = tv_of(conf->redis_timeout_ms);
	return s;
}

/* A connection to use, or NULL with *err_r (down, or cannot connect). */
static redisContext *conn_take(struct redis_store *s, const char **err_r)
{
	redisContext *c = NULL;
	int64_t now = now_us();

	pthread_mutex_lock(&s->lock);
	if (s->down_until != 0 && (now < s->down_until || s->probing)) {
		long long ms = now < s->down_until ? (s->down_until - now) / 1000 : 0;

		pthread_mutex_unlock(&s->lock);
		snprintf(errbuf, sizeof(errbuf), "redis: down, next attempt in %lld ms", ms);
		*err_r = errbuf;
		return NULL;
	}
	if (s->down_until != 0)
		s->probing = true; /* this caller probes; the others fail at once */
	if (s->nidle > 0)
		c = s->idle[--s->nidle];
	pthread_mutex_unlock(&s->lock);
	if (c != NULL)
		return c;
	op_blocking_begin();
	c = s->is_unix ? redisConnectUnixWithTimeout(s->host, s->connect_tv)
		       : redisConnectWithTimeout(s->host, s->port, s->connect_tv);
	op_blocking_end();
	if (c == NULL || c->err) {
		fail(err_r, "cannot connect", c ? c->errstr : "out of memory");
		if (c != NULL)
			redisFree(c);
		return NULL;
	}
	if (redisSetTimeout(c, s->cmd_tv) != REDIS_OK) {
		fail(err_r, "cannot set the timeout", c->errstr);
		redisFree(c);
		return NULL;
	}
	return c;
}

/* Give a connection back after a success, or drop it (and every idle one)
 * after a failure and start or lengthen the backoff. */
static void conn_give(struct redis_store *s, redisContext *c, bool ok)
{
	redisContext *drop[POOL_MAX + 1];
	int ndrop = 0;

	pthread_mutex_lock(&s->lock);
	s->probing = false;
	if (ok) {
		s->down_until = 0;
		s->backoff = 0;
		if (c != NULL && s->nidle < POOL_MAX)
			s->idle[s->nidle++] = c;
		else if (c != NULL)
			drop[ndrop++] = c;
	} else {
		s->backoff = s->backoff ? s->backoff * 2 : BACKOFF_MIN;
		if (s->backoff > BACKOFF_MAX)
			s->backoff = BACKOFF_MAX;
		s->down_until = now_us() + s->backoff;
		if (c != NULL)
			drop[ndrop++] = c;
		while (s->nidle > 0)
			drop[ndrop++] = s->idle[--s->nidle];
	}
	pthread_mutex_unlock(&s->lock);
	for (int i = 0; i < ndrop; i++)
		redisFree(drop[i]);
}

/* Run one command on c.  A reply (maybe an error reply), or NULL with
 * *err_r after an I/O error or a timeout (c is then unusable). */
static redisReply *command(redisContext *c, int argc, const char **argv, const size_t *lens,
			   const char **err_r)
{
	redisReply *r;

	op_blocking_begin();
	r = redisCommandArgv(c, argc, argv, lens);
	op_blocking_end();
	if (r == NULL)
		fail(err_r, "no answer", c->errstr[0] ? c->errstr : "connection lost");
	return r;
}

/* SCRIPT LOAD the script on c into s->sha.  0 or -1. */
static int load_script(struct redis_store *s, redisContext *c, const char **err_r)
{
	const char *argv[] = {"SCRIPT", "LOAD", script};
	size_t lens[] = {6, 4, sizeof(script) - 1};
	redisReply *r = command(c, 3, argv, lens, err_r);

	if (r == NULL)
		return -1;
	if (r->type != REDIS_REPLY_STRING || r->len >= sizeof(s->sha)) {
		fail(err_r, "SCRIPT LOAD failed", r->type == REDIS_REPLY_ERROR ? r->str : NULL);
		freeReplyObject(r);
		return -2;
	}
	pthread_mutex_lock(&s->lock);
	memcpy(s->sha, r->str, r->len);
	s->sha[r->len] = '\0';
	pthread_mutex_unlock(&s->lock);
	freeReplyObject(r);
	return 0;
}

/* EVALSHA with argv[1] left for the sha.  Loads the script when needed.
 * The reply, or NULL with *err_r; *broken_r when c is unusable. */
static redisReply *evalsha(struct redis_store *s, redisContext *c, int argc, const char **argv,
			   size_t *lens, bool *broken_r, const char **err_r)
{
	char sha[48];
	redisReply *r = NULL;

	*broken_r = false;
	for (int attempt = 0; attempt < 2; attempt++) {
		pthread_mutex_lock(&s->lock);
		memcpy(sha, s->sha, sizeof(sha));
		pthread_mutex_unlock(&s->lock);
		if (sha[0] == '\0') {
			int rc = load_script(s, c, err_r);

			*broken_r = rc == -1;
			if (rc < 0)
				return NULL;
			continue;
		}
		argv[1] = sha;
		lens[1] = strlen(sha);
		r = command(c, argc, argv, lens, err_r);
		if (r == NULL) {
			*broken_r = true;
			return NULL;
		}
		if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0) {
			freeReplyObject(r);
			r = NULL;
			pthread_mutex_lock(&s->lock);
			s->sha[0] = '\0';
			pthread_mutex_unlock(&s->lock);
			continue;
		}
		if (r->type == REDIS_REPLY_ERROR) {
			fail(err_r, "script error", r->str);
			freeReplyObject(r);
			return NULL;
		}
		return r;
	}
	fail(err_r, "the script cannot be loaded", NULL);
	return NULL;
}

/* Run the script with keys (prefixed) and args.  The reply (an array) or
 * NULL with *err_r. */
static redisReply *run_script(struct redis_store *s, const char *kind, const char *const *keys,
			      size_t nkeys, const char *const *args, size_t nargs,
			      const char **err_r)
{
	size_t argc = 3 + nkeys + nargs, pl = strlen(s->prefix);
	const char **argv = calloc(argc, sizeof(*argv));
	size_t *lens = calloc(argc, sizeof(*lens));
	char *kbuf = malloc(nkeys * (pl + 2 + OP_STORE_KEY_MAX + 1) + 1), numkeys[24];
	redisContext *c;
	redisReply *r = NULL;
	bool broken = true;

	if (argv == NULL || lens == NULL || kbuf == NULL) {
		fail(err_r, "out of memory", NULL);
		goto out;
	}
	snprintf(numkeys, sizeof(numkeys), "%zu", nkeys);
	argv[0] = "EVALSHA";
	argv[2] = numkeys;
	for (size_t i = 0, o = 0; i < nkeys; i++) {
		int w = snprintf(kbuf + o, pl + 2 + OP_STORE_KEY_MAX + 1, "%s%s%s", s->prefix,
				 i == nkeys - 1 && kind[0] == 'h' ? "h:" : "r:", keys[i]);

		argv[3 + i] = kbuf + o;
		o += (size_t)w + 1;
	}
	for (size_t i = 0; i < nargs; i++)
		argv[3 + nkeys + i] = args[i];
	for (size_t i = 0; i < argc; i++)
		lens[i] = argv[i] ? strlen(argv[i]) : 0;
	c = conn_take(s, err_r);
	if (c == NULL)
		goto out;
	r = evalsha(s, c, (int)argc, argv, lens, &broken, err_r);
	conn_give(s, c, !broken);
	if (r != NULL && r->type != REDIS_REPLY_ARRAY) {
		fail(err_r, "unexpected reply to the script", NULL);
		freeReplyObject(r);
		r = NULL;
	}
out:
	free(argv);
	free(lens);
	free(kbuf);
	return r;
}

static long long int_at(const redisReply *r, size_t i)
{
	return i < r->elements && r->element[i]->type == REDIS_REPLY_INTEGER
		   ? r->element[i]->integer
		   : 0;
}

static int redis_check(void *h, struct op_store_check *c, const char **err_r)
{
	size_t nk = c->nitems + (c->account ? 1 : 0), na = 4 + 4 * c->nitems;
	const char **keys = calloc(nk + 1, sizeof(*keys)), **args = calloc(na, sizeof(*args));
	char(*nums)[24] = calloc(2 * c->nitems + 1, sizeof(*nums));
	redisReply *r = NULL;
	int rc = -1;

	if (keys == NULL || args == NULL || nums == NULL) {
		fail(err_r, "out of memory", NULL);
		goto out;
	}
	args[0] = "c";
	snprintf(nums[2 * c->nitems], sizeof(nums[0]), "%zu", c->nitems);
	args[1] = nums[2 * c->nitems];
	args[2] = c->query_held ? "1" : "0";
	args[3] = c->hold_why ? c->hold_why : "";
	for (size_t i = 0; i < c->nitems; i++) {
		const struct op_store_item *it = &c->items[i];

		keys[i] = it->key;
		snprintf(nums[2 * i], sizeof(nums[0]), "%lld",
			 (long long)(it->cost < COST_MAX ? it->cost : COST_MAX));
		snprintf(nums[2 * i + 1], sizeof(nums[0]), "%lld",
			 (long long)(it->tau < COST_MAX ? it->tau : COST_MAX));
		args[4 + 4 * i] = nums[2 * i];
		args[5 + 4 * i] = nums[2 * i + 1];
		args[6 + 4 * i] = it->blocking ? "1" : "0";
		args[7 + 4 * i] = it->hold_on_deny ? "1" : "0";
	}
	if (c->account)
		keys[c->nitems] = c->account;
	r = run_script(h, c->account ? "h" : "c", keys, nk, args, na, err_r);
	if (r == NULL)
		goto out;
	c->now = int_at(r, 0);
	c->held = int_at(r, 1) != 0;
	c->now_held = int_at(r, 2) != 0;
	c->refused = int_at(r, 3) != 0;
	for (size_t i = 0; !c->held && i < c->nitems; i++) {
		c->items[i].allowed = int_at(r, 4 + 3 * i) != 0;
		c->items[i].retry_us = int_at(r, 5 + 3 * i);
		c->items[i].tat = int_at(r, 6 + 3 * i);
	}
	rc = 0;
out:
	if (r != NULL)
		freeReplyObject(r);
	free(keys);
	free(args);
	free(nums);
	return rc;
}

static int redis_refund(void *h, const struct op_store_item *items, size_t n, const char **err_r)
{
	const char **keys = calloc(n, sizeof(*keys)), **args = calloc(n + 1, sizeof(*args));
	char(*nums)[24] = calloc(n, sizeof(*nums));
	redisReply *r = NULL;

	if (keys != NULL && args != NULL && nums != NULL) {
		args[0] = "r";
		for (size_t i = 0; i < n; i++) {
			keys[i] = items[i].key;
			snprintf(nums[i], sizeof(nums[0]), "%lld",
				 (long long)(items[i].cost < COST_MAX ? items[i].cost : COST_MAX));
			args[i + 1] = nums[i];
		}
		r = run_script(h, "r", keys, n, args, n + 1, err_r);
	} else
		fail(err_r, "out of memory", NULL);
	free(keys);
	free(args);
	free(nums);
	if (r == NULL)
		return -1;
	freeReplyObject(r);
	return 0;
}

/* A plain command on a pooled connection (operator commands). */
static redisReply *simple(struct redis_store *s, int argc, const char **argv, const char **err_r)
{
	size_t lens[8];
	redisContext *c = conn_take(s, err_r);
	redisReply *r;

	if (c == NULL)
		return NULL;
	for (int i = 0; i < argc; i++)
		lens[i] = strlen(argv[i]);
	r = command(c, argc, argv, lens, err_r);
	conn_give(s, c, r != NULL);
	if (r != NULL && r->type == REDIS_REPLY_ERROR) {
		fail(err_r, "error", r->str);
		freeReplyObject(r);
		r = NULL;
	}
	return r;
}

/* pattern for SCAN MATCH: s with glob characters escaped. */
static void glob_escape(char *out, size_t outsize, const char *s)
{
	size_t o = 0;

	for (; *s && o + 3 < outsize; s++) {
		if (strchr("*?[]\\", *s))
			out[o++] = '\\';
		out[o++] = *s;
	}
	out[o] = '\0';
}

typedef int (*scan_fn)(struct redis_store *s, const char *key, const char *value, int64_t now,
		       void *arg);

/* SCAN keys matching pattern; for each, its value (GET), then fn.  0 or -1. */
static int scan_keys(struct redis_store *s, const char *pattern, scan_fn fn, void *arg,
		     const char **err_r)
{
	char cursor[32] = "0";
	const char *targv[] = {"TIME"};
	redisReply *t = simple(s, 1, targv, err_r);
	int64_t now;
	int stop = 0;

	if (t == NULL)
		return -1;
	now =
	    t->elements == 2 ? atoll(t->element[0]->str) * 1000000 + atoll(t->element[1]->str) : 0;
	freeReplyObject(t);
	do {
		const char *argv[] = {"SCAN", cursor, "MATCH", pattern, "COUNT", SCAN_BATCH};
		redisReply *r = simple(s, 6, argv, err_r);

		if (r == NULL)
			return -1;
		if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
			freeReplyObject(r);
			return fail(err_r, "unexpected reply to SCAN", NULL);
		}
		snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
		for (size_t i = 0; i < r->element[1]->elements && !stop; i++) {
			const char *k = r->element[1]->element[i]->str;
			const char *gargv[] = {"GET", k};
			redisReply *v = simple(s, 2, gargv, err_r);

			if (v == NULL) {
				freeReplyObject(r);
				return -1;
			}
			if (v->type == REDIS_REPLY_STRING)
				stop = fn(s, k, v->str, now, arg);
			freeReplyObject(v);
		}
		freeReplyObject(r);
	} while (strcmp(cursor, "0") != 0 && !stop);
	return stop < 0 ? -1 : 0;
}

struct entry_arg {
	op_store_entry_fn fn;
	void *arg;
	const char *exact; /* only this key */
	bool del;
	size_t n;
	const char **err_r;
};

static int entry_cb(struct redis_store *s, const char *k, const char *value, int64_t now, void *a)
{
	struct entry_arg *ea = a;
	const char *key = k + strlen(s->prefix) + 2;
	struct op_store_entry e = {key, 0, 0, now};

	if (ea->exact && strcmp(key, ea->exact) != 0)
		return 0;
	if (ea->del) {
		const char *argv[] = {"DEL", k};
		redisReply *r = simple(s, 2, argv, ea->err_r);

		if (r == NULL)
			return -1;
		ea->n += r->type == REDIS_REPLY_INTEGER ? (size_t)r->integer : 0;
		freeReplyObject(r);
		return 0;
	}
	if (sscanf(value, "%" SCNd64 " %" SCNd64, &e.tat, &e.tau) != 2 || e.tat <= now)
		return 0;
	return ea->fn(&e, ea->arg) != 0;
}

static int walk(struct redis_store *s, const char *key, struct entry_arg *ea, const char **err_r)
{
	char esc[2 * OP_STORE_KEY_MAX + 2], pesc[2 * sizeof(s->prefix)];
	char pattern[sizeof(esc) + sizeof(pesc) + 8];

	ea->err_r = err_r;
	ea->exact = key && strchr(key, '#') ? key : NULL;
	glob_escape(esc, sizeof(esc), key ? key : "");
	glob_escape(pesc, sizeof(pesc), s->prefix);
	snprintf(pattern, sizeof(pattern), "%sr:%s%s", pesc, esc,
		 key == NULL ? "*"
		 : ea->exact ? ""
			     : "#*");
	return scan_keys(s, pattern, entry_cb, ea, err_r);
}

static int redis_scan(void *h, const char *key, op_store_entry_fn fn, void *arg, const char **err_r)
{
	struct entry_arg ea = {fn, arg, NULL, false, 0, NULL};

	return walk(h, key, &ea, err_r);
}

static int redis_reset(void *h, const char *key, size_t *n_r, const char **err_r)
{
	struct entry_arg ea = {NULL, NULL, NULL, true, 0, NULL};
	int rc = walk(h, key, &ea, err_r);

	*n_r = ea.n;
	return rc;
}

struct hold_arg {
	op_store_hold_fn fn;
	void *arg;
};

static int hold_cb(struct redis_store *s, const char *k, const char *value, int64_t now, void *a)
{
	struct hold_arg *ha = a;
	struct op_store_hold hd = {k + strlen(s->prefix) + 2, 0, ""};
	char *end;

	(void)now;
	hd.since_us = strtoll(value, &end, 10);
	hd.why = *end == ' ' ? end + 1 : end;
	return ha->fn(&hd, ha->arg) != 0;
}

static int redis_hold_list(void *h, op_store_hold_fn fn, void *arg, const char **err_r)
{
	struct redis_store *s = h;
	struct hold_arg ha = {fn, arg};
	char esc[300], pattern[320];

	glob_escape(esc, sizeof(esc), s->prefix);
	snprintf(pattern, sizeof(pattern), "%sh:*", esc);
	return scan_keys(s, pattern, hold_cb, &ha, err_r);
}

static int redis_hold_release(void *h, const char *account, bool *found_r, const char **err_r)
{
	struct redis_store *s = h;
	char key[sizeof(s->prefix) + 2 + OP_STORE_KEY_MAX + 1];
	const char *argv[] = {"DEL", key};
	redisReply *r;

	snprintf(key, sizeof(key), "%sh:%s", s->prefix, account);
	r = simple(s, 2, argv, err_r);
	if (r == NULL)
		return -1;
	*found_r = r->type == REDIS_REPLY_INTEGER && r->integer > 0;
	freeReplyObject(r);
	return 0;
}

const struct op_store_ops op_store_redis_ops = {
    .name = "redis",
    .open = redis_open,
    .close = redis_close,
    .check = redis_check,
    .refund = redis_refund,
    .scan = redis_scan,
    .reset = redis_reset,
    .hold_list = redis_hold_list,
    .hold_release = redis_hold_release,
};
