/*
 * track.h - the track module's leaf helpers (plugin/track.c): tracking IDs,
 * cleaning of customer-supplied text, and the Feedback-ID template.  No
 * message, no config, no logging: unit-tested on their own.
 */
#ifndef OUTPOST_TRACK_H
#define OUTPOST_TRACK_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define OP_TRACK_UUID_LEN   36
#define OP_TRACK_SENDER_MIN 5 /* Gmail: SenderId of 5 to 15 characters */
#define OP_TRACK_SENDER_MAX 15
#define OP_TRACK_FBID_PARTS 3	/* a:b:c before the SenderId */
#define OP_TRACK_FBID_MAX   256 /* octets of a Feedback-ID value */

/* A UUIDv7 (RFC 9562) for the wall-clock time *ts: 48 bits of Unix
 * milliseconds, 12 bits of sub-millisecond time (method 3, so IDs of one
 * host sort by time to about 250 ns), 62 random bits (OpenSSL RAND_bytes,
 * drawn 512 bytes at a time per thread: unique, not secret),
 * written as 36 lower-case characters and a NUL into out.  Returns 0, or
 * -1 when the random generator fails. */
int op_track_uuid7(const struct timespec *ts, char out[OP_TRACK_UUID_LEN + 1]);

/* Clean untrusted text (n octets, e.g. a header value) for a Feedback-ID
 * field or a list id: unfold, trim white space, keep [A-Za-z0-9._-] and
 * turn every other run of octets into one '_', cut at max octets (and
 * outsize - 1).  out may end up empty. */
void op_track_clean_id(const char *in, size_t n, size_t max, char *out, size_t outsize);

/* Clean one customer tag: unfold, trim, control characters become spaces,
 * cut at max octets (not inside a UTF-8 sequence).  out may end up empty. */
void op_track_clean_tag(const char *in, size_t n, size_t max, char *out, size_t outsize);

/* Values of the Feedback-ID template's fields; NULL or "" when unknown. */
struct op_track_fields {
	const char *campaign, *tenant, *type, *list;
};

/* NULL when tmpl is a valid Feedback-ID template (at most
 * OP_TRACK_FBID_PARTS ':'-separated parts of [A-Za-z0-9._-] and the
 * fields {campaign} {tenant} {type} {list}), else why not. */
const char *op_track_template_check(const char *tmpl);

/* NULL when id is a valid SenderId (5 to 15 of [A-Za-z0-9._-]), else why
 * not. */
const char *op_track_sender_id_check(const char *id);

/* Expand tmpl with f (values are cleaned with op_track_clean_id) and append
 * ":" sender_id; parts that expand to nothing are left out, so the value
 * never holds an empty field.  Returns 0, or -1 when out is too small. */
int op_track_feedback_id(const char *tmpl, const struct op_track_fields *f, const char *sender_id,
			 char *out, size_t outsize);

/* The list id of a List-Id header value (RFC 2919): the text between < and
 * >, or the whole value, cleaned with op_track_clean_id. */
void op_track_list_id(const char *value, size_t n, char *out, size_t outsize);

#endif
