/*
 * client.c -- the control client: start, callback, stop (events to the
 * workers, replies on <prefix>.results), describe / history / list (read
 * from the <prefix>.state changelog).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "kafka.h"
#include "state.h"

struct df_client {
        df_conf_t *conf;
        df__topics_t t;
        rd_kafka_t *producer;
        rd_kafka_t *reader; /* results replies */
        pthread_mutex_t lock;
        int timeout_ms;
        int reader_ready;
        int failed;                    /* deliveries that failed since the last flush (atomic) */
        rd_kafka_resp_err_t last_err;
};

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

/* Flush, then tell whether every message since the last check was delivered. */
static df_err_t df__client_flush(df_client_t *c, int timeout_ms, char *errstr, size_t errstr_size)
{
        int failed;
        if (rd_kafka_flush(c->producer, timeout_ms)) {
                df__errf(errstr, errstr_size, "not acknowledged by Kafka within %d ms", timeout_ms);
                return DF_ERR_TIMEOUT;
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
 * *missing: bit i set when names[i] does not exist.
 * DF_OK; DF_ERR_CONF (a kafka.* property librdkafka refuses); DF_ERR_KAFKA
 * (no answer: errstr names the brokers and the last connection error).
 */
static df_err_t df__client_probe(const df_conf_t *conf, const char *const names[5], int *missing, char *errstr,
                                 size_t errstr_size)
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
                for (j = 0; j < md->topic_cnt && !found; j++)
                        found = !md->topics[j].err && !strcmp(md->topics[j].topic, names[i]);
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
        rd_kafka_conf_t *kc;
        df_err_t rc = DF_ERR_CONF;
        char e[512];

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
                int missing = 0, i;
                rc = df__client_probe(conf, names, &missing, errstr, errstr_size);
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
        }
        if (!(flags & DF_CLIENT_NO_CREATE_TOPICS) && df__topics_ensure(conf, &c->t, errstr, errstr_size)) {
                rc = DF_ERR_KAFKA;
                goto fail;
        }
        rc = DF_ERR_CONF;
        kc = df__kafka_conf(conf, "duraflow-client", errstr, errstr_size);
        if (!kc)
                goto fail;
        if (df__kconf_set(kc, "partitioner", "murmur2_random", errstr, errstr_size) ||
            df__kconf_set(kc, "retry.backoff.ms", "10", errstr, errstr_size) ||
            df__kconf_set(kc, "enable.idempotence", "true", errstr, errstr_size) ||
            df__kconf_set(kc, "linger.ms", "1", errstr, errstr_size) ||
            df__kconf_user(kc, c->conf, errstr, errstr_size)) {
                rd_kafka_conf_destroy(kc);
                goto fail;
        }
        rd_kafka_conf_set_dr_msg_cb(kc, df__client_dr);
        rd_kafka_conf_set_opaque(kc, c);
        c->producer = rd_kafka_new(RD_KAFKA_PRODUCER, kc, e, sizeof(e));
        if (!c->producer) {
                rd_kafka_conf_destroy(kc);
                df__errf(errstr, errstr_size, "client producer: %s", e);
                goto fail;
        }
        /* Learn <prefix>.events' partitions now: librdkafka otherwise holds
         * the first message of a topic it has no metadata for until its
         * 1-second topic scan (every CLI start, stop or callback took 1 s).
         * Not fatal: the scan still finds them. */
        {
                const char *events = c->t.events;
                char e[256];
                if (df__topics_wait_leaders(c->producer, &events, 1, e, sizeof(e)))
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
        if (c->producer) {
                rd_kafka_flush(c->producer, 10000);
                rd_kafka_destroy(c->producer);
        }
        if (c->reader) {
                rd_kafka_consumer_close(c->reader);
                rd_kafka_destroy(c->reader);
        }
        df_conf_destroy(c->conf);
        pthread_mutex_destroy(&c->lock);
        free(c);
}

/* A consumer with no group (assign only), read_committed. */
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
            df__kconf_set(kc, "fetch.wait.max.ms", "10", errstr, errstr_size) ||
            df__kconf_set(kc, "enable.partition.eof", eof ? "true" : "false", errstr, errstr_size)) {
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
        tp = rd_kafka_topic_partition_list_new(c->t.partitions);
        for (p = 0; p < c->t.partitions; p++) {
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

static df_err_t df__wait_reply(df_client_t *c, const char *request_id, char *errstr, size_t errstr_size)
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
                 "no reply from a worker within %d ms (client.timeout.ms; is a worker running?); the request is "
                 "in Kafka and a worker will still process it",
                 c->timeout_ms);
        return DF_ERR_TIMEOUT;
}

