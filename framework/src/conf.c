/*
 * conf.c -- the configuration object and the table of properties.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <stddef.h>
#include <stdio.h>

#include "internal.h"
#include "settings.h"
#include "log.h"
#include "metrics.h"
#include "trace.h"

enum { DF__P_STR, DF__P_INT };

typedef struct df__prop_def {
        df_conf_prop_t doc;
        int kind;            /* DF__P_STR: const char *, DF__P_INT: int64_t */
        long long min, max;  /* DF__P_INT's range */
        size_t off;          /* the df__settings_t field it fills */
} df__prop_def_t;

#define DF__S(field) offsetof(df__settings_t, field)

static const df__prop_def_t df__props[] = {
        {{"brokers", "", "Kafka bootstrap servers host:port[,...]; empty = embedded mode (in-process mock cluster)"},
         DF__P_STR, 0, 0, DF__S(brokers)},
        {{"topic.prefix", "duraflow", "prefix of the topics <p>.events, .state, .timers, .results, .dlq"}, DF__P_STR, 0,
         0, DF__S(topic_prefix)},
        {{"partitions", "6", "partitions of each topic duraflow creates; topics that exist keep theirs (every program reads the counts from the brokers; events and state must have the same count)"},
         DF__P_INT, 1, 10000, DF__S(partitions)},
        {{"replication.factor", "1", "replication factor of topics duraflow creates"}, DF__P_INT, 1, 16, DF__S(replication_factor)},
        {{"state.dir", "duraflow-state", "directory holding RocksDB stores (one sub-directory per instance)"},
         DF__P_STR, 0, 0, DF__S(state_dir)},
        {{"worker.id", "",
          "stable id of this instance; default host-pid. Names the transactional id, the store and the crash "
          "breadcrumbs; when set it is also the static group member id (group.instance.id, KIP-345), so a "
          "restarted instance takes its partitions back at once"},
         DF__P_STR, 0, 0, DF__S(worker_id)},
        {{"group.id", "", "consumer group of the workers; default <prefix>-workers"}, DF__P_STR, 0, 0, DF__S(group_id)},
        {{"timer.group.id", "", "consumer group of timer services; default <prefix>-timers"}, DF__P_STR, 0, 0, DF__S(timer_group_id)},
        {{"batch.max.records", "500", "most events processed in one batch (one transaction)"}, DF__P_INT, 1, 100000, DF__S(batch_max_records)},
        {{"batch.max.bytes", "16777216",
          "most bytes of output records (changelog, events, timers, results) one batch holds before it commits; "
          "an execution that would add more goes on in the next batch, so a long history is never buffered "
          "whole, bytes"},
         DF__P_INT, 1048576, 1LL << 40, DF__S(batch_max_bytes)},
        {{"batch.max.ms", "1",
          "longest wait for more events after the first before a batch is processed, ms (under load a fetch "
          "already brings many: a longer wait only adds latency)"}, DF__P_INT, 0, 10000, DF__S(batch_max_ms)},
        {{"transaction.timeout.ms", "5000",
          "Kafka transaction timeout, ms. A transaction is open only while a batch's outputs are produced and "
          "committed (steps run before it opens); a batch stops taking events after a third of it; a partition "
          "taken over from a crashed worker waits at most this long for its open transaction"},
         DF__P_INT, 1000, 900000, DF__S(transaction_timeout_ms)},
        {{"session.timeout.ms", "6000",
          "consumer group session timeout, ms: how long a crashed worker keeps its partitions (the broker's "
          "group.min.session.timeout.ms, 6000 by default, is the lowest it accepts)"},
         DF__P_INT, 1000, 300000, DF__S(session_timeout_ms)},
        {{"max.poll.interval.ms", "300000", "longest processing of one batch before the worker leaves the group, ms"},
         DF__P_INT, 1000, 86400000, DF__S(max_poll_interval_ms)},
        {{"timer.poll.max.ms", "500", "longest sleep of the timer service between checks, ms (it wakes at the next due time and when a timer record arrives; this bounds a sleep across a wall-clock step and how soon a stop is seen)"}, DF__P_INT, 1, 1000,
         DF__S(timer_poll_max_ms)},
        {{"timer.local.max.ms", "60000",
          "a timer of an execution (a wait, a retry backoff, a callback timeout) due within this long is fired by "
          "the worker that owns the execution itself, in its next batch transaction when due, without the two "
          "Kafka hops through the timer service; 0 = always through the timer service, ms"},
         DF__P_INT, 0, 86400000, DF__S(timer_local_max_ms)},
        {{"timer.local.grace.ms", "2000",
          "the timer service, the durable backstop of a timer the worker fires itself, fires it this long after "
          "its due time if the worker did not (it crashed, the partition moved), ms"},
         DF__P_INT, 0, 3600000, DF__S(timer_local_grace_ms)},
        {{"client.timeout.ms", "30000", "how long a client waits for a worker's reply, ms"}, DF__P_INT, 100,
         3600000, DF__S(client_timeout_ms)},
        {{"state.min.free.bytes", "8388608",
          "a worker processes nothing, and a timer service fires nothing, while its state directory's file "
          "system has less free space, bytes"},
         DF__P_INT, 0, 1LL << 50, DF__S(state_min_free_bytes)},
        {{"startup.timeout.ms", "120000",
          "how long a program waits for the brokers at start (bounded backoff, reported as not ready), ms"},
         DF__P_INT, 0, 86400000, DF__S(startup_timeout_ms)},
        {{"execution.max.crashes", "5",
          "an execution that this many worker processes died while processing (a step body that segfaults, "
          "aborts or is OOM-killed; counted across restarts and workers) is QUARANTINED: parked, visible, "
          "resumable. Each death also fails the step attempt that ran (WorkerCrashed) into its retry strategy"},
         DF__P_INT, 1, 1000, DF__S(execution_max_crashes)},
        {{"retention.ms", "1209600000",
          "how long a finished execution (SUCCEEDED, FAILED, TIMED_OUT, STOPPED) keeps its state and history, "
          "ms (default 14 days, as AWS durable functions); then the worker that owns it tombstones its records "
          "in the compacted <prefix>.state and its RocksDB store (duraflow purge does it at once), within about "
          "a second (a sweep of the store's end-time index; no timer per execution). It applies to every "
          "finished execution, also one that ended before it was set; 0 = keep for ever. A restart before then "
          "keeps it; its next end starts the period again"},
         DF__P_INT, 0, 1LL << 42, DF__S(retention_ms)},
        {{"results.retention.ms", "604800000",
          "retention.ms of the <prefix>.results topic (results and replies) when duraflow creates it, ms "
          "(default 7 days); -1 = no time limit. A topic that exists keeps its own"},
         DF__P_INT, -1, 1LL << 42, DF__S(results_retention_ms)},
        {{"worker.threads", "16",
          "most threads running workflow code at once in one worker, counting the worker's own (a pool of "
          "worker.threads - 1 threads): the executions of a batch run side by side, each execution's events and "
          "steps in order on one thread, and so do the branches of a parallel or map (max_concurrency of a call "
          "bounds those further); 1 = one after another"},
         DF__P_INT, 1, 1024, DF__S(worker_threads)},
        {{"history.max.operations", "3000",
          "most operations one execution may record (every step, wait, callback, child context, branch, invoke); "
          "the operation beyond fails that execution, naming the limit (as AWS durable functions' 3,000)"},
         DF__P_INT, 1, 1000000, DF__S(history_max_operations)},
        {{"history.max.bytes", "104857600",
          "most bytes of history one execution may record (its input, step results, callback payloads, child "
          "results, errors); a result that would go beyond fails that execution, naming the limit (as AWS "
          "durable functions' 100 MB), bytes"},
         DF__P_INT, 1024, 1LL << 40, DF__S(history_max_bytes)},
        {{"log.level", "info", "error, warn, info or debug"}, DF__P_STR, 0, 0, DF__S(log_level)},
        {{"log.format", "text",
          "text (for a terminal; control and bidi characters escaped) or json (one object a line: ts, level, msg and, when "
          "known, execution_id, workflow, op_id, attempt, trace_id, worker_id)"},
         DF__P_STR, 0, 0, DF__S(log_format)},
        {{"metrics.listen", "",
          "address of the /metrics, /healthz and /readyz endpoint, IPv4:port or [IPv6]:port; empty = off, "
          "127.0.0.1:0 = any free port"},
         DF__P_STR, 0, 0, DF__S(metrics_listen)},
        {{"metrics.statistics.interval.ms", "5000",
          "how often librdkafka's statistics (consumer lag, rebalances, the stall watch's offsets) refresh, ms "
          "(librdkafka's statistics.interval.ms); the stall watch warns after max(10 s, twice this)"},
         DF__P_INT, 100, 3600000, DF__S(metrics_statistics_interval_ms)},
        {{"otlp.endpoint", "",
          "OTLP/HTTP collector base URL (spans go to <endpoint>/v1/traces, JSON), e.g. http://127.0.0.1:4318; "
          "empty = tracing off"},
         DF__P_STR, 0, 0, DF__S(otlp_endpoint)},
        {{"otlp.batch.max", "512", "most spans in one OTLP export request"}, DF__P_INT, 1, 10000, DF__S(otlp_batch_max)},
        {{"otlp.queue.max", "2048",
          "most spans waiting for export; more are dropped and counted (duraflow_otlp_spans_dropped_total), never "
          "waited for"},
         DF__P_INT, 1, 1000000, DF__S(otlp_queue_max)},
        {{"service.name", "duraflow", "OpenTelemetry service.name of this program's spans"}, DF__P_STR, 0, 0, DF__S(service_name)},
        {{"console.listen", "127.0.0.1:7070",
          "address of the console's HTTP server, IPv4:PORT (port 0: any free port; bind another address than "
          "127.0.0.1 only behind a proxy you trust)"},
         DF__P_STR, 0, 0, DF__S(console_listen)},
        {{"console.token", "",
          "bearer token(s) of the console's actions (start, stop, pause, resume, restart, purge, complete a callback): SECRET or "
          "NAME:SECRET,...; 16..256 printable characters each; each name (given, or the default `tokenN`) and "
          "each secret once (a duplicate is refused at startup: exit 2 naming it); empty = read-only console (also from "
          "$DF_CONSOLE_TOKEN with `duraflow console`)"},
         DF__P_STR, 0, 0, DF__S(console_token)},
        {{"console.cors.origin", "",
          "the one origin (scheme://host:port) allowed to call the console's API from a browser; empty = none"},
         DF__P_STR, 0, 0, DF__S(console_cors_origin)},
        {{"console.state.dir", "", "directory of the console's index; default <state.dir>/console-<prefix>[-<worker.id>]"},
         DF__P_STR, 0, 0, DF__S(console_state_dir)},
        {{"console.outcome.field", "outcome",
          "string field of an execution's JSON output indexed as its outcome (filters, counts); empty = none"},
         DF__P_STR, 0, 0, DF__S(console_outcome_field)},
        {{"console.ingest.threads", "2",
          "threads the console indexes <prefix>.state with, each with its own consumer over its share of the "
          "partitions (partition p to thread p mod threads; at most one per partition)"},
         DF__P_INT, 1, 64, DF__S(console_ingest_threads)},
        {{"console.payload.max", "4096",
          "bytes of a payload the console's API shows inline (the rest with the full bytes on request), bytes"},
         DF__P_INT, 0, 1000000, DF__S(console_payload_max)},
        {{NULL, NULL, NULL}, 0, 0, 0, 0},
};

