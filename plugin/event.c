/*
 * event.c - the per-message event log (see include/outpost/event.h).
 *
 * Owns: the JSON text of an event (RFC 8259, valid UTF-8, one line), the
 * bounded queue between milter threads and the writer thread, and the
 * event file descriptor.  Milter threads only build a line and append it to
 * the queue under a mutex; every system call that may block on a disk
 * (open, write, ftruncate) and syslog(3) run on the writer thread.
 *
 * Limits: event.max_queue bytes of lines waiting (new lines are dropped
 * past it and counted), EVENT_LINE_MAX bytes per line, EVENT_BATCH_LINES
 * lines per write.  When the file cannot be written (disk full, directory
 * gone) the writer keeps the lines, retries every second, and the queue
 * fills up: then lines are dropped, never the milter delayed.
 *
 * Cost per message: a milter thread wakes the writer only when the writer
 * sleeps idle on an empty queue (or, while it lingers, when the queue is
 * half full), and signals after dropping the lock.  Once woken, the writer
 * lingers EVENT_LINGER_MS for more lines, then takes the whole queue and
 * writes it with one writev() per EVENT_BATCH_LINES lines: at thousands of
 * messages a second that is one wake-up and one write for dozens of
 * events instead of a futex, a context switch, an lseek and a write for
 * each.  The price: a line reaches the file up to EVENT_LINGER_MS later;
 * stop, reopen and a half-full queue cut the linger short.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/uio.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "outpost/event.h"
#include "outpost/log.h"
#include "outpost/pipeline.h"
#include "outpost/pool.h"

#define EVENT_LINE_MAX	   (256 * 1024)
#define EVENT_BATCH_LINES  64
#define EVENT_LINGER_MS	   5 /* the writer waits this long to gather lines */
#define EVENT_REPORT_SECS  10
#define EVENT_DOMAINS_MAX  100
#define EVENT_SUMMARY_KEYS 24

/* ---- JSON text ---------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (n octets left), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* overlong forms, UTF-16 surrogates, past U+10FFFF */
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

int op_json_str(struct op_buf *b, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	int r = op_buf_putc(b, '"');

	for (size_t i = 0; i < n && r == 0;) {
		size_t len = utf8_len(p + i, n - i);

		if (len == 0) {
			r = op_buf_puts(b, "\\ufffd");
			i++;
		} else if (len > 1) {
			r = op_buf_append(b, p + i, len);
			i += len;
		} else if (p[i] == '"' || p[i] == '\\') {
			r = op_buf_printf(b, "\\%c", p[i++]);
		} else if (p[i] < 0x20 || p[i] == 0x7f) {
			r = op_buf_printf(b, "\\u%04x", p[i++]);
		} else {
			r = op_buf_putc(b, (char)p[i++]);
		}
	}
	return r == 0 ? op_buf_putc(b, '"') : -1;
}

/* ,"key": (the comma unless first) */
static int json_key(struct op_buf *b, bool *first, const char *key, size_t n)
{
	if (!*first && op_buf_putc(b, ',') < 0)
		return -1;
	*first = false;
	return op_json_str(b, key, n) < 0 ? -1 : op_buf_putc(b, ':');
}

/* "key":"value", or "key":null for NULL. */
static int json_kv(struct op_buf *b, bool *first, const char *key, const char *v)
{
	if (json_key(b, first, key, strlen(key)) < 0)
		return -1;
	return v ? op_json_str(b, v, strlen(v)) : op_buf_puts(b, "null");
}

static int json_strs(struct op_buf *b, const char *const *v, size_t n)
{
	int r = op_buf_putc(b, '[');

	for (size_t i = 0; i < n && r == 0; i++)
		r = (i ? op_buf_putc(b, ',') : 0) == 0 ? op_json_str(b, v[i], strlen(v[i])) : -1;
	return r == 0 ? op_buf_putc(b, ']') : -1;
}

/* ---- module members ----------------------------------------------------- */

