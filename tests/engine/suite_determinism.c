/*
 * suite_determinism.c -- non-determinism: the code changes under a
 * suspended execution (a global flag picks the code path, as a redeploy
 * would), the execution stops in NONDETERMINISM naming the operation, no
 * recorded result is handed to a different operation, and after the code is
 * fixed df_test_resume() continues it.
 */
#include <stdio.h>
#include <stdlib.h>

#include "engine_test.h"

#define EXEC "nd-1"

enum {
        V_ORIGINAL = 0, /* step A -> wait W -> step B */
        V_INSERTED,     /* step A -> step X -> wait W -> step B */
        V_RENAMED,      /* step A2 -> wait W -> step B */
        V_REPLACED,     /* wait A -> wait W -> step B */
        V_REMOVED,      /* step A -> (ends) */
        V_WAIT_TO_STEP, /* step A -> step W -> step B */
        V__COUNT
};

static const char A_RESULT[] = "recorded-A";

static struct {
        int version;
        int handler_runs;
        int a_runs, b_runs, x_runs, a2_runs, w_step_runs;
        df_err_t first_rc;       /* verdict of the first operation in the last replay */
        df_err_t nd_rc;          /* verdict of the operation that diverged */
        int got_bytes;           /* a diverging operation handed out bytes */
        int after_nd;            /* the handler went on after a non-determinism verdict */
        char last_error[512];
} D;

static void setup(void)
{
        memset(&D, 0, sizeof(D));
}

static df_err_t body_a(df_step_t *s, void *o)
{
        (void)o;
        D.a_runs++;
        return df_step_set_result(s, A_RESULT, strlen(A_RESULT));
}

static df_err_t body_b(df_step_t *s, void *o)
{
        (void)o;
        D.b_runs++;
        return df_step_set_result(s, "B", 1);
}

static df_err_t body_x(df_step_t *s, void *o)
{
        (void)o;
        D.x_runs++;
        return df_step_set_result(s, "X", 1);
}

static df_err_t body_a2(df_step_t *s, void *o)
{
        (void)o;
        D.a2_runs++;
        return df_step_set_result(s, "A2", 2);
}

static df_err_t body_w(df_step_t *s, void *o)
{
        (void)s;
        (void)o;
        D.w_step_runs++;
        return DF_OK;
}

/* Note the verdict of a diverging operation; a handler that ignores it and
 * goes on must get NONDETERMINISM from every later operation too. */
static df_err_t diverged(df_ctx_t *ctx, df_err_t rc, const df_bytes_t *r)
{
        D.nd_rc = rc;
        if (r && (r->len || r->data))
                D.got_bytes = 1;
        et_copy(D.last_error, sizeof(D.last_error), df_ctx_last_error(ctx));
        if (rc == DF_ERR_NONDETERMINISM) {
                df_bytes_t r2;
                /* a misbehaving handler that carries on */
                df_err_t rc2 = df_step(ctx, "B", body_b, NULL, NULL, &r2);
                D.after_nd = rc2 == DF_ERR_NONDETERMINISM ? 1 : -1;
                if (r2.len || r2.data)
                        D.got_bytes = 1;
                df_ctx_set_output(ctx, "must not be kept", 16);
                return DF_OK; /* and even claims success */
        }
        return rc;
}

static df_err_t wf(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        df_bytes_t a = {0}, b, x;
        df_err_t rc;

        (void)input;
        (void)opaque;
        D.handler_runs++;
        switch (D.version) {
        case V_RENAMED:
                rc = df_step(ctx, "A2", body_a2, NULL, NULL, &a);
                D.first_rc = rc;
                return diverged(ctx, rc, &a);
        case V_REPLACED:
                rc = df_wait(ctx, "A", 1000);
                D.first_rc = rc;
                return diverged(ctx, rc, NULL);
        default:
                break;
        }
        rc = df_step(ctx, "A", body_a, NULL, NULL, &a);
        D.first_rc = rc;
        if (rc != DF_OK)
                return rc;
        ck_assert_uint_eq(a.len, strlen(A_RESULT));
        ck_assert_mem_eq(a.data, A_RESULT, a.len);
        switch (D.version) {
        case V_INSERTED:
                rc = df_step(ctx, "X", body_x, NULL, NULL, &x);
                if (rc != DF_OK)
                        return diverged(ctx, rc, &x);
                break;
        case V_REMOVED:
                return df_ctx_set_output(ctx, "short", 5);
        case V_WAIT_TO_STEP:
                rc = df_step(ctx, "W", body_w, NULL, NULL, &x);
                return diverged(ctx, rc, &x);
        default:
                break;
        }
        if ((rc = df_wait(ctx, "W", 10000)) != DF_OK)
                return rc;
        if ((rc = df_step(ctx, "B", body_b, NULL, NULL, &b)) != DF_OK)
                return rc;
        {
                uint8_t out[64];
                memcpy(out, a.data, a.len);
                memcpy(out + a.len, b.data, b.len);
                return df_ctx_set_output(ctx, out, a.len + b.len);
        }
}

