/*
 * test_schedule.c -- runs the schedules' Check suites (tests/schedule) and
 * holds their shared helpers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "sched_test.h"

int64_t st_utc(int y, int mo, int d, int h, int mi, int s)
{
        struct tm tm;
        memset(&tm, 0, sizeof(tm));
        tm.tm_year = y - 1900;
        tm.tm_mon = mo - 1;
        tm.tm_mday = d;
        tm.tm_hour = h;
        tm.tm_min = mi;
        tm.tm_sec = s;
        return (int64_t)timegm(&tm) * 1000;
}

const char *st_run_id(char *buf, const char *name, int64_t ms)
{
        time_t t = (time_t)(ms / 1000);
        struct tm tm;
        gmtime_r(&t, &tm);
        snprintf(buf, DF_EXECUTION_ID_MAX + 1, "%s-%04d%02d%02dT%02d%02d%02dZ", name, tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        return buf;
}

int main(void)
{
        SRunner *sr = srunner_create(suite_cron());
        int failed;
        df_log_set_level("warn"); /* "started <run>" lines */
        srunner_add_suite(sr, suite_schedule());
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
