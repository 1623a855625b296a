/*
 * dkim_wrap.h - lines as the MTA's SMTP client will send them
 * (plugin/dkim_wrap.c).
 *
 * Postfix's SMTP client (smtp_text_out(), smtp_line_length_limit = 998)
 * breaks a header or body line longer than the limit after `limit` octets
 * with CRLF, then goes on with a space and limit - 1 octets per segment:
 * "<998 octets>CRLF <997 octets>CRLF <rest>".  A signature over the
 * unbroken line fails at the receiver; one over the broken line verifies.
 * This module produces the broken form, streaming, so the signer hashes
 * what leaves.  CRLF ends a line; a CR not followed by LF is line content.
 * Leaf code: no logging, no allocation in the streaming part.
 */
#ifndef OUTPOST_DKIM_WRAP_H
#define OUTPOST_DKIM_WRAP_H

#include <stdbool.h>
#include <stddef.h>

struct op_pool;

struct op_dkim_wrap {
	size_t limit; /* octets per line before a break; 0: never break */
	size_t col;   /* octets of the current line sent so far */
	bool cr;      /* a CR is held: CRLF (line end) or content? */
};

/* Where output goes: 0, or -1 with *err_r set (stops the feed). */
typedef int op_dkim_wrap_sink_fn(void *arg, const void *data, size_t n, const char **err_r);

void op_dkim_wrap_init(struct op_dkim_wrap *w, size_t limit);

/* Feed n octets of body (CRLF line ends, any chunking); the broken form
 * goes to sink.  Returns 0, or the sink's -1. */
int op_dkim_wrap_feed(struct op_dkim_wrap *w, const void *data, size_t n,
		      op_dkim_wrap_sink_fn *sink, void *arg, const char **err_r);

/* End of body: a held CR is content.  Returns 0 or the sink's -1. */
int op_dkim_wrap_finish(struct op_dkim_wrap *w, op_dkim_wrap_sink_fn *sink, void *arg,
			const char **err_r);

/* A header value as the MTA will send it: the first line starts after
 * "Name:" (name_len + 1 octets), folds (CRLF) start new lines.  Returns
 * value itself when no line is too long, else a new pool string; NULL
 * when memory is short. */
const char *op_dkim_wrap_header(struct op_pool *pool, size_t name_len, const char *value,
				size_t limit);

/* True when some line of the header "Name:value" is longer than limit. */
bool op_dkim_wrap_header_needed(size_t name_len, const char *value, size_t limit);

#endif
