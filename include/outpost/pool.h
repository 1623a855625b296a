/*
 * pool.h - a per-message (and per-connection) memory arena.
 *
 * Everything a message owns that has no destructor of its own is taken from
 * its pool and freed with one op_pool_free() at the end of the message.
 * Allocation failure returns NULL; callers turn that into a resource error.
 */
#ifndef OUTPOST_POOL_H
#define OUTPOST_POOL_H

#include <stddef.h>

struct op_pool;

/* A new empty pool, or NULL when memory is short. */
struct op_pool *op_pool_new(void);

/* n bytes aligned for any type, or NULL.  Zero-filled. */
void *op_pool_alloc(struct op_pool *p, size_t n);

/* A NUL-terminated copy of n bytes of s, or NULL. */
char *op_pool_strndup(struct op_pool *p, const char *s, size_t n);

/* A copy of the string s (NULL gives NULL). */
char *op_pool_strdup(struct op_pool *p, const char *s);

/* Bytes handed out so far (for limits and metrics). */
size_t op_pool_used(const struct op_pool *p);

/* Free every allocation and the pool; accepts NULL; sets *p = NULL. */
void op_pool_free(struct op_pool **p);

#endif
