/*
 * bench_closedloop -- a user's service as a closed loop: C logical clients,
 * each starting an execution and waiting for its own result before it
 * starts the next; N executions in all.
 *
 *   --workflow noop3   (default) three no-op steps: executions/s and latency
 *                      p50/p95/p99 (nearest rank), start to result
 *   --workflow sleep1  step, a 1 s durable df_wait, step: lateness inside the
 *                      handler (second step's entry - first step's exit -
 *                      1000 ms, reported by the workflow in its output) and
 *                      end to end (latency - 1000 ms)
 *   --workflow io3     three steps that each wait 50 ms for a service: how
 *                      many executions/s the worker's lanes (worker.threads,
 *                      -X worker.threads=N) run side by side
 *
 * One worker and one timer service run as child processes (bench_node), the
 * client in this process (one producer for the starts, one results reader).
 * CPU seconds of the worker, the timer service and the broker are read from
 * /proc before and after: per execution.  --idle-s S first measures the
 * system at rest (worker + timer service attached, nothing running) for S
 * seconds: CPU of the three as % of one core.
 *
 * --tco: after the run, what the executions left in Kafka, per topic: bytes
 * on the broker's disk (written, before any compaction or retention), records
 * and key + value bytes (a read_committed reader), and for the compacted
 * topics (.state, .timers) what compaction keeps: the latest record of each
 * key, tombstones dropped (until retention.ms purges finished executions);
 * the inputs of a total-cost-of-ownership estimate (README).
 *
 * Usage: bench_closedloop [--workflow noop3|sleep1|io3] [--count 2000] [--clients 50]
 *                         [--partitions 6] [--idle-s 0] [--tco] [--label L] [-X name=value ...]
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_common.h"
#include "bench_workflows.h"
#include <glib.h>

typedef struct slot {
        int busy;
        long exec;        /* index of the execution in flight */
        int64_t t_start;  /* ns */
} slot_t;

typedef struct loop {
        df_client_t *client;
        long count, started, done, errors;
        int clients;
        slot_t *slots;
        char (*ids)[32];  /* execution index -> id */
        int64_t *lat_ns;  /* per execution, start to result */
        int64_t *late_ms; /* sleep1: in-handler lateness from the output */
        int sleep;
        const char *workflow;
        char run[24];     /* unique per run: ids never collide across runs */
} loop_t;

static int slot_of(const char *id)
{
        /* ids are "<run>-<slot>-<n>" */
        const char *p = strchr(id, '-');
        return p ? atoi(p + 1) : -1;
}

static void start_in_slot(loop_t *l, int s)
{
        char err[256], input[256];
        long i = l->started++;
        size_t n = bench_input(input, sizeof(input), i);
        snprintf(l->ids[i], sizeof(l->ids[i]), "%s-%d-%ld", l->run, s, i);
        l->slots[s].busy = 1;
        l->slots[s].exec = i;
        l->slots[s].t_start = bench_mono_ns();
        if (df_client_start_async(l->client, l->workflow, l->ids[i], input, n, err, sizeof(err)) != DF_OK &&
            l->errors++ < 5)
                fprintf(stderr, "start %s: %s\n", l->ids[i], err);
}

static void on_result(const char *id, df_exec_status_t status, const df_bytes_t *out, const char *error,
                      void *opaque)
{
        loop_t *l = opaque;
        int s = slot_of(id);
        int64_t now = bench_mono_ns();
        slot_t *sl;
        (void)error;
        if (strncmp(id, l->run, strlen(l->run)) || s < 0 || s >= l->clients)
                return;
        sl = &l->slots[s];
        if (!sl->busy || strcmp(l->ids[sl->exec], id))
                return; /* a duplicate delivery */
        l->lat_ns[sl->exec] = now - sl->t_start;
        if (l->sleep && out->len > 0 && out->len < 32) {
                char b[32];
                memcpy(b, out->data, out->len);
                b[out->len] = 0;
                l->late_ms[sl->exec] = atoll(b);
        }
        if (status != DF_EXEC_SUCCEEDED && l->errors++ < 5)
                fprintf(stderr, "%s ended %s\n", id, df_exec_status_name(status));
        sl->busy = 0;
        l->done++;
        if (l->started < l->count)
                start_in_slot(l, s);
}

