/*
 * suite_log.c -- replay-aware logging (issue 11, item 6): df_log writes
 * nothing while the handler replays recorded operations, and its line
 * carries the execution id, workflow, operation id and attempt (log.c's
 * fields); hostile text is written escaped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "engine_test.h"

/* Run fn with stderr captured; returns what was written (malloc'd). */
static char *capture(void (*fn)(void *), void *arg)
{
        char path[] = "/tmp/df-log-XXXXXX";
        int fd = mkstemp(path), saved;
        FILE *f;
        long n;
        char *buf;

        ck_assert_int_ge(fd, 0);
        fflush(stderr);
        saved = dup(2);
        ck_assert_int_ge(saved, 0);
        ck_assert_int_ge(dup2(fd, 2), 0);
        fn(arg);
        fflush(stderr);
        dup2(saved, 2);
        close(saved);
        close(fd);
        f = fopen(path, "rb");
        ck_assert_ptr_nonnull(f);
        fseek(f, 0, SEEK_END);
        n = ftell(f);
        fseek(f, 0, SEEK_SET);
        buf = calloc(1, (size_t)n + 1);
        ck_assert_ptr_nonnull(buf);
        ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
        fclose(f);
        unlink(path);
        return buf;
}

static int count(const char *hay, const char *needle)
{
        int n = 0;
        const char *p = hay;
        while ((p = strstr(p, needle))) {
                n++;
                p += strlen(needle);
        }
        return n;
}

static df_err_t body(df_step_t *s, void *opaque)
{
        (void)opaque;
        df_step_log(s, DF_LOG_INFO, "inside the step body");
        return df_step_set_result(s, "ok", 2);
}

static df_err_t branch(df_ctx_t *ctx, void *o)
{
        df_err_t rc;
        (void)o;
        df_log(ctx, DF_LOG_INFO, "branch begins");
        if ((rc = df_step(ctx, "bstep", body, NULL, NULL, NULL)) != DF_OK)
                return rc;
        df_log(ctx, DF_LOG_INFO, "branch after its step");
        return DF_OK;
}

static df_err_t wf_log(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        df_branch_t b[1] = {{"only", branch, NULL}};
        df_batch_t batch;
        df_err_t rc;
        (void)input;
        (void)opaque;
        df_log(ctx, DF_LOG_INFO, "handler begins");
        if ((rc = df_step(ctx, "first", body, NULL, NULL, NULL)) != DF_OK)
                return rc;
        df_log(ctx, DF_LOG_WARN, "after first: %d", 42);
        if ((rc = df_wait(ctx, "nap", 1000)) != DF_OK)
                return rc;
        df_log(ctx, DF_LOG_INFO, "after the wait, hostile: \x1b[31mred\xe2\x80\xae rtl \xff end");
        if ((rc = df_parallel(ctx, "fan", b, 1, NULL, &batch)) != DF_OK)
                return rc;
        if ((rc = df_wait(ctx, "nap2", 1000)) != DF_OK)
                return rc;
        df_log(ctx, DF_LOG_INFO, "handler ends");
        return DF_OK;
}

static df_test_t *G_t;

static void do_start(void *arg)
{
        (void)arg;
        ASSERT_RC(df_test_start(G_t, "wf", "log-1", NULL, 0), DF_OK);
}

static void do_advance(void *arg)
{
        (void)arg;
        df_test_advance(G_t, 1000);
}

START_TEST(test_log_once_with_fields)
{
        char *a, *b, *c;

        df_log_set_level("info");
        G_t = et_new();
        ASSERT_RC(df_test_register(G_t, "wf", wf_log, NULL), DF_OK);
        a = capture(do_start, NULL);
        ck_assert_int_eq(count(a, "handler begins"), 1);
        ck_assert_msg(strstr(a, " INFO handler begins execution_id=log-1 workflow=wf\n"), "%s", a);
        ck_assert_msg(strstr(a, " INFO inside the step body execution_id=log-1 workflow=wf op_id=1 attempt=1\n"),
                      "%s", a);
        ck_assert_msg(strstr(a, " WARN after first: 42 execution_id=log-1 workflow=wf op_id=1 attempt=1\n"), "%s", a);
        ck_assert_int_eq(count(a, "after the wait"), 0);

        b = capture(do_advance, NULL); /* replays "first": its lines are not written again */
        ck_assert_int_eq(count(b, "handler begins"), 0);
        ck_assert_int_eq(count(b, "after first"), 0);
        ck_assert_int_eq(count(b, "inside the step body"), 1); /* only the branch's step ran */
        ck_assert_msg(strstr(b, " INFO after the wait, hostile: \\x1B[31mred\\u{202E} rtl \\xFF end "
                                "execution_id=log-1 workflow=wf op_id=2\n"),
                      "%s", b);
        ck_assert_msg(strstr(b, " INFO branch begins execution_id=log-1 workflow=wf op_id=3.1\n"), "%s", b);
        ck_assert_msg(strstr(b, " INFO inside the step body execution_id=log-1 workflow=wf op_id=3.1.1 attempt=1\n"),
                      "%s", b);
        ck_assert_msg(strstr(b, " INFO branch after its step execution_id=log-1 workflow=wf op_id=3.1.1 attempt=1\n"),
                      "%s", b);
        ck_assert_ptr_null(strchr(b, '\x1b'));

        c = capture(do_advance, NULL); /* replays everything recorded, then the end */
        ck_assert_int_eq(count(c, "handler begins"), 0);
        ck_assert_int_eq(count(c, "after the wait"), 0);
        ck_assert_int_eq(count(c, "branch"), 0); /* the completed parallel is not re-entered */
        ck_assert_int_eq(count(c, "handler ends"), 1);
        ck_assert_msg(strstr(c, " INFO handler ends execution_id=log-1 workflow=wf op_id=4\n"), "%s", c);
        ASSERT_STATUS(G_t, "log-1", "SUCCEEDED");
        free(a);
        free(b);
        free(c);
        df_test_destroy(G_t);
}
END_TEST

/* Below the log level nothing is written. */
static void do_start2(void *arg)
{
        (void)arg;
        ASSERT_RC(df_test_start(G_t, "wf", "log-2", NULL, 0), DF_OK);
}

START_TEST(test_log_level)
{
        char *a;
        df_log_set_level("error");
        G_t = et_new();
        ASSERT_RC(df_test_register(G_t, "wf", wf_log, NULL), DF_OK);
        a = capture(do_start2, NULL);
        ck_assert_int_eq(count(a, "handler begins"), 0);
        ck_assert_int_eq(count(a, "after first"), 0);
        free(a);
        df_test_destroy(G_t);
        df_log_set_level("info");
}
END_TEST

Suite *suite_log(void)
{
        Suite *s = suite_create("log");
        TCase *tc = tcase_create("log");

        tcase_add_test(tc, test_log_once_with_fields);
        tcase_add_test(tc, test_log_level);
        suite_add_tcase(s, tc);
        return s;
}
