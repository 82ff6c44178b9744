/*
 * End-to-end: worker + timer service + client through Kafka (embedded mock
 * cluster, or the real broker in $DF_BROKERS): step -> wait -> callback ->
 * step, callbacks completed by the client, results read back from the
 * changelog.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>


#include <librdkafka/rdkafka.h>

#include "codec.h"
#include "kafka.h"
#include "os.h"
#include "e2e_common.h"

#define N_EXEC 20

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char cb_ids[N_EXEC][512];
static int step_a_runs[N_EXEC];

static int exec_index(const char *id)
{
        return atoi(strrchr(id, '-') + 1);
}

static df_err_t step_a(df_step_t *s, void *opaque)
{
        df_ctx_t *ctx = opaque;
        char buf[128];
        int i = exec_index(df_ctx_execution_id(ctx));
        pthread_mutex_lock(&lock);
        step_a_runs[i]++;
        pthread_mutex_unlock(&lock);
        snprintf(buf, sizeof(buf), "A(%s)", df_step_idempotency_key(s));
        return df_step_set_result(s, buf, strlen(buf));
}

static df_err_t submit(df_step_t *s, const char *callback_id, void *opaque)
{
        df_ctx_t *ctx = opaque;
        int i = exec_index(df_ctx_execution_id(ctx));
        (void)s;
        pthread_mutex_lock(&lock);
        snprintf(cb_ids[i], sizeof(cb_ids[i]), "%s", callback_id);
        pthread_mutex_unlock(&lock);
        return DF_OK;
}

static df_err_t step_b(df_step_t *s, void *opaque)
{
        const df_bytes_t *cb = opaque;
        char buf[256];
        snprintf(buf, sizeof(buf), "B got %.*s", (int)cb->len, (const char *)cb->data);
        return df_step_set_result(s, buf, strlen(buf));
}

static df_err_t flow(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        df_bytes_t a, cb, b;
        df_callback_opts_t copts = {60000, 0};
        df_err_t rc;
        char out[512];
        (void)opaque;
        (void)input;
        if ((rc = df_step(ctx, "a", step_a, ctx, NULL, &a)) != DF_OK)
                return rc;
        if ((rc = df_wait(ctx, "pause", 1000)) != DF_OK)
                return rc;
        if ((rc = df_wait_for_callback(ctx, "approval", submit, ctx, &copts, NULL, &cb)) != DF_OK)
                return rc;
        if ((rc = df_step(ctx, "b", step_b, &cb, NULL, &b)) != DF_OK)
                return rc;
        snprintf(out, sizeof(out), "%.*s|%.*s", (int)a.len, (const char *)a.data, (int)b.len, (const char *)b.data);
        return df_ctx_set_output(ctx, out, strlen(out));
}

static void reg(df_worker_t *w)
{
        df_worker_register(w, "flow", flow, NULL);
}

/* The execution's status and output, and how many operations its history
 * holds (typed read API); -1 when it cannot be read. */
static int read_exec(e2e_env_t *env, const char *id, df_exec_status_t *status, char *output, size_t size,
                     int *n_ops)
{
        char errstr[256];
        const df_exec_info_t *x;
        const df_op_info_t *op;
        df_history_t *h = NULL;
        if (df_client_history(env->client, id, &h, errstr, sizeof(errstr)) != DF_OK)
                return -1;
        x = df_history_execution(h);
        *status = x->status;
        snprintf(output, size, "%.*s", (int)x->output.len, x->output.len ? (const char *)x->output.data : "");
        *n_ops = 0;
        while (df_history_next(h, &op, errstr, sizeof(errstr)) == DF_OK && op)
                ++*n_ops;
        df_history_destroy(h);
        return 0;
}

