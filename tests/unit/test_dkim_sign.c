/*
 * test_dkim_sign.c - the DKIM signer (plugin/dkim_sign.c), with libopendkim
 * as the reference.  Canonicalization alone: test_dkim_canon.c.
 *
 * Keys (RSA-2048, Ed25519) are generated at start into memory; their public
 * halves go to a temp file of "sel._domainkey.domain v=DKIM1; ..." lines,
 * which libopendkim reads instead of DNS (DKIM_QUERY_FILE).  Every signature
 * is verified by libopendkim; every body hash is compared with the one
 * libopendkim computes when it signs the same message.
 *
 * DKIM_SIGNED_OUT=dir: also write each good signed message to dir/NNN-*.eml
 * and the DNS records to dir/dns.txt, for tests/dkim/verify_external.sh
 * (dkimpy and Mail::DKIM).
 */
#include "config.h"

#include "unit.h"

#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include <dkim.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "outpost/buf.h"
#include "outpost/dkim_canon.h"
#include "outpost/dkim_sign.h"

#define T0	1700000000 /* fixed t= */
#define MAXHDRS 64
#define BIG	(64 * 1024 * 1024)

static struct {
	char dir[64];
	char dns[128];
	struct op_dkim_key rsa, ed;
	char *rsa_pem;	 /* for libopendkim's own signer */
	DKIM_LIB *vlib;	 /* verifies, real clock */
	DKIM_LIB *slib;	 /* signs, fixed clock */
	const char *out; /* DKIM_SIGNED_OUT */
	unsigned nout;
} T;

/* ---- helpers ---- */

static char *b64(const unsigned char *p, size_t n)
{
	char *s = malloc(4 * ((n + 2) / 3) + 1);

	assert_non_null(s);
	EVP_EncodeBlock((unsigned char *)s, p, (int)n);
	return s;
}

/* ---- keys ---- */

static void dns_line(FILE *f, const struct op_dkim_key *k, const char *domain)
{
	unsigned char raw[32], *der = NULL;
	size_t rl = sizeof raw;
	char *p;

	if (k->alg == OP_DKIM_RSA_SHA256) {
		int n = i2d_PUBKEY(k->pkey, &der);

		assert_true(n > 0);
		p = b64(der, (size_t)n);
		OPENSSL_free(der);
	} else {
		assert_int_equal(EVP_PKEY_get_raw_public_key(k->pkey, raw, &rl), 1);
		p = b64(raw, rl);
	}
	fprintf(f, "%s._domainkey.%s v=DKIM1; k=%s; p=%s\n", k->selector, domain,
		k->alg == OP_DKIM_RSA_SHA256 ? "rsa" : "ed25519", p);
	free(p);
}

static void make_key(struct op_dkim_key *k, enum op_dkim_alg alg, char *sel)
{
	memset(k, 0, sizeof *k);
	k->alg = alg;
	k->selector = sel;
	k->domain = (char *)"%";
	k->name = sel;
	if (alg == OP_DKIM_RSA_SHA256)
		k->pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	else
		k->pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	assert_non_null(k->pkey);
	k->bits = alg == OP_DKIM_RSA_SHA256 ? 2048 : 256;
}

static char *pem_of(EVP_PKEY *pk)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *s;
	long n;

	assert_int_equal(PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0, NULL, NULL), 1);
	n = BIO_get_mem_data(bio, &data);
	s = calloc(1, (size_t)n + 1);
	assert_non_null(s);
	memcpy(s, data, (size_t)n);
	BIO_free(bio);
	return s;
}

static DKIM_LIB *new_lib(uint64_t fixed)
{
	DKIM_LIB *lib = dkim_init(NULL, NULL);
	int qm = DKIM_QUERY_FILE;

	assert_non_null(lib);
	dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_QUERYMETHOD, &qm, sizeof qm);
	dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_QUERYINFO, T.dns, strlen(T.dns));
	if (fixed)
		dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_FIXEDTIME, &fixed, sizeof fixed);
	return lib;
}

