/*
 * ctl_server.c - the control socket: `outpostctl status` and `outpostctl
 * reload` talk to the running daemon through it (plugin/ctl_daemon.c is
 * the client).
 *
 * A unix stream socket at control.socket, owned by the user outpost starts
 * as (root under systemd), group control.group with mode 0660, or mode
 * 0600 without a group: the file's permissions are the access control.
 * One thread accepts and answers one connection at a time.
 *
 * The protocol is one command per connection, in lines:
 *   client:  COMMAND [json] LF        at most CMD_MAX bytes
 *   server:  "ok" LF or "error" LF, then the answer, then it closes.
 * The answer is text lines for a person, or one JSON object (RFC 8259)
 * when the command ends with "json".  Commands: status (version, uptime,
 * configuration generation, connections and messages in flight, store and
 * event log state), reload (the reload SIGHUP runs; "error" with the
 * reason when the new configuration is refused).  A client that sends
 * nothing within IO_TIMEOUT_S seconds is dropped.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "milter_int.h"
#include "ops.h"
#include "outpost/buf.h"
#include "outpost/event.h"
#include "outpost/log.h"
#include "outpost/metrics.h"
#include "outpost/pipeline.h"

#define CMD_MAX	     256
#define IO_TIMEOUT_S 5
#define ANSWER_MAX   (64u << 10)

static struct {
	int fd;	     /* listening socket, -1 when none */
	int wake[2]; /* a byte on wake[1] stops the thread */
	pthread_t th;
	bool running;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t dev; /* of the socket file we made: remove only ours */
	ino_t ino;
	op_reload_fn reload;
} srv = {.fd = -1, .wake = {-1, -1}};

/* ---- the socket -------------------------------------------------------------- */

static bool socket_live(const struct sockaddr_un *sun)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool live;

	if (fd < 0)
		return false;
	live = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0;
	close(fd);
	return live;
}

/* Remove what is at path if it is a socket nobody serves.  0, or -1 with err. */
static int clear_stale(const struct sockaddr_un *sun, char *err, size_t errsize)
{
	struct stat sb;

	if (lstat(sun->sun_path, &sb) < 0)
		return 0;
	if (!S_ISSOCK(sb.st_mode))
		return snprintf(err, errsize, "control.socket %s exists and is not a socket",
				sun->sun_path),
		       -1;
	if (socket_live(sun))
		return snprintf(err, errsize, "control.socket %s: another process serves it",
				sun->sun_path),
		       -1;
	if (unlink(sun->sun_path) < 0)
		return snprintf(err, errsize,
				"control.socket %s: cannot remove the stale socket: %s",
				sun->sun_path, strerror(errno)),
		       -1;
	return 0;
}

/* Group and mode of the socket file.  0, or -1 with err. */
static int set_perms(const char *path, const char *group, char *err, size_t errsize)
{
	mode_t mode = 0600;

	if (group[0]) {
		struct group *gr = getgrnam(group);

		if (gr == NULL)
			return snprintf(err, errsize, "control.group: no such group \"%s\"", group),
			       -1;
		if (chown(path, (uid_t)-1, gr->gr_gid) < 0)
			return snprintf(err, errsize, "chown %s: %s", path, strerror(errno)), -1;
		mode = 0660;
	}
	if (chmod(path, mode) < 0)
		return snprintf(err, errsize, "chmod %s: %s", path, strerror(errno)), -1;
	return 0;
}

int op_ctl_server_open(const struct op_config *c, char *err, size_t errsize)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct stat sb;
	mode_t old;
	int fd, r;

	if (c->control_socket[0] == '\0')
		return 0;
	if (strlen(c->control_socket) >= sizeof(sun.sun_path))
		return snprintf(err, errsize, "control.socket %s: path too long",
				c->control_socket),
		       -1;
	memcpy(sun.sun_path, c->control_socket, strlen(c->control_socket) + 1);
	if (clear_stale(&sun, err, errsize) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return snprintf(err, errsize, "control.socket: socket: %s", strerror(errno)), -1;
	old = umask(0177); /* born private; set_perms() widens it */
	r = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (r < 0 || listen(fd, 8) < 0) {
		snprintf(err, errsize, "control.socket %s: %s", sun.sun_path, strerror(errno));
		close(fd);
		return -1;
	}
	if (set_perms(sun.sun_path, c->control_group, err, errsize) < 0 ||
	    stat(sun.sun_path, &sb) < 0) {
		close(fd);
		unlink(sun.sun_path);
		return -1;
	}
	srv.fd = fd;
	srv.dev = sb.st_dev;
	srv.ino = sb.st_ino;
	memcpy(srv.path, sun.sun_path, sizeof(srv.path));
	return 0;
}

