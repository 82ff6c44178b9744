/*
 * suite_steps.c -- steps: retries with durable backoff, jitter,
 * non-retryable errors, at-most-once semantics, payload limits.
 */
#include <stdio.h>
#include <stdlib.h>

#include "engine_test.h"

#define MAXRUNS 256

static struct {
        int runs;
        int attempt[MAXRUNS];
        char key[MAXRUNS][64];
        int fail_first;       /* bodies fail while attempt <= fail_first */
        const char *err_type; /* type of those failures */
        df_step_opts_t opts;
        df_err_t handler_rc;     /* what df_step returned to the handler (last replay) */
        char last_error[256];    /* df_ctx_last_error() after it */
        int handler_saw_result;  /* the handler got DF_OK from the step */
        df_err_t set_result_rc;  /* payload tests: df_step_set_result's verdict */
        df_err_t set_output_rc;  /* payload tests: df_ctx_set_output's verdict */
        size_t payload_len;
        uint8_t *payload;
} S;

static void setup(void)
{
        memset(&S, 0, sizeof(S));
        S.err_type = "Flaky";
}

static void teardown(void)
{
        free(S.payload);
        S.payload = NULL;
}

static df_err_t flaky_body(df_step_t *s, void *opaque)
{
        char res[32];
        (void)opaque;
        ck_assert_int_lt(S.runs, MAXRUNS);
        S.attempt[S.runs] = df_step_attempt(s);
        et_copy(S.key[S.runs], sizeof(S.key[0]), df_step_idempotency_key(s));
        S.runs++;
        if (df_step_attempt(s) <= S.fail_first) {
                df_step_set_error(s, S.err_type, "try again");
                return DF_ERR_STEP_FAILED;
        }
        snprintf(res, sizeof(res), "ok-%d", df_step_attempt(s));
        return df_step_set_result(s, res, strlen(res));
}

/* One step with S.opts; output = its result; a failure is returned. */
static df_err_t wf_one_step(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        df_bytes_t r;
        df_err_t rc;

        (void)input;
        (void)opaque;
        rc = df_step(ctx, "charge", flaky_body, NULL, &S.opts, &r);
        if (rc == DF_SUSPENDED)
                return rc;
        S.handler_rc = rc;
        et_copy(S.last_error, sizeof(S.last_error), df_ctx_last_error(ctx));
        if (rc != DF_OK)
                return rc;
        S.handler_saw_result = 1;
        return df_ctx_set_output(ctx, r.data, r.len);
}

/* Same, with the default options (opts NULL). */
static df_err_t wf_default_opts(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        df_bytes_t r;
        df_err_t rc;

        (void)input;
        (void)opaque;
        rc = df_step(ctx, "charge", flaky_body, NULL, NULL, &r);
        if (rc == DF_SUSPENDED)
                return rc;
        S.handler_rc = rc;
        et_copy(S.last_error, sizeof(S.last_error), df_ctx_last_error(ctx));
        if (rc != DF_OK)
                return rc;
        return df_ctx_set_output(ctx, r.data, r.len);
}

static df_test_t *runner(df_handler_fn fn)
{
        df_test_t *t = et_new();
        ASSERT_RC(df_test_register(t, "wf", fn, NULL), DF_OK);
        return t;
}

static void assert_pending(df_test_t *t, const char *exec, int attempt, int64_t due)
{
        df_test_op_t op;
        ASSERT_STATUS(t, exec, "SUSPENDED");
        ASSERT_OP(t, exec, 1, "charge", "STEP", "PENDING");
        ASSERT_RC(df_test_op(t, exec, 1, &op), DF_OK);
        ck_assert_int_eq(op.attempt, attempt);
        ck_assert_int_eq(op.due_ms, due);
        ck_assert_uint_eq(op.result.len, 0);
        ck_assert_int_eq(df_test_pending_timers(t), 1);
}

/* ---------------- retries ---------------- */

