/*
 * metrics.h -- Prometheus metrics: a registry of counters, gauges and
 * histograms with bounded label sets, rendered in the Prometheus text
 * exposition format (version 0.0.4), served over HTTP (libmicrohttpd) on
 * /metrics next to /healthz (liveness) and /readyz (readiness), and the
 * parser of librdkafka's statistics JSON (consumer lag, rebalances).
 *
 * Every metric family duraflow exposes is declared once, in DF__METRICS
 * below (name, kind, help, labels, buckets): code that counts something
 * names the family by its DF__M_* id and passes the label values.
 *
 * Thread safety: every function may be called from any thread once the
 * registry exists.  Updating a series is a relaxed atomic add (counters,
 * histogram buckets) or store (gauges): no lock, no allocation.  Looking a
 * series up by its label values (df__metric_series) takes no lock when the
 * series exists (a scan of an append-only, published array); creating it
 * takes the family's mutex once.  A caller on a hot path may keep the
 * returned df__series_t pointer: it lives as long as the registry.
 *
 * Cardinality: label values must be bounded sets (workflow names, statuses,
 * partitions, component names), never execution ids.  Each family holds at
 * most DF__METRIC_MAX_SERIES series; past that, values go to one overflow
 * series whose labels are all "_overflow" and duraflow_metrics_series_dropped_total
 * counts the label sets that were folded into it.  A label value that is
 * not valid UTF-8, contains a control character or exceeds
 * DF__METRIC_LABEL_MAX bytes is recorded as "_invalid".
 *
 * Units: durations are observed in seconds (double), sizes in bytes, counts
 * as plain numbers, as Prometheus' conventions want (base units).
 */
#ifndef DF_METRICS_H
#define DF_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "duraflow/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DF__METRIC_MAX_SERIES 512 /* per family, including the overflow series */
#define DF__METRIC_MAX_LABELS 3
#define DF__METRIC_LABEL_MAX 256 /* bytes of one label value (a Kafka topic name fits) */

/* Histogram bucket sets (upper bounds, ascending; +Inf is implicit). */
#define DF__BUCKETS_FAST_SECONDS 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60
#define DF__BUCKETS_SLOW_SECONDS 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600
#define DF__BUCKETS_LATENESS_SECONDS 0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60
#define DF__BUCKETS_RECORDS 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000

/*
 * The metric families: X(id, kind, name, help, labels, buckets)
 *   kind    COUNTER (monotonic, name ends in _total), GAUGE, HISTOGRAM
 *   labels  a string literal of comma-separated label names, "" for none
 *   buckets one of the DF__BUCKETS_* sets for histograms, 0 otherwise
 * "component" is "worker", "timer" or "console" (several may share a
 * process, and so one /metrics page).
 */
