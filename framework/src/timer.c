/*
 * timer.c -- the timer service: a delayed-delivery service on Kafka.
 *
 * Consumes the compacted <prefix>.timers topic (every record a pending
 * timer, a tombstone when fired or cancelled) and indexes pending timers in
 * RocksDB by (big-endian due time, timer id).  When a timer is due it
 * produces the payload to the target topic and a tombstone to
 * <prefix>.timers in one transaction (with the consumer offsets and group
 * metadata, so a zombie instance is fenced), so each timer fires once.
 *
 * On every assignment the index is rebuilt from the start of the assigned
 * partitions, and nothing fires until every assigned partition has been
 * read to its end: a timer whose tombstone is further down the log is never
 * fired twice.  Sleeping is bounded by "timer.poll.max.ms" on the monotonic
 * clock, so a wall-clock step never hangs the service; a timer already past
 * due fires at once.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "settings.h"
#include "telemetry.h"
#include "store.h"
#include "trace.h"
#include "txn.h"

#define DF__FIRE_BATCH 1000

struct df_timer_service {
        df_conf_t *conf;
        df__settings_t s;      /* conf as typed values */
        df__topics_t t;
        char id[128];
        rd_kafka_t *consumer;
        df__txn_t txn;
        df__store_t store;     /* the index: rebuilt from <prefix>.timers on every assignment */
        int poll_max_ms;
        int n_assigned, n_loaded;
        unsigned char *loaded; /* per partition */
        unsigned char *assigned;
        volatile int stop;
        df_timer_stats_t stats;
        /* No pending timer is due before this (ms): the due-index scan starts
         * here instead of at the index's start, where fired timers leave
         * RocksDB tombstones that every scan would step over until compaction.
         * Lowered when a timer due earlier is indexed; raised after a commit. */
        int64_t scan_from;
        df__telemetry_probe_t probe; /* /readyz: every assigned partition read to its end */
        int telemetry_joined;
        int consumer_replacements; /* after fatal consumer errors, in the current minute */
        int64_t consumer_window_ms;
        df__series_t *m_pending, *m_fired, *m_late, *m_commit, *m_assigned, *m_ready, *m_healthy, *m_free;
};

static int df__index_remove(df_timer_service_t *ts, rocksdb_writebatch_t *wb, const char *id, size_t idlen)
{
        char ikey[600], dkey[600];
        df__buf_t v = {0};
        size_t ikl;
        int found;
        if (idlen > 500)
                return 0;
        ikl = df__store_id_key(ikey, sizeof(ikey), id, idlen);
        if (df__store_get(&ts->store, ikey, ikl, &v, &found))
                return -1;
        if (!found)
                return 0;
        if (v.len == 8) {
                int64_t due = (int64_t)(df__store_rd_be64(v.data) ^ (1ULL << 63));
                size_t n = df__store_due_key(dkey, sizeof(dkey), due, id, idlen);
                rocksdb_writebatch_delete(wb, dkey, n);
                ts->stats.pending--;
        }
        rocksdb_writebatch_delete(wb, ikey, ikl);
        free(v.data);
        return 0;
}

/* The log fields of an execution's timer: its id is "<execution id>/<op>/<kind>/<seq>"
 * (the workers' timers); trace id from the record's traceparent header. */
static const df__log_fields_t *df__timer_log_fields(df__log_fields_t *f, char *exec, size_t exec_size, char *trace,
                                                    const char *timer_id, size_t len, const rd_kafka_message_t *m)
{
        const char *slash = memchr(timer_id, '/', len);
        char tp[DF__TP_SIZE];
        memset(f, 0, sizeof(*f));
        if (slash && (size_t)(slash - timer_id) < exec_size) {
                memcpy(exec, timer_id, (size_t)(slash - timer_id));
                exec[slash - timer_id] = '\0';
                if (df__execution_id_valid(exec))
                        f->execution_id = exec;
        }
        if (m) {
                df__kafka_traceparent(m, tp);
                if (tp[0]) {
                        memcpy(trace, tp + 3, 32);
                        trace[32] = '\0';
                        f->trace_id = trace;
                }
        }
        return f;
}

