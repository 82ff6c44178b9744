/*
 * suite_invoke.c -- invoke (issue 11, item 4): a child execution started
 * by an operation of its parent, its terminal result delivered back as an
 * event; the link recorded both ways; idempotent (a replay never starts a
 * second child); stopping the parent stops its running children, also one
 * whose start is still in flight.
 */
#include <stdio.h>
#include <stdlib.h>

#include "engine_test.h"
#include "internal.h" /* one test drives the engine directly */

static struct {
        int child_bodies;
        int fail_child;
        df_err_t invoke_rc;
        char invoke_err[512];
} I;

static void setup(void)
{
        memset(&I, 0, sizeof(I));
}

static df_err_t body_child(df_step_t *s, void *opaque)
{
        (void)opaque;
        I.child_bodies++;
        if (I.fail_child) {
                df_step_set_error(s, "Broken", "the child cannot");
                return DF_ERR_STEP_FAILED;
        }
        return df_step_set_result(s, "done", 4);
}

/* child: step, wait 1 h, output = "child:" + input */
static df_err_t wf_child(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        static const df_step_opts_t once = {.max_attempts = 1};
        char out[64];
        df_err_t rc;
        (void)opaque;
        if ((rc = df_step(ctx, "work", body_child, NULL, &once, NULL)) != DF_OK) {
                df_ctx_fail(ctx, df_ctx_last_error(ctx));
                return rc;
        }
        if ((rc = df_wait(ctx, "hour", 3600000)) != DF_OK)
                return rc;
        memcpy(out, "child:", 6);
        memcpy(out + 6, input->data, input->len);
        return df_ctx_set_output(ctx, out, 6 + input->len);
}

/* parent: invoke "kid-<input>" of "child" with the input, output its result */
static df_err_t wf_parent(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        char id[64];
        df_bytes_t r;
        df_err_t rc;
        (void)opaque;
        snprintf(id, sizeof(id), "kid-%.*s", (int)input->len, (const char *)input->data);
        rc = df_invoke(ctx, "call", "child", id, input, &r);
        if (rc == DF_SUSPENDED)
                return rc;
        I.invoke_rc = rc;
        if (rc != DF_OK) {
                et_copy(I.invoke_err, sizeof(I.invoke_err), df_ctx_last_error(ctx));
                df_ctx_fail(ctx, df_ctx_last_error(ctx));
                return rc;
        }
        return df_ctx_set_output(ctx, r.data, r.len);
}

static df_test_t *runner(void)
{
        df_test_t *t = et_new();
        ASSERT_RC(df_test_register(t, "parent", wf_parent, NULL), DF_OK);
        ASSERT_RC(df_test_register(t, "child", wf_child, NULL), DF_OK);
        return t;
}

/* The child runs, the parent waits for it, gets its output; both records
 * link to each other. */
START_TEST(test_invoke_result_and_link)
{
        df_test_t *t = runner();
        df_test_op_t op;
        const char *pop;

        ASSERT_RC(df_test_start(t, "parent", "p1", "a", 1), DF_OK);
        ASSERT_STATUS(t, "p1", "SUSPENDED");
        ASSERT_STATUS(t, "kid-a", "SUSPENDED"); /* started through the event queue, as through Kafka */
        ASSERT_OP(t, "p1", 1, "call", "INVOKE", "STARTED");
        ASSERT_RC(df_test_op(t, "p1", 1, &op), DF_OK);
        ck_assert_str_eq(op.child_id, "kid-a");
        ck_assert_str_eq(df_test_parent(t, "kid-a", &pop), "p1");
        ck_assert_str_eq(pop, "1");
        ck_assert_str_eq(df_test_parent(t, "p1", NULL), "");
        df_test_advance(t, 3600000);
        ASSERT_STATUS(t, "kid-a", "SUCCEEDED");
        ASSERT_STATUS(t, "p1", "SUCCEEDED");
        ASSERT_OUTPUT(t, "p1", "child:a", 7);
        ASSERT_OP(t, "p1", 1, "call", "INVOKE", "SUCCEEDED");
        ASSERT_OP_RESULT(t, "p1", 1, "child:a", 7);
        ck_assert_int_eq(I.child_bodies, 1);
        df_test_destroy(t);
}
END_TEST

/* The child fails: the parent's invoke fails with the child's status and
 * error. */