START_TEST(test_flow_end_to_end)
{
        e2e_env_t env;
        char errstr[512], id[64];
        int i, existed, done = 0, tries;

        ck_assert_msg(e2e_start(&env, "flow", reg, errstr, sizeof(errstr)) == 0, "start: %s", errstr);
        for (i = 0; i < N_EXEC; i++) {
                snprintf(id, sizeof(id), "flow-%d", i);
                {
                        df_err_t src = df_client_start(env.client, "flow", id, "in", 2, &existed, errstr,
                                                       sizeof(errstr));
                        ck_assert_msg(src == DF_OK, "start %s: %s: %s", id, df_err_name(src), errstr);
                }
                ck_assert_int_eq(existed, 0);
        }
        /* idempotent start, and conflict */
        ck_assert_int_eq(df_client_start(env.client, "flow", "flow-0", "in", 2, &existed, errstr, sizeof(errstr)),
                         DF_OK);
        ck_assert_int_eq(existed, 1);
        ck_assert_int_eq(df_client_start(env.client, "flow", "flow-0", "other", 5, &existed, errstr, sizeof(errstr)),
                         DF_ERR_CONFLICT);
        /* complete callbacks as they appear */
        for (tries = 0; tries < 600 && done < N_EXEC; tries++) {
                for (i = 0; i < N_EXEC; i++) {
                        char cb[sizeof(cb_ids[0])];
                        pthread_mutex_lock(&lock);
                        memcpy(cb, cb_ids[i], sizeof(cb));
                        cb_ids[i][0] = '\0';
                        pthread_mutex_unlock(&lock);
                        if (!*cb)
                                continue;
                        {
                                df_err_t crc = df_client_callback(env.client, cb, DF_CALLBACK_SUCCESS, "ok", 2, NULL,
                                                                  1, errstr, sizeof(errstr));
                                if (crc != DF_OK) {
                                        char id2[64];
                                        df_exec_info_t *x = NULL;
                                        snprintf(id2, sizeof(id2), "flow-%d", i);
                                        if (df_client_describe(env.client, id2, &x, errstr, sizeof(errstr)) == DF_OK)
                                                fprintf(stderr, "%s: %s %s\n", id2, df_exec_status_name(x->status),
                                                        x->error);
                                        else
                                                fprintf(stderr, "%s: %s\n", id2, errstr);
                                        df_exec_info_destroy(x);
                                }
                                ck_assert_msg(crc == DF_OK, "callback %s: %s", cb, df_err_name(crc));
                        }
                        /* forged: same routing part, other random part */
                        cb[0] = cb[0] == 'a' ? 'b' : 'a';
                        ck_assert_int_eq(df_client_callback(env.client, cb, DF_CALLBACK_SUCCESS, "x", 1, NULL, 1,
                                                            errstr, sizeof(errstr)),
                                         DF_ERR_UNKNOWN_CALLBACK);
                        done++;
                }
                usleep(100000);
        }
        ck_assert_int_eq(done, N_EXEC);
        /* wait for every execution to succeed */
        for (i = 0; i < N_EXEC; i++) {
                df_exec_status_t st = DF_EXEC_PENDING;
                char output[256] = "";
                int n_ops = 0, ok = 0;
                snprintf(id, sizeof(id), "flow-%d", i);
                for (tries = 0; tries < 100; tries++) {
                        ok = read_exec(&env, id, &st, output, sizeof(output), &n_ops) == 0 && st == DF_EXEC_SUCCEEDED;
                        if (ok)
                                break;
                        usleep(200000);
                }
                ck_assert_msg(ok, "%s did not succeed", id);
                {
                        char want[256];
                        snprintf(want, sizeof(want), "A(%s/1)|B got ok", id);
                        ck_assert_str_eq(output, want);
                        ck_assert_int_eq(n_ops, 5);
                }
        }
        e2e_stop(&env);
}
END_TEST

