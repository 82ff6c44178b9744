/*
 * bench_scaleout -- throughput and closed-loop latency with 1, 2, 4, 8 worker
 * processes over one set of partitions on a replicated cluster, with the
 * CPU each component used.
 *
 * For each worker count W (fresh topics each time, --partitions of them,
 * replication from -X replication.factor=N):
 *   - W `bench_node worker` child processes; the run starts once their logs
 *     show assignments that cover every partition and a warm-up of one
 *     execution per partition has finished;
 *   - throughput: --count noop3 executions started as fast as possible
 *     (df_client_start_async from a sender thread, results read on the main
 *     thread); executions/s = count / (last result - first start), steady =
 *     between 10 % and 90 % of the results;  CPU seconds of each worker
 *     process, of the brokers (their pids from the kafka.sh state file
 *     $DF_KAFKA_STATE), of this process (the client and the results reader)
 *     and of the rest of the machine (/proc/stat) over that window;
 *   - closed-loop latency: --concurrency executions outstanding at any time
 *     (each result starts the next) for --latency-s seconds; latency = start
 *     sent -> result seen, percentiles; executions/s achieved.
 *
 * Usage: bench_scaleout [--workers 1,2,4,8] [--partitions 24] [--count 20000]
 *        [--concurrency 16] [--latency-s 15] [--workflow noop3] [--label TEXT]
 *        [--jvm-warmup 20000] [-X name=value ...]
 * --jvm-warmup: executions of a throwaway run (2 workers) before the measured
 * ones, while the brokers' JVMs compile their hot paths (0: none).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench_common.h"
#include "bench_workflows.h"

#define MAXW 16
#define MAXB 9

static int g_argc;
static char **g_argv;

/* ---- CPU accounting ---- */

static double machine_busy(void)
{
        unsigned long long v[10] = {0};
        FILE *f = fopen("/proc/stat", "r");
        double hz = (double)sysconf(_SC_CLK_TCK);
        if (!f)
                return 0;
        if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6],
                   &v[7]) != 8) {
                fclose(f);
                return 0;
        }
        fclose(f);
        /* user nice system (idle iowait) irq softirq steal */
        return (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / hz;
}

typedef struct cpu_snap {
        double workers[MAXW], brokers, self, machine;
        int64_t t;
} cpu_snap_t;

static void snap(cpu_snap_t *s, const bench_child_t *w, int nw, const pid_t *b, int nb)
{
        int i;
        memset(s, 0, sizeof(*s));
        s->t = bench_mono_ns();
        for (i = 0; i < nw; i++)
                s->workers[i] = bench_proc_cpu_s(w[i].pid);
        for (i = 0; i < nb; i++)
                s->brokers += bench_proc_cpu_s(b[i]);
        s->self = bench_proc_cpu_s(0);
        s->machine = machine_busy();
}

/* ---- results ---- */

static long g_count, g_ndone, g_warm, g_failed;
static int64_t *g_sent, *g_done;
/* closed loop */
static int g_closed;
static long g_c_next, g_c_done, g_c_cap;
static int64_t *g_c_sent, *g_c_lat, g_c_until;
static df_client_t *g_client;
static const char *g_workflow = "noop3";

static void closed_start(void)
{
        char id[32], input[256], err[256];
        size_t n;
        long i = g_c_next;
        if (i >= g_c_cap)
                return;
        n = bench_input(input, sizeof(input), i);
        snprintf(id, sizeof(id), "c%ld", i);
        g_c_sent[i] = bench_mono_ns();
        g_c_next++;
        if (df_client_start_async(g_client, g_workflow, id, input, n, err, sizeof(err)) != DF_OK)
                fprintf(stderr, "start %s: %s\n", id, err);
}

static void on_result(const char *id, df_exec_status_t status, const df_bytes_t *out, const char *error,
                      void *opaque)
{
        int64_t now = bench_mono_ns();
        long i;
        (void)out;
        (void)opaque;
        if (status != DF_EXEC_SUCCEEDED && g_failed++ < 5)
                fprintf(stderr, "execution %s: %s %s\n", id, df_exec_status_name(status), error ? error : "");
        if (id[0] == 'w') {
                g_warm++;
                return;
        }
        i = atol(id + 1);
        if (id[0] == 'e' && i >= 0 && i < g_count && !g_done[i]) {
                g_done[i] = now;
                g_ndone++;
        } else if (id[0] == 'c' && i >= 0 && i < g_c_next && !g_c_lat[i]) {
                g_c_lat[i] = now - g_c_sent[i];
                g_c_done++;
                if (g_closed && now < g_c_until)
                        closed_start();
        }
}

