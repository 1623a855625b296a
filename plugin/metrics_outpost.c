/*
 * metrics_outpost.c - the outpost_* metric families of the default
 * registry and the one-line helpers the daemon's code calls (see
 * include/outpost/metrics.h).  docs/operator-guide.md ("Reading the
 * metrics") explains each family; contrib/grafana-outpost.json graphs them.
 *
 * Label values come from code (stages, verdicts, module names, results,
 * algorithms, store backends) or from the configuration (rate rule
 * names); each family is bounded by its max_series below.  Families whose
 * label sets are known are created with every set at 0, so a dashboard
 * sees 0 rather than no data.
 */
#include "config.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "outpost/config.h"
#include "outpost/dkim_index.h"
#include "outpost/event.h"
#include "outpost/message.h"
#include "outpost/metrics.h"
#include "outpost/module.h"
#include "outpost/pipeline.h"

static const char *const stage_names[OP_STAGE__COUNT] = {
    "connect", "helo", "mail", "rcpt", "header", "eoh", "body", "eom", "abort", "close",
};

/* Milter callbacks: 50 µs to 10 s. */
static const double latency_bounds[] = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
					0.005,	 0.01,	 0.025,	  0.05,	  0.1,	 0.25,
					0.5,	 1,	 2.5,	  5,	  10};
/* DNS lookups: 500 µs to 10 s. */
static const double dns_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
				    0.1,    0.25,  0.5,	   1,	  2.5,	5,     10};
/* Store operations: 10 µs (LMDB) to 1 s (a slow Redis). */
static const double store_bounds[] = {0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005,
				      0.001,   0.0025,	 0.005,	  0.01,	  0.025,   0.05,
				      0.1,     0.25,	 0.5,	  1};

#define N(a) (sizeof(a) / sizeof((a)[0]))

enum { STORE_LMDB, STORE_REDIS, STORE__COUNT };

static struct {
	pthread_once_t once;
	struct op_metric_registry *reg;
	time_t start;
	struct op_metric *messages, *held, *results, *stage, *dkim_sigs, *dkim_verify, *spf;
	struct op_metric *spf_dns, *spf_dns_fail, *rate_hits, *accounts_held;
	struct op_metric *store_ops, *store_dur, *reloads, *reload_ok, *reload_time;
	struct op_series *stage_s[OP_STAGE__COUNT];
	struct {
		uint64_t ops, errors;
		int64_t last_ok, last_error;
	} store[STORE__COUNT];
	uint64_t reloads_ok, reloads_refused;
	int64_t last_reload;
	bool last_reload_ok;
} M = {.once = PTHREAD_ONCE_INIT, .last_reload_ok = true};

/* ---- values read at render time ------------------------------------------- */

static double start_time(void)
{
	return (double)M.start;
}

static double config_generation(void)
{
	struct op_config *c = op_config_current();
	double g = c ? c->generation : 0;

	op_config_unref(&c);
	return g;
}

static double dkim_count(bool keys)
{
	struct op_config *c = op_config_current();
	const struct op_dkim_index *idx = c ? op_mod_dkim_index(c) : NULL;
	double n = 0;

	if (idx != NULL)
		n = (double)(keys ? op_dkim_index_keys(idx) : op_dkim_index_domains(idx));
	op_config_unref(&c);
	return n;
}

static double dkim_domains(void)
{
	return dkim_count(false);
}

static double dkim_keys(void)
{
	return dkim_count(true);
}

static double event_written(void)
{
	uint64_t w, d;

	op_event_stats(&w, &d);
	return (double)w;
}

static double event_dropped(void)
{
	uint64_t w, d;

	op_event_stats(&w, &d);
	return (double)d;
}

/* ---- the families --------------------------------------------------------- */

static struct op_metric *counter(const char *name, const char *help, const char *labels, size_t max)
{
	return op_metric_new(M.reg, OP_METRIC_COUNTER, name, help, labels, max, NULL, 0);
}

static struct op_metric *histogram(const char *name, const char *help, const char *labels,
				   size_t max, const double *b, size_t nb)
{
	return op_metric_new(M.reg, OP_METRIC_HISTOGRAM, name, help, labels, max, b, nb);
}

/* Series of m with up to three label values; NULL when m is NULL. */
static struct op_series *S(struct op_metric *m, const char *a, const char *b, const char *c)
{
	const char *v[OP_METRIC_MAX_LABELS] = {a, b, c};

