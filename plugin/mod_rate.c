/*
 * mod_rate.c - the rate module: GCRA limits per login, sender, sender
 * domain, tenant, client network and recipient domain, counted in a store
 * (include/outpost/store.h) and checked at the earliest stage that knows
 * the key.
 *
 * Stages: MAIL checks the rules that count messages, and bytes when the
 * client declared SIZE=, plus whether the account (login, else sender) is
 * held; RCPT checks the rules that count recipients, one recipient at a
 * time (a refused recipient gets its own reply, the others stay); EOM
 * checks bytes (all of them, or what exceeds the declared SIZE).  All the
 * rules of one stage are one store call.  A refused attempt consumes
 * nothing (the store writes nothing when a blocking rule says no); what a
 * transaction counted is given back when it is aborted (rate.refund_on_abort)
 * or refused later (by this or another module).  BODY has an empty hook:
 * it makes the MTA send the body, so the milter layer counts its bytes.
 *
 * Actions beyond a limit: tempfail (451 4.7.1 with the seconds after which
 * a retry passes), reject (550 5.7.1), hold (the message goes to the
 * MTA's hold queue), log (dry run).  then = "hold_account" also holds the
 * account: every later message of that login or sender is held, not
 * counted, until `outpostctl hold release`.
 *
 * Store trouble follows actions.on_store_error: accept (the default) falls
 * back to the embedded store of this host (a Redis store) or goes on
 * unchecked, with one warning per minute; tempfail/reject answer so.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "outpost/log.h"
#include "outpost/metrics.h"
#include "outpost/module.h"
#include "outpost/pool.h"
#include "outpost/rate.h"
#include "outpost/store.h"

#define KEY_BUF (OP_STORE_KEY_MAX + 1)

struct rate_state {
	struct op_store *store;	   /* rate.store */
	struct op_store *fallback; /* the embedded store when rate.store is redis */
	struct op_rate_rules global;
	struct op_rate_rules *tenant; /* by tenant index; .v NULL: the global rules */
	size_t ntenants;
};

/* What a transaction counted, to give it back. */
struct counted {
	const char *key;
	int64_t cost;
	struct op_store *store;
};

struct rate_msg {
	struct op_msg *m;
	const struct op_config *cfg;
	const struct op_rate_rules *rules;
	const char *account; /* "login:..." or "sender:...", NULL when none */
	bool held;	     /* the account is held: nothing is counted */
	uint64_t declared;   /* SIZE= counted at MAIL; 0 when none */
	bool eom_reached;
	struct counted *done;
	size_t ndone, cap;
};

/* One stage's check: the items and the rule of each. */
struct stage {
	struct op_store_item *items;
	const struct op_rate_rule **rules;
	size_t n;
	char why[200]; /* names of the hold_account rules among them */
};

static bool mod_rate_enabled(const struct op_config *cfg)
{
	return cfg->rate_enabled;
}

static void store_conf(const struct op_config *cfg, enum op_store_kind kind,
		       struct op_store_conf *sc)
{
	sc->kind = kind;
	sc->lmdb_path = cfg->rate_lmdb_path;
	sc->lmdb_map_size = cfg->rate_lmdb_map_size;
	sc->redis_address = cfg->rate_redis_address;
	sc->redis_prefix = cfg->rate_redis_prefix;
	sc->redis_connect_timeout_ms = cfg->rate_redis_connect_timeout_ms;
	sc->redis_timeout_ms = cfg->rate_redis_timeout_ms;
}

struct op_store *op_mod_rate_store(const struct op_config *cfg, bool embedded, const char **err_r)
{
	struct op_store_conf sc;

	store_conf(cfg, embedded ? OP_STORE_LMDB : (enum op_store_kind)cfg->rate_store, &sc);
	return op_store_get(&sc, err_r);
}

static void mod_rate_fini(void *state)
{
	struct rate_state *st = state;

	if (st == NULL)
		return;
	op_store_put(&st->store);
	op_store_put(&st->fallback);
	op_rate_rules_free(&st->global);
	for (size_t i = 0; st->tenant && i < st->ntenants; i++)
		op_rate_rules_free(&st->tenant[i]);
	free(st->tenant);
	free(st);
}

