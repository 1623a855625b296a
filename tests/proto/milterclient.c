/*
 * milterclient - drive a milter the way Postfix's SMTP server would, print
 * what the filter decided, one line per event, and the delivered message.
 *
 * Owns the SMTP-side story around the protocol library (mproto.h): which
 * events follow which decision, when each macro has a value, and what is
 * delivered. One connection runs --count transactions, each followed by
 * SMFIC_ABORT (Postfix's mail_reset()), then SMFIC_QUIT.
 *
 * Output, one line each, stable for grep:
 *   negotiate version=6 actions=0x... protocol=0x... aflags=.. pflags=.. macros.CLASS="..."
 *   reply stage=STAGE [rcpt="..."|name=...|bytes=N] action=ACTION [code=N text="..."]
 *   mod TYPE [index=N] [name=...] [value="..."] ...
 *   final action=ACTION stage=STAGE [code=N text="..."]
 *   --- message --- ... --- end ---            (with --print-message)
 * Exactly one "final" line per transaction. Exit status: 0 when every
 * transaction completed (whatever the filter decided), 1 on a usage error,
 * 2 on a connection or protocol error (text on stderr).
 *
 * Limits: the message on stdin is at most MAX_INPUT bytes.
 */
#include "mproto.h"

#include <libmilter/mfdef.h> /* constants only */

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define MAX_INPUT  (64u * 1024u * 1024u)
#define MAX_RCPTS  1000
#define MAX_MACROS 64

/* A macro value; name in braces. */
struct kv {
	char *name;
	char *value; /* NULL: explicitly without value */
};

struct opts {
	const char *socket, *client_addr, *client_name, *helo, *from, *received;
	const char *myhostname, *daemon_name, *daemon_addr, *queue_id;
	const char *auth_type, *auth_authen, *auth_author;
	const char *rcpts[MAX_RCPTS];
	size_t nrcpts;
	const char *class_names[MPROTO_CLASS_COUNT];
	struct kv user[MAX_MACROS]; /* --macro: wins at every stage */
	size_t nuser;
	unsigned long count, chunk, timeout, client_port;
	unsigned long offer_actions, offer_protocol;
	bool print_message, trace, lf, crlf, quickack;
	const char *eol; /* NULL: as in the input */
};

/* What became of one transaction. */
struct outcome {
	enum mproto_action action;
	int code;
	char *text;
	const char *stage;
};

struct session {
	const struct opts *o;
	struct mproto *mp;
	struct kv vals[MAX_MACROS]; /* what the MTA knows at this point */
	size_t nvals;
	size_t printed; /* modifications already printed */
	unsigned long msgno;
	struct outcome conn; /* a decision for the whole connection, if stage */
};

static void usage(void)
{
	fputs("usage: milterclient -s SOCKET [options] < message\n"
	      "  -s, --socket SPEC      unix:/path, local:/path, inet:PORT@HOST, inet6:PORT@HOST\n"
	      "  --client-addr ADDR, --client-port N   default 127.0.0.1, 0 (/path: family L)\n"
	      "  --client-name NAME     client hostname (default localhost; unknown: [addr])\n"
	      "  --helo NAME            HELO name (default: client name)\n"
	      "  --from 'ADDR [ARGS]'   sender and ESMTP arguments (default: null sender)\n"
	      "  --rcpt 'ADDR [ARGS]'   recipient, repeatable (default postmaster@localhost)\n"
	      "  --macro NAME=VALUE     a macro value at every stage; NAME alone: none\n"
	      "  --macro-names CLASS=LIST  MTA macro list (connect helo mail rcpt data eoh eom)\n"
	      "  --myhostname, --daemon-name, --daemon-addr, --queue-id, --auth-type, "
	      "--auth-authen,\n"
	      "  --auth-author VALUE    j {daemon_name} {daemon_addr} i {auth_type} {auth_authen} "
	      "..\n"
	      "  --received TEXT        a Received: header on top that the filter does not see\n"
	      "  --count N              transactions on one connection (default 1)\n"
	      "  --chunk BYTES          body chunk size, 1..65535 (default 65535)\n"
	      "  --timeout SECONDS      per packet (default 30)\n"
	      "  --offer-actions HEX, --offer-protocol HEX   instead of all (0x1ff, 0x1fffff)\n"
	      "  --print-message [--lf|--crlf]   the delivered message (line ends: as input)\n"
	      "  --trace                log every packet on stderr\n"
	      "  --quickack             TCP_QUICKACK (Postfix has none: ~40 ms stalls over TCP)\n",
	      stderr);
}