/* Produce raw bytes to <prefix>.events (hostile input). */
static void produce_raw(e2e_env_t *env, const char *key, const void *val, size_t len)
{
        char errstr[512], topic[128];
        rd_kafka_conf_t *kc = rd_kafka_conf_new();
        rd_kafka_t *rk;
        const char *b = df_conf_get(env->conf, "brokers");
        rd_kafka_conf_set(kc, "bootstrap.servers", b && *b ? b : df_embedded_bootstrap(env->conf), errstr,
                          sizeof(errstr));
        rd_kafka_conf_set(kc, "partitioner", "murmur2_random", errstr, sizeof(errstr));
        rd_kafka_conf_set(kc, "message.max.bytes", "2000000", errstr, sizeof(errstr));
        rk = rd_kafka_new(RD_KAFKA_PRODUCER, kc, errstr, sizeof(errstr));
        ck_assert_msg(rk != NULL, "%s", errstr);
        snprintf(topic, sizeof(topic), "%s.events", env->prefix);
        ck_assert_int_eq(rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)),
                                           RD_KAFKA_V_VALUE((void *)val, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                           RD_KAFKA_V_END),
                         0);
        ck_assert_int_eq(rd_kafka_flush(rk, 30000), 0);
        rd_kafka_destroy(rk);
}

/* Records on a topic of the test's prefix (read_committed, to the end,
 * tombstones included), each handed to each (NULL: counted only). */
static int read_topic(e2e_env_t *env, const char *suffix, void (*each)(const rd_kafka_message_t *, void *),
                      void *opaque)
{
        char errstr[512], topic[128], gid[160];
        rd_kafka_conf_t *kc = rd_kafka_conf_new();
        rd_kafka_t *rk;
        rd_kafka_topic_partition_list_t *tp = rd_kafka_topic_partition_list_new(3);
        const char *b = df_conf_get(env->conf, "brokers");
        int n = 0, eofs = 0, p;
        snprintf(topic, sizeof(topic), "%s.%s", env->prefix, suffix);
        snprintf(gid, sizeof(gid), "%s-%s-reader", env->prefix, suffix);
        rd_kafka_conf_set(kc, "bootstrap.servers", b && *b ? b : df_embedded_bootstrap(env->conf), errstr,
                          sizeof(errstr));
        rd_kafka_conf_set(kc, "group.id", gid, errstr, sizeof(errstr));
        rd_kafka_conf_set(kc, "enable.partition.eof", "true", errstr, sizeof(errstr));
        rd_kafka_conf_set(kc, "isolation.level", "read_committed", errstr, sizeof(errstr));
        rk = rd_kafka_new(RD_KAFKA_CONSUMER, kc, errstr, sizeof(errstr));
        ck_assert_msg(rk != NULL, "%s", errstr);
        for (p = 0; p < 3; p++)
                rd_kafka_topic_partition_list_add(tp, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
        rd_kafka_assign(rk, tp);
        rd_kafka_topic_partition_list_destroy(tp);
        while (eofs < 3) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 10000);
                ck_assert_msg(m != NULL, "%s read timed out", topic);
                if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                        eofs++;
                } else if (!m->err) {
                        if (each)
                                each(m, opaque);
                        n++;
                }
                rd_kafka_message_destroy(m);
        }
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
        return n;
}

static int count_topic(e2e_env_t *env, const char *suffix)
{
        return read_topic(env, suffix, NULL, NULL);
}

/* A DLQ record names the topic it came from, its offset and an error. */
static void check_dlq_rec(const rd_kafka_message_t *m, void *want_topic)
{
        char errstr[512];
        df__dlq_rec_t d;
        memset(&d, 0, sizeof(d));
        ck_assert_int_eq(df__dlq_decode(m->payload, m->len, &d, errstr, sizeof(errstr)), 0);
        ck_assert_str_eq(d.topic, (const char *)want_topic);
        ck_assert(d.offset >= 0);
        ck_assert(strlen(d.error) > 0);
        df__dlq_clear(&d);
}

/* Count DLQ records (read to the end) and check their coordinates. */
static int count_dlq(e2e_env_t *env, const char *want_topic)
{
        return read_topic(env, "dlq", check_dlq_rec, (void *)want_topic);
}


