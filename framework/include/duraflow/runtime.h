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

#include <stddef.h>
#include <stdint.h>
#include <stdio.h> /* programs have come to rely on it */

/* df_bytes_t, df_handler_fn (duraflow.h includes this header at its end) */
#include "duraflow/duraflow.h"

#include "duraflow/conf.h"
#include "duraflow/error.h"

#include "duraflow/export.h"

#ifdef __cplusplus
extern "C" {
#endif

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

/** Counters since start.  Thread-safe: may be called from any thread while
 * df_worker_run() runs; each counter is read atomically (the set is not one
 * snapshot). */
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

/** Longest execution id: 1..200 characters of [A-Za-z0-9._:@-]. */
#define DF_EXECUTION_ID_MAX 200
/** Longest workflow name, bytes (UTF-8, no control characters). */
#define DF_WORKFLOW_NAME_MAX 200
/** Longest callback failure message or stop reason, bytes (UTF-8): what a
 * worker records of a text whole. */
#define DF_MESSAGE_MAX 32768

/** DF_OK when id is 1..DF_EXECUTION_ID_MAX characters of A-Z a-z 0-9 . _ : @ -;
 * otherwise DF_ERR_INVALID_ARG with a message that quotes id (escaped, as
 * df_text_escape) and says the allowed form.  Every client call that takes
 * an execution id checks it so; call this to check before opening a client.
 * Thread-safe. */
DF_EXPORT df_err_t df_execution_id_check(const char *id, char *errstr, size_t errstr_size);
/** DF_OK when name is 1..DF_WORKFLOW_NAME_MAX bytes of valid UTF-8 with no
 * control character (C0, DEL, C1, bidi controls); otherwise
 * DF_ERR_INVALID_ARG naming the rule broken.  Thread-safe. */
DF_EXPORT df_err_t df_workflow_name_check(const char *name, char *errstr, size_t errstr_size);

/** DF_OK when text is NULL or valid UTF-8 of at most max bytes; otherwise
 * DF_ERR_INVALID_ARG with "<field> is not valid UTF-8" or "<field> is N
 * bytes, over the limit of MAX" (the text quoted escaped).  The check of
 * callback failure messages and stop reasons (max DF_MESSAGE_MAX).
 * Thread-safe. */
DF_EXPORT df_err_t df_text_check(const char *field, const char *text, size_t max, char *errstr,
                                 size_t errstr_size);

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
 * librdkafka's connection errors meanwhile are logged at debug level only).
 * Then with flags 0 creates the five topics <prefix>.events, .state,
 * .timers, .results, .dlq if missing (as df_client_new always did); with
 * DF_CLIENT_NO_CREATE_TOPICS (callers that only read, such as `duraflow
 * list`) checks that all five exist and creates nothing.  The partition
 * counts are the topics' own, as the brokers report them ("partitions" only
 * sizes topics the client creates).
 *
 * Returns DF_OK and a client in *out, to free with df_client_destroy().
 * Otherwise *out is NULL, errstr holds a one-line message and the code is:
 *  - DF_ERR_INVALID_ARG: conf or out NULL, or a flag not defined above;
 *  - DF_ERR_CONF: a kafka.* property librdkafka refuses (the message names
 *    it), or <prefix>.events and <prefix>.state have different partition
 *    counts (the message gives both);
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
 * Start an execution named execution_id of workflow with input (len bytes,
 * at most DF_PAYLOAD_MAX); idempotent by name: the same name with the same
 * workflow and input returns DF_OK (*existed = 1 if it was already there); a
 * different input returns DF_ERR_CONFLICT.  Waits up to "client.timeout.ms"
 * for the worker's reply.  existed may be NULL.  Thread-safe.
 * Errors: DF_ERR_INVALID_ARG (execution id or workflow name as
 * df_execution_id_check / df_workflow_name_check say, NULL input with len >
 * 0), DF_ERR_PAYLOAD_TOO_LARGE, DF_ERR_CONFLICT, DF_ERR_UNKNOWN_WORKFLOW,
 * DF_ERR_REJECTED (the worker dead-lettered the request: errstr is its
 * message), DF_ERR_DEADLINE (no worker replied in time: the request is
 * durable in <prefix>.events and errstr says so; df_client_describe tells
 * whether a worker recorded it), DF_ERR_KAFKA.
 */
DF_EXPORT df_err_t df_client_start(df_client_t *c, const char *workflow, const char *execution_id, const void *input,
                                   size_t len, int *existed, char *errstr, size_t errstr_size);

/** Send a start without waiting for the reply (bulk loading); the start is
 * acknowledged (durable in Kafka) when df_client_flush() returns DF_OK.
 * Argument errors as df_client_start's. */
DF_EXPORT df_err_t df_client_start_async(df_client_t *c, const char *workflow, const char *execution_id,
                                         const void *input, size_t len, char *errstr, size_t errstr_size);

