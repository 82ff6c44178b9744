/*
 * suite_waits.c -- durable waits with the fake clock.
 */
#include <stdio.h>
#include <stdlib.h>

#include "engine_test.h"

static struct {
        int64_t duration;
        df_err_t wait_rc;   /* df_wait's verdict when not suspended */
        int after_wait;     /* handler runs that got past the wait */
        int handler_runs;
} W;

static void setup(void)
{
        memset(&W, 0, sizeof(W));
}

static df_err_t wf_wait(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        df_err_t rc;

        (void)input;
        (void)opaque;
        W.handler_runs++;
        rc = df_wait(ctx, "sleep", W.duration);
        if (rc == DF_SUSPENDED)
                return rc;
        W.wait_rc = rc;
        if (rc != DF_OK)
                return rc;
        W.after_wait++;
        return df_ctx_set_output(ctx, "awake", 5);
}

static const int64_t DURATIONS[] = {0, 1000, DF_WAIT_MAX_MS};

/* Not done before the due time, done at it. */
START_TEST(test_wait_durations)
{
        int64_t d = DURATIONS[_i];
        df_test_t *t = et_new();
        df_test_op_t op;

        W.duration = d;
        ASSERT_RC(df_test_register(t, "wf", wf_wait, NULL), DF_OK);
        ASSERT_RC(df_test_start(t, "wf", "w1", NULL, 0), DF_OK);
        ASSERT_STATUS(t, "w1", "SUSPENDED");
        ASSERT_OP(t, "w1", 1, "sleep", "WAIT", "PENDING");
        ASSERT_RC(df_test_op(t, "w1", 1, &op), DF_OK);
        ck_assert_int_eq(op.due_ms, T0 + d);
        ck_assert_int_eq(df_test_pending_timers(t), 1);
        if (d > 0) {
                df_test_advance(t, d - 1);
                ck_assert_int_eq(df_test_now(t), T0 + d - 1);
                ASSERT_STATUS(t, "w1", "SUSPENDED");
                ASSERT_OP(t, "w1", 1, "sleep", "WAIT", "PENDING");
                ck_assert_int_eq(W.after_wait, 0);
                ck_assert_int_eq(W.handler_runs, 1); /* nothing replayed it early */
                df_test_advance(t, 1);
        } else {
                df_test_advance(t, 0); /* already due: fires at the next advance */
        }
        ck_assert_int_eq(df_test_now(t), T0 + d);
        ASSERT_STATUS(t, "w1", "SUCCEEDED");
        ASSERT_OUTPUT(t, "w1", "awake", 5);
        ASSERT_OP(t, "w1", 1, "sleep", "WAIT", "SUCCEEDED");
        ck_assert_int_eq(W.after_wait, 1);
        ck_assert_int_eq(W.handler_runs, 2);
        ck_assert_int_eq(df_test_pending_timers(t), 0);
        df_test_destroy(t);
}
END_TEST

/* 366 days + 1 ms and negative durations are refused before any operation
 * is recorded. */
START_TEST(test_wait_out_of_range)
{
        static const int64_t bad[] = {DF_WAIT_MAX_MS + 1, -1};
        df_test_t *t = et_new();

        W.duration = bad[_i];
        ASSERT_RC(df_test_register(t, "wf", wf_wait, NULL), DF_OK);
        ASSERT_RC(df_test_start(t, "wf", "w2", NULL, 0), DF_OK);
        ASSERT_RC(W.wait_rc, DF_ERR_INVALID_ARG);
        ASSERT_STATUS(t, "w2", "FAILED");
        {
                char want[128];
                snprintf(want, sizeof(want), "wait \"sleep\": duration_ms %lld is outside 0..31622400000 (366 days)",
                         (long long)bad[_i]);
                ck_assert_str_eq(df_test_error(t, "w2"), want); /* names the field and the bounds */
        }
        ck_assert_int_eq(df_test_op_count(t, "w2"), 0);
        ck_assert_int_eq(df_test_pending_timers(t), 0);
        df_test_destroy(t);
}
END_TEST