/*
 * Issue 9, item 1, on the worker: hostile text a workflow hands over
 * (invalid UTF-8 C3 28, a 1.2 MB error) in the same batch as ordinary
 * executions.  Before the fix the batch failed to encode, was aborted, and
 * its starts went to the DLQ: none of the 40 executions was recorded.
 * Now the hostile ones FAIL with their text made safe and the others
 * SUCCEED; nothing is dead-lettered.
 */
static df_err_t hostile_body(df_step_t *s, void *opaque)
{
        const df_bytes_t *in = opaque;
        if (in->len == 3 && !memcmp(in->data, "bad", 3)) {
                df_step_set_error(s, "Bad\xC3\x28Type", "caf\xC3\x28 \xff");
                return DF_ERR_STEP_FAILED;
        }
        if (in->len == 3 && !memcmp(in->data, "big", 3)) {
                static char big[1200004];
                memset(big, 'x', sizeof(big) - 1);
                df_step_set_error(s, "Huge", big);
                return DF_ERR_STEP_FAILED;
        }
        return df_step_set_result(s, "ok", 2);
}

static df_err_t hostile_wf(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        df_step_opts_t once = {.max_attempts = 1};
        df_err_t rc;
        (void)opaque;
        if ((rc = df_step(ctx, "s", hostile_body, (void *)input, &once, NULL)) != DF_OK)
                return rc;
        return df_ctx_set_output(ctx, "fine", 4);
}

static void reg_hostile(df_worker_t *w)
{
        df_worker_register(w, "hostile", hostile_wf, NULL);
}

START_TEST(test_hostile_text_in_a_batch)
{
        e2e_env_t env;
        char errstr[512], id[32], events[128];
        int i, tries, done;

        ck_assert_msg(e2e_start(&env, "hostile", reg_hostile, errstr, sizeof(errstr)) == 0, "start: %s", errstr);
        snprintf(events, sizeof(events), "%s.events", env.prefix);
        for (i = 0; i < 40; i++) {
                const char *in = i % 10 == 3 ? "bad" : i % 10 == 7 ? "big" : "ok";
                snprintf(id, sizeof(id), "h-%d", i);
                ck_assert_int_eq(df_client_start_async(env.client, "hostile", id, in, strlen(in), errstr,
                                                       sizeof(errstr)),
                                 DF_OK);
        }
        ck_assert_int_eq(df_client_flush(env.client, 30000), DF_OK);
        for (tries = 0; tries < 300; tries++) {
                for (i = 0, done = 0; i < 40; i++) {
                        df_exec_info_t *x = NULL;
                        snprintf(id, sizeof(id), "h-%d", i);
                        if (df_client_describe(env.client, id, &x, errstr, sizeof(errstr)) == DF_OK) {
                                done += x->status == DF_EXEC_SUCCEEDED || x->status == DF_EXEC_FAILED;
                                df_exec_info_destroy(x);
                        }
                }
                if (done == 40)
                        break;
                usleep(100000);
        }
        ck_assert_int_eq(done, 40);
        for (i = 0; i < 40; i++) {
                df_exec_info_t *x = NULL;
                snprintf(id, sizeof(id), "h-%d", i);
                ck_assert_int_eq(df_client_describe(env.client, id, &x, errstr, sizeof(errstr)), DF_OK);
                if (i % 10 == 3) {
                        ck_assert_int_eq(x->status, DF_EXEC_FAILED);
                        ck_assert_str_eq(x->error, "Bad\xEF\xBF\xBD(Type: caf\xEF\xBF\xBD( \xEF\xBF\xBD");
                } else if (i % 10 == 7) {
                        ck_assert_int_eq(x->status, DF_EXEC_FAILED);
                        ck_assert_msg(strstr(x->error, " of 1200003 bytes cut]") != NULL, "no cut marker");
                        ck_assert_uint_le(strlen(x->error), 32768 + 64);
                } else {
                        ck_assert_int_eq(x->status, DF_EXEC_SUCCEEDED);
                }
                df_exec_info_destroy(x);
        }
        ck_assert_int_eq(count_dlq(&env, events), 0);
        e2e_stop(&env);
}
END_TEST

