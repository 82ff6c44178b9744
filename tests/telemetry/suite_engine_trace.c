/*
 * suite_engine_trace.c -- the replay engine's tracing (engine_trace.c),
 * driven through df__engine_apply with recording outputs, no Kafka: the
 * start's traceparent kept with the execution and carried on every record,
 * the spans each apply ends (execution, operation, attempt) with their
 * deterministic ids and parents, none twice across replays, none made while
 * the exporter's queue is full or its export is down (and made again once
 * the collector is back), and an invoked child's START under the INVOKE
 * operation's span.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "duraflow/runtime.h"
#include "engine.h"
#include "internal.h"
#include "metrics.h"
#include "tel_common.h"
#include "trace.h"

#define TP "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
#define MAXREC 64

typedef struct rec {
        int n_tp, n_no_tp;           /* records with / without the execution's traceparent */
        char other_tp[MAXREC][DF__TP_SIZE];
        int n_other;                 /* records with another traceparent (a child's START) */
        df__event_t timers[MAXREC];  /* the TIMER events the timers would deliver */
        int n_timers;
        df__span_t *spans[256];
        int n_spans;
} rec_t;

static rec_t R;

static void note_tp(const char *tp)
{
        if (!strcmp(tp, TP))
                R.n_tp++;
        else if (!tp[0])
                R.n_no_tp++;
        else if (R.n_other < MAXREC)
                memcpy(R.other_tp[R.n_other++], tp, DF__TP_SIZE);
}

static int out_timer(void *o, const df__timer_rec_t *t)
{
        char err[256];
        (void)o;
        note_tp(t->traceparent);
        ck_assert_int_lt(R.n_timers, MAXREC);
        ck_assert_int_eq(df__event_decode(t->payload.data, t->payload.len, &R.timers[R.n_timers], err, sizeof(err)),
                         0);
        R.n_timers++;
        return 0;
}

static int out_event(void *o, const df__event_t *ev)
{
        (void)o;
        note_tp(ev->traceparent);
        return 0;
}

static int out_result(void *o, const df__result_rec_t *r)
{
        (void)o;
        note_tp(r->traceparent);
        return 0;
}

static int out_span(void *o, df__span_t *sp)
{
        (void)o;
        ck_assert_int_lt(R.n_spans, 256);
        R.spans[R.n_spans++] = sp;
        return 0;
}

static int put_nothing(void *o, const char *key, const df__buf_t *val)
{
        (void)o;
        (void)key;
        (void)val;
        return 0;
}

static df_err_t flaky(df_step_t *s, void *opaque)
{
        (void)opaque;
        if (df_step_attempt(s) == 1) {
                df_step_set_error(s, "Flaky", "the first attempt fails");
                return DF_ERR_STEP_FAILED;
        }
        return df_step_set_result(s, "ok", 2);
}

static df_err_t wf(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        df_step_opts_t o = {.max_attempts = 3, .initial_delay_ms = 1000, .backoff_rate = 1.0};
        df_err_t rc;
        (void)input;
        (void)opaque;
        if ((rc = df_step(ctx, "charge", flaky, NULL, &o, NULL)) != DF_OK)
                return rc;
        if ((rc = df_wait(ctx, "nap", 1000)) != DF_OK)
                return rc;
        return df_invoke(ctx, "child", "kid", "tr-1-kid", NULL, NULL);
}

static df_err_t kid(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        (void)ctx;
        (void)input;
        (void)opaque;
        return DF_OK;
}

static const df__engine_out_t OUT = {.timer = out_timer, .event = out_event, .result = out_result, .span = out_span};

/* The same without the span hook: the engine hands its spans to its tracer. */
static const df__engine_out_t OUT_EXPORT = {.timer = out_timer, .event = out_event, .result = out_result};

/* Apply ev, flush (the dirty flags clear as the worker's flush clears them). */
static void apply_to(df__engine_t *eng, df__exec_state_t *st, const df__event_t *ev, const df__engine_out_t *out)
{
        char err[256];
        ck_assert_int_eq(df__engine_apply(eng, st, ev, out, 1), 0);
        ck_assert_int_eq(df__state_flush_dirty(st, put_nothing, NULL, err, sizeof(err)), 0);
}

