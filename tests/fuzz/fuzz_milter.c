/*
 * fuzz_milter.c - the milter layer (the protocol engine,
 * plugin/milter_engine.c; the callbacks, plugin/milter.c and session.c;
 * the pipeline and every module behind them) fed fuzzed event sequences,
 * encoded as the milter packets Postfix sends.
 *
 * Seam: the real engine runs from memory: one op_mctx_new() per MTA
 * connection over op_milter_callbacks(), each event's packets handed to
 * op_mctx_feed() one at a time, op_mctx_finish() when the connection ends;
 * on real config snapshots.  The engine is the state machine: commands
 * reach it in whatever order the input gives, as a broken or hostile MTA
 * could send them, and the engine and the callbacks must cope.
 *
 * Input: lines, one event each (words split on spaces; %XX escapes in
 * values, so any byte can be given):
 *   S N                 make snapshot N current (0 all modules, 1 none,
 *                       2 OpenDKIM tables and other settings): a reload;
 *                       a connection takes the snapshot current at its
 *                       negotiation
 *   N F0 F1             a new connection: SMFIC_OPTNEG (version 6) offering
 *                       actions F0 and protocol steps F1 (hex); the open
 *                       one, if any, ends first (as when the MTA goes away)
 *   D NAME [VALUE]      macro NAME ("i", "{client_addr}"...) for the next
 *                       command that carries macros (C H M R E O T): one
 *                       SMFIC_MACRO packet of that command's letter with
 *                       every macro given since the last one; no VALUE
 *                       sends an empty value
 *   F MASK              the MTA refuses these changes from now on: its
 *                       offers of later negotiations lack the actions
 *                       (1, 2: SMFIF_ADDHDRS; 4: SMFIF_CHGHDRS; 8:
 *                       SMFIF_QUARANTINE; 16, once setreply: no effect)
 *   C HOSTNAME          SMFIC_CONNECT: HOSTNAME, then family, port and
 *                       address from the last {client_addr} given ('4',
 *                       '6' or 'L' by its form; 'U' alone when there is
 *                       none or it is neither, as Postfix sends for a
 *                       client of unknown address family)
 *   H NAME              SMFIC_HELO
 *   M ARG...            SMFIC_MAIL      R ARG...     SMFIC_RCPT
 *                       (argv as NUL-terminated strings; no ARG sends one
 *                       empty string)
 *   h NAME VALUE        SMFIC_HEADER    E            SMFIC_EOH
 *   B DATA              SMFIC_BODY      O            SMFIC_BODYEOB
 *   A                   SMFIC_ABORT     Q            SMFIC_QUIT
 *   K                   SMFIC_QUIT_NC (a new connection follows on the
 *                       same socket: CONNECT again, same negotiation)
 *   T                   SMFIC_DATA      U TEXT       SMFIC_UNKNOWN
 * A protocol command with no connection open opens one as Postfix would
 * (SMFIC_OPTNEG offering everything but the refused actions).  At the end
 * of the input the open connection ends without QUIT (the engine aborts an
 * open message and closes).  At most 512 events.
 *
 * Promises checked (besides no crash, leak or sanitizer report): the reply
 * packets of every command (mcheck.h: well formed, a negotiation
 * subset of the offer, no reply at no-reply stages and exactly one final
 * reply elsewhere, message changes only at end of message and agreed,
 * well-formed reply codes and header values); a packet sent as Postfix
 * sends it ends the connection only at QUIT or a refused negotiation; the
 * callbacks' connection state is gone after the end of each connection.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libmilter/mfapi.h> /* constants only */

#include "fuzz.h"
#include "mcheck.h"
#include "milter_engine.h"
#include "milter_int.h"
#include "outpost/buf.h"
#include "outpost/config.h"

#define MILTER_INPUT_MAX (128 * 1024)
#define EVENTS_MAX	 512
#define NCONFIGS	 3
#define OFFER_ACTIONS	 0x1ffu	   /* what Postfix offers: every action */
#define OFFER_STEPS	 0x1fffffu /* and every protocol step */

static struct op_config *configs[NCONFIGS];
static struct op_mctx *ctx;   /* the open connection, or NULL */
static struct mcheck_neg neg; /* what it agreed */
static struct op_buf out;     /* the engine's replies to one packet */
static struct op_buf pkt;     /* the packet being sent */
static struct op_buf macros;  /* pending name NUL value NUL ... */
static uint32_t refused;      /* actions the MTA no longer offers */
static char client_addr[256]; /* the last {client_addr}, "" when none */

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
	op_buf_init(&out, 64u << 20);
	op_buf_init(&pkt, 2 * MILTER_INPUT_MAX);
	op_buf_init(&macros, 2 * MILTER_INPUT_MAX);
	return 0;
}

