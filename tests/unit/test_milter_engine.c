/*
 * test_milter_engine.c - the milter protocol engine alone
 * (plugin/milter_engine.c), fed packets from memory with op_mctx_feed()
 * and recording callbacks: negotiation, replies per status, macros,
 * message changes only at end of message, packets split anywhere, and the
 * protocol errors that end a connection.
 */
#include "config.h"

#include "unit.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libmilter/mfapi.h>

#include "milter_engine.h"
#include "outpost/buf.h"

/* ---- recording callbacks ------------------------------------------------ */

static char trail[4096];     /* "negotiate connect(host) mail(a,b) ..." */
static int next_status = -1; /* status the next callback returns, -1: continue */
static const char *eom_edit; /* "add", "ins", "chg", "del", "quar" at eom */
static const char *reply_at; /* setreply before returning next_status */

__attribute__((format(printf, 1, 2))) static void note(const char *fmt, ...)
{
	size_t n = strlen(trail);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(trail + n, sizeof(trail) - n, fmt, ap);
	va_end(ap);
}

static int status(struct op_mctx *ctx)
{
	int st = next_status < 0 ? SMFIS_CONTINUE : next_status;

	if (reply_at != NULL)
		assert_int_equal(op_mctx_setreply(ctx, "550", "5.7.1", reply_at), 0);
	next_status = -1;
	reply_at = NULL;
	return st;
}

static int cb_negotiate(struct op_mctx *ctx, uint32_t a, uint32_t s, uint32_t *ar, uint32_t *sr)
{
	note("%s", "negotiate ");
	*ar = (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE | SMFIF_SETSYMLIST) & a;
	*sr = (SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_NR_BODY | SMFIP_NOHELO) & s;
	op_mctx_setsymlist(ctx, SMFIM_ENVFROM, "i {auth_authen}");
	return SMFIS_CONTINUE;
}

static int cb_connect(struct op_mctx *ctx, const char *host)
{
	note("connect(%s) ", host);
	return status(ctx);
}

static int cb_envfrom(struct op_mctx *ctx, char **argv)
{
	const char *i = op_mctx_macro(ctx, "{i}");

	note("mail(%s", argv[0] ? argv[0] : "-");
	for (int k = 1; argv[0] && argv[k]; k++)
		note(",%s", argv[k]);
	note(") i=%s ", i ? i : "-");
	return status(ctx);
}

static int cb_header(struct op_mctx *ctx, const char *name, const char *value)
{
	note("hdr(%s:", name);
	note("%s) ", value);
	(void)ctx;
	return SMFIS_NOREPLY;
}

static int cb_body(struct op_mctx *ctx, const unsigned char *chunk, size_t len)
{
	char b[64];

	snprintf(b, sizeof(b), "%.*s", (int)(len < 40 ? len : 40), (const char *)chunk);
	note("body(%s) ", b);
	return status(ctx);
}

static int cb_eom(struct op_mctx *ctx)
{
	note("%s", "eom ");
	if (eom_edit && strcmp(eom_edit, "add") == 0)
		assert_int_equal(op_mctx_addheader(ctx, "X-A", " one"), 0);
	if (eom_edit && strcmp(eom_edit, "quar") == 0)
		assert_int_equal(op_mctx_quarantine(ctx, "held"), 0);
	if (eom_edit && strcmp(eom_edit, "del") == 0)
		assert_int_equal(op_mctx_chgheader(ctx, "X-B", 1, NULL), 0);
	eom_edit = NULL;
	return status(ctx);
}

static int cb_abort(struct op_mctx *ctx)
{
	note("%s", "abort ");
	(void)ctx;
	return SMFIS_CONTINUE;
}

static int cb_close(struct op_mctx *ctx)
{
	note("%s", "close ");
	/* Changes outside end of message are refused. */
	assert_int_equal(op_mctx_addheader(ctx, "X-A", "v"), -1);
	return SMFIS_CONTINUE;
}

static const struct op_mcallbacks cbs = {
    .negotiate = cb_negotiate,
    .connect = cb_connect,
    .envfrom = cb_envfrom,
    .header = cb_header,
    .body = cb_body,
    .eom = cb_eom,
    .abort = cb_abort,
    .close = cb_close,
};

