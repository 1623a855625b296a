/*
 * test_core_config.c - loading, checking and publishing configuration
 * snapshots (plugin/config.c, plugin/config_value.c, plugin/config_tenant.c;
 * contracts in include/outpost/config.h and include/outpost/conftab.h).
 *
 * Every file is written into a fresh temporary directory and loaded with
 * op_config_load().  Errors must name the file and the line of the setting
 * at fault ("FILE:LINE: ..."), so each error row gives its line.  Values
 * are checked in the snapshot's fields; whole-snapshot comparisons go
 * through op_config_print(), which writes every key of the table.
 */
#include "config.h"

#include "unit.h"

#include <pthread.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "outpost/buf.h"
#include "outpost/config.h"
#include "outpost/conftab.h"

static char dir[64];
static unsigned nfiles;

static int make_dir(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/outpost-test-config-XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int remove_dir(void **state)
{
	char path[128];

	for (unsigned i = 0; i < nfiles; i++) {
		snprintf(path, sizeof(path), "%s/%u.conf", dir, i);
		unlink(path);
	}
	return rmdir(dir);
}

/* Write text to a new file of the temp dir; its path goes to path. */
static void write_conf(const char *text, char *path, size_t pathsize)
{
	FILE *f;

	snprintf(path, pathsize, "%s/%u.conf", dir, nfiles++);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* Load text; fail the test, printing the error, when it does not load. */
static struct op_config *load_ok(const char *label, const char *text)
{
	char path[128], err[512] = "";
	struct op_config *c;

	write_conf(text, path, sizeof(path));
	c = op_config_load(path, 1, err, sizeof(err));
	if (c == NULL) {
		print_error("%s: got error \"%s\", want a snapshot\n  file:\n%s\n", label, err,
			    text);
		fail();
	}
	return c;
}

/* Load text expecting failure; the error goes to err, the file to path. */
static void load_bad(const char *label, const char *text, char *path, size_t pathsize, char *err,
		     size_t errsize)
{
	struct op_config *c;

	err[0] = '\0';
	write_conf(text, path, pathsize);
	c = op_config_load(path, 1, err, errsize);
	if (c != NULL) {
		op_config_unref(&c);
		print_error("%s: got a snapshot, want an error\n  file:\n%s\n", label, text);
		fail();
	}
}

/* op_config_print() output of c (NULL: the table's defaults). */
static char *print_conf(const struct op_config *c)
{
	char *text = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&text, &n);

	assert_non_null(f);
	op_config_print(c, false, f);
	assert_int_equal(fclose(f), 0);
	return text;
}

/* ---- defaults ---------------------------------------------------------- */

/* A file that sets every key of the table to its documented default, as a
 * string (every type parses from its default text), grouped by section. */
static void write_all_defaults(struct op_buf *b)
{
	size_t n;
	const struct op_conf_key *tab = op_conftab(&n);
	char section[64] = "";

	for (size_t i = 0; i < n; i++) {
		const char *dot = strchr(tab[i].name, '.');

		if (tab[i].type == OP_CT_SECTION || tab[i].def == NULL || dot == NULL)
			continue;
		if (strncmp(section, tab[i].name, (size_t)(dot - tab[i].name)) != 0 ||
		    section[dot - tab[i].name] != '\0') {
			if (section[0])
				op_buf_puts(b, "};\n");
			snprintf(section, sizeof(section), "%.*s", (int)(dot - tab[i].name),
				 tab[i].name);
			op_buf_printf(b, "%s = {\n", section);
		}
		op_buf_printf(b, "  %s = \"%s\";\n", dot + 1, tab[i].def);
	}
	if (section[0])
		op_buf_puts(b, "};\n");
}

static void test_config_empty_file_gives_the_table_defaults(void **state)
{
	struct op_config *empty = load_ok("empty file", "");
	struct op_config *comment = load_ok("only a comment", "# nothing here\n\n");
	struct op_config *spelled;
	struct op_buf b;
	char *p_empty, *p_comment, *p_spelled;

	op_buf_init(&b, 1 << 16);
	write_all_defaults(&b);
	spelled = load_ok("every default spelled out", op_buf_str(&b));
	p_empty = print_conf(empty);
	p_comment = print_conf(comment);
	p_spelled = print_conf(spelled);
	WANT_STR("empty file vs. every default spelled out", p_empty, p_spelled);
	WANT_STR("comment-only file vs. empty file", p_comment, p_empty);
	/* A few defaults by value, as documented in the table. */
	WANT_STR("milter.socket", empty->milter_socket, "unix:/run/outpost/outpost.sock");
	WANT_INT("milter.socket_mode", empty->milter_socket_mode, 0660);
	WANT_INT("milter.timeout", empty->milter_timeout_ms, 300000);
	WANT_INT("limits.max_header_bytes", empty->max_header_bytes, 1024 * 1024);
	WANT_INT("limits.max_header_length", empty->max_header_length, 128 * 1024);
	WANT_INT("actions.on_store_error", empty->on_error[OP_ERR_STORE], OP_ACT_ACCEPT);
	WANT_INT("actions.on_limit", empty->on_error[OP_ERR_LIMIT], OP_ACT_REJECT);
	WANT_INT("actions.on_dns_error", empty->on_error[OP_ERR_DNS], OP_ACT_TEMPFAIL);
	WANT_SIZE("classify.internal_hosts", empty->internal_hosts.n, 2);
	WANT_SIZE("tenants", empty->ntenants, 0);
	WANT_INT("generation as given", empty->generation, 1);
	free(p_empty);
	free(p_comment);
	free(p_spelled);
	op_buf_free(&b);
	op_config_unref(&empty);
	op_config_unref(&comment);
	op_config_unref(&spelled);
}

/* The contract: with c == NULL, op_config_print() prints the defaults. */
static void test_config_print_without_snapshot_prints_the_defaults(void **state)
{
	struct op_config *empty = load_ok("empty file", "");
	char *p_empty = print_conf(empty);
	char *p_null = print_conf(NULL);

	WANT_STR("op_config_print(NULL) vs. an empty file", p_null, p_empty);
	free(p_empty);
	free(p_null);
	op_config_unref(&empty);
}

/* ---- errors, with file and line ---------------------------------------- */

/* clang-format off */
static const struct {
	const char *label;
	const char *text;
	int line;         /* 0: "FILE: ..." without a line */
	const char *want; /* part of the error after "FILE:LINE: " */
} error_rows[] = {
	{"unknown key in a section",
	 "milter = {\n"
	 "  socket = \"unix:/tmp/x.sock\";\n"
	 "};\n"
	 "limits = {\n"
	 "  max_headrs = 10;\n"
	 "};\n",
	 5, "unknown key 'limits.max_headrs'"},
	{"unknown key at top level", "\n\nbogus = 1;\n", 3, "unknown key 'bogus'"},
	{"unknown section", "# a comment\nnosuch = {\n  enabled = true;\n};\n", 3,
	 "unknown key 'nosuch.enabled'"},
	{"value where a section is",
	 "limits = 5;\n", 1, "unknown key 'limits'"},
	{"int out of range, with the range",
	 "# limits\n"
	 "limits = {\n"
	 "  max_headers = 5;\n"
	 "};\n",
	 3, "limits.max_headers: value out of range (allowed: 10 to 100000)"},
	{"size out of range, with the range",
	 "limits = {\n  max_recipients = 10;\n  max_header_bytes = \"100G\";\n};\n", 3,
	 "limits.max_header_bytes: value out of range (allowed: 4096 to 67108864)"},
	{"duration out of range, with the range",
	 "milter = { timeout = \"1d\"; };\n", 1,
	 "milter.timeout: value out of range (allowed: \"1s\" to \"1h\")"},
	{"negative size",
	 "limits = {\n  max_macro_length = -1;\n};\n", 2,
	 "limits.max_macro_length: value out of range (allowed: 64 to 65536)"},
	{"bool for an int", "limits = {\n  max_headers = true;\n};\n", 2,
	 "limits.max_headers: wrong type of value"},
	{"float for an int", "limits = {\n  max_headers = 1.5;\n};\n", 2,
	 "limits.max_headers: wrong type of value"},
	{"int for a bool", "classify = {\n  authenticated_is_internal = 1;\n};\n", 2,
	 "classify.authenticated_is_internal: wrong type of value"},
	{"word for an int", "limits = {\n  max_headers = \"ten\";\n};\n", 2,
	 "limits.max_headers: expected an integer"},
	{"unit on an int", "limits = {\n  max_headers = \"10K\";\n};\n", 2,
	 "limits.max_headers: expected an integer"},
	{"bad size unit", "limits = {\n  max_macro_length = \"1KB\";\n};\n", 2,
	 "limits.max_macro_length: expected a size"},
	{"bad time unit", "milter = {\n  timeout = \"5 minutes\";\n};\n", 2,
	 "milter.timeout: expected a time"},
	{"unquoted mode", "milter = {\n  socket_mode = 0660;\n};\n", 2,
	 "milter.socket_mode: write the mode as a quoted octal string"},
	{"non-octal mode", "milter = {\n  socket_mode = \"0999\";\n};\n", 2,
	 "milter.socket_mode: expected an octal mode"},
	{"mode out of range", "milter = {\n  socket_mode = \"01000\";\n};\n", 2,
	 "milter.socket_mode: expected an octal mode"},
	{"unknown action", "actions = {\n  on_dns_error = \"bounce\";\n};\n", 2,
	 "actions.on_dns_error: not one of the allowed choices"},
	{"discard is not an error action", "actions = {\n  on_limit = \"discard\";\n};\n", 2,
	 "actions.on_limit: not one of the allowed choices"},
	{"unknown log level", "log = {\n  level = \"loud\";\n};\n", 2,
	 "log.level: expected debug, info, notice, warning or error"},
	{"group where a value is", "milter = {\n  socket = {\n    path = \"x\";\n  };\n};\n", 2,
	 "milter.socket: expected a value, found a group"},
	{"syntax error", "limits = {\n  max_headers = = 10;\n};\n", 2, "syntax error"},
	{"unterminated group", "limits = {\n  max_headers = 10;\n", 3, "syntax error"},
	{"bad CIDR: host bits", "classify = {\n  internal_hosts = [\"127.0.0.0/8\", \"192.0.2.1/24\"];\n};\n",
	 2, "classify.internal_hosts: host bits set after the prefix length"},
	{"bad CIDR: prefix", "\nclassify = {\n  internal_hosts = \"10.0.0.0/33\";\n};\n", 3,
	 "classify.internal_hosts: prefix length must be 0..32"},
	{"bad CIDR: garbage", "classify = {\n  internal_hosts = [\"localhost\"];\n};\n", 2,
	 "classify.internal_hosts: not an IPv4 or IPv6 address"},
	{"list element with a comma", "classify = {\n  internal_hosts = [\"10.0.0.0/8, ::1\"];\n};\n", 2,
	 "classify.internal_hosts: a list element holds a comma or a space"},
	{"bad socket spec", "milter = {\n  backlog = 10;\n  socket = \"tcp:25@localhost\";\n};\n", 3,
	 "milter.socket: expected unix:PATH, inet:PORT@ADDR or inet6:PORT@ADDR, got \"tcp:25@localhost\""},
	{"socket group on an inet socket",
	 "milter = {\n  socket = \"inet:8891@127.0.0.1\";\n  socket_group = \"root\";\n};\n", 3,
	 "socket_group apply to unix sockets only"},
	{"socket owner on an inet socket",
	 "milter = {\n  socket = \"inet:8891@127.0.0.1\";\n  socket_owner = \"root\";\n};\n", 3,
	 "socket_group apply to unix sockets only"},
	{"nonexistent milter.user",
	 "milter = {\n  socket = \"unix:/tmp/x.sock\";\n  user = \"outpost-no-such-user-4711\";\n};\n", 3,
	 "milter.user: no such user \"outpost-no-such-user-4711\""},
	{"nonexistent milter.group",
	 "milter = {\n  group = \"outpost-no-such-group-4711\";\n};\n", 2,
	 "milter.group: no such group \"outpost-no-such-group-4711\""},
	{"max_header_length > max_header_bytes",
	 "limits = {\n  max_header_bytes = \"64K\";\n  max_header_length = \"128K\";\n};\n", 3,
	 "limits.max_header_length is larger than limits.max_header_bytes"},
	{"max_header_length > max_header_bytes, length first",
	 "limits = {\n  max_header_length = \"2M\";\n  max_header_bytes = \"1M\";\n};\n", 2,
	 "limits.max_header_length is larger than limits.max_header_bytes"},
	{"max_header_bytes below the default max_header_length",
	 "\nlimits = {\n  max_header_bytes = \"64K\";\n};\n", 3,
	 "limits.max_header_length is larger than limits.max_header_bytes"},
	{"tenants not a list", "tenants = {\n  name = \"acme\";\n};\n", 1,
	 "tenants must be a list"},
	{"tenant with an unknown key",
	 "tenants = (\n"
	 "  { name = \"acme\";\n"
	 "    domains = [\"acme.example\"];\n"
	 "    colour = \"red\"; }\n"
	 ");\n",
	 4, "unknown tenant key 'colour'"},
	{"tenant without a name",
	 "tenants = (\n"
	 "  { name = \"acme\"; },\n"
	 "  { domains = [\"b.example\"]; }\n"
	 ");\n",
	 3, "a tenant needs a name"},
	{"tenant with an empty name",
	 "tenants = (\n  { name = \"\"; }\n);\n", 2, "a tenant needs a name"},
	{"tenant domains not a list",
	 "tenants = (\n  { name = \"acme\";\n    domains = \"acme.example\"; }\n);\n", 3,
	 "tenant domains must be a list of strings"},
	{"a domain claimed by two tenants",
	 "tenants = (\n"
	 "  { name = \"a\"; domains = [\"shared.example\"]; },\n"
	 "  { name = \"b\";\n"
	 "    domains = [\"b.example\", \"SHARED.example\"]; }\n"
	 ");\n",
	 3, "domain \"shared.example\" belongs to two tenants"},
	{"a login claimed by two tenants",
	 "tenants = (\n"
	 "  { name = \"a\"; logins = [\"alice\"]; },\n"
	 "  { name = \"b\"; logins = [\"bob\"]; },\n"
	 "  { name = \"c\";\n"
	 "    logins = [\"carol\", \"alice\"]; }\n"
	 ");\n",
	 4, "login \"alice\" belongs to two tenants"},
};
/* clang-format on */

static void test_config_errors_name_file_and_line(void **state)
{
	for (size_t r = 0; r < NROWS(error_rows); r++) {
		char path[128], err[512], prefix[160];

		load_bad(error_rows[r].label, error_rows[r].text, path, sizeof(path), err,
			 sizeof(err));
		if (error_rows[r].line > 0)
			snprintf(prefix, sizeof(prefix), "%s:%d: ", path, error_rows[r].line);
		else
			snprintf(prefix, sizeof(prefix), "%s: ", path);
		if (strncmp(err, prefix, strlen(prefix)) != 0) {
			print_error(
			    "%s: error\n  got:  \"%s\"\n  want: starting with \"%s\"\n  file:\n%s",
			    error_rows[r].label, err, prefix, error_rows[r].text);
			fail();
		}
		WANT_CONTAINS(error_rows[r].label, err, error_rows[r].want);
	}
}

static void test_config_missing_file_is_reported_without_a_line(void **state)
{
	char path[128], err[256] = "", want[200];
	struct op_config *c;

	snprintf(path, sizeof(path), "%s/does-not-exist.conf", dir);
	c = op_config_load(path, 1, err, sizeof(err));
	WANT_PTR("snapshot of a missing file", c, NULL);
	snprintf(want, sizeof(want), "%s: cannot read the file", path);
	WANT_STR("missing file", err, want);
}

/* ---- typed values ------------------------------------------------------- */

enum field { F_HDR_BYTES, F_HDR_LENGTH, F_MACRO, F_SHUTDOWN, F_TIMEOUT, F_MODE, F_HEADERS };

static long long field(const struct op_config *c, enum field f)
{
	switch (f) {
	case F_HDR_BYTES:
		return c->max_header_bytes;
	case F_HDR_LENGTH:
		return c->max_header_length;
	case F_MACRO:
		return c->max_macro_length;
	case F_SHUTDOWN:
		return c->milter_shutdown_timeout_ms;
	case F_TIMEOUT:
		return c->milter_timeout_ms;
	case F_MODE:
		return c->milter_socket_mode;
	case F_HEADERS:
		return c->max_headers;
	}
	return -1;
}

/* clang-format off */
static const struct {
	const char *text;
	enum field f;
	long long want;
} unit_rows[] = {
	/* sizes: bytes, K, M (either case), plain integers, strings of digits */
	{"limits = { max_header_bytes = \"64K\"; max_header_length = \"1K\"; };", F_HDR_BYTES, 65536},
	{"limits = { max_header_bytes = \"64k\"; max_header_length = \"1K\"; };", F_HDR_LENGTH, 1024},
	{"limits = { max_header_bytes = \"1M\"; };", F_HDR_BYTES, 1048576},
	{"limits = { max_header_bytes = \"2m\"; };", F_HDR_BYTES, 2097152},
	{"limits = { max_header_bytes = 200000; };", F_HDR_BYTES, 200000},
	{"limits = { max_header_bytes = 1048577L; };", F_HDR_BYTES, 1048577},
	{"limits = { max_header_bytes = \"300000\"; };", F_HDR_BYTES, 300000},
	{"limits = { max_macro_length = 64; };", F_MACRO, 64},
	{"limits = { max_macro_length = \"64K\"; };", F_MACRO, 65536},
	/* durations: ms, s, m, h, d; a plain integer is seconds */
	{"milter = { shutdown_timeout = \"250ms\"; };", F_SHUTDOWN, 250},
	{"milter = { shutdown_timeout = \"5m\"; };", F_SHUTDOWN, 300000},
	{"milter = { shutdown_timeout = \"10s\"; };", F_SHUTDOWN, 10000},
	{"milter = { shutdown_timeout = 30; };", F_SHUTDOWN, 30000},
	{"milter = { shutdown_timeout = \"30\"; };", F_SHUTDOWN, 30000},
	{"milter = { shutdown_timeout = 0; };", F_SHUTDOWN, 0},
	{"milter = { shutdown_timeout = \"0ms\"; };", F_SHUTDOWN, 0},
	{"milter = { timeout = \"1h\"; };", F_TIMEOUT, 3600000},
	{"milter = { timeout = \"1S\"; };", F_TIMEOUT, 1000},
	{"milter = { timeout = \"1500ms\"; };", F_TIMEOUT, 1500},
	/* modes: octal strings */
	{"milter = { socket_mode = \"0660\"; };", F_MODE, 0660},
	{"milter = { socket_mode = \"660\"; };", F_MODE, 0660},
	{"milter = { socket_mode = \"0600\"; };", F_MODE, 0600},
	{"milter = { socket_mode = \"0777\"; };", F_MODE, 0777},
	{"milter = { socket_mode = \"0\"; };", F_MODE, 0},
	/* plain integers: bounds are inclusive */
	{"limits = { max_headers = 10; };", F_HEADERS, 10},
	{"limits = { max_headers = 100000; };", F_HEADERS, 100000},
};
/* clang-format on */

static void test_config_reads_sizes_durations_and_modes_with_units(void **state)
{
	for (size_t r = 0; r < NROWS(unit_rows); r++) {
		struct op_config *c = load_ok(unit_rows[r].text, unit_rows[r].text);

		WANT_INT(unit_rows[r].text, field(c, unit_rows[r].f), unit_rows[r].want);
		op_config_unref(&c);
	}
}

/* clang-format off */
static const struct {
	const char *text, *want;
} bad_unit_rows[] = {
	{"milter = { timeout = \"1d\"; };", "value out of range"}, /* a day parses, but is too long */
	{"milter = { timeout = \"1D\"; };", "value out of range"},
	{"milter = { timeout = \"1x\"; };", "expected a time"},
	{"milter = { timeout = \"ms\"; };", "expected a time"},
	{"milter = { timeout = \"\"; };", "expected a time"},
	{"milter = { timeout = \" 5s\"; };", "expected a time"},
	{"milter = { timeout = \"5s \"; };", "expected a time"},
	{"milter = { timeout = \"5 s\"; };", "expected a time"},
	{"milter = { timeout = \"1.5s\"; };", "expected a time"},
	{"milter = { timeout = \"5ss\"; };", "expected a time"},
	{"milter = { timeout = \"99999999999999999999s\"; };", "expected a time"},
	{"milter = { timeout = \"9223372036854775807h\"; };", "expected a time"},
	{"limits = { max_header_bytes = \"1G\"; };", "value out of range"},
	{"limits = { max_header_bytes = \"64KB\"; };", "expected a size"},
	{"limits = { max_header_bytes = \"1T\"; };", "expected a size"},
	{"limits = { max_header_bytes = \"0x1000\"; };", "expected a size"},
	{"limits = { max_header_bytes = \"1ms\"; };", "expected a size"},
	{"limits = { max_headers = 9; };", "value out of range (allowed: 10 to 100000)"},
	{"limits = { max_headers = 100001; };", "value out of range (allowed: 10 to 100000)"},
	{"milter = { socket_mode = \"rw-rw----\"; };", "expected an octal mode"},
	{"milter = { socket_mode = \"\"; };", "expected an octal mode"},
	{"milter = { socket_mode = \"0660 \"; };", "expected an octal mode"},
};
/* clang-format on */

static void test_config_refuses_bad_units_and_out_of_range_values(void **state)
{
	for (size_t r = 0; r < NROWS(bad_unit_rows); r++) {
		char path[128], err[512];

		load_bad(bad_unit_rows[r].text, bad_unit_rows[r].text, path, sizeof(path), err,
			 sizeof(err));
		WANT_CONTAINS(bad_unit_rows[r].text, err, bad_unit_rows[r].want);
	}
}

static void test_config_lists_keep_every_element(void **state)
{
	/* clang-format off */
	static const struct {
		const char *text;
		const char *want; /* elements joined by "," */
	} rows[] = {
		{"classify = { internal_daemon_names = [\"submission\", \"smtps\", \"local\"]; };",
		 "submission,smtps,local"},
		{"classify = { internal_daemon_names = (\"submission\", \"smtps\"); };", "submission,smtps"},
		{"classify = { internal_daemon_names = \"submission, smtps local\"; };",
		 "submission,smtps,local"},
		{"classify = { internal_daemon_names = [\"one\"]; };", "one"},
		{"classify = { internal_daemon_names = []; };", ""},
	};
	/* clang-format on */

	for (size_t r = 0; r < NROWS(rows); r++) {
		struct op_config *c = load_ok(rows[r].text, rows[r].text);
		char got[256] = "";
		size_t o = 0;

		for (size_t i = 0; i < c->internal_daemon_names.n; i++)
			o += (size_t)snprintf(got + o, sizeof(got) - o, "%s%s", i ? "," : "",
					      c->internal_daemon_names.v[i]);
		WANT_STR(rows[r].text, got, rows[r].want);
		op_config_unref(&c);
	}
}

static void test_config_address_lists_keep_every_range(void **state)
{
	/* clang-format off */
	static const struct {
		const char *text;
		size_t n;
		const char *inside, *outside;
	} rows[] = {
		{"classify = { internal_hosts = [\"10.0.0.0/8\", \"2001:db8::/32\", \"192.0.2.7\"]; };", 3,
		 "192.0.2.7", "192.0.2.8"},
		{"classify = { internal_hosts = \"10.0.0.0/8, 2001:db8::/32\"; };", 2, "2001:db8::1",
		 "127.0.0.1"},
		{"classify = { internal_hosts = []; };", 0, NULL, "127.0.0.1"},
		{"", 2, "::1", "192.0.2.1"}, /* the default: 127.0.0.0/8, ::1 */
	};
	/* clang-format on */

	for (size_t r = 0; r < NROWS(rows); r++) {
		struct op_config *c = load_ok(rows[r].text, rows[r].text);

		WANT_SIZE(rows[r].text, c->internal_hosts.n, rows[r].n);
		if (rows[r].inside)
			WANT_INT(rows[r].inside,
				 op_cidr_list_match_text(&c->internal_hosts, rows[r].inside), true);
		WANT_INT(rows[r].outside,
			 op_cidr_list_match_text(&c->internal_hosts, rows[r].outside), false);
		op_config_unref(&c);
	}
}

static void test_config_reads_actions_levels_and_booleans(void **state)
{
	struct op_config *c =
	    load_ok("actions", "actions = {\n"
			       "  on_internal_error = \"reject\";\n"
			       "  on_resource_error = \"accept\";\n"
			       "  on_config_error = \"tempfail\";\n"
			       "  on_dns_error = \"accept\";\n"
			       "  on_store_error = \"reject\";\n"
			       "  on_limit = \"tempfail\";\n"
			       "};\n"
			       "log = { level = \"debug\"; };\n"
			       "classify = { authenticated_is_internal = false; };\n");

	WANT_INT("on_internal_error", c->on_error[OP_ERR_INTERNAL], OP_ACT_REJECT);
	WANT_INT("on_resource_error", c->on_error[OP_ERR_RESOURCE], OP_ACT_ACCEPT);
	WANT_INT("on_config_error", c->on_error[OP_ERR_CONFIG], OP_ACT_TEMPFAIL);
	WANT_INT("on_dns_error", c->on_error[OP_ERR_DNS], OP_ACT_ACCEPT);
	WANT_INT("on_store_error", c->on_error[OP_ERR_STORE], OP_ACT_REJECT);
	WANT_INT("on_limit", c->on_error[OP_ERR_LIMIT], OP_ACT_TEMPFAIL);
	WANT_INT("log.level", c->log_level, LOG_DEBUG);
	WANT_INT("authenticated_is_internal", c->authenticated_is_internal, false);
	op_config_unref(&c);
}

/* ---- tenants ----------------------------------------------------------- */

static void test_config_finds_tenants_by_login_and_by_domain(void **state)
{
	/* clang-format off */
	static const struct {
		bool by_login;
		const char *key;
		const char *tenant; /* NULL: none */
	} rows[] = {
		{true, "alice", "acme"},
		{true, "Bob", "acme"},
		{true, "carol", "beta"},
		{true, "Alice", NULL}, /* logins are as given */
		{true, "bob", NULL},
		{true, "dave", NULL},
		{true, "", NULL},
		{true, NULL, NULL},
		{false, "acme.example", "acme"},
		{false, "ACME.EXAMPLE", "acme"},
		{false, "Acme.Example", "acme"},
		{false, "acme.test", "acme"},
		{false, "beta.EXAMPLE", "beta"},
		{false, "sub.acme.example", NULL},
		{false, "example", NULL},
		{false, "", NULL},
		{false, NULL, NULL},
	};
	/* clang-format on */
	struct op_config *c =
	    load_ok("two tenants",
		    "tenants = (\n"
		    "  { name = \"acme\";\n"
		    "    domains = [\"Acme.Example\", \"acme.test\"];\n"
		    "    logins = [\"alice\", \"Bob\"]; },\n"
		    "  { name = \"beta\"; domains = [\"beta.example\"]; logins = [\"carol\"]; }\n"
		    ");\n");
	char label[96];

	WANT_SIZE("ntenants", c->ntenants, 2);
	WANT_STR("first tenant", c->tenants[0].name, "acme");
	WANT_SIZE("first index", c->tenants[0].index, 0);
	WANT_INT("first line", c->tenants[0].line, 2);
	WANT_STR("domains are lower case", c->tenants[0].domains.v[0], "acme.example");
	WANT_STR("logins are as given", c->tenants[0].logins.v[1], "Bob");
	WANT_STR("second tenant", c->tenants[1].name, "beta");
	WANT_SIZE("second index", c->tenants[1].index, 1);
	for (size_t r = 0; r < NROWS(rows); r++) {
		const struct op_tenant *t = rows[r].by_login ? op_tenant_by_login(c, rows[r].key)
							     : op_tenant_by_domain(c, rows[r].key);

		snprintf(label, sizeof(label), "tenant by %s \"%s\"",
			 rows[r].by_login ? "login" : "domain",
			 rows[r].key ? rows[r].key : "(null)");
		WANT_STR(label, t ? t->name : NULL, rows[r].tenant);
	}
	op_config_unref(&c);

	c = load_ok("no tenants", "");
	WANT_PTR("no tenants, by login", op_tenant_by_login(c, "alice"), NULL);
	WANT_PTR("no tenants, by domain", op_tenant_by_domain(c, "acme.example"), NULL);
	op_config_unref(&c);
}

/* ---- snapshots ----------------------------------------------------------- */

static void test_config_ref_and_unref_count_references(void **state)
{
	struct op_config *c = load_ok("empty", "");
	struct op_config *r1, *r2;

	WANT_INT("refs after load", c->refs, 1);
	r1 = op_config_ref(c);
	WANT_PTR("ref returns its argument", r1, c);
	WANT_INT("refs after one ref", c->refs, 2);
	r2 = op_config_ref(c);
	WANT_INT("refs after two refs", c->refs, 3);
	op_config_unref(&r1);
	WANT_PTR("unref clears the pointer", r1, NULL);
	WANT_INT("refs after one unref", c->refs, 2);
	op_config_unref(&r2);
	WANT_INT("refs after two unrefs", c->refs, 1);
	WANT_PTR("ref(NULL)", op_config_ref(NULL), NULL);
	op_config_unref(NULL);
	op_config_unref(&r2); /* already NULL */
	op_config_unref(&c);  /* the last one frees (valgrind/ASan check the rest) */
	WANT_PTR("last unref clears the pointer", c, NULL);
}

static void test_config_current_swaps_while_old_references_stay_valid(void **state)
{
	char err[512];
	char path_a[128], path_b[128];
	struct op_config *a, *b, *cur, *old;

	write_conf("milter = { socket = \"unix:/tmp/a.sock\"; };\n", path_a, sizeof(path_a));
	write_conf("milter = { socket = \"unix:/tmp/b.sock\"; };\n", path_b, sizeof(path_b));
	a = op_config_load(path_a, 1, err, sizeof(err));
	b = op_config_load(path_b, 2, err, sizeof(err));
	assert_non_null(a);
	assert_non_null(b);

	op_config_set_current(NULL);
	WANT_PTR("nothing published yet", op_config_current(), NULL);
	op_config_set_current(a);
	WANT_INT("a's refs once published", a->refs, 2);
	cur = op_config_current();
	WANT_PTR("current is a", cur, a);
	WANT_INT("a's refs with a reader", a->refs, 3);
	op_config_unref(&cur);

	old = op_config_current(); /* a message in flight keeps a */
	op_config_set_current(b);
	op_config_unref(&a); /* the loader's own reference */
	WANT_INT("a's refs after the swap: the message's only", old->refs, 1);
	WANT_INT("old snapshot still readable: generation", old->generation, 1);
	WANT_STR("old snapshot still readable: socket", old->milter_socket, "unix:/tmp/a.sock");
	cur = op_config_current();
	WANT_PTR("current is b", cur, b);
	WANT_INT("current generation", cur->generation, 2);
	WANT_STR("current socket", cur->milter_socket, "unix:/tmp/b.sock");
	op_config_unref(&cur);
	op_config_unref(&old); /* frees a */

	op_config_set_current(NULL);
	WANT_INT("b's refs after unpublishing", b->refs, 1);
	op_config_unref(&b);
}

/* Readers take and drop references while the main thread swaps. */
static struct op_config *swap_cfg[2];
static volatile int swap_done;

static void *swap_reader(void *arg)
{
	unsigned long *bad = arg;

	while (!swap_done) {
		struct op_config *c = op_config_current();

		if (c == NULL || (c != swap_cfg[0] && c != swap_cfg[1]) || c->refs < 2)
			(*bad)++;
		op_config_unref(&c);
	}
	return NULL;
}

static void test_config_current_is_safe_to_read_during_swaps(void **state)
{
	char path[128], err[512];
	pthread_t th[4];
	unsigned long bad[4] = {0};

	write_conf("", path, sizeof(path));
	swap_cfg[0] = op_config_load(path, 1, err, sizeof(err));
	swap_cfg[1] = op_config_load(path, 2, err, sizeof(err));
	assert_non_null(swap_cfg[0]);
	assert_non_null(swap_cfg[1]);
	op_config_set_current(swap_cfg[0]);
	swap_done = 0;
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, swap_reader, &bad[i]), 0);
	for (int i = 0; i < 20000; i++)
		op_config_set_current(swap_cfg[i % 2]);
	swap_done = 1;
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		WANT_SIZE("reader saw a bad snapshot", bad[i], 0);
	}
	op_config_set_current(NULL);
	WANT_INT("refs of the first after the readers", swap_cfg[0]->refs, 1);
	WANT_INT("refs of the second after the readers", swap_cfg[1]->refs, 1);
	op_config_unref(&swap_cfg[0]);
	op_config_unref(&swap_cfg[1]);
}

