/*
 * suite_child.c -- run_in_child_context (issue 11, item 1): a child context
 * has its own operation-id namespace under its parent's id ("2", then
 * "2.1", "2.2", "2.2.1"), its result is checkpointed as one unit, and a
 * completed child is not re-entered on replay.
 */
#include <stdio.h>
#include <stdlib.h>

#include "engine_test.h"

static struct {
        int handler_runs;
        int grp_runs, inner_runs;   /* child functions entered */
        int x_runs, y_runs, b_runs; /* step bodies run */
        int replaying_in_grp[8];    /* df_ctx_is_replaying at entry of grp, per entry */
        df_err_t child_rc;
        char child_err[256];
        int fail_child;
} C;

static void setup(void)
{
        memset(&C, 0, sizeof(C));
}

static df_err_t body_x(df_step_t *s, void *opaque)
{
        (void)opaque;
        C.x_runs++;
        return df_step_set_result(s, "X", 1);
}

static df_err_t body_y(df_step_t *s, void *opaque)
{
        (void)opaque;
        C.y_runs++;
        return df_step_set_result(s, "Y\0y", 3);
}

static df_err_t body_b(df_step_t *s, void *opaque)
{
        (void)opaque;
        C.b_runs++;
        return df_step_set_result(s, "B", 1);
}

static df_err_t body_fail(df_step_t *s, void *opaque)
{
        (void)opaque;
        df_step_set_error(s, "Boom", "inner step broke");
        return DF_ERR_STEP_FAILED;
}

/* 2.2: a nested child with one step, result "inner:" + Y */
static df_err_t fn_inner(df_ctx_t *ctx, void *opaque)
{
        df_bytes_t y;
        df_err_t rc;
        df_step_opts_t once = {.max_attempts = 1};
        (void)opaque;
        C.inner_runs++;
        if (C.fail_child)
                return df_step(ctx, "y", body_fail, NULL, &once, NULL);
        if ((rc = df_step(ctx, "y", body_y, NULL, NULL, &y)) != DF_OK)
                return rc;
        {
                char buf[16] = "inner:";
                memcpy(buf + 6, y.data, y.len);
                return df_ctx_set_output(ctx, buf, 6 + y.len);
        }
}

/* 2: step x (2.1), child inner (2.2), wait 10 s (2.3); result "grp" */
static df_err_t fn_grp(df_ctx_t *ctx, void *opaque)
{
        df_bytes_t r;
        df_err_t rc;
        (void)opaque;
        if (C.grp_runs < 8)
                C.replaying_in_grp[C.grp_runs] = df_ctx_is_replaying(ctx);
        C.grp_runs++;
        if ((rc = df_step(ctx, "x", body_x, NULL, NULL, NULL)) != DF_OK)
                return rc;
        rc = df_run_in_child_context(ctx, "inner", fn_inner, NULL, &r);
        if (rc != DF_OK)
                return rc;
        if ((rc = df_wait(ctx, "pause", 10000)) != DF_OK)
                return rc;
        return df_ctx_set_output(ctx, r.data, r.len);
}

/* 1: step a; 2: child grp; 3: wait 5 s; 4: step b */
static df_err_t wf_child(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        df_bytes_t g;
        df_err_t rc;
        (void)input;
        (void)opaque;
        C.handler_runs++;
        if ((rc = df_step(ctx, "a", body_x, NULL, NULL, NULL)) != DF_OK)
                return rc;
        rc = df_run_in_child_context(ctx, "grp", fn_grp, NULL, &g);
        C.child_rc = rc;
        if (rc == DF_ERR_CHILD_FAILED)
                et_copy(C.child_err, sizeof(C.child_err), df_ctx_last_error(ctx));
        if (rc != DF_OK)
                return rc;
        if ((rc = df_wait(ctx, "later", 5000)) != DF_OK)
                return rc;
        if ((rc = df_step(ctx, "b", body_b, NULL, NULL, NULL)) != DF_OK)
                return rc;
        return df_ctx_set_output(ctx, g.data, g.len);
}

static void assert_ids(df_test_t *t, const char *e)
{
        df_test_op_t op;
        ASSERT_OP_AT(t, e, "1", "a", "STEP", "SUCCEEDED");
        ASSERT_OP_AT(t, e, "2.1", "x", "STEP", "SUCCEEDED");
        ASSERT_OP_AT(t, e, "2.2", "inner", "CHILD", "SUCCEEDED");
        ASSERT_OP_AT(t, e, "2.2.1", "y", "STEP", "SUCCEEDED");
        ASSERT_RC(df_test_op_at(t, e, "2.2.1", &op), DF_OK);
        ck_assert_str_eq(op.parent_id, "2.2");
        ck_assert_str_eq(op.op_id, "2.2.1");
        ASSERT_RC(df_test_op_at(t, e, "2.2", &op), DF_OK);
        ck_assert_str_eq(op.parent_id, "2");
        ck_assert_int_eq(op.child_count, 1);
        ck_assert_uint_eq(op.result.len, 9);
        ck_assert(!memcmp(op.result.data, "inner:Y\0y", 9));
        ASSERT_RC(df_test_op_at(t, e, "2.3", &op), DF_OK);
        ck_assert_str_eq(op.name, "pause");
        ck_assert_str_eq(op.parent_id, "2");
}

