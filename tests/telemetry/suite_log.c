/*
 * suite_log.c -- log lines: every kind of JSON line (each level, with no,
 * some and all fields, hostile text, oversized messages) parses as one JSON
 * object with the documented fields; the text format escapes control and
 * bidi characters; lines of concurrent threads never interleave; df__log
 * (the existing call) goes through the same path; the log.*, metrics.*,
 * otlp.* and service.name properties are validated by df_conf_set.
 */
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "log.h"
#include "tel_common.h"

static const int64_t TS = 1767268800123LL; /* 2026-01-01T12:00:00.123Z */

/* line parses as one JSON object; returns it (caller decrefs) */
static json_t *json_line(const char *line)
{
        json_error_t jerr;
        json_t *o;
        size_t i;
        ck_assert_ptr_null(strchr(line, '\n'));
        for (i = 0; line[i]; i++)
                ck_assert_msg((unsigned char)line[i] >= 0x20 && (unsigned char)line[i] < 0x7f,
                              "byte %zu of a JSON line is 0x%02x (not printable ASCII)", i, (unsigned char)line[i]);
        o = json_loads(line, JSON_REJECT_DUPLICATES, &jerr);
        ck_assert_msg(o != NULL, "not JSON (%s): %s", jerr.text, line);
        ck_assert(json_is_object(o));
        return o;
}

static const char *jstr(json_t *o, const char *k)
{
        return json_string_value(json_object_get(o, k));
}

START_TEST(json_every_kind)
{
        static const char *const levels[] = {"error", "warn", "info", "debug"};
        df__log_fields_t all = {"order-10248", "orders", "3", 2, "4bf92f3577b34da6a3ce929d0e0e4736", "worker-a"};
        df__log_fields_t some = {"order-10249", NULL, NULL, 0, NULL, NULL};
        df__log_fields_t hostile = {"ex\"ec\\1", "wf\xff\xfe", "op\n3", 1, "tr\x1b[2J", "w\xe2\x80\xae" "1"};
        const df__log_fields_t *kinds[] = {NULL, &all, &some, &hostile};
        static const char *const msgs[] = {"plain message", "quote \" backslash \\ tab \t newline \n end",
                                           "not utf8 \xc3\x28 \xff", "bidi \xe2\x80\xae gnp.exe", "", "caf\xc3\xa9"};
        char line[DF__LOG_LINE_MAX];
        int lv, k, mi, lines = 0;

        df__log_set_worker_id("worker-default");
        for (lv = 0; lv < 4; lv++)
                for (k = 0; k < 4; k++)
                        for (mi = 0; mi < 6; mi++) {
                                const df__log_fields_t *f = kinds[k];
                                json_t *o;
                                df__log_format_line(line, sizeof(line), DF__LOG_JSON, lv, TS, f, msgs[mi]);
                                o = json_line(line);
                                lines++;
                                ck_assert_str_eq(jstr(o, "ts"), "2026-01-01T12:00:00.123Z");
                                ck_assert_str_eq(jstr(o, "level"), levels[lv]);
                                ck_assert_ptr_nonnull(jstr(o, "msg"));
                                if (mi == 0 || mi == 1 || mi == 5)
                                        ck_assert_str_eq(jstr(o, "msg"), msgs[mi]); /* valid text kept exactly */
                                if (mi == 2)
                                        ck_assert_str_eq(jstr(o, "msg"), "not utf8 \xef\xbf\xbd( \xef\xbf\xbd");
                                ck_assert_str_eq(jstr(o, "worker_id"),
                                                 f && f->worker_id ? (f == &hostile ? "w\xe2\x80\xae" "1" : f->worker_id)
                                                                   : "worker-default");
                                if (f == &all) {
                                        ck_assert_str_eq(jstr(o, "execution_id"), "order-10248");
                                        ck_assert_str_eq(jstr(o, "workflow"), "orders");
                                        ck_assert_str_eq(jstr(o, "op_id"), "3");
                                        ck_assert_int_eq(json_integer_value(json_object_get(o, "attempt")), 2);
                                        ck_assert_str_eq(jstr(o, "trace_id"), "4bf92f3577b34da6a3ce929d0e0e4736");
                                } else if (f == &some) {
                                        ck_assert_str_eq(jstr(o, "execution_id"), "order-10249");
                                        ck_assert_ptr_null(json_object_get(o, "workflow"));
                                        ck_assert_ptr_null(json_object_get(o, "op_id"));
                                        ck_assert_ptr_null(json_object_get(o, "attempt"));
                                        ck_assert_ptr_null(json_object_get(o, "trace_id"));
                                } else if (f == &hostile) {
                                        ck_assert_str_eq(jstr(o, "execution_id"), "ex\"ec\\1");
                                        ck_assert_str_eq(jstr(o, "workflow"), "wf\xef\xbf\xbd\xef\xbf\xbd");
                                        ck_assert_str_eq(jstr(o, "op_id"), "op\n3");
                                } else {
                                        ck_assert_ptr_null(json_object_get(o, "execution_id"));
                                }
                                json_decref(o);
                        }
        ck_assert_int_eq(lines, 96);
        df__log_set_worker_id(NULL);
}
END_TEST

