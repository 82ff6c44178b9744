/*
 * suite_cron.c -- cron expressions and time zones (df_cron_check,
 * df_cron_next): the grammar, errors that name the field and the position,
 * next fire times with a fixed "now", and the daylight-saving rules
 * (a skipped wall time fires when the gap ends; a repeated one at its first
 * occurrence unless the second, minute or hour field starts with '*').
 */
#include <stdio.h>
#include <stdlib.h>

#include "sched_test.h"

/* The n fire times after after_ms are want[0..n). */
static void expect_seq(const char *cron, const char *zone, int64_t after_ms, const int64_t *want, int n)
{
        char err[512] = "";
        int64_t t = after_ms, next = 0;
        int i;
        for (i = 0; i < n; i++) {
                df_err_t rc = df_cron_next(cron, zone, t, &next, err, sizeof(err));
                ck_assert_msg(rc == DF_OK, "%s in %s after %lld: %s (%s)", cron, zone ? zone : "UTC", (long long)t,
                              df_err_name(rc), err);
                ck_assert_msg(next == want[i], "%s in %s, fire %d after %lld: got %lld, want %lld", cron,
                              zone ? zone : "UTC", i + 1, (long long)after_ms, (long long)next, (long long)want[i]);
                t = next;
        }
}

#define SEQ(cron, zone, after, ...)                                                       \
        do {                                                                              \
                const int64_t w_[] = {__VA_ARGS__};                                       \
                expect_seq((cron), (zone), (after), w_, (int)(sizeof(w_) / sizeof(w_[0]))); \
        } while (0)

START_TEST(test_grammar_valid)
{
        static const char *const ok[] = {
                "* * * * *", "0 0 * * *", "*/15 * * * *", "0 9-17 * * mon-fri", "0 0 1,15 * *",
                "0 0 1 jan-dec/3 *", "0 0 * * 0", "0 0 * * 7", "0 0 * * SUN", "0 0 * * Fri-Sun", "5/15 * * * *",
                "0 0 * JAN,Jul *", "  0   0 *\t* *  ", "*/2 * * * * *", "0 30 9 * * *", "@yearly", "@annually",
                "@monthly", "@weekly", "@daily", "@midnight", "@HOURLY", "59 23 31 12 6", "0-59/59 0-23/23 1-31/30 * *",
        };
        char err[512];
        size_t i;
        for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
                ck_assert_msg(df_cron_check(ok[i], NULL, err, sizeof(err)) == DF_OK, "\"%s\": %s", ok[i], err);
}
END_TEST

