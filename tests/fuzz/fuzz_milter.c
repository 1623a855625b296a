/*
 * fuzz_milter.c - the milter callback layer (plugin/milter.c, session.c,
 * the pipeline and every module behind it) fed fuzzed event sequences.
 *
 * Seam: plugin/milter.c is linked unchanged with a fake libmilter
 * (fake_milter.c); op_milter_setup() registers the real callback table
 * with the fake, and this target calls the callbacks in the order the
 * input says, with the macros, names and values it gives, on real config
 * snapshots.  No change to plugin/ was needed.
 *
 * Input: lines, one event each (words split on spaces; %XX escapes in
 * values, so any byte can be given):
 *   S N                 make snapshot N current (0 all modules, 1 none,
 *                       2 OpenDKIM tables and other settings): a reload
 *   N F0 F1             a new connection: negotiate with the MTA offering
 *                       actions F0 and protocol steps F1 (hex); the open
 *                       one, if any, is closed first
 *   D NAME [VALUE]      set macro NAME ("i", "{client_addr}"...), or unset
 *   F MASK              the MTA refuses these calls (fake_milter.h)
 *   C HOSTNAME          connect          H NAME       helo
 *   M ARG...            MAIL FROM        R ARG...     RCPT TO
 *   h NAME VALUE        a header         E            end of headers
 *   B DATA              a body chunk     O            end of message
 *   A                   abort            Q            close
 * The commands reach the callbacks through a copy of libmilter's state
 * machine (libmilter/engine.c): a command out of order aborts the
 * transaction first (as libmilter calls xxfi_abort) or is dropped, so the
 * sequences are those libmilter can produce, whatever the MTA sends.  A
 * protocol command with no connection open opens one as Postfix would
 * (everything offered).  At the end of the input the connection is
 * aborted and closed, as libmilter does when the MTA goes away.  At most
 * 512 events.
 *
 * Promises checked (besides no crash, leak or sanitizer report): every
 * callback returns a libmilter status, SMFIS_NOREPLY exactly at the stages
 * the MTA was told not to wait for; replies, header edits and quarantine
 * reasons are well formed and come at the right stage (fake_milter.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_milter.h"
#include "fuzz.h"
#include "milter_int.h"
#include "outpost/config.h"

#define MILTER_INPUT_MAX (128 * 1024)
#define EVENTS_MAX	 512
#define ARGS_MAX	 16
#define NCONFIGS	 3

static struct op_config *configs[NCONFIGS];
static const struct smfiDesc *cb;
static unsigned long steps; /* what the open connection negotiated */

static const char conf_all[] =
    "milter: { socket = \"unix:@DIR@/outpost.sock\"; };\n"
    "log: { level = \"debug\"; };\n"
    "limits: { max_headers = 40; max_header_bytes = \"16K\"; max_header_length = \"4K\";\n"
    "          max_recipients = 8; max_messages_per_connection = 4; max_macro_length = 200; };\n"
    "classify: { internal_hosts = [\"127.0.0.0/8\", \"192.0.2.0/24\"];\n"
    "            internal_daemon_names = [\"submission\"]; };\n"
    "dkim: { enabled = true; on_long_lines = \"wrap\"; wrap_length = 120;\n"
    "  on_multiple_from = \"reject\"; subdomains = true;\n"
    "  keys = ( { domain = \"example.org\"; selector = \"rsa1024\"; key = "
    "\"@DIR@/test-rsa1024.pem\"; },\n"
    "           { domain = \"example.org\"; selector = \"ed\"; key = \"@DIR@/test-ed25519.pem\";\n"
    "             algorithm = \"ed25519-sha256\"; } ); };\n"
    "spf: { enabled = true; test_zone = \"@SRCDIR@/tests/proto/conf/spf.zone\"; check_helo = "
    "true;\n"
    "  on_softfail = \"hold\"; on_permerror = \"reject\"; on_neutral = \"tempfail\";\n"
    "  egress_ips = [\"192.0.2.10\"]; egress_include = \"_spf.example.net\";\n"
    "  on_unauthorized_egress = \"hold\"; timeout = \"2s\"; };\n"
    "auth: { enabled = true; authserv_id = \"mx.example.net\"; received_spf = true;\n"
    "  test_dkim_keys = \"@DIR@/dns.txt\"; dkim_max_signatures = 3; };\n"
    "track: { enabled = true; external = true; max_tags = 3;\n"
    "  unsubscribe_url = \"https://unsub.example.net/u/{token}\";\n"
    "  unsubscribe_mailto = \"unsub@example.net\";\n"
    "  unsubscribe_secrets = [ \"new-secret-0123456789abcdef\" ]; };\n"
    "rate: { enabled = true; lmdb_path = \"@DIR@/rate.mdb\"; lmdb_map_size = \"8M\";\n"
    "  rules = (\n"
    "    { name = \"login-msgs\"; key = \"login\"; count = \"messages\"; limit = \"3/1h\"; },\n"
    "    { name = \"login-domain\"; key = \"login+rcpt_domain\"; count = \"recipients\";\n"
    "      limit = \"2/1d\"; action = \"hold\"; then = \"hold_account\"; },\n"
    "    { name = \"sender-msgs\"; key = \"sender\"; count = \"messages\"; limit = \"2/1h\";\n"
    "      apply_to = \"external\"; action = \"reject\"; },\n"
    "    { name = \"net-bytes\"; key = \"client_ip\"; ipv4_prefix = 24; count = \"bytes\";\n"
    "      limit = \"4K/1h\"; action = \"reject\"; },\n"
    "    { name = \"domain-dry\"; key = \"sender_domain\"; count = \"messages\"; limit = "
    "\"1/1h\";\n"
    "      action = \"log\"; } ); };\n"
    "tenants = ( { name = \"acme\"; domains = [\"example.com\"]; logins = [\"alice\"];\n"
    "              track = { sender_id = \"outpost1\"; bulk = true; };\n"
    "              dkim_keys = ( { selector = \"ed\"; key = \"@DIR@/test-ed25519.pem\"; } ); },\n"
    "            { name = \"bulk\"; logins = [\"bulk\"];\n"
    "              rate_rules = ( { name = \"login-msgs\"; limit = \"1000/1h\"; } ); } );\n";

