/*
 * mcheck.h - the promises of outpost's milter replies, checked on the
 * wire (mcheck.c), for the two targets that drive the real protocol
 * engine (plugin/milter_engine.c) from memory: fuzz_milter.c (event
 * scripts encoded as Postfix would send them) and fuzz_milter_wire.c (raw
 * packets).
 *
 * A target feeds one MTA packet at a time to op_mctx_feed() and hands the
 * packet and everything the engine wrote for it to mcheck_replies(), which
 * aborts (FUZZ_CHECK) unless:
 * - every reply packet is well formed: a length that counts the command
 *   byte and fits, a reply code the engine may send (SMFIR_CONTINUE,
 *   ACCEPT, REJECT, TEMPFAIL, DISCARD, REPLYCODE, ADDHEADER, INSHEADER,
 *   CHGHEADER, QUARANTINE; SMFIC_OPTNEG to the negotiation), its data as
 *   the code wants (none, or NUL-terminated strings);
 * - the negotiation is answered by one SMFIC_OPTNEG packet whose version,
 *   actions and protocol steps are a subset of the offer, its macro lists
 *   well formed and only when SMFIF_SETSYMLIST was agreed; nothing is
 *   accepted before it nor a second one;
 * - a command of a stage negotiated as no-reply (SMFIP_NR_*) gets no packet
 *   at all; connect, HELO, MAIL, RCPT, header, end of headers, body, DATA,
 *   unknown commands and end of message otherwise get exactly one final
 *   reply; macros, abort, QUIT and QUIT_NC get none;
 * - header changes (h, i, m) and quarantine (q) come only for end of
 *   message, before its final reply, and only when their action was
 *   agreed; names are field names and values carry no CR
 *   (fuzz_check_header, wire form); a quarantine reason is one line;
 * - an SMFIR_REPLYCODE text is "[45]NN [45].N.N text" with the class of the
 *   enhanced code equal to the reply's, printable ASCII, '%' doubled
 *   (fuzz_check_reply);
 * - a packet that ends the connection (QUIT, a protocol error) gets no
 *   reply.
 */
#ifndef OUTPOST_MCHECK_H
#define OUTPOST_MCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What the connection agreed so far; zero it for a new connection. */
struct mcheck_neg {
	bool done;		 /* negotiation answered */
	uint32_t actions, steps; /* agreed (from the engine's reply) */
};

/* Check out[0..outlen), all the engine wrote for the one packet of command
 * cmd with data[0..len); ended: op_mctx_feed() returned -1 for it.  Updates
 * *neg from a negotiation reply.  Aborts when a promise is broken. */
void mcheck_replies(struct mcheck_neg *neg, char cmd, const unsigned char *data, size_t len,
		    const unsigned char *out, size_t outlen, bool ended);

#endif
