/*
 * spf_policy.c - what does not need libspf2: result names, the
 * Received-SPF text (RFC 7208 9.1), the fix-it hint of the outbound
 * check, the verdict per result (spf.on_*) and the skip lists (see
 * include/outpost/spf.h).  Leaf code: no logging.
 */
#include "config.h"

#include <libconfig.h>
#include <stdlib.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "outpost/log.h"
#include "outpost/metrics.h"
#include "outpost/module.h"
#include "outpost/spf.h"

static const char *const result_names[OP_SPF__COUNT] = {
    [OP_SPF_NONE] = "none",	      [OP_SPF_NEUTRAL] = "neutral",
    [OP_SPF_PASS] = "pass",	      [OP_SPF_FAIL] = "fail",
    [OP_SPF_SOFTFAIL] = "softfail",   [OP_SPF_TEMPERROR] = "temperror",
    [OP_SPF_PERMERROR] = "permerror",
};

const char *op_spf_result_name(enum op_spf_result r)
{
	return (r >= OP_SPF_NONE && r < OP_SPF__COUNT) ? result_names[r] : "permerror";
}

int op_spf_result_parse(const char *name)
{
	for (int i = 0; i < OP_SPF__COUNT; i++)
		if (strcmp(name, result_names[i]) == 0)
			return i;
	return -1;
}

/* Append s as an RFC 5322 quoted-string (backslash before '"' and '\';
 * anything not printable becomes '?'). */
static int put_quoted(struct op_buf *b, const char *s)
{
	if (op_buf_putc(b, '"') < 0)
		return -1;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c == '"' || c == '\\') && op_buf_putc(b, '\\') < 0)
			return -1;
		if (op_buf_putc(b, (c >= 0x20 && c < 0x7f) ? (char)c : '?') < 0)
			return -1;
	}
	return op_buf_putc(b, '"');
}

/* Append s when it is a dot-atom-ish token (domain, address); otherwise
 * quoted. */
static int put_token(struct op_buf *b, const char *s)
{
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr(".-_+@:", *p) != NULL))
			return put_quoted(b, s);
	return s[0] ? op_buf_puts(b, s) : put_quoted(b, s);
}

/* The comment of Received-SPF: what the result says, in words. */
static int put_comment(struct op_buf *b, const struct op_spf_outcome *o, const char *receiver,
		       const char *dom, const char *ip)
{
	char safe[256];
	size_t i = 0;

	/* Comment text: printable, no parentheses or backslashes. */
	for (const char *p = o->problem; *p && i + 1 < sizeof(safe); p++)
		safe[i++] = (*p >= 0x20 && *p < 0x7f && !strchr("()\\", *p)) ? *p : ' ';
	safe[i] = '\0';
	switch (o->result) {
	case OP_SPF_PASS:
		return op_buf_printf(b, " (%s: domain of %s designates %s as permitted sender)",
				     receiver, dom, ip);
	case OP_SPF_FAIL:
		return op_buf_printf(
		    b, " (%s: domain of %s does not designate %s as permitted sender)", receiver,
		    dom, ip);
	case OP_SPF_SOFTFAIL:
		return op_buf_printf(
		    b,
		    " (%s: domain of transitioning %s does not designate %s as permitted sender)",
		    receiver, dom, ip);
	case OP_SPF_NEUTRAL:
		return op_buf_printf(b, " (%s: %s is neither permitted nor denied by domain of %s)",
				     receiver, ip, dom);
	case OP_SPF_NONE:
		return op_buf_printf(b, " (%s: domain of %s does not provide an SPF record)",
				     receiver, dom);
	default:
		return op_buf_printf(b, " (%s: %s)", receiver,
				     safe[0] ? safe : "error in processing");
	}
}

