/*
 * cidr.h - IPv4 and IPv6 address ranges ("192.0.2.0/24", "2001:db8::/32",
 * or a bare address).  Leaf code: parsing returns error text, never logs.
 */
#ifndef OUTPOST_CIDR_H
#define OUTPOST_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct op_cidr {
	int family;	  /* AF_INET or AF_INET6 */
	uint8_t addr[16]; /* network address, host bits cleared */
	unsigned prefix;  /* 0..32 or 0..128 */
};

struct op_cidr_list {
	struct op_cidr *v;
	size_t n;
};

/* Parse text into *c.  Returns 0, or -1 with *err_r set (static text). */
int op_cidr_parse(const char *text, struct op_cidr *c, const char **err_r);

/* Parse an address without prefix ("192.0.2.1", "::1", "IPv6:2001:db8::1")
 * into family and 16 bytes.  Returns 0 or -1. */
int op_addr_parse(const char *text, int *family_r, uint8_t addr_r[16]);

/* True when the address (family, 16 bytes) lies in c.  An IPv4-mapped IPv6
 * address (::ffff:a.b.c.d) matches IPv4 ranges. */
bool op_cidr_match(const struct op_cidr *c, int family, const uint8_t addr[16]);

/* True when any range of the list holds the address given as text; false for
 * text that is not an address. */
bool op_cidr_list_match_text(const struct op_cidr_list *l, const char *addr);

/* Append one parsed range; returns 0 or -1 (memory). */
int op_cidr_list_add(struct op_cidr_list *l, const struct op_cidr *c);

/* Free the list's array; accepts an empty list. */
void op_cidr_list_free(struct op_cidr_list *l);

#endif