START_TEST(json_oversized_message)
{
        char *big = malloc(100000), line[DF__LOG_LINE_MAX];
        json_t *o;
        size_t n;

        memset(big, 'x', 99999);
        big[99999] = '\0';
        n = df__log_format_line(line, sizeof(line), DF__LOG_JSON, DF__LOG_INFO, TS, NULL, big);
        ck_assert_uint_lt(n, sizeof(line));
        o = json_line(line);
        ck_assert(json_is_true(json_object_get(o, "truncated")));
        ck_assert_uint_gt(strlen(jstr(o, "msg")), 1000);
        json_decref(o);
        /* 4-byte characters: the escaped form is 12 bytes each */
        for (n = 0; n + 4 < 99999; n += 4)
                memcpy(big + n, "\xf0\x9f\x98\x80", 4);
        big[n] = '\0';
        /* (a double free once: the cut message still did not fit) */
        df__log_format_line(line, sizeof(line), DF__LOG_JSON, DF__LOG_WARN, TS, NULL, big);
        o = json_line(line);
        ck_assert(json_is_true(json_object_get(o, "truncated")));
        ck_assert_uint_gt(strlen(jstr(o, "msg")), 100);
        json_decref(o);
        /* huge fields of control characters (6 bytes each escaped): cut too */
        {
                char *ctl = malloc(5000);
                df__log_fields_t f;
                memset(ctl, '\x01', 4999);
                ctl[4999] = '\0';
                f = (df__log_fields_t){ctl, ctl, ctl, 9, ctl, ctl};
                n = df__log_format_line(line, sizeof(line), DF__LOG_JSON, DF__LOG_ERROR, TS, &f, big);
                ck_assert_uint_lt(n, sizeof(line));
                o = json_line(line);
                ck_assert_str_eq(jstr(o, "level"), "error");
                ck_assert_uint_le(strlen(jstr(o, "execution_id")), 256);
                json_decref(o);
                free(ctl);
        }
        free(big);
}
END_TEST

START_TEST(text_escapes)
{
        char line[DF__LOG_LINE_MAX];
        df__log_fields_t f = {"o-1", "orders", "3", 2, "4bf92f3577b34da6a3ce929d0e0e4736", "w1"};

        df__log_format_line(line, sizeof(line), DF__LOG_TEXT, DF__LOG_WARN, TS, &f,
                            "red \x1b[31m bidi \xe2\x80\xae x \xc2\x9b y \xff z\ttab");
        ck_assert_str_eq(line, "12:00:00.123 WARN red \\x1B[31m bidi \\u{202E} x \\x9B y \\xFF z\\x09tab "
                               "execution_id=o-1 workflow=orders op_id=3 attempt=2 "
                               "trace_id=4bf92f3577b34da6a3ce929d0e0e4736 worker_id=w1");
        /* the existing format, no fields: what df__log printed before */
        df__log_format_line(line, sizeof(line), DF__LOG_TEXT, DF__LOG_INFO, TS, NULL, "worker started");
        ck_assert_str_eq(line, "12:00:00.123 INFO worker started");
        /* field values are escaped too */
        f.execution_id = "evil\x1b]0;title\x07";
        df__log_format_line(line, sizeof(line), DF__LOG_TEXT, DF__LOG_INFO, TS, &f, "m");
        ck_assert_ptr_null(strchr(line, '\x1b'));
        ck_assert_ptr_null(strchr(line, '\x07'));
        ck_assert_ptr_nonnull(strstr(line, "execution_id=evil\\x1B]0;title\\x07 "));
}
END_TEST

