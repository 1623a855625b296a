/*
 * spf.h - SPF (RFC 7208) evaluation, policy and text, without libspf2 in
 * sight.
 *
 * plugin/mod_spf.c is the only file that includes libspf2: it owns the
 * engine (op_spf_engine_*, op_spf_check, the test zone op_spf_zone_*).
 * plugin/spf_module.c is the spf module's table entry.
 * plugin/spf_syntax.c checks a record against RFC 7208's
 * grammar before libspf2 compiles it; plugin/spf_policy.c holds what does
 * not need libspf2 at all: result names, the policy per result, reply and
 * header texts, the per-tenant and per-domain overrides.
 *
 * Limits (RFC 7208 4.6.4), enforced by a counting DNS layer under libspf2:
 * at most spf.max_dns_terms terms that query DNS (a, mx, ptr, exists,
 * include, redirect; nested includes counted), at most spf.max_void_lookups
 * lookups answering NXDOMAIN or no data, at most 10 names per mx or ptr,
 * and spf.timeout of wall-clock time per check.
 */
#ifndef OUTPOST_SPF_H
#define OUTPOST_SPF_H

#include <stdbool.h>
#include <stddef.h>

#include "outpost/buf.h"
#include "outpost/config.h"
#include "outpost/verdict.h"

struct op_msg;

/* Results of check_host() (RFC 7208 2.6), in the order of enum op_spf_result
 * names: "none", "neutral", "pass", "fail", "softfail", "temperror",
 * "permerror". */
enum op_spf_result {
	OP_SPF_NONE = 0,
	OP_SPF_NEUTRAL,
	OP_SPF_PASS,
	OP_SPF_FAIL,
	OP_SPF_SOFTFAIL,
	OP_SPF_TEMPERROR,
	OP_SPF_PERMERROR,
	OP_SPF__COUNT
};

struct op_spf_limits {
	unsigned max_dns_terms; /* RFC 7208: 10 */
	unsigned max_void;	/* RFC 7208: 2 */
	unsigned max_names;	/* names looked at per mx or ptr: 10 */
	long long timeout_ms;	/* wall clock per check; 0 = none */
};

/* What one check found. */
struct op_spf_outcome {
	enum op_spf_result result;
	unsigned terms;	       /* DNS-querying terms evaluated */
	unsigned voids;	       /* void lookups */
	char problem[200];     /* temperror/permerror: why, for logs and headers */
	char explanation[256]; /* fail: the domain's exp= text, or "" */
};

struct op_spf_engine;
struct op_spf_zone;

/* A new engine with limits lim, resolving through zone (tests) or, when
 * zone is NULL, through the system resolver (/etc/resolv.conf).  The zone,
 * if any, must outlive the engine.  Thread safe once built: checks may run
 * concurrently.  Returns 0, or -1 with *err_r. */
int op_spf_engine_new(const struct op_spf_limits *lim, struct op_spf_zone *zone,
		      struct op_spf_engine **e_r, const char **err_r);

/* Free the engine; accepts NULL; sets *e = NULL. */
void op_spf_engine_free(struct op_spf_engine **e);

/* check_host() of RFC 7208 for the client address ip ("192.0.2.1",
 * "2001:db8::1") and the identity: the MAIL FROM address sender (may be
 * "" for the null sender, or "@domain"), or, when use_helo is true or the
 * sender is "", the HELO name helo ("postmaster@HELO").  Fills *out; never
 * fails (problems become temperror or permerror with out->problem). */
void op_spf_check(struct op_spf_engine *e, const char *ip, const char *sender, const char *helo,
		  bool use_helo, struct op_spf_outcome *out);

/* Test zones: an in-memory DNS (libspf2's zone layer).  type is "A",
 * "AAAA", "MX" ("10 mx.example.org"), "PTR", "TXT" (the strings of one
 * record, concatenated); op_spf_zone_timeout() makes queries of type
 * (or "ANY") for name time out.  Returns 0, or -1 with *err_r. */
int op_spf_zone_new(struct op_spf_zone **z_r, const char **err_r);
int op_spf_zone_add(struct op_spf_zone *z, const char *name, const char *type, const char *data,
		    const char **err_r);
int op_spf_zone_timeout(struct op_spf_zone *z, const char *name, const char *type,
			const char **err_r);