/* The librdkafka properties a kafka.* property may not set: what
 * exactly-once rests on (read_committed readers, transactional producers
 * with duraflow's ids for fencing, offsets committed only inside
 * transactions) or what duraflow's own properties set.  The only list:
 * df_conf_set refuses them, `duraflow config` prints them. */
typedef struct df__reserved {
        const char *name, *hint;
} df__reserved_t;

static const df__reserved_t df__kafka_reserved[] = {
        {"isolation.level", "exactly-once depends on it"},
        {"transactional.id", "exactly-once depends on it"},
        {"enable.idempotence", "exactly-once depends on it"},
        {"enable.auto.commit", "exactly-once depends on it"},
        {"auto.offset.reset", "exactly-once depends on it"},
        {"group.id", "use group.id"},
        {"bootstrap.servers", "use brokers"},
        {"metadata.broker.list", "use brokers"},
        {"transaction.timeout.ms", "use transaction.timeout.ms"},
        {NULL, NULL},
};

const char *const *df_conf_kafka_reserved(void)
{
        static const char *names[sizeof(df__kafka_reserved) / sizeof(df__kafka_reserved[0])];
        size_t i;
        if (!names[0])
                for (i = 0; df__kafka_reserved[i].name; i++)
                        names[i] = df__kafka_reserved[i].name;
        return names;
}

