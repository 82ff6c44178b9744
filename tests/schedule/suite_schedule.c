/*
 * suite_schedule.c -- schedules on the test runner's fake clock: the worker's
 * schedule module (schedule.c) fed by the timer service stand-in, every
 * event one transaction.  Runs are counted by their execution ids.
 */
#include <stdio.h>
#include <stdlib.h>

#include "sched_test.h"
#include "codec.h"
#include "schedule.h" /* the worker's schedule module, fed forged events (test_forged_events) */

/* 2023-11-14T22:13:20Z, an even second. */
#define T0 1700000000000LL

static df_err_t job_body(df_step_t *step, void *opaque)
{
        const df_bytes_t *in = opaque;
        return df_step_set_result(step, in->data, in->len);
}

/* One step that hands its input back. */
static df_err_t job(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        df_bytes_t r;
        df_err_t rc;
        (void)opaque;
        if ((rc = df_step(ctx, "run", job_body, (void *)input, NULL, &r)) != DF_OK)
                return rc;
        return df_ctx_set_output(ctx, r.data, r.len);
}

/* Runs for 5 s (a durable wait): a run still going at the next fire time. */
static df_err_t hold(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        (void)input;
        (void)opaque;
        return df_wait(ctx, "hold", 5000);
}

static df_test_t *new_runner(int64_t start)
{
        df_test_t *t = df_test_new(start);
        ck_assert_ptr_nonnull(t);
        ASSERT_RC(df_test_register(t, "job", job, NULL), DF_OK);
        ASSERT_RC(df_test_register(t, "hold", hold, NULL), DF_OK);
        return t;
}

static df_schedule_def_t def_of(const char *cron, const char *zone, const char *workflow, df_overlap_t overlap)
{
        df_schedule_def_t d;
        memset(&d, 0, sizeof(d));
        d.cron = cron;
        d.timezone = zone;
        d.workflow = workflow;
        d.input = "in";
        d.input_len = 2;
        d.overlap = overlap;
        return d;
}

/* Advance the clock by step ms, n times. */
static void advance(df_test_t *t, int64_t step, int n)
{
        int i;
        for (i = 0; i < n; i++)
                df_test_advance(t, step);
}

/* The executions recorded are exactly the runs of name at times[0..n). */
static void expect_runs(df_test_t *t, const char *name, const int64_t *times, size_t n, const char *status)
{
        const char *const *ids;
        size_t got = df_test_executions(t, &ids), i;
        char want[DF_EXECUTION_ID_MAX + 1];
        char list[4096] = "";
        for (i = 0; i < got && strlen(list) < sizeof(list) - 256; i++)
                snprintf(list + strlen(list), sizeof(list) - strlen(list), " %s", ids[i]);
        ck_assert_msg(got == n, "%zu executions, want %zu:%s", got, n, list);
        for (i = 0; i < n; i++) {
                st_run_id(want, name, times[i]);
                ck_assert_msg(!strcmp(ids[i], want), "execution %zu is %s, want %s (all:%s)", i, ids[i], want, list);
                if (status)
                        ck_assert_msg(df_test_status(t, want) && !strcmp(df_test_status(t, want), status),
                                      "%s is %s, want %s", want, df_test_status(t, want), status);
        }
}

#define RUNS(t, name, status, ...)                                                            \
        do {                                                                                  \
                const int64_t w_[] = {__VA_ARGS__};                                           \
                expect_runs((t), (name), w_, sizeof(w_) / sizeof(w_[0]), (status));            \
        } while (0)

#define NO_RUNS(t) ck_assert_uint_eq(df_test_executions((t), NULL), 0)

START_TEST(test_every_two_seconds)
{
        df_test_t *t = new_runner(T0);
        df_schedule_def_t d = def_of("*/2 * * * * *", NULL, "job", DF_OVERLAP_SKIP);
        const df_schedule_info_t *s;
        df_bytes_t out;
        char id[DF_EXECUTION_ID_MAX + 1];

        ASSERT_RC(df_test_schedule_create(t, "every2", &d), DF_OK);
        s = df_test_schedule(t, "every2");
        ck_assert_ptr_nonnull(s);
        ck_assert_str_eq(s->cron, "*/2 * * * * *");
        ck_assert_str_eq(s->timezone, "UTC");
        ck_assert_int_eq(s->next_fire_ms, T0 + 2000);
        ck_assert_int_eq(df_test_pending_timers(t), 1);
        advance(t, 1000, 20);
        RUNS(t, "every2", "SUCCEEDED", T0 + 2000, T0 + 4000, T0 + 6000, T0 + 8000, T0 + 10000, T0 + 12000,
             T0 + 14000, T0 + 16000, T0 + 18000, T0 + 20000);
        ASSERT_RC(df_test_output(t, st_run_id(id, "every2", T0 + 20000), &out), DF_OK);
        ck_assert_uint_eq(out.len, 2);
        ck_assert(!memcmp(out.data, "in", 2));
        s = df_test_schedule(t, "every2");
        ck_assert_int_eq(s->fires, 10);
        ck_assert_int_eq(s->skipped, 0);
        ck_assert_int_eq(s->missed, 0);
        ck_assert_int_eq(s->last_fire_ms, T0 + 20000);
        ck_assert_str_eq(s->last_run_id, "every2-20231114T221340Z");
        ck_assert_int_eq(s->last_run_running, 0);
        ck_assert_int_eq(s->next_fire_ms, T0 + 22000);
        ck_assert_int_eq(df_test_pending_timers(t), 1); /* one armed at a time */
        df_test_destroy(t);
}
END_TEST

