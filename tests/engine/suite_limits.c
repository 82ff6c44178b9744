/*
 * suite_limits.c -- history limits (issue 11, item 8): a runaway loop fails
 * its own execution with a message naming the limit (operations, bytes),
 * and never anything else.
 */
#include <stdio.h>
#include <stdlib.h>

#include "engine_test.h"

static int G_bytes; /* result size of each step */

static df_err_t body(df_step_t *s, void *opaque)
{
        static char buf[65536];
        (void)opaque;
        memset(buf, 'x', sizeof(buf));
        return df_step_set_result(s, buf, (size_t)G_bytes);
}

/* steps for ever */
static df_err_t wf_runaway(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        char name[32];
        df_err_t rc;
        int i;
        (void)input;
        (void)opaque;
        for (i = 0;; i++) {
                snprintf(name, sizeof(name), "s%d", i);
                if ((rc = df_step(ctx, name, body, NULL, NULL, NULL)) != DF_OK)
                        return rc;
        }
}

static df_err_t wf_small(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        (void)input;
        (void)opaque;
        return df_step(ctx, "one", body, NULL, NULL, NULL);
}

/* The default: 3,000 operations, then the execution fails naming
 * history.max.operations; another execution is unaffected. */
START_TEST(test_limit_operations_default)
{
        df_test_t *t = et_new();
        G_bytes = 10;
        ASSERT_RC(df_test_register(t, "wf", wf_runaway, NULL), DF_OK);
        ASSERT_RC(df_test_register(t, "small", wf_small, NULL), DF_OK);
        ASSERT_RC(df_test_start(t, "wf", "r1", NULL, 0), DF_OK);
        ASSERT_STATUS(t, "r1", "FAILED");
        ck_assert_str_eq(df_test_error(t, "r1"), "history limit: the execution has recorded 3000 operations, the most "
                                                 "history.max.operations allows (3000); operation 3001 \"s3000\" was "
                                                 "not recorded");
        ck_assert_int_eq(df_test_op_count_all(t, "r1"), 3000);
        ASSERT_RC(df_test_start(t, "small", "ok1", NULL, 0), DF_OK);
        ASSERT_STATUS(t, "ok1", "SUCCEEDED");
        df_test_destroy(t);
}
END_TEST

/* A configured byte limit: 10 KB of results, 3 KB each: the 4th would go
 * over; it is not recorded and the execution fails naming history.max.bytes. */
START_TEST(test_limit_bytes)
{
        df_test_t *t = et_new();
        df_test_op_t op;
        G_bytes = 3000;
        df_test_set_history_limits(t, 3000, 10240);
        ASSERT_RC(df_test_register(t, "wf", wf_runaway, NULL), DF_OK);
        ASSERT_RC(df_test_start(t, "wf", "r2", "in", 2), DF_OK);
        ASSERT_STATUS(t, "r2", "FAILED");
        ck_assert_str_eq(df_test_error(t, "r2"), "history limit: recording the 3000-byte result of step \"s3\" would "
                                                 "take the execution's history to 12002 bytes, over "
                                                 "history.max.bytes (10240)");
        ASSERT_OP(t, "r2", 3, "s2", "STEP", "SUCCEEDED");
        ASSERT_RC(df_test_op(t, "r2", 4, &op), DF_OK);
        ck_assert_str_ne(op.status, "SUCCEEDED");
        ck_assert_uint_eq(op.result.len, 0);
        df_test_destroy(t);
}
END_TEST

/* A map that would go over the operation limit fails the execution the
 * same way (the items past it are not recorded). */
static df_err_t item(df_ctx_t *ctx, const void *it, int index, void *opaque)
{
        (void)it;
        (void)index;
        (void)opaque;
        return df_step(ctx, "s", body, NULL, NULL, NULL);
}

static df_err_t wf_bigmap(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        df_batch_t b;
        (void)input;
        (void)opaque;
        return df_map(ctx, "many", NULL, 100, item, NULL, NULL, &b);
}

START_TEST(test_limit_in_map)
{
        df_test_t *t = et_new();
        const char *err;
        G_bytes = 1;
        df_test_set_history_limits(t, 50, 1 << 20);
        ASSERT_RC(df_test_register(t, "wf", wf_bigmap, NULL), DF_OK);
        ASSERT_RC(df_test_start(t, "wf", "r3", NULL, 0), DF_OK);
        ASSERT_STATUS(t, "r3", "FAILED");
        err = df_test_error(t, "r3");
        ck_assert_msg(!strncmp(err, "history limit: the execution has recorded 50 operations, the most "
                                    "history.max.operations allows (50)", 100), "%s", err);
        ck_assert_int_eq(df_test_op_count_all(t, "r3"), 50);
        df_test_destroy(t);
}
END_TEST

Suite *suite_limits(void)
{
        Suite *s = suite_create("limits");
        TCase *tc = tcase_create("limits");

        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_limit_operations_default);
        tcase_add_test(tc, test_limit_bytes);
        tcase_add_test(tc, test_limit_in_map);
        suite_add_tcase(s, tc);
        return s;
}
