/*
 * End-to-end tests of the programming model of issue 11 on a real worker
 * (the real broker in $DF_BROKERS, or embedded mode when it is empty):
 *  - 8 parallel branches whose step spends 1 s in an I/O call finish in
 *    under 2 s (the worker's pool, worker.threads 16);
 *  - 12 executions whose step spends 1 s in an I/O call run side by side
 *    (at most worker.threads at once);
 *  - invoke across partitions: children whose ids hash to other
 *    partitions than their parent's start there and report back;
 *  - stopping a parent stops its running child.
 */
#include <check.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "e2e_common.h"

static int64_t mono_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Kafka's murmur2 partitioner (as librdkafka's murmur2_random, and Java's
 * default), to know which partition an execution id lands on. */
static int32_t kafka_partition(const char *key, int32_t partitions)
{
        const uint32_t m = 0x5bd1e995;
        const int r = 24;
        size_t len = strlen(key), i = 0;
        uint32_t h = 0x9747b28cu ^ (uint32_t)len;
        const unsigned char *d = (const unsigned char *)key;
        while (len - i >= 4) {
                uint32_t k = (uint32_t)d[i] | (uint32_t)d[i + 1] << 8 | (uint32_t)d[i + 2] << 16 |
                             (uint32_t)d[i + 3] << 24;
                k *= m;
                k ^= k >> r;
                k *= m;
                h *= m;
                h ^= k;
                i += 4;
        }
        switch (len - i) {
        case 3:
                h ^= (uint32_t)d[i + 2] << 16;
                /* fall through */
        case 2:
                h ^= (uint32_t)d[i + 1] << 8;
                /* fall through */
        case 1:
                h ^= d[i];
                h *= m;
        }
        h ^= h >> 13;
        h *= m;
        h ^= h >> 15;
        return (int32_t)((h & 0x7fffffff) % (uint32_t)partitions);
}

/* Poll the execution until it has status (or timeout_ms passed); its last
 * description (free with df_exec_info_destroy), or NULL if never found. */
static df_exec_info_t *wait_status(e2e_env_t *env, const char *id, df_exec_status_t status, int timeout_ms)
{
        int64_t end = mono_ms() + timeout_ms;
        char errstr[256];
        df_exec_info_t *x = NULL;
        for (;;) {
                if (df_client_describe(env->client, id, &x, errstr, sizeof(errstr)) != DF_OK)
                        x = NULL;
                if ((x && x->status == status) || mono_ms() >= end)
                        return x;
                df_exec_info_destroy(x);
                x = NULL;
                usleep(20000);
        }
}

static void assert_output(const df_exec_info_t *x, const char *want)
{
        ck_assert_uint_eq(x->output.len, strlen(want));
        ck_assert_msg(!memcmp(x->output.data, want, x->output.len), "output %.*s, want %s", (int)x->output.len,
                      (const char *)x->output.data, want);
}

/* ---- 8 branches x a 1 s I/O call ---- */

/* step bodies inside io_second now, and the most at one time */
static atomic_int G_io_now, G_io_max;

static df_err_t io_second(df_step_t *s, void *opaque)
{
        char r[16];
        int now = atomic_fetch_add(&G_io_now, 1) + 1, max = atomic_load(&G_io_max);
        (void)opaque;
        while (now > max && !atomic_compare_exchange_weak(&G_io_max, &max, now))
                ;
        usleep(1000000); /* an HTTP call that takes 1 s */
        atomic_fetch_sub(&G_io_now, 1);
        snprintf(r, sizeof(r), "io-%d", df_step_attempt(s));
        return df_step_set_result(s, r, strlen(r));
}

static df_err_t branch_io(df_ctx_t *ctx, void *opaque)
{
        df_bytes_t r;
        df_err_t rc;
        (void)opaque;
        if ((rc = df_step(ctx, "call", io_second, NULL, NULL, &r)) != DF_OK)
                return rc;
        return df_ctx_set_output(ctx, r.data, r.len);
}

