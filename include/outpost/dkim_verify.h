/*
 * dkim_verify.h - DKIM verification of external mail (RFC 6376), through
 * libopendkim; plugin/dkim_verify.c is the only file of plugin/ that
 * includes it (signing, in mod_dkim.c, does without it).
 *
 * Headers are fed once at end of headers, the body chunk by chunk as it
 * arrives (libopendkim hashes it; nothing is buffered here), and the
 * results come per signature at end of message, as RFC 8601 names them.
 * A key that cannot be fetched for a DNS failure is "temperror", never
 * skipped.
 */
#ifndef OUTPOST_DKIM_VERIFY_H
#define OUTPOST_DKIM_VERIFY_H

#include <stdbool.h>
#include <stddef.h>

enum op_dkimv_result {
	OP_DKIMV_PASS = 0,
	OP_DKIMV_FAIL,	    /* bad signature, body hash mismatch */
	OP_DKIMV_NEUTRAL,   /* not evaluated (ignored by the library) */
	OP_DKIMV_POLICY,    /* not evaluated: past auth.dkim_max_signatures */
	OP_DKIMV_TEMPERROR, /* the key could not be fetched (DNS failure) */
	OP_DKIMV_PERMERROR, /* no key, bad key, malformed signature, expired */
	OP_DKIMV__COUNT
};

struct op_dkimv_sig {
	enum op_dkimv_result result;
	char domain[256];  /* d= */
	char selector[64]; /* s= */
	char b[16];	   /* the first characters of b= (RFC 6008 header.b) */
	char reason[80];   /* why not pass, for the header comment and logs */
};

struct op_dkimv_lib;
struct op_dkimv;

/* A verifier library handle for one config snapshot.  timeout_s bounds
 * each key lookup; keyfile, when not NULL, serves keys from a file of
 * "selector._domainkey.domain TXT-data" lines instead of DNS (tests).
 * Returns 0, or -1 with *err_r. */
int op_dkimv_lib_new(long timeout_s, const char *keyfile, struct op_dkimv_lib **lib_r,
		     const char **err_r);
void op_dkimv_lib_free(struct op_dkimv_lib **lib);

/* Start verifying one message; id names it in the library's logs.
 * Returns 0, or -1 with *err_r. */
int op_dkimv_new(struct op_dkimv_lib *lib, const char *id, struct op_dkimv **v_r,
		 const char **err_r);

/* One received header: name, and value as received (leading space and
 * folding kept).  Returns 0, or -1 with *err_r (the message can then not
 * be verified: every signature is permerror). */
int op_dkimv_header(struct op_dkimv *v, const char *name, const char *value, size_t vlen,
		    const char **err_r);

/* End of headers: returns the number of signatures found (0: nothing to
 * verify, the body need not be fed), or -1 with *err_r. */
int op_dkimv_eoh(struct op_dkimv *v, const char **err_r);

/* One body chunk.  Returns 0, or -1 with *err_r. */
int op_dkimv_body(struct op_dkimv *v, const unsigned char *p, size_t n, const char **err_r);

/* End of message: the result of each signature (at most max, in header
 * order) into sigs; *n_r gets how many.  Returns 0, or -1 with *err_r. */
int op_dkimv_eom(struct op_dkimv *v, struct op_dkimv_sig *sigs, size_t max, size_t *n_r,
		 const char **err_r);

/* Free; accepts NULL; sets *v = NULL. */
void op_dkimv_free(struct op_dkimv **v);

/* "pass", "fail", "neutral", "policy", "temperror", "permerror". */
const char *op_dkimv_result_name(enum op_dkimv_result r);

#endif
