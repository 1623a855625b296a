/*
 * milter.c - the only file that talks to libmilter.
 *
 * Negotiation asks the MTA only for the protocol steps some enabled module
 * listens to, with no-reply flags where nobody can object, so a message
 * costs as few round trips as possible.  Callbacks copy what libmilter hands
 * them into the connection or message pool, run the pipeline, and turn the
 * verdict into a libmilter status and reply here, in one place
 * (milter_status()).  Header edits queued by modules are applied at end of
 * message (milter_apply_edits()).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "milter_int.h"
#include "outpost/buf.h"
#include "outpost/log.h"
#include "outpost/pipeline.h"
#include "outpost/pool.h"

extern unsigned op_session_msgs_inflight, op_session_conns_inflight;

/* Stage -> the SMFIP_NR_* flag that tells the MTA not to wait for a reply. */
static const unsigned long nr_flag[OP_STAGE__COUNT] = {
    [OP_STAGE_CONNECT] = SMFIP_NR_CONN, [OP_STAGE_HELO] = SMFIP_NR_HELO,
    [OP_STAGE_MAIL] = SMFIP_NR_MAIL,	[OP_STAGE_RCPT] = SMFIP_NR_RCPT,
    [OP_STAGE_HEADER] = SMFIP_NR_HDR,	[OP_STAGE_EOH] = SMFIP_NR_EOH,
    [OP_STAGE_BODY] = SMFIP_NR_BODY,
};
/* Stage -> the SMFIP_NO* flag that skips it altogether. */
static const unsigned long no_flag[OP_STAGE__COUNT] = {
    [OP_STAGE_CONNECT] = SMFIP_NOCONNECT, [OP_STAGE_HELO] = SMFIP_NOHELO,
    [OP_STAGE_MAIL] = SMFIP_NOMAIL,	  [OP_STAGE_RCPT] = SMFIP_NORCPT,
    [OP_STAGE_HEADER] = SMFIP_NOHDRS,	  [OP_STAGE_EOH] = SMFIP_NOEOH,
    [OP_STAGE_BODY] = SMFIP_NOBODY,
};

static struct op_conn *conn_of(SMFICTX *ctx)
{
	return smfi_getpriv(ctx);
}

/* A message stage arrived with no open message.  Normal when the MTA was
 * told to skip MAIL (no module needs the message); otherwise an internal
 * error, answered per actions.on_internal_error. */
static sfsistat no_message(SMFICTX *ctx, const struct op_conn *c, unsigned long nr)
{
	struct op_verdict v;

	if (c != NULL && (c->steps & SMFIP_NOMAIL))
		return (c->steps & nr) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
	op_log_error("conn %lu: message data without MAIL FROM", c ? c->id : 0);
	/* At a stage negotiated as no-reply the MTA reads no answer (libmilter
	 * would drop it and log an error): the next stage that replies says it. */
	if (c != NULL && (c->steps & nr))
		return SMFIS_NOREPLY;
	op_verdict_error(&v, c ? c->cfg : NULL, OP_ERR_INTERNAL, "3.0", "internal error");
	if (v.action == OP_ACT_ACCEPT)
		return SMFIS_ACCEPT;
	smfi_setreply(ctx, v.rcode, v.xcode, v.text);
	return v.action == OP_ACT_REJECT ? SMFIS_REJECT : SMFIS_TEMPFAIL;
}

/* The one mapping from a verdict to libmilter.  stage decides whether the
 * MTA waits for an answer (no-reply stages return SMFIS_NOREPLY). */
static sfsistat milter_status(SMFICTX *ctx, const struct op_conn *c, enum op_stage stage,
			      const struct op_verdict *v)
{
	if (stage < OP_STAGE_EOM && (c->steps & nr_flag[stage]))
		return SMFIS_NOREPLY;
	switch (v->action) {
	case OP_ACT_CONTINUE:
	case OP_ACT_HOLD:
		return SMFIS_CONTINUE;
	case OP_ACT_ACCEPT:
		return SMFIS_ACCEPT;
	case OP_ACT_DISCARD:
		return SMFIS_DISCARD;
	case OP_ACT_TEMPFAIL:
	case OP_ACT_REJECT:
		if (v->rcode[0] && smfi_setreply(ctx, (char *)v->rcode, (char *)v->xcode,
						 (char *)v->text) != MI_SUCCESS)
			op_log_warning("smfi_setreply refused \"%s %s %s\"", v->rcode, v->xcode,
				       v->text);
		return v->action == OP_ACT_TEMPFAIL ? SMFIS_TEMPFAIL : SMFIS_REJECT;
	case OP_ACT__COUNT:
		break;
	}
	return SMFIS_TEMPFAIL;
}

