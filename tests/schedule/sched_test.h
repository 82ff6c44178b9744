/*
 * sched_test.h -- shared helpers of the schedules' Check suites
 * (tests/schedule): cron expressions and zones (suite_cron.c), schedules on
 * the test runner's fake clock (suite_schedule.c).
 */
#ifndef SCHED_TEST_H
#define SCHED_TEST_H

#include <check.h>
#include <stdint.h>
#include <string.h>

#include "duraflow/duraflow.h"
#include "duraflow/testing.h"

/* UTC ms of a UTC date and time. */
int64_t st_utc(int y, int mo, int d, int h, int mi, int s);
/* "<name>-YYYYMMDDTHHMMSSZ" of a fire time into buf (DF_EXECUTION_ID_MAX + 1). */
const char *st_run_id(char *buf, const char *name, int64_t ms);

#define ASSERT_RC(got, want)                                                                           \
        do {                                                                                           \
                df_err_t g_ = (got), w_ = (want);                                                      \
                ck_assert_msg(g_ == w_, "%s: got %s, want %s", #got, df_err_name(g_), df_err_name(w_)); \
        } while (0)

Suite *suite_cron(void);
Suite *suite_schedule(void);

#endif
