/*
 * records.h -- the records duraflow writes to Kafka and RocksDB (internal).
 *
 * Every record is Avro, single-object encoded (marker C3 01, the writer
 * schema's 8-byte little-endian CRC-64-AVRO fingerprint, then the body); the
 * schemas live in schemas/ (one .avsc per record).  These structs are the in-memory form.
 *
 * Ownership: every char * and df__buf_t inside a record is owned by the
 * record and released by the matching df__*_clear().  Strings are NUL
 * terminated, valid UTF-8, never NULL after a successful decode ("" when
 * empty).  A zeroed struct is a valid empty record.
 */
#ifndef DF_RECORDS_H
#define DF_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h" /* df__buf_t */

/** Largest user payload (step result, input, output, callback payload), bytes. */
#define DF__PAYLOAD_MAX 1000000
/** Longest recorded text (error messages, failure texts, stop reasons),
 * bytes; longer text is cut with a marker saying how much (df__text_safe). */
#define DF__TEXT_MAX 32768
/** Longest operation name, bytes (UTF-8, no control characters). */
#define DF__NAME_MAX 256
/** Bytes of a W3C traceparent with its NUL ("00-<32 hex>-<16 hex>-<2 hex>"). */
#define DF__TP_SIZE 56

/* ---- <prefix>.events: the workers' input, key = execution id ---- */
typedef enum df__event_type {
        DF__EV_START = 0,     /* start an execution: workflow, input */
        DF__EV_TIMER = 1,     /* a timer fired: op_id, seq, timer_kind */
        DF__EV_CALLBACK = 2,  /* external completion: callback_id, callback_kind, input (payload), error */
        DF__EV_STOP = 3,      /* stop the execution: error = reason */
        DF__EV_CONTINUE = 4,  /* resume replay (internal; also resumes NONDETERMINISM / QUARANTINED) */
        DF__EV_CRASH = 5,     /* a worker died while processing the execution: op_id (the step
                               * whose body ran, "" = elsewhere), seq = its attempt */
        DF__EV_RESUME = 6,    /* operator: run a QUARANTINED / NONDETERMINISM execution again */
        DF__EV_CHILD_DONE = 7, /* an invoked child execution ended: op_id = the parent's INVOKE operation,
                                * child_id, status (the child's df__exec_status_t), input = its output, error */
        DF__EV_PAUSE = 8,     /* operator: run no handler and no step until resumed (events still recorded) */
        DF__EV_RESTART = 9,   /* operator: a FAILED / STOPPED / TIMED_OUT execution runs again from a
                               * top-level operation (op_id; "" = its first failed one); error = who, why */
        DF__EV_PURGE = 10,    /* operator (or its retention timer): a finished execution's records go */
        /* Schedules (schedule.c), keyed by the schedule key "schedule:<name>"; 20 on, so that
         * the types of executions may grow below them. */
        DF__EV_SCHEDULE_CREATE = 20,   /* input = an encoded Schedule record: the definition */
        DF__EV_SCHEDULE_PAUSE = 21,
        DF__EV_SCHEDULE_RESUME = 22,
        DF__EV_SCHEDULE_DELETE = 23,
        DF__EV_SCHEDULE_TRIGGER = 24,  /* start a run now */
        DF__EV_SCHEDULE_FIRE = 25,     /* the timer service: seq = the scheduled time, UTC ms */
        DF__EV_SCHEDULE_RUN_DONE = 26, /* a run ended: link = its execution id, seq = its status */
} df__event_type_t;

typedef enum df__timer_kind {
        DF__TK_WAIT = 0,         /* a wait() is over */
        DF__TK_RETRY = 1,        /* a step's backoff delay is over */
        DF__TK_CB_TIMEOUT = 2,   /* a callback's timeout */
        DF__TK_CB_HEARTBEAT = 3, /* a callback's heartbeat timeout */
        DF__TK_RETENTION = 5,    /* a finished execution's retention.ms is over: purge it (seq = its run;
                                  * DF__RETENTION_SWEEP: from the worker's sweep, never on a topic) */
        DF__TK_VERSION = 4,      /* look again for the workflow version of a VERSION_MISSING execution
                                  * (op_id "", seq = the execution's park_seq) */
} df__timer_kind_t;

/* seq of a RETENTION timer event made by the worker's sweep (worker_retention.c):
 * purge when the execution's own end is retention.ms ago, whatever its run. */
#define DF__RETENTION_SWEEP (-1)

typedef enum df__callback_kind {
        DF__CB_SUCCESS = 0,
        DF__CB_FAILURE = 1,
        DF__CB_HEARTBEAT = 2,
} df__callback_kind_t;

