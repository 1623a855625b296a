/*
 * ctl_rate.c - `outpostctl rate show|reset|top` and `outpostctl hold
 * list|release`: the operator's view of the rate store the configuration
 * names (rate.store).
 *
 * The embedded store is the LMDB file itself, shared with the daemons of
 * this host (no daemon needed, no control socket); a Redis store is read
 * through Redis.  A missing LMDB file means an empty store: it is never
 * created here, so that root running outpostctl before the daemon's first
 * message cannot leave a file the daemon's user cannot open.
 *
 * Counter keys are written as `rate top` prints them:
 * KIND:VALUE[+KIND:VALUE][#RULE], values percent-encoded.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "ctl.h"
#include "outpost/config.h"
#include "outpost/gcra.h"
#include "outpost/rate.h"
#include "outpost/store.h"

#define TOP_DEFAULT 20

struct ctl_rate {
	const struct ctl_opts *o;
	struct op_config *cfg;
	struct op_store *store;
	bool empty; /* the LMDB file does not exist yet */
};

/* Load the config and find the store.  0, or the exit status. */
static int ctl_open(const struct ctl_opts *o, struct ctl_rate *cr)
{
	char err[512];
	const char *why = NULL;
	struct stat sb;

	memset(cr, 0, sizeof(*cr));
	cr->o = o;
	cr->cfg = op_config_load(o->config, 1, err, sizeof(err));
	if (cr->cfg == NULL) {
		fprintf(stderr, "outpostctl: %s\n", err);
		return 2;
	}
	if (cr->cfg->rate_store == OP_STORE_LMDB && stat(cr->cfg->rate_lmdb_path, &sb) < 0) {
		cr->empty = true;
		return 0;
	}
	cr->store = op_mod_rate_store(cr->cfg, false, &why);
	if (cr->store == NULL) {
		fprintf(stderr, "outpostctl: rate store: %s\n", why);
		op_config_unref(&cr->cfg);
		return 2;
	}
	return 0;
}

static void ctl_close(struct ctl_rate *cr)
{
	op_store_put(&cr->store);
	op_config_unref(&cr->cfg);
}

static int store_failed(const char *what, const char *err)
{
	fprintf(stderr, "outpostctl: %s: %s\n", what, err);
	return 1;
}

/* One counter, as text or JSON. */
static void print_entry(const struct ctl_opts *o, const struct op_store_entry *e, bool *first)
{
	int level = op_gcra_level(e->tat, e->now, e->tau);
	double rest = (double)(e->tat - e->now) / 1e6;

	if (!o->json) {
		printf("%-60s %3d.%d%% full, at rest in %.1f s%s\n", e->key, level / 10, level % 10,
		       rest, level >= 1000 ? " (refusing)" : "");
		return;
	}
	printf("%s\n  {\"key\": ", *first ? "" : ",");
	ctl_json_str(e->key);
	printf(", \"level_permille\": %d, \"at_rest_in_s\": %.3f, \"tat_us\": %lld, "
	       "\"tolerance_us\": %lld}",
	       level, rest, (long long)e->tat, (long long)e->tau);
	*first = false;
}

struct show_arg {
	const struct ctl_opts *o;
	bool first;
	size_t n;
};

static int show_cb(const struct op_store_entry *e, void *arg)
{
	struct show_arg *sa = arg;

	print_entry(sa->o, e, &sa->first);
	sa->n++;
	return 0;
}

struct top_arg {
	struct op_store_entry *v;
	char **keys;
	size_t n, cap, max;
};

/* Keep the max fullest counters. */
static int top_cb(const struct op_store_entry *e, void *arg)
{
	struct top_arg *ta = arg;
	int level = op_gcra_level(e->tat, e->now, e->tau);
	size_t at = ta->n;

	if (ta->n == ta->max) {
		at = ta->n - 1;
		if (level <= op_gcra_level(ta->v[at].tat, ta->v[at].now, ta->v[at].tau))
			return 0;
		free(ta->keys[at]);
	} else
		ta->n++;
	ta->keys[at] = strdup(e->key);
	if (ta->keys[at] == NULL)
		return -1;
	ta->v[at] = *e;
	ta->v[at].key = ta->keys[at];
	/* insertion into the sorted array, fullest first */
	for (size_t i = at;
	     i > 0 && op_gcra_level(ta->v[i].tat, ta->v[i].now, ta->v[i].tau) >
			  op_gcra_level(ta->v[i - 1].tat, ta->v[i - 1].now, ta->v[i - 1].tau);
	     i--) {
		struct op_store_entry t = ta->v[i];
		char *k = ta->keys[i];

		ta->v[i] = ta->v[i - 1];
		ta->keys[i] = ta->keys[i - 1];
		ta->v[i - 1] = t;
		ta->keys[i - 1] = k;
	}
	return 0;
}

static int rate_top(struct ctl_rate *cr, size_t max)
{
	struct top_arg ta = {calloc(max, sizeof(*ta.v)), calloc(max, sizeof(char *)), 0, 0, max};
	const char *err;
	bool first = true;
	int rc = 0;

	if (ta.v == NULL || ta.keys == NULL)
		rc = store_failed("rate top", "out of memory");
	else if (!cr->empty && op_store_scan(cr->store, NULL, top_cb, &ta, &err) < 0)
		rc = store_failed("rate top", err);
	if (cr->o->json && rc == 0)
		printf("[");
	for (size_t i = 0; i < ta.n && rc == 0; i++)
		print_entry(cr->o, &ta.v[i], &first);
	if (cr->o->json && rc == 0)
		printf("%s]\n", first ? "" : "\n");
	else if (rc == 0 && ta.n == 0)
		printf("no counter is in use\n");
	for (size_t i = 0; i < ta.n; i++)
		free(ta.keys[i]);
	free(ta.v);
	free(ta.keys);
	return rc;
}

