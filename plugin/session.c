/*
 * session.c - connection and message lifetimes, classification, the
 * bounds on headers and recipients, and the one summary line per message.
 *
 * Everything here runs on the connection's thread; only the
 * in-flight counters are shared (atomics).  Nothing here speaks the protocol.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "milter_int.h"
#include "outpost/buf.h"
#include "outpost/event.h"
#include "outpost/log.h"
#include "outpost/metrics.h"
#include "outpost/pipeline.h"
#include "outpost/pool.h"

static unsigned long conn_seq;
unsigned op_session_msgs_inflight;
unsigned op_session_conns_inflight;

struct op_conn *op_session_conn_new(void)
{
	struct op_conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->pool = op_pool_new();
	c->cfg = op_config_current();
	if (c->pool == NULL || c->cfg == NULL) {
		op_session_conn_free(&c);
		return NULL;
	}
	c->id = __atomic_add_fetch(&conn_seq, 1, __ATOMIC_RELAXED);
	c->client_addr = c->client_name = c->daemon_name = c->helo = c->mta_name = "";
	__atomic_add_fetch(&op_session_conns_inflight, 1, __ATOMIC_RELAXED);
	return c;
}

void op_session_conn_free(struct op_conn **cp)
{
	struct op_conn *c;

	if (cp == NULL || *cp == NULL)
		return;
	c = *cp;
	op_session_msg_end(c, "close");
	if (c->cfg != NULL)
		__atomic_sub_fetch(&op_session_conns_inflight, 1, __ATOMIC_RELAXED);
	op_config_unref(&c->cfg);
	op_pool_free(&c->pool);
	free(c);
	*cp = NULL;
}

struct op_msg *op_session_msg_new(struct op_conn *c)
{
	struct op_msg *m;

	op_session_msg_end(c, "superseded");
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return NULL;
	m->pool = op_pool_new();
	m->cfg = op_config_current();
	if (m->pool == NULL || m->cfg == NULL) {
		op_pool_free(&m->pool);
		op_config_unref(&m->cfg);
		free(m);
		return NULL;
	}
	m->conn = c;
	clock_gettime(CLOCK_MONOTONIC, &m->start);
	op_strlcpy(m->queue_id, "NOQUEUE", sizeof(m->queue_id));
	m->mail_from = m->mail_domain = "";
	op_verdict_clear(&m->pending);
	op_verdict_clear(&m->final);
	c->msg = m;
	c->nmsgs++;
	__atomic_add_fetch(&op_session_msgs_inflight, 1, __ATOMIC_RELAXED);
	return m;
}

/* Append the summary fields of m to b. */
static void summary_fields(const struct op_msg *m, const char *how, struct op_buf *b)
{
	struct timespec now;
	long long us;
	size_t nmods;

	clock_gettime(CLOCK_MONOTONIC, &now);
	us = (now.tv_sec - m->start.tv_sec) * 1000000LL + (now.tv_nsec - m->start.tv_nsec) / 1000;
	op_buf_printf(b, "%s: outpost: end=%s verdict=%s", m->queue_id, how,
		      op_action_name(m->final.action));
	if (m->final.rcode[0])
		op_buf_printf(b, " reply=\"%s %s\"", m->final.rcode, m->final.xcode);
	if (m->final.module)
		op_buf_printf(b, " by=%s", m->final.module);
	if (m->final.reason[0]) {
		op_buf_puts(b, " reason=\"");
		op_buf_put_escaped(b, m->final.reason, strlen(m->final.reason));
		op_buf_putc(b, '"');
	}
	op_buf_puts(b, " from=<");
	op_buf_put_escaped(b, m->mail_from, strlen(m->mail_from));
	op_buf_printf(b, "> rcpts=%zu", m->nrcpts);
	if (m->rcpts_refused > 0)
		op_buf_printf(b, " rcpts_refused=%zu", m->rcpts_refused);
	op_buf_printf(b, " class=%s", op_class_name(m->class));
	if (m->auth_authen) {
		op_buf_puts(b, " login=\"");
		op_buf_put_escaped(b, m->auth_authen, strlen(m->auth_authen));
		op_buf_putc(b, '"');
	}
	if (m->tenant)
		op_buf_printf(b, " tenant=%s", m->tenant->name);
	op_buf_puts(b, " client=");
	op_buf_put_escaped(b, m->conn->client_addr, strlen(m->conn->client_addr));
	op_buf_printf(b, " headers=%zu body=%llu", m->nhdrs, (unsigned long long)m->body_bytes);
	if (m->hold)
		op_buf_printf(b, " hold=\"%s\"", m->hold_reason);
	op_pipeline_modules(&nmods);
	for (size_t i = 0; i < nmods; i++)
		if (m->summary[i][0])
			op_buf_printf(b, " %s", m->summary[i]);
	op_buf_printf(b, " dur_us=%lld", us);
}

