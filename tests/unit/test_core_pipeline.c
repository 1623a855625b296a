/*
 * test_core_pipeline.c - the stage runner (plugin/pipeline.c,
 * include/outpost/pipeline.h, the contract in include/outpost/module.h),
 * driven through op_pipeline_run_table() over fake modules defined here.
 *
 * Each fake module's hook records that it ran and returns the verdict its
 * row asks for.  The rules under test:
 * - modules run in table order;
 * - the first verdict other than CONTINUE wins and later modules are not
 *   called, except at ABORT and CLOSE, which reach every module;
 * - HOLD is sticky: it sets msg->hold and msg->hold_reason (the first HOLD
 *   says why) and the pipeline goes on;
 * - modules disabled in the snapshot (cfg->mod_enabled), skipped for the
 *   message (msg->mod_skip) or without a hook for the stage are not called;
 * - each hook sees the message's snapshot (the connection's when there is
 *   no message), its own index and its own snapshot state.
 */
#include "config.h"

#include "unit.h"

#include <stdbool.h>
#include <stdlib.h>

#include "outpost/config.h"
#include "outpost/message.h"
#include "outpost/module.h"
#include "outpost/pipeline.h"
#include "outpost/verdict.h"

#define NMODS 4

/* What a fake module decides; lives in cfg->mod_state[i]. */
struct fake {
	size_t idx;
	enum op_action action;
};

static struct {
	char calls[128];	     /* "m0 m1 ..." in call order */
	const struct op_config *cfg; /* the snapshot hooks must see */
	const struct op_config *seen_cfg[NMODS];
	const void *seen_state[NMODS];
	size_t seen_idx[NMODS];
} rec;

/* clang-format off */
static const char *const names[NMODS] = {"m0", "m1", "m2", "m3"};
/* clang-format on */

static void fake_hook(struct op_ctx *ctx, struct op_verdict *v)
{
	const struct fake *f = ctx->state;
	size_t o = strlen(rec.calls);

	snprintf(rec.calls + o, sizeof(rec.calls) - o, "%s%s", o ? " " : "",
		 f ? names[f->idx] : "(no state)");
	if (f == NULL)
		return;
	rec.seen_cfg[f->idx] = ctx->cfg;
	rec.seen_state[f->idx] = ctx->state;
	rec.seen_idx[f->idx] = ctx->modidx;
	switch (f->action) {
	case OP_ACT_CONTINUE:
		break;
	case OP_ACT_TEMPFAIL:
		op_verdict_set(v, OP_ACT_TEMPFAIL, "451", "4.7.1", "%s says later", names[f->idx]);
		break;
	case OP_ACT_REJECT:
		op_verdict_set(v, OP_ACT_REJECT, "550", "5.7.1", "%s says no", names[f->idx]);
		break;
	default:
		op_verdict_set(v, f->action, NULL, NULL, "%s says %s", names[f->idx],
			       op_action_name(f->action));
		break;
	}
}

/* Every stage hooked, except that m3 does not listen at HELO. */
#define ALL_HOOKS                                                                                  \
	{                                                                                          \
		fake_hook, fake_hook, fake_hook, fake_hook, fake_hook, fake_hook, fake_hook,       \
		    fake_hook, fake_hook, fake_hook                                                \
	}

/* clang-format off */
static const struct op_module mod0 = {.name = "m0", .hook = ALL_HOOKS};
static const struct op_module mod1 = {.name = "m1", .hook = ALL_HOOKS};
static const struct op_module mod2 = {.name = "m2", .hook = ALL_HOOKS};
static const struct op_module mod3 = {
	.name = "m3",
	.hook = {[OP_STAGE_CONNECT] = fake_hook, [OP_STAGE_MAIL] = fake_hook,
		 [OP_STAGE_RCPT] = fake_hook, [OP_STAGE_HEADER] = fake_hook, [OP_STAGE_EOH] = fake_hook,
		 [OP_STAGE_BODY] = fake_hook, [OP_STAGE_EOM] = fake_hook, [OP_STAGE_ABORT] = fake_hook,
		 [OP_STAGE_CLOSE] = fake_hook},
};

