/*
 * map.h -- a string-keyed hash map of void * values (map.c; internal).
 * Keys are copied; values are the caller's.  Not thread-safe.
 */
#ifndef DF_MAP_H
#define DF_MAP_H

#include <stddef.h>

typedef struct df__map df__map_t;
df__map_t *df__map_new(void);
void *df__map_get(const df__map_t *m, const char *key);
/** Insert or replace (key copied); returns the old value or NULL; *err = -1 on ENOMEM. */
void *df__map_put(df__map_t *m, const char *key, void *val, int *err);
void *df__map_del(df__map_t *m, const char *key);
size_t df__map_size(const df__map_t *m);
void df__map_foreach(df__map_t *m, void (*fn)(const char *key, void *val, void *opaque), void *opaque);
/** Remove everything, calling free_val (may be NULL) on each value. */
void df__map_clear(df__map_t *m, void (*free_val)(void *));
void df__map_destroy(df__map_t *m, void (*free_val)(void *));

#endif /* DF_MAP_H */