int op_spf_received_spf(struct op_buf *b, const struct op_spf_outcome *o, const char *receiver,
			const char *ip, const char *sender, const char *helo, bool helo_identity)
{
	const char *at = strrchr(sender, '@');
	const char *dom = helo_identity || sender[0] == '\0' ? helo : (at ? at + 1 : sender);
	char dsafe[256], rsafe[256], isafe[64];
	size_t i = 0, j = 0, k = 0;

	for (const char *p = dom; *p && i + 1 < sizeof(dsafe); p++)
		dsafe[i++] = (*p > 0x20 && *p < 0x7f && !strchr("()\\", *p)) ? *p : '?';
	dsafe[i] = '\0';
	/* The MTA's {client_addr}: an address, but never a line end in a header. */
	for (const char *p = ip; *p && k + 1 < sizeof(isafe); p++)
		isafe[k++] = (*p > 0x20 && *p < 0x7f && !strchr("()\\;", *p)) ? *p : '?';
	isafe[k] = '\0';
	for (const char *p = receiver; *p && j + 1 < sizeof(rsafe); p++)
		rsafe[j++] = (*p > 0x20 && *p < 0x7f && !strchr("()\\;", *p)) ? *p : '?';
	rsafe[j] = '\0';
	if (op_buf_puts(b, op_spf_result_name(o->result)) < 0 ||
	    put_comment(b, o, rsafe, dsafe, isafe) < 0 ||
	    op_buf_printf(b, "\r\n\tclient-ip=%s;", isafe) < 0 ||
	    op_buf_puts(b, " envelope-from=") < 0 || put_quoted(b, sender) < 0 ||
	    op_buf_puts(b, "; helo=") < 0 || put_token(b, helo) < 0 ||
	    op_buf_puts(b, "; receiver=") < 0 || put_token(b, rsafe) < 0 ||
	    op_buf_printf(b, "; identity=%s;", helo_identity ? "helo" : "mailfrom") < 0)
		return -1;
	return 0;
}

void op_spf_hint(char *out, size_t outsize, const char *ip, const char *include_hint)
{
	bool v6 = strchr(ip, ':') != NULL;

	if (include_hint != NULL && include_hint[0] != '\0')
		snprintf(out, outsize, "add %s:%s or include:%s", v6 ? "ip6" : "ip4", ip,
			 include_hint);
	else
		snprintf(out, outsize, "add %s:%s to its SPF record", v6 ? "ip6" : "ip4", ip);
}

/* ---- policy per result (the spf module) ------------------------------ */

/* spf.on_<result> values, in the order of conftab.c's SPF_ACTIONS. */
enum { SPF_MARK = 0, SPF_REJECT, SPF_TEMPFAIL, SPF_HOLD };

void op_spf_verdict(struct op_verdict *v, const int *on, enum op_spf_result r, const char *dom,
		    const char *ip, const char *explanation, const char *problem)
{
	/* RFC 7372: x.7.23 "SPF validation failed", x.7.24 "SPF validation
	 * error"; a DNS error is 4.4.3 (RFC 3463, directory server failure). */
	bool error = r == OP_SPF_TEMPERROR || r == OP_SPF_PERMERROR;
	const char *what = error ? (problem && problem[0] ? problem : "SPF evaluation error")
				 : (explanation && explanation[0] ? explanation : "");

	switch (r >= 0 && r < OP_SPF__COUNT ? on[r] : SPF_TEMPFAIL) {
	case SPF_REJECT:
		op_verdict_set(v, OP_ACT_REJECT, "550", error ? "5.7.24" : "5.7.23",
			       "SPF %s: %s is not authorized to send for %s%s%s",
			       op_spf_result_name(r), ip, dom, what[0] ? ": " : "", what);
		break;
	case SPF_TEMPFAIL:
		op_verdict_set(v, OP_ACT_TEMPFAIL, "451",
			       r == OP_SPF_TEMPERROR ? "4.4.3" : "4.7.24",
			       "SPF %s for %s from %s%s%s, try again later", op_spf_result_name(r),
			       dom, ip, what[0] ? ": " : "", what);
		break;
	case SPF_HOLD:
		op_verdict_set(v, OP_ACT_HOLD, NULL, NULL, "SPF %s for %s from %s",
			       op_spf_result_name(r), dom, ip);
		break;
	default:
		break;
	}
}

