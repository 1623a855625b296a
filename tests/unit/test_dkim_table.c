/*
 * test_dkim_table.c - plugin/dkim_table.c: OpenDKIM KeyTable and
 * SigningTable files, lookups in OpenDKIM's order, "%", refile wildcards,
 * malformed lines, and a 100,000-domain table (load time and memory are
 * printed, never asserted).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "outpost/buf.h"
#include "outpost/dkim_table.h"

static char dir[64];
static EVP_PKEY *rsa, *ed;

static const char *path_of(const char *name)
{
	static char p[4][256];
	static int i;

	i = (i + 1) % 4;
	snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
	return p[i];
}

static void write_file(const char *name, const char *text, mode_t mode)
{
	FILE *f;

	unlink(path_of(name));
	f = fopen(path_of(name), "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	fclose(f);
	assert_int_equal(chmod(path_of(name), mode), 0);
}

static void write_key(const char *name, EVP_PKEY *k)
{
	FILE *f = fopen(path_of(name), "w");

	assert_non_null(f);
	assert_true(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL));
	fclose(f);
	assert_int_equal(chmod(path_of(name), 0600), 0);
}

/* Table text with "@D@" replaced by the temporary directory. */
static void write_table(const char *name, const char *text, mode_t mode)
{
	struct op_buf b;

	op_buf_init(&b, 1 << 20);
	for (const char *p = text; *p != '\0'; p++) {
		if (strncmp(p, "@D@", 3) == 0) {
			assert_int_equal(op_buf_puts(&b, dir), 0);
			p += 2;
		} else {
			assert_int_equal(op_buf_putc(&b, *p), 0);
		}
	}
	write_file(name, op_buf_str(&b), mode);
	op_buf_free(&b);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(p);
}

static int group_setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/outpost-table-XXXXXX");
	if (mkdtemp(dir) == NULL || mkdir(path_of("keys"), 0700) != 0)
		return -1;
	rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (rsa == NULL || ed == NULL)
		return -1;
	write_key("rsa.pem", rsa);
	write_key("ed.pem", ed);
	write_key("keys/example.com.pem", rsa);
	write_key("keys/example.org.pem", ed);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ed);
	return nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

static struct op_dkim_table *load(const char *kt, const char *st, bool refile, char *err,
				  size_t errsize)
{
	return op_dkim_table_load(path_of(kt), path_of(st), refile, 1024, err, errsize);
}

/* Lookup result as "key/d=/i=" items joined by spaces, or "ERR:text". */
static void describe(const struct op_dkim_table *t, const char *addr, size_t max, char *out,
		     size_t outsize)
{
	struct op_dkim_sigreq r[16];
	char err[256] = "";
	int n = op_dkim_table_lookup(t, addr, r, max, err, sizeof(err));
	size_t o = 0;

	out[0] = '\0';
	if (n < 0) {
		snprintf(out, outsize, "ERR:%s", err);
		return;
	}
	for (int i = 0; i < n && o < outsize; i++)
		o += (size_t)snprintf(out + o, outsize - o, "%s%s/%s%s%s", i ? " " : "",
				      r[i].key->name, r[i].domain, r[i].signer[0] ? "/" : "",
				      r[i].signer);
}

struct lookup_case {
	const char *addr;
	size_t max;
	const char *want;
};

