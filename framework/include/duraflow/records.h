/*
 * duraflow/records.h -- duraflow's records read from their bytes, for tools.
 *
 * Every record duraflow writes to Kafka is Avro with the single-object
 * encoding: the marker C3 01, the 8-byte little-endian CRC-64-AVRO
 * fingerprint of the writer schema's Parsing Canonical Form, then the body
 * (the .avsc files in schemas/; older schema versions still decode).  These functions
 * recognise a record from its bytes and decode it into typed structures,
 * checked as the workers check them (marker, fingerprint, no trailing
 * bytes, valid UTF-8 strings, enum ranges, sizes): hostile bytes are
 * refused with a message, never trusted.  They read only; they are what a
 * tool that watches the topics (a checker, a dump, a bridge to another
 * language) uses instead of the framework's internals.  The encoders at the
 * end write what a producer that is not a C client needs (a start event),
 * and what benchmarks and tests fill a changelog with.
 *
 *   topic             key                          record
 *   <p>.events        execution id                 df_event_info_t
 *   <p>.state         execution id                 df_exec_info_t (runtime.h)
 *   <p>.state         <execution id>/<op id>       df_op_info_t (runtime.h)
 *   <p>.timers        timer id                     df_timer_info_t (a tombstone: cancelled or fired)
 *   <p>.results       execution id                 df_result_info_t
 *   <p>.dlq           the original key             df_dead_letter_t
 *
 * Ownership: each decode function allocates *out, freed with the matching
 * _destroy (NULL is a no-op); every pointer inside is owned by *out.
 * Strings are NUL-terminated valid UTF-8, never NULL ("" when empty); they
 * may still hold control characters: escape them (df_text_escape) before
 * printing them on a terminal.  Bytes may hold anything.
 *
 * Errors: DF_ERR_INVALID_ARG (out NULL, or buf NULL with len > 0);
 * DF_ERR_CODEC when buf is not a valid record of that type (errstr: what is
 * wrong, e.g. "unknown schema fingerprint", "truncated", "invalid UTF-8 in
 * field workflow"); DF_ERR_NOMEM.  On error *out is NULL.
 *
 * Thread safety: every function may be called from any thread.
 */
#ifndef DURAFLOW_RECORDS_H
#define DURAFLOW_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#include "duraflow/duraflow.h"
#include "duraflow/error.h"
#include "duraflow/export.h"
#include "duraflow/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Which record a buffer holds, by its marker and schema fingerprint. */
typedef enum df_record_type {
        DF_RECORD_UNKNOWN = 0,     /* not a duraflow record, or a schema this version does not know */
        DF_RECORD_EVENT = 1,       /* <p>.events: df_record_decode_event */
        DF_RECORD_EXECUTION = 2,   /* <p>.state: df_record_decode_execution */
        DF_RECORD_OPERATION = 3,   /* <p>.state: df_record_decode_operation */
        DF_RECORD_TIMER = 4,       /* <p>.timers: df_record_decode_timer */
        DF_RECORD_RESULT = 5,      /* <p>.results: df_record_decode_result */
        DF_RECORD_DEAD_LETTER = 6, /* <p>.dlq: df_record_decode_dead_letter */
        DF_RECORD_SCHEDULE = 7,    /* <p>.state, key "schedule:<name>": df_record_decode_schedule */
} df_record_type_t;

/** The type of the record in buf[0..len): looks at the marker and the
 * fingerprint only (the body is checked by the decode functions).
 * DF_RECORD_UNKNOWN for anything else, buf NULL included. */
DF_EXPORT df_record_type_t df_record_type(const void *buf, size_t len);
/** "EVENT", "EXECUTION", "OPERATION", "TIMER", "RESULT", "DEAD_LETTER",
 * "SCHEDULE"; "UNKNOWN" for another value.  Static. */
DF_EXPORT const char *df_record_type_name(df_record_type_t type);

/* ---------------- <prefix>.events ---------------- */

