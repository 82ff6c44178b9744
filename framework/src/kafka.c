/*
 * kafka.c -- client configuration, topic creation and embedded mode.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kafka.h"
#include "settings.h"
#include "trace.h"

#include <librdkafka/rdkafka_mock.h>

void df__topics_init(df__topics_t *t, const df_conf_t *conf)
{
        const char *p = df_conf_get(conf, "topic.prefix");
        snprintf(t->events, sizeof(t->events), "%s.events", p);
        snprintf(t->state, sizeof(t->state), "%s.state", p);
        snprintf(t->timers, sizeof(t->timers), "%s.timers", p);
        snprintf(t->results, sizeof(t->results), "%s.results", p);
        snprintf(t->dlq, sizeof(t->dlq), "%s.dlq", p);
        t->create_partitions = atoi(df_conf_get(conf, "partitions"));
        t->partitions = t->timers_partitions = t->results_partitions = 0;
}

df_err_t df__topics_set_counts(df__topics_t *t, const int counts[5], char *errstr, size_t errstr_size)
{
        if (counts[0] != counts[1]) {
                df__errf(errstr, errstr_size,
                         "%s has %d partitions and %s %d: they must have the same count (an execution's state is "
                         "written to the partition of its events)",
                         t->events, counts[0], t->state, counts[1]);
                return DF_ERR_CONF;
        }
        t->partitions = counts[0];
        t->timers_partitions = counts[2];
        t->results_partitions = counts[3];
        return DF_OK;
}

int32_t df__topics_partition_of(const df__topics_t *t, const char *key)
{
        if (t->partitions <= 0)
                return 0; /* not learnt: callers learn the counts first */
        return rd_kafka_msg_partitioner_murmur2_random(NULL, key, strlen(key), t->partitions, NULL, NULL);
}

int df__program_init(const df_conf_t *conf, df_conf_t **own, df__settings_t *s, df__topics_t *t, char *errstr,
                     size_t errstr_size)
{
        *own = df_conf_dup(conf);
        if (!*own || df__settings_load(s, *own)) {
                df__errf(errstr, errstr_size, "out of memory");
                return -1;
        }
        if (df__codec_init(errstr, errstr_size))
                return -1;
        df_log_set_level(s->log_level);
        df__topics_init(t, *own);
        return 0;
}

/* ---------------- embedded mode: one mock cluster per process ---------------- */

static pthread_mutex_t df__mock_lock = PTHREAD_MUTEX_INITIALIZER;
static rd_kafka_t *df__mock_rk;
static rd_kafka_mock_cluster_t *df__mock;
static char df__mock_bootstrap[512];

const char *df_embedded_bootstrap(const df_conf_t *conf)
{
        const char *ret = NULL;
        pthread_mutex_lock(&df__mock_lock);
        if (!df__mock) {
                char errstr[512];
                rd_kafka_conf_t *kc = rd_kafka_conf_new();
                rd_kafka_conf_set(kc, "log_level", "3", errstr, sizeof(errstr));
                df__mock_rk = rd_kafka_new(RD_KAFKA_PRODUCER, kc, errstr, sizeof(errstr));
                if (!df__mock_rk) {
                        rd_kafka_conf_destroy(kc);
                        df__log(DF__LOG_ERROR, "embedded mode: %s", errstr);
                        goto out;
                }
                df__mock = rd_kafka_mock_cluster_new(df__mock_rk, 1);
                if (!df__mock) {
                        df__log(DF__LOG_ERROR, "embedded mode: cannot start the mock cluster");
                        rd_kafka_destroy(df__mock_rk);
                        df__mock_rk = NULL;
                        goto out;
                }
                snprintf(df__mock_bootstrap, sizeof(df__mock_bootstrap), "%s",
                         rd_kafka_mock_cluster_bootstraps(df__mock));
                df__log(DF__LOG_INFO, "embedded mode: in-process Kafka mock cluster at %s", df__mock_bootstrap);
                (void)conf;
        }
        ret = df__mock_bootstrap;
out:
        pthread_mutex_unlock(&df__mock_lock);
        return ret;
}

