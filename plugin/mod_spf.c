/*
 * mod_spf.c - the SPF engine; the only file that includes libspf2 (see
 * include/outpost/spf.h).
 *
 * The engine is libspf2's interpreter over a DNS layer of ours.  That
 * layer sits between libspf2 and the real resolver (or the test zone) and
 * owns everything RFC 7208 asks of the DNS work, which libspf2 does not
 * do itself:
 *   - it counts the terms that query DNS, nested includes and redirects
 *     included, and the void lookups, and stops the check with permerror
 *     past spf.max_dns_terms or spf.max_void_lookups (4.6.4);
 *   - it fetches every SPF record itself (libspf2's get_spf hook): one
 *     v=spf1 TXT record or none, checked against RFC 7208's grammar
 *     (spf_syntax.c) before libspf2 compiles it;
 *   - it fetches explanations (get_exp hook) without counting them, and
 *     drops an explanation that is not exactly one valid macro-string;
 *   - it rewrites the macros' right-hand counts of records and
 *     explanations, knowing what each letter expands to in this check,
 *     into counts libspf2 truncates as RFC 7208 7.3 says (its own loop
 *     drops the first octet when a count covers all labels);
 *   - it refuses more than 10 MX names and ignores PTR names past 10;
 *   - it stops the check with temperror when spf.timeout has passed.
 * Per-check state lives in a thread-local run (spf_check.c: the counts,
 * the deadline, the forced result), so one libspf2 server and one layer
 * serve every worker thread.  libspf2's error handler (whose
 * default calls abort()) logs and jumps back out of the check, which then
 * ends in temperror.
 *
 * The spf module's table entry, which needs no libspf2, is spf_module.c;
 * its work at MAIL FROM (external: check the sender, so a refused one
 * costs no DATA; internal: check spf.egress_ips against the sender's
 * domain) lives in spf_policy.c.  Results go to msg->auth for mod_auth's
 * Authentication-Results header.
 *
 * XXX: libspf2 keeps TXT data as C strings, so a record with a NUL byte
 * reaches the grammar check cut short at the NUL (RFC 7208 wants
 * permerror); RFC 7208 suite tests a-null and mx-null fail for it.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <spf2/spf.h>
#include <spf2/spf_dns_resolv.h>
#include <spf2/spf_dns_zone.h>

#include "outpost/blocking.h"
#include "outpost/log.h"
#include "outpost/metrics.h"
#include "outpost/spf.h"

#include "spf_int.h"

static __thread struct op_spf_run *spf_cur;

struct op_spf_engine {
	struct op_spf_limits lim;
	SPF_dns_server_t layer;	 /* ours: counting, records, explanations */
	SPF_dns_server_t *below; /* the resolver, or a zone (not ours) */
	bool own_below;
	SPF_server_t *server;
};

/* ---- libspf2's logging ------------------------------------------------ */

static void spf_on_error(const char *file, int line, const char *msg) __attribute__((noreturn));

static void spf_on_error(const char *file, int line, const char *msg)
{
	struct op_spf_run *run = spf_cur;

	op_log_error("spf: libspf2 internal error at %s:%d: %s", file ? file : "?", line, msg);
	if (run != NULL)
		siglongjmp(run->jb, 1);
	/* Only reachable from engine setup, which always runs under a run. */
	abort();
}

static void spf_on_warning(const char *file, int line, const char *msg)
{
	op_log_debug("spf: libspf2: %s (%s:%d)", msg, file ? file : "?", line);
}

static void spf_on_info(const char *file, int line, const char *msg)
{
	(void)file;
	(void)line;
	op_log_debug("spf: libspf2: %s", msg);
}

static pthread_once_t spf_handlers_once = PTHREAD_ONCE_INIT;

static void spf_handlers_install(void)
{
	SPF_error_handler = spf_on_error;
	SPF_warning_handler = spf_on_warning;
	SPF_info_handler = spf_on_info;
	SPF_debug_handler = spf_on_info;
}

/* ---- the counting layer ----------------------------------------------- */

/* SPF_dns_rr_free() does not accept NULL. */
static void rr_free(SPF_dns_rr_t *rr)
{
	if (rr != NULL)
		SPF_dns_rr_free(rr);
}