START_TEST(test_names_and_steps)
{
        /* 2023-11-13 was a Monday: 09:30, 13:30 and 17:30 on Mon, Wed, Fri */
        int64_t mon = st_utc(2023, 11, 13, 0, 0, 0), wed = mon + 2 * 86400000LL, fri = mon + 4 * 86400000LL;
        int64_t h = 3600000LL, m30 = 1800000LL;
        df_test_t *t = new_runner(mon);
        df_schedule_def_t d = def_of("0 30 9-17/4 * NOV mon,WED,fri", "UTC", "job", DF_OVERLAP_ALLOW);
        ASSERT_RC(df_test_schedule_create(t, "weekly", &d), DF_OK);
        advance(t, m30, 7 * 48);
        RUNS(t, "weekly", "SUCCEEDED", mon + 9 * h + m30, mon + 13 * h + m30, mon + 17 * h + m30, wed + 9 * h + m30,
             wed + 13 * h + m30, wed + 17 * h + m30, fri + 9 * h + m30, fri + 13 * h + m30, fri + 17 * h + m30);
        ck_assert_int_eq(df_test_schedule(t, "weekly")->missed, 0);
        df_test_destroy(t);
}
END_TEST

START_TEST(test_dst_berlin)
{
        /* a daily 02:30 in Europe/Berlin around both changes of 2024, the
         * clock moved in 10-minute steps */
        df_test_t *t = new_runner(st_utc(2024, 3, 30, 12, 0, 0));
        df_schedule_def_t d = def_of("30 2 * * *", "Europe/Berlin", "job", DF_OVERLAP_SKIP);
        ASSERT_RC(df_test_schedule_create(t, "nightly", &d), DF_OK);
        advance(t, 600000, 6 * 24 * 3);
        /* 31 March: 02:30 does not exist; at 03:00 CEST (01:00 UTC) */
        RUNS(t, "nightly", "SUCCEEDED", st_utc(2024, 3, 31, 1, 0, 0), st_utc(2024, 4, 1, 0, 30, 0),
             st_utc(2024, 4, 2, 0, 30, 0));
        df_test_destroy(t);

        t = new_runner(st_utc(2024, 10, 26, 12, 0, 0));
        ASSERT_RC(df_test_schedule_create(t, "nightly", &d), DF_OK);
        advance(t, 600000, 6 * 24 * 3);
        /* 27 October: 02:30 happens twice; once, at 02:30 CEST (00:30 UTC) */
        RUNS(t, "nightly", "SUCCEEDED", st_utc(2024, 10, 27, 0, 30, 0), st_utc(2024, 10, 28, 1, 30, 0),
             st_utc(2024, 10, 29, 1, 30, 0));
        df_test_destroy(t);

        /* every 30 minutes goes through both passes of the repeated hour */
        t = new_runner(st_utc(2024, 10, 26, 23, 50, 0));
        d = def_of("*/30 * * * *", "Europe/Berlin", "job", DF_OVERLAP_SKIP);
        ASSERT_RC(df_test_schedule_create(t, "halfhour", &d), DF_OK);
        advance(t, 600000, 15);
        RUNS(t, "halfhour", "SUCCEEDED", st_utc(2024, 10, 27, 0, 0, 0), st_utc(2024, 10, 27, 0, 30, 0),
             st_utc(2024, 10, 27, 1, 0, 0), st_utc(2024, 10, 27, 1, 30, 0), st_utc(2024, 10, 27, 2, 0, 0));
        df_test_destroy(t);
}
END_TEST

START_TEST(test_overlap_skip)
{
        df_test_t *t = new_runner(T0);
        df_schedule_def_t d = def_of("*/2 * * * * *", NULL, "hold", DF_OVERLAP_SKIP);
        const df_schedule_info_t *s;
        ASSERT_RC(df_test_schedule_create(t, "slow", &d), DF_OK);
        advance(t, 1000, 3);
        s = df_test_schedule(t, "slow");
        ck_assert_int_eq(s->last_run_running, 1);
        advance(t, 1000, 18); /* to T0 + 21 s */
        /* a run holds 5 s: +2 (ends +7), +8 (ends +13), +14 (ends +19), +20 */
        RUNS(t, "slow", NULL, T0 + 2000, T0 + 8000, T0 + 14000, T0 + 20000);
        s = df_test_schedule(t, "slow");
        ck_assert_int_eq(s->fires, 4);
        ck_assert_int_eq(s->skipped, 6); /* +4 +6 +10 +12 +16 +18 */
        ck_assert_int_eq(s->last_run_running, 1);
        advance(t, 1000, 4); /* to +25: +22, +24 skipped, the +20 run ends */
        ck_assert_int_eq(df_test_schedule(t, "slow")->last_run_running, 0);
        ck_assert_int_eq(df_test_schedule(t, "slow")->fires, 4);
        ck_assert_int_eq(df_test_schedule(t, "slow")->skipped, 8);
        df_test_destroy(t);
}
END_TEST

