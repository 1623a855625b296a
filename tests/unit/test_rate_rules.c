/*
 * test_rate_rules.c - the rules of the rate module (plugin/rate_rules.c):
 * parsing with FILE:LINE errors, tenant overrides field by field, and the
 * values of counter keys (percent-encoding, long values, client networks).
 */
#include "config.h"

#include "unit.h"

#include <libconfig.h>
#include <stdbool.h>
#include <stdlib.h>

#include "outpost/rate.h"

/* Parse "rules = (...); tenant = (...);" (tenant optional).  Returns the
 * rc of the last parse; *g and *t filled. */
static int parse(const char *text, struct op_rate_rules *g, struct op_rate_rules *t, char *err,
		 size_t errsize)
{
	config_t lc;
	int rc;

	config_init(&lc);
	if (config_read_string(&lc, text) != CONFIG_TRUE) {
		snprintf(err, errsize, "libconfig: %s", config_error_text(&lc));
		config_destroy(&lc);
		return -2;
	}
	rc = op_rate_rules_parse(config_lookup(&lc, "rules"), NULL, 4, g, err, errsize);
	if (rc == 0 && config_lookup(&lc, "tenant"))
		rc = op_rate_rules_parse(config_lookup(&lc, "tenant"), g, 4, t, err, errsize);
	config_destroy(&lc);
	return rc;
}

static void test_rate_rules_refuse_with_file_and_line(void **state)
{
	static const struct {
		const char *text, *want;
	} rows[] = {
	    {"rules = ( { key = \"login\"; } );", ":1: rule login:messages:? needs a limit"},
	    {"rules = ( { limit = \"1/1m\"; } );", "needs a key"},
	    {"rules = ( { key = \"ip\"; limit = \"1/1m\"; } );", "key: expected login, sender"},
	    {"rules = ( { key = \"login+login\"; limit = \"1/1m\"; } );", "the same part twice"},
	    {"rules = ( { key = \"login+sender+tenant\"; limit = \"1/1m\"; } );",
	     "at most two parts"},
	    {"rules = ( { key = \"login+rcpt_domain\"; limit = \"1/1m\"; } );",
	     "counts recipients"},
	    {"rules = ( { key = \"login\"; limit = \"1/1w\"; } );", "the window of a rate"},
	    {"rules = ( { key = \"login\"; limit = \"1/1m\"; action = \"drop\"; } );",
	     "action: expected"},
	    {"rules = ( { key = \"login\"; limit = \"1/1m\"; then = \"hold\"; } );",
	     "then: expected"},
	    {"rules = ( { key = \"login\"; limit = \"1/1m\"; burst = 0; } );", "burst must be"},
	    {"rules = ( { key = \"login\"; limit = \"1/1m\"; colour = 1; } );",
	     "unknown rate rule field 'colour'"},
	    {"rules = ( { name = \"a#b\"; key = \"login\"; limit = \"1/1m\"; } );",
	     "a rule name is"},
	    {"rules = ( { name = \"a\"; key = \"login\"; limit = \"1/1m\"; },\n"
	     "          { name = \"a\"; key = \"sender\"; limit = \"1/1m\"; } );",
	     ":2: two rate rules are named a"},
	    {"rules = ( "
	     "{key=\"login\";limit=\"1/1s\";},{key=\"login\";limit=\"2/"
	     "1s\";},{key=\"login\";limit=\"3/1s\";},"
	     "{key=\"login\";limit=\"4/1s\";},{key=\"login\";limit=\"5/1s\";} );",
	     "more than rate.max_rules (4)"},
	    {"rules = ( { name = \"a\"; key = \"login\"; limit = \"1/1m\"; } );\n"
	     "tenant = ( { key = \"login\"; limit = \"2/1m\"; } );",
	     ":2: a tenant's rate rule needs a name"},
	    {"rules = { a = 1; };", "rate rules are a list"},
	};

	(void)state;
	for (size_t i = 0; i < NROWS(rows); i++) {
		struct op_rate_rules g = {0}, t = {0};
		char err[300] = "";

		WANT_INT(rows[i].text, parse(rows[i].text, &g, &t, err, sizeof(err)), -1);
		WANT_CONTAINS(rows[i].text, err, rows[i].want);
		op_rate_rules_free(&g);
		op_rate_rules_free(&t);
	}
}

