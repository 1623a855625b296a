/*
 * log.c - the one logging module (see include/outpost/log.h).
 *
 * syslog(3) with facility mail, or stderr in the foreground with a time
 * stamp.  Lines longer than 2 KiB are cut; the level filter is a plain int
 * read without a lock (a torn read can only log one line more or less).
 *
 * A line is formatted whole by its thread (the time stamp text is kept per
 * thread and remade when the second changes: localtime_r() takes glibc's
 * time zone lock at every call) and handed to emit(), which combines the
 * lines of concurrent threads into one write (see there).
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "outpost/buf.h"
#include "outpost/log.h"

#define LOG_LINE_MAX  2048
#define LOG_BATCH     64	    /* lines per writev() */
#define LOG_QUEUE_MAX (1024 * 1024) /* bytes of lines waiting for the writer */

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

/* Lines waiting for the thread that holds the writer role (see log_emit). */
struct qline {
	struct qline *next;
	int prio;
	size_t len;
	char data[]; /* stderr: the whole line; syslog: the text, NUL ended */
};

static pthread_mutex_t w_lock = PTHREAD_MUTEX_INITIALIZER; /* the writer role */
static pthread_mutex_t q_lock = PTHREAD_MUTEX_INITIALIZER; /* the queue, held briefly */
static struct qline *q_head, *q_tail;
static size_t q_bytes;

static void write_all(const char *p, size_t len)
{
	ssize_t w;

	for (size_t off = 0; off < len; off += (size_t)w) {
		w = write(STDERR_FILENO, p + off, len - off);
		if (w < 0 && errno == EINTR)
			w = 0;
		else if (w <= 0)
			return; /* nowhere to say so */
	}
}

/* The writer role is held: one line out. */
static void out_one(int prio, const char *data, size_t len)
{
	if (log_stderr)
		write_all(data, len);
	else
		syslog(prio, "%s", data);
}

static struct qline *take_queue(void)
{
	struct qline *l;

	pthread_mutex_lock(&q_lock);
	l = q_head;
	q_head = q_tail = NULL;
	q_bytes = 0;
	pthread_mutex_unlock(&q_lock);
	return l;
}

static bool queue_empty(void)
{
	bool empty;

	pthread_mutex_lock(&q_lock);
	empty = q_head == NULL;
	pthread_mutex_unlock(&q_lock);
	return empty;
}

/* The writer role is held: write every queued line, in order (to stderr
 * with one writev() per LOG_BATCH lines). */
static void drain(void)
{
	struct iovec iov[LOG_BATCH];
	struct qline *l, *next, *batch;
	int n;

	while ((l = take_queue()) != NULL) {
		while (l != NULL) {
			batch = l;
			for (n = 0; l != NULL && n < LOG_BATCH; l = l->next)
				iov[n++] = (struct iovec){l->data, l->len};
			if (!log_stderr || n == 1) {
				for (struct qline *b = batch; b != l; b = b->next)
					out_one(b->prio, b->data, b->len);
			} else if (writev(STDERR_FILENO, iov, n) < 0) {
				/* nowhere to say so; a short write is not retried line
				 * by line: stderr is a file or a pipe that takes it */
			}
			for (; batch != l; batch = next) {
				next = batch->next;
				free(batch);
			}
		}
	}
}

/* Take the writer role while lines wait and nobody has it; whoever lets it
 * go looks again, so no line is left behind. */
static void combine(void)
{
	while (!queue_empty() && pthread_mutex_trylock(&w_lock) == 0) {
		drain();
		pthread_mutex_unlock(&w_lock);
	}
}

/* The writer role is held: the queued lines (older) and this one out,
 * then the role let go and the queue looked at again. */
static void write_as_writer(int prio, const char *data, size_t len)
{
	drain();
	out_one(prio, data, len);
	pthread_mutex_unlock(&w_lock);
	combine();
}

/* One line out.  With 32 busy MTA connections each writing a summary line
 * per message, write(2) to one file or syslog(3) (a process-wide lock) made
 * the threads queue and sleep.  So the lines are combined: the thread that
 * gets the writer role writes its line and every line that others queued
 * meanwhile; the others only queue theirs and go on.  No thread of its
 * own, no delay: a line is out before its thread or the writer returns.
 * Past LOG_QUEUE_MAX bytes waiting, a thread waits for the role instead. */
static void emit(int prio, const char *data, size_t len)
{
	struct qline *l;

	if (pthread_mutex_trylock(&w_lock) == 0) {
		write_as_writer(prio, data, len);
		return;
	}
	l = malloc(sizeof(*l) + len + 1);
	pthread_mutex_lock(&q_lock);
	if (l == NULL || q_bytes + len > LOG_QUEUE_MAX) {
		pthread_mutex_unlock(&q_lock);
		free(l);
		pthread_mutex_lock(&w_lock);
		write_as_writer(prio, data, len);
		return;
	}
	l->next = NULL;
	l->prio = prio;
	l->len = len;
	memcpy(l->data, data, len);
	l->data[len] = '\0';
	if (q_tail != NULL)
		q_tail->next = l;
	else
		q_head = l;
	q_tail = l;
	q_bytes += len;
	pthread_mutex_unlock(&q_lock);
	combine();
}

static void log_emit(int prio, const char *line)
{
	static __thread time_t when_sec = -1;
	static __thread char when[32];
	char out[LOG_LINE_MAX + 128];
	struct timespec ts;
	struct tm tm;
	size_t len;
	int n;

	if (!log_stderr) {
		emit(prio, line, strlen(line));
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec != when_sec) {
		localtime_r(&ts.tv_sec, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
		when_sec = ts.tv_sec;
	}
	n = snprintf(out, sizeof(out), "%s.%03ld %s[%s]: %s\n", when, ts.tv_nsec / 1000000,
		     log_ident, log_prio_name(prio), line);
	if (n < 0)
		return;
	len = (size_t)n < sizeof(out) ? (size_t)n : sizeof(out) - 1;
	out[len - 1] = '\n'; /* a cut line still ends its line */
	emit(prio, out, len);
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