/* ---- answers ------------------------------------------------------------------- */

static void iso_time(time_t t, char *out, size_t outsize)
{
	struct tm tm;

	if (t == 0 || gmtime_r(&t, &tm) == NULL)
		snprintf(out, outsize, "never");
	else
		strftime(out, outsize, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* "ok", "failing", "unused" or "off" for the configured rate store. */
static const char *store_state(const struct op_config *c, struct op_metrics_store_state *st)
{
	memset(st, 0, sizeof(*st));
	if (!c->rate_enabled)
		return "off";
	op_metrics_store_state(c->rate_store == 1 ? "redis" : "lmdb", st);
	if (st->ops == 0)
		return "unused";
	return st->errors > 0 && st->last_error >= st->last_ok ? "failing" : "ok";
}

static void put_json_kv(struct op_buf *b, const char *key, const char *value)
{
	op_buf_printf(b, ",\"%s\":", key);
	op_json_str(b, value, strlen(value));
}

static void status_json(struct op_buf *b, const struct op_config *c, const char *store,
			const struct op_metrics_store_state *st)
{
	uint64_t written, dropped, rok, rref;
	unsigned wt, wn, wb, wp;
	bool last_ok;
	time_t last, start = op_metrics_start_time();
	char ts[32];
	size_t n;
	const struct op_module *const *mods = op_pipeline_modules(&n);

	op_event_stats(&written, &dropped);
	op_metrics_reload_state(&rok, &rref, &last_ok, &last);
	op_buf_printf(b, "{\"version\":\"%s\",\"pid\":%ld", PACKAGE_VERSION, (long)getpid());
	iso_time(start, ts, sizeof(ts));
	op_buf_printf(b, ",\"started\":\"%s\",\"uptime_seconds\":%lld", ts,
		      (long long)(time(NULL) - start));
	put_json_kv(b, "config", c->path);
	op_buf_printf(b, ",\"generation\":%u,\"reloads\":{\"ok\":%llu,\"refused\":%llu,",
		      c->generation, (unsigned long long)rok, (unsigned long long)rref);
	iso_time(last, ts, sizeof(ts));
	op_buf_printf(b, "\"last\":%s%s%s,\"last_ok\":%s}", last ? "\"" : "", last ? ts : "null",
		      last ? "\"" : "", last_ok ? "true" : "false");
	op_buf_printf(b, ",\"connections_in_flight\":%u,\"messages_in_flight\":%u",
		      op_milter_inflight_conns(), op_milter_inflight_msgs());
	op_workers_counts(&wt, &wn, &wb, &wp);
	op_buf_printf(
	    b, ",\"workers\":{\"configured\":%u,\"threads\":%u,\"waiting\":%u,\"parked\":%u}", wt,
	    wn, wb, wp);
	op_buf_puts(b, ",\"modules\":[");
	for (size_t i = 0, k = 0; i < n; i++)
		if (c->mod_enabled[i])
			op_buf_printf(b, "%s\"%s\"", k++ ? "," : "", mods[i]->name);
	op_buf_printf(b, "],\"store\":{\"state\":\"%s\"", store);
	if (c->rate_enabled) {
		put_json_kv(b, "backend", c->rate_store == 1 ? "redis" : "lmdb");
		put_json_kv(b, "address",
			    c->rate_store == 1 ? c->rate_redis_address : c->rate_lmdb_path);
		iso_time(st->last_error, ts, sizeof(ts));
		op_buf_printf(b, ",\"operations\":%llu,\"errors\":%llu,\"last_error\":%s%s%s",
			      (unsigned long long)st->ops, (unsigned long long)st->errors,
			      st->last_error ? "\"" : "", st->last_error ? ts : "null",
			      st->last_error ? "\"" : "");
	}
	op_buf_puts(b, "},\"events\":{");
	op_buf_puts(b, "\"file\":");
	op_json_str(b, c->event_file, strlen(c->event_file));
	op_buf_printf(b, ",\"written\":%llu,\"dropped\":%llu}", (unsigned long long)written,
		      (unsigned long long)dropped);
	put_json_kv(b, "metrics", op_metrics_http_url());
	put_json_kv(b, "control_socket", srv.path);
	op_buf_puts(b, "}\n");
}

static void status_text(struct op_buf *b, const struct op_config *c, const char *store,
			const struct op_metrics_store_state *st)
{
	uint64_t written, dropped, rok, rref;
	unsigned wt, wn, wb, wp;
	bool last_ok;
	time_t last, start = op_metrics_start_time(), up = time(NULL) - start;
	char ts[32];
	size_t n, k = 0;
	const struct op_module *const *mods = op_pipeline_modules(&n);

	op_event_stats(&written, &dropped);
	op_metrics_reload_state(&rok, &rref, &last_ok, &last);
	iso_time(start, ts, sizeof(ts));
	op_buf_printf(b, "outpost %s, pid %ld, up %lldd %02lld:%02lld:%02lld (since %s)\n",
		      PACKAGE_VERSION, (long)getpid(), (long long)up / 86400,
		      (long long)up % 86400 / 3600, (long long)up % 3600 / 60, (long long)up % 60,
		      ts);
	iso_time(last, ts, sizeof(ts));
	op_buf_printf(b, "config:     %s, generation %u; reloads: %llu ok, %llu refused", c->path,
		      c->generation, (unsigned long long)rok, (unsigned long long)rref);
	op_buf_printf(b, last ? ", last %s %s\n" : "\n", ts, last_ok ? "ok" : "refused");
	op_buf_printf(b, "in flight:  %u connections, %u messages\n", op_milter_inflight_conns(),
		      op_milter_inflight_msgs());
	op_workers_counts(&wt, &wn, &wb, &wp);
	op_buf_printf(
	    b, "workers:    %u configured; %u threads, %u waiting on DNS or Redis, %u parked\n", wt,
	    wn, wb, wp);
	op_buf_puts(b, "modules:   ");
	for (size_t i = 0; i < n; i++)
		if (c->mod_enabled[i] && ++k)
			op_buf_printf(b, " %s", mods[i]->name);
	if (k == 0)
		op_buf_puts(b, " (none)");
	op_buf_puts(b, "\nstore:      ");
	if (c->rate_enabled)
		op_buf_printf(b, "%s %s: %s, %llu operations, %llu errors\n",
			      c->rate_store == 1 ? "redis" : "lmdb",
			      c->rate_store == 1 ? c->rate_redis_address : c->rate_lmdb_path, store,
			      (unsigned long long)st->ops, (unsigned long long)st->errors);
	else
		op_buf_puts(b, "off (rate.enabled = false)\n");
	op_buf_printf(b, "events:     %s, %llu written, %llu dropped\n",
		      c->event_file[0] ? c->event_file : "(no event.file)",
		      (unsigned long long)written, (unsigned long long)dropped);
	op_buf_printf(b, "metrics:    %s\n",
		      op_metrics_http_url()[0] ? op_metrics_http_url() : "off (metrics.listen)");
}

static int cmd_status(bool json, struct op_buf *b)
{
	struct op_config *c = op_config_current();
	struct op_metrics_store_state st;
	const char *store;

	if (c == NULL)
		return op_buf_puts(b, "error\nno configuration\n"), -1;
	store = store_state(c, &st);
	op_buf_puts(b, "ok\n");
	if (json)
		status_json(b, c, store, &st);
	else
		status_text(b, c, store, &st);
	op_config_unref(&c);
	return 0;
}

static int cmd_reload(bool json, struct op_buf *b)
{
	char why[600] = "";
	int r = srv.reload(why, sizeof(why));
	struct op_config *c = op_config_current();
	unsigned gen = c ? c->generation : 0;

	op_buf_puts(b, r == 0 ? "ok\n" : "error\n");
	if (json) {
		op_buf_printf(b, "{\"ok\":%s,\"generation\":%u", r == 0 ? "true" : "false", gen);
		put_json_kv(b, r == 0 ? "config" : "error", r == 0 && c ? c->path : why);
		op_buf_puts(b, "}\n");
	} else if (r == 0)
		op_buf_printf(b, "configuration generation %u from %s is active\n", gen,
			      c ? c->path : "?");
	else
		op_buf_printf(b, "reload refused, generation %u keeps serving: %s\n", gen, why);
	op_config_unref(&c);
	return r;
}

static const struct {
	const char *name;
	int (*fn)(bool json, struct op_buf *b);
} commands[] = {
    {"status", cmd_status},
    {"reload", cmd_reload},
};

/* ---- connections -------------------------------------------------------------- */

/* Read one command line (without LF) into line.  0, or -1 (nothing usable). */
static int read_line(int fd, char *line, size_t size)
{
	size_t n = 0;

	while (n + 1 < size) {
		ssize_t r = read(fd, line + n, size - 1 - n);
		char *lf;

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
		line[n] = '\0';
		if ((lf = memchr(line, '\n', n)) != NULL) {
			*lf = '\0';
			line[strcspn(line, "\r")] = '\0';
			return 0;
		}
	}
	line[n] = '\0';
	return n > 0 && n + 1 < size ? 0 : -1; /* EOF ends a line too */
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

/* Answer one client. */
static void serve_client(int fd)
{
	struct timeval tv = {IO_TIMEOUT_S, 0};
	struct ucred cr = {0};
	socklen_t crl = sizeof(cr);
	char line[CMD_MAX], cmd[32] = "", arg[32] = "";
	struct op_buf b;
	bool json, known = false;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crl);
	if (read_line(fd, line, sizeof(line)) < 0)
		return;
	sscanf(line, "%31s %31s", cmd, arg);
	json = strcmp(arg, "json") == 0;
	op_buf_init(&b, ANSWER_MAX);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]) && !known; i++) {
		if (strcmp(cmd, commands[i].name) != 0)
			continue;
		known = true;
		op_log(strcmp(cmd, "status") == 0 ? LOG_DEBUG : LOG_NOTICE,
		       "control: %s asked by uid %u pid %d", cmd, (unsigned)cr.uid, (int)cr.pid);
		commands[i].fn(json, &b);
	}
	if (!known) {
		op_buf_puts(&b, "error\n");
		if (json)
			op_buf_puts(&b, "{\"ok\":false,\"error\":\"unknown command\"}\n");
		else
			op_buf_puts(&b, "unknown command; the daemon knows: status, reload\n");
	}
	write_all(fd, op_buf_str(&b), b.len);
	op_buf_free(&b);
}

