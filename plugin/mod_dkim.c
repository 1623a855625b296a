/*
 * mod_dkim.c - the dkim module: sign internal mail with every key of its
 * signing domain (RSA-SHA256 and Ed25519-SHA256 in one pass).
 *
 * Stages: EOH decides whether and with which keys to sign (the From:
 * header is known there) and starts the signer; BODY hashes each chunk as
 * it arrives (the body is never buffered); EOM signs the header list as
 * the MTA will deliver it (other modules' edits included) and inserts the
 * DKIM-Signature fields at the top.  Keys were parsed when the snapshot
 * was built (dkim_index.c), never here.  Every message that is not signed
 * says why in the summary line (dkim=skip reason="...").
 *
 * Limits: OP_DKIM_MAX_SIGS signatures per message.  A line over 998 octets
 * (RFC 5322; dkim.wrap_length) is broken by the MTA's SMTP client after
 * signing, which would make the signature fail at the receiver: per
 * dkim.on_long_lines the message is not signed, refused, or signed as the
 * MTA will send it (dkim_wrap.c, Postfix's rule).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "outpost/addr.h"
#include "outpost/dkim_index.h"
#include "outpost/dkim_keyload.h"
#include "outpost/dns.h"
#include "outpost/dkim_sign.h"
#include "outpost/dkim_wrap.h"
#include "outpost/log.h"
#include "outpost/metrics.h"
#include "outpost/module.h"
#include "outpost/pipeline.h"
#include "outpost/pool.h"

struct dkim_state {
	struct op_dkim_index *idx;
	enum op_dkim_canon hdr_canon, body_canon;
	const char **sign; /* dkim.headers, plus track.header when track is on */
	size_t nsign;
};

/* The names to sign: dkim.headers, and the track module's ID header (its
 * name is configurable) so that it cannot be altered or added in transit. */
static int dkim_sign_names(const struct op_config *cfg, struct dkim_state *st)
{
	bool have = !cfg->track_enabled;

	st->sign = calloc(cfg->dkim_headers.n + 1, sizeof(*st->sign));
	if (st->sign == NULL)
		return -1;
	for (size_t i = 0; i < cfg->dkim_headers.n; i++) {
		st->sign[st->nsign++] = cfg->dkim_headers.v[i];
		have = have || strcasecmp(cfg->dkim_headers.v[i], cfg->track_header) == 0;
	}
	if (!have)
		st->sign[st->nsign++] = cfg->track_header;
	return 0;
}

struct dkim_msg {
	struct op_dkim_signer *signer;
	size_t nkeys;
	struct op_dkim_sign_key keys[OP_DKIM_MAX_SIGS];
	struct op_dkim_sigreq reqs[OP_DKIM_MAX_SIGS]; /* keys[i].domain points into reqs[i] */
	char domain[256];
	size_t line_len; /* octets since the last LF, across chunks */
	bool long_line;
	bool wrap; /* dkim.on_long_lines = wrap: hash lines as the MTA breaks them */
	struct op_dkim_wrap wrapper;
};

static bool mod_dkim_enabled(const struct op_config *cfg)
{
	return cfg->dkim_enabled;
}

/* dkim.check_dns: is the key's public half what DNS serves? */
static bool dkim_key_in_dns(const char *domain, const struct op_dkim_key *k, void *arg)
{
	char name[600], why[256] = "";
	struct op_buf txt;
	const char *err = "";
	bool ok = false;

	(void)arg;
	snprintf(name, sizeof(name), "%s._domainkey.%s", k->selector, domain);
	op_buf_init(&txt, 64 * 1024);
	if (op_dns_txt(name, &txt, &err) == OP_DNS_OK) {
		for (char *rec = txt.data, *nl; rec != NULL && !ok; rec = nl ? nl + 1 : NULL) {
			nl = strchr(rec, '\n');
			ok = op_dkim_txt_check(k->pkey, rec, nl ? (size_t)(nl - rec) : strlen(rec),
					       why, sizeof(why)) == OP_DKIM_TXT_OK;
		}
		err = why;
	}
	op_buf_free(&txt);
	if (!ok)
		op_log_warning("dkim: key %s (%s) not used for %s: %s does not serve it (%s); "
			       "publish the record from `outpostctl keygen`, then reload",
			       k->selector, k->path ? k->path : "?", domain, name, err);
	return ok;
}

