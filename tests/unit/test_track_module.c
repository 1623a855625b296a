/*
 * test_track_module.c - the track module (plugin/mod_track.c) driven
 * through the daemon's pipeline at MAIL, RCPT and EOH over a loaded
 * configuration, one table row per message.  Each row says which header
 * edits the module must queue, written compactly:
 *
 *   -Name#N   delete the Nth received header called Name
 *   +Name     add Name (its value is checked separately when the row says)
 *
 * and what its summary line and event members hold.
 */
#include "config.h"

#include "unit.h"

#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "outpost/buf.h"
#include "outpost/config.h"
#include "outpost/event.h"
#include "outpost/message.h"
#include "outpost/pipeline.h"
#include "outpost/pool.h"
#include "outpost/unsub.h"

static const char conf_text[] =
	"track: { enabled = true; unsubscribe_url = \"https://u.example.net/u/{token}?x=1\";\n"
	"  unsubscribe_mailto = \"unsub@example.net\"; max_tags = 3; max_tag_length = 8;\n"
	"  unsubscribe_secrets = [ \"0123456789abcdef0123\" ]; };\n"
	"tenants = ( { name = \"acme\"; domains = [\"acme.example\"]; logins = [\"alice\"];\n"
	"    track = { sender_id = \"outpost1\"; bulk = true; }; },\n"
	"  { name = \"beta\"; domains = [\"beta.example\"];\n"
	"    track = { sender_id = \"betasend\"; feedback_id = \"{list}:{campaign}\";\n"
	"              bulk_lists = [\"news.beta.example\"]; }; },\n"
	"  { name = \"plain\"; domains = [\"plain.example\"]; } );\n";

#define MAXH 8

struct row {
	const char *label;
	const char *from;      /* envelope sender: picks the tenant */
	bool internal;
	size_t nrcpts;
	const char *hdrs[MAXH][2];
	const char *edits;     /* compact form, see the top */
	const char *summary;   /* part of the summary line */
	const char *event;     /* part of the track members */
	const char *fbid;      /* Feedback-ID value, or NULL */
	const char *unsub_rcpt; /* the token's recipient, or NULL when no List-Unsubscribe */
};

/* clang-format off */
static const struct row rows[] = {
	{"bulk tenant, one recipient: every header", "news@acme.example", true, 1,
	 {{"From", " a@acme.example"}, {"Subject", " hi"}},
	 "+X-Outpost-ID +Feedback-ID +List-Unsubscribe +List-Unsubscribe-Post",
	 "track=add id=", "\"unsubscribe\":\"recipient\"", "acme:bulk:outpost1", "bob@example.net"},
	{"forged ID, campaign and tags removed; client Feedback-ID replaced", "news@acme.example", true, 1,
	 {{"X-Outpost-ID", " forged"}, {"X-Outpost-Campaign", " Spring Sale"}, {"X-Outpost-Tag", " a, b"},
	  {"x-outpost-id", " forged too"}, {"X-Outpost-Tag", " c,d,e"}, {"Feedback-ID", " x:y:z:forged"}},
	 "-X-Outpost-ID#2 -X-Outpost-ID#1 -X-Outpost-Campaign#1 -X-Outpost-Tag#2 -X-Outpost-Tag#1 "
	 "+X-Outpost-ID -Feedback-ID#1 +Feedback-ID +List-Unsubscribe +List-Unsubscribe-Post",
	 "removed=6 tags=3", "\"campaign\":\"Spring_S\"", "Spring_S:acme:bulk:outpost1", "bob@example.net"},
	{"two recipients: the token names none", "news@acme.example", true, 2,
	 {{"From", " a@acme.example"}},
	 "+X-Outpost-ID +Feedback-ID +List-Unsubscribe +List-Unsubscribe-Post",
	 "unsub=list", "\"unsubscribe\":\"list\"", "acme:bulk:outpost1", ""},
	{"sender's List-Unsubscribe kept", "news@acme.example", true, 1,
	 {{"List-Unsubscribe", " <https://acme.example/u>"}, {"List-Unsubscribe-Post", " List-Unsubscribe=One-Click"}},
	 "+X-Outpost-ID +Feedback-ID", "unsub=sender", "\"unsubscribe\":\"sender\"", "acme:bulk:outpost1", NULL},
	{"bulk list of a tenant", "x@beta.example", true, 1,
	 {{"List-Id", " Beta news <news.beta.example>"}, {"X-Outpost-Campaign", " c7"}},
	 "-X-Outpost-Campaign#1 +X-Outpost-ID +Feedback-ID +List-Unsubscribe +List-Unsubscribe-Post",
	 "track=add", "\"list\":\"news.beta.example\"", "news.beta.example:c7:betasend", "bob@example.net"},
	{"other list of that tenant: not bulk", "x@beta.example", true, 1,
	 {{"List-Id", " <other.beta.example>"}},
	 "+X-Outpost-ID +Feedback-ID", "track=add", "\"bulk\":false", "other.beta.example:betasend", NULL},
	{"tenant without track settings: ID only", "x@plain.example", true, 1,
	 {{"From", " x@plain.example"}}, "+X-Outpost-ID", "added=X-Outpost-ID", "\"feedback_id\":null", NULL, NULL},
	{"external mail: forged ID removed, nothing added", "x@acme.example", false, 1,
	 {{"X-Outpost-ID", " forged"}}, "-X-Outpost-ID#1", "track=skip id=", "\"result\":\"skip\"", NULL, NULL},
};
/* clang-format on */

