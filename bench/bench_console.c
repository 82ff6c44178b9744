/*
 * bench_console -- the console with 1,000,000 executions indexed: how fast
 * it ingests <prefix>.state (records/s, against the workers' peak write
 * rate), how fast it answers the first page of a status-filtered list and
 * a describe (HTTP, p50/p99), and its memory (VmHWM, VmRSS) and index size.
 *
 * The state records are produced directly (records.h's encoders; 3 per
 * execution: a step SUCCEEDED, a callback, the execution; statuses 60%
 * SUCCEEDED, 30% SUSPENDED waiting on the callback, 10% FAILED), then `duraflow console`
 * runs as a child process and indexes them from the beginning.
 *
 * Usage: bench_console [--count 1000000] [--partitions 6] [--queries 1000] [--timeout-s 1800] [-X name=value]...
 * (-X: the console's configuration, e.g. -X console.ingest.threads=1)
 */
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "bench_common.h"
#include "duraflow/records.h"

typedef struct buf {
        char d[1 << 20];
        size_t n;
} buf_t;

static size_t on_body(char *p, size_t sz, size_t n, void *u)
{
        buf_t *b = u;
        size_t k = sz * n;
        if (b->n + k < sizeof(b->d)) {
                memcpy(b->d + b->n, p, k);
                b->n += k;
                b->d[b->n] = '\0';
        }
        return k;
}

/* GET url; returns the latency in ns (-1 on failure); body in b. */
static int64_t get(CURL *h, const char *url, buf_t *b, long *status)
{
        int64_t t0 = bench_mono_ns();
        b->n = 0;
        b->d[0] = '\0';
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
        curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
        if (curl_easy_perform(h) != CURLE_OK)
                return -1;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
        return bench_mono_ns() - t0;
}

static long long jnum(const char *body, const char *key)
{
        char k[64];
        const char *p;
        snprintf(k, sizeof(k), "\"%s\":", key);
        p = strstr(body, k);
        return p ? atoll(p + strlen(k)) : -1;
}

