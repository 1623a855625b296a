/*
 * test_spf.c - the SPF engine (plugin/mod_spf.c over libspf2's zone
 * layer, no DNS server), the record grammar and rewriting
 * (plugin/spf_syntax.c), and the policy texts (plugin/spf_policy.c).
 *
 * The promises under test: RFC 7208's limits hold whatever libspf2 does
 * (10 DNS-querying terms with nested includes counted, 2 void lookups,
 * 10 MX names), a DNS failure is temperror and a bad record permerror,
 * never libspf2's "(invalid)", and every verdict carries a well-formed
 * reply.  The whole RFC 7208 suite runs in test_spf_suite.c.
 */
#include "config.h"

#include "unit.h"

#include <stdbool.h>
#include <stdlib.h>

#include "outpost/config.h"
#include "outpost/spf.h"
#include "outpost/verdict.h"

/* ---- grammar ------------------------------------------------------------ */

static const struct {
	const char *rec;
	bool want;
} grammar_rows[] = {
	{"v=spf1", true},
	{"v=spf1 -all", true},
	{"v=spf1 a mx ptr -all ", true},
	{"v=spf1 a:mail.example.org/24//64 mx:example.org//0 ?all", true},
	{"v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 ~all", true},
	{"v=spf1 include:_spf.example.net exists:%{ir}.%{l1r+-}.%{d2}.example.org", true},
	{"v=spf1 redirect=_spf.example.org", true},
	{"v=spf1 -all exp=explain.%{d}", true},
	{"v=spf1 foo.bar-baz_x=anything:at/all -all", true},
	{"v=spf1 a:foo:bar/baz.example.com", true},
	{"v=spf1 ip4:192.0.2.0/33", false},
	{"v=spf1 ip4:192.0.2.01", false},
	{"v=spf1 ip6:2001:db8::/129", false},
	{"v=spf1 a:museum", false},
	{"v=spf1 a:example.123", false},
	{"v=spf1 a:", false},
	{"v=spf1 include", false},
	{"v=spf1 exists:%{x}.example.org", false},
	{"v=spf1 exists:%{c}.example.org", false},
	{"v=spf1 bogus -all", false},
	{"v=spf1 -all/8", false},
	{"v=spf1 ptr/0", false},
	{"v=spf1 redirect=a.example.org redirect=b.example.org", false},
	{"v=spf1 exp=a.example.org exp=b.example.org", false},
	{"v=spf1 a:ctrl.example.com\rptr", false},
	{"v=spf1 \x80" "a", false},
	{"v=spf1 -redirect=a.example.org", false},
	{"v=spf1 a:%", false},
};

static void test_grammar(void **state)
{
	(void)state;
	for (size_t i = 0; i < NROWS(grammar_rows); i++) {
		const char *why = "";
		char label[160];

		snprintf(label, sizeof(label), "row %zu \"%s\"", i,
			 unit_esc(grammar_rows[i].rec, strlen(grammar_rows[i].rec)));
		WANT_INT(label, op_spf_record_valid(grammar_rows[i].rec, &why), grammar_rows[i].want);
	}
}

static const struct {
	const char *rec;
	bool v6;
	const char *want;
} norm_rows[] = {
	{"v=spf1 -all", false, "v=spf1 -all"},
	{"v=spf1 redirect=x.example.org a -all", false, "v=spf1 a -all"},
	{"v=spf1 redirect=x.example.org a", false, "v=spf1 a redirect=x.example.org"},
	{"v=spf1 exp=e.example.org moo=cow -all", false, "v=spf1 -all exp=e.example.org"},
	{"v=spf1 -ip4:1.1.1.1/0", false, "v=spf1 -ip4:0.0.0.0/1 -ip4:128.0.0.0/1"},
	{"v=spf1 ip6:::1/0", true, "v=spf1 ip6:::/1 ip6:8000::/1"},
	{"v=spf1 a/0 -all", false, "v=spf1 exists:%{d}.a4." OP_SPF_CIDR0_SUFFIX " -all"},
	{"v=spf1 a/0 -all", true, "v=spf1 a -all"},
	{"v=spf1 ~mx:example.org.//0", true, "v=spf1 ~exists:example.org.mx6." OP_SPF_CIDR0_SUFFIX},
	{"v=spf1 mx:example.org/24//64", true, "v=spf1 mx:example.org/24//64"},
};

