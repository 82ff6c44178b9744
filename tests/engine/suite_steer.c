/*
 * suite_steer.c -- an operator's levers (issue 12): pause / resume,
 * restart from the point of failure (or --from-op), purge and retention.
 * Fake clock; crash injection before the commit of each delivery of a
 * control action.
 */
#include <stdio.h>
#include <stdlib.h>

#include "engine_test.h"

static struct {
        int s1, s2, s3, s4;  /* body runs of each step */
        int flaky_fails;     /* s2 fails this many more attempts */
        int broken;          /* s3 fails (until the "code fix") */
        int handler_runs;
        int inner_a, inner_b; /* the child context's steps */
        char cb[CBID_MAX];
} G;

static void setup(void)
{
        memset(&G, 0, sizeof(G));
}

static df_err_t b_s1(df_step_t *s, void *o)
{
        char r[32];
        (void)o;
        G.s1++;
        snprintf(r, sizeof(r), "receive-%d", G.s1);
        return df_step_set_result(s, r, strlen(r));
}

static df_err_t b_s2(df_step_t *s, void *o)
{
        char r[32];
        (void)o;
        G.s2++;
        if (G.flaky_fails > 0) {
                G.flaky_fails--;
                df_step_set_error(s, "Flaky", "try again");
                return DF_ERR_STEP_FAILED;
        }
        snprintf(r, sizeof(r), "reserve-%d", G.s2);
        return df_step_set_result(s, r, strlen(r));
}

static df_err_t b_s3(df_step_t *s, void *o)
{
        (void)o;
        G.s3++;
        if (G.broken) {
                df_step_set_error(s, "WarehouseDown", "warehouse simulator failure injected");
                return DF_ERR_STEP_FAILED;
        }
        return df_step_set_result(s, "dispatched", 10);
}

static df_err_t b_s4(df_step_t *s, void *o)
{
        (void)o;
        G.s4++;
        return df_step_set_result(s, "done", 4);
}

/* s1 -> s2 (retries: 3 attempts, 1 s apart) -> s3 (2 attempts) -> s4 */
static df_err_t wf_order(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        df_step_opts_t r3 = {.max_attempts = 3, .initial_delay_ms = 1000, .backoff_rate = 1.0};
        df_step_opts_t r2 = {.max_attempts = 2, .initial_delay_ms = 1000, .backoff_rate = 1.0};
        df_err_t rc;
        (void)input;
        (void)opaque;
        G.handler_runs++;
        if ((rc = df_step(ctx, "receive", b_s1, NULL, NULL, NULL)) != DF_OK ||
            (rc = df_step(ctx, "reserve", b_s2, NULL, &r3, NULL)) != DF_OK ||
            (rc = df_step(ctx, "dispatch", b_s3, NULL, &r2, NULL)) != DF_OK ||
            (rc = df_step(ctx, "notify", b_s4, NULL, NULL, NULL)) != DF_OK)
                return rc;
        return df_ctx_set_output(ctx, "ok", 2);
}

static df_err_t submit(df_step_t *s, const char *callback_id, void *opaque)
{
        (void)opaque;
        et_copy(G.cb, sizeof(G.cb), callback_id);
        return df_step_set_result(s, "sent", 4);
}

/* s1 -> wait 10 s -> callback "approve" (timeout 60 s) -> s4 */
static df_err_t wf_wait(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        df_callback_opts_t co = {.timeout_ms = 60000};
        df_bytes_t r;
        df_err_t rc;
        (void)input;
        (void)opaque;
        G.handler_runs++;
        if ((rc = df_step(ctx, "receive", b_s1, NULL, NULL, NULL)) != DF_OK ||
            (rc = df_wait(ctx, "cool-off", 10000)) != DF_OK ||
            (rc = df_wait_for_callback(ctx, "approve", submit, NULL, &co, NULL, &r)) != DF_OK ||
            (rc = df_step(ctx, "notify", b_s4, NULL, NULL, NULL)) != DF_OK)
                return rc;
        return df_ctx_set_output(ctx, r.data, r.len);
}

