/*
 * spf_syntax.c - RFC 7208 record grammar (section 12), checked before
 * libspf2 compiles a record (see include/outpost/spf.h).
 *
 * libspf2's own compiler accepts records the RFC calls syntax errors
 * (control characters, bad top labels, unknown macro letters...) and
 * evaluates them; RFC 7208 4.6 wants "permerror" for any of them, before
 * any mechanism is evaluated.  Also the macro counts libspf2 gets right
 * (op_spf_macro_counts()) and the size libspf2 compiles an explanation
 * into (op_spf_exp_compiled_size(), CVE-2023-42118).  Leaf code: no
 * logging, no allocation; every function reads a NUL-terminated string
 * once, left to right.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "outpost/spf.h"

#define TERM_MAX 512

static bool is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool is_alnum(int c)
{
	return is_alpha(c) || is_digit(c);
}

/* One macro-expand at s ("%{...}", "%%", "%_", "%-"): its length, or 0
 * when malformed.  c, r and t are allowed in explanations only. */
static size_t macro_expand_len(const char *s, size_t n, bool exp)
{
	size_t i = 2;
	int letter;

	if (n < 2 || s[0] != '%')
		return 0;
	if (s[1] == '%' || s[1] == '_' || s[1] == '-')
		return 2;
	if (s[1] != '{' || n < 4)
		return 0;
	letter = tolower((unsigned char)s[i++]);
	if (strchr("slodiphv", letter) == NULL && !(exp && strchr("crt", letter) != NULL))
		return 0;
	while (i < n && is_digit(s[i]))
		i++;
	if (i < n && (s[i] == 'r' || s[i] == 'R'))
		i++;
	while (i < n && strchr(".-+,/_=", s[i]) != NULL)
		i++;
	return (i < n && s[i] == '}') ? i + 1 : 0;
}

/* macro-string of n bytes; *last_macro_r tells whether it ends with a
 * macro-expand. */
static bool macro_string(const char *s, size_t n, bool exp, bool *last_macro_r)
{
	bool last = false;

	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];

		if (c == '%') {
			size_t m = macro_expand_len(s + i, n - i, exp);

			if (m == 0)
				return false;
			i += m;
			last = true;
		} else if (c >= 0x21 && c <= 0x7e) {
			i++;
			last = false;
		} else {
			return false;
		}
	}
	if (last_macro_r)
		*last_macro_r = last;
	return true;
}

bool op_spf_macro_string_valid(const char *s, bool exp)
{
	/* An explanation may hold spaces (RFC 7208 6.2: macro-string with
	 * SP between its parts); check each space-separated part. */
	while (*s) {
		size_t n = strcspn(s, " ");

		if (n > 0 && !macro_string(s, n, exp, NULL))
			return false;
		s += n;
		while (*s == ' ')
			s++;
	}
	return true;
}

/* toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum
 * / "-" ) alphanum ): letters, digits and inner hyphens, not all digits. */
static bool toplabel(const char *s, size_t n)
{
	bool alpha = false;

	if (n == 0 || !is_alnum(s[0]) || !is_alnum(s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '-')
			alpha = true; /* the second form: a hyphen makes it a name */
		else if (is_alpha(s[i]))
			alpha = true;
		else if (!is_digit(s[i]))
			return false;
	}
	return alpha;
}

/* domain-spec = macro-string domain-end; domain-end = ( "." toplabel
 * [ "." ] ) / macro-expand. */
static bool domain_spec(const char *s, size_t n)
{
	bool last_macro = false;
	size_t end = n, dot;

	if (n == 0 || !macro_string(s, n, false, &last_macro))
		return false;
	if (last_macro)
		return true;
	if (s[end - 1] == '.')
		end--;
	for (dot = end; dot > 0 && s[dot - 1] != '.'; dot--)
		if (s[dot - 1] == '%' || s[dot - 1] == '}')
			return false;
	if (dot == 0)
		return false; /* no "." before the top label */
	return toplabel(s + dot, end - dot);
}

/* A CIDR length "/N": 0 or no leading zero, at most max.  Returns the
 * bytes used, 0 when none, -1 when malformed. */
static int cidr_len(const char *s, size_t n, unsigned max)
{
	unsigned v = 0;
	size_t i = 1;

	if (n == 0 || s[0] != '/')
		return 0;
	if (i >= n || !is_digit(s[i]))
		return -1;
	if (s[i] == '0' && i + 1 < n && is_digit(s[i + 1]))
		return -1;
	while (i < n && is_digit(s[i])) {
		v = v * 10 + (unsigned)(s[i] - '0');
		if (v > max)
			return -1;
		i++;
	}
	return (int)i;
}

