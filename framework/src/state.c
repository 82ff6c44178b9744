/*
 * state.c -- an execution's state: in memory, and as changelog records.
 *
 * Keys (the <prefix>.state topic's and, behind "s:", RocksDB's):
 *   "<execution id>"            -> Execution record
 *   "<execution id>/<op id>"    -> Operation record ("3", "3.1", "3.2.1", ...)
 * The Execution record's op_count tells how many top-level operations to
 * load ("1".."op_count"); an operation that opens a context (CHILD,
 * PARALLEL, MAP) records in child_count how many operations its own context
 * holds ("<id>.1".."<id>.<child_count>"), which are loaded in turn.  So a
 * load reads each record once, O(history), however deep the nesting.
 *
 * In memory every operation sits in one array (load / creation order) with
 * a hash index from op id to position: a lookup by id is O(1), so replaying
 * a history of n operations costs O(n), not O(n^2).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"

#include "buf.h"
#include "codec.h"

/* ---------------- in memory ---------------- */

df__exec_state_t *df__exec_state_new(void)
{
        df__exec_state_t *st = calloc(1, sizeof(*st));
        if (!st)
                return NULL;
        st->index = df__map_new();
        if (!st->index) {
                free(st);
                return NULL;
        }
        return st;
}

void df__exec_state_free(void *p)
{
        df__exec_state_t *st = p;
        int i;
        if (!st)
                return;
        df__exec_clear(&st->exec);
        for (i = 0; i < st->n_ops; i++) {
                if (st->ops[i]) {
                        df__op_clear(st->ops[i]);
                        free(st->ops[i]);
                }
        }
        free(st->ops);
        free(st->op_dirty);
        df__map_destroy(st->index, NULL);
        for (i = 0; i < st->n_dead; i++)
                free(st->dead[i]);
        free(st->dead);
        free(st);
}

static size_t df__op_bytes(const df__op_rec_t *op)
{
        return op->result.len + (op->error ? strlen(op->error) : 0);
}

static int df__state_bury(df__exec_state_t *st, const char *op_id)
{
        char *key;
        if (st->n_dead == st->cap_dead) {
                int cap = st->cap_dead ? st->cap_dead * 2 : 16;
                char **d = realloc(st->dead, (size_t)cap * sizeof(*d));
                if (!d)
                        return -1;
                st->dead = d;
                st->cap_dead = cap;
        }
        key = op_id ? df__asprintf("%s/%s", st->exec.execution_id, op_id) : df__strdup0(st->exec.execution_id);
        if (!key)
                return -1;
        st->dead[st->n_dead++] = key;
        return 0;
}

int df__exec_state_discard_from(df__exec_state_t *st, int first_top)
{
        int i, kept = 0, dropped = 0, err = 0, n_dead = st->n_dead;

        /* every tombstone first, so that a failure (ENOMEM) changes nothing */
        for (i = 0; i < st->n_ops; i++) {
                if (atoi(st->ops[i]->op_id) >= first_top && df__state_bury(st, st->ops[i]->op_id)) {
                        while (st->n_dead > n_dead)
                                free(st->dead[--st->n_dead]);
                        return -1;
                }
        }
        for (i = 0; i < st->n_ops; i++) {
                df__op_rec_t *op = st->ops[i];
                if (atoi(op->op_id) >= first_top) {
                        st->rec_bytes -= df__op_bytes(op);
                        df__op_clear(op);
                        free(op);
                        dropped++;
                        continue;
                }
                st->ops[kept] = op;
                st->op_dirty[kept] = st->op_dirty[i];
                kept++;
        }
        st->n_ops = kept;
        df__map_clear(st->index, NULL);
        for (i = 0; i < st->n_ops; i++) {
                df__map_put(st->index, st->ops[i]->op_id, (void *)(intptr_t)(i + 1), &err);
                if (err)
                        return -1;
        }
        if (st->n_top >= first_top)
                st->n_top = first_top - 1;
        return dropped;
}

