/*
 * engine_trace.c -- the replay engine's tracing: the traceparent kept with
 * an execution and stamped on its records, and the spans of what an apply
 * ended (see engine_trace.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_trace.h"
#include "internal.h"
#include "log.h"

static const char *df__etrace_event_name(int type)
{
        switch (type) {
        case DF__EV_START:
                return "START";
        case DF__EV_TIMER:
                return "TIMER";
        case DF__EV_CALLBACK:
                return "CALLBACK";
        case DF__EV_STOP:
                return "STOP";
        case DF__EV_CONTINUE:
                return "CONTINUE";
        case DF__EV_CRASH:
                return "CRASH";
        case DF__EV_RESUME:
                return "RESUME";
        case DF__EV_CHILD_DONE:
                return "CHILD_DONE";
        case DF__EV_PAUSE:
                return "PAUSE";
        case DF__EV_RESTART:
                return "RESTART";
        case DF__EV_PURGE:
                return "PURGE";
        default:
                return "OTHER";
        }
}

/* ---------------- the outputs that stamp the traceparent ---------------- */

static const df__etrace_t *df__tw(void *opaque)
{
        return opaque;
}

static int df__tw_timer(void *opaque, const df__timer_rec_t *t)
{
        const df__etrace_t *tr = df__tw(opaque);
        df__timer_rec_t c = *t;
        if (!c.traceparent[0])
                memcpy(c.traceparent, tr->tp_text, DF__TP_SIZE);
        return tr->out->timer(tr->out->opaque, &c);
}

static const char *df__op_key(const df__etrace_t *tr, const char *op_id, char *buf, size_t size);

static int df__tw_event(void *opaque, const df__event_t *ev)
{
        const df__etrace_t *tr = df__tw(opaque);
        df__event_t c = *ev;
        if (!c.traceparent[0] && c.type == DF__EV_START && c.parent_op && *c.parent_op && c.parent_id &&
            !strcmp(c.parent_id, tr->log.execution_id)) {
                /* the START of a child this execution invokes: the child's
                 * trace goes on under the INVOKE operation's span */
                df__traceparent_t child = tr->tp;
                char kbuf[DF__OP_ID_MAX + 16];
                df__span_id_derive(tr->tp.trace_id, c.parent_id, df__op_key(tr, c.parent_op, kbuf, sizeof(kbuf)), 0,
                                   child.span_id);
                child.version = 0;
                df__traceparent_format(&child, c.traceparent);
        }
        if (!c.traceparent[0])
                memcpy(c.traceparent, tr->tp_text, DF__TP_SIZE);
        return tr->out->event(tr->out->opaque, &c);
}

static int df__tw_result(void *opaque, const df__result_rec_t *r)
{
        const df__etrace_t *tr = df__tw(opaque);
        df__result_rec_t c = *r;
        if (!c.traceparent[0])
                memcpy(c.traceparent, tr->tp_text, DF__TP_SIZE);
        return tr->out->result(tr->out->opaque, &c);
}

static int df__tw_cancel_timer(void *opaque, const char *timer_id)
{
        const df__etrace_t *tr = df__tw(opaque);
        return tr->out->cancel_timer(tr->out->opaque, timer_id);
}

static int df__tw_step_begin(void *opaque, const char *execution_id, const char *op_id, int attempt)
{
        const df__etrace_t *tr = df__tw(opaque);
        return tr->out->step_begin(tr->out->opaque, execution_id, op_id, attempt);
}

static void df__tw_step_end(void *opaque)
{
        const df__etrace_t *tr = df__tw(opaque);
        tr->out->step_end(tr->out->opaque);
}

static int df__tw_over_budget(void *opaque, size_t pending)
{
        const df__etrace_t *tr = df__tw(opaque);
        return tr->out->over_budget(tr->out->opaque, pending);
}

