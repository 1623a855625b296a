/*
 * metrics.c - the metric registry, its Prometheus text rendering, and the
 * outpost_* families the daemon counts into (see include/outpost/metrics.h).
 *
 * Limits: REG_MAX_FAMILIES families per registry, each with the
 * max_series it was registered with (plus one overflow series),
 * OP_METRIC_MAX_LABELS labels, OP_METRIC_MAX_BUCKETS buckets.  Leaf code:
 * it never logs.  The exposition format is
 * https://prometheus.io/docs/instrumenting/exposition_formats/ (text
 * 0.0.4); `promtool check metrics` accepts what render() writes
 * (tests/unit/test_metrics.c, tests/e2e/t-metrics-*.sh).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outpost/metrics.h"

#define REG_MAX_FAMILIES 64
#define OVERFLOW_VALUE	 "other"

struct op_series {
	const struct op_metric *m;
	char *values[OP_METRIC_MAX_LABELS];
	int64_t value;	   /* counter, gauge */
	uint64_t *buckets; /* histogram: nbounds + 1, not cumulative */
	uint64_t sum_nano; /* histogram: sum of observations, 1e-9 units */
};

struct op_metric {
	enum op_metric_type type;
	char *name, *help;
	char *labels[OP_METRIC_MAX_LABELS];
	size_t nlabels;
	double bounds[OP_METRIC_MAX_BUCKETS];
	size_t nbounds;
	size_t max_series;
	struct op_series *series; /* max_series slots, then the overflow one */
	size_t nseries;		  /* slots in use, published with release */
	bool overflow_used;
	pthread_mutex_t lock;
	double (*fn)(void);
};

struct op_metric_registry {
	pthread_mutex_t lock;
	struct op_metric *fam[REG_MAX_FAMILIES];
	size_t n; /* published with release */
};

/* ---- names ---------------------------------------------------------------- */

static bool name_valid(const char *s, bool label)
{
	if (s == NULL || !(isalpha((unsigned char)s[0]) || s[0] == '_' || (!label && s[0] == ':')))
		return false;
	if (label && strncmp(s, "__", 2) == 0)
		return false;
	for (const char *p = s; *p; p++)
		if (!(isalnum((unsigned char)*p) || *p == '_' || (!label && *p == ':')))
			return false;
	return true;
}

/* Split "a,b" into m->labels.  0 or -1. */
static int split_labels(struct op_metric *m, const char *labels)
{
	const char *p = labels;

	while (p && *p) {
		size_t n = strcspn(p, ",");
		char *l;

		if (m->nlabels == OP_METRIC_MAX_LABELS || (l = strndup(p, n)) == NULL)
			return -1;
		m->labels[m->nlabels++] = l;
		if (!name_valid(l, true) ||
		    (m->type == OP_METRIC_HISTOGRAM && strcmp(l, "le") == 0))
			return -1;
		p = p[n] ? p + n + 1 : p + n;
	}
	return 0;
}

/* ---- families and series -------------------------------------------------- */

static void series_clear(struct op_series *s)
{
	for (size_t i = 0; i < OP_METRIC_MAX_LABELS; i++)
		free(s->values[i]);
	free(s->buckets);
}

static void metric_free(struct op_metric *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; m->series && i <= m->max_series; i++)
		series_clear(&m->series[i]);
	for (size_t i = 0; i < m->nlabels; i++)
		free(m->labels[i]);
	free(m->series);
	free(m->name);
	free(m->help);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

/* Fill slot s of m with values (or "other" everywhere).  0 or -1. */
static int series_init(struct op_metric *m, struct op_series *s, const char *const *values)
{
	s->m = m;
	for (size_t i = 0; i < m->nlabels; i++) {
		s->values[i] = strdup(values ? values[i] : OVERFLOW_VALUE);
		if (s->values[i] == NULL)
			return -1;
	}
	if (m->type == OP_METRIC_HISTOGRAM) {
		s->buckets = calloc(m->nbounds + 1, sizeof(*s->buckets));
		if (s->buckets == NULL)
			return -1;
	}
	return 0;
}

