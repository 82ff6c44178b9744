/*
 * suite_replay.c -- replay after a crash at every operation boundary.
 *
 * The workflow: step A -> wait 10 s -> wait_for_callback (the submitter
 * records the callback id) -> step B.  Without crashes it takes three
 * deliveries: the start (runs A, arms the wait), the wait's timer (creates
 * the callback, runs the submitter) and the callback completion (runs B, ends
 * the execution).  df_test_crash_next() makes a delivery crash before its
 * commit; the event is then delivered again.
 */
#include <stdio.h>
#include <stdlib.h>

#include "engine_test.h"

#define EXEC "order-42"
#define MAXRUNS 32

static const uint8_t A_RESULT[] = {'A', 0x00, 0xff, 0xc0, 0x80, 'a'};
static const uint8_t CB_PAYLOAD[] = {'o', 'k', 0x00, 0xfe, '!'};
static const uint8_t B_RESULT[] = {'B', 0xed, 0xa0, 0x80, 0x00};
static const char SUBMIT_RESULT[] = "submitted";

/* What the step bodies saw, in run order. */
static struct {
        int runs;
        char step[MAXRUNS][16];
        char key[MAXRUNS][64];
        int attempt[MAXRUNS];
        int a_runs, submit_runs, b_runs;
        int n_cb;
        char cb[MAXRUNS][CBID_MAX]; /* every callback id handed to the submitter */
        int handler_runs;
} R;

static void setup(void)
{
        memset(&R, 0, sizeof(R));
}

static void record(df_step_t *s, const char *name)
{
        ck_assert_int_lt(R.runs, MAXRUNS);
        et_copy(R.step[R.runs], sizeof(R.step[0]), name);
        et_copy(R.key[R.runs], sizeof(R.key[0]), df_step_idempotency_key(s));
        R.attempt[R.runs] = df_step_attempt(s);
        R.runs++;
}

static df_err_t step_a(df_step_t *s, void *opaque)
{
        (void)opaque;
        record(s, "A");
        R.a_runs++;
        return df_step_set_result(s, A_RESULT, sizeof(A_RESULT));
}

static df_err_t submitter(df_step_t *s, const char *callback_id, void *opaque)
{
        (void)opaque;
        record(s, "submit");
        R.submit_runs++;
        ck_assert_int_lt(R.n_cb, MAXRUNS);
        et_copy(R.cb[R.n_cb++], CBID_MAX, callback_id);
        return df_step_set_result(s, SUBMIT_RESULT, strlen(SUBMIT_RESULT));
}

static df_err_t step_b(df_step_t *s, void *opaque)
{
        (void)opaque;
        record(s, "B");
        R.b_runs++;
        return df_step_set_result(s, B_RESULT, sizeof(B_RESULT));
}

static df_err_t wf_pipeline(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        df_callback_opts_t co = {0, 0};
        df_bytes_t a, cb, b;
        uint8_t out[64];
        size_t n = 0;
        df_err_t rc;

        (void)opaque;
        R.handler_runs++;
        ck_assert_uint_eq(input->len, 3);
        ck_assert_mem_eq(input->data, "in\0", 3);
        if ((rc = df_step(ctx, "A", step_a, NULL, NULL, &a)) != DF_OK)
                return rc;
        if ((rc = df_wait(ctx, "W", 10000)) != DF_OK)
                return rc;
        if ((rc = df_wait_for_callback(ctx, "approval", submitter, NULL, &co, NULL, &cb)) != DF_OK)
                return rc;
        if ((rc = df_step(ctx, "B", step_b, NULL, NULL, &b)) != DF_OK)
                return rc;
        /* a's bytes must still be valid: results live until the handler returns */
        memcpy(out + n, a.data, a.len);
        n += a.len;
        memcpy(out + n, cb.data, cb.len);
        n += cb.len;
        memcpy(out + n, b.data, b.len);
        n += b.len;
        return df_ctx_set_output(ctx, out, n);
}

static void expected_output(uint8_t *out, size_t *n)
{
        *n = 0;
        memcpy(out + *n, A_RESULT, sizeof(A_RESULT));
        *n += sizeof(A_RESULT);
        memcpy(out + *n, CB_PAYLOAD, sizeof(CB_PAYLOAD));
        *n += sizeof(CB_PAYLOAD);
        memcpy(out + *n, B_RESULT, sizeof(B_RESULT));
        *n += sizeof(B_RESULT);
}

