/*
 * bench_recovery -- a worker is SIGKILLed while it holds --count executions'
 * state: how long until its partitions make progress on another worker, and
 * how fast that worker restores the state from the <prefix>.state changelog.
 *
 * Workers are child processes (bench_node worker) sharing a consumer group.
 *   --mode hot  (default): workers A and B both run; 2 x --count `park`
 *               executions are started (A holds about --count of them, by
 *               partition); A is killed; B takes A's partitions over.
 *   --mode cold: A alone holds --count executions; A is killed and B is
 *               started at that moment (a replacement process).
 * Partition ownership is learnt from probe executions (one no-op step; the
 * worker that runs a probe prints it).  After the kill, a probe is started
 * every --probe-ms on each of A's partitions; a partition's takeover time =
 * first result of a probe sent after the kill - kill time.  The restore
 * figures come from B's log ("restored <topic>[p]: N records, B bytes in T ms").
 *
 * Usage: bench_recovery [--count 100000] [--mode hot|cold] [--partitions 6]
 *        [--probe-ms 100] [--load-rate R] [-X name=value ...]   (e.g. -X session.timeout.ms=6000)
 * --load-rate R keeps R one-step executions/s flowing (from 5 s before the
 * kill), so the killed worker dies inside a transaction.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "bench_common.h"
#include "bench_workflows.h"

#define MAXP 64

static int g_parts;
static int owner[MAXP];           /* 0 unknown, 'A', 'B' */
static int of_a[MAXP];            /* the killed worker's partitions, fixed before the kill */
static int64_t takeover_ns[MAXP]; /* after the kill */
static int64_t t_kill;
static long probes_seen;

/* probe ids: "probe-<tag><n>"; we remember send time and partition */
#define MAXPROBES 200000
static int64_t probe_sent[MAXPROBES];
static int probe_part[MAXPROBES];
static long nprobes, nprobes_sent;

static long probe_send(df_client_t *c, int part)
{
        char id[64], err[256];
        long n;
        for (;;) {
                n = nprobes;
                if (n >= MAXPROBES)
                        return -1;
                snprintf(id, sizeof(id), "probe-%ld", n);
                nprobes++;
                probe_part[n] = bench_partition(id, g_parts);
                probe_sent[n] = bench_mono_ns();
                if (probe_part[n] == part || part < 0)
                        break;
                probe_sent[n] = -1; /* id not used */
        }
        nprobes_sent++;
        if (df_client_start_async(c, "probe", id, NULL, 0, err, sizeof(err)) != DF_OK)
                fprintf(stderr, "probe %s: %s\n", id, err);
        return n;
}

static void on_result(const char *id, df_exec_status_t status, const df_bytes_t *out, const char *error,
                      void *opaque)
{
        int64_t now = bench_mono_ns();
        long n;
        (void)status;
        (void)out;
        (void)error;
        (void)opaque;
        if (strncmp(id, "probe-", 6))
                return;
        n = atol(id + 6);
        if (n < 0 || n >= nprobes || probe_sent[n] < 0)
                return;
        probes_seen++;
        if (t_kill && probe_sent[n] >= t_kill && !takeover_ns[probe_part[n]])
                takeover_ns[probe_part[n]] = now - t_kill;
}

/* Read the children's stdout: probe ownership and events. */
static void drain(bench_child_t *c, int who, long long *events, int wait_ms)
{
        char line[1024];
        while (c->pid > 0 && bench_child_line(c, line, sizeof(line), wait_ms) == 1) {
                wait_ms = 0;
                if (!strncmp(line, "step probe-", 11)) {
                        long n = atol(line + 11);
                        if (n >= 0 && n < nprobes && probe_part[n] >= 0 && probe_part[n] < g_parts)
                                owner[probe_part[n]] = who;
                } else if (!strncmp(line, "stats", 5) && events) {
                        *events = bench_stat(line, "events");
                }
        }
}

/* One probe per partition until each has an owner seen after 'since'; 0 ok. */
static int learn_owners(df_client_t *c, df_results_t *rr, bench_child_t *a, bench_child_t *b, int timeout_s)
{
        int64_t deadline = bench_mono_ns() + (int64_t)timeout_s * 1000000000;
        int p, all;
        while (bench_mono_ns() < deadline) {
                long seen0 = probes_seen;
                memset(owner, 0, sizeof(owner));
                for (p = 0; p < g_parts; p++)
                        probe_send(c, p);
                df_client_flush(c, 10000);
                while (probes_seen < seen0 + g_parts && bench_mono_ns() < deadline)
                        df_results_poll(rr, 50, on_result, NULL);
                bench_sleep_ns(400000000); /* step lines are flushed with the stats lines */
                drain(a, 'A', NULL, 0);
                drain(b, 'B', NULL, 0);
                for (all = 1, p = 0; p < g_parts; p++)
                        if (!owner[p])
                                all = 0;
                if (all)
                        return 0;
        }
        return -1;
}

