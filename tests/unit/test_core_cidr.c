/*
 * test_core_cidr.c - address ranges (plugin/cidr.c, include/outpost/cidr.h).
 *
 * Decisions these tables pin down:
 * - The prefix length is decimal digits only: no sign, no space, nothing
 *   after it.  Leading zeros are accepted and read as decimal ("/08" is
 *   /8, "/010" is /10, never octal), as Postfix's cidr tables read them.
 * - Host bits set after the prefix are refused ("192.0.2.1/24"): it is
 *   usually a typo for a host or for another network.
 * - An IPv4-mapped IPv6 address (::ffff:a.b.c.d) matches IPv4 ranges; a /0
 *   otherwise matches every address of its own family and none of the other.
 */
#include "config.h"

#include "unit.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "outpost/cidr.h"

static const char *family_name(int f)
{
	return f == AF_INET ? "AF_INET" : f == AF_INET6 ? "AF_INET6" : "?";
}

/* ---- op_cidr_parse ----------------------------------------------------- */

/* clang-format off */
static const struct {
	const char *text;
	int family;
	const char *net; /* network address as inet_ntop writes it */
	unsigned prefix;
} accept_rows[] = {
	{"192.0.2.0/24", AF_INET, "192.0.2.0", 24},
	{"192.0.2.128/25", AF_INET, "192.0.2.128", 25},
	{"198.51.100.0/23", AF_INET, "198.51.100.0", 23},
	{"192.0.2.1", AF_INET, "192.0.2.1", 32},
	{"192.0.2.1/32", AF_INET, "192.0.2.1", 32},
	{"0.0.0.0/0", AF_INET, "0.0.0.0", 0},
	{"10.0.0.0/8", AF_INET, "10.0.0.0", 8},
	{"10.0.0.0/08", AF_INET, "10.0.0.0", 8},    /* leading zero: decimal */
	{"10.0.0.0/010", AF_INET, "10.0.0.0", 10},  /* not octal 8 */
	{"128.0.0.0/1", AF_INET, "128.0.0.0", 1},
	{"2001:db8::/32", AF_INET6, "2001:db8::", 32},
	{"2001:db8::1", AF_INET6, "2001:db8::1", 128},
	{"2001:db8::1/128", AF_INET6, "2001:db8::1", 128},
	{"2001:db8:0:2::/63", AF_INET6, "2001:db8:0:2::", 63},
	{"::/0", AF_INET6, "::", 0},
	{"::1/128", AF_INET6, "::1", 128},
	{"::1", AF_INET6, "::1", 128},
	{"IPv6:2001:db8::/32", AF_INET6, "2001:db8::", 32},
	{"ipv6:2001:db8::1", AF_INET6, "2001:db8::1", 128},
	{"IPV6:::1/128", AF_INET6, "::1", 128},
	{"::ffff:192.0.2.0/120", AF_INET6, "::ffff:192.0.2.0", 120},
	{"fe80::/10", AF_INET6, "fe80::", 10},
};
/* clang-format on */

static void test_cidr_parse_accepts_ipv4_ipv6_and_prefixes(void **state)
{
	for (size_t r = 0; r < NROWS(accept_rows); r++) {
		const char *label = accept_rows[r].text;
		struct op_cidr c;
		const char *err = NULL;
		char net[INET6_ADDRSTRLEN];
		int rc;

		memset(&c, 0x5a, sizeof(c));
		rc = op_cidr_parse(accept_rows[r].text, &c, &err);
		if (rc != 0) {
			print_error("%s: got -1 (%s), want 0\n", label,
				    err ? err : "no error text");
			fail();
		}
		WANT_STR(label, family_name(c.family), family_name(accept_rows[r].family));
		WANT_INT(label, c.prefix, accept_rows[r].prefix);
		inet_ntop(c.family, c.addr, net, sizeof(net));
		WANT_STR(label, net, accept_rows[r].net);
		if (c.family == AF_INET) {
			/* The unused 12 bytes are zero, so struct compares work. */
			static const uint8_t zero[12];

			WANT_MEM(label, c.addr + 4, 12, zero, 12);
		}
	}
}