/* The history of a finished run: five operations, each once, each with its bytes. */
static void assert_final_history(df_test_t *t)
{
        df_test_op_t op;
        uint8_t out[64];
        size_t n;
        char cb[CBID_MAX];

        ASSERT_STATUS(t, EXEC, "SUCCEEDED");
        ck_assert_str_eq(df_test_error(t, EXEC), "");
        expected_output(out, &n);
        ASSERT_OUTPUT(t, EXEC, out, n);
        ck_assert_int_eq(df_test_op_count(t, EXEC), 5);
        ASSERT_OP(t, EXEC, 1, "A", "STEP", "SUCCEEDED");
        ASSERT_OP_RESULT(t, EXEC, 1, A_RESULT, sizeof(A_RESULT));
        ASSERT_OP(t, EXEC, 2, "W", "WAIT", "SUCCEEDED");
        ASSERT_RC(df_test_op(t, EXEC, 2, &op), DF_OK);
        ck_assert_int_eq(op.due_ms, T0 + 10000);
        ASSERT_OP(t, EXEC, 3, "approval", "CALLBACK", "SUCCEEDED");
        ASSERT_OP_RESULT(t, EXEC, 3, CB_PAYLOAD, sizeof(CB_PAYLOAD));
        ASSERT_OP(t, EXEC, 4, "approval.submit", "STEP", "SUCCEEDED");
        ASSERT_OP_RESULT(t, EXEC, 4, SUBMIT_RESULT, strlen(SUBMIT_RESULT));
        ASSERT_OP(t, EXEC, 5, "B", "STEP", "SUCCEEDED");
        ASSERT_OP_RESULT(t, EXEC, 5, B_RESULT, sizeof(B_RESULT));
        ASSERT_RC(df_test_op(t, EXEC, 6, &op), DF_ERR_NOT_FOUND);
        et_cb_id(t, EXEC, "approval", cb);
        ck_assert_int_ge(R.n_cb, 1);
        ck_assert_str_eq(R.cb[R.n_cb - 1], cb);
}

/* Every body run: attempt 1 and the key "<exec>/<op id>" of its step. */
static void assert_keys(void)
{
        int i;
        for (i = 0; i < R.runs; i++) {
                const char *want = !strcmp(R.step[i], "A")        ? EXEC "/1"
                                   : !strcmp(R.step[i], "submit") ? EXEC "/4"
                                                                  : EXEC "/5";
                ck_assert_str_eq(R.key[i], want);
                ck_assert_int_eq(R.attempt[i], 1);
        }
}

/* Drive the pipeline; crash_before[p] = 1 crashes the first delivery of
 * phase p (0 start, 1 timer, 2 callback); crash_k > 0 arms
 * df_test_crash_next(t, crash_k) before the start instead. */
static df_test_t *drive(const int crash_before[3], int crash_k)
{
        df_test_t *t = et_new();
        df_test_op_t op;
        char cb[CBID_MAX];

        ASSERT_RC(df_test_register(t, "pipeline", wf_pipeline, NULL), DF_OK);
        if (crash_k)
                df_test_crash_next(t, crash_k);
        if (crash_before[0])
                df_test_crash_next(t, 1);
        ASSERT_RC(df_test_start(t, "pipeline", EXEC, "in", 3), DF_OK);
        ASSERT_STATUS(t, EXEC, "SUSPENDED");
        ck_assert_int_eq(df_test_op_count(t, EXEC), 2);
        ASSERT_OP(t, EXEC, 1, "A", "STEP", "SUCCEEDED");
        ASSERT_OP_RESULT(t, EXEC, 1, A_RESULT, sizeof(A_RESULT));
        ASSERT_OP(t, EXEC, 2, "W", "WAIT", "PENDING");
        ASSERT_RC(df_test_op(t, EXEC, 2, &op), DF_OK);
        ck_assert_int_eq(op.due_ms, T0 + 10000);
        ck_assert_int_eq(df_test_pending_timers(t), 1);

        /* not due yet */
        df_test_advance(t, 9999);
        ASSERT_STATUS(t, EXEC, "SUSPENDED");
        ASSERT_OP(t, EXEC, 2, "W", "WAIT", "PENDING");
        ck_assert_int_eq(R.submit_runs, 0);

        if (crash_before[1])
                df_test_crash_next(t, 1);
        df_test_advance(t, 1);
        ASSERT_STATUS(t, EXEC, "SUSPENDED");
        ck_assert_int_eq(df_test_op_count(t, EXEC), 4);
        ASSERT_OP(t, EXEC, 2, "W", "WAIT", "SUCCEEDED");
        ASSERT_OP(t, EXEC, 3, "approval", "CALLBACK", "PENDING");
        ASSERT_OP(t, EXEC, 4, "approval.submit", "STEP", "SUCCEEDED");
        ck_assert_int_eq(df_test_pending_timers(t), 0);
        et_cb_id(t, EXEC, "approval", cb);
        ck_assert_uint_gt(strlen(cb), 33);
        /* the id the submitter handed out last is the recorded one */
        ck_assert_int_ge(R.n_cb, 1);
        ck_assert_str_eq(R.cb[R.n_cb - 1], cb);
        ck_assert_int_eq(R.b_runs, 0);

        if (crash_before[2])
                df_test_crash_next(t, 1);
        ASSERT_RC(df_test_callback(t, cb, DF_CALLBACK_SUCCESS, CB_PAYLOAD, sizeof(CB_PAYLOAD), NULL), DF_OK);
        assert_final_history(t);
        assert_keys();
        return t;
}

