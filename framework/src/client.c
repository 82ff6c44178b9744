/*
 * client.c -- the control client: start, callback, stop (events to the
 * workers, replies on <prefix>.results), describe / history / list (typed
 * structures read from the <prefix>.state changelog, one partition at a
 * time, never the whole topic in memory).
 */
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "schedule.h"
#include "text.h"
#include "trace.h"

/* Delivery reports: a message librdkafka gave up on must not be reported
 * acknowledged (rd_kafka_flush also returns once messages have failed). */
static void df__client_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
        df_client_t *c = opaque;
        (void)rk;
        if (m->err) {
                c->last_err = m->err;
                __atomic_add_fetch(&c->failed, 1, __ATOMIC_SEQ_CST);
        }
}

/* The client's idempotent producer (murmur2_random, as every producer of
 * <prefix>.events).  NULL with errstr. */
static rd_kafka_t *df__client_producer_new(df_client_t *c, char *errstr, size_t errstr_size)
{
        rd_kafka_conf_t *kc = df__kafka_conf(c->conf, "duraflow-client", errstr, errstr_size);
        rd_kafka_t *rk;
        char e[512];

        if (!kc)
                return NULL;
        if (df__kconf_set(kc, "partitioner", "murmur2_random", errstr, errstr_size) ||
            df__kconf_set(kc, "retry.backoff.ms", "10", errstr, errstr_size) ||
            df__kconf_set(kc, "enable.idempotence", "true", errstr, errstr_size) ||
            df__kconf_set(kc, "linger.ms", "1", errstr, errstr_size) ||
            df__kconf_user(kc, c->conf, errstr, errstr_size)) {
                rd_kafka_conf_destroy(kc);
                return NULL;
        }
        rd_kafka_conf_set_dr_msg_cb(kc, df__client_dr);
        rd_kafka_conf_set_opaque(kc, c);
        rk = rd_kafka_new(RD_KAFKA_PRODUCER, kc, e, sizeof(e));
        if (!rk) {
                rd_kafka_conf_destroy(kc);
                df__errf(errstr, errstr_size, "client producer: %s", e);
        }
        return rk;
}

void df__client_recover(df_client_t *c)
{
        char why[512], errstr[512];
        rd_kafka_t *old = c->producer, *rk;

        if (!old || !rd_kafka_fatal_error(old, why, sizeof(why)))
                return;
        if (c->n_retired == (int)(sizeof(c->retired) / sizeof(c->retired[0]))) {
                df__log(DF__LOG_ERROR, "client: fatal producer error (%s), replaced %d times already: giving up",
                        why, c->n_retired);
                return;
        }
        df__log(DF__LOG_WARN, "client: fatal producer error (%s): recreating the producer; what it held is "
                              "reported as not delivered",
                why);
        rk = df__client_producer_new(c, errstr, sizeof(errstr));
        if (!rk) {
                df__log(DF__LOG_ERROR, "client: cannot recreate the producer: %s", errstr);
                return;
        }
        /* the old one's messages: purged, their delivery reports count them failed */
        rd_kafka_purge(old, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_poll(old, 0);
        __atomic_add_fetch(&c->failed, 1, __ATOMIC_SEQ_CST); /* at least the one that failed */
        c->retired[c->n_retired++] = old;
        __atomic_store_n(&c->producer, rk, __ATOMIC_SEQ_CST);
}

/* Flush, then tell whether every message since the last check was delivered. */
df_err_t df__client_flush(df_client_t *c, int timeout_ms, char *errstr, size_t errstr_size)
{
        int failed;
        if (rd_kafka_flush(c->producer, timeout_ms)) {
                df__errf(errstr, errstr_size, "not acknowledged by Kafka within %d ms", timeout_ms);
                return DF_ERR_DEADLINE;
        }
        failed = __atomic_exchange_n(&c->failed, 0, __ATOMIC_SEQ_CST);
        if (failed) {
                df__errf(errstr, errstr_size, "%d message(s) not delivered: %s", failed, rd_kafka_err2str(c->last_err));
                return DF_ERR_KAFKA;
        }
        return DF_OK;
}

/* ---------------- opening: are the brokers there, do the topics exist? ---------------- */

/* The probe handle's librdkafka logs and errors: connection failures are
 * expected while the brokers are away and are reported once, in errstr,
 * instead of a stream of FAIL lines on stderr. */
struct df__probe {
        char last_error[256];
};

static void df__probe_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
        (void)rk;
        (void)level;
        df__log(DF__LOG_DEBUG, "librdkafka %s: %s", fac, buf);
}

static void df__probe_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
        struct df__probe *p = opaque;
        (void)rk;
        /* "1/1 brokers are down" says less than the connect failure before it */
        if (err != RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN || !p->last_error[0])
                snprintf(p->last_error, sizeof(p->last_error), "%s", reason);
}

/*
 * Ask the brokers which of the five topics exist, waiting for an answer
 * until "startup.timeout.ms" (at least one attempt; each attempt up to 5 s).
 * The metadata request lists every topic: naming ours could make a broker
 * with auto.create.topics.enable create them with the wrong settings.
 * *missing: bit i set when names[i] does not exist; counts[i]: the
 * partitions of names[i] (0 when missing).
 * DF_OK; DF_ERR_CONF (a kafka.* property librdkafka refuses); DF_ERR_KAFKA
 * (no answer: errstr names the brokers and the last connection error).
 */
static df_err_t df__client_probe(const df_conf_t *conf, const char *const names[5], int *missing, int counts[5],
                                 char *errstr, size_t errstr_size)
{
        const char *brokers = df_conf_get(conf, "brokers");
        int64_t budget = atoll(df_conf_get(conf, "startup.timeout.ms"));
        int64_t deadline = df__mono_ms() + budget;
        struct df__probe probe = {""};
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_resp_err_t err;
        rd_kafka_conf_t *kc;
        rd_kafka_t *rk;
        char e[512];
        int i, j;

        if ((!brokers || !*brokers) && !df_embedded_bootstrap(conf)) {
                df__errf(errstr, errstr_size, "embedded mode: the in-process mock cluster did not start");
                return DF_ERR_KAFKA;
        }
        kc = df__kafka_conf(conf, "duraflow-client-probe", errstr, errstr_size);
        if (!kc)
                return DF_ERR_CONF;
        rd_kafka_conf_set_log_cb(kc, df__probe_log);
        rd_kafka_conf_set_error_cb(kc, df__probe_error);
        rd_kafka_conf_set_opaque(kc, &probe);
        rk = rd_kafka_new(RD_KAFKA_PRODUCER, kc, e, sizeof(e));
        if (!rk) {
                rd_kafka_conf_destroy(kc);
                df__errf(errstr, errstr_size, "Kafka client: %s", e);
                return DF_ERR_CONF;
        }
        for (;;) {
                int64_t left = deadline - df__mono_ms();
                int attempt = left > 5000 ? 5000 : left < 1000 ? 1000 : (int)left;
                int64_t t0 = df__mono_ms();
                err = rd_kafka_metadata(rk, 1, NULL, &md, attempt);
                rd_kafka_poll(rk, 0); /* serves the error callback */
                if (!err || df__mono_ms() >= deadline)
                        break;
                if (df__mono_ms() - t0 < 100)
                        usleep(100000); /* an immediate refusal: do not spin */
        }
        if (err) {
                df__errf(errstr, errstr_size, "no answer from Kafka at %s within %lld ms (startup.timeout.ms): %s",
                         brokers && *brokers ? brokers : "(embedded)", (long long)(budget > 1000 ? budget : 1000),
                         probe.last_error[0] ? probe.last_error : rd_kafka_err2str(err));
                rd_kafka_destroy(rk);
                return DF_ERR_KAFKA;
        }
        *missing = 0;
        for (i = 0; i < 5; i++) {
                int found = 0;
                counts[i] = 0;
                for (j = 0; j < md->topic_cnt && !found; j++) {
                        found = !md->topics[j].err && !strcmp(md->topics[j].topic, names[i]) &&
                                md->topics[j].partition_cnt > 0;
                        if (found)
                                counts[i] = md->topics[j].partition_cnt;
                }
                if (!found)
                        *missing |= 1 << i;
        }
        rd_kafka_metadata_destroy(md);
        rd_kafka_destroy(rk);
        return DF_OK;
}