START_TEST(test_invoke_child_fails)
{
        df_test_t *t = runner();
        I.fail_child = 1;
        ASSERT_RC(df_test_start(t, "parent", "p2", "b", 1), DF_OK);
        ASSERT_STATUS(t, "kid-b", "FAILED");
        ASSERT_STATUS(t, "p2", "FAILED");
        ASSERT_RC(I.invoke_rc, DF_ERR_INVOKE_FAILED);
        ck_assert_str_eq(I.invoke_err, "child execution kid-b ended FAILED: Broken: the child cannot");
        ck_assert_str_eq(df_test_error(t, "p2"), I.invoke_err);
        ASSERT_OP(t, "p2", 1, "call", "INVOKE", "FAILED");
        df_test_destroy(t);
}
END_TEST

/* A replay of the parent (forced, and after a crash of its delivery) never
 * starts a second child: exactly one START reaches the child's partition. */
START_TEST(test_invoke_idempotent)
{
        df_test_t *t = runner();

        df_test_hold(t, "kid-c", 1); /* the child's partition's worker is away */
        ASSERT_RC(df_test_start(t, "parent", "p3", "c", 1), DF_OK);
        ASSERT_STATUS(t, "p3", "SUSPENDED");
        ck_assert_int_eq(df_test_held_events(t), 1);
        ASSERT_RC(df_test_resume(t, "p3"), DF_OK); /* a replay of the parent */
        ck_assert_int_eq(df_test_held_events(t), 1);
        df_test_crash_next(t, 1);
        ASSERT_RC(df_test_resume(t, "p3"), DF_OK); /* a replay whose delivery crashes, then again */
        ck_assert_int_eq(df_test_crashes(t), 1);
        ck_assert_int_eq(df_test_held_events(t), 1);
        df_test_hold(t, "kid-c", 0);
        ASSERT_STATUS(t, "kid-c", "SUSPENDED");
        ck_assert_int_eq(I.child_bodies, 1);
        df_test_advance(t, 3600000);
        ASSERT_STATUS(t, "p3", "SUCCEEDED");
        ASSERT_OUTPUT(t, "p3", "child:c", 7);
        df_test_destroy(t);
}
END_TEST

/* Stopping the parent stops its running child. */
START_TEST(test_invoke_stop_parent_stops_child)
{
        df_test_t *t = runner();
        ASSERT_RC(df_test_start(t, "parent", "p4", "d", 1), DF_OK);
        ASSERT_STATUS(t, "kid-d", "SUSPENDED");
        ASSERT_RC(df_test_stop(t, "p4"), DF_OK);
        ASSERT_STATUS(t, "p4", "STOPPED");
        ASSERT_STATUS(t, "kid-d", "STOPPED");
        ck_assert_str_eq(df_test_error(t, "kid-d"), "parent execution p4 stopped: stopped by test");
        df_test_advance(t, 3600000); /* the child's wait fires: it stays stopped */
        ASSERT_STATUS(t, "kid-d", "STOPPED");
        ASSERT_STATUS(t, "p4", "STOPPED");
        df_test_destroy(t);
}
END_TEST

/* The parent is stopped before the child's start is recorded (its
 * partition's worker away): when the child's events arrive, in order, it
 * ends stopped too. */
START_TEST(test_invoke_stop_before_child_start)
{
        df_test_t *t = runner();
        df_test_hold(t, "kid-e", 1);
        ASSERT_RC(df_test_start(t, "parent", "p5", "e", 1), DF_OK);
        ck_assert_ptr_null(df_test_status(t, "kid-e")); /* not recorded */
        ASSERT_RC(df_test_stop(t, "p5"), DF_OK);
        ASSERT_STATUS(t, "p5", "STOPPED");
        ck_assert_int_eq(df_test_held_events(t), 2); /* its START, then the STOP */
        df_test_hold(t, "kid-e", 0);
        ASSERT_STATUS(t, "kid-e", "STOPPED");
        ck_assert_int_eq(df_test_held_events(t), 0);
        df_test_advance(t, 3600000);
        ASSERT_STATUS(t, "kid-e", "STOPPED");
        df_test_destroy(t);
}
END_TEST

/* The same when the STOP is applied first (a parent's stop for an
 * execution not recorded yet): a STOPPED placeholder, and the START that
 * comes later ends stopped without running anything; the parent is told. */
struct sink {
        df__event_t events[8];
        int n;
};