static void test_rate_rules_defaults_and_tenant_overrides(void **state)
{
	const char *text =
	    "rules = ( { name = \"m\"; key = \"login\"; count = \"recipients\"; limit = "
	    "\"100/1m\"; },\n"
	    "          { name = \"d\"; key = \"login\"; limit = \"5000/1d\"; burst = 50; action = "
	    "\"hold\";"
	    " then = \"hold_account\"; },\n"
	    "          { key = \"client_ip\"; ipv4_prefix = 24; limit = \"10M/1h\"; count = "
	    "\"bytes\";"
	    " apply_to = \"external\"; } );\n"
	    "tenant = ( { name = \"m\"; limit = \"1000/1m\"; },\n"
	    "           { name = \"d\"; limit = \"none\"; },\n"
	    "           { name = \"x\"; key = \"tenant\"; limit = \"9/1s\"; action = \"log\"; } );";
	struct op_rate_rules g = {0}, t = {0};
	char err[300] = "";

	(void)state;
	WANT_INT(err, parse(text, &g, &t, err, sizeof(err)), 0);
	WANT_SIZE("global rules", g.n, 3);
	WANT_STR("m name", g.v[0].name, "m");
	WANT_SIZE("m burst defaults to the limit", g.v[0].rate.burst, 100);
	WANT_INT("m action defaults to tempfail", g.v[0].action, OP_RATE_TEMPFAIL);
	WANT_INT("m scope", g.v[0].scope, OP_RATE_ALL);
	WANT_SIZE("d burst", g.v[1].rate.burst, 50);
	WANT_INT("d hold_account", g.v[1].hold_account, 1);
	WANT_STR("unnamed rule's name", g.v[2].name, "client_ip:bytes:10M/1h");
	WANT_STR("limit text", g.v[2].limit_text, "10485760/1h");
	WANT_INT("ipv4 prefix", g.v[2].ipv4_prefix, 24);
	WANT_INT("ipv6 prefix default", g.v[2].ipv6_prefix, 64);
	WANT_SIZE("tenant rules: m, unnamed, x (d is off)", t.n, 3);
	WANT_STR("t[0]", t.v[0].name, "m");
	WANT_SIZE("overridden limit", t.v[0].rate.limit, 1000);
	WANT_SIZE("default burst follows the new limit", t.v[0].rate.burst, 1000);
	WANT_INT("inherited count", t.v[0].count, OP_RATE_RECIPIENTS);
	WANT_STR("t[1]", t.v[1].name, "client_ip:bytes:10M/1h");
	WANT_STR("t[2]", t.v[2].name, "x");
	WANT_INT("t[2] action", t.v[2].action, OP_RATE_LOG);
	op_rate_rules_free(&g);
	op_rate_rules_free(&t);
}

static void test_rate_key_values_and_networks(void **state)
{
	static const struct {
		const char *value;
		bool lower;
		const char *want;
	} values[] = {
	    {"Alice@Example.ORG", true, "alice@example.org"},
	    {"Alice", false, "Alice"},
	    {"a#b+c%d e", false, "a%23b%2Bc%25d%20e"},
	    {"caf\xc3\xa9", false, "caf%C3%A9"},
	    {"x\ny", false, "x%0Ay"},
	};
	static const struct {
		const char *addr;
		unsigned p4, p6;
		const char *want;
	} nets[] = {
	    {"192.0.2.77", 24, 64, "192.0.2.0/24"},
	    {"192.0.2.77", 32, 64, "192.0.2.77/32"},
	    {"2001:db8:1:2:3:4:5:6", 24, 64, "2001:db8:1:2::/64"},
	    {"IPv6:2001:db8:1:2:3:4:5:6", 24, 48, "2001:db8:1::/48"},
	    {"::ffff:198.51.100.9", 16, 64, "198.51.0.0/16"},
	    {"", 24, 64, NULL},
	    {"localhost", 24, 64, NULL},
	};
	char out[400], big[1000];
	size_t o;

	(void)state;
	for (size_t i = 0; i < NROWS(values); i++) {
		o = 0;
		WANT_INT(values[i].want,
			 op_rate_key_value(out, sizeof(out), &o, values[i].value, values[i].lower),
			 0);
		WANT_STR(values[i].want, out, values[i].want);
		WANT_SIZE(values[i].want, o, strlen(values[i].want));
	}
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	o = 0;
	op_rate_key_value(out, sizeof(out), &o, big, false);
	WANT_SIZE("a long value becomes a hash", o, 17);
	WANT_INT("hash marker", out[0], '~');
	for (size_t i = 0; i < NROWS(nets); i++) {
		int rc = op_rate_client_net(nets[i].addr, nets[i].p4, nets[i].p6, out, sizeof(out));

		WANT_INT(nets[i].addr, rc, nets[i].want ? 0 : -1);
		if (nets[i].want)
			WANT_STR(nets[i].addr, out, nets[i].want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rate_rules_refuse_with_file_and_line),
	    cmocka_unit_test(test_rate_rules_defaults_and_tenant_overrides),
	    cmocka_unit_test(test_rate_key_values_and_networks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
