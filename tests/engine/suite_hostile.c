/*
 * suite_hostile.c -- text a workflow hands over that cannot be encoded as
 * it is (invalid UTF-8, over-long, control characters in names) is
 * recorded as safely as its bytes allow, or rejected with a message naming
 * the rule; the execution continues or fails visibly, never vanishes
 * (issue 9, item 1).  Before the fix each of these made the delivery fail
 * to encode (`invalid UTF-8 in string field ...`, `... over the limit`), so
 * df_test_start returned an internal error and the execution was never
 * recorded.
 */
#include <stdlib.h>
#include <string.h>

#include "engine_test.h"

#define REPL "\xEF\xBF\xBD" /* U+FFFD */

static struct {
        const char *step_type, *step_msg; /* df_step_set_error */
        const char *fail_msg;             /* df_ctx_fail, NULL = none */
        const char *step_name;            /* name of the step */
        int64_t wait_ms;                  /* a wait before the step when > -2 */
        df_err_t handler_rc;
        char last_error[256];
} H;

static void h_reset(void)
{
        memset(&H, 0, sizeof(H));
        H.step_name = "s";
        H.wait_ms = -2;
}

static df_err_t body_fail(df_step_t *step, void *opaque)
{
        (void)opaque;
        df_step_set_error(step, H.step_type, H.step_msg);
        return DF_ERR_STEP_FAILED;
}

static df_err_t wf_hostile(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        df_step_opts_t once = {.max_attempts = 1};
        df_err_t rc;
        (void)input;
        (void)opaque;
        if (H.wait_ms > -2 && (rc = df_wait(ctx, "w", H.wait_ms)) != DF_OK) {
                H.handler_rc = rc;
                snprintf(H.last_error, sizeof(H.last_error), "%s", df_ctx_last_error(ctx));
                return rc;
        }
        rc = df_step(ctx, H.step_name, body_fail, NULL, &once, NULL);
        H.handler_rc = rc;
        snprintf(H.last_error, sizeof(H.last_error), "%s", df_ctx_last_error(ctx));
        if (H.fail_msg)
                df_ctx_fail(ctx, H.fail_msg);
        return rc;
}

static df_test_t *runner(void)
{
        df_test_t *t = et_new();
        h_reset();
        ASSERT_RC(df_test_register(t, "wf", wf_hostile, NULL), DF_OK);
        return t;
}

/* C3 28 is not UTF-8: replaced by U+FFFD, the rest kept byte for byte. */
START_TEST(test_step_error_invalid_utf8_recorded)
{
        df_test_t *t = runner();
        df_test_op_t op;

        H.step_type = "Bad\xC3\x28Type";
        H.step_msg = "caf\xC3\x28 \xff end";
        ASSERT_RC(df_test_start(t, "wf", "u1", NULL, 0), DF_OK);
        ASSERT_STATUS(t, "u1", "FAILED");
        ck_assert_str_eq(df_test_error(t, "u1"), "Bad" REPL "(Type: caf" REPL "( " REPL " end");
        ASSERT_RC(df_test_op(t, "u1", 1, &op), DF_OK);
        ck_assert_str_eq(op.status, "FAILED");
        ck_assert_str_eq(op.error, "Bad" REPL "(Type: caf" REPL "( " REPL " end");
        df_test_destroy(t);
}
END_TEST

/* A failure text over the record limit is cut with a marker naming the size. */
START_TEST(test_error_text_over_limit_cut_with_marker)
{
        df_test_t *t = runner();
        size_t n = 1200003;
        char *big = malloc(n + 1);
        const char *err;

        ck_assert_ptr_nonnull(big);
        memset(big, 'x', n);
        big[n] = '\0';
        H.step_type = "T";
        H.step_msg = big;
        ASSERT_RC(df_test_start(t, "wf", "big", NULL, 0), DF_OK);
        ASSERT_STATUS(t, "big", "FAILED");
        err = df_test_error(t, "big");
        ck_assert_ptr_nonnull(err);
        ck_assert_uint_le(strlen(err), 32768 + 64);
        ck_assert_msg(strstr(err, " of 1200003 bytes cut]") != NULL, "no cut marker in the recorded error");
        ck_assert(!strncmp(err, "T: xxxx", 7));
        free(big);
        df_test_destroy(t);
}
END_TEST

