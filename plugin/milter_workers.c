/*
 * milter_workers.c - serve every MTA connection with a few worker threads
 * on one epoll set; contract in milter_int.h (op_workers_*).
 *
 * Why not a thread per connection: a message costs the MTA's connection
 * 5 to 7 round trips, and a thread that waits for its MTA's next command
 * sleeps and is woken for each (~20 us of processor on a virtual machine,
 * more than a signature with Ed25519).  With 32 connections on 2
 * processors that was 3.5 sleeps per message against 0.15 with 2
 * connections (issue 8).  A worker here takes whichever connection has
 * something to read, and only sleeps when none has: under load it goes
 * from one connection to the next without sleeping, and the connections
 * are served in the order their commands came (epoll's ready list is a
 * queue), which keeps the slowest replies close to the median.
 *
 * Workers: milter.workers of them run (default: one per processor this
 * process may use, at least 2).  A callback may wait for long (a DNS
 * query, a Redis command; include/outpost/blocking.h marks those calls):
 * then another thread takes the waiting worker's place, woken from the
 * parked ones or started, so that as many workers as configured keep
 * serving; when the wait ends, the surplus worker parks itself at the
 * top of its loop.  A parked thread ends after PARK_SECONDS unused.  At
 * most MAX_THREADS threads exist; past that, connections wait until a
 * worker is free, which is logged.
 *
 * Each connection is in the epoll set with EPOLLONESHOT: one worker at a
 * time serves it (op_mctx_pump() reads without waiting), then arms it
 * again.  The listening socket is in the set too, non-blocking and
 * one-shot: the worker that gets it accepts what is pending.
 *
 * Timeouts (milter.timeout: how long the MTA may send nothing): a
 * connection armed for longer than that with nothing to read is shut
 * down (shutdown(2)) by the sweep that some worker runs once a second; the worker that then
 * gets it sees the end of the stream and ends it as usual, so a
 * connection is only ever ended by the one worker serving it.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "milter_engine.h"
#include "milter_int.h"
#include "outpost/blocking.h"
#include "outpost/buf.h"
#include "outpost/log.h"

#define MAX_THREADS   1024
#define PARK_SECONDS  60
#define SWEEP_MS      1000
#define ACCEPT_BATCH  64
#define SPARE_CTX_MAX 64 /* engine states kept for the next connections */

struct conn {
	int fd;
	bool timed_out;	    /* set by the sweep */
	long long armed_at; /* ms, monotonic; 0 while a worker serves it */
	struct op_mctx *ctx;
	struct conn *prev, *next; /* pool.conns */
};

static int ep = -1;
static int lfd = -1;
static bool accepting;
static pthread_mutex_t accept_lock = PTHREAD_MUTEX_INITIALIZER;
static char listener_tag; /* epoll data of the listening socket */
static long long timeout_ms, slice_us;
static long long next_sweep;
static bool crowd_logged;

static struct {
	pthread_mutex_t lock;
	pthread_cond_t park;
	unsigned target;  /* workers that should be serving */
	unsigned running; /* threads serving: not parked, not in a blocking call */
	unsigned parked, wakeups, total;
	struct conn *conns; /* every open connection */
	struct op_mctx *spare[SPARE_CTX_MAX];
	unsigned nspare;
} pool = {.lock = PTHREAD_MUTEX_INITIALIZER, .park = PTHREAD_COND_INITIALIZER};

static __thread bool is_worker;

