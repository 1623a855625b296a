/*
 * milter.c - the milter callbacks: the only file that turns protocol
 * events into pipeline stages (the protocol engine, milter_engine.c, and
 * the socket, milter_listen.c, know nothing of modules).
 *
 * Negotiation asks the MTA only for the protocol steps some enabled module
 * listens to, with no-reply flags where nobody can object, so a message
 * costs as few round trips as possible.  Callbacks copy what the engine hands
 * them into the connection or message pool, run the pipeline, and turn the
 * verdict into a status (libmilter's SMFIS_*) and reply here, in one place
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

#include <libmilter/mfapi.h> /* constants only: see milter_engine.h */

#include "milter_engine.h"
#include "milter_int.h"
#include "outpost/buf.h"
#include "outpost/log.h"
#include "outpost/pipeline.h"
#include "outpost/pool.h"

/* Refused recipients logged one by one per message; the rest are counted. */
#define RCPT_REFUSALS_LOGGED 10

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

static struct op_conn *conn_of(struct op_mctx *ctx)
{
	return op_mctx_getpriv(ctx);
}

/* A message stage arrived with no open message.  Normal when the MTA was
 * told to skip MAIL (no module needs the message); otherwise an internal
 * error, answered per actions.on_internal_error. */
static int no_message(struct op_mctx *ctx, const struct op_conn *c, unsigned long nr)
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
	op_mctx_setreply(ctx, v.rcode, v.xcode, v.text);
	return v.action == OP_ACT_REJECT ? SMFIS_REJECT : SMFIS_TEMPFAIL;
}

/* The one mapping from a verdict to libmilter.  stage decides whether the
 * MTA waits for an answer (no-reply stages return SMFIS_NOREPLY). */