int df__settings_load(df__settings_t *s, const df_conf_t *conf)
{
        const df__prop_def_t *p;
        char host[65] = "host"; /* HOST_NAME_MAX 64 */

        memset(s, 0, sizeof(*s));
        for (p = df__props; p->doc.name; p++) {
                const char *v = df_conf_get(conf, p->doc.name);
                if (!v)
                        return -1;
                if (p->kind == DF__P_INT)
                        *(int64_t *)((char *)s + p->off) = strtoll(v, NULL, 10);
                else
                        *(const char **)((char *)s + p->off) = v;
        }
        s->stable_id = *s->worker_id != '\0';
        if (s->stable_id) {
                snprintf(s->instance_id, sizeof(s->instance_id), "%s", s->worker_id);
        } else {
                gethostname(host, sizeof(host) - 1);
                snprintf(s->instance_id, sizeof(s->instance_id), "%s-%d", host, (int)getpid());
        }
        if (*s->group_id)
                snprintf(s->worker_group, sizeof(s->worker_group), "%s", s->group_id);
        else
                snprintf(s->worker_group, sizeof(s->worker_group), "%s-workers", s->topic_prefix);
        if (*s->timer_group_id)
                snprintf(s->timer_group, sizeof(s->timer_group), "%s", s->timer_group_id);
        else
                snprintf(s->timer_group, sizeof(s->timer_group), "%s-timers", s->topic_prefix);
        snprintf(s->worker_store, sizeof(s->worker_store), "%s/worker-%s", s->state_dir, s->instance_id);
        snprintf(s->timer_store, sizeof(s->timer_store), "%s/timers-%s", s->state_dir, s->instance_id);
        snprintf(s->crashlog, sizeof(s->crashlog), "%s/worker-%s.crashlog", s->state_dir, s->instance_id);
        return 0;
}