const char *op_spf_skip_reason(const struct op_config *cfg, const struct op_msg *m)
{
	const char *dom = m->mail_domain[0] ? m->mail_domain : m->conn->helo;

	if (m->auth_authen != NULL && cfg->spf_skip_authenticated)
		return "authenticated client";
	if (m->conn->client_addr[0] == '\0')
		return "no client address";
	if (op_cidr_list_match_text(&cfg->spf_skip_clients, m->conn->client_addr))
		return "client in spf.skip_clients";
	for (size_t i = 0; i < cfg->spf_skip_sender_domains.n; i++)
		if (strcasecmp(cfg->spf_skip_sender_domains.v[i], dom) == 0)
			return "sender domain in spf.skip_sender_domains";
	return NULL;
}

/* ---- the spf module's stages (spf_module.c calls them) --------------- */

/* spf.egress_ips as address texts; they must be single addresses. */
int op_spf_egress_parse(const struct op_config *cfg, struct op_spf_egress *eg, char *err,
			size_t errsize)
{
	for (size_t i = 0; i < cfg->spf_egress_ips.n; i++) {
		const struct op_cidr *c = &cfg->spf_egress_ips.v[i];

		if (c->prefix != (c->family == AF_INET ? 32u : 128u) || eg->n == OP_SPF_EGRESS_MAX)
			return snprintf(err, errsize,
					"%s: spf.egress_ips: give at most %d single addresses, not "
					"ranges",
					cfg->path, OP_SPF_EGRESS_MAX),
			       -1;
		if (inet_ntop(c->family, c->addr, eg->ip[eg->n], sizeof(eg->ip[0])) == NULL)
			return snprintf(err, errsize, "%s: spf.egress_ips: bad address", cfg->path),
			       -1;
		eg->n++;
	}
	return 0;
}

/* The client address without Sendmail's "IPv6:" prefix. */
static const char *client_ip(const struct op_msg *m)
{
	const char *a = m->conn->client_addr;

	return strncasecmp(a, "IPv6:", 5) == 0 ? a + 5 : a;
}

/* op_spf_external(): check MAIL FROM (HELO for the null sender, and HELO too
 * with spf.check_helo), record the results, apply spf.on_<result>. */
void op_spf_external(struct op_ctx *ctx, struct op_spf_engine *engine, bool decide,
		     struct op_verdict *v)
{
	struct op_msg *m = ctx->msg;
	const char *ip = client_ip(m), *helo = m->conn->helo, *skip;
	bool null = m->mail_from[0] == '\0';
	const char *dom = null ? helo : m->mail_domain;
	struct op_spf_outcome o, h;
	char ipesc[160]; /* the MTA's {client_addr}, escaped for the log */

	skip = op_spf_skip_reason(ctx->cfg, m);
	if (skip != NULL) {
		op_msg_summary(m, ctx->modidx, "spf=skip reason=\"%s\"", skip);
		return;
	}
	op_spf_check(engine, ip, m->mail_from, helo, null, &o);
	op_metrics_spf(null ? "helo" : "mailfrom", op_spf_result_name(o.result));
	m->auth.spf_checked = true;
	m->auth.spf_helo_identity = null;
	m->auth.spf_result = o.result;
	op_strlcpy(m->auth.spf_problem, o.problem, sizeof(m->auth.spf_problem));
	op_strlcpy(m->auth.spf_explanation, o.explanation, sizeof(m->auth.spf_explanation));
	op_strlcpy(m->auth.spf_domain, dom, sizeof(m->auth.spf_domain));
	if (ctx->cfg->spf_check_helo && !null) {
		op_spf_check(engine, ip, "", helo, true, &h);
		op_metrics_spf("helo", op_spf_result_name(h.result));
		m->auth.helo_checked = true;
		m->auth.helo_result = h.result;
	}
	if (decide)
		op_spf_verdict(v, ctx->cfg->spf_on, o.result, dom, ip, o.explanation, o.problem);
	op_log_esc(ipesc, sizeof(ipesc), ip);
	op_msg_summary(
	    m, ctx->modidx, "spf=%s identity=%s domain=%.80s ip=%s terms=%u voids=%u%s%.100s%s",
	    op_spf_result_name(o.result), null ? "helo" : "mailfrom", dom, ipesc, o.terms, o.voids,
	    o.problem[0] ? " problem=\"" : "", o.problem, o.problem[0] ? "\"" : "");
	if (o.result == OP_SPF_TEMPERROR || o.result == OP_SPF_PERMERROR)
		op_log_notice("%s: spf: %s for %.100s from %s: %s", m->queue_id,
			      op_spf_result_name(o.result), dom, ipesc, o.problem);
}