static void check_lookups(const struct op_dkim_table *t, const struct lookup_case *c, size_t n)
{
	char got[2048];

	for (size_t i = 0; i < n; i++) {
		describe(t, c[i].addr, c[i].max, got, sizeof(got));
		if (strcmp(got, c[i].want) != 0)
			fail_msg("lookup %s (max %zu): got \"%s\", want \"%s\"", c[i].addr,
				 c[i].max, got, c[i].want);
	}
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char keytable[] = "# name  domain:selector:key\n"
			       "full    example.com:s:@D@/rsa.pem\n"
			       "host    example.com:s:@D@/rsa.pem\n"
			       "subuser example.com:s:@D@/rsa.pem\n"
			       "sub     example.com:s:@D@/rsa.pem\n"
			       "paruser example.com:s:@D@/rsa.pem\n"
			       "par     example.com:s:@D@/rsa.pem\n"
			       "userstar example.com:s:@D@/rsa.pem\n"
			       "star    %:s:@D@/ed.pem\n"
			       "dom     %:s:@D@/rsa.pem\n"
			       "dom2    %:s2:@D@/ed.pem\n"
			       "addr    example.com:a:@D@/rsa.pem\n"
			       "anycom  %:c:@D@/rsa.pem\n"
			       "re      %:r:@D@/rsa.pem\n";

static void test_plain_table_follows_opendkim_order(void **state)
{
	static const struct lookup_case cases[] = {
	    {"user@a.b.example.com", 16,
	     "full/example.com host/example.com subuser/example.com sub/example.com "
	     "paruser/example.com par/example.com userstar/example.com star/a.b.example.com"},
	    {"user@a.b.example.com", 1, "full/example.com"},
	    {"user@a.b.example.com", 3, "full/example.com host/example.com subuser/example.com"},
	    {"USER@A.B.Example.COM", 2, "full/example.com host/example.com"},
	    {"other@a.b.example.com", 16,
	     "host/example.com sub/example.com par/example.com star/a.b.example.com"},
	    /* ".example.com" is for subdomains, not example.com itself */
	    {"user@example.com", 16, "userstar/example.com star/example.com"},
	    {"x@c.example.com", 16, "par/example.com star/c.example.com"},
	    {"a.b.example.com", 16,
	     "host/example.com sub/example.com par/example.com star/a.b.example.com"},
	    {"x@elsewhere.net", 1, "star/elsewhere.net"},
	    {"x@\xc3\xa9xample.com", 16, ""},
	    {"x@", 16, ""},
	};
	static const char st[] = "user@a.b.example.com full\n"
				 "a.b.example.com     host\n"
				 "user@.b.example.com subuser\n"
				 ".b.example.com      sub\n"
				 "user@.example.com   paruser\n"
				 ".example.com        par\n"
				 "user@*              userstar\n"
				 "*                   star\n";
	char err[512];
	struct op_dkim_table *t;

	(void)state;
	write_table("kt", keytable, 0644);
	write_table("st", st, 0644);
	t = load("kt", "st", false, err, sizeof(err));
	if (t == NULL)
		fail_msg("load: %s", err);
	check_lookups(t, cases, N(cases));
	op_dkim_table_free(&t);
	assert_null(t);
}

static void test_refile_matches_in_file_order(void **state)
{
	static const struct lookup_case cases[] = {
	    {"user@example.com", 16,
	     "anycom/example.com dom/example.com addr/example.com dom2/example.com "
	     "star/example.com re/example.com"},
	    /* the wildcard on line 1 comes before the hashed entries */
	    {"user@example.com", 1, "anycom/example.com"},
	    {"user@example.com", 3, "anycom/example.com dom/example.com addr/example.com"},
	    {"bob@Example.COM", 16,
	     "anycom/example.com dom/example.com dom2/example.com star/example.com"},
	    {"x@a.example.org", 16, "sub/example.com star/a.example.org"},
	    {"x@example.org", 16, "star/example.org"},
	    {"x@shop.com", 16, "anycom/shop.com star/shop.com"},
	    /* bare domain: an empty local part */
	    {"example.com", 16,
	     "anycom/example.com dom/example.com dom2/example.com star/example.com"},
	    {"x@\xc3\xa9xample.com", 16, ""},
	};
	static const char st[] = "*@*.com           anycom\n"
				 "*@*.example.org   sub\n"
				 "*@example.com     dom\n"
				 "user@example.com  addr\n"
				 "*@EXAMPLE.com     dom2\n"
				 "*                 star\n"
				 "u*@example.com    re\n";
	struct op_dkim_table_stats s;
	char err[512];
	struct op_dkim_table *t;

	(void)state;
	write_table("kt", keytable, 0644);
	write_table("st", st, 0644);
	t = load("kt", "st", true, err, sizeof(err));
	if (t == NULL)
		fail_msg("load: %s", err);
	check_lookups(t, cases, N(cases));
	op_dkim_table_stats(t, &s);
	/* *@DOMAIN and plain addresses are hashed; the rest is a list */
	assert_int_equal(s.exact, 3);
	assert_int_equal(s.wildcards, 4);
	assert_int_equal(s.keys, 13);
	assert_int_equal(s.key_files, 2);
	op_dkim_table_free(&t);
}

static void test_percent_domain_and_keyname(void **state)
{
	static const struct lookup_case cases[] = {
	    {"x@shop.example", 1, "pct/shop.example/@shop.example"},
	    {"x@example.net", 1, "example.net/example.net"},
	    {"x@Example.NET", 2, "example.net/example.net example.net/example.net"},
	    {"x@nokey.org", 16, "ERR:SigningTable line 3: KEYNAME % but no key \"nokey.org\""},
	};
	static const char kt[] = "pct          %:s:@D@/rsa.pem\n"
				 "example.net  example.net:s:@D@/ed.pem\n";
	static const char st[] = "*@shop.example pct:@%\n"
				 "*@example.net  %\n"
				 "*              %\n";
	char err[512];
	struct op_dkim_table *t;

	(void)state;
	write_table("kt", kt, 0600);
	write_table("st", st, 0644);
	t = load("kt", "st", true, err, sizeof(err));
	if (t == NULL)
		fail_msg("load: %s", err);
	check_lookups(t, cases, N(cases));
	op_dkim_table_free(&t);
}

static void test_percent_in_key_path(void **state)
{
	static const struct lookup_case cases[] = {
	    {"a@example.com", 1, "tk/example.com"},
	    {"a@example.org", 1, "tk/example.org"},
	    {"a@example.net", 1, "lit/example.com"},
	};
	static const char kt[] = "tk   %:s:@D@/keys/%.pem\n"
				 "lit  example.com:s:@D@/keys/%.pem\n";
	static const char st[] = "*@example.com tk\n"
				 "*@example.org tk\n"
				 "*@example.net lit\n";
	struct op_dkim_sigreq r[2];
	char err[512];
	struct op_dkim_table *t;

	(void)state;
	write_table("kt", kt, 0600);
	write_table("st", st, 0644);
	t = load("kt", "st", true, err, sizeof(err));
	if (t == NULL)
		fail_msg("load: %s", err);
	check_lookups(t, cases, N(cases));
	/* each domain got its own file */
	assert_int_equal(op_dkim_table_lookup(t, "a@example.com", r, 1, err, sizeof(err)), 1);
	assert_int_equal(EVP_PKEY_eq(r[0].key->pkey, rsa), 1);
	assert_string_equal(r[0].key->path, path_of("keys/example.com.pem"));
	assert_int_equal(op_dkim_table_lookup(t, "a@example.org", r, 1, err, sizeof(err)), 1);
	assert_int_equal(EVP_PKEY_eq(r[0].key->pkey, ed), 1);
	op_dkim_table_free(&t);
}

static void test_percent_keyname_reaches_templated_key(void **state)
{
	static const struct lookup_case cases[] = {
	    {"a@example.org", 1, "example.org/example.org"},
	};
	static const char kt[] = "example.org  %:s:@D@/keys/%.pem\n";
	static const char st[] = "* %\n";
	char err[512];
	struct op_dkim_table *t;

	(void)state;
	write_table("kt", kt, 0600);
	write_table("st", st, 0644);
	t = load("kt", "st", true, err, sizeof(err));
	if (t == NULL)
		fail_msg("load: %s", err);
	check_lookups(t, cases, N(cases));
	op_dkim_table_free(&t);
}

static void test_one_key_file_is_parsed_once(void **state)
{
	static const char kt[] = "a example.com:a:@D@/rsa.pem\n"
				 "b example.net:b:@D@/rsa.pem\n"
				 "c example.org:c:@D@/rsa.pem\n";
	static const char st[] = "example.com a\nexample.net b\nexample.org c\n";
	struct op_dkim_table_stats s;
	struct op_dkim_sigreq r1[1], r2[1];
	char err[512];
	struct op_dkim_table *t;

	(void)state;
	write_table("kt", kt, 0600);
	write_table("st", st, 0644);
	t = load("kt", "st", false, err, sizeof(err));
	if (t == NULL)
		fail_msg("load: %s", err);
	op_dkim_table_stats(t, &s);
	assert_int_equal(s.keys, 3);
	assert_int_equal(s.key_files, 1);
	assert_int_equal(op_dkim_table_lookup(t, "x@example.com", r1, 1, err, sizeof(err)), 1);
	assert_int_equal(op_dkim_table_lookup(t, "x@example.org", r2, 1, err, sizeof(err)), 1);
	assert_ptr_equal(r1[0].key->pkey, r2[0].key->pkey);
	assert_string_equal(r2[0].key->selector, "c");
	op_dkim_table_free(&t);
}

static void test_comments_blank_lines_crlf_and_tabs(void **state)
{
	static const struct lookup_case cases[] = {
	    {"x@example.com", 16, "k1/example.com k2/example.com"},
	    {"x@example.net", 16, "k2/example.net"},
	};
	static const char kt[] = "\r\n# comment\r\n\t\r\n"
				 "k1\texample.com:s:@D@/rsa.pem   # trailing comment\r\n"
				 "  k2 \t %:s:@D@/ed.pem\r\n";
	static const char st[] = "# plain table\r\n\r\nexample.com\tk1 # why\r\n   *  k2\r\n";
	char err[512];
	struct op_dkim_table *t;

	(void)state;
	write_table("kt", kt, 0600);
	write_table("st", st, 0644);
	t = load("kt", "st", false, err, sizeof(err));
	if (t == NULL)
		fail_msg("load: %s", err);
	check_lookups(t, cases, N(cases));
	op_dkim_table_free(&t);
}

static void test_duplicates_first_wins_and_dead_patterns_counted(void **state)
{
	static const struct lookup_case cases[] = {
	    {"x@example.com", 16, "k1/example.com"},
	};
	static const char kt[] = "k1 example.com:s:@D@/rsa.pem\n"
				 "k2 example.com:t:@D@/ed.pem\n"
				 "k1 example.com:u:/nonexistent/never-loaded.pem\n";
	static const char st[] = "example.com k1\n"
				 "example.com k2\n"
				 "*@example.com k2\n"
				 "example.com unknown-but-never-used\n";
	struct op_dkim_table_stats s;
	char err[512];
	struct op_dkim_table *t;

	(void)state;
	write_table("kt", kt, 0600);
	write_table("st", st, 0644);
	t = load("kt", "st", false, err, sizeof(err));
	if (t == NULL)
		fail_msg("load: %s", err);
	check_lookups(t, cases, N(cases));
	op_dkim_table_stats(t, &s);
	if (s.kt_duplicates != 1 || s.kt_first_duplicate != 3 || s.st_duplicates != 2 ||
	    s.st_first_duplicate != 2 || s.dead != 1 || s.first_dead != 3)
		fail_msg("got kt dup %zu@%u st dup %zu@%u dead %zu@%u; want 1@3 2@2 1@3",
			 s.kt_duplicates, s.kt_first_duplicate, s.st_duplicates,
			 s.st_first_duplicate, s.dead, s.first_dead);
	op_dkim_table_free(&t);
}

static void test_inline_keys(void **state)
{
	static const struct lookup_case cases[] = {
	    {"x@example.com", 16, "der/example.com seed/example.com"},
	};
	unsigned char raw[32], *der = NULL;
	size_t rawlen = sizeof(raw);
	char b64[4096], seed[64], kt[8192], err[512];
	int n = i2d_PrivateKey(rsa, &der);
	struct op_dkim_table *t;

	(void)state;
	assert_true(n > 0);
	EVP_EncodeBlock((unsigned char *)b64, der, n);
	OPENSSL_free(der);
	/* A KEY starting with '/' is a path (OpenDKIM's rule), and 1 seed in
	 * 64 encodes so: use one that does not. */
	do {
		EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");

		rawlen = sizeof(raw);
		assert_true(EVP_PKEY_get_raw_private_key(k, raw, &rawlen));
		EVP_PKEY_free(k);
		EVP_EncodeBlock((unsigned char *)seed, raw, (int)rawlen);
	} while (seed[0] == '/');
	snprintf(kt, sizeof(kt), "der example.com:s:%s\nseed example.com:e:%s\n", b64, seed);
	write_table("kt", kt, 0600);
	write_table("st", "*@example.com der\n*@example.com seed\n", 0644);
	t = load("kt", "st", true, err, sizeof(err));
	if (t == NULL)
		fail_msg("load: %s", err);
	check_lookups(t, cases, N(cases));
	op_dkim_table_free(&t);
	/* the same KeyTable readable by others is refused */
	write_table("kt", kt, 0644);
	t = load("kt", "st", true, err, sizeof(err));
	assert_null(t);
	assert_non_null(strstr(err, ":1: inline key, but other users may read"));
}

static void test_dataset_prefixes(void **state)
{
	static const struct lookup_case cases[] = {
	    {"x@example.com", 16, "k1/example.com"},
	};
	char kt[300], st[300], err[512];
	struct op_dkim_table *t;

	(void)state;
	write_table("kt", "k1 example.com:s:@D@/rsa.pem\n", 0600);
	write_table("st", "*@example.com k1\n", 0644);
	snprintf(kt, sizeof(kt), "refile:%s", path_of("kt")); /* as some guides write it */
	snprintf(st, sizeof(st), "refile:%s", path_of("st"));
	t = op_dkim_table_load(kt, st, false, 1024, err, sizeof(err));
	if (t == NULL)
		fail_msg("load: %s", err);
	check_lookups(t, cases, N(cases));
	op_dkim_table_free(&t);
	snprintf(st, sizeof(st), "file:%s", path_of("st"));
	t = op_dkim_table_load(kt, st, true, 1024, err, sizeof(err));
	assert_non_null(t);
	check_lookups(t, (const struct lookup_case[]){{"x@example.com", 16, ""}}, 1);
	op_dkim_table_free(&t);
	/* a refile: KeyTable behaves as a plain one, so patterns are refused */
	write_table("kt", "k* example.com:s:@D@/rsa.pem\n", 0600);
	t = op_dkim_table_load(kt, st, true, 1024, err, sizeof(err));
	assert_null(t);
	assert_non_null(strstr(err, "/kt:1: key name \"k*\" is a pattern"));
}

static void test_malformed_tables_refused_with_file_and_line(void **state)
{
	static const struct {
		const char *name;
		const char *kt, *st;
		mode_t kt_mode;
		bool refile;
		const char *where; /* "kt:N" or "st:N" */
		const char *want;
	} cases[] = {
	    {"keytable value", "k1 example.com:s\n", "", 0600, true, "kt:1",
	     "is not DOMAIN:SELECTOR:KEY"},
	    {"no value", "k1 example.com:s:@D@/rsa.pem\nk2\n", "", 0600, true, "kt:2",
	     "\"k2\" has no value"},
	    {"bad domain", "k1 ex!ample.com:s:@D@/rsa.pem\n", "", 0600, true, "kt:1",
	     "bad domain \"ex!ample.com\""},
	    {"bad selector", "k1 example.com:s..x:@D@/rsa.pem\n", "", 0600, true, "kt:1",
	     "bad selector"},
	    {"missing key file", "\nk1 example.com:s:/nonexistent/x.pem\n", "", 0600, true, "kt:2",
	     "/nonexistent/x.pem: No such file"},
	    {"unsafe key file", "k1 example.com:s:@D@/unsafe.pem\n", "", 0600, true, "kt:1",
	     "mode 0644 lets other users read it"},
	    {"unknown key", "k1 example.com:s:@D@/rsa.pem\n", "*@a.com k1\n*@b.com k9\n", 0600,
	     true, "st:2", "key \"k9\" is not in the KeyTable"},
	    {"% keyname, no such key", "k1 example.com:s:@D@/rsa.pem\n", "*@B.com %\n", 0600, true,
	     "st:1", "key \"b.com\" (KEYNAME %, the domain) is not in the KeyTable"},
	    {"empty keyname", "k1 example.com:s:@D@/rsa.pem\n", "*@a.com :me@a.com\n", 0600, true,
	     "st:1", "no key name"},
	    {"bad signer", "k1 example.com:s:@D@/rsa.pem\n", "*@a.com k1:a;b\n", 0600, true, "st:1",
	     "i= cannot carry"},
	    {"indented refile line", "k1 example.com:s:@D@/rsa.pem\n", " *@a.com k1\n", 0600, true,
	     "st:1", "starts with white space"},
	    {"bad wildcard", "k1 example.com:s:@D@/rsa.pem\n", "*@[a.com k1\n", 0600, true, "st:1",
	     "not a valid OpenDKIM wildcard"},
	    {"templated key behind a wildcard", "t %:s:@D@/keys/%.pem\n", "*@example.com t\n* t\n",
	     0600, true, "st:2", "depends on the domain signed"},
	    {"templated key, missing file", "t %:s:@D@/keys/%.pem\n", "*@example.net t\n", 0600,
	     true, "st:1", "keys/example.net.pem: No such file"},
	};
	char err[512], where[300];
	struct op_dkim_table *t;

	(void)state;
	write_key("unsafe.pem", rsa);
	assert_int_equal(chmod(path_of("unsafe.pem"), 0644), 0);
	for (size_t i = 0; i < N(cases); i++) {
		write_table("bad-kt", cases[i].kt, cases[i].kt_mode);
		write_table("bad-st", cases[i].st, 0644);
		err[0] = '\0';
		t = load("bad-kt", "bad-st", cases[i].refile, err, sizeof(err));
		snprintf(where, sizeof(where), "%s/bad-%s: ", dir, cases[i].where);
		if (t != NULL || strstr(err, cases[i].want) == NULL ||
		    strncmp(err, where, strlen(where)) != 0)
			fail_msg("%s: got %s \"%s\"; want NULL and \"%s...%s\"", cases[i].name,
				 t ? "a table" : "NULL", err, where, cases[i].want);
		op_dkim_table_free(&t);
	}
}

static void test_line_limits_and_files(void **state)
{
	char *longline = malloc(OP_DKIM_TABLE_LINE_MAX + 64);
	char err[512], spec[300];
	struct op_dkim_table *t;

	(void)state;
	assert_non_null(longline);
	memset(longline, 'a', OP_DKIM_TABLE_LINE_MAX + 62);
	memcpy(longline, "k1 ", 3);
	longline[OP_DKIM_TABLE_LINE_MAX + 62] = '\n';
	longline[OP_DKIM_TABLE_LINE_MAX + 63] = '\0';
	write_table("big", longline, 0600);
	write_table("st", "* k1\n", 0644);
	t = load("big", "st", true, err, sizeof(err));
	assert_null(t);
	assert_non_null(strstr(err, "big:1: line longer than 8192 bytes"));
	free(longline);

	write_file("nul", "#\n", 0600);
	assert_int_equal(truncate(path_of("nul"), 10), 0); /* line 2: NUL bytes */
	t = load("nul", "st", true, err, sizeof(err));
	assert_null(t);
	assert_non_null(strstr(err, "nul:2: line longer than 8192 bytes or with a NUL byte"));

	t = load("absent", "st", true, err, sizeof(err));
	assert_null(t);
	assert_non_null(strstr(err, "absent: No such file"));

	t = load("keys", "st", true, err, sizeof(err));
	assert_null(t);
	assert_non_null(strstr(err, "keys: not a regular file"));

	snprintf(spec, sizeof(spec), "dsn:mysql://u@h/db");
	t = op_dkim_table_load(spec, path_of("st"), true, 1024, err, sizeof(err));
	assert_null(t);
	assert_non_null(strstr(err, "data set type \"dsn:\" is not supported"));
}

static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kib = -1;

	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		char *end;
		unsigned long v;

		if (strncmp(line, "VmRSS:", 6) != 0)
			continue;
		errno = 0;
		v = strtoul(line + 6, &end, 10);
		if (errno == 0 && end != line + 6 && strncmp(end, " kB", 3) == 0)
			kib = (long)v;
	}
	if (f != NULL)
		fclose(f);
	return kib;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* n domains, each with its own KeyTable entry, all pointing at nfiles key
 * files; refile SigningTable "*@dN.example kN".  distinct: one file per
 * entry (copies of two keys).  Prints load time and RSS growth. */
