/*
 * opbench.h - shared types of opbench, the milter load generator.
 *
 * opbench drives a milter over the milter protocol the way Postfix's
 * milter8 client does (tests/proto/mproto.h does the protocol), from N
 * threads at once, one connection per thread at a time, and measures what
 * the milter does to M copies of one message. Files:
 *   opbench.c       options, the message file, threads, the report
 *   opbench_conn.c  one thread: connections, transactions, what came back
 *   opbench_stats.c tallies, percentiles, the milter's /proc figures
 *
 * Thread use: the options and the parsed message are written before the
 * threads start and only read afterwards. The one shared mutable object is
 * struct opbench_shared (atomics only). Each thread owns its own
 * struct opbench_tally; the main thread reads them after joining.
 */
#ifndef OUTPOST_TESTS_OPBENCH_H
#define OUTPOST_TESTS_OPBENCH_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../proto/mproto.h"

/* A thread gives up after this many connection errors in a row. */
#define OPBENCH_MAX_ERRORS_IN_A_ROW 10
/* Error texts kept per thread for the report. */
#define OPBENCH_ERRTEXT_MAX 256

/* Command line settings; read-only once the threads run. */
struct opbench_opts {
	const char *socket;	 /* unix:/path, inet:PORT@HOST, ... (mproto_open()) */
	const char *file;	 /* the message (LF or CRLF line ends) */
	const char *from, *rcpt; /* envelope addresses, without angle brackets */
	const char *client_addr; /* {client_addr} and SMFIC_CONNECT address */
	const char *client_name; /* {client_name}, HELO name */
	const char *auth;	 /* {auth_authen} (and {auth_type} PLAIN), or NULL */
	unsigned long conns;	 /* concurrent connections, >= 1 */
	unsigned long threads;	 /* threads carrying them; 0: one per connection */
	unsigned long messages;	 /* transactions in all (upper bound with seconds) */
	unsigned long per_conn;	 /* transactions per connection; 0: no limit */
	unsigned long chunk;	 /* body chunk size, 1..MPROTO_CHUNK_MAX */
	unsigned long timeout;	 /* seconds per packet */
	double seconds;		 /* stop claiming messages after this; 0: no limit */
	long expect_sigs;	 /* DKIM-Signature insertions every message must get; -1: any */
	pid_t pid;		 /* milter process for CPU and RSS figures; 0: none */
	bool quickack;		 /* TCP_QUICKACK after each read */
	bool sendmail_writes;	 /* each command written at once (mproto delay_writes off) */
};

/* State shared by all threads: atomics only. */
struct opbench_shared {
	const struct opbench_opts *o;
	const struct mproto_msg *msg; /* parsed once, read-only */
	atomic_ulong claimed;	      /* transactions handed out */
	long long deadline_ns;	      /* opbench_now_ns() after which none are; 0: none */
	pthread_barrier_t ready;      /* threads connected: the main thread takes t0 */
	pthread_barrier_t go;	      /* t0 taken: start */
};

/* Final actions of a transaction, as counted. */
enum opbench_final {
	OPBENCH_CONTINUE, /* accepted for delivery, possibly modified */
	OPBENCH_ACCEPT,	  /* accepted, no more events */
	OPBENCH_REJECT,
	OPBENCH_TEMPFAIL,
	OPBENCH_DISCARD,
	OPBENCH_SHUTDOWN,
	OPBENCH_ERROR, /* I/O or protocol error: the connection was dropped */
	OPBENCH_FINAL_COUNT
};

/* What one thread saw; owned by that thread until it is joined. */
struct opbench_tally {
	unsigned long finals[OPBENCH_FINAL_COUNT];
	unsigned long sigs;	   /* DKIM-Signature insertions, all messages */
	unsigned long wrong_sigs;  /* messages off --expect-sigs (or not delivered) */
	unsigned long connections; /* connections opened */
	uint32_t *lat_us;	   /* latency of each completed transaction */
	size_t nlat, latcap;
	long long first_ns, last_ns;	      /* start of the first, end of the last transaction */
	unsigned long threads;		      /* tallies merged into this one */
	unsigned long thread_min, thread_max; /* fewest, most transactions of one of them */
	char errtext[OPBENCH_ERRTEXT_MAX];    /* the first error, "" if none */
	bool oom;			      /* a latency could not be stored */
};

/* The milter's CPU and memory (/proc/PID), the machine's CPU (/proc/stat)
 * and our own (getrusage), at one point in time. */
struct opbench_proc {
	bool ok;		  /* the milter's figures were read */
	unsigned long long ticks; /* utime + stime, clock ticks */
	unsigned long long utime, stime;
	long rss_kb;		      /* VmRSS, -1 unknown */
	bool machine_ok;	      /* /proc/stat was read */
	unsigned long long busy, all; /* all CPUs: ticks not idle, all ticks */
	double self_s;		      /* this process's user + system seconds */
};

/* opbench_now_ns - CLOCK_MONOTONIC in nanoseconds. */
long long opbench_now_ns(void);

/*
 * One connection's load (opbench_conn.c). opbench_load_new() opens its
 * first connection (unless one connection per message; outside the
 * measured time); NULL when out of memory. opbench_load_run() claims and
 * runs transactions until none are left or the deadline passed, then
 * closes. opbench_load_free() returns its tally (free with
 * opbench_tally_free()).
 */
struct opbench_load;
struct opbench_load *opbench_load_new(struct opbench_shared *sh);
void opbench_load_run(struct opbench_load *l);
struct opbench_tally *opbench_load_free(struct opbench_load **l);

/*
 * opbench_group_thread - the body of one load thread (opbench_sched.c); arg
 * is its struct opbench_group. Makes the group's loads, waits at both
 * barriers of the shared state, runs the loads (one directly; several
 * side by side, each switching to the next where it would wait for its
 * socket), and fills the group's tallies (NULL entries: out of memory).
 */
struct opbench_group {
	struct opbench_shared *sh;
	unsigned long n;		/* connections of this thread */
	struct opbench_tally **tallies; /* n entries, filled by the thread */
};
void *opbench_group_thread(void *arg);

/*
 * opbench_tally_add - record one transaction: its final action, its
 * latency (ignored for OPBENCH_ERROR) and the DKIM-Signature insertions it
 * got. expect < 0: no signature check. Never fails; a latency that cannot
 * be stored sets t->oom.
 */
void opbench_tally_add(struct opbench_tally *t, enum opbench_final f, long long lat_ns,
		       unsigned long sigs, long expect);

/* opbench_tally_merge - add src's counts and latencies to dst (src kept);
 * dst's threads, thread_min and thread_max count src as one thread. */
void opbench_tally_merge(struct opbench_tally *dst, const struct opbench_tally *src);

/* opbench_tally_free - accepts NULL; sets *t = NULL. */
void opbench_tally_free(struct opbench_tally **t);

/*
 * opbench_percentile_us - the p-th percentile (0..100, nearest rank) of
 * t's latencies; sorts them in place. 0 when there are none.
 */
uint32_t opbench_percentile_us(struct opbench_tally *t, double p);

/* opbench_final_name - "continue", "accept", ... for output. */
const char *opbench_final_name(enum opbench_final f);

/* opbench_proc_read - CPU ticks and VmRSS of pid (0: none; p->ok false
 * then, or when unreadable), the machine's CPU ticks and our own CPU time. */
void opbench_proc_read(pid_t pid, struct opbench_proc *p);

#endif