/* ---- packets ------------------------------------------------------------ */

/* Append a packet: cmd, then data of n bytes. */
static void pkt(struct op_buf *b, char cmd, const void *data, size_t n)
{
	uint32_t len = htonl((uint32_t)n + 1);

	assert_int_equal(op_buf_append(b, &len, 4), 0);
	assert_int_equal(op_buf_append(b, &cmd, 1), 0);
	if (n)
		assert_int_equal(op_buf_append(b, data, n), 0);
}

static void optneg(struct op_buf *b, uint32_t version, uint32_t actions, uint32_t steps)
{
	uint32_t v[3] = {htonl(version), htonl(actions), htonl(steps)};

	pkt(b, SMFIC_OPTNEG, v, sizeof(v));
}

/* A whole Postfix-like transaction after negotiation. */
static void transaction(struct op_buf *b)
{
	static const char conn[] = "mx.example\0"
				   "4\0\031" /* family, port 25 */
				   "192.0.2.1";

	pkt(b, SMFIC_CONNECT, conn, sizeof(conn));
	pkt(b, SMFIC_MACRO, "Mi\0Q1\0{auth_authen}\0bob", 24);
	pkt(b, SMFIC_MAIL, "<a@example.org>\0SIZE=10", 24);
	pkt(b, SMFIC_HEADER, "Subject\0 hi", 12);
	pkt(b, SMFIC_EOH, NULL, 0);
	pkt(b, SMFIC_BODY, "body\r\n", 6);
	pkt(b, SMFIC_BODYEOB, NULL, 0);
}

/* Render reply packets as text: "O(6,0x..,0x..) c y(550 ...) h(X-A: one)". */
static void render(const struct op_buf *out, char *txt, size_t txtsize)
{
	size_t at = 0, t = 0;

	txt[0] = '\0';
	while (at + 5 <= out->len) {
		uint32_t len;
		char cmd;
		const char *d;

		memcpy(&len, out->data + at, 4);
		len = ntohl(len);
		assert_true(len >= 1 && at + 4 + len <= out->len);
		cmd = out->data[at + 4];
		d = out->data + at + 5;
		if (cmd == SMFIC_OPTNEG) {
			uint32_t v[3];

			memcpy(v, d, 12);
			t += (size_t)snprintf(txt + t, txtsize - t, "O(%u,0x%x,0x%x", ntohl(v[0]),
					      ntohl(v[1]), ntohl(v[2]));
			for (size_t k = 12; k + 4 < len - 1; k += 4 + strlen(d + k + 4) + 1) {
				uint32_t st;

				memcpy(&st, d + k, 4);
				t += (size_t)snprintf(txt + t, txtsize - t, ",%u:%s", ntohl(st),
						      d + k + 4);
			}
			t += (size_t)snprintf(txt + t, txtsize - t, ") ");
		} else if (cmd == SMFIR_REPLYCODE || cmd == SMFIR_QUARANTINE)
			t += (size_t)snprintf(txt + t, txtsize - t, "%c(%s) ", cmd, d);
		else if (cmd == SMFIR_ADDHEADER)
			t += (size_t)snprintf(txt + t, txtsize - t, "h(%s:%s) ", d, d + strlen(d) + 1);
		else if (cmd == SMFIR_CHGHEADER) {
			uint32_t idx;

			memcpy(&idx, d, 4);
			t += (size_t)snprintf(txt + t, txtsize - t, "m(%u,%s:%s) ", ntohl(idx), d + 4,
					      d + 4 + strlen(d + 4) + 1);
		} else
			t += (size_t)snprintf(txt + t, txtsize - t, "%c ", cmd);
		at += 4 + len;
	}
	assert_int_equal(at, out->len);
	if (t > 0)
		txt[t - 1] = '\0';
}

/* Feed in to a fresh connection in pieces of step bytes (0: all at once),
 * as a socket would deliver them; return the rendered replies.  *ended is
 * set when the engine asked to end the connection. */