/* Index one record of <prefix>.timers. */
static int df__index_record(df_timer_service_t *ts, rocksdb_writebatch_t *wb, const rd_kafka_message_t *m)
{
        df__timer_rec_t rec;
        char errstr[256], ikey[600], dkey[600];
        unsigned char be[8];
        int64_t due;
        size_t n;

        if (!m->key || !m->key_len || m->key_len > 500) {
                df__log(DF__LOG_WARN, "timers[%d]@%lld: record without a usable key skipped", (int)m->partition,
                        (long long)m->offset);
                return 0;
        }
        if (df__index_remove(ts, wb, m->key, m->key_len))
                return -1;
        if (df__log_level >= DF__LOG_DEBUG) {
                df__log_fields_t f;
                char exec[256], trace[33];
                df__log_ctx(DF__LOG_DEBUG,
                            df__timer_log_fields(&f, exec, sizeof(exec), trace, m->key, m->key_len, m),
                            "timer %.*s %s", (int)m->key_len, (const char *)m->key,
                            m->payload ? "pending" : "withdrawn");
        }
        if (!m->payload)
                return 0; /* tombstone */
        memset(&rec, 0, sizeof(rec));
        if (df__timer_decode(m->payload, m->len, &rec, errstr, sizeof(errstr))) {
                df__log(DF__LOG_WARN, "timers[%d]@%lld: undecodable timer skipped: %s", (int)m->partition,
                        (long long)m->offset, errstr);
                return 0;
        }
        due = rec.due_ms;
        df__timer_clear(&rec);
        if (due < ts->scan_from)
                ts->scan_from = due;
        n = df__store_due_key(dkey, sizeof(dkey), due, m->key, m->key_len);
        {
                /* The index entry: the Timer record, after "t" and the record's
                 * traceparent header when it has one, so that the event it
                 * fires carries it too.  (The index is rebuilt from the topic
                 * at every assignment: its format is this program's alone.) */
                char tp[DF__TP_SIZE];
                df__kafka_traceparent(m, tp);
                if (tp[0]) {
                        char *v = malloc(1 + DF__TRACEPARENT_LEN + m->len);
                        if (!v)
                                return -1;
                        v[0] = 't';
                        memcpy(v + 1, tp, DF__TRACEPARENT_LEN);
                        memcpy(v + 1 + DF__TRACEPARENT_LEN, m->payload, m->len);
                        rocksdb_writebatch_put(wb, dkey, n, v, 1 + DF__TRACEPARENT_LEN + m->len);
                        free(v);
                } else {
                        rocksdb_writebatch_put(wb, dkey, n, m->payload, m->len);
                }
        }
        n = df__store_id_key(ikey, sizeof(ikey), m->key, m->key_len);
        df__store_be64(be, (uint64_t)due ^ (1ULL << 63));
        rocksdb_writebatch_put(wb, ikey, n, (const char *)be, 8);
        ts->stats.pending++;
        return 0;
}

static int df__wipe_index(df_timer_service_t *ts)
{
        rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
        int rc;
        rocksdb_writebatch_delete_range(wb, "\x00", 1, "\xff", 1);
        rc = df__store_write(&ts->store, wb, "timer index wipe");
        rocksdb_writebatch_destroy(wb);
        ts->stats.pending = 0;
        ts->scan_from = INT64_MIN;
        return rc;
}

static void df__ts_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
                             void *opaque)
{
        df_timer_service_t *ts = opaque;
        int i;

        memset(ts->loaded, 0, (size_t)ts->t.timers_partitions);
        memset(ts->assigned, 0, (size_t)ts->t.timers_partitions);
        ts->n_loaded = 0;
        ts->n_assigned = 0;
        df__wipe_index(ts);
        if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
                for (i = 0; i < parts->cnt; i++) {
                        int p = parts->elems[i].partition;
                        parts->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING;
                        if (p >= 0 && p < ts->t.timers_partitions) {
                                ts->assigned[p] = 1;
                                ts->n_assigned++;
                        }
                }
                df__log(DF__LOG_INFO, "timer service %s: assigned %d partition(s); loading pending timers", ts->id,
                        parts->cnt);
                df__gauge_set(ts->m_assigned, parts->cnt);
                rd_kafka_assign(rk, parts);
        } else {
                rd_kafka_assign(rk, NULL);
                df__gauge_set(ts->m_assigned, 0);
        }
}

/* Produce one due timer (its payload to the target, a tombstone to
 * <prefix>.timers) into the open transaction and stage its removal from
 * the index.  0, or -1 when Kafka refused a record. */