static void produce(const char *prefix, long count, int partitions)
{
        char topic[256], e[512], key[96], id[64];
        rd_kafka_conf_t *kc = bench_kconf("linger.ms", "50", "batch.num.messages", "10000", "compression.type",
                                          "lz4", "queue.buffering.max.messages", "1000000", "partitioner",
                                          "murmur2_random", NULL);
        rd_kafka_t *p;
        long i;
        (void)partitions;
        snprintf(topic, sizeof(topic), "%s.state", prefix);
        p = rd_kafka_new(RD_KAFKA_PRODUCER, kc, e, sizeof(e));
        if (!p) {
                fprintf(stderr, "bench_console: producer: %s\n", e);
                exit(1);
        }
        for (i = 0; i < count; i++) {
                df_op_info_t o;
                df_exec_info_t x;
                void *v = NULL;
                size_t vlen = 0;
                df_err_t rc;
                int k;
                df_exec_status_t st = i % 10 == 0 ? DF_EXEC_FAILED : i % 10 < 4 ? DF_EXEC_SUSPENDED
                                                                                 : DF_EXEC_SUCCEEDED;
                int64_t t = 1700000000000LL + i;
                snprintf(id, sizeof(id), "bench-%08ld", i);
                for (k = 1; k <= 3; k++) {
                        memset(&o, 0, sizeof(o));
                        memset(&x, 0, sizeof(x));
                        if (k < 3) {
                                o.execution_id = id;
                                o.op_id = k == 1 ? "1" : "2";
                                o.parent_id = "";
                                o.name = k == 1 ? "receive" : "payment";
                                o.type = k == 1 ? DF_OP_TYPE_STEP : DF_OP_TYPE_CALLBACK;
                                o.status = k == 1 ? DF_OP_STATUS_SUCCEEDED
                                           : st == DF_EXEC_SUSPENDED ? DF_OP_STATUS_PENDING
                                           : st == DF_EXEC_FAILED   ? DF_OP_STATUS_FAILED
                                                                    : DF_OP_STATUS_SUCCEEDED;
                                o.attempt = 1;
                                o.result.data = (const uint8_t *)"{\"total_cents\":12345,\"valid\":true}";
                                o.result.len = k == 1 ? 34 : 0;
                                o.error = o.status == DF_OP_STATUS_FAILED ? "card declined" : "";
                                o.callback_id = k == 2 ? "0123456789abcdef0123456789abcdef_2_x" : "";
                                o.started_ms = o.updated_ms = t;
                                o.due_ms = k == 2 ? t + 60000 : 0;
                                snprintf(key, sizeof(key), "%s/%s", id, o.op_id);
                                rc = df_record_encode_operation(&o, &v, &vlen, e, sizeof(e));
                        } else {
                                x.execution_id = id;
                                x.workflow = "order";
                                x.input.data = (const uint8_t *)"{\"order_id\":10248,\"day_ms\":1000}";
                                x.input.len = 32;
                                x.status = st;
                                x.output.data = (const uint8_t *)"{\"outcome\":\"confirmed_on_time\"}";
                                x.output.len = st == DF_EXEC_SUCCEEDED ? 31 : 0;
                                x.error = st == DF_EXEC_FAILED ? "payment: card declined" : "";
                                x.created_ms = t;
                                x.updated_ms = t + 5;
                                x.op_count = 2;
                                snprintf(key, sizeof(key), "%s", id);
                                rc = df_record_encode_execution(&x, &v, &vlen, e, sizeof(e));
                        }
                        if (rc != DF_OK) {
                                fprintf(stderr, "bench_console: %s\n", e);
                                exit(1);
                        }
                        /* the worker's co-partitioning: by execution id */
                        while (rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic),
                                                 RD_KAFKA_V_PARTITION(bench_partition(id, partitions)),
                                                 RD_KAFKA_V_KEY(key, strlen(key)), RD_KAFKA_V_VALUE(v, vlen),
                                                 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                                 RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
                                rd_kafka_poll(p, 10);
                        df_record_free(v);
                }
                rd_kafka_poll(p, 0);
        }
        if (rd_kafka_flush(p, 300000)) {
                fprintf(stderr, "bench_console: the state records were not all acknowledged\n");
                exit(1);
        }
        rd_kafka_destroy(p);
}

