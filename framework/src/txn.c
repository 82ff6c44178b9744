/*
 * txn.c -- the transactional producer shared by the worker and the timer
 * service (see txn.h): begin / produce / send offsets / commit / abort, the
 * resumable abort, one triage of librdkafka's errors, replacement.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "txn.h"

int df__txn_init(df__txn_t *t, const df_conf_t *conf, const char *prefix, const char *role, const char *id,
                 df__txn_dr_fn dr_cb, void *dr_opaque, char *errstr, size_t errstr_size)
{
        memset(t, 0, sizeof(*t));
        t->conf = conf;
        t->dr_cb = dr_cb;
        t->dr_opaque = dr_opaque;
        snprintf(t->client_id, sizeof(t->client_id), "duraflow-%s-%s", role, id);
        snprintf(t->txid, sizeof(t->txid), "%s-%s-%s", prefix, role, id);
        snprintf(t->who, sizeof(t->who), "%s %s", role, id);
        t->rk = df__txn_producer_new(conf, t->client_id, t->txid, dr_cb, dr_opaque, errstr, errstr_size);
        return t->rk ? 0 : -1;
}

void df__txn_destroy(df__txn_t *t)
{
        if (!t->rk)
                return;
        rd_kafka_flush(t->rk, 5000);
        rd_kafka_destroy(t->rk);
        t->rk = NULL;
}

int df__txn_failed(df__txn_t *t)
{
        if (!t->fatal && rd_kafka_fatal_error(t->rk, NULL, 0))
                t->fatal = DF_ERR_KAFKA;
        return t->fatal != DF_OK;
}

static df_err_t df__txn_fatal_code(const rd_kafka_error_t *error)
{
        rd_kafka_resp_err_t c = rd_kafka_error_code(error);
        return c == RD_KAFKA_RESP_ERR__FENCED || c == RD_KAFKA_RESP_ERR_PRODUCER_FENCED ||
                               c == RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH
                       ? DF_ERR_FENCED
                       : DF_ERR_KAFKA;
}

df__txn_rc_t df__txn_abort(df__txn_t *t)
{
        rd_kafka_error_t *error = rd_kafka_abort_transaction(t->rk, 30000);
        if (!error) {
                t->abort_pending = 0;
                return DF__TXN_OK;
        }
        df__log(DF__LOG_ERROR, "abort_transaction: %s (%s)", rd_kafka_error_string(error), t->who);
        if (rd_kafka_error_is_fatal(error) || rd_kafka_fatal_error(t->rk, NULL, 0)) {
                t->fatal = df__txn_fatal_code(error);
                rd_kafka_error_destroy(error);
                return DF__TXN_FATAL;
        }
        t->abort_pending = 1;
        rd_kafka_error_destroy(error);
        return DF__TXN_RETRY;
}

/* The one triage of a failed transactional call (consumes error). */
static df__txn_rc_t df__txn_triage(df__txn_t *t, rd_kafka_error_t *error, const char *what)
{
        df__txn_rc_t rc;
        df__log(DF__LOG_WARN, "%s: %s (%s)", what, rd_kafka_error_string(error), t->who);
        if (rd_kafka_error_is_fatal(error)) {
                t->fatal = df__txn_fatal_code(error);
                rc = DF__TXN_FATAL;
        } else if (rd_kafka_error_txn_requires_abort(error)) {
                t->aborts++;
                rc = df__txn_abort(t);
                if (rc == DF__TXN_OK || rc == DF__TXN_RETRY)
                        rc = DF__TXN_ABORTED; /* aborted, or pending: either way the work is undone */
        } else if (rd_kafka_error_is_retriable(error)) {
                rc = DF__TXN_RETRY;
        } else {
                t->fatal = DF_ERR_KAFKA;
                rc = DF__TXN_FATAL;
        }
        rd_kafka_error_destroy(error);
        return rc;
}