/* Protocol steps we want from the MTA for cfg, limited to what it offers. */
static unsigned long milter_steps(const struct op_config *cfg, unsigned long offered)
{
	unsigned listen = op_pipeline_stages(cfg), reply = op_pipeline_reply_stages(cfg);
	unsigned long want = SMFIP_NOUNKNOWN | SMFIP_NODATA | SMFIP_HDR_LEADSPC;

	if (listen != 0) {
		/* The milter layer itself needs connect (classification), MAIL
		 * (the message, its limits), and headers whenever a module reads
		 * them at EOH or EOM. */
		listen |= OP_STAGE_BIT(OP_STAGE_CONNECT) | OP_STAGE_BIT(OP_STAGE_MAIL);
		if (listen & (OP_STAGE_BIT(OP_STAGE_EOH) | OP_STAGE_BIT(OP_STAGE_EOM)))
			listen |= OP_STAGE_BIT(OP_STAGE_HEADER);
		reply |= OP_STAGE_BIT(OP_STAGE_MAIL) | OP_STAGE_BIT(OP_STAGE_RCPT);
	}
	/* Verdicts at HEADER and BODY are deferred, never replied. */
	reply &= ~(OP_STAGE_BIT(OP_STAGE_HEADER) | OP_STAGE_BIT(OP_STAGE_BODY));
	for (unsigned s = 0; s < OP_STAGE_EOM; s++) {
		if (!(listen & OP_STAGE_BIT(s)))
			want |= no_flag[s];
		else if (!(reply & OP_STAGE_BIT(s)))
			want |= nr_flag[s];
	}
	return want & offered;
}

static sfsistat cb_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2,
			     unsigned long f3, unsigned long *pf0, unsigned long *pf1,
			     unsigned long *pf2, unsigned long *pf3)
{
	struct op_conn *c = op_session_conn_new();

	if (c == NULL) {
		op_log_error("out of memory at connection start");
		return SMFIS_TEMPFAIL;
	}
	smfi_setpriv(ctx, c);
	c->steps = milter_steps(c->cfg, f1);
	*pf0 = (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE | SMFIF_SETSYMLIST) & f0;
	*pf1 = c->steps;
	*pf2 = 0;
	*pf3 = 0;
	if (*pf0 & SMFIF_SETSYMLIST) {
		smfi_setsymlist(ctx, SMFIM_CONNECT, "j {client_addr} {client_name} {daemon_name}");
		smfi_setsymlist(ctx, SMFIM_ENVFROM, "i {auth_authen} {auth_type} {mail_addr}");
		smfi_setsymlist(ctx, SMFIM_ENVRCPT, "i {rcpt_addr}");
		smfi_setsymlist(ctx, SMFIM_EOH, "i");
		smfi_setsymlist(ctx, SMFIM_EOM, "i");
	}
	op_log_debug("conn %lu: negotiated actions=0x%lx steps=0x%lx (MTA offered 0x%lx/0x%lx)",
		     c->id, *pf0, *pf1, f0, f1);
	return SMFIS_CONTINUE;
}

/* Stages a connection listens to, from its negotiated steps. */
static unsigned conn_stages(const struct op_conn *c)
{
	unsigned m = OP_STAGE_BIT(OP_STAGE_EOM) | OP_STAGE_BIT(OP_STAGE_ABORT) |
		     OP_STAGE_BIT(OP_STAGE_CLOSE);

	for (unsigned s = 0; s < OP_STAGE_EOM; s++)
		if (!(c->steps & no_flag[s]))
			m |= OP_STAGE_BIT(s);
	return m;
}

/* Copy macro name into *dst (connection or message pool); false when too
 * long, logged under qid ("conn N" before a message exists). */