#define DF__METRICS(X)                                                                                           \
        X(EXECUTIONS_STARTED, COUNTER, "duraflow_executions_started_total",                                      \
          "Executions started (accepted start events), by workflow.", "workflow", 0)                            \
        X(EXECUTIONS_FINISHED, COUNTER, "duraflow_executions_finished_total",                                    \
          "Executions that reached a terminal status (SUCCEEDED, FAILED, TIMED_OUT, STOPPED), by workflow.",    \
          "workflow,status", 0)                                                                                  \
        X(EXECUTIONS_SUSPENDED, COUNTER, "duraflow_executions_suspended_total",                                  \
          "Times an execution suspended (returned DF_SUSPENDED), by workflow and what it waits on.",            \
          "workflow,kind", 0)                                                                                    \
        X(EXECUTIONS_WAITING, GAUGE, "duraflow_executions_waiting",                                              \
          "Executions of this instance's partitions now waiting, by what they wait on (wait, callback, retry).", \
          "kind", 0)                                                                                             \
        X(STEP_DURATION, HISTOGRAM, "duraflow_step_duration_seconds",                                            \
          "Duration of one step attempt (the step body), by workflow and outcome (succeeded, failed, retry).",  \
          "workflow,outcome", DF__BUCKETS_FAST_SECONDS)                                                          \
        X(STEP_RETRIES, COUNTER, "duraflow_step_retries_total",                                                  \
          "Step attempts that failed and were scheduled for another attempt, by workflow.", "workflow", 0)      \
        X(REPLAY_DURATION, HISTOGRAM, "duraflow_replay_duration_seconds",                                        \
          "Duration of one replay of a handler (from the top to its return), by workflow.", "workflow",         \
          DF__BUCKETS_FAST_SECONDS)                                                                              \
        X(EVENTS_PROCESSED, COUNTER, "duraflow_events_processed_total",                                          \
          "Input records processed and committed, by component.", "component", 0)                               \
        X(BATCH_SIZE, HISTOGRAM, "duraflow_batch_size_records", "Records in one processed batch (one transaction).", \
          "component", DF__BUCKETS_RECORDS)                                                                      \
        X(COMMIT_DURATION, HISTOGRAM, "duraflow_transaction_commit_duration_seconds",                            \
          "Duration of one Kafka transaction: produce of the outputs to the end of the commit, by component.",  \
          "component", DF__BUCKETS_FAST_SECONDS)                                                                 \
        X(TRANSACTION_ABORTS, COUNTER, "duraflow_transaction_aborts_total",                                      \
          "Kafka transactions aborted (the batch is processed again), by component.", "component", 0)           \
        X(TIMER_LATENESS, HISTOGRAM, "duraflow_timer_lateness_seconds",                                          \
          "How long after its due time a timer was fired (committed).", "", DF__BUCKETS_LATENESS_SECONDS)        \
        X(TIMERS_PENDING, GAUGE, "duraflow_timers_pending", "Timers indexed and not yet fired.", "", 0)         \
        X(TIMERS_FIRED, COUNTER, "duraflow_timers_fired_total", "Timers fired (payload delivered, tombstone written).", \
          "", 0)                                                                                                 \
        X(RESTORE_DURATION, HISTOGRAM, "duraflow_changelog_restore_duration_seconds",                            \
          "Duration of bringing one assigned partition's store up to date from its changelog, by component.",   \
          "component", DF__BUCKETS_SLOW_SECONDS)                                                                 \
        X(RESTORE_RECORDS, COUNTER, "duraflow_changelog_restored_records_total",                                 \
          "Changelog records applied while restoring partitions, by component.", "component", 0)                \
        X(PARTITIONS_ASSIGNED, GAUGE, "duraflow_partitions_assigned",                                            \
          "Partitions assigned to this instance, by component.", "component", 0)                                \
        X(CONSUMER_LAG, GAUGE, "duraflow_consumer_lag_records",                                                  \
          "Records between the committed offset and the end of the partition (from librdkafka's statistics).",  \
          "component,topic,partition", 0)                                                                        \
        X(REBALANCES, COUNTER, "duraflow_consumer_rebalances_total",                                             \
          "Consumer group rebalances seen by this instance (from librdkafka's statistics), by component.",      \
          "component", 0)                                                                                        \
        X(DLQ_RECORDS, COUNTER, "duraflow_dlq_records_total",                                                    \
          "Records written to <prefix>.dlq, by component and reason (decode, process, oversize).",              \
          "component,reason", 0)                                                                                 \
        X(STATE_FREE_BYTES, GAUGE, "duraflow_state_free_bytes",                                                  \
          "Free space of the file system holding the state directory, bytes.", "component", 0)                  \
        X(HEALTHY, GAUGE, "duraflow_healthy", "1 when the instance is healthy (/healthz answers 200), else 0.", \
          "component", 0)                                                                                        \
        X(READY, GAUGE, "duraflow_ready",                                                                        \
          "1 when every assigned partition is restored and the instance processes (/readyz answers 200).",      \
          "component", 0)                                                                                        \
        X(SPANS_EXPORTED, COUNTER, "duraflow_otlp_spans_exported_total",                                         \
          "Spans the OTLP collector accepted.", "", 0)                                                           \
        X(SPANS_DROPPED, COUNTER, "duraflow_otlp_spans_dropped_total",                                           \
          "Spans dropped or not made, by reason (queue_full, backend_down, rejected, shutdown).", "reason", 0)   \
        X(OTLP_FAILURES, COUNTER, "duraflow_otlp_export_failures_total",                                         \
          "Failed OTLP export requests (the batch is retried with backoff).", "", 0)                             \
        X(OTLP_DOWN, GAUGE, "duraflow_otlp_export_down",                                                         \
          "OTLP exporters of this process whose export is down (failed requests in a row; no span is made "    \
          "until a retry gets through).", "", 0)                                                                 \
        X(SERIES_DROPPED, COUNTER, "duraflow_metrics_series_dropped_total",                                      \
          "Label sets folded into a family's overflow series (cardinality limit).", "", 0)                      \
        X(BUILD_INFO, GAUGE, "duraflow_build_info", "Always 1; the labels name the duraflow version.",          \
          "version", 0)

