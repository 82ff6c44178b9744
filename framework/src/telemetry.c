/*
 * telemetry.c -- the process's metrics registry and endpoint (see telemetry.h).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka.h"
#include "log.h"
#include "os.h"
#include "telemetry.h"

#define DF__MAX_PROBES 16

static pthread_mutex_t df__tel_lock = PTHREAD_MUTEX_INITIALIZER;
static df__metrics_t *df__tel_metrics;
static df__metrics_http_t *df__tel_http;
static char df__tel_listen[128];
static const df__telemetry_probe_t *df__tel_probes[DF__MAX_PROBES];
static int df__tel_n;

df__metrics_t *df__telemetry_metrics(void)
{
        df__metrics_t *m = __atomic_load_n(&df__tel_metrics, __ATOMIC_ACQUIRE);
        if (m)
                return m;
        pthread_mutex_lock(&df__tel_lock);
        if (!df__tel_metrics) {
                df__tel_metrics = df__metrics_new();
                if (df__tel_metrics)
                        df__gauge_set(df__metric_series(df__tel_metrics, DF__M_BUILD_INFO, DF_VERSION_STRING), 1);
        }
        m = df__tel_metrics;
        pthread_mutex_unlock(&df__tel_lock);
        return m;
}

/* Every registered component, ready (or live): else the first reason. */
static int df__tel_probe_all(char *reason, size_t size, int want_ready)
{
        int i, ok = 1;
        pthread_mutex_lock(&df__tel_lock);
        for (i = 0; i < df__tel_n && ok; i++) {
                const df__telemetry_probe_t *p = df__tel_probes[i];
                df__probe_fn *fn = want_ready ? p->ready : p->live;
                char r[200] = "";
                if (fn && !fn(r, sizeof(r), p->opaque)) {
                        snprintf(reason, size, "%s: %s", p->component, r[0] ? r : "not ready");
                        ok = 0;
                }
        }
        pthread_mutex_unlock(&df__tel_lock);
        return ok;
}

static int df__tel_ready(char *reason, size_t size, void *opaque)
{
        (void)opaque;
        return df__tel_probe_all(reason, size, 1);
}

static int df__tel_live(char *reason, size_t size, void *opaque)
{
        (void)opaque;
        return df__tel_probe_all(reason, size, 0);
}

int df__telemetry_join(const df__settings_t *s, const df__telemetry_probe_t *probe, char *errstr,
                       size_t errstr_size)
{
        df__metrics_t *m = df__telemetry_metrics();
        int rc = 0;

        if (df__log_set_format(s->log_format, errstr, errstr_size) != DF_OK)
                return -1;
        df__log_set_worker_id(s->instance_id);
        if (!m) {
                df__errf(errstr, errstr_size, "metrics: out of memory");
                return -1;
        }
        pthread_mutex_lock(&df__tel_lock);
        if (df__tel_n == DF__MAX_PROBES) {
                df__errf(errstr, errstr_size, "metrics: more than %d components in one process", DF__MAX_PROBES);
                rc = -1;
                goto out;
        }
        if (*s->metrics_listen) {
                if (df__tel_http && strcmp(df__tel_listen, s->metrics_listen)) {
                        df__errf(errstr, errstr_size,
                                 "metrics.listen \"%s\": this process already serves its metrics on \"%s\" (one "
                                 "endpoint per process)",
                                 s->metrics_listen, df__tel_listen);
                        rc = -1;
                        goto out;
                }
                if (!df__tel_http) {
                        /* the probes are read under the lock: start without it */
                        pthread_mutex_unlock(&df__tel_lock);
                        rc = df__metrics_http_start(m, s->metrics_listen, df__tel_live, df__tel_ready, NULL,
                                                    &df__tel_http, errstr, errstr_size) == DF_OK
                                     ? 0
                                     : -1;
                        pthread_mutex_lock(&df__tel_lock);
                        if (rc)
                                goto out;
                        snprintf(df__tel_listen, sizeof(df__tel_listen), "%s", s->metrics_listen);
                        df__log(DF__LOG_INFO, "metrics: serving /metrics, /healthz and /readyz on 127.0.0.1:%d "
                                              "(metrics.listen %s)",
                                df__metrics_http_port(df__tel_http), s->metrics_listen);
                }
        }
        df__tel_probes[df__tel_n++] = probe;
out:
        pthread_mutex_unlock(&df__tel_lock);
        return rc;
}

