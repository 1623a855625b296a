/*
 * dkim_wrap.c - lines broken as the MTA's SMTP client breaks them
 * (see include/outpost/dkim_wrap.h).
 *
 * The rule, from Postfix's smtp_text_out(): before a content octet, when
 * the line already holds `limit` octets, send CRLF and a space (which
 * counts as the first octet of the new line).  Content between line ends
 * is found with memchr and copied a line's room at a time; output is
 * staged in a small buffer so the sink sees few calls.
 */
#include "config.h"

#include <string.h>

#include "outpost/dkim_wrap.h"
#include "outpost/pool.h"

#define WRAP_STAGE 4096

struct wrap_out {
	char buf[WRAP_STAGE];
	size_t n;
	op_dkim_wrap_sink_fn *sink;
	void *arg;
	const char **err_r;
};

static int out_flush(struct wrap_out *o)
{
	int r = o->n ? o->sink(o->arg, o->buf, o->n, o->err_r) : 0;

	o->n = 0;
	return r;
}

static int out_put(struct wrap_out *o, const char *s, size_t n)
{
	if (o->n + n > sizeof(o->buf) && out_flush(o) < 0)
		return -1;
	if (n > sizeof(o->buf))
		return o->sink(o->arg, s, n, o->err_r); /* too long to stage */
	memcpy(o->buf + o->n, s, n);
	o->n += n;
	return 0;
}

/* Content octets p[0..n) (no line end), in pieces that fill the line,
 * each after a break when the line is full. */
static int wrap_content(struct op_dkim_wrap *w, struct wrap_out *o, const char *p, size_t n)
{
	while (n > 0) {
		size_t k = n;

		if (w->limit > 0) {
			if (w->col >= w->limit) {
				if (out_put(o, "\r\n ", 3) < 0)
					return -1;
				w->col = 1;
			}
			if (k > w->limit - w->col)
				k = w->col < w->limit ? w->limit - w->col : 1;
		}
		if (out_put(o, p, k) < 0)
			return -1;
		w->col += k;
		p += k;
		n -= k;
	}
	return 0;
}

/* End of the content run at p: the next CR or LF, or end. */
static const char *run_end(const char *p, const char *end)
{
	const char *lf = memchr(p, '\n', (size_t)(end - p)), *stop = lf ? lf : end;
	const char *cr = memchr(p, '\r', (size_t)(stop - p));

	return cr ? cr : stop;
}

void op_dkim_wrap_init(struct op_dkim_wrap *w, size_t limit)
{
	w->limit = limit;
	w->col = 0;
	w->cr = false;
}

int op_dkim_wrap_feed(struct op_dkim_wrap *w, const void *data, size_t n,
		      op_dkim_wrap_sink_fn *sink, void *arg, const char **err_r)
{
	struct wrap_out o = {.n = 0, .sink = sink, .arg = arg, .err_r = err_r};
	const char *p = data, *end = p + n;

	while (p < end) {
		int r = 0;

		if (w->cr) {
			w->cr = false;
			if (*p == '\n') {
				w->col = 0;
				r = out_put(&o, "\r\n", 2);
				p++;
				if (r < 0)
					return -1;
				continue;
			}
			if (wrap_content(w, &o, "\r", 1) < 0)
				return -1;
		}
		if (*p == '\r') {
			w->cr = true;
			p++;
		} else if (*p == '\n') {
			w->col = 0; /* a bare LF: the MTA sends it as a line end */
			r = out_put(&o, "\n", 1);
			p++;
		} else {
			const char *q = run_end(p, end);

			r = wrap_content(w, &o, p, (size_t)(q - p));
			p = q;
		}
		if (r < 0)
			return -1;
	}
	return out_flush(&o);
}

int op_dkim_wrap_finish(struct op_dkim_wrap *w, op_dkim_wrap_sink_fn *sink, void *arg,
			const char **err_r)
{
	struct wrap_out o = {.n = 0, .sink = sink, .arg = arg, .err_r = err_r};

	if (w->cr) {
		w->cr = false;
		if (wrap_content(w, &o, "\r", 1) < 0)
			return -1;
	}
	return out_flush(&o);
}

bool op_dkim_wrap_header_needed(size_t name_len, const char *value, size_t limit)
{
	size_t col = name_len + 1;

	if (limit == 0)
		return false;
	for (const char *p = value; *p; p++) {
		if (p[0] == '\r' && p[1] == '\n')
			continue;
		if (*p == '\n')
			col = 0;
		else if (++col > limit)
			return true;
	}
	return false;
}

/* Sink appending to a pool-free growing copy: the caller sized it. */
struct hdr_sink {
	char *s;
	size_t n, cap;
};

static int hdr_put(void *arg, const void *data, size_t n, const char **err_r)
{
	struct hdr_sink *h = arg;

	if (h->n + n > h->cap) {
		*err_r = "header grew past its estimate";
		return -1;
	}
	memcpy(h->s + h->n, data, n);
	h->n += n;
	return 0;
}

const char *op_dkim_wrap_header(struct op_pool *pool, size_t name_len, const char *value,
				size_t limit)
{
	struct op_dkim_wrap w;
	struct hdr_sink h;
	const char *err;
	size_t len = strlen(value);

	if (!op_dkim_wrap_header_needed(name_len, value, limit))
		return value;
	/* Each break adds 3 octets per (limit - 1) octets of content, at most. */
	h.cap = len + 3 * (len / (limit > 1 ? limit - 1 : 1) + 2);
	h.n = 0;
	h.s = op_pool_alloc(pool, h.cap + 1);
	if (h.s == NULL)
		return NULL;
	op_dkim_wrap_init(&w, limit);
	w.col = name_len + 1;
	if (op_dkim_wrap_feed(&w, value, len, hdr_put, &h, &err) < 0 ||
	    op_dkim_wrap_finish(&w, hdr_put, &h, &err) < 0)
		return NULL;
	h.s[h.n] = '\0';
	return h.s;
}