/* ---- the connection ------------------------------------------------------- */

/* The MTA goes away (or quit): the engine ends the connection. */
static void conn_end(void)
{
	if (ctx == NULL)
		return;
	op_mctx_finish(ctx);
	FUZZ_CHECK(op_mctx_getpriv(ctx) == NULL, "connection state kept after close");
	op_mctx_free(&ctx);
}

/* Send cmd with data[0..len) as one packet and check the replies. */
static void send_packet(char cmd, const void *data, size_t len)
{
	uint32_t nlen = htonl((uint32_t)len + 1);
	long r;

	op_buf_reset(&pkt);
	if (op_buf_append(&pkt, &nlen, 4) < 0 || op_buf_append(&pkt, &cmd, 1) < 0 ||
	    (len > 0 && op_buf_append(&pkt, data, len) < 0))
		abort(); /* bounded by MILTER_INPUT_MAX */
	op_buf_reset(&out);
	r = op_mctx_feed(ctx, (const unsigned char *)pkt.data, pkt.len, &out);
	FUZZ_CHECK(r < 0 || (size_t)r == pkt.len, "a complete packet not used whole");
	mcheck_replies(&neg, cmd, (const unsigned char *)pkt.data + 5, len,
		       (const unsigned char *)out.data, out.len, r < 0);
	if (r >= 0)
		return;
	FUZZ_CHECK(cmd == SMFIC_QUIT || cmd == SMFIC_OPTNEG,
		   "a packet as Postfix sends it ended the connection");
	conn_end();
}

static void conn_open(uint32_t actions, uint32_t steps)
{
	uint32_t v[3] = {htonl(SMFI_PROT_VERSION), htonl(actions & ~refused), htonl(steps)};

	conn_end();
	ctx = op_mctx_new(op_milter_callbacks());
	FUZZ_CHECK(ctx != NULL, "out of memory");
	memset(&neg, 0, sizeof(neg));
	send_packet(SMFIC_OPTNEG, v, sizeof(v));
}

/* Whether the MTA sends macros with cmd (a slot of the engine). */
static bool carries_macros(char cmd)
{
	return strchr("CHMRTNE", cmd) != NULL && cmd != '\0';
}

/* A protocol command: a connection if none, its macros, the command. */
static void command(char cmd, const void *data, size_t len)
{
	if (ctx == NULL)
		conn_open(OFFER_ACTIONS, OFFER_STEPS);
	if (ctx == NULL)
		return; /* negotiation refused */
	if (carries_macros(cmd) && macros.len > 0) {
		char *m = malloc(macros.len + 1);

		FUZZ_CHECK(m != NULL, "out of memory");
		m[0] = cmd;
		memcpy(m + 1, macros.data, macros.len);
		send_packet(SMFIC_MACRO, m, macros.len + 1);
		free(m);
		op_buf_reset(&macros);
		if (ctx == NULL)
			return;
	}
	send_packet(cmd, data, len);
}

/* ---- events --------------------------------------------------------------- */

/* rest's words, %-decoded, as NUL-terminated strings in b; one empty
 * string when there is none (Postfix always sends the address). */
static void strings_of(char *rest, struct op_buf *b)
{
	op_buf_reset(b);
	if (*rest == '\0' && op_buf_append(b, "", 1) < 0)
		abort();
	while (*rest) {
		char *w = fuzz_word(&rest);
		size_t n = fuzz_pct(w);

		if (op_buf_append(b, w, n + 1) < 0)
			abort();
	}
}

static void ev_select(char cmd, char *rest)
{
	unsigned n = (unsigned)strtoul(rest, NULL, 10);

	(void)cmd;
	op_config_set_current(configs[n % NCONFIGS]);
}

static void ev_negotiate(char cmd, char *rest)
{
	char *a = fuzz_word(&rest), *b = fuzz_word(&rest);

	(void)cmd;
	conn_open((uint32_t)strtoul(a, NULL, 16), (uint32_t)strtoul(b, NULL, 16));
}

static void ev_macro(char cmd, char *rest)
{
	char *name = fuzz_word(&rest);
	size_t nl = fuzz_pct(name), vl = fuzz_pct(rest);

	(void)cmd;
	if (op_buf_append(&macros, name, nl + 1) < 0 || op_buf_append(&macros, rest, vl + 1) < 0)
		abort();
	if (strcmp(name, "{client_addr}") == 0 || strcmp(name, "client_addr") == 0)
		op_strlcpy(client_addr, rest, sizeof(client_addr));
}