static const struct op_module *const mods[NMODS] = {&mod0, &mod1, &mod2, &mod3};
/* clang-format on */

#define C   OP_ACT_CONTINUE
#define H   OP_ACT_HOLD
#define A   OP_ACT_ACCEPT
#define D   OP_ACT_DISCARD
#define T   OP_ACT_TEMPFAIL
#define R   OP_ACT_REJECT
#define ANY (-1) /* verdict not checked */

struct row {
	const char *label;
	enum op_stage stage;
	bool with_msg; /* false: CONNECT/HELO/CLOSE style, msg NULL */
	enum op_action act[NMODS];
	unsigned disabled; /* bit i: cfg->mod_enabled[i] false */
	unsigned skipped;  /* bit i: msg->mod_skip[i] */
	const char *calls;
	int action;	    /* enum op_action or ANY */
	const char *module; /* who decided; NULL for CONTINUE */
	bool hold;
	const char *hold_reason;
};

/* clang-format off */
static const struct row order_rows[] = {
	{"nobody objects: all run in order", OP_STAGE_EOM, true, {C, C, C, C}, 0, 0,
	 "m0 m1 m2 m3", C, NULL, false, ""},
	{"connect without a message: all run in order", OP_STAGE_CONNECT, false, {C, C, C, C}, 0, 0,
	 "m0 m1 m2 m3", C, NULL, false, ""},
	{"last module decides", OP_STAGE_EOM, true, {C, C, C, T}, 0, 0,
	 "m0 m1 m2 m3", T, "m3", false, ""},
};
/* clang-format on */

/* clang-format off */
static const struct row verdict_rows[] = {
	{"a reject stops later modules", OP_STAGE_RCPT, true, {C, R, C, C}, 0, 0,
	 "m0 m1", R, "m1", false, ""},
	{"the first verdict wins, not the strongest", OP_STAGE_MAIL, true, {T, R, C, C}, 0, 0,
	 "m0", T, "m0", false, ""},
	{"accept stops later modules", OP_STAGE_EOH, true, {C, C, A, R}, 0, 0,
	 "m0 m1 m2", A, "m2", false, ""},
	{"discard stops later modules", OP_STAGE_EOM, true, {C, D, R, R}, 0, 0,
	 "m0 m1", D, "m1", false, ""},
	{"connect: the connection's verdict", OP_STAGE_CONNECT, false, {C, C, R, C}, 0, 0,
	 "m0 m1 m2", R, "m2", false, ""},
};
/* clang-format on */

/* clang-format off */
static const struct row hold_rows[] = {
	{"hold is sticky and the others still run", OP_STAGE_EOM, true, {C, H, C, C}, 0, 0,
	 "m0 m1 m2 m3", C, NULL, true, "m1: m1 says hold"},
	{"hold then reject: reject wins, hold stays", OP_STAGE_EOM, true, {H, C, R, C}, 0, 0,
	 "m0 m1 m2", R, "m2", true, "m0: m0 says hold"},
	{"two holds: the first says why", OP_STAGE_EOM, true, {H, H, C, C}, 0, 0,
	 "m0 m1 m2 m3", C, NULL, true, "m0: m0 says hold"},
	{"hold at body is kept too", OP_STAGE_BODY, true, {C, C, C, H}, 0, 0,
	 "m0 m1 m2 m3", C, NULL, true, "m3: m3 says hold"},
	{"connect: hold without a message is ignored", OP_STAGE_CONNECT, false, {H, C, C, C}, 0, 0,
	 "m0 m1 m2 m3", C, NULL, false, ""},
};
/* clang-format on */

