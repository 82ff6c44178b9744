/*
 * suite_versions.c -- workflow versions (issue 11, item 7): several
 * versions registered side by side; a new execution runs the newest; an
 * execution keeps its version for life (v1 parked in a 30-day wait while
 * v2 is deployed completes on v1's code); an execution whose version the
 * worker lacks is parked VERSION_MISSING (visible, not failed) and goes on
 * once a worker that has it processes it.
 */
#include <stdio.h>
#include <stdlib.h>

#include "engine_test.h"

#define DAY (24LL * 3600 * 1000)

static struct {
        int v1_runs, v2_runs;
        int seen_version[8];
        int n_seen;
} V;

static void setup(void)
{
        memset(&V, 0, sizeof(V));
}

static df_err_t body(df_step_t *s, void *opaque)
{
        const char *r = opaque;
        return df_step_set_result(s, r, strlen(r));
}

/* v1: step "a", wait 30 days, step "v1-end"; output "v1" */
static df_err_t wf_v1(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        df_err_t rc;
        (void)input;
        (void)opaque;
        V.v1_runs++;
        if (V.n_seen < 8)
                V.seen_version[V.n_seen++] = df_ctx_version(ctx);
        if ((rc = df_step(ctx, "a", body, "a", NULL, NULL)) != DF_OK)
                return rc;
        if ((rc = df_wait(ctx, "grace", 30 * DAY)) != DF_OK)
                return rc;
        if ((rc = df_step(ctx, "v1-end", body, "end", NULL, NULL)) != DF_OK)
                return rc;
        return df_ctx_set_output(ctx, "v1", 2);
}

/* v2: different code (a v1 history would not replay on it): step "b", a
 * wait of 1 day; output "v2" */
static df_err_t wf_v2(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        df_err_t rc;
        (void)input;
        (void)opaque;
        V.v2_runs++;
        if (V.n_seen < 8)
                V.seen_version[V.n_seen++] = df_ctx_version(ctx);
        if ((rc = df_step(ctx, "b", body, "b", NULL, NULL)) != DF_OK)
                return rc;
        if ((rc = df_wait(ctx, "short", DAY)) != DF_OK)
                return rc;
        return df_ctx_set_output(ctx, "v2", 2);
}

/* v1 parked in a 30-day wait while v2 is deployed beside it: v1 completes
 * on v1's code; new starts run v2. */
START_TEST(test_versions_side_by_side)
{
        df_test_t *t = et_new();

        ASSERT_RC(df_test_register_version(t, "order", 1, wf_v1, NULL), DF_OK);
        ASSERT_RC(df_test_start(t, "order", "e1", NULL, 0), DF_OK);
        ASSERT_STATUS(t, "e1", "SUSPENDED");
        ck_assert_int_eq(df_test_version(t, "e1"), 1);
        /* deploy v2 (the worker now has both) */
        ASSERT_RC(df_test_register_version(t, "order", 2, wf_v2, NULL), DF_OK);
        ASSERT_RC(df_test_start(t, "order", "e2", NULL, 0), DF_OK);
        ck_assert_int_eq(df_test_version(t, "e2"), 2);
        ASSERT_OP(t, "e2", 1, "b", "STEP", "SUCCEEDED");
        df_test_advance(t, DAY);
        ASSERT_STATUS(t, "e2", "SUCCEEDED");
        ASSERT_OUTPUT(t, "e2", "v2", 2);
        df_test_advance(t, 29 * DAY);
        ASSERT_STATUS(t, "e1", "SUCCEEDED");
        ASSERT_OUTPUT(t, "e1", "v1", 2);
        ck_assert_int_eq(df_test_version(t, "e1"), 1);
        ASSERT_OP(t, "e1", 3, "v1-end", "STEP", "SUCCEEDED");
        ck_assert_int_eq(V.v1_runs, 2);
        ck_assert_int_eq(V.v2_runs, 2);
        ck_assert_int_eq(V.seen_version[0], 1);
        ck_assert_int_eq(V.seen_version[1], 2);
        df_test_destroy(t);
}
END_TEST

/* The newest is the highest version, whatever the order of registration;
 * a (name, version) twice and version 0 are refused. */
START_TEST(test_versions_newest_and_duplicates)
{
        df_test_t *t = et_new();
        ASSERT_RC(df_test_register_version(t, "order", 2, wf_v2, NULL), DF_OK);
        ASSERT_RC(df_test_register_version(t, "order", 1, wf_v1, NULL), DF_OK);
        ASSERT_RC(df_test_register_version(t, "order", 2, wf_v1, NULL), DF_ERR_INVALID_ARG);
        ASSERT_RC(df_test_register(t, "order", wf_v1, NULL), DF_ERR_INVALID_ARG); /* = version 1 */
        ASSERT_RC(df_test_register_version(t, "order", 0, wf_v1, NULL), DF_ERR_INVALID_ARG);
        ASSERT_RC(df_test_start(t, "order", "e3", NULL, 0), DF_OK);
        ck_assert_int_eq(df_test_version(t, "e3"), 2);
        ck_assert_int_eq(V.v2_runs, 1);
        ck_assert_int_eq(V.v1_runs, 0);
        df_test_destroy(t);
}
END_TEST