static int df__fire_one(df_timer_service_t *ts, const char *k, size_t klen, const char *v, size_t vlen,
                        rocksdb_writebatch_t *wb)
{
        df__timer_rec_t rec;
        char errstr[256], ikey[600], tp[DF__TP_SIZE] = "";
        rd_kafka_resp_err_t perr;

        if (vlen > 1 + DF__TRACEPARENT_LEN && v[0] == 't') {
                /* with the traceparent of its record (df__index_record) */
                memcpy(tp, v + 1, DF__TRACEPARENT_LEN);
                tp[DF__TRACEPARENT_LEN] = '\0';
                v += 1 + DF__TRACEPARENT_LEN;
                vlen -= 1 + DF__TRACEPARENT_LEN;
        }
        memset(&rec, 0, sizeof(rec));
        if (df__timer_decode(v, vlen, &rec, errstr, sizeof(errstr)))
                return 0; /* cannot happen: validated when indexed */
        perr = df__txn_produce_tp(&ts->txn, rec.topic, RD_KAFKA_PARTITION_UA, rec.key.data, rec.key.len,
                                  rec.payload.data, rec.payload.len, tp);
        if (!perr)
                perr = df__txn_produce(&ts->txn, ts->t.timers, RD_KAFKA_PARTITION_UA, rec.timer_id,
                                       strlen(rec.timer_id), NULL, 0);
        if (perr) {
                df__log(DF__LOG_ERROR, "timer produce: %s", rd_kafka_err2str(perr));
                df__timer_clear(&rec);
                return -1;
        }
        if (df__log_level >= DF__LOG_DEBUG) {
                /* an execution's timer: the line carries it */
                df__log_fields_t f;
                char exec[256], trace[33];
                df__log_ctx(DF__LOG_DEBUG,
                            df__timer_log_fields(&f, exec, sizeof(exec), trace, rec.timer_id, strlen(rec.timer_id),
                                                 NULL),
                            "timer %s fired: due %lld", rec.timer_id, (long long)df__store_due_of(k));
        }
        rocksdb_writebatch_delete(wb, k, klen);
        rocksdb_writebatch_delete(wb, ikey, df__store_id_key(ikey, sizeof(ikey), k + 9, klen - 9));
        df__timer_clear(&rec);
        return 0;
}

/* The transaction of fired timers carries the consumer's positions with
 * the group metadata (KIP-447: a timer service that lost its partitions
 * cannot fire them), then commits.  DF__TXN_OK or what went wrong. */
static df__txn_rc_t df__fire_commit(df_timer_service_t *ts)
{
        rd_kafka_topic_partition_list_t *pos = NULL;
        df__txn_rc_t rc = DF__TXN_OK;

        if (rd_kafka_assignment(ts->consumer, &pos) == RD_KAFKA_RESP_ERR_NO_ERROR && pos->cnt) {
                rd_kafka_position(ts->consumer, pos);
                rc = df__txn_send_offsets(&ts->txn, ts->consumer, pos);
        }
        if (pos)
                rd_kafka_topic_partition_list_destroy(pos);
        if (rc == DF__TXN_RETRY && df__txn_abort(&ts->txn) == DF__TXN_FATAL)
                return DF__TXN_FATAL;
        return rc == DF__TXN_OK ? df__txn_commit(&ts->txn) : rc;
}

/* Fire what is due by now, at most DF__FIRE_BATCH in one transaction;
 * *next_due: when to look again.  Returns the number fired or -1 on a
 * fatal error (the caller replaces the producer). */
