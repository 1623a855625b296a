/*
 * fuzz_dkim_table.c - OpenDKIM KeyTable and SigningTable files
 * (plugin/dkim_table.c, and the key parser of plugin/dkim_key.c for
 * inline keys), then lookups in the loaded table.
 *
 * Input: a flag byte (bit 0: refile SigningTable when its path has no
 * prefix; bit 1: up to 4 signatures per lookup, as MultipleSignatures),
 * then text in up to three parts separated by lines "%%": the KeyTable,
 * the SigningTable, and addresses or domains to look up, one per line.
 * "@DIR@" is the private directory holding the test keys
 * (test-rsa2048.pem, test-rsa1024.pem, test-ed25519.pem, mode 0600, and
 * keys/DOMAIN.pem for example.com, example.org and example.net).
 *
 * Promises checked: a refused load says why; every signature a lookup
 * returns has a key, a d= that is a lower-case non-empty domain and an i=
 * within bounds; a lookup that fails says why.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"
#include "outpost/dkim_table.h"

#define TABLE_INPUT_MAX (64 * 1024)
#define LOOKUPS_MAX	16

static char kt_path[4096], st_path[4096];
static const char *const key_domains[] = {"example.com", "example.org", "example.net"};
static const char *const fixed_lookups[] = {
    "joe@example.com", "example.org", "a@sub.example.org", "x@b.c.example.net", "@example.com", "",
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_init();
	fuzz_install_keys();
	/* Per-domain key files for KEY paths with "%": keys/DOMAIN.pem. */
	fuzz_path(kt_path, sizeof(kt_path), "keys");
	if (mkdir(kt_path, 0700) < 0)
		abort();
	for (size_t i = 0; i < sizeof(key_domains) / sizeof(key_domains[0]); i++) {
		char src[4096], dst[4096], file[64];
		size_t n;
		char *data;

		snprintf(file, sizeof(file), "keys/%s.pem", key_domains[i]);
		fuzz_path(dst, sizeof(dst), file);
		data = fuzz_read(fuzz_path(src, sizeof(src), "test-rsa1024.pem"), &n);
		FUZZ_CHECK(data != NULL, "cannot read the test key");
		fuzz_write(dst, data, n);
		free(data);
	}
	fuzz_path(kt_path, sizeof(kt_path), "KeyTable");
	fuzz_path(st_path, sizeof(st_path), "SigningTable");
	return 0;
}

/* The next part of *text up to a line "%%" (cut there), or the rest. */
static char *part(char **text)
{
	char *start = *text, *p = start;

	while (p != NULL && *p) {
		if (strncmp(p, "%%\n", 3) == 0 || strcmp(p, "%%") == 0) {
			*p = '\0';
			*text = p + (p[2] ? 3 : 2);
			return start;
		}
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	*text = start + strlen(start);
	return start;
}

static void lookup(const struct op_dkim_table *t, const char *what, size_t max)
{
	struct op_dkim_sigreq req[4];
	char err[512];
	int n;

	err[0] = '\0';
	n = op_dkim_table_lookup(t, what, req, max, err, sizeof(err));
	if (n < 0) {
		FUZZ_CHECK(n == -1 && err[0] != '\0', "lookup failed without a reason");
		return;
	}
	FUZZ_CHECK((size_t)n <= max, "more signatures than asked for");
	for (int i = 0; i < n; i++) {
		FUZZ_CHECK(req[i].key != NULL && req[i].key->pkey != NULL,
			   "signature without a key");
		FUZZ_CHECK(memchr(req[i].domain, '\0', sizeof(req[i].domain)) != NULL &&
			       req[i].domain[0] != '\0',
			   "signature without a d= domain");
		for (const char *p = req[i].domain; *p; p++)
			FUZZ_CHECK(!isupper((unsigned char)*p), "d= not lower case");
		FUZZ_CHECK(memchr(req[i].signer, '\0', sizeof(req[i].signer)) != NULL,
			   "i= not terminated");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct op_dkim_table *t;
	struct op_dkim_table_stats st;
	char *text, *cursor, *kt, *sgt, *line, err[1024];
	size_t len, max;
	int nl = 0;

	if (size < 1 || size > TABLE_INPUT_MAX)
		return -1;
	max = (data[0] & 2) ? 4 : 1;
	text = fuzz_subst(data + 1, size - 1, &len);
	cursor = text;
	kt = part(&cursor);
	sgt = part(&cursor);
	fuzz_write(kt_path, kt, strlen(kt));
	fuzz_write(st_path, sgt, strlen(sgt));
	err[0] = '\0';
	t = op_dkim_table_load(kt_path, st_path, (data[0] & 1) != 0, 1024, err, sizeof(err));
	if (t == NULL) {
		FUZZ_CHECK(err[0] != '\0', "table refused without a reason");
		free(text);
		return 0;
	}
	op_dkim_table_stats(t, &st);
	for (size_t i = 0; i < sizeof(fixed_lookups) / sizeof(fixed_lookups[0]); i++)
		lookup(t, fixed_lookups[i], max);
	while ((line = fuzz_line(&cursor)) != NULL && nl++ < LOOKUPS_MAX)
		lookup(t, line, max);
	op_dkim_table_free(&t);
	FUZZ_CHECK(t == NULL, "free did not clear the pointer");
	free(text);
	return 0;
}