static df_err_t df__send(df_client_t *c, df__event_t *ev, int wait, char *errstr, size_t errstr_size)
{
        df__buf_t v = {0};
        char rid[40];
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
        for (;;) {
                err = rd_kafka_producev(c->producer, RD_KAFKA_V_TOPIC(c->t.events),
                                        RD_KAFKA_V_KEY(ev->execution_id, strlen(ev->execution_id)),
                                        RD_KAFKA_V_VALUE(v.data, v.len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                        RD_KAFKA_V_END);
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
                rc = df__wait_reply(c, rid, errstr, errstr_size);
        }
out:
        pthread_mutex_unlock(&c->lock);
        free(v.data);
        return rc;
}

df_err_t df_client_start(df_client_t *c, const char *workflow, const char *execution_id, const void *input,
                         size_t len, int *existed, char *errstr, size_t errstr_size)
{
        df__event_t ev;
        df_err_t rc;
        char msg[256] = "";

        if (existed)
                *existed = 0;
        if (!c || !workflow || !*workflow || (len && !input)) {
                df__errf(errstr, errstr_size, "start: workflow name and input are required");
                return DF_ERR_INVALID_ARG;
        }
        if (!df__execution_id_valid(execution_id)) {
                df__errf(errstr, errstr_size, "start: execution id \"%s\" is invalid (1..200 chars of A-Za-z0-9._:@-)",
                         execution_id ? execution_id : "");
                return DF_ERR_INVALID_ARG;
        }
        if (len > DF_PAYLOAD_MAX) {
                df__errf(errstr, errstr_size, "start: input is %zu bytes, over the limit of %d", len, DF_PAYLOAD_MAX);
                return DF_ERR_PAYLOAD_TOO_LARGE;
        }
        memset(&ev, 0, sizeof(ev));
        ev.type = DF__EV_START;
        ev.execution_id = (char *)execution_id;
        ev.workflow = (char *)workflow;
        ev.input.data = (uint8_t *)input;
        ev.input.len = len;
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
        df__event_t ev;
        if (!c || !workflow || !*workflow || !df__execution_id_valid(execution_id) || (len && !input)) {
                df__errf(errstr, errstr_size, "start: invalid workflow, execution id or input");
                return DF_ERR_INVALID_ARG;
        }
        if (len > DF_PAYLOAD_MAX) {
                df__errf(errstr, errstr_size, "start: input is %zu bytes, over the limit of %d", len, DF_PAYLOAD_MAX);
                return DF_ERR_PAYLOAD_TOO_LARGE;
        }
        memset(&ev, 0, sizeof(ev));
        ev.type = DF__EV_START;
        ev.execution_id = (char *)execution_id;
        ev.workflow = (char *)workflow;
        ev.input.data = (uint8_t *)input;
        ev.input.len = len;
        return df__send(c, &ev, 0, errstr, errstr_size);
}

df_err_t df_client_flush(df_client_t *c, int timeout_ms)
{
        return df__client_flush(c, timeout_ms, NULL, 0);
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
                df__errf(errstr, errstr_size, "callback id \"%.80s\" is malformed (expected <32 hex>_<op>_<execution>)",
                         callback_id);
                return DF_ERR_UNKNOWN_CALLBACK;
        }
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

df_err_t df_client_stop(df_client_t *c, const char *execution_id, const char *reason, char *errstr,
                        size_t errstr_size)
{
        df__event_t ev;
        if (!c || !df__execution_id_valid(execution_id)) {
                df__errf(errstr, errstr_size, "stop: invalid execution id");
                return DF_ERR_INVALID_ARG;
        }
        memset(&ev, 0, sizeof(ev));
        ev.type = DF__EV_STOP;
        ev.execution_id = (char *)execution_id;
        ev.error = (char *)(reason ? reason : "stopped by client");
        return df__send(c, &ev, 1, errstr, errstr_size);
}

/* ---------------- reading the changelog ---------------- */

typedef struct df__snapshot {
        df__map_t *kv; /* key -> df__buf_t* */
} df__snapshot_t;

static void df__bfree(void *p)
{
        df__buf_t *b = p;
        if (b) {
                free(b->data);
                free(b);
        }
}

/* Read <prefix>.state (all partitions, or one) to its end into a map. */
static int df__snapshot_read(df_client_t *c, df__map_t *kv, char *errstr, size_t errstr_size)
{
        rd_kafka_t *rk = df__reader_new(c, 1, errstr, errstr_size);
        rd_kafka_topic_partition_list_t *tp;
        int p, pending = 0;
        int64_t deadline = df__mono_ms() + c->timeout_ms;

        if (!rk)
                return -1;
        tp = rd_kafka_topic_partition_list_new(c->t.partitions);
        for (p = 0; p < c->t.partitions; p++) {
                int64_t lo, hi;
                rd_kafka_resp_err_t err = df__watermarks(rk, c->t.state, p, &lo, &hi);
                if (err) {
                        df__errf(errstr, errstr_size, "%s[%d]: %s", c->t.state, p, rd_kafka_err2str(err));
                        goto fail;
                }
                if (hi > lo) {
                        rd_kafka_topic_partition_list_add(tp, c->t.state, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
                        pending++;
                }
        }
        rd_kafka_assign(rk, tp);
        while (pending > 0) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
                if (!m) {
                        if (df__mono_ms() > deadline) {
                                df__errf(errstr, errstr_size, "reading %s timed out", c->t.state);
                                goto fail;
                        }
                        continue;
                }
                if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                        pending--;
                } else if (!m->err && m->key) {
                        char key[512];
                        snprintf(key, sizeof(key), "%.*s", (int)(m->key_len < 500 ? m->key_len : 500),
                                 (const char *)m->key);
                        if (m->payload) {
                                df__buf_t *b = calloc(1, sizeof(*b));
                                int err;
                                if (b && !df__buf_set(b, m->payload, m->len))
                                        df__bfree(df__map_put(kv, key, b, &err));
                                else
                                        df__bfree(b);
                        } else {
                                df__bfree(df__map_del(kv, key));
                        }
                }
                rd_kafka_message_destroy(m);
        }
        rd_kafka_topic_partition_list_destroy(tp);
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
        return 0;
fail:
        rd_kafka_topic_partition_list_destroy(tp);
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
        return -1;
}