static const char conf_none[] = "milter: { socket = \"unix:@DIR@/outpost.sock\"; };\n";

static const char conf_tables[] =
    "milter: { socket = \"unix:@DIR@/outpost.sock\"; };\n"
    "log: { level = \"debug\"; };\n"
    "actions: { on_limit = \"tempfail\"; on_internal_error = \"reject\"; };\n"
    "limits: { max_macro_length = 64; max_header_length = \"1K\"; };\n"
    "dkim: { enabled = true; keytable = \"file:@DIR@/KeyTable\";\n"
    "  signingtable = \"refile:@DIR@/SigningTable\"; multiple_signatures = true;\n"
    "  canonicalization = \"simple/simple\"; sign_from = \"envelope\"; sign_external = true;\n"
    "  on_long_lines = \"reject\"; oversign = [\"From\", \"To\"]; };\n"
    "track: { enabled = true; header = \"X-Track\"; };\n"
    "spf: { enabled = true; test_zone = \"@SRCDIR@/tests/proto/conf/spf.zone\";\n"
    "  on_fail = \"tempfail\"; on_none = \"hold\"; skip_authenticated = false; };\n";

static const char keytable[] = "rsa-any  %:rsa1024:@DIR@/test-rsa1024.pem\n"
			       "ed-com   example.com:ed:@DIR@/test-ed25519.pem\n";
static const char signingtable[] = "*@example.com      ed-com\n"
				   "*@example.com      rsa-any\n"
				   "*@sub.example.org  rsa-any\n";

/* Write name into the private directory with @DIR@ and @SRCDIR@ replaced. */
static void write_subst(const char *name, const char *text)
{
	char path[4096];
	size_t n;
	char *t = fuzz_subst((const uint8_t *)text, strlen(text), &n);

	fuzz_write(fuzz_path(path, sizeof(path), name), t, n);
	free(t);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const texts[NCONFIGS] = {conf_all, conf_none, conf_tables};
	char path[4096], name[32], err[1024];

	(void)argc;
	(void)argv;
	fuzz_init();
	fuzz_install_keys();
	write_subst("KeyTable", keytable);
	write_subst("SigningTable", signingtable);
	for (int i = 0; i < NCONFIGS; i++) {
		snprintf(name, sizeof(name), "outpost-%d.conf", i);
		write_subst(name, texts[i]);
		configs[i] =
		    op_config_load(fuzz_path(path, sizeof(path), name), 1, err, sizeof(err));
		if (configs[i] == NULL) {
			fprintf(stderr, "fuzz_milter: config %d: %s\n", i, err);
			abort();
		}
	}
	op_config_set_current(configs[0]);
	if (op_milter_setup(configs[0], err, sizeof(err)) < 0 ||
	    (cb = fake_milter_desc()) == NULL) {
		fprintf(stderr, "fuzz_milter: op_milter_setup: %s\n", err);
		abort();
	}
	return 0;
}