/* Ids nest under the parent's; the child suspends its parent on a wait
 * and is re-entered (it is not complete) on the timer; once complete it
 * is never entered again, and its result is the one recorded. */
START_TEST(test_child_ids_and_replay)
{
        df_test_t *t = et_new();
        df_test_op_t op;

        ASSERT_RC(df_test_register(t, "wf", wf_child, NULL), DF_OK);
        ASSERT_RC(df_test_start(t, "wf", "c1", NULL, 0), DF_OK);
        ASSERT_STATUS(t, "c1", "SUSPENDED");
        ck_assert_int_eq(df_test_op_count(t, "c1"), 2); /* top level: a, grp */
        ck_assert_int_eq(df_test_op_count_all(t, "c1"), 6);
        ASSERT_OP_AT(t, "c1", "2", "grp", "CHILD", "STARTED");
        ASSERT_OP_AT(t, "c1", "2.3", "pause", "WAIT", "PENDING");
        ASSERT_RC(df_test_op_at(t, "c1", "2", &op), DF_OK);
        ck_assert_int_eq(op.child_count, 3);
        ck_assert_str_eq(op.parent_id, "");
        assert_ids(t, "c1");
        ck_assert_int_eq(C.grp_runs, 1);
        ck_assert_int_eq(C.replaying_in_grp[0], 0); /* nothing recorded in it yet */

        df_test_advance(t, 10000); /* the child's wait: grp is re-entered and completes */
        ASSERT_OP_AT(t, "c1", "2", "grp", "CHILD", "SUCCEEDED");
        ASSERT_RC(df_test_op_at(t, "c1", "2", &op), DF_OK);
        ck_assert_uint_eq(op.result.len, 9);
        ck_assert(!memcmp(op.result.data, "inner:Y\0y", 9));
        ASSERT_OP(t, "c1", 3, "later", "WAIT", "PENDING");
        ck_assert_int_eq(C.grp_runs, 2);
        ck_assert_int_eq(C.replaying_in_grp[1], 1); /* it replays its recorded ops */
        ck_assert_int_eq(C.inner_runs, 1);           /* 2.2 was complete: not re-entered */
        ck_assert_int_eq(C.x_runs, 2);               /* a and x, once each */
        ck_assert_int_eq(C.y_runs, 1);

        df_test_advance(t, 5000);
        ASSERT_STATUS(t, "c1", "SUCCEEDED");
        ASSERT_OUTPUT(t, "c1", "inner:Y\0y", 9);
        ck_assert_int_eq(C.grp_runs, 2); /* complete: never entered again */
        ck_assert_int_eq(C.b_runs, 1);
        ck_assert_int_eq(C.handler_runs, 3);
        assert_ids(t, "c1");
        ASSERT_OP(t, "c1", 4, "b", "STEP", "SUCCEEDED");
        df_test_destroy(t);
}
END_TEST

/* A failing child is recorded FAILED as one unit; the parent sees
 * DF_ERR_CHILD_FAILED with the child's message, also on replay, without
 * re-entering it. */
START_TEST(test_child_failure_recorded)
{
        df_test_t *t = et_new();

        C.fail_child = 1;
        ASSERT_RC(df_test_register(t, "wf", wf_child, NULL), DF_OK);
        ASSERT_RC(df_test_start(t, "wf", "c2", NULL, 0), DF_OK);
        ASSERT_STATUS(t, "c2", "FAILED");
        ASSERT_RC(C.child_rc, DF_ERR_CHILD_FAILED);
        ck_assert_str_eq(C.child_err, "Boom: inner step broke");
        ck_assert_str_eq(df_test_error(t, "c2"), "Boom: inner step broke");
        ASSERT_OP_AT(t, "c2", "2", "grp", "CHILD", "FAILED");
        ASSERT_OP_AT(t, "c2", "2.2", "inner", "CHILD", "FAILED");
        ASSERT_OP_AT(t, "c2", "2.2.1", "y", "STEP", "FAILED");
        ck_assert_int_eq(C.inner_runs, 1);
        df_test_destroy(t);
}
END_TEST