static int group_setup(void **state)
{
	FILE *f;

	(void)state;
	snprintf(T.dir, sizeof T.dir, "/tmp/test_dkim_sign.XXXXXX");
	assert_non_null(mkdtemp(T.dir));
	snprintf(T.dns, sizeof T.dns, "%s/dns.txt", T.dir);
	make_key(&T.rsa, OP_DKIM_RSA_SHA256, (char *)"rsa2048");
	make_key(&T.ed, OP_DKIM_ED25519_SHA256, (char *)"ed25519");
	T.rsa_pem = pem_of(T.rsa.pkey);
	f = fopen(T.dns, "w");
	assert_non_null(f);
	dns_line(f, &T.rsa, "example.org");
	dns_line(f, &T.ed, "example.org");
	dns_line(f, &T.rsa, "example.net");
	dns_line(f, &T.ed, "example.net");
	fclose(f);
	T.vlib = new_lib(0);
	T.slib = new_lib(T0);
	T.out = getenv("DKIM_SIGNED_OUT");
	return 0;
}

static void copy_file(const char *from, const char *to)
{
	char buf[4096];
	FILE *in = fopen(from, "r"), *out = fopen(to, "w");
	size_t n;

	assert_true(in != NULL && out != NULL);
	while ((n = fread(buf, 1, sizeof buf, in)) > 0)
		assert_int_equal(fwrite(buf, 1, n, out), n);
	fclose(in);
	assert_int_equal(fclose(out), 0);
}

static int group_teardown(void **state)
{
	char path[160];

	(void)state;
	if (T.out != NULL) {
		snprintf(path, sizeof path, "%s/dns.txt", T.out);
		copy_file(T.dns, path);
	}
	unlink(T.dns);
	rmdir(T.dir);
	dkim_close(T.vlib);
	dkim_close(T.slib);
	EVP_PKEY_free(T.rsa.pkey);
	EVP_PKEY_free(T.ed.pkey);
	free(T.rsa_pem);
	return 0;
}

/* ---- signing ---- */

#define S(x) x, sizeof(x) - 1

#define STD_FROM "From: Joe SixPack <joe@example.org>\r\n"
#define STD_REST                                                                                   \
	"To: Suzie Q <suzie@example.net>\r\n"                                                      \
	"Subject: Is dinner ready?\r\n"                                                            \
	"Date: Fri, 11 Jul 2003 21:00:37 -0700\r\n"                                                \
	"Message-ID: <20030712040037.46341.5F8J@example.org>\r\n"
#define X10(s) s s s s s s s s s s

static const struct msg {
	const char *name;
	const char *head; /* header lines, each ending in CRLF */
	const char *body;
	size_t blen;
} msgs[] = {
    {"plain", STD_FROM STD_REST,
     S("Hi.\r\n\r\nWe lost the game.  Are you hungry yet?\r\n\r\nJoe.\r\n")},
    {"empty-body", STD_FROM STD_REST, S("")},
    {"blank-lines-body", STD_FROM STD_REST, S("\r\n\r\n\r\n")},
    {"8bit",
     STD_FROM STD_REST "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
		       "Content-Transfer-Encoding: 8bit\r\n",
     S("Caf\xc3\xa9 cr\xc3\xa8me br\xc3\xbbl\xc3\xa9\x65\r\nLatin-1 \xe9\xe8\xff\r\n\r\n")},
    {"folded-headers",
     "From: \"A rather long display name, to fold\"\r\n <joe@example.org>\r\n"
     "To: a@example.net,\r\n\tb@example.net,  \r\n  c@example.net\r\n"
     "Cc:   d@example.net  \t\r\n"
     "Subject:\r\n\tfolded right after the colon\r\n"
     "Date: Fri, 11 Jul 2003 21:00:37 -0700\r\n",
     S("Folded.\r\n")},
    {"long-headers",
     STD_FROM STD_REST "References:" X10(
	 X10(" <0123456789abcdefghijklmno@example.org>")) "\r\n"
							  "X-Long: start" X10(
							      X10("\r\n\tword-0123456789-"
								  "abcdefghij-klmnopqrst")) "\r\n",
     S("Long " X10(X10("0123456789")) X10(X10("abcdefghi ")) "\r\nend\r\n")},
    {"repeated-headers",
     "Received: from a by b; Fri, 11 Jul 2003 21:00:37 -0700\r\n" STD_FROM STD_REST
     "To: second@example.net\r\nCc: one@example.net\r\nCc: two@example.net\r\n",
     S("Twice.\r\n")},
    {"whitespace-body", STD_FROM STD_REST,
     S("  lead\r\ntrail  \t \r\nin\t \tside\r\n \t \r\n\r\nlast\r\n\t\r\n  \r\n\r\n\r\n")},
};

