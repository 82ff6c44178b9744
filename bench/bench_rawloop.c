/*
 * bench_rawloop -- the physical limit: a minimal librdkafka transactional
 * consume -> produce -> send_offsets_to_transaction -> commit loop on the
 * same broker, with the worker's settings (batch.max.records 500,
 * batch.max.ms 1, read_committed, linger.ms 1, murmur2_random,
 * fetch.wait.max.ms 10) and no engine, no RocksDB, no Avro.
 *
 * The input topic is filled first (--count records of ~140 bytes, keyed
 * like executions); then one loop (one consumer in a group + one
 * transactional producer, as one duraflow worker) drains it, producing
 * --out records (~150 bytes, to an output topic, same key) per input record.
 * Throughput = records in / (last commit - first record consumed); the
 * transaction phases (produce, send_offsets, commit) are timed.
 *
 * Usage: bench_rawloop [--count 20000] [--out 1,2,5] [--partitions 6] [--repeat 3] [--label TEXT]
 *        [--kafka name=value,...]   (extra producer properties, e.g. retry.backoff.ms=5)
 * Each configuration runs --repeat times; the median (by the rate after the
 * first transaction) goes to results.csv.
 */
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"

static const char *g_kprops; /* --kafka name=value,... : extra producer properties */

typedef struct raw_res {
        int out, rep, median;
        long in;
        double wall, in_s, msgs_s, steady_s;
        long txns;
        bench_pct_t commit, offsets, batch_ms;
        double cpu_self, cpu_broker;
} raw_res_t;

static void fill(const char *topic, long count)
{
        char e[512], key[32], val[256];
        rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER,
                                     bench_kconf("partitioner", "murmur2_random", "linger.ms", "5",
                                                 "enable.idempotence", "true", NULL),
                                     e, sizeof(e));
        long i;
        if (!p) {
                fprintf(stderr, "producer: %s\n", e);
                exit(1);
        }
        memset(val, 'x', sizeof(val));
        for (i = 0; i < count; i++) {
                rd_kafka_resp_err_t err;
                int vl = snprintf(val, sizeof(val),
                                  "{\"orderId\":%ld,\"customer\":\"ALFKI\",\"items\":[{\"sku\":\"CHAI\",\"qty\":2},"
                                  "{\"sku\":\"CHANG\",\"qty\":1}],\"total\":42.50,\"pad\":\"xxxxxxx\"}",
                                  i);
                snprintf(key, sizeof(key), "e%ld", i);
                for (;;) {
                        err = rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)),
                                                RD_KAFKA_V_VALUE(val, (size_t)vl),
                                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
                        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
                                break;
                        rd_kafka_poll(p, 10);
                }
                if (err) {
                        fprintf(stderr, "produce: %s\n", rd_kafka_err2str(err));
                        exit(1);
                }
        }
        if (rd_kafka_flush(p, 60000)) {
                fprintf(stderr, "fill: flush timed out\n");
                exit(1);
        }
        rd_kafka_destroy(p);
}

static void check(rd_kafka_error_t *error, const char *what)
{
        if (error) {
                fprintf(stderr, "%s: %s\n", what, rd_kafka_error_string(error));
                exit(1);
        }
}

