/*
 * suite_batch_crash.c -- a crash at every operation boundary inside a
 * parallel, a map of 1,000 items and an invoke (issue 11): the delivery
 * that crashes before its commit (df_test_crash_next) and the worker that
 * dies inside each step body in turn (df_test_kill_in_step) leave the same
 * recorded outcome as a run without a crash: every operation recorded
 * once, with the same results, the execution ends the same way.
 */
#include <stdio.h>
#include <stdlib.h>

#include "engine_test.h"

static int G_runs; /* step bodies run (atomically: branches run on pool threads) */

static df_err_t body_named(df_step_t *s, void *opaque)
{
        const char *name = opaque;
        __atomic_add_fetch(&G_runs, 1, __ATOMIC_SEQ_CST);
        return df_step_set_result(s, name, strlen(name));
}

static df_err_t two_steps(df_ctx_t *ctx, const char *a, const char *b, int64_t wait_ms)
{
        df_bytes_t r;
        df_err_t rc;
        if ((rc = df_step(ctx, "s1", body_named, (void *)a, NULL, NULL)) != DF_OK)
                return rc;
        if (wait_ms && (rc = df_wait(ctx, "w", wait_ms)) != DF_OK)
                return rc;
        if ((rc = df_step(ctx, "s2", body_named, (void *)b, NULL, &r)) != DF_OK)
                return rc;
        return df_ctx_set_output(ctx, r.data, r.len);
}

static df_err_t b0(df_ctx_t *c, void *o) { (void)o; return two_steps(c, "b0-s1", "b0-s2", 0); }
static df_err_t b1(df_ctx_t *c, void *o) { (void)o; return two_steps(c, "b1-s1", "b1-s2", 1000); }
static df_err_t b2(df_ctx_t *c, void *o) { (void)o; return two_steps(c, "b2-s1", "b2-s2", 2000); }

static df_err_t wf_fan(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        df_branch_t b[3] = {{"b0", b0, NULL}, {"b1", b1, NULL}, {"b2", b2, NULL}};
        df_batch_t batch;
        char *text;
        df_err_t rc;
        (void)input;
        (void)opaque;
        if ((rc = df_parallel(ctx, "fan", b, 3, NULL, &batch)) != DF_OK)
                return rc;
        if ((rc = df_step(ctx, "final", body_named, "final", NULL, NULL)) != DF_OK)
                return rc;
        text = et_batch_text(&batch);
        rc = df_ctx_set_output(ctx, text, strlen(text));
        free(text);
        return rc;
}

/* Drive until the execution ends (retries after a death back off 1 s). */
static void drive(df_test_t *t, const char *exec)
{
        int i;
        for (i = 0; i < 20; i++) {
                const char *st = df_test_status(t, exec);
                if (st && (!strcmp(st, "SUCCEEDED") || !strcmp(st, "FAILED")))
                        return;
                df_test_advance(t, 1000);
        }
}

/* Results and statuses of every operation, without attempts and errors (a
 * death shows as one more attempt of the killed step). */
