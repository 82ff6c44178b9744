/*
 * worker_probe.c -- the worker's telemetry: its metric series, and the
 * /readyz and /healthz probes the metrics server asks.
 */
#include <stdio.h>

#include "worker_int.h"

/* /readyz: every assigned partition restored, the store current, the
 * producer usable.  Runs on the metrics server's thread: reads atomics only. */
static int df__worker_ready(char *reason, size_t size, void *opaque)
{
        df_worker_t *w = opaque;
        int ready = 1;
        if (__atomic_load_n(&w->txn.fatal, __ATOMIC_RELAXED)) {
                snprintf(reason, size, "the transactional producer failed (%s)",
                         df_err_name(__atomic_load_n(&w->txn.fatal, __ATOMIC_RELAXED)));
                ready = 0;
        } else if (__atomic_load_n(&w->need_restore, __ATOMIC_RELAXED)) {
                snprintf(reason, size, "partitions not restored from the changelog yet");
                ready = 0;
        } else if (!__atomic_load_n(&w->n_assigned, __ATOMIC_RELAXED)) {
                snprintf(reason, size, "no partition assigned");
                ready = 0;
        }
        df__gauge_set(w->m_ready, ready);
        return ready;
}

/* /healthz: the store can be written (room on disk, no failed write). */
static int df__worker_live(char *reason, size_t size, void *opaque)
{
        df_worker_t *w = opaque;
        int live = __atomic_load_n(&w->stats.healthy, __ATOMIC_RELAXED);
        if (!live)
                snprintf(reason, size, "the state store cannot be written (disk space or I/O error)");
        df__gauge_set(w->m_healthy, live);
        return live;
}

int df__worker_telemetry(df_worker_t *w, char *errstr, size_t errstr_size)
{
        df__metrics_t *m = df__telemetry_metrics();
        w->m_commit = df__metric_series(m, DF__M_COMMIT_DURATION, "worker");
        w->m_events = df__metric_series(m, DF__M_EVENTS_PROCESSED, "worker");
        w->m_batch = df__metric_series(m, DF__M_BATCH_SIZE, "worker");
        w->m_aborts = df__metric_series(m, DF__M_TRANSACTION_ABORTS, "worker");
        w->m_assigned = df__metric_series(m, DF__M_PARTITIONS_ASSIGNED, "worker");
        w->m_ready = df__metric_series(m, DF__M_READY, "worker");
        w->m_healthy = df__metric_series(m, DF__M_HEALTHY, "worker");
        w->m_free = df__metric_series(m, DF__M_STATE_FREE_BYTES, "worker");
        w->m_dlq_decode = df__metric_series(m, DF__M_DLQ_RECORDS, "worker", "decode");
        w->m_dlq_process = df__metric_series(m, DF__M_DLQ_RECORDS, "worker", "process");
        w->probe = (df__telemetry_probe_t){.component = "worker", .ready = df__worker_ready, .live = df__worker_live, .opaque = w};
        if (df__telemetry_join(&w->s, &w->probe, errstr, errstr_size))
                return -1;
        w->telemetry_joined = 1;
        return 0;
}