/* A worker without v1 processes v1's timer: VERSION_MISSING, visible, not
 * failed, its events recorded; a worker with v1 later goes on with it (the
 * look-again timer, 10 s then 20 s), on v1's code. */
START_TEST(test_versions_missing_parks_and_resumes)
{
        df_test_t *t = et_new();
        const char *err;

        ASSERT_RC(df_test_register_version(t, "order", 1, wf_v1, NULL), DF_OK);
        ASSERT_RC(df_test_start(t, "order", "e4", NULL, 0), DF_OK);
        /* a deployment with v2 only */
        ASSERT_RC(df_test_register_version(t, "order", 2, wf_v2, NULL), DF_OK);
        ASSERT_RC(df_test_unregister_version(t, "order", 1), DF_OK);
        df_test_advance(t, 30 * DAY);
        ASSERT_STATUS(t, "e4", "VERSION_MISSING");
        err = df_test_error(t, "e4");
        ck_assert_str_eq(err, "version 1 of workflow \"order\" is not registered on this worker (it has 2); parked "
                              "until a worker that has it processes the execution");
        ASSERT_OP(t, "e4", 2, "grace", "WAIT", "SUCCEEDED"); /* the timer's event was recorded */
        ck_assert_int_eq(V.v1_runs, 1);
        ck_assert_int_eq(V.v2_runs, 0); /* never run on another version's code */
        ck_assert_int_eq(df_test_pending_timers(t), 1); /* it looks again in 10 s */
        df_test_advance(t, 10000);
        ASSERT_STATUS(t, "e4", "VERSION_MISSING");
        ck_assert_int_eq(df_test_pending_timers(t), 1); /* then in 20 s */
        /* a worker with v1 again */
        ASSERT_RC(df_test_register_version(t, "order", 1, wf_v1, NULL), DF_OK);
        df_test_advance(t, 19999);
        ASSERT_STATUS(t, "e4", "VERSION_MISSING");
        df_test_advance(t, 1);
        ASSERT_STATUS(t, "e4", "SUCCEEDED");
        ASSERT_OUTPUT(t, "e4", "v1", 2);
        ck_assert_str_eq(df_test_error(t, "e4"), "");
        ck_assert_int_eq(V.v2_runs, 0);
        ck_assert_int_eq(df_test_pending_timers(t), 0);
        df_test_destroy(t);
}
END_TEST

/* A parked execution goes on at once on any event once the version is
 * back (here an operator's resume), and a stale look-again timer is a
 * no-op. */
START_TEST(test_versions_resume_when_back)
{
        df_test_t *t = et_new();
        ASSERT_RC(df_test_register_version(t, "order", 1, wf_v1, NULL), DF_OK);
        ASSERT_RC(df_test_start(t, "order", "e5", NULL, 0), DF_OK);
        ASSERT_RC(df_test_unregister_version(t, "order", 1), DF_OK);
        df_test_advance(t, 30 * DAY);
        ASSERT_STATUS(t, "e5", "VERSION_MISSING");
        ASSERT_RC(df_test_resume(t, "e5"), DF_OK); /* still missing: parked again */
        ASSERT_STATUS(t, "e5", "VERSION_MISSING");
        ASSERT_RC(df_test_register_version(t, "order", 1, wf_v1, NULL), DF_OK);
        ASSERT_RC(df_test_resume(t, "e5"), DF_OK);
        ASSERT_STATUS(t, "e5", "SUCCEEDED");
        ASSERT_OUTPUT(t, "e5", "v1", 2);
        df_test_advance(t, 3600000); /* the look-again timers still pending fire: no-ops */
        ASSERT_STATUS(t, "e5", "SUCCEEDED");
        ck_assert_int_eq(V.v1_runs, 2);
        df_test_destroy(t);
}
END_TEST

/* A workflow no longer registered at all parks too (not failed). */
START_TEST(test_versions_workflow_gone)
{
        df_test_t *t = et_new();
        ASSERT_RC(df_test_register_version(t, "order", 1, wf_v1, NULL), DF_OK);
        ASSERT_RC(df_test_start(t, "order", "e6", NULL, 0), DF_OK);
        ASSERT_RC(df_test_unregister_version(t, "order", 1), DF_OK);
        df_test_advance(t, 30 * DAY);
        ASSERT_STATUS(t, "e6", "VERSION_MISSING");
        ck_assert_str_eq(df_test_error(t, "e6"), "version 1 of workflow \"order\" is not registered on this worker "
                                                 "(it has no version of it); parked until a worker that has it "
                                                 "processes the execution");
        df_test_destroy(t);
}
END_TEST

Suite *suite_versions(void)
{
        Suite *s = suite_create("versions");
        TCase *tc = tcase_create("versions");

        tcase_add_checked_fixture(tc, setup, NULL);
        tcase_add_test(tc, test_versions_side_by_side);
        tcase_add_test(tc, test_versions_newest_and_duplicates);
        tcase_add_test(tc, test_versions_missing_parks_and_resumes);
        tcase_add_test(tc, test_versions_resume_when_back);
        tcase_add_test(tc, test_versions_workflow_gone);
        suite_add_tcase(s, tc);
        return s;
}