static void reg_simple(df_worker_t *w);

START_TEST(test_poison_goes_to_dlq)
{
        e2e_env_t env;
        char errstr[512], events[128];
        df_exec_info_t *x = NULL;
        static const unsigned char garbage[] = {0xc3, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 0xff, 0x00};
        int existed, tries;

        ck_assert_msg(e2e_start(&env, "dlq", reg_simple, errstr, sizeof(errstr)) == 0, "start: %s", errstr);
        snprintf(events, sizeof(events), "%s.events", env.prefix);
        /* the same key as the execution that follows: same partition, in front of it */
        produce_raw(&env, "victim", "", 0);
        produce_raw(&env, "victim", "random bytes \xff\xfe", 15);
        produce_raw(&env, "victim", garbage, sizeof(garbage));
        ck_assert_int_eq(df_client_start(env.client, "simple", "victim", "x", 1, &existed, errstr, sizeof(errstr)),
                         DF_OK);
        for (tries = 0; tries < 100; tries++) {
                ck_assert_int_eq(df_client_describe(env.client, "victim", &x, errstr, sizeof(errstr)), DF_OK);
                if (x->status == DF_EXEC_SUCCEEDED)
                        break;
                df_exec_info_destroy(x);
                x = NULL;
                usleep(100000);
        }
        ck_assert_msg(x && x->status == DF_EXEC_SUCCEEDED, "the execution after the poison records did not succeed");
        df_exec_info_destroy(x);
        ck_assert_int_eq(count_dlq(&env, events), 3);
        e2e_stop(&env);
}
END_TEST

static df_err_t simple(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        (void)opaque;
        return df_ctx_set_output(ctx, input->data, input->len);
}

static void reg_simple(df_worker_t *w)
{
        df_worker_register(w, "simple", simple, NULL);
}

static void *run_worker(void *p)
{
        df_worker_run(p);
        return NULL;
}

static int64_t mono_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for id to succeed; its end (updated_ms, UTC ms). */
static int64_t wait_succeeded(e2e_env_t *env, const char *id)
{
        int64_t end;
        char errstr[256];
        df_exec_info_t *x = NULL;
        int tries;
        for (tries = 0; tries < 400; tries++) {
                ck_assert_int_eq(df_client_describe(env->client, id, &x, errstr, sizeof(errstr)), DF_OK);
                if (x->status == DF_EXEC_SUCCEEDED)
                        break;
                df_exec_info_destroy(x);
                x = NULL;
                usleep(50000);
        }
        ck_assert_msg(x && x->status == DF_EXEC_SUCCEEDED, "%s did not succeed in 20 s", id);
        end = x->updated_ms;
        df_exec_info_destroy(x);
        return end;
}

static int64_t wall_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* 1 when describe says the execution is not there, 0 when it is. */
static int gone(e2e_env_t *env, const char *id)
{
        char errstr[256];
        df_exec_info_t *x = NULL;
        df_err_t rc = df_client_describe(env->client, id, &x, errstr, sizeof(errstr));
        df_exec_info_destroy(x);
        ck_assert_msg(rc == DF_OK || rc == DF_ERR_NOT_FOUND, "describe %s: %s", id, errstr);
        return rc == DF_ERR_NOT_FOUND;
}

/*
 * retention.ms on the worker: its sweep of the store's end-time index
 * purges the finished executions of its partitions, with no timer per
 * execution (<prefix>.timers stays empty: 6 records and up to 6 partitions
 * a finishing transaction before, bench_throughput −23 %), also after its
 * store is lost and rebuilt from the changelog (the index from the
 * records' timestamps).  The ids start again as new.
 */