/**
 * df_client_start, the execution joining the caller's trace: traceparent is
 * a W3C traceparent ("00-<32 hex>-<16 hex>-<2 hex>", the caller's span as
 * parent-id; NULL or "" = none: the worker creates a new trace at START).
 * It is kept with the execution (its first START wins: a repeated start
 * keeps the recorded one) and carried in a Kafka header "traceparent" on
 * the start and on every event, timer and result record of the execution;
 * the execution's span is a child of the parent-id, its operations' and
 * attempts' spans below it (when the workers export spans: otlp.endpoint).
 * Errors as df_client_start's; a malformed traceparent is DF_ERR_INVALID_ARG
 * with errstr naming the field and the rule (df_traceparent_check).
 */
DF_EXPORT df_err_t df_client_start_traced(df_client_t *c, const char *workflow, const char *execution_id,
                                          const void *input, size_t len, const char *traceparent, int *existed,
                                          char *errstr, size_t errstr_size);
/** df_client_start_async with a traceparent as df_client_start_traced's. */
DF_EXPORT df_err_t df_client_start_async_traced(df_client_t *c, const char *workflow, const char *execution_id,
                                                const void *input, size_t len, const char *traceparent,
                                                char *errstr, size_t errstr_size);
/**
 * Check a W3C traceparent (Trace Context level 1: version 00 of exactly 55
 * characters, lowercase hex, trace-id and parent-id not all zeros, version
 * ff invalid; surrounding spaces and tabs ignored).  DF_OK, or
 * DF_ERR_INVALID_ARG with errstr naming the field and the rule, e.g.
 * "traceparent: trace-id is all zeros".  Pure; thread-safe.
 */
DF_EXPORT df_err_t df_traceparent_check(const char *traceparent, char *errstr, size_t errstr_size);
/** Wait until every message sent so far is acknowledged.  DF_OK; DF_ERR_DEADLINE
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
 * DF_OK when callback_id has the form of one (<32 lowercase hex>_<op id>_<a
 * valid execution id>, as workers issue them); otherwise DF_ERR_INVALID_ARG
 * with errstr naming it (escaped) and the form.  Offline: whether it is a
 * real one only the worker knows.  Thread-safe.
 */
DF_EXPORT df_err_t df_callback_id_check(const char *callback_id, char *errstr, size_t errstr_size);

/**
 * Complete (or heartbeat) a callback.  With wait_reply, waits for the
 * worker's verdict: DF_OK, DF_ERR_UNKNOWN_CALLBACK (forged, unknown or
 * malformed id), DF_ERR_FINISHED (already completed or timed out),
 * DF_ERR_NOT_FOUND (no such execution), DF_ERR_REJECTED, DF_ERR_DEADLINE (as
 * df_client_start's); without it, returns once the completion is durable in
 * Kafka.  payload is the success payload (at most DF_PAYLOAD_MAX bytes),
 * error the failure message (may be NULL; valid UTF-8 of at most
 * DF_MESSAGE_MAX bytes, else DF_ERR_INVALID_ARG).
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

/** Stop an execution (STOPPED); waits for the reply.  reason may be NULL
 * ("stopped by client"); valid UTF-8 of at most DF_MESSAGE_MAX bytes, else
 * DF_ERR_INVALID_ARG.  Other errors as df_client_start's. */
DF_EXPORT df_err_t df_client_stop(df_client_t *c, const char *execution_id, const char *reason, char *errstr,
                                  size_t errstr_size);

/*
 * An operator's levers (as Temporal's, Restate's, DBOS'), each an event on
 * <prefix>.events applied by the worker that owns the execution inside its
 * batch transaction (exactly once), each waiting for that worker's reply.
 * reason may be NULL; valid UTF-8 of at most DF_MESSAGE_MAX bytes, else
 * DF_ERR_INVALID_ARG.  DF_ERR_NOT_FOUND: no such execution; transport
 * errors as df_client_start's.  Thread safety as the other calls.
 */

/** Pause: the execution runs no handler and no step (status PAUSED);
 * timers that fire, callback completions and invoked children's results
 * that arrive meanwhile are recorded and take effect at df_client_resume
 * (a timer due during the pause is honoured then).  DF_OK (also when paused
 * already), DF_ERR_FINISHED (it ended). */
DF_EXPORT df_err_t df_client_pause(df_client_t *c, const char *execution_id, const char *reason, char *errstr,
                                   size_t errstr_size);
/** Resume: a PAUSED execution goes on; a NONDETERMINISM or QUARANTINED one
 * replays again (once the fixed code runs), its crash count reset; a
 * VERSION_MISSING one looks for its version again.  On a running or
 * suspended execution it is a harmless replay.  DF_OK, DF_ERR_FINISHED. */