START_TEST(test_overlap_allow)
{
        df_test_t *t = new_runner(T0);
        df_schedule_def_t d = def_of("*/2 * * * * *", NULL, "hold", DF_OVERLAP_ALLOW);
        char id[DF_EXECUTION_ID_MAX + 1];
        ASSERT_RC(df_test_schedule_create(t, "slow", &d), DF_OK);
        advance(t, 1000, 10);
        RUNS(t, "slow", NULL, T0 + 2000, T0 + 4000, T0 + 6000, T0 + 8000, T0 + 10000);
        /* three at once: +6, +8, +10 still hold */
        ck_assert_str_eq(df_test_status(t, st_run_id(id, "slow", T0 + 2000)), "SUCCEEDED");
        ck_assert_str_eq(df_test_status(t, st_run_id(id, "slow", T0 + 6000)), "SUSPENDED");
        ck_assert_str_eq(df_test_status(t, st_run_id(id, "slow", T0 + 10000)), "SUSPENDED");
        ck_assert_int_eq(df_test_schedule(t, "slow")->skipped, 0);
        df_test_destroy(t);
}
END_TEST

START_TEST(test_catch_up_one_fire)
{
        df_test_t *t = new_runner(T0);
        df_schedule_def_t d = def_of("*/2 * * * * *", NULL, "job", DF_OVERLAP_SKIP);
        const df_schedule_info_t *s;
        ASSERT_RC(df_test_schedule_create(t, "every2", &d), DF_OK);
        df_test_advance(t, 2000);
        RUNS(t, "every2", "SUCCEEDED", T0 + 2000);
        /* an outage of a minute: the fire of +4 comes at +63 */
        df_test_advance(t, 61000);
        RUNS(t, "every2", "SUCCEEDED", T0 + 2000, T0 + 62000);
        s = df_test_schedule(t, "every2");
        ck_assert_int_eq(s->missed, 29); /* +4 .. +60 */
        ck_assert_int_eq(s->fires, 2);
        ck_assert_int_eq(s->next_fire_ms, T0 + 64000);
        df_test_advance(t, 1000);
        RUNS(t, "every2", "SUCCEEDED", T0 + 2000, T0 + 62000, T0 + 64000);
        df_test_destroy(t);

        /* a daily 02:30 Berlin, three days down: one run, for the last day */
        t = new_runner(st_utc(2024, 6, 1, 12, 0, 0));
        d = def_of("30 2 * * *", "Europe/Berlin", "job", DF_OVERLAP_SKIP);
        ASSERT_RC(df_test_schedule_create(t, "nightly", &d), DF_OK);
        df_test_advance(t, 3 * 86400000LL + 3600000LL); /* to 4 June 13:00 UTC */
        RUNS(t, "nightly", "SUCCEEDED", st_utc(2024, 6, 4, 0, 30, 0));
        s = df_test_schedule(t, "nightly");
        ck_assert_int_eq(s->missed, 2);
        ck_assert_int_eq(s->next_fire_ms, st_utc(2024, 6, 5, 0, 30, 0));
        df_test_destroy(t);
}
END_TEST

START_TEST(test_pause_resume)
{
        df_test_t *t = new_runner(T0);
        df_schedule_def_t d = def_of("*/2 * * * * *", NULL, "job", DF_OVERLAP_SKIP);
        ASSERT_RC(df_test_schedule_create(t, "p", &d), DF_OK);
        advance(t, 1000, 5); /* runs +2, +4 */
        ASSERT_RC(df_test_schedule_pause(t, "p"), DF_OK);
        ck_assert_int_eq(df_test_schedule(t, "p")->paused, 1);
        ck_assert_int_eq(df_test_schedule(t, "p")->next_fire_ms, 0);
        ck_assert_int_eq(df_test_pending_timers(t), 0); /* the fire of +6 was withdrawn */
        ASSERT_RC(df_test_schedule_pause(t, "p"), DF_OK); /* again: no change */
        advance(t, 1000, 10);                            /* to +15 */
        RUNS(t, "p", "SUCCEEDED", T0 + 2000, T0 + 4000);
        ASSERT_RC(df_test_schedule_resume(t, "p"), DF_OK);
        ck_assert_int_eq(df_test_schedule(t, "p")->next_fire_ms, T0 + 16000);
        ASSERT_RC(df_test_schedule_resume(t, "p"), DF_OK);
        advance(t, 1000, 5); /* to +20: +16, +18, +20; none for the paused times */
        RUNS(t, "p", "SUCCEEDED", T0 + 2000, T0 + 4000, T0 + 16000, T0 + 18000, T0 + 20000);
        ck_assert_int_eq(df_test_schedule(t, "p")->missed, 0);
        ASSERT_RC(df_test_schedule_pause(t, "nope"), DF_ERR_NOT_FOUND);
        ASSERT_RC(df_test_schedule_resume(t, "nope"), DF_ERR_NOT_FOUND);
        df_test_destroy(t);
}
END_TEST

