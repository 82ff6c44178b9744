/*
 * suite_exporter.c -- the OTLP/HTTP exporter against a recording collector
 * on loopback: batching, the flush interval, retry with backoff on 503 and
 * friends, dropping on 400, flush at shutdown; and with the collector down
 * (nothing listening, or a listener that never answers): submit never
 * blocks, the queue and its bytes stay within their bound, shutdown is
 * bounded in time; export down after failed requests in a row (no span
 * made, counted, one log line) and up again when the collector is back.
 */
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "tel_common.h"
#include "trace.h"

static df__span_t *mkspan(int i)
{
        df__traceparent_t tp;
        char op[16];
        ck_assert_int_eq(df__traceparent_new(&tp), DF_OK);
        snprintf(op, sizeof(op), "%d", i + 1);
        return df__span_attempt(&tp, "exec-1", "orders", op, "STEP", "receive", 1, 1700000000000000000LL + i);
}

/* spans in one OTLP/JSON request body */
static int body_spans(const char *body)
{
        json_error_t jerr;
        json_t *root = json_loads(body, 0, &jerr);
        int n;
        ck_assert_msg(root != NULL, "collector got invalid JSON: %s", jerr.text);
        n = (int)json_array_size(json_object_get(
            json_array_get(json_object_get(json_array_get(json_object_get(root, "resourceSpans"), 0), "scopeSpans"), 0),
            "spans"));
        json_decref(root);
        return n;
}

static df__otlp_t *start(int port, df__otlp_opts_t *o)
{
        char ep[64], err[256];
        df__otlp_t *e = NULL;
        snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", port);
        o->endpoint = ep;
        ck_assert_msg(df__otlp_new(o, &e, err, sizeof(err)) == DF_OK, "%s", err);
        return e;
}

START_TEST(batches_and_flush_interval)
{
        static const int ok[] = {200, 0};
        tel_collector_t *c = tel_collector_start(ok);
        df__otlp_opts_t o = {.batch_max = 10, .flush_ms = 200};
        df__otlp_t *e = start(tel_collector_port(c), &o);
        df__otlp_stats_t st;
        int64_t t0;
        int i, total = 0;

        for (i = 0; i < 25; i++)
                ck_assert_int_eq(df__otlp_submit(e, mkspan(i)), 0);
        /* two full batches go at once; the last 5 wait for the flush interval */
        ck_assert(tel_collector_wait(c, 2, 5000));
        t0 = tel_mono_ms();
        ck_assert(tel_collector_wait(c, 3, 5000));
        ck_assert_int_ge(tel_collector_time(c, 2) - tel_collector_time(c, 1), 150);
        for (i = 0; i < tel_collector_requests(c); i++) {
                int n = body_spans(tel_collector_body(c, i));
                ck_assert_int_le(n, 10);
                total += n;
        }
        ck_assert_int_eq(total, 25);
        ck_assert_int_lt(tel_mono_ms() - t0, 2000);
        ck_assert_int_eq(df__otlp_flush(e, 5000), 1);
        df__otlp_stats(e, &st);
        ck_assert_uint_eq(st.submitted, 25);
        ck_assert_uint_eq(st.exported, 25);
        ck_assert_uint_eq(st.dropped_full + st.dropped_rejected, 0);
        ck_assert_int_eq(df__otlp_skip(e), 0); /* nothing dropped: spans are made */
        ck_assert_int_eq(df__otlp_down(e), 0);
        ck_assert_uint_eq(st.queued, 0);
        df__otlp_destroy(e, 1000);
        tel_collector_stop(c);
}
END_TEST