static int64_t logtime_ms(const char *line)
{
        int h, m, s, ms;
        if (sscanf(line, "%2d:%2d:%2d.%3d", &h, &m, &s, &ms) != 4)
                return -1;
        return ((int64_t)h * 3600 + m * 60 + s) * 1000 + ms;
}

typedef struct loader {
        df_client_t *client;
        long count;
} loader_t;

/* Background load: one-step executions at a steady rate on every partition,
 * so that the killed worker is in the middle of a transaction. */
typedef struct bg {
        df_client_t *client;
        double rate;
        volatile int stop;
        long sent;
} bg_t;

static void *bg_main(void *p)
{
        bg_t *b = p;
        char id[48], err[256];
        int64_t t0 = bench_mono_ns();
        while (!b->stop) {
                int64_t target = t0 + (int64_t)((double)b->sent * 1e9 / b->rate), now = bench_mono_ns();
                if (target > now)
                        bench_sleep_ns(target - now);
                snprintf(id, sizeof(id), "bg-%ld", b->sent++);
                df_client_start_async(b->client, "probe", id, NULL, 0, err, sizeof(err));
        }
        df_client_flush(b->client, 10000);
        return NULL;
}

static void *loader_main(void *p)
{
        loader_t *l = p;
        char id[32], input[256], err[256];
        long i;
        for (i = 0; i < l->count; i++) {
                size_t n = bench_input(input, sizeof(input), i);
                snprintf(id, sizeof(id), "park-%ld", i);
                if (df_client_start_async(l->client, "park", id, input, n, err, sizeof(err)) != DF_OK)
                        fprintf(stderr, "start %s: %s\n", id, err);
        }
        if (df_client_flush(l->client, 300000) != DF_OK)
                fprintf(stderr, "client flush timed out\n");
        return NULL;
}