static int df__fire_due(df_timer_service_t *ts, int64_t now, int64_t *next_due)
{
        rocksdb_iterator_t *it;
        rocksdb_writebatch_t *wb;
        df__txn_rc_t rc;
        int n = 0, began = 0, ret = 0;
        int64_t late_max = 0, scan_next = now; /* all due by now are fired when this commits */
        int64_t dues[DF__FIRE_BATCH], t0 = df__mono_ns();
        char start[9];

        *next_due = INT64_MAX;
        if (df__txn_failed(&ts->txn))
                return -1;
        it = rocksdb_create_iterator(ts->store.db, ts->store.ro);
        wb = rocksdb_writebatch_create();
        df__store_due_key(start, sizeof(start), ts->scan_from, "", 0);
        for (rocksdb_iter_seek(it, start, 9); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
                size_t klen, vlen;
                const char *k = rocksdb_iter_key(it, &klen), *v;
                int64_t due;

                if (klen < 9 || k[0] != 'd')
                        break;
                due = df__store_due_of(k);
                if (due > now || n >= DF__FIRE_BATCH) {
                        *next_due = due;
                        if (due <= now)
                                scan_next = due;
                        break;
                }
                if (!began) {
                        rc = df__txn_begin(&ts->txn);
                        if (rc != DF__TXN_OK) {
                                ret = rc == DF__TXN_FATAL ? -1 : 0;
                                *next_due = df__now_ms() + 500; /* try again in a while */
                                goto out;
                        }
                        began = 1;
                }
                v = rocksdb_iter_value(it, &vlen);
                if (df__fire_one(ts, k, klen, v, vlen, wb)) {
                        ret = df__txn_abort(&ts->txn) == DF__TXN_FATAL ? -1 : 0;
                        goto out;
                }
                if (now - due > late_max)
                        late_max = now - due;
                dues[n++] = due;
        }
        if (!began) {
                if (*next_due != INT64_MAX)
                        ts->scan_from = *next_due; /* nothing pending is due before it */
                goto out;
        }
        rc = df__fire_commit(ts);
        if (rc != DF__TXN_OK) {
                ret = rc == DF__TXN_FATAL ? -1 : 0;
                goto out;
        }
        if (df__store_write(&ts->store, wb, "timer index write") == 0)
                ts->scan_from = scan_next;
        ts->stats.fired += (uint64_t)n;
        ts->stats.pending -= (uint64_t)n;
        {
                /* lateness as delivered: the commit made the fire visible */
                int64_t done = df__now_ms();
                int i;
                df__histogram_observe(ts->m_commit, (double)(df__mono_ns() - t0) / 1e9);
                for (i = 0; i < n; i++)
                        df__histogram_observe(ts->m_late, (double)(done - dues[i]) / 1000.0);
                df__counter_add(ts->m_fired, (uint64_t)n);
                df__gauge_set(ts->m_pending, (double)ts->stats.pending);
        }
        if (late_max > ts->stats.lateness_max_ms)
                ts->stats.lateness_max_ms = late_max;
        ret = n;
out:
        rocksdb_iter_destroy(it);
        rocksdb_writebatch_destroy(wb);
        return ret;
}

static int df__timers_ready(char *reason, size_t size, void *opaque)
{
        df_timer_service_t *ts = opaque;
        int a = __atomic_load_n(&ts->n_assigned, __ATOMIC_RELAXED), l = __atomic_load_n(&ts->n_loaded, __ATOMIC_RELAXED);
        int ready = a > 0 && l == a && !__atomic_load_n(&ts->txn.fatal, __ATOMIC_RELAXED);
        if (!a)
                snprintf(reason, size, "no partition of the timers topic assigned");
        else if (l < a)
                snprintf(reason, size, "loading pending timers: %d of %d partitions read", l, a);
        else if (!ready)
                snprintf(reason, size, "the transactional producer failed");
        df__gauge_set(ts->m_ready, ready);
        return ready;
}

static int df__timers_live(char *reason, size_t size, void *opaque)
{
        df_timer_service_t *ts = opaque;
        int live = !__atomic_load_n(&ts->store.disk_low, __ATOMIC_RELAXED);
        if (!live)
                snprintf(reason, size, "less than state.min.free.bytes free for the timer index");
        return live;
}

static int df__timers_telemetry(df_timer_service_t *ts, char *errstr, size_t errstr_size)
{
        df__metrics_t *m = df__telemetry_metrics();
        ts->m_pending = df__metric_series(m, DF__M_TIMERS_PENDING);
        ts->m_fired = df__metric_series(m, DF__M_TIMERS_FIRED);
        ts->m_late = df__metric_series(m, DF__M_TIMER_LATENESS);
        ts->m_commit = df__metric_series(m, DF__M_COMMIT_DURATION, "timer");
        ts->m_assigned = df__metric_series(m, DF__M_PARTITIONS_ASSIGNED, "timer");
        ts->m_ready = df__metric_series(m, DF__M_READY, "timer");
        ts->m_healthy = df__metric_series(m, DF__M_HEALTHY, "timer");
        ts->m_free = df__metric_series(m, DF__M_STATE_FREE_BYTES, "timer");
        ts->probe = (df__telemetry_probe_t){.component = "timer", .ready = df__timers_ready, .live = df__timers_live, .opaque = ts};
        if (df__telemetry_join(&ts->s, &ts->probe, errstr, errstr_size))
                return -1;
        ts->telemetry_joined = 1;
        return 0;
}