START_TEST(test_stale_fire_ignored)
{
        /* the timer service fired the withdrawn timer anyway (it had fired
         * before the withdrawal reached it): that FIRE changes nothing */
        df_test_t *t = new_runner(T0);
        df_schedule_def_t d = def_of("*/2 * * * * *", NULL, "job", DF_OVERLAP_SKIP);
        df_test_keep_withdrawn_timers(t, 1);
        ASSERT_RC(df_test_schedule_create(t, "p", &d), DF_OK);
        advance(t, 1000, 3);
        ASSERT_RC(df_test_schedule_pause(t, "p"), DF_OK);
        advance(t, 1000, 2); /* the +4 timer fires: paused */
        RUNS(t, "p", "SUCCEEDED", T0 + 2000);
        ASSERT_RC(df_test_schedule_resume(t, "p"), DF_OK);
        ASSERT_RC(df_test_schedule_delete(t, "p"), DF_OK);
        ASSERT_RC(df_test_schedule_create(t, "p", &d), DF_OK); /* armed for +6 again */
        advance(t, 1000, 2);
        RUNS(t, "p", "SUCCEEDED", T0 + 2000, T0 + 6000); /* the +6 fire of before the delete and the new one: once */
        ck_assert_int_eq(df_test_schedule(t, "p")->fires, 1);
        df_test_destroy(t);
}
END_TEST

START_TEST(test_delete)
{
        df_test_t *t = new_runner(T0);
        df_schedule_def_t d = def_of("*/2 * * * * *", NULL, "hold", DF_OVERLAP_SKIP);
        ASSERT_RC(df_test_schedule_create(t, "d", &d), DF_OK);
        advance(t, 1000, 3); /* +2 runs, holds until +7 */
        ASSERT_RC(df_test_schedule_delete(t, "d"), DF_OK);
        ck_assert_ptr_null(df_test_schedule(t, "d"));
        advance(t, 1000, 10);
        RUNS(t, "d", "SUCCEEDED", T0 + 2000); /* the run went on and ended */
        ck_assert_int_eq(df_test_pending_timers(t), 0);
        ASSERT_RC(df_test_schedule_delete(t, "d"), DF_ERR_NOT_FOUND);
        ASSERT_RC(df_test_schedule_trigger(t, "d", NULL, 0), DF_ERR_NOT_FOUND);
        /* the name is free again, for another definition */
        d = def_of("*/5 * * * * *", NULL, "job", DF_OVERLAP_ALLOW);
        ASSERT_RC(df_test_schedule_create(t, "d", &d), DF_OK);
        ck_assert_str_eq(df_test_schedule(t, "d")->cron, "*/5 * * * * *");
        ck_assert_int_eq(df_test_schedule(t, "d")->fires, 0);
        ck_assert_int_eq(df_test_schedule(t, "d")->next_fire_ms, T0 + 15000);
        df_test_destroy(t);
}
END_TEST

START_TEST(test_trigger)
{
        df_test_t *t = new_runner(T0 + 500);
        df_schedule_def_t d = def_of("0 0 1 1 *", NULL, "hold", DF_OVERLAP_SKIP);
        char run[DF_EXECUTION_ID_MAX + 1], want[DF_EXECUTION_ID_MAX + 1];
        ASSERT_RC(df_test_schedule_create(t, "manual", &d), DF_OK);
        ASSERT_RC(df_test_schedule_trigger(t, "manual", run, sizeof(run)), DF_OK);
        ck_assert_str_eq(run, st_run_id(want, "manual", T0));
        ck_assert_str_eq(df_test_status(t, run), "SUSPENDED");
        /* skip: the last run holds */
        ASSERT_RC(df_test_schedule_trigger(t, "manual", run, sizeof(run)), DF_ERR_CONFLICT);
        ck_assert_str_eq(run, "");
        advance(t, 1000, 6); /* it ends */
        ASSERT_RC(df_test_schedule_pause(t, "manual"), DF_OK);
        ASSERT_RC(df_test_schedule_trigger(t, "manual", run, sizeof(run)), DF_OK); /* also when paused */
        ck_assert_str_eq(run, st_run_id(want, "manual", T0 + 6000));
        RUNS(t, "manual", NULL, T0, T0 + 6000);
        ck_assert_int_eq(df_test_schedule(t, "manual")->fires, 2);
        ck_assert_int_eq(df_test_schedule(t, "manual")->next_fire_ms, 0);
        df_test_destroy(t);

        /* allow: a second trigger in the same second is the same run */
        t = new_runner(T0);
        d = def_of("0 0 1 1 *", NULL, "job", DF_OVERLAP_ALLOW);
        ASSERT_RC(df_test_schedule_create(t, "manual", &d), DF_OK);
        ASSERT_RC(df_test_schedule_trigger(t, "manual", run, sizeof(run)), DF_OK);
        ck_assert_str_eq(run, st_run_id(want, "manual", T0));
        ASSERT_RC(df_test_schedule_trigger(t, "manual", run, sizeof(run)), DF_OK);
        ck_assert_str_eq(run, st_run_id(want, "manual", T0)); /* the run id alone */
        RUNS(t, "manual", "SUCCEEDED", T0);
        /* counted once: describe counted a run per trigger, 6 runs for 5 executions */
        ck_assert_int_eq(df_test_schedule(t, "manual")->fires, 1);
        advance(t, 1000, 1);
        ASSERT_RC(df_test_schedule_trigger(t, "manual", run, sizeof(run)), DF_OK); /* a new second: a new run */
        ck_assert_str_eq(run, st_run_id(want, "manual", T0 + 1000));
        ck_assert_int_eq(df_test_schedule(t, "manual")->fires, 2);
        df_test_destroy(t);
}
END_TEST