static void test_normalize(void **state)
{
	(void)state;
	for (size_t i = 0; i < NROWS(norm_rows); i++) {
		struct op_buf b;
		char label[160];
		unsigned nmech;

		op_buf_init(&b, 4096);
		snprintf(label, sizeof(label), "row %zu \"%s\" v6=%d", i, norm_rows[i].rec,
			 norm_rows[i].v6);
		WANT_INT(label, op_spf_record_normalize(norm_rows[i].rec, norm_rows[i].v6, &b, &nmech), 0);
		WANT_STR(label, op_buf_str(&b), norm_rows[i].want);
		op_buf_free(&b);
	}
}

/* ---- macro counts for libspf2 ------------------------------------------ */

/* The rewrite alone, for sender strong-bad@x.example.test from 192.0.2.5
 * (p not known).  libspf2 1.2.10 drops a value's first octet when the
 * count is at least its number of labels and refuses counts over 128. */
static const struct {
	const char *in, *want;
} counts_rows[] = {
	{"%{d2}.%{d3}.%{d4}", "%{d2}.%{d}.%{d}"},
	{"%{d1}", "%{d1}"},
	{"%{d2r}.%{d3r}", "%{d2r}.%{dr}"},
	{"%{i4r}.%{i5}.%{ir}.%{i3}", "%{ir}.%{i}.%{ir}.%{i3}"},
	{"%{d129}.%{d99999999999999999999}", "%{d}.%{d}"},
	{"%{l1r-}.%{l2-}.%{l2r-}", "%{l1r-}.%{l-}.%{lr-}"},
	{"%{l1}", "%{l}"},			   /* "strong-bad": one label for "." */
	{"%{s2}.%{s3}", "%{s2}.%{s}"},		   /* a '.' less than labels */
	{"%{v2-}.%{v1}", "%{v-}.%{v}"},		   /* "in-addr" */
	{"%{h2}.%{o3R}", "%{h2}.%{or}"},	   /* "R": libspf2 reads only 'r' */
	{"%{p2}.%{p128}.%{p500r}", "%{p2}.%{p}.%{pr}"}, /* p not known */
	{"%{d0}.%{d}", "%{d0}.%{d}"},		   /* 0: libspf2 refuses it, as RFC */
	{"%%{d3}%_%-%{D3}", "%%{d3}%_%-%{D}"},	   /* "%%" is no macro */
	{"v=spf1 exists:%{d2}.%{ir}.e.test -all exp=%{d5}.e.test",
	 "v=spf1 exists:%{d2}.%{ir}.e.test -all exp=%{d}.e.test"},
};

/* A local part holding '.' split at '-': RFC 7208 keeps whole labels,
 * libspf2 counts every '.' of the joined value. */
static const struct {
	const char *in, *want;
} counts_dot_rows[] = {
	{"%{l1-}", "%{l1-}"},	/* "c" */
	{"%{l2-}", "%{l-}"},	/* "a.b.c" */
	{"%{l1r-}", "%{l2r-}"}, /* "a.b" */
	{"%{l2r-}", "%{lr-}"},	/* "c.a.b" */
};

