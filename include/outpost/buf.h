/*
 * buf.h - the one bounded text buffer of outpost.
 *
 * Every piece of text outpost builds (replies, log lines, header values,
 * canonicalized data) goes through struct op_buf: it knows its length, its
 * capacity and a hard maximum, is always NUL terminated, and an append that
 * would pass the maximum fails without changing the buffer.  Leaf code: it
 * never logs.
 */
#ifndef OUTPOST_BUF_H
#define OUTPOST_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

struct op_buf {
	char *data; /* always NUL terminated once initialised */
	size_t len; /* bytes used, not counting the NUL */
	size_t cap; /* bytes allocated */
	size_t max; /* largest len allowed */
};

/* Prepare an empty buffer that may grow to max bytes of text.  Allocates
 * nothing until the first append.  Never fails. */
void op_buf_init(struct op_buf *b, size_t max);

/* Append n bytes of s (which may hold NULs).  Returns 0, or -1 when the
 * result would exceed b->max or memory is short; the buffer is then unchanged. */
int op_buf_append(struct op_buf *b, const void *s, size_t n);

/* Append a NUL-terminated string.  Same returns as op_buf_append(). */
int op_buf_puts(struct op_buf *b, const char *s);

/* Append one byte.  Same returns as op_buf_append(). */
int op_buf_putc(struct op_buf *b, char c);

/* Append formatted text.  Returns 0, or -1 (buffer unchanged) on overflow. */
int op_buf_printf(struct op_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int op_buf_vprintf(struct op_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* Append s, escaping it for a log line: printable ASCII is copied, a
 * backslash or double quote is backslash-escaped, anything else becomes \xHH.
 * Stops (returning -1, keeping what fit) when the buffer is full. */
int op_buf_put_escaped(struct op_buf *b, const char *s, size_t n);

/* Text of the buffer; "" for a buffer that never grew. */
const char *op_buf_str(const struct op_buf *b);

/* Forget the content, keep the allocation. */
void op_buf_reset(struct op_buf *b);

/* Shorten to len bytes (len <= b->len). */
void op_buf_truncate(struct op_buf *b, size_t len);

/* Release the allocation; the buffer is empty and reusable afterwards. */
void op_buf_free(struct op_buf *b);

/* Copy src into dst of size dstsize, always NUL terminating.  Returns true
 * when the whole string fit.  For fixed arrays only; prefer op_buf. */
bool op_strlcpy(char *dst, const char *src, size_t dstsize);

#endif