void df__telemetry_leave(const df__telemetry_probe_t *probe)
{
        df__metrics_http_t *stop = NULL;
        int i;
        pthread_mutex_lock(&df__tel_lock);
        for (i = 0; i < df__tel_n; i++)
                if (df__tel_probes[i] == probe) {
                        memmove(df__tel_probes + i, df__tel_probes + i + 1,
                                (size_t)(df__tel_n - i - 1) * sizeof(*df__tel_probes));
                        df__tel_n--;
                        break;
                }
        if (!df__tel_n) {
                stop = df__tel_http;
                df__tel_http = NULL;
                df__tel_listen[0] = '\0';
        }
        pthread_mutex_unlock(&df__tel_lock);
        df__metrics_http_stop(stop); /* outside the lock: its thread may be in a probe */
}

int df__telemetry_port(void)
{
        int port;
        pthread_mutex_lock(&df__tel_lock);
        port = df__tel_http ? df__metrics_http_port(df__tel_http) : 0;
        pthread_mutex_unlock(&df__tel_lock);
        return port;
}

/* The stall watch of each component's consumer (metrics.h), fed from the
 * statistics callback, which librdkafka calls from whichever thread polls
 * (the worker's or its keepalive): under a lock. */
static pthread_mutex_t df__stall_lock = PTHREAD_MUTEX_INITIALIZER;
static df__stall_t df__stall_watch[2];
static int64_t df__stall_interval_ms = 5000;

static void df__tel_stall_log(int level, const char *msg, void *opaque)
{
        (void)opaque;
        df__log(level, "%s", msg);
}

/* librdkafka's statistics callback: the component is the client's name prefix. */
static int df__tel_stats_cb(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
        static __thread int64_t last_worker = -1, last_timer = -1;
        const char *name = rd_kafka_name(rk);
        int timer = !strncmp(name, "duraflow-timers-", 16);
        const char *component = timer ? "timer" : "worker";
        df__kstats_t st;
        char errstr[128];
        (void)opaque;
        memset(&st, 0, sizeof(st));
        if (df__kstats_parse(json, len, &st, errstr, sizeof(errstr)) == DF_OK) {
                df__metrics_apply_kstats(df__telemetry_metrics(), component, &st, timer ? &last_timer : &last_worker);
                pthread_mutex_lock(&df__stall_lock);
                df__stall_watch[timer].after_ms = df__stall_interval_ms * 2 > 10000 ? df__stall_interval_ms * 2 : 10000;
                df__stall_check(&df__stall_watch[timer], name, &st, df__mono_ms(), df__tel_stall_log, NULL);
                pthread_mutex_unlock(&df__stall_lock);
        }
        df__kstats_clear(&st);
        return 0; /* librdkafka frees json */
}

int df__telemetry_kafka_stats(rd_kafka_conf_t *kc, const df__settings_t *s, const char *component, char *errstr,
                              size_t errstr_size)
{
        char v[32];
        (void)component;
        /* on also without metrics.listen: the stall watch reads them (one
         * small JSON document every metrics.statistics.interval.ms) */
        df__stall_interval_ms = s->metrics_statistics_interval_ms;
        snprintf(v, sizeof(v), "%lld", (long long)s->metrics_statistics_interval_ms);
        if (df__kconf_set(kc, "statistics.interval.ms", v, errstr, errstr_size))
                return -1;
        rd_kafka_conf_set_stats_cb(kc, df__tel_stats_cb);
        return 0;
}