static int df__snap_get(void *opaque, const char *key, df__buf_t *val, int *found)
{
        df__buf_t *b = df__map_get(opaque, key);
        *found = b != NULL;
        return b ? df__buf_set(val, b->data, b->len) : 0;
}

static void df__json_payload(json_t *o, const char *name, const df__buf_t *b)
{
        char key[64];
        if (!b->len) {
                json_object_set_new(o, name, json_string(""));
                return;
        }
        if (df__utf8_valid((const char *)b->data, b->len) && !memchr(b->data, 0, b->len)) {
                json_object_set_new(o, name, json_stringn(b->len ? (const char *)b->data : "", b->len));
        } else {
                static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
                size_t i, n = b->len, o2 = 0;
                char *s = malloc(4 * ((n + 2) / 3) + 1);
                if (!s)
                        return;
                for (i = 0; i < n; i += 3) {
                        uint32_t v = (uint32_t)b->data[i] << 16;
                        if (i + 1 < n)
                                v |= (uint32_t)b->data[i + 1] << 8;
                        if (i + 2 < n)
                                v |= b->data[i + 2];
                        s[o2++] = tbl[(v >> 18) & 63];
                        s[o2++] = tbl[(v >> 12) & 63];
                        s[o2++] = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
                        s[o2++] = i + 2 < n ? tbl[v & 63] : '=';
                }
                s[o2] = '\0';
                snprintf(key, sizeof(key), "%s_b64", name);
                json_object_set_new(o, key, json_string(s));
                free(s);
        }
}

static json_t *df__exec_json(const df__exec_state_t *st, int with_history)
{
        json_t *o = json_object();
        json_object_set_new(o, "execution_id", json_string(st->exec.execution_id));
        json_object_set_new(o, "workflow", json_string(st->exec.workflow));
        json_object_set_new(o, "status", json_string(df__exec_status_name(st->exec.status)));
        json_object_set_new(o, "created_ms", json_integer(st->exec.created_ms));
        json_object_set_new(o, "updated_ms", json_integer(st->exec.updated_ms));
        df__json_payload(o, "input", &st->exec.input);
        df__json_payload(o, "output", &st->exec.output);
        json_object_set_new(o, "error", json_string(st->exec.error));
        json_object_set_new(o, "operations_count", json_integer(st->n_ops));
        if (with_history) {
                json_t *ops = json_array();
                int i;
                for (i = 1; i <= st->n_ops; i++) {
                        const df__op_rec_t *op = df__exec_state_op(st, i);
                        json_t *j;
                        if (!op)
                                continue;
                        j = json_object();
                        json_object_set_new(j, "op_id", json_string(op->op_id));
                        json_object_set_new(j, "name", json_string(op->name));
                        json_object_set_new(j, "type", json_string(df__op_type_name(op->type)));
                        json_object_set_new(j, "status", json_string(df__op_status_name(op->status)));
                        json_object_set_new(j, "attempt", json_integer(op->attempt));
                        json_object_set_new(j, "started_ms", json_integer(op->started_ms));
                        json_object_set_new(j, "updated_ms", json_integer(op->updated_ms));
                        json_object_set_new(j, "due_ms", json_integer(op->due_ms));
                        df__json_payload(j, "result", &op->result);
                        json_object_set_new(j, "error", json_string(op->error));
                        if (op->type == DF__OP_CALLBACK)
                                json_object_set_new(j, "callback_id", json_string(op->callback_id));
                        json_array_append_new(ops, j);
                }
                json_object_set_new(o, "operations", ops);
        }
        return o;
}

