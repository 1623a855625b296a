/*
 * fuzz_util.c - helpers shared by the fuzz targets (see fuzz.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "outpost/buf.h"
#include "outpost/dkim_keyload.h"
#include "outpost/log.h"

#ifndef FUZZ_SRCDIR
#define FUZZ_SRCDIR "."
#endif

static char dir[4096];
static pid_t dir_owner;

/* Present in sanitizer builds: prints "SUMMARY: ..." where the sanitizers
 * report, which libFuzzer keeps open when it closes the target's stderr
 * (-close_fd_mask=2). */
extern void __sanitizer_report_error_summary(const char *summary) __attribute__((weak));

void fuzz_fail(const char *file, int line, const char *what)
{
	char msg[512];

	snprintf(msg, sizeof(msg), "FUZZ CHECK FAILED at %s:%d: %s", file, line, what);
	fprintf(stderr, "%s\n", msg);
	if (__sanitizer_report_error_summary != NULL)
		__sanitizer_report_error_summary(msg);
	abort();
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* atexit: remove the private directory (only in the process that made it). */
static void dir_remove(void)
{
	if (dir[0] && getpid() == dir_owner)
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void fuzz_init(void)
{
	const char *base = getenv("OUTPOST_FUZZ_TMP");
	struct stat sb;

	if (dir[0])
		return;
	op_log_open("outpost-fuzz", true);
	op_log_set_level(LOG_DEBUG);
	if (base == NULL || base[0] == '\0')
		base = stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode) ? "/dev/shm" : "/tmp";
	snprintf(dir, sizeof(dir), "%s/outpost-fuzz.XXXXXX", base);
	if (mkdtemp(dir) == NULL) {
		fprintf(stderr, "fuzz: mkdtemp %s: %s\n", dir, strerror(errno));
		abort();
	}
	dir_owner = getpid();
	atexit(dir_remove);
}

const char *fuzz_dir(void)
{
	fuzz_init();
	return dir;
}

const char *fuzz_srcdir(void)
{
	const char *s = getenv("OUTPOST_SRCDIR");

	if (s == NULL || s[0] == '\0')
		s = getenv("srcdir");
	return s != NULL && s[0] != '\0' ? s : FUZZ_SRCDIR;
}

const char *fuzz_path(char *out, size_t outsize, const char *name)
{
	int n = snprintf(out, outsize, "%s/%s", fuzz_dir(), name);

	FUZZ_CHECK(n > 0 && (size_t)n < outsize, "path too long");
	return out;
}

void fuzz_write(const char *path, const void *data, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	const char *p = data;

	if (fd < 0) {
		fprintf(stderr, "fuzz: cannot write %s: %s\n", path, strerror(errno));
		abort();
	}
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w <= 0) {
			fprintf(stderr, "fuzz: write %s: %s\n", path, strerror(errno));
			abort();
		}
		p += w;
		n -= (size_t)w;
	}
	close(fd);
}

char *fuzz_read(const char *path, size_t *n_r)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 ||
	    (buf = malloc((size_t)n + 1)) == NULL) {
		fclose(f);
		return NULL;
	}
	*n_r = fread(buf, 1, (size_t)n, f);
	buf[*n_r] = '\0';
	fclose(f);
	return buf;
}

static const char *const key_names[] = {"test-rsa2048", "test-rsa1024", "test-ed25519"};
static const char *const key_selectors[] = {"rsa", "rsa1024", "ed"};

/* The TXT record of the key in path, appended to b. */
static void txt_of(const char *path, struct op_buf *b)
{
	struct op_dkim_key *k = op_dkim_key_new(NULL, NULL, NULL, NULL, 0);
	char err[512];

	if (k == NULL ||
	    op_dkim_key_load_file(NULL, path, OP_DKIM_ALG_ANY, 1024, k, err, sizeof(err)) < 0 ||
	    op_dkim_txt_record(k->pkey, b, err, sizeof(err)) < 0) {
		fprintf(stderr, "fuzz: key %s: %s\n", path, k ? err : "out of memory");
		abort();
	}
	op_dkim_key_free(&k);
}

void fuzz_install_keys(void)
{
	static bool done;
	static const char *const domains[] = {"example.org", "example.com", "sub.example.org"};
	struct op_buf dns, txt;
	char src[4096], dst[4096], file[64];

	if (done)
		return;
	op_buf_init(&dns, 1 << 20);
	op_buf_init(&txt, 1 << 16);
	for (size_t i = 0; i < sizeof(key_names) / sizeof(key_names[0]); i++) {
		size_t n;
		char *data;

		if ((size_t)snprintf(src, sizeof(src), "%s/tests/data/keys/%s.pem", fuzz_srcdir(),
				     key_names[i]) >= sizeof(src))
			abort();
		data = fuzz_read(src, &n);
		if (data == NULL) {
			fprintf(stderr, "fuzz: cannot read %s (set OUTPOST_SRCDIR)\n", src);
			abort();
		}
		snprintf(file, sizeof(file), "%s.pem", key_names[i]);
		fuzz_write(fuzz_path(dst, sizeof(dst), file), data, n);
		free(data);
		op_buf_reset(&txt);
		txt_of(dst, &txt);
		for (size_t d = 0; d < sizeof(domains) / sizeof(domains[0]); d++)
			op_buf_printf(&dns, "%s._domainkey.%s %s\n", key_selectors[i], domains[d],
				      op_buf_str(&txt));
	}
	fuzz_write(fuzz_path(dst, sizeof(dst), "dns.txt"), dns.data, dns.len);
	op_buf_free(&dns);
	op_buf_free(&txt);
	done = true;
}