typedef struct sender {
        long count;
        int64_t t_first, t_last;
} sender_t;

static void *sender_main(void *p)
{
        sender_t *s = p;
        char id[32], input[256], err[256];
        long i;
        s->t_first = bench_mono_ns();
        for (i = 0; i < s->count; i++) {
                size_t n = bench_input(input, sizeof(input), i);
                snprintf(id, sizeof(id), "e%ld", i);
                g_sent[i] = bench_mono_ns();
                if (df_client_start_async(g_client, g_workflow, id, input, n, err, sizeof(err)) != DF_OK)
                        fprintf(stderr, "start %s: %s\n", id, err);
        }
        if (df_client_flush(g_client, 60000) != DF_OK)
                fprintf(stderr, "client flush timed out\n");
        s->t_last = bench_mono_ns();
        return NULL;
}

/* the partitions each worker's log says it was last assigned; their sum */
static int assigned_sum(const char *state, int nw, int *last_change_ok)
{
        int i, sum = 0;
        static int prev = -1;
        for (i = 0; i < nw; i++) {
                char path[512], line[1024];
                int last = 0;
                FILE *f;
                snprintf(path, sizeof(path), "%s/w%d.log", state, i);
                if (!(f = fopen(path, "r")))
                        continue;
                while (fgets(line, sizeof(line), f)) {
                        const char *a = strstr(line, ": assigned ");
                        if (a)
                                last = atoi(a + 11);
                        else if (strstr(line, ": revoked "))
                                last = 0;
                }
                fclose(f);
                sum += last;
        }
        *last_change_ok = sum == prev;
        prev = sum;
        return sum;
}

/* Read what the workers printed (their stdout is a pipe: unread, it would
 * fill and block them), keeping each one's last stats line. */
static char g_stats[MAXW][512];

static void drain(bench_child_t *w, int nw)
{
        char line[512];
        int i;
        for (i = 0; i < nw; i++)
                while (bench_child_line(&w[i], line, sizeof(line), 0) == 1)
                        if (!strncmp(line, "stats ", 6))
                                snprintf(g_stats[i], sizeof(g_stats[i]), "%s", line);
}

/* sum of a stats counter over the workers' last lines */
static long long stat_sum(int nw, const char *key)
{
        long long s = 0;
        int i;
        for (i = 0; i < nw; i++) {
                long long v = bench_stat(g_stats[i], key);
                if (v > 0)
                        s += v;
        }
        return s;
}

typedef struct row {
        int workers;
        long done, failed;
        double exec_s, steady_s, wall;
        double cpu_w_sum, cpu_w_max, cpu_b, cpu_self, cpu_other, cpu_b_idle, ev_per_batch;
        double c_exec_s;
        long c_done;
        bench_pct_t lat;
} row_t;