static void scale_run(unsigned n, unsigned nfiles, bool refile)
{
	FILE *kt = fopen(path_of("big-kt"), "w"), *st = fopen(path_of("big-st"), "w");
	struct op_dkim_table_stats s;
	struct op_dkim_sigreq r[2];
	char err[512], name[64];
	struct op_dkim_table *t;
	double t0, t1, t2;
	long rss0, rss1;

	assert_non_null(kt);
	assert_non_null(st);
	for (unsigned i = 0; i < nfiles; i++) {
		snprintf(name, sizeof(name), "keys/k%u.pem", i);
		write_key(name, i % 2 ? ed : rsa);
	}
	for (unsigned i = 0; i < n; i++) {
		fprintf(kt, "k%u d%u.example:sel%u:%s/keys/k%u.pem\n", i, i, i % 7, dir,
			i % nfiles);
		fprintf(st, refile ? "*@d%u.example k%u\n" : "d%u.example k%u\n", i, i);
	}
	fclose(kt);
	fclose(st);
	rss0 = rss_kib();
	t0 = now();
	t = load("big-kt", "big-st", refile, err, sizeof(err));
	t1 = now();
	if (t == NULL)
		fail_msg("load: %s", err);
	rss1 = rss_kib();
	for (unsigned i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "user@d%u.example", (i * 7919u) % n);
		if (op_dkim_table_lookup(t, name, r, 2, err, sizeof(err)) != 1)
			fail_msg("lookup %s: no single match", name);
	}
	t2 = now();
	op_dkim_table_stats(t, &s);
	assert_int_equal(s.exact, n);
	assert_int_equal(s.key_files, nfiles);
	print_message("    %s table, %u domains, %u key files: load %.3f s, RSS +%.1f MiB; "
		      "%u lookups %.3f s (%.2f us each)\n",
		      refile ? "refile" : "plain", n, nfiles, t1 - t0, (double)(rss1 - rss0) / 1024,
		      n, t2 - t1, (t2 - t1) / n * 1e6);
	op_dkim_table_free(&t);
}

