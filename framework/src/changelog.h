/*
 * changelog.h -- bringing a partition's local store up to date from its
 * changelog, <prefix>.state (internal), in the role of Kafka Streams'
 * StoreChangelogReader.
 *
 * On assignment (and after a failed RocksDB write) the worker restores
 * each partition from its stored checkpoint to the changelog's stable end.
 * A checkpoint outside the changelog's offsets, or naming another record
 * than the one at its offset (a topic deleted and recreated, a state
 * directory from elsewhere), is not trusted: the partition's local state is
 * dropped and rebuilt from the start.  The previous owner's open
 * transaction is waited for (at most transaction.timeout.ms), so what it
 * commits is restored too.
 *
 * Not thread-safe: the worker's thread (or its rebalance callback) drives it.
 */
#ifndef DF_CHANGELOG_H
#define DF_CHANGELOG_H

#include "store.h"

typedef struct df__changelog {
        rd_kafka_t *restorer; /* read_committed, no group, partition EOF events */
        rd_kafka_t *probe;    /* read_uncommitted: the high watermark (also the worker's watermark probe) */
        const char *topic;    /* <prefix>.state (owned by the caller) */
        int64_t txn_timeout_ms;
} df__changelog_t;

/** Create the two consumers.  0, or -1 with errstr. */
int df__changelog_open(df__changelog_t *cl, const df_conf_t *conf, const char *client_id, const char *topic,
                       int64_t txn_timeout_ms, char *errstr, size_t errstr_size);
void df__changelog_close(df__changelog_t *cl);

/** Bring part's records in store up to the changelog's stable end.
 * 0, or -1 (logged; nothing of the partition may be processed yet). */
int df__changelog_restore(df__changelog_t *cl, df__store_t *store, int part);

#endif /* DF_CHANGELOG_H */
