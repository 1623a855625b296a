/*
 * fuzz_spf.c - SPF records, fuzzed, evaluated by outpost's engine
 * (plugin/mod_spf.c: the counting DNS layer, libspf2 underneath with its
 * record compiler and macro expander, CVE-2023-42118's home) over
 * libspf2's in-memory zone; the record grammar and rewriting
 * (plugin/spf_syntax.c); the Received-SPF text and the reply per result
 * (plugin/spf_policy.c).
 *
 * Input: lines in the format of tests/data/spf/rfc7208-tests.txt (the
 * RFC 7208 suite, whose scenarios are the seeds):
 *   Z NAME TYPE DATA         a record (TYPE A, AAAA, MX, PTR, TXT; DATA
 *                            with %XX escapes, a lone "%" is empty)
 *   Z NAME TIMEOUT TYPE      queries of TYPE (or ANY) for NAME time out
 *   T ID HELO IP SENDER ...  a check (SENDER "%" is the null sender); run
 *                            for the MAIL FROM identity and for HELO
 * other lines are ignored.  At most 64 records and 8 checks.
 *
 * Promises checked: every TXT text the grammar accepts is rewritten into
 * a record the grammar accepts again; a check ends with a result and, for
 * temperror and permerror, a reason; the Received-SPF value and the reply
 * of spf.on_<result> are well formed (fuzz_check_header, fuzz_check_reply)
 * whatever the records, explanation and identities say.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "outpost/buf.h"
#include "outpost/config.h"
#include "outpost/spf.h"
#include "outpost/verdict.h"

#define SPF_INPUT_MAX (32 * 1024)
#define RECORDS_MAX   64
#define CHECKS_MAX    8

static const struct op_spf_limits limits = {10, 2, 10, 2000};
static struct op_config *cfg;

/* Every action once: fail rejects, softfail tempfails, neutral holds... */
static const char policy_conf[] =
    "spf: { on_fail = \"reject\"; on_softfail = \"tempfail\"; on_neutral = \"hold\";\n"
    "       on_temperror = \"tempfail\"; on_permerror = \"reject\"; on_none = \"reject\"; };\n";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[4096], err[1024];

	(void)argc;
	(void)argv;
	fuzz_init();
	fuzz_path(path, sizeof(path), "spf-policy.conf");
	fuzz_write(path, policy_conf, sizeof(policy_conf) - 1);
	cfg = op_config_load(path, 1, err, sizeof(err));
	if (cfg == NULL) {
		fprintf(stderr, "fuzz_spf: policy config: %s\n", err);
		abort();
	}
	return 0;
}

/* A word as the suite writes it: %XX escapes, "%" alone is empty. */
static char *unesc(char *w)
{
	if (strcmp(w, "%") == 0)
		w[0] = '\0';
	else
		fuzz_pct(w);
	return w;
}

/* The macro count rewrite of s, with every value txt itself (any text
 * at all) or unknown; a valid record must stay valid. */
static void check_counts(const char *s, const char *txt, bool valid)
{
	struct op_spf_macro_vals mv;
	const char *why = NULL;
	struct op_buf b;

	for (int known = 0; known < 2; known++) {
		for (int c = 0; c < 26; c++)
			mv.val[c] = known ? txt : NULL;
		op_buf_init(&b, 8192);
		if (op_spf_macro_counts(s, &mv, &b) == 0 && valid)
			FUZZ_CHECK(op_spf_record_valid(op_buf_str(&b), &why),
				   "macro counts rewrote a valid record into an invalid one");
		op_buf_free(&b);
	}
}

