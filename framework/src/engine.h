/*
 * engine.h -- the replay engine's interface (engine.c; internal): no Kafka,
 * no RocksDB.  The worker (task.c) and the test runner drive it the same
 * way: an event and the execution's loaded state in, changes in the state
 * and outputs through df__engine_out_t.
 */
#ifndef DF_ENGINE_H
#define DF_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "duraflow/duraflow.h"
#include "records.h"
#include "state.h"

struct df__span;   /* trace.h */
struct df__etrace; /* engine_trace.h */

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
        /* Optional: a span the replay ended (trace.h; the callee owns it
         * from now on, also when it returns -1).  The worker keeps it with
         * the batch's records and exports it after the commit; NULL: the
         * engine hands it to its tracer at once (the test runner). */
        int (*span)(void *opaque, struct df__span *span);
        /* The engine's own (engine_trace.h): the tracing of the apply in
         * progress, set on the outputs df__engine_apply passes down; a
         * caller leaves it NULL. */
        const struct df__etrace *trace;
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
struct df__pool;
/** The engine's pool of worker.threads - 1 threads (created at the first
 * call), shared by the branches of a parallel / map and by the worker's
 * lanes that run different executions of a batch at once (task.c); NULL
 * when worker.threads is 1 or the threads could not be started. */
struct df__pool *df__engine_pool(df__engine_t *eng);
/** worker.threads as set (df__engine_set_threads). */
int df__engine_threads(df__engine_t *eng);
/** History limits per execution: most operations, most recorded bytes. */
void df__engine_set_limits(df__engine_t *eng, int max_ops, int64_t max_bytes);
struct df__metrics;
/** The registry the engine counts executions, steps and replays in (metrics.h); NULL: none. */
void df__engine_set_metrics(df__engine_t *eng, struct df__metrics *m);
struct df__otlp;
/** The OTLP exporter (trace.h) the engine's spans go to (engine_trace.h);
 * NULL: no spans (the default).  Records carry their execution's
 * traceparent header either way.  Set before the first apply. */
void df__engine_set_tracer(df__engine_t *eng, struct df__otlp *exp);
struct df__otlp *df__engine_tracer(const df__engine_t *eng);
/** retention.ms: a finished execution is purged this long after it ended
 * (its updated_ms), by the worker's sweep of its store's end-time index
 * (worker_retention.c), which hands the engine a DF__EV_TIMER of kind
 * DF__TK_RETENTION with seq DF__RETENTION_SWEEP; 0: never. */
void df__engine_set_retention(df__engine_t *eng, int64_t ms);
int64_t df__engine_retention(const df__engine_t *eng);
/** 1 when st is finished and its retention.ms is over at now (UTC ms), else 0. */
int df__engine_retention_over(const df__engine_t *eng, const df__exec_state_t *st, int64_t now);
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

#endif /* DF_ENGINE_H */