START_TEST(retries_with_backoff)
{
        static const int script[] = {503, 429, 502, 504, 200, 0};
        tel_collector_t *c = tel_collector_start(script);
        df__metrics_t *m = df__metrics_new();
        /* down_after above the 4 failures: the retries alone (export_down_and_back has the breaker) */
        df__otlp_opts_t o = {.batch_max = 100, .flush_ms = 50, .backoff_initial_ms = 100, .backoff_max_ms = 400,
                             .down_after = 10, .metrics = m};
        df__otlp_t *e = start(tel_collector_port(c), &o);
        df__otlp_stats_t st;
        int i;

        for (i = 0; i < 5; i++)
                df__otlp_submit(e, mkspan(i));
        ck_assert(tel_collector_wait(c, 5, 10000));
        ck_assert_int_eq(df__otlp_flush(e, 5000), 1);
        /* the same batch each time; waits grow: [50,100], [100,200], [200,400], [200,400] ms */
        for (i = 1; i < 5; i++) {
                int64_t gap = tel_collector_time(c, i) - tel_collector_time(c, i - 1);
                static const int min_gap[] = {0, 45, 95, 195, 195};
                ck_assert_str_eq(tel_collector_body(c, i), tel_collector_body(c, 0));
                ck_assert_msg(gap >= min_gap[i], "retry %d after %lld ms, backoff says >= %d", i, (long long)gap,
                              min_gap[i]);
        }
        df__otlp_stats(e, &st);
        ck_assert_uint_eq(st.failures, 4);
        ck_assert_uint_eq(st.exported, 5);
        ck_assert_uint_eq(st.requests, 5);
        ck_assert_uint_eq(df__counter_value(df__metric_series(m, DF__M_SPANS_EXPORTED)), 5);
        ck_assert_uint_eq(df__counter_value(df__metric_series(m, DF__M_OTLP_FAILURES)), 4);
        ck_assert_uint_eq(st.downs, 0);
        df__otlp_destroy(e, 1000);
        tel_collector_stop(c);
        df__metrics_destroy(m);
}
END_TEST

START_TEST(rejected_batch_dropped)
{
        static const int script[] = {400, 200, 0};
        tel_collector_t *c = tel_collector_start(script);
        df__metrics_t *m = df__metrics_new();
        df__otlp_opts_t o = {.batch_max = 100, .flush_ms = 50, .metrics = m};
        df__otlp_t *e = start(tel_collector_port(c), &o);
        df__otlp_stats_t st;
        int i;

        for (i = 0; i < 3; i++)
                df__otlp_submit(e, mkspan(i));
        ck_assert_int_eq(df__otlp_flush(e, 5000), 1);
        usleep(300 * 1000);
        ck_assert_int_eq(tel_collector_requests(c), 1); /* not retried */
        df__otlp_submit(e, mkspan(9));
        ck_assert_int_eq(df__otlp_flush(e, 5000), 1);
        ck_assert_int_eq(tel_collector_requests(c), 2);
        df__otlp_stats(e, &st);
        ck_assert_uint_eq(st.dropped_rejected, 3);
        ck_assert_uint_eq(st.exported, 1);
        ck_assert_uint_eq(df__counter_value(df__metric_series(m, DF__M_SPANS_DROPPED, "rejected")), 3);
        df__otlp_destroy(e, 1000);
        tel_collector_stop(c);
        df__metrics_destroy(m);
}
END_TEST

START_TEST(shutdown_sends_what_is_queued)
{
        static const int ok[] = {200, 0};
        tel_collector_t *c = tel_collector_start(ok);
        df__otlp_opts_t o = {.batch_max = 20, .flush_ms = 60000}; /* only shutdown would send the rest */
        df__otlp_t *e = start(tel_collector_port(c), &o);
        int i, total = 0;

        for (i = 0; i < 50; i++)
                df__otlp_submit(e, mkspan(i));
        df__otlp_destroy(e, 5000);
        for (i = 0; i < tel_collector_requests(c); i++)
                total += body_spans(tel_collector_body(c, i));
        ck_assert_int_eq(total, 50);
        tel_collector_stop(c);
}
END_TEST

/* ---------------- the collector down ---------------- */

typedef struct flood {
        df__otlp_t *e;
        int n;
        int64_t max_ns, total_ns;
        int64_t slow; /* submits over 1 ms */
} flood_t;

static void *flood_main(void *p)
{
        flood_t *f = p;
        int i;
        for (i = 0; i < f->n; i++) {
                df__span_t *sp = mkspan(i);
                int64_t t0 = tel_mono_ns(), dt;
                df__otlp_submit(f->e, sp);
                dt = tel_mono_ns() - t0;
                f->total_ns += dt;
                if (dt > f->max_ns)
                        f->max_ns = dt;
                if (dt > 1000000)
                        f->slow++;
        }
        return NULL;
}