static char changed[512];

static void note_change(const char *key)
{
	size_t o = strlen(changed);

	snprintf(changed + o, sizeof(changed) - o, "%s%s", o ? "," : "", key);
}

static void test_config_static_changes_name_keys_that_need_a_restart(void **state)
{
	/* clang-format off */
	static const struct {
		const char *label, *old_text, *new_text, *want;
	} rows[] = {
		{"same file", "", "", ""},
		{"socket differs", "milter = { socket = \"unix:/tmp/a.sock\"; };",
		 "milter = { socket = \"unix:/tmp/b.sock\"; };", "milter.socket"},
		{"reloadable keys only",
		 "limits = { max_headers = 100; }; log = { level = \"info\"; };",
		 "limits = { max_headers = 200; }; log = { level = \"debug\"; };", ""},
		{"socket and backlog differ, reloadable too",
		 "milter = { socket = \"unix:/tmp/a.sock\"; backlog = 10; };",
		 "milter = { socket = \"inet:8891@127.0.0.1\"; backlog = 20; };\n"
		 "limits = { max_headers = 200; };",
		 "milter.socket,milter.backlog"},
		{"same value written differently", "milter = { timeout = \"5m\"; };",
		 "milter = { timeout = 300; };", ""},
	};
	/* clang-format on */

	for (size_t r = 0; r < NROWS(rows); r++) {
		struct op_config *o = load_ok(rows[r].label, rows[r].old_text);
		struct op_config *n = load_ok(rows[r].label, rows[r].new_text);

		changed[0] = '\0';
		op_config_static_changes(o, n, note_change);
		WANT_STR(rows[r].label, changed, rows[r].want);
		op_config_unref(&o);
		op_config_unref(&n);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_config_empty_file_gives_the_table_defaults),
	    cmocka_unit_test(test_config_print_without_snapshot_prints_the_defaults),
	    cmocka_unit_test(test_config_errors_name_file_and_line),
	    cmocka_unit_test(test_config_missing_file_is_reported_without_a_line),
	    cmocka_unit_test(test_config_reads_sizes_durations_and_modes_with_units),
	    cmocka_unit_test(test_config_refuses_bad_units_and_out_of_range_values),
	    cmocka_unit_test(test_config_lists_keep_every_element),
	    cmocka_unit_test(test_config_address_lists_keep_every_range),
	    cmocka_unit_test(test_config_reads_actions_levels_and_booleans),
	    cmocka_unit_test(test_config_finds_tenants_by_login_and_by_domain),
	    cmocka_unit_test(test_config_ref_and_unref_count_references),
	    cmocka_unit_test(test_config_current_swaps_while_old_references_stay_valid),
	    cmocka_unit_test(test_config_current_is_safe_to_read_during_swaps),
	    cmocka_unit_test(test_config_static_changes_name_keys_that_need_a_restart),
	};

	return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