/* op_spf_outbound(): does the sender's domain authorize each egress address? */
void op_spf_outbound(struct op_ctx *ctx, struct op_spf_engine *engine,
		     const struct op_spf_egress *eg, struct op_verdict *v)
{
	const struct op_config *cfg = ctx->cfg;
	struct op_msg *m = ctx->msg;
	struct op_spf_outcome o;
	char hint[300];

	if (eg->n == 0 || m->mail_domain[0] == '\0') {
		op_msg_summary(m, ctx->modidx, "spf=skip reason=\"%s\"",
			       eg->n ? "null sender" : "internal, no spf.egress_ips");
		return;
	}
	for (size_t i = 0; i < eg->n; i++) {
		op_spf_check(engine, eg->ip[i], m->mail_from, m->conn->helo, false, &o);
		op_metrics_spf("egress", op_spf_result_name(o.result));
		if (o.result == OP_SPF_PASS)
			continue;
		if (o.result == OP_SPF_TEMPERROR) {
			op_log_warning("%s: spf: cannot tell whether %s authorizes %s: %s",
				       m->queue_id, m->mail_domain, eg->ip[i], o.problem);
			op_msg_summary(m, ctx->modidx, "spf=egress-unknown domain=%s ip=%s",
				       m->mail_domain, eg->ip[i]);
			return;
		}
		op_spf_hint(hint, sizeof(hint), eg->ip[i], cfg->spf_egress_include);
		op_log_warning("%s: spf: %s does not authorize %s: %s (result=%s%s%s)", m->queue_id,
			       m->mail_domain, eg->ip[i], hint, op_spf_result_name(o.result),
			       o.problem[0] ? ", " : "", o.problem);
		op_msg_summary(m, ctx->modidx, "spf=egress-%s domain=%s ip=%s",
			       op_spf_result_name(o.result), m->mail_domain, eg->ip[i]);
		if (cfg->spf_on_unauthorized_egress == 2)
			op_verdict_set(v, OP_ACT_REJECT, "550", "5.7.23",
				       "%s does not authorize %s: %s", m->mail_domain, eg->ip[i],
				       hint);
		else if (cfg->spf_on_unauthorized_egress == 1)
			op_verdict_set(v, OP_ACT_HOLD, NULL, NULL, "%s does not authorize %s: %s",
				       m->mail_domain, eg->ip[i], hint);
		return;
	}
	op_msg_summary(m, ctx->modidx, "spf=egress-pass domain=%s ips=%zu", m->mail_domain, eg->n);
}

/* ---- test zone files ------------------------------------------------- */

int op_spf_zone_load(struct op_spf_zone *z, const char *path, const char **err_r)
{
	static __thread char why[160];
	FILE *f = fopen(path, "r");
	char line[4096];
	unsigned lineno = 0;

	if (f == NULL)
		return (*err_r = "cannot open the file"), -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		char name[256], type[16];
		int n = 0, r;
		const char *err, *data;

		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '#' || line[strspn(line, " \t")] == '\0')
			continue;
		if (sscanf(line, "%255s %15s %n", name, type, &n) != 2) {
			fclose(f);
			snprintf(why, sizeof(why), "line %u: want NAME TYPE DATA", lineno);
			return (*err_r = why), -1;
		}
		data = line + n;
		r = strcmp(type, "TIMEOUT") == 0 ? op_spf_zone_timeout(z, name, data, &err)
						 : op_spf_zone_add(z, name, type, data, &err);
		if (r < 0) {
			fclose(f);
			snprintf(why, sizeof(why), "line %u: %s", lineno, err);
			return (*err_r = why), -1;
		}
	}
	fclose(f);
	return 0;
}