typedef enum df__metric_id {
#define DF__METRIC_ENUM(id, kind, name, help, labels, ...) DF__M_##id,
        DF__METRICS(DF__METRIC_ENUM)
#undef DF__METRIC_ENUM
        DF__M__COUNT
} df__metric_id_t;

typedef enum df__metric_kind { DF__MK_COUNTER, DF__MK_GAUGE, DF__MK_HISTOGRAM } df__metric_kind_t;

typedef struct df__metrics df__metrics_t;
typedef struct df__series df__series_t;

/** Description of a family, from the table (static storage). */
typedef struct df__metric_desc {
        const char *name, *help, *labels; /* labels: "a,b" or "" */
        df__metric_kind_t kind;
        int n_labels;
        const double *buckets; /* histograms: ascending upper bounds */
        int n_buckets;
} df__metric_desc_t;

const df__metric_desc_t *df__metric_desc(df__metric_id_t id);

/** A new registry with every family of DF__METRICS; series of label-less
 * families exist from the start (so they render as 0).  NULL on ENOMEM. */
df__metrics_t *df__metrics_new(void);
/** NULL is a no-op.  No other thread may use the registry any more. */
void df__metrics_destroy(df__metrics_t *m);

/**
 * The series of family id with these label values (as many as the family
 * has labels, in its order; pass none for a label-less family).  Never
 * NULL when m is not NULL: out of memory or past the cardinality limit it
 * is the family's overflow series.  NULL when m is NULL, and every update
 * function below accepts a NULL series as a no-op, so code may count with
 * metrics switched off.  Lives as long as m.
 */
df__series_t *df__metric_series(df__metrics_t *m, df__metric_id_t id, ...);
/** Same, label values as an array of n strings. */
df__series_t *df__metric_seriesv(df__metrics_t *m, df__metric_id_t id, const char *const *values, int n);

/** Counter: add n (>= 0). */
void df__counter_add(df__series_t *s, uint64_t n);
static inline void df__counter_inc(df__series_t *s)
{
        df__counter_add(s, 1);
}
/** Gauge: set, add (may be negative).  A gauge hidden with
 * df__gauge_unset is not rendered until it is set again (a partition no
 * longer assigned). */
void df__gauge_set(df__series_t *s, double v);
void df__gauge_add(df__series_t *s, double v);
void df__gauge_unset(df__series_t *s);
/** Histogram: one observation (seconds, bytes or records, per family). */
void df__histogram_observe(df__series_t *s, double v);

/** Current values, for tests and the statistics applier. */
uint64_t df__counter_value(const df__series_t *s);
double df__gauge_value(const df__series_t *s);
/** Observations and their sum; buckets (cumulative, n_buckets + 1 with
 * +Inf last) when not NULL. */
uint64_t df__histogram_count(const df__series_t *s, double *sum, uint64_t *buckets);

/** Shortcuts: look up and update in one call (for code that is not hot). */
#define df__metric_inc(m, id, ...) df__counter_inc(df__metric_series((m), (id), ##__VA_ARGS__))

/**
 * The whole registry in the Prometheus text exposition format 0.0.4:
 * for every family "# HELP", "# TYPE", then its series; histograms as
 * _bucket{le=...} (cumulative, +Inf last), _sum and _count.  Label values
 * escaped (\\, \", \n).  malloc'd, NUL-terminated, *len (if not NULL) its
 * length; NULL on ENOMEM.  Safe while other threads update.
 */
char *df__metrics_render(df__metrics_t *m, size_t *len);

/* ---------------- the HTTP endpoint ---------------- */

/** Readiness or liveness probe: fill reason (NUL-terminated, may be left
 * empty) and return 1 when ready/live, 0 when not.  Runs on the HTTP
 * server's thread; must not block. */
typedef int(df__probe_fn)(char *reason, size_t reason_size, void *opaque);

typedef struct df__metrics_http df__metrics_http_t;

/**
 * Parse a listen address "host:port" (IPv4 literal, or [IPv6 literal]),
 * port 0..65535 (0 = any free port).  Empty = metrics off: returns DF_OK
 * with *off = 1.  DF_ERR_CONF with a message naming metrics.listen and the
 * rule otherwise.  Host names are refused (no resolver on this path).
 */
df_err_t df__metrics_listen_parse(const char *listen, int *off, char *errstr, size_t errstr_size);