/* expect_down: the requests fail at once (refused), so that down_after (3)
 * of them fail within the flood and export goes down; else (a hung
 * collector, 3 s a request) it is the full queue that drops. */
static void collector_down(int port, const char *what, int expect_down)
{
        df__metrics_t *m = df__metrics_new();
        df__otlp_opts_t o = {.batch_max = 256, .queue_max = 1024, .flush_ms = 10, .timeout_ms = 3000,
                             .backoff_initial_ms = 20, .backoff_max_ms = 200, .metrics = m};
        df__otlp_t *e;
        df__otlp_stats_t st;
        flood_t f[2];
        pthread_t th[2];
        long rss0, rss1;
        size_t bound_spans = (size_t)o.queue_max + (size_t)o.batch_max;
        size_t bound_bytes = bound_spans * df__span_max_bytes();
        int64_t t0, took;
        int i;

        rss0 = tel_rss_bytes();
        e = start(port, &o);
        t0 = tel_mono_ns();
        for (i = 0; i < 2; i++) {
                memset(&f[i], 0, sizeof(f[i]));
                f[i].e = e;
                f[i].n = 100000;
                ck_assert_int_eq(pthread_create(&th[i], NULL, flood_main, &f[i]), 0);
        }
        for (i = 0; i < 2; i++)
                pthread_join(th[i], NULL);
        took = tel_mono_ns() - t0;
        usleep(500 * 1000); /* a few failed attempts and backoffs */
        df__otlp_stats(e, &st);
        rss1 = tel_rss_bytes();
        printf("collector %s: 200000 spans submitted in %.0f ms (span creation included), mean submit %.0f ns, "
               "max %.2f ms, %lld over 1 ms; queued %zu + held %zu, high-water %zu spans / %zu bytes "
               "(bound %zu / %zu); dropped %llu (queue full) + %llu (export down); failures %llu; down %d; "
               "RSS %+ld kB\n",
               what, took / 1e6, (double)(f[0].total_ns + f[1].total_ns) / 200000.0,
               (f[0].max_ns > f[1].max_ns ? f[0].max_ns : f[1].max_ns) / 1e6, (long long)(f[0].slow + f[1].slow),
               st.queued, st.held, st.max_queued, st.max_bytes, bound_spans, bound_bytes,
               (unsigned long long)st.dropped_full, (unsigned long long)st.dropped_down,
               (unsigned long long)st.failures, st.down, (rss1 - rss0) / 1024);
        fflush(stdout);
        /* never blocks: no submit waits for the network.  A hung request
         * holds the exporter's thread for timeout_ms (3000 ms here), so a
         * submit that waited for one would take up to that long; half of it
         * is the bound (a loaded 2-core machine, or ASan, preempts a thread
         * for tens or hundreds of ms now and then: that is not blocking),
         * and at most 1 % of the submits may take over 1 ms. */
        ck_assert_int_lt(f[0].max_ns, 1500 * 1000000LL);
        ck_assert_int_lt(f[1].max_ns, 1500 * 1000000LL);
        ck_assert_int_lt(f[0].slow + f[1].slow, 2000); /* of 200,000 */
        /* bounded: queue + the batch in hand, in spans and in bytes */
        ck_assert_uint_le(st.max_queued, bound_spans);
        ck_assert_uint_le(st.max_bytes, bound_bytes);
        ck_assert_uint_le(st.queued, (size_t)o.queue_max);
        ck_assert_uint_le(st.held, (size_t)o.batch_max);
        ck_assert_uint_eq(st.exported, 0);
        ck_assert_uint_eq(st.submitted, 200000);
        ck_assert_uint_eq(st.dropped_full + st.dropped_down, st.submitted - st.queued - st.held);
        ck_assert_uint_eq(df__counter_value(df__metric_series(m, DF__M_SPANS_DROPPED, "queue_full")), st.dropped_full);
        ck_assert_uint_eq(df__counter_value(df__metric_series(m, DF__M_SPANS_DROPPED, "backend_down")),
                          st.dropped_down);
        ck_assert_uint_eq(st.not_made, 0);
        /* refused: export went down (once), its queue dropped, the batch in
         * hand kept for the probe; hung: the queue stays full.  Either way
         * a producer of spans skips making them (df__otlp_skip), counted
         * as dropped for the reason */
        ck_assert_int_eq(st.down, expect_down);
        ck_assert_uint_eq(st.downs, (uint64_t)expect_down);
        if (expect_down) {
                ck_assert_uint_eq(st.queued, 0);
                ck_assert_uint_gt(st.dropped_down, 0);
                ck_assert_int_eq(df__gauge_value(df__metric_series(m, DF__M_OTLP_DOWN)), 1);
        }
        for (i = 0; i < 7; i++)
                ck_assert_int_eq(df__otlp_skip(e), 1);
        {
                df__otlp_stats_t st2;
                const char *reason = expect_down ? "backend_down" : "queue_full";
                df__otlp_stats(e, &st2);
                ck_assert_uint_eq(st2.submitted, 200007);
                ck_assert_uint_eq(st2.not_made, 7);
                ck_assert_uint_eq(st2.dropped_full + st2.dropped_down, st.dropped_full + st.dropped_down + 7);
                ck_assert_uint_eq(df__counter_value(df__metric_series(m, DF__M_SPANS_DROPPED, reason)),
                                  (expect_down ? st.dropped_down : st.dropped_full) + 7);
        }
#if !defined(__SANITIZE_ADDRESS__)
        if (rss0 > 0 && rss1 > 0)
                ck_assert_msg(rss1 - rss0 < (long)bound_bytes + 16L * 1024 * 1024,
                              "RSS grew %ld bytes, bound %zu + 16 MiB", rss1 - rss0, bound_bytes);
#endif
        /* shutdown with a request hanging: bounded by the flush timeout */
        t0 = tel_mono_ns();
        df__otlp_destroy(e, 300);
        took = (tel_mono_ns() - t0) / 1000000;
        printf("collector %s: destroy(300 ms) returned in %lld ms\n", what, (long long)took);
        ck_assert_int_lt(took, 1000); /* 300 ms, the request in flight aborted within 50 ms, and slack */
        df__metrics_destroy(m);
}