/* The directory of the LMDB file must exist (the file is made on first use). */
static int check_lmdb_dir(const struct op_config *cfg, char *err, size_t errsize)
{
	char dir[4096];
	const char *slash = strrchr(cfg->rate_lmdb_path, '/');
	struct stat sb;

	if (slash == NULL || cfg->rate_lmdb_path[0] != '/')
		return snprintf(err, errsize, "%s: rate.lmdb_path must be an absolute path",
				cfg->path),
		       -1;
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - cfg->rate_lmdb_path), cfg->rate_lmdb_path);
	if (stat(dir[0] ? dir : "/", &sb) < 0 || !S_ISDIR(sb.st_mode))
		return snprintf(err, errsize, "%s: rate.lmdb_path: no directory %s", cfg->path,
				dir),
		       -1;
	return 0;
}

static int rate_rules_build(struct op_config *cfg, const config_t *lc, struct rate_state *st,
			    char *err, size_t errsize)
{
	const config_setting_t *tenants = config_lookup(lc, "tenants");
	size_t max = (size_t)cfg->rate_max_rules;

	if (op_rate_rules_parse(config_lookup(lc, "rate.rules"), NULL, max, &st->global, err,
				errsize) < 0)
		return -1;
	st->tenant = calloc(cfg->ntenants + 1, sizeof(*st->tenant));
	if (st->tenant == NULL)
		return snprintf(err, errsize, "%s: out of memory", cfg->path), -1;
	st->ntenants = cfg->ntenants;
	for (size_t i = 0; tenants && i < cfg->ntenants; i++) {
		const config_setting_t *t = config_setting_get_elem(tenants, (unsigned)i);
		const config_setting_t *rr = t ? config_setting_get_member(t, "rate_rules") : NULL;

		if (rr != NULL &&
		    op_rate_rules_parse(rr, &st->global, max, &st->tenant[i], err, errsize) < 0)
			return -1;
	}
	return 0;
}

static int mod_rate_init(struct op_config *cfg, const void *raw, void **state_r, char *err,
			 size_t errsize)
{
	struct rate_state *st = calloc(1, sizeof(*st));
	const char *why = NULL;

	*state_r = st;
	if (st == NULL)
		return snprintf(err, errsize, "%s: out of memory", cfg->path), -1;
	if (check_lmdb_dir(cfg, err, errsize) < 0 ||
	    rate_rules_build(cfg, raw, st, err, errsize) < 0)
		return -1;
	st->store = op_mod_rate_store(cfg, false, &why);
	if (st->store != NULL && cfg->rate_store == OP_STORE_REDIS)
		st->fallback = op_mod_rate_store(cfg, true, &why);
	if (st->store == NULL || (cfg->rate_store == OP_STORE_REDIS && st->fallback == NULL))
		return snprintf(err, errsize, "%s: rate.store: %s", cfg->path, why), -1;
	op_log_info("rate: %zu rules, store %s %s", st->global.n, op_store_name(st->store),
		    cfg->rate_store == OP_STORE_REDIS ? cfg->rate_redis_address
						      : cfg->rate_lmdb_path);
	return 0;
}

/* ---- keys ---------------------------------------------------------------- */

/* The counter key of rule r for this message (and recipient domain), into
 * out.  -1 when the message has no value for one of the key's parts. */
static int rule_key(const struct op_ctx *ctx, const struct op_rate_rule *r, const char *rdom,
		    char *out, size_t outsize)
{
	const struct op_msg *m = ctx->msg;
	size_t o = 0;
	char net[64];

	for (size_t i = 0; i < r->nparts; i++) {
		const char *val = NULL;
		bool lower = true;

		switch (r->part[i]) {
		case OP_RATE_LOGIN:
			val = m->auth_authen;
			lower = false;
			break;
		case OP_RATE_SENDER:
			val = m->mail_from;
			break;
		case OP_RATE_SENDER_DOMAIN:
			val = m->mail_domain;
			break;
		case OP_RATE_TENANT:
			val = m->tenant ? m->tenant->name : NULL;
			lower = false;
			break;
		case OP_RATE_CLIENT_IP:
			if (op_rate_client_net(m->conn->client_addr, r->ipv4_prefix, r->ipv6_prefix,
					       net, sizeof(net)) == 0)
				val = net;
			break;
		case OP_RATE_RCPT_DOMAIN:
			val = rdom;
			break;
		case OP_RATE_PART__COUNT:
			break;
		}
		if (val == NULL || val[0] == '\0')
			return -1;
		o += (size_t)snprintf(out + o, outsize - o, "%s%s:", i ? "+" : "",
				      op_rate_part_name(r->part[i]));
		if (op_rate_key_value(out, outsize, &o, val, lower) < 0)
			return -1;
	}
	return snprintf(out + o, outsize - o, "#%s", r->name) < (int)(outsize - o) ? 0 : -1;
}