df_err_t df_client_describe(df_client_t *c, const char *execution_id, int with_history, char **json, char *errstr,
                            size_t errstr_size)
{
        df__map_t *kv;
        df__exec_state_t *st;
        df_err_t rc = DF_OK;
        json_t *o;

        *json = NULL;
        if (!c || !df__execution_id_valid(execution_id)) {
                df__errf(errstr, errstr_size, "describe: invalid execution id");
                return DF_ERR_INVALID_ARG;
        }
        kv = df__map_new();
        st = df__exec_state_new();
        if (!kv || !st) {
                rc = DF_ERR_NOMEM;
                goto out;
        }
        if (df__snapshot_read(c, kv, errstr, errstr_size)) {
                rc = DF_ERR_KAFKA;
                goto out;
        }
        if (df__state_load(st, execution_id, df__snap_get, kv, errstr, errstr_size)) {
                rc = DF_ERR_CODEC;
                goto out;
        }
        if (!st->exists) {
                df__errf(errstr, errstr_size, "no execution named \"%s\"", execution_id);
                rc = DF_ERR_NOT_FOUND;
                goto out;
        }
        o = df__exec_json(st, with_history);
        *json = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        json_decref(o);
out:
        df__exec_state_free(st);
        df__map_destroy(kv, df__bfree);
        return rc;
}

struct df__list_ctx {
        df__map_t *kv;
        const char *workflow;
        int status;
        json_t *arr;
};

static void df__list_one(const char *key, void *val, void *opaque)
{
        struct df__list_ctx *l = opaque;
        df__exec_state_t *st;
        char e[256];
        (void)val;
        if (strchr(key, '/'))
                return; /* an operation record */
        st = df__exec_state_new();
        if (!st)
                return;
        if (!df__state_load(st, key, df__snap_get, l->kv, e, sizeof(e)) && st->exists &&
            (!l->workflow || !strcmp(l->workflow, st->exec.workflow)) && (l->status < 0 || l->status == st->exec.status))
                json_array_append_new(l->arr, df__exec_json(st, 0));
        df__exec_state_free(st);
}

static int df__cmp_exec(const void *a, const void *b)
{
        json_t *const *x = a, *const *y = b;
        return strcmp(json_string_value(json_object_get(*x, "execution_id")),
                      json_string_value(json_object_get(*y, "execution_id")));
}

df_err_t df_client_list(df_client_t *c, const char *workflow, const char *status, char **json, char *errstr,
                        size_t errstr_size)
{
        struct df__list_ctx l;
        json_t *sorted;
        json_t **items;
        size_t i, n;

        *json = NULL;
        memset(&l, 0, sizeof(l));
        l.workflow = workflow;
        l.status = -1;
        if (status) {
                l.status = df__exec_status_parse(status);
                if (l.status < 0) {
                        df__errf(errstr, errstr_size,
                                 "unknown status \"%s\" (RUNNING, SUSPENDED, SUCCEEDED, FAILED, STOPPED, "
                                 "NONDETERMINISM)",
                                 status);
                        return DF_ERR_INVALID_ARG;
                }
        }
        l.kv = df__map_new();
        l.arr = json_array();
        if (!l.kv || !l.arr)
                return DF_ERR_NOMEM;
        if (df__snapshot_read(c, l.kv, errstr, errstr_size)) {
                df__map_destroy(l.kv, df__bfree);
                json_decref(l.arr);
                return DF_ERR_KAFKA;
        }
        df__map_foreach(l.kv, df__list_one, &l);
        n = json_array_size(l.arr);
        items = calloc(n + 1, sizeof(*items));
        for (i = 0; items && i < n; i++)
                items[i] = json_incref(json_array_get(l.arr, i));
        if (items)
                qsort(items, n, sizeof(*items), df__cmp_exec);
        sorted = json_array();
        for (i = 0; items && i < n; i++)
                json_array_append_new(sorted, items[i]);
        free(items);
        *json = json_dumps(sorted, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        json_decref(sorted);
        json_decref(l.arr);
        df__map_destroy(l.kv, df__bfree);
        return DF_OK;
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
        if (df__topics_ensure(conf, &r->c.t, errstr, errstr_size))
                goto fail;
        r->rk = df__reader_new(&r->c, 0, errstr, errstr_size);
        if (!r->rk)
                goto fail;
        tp = rd_kafka_topic_partition_list_new(r->c.t.partitions);
        for (p = 0; p < r->c.t.partitions; p++) {
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
                        fn(rec.execution_id, df__exec_status_name(rec.status), &out, rec.error, opaque);
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
