/*
 * telemetry_expose.c -- a small program that serves a registry holding a
 * series of EVERY metric family of DF__METRICS on /metrics (for promtool
 * and a real Prometheus, driven by test_tools.py).
 *
 * Values are derived from --seed S: family i (its DF__M_* order) gets
 * counter S*(i+1), gauge S*(i+1), histogram S observations of
 * (i+1)/1000; label values by label name (workflow "orders", status
 * "SUCCEEDED", kind "callback", outcome "succeeded", component "worker",
 * topic "duraflow.events", partition "0", reason "decode", version the
 * build's).  duraflow_executions_started_total{workflow="orders"} then
 * grows by 1 every --tick-ms (0 = never), so a scraper sees it change.
 *
 * Usage: telemetry-expose --listen 127.0.0.1:0 --port-file F [--seed S]
 *        [--seconds N] [--tick-ms MS] [--ready-after-ms MS]
 * Writes the bound port to F, serves until SIGTERM/SIGINT or N seconds
 * (default 120), exits 0; 2 on bad usage, 1 if it cannot listen.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "metrics.h"

#ifndef DF_VERSION_STRING
#define DF_VERSION_STRING "0"
#endif

static volatile sig_atomic_t stop;
static void on_signal(int sig)
{
        (void)sig;
        stop = 1;
}

static long long t_start_ms, ready_after_ms;

static long long mono_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int ready(char *reason, size_t n, void *opaque)
{
        (void)opaque;
        if (mono_ms() - t_start_ms < ready_after_ms) {
                snprintf(reason, n, "restoring partitions");
                return 0;
        }
        return 1;
}

static const char *label_value(const char *name, size_t len)
{
        static const struct {
                const char *name, *value;
        } tab[] = {{"workflow", "orders"},     {"status", "SUCCEEDED"}, {"kind", "callback"},
                   {"outcome", "succeeded"},   {"component", "worker"}, {"topic", "duraflow.events"},
                   {"partition", "0"},         {"reason", "decode"},    {"version", DF_VERSION_STRING}};
        size_t i;
        for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
                if (strlen(tab[i].name) == len && !strncmp(tab[i].name, name, len))
                        return tab[i].value;
        return "x";
}

static void populate(df__metrics_t *m, long long seed)
{
        int i;
        for (i = 0; i < DF__M__COUNT; i++) {
                const df__metric_desc_t *d = df__metric_desc((df__metric_id_t)i);
                const char *values[DF__METRIC_MAX_LABELS] = {NULL, NULL, NULL};
                const char *p = d->labels;
                df__series_t *s;
                int k;
                long long j;

                for (k = 0; k < d->n_labels; k++) {
                        const char *end = strchr(p, ',');
                        size_t len = end ? (size_t)(end - p) : strlen(p);
                        values[k] = label_value(p, len);
                        p = end ? end + 1 : p + len;
                }
                s = df__metric_seriesv(m, (df__metric_id_t)i, values, d->n_labels);
                switch (d->kind) {
                case DF__MK_COUNTER:
                        df__counter_add(s, (uint64_t)(seed * (i + 1)));
                        break;
                case DF__MK_GAUGE:
                        df__gauge_set(s, (double)(seed * (i + 1)));
                        break;
                case DF__MK_HISTOGRAM:
                        for (j = 0; j < seed; j++)
                                df__histogram_observe(s, (double)(i + 1) / 1000.0);
                        break;
                }
        }
}

int main(int argc, char **argv)
{
        static const struct option opts[] = {{"listen", required_argument, NULL, 'l'},
                                             {"port-file", required_argument, NULL, 'p'},
                                             {"seed", required_argument, NULL, 's'},
                                             {"seconds", required_argument, NULL, 'n'},
                                             {"tick-ms", required_argument, NULL, 't'},
                                             {"ready-after-ms", required_argument, NULL, 'r'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
        const char *listen = "127.0.0.1:0", *port_file = NULL;
        long long seed = 7, seconds = 120, tick_ms = 0, last_tick;
        df__metrics_t *m;
        df__metrics_http_t *h;
        char err[256];
        int c;

        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (c) {
                case 'l':
                        listen = optarg;
                        break;
                case 'p':
                        port_file = optarg;
                        break;
                case 's':
                        seed = atoll(optarg);
                        break;
                case 'n':
                        seconds = atoll(optarg);
                        break;
                case 't':
                        tick_ms = atoll(optarg);
                        break;
                case 'r':
                        ready_after_ms = atoll(optarg);
                        break;
                case 'h':
                        printf("usage: telemetry-expose --listen ADDR --port-file F [--seed S] [--seconds N] "
                               "[--tick-ms MS] [--ready-after-ms MS]\n");
                        return 0;
                default:
                        return 2;
                }
        }
        if (optind != argc || seed < 1 || seconds < 1) {
                fprintf(stderr, "telemetry-expose: bad arguments (--help)\n");
                return 2;
        }
        signal(SIGTERM, on_signal);
        signal(SIGINT, on_signal);
        t_start_ms = mono_ms();
        m = df__metrics_new();
        if (!m)
                return 1;
        populate(m, seed);
        if (df__metrics_http_start(m, listen, NULL, ready, NULL, &h, err, sizeof(err)) != DF_OK) {
                fprintf(stderr, "telemetry-expose: %s\n", err);
                df__metrics_destroy(m);
                return 1;
        }
        if (port_file) {
                char tmp[4096];
                FILE *f;
                snprintf(tmp, sizeof(tmp), "%s.tmp", port_file);
                f = fopen(tmp, "w");
                if (!f || fprintf(f, "%d\n", df__metrics_http_port(h)) < 0 || fclose(f) || rename(tmp, port_file)) {
                        fprintf(stderr, "telemetry-expose: cannot write %s\n", port_file);
                        return 1;
                }
        }
        last_tick = mono_ms();
        while (!stop && mono_ms() - t_start_ms < seconds * 1000) {
                usleep(20 * 1000);
                if (tick_ms > 0 && mono_ms() - last_tick >= tick_ms) {
                        df__counter_inc(df__metric_series(m, DF__M_EXECUTIONS_STARTED, "orders"));
                        last_tick += tick_ms;
                }
        }
        df__metrics_http_stop(h);
        df__metrics_destroy(m);
        return 0;
}
