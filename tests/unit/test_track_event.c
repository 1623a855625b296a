/*
 * test_track_event.c - the per-message event log (plugin/event.c,
 * include/outpost/event.h).
 *
 * - JSON strings: every input becomes valid RFC 8259 text (quotes and
 *   backslashes escaped, control characters as \u00XX, valid UTF-8 kept,
 *   each octet of invalid UTF-8 as U+FFFD);
 * - an event carries the message's fields, each module's members or its
 *   summary line's fields, and the tags, and parses with jq (when
 *   installed) as one object;
 * - the writer: every queued event lands in event.file as one line; a
 *   file that cannot be written (/dev/full) never slows the caller, and
 *   the events past event.max_queue are dropped and counted; SIGUSR1's
 *   reopen starts a new file after a rename (logrotate).
 */
#include "config.h"

#include "unit.h"

#include <stdbool.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "outpost/buf.h"
#include "outpost/config.h"
#include "outpost/event.h"
#include "outpost/log.h"
#include "outpost/message.h"
#include "outpost/pipeline.h"
#include "outpost/pool.h"

/* clang-format off */
static const struct {
	const char *label, *in;
	size_t n;
	const char *want;
} str_rows[] = {
	{"plain", "abc", 3, "\"abc\""},
	{"quote and backslash", "a\"b\\c", 5, "\"a\\\"b\\\\c\""},
	{"controls", "a\r\n\tb\001\177", 7, "\"a\\u000d\\u000a\\u0009b\\u0001\\u007f\""},
	{"NUL inside", "a\0b", 3, "\"a\\u0000b\""},
	{"valid UTF-8 kept", "Gr\xc3\xbc\xc3\x9f\xe2\x82\xac\xf0\x9f\x98\x80", 13,
	 "\"Gr\xc3\xbc\xc3\x9f\xe2\x82\xac\xf0\x9f\x98\x80\""},
	{"lone continuation", "a\x80z", 3, "\"a\\ufffdz\""},
	{"Latin-1", "caf\xe9", 4, "\"caf\\ufffd\""},
	{"overlong slash", "\xc0\xaf", 2, "\"\\ufffd\\ufffd\""},
	{"surrogate", "\xed\xa0\x80", 3, "\"\\ufffd\\ufffd\\ufffd\""},
	{"cut sequence", "\xe2\x82", 2, "\"\\ufffd\\ufffd\""},
	{"past U+10FFFF", "\xf4\x90\x80\x80", 4, "\"\\ufffd\\ufffd\\ufffd\\ufffd\""},
	{"slash left alone", "a/b", 3, "\"a/b\""},
};
/* clang-format on */

static void test_json_strings(void **state)
{
	(void)state;
	for (size_t i = 0; i < NROWS(str_rows); i++) {
		struct op_buf b;

		op_buf_init(&b, 1024);
		WANT_INT(str_rows[i].label, op_json_str(&b, str_rows[i].in, str_rows[i].n), 0);
		WANT_STR(str_rows[i].label, op_buf_str(&b), str_rows[i].want);
		op_buf_free(&b);
	}
}

static char path_conf[64], path_events[64];

/* A config with event.file = path (or /dev/full), made current. */
static struct op_config *load(const char *events, const char *extra)
{
	char text[512], err[512];
	struct op_config *c;
	FILE *f;
	int fd;

	snprintf(path_conf, sizeof(path_conf), "/tmp/test-event.XXXXXX");
	fd = mkstemp(path_conf);
	assert_true(fd >= 0);
	snprintf(text, sizeof(text), "event: { file = \"%s\"; %s };\n", events, extra);
	f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
	c = op_config_load(path_conf, 1, err, sizeof(err));
	unlink(path_conf);
	if (c == NULL) {
		print_error("config: %s\n", err);
		fail();
	}
	op_config_set_current(c);
	return c;
}

struct fixture {
	struct op_conn conn;
	struct op_msg msg;
	char *rcpts[3];
	char *tags[2];
};

