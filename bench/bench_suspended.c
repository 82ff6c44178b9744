/*
 * bench_suspended -- many executions parked in a long wait: worker memory
 * and disk per execution.
 *
 * One worker runs as a child process (bench_node worker).  --count
 * executions (default 1,000,000) of the `park` workflow (one step, then a
 * 30-day durable wait) are started with df_client_start_async; no timer
 * service runs, so they all stay SUSPENDED.  When the worker has processed
 * every start, its peak RSS (VmHWM) and RSS are read, and the disk used per
 * execution: the worker's RocksDB directory, and the <prefix>.state and
 * <prefix>.timers logs on the broker.
 *
 * Usage: bench_suspended [--count 1000000] [--partitions 6] [--timeout-s 1800] [-X name=value ...]
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"
#include "bench_workflows.h"

typedef struct loader {
        df_client_t *client;
        long count;
        int64_t t_done;
        long errors;
} loader_t;

static void *loader_main(void *p)
{
        loader_t *l = p;
        char id[32], input[256], err[256];
        long i;
        for (i = 0; i < l->count; i++) {
                size_t n = bench_input(input, sizeof(input), i);
                snprintf(id, sizeof(id), "park-%ld", i);
                if (df_client_start_async(l->client, "park", id, input, n, err, sizeof(err)) != DF_OK &&
                    l->errors++ < 5)
                        fprintf(stderr, "start %s: %s\n", id, err);
        }
        if (df_client_flush(l->client, 300000) != DF_OK)
                fprintf(stderr, "client flush timed out\n");
        l->t_done = bench_mono_ns();
        return NULL;
}

int main(int argc, char **argv)
{
        long count = bench_arg_ll(argc, argv, "--count", 1000000);
        int partitions = (int)bench_arg_ll(argc, argv, "--partitions", 6);
        long timeout_s = bench_arg_ll(argc, argv, "--timeout-s", 1800);
        char prefix[128], state[256], errlog[300], e[512], line[1024], topic[300];
        df_conf_t *conf;
        df_client_t *client;
        bench_child_t w;
        bench_report_t *rep;
        loader_t ld;
        pthread_t lt;
        int64_t t0, t_proc = 0, deadline;
        long long events = 0, last_print = 0, dlq = 0;
        long hwm, rss, hwm_stats = 0;
        long long du_run, du_stopped, k_state, k_timers, k_events;
        double cpu_w = 0;
        int ok = 0;

        bench_brokers();
        rep = bench_report_new("suspended", "Suspended executions: worker memory and disk", argc, argv);
        bench_prefix(prefix, sizeof(prefix), "sus");
        snprintf(state, sizeof(state), "/tmp/duraflow-%s", prefix);
        snprintf(errlog, sizeof(errlog), "/tmp/%s-worker.log", prefix);
        conf = bench_conf(prefix, state, partitions);
        bench_conf_args(conf, argc, argv);
        client = df_client_new(conf, e, sizeof(e));
        if (!client) {
                fprintf(stderr, "client: %s\n", e);
                return 1;
        }
        if (bench_spawn_node(&w, "worker", prefix, state, "s1", partitions, argc, argv, NULL, errlog))
                return 1;
        fprintf(stderr, "starting %ld parked executions\n", count);
        memset(&ld, 0, sizeof(ld));
        ld.client = client;
        ld.count = count;
        t0 = bench_mono_ns();
        pthread_create(&lt, NULL, loader_main, &ld);
        deadline = t0 + timeout_s * 1000000000LL;
        while (bench_mono_ns() < deadline) {
                int r = bench_child_line(&w, line, sizeof(line), 1000);
                if (r < 0) {
                        fprintf(stderr, "worker exited (log %s)\n", errlog);
                        break;
                }
                if (r == 1 && !strncmp(line, "stats", 5)) {
                        events = bench_stat(line, "events");
                        dlq = bench_stat(line, "dlq");
                        hwm_stats = (long)bench_stat(line, "hwm_kb");
                        if (events / 100000 != last_print / 100000) {
                                fprintf(stderr, "  %lld processed, %.0f s, RSS peak %ld MB\n", events,
                                        (double)(bench_mono_ns() - t0) / 1e9, hwm_stats / 1024);
                                last_print = events;
                        }
                        if (events >= count) {
                                t_proc = bench_mono_ns();
                                ok = 1;
                                break;
                        }
                }
        }
        pthread_join(lt, NULL);
        if (!ok)
                fprintf(stderr, "only %lld of %ld starts processed within %ld s\n", events, count, timeout_s);
        /* idle a little: what a worker holding them costs at rest */
        {
                int64_t idle_end = bench_mono_ns() + 5000000000LL;
                while (bench_mono_ns() < idle_end)
                        bench_child_line(&w, line, sizeof(line), 500);
        }
        hwm = bench_vm_kb(w.pid, "VmHWM");
        rss = bench_vm_kb(w.pid, "VmRSS");
        cpu_w = bench_proc_cpu_s(w.pid);
        du_run = bench_du(state);
        snprintf(topic, sizeof(topic), "%s.state", prefix);
        k_state = bench_topic_disk(topic);
        snprintf(topic, sizeof(topic), "%s.timers", prefix);
        k_timers = bench_topic_disk(topic);
        snprintf(topic, sizeof(topic), "%s.events", prefix);
        k_events = bench_topic_disk(topic);
        bench_child_stop(&w, 60000);
        du_stopped = bench_du(state);
        df_client_destroy(client);

        bench_report_text(rep,
                          "%ld executions of `park` (one no-op step, then a 30-day `df_wait`; ~120-byte input) "
                          "started with df_client_start_async; one worker (`bench_node worker`, a child process), "
                          "no timer service, %d partitions, settings: %s.",
                          count, partitions,
                          *bench_conf_args_str(argc, argv) ? bench_conf_args_str(argc, argv) : "defaults");
        bench_report_text(rep, "%s", "");
        bench_report_text(rep, "| suspended executions | processed in (s) | starts/s | worker peak RSS (MB) | worker "
                               "RSS at rest (MB) | RocksDB on disk, running / stopped (MB) | RocksDB bytes per "
                               "execution (stopped) | broker `.state` log (MB; bytes/exec) | broker `.timers` log (MB; "
                               "bytes/exec) | broker `.events` log (MB) | worker CPU (s) | dead letters |");
        bench_report_text(rep, "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        bench_report_text(rep, "| %lld | %.1f | %.0f | %.1f | %.1f | %.1f / %.1f | %.0f | %.1f; %.0f | %.1f; %.0f | %.1f | "
                               "%.1f | %lld |",
                          events, t_proc ? (double)(t_proc - t0) / 1e9 : -1,
                          t_proc ? (double)events / ((double)(t_proc - t0) / 1e9) : 0, (double)hwm / 1024.0,
                          (double)rss / 1024.0, (double)du_run / 1048576.0, (double)du_stopped / 1048576.0,
                          events ? (double)du_stopped / (double)events : 0, (double)k_state / 1048576.0,
                          events ? (double)k_state / (double)events : 0, (double)k_timers / 1048576.0,
                          events ? (double)k_timers / (double)events : 0, (double)k_events / 1048576.0, cpu_w, dlq);
        {
                char cfg[160];
                snprintf(cfg, sizeof(cfg), "%s/n%ld", bench_arg(argc, argv, "--label", "default"), count);
                bench_report_csv(rep, cfg, "worker_peak_rss_mb", (double)hwm / 1024.0, "MB");
                bench_report_csv(rep, cfg, "worker_rss_mb", (double)rss / 1024.0, "MB");
                bench_report_csv(rep, cfg, "rocksdb_bytes_per_exec", events ? (double)du_stopped / (double)events : 0,
                                 "B");
                bench_report_csv(rep, cfg, "state_log_bytes_per_exec", events ? (double)k_state / (double)events : 0,
                                 "B");
                bench_report_csv(rep, cfg, "starts_per_s",
                                 t_proc ? (double)events / ((double)(t_proc - t0) / 1e9) : 0, "1/s");
        }
        bench_report_finish(rep);
        bench_delete_topics(prefix);
        bench_rm_rf(state);
        if (ok && !getenv("BENCH_KEEP_LOGS"))
                remove(errlog);
        else
                fprintf(stderr, "worker log: %s\n", errlog);
        df_conf_destroy(conf);
        return ok ? 0 : 1;
}