/* pool.running changes under pool.lock; stay() also reads it without. */
static void running_add(int d)
{
	__atomic_add_fetch(&pool.running, (unsigned)d, __ATOMIC_RELAXED);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *worker(void *arg);

/* One more thread serving (pool.lock held): a parked one woken, or a new
 * one.  False when neither could be had. */
static bool add_worker_locked(void)
{
	pthread_attr_t attr;
	pthread_t t;
	int r;

	if (pool.parked > pool.wakeups) {
		pool.wakeups++;
		running_add(1);
		pthread_cond_signal(&pool.park);
		return true;
	}
	if (pool.total >= MAX_THREADS) {
		if (!crowd_logged)
			op_log(LOG_WARNING,
			       "milter: %u threads wait on DNS or Redis; new MTA commands wait "
			       "until one is free",
			       pool.total);
		crowd_logged = true;
		return false;
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	r = pthread_create(&t, &attr, worker, NULL);
	pthread_attr_destroy(&attr);
	if (r != 0) {
		op_log(LOG_ERR, "milter: cannot start a thread for MTA connections: %s",
		       strerror(r));
		return false;
	}
	pool.total++;
	running_add(1);
	return true;
}

static void blocking_begin(void)
{
	if (!is_worker)
		return;
	pthread_mutex_lock(&pool.lock);
	running_add(-1);
	if (pool.running < pool.target)
		(void)add_worker_locked();
	pthread_mutex_unlock(&pool.lock);
}

static void blocking_end(void)
{
	if (!is_worker)
		return;
	pthread_mutex_lock(&pool.lock);
	running_add(1); /* a surplus parks at the top of its loop */
	pthread_mutex_unlock(&pool.lock);
}

/* Park while more threads serve than configured.  False when this thread
 * should end (parked PARK_SECONDS unused). */
static bool stay(void)
{
	struct timespec until;
	bool keep = true;

	if (__atomic_load_n(&pool.running, __ATOMIC_RELAXED) <= pool.target)
		return true;
	pthread_mutex_lock(&pool.lock);
	while (keep && pool.running > pool.target) {
		running_add(-1);
		pool.parked++;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += PARK_SECONDS;
		while (pool.wakeups == 0)
			if (pthread_cond_timedwait(&pool.park, &pool.lock, &until) == ETIMEDOUT)
				break;
		pool.parked--;
		if (pool.wakeups > 0)
			pool.wakeups--; /* running counted by the waker */
		else
			keep = false;
	}
	if (!keep) {
		pool.total--;
		crowd_logged = false;
	}
	pthread_mutex_unlock(&pool.lock);
	return keep;
}

/* Arm c's socket for its next command. */
static int arm(struct conn *c, int op)
{
	struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT, .data.ptr = c};

	__atomic_store_n(&c->armed_at, now_ms(), __ATOMIC_RELEASE);
	return epoll_ctl(ep, op, c->fd, &ev);
}

static void conn_free(struct conn *c)
{
	pthread_mutex_lock(&pool.lock);
	if (c->prev)
		c->prev->next = c->next;
	else
		pool.conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	if (pool.nspare < SPARE_CTX_MAX) {
		pool.spare[pool.nspare++] = c->ctx;
		c->ctx = NULL;
	}
	pthread_mutex_unlock(&pool.lock);
	close(c->fd); /* also leaves the epoll set */
	op_mctx_free(&c->ctx);
	free(c);
}

/* A new MTA connection on fd: listed and armed, or closed. */
static void conn_new(int fd)
{
	struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
	struct conn *c = calloc(1, sizeof(*c));

	if (c != NULL) {
		pthread_mutex_lock(&pool.lock);
		c->ctx = pool.nspare > 0 ? pool.spare[--pool.nspare] : NULL;
		pthread_mutex_unlock(&pool.lock);
		if (c->ctx == NULL)
			c->ctx = op_mctx_new(op_milter_callbacks());
	}
	if (c == NULL || c->ctx == NULL) {
		op_log(LOG_ERR, "milter: out of memory for an MTA connection; closing it");
		if (c != NULL)
			free(c);
		close(fd);
		return;
	}
	c->fd = fd;
	op_mctx_begin(c->ctx);
	/* replies may wait this long for the MTA to read them */
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	pthread_mutex_lock(&pool.lock);
	c->next = pool.conns;
	if (c->next)
		c->next->prev = c;
	pool.conns = c;
	pthread_mutex_unlock(&pool.lock);
	if (arm(c, EPOLL_CTL_ADD) < 0) {
		op_log_errno(LOG_ERR, "milter: epoll_ctl for a new MTA connection");
		conn_free(c);
	}
}

/* Accept what is pending on the listening socket, then arm it again. */
static void accept_pending(void)
{
	struct timespec pause = {0, 100 * 1000000};
	struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT, .data.ptr = &listener_tag};

	pthread_mutex_lock(&accept_lock);
	if (!accepting) {
		pthread_mutex_unlock(&accept_lock);
		return;
	}
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd >= 0) {
			conn_new(fd);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			break;
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
			op_log_errno(LOG_ERR, "milter: accept (waiting 100 ms)");
		else
			op_log_errno(LOG_WARNING, "milter: accept");
		nanosleep(&pause, NULL); /* never spin on an error */
		break;
	}
	if (epoll_ctl(ep, EPOLL_CTL_MOD, lfd, &ev) < 0)
		op_log_errno(LOG_ERR, "milter: epoll_ctl for the listening socket");
	pthread_mutex_unlock(&accept_lock);
}