/* Append the member in b to module modidx's members. */
static int add_member(struct op_msg *m, size_t modidx, const struct op_buf *b)
{
	const char *old = m->event[modidx];
	size_t ol = old ? strlen(old) : 0, nl = b->len;
	char *s;

	if (modidx >= OP_MOD_MAX)
		return -1;
	s = op_pool_alloc(m->pool, ol + nl + 2);
	if (s == NULL)
		return -1;
	if (ol) {
		memcpy(s, old, ol);
		s[ol++] = ',';
	}
	memcpy(s + ol, op_buf_str(b), nl + 1);
	m->event[modidx] = s;
	return 0;
}

/* Build "key":<value written by the caller> and add it. */
#define MEMBER(m, modidx, key, expr)                                                               \
	do {                                                                                       \
		struct op_buf b_;                                                                  \
		bool f_ = true;                                                                    \
		int r_;                                                                            \
		op_buf_init(&b_, EVENT_LINE_MAX);                                                  \
		r_ = json_key(&b_, &f_, key, strlen(key)) == 0 && (expr) == 0                      \
			 ? add_member(m, modidx, &b_)                                              \
			 : -1;                                                                     \
		op_buf_free(&b_);                                                                  \
		return r_;                                                                         \
	} while (0)

int op_event_add_str(struct op_msg *m, size_t modidx, const char *key, const char *value)
{
	MEMBER(m, modidx, key,
	       value ? op_json_str(&b_, value, strlen(value)) : op_buf_puts(&b_, "null"));
}

int op_event_add_int(struct op_msg *m, size_t modidx, const char *key, long long value)
{
	MEMBER(m, modidx, key, op_buf_printf(&b_, "%lld", value));
}

int op_event_add_bool(struct op_msg *m, size_t modidx, const char *key, bool value)
{
	MEMBER(m, modidx, key, op_buf_puts(&b_, value ? "true" : "false"));
}

int op_event_add_strs(struct op_msg *m, size_t modidx, const char *key, const char *const *v,
		      size_t n)
{
	MEMBER(m, modidx, key, json_strs(&b_, v, n));
}

/* ---- the event ---------------------------------------------------------- */

/* Whether the '"' at s ends a quoted summary value: the line ends there
 * or the next field (" key=") starts, so a value may itself hold quotes. */
static bool quote_closes(const char *s)
{
	if (*s != '"')
		return false;
	if (s[1] == '\0')
		return true;
	if (s[1] != ' ')
		return false;
	s += 2;
	while ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
	       *s == '_' || *s == '-')
		s++;
	return *s == '=';
}

/* A module's summary "name=result k=v k=\"v w\"" as a JSON object: the
 * first key (the module's name) becomes "result"; repeated keys keep the
 * first value. */
static int summary_json(struct op_buf *b, const char *name, const char *s)
{
	const char *keys[EVENT_SUMMARY_KEYS];
	size_t klen[EVENT_SUMMARY_KEYS], nkeys = 0;
	bool first = true;
	int r = op_buf_putc(b, '{');

	while (*s && r == 0) {
		const char *k = s, *v, *ve;
		size_t kl;
		bool dup = false;

		while (*s && *s != ' ' && *s != '=')
			s++;
		kl = (size_t)(s - k);
		if (*s != '=' || kl == 0) {
			while (*s && *s != ' ')
				s++;
			while (*s == ' ')
				s++;
			continue;
		}
		if (*++s == '"') {
			v = ++s;
			while (*s && !quote_closes(s))
				s++;
			ve = s;
			if (*s == '"')
				s++;
		} else {
			v = s;
			while (*s && *s != ' ')
				s++;
			ve = s;
		}
		while (*s == ' ')
			s++;
		if (first && kl == strlen(name) && strncmp(k, name, kl) == 0)
			k = "result", kl = 6;
		for (size_t i = 0; i < nkeys && !dup; i++)
			dup = klen[i] == kl && strncmp(keys[i], k, kl) == 0;
		if (dup || nkeys == EVENT_SUMMARY_KEYS)
			continue;
		keys[nkeys] = k;
		klen[nkeys++] = kl;
		r = json_key(b, &first, k, kl) < 0 ? -1 : op_json_str(b, v, (size_t)(ve - v));
	}
	return r == 0 ? op_buf_putc(b, '}') : -1;
}