static df_err_t c_a(df_step_t *s, void *o)
{
        (void)o;
        G.inner_a++;
        return df_step_set_result(s, "a", 1);
}

static df_err_t c_b(df_step_t *s, void *o)
{
        (void)o;
        G.inner_b++;
        if (G.broken) {
                df_step_set_error(s, "Broken", "inner step fails");
                return DF_ERR_STEP_FAILED;
        }
        return df_step_set_result(s, "b", 1);
}

static df_err_t child(df_ctx_t *ctx, void *opaque)
{
        df_step_opts_t once = {.max_attempts = 1};
        df_err_t rc;
        (void)opaque;
        if ((rc = df_step(ctx, "inner-a", c_a, NULL, &once, NULL)) != DF_OK ||
            (rc = df_step(ctx, "inner-b", c_b, NULL, &once, NULL)) != DF_OK)
                return rc;
        return df_ctx_set_output(ctx, "ab", 2);
}

/* s1 -> child { inner-a, inner-b } */
static df_err_t wf_child(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        df_err_t rc;
        (void)input;
        (void)opaque;
        if ((rc = df_step(ctx, "receive", b_s1, NULL, NULL, NULL)) != DF_OK ||
            (rc = df_run_in_child_context(ctx, "lines", child, NULL, NULL)) != DF_OK)
                return rc;
        return df_ctx_set_output(ctx, "ok", 2);
}

static df_test_t *runner(void)
{
        df_test_t *t = et_new();
        ASSERT_RC(df_test_register(t, "order", wf_order, NULL), DF_OK);
        ASSERT_RC(df_test_register(t, "waiter", wf_wait, NULL), DF_OK);
        ASSERT_RC(df_test_register(t, "nested", wf_child, NULL), DF_OK);
        return t;
}

/* Pause during a step's retry backoff: the retry timer fires while paused
 * (recorded, nothing runs); resume runs the attempt it allowed. */
START_TEST(test_pause_during_retry_backoff)
{
        df_test_t *t = runner();
        G.flaky_fails = 1;
        ASSERT_RC(df_test_start(t, "order", "o1", NULL, 0), DF_OK);
        ck_assert_int_eq(G.s2, 1);
        ASSERT_STATUS(t, "o1", "SUSPENDED");
        ASSERT_RC(df_test_pause(t, "o1"), DF_OK);
        ASSERT_STATUS(t, "o1", "PAUSED");
        ck_assert_str_eq(df_test_error(t, "o1"), "paused: paused by test");
        ASSERT_RC(df_test_pause(t, "o1"), DF_OK); /* again: already paused */
        df_test_advance(t, 5000);                /* the 1 s backoff is over while paused */
        ck_assert_int_eq(G.s2, 1);
        ck_assert_int_eq(G.s3, 0);
        ck_assert_int_eq(df_test_pending_timers(t), 0);
        ASSERT_STATUS(t, "o1", "PAUSED");
        ASSERT_RC(df_test_resume(t, "o1"), DF_OK);
        ck_assert_int_eq(G.s2, 2);
        ck_assert_int_eq(G.s4, 1);
        ASSERT_STATUS(t, "o1", "SUCCEEDED");
        ck_assert_str_eq(df_test_error(t, "o1"), "");
        df_test_destroy(t);
}
END_TEST

/* Pause during a wait, then during a callback wait with the completion
 * arriving while paused: both take effect at resume, none lost. */
