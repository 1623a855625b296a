/*
 * mod_track.c - the track module: a tracking ID for every message, and for
 * internal mail the headers a bulk sender needs (Feedback-ID, one-click
 * unsubscribe, RFC 8058), all decided by end of headers so that dkim (after
 * track in the pipeline) signs them.
 *
 * Stages: MAIL gives the message its tracking ID (a UUIDv7, so even a
 * message refused at RCPT can be traced); HELO and RCPT listen only so
 * that the milter layer records the HELO name (for the event) and the
 * recipients (the unsubscribe token names the recipient of a one-recipient
 * message); EOH reads the customer's campaign
 * and tag headers, queues the removal of every client copy of our own
 * headers (track.header, track.campaign_header, track.tag_header), then
 * adds the tracking ID header, Feedback-ID and, for bulk mail,
 * List-Unsubscribe and List-Unsubscribe-Post.  Each message's result goes
 * to its summary line and its event (outpost/event.h).
 *
 * Per-tenant settings live in the tenant's `track` group (feedback_id,
 * sender_id, bulk, bulk_lists, unsubscribe_url, unsubscribe_mailto),
 * parsed here at snapshot build; the global track.* keys are the
 * defaults.  Limits: track.max_tags tags of track.max_tag_length octets;
 * a List-Unsubscribe line that would pass 998 octets (RFC 5322) drops the
 * recipient from its token, and is left out if still too long.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <libconfig.h>

#include "outpost/buf.h"
#include "outpost/event.h"
#include "outpost/log.h"
#include "outpost/module.h"
#include "outpost/pool.h"
#include "outpost/track.h"
#include "outpost/unsub.h"

#define TRACK_LINE_MAX	998
#define TRACK_ADDED_MAX 4

struct track_tenant {
	char *feedback_id;  /* NULL: track.feedback_id */
	char *sender_id;    /* NULL: track.sender_id */
	char *unsub_url;    /* NULL: track.unsubscribe_url */
	char *unsub_mailto; /* NULL: track.unsubscribe_mailto */
	bool bulk;
	char **bulk_lists; /* list ids whose mail is bulk */
	size_t nbulk_lists;
};

struct track_state {
	struct track_tenant *tenants; /* by tenant index */
	size_t ntenants;
};

/* What EOH decided, for the summary and the event. */
struct track_msg {
	const char *added[TRACK_ADDED_MAX];
	size_t nadded;
	unsigned removed;
	char campaign[257];
	char list[256];
	char feedback_id[OP_TRACK_FBID_MAX];
	bool bulk;
	const char *unsub; /* "recipient", "list", "sender", "failed", or NULL */
};

static bool mod_track_enabled(const struct op_config *cfg)
{
	return cfg->track_enabled;
}

/* ---- configuration ------------------------------------------------------ */