/* clang-format off */
static const struct row skip_rows[] = {
	{"a disabled module is not called", OP_STAGE_EOM, true, {C, R, C, C}, 1u << 1, 0,
	 "m0 m2 m3", C, NULL, false, ""},
	{"a skipped module is not called", OP_STAGE_EOM, true, {R, C, C, C}, 0, 1u << 0,
	 "m1 m2 m3", C, NULL, false, ""},
	{"disabled and skipped together", OP_STAGE_RCPT, true, {R, H, C, T}, 1u << 1, 1u << 0,
	 "m2 m3", T, "m3", false, ""},
	{"all disabled: nobody runs", OP_STAGE_EOM, true, {R, R, R, R}, 0xf, 0,
	 "", C, NULL, false, ""},
	{"a module without a hook for the stage is not called", OP_STAGE_HELO, false,
	 {C, C, C, R}, 0, 0, "m0 m1 m2", C, NULL, false, ""},
	{"connect: the connection's snapshot says who is enabled", OP_STAGE_CONNECT, false,
	 {R, C, C, C}, 1u << 0, 0, "m1 m2 m3", C, NULL, false, ""},
};
/* clang-format on */

/* clang-format off */
static const struct row cleanup_rows[] = {
	{"abort reaches every module after a verdict", OP_STAGE_ABORT, true, {R, C, T, C}, 0, 0,
	 "m0 m1 m2 m3", ANY, NULL, false, ""},
	{"abort still honours disabled and skipped", OP_STAGE_ABORT, true, {R, C, T, C}, 1u << 2,
	 1u << 3, "m0 m1", R, "m0", false, ""},
	{"close reaches every module after a verdict", OP_STAGE_CLOSE, false, {T, R, C, A}, 0, 0,
	 "m0 m1 m2 m3", ANY, NULL, false, ""},
	{"close honours disabled modules", OP_STAGE_CLOSE, false, {C, C, C, C}, 1u << 3, 0,
	 "m0 m1 m2", C, NULL, false, ""},
};
/* clang-format on */

/* Run every row of a table and check calls, verdict, hold and what each
 * hook saw. */
static void run_rows(const struct row *rows, size_t nrows)
{
	for (size_t r = 0; r < nrows; r++) {
		const char *label = rows[r].label;
		struct op_config conn_cfg, msg_cfg;
		struct op_conn conn;
		struct op_msg *msg = calloc(1, sizeof(*msg));
		struct fake fakes[NMODS];
		struct op_ctx ctx;
		struct op_verdict v;

		assert_non_null(msg);
		memset(&conn_cfg, 0, sizeof(conn_cfg));
		memset(&msg_cfg, 0, sizeof(msg_cfg));
		memset(&conn, 0, sizeof(conn));
		memset(&ctx, 0, sizeof(ctx));
		memset(&rec, 0, sizeof(rec));
		for (size_t i = 0; i < NMODS; i++) {
			fakes[i].idx = i;
			fakes[i].action = rows[r].act[i];
			/* The row's snapshot is the message's, or the connection's
			 * when there is no message; the other one enables
			 * everything, so using the wrong one shows. */
			msg_cfg.mod_enabled[i] =
			    rows[r].with_msg ? !(rows[r].disabled & (1u << i)) : true;
			conn_cfg.mod_enabled[i] =
			    rows[r].with_msg ? true : !(rows[r].disabled & (1u << i));
			msg_cfg.mod_state[i] = conn_cfg.mod_state[i] = &fakes[i];
			msg->mod_skip[i] = (rows[r].skipped & (1u << i)) != 0;
		}
		conn.cfg = &conn_cfg;
		msg->cfg = &msg_cfg;
		msg->conn = &conn;
		ctx.conn = &conn;
		ctx.msg = rows[r].with_msg ? msg : NULL;
		rec.cfg = rows[r].with_msg ? &msg_cfg : &conn_cfg;
		/* A stale verdict must not leak into the result. */
		op_verdict_set(&v, OP_ACT_REJECT, "550", "5.7.1", "stale");
		v.module = "stale";

		op_pipeline_run_table(mods, NMODS, rows[r].stage, &ctx, &v);

		WANT_STR(label, rec.calls, rows[r].calls);
		if (rows[r].action != ANY) {
			WANT_STR(label, op_action_name(v.action), op_action_name(rows[r].action));
			WANT_STR(label, v.module, rows[r].module);
		}
		if (v.action == OP_ACT_TEMPFAIL || v.action == OP_ACT_REJECT)
			WANT_INT(label, op_reply_valid(v.rcode, v.xcode, v.text), true);
		WANT_INT(label, msg->hold, rows[r].hold);
		WANT_STR(label, msg->hold_reason, rows[r].hold_reason);
		for (size_t i = 0; i < NMODS; i++) {
			if (rec.seen_state[i] == NULL)
				continue; /* not called */
			WANT_PTR(label, rec.seen_cfg[i], rec.cfg);
			WANT_PTR(label, rec.seen_state[i], &fakes[i]);
			WANT_SIZE(label, rec.seen_idx[i], i);
		}
		free(msg);
	}
}