static int event_modules(const struct op_msg *m, struct op_buf *b)
{
	size_t n;
	const struct op_module *const *mods = op_pipeline_modules(&n);
	bool first = true;
	int r = op_buf_puts(b, ",\"modules\":{");

	for (size_t i = 0; i < n && i < OP_MOD_MAX && r == 0; i++) {
		if (m->event[i] == NULL && m->summary[i][0] == '\0')
			continue;
		r = json_key(b, &first, mods[i]->name, strlen(mods[i]->name));
		if (r == 0 && m->event[i] != NULL)
			r = op_buf_printf(b, "{%s}", m->event[i]);
		else if (r == 0)
			r = summary_json(b, mods[i]->name, m->summary[i]);
	}
	return r == 0 ? op_buf_putc(b, '}') : -1;
}

/* "rcpt_domains":[...] without repeats, lower case, at most
 * EVENT_DOMAINS_MAX. */
static int event_domains(const struct op_msg *m, struct op_buf *b)
{
	const char *seen[EVENT_DOMAINS_MAX];
	size_t nseen = 0;
	int r = op_buf_puts(b, ",\"rcpt_domains\":[");

	for (size_t i = 0; i < m->nrcpts && nseen < EVENT_DOMAINS_MAX && r == 0; i++) {
		const char *at = strrchr(m->rcpts[i], '@'), *d = at ? at + 1 : "";
		char low[256];
		size_t j;

		op_strlcpy(low, d, sizeof(low));
		for (char *p = low; *p; p++)
			*p = (*p >= 'A' && *p <= 'Z') ? (char)(*p + 32) : *p;
		for (j = 0; j < nseen; j++)
			if (strcasecmp(seen[j], d) == 0)
				break;
		if (j < nseen || low[0] == '\0')
			continue;
		seen[nseen++] = d;
		r = (nseen > 1 ? op_buf_putc(b, ',') : 0) == 0 ? op_json_str(b, low, strlen(low))
							       : -1;
	}
	return r == 0 ? op_buf_putc(b, ']') : -1;
}

static int event_time(struct op_buf *b)
{
	struct timespec now;
	struct tm tm;
	char t[32];

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%S", &tm);
	return op_buf_printf(b, "{\"time\":\"%s.%03ldZ\"", t, now.tv_nsec / 1000000);
}

static int event_verdict(const struct op_msg *m, struct op_buf *b, bool *first)
{
	const struct op_verdict *v = &m->final;

	if (json_kv(b, first, "verdict", op_action_name(v->action)) < 0)
		return -1;
	if (v->rcode[0] == '\0') {
		if (op_buf_puts(b, ",\"reply\":null") < 0)
			return -1;
	} else if (op_buf_printf(b, ",\"reply\":{\"code\":\"%s\",\"xcode\":\"%s\",\"text\":",
				 v->rcode, v->xcode) < 0 ||
		   op_json_str(b, v->text, strlen(v->text)) < 0 || op_buf_putc(b, '}') < 0) {
		return -1;
	}
	return json_kv(b, first, "by", v->module) < 0 ||
		       json_kv(b, first, "reason", v->reason[0] ? v->reason : NULL) < 0 ||
		       json_kv(b, first, "hold", m->hold ? m->hold_reason : NULL) < 0
		   ? -1
		   : 0;
}