/* clang-format off */
static const struct {
	const char *text;
	const char *err; /* part of the error text */
} refuse_rows[] = {
	/* bad prefix lengths */
	{"192.0.2.0/33", "0..32"},
	{"0.0.0.0/99", "0..32"},
	{"2001:db8::/129", "0..128"},
	{"192.0.2.0/-1", "0..32"},
	{"2001:db8::/-0", "0..128"},
	{"192.0.2.0/ 8", "0..32"},
	{"192.0.2.0/+8", "0..32"},
	{"192.0.2.0/", "0..32"},
	{"192.0.2.0/8x", "0..32"},
	{"192.0.2.0/24 ", "0..32"},
	{"192.0.2.0/0x10", "0..32"},
	{"192.0.2.0/24/8", "0..32"},
	{"192.0.2.0/4294967320", "0..32"},            /* 2^32 + 24 */
	{"192.0.2.0/99999999999999999999999", "0..32"}, /* ERANGE */
	/* host bits after the prefix */
	{"192.0.2.1/24", "host bits"},
	{"192.0.2.128/24", "host bits"},
	{"198.51.101.0/23", "host bits"},
	{"0.0.0.1/0", "host bits"},
	{"2001:db8::1/32", "host bits"},
	{"2001:db8:0:3::/63", "host bits"},
	{"::1/0", "host bits"},
	/* not addresses */
	{"", "not an address"},
	{"/24", "not an address"},
	{"garbage", "not an IPv4 or IPv6 address"},
	{"192.0.2", "not an IPv4 or IPv6 address"},
	{"192.0.2.256", "not an IPv4 or IPv6 address"},
	{"192.0.2.1.5", "not an IPv4 or IPv6 address"},
	{" 192.0.2.1", "not an IPv4 or IPv6 address"},
	{"192.0.2.1 ", "not an IPv4 or IPv6 address"},
	{"2001:db8:::1", "not an IPv4 or IPv6 address"},
	{"2001:db8::g", "not an IPv4 or IPv6 address"},
	{"IPv6:", "not an IPv4 or IPv6 address"},
	{"IPv6", "not an IPv4 or IPv6 address"},
	{"[192.0.2.1]", "not an IPv4 or IPv6 address"},
	{"example.org/24", "not an IPv4 or IPv6 address"},
	{"1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa:bbbb:cccc:dddd:eeee/64", "not an address"},
};
/* clang-format on */

static void test_cidr_parse_refuses_bad_prefixes_host_bits_and_garbage(void **state)
{
	for (size_t r = 0; r < NROWS(refuse_rows); r++) {
		const char *label = refuse_rows[r].text;
		struct op_cidr c;
		const char *err = NULL;
		int rc = op_cidr_parse(refuse_rows[r].text, &c, &err);

		if (rc != -1) {
			print_error("\"%s\": got %d (family %s, prefix %u), want -1 (%s)\n", label,
				    rc, family_name(c.family), c.prefix, refuse_rows[r].err);
			fail();
		}
		WANT_CONTAINS(label, err, refuse_rows[r].err);
	}
}

/* ---- op_cidr_match ----------------------------------------------------- */

