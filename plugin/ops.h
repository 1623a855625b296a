/*
 * ops.h - the daemon's two operator interfaces, started by main.c:
 * the control socket of `outpostctl status|reload` (ctl_server.c) and the
 * Prometheus endpoint (metrics_http.c; a stub in metrics.c when outpost
 * is built without libmicrohttpd).
 *
 * Each opens its socket before the daemon forks and drops its privileges
 * (open), starts its thread after (start), and stops at exit (stop).
 * Neither is needed to pass mail: when one cannot open its socket, it
 * says why in one log line and the daemon runs without it.  Both are read
 * once at start (control.*, metrics.listen: restart to change).
 */
#ifndef OUTPOST_OPS_H
#define OUTPOST_OPS_H

#include <stddef.h>

#include "outpost/config.h"

/* What the control socket's `reload` runs: main.c's reload, the one
 * SIGHUP runs.  0 when the new configuration is active; -1 with the
 * reason it was refused written into why. */
typedef int (*op_reload_fn)(char *why, size_t whysize);

/* Create control.socket (removing a stale one; refusing to take over a
 * socket another process serves), owned by the starting user, group
 * control.group with mode 0660, or mode 0600.  0 (also when control.socket
 * is empty), or -1 with err filled (the daemon goes on without it). */
int op_ctl_server_open(const struct op_config *c, char *err, size_t errsize);

/* Serve the socket on a thread of its own.  0, or -1 (logged). */
int op_ctl_server_start(op_reload_fn reload);

/* Stop the thread, close and remove the socket (when it is still ours). */
void op_ctl_server_stop(void);

/* Bind metrics.listen.  0 (also when it is empty), or -1 with err filled
 * (the daemon goes on without metrics). */
int op_metrics_http_open(const struct op_config *c, char *err, size_t errsize);

/* Serve GET /metrics on the bound socket.  0, or -1 (logged). */
int op_metrics_http_start(void);

/* Stop serving and close the socket. */
void op_metrics_http_stop(void);

/* "http://127.0.0.1:9125/metrics" when the endpoint serves, else "". */
const char *op_metrics_http_url(void);

#endif