static void dkim_log_loaded(const struct op_config *cfg, const struct op_dkim_index *idx)
{
	const struct op_dkim_table_stats *t = op_dkim_index_table_stats(idx);

	op_log_info("dkim: %zu signing domains, %zu keys loaded from %s",
		    op_dkim_index_domains(idx), op_dkim_index_keys(idx), cfg->path);
	if (t == NULL)
		return;
	op_log_info("dkim: OpenDKIM tables: %zu keys (%zu files), %zu exact and %zu wildcard "
		    "signing entries",
		    t->keys, t->key_files, t->exact, t->wildcards);
	if (t->kt_duplicates)
		op_log_warning("dkim: %s: %zu duplicate key names ignored, first at line %u",
			       cfg->dkim_keytable, t->kt_duplicates, t->kt_first_duplicate);
	if (t->st_duplicates)
		op_log_warning("dkim: %s: %zu duplicate patterns ignored, first at line %u",
			       cfg->dkim_signingtable, t->st_duplicates, t->st_first_duplicate);
	if (t->dead)
		op_log_warning(
		    "dkim: %s: %zu patterns can never match (OpenDKIM neither), first at "
		    "line %u",
		    cfg->dkim_signingtable, t->dead, t->first_dead);
}

static int mod_dkim_init(struct op_config *cfg, const void *raw, void **state_r, char *err,
			 size_t errsize)
{
	static const char *const canons[] = {"relaxed/relaxed", "relaxed/simple", "simple/relaxed",
					     "simple/simple"};
	struct dkim_state *st = calloc(1, sizeof(*st));

	*state_r = st;
	if (st == NULL)
		return snprintf(err, errsize, "%s: out of memory", cfg->path), -1;
	op_dkim_canon_parse(canons[cfg->dkim_canon & 3], &st->hdr_canon, &st->body_canon);
	if (cfg->dkim_sign_from == OP_DKIM_FROM_FIXED && cfg->dkim_fixed_domain[0] == '\0')
		return snprintf(err, errsize,
				"%s: dkim.sign_from = \"fixed\" needs dkim.fixed_domain",
				cfg->path),
		       -1;
	if (op_dkim_index_build(cfg, raw, &st->idx, err, errsize) < 0)
		return -1;
	if (cfg->dkim_check_dns)
		op_dkim_index_filter(st->idx, dkim_key_in_dns, NULL);
	if (dkim_sign_names(cfg, st) < 0)
		return snprintf(err, errsize, "%s: out of memory", cfg->path), -1;
	dkim_log_loaded(cfg, st->idx);
	return 0;
}

static void mod_dkim_fini(void *state)
{
	struct dkim_state *st = state;

	if (st == NULL)
		return;
	op_dkim_index_free(&st->idx);
	free(st->sign);
	free(st);
}

static void mod_dkim_msg_free(void *p)
{
	struct dkim_msg *dm = p;

	op_dkim_signer_free(&dm->signer);
}

/* The signing domain of the message per dkim.sign_from, into dm->domain.
 * Returns NULL, or why there is none. */
static const char *dkim_domain(struct op_ctx *ctx, struct dkim_msg *dm, char *addr, size_t asize)
{
	const struct op_config *cfg = ctx->cfg;
	const struct op_msg *m = ctx->msg;
	const struct op_header *from;
	const char *err;
	unsigned nfrom = op_msg_header_count(m, "From");

	addr[0] = '\0';
	/* RFC 5322: exactly one From; DKIM must always sign it. */
	if (nfrom != 1)
		return nfrom == 0 ? "no From header" : "several From headers";
	switch (cfg->dkim_sign_from) {
	case OP_DKIM_FROM_ENVELOPE:
		op_strlcpy(addr, m->mail_from, asize);
		op_strlcpy(dm->domain, m->mail_domain, sizeof(dm->domain));
		return dm->domain[0] ? NULL : "null envelope sender";
	case OP_DKIM_FROM_TENANT:
		if (m->tenant == NULL || m->tenant->domains.n == 0)
			return "no tenant for this message";
		op_strlcpy(dm->domain, m->tenant->domains.v[0], sizeof(dm->domain));
		return NULL;
	case OP_DKIM_FROM_FIXED:
		op_strlcpy(dm->domain, cfg->dkim_fixed_domain, sizeof(dm->domain));
		return NULL;
	default:
		from = op_msg_header(m, "From", 1);
		if (op_addr_header_domain(from->value, addr, asize, dm->domain, sizeof(dm->domain),
					  &err) < 0)
			return err;
		return NULL;
	}
}

