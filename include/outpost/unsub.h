/*
 * unsub.h - one-click unsubscribe tokens (RFC 8058 links of the track
 * module, checked by `outpostctl unsub verify` or the provider's own web
 * endpoint).
 *
 * A token is the base64url text (RFC 4648 section 5, no padding) of
 *
 *   version (1 octet, 1) | expiry (8 octets, big-endian Unix seconds) |
 *   tenant length (1) | tenant | list length (1) | list |
 *   recipient length (1) | recipient | HMAC-SHA256(secret, all before it)
 *
 * docs/unsubscribe-token.md describes it for implementers in other
 * languages.  Several secrets may be configured: the first signs, any
 * verifies, so a secret is rotated by putting the new one first and
 * dropping the old one once its tokens have expired.  The MAC is compared
 * in constant time.  Leaf code: it never logs.
 */
#ifndef OUTPOST_UNSUB_H
#define OUTPOST_UNSUB_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define OP_UNSUB_VERSION    1
#define OP_UNSUB_FIELD_MAX  255 /* octets of tenant, list or recipient */
#define OP_UNSUB_MAC_LEN    32	/* HMAC-SHA256 */
#define OP_UNSUB_SECRET_MIN 16	/* octets of a secret, at least */
/* base64url of the largest token (1 + 8 + 3 * 256 + 32 octets), plus NUL */
#define OP_UNSUB_TOKEN_MAX 1080

struct op_unsub {
	unsigned version;
	uint64_t expires; /* Unix seconds */
	char tenant[OP_UNSUB_FIELD_MAX + 1];
	char list[OP_UNSUB_FIELD_MAX + 1]; /* "" when the message names no list */
	char rcpt[OP_UNSUB_FIELD_MAX + 1]; /* "" when the token is not per recipient */
};

enum op_unsub_status {
	OP_UNSUB_VALID = 0,
	OP_UNSUB_MALFORMED,	/* not base64url, too short or long, bad lengths, NUL inside */
	OP_UNSUB_BAD_VERSION,	/* a version this code does not know */
	OP_UNSUB_BAD_SIGNATURE, /* no configured secret made this MAC (tampered or foreign) */
	OP_UNSUB_EXPIRED,	/* authentic, but past its expiry */
	OP_UNSUB_NO_SECRET,	/* nothing to verify with */
};

/* Write the token for u (version ignored: always OP_UNSUB_VERSION) signed
 * with secret (secret_len octets) into out (outsize; OP_UNSUB_TOKEN_MAX is
 * always enough).  Returns 0, or -1 with *err_r (a field over
 * OP_UNSUB_FIELD_MAX, out too small, OpenSSL failure). */
int op_unsub_encode(const struct op_unsub *u, const void *secret, size_t secret_len, char *out,
		    size_t outsize, const char **err_r);

/* Check token against each of secrets[0..n) (NUL-terminated strings) at
 * time now.  Fills *u_r when the MAC is right (VALID and EXPIRED), zeroes
 * it otherwise.  Returns the status. */
enum op_unsub_status op_unsub_verify(const char *token, const char *const *secrets, size_t n,
				     time_t now, struct op_unsub *u_r);

/* "valid", "malformed", "unknown version", "bad signature", "expired",
 * "no secret configured". */
const char *op_unsub_status_name(enum op_unsub_status s);

/* base64url without padding of n octets of in into out (outsize).  Returns
 * the text length, or -1 when out is too small. */
long op_b64url_encode(const void *in, size_t n, char *out, size_t outsize);

/* Decode base64url text (no padding, canonical: unused bits zero) into out
 * (outsize).  Returns the octet count, or -1 (bad character, bad length,
 * out too small). */
long op_b64url_decode(const char *in, size_t n, void *out, size_t outsize);

#endif