/* A lookup in the layer below, timed for outpost_spf_dns_lookup_*. */
static SPF_dns_rr_t *dns_timed(SPF_dns_server_t *below, const char *name, ns_type t, int cache)
{
	struct timespec t0;
	SPF_dns_rr_t *rr;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	op_blocking_begin(); /* the resolver may wait (a zone answers at once) */
	rr = SPF_dns_lookup(below, name, t, cache);
	op_blocking_end();
	op_metrics_spf_dns(op_metrics_since(&t0), rr == NULL || rr->herrno == TRY_AGAIN);
	return rr;
}

/* An answer that makes libspf2 give up at once (its temperror path). */
static SPF_dns_rr_t *rr_giveup(SPF_dns_server_t *s, const char *domain, ns_type t)
{
	return SPF_dns_rr_new_init(s, domain, t, 0, TRY_AGAIN);
}

static bool rr_void(const SPF_dns_rr_t *rr)
{
	return rr->herrno == HOST_NOT_FOUND || rr->herrno == NO_DATA ||
	       (rr->herrno == NETDB_SUCCESS && rr->num_rr == 0);
}

/* Remember the names an mx or ptr answer lists: their address lookups
 * come next and are part of that term. */
static void run_pending(struct op_spf_run *run, const SPF_dns_rr_t *rr)
{
	run->npending = run->ipending = 0;
	for (int i = 0; i < rr->num_rr && run->npending < OP_SPF_PENDING_MAX; i++) {
		const char *n = rr->rr_type == ns_t_mx ? rr->rr[i]->mx : rr->rr[i]->ptr;

		snprintf(run->pending[run->npending++], OP_SPF_NAME_MAX, "%s", n);
	}
}

/* Address records of name (A for an IPv4 client, AAAA for IPv6),
 * void-counted; NULL when a limit stopped the check. */
static SPF_dns_rr_t *addr_lookup(SPF_dns_server_t *s, struct op_spf_run *run, const char *name,
				 bool v6)
{
	SPF_dns_rr_t *rr = dns_timed(s->layer_below, name, v6 ? ns_t_aaaa : ns_t_a, 1);

	if (rr != NULL && rr->herrno == TRY_AGAIN) {
		run->dns_error = true;
		snprintf(run->problem, sizeof(run->problem), "DNS lookup failed: %.100s", name);
	} else if (rr != NULL && rr_void(rr) && !op_spf_run_void(run, name)) {
		rr_free(rr);
		return NULL;
	}
	return rr;
}

/* The answer to an exists term that stands for "a/0" or "mx/0" (see
 * op_spf_record_normalize()): any address of the name (a), or of any of
 * its MX hosts (mx), matches. */
static SPF_dns_rr_t *cidr0_lookup(SPF_dns_server_t *s, struct op_spf_run *run, const char *domain,
				  ns_type t)
{
	char name[OP_SPF_NAME_MAX], kind[4];
	size_t n = strlen(domain), sl = strlen(OP_SPF_CIDR0_SUFFIX);
	const char *dot;
	SPF_dns_rr_t *mx, *rr = NULL;

	/* domain = NAME.KIND.outpost-cidr0.invalid, KIND in a4 a6 mx4 mx6 */
	if (n < sl + 4 || n - sl - 1 >= sizeof(name))
		return rr_giveup(s, domain, t);
	memcpy(name, domain, n - sl - 1);
	name[n - sl - 1] = '\0';
	dot = strrchr(name, '.');
	if (dot == NULL || strlen(dot + 1) >= sizeof(kind))
		return rr_giveup(s, domain, t);
	snprintf(kind, sizeof(kind), "%s", dot + 1);
	name[dot - name] = '\0';
	if (kind[0] == 'a')
		return addr_lookup(s, run, name, kind[1] == '6') ?: rr_giveup(s, domain, t);
	mx = dns_timed(s->layer_below, name, ns_t_mx, 1);
	if (mx == NULL || mx->herrno == TRY_AGAIN || (rr_void(mx) && !op_spf_run_void(run, name)) ||
	    (unsigned)mx->num_rr > run->lim->max_names) {
		if (mx != NULL && (unsigned)mx->num_rr > run->lim->max_names)
			op_spf_run_stop(run, OP_SPF_PERMERROR, "%.100s has more than %u MX names",
					name, run->lim->max_names);
		rr_free(mx);
		return rr_giveup(s, domain, t);
	}
	for (int i = 0; i < mx->num_rr; i++) {
		rr_free(rr);
		rr = addr_lookup(s, run, mx->rr[i]->mx, kind[2] == '6');
		if (rr == NULL || rr->herrno == TRY_AGAIN || rr->num_rr > 0)
			break;
	}
	rr_free(mx);
	return rr ? rr : SPF_dns_rr_new_nxdomain(s, domain);
}

