/*
 * console_follow.c -- the console's follower: reads <prefix>.state and
 * <prefix>.dlq (read_committed, partitions assigned explicitly, no consumer
 * group) into the index, storing the next offset of each partition in the
 * same write batch as the index changes it caused.
 *
 * On start: an index built for another prefix, or whose stored offsets lie
 * beyond a state partition's end or before its beginning (the topic was
 * recreated, or records it never saw are gone), is dropped and rebuilt from
 * the beginning of the topics.  A DLQ partition's offsets out of range only
 * move its reading position (the DLQ's retention deletes).
 *
 * Then "console.ingest.threads" shards (at most one per state partition),
 * each a consumer of its own over partitions p with p % shards == k of both
 * topics and its own index batches, on its own thread (shard 0 on the
 * caller's): an execution's records are all on one partition, so no two
 * shards touch one execution; the index serializes their commits.  A
 * shard's fatal error stops the others.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "console_follow.h"
#include "kafka.h"
#include "settings.h"

#define DF__CF_BATCH_RECORDS 5000
#define DF__CF_BATCH_MS 100
#define DF__CF_MAX_PARTS 256
#define DF__CF_MAX_SHARDS 64
#define DF__CF_POLL 1000 /* most records one fetch call returns */

typedef struct df__cfshard {
        struct df__cfollow *f;
        int k;             /* takes the partitions p with p % n_shards == k */
        rd_kafka_t *rk;    /* its consumer (shard 0: f->rk) */
        df__cbatch_t *batch;
        pthread_t th;
        int started;
        df_err_t rc;
        /* figures, read by other threads */
        uint64_t records;
        int64_t lag;
        int caught_up;
} df__cfshard_t;

struct df__cfollow {
        df_conf_t *conf;
        df__cidx_t *ix;
        df__topics_t t;
        rd_kafka_t *rk; /* metadata, the plan, and shard 0's partitions */
        int threads;    /* console.ingest.threads */
        int n_state, n_dlq;
        /* per partition, each written only by the shard that owns it */
        int64_t next_s[DF__CF_MAX_PARTS], next_d[DF__CF_MAX_PARTS];
        unsigned char eof_s[DF__CF_MAX_PARTS];
        df__cfshard_t sh[DF__CF_MAX_SHARDS];
        int n_shards; /* set before the shards start, read by other threads */
        int halt;     /* a shard failed: the others stop (atomic) */
        int state;    /* 0 waiting for topics, 1 following (atomic) */
};

static void df__cf_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
        (void)rk;
        df__log(level <= 3 ? DF__LOG_WARN : DF__LOG_DEBUG, "console librdkafka %s: %s", fac, buf);
}

/* A consumer of the follower's settings; NULL with errstr. */
static rd_kafka_t *df__cf_consumer(const df_conf_t *conf, char *errstr, size_t errstr_size)
{
        rd_kafka_conf_t *kc = df__kafka_conf(conf, "duraflow-console", errstr, errstr_size);
        rd_kafka_t *rk;
        char e[512];
        if (!kc)
                return NULL;
        if (df__kconf_set(kc, "group.id", "duraflow-console-unused", errstr, errstr_size) ||
            df__kconf_set(kc, "enable.auto.commit", "false", errstr, errstr_size) ||
            df__kconf_set(kc, "enable.auto.offset.store", "false", errstr, errstr_size) ||
            df__kconf_set(kc, "isolation.level", "read_committed", errstr, errstr_size) ||
            df__kconf_set(kc, "auto.offset.reset", "earliest", errstr, errstr_size) ||
            df__kconf_set(kc, "enable.partition.eof", "true", errstr, errstr_size) ||
            df__kconf_set(kc, "fetch.wait.max.ms", DF__FETCH_WAIT_MS, errstr, errstr_size) ||
            /* a rebuild reads far ahead otherwise (64 MB): memory, not speed */
            df__kconf_set(kc, "queued.max.messages.kbytes", "16384", errstr, errstr_size) ||
            df__kconf_user(kc, conf, errstr, errstr_size)) {
                rd_kafka_conf_destroy(kc);
                return NULL;
        }
        rd_kafka_conf_set_log_cb(kc, df__cf_log);
        rk = rd_kafka_new(RD_KAFKA_CONSUMER, kc, e, sizeof(e));
        if (!rk) {
                df__errf(errstr, errstr_size, "console consumer: %s", e);
                rd_kafka_conf_destroy(kc);
                return NULL;
        }
        return rk;
}