void op_session_msg_end(struct op_conn *c, const char *how)
{
	struct op_msg *m = c->msg;
	struct op_buf b;

	if (m == NULL)
		return;
	if (m->mail_decided)
		how = "mail"; /* decided there, answered at RCPT TO */
	if (op_log_wants(LOG_INFO)) {
		op_buf_init(&b, 4096);
		summary_fields(m, how, &b);
		op_log_info("%s", op_buf_str(&b));
		op_buf_free(&b);
	}
	op_event_msg(m, how); /* the JSON event, where the summary is */
	op_metrics_message(m, how);
	op_pipeline_msg_free(m);
	op_config_unref(&m->cfg);
	op_pool_free(&m->pool);
	free(m);
	c->msg = NULL;
	__atomic_sub_fetch(&op_session_msgs_inflight, 1, __ATOMIC_RELAXED);
}

char *op_session_macro(struct op_pool *pool, const struct op_config *cfg, const char *value)
{
	size_t n;

	if (value == NULL)
		return op_pool_strdup(pool, "");
	n = strlen(value);
	if ((long long)n > cfg->max_macro_length)
		return NULL;
	return op_pool_strndup(pool, value, n);
}

void op_session_classify_conn(struct op_conn *c)
{
	const struct op_config *cfg = c->cfg;

	c->host_class = OP_CLASS_EXTERNAL;
	if (op_cidr_list_match_text(&cfg->internal_hosts, c->client_addr)) {
		c->host_class = OP_CLASS_HOST;
		return;
	}
	for (size_t i = 0; i < cfg->internal_daemon_names.n; i++)
		if (strcmp(cfg->internal_daemon_names.v[i], c->daemon_name) == 0) {
			c->host_class = OP_CLASS_DAEMON;
			return;
		}
}

void op_session_classify_msg(struct op_msg *m)
{
	const struct op_config *cfg = m->cfg;

	m->class = m->conn->host_class;
	if (m->auth_authen && m->auth_authen[0] && cfg->authenticated_is_internal)
		m->class = OP_CLASS_AUTH;
	m->tenant = op_tenant_by_login(cfg, m->auth_authen);
	if (m->tenant == NULL)
		m->tenant = op_tenant_by_domain(cfg, m->mail_domain);
}

