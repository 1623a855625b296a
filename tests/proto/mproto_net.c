/*
 * mproto_net.c - sockets and deadlines for the milter test client.
 *
 * Owns nothing beyond the descriptor it hands back. Connects with a
 * deadline (a filter that does not accept must not hang a test) and parses
 * the socket specifications of libmilter and Postfix. Contract in
 * mproto_net.h.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* the char * strerror_r() */
#endif
#include "mproto_net.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

long long mproto_net_now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static __thread int (*wait_hook)(int fd, short events, long long deadline);

void mproto_net_set_wait_hook(int (*hook)(int fd, short events, long long deadline))
{
	wait_hook = hook;
}

int mproto_net_wait(int fd, short events, long long deadline)
{
	struct pollfd pfd = {.fd = fd, .events = events};
	long long left;
	int n;

	if (wait_hook != NULL)
		return wait_hook(fd, events, deadline);

	for (;;) {
		if ((left = deadline - mproto_net_now_ms()) <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		n = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

int mproto_net_write(int fd, const void *data, size_t len, long long deadline)
{
	const unsigned char *p = data;
	ssize_t n;

	while (len > 0) {
		/* MSG_NOSIGNAL: a filter that went away must not kill the client. */
		if ((n = send(fd, p, len, MSG_NOSIGNAL)) > 0) {
			p += n;
			len -= (size_t)n;
		} else if (n < 0 && errno == EAGAIN) {
			if (mproto_net_wait(fd, POLLOUT, deadline) < 0)
				return -1;
		} else if (n < 0 && errno != EINTR) {
			return -1;
		}
	}
	return 0;
}

int mproto_net_read(int fd, struct mproto_net_rbuf *rb, void *dst, size_t len, long long deadline)
{
	unsigned char *p = dst;
	ssize_t n;
	size_t k;
	int one = 1;

	while (len > 0) {
		if (rb->pos < rb->len) {
			k = rb->len - rb->pos < len ? rb->len - rb->pos : len;
			memcpy(p, rb->data + rb->pos, k);
			rb->pos += k, p += k, len -= k;
			continue;
		}
		rb->pos = rb->len = 0;
		if ((n = recv(fd, rb->data, sizeof(rb->data), 0)) > 0) {
			rb->len = (size_t)n;
			/* Linux clears quick-ACK mode on its own: set it again. */
			if (rb->quickack)
				(void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
		} else if (n == 0) {
			errno = ECONNRESET;
			return -1;
		} else if (errno == EAGAIN) {
			if (mproto_net_wait(fd, POLLIN, deadline) < 0)
				return -1;
		} else if (errno != EINTR) {
			return -1;
		}
	}
	return 0;
}

const char *mproto_net_strerror(int err, char *buf, size_t size)
{
	return strerror_r(err, buf, size); /* the GNU variant: thread-safe */
}

/* parse_port - a decimal port 1..65535 with end-pointer and range checks. */
static int parse_port(const char *s, char *out, size_t size)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (*s < '0' || *s > '9' || *end != 0 || errno == ERANGE || v < 1 || v > 65535)
		return -1;
	(void)snprintf(out, size, "%lu", v);
	return 0;
}

/* connect_addr - a connected non-blocking socket, or -1 with errno. */
static int connect_addr(const struct sockaddr *sa, socklen_t salen, unsigned timeout_ms)
{
	long long deadline = mproto_net_now_ms() + timeout_ms;
	int fd, err = 0;
	socklen_t elen = sizeof(err);

	if ((fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (connect(fd, sa, salen) < 0) {
		/* A unix socket with a full backlog says EAGAIN: no waiting then. */
		if (errno != EINPROGRESS || mproto_net_wait(fd, POLLOUT, deadline) < 0 ||
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0 || err != 0) {
			err = err ? err : errno;
			(void)close(fd);
			errno = err;
			return -1;
		}
	}
	return fd;
}

static int open_unix(const char *path, unsigned timeout_ms, int *fd_r, char *err, size_t size)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	char eb[128];

	if (*path == 0 || strlen(path) >= sizeof(sun.sun_path)) {
		(void)snprintf(err, size, "bad unix socket path \"%s\"", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((*fd_r = connect_addr((struct sockaddr *)&sun, sizeof(sun), timeout_ms)) < 0) {
		(void)snprintf(err, size, "connect to %s: %s", path,
			       mproto_net_strerror(errno, eb, sizeof(eb)));
		return -1;
	}
	return 0;
}

/* split_inet - "PORT@HOST", "PORT", or Postfix's "HOST:PORT" into parts. */
static int split_inet(char *rest, int family, const char **host_r, char *port, size_t psize)
{
	char *at = strchr(rest, '@'), *colon = strrchr(rest, ':'), *p = rest;
	char *host = family == AF_INET6 ? "::1" : "127.0.0.1";
	size_t n;

	if (at != NULL) {
		*at = 0;
		if (at[1] != 0)
			host = at + 1;
	} else if (colon != NULL && family == AF_INET) {
		*colon = 0;
		host = rest;
		p = colon + 1;
	}
	if (host[0] == '[' && (n = strlen(host)) > 2 && host[n - 1] == ']') {
		host[n - 1] = 0;
		host++;
	}
	*host_r = host;
	return parse_port(p, port, psize);
}

static int open_inet(char *rest, int family, unsigned timeout_ms, int *fd_r, char *err, size_t size)
{
	struct addrinfo hints = {
	    .ai_family = family, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
	struct addrinfo *res, *ai;
	const char *host;
	char port[8], eb[128];
	int rc, fd = -1, one = 1;

	if (split_inet(rest, family, &host, port, sizeof(port)) < 0) {
		(void)snprintf(err, size, "bad port in socket specification");
		return -1;
	}
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		(void)snprintf(err, size, "%s: %s", host, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next)
		fd = connect_addr(ai->ai_addr, ai->ai_addrlen, timeout_ms);
	rc = errno;
	freeaddrinfo(res);
	/* Small requests answered by small replies: Nagle would only add delay. */
	if (fd >= 0 && setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0) {
		rc = errno;
		(void)close(fd);
		fd = -1;
	}
	if (fd < 0) {
		(void)snprintf(err, size, "connect to %s port %s: %s", host, port,
			       mproto_net_strerror(rc, eb, sizeof(eb)));
		return -1;
	}
	*fd_r = fd;
	return 0;
}

int mproto_net_open(const char *spec, unsigned timeout_ms, int *fd_r, char *err, size_t size)
{
	char copy[512];

	if (strlen(spec) >= sizeof(copy)) {
		(void)snprintf(err, size, "socket specification too long");
		return -1;
	}
	memcpy(copy, spec, strlen(spec) + 1);
	if (strncmp(copy, "unix:", 5) == 0)
		return open_unix(copy + 5, timeout_ms, fd_r, err, size);
	if (strncmp(copy, "local:", 6) == 0)
		return open_unix(copy + 6, timeout_ms, fd_r, err, size);
	if (copy[0] == '/')
		return open_unix(copy, timeout_ms, fd_r, err, size);
	if (strncmp(copy, "inet:", 5) == 0)
		return open_inet(copy + 5, AF_INET, timeout_ms, fd_r, err, size);
	if (strncmp(copy, "inet6:", 6) == 0)
		return open_inet(copy + 6, AF_INET6, timeout_ms, fd_r, err, size);
	(void)snprintf(err, size,
		       "unknown socket type in \"%.100s\" (unix:, local:, inet:, inet6:)", spec);
	return -1;
}