/**
 * Serve m over HTTP on listen ("127.0.0.1:0" = any free port on loopback):
 *   GET /metrics  200, text/plain; version=0.0.4 (df__metrics_render)
 *   GET /healthz  200 "ok" when live (live NULL = always), else 503 + reason
 *   GET /readyz   200 "ready" when ready (ready NULL = always), else 503 + reason
 *   other paths 404; methods other than GET and HEAD 405.
 * One thread of libmicrohttpd's own, at most 64 connections, 10 s
 * connection timeout.  m must outlive the server.  DF_ERR_CONF for a bad
 * address, DF_ERR_STATE when the address cannot be bound (message names it).
 */
df_err_t df__metrics_http_start(df__metrics_t *m, const char *listen, df__probe_fn *live, df__probe_fn *ready,
                                void *opaque, df__metrics_http_t **out, char *errstr, size_t errstr_size);
/** The bound TCP port (useful with port 0). */
int df__metrics_http_port(const df__metrics_http_t *h);
/** Stop serving and free; NULL is a no-op. */
void df__metrics_http_stop(df__metrics_http_t *h);

/* ---------------- librdkafka statistics ---------------- */

typedef struct df__kstats_partition {
        char topic[250];
        int32_t partition;
        int64_t lag; /* consumer_lag; -1 when librdkafka does not know it */
        int64_t hi, ls, next; /* hi_offset, ls_offset, next_offset; -1 when unknown (librdkafka's -1001) */
        char fetch_state[24]; /* fetch_state ("active", "stopped", ...); "" when absent */
} df__kstats_partition_t;

typedef struct df__kstats {
        int64_t rebalance_cnt; /* cgrp.rebalance_cnt; -1 when absent (no group) */
        int64_t assignment_size;
        df__kstats_partition_t *parts; /* malloc'd */
        int n_parts;
} df__kstats_t;

/**
 * Parse one statistics JSON document (librdkafka's stats_cb payload, see
 * its STATISTICS.md) into *out: per (topic, partition) the consumer lag
 * (partition -1, librdkafka's internal UA partition, is skipped) and the
 * consumer group's rebalance count.  DF_ERR_CODEC with a message when the
 * text is not JSON or not an object.  df__kstats_clear frees out's memory.
 */
df_err_t df__kstats_parse(const char *json, size_t len, df__kstats_t *out, char *errstr, size_t errstr_size);
void df__kstats_clear(df__kstats_t *st);

/**
 * Apply parsed statistics to m for component: sets
 * duraflow_consumer_lag_records{component,topic,partition} for each
 * partition with a known lag, hides the lag series of this component that
 * the statistics no longer list, and adds the rebalances since the last
 * call to duraflow_consumer_rebalances_total (*last_rebalances holds the
 * previous rebalance_cnt; start it at -1).
 */
void df__metrics_apply_kstats(df__metrics_t *m, const char *component, const df__kstats_t *st,
                              int64_t *last_rebalances);

/*
 * The stall watch: records a consumer cannot get, said in the log instead of
 * left to guess.  Fed each statistics document with the time it came (ms);
 * per (topic, partition) with known offsets it tells two conditions that
 * last at least after_ms:
 *  - the last stable offset stays below the high watermark without moving:
 *    an open transaction holds every read_committed reader back (records
 *    written after it are invisible until it commits or aborts);
 *  - records up to the last stable offset are there but the fetch position
 *    (next_offset) does not move while the fetcher is "active".
 * Each condition is reported once when it has lasted after_ms (emit with
 * DF__LOG_WARN, the figures in the text) and once when it ends (INFO).
 * Not thread-safe: one watch per consumer (librdkafka calls the statistics
 * callback from one thread).  df__stall_clear frees it.
 */
typedef struct df__stall_entry {
        char topic[250];
        int32_t partition;
        int64_t ls, next;             /* as last seen */
        int64_t ls_since, next_since; /* since when unchanged while behind (ms), 0: not behind */
        int ls_warned, next_warned;
} df__stall_entry_t;

typedef struct df__stall {
        df__stall_entry_t *e;
        int n, cap;
        int64_t after_ms;
} df__stall_t;

typedef void (*df__stall_emit_fn)(int level, const char *msg, void *opaque);
void df__stall_check(df__stall_t *w, const char *who, const df__kstats_t *st, int64_t now_ms, df__stall_emit_fn emit,
                     void *opaque);
void df__stall_clear(df__stall_t *w);

#ifdef __cplusplus
}
#endif
#endif /* DF_METRICS_H */
