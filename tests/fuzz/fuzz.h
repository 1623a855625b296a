/*
 * fuzz.h - what the fuzz targets of tests/fuzz/ share (fuzz_util.c).
 *
 * Each target tests/fuzz/fuzz_<name>.c defines LLVMFuzzerInitialize() and
 * LLVMFuzzerTestOneInput() over the real library code (libcore.a).  It is
 * linked twice: with libFuzzer (clang, ./configure --enable-fuzz, `make
 * fuzz-smoke`), and with tests/fuzz/replay.c, a plain main() that replays
 * the checked-in inputs (tests/fuzz/regress/<name>/ and corpus/<name>/) in
 * `make check` with any compiler.
 *
 * A target aborts (a crash for libFuzzer) when a promise of STYLE.md is
 * broken even without a memory error: a reply that is not a well-formed
 * 4xx/5xx, a header we emit with a bad name or a bare CR or LF, results
 * that depend on how the input was split.  FUZZ_CHECK() says which.
 *
 * Files a target needs (configs, tables, keys) live in a private directory
 * under $OUTPOST_FUZZ_TMP (default /dev/shm, else /tmp), removed at exit.
 */
#ifndef OUTPOST_FUZZ_H
#define OUTPOST_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Abort with the file, line and what when cond is false: a broken promise
 * found by a fuzz target. */
#define FUZZ_CHECK(cond, what)                                                                     \
	do {                                                                                       \
		if (!(cond))                                                                       \
			fuzz_fail(__FILE__, __LINE__, (what));                                     \
	} while (0)

void fuzz_fail(const char *file, int line, const char *what) __attribute__((noreturn));

/* Common set up, once per process: logging at debug level to stderr (so
 * the log lines are built too; smoke.sh runs libFuzzer with
 * -close_fd_mask=2), the private directory.  Safe to call again. */
void fuzz_init(void);

/* The private directory (absolute, no trailing slash). */
const char *fuzz_dir(void);

/* The source tree: $OUTPOST_SRCDIR, $srcdir (make check) or the tree the
 * target was built from. */
const char *fuzz_srcdir(void);

/* Copy the test keys (tests/data/keys/test-*.pem) into fuzz_dir() with
 * mode 0600, and write fuzz_dir()/dns.txt with their public halves as
 * "SEL._domainkey.DOMAIN v=DKIM1; k=...; p=..." lines for selectors rsa,
 * rsa1024 and ed of example.org, example.com and sub.example.org (as
 * tests/proto/daemon.sh does).  Aborts when that fails. */
void fuzz_install_keys(void);

/* A NUL-terminated copy of data[0..n) with "@DIR@" replaced by fuzz_dir()
 * and "@SRCDIR@" by fuzz_srcdir(); *len_r gets its length.  free() it. */
char *fuzz_subst(const uint8_t *data, size_t n, size_t *len_r);

/* A NUL-terminated copy of the file at path (*n_r bytes before the NUL),
 * or NULL when it cannot be read.  free() it. */
char *fuzz_read(const char *path, size_t *n_r);

/* Write n bytes to path (created 0600, truncated).  Aborts on failure. */
void fuzz_write(const char *path, const void *data, size_t n);

/* Write fuzz_dir()/name; returns the path in a static buffer of the
 * caller's choosing (out, outsize). */
const char *fuzz_path(char *out, size_t outsize, const char *name);

/* Decode %XX escapes in s in place ("%" alone or a bad escape stays as
 * is); returns the new length (a decoded %00 is kept: use the length). */
size_t fuzz_pct(char *s);

/* Split the NUL-terminated text at *cursor into lines: returns the next
 * line (its '\n' replaced by NUL, a '\r' before it kept) and advances
 * *cursor, or NULL at the end. */
char *fuzz_line(char **cursor);

/* The next space-separated word of *cursor (NUL-terminated in place), or
 * "" at the end. */
char *fuzz_word(char **cursor);

/* Abort unless rcode/xcode/text form a reply libmilter passes on and
 * Postfix and Sendmail accept, checked here independently of verdict.c:
 * rcode "4xx" or "5xx"; xcode NULL or "C.S.D" with C equal to rcode's first
 * digit, S and D of 1..3 digits; text NULL or printable ASCII, every '%'
 * doubled (libmilter's rule). */
void fuzz_check_reply(const char *rcode, const char *xcode, const char *text);

/* Abort unless name is an RFC 5322 field name (printable ASCII but ':',
 * not empty) and value is one we may emit: no NUL byte (a C string), and
 * each line end a fold, followed by SP or TAB.  wire: the value as
 * libmilter takes it, a fold is LF alone (the MTA adds the CR), no CR at
 * all; otherwise a fold is CRLF. */
void fuzz_check_header(const char *name, const char *value, bool wire);

#endif