/* Look up the signatures to make into dm.  0, or -1 with v set (a
 * SigningTable that names a key the KeyTable lacks: a config error). */
static int dkim_keys(struct op_ctx *ctx, struct dkim_msg *dm, const char *addr,
		     struct op_verdict *v)
{
	const struct dkim_state *st = ctx->state;
	char err[300];
	int n = op_dkim_index_lookup(st->idx, ctx->cfg, dm->domain, addr, dm->reqs,
				     OP_DKIM_MAX_SIGS, err, sizeof(err));

	if (n < 0) {
		op_log_error("%s: dkim: %s", ctx->msg->queue_id, err);
		op_msg_summary(ctx->msg, ctx->modidx, "dkim=error reason=\"%s\"", err);
		op_verdict_error(v, ctx->cfg, OP_ERR_CONFIG, "3.5", "signing configuration error");
		return -1;
	}
	dm->nkeys = (size_t)n;
	for (size_t i = 0; i < dm->nkeys; i++) {
		dm->keys[i].key = dm->reqs[i].key;
		dm->keys[i].domain = dm->reqs[i].domain;
	}
	return 0;
}

/* i= from the SigningTable: only with one signature, and only within d=
 * (OpenDKIM drops it otherwise). */
static const char *dkim_identity(const struct dkim_msg *dm)
{
	const char *at, *d = dm->reqs[0].domain;
	size_t sl, dl = strlen(d);

	if (dm->nkeys != 1 || dm->reqs[0].signer[0] == '\0')
		return NULL;
	at = strrchr(dm->reqs[0].signer, '@');
	if (at == NULL)
		return NULL;
	sl = strlen(at + 1);
	if (strcasecmp(at + 1, d) == 0 ||
	    (sl > dl && at[sl - dl] == '.' && strcasecmp(at + 1 + sl - dl, d) == 0))
		return dm->reqs[0].signer;
	return NULL;
}

/* Start the signer with dm's keys.  0 or -1 with *err_r. */
static int dkim_start(struct op_ctx *ctx, struct dkim_msg *dm, const char **err_r)
{
	const struct op_config *cfg = ctx->cfg;
	const struct dkim_state *st = ctx->state;
	struct op_dkim_sign_params p = {0};

	p.keys = dm->keys;
	p.nkeys = dm->nkeys;
	p.hdr_canon = st->hdr_canon;
	p.body_canon = st->body_canon;
	p.sign_hdrs = st->sign;
	p.nsign_hdrs = st->nsign;
	p.oversign_hdrs = (const char *const *)cfg->dkim_oversign.v;
	p.noversign_hdrs = cfg->dkim_oversign.n;
	p.timestamp = time(NULL);
	p.ttl = (unsigned long)(cfg->dkim_signature_ttl_ms / 1000);
	p.identity = dkim_identity(dm);
	return op_dkim_signer_new(&p, &dm->signer, err_r);
}

/* True when a header we sign has a line over 998 octets: the MTA's SMTP
 * client would fold it after signing (Postfix: "breaking line > 998 bytes
 * with <CR><LF>SPACE"), which breaks the signature. */
static bool dkim_long_header(const struct op_config *cfg, const struct op_msg *m)
{
	for (size_t i = 0; i < m->nhdrs; i++) {
		const struct op_header *h = &m->hdrs[i];
		bool signed_hdr = false;

		for (size_t j = 0; j < cfg->dkim_headers.n && !signed_hdr; j++)
			signed_hdr = strcasecmp(cfg->dkim_headers.v[j], h->name) == 0;
		if (signed_hdr && op_dkim_wrap_header_needed(strlen(h->name), h->value,
							     (size_t)cfg->dkim_wrap_length))
			return true;
	}
	return false;
}