START_TEST(test_retry_backoff_then_success)
{
        df_test_t *t = runner(wf_one_step);
        df_test_op_t op;
        int i;

        S.fail_first = 2;
        S.opts.max_attempts = 3;
        S.opts.initial_delay_ms = 1000;
        S.opts.backoff_rate = 2.0;
        S.opts.jitter = DF_JITTER_NONE;
        ASSERT_RC(df_test_start(t, "wf", "r1", NULL, 0), DF_OK);
        ck_assert_int_eq(S.runs, 1);
        assert_pending(t, "r1", 1, T0 + 1000);
        ASSERT_RC(df_test_op(t, "r1", 1, &op), DF_OK);
        ck_assert_str_eq(op.error, "Flaky: try again");

        df_test_advance(t, 999); /* less than the delay: does not run */
        ck_assert_int_eq(S.runs, 1);
        assert_pending(t, "r1", 1, T0 + 1000);
        df_test_advance(t, 1);
        ck_assert_int_eq(S.runs, 2);
        assert_pending(t, "r1", 2, T0 + 1000 + 2000);

        df_test_advance(t, 1999);
        ck_assert_int_eq(S.runs, 2);
        df_test_advance(t, 1);
        ck_assert_int_eq(S.runs, 3);

        ck_assert_int_eq(S.attempt[0], 1);
        ck_assert_int_eq(S.attempt[1], 2);
        ck_assert_int_eq(S.attempt[2], 3);
        for (i = 0; i < S.runs; i++)
                ck_assert_str_eq(S.key[i], "r1/1");
        ASSERT_STATUS(t, "r1", "SUCCEEDED");
        ASSERT_OUTPUT(t, "r1", "ok-3", 4);
        ASSERT_OP(t, "r1", 1, "charge", "STEP", "SUCCEEDED");
        ASSERT_OP_RESULT(t, "r1", 1, "ok-3", 4);
        ASSERT_RC(df_test_op(t, "r1", 1, &op), DF_OK);
        ck_assert_int_eq(op.attempt, 3);
        ck_assert_int_eq(op.due_ms, 0);
        ck_assert_str_eq(op.error, "");
        ck_assert_int_eq(df_test_op_count(t, "r1"), 1);
        ck_assert_int_eq(df_test_pending_timers(t), 0);
        ASSERT_RC(S.handler_rc, DF_OK);
        df_test_destroy(t);
}
END_TEST

/* A crash at delivery k (1: the start running attempt 1, 2: the first retry
 * timer running attempt 2, 3: the second running attempt 3) re-runs that
 * attempt with the same number: the attempt counter never restarts at 1. */
START_TEST(test_retry_crash_keeps_attempt)
{
        int k = _i;
        df_test_t *t = runner(wf_one_step);
        int want[4], n = 0, a, i;

        S.fail_first = 2;
        S.opts.max_attempts = 3;
        S.opts.initial_delay_ms = 1000;
        S.opts.backoff_rate = 2.0;
        df_test_crash_next(t, k);
        ASSERT_RC(df_test_start(t, "wf", "r2", NULL, 0), DF_OK);
        assert_pending(t, "r2", 1, T0 + 1000);
        df_test_advance(t, 1000);
        assert_pending(t, "r2", 2, T0 + 3000);
        df_test_advance(t, 2000);
        ASSERT_STATUS(t, "r2", "SUCCEEDED");
        ASSERT_OUTPUT(t, "r2", "ok-3", 4);
        ck_assert_int_eq(df_test_crashes(t), 1);

        for (a = 1; a <= 3; a++) {
                want[n++] = a;
                if (a == k)
                        want[n++] = a;
        }
        ck_assert_int_eq(S.runs, 4);
        for (i = 0; i < 4; i++) {
                ck_assert_int_eq(S.attempt[i], want[i]);
                ck_assert_str_eq(S.key[i], "r2/1");
        }
        df_test_destroy(t);
}
END_TEST

START_TEST(test_retry_exhausted)
{
        df_test_t *t = runner(wf_one_step);
        df_test_op_t op;

        S.fail_first = 100;
        S.opts.max_attempts = 3;
        S.opts.initial_delay_ms = 1000;
        S.opts.backoff_rate = 2.0;
        ASSERT_RC(df_test_start(t, "wf", "r3", NULL, 0), DF_OK);
        df_test_advance(t, 1000);
        df_test_advance(t, 2000);
        ck_assert_int_eq(S.runs, 3);
        ASSERT_RC(S.handler_rc, DF_ERR_STEP_FAILED);
        ck_assert_str_eq(S.last_error, "Flaky: try again");
        ck_assert_int_eq(S.handler_saw_result, 0);
        ASSERT_STATUS(t, "r3", "FAILED");
        ck_assert_str_eq(df_test_error(t, "r3"), "Flaky: try again");
        ASSERT_OUTPUT(t, "r3", "", 0);
        ASSERT_OP(t, "r3", 1, "charge", "STEP", "FAILED");
        ASSERT_RC(df_test_op(t, "r3", 1, &op), DF_OK);
        ck_assert_int_eq(op.attempt, 3);
        ck_assert_str_eq(op.error, "Flaky: try again");
        ck_assert_uint_eq(op.result.len, 0);
        ck_assert_int_eq(df_test_pending_timers(t), 0);
        /* nothing runs any more */
        df_test_advance(t, 3600 * 1000);
        ck_assert_int_eq(S.runs, 3);
        df_test_destroy(t);
}
END_TEST