/** What an event asks of the execution's worker. */
typedef enum df_event_type {
        DF_EVENT_START = 0,    /* start the execution: workflow, input */
        DF_EVENT_TIMER = 1,    /* a timer fired: op_id, seq, timer_kind */
        DF_EVENT_CALLBACK = 2, /* a callback completed: callback_id, callback_outcome, input, error */
        DF_EVENT_STOP = 3,     /* stop the execution: error = the reason */
        DF_EVENT_CONTINUE = 4, /* go on replaying (the workers' own) */
        DF_EVENT_CRASH = 5,    /* a worker died while processing it: op_id (the step whose body ran,
                                * "" elsewhere), seq = its attempt */
        DF_EVENT_RESUME = 6,   /* an operator runs a QUARANTINED / NONDETERMINISM execution again */
        DF_EVENT_CHILD_DONE = 7, /* an invoked child execution ended: op_id = the parent's INVOKE operation,
                                  * child_execution_id, child_status, input = its output, error */
        DF_EVENT_PAUSE = 8,      /* an operator pauses it: error = the reason */
        DF_EVENT_RESTART = 9,    /* an operator restarts it: op_id = the top-level operation ("" = the first
                                  * that did not succeed), error = who / why */
        DF_EVENT_PURGE = 10,     /* an operator purges a finished execution */
        /* a schedule's (key "schedule:<name>", runtime.h's schedules) */
        DF_EVENT_SCHEDULE_CREATE = 20,   /* input: the definition, an encoded Schedule record */
        DF_EVENT_SCHEDULE_PAUSE = 21,
        DF_EVENT_SCHEDULE_RESUME = 22,
        DF_EVENT_SCHEDULE_DELETE = 23,
        DF_EVENT_SCHEDULE_TRIGGER = 24,
        DF_EVENT_SCHEDULE_FIRE = 25,     /* from the timer service: seq = the fire time, UTC ms */
        DF_EVENT_SCHEDULE_RUN_DONE = 26, /* a run ended: link = the run, seq = its status */
} df_event_type_t;
/** "START", "TIMER", "CALLBACK", "STOP", "CONTINUE", "CRASH", "RESUME",
 * "CHILD_DONE", "PAUSE", "RESTART", "PURGE", "SCHEDULE_CREATE", ..., "SCHEDULE_RUN_DONE"; "UNKNOWN" for
 * another value.  Static. */
DF_EXPORT const char *df_event_type_name(df_event_type_t type);

/** What a TIMER event's timer was for. */
typedef enum df_timer_kind {
        DF_TIMER_KIND_WAIT = 0,              /* a df_wait is over */
        DF_TIMER_KIND_RETRY = 1,             /* a step's backoff delay is over */
        DF_TIMER_KIND_CALLBACK_TIMEOUT = 2,  /* a callback's timeout */
        DF_TIMER_KIND_HEARTBEAT_TIMEOUT = 3, /* a callback's heartbeat timeout */
        DF_TIMER_KIND_VERSION = 4,           /* look again for the workflow version of a VERSION_MISSING
                                              * execution (op_id "", seq = the generation it was parked with) */
        DF_TIMER_KIND_RETENTION = 5,         /* a finished execution's retention.ms is over: it is purged
                                              * (op_id "", seq = its run). Armed by versions before 2026-12-03
                                              * only: the worker now sweeps its store instead */
} df_timer_kind_t;
/** "WAIT", "RETRY", "CALLBACK_TIMEOUT", "HEARTBEAT_TIMEOUT", "VERSION", "RETENTION";
 * "UNKNOWN" for another value.  Static. */
DF_EXPORT const char *df_timer_kind_name(df_timer_kind_t kind);

/** An event of <prefix>.events (ownership: see the top of this file). */
typedef struct df_event_info {
        df_event_type_t type;
        const char *execution_id;
        const char *workflow;   /* START */
        df_bytes_t input;       /* START: the input; CALLBACK: the success payload */
        const char *op_id;      /* TIMER: the operation; CRASH: the step whose body ran */
        int64_t seq;            /* TIMER: the generation the timer was armed with; CRASH: the attempt */
        df_timer_kind_t timer_kind;             /* TIMER */
        const char *callback_id;                /* CALLBACK */
        df_callback_outcome_t callback_outcome; /* CALLBACK */
        const char *error;      /* CALLBACK: the failure message; STOP: the reason */
        const char *request_id; /* a control request's correlation id (its reply carries it); "" none */
        int64_t ts_ms;          /* when it was produced, UTC ms */
        const char *link;       /* START of a scheduled run: its schedule's key; SCHEDULE_RUN_DONE: the
                                 * run's execution id; "" otherwise */
        const char *parent_execution_id; /* START of an invoked child: the parent execution; STOP sent by a
                                          * parent to its child: the parent; "" otherwise */
        const char *parent_op_id;        /* START of an invoked child: the parent's INVOKE operation; "" otherwise */
        const char *child_execution_id;  /* CHILD_DONE: the child execution that ended; "" otherwise */
        df_exec_status_t child_status;   /* CHILD_DONE: the child's terminal status; DF_EXEC_PENDING (0) otherwise */
} df_event_info_t;