static int milter_status(struct op_mctx *ctx, const struct op_conn *c, enum op_stage stage,
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
		if (v->rcode[0] && op_mctx_setreply(ctx, v->rcode, v->xcode, v->text) < 0)
			op_log_warning("the reply was refused as malformed: \"%s %s %s\"", v->rcode,
				       v->xcode, v->text);
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
		 * (the message, its limits), RCPT (limits.max_recipients, the
		 * recipients of the event), and headers whenever a module reads
		 * them at EOH or EOM. */
		listen |= OP_STAGE_BIT(OP_STAGE_CONNECT) | OP_STAGE_BIT(OP_STAGE_MAIL) |
			  OP_STAGE_BIT(OP_STAGE_RCPT);
		if (listen & (OP_STAGE_BIT(OP_STAGE_EOH) | OP_STAGE_BIT(OP_STAGE_EOM)))
			listen |= OP_STAGE_BIT(OP_STAGE_HEADER);
		reply |= OP_STAGE_BIT(OP_STAGE_MAIL) | OP_STAGE_BIT(OP_STAGE_RCPT);
		/* Like Postfix's smtpd_delay_reject: a verdict reached at MAIL
		 * FROM is given at RCPT TO (cb_envrcpt), one round trip less. */
		if (cfg->milter_mail_verdicts_at_rcpt)
			reply &= ~OP_STAGE_BIT(OP_STAGE_MAIL);
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

static int cb_negotiate(struct op_mctx *ctx, uint32_t f0, uint32_t f1, uint32_t *pf0, uint32_t *pf1)
{
	struct op_conn *c = op_session_conn_new();

	if (c == NULL) {
		op_log_error("out of memory at connection start");
		return SMFIS_TEMPFAIL;
	}
	op_mctx_setpriv(ctx, c);
	{
		uint32_t agreed;

		/* A new session on the same socket (SMFIC_QUIT_NC) keeps the
		 * steps agreed with the MTA, even after a reload. */
		c->steps = op_mctx_agreed(ctx, &agreed) ? agreed : milter_steps(c->cfg, f1);
	}
	*pf0 = (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE | SMFIF_SETSYMLIST) & f0;
	*pf1 = (uint32_t)c->steps;
	if (*pf0 & SMFIF_SETSYMLIST) {
		op_mctx_setsymlist(ctx, SMFIM_CONNECT,
				   "j {client_addr} {client_name} {daemon_name}");
		op_mctx_setsymlist(ctx, SMFIM_ENVFROM, "i {auth_authen} {auth_type} {mail_addr}");
		op_mctx_setsymlist(ctx, SMFIM_ENVRCPT, "i {rcpt_addr}");
		op_mctx_setsymlist(ctx, SMFIM_EOH, "i");
		op_mctx_setsymlist(ctx, SMFIM_EOM, "i");
	}
	op_log_debug("conn %lu: negotiated actions=0x%x steps=0x%x (MTA offered 0x%x/0x%x)", c->id,
		     *pf0, *pf1, f0, f1);
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
static bool copy_macro(struct op_mctx *ctx, struct op_pool *pool, const struct op_config *cfg,
		       const char *qid, const char *name, char **dst)
{
	char *v = op_session_macro(pool, cfg, op_mctx_macro(ctx, name));

	if (v == NULL) {
		op_log_notice("%s: limit: macro %s longer than limits.max_macro_length", qid, name);
		return false;
	}
	*dst = v;
	return true;
}

static int cb_connect(struct op_mctx *ctx, const char *hostname)
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

static int cb_helo(struct op_mctx *ctx, const char *helo)
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
static bool mail_fill(struct op_mctx *ctx, struct op_msg *m, char **argv, struct op_verdict *v)
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
static int finish(struct op_mctx *ctx, struct op_conn *c, enum op_stage stage,
		  const struct op_verdict *v, const char *how)
{
	int r = milter_status(ctx, c, stage, v);

	if (c->msg != NULL) {
		c->msg->final = *v;
		op_session_msg_end(c, how);
	}
	return r;
}

/* A final verdict v at MAIL FROM: the answer, and the end of the message,
 * now; or, when the MTA waits for no reply at MAIL (mail_verdicts_at_rcpt),
 * kept for the recipients (cb_envrcpt gives it to each) and for the
 * summary, which says end=mail whenever the message ends. */
static int mail_final(struct op_mctx *ctx, struct op_conn *c, const struct op_verdict *v)
{
	struct op_msg *m = c->msg;

	if (!(c->steps & SMFIP_NR_MAIL) || m == NULL)
		return finish(ctx, c, OP_STAGE_MAIL, v, "mail");
	m->final = *v;
	m->pending = *v;
	m->mail_decided = true;
	return SMFIS_NOREPLY;
}

/* The verdict of MAIL FROM, at a recipient (see mail_final): accept and
 * discard end the message here; a refusal refuses this recipient, and the
 * MTA ends the transaction once none is left. */
static int rcpt_of_decided(struct op_mctx *ctx, struct op_conn *c)
{
	struct op_verdict v = c->msg->final;

	if (v.action == OP_ACT_ACCEPT || v.action == OP_ACT_DISCARD)
		return finish(ctx, c, OP_STAGE_RCPT, &v, "mail");
	return milter_status(ctx, c, OP_STAGE_RCPT, &v);
}

static int cb_envfrom(struct op_mctx *ctx, char **argv)
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
		return mail_final(ctx, c, &c->pending);
	}
	if (!mail_fill(ctx, m, argv, &v))
		return mail_final(ctx, c, &v);
	oc.conn = c;
	oc.msg = m;
	op_pipeline_run(OP_STAGE_MAIL, &oc, &v);
	if (v.action >= OP_ACT_ACCEPT)
		return mail_final(ctx, c, &v);
	return milter_status(ctx, c, OP_STAGE_MAIL, &v);
}

static int cb_envrcpt(struct op_mctx *ctx, char **argv)
{
	struct op_conn *c = conn_of(ctx);
	struct op_ctx oc = {0};
	struct op_verdict v;
	char *dom;

	if (c == NULL || c->msg == NULL)
		return no_message(ctx, c, SMFIP_NR_RCPT);
	if (c->msg->mail_decided)
		return rcpt_of_decided(ctx, c);
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
	/* One line for each of the first refused recipients of a message;
	 * the others are only counted (the summary line says how many). */
	if (v.action != OP_ACT_CONTINUE && c->msg->rcpts_refused++ < RCPT_REFUSALS_LOGGED) {
		char esc[300];

		op_log_info("%s: rcpt=<%s> %s: %s%s", c->msg->queue_id,
			    op_log_esc(esc, sizeof(esc), oc.rcpt ? oc.rcpt : ""),
			    op_action_name(v.action), v.reason,
			    c->msg->rcpts_refused == RCPT_REFUSALS_LOGGED
				? " (further refused recipients of this message are counted, "
				  "not logged)"
				: "");
	}
	/* A refused recipient does not end the transaction. */
	return milter_status(ctx, c, OP_STAGE_RCPT, &v);
}

