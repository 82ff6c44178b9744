/*
 * bench_throughput -- throughput and latency of a 3-step workflow against the
 * real broker.
 *
 * One process: W workers (threads), a client sending starts
 * (df_client_start_async, then df_client_flush) from its own thread, and a
 * results reader (df_results_open) on the main thread.  Each run uses fresh
 * topics (its own prefix) and a warm-up so that the group is stable.
 *
 *   closed : start --count executions as fast as possible; throughput =
 *            executions / (last result seen - first start sent), and the
 *            steady rate between 10 % and 90 % of the results.
 *   open   : start them at a fixed rate (--rate, default half of the closed
 *            run's executions/s with the same workers) for --open-s seconds
 *            (at least --count executions), latency percentiles.
 *
 * Latencies (monotonic clock; step bodies timestamp themselves):
 *   execution         start sent -> result seen on <prefix>.results
 *   step k start      step k runnable (start sent for step 1, step k-1 returned
 *                     otherwise) -> step k body entered
 *   step k durable    step k runnable -> its checkpoint visible to a
 *                     read_committed reader (the result of the execution,
 *                     written in the same transaction as the checkpoints, seen)
 *
 * Usage: bench_throughput [--count 20000] [--workers 1,2] [--modes closed,open]
 *        [--rate R] [--partitions 6] [--workflow noop3|amo3|io3] [--warmup 200]
 *        [--timeout-s 300] [--open-s 15] [--repeat 3] [--rates R1,R2] [--label TEXT] [-X name=value ...]
 * --rates adds open-loop runs at those fixed rates (executions/s).
 * The closed loop runs --repeat times; the median run (by executions/s)
 * goes to results.csv and sets the open-loop rate.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bench_common.h"
#include "bench_workflows.h"

#define MAXW 8

static long g_count;
static int64_t *g_sent, *g_done, *g_in[3], *g_out[3];
static long g_ndone, g_nfailed, g_warm_done;
static int g_nsteps = 3;

static void step_hook(const char *exec, int step, int64_t t_in, int64_t t_out)
{
        long i;
        if (exec[0] != 'e' || step < 1 || step > 3)
                return;
        i = atol(exec + 1);
        if (i < 0 || i >= g_count)
                return;
        __atomic_store_n(&g_in[step - 1][i], t_in, __ATOMIC_RELAXED);
        __atomic_store_n(&g_out[step - 1][i], t_out, __ATOMIC_RELAXED);
}

static void on_result(const char *id, df_exec_status_t status, const df_bytes_t *out, const char *error,
                      void *opaque)
{
        int64_t now = bench_mono_ns();
        (void)out;
        (void)opaque;
        if (id[0] == 'w') {
                g_warm_done++;
                return;
        }
        if (id[0] == 'e') {
                long i = atol(id + 1);
                if (i >= 0 && i < g_count && !g_done[i]) {
                        g_done[i] = now;
                        g_ndone++;
                        if (status != DF_EXEC_SUCCEEDED) {
                                if (g_nfailed++ < 5)
                                        fprintf(stderr, "execution %s: %s %s\n", id, df_exec_status_name(status),
                                                error ? error : "");
                        }
                }
        }
}

typedef struct sender {
        df_client_t *client;
        const char *workflow;
        long count;
        double rate; /* 0 = as fast as possible */
        int64_t t_first, t_last_sent, t_flushed;
        long errors;
} sender_t;

static void *sender_main(void *p)
{
        sender_t *s = p;
        char id[32], input[256], err[256];
        int64_t t0 = bench_mono_ns();
        long i;
        s->t_first = t0;
        for (i = 0; i < s->count; i++) {
                size_t n = bench_input(input, sizeof(input), i);
                if (s->rate > 0) {
                        int64_t target = t0 + (int64_t)((double)i * 1e9 / s->rate);
                        int64_t now = bench_mono_ns();
                        if (target > now)
                                bench_sleep_ns(target - now);
                }
                snprintf(id, sizeof(id), "e%ld", i);
                g_sent[i] = bench_mono_ns();
                if (df_client_start_async(s->client, s->workflow, id, input, n, err, sizeof(err)) != DF_OK) {
                        if (s->errors++ < 5)
                                fprintf(stderr, "start %s: %s\n", id, err);
                }
        }
        s->t_last_sent = bench_mono_ns();
        if (df_client_flush(s->client, 60000) != DF_OK)
                fprintf(stderr, "client flush timed out\n");
        s->t_flushed = bench_mono_ns();
        return NULL;
}