/* Crash at the kth delivery from the start, k = 1..4 (4: past the last one). */
START_TEST(test_crash_at_kth_delivery)
{
        static const int none[3] = {0, 0, 0};
        int k = _i;
        df_test_t *t = drive(none, k);
        int crashed = k <= 3;

        ck_assert_int_eq(df_test_crashes(t), crashed);
        /* A ran again only when the start crashed; the submitter only when the
         * timer's delivery crashed; B only when the completion crashed. */
        ck_assert_int_eq(R.a_runs, 1 + (k == 1));
        ck_assert_int_eq(R.submit_runs, 1 + (k == 2));
        ck_assert_int_eq(R.b_runs, 1 + (k == 3));
        ck_assert_int_eq(R.runs, 3 + crashed);
        if (k == 2) {
                /* The crashed delivery's callback id was lost with it: the
                 * submitter saw a fresh id on the re-run and the lost one is
                 * rejected as unknown (the id is checked before the
                 * execution's status, even once it is over). */
                ck_assert_int_eq(R.n_cb, 2);
                ck_assert_str_ne(R.cb[0], R.cb[1]);
                ASSERT_RC(df_test_callback(t, R.cb[0], DF_CALLBACK_SUCCESS, "x", 1, NULL), DF_ERR_UNKNOWN_CALLBACK);
        } else {
                ck_assert_int_eq(R.n_cb, 1);
        }
        /* completions after the end change nothing */
        ASSERT_RC(df_test_callback(t, R.cb[R.n_cb - 1], DF_CALLBACK_SUCCESS, "x", 1, NULL), DF_ERR_FINISHED);
        assert_final_history(t);
        df_test_destroy(t);
}
END_TEST

/* Every combination of crashing the first delivery of each phase. */
START_TEST(test_crash_combinations)
{
        int mask = _i;
        int crash[3] = {mask & 1, (mask >> 1) & 1, (mask >> 2) & 1};
        df_test_t *t = drive(crash, 0);

        ck_assert_int_eq(df_test_crashes(t), crash[0] + crash[1] + crash[2]);
        ck_assert_int_eq(R.a_runs, 1 + crash[0]);
        ck_assert_int_eq(R.submit_runs, 1 + crash[1]);
        ck_assert_int_eq(R.b_runs, 1 + crash[2]);
        ck_assert_int_eq(R.n_cb, 1 + crash[1]);
        df_test_destroy(t);
}
END_TEST

/* A callback id lost in a crashed delivery is rejected while the execution
 * still waits for the new one (unknown id, not a completion). */
START_TEST(test_crash_lost_callback_id_rejected)
{
        static const int crash_timer[3] = {0, 1, 0};
        df_test_t *t = et_new();
        char cb[CBID_MAX];

        ASSERT_RC(df_test_register(t, "pipeline", wf_pipeline, NULL), DF_OK);
        ASSERT_RC(df_test_start(t, "pipeline", EXEC, "in", 3), DF_OK);
        if (crash_timer[1])
                df_test_crash_next(t, 1);
        df_test_advance(t, 10000);
        ck_assert_int_eq(df_test_crashes(t), 1);
        ck_assert_int_eq(R.n_cb, 2);
        ck_assert_str_ne(R.cb[0], R.cb[1]);
        et_cb_id(t, EXEC, "approval", cb);
        ck_assert_str_eq(cb, R.cb[1]);
        /* same routing part (op 3 of this execution), other random part */
        ck_assert_mem_eq(R.cb[0] + 32, R.cb[1] + 32, strlen(R.cb[1]) - 32);
        ASSERT_RC(df_test_callback(t, R.cb[0], DF_CALLBACK_SUCCESS, "x", 1, NULL), DF_ERR_UNKNOWN_CALLBACK);
        ASSERT_STATUS(t, EXEC, "SUSPENDED");
        ASSERT_OP(t, EXEC, 3, "approval", "CALLBACK", "PENDING");
        ck_assert_int_eq(R.b_runs, 0);
        ASSERT_RC(df_test_callback(t, cb, DF_CALLBACK_SUCCESS, CB_PAYLOAD, sizeof(CB_PAYLOAD), NULL), DF_OK);
        assert_final_history(t);
        ck_assert_int_eq(R.b_runs, 1);
        df_test_destroy(t);
}
END_TEST