/* "login:alice" or "sender:bob@example.org" in the message pool; NULL
 * when the message has neither (a null sender without login). */
static const char *account_of(struct op_msg *m)
{
	char buf[KEY_BUF];
	size_t o;

	if (m->auth_authen && m->auth_authen[0]) {
		o = (size_t)snprintf(buf, sizeof(buf), "login:");
		op_rate_key_value(buf, sizeof(buf), &o, m->auth_authen, false);
	} else if (m->mail_from[0]) {
		o = (size_t)snprintf(buf, sizeof(buf), "sender:");
		op_rate_key_value(buf, sizeof(buf), &o, m->mail_from, true);
	} else
		return NULL;
	return op_pool_strdup(m->pool, buf);
}

/* SIZE=N among the MAIL FROM parameters, or 0. */
static uint64_t declared_size(const struct op_msg *m)
{
	for (char **a = m->mail_args; a && *a; a++) {
		char *end;
		unsigned long long v;

		if (strncasecmp(*a, "SIZE=", 5) != 0 || !isdigit((unsigned char)(*a)[5]))
			continue;
		errno = 0;
		v = strtoull(*a + 5, &end, 10);
		return *end == '\0' && errno != ERANGE ? v : 0;
	}
	return 0;
}

static bool in_scope(const struct op_msg *m, const struct op_rate_rule *r)
{
	return r->scope == OP_RATE_ALL || (r->scope == OP_RATE_INTERNAL) == op_msg_internal(m);
}

/* Add rule r with n units to s, when the message has its key. 0 or -1 (memory). */
static int stage_add(struct op_ctx *ctx, struct rate_msg *rm, struct stage *s,
		     const struct op_rate_rule *r, uint64_t n, const char *rdom)
{
	char key[KEY_BUF];
	struct op_store_item *it = &s->items[s->n];

	if (!in_scope(ctx->msg, r) || rule_key(ctx, r, rdom, key, sizeof(key)) < 0)
		return 0;
	memset(it, 0, sizeof(*it));
	it->key = op_pool_strdup(ctx->msg->pool, key);
	if (it->key == NULL)
		return -1;
	it->cost = op_gcra_cost(&r->rate, n);
	it->tau = op_gcra_tolerance(&r->rate);
	it->blocking = r->action == OP_RATE_TEMPFAIL || r->action == OP_RATE_REJECT;
	it->hold_on_deny = r->hold_account && rm->account != NULL;
	if (it->hold_on_deny) {
		size_t l = strlen(s->why);

		snprintf(s->why + l, sizeof(s->why) - l, "%s%s", l ? "," : "rule ", r->name);
	}
	s->rules[s->n++] = r;
	return 0;
}

/* Room for every rule of the message in s.  0 or -1. */
static int stage_init(struct rate_msg *rm, struct stage *s)
{
	size_t n = rm->rules->n ? rm->rules->n : 1;

	memset(s, 0, sizeof(*s));
	s->items = op_pool_alloc(rm->m->pool, n * sizeof(*s->items));
	s->rules = op_pool_alloc(rm->m->pool, n * sizeof(*s->rules));
	return s->items && s->rules ? 0 : -1;
}

/* ---- the store ----------------------------------------------------------- */