/* A crash in the delivery of the wait's timer loses nothing: the timer event
 * is delivered again and the wait completes once. */
START_TEST(test_wait_timer_crash)
{
        df_test_t *t = et_new();

        W.duration = 5000;
        ASSERT_RC(df_test_register(t, "wf", wf_wait, NULL), DF_OK);
        ASSERT_RC(df_test_start(t, "wf", "w3", NULL, 0), DF_OK);
        df_test_crash_next(t, 1);
        df_test_advance(t, 5000);
        ck_assert_int_eq(df_test_crashes(t), 1);
        ASSERT_STATUS(t, "w3", "SUCCEEDED");
        ASSERT_OUTPUT(t, "w3", "awake", 5);
        ck_assert_int_eq(W.after_wait, 2); /* the crashed replay got past it too, then was lost */
        ck_assert_int_eq(df_test_op_count(t, "w3"), 1);
        ck_assert_int_eq(df_test_pending_timers(t), 0);
        df_test_destroy(t);
}
END_TEST

static df_err_t wf_two_waits(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        df_err_t rc;
        (void)input;
        (void)opaque;
        if ((rc = df_wait(ctx, "first", 3000)) != DF_OK)
                return rc;
        if ((rc = df_wait(ctx, "second", 2000)) != DF_OK)
                return rc;
        return df_ctx_set_output(ctx, "done", 4);
}

/* Waits in sequence: the second is armed when the first is over, relative to
 * that moment; one big advance fires both in order. */
START_TEST(test_waits_in_sequence)
{
        df_test_t *t = et_new();
        df_test_op_t op;

        ASSERT_RC(df_test_register(t, "wf", wf_two_waits, NULL), DF_OK);
        ASSERT_RC(df_test_start(t, "wf", "w4", NULL, 0), DF_OK);
        ck_assert_int_eq(df_test_op_count(t, "w4"), 1);
        df_test_advance(t, 3500);
        ck_assert_int_eq(df_test_op_count(t, "w4"), 2);
        ASSERT_OP(t, "w4", 1, "first", "WAIT", "SUCCEEDED");
        ASSERT_OP(t, "w4", 2, "second", "WAIT", "PENDING");
        ASSERT_RC(df_test_op(t, "w4", 2, &op), DF_OK);
        /* armed by the replay the first timer caused, at the clock's time then */
        ck_assert_int_eq(op.due_ms, T0 + 3500 + 2000);
        df_test_advance(t, 1999);
        ASSERT_STATUS(t, "w4", "SUSPENDED");
        df_test_advance(t, 1);
        ASSERT_STATUS(t, "w4", "SUCCEEDED");

        /* The runner moves the clock first, then fires what is due: the first
         * wait's replay runs at the new time and arms the second from there. */
        ASSERT_RC(df_test_start(t, "wf", "w5", NULL, 0), DF_OK);
        df_test_advance(t, 10000);
        ASSERT_STATUS(t, "w5", "SUSPENDED");
        ASSERT_OP(t, "w5", 1, "first", "WAIT", "SUCCEEDED");
        ASSERT_OP(t, "w5", 2, "second", "WAIT", "PENDING");
        ASSERT_RC(df_test_op(t, "w5", 2, &op), DF_OK);
        ck_assert_int_eq(op.due_ms, df_test_now(t) + 2000);
        df_test_advance(t, 2000);
        ASSERT_STATUS(t, "w5", "SUCCEEDED");
        df_test_destroy(t);
}
END_TEST

Suite *suite_waits(void)
{
        Suite *s = suite_create("waits");
        TCase *tc = tcase_create("wait");

        tcase_add_checked_fixture(tc, setup, NULL);
        tcase_add_loop_test(tc, test_wait_durations, 0, (int)(sizeof(DURATIONS) / sizeof(DURATIONS[0])));
        tcase_add_loop_test(tc, test_wait_out_of_range, 0, 2);
        tcase_add_test(tc, test_wait_timer_crash);
        tcase_add_test(tc, test_waits_in_sequence);
        suite_add_tcase(s, tc);
        return s;
}
