/*
 * duraflow/runtime.h -- the programs' building blocks: worker, timer
 * service, control client, in-process test runner.
 *
 * Modes: with "brokers" empty, the first object created in a process starts
 * librdkafka's in-process mock cluster (embedded mode) and every later
 * object of the process uses it; df_embedded_bootstrap() tells its address.
 *
 * Every _new has a _destroy; _destroy(NULL) is a no-op.
 */
#ifndef DURAFLOW_RUNTIME_H
#define DURAFLOW_RUNTIME_H

#include <stdint.h>
#include <stdio.h>

#include "duraflow/conf.h"
#include "duraflow/error.h"

#include "duraflow/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Include through duraflow/duraflow.h, which defines df_handler_fn. */

/* ---------------- worker ---------------- */

typedef struct df_worker df_worker_t;

/**
 * Create a worker: joins the consumer group "group.id" on <prefix>.events,
 * keeps execution state in RocksDB under "state.dir"/<worker.id>, writes
 * changelog, timers, results and offsets in one Kafka transaction per batch
 * (transactional id "<prefix>-worker-<worker.id>").  Creates the topics if
 * missing.  Returns NULL with errstr set on failure.
 */
DF_EXPORT df_worker_t *df_worker_new(const df_conf_t *conf, char *errstr, size_t errstr_size);

/** Register a workflow handler under name (before df_worker_run): version 1
 * of it (df_worker_register_version(w, name, 1, fn, opaque)).
 * DF_ERR_INVALID_ARG on an empty name or a (name, version) registered already. */
DF_EXPORT df_err_t df_worker_register(df_worker_t *w, const char *name, df_handler_fn fn, void *opaque);

/**
 * Register version (>= 1) of workflow name (before df_worker_run); several
 * versions of one workflow live side by side.  A new execution runs the
 * highest version registered on the worker that processes its start, and
 * keeps that version for its whole life whatever is deployed later (the
 * execution record holds it).  An execution whose version this worker does
 * not have is parked as VERSION_MISSING (visible, not failed): it goes on
 * by itself once a worker that has the version processes it (it looks
 * again on a durable timer, 10 s doubling to 1 h, and on every event for
 * it; or resume it).  DF_ERR_INVALID_ARG on an empty name, a version < 1,
 * a NULL fn or a (name, version) registered already.  Not thread-safe with
 * df_worker_run.
 */
DF_EXPORT df_err_t df_worker_register_version(df_worker_t *w, const char *name, int version, df_handler_fn fn,
                                              void *opaque);

/** Run until df_worker_stop(); returns DF_OK, or the fatal error
 * (DF_ERR_FENCED when another instance took over its transactional id). */
DF_EXPORT df_err_t df_worker_run(df_worker_t *w);

/** Ask df_worker_run to return after the current batch.  Thread- and
 * async-signal-safe. */
DF_EXPORT void df_worker_stop(df_worker_t *w);

/** Counters since start (thread-safe reads). */
typedef struct df_worker_stats {
        uint64_t batches, events, executions_finished, steps_run, dlq, aborts;
        int healthy; /* 0 after a store or Kafka error it is retrying */
} df_worker_stats_t;
DF_EXPORT void df_worker_get_stats(df_worker_t *w, df_worker_stats_t *out);

DF_EXPORT void df_worker_destroy(df_worker_t *w);

/* ---------------- timer service ---------------- */

typedef struct df_timer_service df_timer_service_t;

/**
 * Create a timer service: consumes <prefix>.timers in consumer group
 * "timer.group.id", indexes pending timers in RocksDB under
 * "state.dir"/timers-<worker.id> by (due time, timer id), and when one is due
 * produces its payload to its target topic and a tombstone to
 * <prefix>.timers in one transaction.  Due times are absolute UTC ms.
 */
