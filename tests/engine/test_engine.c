/*
 * test_engine.c -- runs the replay engine's Check suites (tests/engine) and
 * holds their shared helpers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <stdarg.h>
#include <time.h>

#include "engine_test.h"

df_test_t *et_new(void)
{
        df_test_t *t = df_test_new(T0);
        ck_assert_ptr_nonnull(t);
        ck_assert_int_eq(df_test_now(t), T0);
        return t;
}

void et_copy(char *dst, size_t size, const char *src)
{
        size_t n = src ? strlen(src) : 0;
        ck_assert_uint_lt(n, size);
        if (n)
                memcpy(dst, src, n);
        dst[n] = '\0';
}

void et_cb_id(df_test_t *t, const char *exec, const char *name, char buf[CBID_MAX])
{
        et_copy(buf, CBID_MAX, df_test_callback_id(t, exec, name));
}

uint8_t *et_pattern(size_t n, unsigned seed)
{
        static const uint8_t bad[] = {0x00, 0xff, 0xc0, 0x80, 0xfe, 0xed, 0xa0, 0x80, 0x00, 0xf8};
        uint8_t *p = malloc(n ? n : 1);
        uint32_t x = seed * 2654435761u + 1;
        size_t i;

        ck_assert_ptr_nonnull(p);
        for (i = 0; i < n; i++) {
                x = x * 1103515245u + 12345u;
                p[i] = (uint8_t)(x >> 16);
        }
        for (i = 0; i < sizeof(bad) && i < n; i++)
                p[i] = bad[i];
        for (i = 0; i < sizeof(bad) && i < n; i++)
                p[n - 1 - i] = bad[i];
        return p;
}

int64_t et_mono_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Append printf text to a growing string. */
static void et_appendf(char **s, size_t *len, size_t *cap, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void et_appendf(char **s, size_t *len, size_t *cap, const char *fmt, ...)
{
        va_list ap;
        int n;
        /* no ck_assert here: Check writes a record per assertion, and this
         * runs hundreds of thousands of times in the crash suites */
        va_start(ap, fmt);
        n = vsnprintf(NULL, 0, fmt, ap);
        va_end(ap);
        if (n < 0)
                abort();
        if (*len + (size_t)n + 1 > *cap) {
                *cap = (*len + (size_t)n + 1) * 2;
                *s = realloc(*s, *cap);
                if (!*s)
                        abort();
        }
        va_start(ap, fmt);
        vsnprintf(*s + *len, *cap - *len, fmt, ap);
        va_end(ap);
        *len += (size_t)n;
}

static void et_bytes(char **s, size_t *len, size_t *cap, df_bytes_t b)
{
        static const char hex[] = "0123456789abcdef";
        size_t i;
        if (*len + 2 * b.len + 1 > *cap) {
                *cap = (*len + 2 * b.len + 1) * 2;
                *s = realloc(*s, *cap);
                if (!*s)
                        abort();
        }
        for (i = 0; i < b.len; i++) {
                (*s)[(*len)++] = hex[b.data[i] >> 4];
                (*s)[(*len)++] = hex[b.data[i] & 15];
        }
        (*s)[*len] = '\0';
}

char *et_batch_text(const df_batch_t *b)
{
        char *s = NULL;
        size_t len = 0, cap = 0;
        int i;
        et_appendf(&s, &len, &cap, "%s %d/%d/%d/%d/%d", df_completion_reason_name(b->reason), b->total, b->succeeded,
                   b->failed, b->started, b->not_started);
        for (i = 0; i < b->total; i++) {
                const df_batch_item_t *it = &b->items[i];
                et_appendf(&s, &len, &cap, "|%d:%s:%s:", it->index, it->name, df_item_status_name(it->status));
                et_bytes(&s, &len, &cap, it->result);
                et_appendf(&s, &len, &cap, ":%s", it->error);
        }
        return s;
}

static void et_walk(df_test_t *t, const char *exec, const char *id, char **s, size_t *len, size_t *cap)
{
        df_test_op_t op;
        char cid[300];
        int k, n;
        if (df_test_op_at(t, exec, id, &op) != DF_OK) {
                et_appendf(s, len, cap, "%s:-\n", id);
                return;
        }
        et_appendf(s, len, cap, "%s:%s:%s:%s:%d:%s:", id, op.name, op.type, op.status, op.attempt, op.parent_id);
        et_bytes(s, len, cap, op.result);
        et_appendf(s, len, cap, ":%s:%s:%d\n", op.error, op.child_id, op.child_count);
        n = op.child_count;
        for (k = 1; k <= n; k++) {
                snprintf(cid, sizeof(cid), "%s.%d", id, k);
                et_walk(t, exec, cid, s, len, cap);
        }
}

char *et_history_text(df_test_t *t, const char *exec)
{
        char *s = NULL, id[32];
        size_t len = 0, cap = 0;
        int i, n = df_test_op_count(t, exec);
        et_appendf(&s, &len, &cap, "%s %d\n", df_test_status(t, exec) ? df_test_status(t, exec) : "-", n);
        for (i = 1; i <= n; i++) {
                snprintf(id, sizeof(id), "%d", i);
                et_walk(t, exec, id, &s, &len, &cap);
        }
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(suite_replay());
        int failed;

        srunner_add_suite(sr, suite_steps());
        srunner_add_suite(sr, suite_waits());
        srunner_add_suite(sr, suite_callbacks());
        srunner_add_suite(sr, suite_determinism());
        srunner_add_suite(sr, suite_control());
        srunner_add_suite(sr, suite_hostile());
        srunner_add_suite(sr, suite_crash());
        srunner_add_suite(sr, suite_child());
        srunner_add_suite(sr, suite_parallel());
        srunner_add_suite(sr, suite_batch_crash());
        srunner_add_suite(sr, suite_invoke());
        srunner_add_suite(sr, suite_condition());
        srunner_add_suite(sr, suite_versions());
        srunner_add_suite(sr, suite_limits());
        srunner_add_suite(sr, suite_log());
        srunner_add_suite(sr, suite_steer());
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
