/*
 * suite_control.c -- idempotent start, unknown workflows, invalid ids,
 * registration, stop.
 */
#include <stdio.h>
#include <stdlib.h>

#include "engine_test.h"

static struct {
        int handler_runs;
        int step_runs;
        int after_stop;
        char cb[CBID_MAX];
} C;

static void setup(void)
{
        memset(&C, 0, sizeof(C));
}

static df_err_t body(df_step_t *s, void *o)
{
        (void)o;
        C.step_runs++;
        return df_step_set_result(s, "v", 1);
}

/* step -> wait 10 s -> output = input */
static df_err_t wf_echo(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        df_err_t rc;

        (void)opaque;
        C.handler_runs++;
        if ((rc = df_step(ctx, "s", body, NULL, NULL, NULL)) != DF_OK)
                return rc;
        if ((rc = df_wait(ctx, "w", 10000)) != DF_OK)
                return rc;
        return df_ctx_set_output(ctx, input->data, input->len);
}

static df_err_t wf_other(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        (void)ctx;
        (void)input;
        (void)opaque;
        return DF_OK;
}

START_TEST(test_idempotent_start)
{
        df_test_t *t = et_new();
        static const uint8_t in[] = {'i', 0x00, 0xff};
        static const uint8_t in2[] = {'i', 0x00, 0xfe};

        ASSERT_RC(df_test_register(t, "echo", wf_echo, NULL), DF_OK);
        ASSERT_RC(df_test_register(t, "other", wf_other, NULL), DF_OK);
        ASSERT_RC(df_test_start(t, "echo", "e1", in, sizeof(in)), DF_OK);
        ck_assert_int_eq(C.handler_runs, 1);
        ck_assert_int_eq(C.step_runs, 1);
        ck_assert_int_eq(df_test_pending_timers(t), 1);

        /* same name, same workflow, same input: the existing execution */
        ASSERT_RC(df_test_start(t, "echo", "e1", in, sizeof(in)), DF_OK);
        ck_assert_int_eq(C.handler_runs, 1);
        ck_assert_int_eq(C.step_runs, 1);
        ck_assert_int_eq(df_test_op_count(t, "e1"), 2);
        ck_assert_int_eq(df_test_pending_timers(t), 1);
        ASSERT_STATUS(t, "e1", "SUSPENDED");

        /* different input (one byte, or one byte shorter, or empty) */
        ASSERT_RC(df_test_start(t, "echo", "e1", in2, sizeof(in2)), DF_ERR_CONFLICT);
        ASSERT_RC(df_test_start(t, "echo", "e1", in, sizeof(in) - 1), DF_ERR_CONFLICT);
        ASSERT_RC(df_test_start(t, "echo", "e1", NULL, 0), DF_ERR_CONFLICT);
        /* same input, another workflow */
        ASSERT_RC(df_test_start(t, "other", "e1", in, sizeof(in)), DF_ERR_CONFLICT);
        ck_assert_int_eq(C.handler_runs, 1);
        ck_assert_int_eq(df_test_op_count(t, "e1"), 2);

        df_test_advance(t, 10000);
        ASSERT_STATUS(t, "e1", "SUCCEEDED");
        ASSERT_OUTPUT(t, "e1", in, sizeof(in));
        /* still idempotent once finished */
        ASSERT_RC(df_test_start(t, "echo", "e1", in, sizeof(in)), DF_OK);
        ASSERT_RC(df_test_start(t, "echo", "e1", in2, sizeof(in2)), DF_ERR_CONFLICT);
        ck_assert_int_eq(C.handler_runs, 2);
        ck_assert_int_eq(C.step_runs, 1);
        ASSERT_OUTPUT(t, "e1", in, sizeof(in));

        /* empty input is an input like any other */
        ASSERT_RC(df_test_start(t, "echo", "e2", NULL, 0), DF_OK);
        ASSERT_RC(df_test_start(t, "echo", "e2", NULL, 0), DF_OK);
        ASSERT_RC(df_test_start(t, "echo", "e2", "", 0), DF_OK);
        ASSERT_RC(df_test_start(t, "echo", "e2", "x", 1), DF_ERR_CONFLICT);
        df_test_destroy(t);
}
END_TEST

/* A start whose delivery crashes is delivered again: one execution. */
START_TEST(test_start_crash_one_execution)
{
        df_test_t *t = et_new();

        ASSERT_RC(df_test_register(t, "echo", wf_echo, NULL), DF_OK);
        df_test_crash_next(t, 1);
        ASSERT_RC(df_test_start(t, "echo", "e3", "a", 1), DF_OK);
        ck_assert_int_eq(df_test_crashes(t), 1);
        ck_assert_int_eq(C.handler_runs, 2);
        ck_assert_int_eq(C.step_runs, 2);
        ck_assert_int_eq(df_test_op_count(t, "e3"), 2);
        ck_assert_int_eq(df_test_pending_timers(t), 1);
        ASSERT_RC(df_test_start(t, "echo", "e3", "a", 1), DF_OK);
        ck_assert_int_eq(C.handler_runs, 2);
        df_test_destroy(t);
}
END_TEST

