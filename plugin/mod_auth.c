/*
 * mod_auth.c - the auth module: Authentication-Results (RFC 8601) for
 * external mail, and DKIM verification of it (dkim_verify.c).  Last in the
 * pipeline, so it reports what the modules before it found.
 *
 * Stages: EOH queues the deletion of every Authentication-Results header
 * that claims our authserv-id, whatever the client (forged results must
 * not survive), and, for external mail, starts the DKIM verifier with the
 * received headers; BODY feeds it each chunk (nothing is buffered); EOM
 * collects the signatures' results and inserts one Authentication-Results
 * header at the top carrying spf (msg->auth, written by the spf module)
 * and dkim, and Received-SPF when auth.received_spf is on.
 *
 * Limits: auth.dkim_max_signatures signatures verified per message (the
 * rest get dkim=policy), auth.dkim_timeout per key lookup.  A DNS failure
 * fetching a key is dkim=temperror and auth.on_dkim_temperror decides.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "outpost/buf.h"
#include "outpost/dkim_verify.h"
#include "outpost/log.h"
#include "outpost/metrics.h"
#include "outpost/module.h"
#include "outpost/pool.h"
#include "outpost/spf.h"

#define AUTH_SIGS_MAX	64
#define AUTH_HEADER_MAX 8192

struct auth_state {
	struct op_dkimv_lib *dkimv; /* NULL when auth.dkim_verify is off */
};

struct auth_msg {
	bool internal; /* nothing to verify or add: internal mail */
	struct op_dkimv *v;
	int nsigs; /* signatures found at EOH; -1: verification failed */
	char why[80];
};

static bool mod_auth_enabled(const struct op_config *cfg)
{
	return cfg->auth_enabled;
}

static int mod_auth_init(struct op_config *cfg, const void *raw, void **state_r, char *err,
			 size_t errsize)
{
	struct auth_state *st = calloc(1, sizeof(*st));
	const char *why;

	*state_r = st;
	if (st == NULL)
		return snprintf(err, errsize, "%s: out of memory", cfg->path), -1;
	for (const char *p = cfg->auth_authserv_id; *p; p++)
		if (!isalnum((unsigned char)*p) && strchr(".-_", *p) == NULL)
			return snprintf(err, errsize,
					"%s: auth.authserv_id: \"%s\" is not a domain-like name",
					cfg->path, cfg->auth_authserv_id),
			       -1;
	if (cfg->auth_dkim_verify &&
	    op_dkimv_lib_new((long)(cfg->auth_dkim_timeout_ms / 1000),
			     cfg->auth_test_dkim_keys[0] ? cfg->auth_test_dkim_keys : NULL,
			     &st->dkimv, &why) < 0)
		return snprintf(err, errsize, "%s: auth: %s", cfg->path, why), -1;
	return 0;
}

static void mod_auth_fini(void *state)
{
	struct auth_state *st = state;

	if (st == NULL)
		return;
	op_dkimv_lib_free(&st->dkimv);
	free(st);
}

static void mod_auth_msg_free(void *p)
{
	struct auth_msg *am = p;

	op_dkimv_free(&am->v);
}

/* Our authserv-id: auth.authserv_id, else the MTA's name, else "localhost". */
static const char *authserv_id(const struct op_ctx *ctx)
{
	if (ctx->cfg->auth_authserv_id[0])
		return ctx->cfg->auth_authserv_id;
	return ctx->conn->mta_name[0] ? ctx->conn->mta_name : "localhost";
}

/* Whether an Authentication-Results value claims authserv-id id: its first
 * token, after white space and comments, equals id (case-insensitive). */
static bool claims(const char *v, const char *id)
{
	size_t n = strlen(id);
	int depth = 0;

	for (; *v; v++) {
		if (*v == '(')
			depth++;
		else if (*v == ')' && depth > 0)
			depth--;
		else if (depth == 0 && !isspace((unsigned char)*v))
			break;
	}
	return strncasecmp(v, id, n) == 0 &&
	       (v[n] == '\0' || v[n] == ';' || v[n] == '(' || isspace((unsigned char)v[n]));
}