static int run(long count, int nout, int partitions, raw_res_t *res)
{
        char prefix[128], in_topic[200], out_topic[200], e[512], txid[256], group[256], val[256];
        rd_kafka_t *c, *p;
        rd_kafka_topic_partition_list_t *sub;
        rd_kafka_message_t **msgs = calloc(500, sizeof(*msgs));
        int64_t *commit_ns = calloc((size_t)count + 16, sizeof(int64_t)), *off_ns = calloc((size_t)count + 16, 8),
                *batch_ns = calloc((size_t)count + 16, 8);
        long got = 0, txns = 0, got_first = 0;
        int64_t consume_ns = 0;
        int64_t t_first = 0, t_last = 0, t_first_commit = 0, deadline;
        double cpu0, bcpu0;
        pid_t bpid = bench_broker_pid();

        memset(res, 0, sizeof(*res));
        res->out = nout;
        bench_prefix(prefix, sizeof(prefix), "raw");
        snprintf(in_topic, sizeof(in_topic), "%s.in", prefix);
        snprintf(out_topic, sizeof(out_topic), "%s.out", prefix);
        snprintf(txid, sizeof(txid), "%s-tx", prefix);
        snprintf(group, sizeof(group), "%s-group", prefix);
        if (bench_create_topic(in_topic, partitions, 0) || bench_create_topic(out_topic, partitions, 0))
                return -1;
        fprintf(stderr, "  filling %s with %ld records\n", in_topic, count);
        fill(in_topic, count);

        {
                rd_kafka_conf_t *kc = bench_kconf("partitioner", "murmur2_random", "transactional.id", txid,
                                                  "transaction.timeout.ms", "30000", "linger.ms", "1",
                                                  "message.max.bytes", "2000000", NULL);
                if (g_kprops) {
                        char tmp[1024], *sv = NULL, *kv;
                        snprintf(tmp, sizeof(tmp), "%s", g_kprops);
                        for (kv = strtok_r(tmp, ",", &sv); kv; kv = strtok_r(NULL, ",", &sv)) {
                                char *eq = strchr(kv, '=');
                                if (eq) {
                                        *eq = 0;
                                        if (rd_kafka_conf_set(kc, kv, eq + 1, e, sizeof(e)) != RD_KAFKA_CONF_OK) {
                                                fprintf(stderr, "--kafka %s: %s\n", kv, e);
                                                return -1;
                                        }
                                }
                        }
                }
                p = rd_kafka_new(RD_KAFKA_PRODUCER, kc, e, sizeof(e));
        }
        if (!p) {
                fprintf(stderr, "producer: %s\n", e);
                return -1;
        }
        check(rd_kafka_init_transactions(p, 30000), "init_transactions");
        c = rd_kafka_new(RD_KAFKA_CONSUMER,
                         bench_kconf("group.id", group, "enable.auto.commit", "false", "auto.offset.reset",
                                     "earliest", "isolation.level", "read_committed", "session.timeout.ms", "10000",
                                     "heartbeat.interval.ms", "1000", "fetch.wait.max.ms", "10", NULL),
                         e, sizeof(e));
        if (!c) {
                fprintf(stderr, "consumer: %s\n", e);
                return -1;
        }
        rd_kafka_poll_set_consumer(c);
        sub = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(sub, in_topic, RD_KAFKA_PARTITION_UA);
        rd_kafka_subscribe(c, sub);
        rd_kafka_topic_partition_list_destroy(sub);
        memset(val, 'y', sizeof(val));

        cpu0 = bench_proc_cpu_s(0);
        bcpu0 = bpid ? bench_proc_cpu_s(bpid) : -1;
        deadline = bench_mono_ns() + 600LL * 1000000000;
        while (got < count && bench_mono_ns() < deadline) {
                int n = 0, i, k;
                int64_t bdeadline = 0, t0, t1, t2, tc = bench_mono_ns();
                rd_kafka_topic_partition_list_t *offs;
                rd_kafka_consumer_group_metadata_t *cgmd;
                while (n < 500) {
                        int timeout = n == 0 ? 100 : (int)((bdeadline - bench_mono_ns()) / 1000000);
                        rd_kafka_message_t *m;
                        if (n && timeout < 0)
                                break;
                        m = rd_kafka_consumer_poll(c, timeout < 0 ? 0 : timeout);
                        if (!m) {
                                if (!n)
                                        break;
                                continue;
                        }
                        if (m->err) {
                                rd_kafka_message_destroy(m);
                                continue;
                        }
                        if (!n)
                                bdeadline = bench_mono_ns() + 1000000;
                        if (!t_first)
                                t_first = bench_mono_ns();
                        msgs[n++] = m;
                }
                if (!n)
                        continue;
                t0 = bench_mono_ns();
                consume_ns += t0 - tc;
                check(rd_kafka_begin_transaction(p), "begin_transaction");
                offs = rd_kafka_topic_partition_list_new(partitions);
                for (i = 0; i < n; i++) {
                        rd_kafka_message_t *m = msgs[i];
                        rd_kafka_topic_partition_t *tp;
                        for (k = 0; k < nout; k++) {
                                rd_kafka_resp_err_t err;
                                for (;;) {
                                        err = rd_kafka_producev(
                                                p, RD_KAFKA_V_TOPIC(out_topic), RD_KAFKA_V_PARTITION(m->partition),
                                                RD_KAFKA_V_KEY(m->key, m->key_len), RD_KAFKA_V_VALUE(val, 150),
                                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
                                        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
                                                break;
                                        rd_kafka_poll(p, 10);
                                }
                                if (err) {
                                        fprintf(stderr, "produce: %s\n", rd_kafka_err2str(err));
                                        return -1;
                                }
                        }
                        tp = rd_kafka_topic_partition_list_find(offs, in_topic, m->partition);
                        if (!tp)
                                tp = rd_kafka_topic_partition_list_add(offs, in_topic, m->partition);
                        tp->offset = m->offset + 1;
                }
                t1 = bench_mono_ns();
                cgmd = rd_kafka_consumer_group_metadata(c);
                check(rd_kafka_send_offsets_to_transaction(p, offs, cgmd, 30000), "send_offsets_to_transaction");
                rd_kafka_consumer_group_metadata_destroy(cgmd);
                rd_kafka_topic_partition_list_destroy(offs);
                t2 = bench_mono_ns();
                check(rd_kafka_commit_transaction(p, 60000), "commit_transaction");
                t_last = bench_mono_ns();
                off_ns[txns] = t2 - t1;
                commit_ns[txns] = t_last - t2;
                batch_ns[txns] = t_last - t0;
                txns++;
                got += n;
                if (txns == 1) {
                        t_first_commit = t_last;
                        got_first = got;
                }
                for (i = 0; i < n; i++)
                        rd_kafka_message_destroy(msgs[i]);
        }
        res->cpu_self = bench_proc_cpu_s(0) - cpu0;
        if (getenv("BENCH_DEBUG")) {
                int64_t tx = 0;
                long q;
                for (q = 0; q < txns; q++)
                        tx += batch_ns[q];
                fprintf(stderr, "  debug: consume phase %.0f ms, transactions %.0f ms in total\n", consume_ns / 1e6,
                        tx / 1e6);
        }
        res->cpu_broker = bpid && bcpu0 >= 0 ? bench_proc_cpu_s(bpid) - bcpu0 : -1;
        res->in = got;
        res->txns = txns;
        res->wall = (double)(t_last - t_first) / 1e9;
        res->in_s = res->wall > 0 ? (double)got / res->wall : 0;
        res->msgs_s = res->in_s * (1 + nout);
        /* without the first transaction (coordinator look-ups, first fetch) */
        res->steady_s = t_last > t_first_commit && txns > 1
                                ? (double)(got - got_first) / ((double)(t_last - t_first_commit) / 1e9)
                                : res->in_s;
        res->commit = bench_percentiles(commit_ns, (size_t)txns, 1e6);
        res->offsets = bench_percentiles(off_ns, (size_t)txns, 1e6);
        res->batch_ms = bench_percentiles(batch_ns, (size_t)txns, 1e6);
        rd_kafka_consumer_close(c);
        rd_kafka_destroy(c);
        rd_kafka_destroy(p);
        free(msgs);
        free(commit_ns);
        free(off_ns);
        free(batch_ns);
        bench_delete_topics(prefix);
        return got == count ? 0 : 1;
}

int main(int argc, char **argv)
{
        long count = bench_arg_ll(argc, argv, "--count", 20000);
        const char *outs = bench_arg(argc, argv, "--out", "1,2,5");
        int partitions = (int)bench_arg_ll(argc, argv, "--partitions", 6);
        const char *label = bench_arg(argc, argv, "--label", "default");
        int repeat = (int)bench_arg_ll(argc, argv, "--repeat", 3);
        raw_res_t res[16];
        int n = 0, i;
        char buf[64], *save = NULL, *tok;
        bench_report_t *rep;

        bench_brokers();
        g_kprops = bench_arg(argc, argv, "--kafka", NULL);
        rep = bench_report_new("rawloop", "Physical limit: raw transactional consume-produce loop", argc, argv);
        snprintf(buf, sizeof(buf), "%s", outs);
        for (tok = strtok_r(buf, ",", &save); tok && n < 16; tok = strtok_r(NULL, ",", &save)) {
                int nout = atoi(tok), first = n, r, m;
                if (nout < 0)
                        continue;
                for (r = 0; r < repeat && n < 16; r++) {
                        fprintf(stderr, "run: raw loop, %ld records in, %d out per record (%d of %d)\n", count, nout,
                                r + 1, repeat);
                        if (run(count, nout, partitions, &res[n]) < 0)
                                return 1;
                        res[n].rep = r + 1;
                        fprintf(stderr, "  %.0f in/s (%.0f after the first txn), %ld txns, commit p50 %.2f ms\n",
                                res[n].in_s, res[n].steady_s, res[n].txns, res[n].commit.p50);
                        n++;
                }
                for (m = first, r = first; r < n; r++) {
                        int below = 0, above = 0, q;
                        for (q = first; q < n; q++) {
                                below += res[q].steady_s < res[r].steady_s;
                                above += res[q].steady_s > res[r].steady_s;
                        }
                        if (below <= (n - first) / 2 && above <= (n - first) / 2) {
                                m = r;
                                break;
                        }
                }
                res[m].median = 1;
        }
        bench_report_text(rep,
                          "librdkafka only (no engine, RocksDB, Avro): one group consumer + one transactional "
                          "producer, batches of up to 500 records / 1 ms (the worker's batch.max.records and batch.max.ms), %ld input records of ~140 bytes per run, "
                          "%d partitions, outputs of 150 bytes. Settings (`%s`): %s.",
                          count, partitions, label, g_kprops ? g_kprops : "librdkafka defaults");
        bench_report_text(rep, "%s", "");
        bench_report_text(rep, "| out per in | run | records in/s | records in/s after the first transaction | messages/s (in + out) | transactions | records/txn | "
                               "txn p50 / p99 ms | send_offsets p50 / p99 ms | commit p50 / p99 ms | CPU s per 1k in "
                               "(bench / broker) |");
        bench_report_text(rep, "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        for (i = 0; i < n; i++) {
                raw_res_t *r = &res[i];
                char cfg[160];
                bench_report_text(rep, "| %d | #%d%s | %.0f | %.0f | %.0f | %ld | %.0f | %s / %s | %s / %s | %s / %s | %.2f / %.2f |",
                                  r->out, r->rep, r->median ? " (median)" : "", r->in_s, r->steady_s, r->msgs_s, r->txns, r->txns ? (double)r->in / (double)r->txns : 0,
                                  bench_ms(r->batch_ms.p50), bench_ms(r->batch_ms.p99), bench_ms(r->offsets.p50),
                                  bench_ms(r->offsets.p99), bench_ms(r->commit.p50), bench_ms(r->commit.p99),
                                  r->in ? r->cpu_self * 1000 / (double)r->in : 0,
                                  r->in ? r->cpu_broker * 1000 / (double)r->in : 0);
                snprintf(cfg, sizeof(cfg), "%s/out%d", label, r->out);
                if (!r->median)
                        continue;
                bench_report_csv(rep, cfg, "records_in_per_s", r->in_s, "1/s");
                bench_report_csv(rep, cfg, "messages_per_s", r->msgs_s, "1/s");
                bench_report_csv(rep, cfg, "steady_records_in_per_s", r->steady_s, "1/s");
                bench_report_csv(rep, cfg, "commit_p50_ms", r->commit.p50, "ms");
                bench_report_csv(rep, cfg, "commit_p99_ms", r->commit.p99, "ms");
        }
        bench_report_finish(rep);
        return 0;
}