int main(int argc, char **argv)
{
        long count = bench_arg_ll(argc, argv, "--count", 100000);
        const char *mode = bench_arg(argc, argv, "--mode", "hot");
        int partitions = (int)bench_arg_ll(argc, argv, "--partitions", 6);
        long probe_ms = bench_arg_ll(argc, argv, "--probe-ms", 100);
        double load_rate = (double)bench_arg_ll(argc, argv, "--load-rate", 0);
        bg_t bg;
        pthread_t bgt;
        df_client_t *bgc = NULL;
        int cold = !strcmp(mode, "cold");
        char prefix[128], state[256], loga[300], logb[300], e[512], line[2048], id[32];
        df_conf_t *conf;
        df_client_t *client;
        df_results_t *rr;
        bench_child_t a, b;
        bench_report_t *rep;
        loader_t ld;
        pthread_t lt;
        long long ev_a = 0, ev_b = 0, total;
        long held = 0, i;
        int p, nA = 0, done;
        int64_t deadline, kill_wall, t_load0, t_load;
        long long rec = 0, bytes = 0, rms = 0, rms_data = 0;
        int64_t first_assigned = -1;
        double tk_min = 1e18, tk_max = 0;
        FILE *f;
        const char *sess, *load_under = "";

        bench_brokers();
        g_parts = partitions > MAXP ? MAXP : partitions;
        rep = bench_report_new("recovery", "Recovery: SIGKILL a worker, takeover and changelog restore", argc, argv);
        bench_prefix(prefix, sizeof(prefix), "rec");
        snprintf(state, sizeof(state), "/tmp/duraflow-%s", prefix);
        snprintf(loga, sizeof(loga), "/tmp/%s-A.log", prefix);
        snprintf(logb, sizeof(logb), "/tmp/%s-B.log", prefix);
        conf = bench_conf(prefix, state, partitions);
        bench_conf_args(conf, argc, argv);
        sess = df_conf_get(conf, "session.timeout.ms");
        client = df_client_new(conf, e, sizeof(e));
        rr = client ? df_results_open(conf, 1, e, sizeof(e)) : NULL;
        if (!rr) {
                fprintf(stderr, "setup: %s\n", e);
                return 1;
        }
        memset(&b, 0, sizeof(b));
        if (bench_spawn_node(&a, "worker", prefix, state, "A", partitions, argc, argv, NULL, loga))
                return 1;
        if (!cold && bench_spawn_node(&b, "worker", prefix, state, "B", partitions, argc, argv, NULL, logb))
                return 1;
        fprintf(stderr, "warm-up: learning partition owners\n");
        if (learn_owners(client, rr, &a, &b, 120)) {
                fprintf(stderr, "could not learn the partition owners\n");
                return 1;
        }
        if (!cold) {
                /* B may have joined after A took everything: wait for a balanced group */
                for (i = 0; i < 20; i++) {
                        int na = 0;
                        for (p = 0; p < g_parts; p++)
                                na += owner[p] == 'A';
                        if (na > 0 && na < g_parts)
                                break;
                        bench_sleep_ns(1000000000LL);
                        learn_owners(client, rr, &a, &b, 60);
                }
        }

        total = cold ? count : 2 * count;
        fprintf(stderr, "loading %lld parked executions\n", total);
        memset(&ld, 0, sizeof(ld));
        ld.client = client;
        ld.count = total;
        t_load0 = bench_mono_ns();
        pthread_create(&lt, NULL, loader_main, &ld);
        deadline = bench_mono_ns() + 1800LL * 1000000000;
        while (bench_mono_ns() < deadline) {
                drain(&a, 'A', &ev_a, 200);
                if (!cold)
                        drain(&b, 'B', &ev_b, 0);
                if (ev_a + ev_b >= total + (long long)nprobes_sent)
                        break;
                df_results_poll(rr, 0, on_result, NULL);
        }
        pthread_join(lt, NULL);
        t_load = bench_mono_ns() - t_load0;
        /* the probes of the warm-up count as events too: wait until every park start is in */
        learn_owners(client, rr, &a, &b, 120);
        for (p = 0; p < g_parts; p++) {
                of_a[p] = owner[p] == 'A';
                nA += of_a[p];
        }
        for (i = 0; i < total; i++) {
                snprintf(id, sizeof(id), "park-%ld", i);
                if (of_a[bench_partition(id, g_parts)])
                        held++;
        }
        fprintf(stderr, "A owns %d of %d partitions, holding %ld executions; loaded in %.1f s\n", nA, g_parts, held,
                (double)t_load / 1e9);

        memset(&bg, 0, sizeof(bg));
        if (load_rate > 0) {
                bgc = df_client_new(conf, e, sizeof(e));
                if (!bgc) {
                        fprintf(stderr, "background client: %s\n", e);
                        return 1;
                }
                bg.client = bgc;
                bg.rate = load_rate;
                pthread_create(&bgt, NULL, bg_main, &bg);
                /* run under load for a few seconds before the crash */
                {
                        int64_t until = bench_mono_ns() + 5000000000LL;
                        while (bench_mono_ns() < until) {
                                df_results_poll(rr, 100, on_result, NULL);
                                drain(&a, 'A', &ev_a, 0);
                                if (!cold)
                                        drain(&b, 'B', &ev_b, 0);
                        }
                }
        }

        /* the crash */
        kill_wall = bench_wall_ms();
        t_kill = bench_mono_ns();
        bench_child_kill(&a);
        if (cold && bench_spawn_node(&b, "worker", prefix, state, "B", partitions, argc, argv, NULL, logb))
                return 1;
        deadline = t_kill + 300LL * 1000000000;
        for (done = 0; !done && bench_mono_ns() < deadline;) {
                int64_t next = bench_mono_ns() + probe_ms * 1000000;
                for (p = 0; p < g_parts; p++)
                        if (of_a[p] && !takeover_ns[p])
                                probe_send(client, p);
                df_client_flush(client, 5000);
                while (bench_mono_ns() < next)
                        df_results_poll(rr, 10, on_result, NULL);
                drain(&b, 'B', &ev_b, 0);
                for (done = 1, p = 0; p < g_parts; p++)
                        if (of_a[p] && !takeover_ns[p])
                                done = 0;
        }
        for (p = 0; p < g_parts; p++)
                if (of_a[p]) {
                        double t = takeover_ns[p] ? (double)takeover_ns[p] / 1e6 : -1;
                        if (t < 0) {
                                tk_max = -1;
                                continue;
                        }
                        if (t < tk_min)
                                tk_min = t;
                        if (tk_max >= 0 && t > tk_max)
                                tk_max = t;
                }
        if (load_rate > 0) {
                bg.stop = 1;
                pthread_join(bgt, NULL);
                df_client_destroy(bgc);
        }
        bench_sleep_ns(500000000);
        bench_child_stop(&b, 30000);

        /* B's log: restores and assignment after the kill */
        f = fopen(logb, "r");
        while (f && fgets(line, sizeof(line), f)) {
                int64_t t = logtime_ms(line), kd = kill_wall % 86400000;
                const char *r;
                if (t < 0 || t + 50 < kd)
                        continue;
                if ((r = strstr(line, "restored "))) {
                        long long n, by, ms;
                        const char *colon = strstr(r, "]: ");
                        if (colon && sscanf(colon + 3, "%lld records, %lld bytes in %lld ms", &n, &by, &ms) == 3) {
                                rec += n;
                                bytes += by;
                                rms += ms;
                                if (n > 0)
                                        rms_data += ms; /* partitions that had something to restore */
                        }
                } else if (strstr(line, "assigned") && first_assigned < 0) {
                        first_assigned = t - kd;
                }
        }
        if (f)
                fclose(f);

        {
                static char lu[160];
                if (load_rate > 0)
                        snprintf(lu, sizeof(lu),
                                 "**Under load**: %.0f one-step executions/s on all partitions from 5 s before the "
                                 "kill (the killed worker is likely inside a transaction).",
                                 load_rate);
                else
                        snprintf(lu, sizeof(lu), "No other load at the kill (the killed worker is idle).");
                load_under = lu;
        }
        bench_report_text(rep,
                          "Mode **%s**: %s. `park` executions (one step, then a 30-day wait) are the held state "
                          "(per execution: an Execution and an Operation record in `.state`). Workers are "
                          "`bench_node worker` child processes, %d partitions, session.timeout.ms %s, settings: %s. "
                          "Probes (a one-step workflow) every %ld ms on each of the killed worker's partitions; "
                          "takeover = kill → first result of a probe sent after the kill. %s",
                          cold ? "cold" : "hot",
                          cold ? "worker A alone holds the executions; it is SIGKILLed and a new worker B is started "
                                 "at that moment"
                               : "workers A and B both run and share the executions by partition; A is SIGKILLed and "
                                 "B takes its partitions over",
                          partitions, sess,
                          *bench_conf_args_str(argc, argv) ? bench_conf_args_str(argc, argv) : "defaults", probe_ms,
                          load_under);
        bench_report_text(rep, "%s", "");
        bench_report_text(rep, "| mode | executions held by the killed worker | its partitions | takeover, first / last "
                               "partition (s) | kill → B's assignment logged (s) | changelog records restored | MB "
                               "restored | restore time, all assigned partitions / those with records (s) | restore "
                               "rate over the latter (records/s; MB/s) |");
        bench_report_text(rep, "| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        bench_report_text(rep, "| %s | %ld | %d of %d | %.2f / %s | %.2f | %lld | %.1f | %.2f / %.2f | %.0f; %.1f |",
                          cold ? (load_rate > 0 ? "cold, under load" : "cold")
                               : (load_rate > 0 ? "hot, under load" : "hot"),
                          held, nA, g_parts, tk_min < 1e17 ? tk_min / 1000 : -1,
                          tk_max >= 0 ? bench_ms(tk_max / 1000) : "not within 300 s",
                          first_assigned >= 0 ? (double)first_assigned / 1000 : -1, rec, (double)bytes / 1048576.0,
                          (double)rms / 1000, (double)rms_data / 1000,
                          rms_data ? (double)rec * 1000 / (double)rms_data : 0,
                          rms_data ? (double)bytes / 1048576.0 * 1000 / (double)rms_data : 0);
        {
                char cfg[160];
                snprintf(cfg, sizeof(cfg), "%s/%s%s/session%s", bench_arg(argc, argv, "--label", "default"),
                         cold ? "cold" : "hot", load_rate > 0 ? "-loaded" : "", sess);
                bench_report_csv(rep, cfg, "takeover_s", tk_max >= 0 ? tk_max / 1000 : -1, "s");
                bench_report_csv(rep, cfg, "restore_records_per_s",
                                 rms_data ? (double)rec * 1000 / (double)rms_data : 0, "1/s");
                bench_report_csv(rep, cfg, "restore_mb_per_s",
                                 rms_data ? (double)bytes / 1048576.0 * 1000 / (double)rms_data : 0, "MB/s");
                bench_report_csv(rep, cfg, "restore_total_s", (double)rms / 1000, "s");
                bench_report_csv(rep, cfg, "held_executions", (double)held, "");
        }
        bench_report_finish(rep);
        df_results_close(rr);
        df_client_destroy(client);
        bench_delete_topics(prefix);
        bench_rm_rf(state);
        if (tk_max >= 0 && !getenv("BENCH_KEEP_LOGS")) {
                remove(loga);
                remove(logb);
        } else {
                fprintf(stderr, "worker logs: %s %s\n", loga, logb);
        }
        df_conf_destroy(conf);
        return tk_max >= 0 ? 0 : 1;
}