DF_EXPORT df_timer_service_t *df_timer_service_new(const df_conf_t *conf, char *errstr, size_t errstr_size);
DF_EXPORT df_err_t df_timer_service_run(df_timer_service_t *ts);
DF_EXPORT void df_timer_service_stop(df_timer_service_t *ts); /* thread- and signal-safe */
typedef struct df_timer_stats {
        uint64_t fired, pending;
        int64_t lateness_max_ms;
} df_timer_stats_t;
DF_EXPORT void df_timer_service_get_stats(df_timer_service_t *ts, df_timer_stats_t *out);
DF_EXPORT void df_timer_service_destroy(df_timer_service_t *ts);

/* ---------------- control client ---------------- */

typedef struct df_client df_client_t;

/** df_client_open(conf, 0, ...): creates the topics if missing.  NULL with
 * errstr set on failure (the reason's code is lost: use df_client_open to
 * tell them apart). */
DF_EXPORT df_client_t *df_client_new(const df_conf_t *conf, char *errstr, size_t errstr_size);

/** Flag of df_client_open: never create the topics; report them missing. */
#define DF_CLIENT_NO_CREATE_TOPICS 0x1u

/**
 * Create a control client.  conf is copied (the caller keeps its own).
 * Unless in embedded mode with flags 0, first waits for the brokers to
 * answer a metadata request, for up to "startup.timeout.ms" (at least 1 s;
 * librdkafka's connection errors meanwhile are logged at debug level only).  Then with flags 0 creates the five topics
 * <prefix>.events, .state, .timers, .results, .dlq if missing (as
 * df_client_new always did); with DF_CLIENT_NO_CREATE_TOPICS (callers that
 * only read, such as `duraflow list`) checks that all five exist and creates
 * nothing.
 *
 * Returns DF_OK and a client in *out, to free with df_client_destroy().
 * Otherwise *out is NULL, errstr holds a one-line message and the code is:
 *  - DF_ERR_INVALID_ARG: conf or out NULL, or a flag not defined above;
 *  - DF_ERR_CONF: a kafka.* property librdkafka refuses (the message names it);
 *  - DF_ERR_KAFKA: no answer from the brokers within startup.timeout.ms (the
 *    message names the "brokers" address and the last connection error), or
 *    creating the topics failed;
 *  - DF_ERR_NOT_FOUND: DF_CLIENT_NO_CREATE_TOPICS and a topic is missing:
 *    "no duraflow topics with prefix \"P\" on BROKERS" when none exists, else
 *    the missing topics by name;
 *  - DF_ERR_NOMEM, DF_ERR_CODEC (the Avro schemas did not load).
 * Thread-safe: clients may be opened concurrently (the embedded cluster is
 * started once per process).
 */
DF_EXPORT df_err_t df_client_open(const df_conf_t *conf, unsigned flags, df_client_t **out, char *errstr,
                                  size_t errstr_size);
DF_EXPORT void df_client_destroy(df_client_t *c);

/**
 * Start an execution named execution_id of workflow with input; idempotent
 * by name: the same name with the same workflow and input returns DF_OK
 * (*existed = 1 if it was already there); a different input returns
 * DF_ERR_CONFLICT.  Waits up to "client.timeout.ms" for the worker's reply
 * (DF_ERR_TIMEOUT).  existed may be NULL.  Thread-safe.
 */
DF_EXPORT df_err_t df_client_start(df_client_t *c, const char *workflow, const char *execution_id, const void *input,
                         size_t len, int *existed, char *errstr, size_t errstr_size);

/** Send a start without waiting for the reply (bulk loading); the start is
 * acknowledged (durable in Kafka) when df_client_flush() returns DF_OK. */
DF_EXPORT df_err_t df_client_start_async(df_client_t *c, const char *workflow, const char *execution_id,
                               const void *input, size_t len, char *errstr, size_t errstr_size);
/** Wait until every message sent so far is acknowledged.  DF_OK; DF_ERR_TIMEOUT
 * (still in flight: call again); DF_ERR_KAFKA when some message since the last
 * flush was not delivered and is gone (send those again: starts are
 * idempotent by execution name, a repeated completion is rejected as
 * finished). */
DF_EXPORT df_err_t df_client_flush(df_client_t *c, int timeout_ms);

typedef enum df_callback_outcome {
        DF_CALLBACK_SUCCESS = 0,
        DF_CALLBACK_FAILURE = 1,
        DF_CALLBACK_HEARTBEAT = 2,
} df_callback_outcome_t;