START_TEST(collector_refuses)
{
        df__otlp_stats_t st;
        collector_down(tel_closed_port(), "refusing (nothing listens)", 1);
        (void)st;
}
END_TEST

START_TEST(collector_hangs)
{
        int fd, port = tel_blackhole_port(&fd);
        collector_down(port, "hung (listens, never answers)", 0);
        close(fd);
}
END_TEST

/* ---------------- export down, and up again ---------------- */

/* Lines of the log file at path holding needle. */
static int log_lines(const char *path, const char *needle)
{
        char line[4096];
        int n = 0;
        FILE *f = fopen(path, "r");
        ck_assert_ptr_nonnull(f);
        while (fgets(line, sizeof(line), f))
                if (strstr(line, needle))
                        n++;
        fclose(f);
        return n;
}

/* Poll until export is down (want 1) or up (want 0), at most timeout_ms;
 * the ms it took, -1 on timeout. */
static int64_t wait_down(df__otlp_t *e, int want, int timeout_ms)
{
        int64_t t0 = tel_mono_ms();
        while (df__otlp_down(e) != want) {
                if (tel_mono_ms() - t0 > timeout_ms)
                        return -1;
                usleep(2 * 1000);
        }
        return tel_mono_ms() - t0;
}

/* Nothing listens: after down_after refused requests export is down (one
 * log line, the gauge), spans are not made and are counted dropped, flush
 * and destroy do not wait for it; failed probes back off up to the cap and
 * log nothing more.  A collector comes back on the same port: within the
 * cap (and one request) the probe (the batch held since) is exported,
 * export is up (one line), new spans are made and exported. */