static bool copy_macro(SMFICTX *ctx, struct op_pool *pool, const struct op_config *cfg,
		       const char *qid, const char *name, char **dst)
{
	char *v = op_session_macro(pool, cfg, smfi_getsymval(ctx, (char *)name));

	if (v == NULL) {
		op_log_notice("%s: limit: macro %s longer than limits.max_macro_length", qid, name);
		return false;
	}
	*dst = v;
	return true;
}

static sfsistat cb_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *sa)
{
	struct op_conn *c = conn_of(ctx);
	struct op_ctx oc = {0};
	struct op_verdict v;
	bool ok;

	if (c == NULL)
		return SMFIS_TEMPFAIL;
	ok = copy_macro(ctx, c->pool, c->cfg, "connect", "{client_addr}", &c->client_addr) &&
	     copy_macro(ctx, c->pool, c->cfg, "connect", "{daemon_name}", &c->daemon_name) &&
	     copy_macro(ctx, c->pool, c->cfg, "connect", "j", &c->mta_name);
	c->client_name = op_pool_strdup(c->pool, hostname ? hostname : "");
	if (c->client_name == NULL)
		ok = false;
	op_session_classify_conn(c);
	oc.conn = c;
	if (!ok)
		op_verdict_error(&v, c->cfg, OP_ERR_LIMIT, "7.0", "malformed connection data");
	else
		op_pipeline_run(OP_STAGE_CONNECT, &oc, &v);
	if (v.action != OP_ACT_CONTINUE) {
		char esc[128];

		op_log_info("conn %lu: client=%s connect: %s %s", c->id,
			    op_log_esc(esc, sizeof(esc), c->client_addr), op_action_name(v.action),
			    v.reason);
		/* The MTA does not wait for a reply at connect (SMFIP_NR_CONN):
		 * the verdict is given at the first MAIL FROM instead. */
		if (c->steps & SMFIP_NR_CONN)
			c->pending = v;
	}
	return milter_status(ctx, c, OP_STAGE_CONNECT, &v);
}

static sfsistat cb_helo(SMFICTX *ctx, char *helo)
{
	struct op_conn *c = conn_of(ctx);
	struct op_ctx oc = {0};
	struct op_verdict v;

	if (c == NULL)
		return SMFIS_TEMPFAIL;
	c->helo = op_pool_strdup(c->pool, helo ? helo : "");
	if (c->helo == NULL)
		c->helo = "";
	oc.conn = c;
	op_pipeline_run(OP_STAGE_HELO, &oc, &v);
	return milter_status(ctx, c, OP_STAGE_HELO, &v);
}

/* Set m's queue id from macro i.  It starts every log line of the message
 * and is not escaped there, so any byte outside printable ASCII (a newline
 * would forge a log line), space included, becomes '?'. */
static void set_qid(struct op_msg *m, const char *qid)
{
	size_t i;

	for (i = 0; qid[i] && i + 1 < sizeof(m->queue_id); i++) {
		unsigned char ch = (unsigned char)qid[i];

		m->queue_id[i] = ch > ' ' && ch < 0x7f ? (char)ch : '?';
	}
	m->queue_id[i] = '\0';
}

/* Fill a new message from MAIL FROM; false when a limit was hit (v set). */
static bool mail_fill(SMFICTX *ctx, struct op_msg *m, char **argv, struct op_verdict *v)
{
	const struct op_config *cfg = m->cfg;
	char *qid = NULL;
	size_t argc = 0;

	if (copy_macro(ctx, m->pool, cfg, m->queue_id, "i", &qid) && qid[0])
		set_qid(m, qid);
	if ((long long)m->conn->nmsgs > cfg->max_messages_per_connection) {
		op_verdict_error(
		    v, cfg, OP_ERR_LIMIT, "7.0",
		    "too many messages on one connection (limits.max_messages_per_connection)");
		return false;
	}
	if (qid == NULL ||
	    !copy_macro(ctx, m->pool, cfg, m->queue_id, "{auth_authen}", &m->auth_authen) ||
	    !copy_macro(ctx, m->pool, cfg, m->queue_id, "{auth_type}", &m->auth_type)) {
		op_verdict_error(v, cfg, OP_ERR_LIMIT, "7.0",
				 "macro too long (limits.max_macro_length)");
		return false;
	}
	if (!m->auth_authen[0])
		m->auth_authen = NULL;
	m->mail_from = op_session_addr(m->pool, argv[0] ? argv[0] : "", &m->mail_domain);
	while (argv[0] && argv[argc + 1])
		argc++;
	m->mail_args = op_pool_alloc(m->pool, (argc + 1) * sizeof(char *));
	for (size_t i = 0; m->mail_args && i < argc; i++)
		m->mail_args[i] = op_pool_strdup(m->pool, argv[i + 1]);
	if (m->mail_from == NULL || m->mail_args == NULL) {
		op_verdict_error(v, cfg, OP_ERR_RESOURCE, "3.0", "out of memory");
		return false;
	}
	op_session_classify_msg(m);
	op_session_mark_skips(m, conn_stages(m->conn));
	return true;
}