static int parse_ulong(const char *s, int base, unsigned long min, unsigned long max,
		       unsigned long *v)
{
	char *end;

	errno = 0;
	*v = strtoul(s, &end, base);
	if (*s == 0 || *s == '-' || *end != 0 || errno == ERANGE || *v < min || *v > max) {
		fprintf(stderr, "milterclient: bad number \"%s\" (%lu..%lu)\n", s, min, max);
		return -1;
	}
	return 0;
}

/* braced - "{name}" for "name" or "{name}"; NULL when out of memory. */
static char *braced(const char *name, size_t n)
{
	char *p = malloc(n + 3);

	if (p != NULL)
		(void)snprintf(p, n + 3, name[0] == '{' ? "%.*s" : "{%.*s}", (int)n, name);
	return p;
}

static int add_user_macro(struct opts *o, const char *spec)
{
	const char *eq = strchr(spec, '=');
	struct kv *kv = &o->user[o->nuser];

	if (o->nuser >= MAX_MACROS || spec[0] == 0 || spec[0] == '=') {
		fprintf(stderr, "milterclient: bad or too many --macro \"%s\"\n", spec);
		return -1;
	}
	kv->name = braced(spec, eq ? (size_t)(eq - spec) : strlen(spec));
	kv->value = eq ? strdup(eq + 1) : NULL;
	if (kv->name == NULL || (eq && kv->value == NULL))
		return -1;
	o->nuser++;
	return 0;
}

static int set_class_names(struct opts *o, const char *spec)
{
	const char *eq = strchr(spec, '='), *cn;
	int c;

	for (c = 0; eq && c < MPROTO_CLASS_COUNT; c++) {
		cn = mproto_class_name((enum mproto_class)c);
		if (strlen(cn) == (size_t)(eq - spec) && strncmp(spec, cn, strlen(cn)) == 0) {
			o->class_names[c] = eq + 1;
			return 0;
		}
	}
	fprintf(stderr, "milterclient: bad --macro-names \"%s\"\n", spec);
	return -1;
}

static int add_rcpt(struct opts *o, const char *arg)
{
	if (o->nrcpts >= MAX_RCPTS)
		return -1;
	o->rcpts[o->nrcpts++] = arg;
	return 0;
}

/* Long options: where and how each one is stored. */
enum opt_kind { O_STR, O_DEC, O_HEX, O_FLAG, O_FN };

