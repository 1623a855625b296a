/*
 * dkim_sign.c - DKIM signer over keys parsed once (see
 * include/outpost/dkim_sign.h; RFC 6376 3.5, 3.7, 5.4; RFC 8463).
 *
 * Work per message: the body is canonicalized and hashed once; the selected
 * headers are canonicalized and hashed once into a SHA-256 context; for each
 * key that context is copied, the key's own DKIM-Signature header (b= empty)
 * is added, and the 32-byte digest is signed: RSA PKCS#1 v1.5 with a SHA-256
 * DigestInfo (EVP_PKEY_sign, byte for byte what EVP_DigestSign gives), or
 * Ed25519 over the digest (RFC 8463).  No key is parsed here.
 *
 * Limits: OP_DKIM_SIG_MAX for a built value, OP_DKIM_HDR_CANON_MAX for one
 * canonical header; the message layer bounds header count and sizes.
 * Leaf code: never logs.
 */
#include "config.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/rsa.h>

#include "outpost/dkim_sign.h"

#define SIG_BYTES_MAX 1024 /* RSA-8192 */
#define B64_LEN(n)    (4 * (((n) + 2) / 3))
#define FOLD_WIDTH    78
#define FOLD_INDENT   8 /* a TAB, counted as it displays */
#define DNS_NAME_MAX  253

struct sign_name {
	const char *name;
	bool oversign;
};

struct op_dkim_signer {
	struct op_dkim_sign_key *keys;
	size_t nkeys;
	struct op_buf *values; /* one DKIM-Signature value per key */
	struct sign_name *names;
	size_t nnames;
	enum op_dkim_canon hdr_canon;
	time_t timestamp;
	unsigned long ttl;
	const char *identity;
	EVP_MD_CTX *body_md;
	bool finished;
	char bh[B64_LEN(32) + 1];
	struct op_dkim_body body;
};

/* A folding writer: appends atoms to b, breaking lines with CRLF TAB;
 * atom is scratch space for building one atom. */
struct fold {
	struct op_buf *b;
	size_t col;
	struct op_buf atom;
};

/* ---- checks on what we are given ---- */

/* A domain or selector: LDH labels (and '_'), dots between. */
static bool dns_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > DNS_NAME_MAX || s[0] == '.' || s[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool alnum =
		    (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');

		if (!alnum && c != '-' && c != '_' && (c != '.' || s[i + 1] == '.'))
			return false;
	}
	return true;
}

/* A name we can put in h=: an RFC 5322 field name without ';' (which
 * would end the tag). */
static bool sign_name_ok(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 33 || c > 126 || c == ':' || c == ';')
			return false;
	}
	return true;
}

/* i= must be [local]@domain with domain equal to d= or below it. */
static bool identity_ok(const char *id, const char *d)
{
	const char *at = strrchr(id, '@');
	size_t n, dn = strlen(d);

	if (at == NULL || !dns_name_ok(at + 1))
		return false;
	at++;
	n = strlen(at);
	if (n == dn)
		return strcasecmp(at, d) == 0;
	return n > dn && at[n - dn - 1] == '.' && strcasecmp(at + n - dn, d) == 0;
}

static int check_key(const struct op_dkim_sign_key *sk, const char *identity, const char **err_r)
{
	const struct op_dkim_key *k = sk->key;
	int want;

	if (k == NULL || k->pkey == NULL) {
		*err_r = "DKIM key not loaded";
		return -1;
	}
	want = k->alg == OP_DKIM_ED25519_SHA256 ? EVP_PKEY_ED25519 : EVP_PKEY_RSA;
	if ((k->alg != OP_DKIM_RSA_SHA256 && k->alg != OP_DKIM_ED25519_SHA256) ||
	    EVP_PKEY_get_base_id(k->pkey) != want) {
		*err_r = "DKIM key type does not match its algorithm";
		return -1;
	}
	if (EVP_PKEY_get_size(k->pkey) <= 0 || EVP_PKEY_get_size(k->pkey) > SIG_BYTES_MAX) {
		*err_r = "DKIM key too large";
		return -1;
	}
	if (k->selector == NULL || !dns_name_ok(k->selector)) {
		*err_r = "bad DKIM selector";
		return -1;
	}
	if (sk->domain == NULL || !dns_name_ok(sk->domain)) {
		*err_r = "bad DKIM signing domain";
		return -1;
	}
	if (identity != NULL && !identity_ok(identity, sk->domain)) {
		*err_r = "DKIM identity (i=) is not within the signing domain";
		return -1;
	}
	return 0;
}