static void *worker_main(void *p)
{
        df_err_t rc = df_worker_run(p);
        if (rc != DF_OK)
                fprintf(stderr, "worker stopped: %s\n", df_strerror(rc));
        return NULL;
}

typedef struct result {
        int workers;
        const char *mode;
        double offered, exec_s, steady_s, send_s;
        long done, failed;
        long count;
        int rep, median; /* closed-loop repetition (1..), the median one */
        bench_pct_t exec, start[3], durable[3];
        double cpu_self, cpu_broker, wall;
        uint64_t events, batches, aborts;
} result_t;

static int g_argc;
static char **g_argv;

static int run(int workers, const char *mode, double rate, long count, int partitions, const char *workflow,
               long warmup, int timeout_s, result_t *res)
{
        char prefix[128], state[256], err[512], id[32], input[256];
        df_conf_t *conf;
        df_client_t *client;
        df_results_t *rr;
        df_worker_t *w[MAXW];
        pthread_t wt[MAXW], st;
        sender_t snd;
        int i, k, ok = 0;
        long j, warm_sent = 0;
        int64_t deadline, t_last = 0, *v;
        double cpu0, bcpu0;
        pid_t bpid = bench_broker_pid();
        df_worker_stats_t ws;

        memset(res, 0, sizeof(*res));
        res->workers = workers;
        res->mode = mode;
        bench_prefix(prefix, sizeof(prefix), "tp");
        snprintf(state, sizeof(state), "/tmp/duraflow-%s", prefix);
        conf = bench_conf(prefix, state, partitions);
        bench_conf_args(conf, g_argc, g_argv);
        client = df_client_new(conf, err, sizeof(err));
        if (!client) {
                fprintf(stderr, "client: %s\n", err);
                return -1;
        }
        rr = df_results_open(conf, 1, err, sizeof(err));
        if (!rr) {
                fprintf(stderr, "results: %s\n", err);
                return -1;
        }
        for (i = 0; i < workers; i++) {
                char wid[32];
                df_conf_t *wc = df_conf_dup(conf);
                snprintf(wid, sizeof(wid), "w%d", i);
                bench_conf_set(wc, "worker.id", wid);
                w[i] = df_worker_new(wc, err, sizeof(err));
                df_conf_destroy(wc);
                if (!w[i]) {
                        fprintf(stderr, "worker: %s\n", err);
                        return -1;
                }
                bench_register_all(w[i]);
                pthread_create(&wt[i], NULL, worker_main, w[i]);
        }

        /* warm-up: until every worker processed events and the warm
         * executions all finished (the group is stable) */
        g_warm_done = 0;
        deadline = bench_mono_ns() + 90LL * 1000000000;
        while (bench_mono_ns() < deadline) {
                int all = 1;
                for (j = 0; j < warmup; j++) {
                        snprintf(id, sizeof(id), "w%ld", warm_sent++);
                        df_client_start_async(client, workflow, id, input, bench_input(input, sizeof(input), j), err,
                                              sizeof(err));
                }
                df_client_flush(client, 30000);
                while (g_warm_done < warm_sent && bench_mono_ns() < deadline)
                        df_results_poll(rr, 100, on_result, NULL);
                for (i = 0; i < workers; i++) {
                        df_worker_get_stats(w[i], &ws);
                        if (ws.events == 0)
                                all = 0;
                }
                if (all && g_warm_done >= warm_sent) {
                        ok = 1;
                        break;
                }
        }
        if (!ok) {
                fprintf(stderr, "warm-up did not finish (%ld of %ld)\n", g_warm_done, warm_sent);
                return -1;
        }
        bench_sleep_ns(1000000000LL); /* let the group settle */
        for (i = 0; i < workers; i++) {
                df_worker_get_stats(w[i], &ws);
                res->events -= ws.events;
                res->batches -= ws.batches;
                res->aborts -= ws.aborts;
        }

        /* measured run */
        free(g_sent);
        free(g_done);
        g_sent = calloc((size_t)count, sizeof(int64_t));
        g_done = calloc((size_t)count, sizeof(int64_t));
        for (k = 0; k < 3; k++) {
                free(g_in[k]);
                free(g_out[k]);
                g_in[k] = calloc((size_t)count, sizeof(int64_t));
                g_out[k] = calloc((size_t)count, sizeof(int64_t));
        }
        g_count = count;
        g_ndone = g_nfailed = 0;
        memset(g_sent, 0, sizeof(int64_t) * (size_t)count);
        memset(g_done, 0, sizeof(int64_t) * (size_t)count);
        for (k = 0; k < 3; k++) {
                memset(g_in[k], 0, sizeof(int64_t) * (size_t)count);
                memset(g_out[k], 0, sizeof(int64_t) * (size_t)count);
        }
        memset(&snd, 0, sizeof(snd));
        snd.client = client;
        snd.workflow = workflow;
        snd.count = count;
        snd.rate = rate;
        res->offered = rate;
        cpu0 = bench_proc_cpu_s(0);
        bcpu0 = bpid ? bench_proc_cpu_s(bpid) : -1;
        pthread_create(&st, NULL, sender_main, &snd);
        deadline = bench_mono_ns() + (int64_t)timeout_s * 1000000000;
        while (g_ndone < count && bench_mono_ns() < deadline)
                df_results_poll(rr, 50, on_result, NULL);
        pthread_join(st, NULL);
        res->cpu_self = bench_proc_cpu_s(0) - cpu0;
        res->cpu_broker = bpid && bcpu0 >= 0 ? bench_proc_cpu_s(bpid) - bcpu0 : -1;
        for (i = 0; i < workers; i++) {
                df_worker_get_stats(w[i], &ws);
                res->events += ws.events;
                res->batches += ws.batches;
                res->aborts += ws.aborts;
        }
        res->done = g_ndone;
        res->count = count;
        res->failed = g_nfailed;
        if (g_ndone < count)
                fprintf(stderr, "only %ld of %ld executions finished within %d s\n", g_ndone, count, timeout_s);

        /* figures */
        v = malloc(sizeof(int64_t) * (size_t)count);
        {
                size_t n = 0;
                for (j = 0; j < count; j++)
                        if (g_done[j]) {
                                v[n++] = g_done[j];
                                if (g_done[j] > t_last)
                                        t_last = g_done[j];
                        }
                if (n) {
                        bench_pct_t p;
                        int64_t t10, t90;
                        p = bench_percentiles(v, n, 1); /* sorts the completion times */
                        (void)p;
                        t10 = v[n / 10];
                        t90 = v[(n * 9) / 10 - (n >= 10 ? 1 : 0)];
                        res->wall = (double)(t_last - snd.t_first) / 1e9;
                        res->exec_s = (double)n / res->wall;
                        res->steady_s = t90 > t10 ? (double)((n * 9) / 10 - n / 10) / ((double)(t90 - t10) / 1e9) : 0;
                }
                res->send_s = snd.t_last_sent > snd.t_first
                                      ? (double)count / ((double)(snd.t_last_sent - snd.t_first) / 1e9)
                                      : 0;
                n = 0;
                for (j = 0; j < count; j++)
                        if (g_done[j])
                                v[n++] = g_done[j] - g_sent[j];
                res->exec = bench_percentiles(v, n, 1e6);
                for (k = 0; k < g_nsteps; k++) {
                        n = 0;
                        for (j = 0; j < count; j++) {
                                int64_t ready = k == 0 ? g_sent[j] : g_out[k - 1][j];
                                if (g_done[j] && g_in[k][j] && ready)
                                        v[n++] = g_in[k][j] - ready;
                        }
                        res->start[k] = bench_percentiles(v, n, 1e6);
                        n = 0;
                        for (j = 0; j < count; j++) {
                                int64_t ready = k == 0 ? g_sent[j] : g_out[k - 1][j];
                                if (g_done[j] && ready)
                                        v[n++] = g_done[j] - ready;
                        }
                        res->durable[k] = bench_percentiles(v, n, 1e6);
                }
        }
        free(v);

        for (i = 0; i < workers; i++)
                df_worker_stop(w[i]);
        for (i = 0; i < workers; i++) {
                pthread_join(wt[i], NULL);
                df_worker_destroy(w[i]);
        }
        df_results_close(rr);
        df_client_destroy(client);
        df_conf_destroy(conf);
        bench_delete_topics(prefix);
        bench_rm_rf(state);
        return g_ndone == count ? 0 : 1;
}