#define OFF(f) offsetof(struct opts, f)
static const struct optdef {
	const char *name;
	enum opt_kind kind;
	size_t off;
	unsigned long min, max;
	int (*fn)(struct opts *, const char *);
} optdefs[] = {
    {"socket", O_STR, OFF(socket), 0, 0, NULL},
    {"client-addr", O_STR, OFF(client_addr), 0, 0, NULL},
    {"client-name", O_STR, OFF(client_name), 0, 0, NULL},
    {"client-port", O_DEC, OFF(client_port), 0, 65535, NULL},
    {"helo", O_STR, OFF(helo), 0, 0, NULL},
    {"from", O_STR, OFF(from), 0, 0, NULL},
    {"rcpt", O_FN, 0, 0, 0, add_rcpt},
    {"macro", O_FN, 0, 0, 0, add_user_macro},
    {"macro-names", O_FN, 0, 0, 0, set_class_names},
    {"myhostname", O_STR, OFF(myhostname), 0, 0, NULL},
    {"daemon-name", O_STR, OFF(daemon_name), 0, 0, NULL},
    {"daemon-addr", O_STR, OFF(daemon_addr), 0, 0, NULL},
    {"queue-id", O_STR, OFF(queue_id), 0, 0, NULL},
    {"auth-type", O_STR, OFF(auth_type), 0, 0, NULL},
    {"auth-authen", O_STR, OFF(auth_authen), 0, 0, NULL},
    {"auth-author", O_STR, OFF(auth_author), 0, 0, NULL},
    {"received", O_STR, OFF(received), 0, 0, NULL},
    {"count", O_DEC, OFF(count), 1, 10000000, NULL},
    {"chunk", O_DEC, OFF(chunk), 1, MPROTO_CHUNK_MAX, NULL},
    {"timeout", O_DEC, OFF(timeout), 1, 3600, NULL},
    {"offer-actions", O_HEX, OFF(offer_actions), 0, 0xffffffffUL, NULL},
    {"offer-protocol", O_HEX, OFF(offer_protocol), 0, 0xffffffffUL, NULL},
    {"print-message", O_FLAG, OFF(print_message), 0, 0, NULL},
    {"lf", O_FLAG, OFF(lf), 0, 0, NULL},
    {"crlf", O_FLAG, OFF(crlf), 0, 0, NULL},
    {"trace", O_FLAG, OFF(trace), 0, 0, NULL},
    {"quickack", O_FLAG, OFF(quickack), 0, 0, NULL},
};

#define NOPTS (sizeof(optdefs) / sizeof(optdefs[0]))

static int set_opt(struct opts *o, const struct optdef *d, const char *arg)
{
	char *field = (char *)o + d->off;

	switch (d->kind) {
	case O_STR:
		*(const char **)(void *)field = arg;
		return 0;
	case O_DEC:
	case O_HEX:
		return parse_ulong(arg, d->kind == O_HEX ? 16 : 10, d->min, d->max,
				   (unsigned long *)(void *)field);
	case O_FLAG:
		*(bool *)(void *)field = true;
		return 0;
	default:
		return d->fn(o, arg);
	}
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	struct option lo[NOPTS + 1];
	size_t i;
	int c;

	for (i = 0; i < NOPTS; i++)
		lo[i] = (struct option){optdefs[i].name,
					optdefs[i].kind == O_FLAG ? no_argument : required_argument,
					NULL, 256 + (int)i};
	lo[NOPTS] = (struct option){NULL, 0, NULL, 0};
	*o = (struct opts){.client_addr = "127.0.0.1",
			   .client_name = "localhost",
			   .from = "",
			   .myhostname = "mx.example.test",
			   .daemon_addr = "127.0.0.1",
			   .count = 1,
			   .chunk = MPROTO_CHUNK_MAX,
			   .timeout = 30,
			   .offer_actions = MPROTO_ACTIONS_ALL,
			   .offer_protocol = MPROTO_PROTOCOL_ALL};
	while ((c = getopt_long(argc, argv, "s:", lo, NULL)) != -1) {
		c = c == 's' ? 256 : c; /* -s is --socket, the first entry */
		if (c < 256 || set_opt(o, &optdefs[c - 256], optarg) < 0)
			return -1;
	}
	if (optind != argc || o->socket == NULL)
		return -1;
	if (o->nrcpts == 0)
		o->rcpts[o->nrcpts++] = "postmaster@localhost";
	o->helo = o->helo ? o->helo : o->client_name;
	o->daemon_name = o->daemon_name ? o->daemon_name : o->myhostname;
	o->eol = o->crlf ? "\r\n" : o->lf ? "\n" : NULL;
	return 0;
}

