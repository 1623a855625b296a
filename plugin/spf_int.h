/*
 * spf_int.h - private interface between the SPF engine's parts: mod_spf.c
 * (libspf2, its DNS layer, the test zone over libspf2's) and the parts
 * that need no libspf2: spf_check.c (one check: its identity, its RFC
 * 7208 4.6.4 counts and deadline, its outcome) and spf_zone.c (the test
 * zone's type names and the names it was given).  Nothing else includes
 * it; the interface is include/outpost/spf.h.
 */
#ifndef OUTPOST_SPF_INT_H
#define OUTPOST_SPF_INT_H

#include <arpa/nameser.h>
#include <setjmp.h>
#include <stdbool.h>
#include <time.h>

#include "outpost/spf.h"

#define OP_SPF_PENDING_MAX 10
#define OP_SPF_NAME_MAX	   256

/* libspf2's SPF_request_t and SPF_dns_server_t; only mod_spf.c includes
 * libspf2. */
struct SPF_request_struct;
struct SPF_dns_server_struct;

/* One check in progress on this thread. */
struct op_spf_run {
	const struct op_spf_limits *lim;
	struct timespec deadline;
	bool have_deadline;
	unsigned terms, voids, records;
	/* Names whose A/AAAA lookups belong to the mx or ptr term that
	 * listed them (not terms of their own), in the order libspf2 asks. */
	char pending[OP_SPF_PENDING_MAX][OP_SPF_NAME_MAX];
	unsigned npending, ipending;
	/* A limit or error that decides the result whatever libspf2 says. */
	enum op_spf_result forced;
	bool stopped;
	bool dns_error;
	char problem[200];
	struct SPF_request_struct *req;
	const char *ip, *sender, *helo; /* the check's arguments */
	bool use_helo;
	sigjmp_buf jb;
};

/* A test zone (op_spf_zone_new()). */
struct op_spf_zone {
	struct SPF_dns_server_struct *dns;
	char **given; /* "TYPE NAME" of every record and timeout added, lower case */
	size_t ngiven;
};

/* ---- plugin/mod_spf.c ------------------------------------------------ */

/* The limits e was built with; they live as long as e. */
const struct op_spf_limits *op_spf_engine_limits(const struct op_spf_engine *e);

/* Run libspf2 on run's arguments (run->ip, sender, helo, use_helo) under
 * a jump target for libspf2's error handler, with run as this thread's
 * check, and fill out->result and out->explanation; the reason for a
 * temperror or permerror goes to run->problem.  An internal error of
 * libspf2 stops run with temperror. */
void op_spf_check_guarded(struct op_spf_engine *e, struct op_spf_run *run,
			  struct op_spf_outcome *out);

/* ---- plugin/spf_check.c ---------------------------------------------- */

/* Stop the check: the result is r whatever libspf2 concludes.  The first
 * stop wins; its text (fmt) becomes run->problem. */
void op_spf_run_stop(struct op_spf_run *run, enum op_spf_result r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* True when run has a deadline (spf.timeout) and it has passed. */
bool op_spf_run_late(struct op_spf_run *run);

/* One more DNS-querying term; false when that is one too many. */
bool op_spf_run_term(struct op_spf_run *run);

/* One more void lookup (of name); false when that is one too many. */
bool op_spf_run_void(struct op_spf_run *run, const char *name);

/* Whether this A/AAAA lookup is the next address lookup of an mx or ptr
 * term.  XXX: a later "a:NAME" term naming the very next pending name of
 * an mx that stopped early (a match inside an include that then did not
 * match) is taken for part of the mx: it goes uncounted. */
bool op_spf_run_is_sub(struct op_spf_run *run, const char *domain, ns_type t);

/* ---- plugin/spf_zone.c ----------------------------------------------- */

/* The type named t ("A", "AAAA", "MX", "PTR", "TXT", "ANY", any case), or
 * ns_t_invalid. */
ns_type op_spf_zone_type(const char *t);

/* Whether NAME of type t was given before (a record or a timeout); with
 * add, remember it.  libspf2's zone takes a timeout only for a name and
 * type it does not hold yet: otherwise it reads the NULL data of the
 * timeout (a crash) or calls its error handler (ANY).  1 given before, 0
 * not, -1: no memory.  op_spf_zone_free() frees what it remembers. */
int op_spf_zone_given(struct op_spf_zone *z, const char *name, ns_type t, bool add);

#endif