DF_EXPORT df_err_t df_client_resume(df_client_t *c, const char *execution_id, char *errstr, size_t errstr_size);
/** Restart a FAILED, STOPPED or TIMED_OUT execution from the top-level
 * operation from_op ("1", "2", ...; NULL or "": the first one that did not
 * succeed).  The operations before it keep their recorded results byte for
 * byte; it and every one after it are discarded and run afresh (new
 * attempts).  Rule: a restart point is a top-level operation: a child
 * context's, branch's or item's result is checkpointed as one unit, so a
 * failure inside one reruns the whole operation around it.  An invoked
 * child that had ended is not re-run (its recorded end is reported again).
 * The execution's run log (df_exec_info_t.run_log) gets one line: when,
 * from where, what was discarded, why.  DF_OK, DF_ERR_STATE (another
 * status), DF_ERR_INVALID_ARG (from_op nested, malformed or beyond the
 * history). */
DF_EXPORT df_err_t df_client_restart(df_client_t *c, const char *execution_id, const char *from_op,
                                     const char *reason, char *errstr, size_t errstr_size);
/** Purge a finished execution now (as retention.ms does later): its records
 * are tombstoned in <prefix>.state (gone after compaction) and in the
 * owning worker's store; the id may be started again as a new execution.
 * DF_OK, DF_ERR_STATE (not finished: stop it first). */
DF_EXPORT df_err_t df_client_purge(df_client_t *c, const char *execution_id, char *errstr, size_t errstr_size);

/* ---------------- timers: delayed delivery ---------------- */

/*
 * The timer service (df_timer_service_new, `duraflow timer-service`) is a
 * general delayed-delivery service: any producer asks it to deliver a
 * payload to a topic and key at a due time, and it does so once, in a
 * Kafka transaction with the timer's removal, however often it or the
 * broker restart in between.  A timer is a Timer record (schemas/Timer.avsc)
 * keyed by its id on the compacted <prefix>.timers; scheduling an id again
 * replaces the pending timer of that id; a cancel is a tombstone.
 */

/** Longest timer id, bytes. */
#define DF_TIMER_ID_MAX 256
/** Longest record key a timer delivers with, bytes. */
#define DF_TIMER_KEY_MAX 65536
/** Longest Kafka topic name, bytes (Kafka's own limit). */
#define DF_TOPIC_NAME_MAX 249
/** How far from now a due time may lie, either way, ms (DF_WAIT_MAX_MS,
 * 366 days).  The bound catches seconds or microseconds passed for ms. */
#define DF_TIMER_DUE_RANGE_MS DF_WAIT_MAX_MS

/** DF_OK when id is 1..DF_TIMER_ID_MAX bytes of valid UTF-8 with no control
 * character (C0, DEL, C1, bidi controls, U+2028/U+2029) and no '/' (ids
 * with '/' are the workers' own timers: "<execution>/<op>/<kind>/<seq>",
 * which a timer of this API can neither replace nor cancel); otherwise
 * DF_ERR_INVALID_ARG with a message naming the rule ("timer id ...").
 * Thread-safe. */
DF_EXPORT df_err_t df_timer_id_check(const char *id, char *errstr, size_t errstr_size);

/**
 * Ask the timer service to produce payload (plen bytes, at most
 * DF_PAYLOAD_MAX; may be NULL when plen is 0) with record key key (klen
 * bytes, at most DF_TIMER_KEY_MAX; klen 0 = no key) to topic at due_ms, an
 * absolute UTC time in ms since the epoch.  A due time already past fires
 * as soon as the service reads the timer.  Accuracy: the service sleeps until
 * the next due time (or a new timer record), at most "timer.poll.max.ms"
 * (500 ms); a delivery is never early by its clock.
 *
 * timer_id names the timer (df_timer_id_check): scheduling an id that is
 * pending replaces it (new due time, target and payload); an id that has
 * fired may be used again.  Ids are shared by every producer using the same
 * topic.prefix: choose them unique (e.g. "<your service>:<your key>").
 *
 * topic: 1..DF_TOPIC_NAME_MAX characters of A-Z a-z 0-9 . _ -, not "." or
 * "..", not <prefix>.timers itself; the topic must exist (it is looked up
 * once per client, and for up to 1 s when it is not there yet: a timer to a
 * missing topic could never be delivered).
 * The key and payload are copied; the caller keeps its buffers.
 *
 * Returns once the timer is durable in <prefix>.timers (acknowledged by
 * the brokers, waiting up to "client.timeout.ms"), which also acknowledges
 * every df_*_async message of this client sent before.
 * Errors: DF_ERR_INVALID_ARG (c NULL; timer id as df_timer_id_check; due_ms
 * more than DF_TIMER_DUE_RANGE_MS from now; a topic name breaking the rules
 * above; key or payload NULL with a length), DF_ERR_PAYLOAD_TOO_LARGE (payload
 * over DF_PAYLOAD_MAX, key over DF_TIMER_KEY_MAX), DF_ERR_NOT_FOUND (no such
 * topic), DF_ERR_DEADLINE (not acknowledged in time: it may still be), DF_ERR_KAFKA
 * (not delivered, or the topic lookup failed), DF_ERR_CODEC.  errstr names the
 * field and the rule.  Thread-safe.
 */