static void test_pipeline_runs_modules_in_table_order(void **state)
{
	run_rows(order_rows, NROWS(order_rows));
}

static void test_pipeline_first_verdict_wins_and_stops_later_modules(void **state)
{
	run_rows(verdict_rows, NROWS(verdict_rows));
}

static void test_pipeline_hold_is_sticky_and_later_modules_still_run(void **state)
{
	run_rows(hold_rows, NROWS(hold_rows));
}

static void test_pipeline_does_not_call_disabled_skipped_or_hookless_modules(void **state)
{
	run_rows(skip_rows, NROWS(skip_rows));
}

static void test_pipeline_abort_and_close_reach_every_module_after_a_verdict(void **state)
{
	run_rows(cleanup_rows, NROWS(cleanup_rows));
}

/* A verdict's reply travels unchanged from the hook to the caller. */
static void test_pipeline_returns_the_deciding_modules_reply(void **state)
{
	struct op_config cfg;
	struct op_conn conn;
	struct op_msg *msg = calloc(1, sizeof(*msg));
	struct fake fakes[NMODS];
	struct op_ctx ctx;
	struct op_verdict v;

	assert_non_null(msg);
	memset(&cfg, 0, sizeof(cfg));
	memset(&conn, 0, sizeof(conn));
	memset(&ctx, 0, sizeof(ctx));
	memset(&rec, 0, sizeof(rec));
	for (size_t i = 0; i < NMODS; i++) {
		fakes[i].idx = i;
		fakes[i].action = i == 1 ? OP_ACT_TEMPFAIL : OP_ACT_CONTINUE;
		cfg.mod_enabled[i] = true;
		cfg.mod_state[i] = &fakes[i];
	}
	conn.cfg = msg->cfg = &cfg;
	ctx.conn = &conn;
	ctx.msg = msg;
	op_pipeline_run_table(mods, NMODS, OP_STAGE_RCPT, &ctx, &v);
	WANT_STR("rcode", v.rcode, "451");
	WANT_STR("xcode", v.xcode, "4.7.1");
	WANT_STR("text", v.text, "m1 says later");
	WANT_STR("reason", v.reason, "m1 says later");
	WANT_STR("module", v.module, "m1");

	/* An empty table decides nothing. */
	op_verdict_set(&v, OP_ACT_REJECT, "550", "5.7.1", "stale");
	op_pipeline_run_table(mods, 0, OP_STAGE_RCPT, &ctx, &v);
	WANT_STR("empty table", op_action_name(v.action), "continue");
	free(msg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pipeline_runs_modules_in_table_order),
	    cmocka_unit_test(test_pipeline_first_verdict_wins_and_stops_later_modules),
	    cmocka_unit_test(test_pipeline_hold_is_sticky_and_later_modules_still_run),
	    cmocka_unit_test(test_pipeline_does_not_call_disabled_skipped_or_hookless_modules),
	    cmocka_unit_test(test_pipeline_abort_and_close_reach_every_module_after_a_verdict),
	    cmocka_unit_test(test_pipeline_returns_the_deciding_modules_reply),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