/* One warning per minute about store trouble, whatever the thread. */
static void store_trouble(const struct op_store *store, const char *err, const char *then)
{
	static int64_t next_log;
	struct timespec ts;
	int64_t now, next;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = ts.tv_sec;
	next = __atomic_load_n(&next_log, __ATOMIC_RELAXED);
	if (now < next || !__atomic_compare_exchange_n(&next_log, &next, now + 60, false,
						       __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		return;
	op_log_warning("rate: the %s store is unavailable (%s): %s (said once a minute)",
		       op_store_name(store), err, then);
}

/* Run c on the configured store, or as actions.on_store_error says.
 * Returns the store that answered, or NULL when none did (v is then set,
 * or left CONTINUE to go on unchecked). */
static struct op_store *rate_store_check(struct op_ctx *ctx, struct op_store_check *c,
					 struct op_verdict *v)
{
	const struct rate_state *st = ctx->state;
	const char *err, *err2;

	if (op_store_check(st->store, c, &err) == 0)
		return st->store;
	op_log_debug("%s: rate: %s store: %s", ctx->msg->queue_id, op_store_name(st->store), err);
	if (ctx->cfg->on_error[OP_ERR_STORE] != OP_ACT_ACCEPT) {
		store_trouble(st->store, err, "answering per actions.on_store_error");
		op_msg_summary(ctx->msg, ctx->modidx, "rate=error reason=\"store unavailable\"");
		op_verdict_error(v, ctx->cfg, OP_ERR_STORE, "3.0",
				 "rate limit service unavailable, try again later");
		return NULL;
	}
	if (st->fallback != NULL && op_store_check(st->fallback, c, &err2) == 0) {
		store_trouble(st->store, err, "counting in the embedded store of this host");
		return st->fallback;
	}
	store_trouble(st->store, st->fallback ? err2 : err, "mail goes on unchecked");
	op_msg_summary(ctx->msg, ctx->modidx, "rate=skip reason=\"store unavailable\"");
	return NULL;
}

/* Remember what the check counted, for a refund. */
static void remember(struct rate_msg *rm, const struct stage *s, const struct op_store_check *c,
		     struct op_store *store)
{
	for (size_t i = 0; i < s->n && !c->refused; i++) {
		if (!s->items[i].allowed || s->items[i].cost == 0)
			continue;
		if (rm->ndone == rm->cap) {
			size_t ncap = rm->cap ? rm->cap * 2 : 8;
			struct counted *v = op_pool_alloc(rm->m->pool, ncap * sizeof(*v));

			if (v == NULL)
				return; /* XXX: out of memory: this count is not refunded */
			if (rm->ndone)
				memcpy(v, rm->done, rm->ndone * sizeof(*v));
			rm->done = v;
			rm->cap = ncap;
		}
		rm->done[rm->ndone].key = s->items[i].key;
		rm->done[rm->ndone].cost = s->items[i].cost;
		rm->done[rm->ndone].store = store;
		rm->ndone++;
	}
}

/* Give back everything the transaction counted. */
static void refund_all(struct rate_msg *rm, const char *why)
{
	size_t i = 0;

	while (i < rm->ndone) {
		struct op_store *store = rm->done[i].store;
		struct op_store_item items[32];
		size_t n = 0;
		const char *err;

		for (; i < rm->ndone && n < 32 && rm->done[i].store == store; i++, n++) {
			memset(&items[n], 0, sizeof(items[n]));
			items[n].key = rm->done[i].key;
			items[n].cost = rm->done[i].cost;
		}
		if (op_store_refund(store, items, n, &err) < 0)
			op_log_notice("%s: rate: %s: %zu counts not given back: %s",
				      rm->m->queue_id, why, n, err);
	}
	if (rm->ndone)
		op_log_debug("%s: rate: %s: %zu counts given back", rm->m->queue_id, why,
			     rm->ndone);
	rm->ndone = 0;
}

/* ---- verdicts ------------------------------------------------------------ */

static void key_parts(const struct op_rate_rule *r, char *out, size_t outsize)
{
	snprintf(out, outsize, "%s%s%s", op_rate_part_name(r->part[0]), r->nparts > 1 ? "+" : "",
		 r->nparts > 1 ? op_rate_part_name(r->part[1]) : "");
}

/* The reply for a blocking rule over its limit. */
static void refuse(struct op_verdict *v, const struct op_rate_rule *r, int64_t retry_us)
{
	char parts[40];

	key_parts(r, parts, sizeof(parts));
	if (r->action == OP_RATE_TEMPFAIL && retry_us >= 0)
		op_verdict_set(v, OP_ACT_TEMPFAIL, "451", "4.7.1",
			       "rate limit exceeded (%s %s per %s); try again in %lld seconds",
			       op_rate_count_name(r->count), r->limit_text, parts,
			       (long long)((retry_us + 999999) / 1000000));
	else
		op_verdict_set(v, OP_ACT_REJECT, "550", "5.7.1",
			       "rate limit exceeded (%s %s per %s%s)", op_rate_count_name(r->count),
			       r->limit_text, parts,
			       retry_us < 0 ? ", more than it allows at once" : "");
}

/* Log each rule over its limit and set v to the strongest action. */
static void rate_verdict(struct op_ctx *ctx, const struct stage *s, const struct op_store_check *c,
			 struct op_verdict *v)
{
	struct op_msg *m = ctx->msg;
	const struct op_rate_rule *worst = NULL, *hold = NULL;
	int64_t worst_retry = 0;
	const char *worst_key = NULL, *hold_key = NULL;

	for (size_t i = 0; i < s->n; i++) {
		const struct op_rate_rule *r = s->rules[i];
		const struct op_store_item *it = &s->items[i];
		int rank = r->action == OP_RATE_REJECT || it->retry_us < 0 ? 2 : 1;
		int wrank = worst == NULL					 ? 0
			    : worst->action == OP_RATE_REJECT || worst_retry < 0 ? 2
										 : 1;

		if (it->allowed)
			continue;
		op_metrics_rate_hit(r->name, op_rate_action_name(r->action));
		op_log_notice(
		    "%s: rate: over limit: rule=%s key=%s count=%s limit=%s burst=%llu "
		    "action=%s%s retry_s=%lld",
		    m->queue_id, r->name, it->key, op_rate_count_name(r->count), r->limit_text,
		    (unsigned long long)r->rate.burst, op_rate_action_name(r->action),
		    r->action == OP_RATE_LOG ? " (dry run)" : "",
		    (long long)(it->retry_us < 0 ? -1 : (it->retry_us + 999999) / 1000000));
		if (r->action == OP_RATE_HOLD && hold == NULL) {
			hold = r;
			hold_key = it->key;
		} else if (it->blocking && rank > wrank) {
			worst = r;
			worst_retry = it->retry_us;
			worst_key = it->key;
		} else if (it->blocking && rank == wrank && it->retry_us > worst_retry) {
			worst_retry = it->retry_us;
		}
	}
	if (c->now_held) {
		op_metrics_rate_account_held();
		op_log_warning("%s: rate: account %s held by %s: its next messages go to the hold "
			       "queue until `outpostctl hold release`",
			       m->queue_id, c->account, c->hold_why);
	}
	if (worst != NULL) {
		refuse(v, worst, worst_retry);
		op_msg_summary(m, ctx->modidx, "rate=%s rule=%s key=%s", op_action_name(v->action),
			       worst->name, worst_key);
	} else if (hold != NULL) {
		op_verdict_set(v, OP_ACT_HOLD, NULL, NULL, "rule %s: %s %s over %s", hold->name,
			       op_rate_count_name(hold->count), hold->limit_text, hold_key);
		op_msg_summary(m, ctx->modidx, "rate=hold rule=%s key=%s", hold->name, hold_key);
	}
}

/* Check stage s (with the held lookup at MAIL) and decide v. */
static void rate_run(struct op_ctx *ctx, struct rate_msg *rm, struct stage *s, bool query_held,
		     struct op_verdict *v)
{
	struct op_store_check c = {0};
	struct op_store *store;

	if (s->n == 0 && !query_held)
		return;
	c.items = s->items;
	c.nitems = s->n;
	c.account = rm->account;
	c.query_held = query_held;
	c.hold_why = s->why;
	store = rate_store_check(ctx, &c, v);
	if (store == NULL)
		return;
	if (c.held) {
		rm->held = true;
		op_verdict_set(v, OP_ACT_HOLD, NULL, NULL, "account %s is held", rm->account);
		op_msg_summary(ctx->msg, ctx->modidx, "rate=held account=%s", rm->account);
		return;
	}
	remember(rm, s, &c, store);
	rate_verdict(ctx, s, &c, v);
}

/* ---- hooks --------------------------------------------------------------- */

static const struct op_rate_rules *rules_of(const struct rate_state *st, const struct op_msg *m)
{
	if (m->tenant != NULL && m->tenant->index < st->ntenants && st->tenant[m->tenant->index].v)
		return &st->tenant[m->tenant->index];
	return &st->global;
}

static void mod_rate_mail(struct op_ctx *ctx, struct op_verdict *v)
{
	struct op_msg *m = ctx->msg;
	struct rate_msg *rm = op_pool_alloc(m->pool, sizeof(*rm));
	struct stage s;

	if (rm == NULL) {
		op_verdict_error(v, ctx->cfg, OP_ERR_RESOURCE, "3.0", "out of memory");
		return;
	}
	memset(rm, 0, sizeof(*rm));
	rm->m = m;
	rm->cfg = ctx->cfg;
	rm->rules = rules_of(ctx->state, m);
	rm->account = account_of(m);
	rm->declared = declared_size(m);
	m->mod_msg[ctx->modidx] = rm;
	if (stage_init(rm, &s) < 0) {
		op_verdict_error(v, ctx->cfg, OP_ERR_RESOURCE, "3.0", "out of memory");
		return;
	}
	op_msg_summary(m, ctx->modidx, "rate=pass");
	for (size_t i = 0; i < rm->rules->n; i++) {
		const struct op_rate_rule *r = &rm->rules->v[i];
		int rc = 0;

		if (r->count == OP_RATE_MESSAGES)
			rc = stage_add(ctx, rm, &s, r, 1, NULL);
		else if (r->count == OP_RATE_BYTES && rm->declared > 0)
			rc = stage_add(ctx, rm, &s, r, rm->declared, NULL);
		if (rc < 0) {
			op_verdict_error(v, ctx->cfg, OP_ERR_RESOURCE, "3.0", "out of memory");
			return;
		}
	}
	rate_run(ctx, rm, &s, rm->account != NULL, v);
}

static void mod_rate_rcpt(struct op_ctx *ctx, struct op_verdict *v)
{
	struct rate_msg *rm = ctx->msg->mod_msg[ctx->modidx];
	const char *at = strrchr(ctx->rcpt, '@');
	struct stage s;

	if (rm == NULL || rm->held)
		return;
	if (stage_init(rm, &s) < 0) {
		op_verdict_error(v, ctx->cfg, OP_ERR_RESOURCE, "3.0", "out of memory");
		return;
	}
	for (size_t i = 0; i < rm->rules->n; i++)
		if (rm->rules->v[i].count == OP_RATE_RECIPIENTS &&
		    stage_add(ctx, rm, &s, &rm->rules->v[i], 1, at ? at + 1 : NULL) < 0) {
			op_verdict_error(v, ctx->cfg, OP_ERR_RESOURCE, "3.0", "out of memory");
			return;
		}
	rate_run(ctx, rm, &s, false, v);
}

/* Nothing to do per chunk: see the top of the file. */
static void mod_rate_body(struct op_ctx *ctx, struct op_verdict *v)
{
	(void)ctx;
	(void)v;
}

static void mod_rate_eom(struct op_ctx *ctx, struct op_verdict *v)
{
	struct op_msg *m = ctx->msg;
	struct rate_msg *rm = m->mod_msg[ctx->modidx];
	uint64_t bytes = (uint64_t)m->hdr_bytes + m->body_bytes;
	struct stage s;

	if (rm == NULL)
		return;
	rm->eom_reached = true;
	if (rm->held || bytes <= rm->declared)
		return;
	if (stage_init(rm, &s) < 0) {
		op_verdict_error(v, ctx->cfg, OP_ERR_RESOURCE, "3.0", "out of memory");
		return;
	}
	for (size_t i = 0; i < rm->rules->n; i++)
		if (rm->rules->v[i].count == OP_RATE_BYTES &&
		    stage_add(ctx, rm, &s, &rm->rules->v[i], bytes - rm->declared, NULL) < 0) {
			op_verdict_error(v, ctx->cfg, OP_ERR_RESOURCE, "3.0", "out of memory");
			return;
		}
	rate_run(ctx, rm, &s, false, v);
}

static void mod_rate_abort(struct op_ctx *ctx, struct op_verdict *v)
{
	struct rate_msg *rm = ctx->msg->mod_msg[ctx->modidx];

	(void)v;
	if (rm != NULL && ctx->cfg->rate_refund_on_abort)
		refund_all(rm, "transaction aborted");
}

/* End of the message, whatever its outcome: a refused message (by any
 * module, at any stage) gives back what it counted; so does one that ended
 * without end of message and without ABORT (connection lost). */
static void mod_rate_msg_free(void *p)
{
	struct rate_msg *rm = p;
	enum op_action a = rm->m->final.action;

	if (rm->ndone == 0)
		return;
	if (a == OP_ACT_TEMPFAIL || a == OP_ACT_REJECT)
		refund_all(rm, "message refused");
	else if (!rm->eom_reached && rm->cfg->rate_refund_on_abort)
		refund_all(rm, "transaction ended early");
}

const struct op_module mod_rate = {
    .name = "rate",
    .enabled = mod_rate_enabled,
    .init = mod_rate_init,
    .fini = mod_rate_fini,
    .msg_free = mod_rate_msg_free,
    .reply_stages =
	OP_STAGE_BIT(OP_STAGE_MAIL) | OP_STAGE_BIT(OP_STAGE_RCPT) | OP_STAGE_BIT(OP_STAGE_EOM),
    .hook =
	{
	    [OP_STAGE_MAIL] = mod_rate_mail,
	    [OP_STAGE_RCPT] = mod_rate_rcpt,
	    [OP_STAGE_BODY] = mod_rate_body,
	    [OP_STAGE_EOM] = mod_rate_eom,
	    [OP_STAGE_ABORT] = mod_rate_abort,
	},
};