/* With no options: 3 attempts, 1 s then 2 s. */
START_TEST(test_retry_defaults)
{
        df_test_t *t = runner(wf_default_opts);

        S.fail_first = 100;
        ASSERT_RC(df_test_start(t, "wf", "r4", NULL, 0), DF_OK);
        assert_pending(t, "r4", 1, T0 + 1000);
        df_test_advance(t, 1000);
        assert_pending(t, "r4", 2, T0 + 3000);
        df_test_advance(t, 2000);
        ck_assert_int_eq(S.runs, 3);
        ASSERT_STATUS(t, "r4", "FAILED");
        ck_assert_str_eq(df_test_error(t, "r4"), "Flaky: try again");
        df_test_destroy(t);
}
END_TEST

/* Delay = min(max_delay, initial * rate^(n-1)). */
START_TEST(test_retry_max_delay_caps)
{
        df_test_t *t = runner(wf_one_step);

        S.fail_first = 3;
        S.opts.max_attempts = 4;
        S.opts.initial_delay_ms = 1000;
        S.opts.max_delay_ms = 5000;
        S.opts.backoff_rate = 10.0;
        ASSERT_RC(df_test_start(t, "wf", "r5", NULL, 0), DF_OK);
        assert_pending(t, "r5", 1, T0 + 1000);
        df_test_advance(t, 1000);
        assert_pending(t, "r5", 2, T0 + 1000 + 5000);
        df_test_advance(t, 5000);
        assert_pending(t, "r5", 3, T0 + 1000 + 5000 + 5000);
        df_test_advance(t, 4999);
        ck_assert_int_eq(S.runs, 3);
        df_test_advance(t, 1);
        ck_assert_int_eq(S.runs, 4);
        ASSERT_STATUS(t, "r5", "SUCCEEDED");
        ASSERT_OUTPUT(t, "r5", "ok-4", 4);
        df_test_destroy(t);
}
END_TEST

START_TEST(test_non_retryable_fails_at_once)
{
        static const char *const fatal[] = {"Declined", "Fraud", NULL};
        df_test_t *t = runner(wf_one_step);
        df_test_op_t op;

        S.fail_first = 100;
        S.err_type = "Fraud";
        S.opts.max_attempts = 5;
        S.opts.non_retryable = fatal;
        ASSERT_RC(df_test_start(t, "wf", "n1", NULL, 0), DF_OK);
        ck_assert_int_eq(S.runs, 1);
        ASSERT_RC(S.handler_rc, DF_ERR_STEP_FAILED);
        ck_assert_str_eq(S.last_error, "Fraud: try again");
        ASSERT_STATUS(t, "n1", "FAILED");
        ck_assert_str_eq(df_test_error(t, "n1"), "Fraud: try again");
        ASSERT_OP(t, "n1", 1, "charge", "STEP", "FAILED");
        ASSERT_RC(df_test_op(t, "n1", 1, &op), DF_OK);
        ck_assert_int_eq(op.attempt, 1);
        ck_assert_int_eq(df_test_pending_timers(t), 0);
        df_test_advance(t, 600000);
        ck_assert_int_eq(S.runs, 1);
        df_test_destroy(t);
}
END_TEST

/* A type not in the list is retried as usual. */
START_TEST(test_non_retryable_other_type_retries)
{
        static const char *const fatal[] = {"Declined", NULL};
        df_test_t *t = runner(wf_one_step);

        S.fail_first = 1;
        S.err_type = "Timeout";
        S.opts.max_attempts = 2;
        S.opts.non_retryable = fatal;
        ASSERT_RC(df_test_start(t, "wf", "n2", NULL, 0), DF_OK);
        assert_pending(t, "n2", 1, T0 + 1000);
        df_test_advance(t, 1000);
        ck_assert_int_eq(S.runs, 2);
        ASSERT_STATUS(t, "n2", "SUCCEEDED");
        ASSERT_OUTPUT(t, "n2", "ok-2", 4);
        df_test_destroy(t);
}
END_TEST

/* Jitter FULL: [0, delay]; HALF: [delay/2, delay]; NONE: delay.  Loop index
 * is the jitter mode. */
