/*
 * console_index.c -- the console's index: a RocksDB store of the records
 * read from <prefix>.state and <prefix>.dlq, its secondary indexes and
 * counters, and the queries the HTTP API answers.  Layout: console_int.h.
 *
 * Ingest: a batch gathers the executions its records touch, each loaded
 * once (execution record and operations, one seek); at commit the
 * secondary keys of each execution are computed from its final records and
 * the difference with the keys it had is written, with the records, the
 * counters and the consumed offsets, in one RocksDB write batch: the index
 * and its offsets never disagree.  Several threads may ingest at once, each
 * with its own batches over its own partitions (an execution's records are
 * all on one partition): only the counters are shared, updated with the
 * write under the index's commit lock.
 *
 * Queries (any thread) read the store through RocksDB's own thread safety;
 * a read lock keeps the database open while a wipe (rebuild) replaces it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rocksdb/c.h>

#include "console_int.h"
#include "schedule.h"

struct df__cidx {
        char *path;
        char *outcome_field;
        rocksdb_t *db;
        rocksdb_options_t *opts;
        rocksdb_readoptions_t *ro;
        rocksdb_writeoptions_t *wo;
        pthread_rwlock_t lock; /* db pointer: queries read-lock, wipe write-locks */
        pthread_mutex_t commit_lock; /* counters and the write of a batch (several ingesting threads) */
        uint64_t commits;            /* batches written (atomic): a batch's iterator older than one
                                      * is renewed (what it cannot see, a seek steps over) */
        df__map_t *counters;   /* name -> int64_t* (under commit_lock) */
};

/* ------------------------------------------------------------------ */
/* small helpers                                                        */

typedef struct kb {
        char *p;
        size_t n, cap;
} kb_t;

static int kb_put(kb_t *k, const void *d, size_t n)
{
        if (k->n + n > k->cap) {
                size_t cap = k->cap ? k->cap : 64;
                char *p;
                while (cap < k->n + n)
                        cap *= 2;
                p = realloc(k->p, cap);
                if (!p)
                        return -1;
                k->p = p;
                k->cap = cap;
        }
        if (n)
                memcpy(k->p + k->n, d, n);
        k->n += n;
        return 0;
}

static int kb_u8(kb_t *k, int v)
{
        unsigned char c = (unsigned char)v;
        return kb_put(k, &c, 1);
}

static int kb_be64(kb_t *k, int64_t v)
{
        unsigned char b[8];
        uint64_t u = v < 0 ? 0 : (uint64_t)v;
        int i;
        for (i = 7; i >= 0; i--, u >>= 8)
                b[i] = (unsigned char)(u & 0xff);
        return kb_put(k, b, 8);
}

static int kb_be32(kb_t *k, uint32_t u)
{
        unsigned char b[4] = {(unsigned char)(u >> 24), (unsigned char)(u >> 16), (unsigned char)(u >> 8),
                              (unsigned char)u};
        return kb_put(k, b, 4);
}

static int kb_str(kb_t *k, const char *s)
{
        return kb_put(k, s, strlen(s));
}

static uint64_t rd_be64(const void *p)
{
        const unsigned char *b = p;
        uint64_t u = 0;
        int i;
        for (i = 0; i < 8; i++)
                u = (u << 8) | b[i];
        return u;
}

static void le64_put(char b[8], int64_t v)
{
        uint64_t u = (uint64_t)v;
        int i;
        for (i = 0; i < 8; i++, u >>= 8)
                b[i] = (char)(u & 0xff);
}

static int64_t le64_get(const char *p, size_t n)
{
        uint64_t u = 0;
        int i;
        if (n != 8)
                return 0;
        for (i = 7; i >= 0; i--)
                u = (u << 8) | (unsigned char)p[i];
        return (int64_t)u;
}

/* Sort key of an op id: each dot-separated number as 4 big-endian bytes;
 * anything else (a future scheme) as FFFFFFFE + its bytes padded to 4. */
static int opsort(const char *op_id, kb_t *k)
{
        const char *p = op_id;
        if (!*p)
                goto raw;
        while (*p) {
                char *end;
                unsigned long v;
                if (*p < '0' || *p > '9')
                        goto raw;
                errno = 0;
                v = strtoul(p, &end, 10);
                if (errno || v > 0xFFFFFFF0UL || (*end && *end != '.') || (*end == '.' && !end[1]))
                        goto raw;
                if (kb_be32(k, (uint32_t)v))
                        return -1;
                p = *end ? end + 1 : end;
        }
        return 0;
raw:
        k->n = 0;
        if (kb_be32(k, 0xFFFFFFFEu) || kb_str(k, op_id))
                return -1;
        while (k->n % 4)
                if (kb_u8(k, 0))
                        return -1;
        return 0;
}

/* The op id of a sort key (opsort's inverse) into buf; "" when it does not
 * fit. */
static void opsort_id(const char *p, size_t n, char *buf, size_t size)
{
        size_t o = 0, i;
        buf[0] = '\0';
        if (n % 4 || !n)
                return;
        if (((uint32_t)(unsigned char)p[0] << 24 | (uint32_t)(unsigned char)p[1] << 16 |
             (uint32_t)(unsigned char)p[2] << 8 | (uint32_t)(unsigned char)p[3]) == 0xFFFFFFFEu) { /* raw */
                size_t l = strnlen(p + 4, n - 4);
                if (l < size)
                        snprintf(buf, size, "%.*s", (int)l, p + 4);
                return;
        }
        for (i = 0; i < n; i += 4) {
                uint32_t v = (uint32_t)(unsigned char)p[i] << 24 | (uint32_t)(unsigned char)p[i + 1] << 16 |
                             (uint32_t)(unsigned char)p[i + 2] << 8 | (uint32_t)(unsigned char)p[i + 3];
                int w = snprintf(buf + o, size - o, "%s%u", i ? "." : "", v);
                if (w < 0 || (size_t)w >= size - o) {
                        buf[0] = '\0';
                        return;
                }
                o += (size_t)w;
        }
}

static const char *const df__cw_names[][2] = {
        {"t", "timer"},    {"r", "retry"},          {"c", "callback"}, {"s", "running"},
        {"h", "child"},    {"n", "nondeterminism"}, {"p", "paused"},   {"q", "quarantined"},
        {"v", "version"},  {"x", "unknown"},
};

const char *df__cw_name(int kind)
{
        size_t i;
        for (i = 0; i < sizeof(df__cw_names) / sizeof(df__cw_names[0]); i++)
                if (df__cw_names[i][0][0] == kind)
                        return df__cw_names[i][1];
        return "unknown";
}

int df__cw_parse(const char *name)
{
        size_t i;
        for (i = 0; i < sizeof(df__cw_names) / sizeof(df__cw_names[0]); i++)
                if (!strcmp(df__cw_names[i][1], name))
                        return df__cw_names[i][0][0];
        return -1;
}

/* Name of an execution status, also for one this build does not know. */
static void status_name(int s, char *buf, size_t size)
{
        const char *n = df__exec_status_name(s);
        if (!strcmp(n, "UNKNOWN"))
                snprintf(buf, size, "STATUS_%d", s);
        else
                snprintf(buf, size, "%s", n);
}

/* ------------------------------------------------------------------ */
/* open / close / wipe / meta                                          */

static int cidx_db_open(df__cidx_t *ix, char *errstr, size_t errstr_size)
{
        char *err = NULL;
        ix->db = rocksdb_open(ix->opts, ix->path, &err);
        if (!ix->db) {
                df__errf(errstr, errstr_size, "console index %s: %s", ix->path, err ? err : "cannot open");
                free(err);
                return -1;
        }
        return 0;
}

static void counters_free(void *p)
{
        free(p);
}

static int counters_load(df__cidx_t *ix)
{
        rocksdb_iterator_t *it = rocksdb_create_iterator(ix->db, ix->ro);
        df__map_clear(ix->counters, counters_free);
        for (rocksdb_iter_seek(it, "#", 1); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
                size_t kl, vl;
                const char *k = rocksdb_iter_key(it, &kl), *v;
                char name[1024];
                int64_t *c;
                int err = 0;
                if (!kl || k[0] != '#')
                        break;
                v = rocksdb_iter_value(it, &vl);
                if (kl - 1 >= sizeof(name))
                        continue;
                memcpy(name, k + 1, kl - 1);
                name[kl - 1] = '\0';
                c = malloc(sizeof(*c));
                if (!c)
                        break;
                *c = le64_get(v, vl);
                df__map_put(ix->counters, name, c, &err);
                if (err)
                        free(c);
        }
        rocksdb_iter_destroy(it);
        return 0;
}