static void *serve(void *arg)
{
	struct pollfd pf[2] = {{.fd = srv.fd, .events = POLLIN},
			       {.fd = srv.wake[0], .events = POLLIN}};

	for (;;) {
		int fd;

		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			op_log_errno(LOG_ERR, "control: poll");
			break;
		}
		if (pf[1].revents)
			break;
		if (!(pf[0].revents & POLLIN))
			continue;
		fd = accept4(srv.fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue; /* the client went away, or EMFILE: try again later */
		serve_client(fd);
		close(fd);
	}
	return arg;
}

int op_ctl_server_start(op_reload_fn reload)
{
	if (srv.fd < 0)
		return 0;
	srv.reload = reload;
	if (pipe2(srv.wake, O_CLOEXEC) < 0) {
		op_log_errno(LOG_ERR, "control: pipe");
		return -1;
	}
	if (pthread_create(&srv.th, NULL, serve, NULL) != 0) {
		op_log_error("control: cannot start its thread: no control socket");
		return -1;
	}
	srv.running = true;
	op_log_info("control: listening on %s", srv.path);
	return 0;
}

void op_ctl_server_stop(void)
{
	struct stat sb;

	if (srv.running) {
		write_all(srv.wake[1], "x", 1);
		pthread_join(srv.th, NULL);
		srv.running = false;
	}
	for (int i = 0; i < 2; i++)
		if (srv.wake[i] >= 0)
			close(srv.wake[i]);
	srv.wake[0] = srv.wake[1] = -1;
	if (srv.fd < 0)
		return;
	close(srv.fd);
	srv.fd = -1;
	/* Only ours: a newer daemon may own the path by now.  After the
	 * privilege drop the directory may refuse (systemd removes it). */
	if (stat(srv.path, &sb) == 0 && sb.st_dev == srv.dev && sb.st_ino == srv.ino &&
	    unlink(srv.path) < 0 && errno != EACCES && errno != ENOENT)
		op_log_errno(LOG_WARNING, "unlink %s", srv.path);
}