/* The group consumer of <prefix>.timers (partition-EOF events: the index
 * is loaded when every assigned partition has been read to its end). */
static rd_kafka_t *df__ts_consumer_new(df_timer_service_t *ts, char *errstr, size_t errstr_size)
{
        char cid[300];
        rd_kafka_conf_t *kc;

        snprintf(cid, sizeof(cid), "duraflow-timers-%s", ts->id);
        kc = df__group_consumer_conf(ts->conf, &ts->s, cid, ts->s.timer_group, 1, errstr, errstr_size);
        if (!kc)
                return NULL;
        if (df__telemetry_kafka_stats(kc, &ts->s, "timer", errstr, errstr_size)) {
                rd_kafka_conf_destroy(kc);
                return NULL;
        }
        return df__group_consumer_open(kc, ts->conf, df__ts_rebalance, ts, "timer consumer", errstr, errstr_size);
}

/*
 * The group consumer failed fatally (a static member fenced by its own
 * other incarnation after a broker's loss, librdkafka 2.0): a new consumer
 * (the same group.instance.id), the index rebuilt on its assignment.  At
 * most 3 times a minute.  0, or -1 (give up).
 */
static rd_kafka_t *df__ts_consumer_make(void *arg, char *errstr, size_t errstr_size)
{
        return df__ts_consumer_new(arg, errstr, errstr_size);
}

static int df__ts_consumer_replace(df_timer_service_t *ts, const char *who)
{
        if (df__consumer_replace_allowed(&ts->consumer_window_ms, &ts->consumer_replacements, who))
                return -1;
        rd_kafka_destroy(ts->consumer); /* no close: a fatally failed member cannot leave */
        memset(ts->loaded, 0, (size_t)ts->t.timers_partitions);
        memset(ts->assigned, 0, (size_t)ts->t.timers_partitions);
        ts->n_loaded = ts->n_assigned = 0;
        ts->consumer = df__consumer_until_ready(df__ts_consumer_make, ts, ts->t.timers, who, &ts->stop);
        return ts->consumer ? 0 : -1;
}

df_timer_service_t *df_timer_service_new(const df_conf_t *conf, char *errstr, size_t errstr_size)
{
        df_timer_service_t *ts = calloc(1, sizeof(*ts));
        df__store_opts_t so = {.wal = 0}; /* rebuilt from the topic on every assignment */
        char who[200];

        if (!ts || !conf) {
                free(ts);
                return NULL;
        }
        if (df__program_init(conf, &ts->conf, &ts->s, &ts->t, errstr, errstr_size))
                goto fail;
        snprintf(ts->id, sizeof(ts->id), "%s", ts->s.instance_id);
        ts->poll_max_ms = (int)ts->s.timer_poll_max_ms;
        ts->scan_from = INT64_MIN;
        if (df__topics_ensure(conf, &ts->t, errstr, errstr_size))
                goto fail;
        /* indexed by <prefix>.timers' partitions, as the brokers reported them */
        ts->loaded = calloc((size_t)ts->t.timers_partitions, 1);
        ts->assigned = calloc((size_t)ts->t.timers_partitions, 1);
        if (!ts->loaded || !ts->assigned)
                goto fail;

        snprintf(who, sizeof(who), "timer service %s", ts->id);
        so.min_free_bytes = ts->s.state_min_free_bytes;
        if (df__store_open(&ts->store, ts->s.timer_store, &so, who, errstr, errstr_size))
                goto fail;
        if (df__txn_init(&ts->txn, ts->conf, ts->s.topic_prefix, "timers", ts->id, NULL, ts, errstr, errstr_size))
                goto fail;
        if (df__timers_telemetry(ts, errstr, errstr_size))
                goto fail;
        ts->consumer = df__ts_consumer_new(ts, errstr, errstr_size);
        if (!ts->consumer)
                goto fail;
        return ts;
fail:
        df_timer_service_destroy(ts);
        return NULL;
}

