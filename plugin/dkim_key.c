/*
 * dkim_key.c - DKIM private keys: load and check once, publish, generate
 * (see include/outpost/dkim_keyload.h for the formats and rules).
 *
 * Owns: reading a key file (bounded by OP_DKIM_KEY_FILE_MAX, checked with
 * fstat on the opened descriptor), telling its format apart (PEM, base64
 * Ed25519 seed, base64 DER, DER), the TXT record of the public half and its
 * comparison with what DNS serves, and key generation for `outpostctl
 * keygen`.  Private key bytes read or decoded here are wiped before they are
 * freed.  Leaf code: returns -1 and error text, never logs.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "outpost/dkim_keyload.h"

#define ED25519_LEN 32 /* seed and public key, RFC 8032 */

struct op_dkim_keyloader {
	OSSL_DECODER_CTX *dctx; /* DER private keys of any type, into *out */
	EVP_PKEY *out;		/* where dctx stores what it decoded */
};

__attribute__((format(printf, 3, 4))) static void kerr(char *err, size_t errsize, const char *fmt,
						       ...)
{
	va_list ap;

	if (err == NULL || errsize == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errsize, fmt, ap);
	va_end(ap);
}

/* OpenSSL's reason for the last failure, or "" (and its queue emptied, so
 * a stale error never shows up in an unrelated message later). */
static const char *ssl_reason(void)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	ERR_clear_error();
	return r ? r : "";
}

const char *op_dkim_alg_name(enum op_dkim_alg a)
{
	return a == OP_DKIM_ED25519_SHA256 ? "ed25519-sha256" : "rsa-sha256";
}

int op_dkim_alg_parse(const char *s)
{
	if (strcmp(s, "rsa-sha256") == 0 || strcmp(s, "rsa") == 0)
		return OP_DKIM_RSA_SHA256;
	if (strcmp(s, "ed25519-sha256") == 0 || strcmp(s, "ed25519") == 0)
		return OP_DKIM_ED25519_SHA256;
	return -1;
}

struct op_dkim_keyloader *op_dkim_keyloader_new(void)
{
	struct op_dkim_keyloader *l = calloc(1, sizeof(*l));

	if (l == NULL)
		return NULL;
	/* No structure and no key type given: the one decoder accepts
	 * PKCS#1 and PKCS#8 alike; selection limits it to private keys. */
	l->dctx =
	    OSSL_DECODER_CTX_new_for_pkey(&l->out, "DER", NULL, NULL, EVP_PKEY_KEYPAIR, NULL, NULL);
	if (l->dctx == NULL) {
		ERR_clear_error();
		free(l);
		return NULL;
	}
	return l;
}

void op_dkim_keyloader_free(struct op_dkim_keyloader **lp)
{
	if (lp == NULL || *lp == NULL)
		return;
	OSSL_DECODER_CTX_free((*lp)->dctx);
	EVP_PKEY_free((*lp)->out);
	free(*lp);
	*lp = NULL;
}

bool op_dkim_key_mode_ok(mode_t mode)
{
	return (mode & (S_IROTH | S_IWOTH | S_IWGRP)) == 0;
}

struct op_dkim_key *op_dkim_key_new(const char *name, const char *domain, const char *selector,
				    const char *path, unsigned line)
{
	struct op_dkim_key *k = calloc(1, sizeof(*k));

	if (k == NULL)
		return NULL;
	k->line = line;
	if ((name && !(k->name = strdup(name))) || (domain && !(k->domain = strdup(domain))) ||
	    (selector && !(k->selector = strdup(selector))) || (path && !(k->path = strdup(path))))
		op_dkim_key_free(&k);
	return k;
}

void op_dkim_key_free(struct op_dkim_key **kp)
{
	struct op_dkim_key *k;

	if (kp == NULL || *kp == NULL)
		return;
	k = *kp;
	free(k->name);
	free(k->domain);
	free(k->selector);
	free(k->path);
	EVP_PKEY_free(k->pkey);
	free(k);
	*kp = NULL;
}

/* ---- base64 ---- */

/* A byte that may appear in base64 text: alphabet, padding, white space. */
static bool b64_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/' || c == '=' || c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* True when every byte is base64 alphabet, '=' or white space. */
static bool looks_base64(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!b64_char((unsigned char)s[i]))
			return false;
	return n > 0;
}