int op_event_build(const struct op_msg *m, const char *how, struct op_buf *b)
{
	struct timespec now;
	long long us;
	bool first = false; /* "time" opens the object */

	clock_gettime(CLOCK_MONOTONIC, &now);
	us = (now.tv_sec - m->start.tv_sec) * 1000000LL + (now.tv_nsec - m->start.tv_nsec) / 1000;
	if (event_time(b) < 0 || json_kv(b, &first, "end", how) < 0 ||
	    json_kv(b, &first, "queue_id", m->queue_id) < 0 ||
	    json_kv(b, &first, "tracking_id", m->tracking_id[0] ? m->tracking_id : NULL) < 0 ||
	    json_kv(b, &first, "tenant", m->tenant ? m->tenant->name : NULL) < 0 ||
	    json_kv(b, &first, "login", m->auth_authen) < 0 ||
	    json_kv(b, &first, "class", op_class_name(m->class)) < 0 ||
	    json_kv(b, &first, "client_ip", m->conn->client_addr) < 0 ||
	    json_kv(b, &first, "client_name", m->conn->client_name) < 0 ||
	    json_kv(b, &first, "helo", m->conn->helo) < 0 ||
	    json_kv(b, &first, "mail_from", m->mail_from) < 0 ||
	    op_buf_printf(b, ",\"rcpt_count\":%zu", m->nrcpts) < 0 || event_domains(m, b) < 0 ||
	    op_buf_printf(b, ",\"size\":%llu,\"header_count\":%zu",
			  (unsigned long long)(m->hdr_bytes + m->body_bytes), m->nhdrs) < 0 ||
	    event_verdict(m, b, &first) < 0 || event_modules(m, b) < 0 ||
	    op_buf_puts(b, ",\"tags\":") < 0 ||
	    json_strs(b, (const char *const *)m->tags, m->ntags) < 0 ||
	    op_buf_printf(b, ",\"duration_us\":%lld}", us) < 0)
		return -1;
	return 0;
}

/* ---- queue and writer --------------------------------------------------- */

struct ev_line {
	struct ev_line *next;
	size_t len; /* with the newline */
	char data[];
};

/* What the writer does, so a producer signals only when that helps. */
enum ev_wstate {
	EV_BUSY,   /* writing, or waiting to retry the disk: no signal needed */
	EV_IDLE,   /* waiting for a line on an empty queue */
	EV_LINGER, /* waiting EVENT_LINGER_MS for more lines */
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct ev_line *head, *tail;
	size_t bytes; /* queued and being written */
	bool running, stop, reopen;
	enum ev_wstate wstate;
	pthread_t thread;
	uint64_t written, dropped;
} ev = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

/* The writer's own state (writer thread only). */
static struct {
	int fd;
	char *path; /* event.file as last read; NULL: none */
	bool syslog;
	unsigned generation;
	uint64_t reported; /* drops already logged */
	time_t report_at;
	time_t open_failed_at;
} wr = {.fd = -1};

void op_event_stats(uint64_t *written_r, uint64_t *dropped_r)
{
	*written_r = __atomic_load_n(&ev.written, __ATOMIC_RELAXED);
	*dropped_r = __atomic_load_n(&ev.dropped, __ATOMIC_RELAXED);
}

static void drop(uint64_t n)
{
	__atomic_add_fetch(&ev.dropped, n, __ATOMIC_RELAXED);
}

void op_event_msg(const struct op_msg *m, const char *how)
{
	const struct op_config *cfg = m->cfg;
	struct ev_line *l;
	struct op_buf b;
	bool wake;

	if (cfg == NULL || (!cfg->event_file[0] && !cfg->event_syslog) ||
	    !__atomic_load_n(&ev.running, __ATOMIC_ACQUIRE))
		return;
	op_buf_init(&b, EVENT_LINE_MAX);
	if (op_event_build(m, how, &b) < 0 || op_buf_putc(&b, '\n') < 0 ||
	    (l = malloc(sizeof(*l) + b.len)) == NULL) {
		op_log_warning("%s: event: not written: larger than %d bytes or out of memory",
			       m->queue_id, EVENT_LINE_MAX);
		op_buf_free(&b);
		drop(1);
		return;
	}
	l->next = NULL;
	l->len = b.len;
	memcpy(l->data, b.data, b.len);
	op_buf_free(&b);
	pthread_mutex_lock(&ev.lock);
	if (!ev.running || ev.stop || (long long)(ev.bytes + l->len) > cfg->event_max_queue) {
		pthread_mutex_unlock(&ev.lock);
		free(l);
		drop(1);
		return;
	}
	wake =
	    (ev.wstate == EV_IDLE && ev.head == NULL) ||
	    (ev.wstate == EV_LINGER && (long long)(ev.bytes + l->len) * 2 > cfg->event_max_queue);
	if (ev.tail)
		ev.tail->next = l;
	else
		ev.head = l;
	ev.tail = l;
	ev.bytes += l->len;
	if (wake)
		ev.wstate = EV_BUSY; /* one signal is enough */
	pthread_mutex_unlock(&ev.lock);
	/* After the unlock: the writer wakes without blocking on the lock. */
	if (wake)
		pthread_cond_signal(&ev.cond);
}