static void test_macro_counts(void **state)
{
	struct op_spf_macro_vals mv;
	struct op_buf b;

	(void)state;
	memset(&mv, 0, sizeof(mv));
	mv.val['d' - 'a'] = "x.example.test";
	mv.val['s' - 'a'] = "strong-bad@x.example.test";
	mv.val['l' - 'a'] = "strong-bad";
	mv.val['o' - 'a'] = "x.example.test";
	mv.val['h' - 'a'] = "mail.example.test";
	mv.val['i' - 'a'] = "192.0.2.5";
	mv.val['v' - 'a'] = "in-addr";
	op_buf_init(&b, 4096);
	for (size_t i = 0; i < NROWS(counts_rows); i++) {
		op_buf_reset(&b);
		WANT_INT(counts_rows[i].in, op_spf_macro_counts(counts_rows[i].in, &mv, &b), 0);
		WANT_STR(counts_rows[i].in, op_buf_str(&b), counts_rows[i].want);
	}
	mv.val['l' - 'a'] = "a.b-c";
	for (size_t i = 0; i < NROWS(counts_dot_rows); i++) {
		op_buf_reset(&b);
		WANT_INT(counts_dot_rows[i].in, op_spf_macro_counts(counts_dot_rows[i].in, &mv, &b), 0);
		WANT_STR(counts_dot_rows[i].in, op_buf_str(&b), counts_dot_rows[i].want);
	}
	op_buf_free(&b);
}

/* The same macros through libspf2, as RFC 7208 7.3 expands them (pyspf's
 * expand() agrees, nibbles in lower case): once in an explanation (the
 * text itself comes back), once in a record ("exists:MACRO.ok.example.test",
 * which only the right name answers: pass, else fail). */
static const struct {
	const char *ip, *sender, *macro, *want;
} expand_rows[] = {
	{"192.0.2.5", "strong-bad@example.com", "%{d2}", "example.com"},
	{"192.0.2.5", "strong-bad@x.example.test", "%{d3}", "x.example.test"},
	{"192.0.2.5", "strong-bad@x.example.test", "%{d2}", "example.test"}, /* control */
	{"192.0.2.5", "strong-bad@x.example.test", "%{d1}", "test"},
	{"192.0.2.5", "strong-bad@x.example.test", "%{d2r}", "example.x"},
	{"192.0.2.5", "strong-bad@x.example.test", "%{d3r}", "test.example.x"},
	{"192.0.2.5", "strong-bad@x.example.test", "%{d50r}", "test.example.x"},
	{"192.0.2.5", "strong-bad@x.example.test", "%{d129}", "x.example.test"},
	{"192.0.2.5", "strong-bad@x.example.test", "%{i4r}", "5.2.0.192"},
	{"192.0.2.5", "strong-bad@x.example.test", "%{i5}", "192.0.2.5"},
	{"192.0.2.5", "strong-bad@x.example.test", "%{ir}", "5.2.0.192"},
	{"192.0.2.5", "strong-bad@x.example.test", "%{i2r}", "0.192"}, /* control */
	{"192.0.2.5", "strong-bad@x.example.test", "%{l1r-}", "strong"},
	{"192.0.2.5", "strong-bad@x.example.test", "%{l2-}", "strong.bad"},
	{"192.0.2.5", "a.b-c@x.example.test", "%{l1r-}", "a.b"},
	{"192.0.2.5", "strong-bad@x.example.test", "%{o9}", "x.example.test"},
	{"2001:db8::cb01", "strong-bad@x.example.test", "%{i32r}",
	 "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2"},
	{"2001:db8::cb01", "strong-bad@x.example.test", "%{i33}",
	 "2.0.0.1.0.d.b.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.c.b.0.1"},
	{"2001:db8::cb01", "strong-bad@x.example.test", "%{i2}", "0.1"}, /* control */
};

/* One check of expand_rows[i] over the records rec (nrec strings: NAME,
 * TYPE, DATA of each); the outcome in *o. */
static void expand_check(size_t i, const char *const *rec, size_t nrec, struct op_spf_outcome *o)
{
	static const struct op_spf_limits lim = {10, 2, 10, 5000};
	struct op_spf_zone *z;
	struct op_spf_engine *e;
	const char *err;

	WANT_INT(expand_rows[i].macro, op_spf_zone_new(&z, &err), 0);
	for (size_t k = 0; k < nrec; k += 3)
		WANT_INT(rec[k + 1], op_spf_zone_add(z, rec[k], rec[k + 1], rec[k + 2], &err), 0);
	WANT_INT(expand_rows[i].macro, op_spf_engine_new(&lim, z, &e, &err), 0);
	op_spf_check(e, expand_rows[i].ip, expand_rows[i].sender, "mail.example.test", false, o);
	op_spf_engine_free(&e);
	op_spf_zone_free(&z);
}