df__cidx_t *df__cidx_open(const char *path, const char *outcome_field, char *errstr, size_t errstr_size)
{
        df__cidx_t *ix = calloc(1, sizeof(*ix));
        if (!ix) {
                df__errf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        pthread_rwlock_init(&ix->lock, NULL);
        pthread_mutex_init(&ix->commit_lock, NULL);
        ix->path = strdup(path);
        ix->outcome_field = strdup(outcome_field ? outcome_field : "");
        ix->counters = df__map_new();
        ix->opts = rocksdb_options_create();
        ix->ro = rocksdb_readoptions_create();
        ix->wo = rocksdb_writeoptions_create();
        if (!ix->path || !ix->outcome_field || !ix->counters || !ix->opts || !ix->ro || !ix->wo) {
                df__errf(errstr, errstr_size, "out of memory");
                goto fail;
        }
        rocksdb_options_set_create_if_missing(ix->opts, 1);
        rocksdb_options_set_compression(ix->opts, rocksdb_lz4_compression);
        rocksdb_options_increase_parallelism(ix->opts, 2);
        /* No write-ahead log: every batch carries its offsets, so whatever
         * state the store comes back in after a crash (the memtable lost)
         * is consistent and the follower reads on from its offsets; a clean
         * close flushes.  Writes cost half as much. */
        rocksdb_writeoptions_disable_WAL(ix->wo, 1);
        if (cidx_db_open(ix, errstr, errstr_size))
                goto fail;
        counters_load(ix);
        return ix;
fail:
        df__cidx_close(ix);
        return NULL;
}

void df__cidx_close(df__cidx_t *ix)
{
        if (!ix)
                return;
        if (ix->db)
                rocksdb_close(ix->db);
        if (ix->opts)
                rocksdb_options_destroy(ix->opts);
        if (ix->ro)
                rocksdb_readoptions_destroy(ix->ro);
        if (ix->wo)
                rocksdb_writeoptions_destroy(ix->wo);
        df__map_destroy(ix->counters, counters_free);
        pthread_rwlock_destroy(&ix->lock);
        pthread_mutex_destroy(&ix->commit_lock);
        free(ix->path);
        free(ix->outcome_field);
        free(ix);
}

int df__cidx_wipe(df__cidx_t *ix, char *errstr, size_t errstr_size)
{
        char *err = NULL;
        int rc = 0;
        pthread_rwlock_wrlock(&ix->lock);
        if (ix->db)
                rocksdb_close(ix->db);
        ix->db = NULL;
        rocksdb_destroy_db(ix->opts, ix->path, &err);
        if (err) {
                df__errf(errstr, errstr_size, "console index %s: cannot drop it: %s", ix->path, err);
                free(err);
                rc = -1;
        }
        if (cidx_db_open(ix, errstr, errstr_size))
                rc = -1;
        else
                counters_load(ix);
        pthread_rwlock_unlock(&ix->lock);
        return rc;
}

/* rocksdb_get under the read lock; NULL when absent or closed. */
static char *ix_get(df__cidx_t *ix, const char *k, size_t kl, size_t *vl)
{
        char *err = NULL, *v;
        if (!ix->db)
                return NULL;
        v = rocksdb_get(ix->db, ix->ro, k, kl, vl, &err);
        if (err) {
                df__log(DF__LOG_ERROR, "console index: read: %s", err);
                free(err);
                return NULL;
        }
        return v;
}

char *df__cidx_meta_get(df__cidx_t *ix, const char *name)
{
        char key[256], *v, *s;
        size_t vl = 0;
        snprintf(key, sizeof(key), "m%s", name);
        pthread_rwlock_rdlock(&ix->lock);
        v = ix_get(ix, key, strlen(key), &vl);
        pthread_rwlock_unlock(&ix->lock);
        s = malloc(vl + 1);
        if (s) {
                if (vl)
                        memcpy(s, v, vl);
                s[vl] = '\0';
        }
        free(v);
        return s;
}

int df__cidx_meta_put(df__cidx_t *ix, const char *name, const char *value)
{
        char key[256], *err = NULL;
        snprintf(key, sizeof(key), "m%s", name);
        pthread_rwlock_rdlock(&ix->lock);
        if (ix->db)
                rocksdb_put(ix->db, ix->wo, key, strlen(key), value, strlen(value), &err);
        pthread_rwlock_unlock(&ix->lock);
        if (err) {
                df__log(DF__LOG_ERROR, "console index: write %s: %s", key, err);
                free(err);
                return -1;
        }
        return 0;
}

int64_t df__cidx_offset(df__cidx_t *ix, char topic, int32_t part)
{
        char key[64], *v;
        size_t vl = 0;
        int64_t off = -1;
        snprintf(key, sizeof(key), "moff/%c/%d", topic, (int)part);
        pthread_rwlock_rdlock(&ix->lock);
        v = ix_get(ix, key, strlen(key), &vl);
        pthread_rwlock_unlock(&ix->lock);
        if (v && vl == 8)
                off = le64_get(v, vl);
        free(v);
        return off;
}

int64_t df__cidx_counter(df__cidx_t *ix, const char *name)
{
        char key[1100], *v;
        size_t vl = 0;
        int64_t n = 0;
        snprintf(key, sizeof(key), "#%s", name);
        pthread_rwlock_rdlock(&ix->lock);
        v = ix_get(ix, key, strlen(key), &vl);
        pthread_rwlock_unlock(&ix->lock);
        if (v)
                n = le64_get(v, vl);
        free(v);
        return n;
}

/* ------------------------------------------------------------------ */
/* what an execution's records mean for the index                       */

/* The outcome: a top-level string field of a JSON object output (at most
 * 64 bytes, printable); "" when none.  Written into buf. */
static void outcome_of(const df__cidx_t *ix, const df__buf_t *out, char *buf, size_t size)
{
        json_t *j, *f;
        const char *s;
        size_t i, n;
        buf[0] = '\0';
        if (!ix->outcome_field[0] || !out->len || out->len > 65536 || out->data[0] != '{')
                return;
        j = json_loadb((const char *)out->data, out->len, JSON_REJECT_DUPLICATES, NULL);
        f = j ? json_object_get(j, ix->outcome_field) : NULL;
        s = f ? json_string_value(f) : NULL;
        n = s ? strlen(s) : 0;
        if (s && n > 0 && n <= 64 && n < size) {
                for (i = 0; i < n; i++)
                        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
                                break;
                if (i == n)
                        memcpy(buf, s, n + 1);
        }
        json_decref(j);
}

/* What a (non-finished execution's) operation waits on; 0 = nothing. */
static int op_wait(const df__op_rec_t *op, int64_t *due)
{
        *due = 0;
        if (op->status == DF__OS_SUCCEEDED || op->status == DF__OS_FAILED || op->status == DF__OS_TIMED_OUT)
                return 0;
        switch (op->type) {
        case DF__OP_WAIT:
                if (op->status != DF__OS_PENDING)
                        return DF__CW_OTHER;
                *due = op->due_ms;
                return DF__CW_TIMER;
        case DF__OP_STEP:
                if (op->status == DF__OS_PENDING && op->due_ms > 0) {
                        *due = op->due_ms;
                        return DF__CW_RETRY;
                }
                if (op->status == DF__OS_PENDING || op->status == DF__OS_STARTED)
                        return DF__CW_RUNNING;
                return DF__CW_OTHER;
        case DF__OP_CALLBACK:
                if (op->status != DF__OS_PENDING && op->status != DF__OS_STARTED)
                        return DF__CW_OTHER;
                *due = op->due_ms;
                return DF__CW_CALLBACK;
        case DF__OP_CHILD:
        case DF__OP_PARALLEL:
        case DF__OP_MAP:
        case DF__OP_INVOKE:
                return DF__CW_CHILD;
        case DF__OP_CONDITION:
                /* between checks: a durable wait; else a check about to run */
                if (op->status == DF__OS_PENDING && op->due_ms > 0) {
                        *due = op->due_ms;
                        return DF__CW_TIMER;
                }
                return DF__CW_RUNNING;
        default:
                return DF__CW_OTHER;
        }
}

/* An operation that opens a context: what it waits on is what waits inside. */
static int op_context(int type)
{
        return type == DF__OP_CHILD || type == DF__OP_PARALLEL || type == DF__OP_MAP;
}

/* 1 when op_id is inside the context of ctx_id ("3.1.2" inside "3"). */
static int op_inside(const char *op_id, const char *ctx_id)
{
        size_t n = strlen(ctx_id);
        return !strncmp(op_id, ctx_id, n) && op_id[n] == '.';
}

/* ---- an execution in a batch ---- */
typedef struct cop {
        char *op_id;
        kb_t sort;
        df__buf_t raw;
        df__op_rec_t rec;
        int dirty;   /* P to write */
        int deleted; /* tombstoned: P to delete */
} cop_t;

typedef struct kset {
        df__buf_t *k;
        size_t n, cap;
} kset_t;

typedef struct cex {
        char *id;
        int exists, dirty, deleted;
        df__buf_t raw;
        df__exec_rec_t rec;
        cop_t *ops;
        int n_ops, cap_ops;
        kset_t old;
} cex_t;

static int kset_add(kset_t *s, const kb_t *k)
{
        size_t i;
        for (i = 0; i < s->n; i++)
                if (s->k[i].len == k->n && !memcmp(s->k[i].data, k->p, k->n))
                        return 0; /* a set */
        if (s->n == s->cap) {
                size_t cap = s->cap ? s->cap * 2 : 16;
                df__buf_t *kk = realloc(s->k, cap * sizeof(*kk));
                if (!kk)
                        return -1;
                s->k = kk;
                s->cap = cap;
        }
        memset(&s->k[s->n], 0, sizeof(s->k[s->n]));
        if (df__buf_set(&s->k[s->n], k->p, k->n))
                return -1;
        s->n++;
        return 0;
}

static void kset_clear(kset_t *s)
{
        size_t i;
        for (i = 0; i < s->n; i++)
                free(s->k[i].data);
        free(s->k);
        memset(s, 0, sizeof(*s));
}

/* Every secondary key of an execution, from its records. */
static int cex_keys(const df__cidx_t *ix, const cex_t *e, kset_t *s)
{
        kb_t k = {0};
        char outcome[80];
        int st = e->rec.status, terminal, waits = 0, i, rc = -1;
        int64_t c = e->rec.created_ms;
        const char *sname;
        const char *id = e->id;

        if (!e->exists)
                return 0;
        terminal = df__exec_status_terminal(st);
        sname = df__exec_status_name(st);
#define KEY(...)                                                         \
        do {                                                             \
                k.n = 0;                                                 \
                if ((__VA_ARGS__) || kset_add(s, &k))                    \
                        goto out;                                        \
        } while (0)
        KEY(kb_u8(&k, 'A') || kb_be64(&k, c) || kb_str(&k, id));
        KEY(kb_u8(&k, 'S') || kb_u8(&k, st < 0 ? 0 : st > 255 ? 255 : st) || kb_be64(&k, c) || kb_str(&k, id));
        KEY(kb_u8(&k, 'W') || kb_str(&k, e->rec.workflow) || kb_u8(&k, 0) || kb_be64(&k, c) || kb_str(&k, id));
        outcome_of(ix, &e->rec.output, outcome, sizeof(outcome));
        if (outcome[0])
                KEY(kb_u8(&k, 'O') || kb_str(&k, outcome) || kb_u8(&k, 0) || kb_be64(&k, c) || kb_str(&k, id));
        if (terminal)
                KEY(kb_u8(&k, 'E') || kb_be64(&k, e->rec.updated_ms) || kb_str(&k, id));
        /* by name: statuses added later (PAUSED) slot in when they land */
        if (!strcmp(sname, "NONDETERMINISM") || !strcmp(sname, "PAUSED") || !strcmp(sname, "QUARANTINED") ||
            !strcmp(sname, "VERSION_MISSING") || !strcmp(sname, "UNKNOWN")) {
                int kind = !strcmp(sname, "NONDETERMINISM")    ? DF__CW_NONDET
                           : !strcmp(sname, "PAUSED")          ? DF__CW_PAUSED
                           : !strcmp(sname, "QUARANTINED")     ? DF__CW_QUARANTINED
                           : !strcmp(sname, "VERSION_MISSING") ? DF__CW_VERSION
                                                               : DF__CW_OTHER;
                KEY(kb_u8(&k, 'K') || kb_u8(&k, kind) || kb_be64(&k, c) || kb_str(&k, id));
                KEY(kb_u8(&k, 'V') || kb_str(&k, id) || kb_u8(&k, 0) || kb_u8(&k, kind) || kb_be64(&k, 0));
                waits = 1;
        }
        if (!terminal && !waits && e->n_ops > 0) {
                /* what each operation waits on; a context (child, branch,
                 * item, parallel, map) only when nothing inside it waits */
                int *kinds = calloc((size_t)e->n_ops, sizeof(*kinds)), j;
                int64_t *dues = calloc((size_t)e->n_ops, sizeof(*dues));
                if (!kinds || !dues) {
                        free(kinds);
                        free(dues);
                        goto out;
                }
                for (i = 0; i < e->n_ops; i++)
                        if (!e->ops[i].deleted && e->ops[i].raw.len)
                                kinds[i] = op_wait(&e->ops[i].rec, &dues[i]);
                for (i = 0; i < e->n_ops; i++) {
                        const cop_t *o = &e->ops[i];
                        if (!kinds[i] || !op_context(o->rec.type))
                                continue;
                        for (j = 0; j < e->n_ops; j++)
                                if (j != i && kinds[j] && op_inside(e->ops[j].op_id, o->op_id))
                                        break;
                        if (j < e->n_ops)
                                kinds[i] = 0;
                }
                for (i = 0; i < e->n_ops; i++) {
                        const cop_t *o = &e->ops[i];
                        if (!kinds[i])
                                continue;
                        k.n = 0;
                        if (kb_u8(&k, 'K') || kb_u8(&k, kinds[i]) || kb_be64(&k, c) || kb_str(&k, id) ||
                            kset_add(s, &k))
                                break;
                        k.n = 0;
                        if (kb_u8(&k, 'V') || kb_str(&k, id) || kb_u8(&k, 0) || kb_u8(&k, kinds[i]) ||
                            kb_be64(&k, dues[i]) || kb_put(&k, o->sort.p, o->sort.n) || kset_add(s, &k))
                                break;
                }
                free(kinds);
                free(dues);
                if (i < e->n_ops)
                        goto out;
        }
#undef KEY
        rc = 0;
out:
        free(k.p);
        return rc;
}

/* Counter name of a secondary key; 0 when the key is not counted. */
static int counter_of(const df__buf_t *key, char *buf, size_t size)
{
        const char *k = (const char *)key->data;
        size_t n = key->len;
        const char *z;
        char sn[32];
        if (!n)
                return 0;
        switch (k[0]) {
        case 'A':
                snprintf(buf, size, "A");
                return 1;
        case 'S':
                status_name(n > 1 ? (unsigned char)k[1] : 0, sn, sizeof(sn));
                snprintf(buf, size, "S:%s", sn);
                return 1;
        case 'W':
        case 'O':
                z = memchr(k + 1, 0, n - 1);
                if (!z)
                        return 0;
                snprintf(buf, size, "%c:%.*s", k[0], (int)(z - k - 1), k + 1);
                return 1;
        case 'K':
                snprintf(buf, size, "K:%s", df__cw_name(n > 1 ? (unsigned char)k[1] : 0));
                return 1;
        default:
                return 0;
        }
}

/* ------------------------------------------------------------------ */
/* ingest batches                                                       */

struct df__cbatch {
        df__cidx_t *ix;
        rocksdb_writebatch_t *wb;
        rocksdb_iterator_t *it; /* reads of the executions loaded, until the commit */
        uint64_t it_commits;    /* ix->commits when it was created */
        df__map_t *execs; /* id -> cex_t* */
        df__map_t *delta; /* counter name -> int64_t* change */
        struct {
                char topic;
                int32_t part;
                int64_t next;
        } offs[512];
        int n_offs;
        size_t records;
        int failed;
        /* puts and deletes, written sorted at commit (a memtable takes
         * keys in order much faster); range deletes go first, directly */
        struct stg {
                char *k, *v;
                size_t kl, vl, seq;
                int del, dead;
        } *stg;
        size_t n_stg, cap_stg;
};

static void stage(df__cbatch_t *b, const void *k, size_t kl, const void *v, size_t vl, int del)
{
        struct stg *st;
        if (b->n_stg == b->cap_stg) {
                size_t cap = b->cap_stg ? b->cap_stg * 2 : 4096;
                struct stg *n = realloc(b->stg, cap * sizeof(*n));
                if (!n) {
                        b->failed = 1;
                        return;
                }
                b->stg = n;
                b->cap_stg = cap;
        }
        st = &b->stg[b->n_stg];
        st->k = malloc(kl + vl + 1);
        if (!st->k) {
                b->failed = 1;
                return;
        }
        memcpy(st->k, k, kl);
        st->v = st->k + kl;
        if (vl)
                memcpy(st->v, v, vl);
        st->kl = kl;
        st->vl = vl;
        st->del = del;
        st->dead = 0;
        st->seq = b->n_stg++;
}

static void stage_clear(df__cbatch_t *b)
{
        size_t i;
        for (i = 0; i < b->n_stg; i++)
                free(b->stg[i].k);
        b->n_stg = 0;
}

static int stg_cmp(const void *x, const void *y)
{
        const struct stg *a = x, *c = y;
        size_t n = a->kl < c->kl ? a->kl : c->kl;
        int r = memcmp(a->k, c->k, n);
        if (r)
                return r;
        if (a->kl != c->kl)
                return a->kl < c->kl ? -1 : 1;
        return a->seq < c->seq ? -1 : a->seq > c->seq;
}

static void cop_clear(cop_t *o)
{
        free(o->op_id);
        free(o->sort.p);
        free(o->raw.data);
        df__op_clear(&o->rec);
        memset(o, 0, sizeof(*o));
}

static void cex_free(void *p)
{
        cex_t *e = p;
        int i;
        if (!e)
                return;
        for (i = 0; i < e->n_ops; i++)
                cop_clear(&e->ops[i]);
        free(e->ops);
        free(e->id);
        free(e->raw.data);
        df__exec_clear(&e->rec);
        kset_clear(&e->old);
        free(e);
}

df__cbatch_t *df__cbatch_new(df__cidx_t *ix)
{
        df__cbatch_t *b = calloc(1, sizeof(*b));
        if (!b)
                return NULL;
        b->ix = ix;
        b->wb = rocksdb_writebatch_create();
        b->execs = df__map_new();
        b->delta = df__map_new();
        if (!b->wb || !b->execs || !b->delta) {
                df__cbatch_destroy(b);
                return NULL;
        }
        return b;
}

void df__cbatch_destroy(df__cbatch_t *b)
{
        if (!b)
                return;
        if (b->it)
                rocksdb_iter_destroy(b->it);
        if (b->wb)
                rocksdb_writebatch_destroy(b->wb);
        df__map_destroy(b->execs, cex_free);
        df__map_destroy(b->delta, counters_free);
        stage_clear(b);
        free(b->stg);
        free(b);
}

size_t df__cbatch_size(const df__cbatch_t *b)
{
        return b->records;
}

static void delta_add(df__cbatch_t *b, const char *name, int64_t d)
{
        int64_t *c = df__map_get(b->delta, name);
        int err = 0;
        if (!c) {
                c = calloc(1, sizeof(*c));
                if (!c) {
                        b->failed = 1;
                        return;
                }
                df__map_put(b->delta, name, c, &err);
                if (err) {
                        free(c);
                        b->failed = 1;
                        return;
                }
        }
        *c += d;
}

void df__cbatch_offset(df__cbatch_t *b, char topic, int32_t part, int64_t next)
{
        int i;
        for (i = 0; i < b->n_offs; i++)
                if (b->offs[i].topic == topic && b->offs[i].part == part) {
                        b->offs[i].next = next;
                        return;
                }
        if (b->n_offs < (int)(sizeof(b->offs) / sizeof(b->offs[0]))) {
                b->offs[b->n_offs].topic = topic;
                b->offs[b->n_offs].part = part;
                b->offs[b->n_offs].next = next;
                b->n_offs++;
        }
}

static cop_t *cex_op(cex_t *e, const char *op_id, int create)
{
        int i;
        cop_t *o;
        for (i = 0; i < e->n_ops; i++)
                if (!strcmp(e->ops[i].op_id, op_id))
                        return &e->ops[i];
        if (!create)
                return NULL;
        if (e->n_ops == e->cap_ops) {
                int cap = e->cap_ops ? e->cap_ops * 2 : 16;
                cop_t *ops = realloc(e->ops, (size_t)cap * sizeof(*ops));
                if (!ops)
                        return NULL;
                e->ops = ops;
                e->cap_ops = cap;
        }
        o = &e->ops[e->n_ops];
        memset(o, 0, sizeof(*o));
        o->op_id = strdup(op_id);
        if (!o->op_id || opsort(op_id, &o->sort)) {
                cop_clear(o);
                return NULL;
        }
        e->n_ops++;
        return o;
}

/* Load an execution as the store has it (first touch in a batch). */
static cex_t *cex_get(df__cbatch_t *b, const char *id)
{
        /* (perf level: set by the batch's thread in df__cbatch_commit) */
        df__cidx_t *ix = b->ix;
        cex_t *e = df__map_get(b->execs, id);
        kb_t k = {0};
        char e2[256];
        rocksdb_iterator_t *it;
        int err = 0;

        if (e)
                return e;
        e = calloc(1, sizeof(*e));
        if (!e || !(e->id = strdup(id)))
                goto fail;
        if (kb_u8(&k, DF__CK_EXEC) || kb_str(&k, id))
                goto fail;
        /* one iterator for the whole batch (the store as it was before
         * the batch: nothing of it is written until the commit), one seek
         * per execution: its Execution record, then its operations */
        if (b->it && b->it_commits != __atomic_load_n(&ix->commits, __ATOMIC_ACQUIRE)) {
                /* another thread's batch was written since: the keys it
                 * wrote are invisible to this iterator but still in the
                 * memtable, and a seek landing among them walks over each */
                rocksdb_iter_destroy(b->it);
                b->it = NULL;
        }
        if (!b->it) {
                b->it_commits = __atomic_load_n(&ix->commits, __ATOMIC_ACQUIRE);
                b->it = rocksdb_create_iterator(ix->db, ix->ro);
        }
        it = b->it;
        rocksdb_iter_seek(it, k.p, k.n);
        if (rocksdb_iter_valid(it)) {
                size_t kl, vl;
                const char *kk = rocksdb_iter_key(it, &kl), *v;
                if (kl == k.n && !memcmp(kk, k.p, k.n)) {
                        v = rocksdb_iter_value(it, &vl);
                        if (!df__exec_decode_any(v, vl, &e->rec, e2, sizeof(e2)) && !df__buf_set(&e->raw, v, vl))
                                e->exists = 1;
                        rocksdb_iter_next(it);
                }
        }
        if (kb_u8(&k, 0)) /* 'P' exec 00: the operations follow */
                goto fail;
        for (; rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
                size_t kl, ol;
                const char *kk = rocksdb_iter_key(it, &kl), *ov;
                df__op_rec_t rec;
                cop_t *o;
                if (kl < k.n || memcmp(kk, k.p, k.n))
                        break;
                ov = rocksdb_iter_value(it, &ol);
                memset(&rec, 0, sizeof(rec));
                if (df__op_decode_any(ov, ol, &rec, e2, sizeof(e2)))
                        continue;
                o = cex_op(e, rec.op_id, 1);
                if (!o || df__buf_set(&o->raw, ov, ol)) {
                        df__op_clear(&rec);
                        goto fail;
                }
                o->rec = rec;
        }
        if (cex_keys(ix, e, &e->old))
                goto fail;
        df__map_put(b->execs, id, e, &err);
        if (err)
                goto fail;
        free(k.p);
        return e;
fail:
        free(k.p);
        cex_free(e);
        b->failed = 1;
        return NULL;
}

/* Keep a record the console could not apply, as a DeadLetter 'Z' entry. */
static int keep_undecodable(df__cbatch_t *b, const void *key, size_t klen, const void *val, size_t vlen,
                            int32_t part, int64_t off, const char *why)
{
        df__dlq_rec_t d;
        df__buf_t enc = {0};
        kb_t k = {0};
        char e[256];
        int rc = -1;

        memset(&d, 0, sizeof(d));
        d.topic = "state";
        d.partition = part;
        d.offset = off;
        d.key.data = (uint8_t *)key;
        d.key.len = klen > 4096 ? 4096 : klen;
        d.value.data = (uint8_t *)val;
        d.value.len = vlen > 1048576 ? 1048576 : vlen;
        d.error = (char *)why;
        d.ts_ms = df__now_ms();
        if (df__dlq_encode(&d, &enc, e, sizeof(e))) {
                d.error = "record could not be decoded";
                if (df__dlq_encode(&d, &enc, e, sizeof(e)))
                        return 0;
        }
        if (!kb_u8(&k, 'Z') && !kb_be32(&k, (uint32_t)part) && !kb_be64(&k, off)) {
                stage(b, k.p, k.n, enc.data, enc.len, 0);
                delta_add(b, "Z", 1);
                rc = 0;
        }
        df__log(DF__LOG_WARN, "console: state record at partition %d offset %lld not applied: %s", (int)part,
                (long long)off, why);
        free(k.p);
        free(enc.data);
        return rc;
}

/* Only a change that matters makes a version (a heartbeat does not). */
static int op_version_differs(const df__op_rec_t *a, const df__op_rec_t *b)
{
        return a->status != b->status || a->attempt != b->attempt || a->due_ms != b->due_ms ||
               a->result.len != b->result.len || strcmp(a->error, b->error) || a->type != b->type ||
               strcmp(a->name, b->name);
}

/* Range-delete keys [tag id 00 rest, tag id 00 rest FF...). */
static void delete_prefix(df__cbatch_t *b, int tag, const char *id, const void *rest, size_t restlen)
{
        kb_t lo = {0}, hi = {0};
        if (!kb_u8(&lo, tag) && !kb_str(&lo, id) && !kb_u8(&lo, 0) && !kb_put(&lo, rest, restlen) &&
            !kb_put(&hi, lo.p, lo.n) && !kb_put(&hi, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 10)) {
                size_t i;
                rocksdb_writebatch_delete_range(b->wb, lo.p, lo.n, hi.p, hi.n);
                /* what this batch staged there is gone too */
                for (i = 0; i < b->n_stg; i++)
                        if (b->stg[i].kl >= lo.n && !memcmp(b->stg[i].k, lo.p, lo.n))
                                b->stg[i].dead = 1;
        } else
                b->failed = 1;
        free(lo.p);
        free(hi.p);
}

int df__cbatch_state(df__cbatch_t *b, const void *key, size_t klen, const void *val, size_t vlen, int32_t part,
                     int64_t off)
{
        char id[256], op_id[64], e2[256];
        const char *slash;
        cex_t *e;

        b->records++;
        if (!key || !klen || klen >= sizeof(id) + sizeof(op_id) || memchr(key, 0, klen) ||
            !df__utf8_valid(key, klen))
                return keep_undecodable(b, key, klen, val, vlen, part, off, "key is not an execution id");
        slash = memchr(key, '/', klen);
        if (slash) {
                size_t il = (size_t)(slash - (const char *)key), ol = klen - il - 1;
                if (il >= sizeof(id) || ol == 0 || ol >= sizeof(op_id))
                        return keep_undecodable(b, key, klen, val, vlen, part, off, "key is not <execution>/<op>");
                memcpy(id, key, il);
                id[il] = '\0';
                memcpy(op_id, slash + 1, ol);
                op_id[ol] = '\0';
        } else {
                if (klen >= sizeof(id))
                        return keep_undecodable(b, key, klen, val, vlen, part, off, "key too long");
                memcpy(id, key, klen);
                id[klen] = '\0';
                op_id[0] = '\0';
        }
        if (!df__execution_id_valid(id))
                return keep_undecodable(b, key, klen, val, vlen, part, off, "key is not a valid execution id");
        if (df__schedule_key(id))
                return 0; /* a schedule's record (schedule.c), not an execution's */
        e = cex_get(b, id);
        if (!e)
                return -1;
        if (!op_id[0]) {
                df__exec_rec_t rec;
                if (!val) { /* purged: everything of it goes */
                        int i;
                        delete_prefix(b, 'P', id, NULL, 0);
                        delete_prefix(b, 'H', id, NULL, 0);
                        for (i = 0; i < e->n_ops; i++)
                                cop_clear(&e->ops[i]);
                        e->n_ops = 0;
                        if (e->exists)
                                e->deleted = 1;
                        e->exists = 0;
                        e->dirty = 0;
                        return 0;
                }
                memset(&rec, 0, sizeof(rec));
                if (df__exec_decode_any(val, vlen, &rec, e2, sizeof(e2)))
                        return keep_undecodable(b, key, klen, val, vlen, part, off, e2);
                if (strcmp(rec.execution_id, id)) {
                        df__exec_clear(&rec);
                        return keep_undecodable(b, key, klen, val, vlen, part, off,
                                                "Execution record names another execution than its key");
                }
                df__exec_clear(&e->rec);
                e->rec = rec;
                if (df__buf_set(&e->raw, val, vlen)) {
                        b->failed = 1;
                        return -1;
                }
                e->exists = 1;
                e->dirty = 1;
                return 0;
        } else {
                df__op_rec_t rec;
                cop_t *o = cex_op(e, op_id, 1);
                kb_t k = {0};
                if (!o) {
                        b->failed = 1;
                        return -1;
                }
                if (!val) {
                        delete_prefix(b, 'H', id, o->sort.p, o->sort.n);
                        free(o->raw.data);
                        o->raw.data = NULL;
                        o->raw.len = 0;
                        o->deleted = 1;
                        o->dirty = 0;
                        return 0;
                }
                memset(&rec, 0, sizeof(rec));
                if (df__op_decode_any(val, vlen, &rec, e2, sizeof(e2)))
                        return keep_undecodable(b, key, klen, val, vlen, part, off, e2);
                if (strcmp(rec.execution_id, id) || strcmp(rec.op_id, op_id)) {
                        df__op_clear(&rec);
                        return keep_undecodable(b, key, klen, val, vlen, part, off,
                                                "Operation record names another operation than its key");
                }
                if (!o->raw.len || o->deleted || op_version_differs(&o->rec, &rec)) {
                        if (!kb_u8(&k, 'H') && !kb_str(&k, id) && !kb_u8(&k, 0) && !kb_put(&k, o->sort.p, o->sort.n) &&
                            !kb_be32(&k, 0xFFFFFFFFu) && !kb_be64(&k, off))
                                stage(b, k.p, k.n, val, vlen, 0);
                        free(k.p);
                }
                df__op_clear(&o->rec);
                o->rec = rec;
                if (df__buf_set(&o->raw, val, vlen)) {
                        b->failed = 1;
                        return -1;
                }
                o->deleted = 0;
                o->dirty = 1;
                return 0;
        }
}

int df__cbatch_dlq(df__cbatch_t *b, const void *key, size_t klen, const void *val, size_t vlen, int32_t part,
                   int64_t off, int64_t ts_ms)
{
        kb_t k = {0};
        df__dlq_rec_t d;
        char e[256];
        int rc = -1;

        b->records++;
        memset(&d, 0, sizeof(d));
        if (!val || df__dlq_decode(val, vlen, &d, e, sizeof(e))) {
                /* not a DeadLetter record: keep what arrived */
                df__buf_t enc = {0};
                df__dlq_rec_t w;
                memset(&w, 0, sizeof(w));
                w.topic = "dlq";
                w.partition = part;
                w.offset = off;
                w.key.data = (uint8_t *)key;
                w.key.len = klen > 4096 ? 4096 : klen;
                w.value.data = (uint8_t *)val;
                w.value.len = vlen > 1048576 ? 1048576 : vlen;
                w.error = val ? e : "tombstone";
                w.ts_ms = ts_ms;
                if (df__dlq_encode(&w, &enc, e, sizeof(e)))
                        return 0;
                if (!kb_u8(&k, 'Q') && !kb_be64(&k, ts_ms) && !kb_be32(&k, (uint32_t)part) && !kb_be64(&k, off)) {
                        stage(b, k.p, k.n, enc.data, enc.len, 0);
                        delta_add(b, "Q", 1);
                        rc = 0;
                }
                free(enc.data);
                free(k.p);
                return rc;
        }
        df__dlq_clear(&d);
        if (!kb_u8(&k, 'Q') && !kb_be64(&k, ts_ms) && !kb_be32(&k, (uint32_t)part) && !kb_be64(&k, off)) {
                stage(b, k.p, k.n, val, vlen, 0);
                delta_add(b, "Q", 1);
                rc = 0;
        }
        free(k.p);
        return rc;
}

static int buf_cmp(const void *x, const void *y)
{
        const df__buf_t *a = x, *b = y;
        size_t n = a->len < b->len ? a->len : b->len;
        int c = memcmp(a->data, b->data, n);
        return c ? c : (a->len < b->len ? -1 : a->len > b->len);
}

struct commit_ctx {
        df__cbatch_t *b;
};

static void commit_one(const char *id, void *val, void *opaque)
{
        struct commit_ctx *cc = opaque;
        df__cbatch_t *b = cc->b;
        cex_t *e = val;
        kset_t now = {0};
        size_t i = 0, j = 0;
        kb_t k = {0};
        char cn[1100];
        int n;

        (void)id;
        if (b->failed)
                return;
        if (cex_keys(b->ix, e, &now)) {
                b->failed = 1;
                return;
        }
        if (e->old.n)
                qsort(e->old.k, e->old.n, sizeof(df__buf_t), buf_cmp);
        if (now.n)
                qsort(now.k, now.n, sizeof(df__buf_t), buf_cmp);
        while (i < e->old.n || j < now.n) {
                int c = i >= e->old.n ? 1 : j >= now.n ? -1 : buf_cmp(&e->old.k[i], &now.k[j]);
                if (c < 0) {
                        stage(b, e->old.k[i].data, e->old.k[i].len, NULL, 0, 1);
                        if (counter_of(&e->old.k[i], cn, sizeof(cn)))
                                delta_add(b, cn, -1);
                        i++;
                } else if (c > 0) {
                        stage(b, now.k[j].data, now.k[j].len, NULL, 0, 0);
                        if (counter_of(&now.k[j], cn, sizeof(cn)))
                                delta_add(b, cn, 1);
                        j++;
                } else {
                        i++;
                        j++;
                }
        }
        kset_clear(&now);
        if (kb_u8(&k, DF__CK_EXEC) || kb_str(&k, e->id)) {
                b->failed = 1;
                free(k.p);
                return;
        }
        if (e->exists && e->dirty)
                stage(b, k.p, k.n, e->raw.data, e->raw.len, 0);
        else if (!e->exists && e->deleted)
                stage(b, k.p, k.n, NULL, 0, 1);
        for (n = 0; n < e->n_ops; n++) {
                cop_t *o = &e->ops[n];
                k.n = 0;
                if (kb_u8(&k, 'P') || kb_str(&k, e->id) || kb_u8(&k, 0) || kb_put(&k, o->sort.p, o->sort.n)) {
                        b->failed = 1;
                        break;
                }
                if (o->deleted)
                        stage(b, k.p, k.n, NULL, 0, 1);
                else if (o->dirty)
                        stage(b, k.p, k.n, o->raw.data, o->raw.len, 0);
        }
        free(k.p);
}

struct delta_ctx {
        df__cbatch_t *b;
};

static void delta_one(const char *name, void *val, void *opaque)
{
        struct delta_ctx *dc = opaque;
        df__cidx_t *ix = dc->b->ix;
        int64_t d = *(int64_t *)val, *c = df__map_get(ix->counters, name);
        char key[1100], v[8];
        int err = 0;
        if (!d)
                return;
        if (!c) {
                c = calloc(1, sizeof(*c));
                if (!c) {
                        dc->b->failed = 1;
                        return;
                }
                df__map_put(ix->counters, name, c, &err);
                if (err) {
                        free(c);
                        dc->b->failed = 1;
                        return;
                }
        }
        *c += d;
        snprintf(key, sizeof(key), "#%s", name);
        /* straight into the write batch: one key per counter and batch,
         * after the sorted rest (the commit lock is held) */
        if (*c <= 0) {
                rocksdb_writebatch_delete(dc->b->wb, key, strlen(key));
                *c = 0;
        } else {
                le64_put(v, *c);
                rocksdb_writebatch_put(dc->b->wb, key, strlen(key), v, 8);
        }
}

int df__cbatch_commit(df__cbatch_t *b, char *errstr, size_t errstr_size)
{
        struct commit_ctx cc = {b};
        struct delta_ctx dc = {b};
        char *err = NULL;
        int i, rc = 0;

        rocksdb_set_perf_level(1); /* this thread: no per-comparison counters (a TLS access each) */
        if (b->it) {
                rocksdb_iter_destroy(b->it);
                b->it = NULL;
        }
        df__map_foreach(b->execs, commit_one, &cc);
        for (i = 0; i < b->n_offs; i++) {
                char key[64], v[8];
                snprintf(key, sizeof(key), "moff/%c/%d", b->offs[i].topic, (int)b->offs[i].part);
                le64_put(v, b->offs[i].next);
                stage(b, key, strlen(key), v, 8, 0);
        }
        if (!b->failed) {
                size_t j;
                if (b->n_stg)
                        qsort(b->stg, b->n_stg, sizeof(*b->stg), stg_cmp);
                for (j = 0; j < b->n_stg; j++) {
                        struct stg *st = &b->stg[j];
                        /* the last write of a key wins */
                        if (st->dead || (j + 1 < b->n_stg && b->stg[j + 1].kl == st->kl &&
                                         !memcmp(b->stg[j + 1].k, st->k, st->kl)))
                                continue;
                        if (st->del)
                                rocksdb_writebatch_delete(b->wb, st->k, st->kl);
                        else
                                rocksdb_writebatch_put(b->wb, st->k, st->kl, st->v, st->vl);
                }
        }
        if (!b->failed) {
                /* the counters are the index's, shared by the batches of
                 * every ingesting thread: a batch's new values and its
                 * write go together, in the order of the commits */
                pthread_mutex_lock(&b->ix->commit_lock);
                df__map_foreach(b->delta, delta_one, &dc);
                if (!b->failed) {
                        pthread_rwlock_rdlock(&b->ix->lock);
                        if (b->ix->db)
                                rocksdb_write(b->ix->db, b->ix->wo, b->wb, &err);
                        pthread_rwlock_unlock(&b->ix->lock);
                        __atomic_add_fetch(&b->ix->commits, 1, __ATOMIC_RELEASE);
                }
                pthread_mutex_unlock(&b->ix->commit_lock);
        }
        if (b->failed) {
                df__errf(errstr, errstr_size, "console index: out of memory building a batch");
                rc = -1;
        } else {
                if (err) {
                        df__errf(errstr, errstr_size, "console index: write: %s", err);
                        free(err);
                        rc = -1;
                }
        }
        rocksdb_writebatch_clear(b->wb);
        stage_clear(b);
        df__map_clear(b->execs, cex_free);
        df__map_clear(b->delta, counters_free);
        b->n_offs = 0;
        b->records = 0;
        b->failed = 0;
        return rc;
}

/* ------------------------------------------------------------------ */
/* renderings                                                           */

char *df__b64(const void *data, size_t len, int url)
{
        static const char std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        static const char urls[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        const char *tbl = url ? urls : std;
        const unsigned char *d = data;
        char *s = malloc(4 * ((len + 2) / 3) + 1);
        size_t i, o = 0;
        if (!s)
                return NULL;
        for (i = 0; i < len; i += 3) {
                uint32_t v = (uint32_t)d[i] << 16;
                if (i + 1 < len)
                        v |= (uint32_t)d[i + 1] << 8;
                if (i + 2 < len)
                        v |= d[i + 2];
                s[o++] = tbl[(v >> 18) & 63];
                s[o++] = tbl[(v >> 12) & 63];
                if (i + 1 < len)
                        s[o++] = tbl[(v >> 6) & 63];
                else if (!url)
                        s[o++] = '=';
                if (i + 2 < len)
                        s[o++] = tbl[v & 63];
                else if (!url)
                        s[o++] = '=';
        }
        s[o] = '\0';
        return s;
}

int df__b64url_decode(const char *s, df__buf_t *out)
{
        return df__b64url_decode_max(s, 8192, out);
}

int df__b64url_decode_max(const char *s, size_t max_chars, df__buf_t *out)
{
        size_t n = strlen(s), i, o = 0;
        uint32_t acc = 0;
        int bits = 0;
        uint8_t *d;
        if (n % 4 == 1 || n > max_chars)
                return -1;
        d = malloc(n * 3 / 4 + 3);
        if (!d)
                return -1;
        for (i = 0; i < n; i++) {
                char c = s[i];
                int v = c >= 'A' && c <= 'Z'   ? c - 'A'
                        : c >= 'a' && c <= 'z' ? c - 'a' + 26
                        : c >= '0' && c <= '9' ? c - '0' + 52
                        : c == '-'             ? 62
                        : c == '_'             ? 63
                                               : -1;
                if (v < 0) {
                        free(d);
                        return -1;
                }
                acc = (acc << 6) | (uint32_t)v;
                bits += 6;
                if (bits >= 8) {
                        bits -= 8;
                        d[o++] = (uint8_t)((acc >> bits) & 0xff);
                }
        }
        out->data = d;
        out->len = o;
        return 0;
}

json_t *df__cpayload_json(const void *data, size_t len, size_t max)
{
        json_t *o = json_object();
        size_t n = len > max ? max : len;
        const unsigned char *d = data;
        json_object_set_new(o, "size", json_integer((json_int_t)len));
        if (len == 0) {
                json_object_set_new(o, "encoding", json_string("utf8"));
                json_object_set_new(o, "text", json_string(""));
        } else if (df__utf8_valid(data, len) && !memchr(data, 0, len)) {
                /* cut on a character boundary */
                while (n < len && n > 0 && (d[n] & 0xC0) == 0x80)
                        n--;
                json_object_set_new(o, "encoding", json_string("utf8"));
                json_object_set_new(o, "text", json_stringn((const char *)data, n));
        } else {
                char *b = df__b64(data, n, 0);
                json_object_set_new(o, "encoding", json_string("base64"));
                json_object_set_new(o, "text", json_string(b ? b : ""));
                free(b);
        }
        json_object_set_new(o, "truncated", json_boolean(n < len));
        return o;
}

/* "Type: message" of a step error, else type "" and the whole text. */
static void error_parts(const char *err, int op_type, int op_status, json_t *o)
{
        const char *c = strstr(err, ": ");
        size_t i, n = c ? (size_t)(c - err) : 0;
        int ident = n > 0 && n <= 64;
        for (i = 0; ident && i < n; i++)
                if (!((err[i] >= 'A' && err[i] <= 'Z') || (err[i] >= 'a' && err[i] <= 'z') ||
                      (err[i] >= '0' && err[i] <= '9' && i) || err[i] == '_' || err[i] == '.'))
                        ident = 0;
        if (op_type == DF__OP_STEP && ident) {
                json_object_set_new(o, "error_type", json_stringn(err, n));
                json_object_set_new(o, "error_message", json_string(c + 2));
                return;
        }
        json_object_set_new(o, "error_type", json_string(op_status == DF__OS_TIMED_OUT  ? "TimedOut"
                                                         : op_type == DF__OP_CALLBACK ? "CallbackFailed"
                                                                                      : ""));
        json_object_set_new(o, "error_message", json_string(err));
}

static json_t *exec_summary(df__cidx_t *ix, const df__exec_rec_t *x, const char *id)
{
        json_t *o = json_object(), *w = json_array();
        char sn[32], outcome[80];
        kb_t k = {0};
        rocksdb_iterator_t *it;

        status_name(x->status, sn, sizeof(sn));
        outcome_of(ix, &x->output, outcome, sizeof(outcome));
        json_object_set_new(o, "execution_id", json_string(id));
        json_object_set_new(o, "workflow", json_string(x->workflow));
        json_object_set_new(o, "version", json_integer(x->version));
        json_object_set_new(o, "status", json_string(sn));
        json_object_set_new(o, "outcome", outcome[0] ? json_string(outcome) : json_null());
        json_object_set_new(o, "created_ms", json_integer(x->created_ms));
        json_object_set_new(o, "updated_ms", json_integer(x->updated_ms));
        json_object_set_new(o, "ended_ms", df__exec_status_terminal(x->status) ? json_integer(x->updated_ms)
                                                                              : json_null());
        json_object_set_new(o, "error", json_stringn(x->error, strlen(x->error) > 300 ? 300 : strlen(x->error)));
        json_object_set_new(o, "operations_count", json_integer(x->op_count));
        if (x->parent_id && x->parent_id[0]) /* started by an invoke */
                json_object_set_new(o, "parent", json_pack("{s:s, s:s}", "execution_id", x->parent_id, "op_id",
                                                           x->parent_op ? x->parent_op : ""));
        else
                json_object_set_new(o, "parent", json_null());
        if (x->run > 0) { /* restarted: each restart's log line */
                json_object_set_new(o, "run", json_integer(x->run));
                json_object_set_new(o, "run_log", json_string(x->run_log ? x->run_log : ""));
        }
        if (x->crash_count > 0) {
                /* worker deaths while it ran (QUARANTINED after too many) */
                json_object_set_new(o, "crash_count", json_integer(x->crash_count));
                json_object_set_new(o, "crash_op", json_string(x->crash_op ? x->crash_op : ""));
                json_object_set_new(o, "crash_attempt", json_integer(x->crash_attempt));
        }
        if (!kb_u8(&k, 'V') && !kb_str(&k, id) && !kb_u8(&k, 0)) {
                it = rocksdb_create_iterator(ix->db, ix->ro);
                for (rocksdb_iter_seek(it, k.p, k.n); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
                        size_t kl;
                        const char *kk = rocksdb_iter_key(it, &kl);
                        json_t *e;
                        if (kl < k.n + 9 || memcmp(kk, k.p, k.n))
                                break;
                        e = json_object();
                        json_object_set_new(e, "kind", json_string(df__cw_name((unsigned char)kk[k.n])));
                        json_object_set_new(e, "due_ms", rd_be64(kk + k.n + 1)
                                                             ? json_integer((json_int_t)rd_be64(kk + k.n + 1))
                                                             : json_null());
                        if (kl > k.n + 9) { /* the operation it waits in */
                                char op_id[DF__OP_ID_MAX];
                                opsort_id(kk + k.n + 9, kl - k.n - 9, op_id, sizeof(op_id));
                                if (op_id[0])
                                        json_object_set_new(e, "op_id", json_string(op_id));
                        }
                        json_array_append_new(w, e);
                }
                rocksdb_iter_destroy(it);
        }
        free(k.p);
        json_object_set_new(o, "waiting", w);
        return o;
}

/* ------------------------------------------------------------------ */
/* list                                                                 */

/* The key prefix of the most selective index the filters allow. */
static int list_prefix(const df__cquery_t *q, kb_t *pre)
{
        if (q->status >= 0)
                return kb_u8(pre, 'S') || kb_u8(pre, q->status > 255 ? 255 : q->status) ? -1 : 0;
        if (q->outcome)
                return kb_u8(pre, 'O') || kb_str(pre, q->outcome) || kb_u8(pre, 0) ? -1 : 0;
        if (q->waiting >= 0)
                return kb_u8(pre, 'K') || kb_u8(pre, q->waiting) ? -1 : 0;
        if (q->workflow)
                return kb_u8(pre, 'W') || kb_str(pre, q->workflow) || kb_u8(pre, 0) ? -1 : 0;
        return kb_u8(pre, 'A') ? -1 : 0;
}

/* Put it at the first key of the page: after the cursor, or at the start
 * of the time range in the listing's order.  0, or -1 (ENOMEM). */
static int list_seek(rocksdb_iterator_t *it, const df__cquery_t *q, const kb_t *pre, kb_t *seek, int64_t after,
                     int64_t before)
{
        if (q->cursor) {
                if (kb_put(seek, q->cursor, q->cursor_len))
                        return -1;
        } else if (kb_put(seek, pre->p, pre->n) || kb_be64(seek, q->ascending ? after : before) ||
                   (!q->ascending && kb_u8(seek, 0xff))) {
                return -1;
        }
        if (q->ascending)
                rocksdb_iter_seek(it, seek->p, seek->n);
        else
                rocksdb_iter_seek_for_prev(it, seek->p, seek->n);
        if (q->cursor && rocksdb_iter_valid(it)) {
                size_t kl;
                const char *kk = rocksdb_iter_key(it, &kl);
                if (kl == seek->n && !memcmp(kk, seek->p, kl)) {
                        if (q->ascending)
                                rocksdb_iter_next(it);
                        else
                                rocksdb_iter_prev(it);
                }
        }
        return 0;
}

/* Execution id's summary into *out when it passes the filters (NULL when
 * not, or when its record is gone or unreadable).  0, or -1 (ENOMEM). */
static int list_item(df__cidx_t *ix, const df__cquery_t *q, const char *id, json_t **out)
{
        size_t vl = 0;
        char *v;
        kb_t xk = {0};
        df__exec_rec_t x;
        char e2[256];
        int ok = 1;

        *out = NULL;
        if (kb_u8(&xk, DF__CK_EXEC) || kb_str(&xk, id)) {
                free(xk.p);
                return -1;
        }
        v = ix_get(ix, xk.p, xk.n, &vl);
        free(xk.p);
        memset(&x, 0, sizeof(x));
        if (!v || df__exec_decode_any(v, vl, &x, e2, sizeof(e2))) {
                free(v);
                return 0;
        }
        free(v);
        if (q->status >= 0 && x.status != q->status)
                ok = 0;
        if (ok && q->workflow && strcmp(x.workflow, q->workflow))
                ok = 0;
        if (ok && q->version > 0 && x.version != q->version)
                ok = 0;
        if (ok && q->outcome) {
                char oc[80];
                outcome_of(ix, &x.output, oc, sizeof(oc));
                ok = !strcmp(oc, q->outcome);
        }
        if (ok) {
                json_t *s = exec_summary(ix, &x, id);
                if (q->waiting >= 0) {
                        size_t wi;
                        json_t *wv;
                        ok = 0;
                        json_array_foreach(json_object_get(s, "waiting"), wi, wv)
                                if (df__cw_parse(json_string_value(json_object_get(wv, "kind"))) == q->waiting)
                                        ok = 1;
                }
                if (ok)
                        *out = s;
                else
                        json_decref(s);
        }
        df__exec_clear(&x);
        return 0;
}

/* res's next_cursor: the last key listed when the iteration stopped early
 * (more: at the limit or out of scan budget) inside the index, else null. */
static void list_next_cursor(json_t *res, rocksdb_iterator_t *it, const kb_t *pre, const df__buf_t *last,
                             int more)
{
        if (rocksdb_iter_valid(it) && last->len && more) {
                size_t kl;
                const char *kk = rocksdb_iter_key(it, &kl);
                if (kl >= pre->n + 8 && !memcmp(kk, pre->p, pre->n)) {
                        char *c = df__b64(last->data, last->len, 1);
                        json_object_set_new(res, "next_cursor", c ? json_string(c) : json_null());
                        free(c);
                } else {
                        json_object_set_new(res, "next_cursor", json_null());
                }
        } else {
                json_object_set_new(res, "next_cursor", json_null());
        }
}

json_t *df__cidx_list(df__cidx_t *ix, const df__cquery_t *q, int *http, char *errstr, size_t errstr_size)
{
        kb_t pre = {0}, seek = {0};
        json_t *res = NULL, *items = json_array();
        rocksdb_iterator_t *it = NULL;
        size_t scanned = 0;
        int n = 0, partial = 0;
        df__buf_t last = {0};
        int64_t after = q->started_after < 0 ? 0 : q->started_after;
        int64_t before = q->started_before;

        *http = 500;
        rocksdb_set_perf_level(1);
        pthread_rwlock_rdlock(&ix->lock);
        if (!ix->db)
                goto out;
        if (list_prefix(q, &pre))
                goto out;
        if (q->cursor && (q->cursor_len < pre.n + 8 || memcmp(q->cursor, pre.p, pre.n))) {
                *http = 400;
                df__errf(errstr, errstr_size, "cursor: does not belong to this listing (were the filters changed?)");
                goto out;
        }
        it = rocksdb_create_iterator(ix->db, ix->ro);
        if (list_seek(it, q, &pre, &seek, after, before))
                goto out;
        for (; rocksdb_iter_valid(it); q->ascending ? rocksdb_iter_next(it) : rocksdb_iter_prev(it)) {
                size_t kl, il;
                const char *kk = rocksdb_iter_key(it, &kl);
                int64_t created;
                char id[256];
                json_t *s;

                if (kl < pre.n + 8 || memcmp(kk, pre.p, pre.n))
                        break;
                created = (int64_t)rd_be64(kk + pre.n);
                if (created < after || created > before)
                        break;
                if (n >= q->limit)
                        break;
                if (scanned >= q->scan_budget) {
                        partial = 1;
                        break;
                }
                scanned++;
                free(last.data);
                last.data = NULL;
                if (df__buf_set(&last, kk, kl))
                        goto out;
                il = kl - pre.n - 8;
                if (il >= sizeof(id))
                        continue;
                memcpy(id, kk + pre.n + 8, il);
                id[il] = '\0';
                if (q->q && !strstr(id, q->q))
                        continue;
                if (list_item(ix, q, id, &s))
                        goto out;
                if (s) {
                        json_array_append_new(items, s);
                        n++;
                }
        }
        res = json_object();
        json_object_set_new(res, "items", items);
        items = NULL;
        /* a next page exists when the iteration stopped early */
        list_next_cursor(res, it, &pre, &last, n >= q->limit || partial);
        json_object_set_new(res, "scanned", json_integer((json_int_t)scanned));
        json_object_set_new(res, "partial", json_boolean(partial));
        *http = 200;
out:
        if (it)
                rocksdb_iter_destroy(it);
        pthread_rwlock_unlock(&ix->lock);
        json_decref(items);
        free(pre.p);
        free(seek.p);
        free(last.data);
        if (!res && *http == 500)
                df__errf(errstr, errstr_size, "console index unavailable");
        return res;
}

json_t *df__cidx_counts(df__cidx_t *ix)
{
        json_t *o = json_object(), *st = json_object(), *oc = json_object(), *wt = json_object(),
               *wf = json_object();
        rocksdb_iterator_t *it;
        json_int_t total = 0, dlq = 0, undec = 0;

        pthread_rwlock_rdlock(&ix->lock);
        if (ix->db) {
                it = rocksdb_create_iterator(ix->db, ix->ro);
                for (rocksdb_iter_seek(it, "#", 1); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
                        size_t kl, vl;
                        const char *k = rocksdb_iter_key(it, &kl), *v = rocksdb_iter_value(it, &vl);
                        json_int_t n = (json_int_t)le64_get(v, vl);
                        if (!kl || k[0] != '#')
                                break;
                        if (kl == 2 && k[1] == 'A')
                                total = n;
                        else if (kl == 2 && k[1] == 'Q')
                                dlq = n;
                        else if (kl == 2 && k[1] == 'Z')
                                undec = n;
                        else if (kl > 3 && k[2] == ':') {
                                json_t *dst = k[1] == 'S' ? st : k[1] == 'O' ? oc : k[1] == 'K' ? wt
                                              : k[1] == 'W'                   ? wf
                                                                              : NULL;
                                char name[1024];
                                if (dst && kl - 3 < sizeof(name)) {
                                        memcpy(name, k + 3, kl - 3);
                                        name[kl - 3] = '\0';
                                        json_object_set_new(dst, name, json_integer(n));
                                }
                        }
                }
                rocksdb_iter_destroy(it);
        }
        pthread_rwlock_unlock(&ix->lock);
        json_object_set_new(o, "total", json_integer(total));
        json_object_set_new(o, "status", st);
        json_object_set_new(o, "outcome", oc);
        json_object_set_new(o, "waiting", wt);
        json_object_set_new(o, "workflow", wf);
        json_object_set_new(o, "dlq", json_integer(dlq));
        json_object_set_new(o, "undecodable", json_integer(undec));
        return o;
}

/* ------------------------------------------------------------------ */
/* one execution                                                        */

typedef struct vers {
        df__op_rec_t *v;
        size_t n, cap;
} vers_t;

/* Attempts of a step, from the versions of its record. */
static json_t *step_attempts(const vers_t *vs, const df__op_rec_t *latest)
{
        json_t *a = json_array();
        int64_t start = latest->started_ms;
        int last_pushed = 0;
        size_t i;
        for (i = 0; i < vs->n; i++) {
                const df__op_rec_t *v = &vs->v[i];
                json_t *o;
                const char *outcome = NULL;
                if (v->status == DF__OS_STARTED) {
                        start = v->updated_ms;
                        if (i + 1 == vs->n)
                                outcome = "running";
                        else
                                continue;
                } else if (v->status == DF__OS_PENDING && v->due_ms > 0 && v->error[0]) {
                        outcome = "failed";
                } else if (v->status == DF__OS_SUCCEEDED) {
                        outcome = "succeeded";
                } else if (v->status == DF__OS_FAILED) {
                        outcome = "failed";
                } else {
                        continue;
                }
                if (v->attempt == last_pushed && strcmp(outcome, "running"))
                        continue;
                o = json_object();
                json_object_set_new(o, "attempt", json_integer(v->attempt));
                json_object_set_new(o, "started_ms", json_integer(start));
                json_object_set_new(o, "ended_ms", strcmp(outcome, "running") ? json_integer(v->updated_ms)
                                                                                : json_null());
                json_object_set_new(o, "outcome", json_string(outcome));
                if (!strcmp(outcome, "failed")) {
                        json_object_set_new(o, "error", json_string(v->error));
                        error_parts(v->error, DF__OP_STEP, v->status, o);
                }
                if (v->status == DF__OS_PENDING) {
                        json_object_set_new(o, "backoff_until_ms", json_integer(v->due_ms));
                        start = v->due_ms;
                }
                json_array_append_new(a, o);
                last_pushed = v->attempt;
        }
        if (latest->status == DF__OS_PENDING && latest->due_ms > 0) {
                json_t *o = json_object();
                json_object_set_new(o, "attempt", json_integer(latest->attempt + 1));
                json_object_set_new(o, "started_ms", json_integer(latest->due_ms));
                json_object_set_new(o, "ended_ms", json_null());
                json_object_set_new(o, "outcome", json_string("scheduled"));
                json_array_append_new(a, o);
        }
        return a;
}

static json_t *op_json(const df__op_rec_t *op, const vers_t *vs, const df__crender_t *r)
{
        json_t *o = json_object();
        const char *st = df__op_status_name(op->status), *ty = df__op_type_name(op->type);
        char b1[32], b2[32];
        if (!strcmp(st, "UNKNOWN"))
                snprintf(b1, sizeof(b1), "STATUS_%d", op->status), st = b1;
        if (!strcmp(ty, "UNKNOWN"))
                snprintf(b2, sizeof(b2), "TYPE_%d", op->type), ty = b2;
        json_object_set_new(o, "op_id", json_string(op->op_id));
        json_object_set_new(o, "parent_id", json_string(op->parent_id));
        json_object_set_new(o, "name", json_string(op->name));
        json_object_set_new(o, "type", json_string(ty));
        json_object_set_new(o, "status", json_string(st));
        json_object_set_new(o, "attempt", json_integer(op->attempt));
        json_object_set_new(o, "started_ms", json_integer(op->started_ms));
        json_object_set_new(o, "updated_ms", json_integer(op->updated_ms));
        json_object_set_new(o, "due_ms", op->due_ms ? json_integer(op->due_ms) : json_null());
        json_object_set_new(o, "ended_ms", op->status == DF__OS_SUCCEEDED || op->status == DF__OS_FAILED ||
                                                   op->status == DF__OS_TIMED_OUT
                                               ? json_integer(op->updated_ms)
                                               : json_null());
        json_object_set_new(o, "result", df__cpayload_json(op->result.data, op->result.len, r->payload_max));
        json_object_set_new(o, "error", json_string(op->error));
        if (op->error[0])
                error_parts(op->error, op->type, op->status, o);
        if (op->type == DF__OP_CALLBACK) {
                json_object_set_new(o, "timeout_at_ms", op->due_ms ? json_integer(op->due_ms) : json_null());
                json_object_set_new(o, "heartbeat_timeout_ms", json_integer(op->hb_timeout_ms));
                if (r->show_callbacks)
                        json_object_set_new(o, "callback_id", json_string(op->callback_id));
        }
        if (op->type == DF__OP_STEP)
                json_object_set_new(o, "attempts", step_attempts(vs, op));
        if (op_context(op->type)) /* its context's operations: "<op id>.1" .. */
                json_object_set_new(o, "child_count", json_integer(op->child_count));
        if (op->type == DF__OP_INVOKE) /* the child execution it started */
                json_object_set_new(o, "child_execution_id", json_string(op->child_id ? op->child_id : ""));
        json_object_set_new(o, "versions", json_integer((json_int_t)vs->n));
        return o;
}

static int vers_push(vers_t *vs, const df__op_rec_t *rec)
{
        if (vs->n == vs->cap) {
                size_t cap = vs->cap ? vs->cap * 2 : 8;
                df__op_rec_t *v = realloc(vs->v, cap * sizeof(*v));
                if (!v)
                        return -1;
                vs->v = v;
                vs->cap = cap;
        }
        vs->v[vs->n++] = *rec;
        return 0;
}

static void vers_clear(vers_t *vs)
{
        size_t i;
        for (i = 0; i < vs->n; i++)
                df__op_clear(&vs->v[i]);
        free(vs->v);
        memset(vs, 0, sizeof(*vs));
}

/* The execution record of id (decoded), under the read lock. 0 or -1. */
static int load_exec(df__cidx_t *ix, const char *id, df__exec_rec_t *x)
{
        kb_t k = {0};
        char *v, e2[256];
        size_t vl = 0;
        int rc = -1;
        memset(x, 0, sizeof(*x));
        if (kb_u8(&k, DF__CK_EXEC) || kb_str(&k, id))
                goto out;
        v = ix_get(ix, k.p, k.n, &vl);
        if (v && !df__exec_decode_any(v, vl, x, e2, sizeof(e2)))
                rc = 0;
        free(v);
out:
        free(k.p);
        return rc;
}

/* Callback ids are capabilities: a reader without the token must not find
 * them in a payload either (a submitter step's result often echoes the id
 * it handed out).  Replaces each occurrence in every string of j. */
#define DF__CB_HIDDEN "[callback id: shown to a token holder]"
static void redact(json_t *j, char *const *ids, int n)
{
        const char *key;
        json_t *v;
        size_t i;
        int k;
        if (json_is_object(j)) {
                json_object_foreach(j, key, v) redact(v, ids, n);
        } else if (json_is_array(j)) {
                json_array_foreach(j, i, v) redact(v, ids, n);
        } else if (json_is_string(j)) {
                for (k = 0; k < n; k++) {
                        const char *s = json_string_value(j), *hit = strstr(s, ids[k]);
                        size_t il = strlen(ids[k]);
                        kb_t out = {0};
                        if (!hit || !il)
                                continue;
                        while (hit) {
                                if (kb_put(&out, s, (size_t)(hit - s)) || kb_str(&out, DF__CB_HIDDEN))
                                        break;
                                s = hit + il;
                                hit = strstr(s, ids[k]);
                        }
                        if (!kb_str(&out, s))
                                json_string_setn(j, out.p, out.n);
                        free(out.p);
                }
        }
}

/* The callback ids of an execution's operations (malloc'd array of strdup'd). */
static int callback_ids(df__cidx_t *ix, const char *id, char ***out)
{
        kb_t k = {0};
        rocksdb_iterator_t *it;
        char **ids = NULL, e2[256];
        int n = 0;
        if (kb_u8(&k, 'P') || kb_str(&k, id) || kb_u8(&k, 0)) {
                free(k.p);
                return 0;
        }
        it = rocksdb_create_iterator(ix->db, ix->ro);
        for (rocksdb_iter_seek(it, k.p, k.n); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
                size_t kl, vl;
                const char *kk = rocksdb_iter_key(it, &kl), *v;
                df__op_rec_t op;
                if (kl < k.n || memcmp(kk, k.p, k.n))
                        break;
                v = rocksdb_iter_value(it, &vl);
                memset(&op, 0, sizeof(op));
                if (df__op_decode_any(v, vl, &op, e2, sizeof(e2)))
                        continue;
                if (op.callback_id[0] && strlen(op.callback_id) >= 16) {
                        char **x = realloc(ids, (size_t)(n + 1) * sizeof(*ids));
                        if (x) {
                                ids = x;
                                ids[n] = strdup(op.callback_id);
                                if (ids[n])
                                        n++;
                        }
                }
                df__op_clear(&op);
        }
        rocksdb_iter_destroy(it);
        free(k.p);
        *out = ids;
        return n;
}

/* The earlier versions of the operation whose opsort is op[0..sl) into vs,
 * from the H records at hit (advanced past them; H id 00 opsort FFFFFFFF
 * off8, hk the "H id 00" prefix). */
static void describe_versions(rocksdb_iterator_t *hit, const kb_t *hk, const char *op, size_t sl, vers_t *vs)
{
        char e2[256];

        for (; rocksdb_iter_valid(hit); rocksdb_iter_next(hit)) {
                size_t hl, hvl;
                const char *hh = rocksdb_iter_key(hit, &hl), *hv;
                df__op_rec_t ver;
                int c;
                if (hl < hk->n + 12 || memcmp(hh, hk->p, hk->n))
                        break;
                c = memcmp(hh + hk->n, op, hl - hk->n - 12 < sl ? hl - hk->n - 12 : sl);
                if (c > 0 || (c == 0 && hl - hk->n - 12 > sl))
                        break; /* a later op */
                if (c < 0 || hl - hk->n - 12 < sl)
                        continue; /* an op without a P record */
                hv = rocksdb_iter_value(hit, &hvl);
                memset(&ver, 0, sizeof(ver));
                if (!df__op_decode_any(hv, hvl, &ver, e2, sizeof(e2)) && vers_push(vs, &ver))
                        df__op_clear(&ver);
        }
}

/* The first failed operation, with the operations before it. */
static json_t *describe_op_failure(const df__op_rec_t *op, json_t *before)
{
        json_t *failure = json_object();
        json_object_set_new(failure, "op_id", json_string(op->op_id));
        json_object_set_new(failure, "name", json_string(op->name));
        json_object_set_new(failure, "type", json_string(df__op_type_name(op->type)));
        json_object_set_new(failure, "status", json_string(df__op_status_name(op->status)));
        json_object_set_new(failure, "attempt", json_integer(op->attempt));
        json_object_set_new(failure, "at_ms", json_integer(op->updated_ms));
        json_object_set_new(failure, "error", json_string(op->error));
        error_parts(op->error, op->type, op->status, failure);
        json_object_set(failure, "before", before);
        return failure;
}

/* An operation before the first failed one. */
static json_t *describe_before(const df__op_rec_t *op, const df__crender_t *r)
{
        json_t *b = json_object();
        json_object_set_new(b, "op_id", json_string(op->op_id));
        json_object_set_new(b, "name", json_string(op->name));
        json_object_set_new(b, "type", json_string(df__op_type_name(op->type)));
        json_object_set_new(b, "status", json_string(df__op_status_name(op->status)));
        json_object_set_new(b, "result", df__cpayload_json(op->result.data, op->result.len, r->payload_max));
        return b;
}

/* Details of what it waits on now (the entries name their operation). */
static void describe_waiting(json_t *waiting, const df__op_rec_t *op, const df__crender_t *r)
{
        size_t wi;
        json_t *wv;
        json_array_foreach(waiting, wi, wv)
                {
                        const char *wop = json_string_value(json_object_get(wv, "op_id"));
                        if (!wop || strcmp(wop, op->op_id) || json_object_get(wv, "name"))
                                continue;
                        json_object_set_new(wv, "name", json_string(op->name));
                        json_object_set_new(wv, "since_ms", json_integer(op->updated_ms));
                        json_object_set_new(wv, "attempt", json_integer(op->attempt));
                        if (op->error[0])
                                json_object_set_new(wv, "last_error", json_string(op->error));
                        json_object_set_new(wv, "type", json_string(df__op_type_name(op->type)));
                        if (op->type == DF__OP_INVOKE)
                                json_object_set_new(wv, "child_execution_id", json_string(op->child_id));
                        if (op->type == DF__OP_CALLBACK) {
                                json_object_set_new(wv, "started_ms", json_integer(op->started_ms));
                                json_object_set_new(wv, "heartbeat_timeout_ms", json_integer(op->hb_timeout_ms));
                                if (r->show_callbacks)
                                        json_object_set_new(wv, "callback_id", json_string(op->callback_id));
                        }
                        break;
                }
}

/* An execution that failed outside any operation. */
static json_t *describe_exec_failure(const df__exec_rec_t *x, json_t *before)
{
        json_t *failure = json_object();
        json_object_set_new(failure, "op_id", json_null());
        json_object_set_new(failure, "at_ms", json_integer(x->updated_ms));
        json_object_set_new(failure, "error", json_string(x->error));
        json_object_set_new(failure, "error_type", json_string(df__exec_status_name(x->status)));
        json_object_set_new(failure, "error_message", json_string(x->error));
        json_object_set(failure, "before", before);
        return failure;
}

/* Callback ids are capabilities: every one of execution id's is cut out of o. */
static void describe_redact(df__cidx_t *ix, const char *id, json_t *o)
{
        char **ids = NULL;
        int n = callback_ids(ix, id, &ids), i;
        if (n)
                redact(o, ids, n);
        for (i = 0; i < n; i++)
                free(ids[i]);
        free(ids);
}

json_t *df__cidx_describe(df__cidx_t *ix, const char *id, const df__crender_t *r, int *http)
{
        df__exec_rec_t x;
        json_t *o = NULL, *ops, *waiting, *failure = json_null(), *before = json_array(), *children = json_array();
        kb_t k = {0}, hk = {0};
        rocksdb_iterator_t *it = NULL, *hit = NULL;
        char e2[256];
        int found_failure = 0;

        *http = 404;
        rocksdb_set_perf_level(1);
        pthread_rwlock_rdlock(&ix->lock);
        if (!ix->db || !df__execution_id_valid(id) || load_exec(ix, id, &x)) {
                pthread_rwlock_unlock(&ix->lock);
                json_decref(failure);
                json_decref(before);
                json_decref(children);
                return NULL;
        }
        *http = 200;
        o = exec_summary(ix, &x, id);
        waiting = json_object_get(o, "waiting");
        json_object_set_new(o, "input", df__cpayload_json(x.input.data, x.input.len, r->payload_max));
        json_object_set_new(o, "output", df__cpayload_json(x.output.data, x.output.len, r->payload_max));
        json_object_set_new(o, "error", json_string(x.error));
        ops = json_array();
        if (kb_u8(&k, 'P') || kb_str(&k, id) || kb_u8(&k, 0) || kb_u8(&hk, 'H') || kb_str(&hk, id) ||
            kb_u8(&hk, 0))
                goto out;
        it = rocksdb_create_iterator(ix->db, ix->ro);
        hit = rocksdb_create_iterator(ix->db, ix->ro);
        rocksdb_iter_seek(hit, hk.p, hk.n);
        for (rocksdb_iter_seek(it, k.p, k.n); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
                size_t kl, vl, sl;
                const char *kk = rocksdb_iter_key(it, &kl), *v;
                df__op_rec_t op;
                vers_t vs = {0};
                json_t *j;
                if (kl < k.n || memcmp(kk, k.p, k.n))
                        break;
                sl = kl - k.n; /* opsort */
                v = rocksdb_iter_value(it, &vl);
                memset(&op, 0, sizeof(op));
                if (df__op_decode_any(v, vl, &op, e2, sizeof(e2)))
                        continue;
                describe_versions(hit, &hk, kk + k.n, sl, &vs);
                j = op_json(&op, &vs, r);
                if (!found_failure && (op.status == DF__OS_FAILED || op.status == DF__OS_TIMED_OUT)) {
                        found_failure = 1;
                        json_decref(failure);
                        failure = describe_op_failure(&op, before);
                } else if (!found_failure) {
                        json_array_append_new(before, describe_before(&op, r));
                }
                describe_waiting(waiting, &op, r);
                if (op.type == DF__OP_INVOKE && op.child_id[0]) /* the link to the child execution */
                        json_array_append_new(children, json_pack("{s:s, s:s, s:s, s:s}", "op_id", op.op_id, "name",
                                                                  op.name, "execution_id", op.child_id, "status",
                                                                  df__op_status_name(op.status)));
                json_array_append_new(ops, j);
                vers_clear(&vs);
                df__op_clear(&op);
        }
        if (!found_failure && (x.status == DF__ES_FAILED || x.status == DF__ES_TIMED_OUT ||
                               x.status == DF__ES_STOPPED || x.status == DF__ES_NONDETERMINISM)) {
                json_decref(failure);
                failure = describe_exec_failure(&x, before);
        }
out:
        json_object_set_new(o, "operations", ops);
        json_object_set_new(o, "failure", failure);
        json_object_set_new(o, "children", children);
        json_decref(before);
        if (!r->show_callbacks)
                describe_redact(ix, id, o);
        if (it)
                rocksdb_iter_destroy(it);
        if (hit)
                rocksdb_iter_destroy(hit);
        pthread_rwlock_unlock(&ix->lock);
        free(k.p);
        free(hk.p);
        df__exec_clear(&x);
        return o;
}

/* The latest record of one operation, decoded.  0 or -1. */
static int load_op(df__cidx_t *ix, const char *id, const char *op_id, df__op_rec_t *op)
{
        kb_t k = {0}, s = {0};
        char *v, e2[256];
        size_t vl = 0;
        int rc = -1;
        memset(op, 0, sizeof(*op));
        if (opsort(op_id, &s) || kb_u8(&k, 'P') || kb_str(&k, id) || kb_u8(&k, 0) || kb_put(&k, s.p, s.n))
                goto out;
        v = ix_get(ix, k.p, k.n, &vl);
        if (v && !df__op_decode_any(v, vl, op, e2, sizeof(e2)))
                rc = 0;
        free(v);
out:
        free(k.p);
        free(s.p);
        return rc;
}

int df__cidx_payload(df__cidx_t *ix, const char *id, const char *which, df__buf_t *out)
{
        int rc = -1;
        memset(out, 0, sizeof(*out));
        if (!df__execution_id_valid(id))
                return -1;
        pthread_rwlock_rdlock(&ix->lock);
        if (!ix->db)
                goto out;
        if (!strcmp(which, "input") || !strcmp(which, "output")) {
                df__exec_rec_t x;
                if (!load_exec(ix, id, &x)) {
                        df__buf_t *b = which[0] == 'i' ? &x.input : &x.output;
                        *out = *b;
                        b->data = NULL;
                        b->len = 0;
                        rc = 0;
                        df__exec_clear(&x);
                }
        } else if (!strncmp(which, "op/", 3)) {
                char op_id[64];
                const char *end = strchr(which + 3, '/');
                df__op_rec_t op;
                size_t n = end ? (size_t)(end - which - 3) : 0;
                if (end && n && n < sizeof(op_id) && !strcmp(end, "/result")) {
                        memcpy(op_id, which + 3, n);
                        op_id[n] = '\0';
                        if (!load_op(ix, id, op_id, &op)) {
                                *out = op.result;
                                op.result.data = NULL;
                                op.result.len = 0;
                                df__op_clear(&op);
                                rc = 0;
                        }
                }
        }
out:
        pthread_rwlock_unlock(&ix->lock);
        return rc;
}

int df__cidx_callback_id(df__cidx_t *ix, const char *id, const char *op_id, char **callback_id, char *errstr,
                         size_t errstr_size)
{
        df__op_rec_t op;
        df__exec_rec_t x;
        int rc = -1;
        *callback_id = NULL;
        if (!df__execution_id_valid(id)) {
                df__errf(errstr, errstr_size, "no execution named \"%s\"", id);
                return -1;
        }
        pthread_rwlock_rdlock(&ix->lock);
        if (!ix->db || load_exec(ix, id, &x)) {
                df__errf(errstr, errstr_size, "no execution named \"%s\"", id);
                goto out;
        }
        df__exec_clear(&x);
        if (load_op(ix, id, op_id, &op)) {
                df__errf(errstr, errstr_size, "execution \"%s\" has no operation %s", id, op_id);
                goto out;
        }
        if (op.type != DF__OP_CALLBACK || !op.callback_id[0]) {
                df__errf(errstr, errstr_size, "operation %s of \"%s\" is not a callback", op_id, id);
        } else {
                *callback_id = strdup(op.callback_id);
                rc = *callback_id ? 0 : -1;
        }
        df__op_clear(&op);
out:
        pthread_rwlock_unlock(&ix->lock);
        return rc;
}

static json_t *dlq_json(const df__dlq_rec_t *d, const df__crender_t *r)
{
        json_t *o = json_object();
        df__rec_type_t t = df__codec_peek(d->value.data, d->value.len);
        static const char *const names[] = {"unknown", "Event", "Execution", "Operation", "Timer", "Result",
                                            "DeadLetter"};
        json_object_set_new(o, "topic", json_string(d->topic));
        json_object_set_new(o, "partition", json_integer(d->partition));
        json_object_set_new(o, "offset", json_integer(d->offset));
        json_object_set_new(o, "error", json_string(d->error));
        json_object_set_new(o, "ts_ms", json_integer(d->ts_ms));
        json_object_set_new(o, "key", df__cpayload_json(d->key.data, d->key.len, 256));
        json_object_set_new(o, "value_type", json_string(names[t >= 0 && t <= DF__REC_DLQ ? t : 0]));
        if ((t == DF__REC_EVENT || t == DF__REC_OP || t == DF__REC_UNKNOWN) && !r->show_callbacks) {
                /* events and operations carry callback ids (capabilities),
                 * and a record that does not decode may be either */
                json_t *h = json_object();
                json_object_set_new(h, "size", json_integer((json_int_t)d->value.len));
                json_object_set_new(h, "hidden", json_string(t == DF__REC_UNKNOWN
                                                                 ? "not a known record; shown to a token holder"
                                                                 : "may carry a callback id; shown to a token holder"));
                json_object_set_new(o, "value", h);
        } else {
                json_object_set_new(o, "value", df__cpayload_json(d->value.data, d->value.len, r->payload_max));
        }
        return o;
}

json_t *df__cidx_dlq(df__cidx_t *ix, int limit, const df__crender_t *r)
{
        json_t *res = json_object(), *items = json_array(), *undec = json_array();
        rocksdb_iterator_t *it;
        const char tags[2] = {'Q', 'Z'};
        int t;

        pthread_rwlock_rdlock(&ix->lock);
        for (t = 0; ix->db && t < 2; t++) {
                char hi[2] = {(char)(tags[t] + 1), 0};
                int n = 0;
                it = rocksdb_create_iterator(ix->db, ix->ro);
                for (rocksdb_iter_seek_for_prev(it, hi, 1); rocksdb_iter_valid(it) && n < limit;
                     rocksdb_iter_prev(it)) {
                        size_t kl, vl;
                        const char *k = rocksdb_iter_key(it, &kl), *v = rocksdb_iter_value(it, &vl);
                        df__dlq_rec_t d;
                        char e2[256];
                        if (!kl || k[0] != tags[t])
                                break;
                        if (kl == 1 && k[0] == tags[t] + 1)
                                continue;
                        memset(&d, 0, sizeof(d));
                        if (df__dlq_decode(v, vl, &d, e2, sizeof(e2)))
                                continue;
                        json_array_append_new(t ? undec : items, dlq_json(&d, r));
                        df__dlq_clear(&d);
                        n++;
                }
                rocksdb_iter_destroy(it);
        }
        pthread_rwlock_unlock(&ix->lock);
        json_object_set_new(res, "items", items);
        json_object_set_new(res, "undecodable", undec);
        return res;
}