static void apply(df__engine_t *eng, df__exec_state_t *st, const df__event_t *ev)
{
        apply_to(eng, st, ev, &OUT);
}

static df__span_t *find(const uint8_t id[8])
{
        int i;
        for (i = 0; i < R.n_spans; i++)
                if (!memcmp(df__span_id(R.spans[i]), id, 8))
                        return R.spans[i];
        return NULL;
}

START_TEST(spans_and_headers)
{
        df__engine_t *eng = df__engine_new("t.events");
        df__exec_state_t *st = df__exec_state_new();
        df__otlp_opts_t o = {0};
        df__otlp_t *exp;
        df__traceparent_t tp;
        df__event_t start;
        uint8_t ex_id[8], op1[8], op2[8], op3[8], a1[8], a2[8], kid_parent[8];
        char err[256], buf[64];
        int i, j, before;

        memset(&R, 0, sizeof(R));
        ck_assert_int_eq(df__traceparent_parse(TP, strlen(TP), &tp, err, sizeof(err)), DF_OK);
        snprintf(buf, sizeof(buf), "http://127.0.0.1:%d", tel_closed_port());
        o.endpoint = buf;
        ck_assert_int_eq(df__otlp_new(&o, &exp, err, sizeof(err)), DF_OK);
        df__engine_set_tracer(eng, exp);
        ck_assert_ptr_eq(df__engine_tracer(eng), exp);
        ck_assert_int_eq(df__engine_register(eng, "wf", wf, NULL), DF_OK);
        ck_assert_int_eq(df__engine_register(eng, "kid", kid, NULL), DF_OK);

        memset(&start, 0, sizeof(start));
        start.type = DF__EV_START;
        start.execution_id = "tr-1";
        start.workflow = "wf";
        start.request_id = "";
        memcpy(start.traceparent, TP, sizeof(TP));
        apply(eng, st, &start); /* charge attempt 1 fails: a retry timer */
        ck_assert_str_eq(st->exec.traceparent, TP);
        ck_assert_int_eq(R.n_spans, 1);
        ck_assert_int_eq(R.n_timers, 1);
        apply(eng, st, &R.timers[0]); /* attempt 2 succeeds; the wait's timer */
        ck_assert_int_eq(R.n_spans, 3);
        ck_assert_int_eq(R.n_timers, 2);
        apply(eng, st, &R.timers[1]); /* the wait ends; the child is invoked */
        ck_assert_int_eq(R.n_spans, 4);
        /* a stale timer delivered again (a replay): nothing more */
        before = R.n_spans;
        apply(eng, st, &R.timers[1]);
        apply(eng, st, &R.timers[0]);
        ck_assert_int_eq(R.n_spans, before);

        /* every record carried the start's traceparent but the child's START */
        ck_assert_int_eq(R.n_no_tp, 0);
        ck_assert_int_ge(R.n_tp, 2);
        ck_assert_int_eq(R.n_other, 1);
        df__span_id_derive(tp.trace_id, "tr-1", "3", 0, kid_parent);
        {
                df__traceparent_t c;
                ck_assert_int_eq(df__traceparent_parse(R.other_tp[0], 55, &c, err, sizeof(err)), DF_OK);
                ck_assert(!memcmp(c.trace_id, tp.trace_id, 16));
                ck_assert(!memcmp(c.span_id, kid_parent, 8)); /* under the INVOKE operation's span */
        }

        /* ids and parents as trace.h derives them */
        df__span_id_derive(tp.trace_id, "tr-1", "", 0, ex_id);
        df__span_id_derive(tp.trace_id, "tr-1", "1", 0, op1);
        df__span_id_derive(tp.trace_id, "tr-1", "2", 0, op2);
        df__span_id_derive(tp.trace_id, "tr-1", "3", 0, op3);
        df__span_id_derive(tp.trace_id, "tr-1", "1", 1, a1);
        df__span_id_derive(tp.trace_id, "tr-1", "1", 2, a2);
        ck_assert_ptr_nonnull(find(a1));
        ck_assert_ptr_nonnull(find(a2));
        ck_assert_ptr_nonnull(find(op1));
        ck_assert_ptr_nonnull(find(op2));
        ck_assert_ptr_null(find(op3)); /* the invoke waits for its child */
        ck_assert_ptr_null(find(ex_id));
        ck_assert(!memcmp(df__span_parent_id(find(a1)), op1, 8));
        ck_assert(!memcmp(df__span_parent_id(find(a2)), op1, 8));
        ck_assert(!memcmp(df__span_parent_id(find(op1)), ex_id, 8));
        ck_assert(!memcmp(df__span_parent_id(find(op2)), ex_id, 8));
        ck_assert_str_eq(df__span_attr(find(a1), DF__ATTR_ATTEMPT_OUTCOME, buf, sizeof(buf)), "FAILED");
        ck_assert_str_eq(df__span_attr(find(a2), DF__ATTR_ATTEMPT_OUTCOME, buf, sizeof(buf)), "SUCCEEDED");
        ck_assert_str_eq(df__span_attr(find(a2), DF__ATTR_ATTEMPT_NUMBER, buf, sizeof(buf)), "2");
        ck_assert_str_eq(df__span_attr(find(op1), DF__ATTR_OPERATION_TYPE, buf, sizeof(buf)), "STEP");
        ck_assert_str_eq(df__span_attr(find(op2), DF__ATTR_OPERATION_TYPE, buf, sizeof(buf)), "WAIT");
        ck_assert_str_eq(df__span_attr(find(op1), DF__ATTR_OPERATION_STATUS, buf, sizeof(buf)), "SUCCEEDED");
        for (i = 0; i < R.n_spans; i++)
                for (j = i + 1; j < R.n_spans; j++)
                        ck_assert(memcmp(df__span_id(R.spans[i]), df__span_id(R.spans[j]), 8));

        /* the child ends: the INVOKE operation and the execution end */
        {
                df__event_t done;
                memset(&done, 0, sizeof(done));
                done.type = DF__EV_CHILD_DONE;
                done.execution_id = "tr-1";
                done.op_id = "3";
                done.child_id = "tr-1-kid";
                done.status = DF__ES_SUCCEEDED;
                done.request_id = "";
                apply(eng, st, &done);
        }
        ck_assert_ptr_nonnull(find(op3));
        ck_assert_ptr_nonnull(find(ex_id));
        ck_assert(!memcmp(df__span_parent_id(find(ex_id)), tp.span_id, 8)); /* under the start's span */
        ck_assert_str_eq(df__span_attr(find(ex_id), DF__ATTR_EXECUTION_STATUS, buf, sizeof(buf)), "SUCCEEDED");
        ck_assert_str_eq(df__span_attr(find(op3), DF__ATTR_OPERATION_TYPE, buf, sizeof(buf)), "CHAINED_INVOKE");
        ck_assert_int_eq(R.n_no_tp, 0);

        for (i = 0; i < R.n_spans; i++)
                df__span_destroy(R.spans[i]);
        for (i = 0; i < R.n_timers; i++)
                df__event_clear(&R.timers[i]);
        df__exec_state_free(st);
        df__engine_destroy(eng);
        df__otlp_destroy(exp, 0);
}
END_TEST

