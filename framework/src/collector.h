/*
 * collector.h -- the record collector of a worker's batch (internal), in
 * the role of Kafka Streams' RecordCollectorImpl.
 *
 * Processing a batch runs its steps before any transaction is open; every
 * record the batch produces (changelog records, events, timer requests and
 * withdrawals, results, dead letters) is kept here, encoded, and produced
 * into the batch's transaction at commit time.  Each record remembers the
 * input record it came from, so a record Kafka refuses can be pinned on
 * its source.  The records of one execution can be dropped again
 * (df__collector_truncate) when that execution alone failed.
 *
 * Spans (trace.h) the batch's replays ended are kept here too, in order
 * with the records, so that they share the records' fate: handed to the
 * exporter only once the batch committed (df__collector_submit_spans), dropped
 * with the records of an execution undone alone or of an aborted batch; a
 * replay of the same work after a crash before the commit then emits them
 * once, with the same deterministic ids.
 *
 * Not thread-safe: one thread fills a collector.
 */
#ifndef DF_COLLECTOR_H
#define DF_COLLECTOR_H

#include "records.h"
#include "trace.h"
#include "txn.h"

/** One output record, owned (key and value copied). */
typedef struct df__out {
        const char *topic; /* owned by the caller (the worker's topic names) */
        int32_t part;      /* RD_KAFKA_PARTITION_UA: by key */
        char *key;
        size_t klen;
        void *val;         /* NULL: tombstone */
        size_t vlen;
        int src;           /* index of the input record it came from, -1: none */
        char tp[DF__TP_SIZE]; /* Kafka header "traceparent" of the record, "" = none */
        df__span_t *span;  /* not a record: a span held until the commit (topic, key, val unused) */
} df__out_t;

typedef struct df__collector {
        df__out_t *outs;
        int n, cap;
        size_t bytes;      /* keys + values held, bytes */
} df__collector_t;

/** Keep a record (key and value copied; val NULL = tombstone).  0, or -1 (no memory). */
int df__collector_add(df__collector_t *c, const char *topic, int32_t part, const void *key, size_t klen,
                      const df__buf_t *val, int src);
/** Encode and keep an event for topic, keyed by its execution id. */
int df__collector_event(df__collector_t *c, const char *topic, const df__event_t *ev, int src);
/** Encode and keep a timer request for topic, keyed by its timer id. */
int df__collector_timer(df__collector_t *c, const char *topic, const df__timer_rec_t *t, int src);
/** Encode and keep a result or reply for topic, keyed by its execution id. */
int df__collector_result(df__collector_t *c, const char *topic, const df__result_rec_t *r, int src);
/**
 * Keep a dead letter for dlq_topic: the original record's topic, partition,
 * offset, key and value (a value over 1,000,000 bytes cut to its first
 * 65,536), and the error.  0, or -1 when not even its coordinates could be
 * encoded.
 */
int df__collector_dead_letter(df__collector_t *c, const char *dlq_topic, const rd_kafka_message_t *m,
                              const char *error, int src);
/** Keep a span (owned from now on, also on failure) until the batch is
 * committed.  0, or -1 (no memory: the span is dropped). */
int df__collector_span(df__collector_t *c, df__span_t *span, int src);
/** Hand every span kept to exp (df__otlp_submit; NULL: they are dropped)
 * and forget them; the records stay.  After the batch's commit. */
void df__collector_submit_spans(df__collector_t *c, df__otlp_t *exp);
/** Drop the records from index mark on. */
void df__collector_truncate(df__collector_t *c, int mark);
/** Move every record of src to the end of dst, in order (src is left
 * empty).  0, or -1 (no memory: both unchanged). */
int df__collector_move(df__collector_t *dst, df__collector_t *src);
void df__collector_clear(df__collector_t *c);
void df__collector_destroy(df__collector_t *c);
/** Produce every record into t's open transaction.  0, or -1 with *failed_src
 * the source index of the record Kafka refused (-1 if none). */
int df__collector_produce(df__collector_t *c, df__txn_t *t, int *failed_src);

#endif /* DF_COLLECTOR_H */
