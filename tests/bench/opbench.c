/*
 * opbench - a milter load generator: N concurrent connections send M copies
 * of one message the way Postfix would, and the rate, latency, final
 * actions and DKIM signatures that came back are printed.
 *
 * This file owns the command line, the message file, the threads and the
 * report; opbench_conn.c runs the transactions, opbench_sched.c carries
 * the connections on the threads, opbench_stats.c counts (see opbench.h). Timing is reported, never judged: the exit status says
 * only whether every transaction completed and, with --expect-sigs, got
 * its signatures.
 *
 * Output: readable "opbench: ..." lines, then one machine line
 *   RESULT msgs=N secs=S rate=R p50_us=.. p99_us=.. max_us=.. continue=..
 *   accept=.. reject=.. tempfail=.. discard=.. shutdown=.. error=.. sigs=..
 *   wrong_sigs=.. conns_opened=.. thread_min=.. thread_max=.. cpu_ticks=..
 *   cpu_us_per_msg=.. rss_kb=.. client_us_per_msg=.. others_pct=..
 * (msgs counts completed transactions; thread_min/max: the fewest and most
 * transactions one connection ran, a measure of fairness; client_us_per_msg:
 * opbench's own CPU time per message; others_pct: the share of all CPUs
 * that processes other than the milter and opbench used meanwhile, which
 * skews every figure; cpu_* and rss_kb are -1 without --pid).
 * Exit status: 0 all good, 1 usage or setup error, 2 connection or
 * protocol errors, 3 a message got a number of signatures other than
 * --expect-sigs (or was not delivered).
 *
 * Limits: the message file is at most MAX_INPUT bytes; at most MAX_CONNS
 * connections.
 */
#include "opbench.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_INPUT (64u * 1024u * 1024u)
#define MAX_CONNS 1024

static void usage(void)
{
	fputs("usage: opbench -s SOCKET -f MESSAGE [options]\n"
	      "  -s, --socket SPEC     unix:/path, inet:PORT@HOST, inet6:PORT@HOST\n"
	      "  -f, --file FILE       the message, LF or CRLF line ends ('-': stdin)\n"
	      "  -c, --conns N         concurrent connections (default 1)\n"
	      "  -T, --threads T       threads carrying them, each switching between its\n"
	      "                        connections where one would wait (default 0: a\n"
	      "                        thread per connection, as an MTA's processes)\n"
	      "  -n, --messages M      transactions in all (default 1000)\n"
	      "  -k, --per-conn K      transactions per connection, then reconnect\n"
	      "                        (default 0: no limit; 1: one connection per message,\n"
	      "                        its connect counted in the latency)\n"
	      "  -t, --seconds S       stop starting transactions after S seconds\n"
	      "  --from ADDR, --rcpt ADDR   envelope (bench@example.org, rcpt@example.net)\n"
	      "  --client-addr ADDR, --client-name NAME   (127.0.0.1, localhost)\n"
	      "  --auth LOGIN          send {auth_authen}=LOGIN, {auth_type}=PLAIN\n"
	      "  --chunk BYTES         body chunk size, 1..65535 (default 65535)\n"
	      "  --timeout SECONDS     per packet (default 30)\n"
	      "  --expect-sigs N       every message must get exactly N DKIM-Signature headers\n"
	      "  --pid PID             the milter's process: its CPU time and VmRSS\n"
	      "  --quickack            TCP_QUICKACK after each read (Postfix has none)\n"
	      "  --sendmail-writes     write every command at once, as Sendmail does\n"
	      "                        (default: as Postfix, commands that need no reply\n"
	      "                        wait for the next one that does, or 4 KB)\n",
	      stderr);
}

static int parse_ulong(const char *s, unsigned long min, unsigned long max, unsigned long *v)
{
	char *end;

	errno = 0;
	*v = strtoul(s, &end, 10);
	if (*s == 0 || *s == '-' || *end != 0 || errno == ERANGE || *v < min || *v > max) {
		fprintf(stderr, "opbench: bad number \"%s\" (%lu..%lu)\n", s, min, max);
		return -1;
	}
	return 0;
}

static int parse_seconds(const char *s, double *v)
{
	char *end;

	errno = 0;
	*v = strtod(s, &end);
	if (*s == 0 || *end != 0 || errno == ERANGE || !(*v > 0 && *v < 1e6)) {
		fprintf(stderr, "opbench: bad number of seconds \"%s\"\n", s);
		return -1;
	}
	return 0;
}

enum {
	O_FROM = 256,
	O_RCPT,
	O_CADDR,
	O_CNAME,
	O_AUTH,
	O_CHUNK,
	O_TIMEOUT,
	O_EXPECT,
	O_PID,
	O_QUICKACK,
	O_SENDMAIL_WRITES
};

