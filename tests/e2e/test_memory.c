/*
 * test_memory.c -- a worker's memory with a long history (issue 9, item 4),
 * against the real broker ($DF_BROKERS; fails without it).
 *
 * One execution of 2,000 steps, each returning 100 KB (195 MB of history),
 * run by a worker in this process.  Before the fix the worker held about
 * four copies of the history while running it (the execution's state, the
 * batch's output records, the RocksDB write batch, librdkafka's copies:
 * 783 MB peak measured) and kept most of it afterwards (513 MB).  Now a
 * batch commits once it holds batch.max.bytes (16 MB) of output, the
 * execution goes on in the next batch from its state kept in memory, and
 * the memory is given back when the execution ends.
 *
 * Asserted: peak RSS of the whole process (worker, timer service, client)
 * under 1.6 x the history + 100 MB; RSS 3 s after the end under 130 MB.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e_common.h"

#define STEPS 2000
#define BYTES 102400

static df_err_t big_step(df_step_t *s, void *opaque)
{
        static char buf[BYTES];
        (void)opaque;
        memset(buf, 'a' + df_step_attempt(s) % 26, sizeof(buf));
        return df_step_set_result(s, buf, sizeof(buf));
}

static df_err_t wf_long(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        char name[32];
        df_err_t rc;
        int i;
        (void)input;
        (void)opaque;
        for (i = 0; i < STEPS; i++) {
                snprintf(name, sizeof(name), "s%d", i);
                if ((rc = df_step(ctx, name, big_step, NULL, NULL, NULL)) != DF_OK)
                        return rc;
        }
        return df_ctx_set_output(ctx, "done", 4);
}

static void reg(df_worker_t *w)
{
        df_worker_register(w, "long", wf_long, NULL);
}

static long vm_kb(const char *field)
{
        FILE *f = fopen("/proc/self/status", "r");
        char line[256];
        long v = -1;
        size_t n = strlen(field);
        if (!f)
                return -1;
        while (fgets(line, sizeof(line), f))
                if (!strncmp(line, field, n) && line[n] == ':')
                        v = atol(line + n + 1);
        fclose(f);
        return v;
}

START_TEST(test_long_history_memory)
{
        e2e_env_t env;
        char err[512];
        int existed = 0, i;
        long hwm, rss, history_mb = (long)STEPS * BYTES / (1024 * 1024);
        df_worker_stats_t st;
        /* 200 MB of history: above the default history.max.bytes (100 MB) */
        const char *extra[] = {"partitions=1", "history.max.bytes=268435456", NULL};

        ck_assert_msg(getenv("DF_BROKERS") && *getenv("DF_BROKERS"),
                      "DF_BROKERS is not set: start a broker (scripts/kafka.sh start)");
        ck_assert_msg(e2e_start_conf(&env, "mem", reg, extra, err, sizeof(err)) == 0, "%s", err);
        ck_assert_int_eq(df_client_start(env.client, "long", "long-1", "", 0, &existed, err, sizeof(err)), DF_OK);
        for (i = 0; i < 240; i++) {
                df_worker_get_stats(env.worker, &st);
                if (st.executions_finished >= 1)
                        break;
                usleep(250000);
        }
        ck_assert_msg(st.executions_finished >= 1, "the execution did not finish within 60 s");
        sleep(3);
        hwm = vm_kb("VmHWM") / 1024;
        rss = vm_kb("VmRSS") / 1024;
        fprintf(stderr, "history %ld MB: peak RSS %ld MB, RSS 3 s after the end %ld MB (batches %llu)\n", history_mb,
                hwm, rss, (unsigned long long)st.batches);
        ck_assert_msg(hwm < history_mb * 16 / 10 + 100, "peak RSS %ld MB for %ld MB of history", hwm, history_mb);
        ck_assert_msg(rss < 130, "RSS %ld MB after the execution ended", rss);
        e2e_stop(&env);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("memory");
        TCase *tc = tcase_create("long-history");
        SRunner *sr;
        int failed;
        tcase_set_timeout(tc, 240);
        tcase_add_test(tc, test_long_history_memory);
        suite_add_tcase(s, tc);
        sr = srunner_create(s);
        srunner_set_fork_status(sr, CK_FORK); /* its own process: RSS of this test only */
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? 1 : 0;
}