void df__etrace_begin(df__etrace_t *tr, df__otlp_t *exp, df__exec_state_t *st, const df__event_t *ev,
                      const df__engine_out_t *out, df__engine_out_t *w)
{
        const char *kept = st->exists && st->exec.traceparent ? st->exec.traceparent : "";
        int have = 0;

        memset(tr, 0, sizeof(*tr));
        tr->exp = exp;
        tr->out = out;
        tr->st = st;
        tr->existed = st->exists && st->exec.workflow && *st->exec.workflow;
        tr->ev_type = ev->type;
        tr->prev_status = tr->existed ? st->exec.status : -1;
        if (*kept && df__traceparent_parse(kept, strlen(kept), &tr->tp, NULL, 0) == DF_OK)
                have = 1;
        else if (ev->type == DF__EV_START && ev->traceparent[0] &&
                 df__traceparent_parse(ev->traceparent, strlen(ev->traceparent), &tr->tp, NULL, 0) == DF_OK)
                have = 1;
        if (!have && df__traceparent_new(&tr->tp) != DF_OK) {
                /* no randomness: a context derived from the execution id, still one trace per execution */
                static const uint8_t key[16] = "duraflow.trace.0";
                uint8_t id[8];
                df__span_id_derive(key, ev->execution_id, "", 0, id);
                memcpy(tr->tp.trace_id, id, 8);
                df__span_id_derive(key, ev->execution_id, "", 1, id);
                memcpy(tr->tp.trace_id + 8, id, 8);
                df__span_id_derive(key, ev->execution_id, "", 2, tr->tp.span_id);
                tr->tp.version = 0;
                tr->tp.flags = DF__TRACE_FLAG_SAMPLED;
        }
        df__traceparent_format(&tr->tp, tr->tp_text);
        tr->sampled = exp && (tr->tp.flags & DF__TRACE_FLAG_SAMPLED);
        df__hex(tr->tp.trace_id, 16, tr->log_trace);
        snprintf(tr->log_workflow, sizeof(tr->log_workflow), "%s",
                 tr->existed ? st->exec.workflow : ev->workflow ? ev->workflow : "");
        tr->log.execution_id = ev->execution_id;
        tr->log.workflow = tr->log_workflow[0] ? tr->log_workflow : NULL;
        tr->log.trace_id = tr->log_trace;
        tr->log_prev = df__log_scope_set(&tr->log);
        if (df__log_level >= DF__LOG_DEBUG)
                df__log_ctx(DF__LOG_DEBUG, &tr->log, "execution %s: event %s: op %s kind %d seq %lld cb %s header %s",
                            ev->execution_id, df__etrace_event_name(ev->type), ev->op_id ? ev->op_id : "",
                            ev->timer_kind, (long long)ev->seq, ev->callback_id ? ev->callback_id : "",
                            ev->traceparent[0] ? ev->traceparent : "-");

        memset(w, 0, sizeof(*w));
        w->timer = df__tw_timer;
        w->event = df__tw_event;
        w->result = df__tw_result;
        w->opaque = tr;
        w->cancel_timer = out->cancel_timer ? df__tw_cancel_timer : NULL;
        w->step_begin = out->step_begin ? df__tw_step_begin : NULL;
        w->step_end = out->step_end ? df__tw_step_end : NULL;
        w->over_budget = out->over_budget ? df__tw_over_budget : NULL;
        w->span = NULL; /* the engine's spans go through df__etrace_emit */
        w->trace = tr;
}

/* ---------------- spans ---------------- */

static int64_t df__ns(int64_t ms)
{
        return ms * 1000000LL;
}

/* 0 when a span may be made; 1 when the exporter would drop it (export
 * down, or its queue full): the span is counted as dropped without being
 * made, so that a worker whose collector is away pays next to nothing for
 * tracing (a relaxed atomic load per span; no lock, no allocation). */
static int df__etrace_skip(const df__etrace_t *tr)
{
        return df__otlp_skip(tr->exp);
}

static void df__etrace_emit(const df__etrace_t *tr, df__span_t *sp)
{
        if (!sp)
                return;
        if (tr->out->span)
                tr->out->span(tr->out->opaque, sp); /* owns it, also on failure */
        else
                df__otlp_submit(tr->exp, sp);
}