/* Whether domain carries the cidr0 mark. */
static bool is_cidr0(const char *domain)
{
	size_t n = strlen(domain), sl = strlen(OP_SPF_CIDR0_SUFFIX);

	return n > sl && strcasecmp(domain + n - sl, OP_SPF_CIDR0_SUFFIX) == 0;
}

static SPF_dns_rr_t *layer_lookup(SPF_dns_server_t *s, const char *domain, ns_type t, int cache)
{
	struct op_spf_run *run = spf_cur;
	SPF_dns_rr_t *rr;
	bool sub;

	if (run == NULL)
		return SPF_dns_lookup(s->layer_below, domain, t, cache);
	if (run->stopped)
		return rr_giveup(s, domain, t);
	if (op_spf_run_late(run)) {
		op_spf_run_stop(run, OP_SPF_TEMPERROR, "check took longer than spf.timeout");
		return rr_giveup(s, domain, t);
	}
	sub = op_spf_run_is_sub(run, domain, t);
	if (!sub && !op_spf_run_term(run))
		return rr_giveup(s, domain, t);
	if (is_cidr0(domain))
		return cidr0_lookup(s, run, domain, t);
	if (!op_spf_domain_valid(domain, false)) {
		/* Not a name DNS can hold: no data (as pyspf does). */
		if (!op_spf_run_void(run, domain))
			return rr_giveup(s, domain, t);
		return SPF_dns_rr_new_nxdomain(s, domain);
	}
	rr = dns_timed(s->layer_below, domain, t, cache);
	if (rr == NULL)
		return rr_giveup(s, domain, t);
	if (rr->herrno == TRY_AGAIN) {
		run->dns_error = true;
		snprintf(run->problem, sizeof(run->problem), "DNS lookup failed: %.60s %s", domain,
			 SPF_strrrtype(t));
		return rr;
	}
	if (rr_void(rr) && !op_spf_run_void(run, domain)) {
		rr_free(rr);
		return rr_giveup(s, domain, t);
	}
	if (t == ns_t_mx && rr->herrno == NETDB_SUCCESS) {
		if ((unsigned)rr->num_rr > run->lim->max_names) {
			op_spf_run_stop(run, OP_SPF_PERMERROR,
					"%.100s has more than %u MX names (RFC 7208 4.6.4)", domain,
					run->lim->max_names);
			rr_free(rr);
			return rr_giveup(s, domain, t);
		}
		run_pending(run, rr);
	} else if (t == ns_t_ptr && rr->herrno == NETDB_SUCCESS) {
		/* RFC 7208 5.5: names past the 10th are ignored. */
		if ((unsigned)rr->num_rr > run->lim->max_names)
			rr->num_rr = (int)run->lim->max_names;
		run_pending(run, rr);
	}
	return rr;
}

/* How many of rr's TXT strings are SPF version 1 records; *idx_r gets the
 * last one. */
static int spf_records(const SPF_dns_rr_t *rr, int *idx_r)
{
	int n = 0;

	for (int i = 0; i < rr->num_rr; i++) {
		const char *txt = rr->rr[i]->txt;

		if (strncasecmp(txt, "v=spf1", 6) == 0 && (txt[6] == ' ' || txt[6] == '\0')) {
			n++;
			*idx_r = i;
		}
	}
	return n;
}

static SPF_errcode_t get_fail(SPF_response_t *resp, SPF_result_t r, SPF_errcode_t e)
{
	resp->result = r;
	resp->reason = SPF_REASON_FAILURE;
	resp->err = e;
	return e;
}

