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

#include <rocksdb/c.h>

#include "kafka.h"

#define DF__FIRE_BATCH 1000

struct df_timer_service {
        df_conf_t *conf;
        df__topics_t t;
        char id[128];
        rd_kafka_t *consumer, *producer;
        rocksdb_t *db;
        rocksdb_options_t *dbopts;
        rocksdb_writeoptions_t *wo;
        rocksdb_readoptions_t *ro;
        char dbpath[1024];
        int poll_max_ms;
        int n_assigned, n_loaded;
        unsigned char *loaded; /* per partition */
        unsigned char *assigned;
        int fatal;
        volatile sig_atomic_t stop;
        df_timer_stats_t stats;
        int recoveries;
        int64_t recover_window_ms;
        /* No pending timer is due before this (ms): the due-index scan starts
         * here instead of at the index's start, where fired timers leave
         * RocksDB tombstones that every scan would step over until compaction.
         * Lowered when a timer due earlier is indexed; raised after a commit. */
        int64_t scan_from;
        int abort_pending; /* an abort_transaction timed out: resume it before the next transaction */
};

static void df__be64(unsigned char *b, uint64_t v)
{
        int i;
        for (i = 7; i >= 0; i--) {
                b[i] = (unsigned char)(v & 0xff);
                v >>= 8;
        }
}

static uint64_t df__rd_be64(const unsigned char *b)
{
        uint64_t v = 0;
        int i;
        for (i = 0; i < 8; i++)
                v = (v << 8) | b[i];
        return v;
}

/* due key: 'd' + be64(due + 2^63) + timer id ; id key: 'i' + timer id -> be64 */
static size_t df__due_key(char *buf, size_t size, int64_t due, const char *id, size_t idlen)
{
        if (idlen + 9 > size)
                idlen = size - 9;
        buf[0] = 'd';
        df__be64((unsigned char *)buf + 1, (uint64_t)due ^ (1ULL << 63));
        memcpy(buf + 9, id, idlen);
        return idlen + 9;
}

static int df__index_remove(df_timer_service_t *ts, rocksdb_writebatch_t *wb, const char *id, size_t idlen)
{
        char ikey[600], dkey[600], *err = NULL, *v;
        size_t vlen;
        if (idlen > 500)
                return 0;
        ikey[0] = 'i';
        memcpy(ikey + 1, id, idlen);
        v = rocksdb_get(ts->db, ts->ro, ikey, idlen + 1, &vlen, &err);
        if (err) {
                df__log(DF__LOG_ERROR, "timer index get: %s", err);
                free(err);
                return -1;
        }
        if (!v)
                return 0;
        if (vlen == 8) {
                int64_t due = (int64_t)(df__rd_be64((unsigned char *)v) ^ (1ULL << 63));
                size_t n = df__due_key(dkey, sizeof(dkey), due, id, idlen);
                rocksdb_writebatch_delete(wb, dkey, n);
                ts->stats.pending--;
        }
        rocksdb_writebatch_delete(wb, ikey, idlen + 1);
        free(v);
        return 0;
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
        n = df__due_key(dkey, sizeof(dkey), due, m->key, m->key_len);
        rocksdb_writebatch_put(wb, dkey, n, m->payload, m->len);
        ikey[0] = 'i';
        memcpy(ikey + 1, m->key, m->key_len);
        df__be64(be, (uint64_t)due ^ (1ULL << 63));
        rocksdb_writebatch_put(wb, ikey, m->key_len + 1, (const char *)be, 8);
        ts->stats.pending++;
        return 0;
}

static int df__wipe_index(df_timer_service_t *ts)
{
        char *err = NULL;
        rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
        rocksdb_writebatch_delete_range(wb, "\x00", 1, "\xff", 1);
        rocksdb_write(ts->db, ts->wo, wb, &err);
        rocksdb_writebatch_destroy(wb);
        ts->stats.pending = 0;
        ts->scan_from = INT64_MIN;
        if (err) {
                df__log(DF__LOG_ERROR, "timer index wipe: %s", err);
                free(err);
                return -1;
        }
        return 0;
}