static int out_event(void *opaque, const df__event_t *ev)
{
        struct sink *s = opaque;
        ck_assert_int_lt(s->n, 8);
        memset(&s->events[s->n], 0, sizeof(s->events[0]));
        s->events[s->n].type = ev->type;
        s->events[s->n].execution_id = strdup(ev->execution_id);
        s->events[s->n].child_id = strdup(ev->child_id ? ev->child_id : "");
        s->events[s->n].status = ev->status;
        s->n++;
        return 0;
}

static int out_timer(void *opaque, const df__timer_rec_t *tr)
{
        (void)opaque;
        (void)tr;
        return 0;
}

static int out_result(void *opaque, const df__result_rec_t *r)
{
        (void)opaque;
        (void)r;
        return 0;
}

START_TEST(test_invoke_stop_applied_before_start)
{
        char errstr[256];
        df__engine_t *eng;
        df__exec_state_t *st;
        struct sink sink = {.n = 0};
        df__engine_out_t out = {.timer = out_timer, .event = out_event, .result = out_result, .opaque = &sink};
        df__event_t stop, start;
        int i;

        ck_assert_int_eq(df__codec_init(errstr, sizeof(errstr)), 0);
        eng = df__engine_new("duraflow.events");
        ck_assert_ptr_nonnull(eng);
        ASSERT_RC(df__engine_register(eng, "child", wf_child, NULL), DF_OK);
        st = df__exec_state_new();
        memset(&stop, 0, sizeof(stop));
        stop.type = DF__EV_STOP;
        stop.execution_id = "kid-f";
        stop.error = "parent execution p6 stopped: by test";
        stop.parent_id = "p6";
        ck_assert_int_eq(df__engine_apply(eng, st, &stop, &out, 0), 0);
        ck_assert_int_eq(st->exec.status, DF__ES_STOPPED);
        memset(&start, 0, sizeof(start));
        start.type = DF__EV_START;
        start.execution_id = "kid-f";
        start.workflow = "child";
        start.input.data = (uint8_t *)"f";
        start.input.len = 1;
        start.parent_id = "p6";
        start.parent_op = "1";
        ck_assert_int_eq(df__engine_apply(eng, st, &start, &out, 0), 0);
        ck_assert_int_eq(st->exec.status, DF__ES_STOPPED);
        ck_assert_str_eq(st->exec.workflow, "child");
        ck_assert_str_eq(st->exec.parent_id, "p6");
        ck_assert_int_eq(st->n_ops, 0);     /* nothing ran */
        ck_assert_int_eq(I.child_bodies, 0);
        ck_assert_int_eq(sink.n, 1);         /* the parent is told the child ended STOPPED */
        ck_assert_int_eq(sink.events[0].type, DF__EV_CHILD_DONE);
        ck_assert_str_eq(sink.events[0].execution_id, "p6");
        ck_assert_str_eq(sink.events[0].child_id, "kid-f");
        ck_assert_int_eq(sink.events[0].status, DF__ES_STOPPED);
        for (i = 0; i < sink.n; i++)
                df__event_clear(&sink.events[i]);
        df__exec_state_free(st);
        df__engine_destroy(eng);
}
END_TEST

/* The child id exists with another input: the parent's invoke fails with
 * the conflict instead of waiting for ever. */
START_TEST(test_invoke_conflict)
{
        df_test_t *t = runner();
        ASSERT_RC(df_test_start(t, "child", "kid-g", "other", 5), DF_OK);
        ASSERT_RC(df_test_start(t, "parent", "p7", "g", 1), DF_OK);
        ASSERT_STATUS(t, "p7", "FAILED");
        ASSERT_RC(I.invoke_rc, DF_ERR_INVOKE_FAILED);
        ck_assert_str_eq(I.invoke_err, "child execution kid-g ended FAILED: conflict: execution kid-g exists with a "
                                       "different workflow or input");
        df_test_destroy(t);
}
END_TEST

/* The same child started earlier by someone else (same workflow and input)
 * and already finished: the parent gets its result at once. */
START_TEST(test_invoke_existing_finished_child)
{
        df_test_t *t = runner();
        ASSERT_RC(df_test_start(t, "child", "kid-h", "h", 1), DF_OK);
        df_test_advance(t, 3600000);
        ASSERT_STATUS(t, "kid-h", "SUCCEEDED");
        ASSERT_RC(df_test_start(t, "parent", "p8", "h", 1), DF_OK);
        ASSERT_STATUS(t, "p8", "SUCCEEDED");
        ASSERT_OUTPUT(t, "p8", "child:h", 7);
        ck_assert_int_eq(I.child_bodies, 1);
        df_test_destroy(t);
}
END_TEST