/* Queue the deletion of forged results, last first so that the indexes
 * of the earlier ones stay valid while the MTA applies them. */
static int auth_strip(struct op_ctx *ctx)
{
	struct op_msg *m = ctx->msg;
	const char *id = authserv_id(ctx), *err;
	unsigned n = op_msg_header_count(m, "Authentication-Results"), removed = 0;

	for (unsigned i = n; i >= 1; i--) {
		const struct op_header *h = op_msg_header(m, "Authentication-Results", i);

		if (!claims(h->value, id))
			continue;
		if (op_msg_edit(m, OP_EDIT_DELETE, "Authentication-Results", NULL, i, "auth",
				&err) < 0) {
			op_log_error("%s: auth: %s", m->queue_id, err);
			return -1;
		}
		removed++;
	}
	if (removed > 0)
		op_log_notice("%s: auth: removed %u Authentication-Results header(s) claiming %s",
			      m->queue_id, removed, id);
	return (int)removed;
}

/* Start the verifier and feed it the headers. */
static void auth_dkim_start(struct op_ctx *ctx, struct auth_msg *am)
{
	const struct auth_state *st = ctx->state;
	struct op_msg *m = ctx->msg;
	const char *err = NULL;

	if (op_dkimv_new(st->dkimv, m->queue_id, &am->v, &err) < 0)
		goto fail;
	for (size_t i = 0; i < m->nhdrs; i++)
		if (op_dkimv_header(am->v, m->hdrs[i].name, m->hdrs[i].value, m->hdrs[i].value_len,
				    &err) < 0)
			goto fail;
	am->nsigs = op_dkimv_eoh(am->v, &err);
	if (am->nsigs >= 0)
		return;
fail:
	am->nsigs = -1;
	snprintf(am->why, sizeof(am->why), "%s", err ? err : "verifier failed");
	op_log_warning("%s: auth: DKIM verification impossible: %s", m->queue_id, am->why);
}

/* The state is made at the first end of headers and marks the message as
 * done: an MTA that sends end of headers again gets nothing twice (a second
 * verifier would leak the first, a second deletion of forged results would
 * delete the next header of that name). */
static void mod_auth_eoh(struct op_ctx *ctx, struct op_verdict *v)
{
	const struct auth_state *st = ctx->state;
	struct op_msg *m = ctx->msg;
	struct auth_msg *am;
	int removed;

	if (m->mod_msg[ctx->modidx] != NULL)
		return;
	am = op_pool_alloc(m->pool, sizeof(*am));
	if (am == NULL) {
		op_verdict_error(v, ctx->cfg, OP_ERR_RESOURCE, "3.0", "out of memory");
		return;
	}
	m->mod_msg[ctx->modidx] = am;
	removed = auth_strip(ctx);
	if (removed < 0) {
		op_verdict_error(v, ctx->cfg, OP_ERR_INTERNAL, "3.0", "internal error");
		return;
	}
	if (op_msg_internal(m)) {
		am->internal = true;
		op_msg_summary(m, ctx->modidx, "auth=skip reason=internal%s",
			       removed ? " forged_removed=yes" : "");
		return;
	}
	if (st->dkimv != NULL)
		auth_dkim_start(ctx, am);
}

static void mod_auth_body(struct op_ctx *ctx, struct op_verdict *v)
{
	struct auth_msg *am = ctx->msg->mod_msg[ctx->modidx];
	const char *err;

	if (am == NULL || am->v == NULL || am->nsigs <= 0)
		return;
	if (op_dkimv_body(am->v, ctx->body, ctx->bodylen, &err) < 0) {
		am->nsigs = -1;
		snprintf(am->why, sizeof(am->why), "%s", err);
	}
}

