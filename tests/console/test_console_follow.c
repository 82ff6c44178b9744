/*
 * test_console_follow -- the console's follower on a real broker
 * ($DF_BROKERS; fails without it): it indexes what <prefix>.state holds,
 * a restart resumes from the offsets stored with the index (reads only the
 * new records), a lost index is rebuilt from the topic, and an index built
 * for a topic that was recreated (offsets beyond its end) is dropped and
 * rebuilt; a restart with another console.ingest.threads resumes too.
 * Records are produced directly (no worker), with a fresh prefix.
 */
#include <check.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "console_int.h"
#include "duraflow/console.h"
#include "kafka.h"

static char prefix[96], dir[256], idx[300];
static df_conf_t *conf;

static int rm_entry(const char *p, const struct stat *sb, int f, struct FTW *ftw)
{
        (void)sb;
        (void)f;
        (void)ftw;
        return remove(p);
}

/* Produce n Execution records exec-<from>..; flushed. */
static void produce(int from, int n)
{
        char e[512];
        rd_kafka_conf_t *kc = df__kafka_conf(conf, "console-follow-test", e, sizeof(e));
        rd_kafka_t *p;
        df__topics_t t;
        int i;
        ck_assert_ptr_nonnull(kc);
        df__topics_init(&t, conf);
        p = rd_kafka_new(RD_KAFKA_PRODUCER, kc, e, sizeof(e));
        ck_assert_ptr_nonnull(p);
        for (i = from; i < from + n; i++) {
                df__exec_rec_t x;
                df__buf_t v = {0};
                char id[64];
                snprintf(id, sizeof(id), "exec-%05d", i);
                memset(&x, 0, sizeof(x));
                x.execution_id = id;
                x.workflow = "wf";
                x.status = i % 3 ? DF__ES_SUCCEEDED : DF__ES_SUSPENDED;
                x.error = "";
                x.created_ms = 1000 + i;
                x.updated_ms = 2000 + i;
                ck_assert_int_eq(df__exec_encode(&x, &v, e, sizeof(e)), 0);
                ck_assert_int_eq(rd_kafka_producev(p, RD_KAFKA_V_TOPIC(t.state), RD_KAFKA_V_KEY(id, strlen(id)),
                                                   RD_KAFKA_V_VALUE(v.data, v.len),
                                                   RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
                                 0);
                free(v.data);
        }
        ck_assert_int_eq(rd_kafka_flush(p, 30000), 0);
        rd_kafka_destroy(p);
}

static void *run(void *c)
{
        df_console_run(c);
        return NULL;
}

/* Run a console until it indexed want executions; its figures. */
static void follow(uint64_t want, df_console_stats_t *st)
{
        char e[512];
        df_console_t *c = df_console_new(conf, e, sizeof(e));
        pthread_t th;
        int i;
        ck_assert_msg(c != NULL, "%s", e);
        pthread_create(&th, NULL, run, c);
        for (i = 0; i < 600; i++) {
                df_console_get_stats(c, st);
                if (st->executions == want && st->caught_up && st->lag == 0)
                        break;
                usleep(100000);
        }
        df_console_stop(c);
        pthread_join(th, NULL);
        df_console_get_stats(c, st);
        df_console_destroy(c);
        ck_assert_msg(st->executions == want, "indexed %llu executions, want %llu", (unsigned long long)st->executions,
                      (unsigned long long)want);
}

static void recreate_topics(void)
{
        char e[512];
        df__topics_t t;
        rd_kafka_conf_t *kc = df__kafka_conf(conf, "console-follow-admin", e, sizeof(e));
        rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, kc, e, sizeof(e));
        rd_kafka_DeleteTopic_t *del[5];
        rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
        rd_kafka_event_t *ev;
        const char *names[5];
        int i;
        df__topics_init(&t, conf);
        names[0] = t.events, names[1] = t.state, names[2] = t.timers, names[3] = t.results, names[4] = t.dlq;
        for (i = 0; i < 5; i++)
                del[i] = rd_kafka_DeleteTopic_new(names[i]);
        rd_kafka_DeleteTopics(rk, del, 5, NULL, q);
        ev = rd_kafka_queue_poll(q, 30000);
        ck_assert_ptr_nonnull(ev);
        rd_kafka_event_destroy(ev);
        rd_kafka_DeleteTopic_destroy_array(del, 5);
        rd_kafka_queue_destroy(q);
        rd_kafka_destroy(rk);
        for (i = 0; i < 100; i++) { /* deletion is asynchronous on the broker */
                if (df__topics_ensure(conf, &t, e, sizeof(e)) == 0) {
                        int64_t lo = 0, hi = 1;
                        rd_kafka_conf_t *k2 = df__kafka_conf(conf, "console-follow-probe", e, sizeof(e));
                        rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, k2, e, sizeof(e));
                        int ok = !df__watermarks(p, t.state, 0, &lo, &hi) && hi == 0;
                        rd_kafka_destroy(p);
                        if (ok)
                                return;
                }
                usleep(200000);
        }
        ck_abort_msg("topics not recreated");
}

