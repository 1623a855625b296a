/*
 * test_metrics.c - the metric registry and its Prometheus text rendering
 * (plugin/metrics.c), and the outpost_* families the daemon counts into
 * (plugin/metrics_outpost.c).
 *
 * The promises under test: the rendering is exactly the text format
 * (HELP, TYPE, escaped label values, cumulative buckets with +Inf equal to
 * _count, an exact _sum); a family never holds more label sets than it was
 * given (the rest go to one "other" series); names that Prometheus would
 * refuse are refused at registration; concurrent increments are never
 * lost; the default registry's rendering passes `promtool check metrics`
 * (when promtool is installed; the test says so when it is not).
 */
#include "config.h"

#include "unit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "outpost/message.h"
#include "outpost/metrics.h"
#include "outpost/pipeline.h"

static char *render(struct op_metric_registry *r)
{
	struct op_buf b;
	char *s;

	op_buf_init(&b, 1 << 20);
	WANT_INT("render", op_metric_render(r, &b), 0);
	s = strdup(op_buf_str(&b));
	op_buf_free(&b);
	return s;
}

static void test_counter_and_gauge_render_exactly(void **state)
{
	struct op_metric_registry *r = op_metric_registry_new();
	struct op_metric *c = op_metric_new(r, OP_METRIC_COUNTER, "t_messages_total",
					    "messages by verdict", "verdict,end", 8, NULL, 0);
	struct op_metric *g =
	    op_metric_new(r, OP_METRIC_GAUGE, "t_in_flight", "open now", "", 1, NULL, 0);
	const char *v1[] = {"continue", "eom"}, *v2[] = {"reject", "mail"};
	char *got;

	op_series_add(op_metric_series(c, v1), 3);
	op_series_add(op_metric_series(c, v2), 1);
	op_series_add(op_metric_series(c, v1), 2);
	op_series_set(op_metric_series(g, NULL), -4);
	got = render(r);
	WANT_STR("counter and gauge", got,
		 "# HELP t_messages_total messages by verdict\n"
		 "# TYPE t_messages_total counter\n"
		 "t_messages_total{verdict=\"continue\",end=\"eom\"} 5\n"
		 "t_messages_total{verdict=\"reject\",end=\"mail\"} 1\n"
		 "# HELP t_in_flight open now\n"
		 "# TYPE t_in_flight gauge\n"
		 "t_in_flight -4\n");
	WANT_INT("value", op_series_value(op_metric_series(c, v1)), 5);
	free(got);
	op_metric_registry_free(&r);
	WANT_PTR("freed", r, NULL);
}

static void test_histogram_buckets_are_cumulative_with_exact_sum(void **state)
{
	static const double bounds[] = {0.001, 0.01, 0.1};
	struct op_metric_registry *r = op_metric_registry_new();
	struct op_metric *h =
	    op_metric_new(r, OP_METRIC_HISTOGRAM, "t_seconds", "latency", "stage", 4, bounds, 3);
	const char *eom[] = {"eom"};
	struct op_series *s = op_metric_series(h, eom);
	char *got;

	op_series_observe(s, 0.0005);
	op_series_observe(s, 0.001); /* on the bound: le is "less or equal" */
	op_series_observe(s, 0.05);
	op_series_observe(s, 2.5);
	op_series_observe(s, -1); /* a clock step counts as 0 */
	got = render(r);
	WANT_STR("histogram", got,
		 "# HELP t_seconds latency\n"
		 "# TYPE t_seconds histogram\n"
		 "t_seconds_bucket{stage=\"eom\",le=\"0.001\"} 3\n"
		 "t_seconds_bucket{stage=\"eom\",le=\"0.01\"} 3\n"
		 "t_seconds_bucket{stage=\"eom\",le=\"0.1\"} 4\n"
		 "t_seconds_bucket{stage=\"eom\",le=\"+Inf\"} 5\n"
		 "t_seconds_sum{stage=\"eom\"} 2.551500000\n"
		 "t_seconds_count{stage=\"eom\"} 5\n");
	free(got);
	op_metric_registry_free(&r);
}