static void fixture_init(struct fixture *fx, struct op_config *cfg)
{
	size_t nmods;
	const struct op_module *const *mods = op_pipeline_modules(&nmods);
	int dkim = op_pipeline_index("dkim"), track = op_pipeline_index("track");

	(void)mods;
	memset(fx, 0, sizeof(*fx));
	fx->conn.client_addr = "192.0.2.1";
	fx->conn.client_name = "client.example";
	fx->conn.helo = "helo.example";
	fx->msg.pool = op_pool_new();
	fx->msg.cfg = cfg;
	fx->msg.conn = &fx->conn;
	clock_gettime(CLOCK_MONOTONIC, &fx->msg.start);
	snprintf(fx->msg.queue_id, sizeof(fx->msg.queue_id), "4ABCDEF");
	snprintf(fx->msg.tracking_id, sizeof(fx->msg.tracking_id), "01a209c0-e8f9-79b3-9ff7-ae3edbbcec49");
	fx->msg.mail_from = "alice@example.com";
	fx->msg.auth_authen = "alice \"the\" admin";
	fx->msg.class = OP_CLASS_AUTH;
	fx->rcpts[0] = "bob@Example.NET";
	fx->rcpts[1] = "carol@example.net";
	fx->rcpts[2] = "dave@other.example";
	fx->msg.rcpts = fx->rcpts;
	fx->msg.nrcpts = 3;
	fx->msg.hdr_bytes = 100;
	fx->msg.body_bytes = 23;
	fx->tags[0] = "vip";
	fx->tags[1] = "caf\xe9";
	fx->msg.tags = fx->tags;
	fx->msg.ntags = 2;
	op_verdict_clear(&fx->msg.final);
	snprintf(fx->msg.summary[dkim], OP_SUMMARY_MAX,
		 "dkim=skip reason=\"no key for \"quoted\" example.org\" d=x d=y");
	assert_int_equal(op_event_add_str(&fx->msg, (size_t)track, "result", "add"), 0);
	assert_int_equal(op_event_add_int(&fx->msg, (size_t)track, "removed", 2), 0);
	assert_int_equal(op_event_add_bool(&fx->msg, (size_t)track, "bulk", true), 0);
	{
		const char *added[] = {"X-Outpost-ID", "Feedback-ID"};

		assert_int_equal(op_event_add_strs(&fx->msg, (size_t)track, "added", added, 2), 0);
	}
}

/* Pipe text to `jq -c .` when jq is installed; returns its output (static)
 * or NULL when jq is not there. */
static const char *jq(const char *text)
{
	static char out[8192];
	char cmd[128], tmp[] = "/tmp/test-event-jq.XXXXXX";
	int fd = mkstemp(tmp);
	FILE *p;
	size_t n;

	if (system("command -v jq >/dev/null 2>&1") != 0 || fd < 0)
		return NULL;
	if (write(fd, text, strlen(text)) < 0)
		return NULL;
	close(fd);
	snprintf(cmd, sizeof(cmd), "jq -c . < %s 2>&1", tmp);
	p = popen(cmd, "r");
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	pclose(p);
	unlink(tmp);
	return out;
}

static void test_event_fields(void **state)
{
	struct op_config *cfg = load("/dev/null", "");
	struct fixture fx;
	struct op_buf b;
	const char *parsed;

	(void)state;
	fixture_init(&fx, cfg);
	op_verdict_set(&fx.msg.final, OP_ACT_REJECT, "550", "5.7.1", "no \"thanks\"");
	fx.msg.final.module = "spf";
	op_buf_init(&b, 65536);
	WANT_INT("build", op_event_build(&fx.msg, "eom", &b), 0);
	WANT_CONTAINS("starts with time", op_buf_str(&b), "{\"time\":\"20");
	WANT_CONTAINS("end", op_buf_str(&b), "\"end\":\"eom\",\"queue_id\":\"4ABCDEF\"");
	WANT_CONTAINS("tracking id", op_buf_str(&b), "\"tracking_id\":\"01a209c0-e8f9-79b3-9ff7-ae3edbbcec49\"");
	WANT_CONTAINS("no tenant", op_buf_str(&b), "\"tenant\":null");
	WANT_CONTAINS("login escaped", op_buf_str(&b), "\"login\":\"alice \\\"the\\\" admin\"");
	WANT_CONTAINS("client", op_buf_str(&b), "\"client_ip\":\"192.0.2.1\"");
	WANT_CONTAINS("helo", op_buf_str(&b), "\"helo\":\"helo.example\"");
	WANT_CONTAINS("rcpts", op_buf_str(&b),
		      "\"rcpt_count\":3,\"rcpt_domains\":[\"example.net\",\"other.example\"]");
	WANT_CONTAINS("size", op_buf_str(&b), "\"size\":123");
	WANT_CONTAINS("reply", op_buf_str(&b),
		      "\"verdict\":\"reject\",\"reply\":{\"code\":\"550\",\"xcode\":\"5.7.1\",\"text\":\"no \\\"thanks\\\"\"},\"by\":\"spf\"");
	WANT_CONTAINS("track members", op_buf_str(&b),
		      "\"track\":{\"result\":\"add\",\"removed\":2,\"bulk\":true,\"added\":[\"X-Outpost-ID\",\"Feedback-ID\"]}");
	WANT_CONTAINS("dkim from its summary, first d kept", op_buf_str(&b),
		      "\"dkim\":{\"result\":\"skip\",\"reason\":\"no key for \\\"quoted\\\" example.org\",\"d\":\"x\"}");
	WANT_CONTAINS("tags", op_buf_str(&b), "\"tags\":[\"vip\",\"caf\\ufffd\"]");
	WANT_CONTAINS("duration last", op_buf_str(&b), ",\"duration_us\":");
	if (strchr(op_buf_str(&b), '\n') != NULL) {
		print_error("event holds a newline: %s\n", op_buf_str(&b));
		fail();
	}
	parsed = jq(op_buf_str(&b));
	if (parsed != NULL)
		WANT_CONTAINS("jq parses it", parsed, "\"queue_id\":\"4ABCDEF\"");
	op_buf_free(&b);
	op_pool_free(&fx.msg.pool);
	op_config_set_current(NULL);
	op_config_unref(&cfg);
}