/* End the transaction after a verdict that closes it at this stage. */
static sfsistat finish(SMFICTX *ctx, struct op_conn *c, enum op_stage stage,
		       const struct op_verdict *v, const char *how)
{
	sfsistat r = milter_status(ctx, c, stage, v);

	if (c->msg != NULL) {
		c->msg->final = *v;
		op_session_msg_end(c, how);
	}
	return r;
}

static sfsistat cb_envfrom(SMFICTX *ctx, char **argv)
{
	struct op_conn *c = conn_of(ctx);
	struct op_ctx oc = {0};
	struct op_verdict v;
	struct op_msg *m;

	if (c == NULL)
		return SMFIS_TEMPFAIL;
	m = op_session_msg_new(c);
	if (m == NULL) {
		op_log_error("conn %lu: out of memory at MAIL FROM", c->id);
		op_verdict_error(&v, c->cfg, OP_ERR_RESOURCE, "3.0", "out of memory");
		return milter_status(ctx, c, OP_STAGE_MAIL, &v);
	}
	op_verdict_clear(&v);
	if (c->pending.action >= OP_ACT_ACCEPT) {
		(void)mail_fill(ctx, m, argv, &v);
		return finish(ctx, c, OP_STAGE_MAIL, &c->pending, "mail");
	}
	if (!mail_fill(ctx, m, argv, &v))
		return finish(ctx, c, OP_STAGE_MAIL, &v, "mail");
	oc.conn = c;
	oc.msg = m;
	op_pipeline_run(OP_STAGE_MAIL, &oc, &v);
	if (v.action >= OP_ACT_ACCEPT)
		return finish(ctx, c, OP_STAGE_MAIL, &v, "mail");
	return milter_status(ctx, c, OP_STAGE_MAIL, &v);
}

static sfsistat cb_envrcpt(SMFICTX *ctx, char **argv)
{
	struct op_conn *c = conn_of(ctx);
	struct op_ctx oc = {0};
	struct op_verdict v;
	char *dom;

	if (c == NULL || c->msg == NULL)
		return no_message(ctx, c, SMFIP_NR_RCPT);
	op_verdict_clear(&v);
	oc.conn = c;
	oc.msg = c->msg;
	oc.rcpt = op_session_addr(c->msg->pool, argv[0] ? argv[0] : "", &dom);
	oc.rcpt_args = argv[0] ? argv + 1 : argv;
	if (oc.rcpt == NULL)
		op_verdict_error(&v, c->msg->cfg, OP_ERR_RESOURCE, "3.0", "out of memory");
	else if ((long long)c->msg->nrcpts >= c->msg->cfg->max_recipients)
		op_verdict_error(&v, c->msg->cfg, OP_ERR_LIMIT, "5.3",
				 "too many recipients (limits.max_recipients)");
	else
		op_pipeline_run(OP_STAGE_RCPT, &oc, &v);
	if (v.action == OP_ACT_CONTINUE && op_session_rcpt(c->msg, oc.rcpt) < 0)
		op_verdict_error(&v, c->msg->cfg, OP_ERR_RESOURCE, "3.0", "out of memory");
	if (v.action == OP_ACT_ACCEPT || v.action == OP_ACT_DISCARD)
		return finish(ctx, c, OP_STAGE_RCPT, &v, "rcpt");
	if (v.action != OP_ACT_CONTINUE) {
		char esc[300];

		op_log_info("%s: rcpt=<%s> %s: %s", c->msg->queue_id,
			    op_log_esc(esc, sizeof(esc), oc.rcpt ? oc.rcpt : ""),
			    op_action_name(v.action), v.reason);
	}
	/* A refused recipient does not end the transaction. */
	return milter_status(ctx, c, OP_STAGE_RCPT, &v);
}