DF_EXPORT df_err_t df_timer_schedule(df_client_t *c, const char *timer_id, int64_t due_ms, const char *topic,
                                     const void *key, size_t klen, const void *payload, size_t plen, char *errstr,
                                     size_t errstr_size);

/** df_timer_schedule without waiting: the timer is acknowledged (durable)
 * once df_client_flush() returns DF_OK.  For producers of many timers (one
 * flush for a batch).  Argument errors as df_timer_schedule's; DF_ERR_KAFKA
 * when librdkafka refused to queue it.  Thread-safe. */
DF_EXPORT df_err_t df_timer_schedule_async(df_client_t *c, const char *timer_id, int64_t due_ms, const char *topic,
                                           const void *key, size_t klen, const void *payload, size_t plen,
                                           char *errstr, size_t errstr_size);

/**
 * Cancel the timer timer_id: a tombstone on <prefix>.timers, durable when
 * this returns DF_OK (as df_timer_schedule).  A timer the service reads the
 * tombstone of before its due time is never delivered; one that already
 * fired stays delivered, and cancelling an id that is not pending is not an
 * error (the service cannot tell them apart: DF_OK either way).  A schedule
 * and a cancel of the same id from one client are applied in the order they
 * were called.  Errors: DF_ERR_INVALID_ARG (c NULL, timer id as
 * df_timer_id_check), DF_ERR_DEADLINE, DF_ERR_KAFKA.  Thread-safe.
 */
DF_EXPORT df_err_t df_timer_cancel(df_client_t *c, const char *timer_id, char *errstr, size_t errstr_size);
/** df_timer_cancel without waiting: durable once df_client_flush() returns
 * DF_OK.  Thread-safe. */
DF_EXPORT df_err_t df_timer_cancel_async(df_client_t *c, const char *timer_id, char *errstr, size_t errstr_size);

/* ---------------- reading executions (typed) ---------------- */

/** An execution's status.  Values are stable (they are what the changelog
 * records); more may be added: treat a value you do not know as
 * "not finished" and print it with df_exec_status_name. */
typedef enum df_exec_status {
        DF_EXEC_ANY = -1, /* only as a filter of df_client_list: every status */
        DF_EXEC_PENDING = 0,
        DF_EXEC_RUNNING = 1,
        DF_EXEC_SUSPENDED = 2, /* waiting for a timer or a callback */
        DF_EXEC_SUCCEEDED = 3,
        DF_EXEC_FAILED = 4,
        DF_EXEC_TIMED_OUT = 5,
        DF_EXEC_STOPPED = 6,
        DF_EXEC_NONDETERMINISM = 7, /* stopped in a visible, resumable error state */
        DF_EXEC_QUARANTINED = 8,    /* kept killing workers (or could not be processed): parked, resumable */
        DF_EXEC_VERSION_MISSING = 9, /* its workflow version is not registered where it runs: parked, goes on
                                      * by itself once a worker that has the version processes it */
        DF_EXEC_PAUSED = 10,         /* an operator paused it (df_client_pause): nothing runs; events are
                                      * recorded and take effect at df_client_resume */
} df_exec_status_t;

/** "PENDING", "RUNNING", "SUSPENDED", "SUCCEEDED", "FAILED", "TIMED_OUT",
 * "STOPPED", "NONDETERMINISM", "QUARANTINED", "VERSION_MISSING", "PAUSED"; "UNKNOWN" for another value.
 * Static. */
DF_EXPORT const char *df_exec_status_name(df_exec_status_t status);
/** The status named name (case-insensitive, as df_exec_status_name spells
 * it) into *out: DF_OK, or DF_ERR_INVALID_ARG for another name. */
DF_EXPORT df_err_t df_exec_status_parse(const char *name, df_exec_status_t *out);

/** An operation's type.  Values are stable (what the changelog records);
 * a type a newer duraflow adds prints as "UNKNOWN". */
typedef enum df_op_type {
        DF_OP_TYPE_STEP = 0,
        DF_OP_TYPE_WAIT = 1,
        DF_OP_TYPE_CALLBACK = 2,
        DF_OP_TYPE_CHILD = 3,     /* a child context: df_run_in_child_context, or one branch of a parallel /
                                   * one item of a map; its operations are "<op id>.1" .. */
        DF_OP_TYPE_INVOKE = 4,    /* df_invoke: a child execution (child_execution_id) */
        DF_OP_TYPE_PARALLEL = 5,  /* df_parallel: its branches are the CHILD operations "<op id>.1" .. */
        DF_OP_TYPE_MAP = 6,       /* df_map: its items are the CHILD operations "<op id>.1" .. */
        DF_OP_TYPE_CONDITION = 7, /* df_wait_for_condition: result = the state, attempt = checks run */
} df_op_type_t;
/** "STEP", "WAIT", "CALLBACK", "CHILD", "INVOKE", "PARALLEL", "MAP",
 * "CONDITION"; "UNKNOWN" for another value.  Static. */
