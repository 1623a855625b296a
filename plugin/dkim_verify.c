/*
 * dkim_verify.c - DKIM verification through libopendkim (see
 * include/outpost/dkim_verify.h); the only file of plugin/ that includes
 * libopendkim.  The library's status per signature is turned into RFC
 * 8601 results in one place, dkimv_map().
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/nameser.h>
#include <netinet/in.h>
#include <resolv.h>

#include <opendkim/dkim.h>

#include "outpost/blocking.h"
#include "outpost/buf.h"
#include "outpost/dkim_verify.h"

#define DKIMV_HEADER_MAX (1024 * 1024)

struct op_dkimv_lib {
	DKIM_LIB *lib;
};

struct op_dkimv {
	DKIM *dkim;
	bool failed; /* a library call failed: report permerror */
	char why[80];
	int nsigs;
};

static const char *const names[OP_DKIMV__COUNT] = {
    [OP_DKIMV_PASS] = "pass",		[OP_DKIMV_FAIL] = "fail",
    [OP_DKIMV_NEUTRAL] = "neutral",	[OP_DKIMV_POLICY] = "policy",
    [OP_DKIMV_TEMPERROR] = "temperror", [OP_DKIMV_PERMERROR] = "permerror",
};

const char *op_dkimv_result_name(enum op_dkimv_result r)
{
	return (r >= 0 && r < OP_DKIMV__COUNT) ? names[r] : "permerror";
}

/* ---- key lookups ----------------------------------------------------------
 * libopendkim's own resolver in Debian 12 (2.11.0~beta2) runs res_nquery()
 * on one res_state that every thread shares, without a lock: with several
 * verifications at once an answer goes to the wrong thread, and a lookup
 * fails at once or waits for the resolver's retry (5 s), i.e. a spurious
 * dkim=temperror (seen by t-fault-dns-stopped-mid-stream: about 2 in 100
 * messages, 4 SMTP sessions).  These hooks give each query a resolver
 * state of its own; like the library's, they are synchronous, the answer
 * is there when dkimv_query_start() returns, and the library parses it
 * (so NXDOMAIN is "no key", not a lookup failure). */

struct dkimv_answer {
	size_t len;
};

static int dkimv_query_start(void *srv, int type, unsigned char *query, unsigned char *buf,
			     size_t buflen, void **qh)
{
	struct __res_state rs;
	unsigned char q[NS_PACKETSZ];
	struct dkimv_answer *a;
	int n, len = -1;

	(void)srv;
	memset(&rs, 0, sizeof(rs));
	if (res_ninit(&rs) != 0)
		return DKIM_DNS_ERROR;
	n = res_nmkquery(&rs, ns_o_query, (const char *)query, ns_c_in, type, NULL, 0, NULL, q,
			 sizeof(q));
	if (n > 0) {
		op_blocking_begin();
		len = res_nsend(&rs, q, n, buf, buflen > 65535 ? 65535 : (int)buflen);
		op_blocking_end();
	}
	res_nclose(&rs);
	if (len < 0 || (a = malloc(sizeof(*a))) == NULL)
		return DKIM_DNS_ERROR;
	a->len = (size_t)len;
	*qh = a;
	return DKIM_DNS_SUCCESS;
}

static int dkimv_query_wait(void *srv, void *qh, struct timeval *to, size_t *bytes, int *error,
			    int *dnssec)
{
	(void)srv, (void)to;
	if (bytes != NULL)
		*bytes = ((struct dkimv_answer *)qh)->len;
	if (error != NULL)
		*error = 0;
	if (dnssec != NULL)
		*dnssec = DKIM_DNSSEC_UNKNOWN;
	return DKIM_DNS_SUCCESS;
}

/* The library calls this to free the handle once it has the answer. */
static int dkimv_query_cancel(void *srv, void *qh)
{
	(void)srv;
	free(qh);
	return 0;
}

static int dkimv_dns_init(void **srv)
{
	(void)srv;
	return 0;
}

static void dkimv_dns_close(void *srv)
{
	(void)srv;
}

static void dkimv_use_own_resolver(struct op_dkimv_lib *l)
{
	dkim_dns_set_init(l->lib, dkimv_dns_init);
	dkim_dns_set_close(l->lib, dkimv_dns_close);
	dkim_dns_set_query_service(l->lib, l); /* not NULL: the library's init is not run */
	dkim_dns_set_query_start(l->lib, dkimv_query_start);
	dkim_dns_set_query_waitreply(l->lib, dkimv_query_wait);
	dkim_dns_set_query_cancel(l->lib, dkimv_query_cancel);
}