static sfsistat cb_header(SMFICTX *ctx, char *name, char *value)
{
	struct op_conn *c = conn_of(ctx);
	struct op_ctx oc = {0};
	struct op_verdict v;

	if (c == NULL || c->msg == NULL)
		return no_message(ctx, c, SMFIP_NR_HDR);
	if (op_session_header(c->msg, name ? name : "", value ? value : "") == 0) {
		oc.conn = c;
		oc.msg = c->msg;
		oc.hdr = &c->msg->hdrs[c->msg->nhdrs - 1];
		op_pipeline_run(OP_STAGE_HEADER, &oc, &v);
		op_verdict_merge(&c->msg->pending, &v);
	}
	return milter_status(ctx, c, OP_STAGE_HEADER, &c->msg->pending);
}

/* Queue id from macro i when the MTA only knows it later (Sendmail). */
static void refresh_qid(SMFICTX *ctx, struct op_msg *m)
{
	const char *i = smfi_getsymval(ctx, "i");

	if (i != NULL && i[0] && strcmp(m->queue_id, "NOQUEUE") == 0)
		set_qid(m, i);
}

static sfsistat cb_eoh(SMFICTX *ctx)
{
	struct op_conn *c = conn_of(ctx);
	struct op_ctx oc = {0};
	struct op_verdict v;

	if (c == NULL || c->msg == NULL)
		return no_message(ctx, c, SMFIP_NR_EOH);
	refresh_qid(ctx, c->msg);
	if (c->msg->pending.action == OP_ACT_CONTINUE) {
		oc.conn = c;
		oc.msg = c->msg;
		op_pipeline_run(OP_STAGE_EOH, &oc, &v);
		op_verdict_merge(&c->msg->pending, &v);
	}
	if (!(c->steps & SMFIP_NR_EOH) && c->msg->pending.action >= OP_ACT_ACCEPT)
		return finish(ctx, c, OP_STAGE_EOH, &c->msg->pending, "eoh");
	return milter_status(ctx, c, OP_STAGE_EOH, &c->msg->pending);
}

static sfsistat cb_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	struct op_conn *c = conn_of(ctx);
	struct op_ctx oc = {0};
	struct op_verdict v;

	if (c == NULL || c->msg == NULL)
		return no_message(ctx, c, SMFIP_NR_BODY);
	c->msg->body_bytes += len;
	if (c->msg->pending.action == OP_ACT_CONTINUE) {
		oc.conn = c;
		oc.msg = c->msg;
		oc.body = chunk;
		oc.bodylen = len;
		op_pipeline_run(OP_STAGE_BODY, &oc, &v);
		op_verdict_merge(&c->msg->pending, &v);
	}
	return milter_status(ctx, c, OP_STAGE_BODY, &c->msg->pending);
}

/* The value as libmilter wants it: folds as LF + WSP (the MTA adds the
 * CR), and our leading space when the MTA sends and expects it. */
static int wire_value(const struct op_conn *c, const char *value, struct op_buf *b)
{
	op_buf_reset(b);
	if ((c->steps & SMFIP_HDR_LEADSPC) && op_buf_putc(b, ' ') < 0)
		return -1;
	for (const char *p = value; *p; p++)
		if (!(p[0] == '\r' && p[1] == '\n') && op_buf_putc(b, *p) < 0)
			return -1;
	return 0;
}

