/*
 * suite_condition.c -- wait_for_condition with the fake clock (issue 11,
 * item 5): the check runs as a step attempt, its state is checkpointed
 * after each, the waits between checks are durable timers following the
 * strategy (initial delay, backoff rate, max delay), it ends when the
 * check says stop, or fails clearly when the attempts run out.
 */
#include <stdio.h>
#include <stdlib.h>

#include "engine_test.h"

static struct {
        int checks;            /* check bodies run */
        int attempts[16];      /* attempt numbers they saw */
        int done_at;           /* the check says stop when the state reaches this */
        int fail_at;           /* the check fails (error) at this attempt, 0 = never */
        df_condition_strategy_t strat;
        df_err_t rc;
        char err[256];
        int after;
} W;

static void setup(void)
{
        memset(&W, 0, sizeof(W));
}

/* State: a decimal counter; each check adds 1; done at W.done_at. */
static df_err_t check(df_step_t *s, const df_bytes_t *state, int *done, void *opaque)
{
        char buf[16];
        int v = 0, n;
        (void)opaque;
        if (W.checks < 16)
                W.attempts[W.checks] = df_step_attempt(s);
        W.checks++;
        if (W.fail_at && df_step_attempt(s) == W.fail_at) {
                df_step_set_error(s, "Unreachable", "status service down");
                return DF_ERR_STEP_FAILED;
        }
        if (state->len)
                v = atoi((const char *)state->data);
        v++;
        n = snprintf(buf, sizeof(buf), "%d", v);
        *done = v >= W.done_at;
        return df_step_set_result(s, buf, (size_t)n + 1); /* with its NUL, so atoi can read it */
}

static df_err_t wf_poll(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        df_bytes_t init = {(const uint8_t *)"0", 2}, fin;
        df_err_t rc;
        (void)input;
        (void)opaque;
        rc = df_wait_for_condition(ctx, "job", check, NULL, &init, &W.strat, &fin);
        if (rc == DF_SUSPENDED)
                return rc;
        W.rc = rc;
        if (rc != DF_OK) {
                et_copy(W.err, sizeof(W.err), df_ctx_last_error(ctx));
                df_ctx_fail(ctx, W.err);
                return rc;
        }
        W.after++;
        return df_ctx_set_output(ctx, fin.data, fin.len);
}

static df_test_t *start(const char *exec)
{
        df_test_t *t = et_new();
        ASSERT_RC(df_test_register(t, "wf", wf_poll, NULL), DF_OK);
        ASSERT_RC(df_test_start(t, "wf", exec, NULL, 0), DF_OK);
        return t;
}

static int64_t due(df_test_t *t, const char *exec)
{
        df_test_op_t op;
        ASSERT_RC(df_test_op(t, exec, 1, &op), DF_OK);
        return op.due_ms;
}

/* Met at the 4th check: waits of 1 s, 2 s, 4 s between (rate 2), each a
 * timer that fires only at its due time; 4 checks run in all; the state
 * is the 4th check's. */
START_TEST(test_condition_met_with_backoff)
{
        df_test_t *t;
        df_test_op_t op;

        W.done_at = 4;
        W.strat = (df_condition_strategy_t){.max_attempts = 10, .initial_delay_ms = 1000, .max_delay_ms = 60000,
                                            .backoff_rate = 2.0};
        t = start("c1");
        ASSERT_STATUS(t, "c1", "SUSPENDED");
        ck_assert_int_eq(W.checks, 1); /* the first check runs at once */
        ASSERT_OP(t, "c1", 1, "job", "CONDITION", "PENDING");
        ck_assert_int_eq(due(t, "c1"), T0 + 1000);
        ASSERT_OP_RESULT(t, "c1", 1, "1", 2); /* the state after check 1, checkpointed */
        df_test_advance(t, 999);
        ck_assert_int_eq(W.checks, 1);
        df_test_advance(t, 1);
        ck_assert_int_eq(W.checks, 2);
        ck_assert_int_eq(due(t, "c1"), T0 + 1000 + 2000);
        df_test_advance(t, 2000);
        ck_assert_int_eq(W.checks, 3);
        ck_assert_int_eq(due(t, "c1"), T0 + 3000 + 4000);
        df_test_advance(t, 3999);
        ck_assert_int_eq(W.checks, 3);
        df_test_advance(t, 1);
        ck_assert_int_eq(W.checks, 4);
        ASSERT_STATUS(t, "c1", "SUCCEEDED");
        ASSERT_OUTPUT(t, "c1", "4", 2);
        ASSERT_RC(df_test_op(t, "c1", 1, &op), DF_OK);
        ck_assert_str_eq(op.status, "SUCCEEDED");
        ck_assert_int_eq(op.attempt, 4);
        ck_assert_int_eq(W.attempts[0], 1);
        ck_assert_int_eq(W.attempts[3], 4);
        ck_assert_int_eq(W.after, 1);
        ck_assert_int_eq(df_test_pending_timers(t), 0);
        df_test_destroy(t);
}
END_TEST

/* The wait is capped at max_delay: 1 s, then 3 s, 3 s (rate 10, max 3 s). */
START_TEST(test_condition_max_delay)
{
        df_test_t *t;
        W.done_at = 100;
        W.strat = (df_condition_strategy_t){.max_attempts = 10, .initial_delay_ms = 1000, .max_delay_ms = 3000,
                                            .backoff_rate = 10.0};
        t = start("c2");
        ck_assert_int_eq(due(t, "c2"), T0 + 1000);
        df_test_advance(t, 1000);
        ck_assert_int_eq(due(t, "c2"), T0 + 1000 + 3000);
        df_test_advance(t, 3000);
        ck_assert_int_eq(due(t, "c2"), T0 + 4000 + 3000);
        ck_assert_int_eq(W.checks, 3);
        df_test_destroy(t);
}
END_TEST