/* set_val - what the MTA knows of a macro from now on (value NULL: nothing). */
static void set_val(struct session *s, const char *name, const char *value)
{
	size_t i;

	for (i = 0; i < s->nvals && strcmp(s->vals[i].name, name) != 0; i++)
		;
	if (i == s->nvals) {
		if (s->nvals >= MAX_MACROS || (s->vals[i].name = strdup(name)) == NULL)
			return; /* XXX: out of memory just leaves the macro out */
		s->nvals++;
	}
	free(s->vals[i].value);
	s->vals[i].value = value ? strdup(value) : NULL;
}

static const char *lookup(const char *name, void *ctx)
{
	const struct session *s = ctx;
	size_t i;

	for (i = 0; i < s->o->nuser; i++)
		if (strcmp(s->o->user[i].name, name) == 0)
			return s->o->user[i].value;
	for (i = 0; i < s->nvals; i++)
		if (strcmp(s->vals[i].name, name) == 0)
			return s->vals[i].value;
	return NULL;
}

/* addr_parts - "ADDR ARGS..." into argv {"<ADDR>", ARGS..., NULL} (as the
 * SMTP command carries it) and the bare address; free argv[0] and *copy. */
static int addr_parts(const char *spec, const char **argv, size_t max, char **copy,
		      const char **bare)
{
	char *p, *addr, *tok, *save = NULL, *angle;
	size_t n = 1, len;

	if ((*copy = strdup(spec)) == NULL)
		return -1;
	addr = *copy + strspn(*copy, " \t");
	p = addr + strcspn(addr, " \t");
	if (*p)
		*p++ = 0;
	if ((len = strlen(addr)) >= 2 && addr[0] == '<' && addr[len - 1] == '>') {
		addr[len - 1] = 0;
		addr++;
	}
	*bare = addr;
	for (tok = strtok_r(p, " \t", &save); tok && n + 1 < max;
	     tok = strtok_r(NULL, " \t", &save))
		argv[n++] = tok;
	argv[n] = NULL;
	if ((angle = malloc(strlen(addr) + 3)) == NULL)
		return -1;
	(void)snprintf(angle, strlen(addr) + 3, "<%s>", addr);
	argv[0] = angle;
	return 0;
}

/* print_text - quoted and escaped, for values from the filter or the message. */
static void print_text(const char *key, const char *s, size_t len)
{
	printf(" %s=\"", key);
	mproto_print_escaped(stdout, s, len);
	putchar('"');
}

/* print_name - a header name bare when it is a plain token, else quoted. */
static void print_name(const char *name)
{
	const char *p;

	for (p = name; *p > ' ' && *p < 0x7f && *p != '"' && *p != '\\'; p++)
		;
	if (*p == 0 && p != name)
		printf(" name=%s", name);
	else
		print_text("name", name, strlen(name));
}

static void print_negotiate(struct mproto *mp)
{
	const struct mproto_neg *n = mproto_negotiated(mp);
	char a[256], p[512], key[32];
	int c;

	printf("negotiate version=%u actions=0x%08x protocol=0x%08x aflags=%s pflags=%s",
	       n->version, n->actions, n->protocol,
	       mproto_flag_names(n->actions, false, a, sizeof(a)),
	       mproto_flag_names(n->protocol, true, p, sizeof(p)));
	for (c = 0; c < MPROTO_CLASS_COUNT; c++) {
		if (n->macros[c] == NULL)
			continue;
		(void)snprintf(key, sizeof(key), "macros.%s",
			       mproto_class_name((enum mproto_class)c));
		print_text(key, n->macros[c], strlen(n->macros[c]));
	}
	putchar('\n');
}

/* print_decision - the rest of a "reply" or "final" line. */
static void print_decision(enum mproto_action action, const char *stage, int code, const char *text)
{
	printf(" action=%s", mproto_action_name(action));
	if (stage != NULL)
		printf(" stage=%s", stage);
	if (code != 0) {
		printf(" code=%d", code);
		print_text("text", text ? text : "", text ? strlen(text) : 0);
	}
	putchar('\n');
}