/* --tco: one topic read from its start to its high watermarks (read_committed,
 * no group): records, key + value bytes, and for a compacted topic the bytes
 * of the latest record of each key (what the log cleaner keeps, tombstones
 * dropped).  0, or -1 when the topic cannot be read. */
typedef struct tco {
        long long records, bytes, kept_keys, kept_bytes;
} tco_t;

static void tco_sum(gpointer key, gpointer val, gpointer opaque)
{
        tco_t *t = opaque;
        long long n = (long long)(intptr_t)val - 1;
        (void)key;
        if (n >= 0) {
                t->kept_keys++;
                t->kept_bytes += n;
        }
}

static int tco_scan(const char *topic, int compacted, tco_t *t)
{
        char e[512];
        rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER,
                                      bench_kconf("group.id", "bench-tco", "enable.auto.commit", "false",
                                                  "isolation.level", "read_committed", "enable.partition.eof",
                                                  "true", NULL),
                                      e, sizeof(e));
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_topic_partition_list_t *parts;
        rd_kafka_topic_t *rkt;
        GHashTable *latest = compacted ? g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL) : NULL;
        int i, n = 0, left = 0;
        int64_t deadline = bench_mono_ns() + 120000000000LL;

        memset(t, 0, sizeof(*t));
        if (!rk)
                return -1;
        rkt = rd_kafka_topic_new(rk, topic, NULL);
        if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) || md->topic_cnt != 1 || md->topics[0].err) {
                if (md)
                        rd_kafka_metadata_destroy(md);
                rd_kafka_topic_destroy(rkt);
                rd_kafka_destroy(rk);
                if (latest)
                        g_hash_table_destroy(latest);
                return -1;
        }
        n = md->topics[0].partition_cnt;
        rd_kafka_metadata_destroy(md);
        rd_kafka_topic_destroy(rkt);
        parts = rd_kafka_topic_partition_list_new(n);
        for (i = 0; i < n; i++) {
                int64_t lo = 0, hi = 0;
                if (rd_kafka_query_watermark_offsets(rk, topic, i, &lo, &hi, 10000) || hi <= lo)
                        continue;
                rd_kafka_topic_partition_list_add(parts, topic, i)->offset = RD_KAFKA_OFFSET_BEGINNING;
                left++;
        }
        rd_kafka_assign(rk, parts);
        while (left > 0 && bench_mono_ns() < deadline) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 500);
                if (!m)
                        continue;
                if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                        left--;
                } else if (!m->err) {
                        t->records++;
                        t->bytes += (long long)m->key_len + (long long)m->len;
                        if (latest && m->key_len) {
                                /* a tombstone: nothing kept (the size is stored + 1; 0 = deleted) */
                                g_hash_table_replace(latest, g_strndup(m->key, m->key_len),
                                                     (gpointer)(intptr_t)(m->payload ? (long long)(m->key_len + m->len) + 1
                                                                                     : 0));
                        }
                }
                rd_kafka_message_destroy(m);
        }
        if (latest) {
                g_hash_table_foreach(latest, tco_sum, t);
                g_hash_table_destroy(latest);
        }
        rd_kafka_topic_partition_list_destroy(parts);
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
        return left > 0 ? -1 : 0;
}

static void tco_report(bench_report_t *rep, const char *prefix, long executions)
{
        static const char *const names[] = {"events", "state", "timers", "results", "dlq"};
        int i;
        bench_report_text(rep, "%s", "");
        bench_report_text(rep, "What %ld executions left in Kafka (`--tco`; per execution in brackets):", executions);
        bench_report_text(rep, "%s", "");
        bench_report_text(rep, "| topic | on the broker's disk (bytes) | records | key + value bytes | kept by "
                               "compaction: keys, bytes |");
        bench_report_text(rep, "%s", "| --- | --- | --- | --- | --- |");
        for (i = 0; i < 5; i++) {
                char topic[256];
                tco_t t;
                int compacted = i == 1 || i == 2;
                long long disk;
                snprintf(topic, sizeof(topic), "%s.%s", prefix, names[i]);
                disk = bench_topic_disk(topic);
                if (tco_scan(topic, compacted, &t)) {
                        bench_report_text(rep, "| `.%s` | %lld | (not read) | | |", names[i], disk);
                        continue;
                }
                if (compacted)
                        bench_report_text(rep, "| `.%s` | %lld (%.0f) | %lld (%.2f) | %lld (%.0f) | %lld, %lld (%.0f) |",
                                          names[i], disk, (double)disk / executions, t.records,
                                          (double)t.records / executions, t.bytes, (double)t.bytes / executions,
                                          t.kept_keys, t.kept_bytes, (double)t.kept_bytes / executions);
                else
                        bench_report_text(rep, "| `.%s` | %lld (%.0f) | %lld (%.2f) | %lld (%.0f) | (time retention) |",
                                          names[i], disk, (double)disk / executions, t.records,
                                          (double)t.records / executions, t.bytes, (double)t.bytes / executions);
                {
                        char m[64];
                        snprintf(m, sizeof(m), "%s_disk_bytes_per_execution", names[i]);
                        bench_report_csv(rep, "tco", m, (double)disk / executions, "B");
                }
        }
}

