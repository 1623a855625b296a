/*
 * message.h - the connection and the message, with their lifetimes.
 *
 * struct op_conn lives from connect to close; struct op_msg from MAIL FROM
 * to end of message or abort.  Each owns a pool; everything copied from
 * libmilter (macros, addresses, headers) is copied into the owner's pool
 * before the callback returns, and freed with one call at the owner's end.
 *
 * Header edits are data: modules append struct op_edit to the message and
 * milter.c applies them, in order, at end of message.  op_msg_final_headers()
 * gives the header list as the MTA will deliver it, so the DKIM module signs
 * exactly what leaves.
 */
#ifndef OUTPOST_MESSAGE_H
#define OUTPOST_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "outpost/config.h"
#include "outpost/verdict.h"

struct op_pool;

/* Why a client counts as internal (or not). */
enum op_class {
	OP_CLASS_EXTERNAL = 0,
	OP_CLASS_AUTH,	 /* SASL-authenticated ({auth_authen}) */
	OP_CLASS_HOST,	 /* client address in classify.internal_hosts */
	OP_CLASS_DAEMON, /* {daemon_name} in classify.internal_daemon_names */
};

struct op_header {
	const char *name;  /* as received, NUL terminated */
	const char *value; /* as received: leading space kept, folding CRLFs kept */
	size_t value_len;
};

enum op_edit_kind {
	OP_EDIT_ADD,	/* append at the end (smfi_addheader) */
	OP_EDIT_INSERT, /* insert at index among the final headers (0 = top) */
	OP_EDIT_CHANGE, /* replace the nth (1-based) header called name */
	OP_EDIT_DELETE, /* remove the nth (1-based) header called name */
};

struct op_edit {
	enum op_edit_kind kind;
	const char *name;
	const char *value;  /* NULL for DELETE; no leading space, folded with CRLF TAB */
	unsigned index;	    /* INSERT: position; CHANGE/DELETE: occurrence */
	const char *module; /* who asked, for the log */
};

struct op_conn {
	struct op_pool *pool;
	struct op_config *cfg; /* snapshot taken at connect (negotiation) */
	unsigned long id;      /* process-wide connection number */
	char *client_addr;     /* "" when unknown (local submission) */
	char *client_name;
	char *daemon_name;
	char *helo;
	char *mta_name;		   /* macro j */
	enum op_class host_class;  /* from address or daemon name, at connect */
	unsigned nmsgs;		   /* MAIL FROM commands seen */
	unsigned long steps;	   /* protocol steps negotiated (SMFIP_* of milter.c) */
	struct op_msg *msg;	   /* the open transaction, or NULL */
	struct op_verdict pending; /* decided at connect, a no-reply stage: given at MAIL */
	void *mod_conn[OP_MOD_MAX];
};

#define OP_SUMMARY_MAX	   240
#define OP_TRACKING_ID_MAX 40 /* a UUID (36) and its NUL, with room */

/* SPF results of a message: the spf module writes them at MAIL FROM, the
 * auth module turns them into Authentication-Results (and Received-SPF)
 * at end of message.  Results are enum op_spf_result (outpost/spf.h). */
struct op_auth_results {
	bool spf_checked;	/* the MAIL FROM identity was checked */
	bool spf_helo_identity; /* ... through HELO (null sender) */
	int spf_result;
	bool helo_checked; /* the HELO identity was checked (too) */
	int helo_result;
	char spf_problem[200];	   /* temperror/permerror: why */
	char spf_explanation[200]; /* the domain's exp= text, for a reply at RCPT */
	char spf_domain[256];	   /* the identity checked (sender domain or HELO) */
};

struct op_msg {
	struct op_pool *pool;
	struct op_config *cfg; /* newest snapshot at MAIL FROM, referenced */
	struct op_conn *conn;
	struct timespec start;

	char queue_id[64]; /* macro i, "NOQUEUE" until known */
	char *mail_from;   /* envelope sender without <>; "" for null */
	char *mail_domain; /* lower case; "" when none */
	char **mail_args;  /* ESMTP args of MAIL FROM, NULL terminated */
	char *auth_authen; /* SASL login or NULL */
	char *auth_type;
	enum op_class class;		/* final classification of this message */
	const struct op_tenant *tenant; /* by login, then sender domain; or NULL */

	char **rcpts; /* accepted recipients, pool strings */
	size_t nrcpts, rcpt_cap;
	size_t rcpts_refused; /* recipients refused at RCPT */

	struct op_header *hdrs; /* received headers, in order */
	size_t nhdrs, hdr_cap;
	size_t hdr_bytes;   /* total of names and values */
	bool hdr_limit_hit; /* a header bound was exceeded: stop storing */
	bool eoh_done;	    /* the EOH stage ran: a second end of headers is ignored */
	bool mail_decided;  /* final verdict reached at MAIL FROM, given at RCPT TO
			     * (milter.mail_verdicts_at_rcpt): in final and pending */

	struct op_edit *edits; /* in the order they were asked for */
	size_t nedits, edit_cap;

	uint64_t body_bytes;

	bool hold; /* a module asked for the hold queue */
	char hold_reason[200];
	struct op_verdict pending; /* a verdict decided at a no-reply stage */
	struct op_verdict final;

	struct op_auth_results auth;		  /* spf results for the auth module */
	bool mod_skip[OP_MOD_MAX];		  /* module not run for this message */
	void *mod_msg[OP_MOD_MAX];		  /* module's per-message state */
	char summary[OP_MOD_MAX][OP_SUMMARY_MAX]; /* "dkim=sign d=... s=..." */

	/* track module and event log (outpost/event.h) */
	char tracking_id[OP_TRACKING_ID_MAX]; /* "" until the track module sets it */
	char **tags;			      /* customer tags, pool strings */
	size_t ntags;
	char *event[OP_MOD_MAX]; /* module's event members "k":v,... (pool) or NULL */
};

/* true for internal classes. */
static inline bool op_msg_internal(const struct op_msg *m)
{
	return m->class != OP_CLASS_EXTERNAL;
}

/* "external", "auth", "host", "daemon". */
const char *op_class_name(enum op_class c);

/* Queue an edit.  name and value are copied into the message pool.  A name
 * that is not an RFC 5322 field name, or a value with a bare CR or LF, is
 * refused.  Returns 0, or -1 with *err_r set. */
int op_msg_edit(struct op_msg *m, enum op_edit_kind kind, const char *name, const char *value,
		unsigned index, const char *module, const char **err_r);

/* The nth (1-based) received header called name (ASCII case-insensitive),
 * or NULL. */
const struct op_header *op_msg_header(const struct op_msg *m, const char *name, unsigned nth);

/* How many received headers are called name. */
unsigned op_msg_header_count(const struct op_msg *m, const char *name);

/* Headers as the MTA will deliver them once every queued edit is applied,
 * top to bottom.  *out_r is a pool array of *n_r entries (values of added
 * headers carry a leading space, as received ones do).  Returns 0 or -1. */
int op_msg_final_headers(struct op_msg *m, struct op_header **out_r, size_t *n_r);

/* Write into the module's summary slot (printf style, truncated to fit). */
void op_msg_summary(struct op_msg *m, size_t modidx, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* True when s (n bytes) is an RFC 5322 field name: printable ASCII 33..126
 * except ':'.  */
bool op_field_name_valid(const char *s, size_t n);

#endif