/* print_mods - modification requests not printed yet, in order. */
static void print_mods(struct session *s)
{
	size_t n;
	const struct mproto_mod *mods = mproto_mods(s->mp, &n), *m;

	for (; s->printed < n; s->printed++) {
		m = &mods[s->printed];
		printf("mod %s", mproto_mod_name(m->type));
		if (m->type == MPROTO_MOD_INSHEADER || m->type == MPROTO_MOD_CHGHEADER)
			printf(" index=%u", m->index);
		if (m->type <= MPROTO_MOD_CHGHEADER) {
			print_name(m->name);
			print_text("value", m->value, m->value_len);
		} else if (m->type == MPROTO_MOD_REPLBODY) {
			printf(" bytes=%zu", m->value_len);
		} else if (m->type == MPROTO_MOD_QUARANTINE) {
			print_text("reason", m->name, strlen(m->name));
		} else {
			print_text(m->type == MPROTO_MOD_CHGFROM ? "from" : "rcpt", m->name,
				   strlen(m->name));
		}
		if (m->value != NULL && m->type > MPROTO_MOD_REPLBODY)
			print_text("args", m->value, m->value_len);
		putchar('\n');
	}
}

/* ends - does this reply decide the transaction (or connection)? */
static bool ends(const struct mproto_reply *r)
{
	return r->action != MPROTO_CONTINUE && r->action != MPROTO_NOREPLY &&
	       r->action != MPROTO_NOTSENT && r->action != MPROTO_SKIP;
}

static void decide(struct outcome *out, const char *stage, const struct mproto_reply *r)
{
	out->action = r->action;
	out->code = r->code;
	free(out->text);
	out->text = r->text ? strdup(r->text) : NULL;
	out->stage = stage;
}

/* client_family - the SMFIA_ family Postfix would send for this address. */
static char client_family(const char *addr)
{
	unsigned char a[16];

	if (inet_pton(AF_INET, addr, a) == 1)
		return '4';
	if (inet_pton(AF_INET6, addr, a) == 1)
		return '6';
	return addr[0] == '/' ? 'L' : 'U';
}

/* conn_decided - a decision at connect or HELO holds for the connection:
 * Postfix closes the milter socket (libmilter would) and asks no more. */
static bool conn_decided(struct session *s, const char *stage, const struct mproto_reply *r)
{
	/* Postfix ignores a DISCARD there (with a warning). */
	if (!ends(r) || r->action == MPROTO_DISCARD)
		return false;
	decide(&s->conn, stage, r);
	return true;
}

static void set_conn_macros(struct session *s)
{
	const struct opts *o = s->o;
	char port[16], under[1024];
	const char *const vals[][2] = {
	    {"{j}", o->myhostname},
	    {"{daemon_name}", o->daemon_name},
	    {"{daemon_addr}", o->daemon_addr},
	    {"{daemon_port}", "25"},
	    {"{v}", "Postfix 3.7.11"},
	    {"{_}", under},
	    {"{client_addr}", o->client_addr},
	    {"{client_name}", o->client_name},
	    {"{client_ptr}", o->client_name},
	    {"{client_port}", port},
	    {"{client_resolve}", "OK"},
	    {"{client_connections}", "0"},
	};
	size_t i;

	(void)snprintf(port, sizeof(port), "%lu", o->client_port);
	(void)snprintf(under, sizeof(under), "%s [%s]", o->client_name, o->client_addr);
	for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
		set_val(s, vals[i][0], vals[i][1]);
}

