/*
 * log.c - the one logging module (see include/outpost/log.h).
 *
 * syslog(3) with facility mail, or stderr in the foreground with a time
 * stamp.  Lines longer than 2 KiB are cut; the level filter is a plain int
 * read without a lock (a torn read can only log one line more or less).
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "outpost/buf.h"
#include "outpost/log.h"

#define LOG_LINE_MAX 2048

static bool log_stderr = true;
static int log_level = LOG_INFO;
static const char *log_ident = "outpost";

void op_log_open(const char *ident, bool to_stderr)
{
	log_ident = ident;
	log_stderr = to_stderr;
	if (!to_stderr)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void op_log_set_level(int level)
{
	log_level = level;
}

static const struct {
	const char *name;
	int level;
} log_levels[] = {
    {"debug", LOG_DEBUG},     {"info", LOG_INFO}, {"notice", LOG_NOTICE},
    {"warning", LOG_WARNING}, {"error", LOG_ERR},
};

int op_log_level_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(log_levels) / sizeof(log_levels[0]); i++)
		if (strcasecmp(name, log_levels[i].name) == 0)
			return log_levels[i].level;
	return -1;
}

static const char *log_prio_name(int prio)
{
	for (size_t i = 0; i < sizeof(log_levels) / sizeof(log_levels[0]); i++)
		if (log_levels[i].level == prio)
			return log_levels[i].name;
	return prio < LOG_ERR ? "fatal" : "info";
}

static void log_emit(int prio, const char *line)
{
	if (!log_stderr) {
		syslog(prio, "%s", line);
		return;
	}
	struct timespec ts;
	struct tm tm;
	char when[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ld %s[%s]: %s\n", when, ts.tv_nsec / 1000000, log_ident,
		log_prio_name(prio), line);
}

static void log_v(int prio, const char *suffix, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	size_t n;

	if (prio > log_level)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	if (suffix != NULL) {
		n = strlen(line);
		snprintf(line + n, sizeof(line) - n, ": %s", suffix);
	}
	log_emit(prio, line);
}

bool op_log_wants(int prio)
{
	return prio <= log_level;
}

void op_log(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_v(prio, NULL, fmt, ap);
	va_end(ap);
}

void op_log_errno(int prio, const char *fmt, ...)
{
	char ebuf[128];
	const char *e;
	int saved = errno;
	va_list ap;

	e = strerror_r(saved, ebuf, sizeof(ebuf));
	va_start(ap, fmt);
	log_v(prio, e, fmt, ap);
	va_end(ap);
	errno = saved;
}

const char *op_log_esc(char *out, size_t outsize, const char *s)
{
	struct op_buf b;

	op_buf_init(&b, outsize - 1);
	if (s != NULL)
		(void)op_buf_put_escaped(&b, s, strlen(s));
	op_strlcpy(out, op_buf_str(&b), outsize);
	op_buf_free(&b);
	return out;
}
