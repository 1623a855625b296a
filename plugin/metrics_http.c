/*
 * metrics_http.c - the Prometheus endpoint: GET /metrics on
 * metrics.listen, served by libmicrohttpd (the only file that includes it;
 * compiled out when configure found none, see the stub in metrics.c).
 *
 * The socket is bound before the daemon drops its privileges and handed
 * to libmicrohttpd, whose one internal thread polls it and renders the
 * default registry (include/outpost/metrics.h) per request.  Limits: 8
 * connections at once, 10 s idle per connection, a rendering of at most
 * RENDER_MAX bytes.  Only GET and HEAD of /metrics are answered (200);
 * other paths get 404, other methods 405.  There is no authentication:
 * bind it to loopback or a management network (outpost.conf(5)).
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "milter_int.h"
#include "ops.h"
#include "outpost/log.h"
#include "outpost/metrics.h"

#define RENDER_MAX   (8u << 20)
#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#if MHD_VERSION < 0x00097002
typedef int mhd_result;
#else
typedef enum MHD_Result mhd_result;
#endif

static int listen_fd = -1;
static struct MHD_Daemon *mhd;
static char url[128];

static double conns_in_flight(void)
{
	return op_milter_inflight_conns();
}

static double msgs_in_flight(void)
{
	return op_milter_inflight_msgs();
}

__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[256];

	(void)cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	line[strcspn(line, "\r\n")] = '\0';
	op_log_warning("metrics: %s", line);
}

static mhd_result reply(struct MHD_Connection *conn, unsigned status, const char *text,
			const char *allow)
{
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
	mhd_result ret;

	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	if (allow != NULL)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static mhd_result serve_metrics(struct MHD_Connection *conn)
{
	struct op_buf b;
	struct MHD_Response *r;
	mhd_result ret;

	op_buf_init(&b, RENDER_MAX);
	if (op_metric_render(op_metrics_default(), &b) < 0) {
		op_buf_free(&b);
		op_log_error("metrics: the rendering is larger than %u bytes", RENDER_MAX);
		return reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "metrics too large\n", NULL);
	}
	r = MHD_create_response_from_buffer(b.len, (void *)op_buf_str(&b), MHD_RESPMEM_MUST_COPY);
	op_buf_free(&b);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, CONTENT_TYPE);
	ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

static mhd_result handler(void *cls, struct MHD_Connection *conn, const char *path,
			  const char *method, const char *version, const char *upload_data,
			  size_t *upload_data_size, void **con_cls)
{
	(void)cls;
	(void)version;
	(void)upload_data;
	(void)con_cls;
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
		*upload_data_size = 0; /* a body is not read */
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET /metrics\n", "GET, HEAD");
	}
	if (strcmp(path, "/metrics") != 0)
		return reply(conn, MHD_HTTP_NOT_FOUND, "not found: outpost serves /metrics\n",
			     NULL);
	return serve_metrics(conn);
}

int op_metrics_http_open(const struct op_config *c, char *err, size_t errsize)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	const char *why;
	int one = 1, fd;

	if (c->metrics_listen[0] == '\0')
		return 0;
	if (op_metrics_addr_parse(c->metrics_listen, &ss, &sl, &why) < 0)
		return snprintf(err, errsize, "metrics.listen %s: %s", c->metrics_listen, why), -1;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return snprintf(err, errsize, "metrics.listen %s: socket: %s", c->metrics_listen,
				strerror(errno)),
		       -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 16) < 0) {
		snprintf(err, errsize, "metrics.listen %s: %s", c->metrics_listen, strerror(errno));
		close(fd);
		return -1;
	}
	listen_fd = fd;
	snprintf(url, sizeof(url), "http://%s/metrics", c->metrics_listen);
	return 0;
}

int op_metrics_http_start(void)
{
	struct op_metric_registry *r = op_metrics_default();

	if (listen_fd < 0)
		return 0;
	op_metric_new_fn(r, OP_METRIC_GAUGE, "outpost_connections_in_flight",
			 "MTA connections open now", conns_in_flight);
	op_metric_new_fn(r, OP_METRIC_GAUGE, "outpost_messages_in_flight",
			 "transactions open now (MAIL FROM seen, not ended)", msgs_in_flight);
	/* The logger first: libmicrohttpd reports option errors through it. */
	mhd =
	    MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ERROR_LOG, 0,
			     NULL, NULL, handler, NULL, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
			     MHD_OPTION_LISTEN_SOCKET, listen_fd, MHD_OPTION_CONNECTION_LIMIT, 8u,
			     MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
	if (mhd == NULL) {
		op_log_error("metrics: libmicrohttpd did not start: no metrics endpoint");
		close(listen_fd);
		listen_fd = -1;
		url[0] = '\0';
		return -1;
	}
	op_log_info("metrics: serving %s", url);
	return 0;
}

void op_metrics_http_stop(void)
{
	if (mhd != NULL)
		MHD_stop_daemon(mhd); /* closes listen_fd */
	else if (listen_fd >= 0)
		close(listen_fd);
	mhd = NULL;
	listen_fd = -1;
	url[0] = '\0';
}

const char *op_metrics_http_url(void)
{
	return mhd != NULL ? url : "";
}