static void ev_refuse(char cmd, char *rest)
{
	unsigned mask = (unsigned)strtoul(rest, NULL, 16);

	(void)cmd;
	refused = ((mask & 3) ? SMFIF_ADDHDRS : 0) | ((mask & 4) ? SMFIF_CHGHDRS : 0) |
		  ((mask & 8) ? SMFIF_QUARANTINE : 0);
}

/* hostname NUL, then the address as Postfix's milter8_conn_event sends it. */
static void ev_connect(char cmd, char *rest)
{
	struct op_buf b;
	unsigned char a[16];
	uint16_t port = htons(25);
	char fam = SMFIA_UNKNOWN;

	op_buf_init(&b, 2 * MILTER_INPUT_MAX);
	if (inet_pton(AF_INET, client_addr, a) == 1)
		fam = SMFIA_INET;
	else if (inet_pton(AF_INET6, client_addr, a) == 1)
		fam = SMFIA_INET6;
	else if (client_addr[0] == '/') {
		fam = SMFIA_UNIX;
		port = 0;
	}
	if (op_buf_append(&b, rest, fuzz_pct(rest) + 1) < 0 || op_buf_putc(&b, fam) < 0 ||
	    (fam != SMFIA_UNKNOWN && (op_buf_append(&b, &port, 2) < 0 ||
				      op_buf_append(&b, client_addr, strlen(client_addr) + 1) < 0)))
		abort();
	command(cmd, b.data, b.len);
	op_buf_free(&b);
}

/* A command whose data is rest's words as strings (MAIL, RCPT). */
static void ev_args(char cmd, char *rest)
{
	struct op_buf b;

	op_buf_init(&b, 2 * MILTER_INPUT_MAX);
	strings_of(rest, &b);
	command(cmd, b.data, b.len);
	op_buf_free(&b);
}

/* A command whose data is rest, %-decoded, as one string (HELO, UNKNOWN). */
static void ev_string(char cmd, char *rest)
{
	command(cmd, rest, fuzz_pct(rest) + 1);
}

static void ev_header(char cmd, char *rest)
{
	struct op_buf b;
	char *name = fuzz_word(&rest);

	op_buf_init(&b, 2 * MILTER_INPUT_MAX);
	if (op_buf_append(&b, name, fuzz_pct(name) + 1) < 0 ||
	    op_buf_append(&b, rest, fuzz_pct(rest) + 1) < 0)
		abort();
	command(cmd, b.data, b.len);
	op_buf_free(&b);
}

/* A command without data (EOH, BODYEOB, ABORT, QUIT, QUIT_NC, DATA). */
static void ev_bare(char cmd, char *rest)
{
	(void)rest;
	command(cmd, "", 0);
}

/* A body chunk: rest's bytes, %-decoded, no NUL. */
static void ev_body(char cmd, char *rest)
{
	command(cmd, rest, fuzz_pct(rest));
}

/* Each event: its letter, the command it sends (0: none), its handler. */
static const struct {
	char ev, cmd;
	void (*fn)(char cmd, char *rest);
} events[] = {
    {'S', 0, ev_select},	 {'N', 0, ev_negotiate},	   {'D', 0, ev_macro},
    {'F', 0, ev_refuse},	 {'C', SMFIC_CONNECT, ev_connect}, {'H', SMFIC_HELO, ev_string},
    {'M', SMFIC_MAIL, ev_args},	 {'R', SMFIC_RCPT, ev_args},	   {'h', SMFIC_HEADER, ev_header},
    {'E', SMFIC_EOH, ev_bare},	 {'B', SMFIC_BODY, ev_body},	   {'O', SMFIC_BODYEOB, ev_bare},
    {'A', SMFIC_ABORT, ev_bare}, {'Q', SMFIC_QUIT, ev_bare},	   {'K', SMFIC_QUIT_NC, ev_bare},
    {'T', SMFIC_DATA, ev_bare},	 {'U', SMFIC_UNKNOWN, ev_string},
};

static void event(char *line)
{
	if (line[0] == '\0' || (line[1] != ' ' && line[1] != '\0'))
		return;
	for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++)
		if (events[i].ev == line[0]) {
			events[i].fn(events[i].cmd, line + (line[1] ? 2 : 1));
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
	refused = 0;
	client_addr[0] = '\0';
	op_buf_reset(&macros);
	cursor = text;
	while ((line = fuzz_line(&cursor)) != NULL && n++ < EVENTS_MAX)
		event(line);
	conn_end();
	free(text);
	return 0;
}
