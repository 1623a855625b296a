/*
 * blocking.h - marks around calls that may wait for long on something
 * other than the processor: a DNS query, a Redis command.
 *
 * The milter serves its connections with a few worker threads, about one
 * per processor (plugin/milter_workers.c).  A worker that waits for a
 * DNS answer serves nobody meanwhile; between op_blocking_begin() and
 * op_blocking_end() another thread takes its place, so a slow resolver or
 * Redis server never holds up the connections that do not need it.
 * Outside the milter's workers (tests, outpostctl, the control thread)
 * the marks cost one branch and do nothing.
 */
#ifndef OUTPOST_BLOCKING_H
#define OUTPOST_BLOCKING_H

void op_blocking_begin(void);
void op_blocking_end(void);

/* Installed once by the milter before its workers start. */
void op_blocking_set_hooks(void (*begin)(void), void (*end)(void));

#endif