START_TEST(test_jitter_range)
{
        df_jitter_t j = (df_jitter_t)_i;
        df_test_t *t = runner(wf_one_step);
        int64_t lo = j == DF_JITTER_FULL ? 0 : j == DF_JITTER_HALF ? 5000 : 10000, hi = 10000;
        int64_t first = -1;
        int i, distinct = 0;

        S.fail_first = 1;
        S.opts.max_attempts = 2;
        S.opts.initial_delay_ms = 10000;
        S.opts.jitter = j;
        for (i = 0; i < 64; i++) {
                char exec[32];
                df_test_op_t op;
                int64_t delay;
                snprintf(exec, sizeof(exec), "j%d", i);
                ASSERT_RC(df_test_start(t, "wf", exec, NULL, 0), DF_OK);
                ASSERT_OP(t, exec, 1, "charge", "STEP", "PENDING");
                ASSERT_RC(df_test_op(t, exec, 1, &op), DF_OK);
                delay = op.due_ms - T0;
                ck_assert_int_ge(delay, lo);
                ck_assert_int_le(delay, hi);
                if (first < 0)
                        first = delay;
                else if (delay != first)
                        distinct = 1;
        }
        /* random jitter varies; none does not */
        ck_assert_int_eq(distinct, j != DF_JITTER_NONE);
        /* every retry runs by the upper bound */
        df_test_advance(t, hi);
        ck_assert_int_eq(S.runs, 128);
        for (i = 0; i < 64; i++) {
                char exec[32];
                snprintf(exec, sizeof(exec), "j%d", i);
                ASSERT_STATUS(t, exec, "SUCCEEDED");
                ASSERT_OUTPUT(t, exec, "ok-2", 4);
        }
        df_test_destroy(t);
}
END_TEST

/* ---------------- at most once ---------------- */

static df_err_t wf_amo(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        (void)input;
        (void)opaque;
        S.opts.semantics = DF_AT_MOST_ONCE_PER_RETRY;
        return wf_one_step(ctx, input, opaque);
}

START_TEST(test_amo_normal_runs_once)
{
        df_test_t *t = runner(wf_amo);
        df_test_op_t op;

        S.opts.max_attempts = 1;
        ASSERT_RC(df_test_start(t, "wf", "m1", NULL, 0), DF_OK);
        ck_assert_int_eq(S.runs, 1);
        ck_assert_int_eq(S.attempt[0], 1);
        ck_assert_str_eq(S.key[0], "m1/1");
        ASSERT_STATUS(t, "m1", "SUCCEEDED");
        ASSERT_OUTPUT(t, "m1", "ok-1", 4);
        ASSERT_OP(t, "m1", 1, "charge", "STEP", "SUCCEEDED");
        ASSERT_OP_RESULT(t, "m1", 1, "ok-1", 4);
        ASSERT_RC(df_test_op(t, "m1", 1, &op), DF_OK);
        ck_assert_int_eq(op.attempt, 1);
        ck_assert_int_eq(df_test_crashes(t), 0);
        df_test_destroy(t);
}
END_TEST

/* Deliveries of an at-most-once step: 1 commits START, 2 runs the body, 3 is
 * the CONTINUE the START emitted (a replay with nothing new).  A crash at 1
 * (START not committed) or 3 re-runs nothing harmful: the body runs once. */
START_TEST(test_amo_crash_before_start_commit_or_after)
{
        int k = _i == 0 ? 1 : 3;
        df_test_t *t = runner(wf_amo);

        S.opts.max_attempts = 1;
        df_test_crash_next(t, k);
        ASSERT_RC(df_test_start(t, "wf", "m2", NULL, 0), DF_OK);
        ck_assert_int_eq(df_test_crashes(t), 1);
        ck_assert_int_eq(S.runs, 1);
        ck_assert_int_eq(S.attempt[0], 1);
        ASSERT_STATUS(t, "m2", "SUCCEEDED");
        ASSERT_OUTPUT(t, "m2", "ok-1", 4);
        df_test_destroy(t);
}
END_TEST

/* Crash in the delivery that ran the body (START committed): the replay finds
 * START without a result; the body is not run again for that attempt and
 * with one attempt the execution fails with StepInterrupted. */
START_TEST(test_amo_interrupted_fails_with_one_attempt)
{
        df_test_t *t = runner(wf_amo);
        df_test_op_t op;

        S.opts.max_attempts = 1;
        df_test_crash_next(t, 2);
        ASSERT_RC(df_test_start(t, "wf", "m3", NULL, 0), DF_OK);
        ck_assert_int_eq(df_test_crashes(t), 1);
        ck_assert_int_eq(S.runs, 1);
        ASSERT_RC(S.handler_rc, DF_ERR_STEP_FAILED);
        ck_assert_ptr_nonnull(strstr(S.last_error, "StepInterrupted"));
        ASSERT_STATUS(t, "m3", "FAILED");
        ck_assert_ptr_nonnull(strstr(df_test_error(t, "m3"), "StepInterrupted"));
        ASSERT_OP(t, "m3", 1, "charge", "STEP", "FAILED");
        ASSERT_RC(df_test_op(t, "m3", 1, &op), DF_OK);
        ck_assert_int_eq(op.attempt, 1);
        ck_assert_uint_eq(op.result.len, 0);
        df_test_advance(t, 600000);
        ck_assert_int_eq(S.runs, 1);
        df_test_destroy(t);
}
END_TEST