df_err_t df_client_open(const df_conf_t *conf, unsigned flags, df_client_t **out, char *errstr, size_t errstr_size)
{
        const char *brokers;
        df_client_t *c;
        df_err_t rc = DF_ERR_CONF;

        if (out)
                *out = NULL;
        if (!conf || !out || (flags & ~(unsigned)DF_CLIENT_NO_CREATE_TOPICS)) {
                df__errf(errstr, errstr_size, "df_client_open: NULL conf or out, or unknown flags 0x%x", flags);
                return DF_ERR_INVALID_ARG;
        }
        c = calloc(1, sizeof(*c));
        if (!c) {
                df__errf(errstr, errstr_size, "out of memory");
                return DF_ERR_NOMEM;
        }
        pthread_mutex_init(&c->lock, NULL);
        c->conf = df_conf_dup(conf);
        if (!c->conf) {
                df__errf(errstr, errstr_size, "out of memory");
                rc = DF_ERR_NOMEM;
                goto fail;
        }
        if (df__codec_init(errstr, errstr_size)) {
                rc = DF_ERR_CODEC;
                goto fail;
        }
        df_log_set_level(df_conf_get(conf, "log.level"));
        df__topics_init(&c->t, conf);
        c->timeout_ms = atoi(df_conf_get(conf, "client.timeout.ms"));
        brokers = df_conf_get(conf, "brokers");
        /* Embedded mode creates its topics in-process: nothing to wait for. */
        if ((flags & DF_CLIENT_NO_CREATE_TOPICS) || (brokers && *brokers)) {
                const char *names[5] = {c->t.events, c->t.state, c->t.timers, c->t.results, c->t.dlq};
                int missing = 0, counts[5], i;
                rc = df__client_probe(conf, names, &missing, counts, errstr, errstr_size);
                if (rc != DF_OK)
                        goto fail;
                if ((flags & DF_CLIENT_NO_CREATE_TOPICS) && missing) {
                        const char *where = brokers && *brokers ? brokers : "the embedded cluster";
                        const char *prefix = df_conf_get(conf, "topic.prefix");
                        if (missing == 0x1f) {
                                df__errf(errstr, errstr_size, "no duraflow topics with prefix \"%s\" on %s", prefix,
                                         where);
                        } else {
                                char list[1400] = "";
                                for (i = 0; i < 5; i++)
                                        if (missing & (1 << i))
                                                snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
                                                         *list ? ", " : "", names[i]);
                                df__errf(errstr, errstr_size, "duraflow topics missing on %s: %s", where, list);
                        }
                        rc = DF_ERR_NOT_FOUND;
                        goto fail;
                }
                /* the counts the topics have, whoever created them */
                if (!missing && (rc = df__topics_set_counts(&c->t, counts, errstr, errstr_size)) != DF_OK)
                        goto fail;
        }
        if (!(flags & DF_CLIENT_NO_CREATE_TOPICS) &&
            (rc = df__topics_ensure(conf, &c->t, errstr, errstr_size)) != DF_OK)
                goto fail;
        rc = DF_ERR_CONF;
        c->producer = df__client_producer_new(c, errstr, errstr_size);
        if (!c->producer)
                goto fail;
        /* Learn <prefix>.events' partitions now: librdkafka otherwise holds
         * the first message of a topic it has no metadata for until its
         * 1-second topic scan (every CLI start, stop or callback took 1 s).
         * Not fatal: the scan still finds them. */
        {
                const char *events = c->t.events;
                char e[256];
                if (df__topics_wait_leaders(c->producer, &events, 1, NULL, e, sizeof(e)))
                        df__log(DF__LOG_WARN, "client: %s", e);
        }
        *out = c;
        return DF_OK;
fail:
        df_client_destroy(c);
        return rc;
}

df_client_t *df_client_new(const df_conf_t *conf, char *errstr, size_t errstr_size)
{
        df_client_t *c = NULL;
        df_client_open(conf, 0, &c, errstr, errstr_size);
        return c;
}

void df_client_destroy(df_client_t *c)
{
        if (!c)
                return;
        for (int i = 0; i < c->n_retired; i++)
                rd_kafka_destroy(c->retired[i]);
        if (c->producer) {
                rd_kafka_flush(c->producer, 10000);
                rd_kafka_destroy(c->producer);
        }
        if (c->reader) {
                rd_kafka_consumer_close(c->reader);
                rd_kafka_destroy(c->reader);
        }
        df_conf_destroy(c->conf);
        free(c->known_topics);
        pthread_mutex_destroy(&c->lock);
        free(c);
}

/* A consumer with no group (assign only), read_committed.  eof: report the
 * end of each partition, and keep the fetch queue small (2 MB a partition
 * instead of librdkafka's 64 MB): readers of the changelog hold about one
 * record at a time. */
static rd_kafka_t *df__reader_new(df_client_t *c, int eof, char *errstr, size_t errstr_size)
{
        rd_kafka_conf_t *kc = df__kafka_conf(c->conf, "duraflow-client-reader", errstr, errstr_size);
        rd_kafka_t *rk;
        char e[512];
        if (!kc)
                return NULL;
        if (df__kconf_set(kc, "group.id", "duraflow-client-unused", errstr, errstr_size) ||
            df__kconf_set(kc, "enable.auto.commit", "false", errstr, errstr_size) ||
            df__kconf_set(kc, "isolation.level", "read_committed", errstr, errstr_size) ||
            df__kconf_set(kc, "fetch.wait.max.ms", eof ? "10" : DF__FETCH_WAIT_MS, errstr, errstr_size) ||
            df__kconf_set(kc, "enable.partition.eof", eof ? "true" : "false", errstr, errstr_size) ||
            (eof && (df__kconf_set(kc, "queued.max.messages.kbytes", "2048", errstr, errstr_size) ||
                     df__kconf_set(kc, "fetch.max.bytes", "2097152", errstr, errstr_size) ||
                     df__kconf_set(kc, "queued.min.messages", "1000", errstr, errstr_size)))) {
                rd_kafka_conf_destroy(kc);
                return NULL;
        }
        if (df__kconf_user(kc, c->conf, errstr, errstr_size)) {
                rd_kafka_conf_destroy(kc);
                return NULL;
        }
        rk = rd_kafka_new(RD_KAFKA_CONSUMER, kc, e, sizeof(e));
        if (!rk) {
                rd_kafka_conf_destroy(kc);
                df__errf(errstr, errstr_size, "client consumer: %s", e);
        }
        return rk;
}

/* Position the reply reader at the end of every results partition. */
static int df__reader_arm(df_client_t *c, char *errstr, size_t errstr_size)
{
        rd_kafka_topic_partition_list_t *tp;
        int p;

        if (!c->reader) {
                c->reader = df__reader_new(c, 0, errstr, errstr_size);
                if (!c->reader)
                        return -1;
        }
        tp = rd_kafka_topic_partition_list_new(c->t.results_partitions);
        for (p = 0; p < c->t.results_partitions; p++) {
                int64_t lo, hi;
                rd_kafka_resp_err_t err = df__watermarks(c->reader, c->t.results, p, &lo, &hi);
                if (err) {
                        df__errf(errstr, errstr_size, "%s: %s", c->t.results, rd_kafka_err2str(err));
                        rd_kafka_topic_partition_list_destroy(tp);
                        return -1;
                }
                rd_kafka_topic_partition_list_add(tp, c->t.results, p)->offset = hi;
        }
        rd_kafka_assign(c->reader, tp);
        rd_kafka_topic_partition_list_destroy(tp);
        return 0;
}

