/*
 * internal.h -- shared internals of libduraflow (not installed).
 */
#ifndef DF_INTERNAL_H
#define DF_INTERNAL_H

#include <stdarg.h>
#include <stdint.h>

#include "codec.h"
#include "duraflow/duraflow.h"
#include "records.h"

/* ---- time ---- */
int64_t df__now_ms(void);  /* wall clock, UTC ms since the epoch */
int64_t df__mono_ms(void); /* monotonic clock, ms */
int64_t df__mono_ns(void); /* monotonic clock, ns */

/* ---- logging (stderr) ---- */
enum { DF__LOG_ERROR = 0, DF__LOG_WARN = 1, DF__LOG_INFO = 2, DF__LOG_DEBUG = 3 };
extern int df__log_level;
void df__log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- strings ---- */
/** snprintf into errstr when errstr is not NULL. */
void df__errf(char *errstr, size_t errstr_size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/** malloc'd printf; NULL on ENOMEM. */
char *df__asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/** Fill buf with n random bytes (getrandom); 0 or -1. */
int df__random_bytes(void *buf, size_t n);
/** 1 if s is a valid execution id: 1..200 chars of [A-Za-z0-9._:@-]. */
int df__execution_id_valid(const char *s);

/* ---- string-keyed hash map ---- */
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
int df__exec_status_terminal(int status);
const char *df__exec_status_name(int status);
int df__exec_status_parse(const char *s);
const char *df__op_status_name(int status);
const char *df__op_type_name(int type);

/* ---- the replay engine (no Kafka, no RocksDB) ---- */

/** Where the engine sends what an event produced.  Each returns 0 or -1
 * (then the batch must abort). */
typedef struct df__engine_out {
        int (*timer)(void *opaque, const df__timer_rec_t *t);
        int (*event)(void *opaque, const df__event_t *ev); /* to <prefix>.events */
        int (*result)(void *opaque, const df__result_rec_t *r);
        void *opaque;
        /* Optional (NULL: none): the timer with this id is no longer needed
         * (a callback completed before its timeout): a tombstone for it. */
        int (*cancel_timer)(void *opaque, const char *timer_id);
        /* Optional: a step body of the execution being applied is about to
         * run (op_id, 1-based attempt) / has returned.  The worker keeps a
         * crash breadcrumb with them (crashlog.h), so that a process death
         * inside the body is counted against that attempt.  step_begin
         * returning -1 aborts the delivery without running the body (the
         * test runner's simulated crash). */
        int (*step_begin)(void *opaque, const char *execution_id, const char *op_id, int attempt);
        void (*step_end)(void *opaque);
        /* Optional: 1 when the batch already holds "batch.max.bytes" of
         * output records, counting pending bytes that the execution being
         * replayed has recorded but not yet flushed; a new step then waits
         * for the next batch (the execution suspends with a CONTINUE event),
         * so that a long history is never held whole in a batch's buffers. */
        int (*over_budget)(void *opaque, size_t pending);
} df__engine_out_t;

typedef struct df__engine df__engine_t;
typedef int64_t (*df__clock_fn)(void *opaque);

df__engine_t *df__engine_new(const char *events_topic);
void df__engine_destroy(df__engine_t *eng);
/** df__engine_register_version(eng, name, 1, fn, opaque). */
df_err_t df__engine_register(df__engine_t *eng, const char *name, df_handler_fn fn, void *opaque);
/** Register version (>= 1) of workflow name; several versions live side by
 * side.  A new execution runs the highest version registered; an execution
 * keeps its version for life.  DF_ERR_INVALID_ARG on a bad or duplicate
 * (name, version). */
df_err_t df__engine_register_version(df__engine_t *eng, const char *name, int version, df_handler_fn fn,
                                     void *opaque);
/** Forget version of name (the test runner's "a worker without it");
 * DF_ERR_NOT_FOUND if it was not registered. */
df_err_t df__engine_unregister_version(df__engine_t *eng, const char *name, int version);
/** Most branch bodies (parallel / map) of one replay run at once, counting
 * the calling thread; 1 = one after another.  Takes effect at the next
 * parallel / map that needs more threads (a pool created then). */
void df__engine_set_threads(df__engine_t *eng, int n);
/** History limits per execution: most operations, most recorded bytes. */
void df__engine_set_limits(df__engine_t *eng, int max_ops, int64_t max_bytes);
struct df__metrics;
/** The registry the engine counts executions, steps and replays in (metrics.h); NULL: none. */
void df__engine_set_metrics(df__engine_t *eng, struct df__metrics *m);
/** retention.ms: a finished execution is purged this long after it ended (a RETENTION timer); 0: never. */
void df__engine_set_retention(df__engine_t *eng, int64_t ms);
/** An execution that this many worker processes died while processing
 * (crash events) is QUARANTINED; default 5 ("execution.max.crashes"). */
void df__engine_set_max_crashes(df__engine_t *eng, int n);

/**
 * The fallback when applying ev (raw: its encoded form) to an execution
 * failed inside the engine or its records could not be encoded: st must be
 * the execution's state as committed (reloaded, the failed attempt's
 * changes dropped).  The execution is recorded as QUARANTINED with reason as
 * its error and ev kept in its stash (applied first on resume); a START
 * creates the execution so.  A request is answered DF_ERR_REJECTED.
 * 0, or -1 (then the caller dead-letters the event).
 */
int df__engine_quarantine(df__engine_t *eng, df__exec_state_t *st, const df__event_t *ev, const df__buf_t *raw,
                          const char *reason, const df__engine_out_t *out);

/** Replace the wall clock (the test runner's fake clock). */
void df__engine_set_clock(df__engine_t *eng, df__clock_fn fn, void *opaque);
int64_t df__engine_now(const df__engine_t *eng);
/** The events topic the engine's timers deliver to. */
const char *df__engine_events_topic(const df__engine_t *eng);
/** 1 if a workflow is registered under name. */
int df__engine_has_workflow(const df__engine_t *eng, const char *name);

/**
 * Apply one event to st (the loaded state of ev->execution_id; st->exists
 * is 0 for a new one) and replay the handler when the event moved the
 * execution.  Changes are made in st with dirty flags; timers, events and
 * results go to out.  committed = 1 when every earlier change of this
 * execution is committed (the at-most-once steps whose START committed may
 * now run).  Returns 0, or -1 on an internal failure (ENOMEM, encode): the
 * caller must abort the batch and drop st.
 */
int df__engine_apply(df__engine_t *eng, df__exec_state_t *st, const df__event_t *ev, const df__engine_out_t *out,
                     int committed);

/** Executions with an at-most-once step whose START awaits its commit:
 * calls fn(execution_id) for each and forgets them. */
void df__engine_amo_drain(df__engine_t *eng, void (*fn)(const char *execution_id, void *opaque), void *opaque);
/** Forget the pending at-most-once runs of one execution (its changes in
 * this batch were dropped). */
void df__engine_amo_forget(df__engine_t *eng, const char *execution_id);
/** Forget pending at-most-once runs (after an aborted transaction). */
void df__engine_amo_reset(df__engine_t *eng);

typedef struct df__engine_stats {
        uint64_t steps_run, finished;
} df__engine_stats_t;
void df__engine_stats(const df__engine_t *eng, df__engine_stats_t *out);

/** Parse a callback id "<32 hex>_<op id>_<execution id>"; 0 or -1. op_id
 * receives at most op_id_size-1 chars; *exec points into cb. */
int df__callback_id_parse(const char *cb, char *op_id, size_t op_id_size, const char **exec);

#endif /* DF_INTERNAL_H */
