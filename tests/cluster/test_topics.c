/*
 * test_topics -- how duraflow creates its topics on the cluster in
 * $DF_BROKERS (a single broker or the 3-node cluster of scripts/kafka.sh
 * --brokers 3): the replication factor, min.insync.replicas, and a clear
 * and immediate error (DF_ERR_CONF) when the cluster has fewer brokers than
 * replication.factor.  Fails (never skips) without DF_BROKERS.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "duraflow/duraflow.h"
#include "fault_common.h"

static const char *brokers;
static char prefix[128];
static int n_brokers;

static int broker_count(void)
{
        char e[512];
        const char *extra[] = {"log_level=3", NULL};
        rd_kafka_conf_t *kc = fc_kconf(brokers, extra);
        rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, kc, e, sizeof(e));
        const struct rd_kafka_metadata *md = NULL;
        int n = -1;
        ck_assert_msg(rk, "rd_kafka_new: %s", e);
        if (rd_kafka_metadata(rk, 0, NULL, &md, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR && md)
                n = md->broker_cnt;
        if (md)
                rd_kafka_metadata_destroy(md);
        rd_kafka_destroy(rk);
        return n;
}

static void setup(void)
{
        static int seq;
        brokers = getenv("DF_BROKERS");
        ck_assert_msg(brokers && *brokers, "DF_BROKERS is not set: start a broker (scripts/kafka.sh start)");
        snprintf(prefix, sizeof(prefix), "dftopics-%d-%d-%d", (int)getpid(), (int)time(NULL), seq++);
        n_brokers = broker_count();
        ck_assert_msg(n_brokers >= 1, "no metadata from %s", brokers);
}

static void teardown(void)
{
        if (brokers && *brokers)
                fc_delete_topics(brokers, prefix);
}

static df_conf_t *conf_with(const char *rf, const char *partitions)
{
        df_conf_t *c = df_conf_new();
        char e[256];
        ck_assert(c);
        ck_assert_msg(!df_conf_set(c, "brokers", brokers, e, sizeof(e)) &&
                              !df_conf_set(c, "topic.prefix", prefix, e, sizeof(e)) &&
                              !df_conf_set(c, "replication.factor", rf, e, sizeof(e)) &&
                              !df_conf_set(c, "partitions", partitions, e, sizeof(e)) &&
                              !df_conf_set(c, "startup.timeout.ms", "60000", e, sizeof(e)) &&
                              !df_conf_set(c, "log.level", "error", e, sizeof(e)),
                      "conf: %s", e);
        return c;
}

/* df_client_open; the error message in errstr; *ms how long it took */
static df_err_t open_client(df_conf_t *c, char *errstr, size_t size, int64_t *ms)
{
        df_client_t *cl = NULL;
        int64_t t0 = fc_mono_ms();
        df_err_t rc = df_client_open(c, 0, &cl, errstr, size);
        *ms = fc_mono_ms() - t0;
        df_client_destroy(cl);
        return rc;
}

/* A replication factor above the brokers the cluster has: refused at once
 * (not after startup.timeout.ms of retries), saying how many there are. */
START_TEST(rf_above_brokers)
{
        char rf[16], want[128], errstr[1024], topic[160];
        df_conf_t *c;
        int64_t ms;
        df_err_t rc;

        snprintf(rf, sizeof(rf), "%d", n_brokers + 1);
        c = conf_with(rf, "3");
        rc = open_client(c, errstr, sizeof(errstr), &ms);
        printf("rf %s on %d broker(s): %s after %lld ms: %s\n", rf, n_brokers, df_err_name(rc), (long long)ms, errstr);
        ck_assert_msg(rc == DF_ERR_CONF, "%s, want DF_ERR_CONF (a configuration the cluster cannot hold)",
                      df_err_name(rc));
        ck_assert_msg(ms < 15000, "took %lld ms: retried as if the brokers were away", (long long)ms);
        snprintf(want, sizeof(want), "replication.factor is %d but the cluster", n_brokers + 1);
        ck_assert_msg(strstr(errstr, want), "message does not say '%s': %s", want, errstr);
        snprintf(want, sizeof(want), "has %d broker%s available", n_brokers, n_brokers == 1 ? "" : "s");
        ck_assert_msg(strstr(errstr, want), "message does not say '%s': %s", want, errstr);
        ck_assert_msg(strstr(errstr, brokers), "message does not name the brokers: %s", errstr);
        df_conf_destroy(c);
        /* and nothing half-created */
        {
                rd_kafka_t *rk = fc_producer(brokers);
                snprintf(topic, sizeof(topic), "%s.events", prefix);
                ck_assert_int_eq(fc_partitions(rk, topic, 5000), -1);
                rd_kafka_destroy(rk);
        }
}
END_TEST