static void test_macro_expand(void **state)
{
	char rec[256], name[256], label[160];
	int bad = 0;

	(void)state;
	for (size_t i = 0; i < NROWS(expand_rows); i++) {
		const char *dom = strchr(expand_rows[i].sender, '@') + 1;
		const char *x[6] = {dom, "TXT", "v=spf1 -all exp=why.example.net", "why.example.net",
				    "TXT", expand_rows[i].macro};
		struct op_spf_outcome o;

		snprintf(label, sizeof(label), "%s from %s", expand_rows[i].macro, expand_rows[i].ip);
		expand_check(i, x, 6, &o);
		if (strcmp(o.explanation, expand_rows[i].want) != 0) {
			print_error("%s in exp=\n  got:  \"%s\"\n  want: \"%s\"\n", label,
				    o.explanation, expand_rows[i].want);
			bad++;
		}
		snprintf(rec, sizeof(rec), "v=spf1 exists:%s.ok.example.test -all",
			 expand_rows[i].macro);
		snprintf(name, sizeof(name), "%s.ok.example.test", expand_rows[i].want);
		x[2] = rec;
		x[3] = name;
		x[4] = "A";
		x[5] = "127.0.0.2";
		expand_check(i, x, 6, &o);
		if (o.result != OP_SPF_PASS) {
			print_error("%s in exists:\n  got:  %s (%s)\n  want: pass\n", label,
				    op_spf_result_name(o.result), o.problem);
			bad++;
		}
	}
	WANT_INT("macro expansions wrong", bad, 0);
}

/* ---- the engine over a zone ------------------------------------------- */

/* Each row: records "NAME TYPE DATA" (TYPE TIMEOUT: queries time out),
 * one check, its result and the terms and voids it used. */
struct zone_row {
	const char *label;
	const char *records[16];
	const char *ip, *sender, *helo;
	enum op_spf_result want;
	int terms, voids; /* -1: not checked */
	const char *problem; /* part of out.problem, or NULL */
};

