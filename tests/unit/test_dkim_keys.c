/*
 * test_dkim_keys.c - plugin/dkim_key.c: loading and checking private keys,
 * TXT records (checked by dkimpy through tests/dkim/txt_roundtrip.py) and
 * key generation.  Keys are made fresh in a temporary directory; RSA keys
 * are 1024 bits where the size does not matter, to keep the run short.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "outpost/dkim_keyload.h"

extern char **environ;

/* Keys shared by every test (generation is the slow part). */
static EVP_PKEY *rsa1024, *rsa_other, *ed, *ed_other, *ec;
static char dir[64];

static char *path_of(const char *name)
{
	static char p[256];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return p;
}

static void write_file(const char *name, const void *data, size_t len, mode_t mode)
{
	const char *p = path_of(name);
	int fd;

	unlink(p);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

/* PEM or DER text of a key into a malloc'ed buffer. */
enum fmt {
	PEM_PKCS1,
	PEM_PKCS8,
	DER_RAW,
	DER_B64,
	SEED_B64,
	SEED_B64_NL,
	PEM_ENCRYPTED,
	PEM_PUBLIC
};

static char *key_text(EVP_PKEY *k, enum fmt f, size_t *len_r)
{
	BIO *b = BIO_new(BIO_s_mem());
	unsigned char raw[32];
	size_t rawlen = sizeof(raw);
	char *data, *out;
	long n;

	switch (f) {
	case PEM_PKCS1:
		assert_true(PEM_write_bio_PrivateKey_traditional(b, k, NULL, NULL, 0, NULL, NULL));
		break;
	case PEM_PKCS8:
		assert_true(PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL));
		break;
	case DER_RAW:
	case DER_B64:
		assert_true(i2d_PrivateKey_bio(b, k));
		break;
	case SEED_B64:
	case SEED_B64_NL:
		assert_true(EVP_PKEY_get_raw_private_key(k, raw, &rawlen));
		assert_true(BIO_write(b, raw, (int)rawlen) == (int)rawlen);
		break;
	case PEM_ENCRYPTED:
		assert_true(PEM_write_bio_PKCS8PrivateKey(b, k, EVP_aes_128_cbc(), NULL, 0, NULL,
							  (void *)"secret"));
		break;
	case PEM_PUBLIC:
		assert_true(PEM_write_bio_PUBKEY(b, k));
		break;
	}
	n = BIO_get_mem_data(b, &data);
	if (f == DER_B64 || f == SEED_B64 || f == SEED_B64_NL) {
		out = calloc(1, (size_t)n * 2 + 8);
		assert_non_null(out);
		EVP_EncodeBlock((unsigned char *)out, (unsigned char *)data, (int)n);
		if (f == SEED_B64_NL)
			out[strlen(out)] = '\n'; /* calloc'ed with room to spare */
	} else {
		out = malloc((size_t)n + 1);
		assert_non_null(out);
		memcpy(out, data, (size_t)n);
		out[n] = '\0';
	}
	*len_r = f == DER_RAW ? (size_t)n : strlen(out);
	BIO_free(b);
	return out;
}

static void write_key(const char *name, EVP_PKEY *k, enum fmt f, mode_t mode)
{
	size_t len;
	char *t = key_text(k, f, &len);

	write_file(name, t, len, mode);
	free(t);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(p);
}

static int group_setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/outpost-keys-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	rsa1024 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	rsa_other = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	ed_other = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	return rsa1024 && rsa_other && ed && ed_other && ec ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(rsa1024);
	EVP_PKEY_free(rsa_other);
	EVP_PKEY_free(ed);
	EVP_PKEY_free(ed_other);
	EVP_PKEY_free(ec);
	return nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

/* ---- loading ---- */

