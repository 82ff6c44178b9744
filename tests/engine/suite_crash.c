/*
 * suite_crash.c -- a step body that kills the worker process is counted
 * against its attempt (crash events from the worker's breadcrumbs) and goes
 * into the step's retry strategy; an execution that keeps killing workers
 * is QUARANTINED, visible and resumable; an event whose processing fails
 * parks only its own execution, with the event kept (issue 9, item 2 and
 * item 1's "one execution's content never fails the batch").
 *
 * Before the fix, a death inside a body was invisible to the engine: the
 * event was delivered again and the body re-ran at attempt 1 for ever.
 */
#include <stdio.h>
#include <string.h>

#include "engine_test.h"

static struct {
        int body_runs;     /* bodies that returned */
        int attempts[16];  /* attempt numbers seen by the body */
        df_err_t step_rc;
        int max_attempts;
        df_step_semantics_t semantics;
} C;

static df_err_t body_ok(df_step_t *step, void *opaque)
{
        (void)opaque;
        if (C.body_runs < 16)
                C.attempts[C.body_runs] = df_step_attempt(step);
        C.body_runs++;
        return df_step_set_result(step, "done", 4);
}

static df_err_t wf_crashy(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        df_step_opts_t o = {.max_attempts = C.max_attempts, .initial_delay_ms = 1000, .semantics = C.semantics};
        df_err_t rc;
        (void)input;
        (void)opaque;
        rc = df_step(ctx, "s", body_ok, NULL, &o, NULL);
        C.step_rc = rc;
        if (rc != DF_OK)
                return rc;
        return df_ctx_set_output(ctx, "ok", 2);
}

static df_test_t *runner(int max_attempts, df_step_semantics_t sem)
{
        df_test_t *t = et_new();
        memset(&C, 0, sizeof(C));
        C.max_attempts = max_attempts;
        C.semantics = sem;
        ASSERT_RC(df_test_register(t, "wf", wf_crashy, NULL), DF_OK);
        return t;
}

static void assert_op(df_test_t *t, const char *exec, const char *status, int attempt, const char *error)
{
        df_test_op_t op;
        ASSERT_RC(df_test_op(t, exec, 1, &op), DF_OK);
        ck_assert_str_eq(op.status, status);
        ck_assert_int_eq(op.attempt, attempt);
        ck_assert_str_eq(op.error, error);
}

#define CRASHED(n) "WorkerCrashed: the worker process died while running step \"s\" (attempt " #n ")"

/* Every run of the body kills the worker: attempts 1, 2, 3 each fail with
 * WorkerCrashed (backoff 1 s, 2 s between), then the step and the execution
 * fail with that error.  Both semantics count the same way. */
static void every_run_kills(df_step_semantics_t sem)
{
        df_test_t *t = runner(3, sem);

        df_test_kill_in_step(t, 1);
        ASSERT_RC(df_test_start(t, "wf", "k1", NULL, 0), DF_OK);
        ck_assert_int_eq(df_test_crashes(t), 1);
        ASSERT_STATUS(t, "k1", "SUSPENDED");
        assert_op(t, "k1", "PENDING", 1, CRASHED(1));

        df_test_kill_in_step(t, 1);
        df_test_advance(t, 1000);
        ck_assert_int_eq(df_test_crashes(t), 2);
        assert_op(t, "k1", "PENDING", 2, CRASHED(2));

        df_test_kill_in_step(t, 1);
        df_test_advance(t, 2000);
        ck_assert_int_eq(df_test_crashes(t), 3);
        assert_op(t, "k1", "FAILED", 3, CRASHED(3));
        ASSERT_STATUS(t, "k1", "FAILED");
        ck_assert_str_eq(df_test_error(t, "k1"), CRASHED(3));
        ASSERT_RC(C.step_rc, DF_ERR_STEP_FAILED);
        ck_assert_int_eq(C.body_runs, 0); /* no body ever returned */
        ck_assert_int_eq(df_test_pending_timers(t), 0);
        df_test_destroy(t);
}