static void mod_dkim_eoh(struct op_ctx *ctx, struct op_verdict *v)
{
	const struct op_config *cfg = ctx->cfg;
	struct op_msg *m = ctx->msg;
	struct dkim_msg *dm;
	char addr[512];
	const char *why, *err;

	if (!op_msg_internal(m) && !cfg->dkim_sign_external) {
		op_msg_summary(m, ctx->modidx, "dkim=skip reason=external");
		return;
	}
	dm = op_pool_alloc(m->pool, sizeof(*dm));
	if (dm == NULL) {
		op_verdict_error(v, cfg, OP_ERR_RESOURCE, "3.0", "out of memory");
		return;
	}
	m->mod_msg[ctx->modidx] = dm;
	why = dkim_domain(ctx, dm, addr, sizeof(addr));
	if (why != NULL) {
		op_msg_summary(m, ctx->modidx, "dkim=skip reason=\"%s\"", why);
		if (cfg->dkim_on_multiple_from == 1 && strstr(why, "From header") != NULL)
			op_verdict_set(v, OP_ACT_REJECT, "550", "5.7.1",
				       "message must have exactly one From header (RFC 5322)");
		return;
	}
	if (dkim_keys(ctx, dm, addr, v) < 0)
		return;
	if (dm->nkeys == 0) {
		op_msg_summary(m, ctx->modidx, "dkim=skip reason=\"no key for %s\"", dm->domain);
		return;
	}
	dm->wrap = cfg->dkim_on_long_lines == 2;
	op_dkim_wrap_init(&dm->wrapper, (size_t)cfg->dkim_wrap_length);
	dm->long_line = !dm->wrap && dkim_long_header(cfg, m);
	if (dkim_start(ctx, dm, &err) < 0) {
		op_log_error("%s: dkim: cannot start signing for %s: %s", m->queue_id, dm->domain,
			     err);
		op_msg_summary(m, ctx->modidx, "dkim=error reason=\"%s\"", err);
		op_verdict_error(v, cfg, OP_ERR_INTERNAL, "3.0", "signing failed");
	}
}

/* How many CRs p[0..n) holds. */
static size_t count_cr(const unsigned char *p, size_t n)
{
	const unsigned char *end = p + n, *cr;
	size_t k = 0;

	while ((cr = memchr(p, '\r', (size_t)(end - p))) != NULL) {
		k++;
		p = cr + 1;
	}
	return k;
}

/* Track line lengths across chunks: octets between LFs, CRs not counted
 * (the 998 of RFC 5322 excludes the CRLF).  No line needs to be measured
 * one by one: every line that ends within the next limit - line_len + 1
 * octets is short enough, so one memrchr() jumps past the last LF of that
 * window; CRs are counted only in a window without LF.  Once a line was
 * too long, nothing is left to learn. */
static void dkim_lines(struct dkim_msg *dm, const unsigned char *p, size_t n, size_t limit)
{
	const unsigned char *end = p + n;

	while (p < end && !dm->long_line) {
		size_t win = limit - dm->line_len + 1, len; /* line_len <= limit */
		const unsigned char *lf;

		if (win > (size_t)(end - p))
			win = (size_t)(end - p);
		lf = memrchr(p, '\n', win);
		if (lf != NULL) {
			dm->line_len = 0;
			p = lf + 1;
			continue;
		}
		len = win - count_cr(p, win);
		dm->line_len += len;
		dm->long_line = dm->line_len > limit;
		p += win;
	}
}

static int dkim_body_sink(void *arg, const void *data, size_t n, const char **err_r)
{
	return op_dkim_signer_body(arg, data, n, err_r);
}

static void mod_dkim_body(struct op_ctx *ctx, struct op_verdict *v)
{
	struct dkim_msg *dm = ctx->msg->mod_msg[ctx->modidx];
	const char *err;
	int r;

	if (dm == NULL || dm->signer == NULL)
		return;
	if (dm->wrap)
		r = op_dkim_wrap_feed(&dm->wrapper, ctx->body, ctx->bodylen, dkim_body_sink,
				      dm->signer, &err);
	else {
		dkim_lines(dm, ctx->body, ctx->bodylen, (size_t)ctx->cfg->dkim_wrap_length);
		r = op_dkim_signer_body(dm->signer, ctx->body, ctx->bodylen, &err);
	}
	if (r < 0) {
		op_log_error("%s: dkim: body hash: %s", ctx->msg->queue_id, err);
		op_dkim_signer_free(&dm->signer);
		op_msg_summary(ctx->msg, ctx->modidx, "dkim=error reason=\"%s\"", err);
		op_verdict_error(v, ctx->cfg, OP_ERR_INTERNAL, "3.0", "signing failed");
	}
}