static const struct zone_row zone_rows[] = {
	{"pass by ip4", {"example.org TXT v=spf1 ip4:192.0.2.0/24 -all"},
	 "192.0.2.7", "a@example.org", "h.example.net", OP_SPF_PASS, 0, 0, NULL},
	{"fail", {"example.org TXT v=spf1 ip4:192.0.2.0/24 -all"},
	 "198.51.100.1", "a@example.org", "h.example.net", OP_SPF_FAIL, 0, 0, NULL},
	{"softfail", {"example.org TXT v=spf1 ~all"},
	 "198.51.100.1", "a@example.org", "h.example.net", OP_SPF_SOFTFAIL, 0, 0, NULL},
	{"neutral", {"example.org TXT v=spf1 ?all"},
	 "198.51.100.1", "a@example.org", "h.example.net", OP_SPF_NEUTRAL, 0, 0, NULL},
	{"none: no record", {"example.org TXT some other text"},
	 "198.51.100.1", "a@example.org", "h.example.net", OP_SPF_NONE, 0, 0, NULL},
	{"pass by ip6", {"example.org TXT v=spf1 ip6:2001:db8::/32 -all"},
	 "2001:db8::25", "a@example.org", "h.example.net", OP_SPF_PASS, 0, 0, NULL},
	{"ipv4-mapped client is IPv4", {"example.org TXT v=spf1 ip4:192.0.2.7 -all"},
	 "::ffff:192.0.2.7", "a@example.org", "h.example.net", OP_SPF_PASS, 0, 0, NULL},
	{"null sender: HELO identity", {"h.example.net TXT v=spf1 a -all", "h.example.net A 192.0.2.9"},
	 "192.0.2.9", "", "h.example.net", OP_SPF_PASS, 1, 0, NULL},
	{"temperror: TXT times out", {"example.org TIMEOUT TXT"},
	 "192.0.2.7", "a@example.org", "h.example.net", OP_SPF_TEMPERROR, 0, 0, "DNS"},
	{"temperror: include target times out",
	 {"example.org TXT v=spf1 include:i.example.org -all", "i.example.org TIMEOUT ANY"},
	 "192.0.2.7", "a@example.org", "h.example.net", OP_SPF_TEMPERROR, 1, 0, "DNS"},
	{"permerror: two records", {"example.org TXT v=spf1 -all", "example.org TXT v=spf1 +all"},
	 "192.0.2.7", "a@example.org", "h.example.net", OP_SPF_PERMERROR, 0, 0, "2 SPF records"},
	{"permerror: grammar", {"example.org TXT v=spf1 ip4:192.0.2.300 -all"},
	 "192.0.2.7", "a@example.org", "h.example.net", OP_SPF_PERMERROR, 0, 0, "ip4"},
	{"permerror: include of a domain without record",
	 {"example.org TXT v=spf1 include:none.example.org -all", "none.example.org A 192.0.2.1"},
	 "192.0.2.7", "a@example.org", "h.example.net", OP_SPF_PERMERROR, 1, 1, NULL},
	{"10 terms through nested includes: fine",
	 {"example.org TXT v=spf1 include:i1.example.org a:x.example.org a:x.example.org -all",
	  "i1.example.org TXT v=spf1 include:i2.example.org a:x.example.org a:x.example.org",
	  "i2.example.org TXT v=spf1 a:x.example.org a:x.example.org a:x.example.org a:x.example.org",
	  "x.example.org A 203.0.113.1"},
	 "192.0.2.7", "a@example.org", "h.example.net", OP_SPF_FAIL, 10, 0, NULL},
	{"11 terms through nested includes: permerror",
	 {"example.org TXT v=spf1 include:i1.example.org a:x.example.org a:x.example.org a:x.example.org -all",
	  "i1.example.org TXT v=spf1 include:i2.example.org a:x.example.org a:x.example.org",
	  "i2.example.org TXT v=spf1 a:x.example.org a:x.example.org a:x.example.org a:x.example.org",
	  "x.example.org A 203.0.113.1"},
	 "192.0.2.7", "a@example.org", "h.example.net", OP_SPF_PERMERROR, 11, 0, "DNS-querying terms"},
	{"2 void lookups: fine",
	 {"example.org TXT v=spf1 a:v1.example.org a:v2.example.org ip4:192.0.2.7 -all"},
	 "192.0.2.7", "a@example.org", "h.example.net", OP_SPF_PASS, 2, 2, NULL},
	{"3 void lookups: permerror",
	 {"example.org TXT v=spf1 a:v1.example.org a:v2.example.org exists:v3.example.org ip4:192.0.2.7 -all"},
	 "192.0.2.7", "a@example.org", "h.example.net", OP_SPF_PERMERROR, 3, 3, "void"},
	{"mx: address lookups of MX names are not terms",
	 {"example.org TXT v=spf1 mx -all", "example.org MX 10 m1.example.org",
	  "example.org MX 20 m2.example.org", "m1.example.org A 203.0.113.1",
	  "m2.example.org A 192.0.2.7"},
	 "192.0.2.7", "a@example.org", "h.example.net", OP_SPF_PASS, 1, 0, NULL},
	{"mx with 11 names: permerror",
	 {"example.org TXT v=spf1 mx -all", "example.org MX 1 m.example.org", "example.org MX 2 m.example.org",
	  "example.org MX 3 m.example.org", "example.org MX 4 m.example.org", "example.org MX 5 m.example.org",
	  "example.org MX 6 m.example.org", "example.org MX 7 m.example.org", "example.org MX 8 m.example.org",
	  "example.org MX 9 m.example.org", "example.org MX 10 m.example.org", "example.org MX 11 m.example.org"},
	 "192.0.2.7", "a@example.org", "h.example.net", OP_SPF_PERMERROR, 1, 0, "MX names"},
	{"a/0 matches any address", {"example.org TXT v=spf1 a/0 -all", "example.org A 203.0.113.1"},
	 "192.0.2.7", "a@example.org", "h.example.net", OP_SPF_PASS, 1, 0, NULL},
	{"redirect after mechanisms", {"example.org TXT v=spf1 redirect=r.example.org ip4:192.0.2.7",
				       "r.example.org TXT v=spf1 -all"},
	 "192.0.2.7", "a@example.org", "h.example.net", OP_SPF_PASS, 0, 0, NULL},
	{"record too large for libspf2: permerror, not a truncated evaluation",
	 {"example.org TXT v=spf1 a:host-01.relay.example.org a:host-02.relay.example.org "
	  "a:host-03.relay.example.org a:host-04.relay.example.org a:host-05.relay.example.org "
	  "a:host-06.relay.example.org a:host-07.relay.example.org a:host-08.relay.example.org "
	  "a:host-09.relay.example.org a:host-10.relay.example.org a:host-11.relay.example.org "
	  "a:host-12.relay.example.org a:host-13.relay.example.org a:host-14.relay.example.org "
	  "a:host-15.relay.example.org a:host-16.relay.example.org a:host-17.relay.example.org "
	  "a:host-18.relay.example.org a:host-19.relay.example.org a:host-20.relay.example.org -all"},
	 "198.51.100.1", "a@example.org", "h.example.net", OP_SPF_PERMERROR, 0, 0, "too large"},
	{"malformed sender domain: none", {"example.org TXT v=spf1 -all"},
	 "192.0.2.7", "a@example", "h.example.net", OP_SPF_NONE, 0, 0, NULL},
};