/* ---- policy per tenant (tenants[i].spf) ------------------------------- */

static const char *const policy_keys[OP_SPF__COUNT] = {
    "on_none", "on_neutral", "on_pass", "on_fail", "on_softfail", "on_temperror", "on_permerror",
};
static const char *const policy_actions[] = {"mark", "reject", "tempfail", "hold"};

static int policy_err(char *err, size_t errsize, const config_setting_t *s, const char *what,
		      const char *name)
{
	snprintf(err, errsize, "%s:%d: tenant spf: %s \"%s\"",
		 config_setting_source_file(s) ? config_setting_source_file(s) : "?",
		 config_setting_source_line(s), what, name);
	return -1;
}

/* One tenant's spf group into row (already the global actions). */
static int policy_tenant(const config_setting_t *g, int *row, char *err, size_t errsize)
{
	if (!config_setting_is_group(g))
		return policy_err(err, errsize, g, "must be a group { on_fail = ...; }, not", "?");
	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *e = config_setting_get_elem(g, (unsigned)i);
		const char *name = config_setting_name(e), *val = config_setting_get_string(e);
		int r = -1, a = -1;

		for (int k = 0; k < OP_SPF__COUNT; k++)
			if (strcmp(name, policy_keys[k]) == 0)
				r = k;
		if (r < 0)
			return policy_err(err, errsize, e, "unknown key (on_none ... on_permerror)",
					  name);
		for (int k = 0; val != NULL && k < 4; k++)
			if (strcmp(val, policy_actions[k]) == 0)
				a = k;
		if (a < 0)
			return policy_err(err, errsize, e,
					  "must be mark, reject, tempfail or hold:", name);
		row[r] = a;
	}
	return 0;
}

int op_spf_policies_load(const struct op_config *cfg, const void *raw, struct op_spf_policies *p,
			 char *err, size_t errsize)
{
	const config_setting_t *list = config_lookup((const config_t *)raw, "tenants");

	p->tab = NULL;
	p->any = false;
	if (list == NULL || cfg->ntenants == 0)
		return 0;
	p->tab = calloc(cfg->ntenants, sizeof(*p->tab));
	if (p->tab == NULL)
		return snprintf(err, errsize, "%s: out of memory", cfg->path), -1;
	for (size_t i = 0; i < cfg->ntenants; i++) {
		const config_setting_t *t = config_setting_get_elem(list, (unsigned)i);
		const config_setting_t *g = t ? config_setting_get_member(t, "spf") : NULL;

		memcpy(p->tab[i], cfg->spf_on, sizeof(p->tab[i]));
		if (g == NULL)
			continue;
		if (policy_tenant(g, p->tab[i], err, errsize) < 0)
			return -1;
		p->any = true;
	}
	return 0;
}

void op_spf_policies_free(struct op_spf_policies *p)
{
	free(p->tab);
	p->tab = NULL;
}

void op_spf_rcpt(struct op_ctx *ctx, const struct op_spf_policies *p, struct op_verdict *v)
{
	const struct op_msg *m = ctx->msg;
	const char *at = strrchr(ctx->rcpt, '@');
	const struct op_tenant *t = at ? op_tenant_by_domain(ctx->cfg, at + 1) : NULL;
	const int *on = t && p->tab ? p->tab[t->index] : ctx->cfg->spf_on;

	if (!m->auth.spf_checked || op_msg_internal(m))
		return;
	op_spf_verdict(v, on, (enum op_spf_result)m->auth.spf_result, m->auth.spf_domain,
		       client_ip(m), m->auth.spf_explanation, m->auth.spf_problem);
}
