/*
 * conf.c -- the configuration object and the table of properties.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

enum { DF__P_STR, DF__P_INT };

typedef struct df__prop_def {
        df_conf_prop_t doc;
        int kind;
        long long min, max;
} df__prop_def_t;

static const df__prop_def_t df__props[] = {
        {{"brokers", "", "Kafka bootstrap servers host:port[,...]; empty = embedded mode (in-process mock cluster)"},
         DF__P_STR, 0, 0},
        {{"topic.prefix", "duraflow", "prefix of the topics <p>.events, .state, .timers, .results, .dlq"}, DF__P_STR, 0,
         0},
        {{"partitions", "6", "partitions of each topic when duraflow creates it (events and state must match)"},
         DF__P_INT, 1, 10000},
        {{"replication.factor", "1", "replication factor of topics duraflow creates"}, DF__P_INT, 1, 16},
        {{"state.dir", "duraflow-state", "directory holding RocksDB stores (one sub-directory per instance)"},
         DF__P_STR, 0, 0},
        {{"worker.id", "",
          "stable id of this instance; default host-pid. Names the transactional id, the store and the crash "
          "breadcrumbs; when set it is also the static group member id (group.instance.id, KIP-345), so a "
          "restarted instance takes its partitions back at once"},
         DF__P_STR, 0, 0},
        {{"group.id", "", "consumer group of the workers; default <prefix>-workers"}, DF__P_STR, 0, 0},
        {{"timer.group.id", "", "consumer group of timer services; default <prefix>-timers"}, DF__P_STR, 0, 0},
        {{"batch.max.records", "500", "most events processed in one batch (one transaction)"}, DF__P_INT, 1, 100000},
        {{"batch.max.bytes", "16777216",
          "most bytes of output records (changelog, events, timers, results) one batch holds before it commits; "
          "an execution that would add more goes on in the next batch, so a long history is never buffered "
          "whole, bytes"},
         DF__P_INT, 1048576, 1LL << 40},
        {{"batch.max.ms", "1",
          "longest wait for more events after the first before a batch is processed, ms (under load a fetch "
          "already brings many: a longer wait only adds latency)"}, DF__P_INT, 0, 10000},
        {{"transaction.timeout.ms", "5000",
          "Kafka transaction timeout, ms. A transaction is open only while a batch's outputs are produced and "
          "committed (steps run before it opens); a batch stops taking events after a third of it; a partition "
          "taken over from a crashed worker waits at most this long for its open transaction"},
         DF__P_INT, 1000, 900000},
        {{"session.timeout.ms", "6000",
          "consumer group session timeout, ms: how long a crashed worker keeps its partitions (the broker's "
          "group.min.session.timeout.ms, 6000 by default, is the lowest it accepts)"},
         DF__P_INT, 1000, 300000},
        {{"max.poll.interval.ms", "300000", "longest processing of one batch before the worker leaves the group, ms"},
         DF__P_INT, 1000, 86400000},
        {{"timer.poll.max.ms", "50", "longest sleep of the timer service between checks, ms"}, DF__P_INT, 1, 1000},
        {{"client.timeout.ms", "30000", "how long a client waits for a worker's reply, ms"}, DF__P_INT, 100,
         3600000},
        {{"state.min.free.bytes", "8388608",
          "a worker processes nothing while its state directory's file system has less free space, bytes"},
         DF__P_INT, 0, 1LL << 50},
        {{"startup.timeout.ms", "120000",
          "how long a program waits for the brokers at start (bounded backoff, reported as not ready), ms"},
         DF__P_INT, 0, 86400000},
        {{"execution.max.crashes", "5",
          "an execution that this many worker processes died while processing (a step body that segfaults, "
          "aborts or is OOM-killed; counted across restarts and workers) is QUARANTINED: parked, visible, "
          "resumable. Each death also fails the step attempt that ran (WorkerCrashed) into its retry strategy"},
         DF__P_INT, 1, 1000},
        {{"worker.threads", "16",
          "most branch bodies of a parallel or map (df_parallel, df_map) that run at once in one worker, counting "
          "the worker's own thread (a pool of worker.threads - 1 threads); 1 = one after another. max_concurrency "
          "of a call bounds it further"},
         DF__P_INT, 1, 1024},
        {{"history.max.operations", "3000",
          "most operations one execution may record (every step, wait, callback, child context, branch, invoke); "
          "the operation beyond fails that execution, naming the limit (as AWS durable functions' 3,000)"},
         DF__P_INT, 1, 1000000},
        {{"history.max.bytes", "104857600",
          "most bytes of history one execution may record (its input, step results, callback payloads, child "
          "results, errors); a result that would go beyond fails that execution, naming the limit (as AWS "
          "durable functions' 100 MB), bytes"},
         DF__P_INT, 1024, 1LL << 40},
        {{"log.level", "info", "error, warn, info or debug"}, DF__P_STR, 0, 0},
        {{NULL, NULL, NULL}, 0, 0, 0},
};

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
                static const char *const reserved[] = {
                    "isolation.level", "transactional.id", "enable.idempotence", "enable.auto.commit",
                    "group.id",        "bootstrap.servers", "metadata.broker.list", "transaction.timeout.ms",
                    "auto.offset.reset", NULL};
                int i;
                if (!name[6]) {
                        df__errf(errstr, errstr_size, "property \"kafka.\" needs a librdkafka property name after it");
                        return DF_ERR_CONF;
                }
                for (i = 0; reserved[i]; i++)
                        if (!strcmp(name + 6, reserved[i])) {
                                df__errf(errstr, errstr_size,
                                         "property \"%s\" is set by duraflow and cannot be overridden (%s)", name,
                                         !strcmp(reserved[i], "bootstrap.servers") ||
                                                 !strcmp(reserved[i], "metadata.broker.list")
                                             ? "use brokers"
                                         : !strcmp(reserved[i], "group.id")               ? "use group.id"
                                         : !strcmp(reserved[i], "transaction.timeout.ms") ? "use transaction.timeout.ms"
                                                                                          : "exactly-once depends on it");
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