START_TEST(test_amo_interrupted_retries_attempt_2)
{
        df_test_t *t = runner(wf_amo);
        df_test_op_t op;

        S.opts.max_attempts = 2;
        S.opts.initial_delay_ms = 1000;
        df_test_crash_next(t, 2);
        ASSERT_RC(df_test_start(t, "wf", "m4", NULL, 0), DF_OK);
        ck_assert_int_eq(S.runs, 1);
        assert_pending(t, "m4", 1, T0 + 1000);
        ASSERT_RC(df_test_op(t, "m4", 1, &op), DF_OK);
        ck_assert_ptr_nonnull(strstr(op.error, "StepInterrupted"));
        df_test_advance(t, 999);
        ck_assert_int_eq(S.runs, 1);
        df_test_advance(t, 1);
        ck_assert_int_eq(S.runs, 2);
        ck_assert_int_eq(S.attempt[0], 1);
        ck_assert_int_eq(S.attempt[1], 2);
        ck_assert_str_eq(S.key[1], "m4/1");
        ASSERT_STATUS(t, "m4", "SUCCEEDED");
        ASSERT_OUTPUT(t, "m4", "ok-2", 4);
        ASSERT_RC(df_test_op(t, "m4", 1, &op), DF_OK);
        ck_assert_int_eq(op.attempt, 2);
        ck_assert_str_eq(op.status, "SUCCEEDED");
        ck_assert_int_eq(df_test_crashes(t), 1);
        df_test_destroy(t);
}
END_TEST

/* An at-most-once body that fails is retried with the next attempt number. */
START_TEST(test_amo_failure_retries)
{
        df_test_t *t = runner(wf_amo);

        S.fail_first = 1;
        S.opts.max_attempts = 2;
        S.opts.initial_delay_ms = 500;
        ASSERT_RC(df_test_start(t, "wf", "m5", NULL, 0), DF_OK);
        ck_assert_int_eq(S.runs, 1);
        assert_pending(t, "m5", 1, T0 + 500);
        df_test_advance(t, 500);
        ck_assert_int_eq(S.runs, 2);
        ck_assert_int_eq(S.attempt[1], 2);
        ASSERT_STATUS(t, "m5", "SUCCEEDED");
        ASSERT_OUTPUT(t, "m5", "ok-2", 4);
        df_test_destroy(t);
}
END_TEST

/* ---------------- payload limits ---------------- */

static df_err_t big_body(df_step_t *s, void *opaque)
{
        (void)opaque;
        S.runs++;
        S.attempt[0] = df_step_attempt(s);
        S.set_result_rc = df_step_set_result(s, S.payload, S.payload_len);
        return DF_OK;
}

/* Step with a big result, then a wait (so the result is handed out again from
 * the stored history), then output = the result. */
static df_err_t wf_big(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        df_step_opts_t o = {0};
        df_bytes_t r;
        df_err_t rc;

        (void)input;
        (void)opaque;
        o.max_attempts = 3;
        rc = df_step(ctx, "big", big_body, NULL, &o, &r);
        if (rc == DF_SUSPENDED)
                return rc;
        S.handler_rc = rc;
        et_copy(S.last_error, sizeof(S.last_error), df_ctx_last_error(ctx));
        if (rc != DF_OK)
                return rc;
        if ((rc = df_wait(ctx, "w", 1000)) != DF_OK)
                return rc;
        return df_ctx_set_output(ctx, r.data, r.len);
}

START_TEST(test_payload_max_round_trips)
{
        df_test_t *t = runner(wf_big);
        df_test_op_t op;
        df_bytes_t out;

        S.payload_len = DF_PAYLOAD_MAX;
        S.payload = et_pattern(S.payload_len, 7);
        ASSERT_RC(df_test_start(t, "wf", "p1", NULL, 0), DF_OK);
        ASSERT_RC(S.set_result_rc, DF_OK);
        ASSERT_STATUS(t, "p1", "SUSPENDED");
        df_test_advance(t, 1000);
        ASSERT_STATUS(t, "p1", "SUCCEEDED");
        ck_assert_int_eq(S.runs, 1);
        ASSERT_RC(df_test_op(t, "p1", 1, &op), DF_OK);
        ck_assert_uint_eq(op.result.len, DF_PAYLOAD_MAX);
        ck_assert_int_eq(memcmp(op.result.data, S.payload, DF_PAYLOAD_MAX), 0);
        ASSERT_RC(df_test_output(t, "p1", &out), DF_OK);
        ck_assert_uint_eq(out.len, DF_PAYLOAD_MAX);
        ck_assert_int_eq(memcmp(out.data, S.payload, DF_PAYLOAD_MAX), 0);
        ck_assert_int_eq(out.data[0], 0x00);
        ck_assert_int_eq(out.data[1], 0xff);
        ck_assert_int_eq(out.data[DF_PAYLOAD_MAX - 1], 0x00);
        df_test_destroy(t);
}
END_TEST

