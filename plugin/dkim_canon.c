/*
 * dkim_canon.c - DKIM header and body canonicalization (see
 * include/outpost/dkim_canon.h and RFC 6376 3.4).
 *
 * The body canonicalizer works on spans: it finds the longest run of the
 * input that comes out unchanged (ordinary bytes and the CRLFs that end
 * non-empty lines, scanned eight bytes at a time), and hands it on in one
 * piece: through a small stage when short, straight to the sink (the
 * digest) when at least a stage long, so a base64 attachment is hashed in
 * input-sized pieces without a copy.  Only CR, LF and (relaxed) WSP go
 * through the byte state machine.  What it holds back between chunks:
 * a CR (is it a line end or a bare CR?), a flag for a run of WSP (relaxed:
 * one SP if content follows on the line, nothing at the line end) and the
 * number of empty lines seen since the last content (emitted as CRLFs only
 * when content follows, dropped at the end of the body).  Counting instead
 * of storing bounds its memory whatever the input.
 *
 * A message without a final CRLF is canonicalized as the MTA will deliver
 * it: with one.  Leaf code: never logs.
 */
#include "config.h"

#include <string.h>

#include "outpost/dkim_canon.h"

static const char crlf_run[] = "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n";

const char *op_dkim_canon_name(enum op_dkim_canon c)
{
	return c == OP_DKIM_CANON_RELAXED ? "relaxed" : "simple";
}

static int canon_word(const char *s, size_t n, enum op_dkim_canon *c_r)
{
	if (n == 6 && strncmp(s, "simple", 6) == 0)
		*c_r = OP_DKIM_CANON_SIMPLE;
	else if (n == 7 && strncmp(s, "relaxed", 7) == 0)
		*c_r = OP_DKIM_CANON_RELAXED;
	else
		return -1;
	return 0;
}

int op_dkim_canon_parse(const char *s, enum op_dkim_canon *hdr_r, enum op_dkim_canon *body_r)
{
	const char *slash = strchr(s, '/');
	enum op_dkim_canon h, b = OP_DKIM_CANON_SIMPLE;

	if (slash == NULL)
		return canon_word(s, strlen(s), hdr_r) < 0 ? -1 : (*body_r = b, 0);
	if (canon_word(s, (size_t)(slash - s), &h) < 0 ||
	    canon_word(slash + 1, strlen(slash + 1), &b) < 0)
		return -1;
	*hdr_r = h;
	*body_r = b;
	return 0;
}

static bool is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* simple: "name:value\r\n", a bare LF in the value becoming CRLF. */
static int header_simple(const char *name, const char *v, size_t n, struct op_buf *out)
{
	size_t start = 0;

	if (op_buf_puts(out, name) < 0 || op_buf_putc(out, ':') < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (v[i] != '\n' || (i > 0 && v[i - 1] == '\r'))
			continue;
		if (op_buf_append(out, v + start, i - start) < 0 ||
		    op_buf_append(out, "\r\n", 2) < 0)
			return -1;
		start = i + 1;
	}
	if (op_buf_append(out, v + start, n - start) < 0)
		return -1;
	return op_buf_append(out, "\r\n", 2);
}

/* relaxed: lower-case name without trailing WSP, then the value unfolded
 * (CRLF and bare LF removed), WSP runs as one SP, no WSP at either end. */