typedef struct df__kv {
        char *name, *value;
} df__kv_t;

struct df_conf {
        df__kv_t *kv;
        int n, cap;
};

const df_conf_prop_t *df_conf_properties(void)
{
        static df_conf_prop_t table[sizeof(df__props) / sizeof(df__props[0])];
        size_t i;
        if (!table[0].name)
                for (i = 0; i < sizeof(df__props) / sizeof(df__props[0]); i++)
                        table[i] = df__props[i].doc;
        return table;
}

static int df__conf_put(df_conf_t *c, const char *name, const char *value)
{
        int i;
        char *v = strdup(value);
        if (!v)
                return -1;
        for (i = 0; i < c->n; i++) {
                if (!strcmp(c->kv[i].name, name)) {
                        free(c->kv[i].value);
                        c->kv[i].value = v;
                        return 0;
                }
        }
        if (c->n == c->cap) {
                int cap = c->cap ? c->cap * 2 : 32;
                df__kv_t *kv = realloc(c->kv, (size_t)cap * sizeof(*kv));
                if (!kv) {
                        free(v);
                        return -1;
                }
                c->kv = kv;
                c->cap = cap;
        }
        c->kv[c->n].name = strdup(name);
        if (!c->kv[c->n].name) {
                free(v);
                return -1;
        }
        c->kv[c->n].value = v;
        c->n++;
        return 0;
}

df_conf_t *df_conf_new(void)
{
        df_conf_t *c = calloc(1, sizeof(*c));
        const df__prop_def_t *p;
        if (!c)
                return NULL;
        for (p = df__props; p->doc.name; p++) {
                if (df__conf_put(c, p->doc.name, p->doc.default_value)) {
                        df_conf_destroy(c);
                        return NULL;
                }
        }
        return c;
}

df_conf_t *df_conf_dup(const df_conf_t *src)
{
        df_conf_t *c = calloc(1, sizeof(*c));
        int i;
        if (!c)
                return NULL;
        for (i = 0; i < src->n; i++) {
                if (df__conf_put(c, src->kv[i].name, src->kv[i].value)) {
                        df_conf_destroy(c);
                        return NULL;
                }
        }
        return c;
}

void df_conf_destroy(df_conf_t *c)
{
        int i;
        if (!c)
                return;
        for (i = 0; i < c->n; i++) {
                free(c->kv[i].name);
                free(c->kv[i].value);
        }
        free(c->kv);
        free(c);
}

/* A human-readable name: valid UTF-8, no control character, 1..max bytes. */
static df_err_t df__conf_text_check(const char *name, const char *value, size_t max, char *errstr,
                                    size_t errstr_size)
{
        size_t n = strnlen(value, max + 1), i;
        if (!n || n > max) {
                df__errf(errstr, errstr_size, "property \"%s\": must be 1 to %zu bytes", name, max);
                return DF_ERR_CONF;
        }
        if (!df__utf8_valid(value, n)) {
                df__errf(errstr, errstr_size, "property \"%s\": not valid UTF-8", name);
                return DF_ERR_CONF;
        }
        for (i = 0; i < n; i++)
                if ((unsigned char)value[i] < 0x20 || value[i] == 0x7f) {
                        df__errf(errstr, errstr_size, "property \"%s\": control character at byte %zu", name, i);
                        return DF_ERR_CONF;
                }
        return DF_OK;
}