static void zone_load(struct op_spf_zone *z, const struct zone_row *r)
{
	for (size_t i = 0; i < 16 && r->records[i]; i++) {
		char name[256], type[16];
		const char *err, *data;
		int n = 0;

		if (sscanf(r->records[i], "%255s %15s %n", name, type, &n) != 2) {
			print_error("%s: bad record row \"%s\"\n", r->label, r->records[i]);
			fail();
		}
		data = r->records[i] + n;
		if (strcmp(type, "TIMEOUT") == 0)
			WANT_INT(r->label, op_spf_zone_timeout(z, name, data, &err), 0);
		else
			WANT_INT(r->label, op_spf_zone_add(z, name, type, data, &err), 0);
	}
}

static void test_engine(void **state)
{
	static const struct op_spf_limits lim = {10, 2, 10, 5000};

	(void)state;
	for (size_t i = 0; i < NROWS(zone_rows); i++) {
		const struct zone_row *r = &zone_rows[i];
		struct op_spf_zone *z;
		struct op_spf_engine *e;
		struct op_spf_outcome o;
		const char *err;

		WANT_INT(r->label, op_spf_zone_new(&z, &err), 0);
		zone_load(z, r);
		WANT_INT(r->label, op_spf_engine_new(&lim, z, &e, &err), 0);
		op_spf_check(e, r->ip, r->sender, r->helo, false, &o);
		WANT_STR(r->label, op_spf_result_name(o.result), op_spf_result_name(r->want));
		if (r->terms >= 0)
			WANT_INT(r->label, o.terms, r->terms);
		if (r->voids >= 0)
			WANT_INT(r->label, o.voids, r->voids);
		if (r->problem)
			WANT_CONTAINS(r->label, o.problem, r->problem);
		op_spf_engine_free(&e);
		op_spf_zone_free(&z);
		WANT_PTR(r->label, e, NULL);
	}
}

/* The wall-clock budget: 1 ms runs out long before 20 levels of includes
 * with 15 address lookups each have been answered by a zone of 3000
 * names (the zone layer searches its names one by one). */