static struct op_metric *metric_alloc(enum op_metric_type t, const char *name, const char *help,
				      const char *labels, size_t max_series, const double *bounds,
				      size_t nbounds)
{
	struct op_metric *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	pthread_mutex_init(&m->lock, NULL);
	m->type = t;
	m->max_series = max_series ? max_series : 1;
	m->name = strdup(name);
	m->help = strdup(help ? help : "");
	m->series = calloc(m->max_series + 1, sizeof(*m->series));
	if (m->name == NULL || m->help == NULL || m->series == NULL || !name_valid(name, false) ||
	    split_labels(m, labels) < 0 || nbounds > OP_METRIC_MAX_BUCKETS ||
	    (t == OP_METRIC_HISTOGRAM) != (nbounds > 0))
		goto fail;
	for (size_t i = 0; i < nbounds; i++) {
		if (!isfinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1]))
			goto fail;
		m->bounds[i] = bounds[i];
	}
	m->nbounds = nbounds;
	if (series_init(m, &m->series[m->max_series], NULL) < 0)
		goto fail;
	/* A family without labels has its one series from the start. */
	if (m->nlabels == 0) {
		if (series_init(m, &m->series[0], NULL) < 0)
			goto fail;
		m->nseries = 1;
	}
	return m;
fail:
	metric_free(m);
	return NULL;
}

struct op_metric_registry *op_metric_registry_new(void)
{
	struct op_metric_registry *r = calloc(1, sizeof(*r));

	if (r != NULL)
		pthread_mutex_init(&r->lock, NULL);
	return r;
}

void op_metric_registry_free(struct op_metric_registry **rp)
{
	struct op_metric_registry *r = rp ? *rp : NULL;

	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n; i++)
		metric_free(r->fam[i]);
	pthread_mutex_destroy(&r->lock);
	free(r);
	*rp = NULL;
}

/* Add m to r, or return the family already there under its name. */
static struct op_metric *registry_add(struct op_metric_registry *r, struct op_metric *m)
{
	struct op_metric *found = NULL;

	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; i < r->n && found == NULL; i++)
		if (strcmp(r->fam[i]->name, m->name) == 0)
			found = r->fam[i]->type == m->type ? r->fam[i] : m;
	if (found == NULL && r->n < REG_MAX_FAMILIES) {
		r->fam[r->n] = m;
		__atomic_store_n(&r->n, r->n + 1, __ATOMIC_RELEASE);
		pthread_mutex_unlock(&r->lock);
		return m;
	}
	pthread_mutex_unlock(&r->lock);
	metric_free(m);
	return found == m ? NULL : found;
}

struct op_metric *op_metric_new(struct op_metric_registry *r, enum op_metric_type t,
				const char *name, const char *help, const char *labels,
				size_t max_series, const double *bounds, size_t nbounds)
{
	struct op_metric *m;

	if (r == NULL || name == NULL)
		return NULL;
	m = metric_alloc(t, name, help, labels ? labels : "", max_series, bounds, nbounds);
	return m ? registry_add(r, m) : NULL;
}

struct op_metric *op_metric_new_fn(struct op_metric_registry *r, enum op_metric_type t,
				   const char *name, const char *help, double (*fn)(void))
{
	struct op_metric *m;

	if (r == NULL || name == NULL || fn == NULL || t == OP_METRIC_HISTOGRAM)
		return NULL;
	m = metric_alloc(t, name, help, "", 1, NULL, 0);
	if (m == NULL)
		return NULL;
	m->fn = fn;
	return registry_add(r, m);
}

static bool series_is(const struct op_metric *m, const struct op_series *s,
		      const char *const *values)
{
	for (size_t i = 0; i < m->nlabels; i++)
		if (strcmp(s->values[i], values[i] ? values[i] : "") != 0)
			return false;
	return true;
}

static struct op_series *series_find(struct op_metric *m, const char *const *values, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (series_is(m, &m->series[i], values))
			return &m->series[i];
	return NULL;
}

struct op_series *op_metric_series(struct op_metric *m, const char *const *values)
{
	size_t n = __atomic_load_n(&m->nseries, __ATOMIC_ACQUIRE);
	struct op_series *s;
	const char *safe[OP_METRIC_MAX_LABELS];