START_TEST(test_create_idempotent)
{
        df_test_t *t = new_runner(T0);
        df_schedule_def_t d = def_of("*/2 * * * * *", NULL, "job", DF_OVERLAP_SKIP), e;
        char big[80];
        ASSERT_RC(df_test_schedule_create(t, "s", &d), DF_OK);
        advance(t, 1000, 3);
        ASSERT_RC(df_test_schedule_create(t, "s", &d), DF_OK); /* the same: nothing changes */
        d.timezone = "UTC";
        ASSERT_RC(df_test_schedule_create(t, "s", &d), DF_OK); /* "" and "UTC" are one zone */
        ck_assert_int_eq(df_test_schedule(t, "s")->fires, 1);
        ck_assert_int_eq(df_test_schedule(t, "s")->next_fire_ms, T0 + 4000);
        ck_assert_int_eq(df_test_pending_timers(t), 1);
        e = d;
        e.cron = "*/3 * * * * *";
        ASSERT_RC(df_test_schedule_create(t, "s", &e), DF_ERR_CONFLICT);
        e = d;
        e.input = "other";
        e.input_len = 5;
        ASSERT_RC(df_test_schedule_create(t, "s", &e), DF_ERR_CONFLICT);
        e = d;
        e.overlap = DF_OVERLAP_ALLOW;
        ASSERT_RC(df_test_schedule_create(t, "s", &e), DF_ERR_CONFLICT);
        e = d;
        e.timezone = "Europe/Berlin";
        ASSERT_RC(df_test_schedule_create(t, "s", &e), DF_ERR_CONFLICT);
        e = d;
        e.workflow = "hold";
        ASSERT_RC(df_test_schedule_create(t, "s", &e), DF_ERR_CONFLICT);
        ck_assert_str_eq(df_test_schedule(t, "s")->cron, "*/2 * * * * *");
        /* the worker's checks */
        e = d;
        e.workflow = "unregistered";
        ASSERT_RC(df_test_schedule_create(t, "u", &e), DF_ERR_UNKNOWN_WORKFLOW);
        ck_assert_ptr_null(df_test_schedule(t, "u"));
        e = d;
        e.cron = "61 * * * *";
        ASSERT_RC(df_test_schedule_create(t, "u", &e), DF_ERR_INVALID_ARG);
        e = d;
        e.timezone = "Europe/Nowhere";
        ASSERT_RC(df_test_schedule_create(t, "u", &e), DF_ERR_INVALID_ARG);
        e = d;
        e.overlap = (df_overlap_t)7;
        ASSERT_RC(df_test_schedule_create(t, "u", &e), DF_ERR_INVALID_ARG);
        e = d;
        e.input = NULL;
        e.input_len = DF_SCHEDULE_INPUT_MAX + 1;
        ASSERT_RC(df_test_schedule_create(t, "u", &e), DF_ERR_INVALID_ARG); /* NULL with a length */
        memset(big, 'a', sizeof(big));
        big[sizeof(big) - 1] = '\0';
        ASSERT_RC(df_test_schedule_create(t, "bad name", &d), DF_ERR_INVALID_ARG);
        ASSERT_RC(df_test_schedule_create(t, "", &d), DF_ERR_INVALID_ARG);
        ASSERT_RC(df_test_schedule_create(t, big, &d), DF_OK); /* 79 characters */
        ck_assert_ptr_null(df_test_schedule(t, "u"));
        df_test_destroy(t);
}
END_TEST

START_TEST(test_input_limit)
{
        df_test_t *t = new_runner(T0);
        df_schedule_def_t d = def_of("*/2 * * * * *", NULL, "job", DF_OVERLAP_SKIP);
        char *in = malloc(DF_SCHEDULE_INPUT_MAX + 1);
        df_bytes_t out;
        char id[DF_EXECUTION_ID_MAX + 1];
        ck_assert_ptr_nonnull(in);
        memset(in, 'x', DF_SCHEDULE_INPUT_MAX + 1);
        d.input = in;
        d.input_len = DF_SCHEDULE_INPUT_MAX + 1;
        ASSERT_RC(df_test_schedule_create(t, "big", &d), DF_ERR_PAYLOAD_TOO_LARGE);
        d.input_len = DF_SCHEDULE_INPUT_MAX; /* the largest fits the one event that carries it */
        ASSERT_RC(df_test_schedule_create(t, "big", &d), DF_OK);
        df_test_advance(t, 2000);
        ASSERT_RC(df_test_output(t, st_run_id(id, "big", T0 + 2000), &out), DF_OK);
        ck_assert_uint_eq(out.len, DF_SCHEDULE_INPUT_MAX);
        free(in);
        df_test_destroy(t);
}
END_TEST

