/*
 * suite_metrics.c -- the metrics registry: Prometheus text rendering
 * (HELP/TYPE, _total, buckets, escaping), bounded label sets, concurrent
 * updates, the HTTP endpoint (/metrics, /healthz, /readyz) and librdkafka's
 * statistics (a document from the real library on its mock cluster).
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "tel_common.h"

static char *render(df__metrics_t *m)
{
        size_t len = 0;
        char *page = df__metrics_render(m, &len);
        ck_assert_ptr_nonnull(page);
        ck_assert_uint_eq(strlen(page), len);
        return page;
}

/* page has this exact line */
static int has_line(const char *page, const char *line)
{
        size_t n = strlen(line);
        const char *p = page;
        while ((p = strstr(p, line))) {
                if ((p == page || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
                        return 1;
                p += n;
        }
        return 0;
}

static int count_prefix(const char *page, const char *prefix)
{
        int n = 0;
        const char *p = page;
        size_t l = strlen(prefix);
        while (*p) {
                if (!strncmp(p, prefix, l))
                        n++;
                p = strchr(p, '\n');
                if (!p)
                        break;
                p++;
        }
        return n;
}

START_TEST(every_family_has_help_and_type)
{
        df__metrics_t *m = df__metrics_new();
        char *page = render(m);
        char line[512];
        int i;
        static const char *const kinds[] = {"counter", "gauge", "histogram"};

        for (i = 0; i < DF__M__COUNT; i++) {
                const df__metric_desc_t *d = df__metric_desc((df__metric_id_t)i);
                size_t n = strlen(d->name);
                ck_assert_msg(!strncmp(d->name, "duraflow_", 9), "%s: no duraflow_ prefix", d->name);
                if (d->kind == DF__MK_COUNTER)
                        ck_assert_msg(n > 6 && !strcmp(d->name + n - 6, "_total"), "counter %s: no _total", d->name);
                else
                        ck_assert_msg(!strstr(d->name, "_total"), "%s is not a counter but ends in _total", d->name);
                snprintf(line, sizeof(line), "# TYPE %s %s", d->name, kinds[d->kind]);
                ck_assert_msg(has_line(page, line), "missing: %s", line);
                snprintf(line, sizeof(line), "# HELP %s %s", d->name, d->help);
                ck_assert_msg(has_line(page, line), "missing: %s", line);
        }
        /* label-less counters render as 0 from the start */
        ck_assert(has_line(page, "duraflow_timers_fired_total 0"));
        ck_assert(has_line(page, "duraflow_timers_pending 0"));
        free(page);
        df__metrics_destroy(m);
}
END_TEST

START_TEST(counters_and_gauges)
{
        df__metrics_t *m = df__metrics_new();
        df__series_t *s = df__metric_series(m, DF__M_EXECUTIONS_STARTED, "orders");
        char *page;

        ck_assert_ptr_eq(s, df__metric_series(m, DF__M_EXECUTIONS_STARTED, "orders"));
        ck_assert_ptr_ne(s, df__metric_series(m, DF__M_EXECUTIONS_STARTED, "refunds"));
        df__counter_add(s, 3);
        df__counter_inc(s);
        df__metric_inc(m, DF__M_EXECUTIONS_FINISHED, "orders", "SUCCEEDED");
        df__metric_inc(m, DF__M_EXECUTIONS_FINISHED, "orders", "SUCCEEDED");
        df__metric_inc(m, DF__M_EXECUTIONS_FINISHED, "orders", "FAILED");
        df__gauge_set(df__metric_series(m, DF__M_STATE_FREE_BYTES, "worker"), 123456789012.0);
        df__gauge_set(df__metric_series(m, DF__M_EXECUTIONS_WAITING, "callback"), 7);
        df__gauge_add(df__metric_series(m, DF__M_EXECUTIONS_WAITING, "callback"), -2);
        df__gauge_set(df__metric_series(m, DF__M_TIMERS_PENDING), 0.25);
        df__counter_add(df__metric_series(NULL, DF__M_EXECUTIONS_STARTED, "x"), 1); /* metrics off: no-op */
        page = render(m);
        ck_assert(has_line(page, "duraflow_executions_started_total{workflow=\"orders\"} 4"));
        ck_assert(has_line(page, "duraflow_executions_started_total{workflow=\"refunds\"} 0"));
        ck_assert(has_line(page, "duraflow_executions_finished_total{workflow=\"orders\",status=\"SUCCEEDED\"} 2"));
        ck_assert(has_line(page, "duraflow_executions_finished_total{workflow=\"orders\",status=\"FAILED\"} 1"));
        ck_assert(has_line(page, "duraflow_state_free_bytes{component=\"worker\"} 123456789012"));
        ck_assert(has_line(page, "duraflow_executions_waiting{kind=\"callback\"} 5"));
        ck_assert(has_line(page, "duraflow_timers_pending 0.25"));
        /* a gauge never set is not rendered; unset hides it */
        ck_assert_ptr_null(strstr(page, "duraflow_executions_waiting{kind=\"wait\"}"));
        free(page);
        df__metric_series(m, DF__M_EXECUTIONS_WAITING, "wait");
        df__gauge_unset(df__metric_series(m, DF__M_EXECUTIONS_WAITING, "callback"));
        page = render(m);
        ck_assert_ptr_null(strstr(page, "duraflow_executions_waiting{kind=\"wait\"}"));
        ck_assert_ptr_null(strstr(page, "duraflow_executions_waiting{kind=\"callback\"}"));
        free(page);
        df__metrics_destroy(m);
}
END_TEST

START_TEST(histogram_buckets)
{
        df__metrics_t *m = df__metrics_new();
        df__series_t *s = df__metric_series(m, DF__M_STEP_DURATION, "orders", "succeeded");
        uint64_t cum[64];
        double sum;
        char *page;

        df__histogram_observe(s, 0.003);
        df__histogram_observe(s, 0.005); /* on a bound: le is inclusive */
        df__histogram_observe(s, 0.02);
        df__histogram_observe(s, 7);
        df__histogram_observe(s, 1000); /* above every bound: +Inf only */
        df__histogram_observe(s, NAN);  /* ignored */
        ck_assert_uint_eq(df__histogram_count(s, &sum, cum), 5);
        ck_assert_double_eq_tol(sum, 1007.028, 1e-9);
        page = render(m);
        ck_assert(has_line(page, "duraflow_step_duration_seconds_bucket{workflow=\"orders\",outcome=\"succeeded\",le=\"0.0005\"} 0"));
        ck_assert(has_line(page, "duraflow_step_duration_seconds_bucket{workflow=\"orders\",outcome=\"succeeded\",le=\"0.0025\"} 0"));
        ck_assert(has_line(page, "duraflow_step_duration_seconds_bucket{workflow=\"orders\",outcome=\"succeeded\",le=\"0.005\"} 2"));
        ck_assert(has_line(page, "duraflow_step_duration_seconds_bucket{workflow=\"orders\",outcome=\"succeeded\",le=\"0.025\"} 3"));
        ck_assert(has_line(page, "duraflow_step_duration_seconds_bucket{workflow=\"orders\",outcome=\"succeeded\",le=\"5\"} 3"));
        ck_assert(has_line(page, "duraflow_step_duration_seconds_bucket{workflow=\"orders\",outcome=\"succeeded\",le=\"10\"} 4"));
        ck_assert(has_line(page, "duraflow_step_duration_seconds_bucket{workflow=\"orders\",outcome=\"succeeded\",le=\"60\"} 4"));
        ck_assert(has_line(page, "duraflow_step_duration_seconds_bucket{workflow=\"orders\",outcome=\"succeeded\",le=\"+Inf\"} 5"));
        ck_assert(has_line(page, "duraflow_step_duration_seconds_sum{workflow=\"orders\",outcome=\"succeeded\"} 1007.028"));
        ck_assert(has_line(page, "duraflow_step_duration_seconds_count{workflow=\"orders\",outcome=\"succeeded\"} 5"));
        /* a label-less histogram renders its buckets at 0 from the start */
        ck_assert(has_line(page, "duraflow_timer_lateness_seconds_bucket{le=\"+Inf\"} 0"));
        ck_assert(has_line(page, "duraflow_timer_lateness_seconds_count 0"));
        free(page);
        df__metrics_destroy(m);
}
END_TEST

START_TEST(label_values_escaped_or_refused)
{
        df__metrics_t *m = df__metrics_new();
        char big[300];
        char *page;

        memset(big, 'w', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        df__metric_inc(m, DF__M_EXECUTIONS_STARTED, "a\"b\\c");     /* escaped */
        df__metric_inc(m, DF__M_EXECUTIONS_STARTED, "caf\xc3\xa9"); /* UTF-8 as is */
        df__metric_inc(m, DF__M_EXECUTIONS_STARTED, "bad\xff");     /* not UTF-8 */
        df__metric_inc(m, DF__M_EXECUTIONS_STARTED, "new\nline");   /* control character */
        df__metric_inc(m, DF__M_EXECUTIONS_STARTED, "esc\x1b[2J");  /* terminal escape */
        df__metric_inc(m, DF__M_EXECUTIONS_STARTED, big);           /* oversized */
        df__metric_inc(m, DF__M_EXECUTIONS_STARTED, NULL);          /* missing: empty */
        page = render(m);
        ck_assert(has_line(page, "duraflow_executions_started_total{workflow=\"a\\\"b\\\\c\"} 1"));
        ck_assert(has_line(page, "duraflow_executions_started_total{workflow=\"caf\xc3\xa9\"} 1"));
        ck_assert(has_line(page, "duraflow_executions_started_total{workflow=\"_invalid\"} 4"));
        ck_assert(has_line(page, "duraflow_executions_started_total{workflow=\"\"} 1"));
        ck_assert_ptr_null(strstr(page, "\xff"));
        ck_assert_ptr_null(strstr(page, "\x1b"));
        ck_assert_ptr_null(strstr(page, "new\nline"));
        free(page);
        df__metrics_destroy(m);
}
END_TEST

START_TEST(cardinality_bounded)
{
        df__metrics_t *m = df__metrics_new();
        char wf[32], *page;
        int i;

        for (i = 0; i < 600; i++) {
                snprintf(wf, sizeof(wf), "wf-%d", i);
                df__metric_inc(m, DF__M_EXECUTIONS_STARTED, wf);
                df__metric_inc(m, DF__M_EXECUTIONS_STARTED, wf); /* same series again */
        }
        page = render(m);
        /* 511 series of their own, the rest folded into _overflow */
        ck_assert_int_eq(count_prefix(page, "duraflow_executions_started_total{workflow=\"wf-"),
                         DF__METRIC_MAX_SERIES - 1);
        ck_assert(has_line(page, "duraflow_executions_started_total{workflow=\"wf-0\"} 2"));
        ck_assert(has_line(page, "duraflow_executions_started_total{workflow=\"wf-510\"} 2"));
        ck_assert_ptr_null(strstr(page, "workflow=\"wf-511\""));
        ck_assert(has_line(page, "duraflow_executions_started_total{workflow=\"_overflow\"} 178"));
        ck_assert(has_line(page, "duraflow_metrics_series_dropped_total 178"));
        free(page);
        df__metrics_destroy(m);
}
END_TEST

typedef struct race_arg {
        df__metrics_t *m;
        int id;
        df__series_t *got;
} race_arg_t;

static void *race_main(void *p)
{
        race_arg_t *a = p;
        char wf[16];
        int i;
        a->got = df__metric_series(a->m, DF__M_EXECUTIONS_STARTED, "shared");
        for (i = 0; i < 200000; i++) {
                df__counter_inc(a->got);
                df__histogram_observe(df__metric_series(a->m, DF__M_BATCH_SIZE, "worker"), (double)(i % 700));
                if (i % 2000 == 0) {
                        snprintf(wf, sizeof(wf), "t%d-%d", a->id, i / 2000);
                        df__metric_inc(a->m, DF__M_EXECUTIONS_STARTED, wf);
                }
        }
        return NULL;
}

START_TEST(concurrent_updates_exact)
{
        df__metrics_t *m = df__metrics_new();
        pthread_t th[4];
        race_arg_t a[4];
        char *page;
        int i, renders = 0;

        for (i = 0; i < 4; i++) {
                a[i].m = m;
                a[i].id = i;
                ck_assert_int_eq(pthread_create(&th[i], NULL, race_main, &a[i]), 0);
        }
        for (i = 0; i < 20; i++) { /* render while they write */
                page = render(m);
                free(page);
                renders++;
        }
        for (i = 0; i < 4; i++)
                pthread_join(th[i], NULL);
        for (i = 1; i < 4; i++)
                ck_assert_ptr_eq(a[i].got, a[0].got); /* one series for one label set */
        ck_assert_uint_eq(df__counter_value(a[0].got), 800000);
        ck_assert_uint_eq(df__histogram_count(df__metric_series(m, DF__M_BATCH_SIZE, "worker"), NULL, NULL), 800000);
        page = render(m);
        ck_assert(has_line(page, "duraflow_executions_started_total{workflow=\"shared\"} 800000"));
        ck_assert_int_eq(count_prefix(page, "duraflow_executions_started_total{workflow=\"t"), 400);
        ck_assert_int_eq(renders, 20);
        free(page);
        df__metrics_destroy(m);
}
END_TEST

/* ---------------- listen address ---------------- */

START_TEST(listen_addresses)
{
        static const char *const good[] = {"127.0.0.1:0", "127.0.0.1:9464", "0.0.0.0:9464", "[::1]:0", "[::]:9464"};
        static const char *const bad[] = {"localhost:9464", "127.0.0.1", "127.0.0.1:65536", "127.0.0.1:-1",
                                          ":80",           "127.0.0.1:80x", "1.2.3.4.5:80", "[::1]80",
                                          "[::1:80",       "127.0.0.1:",  " 127.0.0.1:80", "127.0.0.1:80\n",
                                          "[1.2.3.4]:80",  "127.0.0.1:+80"};
        char err[256];
        int off;
        size_t i;

        for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
                ck_assert_msg(df__metrics_listen_parse(good[i], &off, err, sizeof(err)) == DF_OK, "%s: %s", good[i],
                              err);
                ck_assert_int_eq(off, 0);
        }
        ck_assert_int_eq(df__metrics_listen_parse("", &off, err, sizeof(err)), DF_OK);
        ck_assert_int_eq(off, 1);
        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                err[0] = '\0';
                ck_assert_msg(df__metrics_listen_parse(bad[i], &off, err, sizeof(err)) == DF_ERR_CONF, "accepted %s",
                              bad[i]);
                ck_assert_msg(strstr(err, "metrics.listen"), "message does not name the property: %s", err);
                ck_assert_ptr_null(strchr(err, '\n'));
        }
}
END_TEST

/* ---------------- HTTP ---------------- */

static int ready_flag;
static int probe_ready(char *reason, size_t n, void *opaque)
{
        ck_assert_ptr_eq(opaque, &ready_flag);
        if (!ready_flag)
                snprintf(reason, n, "restoring 3 partitions\x1b[31m");
        return ready_flag;
}

START_TEST(http_endpoints)
{
        df__metrics_t *m = df__metrics_new();
        df__metrics_http_t *h = NULL, *h2 = NULL;
        char url[128], err[256], ctype[128], *body;
        int port;

        ready_flag = 0;
        df__counter_add(df__metric_series(m, DF__M_EXECUTIONS_STARTED, "orders"), 830);
        ck_assert_int_eq(df__metrics_http_start(m, "127.0.0.1:0", NULL, probe_ready, &ready_flag, &h, err, sizeof(err)),
                         DF_OK);
        port = df__metrics_http_port(h);
        ck_assert_int_gt(port, 0);

        snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", port);
        ck_assert_int_eq(tel_http_get(url, &body, ctype, sizeof(ctype)), 200);
        ck_assert_str_eq(ctype, "text/plain; version=0.0.4; charset=utf-8");
        ck_assert(has_line(body, "duraflow_executions_started_total{workflow=\"orders\"} 830"));
        free(body);
        df__counter_inc(df__metric_series(m, DF__M_EXECUTIONS_STARTED, "orders"));
        ck_assert_int_eq(tel_http_get(url, &body, NULL, 0), 200);
        ck_assert(has_line(body, "duraflow_executions_started_total{workflow=\"orders\"} 831")); /* live, not cached */
        free(body);

        snprintf(url, sizeof(url), "http://127.0.0.1:%d/healthz", port);
        ck_assert_int_eq(tel_http_get(url, &body, NULL, 0), 200);
        ck_assert_str_eq(body, "ok\n");
        free(body);
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/readyz", port);
        ck_assert_int_eq(tel_http_get(url, &body, NULL, 0), 503);
        ck_assert_str_eq(body, "not ready: restoring 3 partitions?[31m\n"); /* control character replaced */
        free(body);
        ready_flag = 1;
        ck_assert_int_eq(tel_http_get(url, &body, NULL, 0), 200);
        ck_assert_str_eq(body, "ready\n");
        free(body);

        snprintf(url, sizeof(url), "http://127.0.0.1:%d/nope", port);
        ck_assert_int_eq(tel_http_get(url, NULL, NULL, 0), 404);
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics?x=1", port);
        ck_assert_int_eq(tel_http_get(url, NULL, NULL, 0), 200);
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", port);
        ck_assert_int_eq(tel_http_method(url, "POST"), 405);
        ck_assert_int_eq(tel_http_method(url, "DELETE"), 405);
        ck_assert_int_eq(tel_http_method(url, "HEAD"), 200);

        /* the same port twice: a clear error, not a crash */
        snprintf(url, sizeof(url), "127.0.0.1:%d", port);
        ck_assert_int_eq(df__metrics_http_start(m, url, NULL, NULL, NULL, &h2, err, sizeof(err)), DF_ERR_STATE);
        ck_assert_ptr_null(h2);
        ck_assert_ptr_nonnull(strstr(err, url));
        ck_assert_int_eq(df__metrics_http_start(m, "nohost:1", NULL, NULL, NULL, &h2, err, sizeof(err)), DF_ERR_CONF);

        df__metrics_http_stop(h);
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", port);
        ck_assert_int_eq(tel_http_get(url, NULL, NULL, 0), 0); /* stopped: nothing answers */
        df__metrics_http_stop(NULL);
        df__metrics_destroy(m);
}
END_TEST

/* ---------------- the stall watch ---------------- */

typedef struct emitted {
        int n, warn;
        char last[800];
} emitted_t;

static void stall_emit(int level, const char *msg, void *opaque)
{
        emitted_t *e = opaque;
        e->n++;
        e->warn += level == 1; /* DF__LOG_WARN */
        snprintf(e->last, sizeof(e->last), "%s", msg);
}

/* one document: partition 1 of t with the three offsets */
static void stall_feed(df__stall_t *w, long long hi, long long ls, long long next, const char *fetch, int64_t now,
                       emitted_t *e)
{
        char doc[600], err[128];
        df__kstats_t st;
        snprintf(doc, sizeof(doc),
                 "{\"topics\":{\"p.events\":{\"partitions\":{\"1\":{\"partition\":1,\"consumer_lag\":0,"
                 "\"hi_offset\":%lld,\"ls_offset\":%lld,\"next_offset\":%lld,\"fetch_state\":\"%s\"},"
                 "\"-1\":{\"partition\":-1,\"hi_offset\":-1001,\"ls_offset\":-1001}}}}}",
                 hi, ls, next, fetch);
        ck_assert_int_eq(df__kstats_parse(doc, strlen(doc), &st, err, sizeof(err)), DF_OK);
        df__stall_check(w, "worker w1", &st, now, stall_emit, e);
        df__kstats_clear(&st);
}

START_TEST(stall_watch)
{
        df__stall_t w = {.after_ms = 10000};
        emitted_t e = {0};

        /* caught up, idle: nothing to say however long */
        stall_feed(&w, 100, 100, 100, "active", 0, &e);
        stall_feed(&w, 100, 100, 100, "active", 60000, &e);
        ck_assert_int_eq(e.n, 0);
        /* an open transaction: the high watermark grows, the LSO stays at 100 */
        stall_feed(&w, 130, 100, 100, "active", 65000, &e);
        stall_feed(&w, 140, 100, 100, "active", 70000, &e);
        ck_assert_int_eq(e.n, 0); /* 5 s: not yet */
        stall_feed(&w, 150, 100, 100, "active", 75000, &e);
        ck_assert_int_eq(e.warn, 1);
        ck_assert_msg(strstr(e.last, "p.events[1]: the last stable offset has stayed at 100 for 10000 ms, 50 "
                                     "record(s) below the high watermark 150: an open transaction"),
                      "%s", e.last);
        stall_feed(&w, 160, 100, 100, "active", 80000, &e);
        ck_assert_int_eq(e.n, 1); /* once per episode */
        /* it commits: the LSO moves, said once at info */
        stall_feed(&w, 160, 160, 160, "active", 85000, &e);
        ck_assert_int_eq(e.n, 2);
        ck_assert_int_eq(e.warn, 1);
        ck_assert_ptr_nonnull(strstr(e.last, "the last stable offset moves again (160, high watermark 160) after"));

        /* records there to read, the fetch position stuck at 160 */
        stall_feed(&w, 170, 170, 160, "active", 90000, &e);
        stall_feed(&w, 170, 170, 160, "active", 95000, &e);
        stall_feed(&w, 170, 170, 160, "active", 100000, &e);
        ck_assert_int_eq(e.warn, 2);
        ck_assert_msg(strstr(e.last, "p.events[1]: 10 record(s) readable (offsets 160..169) but the fetch position "
                                     "has not moved for 10000 ms (fetch state active"),
                      "%s", e.last);
        /* a fetcher that is stopped (partition revoked, paused) is not stuck */
        stall_feed(&w, 170, 170, 165, "stopped", 105000, &e);
        ck_assert_int_eq(e.n, 4); /* the "fetching again" line */
        stall_feed(&w, 170, 170, 165, "stopped", 200000, &e);
        ck_assert_int_eq(e.n, 4);
        df__stall_clear(&w);
}
END_TEST

/* ---------------- librdkafka statistics ---------------- */

static const char stats_doc[] =
    "{\"name\":\"rdkafka#consumer-1\",\"type\":\"consumer\",\"ts\":1,\"time\":2,"
    "\"topics\":{"
    " \"duraflow.events\":{\"topic\":\"duraflow.events\",\"partitions\":{"
    "  \"0\":{\"partition\":0,\"consumer_lag\":42,\"consumer_lag_stored\":40},"
    "  \"1\":{\"partition\":1,\"consumer_lag\":0},"
    "  \"2\":{\"partition\":2,\"consumer_lag\":-1},"
    "  \"-1\":{\"partition\":-1,\"consumer_lag\":-1}}},"
    " \"duraflow.state\":{\"topic\":\"duraflow.state\",\"partitions\":{"
    "  \"3\":{\"partition\":3,\"consumer_lag\":1000000}}}},"
    "\"cgrp\":{\"state\":\"up\",\"rebalance_cnt\":3,\"assignment_size\":4}}";

START_TEST(kstats_document)
{
        df__kstats_t st;
        df__metrics_t *m = df__metrics_new();
        char err[256], *page;
        int64_t last = -1;
        int i, seen0 = 0, seen3 = 0;

        ck_assert_int_eq(df__kstats_parse(stats_doc, strlen(stats_doc), &st, err, sizeof(err)), DF_OK);
        ck_assert_int_eq(st.rebalance_cnt, 3);
        ck_assert_int_eq(st.assignment_size, 4);
        ck_assert_int_eq(st.n_parts, 4); /* partition -1 skipped */
        for (i = 0; i < st.n_parts; i++) {
                if (!strcmp(st.parts[i].topic, "duraflow.events") && st.parts[i].partition == 0)
                        seen0 = st.parts[i].lag == 42;
                if (!strcmp(st.parts[i].topic, "duraflow.state") && st.parts[i].partition == 3)
                        seen3 = st.parts[i].lag == 1000000;
        }
        ck_assert(seen0 && seen3);
        df__metrics_apply_kstats(m, "worker", &st, &last);
        ck_assert_int_eq(last, 3);
        page = render(m);
        ck_assert(has_line(page, "duraflow_consumer_lag_records{component=\"worker\",topic=\"duraflow.events\",partition=\"0\"} 42"));
        ck_assert(has_line(page, "duraflow_consumer_lag_records{component=\"worker\",topic=\"duraflow.events\",partition=\"1\"} 0"));
        ck_assert(has_line(page, "duraflow_consumer_lag_records{component=\"worker\",topic=\"duraflow.state\",partition=\"3\"} 1000000"));
        ck_assert_ptr_null(strstr(page, "partition=\"2\"")); /* lag unknown: not a number to show */
        ck_assert(has_line(page, "duraflow_consumer_rebalances_total{component=\"worker\"} 3"));
        free(page);
        df__kstats_clear(&st);

        /* next document: partition 1 revoked, two more rebalances */
        {
                static const char doc2[] =
                    "{\"topics\":{\"duraflow.events\":{\"partitions\":{\"0\":{\"partition\":0,\"consumer_lag\":7}}}},"
                    "\"cgrp\":{\"rebalance_cnt\":5}}";
                ck_assert_int_eq(df__kstats_parse(doc2, strlen(doc2), &st, err, sizeof(err)), DF_OK);
                df__metrics_apply_kstats(m, "worker", &st, &last);
                df__kstats_clear(&st);
        }
        page = render(m);
        ck_assert(has_line(page, "duraflow_consumer_lag_records{component=\"worker\",topic=\"duraflow.events\",partition=\"0\"} 7"));
        ck_assert_ptr_null(strstr(page, "partition=\"1\""));
        ck_assert_ptr_null(strstr(page, "partition=\"3\""));
        ck_assert(has_line(page, "duraflow_consumer_rebalances_total{component=\"worker\"} 5"));
        free(page);

        /* a new consumer (count restarts at 1): its rebalance is new */
        {
                static const char doc3[] = "{\"cgrp\":{\"rebalance_cnt\":1}}";
                ck_assert_int_eq(df__kstats_parse(doc3, strlen(doc3), &st, err, sizeof(err)), DF_OK);
                df__metrics_apply_kstats(m, "worker", &st, &last);
                df__kstats_clear(&st);
        }
        ck_assert_uint_eq(df__counter_value(df__metric_series(m, DF__M_REBALANCES, "worker")), 6);

        ck_assert_int_eq(df__kstats_parse("{\"topics\":", 10, &st, err, sizeof(err)), DF_ERR_CODEC);
        ck_assert_ptr_nonnull(strstr(err, "statistics"));
        ck_assert_int_eq(df__kstats_parse("[1,2]", 5, &st, err, sizeof(err)), DF_ERR_CODEC);
        {
                static const char wrong[] = "{\"topics\":{\"t\":{\"partitions\":{\"0\":{\"partition\":\"x\"}}}}}";
                ck_assert_int_eq(df__kstats_parse(wrong, strlen(wrong), &st, err, sizeof(err)), DF_OK);
        } /* wrong types are skipped, not trusted */
        ck_assert_int_eq(st.n_parts, 0);
        df__kstats_clear(&st);
        df__metrics_destroy(m);
}
END_TEST

/* The statistics of a real librdkafka consumer (mock cluster, in process):
 * 10 records produced, 4 consumed and the 4th committed: lag 6. */
static char *real_stats;
static int stats_cb(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
        (void)rk;
        (void)opaque;
        if (strstr(json, "\"consumer_lag\":6")) {
                free(real_stats);
                real_stats = strndup(json, len);
        }
        return 0;
}

START_TEST(kstats_from_librdkafka)
{
        char err[512], brokers[256];
        rd_kafka_conf_t *pc = rd_kafka_conf_new(), *cc;
        rd_kafka_t *p, *c;
        rd_kafka_mock_cluster_t *mc;
        rd_kafka_topic_partition_list_t *tp;
        df__kstats_t st;
        int i, got = 0;
        int64_t until;

        ck_assert_int_eq(rd_kafka_conf_set(pc, "log_level", "0", err, sizeof(err)), RD_KAFKA_CONF_OK);
        p = rd_kafka_new(RD_KAFKA_PRODUCER, pc, err, sizeof(err));
        ck_assert_ptr_nonnull(p);
        mc = rd_kafka_mock_cluster_new(p, 1);
        ck_assert_ptr_nonnull(mc);
        snprintf(brokers, sizeof(brokers), "%s", rd_kafka_mock_cluster_bootstraps(mc));
        ck_assert_int_eq(rd_kafka_mock_topic_create(mc, "tel.stats", 1, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
        {
                rd_kafka_conf_t *pc2 = rd_kafka_conf_new();
                rd_kafka_t *p2;
                rd_kafka_conf_set(pc2, "bootstrap.servers", brokers, err, sizeof(err));
                rd_kafka_conf_set(pc2, "log_level", "0", err, sizeof(err));
                p2 = rd_kafka_new(RD_KAFKA_PRODUCER, pc2, err, sizeof(err));
                ck_assert_ptr_nonnull(p2);
                for (i = 0; i < 10; i++)
                        ck_assert_int_eq(rd_kafka_producev(p2, RD_KAFKA_V_TOPIC("tel.stats"), RD_KAFKA_V_PARTITION(0),
                                                           RD_KAFKA_V_VALUE("v", 1), RD_KAFKA_V_END),
                                         RD_KAFKA_RESP_ERR_NO_ERROR);
                ck_assert_int_eq(rd_kafka_flush(p2, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
                rd_kafka_destroy(p2);
        }
        cc = rd_kafka_conf_new();
        rd_kafka_conf_set(cc, "bootstrap.servers", brokers, err, sizeof(err));
        rd_kafka_conf_set(cc, "group.id", "tel-stats", err, sizeof(err));
        rd_kafka_conf_set(cc, "enable.auto.commit", "false", err, sizeof(err));
        rd_kafka_conf_set(cc, "auto.offset.reset", "earliest", err, sizeof(err));
        rd_kafka_conf_set(cc, "statistics.interval.ms", "100", err, sizeof(err));
        rd_kafka_conf_set(cc, "log_level", "0", err, sizeof(err));
        rd_kafka_conf_set_stats_cb(cc, stats_cb);
        c = rd_kafka_new(RD_KAFKA_CONSUMER, cc, err, sizeof(err));
        ck_assert_ptr_nonnull(c);
        rd_kafka_poll_set_consumer(c);
        tp = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(tp, "tel.stats", 0);
        ck_assert_int_eq(rd_kafka_subscribe(c, tp), RD_KAFKA_RESP_ERR_NO_ERROR);
        rd_kafka_topic_partition_list_destroy(tp);
        until = tel_mono_ms() + 20000;
        while (got < 4 && tel_mono_ms() < until) {
                rd_kafka_message_t *msg = rd_kafka_consumer_poll(c, 100);
                if (!msg)
                        continue;
                if (!msg->err && ++got == 4)
                        ck_assert_int_eq(rd_kafka_commit_message(c, msg, 0), RD_KAFKA_RESP_ERR_NO_ERROR);
                rd_kafka_message_destroy(msg);
        }
        ck_assert_int_eq(got, 4);
        /* consumer_lag is the partition's end minus the committed offset
         * (librdkafka's STATISTICS.md): 10 - 4, whatever is consumed after */
        until = tel_mono_ms() + 20000;
        while (!real_stats && tel_mono_ms() < until) {
                rd_kafka_message_t *msg = rd_kafka_consumer_poll(c, 100);
                if (msg)
                        rd_kafka_message_destroy(msg);
        }
        ck_assert_msg(real_stats != NULL, "librdkafka never reported consumer_lag 6");
        ck_assert_int_eq(df__kstats_parse(real_stats, strlen(real_stats), &st, err, sizeof(err)), DF_OK);
        ck_assert_int_eq(st.n_parts, 1);
        ck_assert_str_eq(st.parts[0].topic, "tel.stats");
        ck_assert_int_eq(st.parts[0].partition, 0);
        ck_assert_int_eq(st.parts[0].lag, 6);
        ck_assert_int_ge(st.rebalance_cnt, 1); /* subscribe: at least the first assignment */
        df__kstats_clear(&st);
        free(real_stats);
        real_stats = NULL;
        rd_kafka_consumer_close(c);
        rd_kafka_destroy(c);
        rd_kafka_mock_cluster_destroy(mc);
        rd_kafka_destroy(p);
}
END_TEST

Suite *suite_metrics(void)
{
        Suite *s = suite_create("metrics");
        TCase *tc = tcase_create("registry");
        TCase *th = tcase_create("http");
        TCase *tk = tcase_create("kstats");

        tcase_add_test(tc, every_family_has_help_and_type);
        tcase_add_test(tc, counters_and_gauges);
        tcase_add_test(tc, histogram_buckets);
        tcase_add_test(tc, label_values_escaped_or_refused);
        tcase_add_test(tc, cardinality_bounded);
        tcase_add_test(tc, concurrent_updates_exact);
        tcase_set_timeout(tc, 60);
        suite_add_tcase(s, tc);
        tcase_add_test(th, listen_addresses);
        tcase_add_test(th, http_endpoints);
        tcase_set_timeout(th, 60);
        suite_add_tcase(s, th);
        tcase_add_test(tk, kstats_document);
        tcase_add_test(tk, stall_watch);
        tcase_add_test(tk, kstats_from_librdkafka);
        tcase_set_timeout(tk, 60);
        suite_add_tcase(s, tk);
        return s;
}
