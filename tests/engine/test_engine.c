/*
 * test_engine.c -- runs the replay engine's Check suites (tests/engine) and
 * holds their shared helpers.
 */
#include <stdio.h>
#include <stdlib.h>

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
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