DF_EXPORT df_err_t df_record_decode_event(const void *buf, size_t len, df_event_info_t **out, char *errstr,
                                          size_t errstr_size);
DF_EXPORT void df_event_info_destroy(df_event_info_t *ev);

/* ---------------- <prefix>.state (the changelog) ---------------- */

/** An execution record (key: the execution id), freed with
 * df_exec_info_destroy (runtime.h).  Each record is the execution's whole
 * state at one commit: the latest one of a key is the current state. */
DF_EXPORT df_err_t df_record_decode_execution(const void *buf, size_t len, df_exec_info_t **out, char *errstr,
                                              size_t errstr_size);

/** An operation record (key: "<execution id>/<op id>"), freed with
 * df_op_info_destroy.  Each record is the operation's whole state at one
 * commit. */
DF_EXPORT df_err_t df_record_decode_operation(const void *buf, size_t len, df_op_info_t **out, char *errstr,
                                              size_t errstr_size);
/** Free an operation from df_record_decode_operation (not one handed out
 * by df_history_next: the history owns those). */
DF_EXPORT void df_op_info_destroy(df_op_info_t *op);

/** A schedule's record (key "schedule:<name>"), freed with
 * df_schedule_info_destroy (runtime.h).  Each record is the schedule's whole
 * state at one commit; a tombstone of its key: deleted. */
DF_EXPORT df_err_t df_record_decode_schedule(const void *buf, size_t len, df_schedule_info_t **out, char *errstr,
                                             size_t errstr_size);

/* ---------------- <prefix>.timers ---------------- */

/** A pending timer (df_timer_schedule's arguments, runtime.h). */
typedef struct df_timer_info {
        const char *timer_id;
        int64_t due_ms;    /* absolute UTC ms */
        const char *topic; /* where the payload goes */
        df_bytes_t key;    /* the key it goes with (empty: none) */
        df_bytes_t payload;
        int64_t created_ms; /* UTC ms */
} df_timer_info_t;

DF_EXPORT df_err_t df_record_decode_timer(const void *buf, size_t len, df_timer_info_t **out, char *errstr,
                                          size_t errstr_size);
DF_EXPORT void df_timer_info_destroy(df_timer_info_t *t);

/* ---------------- <prefix>.results ---------------- */

typedef enum df_result_kind {
        DF_RESULT_TERMINAL = 0, /* an execution reached a terminal status */
        DF_RESULT_REPLY = 1,    /* a worker's reply to a control request (start, callback, stop) */
} df_result_kind_t;

/** A terminal result or a reply. */
typedef struct df_result_info {
        df_result_kind_t kind;
        const char *execution_id;
        const char *request_id;  /* REPLY: the request's correlation id */
        df_exec_status_t status; /* TERMINAL: SUCCEEDED, FAILED, STOPPED, TIMED_OUT, ... */
        df_err_t code;           /* REPLY: DF_OK accepted, otherwise why not (df_err_name) */
        df_bytes_t output;       /* TERMINAL, SUCCEEDED: the output */
        const char *error;       /* FAILED / STOPPED: the message; REPLY: the worker's message */
        int64_t ts_ms;           /* UTC ms */
} df_result_info_t;

DF_EXPORT df_err_t df_record_decode_result(const void *buf, size_t len, df_result_info_t **out, char *errstr,
                                           size_t errstr_size);
DF_EXPORT void df_result_info_destroy(df_result_info_t *r);

/* ---------------- <prefix>.dlq ---------------- */

/** A record a worker could not decode or process, with where it came from. */
typedef struct df_dead_letter {
        const char *topic; /* the topic it was read from */
        int32_t partition;
        int64_t offset;
        df_bytes_t key;    /* the original key and value, untouched: may be hostile */
        df_bytes_t value;
        const char *error; /* why it was dead-lettered */
        int64_t ts_ms;     /* when, UTC ms */
} df_dead_letter_t;

