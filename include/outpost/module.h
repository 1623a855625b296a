/*
 * module.h - the one module contract.
 *
 * A module is one feature (rate, spf, track, dkim) in one file
 * plugin/mod_<name>.c that exports one `const struct op_module
 * mod_<name>`.  The pipeline (plugin/pipeline.c) lists the modules in a fixed
 * order and calls each enabled module's hook for a stage; the first verdict
 * that is not CONTINUE wins (HOLD is recorded and the pipeline goes on).
 *
 * Stages, with what the hook may read in struct op_ctx:
 *   CONNECT  conn (client_addr, client_name, daemon_name, host_class)
 *   HELO     conn->helo
 *   MAIL     msg (mail_from, auth_*, class, tenant)
 *   RCPT     rcpt (this recipient, not yet in msg->rcpts)
 *   HEADER   hdr (one header as received); no reply: a verdict is deferred
 *   EOH      every header in msg->hdrs; the last stage to queue edits of
 *            headers that are signed
 *   BODY     body, bodylen (one chunk); no reply: a verdict is deferred
 *   EOM      everything; edits may still be queued (unsigned headers only)
 *   ABORT    the transaction ends without EOM (msg still valid)
 *   CLOSE    the connection ends (msg is NULL)
 * A verdict at HEADER or BODY is kept as msg->pending and given at EOH or
 * EOM.  Hooks run on the connection's thread; they must not block
 * beyond their own configured timeouts and must never exit or abort.
 */
#ifndef OUTPOST_MODULE_H
#define OUTPOST_MODULE_H

#include <stdbool.h>
#include <stddef.h>

#include "outpost/config.h"
#include "outpost/message.h"
#include "outpost/verdict.h"

enum op_stage {
	OP_STAGE_CONNECT = 0,
	OP_STAGE_HELO,
	OP_STAGE_MAIL,
	OP_STAGE_RCPT,
	OP_STAGE_HEADER,
	OP_STAGE_EOH,
	OP_STAGE_BODY,
	OP_STAGE_EOM,
	OP_STAGE_ABORT,
	OP_STAGE_CLOSE,
	OP_STAGE__COUNT
};

#define OP_STAGE_BIT(s) (1u << (s))

struct op_ctx {
	const struct op_config
	    *cfg; /* the message's snapshot (connection's at CONNECT/HELO/CLOSE) */
	struct op_conn *conn;
	struct op_msg *msg; /* NULL at CONNECT, HELO, CLOSE */
	size_t modidx;	    /* this module's index in the pipeline */
	void *state;	    /* cfg->mod_state[modidx] */
	/* stage arguments */
	const char *rcpt;	     /* RCPT: address without <> */
	char **rcpt_args;	     /* RCPT: ESMTP args, NULL terminated */
	const struct op_header *hdr; /* HEADER */
	const unsigned char *body;   /* BODY */
	size_t bodylen;
};

typedef void (*op_hook_fn)(struct op_ctx *ctx, struct op_verdict *v);

struct op_module {
	const char *name; /* "dkim": file name, function prefix, config section */

	/* Whether the config turns this module on. */
	bool (*enabled)(const struct op_config *cfg);

	/* Build the module's snapshot state from cfg (and the raw config tree,
	 * a libconfig config_t, for structured sections).  Called once per
	 * load, only when enabled.  Returns 0, or -1 with "FILE:LINE: what"
	 * written into err.  May be NULL. */
	int (*init)(struct op_config *cfg, const void *raw, void **state_r, char *err,
		    size_t errsize);

	/* Free what init built; accepts a half-built state.  May be NULL. */
	void (*fini)(void *state);

	/* Free the module's per-message state (msg->mod_msg[idx]) at the end of
	 * the message, whatever its outcome.  May be NULL when the state lives
	 * in the message pool. */
	void (*msg_free)(void *msgstate);

	/* Stages at which a hook's verdict is answered at once; the milter
	 * layer asks the MTA for no reply at the others, and a verdict other
	 * than CONTINUE there waits for the next stage the MTA waits at (end
	 * of message at the latest). */
	unsigned reply_stages;

	op_hook_fn hook[OP_STAGE__COUNT];
};

#endif