/* The worker's reply to request_id.  hint: the command that tells what
 * became of the request, for the message when no reply comes. */
static df_err_t df__wait_reply(df_client_t *c, const char *request_id, const char *hint, char *errstr,
                               size_t errstr_size)
{
        int64_t deadline = df__mono_ms() + c->timeout_ms;
        while (df__mono_ms() < deadline) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(c->reader, 100);
                df__result_rec_t r;
                char e[256];
                df_err_t code;
                if (!m)
                        continue;
                if (m->err || !m->payload) {
                        rd_kafka_message_destroy(m);
                        continue;
                }
                memset(&r, 0, sizeof(r));
                if (df__result_decode(m->payload, m->len, &r, e, sizeof(e)) == 0 && r.kind == DF__RK_REPLY &&
                    !strcmp(r.request_id, request_id)) {
                        code = (df_err_t)r.code;
                        if (code != DF_OK)
                                df__errf(errstr, errstr_size, "%s", r.error && *r.error ? r.error : df_strerror(code));
                        else
                                df__errf(errstr, errstr_size, "%s", r.error ? r.error : "");
                        df__result_clear(&r);
                        rd_kafka_message_destroy(m);
                        return code;
                }
                df__result_clear(&r);
                rd_kafka_message_destroy(m);
        }
        df__errf(errstr, errstr_size,
                 "no worker replied within %d ms (client.timeout.ms; is a worker running?): the request is durable "
                 "in %s; `%s` tells whether a worker recorded it",
                 c->timeout_ms, c->t.events, hint);
        return DF_ERR_DEADLINE;
}

/* Produce ev to <prefix>.events; with wait, flush and wait for the reply
 * (the message for no reply names `duraflow describe|history <id>`). */