static void test_load_accepts_each_format(void **state)
{
	static const struct {
		const char *name;
		int key; /* 0 RSA, 1 Ed25519 */
		enum fmt fmt;
		mode_t mode;
		enum op_dkim_alg alg;
		unsigned bits;
	} cases[] = {
	    {"rsa PEM PKCS#1 (BEGIN RSA PRIVATE KEY)", 0, PEM_PKCS1, 0600, OP_DKIM_RSA_SHA256,
	     1024},
	    {"rsa PEM PKCS#8 (BEGIN PRIVATE KEY)", 0, PEM_PKCS8, 0600, OP_DKIM_RSA_SHA256, 1024},
	    {"rsa base64 DER (OpenDKIM inline style)", 0, DER_B64, 0600, OP_DKIM_RSA_SHA256, 1024},
	    {"rsa binary DER", 0, DER_RAW, 0600, OP_DKIM_RSA_SHA256, 1024},
	    {"rsa group-readable 0640", 0, PEM_PKCS8, 0640, OP_DKIM_RSA_SHA256, 1024},
	    {"ed25519 PEM PKCS#8", 1, PEM_PKCS8, 0600, OP_DKIM_ED25519_SHA256, 256},
	    {"ed25519 seed base64 (dknewkey)", 1, SEED_B64, 0600, OP_DKIM_ED25519_SHA256, 256},
	    {"ed25519 seed base64 + newline", 1, SEED_B64_NL, 0400, OP_DKIM_ED25519_SHA256, 256},
	};
	char err[512];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		EVP_PKEY *want = cases[i].key ? ed : rsa1024;
		struct op_dkim_key k = {0};
		int r;

		write_key("k", want, cases[i].fmt, cases[i].mode);
		err[0] = '\0';
		r = op_dkim_key_load_file(NULL, path_of("k"), OP_DKIM_ALG_ANY, 1024, &k, err,
					  sizeof(err));
		if (r != 0 || k.alg != cases[i].alg || k.bits != cases[i].bits ||
		    EVP_PKEY_eq(k.pkey, want) != 1)
			fail_msg("%s: got r=%d alg=%d bits=%u err=\"%s\"; want 0, alg=%d bits=%u, "
				 "same key",
				 cases[i].name, r, k.alg, k.bits, err, cases[i].alg, cases[i].bits);
		EVP_PKEY_free(k.pkey);
	}
}

enum content {
	C_RSA,
	C_ED,
	C_EC,
	C_EMPTY,
	C_GARBAGE,
	C_BROKEN_PEM,
	C_ENCRYPTED,
	C_PUBLIC,
	C_SEED31,
	C_HUGE,
	C_DIR,
	C_FIFO,
	C_MISSING
};