/* ---- construction ---- */

static struct sign_name *find_name(struct op_dkim_signer *s, const char *name)
{
	for (size_t i = 0; i < s->nnames; i++)
		if (strcasecmp(s->names[i].name, name) == 0)
			return &s->names[i];
	return NULL;
}

/* Merge the sign and oversign lists into s->names (sign order first). */
static int add_names(struct op_dkim_signer *s, const char *const *v, size_t n, bool over,
		     const char **err_r)
{
	for (size_t i = 0; i < n; i++) {
		struct sign_name *e;

		if (v[i] == NULL || !sign_name_ok(v[i])) {
			*err_r = "bad header name to sign";
			return -1;
		}
		e = find_name(s, v[i]);
		if (e == NULL) {
			e = &s->names[s->nnames++];
			e->name = v[i];
			e->oversign = false;
		}
		e->oversign = e->oversign || over;
	}
	return 0;
}

static int signer_alloc(struct op_dkim_signer *s, const struct op_dkim_sign_params *p)
{
	size_t nn = p->nsign_hdrs + p->noversign_hdrs;

	s->keys = calloc(p->nkeys, sizeof *s->keys);
	s->values = calloc(p->nkeys, sizeof *s->values);
	s->names = calloc(nn ? nn : 1, sizeof *s->names);
	s->body_md = EVP_MD_CTX_new();
	if (!s->keys || !s->values || !s->names || !s->body_md)
		return -1;
	if (EVP_DigestInit_ex(s->body_md, EVP_sha256(), NULL) != 1)
		return -1;
	memcpy(s->keys, p->keys, p->nkeys * sizeof *s->keys);
	s->nkeys = p->nkeys;
	for (size_t i = 0; i < p->nkeys; i++)
		op_buf_init(&s->values[i], OP_DKIM_SIG_MAX);
	return 0;
}

int op_dkim_signer_new(const struct op_dkim_sign_params *p, struct op_dkim_signer **signer_r,
		       const char **err_r)
{
	struct op_dkim_signer *s;

	*signer_r = NULL;
	if (p->nkeys == 0 || p->keys == NULL) {
		*err_r = "no DKIM key to sign with";
		return -1;
	}
	for (size_t i = 0; i < p->nkeys; i++)
		if (check_key(&p->keys[i], p->identity, err_r) < 0)
			return -1;
	s = calloc(1, sizeof *s);
	if (s == NULL || signer_alloc(s, p) < 0) {
		op_dkim_signer_free(&s);
		*err_r = "out of memory (DKIM signer)";
		return -1;
	}
	if (add_names(s, p->sign_hdrs, p->nsign_hdrs, false, err_r) < 0 ||
	    add_names(s, p->oversign_hdrs, p->noversign_hdrs, true, err_r) < 0) {
		op_dkim_signer_free(&s);
		return -1;
	}
	if (find_name(s, "from") == NULL) {
		op_dkim_signer_free(&s);
		*err_r = "From is not among the headers to sign";
		return -1;
	}
	s->hdr_canon = p->hdr_canon;
	s->timestamp = p->timestamp ? p->timestamp : time(NULL);
	s->ttl = p->ttl;
	s->identity = p->identity;
	op_dkim_body_init_md(&s->body, p->body_canon, s->body_md);
	*signer_r = s;
	return 0;
}

int op_dkim_signer_body(struct op_dkim_signer *s, const void *data, size_t n, const char **err_r)
{
	if (s->finished) {
		*err_r = "DKIM body after end of message";
		return -1;
	}
	return op_dkim_body_feed(&s->body, data, n, err_r);
}

void op_dkim_signer_free(struct op_dkim_signer **sp)
{
	struct op_dkim_signer *s = sp ? *sp : NULL;

	if (s == NULL)
		return;
	if (s->values != NULL)
		for (size_t i = 0; i < s->nkeys; i++)
			op_buf_free(&s->values[i]);
	free(s->values);
	free(s->keys);
	free(s->names);
	EVP_MD_CTX_free(s->body_md);
	free(s);
	*sp = NULL;
}