static int df__embedded(const df_conf_t *conf)
{
        const char *b = df_conf_get(conf, "brokers");
        return !b || !*b;
}

/* ---------------- client configuration ---------------- */

int df__kconf_set(rd_kafka_conf_t *kc, const char *name, const char *value, char *errstr, size_t errstr_size)
{
        char e[512];
        if (rd_kafka_conf_set(kc, name, value, e, sizeof(e)) != RD_KAFKA_CONF_OK) {
                df__errf(errstr, errstr_size, "Kafka property %s=%s: %s", name, value, e);
                return -1;
        }
        return 0;
}

struct df__kpass {
        rd_kafka_conf_t *kc;
        char *errstr;
        size_t errstr_size;
        int failed;
};

static void df__kpass_one(const char *name, const char *value, void *opaque)
{
        struct df__kpass *p = opaque;
        if (!p->failed && df__kconf_set(p->kc, name, value, p->errstr, p->errstr_size))
                p->failed = 1;
}

int df__kconf_user(rd_kafka_conf_t *kc, const df_conf_t *conf, char *errstr, size_t errstr_size)
{
        struct df__kpass pass = {kc, errstr, errstr_size, 0};
        df__conf_foreach_kafka(conf, df__kpass_one, &pass);
        return pass.failed ? -1 : 0;
}

rd_kafka_conf_t *df__kafka_conf(const df_conf_t *conf, const char *client_id, char *errstr, size_t errstr_size)
{
        rd_kafka_conf_t *kc = rd_kafka_conf_new();
        const char *bootstrap = df_conf_get(conf, "brokers");
        if (df__embedded(conf)) {
                bootstrap = df_embedded_bootstrap(conf);
                if (!bootstrap) {
                        df__errf(errstr, errstr_size, "embedded mode: the in-process mock cluster did not start");
                        goto fail;
                }
        }
        if (df__kconf_set(kc, "bootstrap.servers", bootstrap, errstr, errstr_size) ||
            df__kconf_set(kc, "client.id", client_id, errstr, errstr_size) ||
            df__kconf_set(kc, "message.max.bytes", "2000000", errstr, errstr_size) ||
            df__kconf_set(kc, "log_level", df__log_level >= DF__LOG_DEBUG ? "7" : "4", errstr, errstr_size))
                goto fail;
        if (df__kconf_user(kc, conf, errstr, errstr_size))
                goto fail;
        return kc;
fail:
        rd_kafka_conf_destroy(kc);
        return NULL;
}

df_err_t df_conf_check(const df_conf_t *conf, char *errstr, size_t errstr_size)
{
        rd_kafka_conf_t *kc;
        if (!conf) {
                df__errf(errstr, errstr_size, "NULL conf");
                return DF_ERR_INVALID_ARG;
        }
        /* the kafka.* properties on a conf of their own: no embedded
         * cluster is started for a check */
        kc = rd_kafka_conf_new();
        if (df__kconf_user(kc, conf, errstr, errstr_size)) {
                rd_kafka_conf_destroy(kc);
                return DF_ERR_CONF;
        }
        rd_kafka_conf_destroy(kc);
        return DF_OK;
}

/* ---------------- topics ---------------- */

static df_err_t df__topics_create(const df_conf_t *conf, df__topics_t *t, char *errstr, size_t errstr_size);