char *op_session_addr(struct op_pool *pool, const char *raw, char **domain_r)
{
	size_t n = strlen(raw);
	const char *at;
	char *addr, *dom;

	if (n >= 2 && raw[0] == '<' && raw[n - 1] == '>') {
		raw++;
		n -= 2;
	}
	addr = op_pool_strndup(pool, raw, n);
	if (addr == NULL)
		return NULL;
	at = strrchr(addr, '@');
	dom = op_pool_strdup(pool, at ? at + 1 : "");
	if (dom == NULL)
		return NULL;
	for (char *p = dom; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	*domain_r = dom;
	return addr;
}

/* Copy value, turning a bare LF (how the MTA sends folds) into CRLF. */
static char *header_value_copy(struct op_pool *pool, const char *v, size_t n)
{
	size_t lfs = 0, o = 0;
	char *r;

	for (size_t i = 0; i < n; i++)
		if (v[i] == '\n' && (i == 0 || v[i - 1] != '\r'))
			lfs++;
	r = op_pool_alloc(pool, n + lfs + 1);
	if (r == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (v[i] == '\n' && (i == 0 || v[i - 1] != '\r'))
			r[o++] = '\r';
		r[o++] = v[i];
	}
	r[o] = '\0';
	return r;
}

int op_session_header(struct op_msg *m, const char *name, const char *value)
{
	const struct op_config *cfg = m->cfg;
	size_t nl = strlen(name), vl = strlen(value);
	const char *what = NULL;

	if (m->hdr_limit_hit)
		return -1;
	if ((long long)m->nhdrs >= cfg->max_headers)
		what = "too many headers (limits.max_headers)";
	else if ((long long)(nl + vl) > cfg->max_header_length)
		what = "a header is too long (limits.max_header_length)";
	else if ((long long)(m->hdr_bytes + nl + vl) > cfg->max_header_bytes)
		what = "headers too large (limits.max_header_bytes)";
	if (what == NULL && m->nhdrs == m->hdr_cap) {
		size_t ncap = m->hdr_cap ? m->hdr_cap * 2 : 32;
		struct op_header *v = op_pool_alloc(m->pool, ncap * sizeof(*v));

		if (v == NULL)
			what = "out of memory storing headers";
		else {
			if (m->nhdrs)
				memcpy(v, m->hdrs, m->nhdrs * sizeof(*v));
			m->hdrs = v;
			m->hdr_cap = ncap;
		}
	}
	if (what == NULL) {
		struct op_header *h = &m->hdrs[m->nhdrs];

		h->name = op_pool_strndup(m->pool, name, nl);
		h->value = header_value_copy(m->pool, value, vl);
		if (h->name == NULL || h->value == NULL)
			what = "out of memory storing headers";
		else {
			h->value_len = strlen(h->value);
			m->nhdrs++;
			m->hdr_bytes += nl + vl;
			return 0;
		}
	}
	m->hdr_limit_hit = true;
	op_verdict_error(&m->pending, cfg, OP_ERR_LIMIT, "3.4", "%s", what);
	m->pending.module = "limits";
	op_log_notice("%s: limit: %s (header %zu, %zu bytes so far)", m->queue_id, what,
		      m->nhdrs + 1, m->hdr_bytes);
	return -1;
}

int op_session_rcpt(struct op_msg *m, const char *rcpt)
{
	if (m->nrcpts == m->rcpt_cap) {
		size_t ncap = m->rcpt_cap ? m->rcpt_cap * 2 : 8;
		char **v = op_pool_alloc(m->pool, ncap * sizeof(*v));

		if (v == NULL)
			return -1;
		if (m->nrcpts)
			memcpy(v, m->rcpts, m->nrcpts * sizeof(*v));
		m->rcpts = v;
		m->rcpt_cap = ncap;
	}
	m->rcpts[m->nrcpts] = op_pool_strdup(m->pool, rcpt);
	if (m->rcpts[m->nrcpts] == NULL)
		return -1;
	m->nrcpts++;
	return 0;
}

void op_session_mark_skips(struct op_msg *m, unsigned negotiated)
{
	size_t n;
	const struct op_module *const *mods = op_pipeline_modules(&n);

	for (size_t i = 0; i < n; i++) {
		unsigned need = 0;

		if (!m->cfg->mod_enabled[i])
			continue;
		for (unsigned s = 0; s < OP_STAGE__COUNT; s++)
			if (mods[i]->hook[s] != NULL && s != OP_STAGE_ABORT && s != OP_STAGE_CLOSE)
				need |= OP_STAGE_BIT(s);
		if ((need & ~negotiated) != 0) {
			m->mod_skip[i] = true;
			op_msg_summary(m, i,
				       "%s=skip reason=\"enabled by a reload after this MTA "
				       "connection opened\"",
				       mods[i]->name);
		}
	}
}