df__cfollow_t *df__cfollow_new(const df_conf_t *conf, df__cidx_t *ix, char *errstr, size_t errstr_size)
{
        df__cfollow_t *f = calloc(1, sizeof(*f));
        df__settings_t s;
        int k;

        if (!f) {
                df__errf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        f->conf = df_conf_dup(conf);
        f->ix = ix;
        for (k = 0; k < DF__CF_MAX_SHARDS; k++) {
                f->sh[k].f = f;
                f->sh[k].k = k;
                f->sh[k].lag = -1;
        }
        if (!f->conf) {
                df__errf(errstr, errstr_size, "out of memory");
                goto fail;
        }
        if (df__settings_load(&s, conf)) {
                df__errf(errstr, errstr_size, "console: bad settings");
                goto fail;
        }
        f->threads = (int)s.console_ingest_threads;
        df__topics_init(&f->t, conf);
        f->rk = df__cf_consumer(conf, errstr, errstr_size);
        if (!f->rk)
                goto fail;
        return f;
fail:
        df__cfollow_destroy(f);
        return NULL;
}

void df__cfollow_destroy(df__cfollow_t *f)
{
        int k;
        if (!f)
                return;
        for (k = 0; k < DF__CF_MAX_SHARDS; k++) {
                df__cfshard_t *sh = &f->sh[k];
                if (sh->rk && sh->rk != f->rk) {
                        rd_kafka_assign(sh->rk, NULL);
                        rd_kafka_destroy(sh->rk);
                }
                df__cbatch_destroy(sh->batch);
        }
        if (f->rk) {
                rd_kafka_assign(f->rk, NULL);
                rd_kafka_destroy(f->rk);
        }
        df_conf_destroy(f->conf);
        free(f);
}

void df__cfollow_stats(df__cfollow_t *f, uint64_t *records, int64_t *lag, int *caught_up, int *following)
{
        int k, n;
        if (!f) { /* not created yet (df_console_new serves before it) */
                *records = 0;
                *lag = -1;
                *caught_up = *following = 0;
                return;
        }
        *following = __atomic_load_n(&f->state, __ATOMIC_ACQUIRE);
        n = *following ? __atomic_load_n(&f->n_shards, __ATOMIC_RELAXED) : 0;
        *records = 0;
        *lag = n ? 0 : -1;
        *caught_up = n > 0;
        for (k = 0; k < n; k++) {
                df__cfshard_t *sh = &f->sh[k];
                int64_t l = __atomic_load_n(&sh->lag, __ATOMIC_RELAXED);
                *records += __atomic_load_n(&sh->records, __ATOMIC_RELAXED);
                if (l < 0 || *lag < 0)
                        *lag = -1;
                else
                        *lag += l;
                if (!__atomic_load_n(&sh->caught_up, __ATOMIC_RELAXED))
                        *caught_up = 0;
        }
}

/* Partition counts of the state and dlq topics; 0 when a topic is missing. */
static int df__cf_partitions(df__cfollow_t *f, int *n_state, int *n_dlq)
{
        const struct rd_kafka_metadata *md = NULL;
        int i;
        *n_state = *n_dlq = 0;
        if (rd_kafka_metadata(f->rk, 1, NULL, &md, 5000) || !md)
                return -1;
        for (i = 0; i < md->topic_cnt; i++) {
                const rd_kafka_metadata_topic_t *t = &md->topics[i];
                if (t->err)
                        continue;
                if (!strcmp(t->topic, f->t.state))
                        *n_state = t->partition_cnt;
                else if (!strcmp(t->topic, f->t.dlq))
                        *n_dlq = t->partition_cnt;
        }
        rd_kafka_metadata_destroy(md);
        if (*n_state > DF__CF_MAX_PARTS)
                *n_state = DF__CF_MAX_PARTS;
        if (*n_dlq > DF__CF_MAX_PARTS)
                *n_dlq = DF__CF_MAX_PARTS;
        return 0;
}

/* Check the stored offsets against the topics; drop the index if they do
 * not fit.  Fills next_s / next_d. */
static int df__cf_plan(df__cfollow_t *f, char *errstr, size_t errstr_size)
{
        const char *prefix = df_conf_get(f->conf, "topic.prefix");
        char *stored = df__cidx_meta_get(f->ix, "prefix");
        char *fmt = df__cidx_meta_get(f->ix, "format");
        int p, wipe = 0;
        char why[700] = "";

        if (stored && *stored && strcmp(stored, prefix)) {
                snprintf(why, sizeof(why), "it was built for prefix \"%s\"", stored);
                wipe = 1;
        }
        if (!wipe && fmt && *fmt && strcmp(fmt, DF__CIDX_FORMAT)) {
                snprintf(why, sizeof(why), "its format %s is not this console's (" DF__CIDX_FORMAT ")", fmt);
                wipe = 1;
        }
        free(stored);
        free(fmt);
        for (p = 0; !wipe && p < f->n_state; p++) {
                int64_t lo = 0, hi = 0, off = df__cidx_offset(f->ix, 's', p);
                rd_kafka_resp_err_t err = df__watermarks(f->rk, f->t.state, p, &lo, &hi);
                if (err) {
                        df__errf(errstr, errstr_size, "%s[%d]: watermarks: %s", f->t.state, p, rd_kafka_err2str(err));
                        return -1;
                }
                if (off > hi) {
                        snprintf(why, sizeof(why),
                                 "it has read %s[%d] to offset %lld but the partition ends at %lld (topic recreated?)",
                                 f->t.state, p, (long long)off, (long long)hi);
                        wipe = 1;
                } else if (off >= 0 && off < lo) {
                        snprintf(why, sizeof(why), "%s[%d] no longer holds offsets %lld..%lld it has not read",
                                 f->t.state, p, (long long)off, (long long)lo - 1);
                        wipe = 1;
                }
        }
        if (wipe) {
                df__log(DF__LOG_WARN, "console: dropping the index and rebuilding it from the topics: %s", why);
                if (df__cidx_wipe(f->ix, errstr, errstr_size))
                        return -1;
        }
        df__cidx_meta_put(f->ix, "prefix", prefix);
        df__cidx_meta_put(f->ix, "format", DF__CIDX_FORMAT);
        for (p = 0; p < f->n_state; p++)
                f->next_s[p] = df__cidx_offset(f->ix, 's', p);
        for (p = 0; p < f->n_dlq; p++) {
                int64_t lo = 0, hi = 0, off = df__cidx_offset(f->ix, 'd', p);
                if (off >= 0 && !df__watermarks(f->rk, f->t.dlq, p, &lo, &hi) && (off > hi || off < lo))
                        off = -1;
                f->next_d[p] = off;
        }
        return 0;
}

/* Shard sh's partitions, from the offsets the plan found. */
static int df__cf_assign(df__cfshard_t *sh)
{
        df__cfollow_t *f = sh->f;
        rd_kafka_topic_partition_list_t *tp = rd_kafka_topic_partition_list_new(f->n_state + f->n_dlq);
        rd_kafka_resp_err_t err;
        int p;
        for (p = sh->k; p < f->n_state; p += f->n_shards)
                rd_kafka_topic_partition_list_add(tp, f->t.state, p)->offset =
                        f->next_s[p] >= 0 ? f->next_s[p] : RD_KAFKA_OFFSET_BEGINNING;
        for (p = sh->k; p < f->n_dlq; p += f->n_shards)
                rd_kafka_topic_partition_list_add(tp, f->t.dlq, p)->offset =
                        f->next_d[p] >= 0 ? f->next_d[p] : RD_KAFKA_OFFSET_BEGINNING;
        err = rd_kafka_assign(sh->rk, tp);
        rd_kafka_topic_partition_list_destroy(tp);
        return err ? -1 : 0;
}

/* Records behind the ends of sh's state partitions (its consumer's cached
 * high watermarks). */
static void df__cf_lag(df__cfshard_t *sh)
{
        df__cfollow_t *f = sh->f;
        int64_t lag = 0;
        int p, all_eof = 1;
        for (p = sh->k; p < f->n_state; p += f->n_shards) {
                int64_t lo = 0, hi = 0, next = f->next_s[p] < 0 ? 0 : f->next_s[p];
                if (rd_kafka_get_watermark_offsets(sh->rk, f->t.state, p, &lo, &hi) || hi < 0) {
                        lag = -1;
                        break;
                }
                if (next < lo)
                        next = lo;
                if (hi > next)
                        lag += hi - next;
                if (!f->eof_s[p])
                        all_eof = 0;
        }
        __atomic_store_n(&sh->lag, lag, __ATOMIC_RELAXED);
        if (all_eof)
                __atomic_store_n(&sh->caught_up, 1, __ATOMIC_RELAXED);
}

static int df__cf_stopped(df__cfollow_t *f, const int *stop)
{
        return __atomic_load_n(stop, __ATOMIC_RELAXED) || __atomic_load_n(&f->halt, __ATOMIC_RELAXED);
}

/* Commit sh's batch (every record or offset it holds); 0 or -1 (logged). */
static int df__cf_commit(df__cfshard_t *sh, int64_t *batch_start)
{
        char errstr[512];
        size_t n = df__cbatch_size(sh->batch);
        *batch_start = 0;
        if (df__cbatch_commit(sh->batch, errstr, sizeof(errstr))) {
                df__log(DF__LOG_ERROR, "console: %s", errstr);
                return -1;
        }
        __atomic_add_fetch(&sh->records, n, __ATOMIC_RELAXED);
        return 0;
}

/* One record or event into sh's batch; 0, or -1 on a store error. */
static int df__cf_apply(df__cfshard_t *sh, rd_kafka_message_t *m)
{
        df__cfollow_t *f = sh->f;
        const char *topic = m->rkt ? rd_kafka_topic_name(m->rkt) : "";
        int is_state = !strcmp(topic, f->t.state), is_dlq = !strcmp(topic, f->t.dlq);
        int32_t p = m->partition;
        if (p < 0 || p >= DF__CF_MAX_PARTS || (!is_state && !is_dlq))
                return 0; /* not ours */
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                if (is_state) {
                        f->eof_s[p] = 1;
                        if (m->offset > f->next_s[p]) {
                                f->next_s[p] = m->offset;
                                df__cbatch_offset(sh->batch, 's', p, m->offset);
                        }
                } else if (m->offset > f->next_d[p]) {
                        f->next_d[p] = m->offset;
                        df__cbatch_offset(sh->batch, 'd', p, m->offset);
                }
        } else if (m->err) {
                df__log(DF__LOG_WARN, "console: %s[%d]: %s", topic, (int)p, rd_kafka_message_errstr(m));
        } else if (is_state) {
                if (df__cbatch_state(sh->batch, m->key, m->key_len, m->payload, m->len, p, m->offset)) {
                        df__log(DF__LOG_ERROR, "console: cannot index %s[%d] offset %lld", topic, (int)p,
                                (long long)m->offset);
                        return -1;
                }
                f->next_s[p] = m->offset + 1;
                df__cbatch_offset(sh->batch, 's', p, m->offset + 1);
        } else {
                rd_kafka_timestamp_type_t tt;
                int64_t ts = rd_kafka_message_timestamp(m, &tt);
                if (df__cbatch_dlq(sh->batch, m->key, m->key_len, m->payload, m->len, p, m->offset,
                                   ts > 0 ? ts : df__now_ms()))
                        return -1;
                f->next_d[p] = m->offset + 1;
                df__cbatch_offset(sh->batch, 'd', p, m->offset + 1);
        }
        return 0;
}