static const char *const sign_hdrs[] = {
    "From",	    "To",	    "Cc",
    "Subject",	    "Date",	    "Message-ID",
    "MIME-Version", "Content-Type", "Content-Transfer-Encoding",
    "References",   "X-Long",
};
static const char *const over_from[] = {"from"};

static struct op_dkim_sign_params params(const struct op_dkim_sign_key *keys, size_t nkeys, int hc,
					 int bc)
{
	struct op_dkim_sign_params p = {
	    .keys = keys,
	    .nkeys = nkeys,
	    .hdr_canon = hc,
	    .body_canon = bc,
	    .sign_hdrs = sign_hdrs,
	    .nsign_hdrs = sizeof sign_hdrs / sizeof sign_hdrs[0],
	    .oversign_hdrs = over_from,
	    .noversign_hdrs = 1,
	    .timestamp = T0,
	};
	return p;
}

/* Split a header block into milter-style headers (name; value with its
 * leading space and folding).  head is modified (NULs after names). */
static size_t split_headers(char *head, struct op_header *h, size_t max)
{
	size_t n = 0;
	char *p = head;

	while (*p && n < max) {
		char *colon = strchr(p, ':'), *e = strstr(p, "\r\n");

		while (e != NULL && (e[2] == ' ' || e[2] == '\t'))
			e = strstr(e + 2, "\r\n");
		assert_true(colon != NULL && e != NULL && colon < e);
		*colon = '\0';
		h[n].name = p;
		h[n].value = colon + 1;
		h[n].value_len = (size_t)(e - colon - 1);
		n++;
		p = e + 2;
	}
	return n;
}

/* Sign m, feeding the body chunk bytes at a time; out gets the signed
 * message (signatures on top, in key order), bh (if not NULL) the bh=. */
static void sign_msg(const struct msg *m, const struct op_dkim_sign_params *p, size_t chunk,
		     struct op_buf *out, char *bh)
{
	struct op_header h[MAXHDRS];
	struct op_dkim_signer *s = NULL;
	char *head = strdup(m->head);
	const char *err = NULL;
	size_t nh;
	int r;

	assert_non_null(head);
	nh = split_headers(head, h, MAXHDRS);
	r = op_dkim_signer_new(p, &s, &err);
	for (size_t at = 0; r == 0 && at < m->blen; at += chunk)
		r = op_dkim_signer_body(s, m->body + at,
					m->blen - at < chunk ? m->blen - at : chunk, &err);
	if (r == 0)
		r = op_dkim_signer_finish(s, h, nh, &err);
	if (r != 0)
		fail_msg("signing %s: got error \"%s\", want none", m->name, err);
	op_buf_init(out, BIG);
	for (size_t i = 0; i < p->nkeys; i++) {
		op_buf_puts(out, "DKIM-Signature:");
		op_buf_puts(out, op_dkim_signer_value(s, i));
		op_buf_puts(out, "\r\n");
	}
	if (bh != NULL)
		op_strlcpy(bh, op_dkim_signer_bh(s), 64);
	op_buf_puts(out, m->head);
	op_buf_puts(out, "\r\n");
	op_buf_append(out, m->body, m->blen);
	op_dkim_signer_free(&s);
	assert_null(s);
	free(head);
}

