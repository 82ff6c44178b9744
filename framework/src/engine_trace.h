/*
 * engine_trace.h -- the replay engine's tracing (engine_trace.c; internal):
 * an execution's trace context kept with it, the Kafka header on every
 * record its replays produce, and the spans they end (trace.h's model).
 *
 * One df__etrace_t lives on the stack of each df__engine_apply call: it
 * sets the log scope of the applying thread (log.h: every line it writes
 * carries the execution id, workflow and trace id), wraps the caller's outputs (df__engine_out_t) so that every event, timer
 * and result record of the execution carries its traceparent (the
 * records' non-encoded traceparent member, written as a Kafka header by
 * collector.c), and it ends the spans of what this apply finished:
 *   - an attempt span when a step attempt ends (df__etrace_attempt, called
 *     where the engine records the attempt's outcome: in the replay that
 *     ran the body, or in the one that turns a crash note or an
 *     interrupted at-most-once START into a failed attempt), never in the
 *     later replays that only read the recorded result;
 *   - an operation span for each operation the apply brought to SUCCEEDED,
 *     FAILED or TIMED_OUT (a dirty record with a terminal status: an ended
 *     operation is never written again);
 *   - the execution span when the execution reached a terminal status (the
 *     first time: a restarted execution's later end adds none).
 * Ids are trace.h's deterministic derivation, so the same work replayed
 * after a crash before its commit derives the same spans; the worker holds
 * them with the batch's records until the commit (df__engine_out_t.span).
 * No span is made while the exporter would drop it (export down, or its
 * queue full: df__otlp_skip, one relaxed atomic load); it is counted as
 * dropped instead, and a span not made is only missing, never wrong.
 * An operation of a restarted run (Execution.run > 0) derives its ids from
 * "<op id>#<run>", so that its fresh attempts are new spans.
 *
 * Thread safety: a df__etrace_t belongs to one apply (one replay); its
 * functions are called with the replay's lock held (or from its only
 * thread), and submit to the exporter, which has its own lock.
 */
#ifndef DF_ENGINE_TRACE_H
#define DF_ENGINE_TRACE_H

#include "engine.h"
#include "log.h"
#include "trace.h"

typedef struct df__etrace {
        df__otlp_t *exp;               /* NULL: tracing off (records still carry the header) */
        const df__engine_out_t *out;   /* the caller's outputs */
        df__exec_state_t *st;
        df__traceparent_t tp;          /* the execution's start context */
        char tp_text[DF__TP_SIZE];     /* tp formatted: the header of every record */
        int sampled;                   /* spans are made (exp and the sampled flag) */
        int existed, prev_status;      /* the execution before this apply */
        int ev_type;                   /* the event applied */
        /* the log lines of this apply's threads (df__log_scope_set) */
        df__log_fields_t log;
        const df__log_fields_t *log_prev;
        char log_trace[33], log_workflow[DF__NAME_MAX + 1];
} df__etrace_t;

/**
 * Before an apply of ev to st: the execution's traceparent (kept with it;
 * else the START's header; else a new one, random) and the outputs that
 * stamp it on every record (*wrapped, with wrapped->trace = tr).
 */
void df__etrace_begin(df__etrace_t *tr, df__otlp_t *exp, df__exec_state_t *st, const df__event_t *ev,
                      const df__engine_out_t *out, df__engine_out_t *wrapped);
/** The log fields of the apply (execution id, workflow, trace id), for a
 * branch lane's thread; NULL for tr NULL. */
const df__log_fields_t *df__etrace_log_scope(const df__etrace_t *tr);
/** After the apply (rc its result: nothing is emitted when it failed):
 * the traceparent recorded with an execution that has none yet, and the
 * operation and execution spans of what the apply ended.  now in UTC ms. */
void df__etrace_end(df__etrace_t *tr, int rc, int64_t now_ms);
/** A step attempt ended (its outcome recorded in op): its span, from
 * start_ms (UTC; 0 = unknown: now) to now_ms.  ok: SUCCEEDED, else FAILED
 * with op->error.  tr NULL: nothing. */
void df__etrace_attempt(const df__etrace_t *tr, const df__op_rec_t *op, int attempt, int64_t start_ms,
                        int64_t now_ms, int ok);
/** The traceparent a step body of op's attempt sees (its attempt span's
 * context) into buf (DF__TP_SIZE bytes).  0, or -1 when tr is NULL. */
int df__etrace_step_context(const df__etrace_t *tr, const df__op_rec_t *op, int attempt, char *buf);

#endif /* DF_ENGINE_TRACE_H */