static char *outcome(df_test_t *t, const char *exec)
{
        char *h = et_history_text(t, exec), *o = malloc(strlen(h) + 1), *line, *save = NULL;
        size_t n = 0;
        ck_assert_ptr_nonnull(o);
        for (line = strtok_r(h, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                /* id:name:type:status:attempt:parent:result:error:child:count -> drop attempt, error */
                char *f[10];
                int k = 0;
                char *p = line;
                f[k++] = p;
                while (k < 10 && (p = strchr(p, ':'))) {
                        *p++ = '\0';
                        f[k++] = p;
                }
                if (k < 10) {
                        n += (size_t)sprintf(o + n, "%s\n", f[0]);
                        continue;
                }
                n += (size_t)sprintf(o + n, "%s:%s:%s:%s:%s:%s:%s\n", f[0], f[1], f[2], f[3], f[5], f[6], f[8]);
        }
        free(h);
        return o;
}

START_TEST(test_parallel_crash_every_boundary)
{
        char *want = NULL;
        int mode, k, runs = 0;

        for (mode = 0; mode < 3; mode++) {
                int kmax = mode == 0 ? 1 : mode == 1 ? 3 : 7; /* deliveries: 3; step bodies: 7 */
                for (k = 1; k <= kmax; k++) {
                        df_test_t *t = et_new();
                        char *got;
                        ASSERT_RC(df_test_register(t, "wf", wf_fan, NULL), DF_OK);
                        if (mode == 1)
                                df_test_crash_next(t, k);
                        else if (mode == 2)
                                df_test_kill_in_step(t, k);
                        ASSERT_RC(df_test_start(t, "wf", "f1", NULL, 0), DF_OK);
                        df_test_advance(t, 1000);
                        df_test_advance(t, 1000);
                        drive(t, "f1");
                        ASSERT_STATUS(t, "f1", "SUCCEEDED");
                        got = outcome(t, "f1");
                        if (!want) {
                                want = got;
                        } else {
                                ck_assert_msg(!strcmp(got, want), "mode %d k %d:\n%s\nwant\n%s", mode, k, got, want);
                                free(got);
                        }
                        ck_assert_int_eq(df_test_crashes(t), mode ? 1 : 0);
                        df_test_destroy(t);
                        runs++;
                }
        }
        ck_assert_int_eq(runs, 11);
        free(want);
}
END_TEST

/* ---- a map of 1,000 items ---- */

#define N_ITEMS 1000
static int G_vals[N_ITEMS];
static const void *G_items[N_ITEMS];

static df_err_t body_reserve(df_step_t *s, void *opaque)
{
        char r[32];
        int n = snprintf(r, sizeof(r), "held-%d", *(const int *)opaque);
        __atomic_add_fetch(&G_runs, 1, __ATOMIC_SEQ_CST);
        return df_step_set_result(s, r, (size_t)n);
}

static df_err_t item(df_ctx_t *ctx, const void *it, int index, void *opaque)
{
        df_bytes_t r;
        df_err_t rc;
        (void)index;
        (void)opaque;
        if ((rc = df_step(ctx, "reserve", body_reserve, (void *)it, NULL, &r)) != DF_OK)
                return rc;
        return df_ctx_set_output(ctx, r.data, r.len);
}

static df_err_t wf_map(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        df_batch_t batch;
        char buf[64];
        df_err_t rc;
        int i;
        (void)input;
        (void)opaque;
        if ((rc = df_map(ctx, "lines", G_items, N_ITEMS, item, NULL, NULL, &batch)) != DF_OK)
                return rc;
        if (batch.succeeded != N_ITEMS || batch.reason != DF_ALL_COMPLETED)
                return DF_ERR_STATE;
        for (i = 0; i < N_ITEMS; i++) {
                int n = snprintf(buf, sizeof(buf), "held-%d", G_vals[i]);
                if (batch.items[i].result.len != (size_t)n || memcmp(batch.items[i].result.data, buf, (size_t)n))
                        return DF_ERR_STATE;
        }
        return df_ctx_set_output(ctx, "all held", 8);
}

/* The worker dies in an item's step body (and the delivery, which runs all
 * 1,000 items, crashes before its commit once): the map ends with the
 * 1,000 results of a run without a crash.  All 1,000 items run in the
 * same delivery, so every body is a boundary; the sweep of all 1,002
 * points takes about 110 s (RelWithDebInfo), so by default the suite
 * takes the first and last 10 items and every 10th in between (118
 * bodies, plus the delivery and a run without a crash: 120 runs);
 * DF_TEST_FULL_SWEEP=1 runs them all. */
START_TEST(test_map_1000_crash_every_boundary)
{
        char *want = NULL;
        int64_t t0 = et_mono_ms();
        int k, i, runs = 0;

        for (i = 0; i < N_ITEMS; i++) {
                G_vals[i] = 5000 + i;
                G_items[i] = &G_vals[i];
        }
        for (k = -1; k <= N_ITEMS; k++) {
                df_test_t *t;
                char *got;
                if (!getenv("DF_TEST_FULL_SWEEP") && k > 10 && k <= N_ITEMS - 10 && k % 10)
                        continue;
                t = et_new();
                ASSERT_RC(df_test_register(t, "wf", wf_map, NULL), DF_OK);
                if (k < 0)
                        df_test_crash_next(t, -k);
                else if (k > 0)
                        df_test_kill_in_step(t, k);
                ASSERT_RC(df_test_start(t, "wf", "m1", NULL, 0), DF_OK);
                drive(t, "m1");
                ASSERT_STATUS(t, "m1", "SUCCEEDED");
                ASSERT_OUTPUT(t, "m1", "all held", 8);
                ck_assert_int_eq(df_test_op_count_all(t, "m1"), 1 + 2 * N_ITEMS);
                got = outcome(t, "m1");
                if (!want) {
                        want = got;
                } else {
                        ck_assert_msg(!strcmp(got, want), "crash point %d: a different outcome", k);
                        free(got);
                }
                ck_assert_int_eq(df_test_crashes(t), k ? 1 : 0);
                df_test_destroy(t);
                runs++;
        }
        printf("map of 1,000 items, %d crash points: %lld ms\n", runs, (long long)(et_mono_ms() - t0));
        free(want);
}
END_TEST

/* ---- invoke ---- */

static df_err_t wf_kid(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        df_err_t rc;
        (void)opaque;
        if ((rc = df_step(ctx, "c1", body_named, "c1", NULL, NULL)) != DF_OK)
                return rc;
        if ((rc = df_wait(ctx, "cw", 500)) != DF_OK)
                return rc;
        if ((rc = df_step(ctx, "c2", body_named, "c2", NULL, NULL)) != DF_OK)
                return rc;
        return df_ctx_set_output(ctx, input->data, input->len);
}

static df_err_t wf_parent(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        df_bytes_t in = {(const uint8_t *)"kid-out", 7}, r;
        df_err_t rc;
        (void)input;
        (void)opaque;
        if ((rc = df_step(ctx, "pre", body_named, "pre", NULL, NULL)) != DF_OK)
                return rc;
        if ((rc = df_invoke(ctx, "call", "kid", "kid-1", &in, &r)) != DF_OK)
                return rc;
        if ((rc = df_step(ctx, "post", body_named, "post", NULL, NULL)) != DF_OK)
                return rc;
        return df_ctx_set_output(ctx, r.data, r.len);
}

START_TEST(test_invoke_crash_every_boundary)
{
        char *want_p = NULL, *want_c = NULL;
        int mode, k;

        for (mode = 0; mode < 3; mode++) {
                int kmax = mode == 0 ? 1 : 4; /* deliveries: parent start, child start, child timer, child done */
                for (k = 1; k <= kmax; k++) {
                        df_test_t *t = et_new();
                        char *gp, *gc;
                        ASSERT_RC(df_test_register(t, "parent", wf_parent, NULL), DF_OK);
                        ASSERT_RC(df_test_register(t, "kid", wf_kid, NULL), DF_OK);
                        if (mode == 1)
                                df_test_crash_next(t, k);
                        else if (mode == 2)
                                df_test_kill_in_step(t, k);
                        ASSERT_RC(df_test_start(t, "parent", "par-1", NULL, 0), DF_OK);
                        df_test_advance(t, 500);
                        drive(t, "kid-1");
                        drive(t, "par-1");
                        ASSERT_STATUS(t, "par-1", "SUCCEEDED");
                        ASSERT_OUTPUT(t, "par-1", "kid-out", 7);
                        ASSERT_STATUS(t, "kid-1", "SUCCEEDED");
                        gp = outcome(t, "par-1");
                        gc = outcome(t, "kid-1");
                        if (!want_p) {
                                want_p = gp;
                                want_c = gc;
                        } else {
                                ck_assert_msg(!strcmp(gp, want_p), "mode %d k %d parent:\n%s", mode, k, gp);
                                ck_assert_msg(!strcmp(gc, want_c), "mode %d k %d child:\n%s", mode, k, gc);
                                free(gp);
                                free(gc);
                        }
                        ck_assert_int_eq(df_test_crashes(t), mode ? 1 : 0);
                        df_test_destroy(t);
                }
        }
        free(want_p);
        free(want_c);
}
END_TEST

Suite *suite_batch_crash(void)
{
        Suite *s = suite_create("batch_crash");
        TCase *tc = tcase_create("batch_crash");

        tcase_set_timeout(tc, 300);
        tcase_add_test(tc, test_parallel_crash_every_boundary);
        tcase_add_test(tc, test_map_1000_crash_every_boundary);
        tcase_add_test(tc, test_invoke_crash_every_boundary);
        suite_add_tcase(s, tc);
        return s;
}