static struct op_config *load(void)
{
	char path[] = "/tmp/test-track.XXXXXX", err[512];
	int fd = mkstemp(path);
	struct op_config *c;

	assert_true(fd >= 0);
	assert_true(write(fd, conf_text, sizeof(conf_text) - 1) == (ssize_t)(sizeof(conf_text) - 1));
	close(fd);
	c = op_config_load(path, 1, err, sizeof(err));
	unlink(path);
	if (c == NULL) {
		print_error("config: %s\n", err);
		fail();
	}
	return c;
}

static void edits_compact(const struct op_msg *m, struct op_buf *b)
{
	for (size_t i = 0; i < m->nedits; i++) {
		const struct op_edit *e = &m->edits[i];

		if (e->kind == OP_EDIT_DELETE)
			op_buf_printf(b, "%s-%s#%u", i ? " " : "", e->name, e->index);
		else
			op_buf_printf(b, "%s+%s", i ? " " : "", e->name);
	}
}

static const char *added_value(const struct op_msg *m, const char *name)
{
	for (size_t i = 0; i < m->nedits; i++)
		if (m->edits[i].kind == OP_EDIT_ADD && strcmp(m->edits[i].name, name) == 0)
			return m->edits[i].value;
	return NULL;
}

/* The token of "<https://u.example.net/u/TOKEN?x=1>..." */
static void token_of(const char *v, char *out, size_t n)
{
	const char *p = strstr(v, "/u/"), *e = p ? strchr(p, '?') : NULL;

	out[0] = '\0';
	if (p && e && (size_t)(e - p - 3) < n) {
		memcpy(out, p + 3, (size_t)(e - p - 3));
		out[e - p - 3] = '\0';
	}
}

static void run_row(const struct row *r, struct op_config *cfg)
{
	struct op_conn conn = {0};
	struct op_msg m = {0};
	struct op_ctx ctx = {0};
	struct op_verdict v;
	struct op_buf b;
	int track = op_pipeline_index("track");
	char *rcpts[2] = {"bob@example.net", "carol@example.net"};
	struct op_header hdrs[MAXH];
	size_t nh = 0;

	conn.client_addr = r->internal ? "127.0.0.1" : "192.0.2.9";
	conn.client_name = conn.helo = conn.mta_name = "";
	m.pool = op_pool_new();
	m.cfg = cfg;
	m.conn = &conn;
	m.mail_from = (char *)r->from;
	m.mail_domain = strchr(r->from, '@') + 1;
	m.class = r->internal ? OP_CLASS_HOST : OP_CLASS_EXTERNAL;
	m.tenant = op_tenant_by_domain(cfg, m.mail_domain);
	snprintf(m.queue_id, sizeof(m.queue_id), "Q");
	for (; nh < MAXH && r->hdrs[nh][0]; nh++) {
		hdrs[nh].name = r->hdrs[nh][0];
		hdrs[nh].value = r->hdrs[nh][1];
		hdrs[nh].value_len = strlen(r->hdrs[nh][1]);
	}
	m.hdrs = hdrs;
	m.nhdrs = nh;
	ctx.conn = &conn;
	ctx.msg = &m;
	op_pipeline_run(OP_STAGE_MAIL, &ctx, &v);
	WANT_INT(r->label, v.action, OP_ACT_CONTINUE);
	m.rcpts = rcpts;
	m.nrcpts = r->nrcpts;
	op_pipeline_run(OP_STAGE_EOH, &ctx, &v);
	WANT_INT(r->label, v.action, OP_ACT_CONTINUE);
	WANT_SIZE(r->label, strlen(m.tracking_id), 36);
	op_buf_init(&b, 4096);
	edits_compact(&m, &b);
	WANT_STR(r->label, op_buf_str(&b), r->edits);
	op_buf_free(&b);
	WANT_CONTAINS(r->label, m.summary[track], r->summary);
	WANT_CONTAINS(r->label, m.event[track], r->event);
	WANT_STR(r->label, added_value(&m, "Feedback-ID"), r->fbid);
	if (r->unsub_rcpt != NULL) {
		const char *lu = added_value(&m, "List-Unsubscribe");
		const char *secrets[] = {"0123456789abcdef0123"};
		char tok[OP_UNSUB_TOKEN_MAX];
		struct op_unsub u;

		WANT_CONTAINS(r->label, lu, "<https://u.example.net/u/");
		WANT_CONTAINS(r->label, lu, ",\r\n\t<mailto:unsub@example.net?subject=unsubscribe%20");
		WANT_STR(r->label, added_value(&m, "List-Unsubscribe-Post"), "List-Unsubscribe=One-Click");
		token_of(lu, tok, sizeof(tok));
		WANT_INT(r->label, op_unsub_verify(tok, secrets, 1, time(NULL), &u), OP_UNSUB_VALID);
		WANT_STR(r->label, u.rcpt, r->unsub_rcpt);
		WANT_STR(r->label, u.tenant, m.tenant->name);
	} else {
		WANT_STR(r->label, added_value(&m, "List-Unsubscribe"), NULL);
	}
	op_pool_free(&m.pool);
}