static double cpu3(pid_t w, pid_t t, pid_t b, double *cw, double *ct, double *cb)
{
        *cw = bench_proc_cpu_s(w);
        *ct = bench_proc_cpu_s(t);
        *cb = b ? bench_proc_cpu_s(b) : 0;
        return *cw + *ct + *cb;
}

int main(int argc, char **argv)
{
        const char *wf = bench_arg(argc, argv, "--workflow", "noop3");
        long count = bench_arg_ll(argc, argv, "--count", 2000);
        int clients = (int)bench_arg_ll(argc, argv, "--clients", 50);
        int partitions = (int)bench_arg_ll(argc, argv, "--partitions", 6);
        long idle_s = bench_arg_ll(argc, argv, "--idle-s", 0);
        const char *label = bench_arg(argc, argv, "--label", "default");
        int tco = bench_flag(argc, argv, "--tco");
        char prefix[128], state[256], wlog[300], tlog[300], e[512], line[1024];
        double w0, t0c, b0, w1, t1c, b1, idle_pct[3] = {0, 0, 0};
        int64_t t0, t1, deadline;
        df_conf_t *conf;
        df_results_t *rr;
        bench_child_t w, ts;
        bench_report_t *rep;
        pid_t broker;
        loop_t l;
        int s;

        if (bench_flag(argc, argv, "--help") || bench_flag(argc, argv, "-h")) {
                /* (it ran the benchmark with the defaults before) */
                printf("Usage: bench_closedloop [--workflow noop3|sleep1|io3] [--count 2000] [--clients 50]\n"
                       "                        [--partitions 6] [--idle-s 0] [--tco] [--label L] [-X name=value ...]\n"
                       "C clients in a closed loop against one worker and one timer service (child processes);\n"
                       "needs DF_BROKERS (and DF_KAFKA_STATE to measure the broker's CPU). See the file's comment.\n");
                return 0;
        }
        if (strcmp(wf, "noop3") && strcmp(wf, "sleep1") && strcmp(wf, "io3")) {
                fprintf(stderr, "bench_closedloop: --workflow is noop3, sleep1 or io3\n");
                return 2;
        }
        if (clients < 1 || count < clients) {
                fprintf(stderr, "bench_closedloop: need 1 <= --clients <= --count\n");
                return 2;
        }
        bench_brokers();
        broker = bench_broker_pid();
        rep = bench_report_new("closedloop", "Closed loop: each client waits for its result before the next start",
                               argc, argv);
        bench_prefix(prefix, sizeof(prefix), "cl");
        snprintf(state, sizeof(state), "/tmp/duraflow-%s", prefix);
        snprintf(wlog, sizeof(wlog), "/tmp/%s-worker.log", prefix);
        snprintf(tlog, sizeof(tlog), "/tmp/%s-timers.log", prefix);
        conf = bench_conf(prefix, state, partitions);
        bench_conf_args(conf, argc, argv);
        memset(&l, 0, sizeof(l));
        l.client = df_client_new(conf, e, sizeof(e));
        if (!l.client) {
                fprintf(stderr, "client: %s\n", e);
                return 1;
        }
        rr = df_results_open(conf, 0, e, sizeof(e));
        if (!rr) {
                fprintf(stderr, "results: %s\n", e);
                return 1;
        }
        if (bench_spawn_node(&w, "worker", prefix, state, "cl1", partitions, argc, argv, NULL, wlog) ||
            bench_spawn_node(&ts, "timers", prefix, state, "ct1", partitions, argc, argv, NULL, tlog))
                return 1;
        /* warm-up: one execution end to end, so that every consumer has
         * joined, fetched metadata and found its coordinator */
        l.count = 1;
        l.clients = 1;
        l.workflow = wf;
        l.sleep = !strcmp(wf, "sleep1");
        l.slots = calloc((size_t)clients, sizeof(*l.slots));
        l.ids = calloc((size_t)count + 1, sizeof(*l.ids));
        l.lat_ns = calloc((size_t)count + 1, sizeof(*l.lat_ns));
        l.late_ms = calloc((size_t)count + 1, sizeof(*l.late_ms));
        snprintf(l.run, sizeof(l.run), "warm%d", (int)getpid() % 100000);
        start_in_slot(&l, 0);
        df_client_flush(l.client, 30000);
        deadline = bench_mono_ns() + 120000000000LL;
        while (l.done < 1 && bench_mono_ns() < deadline) {
                df_results_poll(rr, 100, on_result, &l);
                while (bench_child_line(&w, line, sizeof(line), 0) == 1 || bench_child_line(&ts, line, sizeof(line), 0) == 1)
                        ;
        }
        if (l.done < 1) {
                fprintf(stderr, "warm-up execution did not finish (logs %s, %s)\n", wlog, tlog);
                return 1;
        }
        if (idle_s > 0) {
                double iw0, it0, ib0, iw1, it1, ib1;
                int64_t i0 = bench_mono_ns(), iend;
                cpu3(w.pid, ts.pid, broker, &iw0, &it0, &ib0);
                iend = i0 + idle_s * 1000000000LL;
                while (bench_mono_ns() < iend) {
                        bench_child_line(&w, line, sizeof(line), 200);
                        bench_child_line(&ts, line, sizeof(line), 0);
                }
                cpu3(w.pid, ts.pid, broker, &iw1, &it1, &ib1);
                idle_pct[0] = 100.0 * (iw1 - iw0) / ((double)(bench_mono_ns() - i0) / 1e9);
                idle_pct[1] = 100.0 * (it1 - it0) / ((double)(bench_mono_ns() - i0) / 1e9);
                idle_pct[2] = 100.0 * (ib1 - ib0) / ((double)(bench_mono_ns() - i0) / 1e9);
        }
        /* the measured run */
        memset(l.slots, 0, (size_t)clients * sizeof(*l.slots));
        l.count = count;
        l.clients = clients;
        l.started = l.done = 0;
        snprintf(l.run, sizeof(l.run), "r%d", (int)getpid() % 100000);
        cpu3(w.pid, ts.pid, broker, &w0, &t0c, &b0);
        t0 = bench_mono_ns();
        for (s = 0; s < clients; s++)
                start_in_slot(&l, s);
        deadline = t0 + (int64_t)(60 + count / 10) * 1000000000LL;
        while (l.done < count && bench_mono_ns() < deadline) {
                df_client_flush(l.client, 0); /* hand the starts to librdkafka's threads now */
                df_results_poll(rr, 5, on_result, &l);
                while (bench_child_line(&w, line, sizeof(line), 0) == 1 || bench_child_line(&ts, line, sizeof(line), 0) == 1)
                        ;
        }
        t1 = bench_mono_ns();
        cpu3(w.pid, ts.pid, broker, &w1, &t1c, &b1);
        if (l.done < count)
                fprintf(stderr, "only %ld of %ld executions finished (logs %s, %s)\n", l.done, count, wlog, tlog);
        {
                double secs = (double)(t1 - t0) / 1e9, rate = (double)l.done / secs;
                int64_t *lat = calloc((size_t)count, sizeof(*lat)), *late = calloc((size_t)count, sizeof(*late));
                long i, n = 0;
                bench_pct_t p, q = {0}, ee = {0};
                char cfg[200];
                for (i = 0; i < count; i++)
                        if (l.lat_ns[i] > 0) {
                                lat[n] = l.lat_ns[i];
                                late[n] = l.late_ms[i];
                                n++;
                        }
                if (l.sleep) {
                        int64_t *e2e = calloc((size_t)(n ? n : 1), sizeof(*e2e));
                        for (i = 0; i < n; i++)
                                e2e[i] = lat[i] - 1000000000LL;
                        ee = bench_percentiles(e2e, (size_t)n, 1e6);
                        q = bench_percentiles(late, (size_t)n, 1.0);
                        free(e2e);
                }
                p = bench_percentiles(lat, (size_t)n, 1e6);
                bench_report_text(rep,
                                  "Workflow `%s`, %ld executions, %d clients in a closed loop, %d partitions, one "
                                  "worker and one timer service (child processes), settings: %s; broker pid %d.",
                                  wf, count, clients, partitions,
                                  *bench_conf_args_str(argc, argv) ? bench_conf_args_str(argc, argv) : "defaults",
                                  (int)broker);
                bench_report_text(rep, "%s", "");
                bench_report_text(rep, "| executions/s | p50 (ms) | p95 (ms) | p99 (ms) | max (ms) | %sCPU s per 1,000 "
                                       "executions: worker / timer service / broker |",
                                  l.sleep ? "in-handler lateness p50 / p99 (ms) | end-to-end lateness p50 / p99 (ms) | "
                                          : "");
                bench_report_text(rep, "| --- | --- | --- | --- | --- | %s--- |", l.sleep ? "--- | --- | " : "");
                if (l.sleep)
                        bench_report_text(rep, "| %.0f | %s | %s | %s | %s | %s / %s | %s / %s | %.2f / %.2f / %.2f |",
                                          rate, bench_ms(p.p50), bench_ms(p.p95), bench_ms(p.p99), bench_ms(p.max),
                                          bench_ms(q.p50), bench_ms(q.p99), bench_ms(ee.p50), bench_ms(ee.p99),
                                          1000 * (w1 - w0) / (double)n, 1000 * (t1c - t0c) / (double)n,
                                          1000 * (b1 - b0) / (double)n);
                else
                        bench_report_text(rep, "| %.0f | %s | %s | %s | %s | %.2f / %.2f / %.2f |", rate,
                                          bench_ms(p.p50), bench_ms(p.p95), bench_ms(p.p99), bench_ms(p.max),
                                          1000 * (w1 - w0) / (double)n, 1000 * (t1c - t0c) / (double)n,
                                          1000 * (b1 - b0) / (double)n);
                if (idle_s > 0)
                        bench_report_text(rep, "Idle for %ld s before the run (worker and timer service attached, "
                                               "nothing running): worker %.2f %%, timer service %.2f %%, broker %.2f "
                                               "%% of one core; together %.2f %%.",
                                          idle_s, idle_pct[0], idle_pct[1], idle_pct[2],
                                          idle_pct[0] + idle_pct[1] + idle_pct[2]);
                snprintf(cfg, sizeof(cfg), "%s/%s/c%d", label, wf, clients);
                bench_report_csv(rep, cfg, "executions_per_s", rate, "1/s");
                bench_report_csv(rep, cfg, "latency_p50_ms", p.p50, "ms");
                bench_report_csv(rep, cfg, "latency_p99_ms", p.p99, "ms");
                if (l.sleep) {
                        bench_report_csv(rep, cfg, "handler_lateness_p50_ms", q.p50, "ms");
                        bench_report_csv(rep, cfg, "handler_lateness_p99_ms", q.p99, "ms");
                }
                bench_report_csv(rep, cfg, "cpu_s_per_1000", 1000 * (w1 - w0 + t1c - t0c + b1 - b0) / (double)n, "s");
                if (idle_s > 0)
                        bench_report_csv(rep, cfg, "idle_cpu_pct", idle_pct[0] + idle_pct[1] + idle_pct[2], "%");
                free(lat);
                free(late);
        }
        bench_child_stop(&w, 30000);
        bench_child_stop(&ts, 30000);
        if (tco)
                tco_report(rep, prefix, l.done + 1); /* + the warm-up execution */
        bench_report_finish(rep);
        df_results_close(rr);
        df_client_destroy(l.client);
        bench_delete_topics(prefix);
        bench_rm_rf(state);
        if (l.done == count && !getenv("BENCH_KEEP_LOGS")) {
                remove(wlog);
                remove(tlog);
        }
        df_conf_destroy(conf);
        return l.done == count ? 0 : 1;
}