START_TEST(test_grammar_errors)
{
        static const struct {
                const char *cron, *msg;
        } bad[] = {
                {"61 * * * *", "cron expression \"61 * * * *\": minute (field 1) at position 1: 61 is out of range 0-59"},
                {"0 24 * * *", "cron expression \"0 24 * * *\": hour (field 2) at position 3: 24 is out of range 0-23"},
                {"0 0 0 * *", "cron expression \"0 0 0 * *\": day-of-month (field 3) at position 5: 0 is out of range "
                              "1-31"},
                {"0 0 * 13 *", "cron expression \"0 0 * 13 *\": month (field 4) at position 7: 13 is out of range 1-12"},
                {"0 0 * * 8", "cron expression \"0 0 * * 8\": day-of-week (field 5) at position 9: 8 is out of range "
                              "0-7"},
                {"0 0 * foo *", "cron expression \"0 0 * foo *\": month (field 4) at position 7: unknown name \"foo\" "
                                "(jan..dec)"},
                {"0 0 * * sat-mon", "cron expression \"0 0 * * sat-mon\": day-of-week (field 5) at position 13: range "
                                    "6-1 ends before it starts"},
                {"*/0 * * * *", "cron expression \"*/0 * * * *\": minute (field 1) at position 3: step 0: a step is "
                                "at least 1"},
                {"*/1000000 * * * *", "cron expression \"*/1000000 * * * *\": minute (field 1) at position 3: step "
                                      "too large"},
                {"30-10 * * * *", "cron expression \"30-10 * * * *\": minute (field 1) at position 4: range 30-10 ends "
                                  "before it starts"},
                {"1,,2 * * * *", "cron expression \"1,,2 * * * *\": minute (field 1) at position 3: a value is missing"},
                {"1, * * * *", "cron expression \"1, * * * *\": minute (field 1) at position 3: a value is missing "
                               "after \",\""},
                {"0 0 * * mon#2", "cron expression \"0 0 * * mon#2\": day-of-week (field 5) at position 12: \"#\" (a "
                                  "Quartz extension) is not supported"},
                {"0 0 L * *", "cron expression \"0 0 L * *\": day-of-month (field 3) at position 5: \"L\" (a Quartz "
                              "extension) is not supported"},
                {"0 0 ? * *", "cron expression \"0 0 ? * *\": day-of-month (field 3) at position 5: \"?\" (a Quartz "
                              "extension) is not supported"},
                {"0 x * * *", "cron expression \"0 x * * *\": hour (field 2) at position 3: \"x\": names are for months "
                              "and days of the week only"},
                {"60 * * * * *", "cron expression \"60 * * * * *\": second (field 1) at position 1: 60 is out of "
                                 "range 0-59"},
                {"0 60 * * * *", "cron expression \"0 60 * * * *\": minute (field 2) at position 3: 60 is out of "
                                 "range 0-59"},
                {"* * * *", "cron expression \"* * * *\" has 4 fields: give 5 (minute hour day-of-month month "
                            "day-of-week) or 6 (a seconds field first)"},
                {"* * * * * * *", "cron expression \"* * * * * * *\" has 7 fields: give 5 (minute hour day-of-month "
                                  "month day-of-week) or 6 (a seconds field first)"},
                {"\x1b[31m * * * *", "cron expression \"\\x1B[31m * * * *\": control character 0x1b at position 1"},
                {"caf\xc3\xa9 * * * *", "cron expression \"caf\xc3\xa9 * * * *\": byte 0xc3 at position 4: a cron "
                                        "expression is ASCII"},
                {"@reboot", "cron expression \"@reboot\": unknown macro at position 1 (@yearly, @annually, @monthly, "
                            "@weekly, @daily, @midnight, @hourly)"},
                {"@daily 5", "cron expression \"@daily 5\": unknown macro at position 1 (@yearly, @annually, "
                             "@monthly, @weekly, @daily, @midnight, @hourly)"},
                {"0 0 30 2 *", "cron expression \"0 0 30 2 *\" never fires: no month it names has the days of the "
                               "month it names"},
                {"0 0 31 4,6,9,11 *", "cron expression \"0 0 31 4,6,9,11 *\" never fires: no month it names has the "
                                      "days of the month it names"},
                {"", "cron expression is empty: give 5 fields (minute hour day-of-month month day-of-week) or 6 (a "
                     "seconds field first)"},
        };
        char err[512], big[301];
        size_t i;
        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                err[0] = '\0';
                ck_assert_msg(df_cron_check(bad[i].cron, "UTC", err, sizeof(err)) == DF_ERR_INVALID_ARG,
                              "\"%s\" was accepted", bad[i].cron);
                ck_assert_str_eq(err, bad[i].msg);
                ck_assert_ptr_null(strchr(err, '\x1b')); /* escaped, never raw */
        }
        ASSERT_RC(df_cron_check(NULL, NULL, err, sizeof(err)), DF_ERR_INVALID_ARG);
        memset(big, '1', 300);
        big[300] = '\0';
        ASSERT_RC(df_cron_check(big, NULL, err, sizeof(err)), DF_ERR_INVALID_ARG);
        ck_assert_str_eq(err, "cron expression is 300 bytes, over the limit of 256");
        /* "30 February" with the days ORed fires on the weekday */
        ASSERT_RC(df_cron_check("0 0 30 2 mon", NULL, err, sizeof(err)), DF_OK);
}
END_TEST

