/*
 * pool.c - per-message arena (see include/outpost/pool.h).
 *
 * Blocks of 8 KiB (or larger for one big allocation) chained from the pool;
 * nothing is freed before op_pool_free().  Not thread safe: a pool belongs
 * to one connection, and one worker at a time serves a connection
 * (milter_workers.c).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "outpost/pool.h"

#define POOL_BLOCK 8192
#define POOL_ALIGN 16

struct pool_block {
	struct pool_block *next;
	size_t size, used;
	_Alignas(POOL_ALIGN) unsigned char data[];
};

struct op_pool {
	struct pool_block *head;
	size_t used;
};

struct op_pool *op_pool_new(void)
{
	return calloc(1, sizeof(struct op_pool));
}

static struct pool_block *pool_block_new(size_t size)
{
	struct pool_block *b;

	if (size > SIZE_MAX - sizeof(*b))
		return NULL;
	b = malloc(sizeof(*b) + size);
	if (b == NULL)
		return NULL;
	b->next = NULL;
	b->size = size;
	b->used = 0;
	return b;
}

void *op_pool_alloc(struct op_pool *p, size_t n)
{
	struct pool_block *b = p->head;
	size_t need;
	void *r;

	if (n > SIZE_MAX - POOL_ALIGN)
		return NULL;
	need = (n + POOL_ALIGN - 1) & ~(size_t)(POOL_ALIGN - 1);
	if (need == 0)
		need = POOL_ALIGN;
	if (b == NULL || b->size - b->used < need) {
		b = pool_block_new(need > POOL_BLOCK ? need : POOL_BLOCK);
		if (b == NULL)
			return NULL;
		/* A big one-off block goes behind the head so the head's free
		 * space stays usable for small allocations. */
		if (need > POOL_BLOCK && p->head != NULL) {
			b->next = p->head->next;
			p->head->next = b;
		} else {
			b->next = p->head;
			p->head = b;
		}
	}
	r = b->data + b->used;
	b->used += need;
	p->used += n;
	memset(r, 0, n);
	return r;
}

char *op_pool_strndup(struct op_pool *p, const char *s, size_t n)
{
	char *r;

	if (n == SIZE_MAX)
		return NULL;
	r = op_pool_alloc(p, n + 1);
	if (r == NULL)
		return NULL;
	memcpy(r, s, n);
	r[n] = '\0';
	return r;
}

char *op_pool_strdup(struct op_pool *p, const char *s)
{
	return s ? op_pool_strndup(p, s, strlen(s)) : NULL;
}

size_t op_pool_used(const struct op_pool *p)
{
	return p->used;
}

void op_pool_free(struct op_pool **pp)
{
	struct op_pool *p;
	struct pool_block *b, *next;

	if (pp == NULL || *pp == NULL)
		return;
	p = *pp;
	for (b = p->head; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	free(p);
	*pp = NULL;
}