/* How many signatures of text pass libopendkim; why the others fail. */
static int verify_lib(const char *text, size_t len, int *nsigs_r)
{
	static const char *const bh_state[] = {"untested", "matches", "differs"};
	DKIM_STAT st;
	DKIM *d = dkim_verify(T.vlib, (const unsigned char *)"t", NULL, &st);
	DKIM_SIGINFO **sigs = NULL;
	int nsigs = 0, npass = 0;

	assert_non_null(d);
	dkim_chunk(d, (unsigned char *)text, len);
	dkim_chunk(d, NULL, 0);
	dkim_eom(d, NULL);
	if (dkim_getsiglist(d, &sigs, &nsigs) != DKIM_STAT_OK)
		nsigs = 0;
	for (int i = 0; i < nsigs; i++) {
		if (DKIM_SIG_CHECK(sigs[i]))
			npass++;
		else
			print_message("  libopendkim: signature %d: %s (body hash %s)\n", i,
				      dkim_sig_geterrorstr(dkim_sig_geterror(sigs[i])),
				      bh_state[dkim_sig_getbh(sigs[i]) + 1]);
	}
	dkim_free(d);
	*nsigs_r = nsigs;
	return npass;
}

static void expect_pass(const char *what, const struct op_buf *text, int want)
{
	int nsigs, npass = verify_lib(text->data, text->len, &nsigs);

	if (npass != want || nsigs != want)
		fail_msg("%s: got %d of %d signatures passing libopendkim, want %d of %d\n%s", what,
			 npass, nsigs, want, want, text->data);
}

static void expect_fail(const char *what, const struct op_buf *text)
{
	int nsigs, npass = verify_lib(text->data, text->len, &nsigs);

	if (npass != 0 || nsigs == 0)
		fail_msg("%s: got %d of %d signatures passing libopendkim, want 0 of >0", what,
			 npass, nsigs);
}

static void write_out(const char *name, const struct op_buf *text)
{
	char path[512];
	FILE *f;

	if (T.out == NULL)
		return;
	snprintf(path, sizeof path, "%s/%03u-%s.eml", T.out, T.nout++, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(text->data, 1, text->len, f), text->len);
	assert_int_equal(fclose(f), 0);
}

static void signatures_verify_with_libopendkim(void **state)
{
	const struct op_dkim_sign_key keys[] = {{&T.rsa, "example.org"}, {&T.ed, "example.org"}};
	unsigned n = 0;

	(void)state;
	for (size_t i = 0; i < NROWS(msgs); i++) {
		for (int c = 0; c < 4; c++, n++) {
			struct op_dkim_sign_params p = params(keys, 2, c >> 1, c & 1);
			struct op_buf text;
			char what[128];

			snprintf(what, sizeof what, "%s-%s-%s", msgs[i].name,
				 op_dkim_canon_name(c >> 1), op_dkim_canon_name(c & 1));
			sign_msg(&msgs[i], &p, 1 + n % 17, &text, NULL);
			expect_pass(what, &text, 2);
			write_out(what, &text);
			op_buf_free(&text);
		}
	}
}

/* bh= of libopendkim signing m with c (its own clock fixed at T0). */
static void lib_bh(const struct msg *m, int hc, int bc, char *bh, size_t max)
{
	DKIM_STAT st;
	struct op_buf text;
	unsigned char hdr[8192];
	const char *p;
	size_t n = 0;
	DKIM *d =
	    dkim_sign(T.slib, (const unsigned char *)"t", NULL, (dkim_sigkey_t)T.rsa_pem,
		      (const unsigned char *)"rsa2048", (const unsigned char *)"example.org",
		      hc ? DKIM_CANON_RELAXED : DKIM_CANON_SIMPLE,
		      bc ? DKIM_CANON_RELAXED : DKIM_CANON_SIMPLE, DKIM_SIGN_RSASHA256, -1, &st);

	assert_non_null(d);
	op_buf_init(&text, BIG);
	op_buf_puts(&text, m->head);
	op_buf_puts(&text, "\r\n");
	op_buf_append(&text, m->body, m->blen);
	assert_int_equal(dkim_chunk(d, (unsigned char *)text.data, text.len), DKIM_STAT_OK);
	assert_int_equal(dkim_chunk(d, NULL, 0), DKIM_STAT_OK);
	assert_int_equal(dkim_eom(d, NULL), DKIM_STAT_OK);
	assert_int_equal(dkim_getsighdr(d, hdr, sizeof hdr, 16), DKIM_STAT_OK);
	p = strstr((char *)hdr, "bh=");
	assert_non_null(p);
	for (p += 3; *p && *p != ';' && n + 1 < max; p++)
		if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
			bh[n++] = *p;
	bh[n] = '\0';
	dkim_free(d);
	op_buf_free(&text);
}