static void test_label_values_and_help_are_escaped(void **state)
{
	struct op_metric_registry *r = op_metric_registry_new();
	struct op_metric *c = op_metric_new(r, OP_METRIC_COUNTER, "t_hits_total",
					    "back\\slash\nnewline", "rule", 4, NULL, 0);
	const char *v[] = {"a\"b\\c\nd"};
	char *got;

	op_series_add(op_metric_series(c, v), 1);
	got = render(r);
	WANT_STR("escaped", got,
		 "# HELP t_hits_total back\\\\slash\\nnewline\n"
		 "# TYPE t_hits_total counter\n"
		 "t_hits_total{rule=\"a\\\"b\\\\c\\nd\"} 1\n");
	free(got);
	op_metric_registry_free(&r);
}

static void test_label_sets_past_max_series_go_to_other(void **state)
{
	struct op_metric_registry *r = op_metric_registry_new();
	struct op_metric *c =
	    op_metric_new(r, OP_METRIC_COUNTER, "t_rules_total", "hits", "rule,action", 2, NULL, 0);
	const char *a[] = {"a", "tempfail"}, *b[] = {"b", "tempfail"}, *x[] = {"x", "reject"},
		   *y[] = {"y", "log"};
	char *got;

	op_series_add(op_metric_series(c, a), 1);
	op_series_add(op_metric_series(c, b), 1);
	op_series_add(op_metric_series(c, x), 1);
	op_series_add(op_metric_series(c, y), 2);
	op_series_add(op_metric_series(c, a), 1);
	WANT_PTR("overflow is one series", op_metric_series(c, x), op_metric_series(c, y));
	got = render(r);
	WANT_STR("bounded", got,
		 "# HELP t_rules_total hits\n"
		 "# TYPE t_rules_total counter\n"
		 "t_rules_total{rule=\"a\",action=\"tempfail\"} 2\n"
		 "t_rules_total{rule=\"b\",action=\"tempfail\"} 1\n"
		 "t_rules_total{rule=\"other\",action=\"other\"} 3\n");
	free(got);
	op_metric_registry_free(&r);
}

/* clang-format off */
static const struct {
	const char *label;
	enum op_metric_type type;
	const char *name, *labels;
	size_t nbounds;
	bool ok;
} name_rows[] = {
	{"plain", OP_METRIC_COUNTER, "outpost_a_total", "", 0, true},
	{"colon in a name", OP_METRIC_GAUGE, "outpost:a", "x", 0, true},
	{"dash in a name", OP_METRIC_COUNTER, "outpost-a", "", 0, false},
	{"digit first", OP_METRIC_COUNTER, "1outpost", "", 0, false},
	{"empty name", OP_METRIC_COUNTER, "", "", 0, false},
	{"dash in a label", OP_METRIC_COUNTER, "outpost_b", "rule-name", 0, false},
	{"reserved label", OP_METRIC_COUNTER, "outpost_c", "__name", 0, false},
	{"le on a histogram", OP_METRIC_HISTOGRAM, "outpost_d", "le", 2, false},
	{"four labels", OP_METRIC_COUNTER, "outpost_e", "a,b,c,d", 0, false},
	{"histogram without buckets", OP_METRIC_HISTOGRAM, "outpost_f", "", 0, false},
	{"counter with buckets", OP_METRIC_COUNTER, "outpost_g", "", 2, false},
};
/* clang-format on */

static void test_names_prometheus_refuses_are_refused(void **state)
{
	static const double b[] = {1, 2};
	struct op_metric_registry *r = op_metric_registry_new();

	for (size_t i = 0; i < sizeof(name_rows) / sizeof(name_rows[0]); i++) {
		struct op_metric *m =
		    op_metric_new(r, name_rows[i].type, name_rows[i].name, "h", name_rows[i].labels,
				  4, name_rows[i].nbounds ? b : NULL, name_rows[i].nbounds);

		WANT_INT(name_rows[i].label, m != NULL, name_rows[i].ok);
	}
	WANT_PTR(
	    "same name and type: the same family",
	    op_metric_new(r, OP_METRIC_COUNTER, "outpost_a_total", "h", "", 1, NULL, 0),
	    op_metric_new(r, OP_METRIC_COUNTER, "outpost_a_total", "other help", "", 1, NULL, 0));
	WANT_PTR("same name, other type: refused",
		 op_metric_new(r, OP_METRIC_GAUGE, "outpost_a_total", "h", "", 1, NULL, 0), NULL);
	op_metric_registry_free(&r);
}