DF_EXPORT const char *df_op_type_name(df_op_type_t type);

typedef enum df_op_status {
        DF_OP_STATUS_STARTED = 0, /* an at-most-once step's START checkpoint, or a callback created */
        DF_OP_STATUS_PENDING = 1, /* a wait, a retry backoff, a callback not completed */
        DF_OP_STATUS_SUCCEEDED = 2,
        DF_OP_STATUS_FAILED = 3,
        DF_OP_STATUS_TIMED_OUT = 4,
} df_op_status_t;
/** "STARTED", "PENDING", "SUCCEEDED", "FAILED", "TIMED_OUT"; "UNKNOWN" for
 * another value.  Static. */
DF_EXPORT const char *df_op_status_name(df_op_status_t status);

/** An execution as recorded.  Every pointer is owned by the structure (or
 * by the df_history_t / df_exec_list_t holding it); strings are valid UTF-8,
 * never NULL ("" when empty); bytes may hold anything. */
typedef struct df_exec_info {
        const char *execution_id;
        const char *workflow;
        df_exec_status_t status;
        df_bytes_t input;  /* empty in df_client_list's items */
        df_bytes_t output; /* SUCCEEDED; empty in df_client_list's items */
        const char *error; /* FAILED, STOPPED, NONDETERMINISM; "" in df_client_list's items */
        int64_t created_ms, updated_ms; /* UTC ms */
        int op_count;                   /* top-level operations recorded (nested ones: df_op_info_t.child_count) */
        int version;                    /* the workflow version it runs for its whole life (>= 1; an execution
                                         * recorded before versions existed runs version 1) */
        const char *parent_execution_id; /* started by df_invoke: the parent execution; "" otherwise */
        const char *parent_op_id;        /* started by df_invoke: the parent's INVOKE operation; "" otherwise */
        int run;                         /* restarts so far (df_client_restart); 0 = never restarted */
        const char *run_log;             /* one line per restart ("run N at <UTC>: restarted from operation
                                          * K; M operation(s) discarded (...); it was S: <error>; reason:
                                          * ..."), oldest first; "" if none (and in df_client_list's items) */
} df_exec_info_t;

/** One operation of an execution, as recorded (ownership as df_exec_info_t).
 * Operations nest: an operation that opens a context (CHILD, PARALLEL, MAP)
 * holds child_count operations "<op_id>.1" .. "<op_id>.<child_count>", whose
 * parent_id is its op_id; the depth of an operation is the number of '.' in
 * its op_id. */
typedef struct df_op_info {
        const char *op_id;     /* "1", "2", ...; nested "3.1", "3.1.2", ... */
        const char *parent_id; /* the operation whose context holds it ("3" for "3.1"); "" at top level */
        df_op_type_t type;
        const char *name;
        df_op_status_t status;
        int attempt;           /* 1-based attempt of a step */
        int64_t started_ms, updated_ms; /* UTC ms */
        df_bytes_t result;     /* SUCCEEDED: the result, or the callback's payload */
        const char *error;     /* FAILED / TIMED_OUT: "type: message" */
        int64_t due_ms;        /* a pending wait or retry: when it is over, UTC ms; 0 = none */
        const char *callback_id; /* CALLBACK; "" otherwise */
        const char *execution_id; /* the execution the operation belongs to */
        const char *child_execution_id; /* INVOKE: the child execution it started (its parent_execution_id is
                                         * this execution, its parent_op_id this op_id); "" otherwise */
        int child_count;       /* CHILD, PARALLEL, MAP: operations recorded in its context (child contexts,
                                * branches, items); 0 otherwise */
} df_op_info_t;

/**
 * The execution execution_id as recorded in the <prefix>.state changelog
 * (read_committed), in *out (free with df_exec_info_destroy).  Reads only
 * the partition that holds the execution (its key's, with the topic's real
 * partition count) and keeps only the execution's latest record: memory is
 * about that record's size whatever the partition holds.
 * Errors (*out NULL): DF_ERR_INVALID_ARG (execution id), DF_ERR_NOT_FOUND
 * (no such execution), DF_ERR_KAFKA (reading failed or made no progress for
 * "client.timeout.ms"), DF_ERR_CODEC (a record did not decode), DF_ERR_NOMEM.
 * Thread-safe (each call reads with a consumer of its own).
 */
DF_EXPORT df_err_t df_client_describe(df_client_t *c, const char *execution_id, df_exec_info_t **out,
                                      char *errstr, size_t errstr_size);
DF_EXPORT void df_exec_info_destroy(df_exec_info_t *info);

/** An execution's operations, read one at a time (df_client_history). */
typedef struct df_history df_history_t;

