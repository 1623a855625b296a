/*
 * log.h - the one logging module.
 *
 * syslog with facility mail, or stderr in the foreground (-f).  Per-message
 * lines start with the MTA's queue id and carry key=value fields.  Untrusted
 * text is escaped with op_buf_put_escaped() (or op_log_esc()) before it is
 * logged, and is never a format string.
 */
#ifndef OUTPOST_LOG_H
#define OUTPOST_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <syslog.h>

/* Open the log.  to_stderr selects stderr instead of syslog. */
void op_log_open(const char *ident, bool to_stderr);

/* Set the lowest priority logged (LOG_DEBUG .. LOG_ERR). */
void op_log_set_level(int level);

/* Parse "debug", "info", "notice", "warning", "error" into a syslog level;
 * -1 when unknown. */
int op_log_level_parse(const char *name);

/* True when a line of priority prio would be written (skip building it
 * otherwise). */
bool op_log_wants(int prio);

void op_log(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Log "msg: strerror(errno)" like OpenSMTPD's log_warn(). */
void op_log_errno(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Escape untrusted text into out (size outsize, always NUL terminated) for a
 * log line; returns out so it can be used as a printf argument. */
const char *op_log_esc(char *out, size_t outsize, const char *s);

#define op_log_debug(...)   op_log(LOG_DEBUG, __VA_ARGS__)
#define op_log_info(...)    op_log(LOG_INFO, __VA_ARGS__)
#define op_log_notice(...)  op_log(LOG_NOTICE, __VA_ARGS__)
#define op_log_warning(...) op_log(LOG_WARNING, __VA_ARGS__)
#define op_log_error(...)   op_log(LOG_ERR, __VA_ARGS__)

#endif
