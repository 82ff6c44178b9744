/*
 * task.h -- applying a batch's events to the replay engine (internal), in
 * the role of Kafka Streams' StreamTask: load each execution's state from
 * the partition's store (through a handle bound to that partition), apply
 * the event, keep the changelog records and every other output in the
 * collector, stage the store's changes for after the commit.
 *
 * One execution's failure never fails the batch: its changes are undone
 * and it is QUARANTINED (df__engine_quarantine) with the event kept; only a
 * store read error aborts the batch.  The crash breadcrumb names the
 * execution and step body being run.  An execution that yielded (a long
 * history over batch.max.bytes, an at-most-once continuation) keeps its
 * committed state in memory for the next batch.
 *
 * Not thread-safe: the worker's thread drives a task.
 */
#ifndef DF_TASK_H
#define DF_TASK_H

#include "collector.h"
#include "crashlog.h"
#include "store.h"

/* A timer this worker fires itself when due (timer.local.max.ms). */
typedef struct df__local_timer {
        char *timer_id;
        int64_t due_ms;
        int part;
        df__buf_t payload; /* the encoded event to apply */
} df__local_timer_t;

typedef struct df__task {
        df__engine_t *eng;
        df__store_t *store;
        const df__topics_t *t;
        df__crashlog_t *crashlog;   /* may be NULL */
        df__collector_t out;        /* the batch's output records */
        rocksdb_writebatch_t *wb;   /* the batch's store changes, written after the commit */
        df__map_t *cache;           /* exec id -> df__exec_state_t *, this batch */
        df__map_t *yielded;         /* exec ids that go on in the next batch (a CONTINUE) */
        df__map_t *carry;           /* exec id -> committed state of a yielded execution */
        df__map_t *exec_part;       /* exec id -> partition + 1, this batch */
        df__map_t *sched_recs;      /* schedule key -> df__buf_t *: its record as this batch wrote it
                                     * (data NULL: deleted), read by the batch's later events */
        size_t batch_max_bytes;     /* batch.max.bytes */
        size_t loaded_bytes;        /* state read this batch */
        int src;                    /* index of the input record being processed, -1: none */
        int store_err;              /* the last failed load was a store I/O error */
        uint64_t events, dlq;       /* counters (read by the worker's stats) */
        uint64_t batch_dlq_decode, batch_dlq_process; /* dead letters of this batch, by reason */
        int64_t local_max_ms, local_grace_ms; /* timer.local.max.ms, timer.local.grace.ms */
        int cur_part;               /* partition of the event being applied */
        df__local_timer_t *local;   /* timers armed this batch to fire here (valid once committed) */
        int n_local, cap_local;
} df__task_t;

int df__task_init(df__task_t *k, df__engine_t *eng, df__store_t *store, const df__topics_t *t,
                  df__crashlog_t *crashlog, size_t batch_max_bytes);
void df__task_destroy(df__task_t *k);

/**
 * Apply one event of partition part.  committed = 1 when every earlier
 * change of its execution is committed (at-most-once continuations).  raw:
 * its encoded form (kept if the execution is quarantined), NULL for a
 * synthesised event.  0 when applied (or, failing inside the engine or its
 * records not encodable, when the execution was quarantined instead); -1
 * when the batch must abort (a store read error: retried); -2 when the
 * event must be dead-lettered (its execution's state cannot be read or
 * recorded).
 */
int df__task_apply(df__task_t *k, const df__event_t *ev, int part, int committed, const df__buf_t *raw);
/**
 * Apply one input record of <prefix>.events (index src in the batch):
 * undecodable, hostile or mismatched records go to the DLQ (a request among
 * them is answered DF_ERR_REJECTED), as does the record when poison is set
 * (its processing failed twice).  0, or -1 when the batch must abort.
 */
int df__task_apply_record(df__task_t *k, const rd_kafka_message_t *m, int src, int poison);
/**
 * Apply the records msgs[0..n-1] of a batch (task_lanes.c): the events of
 * each execution in their order on one thread, different executions at once
 * on up to worker.threads lanes; records that are not an execution's event
 * (undecodable, a schedule's, the poison record at poison_part/poison_off)
 * one by one on this thread.  No new execution starts after budget_ms since
 * t0_ms (df__mono_ms) or once the batch holds batch.max.bytes.  Returns how
 * many records (a prefix, at least 1 when n >= 1) were applied, or -1 when
 * the batch must abort (a store I/O error, no memory).  Called by the
 * worker's thread only.
 */
int df__task_apply_batch(df__task_t *k, rd_kafka_message_t **msgs, int n, int poison_part, int64_t poison_off,
                         int64_t t0_ms, int64_t budget_ms);
/** Partition of an execution applied this batch, -1 if none. */
int df__task_partition_of(df__task_t *k, const char *execution_id);
/** Forget the batch (before it starts, and after an abort). */
void df__task_reset(df__task_t *k);
/** After the batch committed and its store changes were written: free what
 * it held now (keeping the state of executions that yielded) and, after a
 * batch that moved a lot, give the memory back to the system. */
void df__task_done(df__task_t *k);
/** Forget carried states (after an abort or a rebalance). */
void df__task_carry_clear(df__task_t *k);
/** Take the batch's local timers (after its commit): moved into *out (n
 * entries, the caller frees each with df__local_timer_clear and the array). */
int df__task_take_local(df__task_t *k, df__local_timer_t **out);
void df__local_timer_clear(df__local_timer_t *t);

#endif /* DF_TASK_H */