/* grp with a step whose name the code changes while grp is suspended. */
static int G_rename;
static df_err_t fn_grp2(df_ctx_t *ctx, void *opaque)
{
        df_err_t rc;
        (void)opaque;
        if ((rc = df_step(ctx, G_rename ? "x2" : "x", body_x, NULL, NULL, NULL)) != DF_OK)
                return rc;
        return df_wait(ctx, "pause", 1000);
}

static df_err_t wf_child2(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        (void)input;
        (void)opaque;
        return df_run_in_child_context(ctx, "grp", fn_grp2, NULL, NULL);
}

START_TEST(test_child_nondeterminism_nested_id)
{
        df_test_t *t = et_new();
        df_test_op_t op;

        G_rename = 0;
        ASSERT_RC(df_test_register(t, "wf", wf_child2, NULL), DF_OK);
        ASSERT_RC(df_test_start(t, "wf", "c5", NULL, 0), DF_OK);
        ASSERT_STATUS(t, "c5", "SUSPENDED");
        G_rename = 1;
        df_test_advance(t, 1000);
        ASSERT_STATUS(t, "c5", "NONDETERMINISM");
        ck_assert_str_eq(df_test_error(t, "c5"),
                         "non-determinism at operation 1.1: history has STEP \"x\", code calls STEP \"x2\"");
        ASSERT_RC(df_test_op_at(t, "c5", "1.1", &op), DF_OK);
        ck_assert_str_eq(op.name, "x");
        ck_assert_int_eq(C.x_runs, 1);
        /* the fix deployed, resume: it goes on */
        G_rename = 0;
        ASSERT_RC(df_test_resume(t, "c5"), DF_OK);
        ASSERT_STATUS(t, "c5", "SUCCEEDED");
        ck_assert_int_eq(C.x_runs, 1);
        df_test_destroy(t);
}
END_TEST

/* A child context that completes with fewer operations than it recorded
 * is a non-determinism error too. */
static int G_short;
static df_err_t fn_short(df_ctx_t *ctx, void *opaque)
{
        df_err_t rc;
        (void)opaque;
        if ((rc = df_step(ctx, "x", body_x, NULL, NULL, NULL)) != DF_OK)
                return rc;
        if (G_short)
                return DF_OK;
        return df_wait(ctx, "pause", 1000);
}

static df_err_t wf_short(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        (void)input;
        (void)opaque;
        return df_run_in_child_context(ctx, "grp", fn_short, NULL, NULL);
}

START_TEST(test_child_completes_short)
{
        df_test_t *t = et_new();
        G_short = 0;
        ASSERT_RC(df_test_register(t, "wf", wf_short, NULL), DF_OK);
        ASSERT_RC(df_test_start(t, "wf", "c6", NULL, 0), DF_OK);
        G_short = 1;
        df_test_advance(t, 1000);
        ASSERT_STATUS(t, "c6", "NONDETERMINISM");
        ck_assert_str_eq(df_test_error(t, "c6"), "non-determinism in child context 1 \"grp\": history has 2 "
                                                 "operations in it, the code completed after 1");
        df_test_destroy(t);
}
END_TEST

/* A crash at each delivery: the same history as without, each step body
 * recorded once. */
START_TEST(test_child_crash_every_delivery)
{
        char *want = NULL;
        int k;
        for (k = 0; k <= 3; k++) {
                df_test_t *t = et_new();
                char *got;
                setup();
                ASSERT_RC(df_test_register(t, "wf", wf_child, NULL), DF_OK);
                if (k)
                        df_test_crash_next(t, k);
                ASSERT_RC(df_test_start(t, "wf", "c7", NULL, 0), DF_OK);
                df_test_advance(t, 10000);
                df_test_advance(t, 5000);
                df_test_advance(t, 0);
                ASSERT_STATUS(t, "c7", "SUCCEEDED");
                ASSERT_OUTPUT(t, "c7", "inner:Y\0y", 9);
                got = et_history_text(t, "c7");
                if (!want)
                        want = got;
                else {
                        ck_assert_str_eq(got, want);
                        free(got);
                }
                ck_assert_int_eq(df_test_crashes(t), k ? 1 : 0);
                df_test_destroy(t);
        }
        free(want);
}
END_TEST

Suite *suite_child(void)
{
        Suite *s = suite_create("child");
        TCase *tc = tcase_create("child");

        tcase_add_checked_fixture(tc, setup, NULL);
        tcase_add_test(tc, test_child_ids_and_replay);
        tcase_add_test(tc, test_child_failure_recorded);
        tcase_add_test(tc, test_child_nondeterminism_nested_id);
        tcase_add_test(tc, test_child_completes_short);
        tcase_add_test(tc, test_child_crash_every_delivery);
        suite_add_tcase(s, tc);
        return s;
}