	if (m->nlabels == 0)
		return &m->series[0];
	if ((s = series_find(m, values, n)) != NULL)
		return s;
	for (size_t i = 0; i < m->nlabels; i++)
		safe[i] = values[i] ? values[i] : "";
	pthread_mutex_lock(&m->lock);
	s = series_find(m, safe, m->nseries);
	if (s == NULL && m->nseries < m->max_series) {
		struct op_series *slot = &m->series[m->nseries];

		if (series_init(m, slot, safe) == 0) {
			s = slot;
			__atomic_store_n(&m->nseries, m->nseries + 1, __ATOMIC_RELEASE);
		} else {
			series_clear(slot);
			memset(slot, 0, sizeof(*slot));
		}
	}
	if (s == NULL) {
		s = &m->series[m->max_series];
		__atomic_store_n(&m->overflow_used, true, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&m->lock);
	return s;
}

void op_series_add(struct op_series *s, uint64_t n)
{
	__atomic_add_fetch(&s->value, (int64_t)n, __ATOMIC_RELAXED);
}

void op_series_set(struct op_series *s, int64_t v)
{
	__atomic_store_n(&s->value, v, __ATOMIC_RELAXED);
}

int64_t op_series_value(const struct op_series *s)
{
	return __atomic_load_n(&s->value, __ATOMIC_RELAXED);
}

void op_series_observe(struct op_series *s, double v)
{
	const struct op_metric *m = s->m;
	size_t i = 0;

	if (s->buckets == NULL)
		return;
	if (!(v >= 0)) /* negative or NaN: a clock step, not a measure */
		v = 0;
	while (i < m->nbounds && v > m->bounds[i])
		i++;
	__atomic_add_fetch(&s->buckets[i], 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&s->sum_nano, (uint64_t)(v * 1e9 + 0.5), __ATOMIC_RELAXED);
}

double op_metrics_since(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - since->tv_sec) + (double)(now.tv_nsec - since->tv_nsec) / 1e9;
}

/* ---- rendering ------------------------------------------------------------ */

/* Help text: backslash and newline escaped. */
static int put_help(struct op_buf *b, const char *s)
{
	int r = 0;

	for (; *s && r == 0; s++)
		r = *s == '\\'	 ? op_buf_puts(b, "\\\\")
		    : *s == '\n' ? op_buf_puts(b, "\\n")
				 : op_buf_putc(b, *s);
	return r;
}

/* A label value: backslash, double quote and newline escaped. */
static int put_label_value(struct op_buf *b, const char *s)
{
	int r = 0;

	for (; *s && r == 0; s++) {
		if (*s == '\\' || *s == '"')
			r = op_buf_putc(b, '\\') < 0 ? -1 : op_buf_putc(b, *s);
		else
			r = *s == '\n' ? op_buf_puts(b, "\\n") : op_buf_putc(b, *s);
	}
	return r;
}

/* {a="x",b="y"[,le="..."]} or nothing when there is no label at all. */
static int put_labels(struct op_buf *b, const struct op_metric *m, const struct op_series *s,
		      const char *le)
{
	if (m->nlabels == 0 && le == NULL)
		return 0;
	if (op_buf_putc(b, '{') < 0)
		return -1;
	for (size_t i = 0; i < m->nlabels; i++)
		if (op_buf_printf(b, "%s%s=\"", i ? "," : "", m->labels[i]) < 0 ||
		    put_label_value(b, s->values[i]) < 0 || op_buf_putc(b, '"') < 0)
			return -1;
	if (le != NULL && op_buf_printf(b, "%sle=\"%s\"", m->nlabels ? "," : "", le) < 0)
		return -1;
	return op_buf_putc(b, '}');
}

/* A float as Prometheus reads it: integers without a fraction. */
static int put_double(struct op_buf *b, double v)
{
	if (isnan(v))
		return op_buf_puts(b, "NaN");
	if (isinf(v))
		return op_buf_puts(b, v > 0 ? "+Inf" : "-Inf");
	if (v == floor(v) && fabs(v) < 9007199254740992.0)
		return op_buf_printf(b, "%.0f", v);
	return op_buf_printf(b, "%.17g", v);
}

static int render_histogram(struct op_buf *b, const struct op_metric *m, const struct op_series *s)
{
	uint64_t cum = 0, sum = __atomic_load_n(&s->sum_nano, __ATOMIC_RELAXED);
	char le[32];

	for (size_t i = 0; i <= m->nbounds; i++) {
		cum += __atomic_load_n(&s->buckets[i], __ATOMIC_RELAXED);
		if (i < m->nbounds)
			snprintf(le, sizeof(le), "%g", m->bounds[i]);
		else
			snprintf(le, sizeof(le), "+Inf");
		if (op_buf_printf(b, "%s_bucket", m->name) < 0 || put_labels(b, m, s, le) < 0 ||
		    op_buf_printf(b, " %llu\n", (unsigned long long)cum) < 0)
			return -1;
	}
	if (op_buf_printf(b, "%s_sum", m->name) < 0 || put_labels(b, m, s, NULL) < 0 ||
	    op_buf_printf(b, " %llu.%09llu\n", (unsigned long long)(sum / 1000000000u),
			  (unsigned long long)(sum % 1000000000u)) < 0 ||
	    op_buf_printf(b, "%s_count", m->name) < 0 || put_labels(b, m, s, NULL) < 0 ||
	    op_buf_printf(b, " %llu\n", (unsigned long long)cum) < 0)
		return -1;
	return 0;
}