	return m ? op_metric_series(m, v) : NULL;
}

static void add(struct op_series *s, uint64_t n)
{
	if (s != NULL)
		op_series_add(s, n);
}

static void set(struct op_series *s, int64_t v)
{
	if (s != NULL)
		op_series_set(s, v);
}

static void precreate(void)
{
	static const char *const verdicts[] = {"continue", "hold",     "accept",
					       "discard",  "tempfail", "reject"};
	static const char *const spf_results[] = {"none",     "neutral",   "pass",     "fail",
						  "softfail", "temperror", "permerror"};
	static const char *const dkimv[] = {"pass",	 "fail",      "neutral", "policy",
					    "temperror", "permerror", "none"};
	static const char *const ids[] = {"mailfrom", "helo", "egress"};
	size_t nmods;
	const struct op_module *const *mods = op_pipeline_modules(&nmods);

	for (size_t i = 0; i < N(verdicts); i++)
		S(M.messages, verdicts[i], "eom", NULL);
	for (size_t i = 0; i < nmods; i++)
		S(M.held, mods[i]->name, NULL, NULL);
	for (size_t i = 0; i < OP_STAGE__COUNT; i++)
		M.stage_s[i] = S(M.stage, stage_names[i], NULL, NULL);
	S(M.dkim_sigs, "rsa-sha256", NULL, NULL);
	S(M.dkim_sigs, "ed25519-sha256", NULL, NULL);
	for (size_t i = 0; i < N(dkimv); i++)
		S(M.dkim_verify, dkimv[i], NULL, NULL);
	for (size_t i = 0; i < N(ids); i++)
		for (size_t j = 0; j < N(spf_results); j++)
			S(M.spf, ids[i], spf_results[j], NULL);
	S(M.reloads, "ok", NULL, NULL);
	S(M.reloads, "refused", NULL, NULL);
	set(S(M.reload_ok, NULL, NULL, NULL), 1);
}

static void setup_families(void)
{
	struct op_metric *build =
	    op_metric_new(M.reg, OP_METRIC_GAUGE, "outpost_build_info",
			  "outpost's version (value 1)", "version", 1, NULL, 0);

	set(S(build, PACKAGE_VERSION, NULL, NULL), 1);
	op_metric_new_fn(M.reg, OP_METRIC_GAUGE, "outpost_start_time_seconds",
			 "when the process started, seconds since the epoch", start_time);
	op_metric_new_fn(M.reg, OP_METRIC_GAUGE, "outpost_config_generation",
			 "generation of the configuration in use (1 at start, +1 per reload)",
			 config_generation);
	M.reloads =
	    counter("outpost_config_reloads_total",
		    "reloads (SIGHUP, outpostctl reload) by result: ok, refused", "result", 2);
	M.reload_ok =
	    op_metric_new(M.reg, OP_METRIC_GAUGE, "outpost_config_last_reload_success",
			  "1 when the last reload was accepted (or none happened), 0 when "
			  "it was refused",
			  "", 1, NULL, 0);
	M.reload_time =
	    op_metric_new(M.reg, OP_METRIC_GAUGE, "outpost_config_last_reload_timestamp_seconds",
			  "when the last reload ended (0: none yet)", "", 1, NULL, 0);
	M.messages = counter("outpost_messages_total",
			     "transactions by final verdict and the stage that ended them "
			     "(end=eom: the message was delivered to the MTA's decision)",
			     "verdict,end", 64);
	M.held = counter("outpost_messages_held_total",
			 "messages put into the MTA's hold queue, by the module that asked",
			 "module", 16);
	M.results = counter("outpost_module_results_total",
			    "each module's result per message, the first word of its summary-line "
			    "field (dkim=sign, spf=pass, rate=tempfail ...)",
			    "module,result", 128);
	M.stage = histogram("outpost_milter_callback_duration_seconds",
			    "time the modules took in each milter callback, by stage", "stage",
			    OP_STAGE__COUNT, latency_bounds, N(latency_bounds));
	M.dkim_sigs = counter("outpost_dkim_signatures_total",
			      "DKIM signatures added, by algorithm", "algorithm", 8);
	op_metric_new_fn(M.reg, OP_METRIC_GAUGE, "outpost_dkim_signing_domains",
			 "domains with at least one signing key in the configuration in use",
			 dkim_domains);
	op_metric_new_fn(M.reg, OP_METRIC_GAUGE, "outpost_dkim_signing_keys",
			 "signing keys loaded in the configuration in use", dkim_keys);
	M.dkim_verify =
	    counter("outpost_dkim_verify_results_total",
		    "DKIM signatures of external mail verified, by result (none: a message "
		    "without signature)",
		    "result", 16);
	M.spf = counter("outpost_spf_results_total",
			"SPF checks by identity (mailfrom, helo, egress) and result",
			"identity,result", 32);
	M.spf_dns = histogram("outpost_spf_dns_lookup_duration_seconds",
			      "DNS lookups made by SPF checks", "", 1, dns_bounds, N(dns_bounds));
	M.spf_dns_fail = counter("outpost_spf_dns_lookup_failures_total",
				 "SPF DNS lookups that got no answer (timeout, SERVFAIL)", "", 1);
	M.rate_hits =
	    counter("outpost_rate_rule_hits_total",
		    "rate rules over their limit, by rule name and action", "rule,action", 256);
	M.accounts_held = counter("outpost_rate_accounts_held_total",
				  "accounts held by a rule with then = hold_account", "", 1);
	M.store_ops = counter("outpost_store_operations_total",
			      "rate store operations by backend, operation and result",
			      "backend,operation,result", 16);
	M.store_dur = histogram("outpost_store_operation_duration_seconds",
				"rate store operations by backend and operation",
				"backend,operation", 8, store_bounds, N(store_bounds));
	op_metric_new_fn(M.reg, OP_METRIC_COUNTER, "outpost_event_lines_written_total",
			 "event log lines written to event.file", event_written);
	op_metric_new_fn(M.reg, OP_METRIC_COUNTER, "outpost_event_lines_dropped_total",
			 "event log lines dropped (queue full or file not writable)",
			 event_dropped);
}

