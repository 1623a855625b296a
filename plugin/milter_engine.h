/*
 * milter_engine.h - outpost's own implementation of the filter side of the
 * milter protocol (version 6, as Postfix and Sendmail speak it).
 *
 * Why not libmilter: Debian's libmilter reads every protocol packet with a
 * poll() and two read()s, handing each packet from its pool thread to a
 * worker: about 80 poll()s, 50 read()s and 8 context switches per message,
 * which measured as 60 % of outpost's CPU time (issue 8).  This engine reads
 * whatever the MTA has sent into one buffer, handles every complete packet
 * in it, and writes the replies of the batch together before it reads
 * again: a message costs a few system calls.  The constants come from
 * libmilter's headers (<libmilter/mfdef.h>, <libmilter/mfapi.h>); no
 * libmilter code is linked.
 *
 * The engine is the transport and the state machine; plugin/milter.c
 * holds the callbacks (the same contract as libmilter's xxfi_* callbacks:
 * they return SMFIS_* statuses) and is the only user of this interface,
 * besides tests/fuzz/fuzz_milter.c, which drives it from memory.
 *
 * One struct op_mctx is one MTA connection, used by one thread at a time.
 */
#ifndef OUTPOST_MILTER_ENGINE_H
#define OUTPOST_MILTER_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "outpost/buf.h"

/* Largest data of one packet accepted from the MTA (libmilter: 64 KB).
 * Larger than any body chunk an MTA sends, so that a huge header reaches
 * the header limits (and their configured reply) instead of ending the
 * connection. */
#define OP_MILTER_MAX_PACKET (2u * 1024 * 1024)

struct op_mctx;

/* The callbacks, as libmilter's struct smfiDesc: each returns an SMFIS_*
 * status.  NULL callbacks answer SMFIS_CONTINUE.  Strings are NUL
 * terminated and live until the callback returns; argv ends with NULL. */
struct op_mcallbacks {
	/* Offered actions and protocol steps in, wanted ones out (each a
	 * subset of the offer); SMFIS_CONTINUE, or anything else to refuse
	 * the connection. */
	int (*negotiate)(struct op_mctx *ctx, uint32_t actions, uint32_t steps, uint32_t *actions_r,
			 uint32_t *steps_r);
	int (*connect)(struct op_mctx *ctx, const char *hostname);
	int (*helo)(struct op_mctx *ctx, const char *helo);
	int (*envfrom)(struct op_mctx *ctx, char **argv);
	int (*envrcpt)(struct op_mctx *ctx, char **argv);
	int (*header)(struct op_mctx *ctx, const char *name, const char *value);
	int (*eoh)(struct op_mctx *ctx);
	int (*body)(struct op_mctx *ctx, const unsigned char *chunk, size_t len);
	int (*eom)(struct op_mctx *ctx);
	int (*abort)(struct op_mctx *ctx);
	/* Always called once at the end of a connection (or at SMFIC_QUIT_NC,
	 * when a new connection follows on the same socket). */
	int (*close)(struct op_mctx *ctx);
};

/* A connection state for the callbacks cb.  NULL when memory is short. */
struct op_mctx *op_mctx_new(const struct op_mcallbacks *cb);
void op_mctx_free(struct op_mctx **ctx);

/* Serving a connection from an event loop (milter_workers.c).
 * op_mctx_begin(): ctx starts serving a new connection (it may have
 * served others before: its buffers are kept).  op_mctx_pump(): read what
 * the MTA has sent on fd without waiting for more, handle it and write
 * the replies (out: the caller's scratch buffer, left empty); 0 when the
 * MTA has sent nothing more yet (call again once fd is readable), 1 after
 * a QUIT, -1 when the connection broke (logged).  After 1 or -1,
 * op_mctx_end() calls the end callbacks (abort first when a message was
 * open).  Neither closes fd. */
void op_mctx_begin(struct op_mctx *ctx);
int op_mctx_pump(struct op_mctx *ctx, int fd, struct op_buf *out);
void op_mctx_end(struct op_mctx *ctx);

/* Without a socket (fuzzing): handle every complete packet of in[0..len)
 * and return how many bytes were used; the replies are appended to *out.
 * -1 when the connection would end here (QUIT or a protocol error);
 * op_mctx_finish() then calls the end callbacks. */
long op_mctx_feed(struct op_mctx *ctx, const unsigned char *in, size_t len, struct op_buf *out);
void op_mctx_finish(struct op_mctx *ctx);

/* --- for the callbacks --- */

/* True once the protocol steps are agreed with the MTA (*steps_r): in
 * the negotiate callback that runs again after SMFIC_QUIT_NC, the steps
 * must stay those agreed at the start, whatever the config says now. */
bool op_mctx_agreed(const struct op_mctx *ctx, uint32_t *steps_r);

void op_mctx_setpriv(struct op_mctx *ctx, void *priv);
void *op_mctx_getpriv(const struct op_mctx *ctx);

/* Macro name ("i", "{auth_authen}"; braces optional) as the MTA last
 * defined it for this connection or message; NULL when it did not. */
const char *op_mctx_macro(const struct op_mctx *ctx, const char *name);

/* Ask for the macros of stage (SMFIM_*); only in negotiate, after which
 * they are sent with the negotiation reply.  0 or -1. */
int op_mctx_setsymlist(struct op_mctx *ctx, int stage, const char *list);

/* The reply text of the next SMFIS_REJECT or SMFIS_TEMPFAIL: rcode (three
 * digits, 4xx or 5xx), xcode ("x.y.z" of the same class, or NULL/""), text
 * (no CR or LF).  0, or -1 when malformed (libmilter's smfi_setreply). */
int op_mctx_setreply(struct op_mctx *ctx, const char *rcode, const char *xcode, const char *text);

/* Message changes, only from the eom callback and only when the action
 * was negotiated (libmilter's smfi_addheader, smfi_insheader,
 * smfi_chgheader with value NULL to delete, smfi_quarantine).  0 or -1. */
int op_mctx_addheader(struct op_mctx *ctx, const char *name, const char *value);
int op_mctx_insheader(struct op_mctx *ctx, int index, const char *name, const char *value);
int op_mctx_chgheader(struct op_mctx *ctx, const char *name, int index, const char *value);
int op_mctx_quarantine(struct op_mctx *ctx, const char *reason);

#endif