/* Summary "dkim=sign d=D s=S1,S2 a=A1,A2". */
static void dkim_summary(struct op_msg *m, size_t modidx, const struct dkim_msg *dm)
{
	char sels[160] = "", algs[80] = "";
	size_t so = 0, ao = 0;

	for (size_t i = 0; i < dm->nkeys; i++) {
		int a = snprintf(sels + so, sizeof(sels) - so, "%s%s", i ? "," : "",
				 dm->keys[i].key->selector);
		int b = snprintf(algs + ao, sizeof(algs) - ao, "%s%s", i ? "," : "",
				 op_dkim_alg_name(dm->keys[i].key->alg));

		so = a > 0 && so + (size_t)a < sizeof(sels) ? so + (size_t)a : so;
		ao = b > 0 && ao + (size_t)b < sizeof(algs) ? ao + (size_t)b : ao;
	}
	op_msg_summary(m, modidx, "dkim=sign d=%s s=%s a=%s", dm->keys[0].domain, sels, algs);
}

/* Header values as the MTA's SMTP client will break them (wrap mode). */
static int dkim_wrap_headers(struct op_ctx *ctx, struct op_header *hdrs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *w =
		    op_dkim_wrap_header(ctx->msg->pool, strlen(hdrs[i].name), hdrs[i].value,
					(size_t)ctx->cfg->dkim_wrap_length);

		if (w == NULL)
			return -1;
		hdrs[i].value = w;
		hdrs[i].value_len = strlen(w);
	}
	return 0;
}

static void mod_dkim_eom(struct op_ctx *ctx, struct op_verdict *v)
{
	struct op_msg *m = ctx->msg;
	struct dkim_msg *dm = m->mod_msg[ctx->modidx];
	struct op_header *hdrs;
	size_t nhdrs;
	const char *err;

	if (dm == NULL || dm->signer == NULL)
		return;
	if (dm->long_line) {
		op_msg_summary(m, ctx->modidx, "dkim=skip reason=\"line over %lld octets\"",
			       ctx->cfg->dkim_wrap_length);
		if (ctx->cfg->dkim_on_long_lines == 1)
			op_verdict_set(v, OP_ACT_REJECT, "550", "5.6.0",
				       "line longer than 998 octets (RFC 5322); fold headers, "
				       "encode the body");
		return;
	}
	hdrs = NULL;
	err = "out of memory";
	if ((dm->wrap && op_dkim_wrap_finish(&dm->wrapper, dkim_body_sink, dm->signer, &err) < 0) ||
	    op_msg_final_headers(m, &hdrs, &nhdrs) < 0 ||
	    (dm->wrap && dkim_wrap_headers(ctx, hdrs, nhdrs) < 0) ||
	    op_dkim_signer_finish(dm->signer, hdrs, nhdrs, &err) < 0) {
		op_log_error("%s: dkim: signing for %s failed: %s", m->queue_id, dm->domain, err);
		op_msg_summary(m, ctx->modidx, "dkim=error reason=\"%s\"", err);
		op_verdict_error(v, ctx->cfg, OP_ERR_INTERNAL, "3.0", "signing failed");
		return;
	}
	for (size_t i = 0; i < dm->nkeys; i++) {
		const char *val = op_dkim_signer_value(dm->signer, i);

		/* The edit carries no leading space: the milter layer adds it. */
		if (op_msg_edit(m, OP_EDIT_INSERT, "DKIM-Signature", val + (val[0] == ' '),
				(unsigned)i, "dkim", &err) < 0) {
			op_log_error("%s: dkim: %s", m->queue_id, err);
			op_verdict_error(v, ctx->cfg, OP_ERR_INTERNAL, "3.0", "signing failed");
			return;
		}
	}
	for (size_t i = 0; i < dm->nkeys; i++)
		op_metrics_dkim_signature(op_dkim_alg_name(dm->keys[i].key->alg));
	dkim_summary(m, ctx->modidx, dm);
}

const struct op_dkim_index *op_mod_dkim_index(const struct op_config *cfg)
{
	int i = op_pipeline_index("dkim");
	const struct dkim_state *st;

	if (i < 0 || !cfg->mod_enabled[i])
		return NULL;
	st = cfg->mod_state[i];
	return st ? st->idx : NULL;
}

const struct op_module mod_dkim = {
    .name = "dkim",
    .enabled = mod_dkim_enabled,
    .init = mod_dkim_init,
    .fini = mod_dkim_fini,
    .msg_free = mod_dkim_msg_free,
    .reply_stages = OP_STAGE_BIT(OP_STAGE_EOM),
    .hook =
	{
	    [OP_STAGE_EOH] = mod_dkim_eoh,
	    [OP_STAGE_BODY] = mod_dkim_body,
	    [OP_STAGE_EOM] = mod_dkim_eom,
	},
};