DF_EXPORT df_err_t df_record_decode_dead_letter(const void *buf, size_t len, df_dead_letter_t **out, char *errstr,
                                                size_t errstr_size);
DF_EXPORT void df_dead_letter_destroy(df_dead_letter_t *d);

/* ---------------- writing a start event ---------------- */

/**
 * The bytes of the START event that df_client_start_async would produce
 * (request id empty, timestamp now): what a producer in another language
 * writes to <prefix>.events, keyed by execution_id, to start an execution
 * (the worker records it once; a repeat with the same input is a no-op, a
 * different input is refused).  Arguments are checked as df_client_start's:
 * DF_ERR_INVALID_ARG (execution id, workflow name, out or out_len NULL,
 * input NULL with len > 0), DF_ERR_PAYLOAD_TOO_LARGE (input over
 * DF_PAYLOAD_MAX), DF_ERR_NOMEM, DF_ERR_CODEC.  On DF_OK *out holds *out_len
 * bytes, to free with df_record_free.  Thread-safe.
 */
DF_EXPORT df_err_t df_record_encode_start(const char *execution_id, const char *workflow, const void *input,
                                          size_t len, void **out, size_t *out_len, char *errstr, size_t errstr_size);
/* ---------------- writing changelog records (tools, benchmarks, tests) ---------------- */

/**
 * The bytes of an execution record as a worker writes it to <prefix>.state
 * (key: the execution id, partition: the execution id's, as the client's
 * reads expect), from the public view: for benchmarks that fill a changelog
 * to measure a reader, and tests that build hostile variants from a valid
 * record.  What df_exec_info_t does not show takes its default (no worker
 * crashes counted, nothing stashed); a version of 0 is written as 1 (the
 * default), NULL parent ids as "".  Every reader trusts the changelog:
 * never write such records for executions that workers run.
 * Checks: DF_ERR_INVALID_ARG (info, out or out_len NULL; execution id as
 * df_execution_id_check; workflow as df_workflow_name_check; status not a
 * df_exec_status_t of an execution; error not UTF-8 or over DF_MESSAGE_MAX
 * bytes; op_count or version < 0; parent_execution_id not "" nor an
 * execution id; parent_op_id not "" nor an op id; one parent id without
 * the other; input or output NULL with a length),
 * DF_ERR_PAYLOAD_TOO_LARGE (input or output over DF_PAYLOAD_MAX),
 * DF_ERR_CODEC, DF_ERR_NOMEM.  *out as df_record_encode_start's.
 * Thread-safe.
 */
DF_EXPORT df_err_t df_record_encode_execution(const df_exec_info_t *info, void **out, size_t *out_len,
                                              char *errstr, size_t errstr_size);

/**
 * The bytes of an operation record (key: "<execution id>/<op id>", on the
 * execution's partition), as df_record_encode_execution.  Not shown by
 * df_op_info_t, so default: timer generation 0, no heartbeat timeout; NULL
 * child_execution_id as "".
 * Checks: DF_ERR_INVALID_ARG (info, out or out_len NULL; execution id as
 * df_execution_id_check; op_id 1..32 characters of digits and '.', and
 * parent_id "" or so; name 1..256 bytes of UTF-8 without control
 * characters; type or status out of their enums; attempt or child_count
 * < 0; child_count > 0 on a type that opens no context (other than CHILD,
 * PARALLEL, MAP); child_execution_id not "" on another type than INVOKE, or
 * not an execution id; error not UTF-8 or over DF_MESSAGE_MAX bytes;
 * callback_id not UTF-8; result NULL with a length), DF_ERR_PAYLOAD_TOO_LARGE (result over DF_PAYLOAD_MAX),
 * DF_ERR_CODEC, DF_ERR_NOMEM.  Thread-safe.
 */
DF_EXPORT df_err_t df_record_encode_operation(const df_op_info_t *info, void **out, size_t *out_len, char *errstr,
                                              size_t errstr_size);

/** Free bytes from a df_record_encode_* function; NULL is a no-op. */
DF_EXPORT void df_record_free(void *buf);

#ifdef __cplusplus
}
#endif
#endif /* DURAFLOW_RECORDS_H */