/* Invokes from the branches of a parallel: each branch its own child. */
static df_err_t br_invoke(df_ctx_t *ctx, void *o)
{
        char id[32], in[8];
        df_bytes_t input, r;
        df_err_t rc;
        int i = (int)(intptr_t)o;
        snprintf(id, sizeof(id), "kid-br-%d", i);
        snprintf(in, sizeof(in), "%d", i);
        input.data = (const uint8_t *)in;
        input.len = strlen(in);
        if ((rc = df_invoke(ctx, "call", "child", id, &input, &r)) != DF_OK)
                return rc;
        return df_ctx_set_output(ctx, r.data, r.len);
}

static df_err_t wf_fan_invoke(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        df_branch_t b[3] = {{NULL, br_invoke, (void *)0}, {NULL, br_invoke, (void *)1}, {NULL, br_invoke, (void *)2}};
        df_batch_t batch;
        char *text;
        df_err_t rc;
        (void)input;
        (void)opaque;
        if ((rc = df_parallel(ctx, "fan", b, 3, NULL, &batch)) != DF_OK)
                return rc;
        text = et_batch_text(&batch);
        rc = df_ctx_set_output(ctx, text, strlen(text));
        free(text);
        return rc;
}

START_TEST(test_invoke_in_branches)
{
        static const char want[] = "ALL_COMPLETED 3/3/0/0/0|0:branch-0:SUCCEEDED:6368696c643a30:|"
                                   "1:branch-1:SUCCEEDED:6368696c643a31:|2:branch-2:SUCCEEDED:6368696c643a32:";
        df_test_t *t = runner();
        const char *pop;
        ASSERT_RC(df_test_register(t, "fan", wf_fan_invoke, NULL), DF_OK);
        ASSERT_RC(df_test_start(t, "fan", "p9", NULL, 0), DF_OK);
        ASSERT_STATUS(t, "kid-br-1", "SUSPENDED");
        ck_assert_str_eq(df_test_parent(t, "kid-br-1", &pop), "p9");
        ck_assert_str_eq(pop, "1.2.1");
        df_test_advance(t, 3600000);
        ASSERT_STATUS(t, "p9", "SUCCEEDED");
        ASSERT_OUTPUT(t, "p9", want, sizeof(want) - 1);
        df_test_destroy(t);
}
END_TEST

/* Bad child ids are refused with the rule; the own id too. */
static df_err_t wf_self(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        df_err_t rc;
        (void)input;
        (void)opaque;
        rc = df_invoke(ctx, "call", "child", df_ctx_execution_id(ctx), NULL, NULL);
        if (rc == DF_ERR_INVALID_ARG)
                df_ctx_fail(ctx, df_ctx_last_error(ctx));
        return rc;
}

START_TEST(test_invoke_bad_id)
{
        df_test_t *t = runner();
        ASSERT_RC(df_test_register(t, "self", wf_self, NULL), DF_OK);
        ASSERT_RC(df_test_start(t, "self", "p10", NULL, 0), DF_OK);
        ASSERT_STATUS(t, "p10", "FAILED");
        ck_assert_str_eq(df_test_error(t, "p10"), "invoke \"call\": child execution id must be 1..200 chars of "
                                                  "[A-Za-z0-9._:@-] and not the parent's own");
        df_test_destroy(t);
}
END_TEST

Suite *suite_invoke(void)
{
        Suite *s = suite_create("invoke");
        TCase *tc = tcase_create("invoke");

        tcase_add_checked_fixture(tc, setup, NULL);
        tcase_add_test(tc, test_invoke_result_and_link);
        tcase_add_test(tc, test_invoke_child_fails);
        tcase_add_test(tc, test_invoke_idempotent);
        tcase_add_test(tc, test_invoke_stop_parent_stops_child);
        tcase_add_test(tc, test_invoke_stop_before_child_start);
        tcase_add_test(tc, test_invoke_stop_applied_before_start);
        tcase_add_test(tc, test_invoke_conflict);
        tcase_add_test(tc, test_invoke_existing_finished_child);
        tcase_add_test(tc, test_invoke_in_branches);
        tcase_add_test(tc, test_invoke_bad_id);
        suite_add_tcase(s, tc);
        return s;
}
