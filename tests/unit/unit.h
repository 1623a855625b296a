/*
 * unit.h - the few helpers the core unit tests share (STYLE.md "Tests").
 *
 * Every check prints what it got and what it wanted, with a label naming
 * the table row, before failing the cmocka test:
 *
 *   WANT_INT("row /24", got, want)     signed integers (and enums)
 *   WANT_SIZE("row", got, want)        size_t and other unsigned values
 *   WANT_STR("row", got, want)         C strings (NULL allowed)
 *   WANT_MEM("row", got, gn, want, wn) byte strings, printed escaped
 *   WANT_PTR("row", got, want)         pointer identity
 *   WANT_CONTAINS("row", text, part)   substring
 *
 * Binary data is printed with \xHH escapes, so a failure never writes raw
 * control bytes to the terminal or the test log.
 */
#ifndef OUTPOST_TESTS_UNIT_H
#define OUTPOST_TESTS_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

/* Escape n bytes of s for a failure message.  Four rotating buffers, so up
 * to four results can appear in one print_error() call. */
static inline const char *unit_esc(const void *s, size_t n)
{
	static char bufs[4][1024];
	static unsigned next;
	char *out = bufs[next++ % 4];
	const unsigned char *p = s;
	size_t o = 0, i;

	if (s == NULL)
		return "(null)";
	for (i = 0; i < n && o + 8 < sizeof(bufs[0]); i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\' && p[i] != '"')
			out[o++] = (char)p[i];
		else
			o += (size_t)snprintf(out + o, sizeof(bufs[0]) - o, "\\x%02x", p[i]);
	}
	memcpy(out + o, i < n ? "..." : "", i < n ? 4 : 1);
	return out;
}

#define WANT_INT(label, got, want)                                                                 \
	do {                                                                                       \
		long long g_ = (long long)(got), w_ = (long long)(want);                           \
		if (g_ != w_) {                                                                    \
			print_error("%s: %s\n  got:  %lld\n  want: %lld\n", (label), #got, g_,     \
				    w_);                                                           \
			fail();                                                                    \
		}                                                                                  \
	} while (0)

#define WANT_SIZE(label, got, want)                                                                \
	do {                                                                                       \
		unsigned long long g_ = (unsigned long long)(got);                                 \
		unsigned long long w_ = (unsigned long long)(want);                                \
		if (g_ != w_) {                                                                    \
			print_error("%s: %s\n  got:  %llu\n  want: %llu\n", (label), #got, g_,     \
				    w_);                                                           \
			fail();                                                                    \
		}                                                                                  \
	} while (0)

#define WANT_STR(label, got, want)                                                                 \
	do {                                                                                       \
		const char *g_ = (got), *w_ = (want);                                              \
		if ((g_ == NULL) != (w_ == NULL) || (g_ != NULL && strcmp(g_, w_) != 0)) {         \
			print_error("%s: %s\n  got:  \"%s\"\n  want: \"%s\"\n", (label), #got,     \
				    unit_esc(g_, g_ ? strlen(g_) : 0),                             \
				    unit_esc(w_, w_ ? strlen(w_) : 0));                            \
			fail();                                                                    \
		}                                                                                  \
	} while (0)

#define WANT_MEM(label, got, gn, want, wn)                                                         \
	do {                                                                                       \
		const void *g_ = (got), *w_ = (want);                                              \
		size_t gn_ = (gn), wn_ = (wn);                                                     \
		if (gn_ != wn_ || (gn_ > 0 && memcmp(g_, w_, gn_) != 0)) {                         \
			print_error(                                                               \
			    "%s: %s\n  got:  \"%s\" (%zu bytes)\n  want: \"%s\" (%zu bytes)\n",    \
			    (label), #got, unit_esc(g_, gn_), gn_, unit_esc(w_, wn_), wn_);        \
			fail();                                                                    \
		}                                                                                  \
	} while (0)

#define WANT_PTR(label, got, want)                                                                 \
	do {                                                                                       \
		const void *g_ = (got), *w_ = (want);                                              \
		if (g_ != w_) {                                                                    \
			print_error("%s: %s\n  got:  %p\n  want: %p\n", (label), #got, g_, w_);    \
			fail();                                                                    \
		}                                                                                  \
	} while (0)

#define WANT_CONTAINS(label, text, part)                                                           \
	do {                                                                                       \
		const char *t_ = (text), *p_ = (part);                                             \
		if (t_ == NULL || strstr(t_, p_) == NULL) {                                        \
			print_error("%s: %s\n  got:  \"%s\"\n  want: text containing \"%s\"\n",    \
				    (label), #text, unit_esc(t_, t_ ? strlen(t_) : 0),             \
				    unit_esc(p_, strlen(p_)));                                     \
			fail();                                                                    \
		}                                                                                  \
	} while (0)

/* Number of rows of a static table. */
#define NROWS(t) (sizeof(t) / sizeof((t)[0]))

#endif