/* The parts of a or mx's arguments: [ ":" domain-spec ] [ dual-cidr ]. */
struct a_parts {
	const char *dom; /* after the ':', or NULL */
	size_t domlen;
	int c4, c6; /* CIDR lengths, -1 when absent */
};

/* Value of a CIDR "/N" that cidr_len() accepted. */
static int cidr_value(const char *s)
{
	int v = 0;

	for (s++; is_digit(*s); s++)
		v = v * 10 + (*s - '0');
	return v;
}

/* Split and check a or mx's arguments.  The CIDR suffix ("/N", "//N",
 * "/N//N") is at the very end; the domain-spec may itself hold '/' (a
 * macro-literal), so the suffix is the first tail that parses whole. */
static bool a_split(const char *s, size_t n, struct a_parts *ap)
{
	size_t len = n;

	ap->dom = NULL;
	ap->domlen = 0;
	ap->c4 = ap->c6 = -1;
	for (size_t i = 0; i < n; i++) {
		const char *t = s + i;
		size_t tn = n - i, used = 0;
		int c4 = 0, c6 = -1;

		if (s[i] != '/')
			continue;
		if (!(tn >= 2 && t[1] == '/')) {
			c4 = cidr_len(t, tn, 32);
			if (c4 <= 0)
				continue;
			used = (size_t)c4;
		}
		if (used < tn) {
			c6 = tn - used >= 2 && t[used + 1] == '/'
				 ? cidr_len(t + used + 1, tn - used - 1, 128)
				 : -1;
			if (c6 <= 0 || used + 1 + (size_t)c6 != tn)
				continue;
			ap->c6 = cidr_value(t + used + 1);
		}
		if (used > 0)
			ap->c4 = cidr_value(t);
		len = i;
		break;
	}
	if (len == 0)
		return true;
	if (s[0] != ':')
		return false;
	ap->dom = s + 1;
	ap->domlen = len - 1;
	return domain_spec(s + 1, len - 1);
}

static bool a_args(const char *s, size_t n)
{
	struct a_parts ap;

	return a_split(s, n, &ap);
}

static bool ip4_network(const char *s, size_t n)
{
	char buf[16];
	struct in_addr a;
	int parts = 0;

	if (n == 0 || n >= sizeof(buf))
		return false;
	/* qnum: no leading zeros (inet_pton accepts none either, but be
	 * explicit about the grammar). */
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '.')
			continue;
		if (!is_digit(s[i]))
			return false;
		if ((i == 0 || s[i - 1] == '.') && s[i] == '0' && i + 1 < n && is_digit(s[i + 1]))
			return false;
		if (i == 0 || s[i - 1] == '.')
			parts++;
	}
	memcpy(buf, s, n);
	buf[n] = '\0';
	return parts == 4 && inet_pton(AF_INET, buf, &a) == 1;
}

static bool ip6_network(const char *s, size_t n)
{
	char buf[64];
	struct in6_addr a;

	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return inet_pton(AF_INET6, buf, &a) == 1;
}

/* ip4/ip6 arguments: ":" network [ cidr ]. */
static bool ip_args(const char *s, size_t n, bool v6)
{
	const char *slash;
	size_t netlen;
	int c;

	if (n < 2 || s[0] != ':')
		return false;
	slash = memchr(s, '/', n);
	netlen = slash ? (size_t)(slash - s) - 1 : n - 1;
	if (!(v6 ? ip6_network(s + 1, netlen) : ip4_network(s + 1, netlen)))
		return false;
	if (slash == NULL)
		return true;
	c = cidr_len(slash, n - (size_t)(slash - s), v6 ? 128 : 32);
	return c > 0 && (size_t)c == n - (size_t)(slash - s);
}

/* Does name (n bytes) start term t, followed by end, ':' or '/'? */
static bool mech_is(const char *t, size_t n, const char *name, size_t *rest_r)
{
	size_t l = strlen(name);

	if (n < l || strncasecmp(t, name, l) != 0)
		return false;
	if (n > l && t[l] != ':' && t[l] != '/')
		return false;
	*rest_r = l;
	return true;
}

