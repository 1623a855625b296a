/*
 * dkim_canon.h - DKIM canonicalization (RFC 6376 section 3.4).
 *
 * Header canonicalization turns one header (name + raw value as the MTA
 * hands it to a milter with SMFIP_HDR_LEADSPC: leading space and folding
 * kept) into the bytes a signature covers.  Body canonicalization is a
 * streaming state machine fed arbitrary chunks; it hands canonical bytes to a
 * sink (a callback, or an EVP_MD_CTX directly).  It never buffers the body:
 * it holds back at most one CR, a flag for a run of whitespace and a count
 * of empty lines, so its memory is constant whatever the message.
 *
 * Line endings: the MTA puts a message on the wire with CRLF line ends, and
 * both Postfix and Sendmail turn a bare LF into CRLF when they do.  So a bare
 * LF (in a header value or in the body) is canonicalized as CRLF, which is
 * what the receiver will see; a bare CR (not followed by LF) is an ordinary
 * byte, as dkimpy and libopendkim treat it.
 *
 * Leaf code: never logs.  Read more: RFC 6376 3.4.1 to 3.4.5.
 */
#ifndef OUTPOST_DKIM_CANON_H
#define OUTPOST_DKIM_CANON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "outpost/buf.h"

enum op_dkim_canon {
	OP_DKIM_CANON_SIMPLE = 0,
	OP_DKIM_CANON_RELAXED,
};

/* "simple" or "relaxed". */
const char *op_dkim_canon_name(enum op_dkim_canon c);

/* Parse a c= style pair: "relaxed/simple", or "relaxed" alone, which means
 * "relaxed/simple" (RFC 6376 3.5: a missing body algorithm is simple).
 * Returns 0 with *hdr_r and *body_r set, or -1 when s is not one of those. */
int op_dkim_canon_parse(const char *s, enum op_dkim_canon *hdr_r, enum op_dkim_canon *body_r);

/* Append the canonical form of one header, "name:value" and a final CRLF,
 * to out.  name is NUL terminated; value is value_len bytes exactly as
 * received (leading space and folding kept; bare LF counts as CRLF).
 * simple: name and value unchanged.  relaxed: name lower-cased, folding
 * removed, runs of WSP made one SP, WSP around the colon and at the end
 * removed.  Returns 0, or -1 with *err_r set when out would pass its
 * maximum (out then holds a partial header: reset it). */
int op_dkim_canon_header(enum op_dkim_canon c, const char *name, const char *value,
			 size_t value_len, struct op_buf *out, const char **err_r);

/* Where canonical body bytes go.  Returns 0, or -1 to stop the feed. */
typedef int op_dkim_sink_fn(void *arg, const void *data, size_t n);

/* Bytes staged before a call to the sink; a run of unchanged input at least
 * this long goes to the sink directly, without a copy. */
#define OP_DKIM_BODY_STAGE 8192

/* Streaming body canonicalizer.  Fields are private; embed it anywhere
 * (it owns no allocation). */
struct op_dkim_body {
	enum op_dkim_canon canon;
	op_dkim_sink_fn *sink;
	void *sink_arg;
	uint64_t empty_lines; /* empty lines held back: emitted only if content follows */
	uint64_t out_bytes;   /* canonical bytes handed to the sink (staged included) */
	bool cr_pending;      /* the last byte seen was a CR */
	bool wsp_pending;     /* relaxed: a run of WSP seen, not yet emitted */
	bool in_line;	      /* the current line has emitted content */
	bool failed;	      /* the sink refused: every later call fails */
	bool finished;
	size_t stage_len;
	unsigned char stage[OP_DKIM_BODY_STAGE];
};

/* Prepare b to canonicalize one body with c, handing bytes to sink(arg,..).
 * Never fails. */
void op_dkim_body_init(struct op_dkim_body *b, enum op_dkim_canon c, op_dkim_sink_fn *sink,
		       void *arg);

/* Same, with EVP_DigestUpdate(md, ...) as the sink; md must be initialised
 * (EVP_DigestInit_ex) by the caller and outlive b's use. */
void op_dkim_body_init_md(struct op_dkim_body *b, enum op_dkim_canon c, EVP_MD_CTX *md);

/* Feed the next n bytes of the body (any split: a CRLF or a run of WSP may
 * straddle two calls).  Returns 0, or -1 with *err_r set when the sink
 * failed or b is already finished. */
int op_dkim_body_feed(struct op_dkim_body *b, const void *data, size_t n, const char **err_r);

/* End of body: complete a last line that lacks its CRLF, drop held-back
 * trailing empty lines, apply the empty-body rule (simple: CRLF; relaxed:
 * nothing), and flush the stage to the sink.  Returns 0 or -1 (*err_r). */
int op_dkim_body_finish(struct op_dkim_body *b, const char **err_r);

#endif