/* The macro values of req (RFC 7208 7.2), for op_spf_macro_counts(), with
 * the room for the ones built here. */
struct macro_vals {
	struct op_spf_macro_vals mv;
	char ip[INET6_ADDRSTRLEN];
	char nibbles[64];
};

#define MV(m, c) ((m)->mv.val[(c) - 'a'])

/* Fill m from req as libspf2's SPF_record_expand_data() will expand it:
 * i of an IPv6 client is its 32 nibbles, t only ever digits (one label
 * whatever the delimiters).  XXX: p stays unknown until libspf2 has
 * looked it up (a %{p} before in the same check): finding it here would
 * cost DNS lookups for a term that may never be reached; a count of 128
 * or more still goes, a count from the value's number of labels to 127
 * still loses libspf2 the name's first octet. */
static void macro_vals(SPF_request_t *req, struct macro_vals *m)
{
	bool v6 = req->client_ver == AF_INET6;

	memset(m, 0, sizeof(*m));
	MV(m, 'd') = req->cur_dom;
	MV(m, 's') = req->env_from;
	MV(m, 'l') = req->env_from_lp;
	MV(m, 'o') = req->env_from_dp;
	MV(m, 'h') = req->helo_dom;
	MV(m, 'p') = req->client_dom;
	MV(m, 'v') = v6 ? "ip6" : "in-addr";
	MV(m, 't') = "0";
	MV(m, 'r') = SPF_request_get_rec_dom(req);
	if (inet_ntop(v6 ? AF_INET6 : AF_INET, v6 ? (void *)&req->ipv6 : (void *)&req->ipv4, m->ip,
		      sizeof(m->ip)) == NULL)
		return;
	MV(m, 'c') = m->ip;
	MV(m, 'i') = m->ip;
	if (!v6)
		return;
	for (size_t k = 0; k < 16; k++) {
		static const char hex[] = "0123456789abcdef";

		m->nibbles[4 * k] = hex[req->ipv6.s6_addr[k] >> 4];
		m->nibbles[4 * k + 1] = '.';
		m->nibbles[4 * k + 2] = hex[req->ipv6.s6_addr[k] & 0xf];
		m->nibbles[4 * k + 3] = '.';
	}
	m->nibbles[63] = '\0';
	MV(m, 'i') = m->nibbles;
}

/* Append text to out with its macros' counts rewritten for req (see
 * op_spf_macro_counts()). */
static int macro_fix(SPF_request_t *req, const char *text, struct op_buf *out)
{
	struct macro_vals m;

	macro_vals(req, &m);
	return op_spf_macro_counts(text, &m.mv, out);
}

/* libspf2's get_spf hook: fetch, select, check and compile the record of
 * req->cur_dom.  The first call of a check is the checked domain; later
 * ones are include and redirect terms, counted as such. */