/* Without a traceparent the worker makes one at START (random, sampled)
 * and keeps it; with the exporter's queue full no span is made (counted
 * dropped); without an exporter none either, the records still carry it. */
START_TEST(created_at_start_and_skipped_when_full)
{
        df__engine_t *eng = df__engine_new("t.events");
        df__exec_state_t *st = df__exec_state_new();
        df__otlp_opts_t o = {0};
        df__otlp_t *exp;
        df__otlp_stats_t s0, s1;
        df__event_t start;
        char err[256], buf[64], kept[DF__TP_SIZE];
        int i;

        memset(&R, 0, sizeof(R));
        snprintf(buf, sizeof(buf), "http://127.0.0.1:%d", tel_closed_port());
        o.endpoint = buf;
        o.queue_max = 1;
        o.batch_max = 1;
        o.backoff_initial_ms = 60000;
        ck_assert_int_eq(df__otlp_new(&o, &exp, err, sizeof(err)), DF_OK);
        /* fill it: one held by the thread (retrying), one queued, one refused */
        for (i = 0; i < 3; i++) {
                uint8_t tid[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
                uint8_t id[8] = {1, 2, 3, 4, 5, 6, 7, (uint8_t)(i + 1)};
                df__otlp_submit(exp, df__span_new("filler", DF__SPAN_INTERNAL, tid, id, NULL, 0));
                if (i == 0)
                        usleep(200 * 1000); /* the thread takes it and fails to send it */
        }
        ck_assert_int_eq(df__otlp_skip(exp), 1); /* (counted: one span not made) */
        df__otlp_stats(exp, &s0);
        df__engine_set_tracer(eng, exp);
        ck_assert_int_eq(df__engine_register(eng, "wf", wf, NULL), DF_OK);
        memset(&start, 0, sizeof(start));
        start.type = DF__EV_START;
        start.execution_id = "tr-2";
        start.workflow = "wf";
        start.request_id = "";
        apply(eng, st, &start);
        ck_assert_int_eq(df_traceparent_check(st->exec.traceparent, err, sizeof(err)), DF_OK);
        ck_assert_str_eq(st->exec.traceparent + 52, "-01");
        snprintf(kept, sizeof(kept), "%s", st->exec.traceparent);
        ck_assert_int_eq(R.n_spans, 0); /* the failed attempt's span: not made */
        df__otlp_stats(exp, &s1);
        ck_assert_uint_eq(s1.dropped_full, s0.dropped_full + 1);
        ck_assert_uint_eq(s1.not_made, s0.not_made + 1);
        apply(eng, st, &R.timers[0]);
        ck_assert_str_eq(st->exec.traceparent, kept); /* kept, not made again */
        ck_assert_int_eq(R.n_spans, 0);
        ck_assert_int_eq(R.n_no_tp, 0);
        for (i = 0; i < R.n_other; i++)
                ck_assert_str_eq(R.other_tp[i], kept);
        for (i = 0; i < R.n_timers; i++)
                df__event_clear(&R.timers[i]);
        df__exec_state_free(st);
        df__engine_destroy(eng);
        df__otlp_destroy(exp, 0);
}
END_TEST

/* Spans in the OTLP/JSON bodies the collector got. */
static int collector_spans(tel_collector_t *c)
{
        int i, n = 0;
        for (i = 0; i < tel_collector_requests(c); i++) {
                json_t *root = json_loads(tel_collector_body(c, i), 0, NULL);
                ck_assert_ptr_nonnull(root);
                n += (int)json_array_size(json_object_get(
                    json_array_get(
                        json_object_get(json_array_get(json_object_get(root, "resourceSpans"), 0), "scopeSpans"), 0),
                    "spans"));
                json_decref(root);
        }
        return n;
}

static void start_event(df__event_t *ev, const char *id)
{
        memset(ev, 0, sizeof(*ev));
        ev->type = DF__EV_START;
        ev->execution_id = (char *)id;
        ev->workflow = "wf";
        ev->request_id = "";
}

/* Issue 14: with the collector down for good the engine makes no span.
 * The endpoint is a port nothing listens on: the first span's export is
 * refused down_after (3) times, export goes down; then 10 executions'
 * applies, which would each end a (failed) attempt span, make none (counted
 * dropped, reason backend_down, and submit none).  A collector comes back
 * on that port: export is up again within the backoff cap, the next
 * applies make their spans and the collector receives them. */
START_TEST(no_span_made_while_export_down)
{
        static const int ok[] = {200, 0};
        df__engine_t *eng = df__engine_new("t.events");
        df__exec_state_t *st[11];
        df__metrics_t *m = df__metrics_new();
        df__otlp_opts_t o = {.batch_max = 64, .flush_ms = 10, .backoff_initial_ms = 20, .backoff_max_ms = 200,
                             .down_after = 3, .metrics = m};
        df__otlp_t *exp;
        df__otlp_stats_t s0, s1, s2;
        df__event_t start;
        tel_collector_t *c;
        char err[256], ep[64], id[11][16];
        int i, port = tel_closed_port();
        int64_t t0;

        memset(&R, 0, sizeof(R));
        snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", port);
        o.endpoint = ep;
        ck_assert_int_eq(df__otlp_new(&o, &exp, err, sizeof(err)), DF_OK);
        df__engine_set_tracer(eng, exp);
        ck_assert_int_eq(df__engine_register(eng, "wf", wf, NULL), DF_OK);
        for (i = 0; i < 11; i++) {
                st[i] = df__exec_state_new();
                snprintf(id[i], sizeof(id[i]), "tr-d%d", i);
        }

        /* one execution's first attempt fails: its span goes to the exporter, whose requests are refused */
        start_event(&start, id[0]);
        apply_to(eng, st[0], &start, &OUT_EXPORT);
        ck_assert_int_eq(R.n_timers, 1);
        t0 = tel_mono_ms();
        while (!df__otlp_down(exp) && tel_mono_ms() - t0 < 5000)
                usleep(2000);
        ck_assert_msg(df__otlp_down(exp), "export not down 5 s after the first refused request");
        df__otlp_stats(exp, &s0);
        ck_assert_uint_eq(s0.submitted, 1);
        ck_assert_uint_eq(s0.held, 1); /* the probe */
        ck_assert_uint_ge(s0.failures, 3);

        /* down: 10 executions, 10 failed attempts, no span made nor queued */
        for (i = 1; i < 11; i++) {
                start_event(&start, id[i]);
                apply_to(eng, st[i], &start, &OUT_EXPORT);
        }
        ck_assert_int_eq(R.n_timers, 11);
        df__otlp_stats(exp, &s1);
        ck_assert_uint_eq(s1.not_made - s0.not_made, 10);
        ck_assert_uint_eq(s1.submitted - s0.submitted, 10); /* all of them the spans not made */
        ck_assert_uint_eq(s1.dropped_down - s0.dropped_down, 10);
        ck_assert_uint_eq(s1.queued, 0);
        ck_assert_uint_eq(s1.held, 1);
        ck_assert_uint_eq(df__counter_value(df__metric_series(m, DF__M_SPANS_DROPPED, "backend_down")),
                          s1.dropped_down);
        ck_assert_int_eq(df__gauge_value(df__metric_series(m, DF__M_OTLP_DOWN)), 1);
        ck_assert_int_eq(R.n_no_tp, 0); /* the records still carry their traceparent */

        /* the collector is back: the probe goes through, spans are made again */
        c = tel_collector_start_on(ok, port);
        t0 = tel_mono_ms();
        while (df__otlp_down(exp) && tel_mono_ms() - t0 < 5000)
                usleep(2000);
        ck_assert_msg(!df__otlp_down(exp), "export still down 5 s after the collector came back");
        printf("engine: export down after %llu failed requests, %llu spans not made while down; up again %lld ms "
               "after the collector came back (backoff cap 200 ms)\n",
               (unsigned long long)s0.failures, (unsigned long long)(s1.not_made - s0.not_made),
               (long long)(tel_mono_ms() - t0));
        fflush(stdout);
        ck_assert_int_lt(tel_mono_ms() - t0, 200 + 800);
        /* the retry timers: each second attempt succeeds: its attempt span and the step's operation span */
        for (i = 1; i < 11; i++)
                apply_to(eng, st[i], &R.timers[i], &OUT_EXPORT);
        ck_assert_int_eq(df__otlp_flush(exp, 5000), 1);
        df__otlp_stats(exp, &s2);
        ck_assert_uint_eq(s2.not_made, s1.not_made);
        ck_assert_uint_eq(s2.exported, 1 + 20);
        ck_assert_int_eq(collector_spans(c), 1 + 20);
        ck_assert_int_eq(df__gauge_value(df__metric_series(m, DF__M_OTLP_DOWN)), 0);

        for (i = 0; i < R.n_timers; i++)
                df__event_clear(&R.timers[i]);
        for (i = 0; i < 11; i++)
                df__exec_state_free(st[i]);
        df__engine_destroy(eng);
        df__otlp_destroy(exp, 1000);
        tel_collector_stop(c);
        df__metrics_destroy(m);
}
END_TEST

Suite *suite_engine_trace(void)
{
        Suite *s = suite_create("engine_trace");
        TCase *tc = tcase_create("engine_trace");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, spans_and_headers);
        tcase_add_test(tc, created_at_start_and_skipped_when_full);
        tcase_add_test(tc, no_span_made_while_export_down);
        suite_add_tcase(s, tc);
        return s;
}