/* open_session - socket, negotiation, connect and HELO events. */
static int open_session(struct session *s, const char **err_r)
{
	const struct opts *o = s->o;
	struct mproto_opts mo = {
	    (unsigned)o->timeout * 1000, lookup,      s,
	    o->trace ? stderr : NULL,	 o->quickack, false}; /* writes each command at once */
	struct mproto_reply r;
	char host[300];
	bool unknown;
	int c;

	if ((s->mp = mproto_new(&mo)) == NULL) {
		*err_r = "out of memory";
		return -1;
	}
	for (c = 0; c < MPROTO_CLASS_COUNT; c++)
		if (o->class_names[c] != NULL &&
		    mproto_set_macro_names(s->mp, (enum mproto_class)c, o->class_names[c], err_r) <
			0)
			return -1;
	if (mproto_open(s->mp, o->socket, err_r) < 0 ||
	    mproto_negotiate(s->mp, (uint32_t)o->offer_actions, (uint32_t)o->offer_protocol,
			     err_r) < 0)
		return -1;
	print_negotiate(s->mp);
	set_conn_macros(s);
	/* Postfix shows an unresolved client to the filter as "[addr]". */
	unknown = strcmp(o->client_name, "unknown") == 0;
	(void)snprintf(host, sizeof(host), unknown ? "[%s]" : "%s",
		       unknown ? o->client_addr : o->client_name);
	if (mproto_connect(s->mp, host, client_family(o->client_addr), (uint16_t)o->client_port,
			   o->client_addr, &r, err_r) < 0)
		return -1;
	printf("reply stage=connect");
	print_decision(r.action, NULL, r.code, r.text);
	if (conn_decided(s, "connect", &r))
		return 0;
	if (mproto_helo(s->mp, o->helo, &r, err_r) < 0)
		return -1;
	printf("reply stage=helo");
	print_decision(r.action, NULL, r.code, r.text);
	(void)conn_decided(s, "helo", &r);
	return 0;
}

/* set_addr_macros - {mail_*} or {rcpt_*} for an address, NULL: none yet.
 * Postfix resolves it: a remote one goes to "smtp" at its domain. */
static void set_addr_macros(struct session *s, const char *pfx, const char *bare)
{
	const char *dom = bare ? strrchr(bare, '@') : NULL, *host = NULL, *mailer = NULL;
	const char *const sfx[] = {"addr}", "host}", "mailer}"};
	char name[32];
	int i;

	if (bare != NULL && *bare != 0) {
		host = dom ? dom + 1 : s->o->myhostname;
		mailer = dom ? "smtp" : "local";
	}
	for (i = 0; i < 3; i++) {
		(void)snprintf(name, sizeof(name), "%s%s", pfx, sfx[i]);
		set_val(s, name, i == 0 ? bare : i == 1 ? host : mailer);
	}
}

/* envelope_event - MAIL or RCPT for "ADDR ARGS"; prints the reply. */
static int envelope_event(struct session *s, bool mail, const char *spec, struct mproto_reply *r,
			  const char **err_r)
{
	const char *argv[64], *bare;
	char *copy = NULL;
	int rc;

	if (addr_parts(spec, argv, 64, &copy, &bare) < 0) {
		*err_r = "out of memory";
		free(copy);
		return -1;
	}
	set_addr_macros(s, mail ? "{mail_" : "{rcpt_", bare);
	rc = mail ? mproto_mail(s->mp, argv, r, err_r) : mproto_rcpt(s->mp, argv, r, err_r);
	if (rc == 0) {
		printf("reply stage=%s", mail ? "mail" : "rcpt");
		if (!mail)
			print_text("rcpt", argv[0], strlen(argv[0]));
		print_decision(r->action, NULL, r->code, r->text);
		print_mods(s);
	}
	free((char *)argv[0]);
	free(copy);
	return rc;
}

