/*
 * mproto_net.h - sockets and deadlines for mproto.c; private to tests/proto.
 *
 * Kept apart so that mproto.c holds only the milter protocol. Every function
 * is thread-safe and keeps no state but the calling thread's wait hook.
 */
#ifndef OUTPOST_TESTS_MPROTO_NET_H
#define OUTPOST_TESTS_MPROTO_NET_H

#include <stdbool.h>
#include <stddef.h>

/* mproto_net_now_ms - a monotonic clock in milliseconds. */
long long mproto_net_now_ms(void);

/*
 * mproto_net_wait - wait until fd is ready for events (POLLIN, POLLOUT)
 * or the deadline (mproto_net_now_ms() time) passes. Returns 0 when ready,
 * -1 with errno (ETIMEDOUT at the deadline).
 */
int mproto_net_wait(int fd, short events, long long deadline);

/*
 * mproto_net_set_wait_hook - make mproto_net_wait() call hook instead of
 * poll(), on the calling thread only (NULL: poll() again). For a load
 * generator that carries many connections on one thread
 * (tests/bench/opbench_sched.c): its hook switches to another connection.
 */
void mproto_net_set_wait_hook(int (*hook)(int fd, short events, long long deadline));

/*
 * mproto_net_open - connect to "unix:/path", "local:/path", "/path",
 * "inet:PORT@HOST", "inet6:PORT@HOST" (HOST defaults to loopback, may be in
 * brackets) or Postfix's "inet:HOST:PORT", within timeout_ms. The socket is
 * non-blocking and close-on-exec; TCP sockets get TCP_NODELAY.
 * Returns 0 with *fd_r set, or -1 with error text in err (size bytes).
 */
int mproto_net_open(const char *spec, unsigned timeout_ms, int *fd_r, char *err, size_t size);

/* Bytes received but not yet consumed, to read small packets with one recv(). */
struct mproto_net_rbuf {
	size_t pos;
	size_t len;
	bool quickack; /* re-arm TCP_QUICKACK after each recv() */
	unsigned char data[16384];
};

/*
 * mproto_net_write - write all len bytes to the non-blocking fd before the
 * deadline. Returns 0, or -1 with errno (ETIMEDOUT at the deadline).
 */
int mproto_net_write(int fd, const void *data, size_t len, long long deadline);

/*
 * mproto_net_read - read exactly len bytes through rb before the deadline.
 * Returns 0, or -1 with errno (ECONNRESET when the peer closed, ETIMEDOUT).
 */
int mproto_net_read(int fd, struct mproto_net_rbuf *rb, void *dst, size_t len, long long deadline);

/* mproto_net_strerror - strerror_r() text for err, in buf or static. */
const char *mproto_net_strerror(int err, char *buf, size_t size);

#endif