static void setup(void)
{
	M.start = time(NULL);
	M.reg = op_metric_registry_new();
	if (M.reg == NULL)
		return;
	setup_families();
	precreate();
}

struct op_metric_registry *op_metrics_default(void)
{
	pthread_once(&M.once, setup);
	return M.reg;
}

#define READY() (pthread_once(&M.once, setup), M.reg != NULL)

time_t op_metrics_start_time(void)
{
	(void)READY();
	return M.start;
}

/* ---- helpers --------------------------------------------------------------- */

/* The first word after "name=" in a summary slot, as a label value (lower
 * case letters, digits, '-' and '_'), into out; "other" when it is not one. */
static void summary_word(const char *slot, const char *name, char *out, size_t outsize)
{
	size_t nl = strlen(name), i = 0;
	const char *p = slot + nl + 1;

	if (strncmp(slot, name, nl) != 0 || slot[nl] != '=') {
		snprintf(out, outsize, "other");
		return;
	}
	for (; p[i] && p[i] != ' ' && i + 1 < outsize; i++) {
		if (!(islower((unsigned char)p[i]) || isdigit((unsigned char)p[i]) || p[i] == '-' ||
		      p[i] == '_')) {
			snprintf(out, outsize, "other");
			return;
		}
		out[i] = p[i];
	}
	out[i] = '\0';
	if (i == 0 || (p[i] && p[i] != ' '))
		snprintf(out, outsize, "other");
}

/* The module named at the start of a hold reason ("rate: rule ..."). */
static const char *hold_module(const struct op_msg *m)
{
	size_t n;
	const struct op_module *const *mods = op_pipeline_modules(&n);

	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(mods[i]->name);

		if (strncmp(m->hold_reason, mods[i]->name, l) == 0 && m->hold_reason[l] == ':')
			return mods[i]->name;
	}
	return "other";
}

void op_metrics_message(const struct op_msg *m, const char *how)
{
	size_t n;
	const struct op_module *const *mods = op_pipeline_modules(&n);
	char word[32];

	if (!READY())
		return;
	add(S(M.messages, op_action_name(m->final.action), how, NULL), 1);
	if (m->final.action == OP_ACT_HOLD)
		add(S(M.held, hold_module(m), NULL, NULL), 1);
	for (size_t i = 0; i < n; i++) {
		if (m->summary[i][0] == '\0')
			continue;
		summary_word(m->summary[i], mods[i]->name, word, sizeof(word));
		add(S(M.results, mods[i]->name, word, NULL), 1);
	}
}