static int run(int nw, int partitions, long count, int conc, int latency_s, row_t *r)
{
        char prefix[128], state[256], err[512], id[32], input[256];
        bench_child_t w[MAXW];
        pid_t bp[MAXB];
        int nb = bench_broker_pids(bp, MAXB), i, stable = 0, same;
        df_conf_t *conf;
        df_results_t *rr;
        sender_t snd;
        pthread_t st;
        cpu_snap_t c0, c1;
        int64_t deadline, t_last = 0, *v;
        long j, n;

        memset(r, 0, sizeof(*r));
        r->workers = nw;
        bench_prefix(prefix, sizeof(prefix), "scale");
        snprintf(state, sizeof(state), "/tmp/duraflow-%s", prefix);
        mkdir(state, 0755);
        conf = bench_conf(prefix, state, partitions);
        bench_conf_args(conf, g_argc, g_argv);
        g_client = df_client_new(conf, err, sizeof(err));
        if (!g_client) {
                fprintf(stderr, "client: %s\n", err);
                return -1;
        }
        rr = df_results_open(conf, 0, err, sizeof(err));
        if (!rr) {
                fprintf(stderr, "results: %s\n", err);
                return -1;
        }
        for (i = 0; i < nw; i++) {
                char wid[32], log[512];
                snprintf(wid, sizeof(wid), "w%d", i);
                snprintf(log, sizeof(log), "%s/w%d.log", state, i);
                if (bench_spawn_node(&w[i], "worker", prefix, state, wid, partitions, g_argc, g_argv, NULL, log)) {
                        fprintf(stderr, "worker %d did not start (see %s)\n", i, log);
                        return -1;
                }
        }
        /* the group is stable: assignments cover every partition, unchanged for 2 s */
        deadline = bench_mono_ns() + 180LL * 1000000000;
        while (bench_mono_ns() < deadline) {
                int sum = assigned_sum(state, nw, &same);
                drain(w, nw);
                stable = sum == partitions && same ? stable + 1 : 0;
                if (stable >= 4)
                        break;
                bench_sleep_ns(500000000LL);
        }
        if (stable < 4)
                fprintf(stderr, "W=%d: the group did not settle on %d partitions within 180 s\n", nw, partitions);
        /* warm-up: one execution per partition at least */
        g_warm = 0;
        for (j = 0; j < 4L * partitions; j++) {
                snprintf(id, sizeof(id), "w%ld", j);
                df_client_start_async(g_client, g_workflow, id, input, bench_input(input, sizeof(input), j), err,
                                      sizeof(err));
        }
        df_client_flush(g_client, 30000);
        deadline = bench_mono_ns() + 90LL * 1000000000;
        while (g_warm < 4L * partitions && bench_mono_ns() < deadline) {
                df_results_poll(rr, 100, on_result, NULL);
                drain(w, nw);
        }
        if (g_warm < 4L * partitions) {
                fprintf(stderr, "W=%d: warm-up: %ld of %ld\n", nw, g_warm, 4L * partitions);
                return -1;
        }

        /* the brokers' CPU with the workers and readers idle (their fetches
         * poll every fetch.wait.max.ms, 10 ms, each broker) */
        {
                cpu_snap_t i0, i1;
                snap(&i0, w, nw, bp, nb);
                for (j = 0; j < 30; j++) {
                        df_results_poll(rr, 100, on_result, NULL);
                        drain(w, nw);
                }
                snap(&i1, w, nw, bp, nb);
                r->cpu_b_idle = 100 * (i1.brokers - i0.brokers) / ((double)(i1.t - i0.t) / 1e9);
        }

        /* throughput */
        g_count = count;
        g_ndone = g_failed = 0;
        free(g_sent);
        free(g_done);
        g_sent = calloc((size_t)count, sizeof(int64_t));
        g_done = calloc((size_t)count, sizeof(int64_t));
        memset(&snd, 0, sizeof(snd));
        snd.count = count;
        bench_sleep_ns(300000000LL);
        drain(w, nw);
        {
                long long ev0 = stat_sum(nw, "events"), b0 = stat_sum(nw, "batches");
                snap(&c0, w, nw, bp, nb);
                pthread_create(&st, NULL, sender_main, &snd);
                deadline = bench_mono_ns() + 300LL * 1000000000;
                while (g_ndone < count && bench_mono_ns() < deadline) {
                        df_results_poll(rr, 50, on_result, NULL);
                        drain(w, nw);
                }
                snap(&c1, w, nw, bp, nb);
                bench_sleep_ns(300000000LL);
                drain(w, nw);
                if (stat_sum(nw, "batches") > b0)
                        r->ev_per_batch = (double)(stat_sum(nw, "events") - ev0) / (double)(stat_sum(nw, "batches") - b0);
        }
        pthread_join(st, NULL);
        r->done = g_ndone;
        r->failed = g_failed;
        v = malloc(sizeof(int64_t) * (size_t)count);
        for (n = 0, j = 0; j < count; j++)
                if (g_done[j]) {
                        v[n++] = g_done[j];
                        if (g_done[j] > t_last)
                                t_last = g_done[j];
                }
        if (n) {
                int64_t t10, t90;
                bench_percentiles(v, (size_t)n, 1); /* sorts */
                t10 = v[n / 10];
                t90 = v[(n * 9) / 10 - (n >= 10 ? 1 : 0)];
                r->wall = (double)(t_last - snd.t_first) / 1e9;
                r->exec_s = (double)n / r->wall;
                r->steady_s = t90 > t10 ? (double)((n * 9) / 10 - n / 10) / ((double)(t90 - t10) / 1e9) : 0;
        }
        free(v);
        {
                double wall = (double)(c1.t - c0.t) / 1e9, all = c1.machine - c0.machine, wsum = 0;
                for (i = 0; i < nw; i++) {
                        double d = c1.workers[i] - c0.workers[i];
                        wsum += d;
                        if (d > r->cpu_w_max)
                                r->cpu_w_max = d;
                }
                r->cpu_w_sum = 100 * wsum / wall;
                r->cpu_w_max = 100 * r->cpu_w_max / wall;
                r->cpu_b = 100 * (c1.brokers - c0.brokers) / wall;
                r->cpu_self = 100 * (c1.self - c0.self) / wall;
                r->cpu_other = 100 * (all - wsum - (c1.brokers - c0.brokers) - (c1.self - c0.self)) / wall;
                if (r->cpu_other < 0)
                        r->cpu_other = 0;
        }

        /* closed loop: conc outstanding for latency_s */
        g_c_cap = (long)conc + 20000L * latency_s;
        free(g_c_sent);
        free(g_c_lat);
        g_c_sent = calloc((size_t)g_c_cap, sizeof(int64_t));
        g_c_lat = calloc((size_t)g_c_cap, sizeof(int64_t));
        g_c_next = g_c_done = 0;
        g_closed = 1;
        {
                int64_t t0 = bench_mono_ns();
                g_c_until = t0 + (int64_t)latency_s * 1000000000;
                for (i = 0; i < conc; i++)
                        closed_start();
                while (bench_mono_ns() < g_c_until) {
                        df_results_poll(rr, 20, on_result, NULL);
                        drain(w, nw);
                }
                r->c_exec_s = (double)g_c_done / ((double)(bench_mono_ns() - t0) / 1e9);
                g_closed = 0;
                deadline = bench_mono_ns() + 30LL * 1000000000;
                while (g_c_done < g_c_next && bench_mono_ns() < deadline) {
                        df_results_poll(rr, 50, on_result, NULL);
                        drain(w, nw);
                }
        }
        r->c_done = g_c_done;
        v = malloc(sizeof(int64_t) * (size_t)(g_c_next + 1));
        for (n = 0, j = 0; j < g_c_next; j++)
                if (g_c_lat[j])
                        v[n++] = g_c_lat[j];
        r->lat = bench_percentiles(v, (size_t)n, 1e6);
        free(v);

        for (i = 0; i < nw; i++)
                bench_child_stop(&w[i], 30000);
        df_results_close(rr);
        df_client_destroy(g_client);
        g_client = NULL;
        df_conf_destroy(conf);
        bench_delete_topics(prefix);
        bench_rm_rf(state);
        return 0;
}