static bool directive(const char *t, size_t n, const char **why_r)
{
	size_t r;

	if (n > 0 && strchr("+-?~", t[0]) != NULL) {
		t++;
		n--;
	}
	if (mech_is(t, n, "all", &r))
		return r == n || (*why_r = "\"all\" takes no argument", false);
	if (mech_is(t, n, "include", &r) || mech_is(t, n, "exists", &r))
		return (n > r + 1 && t[r] == ':' && domain_spec(t + r + 1, n - r - 1)) ||
		       (*why_r = "include or exists needs a valid domain-spec", false);
	if (mech_is(t, n, "a", &r) || mech_is(t, n, "mx", &r))
		return a_args(t + r, n - r) ||
		       (*why_r = "a or mx: bad domain-spec or CIDR length", false);
	if (mech_is(t, n, "ptr", &r))
		return r == n || (t[r] == ':' && domain_spec(t + r + 1, n - r - 1)) ||
		       (*why_r = "ptr: bad domain-spec", false);
	if (mech_is(t, n, "ip4", &r))
		return ip_args(t + r, n - r, false) ||
		       (*why_r = "ip4: bad address or CIDR length", false);
	if (mech_is(t, n, "ip6", &r))
		return ip_args(t + r, n - r, true) ||
		       (*why_r = "ip6: bad address or CIDR length", false);
	*why_r = "unknown mechanism";
	return false;
}

/* A modifier (name "=" ...); *seen tracks redirect (1) and exp (2). */
static bool modifier(const char *t, size_t n, size_t eq, unsigned *seen, const char **why_r)
{
	const char *v = t + eq + 1;
	size_t vn = n - eq - 1;

	if (eq == 8 && strncasecmp(t, "redirect", 8) == 0) {
		if (*seen & 1)
			return (*why_r = "redirect= given twice"), false;
		*seen |= 1;
		return domain_spec(v, vn) || (*why_r = "redirect=: bad domain-spec", false);
	}
	if (eq == 3 && strncasecmp(t, "exp", 3) == 0) {
		if (*seen & 2)
			return (*why_r = "exp= given twice"), false;
		*seen |= 2;
		return domain_spec(v, vn) || (*why_r = "exp=: bad domain-spec", false);
	}
	return macro_string(v, vn, false, NULL) ||
	       (*why_r = "modifier with a bad macro-string", false);
}

/* Length of a modifier name at t ending at '=', or 0 when t is not one. */
static size_t modifier_name(const char *t, size_t n)
{
	size_t i = 1;

	if (n == 0 || !is_alpha(t[0]))
		return 0;
	while (i < n && (is_alnum(t[i]) || t[i] == '-' || t[i] == '_' || t[i] == '.'))
		i++;
	return (i < n && t[i] == '=') ? i : 0;
}

bool op_spf_record_valid(const char *rec, const char **why_r)
{
	unsigned seen = 0;
	const char *p;

	for (p = rec; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			return (*why_r = "control or non-ASCII character"), false;
	if (strncasecmp(rec, "v=spf1", 6) != 0 || (rec[6] != ' ' && rec[6] != '\0'))
		return (*why_r = "not an SPF version 1 record"), false;
	for (p = rec + 6; *p;) {
		size_t n, eq;

		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		n = strcspn(p, " ");
		if (n > TERM_MAX)
			return (*why_r = "term too long"), false;
		eq = modifier_name(p, n);
		if (eq > 0 ? !modifier(p, n, eq, &seen, why_r) : !directive(p, n, why_r))
			return false;
		p += n;
	}
	return true;
}

bool op_spf_domain_valid(const char *name, bool multilabel)
{
	size_t n = strlen(name), label = 0, labels = 0;

	if (n > 0 && name[n - 1] == '.')
		n--;
	if (n == 0 || n > 253 || name[0] == '[')
		return false;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || name[i] == '.') {
			if (label == 0 || label > 63)
				return false;
			labels++;
			label = 0;
		} else {
			label++;
		}
	}
	return !multilabel || labels >= 2;
}

/* ---- rewriting for libspf2 ------------------------------------------- */