/**
 * Complete (or heartbeat) a callback.  With wait_reply, waits for the
 * worker's verdict: DF_OK, DF_ERR_UNKNOWN_CALLBACK (forged or unknown id),
 * DF_ERR_FINISHED (already completed or timed out), DF_ERR_NOT_FOUND (no such
 * execution); without it, returns once the completion is durable in Kafka.
 * payload is the success payload, error the failure message (may be NULL).
 */
DF_EXPORT df_err_t df_client_callback(df_client_t *c, const char *callback_id, df_callback_outcome_t outcome,
                            const void *payload, size_t len, const char *error, int wait_reply,
                            char *errstr, size_t errstr_size);

/** Enqueue a callback completion without waiting: it is acknowledged (durable
 * in Kafka) once df_client_flush() returns DF_OK.  For senders of many
 * completions (one flush for a batch).  Errors as df_client_callback's
 * argument checks. */
DF_EXPORT df_err_t df_client_callback_async(df_client_t *c, const char *callback_id, df_callback_outcome_t outcome,
                                  const void *payload, size_t len, const char *error, char *errstr,
                                  size_t errstr_size);

/** Stop an execution (STOPPED); waits for the reply. */
DF_EXPORT df_err_t df_client_stop(df_client_t *c, const char *execution_id, const char *reason, char *errstr,
                        size_t errstr_size);

/**
 * Read the execution state from the <prefix>.state changelog (read_committed)
 * and return JSON text (caller frees with free()):
 *  - describe: {"execution_id","workflow","status","created_ms","updated_ms",
 *    "input","output","error"} (payloads as UTF-8 text when valid, else base64
 *    under "*_b64");
 *  - history: the describe object plus "operations": [{"op_id","name","type",
 *    "status","attempt","started_ms","updated_ms","due_ms","result","error",
 *    "callback_id"}] in operation order;
 *  - list: [describe objects] filtered by workflow and/or status (NULL = any).
 * DF_ERR_NOT_FOUND when the execution does not exist.
 */
DF_EXPORT df_err_t df_client_describe(df_client_t *c, const char *execution_id, int with_history, char **json,
                            char *errstr, size_t errstr_size);
DF_EXPORT df_err_t df_client_list(df_client_t *c, const char *workflow, const char *status, char **json, char *errstr,
                        size_t errstr_size);

/* ---------------- results ---------------- */

typedef struct df_results df_results_t;

/**
 * A reader of <prefix>.results (read_committed): terminal results of
 * executions, for callers waiting on them.  from_beginning = 1 reads every
 * result kept by the topic, 0 only those produced from now on.  Not
 * thread-safe: one thread polls a reader.
 */
DF_EXPORT df_results_t *df_results_open(const df_conf_t *conf, int from_beginning, char *errstr, size_t errstr_size);

/** Called for each terminal result: status is "SUCCEEDED", "FAILED", "STOPPED",
 * "TIMED_OUT"; output and error are owned by the reader and valid during the
 * call.  An execution's result may be delivered more than once (dedupe by id). */
typedef void (*df_result_fn)(const char *execution_id, const char *status, const struct df_bytes *output,
                             const char *error, void *opaque);

/** Deliver what arrives within timeout_ms; returns how many results were
 * delivered, or -1 on error. */
DF_EXPORT int df_results_poll(df_results_t *r, int timeout_ms, df_result_fn fn, void *opaque);
DF_EXPORT void df_results_close(df_results_t *r);

/* ---------------- embedded mode ---------------- */

/** Bootstrap address "127.0.0.1:port" of this process's mock cluster, starting
 * it if needed (partitions from conf); NULL on failure.  Static string. */
DF_EXPORT const char *df_embedded_bootstrap(const df_conf_t *conf);

/* ---------------- logging ---------------- */

/** Log levels for "log.level": error, warn, info, debug. Logs go to stderr. */
DF_EXPORT void df_log_set_level(const char *level);

#ifdef __cplusplus
}
#endif
#endif /* DURAFLOW_RUNTIME_H */
