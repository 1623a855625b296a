/*
 * track.c - tracking IDs, cleaning of customer text, Feedback-ID templates
 * (see include/outpost/track.h).  Leaf code.
 *
 * Customer text (campaign, tags, List-Id) arrives in headers anybody can
 * write: it is cut to a bound before anything else and reduced to a safe
 * alphabet before it goes into a header we sign.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/rand.h>

#include "outpost/track.h"

/* Random bytes for IDs, drawn from OpenSSL's generator RANDOM_POOL bytes
 * at a time per thread: one RAND_bytes() call per message cost ~3 us of
 * locking on the shared generator with many threads.  IDs need to be
 * unique, not secret (they go out in a header). */
#define RANDOM_POOL 512

static int random_bytes(unsigned char *out, size_t n)
{
	static __thread unsigned char pool[RANDOM_POOL];
	static __thread size_t left;

	if (left < n) {
		if (RAND_bytes(pool, sizeof(pool)) != 1)
			return -1;
		left = sizeof(pool);
	}
	memcpy(out, pool + sizeof(pool) - left, n);
	memset(pool + sizeof(pool) - left, 0, n); /* never handed out twice */
	left -= n;
	return 0;
}

int op_track_uuid7(const struct timespec *ts, char out[OP_TRACK_UUID_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	uint64_t ms = (uint64_t)ts->tv_sec * 1000 + (uint64_t)ts->tv_nsec / 1000000;
	unsigned sub = (unsigned)(((uint64_t)(ts->tv_nsec % 1000000) << 12) / 1000000);
	unsigned char u[16];
	size_t o = 0;

	if (random_bytes(u + 8, 8) < 0)
		return -1;
	for (int i = 0; i < 6; i++)
		u[i] = (unsigned char)(ms >> (40 - 8 * i));
	u[6] = (unsigned char)(0x70 | (sub >> 8));
	u[7] = (unsigned char)(sub & 0xff);
	u[8] = (unsigned char)(0x80 | (u[8] & 0x3f));
	/* 8-4-4-4-12 hex digits */
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[u[i] >> 4];
		out[o++] = hex[u[i] & 15];
	}
	out[o] = '\0';
	return 0;
}

static bool id_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

static bool space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Trim white space around in[0..*n). */
static const char *trim(const char *in, size_t *n)
{
	while (*n > 0 && space((unsigned char)in[0]))
		in++, (*n)--;
	while (*n > 0 && space((unsigned char)in[*n - 1]))
		(*n)--;
	return in;
}

void op_track_clean_id(const char *in, size_t n, size_t max, char *out, size_t outsize)
{
	size_t o = 0;
	bool gap = false;

	in = trim(in, &n);
	if (max > outsize - 1)
		max = outsize - 1;
	for (size_t i = 0; i < n && o < max; i++) {
		if (id_char((unsigned char)in[i])) {
			if (gap && o + 1 >= max)
				break;
			if (gap)
				out[o++] = '_';
			gap = false;
			out[o++] = in[i];
		} else {
			gap = o > 0;
		}
	}
	out[o] = '\0';
}

void op_track_clean_tag(const char *in, size_t n, size_t max, char *out, size_t outsize)
{
	size_t o = 0;

	in = trim(in, &n);
	if (max > outsize - 1)
		max = outsize - 1;
	for (size_t i = 0; i < n && o < max; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c == '\r' || c == '\n')
			continue; /* a fold: its white space follows */
		out[o++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
	}
	/* Do not end inside a UTF-8 sequence. */
	if (o == max && o < n) {
		size_t k = o;

		while (k > 0 && ((unsigned char)out[k - 1] & 0xc0) == 0x80)
			k--;
		if (k > 0 && ((unsigned char)out[k - 1] & 0xc0) == 0xc0)
			o = k - 1;
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
}

/* The field named at s ("{campaign}" ...): its length via *len, its value
 * from f via *val; false when s names no field. */
static bool field_at(const char *s, const struct op_track_fields *f, size_t *len, const char **val)
{
	static const char *const names[] = {"{campaign}", "{tenant}", "{type}", "{list}"};
	const char *vals[4] = {NULL, NULL, NULL, NULL};

	if (f != NULL) {
		vals[0] = f->campaign;
		vals[1] = f->tenant;
		vals[2] = f->type;
		vals[3] = f->list;
	}
	for (size_t i = 0; i < 4; i++) {
		size_t n = strlen(names[i]);

		if (strncmp(s, names[i], n) == 0) {
			*len = n;
			*val = vals[i] ? vals[i] : "";
			return true;
		}
	}
	return false;
}

const char *op_track_template_check(const char *tmpl)
{
	unsigned parts = 1;

	for (const char *p = tmpl; *p;) {
		size_t len;
		const char *v;

		if (*p == ':') {
			if (++parts > OP_TRACK_FBID_PARTS)
				return "more than 3 parts (a:b:c; the SenderId is the 4th)";
			p++;
		} else if (*p == '{') {
			if (!field_at(p, NULL, &len, &v))
				return "unknown field (use {campaign}, {tenant}, {type}, {list})";
			p += len;
		} else if (id_char((unsigned char)*p)) {
			p++;
		} else {
			return "characters other than A-Z a-z 0-9 . _ - and fields";
		}
	}
	return NULL;
}

const char *op_track_sender_id_check(const char *id)
{
	size_t n = strlen(id);

	if (n < OP_TRACK_SENDER_MIN || n > OP_TRACK_SENDER_MAX)
		return "must have 5 to 15 characters";
	for (size_t i = 0; i < n; i++)
		if (!id_char((unsigned char)id[i]))
			return "characters other than A-Z a-z 0-9 . _ -";
	return NULL;
}

int op_track_feedback_id(const char *tmpl, const struct op_track_fields *f, const char *sender_id,
			 char *out, size_t outsize)
{
	size_t o = 0;

	out[0] = '\0';
	for (const char *p = tmpl;;) {
		char part[OP_TRACK_FBID_MAX];
		size_t pn = 0;

		/* one part: text and fields up to ':' or the end */
		while (*p && *p != ':') {
			size_t len;
			const char *v;

			if (*p == '{' && field_at(p, f, &len, &v)) {
				char clean[OP_TRACK_FBID_MAX];

				op_track_clean_id(v, strlen(v), sizeof(clean) - 1, clean,
						  sizeof(clean));
				for (const char *c = clean; *c && pn + 1 < sizeof(part); c++)
					part[pn++] = *c;
				p += len;
			} else {
				if (pn + 1 < sizeof(part))
					part[pn++] = *p;
				p++;
			}
		}
		if (pn > 0) {
			if (o + pn + 2 > outsize)
				return -1;
			memcpy(out + o, part, pn);
			o += pn;
			out[o++] = ':';
			out[o] = '\0';
		}
		if (*p == '\0')
			break;
		p++;
	}
	if (o + strlen(sender_id) + 1 > outsize)
		return -1;
	memcpy(out + o, sender_id, strlen(sender_id) + 1);
	return 0;
}

void op_track_list_id(const char *value, size_t n, char *out, size_t outsize)
{
	const char *lt = memchr(value, '<', n), *gt;

	if (lt != NULL && (gt = memchr(lt, '>', n - (size_t)(lt - value))) != NULL) {
		value = lt + 1;
		n = (size_t)(gt - value);
	}
	op_track_clean_id(value, n, outsize - 1, out, outsize);
}