static void make_content(const char *name, enum content c, mode_t mode)
{
	static const char broken[] =
	    "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
	char *big;

	switch (c) {
	case C_RSA:
		write_key(name, rsa1024, PEM_PKCS8, mode);
		break;
	case C_ED:
		write_key(name, ed, PEM_PKCS8, mode);
		break;
	case C_EC:
		write_key(name, ec, PEM_PKCS8, mode);
		break;
	case C_EMPTY:
		write_file(name, "", 0, mode);
		break;
	case C_GARBAGE:
		write_file(name, "hello, world!\n", 14, mode);
		break;
	case C_BROKEN_PEM:
		write_file(name, broken, sizeof(broken) - 1, mode);
		break;
	case C_ENCRYPTED:
		write_key(name, rsa1024, PEM_ENCRYPTED, mode);
		break;
	case C_PUBLIC:
		write_key(name, rsa1024, PEM_PUBLIC, mode);
		break;
	case C_SEED31:
		write_file(name, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==", 44, mode);
		break;
	case C_HUGE:
		big = malloc(OP_DKIM_KEY_FILE_MAX + 100);
		assert_non_null(big);
		memset(big, 'A', OP_DKIM_KEY_FILE_MAX + 100);
		write_file(name, big, OP_DKIM_KEY_FILE_MAX + 100, mode);
		free(big);
		break;
	case C_DIR:
		assert_int_equal(mkdir(path_of(name), mode), 0);
		break;
	case C_FIFO:
		assert_int_equal(mkfifo(path_of(name), mode), 0);
		break;
	case C_MISSING:
		break;
	}
}

static void test_load_refuses_with_reason(void **state)
{
	static const struct {
		const char *name;
		enum content content;
		mode_t mode;
		unsigned min_bits;
		int want_alg;
		const char *want; /* substring of the error */
	} cases[] = {
	    {"world-readable", C_RSA, 0644, 1024, -1, "mode 0644 lets other users"},
	    {"world-readable only", C_RSA, 0604, 1024, -1, "mode 0604"},
	    {"world-writable", C_RSA, 0602, 1024, -1, "mode 0602"},
	    {"group-writable", C_RSA, 0620, 1024, -1, "mode 0620"},
	    {"directory", C_DIR, 0700, 1024, -1, "not a regular file"},
	    {"fifo", C_FIFO, 0600, 1024, -1, "not a regular file"},
	    {"missing file", C_MISSING, 0600, 1024, -1, "No such file"},
	    {"empty file", C_EMPTY, 0600, 1024, -1, "empty"},
	    {"too large", C_HUGE, 0600, 1024, -1, "larger than 65536 bytes"},
	    {"not a key", C_GARBAGE, 0600, 1024, -1, "not a key"},
	    {"broken PEM", C_BROKEN_PEM, 0600, 1024, -1, "PEM holds no key"},
	    {"encrypted PEM", C_ENCRYPTED, 0600, 1024, -1, "encrypted"},
	    {"public key PEM", C_PUBLIC, 0600, 1024, -1, "\"PUBLIC KEY\" is not a key"},
	    {"31-byte base64", C_SEED31, 0600, 1024, -1, "neither an Ed25519 seed"},
	    {"EC key", C_EC, 0600, 1024, -1, "EC key: DKIM signs with RSA or Ed25519 only"},
	    {"RSA under minimum", C_RSA, 0600, 2048, -1,
	     "RSA key of 1024 bits is shorter than the minimum of 2048 bits"},
	    {"RSA, config says ed25519", C_RSA, 0600, 1024, OP_DKIM_ED25519_SHA256,
	     "the key is RSA but the configuration says ed25519-sha256"},
	    {"Ed25519, config says rsa", C_ED, 0600, 1024, OP_DKIM_RSA_SHA256,
	     "the key is Ed25519 but the configuration says rsa-sha256"},
	};
	char err[512], name[32];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct op_dkim_key k = {0};
		int r;

		snprintf(name, sizeof(name), "refuse%zu", i);
		make_content(name, cases[i].content, cases[i].mode);
		err[0] = '\0';
		r = op_dkim_key_load_file(NULL, path_of(name), cases[i].want_alg, cases[i].min_bits,
					  &k, err, sizeof(err));
		if (r != -1 || k.pkey != NULL || strstr(err, cases[i].want) == NULL ||
		    strncmp(err, path_of(name), strlen(path_of(name))) != 0)
			fail_msg("%s: got r=%d err=\"%s\"; want -1 and \"%s: ...%s...\"",
				 cases[i].name, r, err, path_of(name), cases[i].want);
	}
}

static void test_mode_rule(void **state)
{
	static const struct {
		mode_t mode;
		bool ok;
	} cases[] = {{0600, true},  {0400, true},  {0640, true},  {0440, true},
		     {0700, true},  {0660, false}, {0620, false}, {0644, false},
		     {0604, false}, {0602, false}, {0601, true},  {0666, false}};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (op_dkim_key_mode_ok(cases[i].mode) != cases[i].ok)
			fail_msg("mode %04o: got %d, want %d", (unsigned)cases[i].mode,
				 !cases[i].ok, cases[i].ok);
}

static void test_loader_reused_after_failure(void **state)
{
	struct op_dkim_keyloader *l = op_dkim_keyloader_new();
	struct op_dkim_key k = {0};
	char err[256];

	(void)state;
	assert_non_null(l);
	make_content("garbage", C_GARBAGE, 0600);
	write_key("good", rsa1024, PEM_PKCS1, 0600);
	assert_int_equal(
	    op_dkim_key_load_file(l, path_of("garbage"), -1, 1024, &k, err, sizeof(err)), -1);
	assert_int_equal(op_dkim_key_load_file(l, path_of("good"), -1, 1024, &k, err, sizeof(err)),
			 0);
	assert_int_equal(EVP_PKEY_eq(k.pkey, rsa1024), 1);
	EVP_PKEY_free(k.pkey);
	op_dkim_keyloader_free(&l);
	assert_null(l);
}