static const char *const WANT_ERROR[V__COUNT] = {
        [V_INSERTED] = "non-determinism at operation 2: history has WAIT \"W\", code calls STEP \"X\"",
        [V_RENAMED] = "non-determinism at operation 1: history has STEP \"A\", code calls STEP \"A2\"",
        [V_REPLACED] = "non-determinism at operation 1: history has STEP \"A\", code calls WAIT \"A\"",
        [V_REMOVED] = "non-determinism: history has 2 operations, the code completed after 1",
        [V_WAIT_TO_STEP] = "non-determinism at operation 2: history has WAIT \"W\", code calls STEP \"W\"",
};

/* Run to the wait with the original code, switch to version v, let the
 * wait's timer replay it (loop 0) or resume it by hand (loop 1): it stops in
 * NONDETERMINISM; switch back and resume: it succeeds. */
static void run_variant(int v, int by_resume)
{
        df_test_t *t = et_new();
        df_test_op_t op;
        int runs;

        ASSERT_RC(df_test_register(t, "wf", wf, NULL), DF_OK);
        ASSERT_RC(df_test_start(t, "wf", EXEC, NULL, 0), DF_OK);
        ASSERT_STATUS(t, EXEC, "SUSPENDED");
        ck_assert_int_eq(df_test_op_count(t, EXEC), 2);
        ck_assert_int_eq(D.a_runs, 1);

        D.version = v;
        if (by_resume)
                ASSERT_RC(df_test_resume(t, EXEC), DF_OK);
        else
                df_test_advance(t, 10000);
        ASSERT_STATUS(t, EXEC, "NONDETERMINISM");
        ck_assert_str_eq(df_test_error(t, EXEC), WANT_ERROR[v]);
        ASSERT_OUTPUT(t, EXEC, "", 0);
        /* nothing new ran, nothing was handed to a different operation */
        ck_assert_int_eq(D.a_runs, 1);
        ck_assert_int_eq(D.x_runs, 0);
        ck_assert_int_eq(D.a2_runs, 0);
        ck_assert_int_eq(D.w_step_runs, 0);
        ck_assert_int_eq(D.b_runs, 0);
        ck_assert_int_eq(D.got_bytes, 0);
        if (v != V_REMOVED) {
                ASSERT_RC(D.nd_rc, DF_ERR_NONDETERMINISM);
                ck_assert_str_eq(D.last_error, WANT_ERROR[v]);
                ck_assert_int_eq(D.after_nd, 1);
        }
        /* the history is as the original code left it */
        ck_assert_int_eq(df_test_op_count(t, EXEC), 2);
        ASSERT_OP(t, EXEC, 1, "A", "STEP", "SUCCEEDED");
        ASSERT_OP_RESULT(t, EXEC, 1, A_RESULT, strlen(A_RESULT));
        ASSERT_OP(t, EXEC, 2, "W", "WAIT", by_resume ? "PENDING" : "SUCCEEDED");

        /* While stopped in NONDETERMINISM, events are recorded but do not replay. */
        runs = D.handler_runs;
        if (by_resume) {
                df_test_advance(t, 10000); /* the wait's timer fires */
                ASSERT_OP(t, EXEC, 2, "W", "WAIT", "SUCCEEDED");
        }
        ck_assert_int_eq(D.handler_runs, runs);
        ASSERT_STATUS(t, EXEC, "NONDETERMINISM");

        /* The fix is deployed: resume. */
        D.version = V_ORIGINAL;
        ASSERT_RC(df_test_resume(t, EXEC), DF_OK);
        ck_assert_int_eq(D.handler_runs, runs + 1);
        ASSERT_STATUS(t, EXEC, "SUCCEEDED");
        ck_assert_str_eq(df_test_error(t, EXEC), "");
        ASSERT_OUTPUT(t, EXEC, "recorded-AB", 11);
        ck_assert_int_eq(D.a_runs, 1);
        ck_assert_int_eq(D.b_runs, 1);
        ck_assert_int_eq(D.x_runs + D.a2_runs + D.w_step_runs, 0);
        ck_assert_int_eq(df_test_op_count(t, EXEC), 3);
        ASSERT_OP(t, EXEC, 3, "B", "STEP", "SUCCEEDED");
        ASSERT_RC(df_test_op(t, EXEC, 1, &op), DF_OK);
        ck_assert_int_eq(op.attempt, 1);
        df_test_destroy(t);
}