START_TEST(test_killing_step_fails_after_max_attempts_alo)
{
        every_run_kills(DF_AT_LEAST_ONCE_PER_RETRY);
}
END_TEST

START_TEST(test_killing_step_fails_after_max_attempts_amo)
{
        every_run_kills(DF_AT_MOST_ONCE_PER_RETRY);
}
END_TEST

/* One death, then the body runs fine: it sees attempt 2. */
START_TEST(test_one_crash_then_success_sees_attempt_2)
{
        df_test_t *t = runner(3, DF_AT_LEAST_ONCE_PER_RETRY);

        df_test_kill_in_step(t, 1);
        ASSERT_RC(df_test_start(t, "wf", "k2", NULL, 0), DF_OK);
        assert_op(t, "k2", "PENDING", 1, CRASHED(1));
        df_test_advance(t, 1000);
        ASSERT_STATUS(t, "k2", "SUCCEEDED");
        ASSERT_OUTPUT(t, "k2", "ok", 2);
        ck_assert_int_eq(C.body_runs, 1);
        ck_assert_int_eq(C.attempts[0], 2);
        assert_op(t, "k2", "SUCCEEDED", 2, "");
        df_test_destroy(t);
}
END_TEST

/* A death while other executions were in flight (a suspect death): the
 * attempt is not charged; the body runs again at attempt 1 and succeeds. */
START_TEST(test_suspect_death_is_not_charged)
{
        df_test_t *t = runner(3, DF_AT_LEAST_ONCE_PER_RETRY);

        df_test_kill_beside_in_step(t, 1);
        ASSERT_RC(df_test_start(t, "wf", "k3", NULL, 0), DF_OK);
        ck_assert_int_eq(df_test_crashes(t), 1);
        ASSERT_STATUS(t, "k3", "SUCCEEDED");
        ASSERT_OUTPUT(t, "k3", "ok", 2);
        ck_assert_int_eq(C.body_runs, 1);
        ck_assert_int_eq(C.attempts[0], 1);
        assert_op(t, "k3", "SUCCEEDED", 1, "");
        df_test_destroy(t);
}
END_TEST

/* A step with many attempts that keeps killing workers: at the 5th death the
 * execution is QUARANTINED (visible, not failed); a resume runs it again. */
START_TEST(test_quarantine_after_max_crashes_then_resume)
{
        df_test_t *t = runner(10, DF_AT_LEAST_ONCE_PER_RETRY);
        int i;
        const char *err;

        df_test_kill_in_step(t, 1);
        ASSERT_RC(df_test_start(t, "wf", "q1", NULL, 0), DF_OK);
        for (i = 2; i <= 5; i++) {
                df_test_kill_in_step(t, 1);
                df_test_advance(t, 600000); /* past any backoff */
        }
        ck_assert_int_eq(df_test_crashes(t), 5);
        ASSERT_STATUS(t, "q1", "QUARANTINED");
        err = df_test_error(t, "q1");
        ck_assert_msg(strstr(err, "quarantined: 5 worker processes died while processing this execution, the last "
                                  "while operation 1 ran (attempt 5)") == err,
                      "error: %s", err);
        /* parked: time passing replays nothing */
        df_test_advance(t, 600000);
        ASSERT_STATUS(t, "q1", "QUARANTINED");
        ck_assert_int_eq(C.body_runs, 0);
        /* the operator resumes it once the cause is fixed */
        ASSERT_RC(df_test_resume(t, "q1"), DF_OK);
        ASSERT_STATUS(t, "q1", "SUCCEEDED");
        ck_assert_int_eq(C.body_runs, 1);
        ck_assert_int_eq(C.attempts[0], 5);
        df_test_destroy(t);
}
END_TEST

/* Crash deaths are not counted against a replay that ran through: after
 * one death and a success, a later run of deaths starts from 0. */