/* Append a or mx (name) with its parts, for a client of family v6. */
static int norm_a(struct op_buf *b, const char *q, size_t ql, const char *name,
		  const struct a_parts *ap, bool v6)
{
	int rel = v6 ? ap->c6 : ap->c4;
	size_t dl = ap->domlen;

	if (op_buf_append(b, " ", 1) < 0 || op_buf_append(b, q, ql) < 0)
		return -1;
	if (rel == 0) {
		/* "/0": any address at all matches.  libspf2 cannot hold a zero
		 * length, so ask our DNS layer through a marked exists term. */
		if (dl > 0 && ap->dom[dl - 1] == '.')
			dl--;
		if (op_buf_puts(b, "exists:") < 0 ||
		    (ap->dom ? op_buf_append(b, ap->dom, dl) : op_buf_puts(b, "%{d}")) < 0)
			return -1;
		return op_buf_printf(b, ".%s%c.%s", name, v6 ? '6' : '4', OP_SPF_CIDR0_SUFFIX);
	}
	if (op_buf_puts(b, name) < 0 ||
	    (ap->dom && (op_buf_putc(b, ':') < 0 || op_buf_append(b, ap->dom, ap->domlen) < 0)))
		return -1;
	if (ap->c4 > 0 && op_buf_printf(b, "/%d", ap->c4) < 0)
		return -1;
	if (ap->c6 > 0 && op_buf_printf(b, "//%d", ap->c6) < 0)
		return -1;
	return 0;
}

/* Whether ip4/ip6 term t has a CIDR length of 0. */
static bool slash_zero(const char *t, size_t n)
{
	const char *slash = memchr(t, '/', n);

	return slash != NULL && cidr_value(slash) == 0;
}

/* Append ip4/ip6 term t (n bytes, after the qualifier). */
static int norm_ip(struct op_buf *b, const char *q, size_t ql, const char *t, size_t n, bool ip6)
{
	const char *slash = memchr(t, '/', n);

	if (op_buf_append(b, " ", 1) < 0 || op_buf_append(b, q, ql) < 0)
		return -1;
	if (slash == NULL || cidr_value(slash) != 0)
		return op_buf_append(b, t, n);
	/* "/0": the two halves of the address space, same qualifier. */
	if (ip6)
		return op_buf_printf(b, "ip6:::/1 %.*sip6:8000::/1", (int)ql, q);
	return op_buf_printf(b, "ip4:0.0.0.0/1 %.*sip4:128.0.0.0/1", (int)ql, q);
}

int op_spf_record_normalize(const char *rec, bool v6, struct op_buf *out, unsigned *nmech_r)
{
	const char *redir = NULL, *exp = NULL, *p;
	size_t redir_n = 0, exp_n = 0, r;
	bool all = false;
	int rc = op_buf_puts(out, "v=spf1");
	unsigned nmech = 0;

	for (p = rec + 6; *p && rc == 0; p += strcspn(p, " ")) {
		size_t n, eq, ql = 0;
		struct a_parts ap;
		const char *t;

		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		n = strcspn(p, " ");
		eq = modifier_name(p, n);
		if (eq == 8 && strncasecmp(p, "redirect", 8) == 0) {
			redir = p;
			redir_n = n;
			continue;
		}
		if (eq == 3 && strncasecmp(p, "exp", 3) == 0) {
			exp = p;
			exp_n = n;
			continue;
		}
		if (eq > 0)
			continue; /* unknown modifiers have no effect (RFC 7208 6) */
		if (strchr("+-?~", p[0]) != NULL)
			ql = 1;
		t = p + ql;
		nmech++;
		if (mech_is(t, n - ql, "all", &r))
			all = true;
		if (mech_is(t, n - ql, "a", &r) || mech_is(t, n - ql, "mx", &r)) {
			a_split(t + r, n - ql - r, &ap);
			rc = norm_a(out, p, ql, r == 1 ? "a" : "mx", &ap, v6);
		} else if (mech_is(t, n - ql, "ip4", &r) || mech_is(t, n - ql, "ip6", &r)) {
			rc = norm_ip(out, p, ql, t, n - ql, t[2] == '6');
			if (slash_zero(t, n - ql))
				nmech++; /* two halves */
		} else {
			rc = op_buf_putc(out, ' ') < 0 ? -1 : op_buf_append(out, p, n);
		}
	}
	/* RFC 7208 6.1: redirect applies after every mechanism failed to
	 * match, and not at all when the record has an "all". */
	if (rc == 0 && exp != NULL)
		rc = op_buf_putc(out, ' ') < 0 ? -1 : op_buf_append(out, exp, exp_n);
	if (rc == 0 && redir != NULL && !all) {
		rc = op_buf_putc(out, ' ') < 0 ? -1 : op_buf_append(out, redir, redir_n);
		nmech++; /* libspf2 holds redirect as a mechanism */
	}
	*nmech_r = nmech;
	return rc;
}

/* ---- macro right-hand counts for libspf2 ------------------------------ */

