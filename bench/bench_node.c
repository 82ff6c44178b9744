/*
 * bench_node -- a worker or a timer service as a child process of a
 * benchmark, so that its RSS can be read from /proc and it can be SIGKILLed.
 *
 *   bench_node worker --prefix P --state-dir D --id ID [--partitions N] [-X name=value ...]
 *   bench_node timers --prefix P --state-dir D --id ID [--partitions N] [-X name=value ...]
 *
 * Prints "ready" once constructed, then a line every --every-ms (default 200):
 *   worker: "stats t_ms=.. events=.. batches=.. steps=.. finished=.. aborts=.. dlq=.. rss_kb=.. hwm_kb=.."
 *   timers: "stats t_ms=.. fired=.. pending=.. late_max_ms=.. rss_kb=.. hwm_kb=.."
 * Runs until SIGTERM/SIGINT (or --max-s seconds, default 3600), then prints
 * a last stats line and "bye".  Logs (log.level, default info) go to stderr.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_common.h"
#include "bench_workflows.h"

static df_worker_t *the_worker;
static df_timer_service_t *the_ts;
static volatile sig_atomic_t done;

/* Tell the parent which worker ran a probe (recovery benchmark). */
static void probe_hook(const char *exec, int step, int64_t t_in, int64_t t_out)
{
        (void)t_out;
        if (!strncmp(exec, "probe-", 6))
                printf("step %s %d %lld\n", exec, step, (long long)(t_in / 1000000));
}

static void on_signal(int sig)
{
        (void)sig;
        done = 1;
        if (the_worker)
                df_worker_stop(the_worker);
        if (the_ts)
                df_timer_service_stop(the_ts);
}

static void *run_main(void *p)
{
        (void)p;
        if (the_worker)
                df_worker_run(the_worker);
        else
                df_timer_service_run(the_ts);
        done = 1;
        return NULL;
}

static void print_stats(void)
{
        long rss = bench_vm_kb(0, "VmRSS"), hwm = bench_vm_kb(0, "VmHWM");
        if (the_worker) {
                df_worker_stats_t s;
                df_worker_get_stats(the_worker, &s);
                printf("stats t_ms=%lld events=%llu batches=%llu steps=%llu finished=%llu aborts=%llu dlq=%llu "
                       "healthy=%d rss_kb=%ld hwm_kb=%ld\n",
                       (long long)(bench_mono_ns() / 1000000), (unsigned long long)s.events,
                       (unsigned long long)s.batches, (unsigned long long)s.steps_run,
                       (unsigned long long)s.executions_finished, (unsigned long long)s.aborts,
                       (unsigned long long)s.dlq, s.healthy, rss, hwm);
        } else {
                df_timer_stats_t s;
                df_timer_service_get_stats(the_ts, &s);
                printf("stats t_ms=%lld fired=%llu pending=%llu late_max_ms=%lld rss_kb=%ld hwm_kb=%ld\n",
                       (long long)(bench_mono_ns() / 1000000), (unsigned long long)s.fired,
                       (unsigned long long)s.pending, (long long)s.lateness_max_ms, rss, hwm);
        }
        fflush(stdout);
}

int main(int argc, char **argv)
{
        const char *mode = argc > 1 ? argv[1] : "";
        const char *prefix = bench_arg(argc, argv, "--prefix", NULL);
        const char *state = bench_arg(argc, argv, "--state-dir", NULL);
        const char *id = bench_arg(argc, argv, "--id", NULL);
        int parts = (int)bench_arg_ll(argc, argv, "--partitions", 6);
        int every = (int)bench_arg_ll(argc, argv, "--every-ms", 200);
        long long max_s = bench_arg_ll(argc, argv, "--max-s", 3600);
        char errstr[512];
        df_conf_t *conf;
        pthread_t thr;
        int64_t t_end;
        int i;

        if ((strcmp(mode, "worker") && strcmp(mode, "timers")) || !prefix || !state || !id) {
                fprintf(stderr, "usage: bench_node worker|timers --prefix P --state-dir D --id ID [--partitions N] "
                                "[-X name=value ...] [--every-ms MS] [--max-s S]\n");
                return 2;
        }
        conf = bench_conf(prefix, state, parts);
        bench_conf_set(conf, "worker.id", id);
        bench_conf_set(conf, "log.level", getenv("DF_LOG") ? getenv("DF_LOG") : "info");
        for (i = 2; i + 1 < argc; i++)
                if (!strcmp(argv[i], "-X")) {
                        if (df_conf_set_pair(conf, argv[i + 1], errstr, sizeof(errstr))) {
                                fprintf(stderr, "bench_node: %s\n", errstr);
                                return 2;
                        }
                }
        signal(SIGTERM, on_signal);
        signal(SIGINT, on_signal);
        if (!strcmp(mode, "worker")) {
                the_worker = df_worker_new(conf, errstr, sizeof(errstr));
                if (!the_worker) {
                        fprintf(stderr, "bench_node: worker: %s\n", errstr);
                        return 1;
                }
                bench_register_all(the_worker);
                bench_step_hook = probe_hook;
        } else {
                the_ts = df_timer_service_new(conf, errstr, sizeof(errstr));
                if (!the_ts) {
                        fprintf(stderr, "bench_node: timer service: %s\n", errstr);
                        return 1;
                }
        }
        printf("ready\n");
        fflush(stdout);
        pthread_create(&thr, NULL, run_main, NULL);
        t_end = bench_mono_ns() + max_s * 1000000000LL;
        while (!done && bench_mono_ns() < t_end) {
                bench_sleep_ns((int64_t)every * 1000000);
                print_stats();
        }
        on_signal(0);
        pthread_join(thr, NULL);
        print_stats();
        if (the_worker)
                df_worker_destroy(the_worker);
        if (the_ts)
                df_timer_service_destroy(the_ts);
        df_conf_destroy(conf);
        printf("bye\n");
        fflush(stdout);
        return 0;
}