static void test_track_rows(void **state)
{
	struct op_config *cfg = load();

	(void)state;
	for (size_t i = 0; i < NROWS(rows); i++)
		run_row(&rows[i], cfg);
	op_config_unref(&cfg);
}

static void test_tags_are_bounded(void **state)
{
	static const struct row r = {"tags", "x@plain.example", true, 1,
		{{"X-Outpost-Tag", " short, much-too-long-tag, , x\001y"}, {"X-Outpost-Tag", " four, five"}},
		"-X-Outpost-Tag#2 -X-Outpost-Tag#1 +X-Outpost-ID", "tags=3", "\"removed\":2", NULL, NULL};
	struct op_config *cfg = load();

	(void)state;
	run_row(&r, cfg);
	op_config_unref(&cfg);
}

/* Broken settings are refused at load with the key named. */
static void test_bad_settings_refused(void **state)
{
	static const struct {
		const char *text, *want;
	} bad[] = {
		{"track: { enabled = true; sender_id = \"abc\"; };", "track.sender_id must have 5 to 15"},
		{"track: { enabled = true; feedback_id = \"a:b:c:d\"; };", "track.feedback_id more than 3 parts"},
		{"track: { enabled = true; header = \"X Bad\"; };", "track.header is not a header field name"},
		{"track: { enabled = true; unsubscribe_url = \"http://x/{token}\"; };", "must start with https://"},
		{"track: { enabled = true; unsubscribe_url = \"https://x/\"; };", "must hold {token} exactly once"},
		{"track: { enabled = true; unsubscribe_secrets = [\"short\"]; };", "shorter than 16 octets"},
		{"track: { enabled = true; };\ntenants = ( { name = \"t\"; track = { bulk = true; }; } );",
		 "tenant t sends bulk mail"},
		{"track: { enabled = true; };\ntenants = ( { name = \"t\"; track = { colour = 1; }; } );",
		 "unknown tenant track key 'colour'"},
		{"track: { enabled = true; };\ntenants = ( { name = \"t\"; track = { sender_id = \"x\"; }; } );",
		 ":2: tenant track.sender_id \"x\": must have 5 to 15"},
	};

	(void)state;
	for (size_t i = 0; i < NROWS(bad); i++) {
		char path[] = "/tmp/test-track.XXXXXX", err[512] = "";
		int fd = mkstemp(path);
		struct op_config *c;

		assert_true(write(fd, bad[i].text, strlen(bad[i].text)) > 0);
		close(fd);
		c = op_config_load(path, 1, err, sizeof(err));
		unlink(path);
		WANT_PTR(bad[i].text, c, NULL);
		WANT_CONTAINS(bad[i].text, err, bad[i].want);
		op_config_unref(&c);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_track_rows),
		cmocka_unit_test(test_tags_are_bounded),
		cmocka_unit_test(test_bad_settings_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