char *fuzz_subst(const uint8_t *data, size_t n, size_t *len_r)
{
	const char *d = fuzz_dir(), *s = fuzz_srcdir();
	size_t dl = strlen(d), sl = strlen(s), big = dl > sl ? dl : sl, o = 0;
	char *out = malloc(n * (big > 5 ? big / 5 + 1 : 1) + 1);

	if (out == NULL)
		abort();
	for (size_t i = 0; i < n;) {
		if (n - i >= 5 && memcmp(data + i, "@DIR@", 5) == 0) {
			memcpy(out + o, d, dl);
			o += dl;
			i += 5;
		} else if (n - i >= 8 && memcmp(data + i, "@SRCDIR@", 8) == 0) {
			memcpy(out + o, s, sl);
			o += sl;
			i += 8;
		} else {
			out[o++] = (char)data[i++];
		}
	}
	out[o] = '\0';
	*len_r = o;
	return out;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

size_t fuzz_pct(char *s)
{
	size_t o = 0, i = 0;

	while (s[i]) {
		int hi, lo;

		if (s[i] == '%' && (hi = hexval(s[i + 1])) >= 0 && (lo = hexval(s[i + 2])) >= 0) {
			s[o++] = (char)(hi * 16 + lo);
			i += 3;
		} else {
			s[o++] = s[i++];
		}
	}
	s[o] = '\0';
	return o;
}

char *fuzz_line(char **cursor)
{
	char *start = *cursor, *nl;

	if (start == NULL || *start == '\0')
		return NULL;
	nl = strchr(start, '\n');
	if (nl != NULL) {
		*nl = '\0';
		*cursor = nl + 1;
	} else {
		*cursor = start + strlen(start);
	}
	return start;
}

char *fuzz_word(char **cursor)
{
	char *p = *cursor, *w;

	while (*p == ' ')
		p++;
	w = p;
	while (*p && *p != ' ')
		p++;
	if (*p)
		*p++ = '\0';
	*cursor = p;
	return w;
}

static bool digits(const char *s, size_t min, size_t max, const char **end_r)
{
	size_t n = 0;

	while (s[n] >= '0' && s[n] <= '9')
		n++;
	*end_r = s + n;
	return n >= min && n <= max;
}

void fuzz_check_reply(const char *rcode, const char *xcode, const char *text)
{
	const char *p;

	FUZZ_CHECK(rcode != NULL && (rcode[0] == '4' || rcode[0] == '5') &&
		       digits(rcode, 3, 3, &p) && *p == '\0',
		   "reply code is not 4xx or 5xx");
	if (xcode != NULL) {
		FUZZ_CHECK(xcode[0] == rcode[0] && xcode[1] == '.', "enhanced code class mismatch");
		FUZZ_CHECK(digits(xcode + 2, 1, 3, &p) && *p == '.' && digits(p + 1, 1, 3, &p) &&
			       *p == '\0',
			   "malformed enhanced code");
	}
	for (p = text; p != NULL && *p; p++) {
		FUZZ_CHECK(*p >= 0x20 && *p < 0x7f, "reply text not printable ASCII");
		if (*p == '%') {
			FUZZ_CHECK(p[1] == '%',
				   "single '%' in reply text (libmilter drops the text)");
			p++;
		}
	}
}

void fuzz_check_header(const char *name, const char *value, bool wire)
{
	FUZZ_CHECK(name != NULL && name[0] != '\0', "header without a name");
	for (const char *p = name; *p; p++)
		FUZZ_CHECK(*p > 0x20 && *p < 0x7f && *p != ':',
			   "header name not an RFC 5322 field name");
	FUZZ_CHECK(value != NULL, "header without a value");
	for (const char *p = value; *p; p++) {
		if (*p == '\r') {
			FUZZ_CHECK(!wire, "CR in a header value handed to libmilter");
			FUZZ_CHECK(p[1] == '\n', "bare CR in a header value");
			continue;
		}
		if (*p == '\n') {
			FUZZ_CHECK(wire || (p > value && p[-1] == '\r'),
				   "bare LF in a header value");
			FUZZ_CHECK(p[1] == ' ' || p[1] == '\t',
				   "line end in a header value is not a fold");
		}
	}
}