/* envelope - MAIL, RCPTs, DATA; sets out->stage when one decided. */
static int envelope(struct session *s, struct outcome *out, const char **err_r)
{
	const struct opts *o = s->o;
	struct mproto_reply r;
	char qid[32];
	size_t i, good = 0;

	(void)snprintf(qid, sizeof(qid), "4F%08lX", s->msgno); /* unless --queue-id */
	s->printed = 0;
	set_val(s, "{i}", NULL); /* no queue file before the first good RCPT */
	set_addr_macros(s, "{rcpt_", NULL);
	set_val(s, "{auth_type}", o->auth_type);
	set_val(s, "{auth_authen}", o->auth_authen);
	set_val(s, "{auth_author}", o->auth_author);
	if (envelope_event(s, true, o->from, &r, err_r) < 0)
		return -1;
	if (ends(&r)) {
		decide(out, "mail", &r);
		return 0;
	}
	for (i = 0; i < o->nrcpts; i++) {
		if (envelope_event(s, false, o->rcpts[i], &r, err_r) < 0)
			return -1;
		if (r.action == MPROTO_REJECT || r.action == MPROTO_TEMPFAIL) {
			decide(out, "rcpt", &r); /* stays if no recipient is good */
			continue;
		}
		if (ends(&r)) {
			decide(out, "rcpt", &r);
			return 0;
		}
		good++;
		set_val(s, "{i}", o->queue_id ? o->queue_id : qid);
	}
	if (good == 0)
		return 0; /* the last rejection stands */
	free(out->text);
	*out = (struct outcome){MPROTO_CONTINUE, 0, NULL, NULL};
	if (mproto_data(s->mp, &r, err_r) < 0)
		return -1;
	printf("reply stage=data");
	print_decision(r.action, NULL, r.code, r.text);
	if (ends(&r))
		decide(out, "data", &r);
	return 0;
}

static int send_body(struct session *s, const struct mproto_msg *msg, struct outcome *out,
		     const char **err_r)
{
	struct mproto_reply r;
	size_t off, n;

	for (off = 0; off < msg->body_len; off += n) {
		n = msg->body_len - off < s->o->chunk ? msg->body_len - off : s->o->chunk;
		if (mproto_body(s->mp, msg->body + off, n, &r, err_r) < 0)
			return -1;
		if (r.action == MPROTO_NOTSENT)
			return 0; /* SMFIP_NOBODY: nothing of the body goes out */
		printf("reply stage=body bytes=%zu", n);
		print_decision(r.action, NULL, r.code, r.text);
		if (r.action == MPROTO_SKIP)
			return 0;
		if (ends(&r)) {
			decide(out, "body", &r);
			return 0;
		}
	}
	return 0;
}

/* content - headers, end of headers, body, end of message. */
static int content(struct session *s, const struct mproto_msg *msg, struct outcome *out,
		   const char **err_r)
{
	struct mproto_reply r;
	size_t i;

	for (i = 0; i < msg->nhdrs; i++) {
		if (msg->hdrs[i].hidden)
			continue;
		if (mproto_header(s->mp, msg->hdrs[i].name, msg->hdrs[i].raw, &r, err_r) < 0)
			return -1;
		if (r.action == MPROTO_NOTSENT)
			break; /* SMFIP_NOHDRS */
		printf("reply stage=header");
		print_name(msg->hdrs[i].name);
		print_decision(r.action, NULL, r.code, r.text);
		if (ends(&r)) {
			decide(out, "header", &r);
			return 0;
		}
	}
	if (mproto_eoh(s->mp, &r, err_r) < 0)
		return -1;
	if (r.action != MPROTO_NOTSENT) {
		printf("reply stage=eoh");
		print_decision(r.action, NULL, r.code, r.text);
	}
	if (ends(&r)) {
		decide(out, "eoh", &r);
		return 0;
	}
	if (send_body(s, msg, out, err_r) < 0)
		return -1;
	if (out->stage != NULL)
		return 0;
	if (mproto_eom(s->mp, &r, err_r) < 0)
		return -1;
	print_mods(s);
	decide(out, "eom", &r);
	return 0;
}

/* finish - the final line and, when delivered, the message as delivered. */
static int finish(struct session *s, const struct outcome *out, struct mproto_msg *msg,
		  const char **err_r)
{
	const struct mproto_mod *mods;
	size_t n;
	bool leadspc = (mproto_negotiated(s->mp)->protocol & SMFIP_HDR_LEADSPC) != 0;

	printf("final");
	print_decision(out->action, out->stage, out->code, out->text);
	if (!s->o->print_message ||
	    (out->action != MPROTO_CONTINUE && out->action != MPROTO_ACCEPT))
		return 0;
	mods = mproto_mods(s->mp, &n);
	if (strcmp(out->stage, "eom") == 0 && mproto_msg_apply(msg, mods, n, leadspc, err_r) < 0)
		return -1;
	printf("--- message ---\n");
	if (mproto_msg_write(msg, stdout, s->o->eol) < 0) {
		*err_r = "writing the message failed";
		return -1;
	}
	printf("--- end ---\n");
	return 0;
}