void op_event_reopen(void)
{
	pthread_mutex_lock(&ev.lock);
	ev.reopen = true;
	pthread_cond_signal(&ev.cond);
	pthread_mutex_unlock(&ev.lock);
}

static void writer_close(void)
{
	if (wr.fd >= 0)
		close(wr.fd);
	wr.fd = -1;
}

/* Open event.file when it is set and not open.  0, or -1 (logged at most
 * every EVENT_REPORT_SECS). */
static int writer_open(void)
{
	time_t now = time(NULL);

	if (wr.fd >= 0 || wr.path == NULL)
		return 0;
	wr.fd = open(wr.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
	if (wr.fd >= 0)
		return 0;
	if (now - wr.open_failed_at >= EVENT_REPORT_SECS) {
		op_log_errno(LOG_ERR, "event: cannot open %s (events wait in memory)", wr.path);
		wr.open_failed_at = now;
	}
	return -1;
}

/* Pick up event.file and event.syslog from the current snapshot after a
 * reload, and reopen the file when asked or when its name changed. */
static void writer_sync(bool reopen)
{
	struct op_config *c = op_config_current();

	if (c != NULL && c->generation != wr.generation) {
		const char *p = c->event_file;

		wr.generation = c->generation;
		wr.syslog = c->event_syslog;
		if ((wr.path == NULL) != (p[0] == '\0') || (wr.path && strcmp(wr.path, p) != 0)) {
			free(wr.path);
			wr.path = p[0] ? strdup(p) : NULL;
			reopen = true;
		}
	}
	op_config_unref(&c);
	if (reopen) {
		writer_close();
		writer_open();
	}
}

/* Write up to EVENT_BATCH_LINES lines from l with one writev(); a short
 * write is cut back so the file never ends in half a line.  Returns the
 * lines written (all or none), or -1. */
static int write_lines(struct ev_line *l)
{
	struct iovec iov[EVENT_BATCH_LINES];
	size_t total = 0;
	int n = 0;
	ssize_t w;

	for (; l != NULL && n < EVENT_BATCH_LINES; l = l->next, n++) {
		iov[n].iov_base = l->data;
		iov[n].iov_len = l->len;
		total += l->len;
	}
	w = writev(wr.fd, iov, n);
	if (w == (ssize_t)total)
		return n;
	/* O_APPEND left the offset at the end of what was written: the file
	 * ended w octets before it (no lseek per write on the good path). */
	if (w > 0) {
		int e = errno;
		off_t end = lseek(wr.fd, 0, SEEK_CUR);

		if (end >= w && ftruncate(wr.fd, end - w) < 0)
			op_log_errno(LOG_ERR, "event: %s: cannot remove a partial line", wr.path);
		errno = e;
	}
	if (wr.open_failed_at != time(NULL)) {
		op_log_errno(LOG_ERR, "event: cannot write %s (events wait in memory)", wr.path);
		wr.open_failed_at = time(NULL);
	}
	return -1;
}

/* Write the batch; returns what is left unwritten (the caller requeues
 * it).  Lines go to syslog once they are in the file (or when there is no
 * file), so a retry never sends one twice. */
static struct ev_line *write_batch(struct ev_line *l, size_t *done_bytes)
{
	*done_bytes = 0;
	while (l != NULL) {
		int n = 0;

		for (struct ev_line *x = l; x && n < EVENT_BATCH_LINES; x = x->next)
			n++;
		if (wr.path != NULL && (writer_open() < 0 || write_lines(l) < 0))
			return l;
		if (wr.path == NULL && !wr.syslog)
			drop((uint64_t)n); /* switched off by a reload while queued */
		else
			__atomic_add_fetch(&ev.written, (uint64_t)n, __ATOMIC_RELAXED);
		for (int i = 0; i < n && l != NULL; i++) {
			struct ev_line *next = l->next;

			if (wr.syslog)
				syslog(LOG_MAIL | LOG_INFO, "event %.*s", (int)(l->len - 1),
				       l->data);
			*done_bytes += l->len;
			free(l);
			l = next;
		}
	}
	return NULL;
}

/* Log the drop count, at most every EVENT_REPORT_SECS. */
static void writer_report(void)
{
	uint64_t d = __atomic_load_n(&ev.dropped, __ATOMIC_RELAXED);
	time_t now = time(NULL);

	if (d == wr.reported || now - wr.report_at < EVENT_REPORT_SECS)
		return;
	op_log_warning("event: %llu events dropped (%llu in all): the queue was full "
		       "(event.max_queue) or the file could not be written",
		       (unsigned long long)(d - wr.reported), (unsigned long long)d);
	wr.reported = d;
	wr.report_at = now;
}

/* Wait on ev.cond (ev.lock held) in state st for at most ms. */
static void timed_wait(enum ev_wstate st, long ms)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	ev.wstate = st;
	pthread_cond_timedwait(&ev.cond, &ev.lock, &until);
	ev.wstate = EV_BUSY;
}

