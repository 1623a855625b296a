/*
 * pipeline.c - the module table and the stage runner
 * (see include/outpost/pipeline.h).
 *
 * The order is fixed: rate (refuse early, before any work), spf, track
 * (adds headers), dkim (signs what the others added).  Adding a module is
 * one line in modules[] below.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "outpost/log.h"
#include "outpost/metrics.h"
#include "outpost/pipeline.h"

extern const struct op_module mod_rate;
extern const struct op_module mod_spf;
extern const struct op_module mod_track;
extern const struct op_module mod_dkim;
extern const struct op_module mod_auth;

/* clang-format off */
static const struct op_module *const modules[] = {
	&mod_rate,
	&mod_spf,
	&mod_track,
	&mod_dkim,
	&mod_auth,
	NULL /* end */
};
/* clang-format on */

#define NMODULES (sizeof(modules) / sizeof(modules[0]) - 1)

_Static_assert(NMODULES <= OP_MOD_MAX, "raise OP_MOD_MAX");

const struct op_module *const *op_pipeline_modules(size_t *n_r)
{
	*n_r = NMODULES;
	return modules;
}

int op_pipeline_index(const char *name)
{
	for (size_t i = 0; modules[i] != NULL; i++)
		if (strcmp(modules[i]->name, name) == 0)
			return (int)i;
	return -1;
}

unsigned op_pipeline_stages(const struct op_config *cfg)
{
	unsigned mask = 0;

	for (size_t i = 0; modules[i] != NULL; i++) {
		if (!cfg->mod_enabled[i])
			continue;
		for (unsigned s = 0; s < OP_STAGE__COUNT; s++)
			if (modules[i]->hook[s] != NULL)
				mask |= OP_STAGE_BIT(s);
	}
	return mask;
}

unsigned op_pipeline_reply_stages(const struct op_config *cfg)
{
	unsigned mask = 0;

	for (size_t i = 0; modules[i] != NULL; i++)
		if (cfg->mod_enabled[i])
			mask |= modules[i]->reply_stages;
	return mask;
}

/* Record the first HOLD of message m (NULL: none).  Its reason becomes the
 * MTA's quarantine reason and a log field: no line end or control byte. */
static void hold_note(struct op_msg *m, const struct op_verdict *mv)
{
	if (m == NULL || m->hold)
		return;
	m->hold = true;
	snprintf(m->hold_reason, sizeof(m->hold_reason), "%.40s: %.150s", mv->module, mv->reason);
	for (char *p = m->hold_reason; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
}

void op_pipeline_run_table(const struct op_module *const *mods, size_t n, enum op_stage stage,
			   struct op_ctx *ctx, struct op_verdict *v)
{
	const struct op_config *cfg = ctx->msg ? ctx->msg->cfg : ctx->conn->cfg;

	op_verdict_clear(v);
	for (size_t i = 0; i < n; i++) {
		struct op_verdict mv;
		op_hook_fn fn = mods[i]->hook[stage];

		if (fn == NULL || !cfg->mod_enabled[i] || (ctx->msg && ctx->msg->mod_skip[i]))
			continue;
		ctx->cfg = cfg;
		ctx->modidx = i;
		ctx->state = cfg->mod_state[i];
		op_verdict_clear(&mv);
		fn(ctx, &mv);
		if (mv.action == OP_ACT_CONTINUE)
			continue;
		mv.module = mods[i]->name;
		if (mv.action == OP_ACT_HOLD) {
			/* Sticky: later modules still run (the message is signed). */
			hold_note(ctx->msg, &mv);
			continue;
		}
		*v = mv;
		/* Cleanup stages reach every module; others stop at the first verdict. */
		if (stage != OP_STAGE_ABORT && stage != OP_STAGE_CLOSE)
			return;
	}
}

void op_pipeline_run(enum op_stage stage, struct op_ctx *ctx, struct op_verdict *v)
{
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	op_pipeline_run_table(modules, NMODULES, stage, ctx, v);
	op_metrics_stage(stage, op_metrics_since(&t0));
}

int op_pipeline_init(struct op_config *cfg, const void *raw, char *err, size_t errsize)
{
	for (size_t i = 0; modules[i] != NULL; i++) {
		const struct op_module *m = modules[i];

		cfg->mod_enabled[i] = m->enabled == NULL || m->enabled(cfg);
		if (!cfg->mod_enabled[i] || m->init == NULL)
			continue;
		if (m->init(cfg, raw, &cfg->mod_state[i], err, errsize) < 0)
			return -1;
	}
	return 0;
}

void op_pipeline_fini(struct op_config *cfg)
{
	for (size_t i = 0; modules[i] != NULL; i++) {
		if (modules[i]->fini != NULL && cfg->mod_state[i] != NULL)
			modules[i]->fini(cfg->mod_state[i]);
		cfg->mod_state[i] = NULL;
	}
}

void op_pipeline_msg_free(struct op_msg *msg)
{
	for (size_t i = 0; modules[i] != NULL; i++) {
		if (modules[i]->msg_free != NULL && msg->mod_msg[i] != NULL)
			modules[i]->msg_free(msg->mod_msg[i]);
		msg->mod_msg[i] = NULL;
	}
}