void op_spf_zone_free(struct op_spf_zone **z);

/* Load a zone file (spf.test_zone): one record per line, "NAME TYPE
 * DATA" with TYPE as above, or "NAME TIMEOUT TYPE"; '#' starts a comment
 * line.  Returns 0, or -1 with *err_r (static text naming the problem). */
int op_spf_zone_load(struct op_spf_zone *z, const char *path, const char **err_r);

/* ---- plugin/spf_syntax.c --------------------------------------------- */

/* Check record (the TXT text, starting "v=spf1") against RFC 7208 section
 * 12's grammar and the rules of sections 5 and 6: known mechanisms with
 * their arguments, CIDR lengths in range, domain-specs ending in a
 * top label, macros well formed (c, r, t only in exp), redirect and exp at
 * most once, printable ASCII only.  Returns true, or false with *why_r. */
bool op_spf_record_valid(const char *record, const char **why_r);

/* The label that marks an exists term standing for an a or mx term with
 * a CIDR length of 0 (see op_spf_record_normalize()). */
#define OP_SPF_CIDR0_SUFFIX "outpost-cidr0.invalid"

/* Rewrite a record that op_spf_record_valid() accepted into one that
 * libspf2 evaluates the way RFC 7208 asks, for a client of family v6 or
 * IPv4: unknown modifiers dropped; exp= and redirect= moved to the end,
 * redirect= dropped when an "all" is present (6.1); ip4/ip6 with /0 split
 * into two halves; a and mx with /0 for the client's family turned into
 * "exists:DOMAIN.a4.outpost-cidr0.invalid" (a4, a6, mx4, mx6), which the
 * engine's DNS layer answers (libspf2 cannot hold a length of 0), and a
 * /0 for the other family dropped.  Appends to out and sets *nmech_r to
 * the number of mechanisms libspf2 must compile from it (redirect
 * included); 0, or -1 when out is full. */
int op_spf_record_normalize(const char *record, bool v6, struct op_buf *out, unsigned *nmech_r);

/* What each macro letter expands to in one check (RFC 7208 7.2), by
 * letter: val['d' - 'a'] is the current domain...; NULL when not known
 * (p before libspf2 has looked it up). */
struct op_spf_macro_vals {
	const char *val[26];
};

/* Copy s (a record that op_spf_record_normalize() wrote, or an
 * explanation text that op_spf_macro_string_valid() accepted) to out with
 * each macro's right-hand count rewritten so that libspf2 1.2.10 keeps the
 * labels RFC 7208 7.3 keeps: no count when the count is at least the
 * value's number of labels (libspf2 drops the first octet there, and
 * refuses counts over 128), else the count of '.' libspf2 will see.  A
 * letter whose value is not known keeps its count, or loses it when that
 * is 128 or more.  "r" is written in lower case (libspf2 reads "R" as a
 * delimiter).  0, or -1 when out is full. */
int op_spf_macro_counts(const char *s, const struct op_spf_macro_vals *mv, struct op_buf *out);

/* True when an explanation text (exp= TXT) is a valid macro-string. */
bool op_spf_macro_string_valid(const char *s, bool exp);

/* The bytes SPF_record_compile_macro() compiles esc (an explanation text,
 * its spaces written "%_") into, as libspf2's SPF_c_parse_macro() lays
 * them out: 4 per macro, and 4 plus the text rounded up to 4 per literal
 * run ("%%" and "%_" one byte, "%-" three).  libspf2 1.2.10 compiles into
 * a 511-byte stack buffer and, when a macro ends within 4 bytes of its
 * end, takes the room left for the next literal as a negative size_t
 * (CVE-2023-42118, fixed upstream in d14abff, not in Debian 12): that
 * literal is then copied past the buffer.  Every prefix is at most the
 * total, so a total of at most OP_SPF_EXP_COMPILED_MAX rules that out. */
#define OP_SPF_EXP_COMPILED_MAX 504
size_t op_spf_exp_compiled_size(const char *esc);

/* True when name can be looked up: labels of 1..63 octets, at most 253
 * octets (a trailing dot allowed), not a domain literal ("[192.0.2.1]");
 * with multilabel, also at least two labels (RFC 7208 4.3). */