/* df_ctx_fail with invalid UTF-8 and a huge text: recorded, sanitised. */
START_TEST(test_ctx_fail_invalid_utf8)
{
        df_test_t *t = runner();

        H.step_type = "T";
        H.step_msg = "m";
        H.fail_msg = "order \xC3\x28 failed\x80";
        ASSERT_RC(df_test_start(t, "wf", "f1", NULL, 0), DF_OK);
        ASSERT_STATUS(t, "f1", "FAILED");
        ck_assert_str_eq(df_test_error(t, "f1"), "order " REPL "( failed" REPL);
        df_test_destroy(t);
}
END_TEST

/* A step name that is not UTF-8 is refused by df_step with the rule; the
 * handler that returns it fails the execution with that message. */
START_TEST(test_step_name_invalid_utf8_rejected)
{
        df_test_t *t = runner();

        H.step_name = "ab\xC3\x28";
        ASSERT_RC(df_test_start(t, "wf", "n1", NULL, 0), DF_OK);
        ASSERT_RC(H.handler_rc, DF_ERR_INVALID_ARG);
        ck_assert_str_eq(H.last_error, "step name: invalid UTF-8 at byte 2 (a name is 1..256 bytes of UTF-8 "
                                       "without control characters)");
        ASSERT_STATUS(t, "n1", "FAILED");
        ck_assert_str_eq(df_test_error(t, "n1"), H.last_error);
        ck_assert_int_eq(df_test_op_count(t, "n1"), 0);
        df_test_destroy(t);
}
END_TEST

START_TEST(test_step_name_control_and_length_rejected)
{
        df_test_t *t = runner();
        char longname[300];

        H.step_name = "a\x1b[31mred";
        ASSERT_RC(df_test_start(t, "wf", "c1", NULL, 0), DF_OK);
        ck_assert_str_eq(H.last_error, "step name: control character 0x1b at byte 1 (a name is 1..256 bytes of "
                                       "UTF-8 without control characters)");
        ASSERT_STATUS(t, "c1", "FAILED");

        memset(longname, 'n', 257);
        longname[257] = '\0';
        H.step_name = longname;
        ASSERT_RC(df_test_start(t, "wf", "c2", NULL, 0), DF_OK);
        ck_assert_str_eq(H.last_error, "step name is 257 bytes: a name is 1..256 bytes of UTF-8 without control "
                                       "characters");
        H.step_name = "";
        ASSERT_RC(df_test_start(t, "wf", "c3", NULL, 0), DF_OK);
        ck_assert_str_eq(H.last_error, "step name is 0 bytes: a name is 1..256 bytes of UTF-8 without control "
                                       "characters");
        df_test_destroy(t);
}
END_TEST

/* df_wait's bounds are named in the error, not just "invalid argument". */
START_TEST(test_wait_bounds_message)
{
        df_test_t *t = runner();

        H.wait_ms = -1;
        ASSERT_RC(df_test_start(t, "wf", "w1", NULL, 0), DF_OK);
        ASSERT_RC(H.handler_rc, DF_ERR_INVALID_ARG);
        ck_assert_str_eq(H.last_error, "wait \"w\": duration_ms -1 is outside 0..31622400000 (366 days)");
        ASSERT_STATUS(t, "w1", "FAILED");
        ck_assert_str_eq(df_test_error(t, "w1"), H.last_error);
        df_test_destroy(t);
}
END_TEST

Suite *suite_hostile(void)
{
        Suite *s = suite_create("hostile");
        TCase *tc = tcase_create("text");
        tcase_add_test(tc, test_step_error_invalid_utf8_recorded);
        tcase_add_test(tc, test_error_text_over_limit_cut_with_marker);
        tcase_add_test(tc, test_ctx_fail_invalid_utf8);
        tcase_add_test(tc, test_step_name_invalid_utf8_rejected);
        tcase_add_test(tc, test_step_name_control_and_length_rejected);
        tcase_add_test(tc, test_wait_bounds_message);
        suite_add_tcase(s, tc);
        return s;
}