static void test_key_new_and_free(void **state)
{
	struct op_dkim_key *k = op_dkim_key_new("n", "example.com", "sel", NULL, 7);

	(void)state;
	assert_non_null(k);
	assert_string_equal(k->domain, "example.com");
	assert_null(k->path);
	assert_int_equal(k->line, 7);
	k->pkey = EVP_PKEY_dup(ed);
	op_dkim_key_free(&k);
	assert_null(k);
	op_dkim_key_free(&k); /* NULL is fine */
	assert_int_equal(op_dkim_alg_parse("ed25519"), OP_DKIM_ED25519_SHA256);
	assert_int_equal(op_dkim_alg_parse("rsa-sha256"), OP_DKIM_RSA_SHA256);
	assert_int_equal(op_dkim_alg_parse("dsa"), -1);
	assert_string_equal(op_dkim_alg_name(OP_DKIM_ED25519_SHA256), "ed25519-sha256");
}

/* ---- TXT records ---- */

static char *txt_of(EVP_PKEY *k)
{
	struct op_buf b;
	char err[256];
	char *r;

	op_buf_init(&b, OP_DKIM_TXT_MAX);
	assert_int_equal(op_dkim_txt_record(k, &b, err, sizeof(err)), 0);
	r = strdup(op_buf_str(&b));
	assert_non_null(r);
	op_buf_free(&b);
	return r;
}

static void test_txt_record_format(void **state)
{
	char *rsa = txt_of(rsa1024), *e = txt_of(ed), want[1024];
	unsigned char der[600], *p = der, raw[32];
	size_t rawlen = sizeof(raw);
	int n = i2d_PUBKEY(rsa1024, &p);

	(void)state;
	/* RSA: p= is the SubjectPublicKeyInfo DER, as `openssl rsa -pubout`. */
	assert_true(n > 0);
	EVP_EncodeBlock((unsigned char *)want, der, n);
	assert_true(strncmp(rsa, "v=DKIM1; k=rsa; p=", 18) == 0);
	assert_string_equal(rsa + 18, want);
	/* Ed25519 (RFC 8463): the raw 32-byte key, 44 base64 characters. */
	assert_true(EVP_PKEY_get_raw_public_key(ed, raw, &rawlen));
	EVP_EncodeBlock((unsigned char *)want, raw, (int)rawlen);
	assert_true(strncmp(e, "v=DKIM1; k=ed25519; p=", 22) == 0);
	assert_string_equal(e + 22, want);
	assert_int_equal(strlen(want), 44);
	free(rsa);
	free(e);
}

/* tmpl with "{P}" replaced by p and "{Q}" by q. */
static void fill(char *out, size_t cap, const char *tmpl, const char *p, const char *q)
{
	struct op_buf b;

	op_buf_init(&b, cap - 1);
	for (const char *t = tmpl; *t != '\0'; t++) {
		if (strncmp(t, "{P}", 3) == 0 || strncmp(t, "{Q}", 3) == 0) {
			assert_int_equal(op_buf_puts(&b, t[1] == 'P' ? p : q), 0);
			t += 2;
		} else {
			assert_int_equal(op_buf_putc(&b, *t), 0);
		}
	}
	memcpy(out, op_buf_str(&b), b.len + 1);
	op_buf_free(&b);
}

