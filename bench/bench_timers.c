/*
 * bench_timers -- timer-service precision and footprint with many pending
 * timers.
 *
 *  1. --pending N timers (default 1,000,000) are scheduled with the public
 *     timer API (df_timer_schedule_async, one df_client_flush), due 30 days
 *     from now, for a target topic nobody reads.
 *  2. The timer service runs as a child process (bench_node timers); the
 *     time it takes to index them all is measured.
 *  3. After 20 warm-up timers (due at once: the service's first transaction
 *     to a topic it has not produced to yet is slow, ~0.5-1 s), --due M
 *     timers (default 10,000) due uniformly within one --window-ms
 *     window (default 10 s, starting --lead-ms = 5 s after they are sent) are
 *     produced; a read_committed consumer of the target topic records when
 *     each arrives.  Lateness = arrival (wall clock) - due time.
 *  4. The service's peak RSS (VmHWM of the child) and its state directory's
 *     size on disk are read; the <prefix>.timers log size on the broker too.
 *
 * Usage: bench_timers [--pending 1000000] [--due 10000] [--window-ms 10000]
 *        [--lead-ms 5000] [--partitions 6] [--load-timeout-s 900] [-X name=value ...]
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_common.h"

static int64_t wall_us(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The client that schedules the timers: a copy of conf with the producer
 * settings of a bulk loader (the client's own linger is 1 ms). */
static df_client_t *timer_client_new(const df_conf_t *conf)
{
        df_conf_t *c = df_conf_dup(conf);
        df_client_t *cl;
        char e[512];
        bench_conf_set(c, "kafka.linger.ms", "20");
        bench_conf_set(c, "kafka.batch.size", "1000000");
        bench_conf_set(c, "kafka.queue.buffering.max.messages", "1000000");
        cl = df_client_new(c, e, sizeof(e)); /* creates the duraflow topics */
        df_conf_destroy(c);
        if (!cl) {
                fprintf(stderr, "client: %s\n", e);
                exit(1);
        }
        return cl;
}

/* Schedule one timer (public timer API, acknowledged by the next flush):
 * id, due time, the target topic, key "exec-<id>", payload. */
static void schedule_timer(df_client_t *cl, const char *id, int64_t due_ms, const char *target, const char *payload)
{
        char e[512], key[64];
        df_err_t rc;
        snprintf(key, sizeof(key), "exec-%s", id);
        rc = df_timer_schedule_async(cl, id, due_ms, target, key, strlen(key), payload, strlen(payload), e, sizeof(e));
        if (rc != DF_OK) {
                fprintf(stderr, "schedule %s: %s: %s\n", id, df_err_name(rc), e);
                exit(1);
        }
}

/* Wait until every timer scheduled is acknowledged, up to timeout_ms; 0 or -1. */
static int flush_timers(df_client_t *cl, int64_t timeout_ms)
{
        int64_t end = bench_mono_ns() + timeout_ms * 1000000;
        df_err_t rc;
        while ((rc = df_client_flush(cl, 10000)) == DF_ERR_DEADLINE && bench_mono_ns() < end)
                ;
        if (rc != DF_OK)
                fprintf(stderr, "flush of timers: %s\n", df_err_name(rc));
        return rc == DF_OK ? 0 : -1;
}

/* Parse a "key=value" number from a stats line. */
static long long stat_of(const char *line, const char *key)
{
        char k[64];
        const char *p;
        snprintf(k, sizeof(k), " %s=", key);
        p = strstr(line, k);
        return p ? atoll(p + strlen(k)) : -1;
}