START_TEST(test_timezones)
{
        static const char *const ok[] = {"UTC", "", "Etc/UTC", "Europe/Berlin", "America/Argentina/Buenos_Aires",
                                         "Etc/GMT+5", "Asia/Kathmandu", "America/Port-au-Prince"};
        static const char *const bad[] = {"Europe/Nowhere", "../etc/passwd", "/etc/passwd", "localtime",
                                          "Europe//Berlin", "Europe/Berlin\n", "CET-1CEST,M3.5.0,M10.5.0/3",
                                          "Europe/Berlin/", "zone.tab", "\xe2\x80\xae" "Europe/Berlin"};
        char err[512];
        size_t i;
        for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
                ck_assert_msg(df_cron_check("* * * * *", ok[i], err, sizeof(err)) == DF_OK, "%s: %s", ok[i], err);
        ASSERT_RC(df_cron_check("* * * * *", NULL, err, sizeof(err)), DF_OK);
        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                ck_assert_msg(df_cron_check("* * * * *", bad[i], err, sizeof(err)) == DF_ERR_INVALID_ARG,
                              "zone %zu accepted", i);
                ck_assert_msg(strstr(err, "time zone \"") && strstr(err, "Europe/Berlin or UTC"), "%s", err);
                ck_assert_ptr_null(strchr(err, '\n'));
        }
        ASSERT_RC(df_cron_check("* * * * *", "Europe/Nowhere", err, sizeof(err)), DF_ERR_INVALID_ARG);
        ck_assert_ptr_nonnull(strstr(err, "unknown time zone \"Europe/Nowhere\": not in the tz database"));
        ASSERT_RC(df_cron_check("* * * * *", "Europe/Berlin\n", err, sizeof(err)), DF_ERR_INVALID_ARG);
        ck_assert_ptr_nonnull(strstr(err, "\"Europe/Berlin\\x0A\" is not a name of the tz database"));
        /* a fixed zone: Etc/GMT+5 is UTC-5 (POSIX sign) */
        SEQ("0 0 * * *", "Etc/GMT+5", st_utc(2023, 11, 14, 0, 0, 0), st_utc(2023, 11, 14, 5, 0, 0));
}
END_TEST

START_TEST(test_next_utc)
{
        int64_t t0 = st_utc(2023, 11, 14, 22, 13, 20); /* a Tuesday */
        char err[512];
        int64_t next = 0;

        SEQ("*/2 * * * * *", NULL, t0 + 500, t0 + 2000, t0 + 4000, t0 + 6000);
        SEQ("* * * * * *", "UTC", t0, t0 + 1000, t0 + 2000);
        SEQ("30 */10 * * * *", "UTC", t0, st_utc(2023, 11, 14, 22, 20, 30), st_utc(2023, 11, 14, 22, 30, 30));
        SEQ("* * * * *", "UTC", t0, st_utc(2023, 11, 14, 22, 14, 0), st_utc(2023, 11, 14, 22, 15, 0));
        /* strictly after: a fire time itself is not returned */
        SEQ("0 0 * * *", "UTC", st_utc(2023, 11, 15, 0, 0, 0), st_utc(2023, 11, 16, 0, 0, 0));
        SEQ("0 9 * * mon-fri", "UTC", st_utc(2023, 11, 17, 10, 0, 0), st_utc(2023, 11, 20, 9, 0, 0),
            st_utc(2023, 11, 21, 9, 0, 0));
        SEQ("0 */30 * * *", "UTC", t0, st_utc(2023, 11, 15, 0, 0, 0), st_utc(2023, 11, 16, 0, 0, 0));
        SEQ("5/15 * * * *", "UTC", t0, st_utc(2023, 11, 14, 22, 20, 0), st_utc(2023, 11, 14, 22, 35, 0),
            st_utc(2023, 11, 14, 22, 50, 0), st_utc(2023, 11, 14, 23, 5, 0));
        SEQ("0 8-10,14 * * *", "UTC", t0, st_utc(2023, 11, 15, 8, 0, 0), st_utc(2023, 11, 15, 9, 0, 0),
            st_utc(2023, 11, 15, 10, 0, 0), st_utc(2023, 11, 15, 14, 0, 0));
        SEQ("0 0 1 jan-dec/3 *", "UTC", st_utc(2023, 1, 1, 0, 0, 0), st_utc(2023, 4, 1, 0, 0, 0),
            st_utc(2023, 7, 1, 0, 0, 0), st_utc(2023, 10, 1, 0, 0, 0), st_utc(2024, 1, 1, 0, 0, 0));
        /* Sunday is 0 and 7; "fri-sun" wraps to 7 */
        SEQ("0 12 * * 7", "UTC", t0, st_utc(2023, 11, 19, 12, 0, 0));
        SEQ("0 12 * * sun", "UTC", t0, st_utc(2023, 11, 19, 12, 0, 0));
        SEQ("0 12 * * fri-sun", "UTC", t0, st_utc(2023, 11, 17, 12, 0, 0), st_utc(2023, 11, 18, 12, 0, 0),
            st_utc(2023, 11, 19, 12, 0, 0), st_utc(2023, 11, 24, 12, 0, 0));
        /* Vixie's day rule: both day fields restricted = either matches */
        SEQ("0 0 13 * fri", "UTC", st_utc(2023, 1, 1, 0, 0, 0), st_utc(2023, 1, 6, 0, 0, 0), st_utc(2023, 1, 13, 0, 0, 0),
            st_utc(2023, 1, 20, 0, 0, 0), st_utc(2023, 1, 27, 0, 0, 0), st_utc(2023, 2, 3, 0, 0, 0),
            st_utc(2023, 2, 10, 0, 0, 0), st_utc(2023, 2, 13, 0, 0, 0), st_utc(2023, 2, 17, 0, 0, 0));
        /* ... a day field starting with '*' makes it "both": the 13th on a Sunday or Friday */
        SEQ("0 0 13 * */5", "UTC", st_utc(2023, 1, 1, 0, 0, 0), st_utc(2023, 1, 13, 0, 0, 0),
            st_utc(2023, 8, 13, 0, 0, 0), st_utc(2023, 10, 13, 0, 0, 0));
        /* ... the 1st, 11th, 21st or 31st when a Monday */
        SEQ("0 0 */10 * 1", "UTC", st_utc(2023, 1, 1, 0, 0, 0), st_utc(2023, 5, 1, 0, 0, 0),
            st_utc(2023, 7, 31, 0, 0, 0), st_utc(2023, 8, 21, 0, 0, 0), st_utc(2023, 9, 11, 0, 0, 0));
        /* leap days; a 29 February that is a Sunday: 28 years apart */
        SEQ("0 0 29 2 *", "UTC", st_utc(2023, 3, 1, 0, 0, 0), st_utc(2024, 2, 29, 0, 0, 0), st_utc(2028, 2, 29, 0, 0, 0));
        SEQ("0 0 29 2 */7", "UTC", st_utc(2032, 3, 1, 0, 0, 0), st_utc(2060, 2, 29, 0, 0, 0));
        SEQ("@hourly", "UTC", t0, st_utc(2023, 11, 14, 23, 0, 0));
        SEQ("@weekly", "UTC", t0, st_utc(2023, 11, 19, 0, 0, 0));
        SEQ("@monthly", "UTC", t0, st_utc(2023, 12, 1, 0, 0, 0));
        SEQ("@yearly", "UTC", t0, st_utc(2024, 1, 1, 0, 0, 0));
        SEQ("0 9 * * *", "Asia/Kolkata", t0, st_utc(2023, 11, 15, 3, 30, 0));
        SEQ("0 9 * * *", "Asia/Kathmandu", t0, st_utc(2023, 11, 15, 3, 15, 0));
        /* argument checks */
        ASSERT_RC(df_cron_next("* * * * *", NULL, -1, &next, err, sizeof(err)), DF_ERR_INVALID_ARG);
        ASSERT_RC(df_cron_next("* * * * *", NULL, t0, NULL, err, sizeof(err)), DF_ERR_INVALID_ARG);
        ASSERT_RC(df_cron_next("* * * * *", "Mars/Olympus_Mons", t0, &next, err, sizeof(err)), DF_ERR_INVALID_ARG);
        ASSERT_RC(df_cron_next("* * *", NULL, t0, &next, err, sizeof(err)), DF_ERR_INVALID_ARG);
}
END_TEST