typedef struct df__event {
        int32_t type;          /* df__event_type_t */
        char *execution_id;
        char *workflow;        /* START */
        df__buf_t input;       /* START: input; CALLBACK: success payload */
        char *op_id;           /* TIMER: target operation */
        int64_t seq;           /* TIMER: generation the timer was armed with */
        int32_t timer_kind;    /* TIMER: df__timer_kind_t */
        char *callback_id;     /* CALLBACK */
        int32_t callback_kind; /* CALLBACK: df__callback_kind_t */
        char *error;           /* CALLBACK failure / STOP reason */
        char *request_id;      /* correlation id of a control reply, "" if none */
        int64_t ts_ms;         /* when the event was produced, UTC ms */
        char *parent_id;       /* START of an invoked child / STOP sent by a parent: the parent execution */
        char *parent_op;       /* START of an invoked child: the parent's INVOKE operation id */
        char *child_id;        /* CHILD_DONE: the child execution */
        int32_t status;        /* CHILD_DONE: the child's terminal df__exec_status_t */
        char *link;            /* START of a scheduled run: the schedule's key (its end is reported
                                * there); SCHEDULE_RUN_DONE: the run's execution id */
        int32_t run;           /* TIMER: the execution's run that armed it (a restart discards the others) */
        /* Not encoded: the Kafka header "traceparent" of the record (W3C;
         * "" = none).  Read from a consumed record's headers, written as a
         * header on a produced one (collector.c). */
        char traceparent[DF__TP_SIZE];
} df__event_t;

/* ---- <prefix>.state: changelog, key = execution id ---- */
typedef enum df__exec_status {
        DF__ES_PENDING = 0,
        DF__ES_RUNNING = 1,
        DF__ES_SUSPENDED = 2,
        DF__ES_SUCCEEDED = 3,
        DF__ES_FAILED = 4,
        DF__ES_TIMED_OUT = 5,
        DF__ES_STOPPED = 6,
        DF__ES_NONDETERMINISM = 7, /* stopped in a visible, resumable error state */
        DF__ES_QUARANTINED = 8,    /* kept killing workers (or could not be processed): parked,
                                    * events still recorded; resumable by the operator */
        DF__ES_VERSION_MISSING = 9, /* its workflow version is not registered on the worker that owns it:
                                     * parked, events still recorded; goes on by itself once a worker
                                     * that has the version processes it (a retry timer, any event) */
        DF__ES_PAUSED = 10,         /* an operator paused it: no handler, no step; events still recorded,
                                     * taking effect on resume */
} df__exec_status_t;

typedef struct df__exec_rec {
        char *execution_id;
        char *workflow;
        df__buf_t input;
        int32_t status;        /* df__exec_status_t */
        df__buf_t output;      /* SUCCEEDED */
        char *error;           /* FAILED / NONDETERMINISM / STOPPED */
        int64_t created_ms;
        int64_t updated_ms;
        int32_t op_count;      /* number of top-level operations recorded (child contexts count their
                               * own: df__op_rec_t.child_count) */
        int32_t crash_count;   /* worker deaths while processing it, since it last ran through */
        char *crash_op;        /* step whose body ran at the last such death, "" = none / handler */
        int32_t crash_attempt; /* its attempt */
        df__buf_t stash;       /* QUARANTINED: encoded event whose processing failed, applied on resume */
        int32_t version;       /* workflow version it runs for its whole life (>= 1) */
        char *parent_id;       /* invoked child: the parent execution, "" if none */
        char *parent_op;       /* invoked child: the parent's INVOKE operation id */
        int64_t park_seq;      /* VERSION_MISSING: generation of its retry timer */
        char *schedule;        /* a scheduled run: the schedule's key, told when the run ends; "" if none */
        int32_t run;           /* restarts so far (a timer of an earlier run is a no-op) */
        char *run_log;         /* one line per restart: when, who/why, from which operation, what was discarded */
        char *traceparent;     /* W3C traceparent of its start (its spans' trace), "" = none recorded yet */
} df__exec_rec_t;

/* ---- <prefix>.state: changelog, key = execution id + "/" + op id ---- */
typedef enum df__op_type {
        DF__OP_STEP = 0,
        DF__OP_WAIT = 1,
        DF__OP_CALLBACK = 2,
        DF__OP_CHILD = 3,      /* a child context (run_in_child_context, or a branch of a parallel / map) */
        DF__OP_INVOKE = 4,     /* a child execution (child_id) */
        DF__OP_PARALLEL = 5,   /* its children are the branches "<id>.1", "<id>.2", ... */
        DF__OP_MAP = 6,        /* its children are the items "<id>.1", "<id>.2", ... */
        DF__OP_CONDITION = 7,  /* wait_for_condition: result = the state, attempt = checks run */
} df__op_type_t;