/* clang-format off */
static const struct {
	const char *cidr, *addr;
	bool want;
} match_rows[] = {
	/* plain IPv4 */
	{"192.0.2.0/24", "192.0.2.1", true},
	{"192.0.2.0/24", "192.0.2.0", true},
	{"192.0.2.0/24", "192.0.2.255", true},
	{"192.0.2.0/24", "192.0.1.255", false},
	{"192.0.2.0/24", "192.0.3.0", false},
	{"192.0.2.1", "192.0.2.1", true},
	{"192.0.2.1", "192.0.2.2", false},
	/* /23: the boundary falls inside the third byte */
	{"198.51.100.0/23", "198.51.100.0", true},
	{"198.51.100.0/23", "198.51.101.255", true},
	{"198.51.100.0/23", "198.51.99.255", false},
	{"198.51.100.0/23", "198.51.102.0", false},
	/* /25, /1, /7, /31 */
	{"192.0.2.128/25", "192.0.2.127", false},
	{"192.0.2.128/25", "192.0.2.128", true},
	{"192.0.2.128/25", "192.0.2.255", true},
	{"128.0.0.0/1", "127.255.255.255", false},
	{"128.0.0.0/1", "128.0.0.0", true},
	{"254.0.0.0/7", "253.255.255.255", false},
	{"254.0.0.0/7", "255.255.255.255", true},
	{"192.0.2.6/31", "192.0.2.7", true},
	{"192.0.2.6/31", "192.0.2.8", false},
	{"192.0.2.6/31", "192.0.2.5", false},
	/* IPv4-mapped IPv6 addresses match IPv4 ranges */
	{"192.0.2.0/24", "::ffff:192.0.2.1", true},
	{"192.0.2.0/24", "IPv6:::ffff:192.0.2.1", true},
	{"192.0.2.0/24", "::ffff:192.0.3.1", false},
	{"127.0.0.0/8", "::ffff:127.0.0.1", true},
	{"198.51.100.0/23", "::ffff:198.51.101.255", true},
	{"198.51.100.0/23", "::ffff:198.51.102.0", false},
	/* ... but other IPv6 addresses holding the same bytes do not */
	{"192.0.2.0/24", "::192.0.2.1", false},           /* IPv4-compatible, deprecated */
	{"192.0.2.0/24", "64:ff9b::192.0.2.1", false},    /* NAT64 */
	{"192.0.2.0/24", "::fffe:192.0.2.1", false},
	/* IPv6 */
	{"2001:db8::/32", "2001:db8::1", true},
	{"2001:db8::/32", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", true},
	{"2001:db8::/32", "2001:db9::", false},
	{"2001:db8::/32", "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", false},
	{"2001:db8::/32", "IPv6:2001:db8::25", true},
	{"2001:db8:0:2::/63", "2001:db8:0:2::", true},
	{"2001:db8:0:2::/63", "2001:db8:0:3:ffff:ffff:ffff:ffff", true},
	{"2001:db8:0:2::/63", "2001:db8:0:1:ffff:ffff:ffff:ffff", false},
	{"2001:db8:0:2::/63", "2001:db8:0:4::", false},
	{"fe80::/10", "febf:ffff::1", true},
	{"fe80::/10", "fec0::1", false},
	{"::1/128", "::1", true},
	{"::1/128", "::2", false},
	{"::1", "127.0.0.1", false},
	{"::ffff:192.0.2.0/120", "::ffff:192.0.2.77", true},
	/* /0 matches all of its own family only */
	{"0.0.0.0/0", "203.0.113.9", true},
	{"0.0.0.0/0", "0.0.0.0", true},
	{"0.0.0.0/0", "255.255.255.255", true},
	{"0.0.0.0/0", "::ffff:203.0.113.9", true}, /* an IPv4 client on a v6 socket */
	{"0.0.0.0/0", "2001:db8::1", false},
	{"0.0.0.0/0", "::1", false},
	{"0.0.0.0/0", "::", false},
	{"::/0", "2001:db8::1", true},
	{"::/0", "::", true},
	{"::/0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true},
	{"::/0", "192.0.2.1", false},
	{"::/0", "0.0.0.0", false},
};
/* clang-format on */

static void test_cidr_match_honours_prefix_edges_families_and_mapped_ipv4(void **state)
{
	char label[160];

	for (size_t r = 0; r < NROWS(match_rows); r++) {
		struct op_cidr c;
		const char *err = "";
		int family;
		uint8_t addr[16];

		snprintf(label, sizeof(label), "%s contains %s", match_rows[r].cidr,
			 match_rows[r].addr);
		if (op_cidr_parse(match_rows[r].cidr, &c, &err) != 0) {
			print_error("%s: range does not parse: %s\n", label, err);
			fail();
		}
		if (op_addr_parse(match_rows[r].addr, &family, addr) != 0) {
			print_error("%s: address does not parse\n", label);
			fail();
		}
		WANT_INT(label, op_cidr_match(&c, family, addr), match_rows[r].want);
	}
}

/* ---- lists -------------------------------------------------------------- */

static void test_cidr_list_matches_text_addresses_and_refuses_non_addresses(void **state)
{
	/* clang-format off */
	static const char *const ranges[] = {"10.0.0.0/8", "2001:db8::/32", "192.0.2.7"};
	/* clang-format on */
	static const struct {
		const char *addr;
		bool want;
	} rows[] = {
	    {"10.1.2.3", true},	       {"11.0.0.0", false},    {"192.0.2.7", true},
	    {"192.0.2.8", false},      {"2001:db8::5", true},  {"IPv6:2001:db8::5", true},
	    {"::ffff:10.9.9.9", true}, {"2001:db9::", false},  {"", false},
	    {"not-an-ip", false},      {"10.1.2.3/32", false}, {NULL, false},
	};
	struct op_cidr_list l = {0};

	for (size_t i = 0; i < NROWS(ranges); i++) {
		struct op_cidr c;
		const char *err;

		assert_int_equal(op_cidr_parse(ranges[i], &c, &err), 0);
		WANT_INT(ranges[i], op_cidr_list_add(&l, &c), 0);
	}
	WANT_SIZE("list length", l.n, NROWS(ranges));
	for (size_t r = 0; r < NROWS(rows); r++)
		WANT_INT(rows[r].addr ? rows[r].addr : "(null)",
			 op_cidr_list_match_text(&l, rows[r].addr), rows[r].want);
	op_cidr_list_free(&l);
	WANT_SIZE("freed list length", l.n, 0);
	WANT_PTR("freed list array", l.v, NULL);
	WANT_INT("empty list matches nothing", op_cidr_list_match_text(&l, "10.1.2.3"), false);
	op_cidr_list_free(&l); /* an empty list is fine */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cidr_parse_accepts_ipv4_ipv6_and_prefixes),
	    cmocka_unit_test(test_cidr_parse_refuses_bad_prefixes_host_bits_and_garbage),
	    cmocka_unit_test(test_cidr_match_honours_prefix_edges_families_and_mapped_ipv4),
	    cmocka_unit_test(test_cidr_list_matches_text_addresses_and_refuses_non_addresses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