static void df__ts_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
                             void *opaque)
{
        df_timer_service_t *ts = opaque;
        int i;

        memset(ts->loaded, 0, (size_t)ts->t.partitions);
        memset(ts->assigned, 0, (size_t)ts->t.partitions);
        ts->n_loaded = 0;
        ts->n_assigned = 0;
        df__wipe_index(ts);
        if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
                for (i = 0; i < parts->cnt; i++) {
                        int p = parts->elems[i].partition;
                        parts->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING;
                        if (p >= 0 && p < ts->t.partitions) {
                                ts->assigned[p] = 1;
                                ts->n_assigned++;
                        }
                }
                df__log(DF__LOG_INFO, "timer service %s: assigned %d partition(s); loading pending timers", ts->id,
                        parts->cnt);
                rd_kafka_assign(rk, parts);
        } else {
                rd_kafka_assign(rk, NULL);
        }
}

/* Log a failed transactional call; a fatal error makes the caller replace
 * the producer.  Consumes error. */
static void df__ts_txn_failed(df_timer_service_t *ts, const char *what, rd_kafka_error_t *error)
{
        df__log(DF__LOG_WARN, "timer %s: %s", what, rd_kafka_error_string(error));
        if (rd_kafka_error_is_fatal(error) || rd_kafka_fatal_error(ts->producer, NULL, 0))
                ts->fatal = 1;
        rd_kafka_error_destroy(error);
}

