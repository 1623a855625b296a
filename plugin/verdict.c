/*
 * verdict.c - verdicts and SMTP replies (see include/outpost/verdict.h).
 *
 * The one place that builds replies and maps error classes to actions.
 * A reply that would be malformed (wrong class digit, bad enhanced code) is
 * replaced by the standard reply for the action: Postfix refuses malformed
 * milter replies and would then apply milter_default_action instead.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "outpost/buf.h"
#include "outpost/config.h"
#include "outpost/verdict.h"

static const char *const action_names[OP_ACT__COUNT] = {
    [OP_ACT_CONTINUE] = "continue", [OP_ACT_HOLD] = "hold",	    [OP_ACT_ACCEPT] = "accept",
    [OP_ACT_DISCARD] = "discard",   [OP_ACT_TEMPFAIL] = "tempfail", [OP_ACT_REJECT] = "reject",
};

const char *op_action_name(enum op_action a)
{
	return (a >= 0 && a < OP_ACT__COUNT) ? action_names[a] : "?";
}

int op_action_parse(const char *name)
{
	for (int i = 0; i < OP_ACT__COUNT; i++)
		if (strcmp(name, action_names[i]) == 0)
			return i;
	return -1;
}

void op_verdict_clear(struct op_verdict *v)
{
	memset(v, 0, sizeof(*v));
	v->action = OP_ACT_CONTINUE;
}

void op_reply_sanitise(char *out, size_t outsize, const char *text)
{
	size_t o = 0;

	for (const char *p = text; *p != '\0' && o + 2 < outsize; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '%') {
			out[o++] = '%';
			out[o++] = '%';
		} else {
			out[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : ' ';
		}
	}
	out[o] = '\0';
}

static bool digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* "C.SSS.DDD" with class C in {4,5}, subject 1-3 digits, detail 1-3 digits. */
static bool xcode_valid(const char *x)
{
	const char *d1, *d2;

	if ((x[0] != '4' && x[0] != '5') || x[1] != '.')
		return false;
	d1 = strchr(x + 2, '.');
	if (d1 == NULL)
		return false;
	d2 = d1 + 1;
	return d1 - (x + 2) >= 1 && d1 - (x + 2) <= 3 && digits(x + 2, (size_t)(d1 - (x + 2))) &&
	       strlen(d2) >= 1 && strlen(d2) <= 3 && digits(d2, strlen(d2));
}

bool op_reply_valid(const char *rcode, const char *xcode, const char *text)
{
	if (strlen(rcode) != 3 || !digits(rcode, 3) || (rcode[0] != '4' && rcode[0] != '5'))
		return false;
	if (!xcode_valid(xcode) || xcode[0] != rcode[0])
		return false;
	for (const char *p = text; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			return false;
	return true;
}

static void verdict_vset(struct op_verdict *v, enum op_action a, const char *rcode,
			 const char *xcode, const char *fmt, va_list ap)
{
	char raw[OP_REPLY_TEXT_MAX];

	v->action = a;
	v->module = NULL; /* every field set: callers use verdicts they never cleared */
	vsnprintf(raw, sizeof(raw), fmt, ap);
	op_strlcpy(v->reason, raw, sizeof(v->reason));
	op_reply_sanitise(v->text, sizeof(v->text), raw);
	op_strlcpy(v->rcode, rcode ? rcode : "", sizeof(v->rcode));
	op_strlcpy(v->xcode, xcode ? xcode : "", sizeof(v->xcode));
}

int op_verdict_set(struct op_verdict *v, enum op_action a, const char *rcode, const char *xcode,
		   const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verdict_vset(v, a, rcode, xcode, fmt, ap);
	va_end(ap);
	if (a != OP_ACT_TEMPFAIL && a != OP_ACT_REJECT)
		return 0;
	/* Check the caller's codes, not their truncated copies, and that the
	 * class fits the action: a 5xx reply would make a TEMPFAIL permanent. */
	if (rcode != NULL && xcode != NULL && op_reply_valid(rcode, xcode, v->text) &&
	    rcode[0] == (a == OP_ACT_TEMPFAIL ? '4' : '5'))
		return 0;
	op_strlcpy(v->rcode, a == OP_ACT_TEMPFAIL ? "451" : "550", sizeof(v->rcode));
	op_strlcpy(v->xcode, a == OP_ACT_TEMPFAIL ? "4.3.0" : "5.7.1", sizeof(v->xcode));
	return -1;
}

void op_verdict_error(struct op_verdict *v, const struct op_config *cfg, enum op_errclass c,
		      const char *detail, const char *fmt, ...)
{
	char text[OP_REPLY_TEXT_MAX];
	char x[12];
	int act = cfg ? cfg->on_error[c] : OP_ACT_TEMPFAIL;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (act != OP_ACT_REJECT && act != OP_ACT_ACCEPT)
		act = OP_ACT_TEMPFAIL; /* the safe default: the client retries */
	if (act == OP_ACT_ACCEPT) {
		op_verdict_set(v, OP_ACT_ACCEPT, NULL, NULL, "%s", text);
		return;
	}
	snprintf(x, sizeof(x), "%c.%s", act == OP_ACT_REJECT ? '5' : '4', detail);
	op_verdict_set(v, (enum op_action)act, act == OP_ACT_REJECT ? "550" : "451", x, "%s", text);
}

void op_verdict_merge(struct op_verdict *dst, const struct op_verdict *src)
{
	if (src->action > dst->action)
		*dst = *src;
}