typedef struct writer {
        int id;
} writer_t;

static void *writer_main(void *p)
{
        writer_t *w = p;
        df__log_fields_t f = {NULL, "orders", "1", 1, NULL, NULL};
        char exec[32];
        int i;
        for (i = 0; i < 500; i++) {
                snprintf(exec, sizeof(exec), "e-%d-%d", w->id, i);
                f.execution_id = exec;
                if (i % 2)
                        df__log_ctx(DF__LOG_INFO, &f, "step %d of thread %d %s", i, w->id,
                                    "padding padding padding padding padding padding padding padding padding");
                else
                        df__log(DF__LOG_WARN, "plain df__log %d of thread %d", i, w->id);
        }
        return NULL;
}

START_TEST(written_lines_parse_and_never_interleave)
{
        int fds[2];
        pthread_t th[4];
        writer_t w[4];
        char *buf = malloc(4 << 20), *line, *save;
        size_t got = 0;
        ssize_t r;
        int i, lines = 0, with_exec = 0;
        char err[128];

        ck_assert_int_eq(pipe(fds), 0);
        fcntl(fds[0], F_SETPIPE_SZ, 1 << 20);
        ck_assert_int_eq(df__log_set_format("json", err, sizeof(err)), DF_OK);
        ck_assert_int_eq(df__log_get_format(), DF__LOG_JSON);
        df__log_set_fd(fds[1]);
        df__log_set_worker_id("w-test");
        for (i = 0; i < 4; i++) {
                w[i].id = i;
                pthread_create(&th[i], NULL, writer_main, &w[i]);
        }
        /* read while they write (the pipe would fill up) */
        {
                int done = 0, joined[4] = {0, 0, 0, 0};
                fcntl(fds[0], F_SETFL, O_NONBLOCK);
                while (!done) {
                        r = read(fds[0], buf + got, (4 << 20) - 1 - got);
                        if (r > 0)
                                got += (size_t)r;
                        else {
                                done = 1;
                                for (i = 0; i < 4; i++) {
                                        if (!joined[i] && !pthread_tryjoin_np(th[i], NULL))
                                                joined[i] = 1;
                                        if (!joined[i])
                                                done = 0;
                                }
                                if (!done) {
                                        usleep(1000);
                                } else {
                                        while ((r = read(fds[0], buf + got, (4 << 20) - 1 - got)) > 0)
                                                got += (size_t)r;
                                }
                        }
                }
        }
        df__log_set_fd(2);
        df__log_set_worker_id(NULL);
        ck_assert_int_eq(df__log_set_format("text", err, sizeof(err)), DF_OK);
        close(fds[0]);
        close(fds[1]);
        buf[got] = '\0';
        for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                json_t *o = json_line(line);
                ck_assert_str_eq(jstr(o, "worker_id"), "w-test");
                if (json_object_get(o, "execution_id")) {
                        with_exec++;
                        ck_assert_int_eq(json_integer_value(json_object_get(o, "attempt")), 1);
                        ck_assert_str_eq(jstr(o, "level"), "info");
                } else {
                        ck_assert_str_eq(jstr(o, "level"), "warn");
                        ck_assert(!strncmp(jstr(o, "msg"), "plain df__log ", 14));
                }
                json_decref(o);
                lines++;
        }
        ck_assert_int_eq(lines, 2000);
        ck_assert_int_eq(with_exec, 1000);
        free(buf);
}
END_TEST

START_TEST(level_filters)
{
        int fds[2];
        char buf[4096];
        ssize_t r;
        ck_assert_int_eq(pipe(fds), 0);
        df__log_set_fd(fds[1]);
        df_log_set_level("warn");
        df__log(DF__LOG_INFO, "hidden");
        df__log(DF__LOG_ERROR, "shown");
        df_log_set_level("info");
        df__log_set_fd(2);
        close(fds[1]);
        r = read(fds[0], buf, sizeof(buf) - 1);
        ck_assert_int_gt(r, 0);
        buf[r] = '\0';
        ck_assert_ptr_null(strstr(buf, "hidden"));
        ck_assert_ptr_nonnull(strstr(buf, "ERROR shown"));
        close(fds[0]);
}
END_TEST