/* One shard: its consumer's records into its batches until a stop (or
 * another shard's failure).  DF_OK, or DF_ERR_STORE / DF_ERR_KAFKA.  A
 * batch is committed at DF__CF_BATCH_RECORDS records, DF__CF_BATCH_MS after
 * its first record, or when a fetch call brought fewer than it asked for
 * (the partitions' ends are near: what arrived shows at once). */
static df_err_t df__cf_follow(df__cfshard_t *sh, const int *stop)
{
        df__cfollow_t *f = sh->f;
        rd_kafka_queue_t *q = rd_kafka_queue_get_consumer(sh->rk);
        rd_kafka_message_t *msgs[DF__CF_POLL];
        int64_t batch_start = 0, last_lag = 0;
        df_err_t rc = DF_OK;

        if (!q) {
                df__log(DF__LOG_ERROR, "console: the consumer has no queue");
                return DF_ERR_KAFKA;
        }
        while (rc == DF_OK && !df__cf_stopped(f, stop)) {
                ssize_t n = rd_kafka_consume_batch_queue(q, 20, msgs, DF__CF_POLL), i;
                int64_t now = df__mono_ms();
                for (i = 0; i < n; i++) {
                        if (rc == DF_OK) {
                                if (!batch_start)
                                        batch_start = now;
                                if (df__cf_apply(sh, msgs[i]) ||
                                    (df__cbatch_size(sh->batch) >= DF__CF_BATCH_RECORDS &&
                                     df__cf_commit(sh, &batch_start)))
                                        rc = DF_ERR_STORE;
                        }
                        rd_kafka_message_destroy(msgs[i]);
                }
                if (rc == DF_OK && batch_start && (n < DF__CF_POLL || now - batch_start >= DF__CF_BATCH_MS) &&
                    df__cf_commit(sh, &batch_start))
                        rc = DF_ERR_STORE;
                if (now - last_lag >= 500) {
                        df__cf_lag(sh);
                        last_lag = now;
                }
        }
        if (rc == DF_OK && batch_start)
                df__cf_commit(sh, &batch_start);
        rd_kafka_queue_destroy(q);
        return rc;
}