int op_dkimv_lib_new(long timeout_s, const char *keyfile, struct op_dkimv_lib **lib_r,
		     const char **err_r)
{
	struct op_dkimv_lib *l = calloc(1, sizeof(*l));
	unsigned int flags = DKIM_LIBFLAGS_FIXCRLF;
	unsigned int t = (unsigned int)timeout_s;

	*lib_r = l;
	if (l == NULL || (l->lib = dkim_init(NULL, NULL)) == NULL) {
		op_dkimv_lib_free(lib_r);
		return (*err_r = "cannot initialise libopendkim"), -1;
	}
	if (dkim_options(l->lib, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags, sizeof(flags)) !=
		DKIM_STAT_OK ||
	    dkim_options(l->lib, DKIM_OP_SETOPT, DKIM_OPTS_TIMEOUT, &t, sizeof(t)) !=
		DKIM_STAT_OK) {
		op_dkimv_lib_free(lib_r);
		return (*err_r = "libopendkim refused its options"), -1;
	}
	if (keyfile != NULL) {
		dkim_query_t q = DKIM_QUERY_FILE;

		if (dkim_options(l->lib, DKIM_OP_SETOPT, DKIM_OPTS_QUERYMETHOD, &q, sizeof(q)) !=
			DKIM_STAT_OK ||
		    dkim_options(l->lib, DKIM_OP_SETOPT, DKIM_OPTS_QUERYINFO, (void *)keyfile,
				 strlen(keyfile)) != DKIM_STAT_OK) {
			op_dkimv_lib_free(lib_r);
			return (*err_r = "libopendkim refused the key file"), -1;
		}
	} else {
		dkimv_use_own_resolver(l);
	}
	return 0;
}

void op_dkimv_lib_free(struct op_dkimv_lib **lp)
{
	if (lp == NULL || *lp == NULL)
		return;
	if ((*lp)->lib != NULL)
		dkim_close((*lp)->lib);
	free(*lp);
	*lp = NULL;
}

int op_dkimv_new(struct op_dkimv_lib *lib, const char *id, struct op_dkimv **v_r,
		 const char **err_r)
{
	struct op_dkimv *v = calloc(1, sizeof(*v));
	DKIM_STAT st = DKIM_STAT_OK;

	*v_r = v;
	if (v == NULL)
		return (*err_r = "out of memory"), -1;
	v->dkim = dkim_verify(lib->lib, (const unsigned char *)id, NULL, &st);
	if (v->dkim == NULL) {
		op_dkimv_free(v_r);
		*err_r = dkim_getresultstr(st);
		return -1;
	}
	return 0;
}

static int dkimv_fail(struct op_dkimv *v, const char *what, DKIM_STAT st, const char **err_r)
{
	v->failed = true;
	snprintf(v->why, sizeof(v->why), "%s: %s", what, dkim_getresultstr(st));
	*err_r = v->why;
	return -1;
}

int op_dkimv_header(struct op_dkimv *v, const char *name, const char *value, size_t vlen,
		    const char **err_r)
{
	struct op_buf b;
	DKIM_STAT st;

	if (v->failed)
		return (*err_r = v->why), -1;
	op_buf_init(&b, DKIMV_HEADER_MAX);
	if (op_buf_puts(&b, name) < 0 || op_buf_putc(&b, ':') < 0 ||
	    op_buf_append(&b, value, vlen) < 0) {
		op_buf_free(&b);
		v->failed = true;
		snprintf(v->why, sizeof(v->why), "header too large");
		return (*err_r = v->why), -1;
	}
	st = dkim_header(v->dkim, (u_char *)b.data, b.len);
	op_buf_free(&b);
	if (st != DKIM_STAT_OK)
		return dkimv_fail(v, "header", st, err_r);
	return 0;
}

int op_dkimv_eoh(struct op_dkimv *v, const char **err_r)
{
	DKIM_STAT st;
	DKIM_SIGINFO **sigs;

	if (v->failed)
		return (*err_r = v->why), -1;
	st = dkim_eoh(v->dkim);
	if (st == DKIM_STAT_NOSIG)
		return 0;
	if (st != DKIM_STAT_OK && st != DKIM_STAT_SYNTAX)
		return dkimv_fail(v, "end of headers", st, err_r);
	if (dkim_getsiglist(v->dkim, &sigs, &v->nsigs) != DKIM_STAT_OK)
		v->nsigs = 0;
	return v->nsigs;
}