/* Append value as an RFC 8601 pvalue: a token, or a quoted-string. */
static int put_pvalue(struct op_buf *b, const char *s)
{
	bool plain = s[0] != '\0';

	for (const char *p = s; *p && plain; p++)
		plain = (unsigned char)*p > 0x20 && (unsigned char)*p < 0x7f &&
			strchr("()<>@,;:\\\"/[]?= ", *p) == NULL;
	if (plain || (strchr(s, '@') && !strpbrk(s, "()<>,;\\\"[] ")))
		return op_buf_puts(b, s);
	if (op_buf_putc(b, '"') < 0)
		return -1;
	for (const char *p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if ((c == '"' || c == '\\') && op_buf_putc(b, '\\') < 0)
			return -1;
		if (op_buf_putc(b, (c >= 0x20 && c < 0x7f) ? (char)c : '?') < 0)
			return -1;
	}
	return op_buf_putc(b, '"');
}

/* Append a comment "(text)" made safe: printable, no parentheses. */
static int put_comment(struct op_buf *b, const char *text)
{
	if (text == NULL || text[0] == '\0')
		return 0;
	if (op_buf_puts(b, " (") < 0)
		return -1;
	for (const char *p = text; *p; p++)
		if (op_buf_putc(b, (*p >= 0x20 && *p < 0x7f && !strchr("()\\", *p)) ? *p : ' ') < 0)
			return -1;
	return op_buf_putc(b, ')');
}

/* The spf results (msg->auth). */
static int ar_spf(struct op_buf *b, const struct op_msg *m)
{
	const struct op_auth_results *a = &m->auth;

	if (!a->spf_checked)
		return 0;
	if (op_buf_printf(b, ";\r\n\tspf=%s", op_spf_result_name(a->spf_result)) < 0 ||
	    ((a->spf_result == OP_SPF_TEMPERROR || a->spf_result == OP_SPF_PERMERROR) &&
	     put_comment(b, a->spf_problem) < 0))
		return -1;
	if (a->spf_helo_identity)
		return op_buf_puts(b, " smtp.helo=") < 0 ? -1 : put_pvalue(b, m->conn->helo);
	if (op_buf_puts(b, " smtp.mailfrom=") < 0 || put_pvalue(b, m->mail_from) < 0)
		return -1;
	if (!a->helo_checked)
		return 0;
	if (op_buf_printf(b, ";\r\n\tspf=%s smtp.helo=", op_spf_result_name(a->helo_result)) < 0)
		return -1;
	return put_pvalue(b, m->conn->helo);
}

/* The dkim results; *temperror_r tells whether any was temperror. */
static int ar_dkim(struct op_buf *b, const struct auth_msg *am, const struct op_dkimv_sig *sigs,
		   size_t n, size_t max, bool *temperror_r)
{
	if (am->nsigs <= 0)
		op_metrics_dkim_verify(am->nsigs < 0 ? "permerror" : "none");
	if (am->nsigs < 0)
		return op_buf_puts(b, ";\r\n\tdkim=permerror") < 0 ? -1 : put_comment(b, am->why);
	if (am->nsigs == 0)
		return op_buf_puts(b, ";\r\n\tdkim=none");
	for (size_t i = 0; i < n; i++) {
		enum op_dkimv_result r = i < max ? sigs[i].result : OP_DKIMV_POLICY;

		op_metrics_dkim_verify(op_dkimv_result_name(r));
		*temperror_r |= r == OP_DKIMV_TEMPERROR;
		if (op_buf_printf(b, ";\r\n\tdkim=%s", op_dkimv_result_name(r)) < 0 ||
		    put_comment(b, i < max ? sigs[i].reason : "auth.dkim_max_signatures reached") <
			0 ||
		    op_buf_puts(b, " header.d=") < 0 || put_pvalue(b, sigs[i].domain) < 0 ||
		    op_buf_puts(b, " header.s=") < 0 || put_pvalue(b, sigs[i].selector) < 0 ||
		    (sigs[i].b[0] &&
		     (op_buf_puts(b, " header.b=") < 0 || put_pvalue(b, sigs[i].b) < 0)))
			return -1;
	}
	return 0;
}