static const struct option longopts[] = {
    {"socket", required_argument, NULL, 's'},
    {"file", required_argument, NULL, 'f'},
    {"conns", required_argument, NULL, 'c'},
    {"threads", required_argument, NULL, 'T'},
    {"messages", required_argument, NULL, 'n'},
    {"per-conn", required_argument, NULL, 'k'},
    {"seconds", required_argument, NULL, 't'},
    {"from", required_argument, NULL, O_FROM},
    {"rcpt", required_argument, NULL, O_RCPT},
    {"client-addr", required_argument, NULL, O_CADDR},
    {"client-name", required_argument, NULL, O_CNAME},
    {"auth", required_argument, NULL, O_AUTH},
    {"chunk", required_argument, NULL, O_CHUNK},
    {"timeout", required_argument, NULL, O_TIMEOUT},
    {"expect-sigs", required_argument, NULL, O_EXPECT},
    {"pid", required_argument, NULL, O_PID},
    {"quickack", no_argument, NULL, O_QUICKACK},
    {"sendmail-writes", no_argument, NULL, O_SENDMAIL_WRITES},
    {NULL, 0, NULL, 0},
};

/* set_opt - one option into o; 0, or -1 after a message. */
static int set_opt(struct opbench_opts *o, int c, const char *arg)
{
	unsigned long v;

	switch (c) {
	case 's':
		o->socket = arg;
		return 0;
	case 'f':
		o->file = arg;
		return 0;
	case 'c':
		return parse_ulong(arg, 1, MAX_CONNS, &o->conns);
	case 'T':
		return parse_ulong(arg, 0, MAX_CONNS, &o->threads);
	case 'n':
		return parse_ulong(arg, 1, 1000000000UL, &o->messages);
	case 'k':
		return parse_ulong(arg, 0, 1000000000UL, &o->per_conn);
	case 't':
		return parse_seconds(arg, &o->seconds);
	case O_FROM:
		o->from = arg;
		return 0;
	case O_RCPT:
		o->rcpt = arg;
		return 0;
	case O_CADDR:
		o->client_addr = arg;
		return 0;
	case O_CNAME:
		o->client_name = arg;
		return 0;
	case O_AUTH:
		o->auth = arg;
		return 0;
	case O_CHUNK:
		return parse_ulong(arg, 1, MPROTO_CHUNK_MAX, &o->chunk);
	case O_TIMEOUT:
		return parse_ulong(arg, 1, 3600, &o->timeout);
	case O_QUICKACK:
		o->quickack = true;
		return 0;
	case O_SENDMAIL_WRITES:
		o->sendmail_writes = true;
		return 0;
	case O_EXPECT:
		if (parse_ulong(arg, 0, 1000, &v) < 0)
			return -1;
		o->expect_sigs = (long)v;
		return 0;
	case O_PID:
		if (parse_ulong(arg, 1, 0x7fffffffUL, &v) < 0)
			return -1;
		o->pid = (pid_t)v;
		return 0;
	default:
		return -1;
	}
}

static int parse_args(int argc, char **argv, struct opbench_opts *o)
{
	int c;

	*o = (struct opbench_opts){.from = "bench@example.org",
				   .rcpt = "rcpt@example.net",
				   .client_addr = "127.0.0.1",
				   .client_name = "localhost",
				   .conns = 1,
				   .messages = 1000,
				   .chunk = MPROTO_CHUNK_MAX,
				   .timeout = 30,
				   .expect_sigs = -1};
	while ((c = getopt_long(argc, argv, "s:f:c:n:k:t:T:", longopts, NULL)) != -1)
		if (set_opt(o, c, optarg) < 0)
			return -1;
	if (optind != argc || o->socket == NULL || o->file == NULL)
		return -1;
	return 0;
}

/* read_message - the whole file (or stdin for "-"), parsed; NULL after a
 * message on stderr. */
static struct mproto_msg *read_message(const char *path)
{
	FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	struct mproto_msg *msg = NULL;
	char *text = NULL;
	size_t len = 0, n;
	const char *err = "cannot read it";

	if (fp != NULL && (text = malloc(MAX_INPUT)) != NULL) {
		while (len < MAX_INPUT && (n = fread(text + len, 1, MAX_INPUT - len, fp)) > 0)
			len += n;
		if (ferror(fp) || len == MAX_INPUT)
			err = "cannot read it, or over 64 MB";
		else if (mproto_msg_parse(&msg, text, len, &err) < 0)
			msg = NULL;
	}
	if (fp != NULL && fp != stdin)
		(void)fclose(fp);
	free(text);
	if (msg == NULL)
		fprintf(stderr, "opbench: message %s: %s\n", path, err);
	return msg;
}