int main(int argc, char **argv)
{
        long count = bench_arg_ll(argc, argv, "--count", 1000000);
        int partitions = (int)bench_arg_ll(argc, argv, "--partitions", 6);
        long queries = bench_arg_ll(argc, argv, "--queries", 1000);
        long timeout_s = bench_arg_ll(argc, argv, "--timeout-s", 1800);
        char prefix[96], topic[256], state[256], cli[1200], self[1024], url[128] = "", line[512], q[512];
        char *args[48];
        int64_t t0, t_prod, t_idx = 0, *lat_list, *lat_desc, *lat_counts;
        long hwm, rss, i;
        long long idx_disk;
        double cpu;
        bench_child_t c;
        bench_report_t *rep;
        bench_pct_t pl, pd, pc;
        CURL *h;
        buf_t *b = malloc(sizeof(buf_t));
        long status = 0;
        ssize_t sl;

        bench_brokers();
        rep = bench_report_new("console", "Console: 1,000,000 executions indexed", argc, argv);
        bench_prefix(prefix, sizeof(prefix), "con");
        snprintf(state, sizeof(state), "%s/bench-console-%d", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
                 (int)getpid());
        snprintf(topic, sizeof(topic), "%s.state", prefix);
        bench_create_topic(topic, partitions, 1);
        snprintf(topic, sizeof(topic), "%s.dlq", prefix);
        bench_create_topic(topic, partitions, 0);
        fprintf(stderr, "bench_console: producing %ld executions (%ld state records) to %s.state\n", count,
                count * 3, prefix);
        t0 = bench_mono_ns();
        produce(prefix, count, partitions);
        t_prod = bench_mono_ns() - t0;
        fprintf(stderr, "bench_console: produced in %.1f s\n", (double)t_prod / 1e9);

        /* the console, a child process, from an empty index */
        sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
        self[sl > 0 ? sl : 0] = '\0';
        snprintf(cli, sizeof(cli), "%s/../framework/tools/duraflow", dirname(self));
        {
                char b1[300], b2[300], b3[300];
                snprintf(b1, sizeof(b1), "console.state.dir=%s", state);
                snprintf(b2, sizeof(b2), "%s", prefix);
                snprintf(b3, sizeof(b3), "%s", bench_brokers());
                args[0] = cli, args[1] = "--brokers", args[2] = b3, args[3] = "--prefix", args[4] = b2;
                args[5] = "-X", args[6] = b1, args[7] = "-X", args[8] = "log.level=warn";
                {
                        /* -X name=value of this command line go to the console */
                        int a, n = 9;
                        for (a = 1; a + 1 < argc && n < 40; a++)
                                if (!strcmp(argv[a], "-X")) {
                                        args[n++] = "-X";
                                        args[n++] = argv[++a];
                                }
                        args[n++] = "console";
                        args[n++] = "--listen";
                        args[n++] = "127.0.0.1:0";
                        args[n] = NULL;
                }
                snprintf(line, sizeof(line), "%s/console.log", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
                t0 = bench_mono_ns();
                if (bench_spawn(&c, args, NULL)) {
                        fprintf(stderr, "bench_console: cannot start %s\n", cli);
                        return 1;
                }
        }
        /* "console listening on URL" goes to stderr: find the port in /proc */
        h = curl_easy_init();
        {
                int64_t deadline = bench_mono_ns() + 20000000000LL;
                char path[64], lbuf[4096];
                while (!url[0] && bench_mono_ns() < deadline) {
                        FILE *f;
                        snprintf(path, sizeof(path), "/proc/%d/net/tcp", (int)c.pid);
                        f = fopen(path, "r");
                        /* listening sockets of the child: 0100007F:PORT ... 0A */
                        while (f && fgets(lbuf, sizeof(lbuf), f)) {
                                unsigned port, st;
                                char la[16];
                                if (sscanf(lbuf, " %*d: %8[0-9A-F]:%X %*s %X", la, &port, &st) == 3 && st == 0x0A &&
                                    !strcmp(la, "0100007F")) {
                                        char probe[128];
                                        snprintf(probe, sizeof(probe), "http://127.0.0.1:%u/api/v1/status", port);
                                        if (get(h, probe, b, &status) >= 0 && status == 200 && strstr(b->d, prefix)) {
                                                snprintf(url, sizeof(url), "http://127.0.0.1:%u", port);
                                                break;
                                        }
                                }
                        }
                        if (f)
                                fclose(f);
                        if (!url[0])
                                usleep(100000);
                }
        }
        if (!url[0]) {
                fprintf(stderr, "bench_console: the console does not answer\n");
                bench_child_kill(&c);
                return 1;
        }
        {
                int64_t deadline = bench_mono_ns() + (int64_t)timeout_s * 1000000000LL, last = 0;
                snprintf(q, sizeof(q), "%s/api/v1/status", url);
                while (bench_mono_ns() < deadline) {
                        if (get(h, q, b, &status) >= 0 && jnum(b->d, "executions") == count && jnum(b->d, "lag") == 0) {
                                t_idx = bench_mono_ns() - t0;
                                break;
                        }
                        if (bench_mono_ns() - last > 5000000000LL) {
                                fprintf(stderr, "bench_console: %lld executions indexed, lag %lld\n",
                                        jnum(b->d, "executions"), jnum(b->d, "lag"));
                                last = bench_mono_ns();
                        }
                        usleep(50000);
                }
        }
        if (!t_idx) {
                fprintf(stderr, "bench_console: not indexed within %ld s\n", timeout_s);
                bench_child_kill(&c);
                return 1;
        }
        cpu = bench_proc_cpu_s(c.pid);
        fprintf(stderr, "bench_console: indexed in %.1f s; querying\n", (double)t_idx / 1e9);
        lat_list = calloc((size_t)queries, sizeof(int64_t));
        lat_desc = calloc((size_t)queries, sizeof(int64_t));
        lat_counts = calloc((size_t)queries, sizeof(int64_t));
        for (i = 0; i < queries; i++) {
                static const char *const st[] = {"FAILED", "SUSPENDED", "SUCCEEDED"};
                snprintf(q, sizeof(q), "%s/api/v1/executions?status=%s&limit=50", url, st[i % 3]);
                lat_list[i] = get(h, q, b, &status);
                if (status != 200 || jnum(b->d, "scanned") != 50)
                        fprintf(stderr, "bench_console: list: HTTP %ld %.200s\n", status, b->d);
                snprintf(q, sizeof(q), "%s/api/v1/executions/bench-%08ld", url, (i * 7919) % count);
                lat_desc[i] = get(h, q, b, &status);
                if (status != 200)
                        fprintf(stderr, "bench_console: describe: HTTP %ld\n", status);
                snprintf(q, sizeof(q), "%s/api/v1/counts", url);
                lat_counts[i] = get(h, q, b, &status);
        }
        hwm = bench_vm_kb(c.pid, "VmHWM");
        rss = bench_vm_kb(c.pid, "VmRSS");
        idx_disk = bench_du(state);
        pl = bench_percentiles(lat_list, (size_t)queries, 1e6);
        pd = bench_percentiles(lat_desc, (size_t)queries, 1e6);
        pc = bench_percentiles(lat_counts, (size_t)queries, 1e6);
        bench_child_stop(&c, 30000);
        curl_easy_cleanup(h);
        bench_rm_rf(state);
        bench_delete_topics(prefix);

        bench_report_text(rep,
                          "%ld executions, %ld state records (3 per execution: a step, a callback, the execution; "
                          "60%% SUCCEEDED, 30%% SUSPENDED on the callback, 10%% FAILED) produced to %d partitions in "
                          "%.1f s, then `duraflow console` (a child process, defaults) indexed them from an empty "
                          "index.",
                          count, count * 3, partitions, (double)t_prod / 1e9);
        bench_report_text(rep, "| figure | value |\n| --- | --- |");
        bench_report_text(rep, "| ingest: start to every execution indexed, lag 0 | %.1f s = **%.0f state records/s** (%.0f executions/s); console CPU %.1f s |",
                          (double)t_idx / 1e9, (double)count * 3 / ((double)t_idx / 1e9),
                          (double)count / ((double)t_idx / 1e9), cpu);
        bench_report_text(rep, "| first page of a status-filtered list (50 rows, HTTP) | p50 **%s ms**, p95 %s, p99 %s, max %s (n=%zu) |",
                          bench_ms(pl.p50), bench_ms(pl.p95), bench_ms(pl.p99), bench_ms(pl.max), pl.n);
        bench_report_text(rep, "| describe one execution with its history (HTTP) | p50 **%s ms**, p95 %s, p99 %s, max %s |",
                          bench_ms(pd.p50), bench_ms(pd.p95), bench_ms(pd.p99), bench_ms(pd.max));
        bench_report_text(rep, "| counts per status / outcome / waiting (HTTP) | p50 %s ms, p99 %s |", bench_ms(pc.p50),
                          bench_ms(pc.p99));
        bench_report_text(rep, "| console memory | VmHWM **%.1f MB**, VmRSS %.1f MB |", hwm / 1024.0, rss / 1024.0);
        bench_report_text(rep, "| index on disk | %.1f MB = %.0f B/execution |", idx_disk / 1048576.0,
                          (double)idx_disk / (double)count);
        bench_report_csv(rep, "default", "ingest_records_per_s", (double)count * 3 / ((double)t_idx / 1e9), "records/s");
        bench_report_csv(rep, "default", "list_p50_ms", pl.p50, "ms");
        bench_report_csv(rep, "default", "list_p99_ms", pl.p99, "ms");
        bench_report_csv(rep, "default", "describe_p50_ms", pd.p50, "ms");
        bench_report_csv(rep, "default", "describe_p99_ms", pd.p99, "ms");
        bench_report_csv(rep, "default", "rss_hwm_mb", hwm / 1024.0, "MB");
        bench_report_finish(rep);
        free(b);
        return 0;
}
