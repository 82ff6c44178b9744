/*
 * bench_metrics.c -- cost of the telemetry hot paths, no broker needed:
 * ns per counter increment (one thread; two threads on one series; two
 * threads on two series), histogram observation, gauge set, series lookup
 * by label values, a /metrics rendering, building an attempt span,
 * df__otlp_submit (queued, and dropped when the queue is full),
 * df__otlp_skip while export is down (the span not made), formatting
 * a JSON log line.  Each figure is the median of --repeat runs (default 5)
 * of --count operations (default 10,000,000; lookups and log lines a
 * tenth, spans a tenth up to 100,000), except the spans, the exporter and
 * the log lines: one run each.
 *
 * Usage: bench_metrics [--count N] [--repeat R]
 */
#include <getopt.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "trace.h"

static int64_t now_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long count = 10000000;
static int repeat = 5;

static int cmp_d(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;
        return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
        qsort(v, (size_t)n, sizeof(*v), cmp_d);
        return v[n / 2];
}

typedef struct job {
        df__series_t *s;
        long n;
        int kind; /* 0 counter, 1 histogram */
        pthread_barrier_t *bar;
} job_t;

static void *job_main(void *p)
{
        job_t *j = p;
        long i;
        pthread_barrier_wait(j->bar);
        if (j->kind == 0)
                for (i = 0; i < j->n; i++)
                        df__counter_inc(j->s);
        else
                for (i = 0; i < j->n; i++)
                        df__histogram_observe(j->s, (double)(i & 1023) / 1000.0);
        return NULL;
}

/* ns per operation with nthreads threads on series a (and b for the second
 * thread when not NULL) */
static double threaded(df__series_t *a, df__series_t *b, int nthreads, int kind)
{
        pthread_t th[2];
        job_t j[2];
        pthread_barrier_t bar;
        int64_t t0;
        int i;

        pthread_barrier_init(&bar, NULL, (unsigned)nthreads + 1);
        for (i = 0; i < nthreads; i++) {
                j[i].s = i == 1 && b ? b : a;
                j[i].n = count;
                j[i].kind = kind;
                j[i].bar = &bar;
                pthread_create(&th[i], NULL, job_main, &j[i]);
        }
        pthread_barrier_wait(&bar);
        t0 = now_ns();
        for (i = 0; i < nthreads; i++)
                pthread_join(th[i], NULL);
        pthread_barrier_destroy(&bar);
        return (double)(now_ns() - t0) / (double)count; /* per op of one thread (wall) */
}

static int closed_port(void)
{
        struct sockaddr_in sa;
        socklen_t len = sizeof(sa);
        int fd = socket(AF_INET, SOCK_STREAM, 0), port;
        memset(&sa, 0, sizeof(sa));
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        bind(fd, (struct sockaddr *)&sa, sizeof(sa));
        getsockname(fd, (struct sockaddr *)&sa, &len);
        port = ntohs(sa.sin_port);
        close(fd);
        return port;
}