void op_metrics_stage(unsigned stage, double seconds)
{
	if (READY() && stage < OP_STAGE__COUNT && M.stage_s[stage] != NULL)
		op_series_observe(M.stage_s[stage], seconds);
}

void op_metrics_dkim_signature(const char *alg)
{
	if (READY())
		add(S(M.dkim_sigs, alg, NULL, NULL), 1);
}

void op_metrics_dkim_verify(const char *result)
{
	if (READY())
		add(S(M.dkim_verify, result, NULL, NULL), 1);
}

void op_metrics_spf(const char *identity, const char *result)
{
	if (READY())
		add(S(M.spf, identity, result, NULL), 1);
}

void op_metrics_spf_dns(double seconds, bool failed)
{
	if (!READY())
		return;
	if (M.spf_dns != NULL)
		op_series_observe(S(M.spf_dns, NULL, NULL, NULL), seconds);
	if (failed)
		add(S(M.spf_dns_fail, NULL, NULL, NULL), 1);
}

void op_metrics_rate_hit(const char *rule, const char *action)
{
	if (READY())
		add(S(M.rate_hits, rule, action, NULL), 1);
}

void op_metrics_rate_account_held(void)
{
	if (READY())
		add(S(M.accounts_held, NULL, NULL, NULL), 1);
}

void op_metrics_store(const char *backend, const char *op, bool ok, double seconds)
{
	int b = strcmp(backend, "lmdb") == 0	? STORE_LMDB
		: strcmp(backend, "redis") == 0 ? STORE_REDIS
						: -1;

	if (!READY())
		return;
	add(S(M.store_ops, backend, op, ok ? "ok" : "error"), 1);
	if (M.store_dur != NULL)
		op_series_observe(S(M.store_dur, backend, op, NULL), seconds);
	if (b < 0)
		return;
	__atomic_add_fetch(&M.store[b].ops, 1, __ATOMIC_RELAXED);
	if (ok)
		__atomic_store_n(&M.store[b].last_ok, (int64_t)time(NULL), __ATOMIC_RELAXED);
	else {
		__atomic_add_fetch(&M.store[b].errors, 1, __ATOMIC_RELAXED);
		__atomic_store_n(&M.store[b].last_error, (int64_t)time(NULL), __ATOMIC_RELAXED);
	}
}

void op_metrics_store_state(const char *backend, struct op_metrics_store_state *st)
{
	int b = strcmp(backend, "redis") == 0 ? STORE_REDIS : STORE_LMDB;

	st->ops = __atomic_load_n(&M.store[b].ops, __ATOMIC_RELAXED);
	st->errors = __atomic_load_n(&M.store[b].errors, __ATOMIC_RELAXED);
	st->last_ok = (time_t)__atomic_load_n(&M.store[b].last_ok, __ATOMIC_RELAXED);
	st->last_error = (time_t)__atomic_load_n(&M.store[b].last_error, __ATOMIC_RELAXED);
}

void op_metrics_reload(bool ok)
{
	int64_t now = (int64_t)time(NULL);

	__atomic_add_fetch(ok ? &M.reloads_ok : &M.reloads_refused, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&M.last_reload, now, __ATOMIC_RELAXED);
	__atomic_store_n(&M.last_reload_ok, ok, __ATOMIC_RELAXED);
	if (!READY())
		return;
	add(S(M.reloads, ok ? "ok" : "refused", NULL, NULL), 1);
	set(S(M.reload_ok, NULL, NULL, NULL), ok ? 1 : 0);
	set(S(M.reload_time, NULL, NULL, NULL), now);
}

void op_metrics_reload_state(uint64_t *ok_r, uint64_t *refused_r, bool *last_ok_r, time_t *last_r)
{
	*ok_r = __atomic_load_n(&M.reloads_ok, __ATOMIC_RELAXED);
	*refused_r = __atomic_load_n(&M.reloads_refused, __ATOMIC_RELAXED);
	*last_ok_r = __atomic_load_n(&M.last_reload_ok, __ATOMIC_RELAXED);
	*last_r = (time_t)__atomic_load_n(&M.last_reload, __ATOMIC_RELAXED);
}
