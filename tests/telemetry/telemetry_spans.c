/*
 * telemetry_spans.c -- exports the spans of one synthetic order execution
 * through the OTLP/HTTP exporter (the real code path: df__span_* builders,
 * df__otlp_submit, the exporter thread, libcurl), for test_tools.py to read
 * back from a real Jaeger.
 *
 * The execution, started with --traceparent (the caller's context):
 *   op 1 STEP "receive"       attempt 1 SUCCEEDED
 *   op 2 STEP "reserve"       attempt 1 FAILED, attempt 2 SUCCEEDED
 *   op 3 WAIT "cooling-off"   (no attempt: nothing runs)
 *   op 4 CALLBACK "payment"   attempt 1 SUCCEEDED
 * plus one Kafka "process" span per event (start, timer fired, callback
 * completed) under the execution span, with the messaging attributes.
 * With --twice every span is built a second time, as a replay would (the
 * same ids); only the first build is exported, which is what a worker does:
 * a span of a recorded attempt is never exported again.
 *
 * Prints one JSON object on stdout: {"trace_id", "spans": [{"span_id",
 * "parent_span_id", "name"}...], "step_traceparent"} where step_traceparent
 * is what op 2 attempt 2's body would pass to the services it calls.
 * Exit 0 when every span was exported (the collector answered), 1 if not
 * within --timeout-ms (default 20000), 2 on bad usage.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "trace.h"

#define MAX_SPANS 32

static int64_t now_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

typedef struct built {
        df__span_t *s[MAX_SPANS];
        int n;
} built_t;

static df__span_t *add(built_t *b, df__span_t *s)
{
        if (!s || b->n == MAX_SPANS) {
                fprintf(stderr, "telemetry-spans: out of memory\n");
                exit(1);
        }
        b->s[b->n++] = s;
        return s;
}

static void build(built_t *b, const df__traceparent_t *tp, const char *exec, int64_t t0)
{
        const int64_t ms = 1000000;
        df__span_t *s, *ex;
        static const char *const events[] = {"start", "timer fired", "callback completed"};
        int i;

        ex = add(b, df__span_execution(tp, exec, "orders", t0));
        df__span_end(ex, t0 + 400 * ms);
        df__span_attr_str(ex, DF__ATTR_EXECUTION_STATUS, "SUCCEEDED");
        df__span_set_status(ex, DF__STATUS_OK, NULL);
        for (i = 0; i < 3; i++) {
                uint8_t id[8];
                char key[32];
                snprintf(key, sizeof(key), "event:%d", i);
                df__span_id_derive(tp->trace_id, exec, key, 0, id);
                s = add(b, df__span_new("duraflow.events process", DF__SPAN_CONSUMER, tp->trace_id, id,
                                        df__span_id(ex), t0 + (int64_t)i * 120 * ms));
                df__span_end(s, t0 + (int64_t)i * 120 * ms + 5 * ms);
                df__span_set_messaging(s, "process", "process", "duraflow.events", 3, 1000 + i, "duraflow-workers");
                df__span_attr_str(s, "duraflow.event", events[i]);
        }
        s = add(b, df__span_operation(tp, exec, "orders", "1", "STEP", "receive", t0 + 1 * ms));
        df__span_end(s, t0 + 10 * ms);
        df__span_attr_str(s, DF__ATTR_OPERATION_STATUS, "SUCCEEDED");
        s = add(b, df__span_attempt(tp, exec, "orders", "1", "STEP", "receive", 1, t0 + 1 * ms));
        df__span_end(s, t0 + 10 * ms);
        df__span_attr_str(s, DF__ATTR_ATTEMPT_OUTCOME, "SUCCEEDED");

        s = add(b, df__span_operation(tp, exec, "orders", "2", "STEP", "reserve", t0 + 11 * ms));
        df__span_end(s, t0 + 100 * ms);
        df__span_attr_str(s, DF__ATTR_OPERATION_STATUS, "SUCCEEDED");
        s = add(b, df__span_attempt(tp, exec, "orders", "2", "STEP", "reserve", 1, t0 + 11 * ms));
        df__span_end(s, t0 + 20 * ms);
        df__span_attr_str(s, DF__ATTR_ATTEMPT_OUTCOME, "FAILED");
        df__span_set_status(s, DF__STATUS_ERROR, "inventory service answered 503");
        s = add(b, df__span_attempt(tp, exec, "orders", "2", "STEP", "reserve", 2, t0 + 80 * ms));
        df__span_end(s, t0 + 100 * ms);
        df__span_attr_str(s, DF__ATTR_ATTEMPT_OUTCOME, "SUCCEEDED");

        s = add(b, df__span_operation(tp, exec, "orders", "3", "WAIT", "cooling-off", t0 + 101 * ms));
        df__span_end(s, t0 + 240 * ms);
        df__span_attr_str(s, DF__ATTR_OPERATION_STATUS, "SUCCEEDED");

        s = add(b, df__span_operation(tp, exec, "orders", "4", "CALLBACK", "payment", t0 + 241 * ms));
        df__span_end(s, t0 + 380 * ms);
        df__span_attr_str(s, DF__ATTR_OPERATION_STATUS, "SUCCEEDED");
        s = add(b, df__span_attempt(tp, exec, "orders", "4", "CALLBACK", "payment", 1, t0 + 241 * ms));
        df__span_end(s, t0 + 250 * ms);
        df__span_attr_str(s, DF__ATTR_ATTEMPT_OUTCOME, "SUCCEEDED");
}

int main(int argc, char **argv)
{
        static const struct option opts[] = {{"endpoint", required_argument, NULL, 'e'},
                                             {"execution-id", required_argument, NULL, 'x'},
                                             {"traceparent", required_argument, NULL, 't'},
                                             {"service", required_argument, NULL, 's'},
                                             {"timeout-ms", required_argument, NULL, 'o'},
                                             {"twice", no_argument, NULL, 'w'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
        const char *endpoint = NULL, *exec = "order-10248", *tps = NULL, *service = "telemetry-test";
        int timeout_ms = 20000, twice = 0, c, i;
        df__traceparent_t tp, body;
        df__otlp_opts_t o = {0};
        df__otlp_t *e;
        df__otlp_stats_t st;
        built_t b = {{0}, 0}, again = {{0}, 0};
        char err[256], hex[33], tpo[DF__TRACEPARENT_LEN + 1];
        json_t *out, *arr;
        int64_t t0 = now_ns();

        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (c) {
                case 'e':
                        endpoint = optarg;
                        break;
                case 'x':
                        exec = optarg;
                        break;
                case 't':
                        tps = optarg;
                        break;
                case 's':
                        service = optarg;
                        break;
                case 'o':
                        timeout_ms = atoi(optarg);
                        break;
                case 'w':
                        twice = 1;
                        break;
                case 'h':
                        printf("usage: telemetry-spans --endpoint URL [--traceparent TP] [--execution-id ID] "
                               "[--service NAME] [--twice] [--timeout-ms MS]\n");
                        return 0;
                default:
                        return 2;
                }
        }
        if (!endpoint || optind != argc) {
                fprintf(stderr, "telemetry-spans: --endpoint is required (--help)\n");
                return 2;
        }
        if (tps) {
                if (df__traceparent_parse(tps, strlen(tps), &tp, err, sizeof(err)) != DF_OK) {
                        fprintf(stderr, "telemetry-spans: --traceparent: %s\n", err);
                        return 2;
                }
        } else if (df__traceparent_new(&tp) != DF_OK) {
                return 1;
        }
        o.endpoint = endpoint;
        o.service_name = service;
        o.instance_id = "telemetry-spans";
        o.flush_ms = 100;
        if (df__otlp_new(&o, &e, err, sizeof(err)) != DF_OK) {
                fprintf(stderr, "telemetry-spans: %s\n", err);
                return 2;
        }
        build(&b, &tp, exec, t0);
        if (twice) {
                /* the replay: same ids, nothing new to export */
                build(&again, &tp, exec, t0 + 5000000000LL);
                for (i = 0; i < b.n; i++)
                        if (memcmp(df__span_id(b.s[i]), df__span_id(again.s[i]), 8)) {
                                fprintf(stderr, "telemetry-spans: a replay derived another span id\n");
                                return 1;
                        }
                for (i = 0; i < again.n; i++)
                        df__span_destroy(again.s[i]);
        }
        out = json_object();
        arr = json_array();
        df__hex(tp.trace_id, 16, hex);
        json_object_set_new(out, "trace_id", json_string(hex));
        for (i = 0; i < b.n; i++) {
                char sid[17], pid[17];
                df__hex(df__span_id(b.s[i]), 8, sid);
                df__hex(df__span_parent_id(b.s[i]), 8, pid);
                json_array_append_new(arr, json_pack("{s:s,s:s,s:s}", "span_id", sid, "parent_span_id", pid, "name",
                                                     df__span_name(b.s[i])));
        }
        json_object_set_new(out, "spans", arr);
        df__trace_attempt_context(&tp, exec, "2", 2, &body);
        df__traceparent_format(&body, tpo);
        json_object_set_new(out, "step_traceparent", json_string(tpo));
        for (i = 0; i < b.n; i++)
                df__otlp_submit(e, b.s[i]); /* owned by the exporter from here */
        df__otlp_flush(e, timeout_ms);
        df__otlp_stats(e, &st);
        df__otlp_destroy(e, 1000);
        json_dumpf(out, stdout, JSON_COMPACT);
        printf("\n");
        json_decref(out);
        if (st.exported != (uint64_t)b.n) {
                fprintf(stderr, "telemetry-spans: %llu of %d spans exported (failures %llu)\n",
                        (unsigned long long)st.exported, b.n, (unsigned long long)st.failures);
                return 1;
        }
        return 0;
}
