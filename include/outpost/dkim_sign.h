/*
 * dkim_sign.h - DKIM signer (RFC 6376, RFC 8463) over keys parsed once.
 *
 * One struct op_dkim_signer per message.  It is created with the keys to
 * sign with (each with its effective d= domain), the canonicalization pair,
 * the header names to sign and to oversign, t= (and optionally x=, i=).
 * Body chunks are canonicalized and hashed (SHA-256) once, whatever the
 * number of keys.  At end of message, finish() takes the header list as the
 * MTA will deliver it and produces one DKIM-Signature value per key.
 *
 * Header selection (RFC 6376 5.4.2): each name to sign is listed in h= once
 * per instance in the message, and the instances are hashed bottom-up; an
 * oversigned name is listed once more, so that a header of that name added
 * later (above or below) breaks the signature.
 *
 * Algorithms: rsa-sha256 (PKCS#1 v1.5 over the SHA-256 digest of the header
 * data) and ed25519-sha256 (RFC 8463: PureEdDSA Ed25519 over the 32-byte
 * SHA-256 digest of the header data, not over the data itself).
 *
 * Thread safety: a signer is used by one thread at a time; the keys'
 * EVP_PKEYs are only read, so many signers may share them concurrently.
 * Leaf code: never logs; errors come back as -1 with text in *err_r.
 */
#ifndef OUTPOST_DKIM_SIGN_H
#define OUTPOST_DKIM_SIGN_H

#include <stddef.h>
#include <time.h>

#include "outpost/dkim_canon.h"
#include "outpost/dkim_key.h"
#include "outpost/message.h"

/* Largest DKIM-Signature value finish() builds (a refusal, not a cut). */
#define OP_DKIM_SIG_MAX (64 * 1024)
/* Largest canonical form of one signed header. */
#define OP_DKIM_HDR_CANON_MAX (1024 * 1024)

/* One signature to make: a key and the d= it signs for. */
struct op_dkim_sign_key {
	const struct op_dkim_key *key; /* pkey and selector are used */
	const char *domain;	       /* effective d= (never "%") */
};

struct op_dkim_sign_params {
	const struct op_dkim_sign_key *keys; /* 1..n signatures */
	size_t nkeys;
	enum op_dkim_canon hdr_canon;
	enum op_dkim_canon body_canon;
	const char *const *sign_hdrs; /* names to sign; must include From */
	size_t nsign_hdrs;
	const char *const *oversign_hdrs; /* names to sign once more than present */
	size_t noversign_hdrs;
	time_t timestamp;     /* t=; 0 means time(NULL) when the signer is made */
	unsigned long ttl;    /* x= is t= + ttl; 0 means no x= */
	const char *identity; /* i= ("user@sub.d" or "@d"), or NULL for none */
};

struct op_dkim_signer;

/* Make a signer for one message from p (stage: any time before the first
 * body chunk, e.g. end of headers).  The arrays in p are copied; the strings
 * they point to (names, domains, identity) and the keys are borrowed and
 * must outlive the signer (they live in the config snapshot or the message
 * pool).  Header name lists are sets: case-insensitive duplicates are
 * ignored.  Returns 0 with *signer_r set (free with op_dkim_signer_free), or
 * -1 with *err_r set: no keys, a key without pkey or whose type does not
 * match its alg, a bad domain, selector or identity, From not signed, an
 * invalid header name, or memory short. */
int op_dkim_signer_new(const struct op_dkim_sign_params *p, struct op_dkim_signer **signer_r,
		       const char **err_r);

/* Hash the next n bytes of the body, exactly as the MTA passes them to the
 * milter (CRLF line ends; any split).  Stage: body.  Returns 0, or -1 with
 * *err_r set (digest failure, or called after finish). */
int op_dkim_signer_body(struct op_dkim_signer *s, const void *data, size_t n, const char **err_r);

/* End of message: hdrs[0..nhdrs) are the headers as the MTA will deliver
 * them, top to bottom, values as received (leading space, folding kept),
 * without the signatures being made.  Builds one DKIM-Signature value per
 * key, in the order of p->keys, read them with op_dkim_signer_value().
 * Returns 0, or -1 with *err_r set: no From header in hdrs, a key failed
 * to sign, a value would pass OP_DKIM_SIG_MAX, memory short, or called
 * twice.  May be called once. */
int op_dkim_signer_finish(struct op_dkim_signer *s, const struct op_header *hdrs, size_t nhdrs,
			  const char **err_r);

/* The DKIM-Signature value for key i (0-based, i < nkeys) after a
 * successful finish(): a leading space, folded with CRLF TAB at about 78
 * columns, tags v a c d s [i] t [x] h bh b, b= last.  Owned by the signer,
 * valid until op_dkim_signer_free().  NULL before finish or for a bad i.
 * The milter layer must strip the CRs before handing it to libmilter (the
 * MTA adds them back on the wire), as opendkim does. */
const char *op_dkim_signer_value(const struct op_dkim_signer *s, size_t i);

/* The body hash (bh=, base64) after finish, or NULL; for logs and tests. */
const char *op_dkim_signer_bh(const struct op_dkim_signer *s);

/* Free the signer and its values; accepts NULL and *s == NULL; sets
 * *s = NULL.  Stage: end of message or abort. */
void op_dkim_signer_free(struct op_dkim_signer **s);

#endif