static int render_series(struct op_buf *b, const struct op_metric *m, const struct op_series *s)
{
	if (m->type == OP_METRIC_HISTOGRAM)
		return render_histogram(b, m, s);
	if (op_buf_puts(b, m->name) < 0 || put_labels(b, m, s, NULL) < 0 || op_buf_putc(b, ' ') < 0)
		return -1;
	if (m->fn != NULL) {
		if (put_double(b, m->fn()) < 0)
			return -1;
	} else if (op_buf_printf(b, "%lld", (long long)op_series_value(s)) < 0)
		return -1;
	return op_buf_putc(b, '\n');
}

static int render_family(struct op_buf *b, const struct op_metric *m)
{
	static const char *const types[] = {"counter", "gauge", "histogram"};
	size_t n = __atomic_load_n(&m->nseries, __ATOMIC_ACQUIRE);
	bool over = __atomic_load_n(&m->overflow_used, __ATOMIC_ACQUIRE);

	if (n == 0 && !over)
		return 0; /* no label set yet: nothing to say */
	if (op_buf_printf(b, "# HELP %s ", m->name) < 0 || put_help(b, m->help) < 0 ||
	    op_buf_printf(b, "\n# TYPE %s %s\n", m->name, types[m->type]) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (render_series(b, m, &m->series[i]) < 0)
			return -1;
	return over ? render_series(b, m, &m->series[m->max_series]) : 0;
}

int op_metric_render(struct op_metric_registry *r, struct op_buf *b)
{
	size_t n = __atomic_load_n(&r->n, __ATOMIC_ACQUIRE);

	for (size_t i = 0; i < n; i++)
		if (render_family(b, r->fam[i]) < 0)
			return -1;
	return 0;
}

/* ---- metrics.listen --------------------------------------------------------- */

int op_metrics_addr_parse(const char *spec, struct sockaddr_storage *ss, socklen_t *len_r,
			  const char **err_r)
{
	char host[64];
	const char *colon, *h = spec;
	size_t hl;
	unsigned long port;
	char *end;

	memset(ss, 0, sizeof(*ss));
	colon = strrchr(spec, ':');
	if (spec[0] == '[') {
		const char *rb = strchr(spec, ']');

		if (rb == NULL || rb[1] != ':')
			return (*err_r = "want [IPV6]:PORT"), -1;
		h = spec + 1;
		hl = (size_t)(rb - h);
		colon = rb + 1;
	} else if (colon == NULL || strchr(spec, ':') != colon)
		return (*err_r = "want ADDRESS:PORT (IPv4) or [ADDRESS]:PORT (IPv6)"), -1;
	else
		hl = (size_t)(colon - spec);
	if (hl == 0 || hl >= sizeof(host))
		return (*err_r = "no address before the port"), -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (!isdigit((unsigned char)colon[1]) || *end != '\0' || errno == ERANGE || port == 0 ||
	    port > 65535)
		return (*err_r = "the port must be a number from 1 to 65535"), -1;
	if (spec[0] == '[') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			return (*err_r = "not a numeric IPv6 address"), -1;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*len_r = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			return (*err_r = "not a numeric IPv4 address"), -1;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*len_r = sizeof(*s4);
	}
	return 0;
}

#ifndef HAVE_MICROHTTPD
/* Built without libmicrohttpd: the endpoint's stub (see ops.h). */
#include "ops.h"

int op_metrics_http_open(const struct op_config *c, char *err, size_t errsize)
{
	if (c->metrics_listen[0] == '\0')
		return 0;
	snprintf(err, errsize, "metrics.listen: this outpost was built without libmicrohttpd");
	return -1;
}

int op_metrics_http_start(void)
{
	return 0;
}

void op_metrics_http_stop(void)
{
}

const char *op_metrics_http_url(void)
{
	return "";
}
#endif
