/*
 * util.c -- errors, time, strings, the hash map and the names of statuses
 * and operation types (the in-memory execution state is in state.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "internal.h"

/* ---------------- errors ---------------- */

static const struct {
        const char *name;
        int retriable;
        const char *text;
} df__errtab[] = {
#define DF__ERR_ROW(name, retriable, text) {"DF_ERR_" #name, retriable, text},
        DF_ERRORS(DF__ERR_ROW)
#undef DF__ERR_ROW
};

const char *df_strerror(df_err_t err)
{
        if ((int)err < 0 || err >= DF_ERR__COUNT)
                return "unknown error";
        return df__errtab[err].text;
}

const char *df_err_name(df_err_t err)
{
        if ((int)err < 0 || err >= DF_ERR__COUNT)
                return "DF_ERR_UNKNOWN";
        return df__errtab[err].name;
}

int df_err_is_retriable(df_err_t err)
{
        if ((int)err < 0 || err >= DF_ERR__COUNT)
                return 0;
        return df__errtab[err].retriable;
}

/* ---------------- time ---------------- */

int64_t df__now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t df__mono_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t df__mono_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* logging (df__log, df_log_set_level): log.c */

/* ---------------- strings ---------------- */

void df__errf(char *errstr, size_t errstr_size, const char *fmt, ...)
{
        va_list ap;

        if (!errstr || !errstr_size)
                return;
        va_start(ap, fmt);
        vsnprintf(errstr, errstr_size, fmt, ap);
        va_end(ap);
}

char *df__asprintf(const char *fmt, ...)
{
        va_list ap;
        char *s = NULL;
        int n;

        va_start(ap, fmt);
        n = vasprintf(&s, fmt, ap);
        va_end(ap);
        return n < 0 ? NULL : s;
}

int df__random_bytes(void *buf, size_t n)
{
        size_t got = 0;

        while (got < n) {
                ssize_t r = getrandom((char *)buf + got, n - got, 0);
                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        return -1;
                }
                got += (size_t)r;
        }
        return 0;
}

int df__execution_id_valid(const char *s)
{
        size_t n = 0;

        if (!s)
                return 0;
        for (; s[n]; n++) {
                char c = s[n];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                      c == '_' || c == ':' || c == '@' || c == '-'))
                        return 0;
                if (n >= 200)
                        return 0;
        }
        return n > 0;
}

/* ---------------- hash map (open chaining, FNV-1a) ---------------- */

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

/* ---------------- execution and operation names ---------------- */

int df__exec_status_terminal(int s)
{
        return s == DF__ES_SUCCEEDED || s == DF__ES_FAILED || s == DF__ES_TIMED_OUT || s == DF__ES_STOPPED;
}

static const char *const df__es_names[] = {"PENDING", "RUNNING", "SUSPENDED", "SUCCEEDED",
                                           "FAILED",  "TIMED_OUT", "STOPPED", "NONDETERMINISM",
                                           "QUARANTINED", "VERSION_MISSING", "PAUSED"};

const char *df__exec_status_name(int s)
{
        if (s < 0 || s > DF__ES_PAUSED)
                return "UNKNOWN";
        return df__es_names[s];
}

int df__exec_status_parse(const char *s)
{
        int i;
        for (i = 0; i <= DF__ES_PAUSED; i++)
                if (!strcasecmp(s, df__es_names[i]))
                        return i;
        return -1;
}

const char *df__op_status_name(int s)
{
        static const char *const n[] = {"STARTED", "PENDING", "SUCCEEDED", "FAILED", "TIMED_OUT"};
        if (s < 0 || s > DF__OS_TIMED_OUT)
                return "UNKNOWN";
        return n[s];
}

const char *df__op_type_name(int t)
{
        static const char *const n[] = {"STEP", "WAIT", "CALLBACK", "CHILD", "INVOKE", "PARALLEL", "MAP", "CONDITION"};
        if (t < 0 || t > DF__OP_CONDITION)
                return "UNKNOWN";
        return n[t];
}