START_TEST(test_payload_over_max_fails_without_retry)
{
        df_test_t *t = runner(wf_big);
        df_test_op_t op;

        S.payload_len = DF_PAYLOAD_MAX + 1;
        S.payload = et_pattern(S.payload_len, 8);
        ASSERT_RC(df_test_start(t, "wf", "p2", NULL, 0), DF_OK);
        ASSERT_RC(S.set_result_rc, DF_ERR_PAYLOAD_TOO_LARGE);
        ck_assert_int_eq(S.runs, 1);
        ASSERT_RC(S.handler_rc, DF_ERR_STEP_FAILED);
        ck_assert_ptr_nonnull(strstr(S.last_error, "PAYLOAD_TOO_LARGE"));
        ASSERT_STATUS(t, "p2", "FAILED");
        ck_assert_ptr_nonnull(strstr(df_test_error(t, "p2"), "PAYLOAD_TOO_LARGE"));
        ASSERT_OP(t, "p2", 1, "big", "STEP", "FAILED");
        ASSERT_RC(df_test_op(t, "p2", 1, &op), DF_OK);
        ck_assert_int_eq(op.attempt, 1);
        ck_assert_uint_eq(op.result.len, 0);
        ck_assert_int_eq(df_test_pending_timers(t), 0);
        df_test_advance(t, 600000);
        ck_assert_int_eq(S.runs, 1);
        df_test_destroy(t);
}
END_TEST

static df_err_t wf_output(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        (void)input;
        (void)opaque;
        S.set_output_rc = df_ctx_set_output(ctx, S.payload, DF_PAYLOAD_MAX + 1);
        /* the refused call leaves the output as it was: set it now */
        return df_ctx_set_output(ctx, S.payload, DF_PAYLOAD_MAX);
}

START_TEST(test_set_output_limit)
{
        df_test_t *t = runner(wf_output);
        df_bytes_t out;

        S.payload = et_pattern(DF_PAYLOAD_MAX + 1, 9);
        ASSERT_RC(df_test_start(t, "wf", "p3", NULL, 0), DF_OK);
        ASSERT_RC(S.set_output_rc, DF_ERR_PAYLOAD_TOO_LARGE);
        ASSERT_STATUS(t, "p3", "SUCCEEDED");
        ASSERT_RC(df_test_output(t, "p3", &out), DF_OK);
        ck_assert_uint_eq(out.len, DF_PAYLOAD_MAX);
        ck_assert_int_eq(memcmp(out.data, S.payload, DF_PAYLOAD_MAX), 0);
        df_test_destroy(t);
}
END_TEST

static df_err_t wf_echo(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        (void)opaque;
        return df_ctx_set_output(ctx, input->data, input->len);
}

/* Input limit at start: MAX round-trips, MAX+1 is refused. */
START_TEST(test_input_limit)
{
        df_test_t *t = runner(wf_echo);
        df_bytes_t out;

        S.payload = et_pattern(DF_PAYLOAD_MAX + 1, 10);
        ASSERT_RC(df_test_start(t, "wf", "p4", S.payload, DF_PAYLOAD_MAX + 1), DF_ERR_PAYLOAD_TOO_LARGE);
        ck_assert_ptr_null(df_test_status(t, "p4"));
        ASSERT_RC(df_test_start(t, "wf", "p4", S.payload, DF_PAYLOAD_MAX), DF_OK);
        ASSERT_STATUS(t, "p4", "SUCCEEDED");
        ASSERT_RC(df_test_output(t, "p4", &out), DF_OK);
        ck_assert_uint_eq(out.len, DF_PAYLOAD_MAX);
        ck_assert_int_eq(memcmp(out.data, S.payload, DF_PAYLOAD_MAX), 0);
        df_test_destroy(t);
}
END_TEST

/* Rate 1.0 keeps the delay constant. */
START_TEST(test_retry_constant_rate)
{
        df_test_t *t = runner(wf_one_step);

        S.fail_first = 2;
        S.opts.max_attempts = 3;
        S.opts.initial_delay_ms = 500;
        S.opts.backoff_rate = 1.0;
        ASSERT_RC(df_test_start(t, "wf", "c1", NULL, 0), DF_OK);
        assert_pending(t, "c1", 1, T0 + 500);
        df_test_advance(t, 500);
        assert_pending(t, "c1", 2, T0 + 1000);
        df_test_advance(t, 500);
        ASSERT_STATUS(t, "c1", "SUCCEEDED");
        ASSERT_OUTPUT(t, "c1", "ok-3", 4);
        df_test_destroy(t);
}
END_TEST