static df_err_t df__send(df_client_t *c, df__event_t *ev, int wait, char *errstr, size_t errstr_size)
{
        df__buf_t v = {0};
        char rid[40], hint[300];
        unsigned char rnd[12];
        rd_kafka_resp_err_t err;
        df_err_t rc = DF_OK;
        int i;

        if (wait) {
                df__random_bytes(rnd, sizeof(rnd));
                for (i = 0; i < 12; i++)
                        snprintf(rid + 2 * i, 3, "%02x", rnd[i]);
                ev->request_id = rid;
        } else {
                ev->request_id = "";
        }
        ev->ts_ms = df__now_ms();
        if (df__event_encode(ev, &v, errstr, errstr_size))
                return DF_ERR_CODEC;
        pthread_mutex_lock(&c->lock);
        /* The reply reader is positioned at the end of the results once;
         * afterwards it keeps reading (replies are matched by request id). */
        if (wait && !c->reader_ready) {
                if (df__reader_arm(c, errstr, errstr_size)) {
                        rc = DF_ERR_KAFKA;
                        goto out;
                }
                c->reader_ready = 1;
        }
        df__client_recover(c);
        for (;;) {
                if (ev->traceparent[0])
                        err = rd_kafka_producev(c->producer, RD_KAFKA_V_TOPIC(c->t.events),
                                                RD_KAFKA_V_KEY(ev->execution_id, strlen(ev->execution_id)),
                                                RD_KAFKA_V_VALUE(v.data, v.len),
                                                RD_KAFKA_V_HEADER("traceparent", ev->traceparent,
                                                                  (ssize_t)strlen(ev->traceparent)),
                                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
                else
                        err = rd_kafka_producev(c->producer, RD_KAFKA_V_TOPIC(c->t.events),
                                                RD_KAFKA_V_KEY(ev->execution_id, strlen(ev->execution_id)),
                                                RD_KAFKA_V_VALUE(v.data, v.len),
                                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
                if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
                        break;
                rd_kafka_poll(c->producer, 10);
        }
        if (err) {
                df__errf(errstr, errstr_size, "produce to %s: %s", c->t.events, rd_kafka_err2str(err));
                rc = DF_ERR_KAFKA;
                goto out;
        }
        if (wait) {
                rc = df__client_flush(c, c->timeout_ms, errstr, errstr_size);
                if (rc != DF_OK)
                        goto out;
                if (df__schedule_key(ev->execution_id))
                        snprintf(hint, sizeof(hint), "duraflow schedule describe %s",
                                 ev->execution_id + DF__SCHEDULE_PREFIX_LEN);
                else
                        snprintf(hint, sizeof(hint), "duraflow %s %s",
                                 ev->type == DF__EV_CALLBACK ? "history" : "describe", ev->execution_id);
                rc = df__wait_reply(c, rid, hint, errstr, errstr_size);
        }
out:
        pthread_mutex_unlock(&c->lock);
        free(v.data);
        return rc;
}

df_err_t df__start_args_check(const char *what, const char *workflow, const char *execution_id, const void *input,
                              size_t len, char *errstr, size_t errstr_size)
{
        char e[400];
        df_err_t rc;
        if (len && !input) {
                df__errf(errstr, errstr_size, "%s: NULL input with a length of %zu", what, len);
                return DF_ERR_INVALID_ARG;
        }
        if ((rc = df_execution_id_check(execution_id, e, sizeof(e))) != DF_OK ||
            (rc = df_workflow_name_check(workflow, e, sizeof(e))) != DF_OK) {
                df__errf(errstr, errstr_size, "%s: %s", what, e);
                return rc;
        }
        if (len > DF_PAYLOAD_MAX) {
                df__errf(errstr, errstr_size, "%s: input is %zu bytes, over the limit of %d", what, len,
                         DF_PAYLOAD_MAX);
                return DF_ERR_PAYLOAD_TOO_LARGE;
        }
        return DF_OK;
}

void df__start_event(df__event_t *ev, const char *workflow, const char *execution_id, const void *input, size_t len)
{
        memset(ev, 0, sizeof(*ev));
        ev->type = DF__EV_START;
        ev->execution_id = (char *)execution_id;
        ev->workflow = (char *)workflow;
        ev->input.data = (uint8_t *)input;
        ev->input.len = len;
        ev->request_id = "";
}

/* The checks of a start's arguments (public boundary). */
static df_err_t df__start_check(df_client_t *c, const char *workflow, const char *execution_id, const void *input,
                                size_t len, char *errstr, size_t errstr_size)
{
        if (!c) {
                df__errf(errstr, errstr_size, "start: NULL client");
                return DF_ERR_INVALID_ARG;
        }
        return df__start_args_check("start", workflow, execution_id, input, len, errstr, errstr_size);
}

df_err_t df_traceparent_check(const char *traceparent, char *errstr, size_t errstr_size)
{
        df__traceparent_t tp;
        if (!traceparent) {
                df__errf(errstr, errstr_size, "traceparent: NULL");
                return DF_ERR_INVALID_ARG;
        }
        return df__traceparent_parse(traceparent, strlen(traceparent), &tp, errstr, errstr_size);
}

/* A start's traceparent into ev (normalised: surrounding spaces go). */
static df_err_t df__start_traceparent(df__event_t *ev, const char *traceparent, char *errstr, size_t errstr_size)
{
        df__traceparent_t tp;
        char e[256];
        if (!traceparent || !*traceparent)
                return DF_OK;
        if (df__traceparent_parse(traceparent, strlen(traceparent), &tp, e, sizeof(e)) != DF_OK) {
                df__errf(errstr, errstr_size, "start: %s", e);
                return DF_ERR_INVALID_ARG;
        }
        df__traceparent_format(&tp, ev->traceparent);
        return DF_OK;
}

df_err_t df_client_start(df_client_t *c, const char *workflow, const char *execution_id, const void *input,
                         size_t len, int *existed, char *errstr, size_t errstr_size)
{
        return df_client_start_traced(c, workflow, execution_id, input, len, NULL, existed, errstr, errstr_size);
}

df_err_t df_client_start_traced(df_client_t *c, const char *workflow, const char *execution_id, const void *input,
                                size_t len, const char *traceparent, int *existed, char *errstr, size_t errstr_size)
{
        df__event_t ev;
        df_err_t rc;
        char msg[512] = "";

        if (existed)
                *existed = 0;
        if ((rc = df__start_check(c, workflow, execution_id, input, len, errstr, errstr_size)) != DF_OK)
                return rc;
        df__start_event(&ev, workflow, execution_id, input, len);
        if ((rc = df__start_traceparent(&ev, traceparent, errstr, errstr_size)) != DF_OK)
                return rc;
        rc = df__send(c, &ev, 1, msg, sizeof(msg));
        if (rc == DF_OK && existed && !strcmp(msg, "exists"))
                *existed = 1;
        if (rc)
                df__errf(errstr, errstr_size, "%s", msg);
        return rc;
}

df_err_t df_client_start_async(df_client_t *c, const char *workflow, const char *execution_id, const void *input,
                               size_t len, char *errstr, size_t errstr_size)
{
        return df_client_start_async_traced(c, workflow, execution_id, input, len, NULL, errstr, errstr_size);
}

df_err_t df_client_start_async_traced(df_client_t *c, const char *workflow, const char *execution_id,
                                      const void *input, size_t len, const char *traceparent, char *errstr,
                                      size_t errstr_size)
{
        df__event_t ev;
        df_err_t rc;
        if ((rc = df__start_check(c, workflow, execution_id, input, len, errstr, errstr_size)) != DF_OK)
                return rc;
        df__start_event(&ev, workflow, execution_id, input, len);
        if ((rc = df__start_traceparent(&ev, traceparent, errstr, errstr_size)) != DF_OK)
                return rc;
        return df__send(c, &ev, 0, errstr, errstr_size);
}

df_err_t df_client_flush(df_client_t *c, int timeout_ms)
{
        pthread_mutex_lock(&c->lock);
        df__client_recover(c);
        pthread_mutex_unlock(&c->lock);
        return df__client_flush(c, timeout_ms, NULL, 0);
}

df_err_t df_callback_id_check(const char *callback_id, char *errstr, size_t errstr_size)
{
        char opid[16], q[100];
        const char *ex;

        if (callback_id && !df__callback_id_parse(callback_id, opid, sizeof(opid), &ex))
                return DF_OK;
        df__errf(errstr, errstr_size, "callback id \"%s\" is malformed (expected <32 hex>_<op id>_<execution id>)",
                 callback_id ? df__quote(q, sizeof(q), callback_id) : "(null)");
        return DF_ERR_INVALID_ARG;
}

/* mode: 1 wait for the worker's reply, 0 wait for Kafka's ack, -1 enqueue only */
static df_err_t df__callback(df_client_t *c, const char *callback_id, df_callback_outcome_t outcome,
                             const void *payload, size_t len, const char *error, int mode, char *errstr,
                             size_t errstr_size)
{
        int wait_reply = mode > 0;
        df__event_t ev;
        char opid[16], exec[256];
        const char *ex;
        df_err_t rc;

        if (!c || !callback_id) {
                df__errf(errstr, errstr_size, "callback: callback id is required");
                return DF_ERR_INVALID_ARG;
        }
        if ((int)outcome < DF_CALLBACK_SUCCESS || outcome > DF_CALLBACK_HEARTBEAT) {
                df__errf(errstr, errstr_size, "callback: outcome %d is not success, failure or heartbeat",
                         (int)outcome);
                return DF_ERR_INVALID_ARG;
        }
        if (df__callback_id_parse(callback_id, opid, sizeof(opid), &ex)) {
                char q[100];
                df__errf(errstr, errstr_size,
                         "callback id \"%s\" is malformed (expected <32 hex>_<op id>_<execution id>)",
                         df__quote(q, sizeof(q), callback_id));
                return DF_ERR_UNKNOWN_CALLBACK;
        }
        if ((rc = df__text_check("callback", "the failure message", error, DF_MESSAGE_MAX, errstr,
                                 errstr_size)) != DF_OK)
                return rc;
        if (len > DF_PAYLOAD_MAX) {
                df__errf(errstr, errstr_size, "callback: payload is %zu bytes, over the limit of %d", len,
                         DF_PAYLOAD_MAX);
                return DF_ERR_PAYLOAD_TOO_LARGE;
        }
        snprintf(exec, sizeof(exec), "%s", ex);
        memset(&ev, 0, sizeof(ev));
        ev.type = DF__EV_CALLBACK;
        ev.execution_id = exec;
        ev.callback_id = (char *)callback_id;
        ev.callback_kind = (int32_t)outcome;
        ev.input.data = (uint8_t *)payload;
        ev.input.len = len;
        ev.error = (char *)(error ? error : "");
        rc = df__send(c, &ev, wait_reply, errstr, errstr_size);
        if (rc == DF_OK && mode == 0)
                rc = df__client_flush(c, c->timeout_ms, errstr, errstr_size);
        return rc;
}

df_err_t df_client_callback(df_client_t *c, const char *callback_id, df_callback_outcome_t outcome,
                            const void *payload, size_t len, const char *error, int wait_reply, char *errstr,
                            size_t errstr_size)
{
        return df__callback(c, callback_id, outcome, payload, len, error, wait_reply ? 1 : 0, errstr, errstr_size);
}

df_err_t df_client_callback_async(df_client_t *c, const char *callback_id, df_callback_outcome_t outcome,
                                  const void *payload, size_t len, const char *error, char *errstr,
                                  size_t errstr_size)
{
        return df__callback(c, callback_id, outcome, payload, len, error, -1, errstr, errstr_size);
}


/* PAUSE, RESUME, RESTART, PURGE: an operator's request, with the reply. */
static df_err_t df__control(df_client_t *c, const char *what, int type, const char *execution_id,
                            const char *op_id, const char *reason, char *errstr, size_t errstr_size)
{
        df__event_t ev;
        char e[400];
        df_err_t rc;
        if (!c) {
                df__errf(errstr, errstr_size, "%s: NULL client", what);
                return DF_ERR_INVALID_ARG;
        }
        if ((rc = df_execution_id_check(execution_id, e, sizeof(e))) != DF_OK) {
                df__errf(errstr, errstr_size, "%s: %s", what, e);
                return rc;
        }
        if ((rc = df__text_check(what, "the reason", reason, DF_MESSAGE_MAX, errstr, errstr_size)) != DF_OK)
                return rc;
        if (op_id && *op_id && !df__op_id_valid(op_id)) {
                char q[100];
                df__errf(errstr, errstr_size, "%s: operation id \"%s\" is malformed (a top-level id: 1, 2, ...)",
                         what, df__quote(q, sizeof(q), op_id));
                return DF_ERR_INVALID_ARG;
        }
        memset(&ev, 0, sizeof(ev));
        ev.type = type;
        ev.execution_id = (char *)execution_id;
        ev.op_id = (char *)(op_id ? op_id : "");
        ev.error = (char *)(reason ? reason : "");
        return df__send(c, &ev, 1, errstr, errstr_size);
}

df_err_t df_client_stop(df_client_t *c, const char *execution_id, const char *reason, char *errstr,
                        size_t errstr_size)
{
        return df__control(c, "stop", DF__EV_STOP, execution_id, NULL, reason ? reason : "stopped by client", errstr,
                           errstr_size);
}

df_err_t df_client_pause(df_client_t *c, const char *execution_id, const char *reason, char *errstr,
                         size_t errstr_size)
{
        return df__control(c, "pause", DF__EV_PAUSE, execution_id, NULL, reason ? reason : "paused by client",
                           errstr, errstr_size);
}

df_err_t df_client_resume(df_client_t *c, const char *execution_id, char *errstr, size_t errstr_size)
{
        return df__control(c, "resume", DF__EV_RESUME, execution_id, NULL, NULL, errstr, errstr_size);
}

df_err_t df_client_restart(df_client_t *c, const char *execution_id, const char *from_op, const char *reason,
                           char *errstr, size_t errstr_size)
{
        return df__control(c, "restart", DF__EV_RESTART, execution_id, from_op,
                           reason ? reason : "restarted by client", errstr, errstr_size);
}

df_err_t df_client_purge(df_client_t *c, const char *execution_id, char *errstr, size_t errstr_size)
{
        return df__control(c, "purge", DF__EV_PURGE, execution_id, NULL, NULL, errstr, errstr_size);
}

/* ---------------- names of statuses and types ---------------- */

_Static_assert(DF_MESSAGE_MAX == DF__TEXT_MAX, "a text the client accepts is recorded whole");
_Static_assert(DF_PAYLOAD_MAX == DF__PAYLOAD_MAX, "one payload limit");

_Static_assert(DF_EXEC_PENDING == (int)DF__ES_PENDING && DF_EXEC_RUNNING == (int)DF__ES_RUNNING &&
                       DF_EXEC_SUSPENDED == (int)DF__ES_SUSPENDED && DF_EXEC_SUCCEEDED == (int)DF__ES_SUCCEEDED &&
                       DF_EXEC_FAILED == (int)DF__ES_FAILED && DF_EXEC_TIMED_OUT == (int)DF__ES_TIMED_OUT &&
                       DF_EXEC_STOPPED == (int)DF__ES_STOPPED && DF_EXEC_NONDETERMINISM == (int)DF__ES_NONDETERMINISM &&
                       DF_EXEC_QUARANTINED == (int)DF__ES_QUARANTINED &&
                       DF_EXEC_VERSION_MISSING == (int)DF__ES_VERSION_MISSING &&
                       DF_EXEC_PAUSED == (int)DF__ES_PAUSED,
               "df_exec_status_t is the changelog's status");
_Static_assert(DF_OP_TYPE_STEP == (int)DF__OP_STEP && DF_OP_TYPE_WAIT == (int)DF__OP_WAIT &&
                       DF_OP_TYPE_CALLBACK == (int)DF__OP_CALLBACK && DF_OP_TYPE_CHILD == (int)DF__OP_CHILD &&
                       DF_OP_TYPE_INVOKE == (int)DF__OP_INVOKE && DF_OP_TYPE_PARALLEL == (int)DF__OP_PARALLEL &&
                       DF_OP_TYPE_MAP == (int)DF__OP_MAP && DF_OP_TYPE_CONDITION == (int)DF__OP_CONDITION,
               "df_op_type_t is the changelog's type");
_Static_assert(DF_OP_STATUS_STARTED == (int)DF__OS_STARTED && DF_OP_STATUS_PENDING == (int)DF__OS_PENDING &&
                       DF_OP_STATUS_SUCCEEDED == (int)DF__OS_SUCCEEDED && DF_OP_STATUS_FAILED == (int)DF__OS_FAILED &&
                       DF_OP_STATUS_TIMED_OUT == (int)DF__OS_TIMED_OUT,
               "df_op_status_t is the changelog's status");

const char *df_exec_status_name(df_exec_status_t status)
{
        return df__exec_status_name((int)status);
}

df_err_t df_exec_status_parse(const char *name, df_exec_status_t *out)
{
        int s = name ? df__exec_status_parse(name) : -1;
        if (s < 0)
                return DF_ERR_INVALID_ARG;
        if (out)
                *out = (df_exec_status_t)s;
        return DF_OK;
}

const char *df_op_type_name(df_op_type_t type)
{
        return df__op_type_name((int)type);
}

const char *df_op_status_name(df_op_status_t status)
{
        return df__op_status_name((int)status);
}

/* ---------------- reading the changelog ---------------- */

/* Records of an operation at most this large are kept from the first pass;
 * larger ones are fetched again by offset when their turn comes. */
#define DF__KEEP_MAX 4096
/* Seek instead of reading forward when the next record is this many
 * offsets ahead. */
#define DF__SKIP_MAX 512

/* Called for each record of a scan; 0 to go on, -1 to stop (errstr set). */
typedef int (*df__scan_fn)(const rd_kafka_message_t *m, void *opaque, char *errstr, size_t errstr_size);

/*
 * Read partitions parts[0..n) of <prefix>.state (rk: a df__reader_new(c, 1)
 * consumer) from their beginning to their end (read_committed: the end of
 * what is committed) and call fn for each record, one at a time.  Gives up
 * when nothing arrives for client.timeout.ms.  DF_OK, DF_ERR_KAFKA, or
 * fn's failure as DF_ERR_CODEC / DF_ERR_NOMEM (*fail_rc).
 */
static df_err_t df__scan(df_client_t *c, rd_kafka_t *rk, const int32_t *parts, int n, df__scan_fn fn,
                         void *opaque, df_err_t fail_rc, char *errstr, size_t errstr_size)
{
        rd_kafka_topic_partition_list_t *tp = rd_kafka_topic_partition_list_new(n);
        int64_t deadline = df__mono_ms() + c->timeout_ms;
        df_err_t rc = DF_OK;
        int i, pending = 0;

        for (i = 0; i < n; i++) {
                int64_t lo, hi;
                rd_kafka_resp_err_t err = df__watermarks(rk, c->t.state, parts[i], &lo, &hi);
                if (err) {
                        df__errf(errstr, errstr_size, "%s[%d]: %s", c->t.state, parts[i], rd_kafka_err2str(err));
                        rc = DF_ERR_KAFKA;
                        goto out;
                }
                if (hi > lo) {
                        rd_kafka_topic_partition_list_add(tp, c->t.state, parts[i])->offset =
                                RD_KAFKA_OFFSET_BEGINNING;
                        pending++;
                }
        }
        rd_kafka_assign(rk, tp);
        while (pending > 0) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
                if (!m) {
                        if (df__mono_ms() > deadline) {
                                df__errf(errstr, errstr_size,
                                         "reading %s: nothing arrived for %d ms (client.timeout.ms)", c->t.state,
                                         c->timeout_ms);
                                rc = DF_ERR_KAFKA;
                                goto out;
                        }
                        continue;
                }
                deadline = df__mono_ms() + c->timeout_ms;
                if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                        pending--;
                } else if (!m->err && m->key && fn(m, opaque, errstr, errstr_size)) {
                        rd_kafka_message_destroy(m);
                        rc = fail_rc;
                        goto out;
                }
                rd_kafka_message_destroy(m);
        }
out:
        rd_kafka_topic_partition_list_destroy(tp);
        return rc;
}

