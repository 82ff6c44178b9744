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
 * Invoked child executions run in the same runner (their START and
 * CHILD_DONE events go through its queue, as through Kafka); df_test_hold()
 * keeps an execution's events back, as when its partition's worker is away.
 *
 * The branches of a parallel / map run on a pool of threads, as in the
 * worker ("worker.threads", default 16: df_test_set_threads), so step
 * bodies of different branches run concurrently; what is recorded does not
 * depend on it.
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
/** Version 1 of name (as df_worker_register). */
DF_EXPORT df_err_t df_test_register(df_test_t *t, const char *name, df_handler_fn fn, void *opaque);
/** Version version of name, as df_worker_register_version; may be called
 * at any time (a worker that has it now "runs"). */
DF_EXPORT df_err_t df_test_register_version(df_test_t *t, const char *name, int version, df_handler_fn fn,
                                            void *opaque);
/** From now on this runner is a worker without version version of name
 * (a deployment that dropped it); DF_ERR_NOT_FOUND if it was not registered. */
DF_EXPORT df_err_t df_test_unregister_version(df_test_t *t, const char *name, int version);
/** Most branch bodies running at once ("worker.threads"), >= 1; default 16. */
DF_EXPORT void df_test_set_threads(df_test_t *t, int n);
/** "history.max.operations" and "history.max.bytes" (defaults 3000 and
 * 104857600). */
DF_EXPORT void df_test_set_history_limits(df_test_t *t, int max_operations, int64_t max_bytes);
/**
 * hold != 0: every event of execution_id (start, timer, callback, stop,
 * child-done) is kept back, in order, as when no worker owns its partition;
 * requests for it then return DF_ERR_DEADLINE.  hold = 0: the kept events are
 * delivered (behind what is queued) and the queue runs.
 */
DF_EXPORT void df_test_hold(df_test_t *t, const char *execution_id, int hold);
/** Events kept back by df_test_hold, all executions. */
DF_EXPORT int df_test_held_events(const df_test_t *t);

/** Start an execution and run it until it suspends or ends.  Returns the
 * worker's verdict: DF_OK, DF_ERR_CONFLICT, DF_ERR_UNKNOWN_WORKFLOW, ... */
DF_EXPORT df_err_t df_test_start(df_test_t *t, const char *workflow, const char *execution_id, const void *input,
                                 size_t len);
/** Move the fake clock by ms (>= 0) and fire every timer due by then, in due order. */
DF_EXPORT void df_test_advance(df_test_t *t, int64_t ms);
DF_EXPORT int64_t df_test_now(const df_test_t *t);
/** Make every read of the fake clock move it on by ms (>= 0; default 0), as a
 * wall clock moves while a replay runs. */
DF_EXPORT void df_test_set_clock_tick(df_test_t *t, int64_t ms);
/** Complete a callback as an external system would; returns the verdict
 * (DF_OK, DF_ERR_UNKNOWN_CALLBACK, DF_ERR_FINISHED, DF_ERR_NOT_FOUND). */
DF_EXPORT df_err_t df_test_callback(df_test_t *t, const char *callback_id, int outcome, const void *payload,
                                    size_t len, const char *error);
DF_EXPORT df_err_t df_test_stop(df_test_t *t, const char *execution_id);
/** Resume a NONDETERMINISM or QUARANTINED execution (after a code fix); on
 * a running or suspended one it forces a replay.  DF_OK, DF_ERR_FINISHED. */
DF_EXPORT df_err_t df_test_resume(df_test_t *t, const char *execution_id);
/** Pause an execution (PAUSED: no handler, no step; events still recorded,
 * applied on df_test_resume).  DF_OK (also when paused already),
 * DF_ERR_FINISHED, DF_ERR_NOT_FOUND. */
DF_EXPORT df_err_t df_test_pause(df_test_t *t, const char *execution_id);
/** Restart a FAILED, STOPPED or TIMED_OUT execution from the top-level
 * operation from_op ("1", "2", ...; NULL or "": its first one that did not
 * succeed), as df_client_restart.  DF_OK, DF_ERR_STATE (not restartable),
 * DF_ERR_INVALID_ARG (from_op nested or beyond the history), DF_ERR_NOT_FOUND. */
DF_EXPORT df_err_t df_test_restart(df_test_t *t, const char *execution_id, const char *from_op,
                                   const char *reason);
/** Purge a finished execution (its records tombstoned; the id may start
 * again).  DF_OK, DF_ERR_STATE (not finished), DF_ERR_NOT_FOUND. */
DF_EXPORT df_err_t df_test_purge(df_test_t *t, const char *execution_id);
/** retention.ms of the test runner's worker (default 0: keep for ever, so
 * that df_test_advance never purges what a test inspects). */
DF_EXPORT void df_test_set_retention(df_test_t *t, int64_t ms);
/** Restarts of the execution so far (-1 if unknown) and, in *run_log (may
 * be NULL; owned by t), one line per restart. */