/* ---- folding ---- */

static int fold_break(struct fold *f)
{
	f->col = FOLD_INDENT;
	return op_buf_append(f->b, "\r\n\t", 3);
}

/* Append an atom, after a space when sep, on a new line when it would
 * pass the width (unless the line holds nothing yet). */
static int fold_atom(struct fold *f, const char *s, size_t n, bool sep)
{
	if (f->col + n + sep > FOLD_WIDTH && f->col > FOLD_INDENT) {
		if (fold_break(f) < 0)
			return -1;
	} else if (sep) {
		if (op_buf_putc(f->b, ' ') < 0)
			return -1;
		f->col++;
	}
	f->col += n;
	return op_buf_append(f->b, s, n);
}

/* Append base64 text, filling lines (FWS may sit anywhere in it). */
static int fold_b64(struct fold *f, const char *v)
{
	size_t n = strlen(v);

	while (n > 0) {
		size_t k;

		if (f->col >= FOLD_WIDTH && fold_break(f) < 0)
			return -1;
		k = FOLD_WIDTH - f->col;
		k = k < n ? k : n;
		if (op_buf_append(f->b, v, k) < 0)
			return -1;
		f->col += k;
		v += k;
		n -= k;
	}
	return 0;
}

/* Append the atom "tag=value;" built from fmt. */
__attribute__((format(printf, 2, 3))) static int fold_tagf(struct fold *f, const char *fmt, ...)
{
	va_list ap;
	int r;

	op_buf_reset(&f->atom);
	va_start(ap, fmt);
	r = op_buf_vprintf(&f->atom, fmt, ap);
	va_end(ap);
	return r < 0 ? -1 : fold_atom(f, f->atom.data, f->atom.len, true);
}

/* h=: names joined by ':', a line break allowed after each colon. */
static int fold_hlist(struct fold *f, const char *hlist)
{
	bool first = true;

	while (*hlist) {
		size_t n = strcspn(hlist, ":");
		bool last = hlist[n] == '\0';

		op_buf_reset(&f->atom);
		if ((first && op_buf_puts(&f->atom, "h=") < 0) ||
		    op_buf_append(&f->atom, hlist, n) < 0 ||
		    op_buf_putc(&f->atom, last ? ';' : ':') < 0)
			return -1;
		if (fold_atom(f, f->atom.data, f->atom.len, first) < 0)
			return -1;
		hlist += last ? n : n + 1;
		first = false;
	}
	return 0;
}

/* ---- the signature header ---- */

/* i= in dkim-quoted-printable (RFC 6376 2.11). */
static int fold_identity(struct fold *f, const char *id)
{
	static const char hex[] = "0123456789ABCDEF";
	struct op_buf *a = &f->atom;

	op_buf_reset(a);
	if (op_buf_puts(a, "i=") < 0)
		return -1;
	for (; *id; id++) {
		unsigned char c = (unsigned char)*id;
		int r;

		if (c > 0x20 && c < 0x7f && c != ';' && c != '=')
			r = op_buf_putc(a, (char)c);
		else
			r = op_buf_printf(a, "=%c%c", hex[c >> 4], hex[c & 15]);
		if (r < 0)
			return -1;
	}
	if (op_buf_putc(a, ';') < 0)
		return -1;
	return fold_atom(f, a->data, a->len, true);
}

/* Every tag but h=, bh= and b=, in the order of the RFC 6376 examples. */
static int put_tags(const struct op_dkim_signer *s, const struct op_dkim_sign_key *sk,
		    struct fold *f)
{
	long long t = (long long)s->timestamp;

