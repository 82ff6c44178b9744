/*
 * suite_parallel.c -- parallel and map (issue 11, item 2): each branch or
 * item a child context ("<id>.<index + 1>"), the completion configs (all
 * successful by default, tolerated failures by count and percentage,
 * min_successful reached early with the others abandoned and recording
 * nothing afterwards), max_concurrency, the item namer, a branch awaiting
 * a callback completed before / during / after the others (same batch),
 * and branch bodies running concurrently on the pool with a recorded
 * history that does not depend on it.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "engine_test.h"

/* ---- shared counters (bodies run on pool threads: atomics) ---- */
static struct {
        int body_runs;
        int branch_entries;
        int running, max_running;
        int slow_entered;
        int sleep_ms;
        int fail_mask;      /* branch i fails when bit i is set */
        int wait_mask;      /* branch i waits 1 day after its step */
        int cb_mask;        /* branch i awaits a callback */
        df_batch_opts_t opts;
        int n;
        char out[4096];
        df_err_t rc;
} P;

static void setup(void)
{
        memset(&P, 0, sizeof(P));
}

static void sleep_ms(int ms)
{
        struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts))
                ;
}

/* step body: "r<i>" (i = branch index), sleeping P.sleep_ms; counts how
 * many bodies run at once */
static df_err_t body_branch(df_step_t *s, void *opaque)
{
        int i = (int)(intptr_t)opaque, now, max;
        char r[16];
        __atomic_add_fetch(&P.body_runs, 1, __ATOMIC_SEQ_CST);
        now = __atomic_add_fetch(&P.running, 1, __ATOMIC_SEQ_CST);
        while ((max = __atomic_load_n(&P.max_running, __ATOMIC_SEQ_CST)) < now &&
               !__atomic_compare_exchange_n(&P.max_running, &max, now, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
                ;
        if (P.sleep_ms)
                sleep_ms(P.sleep_ms);
        __atomic_sub_fetch(&P.running, 1, __ATOMIC_SEQ_CST);
        if (P.fail_mask & (1 << i)) {
                df_step_set_error(s, "Nope", "branch refused");
                return DF_ERR_STEP_FAILED;
        }
        snprintf(r, sizeof(r), "r%d", i);
        return df_step_set_result(s, r, strlen(r));
}

/* A branch / item: step "work" (no retry), then per the masks a wait or a
 * callback; its result is the step's result (+ the callback payload). */
static df_err_t branch_fn(df_ctx_t *ctx, int i)
{
        static const df_step_opts_t once = {.max_attempts = 1};
        df_bytes_t r, cb;
        char out[64];
        df_err_t rc;
        size_t n;

        __atomic_add_fetch(&P.branch_entries, 1, __ATOMIC_SEQ_CST);
        if ((rc = df_step(ctx, "work", body_branch, (void *)(intptr_t)i, &once, &r)) != DF_OK)
                return rc;
        n = r.len < 32 ? r.len : 32;
        memcpy(out, r.data, n);
        if (P.wait_mask & (1 << i)) {
                if ((rc = df_wait(ctx, "nap", 86400000)) != DF_OK)
                        return rc;
        }
        if (P.cb_mask & (1 << i)) {
                const char *id;
                if ((rc = df_create_callback(ctx, "approve", NULL, &id)) != DF_OK)
                        return rc;
                if ((rc = df_callback_result(ctx, id, &cb)) != DF_OK)
                        return rc;
                out[n++] = '+';
                memcpy(out + n, cb.data, cb.len < 16 ? cb.len : 16);
                n += cb.len < 16 ? cb.len : 16;
        }
        return df_ctx_set_output(ctx, out, n);
}

static df_err_t br0(df_ctx_t *c, void *o) { (void)o; return branch_fn(c, 0); }
static df_err_t br1(df_ctx_t *c, void *o) { (void)o; return branch_fn(c, 1); }
static df_err_t br2(df_ctx_t *c, void *o) { (void)o; return branch_fn(c, 2); }
static df_err_t br3(df_ctx_t *c, void *o) { (void)o; return branch_fn(c, 3); }
static df_err_t br4(df_ctx_t *c, void *o) { (void)o; return branch_fn(c, 4); }
static df_err_t brn(df_ctx_t *c, void *o) { return branch_fn(c, (int)(intptr_t)o); }

/* parallel "fan" of P.n branches (up to 8 named, more by brn), output = the batch text */
static df_err_t wf_parallel(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        df_branch_t b[32] = {{"zero", br0, NULL}, {"one", br1, NULL}, {NULL, br2, NULL}, {"three", br3, NULL},
                             {"four", br4, NULL}};
        df_batch_t batch;
        char *text;
        df_err_t rc;
        int i;
        (void)input;
        (void)opaque;
        for (i = 5; i < P.n && i < 32; i++)
                b[i] = (df_branch_t){NULL, brn, (void *)(intptr_t)i};
        rc = df_parallel(ctx, "fan", b, P.n, &P.opts, &batch);
        P.rc = rc;
        if (rc != DF_OK)
                return rc;
        text = et_batch_text(&batch);
        et_copy(P.out, sizeof(P.out), text);
        rc = df_ctx_set_output(ctx, text, strlen(text));
        free(text);
        if (rc != DF_OK)
                return rc;
        /* something after the batch: a replay reaches here again */
        return df_wait(ctx, "after", 1000);
}

static df_test_t *start(const char *exec)
{
        df_test_t *t = et_new();
        ASSERT_RC(df_test_register(t, "wf", wf_parallel, NULL), DF_OK);
        ASSERT_RC(df_test_start(t, "wf", exec, NULL, 0), DF_OK);
        return t;
}

/* All succeed: every branch a CHILD "1.<i+1>" with its step "1.<i+1>.1",
 * results in branch order, ALL_COMPLETED; a replay after the batch runs no
 * branch again. */
START_TEST(test_parallel_all_succeed)
{
        df_test_t *t;
        df_test_op_t op;

        P.n = 5;
        t = start("p1");
        ASSERT_RC(P.rc, DF_OK);
        ck_assert_str_eq(P.out, "ALL_COMPLETED 5/5/0/0/0|0:zero:SUCCEEDED:7230:|1:one:SUCCEEDED:7231:|"
                                "2:branch-2:SUCCEEDED:7232:|3:three:SUCCEEDED:7233:|4:four:SUCCEEDED:7234:");
        ASSERT_OP(t, "p1", 1, "fan", "PARALLEL", "SUCCEEDED");
        ASSERT_RC(df_test_op(t, "p1", 1, &op), DF_OK);
        ck_assert_int_eq(op.child_count, 5);
        ASSERT_OP_AT(t, "p1", "1.1", "zero", "CHILD", "SUCCEEDED");
        ASSERT_OP_AT(t, "p1", "1.3", "branch-2", "CHILD", "SUCCEEDED");
        ASSERT_OP_AT(t, "p1", "1.5.1", "work", "STEP", "SUCCEEDED");
        ASSERT_RC(df_test_op_at(t, "p1", "1.5.1", &op), DF_OK);
        ck_assert_str_eq(op.parent_id, "1.5");
        ck_assert_int_eq(P.body_runs, 5);
        ck_assert_int_eq(P.branch_entries, 5);
        df_test_advance(t, 1000);
        ASSERT_STATUS(t, "p1", "SUCCEEDED");
        ck_assert_int_eq(P.branch_entries, 5); /* the completed parallel was not re-entered */
        ck_assert_int_eq(P.body_runs, 5);
        df_test_destroy(t);
}
END_TEST

/* Default config (all successful): the first failure completes the batch,
 * FAILURE_TOLERANCE_EXCEEDED; with max_concurrency 1 the later branches
 * never started. */
START_TEST(test_parallel_default_fails_fast)
{
        df_test_t *t;
        P.n = 5;
        P.fail_mask = 1 << 1;
        P.opts.max_concurrency = 1;
        t = start("p2");
        ck_assert_str_eq(P.out, "FAILURE_TOLERANCE_EXCEEDED 5/1/1/0/3|0:zero:SUCCEEDED:7230:|"
                                "1:one:FAILED::Nope: branch refused|2:branch-2:NOT_STARTED::|3:three:NOT_STARTED::|"
                                "4:four:NOT_STARTED::");
        ck_assert_int_eq(P.body_runs, 2);
        ck_assert_int_eq(df_test_op_at(t, "p2", "1.3", &(df_test_op_t){0}), DF_ERR_NOT_FOUND);
        df_test_destroy(t);
}
END_TEST

/* tolerated_failure_count: 1 tolerated, 1 failure -> ALL_COMPLETED; 2
 * failures -> exceeded (with the failures last, every branch ran). */
START_TEST(test_parallel_tolerated_count)
{
        df_test_t *t;
        P.n = 5;
        P.opts.completion.tolerated_failure_count = 1;
        P.opts.max_concurrency = 1;
        P.fail_mask = 1 << 4;
        t = start("p3");
        ck_assert_msg(!strncmp(P.out, "ALL_COMPLETED 5/4/1/0/0|", 24), "%s", P.out);
        df_test_destroy(t);

        setup();
        P.n = 5;
        P.opts.completion.tolerated_failure_count = 1;
        P.opts.max_concurrency = 1;
        P.fail_mask = (1 << 3) | (1 << 4);
        t = start("p4");
        ck_assert_msg(!strncmp(P.out, "FAILURE_TOLERANCE_EXCEEDED 5/3/2/0/0|", 37), "%s", P.out);
        df_test_destroy(t);

        /* DF_TOLERATE_ALL: every branch runs whatever fails */
        setup();
        P.n = 5;
        P.opts.completion.tolerated_failure_count = DF_TOLERATE_ALL;
        P.fail_mask = 0x1f;
        t = start("p5");
        ck_assert_msg(!strncmp(P.out, "ALL_COMPLETED 5/0/5/0/0|", 24), "%s", P.out);
        df_test_destroy(t);
}
END_TEST

/* tolerated_failure_percentage 40 of 5: 2 failures (40 %) are tolerated,
 * 3 (60 %) are not. */
START_TEST(test_parallel_tolerated_percentage)
{
        df_test_t *t;
        P.n = 5;
        P.opts.completion.tolerated_failure_percentage = 40;
        P.fail_mask = (1 << 0) | (1 << 2);
        t = start("p6");
        ck_assert_msg(!strncmp(P.out, "ALL_COMPLETED 5/3/2/0/0|", 24), "%s", P.out);
        df_test_destroy(t);

        setup();
        P.n = 5;
        P.opts.completion.tolerated_failure_percentage = 40;
        P.opts.max_concurrency = 1;
        P.fail_mask = (1 << 0) | (1 << 1) | (1 << 2);
        t = start("p7");
        ck_assert_str_eq(P.out, "FAILURE_TOLERANCE_EXCEEDED 5/0/3/0/2|0:zero:FAILED::Nope: branch refused|"
                                "1:one:FAILED::Nope: branch refused|2:branch-2:FAILED::Nope: branch refused|"
                                "3:three:NOT_STARTED::|4:four:NOT_STARTED::");
        df_test_destroy(t);
}
END_TEST

/* min_successful 2 of 5 (one at a time, in index order): branch 0 waits a
 * day and branch 1 awaits a callback (both suspend, neither holds up the
 * others), 2 and 3 succeed: MIN_SUCCESSFUL_REACHED; 0 and 1 are abandoned
 * (STARTED) and record nothing afterwards -- the wait's timer and the
 * callback's completion are no-ops --, 4 never started. */
START_TEST(test_parallel_min_successful_abandons)
{
        static const char want[] = "MIN_SUCCESSFUL_REACHED 5/2/0/2/1|0:zero:STARTED::|1:one:STARTED::|"
                                   "2:branch-2:SUCCEEDED:7232:|3:three:SUCCEEDED:7233:|4:four:NOT_STARTED::";
        df_test_t *t;
        df_test_op_t op;
        char cb[CBID_MAX];

        P.n = 5;
        P.opts.completion.min_successful = 2;
        P.opts.max_concurrency = 1;
        P.wait_mask = 1 << 0;
        P.cb_mask = 1 << 1;
        t = start("p8");
        ASSERT_RC(P.rc, DF_OK);
        ck_assert_str_eq(P.out, want);
        ASSERT_OP_AT(t, "p8", "1.1", "zero", "CHILD", "STARTED");
        ASSERT_OP_AT(t, "p8", "1.1.2", "nap", "WAIT", "PENDING");
        ASSERT_OP_AT(t, "p8", "1.2.2", "approve", "CALLBACK", "PENDING");
        ck_assert_int_eq(df_test_op_at(t, "p8", "1.5", &op), DF_ERR_NOT_FOUND);
        ASSERT_STATUS(t, "p8", "SUSPENDED"); /* on "after" */
        ck_assert_int_eq(P.branch_entries, 4);
        et_cb_id(t, "p8", "approve", cb);
        ck_assert_uint_gt(strlen(cb), 33);
        /* the abandoned branch's callback: rejected as finished, nothing recorded */
        ASSERT_RC(df_test_callback(t, cb, DF_CALLBACK_SUCCESS, "late", 4, NULL), DF_ERR_FINISHED);
        ASSERT_OP_AT(t, "p8", "1.2.2", "approve", "CALLBACK", "PENDING");
        ASSERT_RC(df_test_op_at(t, "p8", "1.2.2", &op), DF_OK);
        ck_assert_uint_eq(op.result.len, 0);
        /* its wait fires: a no-op */
        df_test_advance(t, 86400000);
        ASSERT_STATUS(t, "p8", "SUCCEEDED");
        ASSERT_OP_AT(t, "p8", "1.1.2", "nap", "WAIT", "PENDING");
        ASSERT_OP_AT(t, "p8", "1.1", "zero", "CHILD", "STARTED");
        ck_assert_int_eq(P.branch_entries, 4); /* no branch ran again */
        ASSERT_OUTPUT(t, "p8", want, sizeof(want) - 1);
        df_test_destroy(t);
}
END_TEST

/* A branch whose body is still running when min_successful is reached
 * (another branch finished first): its result is dropped, its step and
 * branch stay unfinished, the batch says STARTED for it. */
static df_err_t body_slow(df_step_t *s, void *opaque)
{
        (void)opaque;
        __atomic_store_n(&P.slow_entered, 1, __ATOMIC_SEQ_CST);
        sleep_ms(300);
        return df_step_set_result(s, "slow", 4);
}

static df_err_t body_fast(df_step_t *s, void *opaque)
{
        int i;
        (void)opaque;
        for (i = 0; i < 2000 && !__atomic_load_n(&P.slow_entered, __ATOMIC_SEQ_CST); i++)
                sleep_ms(1);
        return df_step_set_result(s, "fast", 4);
}

static df_err_t br_timed(df_ctx_t *c, const char *name, df_step_fn fn)
{
        df_bytes_t r;
        df_err_t rc = df_step(c, name, fn, NULL, NULL, &r);
        return rc == DF_OK ? df_ctx_set_output(c, r.data, r.len) : rc;
}

static df_err_t br_slow(df_ctx_t *c, void *o)
{
        (void)o;
        return br_timed(c, "slow", body_slow);
}

static df_err_t br_fast(df_ctx_t *c, void *o)
{
        (void)o;
        return br_timed(c, "fast", body_fast);
}

static df_err_t wf_race(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        df_branch_t b[2] = {{"slow", br_slow, NULL}, {"fast", br_fast, NULL}};
        df_batch_opts_t o = {.completion = {.min_successful = 1}};
        df_batch_t batch;
        char *text;
        df_err_t rc;
        (void)input;
        (void)opaque;
        if ((rc = df_parallel(ctx, "race", b, 2, &o, &batch)) != DF_OK)
                return rc;
        text = et_batch_text(&batch);
        rc = df_ctx_set_output(ctx, text, strlen(text));
        free(text);
        return rc;
}

START_TEST(test_parallel_abandoned_body_result_dropped)
{
        df_test_t *t = et_new();
        df_test_op_t op;
        ASSERT_RC(df_test_register(t, "wf", wf_race, NULL), DF_OK);
        ASSERT_RC(df_test_start(t, "wf", "p9", NULL, 0), DF_OK);
        ASSERT_STATUS(t, "p9", "SUCCEEDED");
        {
                static const char want[] = "MIN_SUCCESSFUL_REACHED 2/1/0/1/0|0:slow:STARTED::|1:fast:SUCCEEDED:66617374:";
                ASSERT_OUTPUT(t, "p9", want, sizeof(want) - 1);
        }
        ASSERT_OP_AT(t, "p9", "1.1", "slow", "CHILD", "STARTED");
        ASSERT_RC(df_test_op_at(t, "p9", "1.1.1", &op), DF_OK);
        ck_assert_str_ne(op.status, "SUCCEEDED");
        ck_assert_uint_eq(op.result.len, 0);
        df_test_destroy(t);
}
END_TEST

/* max_concurrency 3 of 8 bodies of 50 ms: never more than 3 at once, and 3
 * do run at once. */
START_TEST(test_parallel_max_concurrency)
{
        df_test_t *t;
        P.n = 8;
        P.sleep_ms = 50;
        P.opts.max_concurrency = 3;
        t = start("p10");
        ck_assert_msg(!strncmp(P.out, "ALL_COMPLETED 8/8/0/0/0|", 24), "%s", P.out);
        ck_assert_int_eq(P.max_running, 3);
        df_test_destroy(t);
}
END_TEST

/* 8 branches x a 200 ms body: with the pool (16 threads) about 200 ms, not
 * 1.6 s; with 1 thread one after another.  The recorded history is the
 * same either way. */
START_TEST(test_parallel_concurrency_and_determinism)
{
        df_test_t *t;
        char *h16, *h1;
        int64_t t0, ms16, ms1;

        P.n = 8;
        P.sleep_ms = 200;
        t = et_new();
        df_test_set_threads(t, 16);
        ASSERT_RC(df_test_register(t, "wf", wf_parallel, NULL), DF_OK);
        t0 = et_mono_ms();
        ASSERT_RC(df_test_start(t, "wf", "p11", NULL, 0), DF_OK);
        ms16 = et_mono_ms() - t0;
        ck_assert_int_eq(P.max_running, 8);
        h16 = et_history_text(t, "p11");
        df_test_destroy(t);

        setup();
        P.n = 8;
        P.sleep_ms = 200;
        t = et_new();
        df_test_set_threads(t, 1);
        ASSERT_RC(df_test_register(t, "wf", wf_parallel, NULL), DF_OK);
        t0 = et_mono_ms();
        ASSERT_RC(df_test_start(t, "wf", "p11", NULL, 0), DF_OK);
        ms1 = et_mono_ms() - t0;
        ck_assert_int_eq(P.max_running, 1);
        h1 = et_history_text(t, "p11");
        df_test_destroy(t);

        printf("parallel of 8 x 200 ms bodies: %lld ms on 16 threads, %lld ms on 1\n", (long long)ms16,
               (long long)ms1);
        ck_assert_msg(ms16 < 700, "8 x 200 ms on 16 threads took %lld ms", (long long)ms16);
        ck_assert_int_ge(ms1, 1600);
        ck_assert_str_eq(h16, h1);
        free(h16);
        free(h1);
}
END_TEST

/* The same workflow recorded 5 times with 16 threads (different thread
 * timing each time): the same history. */
START_TEST(test_parallel_history_independent_of_timing)
{
        char *first = NULL;
        int k;
        for (k = 0; k < 5; k++) {
                df_test_t *t;
                char *h;
                setup();
                P.n = 20;
                P.sleep_ms = (k % 2) ? 1 : 0;
                P.wait_mask = (1 << 3) | (1 << 11);
                P.opts.completion.tolerated_failure_count = DF_TOLERATE_ALL;
                P.fail_mask = 1 << 7;
                t = start("p12");
                df_test_advance(t, 86400000);
                df_test_advance(t, 1000);
                ASSERT_STATUS(t, "p12", "SUCCEEDED");
                h = et_history_text(t, "p12");
                if (!first)
                        first = h;
                else {
                        ck_assert_str_eq(h, first);
                        free(h);
                }
                df_test_destroy(t);
        }
        free(first);
}
END_TEST

/* ---- callback in one branch completed before, during and after the
 * others finish: the same batch ---- */

static df_err_t br_cb(df_ctx_t *ctx, void *o)
{
        const char *id;
        df_bytes_t r;
        df_err_t rc;
        (void)o;
        if ((rc = df_create_callback(ctx, "approve", NULL, &id)) != DF_OK)
                return rc;
        if ((rc = df_callback_result(ctx, id, &r)) != DF_OK)
                return rc;
        return df_ctx_set_output(ctx, r.data, r.len);
}

static df_err_t br_waiter(df_ctx_t *ctx, void *o)
{
        int64_t ms = (int64_t)(intptr_t)o;
        df_err_t rc;
        if ((rc = df_step(ctx, "before", body_branch, (void *)(intptr_t)(ms / 10000), NULL, NULL)) != DF_OK)
                return rc;
        if ((rc = df_wait(ctx, "sleep", ms)) != DF_OK)
                return rc;
        return df_step(ctx, "after", body_branch, (void *)(intptr_t)(ms / 10000), NULL, NULL) == DF_OK
                       ? df_ctx_set_output(ctx, "woke", 4)
                       : DF_ERR_STEP_FAILED;
}

static df_err_t wf_cb_order(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        df_branch_t b[3] = {{"cb", br_cb, NULL}, {"ten", br_waiter, (void *)(intptr_t)10000},
                            {"twenty", br_waiter, (void *)(intptr_t)20000}};
        df_batch_t batch;
        char *text;
        df_err_t rc;
        (void)input;
        (void)opaque;
        if ((rc = df_parallel(ctx, "trio", b, 3, NULL, &batch)) != DF_OK)
                return rc;
        text = et_batch_text(&batch);
        rc = df_ctx_set_output(ctx, text, strlen(text));
        free(text);
        return rc;
}

/* when = 0: callback first, 1: between the two waits, 2: after both */
static char *run_cb_order(int when)
{
        df_test_t *t = et_new();
        char cb[CBID_MAX];
        df_bytes_t out;
        char *s;

        ASSERT_RC(df_test_register(t, "wf", wf_cb_order, NULL), DF_OK);
        ASSERT_RC(df_test_start(t, "wf", "cbo", NULL, 0), DF_OK);
        ASSERT_STATUS(t, "cbo", "SUSPENDED");
        et_cb_id(t, "cbo", "approve", cb);
        if (when == 0)
                ASSERT_RC(df_test_callback(t, cb, DF_CALLBACK_SUCCESS, "yes", 3, NULL), DF_OK);
        df_test_advance(t, 10000);
        ASSERT_OP_AT(t, "cbo", "1.2", "ten", "CHILD", "SUCCEEDED");
        if (when == 1)
                ASSERT_RC(df_test_callback(t, cb, DF_CALLBACK_SUCCESS, "yes", 3, NULL), DF_OK);
        df_test_advance(t, 10000);
        ASSERT_OP_AT(t, "cbo", "1.3", "twenty", "CHILD", "SUCCEEDED");
        if (when == 2) {
                ASSERT_STATUS(t, "cbo", "SUSPENDED"); /* the callback branch holds the batch, nothing else */
                ASSERT_RC(df_test_callback(t, cb, DF_CALLBACK_SUCCESS, "yes", 3, NULL), DF_OK);
        }
        ASSERT_STATUS(t, "cbo", "SUCCEEDED");
        ASSERT_RC(df_test_output(t, "cbo", &out), DF_OK);
        s = malloc(out.len + 1);
        memcpy(s, out.data, out.len);
        s[out.len] = '\0';
        df_test_destroy(t);
        return s;
}

START_TEST(test_parallel_callback_order_same_batch)
{
        char *a = run_cb_order(0), *b = run_cb_order(1), *c = run_cb_order(2);
        ck_assert_str_eq(a, "ALL_COMPLETED 3/3/0/0/0|0:cb:SUCCEEDED:796573:|1:ten:SUCCEEDED:776f6b65:|"
                            "2:twenty:SUCCEEDED:776f6b65:");
        ck_assert_str_eq(b, a);
        ck_assert_str_eq(c, a);
        free(a);
        free(b);
        free(c);
}
END_TEST

/* ---- map ---- */

static df_err_t item_fn(df_ctx_t *ctx, const void *item, int index, void *opaque)
{
        const int *v = item;
        char r[32];
        (void)opaque;
        snprintf(r, sizeof(r), "%d", *v * 2);
        (void)index;
        return df_step(ctx, "double", body_branch, (void *)(intptr_t)(index % 16), NULL, NULL) == DF_OK
                       ? df_ctx_set_output(ctx, r, strlen(r))
                       : DF_ERR_STEP_FAILED;
}

static void namer(const void *item, int index, void *opaque, char *buf, size_t size)
{
        (void)opaque;
        snprintf(buf, size, "line-%d-of-%d", index, *(const int *)item);
}

static int G_items[1000];
static const void *G_ptrs[1000];
static int G_map_n;

static df_err_t wf_map(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        df_batch_opts_t o = {.namer = input && input->len ? namer : NULL};
        df_batch_t batch;
        df_err_t rc;
        int i;
        (void)opaque;
        if ((rc = df_map(ctx, "lines", G_ptrs, G_map_n, item_fn, NULL, &o, &batch)) != DF_OK)
                return rc;
        ck_assert_int_eq(batch.total, G_map_n);
        ck_assert_int_eq(batch.succeeded, G_map_n);
        ck_assert_int_eq(batch.reason, DF_ALL_COMPLETED);
        for (i = 0; i < batch.total; i++) {
                char want[32];
                snprintf(want, sizeof(want), "%d", G_items[i] * 2);
                ck_assert_int_eq(batch.items[i].index, i);
                ck_assert_uint_eq(batch.items[i].result.len, strlen(want));
                ck_assert(!memcmp(batch.items[i].result.data, want, strlen(want)));
        }
        return df_wait(ctx, "after", 1000);
}

/* 1,000 items: each its own child "1.<i+1>" with its step, results in
 * order; a replay over the 2,001 operations is quick (O(1) lookups). */
START_TEST(test_map_1000_items)
{
        df_test_t *t = et_new();
        df_test_op_t op;
        int64_t t0, first_ms, replay_ms;
        int i;

        G_map_n = 1000;
        for (i = 0; i < 1000; i++) {
                G_items[i] = i + 7;
                G_ptrs[i] = &G_items[i];
        }
        ASSERT_RC(df_test_register(t, "wf", wf_map, NULL), DF_OK);
        t0 = et_mono_ms();
        ASSERT_RC(df_test_start(t, "wf", "m1", NULL, 0), DF_OK);
        first_ms = et_mono_ms() - t0;
        ASSERT_STATUS(t, "m1", "SUSPENDED");
        ck_assert_int_eq(df_test_op_count_all(t, "m1"), 1 + 1000 + 1000 + 1);
        ASSERT_OP(t, "m1", 1, "lines", "MAP", "SUCCEEDED");
        ASSERT_OP_AT(t, "m1", "1.1", "lines-0", "CHILD", "SUCCEEDED");
        ASSERT_OP_AT(t, "m1", "1.1000.1", "double", "STEP", "SUCCEEDED");
        ASSERT_RC(df_test_op_at(t, "m1", "1.1000", &op), DF_OK);
        ck_assert_uint_eq(op.result.len, 4);
        ck_assert(!memcmp(op.result.data, "2012", 4));
        ck_assert_int_eq(P.body_runs, 1000);
        t0 = et_mono_ms();
        df_test_advance(t, 1000);
        replay_ms = et_mono_ms() - t0;
        ASSERT_STATUS(t, "m1", "SUCCEEDED");
        ck_assert_int_eq(P.body_runs, 1000);
        printf("map of 1,000 items: first run %lld ms, replay of 2,002 operations %lld ms\n", (long long)first_ms,
               (long long)replay_ms);
        ck_assert_msg(replay_ms < 2000, "replay took %lld ms", (long long)replay_ms);
        df_test_destroy(t);
}
END_TEST

/* The item namer names the children. */
START_TEST(test_map_namer)
{
        df_test_t *t = et_new();
        int i;
        G_map_n = 3;
        for (i = 0; i < 3; i++) {
                G_items[i] = 10 * i;
                G_ptrs[i] = &G_items[i];
        }
        ASSERT_RC(df_test_register(t, "wf", wf_map, NULL), DF_OK);
        ASSERT_RC(df_test_start(t, "wf", "m2", "n", 1), DF_OK);
        ASSERT_OP_AT(t, "m2", "1.1", "line-0-of-0", "CHILD", "SUCCEEDED");
        ASSERT_OP_AT(t, "m2", "1.3", "line-2-of-20", "CHILD", "SUCCEEDED");
        df_test_destroy(t);
}
END_TEST

/* A map of 0 items completes at once. */
static df_err_t wf_empty(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        df_batch_t b;
        df_err_t rc;
        (void)input;
        (void)opaque;
        if ((rc = df_map(ctx, "none", NULL, 0, item_fn, NULL, NULL, &b)) != DF_OK)
                return rc;
        return b.total == 0 && b.reason == DF_ALL_COMPLETED ? DF_OK : DF_ERR_STATE;
}

START_TEST(test_map_empty)
{
        df_test_t *t = et_new();
        ASSERT_RC(df_test_register(t, "wf", wf_empty, NULL), DF_OK);
        ASSERT_RC(df_test_start(t, "wf", "m3", NULL, 0), DF_OK);
        ASSERT_STATUS(t, "m3", "SUCCEEDED");
        ASSERT_OP(t, "m3", 1, "none", "MAP", "SUCCEEDED");
        df_test_destroy(t);
}
END_TEST

/* Nested batches on a pool of 2 threads: 4 branches, each a parallel of 4
 * (more lanes asked for than threads exist): no deadlock, all complete. */
static df_err_t inner_branch(df_ctx_t *c, void *o)
{
        return branch_fn(c, (int)(intptr_t)o);
}

static df_err_t outer_branch(df_ctx_t *ctx, void *o)
{
        df_branch_t b[4];
        df_batch_t batch;
        df_err_t rc;
        int i;
        (void)o;
        for (i = 0; i < 4; i++)
                b[i] = (df_branch_t){NULL, inner_branch, (void *)(intptr_t)i};
        if ((rc = df_parallel(ctx, "inner", b, 4, NULL, &batch)) != DF_OK)
                return rc;
        return batch.succeeded == 4 ? df_ctx_set_output(ctx, "4", 1) : DF_ERR_STATE;
}

static df_err_t wf_nested(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        df_branch_t b[4];
        df_batch_t batch;
        df_err_t rc;
        int i;
        (void)input;
        (void)opaque;
        for (i = 0; i < 4; i++)
                b[i] = (df_branch_t){NULL, outer_branch, NULL};
        if ((rc = df_parallel(ctx, "outer", b, 4, NULL, &batch)) != DF_OK)
                return rc;
        return batch.succeeded == 4 ? DF_OK : DF_ERR_STATE;
}

START_TEST(test_parallel_nested_small_pool)
{
        df_test_t *t = et_new();
        P.sleep_ms = 5;
        df_test_set_threads(t, 2);
        ASSERT_RC(df_test_register(t, "wf", wf_nested, NULL), DF_OK);
        ASSERT_RC(df_test_start(t, "wf", "n1", NULL, 0), DF_OK);
        ASSERT_STATUS(t, "n1", "SUCCEEDED");
        ASSERT_OP_AT(t, "n1", "1.4.1.4.1", "work", "STEP", "SUCCEEDED");
        ck_assert_int_eq(P.body_runs, 16);
        ck_assert_int_le(P.max_running, 2);
        df_test_destroy(t);
}
END_TEST

/* Every operation under op_id (and it) began no later than it changed, and a
 * CHILD / PARALLEL / MAP changed last no earlier than any operation in it:
 * the clock moves on every read, as the wall clock does during a replay. */
static int64_t check_times(df_test_t *t, const char *exec, const char *op_id)
{
        df_test_op_t op;
        int64_t started, updated;
        int i, n;
        char id[64];

        ASSERT_RC(df_test_op_at(t, exec, op_id, &op), DF_OK);
        started = op.started_ms;
        updated = op.updated_ms;
        n = op.child_count;
        ck_assert_msg(started > 0 && started <= updated, "%s %s: started_ms %lld > updated_ms %lld", exec, op_id,
                      (long long)started, (long long)updated);
        for (i = 1; i <= n; i++) {
                int64_t k;
                snprintf(id, sizeof(id), "%s.%d", op_id, i);
                k = check_times(t, exec, id);
                ck_assert_msg(updated >= k, "%s %s: updated_ms %lld before its %s's %lld", exec, op_id,
                              (long long)updated, id, (long long)k);
        }
        return updated;
}

static df_err_t wf_par_times(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        df_branch_t b[3];
        df_batch_t batch;
        df_err_t rc;
        int i;
        (void)input;
        (void)opaque;
        for (i = 0; i < 3; i++)
                b[i] = (df_branch_t){NULL, inner_branch, (void *)(intptr_t)i};
        if ((rc = df_parallel(ctx, "trio", b, 3, NULL, &batch)) != DF_OK)
                return rc;
        return batch.succeeded == 3 ? df_wait(ctx, "after", 1000) : DF_ERR_STATE;
}

/* Map items and parallel branches (CHILD operations) end after they begin
 * and after their own steps: their end was the replay's start time, before
 * the child began (history showed 2.1 CHILD started ...162 updated ...161). */
START_TEST(test_batch_child_times)
{
        df_test_t *t = et_new();
        const char *ex[2] = {"tm", "tp"};
        int i, j;

        G_map_n = 3;
        for (i = 0; i < 3; i++) {
                G_items[i] = i + 1;
                G_ptrs[i] = &G_items[i];
        }
        df_test_set_clock_tick(t, 1);
        ASSERT_RC(df_test_register(t, "wfm", wf_map, NULL), DF_OK);
        ASSERT_RC(df_test_register(t, "wfp", wf_par_times, NULL), DF_OK);
        ASSERT_RC(df_test_start(t, "wfm", "tm", NULL, 0), DF_OK);
        ASSERT_RC(df_test_start(t, "wfp", "tp", NULL, 0), DF_OK);
        ASSERT_STATUS(t, "tm", "SUSPENDED");
        ASSERT_STATUS(t, "tp", "SUSPENDED");
        ASSERT_OP(t, "tm", 1, "lines", "MAP", "SUCCEEDED");
        ASSERT_OP(t, "tp", 1, "trio", "PARALLEL", "SUCCEEDED");
        for (j = 0; j < 2; j++) {
                df_test_op_t op;
                ASSERT_RC(df_test_op_at(t, ex[j], "1", &op), DF_OK);
                ck_assert_int_eq(op.child_count, 3);
                check_times(t, ex[j], "1");
        }
        df_test_advance(t, 1000);
        ASSERT_STATUS(t, "tm", "SUCCEEDED");
        ASSERT_STATUS(t, "tp", "SUCCEEDED");
        for (j = 0; j < 2; j++)
                for (i = 1; i <= 2; i++) {
                        char id[8];
                        snprintf(id, sizeof(id), "%d", i);
                        check_times(t, ex[j], id);
                }
        df_test_destroy(t);
}
END_TEST


/* Bad arguments name the rule. */
static int G_bad;
static df_err_t wf_bad(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        df_branch_t b[1] = {{"bad\nname", br0, NULL}};
        df_batch_opts_t o = {.completion = {.tolerated_failure_percentage = 150}};
        df_batch_t batch;
        df_err_t rc;
        (void)input;
        (void)opaque;
        rc = G_bad ? df_parallel(ctx, "p", b, 1, NULL, &batch) : df_parallel(ctx, "p", b, 1, &o, &batch);
        if (rc == DF_ERR_INVALID_ARG)
                df_ctx_fail(ctx, df_ctx_last_error(ctx));
        return rc;
}

START_TEST(test_parallel_bad_arguments)
{
        df_test_t *t = et_new();
        ASSERT_RC(df_test_register(t, "wf", wf_bad, NULL), DF_OK);
        G_bad = 0;
        ASSERT_RC(df_test_start(t, "wf", "b1", NULL, 0), DF_OK);
        ASSERT_STATUS(t, "b1", "FAILED");
        ck_assert_msg(strstr(df_test_error(t, "b1"), "tolerated_failure_percentage in 0..100") != NULL, "%s",
                      df_test_error(t, "b1"));
        G_bad = 1;
        ASSERT_RC(df_test_start(t, "wf", "b2", NULL, 0), DF_OK);
        ASSERT_STATUS(t, "b2", "FAILED");
        ck_assert_str_eq(df_test_error(t, "b2"), "parallel branch name: control character 0x0a at byte 3 (a name is "
                                                 "1..256 bytes of UTF-8 without control characters)");
        ck_assert_int_eq(df_test_op_count(t, "b2"), 0);
        df_test_destroy(t);
}
END_TEST

Suite *suite_parallel(void)
{
        Suite *s = suite_create("parallel");
        TCase *tc = tcase_create("parallel");

        tcase_add_checked_fixture(tc, setup, NULL);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_parallel_all_succeed);
        tcase_add_test(tc, test_parallel_default_fails_fast);
        tcase_add_test(tc, test_parallel_tolerated_count);
        tcase_add_test(tc, test_parallel_tolerated_percentage);
        tcase_add_test(tc, test_parallel_min_successful_abandons);
        tcase_add_test(tc, test_parallel_abandoned_body_result_dropped);
        tcase_add_test(tc, test_parallel_max_concurrency);
        tcase_add_test(tc, test_parallel_concurrency_and_determinism);
        tcase_add_test(tc, test_parallel_history_independent_of_timing);
        tcase_add_test(tc, test_parallel_callback_order_same_batch);
        tcase_add_test(tc, test_map_1000_items);
        tcase_add_test(tc, test_map_namer);
        tcase_add_test(tc, test_map_empty);
        tcase_add_test(tc, test_parallel_nested_small_pool);
        tcase_add_test(tc, test_batch_child_times);
        tcase_add_test(tc, test_parallel_bad_arguments);
        suite_add_tcase(s, tc);
        return s;
}
