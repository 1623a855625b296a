/*
 * dns.h - small synchronous DNS lookups over the system resolver
 * (plugin/dns.c, res_nquery: thread safe, follows /etc/resolv.conf).
 * For config-time and operator tools (key checks), not for per-message work.
 */
#ifndef OUTPOST_DNS_H
#define OUTPOST_DNS_H

#include <stddef.h>

#include "outpost/buf.h"

enum op_dns_status {
	OP_DNS_OK = 0,	 /* records found */
	OP_DNS_NXDOMAIN, /* the name does not exist, or has no TXT record */
	OP_DNS_TEMPFAIL, /* timeout, SERVFAIL, no server */
	OP_DNS_ERROR,	 /* malformed answer, too large */
};

/* The TXT records of name, each with its character-strings concatenated,
 * appended to out separated by "\n" (RFC 6376 3.6.2.2 concatenation).
 * Returns the status; for anything but OK, *err_r says why. */
enum op_dns_status op_dns_txt(const char *name, struct op_buf *out, const char **err_r);

#endif