static df_err_t wf_fan8(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        df_branch_t b[8];
        df_batch_t batch;
        char out[64];
        df_err_t rc;
        int i;
        (void)input;
        (void)opaque;
        for (i = 0; i < 8; i++)
                b[i] = (df_branch_t){NULL, branch_io, NULL};
        if ((rc = df_parallel(ctx, "fan", b, 8, NULL, &batch)) != DF_OK)
                return rc;
        snprintf(out, sizeof(out), "%s %d/%d", df_completion_reason_name(batch.reason), batch.succeeded,
                 batch.total);
        return df_ctx_set_output(ctx, out, strlen(out));
}

/* ---- invoke ---- */

static df_err_t kid(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        char out[128];
        df_err_t rc;
        (void)opaque;
        if ((rc = df_wait(ctx, "moment", 200)) != DF_OK)
                return rc;
        snprintf(out, sizeof(out), "kid(%.*s)", (int)input->len, (const char *)input->data);
        return df_ctx_set_output(ctx, out, strlen(out));
}

static df_err_t kid_long(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        (void)input;
        (void)opaque;
        return df_wait(ctx, "hour", 3600000);
}

static char G_kids[6][64];

static df_err_t invoke_item(df_ctx_t *ctx, const void *item, int index, void *opaque)
{
        const char *id = item;
        df_bytes_t in = {(const uint8_t *)id, strlen(id)}, r;
        df_err_t rc;
        (void)index;
        (void)opaque;
        if ((rc = df_invoke(ctx, "call", "kid", id, &in, &r)) != DF_OK)
                return rc;
        return df_ctx_set_output(ctx, r.data, r.len);
}

static df_err_t wf_parent(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        const void *items[6];
        df_batch_t batch;
        char out[1024];
        size_t n = 0;
        df_err_t rc;
        int i;
        (void)input;
        (void)opaque;
        for (i = 0; i < 6; i++)
                items[i] = G_kids[i];
        if ((rc = df_map(ctx, "kids", items, 6, invoke_item, NULL, NULL, &batch)) != DF_OK)
                return rc;
        for (i = 0; i < batch.total; i++)
                n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%.*s", i ? "," : "", (int)batch.items[i].result.len,
                                      (const char *)batch.items[i].result.data);
        return df_ctx_set_output(ctx, out, n);
}

static df_err_t wf_stopper(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        char id[128];
        (void)opaque;
        snprintf(id, sizeof(id), "%.*s-kid", (int)input->len, (const char *)input->data);
        return df_invoke(ctx, "call", "kid-long", id, NULL, NULL);
}

/* one step spending 1 s in an I/O call */
static df_err_t wf_one_io(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        df_bytes_t r;
        df_err_t rc;
        (void)input;
        (void)opaque;
        if ((rc = df_step(ctx, "call", io_second, NULL, NULL, &r)) != DF_OK)
                return rc;
        return df_ctx_set_output(ctx, r.data, r.len);
}

static void reg(df_worker_t *w)
{
        df_worker_register(w, "one-io", wf_one_io, NULL);
        df_worker_register(w, "fan8", wf_fan8, NULL);
        df_worker_register(w, "kid", kid, NULL);
        df_worker_register(w, "kid-long", kid_long, NULL);
        df_worker_register(w, "parent", wf_parent, NULL);
        df_worker_register(w, "stopper", wf_stopper, NULL);
}