DF_EXPORT int df_test_run_count(df_test_t *t, const char *execution_id, const char **run_log);
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
 * As df_test_kill_in_step, but the process was running other executions at
 * the same time (worker.threads > 1), so the death is not known to be this
 * step's: the crash event marks the execution a suspect (its crash count
 * goes up; at "execution.max.crashes" it is QUARANTINED) without charging
 * the attempt, and the body runs again at the same attempt.  (The worker
 * then runs a suspect alone until it runs through: task_lanes.c.)
 */
DF_EXPORT void df_test_kill_beside_in_step(df_test_t *t, int nth);
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

/* ---- schedules (as df_client_schedule_*: the worker's schedule module, on
 * the fake clock; a schedule's timers fire with df_test_advance) ---- */

/** Create a schedule; DF_OK (also when it exists with the same definition),
 * DF_ERR_CONFLICT, DF_ERR_UNKNOWN_WORKFLOW, DF_ERR_INVALID_ARG, ... */
DF_EXPORT df_err_t df_test_schedule_create(df_test_t *t, const char *name, const df_schedule_def_t *def);
DF_EXPORT df_err_t df_test_schedule_pause(df_test_t *t, const char *name);
DF_EXPORT df_err_t df_test_schedule_resume(df_test_t *t, const char *name);
DF_EXPORT df_err_t df_test_schedule_delete(df_test_t *t, const char *name);
/** Start a run now; its execution id into run_id (may be NULL). */
DF_EXPORT df_err_t df_test_schedule_trigger(df_test_t *t, const char *name, char *run_id, size_t run_id_size);
/** The schedule as recorded, or NULL if none (owned by t, valid until the
 * next df_test_schedule call or df_test_destroy). */
DF_EXPORT const df_schedule_info_t *df_test_schedule(df_test_t *t, const char *name);
/** The ids of every execution recorded, sorted, in *ids (owned by t, valid
 * until its next call); returns how many. */
DF_EXPORT size_t df_test_executions(df_test_t *t, const char *const **ids);

/* ---- inspection (strings and bytes owned by t, valid until its next call) ---- */

/** "RUNNING", "SUSPENDED", "SUCCEEDED", "FAILED", "STOPPED", "NONDETERMINISM", "QUARANTINED",
 * "VERSION_MISSING", "PAUSED", or NULL if unknown. */
DF_EXPORT const char *df_test_status(df_test_t *t, const char *execution_id);
DF_EXPORT df_err_t df_test_output(df_test_t *t, const char *execution_id, df_bytes_t *out);
DF_EXPORT const char *df_test_error(df_test_t *t, const char *execution_id);
/** The workflow version the execution runs, -1 if unknown. */
DF_EXPORT int df_test_version(df_test_t *t, const char *execution_id);
/** An invoked child's parent execution id ("" if none, NULL if unknown) and,
 * in *parent_op (may be NULL), the parent's INVOKE operation id. */
DF_EXPORT const char *df_test_parent(df_test_t *t, const char *execution_id, const char **parent_op);

typedef struct df_test_op {
        const char *name;
        const char *type;   /* "STEP", "WAIT", "CALLBACK", "CHILD", "INVOKE", "PARALLEL", "MAP", "CONDITION" */
        const char *status; /* "STARTED", "PENDING", "SUCCEEDED", "FAILED", "TIMED_OUT" */
        int attempt;
        df_bytes_t result;
        const char *error;
        const char *callback_id;
        int64_t due_ms;
        const char *op_id;     /* "3", "3.1", ... */
        const char *parent_id; /* "" at top level */
        const char *child_id;  /* INVOKE: the child execution */
        int child_count;       /* CHILD, PARALLEL, MAP: operations in its context */
        int64_t started_ms;    /* the clock when it began */
        int64_t updated_ms;    /* the clock when it last changed (its end, once it ended) */
} df_test_op_t;

/** Top-level operations of an execution (ids "1".."n"), -1 if unknown. */
DF_EXPORT int df_test_op_count(df_test_t *t, const char *execution_id);
/** Every operation, nested ones included, -1 if unknown. */
DF_EXPORT int df_test_op_count_all(df_test_t *t, const char *execution_id);
/** Top-level operation id (1-based) of an execution. */
DF_EXPORT df_err_t df_test_op(df_test_t *t, const char *execution_id, int op_id, df_test_op_t *out);
/** Any operation by its id ("3", "3.2", "3.2.1"); DF_ERR_NOT_FOUND if none. */
DF_EXPORT df_err_t df_test_op_at(df_test_t *t, const char *execution_id, const char *op_id, df_test_op_t *out);
/** Callback id of the (first) callback operation named name, nested ones included, or NULL. */
DF_EXPORT const char *df_test_callback_id(df_test_t *t, const char *execution_id, const char *name);

#ifdef __cplusplus
}
#endif
#endif /* DURAFLOW_TESTING_H */