START_TEST(test_unknown_workflow)
{
        df_test_t *t = et_new();

        ASSERT_RC(df_test_register(t, "echo", wf_echo, NULL), DF_OK);
        ASSERT_RC(df_test_start(t, "nope", "u1", NULL, 0), DF_ERR_UNKNOWN_WORKFLOW);
        ASSERT_RC(df_test_start(t, "", "u1", NULL, 0), DF_ERR_UNKNOWN_WORKFLOW);
        ASSERT_RC(df_test_start(t, "Echo", "u1", NULL, 0), DF_ERR_UNKNOWN_WORKFLOW);
        ck_assert_ptr_null(df_test_status(t, "u1"));
        ck_assert_int_eq(C.handler_runs, 0);
        /* the id is still free */
        ASSERT_RC(df_test_start(t, "echo", "u1", NULL, 0), DF_OK);
        ASSERT_STATUS(t, "u1", "SUSPENDED");
        df_test_destroy(t);
}
END_TEST

START_TEST(test_invalid_execution_id)
{
        df_test_t *t = et_new();
        char longid[256];
        static const char *const bad[] = {"", "has space", "slash/inside", "tab\t", "caf\xc3\xa9", "semi;colon"};
        size_t i;

        ASSERT_RC(df_test_register(t, "echo", wf_echo, NULL), DF_OK);
        ASSERT_RC(df_test_start(t, "echo", NULL, NULL, 0), DF_ERR_INVALID_ARG);
        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                ASSERT_RC(df_test_start(t, "echo", bad[i], NULL, 0), DF_ERR_INVALID_ARG);
        memset(longid, 'a', 201);
        longid[201] = '\0';
        ASSERT_RC(df_test_start(t, "echo", longid, NULL, 0), DF_ERR_INVALID_ARG);
        ck_assert_int_eq(C.handler_runs, 0);
        /* 200 characters and every allowed punctuation are fine */
        longid[200] = '\0';
        ASSERT_RC(df_test_start(t, "echo", longid, NULL, 0), DF_OK);
        ASSERT_RC(df_test_start(t, "echo", "A-z_0.9:x@y", NULL, 0), DF_OK);
        ASSERT_STATUS(t, "A-z_0.9:x@y", "SUSPENDED");
        ck_assert_int_eq(C.handler_runs, 2);
        /* a NULL input with a length */
        ASSERT_RC(df_test_start(t, "echo", "n1", NULL, 3), DF_ERR_INVALID_ARG);
        df_test_destroy(t);
}
END_TEST

START_TEST(test_register)
{
        df_test_t *t = et_new();

        ASSERT_RC(df_test_register(t, "echo", wf_echo, NULL), DF_OK);
        ASSERT_RC(df_test_register(t, "echo", wf_other, NULL), DF_ERR_INVALID_ARG);
        ASSERT_RC(df_test_register(t, "", wf_other, NULL), DF_ERR_INVALID_ARG);
        ASSERT_RC(df_test_register(t, "x", NULL, NULL), DF_ERR_INVALID_ARG);
        /* the first registration stands */
        ASSERT_RC(df_test_start(t, "echo", "r1", NULL, 0), DF_OK);
        ck_assert_int_eq(C.handler_runs, 1);
        df_test_destroy(t);
}
END_TEST

/* ---------------- stop ---------------- */

/* callback (timeout 30 s, heartbeat 20 s) -> wait 10 s -> result */
static df_err_t wf_stoppable(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        df_callback_opts_t o = {30000, 20000};
        const char *id;
        df_bytes_t r;
        df_err_t rc;

        (void)input;
        (void)opaque;
        C.handler_runs++;
        if ((rc = df_create_callback(ctx, "cb", &o, &id)) != DF_OK)
                return rc;
        et_copy(C.cb, sizeof(C.cb), id);
        if ((rc = df_wait(ctx, "w", 10000)) != DF_OK)
                return rc;
        C.after_stop++;
        if ((rc = df_callback_result(ctx, id, &r)) != DF_OK)
                return rc;
        return df_ctx_set_output(ctx, r.data, r.len);
}

