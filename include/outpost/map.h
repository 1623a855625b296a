/*
 * map.h - a string-keyed hash map with constant-time lookup (open addressing,
 * FNV-1a, grown at 70% load).  Keys are copied; values are borrowed pointers.
 * Built once (config load), then read concurrently without locks: it is never
 * changed after the snapshot that owns it is published.
 */
#ifndef OUTPOST_MAP_H
#define OUTPOST_MAP_H

#include <stdbool.h>
#include <stddef.h>

struct op_map;

/* A new empty map, or NULL when memory is short.  icase folds ASCII case of
 * keys (domain names, logins). */
struct op_map *op_map_new(bool icase);

/* Insert or replace key -> value.  Returns 0, or -1 (memory). */
int op_map_put(struct op_map *m, const char *key, void *value);

/* Insert only when absent.  Returns 1 inserted, 0 already present (the
 * existing value is left), -1 memory. */
int op_map_add(struct op_map *m, const char *key, void *value);

/* Value for key (n bytes), or NULL. */
void *op_map_getn(const struct op_map *m, const char *key, size_t n);
void *op_map_get(const struct op_map *m, const char *key);

size_t op_map_count(const struct op_map *m);

/* Call fn for every entry in no particular order. */
void op_map_each(const struct op_map *m, void (*fn)(const char *key, void *value, void *arg),
		 void *arg);

/* Free the map (not the values); accepts NULL; sets *m = NULL. */
void op_map_free(struct op_map **m);

#endif
