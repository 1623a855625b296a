/*
 * opbench_sched.c - the load threads of opbench, each carrying one or
 * more connections (contract in opbench.h: opbench_group_thread).
 *
 * Why: with a thread per connection, 32 connections are 32 threads that
 * each sleep and are woken for every round trip, and on a 2-core machine
 * that load generator's own cost grows with the connection count (26 to
 * 45 us of its CPU per message from 2 to 32 connections), which takes
 * processor time from the milter being measured.  With --threads T, T
 * threads carry the connections; on each, every connection runs the same
 * blocking code (opbench_conn.c, mproto) in a context of its own
 * (ucontext), and where it would wait for its socket (mproto_net_wait) it
 * switches back to the thread's loop, which resumes whichever connection
 * epoll says is ready, or whose deadline passed.
 *
 * A thread with one connection runs it directly (poll, as mproto does).
 */
#include "opbench.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "../proto/mproto_net.h"

#define STACK_SIZE (1024 * 1024)

struct coro {
	ucontext_t uc;
	struct opbench_load *load;
	void *stack;
	int fd; /* last registered in the epoll set, -1 none */
	bool waiting, ready, done;
	long long deadline; /* mproto_net_now_ms() */
};

struct loop {
	ucontext_t main;
	int ep;
	struct coro *cur;
	unsigned long live;
};

static __thread struct loop *self;

/* mproto_net_wait() on a carried connection: arm its socket, switch to
 * the loop, and when resumed say whether it is ready. */
static int wait_hook(int fd, short events, long long deadline)
{
	struct coro *c = self->cur;
	struct epoll_event ev = {.events = EPOLLONESHOT, .data.ptr = c};
	int op = c->fd == fd ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;

	ev.events |= (events & POLLIN ? EPOLLIN : 0) | (events & POLLOUT ? EPOLLOUT : 0);
	/* a socket closed and reopened under the same number left the set */
	if (epoll_ctl(self->ep, op, fd, &ev) < 0 &&
	    epoll_ctl(self->ep, op == EPOLL_CTL_MOD ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ev) < 0)
		return -1;
	c->fd = fd;
	c->waiting = true;
	c->ready = false;
	c->deadline = deadline;
	(void)swapcontext(&c->uc, &self->main);
	if (!c->ready) {
		errno = ETIMEDOUT;
		return -1;
	}
	return 0;
}

static void coro_main(void)
{
	struct coro *c = self->cur;

	opbench_load_run(c->load);
	c->done = true; /* uc_link: back to the loop */
}

/* Not inlined: swapcontext() returns twice, which its caller's locals
 * must not see. */
__attribute__((noinline)) static void resume(struct loop *l, struct coro *c)
{
	l->cur = c;
	c->waiting = false;
	(void)swapcontext(&l->main, &c->uc);
	if (c->done)
		l->live--;
}

/* A context for load l on a stack of its own, back to main at its end.
 * Not inlined: getcontext() returns twice.  0 or -1. */
__attribute__((noinline)) static int make_coro(struct coro *c, struct opbench_load *l,
					       ucontext_t *main)
{
	c->load = l;
	c->fd = -1;
	c->stack = mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (c->stack == MAP_FAILED || getcontext(&c->uc) < 0)
		return -1;
	c->uc.uc_stack.ss_sp = c->stack;
	c->uc.uc_stack.ss_size = STACK_SIZE;
	c->uc.uc_link = main;
	makecontext(&c->uc, coro_main, 0);
	return 0;
}

/* Run the n loads side by side on this thread.  0, or -1 when the
 * contexts could not be made (nothing ran). */
static int run_carried(struct opbench_load **loads, unsigned long n)
{
	struct loop l = {.ep = epoll_create1(EPOLL_CLOEXEC), .live = n};
	struct coro *co = calloc(n, sizeof(*co));
	struct epoll_event evs[64];
	unsigned long i;
	int rc = -1;

	if (l.ep < 0 || co == NULL)
		goto out;
	for (i = 0; i < n; i++)
		if (make_coro(&co[i], loads[i], &l.main) < 0)
			goto out;
	self = &l;
	mproto_net_set_wait_hook(wait_hook);
	for (i = 0; i < n; i++)
		resume(&l, &co[i]);
	while (l.live > 0) {
		long long now = mproto_net_now_ms(), next = LLONG_MAX;
		int k;

		for (i = 0; i < n; i++) {
			if (!co[i].waiting)
				continue;
			if (co[i].deadline <= now)
				resume(&l, &co[i]); /* not ready: ETIMEDOUT */
			else if (co[i].deadline < next)
				next = co[i].deadline;
		}
		if (l.live == 0)
			break;
		k = epoll_wait(l.ep, evs, 64,
			       next == LLONG_MAX ? 1000
						 : (int)(next - now > 1000 ? 1000 : next - now));
		for (int j = 0; j < k; j++) {
			struct coro *c = evs[j].data.ptr;

			if (c->waiting) {
				c->ready = true;
				resume(&l, c);
			}
		}
	}
	mproto_net_set_wait_hook(NULL);
	self = NULL;
	rc = 0;
out:
	for (i = 0; co != NULL && i < n; i++)
		if (co[i].stack != NULL && co[i].stack != MAP_FAILED)
			(void)munmap(co[i].stack, STACK_SIZE);
	free(co);
	if (l.ep >= 0)
		(void)close(l.ep);
	return rc;
}

void *opbench_group_thread(void *arg)
{
	struct opbench_group *g = arg;
	struct opbench_load **loads = calloc(g->n, sizeof(*loads));
	unsigned long i, ok = 0;

	for (i = 0; loads != NULL && i < g->n; i++)
		ok += (loads[i] = opbench_load_new(g->sh)) != NULL;
	(void)pthread_barrier_wait(&g->sh->ready);
	(void)pthread_barrier_wait(&g->sh->go);
	if (loads != NULL && ok == g->n) {
		if (g->n == 1)
			opbench_load_run(loads[0]);
		else if (run_carried(loads, g->n) < 0)
			fprintf(stderr, "opbench: cannot make contexts for %lu connections\n",
				g->n);
	}
	for (i = 0; i < g->n; i++)
		g->tallies[i] = loads != NULL ? opbench_load_free(&loads[i]) : NULL;
	free(loads);
	return arg;
}