/* Insert Received-SPF at the top (below the Authentication-Results that
 * follows). */
static int auth_received_spf(struct op_ctx *ctx, const char **err_r)
{
	struct op_msg *m = ctx->msg;
	struct op_spf_outcome o = {0};
	struct op_buf b;
	int r;

	if (!ctx->cfg->auth_received_spf || !m->auth.spf_checked)
		return 0;
	o.result = (enum op_spf_result)m->auth.spf_result;
	op_strlcpy(o.problem, m->auth.spf_problem, sizeof(o.problem));
	op_buf_init(&b, AUTH_HEADER_MAX);
	r = op_spf_received_spf(&b, &o, authserv_id(ctx), m->conn->client_addr, m->mail_from,
				m->conn->helo, m->auth.spf_helo_identity);
	if (r == 0)
		r = op_msg_edit(m, OP_EDIT_INSERT, "Received-SPF", op_buf_str(&b), 0, "auth",
				err_r);
	else
		*err_r = "Received-SPF too long";
	op_buf_free(&b);
	return r;
}

static void mod_auth_eom(struct op_ctx *ctx, struct op_verdict *v)
{
	struct op_msg *m = ctx->msg;
	struct auth_msg *am = m->mod_msg[ctx->modidx];
	struct op_dkimv_sig sigs[AUTH_SIGS_MAX];
	size_t n = 0, max = (size_t)ctx->cfg->auth_dkim_max_signatures;
	struct op_buf b;
	bool temperror = false, dkim = am != NULL && (am->v != NULL || am->nsigs < 0);
	const char *err = NULL;

	if (am == NULL || am->internal)
		return;
	if (dkim && am->nsigs > 0 && op_dkimv_eom(am->v, sigs, AUTH_SIGS_MAX, &n, &err) < 0) {
		am->nsigs = -1;
		snprintf(am->why, sizeof(am->why), "%s", err);
	}
	op_buf_init(&b, AUTH_HEADER_MAX);
	if (op_buf_puts(&b, authserv_id(ctx)) < 0 || ar_spf(&b, m) < 0 ||
	    (dkim && ar_dkim(&b, am, sigs, n, max, &temperror) < 0) ||
	    (!m->auth.spf_checked && !dkim && op_buf_puts(&b, "; none") < 0) ||
	    auth_received_spf(ctx, &err) < 0 ||
	    op_msg_edit(m, OP_EDIT_INSERT, "Authentication-Results", op_buf_str(&b), 0, "auth",
			&err) < 0) {
		op_log_error("%s: auth: %s", m->queue_id,
			     err ? err : "Authentication-Results too long");
		op_buf_free(&b);
		op_verdict_error(v, ctx->cfg, OP_ERR_INTERNAL, "3.0", "internal error");
		return;
	}
	op_msg_summary(m, ctx->modidx, "auth=ar dkim_sigs=%d%s", am->nsigs,
		       temperror ? " dkim=temperror" : "");
	op_buf_free(&b);
	if (temperror && ctx->cfg->auth_on_dkim_temperror == 1)
		op_verdict_set(v, OP_ACT_TEMPFAIL, "451", "4.7.5",
			       "DKIM key lookup failed (DNS), try again later");
	else if (temperror && ctx->cfg->auth_on_dkim_temperror == 2)
		op_verdict_set(v, OP_ACT_REJECT, "550", "5.7.5", "DKIM key lookup failed (DNS)");
}

const struct op_module mod_auth = {
    .name = "auth",
    .enabled = mod_auth_enabled,
    .init = mod_auth_init,
    .fini = mod_auth_fini,
    .msg_free = mod_auth_msg_free,
    .reply_stages = OP_STAGE_BIT(OP_STAGE_EOM),
    .hook =
	{
	    [OP_STAGE_EOH] = mod_auth_eoh,
	    [OP_STAGE_BODY] = mod_auth_body,
	    [OP_STAGE_EOM] = mod_auth_eom,
	},
};
