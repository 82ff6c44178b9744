/*
 * settings.h -- the configuration as typed values, parsed once (internal).
 *
 * Every property of conf.c's table names the field of df__settings_t it
 * fills (as librdkafka's rdkafka_conf.c table does with _RK(field)), with
 * its type and range; df__settings_load() fills the struct from a conf that
 * df_conf_set() already validated, and computes the derived defaults once:
 * the instance id, the consumer groups, the store and breadcrumb paths.
 * The runtime reads these fields, never df_conf_get() + atoi().
 *
 * String fields point into the conf they were loaded from: the settings
 * live as long as that conf (each program keeps its own copy of the conf).
 */
#ifndef DF_SETTINGS_H
#define DF_SETTINGS_H

#include <stdint.h>

#include "duraflow/conf.h"

typedef struct df__settings {
        /* strings (owned by the conf) */
        const char *brokers, *topic_prefix, *state_dir, *worker_id, *group_id, *timer_group_id;
        const char *log_level, *log_format, *metrics_listen, *otlp_endpoint, *service_name;
        const char *console_listen, *console_token, *console_cors_origin, *console_state_dir, *console_outcome_field;
        /* integers (units in the property's description) */
        int64_t partitions, replication_factor, batch_max_records, batch_max_bytes, batch_max_ms;
        int64_t transaction_timeout_ms, session_timeout_ms, max_poll_interval_ms, timer_poll_max_ms;
        int64_t client_timeout_ms, state_min_free_bytes, startup_timeout_ms, execution_max_crashes;
        int64_t metrics_statistics_interval_ms, otlp_batch_max, otlp_queue_max, console_payload_max;
        int64_t console_ingest_threads;
        int64_t worker_threads, history_max_operations, history_max_bytes;
        int64_t timer_local_max_ms, timer_local_grace_ms, retention_ms, results_retention_ms;
        /* derived, computed once by df__settings_load */
        int stable_id;              /* worker.id was set: static membership, crash breadcrumbs */
        char instance_id[128];      /* worker.id, or host-pid */
        char worker_group[300];     /* group.id, or <prefix>-workers */
        char timer_group[300];      /* timer.group.id, or <prefix>-timers */
        char worker_store[1200];    /* <state.dir>/worker-<instance id> */
        char timer_store[1200];     /* <state.dir>/timers-<instance id> */
        char crashlog[1200];        /* <state.dir>/worker-<instance id>.crashlog */
} df__settings_t;

/** Fill s from conf (validated by df_conf_set: nothing can be out of range).
 * 0, or -1 when conf lacks a property of the table (a conf not made by
 * df_conf_new). */
int df__settings_load(df__settings_t *s, const df_conf_t *conf);

#endif /* DF_SETTINGS_H */