static SPF_errcode_t layer_get_spf(SPF_server_t *srv, SPF_request_t *req, SPF_response_t *resp,
				   SPF_record_t **recp)
{
	struct op_spf_run *run = spf_cur;
	const char *dom = req->cur_dom, *why;
	SPF_dns_server_t *below = srv->resolver->layer_below;
	SPF_dns_rr_t *rr;
	SPF_errcode_t err;
	struct op_buf norm, fixed;
	unsigned nmech = 0;
	int idx = 0, n;

	*recp = NULL;
	if (run == NULL || run->stopped)
		return get_fail(resp, SPF_RESULT_TEMPERROR, SPF_E_DNS_ERROR);
	if (run->records++ > 0 && !op_spf_run_term(run))
		return get_fail(resp, SPF_RESULT_PERMERROR, SPF_E_BIG_DNS);
	run->npending = run->ipending = 0;
	if (!op_spf_domain_valid(dom, false))
		return get_fail(resp, SPF_RESULT_NONE, SPF_E_NOT_SPF);
	if (op_spf_run_late(run)) {
		op_spf_run_stop(run, OP_SPF_TEMPERROR, "check took longer than spf.timeout");
		return get_fail(resp, SPF_RESULT_TEMPERROR, SPF_E_DNS_ERROR);
	}
	rr = dns_timed(below, dom, ns_t_txt, 1);
	if (rr == NULL || rr->herrno == TRY_AGAIN || rr->herrno == NO_RECOVERY) {
		rr_free(rr);
		run->dns_error = true;
		snprintf(run->problem, sizeof(run->problem), "DNS lookup failed: %.100s TXT", dom);
		return get_fail(resp, SPF_RESULT_TEMPERROR, SPF_E_DNS_ERROR);
	}
	if (rr_void(rr)) {
		rr_free(rr);
		if (!op_spf_run_void(run, dom))
			return get_fail(resp, SPF_RESULT_PERMERROR, SPF_E_BIG_DNS);
		return get_fail(resp, SPF_RESULT_NONE, SPF_E_NOT_SPF);
	}
	n = spf_records(rr, &idx);
	if (n != 1) {
		rr_free(rr);
		if (n == 0)
			return get_fail(resp, SPF_RESULT_NONE, SPF_E_NOT_SPF);
		snprintf(run->problem, sizeof(run->problem), "%.100s has %d SPF records", dom, n);
		return get_fail(resp, SPF_RESULT_PERMERROR, SPF_E_MULTIPLE_RECORDS);
	}
	if (!op_spf_record_valid(rr->rr[idx]->txt, &why)) {
		snprintf(run->problem, sizeof(run->problem), "SPF record of %.100s: %s", dom, why);
		rr_free(rr);
		return get_fail(resp, SPF_RESULT_PERMERROR, SPF_E_SYNTAX);
	}
	op_buf_init(&norm, 4096);
	if (op_spf_record_normalize(rr->rr[idx]->txt, req->client_ver == AF_INET6, &norm, &nmech) <
	    0) {
		snprintf(run->problem, sizeof(run->problem), "SPF record of %.100s too long", dom);
		rr_free(rr);
		op_buf_free(&norm);
		return get_fail(resp, SPF_RESULT_PERMERROR, SPF_E_BIG_STRING);
	}
	rr_free(rr);
	/* libspf2 mistruncates some macros: hand it counts that it gets right. */
	op_buf_init(&fixed, 4096);
	if (macro_fix(req, op_buf_str(&norm), &fixed) < 0) {
		snprintf(run->problem, sizeof(run->problem), "SPF record of %.100s too long", dom);
		op_buf_free(&norm);
		op_buf_free(&fixed);
		return get_fail(resp, SPF_RESULT_PERMERROR, SPF_E_BIG_STRING);
	}
	op_buf_free(&norm);
	err = SPF_record_compile(srv, resp, recp, op_buf_str(&fixed));
	op_buf_free(&fixed);
	if (err != SPF_E_SUCCESS) {
		snprintf(run->problem, sizeof(run->problem), "SPF record of %.100s: %s", dom,
			 SPF_strerror(err));
		if (*recp != NULL)
			SPF_record_free(*recp);
		*recp = NULL;
		return get_fail(resp, SPF_RESULT_PERMERROR, err);
	}
	/* libspf2 silently drops the mechanisms past its 511-byte compiled
	 * size (SPF_MAX_MECH_LEN) and would evaluate what is left, say a
	 * record without its "-all".  XXX: such a record is valid; permerror
	 * is the honest answer we can give with libspf2. */
	if ((unsigned)(*recp)->num_mech != nmech) {
		snprintf(
		    run->problem, sizeof(run->problem),
		    "SPF record of %.100s too large for libspf2 (%d of %u mechanisms compiled)",
		    dom, (*recp)->num_mech, nmech);
		SPF_record_free(*recp);
		*recp = NULL;
		return get_fail(resp, SPF_RESULT_PERMERROR, SPF_E_BIG_MECH);
	}
	return SPF_E_SUCCESS;
}