START_TEST(conf_properties)
{
        df_conf_t *c = df_conf_new();
        char err[256];
        static const struct {
                const char *name, *value, *says;
        } bad[] = {
            {"log.format", "xml", "log.format"},
            {"log.format", "JSON", "log.format"},
            {"log.format", "te\x1bxt", "log.format"},
            {"metrics.listen", "localhost:9464", "metrics.listen"},
            {"metrics.listen", "127.0.0.1:99999", "metrics.listen"},
            {"otlp.endpoint", "127.0.0.1:4318", "otlp.endpoint"},
            {"otlp.endpoint", "http://x\n", "otlp.endpoint"},
            {"otlp.batch.max", "0", "otlp.batch.max"},
            {"otlp.queue.max", "lots", "otlp.queue.max"},
            {"service.name", "", "service.name"},
            {"service.name", "svc\x07", "service.name"},
            {"service.name", "svc\xff", "service.name"},
            {"metrics.statistics.interval.ms", "10", "metrics.statistics.interval.ms"},
        };
        size_t i;
        const df_conf_prop_t *p;
        int found = 0;

        ck_assert_str_eq(df_conf_get(c, "log.format"), "text");
        ck_assert_str_eq(df_conf_get(c, "metrics.listen"), "");
        ck_assert_str_eq(df_conf_get(c, "otlp.endpoint"), "");
        ck_assert_str_eq(df_conf_get(c, "otlp.batch.max"), "512");
        ck_assert_str_eq(df_conf_get(c, "otlp.queue.max"), "2048");
        ck_assert_str_eq(df_conf_get(c, "service.name"), "duraflow");
        ck_assert_int_eq(df_conf_set(c, "log.format", "json", err, sizeof(err)), DF_OK);
        ck_assert_int_eq(df_conf_set(c, "metrics.listen", "127.0.0.1:0", err, sizeof(err)), DF_OK);
        ck_assert_int_eq(df_conf_set(c, "metrics.listen", "", err, sizeof(err)), DF_OK);
        ck_assert_int_eq(df_conf_set(c, "otlp.endpoint", "http://127.0.0.1:4318", err, sizeof(err)), DF_OK);
        ck_assert_int_eq(df_conf_set(c, "otlp.endpoint", "", err, sizeof(err)), DF_OK);
        ck_assert_int_eq(df_conf_set(c, "service.name", "orders-worker", err, sizeof(err)), DF_OK);
        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                err[0] = '\0';
                ck_assert_msg(df_conf_set(c, bad[i].name, bad[i].value, err, sizeof(err)) == DF_ERR_CONF,
                              "%s accepted", bad[i].name);
                ck_assert_msg(strstr(err, bad[i].says), "%s: message \"%s\"", bad[i].name, err);
                ck_assert_ptr_null(strchr(err, '\x1b'));
        }
        ck_assert_str_eq(df_conf_get(c, "service.name"), "orders-worker"); /* refused values changed nothing */
        for (p = df_conf_properties(); p->name; p++)
                found += !strcmp(p->name, "log.format") || !strcmp(p->name, "metrics.listen") ||
                         !strcmp(p->name, "otlp.endpoint") || !strcmp(p->name, "otlp.batch.max") ||
                         !strcmp(p->name, "otlp.queue.max") || !strcmp(p->name, "service.name") ||
                         !strcmp(p->name, "metrics.statistics.interval.ms");
        ck_assert_int_eq(found, 7);
        df_conf_destroy(c);
}
END_TEST

Suite *suite_log(void)
{
        Suite *s = suite_create("log");
        TCase *tc = tcase_create("lines");

        tcase_add_test(tc, json_every_kind);
        tcase_add_test(tc, json_oversized_message);
        tcase_add_test(tc, text_escapes);
        tcase_add_test(tc, written_lines_parse_and_never_interleave);
        tcase_add_test(tc, level_filters);
        tcase_add_test(tc, conf_properties);
        tcase_set_timeout(tc, 60);
        suite_add_tcase(s, tc);
        return s;
}