/* Apply every queued edit, in order.  0, or -1 with *err_r. */
static int milter_apply_edits(SMFICTX *ctx, struct op_conn *c, struct op_msg *m, const char **err_r)
{
	struct op_buf b;
	int r = 0;

	op_buf_init(&b, 1 << 20);
	for (size_t i = 0; i < m->nedits && r == 0; i++) {
		const struct op_edit *e = &m->edits[i];
		char *name = (char *)e->name;

		if (e->kind != OP_EDIT_DELETE && wire_value(c, e->value, &b) < 0) {
			*err_r = "header value too large";
			r = -1;
			break;
		}
		switch (e->kind) {
		case OP_EDIT_ADD:
			r = smfi_addheader(ctx, name, (char *)op_buf_str(&b)) == MI_SUCCESS ? 0
											    : -1;
			break;
		case OP_EDIT_INSERT:
			r = smfi_insheader(ctx, (int)e->index, name, (char *)op_buf_str(&b)) ==
				    MI_SUCCESS
				? 0
				: -1;
			break;
		case OP_EDIT_CHANGE:
			r = smfi_chgheader(ctx, name, (int)e->index, (char *)op_buf_str(&b)) ==
				    MI_SUCCESS
				? 0
				: -1;
			break;
		case OP_EDIT_DELETE:
			r = smfi_chgheader(ctx, name, (int)e->index, NULL) == MI_SUCCESS ? 0 : -1;
			break;
		}
		if (r < 0)
			*err_r = "the MTA refused a header change";
	}
	op_buf_free(&b);
	return r;
}

static sfsistat cb_eom(SMFICTX *ctx)
{
	struct op_conn *c = conn_of(ctx);
	struct op_ctx oc = {0};
	struct op_msg *m;
	struct op_verdict v;
	const char *err;

	if (c == NULL || c->msg == NULL)
		return no_message(ctx, c, 0);
	m = c->msg;
	refresh_qid(ctx, m);
	if (m->pending.action != OP_ACT_CONTINUE)
		return finish(ctx, c, OP_STAGE_EOM, &m->pending, "eom");
	oc.conn = c;
	oc.msg = m;
	op_pipeline_run(OP_STAGE_EOM, &oc, &v);
	if (v.action >= OP_ACT_DISCARD)
		return finish(ctx, c, OP_STAGE_EOM, &v, "eom");
	if (milter_apply_edits(ctx, c, m, &err) < 0) {
		op_verdict_error(&v, m->cfg, OP_ERR_INTERNAL, "3.0", "%s", err);
		return finish(ctx, c, OP_STAGE_EOM, &v, "eom");
	}
	if (m->hold) {
		if (smfi_quarantine(ctx, m->hold_reason) != MI_SUCCESS) {
			op_verdict_error(&v, m->cfg, OP_ERR_INTERNAL, "3.0",
					 "the MTA refused to hold the message");
			return finish(ctx, c, OP_STAGE_EOM, &v, "eom");
		}
		v.action = OP_ACT_HOLD;
	}
	return finish(ctx, c, OP_STAGE_EOM, &v, "eom");
}

static sfsistat cb_abort(SMFICTX *ctx)
{
	struct op_conn *c = conn_of(ctx);
	struct op_ctx oc = {0};
	struct op_verdict v;

	if (c == NULL || c->msg == NULL)
		return SMFIS_CONTINUE;
	oc.conn = c;
	oc.msg = c->msg;
	op_pipeline_run(OP_STAGE_ABORT, &oc, &v);
	op_session_msg_end(c, "abort");
	return SMFIS_CONTINUE;
}

static sfsistat cb_close(SMFICTX *ctx)
{
	struct op_conn *c = conn_of(ctx);
	struct op_ctx oc = {0};
	struct op_verdict v;

	if (c == NULL)
		return SMFIS_CONTINUE;
	op_session_msg_end(c, "close");
	oc.conn = c;
	op_pipeline_run(OP_STAGE_CLOSE, &oc, &v);
	smfi_setpriv(ctx, NULL);
	op_session_conn_free(&c);
	return SMFIS_CONTINUE;
}

static struct smfiDesc milter_desc = {
    .xxfi_name = "outpost",
    .xxfi_version = SMFI_VERSION,
    .xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE | SMFIF_SETSYMLIST,
    .xxfi_connect = cb_connect,
    .xxfi_helo = cb_helo,
    .xxfi_envfrom = cb_envfrom,
    .xxfi_envrcpt = cb_envrcpt,
    .xxfi_header = cb_header,
    .xxfi_eoh = cb_eoh,
    .xxfi_body = cb_body,
    .xxfi_eom = cb_eom,
    .xxfi_abort = cb_abort,
    .xxfi_close = cb_close,
    .xxfi_negotiate = cb_negotiate,
};

