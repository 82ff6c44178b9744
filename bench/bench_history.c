/*
 * bench_history -- one execution with a long history: what it costs the
 * worker to run and replay it (time, peak RSS), and what the worker holds
 * once it has ended (RSS at rest).
 *
 *   --workflow history  (default) --steps 2000 --bytes 102400:
 *       2,000 steps, each returning 100 KB (200 MB of history), run in one
 *       worker; consecutive steps run in one pass, so the whole history is
 *       built while the execution stays in memory.
 *   --workflow waits0 --steps 2000:
 *       2,000 durable waits of 0 ms, each fired by the timer service: 2,000
 *       replays over a history that grows by one operation each time (what
 *       replay cost does with history length).
 *
 * One worker and (for waits0) one timer service run as child processes
 * (bench_node).  Prints and appends to RESULTS.md: elapsed time, worker
 * peak RSS (VmHWM) and RSS 5 s after the end, worker CPU seconds.
 *
 * Usage: bench_history [--workflow history|waits0] [--steps N] [--bytes B] [--timeout-s 600] [-X name=value ...]
 */
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"

int main(int argc, char **argv)
{
        const char *wf = bench_arg(argc, argv, "--workflow", "history");
        long steps = bench_arg_ll(argc, argv, "--steps", 2000);
        long bytes = bench_arg_ll(argc, argv, "--bytes", 102400);
        long timeout_s = bench_arg_ll(argc, argv, "--timeout-s", 600);
        int waits = !strcmp(wf, "waits0");
        char prefix[128], state[256], errlog[300], tslog[300], e[512], line[1024], input[64];
        df_conf_t *conf;
        df_client_t *client;
        bench_child_t w, ts;
        bench_report_t *rep;
        int64_t t0, t_end = 0, deadline;
        long hwm = 0, rss = 0, rss_end = 0;
        double cpu = 0;
        int ok = 0, have_ts = 0;

        if (strcmp(wf, "history") && !waits) {
                fprintf(stderr, "bench_history: --workflow is history or waits0\n");
                return 2;
        }
        bench_brokers();
        rep = bench_report_new("history", "One execution with a long history: worker time and memory", argc, argv);
        bench_prefix(prefix, sizeof(prefix), "hist");
        snprintf(state, sizeof(state), "/tmp/duraflow-%s", prefix);
        snprintf(errlog, sizeof(errlog), "/tmp/%s-worker.log", prefix);
        snprintf(tslog, sizeof(tslog), "/tmp/%s-timers.log", prefix);
        conf = bench_conf(prefix, state, 1);
        bench_conf_args(conf, argc, argv);
        client = df_client_new(conf, e, sizeof(e));
        if (!client) {
                fprintf(stderr, "client: %s\n", e);
                return 1;
        }
        {
                /* the history limits (history.max.*, 3,000 operations and 100 MB by
                 * default) above this run's history, unless -X sets them */
                static char ops[64], bytes_x[64];
                const char *extra[3] = {NULL, NULL, NULL};
                int ne = 0;
                if (!strstr(bench_conf_args_str(argc, argv), "history.max.operations=")) {
                        snprintf(ops, sizeof(ops), "history.max.operations=%ld", steps + 100);
                        extra[ne++] = ops;
                }
                if (!strstr(bench_conf_args_str(argc, argv), "history.max.bytes=")) {
                        snprintf(bytes_x, sizeof(bytes_x), "history.max.bytes=%lld",
                                 (long long)steps * (bytes + 4096) + (64LL << 20));
                        extra[ne++] = bytes_x;
                }
                if (bench_spawn_node(&w, "worker", prefix, state, "h1", 1, argc, argv, extra, errlog))
                        return 1;
        }
        if (waits) {
                if (bench_spawn_node(&ts, "timers", prefix, state, "t1", 1, argc, argv, NULL, tslog))
                        return 1;
                have_ts = 1;
        }
        snprintf(input, sizeof(input), "%ld:%ld", steps, bytes);
        t0 = bench_mono_ns();
        if (df_client_start_async(client, wf, "long-1", input, strlen(input), e, sizeof(e)) != DF_OK ||
            df_client_flush(client, 30000) != DF_OK) {
                fprintf(stderr, "start: %s\n", e);
                return 1;
        }
        deadline = t0 + timeout_s * 1000000000LL;
        while (bench_mono_ns() < deadline) {
                int r = bench_child_line(&w, line, sizeof(line), 1000);
                if (r < 0) {
                        fprintf(stderr, "worker exited (log %s)\n", errlog);
                        break;
                }
                if (have_ts)
                        while (bench_child_line(&ts, line + 512, 500, 0) == 1)
                                ;
                if (r == 1 && !strncmp(line, "stats", 5)) {
                        long h = (long)bench_stat(line, "hwm_kb"), x = (long)bench_stat(line, "rss_kb");
                        if (h > hwm)
                                hwm = h;
                        if (x > rss)
                                rss = x;
                        if (bench_stat(line, "finished") >= 1) {
                                t_end = bench_mono_ns();
                                ok = 1;
                                break;
                        }
                }
        }
        if (ok) {
                int64_t idle = bench_mono_ns() + 5000000000LL;
                while (bench_mono_ns() < idle)
                        bench_child_line(&w, line, sizeof(line), 500);
                rss_end = bench_vm_kb(w.pid, "VmRSS");
                hwm = bench_vm_kb(w.pid, "VmHWM");
                cpu = bench_proc_cpu_s(w.pid);
        } else {
                fprintf(stderr, "the execution did not finish within %ld s\n", timeout_s);
        }
        bench_child_stop(&w, 60000);
        if (have_ts)
                bench_child_stop(&ts, 60000);
        df_client_destroy(client);
        bench_report_text(rep,
                          "One execution of `%s` (%ld %s%s), one worker (`bench_node worker`), %s1 partition, "
                          "settings: %s.",
                          wf, steps, waits ? "waits of 0 ms, each a separate replay" : "steps of ",
                          waits ? "" : bench_ms((double)bytes / 1024.0), waits ? "a timer service, " : "",
                          *bench_conf_args_str(argc, argv) ? bench_conf_args_str(argc, argv) : "defaults");
        if (!waits)
                bench_report_text(rep, "(step results of %ld bytes each: %.0f MB of history)", bytes,
                                  (double)steps * (double)bytes / 1048576.0);
        bench_report_text(rep, "%s", "");
        bench_report_text(rep, "| workflow | operations | elapsed (s) | worker peak RSS (MB) | worker RSS 5 s after "
                               "the end (MB) | worker CPU (s) |");
        bench_report_text(rep, "| --- | --- | --- | --- | --- | --- |");
        bench_report_text(rep, "| %s | %ld | %.1f | %.1f | %.1f | %.1f |", wf, steps,
                          ok ? (double)(t_end - t0) / 1e9 : -1.0, (double)hwm / 1024.0, (double)rss_end / 1024.0,
                          cpu);
        {
                char cfg[160];
                snprintf(cfg, sizeof(cfg), "%s/n%ld/b%ld", wf, steps, bytes);
                bench_report_csv(rep, cfg, "elapsed_s", ok ? (double)(t_end - t0) / 1e9 : -1.0, "s");
                bench_report_csv(rep, cfg, "worker_peak_rss_mb", (double)hwm / 1024.0, "MB");
                bench_report_csv(rep, cfg, "worker_rss_after_mb", (double)rss_end / 1024.0, "MB");
        }
        bench_report_finish(rep);
        bench_delete_topics(prefix);
        bench_rm_rf(state);
        if (ok && !getenv("BENCH_KEEP_LOGS")) {
                remove(errlog);
                remove(tslog);
        } else {
                fprintf(stderr, "worker log: %s\n", errlog);
        }
        df_conf_destroy(conf);
        return ok ? 0 : 1;
}
