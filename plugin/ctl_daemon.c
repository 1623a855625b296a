/*
 * ctl_daemon.c - `outpostctl status` and `outpostctl reload`: the commands
 * that talk to the running daemon over its control socket (the server and
 * the protocol: plugin/ctl_server.c).
 *
 * The socket is -s PATH, else control.socket of the configuration file
 * (read with libconfig alone, without checking the rest of the file: a
 * broken file must not stop `reload` from asking the daemon, which then
 * says what is wrong with it), else the table's default.
 *
 * Exit status (outpostctl(8)): 0 done; 1 the daemon refused (a reload
 * with a broken configuration); 2 usage; 3 the daemon is not running or
 * did not answer; 4 permission denied on the socket.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <libconfig.h>

#include "ctl.h"
#include "outpost/buf.h"
#include "outpost/conftab.h"

enum { EXIT_REFUSED = 1, EXIT_USAGE = 2, EXIT_NOT_RUNNING = 3, EXIT_DENIED = 4 };

/* The control socket's path into out; from (size fromsize) says where it
 * came from, for messages. */
static void socket_path(const struct ctl_opts *o, const char *given, char *out, size_t outsize,
			char *from, size_t fromsize)
{
	const struct op_conf_key *k = op_conftab_find("control.socket");
	config_t lc;
	const char *s = NULL;

	if (given != NULL) {
		snprintf(out, outsize, "%s", given);
		snprintf(from, fromsize, "-s");
		return;
	}
	config_init(&lc);
	snprintf(out, outsize, "%s", k && k->def ? k->def : "");
	if (config_read_file(&lc, o->config) != CONFIG_TRUE)
		snprintf(from, fromsize,
			 "the default control.socket: %s:%d cannot be read (%s); give -s SOCKET",
			 o->config, config_error_line(&lc), config_error_text(&lc));
	else if (config_lookup_string(&lc, "control.socket", &s) == CONFIG_TRUE) {
		snprintf(out, outsize, "%s", s);
		snprintf(from, fromsize, "control.socket in %s", o->config);
	} else
		snprintf(from, fromsize, "the default control.socket");
	config_destroy(&lc);
}

/* Print a failure as the caller asked and return status. */
__attribute__((format(printf, 3, 4))) static int fail(const struct ctl_opts *o, int status,
						      const char *fmt, ...)
{
	char msg[800];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "outpostctl: %s\n", msg);
	if (o->json) {
		printf("{\"ok\":false,\"running\":%s,\"error\":",
		       status == EXIT_NOT_RUNNING ? "false" : "true");
		ctl_json_str(msg);
		printf("}\n");
	}
	return status;
}

/* Connect to path.  The descriptor, or -1 after saying why (*status_r). */
static int dial(const struct ctl_opts *o, const char *path, const char *from, int *status_r)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd, e;

	if (path[0] == '\0')
		return *status_r = fail(o, EXIT_NOT_RUNNING,
					"no control socket: control.socket is empty (%s)", from),
		       -1;
	if (strlen(path) >= sizeof(sun.sun_path))
		return *status_r = fail(o, EXIT_USAGE, "%s: path too long", path), -1;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
		return fd;
	e = errno;
	if (fd >= 0)
		close(fd);
	if (e == EACCES || e == EPERM)
		*status_r = fail(
		    o, EXIT_DENIED,
		    "%s: permission denied: run as root, or as a member of control.group", path);
	else if (e == ENOENT || e == ECONNREFUSED || e == ENOTDIR)
		*status_r = fail(o, EXIT_NOT_RUNNING,
				 "outpost is not running: nothing listens on %s (%s)", path, from);
	else
		*status_r =
		    fail(o, EXIT_NOT_RUNNING, "cannot reach outpost at %s: %s", path, strerror(e));
	return -1;
}

/* Read the whole answer (until the daemon closes) within timeout_ms.
 * 0, or -1 when it did not answer in time. */
static int read_answer(int fd, struct op_buf *b, int timeout_ms)
{
	struct pollfd pf = {.fd = fd, .events = POLLIN};
	char chunk[4096];

	for (;;) {
		ssize_t n;
		int r = poll(&pf, 1, timeout_ms);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		if (op_buf_append(b, chunk, (size_t)n) < 0)
			return -1;
	}
}

/* Send cmd, print the answer.  The exit status. */
static int ask(const struct ctl_opts *o, const char *cmd, int argc, char **argv, int timeout_ms)
{
	char path[256], line[64], from[600];
	const char *given = NULL, *body;
	struct op_buf b;
	int fd, status = 0;
	bool ok;

	if (argc == 2 && strcmp(argv[0], "-s") == 0)
		given = argv[1];
	else if (argc != 0) {
		fprintf(stderr, "usage: outpostctl [-c FILE] [--json] %s [-s SOCKET]\n", cmd);
		return EXIT_USAGE;
	}
	socket_path(o, given, path, sizeof(path), from, sizeof(from));
	fd = dial(o, path, from, &status);
	if (fd < 0)
		return status;
	snprintf(line, sizeof(line), "%s%s\n", cmd, o->json ? " json" : "");
	op_buf_init(&b, 1 << 20);
	if (write(fd, line, strlen(line)) != (ssize_t)strlen(line) ||
	    read_answer(fd, &b, timeout_ms) < 0 || b.len == 0) {
		close(fd);
		op_buf_free(&b);
		return fail(o, EXIT_NOT_RUNNING, "outpost at %s did not answer %s", path, cmd);
	}
	close(fd);
	ok = strncmp(op_buf_str(&b), "ok\n", 3) == 0;
	body = strchr(op_buf_str(&b), '\n');
	body = body ? body + 1 : "";
	if (ok || o->json)
		fputs(body, stdout);
	else
		fprintf(stderr, "outpostctl: %s", body);
	op_buf_free(&b);
	return ok ? 0 : EXIT_REFUSED;
}

int ctl_status(const struct ctl_opts *o, int argc, char **argv)
{
	return ask(o, "status", argc, argv, 10 * 1000);
}

int ctl_reload(const struct ctl_opts *o, int argc, char **argv)
{
	/* A reload loads every key (and may look them up in DNS). */
	return ask(o, "reload", argc, argv, 300 * 1000);
}