START_TEST(test_step_inserted)
{
        run_variant(V_INSERTED, _i);
}
END_TEST

START_TEST(test_step_renamed)
{
        run_variant(V_RENAMED, _i);
}
END_TEST

START_TEST(test_step_replaced_by_wait)
{
        run_variant(V_REPLACED, _i);
}
END_TEST

START_TEST(test_wait_replaced_by_step)
{
        run_variant(V_WAIT_TO_STEP, _i);
}
END_TEST

START_TEST(test_step_removed)
{
        run_variant(V_REMOVED, _i);
}
END_TEST

/* A resume while the code is still wrong stops it again, with the same error. */
START_TEST(test_resume_without_fix)
{
        df_test_t *t = et_new();

        ASSERT_RC(df_test_register(t, "wf", wf, NULL), DF_OK);
        ASSERT_RC(df_test_start(t, "wf", EXEC, NULL, 0), DF_OK);
        D.version = V_RENAMED;
        df_test_advance(t, 10000);
        ASSERT_STATUS(t, EXEC, "NONDETERMINISM");
        ASSERT_RC(df_test_resume(t, EXEC), DF_OK);
        ASSERT_STATUS(t, EXEC, "NONDETERMINISM");
        ck_assert_str_eq(df_test_error(t, EXEC), WANT_ERROR[V_RENAMED]);
        ck_assert_int_eq(D.a2_runs, 0);
        ck_assert_int_eq(D.got_bytes, 0);
        D.version = V_ORIGINAL;
        ASSERT_RC(df_test_resume(t, EXEC), DF_OK);
        ASSERT_STATUS(t, EXEC, "SUCCEEDED");
        ASSERT_OUTPUT(t, EXEC, "recorded-AB", 11);
        df_test_destroy(t);
}
END_TEST

/* Appending operations after the recorded ones is not non-determinism. */
START_TEST(test_appended_step_is_fine)
{
        df_test_t *t = et_new();

        ASSERT_RC(df_test_register(t, "wf", wf, NULL), DF_OK);
        ASSERT_RC(df_test_start(t, "wf", EXEC, NULL, 0), DF_OK);
        /* the original code with nothing changed: the replay at the timer runs B */
        df_test_advance(t, 10000);
        ASSERT_STATUS(t, EXEC, "SUCCEEDED");
        ck_assert_int_eq(D.handler_runs, 2);
        ck_assert_int_eq(D.a_runs, 1);
        ck_assert_int_eq(D.b_runs, 1);
        df_test_destroy(t);
}
END_TEST

/* NONDETERMINISM is not terminal: it can be stopped; then resume is refused. */
START_TEST(test_stop_in_nondeterminism)
{
        df_test_t *t = et_new();

        ASSERT_RC(df_test_register(t, "wf", wf, NULL), DF_OK);
        ASSERT_RC(df_test_start(t, "wf", EXEC, NULL, 0), DF_OK);
        D.version = V_INSERTED;
        ASSERT_RC(df_test_resume(t, EXEC), DF_OK);
        ASSERT_STATUS(t, EXEC, "NONDETERMINISM");
        ASSERT_RC(df_test_start(t, "wf", EXEC, NULL, 0), DF_OK); /* idempotent start */
        ASSERT_RC(df_test_stop(t, EXEC), DF_OK);
        ASSERT_STATUS(t, EXEC, "STOPPED");
        D.version = V_ORIGINAL;
        ASSERT_RC(df_test_resume(t, EXEC), DF_ERR_FINISHED);
        df_test_advance(t, 10000);
        ASSERT_STATUS(t, EXEC, "STOPPED");
        ck_assert_int_eq(D.b_runs, 0);
        ck_assert_int_eq(D.x_runs, 0);
        df_test_destroy(t);
}
END_TEST

Suite *suite_determinism(void)
{
        Suite *s = suite_create("determinism");
        TCase *tc = tcase_create("nondeterminism");

        tcase_add_checked_fixture(tc, setup, NULL);
        tcase_add_loop_test(tc, test_step_inserted, 0, 2);
        tcase_add_loop_test(tc, test_step_renamed, 0, 2);
        tcase_add_loop_test(tc, test_step_replaced_by_wait, 0, 2);
        tcase_add_loop_test(tc, test_wait_replaced_by_step, 0, 2);
        tcase_add_loop_test(tc, test_step_removed, 0, 2);
        tcase_add_test(tc, test_resume_without_fix);
        tcase_add_test(tc, test_appended_step_is_fine);
        tcase_add_test(tc, test_stop_in_nondeterminism);
        suite_add_tcase(s, tc);
        return s;
}
