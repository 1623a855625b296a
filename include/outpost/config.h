/*
 * config.h - the configuration snapshot.
 *
 * The config file (libconfig syntax, outpost.conf(5)) is described by one
 * declarative table (plugin/conftab.c): name, type, default, min, max,
 * reloadable, help.  Loading is three steps: parse the file, validate every
 * key (types, bounds, unknown keys, cross-key rules), then build an immutable
 * snapshot, calling each enabled module's init().  A snapshot is reference
 * counted: the daemon holds one as "current", every connection and message
 * holds the one it started with, and a reload swaps "current" atomically.
 * A snapshot is never modified after op_config_load() returns it.
 */
#ifndef OUTPOST_CONFIG_H
#define OUTPOST_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "outpost/cidr.h"
#include "outpost/verdict.h"

#define OP_MOD_MAX 8 /* modules in the pipeline table, at most */

struct op_map;

struct op_strlist {
	char **v;
	size_t n;
};

/* A hosting customer.  Modules keep their per-tenant settings in their own
 * snapshot state, keyed by the tenant's index. */
struct op_tenant {
	char *name;
	size_t index;		   /* position in op_config.tenants */
	struct op_strlist domains; /* lower case */
	struct op_strlist logins;  /* SASL logins, as given */
	unsigned line;		   /* where it was defined, for messages */
};

/* Where the signing domain comes from (dkim.sign_from). */
enum op_dkim_from {
	OP_DKIM_FROM_HEADER = 0, /* the From: header's domain */
	OP_DKIM_FROM_ENVELOPE,	 /* MAIL FROM's domain */
	OP_DKIM_FROM_TENANT,	 /* the first domain of the message's tenant */
	OP_DKIM_FROM_FIXED,	 /* dkim.fixed_domain */
};

struct op_config {
	/* identity */
	char *path;	     /* file it was loaded from */
	unsigned generation; /* 1 for the first load, +1 per accepted reload */

	/* milter */
	char *milter_socket;
	char *milter_socket_owner;
	char *milter_socket_group;
	long long milter_socket_mode;
	char *milter_user;
	char *milter_group;
	char *milter_pidfile;
	long long milter_backlog;
	long long milter_timeout_ms;
	long long milter_shutdown_timeout_ms;
	long long milter_sched_slice_us;
	long long milter_workers;
	bool milter_mail_verdicts_at_rcpt;

	/* log */
	int log_level;

	/* limits (untrusted input) */
	long long max_headers;
	long long max_header_bytes;
	long long max_header_length;
	long long max_recipients;
	long long max_messages_per_connection;
	long long max_macro_length;

	/* actions per error class, indexed by enum op_errclass */
	int on_error[OP_ERR__COUNT];

	/* classification */
	struct op_cidr_list internal_hosts;
	struct op_strlist internal_daemon_names;
	bool authenticated_is_internal;

	/* tenants */
	struct op_tenant *tenants;
	size_t ntenants;
	struct op_map *tenant_by_login;	 /* login -> struct op_tenant * */
	struct op_map *tenant_by_domain; /* domain -> struct op_tenant * */

	/* dkim (signing) */
	bool dkim_enabled;
	char *dkim_keytable;
	char *dkim_signingtable;
	int dkim_sign_from; /* enum op_dkim_from */
	char *dkim_fixed_domain;
	bool dkim_subdomains;
	bool dkim_sign_external;
	int dkim_canon; /* index: relaxed/relaxed, relaxed/simple, simple/relaxed, simple/simple */
	struct op_strlist dkim_headers;
	struct op_strlist dkim_oversign;
	long long dkim_minimum_key_bits;
	long long dkim_signature_ttl_ms;
	int dkim_on_multiple_from; /* 0 skip, 1 reject */
	int dkim_on_long_lines;	   /* 0 skip, 1 reject, 2 wrap */
	long long dkim_wrap_length;
	bool dkim_check_dns;
	bool dkim_multiple_signatures;