bool op_spf_domain_valid(const char *name, bool multilabel);

/* ---- plugin/spf_policy.c --------------------------------------------- */

/* "none", "neutral", "pass", ... as RFC 8601 and RFC 7208 spell them. */
const char *op_spf_result_name(enum op_spf_result r);

/* Parse a result name; -1 when unknown. */
int op_spf_result_parse(const char *name);

/* The Received-SPF value (RFC 7208 9.1) into b, without the field name:
 * "fail (mx.example.net: domain of a@b does not designate 192.0.2.1 as
 * permitted sender) client-ip=192.0.2.1; envelope-from=\"a@b\";
 * helo=h; receiver=mx.example.net; identity=mailfrom;".  Returns 0 or -1
 * (too long). */
int op_spf_received_spf(struct op_buf *b, const struct op_spf_outcome *o, const char *receiver,
			const char *ip, const char *sender, const char *helo, bool helo_identity);

/* The "add ip4:192.0.2.10 or include:..." hint for an address that a
 * domain's record does not authorize. */
void op_spf_hint(char *out, size_t outsize, const char *ip, const char *include_hint);

/* The verdict for an external sender's result r under spf.on_<r>: mark
 * (v untouched: CONTINUE), reject (550 5.7.23; 5.7.24 for temperror and
 * permerror), tempfail (451 4.4.3 for temperror, else 4.7.24), hold.  dom
 * and ip name the identity and the client in the reply; explanation (the
 * domain's exp= text) or problem (for errors) is appended. */
void op_spf_verdict(struct op_verdict *v, const int *on, enum op_spf_result r, const char *dom,
		    const char *ip, const char *explanation, const char *problem);

/* Per-tenant policy: tenants = ( { ...; spf = { on_fail = "..."; ... }; } ).
 * tab[i][r] is tenant i's action for result r (the spf.on_<r> values);
 * a result the tenant does not name inherits spf.on_<r>. */
struct op_spf_policies {
	int (*tab)[OP_SPF__COUNT]; /* ntenants rows, or NULL */
	bool any;		   /* some tenant overrides some result */
};

/* Read the tenants' spf groups from raw (a libconfig config_t).  Returns 0,
 * or -1 with "FILE:LINE: what" in err.  Free with op_spf_policies_free(). */
int op_spf_policies_load(const struct op_config *cfg, const void *raw, struct op_spf_policies *p,
			 char *err, size_t errsize);
void op_spf_policies_free(struct op_spf_policies *p);

/* spf.egress_ips as address texts (single addresses only). */
#define OP_SPF_EGRESS_MAX 16
struct op_spf_egress {
	char ip[OP_SPF_EGRESS_MAX][46];
	size_t n;
};

/* Fill eg from cfg's spf.egress_ips.  0, or -1 with "FILE: what" in err. */
int op_spf_egress_parse(const struct op_config *cfg, struct op_spf_egress *eg, char *err,
			size_t errsize);

struct op_ctx;

/* The spf module at MAIL FROM.  op_spf_external(): check an external
 * sender (MAIL FROM; HELO for the null sender, and also with
 * spf.check_helo), record msg->auth, and with decide apply spf.on_<result>
 * (without: the decision waits for each RCPT, op_spf_rcpt()), unless a
 * skip list says not to.  op_spf_outbound(): check that the internal sender's
 * domain authorizes every egress address; log the first one it does not
 * with the fix, and apply spf.on_unauthorized_egress. */
void op_spf_external(struct op_ctx *ctx, struct op_spf_engine *engine, bool decide,
		     struct op_verdict *v);

/* The spf module at RCPT, when tenants override the policy: the verdict
 * for this recipient under its domain's tenant's policy (or the global
 * one) for the result recorded at MAIL FROM.  External mail only. */
void op_spf_rcpt(struct op_ctx *ctx, const struct op_spf_policies *p, struct op_verdict *v);
void op_spf_outbound(struct op_ctx *ctx, struct op_spf_engine *engine,
		     const struct op_spf_egress *eg, struct op_verdict *v);

/* Why an external message is not checked (spf.skip_*, no client
 * address), or NULL when it is. */
const char *op_spf_skip_reason(const struct op_config *cfg, const struct op_msg *m);

#endif