/* ---- libmilter's state machine (libmilter/engine.c) ---------------------- */

/* libmilter's states, in its order (the skip logic relies on it). */
enum {
	ST_INIT,
	ST_OPTS,
	ST_CONN,
	ST_HELO,
	ST_MAIL,
	ST_RCPT,
	ST_DATA,
	ST_HDRS,
	ST_EOHS,
	ST_BODY,
	ST_ENDM,
	ST_QUIT,
	ST_ABRT,
	ST_UNKN,
	ST_Q_NC,
	ST__COUNT
};
#define MI_MASK(x)     (1u << (x))
#define NX_SKIP	       (1u << 16)
#define ST_IN_MAIL(st) ((st) >= ST_MAIL && (st) < ST_ENDM)

static const unsigned next_states[ST__COUNT] = {
    [ST_INIT] = MI_MASK(ST_OPTS),
    [ST_OPTS] = MI_MASK(ST_CONN) | MI_MASK(ST_UNKN),
    [ST_CONN] = MI_MASK(ST_HELO) | MI_MASK(ST_MAIL) | MI_MASK(ST_UNKN),
    [ST_HELO] = MI_MASK(ST_HELO) | MI_MASK(ST_MAIL) | MI_MASK(ST_UNKN),
    [ST_MAIL] = MI_MASK(ST_RCPT) | MI_MASK(ST_ABRT) | MI_MASK(ST_UNKN),
    [ST_RCPT] = MI_MASK(ST_HDRS) | MI_MASK(ST_EOHS) | MI_MASK(ST_DATA) | MI_MASK(ST_BODY) |
		MI_MASK(ST_ENDM) | MI_MASK(ST_RCPT) | MI_MASK(ST_ABRT) | MI_MASK(ST_UNKN),
    [ST_DATA] = MI_MASK(ST_EOHS) | MI_MASK(ST_HDRS) | MI_MASK(ST_ABRT),
    [ST_HDRS] = MI_MASK(ST_EOHS) | MI_MASK(ST_HDRS) | MI_MASK(ST_ABRT),
    [ST_EOHS] = MI_MASK(ST_BODY) | MI_MASK(ST_ENDM) | MI_MASK(ST_ABRT),
    [ST_BODY] = MI_MASK(ST_ENDM) | MI_MASK(ST_BODY) | MI_MASK(ST_ABRT),
    [ST_ENDM] = MI_MASK(ST_QUIT) | MI_MASK(ST_MAIL) | MI_MASK(ST_UNKN) | MI_MASK(ST_Q_NC),
    [ST_QUIT] = 0,
    [ST_ABRT] = 0,
    [ST_UNKN] = MI_MASK(ST_HELO) | MI_MASK(ST_MAIL) | MI_MASK(ST_RCPT) | MI_MASK(ST_ABRT) |
		MI_MASK(ST_DATA) | MI_MASK(ST_BODY) | MI_MASK(ST_UNKN) | MI_MASK(ST_QUIT) |
		MI_MASK(ST_Q_NC),
    [ST_Q_NC] = MI_MASK(ST_CONN) | MI_MASK(ST_UNKN),
};

static int state = ST_QUIT; /* ST_QUIT: no connection */

/* Whether libmilter skips state s for this connection (fix_stm()). */
static bool skipped(int s)
{
	static const struct {
		int st;
		unsigned long flag;
	} skips[] = {
	    {ST_CONN, SMFIP_NOCONNECT}, {ST_HELO, SMFIP_NOHELO}, {ST_MAIL, SMFIP_NOMAIL},
	    {ST_RCPT, SMFIP_NORCPT},	{ST_HDRS, SMFIP_NOHDRS}, {ST_EOHS, SMFIP_NOEOH},
	    {ST_BODY, SMFIP_NOBODY},	{ST_DATA, SMFIP_NODATA}, {ST_UNKN, SMFIP_NOUNKNOWN},
	};

	for (size_t i = 0; i < sizeof(skips) / sizeof(skips[0]); i++)
		if (skips[i].st == s)
			return (steps & skips[i].flag) != 0;
	return false;
}