int main(int argc, char **argv)
{
        static const struct option opts[] = {{"count", required_argument, NULL, 'c'},
                                             {"repeat", required_argument, NULL, 'r'},
                                             {NULL, 0, NULL, 0}};
        df__metrics_t *m = df__metrics_new();
        df__series_t *c1, *c2, *h1, *h2, *g;
        double r[7][16], v[16];
        int c, k, i;
        volatile uint64_t sink = 0;

        while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
                if (c == 'c')
                        count = atol(optarg);
                else if (c == 'r')
                        repeat = atoi(optarg);
                else
                        return 2;
        }
        if (count < 1000 || repeat < 1 || repeat > 16)
                return 2;
        c1 = df__metric_series(m, DF__M_EXECUTIONS_FINISHED, "orders", "SUCCEEDED");
        c2 = df__metric_series(m, DF__M_EXECUTIONS_FINISHED, "orders", "FAILED");
        h1 = df__metric_series(m, DF__M_STEP_DURATION, "orders", "succeeded");
        h2 = df__metric_series(m, DF__M_STEP_DURATION, "orders", "failed");
        g = df__metric_series(m, DF__M_TIMERS_PENDING);
        for (i = 0; i < 20; i++) {
                char wf[16];
                snprintf(wf, sizeof(wf), "wf-%d", i);
                df__metric_inc(m, DF__M_EXECUTIONS_STARTED, wf);
        }

        printf("bench_metrics: %ld operations per run, median of %d runs, ns per operation (per thread, wall)\n",
               count, repeat);
        for (k = 0; k < repeat; k++) {
                r[0][k] = threaded(c1, NULL, 1, 0);
                r[1][k] = threaded(c1, NULL, 2, 0);
                r[2][k] = threaded(c1, c2, 2, 0);
                r[3][k] = threaded(h1, NULL, 1, 1);
                r[4][k] = threaded(h1, h2, 2, 1);
                {
                        int64_t t0 = now_ns();
                        long n;
                        for (n = 0; n < count; n++)
                                df__gauge_set(g, (double)n);
                        r[5][k] = (double)(now_ns() - t0) / (double)count;
                }
                {
                        int64_t t0 = now_ns();
                        long n, cnt = count / 10;
                        for (n = 0; n < cnt; n++)
                                sink += (uintptr_t)df__metric_series(m, DF__M_EXECUTIONS_FINISHED, "orders",
                                                                     (n & 1) ? "SUCCEEDED" : "FAILED");
                        r[6][k] = (double)(now_ns() - t0) / (double)cnt;
                }
        }
        {
                static const char *const what[] = {
                    "counter inc, 1 thread",
                    "counter inc, 2 threads, same series (contended)",
                    "counter inc, 2 threads, 2 series",
                    "histogram observe, 1 thread",
                    "histogram observe, 2 threads, 2 series",
                    "gauge set, 1 thread",
                    "series lookup by 2 label values (existing series, 22 in the family)",
                };
                for (i = 0; i < 7; i++) {
                        memcpy(v, r[i], sizeof(double) * (size_t)repeat);
                        printf("  %-70s %8.1f\n", what[i], median(v, repeat));
                }
        }
        if (df__counter_value(c1) != (uint64_t)count * 4 * (uint64_t)repeat)
                fprintf(stderr, "bench_metrics: counter lost increments!\n");

        /* a page */
        {
                int64_t t0;
                size_t len = 0;
                char *page;
                for (i = 0; i < 200; i++) {
                        char p[16];
                        snprintf(p, sizeof(p), "%d", i);
                        df__gauge_set(df__metric_series(m, DF__M_CONSUMER_LAG, "worker", "duraflow.events", p), i);
                }
                t0 = now_ns();
                for (i = 0; i < 100; i++) {
                        page = df__metrics_render(m, &len);
                        free(page);
                }
                printf("  %-70s %8.1f us (%zu bytes)\n", "render /metrics (28 families, ~240 series)",
                       (double)(now_ns() - t0) / 100.0 / 1000.0, len);
        }
        /* spans and the exporter */
        {
                df__traceparent_t tp;
                df__otlp_opts_t o = {0};
                df__otlp_t *e;
                char ep[64], err[256];
                /* spans hold ~2 KB each: at most 100,000 at a time, so the
                 * figure is the exporter's, not page faults' */
                long n, cnt = count / 10 > 100000 ? 100000 : count / 10;
                int64_t t0;
                df__otlp_stats_t st;

                df__traceparent_new(&tp);
                t0 = now_ns();
                for (n = 0; n < cnt; n++)
                        df__span_destroy(df__span_attempt(&tp, "order-10248", "orders", "2", "STEP", "reserve", 1, n));
                printf("  %-70s %8.1f\n", "build + free an attempt span (6 attributes)",
                       (double)(now_ns() - t0) / (double)cnt);
                snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", closed_port());
                o.endpoint = ep;
                o.queue_max = (int)(cnt > 1000000 ? 1000000 : cnt);
                o.batch_max = 512;
                o.down_after = 1000000; /* the queue's paths, not export down (below) */
                if (df__otlp_new(&o, &e, err, sizeof(err)) != DF_OK)
                        return 1;
                {
                        df__span_t **pre = malloc((size_t)cnt * sizeof(*pre));
                        for (n = 0; n < cnt; n++)
                                pre[n] = df__span_attempt(&tp, "order-10248", "orders", "2", "STEP", "reserve", 1, n);
                        t0 = now_ns();
                        for (n = 0; n < cnt; n++)
                                df__otlp_submit(e, pre[n]);
                        printf("  %-70s %8.1f\n", "df__otlp_submit, queued (collector down)",
                               (double)(now_ns() - t0) / (double)cnt);
                        for (n = 0; n < cnt; n++)
                                pre[n] = df__span_attempt(&tp, "order-10248", "orders", "2", "STEP", "reserve", 1, n);
                        t0 = now_ns();
                        for (n = 0; n < cnt; n++)
                                df__otlp_submit(e, pre[n]);
                        printf("  %-70s %8.1f\n", "df__otlp_submit, dropped (queue full; includes freeing the span)",
                               (double)(now_ns() - t0) / (double)cnt);
                        free(pre);
                }
                df__otlp_stats(e, &st);
                df__otlp_destroy(e, 0);
                /* export down (3 refused requests): the producer's check before each span it would make */
                o.queue_max = 0;
                o.down_after = 0;
                o.backoff_initial_ms = 10;
                if (df__otlp_new(&o, &e, err, sizeof(err)) != DF_OK)
                        return 1;
                df__otlp_submit(e, df__span_attempt(&tp, "order-10248", "orders", "2", "STEP", "reserve", 1, 0));
                t0 = now_ns();
                while (!df__otlp_down(e) && now_ns() - t0 < 5000000000LL)
                        usleep(1000);
                if (df__otlp_down(e)) {
                        t0 = now_ns();
                        for (n = 0; n < count; n++)
                                sink += df__otlp_skip(e);
                        printf("  %-70s %8.1f\n", "df__otlp_skip while export is down (span not made, counted)",
                               (double)(now_ns() - t0) / (double)count);
                }
                df__otlp_destroy(e, 0);
        }
        /* a JSON log line */
        {
                char line[DF__LOG_LINE_MAX];
                df__log_fields_t f = {"order-10248", "orders", "3", 2, "4bf92f3577b34da6a3ce929d0e0e4736", "w-1"};
                long n, cnt = count / 10;
                int64_t t0 = now_ns();
                for (n = 0; n < cnt; n++)
                        sink += df__log_format_line(line, sizeof(line), DF__LOG_JSON, 2, 1767268800123LL, &f,
                                                    "step reserve attempt 2 succeeded");
                printf("  %-70s %8.1f\n", "format a JSON log line (all 6 fields)", (double)(now_ns() - t0) / (double)cnt);
                t0 = now_ns();
                for (n = 0; n < cnt; n++)
                        sink += df__log_format_line(line, sizeof(line), DF__LOG_TEXT, 2, 1767268800123LL, &f,
                                                    "step reserve attempt 2 succeeded");
                printf("  %-70s %8.1f\n", "format a text log line (all 6 fields)", (double)(now_ns() - t0) / (double)cnt);
        }
        df__metrics_destroy(m);
        return sink == 42 ? 1 : 0;
}