static void test_100k_domains_load_and_lookup(void **state)
{
	const char *distinct = getenv("OUTPOST_BENCH_DISTINCT_KEYS");
	unsigned long n = 0;
	char *end = NULL;

	(void)state;
	scale_run(100000, 4, true);
	scale_run(100000, 4, false);
	/* Opt-in: one key file per domain (slow to set up). */
	if (distinct != NULL) {
		errno = 0;
		n = strtoul(distinct, &end, 10);
		if (errno != 0 || end == distinct || *end != '\0' || n > 1000000)
			fail_msg("OUTPOST_BENCH_DISTINCT_KEYS=\"%s\": want a count up to 1000000",
				 distinct);
	}
	if (n > 0)
		scale_run((unsigned)n, (unsigned)n, true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain_table_follows_opendkim_order),
	    cmocka_unit_test(test_refile_matches_in_file_order),
	    cmocka_unit_test(test_percent_domain_and_keyname),
	    cmocka_unit_test(test_percent_in_key_path),
	    cmocka_unit_test(test_percent_keyname_reaches_templated_key),
	    cmocka_unit_test(test_one_key_file_is_parsed_once),
	    cmocka_unit_test(test_comments_blank_lines_crlf_and_tabs),
	    cmocka_unit_test(test_duplicates_first_wins_and_dead_patterns_counted),
	    cmocka_unit_test(test_inline_keys),
	    cmocka_unit_test(test_dataset_prefixes),
	    cmocka_unit_test(test_malformed_tables_refused_with_file_and_line),
	    cmocka_unit_test(test_line_limits_and_files),
	    cmocka_unit_test(test_100k_domains_load_and_lookup),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