/* The record's key as a C string into buf; 0, or -1 when it is too long to
 * be one of ours. */
static int df__key_of(const rd_kafka_message_t *m, char *buf, size_t size)
{
        if (m->key_len >= size || memchr(m->key, 0, m->key_len))
                return -1;
        memcpy(buf, m->key, m->key_len);
        buf[m->key_len] = '\0';
        return 0;
}

/* Where an operation's latest record is: its offset, and the record itself
 * when small. */
typedef struct df__opref {
        int64_t offset;
        df__buf_t rec; /* empty when over DF__KEEP_MAX */
} df__opref_t;

static void df__opref_free(void *p)
{
        df__opref_t *r = p;
        if (r) {
                free(r->rec.data);
                free(r);
        }
}

struct df_history {
        df_client_t *c;
        rd_kafka_t *rk; /* assigned to the execution's partition */
        int32_t part;
        int64_t pos;    /* offset after the last record consumed; -1: none yet */
        char id[DF_EXECUTION_ID_MAX + 1];
        int with_ops;
        df__buf_t exec_rec; /* the first pass: the execution's latest record */
        df__map_t *ops;     /* "<op id>" -> df__opref_t */
        struct df__exec_info exec;
        /* the depth-first walk: frame d hands out "<prefix>.<next>" for next
         * in 1..count (at depth 0 "<next>", count = the execution's op_count) */
        struct df__hframe {
                char prefix[DF__OP_ID_MAX];
                int next, count;
        } stack[DF__OP_DEPTH_MAX + 1];
        int depth;          /* frames in use; 0 once the walk is over */
        df__op_rec_t op;
        df_op_info_t op_pub;
};

