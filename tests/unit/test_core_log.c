/*
 * test_core_log.c - plugin/log.c under concurrent writers: 16 threads log
 * 5,000 lines each to stderr (a temporary file) at once, as connection
 * threads log their summary lines; the lines are combined into shared
 * writes (log.c emit()), so check that every line arrives exactly once,
 * whole, in its thread's order, with the stderr prefix.  Then the same
 * after the queue bound is reached by lines of 2 KB; and lines queued
 * while the writing thread is blocked (a full pipe) all come out.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* F_SETPIPE_SZ */
#endif
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "outpost/log.h"
#include "unit.h"

#define THREADS 16
#define LINES	5000

struct worker {
	int id;
	size_t pad; /* bytes of filler per line */
	int lines;
};

static void *writer(void *arg)
{
	const struct worker *w = arg;
	static const char fill[2100] = {[0 ... 2098] = 'x'};

	for (int i = 0; i < w->lines; i++)
		op_log(LOG_INFO, "t=%d n=%d %.*s.", w->id, i, (int)w->pad, fill);
	return NULL;
}

/* Run THREADS writers with lines of pad filler into a temporary stderr and
 * check what the file holds. */
static void run_and_check(size_t pad)
{
	char path[] = "/tmp/outpost-test-log.XXXXXX", *line = NULL;
	int fd = mkstemp(path), saved = dup(STDERR_FILENO), next[THREADS] = {0}, t, n;
	struct worker w[THREADS];
	pthread_t th[THREADS];
	size_t cap = 0, lines = 0, bad = 0;
	FILE *f;

	WANT_INT("temporary file", fd >= 0, 1);
	WANT_INT("dup2 to stderr", dup2(fd, STDERR_FILENO), STDERR_FILENO);
	for (t = 0; t < THREADS; t++) {
		w[t] = (struct worker){t, pad, LINES};
		WANT_INT("thread start", pthread_create(&th[t], NULL, writer, &w[t]), 0);
	}
	for (t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	dup2(saved, STDERR_FILENO);
	close(saved);
	f = fdopen(fd, "r");
	rewind(f);
	while (getline(&line, &cap, f) > 0) {
		const char *p = strstr(line, " unit[info]: t=");
		size_t len = strlen(line);

		lines++;
		/* the cut at 2 KB keeps the line's end: "...x\n" */
		if (p == NULL || sscanf(p, " unit[info]: t=%d n=%d", &t, &n) != 2 || t < 0 ||
		    t >= THREADS || n != next[t] || line[len - 1] != '\n' ||
		    (pad < 1000 && strcmp(line + len - 3, "x.\n") != 0)) {
			if (bad++ < 3)
				print_error("bad line %zu: %s\n", lines, unit_esc(line, len));
			continue;
		}
		next[t]++;
	}
	free(line);
	fclose(f);
	unlink(path);
	WANT_SIZE("lines written", lines, (size_t)THREADS * LINES);
	WANT_SIZE("lines torn, out of order or repeated", bad, 0);
	for (t = 0; t < THREADS; t++)
		WANT_INT("lines of one thread", next[t], LINES);
}

static void test_log_concurrent_lines_arrive_once_whole_in_order(void **state)
{
	(void)state;
	run_and_check(60);
}

static void test_log_concurrent_long_lines_past_the_queue_bound(void **state)
{
	(void)state;
	run_and_check(2090); /* cut at 2 KB; 16 threads fill the 1 MB queue */
}

/* The pipe's reader: skip the filler that blocked the first writer, then
 * count whole lines until EOF. */
struct reader {
	int fd;
	size_t skip, lines;
};

static void *reader(void *arg)
{
	struct reader *r = arg;
	char buf[65536];
	ssize_t n;

	usleep(300 * 1000); /* the writers meanwhile: one blocked, the others queue */
	while ((n = read(r->fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (r->skip > 0)
				r->skip--;
			else if (buf[i] == '\n')
				r->lines++;
		}
	}
	return NULL;
}

/* A writer blocked in write(2) (stderr is a full pipe nobody reads yet)
 * holds the writer role: the other threads queue their one line each and
 * return;
 * when the pipe drains, the blocked writer must write every queued line
 * before it goes (none may wait for a next log call that never comes). */
static void test_log_lines_queued_behind_a_blocked_writer_all_come_out(void **state)
{
	int p[2], saved = dup(STDERR_FILENO), t;
	struct reader r = {0};
	struct worker w[THREADS];
	pthread_t th[THREADS], rd;
	static char filler[65536];

	(void)state;
	WANT_INT("pipe", pipe(p), 0);
	WANT_INT("pipe size", fcntl(p[1], F_SETPIPE_SZ, 65536), 65536);
	memset(filler, 'f', sizeof(filler));
	WANT_INT("pipe filled", (int)write(p[1], filler, sizeof(filler)), (int)sizeof(filler));
	r = (struct reader){p[0], sizeof(filler), 0};
	WANT_INT("dup2 to stderr", dup2(p[1], STDERR_FILENO), STDERR_FILENO);
	close(p[1]);
	WANT_INT("reader start", pthread_create(&rd, NULL, reader, &r), 0);
	for (t = 0; t < THREADS; t++) {
		w[t] = (struct worker){t, 20, 1};
		WANT_INT("thread start", pthread_create(&th[t], NULL, writer, &w[t]), 0);
	}
	for (t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	dup2(saved, STDERR_FILENO); /* the pipe's last writer end: EOF for the reader */
	close(saved);
	pthread_join(rd, NULL);
	close(p[0]);
	WANT_SIZE("lines through the pipe", r.lines, (size_t)THREADS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_log_concurrent_lines_arrive_once_whole_in_order),
	    cmocka_unit_test(test_log_concurrent_long_lines_past_the_queue_bound),
	    cmocka_unit_test(test_log_lines_queued_behind_a_blocked_writer_all_come_out),
	};

	op_log_open("unit", true);
	op_log_set_level(LOG_INFO);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