/* libmilter's trans_ok(): new reachable from old, over skipped states. */
static bool trans_ok(int old, int new)
{
	for (int s = old; s < ST__COUNT; s++) {
		if (next_states[s] & MI_MASK(new))
			return true;
		if (s + 1 >= ST__COUNT || !skipped(s + 1))
			return false;
	}
	return false;
}

/* A callback's status: a libmilter one; SMFIS_NOREPLY exactly at the
 * stages the MTA was told not to wait for (libmilter logs an error for a
 * reply there and drops it). */
static void status(char cmd, sfsistat r, unsigned long nr_flag)
{
	char what[160];
	const char *bad = NULL;

	if (r != SMFIS_CONTINUE && r != SMFIS_REJECT && r != SMFIS_DISCARD && r != SMFIS_ACCEPT &&
	    r != SMFIS_TEMPFAIL && r != SMFIS_NOREPLY)
		bad = "no libmilter status";
	else if (r == SMFIS_NOREPLY && (nr_flag == 0 || !(steps & nr_flag)))
		bad = "SMFIS_NOREPLY at a stage that wants a reply";
	else if (r != SMFIS_NOREPLY && nr_flag != 0 && (steps & nr_flag))
		bad = "a reply at a stage negotiated as no-reply";
	if (bad == NULL)
		return;
	snprintf(what, sizeof(what), "%s (event %c, status %d, steps 0x%lx)", bad, cmd, (int)r,
		 steps);
	fuzz_fail(__FILE__, __LINE__, what);
}

/* The MTA went away (libmilter: abort within a transaction, then close). */
static void conn_end(void)
{
	if (state == ST_QUIT)
		return;
	if (ST_IN_MAIL(state))
		cb->xxfi_abort(fake_ctx);
	cb->xxfi_close(fake_ctx);
	FUZZ_CHECK(smfi_getpriv(fake_ctx) == NULL, "connection state kept after close");
	state = ST_QUIT;
}

static void negotiate(unsigned long f0, unsigned long f1)
{
	unsigned long p0 = 0, p1 = 0, p2 = 0, p3 = 0;

	conn_end();
	steps = 0;
	state = ST_OPTS;
	if (cb->xxfi_negotiate(fake_ctx, f0, f1, 0, 0, &p0, &p1, &p2, &p3) != SMFIS_CONTINUE) {
		/* The MTA gives up on this milter for the connection. */
		conn_end();
		return;
	}
	FUZZ_CHECK((p0 & ~f0) == 0 && (p1 & ~f1) == 0, "negotiated what the MTA did not offer");
	steps = p1;
}

/* ---- events --------------------------------------------------------------- */

/* Split rest into at most ARGS_MAX unescaped words, argv NULL-terminated. */
static void args_of(char *rest, char **argv)
{
	size_t n = 0;

	while (*rest && n < ARGS_MAX) {
		char *w = fuzz_word(&rest);

		fuzz_pct(w);
		argv[n++] = w;
	}
	argv[n] = NULL;
}

static sfsistat ev_select(char *rest)
{
	unsigned n = (unsigned)strtoul(rest, NULL, 10);

	op_config_set_current(configs[n % NCONFIGS]);
	return SMFIS_CONTINUE;
}

static sfsistat ev_negotiate(char *rest)
{
	char *a = fuzz_word(&rest), *b = fuzz_word(&rest);

	negotiate(strtoul(a, NULL, 16), strtoul(b, NULL, 16));
	return SMFIS_CONTINUE;
}

static sfsistat ev_macro(char *rest)
{
	char *name = fuzz_word(&rest);

	if (*rest == '\0') {
		fake_milter_macro(name, NULL);
		return SMFIS_CONTINUE;
	}
	fuzz_pct(rest);
	fake_milter_macro(name, rest);
	return SMFIS_CONTINUE;
}

static sfsistat ev_refuse(char *rest)
{
	fake_milter_refuse((unsigned)strtoul(rest, NULL, 16));
	return SMFIS_CONTINUE;
}

static sfsistat ev_connect(char *rest)
{
	fuzz_pct(rest);
	return cb->xxfi_connect(fake_ctx, rest, NULL);
}

static sfsistat ev_helo(char *rest)
{
	fuzz_pct(rest);
	return cb->xxfi_helo(fake_ctx, rest);
}

static sfsistat ev_mail(char *rest)
{
	char *argv[ARGS_MAX + 1];

	args_of(rest, argv);
	return cb->xxfi_envfrom(fake_ctx, argv);
}

static sfsistat ev_rcpt(char *rest)
{
	char *argv[ARGS_MAX + 1];

	args_of(rest, argv);
	return cb->xxfi_envrcpt(fake_ctx, argv);
}

