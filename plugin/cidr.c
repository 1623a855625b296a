/*
 * cidr.c - IPv4/IPv6 ranges (see include/outpost/cidr.h).
 *
 * Numbers are parsed with strtoul and an end-pointer check; host bits of
 * the network address must be zero ("192.0.2.1/24" is refused: it is
 * usually a typo for a host address or for another network).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "outpost/cidr.h"

int op_addr_parse(const char *text, int *family_r, uint8_t addr_r[16])
{
	memset(addr_r, 0, 16);
	if (strncasecmp(text, "IPv6:", 5) == 0)
		text += 5;
	if (inet_pton(AF_INET, text, addr_r) == 1) {
		*family_r = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, text, addr_r) == 1) {
		*family_r = AF_INET6;
		return 0;
	}
	return -1;
}

/* Parse the prefix length after '/'.  0 or -1. */
static int cidr_prefix(const char *s, unsigned max, unsigned *r)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return -1;
	*r = (unsigned)v;
	return 0;
}

int op_cidr_parse(const char *text, struct op_cidr *c, const char **err_r)
{
	char host[64];
	const char *slash = strchr(text, '/');
	size_t hl = slash ? (size_t)(slash - text) : strlen(text);
	unsigned max;

	if (hl == 0 || hl >= sizeof(host)) {
		*err_r = "not an address";
		return -1;
	}
	memcpy(host, text, hl);
	host[hl] = '\0';
	if (op_addr_parse(host, &c->family, c->addr) < 0) {
		*err_r = "not an IPv4 or IPv6 address";
		return -1;
	}
	max = c->family == AF_INET ? 32 : 128;
	c->prefix = max;
	if (slash && cidr_prefix(slash + 1, max, &c->prefix) < 0) {
		*err_r = c->family == AF_INET ? "prefix length must be 0..32"
					      : "prefix length must be 0..128";
		return -1;
	}
	for (unsigned bit = c->prefix; bit < max; bit++) {
		if (c->addr[bit / 8] & (0x80 >> (bit % 8))) {
			*err_r = "host bits set after the prefix length";
			return -1;
		}
	}
	return 0;
}

static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool op_cidr_match(const struct op_cidr *c, int family, const uint8_t addr[16])
{
	uint8_t v4[16];
	unsigned full, rest;

	if (family == AF_INET6 && c->family == AF_INET && memcmp(addr, v4mapped, 12) == 0) {
		memset(v4, 0, sizeof(v4));
		memcpy(v4, addr + 12, 4);
		addr = v4;
		family = AF_INET;
	}
	if (family != c->family)
		return false;
	full = c->prefix / 8;
	rest = c->prefix % 8;
	if (memcmp(addr, c->addr, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((addr[full] ^ c->addr[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

bool op_cidr_list_match_text(const struct op_cidr_list *l, const char *text)
{
	int family;
	uint8_t addr[16];

	if (text == NULL || op_addr_parse(text, &family, addr) < 0)
		return false;
	for (size_t i = 0; i < l->n; i++)
		if (op_cidr_match(&l->v[i], family, addr))
			return true;
	return false;
}

int op_cidr_list_add(struct op_cidr_list *l, const struct op_cidr *c)
{
	struct op_cidr *v = realloc(l->v, (l->n + 1) * sizeof(*v));

	if (v == NULL)
		return -1;
	v[l->n++] = *c;
	l->v = v;
	return 0;
}

void op_cidr_list_free(struct op_cidr_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}