static size_t message_bytes(const struct mproto_msg *m)
{
	size_t i, n = m->body_len + 2;

	for (i = 0; i < m->nhdrs; i++)
		n += strlen(m->hdrs[i].name) + 1 + strlen(m->hdrs[i].raw) + 2;
	return n;
}

/* run - start the threads, time them, merge their tallies into *total.
 * Returns 0, or -1 when the threads could not be started. */
static int run(struct opbench_shared *sh, struct opbench_tally *total, long long *t0_r,
	       struct opbench_proc *before)
{
	unsigned long i, j, c = sh->o->conns, n = sh->o->threads;
	pthread_t *tids;
	struct opbench_group *g;
	struct opbench_tally **tallies = calloc(c, sizeof(*tallies));

	if (n == 0 || n > c)
		n = c;
	tids = calloc(n, sizeof(*tids));
	g = calloc(n, sizeof(*g));
	if (tids == NULL || g == NULL || tallies == NULL ||
	    pthread_barrier_init(&sh->ready, NULL, (unsigned)n + 1) != 0 ||
	    pthread_barrier_init(&sh->go, NULL, (unsigned)n + 1) != 0) {
		free(tids);
		free(g);
		free(tallies);
		return -1;
	}
	for (i = 0, j = 0; i < n; i++) { /* c connections shared out as evenly as can be */
		g[i].sh = sh;
		g[i].n = c / n + (i < c % n);
		g[i].tallies = tallies + j;
		j += g[i].n;
		if (pthread_create(&tids[i], NULL, opbench_group_thread, &g[i]) != 0) {
			fprintf(stderr, "opbench: cannot start thread %lu\n", i + 1);
			exit(1); /* the others wait at a barrier that cannot fill */
		}
	}
	(void)pthread_barrier_wait(&sh->ready);
	opbench_proc_read(sh->o->pid, before);
	*t0_r = opbench_now_ns();
	if (sh->o->seconds > 0)
		sh->deadline_ns = *t0_r + (long long)(sh->o->seconds * 1e9);
	(void)pthread_barrier_wait(&sh->go);
	for (i = 0; i < n; i++)
		(void)pthread_join(tids[i], NULL);
	for (i = 0; i < c; i++) {
		if (tallies[i] == NULL) {
			total->oom = true;
			continue;
		}
		opbench_tally_merge(total, tallies[i]);
		opbench_tally_free(&tallies[i]);
	}
	free(tids);
	free(g);
	free(tallies);
	(void)pthread_barrier_destroy(&sh->ready);
	(void)pthread_barrier_destroy(&sh->go);
	return 0;
}

/* report_cpu - the milter's share; sets *us_r (-1 without figures). */
static void report_cpu(const struct opbench_opts *o, const struct opbench_proc *a,
		       const struct opbench_proc *b, unsigned long done, double *us_r,
		       unsigned long long *ticks_r)
{
	double hz = (double)sysconf(_SC_CLK_TCK), cpu;

	*us_r = -1;
	*ticks_r = 0;
	if (o->pid == 0)
		return;
	if (!a->ok || !b->ok || hz <= 0) {
		printf("opbench: milter pid %ld: no /proc figures\n", (long)o->pid);
		return;
	}
	*ticks_r = b->ticks - a->ticks;
	cpu = (double)*ticks_r / hz;
	*us_r = done ? cpu * 1e6 / (double)done : -1;
	printf("opbench: milter pid %ld: %.2f s CPU (user %.2f, system %.2f) = %.1f us per "
	       "message; VmRSS %ld kB\n",
	       (long)o->pid, cpu, (double)(b->utime - a->utime) / hz,
	       (double)(b->stime - a->stime) / hz, *us_r, b->rss_kb);
}

/*
 * report_machine - how busy the machine was, and with what: this milter,
 * opbench itself, and everything else (other work skews the figures).
 * Sets *client_us_r (our CPU per message) and *others_r (percent of all
 * CPUs used by other processes); -1 when unknown.
 */
static void report_machine(const struct opbench_proc *a, const struct opbench_proc *b,
			   unsigned long done, double *client_us_r, double *others_r)
{
	double hz = (double)sysconf(_SC_CLK_TCK), all, busy, milter, self;

	*client_us_r = done ? (b->self_s - a->self_s) * 1e6 / (double)done : -1;
	*others_r = -1;
	if (!a->machine_ok || !b->machine_ok || hz <= 0 || b->all <= a->all)
		return;
	all = (double)(b->all - a->all) / hz;
	busy = (double)(b->busy - a->busy) / hz;
	milter = a->ok && b->ok ? (double)(b->ticks - a->ticks) / hz : 0;
	self = b->self_s - a->self_s;
	*others_r = (busy - milter - self) * 100 / all;
	*others_r = *others_r < 0 ? 0 : *others_r;
	printf("opbench: all CPUs %.0f%% busy: the milter %.0f%%, opbench %.0f%% (%.1f us per "
	       "message), %s %.0f%%\n",
	       busy * 100 / all, milter * 100 / all, self * 100 / all, *client_us_r,
	       a->ok ? "other processes" : "the milter and other processes", *others_r);
}

