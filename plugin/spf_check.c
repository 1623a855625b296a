/*
 * spf_check.c - one SPF check (op_spf_check(), see include/outpost/spf.h)
 * around libspf2 but without it: the identity and its domain (RFC 7208
 * 4.3), the run that mod_spf.c's DNS layer consults on every lookup, and
 * the outcome.  The run enforces RFC 7208 4.6.4: it counts the terms that
 * query DNS and the void lookups, knows which address lookups belong to
 * an mx or ptr term already counted, holds the deadline of spf.timeout,
 * and keeps the result a limit forces with its problem text.  Shared with
 * mod_spf.c through spf_int.h.  Leaf code: no logging.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "outpost/spf.h"

#include "spf_int.h"

void op_spf_run_stop(struct op_spf_run *run, enum op_spf_result r, const char *fmt, ...)
{
	va_list ap;

	if (run->stopped)
		return;
	run->stopped = true;
	run->forced = r;
	va_start(ap, fmt);
	vsnprintf(run->problem, sizeof(run->problem), fmt, ap);
	va_end(ap);
}

bool op_spf_run_late(struct op_spf_run *run)
{
	struct timespec now;

	if (!run->have_deadline)
		return false;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec != run->deadline.tv_sec)
		return now.tv_sec > run->deadline.tv_sec;
	return now.tv_nsec > run->deadline.tv_nsec;
}

bool op_spf_run_term(struct op_spf_run *run)
{
	if (++run->terms <= run->lim->max_dns_terms)
		return true;
	op_spf_run_stop(run, OP_SPF_PERMERROR, "more than %u DNS-querying terms (RFC 7208 4.6.4)",
			run->lim->max_dns_terms);
	return false;
}

bool op_spf_run_void(struct op_spf_run *run, const char *name)
{
	if (++run->voids <= run->lim->max_void)
		return true;
	op_spf_run_stop(run, OP_SPF_PERMERROR,
			"more than %u void lookups (RFC 7208 4.6.4), last %.120s",
			run->lim->max_void, name);
	return false;
}

bool op_spf_run_is_sub(struct op_spf_run *run, const char *domain, ns_type t)
{
	if ((t == ns_t_a || t == ns_t_aaaa) && run->ipending < run->npending &&
	    strcasecmp(domain, run->pending[run->ipending]) == 0) {
		run->ipending++;
		return true;
	}
	run->npending = run->ipending = 0;
	return false;
}

/* The identity's domain, or NULL when it has none usable. */
static const char *identity_domain(const char *sender, const char *helo, bool use_helo)
{
	const char *at;

	if (use_helo || sender[0] == '\0')
		return helo;
	at = strrchr(sender, '@');
	return at ? at + 1 : NULL;
}

void op_spf_check(struct op_spf_engine *e, const char *ip, const char *sender, const char *helo,
		  bool use_helo, struct op_spf_outcome *out)
{
	struct op_spf_run *run = calloc(1, sizeof(*run));
	const char *dom;

	helo = helo ? helo : "";
	dom = identity_domain(sender, helo, use_helo);
	memset(out, 0, sizeof(*out));
	if (run == NULL) {
		out->result = OP_SPF_TEMPERROR;
		snprintf(out->problem, sizeof(out->problem), "out of memory");
		return;
	}
	/* RFC 7208 4.3: a malformed domain, or none, gives "none". */
	if (dom == NULL || !op_spf_domain_valid(dom, true)) {
		out->result = OP_SPF_NONE;
		free(run);
		return;
	}
	run->lim = op_spf_engine_limits(e);
	run->ip = ip;
	run->sender = sender;
	run->helo = helo;
	run->use_helo = use_helo;
	if (run->lim->timeout_ms > 0) {
		clock_gettime(CLOCK_MONOTONIC, &run->deadline);
		run->deadline.tv_sec += run->lim->timeout_ms / 1000;
		run->deadline.tv_nsec += (run->lim->timeout_ms % 1000) * 1000000L;
		if (run->deadline.tv_nsec >= 1000000000L) {
			run->deadline.tv_sec++;
			run->deadline.tv_nsec -= 1000000000L;
		}
		run->have_deadline = true;
	}
	op_spf_check_guarded(e, run, out);
	if (run->stopped)
		out->result = run->forced;
	if (out->result == OP_SPF_TEMPERROR || out->result == OP_SPF_PERMERROR)
		snprintf(out->problem, sizeof(out->problem), "%s", run->problem);
	out->terms = run->terms;
	out->voids = run->voids;
	free(run);
}