/* Decode padded base64 text, skipping white space (PEM line breaks,
 * folding white space inside a p= tag).  out must hold n bytes.  Returns
 * the bytes written, or -1 for anything else than base64 (OpenSSL's
 * decoder alone would stop quietly at a '-'). */
static long b64_decode(const char *in, size_t n, unsigned char *out)
{
	EVP_ENCODE_CTX *c;
	int a = 0, b = 0;

	if (n > INT_MAX || !looks_base64(in, n) || (c = EVP_ENCODE_CTX_new()) == NULL)
		return -1;
	EVP_DecodeInit(c);
	if (EVP_DecodeUpdate(c, out, &a, (const unsigned char *)in, (int)n) < 0 ||
	    EVP_DecodeFinal(c, out + a, &b) < 0)
		a = -1;
	EVP_ENCODE_CTX_free(c);
	return a < 0 ? -1 : (long)a + b;
}

/* Append base64 of n bytes to out.  0 or -1 (memory, out's maximum). */
static int b64_append(struct op_buf *out, const unsigned char *in, size_t n)
{
	size_t need = 4 * ((n + 2) / 3) + 1;
	unsigned char *tmp;
	int r;

	if (n > OP_DKIM_TXT_MAX)
		return -1;
	tmp = malloc(need);
	if (tmp == NULL)
		return -1;
	r = EVP_EncodeBlock(tmp, in, (int)n);
	r = r < 0 ? -1 : op_buf_append(out, tmp, (size_t)r);
	free(tmp);
	return r;
}

/* ---- parsing ---- */

/* Turn the decoded key into k's fields after checking type, size and the
 * wanted algorithm.  Takes pkey over (freed on failure). */
static int key_accept(EVP_PKEY *pkey, const char *label, int want_alg, unsigned min_bits,
		      struct op_dkim_key *k, char *err, size_t errsize)
{
	enum op_dkim_alg alg;
	int bits = EVP_PKEY_get_bits(pkey);

	if (EVP_PKEY_get_id(pkey) == EVP_PKEY_RSA) {
		alg = OP_DKIM_RSA_SHA256;
		if (bits < 0 || (unsigned)bits < min_bits) {
			kerr(err, errsize,
			     "%s: RSA key of %d bits is shorter than the minimum of %u bits", label,
			     bits, min_bits);
			goto fail;
		}
	} else if (EVP_PKEY_get_id(pkey) == EVP_PKEY_ED25519) {
		alg = OP_DKIM_ED25519_SHA256;
	} else {
		const char *t = EVP_PKEY_get0_type_name(pkey);

		kerr(err, errsize, "%s: %s key: DKIM signs with RSA or Ed25519 only", label,
		     t ? t : "unknown");
		goto fail;
	}
	if (want_alg != OP_DKIM_ALG_ANY && want_alg != (int)alg) {
		kerr(err, errsize, "%s: the key is %s but the configuration says %s", label,
		     alg == OP_DKIM_RSA_SHA256 ? "RSA" : "Ed25519",
		     op_dkim_alg_name((enum op_dkim_alg)want_alg));
		goto fail;
	}
	k->pkey = pkey;
	k->alg = alg;
	k->bits = (unsigned)bits;
	return 0;
fail:
	EVP_PKEY_free(pkey);
	return -1;
}

/* DER (PKCS#1 or PKCS#8) to a key, through the loader's decoder. */
static EVP_PKEY *der_decode(struct op_dkim_keyloader *l, const unsigned char *der, size_t n)
{
	const unsigned char *p = der;
	size_t left = n;
	EVP_PKEY *pkey;

	EVP_PKEY_free(l->out);
	l->out = NULL;
	if (!OSSL_DECODER_from_data(l->dctx, &p, &left))
		return NULL;
	pkey = l->out;
	l->out = NULL;
	return pkey;
}

/* Key from the first PEM block of data, which must be an unencrypted
 * "RSA PRIVATE KEY" (PKCS#1) or "PRIVATE KEY" (PKCS#8). */