/* Path of a unix socket spec, or NULL for inet. */
static const char *unix_path(const char *spec)
{
	if (strncmp(spec, "unix:", 5) == 0)
		return spec + 5;
	if (strncmp(spec, "local:", 6) == 0)
		return spec + 6;
	return spec[0] == '/' ? spec : NULL;
}

/* True when some process accepts connections on the unix socket path. */
static bool unix_socket_live(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd;
	bool live;

	if (strlen(path) >= sizeof(sun.sun_path))
		return false;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0)
		return false;
	live = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	close(fd);
	return live;
}

/* libmilter does not expose its listening socket; find it among our
 * descriptors (the only listening TCP socket right after
 * smfi_opensocket()) and set TCP_NODELAY, which Linux copies to every
 * accepted connection.  Without it, the two or three small replies at end
 * of message wait for the MTA's delayed ACK: about 40 ms per message. */
static void tcp_nodelay_listener(void)
{
	int one = 1;

	for (int fd = 0; fd < 1024; fd++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss), ol = sizeof(int);
		int acc = 0;

		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &ol) < 0 || !acc)
			continue;
		if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0 ||
		    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6))
			continue;
		if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
			op_log_errno(LOG_WARNING, "TCP_NODELAY on the milter socket");
	}
}

/* libmilter's listening socket, found right after smfi_opensocket(), when
 * it is the only listening socket of the process; -1 when unknown. */
static int listen_fd = -1;

/* The write end of the pipe whose read end replaces listen_fd at stop;
 * kept open, so that the read end never reports POLLHUP. */
static int dormant_wr = -1;

static int find_listener(void)
{
	for (int fd = 0; fd < 1024; fd++) {
		int acc = 0;
		socklen_t ol = sizeof(acc);

		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &ol) == 0 && acc)
			return fd;
	}
	return -1;
}

int op_milter_setup(const struct op_config *cfg, char *err, size_t errsize)
{
	const char *path = unix_path(cfg->milter_socket);
	mode_t old;
	int r;

	if (path && unix_socket_live(path)) {
		snprintf(err, errsize, "%s: another process is listening on it",
			 cfg->milter_socket);
		return -1;
	}
	if (smfi_register(milter_desc) == MI_FAILURE ||
	    smfi_setconn(cfg->milter_socket) == MI_FAILURE ||
	    smfi_settimeout((int)(cfg->milter_timeout_ms / 1000)) == MI_FAILURE ||
	    smfi_setbacklog((int)cfg->milter_backlog) == MI_FAILURE) {
		snprintf(err, errsize, "%s: libmilter refused the settings", cfg->milter_socket);
		return -1;
	}
	old = umask(0177); /* the socket is born private; chmod widens it */
	r = smfi_opensocket(true);
	umask(old);
	if (r == MI_FAILURE) {
		snprintf(err, errsize, "%s: cannot open the socket: %s", cfg->milter_socket,
			 strerror(errno));
		return -1;
	}
	if (path == NULL)
		tcp_nodelay_listener();
	listen_fd = find_listener();
	return 0;
}

int op_milter_run(void)
{
	return smfi_main() == MI_SUCCESS ? 0 : -1;
}

void op_milter_stop(void)
{
	smfi_stop();
}

int op_milter_close_listener(void)
{
	int p[2];

	if (listen_fd < 0 || dormant_wr >= 0)
		return 0;
	if (pipe(p) < 0)
		return -1;
	if (dup2(p[0], listen_fd) < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	close(p[0]);
	dormant_wr = p[1];
	return 1;
}

unsigned op_milter_inflight_msgs(void)
{
	return __atomic_load_n(&op_session_msgs_inflight, __ATOMIC_RELAXED);
}

unsigned op_milter_inflight_conns(void)
{
	return __atomic_load_n(&op_session_conns_inflight, __ATOMIC_RELAXED);
}

const char *op_milter_socket_path(const char *spec)
{
	return unix_path(spec);
}

void op_milter_version(char *out, size_t outsize)
{
	unsigned maj = 0, min = 0, pl = 0;

	smfi_version(&maj, &min, &pl);
	snprintf(out, outsize, "%u.%u.%u", maj, min, pl);
}
