/*
 * addr.h - mail addresses from header fields (plugin/addr.c).
 *
 * Leaf code, for untrusted input: bounded, never logs.
 */
#ifndef OUTPOST_ADDR_H
#define OUTPOST_ADDR_H

#include <stddef.h>

/* The domain of the mailboxes in a From:-like header value (RFC 5322
 * mailbox-list: display names, quoted strings, comments, angle addresses,
 * obsolete folding).  All mailboxes must share one domain.  Writes the
 * lower-cased domain into domain (size dsize) and the first address into
 * addr (size asize).  Returns the number of mailboxes (>= 1), or -1 with
 * *err_r: no address, an address without a domain, mailboxes in several
 * domains, unbalanced quotes or brackets, or a result too long. */
int op_addr_header_domain(const char *value, char *addr, size_t asize, char *domain, size_t dsize,
			  const char **err_r);

#endif