START_TEST(test_parallel_io_concurrency)
{
        e2e_env_t env;
        char errstr[512];
        int64_t t0, ms;
        df_exec_info_t *o;

        ck_assert_msg(e2e_start(&env, "fan8", reg, errstr, sizeof(errstr)) == 0, "start: %s", errstr);
        /* warm up (topics, group, first transaction) before the clock starts */
        ck_assert_int_eq(df_client_start(env.client, "kid", "warm-up", "w", 1, NULL, errstr, sizeof(errstr)), DF_OK);
        o = wait_status(&env, "warm-up", DF_EXEC_SUCCEEDED, 30000);
        ck_assert_ptr_nonnull(o);
        df_exec_info_destroy(o);
        t0 = mono_ms();
        ck_assert_int_eq(df_client_start(env.client, "fan8", "fan-1", NULL, 0, NULL, errstr, sizeof(errstr)), DF_OK);
        o = wait_status(&env, "fan-1", DF_EXEC_SUCCEEDED, 30000);
        ms = mono_ms() - t0;
        ck_assert_ptr_nonnull(o);
        ck_assert_str_eq(df_exec_status_name(o->status), "SUCCEEDED");
        assert_output(o, "ALL_COMPLETED 8/8");
        printf("%s: 8 branches x a 1 s step: %lld ms from start to SUCCEEDED\n", getenv("DF_BROKERS") &&
               *getenv("DF_BROKERS") ? "broker" : "embedded", (long long)ms);
        fflush(stdout);
        /* the behaviour, not a wall-clock bound: all 8 bodies were inside their
         * 1 s call at one time (one after another, the most is 1) */
        ck_assert_int_eq(atomic_load(&G_io_max), 8);
        df_exec_info_destroy(o);
        e2e_stop(&env);
}
END_TEST

/* 12 executions, each one step spending 1 s in an I/O call, started at once
 * (batch.max.ms 1500 collects them in one batch): their bodies run side by
 * side on the worker's lanes, at most worker.threads at one time. */
static void run_executions_io(int threads, int want_max)
{
        e2e_env_t env;
        char errstr[512], id[32], threads_kv[64];
        const char *extra[] = {"batch.max.ms=1500", threads_kv, NULL};
        int64_t t0, ms;
        int i;
        df_exec_info_t *o;

        snprintf(threads_kv, sizeof(threads_kv), "worker.threads=%d", threads);
        ck_assert_msg(e2e_start_conf(&env, "execs", reg, extra, errstr, sizeof(errstr)) == 0, "start: %s", errstr);
        ck_assert_int_eq(df_client_start(env.client, "kid", "warm-up", "w", 1, NULL, errstr, sizeof(errstr)), DF_OK);
        o = wait_status(&env, "warm-up", DF_EXEC_SUCCEEDED, 30000);
        ck_assert_ptr_nonnull(o);
        df_exec_info_destroy(o);
        atomic_store(&G_io_max, 0);
        t0 = mono_ms();
        for (i = 0; i < 12; i++) {
                snprintf(id, sizeof(id), "ex-%d", i);
                ck_assert_int_eq(df_client_start_async(env.client, "one-io", id, NULL, 0, errstr, sizeof(errstr)),
                                 DF_OK);
        }
        ck_assert_int_eq(df_client_flush(env.client, 30000), DF_OK);
        for (i = 0; i < 12; i++) {
                snprintf(id, sizeof(id), "ex-%d", i);
                o = wait_status(&env, id, DF_EXEC_SUCCEEDED, 60000);
                ck_assert_ptr_nonnull(o);
                ck_assert_msg(o->status == DF_EXEC_SUCCEEDED, "%s is %s", id, df_exec_status_name(o->status));
                assert_output(o, "io-1");
                df_exec_info_destroy(o);
        }
        {
                /* a step's recorded times are when it began and ended, not the
                 * replay's start (a 1 s step was recorded as taking 0 ms) */
                df_history_t *h = NULL;
                const df_op_info_t *op = NULL;
                ck_assert_int_eq(df_client_history(env.client, "ex-0", &h, errstr, sizeof(errstr)), DF_OK);
                ck_assert_int_eq(df_history_next(h, &op, errstr, sizeof(errstr)), DF_OK);
                ck_assert_ptr_nonnull(op);
                ck_assert_msg(op->updated_ms - op->started_ms >= 990, "the 1 s step recorded %lld ms",
                              (long long)(op->updated_ms - op->started_ms));
                df_history_destroy(h);
        }
        ms = mono_ms() - t0;
        printf("%s: 12 executions x a 1 s step, worker.threads %d: %lld ms, at most %d bodies at once\n",
               getenv("DF_BROKERS") && *getenv("DF_BROKERS") ? "broker" : "embedded", threads, (long long)ms,
               atomic_load(&G_io_max));
        fflush(stdout);
        ck_assert_int_eq(atomic_load(&G_io_max), want_max);
        e2e_stop(&env);
}