/* Fire what is due; returns the number fired or -1 on a fatal error. */
static int df__fire_due(df_timer_service_t *ts, int64_t now, int64_t *next_due)
{
        rocksdb_iterator_t *it = rocksdb_create_iterator(ts->db, ts->ro);
        rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
        rd_kafka_error_t *error;
        rd_kafka_topic_partition_list_t *pos = NULL;
        rd_kafka_consumer_group_metadata_t *cgmd;
        int n = 0, began = 0;
        int64_t late_max = 0, scan_next;
        char *err = NULL, start[9];

        *next_due = INT64_MAX;
        scan_next = now; /* all due by now are fired when this commits */
        /* a producer failed in the background is replaced by the caller; an
         * abort that timed out (broker away) must complete before anything */
        if (rd_kafka_fatal_error(ts->producer, NULL, 0)) {
                ts->fatal = 1;
                goto out;
        }
        if (ts->abort_pending) {
                error = rd_kafka_abort_transaction(ts->producer, 30000);
                if (error) {
                        df__ts_txn_failed(ts, "abort_transaction", error);
                        *next_due = df__now_ms() + 500; /* try again in a while */
                        goto out;
                }
                ts->abort_pending = 0;
        }
        df__due_key(start, sizeof(start), ts->scan_from, "", 0);
        for (rocksdb_iter_seek(it, start, 9); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
                size_t klen, vlen;
                const char *k = rocksdb_iter_key(it, &klen);
                const char *v;
                df__timer_rec_t rec;
                char errstr[256];
                int64_t due;
                rd_kafka_resp_err_t perr;

                if (klen < 9 || k[0] != 'd')
                        break;
                due = (int64_t)(df__rd_be64((const unsigned char *)k + 1) ^ (1ULL << 63));
                if (due > now) {
                        *next_due = due;
                        break;
                }
                if (n >= DF__FIRE_BATCH) {
                        *next_due = due;
                        scan_next = due;
                        break;
                }
                v = rocksdb_iter_value(it, &vlen);
                memset(&rec, 0, sizeof(rec));
                if (df__timer_decode(v, vlen, &rec, errstr, sizeof(errstr)))
                        continue; /* cannot happen: validated when indexed */
                if (!began) {
                        error = rd_kafka_begin_transaction(ts->producer);
                        if (error) {
                                df__ts_txn_failed(ts, "begin_transaction", error);
                                df__timer_clear(&rec);
                                goto out;
                        }
                        began = 1;
                }
                perr = rd_kafka_producev(ts->producer, RD_KAFKA_V_TOPIC(rec.topic),
                                         RD_KAFKA_V_KEY(rec.key.data, rec.key.len),
                                         RD_KAFKA_V_VALUE(rec.payload.data, rec.payload.len),
                                         RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
                if (!perr)
                        perr = rd_kafka_producev(ts->producer, RD_KAFKA_V_TOPIC(ts->t.timers),
                                                 RD_KAFKA_V_KEY(rec.timer_id, strlen(rec.timer_id)),
                                                 RD_KAFKA_V_VALUE(NULL, 0), RD_KAFKA_V_END);
                if (perr) {
                        df__log(DF__LOG_ERROR, "timer produce: %s", rd_kafka_err2str(perr));
                        df__timer_clear(&rec);
                        goto abort;
                }
                df__log(DF__LOG_DEBUG, "timer %s fired: due %lld, now %lld", rec.timer_id, (long long)due,
                        (long long)now);
                if (now - due > late_max)
                        late_max = now - due;
                rocksdb_writebatch_delete(wb, k, klen);
                {
                        char ikey[600];
                        size_t idl = klen - 9;
                        ikey[0] = 'i';
                        memcpy(ikey + 1, k + 9, idl);
                        rocksdb_writebatch_delete(wb, ikey, idl + 1);
                }
                df__timer_clear(&rec);
                n++;
        }
        if (!began) {
                if (*next_due != INT64_MAX)
                        ts->scan_from = *next_due; /* nothing pending is due before it */
                goto out;
        }
        if (rd_kafka_assignment(ts->consumer, &pos) == RD_KAFKA_RESP_ERR_NO_ERROR && pos->cnt) {
                rd_kafka_position(ts->consumer, pos);
                cgmd = rd_kafka_consumer_group_metadata(ts->consumer);
                error = rd_kafka_send_offsets_to_transaction(ts->producer, pos, cgmd, 30000);
                rd_kafka_consumer_group_metadata_destroy(cgmd);
                if (error) {
                        df__ts_txn_failed(ts, "send_offsets_to_transaction", error);
                        goto abort;
                }
        }
        error = rd_kafka_commit_transaction(ts->producer, 60000);
        if (error) {
                df__ts_txn_failed(ts, "commit_transaction", error);
                goto abort;
        }
        rocksdb_write(ts->db, ts->wo, wb, &err);
        if (err) {
                df__log(DF__LOG_ERROR, "timer index write: %s", err);
                free(err);
        } else {
                ts->scan_from = scan_next;
        }
        ts->stats.fired += (uint64_t)n;
        ts->stats.pending -= (uint64_t)n;
        if (late_max > ts->stats.lateness_max_ms)
                ts->stats.lateness_max_ms = late_max;
        goto out;
abort:
        if (!ts->fatal) {
                error = rd_kafka_abort_transaction(ts->producer, 30000);
                if (error) {
                        df__ts_txn_failed(ts, "abort_transaction", error);
                        ts->abort_pending = !ts->fatal;
                }
        }
        n = 0;
out:
        if (pos)
                rd_kafka_topic_partition_list_destroy(pos);
        rocksdb_iter_destroy(it);
        rocksdb_writebatch_destroy(wb);
        return ts->fatal ? -1 : n;
}

/* The transactional producer, initialised.  NULL with errstr on failure. */
static rd_kafka_t *df__ts_producer_new(df_timer_service_t *ts, char *errstr, size_t errstr_size)
{
        char cid[300], txid[300];
        snprintf(cid, sizeof(cid), "duraflow-timers-%s", ts->id);
        snprintf(txid, sizeof(txid), "%s-timers-%s", df_conf_get(ts->conf, "topic.prefix"), ts->id);
        return df__txn_producer_new(ts->conf, cid, txid, NULL, ts, errstr, errstr_size);
}

/* After a fatal producer error (a transaction fenced by the coordinator
 * while the broker was away): a new producer, at most 3 times a minute.
 * The index is untouched: what was not fired is still pending. */
static int df__ts_recover(df_timer_service_t *ts)
{
        char errstr[512];
        int64_t now = df__mono_ms();
        rd_kafka_t *rk;

        if (now - ts->recover_window_ms > 60000) {
                ts->recover_window_ms = now;
                ts->recoveries = 0;
        }
        if (++ts->recoveries > 3)
                return -1;
        df__log(DF__LOG_WARN, "timer service %s: fatal producer error: recreating the transactional producer", ts->id);
        rd_kafka_purge(ts->producer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_destroy(ts->producer);
        ts->producer = NULL;
        for (;;) {
                rk = df__ts_producer_new(ts, errstr, sizeof(errstr));
                if (rk)
                        break;
                if (ts->stop)
                        return -1;
                df__log(DF__LOG_WARN, "timer service %s: not ready: %s; retrying in 1 s", ts->id, errstr);
                sleep(1);
        }
        ts->producer = rk;
        ts->fatal = 0;
        ts->abort_pending = 0;
        return 0;
}

df_timer_service_t *df_timer_service_new(const df_conf_t *conf, char *errstr, size_t errstr_size)
{
        df_timer_service_t *ts = calloc(1, sizeof(*ts));
        rd_kafka_conf_t *kc = NULL;
        char e[512], cid[300], *dberr = NULL;
        const char *group;

        if (!ts || !conf) {
                free(ts);
                return NULL;
        }
        ts->conf = df_conf_dup(conf);
        if (!ts->conf || df__codec_init(errstr, errstr_size))
                goto fail;
        df_log_set_level(df_conf_get(conf, "log.level"));
        df__topics_init(&ts->t, conf);
        df__instance_id(conf, ts->id, sizeof(ts->id));
        ts->poll_max_ms = atoi(df_conf_get(conf, "timer.poll.max.ms"));
        ts->scan_from = INT64_MIN;
        ts->loaded = calloc((size_t)ts->t.partitions, 1);
        ts->assigned = calloc((size_t)ts->t.partitions, 1);
        if (!ts->loaded || !ts->assigned)
                goto fail;
        if (df__topics_ensure(conf, &ts->t, errstr, errstr_size))
                goto fail;

        mkdir(df_conf_get(conf, "state.dir"), 0755);
        snprintf(ts->dbpath, sizeof(ts->dbpath), "%s/timers-%s", df_conf_get(conf, "state.dir"), ts->id);
        ts->dbopts = rocksdb_options_create();
        rocksdb_options_set_create_if_missing(ts->dbopts, 1);
        ts->db = rocksdb_open(ts->dbopts, ts->dbpath, &dberr);
        if (dberr) {
                df__errf(errstr, errstr_size, "RocksDB open %s: %s", ts->dbpath, dberr);
                free(dberr);
                goto fail;
        }
        ts->wo = rocksdb_writeoptions_create();
        rocksdb_writeoptions_disable_WAL(ts->wo, 1); /* rebuilt from the topic on every assignment */
        ts->ro = rocksdb_readoptions_create();

        snprintf(cid, sizeof(cid), "duraflow-timers-%s", ts->id);
        ts->producer = df__ts_producer_new(ts, errstr, errstr_size);
        if (!ts->producer)
                goto fail;

        kc = df__kafka_conf(conf, cid, errstr, errstr_size);
        if (!kc)
                goto fail;
        group = df_conf_get(conf, "timer.group.id");
        if (!*group) {
                snprintf(e, sizeof(e), "%s-timers", df_conf_get(conf, "topic.prefix"));
                group = e;
        }
        if (df__kconf_set(kc, "group.id", group, errstr, errstr_size) ||
            df__kconf_set(kc, "enable.auto.commit", "false", errstr, errstr_size) ||
            df__kconf_set(kc, "auto.offset.reset", "earliest", errstr, errstr_size) ||
            df__kconf_set(kc, "isolation.level", "read_committed", errstr, errstr_size) ||
            df__kconf_set(kc, "enable.partition.eof", "true", errstr, errstr_size) ||
            df__kconf_set(kc, "session.timeout.ms", df_conf_get(conf, "session.timeout.ms"), errstr, errstr_size) ||
            df__kconf_set(kc, "heartbeat.interval.ms", "1000", errstr, errstr_size) ||
            df__kconf_set(kc, "fetch.wait.max.ms", "10", errstr, errstr_size))
                goto fail_kc;
        /* static membership (KIP-345): a restart with the same worker.id gets
         * its partitions back at once instead of after session.timeout.ms */
        if (*df_conf_get(conf, "worker.id") &&
            df__kconf_set(kc, "group.instance.id", ts->id, errstr, errstr_size))
                goto fail_kc;
        rd_kafka_conf_set_rebalance_cb(kc, df__ts_rebalance);
        rd_kafka_conf_set_opaque(kc, ts);
        if (df__kconf_user(kc, ts->conf, errstr, errstr_size)) {
                rd_kafka_conf_destroy(kc);
                kc = NULL;
                goto fail;
        }
        ts->consumer = rd_kafka_new(RD_KAFKA_CONSUMER, kc, e, sizeof(e));
        if (!ts->consumer) {
                df__errf(errstr, errstr_size, "timer consumer: %s", e);
                goto fail_kc;
        }
        rd_kafka_poll_set_consumer(ts->consumer);
        return ts;
fail_kc:
        rd_kafka_conf_destroy(kc);
fail:
        df_timer_service_destroy(ts);
        return NULL;
}

df_err_t df_timer_service_run(df_timer_service_t *ts)
{
        rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
        rd_kafka_resp_err_t err;
        int64_t next_due = 0;

        rd_kafka_topic_partition_list_add(sub, ts->t.timers, RD_KAFKA_PARTITION_UA);
        err = rd_kafka_subscribe(ts->consumer, sub);
        rd_kafka_topic_partition_list_destroy(sub);
        if (err) {
                df__log(DF__LOG_ERROR, "subscribe %s: %s", ts->t.timers, rd_kafka_err2str(err));
                return DF_ERR_KAFKA;
        }
        df__log(DF__LOG_INFO, "timer service %s: consuming %s", ts->id, ts->t.timers);
        while (!ts->stop && !ts->fatal) {
                int64_t now = df__now_ms();
                int timeout = ts->poll_max_ms, n = 0;
                rocksdb_writebatch_t *wb;
                char *dberr = NULL;

                if (next_due != INT64_MAX && next_due - now < timeout)
                        timeout = next_due - now < 0 ? 0 : (int)(next_due - now);
                wb = rocksdb_writebatch_create();
                while (n < 10000) {
                        rd_kafka_message_t *m = rd_kafka_consumer_poll(ts->consumer, n ? 0 : timeout);
                        if (!m)
                                break;
                        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                                if (m->partition >= 0 && m->partition < ts->t.partitions &&
                                    ts->assigned[m->partition] && !ts->loaded[m->partition]) {
                                        ts->loaded[m->partition] = 1;
                                        if (++ts->n_loaded == ts->n_assigned)
                                                df__log(DF__LOG_INFO, "timer service %s: %llu pending timer(s) loaded",
                                                        ts->id, (unsigned long long)ts->stats.pending);
                                }
                        } else if (m->err) {
                                df__log(DF__LOG_WARN, "timer consume: %s", rd_kafka_message_errstr(m));
                        } else if (df__index_record(ts, wb, m)) {
                                rd_kafka_message_destroy(m);
                                break;
                        }
                        rd_kafka_message_destroy(m);
                        n++;
                        /* index_remove reads the DB: write as we go */
                        rocksdb_write(ts->db, ts->wo, wb, &dberr);
                        rocksdb_writebatch_clear(wb);
                        if (dberr) {
                                df__log(DF__LOG_ERROR, "timer index write: %s", dberr);
                                free(dberr);
                                dberr = NULL;
                        }
                }
                rocksdb_writebatch_destroy(wb);
                if (ts->n_assigned && ts->n_loaded == ts->n_assigned) {
                        if (df__fire_due(ts, df__now_ms(), &next_due) < 0) {
                                if (df__ts_recover(ts) == 0)
                                        continue;
                                break;
                        }
                } else {
                        next_due = INT64_MAX;
                }
        }
        rd_kafka_consumer_close(ts->consumer);
        return ts->fatal ? DF_ERR_FENCED : DF_OK;
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
        if (ts->consumer)
                rd_kafka_destroy(ts->consumer);
        if (ts->producer) {
                rd_kafka_flush(ts->producer, 5000);
                rd_kafka_destroy(ts->producer);
        }
        if (ts->db)
                rocksdb_close(ts->db);
        if (ts->dbopts)
                rocksdb_options_destroy(ts->dbopts);
        if (ts->wo)
                rocksdb_writeoptions_destroy(ts->wo);
        if (ts->ro)
                rocksdb_readoptions_destroy(ts->ro);
        free(ts->loaded);
        free(ts->assigned);
        df_conf_destroy(ts->conf);
        free(ts);
}