/* The operation key the ids derive from: the op id, "<op id>#<run>" after
 * a restart (its fresh attempts are other spans than the discarded run's). */
static const char *df__op_key(const df__etrace_t *tr, const char *op_id, char *buf, size_t size)
{
        if (!tr->st->exec.run)
                return op_id;
        snprintf(buf, size, "%s#%d", op_id, (int)tr->st->exec.run);
        return buf;
}

/* AWS's plugin's operation types, and duraflow's subtype where one type covers several. */
static const char *df__aws_type(int type, const char **subtype)
{
        *subtype = NULL;
        switch (type) {
        case DF__OP_STEP:
                return "STEP";
        case DF__OP_WAIT:
                return "WAIT";
        case DF__OP_CALLBACK:
                return "CALLBACK";
        case DF__OP_CHILD:
                *subtype = "RunInChildContext";
                return "CONTEXT";
        case DF__OP_INVOKE:
                return "CHAINED_INVOKE";
        case DF__OP_PARALLEL:
                *subtype = "Parallel";
                return "CONTEXT";
        case DF__OP_MAP:
                *subtype = "Map";
                return "CONTEXT";
        case DF__OP_CONDITION:
                *subtype = "WaitForCondition";
                return "STEP";
        default:
                return "UNKNOWN";
        }
}

static const char *df__op_status_text(int status)
{
        switch (status) {
        case DF__OS_SUCCEEDED:
                return "SUCCEEDED";
        case DF__OS_FAILED:
                return "FAILED";
        case DF__OS_TIMED_OUT:
                return "TIMED_OUT";
        case DF__OS_PENDING:
                return "PENDING";
        default:
                return "STARTED";
        }
}

void df__etrace_attempt(const df__etrace_t *tr, const df__op_rec_t *op, int attempt, int64_t start_ms,
                        int64_t now_ms, int ok)
{
        const df__exec_rec_t *e;
        const char *type, *sub;
        char kbuf[DF__OP_ID_MAX + 16];
        df__span_t *sp;

        if (!tr || !tr->sampled || !op || df__etrace_skip(tr))
                return;
        e = &tr->st->exec;
        type = df__aws_type(op->type, &sub);
        sp = df__span_attempt(&tr->tp, e->execution_id, e->workflow, df__op_key(tr, op->op_id, kbuf, sizeof(kbuf)),
                              type, op->name, attempt, df__ns(start_ms > 0 ? start_ms : now_ms));
        if (!sp)
                return;
        df__span_attr_str(sp, DF__ATTR_OPERATION_ID, op->op_id);
        if (sub)
                df__span_attr_str(sp, DF__ATTR_OPERATION_SUBTYPE, sub);
        df__span_attr_str(sp, DF__ATTR_ATTEMPT_OUTCOME, ok ? "SUCCEEDED" : "FAILED");
        if (ok)
                df__span_set_status(sp, DF__STATUS_OK, NULL);
        else
                df__span_set_status(sp, DF__STATUS_ERROR, op->error && *op->error ? op->error : "failed");
        df__span_end(sp, df__ns(now_ms));
        df__etrace_emit(tr, sp);
}

int df__etrace_step_context(const df__etrace_t *tr, const df__op_rec_t *op, int attempt, char *buf)
{
        df__traceparent_t ctx;
        char kbuf[DF__OP_ID_MAX + 16];

        if (!tr || !op)
                return -1;
        df__trace_attempt_context(&tr->tp, tr->st->exec.execution_id, df__op_key(tr, op->op_id, kbuf, sizeof(kbuf)),
                                  attempt < 1 ? 1 : attempt, &ctx);
        df__traceparent_format(&ctx, buf);
        return 0;
}

static int df__op_ended(int status)
{
        return status == DF__OS_SUCCEEDED || status == DF__OS_FAILED || status == DF__OS_TIMED_OUT;
}

