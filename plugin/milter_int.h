/*
 * milter_int.h - the milter layer's interface to the daemon (main.c) and
 * its private split: milter_listen.c (the socket), milter_workers.c (the
 * threads serving the MTA connections), milter_engine.c (the protocol, milter_engine.h), milter.c
 * (the callbacks: protocol events to pipeline stages) and session.c
 * (connection/message lifetimes, limits, summary line).
 */
#ifndef OUTPOST_MILTER_INT_H
#define OUTPOST_MILTER_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "outpost/message.h"
#include "outpost/module.h"

/* Open the milter socket of cfg (removing a stale
 * unix socket, refusing when another process listens on it).  Call before
 * dropping privileges.  0, or -1 with err filled. */
int op_milter_setup(const struct op_config *cfg, char *err, size_t errsize);

/* Accept and serve MTA connections (milter_workers.c) until
 * op_milter_stop() or op_milter_close_listener(); 0 then, -1 on error. */
int op_milter_run(void);

/* Ask the accept loop to stop taking connections. */
void op_milter_stop(void);

/* Stop taking new MTA connections while the open ones go on being served
 * by the workers: the accept loop closes the listening socket (the
 * MTA's new connections are refused, and it applies its own default
 * action) and op_milter_run() returns.  Waits up to 2 s for that.
 * Returns 1 when the socket was closed, 0 when there was none to close (or
 * it was closed before), -1 on error (errno). */
int op_milter_close_listener(void);

/* milter_workers.c: serve the MTA connections accepted on listen_fd (a
 * listening socket, made non-blocking here) with worker threads, until
 * op_workers_stop_accepting(); the connections open then go on being
 * served.  timeout_ms: milter.timeout; slice_us: milter.sched_slice_us;
 * workers: milter.workers (0: one per processor).  0, or -1 (logged). */
int op_workers_start(int listen_fd, long long timeout_ms, long long slice_us, long long workers);

/* Stop accepting: the caller may close the listening socket on return. */
void op_workers_stop_accepting(void);

/* The threads now (outpostctl status): *target workers configured, *total
 * threads, *blocked of them waiting on DNS or Redis, *parked spare. */
void op_workers_counts(unsigned *target, unsigned *total, unsigned *blocked, unsigned *parked);

/* thread_slice.c: ask for a scheduler slice of us microseconds for the
 * calling thread (Linux 6.12+ honours it; older kernels ignore it).  us <=
 * 0: nothing.  The first outcome worth knowing is logged once.  0, or -1
 * when the kernel refused (the thread runs on as before). */
int op_thread_request_slice(long long us);

/* The callbacks (milter.c) the engine calls for every MTA connection. */
struct op_mcallbacks;
const struct op_mcallbacks *op_milter_callbacks(void);

/* Messages and connections in flight now. */
unsigned op_milter_inflight_msgs(void);
unsigned op_milter_inflight_conns(void);

/* The file system path of a unix socket spec, or NULL for inet. */
const char *op_milter_socket_path(const char *spec);

/* What speaks the milter protocol, for -V. */
void op_milter_version(char *out, size_t outsize);

/* --- session.c: lifetimes, limits and the summary line --- */

/* A new connection with the current snapshot; NULL when memory is short. */
struct op_conn *op_session_conn_new(void);
void op_session_conn_free(struct op_conn **c);

/* Open a transaction on c (closing a stale one).  NULL when memory is
 * short. */
struct op_msg *op_session_msg_new(struct op_conn *c);

/* End c's open transaction (if any): log its summary with how it ended
 * ("eom", "abort", "reject at mail" ...), free its state. */
void op_session_msg_end(struct op_conn *c, const char *how);

/* Copy a macro value into pool memory, bounded by limits.max_macro_length.
 * Returns the copy, "" for NULL, or NULL when it is too long (the caller
 * applies the limit action). */
char *op_session_macro(struct op_pool *pool, const struct op_config *cfg, const char *value);

/* Classify the connection from its address and daemon name. */
void op_session_classify_conn(struct op_conn *c);

/* Classify the message (SASL login, then the connection's class) and map
 * it to a tenant. */
void op_session_classify_msg(struct op_msg *m);

/* Store one received header, enforcing the header limits.  Returns 0, or
 * -1 when a limit was hit (m->pending then holds the limit verdict). */
int op_session_header(struct op_msg *m, const char *name, const char *value);

/* Record a recipient accepted at RCPT.  0 or -1 (memory). */
int op_session_rcpt(struct op_msg *m, const char *rcpt);

/* Mark modules that need stages this connection did not negotiate. */
void op_session_mark_skips(struct op_msg *m, unsigned negotiated_stages);

/* Remove <> and return the domain part (lower-cased copy) of an address. */
char *op_session_addr(struct op_pool *pool, const char *raw, char **domain_r);

#endif