/* Expand the explanation text into *bufp; "" when it is not valid. */
static SPF_errcode_t exp_expand(SPF_server_t *srv, const char *text, char **bufp, size_t *lenp)
{
	struct op_spf_run *run = spf_cur;
	SPF_response_t *tmp;
	SPF_macro_t *mac = NULL;
	SPF_errcode_t err;
	struct op_buf fixed, esc;

	if (run == NULL || run->req == NULL || !op_spf_macro_string_valid(text, true))
		return SPF_E_NOT_SPF;
	op_buf_init(&fixed, 4096);
	if (macro_fix(run->req, text, &fixed) < 0) {
		op_buf_free(&fixed);
		return SPF_E_BIG_MOD;
	}
	/* libspf2's macro parser takes a space for a '%' (its records never
	 * hold one inside a term); an explanation's spaces go in as "%_". */
	op_buf_init(&esc, 4096);
	for (const char *p = op_buf_str(&fixed); *p; p++)
		if ((*p == ' ' ? op_buf_puts(&esc, "%_") : op_buf_putc(&esc, *p)) < 0)
			break;
	op_buf_free(&fixed);
	/* Past this, libspf2 1.2.10 overflows its stack buffer (spf.h). */
	if (op_spf_exp_compiled_size(op_buf_str(&esc)) > OP_SPF_EXP_COMPILED_MAX) {
		op_buf_free(&esc);
		return SPF_E_BIG_MOD;
	}
	tmp = SPF_response_new(run->req);
	if (tmp == NULL) {
		op_buf_free(&esc);
		return SPF_E_NO_MEMORY;
	}
	err = SPF_record_compile_macro(srv, tmp, &mac, op_buf_str(&esc));
	op_buf_free(&esc);
	if (err == SPF_E_SUCCESS)
		err = SPF_record_expand_data(srv, run->req, tmp,
					     (SPF_data_t *)((char *)mac + sizeof(*mac)),
					     mac->macro_len, bufp, lenp);
	if (mac != NULL)
		SPF_macro_free(mac);
	SPF_response_free(tmp);
	return err;
}

/* libspf2's get_exp hook: the explanation at domain (already expanded).
 * Not a term: not counted (RFC 7208 6.2).  Anything but exactly one TXT
 * record that is a valid macro-string gives no explanation. */
static SPF_errcode_t layer_get_exp(SPF_server_t *srv, const char *domain, char **bufp, size_t *lenp)
{
	struct op_spf_run *run = spf_cur;
	SPF_dns_rr_t *rr;
	SPF_errcode_t err;
	char name[OP_SPF_NAME_MAX];

	if (run == NULL || run->stopped || !op_spf_domain_valid(domain, false) ||
	    op_spf_run_late(run))
		return SPF_E_NOT_SPF;
	snprintf(name, sizeof(name), "%s", domain); /* domain may be *bufp */
	rr = dns_timed(srv->resolver->layer_below, name, ns_t_txt, 1);
	if (rr == NULL)
		return SPF_E_NOT_SPF;
	err = SPF_E_NOT_SPF;
	if (rr->herrno == NETDB_SUCCESS && rr->num_rr == 1)
		err = exp_expand(srv, rr->rr[0]->txt, bufp, lenp);
	rr_free(rr);
	if (err != SPF_E_SUCCESS && *bufp != NULL && *lenp > 0)
		(*bufp)[0] = '\0';
	return err == SPF_E_SUCCESS ? err : SPF_E_NOT_SPF;
}

/* ---- engine ------------------------------------------------------------ */

static int engine_build(struct op_spf_engine *e, struct op_spf_zone *zone, const char **err_r)
{
	if (zone != NULL) {
		e->below = zone->dns;
	} else {
		e->below = SPF_dns_resolv_new(NULL, "resolv", 0);
		e->own_below = true;
	}
	if (e->below == NULL)
		return (*err_r = "cannot create the DNS resolver layer"), -1;
	e->layer.destroy = NULL; /* ours: freed with the engine */
	e->layer.lookup = layer_lookup;
	e->layer.get_spf = layer_get_spf;
	e->layer.get_exp = layer_get_exp;
	e->layer.layer_below = e->below;
	e->layer.name = "outpost-count";
	e->server = SPF_server_new_dns(&e->layer, 0);
	if (e->server == NULL)
		return (*err_r = "cannot create the SPF server"), -1;
	/* Our layer enforces RFC 7208's limits; libspf2's own counters (off by
	 * one, not across includes) must never fire first. */
	SPF_server_set_max_dns_mech(e->server, 1000);
	SPF_server_set_max_dns_mx(e->server, 1000);
	SPF_server_set_max_dns_ptr(e->server, 1000);
	return 0;
}

