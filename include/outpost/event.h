/*
 * event.h - the per-message event log: one JSON object (RFC 8259) per line
 * per message, written to event.file and/or syslog.
 *
 * The milter thread that ends a message builds its line (op_event_msg())
 * and hands it to a bounded in-memory queue (event.max_queue bytes); one
 * writer thread empties the queue into the file, in order, gathering the
 * lines of a few milliseconds (5) into one write, so a line reaches the
 * file that much after its message ended.  A slow or full disk
 * therefore never blocks a milter callback: when the queue is full the
 * line is dropped and counted, and the writer logs the count at most once
 * every 10 seconds.  A line is written whole or not at all (a short write
 * is cut back with ftruncate), so every line of the file parses.  SIGUSR1
 * (op_event_reopen()) reopens the file after logrotate moved it.
 *
 * Modules add their own fields to the event with op_event_add_*(): each
 * module's members form the object "modules": { "NAME": { ... } }; a
 * module that adds none is represented by its summary-line fields
 * ("dkim=sign d=x s=y" becomes {"result":"sign","d":"x","s":"y"}).
 */
#ifndef OUTPOST_EVENT_H
#define OUTPOST_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "outpost/buf.h"
#include "outpost/message.h"

/* Append s (n octets) to b as a JSON string, quotes included: '"' and '\'
 * escaped, control characters as \uXXXX, valid UTF-8 copied, every octet
 * of an invalid UTF-8 sequence as U+FFFD.  Returns 0, or -1 (b is full). */
int op_json_str(struct op_buf *b, const char *s, size_t n);

/* Add a member to module modidx's object in m's event (values are copied
 * into the message pool).  Any stage may call them.  0, or -1 (memory). */
int op_event_add_str(struct op_msg *m, size_t modidx, const char *key, const char *value);
int op_event_add_int(struct op_msg *m, size_t modidx, const char *key, long long value);
int op_event_add_bool(struct op_msg *m, size_t modidx, const char *key, bool value);
/* An array of strings. */
int op_event_add_strs(struct op_msg *m, size_t modidx, const char *key, const char *const *v,
		      size_t n);

/* Build m's event line (without the newline) into b; how is the end
 * ("eom", "abort", ...).  Returns 0, or -1 when it does not fit b. */
int op_event_build(const struct op_msg *m, const char *how, struct op_buf *b);

/* Start the writer thread (call once, after daemon(3) and dropping
 * privileges: it opens the file as the user outpost runs as).  Settings
 * (event.file, event.syslog) come from the current snapshot and are read
 * again after every reload.  0, or -1 (thread not started, logged). */
int op_event_start(void);

/* Queue m's event when the message's snapshot asks for one (event.file
 * set or event.syslog on) and the writer runs.  Never blocks on I/O.
 * Called once per message, where its summary line is logged. */
void op_event_msg(const struct op_msg *m, const char *how);

/* Ask the writer to reopen the file (SIGUSR1).  Async-signal-safe is not
 * needed: the daemon calls it from its signal loop. */
void op_event_reopen(void);

/* Write what is queued (waiting at most timeout_ms for a slow disk) and
 * stop the writer.  Safe without op_event_start(). */
void op_event_stop(long long timeout_ms);

/* Counters since start: lines written, lines dropped (queue full or the
 * writer stopped). */
void op_event_stats(uint64_t *written_r, uint64_t *dropped_r);

#endif