/* Europe/Berlin, 31 March 2024: 02:00 CET (01:00 UTC) jumps to 03:00 CEST. */
START_TEST(test_dst_spring_forward)
{
        int64_t noon = st_utc(2024, 3, 30, 12, 0, 0);
        /* a daily 02:30 does not exist that day: it fires once when the gap ends, 03:00 CEST */
        SEQ("30 2 * * *", "Europe/Berlin", noon, st_utc(2024, 3, 31, 1, 0, 0), st_utc(2024, 4, 1, 0, 30, 0),
            st_utc(2024, 4, 2, 0, 30, 0));
        SEQ("0 2 * * *", "Europe/Berlin", noon, st_utc(2024, 3, 31, 1, 0, 0), st_utc(2024, 4, 1, 0, 0, 0));
        /* two skipped times make one fire */
        SEQ("15,45 2 * * *", "Europe/Berlin", noon, st_utc(2024, 3, 31, 1, 0, 0), st_utc(2024, 4, 1, 0, 15, 0));
        /* every 15 minutes: 02:00..02:45 and 03:00 are the one instant 01:00 UTC */
        SEQ("*/15 * * * *", "Europe/Berlin", st_utc(2024, 3, 31, 0, 40, 0), st_utc(2024, 3, 31, 0, 45, 0),
            st_utc(2024, 3, 31, 1, 0, 0), st_utc(2024, 3, 31, 1, 15, 0));
        /* 03:30 is not in the gap */
        SEQ("30 3 * * *", "Europe/Berlin", noon, st_utc(2024, 3, 31, 1, 30, 0));
        /* America/New_York, 10 March 2024: 02:00 EST (07:00 UTC) -> 03:00 EDT */
        SEQ("30 2 * * *", "America/New_York", st_utc(2024, 3, 9, 12, 0, 0), st_utc(2024, 3, 10, 7, 0, 0),
            st_utc(2024, 3, 11, 6, 30, 0));
        /* Australia/Lord_Howe, 6 October 2024: 02:00 (+10:30, 15:30 UTC) -> 02:30 (+11) */
        SEQ("15 2 * * *", "Australia/Lord_Howe", st_utc(2024, 10, 5, 12, 0, 0), st_utc(2024, 10, 5, 15, 30, 0),
            st_utc(2024, 10, 6, 15, 15, 0));
}
END_TEST