static int rate_show(struct ctl_rate *cr, const char *key)
{
	struct show_arg sa = {cr->o, true, 0};
	const char *err;

	if (cr->o->json)
		printf("[");
	if (!cr->empty && op_store_scan(cr->store, key, show_cb, &sa, &err) < 0)
		return store_failed("rate show", err);
	if (cr->o->json)
		printf("%s]\n", sa.first ? "" : "\n");
	else if (sa.n == 0)
		printf("%s: no counter in use (at rest)\n", key);
	return 0;
}

static int rate_reset(struct ctl_rate *cr, const char *key)
{
	size_t n = 0;
	const char *err;

	if (!cr->empty && op_store_reset(cr->store, key, &n, &err) < 0)
		return store_failed("rate reset", err);
	if (cr->o->json)
		printf("{\"reset\": %zu}\n", n);
	else
		printf("%s: %zu counters reset\n", key, n);
	return 0;
}

int ctl_rate(const struct ctl_opts *o, int argc, char **argv)
{
	struct ctl_rate cr;
	unsigned long top = TOP_DEFAULT;
	char *end;
	int rc;

	if (argc < 1 || (strcmp(argv[0], "top") != 0 && argc != 2) ||
	    (strcmp(argv[0], "top") == 0 && argc > 2)) {
		fprintf(stderr, "usage: outpostctl rate show KEY | reset KEY | top [N]\n");
		return 2;
	}
	if (strcmp(argv[0], "top") == 0 && argc == 2) {
		top = strtoul(argv[1], &end, 10);
		if (*end || top == 0 || top > 100000) {
			fprintf(stderr, "outpostctl: rate top: N is 1..100000\n");
			return 2;
		}
	}
	if (argc == 2 && strcmp(argv[0], "top") != 0 && !op_store_key_valid(argv[1])) {
		fprintf(
		    stderr,
		    "outpostctl: %s: not a counter key (KIND:VALUE[#RULE], as `rate top` prints)\n",
		    argv[1]);
		return 2;
	}
	if ((rc = ctl_open(o, &cr)) != 0)
		return rc;
	if (strcmp(argv[0], "show") == 0)
		rc = rate_show(&cr, argv[1]);
	else if (strcmp(argv[0], "reset") == 0)
		rc = rate_reset(&cr, argv[1]);
	else if (strcmp(argv[0], "top") == 0)
		rc = rate_top(&cr, top);
	else {
		fprintf(stderr, "outpostctl: rate: unknown subcommand \"%s\"\n", argv[0]);
		rc = 2;
	}
	ctl_close(&cr);
	return rc;
}

struct hold_arg {
	const struct ctl_opts *o;
	bool first;
	size_t n;
};

static int hold_cb(const struct op_store_hold *h, void *arg)
{
	struct hold_arg *ha = arg;
	time_t t = (time_t)(h->since_us / 1000000);
	char when[64];
	struct tm tm;

	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
	ha->n++;
	if (!ha->o->json) {
		printf("%-50s held since %s by %s\n", h->account, when, h->why);
		return 0;
	}
	printf("%s\n  {\"account\": ", ha->first ? "" : ",");
	ctl_json_str(h->account);
	printf(", \"since\": \"%s\", \"why\": ", when);
	ctl_json_str(h->why);
	printf("}");
	ha->first = false;
	return 0;
}

/* "alice" is "login:alice"; "login:..." and "sender:..." as given. */
static void account_arg(const char *arg, char *out, size_t outsize)
{
	size_t o;

	if (strncmp(arg, "login:", 6) == 0 || strncmp(arg, "sender:", 7) == 0) {
		snprintf(out, outsize, "%s", arg);
		return;
	}
	o = (size_t)snprintf(out, outsize, "login:");
	op_rate_key_value(out, outsize, &o, arg, false);
}

int ctl_hold(const struct ctl_opts *o, int argc, char **argv)
{
	struct ctl_rate cr;
	struct hold_arg ha = {o, true, 0};
	char account[OP_STORE_KEY_MAX + 1];
	const char *err;
	bool found = false;
	int rc;

	if (argc < 1 || !((strcmp(argv[0], "list") == 0 && argc == 1) ||
			  (strcmp(argv[0], "release") == 0 && argc == 2))) {
		fprintf(stderr,
			"usage: outpostctl hold list | release LOGIN|login:LOGIN|sender:ADDRESS\n");
		return 2;
	}
	if ((rc = ctl_open(o, &cr)) != 0)
		return rc;
	if (argc == 1) {
		if (o->json)
			printf("[");
		if (!cr.empty && op_store_hold_list(cr.store, hold_cb, &ha, &err) < 0)
			rc = store_failed("hold list", err);
		else if (o->json)
			printf("%s]\n", ha.first ? "" : "\n");
		else if (ha.n == 0)
			printf("no account is held\n");
	} else {
		account_arg(argv[1], account, sizeof(account));
		if (!cr.empty && op_store_hold_release(cr.store, account, &found, &err) < 0)
			rc = store_failed("hold release", err);
		else if (o->json)
			printf("{\"account\": \"%s\", \"released\": %s}\n", account,
			       found ? "true" : "false");
		else
			printf("%s: %s\n", account,
			       found ? "released: its next messages are delivered"
				     : "was not held");
		rc = rc ? rc : found ? 0 : 1;
	}
	ctl_close(&cr);
	return rc;
}