START_TEST(test_run_that_exists)
{
        /* an execution with the id of a run already exists and is over: the
         * schedule is told so, and is not held back (overlap skip) */
        df_test_t *t = new_runner(T0);
        df_schedule_def_t d = def_of("*/2 * * * * *", NULL, "job", DF_OVERLAP_SKIP);
        char id[DF_EXECUTION_ID_MAX + 1];
        ASSERT_RC(df_test_start(t, "job", st_run_id(id, "s", T0 + 2000), "manual", 6), DF_OK);
        ASSERT_RC(df_test_schedule_create(t, "s", &d), DF_OK);
        advance(t, 1000, 6);
        RUNS(t, "s", "SUCCEEDED", T0 + 2000, T0 + 4000, T0 + 6000);
        ck_assert_int_eq(df_test_schedule(t, "s")->skipped, 0);
        ck_assert_int_eq(df_test_schedule(t, "s")->last_run_running, 0);
        df_test_destroy(t);

        /* ... and one still running is tied to the schedule: its end counts */
        t = new_runner(T0);
        d = def_of("*/2 * * * * *", NULL, "hold", DF_OVERLAP_SKIP);
        ASSERT_RC(df_test_start(t, "hold", st_run_id(id, "s", T0 + 2000), "in", 2), DF_OK);
        ASSERT_RC(df_test_schedule_create(t, "s", &d), DF_OK);
        advance(t, 1000, 8); /* +2 "starts" the existing one (ends at +5); +4 skipped; +6 runs; +8 skipped */
        RUNS(t, "s", NULL, T0 + 2000, T0 + 6000);
        ck_assert_int_eq(df_test_schedule(t, "s")->skipped, 2);
        df_test_destroy(t);
}
END_TEST

START_TEST(test_reserved_keys)
{
        df_test_t *t = new_runner(T0);
        char err[512];
        /* an execution may not take a schedule's key */
        ASSERT_RC(df_execution_id_check("schedule:x", err, sizeof(err)), DF_ERR_INVALID_ARG);
        ck_assert_str_eq(err, "execution id \"schedule:x\" is invalid: ids starting with \"schedule:\" are the keys "
                              "of schedules (duraflow schedule ...)");
        ASSERT_RC(df_execution_id_check("schedule-x", err, sizeof(err)), DF_OK);
        /* the worker refuses what is not a schedule's event on a schedule's key */
        ASSERT_RC(df_test_start(t, "job", "schedule:x", "", 0), DF_ERR_INVALID_ARG);
        ASSERT_RC(df_test_stop(t, "schedule:x"), DF_ERR_INVALID_ARG);
        NO_RUNS(t);
        /* names: hostile text is refused, quoted escaped */
        ASSERT_RC(df_schedule_name_check("a\x1b[2Jb", err, sizeof(err)), DF_ERR_INVALID_ARG);
        ck_assert_str_eq(err, "schedule name \"a\\x1B[2Jb\" is invalid: it must be 1..183 characters of A-Z a-z 0-9 . "
                              "_ : @ -");
        ASSERT_RC(df_schedule_name_check(NULL, err, sizeof(err)), DF_ERR_INVALID_ARG);
        {
                char n[DF_SCHEDULE_NAME_MAX + 2];
                memset(n, 'n', sizeof(n));
                n[DF_SCHEDULE_NAME_MAX] = '\0';
                ASSERT_RC(df_schedule_name_check(n, err, sizeof(err)), DF_OK);
                n[DF_SCHEDULE_NAME_MAX] = 'n';
                n[DF_SCHEDULE_NAME_MAX + 1] = '\0';
                ASSERT_RC(df_schedule_name_check(n, err, sizeof(err)), DF_ERR_INVALID_ARG);
        }
        df_test_destroy(t);
}
END_TEST

START_TEST(test_longest_name)
{
        /* a name of 183 characters: its runs' ids are 200 */
        df_test_t *t = new_runner(T0);
        df_schedule_def_t d = def_of("*/2 * * * * *", NULL, "job", DF_OVERLAP_SKIP);
        char n[DF_SCHEDULE_NAME_MAX + 1], id[DF_EXECUTION_ID_MAX + 1];
        memset(n, 'n', DF_SCHEDULE_NAME_MAX);
        n[DF_SCHEDULE_NAME_MAX] = '\0';
        ASSERT_RC(df_test_schedule_create(t, n, &d), DF_OK);
        df_test_advance(t, 2000);
        st_run_id(id, n, T0 + 2000);
        ck_assert_uint_eq(strlen(id), DF_EXECUTION_ID_MAX);
        ck_assert_str_eq(df_test_status(t, id), "SUCCEEDED");
        df_test_destroy(t);
}
END_TEST

/* ---- the worker's own checks: events that did not come from a client ---- */

struct captured {
        int replies, events, timers;
        df_err_t code;
        char msg[600];
};

static int cap_timer(void *opaque, const df__timer_rec_t *t)
{
        (void)t;
        ((struct captured *)opaque)->timers++;
        return 0;
}

