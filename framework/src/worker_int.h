/*
 * worker_int.h -- what the files of the worker share (internal): the worker
 * itself and the functions one of its files calls in another.
 *
 *   worker.c          the loop: poll, batch, transaction, commit
 *   worker_group.c    the group consumer: rebalances, keepalive, replacement
 *   worker_store.c    the store after a commit, free disk, restore
 *   worker_local.c    timers fired here (timer.local.max.ms), fault injection
 *   worker_retention.c retention.ms: the sweep of the store's end-time index
 *   worker_amo.c      at-most-once steps, run once their START committed
 *   worker_crash.c    the previous process's deaths, reported at startup
 *   worker_probe.c    /readyz, /healthz and the worker's metric series
 */
#ifndef DF_WORKER_INT_H
#define DF_WORKER_INT_H

#include <pthread.h>
#include <signal.h>
#include <stdint.h>

#include "changelog.h"
#include "settings.h"
#include "task.h"
#include "telemetry.h"
#include "trace.h"
#include "txn.h"

/* Counters read by df_worker_get_stats() from other threads. */
#define DF__STAT_ADD(field, n) __atomic_add_fetch(&(field), (n), __ATOMIC_RELAXED)
#define DF__STAT_SET(field, v) __atomic_store_n(&(field), (v), __ATOMIC_RELAXED)

struct df_worker {
        df_conf_t *conf;
        df__settings_t s;          /* conf as typed values */
        df__topics_t t;
        char id[128];
        int batch_max, batch_ms;
        rd_kafka_t *consumer;
        df__txn_t txn;
        df__changelog_t cl;
        df__store_t store;
        df__engine_t *eng;
        df__task_t task;
        df__crashlog_t *crashlog;  /* breadcrumbs: which execution / step body this process runs */
        df__crash_rec_t *crashes;  /* left by the previous process with this worker.id: to report */
        int n_crashes;
        int fails;                 /* batches not committed in a row (for the retry backoff) */
        df__ckpt_t *dr_ckpt;       /* per partition: last delivered state record (next = -1: none) */
        rd_kafka_message_t **msgs; /* consumed, not yet committed; capacity 2 * batch_max */
        int n_msgs;
        int n_done;                /* how many of msgs the last transaction processed */
        int64_t txn_budget_ms;     /* stop adding events to a batch after processing this long */
        int poison_part;           /* record whose output Kafka refused: */
        int64_t poison_off;        /* the retry sends it to the DLQ */
        int need_restore;          /* the store missed a committed batch: catch up first */
        /* keepalive: while a batch runs longer than max.poll.interval.ms / 4,
         * another thread pauses the partitions and polls the consumer, so a
         * long step does not cost the group membership */
        pthread_t ka_thr;
        int ka_started;
        pthread_mutex_t poll_lock;  /* held by whichever thread polls the consumer */
        int64_t busy_since;         /* monotonic ms a batch started, 0 when idle (atomic) */
        int64_t ka_after_ms;
        int in_keepalive;           /* the keepalive thread is inside a poll */
        int paused;                 /* partitions paused by the keepalive */
        int lost;                   /* a rebalance happened while a batch ran: abort it */
        volatile sig_atomic_t ka_stop;
        volatile int stop;
        df_worker_stats_t stats;    /* batches, aborts, healthy; the rest from the task and engine */
        df__telemetry_probe_t probe; /* /readyz, /healthz */
        int telemetry_joined;
        df__otlp_t *tracer;         /* otlp.endpoint's exporter (the engine's spans), NULL: off */
        int n_assigned;             /* partitions assigned (atomic: read by the metrics thread) */
        df__series_t *m_commit, *m_events, *m_batch, *m_aborts, *m_assigned, *m_ready, *m_healthy, *m_free;
        df__series_t *m_dlq_decode, *m_dlq_process;
        /* timers this worker fires itself when due (timer.local.max.ms) */
        df__local_timer_t *local;
        int n_local, cap_local;
        int64_t *committed;         /* per partition: the offset last committed by this worker, -1 unknown */
        /* fault injection for the tests only ($DF_FAULT_INJECT, read once):
         * SIGKILL this process before (1) or after (2) the commit of the
         * kill_nth batch that fires timers here */
        int kill_when, kill_nth;
        /* retention.ms's sweep (worker_retention.c) */
        int64_t sweep_next_ms;      /* monotonic ms of the next look at the index */
        int sweep_due;              /* entries are due: the next batch sweeps */
        int consumer_fatal;         /* the group consumer failed fatally: replace it */
        int consumer_replacements;  /* in the current minute */
        int64_t consumer_window_ms;
};

/* worker.c: the batch and its transaction */
void df__batch_reset(df_worker_t *w);
/** 0 when begun, 1 when not (retry), -1 on a fatal error. */
int df__batch_begin(df_worker_t *w);
/** 1 = retry the batch, -1 = fatal. */
int df__batch_abort(df_worker_t *w);
/** 0 when committed, 1 when not (the batch is dropped), -1 on a fatal error. */
int df__batch_commit(df_worker_t *w, rd_kafka_topic_partition_list_t *offs);
void df__shift_msgs(df_worker_t *w, int n);
void df__drop_msgs(df_worker_t *w);

/* worker_group.c */
rd_kafka_t *df__consumer_new(df_worker_t *w, const char *cid, char *errstr, size_t errstr_size);
int df__consumer_replace(df_worker_t *w, const char *who);
void *df__keepalive_main(void *arg);
void df__busy_begin(df_worker_t *w);
void df__busy_end(df_worker_t *w);

/* worker_store.c */
int df__store_commit(df_worker_t *w);
int df__store_ready(df_worker_t *w, int *backoff_ms);

/* worker_local.c */
void df__local_forget(df_worker_t *w);
void df__local_arm(df_worker_t *w);
int64_t df__local_next(const df_worker_t *w);
int df__local_fire(df_worker_t *w, rd_kafka_topic_partition_list_t *parts);
void df__fault_inject_load(df_worker_t *w);
void df__fault_inject(df_worker_t *w, int when, int fired_here);

/* worker_retention.c */
/** 1 when an assigned partition has finished executions whose retention.ms
 * may be over (looked at once a second at most; cheap otherwise). */
int df__retention_due(df_worker_t *w);
/** In the open batch: purge what is due (at most 1,000 index entries; the
 * rest in the next batch), adding each partition touched to parts (offset
 * -1).  *visited gets the entries visited.  0, or -1 when the batch must abort. */
int df__retention_sweep(df_worker_t *w, rd_kafka_topic_partition_list_t *parts, int *visited);

/* worker_amo.c */
int df__run_amo(df_worker_t *w);

/* worker_crash.c */
void df__crashlog_load(df_worker_t *w);
int df__report_crashes(df_worker_t *w);

/* worker_probe.c */
int df__worker_telemetry(df_worker_t *w, char *errstr, size_t errstr_size);

#endif /* DF_WORKER_INT_H */