START_TEST(test_pause_during_wait_and_callback)
{
        df_test_t *t = runner();
        int runs;
        ASSERT_RC(df_test_start(t, "waiter", "w1", NULL, 0), DF_OK);
        ASSERT_RC(df_test_pause(t, "w1"), DF_OK);
        runs = G.handler_runs;
        df_test_advance(t, 20000); /* the 10 s wait fires while paused */
        ck_assert_int_eq(G.handler_runs, runs);
        ASSERT_OP(t, "w1", 2, "cool-off", "WAIT", "SUCCEEDED");
        ck_assert_int_eq(df_test_op_count(t, "w1"), 2); /* the callback not created yet */
        ASSERT_RC(df_test_resume(t, "w1"), DF_OK);
        ASSERT_STATUS(t, "w1", "SUSPENDED");
        ck_assert_str_ne(G.cb, "");
        ASSERT_RC(df_test_pause(t, "w1"), DF_OK);
        ASSERT_RC(df_test_callback(t, G.cb, DF_CALLBACK_SUCCESS, "yes", 3, NULL), DF_OK);
        ASSERT_STATUS(t, "w1", "PAUSED");
        ck_assert_int_eq(G.s4, 0);
        df_test_advance(t, 120000); /* the callback's timeout is moot: it completed first */
        ASSERT_RC(df_test_resume(t, "w1"), DF_OK);
        ck_assert_int_eq(G.s4, 1);
        ck_assert_int_eq(G.s1, 1);
        ASSERT_STATUS(t, "w1", "SUCCEEDED");
        ASSERT_OUTPUT(t, "w1", "yes", 3);
        df_test_destroy(t);
}
END_TEST

START_TEST(test_pause_errors)
{
        df_test_t *t = runner();
        ASSERT_RC(df_test_pause(t, "nope"), DF_ERR_NOT_FOUND);
        ASSERT_RC(df_test_start(t, "order", "o1", NULL, 0), DF_OK);
        ASSERT_STATUS(t, "o1", "SUCCEEDED");
        ASSERT_RC(df_test_pause(t, "o1"), DF_ERR_FINISHED);
        ASSERT_STATUS(t, "o1", "SUCCEEDED");
        /* a paused execution can be stopped */
        ASSERT_RC(df_test_start(t, "waiter", "w1", NULL, 0), DF_OK);
        ASSERT_RC(df_test_pause(t, "w1"), DF_OK);
        ASSERT_RC(df_test_stop(t, "w1"), DF_OK);
        ASSERT_STATUS(t, "w1", "STOPPED");
        ASSERT_RC(df_test_resume(t, "w1"), DF_ERR_FINISHED);
        df_test_destroy(t);
}
END_TEST

/* An order that failed in dispatch: restart re-runs dispatch with a fresh
 * set of attempts, keeps receive and reserve byte for byte, and the run log
 * says what was discarded. */
START_TEST(test_restart_from_failure)
{
        df_test_t *t = runner();
        df_test_op_t op;
        const char *log;
        G.broken = 1;
        ASSERT_RC(df_test_start(t, "order", "o1", NULL, 0), DF_OK);
        df_test_advance(t, 2000);
        ASSERT_STATUS(t, "o1", "FAILED");
        ck_assert_int_eq(G.s3, 2);
        ASSERT_OP(t, "o1", 3, "dispatch", "STEP", "FAILED");
        ck_assert_int_eq(df_test_run_count(t, "o1", NULL), 0);
        ASSERT_RC(df_test_restart(t, "o1", NULL, "warehouse back"), DF_ERR_OK);
        /* still broken: the fresh attempts fail again (2 more) */
        df_test_advance(t, 2000);
        ASSERT_STATUS(t, "o1", "FAILED");
        ck_assert_int_eq(G.s3, 4);
        G.broken = 0; /* the fix */
        ASSERT_RC(df_test_restart(t, "o1", "", "fixed"), DF_OK);
        ASSERT_STATUS(t, "o1", "SUCCEEDED");
        ck_assert_int_eq(G.s1, 1);
        ck_assert_int_eq(G.s2, 1);
        ck_assert_int_eq(G.s3, 5);
        ck_assert_int_eq(G.s4, 1);
        ASSERT_OP_RESULT(t, "o1", 1, "receive-1", 9);
        ASSERT_OP_RESULT(t, "o1", 2, "reserve-1", 9);
        ASSERT_RC(df_test_op(t, "o1", 3, &op), DF_OK);
        ck_assert_int_eq(op.attempt, 1); /* a fresh set of attempts */
        ck_assert_str_eq(op.status, "SUCCEEDED");
        ck_assert_int_eq(df_test_run_count(t, "o1", &log), 2);
        ck_assert_msg(strstr(log, "run 1 at 2023-11-14T22:13:22.000Z: restarted from operation 3; 1 operation(s) "
                                  "discarded (3 dispatch); it was FAILED: ") != NULL,
                      "run log: %s", log);
        ck_assert_msg(strstr(log, "reason: warehouse back\nrun 2 at ") != NULL, "run log: %s", log);
        ck_assert_msg(strstr(log, "reason: fixed") != NULL, "run log: %s", log);
        /* a finished one cannot be restarted without failing */
        ASSERT_RC(df_test_restart(t, "o1", NULL, NULL), DF_ERR_STATE);
        df_test_destroy(t);
}
END_TEST