struct df__cf_arg {
        df__cfshard_t *sh;
        const int *stop;
};

static void *df__cf_thread(void *p)
{
        struct df__cf_arg *a = p;
        a->sh->rc = df__cf_follow(a->sh, a->stop);
        if (a->sh->rc != DF_OK)
                __atomic_store_n(&a->sh->f->halt, 1, __ATOMIC_RELAXED);
        return NULL;
}

df_err_t df__cfollow_run(df__cfollow_t *f, const int *stop)
{
        char errstr[512];
        int64_t last_wait_log = 0;
        struct df__cf_arg args[DF__CF_MAX_SHARDS];
        df_err_t rc = DF_OK;
        int k, n;

        /* wait for the topics (the console does not create them) */
        while (!__atomic_load_n(stop, __ATOMIC_RELAXED)) {
                if (df__cf_partitions(f, &f->n_state, &f->n_dlq) == 0 && f->n_state > 0)
                        break;
                if (df__mono_ms() - last_wait_log > 30000) {
                        df__log(DF__LOG_INFO, "console: waiting for topic %s", f->t.state);
                        last_wait_log = df__mono_ms();
                }
                usleep(500000);
        }
        if (__atomic_load_n(stop, __ATOMIC_RELAXED))
                return DF_OK;
        if (df__cf_plan(f, errstr, sizeof(errstr))) {
                df__log(DF__LOG_ERROR, "console: %s", errstr);
                return DF_ERR_STORE;
        }
        /* shards: partition p to shard p % n, at most one per partition */
        n = f->threads < f->n_state ? f->threads : f->n_state;
        if (n > DF__CF_MAX_SHARDS)
                n = DF__CF_MAX_SHARDS;
        if (n < 1)
                n = 1;
        f->n_shards = n;
        for (k = 0; k < n; k++) {
                df__cfshard_t *sh = &f->sh[k];
                sh->rk = k ? df__cf_consumer(f->conf, errstr, sizeof(errstr)) : f->rk;
                if (!sh->rk) {
                        df__log(DF__LOG_ERROR, "console: %s", errstr);
                        return DF_ERR_KAFKA;
                }
                sh->batch = df__cbatch_new(f->ix);
                if (!sh->batch) {
                        df__log(DF__LOG_ERROR, "console: out of memory");
                        return DF_ERR_STORE;
                }
                if (df__cf_assign(sh)) {
                        df__log(DF__LOG_ERROR, "console: cannot assign the partitions");
                        return DF_ERR_KAFKA;
                }
        }
        __atomic_store_n(&f->state, 1, __ATOMIC_RELEASE);
        df__log(DF__LOG_INFO, "console: following %s (%d partitions) and %s (%d partitions), %d ingest thread%s",
                f->t.state, f->n_state, f->t.dlq, f->n_dlq, n, n == 1 ? "" : "s");
        for (k = 1; k < n; k++) {
                args[k].sh = &f->sh[k];
                args[k].stop = stop;
                if (pthread_create(&f->sh[k].th, NULL, df__cf_thread, &args[k])) {
                        df__log(DF__LOG_ERROR, "console: cannot start an ingest thread");
                        __atomic_store_n(&f->halt, 1, __ATOMIC_RELAXED);
                        rc = DF_ERR_STORE;
                        break;
                }
                f->sh[k].started = 1;
        }
        if (rc == DF_OK) {
                f->sh[0].rc = df__cf_follow(&f->sh[0], stop);
                if (f->sh[0].rc != DF_OK)
                        __atomic_store_n(&f->halt, 1, __ATOMIC_RELAXED);
        }
        for (k = 1; k < n; k++)
                if (f->sh[k].started) {
                        pthread_join(f->sh[k].th, NULL);
                        f->sh[k].started = 0;
                }
        for (k = 0; k < n && rc == DF_OK; k++)
                rc = f->sh[k].rc;
        return rc;
}