static df_err_t numbered_body(df_step_t *s, void *opaque)
{
        char res[64];
        int n = snprintf(res, sizeof(res), "r:%s", df_step_idempotency_key(s));
        (void)opaque;
        S.runs++;
        return df_step_set_result(s, res, (size_t)n);
}

/* Results handed out stay valid until the handler returns, however many
 * operations follow (the history grows past its initial capacity), on the
 * first run and on replay. */
static df_err_t wf_many(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        df_bytes_t r[40];
        uint8_t out[40 * 64];
        size_t n = 0;
        char name[16];
        df_err_t rc;
        int i;

        (void)input;
        (void)opaque;
        for (i = 0; i < 40; i++) {
                snprintf(name, sizeof(name), "s%d", i);
                if ((rc = df_step(ctx, name, numbered_body, NULL, NULL, &r[i])) != DF_OK)
                        return rc;
                if (i == 20 && (rc = df_wait(ctx, "mid", 1)) != DF_OK)
                        return rc;
        }
        for (i = 0; i < 40; i++) {
                memcpy(out + n, r[i].data, r[i].len);
                n += r[i].len;
        }
        return df_ctx_set_output(ctx, out, n);
}

START_TEST(test_results_stay_valid)
{
        df_test_t *t = runner(wf_many);
        char want[40 * 64];
        size_t n = 0;
        int i;

        ASSERT_RC(df_test_start(t, "wf", "v", NULL, 0), DF_OK);
        ck_assert_int_eq(S.runs, 21);
        df_test_advance(t, 1);
        ck_assert_int_eq(S.runs, 40);
        ASSERT_STATUS(t, "v", "SUCCEEDED");
        for (i = 0; i < 40; i++)
                n += (size_t)sprintf(want + n, "r:v/%d", i < 21 ? i + 1 : i + 2); /* op 22 is the wait */
        ASSERT_OUTPUT(t, "v", want, n);
        ck_assert_int_eq(df_test_op_count(t, "v"), 41);
        df_test_destroy(t);
}
END_TEST

/* ---------------- handler contract ---------------- */

static df_err_t counting_body(df_step_t *s, void *opaque)
{
        (void)opaque;
        S.runs++;
        return df_step_set_result(s, "c", 1);
}

/* A handler that ignores DF_SUSPENDED and carries on: every later durable
 * call of the replay returns DF_SUSPENDED and runs nothing. */
static df_err_t wf_ignores_suspend(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        const char *id = NULL;
        df_err_t rc;

        (void)input;
        (void)opaque;
        rc = df_wait(ctx, "w", 1000);
        if (rc == DF_SUSPENDED) {
                S.handler_rc = df_step(ctx, "after", counting_body, NULL, NULL, NULL);
                S.set_result_rc = df_wait(ctx, "w2", 1000);
                S.set_output_rc = df_create_callback(ctx, "cb", NULL, &id);
                ck_assert_ptr_null(id);
                return DF_OK; /* and even claims success */
        }
        return df_step(ctx, "after", counting_body, NULL, NULL, NULL);
}

START_TEST(test_calls_after_suspension_suspend)
{
        df_test_t *t = runner(wf_ignores_suspend);

        ASSERT_RC(df_test_start(t, "wf", "g1", NULL, 0), DF_OK);
        ASSERT_RC(S.handler_rc, DF_SUSPENDED);
        ASSERT_RC(S.set_result_rc, DF_SUSPENDED);
        ASSERT_RC(S.set_output_rc, DF_SUSPENDED);
        ck_assert_int_eq(S.runs, 0);
        ASSERT_STATUS(t, "g1", "SUSPENDED");
        ck_assert_int_eq(df_test_op_count(t, "g1"), 1);
        df_test_advance(t, 1000);
        ck_assert_int_eq(S.runs, 1);
        ASSERT_STATUS(t, "g1", "SUCCEEDED");
        ck_assert_int_eq(df_test_op_count(t, "g1"), 2);
        df_test_destroy(t);
}
END_TEST

static df_err_t bare_error_body(df_step_t *s, void *opaque)
{
        (void)s;
        (void)opaque;
        S.runs++;
        return DF_ERR_DEADLINE; /* no df_step_set_error() */
}

static df_err_t typeless_error_body(df_step_t *s, void *opaque)
{
        (void)opaque;
        S.runs++;
        df_step_set_error(s, NULL, "no type given");
        return DF_ERR_STEP_FAILED;
}

