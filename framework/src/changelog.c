/*
 * changelog.c -- restore a partition's store from <prefix>.state (see changelog.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "changelog.h"
#include "schedule.h"
#include "telemetry.h"

#define DF__RESTORE_TIMEOUT_MS 120000

int df__changelog_open(df__changelog_t *cl, const df_conf_t *conf, const char *client_id, const char *topic,
                       int64_t txn_timeout_ms, char *errstr, size_t errstr_size)
{
        rd_kafka_conf_t *kc;
        char e[512];

        memset(cl, 0, sizeof(*cl));
        cl->topic = topic;
        cl->txn_timeout_ms = txn_timeout_ms;
        /* restore consumer: no group, read_committed, EOF events */
        kc = df__kafka_conf(conf, client_id, errstr, errstr_size);
        if (!kc)
                return -1;
        if (df__kconf_set(kc, "group.id", "duraflow-restore-unused", errstr, errstr_size) ||
            df__kconf_set(kc, "fetch.wait.max.ms", "10", errstr, errstr_size) ||
            df__kconf_set(kc, "enable.auto.commit", "false", errstr, errstr_size) ||
            df__kconf_set(kc, "isolation.level", "read_committed", errstr, errstr_size) ||
            df__kconf_set(kc, "enable.partition.eof", "true", errstr, errstr_size) ||
            df__kconf_user(kc, conf, errstr, errstr_size)) {
                rd_kafka_conf_destroy(kc);
                return -1;
        }
        cl->restorer = rd_kafka_new(RD_KAFKA_CONSUMER, kc, e, sizeof(e));
        if (!cl->restorer) {
                df__errf(errstr, errstr_size, "restore consumer: %s", e);
                rd_kafka_conf_destroy(kc);
                return -1;
        }
        kc = df__kafka_conf(conf, client_id, errstr, errstr_size);
        if (!kc)
                return -1;
        if (df__kconf_set(kc, "group.id", "duraflow-probe-unused", errstr, errstr_size) ||
            df__kconf_set(kc, "enable.auto.commit", "false", errstr, errstr_size) ||
            df__kconf_set(kc, "isolation.level", "read_uncommitted", errstr, errstr_size) ||
            df__kconf_user(kc, conf, errstr, errstr_size)) {
                rd_kafka_conf_destroy(kc);
                return -1;
        }
        cl->probe = rd_kafka_new(RD_KAFKA_CONSUMER, kc, e, sizeof(e));
        if (!cl->probe) {
                df__errf(errstr, errstr_size, "watermark probe: %s", e);
                rd_kafka_conf_destroy(kc);
                return -1;
        }
        return 0;
}

void df__changelog_close(df__changelog_t *cl)
{
        if (cl->restorer) {
                rd_kafka_consumer_close(cl->restorer);
                rd_kafka_destroy(cl->restorer);
        }
        if (cl->probe) {
                rd_kafka_consumer_close(cl->probe);
                rd_kafka_destroy(cl->probe);
        }
        cl->restorer = cl->probe = NULL;
}

/* 1 when the record at ck->next - 1 is the one the checkpoint names, 0 when
 * not (or it cannot be read: compacted away, behind an open transaction). */
static int df__ckpt_verify(df__changelog_t *cl, int part, const df__ckpt_t *ck)
{
        rd_kafka_topic_partition_list_t *tp = rd_kafka_topic_partition_list_new(1);
        int64_t deadline = df__mono_ms() + 30000;
        int ok = 0;

        rd_kafka_topic_partition_list_add(tp, cl->topic, part)->offset = ck->next - 1;
        rd_kafka_assign(cl->restorer, tp);
        rd_kafka_topic_partition_list_destroy(tp);
        while (df__mono_ms() < deadline) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(cl->restorer, 500);
                int stop = 0;
                if (!m)
                        continue;
                if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                        stop = 1;
                } else if (!m->err && m->partition == part) {
                        df__ckpt_t got;
                        df__ckpt_of(&got, m);
                        ok = m->offset == ck->next - 1 && got.ts == ck->ts && got.keyh == ck->keyh;
                        stop = 1;
                }
                rd_kafka_message_destroy(m);
                if (stop)
                        break;
        }
        rd_kafka_assign(cl->restorer, NULL);
        return ok;
}

/*
 * The changelog's offsets [*lo, *hi) as read_committed sees them.  The last
 * stable offset (read_committed end) trails the high watermark while the
 * previous owner's transaction is open; what it commits must be restored
 * too, so wait until the transaction is over (committed or aborted: at most
 * transaction.timeout.ms).  0, or -1 (logged).
 */
static int df__changelog_stable_end(df__changelog_t *cl, int part, int64_t *lo, int64_t *hi)
{
        int64_t hw_lo = 0, hw = 0, deadline = df__mono_ms() + cl->txn_timeout_ms + 5000;
        rd_kafka_resp_err_t err;

        for (;;) {
                err = df__watermarks(cl->restorer, cl->topic, part, lo, hi);
                if (!err)
                        err = df__watermarks(cl->probe, cl->topic, part, &hw_lo, &hw);
                if (err) {
                        df__log(DF__LOG_ERROR, "restore %s[%d]: watermarks: %s", cl->topic, part,
                                rd_kafka_err2str(err));
                        return -1;
                }
                if (*hi >= hw)
                        return 0;
                if (df__mono_ms() > deadline) {
                        df__log(DF__LOG_ERROR,
                                "restore %s[%d]: a transaction is still open on the changelog (stable end %lld, "
                                "high watermark %lld); will retry",
                                cl->topic, part, (long long)*hi, (long long)hw);
                        return -1;
                }
                df__log(DF__LOG_DEBUG, "restore %s[%d]: waiting for an open transaction (%lld < %lld)", cl->topic,
                        part, (long long)*hi, (long long)hw);
                usleep(200000);
        }
}