df_err_t df__topics_ensure(const df_conf_t *conf, df__topics_t *t, char *errstr, size_t errstr_size)
{
        int64_t deadline = df__mono_ms() + atoll(df_conf_get(conf, "startup.timeout.ms"));
        int backoff = 500;
        rd_kafka_conf_t *kc;

        /* A configuration error (a mistyped kafka.* property) is final:
         * report it at once instead of retrying as if the broker were away. */
        if (!df__embedded(conf)) {
                kc = df__kafka_conf(conf, "duraflow-admin", errstr, errstr_size);
                if (!kc)
                        return DF_ERR_CONF;
                rd_kafka_conf_destroy(kc);
        }
        for (;;) {
                df_err_t rc = df__topics_create(conf, t, errstr, errstr_size);
                if (rc != DF_ERR_KAFKA)
                        return rc;
                if (df__mono_ms() + backoff > deadline)
                        return rc;
                df__log(DF__LOG_WARN, "not ready: %s; retrying in %d ms", errstr, backoff);
                usleep((useconds_t)backoff * 1000);
                if (backoff < 5000)
                        backoff *= 2;
        }
}

/*
 * A topic just created (by us or by another process a moment ago) is not
 * usable until the broker's metadata lists every partition with a leader:
 * wait for that (up to 15 s), so that nothing is produced or consumed
 * against a half-created topic.  0 when every topic is ready.
 */
int df__topics_wait_leaders(rd_kafka_t *rk, const char *const *names, int n, int *counts, char *errstr,
                            size_t errstr_size)
{
        int64_t deadline = df__mono_ms() + 15000;
        int i, j;

        for (i = 0; i < n; i++) {
                rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, names[i], NULL);
                const char *why = "no metadata";
                for (;;) {
                        const struct rd_kafka_metadata *md = NULL;
                        int ready = 0;
                        if (rkt && rd_kafka_metadata(rk, 0, rkt, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR && md) {
                                if (md->topic_cnt == 1 && !md->topics[0].err && md->topics[0].partition_cnt > 0) {
                                        ready = 1;
                                        for (j = 0; j < md->topics[0].partition_cnt; j++)
                                                if (md->topics[0].partitions[j].err ||
                                                    md->topics[0].partitions[j].leader < 0)
                                                        ready = 0;
                                        why = "a partition has no leader";
                                } else if (md->topic_cnt == 1) {
                                        why = rd_kafka_err2str(md->topics[0].err);
                                }
                        }
                        if (ready && counts)
                                counts[i] = md->topics[0].partition_cnt;
                        if (md)
                                rd_kafka_metadata_destroy(md);
                        if (ready)
                                break;
                        if (df__mono_ms() > deadline) {
                                df__errf(errstr, errstr_size, "topic %s not ready within 15 s: %s", names[i], why);
                                if (rkt)
                                        rd_kafka_topic_destroy(rkt);
                                return -1;
                        }
                        usleep(100000);
                }
                rd_kafka_topic_destroy(rkt);
        }
        return 0;
}

/*
 * A topic could not be created with replication.factor replicas: say how
 * many brokers the cluster has now (their ids) and what to do.
 */