static void test_txt_check_statuses(void **state)
{
	static const struct {
		const char *name;
		int key;	  /* 0 RSA, 1 Ed25519 */
		const char *tmpl; /* {P}: our p=, {Q}: another key's p= */
		enum op_dkim_txt_status want;
		const char *why; /* substring of err, or NULL */
	} cases[] = {
	    {"rsa ours", 0, "v=DKIM1; k=rsa; p={P}", OP_DKIM_TXT_OK, NULL},
	    {"rsa no k= means rsa", 0, "v=DKIM1; p={P}", OP_DKIM_TXT_OK, NULL},
	    {"rsa no v=", 0, "k=rsa; p={P}", OP_DKIM_TXT_OK, NULL},
	    {"rsa trailing ;", 0, "v=DKIM1; k=rsa; p={P};", OP_DKIM_TXT_OK, NULL},
	    {"rsa white space", 0, " v = DKIM1 ;\tk=rsa ;p= {P} ", OP_DKIM_TXT_OK, NULL},
	    {"rsa unknown tags", 0, "v=DKIM1; t=y; n=note; k=rsa; p={P}", OP_DKIM_TXT_OK, NULL},
	    {"rsa h=sha256", 0, "v=DKIM1; h=sha1:sha256; p={P}", OP_DKIM_TXT_OK, NULL},
	    {"rsa s=email", 0, "v=DKIM1; s=email; p={P}", OP_DKIM_TXT_OK, NULL},
	    {"rsa revoked", 0, "v=DKIM1; k=rsa; p=", OP_DKIM_TXT_REVOKED, "revoked"},
	    {"rsa other key", 0, "v=DKIM1; k=rsa; p={Q}", OP_DKIM_TXT_MISMATCH, "not our"},
	    {"rsa k=ed25519", 0, "v=DKIM1; k=ed25519; p={P}", OP_DKIM_TXT_MISMATCH, "k=ed25519"},
	    {"rsa h=sha1 only", 0, "v=DKIM1; h=sha1; p={P}", OP_DKIM_TXT_MISMATCH, "sha256"},
	    {"rsa s=tlsrpt", 0, "v=DKIM1; s=tlsrpt; p={P}", OP_DKIM_TXT_MISMATCH, "email"},
	    {"rsa v=DKIM2", 0, "v=DKIM2; p={P}", OP_DKIM_TXT_INVALID, "DKIM1"},
	    {"rsa no p=", 0, "v=DKIM1; k=rsa", OP_DKIM_TXT_INVALID, "no p="},
	    {"rsa p= twice", 0, "v=DKIM1; p={P}; p={P}", OP_DKIM_TXT_INVALID, "twice"},
	    {"rsa bad base64", 0, "v=DKIM1; p={P}!", OP_DKIM_TXT_INVALID, "base64"},
	    {"rsa tag without =", 0, "v=DKIM1; junk; p={P}", OP_DKIM_TXT_INVALID, "no '='"},
	    {"ed ours", 1, "v=DKIM1; k=ed25519; p={P}", OP_DKIM_TXT_OK, NULL},
	    {"ed other key", 1, "v=DKIM1; k=ed25519; p={Q}", OP_DKIM_TXT_MISMATCH, "not our"},
	    {"ed without k=", 1, "v=DKIM1; p={P}", OP_DKIM_TXT_MISMATCH, "k=rsa"},
	    {"ed revoked", 1, "v=DKIM1; k=ed25519; p=", OP_DKIM_TXT_REVOKED, "revoked"},
	};
	char rec[2048], err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		EVP_PKEY *ours = cases[i].key ? ed : rsa1024;
		char *t1 = txt_of(ours), *t2 = txt_of(cases[i].key ? ed_other : rsa_other);
		enum op_dkim_txt_status got;

		fill(rec, sizeof(rec), cases[i].tmpl, strstr(t1, "p=") + 2, strstr(t2, "p=") + 2);
		err[0] = '\0';
		got = op_dkim_txt_check(ours, rec, strlen(rec), err, sizeof(err));
		if (got != cases[i].want || (cases[i].why && strstr(err, cases[i].why) == NULL))
			fail_msg("%s: got %s (\"%s\"); want %s (\"%s\")", cases[i].name,
				 op_dkim_txt_status_name(got), err,
				 op_dkim_txt_status_name(cases[i].want),
				 cases[i].why ? cases[i].why : "");
		free(t1);
		free(t2);
	}
}