df_err_t df_timer_service_run(df_timer_service_t *ts)
{
        int64_t next_due = 0;
        char who[200];

        snprintf(who, sizeof(who), "timer service %s", ts->id);
        if (df__subscribe(ts->consumer, ts->t.timers, who) != DF_OK)
                return DF_ERR_KAFKA;
        while (!ts->stop) {
                int64_t now = df__now_ms();
                int timeout = ts->poll_max_ms, n = 0;
                rocksdb_writebatch_t *wb;

                if (next_due != INT64_MAX && next_due - now < timeout)
                        timeout = next_due - now < 0 ? 0 : (int)(next_due - now);
                wb = rocksdb_writebatch_create();
                while (n < 10000) {
                        rd_kafka_message_t *m = rd_kafka_consumer_poll(ts->consumer, n ? 0 : timeout);
                        if (!m)
                                break;
                        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                                if (m->partition >= 0 && m->partition < ts->t.timers_partitions &&
                                    ts->assigned[m->partition] && !ts->loaded[m->partition]) {
                                        ts->loaded[m->partition] = 1;
                                        if (++ts->n_loaded == ts->n_assigned)
                                                df__log(DF__LOG_INFO, "timer service %s: %llu pending timer(s) loaded",
                                                        ts->id, (unsigned long long)ts->stats.pending);
                                }
                        } else if (m->err == RD_KAFKA_RESP_ERR__FATAL) {
                                char e[512];
                                rd_kafka_fatal_error(ts->consumer, e, sizeof(e));
                                df__log(DF__LOG_ERROR, "%s: fatal consumer error: %s", who, e);
                                rd_kafka_message_destroy(m);
                                break;
                        } else if (m->err) {
                                df__log(DF__LOG_WARN, "timer consume: %s", rd_kafka_message_errstr(m));
                        } else if (df__index_record(ts, wb, m)) {
                                rd_kafka_message_destroy(m);
                                break;
                        }
                        rd_kafka_message_destroy(m);
                        n++;
                        /* index_remove reads the DB: write as we go */
                        df__store_write(&ts->store, wb, "timer index write");
                        rocksdb_writebatch_clear(wb);
                }
                rocksdb_writebatch_destroy(wb);
                if (rd_kafka_fatal_error(ts->consumer, NULL, 0)) {
                        if (df__ts_consumer_replace(ts, who))
                                break;
                        next_due = 0;
                        continue;
                }
                if (n)
                        df__gauge_set(ts->m_pending, (double)ts->stats.pending);
                if (ts->n_assigned && ts->n_loaded == ts->n_assigned) {
                        /* a timer fired while the disk is full could not
                         * leave the index: fire nothing until there is room */
                        int low = df__store_disk_low(&ts->store);
                        df__gauge_set(ts->m_free, (double)ts->store.free_bytes);
                        df__gauge_set(ts->m_healthy, !low);
                        if (low) {
                                next_due = df__now_ms() + 1000;
                                continue;
                        }
                        if (df__fire_due(ts, df__now_ms(), &next_due) < 0 && df__txn_replace(&ts->txn, &ts->stop))
                                break;
                } else {
                        next_due = INT64_MAX;
                }
        }
        if (ts->consumer && !rd_kafka_fatal_error(ts->consumer, NULL, 0))
                rd_kafka_consumer_close(ts->consumer);
        if (!ts->consumer || ts->consumer_replacements > 3)
                return DF_ERR_KAFKA;
        return ts->txn.fatal ? ts->txn.fatal : DF_OK;
}

void df_timer_service_stop(df_timer_service_t *ts)
{
        if (ts)
                ts->stop = 1;
}

void df_timer_service_get_stats(df_timer_service_t *ts, df_timer_stats_t *out)
{
        *out = ts->stats;
}

void df_timer_service_destroy(df_timer_service_t *ts)
{
        if (!ts)
                return;
        if (ts->telemetry_joined)
                df__telemetry_leave(&ts->probe);
        if (ts->consumer)
                rd_kafka_destroy(ts->consumer);
        free(ts->loaded);
        free(ts->assigned);
        df__store_close(&ts->store); /* the index; then the producer, flushed */
        df__txn_destroy(&ts->txn);
        df_conf_destroy(ts->conf);
        free(ts);
}