	if (fold_tagf(f, "v=1;") < 0 || fold_tagf(f, "a=%s;", op_dkim_alg_name(sk->key->alg)) < 0 ||
	    fold_tagf(f, "c=%s/%s;", op_dkim_canon_name(s->hdr_canon),
		      op_dkim_canon_name(s->body.canon)) < 0 ||
	    fold_tagf(f, "d=%s;", sk->domain) < 0 || fold_tagf(f, "s=%s;", sk->key->selector) < 0)
		return -1;
	if (s->identity != NULL && fold_identity(f, s->identity) < 0)
		return -1;
	if (fold_tagf(f, "t=%lld;", t) < 0)
		return -1;
	if (s->ttl != 0 && fold_tagf(f, "x=%lld;", t + (long long)s->ttl) < 0)
		return -1;
	return 0;
}

/* The value up to and including "b=": what the header hash covers. */
static int build_value(const struct op_dkim_signer *s, const struct op_dkim_sign_key *sk,
		       const char *hlist, struct fold *f)
{
	f->col = sizeof "DKIM-Signature:" - 1;
	if (put_tags(s, sk, f) < 0 || fold_hlist(f, hlist) < 0)
		return -1;
	if (fold_tagf(f, "bh=%s;", s->bh) < 0)
		return -1;
	return fold_atom(f, "b=", 2, true);
}

/* ---- hashing and signing ---- */

/* Hash the instances of one name, bottom-up, into md; *used_r counts them. */
static int hash_instances(const struct op_dkim_signer *s, const char *name,
			  const struct op_header *h, size_t n, EVP_MD_CTX *md, size_t *used_r,
			  const char **err_r)
{
	struct op_buf c;
	int r = 0;

	*used_r = 0;
	op_buf_init(&c, OP_DKIM_HDR_CANON_MAX);
	for (size_t i = n; r == 0 && i-- > 0;) {
		if (strcasecmp(h[i].name, name) != 0)
			continue;
		op_buf_reset(&c);
		r = op_dkim_canon_header(s->hdr_canon, h[i].name, h[i].value, h[i].value_len, &c,
					 err_r);
		if (r == 0 && EVP_DigestUpdate(md, c.data, c.len) != 1) {
			*err_r = "header digest failed";
			r = -1;
		}
		(*used_r)++;
	}
	op_buf_free(&c);
	return r;
}

/* Hash the selected headers into md and list their names for h= in hlist
 * (one per instance, one more when oversigned).  Fails without a From. */
static int hash_headers(const struct op_dkim_signer *s, const struct op_header *h, size_t n,
			EVP_MD_CTX *md, struct op_buf *hlist, const char **err_r)
{
	size_t nfrom = 0;

	for (size_t e = 0; e < s->nnames; e++) {
		const struct sign_name *sn = &s->names[e];
		size_t used;

		if (hash_instances(s, sn->name, h, n, md, &used, err_r) < 0)
			return -1;
		if (strcasecmp(sn->name, "from") == 0)
			nfrom = used;
		for (size_t k = 0; k < used + sn->oversign; k++) {
			if ((hlist->len > 0 && op_buf_putc(hlist, ':') < 0) ||
			    op_buf_puts(hlist, sn->name) < 0) {
				*err_r = "DKIM h= list too long";
				return -1;
			}
		}
	}
	if (nfrom == 0) {
		*err_r = "message has no From header to sign";
		return -1;
	}
	return 0;
}

/* Each thread keeps, per algorithm, the signing context of the last key
 * it used, initialized, and signs with a copy: setting one up fetches the
 * algorithm from the provider under shared locks (Ed25519: ~4 us a
 * message with two busy cores; RSA, with its padding and digest: ~11 us
 * on one core), a copy takes well under 1 us.  An entry holds a reference
 * on its key, so a key freed by a reload is never mistaken for a new one
 * at the same address; it is dropped when the thread signs with another
 * key of that algorithm, or ends.  Two entries: a message signed with an
 * RSA and an Ed25519 key uses both. */
struct sign_cache {
	EVP_PKEY *ed_pk, *rsa_pk;
	EVP_MD_CTX *ed;	   /* EVP_DigestSignInit_ex() done */
	EVP_PKEY_CTX *rsa; /* EVP_PKEY_sign_init(), PKCS#1 v1.5, SHA-256 */
};

static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;
static bool cache_ok;

static void cache_free(void *p)
{
	struct sign_cache *c = p;

	if (c == NULL)
		return;
	EVP_MD_CTX_free(c->ed);
	EVP_PKEY_CTX_free(c->rsa);
	EVP_PKEY_free(c->ed_pk);
	EVP_PKEY_free(c->rsa_pk);
	free(c);
}