static void test_txt_check_nul_byte_is_invalid(void **state)
{
	char err[128];

	(void)state;
	assert_int_equal(op_dkim_txt_check(ed, "v=DKIM1;\0p=AAAA", 15, err, sizeof(err)),
			 OP_DKIM_TXT_INVALID);
}

/* Run tests/dkim/txt_roundtrip.py: dkimpy signs with the key file and
 * verifies with the TXT record.  Returns its exit status (77: skipped). */
static int dkimpy_roundtrip(const char *keyfile, const char *txt)
{
	const char *srcdir = getenv("srcdir");
	char script[512];
	char *argv[] = {"/usr/bin/python3", script, (char *)keyfile, (char *)txt, NULL};
	pid_t pid;
	int st;

	snprintf(script, sizeof(script), "%s/tests/dkim/txt_roundtrip.py", srcdir ? srcdir : ".");
	if (access("/usr/bin/python3", X_OK) != 0 || access(script, R_OK) != 0)
		return 77;
	if (posix_spawn(&pid, argv[0], NULL, NULL, argv, environ) != 0)
		return 77;
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static void test_txt_record_verifies_with_dkimpy(void **state)
{
	static const struct {
		const char *name;
		int key;
		enum fmt fmt;
		int other_txt; /* use another key's TXT: dkimpy must then fail */
		int want;
	} cases[] = {
	    {"rsa PKCS#1", 0, PEM_PKCS1, 0, 0},	    {"rsa PKCS#8", 0, PEM_PKCS8, 0, 0},
	    {"ed25519 PKCS#8", 1, PEM_PKCS8, 0, 0}, {"ed25519 seed", 1, SEED_B64, 0, 0},
	    {"rsa, wrong TXT", 0, PEM_PKCS8, 1, 1}, {"ed25519, wrong TXT", 1, SEED_B64, 1, 1},
	};
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct op_dkim_key k = {0};
		char *txt;
		int got;

		write_key("rt", cases[i].key ? ed : rsa1024, cases[i].fmt, 0600);
		assert_int_equal(
		    op_dkim_key_load_file(NULL, path_of("rt"), -1, 1024, &k, err, sizeof(err)), 0);
		txt = txt_of(cases[i].other_txt ? (cases[i].key ? ed_other : rsa_other) : k.pkey);
		got = dkimpy_roundtrip(path_of("rt"), txt);
		if (got == 77)
			skip();
		if (got != cases[i].want)
			fail_msg("%s: dkimpy exit %d, want %d (TXT %s)", cases[i].name, got,
				 cases[i].want, txt);
		free(txt);
		EVP_PKEY_free(k.pkey);
	}
}

/* ---- keygen ---- */

/* Files in dir whose name starts with prefix. */
static int count_files(const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	while ((de = readdir(d)) != NULL)
		n += strncmp(de->d_name, prefix, strlen(prefix)) == 0;
	closedir(d);
	return n;
}

static void test_keygen_writes_0600_and_its_txt_matches(void **state)
{
	static const struct {
		const char *file;
		enum op_dkim_alg alg;
		unsigned bits;
	} cases[] = {{"gen-rsa", OP_DKIM_RSA_SHA256, 2048}, {"gen-ed", OP_DKIM_ED25519_SHA256, 0}};
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct op_dkim_key k = {0};
		struct op_buf txt;
		struct stat st;
		int r;

		op_buf_init(&txt, OP_DKIM_TXT_MAX);
		r = op_dkim_keygen(path_of(cases[i].file), cases[i].alg, cases[i].bits, false, &txt,
				   err, sizeof(err));
		if (r != 0)
			fail_msg("%s: keygen got %d (%s), want 0", cases[i].file, r, err);
		assert_int_equal(stat(path_of(cases[i].file), &st), 0);
		if ((st.st_mode & 07777) != 0600)
			fail_msg("%s: mode %04o, want 0600", cases[i].file, st.st_mode & 07777);
		assert_int_equal(op_dkim_key_load_file(NULL, path_of(cases[i].file),
						       (int)cases[i].alg, 2048, &k, err,
						       sizeof(err)),
				 0);
		assert_int_equal(
		    op_dkim_txt_check(k.pkey, op_buf_str(&txt), txt.len, err, sizeof(err)),
		    OP_DKIM_TXT_OK);
		r = dkimpy_roundtrip(path_of(cases[i].file), op_buf_str(&txt));
		if (r != 0 && r != 77)
			fail_msg("%s: dkimpy exit %d with %s", cases[i].file, r, op_buf_str(&txt));
		/* One file, no temporary left behind. */
		assert_int_equal(count_files(cases[i].file), 1);
		EVP_PKEY_free(k.pkey);
		op_buf_free(&txt);
	}
}