df__txn_rc_t df__txn_begin(df__txn_t *t)
{
        rd_kafka_error_t *error;
        df__txn_rc_t rc;

        if (df__txn_failed(t))
                return DF__TXN_FATAL;
        if (t->abort_pending && (rc = df__txn_abort(t)) != DF__TXN_OK)
                return rc;
        /* local: the broker's transaction (and its timeout) starts with the
         * first record produced */
        error = rd_kafka_begin_transaction(t->rk);
        if (!error)
                return DF__TXN_OK;
        rc = df__txn_triage(t, error, "begin_transaction");
        if (rc == DF__TXN_ABORTED)
                rc = DF__TXN_RETRY;
        if (rc != DF__TXN_FATAL && df__txn_failed(t))
                rc = DF__TXN_FATAL;
        return rc;
}

rd_kafka_resp_err_t df__txn_produce(df__txn_t *t, const char *topic, int32_t part, const void *key, size_t klen,
                                    const void *val, size_t vlen)
{
        return df__txn_produce_tp(t, topic, part, key, klen, val, vlen, NULL);
}

rd_kafka_resp_err_t df__txn_produce_tp(df__txn_t *t, const char *topic, int32_t part, const void *key, size_t klen,
                                       const void *val, size_t vlen, const char *traceparent)
{
        rd_kafka_resp_err_t err;
        for (;;) {
                if (traceparent && *traceparent)
                        err = rd_kafka_producev(t->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(part),
                                                RD_KAFKA_V_KEY(key, klen), RD_KAFKA_V_VALUE((void *)val, vlen),
                                                RD_KAFKA_V_HEADER("traceparent", traceparent,
                                                                  (ssize_t)strlen(traceparent)),
                                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
                else
                        err = rd_kafka_producev(t->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(part),
                                                RD_KAFKA_V_KEY(key, klen), RD_KAFKA_V_VALUE((void *)val, vlen),
                                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
                if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
                        return err;
                rd_kafka_poll(t->rk, 10);
        }
}

df__txn_rc_t df__txn_send_offsets(df__txn_t *t, rd_kafka_t *consumer, const rd_kafka_topic_partition_list_t *offsets)
{
        rd_kafka_consumer_group_metadata_t *cgmd = rd_kafka_consumer_group_metadata(consumer);
        rd_kafka_error_t *error = rd_kafka_send_offsets_to_transaction(t->rk, offsets, cgmd, 30000);
        rd_kafka_consumer_group_metadata_destroy(cgmd);
        return error ? df__txn_triage(t, error, "send_offsets_to_transaction") : DF__TXN_OK;
}

df__txn_rc_t df__txn_commit(df__txn_t *t)
{
        for (;;) {
                rd_kafka_error_t *error = rd_kafka_commit_transaction(t->rk, 60000);
                df__txn_rc_t rc;
                if (!error)
                        return DF__TXN_OK;
                rc = df__txn_triage(t, error, "commit_transaction");
                if (rc != DF__TXN_RETRY)
                        return rc;
        }
}

int df__txn_replace(df__txn_t *t, const volatile int *stop)
{
        char errstr[512];
        int64_t now = df__mono_ms();
        rd_kafka_t *rk;

        if (now - t->window_ms > 60000) {
                t->window_ms = now;
                t->replacements = 0;
        }
        if (++t->replacements > 3) {
                df__log(DF__LOG_ERROR, "%s: fatal producer errors keep coming (another instance with the same id?): "
                                       "stopping",
                        t->who);
                return -1;
        }
        df__log(DF__LOG_WARN, "%s: fatal producer error (%s): recreating the transactional producer", t->who,
                df_err_name(t->fatal));
        rd_kafka_purge(t->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_destroy(t->rk);
        t->rk = NULL;
        for (;;) {
                rk = df__txn_producer_new(t->conf, t->client_id, t->txid, t->dr_cb, t->dr_opaque, errstr,
                                          sizeof(errstr));
                if (rk)
                        break;
                if (stop && *stop)
                        return -1;
                df__log(DF__LOG_WARN, "%s: not ready: %s; retrying in 1 s", t->who, errstr);
                sleep(1);
        }
        t->rk = rk;
        t->fatal = DF_OK;
        t->abort_pending = 0;
        return 0;
}
