/*
 * fuzz_dkim_verify.c - DKIM verification of fuzzed messages and
 * signatures (plugin/dkim_verify.c over libopendkim), as the auth module
 * runs it on external mail.
 *
 * Input: one byte choosing the body chunk size (0: the whole body at once,
 * else 1..255 bytes), then a message: header fields up to the first empty
 * line (a line starting with SP or TAB continues a field; values are fed
 * as received, leading space and folding kept), then the body.  Keys come
 * from a fixed file (auth.test_dkim_keys's seam, DKIM_QUERY_FILE): the test
 * keys at selectors rsa, rsa1024 and ed of example.org, example.com and
 * sub.example.org, so seeds signed with them (tests/fuzz/corpus/
 * dkim_verify/) pass and mutations of them reach the signature checks.
 *
 * Promises checked: at most the asked number of results, each with a
 * result in range and NUL-terminated domain, selector, b= and reason; a
 * result other than pass says why; errors come with a reason.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "outpost/dkim_verify.h"

#define VERIFY_INPUT_MAX (256 * 1024)
#define SIGS_MAX	 4

static struct op_dkimv_lib *lib;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char keys[4096];
	const char *err;

	(void)argc;
	(void)argv;
	fuzz_init();
	fuzz_install_keys();
	if (op_dkimv_lib_new(5, fuzz_path(keys, sizeof(keys), "dns.txt"), &lib, &err) < 0) {
		fprintf(stderr, "fuzz_dkim_verify: %s\n", err);
		abort();
	}
	return 0;
}

/* Feed the header block p[0..n); returns where the body starts, or
 * (size_t)-1 when the verifier refused a header. */
static size_t feed_headers(struct op_dkimv *v, const char *p, size_t n)
{
	size_t i = 0;
	const char *err = NULL;

	while (i < n) {
		size_t start = i, colon, end, vend;

		if (p[i] == '\n' || (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n'))
			return i + (p[i] == '\r' ? 2 : 1);
		for (end = i; end < n; end++)
			if (p[end] == '\n' &&
			    !(end + 1 < n && (p[end + 1] == ' ' || p[end + 1] == '\t')))
				break;
		for (colon = start; colon < end && p[colon] != ':' && p[colon] != '\n'; colon++)
			;
		i = end < n ? end + 1 : n;
		if (colon == end || p[colon] != ':')
			continue; /* no colon on the first line: not a header field */
		vend = end > colon + 1 && p[end - 1] == '\r' ? end - 1 : end;
		char *name = strndup(p + start, colon - start);
		char *value = strndup(p + colon + 1, vend - colon - 1);

		FUZZ_CHECK(name != NULL && value != NULL, "out of memory");
		if (op_dkimv_header(v, name, value, strlen(value), &err) < 0) {
			FUZZ_CHECK(err != NULL && err[0] != '\0',
				   "header refused without a reason");
			free(name);
			free(value);
			return (size_t)-1;
		}
		free(name);
		free(value);
	}
	return n;
}

static void check_results(const struct op_dkimv_sig *s, size_t n)
{
	FUZZ_CHECK(n <= SIGS_MAX, "more results than asked for");
	for (size_t i = 0; i < n; i++) {
		FUZZ_CHECK(s[i].result >= OP_DKIMV_PASS && s[i].result < OP_DKIMV__COUNT,
			   "result out of range");
		FUZZ_CHECK(memchr(s[i].domain, '\0', sizeof(s[i].domain)) != NULL &&
			       memchr(s[i].selector, '\0', sizeof(s[i].selector)) != NULL &&
			       memchr(s[i].b, '\0', sizeof(s[i].b)) != NULL &&
			       memchr(s[i].reason, '\0', sizeof(s[i].reason)) != NULL,
			   "result text not terminated");
		if (s[i].result != OP_DKIMV_PASS)
			FUZZ_CHECK(s[i].reason[0] != '\0',
				   "a signature not passing without a reason");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct op_dkimv_sig sigs[SIGS_MAX];
	struct op_dkimv *v = NULL;
	const char *err = NULL, *text;
	size_t body, chunk, n = 0;
	int nsig;

	if (size < 1 || size > VERIFY_INPUT_MAX)
		return -1;
	chunk = data[0];
	text = (const char *)data + 1;
	size--;
	FUZZ_CHECK(op_dkimv_new(lib, "fuzz", &v, &err) == 0, "verifier");
	body = feed_headers(v, text, size);
	if (body == (size_t)-1)
		goto out;
	nsig = op_dkimv_eoh(v, &err);
	if (nsig <= 0) {
		if (nsig < 0)
			FUZZ_CHECK(err != NULL && err[0] != '\0',
				   "end of headers failed without a reason");
		goto out;
	}
	for (size_t i = body; i < size;) {
		size_t k = chunk == 0 || size - i < chunk ? size - i : chunk;

		if (op_dkimv_body(v, (const unsigned char *)text + i, k, &err) < 0) {
			FUZZ_CHECK(err != NULL && err[0] != '\0', "body refused without a reason");
			goto out;
		}
		i += k;
	}
	if (op_dkimv_eom(v, sigs, SIGS_MAX, &n, &err) == 0)
		check_results(sigs, n);
	else
		FUZZ_CHECK(err != NULL && err[0] != '\0', "end of message failed without a reason");
out:
	op_dkimv_free(&v);
	return 0;
}
