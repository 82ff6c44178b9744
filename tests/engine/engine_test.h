/*
 * engine_test.h -- shared helpers of the replay engine's Check suites
 * (tests/engine).  Everything goes through the public test runner
 * (duraflow/testing.h): fake clock, no Kafka.
 */
#ifndef ENGINE_TEST_H
#define ENGINE_TEST_H

#include <check.h>
#include <stdint.h>
#include <string.h>

#include "duraflow/duraflow.h"
#include "duraflow/testing.h"

/* Fake clock start: 2023-11-14T22:13:20Z. */
#define T0 1700000000000LL

/* Copy of a callback id (the runner's strings die at its next call). */
#define CBID_MAX 512

/* A new runner at T0; fails the test if it cannot be created. */
df_test_t *et_new(void);

/* Copy the callback id of operation name into buf ("" if none). */
void et_cb_id(df_test_t *t, const char *exec, const char *name, char buf[CBID_MAX]);

/* Bounded copy into a fixed buffer. */
void et_copy(char *dst, size_t size, const char *src);

/* A payload of n bytes with NULs and invalid UTF-8 (0xff, 0xc0 0x80, lone
 * continuation bytes), deterministic in seed; malloc'd. */
uint8_t *et_pattern(size_t n, unsigned seed);

#define ASSERT_RC(got, want)                                                                           \
        do {                                                                                           \
                df_err_t g_ = (got), w_ = (want);                                                      \
                ck_assert_msg(g_ == w_, "%s: got %s, want %s", #got, df_err_name(g_), df_err_name(w_)); \
        } while (0)

#define ASSERT_STATUS(t, exec, want) ck_assert_pstr_eq(df_test_status((t), (exec)), (want))

/* The execution's output is exactly (data, len). */
#define ASSERT_OUTPUT(t, exec, WD, WL)                                                     \
        do {                                                                               \
                df_bytes_t o_;                                                             \
                size_t l_ = (WL);                                                          \
                ASSERT_RC(df_test_output((t), (exec), &o_), DF_OK);                        \
                ck_assert_uint_eq(o_.len, l_);                                             \
                if (l_)                                                                    \
                        ck_assert_msg(!memcmp(o_.data, (WD), l_), "output bytes differ");   \
        } while (0)

/* Operation id of exec has this name, type and status. */
#define ASSERT_OP(t, exec, id, nm, ty, stt)                           \
        do {                                                          \
                df_test_op_t op_;                                     \
                ASSERT_RC(df_test_op((t), (exec), (id), &op_), DF_OK); \
                ck_assert_str_eq(op_.name, (nm));                     \
                ck_assert_str_eq(op_.type, (ty));                     \
                ck_assert_str_eq(op_.status, (stt));                  \
        } while (0)

/* ... and its recorded result is exactly (data, len). */
#define ASSERT_OP_RESULT(t, exec, id, WD, WL)                                                     \
        do {                                                                                      \
                df_test_op_t op_;                                                                 \
                size_t l_ = (WL);                                                                 \
                ASSERT_RC(df_test_op((t), (exec), (id), &op_), DF_OK);                            \
                ck_assert_uint_eq(op_.result.len, l_);                                            \
                if (l_)                                                                           \
                        ck_assert_msg(!memcmp(op_.result.data, (WD), l_), "op %d result differs", \
                                      (int)(id));                                                 \
        } while (0)

/* Operation op_id ("3.1") of exec has this name, type and status. */
#define ASSERT_OP_AT(t, exec, id, nm, ty, stt)                                                  \
        do {                                                                                    \
                df_test_op_t op_;                                                               \
                df_err_t r_ = df_test_op_at((t), (exec), (id), &op_);                           \
                ck_assert_msg(r_ == DF_OK, "operation %s of %s: %s", (id), (exec), df_err_name(r_)); \
                ck_assert_str_eq(op_.name, (nm));                                               \
                ck_assert_str_eq(op_.type, (ty));                                               \
                ck_assert_str_eq(op_.status, (stt));                                            \
        } while (0)

/* A batch result as text: "REASON t/s/f/st/ns|i:name:STATUS:result-or-error|..."
 * (malloc'd), for comparing batch results. */
char *et_batch_text(const df_batch_t *b);

/* Every operation of exec (id, name, type, status, attempt, result, error)
 * as text, in id order of a depth-first walk (malloc'd): two runs recorded
 * the same history iff their texts are equal. */
char *et_history_text(df_test_t *t, const char *exec);

/* Monotonic clock, ms. */
int64_t et_mono_ms(void);

Suite *suite_replay(void);
Suite *suite_steps(void);
Suite *suite_waits(void);
Suite *suite_callbacks(void);
Suite *suite_determinism(void);
Suite *suite_control(void);
Suite *suite_hostile(void);
Suite *suite_crash(void);
Suite *suite_child(void);
Suite *suite_parallel(void);
Suite *suite_batch_crash(void);
Suite *suite_invoke(void);
Suite *suite_condition(void);
Suite *suite_versions(void);
Suite *suite_limits(void);
Suite *suite_log(void);
Suite *suite_steer(void);

#endif