static double forty_two(void)
{
	return 42.5;
}

static void test_value_functions_are_read_at_render(void **state)
{
	struct op_metric_registry *r = op_metric_registry_new();
	char *got;

	op_metric_new_fn(r, OP_METRIC_GAUGE, "t_fn", "read late", forty_two);
	got = render(r);
	WANT_STR("fn", got, "# HELP t_fn read late\n# TYPE t_fn gauge\nt_fn 42.5\n");
	free(got);
	op_metric_registry_free(&r);
}

#define THREADS	   4
#define PER_THREAD 100000

static void *bump(void *arg)
{
	struct op_series *s = arg;

	for (int i = 0; i < PER_THREAD; i++)
		op_series_add(s, 1);
	return NULL;
}

static void test_concurrent_increments_are_never_lost(void **state)
{
	struct op_metric_registry *r = op_metric_registry_new();
	struct op_metric *c = op_metric_new(r, OP_METRIC_COUNTER, "t_total", "h", "", 1, NULL, 0);
	struct op_series *s = op_metric_series(c, NULL);
	pthread_t th[THREADS];

	for (int i = 0; i < THREADS; i++)
		pthread_create(&th[i], NULL, bump, s);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	WANT_INT("total", op_series_value(s), THREADS * PER_THREAD);
	op_metric_registry_free(&r);
}

/* clang-format off */
static const struct {
	const char *spec;
	int family, port; /* family 0: refused */
} addr_rows[] = {
	{"127.0.0.1:9125", AF_INET, 9125},
	{"0.0.0.0:1", AF_INET, 1},
	{"[::1]:9125", AF_INET6, 9125},
	{"[2001:db8::5]:65535", AF_INET6, 65535},
	{"localhost:9125", 0, 0},
	{"127.0.0.1", 0, 0},
	{"127.0.0.1:", 0, 0},
	{"127.0.0.1:0", 0, 0},
	{"127.0.0.1:65536", 0, 0},
	{"127.0.0.1:91x", 0, 0},
	{"127.0.0.1:-1", 0, 0},
	{"::1:9125", 0, 0},
	{"[::1]9125", 0, 0},
	{":9125", 0, 0},
};
/* clang-format on */

static void test_listen_address_parse(void **state)
{
	for (size_t i = 0; i < sizeof(addr_rows) / sizeof(addr_rows[0]); i++) {
		struct sockaddr_storage ss;
		socklen_t sl;
		const char *err = NULL;
		int r = op_metrics_addr_parse(addr_rows[i].spec, &ss, &sl, &err);

		WANT_INT(addr_rows[i].spec, r, addr_rows[i].family ? 0 : -1);
		if (r < 0) {
			WANT_INT(addr_rows[i].spec, err != NULL, 1);
			continue;
		}
		WANT_INT(addr_rows[i].spec, ss.ss_family, addr_rows[i].family);
		WANT_INT(addr_rows[i].spec,
			 ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
						       : ((struct sockaddr_in6 *)&ss)->sin6_port),
			 addr_rows[i].port);
	}
}

/* The line of text that starts with prefix, its value as an integer; -1
 * when there is none. */
static long long sample(const char *text, const char *prefix)
{
	size_t n = strlen(prefix);

	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, prefix, n) == 0 && p[n] == ' ')
			return atoll(p + n + 1);
	return -1;
}

