/*
 * spf_module.c - the spf module's table entry (see include/outpost/spf.h):
 * its state per config snapshot (the engine, the test zone, spf.egress_ips,
 * the tenants' spf groups), built at init and freed at fini, and its hooks.
 *
 * Stages: HELO (nothing to decide; the hook makes the MTA send the HELO
 * name), MAIL FROM (external mail: check the sender, so a refused one
 * costs no DATA; internal mail: check spf.egress_ips against the sender's
 * domain) and RCPT (tenants' own policies, by recipient domain); their
 * work lives in spf_policy.c.  The engine, the only user of libspf2, is
 * mod_spf.c; this file needs no libspf2.  Results go to msg->auth for
 * mod_auth's Authentication-Results header.
 *
 * Limits: those of the engine (spf.max_dns_terms, spf.max_void_lookups,
 * spf.max_names, spf.timeout), handed to it here.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "outpost/module.h"
#include "outpost/spf.h"

struct spf_state {
	struct op_spf_engine *engine;
	struct op_spf_zone *zone; /* spf.test_zone, or NULL */
	struct op_spf_egress egress;
	struct op_spf_policies policies; /* tenants' spf groups */
};

static bool mod_spf_enabled(const struct op_config *cfg)
{
	return cfg->spf_enabled;
}

static int mod_spf_init(struct op_config *cfg, const void *raw, void **state_r, char *err,
			size_t errsize)
{
	struct spf_state *st = calloc(1, sizeof(*st));
	struct op_spf_limits lim;
	const char *why;

	*state_r = st;
	if (st == NULL)
		return snprintf(err, errsize, "%s: out of memory", cfg->path), -1;
	lim.max_dns_terms = (unsigned)cfg->spf_max_dns_terms;
	lim.max_void = (unsigned)cfg->spf_max_void_lookups;
	lim.max_names = (unsigned)cfg->spf_max_names;
	lim.timeout_ms = cfg->spf_timeout_ms;
	if (op_spf_egress_parse(cfg, &st->egress, err, errsize) < 0 ||
	    op_spf_policies_load(cfg, raw, &st->policies, err, errsize) < 0)
		return -1;
	if (cfg->spf_test_zone[0] && (op_spf_zone_new(&st->zone, &why) < 0 ||
				      op_spf_zone_load(st->zone, cfg->spf_test_zone, &why) < 0))
		return snprintf(err, errsize, "%s: spf.test_zone: %s", cfg->path, why), -1;
	if (op_spf_engine_new(&lim, st->zone, &st->engine, &why) < 0)
		return snprintf(err, errsize, "%s: spf: %s", cfg->path, why), -1;
	return 0;
}

static void mod_spf_fini(void *state)
{
	struct spf_state *st = state;

	if (st == NULL)
		return;
	op_spf_engine_free(&st->engine);
	op_spf_zone_free(&st->zone);
	op_spf_policies_free(&st->policies);
	free(st);
}

/* Nothing to decide at HELO; the hook is there so that the MTA sends the
 * HELO name (conn->helo) at all. */
static void mod_spf_helo(struct op_ctx *ctx, struct op_verdict *v)
{
	(void)ctx;
	(void)v;
}

/* External mail: check the sender; internal mail: check our egress
 * addresses against the sender's domain (spf_policy.c). */
static void mod_spf_mail(struct op_ctx *ctx, struct op_verdict *v)
{
	struct spf_state *st = ctx->state;

	if (op_msg_internal(ctx->msg))
		op_spf_outbound(ctx, st->engine, &st->egress, v);
	else
		op_spf_external(ctx, st->engine, !st->policies.any, v);
}

/* With tenants' own policies, external mail is decided per recipient:
 * the recipient's domain names the tenant. */
static void mod_spf_rcpt(struct op_ctx *ctx, struct op_verdict *v)
{
	struct spf_state *st = ctx->state;

	if (st->policies.any)
		op_spf_rcpt(ctx, &st->policies, v);
}

const struct op_module mod_spf = {
    .name = "spf",
    .enabled = mod_spf_enabled,
    .init = mod_spf_init,
    .fini = mod_spf_fini,
    .reply_stages = OP_STAGE_BIT(OP_STAGE_MAIL) | OP_STAGE_BIT(OP_STAGE_RCPT),
    .hook =
	{
	    [OP_STAGE_HELO] = mod_spf_helo,
	    [OP_STAGE_MAIL] = mod_spf_mail,
	    [OP_STAGE_RCPT] = mod_spf_rcpt,
	},
};