START_TEST(export_down_and_back)
{
        static const int ok[] = {200, 0};
        char logpath[] = "/tmp/df-test-otlp-log.XXXXXX";
        int logfd = mkstemp(logpath), port = tel_closed_port(), i, made = 0, total = 0;
        df__metrics_t *m = df__metrics_new();
        df__otlp_opts_t o = {.batch_max = 10, .flush_ms = 10, .backoff_initial_ms = 20, .backoff_max_ms = 200,
                             .down_after = 3, .metrics = m};
        df__otlp_t *e;
        df__otlp_stats_t s0, s1, s2;
        tel_collector_t *c;
        int64_t t_down, t_back, t0;
        uint64_t fails0;

        ck_assert_int_ge(logfd, 0);
        df__log_set_fd(logfd);
        e = start(port, &o);
        for (i = 0; i < 5; i++)
                ck_assert_int_eq(df__otlp_submit(e, mkspan(i)), 0);
        /* 3 refusals 10-20 ms and 20-40 ms apart */
        t_down = wait_down(e, 1, 5000);
        ck_assert_msg(t_down >= 0, "export did not go down within 5 s");
        df__otlp_stats(e, &s0);
        ck_assert_uint_ge(s0.failures, 3);
        ck_assert_uint_eq(s0.downs, 1);
        ck_assert_uint_eq(s0.held, 5); /* kept: the probe */
        ck_assert_uint_eq(s0.queued, 0);
        ck_assert_int_eq(df__gauge_value(df__metric_series(m, DF__M_OTLP_DOWN)), 1);

        /* down: the producer asks first, makes nothing, and it is counted */
        for (i = 0; i < 1000; i++)
                if (!df__otlp_skip(e)) {
                        made++;
                        df__otlp_submit(e, mkspan(100 + i));
                }
        ck_assert_int_eq(made, 0);
        ck_assert_int_eq(df__otlp_submit(e, mkspan(99)), -1); /* one made anyway: refused, counted */
        ck_assert_int_eq(df__otlp_flush(e, 5000), 0);          /* at once: the probe waits for the collector */
        df__otlp_stats(e, &s1);
        ck_assert_uint_eq(s1.not_made, 1000);
        ck_assert_uint_eq(s1.dropped_down, s0.dropped_down + 1001);
        ck_assert_uint_eq(s1.submitted, 1006);
        ck_assert_uint_eq(s1.queued, 0);
        ck_assert_uint_eq(df__counter_value(df__metric_series(m, DF__M_SPANS_DROPPED, "backend_down")),
                          s1.dropped_down);
        ck_assert_uint_eq(df__counter_value(df__metric_series(m, DF__M_SPANS_DROPPED, "queue_full")), 0);

        /* probes go on failing, backing off to 200 ms: no more lines */
        fails0 = s1.failures;
        usleep(1000 * 1000);
        df__otlp_stats(e, &s1);
        ck_assert_uint_ge(s1.failures, fails0 + 3);  /* 1 s at most 200 ms apart (and at least 100) */
        ck_assert_uint_le(s1.failures, fails0 + 12); /* backed off: not every 20 ms */
        ck_assert_int_eq(df__otlp_down(e), 1);
        ck_assert_int_eq(log_lines(logpath, "is down"), 1);
        ck_assert_int_eq(log_lines(logpath, "is up again"), 0);

        /* the collector comes back on the same port */
        c = tel_collector_start_on(ok, port);
        t0 = tel_mono_ms();
        ck_assert(tel_collector_wait(c, 1, 5000));
        t_back = wait_down(e, 0, 5000);
        ck_assert_msg(t_back >= 0, "export still down 5 s after the collector came back");
        t_back = tel_mono_ms() - t0;
        printf("export down %lld ms after the first refusal (3 failed requests); up again %lld ms after the "
               "collector came back (backoff cap 200 ms); %llu failed requests, %llu spans not made\n",
               (long long)t_down, (long long)t_back, (unsigned long long)s1.failures,
               (unsigned long long)s1.not_made);
        fflush(stdout);
        ck_assert_int_lt(t_back, 200 + 800); /* the cap, one request, slack for a loaded machine */
        ck_assert_int_eq(body_spans(tel_collector_body(c, 0)), 5); /* the probe: the batch held */
        ck_assert_int_eq(df__otlp_skip(e), 0);
        for (i = 0; i < 20; i++)
                ck_assert_int_eq(df__otlp_submit(e, mkspan(200 + i)), 0);
        ck_assert_int_eq(df__otlp_flush(e, 5000), 1);
        for (i = 0; i < tel_collector_requests(c); i++)
                total += body_spans(tel_collector_body(c, i));
        ck_assert_int_eq(total, 25);
        df__otlp_stats(e, &s2);
        ck_assert_uint_eq(s2.exported, 25);
        ck_assert_int_eq(s2.down, 0);
        ck_assert_uint_eq(s2.downs, 1);
        ck_assert_uint_eq(s2.dropped_down, s1.dropped_down);
        ck_assert_int_eq(df__gauge_value(df__metric_series(m, DF__M_OTLP_DOWN)), 0);
        ck_assert_int_eq(log_lines(logpath, "is down"), 1);
        ck_assert_int_eq(log_lines(logpath, "is up again"), 1);
        ck_assert_int_eq(log_lines(logpath, "(1001 spans dropped meanwhile)"), 1);
        df__otlp_destroy(e, 1000);
        tel_collector_stop(c);

        /* down at shutdown: destroy does not wait for the flush timeout */
        port = tel_closed_port();
        e = start(port, &o);
        df__otlp_submit(e, mkspan(1));
        ck_assert(wait_down(e, 1, 5000) >= 0);
        t0 = tel_mono_ms();
        df__otlp_destroy(e, 5000);
        ck_assert_int_lt(tel_mono_ms() - t0, 500);
        ck_assert_int_eq(df__gauge_value(df__metric_series(m, DF__M_OTLP_DOWN)), 0);
        ck_assert_int_eq(log_lines(logpath, "is down"), 2);

        df__log_set_fd(2);
        close(logfd);
        unlink(logpath);
        df__metrics_destroy(m);
}
END_TEST