typedef enum df__op_status {
        DF__OS_STARTED = 0,    /* at-most-once START checkpoint, or callback created */
        DF__OS_PENDING = 1,    /* waiting: wait timer, retry backoff, callback */
        DF__OS_SUCCEEDED = 2,
        DF__OS_FAILED = 3,
        DF__OS_TIMED_OUT = 4,
} df__op_status_t;

typedef struct df__op_rec {
        char *execution_id;
        char *op_id;           /* "1", "2", child "3.1", ... */
        char *parent_id;       /* "" at top level */
        char *name;
        int32_t type;          /* df__op_type_t */
        int32_t status;        /* df__op_status_t */
        int32_t attempt;       /* 1-based attempt of a step */
        df__buf_t result;      /* SUCCEEDED result, or callback payload */
        char *error;           /* FAILED / TIMED_OUT */
        int64_t started_ms;
        int64_t updated_ms;
        int64_t due_ms;        /* PENDING wait / retry: when it is over, UTC ms */
        char *callback_id;     /* CALLBACK */
        int64_t seq;           /* timer generation (heartbeat re-arms bump it) */
        int64_t hb_timeout_ms; /* CALLBACK heartbeat timeout, ms, 0 = none */
        int32_t child_count;   /* CHILD, PARALLEL, MAP: operations recorded in its context
                                * ("<op id>.1" .. "<op id>.<child_count>") */
        char *child_id;        /* INVOKE: the child execution id */
} df__op_rec_t;

/* ---- <prefix>.state: a schedule, key = "schedule:<name>" (schedule.c) ---- */
typedef enum df__overlap {
        DF__OV_SKIP = 0,  /* no run while the last one has not ended */
        DF__OV_ALLOW = 1, /* runs may overlap */
} df__overlap_t;

typedef struct df__sched_rec {
        char *name;
        char *cron;            /* 5 or 6 fields, or a macro (cron.h) */
        char *timezone;        /* tz database name, "UTC" by default */
        char *workflow;
        df__buf_t input;       /* each run's input */
        int32_t overlap;       /* df__overlap_t */
        int32_t paused;
        int64_t next_fire_ms;  /* the armed fire time, UTC ms; 0 = none (paused, or it never fires again) */
        int64_t last_fire_ms;  /* scheduled time of the last run started (fire or trigger), 0 = none */
        char *last_run_id;     /* "<name>-<last_fire_ms as YYYYMMDDTHHMMSSZ>", "" = none */
        int32_t running;       /* the last run has not ended (no SCHEDULE_RUN_DONE yet) */
        int64_t fires;         /* runs started (fires and triggers) */
        int64_t skipped;       /* fire times not run because the last run was running (overlap skip) */
        int64_t missed;        /* fire times an outage covered, not run (one catch-up run instead) */
        int64_t created_ms;
        int64_t updated_ms;
} df__sched_rec_t;

/* ---- <prefix>.timers: key = timer id, compacted (tombstone when fired) ---- */
typedef struct df__timer_rec {
        char *timer_id;
        int64_t due_ms;        /* absolute UTC ms */
        char *topic;           /* where to deliver */
        df__buf_t key;
        df__buf_t payload;
        int64_t created_ms;
        char traceparent[DF__TP_SIZE]; /* not encoded: the record's Kafka header (as df__event_t's) */
} df__timer_rec_t;

/* ---- <prefix>.results: key = execution id ---- */
typedef enum df__result_kind {
        DF__RK_RESULT = 0,     /* an execution reached a terminal status */
        DF__RK_REPLY = 1,      /* reply to a control request (request_id) */
} df__result_kind_t;

typedef struct df__result_rec {
        int32_t kind;          /* df__result_kind_t */
        char *execution_id;
        char *request_id;
        int32_t status;        /* df__exec_status_t (RESULT) */
        int32_t code;          /* df_err_t of a REPLY (0 = accepted) */
        df__buf_t output;
        char *error;
        int64_t ts_ms;
        char traceparent[DF__TP_SIZE]; /* not encoded: the record's Kafka header (as df__event_t's) */
} df__result_rec_t;

/* ---- <prefix>.dlq: key = original key ---- */
typedef struct df__dlq_rec {
        char *topic;
        int32_t partition;
        int64_t offset;
        df__buf_t key;
        df__buf_t value;
        char *error;
        int64_t ts_ms;
} df__dlq_rec_t;

/** Which record a single-object encoded buffer holds (by fingerprint). */
typedef enum df__rec_type {
        DF__REC_UNKNOWN = 0,
        DF__REC_EVENT,
        DF__REC_EXEC,
        DF__REC_OP,
        DF__REC_TIMER,
        DF__REC_RESULT,
        DF__REC_DLQ,
        DF__REC_SCHEDULE,
} df__rec_type_t;

#endif /* DF_RECORDS_H */