START_TEST(test_retention_sweep_purges_without_timers)
{
        static const char *const conf[] = {"retention.ms=600000", NULL};
        e2e_env_t env;
        char errstr[512], id[32], cmd[600];
        int existed, i, left;
        int64_t t0, dt, prev;

        ck_assert_msg(e2e_start_conf(&env, "retention", reg_simple, conf, errstr, sizeof(errstr)) == 0, "start: %s",
                      errstr);
        for (i = 0; i < 6; i++) {
                snprintf(id, sizeof(id), "r%d", i);
                ck_assert_int_eq(df_client_start(env.client, "simple", id, "x", 1, &existed, errstr, sizeof(errstr)),
                                 DF_OK);
        }
        for (i = 0; i < 6; i++) {
                snprintf(id, sizeof(id), "r%d", i);
                wait_succeeded(&env, id);
        }
        ck_assert_int_eq(count_topic(&env, "timers"), 0);
        /* the worker goes and its store with it; the next one, with
         * retention.ms 4 s, rebuilds it from the changelog and purges them */
        df_worker_stop(env.worker);
        pthread_join(env.worker_thr, NULL);
        df_worker_destroy(env.worker);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'/worker-*", env.state_dir);
        ck_assert_int_eq(system(cmd), 0);
        for (i = 0; i < 6; i++) {
                snprintf(id, sizeof(id), "r%d", i);
                ck_assert_int_eq(gone(&env, id), 0);
        }
        ck_assert_int_eq(df_conf_set(env.conf, "retention.ms", "4000", errstr, sizeof(errstr)), 0);
        env.worker = df_worker_new(env.conf, errstr, sizeof(errstr));
        ck_assert_msg(env.worker != NULL, "worker: %s", errstr);
        reg_simple(env.worker);
        pthread_create(&env.worker_thr, NULL, run_worker, env.worker);
        for (t0 = mono_ms(), left = 6; left && mono_ms() - t0 < 30000;) {
                usleep(100000);
                for (i = 0, left = 0; i < 6; i++) {
                        snprintf(id, sizeof(id), "r%d", i);
                        left += !gone(&env, id);
                }
        }
        ck_assert_msg(left == 0, "%d of 6 executions not purged 30 s after the store's rebuild", left);
        /* one that ends now: kept 4 s, then purged within about a second */
        ck_assert_int_eq(df_client_start(env.client, "simple", "r0", "y", 1, &existed, errstr, sizeof(errstr)), DF_OK);
        ck_assert_int_eq(existed, 0); /* a purged id starts again as new */
        t0 = wait_succeeded(&env, "r0");
        /* the purge came before the describe that says so ended, and after
         * the one before it began */
        for (prev = wall_ms();;) {
                int64_t before = wall_ms();
                if (gone(&env, "r0")) {
                        dt = wall_ms() - t0;
                        break;
                }
                prev = before;
                ck_assert_msg(wall_ms() - t0 < 30000, "r0 not purged 30 s after its end");
                usleep(50000);
        }
        ck_assert_msg(dt >= 3950, "r0 purged by %lld ms after its end, before its retention.ms (4,000)",
                      (long long)dt);
        ck_assert_msg(prev - t0 <= 7000, "r0 still there %lld ms after its end (retention.ms 4,000)",
                      (long long)(prev - t0));
        ck_assert_int_eq(count_topic(&env, "timers"), 0);
        e2e_stop(&env);
}
END_TEST

/* Regression: a batch whose steps together outlast the transaction timeout
 * was aborted by the broker again and again (the demo on a loaded machine
 * stalled with 500 executions in flight).  The worker now commits what it
 * processed within a third of transaction.timeout.ms. */
static df_err_t slow_step(df_step_t *s, void *opaque)
{
        (void)opaque;
        usleep(300000);
        return df_step_set_result(s, "slow", 4);
}

static df_err_t slow(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        df_err_t rc;
        (void)input;
        (void)opaque;
        if ((rc = df_step(ctx, "slow", slow_step, NULL, NULL, NULL)) != DF_OK)
                return rc;
        return df_ctx_set_output(ctx, "done", 4);
}

static void reg_slow(df_worker_t *w)
{
        df_worker_register(w, "slow", slow, NULL);
}