START_TEST(test_other_executions_unaffected)
{
        df_test_t *t = runner(3, DF_AT_LEAST_ONCE_PER_RETRY);

        df_test_kill_in_step(t, 1);
        ASSERT_RC(df_test_start(t, "wf", "a", NULL, 0), DF_OK);
        ASSERT_RC(df_test_start(t, "wf", "b", NULL, 0), DF_OK);
        ASSERT_STATUS(t, "b", "SUCCEEDED");
        assert_op(t, "b", "SUCCEEDED", 1, "");
        assert_op(t, "a", "PENDING", 1, CRASHED(1));
        df_test_destroy(t);
}
END_TEST

/* A delivery that fails inside the worker parks that execution alone: it
 * is QUARANTINED with the event kept; resumed, the event takes effect. */
START_TEST(test_failed_delivery_quarantines_and_keeps_event)
{
        df_test_t *t = runner(3, DF_AT_LEAST_ONCE_PER_RETRY);
        const char *err;

        df_test_fail_next(t, 1);
        ASSERT_RC(df_test_start(t, "wf", "f1", NULL, 0), DF_ERR_REJECTED);
        ASSERT_STATUS(t, "f1", "QUARANTINED");
        err = df_test_error(t, "f1");
        ck_assert_msg(strstr(err, "quarantined: processing a start event failed") == err, "error: %s", err);
        ck_assert_int_eq(C.body_runs, 1); /* it ran in the failed delivery; its result was dropped */
        ASSERT_RC(df_test_start(t, "wf", "f2", NULL, 0), DF_OK); /* the next one is not held up */
        ASSERT_STATUS(t, "f2", "SUCCEEDED");
        ck_assert_int_eq(C.body_runs, 2);
        ASSERT_RC(df_test_resume(t, "f1"), DF_OK);
        ASSERT_STATUS(t, "f1", "SUCCEEDED");
        ck_assert_int_eq(C.body_runs, 3);
        df_test_destroy(t);
}
END_TEST

static df_err_t wf_wait_then_step(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        df_err_t rc;
        (void)input;
        (void)opaque;
        if ((rc = df_wait(ctx, "nap", 5000)) != DF_OK)
                return rc;
        return df_step(ctx, "after", body_ok, NULL, NULL, NULL);
}

/* A timer event whose delivery fails: the execution does not stay
 * SUSPENDED for ever (before: the timer went to the DLQ); it is QUARANTINED
 * with the timer kept, and resumed, the wait is over and it completes. */
START_TEST(test_failed_timer_delivery_kept_for_resume)
{
        df_test_t *t = et_new();

        memset(&C, 0, sizeof(C));
        ASSERT_RC(df_test_register(t, "wf", wf_wait_then_step, NULL), DF_OK);
        ASSERT_RC(df_test_start(t, "wf", "t1", NULL, 0), DF_OK);
        ASSERT_STATUS(t, "t1", "SUSPENDED");
        df_test_fail_next(t, 1);
        df_test_advance(t, 5000);
        ASSERT_STATUS(t, "t1", "QUARANTINED");
        ASSERT_OP(t, "t1", 1, "nap", "WAIT", "PENDING");
        ASSERT_RC(df_test_resume(t, "t1"), DF_OK);
        ASSERT_STATUS(t, "t1", "SUCCEEDED");
        ASSERT_OP(t, "t1", 1, "nap", "WAIT", "SUCCEEDED");
        ck_assert_int_eq(C.body_runs, 2); /* once in the failed delivery (dropped), once after resume */
        df_test_destroy(t);
}
END_TEST

Suite *suite_crash(void)
{
        Suite *s = suite_create("crash");
        TCase *tc = tcase_create("crash");
        tcase_add_test(tc, test_killing_step_fails_after_max_attempts_alo);
        tcase_add_test(tc, test_killing_step_fails_after_max_attempts_amo);
        tcase_add_test(tc, test_one_crash_then_success_sees_attempt_2);
        tcase_add_test(tc, test_suspect_death_is_not_charged);
        tcase_add_test(tc, test_quarantine_after_max_crashes_then_resume);
        tcase_add_test(tc, test_other_executions_unaffected);
        tcase_add_test(tc, test_failed_delivery_quarantines_and_keeps_event);
        tcase_add_test(tc, test_failed_timer_delivery_kept_for_resume);
        suite_add_tcase(s, tc);
        return s;
}