static int cb_header(struct op_mctx *ctx, const char *name, const char *value)
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
static void refresh_qid(struct op_mctx *ctx, struct op_msg *m)
{
	const char *i = op_mctx_macro(ctx, "i");

	if (i != NULL && i[0] && strcmp(m->queue_id, "NOQUEUE") == 0)
		set_qid(m, i);
}

static int cb_eoh(struct op_mctx *ctx)
{
	struct op_conn *c = conn_of(ctx);
	struct op_ctx oc = {0};
	struct op_verdict v;

	if (c == NULL || c->msg == NULL)
		return no_message(ctx, c, SMFIP_NR_EOH);
	refresh_qid(ctx, c->msg);
	/* Modules start their per-message work at EOH, once: an MTA that
	 * sends a second end of headers in one message gets it ignored. */
	if (c->msg->pending.action == OP_ACT_CONTINUE && !c->msg->eoh_done) {
		c->msg->eoh_done = true;
		oc.conn = c;
		oc.msg = c->msg;
		op_pipeline_run(OP_STAGE_EOH, &oc, &v);
		op_verdict_merge(&c->msg->pending, &v);
	}
	if (!(c->steps & SMFIP_NR_EOH) && c->msg->pending.action >= OP_ACT_ACCEPT)
		return finish(ctx, c, OP_STAGE_EOH, &c->msg->pending, "eoh");
	return milter_status(ctx, c, OP_STAGE_EOH, &c->msg->pending);
}

static int cb_body(struct op_mctx *ctx, const unsigned char *chunk, size_t len)
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
static int milter_apply_edits(struct op_mctx *ctx, struct op_conn *c, struct op_msg *m,
			      const char **err_r)
{
	struct op_buf b;
	int r = 0;

	op_buf_init(&b, 1 << 20);
	for (size_t i = 0; i < m->nedits && r == 0; i++) {
		const struct op_edit *e = &m->edits[i];
		if (e->kind != OP_EDIT_DELETE && wire_value(c, e->value, &b) < 0) {
			*err_r = "header value too large";
			r = -1;
			break;
		}
		switch (e->kind) {
		case OP_EDIT_ADD:
			r = op_mctx_addheader(ctx, e->name, op_buf_str(&b));
			break;
		case OP_EDIT_INSERT:
			r = op_mctx_insheader(ctx, (int)e->index, e->name, op_buf_str(&b));
			break;
		case OP_EDIT_CHANGE:
			r = op_mctx_chgheader(ctx, e->name, (int)e->index, op_buf_str(&b));
			break;
		case OP_EDIT_DELETE:
			r = op_mctx_chgheader(ctx, e->name, (int)e->index, NULL);
			break;
		}
		if (r < 0)
			*err_r = "the MTA refused a header change";
	}
	op_buf_free(&b);
	return r;
}

static int cb_eom(struct op_mctx *ctx)
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
		if (op_mctx_quarantine(ctx, m->hold_reason) < 0) {
			op_verdict_error(&v, m->cfg, OP_ERR_INTERNAL, "3.0",
					 "the MTA refused to hold the message");
			return finish(ctx, c, OP_STAGE_EOM, &v, "eom");
		}
		v.action = OP_ACT_HOLD;
	}
	return finish(ctx, c, OP_STAGE_EOM, &v, "eom");
}

static int cb_abort(struct op_mctx *ctx)
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

static int cb_close(struct op_mctx *ctx)
{
	struct op_conn *c = conn_of(ctx);
	struct op_ctx oc = {0};
	struct op_verdict v;

	if (c == NULL)
		return SMFIS_CONTINUE;
	op_session_msg_end(c, "close");
	oc.conn = c;
	op_pipeline_run(OP_STAGE_CLOSE, &oc, &v);
	op_mctx_setpriv(ctx, NULL);
	op_session_conn_free(&c);
	return SMFIS_CONTINUE;
}

static const struct op_mcallbacks milter_callbacks = {
    .negotiate = cb_negotiate,
    .connect = cb_connect,
    .helo = cb_helo,
    .envfrom = cb_envfrom,
    .envrcpt = cb_envrcpt,
    .header = cb_header,
    .eoh = cb_eoh,
    .body = cb_body,
    .eom = cb_eom,
    .abort = cb_abort,
    .close = cb_close,
};

const struct op_mcallbacks *op_milter_callbacks(void)
{
	return &milter_callbacks;
}