START_TEST(test_stop)
{
        df_test_t *t = et_new();
        char id[CBID_MAX];
        int runs;

        ASSERT_RC(df_test_register(t, "wf", wf_stoppable, NULL), DF_OK);
        ASSERT_RC(df_test_start(t, "wf", "s1", NULL, 0), DF_OK);
        ASSERT_RC(df_test_start(t, "wf", "s2", NULL, 0), DF_OK); /* a bystander */
        ASSERT_STATUS(t, "s1", "SUSPENDED");
        ck_assert_int_eq(df_test_pending_timers(t), 6);
        et_cb_id(t, "s1", "cb", id);

        ASSERT_RC(df_test_stop(t, "s1"), DF_OK);
        ASSERT_STATUS(t, "s1", "STOPPED");
        ck_assert_str_eq(df_test_error(t, "s1"), "stopped by test");
        runs = C.handler_runs;

        /* later timers are no-ops; callbacks, stops and resumes are refused */
        ASSERT_RC(df_test_callback(t, id, DF_CALLBACK_HEARTBEAT, NULL, 0, NULL), DF_ERR_FINISHED);
        df_test_advance(t, 10000);
        ASSERT_STATUS(t, "s1", "STOPPED");
        ASSERT_OP(t, "s1", 2, "w", "WAIT", "PENDING");
        ASSERT_RC(df_test_callback(t, id, DF_CALLBACK_SUCCESS, "late", 4, NULL), DF_ERR_FINISHED);
        ASSERT_RC(df_test_callback(t, id, DF_CALLBACK_FAILURE, NULL, 0, "late"), DF_ERR_FINISHED);
        df_test_advance(t, 60000); /* heartbeat and callback timeouts */
        ASSERT_STATUS(t, "s1", "STOPPED");
        ASSERT_OP(t, "s1", 1, "cb", "CALLBACK", "PENDING");
        ASSERT_RC(df_test_stop(t, "s1"), DF_ERR_FINISHED);
        ASSERT_RC(df_test_resume(t, "s1"), DF_ERR_FINISHED);
        ASSERT_STATUS(t, "s1", "STOPPED");
        ck_assert_str_eq(df_test_error(t, "s1"), "stopped by test");
        ASSERT_OUTPUT(t, "s1", "", 0);
        ck_assert_int_eq(df_test_pending_timers(t), 0);

        /* the bystander ran on: its wait ended, then its callback timed out */
        ASSERT_STATUS(t, "s2", "FAILED");
        ck_assert_str_eq(df_test_error(t, "s2"), "callback heartbeat timed out");
        /* and s1's handler never ran again */
        ck_assert_int_eq(C.handler_runs, runs + 2);
        df_test_destroy(t);
}
END_TEST

START_TEST(test_stop_unknown_and_finished)
{
        df_test_t *t = et_new();

        ASSERT_RC(df_test_register(t, "other", wf_other, NULL), DF_OK);
        ASSERT_RC(df_test_stop(t, "ghost"), DF_ERR_NOT_FOUND);
        ASSERT_RC(df_test_resume(t, "ghost"), DF_ERR_NOT_FOUND);
        ck_assert_ptr_null(df_test_status(t, "ghost"));
        ASSERT_RC(df_test_start(t, "other", "done", NULL, 0), DF_OK);
        ASSERT_STATUS(t, "done", "SUCCEEDED");
        ASSERT_RC(df_test_stop(t, "done"), DF_ERR_FINISHED);
        ASSERT_STATUS(t, "done", "SUCCEEDED");
        df_test_destroy(t);
}
END_TEST

/* A stop whose delivery crashes is delivered again and lands once. */
START_TEST(test_stop_crash)
{
        df_test_t *t = et_new();

        ASSERT_RC(df_test_register(t, "echo", wf_echo, NULL), DF_OK);
        ASSERT_RC(df_test_start(t, "echo", "s3", NULL, 0), DF_OK);
        df_test_crash_next(t, 1);
        ASSERT_RC(df_test_stop(t, "s3"), DF_OK);
        ck_assert_int_eq(df_test_crashes(t), 1);
        ASSERT_STATUS(t, "s3", "STOPPED");
        df_test_advance(t, 10000);
        ASSERT_STATUS(t, "s3", "STOPPED");
        ck_assert_int_eq(C.handler_runs, 1);
        df_test_destroy(t);
}
END_TEST

Suite *suite_control(void)
{
        Suite *s = suite_create("control");
        TCase *tc = tcase_create("start");
        TCase *st = tcase_create("stop");

        tcase_add_checked_fixture(tc, setup, NULL);
        tcase_add_test(tc, test_idempotent_start);
        tcase_add_test(tc, test_start_crash_one_execution);
        tcase_add_test(tc, test_unknown_workflow);
        tcase_add_test(tc, test_invalid_execution_id);
        tcase_add_test(tc, test_register);
        suite_add_tcase(s, tc);

        tcase_add_checked_fixture(st, setup, NULL);
        tcase_add_test(st, test_stop);
        tcase_add_test(st, test_stop_unknown_and_finished);
        tcase_add_test(st, test_stop_crash);
        suite_add_tcase(s, st);
        return s;
}
