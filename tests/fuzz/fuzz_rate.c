/*
 * fuzz_rate.c - rate rules and counter keys (plugin/rate_rules.c, and the
 * limit grammar "100/1m" of plugin/gcra.c under it).
 *
 * Input: libconfig text, as in outpost.conf:
 *   rate: { rules = ( { name = ...; key = "login+rcpt_domain"; ... } ); };
 *   tenants = ( { rate_rules = ( ... ); } );      each parsed over rate.rules
 *   values = [ "alice", "192.0.2.7", ... ];        key values and addresses
 *   room = 40;                                     bytes left in the key buffer
 * Every value is appended to a key buffer as op_rate_key_value() does for a
 * counter key (lower-cased and not), and read as a client address with the
 * prefixes of each rule (op_rate_client_net()).
 *
 * Promises checked: a refused rule list says why; a parsed rule has a
 * name, 1..OP_RATE_PARTS_MAX key parts, a positive limit and prefixes in
 * range; a key value never writes past the buffer, is at most
 * OP_RATE_VALUE_MAX bytes, and holds no byte that separates keys ('#',
 * '+', '%' other than its own escapes, space, controls).
 */
#include "config.h"

#include <libconfig.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "outpost/gcra.h"
#include "outpost/rate.h"

#define RATE_INPUT_MAX (32 * 1024)
#define KEY_BUF	       512

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_init();
	return 0;
}

static void check_rules(const struct op_rate_rules *r)
{
	for (size_t i = 0; i < r->n; i++) {
		const struct op_rate_rule *x = &r->v[i];

		FUZZ_CHECK(memchr(x->name, '\0', sizeof(x->name)) != NULL && x->name[0],
			   "rule without a name");
		FUZZ_CHECK(x->nparts >= 1 && x->nparts <= OP_RATE_PARTS_MAX,
			   "rule key parts out of range");
		FUZZ_CHECK(!x->off, "a rule switched off was kept");
		FUZZ_CHECK(x->rate.limit >= 1 && x->rate.burst >= 1 && x->rate.window_us > 0,
			   "rule with a limit, burst or window out of range");
		FUZZ_CHECK(x->ipv4_prefix <= 32 && x->ipv6_prefix <= 128, "prefix out of range");
		FUZZ_CHECK(memchr(x->limit_text, '\0', sizeof(x->limit_text)) != NULL,
			   "limit text not terminated");
	}
}

/* Append value to a key buffer with room bytes left, then check it. */
static void check_value(const char *value, size_t room, bool lower)
{
	char *buf = malloc(KEY_BUF);
	size_t start = KEY_BUF - room, o = start;

	FUZZ_CHECK(buf != NULL, "out of memory");
	memset(buf, 'k', start);
	if (op_rate_key_value(buf, KEY_BUF, &o, value, lower) == 0) {
		FUZZ_CHECK(o < KEY_BUF && buf[o] == '\0', "key value not terminated in its buffer");
		FUZZ_CHECK(o - start <= OP_RATE_VALUE_MAX,
			   "key value longer than OP_RATE_VALUE_MAX");
		for (size_t i = start; i < o; i++) {
			unsigned char c = (unsigned char)buf[i];

			FUZZ_CHECK(c > 0x20 && c < 0x7f && c != '#' && c != '+',
				   "key value holds a separator or control byte");
			if (c == '%')
				FUZZ_CHECK(i + 2 < o, "a truncated escape in a key value");
		}
	}
	free(buf);
}

static void check_net(const char *value, const struct op_rate_rules *r)
{
	char net[64];

	for (size_t i = 0; i < r->n; i++)
		if (op_rate_client_net(value, r->v[i].ipv4_prefix, r->v[i].ipv6_prefix, net,
				       sizeof(net)) == 0)
			FUZZ_CHECK(strchr(net, '/') != NULL, "client network without a prefix");
	op_rate_client_net(value, 24, 64, net, sizeof(net));
	op_rate_client_net(value, 0, 0, net, 1);
}

static void tenants(config_t *lc, const struct op_rate_rules *global)
{
	const config_setting_t *t = config_lookup(lc, "tenants");
	int n = t ? config_setting_length(t) : 0;
	char err[512];

	for (int i = 0; i < n && i < 16; i++) {
		const config_setting_t *e = config_setting_get_elem(t, (unsigned)i);
		const config_setting_t *rr = e ? config_setting_get_member(e, "rate_rules") : NULL;
		struct op_rate_rules tr;

		if (rr == NULL)
			continue;
		err[0] = '\0';
		if (op_rate_rules_parse(rr, global, 32, &tr, err, sizeof(err)) < 0) {
			FUZZ_CHECK(err[0] != '\0', "tenant rules refused without a reason");
			continue;
		}
		check_rules(&tr);
		op_rate_rules_free(&tr);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct op_rate_rules global = {0};
	const config_setting_t *vals;
	char *text, err[512];
	int room = KEY_BUF;
	config_t lc;

	if (size > RATE_INPUT_MAX)
		return -1;
	text = strndup((const char *)data, size);
	FUZZ_CHECK(text != NULL, "out of memory");
	config_init(&lc);
	if (config_read_string(&lc, text) != CONFIG_TRUE)
		goto out;
	err[0] = '\0';
	if (op_rate_rules_parse(config_lookup(&lc, "rate.rules"), NULL, 32, &global, err,
				sizeof(err)) < 0) {
		FUZZ_CHECK(err[0] != '\0', "rules refused without a reason");
	} else {
		check_rules(&global);
		tenants(&lc, &global);
	}
	config_lookup_int(&lc, "room", &room);
	if (room < 0 || room > KEY_BUF)
		room = KEY_BUF;
	vals = config_lookup(&lc, "values");
	for (int i = 0; vals && i < config_setting_length(vals); i++) {
		const char *v = config_setting_get_string_elem(vals, i);

		if (v == NULL)
			continue;
		check_value(v, (size_t)room, true);
		check_value(v, (size_t)room, false);
		check_net(v, &global);
	}
	op_rate_rules_free(&global);
out:
	config_destroy(&lc);
	free(text);
	return 0;
}