START_TEST(test_restart_from_op_and_errors)
{
        df_test_t *t = runner();
        ASSERT_RC(df_test_restart(t, "nope", NULL, NULL), DF_ERR_NOT_FOUND);
        ASSERT_RC(df_test_start(t, "waiter", "w1", NULL, 0), DF_OK);
        ASSERT_RC(df_test_restart(t, "w1", NULL, NULL), DF_ERR_STATE); /* SUSPENDED */
        ASSERT_RC(df_test_stop(t, "w1"), DF_OK);
        ASSERT_RC(df_test_restart(t, "w1", "1.1", NULL), DF_ERR_INVALID_ARG);
        ASSERT_RC(df_test_restart(t, "w1", "9", NULL), DF_ERR_INVALID_ARG);
        ASSERT_RC(df_test_restart(t, "w1", "x", NULL), DF_ERR_INVALID_ARG);
        ASSERT_STATUS(t, "w1", "STOPPED");
        /* from operation 1: everything runs again */
        ASSERT_RC(df_test_restart(t, "w1", "1", NULL), DF_OK);
        ck_assert_int_eq(G.s1, 2);
        ASSERT_STATUS(t, "w1", "SUSPENDED");
        ASSERT_OP_RESULT(t, "w1", 1, "receive-2", 9);
        df_test_destroy(t);
}
END_TEST

/* A hostile reason (20,000 bytes of two-byte characters) and a long error:
 * the run log line keeps 500 bytes of each, cut on a character boundary
 * with a marker, and the record still encodes (the restart is applied). */
START_TEST(test_restart_long_reason_bounded)
{
        df_test_t *t = runner();
        char *reason = malloc(20001);
        const char *log;
        int i;
        for (i = 0; i < 10000; i++)
                memcpy(reason + 2 * i, "\xc3\xa9", 2);
        reason[20000] = '\0';
        ASSERT_RC(df_test_start(t, "waiter", "w1", NULL, 0), DF_OK);
        ASSERT_RC(df_test_stop(t, "w1"), DF_OK);
        ASSERT_RC(df_test_restart(t, "w1", "2", reason), DF_OK);
        ck_assert_int_eq(df_test_run_count(t, "w1", &log), 1);
        ck_assert_msg(strlen(log) < 1300, "run log of %zu bytes", strlen(log));
        ck_assert_msg(strstr(log, "bytes cut]") != NULL, "no cut marker: %.200s", log);
        ck_assert_msg(strstr(log, "\xc3\xa9\xc3\xa9") != NULL, "the reason's characters are kept");
        ASSERT_STATUS(t, "w1", "SUSPENDED");
        free(reason);
        df_test_destroy(t);
}
END_TEST

/* A timer armed by a run that a restart discarded is a no-op: the stopped
 * run's callback timeout (due at 60 s) must not time out the restarted
 * run's callback (due 60 s after the restart). */