START_TEST(test_executions_io_concurrency)
{
        run_executions_io(16, 12); /* all 12 at once */
}
END_TEST

START_TEST(test_executions_io_bounded)
{
        run_executions_io(4, 4); /* never more than the pool */
}
END_TEST

START_TEST(test_invoke_across_partitions)
{
        e2e_env_t env;
        char errstr[512], want[1024];
        int i, other = 0, p_parent;
        size_t n = 0;
        df_exec_info_t *o;

        ck_assert_msg(e2e_start(&env, "invoke", reg, errstr, sizeof(errstr)) == 0, "start: %s", errstr);
        p_parent = kafka_partition("parent-1", 3);
        for (i = 0; i < 6; i++) {
                snprintf(G_kids[i], sizeof(G_kids[i]), "parent-1.kid-%d", i);
                other += kafka_partition(G_kids[i], 3) != p_parent;
                n += (size_t)snprintf(want + n, sizeof(want) - n, "%skid(%s)", i ? "," : "", G_kids[i]);
        }
        ck_assert_int_gt(other, 0); /* some child lives on another partition */
        ck_assert_int_eq(df_client_start(env.client, "parent", "parent-1", NULL, 0, NULL, errstr, sizeof(errstr)),
                         DF_OK);
        o = wait_status(&env, "parent-1", DF_EXEC_SUCCEEDED, 60000);
        ck_assert_ptr_nonnull(o);
        ck_assert_str_eq(df_exec_status_name(o->status), "SUCCEEDED");
        assert_output(o, want);
        df_exec_info_destroy(o);
        for (i = 0; i < 6; i++) {
                o = wait_status(&env, G_kids[i], DF_EXEC_SUCCEEDED, 10000);
                ck_assert_ptr_nonnull(o);
                ck_assert_str_eq(df_exec_status_name(o->status), "SUCCEEDED");
                df_exec_info_destroy(o);
        }
        printf("invoke: 6 children, %d on another partition than their parent's (of 3)\n", other);
        fflush(stdout);
        e2e_stop(&env);
}
END_TEST

START_TEST(test_stop_parent_stops_child)
{
        e2e_env_t env;
        char errstr[512];
        df_exec_info_t *o;

        ck_assert_msg(e2e_start(&env, "stop", reg, errstr, sizeof(errstr)) == 0, "start: %s", errstr);
        ck_assert_int_eq(df_client_start(env.client, "stopper", "st-1", "st-1", 4, NULL, errstr, sizeof(errstr)),
                         DF_OK);
        o = wait_status(&env, "st-1-kid", DF_EXEC_SUSPENDED, 30000);
        ck_assert_ptr_nonnull(o);
        ck_assert_str_eq(df_exec_status_name(o->status), "SUSPENDED");
        df_exec_info_destroy(o);
        ck_assert_int_eq(df_client_stop(env.client, "st-1", "operator", errstr, sizeof(errstr)), DF_OK);
        o = wait_status(&env, "st-1-kid", DF_EXEC_STOPPED, 30000);
        ck_assert_ptr_nonnull(o);
        ck_assert_str_eq(df_exec_status_name(o->status), "STOPPED");
        ck_assert_str_eq(o->error, "parent execution st-1 stopped: operator");
        df_exec_info_destroy(o);
        e2e_stop(&env);
}
END_TEST

int main(void)
{
        Suite *s = suite_create(getenv("DF_BROKERS") && *getenv("DF_BROKERS") ? "model-broker" : "model-embedded");
        TCase *tc = tcase_create("model");
        SRunner *sr;
        int failed;
        tcase_set_timeout(tc, 240);
        tcase_add_test(tc, test_parallel_io_concurrency);
        tcase_add_test(tc, test_executions_io_concurrency);
        tcase_add_test(tc, test_executions_io_bounded);
        tcase_add_test(tc, test_invoke_across_partitions);
        tcase_add_test(tc, test_stop_parent_stops_child);
        suite_add_tcase(s, tc);
        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? 1 : 0;
}