static void test_outpost_families_count_messages_and_module_results(void **state)
{
	struct op_msg m;
	size_t nmods;
	int dkim = op_pipeline_index("dkim"), rate = op_pipeline_index("rate");
	char *got;

	op_pipeline_modules(&nmods);
	memset(&m, 0, sizeof(m));
	m.final.action = OP_ACT_CONTINUE;
	snprintf(m.summary[dkim], OP_SUMMARY_MAX, "dkim=sign d=example.org s=rsa a=rsa-sha256");
	snprintf(m.summary[rate], OP_SUMMARY_MAX, "rate=pass");
	op_metrics_message(&m, "eom");
	op_metrics_message(&m, "eom");
	m.final.action = OP_ACT_HOLD;
	snprintf(m.hold_reason, sizeof(m.hold_reason), "rate: rule x: recipients 2/1d over y");
	snprintf(m.summary[rate], OP_SUMMARY_MAX, "rate=Hold!");
	op_metrics_message(&m, "eom");
	op_metrics_dkim_signature("rsa-sha256");
	op_metrics_dkim_signature("rsa-sha256");
	op_metrics_dkim_signature("ed25519-sha256");
	op_metrics_rate_hit("login-msgs", "tempfail");
	op_metrics_spf("mailfrom", "pass");
	op_metrics_spf_dns(0.002, false);
	op_metrics_store("lmdb", "check", true, 0.00001);
	op_metrics_stage(7, 0.0003);
	op_metrics_reload(false);
	got = render(op_metrics_default());
	WANT_INT("delivered",
		 sample(got, "outpost_messages_total{verdict=\"continue\",end=\"eom\"}"), 2);
	WANT_INT("held", sample(got, "outpost_messages_total{verdict=\"hold\",end=\"eom\"}"), 1);
	WANT_INT("held by rate", sample(got, "outpost_messages_held_total{module=\"rate\"}"), 1);
	WANT_INT("dkim=sign",
		 sample(got, "outpost_module_results_total{module=\"dkim\",result=\"sign\"}"), 3);
	WANT_INT("rate=pass",
		 sample(got, "outpost_module_results_total{module=\"rate\",result=\"pass\"}"), 2);
	WANT_INT("a word that is not one",
		 sample(got, "outpost_module_results_total{module=\"rate\",result=\"other\"}"), 1);
	WANT_INT("rsa", sample(got, "outpost_dkim_signatures_total{algorithm=\"rsa-sha256\"}"), 2);
	WANT_INT("ed25519",
		 sample(got, "outpost_dkim_signatures_total{algorithm=\"ed25519-sha256\"}"), 1);
	WANT_INT(
	    "rule hit",
	    sample(got, "outpost_rate_rule_hits_total{rule=\"login-msgs\",action=\"tempfail\"}"),
	    1);
	WANT_INT("spf",
		 sample(got, "outpost_spf_results_total{identity=\"mailfrom\",result=\"pass\"}"),
		 1);
	WANT_INT("spf untouched at 0",
		 sample(got, "outpost_spf_results_total{identity=\"egress\",result=\"fail\"}"), 0);
	WANT_INT("dns", sample(got, "outpost_spf_dns_lookup_duration_seconds_count"), 1);
	WANT_INT("store",
		 sample(got, "outpost_store_operations_total{backend=\"lmdb\",operation=\"check\","
			     "result=\"ok\"}"),
		 1);
	WANT_INT("eom stage",
		 sample(got, "outpost_milter_callback_duration_seconds_count{stage=\"eom\"}"), 1);
	WANT_INT("reload refused", sample(got, "outpost_config_reloads_total{result=\"refused\"}"),
		 1);
	WANT_INT("last reload failed", sample(got, "outpost_config_last_reload_success"), 0);
	free(got);
}

/* The default registry's rendering passes promtool, when it is here. */
static void test_default_registry_passes_promtool(void **state)
{
	char *got = render(op_metrics_default());
	FILE *p;
	int rc;

	if (system("command -v promtool >/dev/null 2>&1") != 0) {
		printf("promtool not installed (Debian package prometheus): check skipped\n");
		free(got);
		return;
	}
	p = popen("promtool check metrics 2>&1", "w");
	WANT_INT("popen", p != NULL, 1);
	fputs(got, p);
	rc = pclose(p);
	WANT_INT("promtool check metrics exit status", rc, 0);
	free(got);
}

int main(void)
{
	/* clang-format off */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counter_and_gauge_render_exactly),
		cmocka_unit_test(test_histogram_buckets_are_cumulative_with_exact_sum),
		cmocka_unit_test(test_label_values_and_help_are_escaped),
		cmocka_unit_test(test_label_sets_past_max_series_go_to_other),
		cmocka_unit_test(test_names_prometheus_refuses_are_refused),
		cmocka_unit_test(test_value_functions_are_read_at_render),
		cmocka_unit_test(test_concurrent_increments_are_never_lost),
		cmocka_unit_test(test_listen_address_parse),
		cmocka_unit_test(test_outpost_families_count_messages_and_module_results),
		cmocka_unit_test(test_default_registry_passes_promtool),
	};
	/* clang-format on */

	return cmocka_run_group_tests(tests, NULL, NULL);
}