int df__exec_state_purge(df__exec_state_t *st)
{
        if (df__state_bury(st, NULL))
                return -1;
        if (df__exec_state_discard_from(st, 1) < 0) {
                free(st->dead[--st->n_dead]);
                return -1;
        }
        df__exec_clear(&st->exec);
        st->exists = 0;
        st->exec_dirty = 0;
        st->rec_bytes = 0;
        return 0;
}

int df__op_id_valid(const char *op_id)
{
        const char *p = op_id;
        int depth = 0;

        if (!p || !*p || strlen(p) >= DF__OP_ID_MAX)
                return 0;
        for (;;) {
                long v = 0;
                int digits = 0;
                if (*p == '0')
                        return 0; /* no leading zero, no 0 */
                while (*p >= '0' && *p <= '9') {
                        v = v * 10 + (*p - '0');
                        if (++digits > 7)
                                return 0;
                        p++;
                }
                if (!digits || v < 1 || v > DF__OP_INDEX_MAX || ++depth > DF__OP_DEPTH_MAX)
                        return 0;
                if (!*p)
                        return 1;
                if (*p != '.')
                        return 0;
                p++;
        }
}

int df__exec_state_put_op(df__exec_state_t *st, df__op_rec_t *op)
{
        intptr_t pos;
        df__op_rec_t *slot;
        int err;

        if (!df__op_id_valid(op->op_id))
                return -1;
        pos = (intptr_t)df__map_get(st->index, op->op_id);
        if (pos) {
                slot = st->ops[pos - 1];
                st->rec_bytes -= df__op_bytes(slot);
                df__op_clear(slot);
                *slot = *op;
                memset(op, 0, sizeof(*op));
                st->rec_bytes += df__op_bytes(slot);
                return 0;
        }
        if (st->n_ops == st->cap_ops) {
                int cap = st->cap_ops ? st->cap_ops * 2 : 16;
                df__op_rec_t **ops = realloc(st->ops, (size_t)cap * sizeof(*ops));
                unsigned char *dirty;
                if (!ops)
                        return -1;
                st->ops = ops;
                dirty = realloc(st->op_dirty, (size_t)cap);
                if (!dirty)
                        return -1;
                st->op_dirty = dirty;
                st->cap_ops = cap;
        }
        slot = malloc(sizeof(*slot));
        if (!slot)
                return -1;
        *slot = *op;
        df__map_put(st->index, slot->op_id, (void *)(intptr_t)(st->n_ops + 1), &err);
        if (err) {
                memset(slot, 0, sizeof(*slot));
                free(slot);
                return -1;
        }
        memset(op, 0, sizeof(*op));
        st->ops[st->n_ops] = slot;
        st->op_dirty[st->n_ops] = 0;
        st->n_ops++;
        st->rec_bytes += df__op_bytes(slot);
        if (!strchr(slot->op_id, '.')) {
                int id = atoi(slot->op_id);
                if (id > st->n_top)
                        st->n_top = id;
        }
        return 0;
}

df__op_rec_t *df__exec_state_find(const df__exec_state_t *st, const char *op_id)
{
        intptr_t pos;
        if (!op_id || !*op_id)
                return NULL;
        pos = (intptr_t)df__map_get(st->index, op_id);
        return pos ? st->ops[pos - 1] : NULL;
}

df__op_rec_t *df__exec_state_op(const df__exec_state_t *st, int id)
{
        char buf[16];
        if (id < 1 || id > st->n_top)
                return NULL;
        snprintf(buf, sizeof(buf), "%d", id);
        return df__exec_state_find(st, buf);
}

void df__exec_state_touch(df__exec_state_t *st, const char *op_id)
{
        intptr_t pos = (intptr_t)df__map_get(st->index, op_id);
        if (pos)
                st->op_dirty[pos - 1] = 1;
}

/* ---------------- changelog records ---------------- */