static void df__etrace_operation(const df__etrace_t *tr, const df__op_rec_t *op, int64_t now_ms)
{
        const df__exec_rec_t *e = &tr->st->exec;
        const char *type, *sub;
        char kbuf[DF__OP_ID_MAX + 16];
        df__span_t *sp;

        if (df__etrace_skip(tr))
                return;
        type = df__aws_type(op->type, &sub);
        sp = df__span_operation(&tr->tp, e->execution_id, e->workflow, df__op_key(tr, op->op_id, kbuf, sizeof(kbuf)),
                                type, op->name, df__ns(op->started_ms > 0 ? op->started_ms : now_ms));
        if (!sp)
                return;
        df__span_attr_str(sp, DF__ATTR_OPERATION_ID, op->op_id);
        if (sub)
                df__span_attr_str(sp, DF__ATTR_OPERATION_SUBTYPE, sub);
        df__span_attr_str(sp, DF__ATTR_OPERATION_STATUS, df__op_status_text(op->status));
        if (op->type == DF__OP_STEP || op->type == DF__OP_CONDITION)
                df__span_attr_int(sp, "durable.operation.attempts", op->attempt);
        if (op->status == DF__OS_SUCCEEDED)
                df__span_set_status(sp, DF__STATUS_OK, NULL);
        else
                df__span_set_status(sp, DF__STATUS_ERROR, op->error && *op->error ? op->error : "failed");
        df__span_end(sp, df__ns(op->updated_ms > 0 ? op->updated_ms : now_ms));
        df__etrace_emit(tr, sp);
}

static void df__etrace_execution(const df__etrace_t *tr, int64_t now_ms)
{
        const df__exec_rec_t *e = &tr->st->exec;
        df__span_t *sp;

        if (df__etrace_skip(tr))
                return;
        sp = df__span_execution(&tr->tp, e->execution_id, e->workflow,
                                df__ns(e->created_ms > 0 ? e->created_ms : now_ms));
        if (!sp)
                return;
        df__span_attr_str(sp, DF__ATTR_EXECUTION_STATUS, df__exec_status_name(e->status));
        df__span_attr_int(sp, "durable.execution.version", e->version);
        if (e->status == DF__ES_SUCCEEDED)
                df__span_set_status(sp, DF__STATUS_OK, NULL);
        else
                df__span_set_status(sp, DF__STATUS_ERROR, e->error && *e->error ? e->error : df__exec_status_name(e->status));
        df__span_end(sp, df__ns(now_ms));
        df__etrace_emit(tr, sp);
}

const df__log_fields_t *df__etrace_log_scope(const df__etrace_t *tr)
{
        return tr ? &tr->log : NULL;
}

void df__etrace_end(df__etrace_t *tr, int rc, int64_t now_ms)
{
        df__exec_state_t *st = tr->st;
        int i;

        df__log_scope_set(tr->log_prev);
        if (rc == 0 && df__log_level >= DF__LOG_DEBUG)
                /* one line per event applied: a grep for the execution id tells its story */
                df__log_ctx(DF__LOG_DEBUG, &tr->log, "execution %s: event %s applied: %s", tr->log.execution_id,
                            df__etrace_event_name(tr->ev_type),
                            st->exists ? df__exec_status_name(st->exec.status) : "no such execution");
        if (rc != 0 || !st->exists)
                return;
        /* kept with the execution: its first record after this version
         * (or its START) gets it */
        if (st->exec.workflow && *st->exec.workflow && (!st->exec.traceparent || !*st->exec.traceparent)) {
                char *tp = strdup(tr->tp_text);
                if (tp) {
                        free(st->exec.traceparent);
                        st->exec.traceparent = tp;
                        st->exec_dirty = 1;
                }
        }
        if (!tr->sampled)
                return;
        for (i = 0; i < st->n_ops; i++)
                if (st->ops[i] && st->op_dirty[i] && df__op_ended(st->ops[i]->status))
                        df__etrace_operation(tr, st->ops[i], now_ms);
        if (df__exec_status_terminal(st->exec.status) && st->exec.workflow && *st->exec.workflow &&
            !(tr->existed && df__exec_status_terminal(tr->prev_status)) && st->exec.run == 0)
                df__etrace_execution(tr, now_ms);
}