static void test_keygen_refuses_to_replace_unless_asked(void **state)
{
	struct op_dkim_key before = {0}, after = {0};
	struct op_buf txt;
	char err[256];

	(void)state;
	op_buf_init(&txt, OP_DKIM_TXT_MAX);
	assert_int_equal(op_dkim_keygen(path_of("keep"), OP_DKIM_ED25519_SHA256, 0, false, &txt,
					err, sizeof(err)),
			 0);
	assert_int_equal(
	    op_dkim_key_load_file(NULL, path_of("keep"), -1, 0, &before, err, sizeof(err)), 0);
	op_buf_reset(&txt);
	assert_int_equal(op_dkim_keygen(path_of("keep"), OP_DKIM_ED25519_SHA256, 0, false, &txt,
					err, sizeof(err)),
			 -1);
	if (strstr(err, "refusing to replace") == NULL || txt.len != 0)
		fail_msg("got err \"%s\" txt \"%s\"; want a refusal and no TXT", err,
			 op_buf_str(&txt));
	assert_int_equal(op_dkim_keygen(path_of("keep"), OP_DKIM_ED25519_SHA256, 0, true, &txt, err,
					sizeof(err)),
			 0);
	assert_int_equal(
	    op_dkim_key_load_file(NULL, path_of("keep"), -1, 0, &after, err, sizeof(err)), 0);
	assert_int_not_equal(EVP_PKEY_eq(before.pkey, after.pkey), 1);
	assert_int_equal(count_files("keep"), 1);
	EVP_PKEY_free(before.pkey);
	EVP_PKEY_free(after.pkey);
	op_buf_free(&txt);
}

static void test_keygen_refuses_bad_requests(void **state)
{
	static const struct {
		const char *path;
		unsigned bits;
		const char *want;
	} cases[] = {
	    {"small", 512, "outside 1024..16384"},
	    {"nodir/x", 2048, "No such file"},
	};
	struct op_buf txt;
	char err[256], p[300];

	(void)state;
	op_buf_init(&txt, OP_DKIM_TXT_MAX);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r;

		snprintf(p, sizeof(p), "%s", path_of(cases[i].path));
		r = op_dkim_keygen(p, OP_DKIM_RSA_SHA256, cases[i].bits, false, &txt, err,
				   sizeof(err));
		if (r != -1 || strstr(err, cases[i].want) == NULL || txt.len != 0 ||
		    access(p, F_OK) == 0)
			fail_msg("%s: got %d \"%s\"; want -1 \"%s\", no file, no TXT",
				 cases[i].path, r, err, cases[i].want);
	}
	op_buf_free(&txt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_load_accepts_each_format),
	    cmocka_unit_test(test_load_refuses_with_reason),
	    cmocka_unit_test(test_mode_rule),
	    cmocka_unit_test(test_loader_reused_after_failure),
	    cmocka_unit_test(test_key_new_and_free),
	    cmocka_unit_test(test_txt_record_format),
	    cmocka_unit_test(test_txt_check_statuses),
	    cmocka_unit_test(test_txt_check_nul_byte_is_invalid),
	    cmocka_unit_test(test_txt_record_verifies_with_dkimpy),
	    cmocka_unit_test(test_keygen_writes_0600_and_its_txt_matches),
	    cmocka_unit_test(test_keygen_refuses_to_replace_unless_asked),
	    cmocka_unit_test(test_keygen_refuses_bad_requests),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