static void body_hash_equals_libopendkim_body_hash(void **state)
{
	const struct op_dkim_sign_key keys[] = {{&T.ed, "example.org"}};

	(void)state;
	for (size_t i = 0; i < NROWS(msgs); i++) {
		for (int c = 0; c < 4; c++) {
			struct op_dkim_sign_params p = params(keys, 1, c >> 1, c & 1);
			struct op_buf text;
			char got[64], want[64];

			char label[128];

			snprintf(label, sizeof label, "%s, %s/%s: bh= against libopendkim",
				 msgs[i].name, op_dkim_canon_name(c >> 1),
				 op_dkim_canon_name(c & 1));
			sign_msg(&msgs[i], &p, 5, &text, got);
			lib_bh(&msgs[i], c >> 1, c & 1, want, sizeof want);
			WANT_STR(label, got, want);
			op_buf_free(&text);
		}
	}
}

/* The value of tag t in an unfolded DKIM-Signature value, into out. */
static void tag_value(const char *v, const char *t, char *out, size_t max)
{
	char flat[8192], *p;
	size_t n = 0, tl = strlen(t);

	for (; *v && n + 1 < sizeof flat; v++)
		if (*v != '\r' && *v != '\n' && *v != '\t' && *v != ' ')
			flat[n++] = *v;
	flat[n] = '\0';
	for (p = flat; p != NULL; p = strchr(p, ';') ? strchr(p, ';') + 1 : NULL) {
		if (strncmp(p, t, tl) == 0 && p[tl] == '=') {
			n = strcspn(p + tl + 1, ";");
			assert_true(n < max);
			memcpy(out, p + tl + 1, n);
			out[n] = '\0';
			return;
		}
	}
	out[0] = '\0';
}

/* Tag names in order, space separated. */
static void tag_names(const char *v, char *out, size_t max)
{
	struct op_buf b;
	const char *p = v;

	op_buf_init(&b, max - 1);
	while (*p) {
		p += strspn(p, " \t\r\n;");
		if (*p == '\0')
			break;
		op_buf_append(&b, p, strcspn(p, "= \t\r\n"));
		op_buf_putc(&b, ' ');
		p += strcspn(p, ";");
	}
	op_strlcpy(out, op_buf_str(&b), max);
	op_buf_free(&b);
}

static void check_folding(const char *v)
{
	size_t col = strlen("DKIM-Signature:");

	assert_int_equal(v[0], ' ');
	for (const char *p = v; *p; p++) {
		if (*p == '\r') {
			if (p[1] != '\n' || p[2] != '\t')
				fail_msg("fold is not CRLF TAB at %zu: %s", (size_t)(p - v), v);
			p += 2;
			col = 8;
			continue;
		}
		if (*p == '\n')
			fail_msg("bare LF at %zu: %s", (size_t)(p - v), v);
		if (++col > 78)
			fail_msg("line longer than 78 columns at %zu: %s", (size_t)(p - v), v);
	}
}

static void signature_value_is_folded_with_b_last(void **state)
{
	const struct op_dkim_sign_key keys[] = {{&T.rsa, "example.org"}, {&T.ed, "example.org"}};
	static const char *const want_alg[] = {"rsa-sha256", "ed25519-sha256"};
	struct op_dkim_sign_params p = params(keys, 2, 1, 0);
	const char *const hs[] = {"from", "to", "subject", "date", "message-id", "x-absent"};
	struct op_buf text;
	char bh[64], got[512];

	(void)state;
	p.sign_hdrs = hs;
	p.nsign_hdrs = 6;
	p.ttl = 3600;
	p.identity = "@example.org";
	sign_msg(&msgs[0], &p, 64, &text, bh);
	for (size_t i = 0; i < 2; i++) {
		const char *v = strstr(text.data, "DKIM-Signature:") + 15;
		char *end;

		for (size_t k = 0; k < i; k++)
			v = strstr(v, "DKIM-Signature:") + 15;
		end = strstr(v, "\r\nDKIM-Signature:");
		end = end ? end : strstr(v, "\r\nFrom:");
		*end = '\0';
		check_folding(v);
		tag_names(v, got, sizeof got);
		WANT_MEM("tag order", got, strlen(got), "v a c d s i t x h bh b ", 23);
		tag_value(v, "a", got, sizeof got);
		WANT_MEM("a=", got, strlen(got), want_alg[i], strlen(want_alg[i]));
		tag_value(v, "c", got, sizeof got);
		WANT_MEM("c=", got, strlen(got), "relaxed/simple", 14);
		tag_value(v, "t", got, sizeof got);
		WANT_MEM("t=", got, strlen(got), "1700000000", 10);
		tag_value(v, "x", got, sizeof got);
		WANT_MEM("x=", got, strlen(got), "1700003600", 10);
		tag_value(v, "h", got, sizeof got);
		WANT_MEM("h= (oversigned from, absent name left out)", got, strlen(got),
			 "from:from:to:subject:date:message-id", 36);
		tag_value(v, "bh", got, sizeof got);
		WANT_MEM("bh=", got, strlen(got), bh, strlen(bh));
		*end = '\r';
	}
	op_buf_free(&text);
}