static int df__history_rec(const rd_kafka_message_t *m, void *opaque, char *errstr, size_t errstr_size)
{
        df_history_t *h = opaque;
        size_t n = strlen(h->id);
        char key[DF_EXECUTION_ID_MAX + 32];
        const char *op;
        int err = 0;

        if (m->key_len < n || memcmp(m->key, h->id, n))
                return 0;
        if (m->key_len == n) {
                /* the execution record: keep the latest (a tombstone deletes) */
                df__buf_clear(&h->exec_rec);
                if (m->payload && df__buf_set(&h->exec_rec, m->payload, m->len)) {
                        df__errf(errstr, errstr_size, "out of memory");
                        return -1;
                }
                return 0;
        }
        if (!h->with_ops || ((const char *)m->key)[n] != '/' || df__key_of(m, key, sizeof(key)))
                return 0;
        op = key + n + 1;
        if (!m->payload) {
                df__opref_free(df__map_del(h->ops, op));
        } else {
                df__opref_t *r = calloc(1, sizeof(*r));
                if (!r || (m->len <= DF__KEEP_MAX && df__buf_set(&r->rec, m->payload, m->len))) {
                        free(r);
                        df__errf(errstr, errstr_size, "out of memory");
                        return -1;
                }
                r->offset = m->offset;
                df__opref_free(df__map_put(h->ops, op, r, &err));
                if (err) {
                        df__opref_free(r);
                        df__errf(errstr, errstr_size, "out of memory");
                        return -1;
                }
        }
        return 0;
}

void df_history_destroy(df_history_t *h)
{
        if (!h)
                return;
        if (h->rk) {
                rd_kafka_consumer_close(h->rk);
                rd_kafka_destroy(h->rk);
        }
        df__buf_clear(&h->exec_rec);
        df__map_destroy(h->ops, df__opref_free);
        df__exec_clear(&h->exec.rec);
        df__op_clear(&h->op);
        free(h);
}

/* The first pass over the execution's partition (both describe and history). */
static df_err_t df__history_open(df_client_t *c, const char *what, const char *execution_id, int with_ops,
                                 df_history_t **out, char *errstr, size_t errstr_size)
{
        df_history_t *h;
        df_err_t rc;
        char e[400], q[100];

        *out = NULL;
        if (!c) {
                df__errf(errstr, errstr_size, "%s: NULL client", what);
                return DF_ERR_INVALID_ARG;
        }
        if ((rc = df_execution_id_check(execution_id, e, sizeof(e))) != DF_OK) {
                df__errf(errstr, errstr_size, "%s: %s", what, e);
                return rc;
        }
        h = calloc(1, sizeof(*h));
        if (!h || !(h->ops = df__map_new())) {
                free(h);
                df__errf(errstr, errstr_size, "out of memory");
                return DF_ERR_NOMEM;
        }
        h->c = c;
        h->pos = -1;
        h->with_ops = with_ops;
        snprintf(h->id, sizeof(h->id), "%s", execution_id);
        /* every record of an execution is on the partition of its key */
        h->part = df__topics_partition_of(&c->t, execution_id);
        h->rk = df__reader_new(c, 1, errstr, errstr_size);
        if (!h->rk) {
                rc = DF_ERR_CONF;
                goto fail;
        }
        rc = df__scan(c, h->rk, &h->part, 1, df__history_rec, h, DF_ERR_NOMEM, errstr, errstr_size);
        if (rc != DF_OK)
                goto fail;
        if (!h->exec_rec.len) {
                df__errf(errstr, errstr_size, "no execution named \"%s\"", df__quote(q, sizeof(q), execution_id));
                rc = DF_ERR_NOT_FOUND;
                goto fail;
        }
        if (df__exec_decode(h->exec_rec.data, h->exec_rec.len, &h->exec.rec, e, sizeof(e))) {
                df__errf(errstr, errstr_size, "%s: the record of %s does not decode: %s", what, execution_id, e);
                rc = DF_ERR_CODEC;
                goto fail;
        }
        df__buf_clear(&h->exec_rec);
        df__exec_pub(&h->exec.pub, &h->exec.rec);
        h->stack[0].prefix[0] = '\0';
        h->stack[0].next = 1;
        h->stack[0].count = h->exec.rec.op_count;
        h->depth = 1;
        *out = h;
        return DF_OK;
fail:
        df_history_destroy(h);
        return rc;
}

df_err_t df_client_describe(df_client_t *c, const char *execution_id, df_exec_info_t **out, char *errstr,
                            size_t errstr_size)
{
        struct df__exec_info *x;
        df_history_t *h = NULL;
        df_err_t rc;

        if (!out) {
                df__errf(errstr, errstr_size, "describe: NULL out");
                return DF_ERR_INVALID_ARG;
        }
        *out = NULL;
        if ((rc = df__history_open(c, "describe", execution_id, 0, &h, errstr, errstr_size)) != DF_OK)
                return rc;
        x = calloc(1, sizeof(*x));
        if (!x) {
                df_history_destroy(h);
                df__errf(errstr, errstr_size, "out of memory");
                return DF_ERR_NOMEM;
        }
        x->rec = h->exec.rec; /* moved */
        memset(&h->exec.rec, 0, sizeof(h->exec.rec));
        df_history_destroy(h);
        df__exec_pub(&x->pub, &x->rec);
        *out = &x->pub;
        return DF_OK;
}

df_err_t df_client_history(df_client_t *c, const char *execution_id, df_history_t **out, char *errstr,
                           size_t errstr_size)
{
        if (!out) {
                df__errf(errstr, errstr_size, "history: NULL out");
                return DF_ERR_INVALID_ARG;
        }
        return df__history_open(c, "history", execution_id, 1, out, errstr, errstr_size);
}

const df_exec_info_t *df_history_execution(const df_history_t *h)
{
        return h ? &h->exec.pub : NULL;
}

/* The latest record of key at offset >= from: read forward from where the
 * reader is, or seek when from is behind it or far ahead.  *m (to destroy)
 * or NULL when the partition ends first (the record was deleted since). */
/* Position h's reader at offset (a seek: what librdkafka has queued for the
 * partition is dropped). */
static df_err_t df__history_seek(df_history_t *h, int64_t offset, char *errstr, size_t errstr_size)
{
        rd_kafka_topic_partition_list_t *tp = rd_kafka_topic_partition_list_new(1);
        rd_kafka_error_t *error;
        rd_kafka_topic_partition_list_add(tp, h->c->t.state, h->part)->offset = offset;
        df__log(DF__LOG_DEBUG, "history: seek %s[%d] from %lld to %lld", h->c->t.state, h->part, (long long)h->pos,
                (long long)offset);
        /* asynchronous: what the seek meets comes through the poll */
        error = rd_kafka_seek_partitions(h->rk, tp, 0);
        if (!error && tp->elems[0].err && tp->elems[0].err != RD_KAFKA_RESP_ERR__IN_PROGRESS)
                error = rd_kafka_error_new(tp->elems[0].err, "%s", rd_kafka_err2str(tp->elems[0].err));
        rd_kafka_topic_partition_list_destroy(tp);
        if (error) {
                df__errf(errstr, errstr_size, "seeking %s[%d] to %lld: %s", h->c->t.state, h->part, (long long)offset,
                         rd_kafka_error_string(error));
                rd_kafka_error_destroy(error);
                return DF_ERR_KAFKA;
        }
        h->pos = offset;
        return DF_OK;
}