/**
 * Open the history of execution_id: reads the execution's partition of
 * <prefix>.state once, keeping the latest record of the execution and, for
 * each of its operations, the offset of the latest record (the record
 * itself when under 4 KB); then df_history_next() hands the operations out
 * in operation order, fetching each large one again by its offset, so memory
 * stays about one operation's size.  Errors as df_client_describe's.  The
 * history uses its own consumer: c must outlive it; one thread at a time
 * may use a history.
 */
DF_EXPORT df_err_t df_client_history(df_client_t *c, const char *execution_id, df_history_t **out, char *errstr,
                                     size_t errstr_size);
/** The execution (owned by h, valid until df_history_destroy). */
DF_EXPORT const df_exec_info_t *df_history_execution(const df_history_t *h);
/**
 * The next operation into *op (owned by h, valid until the next call or
 * df_history_destroy), or *op = NULL after the last one.  Operations come
 * depth first in operation order, as a worker loads them: top-level
 * operations "1" .. op_count, each followed by the operations of its
 * context, recursively ("3", "3.1", "3.1.1", "3.2", "4", ...); an operation
 * whose record is missing is skipped with what it holds.  Memory stays
 * about one operation (and one operation id per nesting level).
 * DF_OK; DF_ERR_KAFKA / DF_ERR_CODEC when a record could not be fetched again
 * or decoded (h may be destroyed only).
 */
DF_EXPORT df_err_t df_history_next(df_history_t *h, const df_op_info_t **op, char *errstr, size_t errstr_size);
DF_EXPORT void df_history_destroy(df_history_t *h);

/** Executions listed by df_client_list, sorted by execution id; each item
 * holds the small fields only, the version among them (input, output and
 * error are empty and the parent ids "": read them with df_client_describe). */
typedef struct df_exec_list {
        size_t count;
        const df_exec_info_t *items;
} df_exec_list_t;

/**
 * Every execution in <prefix>.state (all partitions, read_committed) whose
 * workflow is workflow (NULL: any) and whose status is status (DF_EXEC_ANY:
 * any), in *out (free with df_exec_list_destroy).  Keeps the small fields
 * of each execution (id, workflow, status, times, op count), never their
 * payloads.  Errors: DF_ERR_INVALID_ARG (an unknown status), DF_ERR_KAFKA,
 * DF_ERR_CODEC, DF_ERR_NOMEM.  Thread-safe.
 */
DF_EXPORT df_err_t df_client_list(df_client_t *c, const char *workflow, df_exec_status_t status,
                                  df_exec_list_t **out, char *errstr, size_t errstr_size);
DF_EXPORT void df_exec_list_destroy(df_exec_list_t *list);

/* ---------------- schedules ---------------- */

/*
 * A schedule starts an execution of a workflow at the times of a cron
 * expression read in a time zone.  It is durable state of its own on
 * <prefix>.state (key "schedule:<name>", owned by the worker owning that
 * key's partition), fired through the timer service; each fire starts the
 * execution "<name>-<scheduled time UTC, YYYYMMDDTHHMMSSZ>", so that a fire
 * applied twice starts one execution.  After an outage that covered several
 * fire times it fires once, for the latest of them, then keeps to its times.
 * Execution ids starting with "schedule:" are reserved for schedules.
 */

/** Longest schedule name: 1..183 characters of A-Z a-z 0-9 . _ : @ - (its
 * runs are named "<name>-YYYYMMDDTHHMMSSZ", at most DF_EXECUTION_ID_MAX). */
#define DF_SCHEDULE_NAME_MAX 183
/** Longest cron expression, bytes. */
#define DF_CRON_MAX 256
/** Longest time zone name, bytes. */
#define DF_TIMEZONE_MAX 64
/** Largest input of a schedule's runs, bytes: the create request carries the
 * whole definition in one event of at most DF_PAYLOAD_MAX bytes. */
#define DF_SCHEDULE_INPUT_MAX 995904

/** What a schedule does when a fire time comes while its last run has not
 * ended (Temporal's overlap policies SKIP and ALLOW_ALL). */
typedef enum df_overlap {
        DF_OVERLAP_SKIP = 0,  /* no run: the fire time is counted as skipped */
        DF_OVERLAP_ALLOW = 1, /* a run, whatever the last one does */
} df_overlap_t;

/** "skip", "allow"; "unknown" for another value.  Static. */
DF_EXPORT const char *df_overlap_name(df_overlap_t overlap);

/** DF_OK when name is 1..DF_SCHEDULE_NAME_MAX characters of A-Z a-z 0-9 .
 * _ : @ -; otherwise DF_ERR_INVALID_ARG with a message quoting name
 * (escaped) and giving the rule.  Thread-safe. */
DF_EXPORT df_err_t df_schedule_name_check(const char *name, char *errstr, size_t errstr_size);