/* Replays hand out recorded results without running bodies again: the
 * handler runs once per delivery, the bodies once in all. */
START_TEST(test_replay_runs_bodies_once)
{
        static const int none[3] = {0, 0, 0};
        df_test_t *t = drive(none, 0);

        ck_assert_int_eq(df_test_crashes(t), 0);
        ck_assert_int_eq(R.handler_runs, 3);
        ck_assert_int_eq(R.a_runs, 1);
        ck_assert_int_eq(R.submit_runs, 1);
        ck_assert_int_eq(R.b_runs, 1);
        /* a resume of a finished execution is refused and runs nothing */
        ASSERT_RC(df_test_resume(t, EXEC), DF_ERR_FINISHED);
        ck_assert_int_eq(R.handler_runs, 3);
        df_test_destroy(t);
}
END_TEST

/* df_ctx_is_replaying(): 1 only while recorded operations remain to be
 * replayed; 0 on a fresh execution and from the moment the last recorded
 * operation has been handed out (the code after it runs for the first time). */
static int RP[4][5]; /* [replay][point]: top, after A, after W, after callback, after B; -1 = not reached */
static int rp_run;

static df_err_t wf_replaying(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        df_callback_opts_t co = {0, 0};
        int *p;
        df_err_t rc;

        (void)input;
        (void)opaque;
        ck_assert_int_lt(rp_run, 4);
        p = RP[rp_run++];
        p[0] = df_ctx_is_replaying(ctx);
        if ((rc = df_step(ctx, "A", step_a, NULL, NULL, NULL)) != DF_OK)
                return rc;
        p[1] = df_ctx_is_replaying(ctx);
        if ((rc = df_wait(ctx, "W", 10000)) != DF_OK)
                return rc;
        p[2] = df_ctx_is_replaying(ctx);
        if ((rc = df_wait_for_callback(ctx, "approval", submitter, NULL, &co, NULL, NULL)) != DF_OK)
                return rc;
        p[3] = df_ctx_is_replaying(ctx);
        if ((rc = df_step(ctx, "B", step_b, NULL, NULL, NULL)) != DF_OK)
                return rc;
        p[4] = df_ctx_is_replaying(ctx);
        return DF_OK;
}

START_TEST(test_is_replaying)
{
        static const int want[3][5] = {
                {0, 0, -1, -1, -1}, /* fresh start: nothing recorded */
                {1, 1, 0, -1, -1},  /* timer: A and W recorded, W is the last */
                {1, 1, 1, 0, 0},    /* completion: the callback's submit step is the last */
        };
        df_test_t *t = et_new();
        char cb[CBID_MAX];
        int i, j;

        memset(RP, -1, sizeof(RP));
        rp_run = 0;
        ASSERT_RC(df_test_register(t, "wf", wf_replaying, NULL), DF_OK);
        ASSERT_RC(df_test_start(t, "wf", EXEC, NULL, 0), DF_OK);
        df_test_advance(t, 10000);
        et_cb_id(t, EXEC, "approval", cb);
        ASSERT_RC(df_test_callback(t, cb, DF_CALLBACK_SUCCESS, "x", 1, NULL), DF_OK);
        ASSERT_STATUS(t, EXEC, "SUCCEEDED");
        ck_assert_int_eq(rp_run, 3);
        for (i = 0; i < 3; i++)
                for (j = 0; j < 5; j++)
                        ck_assert_msg(RP[i][j] == want[i][j], "replay %d point %d: is_replaying %d, want %d", i + 1,
                                      j, RP[i][j], want[i][j]);
        df_test_destroy(t);
}
END_TEST

Suite *suite_replay(void)
{
        Suite *s = suite_create("replay");
        TCase *tc = tcase_create("crash");

        tcase_add_checked_fixture(tc, setup, NULL);
        tcase_add_loop_test(tc, test_crash_at_kth_delivery, 1, 5);
        tcase_add_loop_test(tc, test_crash_combinations, 0, 8);
        tcase_add_test(tc, test_crash_lost_callback_id_rejected);
        tcase_add_test(tc, test_replay_runs_bodies_once);
        tcase_add_test(tc, test_is_replaying);
        suite_add_tcase(s, tc);
        return s;
}