/* The latest record of key at offset >= from: read forward from where the
 * reader is, or seek when from is behind it or far ahead.  *m (to destroy)
 * or NULL when the partition ends first (the record was deleted since). */
static df_err_t df__history_fetch(df_history_t *h, const char *key, int64_t from, rd_kafka_message_t **out,
                                  char *errstr, size_t errstr_size)
{
        int64_t deadline = df__mono_ms() + h->c->timeout_ms;
        size_t klen = strlen(key);
        int idle = 0;
        df_err_t rc;

        *out = NULL;
        if ((h->pos < 0 || from < h->pos || from - h->pos > DF__SKIP_MAX) &&
            (rc = df__history_seek(h, from, errstr, errstr_size)) != DF_OK)
                return rc;
        for (;;) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(h->rk, 10);
                if (!m) {
                        if (df__mono_ms() > deadline) {
                                df__errf(errstr, errstr_size, "reading %s[%d] again: nothing arrived for %d ms",
                                         h->c->t.state, h->part, h->c->timeout_ms);
                                return DF_ERR_KAFKA;
                        }
                        /* librdkafka stops fetching a partition whose queue
                         * reached queued.max.messages.kbytes and looks again
                         * only about once a second (2.0: an indefinite
                         * backoff): nothing is queued now, so a seek to where
                         * the reader is makes it fetch at once */
                        if (++idle == 1 && (rc = df__history_seek(h, h->pos, errstr, errstr_size)) != DF_OK)
                                return rc;
                        continue;
                }
                idle = 0;
                deadline = df__mono_ms() + h->c->timeout_ms;
                if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                        rd_kafka_message_destroy(m);
                        if (h->pos >= from)
                                return DF_OK; /* gone */
                        continue;
                }
                if (m->err) {
                        rd_kafka_message_destroy(m);
                        continue;
                }
                /* every record read moves the position, those skipped too:
                 * a wake-up seek must not read them again */
                if (m->offset + 1 > h->pos)
                        h->pos = m->offset + 1;
                if (m->offset < from) {
                        rd_kafka_message_destroy(m);
                        continue;
                }
                if (m->key && m->key_len == klen && !memcmp(m->key, key, klen)) {
                        if (!m->payload) {
                                rd_kafka_message_destroy(m);
                                return DF_OK; /* deleted since */
                        }
                        *out = m;
                        return DF_OK;
                }
                rd_kafka_message_destroy(m);
        }
}

/* The id of the next operation of the walk into opid (frames that are done
 * are left); 0, or -1 when the walk is over. */
static int df__history_step(df_history_t *h, char *opid, size_t size)
{
        while (h->depth > 0) {
                struct df__hframe *f = &h->stack[h->depth - 1];
                /* every record seen in the first pass is handed out once: when
                 * none is left, no count (however large) is walked further */
                if (f->next > f->count || f->next > DF__OP_INDEX_MAX || !df__map_size(h->ops)) {
                        h->depth--;
                        continue;
                }
                if (f->prefix[0])
                        snprintf(opid, size, "%s.%d", f->prefix, f->next++);
                else
                        snprintf(opid, size, "%d", f->next++);
                return 0;
        }
        return -1;
}

df_err_t df_history_next(df_history_t *h, const df_op_info_t **op, char *errstr, size_t errstr_size)
{
        char key[DF_EXECUTION_ID_MAX + DF__OP_ID_MAX + 8], e[256], opid[DF__OP_ID_MAX + 16];

        if (!h || !op) {
                df__errf(errstr, errstr_size, "history: NULL history or op");
                return DF_ERR_INVALID_ARG;
        }
        *op = NULL;
        df__op_clear(&h->op);
        while (!df__history_step(h, opid, sizeof(opid))) {
                df__opref_t *r;
                rd_kafka_message_t *m = NULL;
                int bad;

                if (strlen(opid) >= DF__OP_ID_MAX)
                        continue; /* no record has such an id */
                r = df__map_del(h->ops, opid); /* freed as it is handed out */
                if (!r)
                        continue; /* not recorded */
                if (!r->rec.len) {
                        df_err_t rc;
                        if ((size_t)snprintf(key, sizeof(key), "%s/%s", h->id, opid) >= sizeof(key)) {
                                df__opref_free(r);
                                continue; /* longer than any key recorded */
                        }
                        rc = df__history_fetch(h, key, r->offset, &m, errstr, errstr_size);
                        if (rc != DF_OK) {
                                df__opref_free(r);
                                return rc;
                        }
                        if (!m) {
                                df__opref_free(r);
                                continue; /* deleted since the first pass */
                        }
                }
                bad = m ? df__op_decode(m->payload, m->len, &h->op, e, sizeof(e))
                        : df__op_decode(r->rec.data, r->rec.len, &h->op, e, sizeof(e));
                if (m)
                        rd_kafka_message_destroy(m);
                df__opref_free(r);
                if (bad) {
                        df__errf(errstr, errstr_size, "history: operation %s/%s does not decode: %s", h->id, opid, e);
                        return DF_ERR_CODEC;
                }
                /* its context's operations come next (as state.c loads them) */
                if (h->op.child_count > 0 && h->depth <= DF__OP_DEPTH_MAX) {
                        struct df__hframe *f = &h->stack[h->depth++];
                        memcpy(f->prefix, opid, strlen(opid) + 1); /* < DF__OP_ID_MAX, checked above */
                        f->next = 1;
                        f->count = h->op.child_count;
                }
                df__op_pub(&h->op_pub, &h->op);
                *op = &h->op_pub;
                return DF_OK;
        }
        return DF_OK;
}

/* ---------------- list ---------------- */

struct df__list {
        df_exec_list_t pub; /* first: df_exec_list_destroy casts back */
        df_exec_info_t *items;
        size_t cap;
};

struct df__list_scan {
        df__map_t *by_id; /* execution id -> df_exec_info_t* (small fields, strings malloc'd) */
};

static void df__summary_free(void *p)
{
        df_exec_info_t *x = p;
        if (x) {
                free((char *)x->execution_id);
                free((char *)x->workflow);
                free(x);
        }
}

static int df__list_rec(const rd_kafka_message_t *m, void *opaque, char *errstr, size_t errstr_size)
{
        struct df__list_scan *l = opaque;
        char key[DF_EXECUTION_ID_MAX + 32], e[256];
        df__exec_rec_t rec;
        df_exec_info_t *x;
        int err = 0;

        if (df__key_of(m, key, sizeof(key)) || strchr(key, '/') || df__schedule_key(key))
                return 0; /* an operation record, a schedule's, or not ours */
        if (!m->payload) {
                df__summary_free(df__map_del(l->by_id, key));
                return 0;
        }
        memset(&rec, 0, sizeof(rec));
        if (df__exec_decode(m->payload, m->len, &rec, e, sizeof(e))) {
                char q[100];
                df__log(DF__LOG_WARN, "list: the record of %s does not decode (skipped): %s",
                        df__quote(q, sizeof(q), key), e);
                return 0;
        }
        x = calloc(1, sizeof(*x));
        if (x) {
                x->execution_id = df__strdup0(rec.execution_id);
                x->workflow = df__strdup0(rec.workflow);
                x->status = (df_exec_status_t)rec.status;
                x->error = "";
                x->created_ms = rec.created_ms;
                x->updated_ms = rec.updated_ms;
                x->op_count = rec.op_count;
                x->version = rec.version;
                x->parent_execution_id = x->parent_op_id = "";
        }
        df__exec_clear(&rec); /* the payloads go at once */
        if (!x || !x->execution_id || !x->workflow) {
                df__summary_free(x);
                df__errf(errstr, errstr_size, "out of memory");
                return -1;
        }
        df__summary_free(df__map_put(l->by_id, key, x, &err));
        if (err) {
                df__summary_free(x);
                df__errf(errstr, errstr_size, "out of memory");
                return -1;
        }
        return 0;
}

