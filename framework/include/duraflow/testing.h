/*
 * duraflow/testing.h -- run workflows in-process with a fake clock, no Kafka.
 *
 * The test runner drives the same replay engine as the worker.  State is
 * kept as the encoded changelog records the worker would write; every event
 * is applied as one "transaction" whose changes land only when it succeeds.
 * df_test_crash_next() makes a later delivery crash before its commit: its
 * changes are dropped and the event is delivered again, as after a worker
 * crash (step bodies that ran in it ran, their results are lost).
 *
 * Timers fire only when df_test_advance() moves the fake clock past their
 * due time (a timer already due fires at the next advance, even of 0 ms).
 *
 * Not thread-safe: one thread drives a df_test_t.
 */
#ifndef DURAFLOW_TESTING_H
#define DURAFLOW_TESTING_H

#include "duraflow/duraflow.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct df_test df_test_t;

/** start_ms: the fake clock's initial UTC ms. */
DF_EXPORT df_test_t *df_test_new(int64_t start_ms);
DF_EXPORT void df_test_destroy(df_test_t *t);
DF_EXPORT df_err_t df_test_register(df_test_t *t, const char *name, df_handler_fn fn, void *opaque);

/** Start an execution and run it until it suspends or ends.  Returns the
 * worker's verdict: DF_OK, DF_ERR_CONFLICT, DF_ERR_UNKNOWN_WORKFLOW, ... */
DF_EXPORT df_err_t df_test_start(df_test_t *t, const char *workflow, const char *execution_id, const void *input,
                                 size_t len);
/** Move the fake clock by ms (>= 0) and fire every timer due by then, in due order. */
DF_EXPORT void df_test_advance(df_test_t *t, int64_t ms);
DF_EXPORT int64_t df_test_now(const df_test_t *t);
/** Complete a callback as an external system would; returns the verdict
 * (DF_OK, DF_ERR_UNKNOWN_CALLBACK, DF_ERR_FINISHED, DF_ERR_NOT_FOUND). */
DF_EXPORT df_err_t df_test_callback(df_test_t *t, const char *callback_id, int outcome, const void *payload,
                                    size_t len, const char *error);
DF_EXPORT df_err_t df_test_stop(df_test_t *t, const char *execution_id);
/** Resume a NONDETERMINISM or QUARANTINED execution (after a code fix); on
 * a running or suspended one it forces a replay.  DF_OK, DF_ERR_FINISHED. */
DF_EXPORT df_err_t df_test_resume(df_test_t *t, const char *execution_id);
/** Crash before the commit of the nth delivery from now (1 = the next one). */
DF_EXPORT void df_test_crash_next(df_test_t *t, int nth);
/**
 * The worker process dies inside the nth step body from now (1 = the next
 * one to run), before the body runs: its delivery is lost, and the
 * restarted worker first commits a crash event for it (as the worker's crash
 * breadcrumb does), then the event is delivered again.  The crashed attempt
 * fails with "WorkerCrashed" into the step's retry strategy; after
 * "execution.max.crashes" (5) deaths the execution is QUARANTINED.
 */
DF_EXPORT void df_test_kill_in_step(df_test_t *t, int nth);
/**
 * The nth delivery from now fails inside the worker (as when its records
 * cannot be encoded or the engine runs out of memory): as the worker does,
 * its changes are dropped and the execution is QUARANTINED with the event
 * kept, to be applied on df_test_resume(); other executions go on.
 */
DF_EXPORT void df_test_fail_next(df_test_t *t, int nth);
/** Deliveries that crashed so far (df_test_crash_next and df_test_kill_in_step). */
DF_EXPORT int df_test_crashes(const df_test_t *t);
/** Number of timers pending. */
DF_EXPORT int df_test_pending_timers(const df_test_t *t);
/** keep != 0: timers the engine withdraws (a callback's timeout once it
 * completed) stay pending and fire, as when the timer service fired one
 * before its withdrawal reached it; for testing that such a late timer is
 * a no-op.  Default 0: withdrawn timers are dropped, as in production. */
DF_EXPORT void df_test_keep_withdrawn_timers(df_test_t *t, int keep);

/* ---- inspection (strings and bytes owned by t, valid until its next call) ---- */

/** "RUNNING", "SUSPENDED", "SUCCEEDED", "FAILED", "STOPPED", "NONDETERMINISM", "QUARANTINED", or NULL if unknown. */
DF_EXPORT const char *df_test_status(df_test_t *t, const char *execution_id);
DF_EXPORT df_err_t df_test_output(df_test_t *t, const char *execution_id, df_bytes_t *out);
DF_EXPORT const char *df_test_error(df_test_t *t, const char *execution_id);

typedef struct df_test_op {
        const char *name;
        const char *type;   /* "STEP", "WAIT", "CALLBACK" */
        const char *status; /* "STARTED", "PENDING", "SUCCEEDED", "FAILED", "TIMED_OUT" */
        int attempt;
        df_bytes_t result;
        const char *error;
        const char *callback_id;
        int64_t due_ms;
} df_test_op_t;

DF_EXPORT int df_test_op_count(df_test_t *t, const char *execution_id);
/** Operation id (1-based) of an execution. */
DF_EXPORT df_err_t df_test_op(df_test_t *t, const char *execution_id, int op_id, df_test_op_t *out);
/** Callback id of the callback operation named name, or NULL. */
DF_EXPORT const char *df_test_callback_id(df_test_t *t, const char *execution_id, const char *name);

#ifdef __cplusplus
}
#endif
#endif /* DURAFLOW_TESTING_H */