static int cap_event(void *opaque, const df__event_t *ev)
{
        (void)ev;
        ((struct captured *)opaque)->events++;
        return 0;
}

static int cap_result(void *opaque, const df__result_rec_t *r)
{
        struct captured *c = opaque;
        c->replies++;
        c->code = (df_err_t)r->code;
        snprintf(c->msg, sizeof(c->msg), "%s", r->error ? r->error : "");
        return 0;
}

static struct captured apply(df__engine_t *eng, df__sched_state_t *s, int type, const char *key, const void *input,
                             size_t len)
{
        struct captured c;
        df__engine_out_t out;
        df__event_t ev;
        memset(&c, 0, sizeof(c));
        memset(&out, 0, sizeof(out));
        out.timer = cap_timer;
        out.event = cap_event;
        out.result = cap_result;
        out.opaque = &c;
        memset(&ev, 0, sizeof(ev));
        ev.type = type;
        ev.execution_id = (char *)key;
        ev.input.data = (uint8_t *)input;
        ev.input.len = len;
        ev.request_id = "r1";
        ck_assert_int_eq(df__schedule_apply(eng, s, &ev, &out), 0);
        return c;
}

static df__buf_t forged_def(const char *name, const char *cron, const char *zone, const char *workflow)
{
        df__sched_rec_t r;
        df__buf_t b = {0};
        char e[256];
        memset(&r, 0, sizeof(r));
        r.name = (char *)name;
        r.cron = (char *)cron;
        r.timezone = (char *)zone;
        r.workflow = (char *)workflow;
        ck_assert_msg(df__sched_encode(&r, &b, e, sizeof(e)) == 0, "%s", e);
        return b;
}

START_TEST(test_forged_events)
{
        df__engine_t *eng = df__engine_new("t.events");
        df__sched_state_t s;
        struct captured c;
        df__buf_t b;

        ck_assert_ptr_nonnull(eng);
        ASSERT_RC(df__engine_register(eng, "job", job, NULL), DF_OK);
        memset(&s, 0, sizeof(s));
        c = apply(eng, &s, DF__EV_SCHEDULE_CREATE, "schedule:f", "\xc3\x01garbage", 9);
        ck_assert_int_eq(c.code, DF_ERR_INVALID_ARG);
        ck_assert_ptr_nonnull(strstr(c.msg, "the schedule's definition does not decode"));
        b = forged_def("other", "* * * * *", "UTC", "job");
        c = apply(eng, &s, DF__EV_SCHEDULE_CREATE, "schedule:f", b.data, b.len);
        ck_assert_int_eq(c.code, DF_ERR_INVALID_ARG);
        ck_assert_str_eq(c.msg, "the definition names another schedule than its key");
        free(b.data);
        b = forged_def("f", "61 * * * *", "UTC", "job");
        c = apply(eng, &s, DF__EV_SCHEDULE_CREATE, "schedule:f", b.data, b.len);
        ck_assert_int_eq(c.code, DF_ERR_INVALID_ARG);
        ck_assert_str_eq(c.msg, "cron expression \"61 * * * *\": minute (field 1) at position 1: 61 is out of range 0-59");
        free(b.data);
        b = forged_def("f", "* * * * *", "../../etc/passwd", "job");
        c = apply(eng, &s, DF__EV_SCHEDULE_CREATE, "schedule:f", b.data, b.len);
        ck_assert_int_eq(c.code, DF_ERR_INVALID_ARG);
        ck_assert_ptr_nonnull(strstr(c.msg, "is not a name of the tz database"));
        free(b.data);
        b = forged_def("f", "* * * * *", "UTC", "w\x1b[2J");
        c = apply(eng, &s, DF__EV_SCHEDULE_CREATE, "schedule:f", b.data, b.len);
        ck_assert_int_eq(c.code, DF_ERR_INVALID_ARG);
        ck_assert_ptr_null(strchr(c.msg, '\x1b'));
        free(b.data);
        b = forged_def("f", "* * * * *", "UTC", "nope");
        c = apply(eng, &s, DF__EV_SCHEDULE_CREATE, "schedule:f", b.data, b.len);
        ck_assert_int_eq(c.code, DF_ERR_UNKNOWN_WORKFLOW);
        free(b.data);
        ck_assert(!s.exists && !s.dirty && c.timers == 0);
        /* an execution's event on a schedule's key; events of no schedule */
        c = apply(eng, &s, DF__EV_START, "schedule:f", "", 0);
        ck_assert_int_eq(c.code, DF_ERR_INVALID_ARG);
        ck_assert_str_eq(c.msg, "event type 0 is not a schedule's (schedule:f is a schedule key)");
        c = apply(eng, &s, DF__EV_SCHEDULE_FIRE, "schedule:f", "", 0);
        ck_assert(c.replies == 0 && c.events == 0 && c.timers == 0 && !s.dirty); /* a fire of no schedule: nothing */
        c = apply(eng, &s, DF__EV_SCHEDULE_RUN_DONE, "schedule:f", "", 0);
        ck_assert(c.replies == 0 && c.events == 0 && c.timers == 0 && !s.dirty);
        c = apply(eng, &s, DF__EV_SCHEDULE_TRIGGER, "schedule:f", "", 0);
        ck_assert_int_eq(c.code, DF_ERR_NOT_FOUND);
        ck_assert_int_eq(c.events, 0);
        /* a valid one, then a fire that is not the armed time */
        b = forged_def("f", "* * * * *", "", "job");
        c = apply(eng, &s, DF__EV_SCHEDULE_CREATE, "schedule:f", b.data, b.len);
        ck_assert_int_eq(c.code, DF_OK);
        ck_assert_int_eq(c.timers, 1);
        ck_assert_str_eq(s.rec.timezone, "UTC");
        free(b.data);
        {
                df__engine_out_t out;
                df__event_t ev;
                struct captured c2;
                memset(&c2, 0, sizeof(c2));
                memset(&out, 0, sizeof(out));
                out.timer = cap_timer;
                out.event = cap_event;
                out.result = cap_result;
                out.opaque = &c2;
                memset(&ev, 0, sizeof(ev));
                ev.type = DF__EV_SCHEDULE_FIRE;
                ev.execution_id = "schedule:f";
                ev.seq = s.rec.next_fire_ms + 60000;
                ck_assert_int_eq(df__schedule_apply(eng, &s, &ev, &out), 0);
                ck_assert(c2.events == 0 && c2.timers == 0 && c2.replies == 0);
                ck_assert_int_eq(s.rec.fires, 0);
        }
        df__sched_state_clear(&s);
        df__engine_destroy(eng);
}
END_TEST