static void expiry_and_identity_tags_verify(void **state)
{
	const struct op_dkim_sign_key keys[] = {{&T.rsa, "example.org"}, {&T.ed, "example.org"}};
	struct op_dkim_sign_params p = params(keys, 2, 1, 1);
	struct op_buf text;
	char t[32], x[32];
	time_t now = time(NULL);

	(void)state;
	p.timestamp = 0; /* now: verifiers check x= against their clock */
	p.ttl = 86400;
	p.identity = "jo;e=x@mail.example.org";
	sign_msg(&msgs[0], &p, 3, &text, NULL);
	assert_non_null(strstr(text.data, "i=jo=3Be=3Dx@mail.example.org;"));
	tag_value(text.data + 15, "t", t, sizeof t);
	tag_value(text.data + 15, "x", x, sizeof x);
	assert_in_range(strtoll(t, NULL, 10), now, now + 5);
	assert_int_equal(strtoll(x, NULL, 10), strtoll(t, NULL, 10) + 86400);
	expect_pass("x= and i=", &text, 2);
	write_out("expiry-identity", &text);
	op_buf_free(&text);
}

static void two_keys_and_two_domains_each_verify(void **state)
{
	const struct op_dkim_sign_key keys[] = {
	    {&T.ed, "example.net"}, {&T.rsa, "example.org"}, {&T.rsa, "example.net"}};
	struct op_dkim_sign_params p = params(keys, 3, 0, 1);
	struct op_buf text;
	char d[3][64];
	const char *v;

	(void)state;
	sign_msg(&msgs[3], &p, 2, &text, NULL);
	v = text.data;
	for (int i = 0; i < 3; i++, v++) {
		v = strstr(v, "DKIM-Signature:");
		tag_value(v + 15, "d", d[i], sizeof d[i]);
	}
	assert_string_equal(d[0], "example.net");
	assert_string_equal(d[1], "example.org");
	assert_string_equal(d[2], "example.net");
	expect_pass("three signatures", &text, 3);
	write_out("three-signatures", &text);
	op_buf_free(&text);
}

/* text with line inserted at the top, or as the last header. */
static void add_header(const struct op_buf *text, const char *line, bool bottom, struct op_buf *out)
{
	size_t at = bottom ? (size_t)(strstr(text->data, "\r\n\r\n") - text->data) + 2 : 0;

	op_buf_init(out, BIG);
	op_buf_append(out, text->data, at);
	op_buf_puts(out, line);
	op_buf_append(out, text->data + at, text->len - at);
}

static void check_added_subject(bool oversign, bool bottom, bool want_pass)
{
	const struct op_dkim_sign_key keys[] = {{&T.rsa, "example.org"}, {&T.ed, "example.org"}};
	const char *const over[] = {"Subject"};
	struct op_dkim_sign_params p = params(keys, 2, 1, 1);
	struct op_buf text, bad;

	if (oversign) {
		p.oversign_hdrs = over;
		p.noversign_hdrs = 1;
	}
	char what[80];

	snprintf(what, sizeof what, "Subject %soversigned, a new one at the %s",
		 oversign ? "" : "not ", bottom ? "bottom" : "top");
	sign_msg(&msgs[0], &p, 7, &text, NULL);
	expect_pass("before the new Subject", &text, 2);
	add_header(&text, "Subject: a second subject\r\n", bottom, &bad);
	if (want_pass)
		expect_pass(what, &bad, 2);
	else
		expect_fail(what, &bad);
	if (oversign && !bottom)
		write_out("oversigned-subject", &text);
	op_buf_free(&text);
	op_buf_free(&bad);
}