static void check_grammar(const char *txt)
{
	const char *why = NULL;
	struct op_buf b;
	unsigned nmech;

	op_spf_macro_string_valid(txt, true);
	op_spf_macro_string_valid(txt, false);
	if (!op_spf_record_valid(txt, &why)) {
		FUZZ_CHECK(why != NULL && why[0] != '\0', "record refused without a reason");
		check_counts(txt, txt, false);
		return;
	}
	for (int v6 = 0; v6 < 2; v6++) {
		op_buf_init(&b, 8192);
		if (op_spf_record_normalize(txt, v6, &b, &nmech) == 0) {
			FUZZ_CHECK(op_spf_record_valid(op_buf_str(&b), &why),
				   "a valid record rewritten into an invalid one");
			check_counts(op_buf_str(&b), txt, true);
		}
		op_buf_free(&b);
	}
}

static void add_record(struct op_spf_zone *z, char *line)
{
	char *name = fuzz_word(&line), *type = fuzz_word(&line), *data;
	const char *err;

	if (strcmp(type, "TIMEOUT") == 0) {
		op_spf_zone_timeout(z, name, fuzz_word(&line), &err);
		return;
	}
	data = unesc(line);
	op_spf_domain_valid(name, true);
	if (strcmp(type, "TXT") == 0)
		check_grammar(data);
	op_spf_zone_add(z, name, type, data, &err);
}

static void check_one(struct op_spf_engine *e, const char *ip, const char *sender, const char *helo,
		      bool use_helo)
{
	struct op_spf_outcome out;
	struct op_verdict v;
	struct op_buf b;
	const char *at = strrchr(sender, '@');
	const char *dom = use_helo || !sender[0] ? helo : (at ? at + 1 : sender);

	op_spf_check(e, ip, sender, helo, use_helo, &out);
	FUZZ_CHECK(out.result >= OP_SPF_NONE && out.result < OP_SPF__COUNT, "result out of range");
	FUZZ_CHECK(memchr(out.problem, '\0', sizeof(out.problem)) != NULL &&
		       memchr(out.explanation, '\0', sizeof(out.explanation)) != NULL,
		   "outcome text not terminated");
	if (out.result == OP_SPF_TEMPERROR || out.result == OP_SPF_PERMERROR)
		FUZZ_CHECK(out.problem[0] != '\0', "error result without a reason");
	op_buf_init(&b, 4096);
	if (op_spf_received_spf(&b, &out, "mx.example.net", ip, sender, helo, use_helo) == 0)
		fuzz_check_header("Received-SPF", op_buf_str(&b), false);
	op_buf_free(&b);
	op_verdict_clear(&v);
	op_spf_verdict(&v, cfg->spf_on, out.result, dom, ip, out.explanation, out.problem);
	if (v.action == OP_ACT_TEMPFAIL || v.action == OP_ACT_REJECT)
		fuzz_check_reply(v.rcode, v.xcode, v.text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct op_spf_zone *z = NULL;
	struct op_spf_engine *e = NULL;
	char *text, *cursor, *line;
	const char *err;
	int nrec = 0, nchk = 0;

	if (size > SPF_INPUT_MAX)
		return -1;
	text = strndup((const char *)data, size);
	FUZZ_CHECK(text != NULL, "out of memory");
	FUZZ_CHECK(op_spf_zone_new(&z, &err) == 0, "zone");
	FUZZ_CHECK(op_spf_engine_new(&limits, z, &e, &err) == 0, "engine");
	cursor = text;
	while ((line = fuzz_line(&cursor)) != NULL) {
		if (line[0] == 'Z' && line[1] == ' ' && nrec++ < RECORDS_MAX) {
			add_record(z, line + 2);
		} else if (line[0] == 'T' && line[1] == ' ' && nchk++ < CHECKS_MAX) {
			char *rest = line + 2, *helo, *ip, *sender;

			fuzz_word(&rest); /* the test's id */
			helo = unesc(fuzz_word(&rest));
			ip = unesc(fuzz_word(&rest));
			sender = unesc(fuzz_word(&rest));
			check_one(e, ip, sender, helo, false);
			check_one(e, ip, sender, helo, true);
		}
	}
	op_spf_engine_free(&e);
	op_spf_zone_free(&z);
	free(text);
	return 0;
}