static EVP_PKEY *parse_pem(struct op_dkim_keyloader *l, const void *data, size_t len,
			   const char *label, char *err, size_t errsize)
{
	BIO *bio = BIO_new_mem_buf(data, (int)len);
	char *name = NULL, *header = NULL;
	unsigned char *der = NULL;
	EVP_PKEY *pkey = NULL;
	long n = 0;

	if (bio == NULL || !PEM_read_bio(bio, &name, &header, &der, &n)) {
		kerr(err, errsize, "%s: broken PEM (%s)", label, bio ? ssl_reason() : "memory");
	} else if (strcmp(name, "ENCRYPTED PRIVATE KEY") == 0 || strstr(header, "ENCRYPTED")) {
		kerr(err, errsize, "%s: the key is encrypted; outpost needs it in clear", label);
	} else if (strcmp(name, "RSA PRIVATE KEY") != 0 && strcmp(name, "PRIVATE KEY") != 0) {
		kerr(err, errsize,
		     "%s: PEM block \"%s\" is not a key outpost reads (\"RSA PRIVATE KEY\" or "
		     "\"PRIVATE KEY\")",
		     label, name);
	} else if ((pkey = der_decode(l, der, (size_t)n)) == NULL) {
		kerr(err, errsize, "%s: PEM holds no key OpenSSL can parse (%s)", label,
		     ssl_reason());
	}
	OPENSSL_clear_free(der, (size_t)n);
	OPENSSL_free(name);
	OPENSSL_free(header);
	BIO_free(bio);
	return pkey;
}

/* Key from base64 text: a 32-byte Ed25519 seed (dkimpy) or a DER key. */
static EVP_PKEY *parse_base64(struct op_dkim_keyloader *l, const char *text, size_t len,
			      const char *label, char *err, size_t errsize)
{
	unsigned char *raw = malloc(len);
	long n = raw ? b64_decode(text, len, raw) : -1;
	EVP_PKEY *pkey = NULL;

	if (raw == NULL) {
		kerr(err, errsize, "%s: out of memory", label);
		return NULL;
	}
	if (n < 0) {
		kerr(err, errsize, "%s: neither PEM nor valid base64", label);
	} else if (n == ED25519_LEN) {
		pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, raw, ED25519_LEN);
		if (pkey == NULL)
			kerr(err, errsize, "%s: bad Ed25519 seed (%s)", label, ssl_reason());
	} else {
		pkey = der_decode(l, raw, (size_t)n);
		if (pkey == NULL)
			kerr(err, errsize,
			     "%s: base64 text of %ld bytes is neither an Ed25519 seed (32 bytes, "
			     "dknewkey's format) nor a DER key (%s)",
			     label, n, ssl_reason());
	}
	OPENSSL_cleanse(raw, len);
	free(raw);
	return pkey;
}

int op_dkim_key_parse(struct op_dkim_keyloader *l, const void *data, size_t len, const char *label,
		      int want_alg, unsigned minimum_key_bits, struct op_dkim_key *k, char *err,
		      size_t errsize)
{
	struct op_dkim_keyloader *tmp = NULL;
	EVP_PKEY *pkey;

	if (len == 0 || len > OP_DKIM_KEY_FILE_MAX) {
		kerr(err, errsize, "%s: %s", label, len ? "too large for a key" : "empty");
		return -1;
	}
	if (l == NULL && (l = tmp = op_dkim_keyloader_new()) == NULL) {
		kerr(err, errsize, "%s: out of memory", label);
		return -1;
	}
	if (memmem(data, len, "-----BEGIN ", 11) != NULL) {
		pkey = parse_pem(l, data, len, label, err, errsize);
	} else if (looks_base64(data, len)) {
		pkey = parse_base64(l, data, len, label, err, errsize);
	} else {
		pkey = der_decode(l, data, len);
		if (pkey == NULL)
			kerr(err, errsize, "%s: not a key: neither PEM, base64 nor DER (%s)", label,
			     ssl_reason());
	}
	op_dkim_keyloader_free(&tmp);
	if (pkey == NULL)
		return -1;
	return key_accept(pkey, label, want_alg, minimum_key_bits, k, err, errsize);
}

/* ---- files ---- */

