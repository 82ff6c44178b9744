/*
 * duraflow/duraflow.h -- durable functions for C.
 *
 * A workflow is a C function (df_handler_fn) whose durable operations --
 * steps, waits, callbacks, child contexts, parallel branches, map items,
 * child executions (invoke) and polling (wait_for_condition) -- are
 * checkpointed to Kafka (and RocksDB), so the function survives crashes and
 * can wait for a year without holding a thread.  The model mirrors the AWS
 * Lambda durable execution SDK (step / wait / create_callback /
 * wait_for_callback / run_in_child_context / parallel / map / invoke /
 * wait_for_condition) in C idiom.
 *
 * Replay: every time something happens to an execution (start, a timer
 * fired, a callback completed, a child execution ended) the handler runs
 * again from the top.  An operation that is already recorded returns its
 * recorded result, byte for byte, without running again.  Code outside
 * durable operations must therefore be deterministic.  Operation ids are a
 * counter per context: "1", "2", ... at the top level, "3.1", "3.2", ...
 * inside the child context opened by operation 3 (a branch of a parallel
 * opened by operation 3 is "3.<branch index + 1>", its operations
 * "3.<b>.1", ...).  On replay, an operation whose recorded name or type
 * differs from the code's stops the execution in the visible, resumable
 * state NONDETERMINISM, and its recorded result is never handed out.
 *
 * Suspension: an operation that cannot complete yet (a wait not over, a
 * callback not completed, a retry backoff, a child execution running)
 * returns DF_SUSPENDED; the function that got it (handler, child context,
 * branch) must return DF_SUSPENDED at once.  Every later durable call of the
 * same context in this replay also returns DF_SUSPENDED.  A branch of a
 * parallel / map that suspends does not hold up the other branches.
 *
 * Memory: a df_bytes_t (or df_batch_t, string) returned by an operation
 * points into memory owned by the execution's replay; it stays valid until
 * the handler returns.
 *
 * Threads: a handler runs on a worker thread (or the test runner's caller
 * thread).  The branches of df_parallel() / df_map() run concurrently on the
 * worker's pool ("worker.threads"), each branch on one thread at a time with
 * its own df_ctx_t; the call returns only when every branch function it
 * started has returned, so a branch or a step body may use memory of the
 * caller's stack frame.  Step bodies of different branches run at the same
 * time: what they share must be thread-safe.  A df_ctx_t is used only by
 * the thread running its function; step bodies must not call operations.
 * What is recorded (operation ids, names, results) never depends on thread
 * timing; which branches a completion config abandons may (as in AWS).
 *
 * Versions: a worker may register several versions of a workflow
 * (df_worker_register_version); a new execution runs the highest version
 * registered on the worker that starts it and keeps that version for its
 * whole life.
 *
 * History limits: an execution may record at most "history.max.operations"
 * operations (3,000) and "history.max.bytes" bytes (100 MB); the operation
 * beyond returns DF_ERR_HISTORY_LIMIT and the execution fails with a
 * message naming the limit.
 *
 * Allocation failure policy: public calls return DF_ERR_NOMEM (or NULL for
 * constructors) and leave their objects usable; nothing aborts.
 */
#ifndef DURAFLOW_H
#define DURAFLOW_H

#include <stddef.h>
#include <stdint.h>

#include "duraflow/error.h"
#include "duraflow/export.h"