/* Read and add the operation under "<exec>/<op_id>" (absent: skipped). */
static int df__load_op(df__exec_state_t *st, const char *execution_id, const char *op_id, df__state_get_fn get,
                       void *opaque, char *errstr, size_t errstr_size)
{
        df__buf_t val = {0};
        df__op_rec_t op;
        char key[DF__OP_ID_MAX + 256];
        int found = 0;

        snprintf(key, sizeof(key), "%s/%s", execution_id, op_id);
        if (get(opaque, key, &val, &found)) {
                df__errf(errstr, errstr_size, "state store read of %s failed", key);
                return -1;
        }
        if (!found)
                return 0;
        memset(&op, 0, sizeof(op));
        if (df__op_decode(val.data, val.len, &op, errstr, errstr_size)) {
                free(val.data);
                return -1;
        }
        free(val.data);
        if (strcmp(op.op_id, op_id) || df__exec_state_put_op(st, &op)) {
                df__errf(errstr, errstr_size, "operation %s of %s: its record names operation \"%s\" (or out of memory)",
                         key, execution_id, op.op_id ? op.op_id : "");
                df__op_clear(&op);
                return -1;
        }
        return 0;
}

int df__state_load(df__exec_state_t *st, const char *execution_id, df__state_get_fn get, void *opaque, char *errstr,
                   size_t errstr_size)
{
        df__buf_t val = {0};
        char id[DF__OP_ID_MAX + 16];
        int found = 0, i, k;

        if (get(opaque, execution_id, &val, &found)) {
                df__errf(errstr, errstr_size, "state store read of %s failed", execution_id);
                return -1;
        }
        if (!found)
                return 0;
        if (df__exec_decode(val.data, val.len, &st->exec, errstr, errstr_size)) {
                free(val.data);
                return -1;
        }
        free(val.data);
        st->exists = 1;
        st->rec_bytes = st->exec.input.len;
        for (i = 1; i <= st->exec.op_count; i++) {
                snprintf(id, sizeof(id), "%d", i);
                if (df__load_op(st, execution_id, id, get, opaque, errstr, errstr_size))
                        return -1;
        }
        /* Breadth first: the children of ops[i] are appended behind it. */
        for (i = 0; i < st->n_ops; i++) {
                int n = st->ops[i]->child_count;
                for (k = 1; k <= n; k++) {
                        if ((size_t)snprintf(id, sizeof(id), "%s.%d", st->ops[i]->op_id, k) >= DF__OP_ID_MAX) {
                                df__errf(errstr, errstr_size, "operation %s of %s: child ids too long",
                                         st->ops[i]->op_id, execution_id);
                                return -1;
                        }
                        if (df__load_op(st, execution_id, id, get, opaque, errstr, errstr_size))
                                return -1;
                }
        }
        return 0;
}

int df__state_flush_dirty(df__exec_state_t *st, df__state_put_fn put, void *opaque, char *errstr, size_t errstr_size)
{
        df__buf_t val = {0};
        char key[DF__OP_ID_MAX + 256];
        int i;

        /* tombstones first: an operation re-created after its discard (a
         * restart's re-run) is written behind its tombstone */
        for (i = 0; i < st->n_dead; i++) {
                if (put(opaque, st->dead[i], NULL)) {
                        df__errf(errstr, errstr_size, "cannot delete %s", st->dead[i]);
                        return -1;
                }
        }
        for (i = 0; i < st->n_dead; i++)
                free(st->dead[i]);
        st->n_dead = 0;
        for (i = 0; i < st->n_ops; i++) {
                if (!st->op_dirty[i] || !st->ops[i])
                        continue;
                if (df__op_encode(st->ops[i], &val, errstr, errstr_size))
                        return -1;
                snprintf(key, sizeof(key), "%s/%s", st->exec.execution_id, st->ops[i]->op_id);
                if (put(opaque, key, &val)) {
                        free(val.data);
                        df__errf(errstr, errstr_size, "cannot write %s", key);
                        return -1;
                }
                free(val.data);
                val.data = NULL;
                st->op_dirty[i] = 0;
        }
        if (st->exec_dirty) {
                if (df__exec_encode(&st->exec, &val, errstr, errstr_size))
                        return -1;
                if (put(opaque, st->exec.execution_id, &val)) {
                        free(val.data);
                        df__errf(errstr, errstr_size, "cannot write %s", st->exec.execution_id);
                        return -1;
                }
                free(val.data);
                st->exec_dirty = 0;
        }
        return 0;
}

/* ---------------- execution ids, status and type names ---------------- */

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