static int set_err(char *err, size_t errsize, const config_setting_t *s, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int set_err(char *err, size_t errsize, const config_setting_t *s, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(err, errsize, "%s:%d: ",
			 s && config_setting_source_file(s) ? config_setting_source_file(s) : "?",
			 s ? config_setting_source_line(s) : 0);

	if (n > 0 && (size_t)n < errsize) {
		va_start(ap, fmt);
		vsnprintf(err + n, errsize - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* NULL when url is an https URL with one {token} and nothing that would
 * break the <...> of List-Unsubscribe, else why not. */
static const char *url_check(const char *url)
{
	const char *t = strstr(url, "{token}");

	if (strncmp(url, "https://", 8) != 0)
		return "must start with https:// (RFC 8058)";
	if (t == NULL || strstr(t + 1, "{token}") != NULL)
		return "must hold {token} exactly once";
	for (const char *p = url; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || strchr("<>\",", *p))
			return "holds a space, a control character, or one of < > \" ,";
	return NULL;
}

static const char *mailto_check(const char *a)
{
	const char *at = strchr(a, '@');

	if (at == NULL || at == a || at[1] == '\0' || strchr(at + 1, '@'))
		return "must be an address local@domain";
	for (const char *p = a; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f ||
		    strchr("<>\",?&%", *p))
			return "holds a space or one of < > \" , ? & %";
	return NULL;
}

/* Read string member name of group g into *dst (strdup), checked by
 * check when given. */
static int tenant_str(const config_setting_t *g, const char *name, char **dst,
		      const char *(*check)(const char *), char *err, size_t errsize)
{
	const config_setting_t *s = config_setting_get_member(g, name);
	const char *v, *why;

	if (s == NULL)
		return 0;
	if ((v = config_setting_get_string(s)) == NULL)
		return set_err(err, errsize, s, "tenant track.%s must be a string", name);
	if (check && v[0] && (why = check(v)) != NULL)
		return set_err(err, errsize, s, "tenant track.%s \"%s\": %s", name, v, why);
	if ((*dst = strdup(v)) == NULL)
		return set_err(err, errsize, s, "out of memory");
	return 0;
}

static int tenant_lists(const config_setting_t *g, struct track_tenant *tt, char *err,
			size_t errsize)
{
	const config_setting_t *a = config_setting_get_member(g, "bulk_lists");
	int n;

	if (a == NULL)
		return 0;
	if (!config_setting_is_array(a) && !config_setting_is_list(a))
		return set_err(err, errsize, a,
			       "tenant track.bulk_lists must be a list of strings");
	n = config_setting_length(a);
	if ((tt->bulk_lists = calloc((size_t)n + 1, sizeof(char *))) == NULL)
		return set_err(err, errsize, a, "out of memory");
	for (int i = 0; i < n; i++) {
		const char *e = config_setting_get_string_elem(a, i);
		char clean[256];

		if (e == NULL || e[0] == '\0')
			return set_err(err, errsize, a,
				       "tenant track.bulk_lists: empty or non-string");
		op_track_list_id(e, strlen(e), clean, sizeof(clean));
		if ((tt->bulk_lists[tt->nbulk_lists++] = strdup(clean)) == NULL)
			return set_err(err, errsize, a, "out of memory");
	}
	return 0;
}

static const char *const tenant_track_keys[] = {
    "feedback_id", "sender_id", "bulk", "bulk_lists", "unsubscribe_url", "unsubscribe_mailto", NULL,
};

static int tenant_one(const struct op_config *cfg, const config_setting_t *g,
		      struct track_tenant *tt, const char *tname, char *err, size_t errsize)
{
	const config_setting_t *b;

	if (!config_setting_is_group(g))
		return set_err(err, errsize, g, "tenant track must be a group { ... }");
	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *e = config_setting_get_elem(g, (unsigned)i);
		size_t k = 0;

		while (tenant_track_keys[k] && strcmp(tenant_track_keys[k], config_setting_name(e)))
			k++;
		if (tenant_track_keys[k] == NULL)
			return set_err(err, errsize, e, "unknown tenant track key '%s'",
				       config_setting_name(e));
	}
	if (tenant_str(g, "feedback_id", &tt->feedback_id, op_track_template_check, err, errsize) <
		0 ||
	    tenant_str(g, "sender_id", &tt->sender_id, op_track_sender_id_check, err, errsize) <
		0 ||
	    tenant_str(g, "unsubscribe_url", &tt->unsub_url, url_check, err, errsize) < 0 ||
	    tenant_str(g, "unsubscribe_mailto", &tt->unsub_mailto, mailto_check, err, errsize) <
		0 ||
	    tenant_lists(g, tt, err, errsize) < 0)
		return -1;
	if ((b = config_setting_get_member(g, "bulk")) != NULL) {
		if (config_setting_type(b) != CONFIG_TYPE_BOOL)
			return set_err(err, errsize, b, "tenant track.bulk must be true or false");
		tt->bulk = config_setting_get_bool(b);
	}
	if ((tt->bulk || tt->nbulk_lists) &&
	    (!(tt->unsub_url ? tt->unsub_url : cfg->track_unsubscribe_url)[0] ||
	     cfg->track_unsubscribe_secrets.n == 0))
		return set_err(err, errsize, g,
			       "tenant %s sends bulk mail: set track.unsubscribe_url (or the "
			       "tenant's) and track.unsubscribe_secrets",
			       tname);
	return 0;
}

/* The global keys: header names, template, SenderId, URLs, secrets. */
static int track_check_globals(const struct op_config *cfg, char *err, size_t errsize)
{
	const char *names[] = {cfg->track_header, cfg->track_campaign_header,
			       cfg->track_tag_header};
	const char *why = NULL, *key = NULL;

	for (size_t i = 0; i < 3 && key == NULL; i++)
		if ((i == 0 || names[i][0]) && !op_field_name_valid(names[i], strlen(names[i])))
			key = i == 0   ? "track.header"
			      : i == 1 ? "track.campaign_header"
				       : "track.tag_header",
			why = "is not a header field name";
	if (key == NULL && (why = op_track_template_check(cfg->track_feedback_id)) != NULL)
		key = "track.feedback_id";
	if (key == NULL && cfg->track_sender_id[0] &&
	    (why = op_track_sender_id_check(cfg->track_sender_id)) != NULL)
		key = "track.sender_id";
	if (key == NULL && cfg->track_unsubscribe_url[0] &&
	    (why = url_check(cfg->track_unsubscribe_url)) != NULL)
		key = "track.unsubscribe_url";
	if (key == NULL && cfg->track_unsubscribe_mailto[0] &&
	    (why = mailto_check(cfg->track_unsubscribe_mailto)) != NULL)
		key = "track.unsubscribe_mailto";
	for (size_t i = 0; key == NULL && i < cfg->track_unsubscribe_secrets.n; i++)
		if (strlen(cfg->track_unsubscribe_secrets.v[i]) < OP_UNSUB_SECRET_MIN)
			key = "track.unsubscribe_secrets",
			why = "a secret is shorter than 16 octets";
	if (key == NULL)
		return 0;
	snprintf(err, errsize, "%s: %s %s", cfg->path, key, why);
	return -1;
}

static void mod_track_fini(void *state)
{
	struct track_state *st = state;

	if (st == NULL)
		return;
	for (size_t i = 0; i < st->ntenants; i++) {
		struct track_tenant *t = &st->tenants[i];

		free(t->feedback_id);
		free(t->sender_id);
		free(t->unsub_url);
		free(t->unsub_mailto);
		for (size_t j = 0; j < t->nbulk_lists; j++)
			free(t->bulk_lists[j]);
		free(t->bulk_lists);
	}
	free(st->tenants);
	free(st);
}

static int mod_track_init(struct op_config *cfg, const void *raw, void **state_r, char *err,
			  size_t errsize)
{
	const config_setting_t *tenants = raw ? config_lookup(raw, "tenants") : NULL;
	struct track_state *st = calloc(1, sizeof(*st));

	*state_r = st;
	if (st == NULL || (st->tenants = calloc(cfg->ntenants + 1, sizeof(*st->tenants))) == NULL)
		return snprintf(err, errsize, "%s: out of memory", cfg->path), -1;
	st->ntenants = cfg->ntenants;
	if (track_check_globals(cfg, err, errsize) < 0)
		return -1;
	for (size_t i = 0; tenants && i < cfg->ntenants; i++) {
		const config_setting_t *t = config_setting_get_elem(tenants, (unsigned)i);
		const config_setting_t *g = t ? config_setting_get_member(t, "track") : NULL;

		if (g &&
		    tenant_one(cfg, g, &st->tenants[i], cfg->tenants[i].name, err, errsize) < 0)
			return -1;
	}
	return 0;
}

/* ---- per message -------------------------------------------------------- */

static void mod_track_mail(struct op_ctx *ctx, struct op_verdict *v)
{
	struct op_msg *m = ctx->msg;
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	if (op_track_uuid7(&now, m->tracking_id) < 0) {
		op_log_error("%s: track: the random generator failed", m->queue_id);
		op_verdict_error(v, ctx->cfg, OP_ERR_INTERNAL, "3.0", "internal error");
	}
}

/* Listening at HELO (no reply asked) and RCPT makes the milter layer keep
 * the HELO name and msg->rcpts, for the token and the event. */
static void mod_track_listen(struct op_ctx *ctx, struct op_verdict *v)
{
	(void)ctx;
	(void)v;
}

/* Queue the deletion of every received header called name, last first
 * so the earlier indexes stay valid.  Returns how many, or -1. */
static int strip(struct op_msg *m, const char *name, const char **err_r)
{
	unsigned n = name[0] ? op_msg_header_count(m, name) : 0;

	for (unsigned i = n; i >= 1; i--)
		if (op_msg_edit(m, OP_EDIT_DELETE, name, NULL, i, "track", err_r) < 0)
			return -1;
	return (int)n;
}

/* Campaign and tags from the customer's headers, before they go. */
static int read_inputs(struct op_ctx *ctx, struct track_msg *tm)
{
	const struct op_config *cfg = ctx->cfg;
	struct op_msg *m = ctx->msg;
	const struct op_header *h;
	size_t max = (size_t)cfg->track_max_tags, len = (size_t)cfg->track_max_tag_length;
	unsigned n = cfg->track_tag_header[0] ? op_msg_header_count(m, cfg->track_tag_header) : 0;

	if (cfg->track_campaign_header[0] && (h = op_msg_header(m, cfg->track_campaign_header, 1)))
		op_track_clean_id(h->value, h->value_len, len, tm->campaign, sizeof(tm->campaign));
	if (n == 0 || max == 0)
		return 0;
	if ((m->tags = op_pool_alloc(m->pool, max * sizeof(char *))) == NULL)
		return -1;
	for (unsigned i = 1; i <= n; i++) {
		h = op_msg_header(m, cfg->track_tag_header, i);
		for (const char *p = h->value, *end = h->value + h->value_len; p < end;) {
			const char *c = memchr(p, ',', (size_t)(end - p));
			size_t tl = c ? (size_t)(c - p) : (size_t)(end - p);
			char tag[257];

			op_track_clean_tag(p, tl, len, tag, sizeof(tag));
			p += tl + 1;
			if (tag[0] == '\0' || m->ntags == max)
				continue;
			if ((m->tags[m->ntags] = op_pool_strdup(m->pool, tag)) == NULL)
				return -1;
			m->ntags++;
		}
	}
	return 0;
}

static int add_header(struct op_msg *m, struct track_msg *tm, const char *name, const char *value,
		      const char **err_r)
{
	if (op_msg_edit(m, OP_EDIT_ADD, name, value, 0, "track", err_r) < 0)
		return -1;
	if (tm->nadded < TRACK_ADDED_MAX)
		tm->added[tm->nadded++] = name;
	return 0;
}

static const struct track_tenant *tenant_of(const struct op_ctx *ctx)
{
	const struct track_state *st = ctx->state;
	const struct op_tenant *t = ctx->msg->tenant;

	return t && t->index < st->ntenants ? &st->tenants[t->index] : NULL;
}

/* Is this message bulk: the tenant says so, or its List-Id is listed. */
static bool is_bulk(const struct op_msg *m, const struct track_tenant *tt, struct track_msg *tm)
{
	const struct op_header *h = op_msg_header(m, "List-Id", 1);

	if (h)
		op_track_list_id(h->value, h->value_len, tm->list, sizeof(tm->list));
	if (tt == NULL)
		return false;
	for (size_t i = 0; i < tt->nbulk_lists && tm->list[0]; i++)
		if (strcasecmp(tt->bulk_lists[i], tm->list) == 0)
			return true;
	return tt->bulk;
}

static int add_feedback_id(struct op_ctx *ctx, const struct track_tenant *tt, struct track_msg *tm,
			   const char **err_r)
{
	const struct op_config *cfg = ctx->cfg;
	struct op_msg *m = ctx->msg;
	const char *sid = tt && tt->sender_id ? tt->sender_id : cfg->track_sender_id;
	const char *tmpl = tt && tt->feedback_id ? tt->feedback_id : cfg->track_feedback_id;
	struct op_track_fields f = {tm->campaign, m->tenant ? m->tenant->name : NULL,
				    tm->bulk ? "bulk" : "transactional", tm->list};
	int r;

	if (sid[0] == '\0')
		return 0;
	if (op_track_feedback_id(tmpl, &f, sid, tm->feedback_id, sizeof(tm->feedback_id)) < 0) {
		*err_r = "Feedback-ID too long";
		return -1;
	}
	/* One Feedback-ID per message: ours replaces the client's. */
	if ((r = strip(m, "Feedback-ID", err_r)) < 0)
		return -1;
	tm->removed += (unsigned)r;
	return add_header(m, tm, "Feedback-ID", tm->feedback_id, err_r);
}

/* True when every line of the header "name: value" fits in 998 octets. */
static bool lines_fit(const char *name, const char *value)
{
	size_t line = strlen(name) + 2;

	for (const char *p = value; *p; p++) {
		if (*p == '\n')
			line = 0;
		else if (*p != '\r' && ++line > TRACK_LINE_MAX)
			return false;
	}
	return true;
}

/* The List-Unsubscribe value for the token made from u.  0, or -1 with
 * *err_r (the header would have a line over 998 octets, or the token could
 * not be made). */
static int unsub_value(const struct op_config *cfg, const struct track_tenant *tt,
		       const struct op_unsub *u, struct op_buf *b, const char **err_r)
{
	const char *url = tt && tt->unsub_url ? tt->unsub_url : cfg->track_unsubscribe_url;
	const char *mailto =
	    tt && tt->unsub_mailto ? tt->unsub_mailto : cfg->track_unsubscribe_mailto;
	const char *secret = cfg->track_unsubscribe_secrets.v[0];
	const char *at = strstr(url, "{token}");
	char token[OP_UNSUB_TOKEN_MAX];

	if (op_unsub_encode(u, secret, strlen(secret), token, sizeof(token), err_r) < 0)
		return -1;
	op_buf_reset(b);
	*err_r = "List-Unsubscribe would have a line over 998 octets";
	if (op_buf_printf(b, "<%.*s%s%s>", (int)(at - url), url, token, at + 7) < 0 ||
	    (mailto[0] &&
	     op_buf_printf(b, ",\r\n\t<mailto:%s?subject=unsubscribe%%20%s>", mailto, token) < 0))
		return -1;
	return lines_fit("List-Unsubscribe", op_buf_str(b)) ? 0 : -1;
}

static int add_unsubscribe(struct op_ctx *ctx, const struct track_tenant *tt, struct track_msg *tm,
			   const char **err_r)
{
	const struct op_config *cfg = ctx->cfg;
	struct op_msg *m = ctx->msg;
	struct op_unsub u = {0};
	struct op_buf b;
	int r, r2;

	if (op_msg_header_count(m, "List-Unsubscribe") > 0 &&
	    !cfg->track_replace_list_unsubscribe) {
		tm->unsub = "sender";
		return 0;
	}
	u.expires = (uint64_t)time(NULL) + (uint64_t)(cfg->track_unsubscribe_ttl_ms / 1000);
	op_strlcpy(u.tenant, m->tenant ? m->tenant->name : "", sizeof(u.tenant));
	op_strlcpy(u.list, tm->list, sizeof(u.list));
	/* Several recipients share one header: the token names none. */
	if (m->nrcpts == 1 && strlen(m->rcpts[0]) <= OP_UNSUB_FIELD_MAX)
		op_strlcpy(u.rcpt, m->rcpts[0], sizeof(u.rcpt));
	op_buf_init(&b, 4 * TRACK_LINE_MAX);
	tm->unsub = u.rcpt[0] ? "recipient" : "list";
	r = unsub_value(cfg, tt, &u, &b, err_r);
	if (r < 0 && u.rcpt[0]) {
		u.rcpt[0] = '\0';
		tm->unsub = "list";
		r = unsub_value(cfg, tt, &u, &b, err_r);
	}
	if (r < 0) {
		op_log_warning("%s: track: no List-Unsubscribe: %s", m->queue_id, *err_r);
		tm->unsub = "failed";
		op_buf_free(&b);
		return 0;
	}
	r = strip(m, "List-Unsubscribe", err_r);
	r2 = r < 0 ? -1 : strip(m, "List-Unsubscribe-Post", err_r);
	if (r < 0 || r2 < 0 || add_header(m, tm, "List-Unsubscribe", op_buf_str(&b), err_r) < 0 ||
	    add_header(m, tm, "List-Unsubscribe-Post", "List-Unsubscribe=One-Click", err_r) < 0) {
		op_buf_free(&b);
		return -1;
	}
	tm->removed += (unsigned)(r + r2);
	op_buf_free(&b);
	return 0;
}

/* Summary line and event members. */
static void track_report(struct op_ctx *ctx, const struct track_msg *tm, bool added)
{
	struct op_msg *m = ctx->msg;
	size_t i = ctx->modidx;
	char list[80] = "";

	for (size_t k = 0, o = 0; k < tm->nadded; k++) {
		int w = snprintf(list + o, sizeof(list) - o, "%s%s", k ? "," : "", tm->added[k]);

		o = w > 0 && o + (size_t)w < sizeof(list) ? o + (size_t)w : o;
	}
	op_msg_summary(m, i, "track=%s id=%s added=%s removed=%u tags=%zu%s%s",
		       added ? "add" : "skip", m->tracking_id, tm->nadded ? list : "none",
		       tm->removed, m->ntags, tm->unsub ? " unsub=" : "",
		       tm->unsub ? tm->unsub : "");
	if (op_event_add_str(m, i, "result", added ? "add" : "skip") < 0 ||
	    op_event_add_str(m, i, "id", m->tracking_id) < 0 ||
	    op_event_add_strs(m, i, "added", tm->added, tm->nadded) < 0 ||
	    op_event_add_int(m, i, "removed", tm->removed) < 0 ||
	    op_event_add_str(m, i, "feedback_id", tm->feedback_id[0] ? tm->feedback_id : NULL) <
		0 ||
	    op_event_add_str(m, i, "campaign", tm->campaign[0] ? tm->campaign : NULL) < 0 ||
	    op_event_add_str(m, i, "list", tm->list[0] ? tm->list : NULL) < 0 ||
	    op_event_add_bool(m, i, "bulk", tm->bulk) < 0 ||
	    op_event_add_str(m, i, "unsubscribe", tm->unsub) < 0)
		op_log_warning("%s: track: event fields lost (out of memory)", m->queue_id);
}

static void mod_track_eoh(struct op_ctx *ctx, struct op_verdict *v)
{
	const struct op_config *cfg = ctx->cfg;
	struct op_msg *m = ctx->msg;
	const struct track_tenant *tt = tenant_of(ctx);
	struct track_msg *tm = op_pool_alloc(m->pool, sizeof(*tm));
	const char *err = "out of memory";
	bool internal = op_msg_internal(m);
	int r1, r2, r3;

	if (tm == NULL || read_inputs(ctx, tm) < 0)
		goto fail;
	/* Nobody can forge our headers: every client copy goes first. */
	if ((r1 = strip(m, cfg->track_header, &err)) < 0 ||
	    (r2 = strip(m, cfg->track_campaign_header, &err)) < 0 ||
	    (r3 = strip(m, cfg->track_tag_header, &err)) < 0)
		goto fail;
	tm->removed = (unsigned)(r1 + r2 + r3);
	if (internal || cfg->track_external) {
		if (add_header(m, tm, cfg->track_header, m->tracking_id, &err) < 0)
			goto fail;
	}
	if (internal) {
		tm->bulk = is_bulk(m, tt, tm);
		if (add_feedback_id(ctx, tt, tm, &err) < 0 ||
		    (tm->bulk && add_unsubscribe(ctx, tt, tm, &err) < 0))
			goto fail;
	}
	track_report(ctx, tm, tm->nadded > 0);
	return;
fail:
	op_log_error("%s: track: %s", m->queue_id, err);
	op_msg_summary(m, ctx->modidx, "track=error id=%s reason=\"%s\"", m->tracking_id, err);
	op_verdict_error(v, cfg, OP_ERR_INTERNAL, "3.0", "internal error");
}

const struct op_module mod_track = {
    .name = "track",
    .enabled = mod_track_enabled,
    .init = mod_track_init,
    .fini = mod_track_fini,
    /* An error at EOH (the only verdict there) waits for end of message,
     * where the headers are added anyway: the MTA need not wait for a
     * reply after the headers (one round trip less per message). */
    .reply_stages = OP_STAGE_BIT(OP_STAGE_MAIL),
    .hook =
	{
	    [OP_STAGE_MAIL] = mod_track_mail,
	    [OP_STAGE_HELO] = mod_track_listen,
	    [OP_STAGE_RCPT] = mod_track_listen,
	    [OP_STAGE_EOH] = mod_track_eoh,
	},
};