/* Never met: after max_attempts checks it fails, saying which and how many. */
START_TEST(test_condition_exhausted)
{
        df_test_t *t;
        int i;
        W.done_at = 100;
        W.strat = (df_condition_strategy_t){.max_attempts = 3, .initial_delay_ms = 1000, .backoff_rate = 1.0};
        t = start("c3");
        for (i = 0; i < 5; i++)
                df_test_advance(t, 1000);
        ck_assert_int_eq(W.checks, 3);
        ASSERT_STATUS(t, "c3", "FAILED");
        ASSERT_RC(W.rc, DF_ERR_CONDITION_NOT_MET);
        ck_assert_str_eq(W.err, "ConditionNotMet: wait_for_condition \"job\": condition not met after 3 attempts "
                                "(max_attempts 3)");
        ck_assert_str_eq(df_test_error(t, "c3"), W.err);
        ASSERT_OP(t, "c3", 1, "job", "CONDITION", "FAILED");
        ASSERT_OP_RESULT(t, "c3", 1, "3", 2); /* the last state stays recorded */
        ck_assert_int_eq(df_test_pending_timers(t), 0);
        df_test_destroy(t);
}
END_TEST

/* The defaults (zero strategy): the waits start at 5 s and grow by 1.5;
 * 60 attempts. */
START_TEST(test_condition_defaults)
{
        df_test_t *t;
        W.done_at = 100;
        t = start("c4");
        ck_assert_int_eq(due(t, "c4"), T0 + 5000);
        df_test_advance(t, 5000);
        ck_assert_int_eq(due(t, "c4"), T0 + 5000 + 7500);
        df_test_destroy(t);
}
END_TEST

/* A check that fails fails the operation at once (no more polling). */
START_TEST(test_condition_check_error)
{
        df_test_t *t;
        W.done_at = 100;
        W.fail_at = 2;
        W.strat = (df_condition_strategy_t){.max_attempts = 10, .initial_delay_ms = 1000};
        t = start("c5");
        df_test_advance(t, 1000);
        ASSERT_STATUS(t, "c5", "FAILED");
        ASSERT_RC(W.rc, DF_ERR_STEP_FAILED);
        ck_assert_str_eq(W.err, "Unreachable: status service down");
        ck_assert_int_eq(W.checks, 2);
        df_test_advance(t, 60000);
        ck_assert_int_eq(W.checks, 2);
        df_test_destroy(t);
}
END_TEST

/* The worker dies inside the 2nd check: that attempt counts as not met
 * (state unchanged) and polling goes on; the result is the same. */
START_TEST(test_condition_worker_dies_in_check)
{
        df_test_t *t = et_new();
        W.done_at = 3;
        W.strat = (df_condition_strategy_t){.max_attempts = 10, .initial_delay_ms = 1000, .backoff_rate = 1.0};
        ASSERT_RC(df_test_register(t, "wf", wf_poll, NULL), DF_OK);
        ASSERT_RC(df_test_start(t, "wf", "c6", NULL, 0), DF_OK);
        df_test_kill_in_step(t, 1);
        df_test_advance(t, 1000); /* check 2: the worker dies; its crash note ends attempt 2 */
        ck_assert_int_eq(df_test_crashes(t), 1);
        ck_assert_int_eq(W.checks, 1);
        ASSERT_OP_RESULT(t, "c6", 1, "1", 2);
        df_test_advance(t, 1000);
        df_test_advance(t, 1000);
        ASSERT_STATUS(t, "c6", "SUCCEEDED");
        ASSERT_OUTPUT(t, "c6", "3", 2);
        ck_assert_int_eq(W.checks, 3);
        ck_assert_int_eq(W.attempts[1], 3); /* attempt 2 was the one that died */
        df_test_destroy(t);
}
END_TEST

/* A crash of each delivery before its commit: the same outcome. */
START_TEST(test_condition_crash_every_delivery)
{
        int k;
        for (k = 1; k <= 3; k++) {
                df_test_t *t;
                setup();
                W.done_at = 3;
                W.strat = (df_condition_strategy_t){.max_attempts = 10, .initial_delay_ms = 1000, .backoff_rate = 1.0};
                t = et_new();
                ASSERT_RC(df_test_register(t, "wf", wf_poll, NULL), DF_OK);
                df_test_crash_next(t, k);
                ASSERT_RC(df_test_start(t, "wf", "c7", NULL, 0), DF_OK);
                df_test_advance(t, 1000);
                df_test_advance(t, 1000);
                ASSERT_STATUS(t, "c7", "SUCCEEDED");
                ASSERT_OUTPUT(t, "c7", "3", 2);
                ck_assert_int_eq(W.checks, 4); /* the crashed delivery's check ran, then again */
                ck_assert_int_eq(df_test_crashes(t), 1);
                df_test_destroy(t);
        }
}
END_TEST

Suite *suite_condition(void)
{
        Suite *s = suite_create("condition");
        TCase *tc = tcase_create("condition");

        tcase_add_checked_fixture(tc, setup, NULL);
        tcase_add_test(tc, test_condition_met_with_backoff);
        tcase_add_test(tc, test_condition_max_delay);
        tcase_add_test(tc, test_condition_exhausted);
        tcase_add_test(tc, test_condition_defaults);
        tcase_add_test(tc, test_condition_check_error);
        tcase_add_test(tc, test_condition_worker_dies_in_check);
        tcase_add_test(tc, test_condition_crash_every_delivery);
        suite_add_tcase(s, tc);
        return s;
}