static int header_relaxed(const char *name, const char *v, size_t n, struct op_buf *out)
{
	size_t nlen = strlen(name);
	bool space = false;
	size_t start;

	while (nlen > 0 && is_wsp((unsigned char)name[nlen - 1]))
		nlen--;
	for (size_t i = 0; i < nlen; i++) {
		char c = name[i];

		if (op_buf_putc(out, (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c) < 0)
			return -1;
	}
	if (op_buf_putc(out, ':') < 0)
		return -1;
	start = out->len;
	for (size_t i = 0; i < n; i++) {
		size_t j = i;

		if (v[i] == '\n' || (v[i] == '\r' && i + 1 < n && v[i + 1] == '\n'))
			continue;
		if (is_wsp((unsigned char)v[i])) {
			space = out->len > start;
			continue;
		}
		while (j < n && !is_wsp((unsigned char)v[j]) && v[j] != '\n' && v[j] != '\r')
			j++;
		if (j == i)
			j++; /* a bare CR: an ordinary byte */
		if ((space && op_buf_putc(out, ' ') < 0) || op_buf_append(out, v + i, j - i) < 0)
			return -1;
		space = false;
		i = j - 1;
	}
	return op_buf_append(out, "\r\n", 2);
}

int op_dkim_canon_header(enum op_dkim_canon c, const char *name, const char *value,
			 size_t value_len, struct op_buf *out, const char **err_r)
{
	int r;

	if (c == OP_DKIM_CANON_RELAXED)
		r = header_relaxed(name, value, value_len, out);
	else
		r = header_simple(name, value, value_len, out);
	if (r < 0)
		*err_r = "canonical header too long";
	return r;
}

/* ---- body ---- */

static int md_sink(void *arg, const void *data, size_t n)
{
	return EVP_DigestUpdate((EVP_MD_CTX *)arg, data, n) == 1 ? 0 : -1;
}

void op_dkim_body_init(struct op_dkim_body *b, enum op_dkim_canon c, op_dkim_sink_fn *sink,
		       void *arg)
{
	memset(b, 0, offsetof(struct op_dkim_body, stage));
	b->canon = c;
	b->sink = sink;
	b->sink_arg = arg;
}

void op_dkim_body_init_md(struct op_dkim_body *b, enum op_dkim_canon c, EVP_MD_CTX *md)
{
	op_dkim_body_init(b, c, md_sink, md);
}

static int stage_flush(struct op_dkim_body *b)
{
	if (b->stage_len == 0)
		return 0;
	if (b->sink(b->sink_arg, b->stage, b->stage_len) < 0) {
		b->failed = true;
		return -1;
	}
	b->stage_len = 0;
	return 0;
}

static int stage_put(struct op_dkim_body *b, const void *data, size_t n)
{
	const unsigned char *p = data;

	b->out_bytes += n;
	if (n >= sizeof b->stage) {
		/* A long run: no copy, one call to the sink. */
		if (stage_flush(b) < 0 || b->sink(b->sink_arg, data, n) < 0) {
			b->failed = true;
			return -1;
		}
		return 0;
	}
	while (n > 0) {
		size_t room = sizeof b->stage - b->stage_len;
		size_t k;

		if (room == 0) {
			if (stage_flush(b) < 0)
				return -1;
			room = sizeof b->stage;
		}
		k = n < room ? n : room;
		memcpy(b->stage + b->stage_len, p, k);
		b->stage_len += k;
		p += k;
		n -= k;
	}
	return 0;
}

/* Emit line content: first the empty lines held back before it, then the
 * pending (relaxed) space, then the bytes. */
static int body_content(struct op_dkim_body *b, const void *data, size_t n)
{
	while (!b->in_line && b->empty_lines > 0) {
		uint64_t k = b->empty_lines;

		if (k > sizeof crlf_run / 2)
			k = sizeof crlf_run / 2;
		if (stage_put(b, crlf_run, (size_t)k * 2) < 0)
			return -1;
		b->empty_lines -= k;
	}
	if (b->wsp_pending && stage_put(b, " ", 1) < 0)
		return -1;
	b->wsp_pending = false;
	b->in_line = true;
	return stage_put(b, data, n);
}

/* A CR seen earlier turned out not to start a CRLF: it is content. */
static int body_bare_cr(struct op_dkim_body *b)
{
	if (!b->cr_pending)
		return 0;
	b->cr_pending = false;
	return body_content(b, "\r", 1);
}

static int body_line_end(struct op_dkim_body *b)
{
	b->cr_pending = false;
	b->wsp_pending = false;
	if (!b->in_line) {
		b->empty_lines++;
		return 0;
	}
	b->in_line = false;
	return stage_put(b, "\r\n", 2);
}

/* A byte that is copied as is: not CR or LF, and (relaxed) not WSP. */
static bool body_plain(const struct op_dkim_body *b, unsigned char c)
{
	if (c == '\r' || c == '\n')
		return false;
	return b->canon == OP_DKIM_CANON_SIMPLE || !is_wsp(c);
}

#define ONES  0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* Length of the run of plain bytes at p (n bytes), eight at a time: the
 * high bit of each byte of (v - ONES * lim) & ~v & HIGHS below lim is set,
 * and the lowest set bit is exact (a borrow only marks bytes above one
 * that matched).  lim covers CR, LF (and relaxed: SP, TAB); the few other
 * control bytes it catches are checked and skipped. */
static size_t plain_span(const struct op_dkim_body *b, const unsigned char *p, size_t n)
{
	uint64_t lim = ONES * (b->canon == OP_DKIM_CANON_RELAXED ? 0x21 : 0x0e);
	size_t i = 0;

	while (i + 8 <= n) {
		uint64_t v, m;

		memcpy(&v, p + i, 8);
		m = (v - lim) & ~v & HIGHS;
		if (m == 0) {
			i += 8;
			continue;
		}
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		i += (size_t)__builtin_ctzll(m) / 8;
		if (!body_plain(b, p[i]))
			return i;
		i++;
#else
		break;
#endif
	}
	while (i < n && body_plain(b, p[i]))
		i++;
	return i;
}

/* Length of the run at p (p[0] plain) that canonicalizes to itself: plain
 * bytes, and each CRLF that ends a line with content and is followed by a
 * plain byte or by the end of the chunk.  *crlf_r: the run ends with one. */
static size_t body_run(const struct op_dkim_body *b, const unsigned char *p, size_t n, bool *crlf_r)
{
	size_t k = 0;

	*crlf_r = false;
	for (;;) {
		k += plain_span(b, p + k, n - k);
		if (k + 1 >= n || p[k] != '\r' || p[k + 1] != '\n')
			return k;
		k += 2;
		if (k == n || !body_plain(b, p[k])) {
			*crlf_r = true;
			return k;
		}
	}
}

static int body_special(struct op_dkim_body *b, unsigned char c)
{
	if (c == '\n')
		return body_line_end(b);
	if (body_bare_cr(b) < 0)
		return -1;
	if (c == '\r')
		b->cr_pending = true;
	else
		b->wsp_pending = true; /* relaxed WSP */
	return 0;
}

int op_dkim_body_feed(struct op_dkim_body *b, const void *data, size_t n, const char **err_r)
{
	const unsigned char *p = data;
	size_t i = 0;

	if (b->finished || b->failed) {
		*err_r = b->failed ? "body digest failed" : "body fed after its end";
		return -1;
	}
	while (i < n) {
		int r;

		if (body_plain(b, p[i])) {
			bool crlf;
			size_t j = i + body_run(b, p + i, n - i, &crlf);

			r = body_bare_cr(b);
			if (r == 0)
				r = body_content(b, p + i, j - i);
			if (crlf)
				b->in_line = false; /* its CRLF went out with the run */
			i = j;
		} else {
			r = body_special(b, p[i++]);
		}
		if (r < 0) {
			*err_r = "body digest failed";
			return -1;
		}
	}
	return 0;
}

int op_dkim_body_finish(struct op_dkim_body *b, const char **err_r)
{
	int r;

	if (b->finished || b->failed) {
		*err_r = b->failed ? "body digest failed" : "body finished twice";
		return -1;
	}
	b->finished = true;
	r = body_bare_cr(b);
	b->wsp_pending = false; /* relaxed: WSP at the end of the last line */
	if (r == 0 && b->in_line)
		r = body_line_end(b);
	b->empty_lines = 0;
	if (r == 0 && b->canon == OP_DKIM_CANON_SIMPLE && b->out_bytes == 0)
		r = stage_put(b, "\r\n", 2);
	if (r == 0)
		r = stage_flush(b);
	if (r < 0) {
		b->failed = true;
		*err_r = "body digest failed";
	}
	return r;
}