static void run(const struct op_buf *in, size_t step, char *txt, size_t txtsize, bool *ended)
{
	struct op_mctx *ctx = op_mctx_new(&cbs);
	struct op_buf out, pending;
	size_t fed = 0;

	assert_non_null(ctx);
	op_buf_init(&out, 1 << 20);
	op_buf_init(&pending, 1 << 20);
	trail[0] = '\0';
	*ended = false;
	while (fed < in->len && !*ended) {
		size_t n = step ? step : in->len;
		long used;

		if (n > in->len - fed)
			n = in->len - fed;
		assert_int_equal(op_buf_append(&pending, in->data + fed, n), 0);
		fed += n;
		used = op_mctx_feed(ctx, (const unsigned char *)pending.data, pending.len, &out);
		if (used < 0) {
			*ended = true;
			break;
		}
		memmove(pending.data, pending.data + used, pending.len - (size_t)used);
		op_buf_truncate(&pending, pending.len - (size_t)used);
	}
	op_mctx_finish(ctx);
	render(&out, txt, txtsize);
	op_buf_free(&out);
	op_buf_free(&pending);
	op_mctx_free(&ctx);
}

#define OFFER_ACTS  0x1ffu
#define OFFER_STEPS 0x1fffffu

/* ---- tests -------------------------------------------------------------- */

/* The negotiation reply: our version capped by the MTA's, what we want of
 * what it offered, then the macro list; SMFIP_NOHELO is only sent when
 * offered. */
static void test_negotiation_reply_is_a_subset_of_the_offer(void **state)
{
	struct op_buf in;
	char txt[512];
	bool ended;

	(void)state;
	op_buf_init(&in, 1 << 16);
	optneg(&in, 6, OFFER_ACTS, OFFER_STEPS);
	run(&in, 0, txt, sizeof(txt), &ended);
	WANT_STR("full offer", txt, "O(6,0x131,0xc0082,2:i {auth_authen})");
	op_buf_reset(&in);
	optneg(&in, 2, SMFIF_ADDHDRS, SMFIP_NR_HDR);
	run(&in, 0, txt, sizeof(txt), &ended);
	WANT_STR("version 2, no symlist action, no NOHELO", txt, "O(2,0x1,0x80)");
	op_buf_free(&in);
}

/* One transaction gives the same replies and callbacks whether it arrives
 * at once or one byte at a time. */
static void test_packets_split_anywhere_give_the_same_replies(void **state)
{
	static const size_t steps[] = {0, 1, 2, 3, 5, 7, 64};
	struct op_buf in;
	char want[512], got[512], want_trail[4096];
	bool ended;

	(void)state;
	op_buf_init(&in, 1 << 16);
	optneg(&in, 6, OFFER_ACTS, OFFER_STEPS);
	transaction(&in);
	run(&in, 0, want, sizeof(want), &ended);
	WANT_STR("replies", want, "O(6,0x131,0xc0082,2:i {auth_authen}) c c c");
	WANT_STR("callbacks", trail,
		   "negotiate connect(mx.example) mail(<a@example.org>,SIZE=10) i=Q1 "
		   "hdr(Subject: hi) body(body\r\n) eom close ");
	snprintf(want_trail, sizeof(want_trail), "%s", trail);
	for (size_t k = 1; k < sizeof(steps) / sizeof(steps[0]); k++) {
		run(&in, steps[k], got, sizeof(got), &ended);
		WANT_STR("replies in pieces", got, want);
		WANT_STR("callbacks in pieces", trail, want_trail);
		assert_false(ended);
	}
	op_buf_free(&in);
}

/* Statuses become replies: reject with a reply text is 'y', a no-reply
 * status sends nothing, and end-of-message changes come before the final
 * reply. */