static void df__too_few_brokers(rd_kafka_t *rk, const df_conf_t *conf, const char *topic, int rf, const char *why,
                                char *errstr, size_t errstr_size)
{
        const struct rd_kafka_metadata *md = NULL;
        char ids[128] = "";
        int n = -1, i;
        size_t len = 0;

        if (rd_kafka_metadata(rk, 0, NULL, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR && md) {
                n = md->broker_cnt;
                for (i = 0; i < md->broker_cnt && len + 16 < sizeof(ids); i++)
                        len += (size_t)snprintf(ids + len, sizeof(ids) - len, "%s%d", i ? ", " : "",
                                                (int)md->brokers[i].id);
        }
        if (md)
                rd_kafka_metadata_destroy(md);
        if (n >= 0)
                df__errf(errstr, errstr_size,
                         "creating topic %s: replication.factor is %d but the cluster at %s has %d broker%s "
                         "available (id%s %s): start more brokers or set replication.factor to at most %d (%s)",
                         topic, rf, df_conf_get(conf, "brokers"), n, n == 1 ? "" : "s", n == 1 ? "" : "s", ids,
                         n > 0 ? n : 1, why);
        else
                df__errf(errstr, errstr_size,
                         "creating topic %s: replication.factor is %d, more than the brokers the cluster at %s "
                         "has available (%s)",
                         topic, rf, df_conf_get(conf, "brokers"), why);
}

/* Create what is missing (DF_ERR_KAFKA: try again), then learn every
 * topic's partition count (DF_ERR_CONF when events and state differ, or
 * when the cluster has fewer brokers than replication.factor: waiting does
 * not change either). */
static df_err_t df__topics_create(const df_conf_t *conf, df__topics_t *t, char *errstr, size_t errstr_size)
{
        const char *names[5] = {t->events, t->state, t->timers, t->results, t->dlq};
        const int compact[5] = {0, 1, 1, 0, 0};
        int rf = atoi(df_conf_get(conf, "replication.factor"));
        int counts[5] = {0};
        rd_kafka_NewTopic_t *nt[5] = {0};
        rd_kafka_conf_t *kc;
        rd_kafka_t *rk = NULL;
        rd_kafka_queue_t *q = NULL;
        rd_kafka_event_t *ev = NULL;
        rd_kafka_AdminOptions_t *opts = NULL;
        char e[512];
        df_err_t ret = DF_ERR_KAFKA;
        int i;

        if (df__embedded(conf)) {
                if (!df_embedded_bootstrap(conf)) {
                        df__errf(errstr, errstr_size, "embedded mode: the in-process mock cluster did not start");
                        return DF_ERR_KAFKA;
                }
                /* a topic that exists keeps its partitions */
                pthread_mutex_lock(&df__mock_lock);
                for (i = 0; i < 5; i++)
                        rd_kafka_mock_topic_create(df__mock, names[i], t->create_partitions, 1);
                pthread_mutex_unlock(&df__mock_lock);
        }
        kc = df__kafka_conf(conf, "duraflow-admin", errstr, errstr_size);
        if (!kc)
                return DF_ERR_CONF;
        rk = rd_kafka_new(RD_KAFKA_PRODUCER, kc, e, sizeof(e));
        if (!rk) {
                rd_kafka_conf_destroy(kc);
                df__errf(errstr, errstr_size, "admin client: %s", e);
                return DF_ERR_CONF;
        }
        if (df__embedded(conf))
                goto learn;
        for (i = 0; i < 5; i++) {
                nt[i] = rd_kafka_NewTopic_new(names[i], t->create_partitions, rf, e, sizeof(e));
                if (!nt[i]) {
                        df__errf(errstr, errstr_size, "topic %s: %s", names[i], e);
                        ret = DF_ERR_CONF;
                        goto out;
                }
                rd_kafka_NewTopic_set_config(nt[i], "cleanup.policy", compact[i] ? "compact" : "delete");
                rd_kafka_NewTopic_set_config(nt[i], "max.message.bytes", "2097152");
                /* with 3 replicas or more, a write is acknowledged (and a
                 * transaction commits) only once 2 of them have it: one
                 * broker lost never loses a committed record */
                if (rf >= 3)
                        rd_kafka_NewTopic_set_config(nt[i], "min.insync.replicas", "2");
                /* one replica: a broker default above 1 (a cluster's 2)
                 * would make the topic unwritable with acks=all */
                if (rf == 1)
                        rd_kafka_NewTopic_set_config(nt[i], "min.insync.replicas", "1");
                if (compact[i])
                        rd_kafka_NewTopic_set_config(nt[i], "min.compaction.lag.ms", "0");
                if (i == 3) /* results: results.retention.ms */
                        rd_kafka_NewTopic_set_config(nt[i], "retention.ms", df_conf_get(conf, "results.retention.ms"));
        }
        q = rd_kafka_queue_new(rk);
        opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
        rd_kafka_AdminOptions_set_operation_timeout(opts, 10000, e, sizeof(e));
        rd_kafka_AdminOptions_set_request_timeout(opts, 12000, e, sizeof(e));
        rd_kafka_CreateTopics(rk, nt, 5, opts, q);
        ev = rd_kafka_queue_poll(q, 15000);
        if (!ev) {
                df__errf(errstr, errstr_size, "creating topics: no answer from %s within 15 s",
                         df_conf_get(conf, "brokers"));
                goto out;
        }
        if (rd_kafka_event_error(ev)) {
                df__errf(errstr, errstr_size, "creating topics: %s", rd_kafka_event_error_string(ev));
                goto out;
        } else {
                const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
                size_t n, j;
                const rd_kafka_topic_result_t **tr = rd_kafka_CreateTopics_result_topics(res, &n);
                for (j = 0; j < n; j++) {
                        rd_kafka_resp_err_t err = rd_kafka_topic_result_error(tr[j]);
                        if (err == RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR) {
                                df__too_few_brokers(rk, conf, rd_kafka_topic_result_name(tr[j]), rf,
                                                    rd_kafka_topic_result_error_string(tr[j]), errstr, errstr_size);
                                ret = DF_ERR_CONF;
                                goto out;
                        }
                        if (err && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
                                df__errf(errstr, errstr_size, "creating topic %s: %s",
                                         rd_kafka_topic_result_name(tr[j]), rd_kafka_topic_result_error_string(tr[j]));
                                goto out;
                        }
                }
        }
learn:
        if (df__topics_wait_leaders(rk, names, 5, counts, errstr, errstr_size) == 0)
                ret = df__topics_set_counts(t, counts, errstr, errstr_size);
        /* A partition of a topic just created can have a leader in the
         * metadata before that broker has created its log (160 ms seen for
         * the last of 30 partitions); two starts produced into that window
         * were acknowledged yet never stored (tests/fault/soak.sh, the
         * loader racing topic creation).  Produce only once every partition
         * of <prefix>.events answers a ListOffsets from its leader. */
        for (i = 0; ret == DF_OK && !df__embedded(conf) && i < counts[0]; i++) {
                int64_t lo, hi;
                rd_kafka_resp_err_t werr = df__watermarks(rk, names[0], i, &lo, &hi);
                if (werr) {
                        df__errf(errstr, errstr_size, "topic %s partition %d is not ready: %s", names[0], i,
                                 rd_kafka_err2str(werr));
                        ret = DF_ERR_KAFKA;
                }
        }
out:
        if (ev)
                rd_kafka_event_destroy(ev);
        if (opts)
                rd_kafka_AdminOptions_destroy(opts);
        if (q)
                rd_kafka_queue_destroy(q);
        for (i = 0; i < 5; i++)
                if (nt[i])
                        rd_kafka_NewTopic_destroy(nt[i]);
        rd_kafka_destroy(rk);
        return ret;
}

rd_kafka_resp_err_t df__watermarks(rd_kafka_t *rk, const char *topic, int32_t part, int64_t *lo, int64_t *hi)
{
        int64_t deadline = df__mono_ms() + 15000;
        rd_kafka_resp_err_t err;
        for (;;) {
                err = rd_kafka_query_watermark_offsets(rk, topic, part, lo, hi, 5000);
                if (!err)
                        return err;
                /* A topic just created has no leader for a moment. */
                if (err != RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION &&
                    err != RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE &&
                    err != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART && err != RD_KAFKA_RESP_ERR__TIMED_OUT &&
                    err != RD_KAFKA_RESP_ERR__TRANSPORT && err != RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION &&
                    err != RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT)
                        return err;
                if (df__mono_ms() > deadline)
                        return err;
                if (err == RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION || err == RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE) {
                        /* the leader moved (a broker lost or restarted): a
                         * metadata request refreshes librdkafka's cache, or
                         * it keeps asking the old leader (seen for minutes) */
                        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
                        const struct rd_kafka_metadata *md = NULL;
                        if (rkt && rd_kafka_metadata(rk, 0, rkt, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR && md)
                                rd_kafka_metadata_destroy(md);
                        if (rkt)
                                rd_kafka_topic_destroy(rkt);
                }
                usleep(200000);
        }
}

rd_kafka_t *df__txn_producer_new(const df_conf_t *conf, const char *client_id, const char *txid,
                                 void (*dr_cb)(rd_kafka_t *, const rd_kafka_message_t *, void *), void *opaque,
                                 char *errstr, size_t errstr_size)
{
        rd_kafka_conf_t *kc = df__kafka_conf(conf, client_id, errstr, errstr_size);
        rd_kafka_error_t *error;
        rd_kafka_t *rk;
        char e[512];
        int i;

        if (!kc)
                return NULL;
        /* librdkafka's 100 ms retry backoff stalls back-to-back transactions
         * (CONCURRENT_TRANSACTIONS retries) */
        if (df__kconf_set(kc, "partitioner", "murmur2_random", errstr, errstr_size) ||
            df__kconf_set(kc, "retry.backoff.ms", "10", errstr, errstr_size) ||
            df__kconf_set(kc, "transactional.id", txid, errstr, errstr_size) ||
            df__kconf_set(kc, "transaction.timeout.ms", df_conf_get(conf, "transaction.timeout.ms"), errstr,
                          errstr_size) ||
            df__kconf_set(kc, "linger.ms", "1", errstr, errstr_size) || df__kconf_user(kc, conf, errstr, errstr_size)) {
                rd_kafka_conf_destroy(kc);
                return NULL;
        }
        if (dr_cb)
                rd_kafka_conf_set_dr_msg_cb(kc, dr_cb);
        rd_kafka_conf_set_opaque(kc, opaque);
        rk = rd_kafka_new(RD_KAFKA_PRODUCER, kc, e, sizeof(e));
        if (!rk) {
                rd_kafka_conf_destroy(kc);
                df__errf(errstr, errstr_size, "producer %s: %s", txid, e);
                return NULL;
        }
        for (i = 0;; i++) {
                error = rd_kafka_init_transactions(rk, 30000);
                if (!error)
                        return rk;
                if (!rd_kafka_error_is_retriable(error) || i >= 10) {
                        df__errf(errstr, errstr_size, "init_transactions (%s): %s", txid, rd_kafka_error_string(error));
                        rd_kafka_error_destroy(error);
                        rd_kafka_destroy(rk);
                        return NULL;
                }
                df__log(DF__LOG_WARN, "init_transactions (%s): %s; retrying", txid, rd_kafka_error_string(error));
                rd_kafka_error_destroy(error);
        }
}

rd_kafka_conf_t *df__group_consumer_conf(const df_conf_t *conf, const df__settings_t *s, const char *client_id,
                                         const char *group, int eof, char *errstr, size_t errstr_size)
{
        rd_kafka_conf_t *kc = df__kafka_conf(conf, client_id, errstr, errstr_size);
        char session[32];

        if (!kc)
                return NULL;
        snprintf(session, sizeof(session), "%lld", (long long)s->session_timeout_ms);
        if (df__kconf_set(kc, "group.id", group, errstr, errstr_size) ||
            df__kconf_set(kc, "enable.auto.commit", "false", errstr, errstr_size) ||
            df__kconf_set(kc, "auto.offset.reset", "earliest", errstr, errstr_size) ||
            df__kconf_set(kc, "isolation.level", "read_committed", errstr, errstr_size) ||
            df__kconf_set(kc, "session.timeout.ms", session, errstr, errstr_size) ||
            df__kconf_set(kc, "heartbeat.interval.ms", "1000", errstr, errstr_size) ||
            /* a long poll: a fetch returns as soon as a record arrives, so
             * this costs no latency, and an idle member costs the broker
             * two fetches a second instead of a hundred */
            df__kconf_set(kc, "fetch.wait.max.ms", DF__FETCH_WAIT_MS, errstr, errstr_size) ||
            (eof && df__kconf_set(kc, "enable.partition.eof", "true", errstr, errstr_size)) ||
            /* static membership (KIP-345): a restart with the same worker.id
             * gets its partitions back at once instead of after session.timeout.ms */
            (s->stable_id && df__kconf_set(kc, "group.instance.id", s->instance_id, errstr, errstr_size))) {
                rd_kafka_conf_destroy(kc);
                return NULL;
        }
        return kc;
}

int df__consumer_replace_allowed(int64_t *window_ms, int *count, const char *who)
{
        int64_t now = df__mono_ms();
        if (now - *window_ms > 60000) {
                *window_ms = now;
                *count = 0;
        }
        if (++*count > 3) {
                df__log(DF__LOG_ERROR, "%s: the group consumer keeps failing fatally: stopping", who);
                return -1;
        }
        df__log(DF__LOG_WARN, "%s: recreating the group consumer", who);
        return 0;
}

rd_kafka_t *df__consumer_until_ready(rd_kafka_t *(*make)(void *arg, char *errstr, size_t errstr_size), void *arg,
                                     const char *topic, const char *who, volatile int *stop)
{
        char errstr[512];
        for (;;) {
                rd_kafka_t *c = make(arg, errstr, sizeof(errstr));
                if (c && df__subscribe(c, topic, who) == DF_OK)
                        return c;
                if (c)
                        rd_kafka_destroy(c);
                if (*stop)
                        return NULL;
                df__log(DF__LOG_WARN, "%s: consumer not ready: %s; retrying in 1 s", who, errstr);
                sleep(1);
        }
}

df_err_t df__subscribe(rd_kafka_t *consumer, const char *topic, const char *who)
{
        rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
        rd_kafka_resp_err_t err;

        rd_kafka_topic_partition_list_add(sub, topic, RD_KAFKA_PARTITION_UA);
        err = rd_kafka_subscribe(consumer, sub);
        rd_kafka_topic_partition_list_destroy(sub);
        if (err) {
                df__log(DF__LOG_ERROR, "%s: subscribe %s: %s", who, topic, rd_kafka_err2str(err));
                return DF_ERR_KAFKA;
        }
        df__log(DF__LOG_INFO, "%s: consuming %s", who, topic);
        return DF_OK;
}

void df__kafka_traceparent(const rd_kafka_message_t *m, char *out)
{
        rd_kafka_headers_t *hdrs = NULL;
        const void *v = NULL;
        size_t n = 0;
        df__traceparent_t tp;

        out[0] = '\0';
        if (rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR ||
            rd_kafka_header_get_last(hdrs, "traceparent", &v, &n) != RD_KAFKA_RESP_ERR_NO_ERROR || !v)
                return;
        if (df__traceparent_parse(v, n, &tp, NULL, 0) != DF_OK)
                return; /* not a traceparent: as if there were none */
        df__traceparent_format(&tp, out);
}

rd_kafka_t *df__group_consumer_open(rd_kafka_conf_t *kc, const df_conf_t *conf,
                                    void (*rebalance_cb)(rd_kafka_t *, rd_kafka_resp_err_t,
                                                         rd_kafka_topic_partition_list_t *, void *),
                                    void *opaque, const char *what, char *errstr, size_t errstr_size)
{
        char e[512];
        rd_kafka_t *rk;

        if (df__kconf_user(kc, conf, errstr, errstr_size)) {
                rd_kafka_conf_destroy(kc);
                return NULL;
        }
        rd_kafka_conf_set_rebalance_cb(kc, rebalance_cb);
        rd_kafka_conf_set_opaque(kc, opaque);
        rk = rd_kafka_new(RD_KAFKA_CONSUMER, kc, e, sizeof(e));
        if (!rk) {
                df__errf(errstr, errstr_size, "%s: %s", what, e);
                rd_kafka_conf_destroy(kc);
                return NULL;
        }
        rd_kafka_poll_set_consumer(rk);
        return rk;
}