static size_t count_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;
	int c;

	if (f == NULL)
		return 0;
	while ((c = getc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

static double since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static void test_writer_writes_every_line_and_reopens(void **state)
{
	struct op_config *cfg;
	struct fixture fx;
	uint64_t written, dropped, w0, d0;
	char rotated[80];
	int fd;

	(void)state;
	snprintf(path_events, sizeof(path_events), "/tmp/test-events.XXXXXX");
	fd = mkstemp(path_events);
	close(fd);
	snprintf(rotated, sizeof(rotated), "%s.1", path_events);
	cfg = load(path_events, "");
	fixture_init(&fx, cfg);
	op_event_stats(&w0, &d0);
	WANT_INT("start", op_event_start(), 0);
	for (int i = 0; i < 500; i++)
		op_event_msg(&fx.msg, "eom");
	for (int i = 0; i < 100 && count_lines(path_events) < 500; i++)
		usleep(20000);
	WANT_SIZE("lines before the rotation", count_lines(path_events), 500);
	WANT_INT("rename", rename(path_events, rotated), 0);
	op_event_reopen();
	usleep(100000);
	for (int i = 0; i < 7; i++)
		op_event_msg(&fx.msg, "abort");
	op_event_stop(2000);
	op_event_stats(&written, &dropped);
	WANT_SIZE("rotated file", count_lines(rotated), 500);
	WANT_SIZE("new file", count_lines(path_events), 7);
	WANT_SIZE("written", written - w0, 507);
	WANT_SIZE("dropped", dropped - d0, 0);
	{
		const char *parsed;
		char cmd[160];

		snprintf(cmd, sizeof(cmd), "jq -c .end %s 2>&1 | sort | uniq -c | tr -s ' '", path_events);
		parsed = system("command -v jq >/dev/null 2>&1") == 0 ? "" : NULL;
		if (parsed != NULL) {
			FILE *p = popen(cmd, "r");
			char out[128] = "";

			if (fgets(out, sizeof(out), p) == NULL)
				out[0] = '\0';
			pclose(p);
			WANT_STR("jq reads every line", out, " 7 \"abort\"\n");
		}
	}
	unlink(path_events);
	unlink(rotated);
	op_pool_free(&fx.msg.pool);
	op_config_set_current(NULL);
	op_config_unref(&cfg);
}

/* A disk that is full: the caller never waits, lines past the 64 KiB
 * queue are dropped and counted. */
static void test_full_disk_drops_and_never_blocks(void **state)
{
	struct op_config *cfg = load("/dev/full", "max_queue = \"64K\";");
	struct fixture fx;
	struct timespec t0;
	uint64_t written, dropped, w0, d0;
	double secs;

	(void)state;
	fixture_init(&fx, cfg);
	op_event_stats(&w0, &d0);
	WANT_INT("start", op_event_start(), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < 2000; i++)
		op_event_msg(&fx.msg, "eom");
	secs = since(&t0);
	if (secs > 1.0) {
		print_error("2000 events took %.2f s with a full disk: got blocked, want < 1 s\n", secs);
		fail();
	}
	op_event_stop(200);
	op_event_stats(&written, &dropped);
	WANT_SIZE("written", written - w0, 0);
	WANT_SIZE("every event dropped (queue full, then at stop)", dropped - d0, 2000);
	op_pool_free(&fx.msg.pool);
	op_config_set_current(NULL);
	op_config_unref(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_strings),
		cmocka_unit_test(test_event_fields),
		cmocka_unit_test(test_writer_writes_every_line_and_reopens),
		cmocka_unit_test(test_full_disk_drops_and_never_blocks),
	};

	op_log_open("test_track_event", true);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