/* A count at least this large keeps every label of any value we cannot
 * see: a name of at most 253 octets has at most 127 dot-separated labels.
 * It is also the largest count libspf2 accepts. */
#define RHS_MAX 128

/* The count libspf2 must be given for "%{X<n>[r]<delims>}" of val so that
 * it keeps what RFC 7208 7.3 keeps, or 0 for no count (every label).
 * RFC 7208 splits val at delims ("." when none), reverses with r and keeps
 * the n rightmost labels, joined by ".".  libspf2 joins the same way but
 * then counts every "." of the joined text, including the '.' octets of
 * val when '.' is not a delimiter, and when n is not below that number
 * it drops the first octet instead of keeping all.  So: no count when the
 * n labels are all of them, else n plus the '.' octets inside the kept
 * labels. */
static unsigned long rhs_for(const char *val, const char *delims, size_t nd, bool rev,
			     unsigned long n)
{
	unsigned long labels = 1, k = 0, inner = 0;
	bool dot_delim;

	if (nd == 0) {
		delims = ".";
		nd = 1;
	}
	dot_delim = memchr(delims, '.', nd) != NULL;
	for (const char *p = val; *p; p++)
		labels += memchr(delims, *p, nd) != NULL;
	if (n >= labels)
		return 0;
	/* kept: the last n labels, or with r the first n (reversed) */
	for (const char *p = val; *p; p++) {
		bool kept = rev ? k < n : k >= labels - n;

		if (memchr(delims, *p, nd) != NULL)
			k++;
		else if (*p == '.' && !dot_delim && kept)
			inner++;
	}
	return n + inner;
}

/* Append the macro "%{...}" at s (len bytes, braces included) with its
 * count rewritten for val (NULL: not known). */
static int macro_counts_one(const char *s, size_t len, const char *val, struct op_buf *out)
{
	const char *p = s + 3, *end = s + len - 1, *digits = p;
	unsigned long n = 0, rhs;
	bool rev = false;

	while (p < end && is_digit(*p)) {
		if (n < 100000)
			n = n * 10 + (unsigned long)(*p - '0');
		p++;
	}
	/* No count, or 0 (RFC 7208 7.3 wants nonzero: libspf2 refuses it). */
	if (p == digits || n == 0)
		return op_buf_append(out, s, len);
	if (p < end && (*p == 'r' || *p == 'R')) {
		rev = true;
		p++;
	}
	if (val != NULL)
		rhs = rhs_for(val, p, (size_t)(end - p), rev, n);
	else
		rhs = n >= RHS_MAX ? 0 : n;
	if (op_buf_append(out, s, 3) < 0 || (rhs > 0 && op_buf_printf(out, "%lu", rhs) < 0) ||
	    (rev && op_buf_putc(out, 'r') < 0))
		return -1;
	return op_buf_append(out, p, (size_t)(end - p) + 1);
}

int op_spf_macro_counts(const char *s, const struct op_spf_macro_vals *mv, struct op_buf *out)
{
	while (*s) {
		size_t n = strcspn(s, "%");
		const char *close;

		if (n > 0 && op_buf_append(out, s, n) < 0)
			return -1;
		s += n;
		if (*s == '\0')
			break;
		close = s[1] == '{' && is_alpha(s[2]) ? strchr(s, '}') : NULL;
		if (close == NULL) {
			/* "%%", "%_", "%-" (or a lone '%'): as they are */
			n = s[1] != '\0' ? 2 : 1;
			if (op_buf_append(out, s, n) < 0)
				return -1;
			s += n;
			continue;
		}
		if (macro_counts_one(s, (size_t)(close - s) + 1,
				     mv->val[tolower((unsigned char)s[2]) - 'a'], out) < 0)
			return -1;
		s = close + 1;
	}
	return 0;
}

size_t op_spf_exp_compiled_size(const char *esc)
{
	size_t used = 0, lit = 0;

	for (const char *p = esc; *p;) {
		if (p[0] == '%' && p[1] == '{') {
			if (lit > 0)
				used += 4 + ((lit + 3) & ~(size_t)3);
			lit = 0;
			used += 4;
			p += strcspn(p, "}");
			p += *p != '\0';
		} else if (p[0] == '%' && p[1] == '-') {
			lit += 3;
			p += 2;
		} else {
			lit++;
			p += (p[0] == '%' && (p[1] == '%' || p[1] == '_')) ? 2 : 1;
		}
	}
	return lit > 0 ? used + 4 + ((lit + 3) & ~(size_t)3) : used;
}