/* An execution record (a key without '/', not a schedule's): its entry in
 * the end-time index (store.h) at the record's timestamp, which is at or
 * after the execution's last change.  A hint, not decoded here: the sweep
 * reads the execution when the entry falls due and drops what is not
 * finished (it is indexed again when it ends). */
static void df__restore_rkey(rocksdb_writebatch_t *wb, int part, const rd_kafka_message_t *m)
{
        char id[512];
        int64_t ts = rd_kafka_message_timestamp(m, NULL), now = df__now_ms();
        if (m->key_len >= sizeof(id) || memchr(m->key, '/', m->key_len))
                return;
        memcpy(id, m->key, m->key_len);
        id[m->key_len] = '\0';
        if (df__schedule_key(id))
                return;
        df__store_wb_rkey(wb, part, ts > 0 && ts < now ? ts : now, id, m->key_len);
}

int df__changelog_restore(df__changelog_t *cl, df__store_t *store, int part)
{
        df__ckpt_t ck = df__store_ckpt(store, part);
        int64_t next = ck.next, lo = 0, hi = 0, t0 = df__mono_ms(), n = 0, bytes = 0;
        rd_kafka_topic_partition_list_t *tp;
        rocksdb_writebatch_t *wb;
        int ret = -1, done = 0;

        if (!store->db || df__changelog_stable_end(cl, part, &lo, &hi))
                return -1;
        if (next > hi || next < lo) {
                df__log(DF__LOG_WARN,
                        "restore %s[%d]: local checkpoint %lld is outside the changelog [%lld, %lld]: "
                        "dropping the local state and rebuilding it",
                        cl->topic, part, (long long)next, (long long)lo, (long long)hi);
                if (df__store_wipe_partition(store, part))
                        return -1;
                next = lo;
                ck.next = lo;
        } else if (next > lo && df__ckpt_verify(cl, part, &ck) != 1) {
                df__log(DF__LOG_WARN,
                        "restore %s[%d]: the changelog record at offset %lld is not the one the local checkpoint "
                        "names: dropping the local state and rebuilding it",
                        cl->topic, part, (long long)(next - 1));
                if (df__store_wipe_partition(store, part))
                        return -1;
                next = lo;
                ck.next = lo;
        }
        if (next >= hi)
                return 0;
        tp = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(tp, cl->topic, part)->offset = next;
        rd_kafka_assign(cl->restorer, tp);
        rd_kafka_topic_partition_list_destroy(tp);
        wb = rocksdb_writebatch_create();
        while (!done) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(cl->restorer, 500);
                char k[512];
                if (!m) {
                        if (df__mono_ms() - t0 > DF__RESTORE_TIMEOUT_MS) {
                                df__log(DF__LOG_ERROR, "restore %s[%d]: timed out", cl->topic, part);
                                goto out;
                        }
                        continue;
                }
                if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                        done = 1;
                } else if (m->err) {
                        df__log(DF__LOG_WARN, "restore %s[%d]: %s", cl->topic, part, rd_kafka_message_errstr(m));
                } else if (m->partition == part && m->key && m->key_len < 400) {
                        size_t kl = df__store_pkey(k, sizeof(k), part, m->key, m->key_len);
                        if (m->payload) {
                                rocksdb_writebatch_put(wb, k, kl, m->payload, m->len);
                                df__restore_rkey(wb, part, m);
                        } else
                                rocksdb_writebatch_delete(wb, k, kl);
                        next = m->offset + 1;
                        df__ckpt_of(&ck, m);
                        n++;
                        bytes += (int64_t)m->len;
                        if (rocksdb_writebatch_count(wb) >= 10000) {
                                int bad;
                                df__store_wb_ckpt(wb, part, &ck);
                                bad = df__store_write(store, wb, "write while restoring");
                                rocksdb_writebatch_clear(wb);
                                if (bad) {
                                        rd_kafka_message_destroy(m);
                                        goto out;
                                }
                        }
                }
                rd_kafka_message_destroy(m);
        }
        df__store_wb_ckpt(wb, part, &ck);
        if (df__store_write(store, wb, "write while restoring"))
                goto out;
        df__log(DF__LOG_INFO, "restored %s[%d]: %lld records, %lld bytes in %lld ms", cl->topic, part,
                (long long)n, (long long)bytes, (long long)(df__mono_ms() - t0));
        df__histogram_observe(df__metric_series(df__telemetry_metrics(), DF__M_RESTORE_DURATION, "worker"),
                              (double)(df__mono_ms() - t0) / 1000.0);
        df__counter_add(df__metric_series(df__telemetry_metrics(), DF__M_RESTORE_RECORDS, "worker"), (uint64_t)n);
        ret = 0;
out:
        rocksdb_writebatch_destroy(wb);
        rd_kafka_assign(cl->restorer, NULL);
        return ret;
}