df_err_t df_conf_set(df_conf_t *c, const char *name, const char *value, char *errstr, size_t errstr_size)
{
        const df__prop_def_t *p;

        if (!c || !name || !value) {
                df__errf(errstr, errstr_size, "df_conf_set: NULL argument");
                return DF_ERR_INVALID_ARG;
        }
        if (!strncmp(name, "kafka.", 6)) {
                /* What duraflow's guarantees rest on is not the user's to
                 * change: exactly-once needs read_committed readers,
                 * transactional producers with duraflow's ids (fencing) and
                 * offsets committed only inside transactions. */
                const df__reserved_t *r;
                if (!name[6]) {
                        df__errf(errstr, errstr_size, "property \"kafka.\" needs a librdkafka property name after it");
                        return DF_ERR_CONF;
                }
                for (r = df__kafka_reserved; r->name; r++)
                        if (!strcmp(name + 6, r->name)) {
                                df__errf(errstr, errstr_size,
                                         "property \"%s\" is set by duraflow and cannot be overridden (%s)", name,
                                         r->hint);
                                return DF_ERR_CONF;
                        }
                return df__conf_put(c, name, value) ? DF_ERR_NOMEM : DF_OK;
        }
        for (p = df__props; p->doc.name; p++)
                if (!strcmp(p->doc.name, name))
                        break;
        if (!p->doc.name) {
                df__errf(errstr, errstr_size, "unknown property \"%s\" (see `duraflow config`)", name);
                return DF_ERR_CONF;
        }
        if (p->kind == DF__P_INT) {
                char *end;
                long long v;
                errno = 0;
                v = strtoll(value, &end, 10);
                if (errno || end == value || *end) {
                        df__errf(errstr, errstr_size, "property \"%s\": \"%s\" is not an integer", name, value);
                        return DF_ERR_CONF;
                }
                if (v < p->min || v > p->max) {
                        df__errf(errstr, errstr_size, "property \"%s\": %lld is out of range [%lld, %lld]", name, v,
                                 p->min, p->max);
                        return DF_ERR_CONF;
                }
        }
        if (!strcmp(name, "topic.prefix") && (!*value || strpbrk(value, " /\\"))) {
                df__errf(errstr, errstr_size, "property \"topic.prefix\": \"%s\" is not a valid topic prefix", value);
                return DF_ERR_CONF;
        }
        if (!strcmp(name, "log.level") && strcmp(value, "error") && strcmp(value, "warn") && strcmp(value, "info") &&
            strcmp(value, "debug")) {
                df__errf(errstr, errstr_size, "property \"log.level\": \"%s\" is not error, warn, info or debug",
                         value);
                return DF_ERR_CONF;
        }
        if (!strcmp(name, "log.format") && df__log_format_parse(value, NULL, errstr, errstr_size) != DF_OK)
                return DF_ERR_CONF;
        if (!strcmp(name, "metrics.listen")) {
                int off;
                if (df__metrics_listen_parse(value, &off, errstr, errstr_size) != DF_OK)
                        return DF_ERR_CONF;
        }
        if (!strcmp(name, "otlp.endpoint") && *value && df__otlp_endpoint_check(value, errstr, errstr_size) != DF_OK)
                return DF_ERR_CONF;
        if (!strcmp(name, "service.name") && df__conf_text_check(name, value, 256, errstr, errstr_size) != DF_OK)
                return DF_ERR_CONF;
        return df__conf_put(c, name, value) ? DF_ERR_NOMEM : DF_OK;
}

df_err_t df_conf_set_pair(df_conf_t *c, const char *pair, char *errstr, size_t errstr_size)
{
        const char *eq = pair ? strchr(pair, '=') : NULL;
        char name[256];
        size_t n;

        if (!eq || eq == pair) {
                df__errf(errstr, errstr_size, "\"%s\" is not of the form name=value", pair ? pair : "(null)");
                return DF_ERR_CONF;
        }
        n = (size_t)(eq - pair);
        if (n >= sizeof(name)) {
                df__errf(errstr, errstr_size, "property name too long in \"%s\"", pair);
                return DF_ERR_CONF;
        }
        memcpy(name, pair, n);
        name[n] = '\0';
        return df_conf_set(c, name, eq + 1, errstr, errstr_size);
}

const char *df_conf_get(const df_conf_t *c, const char *name)
{
        int i;
        for (i = 0; c && i < c->n; i++)
                if (!strcmp(c->kv[i].name, name))
                        return c->kv[i].value;
        return NULL;
}

/* internal: iterate kafka.* pass-through properties */
void df__conf_foreach_kafka(const df_conf_t *c, void (*fn)(const char *name, const char *value, void *opaque),
                            void *opaque)
{
        int i;
        for (i = 0; i < c->n; i++)
                if (!strncmp(c->kv[i].name, "kafka.", 6))
                        fn(c->kv[i].name + 6, c->kv[i].value, opaque);
}