static void cache_init(void)
{
	cache_ok = pthread_key_create(&cache_key, cache_free) == 0;
}

/* The calling thread's cache; NULL when it cannot have one. */
static struct sign_cache *thread_cache(void)
{
	struct sign_cache *c;

	pthread_once(&cache_once, cache_init);
	if (!cache_ok)
		return NULL;
	c = pthread_getspecific(cache_key);
	if (c == NULL &&
	    ((c = calloc(1, sizeof(*c))) == NULL || pthread_setspecific(cache_key, c) != 0)) {
		free(c);
		return NULL;
	}
	return c;
}

/* Make *slot the key of the cache entry (a reference taken). */
static bool cache_own(EVP_PKEY **slot, EVP_PKEY *pk)
{
	EVP_PKEY_free(*slot);
	*slot = NULL;
	if (EVP_PKEY_up_ref(pk) != 1)
		return false;
	*slot = pk;
	return true;
}

static EVP_PKEY_CTX *rsa_ctx_new(EVP_PKEY *pk)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);

	if (c != NULL && EVP_PKEY_sign_init(c) == 1 &&
	    EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) == 1 &&
	    EVP_PKEY_CTX_set_signature_md(c, EVP_sha256()) == 1)
		return c;
	EVP_PKEY_CTX_free(c);
	return NULL;
}

/* A signing context for pk of this thread: a copy of the cached one, or
 * a new one when there is no cache.  NULL on failure. */
static EVP_PKEY_CTX *rsa_ctx(EVP_PKEY *pk)
{
	struct sign_cache *c = thread_cache();

	if (c == NULL)
		return rsa_ctx_new(pk);
	if (c->rsa == NULL || c->rsa_pk != pk) {
		EVP_PKEY_CTX_free(c->rsa);
		c->rsa = NULL;
		if (!cache_own(&c->rsa_pk, pk) || (c->rsa = rsa_ctx_new(pk)) == NULL)
			return rsa_ctx_new(pk);
	}
	return EVP_PKEY_CTX_dup(c->rsa);
}

static int sign_rsa(EVP_PKEY *pk, const unsigned char *dg, unsigned char *sig, size_t *len)
{
	EVP_PKEY_CTX *c = rsa_ctx(pk);
	bool ok = c != NULL && EVP_PKEY_sign(c, sig, len, dg, 32) == 1;

	EVP_PKEY_CTX_free(c);
	return ok ? 0 : -1;
}

/* Set m up for signing with pk: a copy of this thread's cached context,
 * or a fresh initialization when there is no cache.  1 or 0. */
static int ed_ctx(EVP_MD_CTX *m, EVP_PKEY *pk)
{
	struct sign_cache *c = thread_cache();

	if (c != NULL && (c->ed == NULL || c->ed_pk != pk)) {
		EVP_MD_CTX_free(c->ed);
		c->ed = EVP_MD_CTX_new();
		if (c->ed == NULL || !cache_own(&c->ed_pk, pk) ||
		    EVP_DigestSignInit_ex(c->ed, NULL, NULL, NULL, NULL, pk, NULL) != 1) {
			EVP_MD_CTX_free(c->ed);
			c->ed = NULL;
		}
	}
	if (c != NULL && c->ed != NULL)
		return EVP_MD_CTX_copy_ex(m, c->ed);
	return EVP_DigestSignInit_ex(m, NULL, NULL, NULL, NULL, pk, NULL);
}

/* RFC 8463 3: PureEdDSA over the SHA-256 digest (32 bytes). */
static int sign_ed25519(EVP_PKEY *pk, const unsigned char *dg, unsigned char *sig, size_t *len)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	bool ok = m != NULL && ed_ctx(m, pk) == 1 && EVP_DigestSign(m, sig, len, dg, 32) == 1;

	EVP_MD_CTX_free(m);
	return ok ? 0 : -1;
}

