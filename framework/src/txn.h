/*
 * txn.h -- the transactional producer of a worker or a timer service
 * (internal), in the role of Kafka Streams' StreamsProducer (EOS v2).
 *
 * One transactional id per instance ("<prefix>-<role>-<instance id>"),
 * init_transactions at creation (it fences and aborts what an earlier
 * incarnation left open), and one classification of librdkafka's
 * transactional errors:
 *
 *   fatal (the producer is fenced or broken: DF_ERR_FENCED when another
 *   instance took the transactional id or the group fenced this member,
 *   DF_ERR_KAFKA otherwise)            -> DF__TXN_FATAL: df__txn_replace()
 *   requires abort                     -> the transaction is aborted here:
 *                                         DF__TXN_ABORTED, redo the work
 *   retriable (a timeout, the broker away) -> DF__TXN_RETRY: call again
 *
 * An abort that times out is resumable: librdkafka refuses every other
 * transactional call until it completes, so it is resumed first thing by
 * the next df__txn_begin().
 *
 * Not thread-safe: one thread drives a df__txn_t.
 */
#ifndef DF_TXN_H
#define DF_TXN_H

#include "kafka.h"

typedef enum df__txn_rc {
        DF__TXN_OK = 0,
        DF__TXN_RETRY = 1,   /* not done; nothing lost: call again (after a pause) */
        DF__TXN_ABORTED = 2, /* the transaction was aborted: its work must be redone */
        DF__TXN_FATAL = 3,   /* the producer cannot go on: df__txn_replace() (t->fatal says why) */
} df__txn_rc_t;

typedef void (*df__txn_dr_fn)(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque);

typedef struct df__txn {
        rd_kafka_t *rk;          /* the producer (replaced by df__txn_replace) */
        df_err_t fatal;          /* DF_ERR_FENCED or DF_ERR_KAFKA once fatal; DF_OK before */
        int abort_pending;       /* an abort timed out: resume it before anything else */
        uint64_t aborts;         /* transactions aborted */
        /* private */
        const df_conf_t *conf;
        char client_id[300], txid[300], who[160];
        df__txn_dr_fn dr_cb;
        void *dr_opaque;
        int replacements;        /* in the current minute */
        int64_t window_ms;
} df__txn_t;

/**
 * Create and initialise the producer: client id "duraflow-<role>-<id>",
 * transactional id "<prefix>-<role>-<id>" (prefix: topic.prefix).  dr_cb (may be NULL) sees every
 * delivery report.  0, or -1 with errstr (the brokers did not answer, a
 * kafka.* property was refused).
 */
int df__txn_init(df__txn_t *t, const df_conf_t *conf, const char *prefix, const char *role, const char *id,
                 df__txn_dr_fn dr_cb, void *dr_opaque, char *errstr, size_t errstr_size);
void df__txn_destroy(df__txn_t *t);

/** Begin a transaction (resuming a pending abort first).  OK, RETRY, FATAL. */
df__txn_rc_t df__txn_begin(df__txn_t *t);
/** Produce one record (copied) into the open transaction, waiting while
 * librdkafka's queue is full.  RD_KAFKA_RESP_ERR_NO_ERROR or the error. */
rd_kafka_resp_err_t df__txn_produce(df__txn_t *t, const char *topic, int32_t part, const void *key, size_t klen,
                                    const void *val, size_t vlen);
/** The same with a Kafka header "traceparent" (a W3C traceparent,
 * NUL-terminated; NULL or "" = no header). */
rd_kafka_resp_err_t df__txn_produce_tp(df__txn_t *t, const char *topic, int32_t part, const void *key, size_t klen,
                                       const void *val, size_t vlen, const char *traceparent);
/** send_offsets_to_transaction with consumer's group metadata (KIP-447:
 * fences a member that lost its partitions).  OK, ABORTED, RETRY, FATAL. */
df__txn_rc_t df__txn_send_offsets(df__txn_t *t, rd_kafka_t *consumer, const rd_kafka_topic_partition_list_t *offsets);
/** Commit (retried while retriable).  OK, ABORTED, FATAL. */
df__txn_rc_t df__txn_commit(df__txn_t *t);
/** Abort the open transaction.  OK (aborted), RETRY (timed out: pending,
 * resumed by the next begin), FATAL. */
df__txn_rc_t df__txn_abort(df__txn_t *t);
/** 1 when the producer failed fatally in the background (t->fatal set). */
int df__txn_failed(df__txn_t *t);
/**
 * Replace a fatally failed producer with a new one with the same
 * transactional id (a transaction that timed out while the broker was away
 * is fenced by the coordinator's epoch bump; the instance carries on).  A
 * real twin with the same id would make this happen again and again: after
 * 3 replacements within a minute it gives up.  Retries creation every
 * second while *stop is 0.  0, or -1 (give up: t->fatal stays set).
 */
int df__txn_replace(df__txn_t *t, const volatile int *stop);

#endif /* DF_TXN_H */
