/*
 * map.c - string-keyed hash map (see include/outpost/map.h).
 *
 * Open addressing with linear probing, FNV-1a over the (case-folded) key,
 * grown to keep the load under 70%.  Keys are stored once, in the slot's
 * own allocation.  No deletion: maps are built at config load and then only
 * read, which keeps lookups lock-free.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "outpost/map.h"

struct map_slot {
	char *key; /* NULL = empty */
	size_t keylen;
	uint64_t hash;
	void *value;
};

struct op_map {
	struct map_slot *slots;
	size_t cap; /* power of two */
	size_t count;
	bool icase;
};

static inline unsigned char map_fold(const struct op_map *m, unsigned char c)
{
	return (m->icase && c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

static uint64_t map_hash(const struct op_map *m, const char *k, size_t n)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= map_fold(m, (unsigned char)k[i]);
		h *= 1099511628211ULL;
	}
	return h;
}

static bool map_keyeq(const struct op_map *m, const struct map_slot *s, const char *k, size_t n)
{
	if (s->keylen != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (map_fold(m, (unsigned char)s->key[i]) != map_fold(m, (unsigned char)k[i]))
			return false;
	return true;
}

struct op_map *op_map_new(bool icase)
{
	struct op_map *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	m->cap = 16;
	m->icase = icase;
	m->slots = calloc(m->cap, sizeof(*m->slots));
	if (m->slots == NULL) {
		free(m);
		return NULL;
	}
	return m;
}

/* Slot holding key, or the empty slot where it would go. */
static struct map_slot *map_find(const struct op_map *m, const char *k, size_t n, uint64_t h)
{
	size_t mask = m->cap - 1;

	for (size_t i = h & mask;; i = (i + 1) & mask) {
		struct map_slot *s = &m->slots[i];

		if (s->key == NULL || (s->hash == h && map_keyeq(m, s, k, n)))
			return s;
	}
}

static int map_grow(struct op_map *m)
{
	struct op_map bigger = *m;

	bigger.cap = m->cap * 2;
	bigger.slots = calloc(bigger.cap, sizeof(*bigger.slots));
	if (bigger.slots == NULL)
		return -1;
	for (size_t i = 0; i < m->cap; i++) {
		struct map_slot *s = &m->slots[i];

		if (s->key != NULL)
			*map_find(&bigger, s->key, s->keylen, s->hash) = *s;
	}
	free(m->slots);
	m->slots = bigger.slots;
	m->cap = bigger.cap;
	return 0;
}

/* Insert; replace decides what happens to an existing key.  1, 0, -1. */
static int map_insert(struct op_map *m, const char *key, void *value, bool replace)
{
	size_t n = strlen(key);
	uint64_t h = map_hash(m, key, n);
	struct map_slot *s;

	if ((m->count + 1) * 10 > m->cap * 7 && map_grow(m) < 0)
		return -1;
	s = map_find(m, key, n, h);
	if (s->key != NULL) {
		if (replace)
			s->value = value;
		return 0;
	}
	s->key = malloc(n + 1);
	if (s->key == NULL)
		return -1;
	memcpy(s->key, key, n + 1);
	s->keylen = n;
	s->hash = h;
	s->value = value;
	m->count++;
	return 1;
}

int op_map_put(struct op_map *m, const char *key, void *value)
{
	return map_insert(m, key, value, true) < 0 ? -1 : 0;
}

int op_map_add(struct op_map *m, const char *key, void *value)
{
	return map_insert(m, key, value, false);
}

void *op_map_getn(const struct op_map *m, const char *key, size_t n)
{
	struct map_slot *s;

	if (m == NULL)
		return NULL;
	s = map_find(m, key, n, map_hash(m, key, n));
	return s->key ? s->value : NULL;
}

void *op_map_get(const struct op_map *m, const char *key)
{
	return op_map_getn(m, key, strlen(key));
}

size_t op_map_count(const struct op_map *m)
{
	return m ? m->count : 0;
}

void op_map_each(const struct op_map *m, void (*fn)(const char *, void *, void *), void *arg)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].key != NULL)
			fn(m->slots[i].key, m->slots[i].value, arg);
}

void op_map_free(struct op_map **mp)
{
	struct op_map *m;

	if (mp == NULL || *mp == NULL)
		return;
	m = *mp;
	for (size_t i = 0; i < m->cap; i++)
		free(m->slots[i].key);
	free(m->slots);
	free(m);
	*mp = NULL;
}