/**
 * Check a cron expression and a time zone.  cron: 5 fields "minute hour
 * day-of-month month day-of-week" (Vixie cron: "*", lists "1,5", ranges
 * "1-5", steps "*\/15" and "10-50/10", "N/STEP" = N-max/STEP, names jan..dec
 * and sun..sat in any case, day-of-week 0..7 with 0 and 7 Sunday; when
 * neither day field starts with "*" a day matching either fires), or 6
 * fields with a seconds field first (as Quartz, Spring), or @yearly
 * @annually @monthly @weekly @daily @midnight @hourly; at most DF_CRON_MAX
 * bytes of ASCII.  timezone: a name of the system's tz database ("Area/City"
 * as Europe/Berlin, or UTC; NULL or "" = UTC).  DF_OK, or DF_ERR_INVALID_ARG
 * with errstr naming the field, the position (1-based) and the rule, or the
 * unknown zone.  Thread-safe.
 */
DF_EXPORT df_err_t df_cron_check(const char *cron, const char *timezone, char *errstr, size_t errstr_size);

/**
 * The first fire time of cron in timezone strictly after after_ms (UTC ms,
 * 0 up to year 3000), in *next_ms (UTC ms, a whole second).  Daylight saving:
 * a wall time the clocks skip fires once when the gap ends (02:30 on a day
 * Europe/Berlin jumps from 02:00 to 03:00 fires at 03:00 CEST); a wall time
 * that happens twice fires at its first occurrence, unless the second,
 * minute or hour field starts with "*", which fires at each matching instant
 * of both passes (Vixie cron's rule).  DF_OK; DF_ERR_INVALID_ARG (as
 * df_cron_check, or after_ms out of range, next_ms NULL); DF_ERR_NOT_FOUND
 * when it does not fire within 50 years.  Thread-safe.
 */
DF_EXPORT df_err_t df_cron_next(const char *cron, const char *timezone, int64_t after_ms, int64_t *next_ms,
                                char *errstr, size_t errstr_size);

/** A schedule's definition (df_client_schedule_create).  The pointers are
 * the caller's, read during the call. */
typedef struct df_schedule_def {
        const char *cron;     /* required: as df_cron_check */
        const char *timezone; /* NULL or "": "UTC" */
        const char *workflow; /* required: as df_workflow_name_check */
        const void *input;    /* each run's input, may be NULL when input_len is 0 */
        size_t input_len;     /* at most DF_SCHEDULE_INPUT_MAX */
        df_overlap_t overlap;
} df_schedule_def_t;

/** A schedule as recorded.  Every pointer is owned by the structure (or the
 * df_schedule_list_t holding it); strings are valid UTF-8, never NULL. */
typedef struct df_schedule_info {
        const char *name;
        const char *cron;
        const char *timezone;
        const char *workflow;
        df_bytes_t input;        /* empty in df_client_schedule_list's items */
        df_overlap_t overlap;
        int paused;
        int64_t next_fire_ms;    /* the armed fire time, UTC ms; 0 = none (paused) */
        int64_t last_fire_ms;    /* scheduled time of the last run started, UTC ms; 0 = none */
        const char *last_run_id; /* its execution id, "" = none */
        int last_run_running;    /* 1 until the last run ends */
        int64_t fires;           /* runs started (fires and triggers) */
        int64_t skipped;         /* fire times not run: the last run was still running (overlap skip) */
        int64_t missed;          /* fire times an outage covered and that were not run (catch-up; up to 10,000 counted a catch-up) */
        int64_t created_ms, updated_ms; /* UTC ms */
} df_schedule_info_t;

/**
 * Create the schedule name; idempotent by name: the same definition returns
 * DF_OK (*existed = 1; existed may be NULL), a different one DF_ERR_CONFLICT.
 * It first fires at the first time of def->cron after the worker records it.
 * Waits up to "client.timeout.ms" for the worker's reply.  Thread-safe.
 * Errors: DF_ERR_INVALID_ARG (name as df_schedule_name_check, cron and zone
 * as df_cron_check, workflow as df_workflow_name_check, overlap, NULL def or
 * input), DF_ERR_PAYLOAD_TOO_LARGE (input over DF_SCHEDULE_INPUT_MAX),
 * DF_ERR_CONFLICT, DF_ERR_UNKNOWN_WORKFLOW (not registered on the worker that
 * owns the schedule), DF_ERR_REJECTED, DF_ERR_DEADLINE (the request is
 * durable in <prefix>.events: describe tells whether a worker recorded it),
 * DF_ERR_KAFKA.
 */
DF_EXPORT df_err_t df_client_schedule_create(df_client_t *c, const char *name, const df_schedule_def_t *def,
                                             int *existed, char *errstr, size_t errstr_size);
/** Pause: no fire until resumed (fire times meanwhile are not caught up);
 * pausing a paused schedule is DF_OK.  Errors: DF_ERR_INVALID_ARG (name),
 * DF_ERR_NOT_FOUND, and df_client_schedule_create's transport errors.
 * Thread-safe. */
DF_EXPORT df_err_t df_client_schedule_pause(df_client_t *c, const char *name, char *errstr, size_t errstr_size);
/** Resume a paused schedule: it next fires at its first time after now.
 * Errors as df_client_schedule_pause's. */