	/* spf (external: check the sender; internal: check our egress addresses) */
	bool spf_enabled;
	bool spf_check_helo;
	int spf_on[7]; /* by enum op_spf_result: 0 mark, 1 reject, 2 tempfail, 3 hold */
	struct op_cidr_list spf_skip_clients;
	struct op_strlist spf_skip_sender_domains;
	bool spf_skip_authenticated;
	long long spf_max_dns_terms;
	long long spf_max_void_lookups;
	long long spf_max_names;
	long long spf_timeout_ms;
	struct op_cidr_list spf_egress_ips;
	int spf_on_unauthorized_egress; /* 0 log, 1 hold, 2 reject */
	char *spf_egress_include;
	char *spf_test_zone;

	/* auth (Authentication-Results; DKIM verification of external mail) */
	bool auth_enabled;
	char *auth_authserv_id;
	bool auth_received_spf;
	bool auth_dkim_verify;
	int auth_on_dkim_temperror; /* 0 mark, 1 tempfail, 2 reject */
	long long auth_dkim_max_signatures;
	long long auth_dkim_timeout_ms;
	char *auth_test_dkim_keys;

	/* track (tracking ID, Feedback-ID, customer tags, one-click unsubscribe) */
	bool track_enabled;
	char *track_header;
	bool track_external;
	char *track_campaign_header;
	char *track_tag_header;
	long long track_max_tags;
	long long track_max_tag_length;
	char *track_feedback_id;
	char *track_sender_id;
	char *track_unsubscribe_url;
	char *track_unsubscribe_mailto;
	struct op_strlist track_unsubscribe_secrets;
	long long track_unsubscribe_ttl_ms;
	bool track_replace_list_unsubscribe;

	/* event (one JSON line per message) */
	char *event_file;
	bool event_syslog;
	long long event_max_queue;

	/* metrics (Prometheus endpoint) and control (outpostctl's socket) */
	char *metrics_listen;
	char *control_socket;
	char *control_group;

	/* rate (GCRA limits per login, sender, domain, client, recipient domain) */
	bool rate_enabled;
	int rate_store; /* enum op_store_kind: 0 lmdb, 1 redis */
	char *rate_lmdb_path;
	long long rate_lmdb_map_size;
	char *rate_redis_address;
	char *rate_redis_prefix;
	long long rate_redis_connect_timeout_ms;
	long long rate_redis_timeout_ms;
	bool rate_refund_on_abort;
	long long rate_max_rules;

	/* modules: enabled flag and snapshot state, by pipeline index */
	bool mod_enabled[OP_MOD_MAX];
	void *mod_state[OP_MOD_MAX];

	/* private */
	int refs;
};

/* Load path into a new snapshot with reference count 1.  generation is
 * stored as given.  On failure returns NULL and writes "FILE:LINE: what is
 * wrong" (or "FILE: what") into err (size errsize). */
struct op_config *op_config_load(const char *path, unsigned generation, char *err, size_t errsize);

/* Take a reference.  Thread safe. */
struct op_config *op_config_ref(struct op_config *c);

/* Drop a reference; the last one frees the snapshot and its modules' state.
 * Accepts NULL; sets *c = NULL.  Thread safe. */
void op_config_unref(struct op_config **c);

/* The daemon's current snapshot, referenced for the caller (unref it). */
struct op_config *op_config_current(void);

/* Publish c as current (taking a reference of its own) and drop the old
 * one.  Thread safe; messages in flight keep theirs. */
void op_config_set_current(struct op_config *c);

/* Tenant for a SASL login, then for a domain; NULL when none. */
const struct op_tenant *op_tenant_by_login(const struct op_config *c, const char *login);
const struct op_tenant *op_tenant_by_domain(const struct op_config *c, const char *domain);

/* Print every key with its value in c (or its default when c is NULL), one
 * "name = value" per line, like postconf.  With help, a comment line
 * describing the key precedes it. */
void op_config_print(const struct op_config *c, bool with_help, FILE *out);

/* Write "FILE:LINE: " and the formatted text into err (size errsize) for
 * the libconfig setting s (a const config_setting_t *, given as void * so
 * this header does not need libconfig); FILE is the file the setting came
 * from ("?" when unknown).  Returns -1, so a parser can
 * `return op_conf_err(...)`.  For config load only. */
int op_conf_err(char *err, size_t errsize, const void *s, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Call fn with the name of every key that a reload cannot change (it needs
 * a restart) whose value differs between old and nc. */
void op_config_static_changes(const struct op_config *old, const struct op_config *nc,
			      void (*fn)(const char *key));

#endif
