/*
 * verdict.h - what a module (or the milter layer) decides at a stage, and the
 * SMTP reply that goes with it.
 *
 * Verdicts map to libmilter codes in one place (milter.c) and replies are
 * built and checked in one place (verdict.c): every reply outpost sends is a
 * well-formed 4xx/5xx with a matching enhanced status code, printable ASCII
 * without CR or LF, '%' doubled for libmilter.
 */
#ifndef OUTPOST_VERDICT_H
#define OUTPOST_VERDICT_H

#include <stdbool.h>
#include <stddef.h>

/* Ordered by strength: when two verdicts meet, the larger wins, except that
 * HOLD is sticky (recorded on the message, the pipeline goes on). */
enum op_action {
	OP_ACT_CONTINUE = 0, /* no opinion, go on */
	OP_ACT_HOLD,	     /* accept, but put into the MTA's hold queue */
	OP_ACT_ACCEPT,	     /* accept, no further processing of this message */
	OP_ACT_DISCARD,	     /* accept and drop silently (never a default) */
	OP_ACT_TEMPFAIL,     /* 4xx: the client retries */
	OP_ACT_REJECT,	     /* 5xx */
	OP_ACT__COUNT
};

/* Error classes: each maps to a configured action (actions.on_<class>_error)
 * in op_verdict_error(), the one place that decides it. */
enum op_errclass {
	OP_ERR_INTERNAL = 0, /* a bug or an unexpected library failure */
	OP_ERR_RESOURCE,     /* memory, file descriptors */
	OP_ERR_CONFIG,	     /* the snapshot cannot serve this message */
	OP_ERR_DNS,	     /* a DNS lookup failed or timed out */
	OP_ERR_STORE,	     /* the rate store is unreachable */
	OP_ERR_LIMIT,	     /* a configured bound was exceeded */
	OP_ERR__COUNT
};

#define OP_REPLY_TEXT_MAX 400

struct op_verdict {
	enum op_action action;
	char rcode[4];		      /* "451", "550"; "" = the MTA's default */
	char xcode[12];		      /* "4.7.1" */
	char text[OP_REPLY_TEXT_MAX]; /* reply text, already sanitised */
	const char *module;	      /* who decided (static name) */
	char reason[200];	      /* for the log, may be more precise than text */
};

struct op_config;

/* Reset to CONTINUE with no reply. */
void op_verdict_clear(struct op_verdict *v);

/* Set action and reply.  rcode must be 4xx for TEMPFAIL and 5xx for REJECT,
 * xcode's class digit must match; on a mismatch or a malformed code the
 * reply falls back to the standard one for the action (451 4.3.0 / 550
 * 5.7.1) so nothing malformed ever reaches the MTA.  The text is sanitised
 * (printable ASCII, no CR/LF).  Every field of *v is set (module to NULL:
 * the caller names itself afterwards), so v need not be cleared first.
 * Returns 0, or -1 when the codes were replaced by the fallback. */
int op_verdict_set(struct op_verdict *v, enum op_action a, const char *rcode, const char *xcode,
		   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* The verdict for an error of class c under cfg's actions.on_*_error:
 * tempfail -> 451 4.<detail>, reject -> 550 5.<detail>, accept -> ACCEPT.
 * detail is the enhanced code without its class digit ("3.0", "5.3"); the
 * reason goes to v->reason and, for 4xx/5xx, into the reply text. */
void op_verdict_error(struct op_verdict *v, const struct op_config *cfg, enum op_errclass c,
		      const char *detail, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* True when code/xcode/text form a reply Postfix and Sendmail accept. */
bool op_reply_valid(const char *rcode, const char *xcode, const char *text);

/* Write text into the reply buffer as libmilter wants it: printable ASCII,
 * CR/LF/controls replaced by spaces, '%' doubled.  Always NUL terminates. */
void op_reply_sanitise(char *out, size_t outsize, const char *text);

/* "continue", "hold", "accept", "discard", "tempfail", "reject". */
const char *op_action_name(enum op_action a);

/* Parse the names above; -1 when unknown. */
int op_action_parse(const char *name);

/* The stronger of two verdicts: copies src over dst when src outranks dst
 * (HOLD never replaces a terminating verdict). */
void op_verdict_merge(struct op_verdict *dst, const struct op_verdict *src);

#endif