DF_EXPORT df_err_t df_client_schedule_resume(df_client_t *c, const char *name, char *errstr, size_t errstr_size);
/** Delete: no more fires; runs already started go on.  The name may be
 * created again.  Errors as df_client_schedule_pause's. */
DF_EXPORT df_err_t df_client_schedule_delete(df_client_t *c, const char *name, char *errstr, size_t errstr_size);
/**
 * Start a run now (also when paused), named "<name>-<now UTC to the
 * second>" (a second trigger in the same second starts nothing more).  The
 * run's id goes to run_id (run_id_size bytes; may be NULL).  With overlap
 * skip and the last run still running: DF_ERR_CONFLICT.  Other errors as
 * df_client_schedule_pause's.
 */
DF_EXPORT df_err_t df_client_schedule_trigger(df_client_t *c, const char *name, char *run_id, size_t run_id_size,
                                              char *errstr, size_t errstr_size);
/** As df_client_schedule_trigger; *existed (may be NULL) is 1 when the run of
 * this second had been started already (DF_OK, nothing more started nor
 * counted), else 0. */
DF_EXPORT df_err_t df_client_schedule_trigger_ex(df_client_t *c, const char *name, char *run_id,
                                                 size_t run_id_size, int *existed, char *errstr,
                                                 size_t errstr_size);
/**
 * The schedule name as recorded in <prefix>.state (read_committed; only the
 * partition of its key), in *out (free with df_schedule_info_destroy).
 * Errors (*out NULL): DF_ERR_INVALID_ARG, DF_ERR_NOT_FOUND, DF_ERR_KAFKA,
 * DF_ERR_CODEC, DF_ERR_NOMEM.  Thread-safe.
 */
DF_EXPORT df_err_t df_client_schedule_describe(df_client_t *c, const char *name, df_schedule_info_t **out,
                                               char *errstr, size_t errstr_size);
DF_EXPORT void df_schedule_info_destroy(df_schedule_info_t *info);

/** Schedules listed by df_client_schedule_list, sorted by name (inputs
 * empty: read them with df_client_schedule_describe). */
typedef struct df_schedule_list {
        size_t count;
        const df_schedule_info_t *items;
} df_schedule_list_t;

/** Every schedule in <prefix>.state (all partitions, read_committed) in
 * *out (free with df_schedule_list_destroy).  Errors: DF_ERR_KAFKA,
 * DF_ERR_CODEC, DF_ERR_NOMEM.  Thread-safe. */
DF_EXPORT df_err_t df_client_schedule_list(df_client_t *c, df_schedule_list_t **out, char *errstr,
                                           size_t errstr_size);
DF_EXPORT void df_schedule_list_destroy(df_schedule_list_t *list);

/* ---------------- results ---------------- */

typedef struct df_results df_results_t;

/**
 * A reader of <prefix>.results (read_committed): terminal results of
 * executions, for callers waiting on them.  from_beginning = 1 reads every
 * result kept by the topic, 0 only those produced from now on.  Reads every
 * partition the topic has.  Not thread-safe: one thread polls a reader.
 */
DF_EXPORT df_results_t *df_results_open(const df_conf_t *conf, int from_beginning, char *errstr, size_t errstr_size);

/** Called for each terminal result: status is DF_EXEC_SUCCEEDED, FAILED,
 * STOPPED or TIMED_OUT (df_exec_status_name prints it); output and error
 * are owned by the reader and valid during the call.  An execution's result
 * may be delivered more than once (dedupe by id).  Runs on the thread that
 * called df_results_poll. */
typedef void (*df_result_fn)(const char *execution_id, df_exec_status_t status, const df_bytes_t *output,
                             const char *error, void *opaque);

/** Deliver what arrives within timeout_ms; returns how many results were
 * delivered, or -1 on error. */
DF_EXPORT int df_results_poll(df_results_t *r, int timeout_ms, df_result_fn fn, void *opaque);
DF_EXPORT void df_results_close(df_results_t *r);

/* ---------------- text for terminals ---------------- */

/**
 * Escape len bytes of src (any content) into dst as text safe to print on
 * a terminal: valid UTF-8 passes through, except C0 controls (CR, LF, TAB,
 * ESC, ...) and DEL, written \xNN; C1 controls (U+0080..U+009F) and the
 * bidi and line-breaking controls U+061C, U+200E, U+200F, U+2028..U+202E,
 * U+2066..U+2069, written \uNNNN; each byte of invalid UTF-8, written
 * \xNN.  A backslash is kept as is.  Writes at most dst_size - 1 bytes and a
 * NUL (whole characters and escapes only), as snprintf; returns the length
 * of the whole escaped text (a return >= dst_size means it was cut).  dst
 * may be NULL when dst_size is 0.  Thread-safe.
 */
DF_EXPORT size_t df_text_escape(char *dst, size_t dst_size, const void *src, size_t len);

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