/* Europe/Berlin, 27 October 2024: 03:00 CEST (01:00 UTC) goes back to 02:00 CET. */
START_TEST(test_dst_fall_back)
{
        int64_t noon = st_utc(2024, 10, 26, 12, 0, 0);
        /* a daily 02:30 happens twice that day: it fires at the first, 02:30 CEST */
        SEQ("30 2 * * *", "Europe/Berlin", noon, st_utc(2024, 10, 27, 0, 30, 0), st_utc(2024, 10, 28, 1, 30, 0),
            st_utc(2024, 10, 29, 1, 30, 0));
        SEQ("0,30 2 * * *", "Europe/Berlin", noon, st_utc(2024, 10, 27, 0, 0, 0), st_utc(2024, 10, 27, 0, 30, 0),
            st_utc(2024, 10, 28, 1, 0, 0));
        /* asked from inside the second pass: not again */
        SEQ("45 2 * * *", "Europe/Berlin", st_utc(2024, 10, 27, 1, 10, 0), st_utc(2024, 10, 28, 1, 45, 0));
        /* hourly and every 30 minutes measure elapsed time: both passes */
        SEQ("0 * * * *", "Europe/Berlin", st_utc(2024, 10, 26, 23, 30, 0), st_utc(2024, 10, 27, 0, 0, 0),
            st_utc(2024, 10, 27, 1, 0, 0), st_utc(2024, 10, 27, 2, 0, 0));
        SEQ("*/30 2 * * *", "Europe/Berlin", st_utc(2024, 10, 26, 23, 50, 0), st_utc(2024, 10, 27, 0, 0, 0),
            st_utc(2024, 10, 27, 0, 30, 0), st_utc(2024, 10, 27, 1, 0, 0), st_utc(2024, 10, 27, 1, 30, 0),
            st_utc(2024, 10, 28, 1, 0, 0));
        /* America/New_York, 3 November 2024: 02:00 EDT (06:00 UTC) -> 01:00 EST */
        SEQ("30 1 * * *", "America/New_York", st_utc(2024, 11, 2, 12, 0, 0), st_utc(2024, 11, 3, 5, 30, 0),
            st_utc(2024, 11, 4, 6, 30, 0));
        /* Australia/Lord_Howe, 7 April 2024: 02:00 (+11, 15:00 UTC) -> 01:30 (+10:30) */
        SEQ("45 1 * * *", "Australia/Lord_Howe", st_utc(2024, 4, 6, 12, 0, 0), st_utc(2024, 4, 6, 14, 45, 0),
            st_utc(2024, 4, 7, 15, 15, 0));
        SEQ("*/30 * * * *", "Australia/Lord_Howe", st_utc(2024, 4, 6, 14, 0, 0), st_utc(2024, 4, 6, 14, 30, 0),
            st_utc(2024, 4, 6, 15, 0, 0), st_utc(2024, 4, 6, 15, 30, 0));
}
END_TEST

Suite *suite_cron(void)
{
        Suite *s = suite_create("cron");
        TCase *tc = tcase_create("cron");
        tcase_set_timeout(tc, 30);
        tcase_add_test(tc, test_grammar_valid);
        tcase_add_test(tc, test_grammar_errors);
        tcase_add_test(tc, test_timezones);
        tcase_add_test(tc, test_next_utc);
        tcase_add_test(tc, test_dst_spring_forward);
        tcase_add_test(tc, test_dst_fall_back);
        suite_add_tcase(s, tc);
        return s;
}
