/*
 * milter_listen.c - the milter socket: open it (unix or TCP, with the
 * socket specifications of libmilter and Postfix), have the workers
 * (milter_workers.c) accept and serve MTA connections, and stop accepting
 * on request while the open connections go on.  Contract in milter_int.h.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <libmilter/mfdef.h> /* SMFI_PROT_VERSION: a constant only */

#include "milter_engine.h"
#include "milter_int.h"
#include "outpost/log.h"

extern unsigned op_session_msgs_inflight, op_session_conns_inflight;

static int listen_fd = -1;
static int wake[2] = {-1, -1}; /* op_milter_stop() -> the accept loop */
static long long conn_timeout_ms, sched_slice_us, workers;
static pthread_mutex_t stop_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t stop_cond = PTHREAD_COND_INITIALIZER;
static bool stop_asked, listener_closed;

/* Path of a unix socket spec, or NULL for inet. */
static const char *unix_path(const char *spec)
{
	if (strncmp(spec, "unix:", 5) == 0)
		return spec + 5;
	if (strncmp(spec, "local:", 6) == 0)
		return spec + 6;
	return spec[0] == '/' ? spec : NULL;
}

const char *op_milter_socket_path(const char *spec)
{
	return unix_path(spec);
}

/* True when some process accepts connections on the unix socket path. */
static bool unix_socket_live(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd;
	bool live;

	if (strlen(path) >= sizeof(sun.sun_path))
		return false;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	live = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	close(fd);
	return live;
}

static int open_unix(const char *spec, const char *path, int backlog, char *err, size_t errsize)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	mode_t old;
	int fd, r;

	if (strlen(path) >= sizeof(sun.sun_path) || !path[0]) {
		snprintf(err, errsize, "%s: the path is empty or too long for a unix socket", spec);
		return -1;
	}
	if (unix_socket_live(path)) {
		snprintf(err, errsize, "%s: another process is listening on it", spec);
		return -1;
	}
	if (unlink(path) < 0 && errno != ENOENT) {
		snprintf(err, errsize, "%s: cannot remove the stale socket: %s", spec,
			 strerror(errno));
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errsize, "%s: socket: %s", spec, strerror(errno));
		return -1;
	}
	old = umask(0177); /* the socket is born private; chmod widens it */
	r = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (r < 0 || listen(fd, backlog) < 0) {
		snprintf(err, errsize, "%s: cannot open the socket: %s", spec, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* "inet:PORT@HOST", "inet:PORT" (every address), "inet6:PORT@HOST";
 * HOST a name or an address, brackets allowed. */
static int open_inet(const char *spec, char *err, size_t errsize)
{
	bool v6 = strncmp(spec, "inet6:", 6) == 0;
	const char *p = spec + (v6 ? 6 : 5), *at = strchr(p, '@');
	char port[16], host[256];
	struct addrinfo hints = {0}, *ai = NULL;
	int fd = -1, one = 1, r;

	if (!v6 && strncmp(spec, "inet:", 5) != 0) {
		snprintf(err, errsize,
			 "%s: unknown socket type (unix:/path, inet:port@host "
			 "or inet6:port@host)",
			 spec);
		return -1;
	}
	if ((size_t)(at ? at - p : (ptrdiff_t)strlen(p)) >= sizeof(port) ||
	    (at && strlen(at + 1) >= sizeof(host))) {
		snprintf(err, errsize, "%s: malformed socket specification", spec);
		return -1;
	}
	snprintf(port, sizeof(port), "%.*s", (int)(at ? at - p : (ptrdiff_t)strlen(p)), p);
	snprintf(host, sizeof(host), "%s", at ? at + 1 : "");
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	hints.ai_family = v6 ? AF_INET6 : AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	r = getaddrinfo(host[0] ? host : NULL, port, &hints, &ai);
	if (r != 0) {
		snprintf(err, errsize, "%s: %s", spec, gai_strerror(r));
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 128) < 0) {
		snprintf(err, errsize, "%s: cannot open the socket: %s", spec, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	/* Linux copies TCP_NODELAY to every accepted connection.  Without it,
	 * the small replies at end of message wait for the MTA's delayed ACK:
	 * about 40 ms per message. */
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
		op_log_errno(LOG_WARNING, "TCP_NODELAY on the milter socket");
	return fd;
}

int op_milter_setup(const struct op_config *cfg, char *err, size_t errsize)
{
	const char *path = unix_path(cfg->milter_socket);
	int fd;

	if (path != NULL)
		fd = open_unix(cfg->milter_socket, path, (int)cfg->milter_backlog, err, errsize);
	else
		fd = open_inet(cfg->milter_socket, err, errsize);
	if (fd < 0)
		return -1;
	if (path == NULL && listen(fd, (int)cfg->milter_backlog) < 0) {
		snprintf(err, errsize, "%s: listen: %s", cfg->milter_socket, strerror(errno));
		close(fd);
		return -1;
	}
	if (pipe2(wake, O_CLOEXEC) < 0) {
		snprintf(err, errsize, "pipe: %s", strerror(errno));
		close(fd);
		return -1;
	}
	listen_fd = fd;
	conn_timeout_ms = cfg->milter_timeout_ms;
	sched_slice_us = cfg->milter_sched_slice_us;
	workers = cfg->milter_workers;
	return 0;
}

int op_milter_run(void)
{
	struct pollfd pfd = {.fd = wake[0], .events = POLLIN};

	if (op_workers_start(listen_fd, conn_timeout_ms, sched_slice_us, workers) < 0)
		return -1;
	for (;;) { /* until op_milter_close_listener() writes to the pipe */
		int r = poll(&pfd, 1, -1);

		if (r > 0)
			break;
		if (r < 0 && errno != EINTR) {
			op_log_errno(LOG_ERR, "milter: poll");
			break;
		}
	}
	op_workers_stop_accepting();
	pthread_mutex_lock(&stop_lock);
	close(listen_fd);
	listen_fd = -1;
	listener_closed = true;
	pthread_cond_broadcast(&stop_cond);
	pthread_mutex_unlock(&stop_lock);
	return 0;
}

int op_milter_close_listener(void)
{
	struct timespec until;
	char b = 1;
	int r = 1;

	pthread_mutex_lock(&stop_lock);
	if (listen_fd < 0 || stop_asked) {
		pthread_mutex_unlock(&stop_lock);
		return 0;
	}
	stop_asked = true;
	if (write(wake[1], &b, 1) != 1) {
		pthread_mutex_unlock(&stop_lock);
		return -1;
	}
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 2;
	while (!listener_closed && r == 1)
		if (pthread_cond_timedwait(&stop_cond, &stop_lock, &until) == ETIMEDOUT)
			r = listener_closed ? 1 : -1;
	pthread_mutex_unlock(&stop_lock);
	if (r < 0)
		errno = ETIMEDOUT;
	return r;
}

void op_milter_stop(void)
{
	(void)op_milter_close_listener();
}

unsigned op_milter_inflight_msgs(void)
{
	return __atomic_load_n(&op_session_msgs_inflight, __ATOMIC_RELAXED);
}

unsigned op_milter_inflight_conns(void)
{
	return __atomic_load_n(&op_session_conns_inflight, __ATOMIC_RELAXED);
}

void op_milter_version(char *out, size_t outsize)
{
	snprintf(out, outsize, "built-in engine, protocol version %d", SMFI_PROT_VERSION);
}
