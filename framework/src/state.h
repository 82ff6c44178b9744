/*
 * state.h -- the execution-state model (state.c; internal): an execution's
 * state in memory (its Execution record and every operation, with dirty
 * flags and an index by op id), loaded from and flushed to changelog
 * records; the validity of execution and operation ids; the names of
 * statuses and operation types.
 */
#ifndef DF_STATE_H
#define DF_STATE_H

#include <stddef.h>

#include "map.h"
#include "records.h"

/* ---- an execution's state in memory (state.c) ---- */

/** Deepest nesting of child contexts ("1.2.3..." has depth 3), and the
 * largest counter in one context. */
#define DF__OP_DEPTH_MAX 32
#define DF__OP_INDEX_MAX 1000000
/** Longest operation id, bytes ("1000000.1000000...", DF__OP_DEPTH_MAX deep, fits). */
#define DF__OP_ID_MAX 256

typedef struct df__exec_state {
        int exists;
        df__exec_rec_t exec;
        int exec_dirty;
        /* Every operation, top level ("1", "2", ...) and nested ("3.1",
         * "3.2.1", ...), in load / creation order; op_dirty[i] goes with
         * ops[i].  index maps an op id to its position + 1, so a lookup by
         * id is O(1) whatever the history's length or depth. */
        df__op_rec_t **ops;
        unsigned char *op_dirty;
        int n_ops, cap_ops;  /* n_ops: all operations */
        int n_top;           /* highest top-level id ("1".."n_top") */
        df__map_t *index;
        size_t rec_bytes;    /* history bytes: input, results and errors recorded (history.max.bytes) */
        /* Keys whose records go (a restart's discarded operations, a purge):
         * tombstones written first at the next flush. */
        char **dead;
        int n_dead, cap_dead;
} df__exec_state_t;

df__exec_state_t *df__exec_state_new(void);
void df__exec_state_free(void *st);
/** Take ownership of *op (moved, *op zeroed) at its op id, replacing a
 * record with the same id; 0 or -1 (a malformed op id, ENOMEM). */
int df__exec_state_put_op(df__exec_state_t *st, df__op_rec_t *op);
/** Top-level operation id (1-based), or NULL. */
df__op_rec_t *df__exec_state_op(const df__exec_state_t *st, int id);
/** Any operation by its id ("3", "3.1.2"), or NULL.  O(1). */
df__op_rec_t *df__exec_state_find(const df__exec_state_t *st, const char *op_id);
/** Mark the operation with this id dirty (to be flushed). */
void df__exec_state_touch(df__exec_state_t *st, const char *op_id);
/** Drop top-level operation first_top and every one after it, with all
 * operations nested in them (a restart from first_top): their keys are
 * tombstoned at the next flush, n_top becomes first_top - 1.  The number
 * dropped, or -1 (ENOMEM). */
int df__exec_state_discard_from(df__exec_state_t *st, int first_top);
/** Drop the execution and all its operations (a purge): every key is
 * tombstoned at the next flush; st->exists becomes 0.  0 or -1 (ENOMEM). */
int df__exec_state_purge(df__exec_state_t *st);
/** 1 if op_id is "<n>(.<n>)*" with each n in 1..DF__OP_INDEX_MAX, at most
 * DF__OP_DEPTH_MAX deep. */
int df__op_id_valid(const char *op_id);
/** 1 if s is a valid execution id: 1..200 chars of [A-Za-z0-9._:@-]. */
int df__execution_id_valid(const char *s);
int df__exec_status_terminal(int status);
const char *df__exec_status_name(int status);
int df__exec_status_parse(const char *s);
const char *df__op_status_name(int status);
const char *df__op_type_name(int type);

/* ---- as changelog records ---- */

/** Read the record under key into *val (malloc'd) and set *found; 0 or -1 on a store error. */
typedef int (*df__state_get_fn)(void *opaque, const char *key, df__buf_t *val, int *found);
/** Write (val non-NULL) the record under key; 0 or -1. */
typedef int (*df__state_put_fn)(void *opaque, const char *key, const df__buf_t *val);

/** Load execution_id into an empty st (st->exists stays 0 when absent). */
int df__state_load(df__exec_state_t *st, const char *execution_id, df__state_get_fn get, void *opaque, char *errstr,
                   size_t errstr_size);
/** Encode and put every dirty record (operations first, then the execution)
 * and clear the dirty flags. */
int df__state_flush_dirty(df__exec_state_t *st, df__state_put_fn put, void *opaque, char *errstr,
                          size_t errstr_size);

#endif /* DF_STATE_H */