START_TEST(test_restart_ignores_old_timers)
{
        df_test_t *t = runner();
        ASSERT_RC(df_test_start(t, "waiter", "w1", NULL, 0), DF_OK);
        df_test_advance(t, 10000); /* the wait is over: the callback waits (timeout at 70 s) */
        ASSERT_OP(t, "w1", 3, "approve", "CALLBACK", "PENDING");
        ASSERT_RC(df_test_stop(t, "w1"), DF_OK);
        df_test_advance(t, 30000);
        ASSERT_RC(df_test_restart(t, "w1", "3", "approve again"), DF_OK); /* at 40 s: timeout at 100 s */
        ASSERT_STATUS(t, "w1", "SUSPENDED");
        df_test_advance(t, 35000); /* 75 s: the old run's timeout fired */
        ASSERT_STATUS(t, "w1", "SUSPENDED");
        ASSERT_OP(t, "w1", 3, "approve", "CALLBACK", "PENDING");
        ASSERT_RC(df_test_callback(t, G.cb, DF_CALLBACK_SUCCESS, "late-yes", 8, NULL), DF_OK);
        ASSERT_STATUS(t, "w1", "SUCCEEDED");
        ASSERT_OUTPUT(t, "w1", "late-yes", 8);
        df_test_destroy(t);
}
END_TEST

/* Rule: a failure inside a child context reruns its whole top-level
 * operation (the child's result is one checkpoint); a restart point inside
 * it is refused with the rule. */
START_TEST(test_restart_child_reruns_whole)
{
        df_test_t *t = runner();
        G.broken = 1;
        ASSERT_RC(df_test_start(t, "nested", "n1", NULL, 0), DF_OK);
        ASSERT_STATUS(t, "n1", "FAILED");
        ck_assert_int_eq(G.inner_a, 1);
        ASSERT_RC(df_test_restart(t, "n1", "2.2", NULL), DF_ERR_INVALID_ARG);
        G.broken = 0;
        ASSERT_RC(df_test_restart(t, "n1", NULL, NULL), DF_OK);
        ASSERT_STATUS(t, "n1", "SUCCEEDED");
        ck_assert_int_eq(G.s1, 1);      /* before the child: kept */
        ck_assert_int_eq(G.inner_a, 2); /* inside the child: the whole child reran */
        ck_assert_int_eq(G.inner_b, 2);
        ASSERT_OP_AT(t, "n1", "2.2", "inner-b", "STEP", "SUCCEEDED");
        df_test_destroy(t);
}
END_TEST

/* A crash before the commit of each delivery of pause, resume and restart:
 * redelivered, the same outcome, no step run twice. */
START_TEST(test_control_crash_every_boundary)
{
        int k;
        for (k = 1; k <= 3; k++) {
                df_test_t *t;
                setup();
                t = runner();
                G.broken = 1;
                ASSERT_RC(df_test_start(t, "order", "o1", NULL, 0), DF_OK);
                df_test_advance(t, 2000);
                ASSERT_STATUS(t, "o1", "FAILED");
                G.broken = 0;
                df_test_crash_next(t, k);
                ASSERT_RC(df_test_restart(t, "o1", NULL, NULL), DF_OK);
                ASSERT_STATUS(t, "o1", "SUCCEEDED");
                /* applied once (one run more), the kept operations never
                 * re-run; the re-run ones at least once (a crash before the
                 * commit re-runs the bodies of that delivery) */
                ck_assert_int_eq(df_test_run_count(t, "o1", NULL), 1);
                ck_assert_int_eq(G.s1, 1);
                ck_assert_int_eq(G.s2, 1);
                ck_assert_int_ge(G.s3, 3);
                ck_assert_int_ge(G.s4, 1);
                ASSERT_OP_RESULT(t, "o1", 1, "receive-1", 9);
                ASSERT_RC(df_test_start(t, "waiter", "w1", NULL, 0), DF_OK);
                df_test_crash_next(t, k);
                ASSERT_RC(df_test_pause(t, "w1"), DF_OK);
                df_test_advance(t, 20000);
                ASSERT_STATUS(t, "w1", "PAUSED");
                df_test_crash_next(t, k);
                ASSERT_RC(df_test_resume(t, "w1"), DF_OK);
                ASSERT_STATUS(t, "w1", "SUSPENDED");
                ASSERT_OP(t, "w1", 2, "cool-off", "WAIT", "SUCCEEDED"); /* fired while paused */
                ASSERT_OP(t, "w1", 3, "approve", "CALLBACK", "PENDING");
                if (k == 1) /* each action's own delivery crashed once */
                        ck_assert_int_eq(df_test_crashes(t), 3);
                df_test_destroy(t);
        }
}
END_TEST