static df_err_t wf_error_kinds(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        df_step_opts_t o = {0};
        df_err_t rc;

        (void)opaque;
        o.max_attempts = 1;
        rc = df_step(ctx, "s", input->len ? typeless_error_body : bare_error_body, NULL, &o, NULL);
        S.handler_rc = rc;
        et_copy(S.last_error, sizeof(S.last_error), df_ctx_last_error(ctx));
        if (rc == DF_ERR_STEP_FAILED && input->len > 1)
                df_ctx_fail(ctx, "custom failure message");
        return rc;
}

/* Error text of a step that fails without a type, or without
 * df_step_set_error() at all; df_ctx_fail() overrides the execution's error. */
START_TEST(test_step_error_texts)
{
        df_test_t *t = runner(wf_error_kinds);

        ASSERT_RC(df_test_start(t, "wf", "e0", NULL, 0), DF_OK);
        ASSERT_RC(S.handler_rc, DF_ERR_STEP_FAILED);
        ck_assert_str_eq(S.last_error, "DF_ERR_DEADLINE: deadline exceeded: no reply or acknowledgement in time");
        ASSERT_STATUS(t, "e0", "FAILED");
        ck_assert_str_eq(df_test_error(t, "e0"), "DF_ERR_DEADLINE: deadline exceeded: no reply or acknowledgement in time");

        ASSERT_RC(df_test_start(t, "wf", "e1", "1", 1), DF_OK);
        ck_assert_str_eq(S.last_error, "StepError: no type given");
        ck_assert_str_eq(df_test_error(t, "e1"), "StepError: no type given");

        ASSERT_RC(df_test_start(t, "wf", "e2", "22", 2), DF_OK);
        ck_assert_str_eq(S.last_error, "StepError: no type given");
        ASSERT_STATUS(t, "e2", "FAILED");
        ck_assert_str_eq(df_test_error(t, "e2"), "custom failure message");
        ck_assert_int_eq(S.runs, 3);
        df_test_destroy(t);
}
END_TEST

static df_err_t wf_plain_error(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        (void)ctx;
        (void)input;
        (void)opaque;
        return DF_ERR_CONFLICT;
}

/* A handler error without a message: the execution's error is df_strerror(). */
START_TEST(test_handler_error_text)
{
        df_test_t *t = runner(wf_plain_error);

        ASSERT_RC(df_test_start(t, "wf", "h1", NULL, 0), DF_OK);
        ASSERT_STATUS(t, "h1", "FAILED");
        ck_assert_str_eq(df_test_error(t, "h1"), df_strerror(DF_ERR_CONFLICT));
        ASSERT_OUTPUT(t, "h1", "", 0);
        df_test_destroy(t);
}
END_TEST

Suite *suite_steps(void)
{
        Suite *s = suite_create("steps");
        TCase *tc = tcase_create("retry");
        TCase *amo = tcase_create("at_most_once");
        TCase *pl = tcase_create("payload");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_retry_backoff_then_success);
        tcase_add_loop_test(tc, test_retry_crash_keeps_attempt, 1, 4);
        tcase_add_test(tc, test_retry_exhausted);
        tcase_add_test(tc, test_retry_defaults);
        tcase_add_test(tc, test_retry_max_delay_caps);
        tcase_add_test(tc, test_retry_constant_rate);
        tcase_add_test(tc, test_non_retryable_fails_at_once);
        tcase_add_test(tc, test_non_retryable_other_type_retries);
        tcase_add_loop_test(tc, test_jitter_range, DF_JITTER_NONE, DF_JITTER_HALF + 1);
        suite_add_tcase(s, tc);

        tcase_add_checked_fixture(amo, setup, teardown);
        tcase_add_test(amo, test_amo_normal_runs_once);
        tcase_add_loop_test(amo, test_amo_crash_before_start_commit_or_after, 0, 2);
        tcase_add_test(amo, test_amo_interrupted_fails_with_one_attempt);
        tcase_add_test(amo, test_amo_interrupted_retries_attempt_2);
        tcase_add_test(amo, test_amo_failure_retries);
        suite_add_tcase(s, amo);

        tcase_add_checked_fixture(pl, setup, teardown);
        tcase_set_timeout(pl, 60);
        tcase_add_test(pl, test_payload_max_round_trips);
        tcase_add_test(pl, test_payload_over_max_fails_without_retry);
        tcase_add_test(pl, test_set_output_limit);
        tcase_add_test(pl, test_input_limit);
        tcase_add_test(pl, test_calls_after_suspension_suspend);
        tcase_add_test(pl, test_step_error_texts);
        tcase_add_test(pl, test_handler_error_text);
        tcase_add_test(pl, test_results_stay_valid);
        suite_add_tcase(s, pl);
        return s;
}
