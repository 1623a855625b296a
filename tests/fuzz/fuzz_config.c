/*
 * fuzz_config.c - the config file: op_config_load() on fuzzed text
 * (plugin/config.c, config_value.c, config_tenant.c and every module's
 * init, which parse their sections: dkim keys and tables, spf, auth,
 * track, rate rules).
 *
 * Input: the file's text; "@DIR@" stands for the private directory, which
 * holds the test keys (test-rsa2048.pem, test-rsa1024.pem,
 * test-ed25519.pem, dns.txt) and "@SRCDIR@" for the source tree, as in
 * tests/proto/conf/NAME.conf, whose files are the seeds.  The file is written
 * to the private directory (in /dev/shm: no disk I/O per input).  Load
 * only reads files (stores open on first use), so nothing is created.
 *
 * Promises checked: a refused file says why (a non-empty error naming the
 * file); an accepted one prints every key (op_config_print) and compares
 * with a default snapshot (op_config_static_changes) without trouble.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "outpost/config.h"

#define CONFIG_INPUT_MAX (64 * 1024)

static FILE *devnull;
static struct op_config *defaults;
static char conf_path[4096];

/* Files the seeds name besides the keys: the OpenDKIM tables of
 * tests/proto/conf/dkim-tables.d and a file to @include. */
static const struct {
	const char *name, *text;
} extra_files[] = {
    {"KeyTable", "rsa-any     %:rsa:@DIR@/test-rsa2048.pem\n"
		 "ed-com      example.com:ed:@DIR@/test-ed25519.pem\n"},
    {"SigningTable", "*@example.com      ed-com\n*@example.com      rsa-any\n"
		     "*@sub.example.org  rsa-any\n"},
    {"spf-policy.conf", "spf: { on_fail = \"reject\"; on_softfail = \"hold\"; };\n"},
};

static void count_key(const char *key)
{
	FUZZ_CHECK(key != NULL && key[0] != '\0', "static change without a key name");
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[1024];

	(void)argc;
	(void)argv;
	fuzz_init();
	fuzz_install_keys();
	for (size_t i = 0; i < sizeof(extra_files) / sizeof(extra_files[0]); i++) {
		size_t n;
		char *t = fuzz_subst((const uint8_t *)extra_files[i].text,
				     strlen(extra_files[i].text), &n);

		fuzz_write(fuzz_path(conf_path, sizeof(conf_path), extra_files[i].name), t, n);
		free(t);
	}
	devnull = fopen("/dev/null", "w");
	fuzz_path(conf_path, sizeof(conf_path), "outpost.conf");
	fuzz_write(conf_path, "", 0);
	defaults = op_config_load(conf_path, 1, err, sizeof(err));
	if (devnull == NULL || defaults == NULL) {
		fprintf(stderr, "fuzz_config: an empty config does not load: %s\n", err);
		abort();
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct op_config *c;
	char err[1024];
	size_t len;
	char *text;

	if (size > CONFIG_INPUT_MAX)
		return -1;
	text = fuzz_subst(data, size, &len);
	fuzz_write(conf_path, text, len);
	free(text);
	err[0] = '\0';
	c = op_config_load(conf_path, 2, err, sizeof(err));
	if (c == NULL) {
		FUZZ_CHECK(err[0] != '\0', "refused without a reason");
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL, "error text not terminated");
		return 0;
	}
	op_config_print(c, true, devnull);
	op_config_static_changes(defaults, c, count_key);
	op_config_unref(&c);
	FUZZ_CHECK(c == NULL, "unref did not clear the pointer");
	return 0;
}
