/*
 * duraflow/duraflow.h -- durable functions for C.
 *
 * A workflow is a C function (df_handler_fn) whose durable operations --
 * steps, waits and callbacks -- are checkpointed to Kafka (and RocksDB), so
 * the function survives crashes and can wait for a year without holding a
 * thread.  The model mirrors the AWS Lambda durable execution SDK
 * (step / wait / create_callback / wait_for_callback) in C idiom.
 *
 * Replay: every time something happens to an execution (start, a timer
 * fired, a callback completed) the handler runs again from the top.  An
 * operation that is already recorded returns its recorded result, byte for
 * byte, without running again.  Code outside durable operations must
 * therefore be deterministic.  Operation ids are a counter per context
 * ("1", "2", ...); on replay, an operation whose recorded name or type
 * differs from the code's stops the execution in the visible, resumable
 * state NONDETERMINISM, and its recorded result is never handed out.
 *
 * Suspension: an operation that cannot complete yet (a wait not over, a
 * callback not completed, a retry backoff) returns DF_SUSPENDED; the handler
 * must return DF_SUSPENDED at once.  Every later durable call of the same
 * replay also returns DF_SUSPENDED.
 *
 * Memory: a df_bytes_t returned by an operation points into memory owned by
 * the context; it stays valid until the handler returns.
 *
 * Threads: a handler and its step functions run on the worker's thread (or
 * the test runner's caller thread), one execution at a time; they must not
 * call into the same df_ctx_t from other threads.
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

typedef struct df_ctx df_ctx_t;   /* a running (replaying) execution */
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
 * (for logging only: never branch on it). */
DF_EXPORT int df_ctx_is_replaying(const df_ctx_t *ctx);

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
 * worker thread; must not call operations on the workflow's df_ctx_t.
 */
typedef df_err_t (*df_step_fn)(df_step_t *step, void *opaque);

/** 1-based attempt number of this run of the step. */
DF_EXPORT int df_step_attempt(const df_step_t *step);
/** Stable idempotency key: "<execution id>/<operation id>", the same on every
 * attempt and every re-run.  Owned by the step. */
DF_EXPORT const char *df_step_idempotency_key(const df_step_t *step);
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

#ifdef __cplusplus
}
#endif

#include "duraflow/conf.h"
#include "duraflow/runtime.h"

#endif /* DURAFLOW_H */
