/*
 * telemetry.h -- the process's metrics registry and its /metrics endpoint,
 * shared by every program object of the process (internal).
 *
 * A worker, a timer service and a console may run in one process (the
 * order demo runs all three): they count into one registry and are served
 * by one endpoint on metrics.listen, started by the first object that asks
 * for it and stopped with the last.  /readyz answers 200 only when every
 * registered component says it is ready; /healthz when every one is live.
 *
 * The registry exists from the first call of df__telemetry_metrics() on,
 * whether an endpoint serves it or not (counting is a relaxed atomic add).
 * Thread-safe.
 */
#ifndef DF_TELEMETRY_H
#define DF_TELEMETRY_H

#include <librdkafka/rdkafka.h>

#include "metrics.h"
#include "settings.h"

/** The process's registry (created on first use; NULL only on ENOMEM). */
df__metrics_t *df__telemetry_metrics(void);

/** A component's probes: fill reason and return 1 when ready / live. */
typedef struct df__telemetry_probe {
        const char *component; /* "worker", "timer", "console" */
        df__probe_fn *ready;
        df__probe_fn *live;
        void *opaque;
} df__telemetry_probe_t;

/**
 * Register a component (its probes) and, when s->metrics_listen is set,
 * make sure the endpoint serves on it.  0, or -1 with errstr (the address
 * cannot be bound; another metrics.listen than the running endpoint's).
 * Also applies log.format and sets the log lines' worker id.
 */
int df__telemetry_join(const df__settings_t *s, const df__telemetry_probe_t *probe, char *errstr,
                       size_t errstr_size);
/** Unregister (the same probe pointer); the endpoint stops with the last. */
void df__telemetry_leave(const df__telemetry_probe_t *probe);
/** The endpoint's bound port, 0 when none serves. */
int df__telemetry_port(void);

/** Set the librdkafka statistics callback on kc for component (when
 * metrics.listen is set): consumer lag and rebalances into the registry. */
int df__telemetry_kafka_stats(rd_kafka_conf_t *kc, const df__settings_t *s, const char *component, char *errstr,
                              size_t errstr_size);

#endif /* DF_TELEMETRY_H */