int main(int argc, char **argv)
{
        long pending = bench_arg_ll(argc, argv, "--pending", 1000000);
        long ndue = bench_arg_ll(argc, argv, "--due", 10000);
        long window_ms = bench_arg_ll(argc, argv, "--window-ms", 10000);
        long lead_ms = bench_arg_ll(argc, argv, "--lead-ms", 5000);
        int partitions = (int)bench_arg_ll(argc, argv, "--partitions", 6);
        long load_timeout_s = bench_arg_ll(argc, argv, "--load-timeout-s", 900);
        char prefix[128], state[256], timers_topic[200], target[200], e[512], line[1024], payload[256], id[64];
        char node[1024], errlog[300], tsdir[400];
        df_conf_t *conf;
        df_client_t *cl;
        rd_kafka_t *c;
        rd_kafka_topic_partition_list_t *tp;
        bench_child_t child;
        bench_report_t *rep;
        int64_t t0, t_loaded = 0, produce_ns, base_due, deadline, *late, *seen_at;
        long i, arrived = 0, dup = 0, last_pending = 0;
        long long fired_stat = 0, late_max_stat = 0;
        long hwm_loaded = -1, hwm_end, rss_end, hwm_idle;
        long long du_state, du_app, kafka_timers;
        char *nargv[32];
        int na = 0, k;
        bench_pct_t lp;
        double cpu_child;

        bench_brokers();
        rep = bench_report_new("timers", "Timers: firing lateness with many pending timers", argc, argv);
        bench_prefix(prefix, sizeof(prefix), "tm");
        snprintf(state, sizeof(state), "/tmp/duraflow-%s", prefix);
        snprintf(timers_topic, sizeof(timers_topic), "%s.timers", prefix);
        snprintf(target, sizeof(target), "%s.target", prefix);
        snprintf(errlog, sizeof(errlog), "/tmp/%s-timers.log", prefix);
        conf = bench_conf(prefix, state, partitions);
        bench_conf_args(conf, argc, argv);
        cl = timer_client_new(conf);
        if (bench_create_topic(target, partitions, 0)) {
                fprintf(stderr, "setup: cannot create %s\n", target);
                return 1;
        }

        /* 1. pending timers */
        fprintf(stderr, "scheduling %ld pending timers (%s)\n", pending, timers_topic);
        t0 = bench_mono_ns();
        base_due = bench_wall_ms() + 30LL * 24 * 3600 * 1000;
        memset(payload, 'p', 100);
        payload[100] = 0;
        for (i = 0; i < pending; i++) {
                snprintf(id, sizeof(id), "pending-%ld", i);
                schedule_timer(cl, id, base_due + i, target, payload);
        }
        if (flush_timers(cl, 300000))
                return 1;
        produce_ns = bench_mono_ns() - t0;
        fprintf(stderr, "  produced in %.1f s\n", (double)produce_ns / 1e9);

        /* 2. the timer service */
        bench_sibling(node, sizeof(node), "bench_node");
        nargv[na++] = node;
        nargv[na++] = "timers";
        nargv[na++] = "--prefix";
        nargv[na++] = prefix;
        nargv[na++] = "--state-dir";
        nargv[na++] = state;
        nargv[na++] = "--id";
        nargv[na++] = "t1";
        nargv[na++] = "--partitions";
        {
                static char pb[16];
                snprintf(pb, sizeof(pb), "%d", partitions);
                nargv[na++] = pb;
        }
        for (k = 1; k + 1 < argc && na < 28; k++)
                if (!strcmp(argv[k], "-X")) {
                        nargv[na++] = "-X";
                        nargv[na++] = argv[k + 1];
                }
        nargv[na] = NULL;
        if (bench_spawn(&child, nargv, errlog)) {
                fprintf(stderr, "cannot start %s\n", node);
                return 1;
        }
        t0 = bench_mono_ns();
        deadline = t0 + load_timeout_s * 1000000000LL;
        while (bench_mono_ns() < deadline) {
                int r = bench_child_line(&child, line, sizeof(line), 1000);
                if (r < 0) {
                        fprintf(stderr, "timer service exited (log: %s)\n", errlog);
                        return 1;
                }
                if (r == 1 && !strncmp(line, "stats", 5)) {
                        long pn = (long)stat_of(line, "pending");
                        if (pn / 100000 != last_pending / 100000)
                                fprintf(stderr, "  indexed %ld\n", pn);
                        last_pending = pn;
                        if (pn >= pending) {
                                t_loaded = bench_mono_ns();
                                hwm_loaded = (long)stat_of(line, "hwm_kb");
                                break;
                        }
                }
        }
        if (!t_loaded) {
                fprintf(stderr, "the timer service did not index %ld timers within %ld s (%ld)\n", pending,
                        load_timeout_s, last_pending);
                bench_child_stop(&child, 10000);
                return 1;
        }
        fprintf(stderr, "  %ld pending timers indexed in %.1f s\n", pending, (double)(t_loaded - t0) / 1e9);
        /* let it settle (the last partitions' EOF) */
        for (k = 0; k < 10; k++)
                bench_child_line(&child, line, sizeof(line), 300);
        hwm_idle = bench_vm_kb(child.pid, "VmHWM");

        /* 3. the due timers and the target reader */
        c = rd_kafka_new(RD_KAFKA_CONSUMER,
                         bench_kconf("group.id", "bench-timers-reader", "enable.auto.commit", "false",
                                     "isolation.level", "read_committed", "fetch.wait.max.ms", "5", NULL),
                         e, sizeof(e));
        if (!c) {
                fprintf(stderr, "consumer: %s\n", e);
                return 1;
        }
        tp = rd_kafka_topic_partition_list_new(partitions);
        for (k = 0; k < partitions; k++)
                rd_kafka_topic_partition_list_add(tp, target, k)->offset = RD_KAFKA_OFFSET_BEGINNING;
        rd_kafka_assign(c, tp);
        rd_kafka_topic_partition_list_destroy(tp);
        /* warm-up: a few timers due now, so that the service's producer knows
         * the target topic (its first transaction to a new topic is slow) */
        {
                int64_t wdl = bench_mono_ns() + 60LL * 1000000000;
                int warm = 0;
                for (k = 0; k < 20; k++) {
                        snprintf(id, sizeof(id), "warm-%d", k);
                        schedule_timer(cl, id, bench_wall_ms(), target, "warm");
                }
                flush_timers(cl, 30000);
                while (warm < 20 && bench_mono_ns() < wdl) {
                        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 100);
                        if (m) {
                                if (!m->err && m->len == 4 && !memcmp(m->payload, "warm", 4))
                                        warm++;
                                rd_kafka_message_destroy(m);
                        }
                        while (bench_child_line(&child, line, sizeof(line), 0) == 1)
                                ;
                }
                fprintf(stderr, "  warm-up: %d of 20 warm-up timers arrived\n", warm);
        }
        late = calloc((size_t)ndue, sizeof(int64_t));
        seen_at = calloc((size_t)ndue, sizeof(int64_t));
        base_due = bench_wall_ms() + lead_ms;
        for (i = 0; i < ndue; i++) {
                int64_t due = base_due + (ndue > 1 ? (int64_t)((double)i * (double)window_ms / (double)(ndue - 1)) : 0);
                snprintf(id, sizeof(id), "due-%ld", i);
                snprintf(payload, sizeof(payload), "%lld %ld", (long long)due, i);
                schedule_timer(cl, id, due, target, payload);
        }
        if (flush_timers(cl, 60000))
                fprintf(stderr, "flush of due timers failed\n");
        fprintf(stderr, "  %ld timers due in [+%ld ms, +%ld ms] sent (%.0f ms after the first due time)\n", ndue,
                lead_ms, lead_ms + window_ms, (double)(bench_wall_ms() - base_due));
        cpu_child = bench_proc_cpu_s(child.pid);
        deadline = bench_mono_ns() + (lead_ms + window_ms + 60000) * 1000000LL;
        while (arrived < ndue && bench_mono_ns() < deadline) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 100);
                if (!m)
                        continue;
                if (!m->err && m->payload) {
                        int64_t now = wall_us();
                        char buf[64];
                        long long due;
                        long idx;
                        size_t l = m->len < sizeof(buf) - 1 ? m->len : sizeof(buf) - 1;
                        memcpy(buf, m->payload, l);
                        buf[l] = 0;
                        if (sscanf(buf, "%lld %ld", &due, &idx) == 2 && idx >= 0 && idx < ndue) {
                                if (seen_at[idx])
                                        dup++;
                                else {
                                        seen_at[idx] = now;
                                        late[idx] = now - due * 1000;
                                        arrived++;
                                }
                        }
                }
                rd_kafka_message_destroy(m);
                /* drain the child's stats so its pipe never fills */
                while (bench_child_line(&child, line, sizeof(line), 0) == 1)
                        if (!strncmp(line, "stats", 5)) {
                                fired_stat = stat_of(line, "fired");
                                late_max_stat = stat_of(line, "late_max_ms");
                        }
        }
        cpu_child = bench_proc_cpu_s(child.pid) - cpu_child;
        for (k = 0; k < 5; k++)
                if (bench_child_line(&child, line, sizeof(line), 300) == 1 && !strncmp(line, "stats", 5)) {
                        fired_stat = stat_of(line, "fired");
                        late_max_stat = stat_of(line, "late_max_ms");
                }
        hwm_end = bench_vm_kb(child.pid, "VmHWM");
        rss_end = bench_vm_kb(child.pid, "VmRSS");
        du_state = bench_du(state);
        du_app = bench_du_apparent(state);
        kafka_timers = bench_topic_disk(timers_topic);
        snprintf(tsdir, sizeof(tsdir), "%s", state);
        bench_child_stop(&child, 15000);
        rd_kafka_consumer_close(c);
        rd_kafka_destroy(c);
        df_client_destroy(cl);

        {
                size_t n = 0;
                int64_t *v = malloc(sizeof(int64_t) * (size_t)(ndue ? ndue : 1));
                for (i = 0; i < ndue; i++)
                        if (seen_at[i])
                                v[n++] = late[i];
                lp = bench_percentiles(v, n, 1000.0);
                free(v);
        }

        bench_report_text(rep,
                          "%ld pending timers (due in 30 days) scheduled with `df_timer_schedule_async`, then %ld "
                          "timers due uniformly within %ld ms; timer service = `bench_node timers` (df_timer_service) as a "
                          "child process, %d partitions, settings: %s. Lateness = arrival at the target topic "
                          "(read_committed consumer, wall clock) - due time.",
                          pending, ndue, window_ms, partitions,
                          *bench_conf_args_str(argc, argv) ? bench_conf_args_str(argc, argv) : "defaults");
        bench_report_text(rep, "%s", "");
        bench_report_text(rep, "| pending | produce pending (s) | index pending (s) | due timers arrived | duplicates | "
                               "lateness p50 / p95 / p99 / max (ms) | peak RSS after "
                               "indexing / at end (MB) | RSS at end (MB) | state dir on disk (MB, allocated / "
                               "apparent) | `.timers` log on the broker (MB) | service CPU during the window (s) |");
        bench_report_text(rep, "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        bench_report_text(rep, "| %ld | %.1f | %.1f | %ld / %ld | %ld | %s / %s / %s / %s | %.0f / %.0f | %.0f | "
                               "%.1f / %.1f | %.1f | %.1f |",
                          pending, (double)produce_ns / 1e9, (double)(t_loaded - t0) / 1e9, arrived, ndue, dup,
                          bench_ms(lp.p50), bench_ms(lp.p95), bench_ms(lp.p99), bench_ms(lp.max),
                          (double)(hwm_loaded > hwm_idle ? hwm_loaded : hwm_idle) / 1024.0, (double)hwm_end / 1024.0,
                          (double)rss_end / 1024.0, (double)du_state / 1048576.0, (double)du_app / 1048576.0,
                          (double)kafka_timers / 1048576.0, cpu_child);
        {
                char cfg[160];
                snprintf(cfg, sizeof(cfg), "%s/pending%ld", bench_arg(argc, argv, "--label", "default"), pending);
                bench_report_csv(rep, cfg, "lateness_p50_ms", lp.p50, "ms");
                bench_report_csv(rep, cfg, "lateness_p95_ms", lp.p95, "ms");
                bench_report_csv(rep, cfg, "lateness_p99_ms", lp.p99, "ms");
                bench_report_csv(rep, cfg, "lateness_max_ms", lp.max, "ms");
                bench_report_csv(rep, cfg, "peak_rss_mb", (double)hwm_end / 1024.0, "MB");
                bench_report_csv(rep, cfg, "state_disk_mb", (double)du_state / 1048576.0, "MB");
                bench_report_csv(rep, cfg, "index_s", (double)(t_loaded - t0) / 1e9, "s");
                bench_report_csv(rep, cfg, "arrived", (double)arrived, "");
        }
        (void)fired_stat;
        (void)late_max_stat;
        bench_report_finish(rep);
        bench_delete_topics(prefix);
        bench_rm_rf(state);
        if (arrived == ndue && !getenv("BENCH_KEEP_LOGS"))
                remove(errlog);
        else
                fprintf(stderr, "timer service log: %s\n", errlog);
        free(late);
        free(seen_at);
        df_conf_destroy(conf);
        return arrived == ndue ? 0 : 1;
}
