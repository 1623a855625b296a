/*
 * buf.c - the bounded text buffer (see include/outpost/buf.h).
 *
 * Growth doubles the capacity up to the buffer's maximum (+1 for the NUL);
 * an append that would pass the maximum fails and leaves the buffer as it
 * was, so a caller can always report what it had.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outpost/buf.h"

void op_buf_init(struct op_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

/* Make room for need more bytes plus the NUL.  0 or -1. */
static int buf_reserve(struct op_buf *b, size_t need)
{
	size_t want, ncap;
	char *p;

	if (need > b->max - b->len)
		return -1;
	want = b->len + need + 1;
	if (want <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 64;
	while (ncap < want)
		ncap *= 2;
	if (ncap - 1 > b->max) /* not ncap > max + 1: max may be SIZE_MAX */
		ncap = b->max + 1;
	p = realloc(b->data, ncap);
	if (p == NULL)
		return -1;
	b->data = p;
	b->cap = ncap;
	return 0;
}

int op_buf_append(struct op_buf *b, const void *s, size_t n)
{
	if (buf_reserve(b, n) < 0)
		return -1;
	if (n > 0)
		memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int op_buf_puts(struct op_buf *b, const char *s)
{
	return op_buf_append(b, s, strlen(s));
}

int op_buf_putc(struct op_buf *b, char c)
{
	/* Room for the byte and the NUL: cap <= max + 1, so len + 1 <= max. */
	if (b->len + 2 <= b->cap) {
		b->data[b->len++] = c;
		b->data[b->len] = '\0';
		return 0;
	}
	return op_buf_append(b, &c, 1);
}

int op_buf_vprintf(struct op_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;
	size_t room = b->cap - b->len; /* the NUL's byte included */

	/* Format into the room there is; only text that does not fit is
	 * formatted twice (once to learn its length). */
	va_copy(ap2, ap);
	n = vsnprintf(b->cap ? b->data + b->len : NULL, b->cap ? room : 0, fmt, ap2);
	va_end(ap2);
	if (n >= 0 && b->cap && (size_t)n < room) {
		b->len += (size_t)n; /* fits: cap <= max + 1 */
		return 0;
	}
	if (b->cap)
		b->data[b->len] = '\0'; /* unchanged, as the contract says */
	if (n < 0 || buf_reserve(b, (size_t)n) < 0)
		return -1;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int op_buf_printf(struct op_buf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = op_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return r;
}

/* A byte op_buf_put_escaped() copies as it is. */
static bool plain(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && c != '\\' && c != '"';
}

int op_buf_put_escaped(struct op_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	char esc[4];

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		size_t run = 0;
		int r;

		while (run < n - i && plain((unsigned char)s[i + run]))
			run++;
		if (run > 0) {
			/* a run copied as it is; on overflow, what fits */
			size_t fit = b->max - b->len < run ? b->max - b->len : run;

			if (op_buf_append(b, s + i, fit) < 0 || fit < run)
				return -1;
			i += run - 1;
			continue;
		}
		if (c == '\\' || c == '"') {
			esc[0] = '\\';
			esc[1] = (char)c;
			r = op_buf_append(b, esc, 2);
		} else {
			esc[0] = '\\';
			esc[1] = 'x';
			esc[2] = hex[c >> 4];
			esc[3] = hex[c & 15];
			r = op_buf_append(b, esc, 4);
		}
		if (r < 0)
			return -1;
	}
	return 0;
}

const char *op_buf_str(const struct op_buf *b)
{
	return b->data ? b->data : "";
}

void op_buf_reset(struct op_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void op_buf_truncate(struct op_buf *b, size_t len)
{
	if (len < b->len) {
		b->len = len;
		b->data[len] = '\0';
	}
}

void op_buf_free(struct op_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

bool op_strlcpy(char *dst, const char *src, size_t dstsize)
{
	size_t n = strlen(src);

	if (dstsize == 0)
		return false;
	if (n >= dstsize) {
		memcpy(dst, src, dstsize - 1);
		dst[dstsize - 1] = '\0';
		return false;
	}
	memcpy(dst, src, n + 1);
	return true;
}