static void test_statuses_and_changes_become_packets(void **state)
{
	struct op_buf in;
	char txt[512];
	bool ended;

	(void)state;
	op_buf_init(&in, 1 << 16);
	optneg(&in, 6, OFFER_ACTS, OFFER_STEPS);
	transaction(&in);
	eom_edit = "add";
	run(&in, 0, txt, sizeof(txt), &ended);
	WANT_STR("header added at eom", txt, "O(6,0x131,0xc0082,2:i {auth_authen}) c c h(X-A: one) c");
	eom_edit = "del";
	run(&in, 0, txt, sizeof(txt), &ended);
	WANT_STR("header deleted at eom", txt, "O(6,0x131,0xc0082,2:i {auth_authen}) c c m(1,X-B:) c");
	eom_edit = "quar";
	next_status = -1;
	run(&in, 0, txt, sizeof(txt), &ended);
	WANT_STR("quarantine at eom", txt, "O(6,0x131,0xc0082,2:i {auth_authen}) c c q(held) c");

	/* A reject at connect, with its text. */
	op_buf_reset(&in);
	optneg(&in, 6, OFFER_ACTS, OFFER_STEPS);
	pkt(&in, SMFIC_CONNECT, "h\0U", 4);
	next_status = SMFIS_REJECT;
	reply_at = "go away";
	run(&in, 0, txt, sizeof(txt), &ended);
	WANT_STR("reject with text", txt, "O(6,0x131,0xc0082,2:i {auth_authen}) y(550 5.7.1 go away)");
	next_status = SMFIS_TEMPFAIL;
	run(&in, 0, txt, sizeof(txt), &ended);
	WANT_STR("tempfail without text", txt, "O(6,0x131,0xc0082,2:i {auth_authen}) t");
	next_status = SMFIS_NOREPLY;
	run(&in, 0, txt, sizeof(txt), &ended);
	WANT_STR("no reply", txt, "O(6,0x131,0xc0082,2:i {auth_authen})");
	op_buf_free(&in);
}

/* Macros: braces optional, a later definition replaces the earlier one,
 * and the message's macros are gone after its end. */
static void test_macros_by_stage_and_cleared_after_the_message(void **state)
{
	struct op_buf in;
	char txt[512];
	bool ended;

	(void)state;
	op_buf_init(&in, 1 << 16);
	optneg(&in, 6, OFFER_ACTS, OFFER_STEPS);
	pkt(&in, SMFIC_MACRO, "C{i}\0C0", 8);
	pkt(&in, SMFIC_CONNECT, "h\0U", 4);
	pkt(&in, SMFIC_MAIL, "<a@x>", 6);
	pkt(&in, SMFIC_MACRO, "Mi\0M1", 6);
	pkt(&in, SMFIC_MAIL, "<b@x>", 6);
	pkt(&in, SMFIC_BODYEOB, NULL, 0);
	pkt(&in, SMFIC_MAIL, "<c@x>", 6);
	pkt(&in, SMFIC_MACRO, "E", 1); /* a macro packet with no macros */
	pkt(&in, SMFIC_ABORT, NULL, 0);
	run(&in, 0, txt, sizeof(txt), &ended);
	WANT_STR("callbacks", trail,
		   "negotiate connect(h) mail(<a@x>) i=C0 mail(<b@x>) i=M1 eom mail(<c@x>) i=C0 "
		   "abort close ");
	assert_false(ended);
	op_buf_free(&in);
}

/* A body chunk inside the end-of-message packet reaches body, then eom;
 * a broken connection in a message aborts it before close. */
static void test_final_chunk_and_abort_on_a_broken_connection(void **state)
{
	struct op_buf in;
	char txt[512];
	bool ended;

	(void)state;
	op_buf_init(&in, 1 << 16);
	optneg(&in, 6, OFFER_ACTS, OFFER_STEPS);
	pkt(&in, SMFIC_MAIL, "<a@x>", 6);
	pkt(&in, SMFIC_BODYEOB, "tail", 4);
	pkt(&in, SMFIC_MAIL, "<b@x>", 6);
	run(&in, 0, txt, sizeof(txt), &ended);
	WANT_STR("callbacks", trail,
		   "negotiate mail(<a@x>) i=- body(tail) eom mail(<b@x>) i=- abort close ");
	op_buf_free(&in);
}

/* QUIT_NC: the callbacks' connection ends and a new one begins on the same
 * socket, with the negotiation kept. */
static void test_quit_new_connection_renews_the_callbacks(void **state)
{
	struct op_buf in;
	char txt[512];
	bool ended;

	(void)state;
	op_buf_init(&in, 1 << 16);
	optneg(&in, 6, OFFER_ACTS, OFFER_STEPS);
	pkt(&in, SMFIC_CONNECT, "one\0U", 5); /* unknown family: no port, no NUL */
	pkt(&in, SMFIC_QUIT_NC, NULL, 0);
	pkt(&in, SMFIC_CONNECT, "two\0U", 5);
	pkt(&in, SMFIC_QUIT, NULL, 0);
	pkt(&in, SMFIC_CONNECT, "after-quit\0U", 13);
	run(&in, 0, txt, sizeof(txt), &ended);
	WANT_STR("callbacks", trail,
		   "negotiate connect(one) close negotiate connect(two) close ");
	WANT_STR("replies", txt, "O(6,0x131,0xc0082,2:i {auth_authen}) c c");
	assert_true(ended);
	op_buf_free(&in);
}