static sfsistat ev_header(char *rest)
{
	char *name = fuzz_word(&rest);

	fuzz_pct(name);
	fuzz_pct(rest);
	return cb->xxfi_header(fake_ctx, name, rest);
}

static sfsistat ev_eoh(char *rest)
{
	(void)rest;
	return cb->xxfi_eoh(fake_ctx);
}

static sfsistat ev_body(char *rest)
{
	size_t n = fuzz_pct(rest);

	return cb->xxfi_body(fake_ctx, (unsigned char *)rest, n);
}

static sfsistat ev_eom(char *rest)
{
	sfsistat r;

	(void)rest;
	fake_milter_in_eom(true);
	r = cb->xxfi_eom(fake_ctx);
	fake_milter_in_eom(false);
	return r;
}

static sfsistat ev_abort(char *rest)
{
	(void)rest;
	cb->xxfi_abort(fake_ctx);
	return SMFIS_NOREPLY;
}

static sfsistat ev_quit(char *rest)
{
	(void)rest;
	cb->xxfi_close(fake_ctx);
	FUZZ_CHECK(smfi_getpriv(fake_ctx) == NULL, "connection state kept after close");
	return SMFIS_NOREPLY;
}

/* Each event: its letter, the libmilter state it moves to (-1: not a
 * protocol command), whether an error reply keeps the state (RCPT), the
 * no-reply flag of its stage, and what it does. */
static const struct {
	char cmd;
	int next;
	bool ignore_error;
	unsigned long nr_flag;
	sfsistat (*fn)(char *rest);
} events[] = {
    {'S', -1, false, 0, ev_select},
    {'N', -1, false, 0, ev_negotiate},
    {'D', -1, false, 0, ev_macro},
    {'F', -1, false, 0, ev_refuse},
    {'C', ST_CONN, false, SMFIP_NR_CONN, ev_connect},
    {'H', ST_HELO, false, SMFIP_NR_HELO, ev_helo},
    {'M', ST_MAIL, false, SMFIP_NR_MAIL, ev_mail},
    {'R', ST_RCPT, true, SMFIP_NR_RCPT, ev_rcpt},
    {'h', ST_HDRS, false, SMFIP_NR_HDR, ev_header},
    {'E', ST_EOHS, false, SMFIP_NR_EOH, ev_eoh},
    {'B', ST_BODY, false, SMFIP_NR_BODY, ev_body},
    {'O', ST_ENDM, false, 0, ev_eom},
    {'A', ST_ABRT, false, 0, ev_abort},
    {'Q', ST_QUIT, false, 0, ev_quit},
};

/* Run one protocol command as libmilter's mi_engine() does. */
static void command(size_t i, char *rest)
{
	sfsistat r;
	int next = events[i].next;

	if (state == ST_QUIT)
		negotiate(0x1ff, 0x1fffff); /* a new connection, as Postfix opens it */
	if (state == ST_QUIT)
		return;
	if (!trans_ok(state, next)) {
		if (ST_IN_MAIL(state))
			cb->xxfi_abort(fake_ctx);
		state = ST_HELO;
		if (!trans_ok(state, next))
			return; /* libmilter ignores the command */
	}
	state = next;
	r = events[i].fn(rest);
	if (next == ST_ABRT || next == ST_QUIT)
		return;
	status(events[i].cmd, r, events[i].nr_flag);
	if (r == SMFIS_ACCEPT || (!events[i].ignore_error &&
				  (r == SMFIS_REJECT || r == SMFIS_DISCARD || r == SMFIS_TEMPFAIL)))
		state = ST_HELO;
}

static void event(char *line)
{
	for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
		if (line[0] != events[i].cmd || (line[1] != ' ' && line[1] != '\0'))
			continue;
		if (events[i].next < 0)
			events[i].fn(line + (line[1] ? 2 : 1));
		else
			command(i, line + (line[1] ? 2 : 1));
		return;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text, *cursor, *line;
	int n = 0;

	if (size > MILTER_INPUT_MAX)
		return -1;
	text = strndup((const char *)data, size);
	FUZZ_CHECK(text != NULL, "out of memory");
	op_config_set_current(configs[0]);
	fake_milter_refuse(0);
	cursor = text;
	while ((line = fuzz_line(&cursor)) != NULL && n++ < EVENTS_MAX)
		event(line);
	conn_end();
	fake_milter_macros_clear();
	free(text);
	return 0;
}