static void oversigned_header_added_later_breaks_signature(void **state)
{
	(void)state;
	check_added_subject(true, false, false);
	check_added_subject(true, true, false);
}

static void header_added_above_plain_signed_name_keeps_signature(void **state)
{
	(void)state;
	check_added_subject(false, false, true); /* bottom-up: the old one is still used */
	check_added_subject(false, true, false);
}

static void every_instance_of_a_repeated_header_is_signed(void **state)
{
	const struct op_dkim_sign_key keys[] = {{&T.rsa, "example.org"}, {&T.ed, "example.org"}};
	static const struct {
		const char *from, *to;
	} edits[] = {
	    {"To: Suzie Q <suzie@example.net>", "To: Suzie Q <eviL1@example.net>"},
	    {"To: second@example.net", "To: seconD@example.net"},
	    {"Cc: one@example.net\r\nCc: two@example.net",
	     "Cc: two@example.net\r\nCc: one@example.net"},
	};
	struct op_dkim_sign_params p = params(keys, 2, 0, 0);
	struct op_buf text;
	const char *want;
	char h[512];

	(void)state;
	sign_msg(&msgs[6], &p, 4, &text, NULL);
	expect_pass("repeated headers", &text, 2);
	tag_value(text.data + 15, "h", h, sizeof h);
	want = "From:From:To:To:Cc:Cc:Subject:Date:Message-ID";
	WANT_MEM("h=", h, strlen(h), want, strlen(want));
	for (size_t i = 0; i < NROWS(edits); i++) {
		struct op_buf bad;
		char *at = strstr(text.data, edits[i].from);

		assert_non_null(at);
		assert_int_equal(strlen(edits[i].from), strlen(edits[i].to));
		op_buf_init(&bad, BIG);
		op_buf_append(&bad, text.data, text.len);
		memcpy(bad.data + (at - text.data), edits[i].to, strlen(edits[i].to));
		expect_fail(edits[i].to, &bad);
		op_buf_free(&bad);
	}
	op_buf_free(&text);
}

static struct op_dkim_key nopkey, mismatch, badsel; /* set up by the test below */
static const char *const no_from[] = {"To", "Subject"};
static const char *const semicolon[] = {"From", "Sub;ject"};
static const char *const empty[] = {"From", ""};
static const char *const colon[] = {"From", "Sub:ject"};

/* Changes to the good parameters of params(); zero fields keep them. */
static const struct bad_row {
	const char *why, *err; /* err NULL: accepted */
	bool no_keys;
	const struct op_dkim_key *key;
	const char *domain, *identity;
	const char *const *hdrs;
	const char *const *over;
} bad_rows[] = {
    {"no key", "no DKIM key", .no_keys = true},
    {"key without pkey", "not loaded", .key = &nopkey},
    {"RSA key called Ed25519", "does not match", .key = &mismatch},
    {"';' in selector", "bad DKIM selector", .key = &badsel},
    {"empty domain", "bad DKIM signing domain", .domain = ""},
    {"space in domain", "bad DKIM signing domain", .domain = "exa mple.org"},
    {"';' in domain", "bad DKIM signing domain", .domain = "example.org;"},
    {"unresolved %", "bad DKIM signing domain", .domain = "%"},
    {"i= in another domain", "not within", .identity = "user@other.org"},
    {"i= without @", "not within", .identity = "no-at-sign"},
    {"i= in a suffix that is no subdomain", "not within", .identity = "@ample.org"},
    {"From not signed", "From is not among", .hdrs = no_from, .over = no_from},
    {"';' in a name", "bad header name", .hdrs = semicolon},
    {"empty name", "bad header name", .hdrs = empty},
    {"':' in a name", "bad header name", .hdrs = colon},
    {"From only oversigned", NULL, .hdrs = no_from},
    {"i= in a subdomain, other case", NULL, .identity = "user@Mail.Example.ORG"},
};