int main(int argc, char **argv)
{
        const char *wl = bench_arg(argc, argv, "--workers", "1,2,4,8");
        int partitions = (int)bench_arg_ll(argc, argv, "--partitions", 24);
        long count = bench_arg_ll(argc, argv, "--count", 20000);
        int conc = (int)bench_arg_ll(argc, argv, "--concurrency", 16);
        int latency_s = (int)bench_arg_ll(argc, argv, "--latency-s", 15);
        const char *label = bench_arg(argc, argv, "--label", "default");
        long warm_count = bench_arg_ll(argc, argv, "--jvm-warmup", 20000);
        char list[128], *tok, *save = NULL;
        row_t rows[8];
        int nrows = 0, i, nb;
        pid_t bp[MAXB];
        bench_report_t *rep;

        g_argc = argc;
        g_argv = argv;
        g_workflow = bench_arg(argc, argv, "--workflow", "noop3");
        bench_brokers();
        nb = bench_broker_pids(bp, MAXB);
        /* the brokers' JVMs compile their hot paths during the first minutes
         * (more than a core each on a busy machine): a throwaway run first */
        if (warm_count > 0) {
                row_t dummy;
                fprintf(stderr, "bench_scaleout: warming the brokers up (%ld executions, 2 workers, not reported)\n",
                        warm_count);
                run(2, partitions, warm_count, conc, 5, &dummy);
        }
        rep = bench_report_new("scaleout", "Scale-out: worker processes on a replicated cluster", argc, argv);
        snprintf(list, sizeof(list), "%s", wl);
        for (tok = strtok_r(list, ",", &save); tok && nrows < 8; tok = strtok_r(NULL, ",", &save)) {
                int nw = atoi(tok);
                if (nw < 1 || nw > MAXW)
                        continue;
                fprintf(stderr, "bench_scaleout: %d worker process(es), %d partitions (load %.2f)\n", nw, partitions,
                        bench_load1());
                if (run(nw, partitions, count, conc, latency_s, &rows[nrows]) == 0) {
                        row_t *r = &rows[nrows];
                        fprintf(stderr,
                                "  %d: %.0f exec/s (steady %.0f), %.1f events/batch, workers %.0f%% (max %.0f%%), "
                                "brokers %.0f%% (idle %.0f%%), client %.0f%%, other %.0f%%; closed loop %.0f exec/s, "
                                "p50 %.1f p99 %.1f ms\n",
                                nw, r->exec_s, r->steady_s, r->ev_per_batch, r->cpu_w_sum, r->cpu_w_max, r->cpu_b,
                                r->cpu_b_idle, r->cpu_self, r->cpu_other, r->c_exec_s, r->lat.p50, r->lat.p99);
                        nrows++;
                }
        }
        bench_report_text(rep,
                          "Workflow `%s` (3 no-op steps), %d partitions, `bench_node worker` child processes (one "
                          "worker each), %d broker process(es) from $DF_KAFKA_STATE, settings: %s. Throughput: %ld "
                          "executions started as fast as possible (one client thread); CPU = CPU time over that "
                          "window / its wall time (100%% = one core; the machine has 2); idle = the brokers over 3 s "
                          "before it, the workers and readers running with nothing to do. Closed loop: %d executions "
                          "outstanding for %d s, latency = start sent -> result seen.\n",
                          g_workflow, partitions, nb, *bench_conf_args_str(argc, argv) ? bench_conf_args_str(argc, argv)
                                                                                       : "defaults",
                          count, conc, latency_s);
        bench_report_text(rep, "| worker processes | executions/s | steady executions/s | step transitions/s | events per "
                               "batch | CPU workers, sum (max one) | CPU brokers (all) | CPU brokers, idle group | CPU "
                               "client + reader | CPU other processes | closed loop executions/s | closed loop p50 / "
                               "p95 / p99 / max (ms) | failed |");
        bench_report_text(rep, "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        for (i = 0; i < nrows; i++) {
                row_t *r = &rows[i];
                char cfg[64];
                bench_report_text(rep,
                                  "| %d | %.0f | %.0f | %.0f | %.1f | %.0f%% (%.0f%%) | %.0f%% | %.0f%% | %.0f%% | %.0f%% | "
                                  "%.0f | %.1f / %.1f / %.1f / %.1f | %ld |",
                                  r->workers, r->exec_s, r->steady_s, 3 * r->exec_s, r->ev_per_batch, r->cpu_w_sum,
                                  r->cpu_w_max, r->cpu_b, r->cpu_b_idle, r->cpu_self, r->cpu_other, r->c_exec_s,
                                  r->lat.p50, r->lat.p95, r->lat.p99, r->lat.max, r->failed);
                snprintf(cfg, sizeof(cfg), "%s-w%d", label, r->workers);
                bench_report_csv(rep, cfg, "scaleout_exec_s", r->exec_s, "1/s");
                bench_report_csv(rep, cfg, "scaleout_closed_p50_ms", r->lat.p50, "ms");
                bench_report_csv(rep, cfg, "scaleout_closed_p99_ms", r->lat.p99, "ms");
                bench_report_csv(rep, cfg, "scaleout_cpu_workers_pct", r->cpu_w_sum, "%");
                bench_report_csv(rep, cfg, "scaleout_cpu_brokers_pct", r->cpu_b, "%");
        }
        bench_report_finish(rep);
        return nrows ? 0 : 1;
}