int op_spf_engine_new(const struct op_spf_limits *lim, struct op_spf_zone *zone,
		      struct op_spf_engine **e_r, const char **err_r)
{
	struct op_spf_engine *e = calloc(1, sizeof(*e));
	struct op_spf_run run;
	int r;

	*e_r = e;
	if (e == NULL)
		return (*err_r = "out of memory"), -1;
	pthread_once(&spf_handlers_once, spf_handlers_install);
	e->lim = *lim;
	memset(&run, 0, sizeof(run));
	run.lim = &e->lim;
	spf_cur = &run;
	if (sigsetjmp(run.jb, 0) != 0) {
		*err_r = "libspf2 failed to initialise";
		r = -1;
	} else {
		r = engine_build(e, zone, err_r);
	}
	spf_cur = NULL;
	if (r < 0)
		op_spf_engine_free(e_r);
	return r;
}

void op_spf_engine_free(struct op_spf_engine **ep)
{
	struct op_spf_engine *e;

	if (ep == NULL || *ep == NULL)
		return;
	e = *ep;
	if (e->server != NULL)
		SPF_server_free(e->server);
	if (e->own_below && e->below != NULL)
		SPF_dns_free(e->below);
	free(e);
	*ep = NULL;
}

const struct op_spf_limits *op_spf_engine_limits(const struct op_spf_engine *e)
{
	return &e->lim;
}

static enum op_spf_result spf_map(SPF_result_t r, const struct op_spf_run *run)
{
	switch (r) {
	case SPF_RESULT_PASS:
		return OP_SPF_PASS;
	case SPF_RESULT_FAIL:
		return OP_SPF_FAIL;
	case SPF_RESULT_SOFTFAIL:
		return OP_SPF_SOFTFAIL;
	case SPF_RESULT_NEUTRAL:
		return OP_SPF_NEUTRAL;
	case SPF_RESULT_NONE:
		return OP_SPF_NONE;
	case SPF_RESULT_TEMPERROR:
		return OP_SPF_TEMPERROR;
	case SPF_RESULT_PERMERROR:
		return OP_SPF_PERMERROR;
	case SPF_RESULT_INVALID:
	default:
		/* libspf2's "(invalid)": a DNS error, or anything else. */
		return run->dns_error ? OP_SPF_TEMPERROR : OP_SPF_PERMERROR;
	}
}

/* Run libspf2 under the run; fills out. */
static void check_run(struct op_spf_engine *e, struct op_spf_run *run, const char *ip,
		      const char *sender, const char *helo, bool use_helo,
		      struct op_spf_outcome *out)
{
	SPF_request_t *req = SPF_request_new(e->server);
	SPF_response_t *resp = NULL;
	char from[600];
	const char *x;
	bool v6;

	/* RFC 7208 5: an IPv4-mapped IPv6 address is the IPv4 address. */
	if (strncasecmp(ip, "::ffff:", 7) == 0 && strchr(ip + 7, '.') != NULL)
		ip += 7;
	v6 = strchr(ip, ':') != NULL;

