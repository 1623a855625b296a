/*
 * fake_milter.h - a stand-in for libmilter (fake_milter.c), so that the
 * milter callbacks of plugin/milter.c, static there, run unchanged in a
 * fuzz target: plugin/milter.c is linked as is, op_milter_setup() hands
 * its callback table to the fake smfi_register(), and the target calls the
 * callbacks as libmilter would, one fake connection at a time.
 *
 * The fake checks what the real MTA would refuse or mangle, aborting on:
 * a reply that is not a well-formed 4xx/5xx (fuzz_check_reply), a header
 * edit with a bad name or value (fuzz_check_header, wire form), a header
 * edit or quarantine outside end of message (libmilter allows them only
 * there), an empty quarantine reason.
 */
#ifndef OUTPOST_FAKE_MILTER_H
#define OUTPOST_FAKE_MILTER_H

#include <stdbool.h>

#include <libmilter/mfapi.h>

/* The one connection's context (its private pointer). */
extern SMFICTX *fake_ctx;

/* The callbacks op_milter_setup() registered; NULL before. */
const struct smfiDesc *fake_milter_desc(void);

/* Set macro name ("i", "{client_addr}") to value; NULL removes it.  The
 * fake keeps copies.  fake_milter_macros_clear() removes them all. */
void fake_milter_macro(const char *name, const char *value);
void fake_milter_macros_clear(void);

/* Make the MTA refuse (MI_FAILURE) the calls whose bits are set:
 * 1 addheader, 2 insheader, 4 chgheader, 8 quarantine, 16 setreply. */
void fake_milter_refuse(unsigned mask);

/* Whether end of message is running (header edits allowed). */
void fake_milter_in_eom(bool on);

#endif