int op_dkimv_body(struct op_dkimv *v, const unsigned char *p, size_t n, const char **err_r)
{
	DKIM_STAT st;

	if (v->failed)
		return (*err_r = v->why), -1;
	st = dkim_body(v->dkim, (u_char *)p, n);
	if (st != DKIM_STAT_OK && st != DKIM_STAT_NOSIG)
		return dkimv_fail(v, "body", st, err_r);
	return 0;
}

/* The RFC 8601 result of one signature, with the reason when not pass. */
static enum op_dkimv_result dkimv_map(DKIM_SIGINFO *sig, char *why, size_t whysize)
{
	unsigned int flags = dkim_sig_getflags(sig);
	int err = dkim_sig_geterror(sig);
	const char *s = dkim_sig_geterrorstr(err);

	snprintf(why, whysize, "%s", s ? s : "unknown error");
	if (flags & DKIM_SIGFLAG_IGNORE)
		return snprintf(why, whysize, "signature ignored"), OP_DKIMV_NEUTRAL;
	if ((flags & DKIM_SIGFLAG_PASSED) && dkim_sig_getbh(sig) == DKIM_SIGBH_MATCH)
		return (why[0] = '\0'), OP_DKIMV_PASS;
	switch (err) {
	case DKIM_SIGERROR_KEYFAIL:
		return OP_DKIMV_TEMPERROR;
	case DKIM_SIGERROR_BADSIG:
		return OP_DKIMV_FAIL;
	case DKIM_SIGERROR_OK:
		if (dkim_sig_getbh(sig) == DKIM_SIGBH_MISMATCH)
			return snprintf(why, whysize, "body hash mismatch"), OP_DKIMV_FAIL;
		if (!(flags & DKIM_SIGFLAG_PROCESSED))
			return snprintf(why, whysize, "signature not processed"), OP_DKIMV_NEUTRAL;
		return snprintf(why, whysize, "signature did not verify"), OP_DKIMV_FAIL;
	default:
		return OP_DKIMV_PERMERROR;
	}
}

int op_dkimv_eom(struct op_dkimv *v, struct op_dkimv_sig *out, size_t max, size_t *n_r,
		 const char **err_r)
{
	DKIM_SIGINFO **sigs = NULL;
	int nsigs = 0;
	DKIM_STAT st;

	*n_r = 0;
	if (v->failed)
		return (*err_r = v->why), -1;
	if (v->nsigs == 0)
		return 0;
	st = dkim_eom(v->dkim, NULL);
	(void)st; /* the per-signature results say it all */
	if (dkim_getsiglist(v->dkim, &sigs, &nsigs) != DKIM_STAT_OK)
		return dkimv_fail(v, "signature list", DKIM_STAT_INTERNAL, err_r);
	for (int i = 0; i < nsigs && *n_r < max; i++) {
		struct op_dkimv_sig *o = &out[(*n_r)++];
		const unsigned char *d = dkim_sig_getdomain(sigs[i]);
		const unsigned char *s = dkim_sig_getselector(sigs[i]);
		unsigned char b[64];
		size_t blen = sizeof(b);

		memset(o, 0, sizeof(*o));
		o->result = dkimv_map(sigs[i], o->reason, sizeof(o->reason));
		snprintf(o->domain, sizeof(o->domain), "%s", d ? (const char *)d : "");
		snprintf(o->selector, sizeof(o->selector), "%s", s ? (const char *)s : "");
		if (dkim_get_sigsubstring(v->dkim, sigs[i], (char *)b, &blen) == DKIM_STAT_OK) {
			/* RFC 6008: at least 8 characters. */
			snprintf(o->b, sizeof(o->b), "%.*s", (int)(blen < 12 ? blen : 12),
				 (const char *)b);
		}
	}
	return 0;
}

void op_dkimv_free(struct op_dkimv **vp)
{
	if (vp == NULL || *vp == NULL)
		return;
	if ((*vp)->dkim != NULL)
		dkim_free((*vp)->dkim);
	free(*vp);
	*vp = NULL;
}