/* The scenario of the crash tests: create, three fires, a pause, a trigger,
 * a resume, a fire, a delete.  Returns the runner for inspection. */
static df_test_t *scenario(int crash_at)
{
        df_test_t *t = new_runner(T0);
        df_schedule_def_t d = def_of("*/2 * * * * *", NULL, "job", DF_OVERLAP_SKIP);
        char run[DF_EXECUTION_ID_MAX + 1];
        if (crash_at)
                df_test_crash_next(t, crash_at);
        ASSERT_RC(df_test_schedule_create(t, "c", &d), DF_OK);
        advance(t, 1000, 7); /* +2, +4, +6 */
        ASSERT_RC(df_test_schedule_pause(t, "c"), DF_OK);
        ASSERT_RC(df_test_schedule_trigger(t, "c", run, sizeof(run)), DF_OK); /* +7 */
        advance(t, 1000, 2);
        ASSERT_RC(df_test_schedule_resume(t, "c"), DF_OK); /* at +9: next +10 */
        advance(t, 1000, 2);
        ASSERT_RC(df_test_schedule_delete(t, "c"), DF_OK);
        advance(t, 1000, 4);
        return t;
}

START_TEST(test_crash_at_every_boundary)
{
        /* a crash before the commit of each delivery in turn (the event is
         * delivered again): the same runs, each once, whatever it hits */
        int n, crashed = 0;
        for (n = 1; n < 200; n++) {
                df_test_t *t = scenario(n);
                if (!df_test_crashes(t)) {
                        df_test_destroy(t);
                        break;
                }
                crashed++;
                RUNS(t, "c", "SUCCEEDED", T0 + 2000, T0 + 4000, T0 + 6000, T0 + 7000, T0 + 10000);
                ck_assert_ptr_null(df_test_schedule(t, "c"));
                ck_assert_int_eq(df_test_pending_timers(t), 0);
                df_test_destroy(t);
        }
        printf("schedule crash scenario: %d deliveries, each crashed once, runs exact\n", crashed);
        /* create 1, three fires of 3 (FIRE, the run's START, its RUN_DONE), pause 1,
         * trigger 3, resume 1, a fire 3, delete 1 */
        ck_assert_int_eq(crashed, 19);
        {
                df_test_t *t = scenario(0);
                RUNS(t, "c", "SUCCEEDED", T0 + 2000, T0 + 4000, T0 + 6000, T0 + 7000, T0 + 10000);
                df_test_destroy(t);
        }
}
END_TEST

Suite *suite_schedule(void)
{
        Suite *s = suite_create("schedule");
        TCase *tc = tcase_create("schedule");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_every_two_seconds);
        tcase_add_test(tc, test_names_and_steps);
        tcase_add_test(tc, test_dst_berlin);
        tcase_add_test(tc, test_overlap_skip);
        tcase_add_test(tc, test_overlap_allow);
        tcase_add_test(tc, test_catch_up_one_fire);
        tcase_add_test(tc, test_pause_resume);
        tcase_add_test(tc, test_stale_fire_ignored);
        tcase_add_test(tc, test_delete);
        tcase_add_test(tc, test_trigger);
        tcase_add_test(tc, test_create_idempotent);
        tcase_add_test(tc, test_input_limit);
        tcase_add_test(tc, test_run_that_exists);
        tcase_add_test(tc, test_reserved_keys);
        tcase_add_test(tc, test_longest_name);
        tcase_add_test(tc, test_crash_at_every_boundary);
        tcase_add_test(tc, test_forged_events);
        suite_add_tcase(s, tc);
        return s;
}