/* Protocol errors end the connection (the MTA then applies its default
 * action); nothing reaches a callback after them. */
static void test_protocol_errors_end_the_connection(void **state)
{
	static const struct {
		const char *what;
		const char *bytes;
		size_t n;
		const char *want_trail;
	} rows[] = {
	    {"a command before negotiation", "\0\0\0\002Ch", 6, ""},
	    {"an unknown command", "\0\0\0\001Z", 5, "negotiate close "},
	    {"a header without its value", "\0\0\0\004LSub", 8, "negotiate close "},
	    {"a string without its NUL", "\0\0\0\002Hh", 6, "negotiate close "},
	    {"a length of zero", "\0\0\0\0", 4, "negotiate close "},
	    {"a packet over the bound", "\0\x40\0\0C", 5, "negotiate close "},
	    {"a second negotiation", "\0\0\0\015O\0\0\0\006\0\0\0\0\0\0\0\0", 17,
	     "negotiate close "},
	};
	char txt[512];
	bool ended;

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct op_buf in;

		op_buf_init(&in, 1 << 16);
		if (i > 0)
			optneg(&in, 6, OFFER_ACTS, OFFER_STEPS);
		assert_int_equal(op_buf_append(&in, rows[i].bytes, rows[i].n), 0);
		pkt(&in, SMFIC_CONNECT, "late\0U", 7); /* must never be seen */
		run(&in, 0, txt, sizeof(txt), &ended);
		if (!ended || strcmp(trail, rows[i].want_trail) != 0)
			fail_msg("%s: got ended=%d callbacks '%s', wanted ended=1 callbacks '%s'",
				 rows[i].what, ended, trail, rows[i].want_trail);
		op_buf_free(&in);
	}
}

/* setreply accepts what libmilter's smfi_setreply accepts. */
static void test_setreply_checks_codes_and_text(void **state)
{
	static const struct {
		const char *rcode, *xcode, *text;
		int want;
	} rows[] = {
	    {"550", "5.7.1", "no", 0},	 {"451", "4.3.0", "later", 0}, {"451", NULL, "t", 0},
	    {"451", "", "t", 0},	 {"250", "2.0.0", "ok", -1},   {"55", "5.7.1", "x", -1},
	    {"5x0", "5.7.1", "x", -1},	 {"550", "4.7.1", "x", -1},    {"550", "5.7", "x", -1},
	    {"550", "5..1", "x", -1},	 {"550", "5.7.1.", "x", -1},   {"550", "5.7.a", "x", -1},
	    {"550", "5.7.1", "a\nb", -1}, {"550", "5.7.1", "a\rb", -1}, {NULL, NULL, "x", -1},
	};
	struct op_mctx *ctx = op_mctx_new(&cbs);

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int got = op_mctx_setreply(ctx, rows[i].rcode, rows[i].xcode, rows[i].text);

		if (got != rows[i].want)
			fail_msg("setreply(%s, %s, %s): got %d, wanted %d",
				 rows[i].rcode ? rows[i].rcode : "NULL",
				 rows[i].xcode ? rows[i].xcode : "NULL", rows[i].text, got,
				 rows[i].want);
	}
	op_mctx_free(&ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_negotiation_reply_is_a_subset_of_the_offer),
	    cmocka_unit_test(test_packets_split_anywhere_give_the_same_replies),
	    cmocka_unit_test(test_statuses_and_changes_become_packets),
	    cmocka_unit_test(test_macros_by_stage_and_cleared_after_the_message),
	    cmocka_unit_test(test_final_chunk_and_abort_on_a_broken_connection),
	    cmocka_unit_test(test_quit_new_connection_renews_the_callbacks),
	    cmocka_unit_test(test_protocol_errors_end_the_connection),
	    cmocka_unit_test(test_setreply_checks_codes_and_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