START_TEST(test_slow_batch_commits_within_transaction_timeout)
{
        static const char *const extra[] = {"transaction.timeout.ms=3000", NULL};
        e2e_env_t env;
        char errstr[512], id[64];
        df_exec_list_t *list = NULL;
        int i, tries, done = 0;

        ck_assert_msg(e2e_start_conf(&env, "slow", reg_slow, extra, errstr, sizeof(errstr)) == 0, "start: %s", errstr);
        for (i = 0; i < 24; i++) {
                snprintf(id, sizeof(id), "slow-%d", i);
                ck_assert_int_eq(df_client_start_async(env.client, "slow", id, "", 0, errstr, sizeof(errstr)), DF_OK);
        }
        ck_assert_int_eq(df_client_flush(env.client, 10000), DF_OK);
        /* 24 x 300 ms = 7.2 s of steps, more than the 3 s transaction timeout */
        for (tries = 0; tries < 120 && done < 24; tries++) {
                usleep(500000);
                ck_assert_int_eq(df_client_list(env.client, "slow", DF_EXEC_SUCCEEDED, &list, errstr, sizeof(errstr)),
                                 DF_OK);
                done = (int)list->count;
                df_exec_list_destroy(list);
        }
        ck_assert_int_eq(done, 24);
        e2e_stop(&env);
}
END_TEST

/* A step longer than transaction.timeout.ms: the transaction opens only
 * after the step returned, so it commits, and the body runs exactly once
 * (it used to abort on every try: a step had to fit in the timeout). */
static int long_runs;

static df_err_t long_step(df_step_t *s, void *opaque)
{
        (void)opaque;
        __atomic_add_fetch(&long_runs, 1, __ATOMIC_SEQ_CST);
        usleep(2500000);
        return df_step_set_result(s, "long", 4);
}

static df_err_t long_wf(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        df_err_t rc;
        (void)input;
        (void)opaque;
        if ((rc = df_step(ctx, "long", long_step, NULL, NULL, NULL)) != DF_OK)
                return rc;
        return df_ctx_set_output(ctx, "done", 4);
}

static df_err_t quick_step(df_step_t *s, void *opaque)
{
        (void)opaque;
        return df_step_set_result(s, "quick", 5);
}

static df_err_t quick_wf(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        df_err_t rc;
        (void)input;
        (void)opaque;
        if ((rc = df_step(ctx, "quick", quick_step, NULL, NULL, NULL)) != DF_OK)
                return rc;
        return df_ctx_set_output(ctx, "done", 4);
}

static void reg_long(df_worker_t *w)
{
        df_worker_register(w, "long", long_wf, NULL);
        df_worker_register(w, "quick", quick_wf, NULL);
}

START_TEST(test_step_longer_than_transaction_timeout)
{
        static const char *const extra[] = {"transaction.timeout.ms=1000", NULL};
        e2e_env_t env;
        char errstr[512], id[64];
        df_exec_list_t *list = NULL;
        int i, tries, done = 0;

        ck_assert_msg(e2e_start_conf(&env, "long", reg_long, extra, errstr, sizeof(errstr)) == 0, "start: %s", errstr);
        /* quick executions around it, in the same batch: the first one
         * processed produces its records before the long step runs (the
         * transaction used to be open from there, and outlived its timeout) */
        for (i = 0; i < 41; i++) {
                if (i == 20)
                        snprintf(id, sizeof(id), "long-1");
                else
                        snprintf(id, sizeof(id), "quick-%d", i);
                ck_assert_int_eq(df_client_start_async(env.client, i == 20 ? "long" : "quick", id, "", 0, errstr,
                                                        sizeof(errstr)),
                                 DF_OK);
        }
        ck_assert_int_eq(df_client_flush(env.client, 10000), DF_OK);
        for (tries = 0; tries < 60 && !done; tries++) {
                usleep(500000);
                ck_assert_int_eq(df_client_list(env.client, "long", DF_EXEC_SUCCEEDED, &list, errstr, sizeof(errstr)),
                                 DF_OK);
                for (size_t k = 0; k < list->count; k++)
                        done |= !strcmp(list->items[k].execution_id, "long-1");
                df_exec_list_destroy(list);
        }
        ck_assert_msg(done, "a 2.5 s step with a 1 s transaction timeout did not succeed within 30 s");
        ck_assert_int_eq(__atomic_load_n(&long_runs, __ATOMIC_SEQ_CST), 1);
        e2e_stop(&env);
}
END_TEST