static void signer_refuses_bad_parameters(void **state)
{
	(void)state;
	nopkey = mismatch = T.rsa;
	nopkey.pkey = NULL;
	mismatch.alg = OP_DKIM_ED25519_SHA256;
	badsel = T.ed;
	badsel.selector = (char *)"bad;sel";
	for (size_t i = 0; i < NROWS(bad_rows); i++) {
		const struct bad_row *b = &bad_rows[i];
		struct op_dkim_sign_key k = {b->key ? b->key : &T.rsa,
					     b->domain ? b->domain : "example.org"};
		struct op_dkim_sign_params p = params(&k, b->no_keys ? 0 : 1, 1, 1);
		struct op_dkim_signer *s = (struct op_dkim_signer *)&p; /* new must reset it */
		const char *err = "";
		int r;

		p.identity = b->identity;
		if (b->hdrs != NULL)
			p.sign_hdrs = b->hdrs, p.nsign_hdrs = 2;
		if (b->over != NULL)
			p.oversign_hdrs = b->over, p.noversign_hdrs = 2;
		r = op_dkim_signer_new(&p, &s, &err);
		if (b->err == NULL ? r != 0 : (r != -1 || s != NULL || strstr(err, b->err) == NULL))
			fail_msg("%s: got %d \"%s\", want %d \"%s\"", b->why, r, r ? err : "",
				 b->err ? -1 : 0, b->err ? b->err : "");
		op_dkim_signer_free(&s);
	}
}

static void finish_refuses_message_without_from_and_second_call(void **state)
{
	const struct op_dkim_sign_key keys[] = {{&T.ed, "example.org"}};
	struct op_dkim_sign_params p = params(keys, 1, 1, 1);
	struct op_header h[] = {{"To", " a@example.net", 14}, {"Subject", " x", 2}};
	struct op_dkim_signer *s = NULL;
	const char *err = NULL;

	(void)state;
	op_dkim_signer_free(&s); /* NULL is fine */
	op_dkim_signer_free(NULL);
	assert_int_equal(op_dkim_signer_new(&p, &s, &err), 0);
	assert_null(op_dkim_signer_value(s, 0));
	assert_int_equal(op_dkim_signer_body(s, "x\r\n", 3, &err), 0);
	assert_int_equal(op_dkim_signer_finish(s, h, 2, &err), -1);
	assert_string_equal(err, "message has no From header to sign");
	assert_null(op_dkim_signer_value(s, 0));
	assert_int_equal(op_dkim_signer_finish(s, h, 2, &err), -1);
	assert_string_equal(err, "DKIM signer finished twice");
	assert_int_equal(op_dkim_signer_body(s, "x", 1, &err), -1);
	op_dkim_signer_free(&s);
	assert_null(s);
}

static void signatures_are_deterministic(void **state)
{
	const struct op_dkim_sign_key keys[] = {{&T.rsa, "example.org"}, {&T.ed, "example.org"}};
	struct op_dkim_sign_params p = params(keys, 2, 1, 1);
	struct op_buf a, b;

	(void)state;
	sign_msg(&msgs[7], &p, 1, &a, NULL);
	sign_msg(&msgs[7], &p, 4096, &b, NULL);
	WANT_MEM("same message, other chunks", a.data, a.len, b.data, b.len);
	op_buf_free(&a);
	op_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(signatures_verify_with_libopendkim),
	    cmocka_unit_test(body_hash_equals_libopendkim_body_hash),
	    cmocka_unit_test(signature_value_is_folded_with_b_last),
	    cmocka_unit_test(expiry_and_identity_tags_verify),
	    cmocka_unit_test(two_keys_and_two_domains_each_verify),
	    cmocka_unit_test(oversigned_header_added_later_breaks_signature),
	    cmocka_unit_test(header_added_above_plain_signed_name_keeps_signature),
	    cmocka_unit_test(every_instance_of_a_repeated_header_is_signed),
	    cmocka_unit_test(signer_refuses_bad_parameters),
	    cmocka_unit_test(finish_refuses_message_without_from_and_second_call),
	    cmocka_unit_test(signatures_are_deterministic),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