START_TEST(resume_rebuild_recreate)
{
        const char *b = getenv("DF_BROKERS");
        char e[512];
        df__topics_t t;
        df_console_stats_t st;

        ck_assert_msg(b && *b, "DF_BROKERS is not set: this test needs a real broker (scripts/kafka.sh start)");
        ck_assert_int_eq(df__codec_init(e, sizeof(e)), 0);
        snprintf(prefix, sizeof(prefix), "dfconsolefollow-%ld-%d", (long)time(NULL), (int)getpid());
        snprintf(dir, sizeof(dir), "%s/console-follow-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        ck_assert_ptr_nonnull(mkdtemp(dir));
        snprintf(idx, sizeof(idx), "%s/index", dir);
        conf = df_conf_new();
        ck_assert_int_eq(df_conf_set(conf, "brokers", b, e, sizeof(e)), DF_OK);
        ck_assert_int_eq(df_conf_set(conf, "topic.prefix", prefix, e, sizeof(e)), DF_OK);
        ck_assert_int_eq(df_conf_set(conf, "partitions", "3", e, sizeof(e)), DF_OK);
        ck_assert_int_eq(df_conf_set(conf, "log.level", "warn", e, sizeof(e)), DF_OK);
        ck_assert_int_eq(df_conf_set(conf, "console.listen", "127.0.0.1:0", e, sizeof(e)), DF_OK);
        ck_assert_int_eq(df_conf_set(conf, "console.state.dir", idx, e, sizeof(e)), DF_OK);
        df__topics_init(&t, conf);
        ck_assert_msg(df__topics_ensure(conf, &t, e, sizeof(e)) == 0, "%s", e);

        produce(0, 300);
        follow(300, &st);
        ck_assert_int_eq(st.records, 300);
        /* a restart resumes: only the 100 new records are read */
        produce(300, 100);
        follow(400, &st);
        ck_assert_msg(st.records == 100, "restart read %llu records, want 100 (resume from stored offsets)",
                      (unsigned long long)st.records);
        /* so does a restart with another number of ingest threads (the
         * offsets are per partition, whichever thread read it) */
        ck_assert_int_eq(df_conf_set(conf, "console.ingest.threads", "1", e, sizeof(e)), DF_OK);
        produce(400, 50);
        follow(450, &st);
        ck_assert_msg(st.records == 50, "1 thread: restart read %llu records, want 50", (unsigned long long)st.records);
        ck_assert_int_eq(df_conf_set(conf, "console.ingest.threads", "3", e, sizeof(e)), DF_OK);
        produce(450, 50);
        follow(500, &st);
        ck_assert_msg(st.records == 50, "3 threads: restart read %llu records, want 50",
                      (unsigned long long)st.records);
        /* the index lost: rebuilt from the topic (3 threads, one per partition) */
        nftw(idx, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        follow(500, &st);
        ck_assert_int_eq(st.records, 500);
        /* the topic recreated with fewer records: the index is dropped, rebuilt */
        recreate_topics();
        produce(1000, 50);
        follow(50, &st);
        ck_assert_int_eq(st.records, 50);
        df_conf_destroy(conf);
        nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("console_follow");
        TCase *tc = tcase_create("follow");
        SRunner *sr;
        int nf;
        tcase_set_timeout(tc, 240);
        tcase_add_test(tc, resume_rebuild_recreate);
        suite_add_tcase(s, tc);
        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        nf = srunner_ntests_failed(sr);
        srunner_free(sr);
        return nf ? 1 : 0;
}
