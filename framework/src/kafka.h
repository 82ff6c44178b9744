/* kafka.h -- shared Kafka plumbing: client configs, topics, embedded mode (internal). */
#ifndef DF_KAFKA_H
#define DF_KAFKA_H

#include <librdkafka/rdkafka.h>

#include "internal.h"

typedef struct df__topics {
        char events[256], state[256], timers[256], results[256], dlq[256];
        int create_partitions; /* the "partitions" setting: only sizes the topics duraflow creates */
        /* Partition counts as the brokers report them, learnt by
         * df__topics_ensure() or df__topics_set_counts(); 0 until then.
         * partitions is the count of events and of state (they must match:
         * an execution's state goes to the partition of its events). */
        int partitions, timers_partitions, results_partitions;
} df__topics_t;

/** Names from "topic.prefix", create_partitions from "partitions"; counts 0. */
void df__topics_init(df__topics_t *t, const df_conf_t *conf);
/** Take the counts of the five topics (events, state, timers, results, dlq,
 * in that order; each >= 1).  DF_OK, or DF_ERR_CONF when events and state
 * differ (errstr names both and their counts). */
df_err_t df__topics_set_counts(df__topics_t *t, const int counts[5], char *errstr, size_t errstr_size);
/** Partition of key on t's events (and state) topic: what librdkafka's
 * murmur2_random partitioner picks for a non-empty key (Java clients
 * agree).  t->partitions must be known. */
int32_t df__topics_partition_of(const df__topics_t *t, const char *key);

/** The Kafka header "traceparent" of m into out (DF__TP_SIZE bytes) when it
 * holds a valid W3C traceparent, else out = "". */
void df__kafka_traceparent(const rd_kafka_message_t *m, char *out);

/** A librdkafka conf with bootstrap servers (embedded cluster when "brokers"
 * is empty), the murmur2_random partitioner, and every kafka.* property.
 * client_id names the role. NULL with errstr on failure. */
rd_kafka_conf_t *df__kafka_conf(const df_conf_t *conf, const char *client_id, char *errstr, size_t errstr_size);
/* fetch.wait.max.ms of the consumers that wait for new records (group
 * members, the client's readers): a long poll, answered as soon as a record
 * arrives; short polls only cost the broker CPU while idle. */
#define DF__FETCH_WAIT_MS "500"

struct df__settings;
/**
 * The conf of a consumer-group member that reads only committed records and
 * commits offsets only inside transactions (the worker's and the timer
 * service's): group.id, read_committed, no auto commit, earliest reset,
 * session.timeout.ms from the settings, heartbeat 1 s, and with a stable
 * worker.id static membership (group.instance.id = id, KIP-345); eof: also
 * partition-EOF events.  The caller adds its own (rebalance callback, ...)
 * and then df__kconf_user.  NULL with errstr on failure.
 */
rd_kafka_conf_t *df__group_consumer_conf(const df_conf_t *conf, const struct df__settings *s, const char *client_id,
                                         const char *group, int eof, char *errstr, size_t errstr_size);
/**
 * Finish kc (the user's kafka.* properties last, the rebalance callback and
 * its opaque) and create the group consumer, its main queue served by
 * rd_kafka_consumer_poll.  kc is consumed either way.  NULL with errstr
 * ("<what>: <librdkafka's reason>") on failure.
 */
rd_kafka_t *df__group_consumer_open(rd_kafka_conf_t *kc, const df_conf_t *conf,
                                    void (*rebalance_cb)(rd_kafka_t *, rd_kafka_resp_err_t,
                                                         rd_kafka_topic_partition_list_t *, void *),
                                    void *opaque, const char *what, char *errstr, size_t errstr_size);
/** Subscribe consumer to topic (logged as "<who>: consuming <topic>").
 * DF_OK or DF_ERR_KAFKA (logged). */
df_err_t df__subscribe(rd_kafka_t *consumer, const char *topic, const char *who);

/** A group consumer that failed fatally is replaced at most 3 times in a
 * 60 s window (*window_ms, *count: the caller's, monotonic ms): 0 when one
 * more replacement is allowed, -1 (logged at error, naming who) when not. */
int df__consumer_replace_allowed(int64_t *window_ms, int *count, const char *who);

/** Make a group consumer with make(arg, ...) and subscribe it to topic,
 * every 1 s until both work (each failure logged at warn) or *stop is set.
 * The subscribed consumer (the caller's), or NULL when stopped. */
rd_kafka_t *df__consumer_until_ready(rd_kafka_t *(*make)(void *arg, char *errstr, size_t errstr_size), void *arg,
                                     const char *topic, const char *who, volatile int *stop);
/** Apply the kafka.* properties (again: after a role's own defaults, so the
 * user's word is last). */
int df__kconf_user(rd_kafka_conf_t *kc, const df_conf_t *conf, char *errstr, size_t errstr_size);
/** rd_kafka_conf_set or fail with a message naming the property. */
int df__kconf_set(rd_kafka_conf_t *kc, const char *name, const char *value, char *errstr, size_t errstr_size);

/** A transactional producer (murmur2_random partitioner, the conf's
 * transaction timeout, kafka.* applied last), initialised: init_transactions
 * fences and aborts what an earlier incarnation with the same txid left open.
 * dr_cb may be NULL.  NULL with errstr on failure. */
rd_kafka_t *df__txn_producer_new(const df_conf_t *conf, const char *client_id, const char *txid,
                                 void (*dr_cb)(rd_kafka_t *, const rd_kafka_message_t *, void *), void *opaque,
                                 char *errstr, size_t errstr_size);

/**
 * Create the five topics if missing (with t->create_partitions partitions;
 * state and timers compacted), retrying until "startup.timeout.ms" while the
 * brokers do not answer, then learn their real partition counts from the
 * brokers' metadata into t (topics created by someone else keep theirs).
 * DF_OK; DF_ERR_KAFKA (errstr: the last failure); DF_ERR_CONF (a kafka.*
 * property refused, or events and state of different counts: final, not
 * retried).
 */
df_err_t df__topics_ensure(const df_conf_t *conf, df__topics_t *t, char *errstr, size_t errstr_size);
/* Wait (up to 15 s) until rk's metadata lists every partition of the n
 * topics with a leader; rk then knows their partitions.  counts (may be
 * NULL) receives each topic's partition count.  0, or -1 with errstr. */
int df__topics_wait_leaders(rd_kafka_t *rk, const char *const *names, int n, int *counts, char *errstr,
                            size_t errstr_size);

/** What every long-running program does first: its own copy of conf (*own,
 * to destroy), the typed settings, the codec, the log level, the topic
 * names.  0, or -1 with errstr. */
int df__program_init(const df_conf_t *conf, df_conf_t **own, struct df__settings *s, df__topics_t *t, char *errstr,
                     size_t errstr_size);

/** rd_kafka_query_watermark_offsets, retrying for up to 15 s while the
 * partition has no leader yet (a topic just created) or the broker is slow. */
rd_kafka_resp_err_t df__watermarks(rd_kafka_t *rk, const char *topic, int32_t part, int64_t *lo, int64_t *hi);

void df__conf_foreach_kafka(const df_conf_t *c, void (*fn)(const char *name, const char *value, void *opaque),
                            void *opaque);

#endif