static void print_progress(const result_t *r)
{
        fprintf(stderr,
                "  workers=%d mode=%s offered=%.0f/s -> %.0f exec/s (steady %.0f), exec p50 %.2f p99 %.2f max %.1f ms, "
                "batch %.1f events, cpu self %.1f s broker %.1f s, %ld failed\n",
                r->workers, r->mode, r->offered, r->exec_s, r->steady_s, r->exec.p50, r->exec.p99, r->exec.max,
                r->batches ? (double)r->events / (double)r->batches : 0, r->cpu_self, r->cpu_broker, r->failed);
}

int main(int argc, char **argv)
{
        long count = bench_arg_ll(argc, argv, "--count", 20000);
        const char *wl = bench_arg(argc, argv, "--workers", "1,2");
        const char *modes = bench_arg(argc, argv, "--modes", "closed,open");
        double rate_arg = (double)bench_arg_ll(argc, argv, "--rate", 0);
        int partitions = (int)bench_arg_ll(argc, argv, "--partitions", 6);
        const char *workflow = bench_arg(argc, argv, "--workflow", "noop3");
        long warmup = bench_arg_ll(argc, argv, "--warmup", 200);
        long open_s = bench_arg_ll(argc, argv, "--open-s", 15);
        int repeat = (int)bench_arg_ll(argc, argv, "--repeat", 3);
        const char *rates = bench_arg(argc, argv, "--rates", NULL);
        int timeout_s = (int)bench_arg_ll(argc, argv, "--timeout-s", 300);
        const char *label = bench_arg(argc, argv, "--label", "default");
        result_t res[32];
        int nres = 0, k, i;
        char wbuf[64], *save = NULL, *tok;
        bench_report_t *rep;
        double best1 = 0;

        bench_brokers();
        g_argc = argc;
        g_argv = argv;
        g_nsteps = 3;
        bench_step_hook = step_hook;
        rep = bench_report_new("throughput", "Throughput and latency: 3-step workflow", argc, argv);

        snprintf(wbuf, sizeof(wbuf), "%s", wl);
        for (tok = strtok_r(wbuf, ",", &save); tok && nres < 30; tok = strtok_r(NULL, ",", &save)) {
                int workers = atoi(tok);
                double closed_rate = 0;
                if (workers < 1 || workers > MAXW)
                        continue;
                if (strstr(modes, "closed")) {
                        int first = nres, r, m;
                        for (r = 0; r < repeat && nres < 30; r++) {
                                fprintf(stderr, "run: %d worker(s), closed loop, %ld executions of %s (%d of %d)\n",
                                        workers, count, workflow, r + 1, repeat);
                                if (run(workers, "closed", 0, count, partitions, workflow, warmup, timeout_s,
                                        &res[nres]) < 0)
                                        return 1;
                                res[nres].rep = r + 1;
                                print_progress(&res[nres]);
                                nres++;
                        }
                        /* the median run by executions/s stands for this configuration */
                        for (m = first, r = first; r < nres; r++) {
                                int below = 0, above = 0, q;
                                for (q = first; q < nres; q++) {
                                        below += res[q].exec_s < res[r].exec_s;
                                        above += res[q].exec_s > res[r].exec_s;
                                }
                                if (below <= (nres - first) / 2 && above <= (nres - first) / 2) {
                                        m = r;
                                        break;
                                }
                        }
                        res[m].median = 1;
                        closed_rate = res[m].exec_s; /* first start sent -> last result seen */
                        if (workers == 1)
                                best1 = res[m].exec_s;
                }
                if (strstr(modes, "open")) {
                        double rate = rate_arg > 0 ? rate_arg : closed_rate / 2;
                        long n;
                        if (rate <= 0)
                                rate = 500;
                        n = (long)(rate * (double)open_s);
                        if (n < count)
                                n = count;
                        fprintf(stderr, "run: %d worker(s), open loop at %.0f/s, %ld executions of %s\n", workers,
                                rate, n, workflow);
                        if (run(workers, "open", rate, n, partitions, workflow, warmup, timeout_s, &res[nres]) < 0)
                                return 1;
                        print_progress(&res[nres]);
                        nres++;
                        if (res[nres - 1].exec_s < 0.95 * rate && rate_arg <= 0 && nres < 30) {
                                /* half of the burst rate is not sustainable: also measure at a quarter */
                                rate /= 2;
                                n = (long)(rate * (double)open_s);
                                if (n < count)
                                        n = count;
                                fprintf(stderr, "run: %d worker(s), open loop did not keep up; again at %.0f/s\n",
                                        workers, rate);
                                if (run(workers, "open2", rate, n, partitions, workflow, warmup, timeout_s,
                                        &res[nres]) < 0)
                                        return 1;
                                print_progress(&res[nres]);
                                nres++;
                        }
                }
                if (rates && *rates) {
                        /* fixed open-loop rates (e.g. the target load) */
                        char rb[128], *rs = NULL, *rt;
                        snprintf(rb, sizeof(rb), "%s", rates);
                        for (rt = strtok_r(rb, ",", &rs); rt && nres < 30; rt = strtok_r(NULL, ",", &rs)) {
                                double rate = atof(rt);
                                long n = (long)(rate * (double)open_s);
                                static char modes_buf[30][32];
                                if (rate <= 0)
                                        continue;
                                if (n < count)
                                        n = count;
                                snprintf(modes_buf[nres], sizeof(modes_buf[nres]), "open%.0f", rate);
                                fprintf(stderr, "run: %d worker(s), open loop at %.0f/s (fixed), %ld executions\n",
                                        workers, rate, n);
                                if (run(workers, modes_buf[nres], rate, n, partitions, workflow, warmup, timeout_s,
                                        &res[nres]) < 0)
                                        return 1;
                                print_progress(&res[nres]);
                                nres++;
                        }
                }
        }

        bench_report_text(rep,
                          "Workflow `%s` (3 %s steps%s, ~120-byte JSON input, ~35-byte step results), %ld "
                          "executions per closed-loop run (open loop: max of that and %ld s at the offered rate: half "
                          "of the median closed-loop executions/s, and a quarter when that was not sustained), %d "
                          "partitions, batch.max.records 500, batch.max.ms 1 unless set below; workers are threads of the benchmark process, which also runs the client (start_async) and the "
                          "results reader. Settings (`%s`): %s.",
                          workflow, !strcmp(workflow, "io3") ? "50 ms (each waits for a service)" : "no-op",
                          !strcmp(workflow, "amo3") ? ", at-most-once: one transaction per step" : "",
                          count, open_s, partitions,
                          label, *bench_conf_args_str(argc, argv) ? bench_conf_args_str(argc, argv) : "defaults");
        bench_report_text(rep, "%s", "");
        bench_report_text(rep, "| workers | load | offered/s | executions/s | steady exec/s | step transitions/s | "
                               "kept up | events/batch | CPU s per 1k exec (bench / broker) | failed |");
        bench_report_text(rep, "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        for (i = 0; i < nres; i++) {
                result_t *r = &res[i];
                char cfg[160], off[32];
                if (r->offered > 0)
                        snprintf(off, sizeof(off), "%.0f", r->offered);
                else
                        snprintf(off, sizeof(off), "as fast as possible");
                char mode[48];
                if (r->rep)
                        snprintf(mode, sizeof(mode), "closed #%d%s", r->rep, r->median ? " (median)" : "");
                else
                        snprintf(mode, sizeof(mode), "%s", r->mode);
                bench_report_text(rep, "| %d | %s | %s | %.0f | %.0f | %.0f | %s | %.1f | %.2f / %.2f | %ld |",
                                  r->workers, mode, off, r->exec_s, r->steady_s, r->exec_s * g_nsteps,
                                  r->offered <= 0 ? "" : r->exec_s >= 0.95 * r->offered ? "yes" : "**no**",
                                  r->batches ? (double)r->events / (double)r->batches : 0,
                                  r->done ? r->cpu_self * 1000 / (double)r->done : 0,
                                  r->done ? r->cpu_broker * 1000 / (double)r->done : 0, r->failed);
                snprintf(cfg, sizeof(cfg), "%s/%s/w%d/%s", label, workflow, r->workers, r->mode);
                if (r->rep && !r->median)
                        continue; /* only the median closed run goes to the CSV */
                bench_report_csv(rep, cfg, "executions_per_s", r->exec_s, "1/s");
                bench_report_csv(rep, cfg, "steady_executions_per_s", r->steady_s, "1/s");
                bench_report_csv(rep, cfg, "step_transitions_per_s", r->exec_s * g_nsteps, "1/s");
                bench_report_csv(rep, cfg, "offered_per_s", r->offered, "1/s");
                bench_report_csv(rep, cfg, "exec_p50_ms", r->exec.p50, "ms");
                bench_report_csv(rep, cfg, "exec_p95_ms", r->exec.p95, "ms");
                bench_report_csv(rep, cfg, "exec_p99_ms", r->exec.p99, "ms");
                bench_report_csv(rep, cfg, "exec_max_ms", r->exec.max, "ms");
                for (k = 0; k < g_nsteps; k++) {
                        char m[64];
                        snprintf(m, sizeof(m), "step%d_start_p50_ms", k + 1);
                        bench_report_csv(rep, cfg, m, r->start[k].p50, "ms");
                        snprintf(m, sizeof(m), "step%d_start_p99_ms", k + 1);
                        bench_report_csv(rep, cfg, m, r->start[k].p99, "ms");
                        snprintf(m, sizeof(m), "step%d_durable_p50_ms", k + 1);
                        bench_report_csv(rep, cfg, m, r->durable[k].p50, "ms");
                        snprintf(m, sizeof(m), "step%d_durable_p99_ms", k + 1);
                        bench_report_csv(rep, cfg, m, r->durable[k].p99, "ms");
                }
        }
        bench_report_text(rep, "%s", "");
        bench_report_text(rep, "Latency, ms (p50 / p95 / p99 / max):");
        bench_report_text(rep, "%s", "");
        bench_report_text(rep, "| workers | load | execution | step 1 start | step 2 start | step 3 start | "
                               "step 1 durable | step 2 durable | step 3 durable |");
        bench_report_text(rep, "| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        for (i = 0; i < nres; i++) {
                result_t *r = &res[i];
                char cells[7][96];
                bench_pct_t *ps[7] = {&r->exec,       &r->start[0],   &r->start[1],  &r->start[2],
                                      &r->durable[0], &r->durable[1], &r->durable[2]};
                char load[64];
                for (k = 0; k < 7; k++)
                        snprintf(cells[k], sizeof(cells[k]), "%s / %s / %s / %s", bench_ms(ps[k]->p50),
                                 bench_ms(ps[k]->p95), bench_ms(ps[k]->p99), bench_ms(ps[k]->max));
                if (r->offered > 0)
                        snprintf(load, sizeof(load), "open %.0f/s", r->offered);
                else
                        snprintf(load, sizeof(load), "closed #%d%s", r->rep, r->median ? " (median)" : "");
                bench_report_text(rep, "| %d | %s | %s | %s | %s | %s | %s | %s | %s |", r->workers, load, cells[0],
                                  cells[1], cells[2], cells[3], cells[4], cells[5], cells[6]);
        }
        (void)best1;
        bench_report_finish(rep);
        return 0;
}