/* report - the readable lines and the RESULT line; returns the exit status. */
static int report(const struct opbench_opts *o, const struct mproto_msg *msg,
		  struct opbench_tally *t, long long t0, const struct opbench_proc *before,
		  const struct opbench_proc *after)
{
	unsigned long done = 0, i;
	double secs = t->last_ns > t0 ? (double)(t->last_ns - t0) / 1e9 : 0, cpu_us, client_us,
	       others;
	unsigned long long ticks;
	uint32_t p50 = opbench_percentile_us(t, 50), p99 = opbench_percentile_us(t, 99);
	uint32_t max = t->nlat ? t->lat_us[t->nlat - 1] : 0;

	for (i = 0; i < OPBENCH_ERROR; i++)
		done += t->finals[i];
	printf(
	    "opbench: %s, %lu connection(s), %s; message %zu bytes (%zu headers); writes as %s%s\n",
	    o->socket, o->conns,
	    o->per_conn == 1 ? "one connection per message"
	    : o->per_conn    ? "reconnect after per-conn messages"
			     : "connections reused",
	    message_bytes(msg), msg->nhdrs, o->sendmail_writes ? "Sendmail" : "Postfix",
	    o->quickack ? ", quickack" : "");
	printf("opbench: %lu done in %.3f s: %.1f msgs/s; latency p50 %.3f ms, p99 %.3f ms, "
	       "max %.3f ms; %lu connections opened; per connection %lu..%lu transactions\n",
	       done, secs, secs > 0 ? (double)done / secs : 0, p50 / 1e3, p99 / 1e3, max / 1e3,
	       t->connections, t->thread_min, t->thread_max);
	printf("opbench: final actions:");
	for (i = 0; i < OPBENCH_FINAL_COUNT; i++)
		printf(" %s %lu", opbench_final_name((enum opbench_final)i), t->finals[i]);
	printf("\nopbench: DKIM-Signature insertions: %lu (%.2f per message)", t->sigs,
	       done ? (double)t->sigs / (double)done : 0);
	if (o->expect_sigs >= 0)
		printf("; expected %ld each: %lu message(s) wrong", o->expect_sigs, t->wrong_sigs);
	putchar('\n');
	report_cpu(o, before, after, done, &cpu_us, &ticks);
	report_machine(before, after, done, &client_us, &others);
	if (t->errtext[0])
		printf("opbench: first error: %s\n", t->errtext);
	if (t->oom)
		printf("opbench: out of memory: some latencies are missing\n");
	printf("RESULT msgs=%lu secs=%.3f rate=%.1f p50_us=%u p99_us=%u max_us=%u", done, secs,
	       secs > 0 ? (double)done / secs : 0, p50, p99, max);
	for (i = 0; i < OPBENCH_FINAL_COUNT; i++)
		printf(" %s=%lu", opbench_final_name((enum opbench_final)i), t->finals[i]);
	printf(" sigs=%lu wrong_sigs=%lu conns_opened=%lu thread_min=%lu thread_max=%lu "
	       "cpu_ticks=%lld cpu_us_per_msg=%.1f rss_kb=%ld client_us_per_msg=%.1f "
	       "others_pct=%.1f\n",
	       t->sigs, t->wrong_sigs, t->connections, t->thread_min, t->thread_max,
	       o->pid ? (long long)ticks : -1LL, cpu_us, o->pid && after->ok ? after->rss_kb : -1L,
	       client_us, others);
	if (t->finals[OPBENCH_ERROR] != 0 || t->oom)
		return 2;
	return o->expect_sigs >= 0 && t->wrong_sigs != 0 ? 3 : 0;
}

int main(int argc, char **argv)
{
	struct opbench_opts o;
	struct opbench_shared sh;
	struct opbench_tally total = {0};
	struct opbench_proc before = {0}, after = {0};
	struct mproto_msg *msg;
	long long t0 = 0;
	int rc;

	if (parse_args(argc, argv, &o) < 0) {
		usage();
		return 1;
	}
	if ((msg = read_message(o.file)) == NULL)
		return 1;
	sh = (struct opbench_shared){.o = &o, .msg = msg};
	atomic_init(&sh.claimed, 0);
	if (run(&sh, &total, &t0, &before) < 0) {
		fprintf(stderr, "opbench: out of memory\n");
		mproto_msg_free(&msg);
		return 1;
	}
	opbench_proc_read(o.pid, &after);
	rc = report(&o, msg, &total, t0, &before, &after);
	free(total.lat_us);
	mproto_msg_free(&msg);
	return rc;
}