/* Digest of the common header data plus this signature's own header. */
static int sig_digest(const struct op_dkim_signer *s, const EVP_MD_CTX *common,
		      const struct op_buf *v, unsigned char *dg, const char **err_r)
{
	struct op_buf c;
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	int r;

	op_buf_init(&c, OP_DKIM_HDR_CANON_MAX);
	r = op_dkim_canon_header(s->hdr_canon, "DKIM-Signature", v->data, v->len, &c, err_r);
	/* the signature header is hashed without its final CRLF (3.7) */
	if (r == 0 &&
	    (m == NULL || EVP_MD_CTX_copy_ex(m, common) != 1 ||
	     EVP_DigestUpdate(m, c.data, c.len - 2) != 1 || EVP_DigestFinal_ex(m, dg, NULL) != 1)) {
		*err_r = "header digest failed";
		r = -1;
	}
	EVP_MD_CTX_free(m);
	op_buf_free(&c);
	return r;
}

static int sign_one(struct op_dkim_signer *s, size_t i, const EVP_MD_CTX *common, const char *hlist,
		    const char **err_r)
{
	const struct op_dkim_key *k = s->keys[i].key;
	struct fold f = {&s->values[i], 0, {0}};
	unsigned char dg[32], sig[SIG_BYTES_MAX];
	char b64[B64_LEN(SIG_BYTES_MAX) + 1];
	size_t len = sizeof sig;
	int r;

	op_buf_reset(f.b);
	op_buf_init(&f.atom, OP_DKIM_SIG_MAX);
	r = build_value(s, &s->keys[i], hlist, &f);
	op_buf_free(&f.atom);
	if (r < 0) {
		*err_r = "DKIM-Signature too long";
		return -1;
	}
	if (sig_digest(s, common, f.b, dg, err_r) < 0)
		return -1;
	if (k->alg == OP_DKIM_ED25519_SHA256)
		r = sign_ed25519(k->pkey, dg, sig, &len);
	else
		r = sign_rsa(k->pkey, dg, sig, &len);
	if (r < 0) {
		*err_r = "DKIM signing failed (OpenSSL)";
		return -1;
	}
	EVP_EncodeBlock((unsigned char *)b64, sig, (int)len);
	if (fold_b64(&f, b64) < 0) {
		*err_r = "DKIM-Signature too long";
		return -1;
	}
	return 0;
}

static int body_hash(struct op_dkim_signer *s, const char **err_r)
{
	unsigned char dg[32];

	if (op_dkim_body_finish(&s->body, err_r) < 0)
		return -1;
	if (EVP_DigestFinal_ex(s->body_md, dg, NULL) != 1) {
		*err_r = "body digest failed";
		return -1;
	}
	EVP_EncodeBlock((unsigned char *)s->bh, dg, sizeof dg);
	return 0;
}

int op_dkim_signer_finish(struct op_dkim_signer *s, const struct op_header *hdrs, size_t nhdrs,
			  const char **err_r)
{
	EVP_MD_CTX *common = NULL;
	struct op_buf hlist;
	int r;

	if (s->finished) {
		*err_r = "DKIM signer finished twice";
		return -1;
	}
	s->finished = true;
	if (body_hash(s, err_r) < 0)
		return -1;
	op_buf_init(&hlist, OP_DKIM_SIG_MAX);
	common = EVP_MD_CTX_new();
	r = common != NULL && EVP_DigestInit_ex(common, EVP_sha256(), NULL) == 1 ? 0 : -1;
	if (r < 0)
		*err_r = "out of memory (DKIM header digest)";
	if (r == 0)
		r = hash_headers(s, hdrs, nhdrs, common, &hlist, err_r);
	for (size_t i = 0; r == 0 && i < s->nkeys; i++)
		r = sign_one(s, i, common, op_buf_str(&hlist), err_r);
	EVP_MD_CTX_free(common);
	op_buf_free(&hlist);
	if (r < 0)
		for (size_t i = 0; i < s->nkeys; i++)
			op_buf_reset(&s->values[i]);
	return r;
}

const char *op_dkim_signer_value(const struct op_dkim_signer *s, size_t i)
{
	if (!s->finished || i >= s->nkeys || s->values[i].len == 0)
		return NULL;
	return op_buf_str(&s->values[i]);
}

const char *op_dkim_signer_bh(const struct op_dkim_signer *s)
{
	return s->finished && s->bh[0] ? s->bh : NULL;
}
