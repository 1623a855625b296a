/*
 * milter_engine_int.h - the protocol engine's state, shared by its two
 * halves: milter_engine.c (packets to callbacks and replies) and
 * milter_serve.c (the socket).  Nothing else includes it; the interface is
 * milter_engine.h.
 */
#ifndef OUTPOST_MILTER_ENGINE_INT_H
#define OUTPOST_MILTER_ENGINE_INT_H

/* Constants only: no libmilter code is linked. */
#include <libmilter/mfapi.h>

#include "milter_engine.h"

/* Macro slots, one per command that may carry macros (libmilter's CI_*). */
enum { MAC_CONNECT, MAC_HELO, MAC_MAIL, MAC_RCPT, MAC_DATA, MAC_EOM, MAC_EOH, MAC__COUNT };

/* Where a connection is, for the few order checks and for abort-on-break. */
enum phase { PH_NEW, PH_READY, PH_MESSAGE, PH_EOM };

struct op_mctx {
	const struct op_mcallbacks *cb;
	void *priv;
	enum phase phase;
	bool renewing;			 /* in the negotiate callback after SMFIC_QUIT_NC */
	unsigned handled;		 /* packets handled by the last op_mctx_handle() */
	uint32_t mta_actions, mta_steps; /* offered */
	uint32_t actions, steps;	 /* negotiated */
	char *symlist[SMFIM_LAST + 1];
	char *mac[MAC__COUNT]; /* copies of SMFIC_MACRO data: name NUL value NUL ... */
	size_t maclen[MAC__COUNT];
	char reply[512]; /* from op_mctx_setreply(), "" when none */
	struct op_buf *out;
	char **argv;
	size_t argvcap;
	unsigned char *in;
	size_t inlen, incap;
	unsigned long reads, writes, packets; /* of this connection, for the log */
};

/* Forget the macros of slot from on (MAC_*). */
void op_mctx_clear_macros(struct op_mctx *ctx, int from);

/* Handle the complete packets of in[0..len), replies into ctx->out.
 * Bytes used; *end set to 1 after QUIT and -1 on a protocol error. */
size_t op_mctx_handle(struct op_mctx *ctx, const unsigned char *in, size_t len, int *end);

#endif