#ifdef __cplusplus
extern "C" {
#endif


/** A read-only byte range.  Not NUL terminated; data may be NULL when len is 0. */
typedef struct df_bytes {
        const uint8_t *data;
        size_t len;
} df_bytes_t;

/** Largest payload (input, output, step result, callback payload), bytes. */
#define DF_PAYLOAD_MAX 1000000
/** Longest wait: 366 days, in ms. */
#define DF_WAIT_MAX_MS (366LL * 24 * 3600 * 1000)

#if defined(__GNUC__) || defined(__clang__)
#define DF_PRINTF_FORMAT(fmt_arg, first_arg) __attribute__((format(printf, fmt_arg, first_arg)))
#else
#define DF_PRINTF_FORMAT(fmt_arg, first_arg)
#endif

typedef struct df_ctx df_ctx_t;   /* a running (replaying) execution, or one of its child contexts */
typedef struct df_step df_step_t; /* a step attempt in progress */

/* ------------------------------------------------------------------ */
/* Workflow handler                                                    */
/* ------------------------------------------------------------------ */

/**
 * A workflow handler.  Returns DF_OK when the workflow succeeded (its output
 * is what df_ctx_set_output() set, empty by default), DF_SUSPENDED when an
 * operation suspended it, or any other error to fail the execution (the
 * message is what df_ctx_fail() set, or df_strerror(rc)).
 * Runs on the worker thread; may call every df_ctx_* and operation function.
 */
typedef df_err_t (*df_handler_fn)(df_ctx_t *ctx, const df_bytes_t *input, void *opaque);

/** The execution's id (its name).  Owned by ctx. */
DF_EXPORT const char *df_ctx_execution_id(const df_ctx_t *ctx);
/** Set the workflow's output (copied).  DF_ERR_PAYLOAD_TOO_LARGE over DF_PAYLOAD_MAX. */
DF_EXPORT df_err_t df_ctx_set_output(df_ctx_t *ctx, const void *data, size_t len);
/** Set the failure message recorded when the handler returns an error (copied). */
DF_EXPORT void df_ctx_fail(df_ctx_t *ctx, const char *message);
/** Message of the last failed operation in this replay (step error, callback
 * error, non-determinism), "" if none.  Owned by ctx. */
DF_EXPORT const char *df_ctx_last_error(const df_ctx_t *ctx);
/** 1 while the handler is replaying recorded operations, 0 once it runs new ones
 * (for logging only: never branch on it).  Per context: a branch's ctx
 * tells about that branch. */
DF_EXPORT int df_ctx_is_replaying(const df_ctx_t *ctx);
/** The workflow version this execution runs (>= 1; 1 for a workflow
 * registered without a version). */
DF_EXPORT int df_ctx_version(const df_ctx_t *ctx);

/* ------------------------------------------------------------------ */
/* step                                                                */
/* ------------------------------------------------------------------ */

typedef enum df_jitter {
        DF_JITTER_NONE = 0, /* delay as computed */
        DF_JITTER_FULL = 1, /* uniform in [0, delay] */
        DF_JITTER_HALF = 2, /* uniform in [delay/2, delay] */
} df_jitter_t;

typedef enum df_step_semantics {
        /** The body may run more than once per attempt (after a crash); default. */
        DF_AT_LEAST_ONCE_PER_RETRY = 0,
        /** A START checkpoint commits before the body runs; a replay that finds
         * START without a result raises DF_ERR_STEP_INTERRUPTED into the retry
         * strategy, so the body runs at most once per attempt. */
        DF_AT_MOST_ONCE_PER_RETRY = 1,
} df_step_semantics_t;

/**
 * Step options.  Zero-initialise and set what you need; zero fields take the
 * defaults (as the AWS durable execution SDK's retry strategy):
 * max_attempts 3, initial_delay_ms 1000, max_delay_ms 60000, backoff_rate 2.0,
 * jitter NONE.  Delay before attempt n+1 = min(max_delay, initial * rate^(n-1)),
 * then jitter.  Backoff waits are durable timers (no thread is held).
 */
typedef struct df_step_opts {
        int max_attempts;            /* >= 1; 1 = no retry */
        int64_t initial_delay_ms;
        int64_t max_delay_ms;
        double backoff_rate;         /* >= 1.0 */
        df_jitter_t jitter;
        const char *const *non_retryable; /* NULL-terminated error types that fail at once */
        df_step_semantics_t semantics;
} df_step_opts_t;

/**
 * A step body.  Report success with df_step_set_result() and return DF_OK, or
 * failure with df_step_set_error() and return any non-OK code.  Runs on the
 * thread of the context that called df_step (a pool thread inside a
 * parallel / map branch, concurrently with other branches' bodies); must not
 * call operations on any df_ctx_t.
 */
typedef df_err_t (*df_step_fn)(df_step_t *step, void *opaque);

/** 1-based attempt number of this run of the step (for wait_for_condition:
 * of the check). */
DF_EXPORT int df_step_attempt(const df_step_t *step);
/** Stable idempotency key: "<execution id>/<operation id>", the same on every
 * attempt and every re-run.  Owned by the step. */
DF_EXPORT const char *df_step_idempotency_key(const df_step_t *step);

/** Bytes of a W3C traceparent with its terminating NUL (55 + 1). */
#define DF_TRACEPARENT_SIZE 56

/**
 * This attempt's W3C trace context, to pass to the services the body calls
 * (e.g. as the HTTP header "traceparent"), so that their spans become
 * children of the attempt's span: "00-<trace id>-<span id>-<flags>", 55
 * lowercase characters, written NUL-terminated into buf (size >= 
 * DF_TRACEPARENT_SIZE; the caller owns buf).  The trace id is the
 * execution's (the traceparent its start carried, else the one the worker
 * created at START); the span id is the attempt span's, derived from
 * (trace id, execution id, operation id, attempt), so the same attempt
 * always gives the same value, also when its body runs again after a
 * crash; flags are the start's (01 = sampled).  Spans are exported only
 * when the worker has otlp.endpoint set; the context is there either way.
 * Call it from the step body (any of a parallel's threads: it reads only
 * this attempt's immutable data); the step handle is valid during the
 * body only.  Errors: DF_ERR_INVALID_ARG (NULL step or buf, size too
 * small: buf is "" when size > 0), DF_ERR_STATE (the step is not run by a
 * worker or the test runner's engine).
 */
DF_EXPORT df_err_t df_step_traceparent(const df_step_t *step, char *buf, size_t size);
/** Set the step's result (copied).  DF_ERR_PAYLOAD_TOO_LARGE over DF_PAYLOAD_MAX. */
DF_EXPORT df_err_t df_step_set_result(df_step_t *step, const void *data, size_t len);
/** Set the step's error: a type (matched against non_retryable) and a message. */
DF_EXPORT void df_step_set_error(df_step_t *step, const char *type, const char *message);

/**
 * Run fn as a durable step named name.
 * Returns DF_OK with *result (may be NULL) set to the recorded result;
 * DF_SUSPENDED (retry backoff pending, or an at-most-once START committing);
 * DF_ERR_STEP_FAILED when attempts are exhausted or the error is non-retryable
 * (df_ctx_last_error() tells "type: message"); DF_ERR_NONDETERMINISM.
 * opts may be NULL for the defaults.
 */
DF_EXPORT df_err_t df_step(df_ctx_t *ctx, const char *name, df_step_fn fn, void *opaque,
                           const df_step_opts_t *opts, df_bytes_t *result);

/* ------------------------------------------------------------------ */
/* wait                                                                */
/* ------------------------------------------------------------------ */

/**
 * Durable sleep of duration_ms (0 to DF_WAIT_MAX_MS), through the timer
 * service; the execution suspends and holds no thread.  As AWS durable
 * functions' wait.  Returns DF_OK once over, DF_SUSPENDED, DF_ERR_INVALID_ARG,
 * DF_ERR_NONDETERMINISM.
 */
DF_EXPORT df_err_t df_wait(df_ctx_t *ctx, const char *name, int64_t duration_ms);

/* ------------------------------------------------------------------ */
/* callbacks                                                           */
/* ------------------------------------------------------------------ */

/** Callback options; zero = no timeout / no heartbeat timeout. */
typedef struct df_callback_opts {
        int64_t timeout_ms;           /* 0..DF_WAIT_MAX_MS: fails DF_ERR_TIMED_OUT after it */
        int64_t heartbeat_timeout_ms; /* fails DF_ERR_TIMED_OUT without a heartbeat this long */
} df_callback_opts_t;

/**
 * Create a callback: an unguessable id (128 random bits, plus the routing
 * part "<op id>_<execution id>") that an external system completes with
 * success(payload), failure(error) or heartbeat, through df_client_callback()
 * or the CLI.  A completion that arrives before the workflow waits is kept.
 * *callback_id is owned by ctx.  As AWS durable functions' create_callback.
 */
DF_EXPORT df_err_t df_create_callback(df_ctx_t *ctx, const char *name, const df_callback_opts_t *opts,
                                      const char **callback_id);

/**
 * Wait for a callback created by df_create_callback().  DF_OK with *result
 * = the success payload; DF_ERR_CALLBACK_FAILED (df_ctx_last_error() is the
 * error); DF_ERR_TIMED_OUT (timeout or heartbeat timeout); DF_SUSPENDED.
 * Whichever of completion and timeout is recorded first wins.
 */
DF_EXPORT df_err_t df_callback_result(df_ctx_t *ctx, const char *callback_id, df_bytes_t *result);

/** Submitter of df_wait_for_callback: runs as a step, so once per attempt
 * however often the workflow replays; hands callback_id to the outside. */
typedef df_err_t (*df_submitter_fn)(df_step_t *step, const char *callback_id, void *opaque);

/**
 * create_callback + run submitter as a step named "<name>.submit" (with
 * step_opts, may be NULL) + df_callback_result.  As AWS durable functions'
 * wait_for_callback.
 */
DF_EXPORT df_err_t df_wait_for_callback(df_ctx_t *ctx, const char *name, df_submitter_fn submitter,
                                        void *opaque, const df_callback_opts_t *opts,
                                        const df_step_opts_t *step_opts, df_bytes_t *result);


/* ------------------------------------------------------------------ */
/* child contexts                                                      */
/* ------------------------------------------------------------------ */

/**
 * A child context's function: calls operations on ctx (the child's, with
 * ids under its operation's), sets its result with df_ctx_set_output(ctx),
 * returns DF_OK (succeeded), DF_SUSPENDED, or an error (failed: the message
 * is what df_ctx_fail(ctx) set, else df_ctx_last_error(ctx), else
 * df_strerror).  Runs on the thread that called the operation (for a
 * branch of a parallel / map: a pool thread).
 */
typedef df_err_t (*df_child_fn)(df_ctx_t *ctx, void *opaque);

/**
 * Run fn in a child context named name: one CHILD operation whose own
 * operations are "<id>.1", "<id>.2", ...  Its result (what fn set with
 * df_ctx_set_output) or failure is checkpointed as one unit; on replay a
 * completed child returns its recorded result without running fn again.
 * As AWS durable functions' run_in_child_context.
 * Returns DF_OK with *result (may be NULL); DF_ERR_CHILD_FAILED
 * (df_ctx_last_error() is the child's message); DF_SUSPENDED;
 * DF_ERR_NONDETERMINISM; DF_ERR_INVALID_ARG (bad name).
 */
DF_EXPORT df_err_t df_run_in_child_context(df_ctx_t *ctx, const char *name, df_child_fn fn, void *opaque,
                                           df_bytes_t *result);

/* ------------------------------------------------------------------ */
/* parallel and map                                                    */
/* ------------------------------------------------------------------ */

/** tolerated_failure_count: no failure tolerated, stated explicitly (with
 * min_successful, whose failures do not stop a batch early by default). */
#define DF_TOLERATE_NONE (-1)
/** tolerated_failure_count: any number of failures (run every item). */
#define DF_TOLERATE_ALL 0x7fffffff

/**
 * When a parallel / map completes, as AWS durable functions'
 * CompletionConfig.  Zero-initialised = every item must succeed: the first
 * failure completes the batch (FAILURE_TOLERANCE_EXCEEDED), as AWS's
 * all_successful default.
 *  - min_successful > 0: complete once this many items succeeded
 *    (MIN_SUCCESSFUL_REACHED); failures alone then do not complete it early
 *    unless a tolerance below is also set.
 *  - tolerated_failure_count > 0 (or DF_TOLERATE_NONE = 0 explicitly):
 *    complete when more items than this failed (FAILURE_TOLERANCE_EXCEEDED).
 *  - tolerated_failure_percentage in (0, 100]: complete when more than this
 *    percentage of all items failed (FAILURE_TOLERANCE_EXCEEDED).
 * Exceeded tolerance wins over the other reasons; when every item completed
 * without that, the reason is ALL_COMPLETED.
 */
typedef struct df_completion {
        int min_successful;
        int tolerated_failure_count;
        double tolerated_failure_percentage;
} df_completion_t;

/** Writes the name of map item index into buf (size bytes, NUL terminated);
 * opaque is df_map's.  Names follow the operation name rules. */
typedef void (*df_item_namer_fn)(const void *item, int index, void *opaque, char *buf, size_t size);

/** Options of df_parallel / df_map; zero = defaults. */
typedef struct df_batch_opts {
        int max_concurrency;        /* most items running at once, 0 = no limit but the worker's threads */
        df_completion_t completion;
        df_item_namer_fn namer;     /* df_map: item names; NULL = "<map name>-<index>" */
} df_batch_opts_t;

typedef enum df_item_status {
        DF_ITEM_SUCCEEDED = 0,
        DF_ITEM_FAILED = 1,
        DF_ITEM_STARTED = 2,     /* started, not completed when the batch completed: abandoned */
        DF_ITEM_NOT_STARTED = 3, /* never started: the batch completed first */
} df_item_status_t;

typedef enum df_completion_reason {
        DF_ALL_COMPLETED = 0,
        DF_MIN_SUCCESSFUL_REACHED = 1,
        DF_FAILURE_TOLERANCE_EXCEEDED = 2,
} df_completion_reason_t;

typedef struct df_batch_item {
        int index;               /* 0-based position in the input */
        const char *name;
        df_item_status_t status;
        df_bytes_t result;       /* SUCCEEDED: what the item's function set with df_ctx_set_output */
        const char *error;       /* FAILED: its message; "" otherwise */
} df_batch_item_t;

/** The result of a parallel / map: every item in input order.  Memory owned
 * by the replay (valid until the handler returns). */
typedef struct df_batch {
        int total, succeeded, failed, started, not_started;
        df_completion_reason_t reason;
        const df_batch_item_t *items; /* total entries */
} df_batch_t;

/** A branch of df_parallel: name (NULL = "branch-<index>"), function, its opaque. */
typedef struct df_branch {
        const char *name;
        df_child_fn fn;
        void *opaque;
} df_branch_t;

/**
 * Run n branches concurrently, each in its own child context (a CHILD
 * operation "<id>.<index + 1>" under the PARALLEL operation <id>), at most
 * opts->max_concurrency at once and at most "worker.threads" bodies at once
 * per worker.  A branch that suspends (a wait, a callback, a retry) frees
 * its slot for the next one.  Completes per opts->completion; branches not
 * completed by then are abandoned: they record nothing more, their timers
 * and callbacks become no-ops.  The batch (*batch) is checkpointed: on
 * replay a completed parallel returns it without running any branch.  As
 * AWS durable functions' parallel.
 * Returns DF_OK with *batch (whatever the completion reason: inspect it);
 * DF_SUSPENDED (some branch suspended and the batch is not complete yet);
 * DF_ERR_NONDETERMINISM; DF_ERR_HISTORY_LIMIT; DF_ERR_INVALID_ARG (n < 0,
 * a bad name, a NULL fn).  Blocks until every branch function it started
 * has returned.
 */
DF_EXPORT df_err_t df_parallel(df_ctx_t *ctx, const char *name, const df_branch_t *branches, int n,
                               const df_batch_opts_t *opts, df_batch_t *batch);

/** A map item's function: as df_child_fn, with the item and its index. */
typedef df_err_t (*df_map_fn)(df_ctx_t *ctx, const void *item, int index, void *opaque);

/**
 * fn(item) for each of the n items, concurrently, each in its own child
 * context, as df_parallel (a MAP operation).  items may be NULL (fn gets
 * NULL and uses the index).  As AWS durable functions' map.
 */
DF_EXPORT df_err_t df_map(df_ctx_t *ctx, const char *name, const void *const *items, int n, df_map_fn fn,
                          void *opaque, const df_batch_opts_t *opts, df_batch_t *batch);

/** "ALL_COMPLETED", "MIN_SUCCESSFUL_REACHED", "FAILURE_TOLERANCE_EXCEEDED"; static. */
DF_EXPORT const char *df_completion_reason_name(df_completion_reason_t reason);
/** "SUCCEEDED", "FAILED", "STARTED", "NOT_STARTED"; static. */
DF_EXPORT const char *df_item_status_name(df_item_status_t status);

/* ------------------------------------------------------------------ */
/* invoke                                                              */
/* ------------------------------------------------------------------ */

/**
 * Start child execution child_execution_id of workflow (with input, may be
 * NULL) and suspend until it ends; the child runs wherever its partition is,
 * as any execution (the newest version of workflow there).  The link is
 * recorded both ways (this INVOKE operation holds the child id; the child's
 * execution record the parent id and operation).  When the child ends, its
 * status, output and error come back as an event.  Idempotent: a replay
 * never starts a second child (and a start is idempotent by execution id).
 * Stopping this execution stops the child.  As AWS durable functions'
 * invoke.
 * Returns DF_OK with *result = the child's output; DF_ERR_INVOKE_FAILED when
 * it ended FAILED, STOPPED or TIMED_OUT, or could not start (conflict,
 * unknown workflow): df_ctx_last_error() says "child execution <id> ended
 * <STATUS>: <its error>"; DF_SUSPENDED; DF_ERR_INVALID_ARG (bad id, own id,
 * input over DF_PAYLOAD_MAX); DF_ERR_NONDETERMINISM.
 */
DF_EXPORT df_err_t df_invoke(df_ctx_t *ctx, const char *name, const char *workflow, const char *child_execution_id,
                             const df_bytes_t *input, df_bytes_t *result);

/* ------------------------------------------------------------------ */
/* wait_for_condition                                                  */
/* ------------------------------------------------------------------ */

/**
 * Polling strategy; zero fields take the defaults of AWS durable functions'
 * strategy helper: max_attempts 60, initial_delay_ms 5000, max_delay_ms
 * 300000, backoff_rate 1.5 -- except jitter, whose zero is DF_JITTER_NONE
 * (AWS's helper defaults to FULL: set it).  The wait after unmet check n is
 * min(max_delay, initial_delay * backoff_rate^(n-1)), then jitter; each is a
 * durable timer.
 */
typedef struct df_condition_strategy {
        int max_attempts;
        int64_t initial_delay_ms;
        int64_t max_delay_ms;
        double backoff_rate;
        df_jitter_t jitter;
} df_condition_strategy_t;

/**
 * A check of df_wait_for_condition: runs as a step attempt (the attempt
 * number is the check's, the idempotency key the operation's).  state is
 * the current state (the initial one, then what the last check set); set
 * the new state with df_step_set_result (unchanged if not set), *done = 1
 * to stop polling.  A non-OK return fails the operation with the error set
 * by df_step_set_error (no retry: catch transient errors and keep polling).
 */
typedef df_err_t (*df_check_fn)(df_step_t *step, const df_bytes_t *state, int *done, void *opaque);

/**
 * Poll check until it sets *done, waiting between checks per strategy (may
 * be NULL).  The state is checkpointed after every check.  As AWS durable
 * functions' wait_for_condition.
 * Returns DF_OK with *final_state; DF_ERR_CONDITION_NOT_MET after
 * max_attempts checks without *done (df_ctx_last_error() names the
 * operation and the count); DF_ERR_STEP_FAILED (the check failed);
 * DF_SUSPENDED; DF_ERR_INVALID_ARG; DF_ERR_NONDETERMINISM.
 */
DF_EXPORT df_err_t df_wait_for_condition(df_ctx_t *ctx, const char *name, df_check_fn check, void *opaque,
                                         const df_bytes_t *initial_state, const df_condition_strategy_t *strategy,
                                         df_bytes_t *final_state);

/* ------------------------------------------------------------------ */
/* replay-aware logging                                                */
/* ------------------------------------------------------------------ */

typedef enum df_log_level {
        DF_LOG_ERROR = 0,
        DF_LOG_WARN = 1,
        DF_LOG_INFO = 2,
        DF_LOG_DEBUG = 3,
} df_log_level_t;

/**
 * Log a line from workflow code, to the worker's log (stderr, at or above
 * "log.level", in "log.format").  Writes nothing while ctx replays recorded
 * operations (so a line appears once however often the handler replays), as
 * AWS durable functions' context logger.  The line carries the execution
 * id, the workflow, the operation id this context reached last and its
 * attempt (text: "... INFO text execution_id=E workflow=W op_id=3.1
 * attempt=1 worker_id=..."; json: the same as fields).  A line is at most
 * 4,096 bytes; in text, control characters, bidi controls and invalid UTF-8
 * are written escaped (\xNN, \u{NNNN}).  Thread-safe.
 */
DF_EXPORT void df_log(df_ctx_t *ctx, df_log_level_t level, const char *fmt, ...) DF_PRINTF_FORMAT(3, 4);
/** The same from a step body (which only runs for real, never on replay):
 * the line carries its operation id and attempt. */
DF_EXPORT void df_step_log(df_step_t *step, df_log_level_t level, const char *fmt, ...) DF_PRINTF_FORMAT(3, 4);

#ifdef __cplusplus
}
#endif

#include "duraflow/conf.h"
#include "duraflow/runtime.h"

#endif /* DURAFLOW_H */
