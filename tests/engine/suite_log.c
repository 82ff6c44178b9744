/*
 * suite_log.c -- replay-aware logging (issue 11, item 6): df_log writes
 * nothing while the handler replays recorded operations, and its line
 * carries the execution id, workflow, operation id and attempt (log.c's
 * fields); hostile text is written escaped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "duraflow/runtime.h"
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
        ck_assert_msg(strstr(a, " INFO handler begins execution_id=log-1 workflow=wf trace_id="), "%s", a);
        ck_assert_msg(strstr(a, " INFO inside the step body execution_id=log-1 workflow=wf op_id=1 attempt=1 "
                                "trace_id="),
                      "%s", a);
        ck_assert_msg(strstr(a, " WARN after first: 42 execution_id=log-1 workflow=wf op_id=1 attempt=1 trace_id="),
                      "%s", a);
        ck_assert_int_eq(count(a, "after the wait"), 0);

        b = capture(do_advance, NULL); /* replays "first": its lines are not written again */
        ck_assert_int_eq(count(b, "handler begins"), 0);
        ck_assert_int_eq(count(b, "after first"), 0);
        ck_assert_int_eq(count(b, "inside the step body"), 1); /* only the branch's step ran */
        ck_assert_msg(strstr(b, " INFO after the wait, hostile: \\x1B[31mred\\u{202E} rtl \\xFF end "
                                "execution_id=log-1 workflow=wf op_id=2 trace_id="),
                      "%s", b);
        ck_assert_msg(strstr(b, " INFO branch begins execution_id=log-1 workflow=wf op_id=3.1 trace_id="), "%s", b);
        ck_assert_msg(strstr(b, " INFO inside the step body execution_id=log-1 workflow=wf op_id=3.1.1 attempt=1 "
                                "trace_id="),
                      "%s", b);
        ck_assert_msg(strstr(b, " INFO branch after its step execution_id=log-1 workflow=wf op_id=3.1.1 attempt=1 "
                                "trace_id="),
                      "%s", b);
        ck_assert_ptr_null(strchr(b, '\x1b'));

        c = capture(do_advance, NULL); /* replays everything recorded, then the end */
        ck_assert_int_eq(count(c, "handler begins"), 0);
        ck_assert_int_eq(count(c, "after the wait"), 0);
        ck_assert_int_eq(count(c, "branch"), 0); /* the completed parallel is not re-entered */
        ck_assert_int_eq(count(c, "handler ends"), 1);
        ck_assert_msg(strstr(c, " INFO handler ends execution_id=log-1 workflow=wf op_id=4 trace_id="), "%s", c);
        {
                /* one trace id (32 lowercase hex) on every line of the execution, across its replays */
                const char *texts[3] = {a, b, c}, *p;
                char first[33] = "";
                int i, lines = 0;
                for (i = 0; i < 3; i++)
                        for (p = strstr(texts[i], "trace_id="); p; p = strstr(p + 1, "trace_id=")) {
                                char id[33];
                                ck_assert_int_eq((int)strspn(p + 9, "0123456789abcdef"), 32);
                                memcpy(id, p + 9, 32);
                                id[32] = '\0';
                                if (!first[0])
                                        memcpy(first, id, 33);
                                ck_assert_str_eq(id, first);
                                lines++;
                        }
                ck_assert_int_ge(lines, 8);
        }
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

/* A step body's traceparent (df_step_traceparent): the execution's trace,
 * the attempt's span, the same for the same attempt on every run of its
 * body, another for the next attempt. */
static char G_tp[4][DF_TRACEPARENT_SIZE];
static int G_tp_runs;

static df_err_t tp_body(df_step_t *s, void *opaque)
{
        char small[16];
        int a = df_step_attempt(s);
        (void)opaque;
        ck_assert_int_eq(df_step_traceparent(s, small, sizeof(small)), DF_ERR_INVALID_ARG);
        ck_assert_str_eq(small, "");
        ck_assert_int_eq(df_step_traceparent(NULL, small, sizeof(small)), DF_ERR_INVALID_ARG);
        if (a >= 1 && a <= 3) {
                char now[DF_TRACEPARENT_SIZE];
                ck_assert_int_eq(df_step_traceparent(s, now, sizeof(now)), DF_OK);
                if (G_tp[a][0])
                        ck_assert_str_eq(now, G_tp[a]); /* the same attempt run again */
                memcpy(G_tp[a], now, sizeof(now));
        }
        G_tp_runs++;
        if (a == 1) {
                df_step_set_error(s, "Flaky", "first attempt fails");
                return DF_ERR_STEP_FAILED;
        }
        return df_step_set_result(s, "ok", 2);
}

static df_err_t wf_tp(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        df_step_opts_t o = {.max_attempts = 3, .initial_delay_ms = 1000, .backoff_rate = 1.0};
        (void)input;
        (void)opaque;
        return df_step(ctx, "call", tp_body, NULL, &o, NULL);
}

START_TEST(test_step_traceparent)
{
        char err[256];
        memset(G_tp, 0, sizeof(G_tp));
        G_tp_runs = 0;
        G_t = et_new();
        ASSERT_RC(df_test_register(G_t, "wf", wf_tp, NULL), DF_OK);
        ASSERT_RC(df_test_start(G_t, "wf", "tp-1", NULL, 0), DF_OK);
        df_test_advance(G_t, 1000);
        ASSERT_STATUS(G_t, "tp-1", "SUCCEEDED");
        ck_assert_int_eq(G_tp_runs, 2);
        ck_assert_int_eq(df_traceparent_check(G_tp[1], err, sizeof(err)), DF_OK);
        ck_assert_int_eq(df_traceparent_check(G_tp[2], err, sizeof(err)), DF_OK);
        ck_assert_uint_eq(strlen(G_tp[1]), DF_TRACEPARENT_SIZE - 1);
        ck_assert(!strncmp(G_tp[1], "00-", 3));
        ck_assert(!strncmp(G_tp[1], G_tp[2], 36));        /* one trace id: the execution's */
        ck_assert(strncmp(G_tp[1] + 36, G_tp[2] + 36, 16)); /* two attempts, two spans */
        ck_assert_str_eq(G_tp[1] + 52, "-01");             /* sampled: the worker created it */
        df_test_destroy(G_t);
}
END_TEST

Suite *suite_log(void)
{
        Suite *s = suite_create("log");
        TCase *tc = tcase_create("log");

        tcase_add_test(tc, test_log_once_with_fields);
        tcase_add_test(tc, test_log_level);
        tcase_add_test(tc, test_step_traceparent);
        suite_add_tcase(s, tc);
        return s;
}