static int run_message(struct session *s, const char *text, size_t len, const char **err_r)
{
	struct outcome out = {MPROTO_CONTINUE, 0, NULL, NULL};
	struct mproto_msg *msg = NULL;
	int rc;

	s->msgno++;
	if ((rc = mproto_msg_parse(&msg, text, len, err_r)) == 0 && s->o->received != NULL)
		rc = mproto_msg_prepend_hidden(msg, "Received", s->o->received, err_r);
	if (rc == 0 && s->conn.stage != NULL) {
		decide(&out, s->conn.stage,
		       &(struct mproto_reply){s->conn.action, s->conn.code, s->conn.text});
	} else if (rc == 0) {
		rc = envelope(s, &out, err_r);
		if (rc == 0 && out.stage == NULL)
			rc = content(s, msg, &out, err_r);
		/* SMFIR_SHUTDOWN: Postfix closes the socket and answers 421 from now on. */
		if (rc == 0 && out.action == MPROTO_SHUTDOWN)
			(void)conn_decided(s, out.stage,
					   &(struct mproto_reply){MPROTO_SHUTDOWN, 0, NULL});
		else if (rc == 0)
			rc = mproto_abort(s->mp, err_r); /* Postfix's mail_reset() */
	}
	if (rc == 0)
		rc = finish(s, &out, msg, err_r);
	mproto_msg_free(&msg);
	free(out.text);
	return rc;
}

/* read_input - all of stdin, less than MAX_INPUT bytes. */
static int read_input(char **text_r, size_t *len_r)
{
	size_t len = 0, cap = 0, n;
	char *text = NULL, *p;

	while (len < cap || (cap < MAX_INPUT && (p = realloc(text, cap ? 2 * cap : 65536)))) {
		if (len == cap) {
			text = p;
			cap = cap ? 2 * cap : 65536;
		}
		if ((n = fread(text + len, 1, cap - len, stdin)) == 0 && !ferror(stdin)) {
			*text_r = text;
			*len_r = len;
			return 0;
		}
		if (n == 0)
			break;
		len += n;
	}
	fprintf(stderr, "milterclient: cannot read the message (limit %u bytes)\n", MAX_INPUT);
	free(text);
	return -1;
}

static void free_kvs(struct kv *kv, size_t n)
{
	while (n-- > 0) {
		free(kv[n].name);
		free(kv[n].value);
	}
}

int main(int argc, char **argv)
{
	struct opts o;
	struct session s = {.o = &o};
	const char *err = "out of memory", *nl;
	char *text = NULL;
	size_t len;
	unsigned long n;
	int rc;

	if (parse_args(argc, argv, &o) < 0) {
		usage();
		return 1;
	}
	if (read_input(&text, &len) < 0)
		return 1;
	nl = memchr(text, '\n', len);
	o.eol = o.eol ? o.eol : nl && nl > text && nl[-1] == '\r' ? "\r\n" : "\n";
	(void)setvbuf(stdout, NULL, _IOLBF, 0); /* a test watching us sees each event */
	rc = open_session(&s, &err);
	for (n = 0; rc == 0 && n < o.count; n++)
		rc = run_message(&s, text, len, &err);
	if (rc == 0 && s.conn.stage == NULL)
		rc = mproto_quit(s.mp, &err);
	if (rc < 0)
		fprintf(stderr, "milterclient: %s\n", err);
	fflush(stdout);
	mproto_free(&s.mp);
	free_kvs(s.vals, s.nvals);
	free_kvs(o.user, o.nuser);
	free(s.conn.text);
	free(text);
	return rc < 0 ? 2 : 0;
}