/* Serve c until it has nothing more to read, then arm it or end it. */
static void serve(struct conn *c, struct op_buf *out)
{
	int r;

	__atomic_store_n(&c->armed_at, 0, __ATOMIC_RELEASE);
	if (__atomic_load_n(&c->timed_out, __ATOMIC_ACQUIRE)) {
		op_log(LOG_NOTICE,
		       "milter: the MTA sent nothing for %lld ms (milter.timeout); "
		       "closed the connection",
		       timeout_ms);
		r = -1;
	} else {
		r = op_mctx_pump(c->ctx, c->fd, out);
	}
	if (r == 0 && arm(c, EPOLL_CTL_MOD) == 0)
		return;
	if (r == 0)
		op_log_errno(LOG_ERR, "milter: epoll_ctl for an MTA connection");
	op_mctx_end(c->ctx);
	conn_free(c);
}

/* Once a second, in one worker: shut down the connections whose MTA has
 * sent nothing for milter.timeout. */
static void sweep(long long now)
{
	long long due = __atomic_load_n(&next_sweep, __ATOMIC_RELAXED);

	if (now < due || !__atomic_compare_exchange_n(&next_sweep, &due, now + SWEEP_MS, false,
						      __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		return;
	pthread_mutex_lock(&pool.lock);
	for (struct conn *c = pool.conns; c != NULL; c = c->next) {
		long long at = __atomic_load_n(&c->armed_at, __ATOMIC_ACQUIRE);

		int unread = 0;

		/* what the MTA sent and no worker has read yet is not silence */
		if (at != 0 && now - at >= timeout_ms && !c->timed_out &&
		    (ioctl(c->fd, FIONREAD, &unread) < 0 || unread == 0)) {
			__atomic_store_n(&c->timed_out, true, __ATOMIC_RELEASE);
			(void)shutdown(c->fd, SHUT_RDWR);
		}
	}
	pthread_mutex_unlock(&pool.lock);
}

static void *worker(void *arg)
{
	struct op_buf out;

	is_worker = true;
	op_buf_init(&out, 4 * (size_t)OP_MILTER_MAX_PACKET);
	(void)op_thread_request_slice(slice_us); /* see thread_slice.c */
	while (stay()) {
		struct epoll_event ev;
		int n = epoll_wait(ep, &ev, 1, SWEEP_MS);

		if (n < 0 && errno != EINTR) {
			struct timespec pause = {0, 100 * 1000000};

			op_log_errno(LOG_ERR, "milter: epoll_wait");
			nanosleep(&pause, NULL);
		}
		sweep(now_ms());
		if (n != 1)
			continue;
		if (ev.data.ptr == &listener_tag)
			accept_pending();
		else
			serve(ev.data.ptr, &out);
	}
	op_buf_free(&out);
	return arg;
}

/* Processors this process may run on, at least 2. */
static unsigned processors(void)
{
	cpu_set_t set;
	int n = 0;

	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		n = CPU_COUNT(&set);
	return n < 2 ? 2 : (unsigned)n;
}

int op_workers_start(int listen_fd, long long timeout, long long slice, long long workers)
{
	struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT, .data.ptr = &listener_tag};
	int fl = fcntl(listen_fd, F_GETFL);

	timeout_ms = timeout;
	slice_us = slice;
	next_sweep = now_ms() + SWEEP_MS;
	if (fl < 0 || fcntl(listen_fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		op_log_errno(LOG_ERR, "milter: O_NONBLOCK on the listening socket");
		return -1;
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0) {
		op_log_errno(LOG_ERR, "milter: epoll_create1");
		return -1;
	}
	lfd = listen_fd;
	accepting = true;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0) {
		op_log_errno(LOG_ERR, "milter: epoll_ctl for the listening socket");
		return -1;
	}
	op_blocking_set_hooks(blocking_begin, blocking_end);
	pthread_mutex_lock(&pool.lock);
	pool.target = workers > 0 ? (unsigned)workers : processors();
	for (unsigned i = 0; i < pool.target; i++)
		if (!add_worker_locked())
			break;
	pthread_mutex_unlock(&pool.lock);
	if (pool.total == 0)
		return -1;
	op_log(LOG_INFO, "milter: %u workers serve the MTA connections", pool.total);
	return 0;
}

void op_workers_counts(unsigned *target, unsigned *total, unsigned *blocked, unsigned *parked)
{
	pthread_mutex_lock(&pool.lock);
	*target = pool.target;
	*total = pool.total;
	*parked = pool.parked;
	/* running counts a woken thread before it leaves its wait */
	*blocked =
	    pool.total - pool.parked > pool.running ? pool.total - pool.parked - pool.running : 0;
	pthread_mutex_unlock(&pool.lock);
}

void op_workers_stop_accepting(void)
{
	pthread_mutex_lock(&accept_lock);
	if (accepting && epoll_ctl(ep, EPOLL_CTL_DEL, lfd, NULL) < 0)
		op_log_errno(LOG_WARNING, "milter: epoll_ctl removing the listening socket");
	accepting = false;
	pthread_mutex_unlock(&accept_lock);
}
