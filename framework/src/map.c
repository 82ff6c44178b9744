/*
 * map.c -- the string-keyed hash map (map.h): open chaining, FNV-1a, a
 * table that doubles when it holds twice as many entries as buckets.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "map.h"

typedef struct df__map_ent {
        struct df__map_ent *next;
        void *val;
        char key[];
} df__map_ent_t;

struct df__map {
        df__map_ent_t **b;
        size_t nb, n;
};

static uint64_t df__fnv(const char *s)
{
        uint64_t h = 1469598103934665603ULL;
        for (; *s; s++) {
                h ^= (unsigned char)*s;
                h *= 1099511628211ULL;
        }
        return h;
}

df__map_t *df__map_new(void)
{
        df__map_t *m = calloc(1, sizeof(*m));
        if (!m)
                return NULL;
        m->nb = 64;
        m->b = calloc(m->nb, sizeof(*m->b));
        if (!m->b) {
                free(m);
                return NULL;
        }
        return m;
}

void *df__map_get(const df__map_t *m, const char *key)
{
        df__map_ent_t *e;
        for (e = m->b[df__fnv(key) & (m->nb - 1)]; e; e = e->next)
                if (!strcmp(e->key, key))
                        return e->val;
        return NULL;
}

static void df__map_grow(df__map_t *m)
{
        size_t nb = m->nb * 2, i;
        df__map_ent_t **b = calloc(nb, sizeof(*b));
        if (!b)
                return; /* keep the old table: slower, still correct */
        for (i = 0; i < m->nb; i++) {
                df__map_ent_t *e = m->b[i], *next;
                for (; e; e = next) {
                        size_t j = df__fnv(e->key) & (nb - 1);
                        next = e->next;
                        e->next = b[j];
                        b[j] = e;
                }
        }
        free(m->b);
        m->b = b;
        m->nb = nb;
}

void *df__map_put(df__map_t *m, const char *key, void *val, int *err)
{
        size_t i = df__fnv(key) & (m->nb - 1), klen;
        df__map_ent_t *e;

        if (err)
                *err = 0;
        for (e = m->b[i]; e; e = e->next) {
                if (!strcmp(e->key, key)) {
                        void *old = e->val;
                        e->val = val;
                        return old;
                }
        }
        klen = strlen(key);
        e = malloc(sizeof(*e) + klen + 1);
        if (!e) {
                if (err)
                        *err = -1;
                return NULL;
        }
        memcpy(e->key, key, klen + 1);
        e->val = val;
        e->next = m->b[i];
        m->b[i] = e;
        if (++m->n > m->nb * 2)
                df__map_grow(m);
        return NULL;
}

void *df__map_del(df__map_t *m, const char *key)
{
        df__map_ent_t **pp = &m->b[df__fnv(key) & (m->nb - 1)], *e;
        for (; (e = *pp); pp = &e->next) {
                if (!strcmp(e->key, key)) {
                        void *v = e->val;
                        *pp = e->next;
                        free(e);
                        m->n--;
                        return v;
                }
        }
        return NULL;
}

size_t df__map_size(const df__map_t *m)
{
        return m ? m->n : 0;
}

void df__map_foreach(df__map_t *m, void (*fn)(const char *key, void *val, void *opaque), void *opaque)
{
        size_t i;
        for (i = 0; i < m->nb; i++) {
                df__map_ent_t *e, *next;
                for (e = m->b[i]; e; e = next) {
                        next = e->next;
                        fn(e->key, e->val, opaque);
                }
        }
}

void df__map_clear(df__map_t *m, void (*free_val)(void *))
{
        size_t i;
        if (!m)
                return;
        for (i = 0; i < m->nb; i++) {
                df__map_ent_t *e = m->b[i], *next;
                for (; e; e = next) {
                        next = e->next;
                        if (free_val)
                                free_val(e->val);
                        free(e);
                }
                m->b[i] = NULL;
        }
        m->n = 0;
}

void df__map_destroy(df__map_t *m, void (*free_val)(void *))
{
        if (!m)
                return;
        df__map_clear(m, free_val);
        free(m->b);
        free(m);
}
