/*
 * addr.c - the domain of a From: header (see include/outpost/addr.h).
 *
 * A small scanner, not a full RFC 5322 parser: it removes comments, keeps
 * quoted strings opaque, splits mailboxes on top-level commas (and group
 * syntax "name: a@b, c@d;"), and takes the angle address when there is one,
 * else the bare addr-spec.  What it cannot read is an error: the caller
 * then does not sign rather than sign for a guessed domain.
 */
#include "config.h"

#include <ctype.h>
#include <string.h>

#include "outpost/addr.h"
#include "outpost/buf.h"

#define ADDR_MAX 998

/* Copy v without comments, unfolded; quoted strings kept with quotes.
 * 0, or -1 with *err_r. */
static int strip_comments(const char *v, struct op_buf *out, const char **err_r)
{
	int depth = 0;
	bool quoted = false;

	for (const char *p = v; *p; p++) {
		char c = *p;

		if (c == '\r' || c == '\n')
			continue;
		if (quoted) {
			if (c == '\\' && p[1])
				op_buf_putc(out, *p++);
			else if (c == '"')
				quoted = false;
		} else if (depth > 0) {
			if (c == '\\' && p[1])
				p++;
			else if (c == '(')
				depth++;
			else if (c == ')')
				depth--;
			continue;
		} else if (c == '(') {
			depth = 1;
			op_buf_putc(out, ' ');
			continue;
		} else if (c == '"') {
			quoted = true;
		}
		if (op_buf_putc(out, c) < 0)
			return (*err_r = "From: header too long"), -1;
	}
	if (depth != 0 || quoted)
		return (*err_r = "unbalanced comment or quote in From:"), -1;
	return 0;
}

/* The addr-spec of one mailbox text s[0..n). */
static int mailbox_addr(const char *s, size_t n, char *addr, size_t asize, const char **err_r)
{
	const char *lt = memchr(s, '<', n), *gt;
	size_t b, e;

	if (lt != NULL) {
		gt = memchr(lt, '>', n - (size_t)(lt - s));
		if (gt == NULL)
			return (*err_r = "unbalanced <> in From:"), -1;
		s = lt + 1;
		n = (size_t)(gt - s);
	}
	for (b = 0; b < n && isspace((unsigned char)s[b]); b++)
		;
	for (e = n; e > b && isspace((unsigned char)s[e - 1]); e--)
		;
	if (e == b)
		return (*err_r = "From: has an empty address"), -1;
	if (e - b >= asize)
		return (*err_r = "From: address too long"), -1;
	memcpy(addr, s + b, e - b);
	addr[e - b] = '\0';
	return 0;
}

/* Record the domain of addr in domain; compare with an earlier one. */
static int mailbox_domain(const char *addr, char *domain, size_t dsize, bool first,
			  const char **err_r)
{
	const char *at = strrchr(addr, '@');
	char d[256];
	size_t n;

	if (at == NULL || at[1] == '\0')
		return (*err_r = "From: address has no domain"), -1;
	n = strlen(at + 1);
	if (n >= sizeof(d) || n >= dsize)
		return (*err_r = "From: domain too long"), -1;
	for (size_t i = 0; i <= n; i++)
		d[i] = (char)tolower((unsigned char)at[1 + i]);
	if (strchr(d, ' ') || strchr(d, '"') || strchr(d, '<'))
		return (*err_r = "From: domain is malformed"), -1;
	if (first)
		memcpy(domain, d, n + 1);
	else if (strcmp(domain, d) != 0)
		return (*err_r = "From: has mailboxes in several domains"), -1;
	return 0;
}

int op_addr_header_domain(const char *value, char *addr, size_t asize, char *domain, size_t dsize,
			  const char **err_r)
{
	struct op_buf b;
	char one[ADDR_MAX + 1];
	const char *s, *start;
	bool quoted = false;
	int count = 0;

	op_buf_init(&b, 64 * 1024);
	if (strip_comments(value, &b, err_r) < 0) {
		op_buf_free(&b);
		return -1;
	}
	s = start = op_buf_str(&b);
	for (const char *p = s;; p++) {
		if (*p == '"' && (p == s || p[-1] != '\\'))
			quoted = !quoted;
		if (quoted && *p)
			continue;
		if (*p == ':' && memchr(start, '<', (size_t)(p - start)) == NULL &&
		    memchr(start, '@', (size_t)(p - start)) == NULL) {
			start = p + 1; /* group name */
			continue;
		}
		if (*p != ',' && *p != ';' && *p != '\0')
			continue;
		if (strspn(start, " \t") < (size_t)(p - start)) {
			if (mailbox_addr(start, (size_t)(p - start), one, sizeof(one), err_r) < 0 ||
			    mailbox_domain(one, domain, dsize, count == 0, err_r) < 0) {
				op_buf_free(&b);
				return -1;
			}
			if (count++ == 0 && !op_strlcpy(addr, one, asize)) {
				op_buf_free(&b);
				return (*err_r = "From: address too long"), -1;
			}
		}
		if (*p == '\0')
			break;
		start = p + 1;
	}
	op_buf_free(&b);
	if (count == 0)
		return (*err_r = "From: has no address"), -1;
	return count;
}