static void test_timeout(void **state)
{
	static const struct op_spf_limits lim = {100000, 100000, 10, 1};
	struct op_spf_zone *z;
	struct op_spf_engine *e;
	struct op_spf_outcome o;
	const char *err;
	char name[64];
	struct op_buf rec;

	(void)state;
	WANT_INT("zone", op_spf_zone_new(&z, &err), 0);
	for (int i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "x%d.example.org", i);
		WANT_INT("zone add", op_spf_zone_add(z, name, "A", "203.0.113.1", &err), 0);
	}
	op_buf_init(&rec, 1 << 16);
	for (int lvl = 0; lvl < 20; lvl++) {
		op_buf_reset(&rec);
		op_buf_puts(&rec, "v=spf1");
		for (int i = 0; i < 15; i++)
			op_buf_printf(&rec, " a:x%d.example.org", 2999 - i);
		op_buf_printf(&rec, " include:i%d.example.org", lvl + 1);
		snprintf(name, sizeof(name), lvl ? "i%d.example.org" : "example.org", lvl);
		WANT_INT("zone add", op_spf_zone_add(z, name, "TXT", op_buf_str(&rec), &err), 0);
	}
	op_buf_free(&rec);
	WANT_INT("engine", op_spf_engine_new(&lim, z, &e, &err), 0);
	op_spf_check(e, "192.0.2.7", "a@example.org", "h", false, &o);
	WANT_STR("300 slow lookups, 1 ms budget", op_spf_result_name(o.result), "temperror");
	WANT_CONTAINS("problem", o.problem, "spf.timeout");
	op_spf_engine_free(&e);
	op_spf_zone_free(&z);
}

/* An explanation that libspf2 1.2.10 compiles past its 511-byte stack
 * buffer (CVE-2023-42118): 127 macros fill 508 bytes, and the room left
 * for the literal after them underflows.  The check must end in fail
 * without that explanation (not in "stack smashing detected"); a short
 * explanation with macros still comes through. */
static void test_exp_overflow(void **state)
{
	static const struct op_spf_limits lim = {10, 2, 10, 5000};
	static const struct {
		const char *label;
		int macros, literal; /* "%{d}" times macros, then "A" times literal */
		const char *want;	/* the explanation */
	} rows[] = {
		{"127 macros, 10 bytes of text", 127, 10, ""},
		{"127 macros, 1000 bytes of text", 127, 1000, ""},
		{"200 macros", 200, 0, ""},
		{"2 macros", 2, 3, "example.orgexample.orgAAA"},
	};
	struct op_buf exp;

	(void)state;
	op_buf_init(&exp, 8192);
	for (size_t i = 0; i < NROWS(rows); i++) {
		struct op_spf_zone *z;
		struct op_spf_engine *e;
		struct op_spf_outcome o;
		const char *err;

		op_buf_reset(&exp);
		for (int k = 0; k < rows[i].macros; k++)
			op_buf_puts(&exp, "%{d}");
		for (int k = 0; k < rows[i].literal; k++)
			op_buf_putc(&exp, 'A');
		WANT_INT(rows[i].label, op_spf_zone_new(&z, &err), 0);
		WANT_INT(rows[i].label,
			 op_spf_zone_add(z, "example.org", "TXT", "v=spf1 -all exp=why.example.org", &err),
			 0);
		WANT_INT(rows[i].label, op_spf_zone_add(z, "why.example.org", "TXT", op_buf_str(&exp), &err),
			 0);
		WANT_INT(rows[i].label, op_spf_engine_new(&lim, z, &e, &err), 0);
		op_spf_check(e, "192.0.2.7", "a@example.org", "h.example.net", false, &o);
		WANT_STR(rows[i].label, op_spf_result_name(o.result), "fail");
		WANT_STR(rows[i].label, o.explanation, rows[i].want);
		op_spf_engine_free(&e);
		op_spf_zone_free(&z);
	}
	op_buf_free(&exp);
}