/* Read all of an open key file into *buf_r (malloc'ed, *len_r bytes). */
static int read_all(int fd, const char *path, char **buf_r, size_t *len_r, char *err,
		    size_t errsize)
{
	size_t cap = OP_DKIM_KEY_FILE_MAX + 1, len = 0;
	char *buf = malloc(cap);

	if (buf == NULL) {
		kerr(err, errsize, "%s: out of memory", path);
		return -1;
	}
	while (len < cap) {
		ssize_t n = read(fd, buf + len, cap - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			kerr(err, errsize, "%s: read: %s", path, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > OP_DKIM_KEY_FILE_MAX) {
		kerr(err, errsize, "%s: larger than %d bytes: not a key", path,
		     OP_DKIM_KEY_FILE_MAX);
		goto fail;
	}
	*buf_r = buf;
	*len_r = len;
	return 0;
fail:
	OPENSSL_cleanse(buf, len);
	free(buf);
	return -1;
}

/* Open path and check the rules on what was opened. */
static int open_checked(const char *path, char *err, size_t errsize)
{
	/* O_NONBLOCK: a FIFO planted at path must not hang the load; it is
	 * refused as "not a regular file" right after. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	struct stat st;

	if (fd < 0) {
		kerr(err, errsize, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		kerr(err, errsize, "%s: fstat: %s", path, strerror(errno));
	} else if (!S_ISREG(st.st_mode)) {
		kerr(err, errsize, "%s: not a regular file", path);
	} else if (!op_dkim_key_mode_ok(st.st_mode)) {
		kerr(err, errsize,
		     "%s: mode %04o lets other users read it or others than its owner write it "
		     "(want 0600 or 0640)",
		     path, (unsigned)(st.st_mode & 07777));
	} else {
		return fd;
	}
	close(fd);
	return -1;
}

int op_dkim_key_load_file(struct op_dkim_keyloader *l, const char *path, int want_alg,
			  unsigned minimum_key_bits, struct op_dkim_key *k, char *err,
			  size_t errsize)
{
	int fd = open_checked(path, err, errsize);
	char *buf = NULL;
	size_t len = 0;
	int r;

	if (fd < 0)
		return -1;
	r = read_all(fd, path, &buf, &len, err, errsize);
	close(fd);
	if (r < 0)
		return -1;
	r = op_dkim_key_parse(l, buf, len, path, want_alg, minimum_key_bits, k, err, errsize);
	OPENSSL_cleanse(buf, len);
	free(buf);
	return r;
}

/* ---- TXT records ---- */

/* Public key bytes as DNS publishes them: SubjectPublicKeyInfo DER for
 * RSA, the raw 32 bytes for Ed25519.  *der_r is OPENSSL_malloc'ed. */
static int pub_bytes(const EVP_PKEY *pkey, unsigned char **der_r, size_t *n_r)
{
	int n = -1;

	*der_r = NULL;
	*n_r = ED25519_LEN;
	if (EVP_PKEY_get_id(pkey) == EVP_PKEY_ED25519) {
		*der_r = OPENSSL_malloc(ED25519_LEN);
		if (*der_r != NULL && EVP_PKEY_get_raw_public_key(pkey, *der_r, n_r))
			return 0;
		OPENSSL_free(*der_r);
		return -1;
	}
	if (EVP_PKEY_get_id(pkey) == EVP_PKEY_RSA)
		n = i2d_PUBKEY(pkey, der_r);
	*n_r = n > 0 ? (size_t)n : 0;
	return n > 0 ? 0 : -1;
}

int op_dkim_txt_record(const EVP_PKEY *pkey, struct op_buf *out, char *err, size_t errsize)
{
	bool ed = EVP_PKEY_get_id(pkey) == EVP_PKEY_ED25519;
	size_t mark = out->len, n = 0;
	unsigned char *der = NULL;
	int r;

	if (pub_bytes(pkey, &der, &n) < 0) {
		kerr(err, errsize, "cannot export the public key (%s)", ssl_reason());
		return -1;
	}
	r = op_buf_printf(out, "v=DKIM1; k=%s; p=", ed ? "ed25519" : "rsa");
	if (r == 0)
		r = b64_append(out, der, n);
	OPENSSL_free(der);
	if (r < 0) {
		op_buf_truncate(out, mark);
		kerr(err, errsize, "TXT record does not fit (%zu bytes at most)", out->max);
	}
	return r;
}

const char *op_dkim_txt_status_name(enum op_dkim_txt_status s)
{
	static const char *const names[] = {"ok", "revoked", "mismatch", "invalid"};

	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "invalid";
}

/* Tags of a key record that decide the comparison; NULL when absent.
 * Values point into the record and run to the next ';' (v_len). */
enum { TAG_V, TAG_K, TAG_H, TAG_S, TAG_P, TAG__N };

struct txt_tags {
	const char *v[TAG__N];
	size_t len[TAG__N];
};

static bool txt_wsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Trim white space around [*s, *s + *n). */
static void txt_trim(const char **s, size_t *n)
{
	while (*n > 0 && txt_wsp(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && txt_wsp((*s)[*n - 1]))
		(*n)--;
}

/* Record one "name=value" spec. */
static int txt_tag(struct txt_tags *t, const char *spec, size_t n, char *err, size_t errsize)
{
	static const char *const names[TAG__N] = {"v", "k", "h", "s", "p"};
	const char *eq = memchr(spec, '=', n);
	const char *name = spec, *val;
	size_t nlen, vlen;

	if (eq == NULL) {
		kerr(err, errsize, "tag \"%.*s\" has no '='", (int)(n > 40 ? 40 : n), spec);
		return -1;
	}
	nlen = (size_t)(eq - spec);
	txt_trim(&name, &nlen);
	if (nlen == 0) {
		kerr(err, errsize, "a tag has no name");
		return -1;
	}
	val = eq + 1;
	vlen = (size_t)(spec + n - val);
	txt_trim(&val, &vlen);
	/* Tag names are case sensitive (RFC 6376 3.2); others are ignored. */
	for (int i = 0; i < TAG__N; i++) {
		if (nlen != 1 || name[0] != names[i][0])
			continue;
		if (t->v[i] != NULL) {
			kerr(err, errsize, "tag %s= appears twice", names[i]);
			return -1;
		}
		t->v[i] = val;
		t->len[i] = vlen;
	}
	return 0;
}

/* Split a record into tags (RFC 6376 3.2).  Empty specs (";;", a trailing
 * ';') are skipped. */
static int txt_parse(const char *txt, size_t len, struct txt_tags *t, char *err, size_t errsize)
{
	const char *p = txt, *end = txt + len;

	memset(t, 0, sizeof(*t));
	if (memchr(txt, '\0', len) != NULL) {
		kerr(err, errsize, "record holds a NUL byte");
		return -1;
	}
	while (p < end) {
		const char *semi = memchr(p, ';', (size_t)(end - p));
		const char *spec = p;
		size_t n = (size_t)((semi ? semi : end) - p);

		p = semi ? semi + 1 : end;
		txt_trim(&spec, &n);
		if (n > 0 && txt_tag(t, spec, n, err, errsize) < 0)
			return -1;
	}
	return 0;
}

/* True when the colon-separated list [s, s + n) holds one of the words. */
static bool txt_list_has(const char *s, size_t n, const char *w1, const char *w2)
{
	const char *end = s + n;

	while (s <= end) {
		const char *c = memchr(s, ':', (size_t)(end - s));
		const char *item = s;
		size_t ilen = (size_t)((c ? c : end) - s);

		txt_trim(&item, &ilen);
		if ((ilen == strlen(w1) && strncasecmp(item, w1, ilen) == 0) ||
		    (w2 != NULL && ilen == strlen(w2) && strncasecmp(item, w2, ilen) == 0))
			return true;
		if (c == NULL)
			break;
		s = c + 1;
	}
	return false;
}

/* v=, k=, h=, s= against our key type. */
static enum op_dkim_txt_status txt_check_tags(const struct txt_tags *t, bool ed, char *err,
					      size_t errsize)
{
	const char *want = ed ? "ed25519" : "rsa";
	const char *k = t->v[TAG_K] ? t->v[TAG_K] : "rsa"; /* k= defaults to rsa */
	size_t klen = t->v[TAG_K] ? t->len[TAG_K] : 3;

	if (t->v[TAG_V] && (t->len[TAG_V] != 5 || strncmp(t->v[TAG_V], "DKIM1", 5) != 0)) {
		kerr(err, errsize, "v=%.*s is not DKIM1", (int)t->len[TAG_V], t->v[TAG_V]);
		return OP_DKIM_TXT_INVALID;
	}
	if (t->v[TAG_P] == NULL) {
		kerr(err, errsize, "no p= tag");
		return OP_DKIM_TXT_INVALID;
	}
	if (klen != strlen(want) || strncasecmp(k, want, klen) != 0) {
		kerr(err, errsize, "k=%.*s but the key is %s", (int)klen, k, want);
		return OP_DKIM_TXT_MISMATCH;
	}
	if (t->v[TAG_H] && !txt_list_has(t->v[TAG_H], t->len[TAG_H], "sha256", NULL)) {
		kerr(err, errsize, "h=%.*s does not allow sha256", (int)t->len[TAG_H], t->v[TAG_H]);
		return OP_DKIM_TXT_MISMATCH;
	}
	if (t->v[TAG_S] && !txt_list_has(t->v[TAG_S], t->len[TAG_S], "*", "email")) {
		kerr(err, errsize, "s=%.*s does not allow email", (int)t->len[TAG_S], t->v[TAG_S]);
		return OP_DKIM_TXT_MISMATCH;
	}
	return OP_DKIM_TXT_OK;
}

/* p= (decoded, n bytes) against our public key.  Byte comparison is
 * enough: DER is canonical, so a key always encodes to the same bytes.  A
 * bare PKCS#1 RSAPublicKey in p= is a mismatch, as libopendkim (which
 * accepts only SubjectPublicKeyInfo) would fail to verify with it. */
static enum op_dkim_txt_status txt_check_p(const EVP_PKEY *pkey, const unsigned char *p, size_t n,
					   char *err, size_t errsize)
{
	unsigned char *ours = NULL;
	size_t olen = 0;
	bool same;

	if (pub_bytes(pkey, &ours, &olen) < 0) {
		kerr(err, errsize, "cannot export our public key (%s)", ssl_reason());
		return OP_DKIM_TXT_INVALID;
	}
	same = olen == n && memcmp(ours, p, n) == 0;
	OPENSSL_free(ours);
	if (same)
		return OP_DKIM_TXT_OK;
	kerr(err, errsize, "p= is not our public key (%zu bytes; ours has %zu)", n, olen);
	return OP_DKIM_TXT_MISMATCH;
}

enum op_dkim_txt_status op_dkim_txt_check(const EVP_PKEY *pkey, const char *txt, size_t len,
					  char *err, size_t errsize)
{
	bool ed = EVP_PKEY_get_id(pkey) == EVP_PKEY_ED25519;
	enum op_dkim_txt_status s;
	struct txt_tags t;
	unsigned char *p;
	long n;

	if (len > OP_DKIM_TXT_MAX) {
		kerr(err, errsize, "record longer than %d bytes", OP_DKIM_TXT_MAX);
		return OP_DKIM_TXT_INVALID;
	}
	if (txt_parse(txt, len, &t, err, errsize) < 0)
		return OP_DKIM_TXT_INVALID;
	s = txt_check_tags(&t, ed, err, errsize);
	if (s != OP_DKIM_TXT_OK)
		return s;
	if (t.len[TAG_P] == 0) {
		kerr(err, errsize, "p= is empty: the key is revoked");
		return OP_DKIM_TXT_REVOKED;
	}
	p = malloc(t.len[TAG_P]);
	if (p == NULL) {
		kerr(err, errsize, "out of memory");
		return OP_DKIM_TXT_INVALID;
	}
	n = b64_decode(t.v[TAG_P], t.len[TAG_P], p);
	if (n <= 0) {
		kerr(err, errsize, "p= is not valid base64");
		s = OP_DKIM_TXT_INVALID;
	} else {
		s = txt_check_p(pkey, p, (size_t)n, err, errsize);
	}
	free(p);
	return s;
}

/* ---- key generation ---- */

/* PEM PKCS#8 text of a new key in *bio_r. */
static EVP_PKEY *keygen_pem(enum op_dkim_alg alg, unsigned bits, BIO **bio_r, char *err,
			    size_t errsize)
{
	EVP_PKEY *pkey;

	if (alg == OP_DKIM_RSA_SHA256 &&
	    (bits < OP_DKIM_KEYGEN_RSA_MIN || bits > OP_DKIM_KEYGEN_RSA_MAX)) {
		kerr(err, errsize, "RSA key size %u is outside %d..%d", bits,
		     OP_DKIM_KEYGEN_RSA_MIN, OP_DKIM_KEYGEN_RSA_MAX);
		return NULL;
	}
	pkey = alg == OP_DKIM_RSA_SHA256 ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits)
					 : EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	*bio_r = BIO_new(BIO_s_secmem());
	if (pkey == NULL || *bio_r == NULL ||
	    !PEM_write_bio_PrivateKey(*bio_r, pkey, NULL, NULL, 0, NULL, NULL)) {
		kerr(err, errsize, "key generation failed (%s)", ssl_reason());
		EVP_PKEY_free(pkey);
		BIO_free(*bio_r);
		*bio_r = NULL;
		return NULL;
	}
	return pkey;
}

/* Write n bytes to a new file tmp (mode 0600, O_EXCL) and sync it. */
static int write_new(const char *tmp, const char *data, size_t n, char *err, size_t errsize)
{
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	size_t off = 0;
	int e = 0;

	if (fd < 0) {
		kerr(err, errsize, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	/* The umask can only narrow 0600; fchmod makes it exactly 0600. */
	if (fchmod(fd, 0600) < 0)
		e = errno;
	while (e == 0 && off < n) {
		ssize_t w = write(fd, data + off, n - off);

		if (w < 0 && errno != EINTR)
			e = errno;
		else if (w > 0)
			off += (size_t)w;
	}
	if (e == 0 && fsync(fd) < 0)
		e = errno;
	if (close(fd) < 0 && e == 0)
		e = errno;
	if (e == 0)
		return 0;
	kerr(err, errsize, "%s: %s", tmp, strerror(e));
	unlink(tmp);
	return -1;
}

/* Put the finished temporary file at path. */
static int install(const char *tmp, const char *path, bool overwrite, char *err, size_t errsize)
{
	int r = overwrite ? rename(tmp, path) : link(tmp, path);
	int e = errno;

	if (r < 0 || !overwrite)
		unlink(tmp);
	if (r < 0) {
		kerr(err, errsize, "%s: %s%s", path, strerror(e),
		     e == EEXIST ? " (refusing to replace an existing key)" : "");
		return -1;
	}
	return 0;
}

int op_dkim_keygen(const char *path, enum op_dkim_alg alg, unsigned bits, bool overwrite,
		   struct op_buf *txt_r, char *err, size_t errsize)
{
	size_t mark = txt_r->len;
	unsigned char rnd[6];
	struct op_buf tmp;
	BIO *bio = NULL;
	EVP_PKEY *pkey = keygen_pem(alg, bits, &bio, err, errsize);
	char *pem = NULL;
	long n;
	int r = -1;

	if (pkey == NULL)
		return -1;
	/* The record first: once the file is in place nothing may fail. */
	if (op_dkim_txt_record(pkey, txt_r, err, errsize) < 0)
		goto out;
	op_buf_init(&tmp, 4096);
	n = BIO_get_mem_data(bio, &pem);
	/* A random name: O_EXCL then never trips over a file left behind by
	 * an earlier run that died between write and rename. */
	if (RAND_bytes(rnd, sizeof(rnd)) != 1 ||
	    op_buf_printf(&tmp, "%s.tmp%02x%02x%02x%02x%02x%02x", path, rnd[0], rnd[1], rnd[2],
			  rnd[3], rnd[4], rnd[5]) < 0) {
		kerr(err, errsize, "%s: path too long", path);
	} else if (write_new(op_buf_str(&tmp), pem, (size_t)n, err, errsize) == 0 &&
		   install(op_buf_str(&tmp), path, overwrite, err, errsize) == 0) {
		r = 0;
	}
	op_buf_free(&tmp);
out:
	if (r < 0)
		op_buf_truncate(txt_r, mark);
	BIO_free(bio);
	EVP_PKEY_free(pkey);
	return r;
}
