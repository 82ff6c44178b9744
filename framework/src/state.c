/*
 * state.c -- an execution's state as changelog records.
 *
 * Keys (the <prefix>.state topic's and, behind "s:", RocksDB's):
 *   "<execution id>"            -> Execution record
 *   "<execution id>/<op id>"    -> Operation record
 * The Execution record's op_count tells how many operations to load.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"

int df__state_load(df__exec_state_t *st, const char *execution_id, df__state_get_fn get, void *opaque, char *errstr,
                   size_t errstr_size)
{
        df__buf_t val = {0};
        char key[256];
        int found = 0, i;

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
        for (i = 1; i <= st->exec.op_count; i++) {
                df__op_rec_t op;
                memset(&op, 0, sizeof(op));
                snprintf(key, sizeof(key), "%s/%d", execution_id, i);
                val.data = NULL;
                val.len = 0;
                if (get(opaque, key, &val, &found)) {
                        df__errf(errstr, errstr_size, "state store read of %s failed", key);
                        return -1;
                }
                if (!found)
                        continue;
                if (df__op_decode(val.data, val.len, &op, errstr, errstr_size)) {
                        free(val.data);
                        return -1;
                }
                free(val.data);
                if (df__exec_state_put_op(st, &op)) {
                        df__op_clear(&op);
                        df__errf(errstr, errstr_size, "operation %s of %s: bad op id or out of memory", key,
                                 execution_id);
                        return -1;
                }
        }
        return 0;
}

int df__state_flush_dirty(df__exec_state_t *st, df__state_put_fn put, void *opaque, char *errstr, size_t errstr_size)
{
        df__buf_t val = {0};
        char key[256];
        int i;

        for (i = 0; i < st->n_ops; i++) {
                if (!st->op_dirty[i] || !st->ops[i])
                        continue;
                if (df__op_encode(st->ops[i], &val, errstr, errstr_size))
                        return -1;
                snprintf(key, sizeof(key), "%s/%d", st->exec.execution_id, i + 1);
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