	run->req = req;
	/* Reasons go to run->problem: op_spf_check() copies it to out. */
	if (req == NULL) {
		out->result = OP_SPF_TEMPERROR;
		snprintf(run->problem, sizeof(run->problem), "out of memory");
		return;
	}
	if (use_helo || sender[0] == '\0')
		snprintf(from, sizeof(from), "postmaster@%s", helo);
	else
		snprintf(from, sizeof(from), "%s", sender);
	if ((v6 ? SPF_request_set_ipv6_str(req, ip) : SPF_request_set_ipv4_str(req, ip)) !=
		SPF_E_SUCCESS ||
	    SPF_request_set_helo_dom(req, helo[0] ? helo : "unknown") != SPF_E_SUCCESS ||
	    SPF_request_set_env_from(req, from) != SPF_E_SUCCESS) {
		char esc[64];

		out->result = OP_SPF_PERMERROR;
		/* run->problem reaches the log, the summary and the headers */
		snprintf(run->problem, sizeof(run->problem), "cannot use client address %s",
			 op_log_esc(esc, sizeof(esc), ip));
	} else {
		SPF_request_query_mailfrom(req, &resp);
		out->result = resp ? spf_map(SPF_response_result(resp), run) : OP_SPF_TEMPERROR;
		/* An error our layer did not name (include of a domain without
		 * a record...): libspf2's reason, so out->problem is never empty. */
		if ((out->result == OP_SPF_TEMPERROR || out->result == OP_SPF_PERMERROR) &&
		    run->problem[0] == '\0')
			snprintf(run->problem, sizeof(run->problem), "%s",
				 resp ? SPF_strerror(SPF_response_errcode(resp)) : "no answer");
		x = resp ? SPF_response_get_explanation(resp) : NULL;
		if (out->result == OP_SPF_FAIL && x != NULL)
			snprintf(out->explanation, sizeof(out->explanation), "%s", x);
	}
	if (resp != NULL)
		SPF_response_free(resp);
	SPF_request_free(req);
	run->req = NULL;
}

/* Only run's fields are read after sigsetjmp() returns the second time. */
void op_spf_check_guarded(struct op_spf_engine *e, struct op_spf_run *run,
			  struct op_spf_outcome *out)
{
	spf_cur = run;
	if (sigsetjmp(run->jb, 0) == 0) {
		check_run(e, run, run->ip, run->sender, run->helo, run->use_helo, out);
	} else {
		/* libspf2 hit an internal error: its request is lost. */
		snprintf(run->problem, sizeof(run->problem), "libspf2 internal error");
		run->stopped = true;
		run->forced = OP_SPF_TEMPERROR;
	}
	spf_cur = NULL;
}

/* ---- test zones ---------------------------------------------------------- */

int op_spf_zone_new(struct op_spf_zone **z_r, const char **err_r)
{
	struct op_spf_zone *z = calloc(1, sizeof(*z));

	*z_r = z;
	if (z == NULL)
		return (*err_r = "out of memory"), -1;
	pthread_once(&spf_handlers_once, spf_handlers_install);
	z->dns = SPF_dns_zone_new(NULL, "zone", 0);
	if (z->dns == NULL) {
		op_spf_zone_free(z_r);
		return (*err_r = "cannot create the zone"), -1;
	}
	return 0;
}

int op_spf_zone_add(struct op_spf_zone *z, const char *name, const char *type, const char *data,
		    const char **err_r)
{
	ns_type t = op_spf_zone_type(type);

	if (t == ns_t_invalid || t == ns_t_any)
		return (*err_r = "unknown record type"), -1;
	if (op_spf_zone_given(z, name, t, true) < 0)
		return (*err_r = "out of memory"), -1;
	if (SPF_dns_zone_add_str(z->dns, name, t, NETDB_SUCCESS, data) != SPF_E_SUCCESS)
		return (*err_r = "record data not accepted"), -1;
	return 0;
}

int op_spf_zone_timeout(struct op_spf_zone *z, const char *name, const char *type,
			const char **err_r)
{
	ns_type t = op_spf_zone_type(type);

	if (t == ns_t_invalid)
		return (*err_r = "unknown record type"), -1;
	if (op_spf_zone_given(z, name, t, false) != 0)
		return (*err_r = "a timeout for a name and type given before"), -1;
	if (op_spf_zone_given(z, name, t, true) < 0)
		return (*err_r = "out of memory"), -1;
	if (SPF_dns_zone_add_str(z->dns, name, t, TRY_AGAIN, NULL) != SPF_E_SUCCESS)
		return (*err_r = "record not accepted"), -1;
	return 0;
}

void op_spf_zone_free(struct op_spf_zone **zp)
{
	if (zp == NULL || *zp == NULL)
		return;
	if ((*zp)->dns != NULL)
		SPF_dns_free((*zp)->dns);
	for (size_t i = 0; i < (*zp)->ngiven; i++)
		free((*zp)->given[i]);
	free((*zp)->given);
	free(*zp);
	*zp = NULL;
}