/* Wait (ev.lock held) until there is work: a line, stop or reopen; at most
 * a second, so drop reports and reloads are seen when idle.  With lines
 * queued, linger for more so that one write carries many. */
static void writer_wait(void)
{
	if (ev.head == NULL && !ev.stop && !ev.reopen)
		timed_wait(EV_IDLE, 1000);
	if (ev.head != NULL && !ev.stop && !ev.reopen)
		timed_wait(EV_LINGER, EVENT_LINGER_MS);
}

static void *writer_thread(void *arg)
{
	pthread_mutex_lock(&ev.lock);
	for (;;) {
		struct ev_line *batch, *rest;
		bool reopen, stop;
		size_t done;

		writer_wait();
		batch = ev.head;
		ev.head = ev.tail = NULL;
		reopen = ev.reopen;
		stop = ev.stop;
		ev.reopen = false;
		pthread_mutex_unlock(&ev.lock);
		writer_sync(reopen);
		rest = write_batch(batch, &done);
		writer_report();
		pthread_mutex_lock(&ev.lock);
		ev.bytes -= done;
		if (rest != NULL && stop) {
			for (struct ev_line *next; rest != NULL; rest = next) {
				next = rest->next;
				ev.bytes -= rest->len;
				drop(1);
				free(rest);
			}
		} else if (rest != NULL) {
			struct ev_line *t = rest;

			while (t->next != NULL)
				t = t->next;
			t->next = ev.head;
			if (ev.head == NULL)
				ev.tail = t;
			ev.head = rest;
			timed_wait(EV_BUSY, 1000); /* retry the disk in a second */
		}
		if (stop && ev.head == NULL)
			break;
	}
	pthread_mutex_unlock(&ev.lock);
	writer_close();
	free(wr.path);
	wr.path = NULL;
	return arg;
}

int op_event_start(void)
{
	pthread_mutex_lock(&ev.lock);
	if (ev.running) {
		pthread_mutex_unlock(&ev.lock);
		return 0;
	}
	ev.stop = false;
	if (pthread_create(&ev.thread, NULL, writer_thread, NULL) != 0) {
		pthread_mutex_unlock(&ev.lock);
		op_log_error("event: cannot start the writer thread: events are not written");
		return -1;
	}
	__atomic_store_n(&ev.running, true, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&ev.lock);
	return 0;
}

void op_event_stop(long long timeout_ms)
{
	struct timespec until;

	pthread_mutex_lock(&ev.lock);
	if (!ev.running) {
		pthread_mutex_unlock(&ev.lock);
		return;
	}
	ev.stop = true;
	__atomic_store_n(&ev.running, false, __ATOMIC_RELEASE);
	pthread_cond_signal(&ev.cond);
	pthread_mutex_unlock(&ev.lock);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (timeout_ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	if (pthread_timedjoin_np(ev.thread, NULL, &until) != 0) {
		op_log_warning("event: the writer did not finish within %lld ms; %zu bytes of "
			       "events are lost",
			       timeout_ms, ev.bytes);
		pthread_detach(ev.thread);
	}
}