/* The value and source of config name of topic (DescribeConfigs). */
static void topic_config(rd_kafka_t *rk, const char *topic, const char *name, char *value, size_t size,
                         rd_kafka_ConfigSource_t *source)
{
        rd_kafka_ConfigResource_t *res = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic);
        rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
        rd_kafka_event_t *ev;
        const rd_kafka_DescribeConfigs_result_t *r;
        const rd_kafka_ConfigResource_t **rs;
        const rd_kafka_ConfigEntry_t **es;
        size_t nr, ne, i;

        *value = 0;
        *source = RD_KAFKA_CONFIG_SOURCE_UNKNOWN_CONFIG;
        rd_kafka_DescribeConfigs(rk, &res, 1, NULL, q);
        ev = rd_kafka_queue_poll(q, 15000);
        ck_assert_msg(ev, "DescribeConfigs %s: no answer", topic);
        ck_assert_msg(!rd_kafka_event_error(ev), "DescribeConfigs %s: %s", topic, rd_kafka_event_error_string(ev));
        r = rd_kafka_event_DescribeConfigs_result(ev);
        rs = rd_kafka_DescribeConfigs_result_resources(r, &nr);
        ck_assert_int_eq(nr, 1);
        es = rd_kafka_ConfigResource_configs(rs[0], &ne);
        for (i = 0; i < ne; i++)
                if (!strcmp(rd_kafka_ConfigEntry_name(es[i]), name)) {
                        snprintf(value, size, "%s", rd_kafka_ConfigEntry_value(es[i]));
                        *source = rd_kafka_ConfigEntry_source(es[i]);
                }
        rd_kafka_event_destroy(ev);
        rd_kafka_queue_destroy(q);
        rd_kafka_ConfigResource_destroy(res);
}

/* Replication factor min(brokers, 3): each of the five topics has that many
 * replicas per partition, and its own min.insync.replicas: 2 with 3
 * replicas (a commit survives the loss of one broker), 1 with one replica
 * (a cluster's default of 2 would make it unwritable). */
START_TEST(replicas_and_min_isr)
{
        static const char *kinds[5] = {"events", "state", "timers", "results", "dlq"};
        int rf = n_brokers >= 3 ? 3 : 1, i, j;
        char rfs[8], errstr[1024], topic[160], v[64];
        const char *want_isr = rf >= 3 ? "2" : "1";
        rd_kafka_ConfigSource_t src;
        df_conf_t *c;
        rd_kafka_t *rk;
        int64_t ms;

        snprintf(rfs, sizeof(rfs), "%d", rf);
        c = conf_with(rfs, "3");
        ck_assert_msg(open_client(c, errstr, sizeof(errstr), &ms) == DF_OK, "rf %d: %s", rf, errstr);
        df_conf_destroy(c);
        rk = fc_producer(brokers);
        for (i = 0; i < 5; i++) {
                const struct rd_kafka_metadata *md = NULL;
                rd_kafka_topic_t *rkt;
                snprintf(topic, sizeof(topic), "%s.%s", prefix, kinds[i]);
                rkt = rd_kafka_topic_new(rk, topic, NULL);
                ck_assert(rd_kafka_metadata(rk, 0, rkt, &md, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR);
                ck_assert_int_eq(md->topics[0].partition_cnt, 3);
                for (j = 0; j < md->topics[0].partition_cnt; j++)
                        ck_assert_msg(md->topics[0].partitions[j].replica_cnt == rf, "%s [%d]: %d replicas, want %d",
                                      topic, j, md->topics[0].partitions[j].replica_cnt, rf);
                rd_kafka_metadata_destroy(md);
                rd_kafka_topic_destroy(rkt);
                topic_config(rk, topic, "min.insync.replicas", v, sizeof(v), &src);
                printf("%s: %d replicas, min.insync.replicas %s (%s)\n", topic, rf, v, rd_kafka_ConfigSource_name(src));
                ck_assert_msg(!strcmp(v, want_isr), "%s: min.insync.replicas %s, want %s", topic, v, want_isr);
                ck_assert_msg(src == RD_KAFKA_CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG,
                              "%s: min.insync.replicas comes from %s, not the topic's own config", topic,
                              rd_kafka_ConfigSource_name(src));
        }
        rd_kafka_destroy(rk);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("topics");
        TCase *tc = tcase_create("topics");
        SRunner *sr;
        int failed;

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 90);
        tcase_add_test(tc, rf_above_brokers);
        tcase_add_test(tc, replicas_and_min_isr);
        suite_add_tcase(s, tc);
        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? 1 : 0;
}