START_TEST(endpoint_rules)
{
        static const char *const good[] = {"http://127.0.0.1:4318", "https://collector.example:4318/",
                                           "http://[::1]:4318/v1/traces", "http://jaeger:4318"};
        static const char *const bad[] = {"127.0.0.1:4318", "ftp://x", "http://", "http:///v1", "http://a b",
                                          "http://x\n", "http://x\x1b[2J", "file:///etc/passwd", "http://:4318"};
        char err[256];
        size_t i;
        df__otlp_t *e = (df__otlp_t *)1;
        df_conf_t *conf = df_conf_new();

        for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
                ck_assert_msg(df__otlp_endpoint_check(good[i], err, sizeof(err)) == DF_OK, "%s: %s", good[i], err);
        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                ck_assert_msg(df__otlp_endpoint_check(bad[i], err, sizeof(err)) == DF_ERR_CONF, "accepted %s", bad[i]);
                ck_assert_ptr_nonnull(strstr(err, "otlp.endpoint"));
                ck_assert_ptr_null(strchr(err, '\x1b'));
        }
        /* from the configuration: empty endpoint = tracing off */
        ck_assert_int_eq(df__otlp_new_conf(conf, "w1", NULL, &e, err, sizeof(err)), DF_OK);
        ck_assert_ptr_null(e);
        ck_assert_int_eq(df__otlp_submit(NULL, mkspan(1)), -1); /* off: the span is freed, not leaked */
        df__otlp_destroy(NULL, 0);
        df_conf_destroy(conf);
}
END_TEST

Suite *suite_exporter(void)
{
        Suite *s = suite_create("exporter");
        TCase *tc = tcase_create("collector up");
        TCase *td = tcase_create("collector down");

        tcase_add_test(tc, batches_and_flush_interval);
        tcase_add_test(tc, retries_with_backoff);
        tcase_add_test(tc, rejected_batch_dropped);
        tcase_add_test(tc, shutdown_sends_what_is_queued);
        tcase_add_test(tc, endpoint_rules);
        tcase_set_timeout(tc, 60);
        suite_add_tcase(s, tc);
        tcase_add_test(td, collector_refuses);
        tcase_add_test(td, collector_hangs);
        tcase_add_test(td, export_down_and_back);
        tcase_set_timeout(td, 120);
        suite_add_tcase(s, td);
        return s;
}
