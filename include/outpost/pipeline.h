/*
 * pipeline.h - runs the modules, in their fixed order, at each stage.
 *
 * The table of modules lives in plugin/pipeline.c: adding a module is one
 * line there.  Tests may run a stage over their own table with
 * op_pipeline_run_table().
 */
#ifndef OUTPOST_PIPELINE_H
#define OUTPOST_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>

#include "outpost/module.h"

/* The module table (fixed order) and its length. */
const struct op_module *const *op_pipeline_modules(size_t *n_r);

/* Index of the module called name, or -1. */
int op_pipeline_index(const char *name);

/* Stages some module enabled in cfg listens to (OP_STAGE_BIT mask), and the
 * stages at which one of them may reply. */
unsigned op_pipeline_stages(const struct op_config *cfg);
unsigned op_pipeline_reply_stages(const struct op_config *cfg);

/* Run stage over the daemon's table.  ctx carries conn/msg/arguments (the
 * pipeline fills cfg, modidx and state per module).  *v receives the
 * winning verdict (CONTINUE when nobody objected); a HOLD sets msg->hold.
 * Modules disabled in the snapshot, or skipped for this message
 * (msg->mod_skip), are not called. */
void op_pipeline_run(enum op_stage stage, struct op_ctx *ctx, struct op_verdict *v);

/* Same over an explicit table (unit tests). */
void op_pipeline_run_table(const struct op_module *const *mods, size_t n, enum op_stage stage,
			   struct op_ctx *ctx, struct op_verdict *v);

/* Build every enabled module's state into cfg (config load), and free it.
 * init returns 0, or -1 with err filled. */
int op_pipeline_init(struct op_config *cfg, const void *raw, char *err, size_t errsize);
void op_pipeline_fini(struct op_config *cfg);

/* Free every module's per-message state (end of message). */
void op_pipeline_msg_free(struct op_msg *msg);

#endif