struct df__list_take {
        struct df__list *out;
        const char *workflow;
        df_exec_status_t status;
};

/* Move the summaries that pass the filter into the list (the others are
 * freed with the map). */
static void df__list_take(const char *key, void *val, void *opaque)
{
        struct df__list_take *t = opaque;
        df_exec_info_t *x = val;
        (void)key;
        if ((t->workflow && strcmp(t->workflow, x->workflow)) || (t->status != DF_EXEC_ANY && t->status != x->status))
                return;
        t->out->items[t->out->pub.count++] = *x;
        x->execution_id = x->workflow = NULL; /* moved */
}

static int df__cmp_summary(const void *a, const void *b)
{
        const df_exec_info_t *x = a, *y = b;
        return strcmp(x->execution_id, y->execution_id);
}

void df_exec_list_destroy(df_exec_list_t *list)
{
        struct df__list *l = (struct df__list *)list;
        size_t i;
        if (!l)
                return;
        for (i = 0; i < l->pub.count; i++) {
                free((char *)l->items[i].execution_id);
                free((char *)l->items[i].workflow);
        }
        free(l->items);
        free(l);
}

df_err_t df_client_list(df_client_t *c, const char *workflow, df_exec_status_t status, df_exec_list_t **out,
                        char *errstr, size_t errstr_size)
{
        struct df__list_scan scan = {NULL};
        struct df__list_take take;
        struct df__list *l = NULL;
        int32_t *parts = NULL;
        rd_kafka_t *rk = NULL;
        df_err_t rc;
        int i;

        if (!out || !c) {
                df__errf(errstr, errstr_size, "list: NULL client or out");
                return DF_ERR_INVALID_ARG;
        }
        *out = NULL;
        if (status != DF_EXEC_ANY && !strcmp(df_exec_status_name(status), "UNKNOWN")) {
                df__errf(errstr, errstr_size, "list: status %d is not a df_exec_status_t", (int)status);
                return DF_ERR_INVALID_ARG;
        }
        scan.by_id = df__map_new();
        parts = calloc((size_t)c->t.partitions, sizeof(*parts));
        if (!scan.by_id || !parts) {
                df__errf(errstr, errstr_size, "out of memory");
                rc = DF_ERR_NOMEM;
                goto out;
        }
        for (i = 0; i < c->t.partitions; i++)
                parts[i] = i;
        rk = df__reader_new(c, 1, errstr, errstr_size);
        if (!rk) {
                rc = DF_ERR_CONF;
                goto out;
        }
        rc = df__scan(c, rk, parts, c->t.partitions, df__list_rec, &scan, DF_ERR_NOMEM, errstr, errstr_size);
        if (rc != DF_OK)
                goto out;
        l = calloc(1, sizeof(*l));
        if (l)
                l->items = calloc(df__map_size(scan.by_id) + 1, sizeof(*l->items));
        if (!l || !l->items) {
                df__errf(errstr, errstr_size, "out of memory");
                rc = DF_ERR_NOMEM;
                goto out;
        }
        take.out = l;
        take.workflow = workflow;
        take.status = status;
        df__map_foreach(scan.by_id, df__list_take, &take);
        qsort(l->items, l->pub.count, sizeof(*l->items), df__cmp_summary);
        l->pub.items = l->items;
        *out = &l->pub;
        l = NULL;
out:
        if (rk) {
                rd_kafka_consumer_close(rk);
                rd_kafka_destroy(rk);
        }
        df_exec_list_destroy(l ? &l->pub : NULL);
        df__map_destroy(scan.by_id, df__summary_free);
        free(parts);
        return rc;
}
/* ---------------- results reader ---------------- */

struct df_results {
        df_client_t c; /* for the conf, topics and reader helpers */
        rd_kafka_t *rk;
};

df_results_t *df_results_open(const df_conf_t *conf, int from_beginning, char *errstr, size_t errstr_size)
{
        df_results_t *r = calloc(1, sizeof(*r));
        rd_kafka_topic_partition_list_t *tp;
        int p;

        if (!r || !conf) {
                free(r);
                return NULL;
        }
        r->c.conf = df_conf_dup(conf);
        if (!r->c.conf || df__codec_init(errstr, errstr_size))
                goto fail;
        df__topics_init(&r->c.t, conf);
        r->c.timeout_ms = atoi(df_conf_get(conf, "client.timeout.ms"));
        if (df__topics_ensure(conf, &r->c.t, errstr, errstr_size) != DF_OK)
                goto fail;
        r->rk = df__reader_new(&r->c, 0, errstr, errstr_size);
        if (!r->rk)
                goto fail;
        tp = rd_kafka_topic_partition_list_new(r->c.t.results_partitions);
        for (p = 0; p < r->c.t.results_partitions; p++) {
                int64_t lo = 0, hi = 0;
                if (!from_beginning) {
                        rd_kafka_resp_err_t err =
                                df__watermarks(r->rk, r->c.t.results, p, &lo, &hi);
                        if (err) {
                                df__errf(errstr, errstr_size, "%s: %s", r->c.t.results, rd_kafka_err2str(err));
                                rd_kafka_topic_partition_list_destroy(tp);
                                goto fail;
                        }
                }
                rd_kafka_topic_partition_list_add(tp, r->c.t.results, p)->offset =
                        from_beginning ? RD_KAFKA_OFFSET_BEGINNING : hi;
        }
        rd_kafka_assign(r->rk, tp);
        rd_kafka_topic_partition_list_destroy(tp);
        return r;
fail:
        df_results_close(r);
        return NULL;
}

int df_results_poll(df_results_t *r, int timeout_ms, df_result_fn fn, void *opaque)
{
        int64_t deadline = df__mono_ms() + timeout_ms;
        int n = 0;
        for (;;) {
                int left = (int)(deadline - df__mono_ms());
                rd_kafka_message_t *m = rd_kafka_consumer_poll(r->rk, left > 0 ? left : 0);
                df__result_rec_t rec;
                char e[256];
                if (!m)
                        break;
                memset(&rec, 0, sizeof(rec));
                if (!m->err && m->payload && !df__result_decode(m->payload, m->len, &rec, e, sizeof(e)) &&
                    rec.kind == DF__RK_RESULT) {
                        df_bytes_t out = {rec.output.data, rec.output.len};
                        fn(rec.execution_id, (df_exec_status_t)rec.status, &out, rec.error, opaque);
                        n++;
                }
                df__result_clear(&rec);
                rd_kafka_message_destroy(m);
                if (df__mono_ms() >= deadline && n)
                        break;
        }
        return n;
}

void df_results_close(df_results_t *r)
{
        if (!r)
                return;
        if (r->rk) {
                rd_kafka_consumer_close(r->rk);
                rd_kafka_destroy(r->rk);
        }
        df_conf_destroy(r->c.conf);
        free(r);
}

/* ---------------- for schedule_client.c (client.h) ---------------- */

df_err_t df__client_send(df_client_t *c, df__event_t *ev, int wait, char *errstr, size_t errstr_size)
{
        return df__send(c, ev, wait, errstr, errstr_size);
}

df_err_t df__client_scan(df_client_t *c, const int32_t *parts, int n, df__client_scan_fn fn, void *opaque,
                         df_err_t fail_rc, char *errstr, size_t errstr_size)
{
        rd_kafka_t *rk = df__reader_new(c, 1, errstr, errstr_size);
        df_err_t rc;
        if (!rk)
                return DF_ERR_CONF;
        rc = df__scan(c, rk, parts, n, fn, opaque, fail_rc, errstr, errstr_size);
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
        return rc;
}