/* purge: refused while running; a finished one is gone and its id starts
 * again as new; retention.ms purges by itself. */
START_TEST(test_purge_and_retention)
{
        df_test_t *t = runner();
        const char *const *ids;
        ASSERT_RC(df_test_purge(t, "nope"), DF_ERR_NOT_FOUND);
        ASSERT_RC(df_test_start(t, "waiter", "w1", NULL, 0), DF_OK);
        ASSERT_RC(df_test_purge(t, "w1"), DF_ERR_STATE);
        ASSERT_STATUS(t, "w1", "SUSPENDED");
        ASSERT_RC(df_test_start(t, "order", "o1", NULL, 0), DF_OK);
        ASSERT_STATUS(t, "o1", "SUCCEEDED");
        ck_assert_uint_eq(df_test_executions(t, &ids), 2);
        ASSERT_RC(df_test_purge(t, "o1"), DF_OK);
        ck_assert_ptr_null(df_test_status(t, "o1"));
        ck_assert_int_eq(df_test_op_count(t, "o1"), -1);
        ck_assert_uint_eq(df_test_executions(t, &ids), 1);
        ASSERT_RC(df_test_purge(t, "o1"), DF_ERR_NOT_FOUND);
        ASSERT_RC(df_test_start(t, "order", "o1", NULL, 0), DF_OK); /* as new */
        ASSERT_STATUS(t, "o1", "SUCCEEDED");
        ck_assert_int_eq(G.s1, 3); /* w1's, o1's, the new o1's */
        ASSERT_OP_RESULT(t, "o1", 1, "receive-3", 9);

        df_test_set_retention(t, 5000);
        ASSERT_RC(df_test_start(t, "order", "o2", NULL, 0), DF_OK);
        ASSERT_STATUS(t, "o2", "SUCCEEDED");
        df_test_advance(t, 4000);
        ASSERT_STATUS(t, "o2", "SUCCEEDED");
        df_test_advance(t, 2000);
        ck_assert_ptr_null(df_test_status(t, "o2"));
        /* it applies to every finished execution, one that ended before it was set too */
        ck_assert_ptr_null(df_test_status(t, "o1"));
        /* a restart before the retention is over keeps it */
        G.broken = 1;
        ASSERT_RC(df_test_start(t, "order", "o3", NULL, 0), DF_OK);
        df_test_advance(t, 2000);
        ASSERT_STATUS(t, "o3", "FAILED"); /* run 0 ended: its retention is over in 5 s */
        G.broken = 0;
        df_test_advance(t, 2000);
        ASSERT_RC(df_test_restart(t, "o3", NULL, NULL), DF_OK);
        ASSERT_STATUS(t, "o3", "SUCCEEDED"); /* run 1 ended: over in 5 s */
        df_test_advance(t, 2000);            /* run 0's end is 5 s ago: kept */
        ASSERT_STATUS(t, "o3", "SUCCEEDED");
        ck_assert_int_eq(df_test_pending_timers(t), 1); /* w1's wait only: no timer per finished execution */
        df_test_advance(t, 4000);
        ck_assert_ptr_null(df_test_status(t, "o3"));
        df_test_destroy(t);
}
END_TEST

Suite *suite_steer(void)
{
        Suite *s = suite_create("steer");
        TCase *tc = tcase_create("steer");
        tcase_add_checked_fixture(tc, setup, NULL);
        tcase_add_test(tc, test_pause_during_retry_backoff);
        tcase_add_test(tc, test_pause_during_wait_and_callback);
        tcase_add_test(tc, test_pause_errors);
        tcase_add_test(tc, test_restart_from_failure);
        tcase_add_test(tc, test_restart_from_op_and_errors);
        tcase_add_test(tc, test_restart_ignores_old_timers);
        tcase_add_test(tc, test_restart_long_reason_bounded);
        tcase_add_test(tc, test_restart_child_reruns_whole);
        tcase_add_test(tc, test_control_crash_every_boundary);
        tcase_add_test(tc, test_purge_and_retention);
        suite_add_tcase(s, tc);
        return s;
}