/* ---- policy ------------------------------------------------------------- */

static const struct {
	enum op_spf_result r;
	int action; /* spf.on_<r>: 0 mark, 1 reject, 2 tempfail, 3 hold */
	enum op_action want;
	const char *rcode, *xcode;
} verdict_rows[] = {
	{OP_SPF_FAIL, 1, OP_ACT_REJECT, "550", "5.7.23"},
	{OP_SPF_FAIL, 0, OP_ACT_CONTINUE, "", ""},
	{OP_SPF_FAIL, 2, OP_ACT_TEMPFAIL, "451", "4.7.24"},
	{OP_SPF_SOFTFAIL, 3, OP_ACT_HOLD, "", ""},
	{OP_SPF_TEMPERROR, 2, OP_ACT_TEMPFAIL, "451", "4.4.3"},
	{OP_SPF_PERMERROR, 1, OP_ACT_REJECT, "550", "5.7.24"},
	{OP_SPF_PASS, 0, OP_ACT_CONTINUE, "", ""},
};

static void test_verdict(void **state)
{
	struct op_config cfg;

	(void)state;
	for (size_t i = 0; i < NROWS(verdict_rows); i++) {
		struct op_verdict v;
		char label[80];

		memset(&cfg, 0, sizeof(cfg));
		cfg.spf_on[verdict_rows[i].r] = verdict_rows[i].action;
		op_verdict_clear(&v);
		op_spf_verdict(&v, cfg.spf_on, verdict_rows[i].r, "example.org", "192.0.2.7",
			       "see http://example.org/spf 100%", "too many lookups");
		snprintf(label, sizeof(label), "row %zu %s", i, op_spf_result_name(verdict_rows[i].r));
		WANT_STR(label, op_action_name(v.action), op_action_name(verdict_rows[i].want));
		WANT_STR(label, v.rcode, verdict_rows[i].rcode);
		WANT_STR(label, v.xcode, verdict_rows[i].xcode);
		if (v.rcode[0]) {
			WANT_INT(label, op_reply_valid(v.rcode, v.xcode, v.text), 1);
			WANT_CONTAINS(label, v.text, "example.org");
		}
	}
}

static void test_texts(void **state)
{
	struct op_spf_outcome o = {.result = OP_SPF_FAIL};
	struct op_buf b;
	char hint[200];

	(void)state;
	op_buf_init(&b, 4096);
	WANT_INT("received-spf", op_spf_received_spf(&b, &o, "mx.example.net", "192.0.2.7",
						     "a\"b@example.org", "h.example.net", false), 0);
	WANT_STR("received-spf", op_buf_str(&b),
		 "fail (mx.example.net: domain of example.org does not designate 192.0.2.7 as "
		 "permitted sender)\r\n\tclient-ip=192.0.2.7; envelope-from=\"a\\\"b@example.org\"; "
		 "helo=h.example.net; receiver=mx.example.net; identity=mailfrom;");
	op_buf_free(&b);
	op_spf_hint(hint, sizeof(hint), "192.0.2.10", "_spf.example.net");
	WANT_STR("hint v4", hint, "add ip4:192.0.2.10 or include:_spf.example.net");
	op_spf_hint(hint, sizeof(hint), "2001:db8::10", "");
	WANT_STR("hint v6", hint, "add ip6:2001:db8::10 to its SPF record");
	WANT_INT("domain ok", op_spf_domain_valid("a.example.org.", true), 1);
	WANT_INT("single label", op_spf_domain_valid("localhost", true), 0);
	WANT_INT("literal", op_spf_domain_valid("[192.0.2.1]", true), 0);
	WANT_INT("empty label", op_spf_domain_valid("a..example.org", false), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grammar),  cmocka_unit_test(test_normalize),
		cmocka_unit_test(test_engine),   cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_exp_overflow),
		cmocka_unit_test(test_macro_counts), cmocka_unit_test(test_macro_expand),
		cmocka_unit_test(test_verdict),  cmocka_unit_test(test_texts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
