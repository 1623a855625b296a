/*
 * unsub.c - one-click unsubscribe tokens (see include/outpost/unsub.h and
 * docs/unsubscribe-token.md).
 *
 * The payload is binary with one-octet length prefixes so that a verifier
 * in any language needs no parser beyond slicing; the MAC covers every
 * octet before it.  Verification decodes, checks the version, then the MAC
 * against every secret (constant-time compare, all secrets tried so the
 * time does not tell which matched), and only then looks at the expiry: an
 * expired token is reported as expired only when it is authentic.
 *
 * Limits: each field OP_UNSUB_FIELD_MAX octets, no NUL inside.
 */
#include "config.h"

#include <stdbool.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "outpost/unsub.h"

#define PAYLOAD_MAX (1 + 8 + 3 * (1 + OP_UNSUB_FIELD_MAX))
#define PAYLOAD_MIN (1 + 8 + 3)

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

long op_b64url_encode(const void *in, size_t n, char *out, size_t outsize)
{
	const unsigned char *p = in;
	size_t o = 0, need = (n / 3) * 4 + (n % 3 ? n % 3 + 1 : 0);

	if (need + 1 > outsize)
		return -1;
	for (size_t i = 0; i < n; i += 3) {
		unsigned long v = (unsigned long)p[i] << 16;
		size_t left = n - i;

		if (left > 1)
			v |= (unsigned long)p[i + 1] << 8;
		if (left > 2)
			v |= p[i + 2];
		out[o++] = b64url[(v >> 18) & 63];
		out[o++] = b64url[(v >> 12) & 63];
		if (left > 1)
			out[o++] = b64url[(v >> 6) & 63];
		if (left > 2)
			out[o++] = b64url[v & 63];
	}
	out[o] = '\0';
	return (long)o;
}

static int b64url_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	return c == '_' ? 63 : -1;
}

long op_b64url_decode(const char *in, size_t n, void *out, size_t outsize)
{
	unsigned char *o = out;
	unsigned long acc = 0;
	size_t bits = 0, len = 0;

	if (n % 4 == 1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int v = b64url_value(in[i]);

		if (v < 0)
			return -1;
		acc = (acc << 6) | (unsigned long)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (len == outsize)
				return -1;
			o[len++] = (unsigned char)(acc >> bits);
			acc &= (1UL << bits) - 1;
		}
	}
	/* Canonical text only: the bits left over must be zero. */
	return acc != 0 ? -1 : (long)len;
}

/* Append a length-prefixed field; false when it is too long. */
static bool put_field(unsigned char *buf, size_t *o, const char *s)
{
	size_t n = strlen(s);

	if (n > OP_UNSUB_FIELD_MAX)
		return false;
	buf[(*o)++] = (unsigned char)n;
	memcpy(buf + *o, s, n);
	*o += n;
	return true;
}

static bool mac(const void *secret, size_t slen, const unsigned char *data, size_t n,
		unsigned char out[OP_UNSUB_MAC_LEN])
{
	unsigned int len = 0;

	if (slen > 0x7fffffff)
		return false;
	return HMAC(EVP_sha256(), secret, (int)slen, data, n, out, &len) != NULL &&
	       len == OP_UNSUB_MAC_LEN;
}

int op_unsub_encode(const struct op_unsub *u, const void *secret, size_t secret_len, char *out,
		    size_t outsize, const char **err_r)
{
	unsigned char buf[PAYLOAD_MAX + OP_UNSUB_MAC_LEN];
	size_t o = 0;

	buf[o++] = OP_UNSUB_VERSION;
	for (int i = 7; i >= 0; i--)
		buf[o++] = (unsigned char)(u->expires >> (8 * i));
	if (!put_field(buf, &o, u->tenant) || !put_field(buf, &o, u->list) ||
	    !put_field(buf, &o, u->rcpt)) {
		*err_r = "a token field is longer than 255 octets";
		return -1;
	}
	if (!mac(secret, secret_len, buf, o, buf + o)) {
		*err_r = "HMAC-SHA256 failed";
		return -1;
	}
	if (op_b64url_encode(buf, o + OP_UNSUB_MAC_LEN, out, outsize) < 0) {
		*err_r = "token buffer too small";
		return -1;
	}
	return 0;
}

/* Copy the length-prefixed field at *o into dst; false when it overruns
 * end or holds a NUL. */
static bool get_field(const unsigned char *buf, size_t *o, size_t end, char *dst)
{
	size_t n;

	if (*o >= end)
		return false;
	n = buf[(*o)++];
	if (n > end - *o || memchr(buf + *o, '\0', n) != NULL)
		return false;
	memcpy(dst, buf + *o, n);
	dst[n] = '\0';
	*o += n;
	return true;
}

/* Split the decoded token into *u; returns the payload length or 0. */
static size_t parse(const unsigned char *buf, size_t n, struct op_unsub *u)
{
	size_t o = 9, end;

	if (n < PAYLOAD_MIN + OP_UNSUB_MAC_LEN)
		return 0;
	end = n - OP_UNSUB_MAC_LEN;
	u->version = buf[0];
	u->expires = 0;
	for (int i = 1; i <= 8; i++)
		u->expires = (u->expires << 8) | buf[i];
	if (!get_field(buf, &o, end, u->tenant) || !get_field(buf, &o, end, u->list) ||
	    !get_field(buf, &o, end, u->rcpt) || o != end)
		return 0;
	return end;
}

enum op_unsub_status op_unsub_verify(const char *token, const char *const *secrets, size_t n,
				     time_t now, struct op_unsub *u_r)
{
	unsigned char buf[PAYLOAD_MAX + OP_UNSUB_MAC_LEN], want[OP_UNSUB_MAC_LEN];
	struct op_unsub u = {0};
	long len;
	size_t plen;
	bool ok = false;

	memset(u_r, 0, sizeof(*u_r));
	if (n == 0)
		return OP_UNSUB_NO_SECRET;
	len = op_b64url_decode(token, strlen(token), buf, sizeof(buf));
	if (len < 1)
		return OP_UNSUB_MALFORMED;
	if (buf[0] != OP_UNSUB_VERSION)
		return OP_UNSUB_BAD_VERSION;
	plen = parse(buf, (size_t)len, &u);
	if (plen == 0)
		return OP_UNSUB_MALFORMED;
	for (size_t i = 0; i < n; i++) {
		if (!mac(secrets[i], strlen(secrets[i]), buf, plen, want))
			continue;
		ok |= CRYPTO_memcmp(want, buf + plen, OP_UNSUB_MAC_LEN) == 0;
	}
	OPENSSL_cleanse(want, sizeof(want));
	if (!ok)
		return OP_UNSUB_BAD_SIGNATURE;
	*u_r = u;
	return now >= 0 && (uint64_t)now >= u.expires ? OP_UNSUB_EXPIRED : OP_UNSUB_VALID;
}

const char *op_unsub_status_name(enum op_unsub_status s)
{
	static const char *const names[] = {
	    [OP_UNSUB_VALID] = "valid",
	    [OP_UNSUB_MALFORMED] = "malformed",
	    [OP_UNSUB_BAD_VERSION] = "unknown version",
	    [OP_UNSUB_BAD_SIGNATURE] = "bad signature",
	    [OP_UNSUB_EXPIRED] = "expired",
	    [OP_UNSUB_NO_SECRET] = "no secret configured",
	};

	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}