/* The one consumer-replacement path of the worker and the timer service
 * (kafka.c): at most 3 replacements in a 60 s window, and a new consumer
 * made and subscribed every 1 s until it works or the program stops. */
START_TEST(test_consumer_replace_allowed_3_a_minute)
{
        int64_t window = df__mono_ms();
        int count = 0, i;
        for (i = 0; i < 3; i++)
                ck_assert_int_eq(df__consumer_replace_allowed(&window, &count, "test"), 0);
        ck_assert_int_eq(df__consumer_replace_allowed(&window, &count, "test"), -1);
        window = df__mono_ms() - 60001; /* the minute is over */
        ck_assert_int_eq(df__consumer_replace_allowed(&window, &count, "test"), 0);
        ck_assert_int_eq(count, 1);
}
END_TEST

typedef struct make_arg {
        int calls, fail_first;
} make_arg_t;

static rd_kafka_t *make_consumer(void *arg, char *errstr, size_t errstr_size)
{
        make_arg_t *a = arg;
        rd_kafka_conf_t *kc;
        if (++a->calls <= a->fail_first) {
                snprintf(errstr, errstr_size, "refused %d", a->calls);
                return NULL;
        }
        kc = rd_kafka_conf_new();
        rd_kafka_conf_set(kc, "bootstrap.servers", "127.0.0.1:1", NULL, 0);
        rd_kafka_conf_set(kc, "group.id", "df-test-replace", NULL, 0);
        return rd_kafka_new(RD_KAFKA_CONSUMER, kc, errstr, errstr_size);
}

START_TEST(test_consumer_until_ready_retries_then_stops)
{
        make_arg_t a = {0, 2};
        volatile int stop = 0;
        int64_t t0 = df__mono_ms();
        rd_kafka_t *c = df__consumer_until_ready(make_consumer, &a, "df-test-topic", "test", &stop);
        ck_assert_ptr_nonnull(c);
        ck_assert_int_eq(a.calls, 3);               /* two refusals, then one that works */
        ck_assert_int_ge(df__mono_ms() - t0, 1900); /* 1 s between tries */
        rd_kafka_destroy(c);
        a.calls = 0;
        a.fail_first = 1000;
        stop = 1; /* stopping: no retry */
        ck_assert_ptr_null(df__consumer_until_ready(make_consumer, &a, "df-test-topic", "test", &stop));
        ck_assert_int_eq(a.calls, 1);
}
END_TEST

int main(void)
{
        Suite *s = suite_create(getenv("DF_BROKERS") && *getenv("DF_BROKERS") ? "e2e-broker" : "e2e-embedded");
        TCase *tc = tcase_create("flow");
        SRunner *sr;
        int failed;
        tcase_set_timeout(tc, 240);
        tcase_add_test(tc, test_flow_end_to_end);
        tcase_add_test(tc, test_poison_goes_to_dlq);
        tcase_add_test(tc, test_hostile_text_in_a_batch);
        tcase_add_test(tc, test_slow_batch_commits_within_transaction_timeout);
        tcase_add_test(tc, test_step_longer_than_transaction_timeout);
        tcase_add_test(tc, test_retention_sweep_purges_without_timers);
        suite_add_tcase(s, tc);
        tc = tcase_create("consumer");
        tcase_add_test(tc, test_consumer_replace_allowed_3_a_minute);
        tcase_add_test(tc, test_consumer_until_ready_retries_then_stops);
        suite_add_tcase(s, tc);
        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? 1 : 0;
}
