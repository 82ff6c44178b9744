/*
 * worker.c -- the worker runtime: the Kafka loop around the replay engine.
 *
 * One thread.  Each batch of <prefix>.events records is processed first
 * (the steps run; their outputs are kept in memory), then committed in one
 * Kafka transaction that carries the changelog records (<prefix>.state, to
 * the event's partition), timer requests, outgoing events, results, dead
 * letters and the consumer offsets (send_offsets_to_transaction with the
 * group metadata, KIP-447, which fences a zombie that lost its partitions).
 * The transaction is open only while the outputs are produced and
 * committed, not while steps run: a step may take longer than
 * transaction.timeout.ms, and a worker that dies mid-step leaves no open
 * transaction for the next owner of its partitions to wait for.
 * RocksDB is written after the commit.  On assignment each partition's
 * store is brought up to date from <prefix>.state before its events are
 * processed; a stored changelog offset beyond the topic's end is not
 * trusted: the partition's local state is dropped and rebuilt.
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <rocksdb/c.h>

#include "crashlog.h"
#include "kafka.h"
#include "state.h"

#define DF__RESTORE_TIMEOUT_MS 120000
/* A batch that moved this many bytes of state gives memory back (malloc_trim). */
#define DF__TRIM_AFTER_BYTES (8u << 20)

struct df_worker {
        df_conf_t *conf;
        df__topics_t t;
        char id[128];
        int batch_max, batch_ms;
        rd_kafka_t *consumer, *producer, *restorer;
        rd_kafka_t *probe;     /* read_uncommitted: the changelog's high watermark */
        int64_t txn_timeout_ms;
        rocksdb_t *db;         /* NULL while it could not be reopened */
        char dbpath[1024];
        int64_t min_free;      /* state.min.free.bytes */
        int disk_low;          /* logged once per episode */
        rocksdb_options_t *dbopts;
        rocksdb_writeoptions_t *wo;
        rocksdb_readoptions_t *ro;
        df__engine_t *eng;
        df__map_t *cache;      /* exec id -> df__exec_state_t*, this batch */
        df__map_t *yielded;    /* exec ids that asked to go on in the next batch (CONTINUE), this batch */
        df__map_t *carry;      /* exec id -> committed state of a yielded execution, for the next batch */
        df__map_t *exec_part;  /* exec id -> partition+1, this batch */
        rocksdb_writebatch_t *wb;
        struct df__out *outs;  /* this batch's output records, produced at commit time */
        int n_outs, cap_outs;
        size_t out_bytes;      /* their keys and values, bytes */
        size_t batch_max_bytes; /* batch.max.bytes */
        size_t loaded_bytes;   /* state records read this batch (memory to give back after) */
        int cur_msg;           /* index in msgs of the record being processed, -1: none */
        int abort_pending;     /* an abort_transaction timed out: call it again before anything else */
        int fails;             /* batches not committed in a row (for the retry backoff) */
        struct df__ckpt *dr_ckpt; /* per partition: last delivered state record (next = -1: none) */
        rd_kafka_message_t **msgs; /* consumed, not yet committed; capacity 2 * batch_max */
        int n_msgs;
        int n_done;                /* how many of msgs the last transaction processed */
        int64_t txn_budget_ms;     /* stop adding events to a batch after processing this long */
        int cur_part;
        int fatal;
        int poison_part;       /* record whose processing aborted a batch: */
        int64_t poison_off;    /* the retry sends it to the DLQ */
        int failed_part;
        int64_t failed_off;
        int need_restore;      /* RocksDB missed a committed batch: catch up first */
        int store_err;         /* the last store read failed (I/O), not a record that cannot be decoded */
        df__crashlog_t *crashlog;  /* breadcrumbs: which execution / step body this process runs */
        df__crash_rec_t *crashes;  /* left by the previous process with this worker.id: to report */
        int n_crashes;
        /* keepalive: while a batch runs longer than max.poll.interval.ms / 4,
         * another thread pauses the partitions and polls the consumer, so a
         * long step does not cost the group membership */
        pthread_t ka_thr;
        int ka_started;
        pthread_mutex_t poll_lock;  /* held by whichever thread polls the consumer */
        int64_t busy_since;         /* monotonic ms a batch started, 0 when idle (atomic) */
        int64_t ka_after_ms;
        int in_keepalive;           /* the keepalive thread is inside a poll */
        int paused;                 /* partitions paused by the keepalive */
        int lost;                   /* a rebalance happened while a batch ran: abort it */
        volatile sig_atomic_t ka_stop;
        int recoveries;             /* producer recreations in the current minute */
        int64_t recover_window_ms;
        volatile sig_atomic_t stop;
        df_worker_stats_t stats;
};

/* ---------------- RocksDB keys ---------------- */

/* state: "s" + 4-digit partition + ":" + changelog key; offsets: "m:cl:<p>" */
static void df__skey(char *buf, size_t size, int part, const char *key)
{
        snprintf(buf, size, "s%04d:%s", part, key);
}

/*
 * A partition's changelog checkpoint: the next offset to read, and the
 * identity (timestamp, key hash) of the record just before it.  On restore the
 * record at next-1 must still be that record; otherwise the store was built
 * from another changelog (a topic deleted and recreated, a state directory
 * copied from elsewhere) and is dropped.
 */
typedef struct df__ckpt {
        int64_t next;
        int64_t ts;
        uint64_t keyh;
} df__ckpt_t;

static uint64_t df__keyhash(const void *key, size_t len)
{
        const unsigned char *p = key;
        uint64_t h = 1469598103934665603ULL;
        size_t i;
        for (i = 0; i < len; i++) {
                h ^= p[i];
                h *= 1099511628211ULL;
        }
        return h;
}

static void df__ckpt_of(df__ckpt_t *c, const rd_kafka_message_t *m)
{
        rd_kafka_timestamp_type_t tt;
        c->next = m->offset + 1;
        c->ts = rd_kafka_message_timestamp(m, &tt);
        c->keyh = df__keyhash(m->key, m->key_len);
}

static df__ckpt_t df__stored_ckpt(df_worker_t *w, int part)
{
        char key[32], *err = NULL, *val;
        size_t len;
        df__ckpt_t c = {0, 0, 0};

        snprintf(key, sizeof(key), "m:cl:%04d", part);
        val = rocksdb_get(w->db, w->ro, key, strlen(key), &len, &err);
        if (err) {
                free(err);
                return c;
        }
        if (val && len == sizeof(c))
                memcpy(&c, val, sizeof(c));
        free(val);
        return c;
}

static void df__wb_ckpt(rocksdb_writebatch_t *wb, int part, const df__ckpt_t *c)
{
        char key[32];
        snprintf(key, sizeof(key), "m:cl:%04d", part);
        rocksdb_writebatch_put(wb, key, strlen(key), (const char *)c, sizeof(*c));
}

/* ---------------- store access for the engine ---------------- */

static int df__produce(df_worker_t *w, const char *topic, int32_t part, const void *key, size_t klen,
                       const df__buf_t *val);

static int df__db_get(void *opaque, const char *key, df__buf_t *val, int *found)
{
        df_worker_t *w = opaque;
        char k[512], *err = NULL, *v;
        size_t len;

        df__skey(k, sizeof(k), w->cur_part, key);
        v = rocksdb_get(w->db, w->ro, k, strlen(k), &len, &err);
        if (err) {
                df__log(DF__LOG_ERROR, "RocksDB get %s: %s", k, err);
                free(err);
                w->store_err = 1;
                return -1;
        }
        *found = v != NULL;
        if (v) {
                val->data = (uint8_t *)v;
                val->len = len;
                w->loaded_bytes += len;
        }
        return 0;
}

/* A changelog record for the batch's transaction, staged for RocksDB too. */
static int df__db_put(void *opaque, const char *key, const df__buf_t *val)
{
        df_worker_t *w = opaque;
        char k[512];

        if (df__produce(w, w->t.state, w->cur_part, key, strlen(key), val))
                return -1;
        df__skey(k, sizeof(k), w->cur_part, key);
        rocksdb_writebatch_put(w->wb, k, strlen(k), (const char *)val->data, val->len);
        return 0;
}

/* ---------------- engine outputs ---------------- */

/* One output record of the batch, owned (key and value copied). */
struct df__out {
        const char *topic; /* one of w->t's names */
        int32_t part;      /* RD_KAFKA_PARTITION_UA: by key */
        char *key;
        size_t klen;
        void *val;         /* NULL: tombstone */
        size_t vlen;
        int msg;           /* index in msgs of the record it came from, -1: none */
};

static void df__outs_clear(df_worker_t *w)
{
        int i;
        for (i = 0; i < w->n_outs; i++) {
                free(w->outs[i].key);
                free(w->outs[i].val);
        }
        w->n_outs = 0;
        w->out_bytes = 0;
}

/* Keep an output record for the batch's transaction.  0, or -1 (no memory). */
static int df__produce(df_worker_t *w, const char *topic, int32_t part, const void *key, size_t klen,
                       const df__buf_t *val)
{
        struct df__out *o;
        if (w->n_outs == w->cap_outs) {
                int cap = w->cap_outs ? w->cap_outs * 2 : 1024;
                struct df__out *outs = realloc(w->outs, (size_t)cap * sizeof(*outs));
                if (!outs)
                        return -1;
                w->outs = outs;
                w->cap_outs = cap;
        }
        o = &w->outs[w->n_outs];
        o->topic = topic;
        o->part = part;
        o->klen = klen;
        o->vlen = val ? val->len : 0;
        o->key = malloc(klen ? klen : 1);
        o->val = val && val->data ? malloc(val->len ? val->len : 1) : NULL;
        o->msg = w->cur_msg;
        if (!o->key || (val && val->data && !o->val)) {
                free(o->key);
                free(o->val);
                df__log(DF__LOG_ERROR, "output record for %s: out of memory", topic);
                return -1;
        }
        memcpy(o->key, key, klen);
        if (o->val)
                memcpy(o->val, val->data, val->len);
        w->n_outs++;
        w->out_bytes += klen + o->vlen;
        return 0;
}

/* Produce the batch's output records into the open transaction.  0, or -1
 * with the failing record's source noted as w->failed_part/off. */
static int df__produce_outs(df_worker_t *w)
{
        int i;
        for (i = 0; i < w->n_outs; i++) {
                struct df__out *o = &w->outs[i];
                rd_kafka_resp_err_t err;
                for (;;) {
                        err = rd_kafka_producev(w->producer, RD_KAFKA_V_TOPIC(o->topic), RD_KAFKA_V_PARTITION(o->part),
                                                RD_KAFKA_V_KEY(o->key, o->klen), RD_KAFKA_V_VALUE(o->val, o->vlen),
                                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
                        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
                                break;
                        rd_kafka_poll(w->producer, 10);
                }
                if (err) {
                        df__log(DF__LOG_ERROR, "produce to %s: %s", o->topic, rd_kafka_err2str(err));
                        if (o->msg >= 0 && o->msg < w->n_msgs) {
                                w->failed_part = w->msgs[o->msg]->partition;
                                w->failed_off = w->msgs[o->msg]->offset;
                        }
                        return -1;
                }
        }
        return 0;
}

static int df__out_timer(void *opaque, const df__timer_rec_t *t)
{
        df_worker_t *w = opaque;
        df__buf_t v = {0};
        char errstr[256];
        int rc;
        if (df__timer_encode(t, &v, errstr, sizeof(errstr))) {
                df__log(DF__LOG_ERROR, "encode timer: %s", errstr);
                return -1;
        }
        rc = df__produce(w, w->t.timers, RD_KAFKA_PARTITION_UA, t->timer_id, strlen(t->timer_id), &v);
        free(v.data);
        return rc;
}

/* A timer no longer needed: a tombstone on <prefix>.timers (same key, so
 * the same partition as the timer record). */
static int df__out_cancel_timer(void *opaque, const char *timer_id)
{
        df_worker_t *w = opaque;
        return df__produce(w, w->t.timers, RD_KAFKA_PARTITION_UA, timer_id, strlen(timer_id), NULL);
}

static int df__out_event(void *opaque, const df__event_t *ev)
{
        df_worker_t *w = opaque;
        df__buf_t v = {0};
        char errstr[256];
        int rc, err;
        if (ev->type == DF__EV_CONTINUE)
                df__map_put(w->yielded, ev->execution_id, (void *)1, &err);
        if (df__event_encode(ev, &v, errstr, sizeof(errstr))) {
                df__log(DF__LOG_ERROR, "encode event: %s", errstr);
                return -1;
        }
        rc = df__produce(w, w->t.events, RD_KAFKA_PARTITION_UA, ev->execution_id, strlen(ev->execution_id), &v);
        free(v.data);
        return rc;
}

static int df__out_result(void *opaque, const df__result_rec_t *r)
{
        df_worker_t *w = opaque;
        df__buf_t v = {0};
        char errstr[256];
        int rc;
        if (df__result_encode(r, &v, errstr, sizeof(errstr))) {
                df__log(DF__LOG_ERROR, "encode result: %s", errstr);
                return -1;
        }
        rc = df__produce(w, w->t.results, RD_KAFKA_PARTITION_UA, r->execution_id, strlen(r->execution_id), &v);
        free(v.data);
        return rc;
}

/* Largest original value a dead letter carries whole; a larger one is cut
 * to its first DF__DLQ_KEEP bytes (the record must fit the topic's
 * max.message.bytes, 2 MiB, and the producer's message.max.bytes). */
#define DF__DLQ_INLINE_MAX 1000000
#define DF__DLQ_KEEP 65536

static int df__dead_letter(df_worker_t *w, const rd_kafka_message_t *m, const char *error)
{
        df__dlq_rec_t d;
        df__buf_t v = {0};
        char errstr[256], *text = NULL;
        size_t klen = m->key_len > 4096 ? 4096 : m->key_len;
        int rc;

        memset(&d, 0, sizeof(d));
        d.topic = (char *)rd_kafka_topic_name(m->rkt);
        d.partition = m->partition;
        d.offset = m->offset;
        d.key.data = m->key;
        d.key.len = klen;
        d.value.data = m->payload;
        d.value.len = m->len;
        d.error = (char *)error;
        d.ts_ms = df__now_ms();
        df__log(DF__LOG_WARN, "dead letter %s[%d]@%lld: %s", d.topic, (int)d.partition, (long long)d.offset, error);
        if (m->len > DF__DLQ_INLINE_MAX) {
                text = df__asprintf("%s (value of %zu bytes cut to its first %d)", error, m->len, DF__DLQ_KEEP);
                d.error = text ? text : (char *)error;
                d.value.len = DF__DLQ_KEEP;
        }
        if (df__dlq_encode(&d, &v, errstr, sizeof(errstr))) {
                /* The record could not be built whole: keep the coordinates. */
                d.value.data = NULL;
                d.value.len = 0;
                d.key.len = 0;
                if (df__dlq_encode(&d, &v, errstr, sizeof(errstr))) {
                        df__log(DF__LOG_ERROR, "dead letter %s[%d]@%lld not written: %s", d.topic,
                                (int)d.partition, (long long)d.offset, errstr);
                        free(text);
                        return -1;
                }
        }
        rc = df__produce(w, w->t.dlq, RD_KAFKA_PARTITION_UA, m->key, klen, &v);
        free(v.data);
        free(text);
        w->stats.dlq++;
        return rc;
}

/* ---------------- processing ---------------- */

/* Committed states carried over are only valid while nothing was aborted
 * and the partitions did not move. */
static void df__carry_clear(df_worker_t *w)
{
        df__map_clear(w->carry, df__exec_state_free);
}

static df__exec_state_t *df__load(df_worker_t *w, const char *exec_id, char *errstr, size_t errstr_size)
{
        df__exec_state_t *st = df__map_get(w->cache, exec_id);
        int err;
        if (st)
                return st;
        /* an execution that yielded in the last batch: its committed state
         * is still in memory (no second read of a long history) */
        st = df__map_del(w->carry, exec_id);
        if (st) {
                df__map_put(w->cache, exec_id, st, &err);
                if (!err)
                        return st;
                df__exec_state_free(st);
        }
        st = df__exec_state_new();
        if (!st)
                return NULL;
        if (df__state_load(st, exec_id, df__db_get, w, errstr, errstr_size)) {
                df__exec_state_free(st);
                return NULL;
        }
        df__map_put(w->cache, exec_id, st, &err);
        if (err) {
                df__exec_state_free(st);
                return NULL;
        }
        return st;
}

static int df__out_step_begin(void *opaque, const char *execution_id, const char *op_id, int attempt)
{
        df_worker_t *w = opaque;
        (void)execution_id;
        df__crashlog_step(w->crashlog, 0, op_id, attempt);
        return 0;
}

static void df__out_step_end(void *opaque)
{
        df_worker_t *w = opaque;
        df__crashlog_step(w->crashlog, 0, NULL, 0);
}

static int df__out_over_budget(void *opaque, size_t pending)
{
        df_worker_t *w = opaque;
        return w->out_bytes + pending >= w->batch_max_bytes;
}

static const df__engine_out_t *df__engine_out(df_worker_t *w)
{
        static __thread df__engine_out_t out;
        out = (df__engine_out_t){.timer = df__out_timer,
                                 .event = df__out_event,
                                 .result = df__out_result,
                                 .opaque = w,
                                 .cancel_timer = df__out_cancel_timer,
                                 .step_begin = df__out_step_begin,
                                 .step_end = df__out_step_end,
                                 .over_budget = df__out_over_budget};
        return &out;
}

/* Drop the output records from index mark on (one execution's, undone). */
static void df__outs_truncate(df_worker_t *w, int mark)
{
        int i;
        for (i = mark; i < w->n_outs; i++) {
                w->out_bytes -= w->outs[i].klen + w->outs[i].vlen;
                free(w->outs[i].key);
                free(w->outs[i].val);
        }
        w->n_outs = mark;
}

/*
 * Apply one event.  0 when applied (or, if that failed inside the engine or
 * its records could not be encoded, when the execution was parked as
 * QUARANTINED instead: its own changes are undone, the batch goes on);
 * -1 when the batch must abort (a store read error: retried); -2 when the
 * event must be dead-lettered (its execution's state cannot be read, or it
 * could not even be quarantined).  raw is the event's encoded form (NULL
 * for a synthesised event).  The crash breadcrumb names the execution
 * while it is processed (steps run here).
 */
static int df__process_event(df_worker_t *w, const df__event_t *ev, int part, int committed, const df__buf_t *raw)
{
        const df__engine_out_t *out = df__engine_out(w);
        df__exec_state_t *st;
        char errstr[512], reason[600];
        char *err = NULL;
        int mark = w->n_outs, perr, ret = 0;

        df__log(DF__LOG_DEBUG, "event type %d exec %s op %s kind %d seq %lld cb %s", ev->type, ev->execution_id,
                ev->op_id ? ev->op_id : "", ev->timer_kind, (long long)ev->seq, ev->callback_id ? ev->callback_id : "");
        w->cur_part = part;
        w->store_err = 0;
        rocksdb_writebatch_set_save_point(w->wb);
        df__crashlog_enter(w->crashlog, 0, ev->execution_id, part);
        st = df__load(w, ev->execution_id, errstr, sizeof(errstr));
        if (!st) {
                df__log(DF__LOG_ERROR, "execution %s: cannot load state: %s", ev->execution_id, errstr);
                ret = w->store_err ? -1 : -2;
                goto out;
        }
        df__map_put(w->exec_part, ev->execution_id, (void *)(intptr_t)(part + 1), &perr);
        if (df__engine_apply(w->eng, st, ev, out, committed) == 0 &&
            df__state_flush_dirty(st, df__db_put, w, errstr, sizeof(errstr)) == 0) {
                w->stats.events++;
                goto out;
        }
        /* This execution alone failed: undo its changes in the batch and
         * park it, so that its content never costs the others theirs. */
        snprintf(reason, sizeof(reason), "%s", errstr[0] ? errstr : "internal error in the replay engine");
        errstr[0] = '\0';
        df__outs_truncate(w, mark);
        rocksdb_writebatch_rollback_to_save_point(w->wb, &err);
        free(err);
        err = NULL;
        rocksdb_writebatch_set_save_point(w->wb);
        df__engine_amo_forget(w->eng, ev->execution_id);
        df__exec_state_free(df__map_del(w->cache, ev->execution_id));
        st = df__load(w, ev->execution_id, errstr, sizeof(errstr));
        if (!st || df__engine_quarantine(w->eng, st, ev, raw, reason, out) ||
            df__state_flush_dirty(st, df__db_put, w, errstr, sizeof(errstr))) {
                df__outs_truncate(w, mark);
                rocksdb_writebatch_rollback_to_save_point(w->wb, &err);
                free(err);
                err = NULL;
                rocksdb_writebatch_set_save_point(w->wb);
                if (st)
                        df__exec_state_free(df__map_del(w->cache, ev->execution_id));
                ret = w->store_err ? -1 : -2;
                goto out;
        }
        w->stats.events++;
out:
        df__crashlog_leave(w->crashlog, 0);
        rocksdb_writebatch_pop_save_point(w->wb, &err);
        free(err);
        errstr[0] = '\0';
        return ret;
}

/* A reply to a request whose event could not be processed at all. */
static int df__reply_rejected(df_worker_t *w, const df__event_t *ev, const char *why)
{
        df__result_rec_t r;
        char *msg;
        int rc;

        if (!ev || !ev->request_id || !*ev->request_id)
                return 0;
        msg = df__asprintf("rejected (dead-lettered to %s): %s", w->t.dlq, why);
        memset(&r, 0, sizeof(r));
        r.kind = DF__RK_REPLY;
        r.execution_id = ev->execution_id;
        r.request_id = ev->request_id;
        r.code = DF_ERR_REJECTED;
        r.error = msg ? msg : (char *)why;
        r.ts_ms = df__now_ms();
        rc = df__out_result(w, &r);
        free(msg);
        return rc;
}

static int df__process_msg(df_worker_t *w, const rd_kafka_message_t *m)
{
        df__event_t ev;
        df__buf_t raw;
        char errstr[512];
        int rc;

        memset(&ev, 0, sizeof(ev));
        if (!m->payload || !m->len)
                return df__dead_letter(w, m, "empty value");
        if (df__event_decode(m->payload, m->len, &ev, errstr, sizeof(errstr)))
                return df__dead_letter(w, m, errstr);
        if (!df__execution_id_valid(ev.execution_id)) {
                df__event_clear(&ev);
                return df__dead_letter(w, m, "invalid execution id (1..200 chars of A-Za-z0-9._:@-)");
        }
        if (m->key_len != strlen(ev.execution_id) || memcmp(m->key, ev.execution_id, m->key_len)) {
                df__event_clear(&ev);
                return df__dead_letter(w, m, "record key differs from the event's execution id");
        }
        if (m->partition == w->poison_part && m->offset == w->poison_off) {
                w->poison_part = -1;
                rc = df__dead_letter(w, m, "processing failed twice (internal error); see the worker log");
                if (!rc)
                        rc = df__reply_rejected(w, &ev, "processing failed twice (internal error)");
                df__event_clear(&ev);
                return rc;
        }
        raw.data = m->payload;
        raw.len = m->len;
        rc = df__process_event(w, &ev, m->partition, 0, &raw);
        if (rc == -2) {
                snprintf(errstr, sizeof(errstr), "the state of execution %s cannot be read or recorded; see the "
                                                 "worker log", ev.execution_id);
                rc = df__dead_letter(w, m, errstr);
                if (!rc)
                        rc = df__reply_rejected(w, &ev, errstr);
        }
        df__event_clear(&ev);
        return rc;
}

static void df__dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
        df_worker_t *w = opaque;
        (void)rk;
        if (m->err) {
                df__log(DF__LOG_WARN, "delivery failed: %s", rd_kafka_err2str(m->err));
                return;
        }
        if (!strcmp(rd_kafka_topic_name(m->rkt), w->t.state) && m->partition >= 0 && m->partition < w->t.partitions &&
            m->offset + 1 > w->dr_ckpt[m->partition].next)
                df__ckpt_of(&w->dr_ckpt[m->partition], m);
}

/*
 * Abort the current transaction.  librdkafka asks for the call to be made
 * again when it times out (the broker away): until it has completed, the
 * producer refuses to begin another transaction, so the pending abort is
 * resumed first thing next time.  0 when aborted, 1 when still pending,
 * -1 when the producer is fatally failed (w->fatal set).
 */
static int df__txn_abort(df_worker_t *w)
{
        rd_kafka_error_t *error = rd_kafka_abort_transaction(w->producer, 30000);
        if (!error) {
                w->abort_pending = 0;
                return 0;
        }
        df__log(DF__LOG_ERROR, "abort_transaction: %s", rd_kafka_error_string(error));
        if (rd_kafka_error_is_fatal(error) || rd_kafka_fatal_error(w->producer, NULL, 0)) {
                w->fatal = DF_ERR_KAFKA;
                rd_kafka_error_destroy(error);
                return -1;
        }
        w->abort_pending = 1;
        rd_kafka_error_destroy(error);
        return 1;
}

/* Handle a transactional error: 1 = retry the call, 0 = aborted, -1 = fatal. */
static int df__txn_error(df_worker_t *w, rd_kafka_error_t *error, const char *what)
{
        int ret;
        df__log(DF__LOG_WARN, "%s: %s", what, rd_kafka_error_string(error));
        if (rd_kafka_error_is_fatal(error)) {
                w->fatal = rd_kafka_error_code(error) == RD_KAFKA_RESP_ERR__FENCED ||
                                           rd_kafka_error_code(error) == RD_KAFKA_RESP_ERR_PRODUCER_FENCED
                                   ? DF_ERR_FENCED
                                   : DF_ERR_KAFKA;
                ret = -1;
        } else if (rd_kafka_error_txn_requires_abort(error)) {
                w->stats.aborts++;
                ret = df__txn_abort(w) < 0 ? -1 : 0;
        } else if (rd_kafka_error_is_retriable(error)) {
                ret = 1;
        } else {
                w->fatal = DF_ERR_KAFKA;
                ret = -1;
        }
        rd_kafka_error_destroy(error);
        return ret;
}

static void df__batch_reset(df_worker_t *w)
{
        int i;
        df__map_clear(w->cache, df__exec_state_free);
        df__map_clear(w->exec_part, NULL);
        df__map_clear(w->yielded, NULL);
        rocksdb_writebatch_clear(w->wb);
        df__outs_clear(w);
        for (i = 0; i < w->t.partitions; i++)
                w->dr_ckpt[i].next = -1;
}

/* After a commit: changelog offsets and state into RocksDB. */
static int df__store_commit(df_worker_t *w)
{
        char *err = NULL;
        int i;
        rd_kafka_poll(w->producer, 0); /* delivery reports */
        for (i = 0; i < w->t.partitions; i++)
                if (w->dr_ckpt[i].next >= 0)
                        df__wb_ckpt(w->wb, i, &w->dr_ckpt[i]);
        rocksdb_write(w->db, w->wo, w->wb, &err);
        if (err) {
                df__log(DF__LOG_ERROR, "RocksDB write after commit: %s (state will be restored from %s)", err,
                        w->t.state);
                free(err);
                w->stats.healthy = 0;
                w->need_restore = 1;
                return -1;
        }
        w->stats.healthy = 1;
        return 0;
}

static void df__count_bytes(const char *key, void *val, void *opaque)
{
        const df__exec_state_t *st = val;
        size_t *n = opaque;
        int i;
        (void)key;
        *n += st->exec.input.len + st->exec.output.len + st->exec.stash.len;
        for (i = 0; i < st->n_ops; i++)
                if (st->ops[i])
                        *n += st->ops[i]->result.len + 128;
}

static void df__carry_one(const char *exec_id, void *val, void *opaque)
{
        df_worker_t *w = opaque;
        df__exec_state_t *st = df__map_del(w->cache, exec_id);
        int err;
        (void)val;
        if (!st)
                return;
        df__map_put(w->carry, exec_id, st, &err);
        if (err)
                df__exec_state_free(st);
}

/* Most bytes of committed state kept from one batch for the next (below). */
#define DF__CARRY_MAX_BYTES (32u << 20)

struct df__carry_live {
        df_worker_t *w;
        size_t bytes;
};

/* A live execution of the committed batch keeps its state in memory for the
 * next batch (up to DF__CARRY_MAX_BYTES in all), so that its next event (a
 * timer, a callback, a child's result) replays it without reading and
 * decoding its whole history again: with n operations, n such events cost
 * O(n) decoding instead of O(n^2). */
static void df__carry_live_one(const char *exec_id, void *val, void *opaque)
{
        struct df__carry_live *c = opaque;
        df__exec_state_t *st = val;
        size_t n = 0;
        int err;

        if (!st->exists || df__exec_status_terminal(st->exec.status) || df__map_get(c->w->carry, exec_id))
                return;
        df__count_bytes(exec_id, val, &n);
        if (c->bytes + n > DF__CARRY_MAX_BYTES)
                return;
        df__map_put(c->w->carry, exec_id, st, &err);
        if (err)
                return;
        c->bytes += n;
        df__map_del(c->w->cache, exec_id); /* exec_id is freed here: not used after */
}

/* After a committed batch: free its executions' state and buffers now (not
 * at the next batch), and after a batch that read or wrote a lot (a long
 * history) give that memory back to the system instead of keeping it in
 * malloc's arenas. */
static void df__batch_done(df_worker_t *w)
{
        size_t moved = w->loaded_bytes + w->out_bytes;
        /* keep the committed state of executions that go on in the next
         * batch (a yield, an at-most-once continuation); free the rest */
        df__map_foreach(w->carry, df__count_bytes, &moved);
        df__carry_clear(w);
        df__map_foreach(w->yielded, df__carry_one, w);
        df__map_clear(w->yielded, NULL);
        if (moved < DF__TRIM_AFTER_BYTES) {
                struct df__carry_live c = {w, 0};
                df__map_foreach(w->cache, df__carry_live_one, &c);
        }
        if (moved < DF__TRIM_AFTER_BYTES)
                df__map_foreach(w->cache, df__count_bytes, &moved);
        df__map_clear(w->cache, df__exec_state_free);
        df__outs_clear(w);
        if (moved >= DF__TRIM_AFTER_BYTES) {
                /* a cleared write batch keeps its buffer's capacity */
                rocksdb_writebatch_destroy(w->wb);
                w->wb = rocksdb_writebatch_create();
                malloc_trim(0);
        } else {
                rocksdb_writebatch_clear(w->wb);
        }
        w->loaded_bytes = 0;
}

struct df__amo_list {
        char **ids;
        int n, cap;
};

static void df__amo_collect(const char *exec_id, void *opaque)
{
        struct df__amo_list *l = opaque;
        if (l->n == l->cap) {
                int cap = l->cap ? l->cap * 2 : 8;
                char **ids = realloc(l->ids, (size_t)cap * sizeof(*ids));
                if (!ids)
                        return;
                l->ids = ids;
                l->cap = cap;
        }
        l->ids[l->n] = strdup(exec_id);
        if (l->ids[l->n])
                l->n++;
}

/*
 * Run one batch: either the at-most-once continuations (amo), or a prefix of
 * the collected messages, as many as fit in the time budget (at least one),
 * recorded in w->n_done.  The events are processed first, with no
 * transaction open (steps run here and may take long); their outputs are
 * then produced and committed with the offsets in one transaction.  Returns
 * 0 when committed, 1 when not (the messages stay collected and are
 * processed again), -1 on a fatal error.
 */
static int df__run_txn(df_worker_t *w, struct df__amo_list *amo, struct df__amo_list *parts)
{
        int64_t t0 = df__mono_ms();
        int n = 0;
        rd_kafka_error_t *error;
        rd_kafka_topic_partition_list_t *offs = NULL;
        rd_kafka_consumer_group_metadata_t *cgmd;
        int i, r;

        df__batch_reset(w);
        w->failed_part = -1;
        w->cur_msg = -1;
        /* A producer that failed fatally in the background (the coordinator
         * fenced its epoch while the broker was away) is replaced by the
         * caller; an abort that timed out is completed first. */
        if (rd_kafka_fatal_error(w->producer, NULL, 0)) {
                w->fatal = DF_ERR_KAFKA;
                return -1;
        }
        if (w->abort_pending && (r = df__txn_abort(w)) != 0)
                return r < 0 ? -1 : 1;
        /* begin_transaction is local: the broker's transaction (and its
         * timeout) starts with the first record produced, after the steps */
        error = rd_kafka_begin_transaction(w->producer);
        if (error) {
                r = df__txn_error(w, error, "begin_transaction");
                if (r < 0 || rd_kafka_fatal_error(w->producer, NULL, 0)) {
                        w->fatal = DF_ERR_KAFKA;
                        return -1;
                }
                return 1;
        }
        for (i = 0; amo && i < amo->n; i++) {
                df__event_t ev;
                memset(&ev, 0, sizeof(ev));
                ev.type = DF__EV_CONTINUE;
                ev.execution_id = amo->ids[i];
                ev.ts_ms = df__now_ms();
                if (df__process_event(w, &ev, (int)(intptr_t)parts->ids[i], 1, NULL) == -1)
                        goto abort;
        }
        for (; !amo && n < w->n_msgs; n++) {
                if (n > 0 && (df__mono_ms() - t0 > w->txn_budget_ms || w->out_bytes >= w->batch_max_bytes))
                        break; /* commit what is done; the rest goes in the next transaction */
                w->cur_msg = n;
                if (df__process_msg(w, w->msgs[n]))
                        goto abort;
        }
        w->cur_msg = -1;
        if (__atomic_load_n(&w->lost, __ATOMIC_SEQ_CST))
                goto abort;
        if (df__produce_outs(w))
                goto abort;
        if (n) {
                offs = rd_kafka_topic_partition_list_new(8);
                for (i = 0; i < n; i++) {
                        rd_kafka_message_t *m = w->msgs[i];
                        rd_kafka_topic_partition_t *p = rd_kafka_topic_partition_list_find(offs, w->t.events, m->partition);
                        if (!p)
                                p = rd_kafka_topic_partition_list_add(offs, w->t.events, m->partition);
                        p->offset = m->offset + 1;
                }
                cgmd = rd_kafka_consumer_group_metadata(w->consumer);
                error = rd_kafka_send_offsets_to_transaction(w->producer, offs, cgmd, 30000);
                rd_kafka_consumer_group_metadata_destroy(cgmd);
                rd_kafka_topic_partition_list_destroy(offs);
                if (error) {
                        r = df__txn_error(w, error, "send_offsets_to_transaction");
                        if (r < 0)
                                return -1;
                        if (r == 0)
                                goto aborted;
                        goto abort;
                }
        }
        if (__atomic_load_n(&w->lost, __ATOMIC_SEQ_CST))
                goto abort;
        for (;;) {
                error = rd_kafka_commit_transaction(w->producer, 60000);
                if (!error)
                        break;
                r = df__txn_error(w, error, "commit_transaction");
                if (r < 0)
                        return -1;
                if (r == 0)
                        goto aborted;
        }
        w->stats.batches++;
        w->n_done = n;
        df__store_commit(w);
        df__batch_done(w);
        return 0;
abort:
        w->stats.aborts++;
        if (df__txn_abort(w) < 0)
                return -1;
aborted:
        if (w->failed_part >= 0) {
                w->poison_part = w->failed_part;
                w->poison_off = w->failed_off;
        }
        w->cur_msg = -1;
        df__engine_amo_reset(w->eng);
        df__batch_reset(w);
        df__carry_clear(w);
        w->n_done = 0;
        return 1;
}

/*
 * The previous process with this worker.id died while processing some
 * executions (its crash breadcrumbs).  Before anything else is processed,
 * a crash event is recorded for each, in a transaction of its own: the
 * count is then durable even if processing the same event kills this
 * process too.  An execution of a partition assigned here gets the event
 * applied at once; one whose partition another worker owns now gets it on
 * <prefix>.events, for its owner.  The assigned partitions' committed
 * offsets go with the transaction (send_offsets_to_transaction with the
 * group metadata), so a zombie cannot write these records.
 * 0 when recorded, 1 when not yet (retried), -1 on a fatal error.
 */
static int df__report_crashes(df_worker_t *w)
{
        rd_kafka_topic_partition_list_t *a = NULL;
        rd_kafka_consumer_group_metadata_t *cgmd;
        rd_kafka_error_t *error;
        int i, j, r;

        if (rd_kafka_assignment(w->consumer, &a) != RD_KAFKA_RESP_ERR_NO_ERROR)
                return 1;
        if (!a->cnt) {
                rd_kafka_topic_partition_list_destroy(a);
                return 1;
        }
        df__batch_reset(w);
        w->cur_msg = -1;
        if (w->abort_pending && (r = df__txn_abort(w)) != 0) {
                rd_kafka_topic_partition_list_destroy(a);
                return r < 0 ? -1 : 1;
        }
        error = rd_kafka_begin_transaction(w->producer);
        if (error) {
                r = df__txn_error(w, error, "begin_transaction");
                rd_kafka_topic_partition_list_destroy(a);
                return r < 0 ? -1 : 1;
        }
        for (i = 0; i < w->n_crashes; i++) {
                df__crash_rec_t *c = &w->crashes[i];
                df__event_t ev;
                int mine = 0;
                memset(&ev, 0, sizeof(ev));
                ev.type = DF__EV_CRASH;
                ev.execution_id = c->execution_id;
                ev.op_id = c->op_id;
                ev.seq = c->attempt;
                ev.ts_ms = df__now_ms();
                if (!df__execution_id_valid(c->execution_id))
                        continue;
                for (j = 0; j < a->cnt; j++)
                        mine |= a->elems[j].partition == c->partition;
                if (mine ? df__process_event(w, &ev, c->partition, 1, NULL) == -1 : df__out_event(w, &ev) != 0)
                        goto abort;
        }
        if (df__produce_outs(w))
                goto abort;
        if (rd_kafka_committed(w->consumer, a, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR)
                goto abort;
        for (j = 0; j < a->cnt; j++) {
                if (a->elems[j].offset < 0) {
                        int64_t lo = 0, hi = 0;
                        if (df__watermarks(w->probe, w->t.events, a->elems[j].partition, &lo, &hi))
                                goto abort;
                        a->elems[j].offset = lo;
                }
        }
        cgmd = rd_kafka_consumer_group_metadata(w->consumer);
        error = rd_kafka_send_offsets_to_transaction(w->producer, a, cgmd, 30000);
        rd_kafka_consumer_group_metadata_destroy(cgmd);
        if (error) {
                r = df__txn_error(w, error, "send_offsets_to_transaction (crash report)");
                if (r <= 0) {
                        rd_kafka_topic_partition_list_destroy(a);
                        df__batch_reset(w);
                        return r < 0 ? -1 : 1;
                }
                goto abort;
        }
        error = rd_kafka_commit_transaction(w->producer, 60000);
        if (error) {
                r = df__txn_error(w, error, "commit_transaction (crash report)");
                rd_kafka_topic_partition_list_destroy(a);
                if (r > 0 && df__txn_abort(w) < 0)
                        return -1;
                df__batch_reset(w);
                return r < 0 ? -1 : 1;
        }
        rd_kafka_topic_partition_list_destroy(a);
        df__store_commit(w);
        df__outs_clear(w);
        df__log(DF__LOG_INFO, "worker %s: recorded %d crash(es) of the previous process", w->id, w->n_crashes);
        free(w->crashes);
        w->crashes = NULL;
        w->n_crashes = 0;
        return 0;
abort:
        rd_kafka_topic_partition_list_destroy(a);
        w->stats.aborts++;
        if (df__txn_abort(w) < 0)
                return -1;
        df__engine_amo_reset(w->eng);
        df__batch_reset(w);
        df__carry_clear(w);
        return 1;
}

/* ---------------- restore from the changelog ---------------- */

static int df__wipe_partition(df_worker_t *w, int part)
{
        char lo[16], hi[16], *err = NULL;
        rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
        snprintf(lo, sizeof(lo), "s%04d:", part);
        snprintf(hi, sizeof(hi), "s%04d;", part);
        rocksdb_writebatch_delete_range(wb, lo, strlen(lo), hi, strlen(hi));
        {
                df__ckpt_t zero = {0, 0, 0};
                df__wb_ckpt(wb, part, &zero);
        }
        rocksdb_write(w->db, w->wo, wb, &err);
        rocksdb_writebatch_destroy(wb);
        if (err) {
                df__log(DF__LOG_ERROR, "RocksDB wipe of partition %d: %s", part, err);
                free(err);
                return -1;
        }
        return 0;
}

static int df__restore_partition_db(df_worker_t *w, int part);

/* 1 when the record at ck->next - 1 is the one the checkpoint names, 0 when
 * not (or it cannot be read: compacted away, behind an open transaction). */
static int df__ckpt_verify(df_worker_t *w, int part, const df__ckpt_t *ck)
{
        rd_kafka_topic_partition_list_t *tp = rd_kafka_topic_partition_list_new(1);
        int64_t deadline = df__mono_ms() + 30000;
        int ok = 0;

        rd_kafka_topic_partition_list_add(tp, w->t.state, part)->offset = ck->next - 1;
        rd_kafka_assign(w->restorer, tp);
        rd_kafka_topic_partition_list_destroy(tp);
        while (df__mono_ms() < deadline) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(w->restorer, 500);
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
        rd_kafka_assign(w->restorer, NULL);
        return ok;
}

static int df__restore_partition(df_worker_t *w, int part)
{
        if (!w->db)
                return -1;
        return df__restore_partition_db(w, part);
}

static int df__restore_partition_db(df_worker_t *w, int part)
{
        df__ckpt_t ck = df__stored_ckpt(w, part);
        int64_t next = ck.next, lo = 0, hi = 0, t0 = df__mono_ms(), n = 0, bytes = 0;
        rd_kafka_topic_partition_list_t *tp;
        rd_kafka_resp_err_t err;
        rocksdb_writebatch_t *wb;
        int ret = -1, done = 0;

        /* The last stable offset (read_committed end) trails the high
         * watermark while the previous owner's transaction is open; what it
         * commits must be restored too, so wait until the transaction is
         * over (committed or aborted: at most transaction.timeout.ms). */
        {
                int64_t hw_lo = 0, hw = 0, deadline = df__mono_ms() + w->txn_timeout_ms + 5000;
                for (;;) {
                        err = df__watermarks(w->restorer, w->t.state, part, &lo, &hi);
                        if (!err)
                                err = df__watermarks(w->probe, w->t.state, part, &hw_lo, &hw);
                        if (err) {
                                df__log(DF__LOG_ERROR, "restore %s[%d]: watermarks: %s", w->t.state, part,
                                        rd_kafka_err2str(err));
                                return -1;
                        }
                        if (hi >= hw)
                                break;
                        if (df__mono_ms() > deadline) {
                                df__log(DF__LOG_ERROR,
                                        "restore %s[%d]: a transaction is still open on the changelog "
                                        "(stable end %lld, high watermark %lld); will retry",
                                        w->t.state, part, (long long)hi, (long long)hw);
                                return -1;
                        }
                        df__log(DF__LOG_DEBUG, "restore %s[%d]: waiting for an open transaction (%lld < %lld)",
                                w->t.state, part, (long long)hi, (long long)hw);
                        usleep(200000);
                }
        }
        if (next > hi || next < lo) {
                df__log(DF__LOG_WARN,
                        "restore %s[%d]: local checkpoint %lld is outside the changelog [%lld, %lld]: "
                        "dropping the local state and rebuilding it",
                        w->t.state, part, (long long)next, (long long)lo, (long long)hi);
                if (df__wipe_partition(w, part))
                        return -1;
                next = lo;
                ck.next = lo;
        } else if (next > lo && df__ckpt_verify(w, part, &ck) != 1) {
                df__log(DF__LOG_WARN,
                        "restore %s[%d]: the changelog record at offset %lld is not the one the local checkpoint "
                        "names: dropping the local state and rebuilding it",
                        w->t.state, part, (long long)(next - 1));
                if (df__wipe_partition(w, part))
                        return -1;
                next = lo;
                ck.next = lo;
        }
        if (next >= hi)
                return 0;
        tp = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(tp, w->t.state, part)->offset = next;
        rd_kafka_assign(w->restorer, tp);
        rd_kafka_topic_partition_list_destroy(tp);
        wb = rocksdb_writebatch_create();
        while (!done) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(w->restorer, 500);
                char k[512];
                if (!m) {
                        if (df__mono_ms() - t0 > DF__RESTORE_TIMEOUT_MS) {
                                df__log(DF__LOG_ERROR, "restore %s[%d]: timed out", w->t.state, part);
                                goto out;
                        }
                        continue;
                }
                if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                        done = 1;
                } else if (m->err) {
                        df__log(DF__LOG_WARN, "restore %s[%d]: %s", w->t.state, part, rd_kafka_message_errstr(m));
                } else if (m->partition == part && m->key && m->key_len < 400) {
                        snprintf(k, sizeof(k), "s%04d:%.*s", part, (int)m->key_len, (const char *)m->key);
                        if (m->payload)
                                rocksdb_writebatch_put(wb, k, strlen(k), m->payload, m->len);
                        else
                                rocksdb_writebatch_delete(wb, k, strlen(k));
                        next = m->offset + 1;
                        df__ckpt_of(&ck, m);
                        n++;
                        bytes += (int64_t)m->len;
                        if (rocksdb_writebatch_count(wb) >= 10000) {
                                char *e = NULL;
                                df__wb_ckpt(wb, part, &ck);
                                rocksdb_write(w->db, w->wo, wb, &e);
                                rocksdb_writebatch_clear(wb);
                                if (e) {
                                        df__log(DF__LOG_ERROR, "restore: RocksDB: %s", e);
                                        free(e);
                                        rd_kafka_message_destroy(m);
                                        goto out;
                                }
                        }
                }
                rd_kafka_message_destroy(m);
        }
        {
                char *e = NULL;
                df__wb_ckpt(wb, part, &ck);
                rocksdb_write(w->db, w->wo, wb, &e);
                if (e) {
                        df__log(DF__LOG_ERROR, "restore: RocksDB: %s", e);
                        free(e);
                        goto out;
                }
        }
        df__log(DF__LOG_INFO, "restored %s[%d]: %lld records, %lld bytes in %lld ms", w->t.state, part,
                (long long)n, (long long)bytes, (long long)(df__mono_ms() - t0));
        ret = 0;
out:
        rocksdb_writebatch_destroy(wb);
        rd_kafka_assign(w->restorer, NULL);
        return ret;
}

/* Forget the first n collected messages (committed). */
static void df__shift_msgs(df_worker_t *w, int n)
{
        int i;
        for (i = 0; i < n; i++)
                rd_kafka_message_destroy(w->msgs[i]);
        memmove(w->msgs, w->msgs + n, (size_t)(w->n_msgs - n) * sizeof(*w->msgs));
        w->n_msgs -= n;
}

static void df__drop_msgs(df_worker_t *w)
{
        int i;
        for (i = 0; i < w->n_msgs; i++)
                rd_kafka_message_destroy(w->msgs[i]);
        w->n_msgs = 0;
}

static void df__rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
                             void *opaque)
{
        df_worker_t *w = opaque;
        int i;

        if (w->in_keepalive) {
                /* The main thread is inside a batch: its transaction must
                 * not commit (its records may now be another worker's). It
                 * aborts and drops the collected messages itself. */
                __atomic_store_n(&w->lost, 1, __ATOMIC_SEQ_CST);
                w->paused = 0; /* a new assignment starts unpaused */
        }
        if (!w->in_keepalive)
                df__carry_clear(w); /* partitions move: nothing carried is known to be current
                                     * (inside a batch the main thread aborts it and clears it) */
        if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
                for (i = 0; i < parts->cnt; i++) {
                        if (df__restore_partition(w, parts->elems[i].partition)) {
                                /* Nothing of the partition is processed before
                                 * its state is restored: the main loop retries. */
                                df__log(DF__LOG_ERROR, "cannot restore partition %d yet; will retry before "
                                                       "processing",
                                        parts->elems[i].partition);
                                w->stats.healthy = 0;
                                w->need_restore = 1;
                        }
                }
                df__log(DF__LOG_INFO, "worker %s: assigned %d partition(s) of %s", w->id, parts->cnt, w->t.events);
                rd_kafka_assign(rk, parts);
        } else {
                if (!w->in_keepalive)
                        df__drop_msgs(w); /* not ours any more: the next owner consumes them */
                df__log(DF__LOG_INFO, "worker %s: revoked %d partition(s)", w->id, parts->cnt);
                rd_kafka_assign(rk, NULL);
        }
}

static void df__pause_all(df_worker_t *w, int pause)
{
        rd_kafka_topic_partition_list_t *a = NULL;
        if (rd_kafka_assignment(w->consumer, &a) != RD_KAFKA_RESP_ERR_NO_ERROR)
                return;
        if (a->cnt) {
                if (pause)
                        rd_kafka_pause_partitions(w->consumer, a);
                else
                        rd_kafka_resume_partitions(w->consumer, a);
        }
        rd_kafka_topic_partition_list_destroy(a);
}

static void *df__keepalive_main(void *arg)
{
        df_worker_t *w = arg;
        while (!w->ka_stop) {
                int64_t since = __atomic_load_n(&w->busy_since, __ATOMIC_SEQ_CST);
                usleep(100000);
                if (!since || df__mono_ms() - since < w->ka_after_ms)
                        continue;
                if (pthread_mutex_trylock(&w->poll_lock))
                        continue;
                /* re-check under the lock: the batch may have ended */
                if (__atomic_load_n(&w->busy_since, __ATOMIC_SEQ_CST)) {
                        rd_kafka_message_t *m;
                        w->in_keepalive = 1;
                        if (!w->paused) {
                                df__pause_all(w, 1);
                                w->paused = 1;
                                df__log(DF__LOG_INFO, "worker %s: a batch has run %lld ms: partitions paused, "
                                                      "polling to keep the group membership",
                                        w->id, (long long)(df__mono_ms() - since));
                        }
                        /* paused: no records come back, only rebalances */
                        while ((m = rd_kafka_consumer_poll(w->consumer, 0)))
                                rd_kafka_message_destroy(m);
                        w->in_keepalive = 0;
                }
                pthread_mutex_unlock(&w->poll_lock);
        }
        return NULL;
}

/* Around the processing of a batch: the keepalive may poll meanwhile. */
static void df__busy_begin(df_worker_t *w)
{
        __atomic_store_n(&w->busy_since, df__mono_ms(), __ATOMIC_SEQ_CST);
        pthread_mutex_unlock(&w->poll_lock);
}

static void df__busy_end(df_worker_t *w)
{
        pthread_mutex_lock(&w->poll_lock);
        __atomic_store_n(&w->busy_since, 0, __ATOMIC_SEQ_CST);
        if (__atomic_load_n(&w->lost, __ATOMIC_SEQ_CST)) {
                /* A rebalance came while the batch ran: its transaction was
                 * aborted; the records are consumed again from the committed
                 * offsets by whoever owns them now. */
                df__drop_msgs(w);
                df__engine_amo_reset(w->eng);
                __atomic_store_n(&w->lost, 0, __ATOMIC_SEQ_CST);
                w->paused = 0;
        } else if (w->paused) {
                df__pause_all(w, 0);
                w->paused = 0;
        }
}

/* 1 when the state directory's file system has less than state.min.free.bytes free. */
static int df__disk_low(df_worker_t *w)
{
        struct statvfs sv;
        int64_t avail;
        if (w->min_free <= 0 || statvfs(w->dbpath, &sv))
                return 0;
        avail = (int64_t)sv.f_bavail * (int64_t)sv.f_frsize;
        if (avail < w->min_free) {
                if (!w->disk_low)
                        df__log(DF__LOG_ERROR, "worker %s: unhealthy: %lld bytes free under %s, less than "
                                               "state.min.free.bytes (%lld): processing nothing until there is room",
                                w->id, (long long)avail, w->dbpath, (long long)w->min_free);
                w->disk_low = 1;
                return 1;
        }
        if (w->disk_low)
                df__log(DF__LOG_INFO, "worker %s: %lld bytes free again; healthy", w->id, (long long)avail);
        w->disk_low = 0;
        return 0;
}

/* RocksDB refuses every write after an I/O error (a full disk) until it is
 * reopened: close it and open it again.  0 when open. */
static int df__db_reopen(df_worker_t *w)
{
        char *err = NULL;
        if (w->db)
                rocksdb_close(w->db);
        w->db = rocksdb_open(w->dbopts, w->dbpath, &err);
        if (err) {
                df__log(DF__LOG_ERROR, "RocksDB reopen %s: %s", w->dbpath, err);
                free(err);
                w->db = NULL;
                return -1;
        }
        return 0;
}

/* Bring every assigned partition's store up to date from the changelog
 * (after a failed RocksDB write).  0 when done. */
static int df__restore_assigned(df_worker_t *w)
{
        rd_kafka_topic_partition_list_t *a = NULL;
        int i, ret = 0;
        if (rd_kafka_assignment(w->consumer, &a) != RD_KAFKA_RESP_ERR_NO_ERROR)
                return -1;
        for (i = 0; i < a->cnt && !ret; i++)
                ret = df__restore_partition(w, a->elems[i].partition);
        rd_kafka_topic_partition_list_destroy(a);
        return ret;
}

/* ---------------- lifecycle ---------------- */

/* The transactional producer, initialised (init_transactions aborts what a
 * previous incarnation left open).  NULL with errstr on failure. */
static rd_kafka_t *df__producer_new(df_worker_t *w, char *errstr, size_t errstr_size)
{
        char cid[300], txid[300];
        snprintf(cid, sizeof(cid), "duraflow-worker-%s", w->id);
        snprintf(txid, sizeof(txid), "%s-worker-%s", df_conf_get(w->conf, "topic.prefix"), w->id);
        return df__txn_producer_new(w->conf, cid, txid, df__dr_cb, w, errstr, errstr_size);
}

/*
 * After a fatal producer error (a transaction that timed out while the broker
 * was away is fenced by the coordinator's epoch bump): a new producer with
 * the same transactional id, so the worker carries on.  The collected
 * messages are processed again.  A real twin with the same worker.id would
 * make this happen again and again: after 3 times within a minute the
 * worker stops with the error.  0 when recovered.
 */
static int df__producer_recover(df_worker_t *w)
{
        char errstr[512];
        int64_t now = df__mono_ms();
        rd_kafka_t *rk;

        if (now - w->recover_window_ms > 60000) {
                w->recover_window_ms = now;
                w->recoveries = 0;
        }
        if (++w->recoveries > 3) {
                df__log(DF__LOG_ERROR, "worker %s: fatal producer errors keep coming (another instance with "
                                       "worker.id %s?): stopping",
                        w->id, w->id);
                return -1;
        }
        df__log(DF__LOG_WARN, "worker %s: fatal producer error: recreating the transactional producer", w->id);
        rd_kafka_purge(w->producer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_destroy(w->producer);
        w->producer = NULL;
        for (;;) {
                rk = df__producer_new(w, errstr, sizeof(errstr));
                if (rk)
                        break;
                if (w->stop)
                        return -1;
                df__log(DF__LOG_WARN, "worker %s: not ready: %s; retrying in 1 s", w->id, errstr);
                sleep(1);
        }
        w->producer = rk;
        w->fatal = 0;
        w->abort_pending = 0;
        df__engine_amo_reset(w->eng);
        df__batch_reset(w);
        df__carry_clear(w);
        return 0;
}

df_worker_t *df_worker_new(const df_conf_t *conf, char *errstr, size_t errstr_size)
{
        df_worker_t *w = calloc(1, sizeof(*w));
        rd_kafka_conf_t *kc = NULL;
        char e[512], path[1024], cid[300];
        char *dberr = NULL;
        const char *group;

        if (!w || !conf) {
                df__errf(errstr, errstr_size, "out of memory or NULL conf");
                free(w);
                return NULL;
        }
        w->conf = df_conf_dup(conf);
        if (!w->conf || df__codec_init(errstr, errstr_size))
                goto fail;
        df_log_set_level(df_conf_get(conf, "log.level"));
        df__topics_init(&w->t, conf);
        df__instance_id(conf, w->id, sizeof(w->id));
        w->batch_max = atoi(df_conf_get(conf, "batch.max.records"));
        w->batch_ms = atoi(df_conf_get(conf, "batch.max.ms"));
        w->batch_max_bytes = (size_t)atoll(df_conf_get(conf, "batch.max.bytes"));
        w->stats.healthy = 1;
        w->poison_part = -1;
        w->cur_msg = -1;
        pthread_mutex_init(&w->poll_lock, NULL);
        w->ka_after_ms = atoll(df_conf_get(conf, "max.poll.interval.ms")) / 4;
        if (w->ka_after_ms < 500)
                w->ka_after_ms = 500;
        w->eng = df__engine_new(w->t.events);
        if (w->eng) {
                df__engine_set_max_crashes(w->eng, atoi(df_conf_get(conf, "execution.max.crashes")));
                df__engine_configure(w->eng, conf); /* worker.threads, history.max.* */
        }
        w->cache = df__map_new();
        w->yielded = df__map_new();
        w->carry = df__map_new();
        w->exec_part = df__map_new();
        w->wb = rocksdb_writebatch_create();
        w->msgs = calloc((size_t)w->batch_max * 2, sizeof(*w->msgs));
        w->txn_timeout_ms = atoll(df_conf_get(conf, "transaction.timeout.ms"));
        w->min_free = atoll(df_conf_get(conf, "state.min.free.bytes"));
        w->txn_budget_ms = w->txn_timeout_ms / 3;
        w->dr_ckpt = calloc((size_t)w->t.partitions, sizeof(*w->dr_ckpt));
        if (!w->eng || !w->cache || !w->yielded || !w->carry || !w->exec_part || !w->msgs || !w->dr_ckpt) {
                df__errf(errstr, errstr_size, "out of memory");
                goto fail;
        }
        if (df__topics_ensure(conf, &w->t, errstr, errstr_size))
                goto fail;

        /* RocksDB */
        snprintf(path, sizeof(path), "%s", df_conf_get(conf, "state.dir"));
        mkdir(path, 0755);
        snprintf(path, sizeof(path), "%s/worker-%s", df_conf_get(conf, "state.dir"), w->id);
        w->dbopts = rocksdb_options_create();
        rocksdb_options_set_create_if_missing(w->dbopts, 1);
        rocksdb_options_set_compression(w->dbopts, rocksdb_lz4_compression);
        /* 16 MB memtables (RocksDB's default is 64 MB): what a worker holds
         * in memory for recent writes, e.g. after a long history */
        rocksdb_options_set_write_buffer_size(w->dbopts, 16u << 20);
        snprintf(w->dbpath, sizeof(w->dbpath), "%s", path);
        w->db = rocksdb_open(w->dbopts, path, &dberr);
        if (dberr) {
                df__errf(errstr, errstr_size, "RocksDB open %s: %s", path, dberr);
                free(dberr);
                goto fail;
        }
        w->wo = rocksdb_writeoptions_create();
        rocksdb_writeoptions_disable_WAL(w->wo, 0);
        w->ro = rocksdb_readoptions_create();

        /* crash breadcrumbs: what the previous process with this id died doing */
        snprintf(path, sizeof(path), "%s/worker-%s.crashlog", df_conf_get(conf, "state.dir"), w->id);
        w->crashlog = df__crashlog_open(path, 1, &w->crashes, &w->n_crashes, e, sizeof(e));
        if (!w->crashlog)
                df__log(DF__LOG_WARN, "worker %s: %s: deaths inside step bodies will not be counted", w->id, e);
        else if (!*df_conf_get(conf, "worker.id"))
                df__log(DF__LOG_WARN, "worker %s: worker.id is not set: a restarted worker gets a new id, so it "
                                      "neither takes its partitions back at once (static membership) nor counts "
                                      "a death inside a step body (set a stable worker.id per instance)",
                        w->id);
        for (int i = 0; i < w->n_crashes; i++)
                df__log(DF__LOG_WARN, "worker %s: the previous process died while processing execution %s "
                                      "(partition %d%s%s, attempt %d): reporting it",
                        w->id, w->crashes[i].execution_id, w->crashes[i].partition,
                        w->crashes[i].op_id[0] ? ", in the body of operation " : ", outside any step body",
                        w->crashes[i].op_id, w->crashes[i].attempt);

        /* producer */
        snprintf(cid, sizeof(cid), "duraflow-worker-%s", w->id);
        w->producer = df__producer_new(w, errstr, errstr_size);
        if (!w->producer)
                goto fail;

        /* restore consumer: no group, read_committed, EOF events */
        kc = df__kafka_conf(conf, cid, errstr, errstr_size);
        if (!kc)
                goto fail;
        if (df__kconf_set(kc, "group.id", "duraflow-restore-unused", errstr, errstr_size) ||
            df__kconf_set(kc, "fetch.wait.max.ms", "10", errstr, errstr_size) ||
            df__kconf_set(kc, "enable.auto.commit", "false", errstr, errstr_size) ||
            df__kconf_set(kc, "isolation.level", "read_committed", errstr, errstr_size) ||
            df__kconf_set(kc, "enable.partition.eof", "true", errstr, errstr_size))
                goto fail_kc;
        if (df__kconf_user(kc, w->conf, errstr, errstr_size)) {
                rd_kafka_conf_destroy(kc);
                kc = NULL;
                goto fail;
        }
        w->restorer = rd_kafka_new(RD_KAFKA_CONSUMER, kc, e, sizeof(e));
        if (!w->restorer) {
                df__errf(errstr, errstr_size, "restore consumer: %s", e);
                goto fail_kc;
        }
        kc = df__kafka_conf(conf, cid, errstr, errstr_size);
        if (!kc)
                goto fail;
        if (df__kconf_set(kc, "group.id", "duraflow-probe-unused", errstr, errstr_size) ||
            df__kconf_set(kc, "enable.auto.commit", "false", errstr, errstr_size) ||
            df__kconf_set(kc, "isolation.level", "read_uncommitted", errstr, errstr_size))
                goto fail_kc;
        if (df__kconf_user(kc, w->conf, errstr, errstr_size)) {
                rd_kafka_conf_destroy(kc);
                kc = NULL;
                goto fail;
        }
        w->probe = rd_kafka_new(RD_KAFKA_CONSUMER, kc, e, sizeof(e));
        if (!w->probe) {
                df__errf(errstr, errstr_size, "watermark probe: %s", e);
                goto fail_kc;
        }

        /* group consumer */
        kc = df__kafka_conf(conf, cid, errstr, errstr_size);
        if (!kc)
                goto fail;
        group = df_conf_get(conf, "group.id");
        if (!*group) {
                snprintf(e, sizeof(e), "%s-workers", df_conf_get(conf, "topic.prefix"));
                group = e;
        }
        if (df__kconf_set(kc, "group.id", group, errstr, errstr_size) ||
            df__kconf_set(kc, "enable.auto.commit", "false", errstr, errstr_size) ||
            df__kconf_set(kc, "auto.offset.reset", "earliest", errstr, errstr_size) ||
            df__kconf_set(kc, "isolation.level", "read_committed", errstr, errstr_size) ||
            df__kconf_set(kc, "session.timeout.ms", df_conf_get(conf, "session.timeout.ms"), errstr, errstr_size) ||
            df__kconf_set(kc, "heartbeat.interval.ms", "1000", errstr, errstr_size) ||
            df__kconf_set(kc, "max.poll.interval.ms", df_conf_get(conf, "max.poll.interval.ms"), errstr,
                          errstr_size) ||
            df__kconf_set(kc, "fetch.wait.max.ms", "10", errstr, errstr_size))
                goto fail_kc;
        /* static membership (KIP-345): a restart with the same worker.id gets
         * its partitions back at once instead of after session.timeout.ms */
        if (*df_conf_get(conf, "worker.id") &&
            df__kconf_set(kc, "group.instance.id", w->id, errstr, errstr_size))
                goto fail_kc;
        rd_kafka_conf_set_rebalance_cb(kc, df__rebalance_cb);
        rd_kafka_conf_set_opaque(kc, w);
        if (df__kconf_user(kc, w->conf, errstr, errstr_size)) {
                rd_kafka_conf_destroy(kc);
                kc = NULL;
                goto fail;
        }
        w->consumer = rd_kafka_new(RD_KAFKA_CONSUMER, kc, e, sizeof(e));
        if (!w->consumer) {
                df__errf(errstr, errstr_size, "consumer: %s", e);
                goto fail_kc;
        }
        rd_kafka_poll_set_consumer(w->consumer);
        return w;
fail_kc:
        rd_kafka_conf_destroy(kc);
fail:
        df_worker_destroy(w);
        return NULL;
}

df_err_t df_worker_register(df_worker_t *w, const char *name, df_handler_fn fn, void *opaque)
{
        if (!w)
                return DF_ERR_INVALID_ARG;
        return df__engine_register(w->eng, name, fn, opaque);
}

df_err_t df_worker_register_version(df_worker_t *w, const char *name, int version, df_handler_fn fn, void *opaque)
{
        if (!w)
                return DF_ERR_INVALID_ARG;
        return df__engine_register_version(w->eng, name, version, fn, opaque);
}

void df_worker_stop(df_worker_t *w)
{
        if (w)
                w->stop = 1;
}

void df_worker_get_stats(df_worker_t *w, df_worker_stats_t *out)
{
        df__engine_stats_t es;
        df__engine_stats(w->eng, &es);
        *out = w->stats;
        out->steps_run = es.steps_run;
        out->executions_finished = es.finished;
}

df_err_t df_worker_run(df_worker_t *w)
{
        rd_kafka_topic_partition_list_t *sub;
        rd_kafka_resp_err_t err;
        struct df__amo_list amo = {0}, parts = {0};
        int i, backoff_ms = 100;

        sub = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(sub, w->t.events, RD_KAFKA_PARTITION_UA);
        err = rd_kafka_subscribe(w->consumer, sub);
        rd_kafka_topic_partition_list_destroy(sub);
        if (err) {
                df__log(DF__LOG_ERROR, "subscribe %s: %s", w->t.events, rd_kafka_err2str(err));
                return DF_ERR_KAFKA;
        }
        df__log(DF__LOG_INFO, "worker %s: consuming %s", w->id, w->t.events);
        if (!w->ka_started && !pthread_create(&w->ka_thr, NULL, df__keepalive_main, w))
                w->ka_started = 1;
        pthread_mutex_lock(&w->poll_lock);
        while (!w->stop && !w->fatal) {
                int64_t deadline = 0;
                int had = w->n_msgs, r;
                /* Top up the collected messages: wait for the first one, then
                 * up to batch.max.ms for more; with leftovers, take only what
                 * is already there (this also serves rebalances). */
                while (w->n_msgs < w->batch_max && !w->stop) {
                        int timeout = had ? 0 : w->n_msgs == 0 ? 100 : (int)(deadline - df__mono_ms());
                        rd_kafka_message_t *m;
                        if (!had && w->n_msgs && timeout < 0)
                                break;
                        m = rd_kafka_consumer_poll(w->consumer, timeout < 0 ? 0 : timeout);
                        if (!m) {
                                if (w->n_msgs == 0 || had)
                                        break;
                                continue;
                        }
                        if (m->err) {
                                if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                                        df__log(DF__LOG_WARN, "consume: %s", rd_kafka_message_errstr(m));
                                rd_kafka_message_destroy(m);
                                continue;
                        }
                        if (w->n_msgs == 0)
                                deadline = df__mono_ms() + w->batch_ms;
                        w->msgs[w->n_msgs++] = m;
                }
                if (w->n_crashes && !w->need_restore) {
                        r = df__report_crashes(w);
                        if (r < 0) {
                                if (df__producer_recover(w) == 0)
                                        continue;
                                break;
                        }
                        if (r > 0) {
                                usleep(100000);
                                continue;
                        }
                }
                if (!w->n_msgs)
                        continue;
                if (df__disk_low(w)) {
                        w->stats.healthy = 0;
                        usleep((useconds_t)backoff_ms * 1000);
                        if (backoff_ms < 1000)
                                backoff_ms *= 2;
                        continue;
                }
                if (w->need_restore) {
                        if (df__restore_assigned(w) && (df__db_reopen(w) || df__restore_assigned(w))) {
                                /* Still cannot persist: process nothing, keep the
                                 * records for later, report unhealthy. */
                                df__log(DF__LOG_ERROR, "worker %s: unhealthy: state store cannot be brought up to "
                                                       "date; retrying in %d ms",
                                        w->id, backoff_ms);
                                w->stats.healthy = 0;
                                usleep((useconds_t)backoff_ms * 1000);
                                if (backoff_ms < 5000)
                                        backoff_ms *= 2;
                                continue;
                        }
                        w->need_restore = 0;
                        w->stats.healthy = 1;
                        backoff_ms = 100;
                        df__log(DF__LOG_INFO, "worker %s: state store caught up; healthy", w->id);
                }
                w->stats.healthy = 1;
                backoff_ms = 100;
                df__busy_begin(w);
                r = df__run_txn(w, NULL, NULL);
                if (r < 0) {
                        df__busy_end(w);
                        if (w->fatal == DF_ERR_FENCED || w->fatal == DF_ERR_KAFKA) {
                                if (df__producer_recover(w) == 0)
                                        continue;
                        }
                        break;
                }
                if (r > 0) {
                        /* Aborted: the same messages go again (a record whose
                         * processing failed goes to the DLQ on that retry),
                         * after 50 ms, doubling up to 2 s while it keeps
                         * failing (the broker away: steps would re-run in a
                         * tight loop). */
                        int wait_ms = 50 << (w->fails < 6 ? w->fails : 6);
                        w->fails++;
                        df__busy_end(w);
                        usleep((useconds_t)(wait_ms > 2000 ? 2000 : wait_ms) * 1000);
                        continue;
                }
                w->fails = 0;
                df__shift_msgs(w, w->n_done);
                /* At-most-once steps whose START just committed run now, in
                 * their own transaction, while we still own the partition. */
                while (!w->fatal) {
                        amo.n = 0;
                        df__engine_amo_drain(w->eng, df__amo_collect, &amo);
                        if (!amo.n)
                                break;
                        parts.n = 0;
                        for (i = 0; i < amo.n; i++) {
                                intptr_t p = (intptr_t)df__map_get(w->exec_part, amo.ids[i]);
                                if (parts.n == parts.cap) {
                                        parts.cap = parts.cap ? parts.cap * 2 : 8;
                                        parts.ids = realloc(parts.ids, (size_t)parts.cap * sizeof(char *));
                                }
                                parts.ids[parts.n++] = (char *)(p - 1);
                        }
                        if (df__run_txn(w, &amo, &parts) < 0)
                                break;
                        for (i = 0; i < amo.n; i++)
                                free(amo.ids[i]);
                }
                for (i = 0; i < amo.n; i++)
                        free(amo.ids[i]);
                amo.n = 0;
                df__busy_end(w);
        }
        pthread_mutex_unlock(&w->poll_lock);
        if (w->ka_started) {
                w->ka_stop = 1;
                pthread_join(w->ka_thr, NULL);
                w->ka_started = 0;
        }
        free(amo.ids);
        free(parts.ids);
        df__drop_msgs(w);
        rd_kafka_consumer_close(w->consumer);
        return w->fatal ? (df_err_t)w->fatal : DF_OK;
}

void df_worker_destroy(df_worker_t *w)
{
        if (!w)
                return;
        if (w->consumer)
                rd_kafka_destroy(w->consumer);
        if (w->restorer) {
                rd_kafka_consumer_close(w->restorer);
                rd_kafka_destroy(w->restorer);
        }
        if (w->probe) {
                rd_kafka_consumer_close(w->probe);
                rd_kafka_destroy(w->probe);
        }
        if (w->producer) {
                rd_kafka_flush(w->producer, 5000);
                rd_kafka_destroy(w->producer);
        }
        if (w->db)
                rocksdb_close(w->db);
        if (w->dbopts)
                rocksdb_options_destroy(w->dbopts);
        if (w->wo)
                rocksdb_writeoptions_destroy(w->wo);
        if (w->ro)
                rocksdb_readoptions_destroy(w->ro);
        if (w->wb)
                rocksdb_writebatch_destroy(w->wb);
        df__map_destroy(w->cache, df__exec_state_free);
        df__map_destroy(w->yielded, NULL);
        df__map_destroy(w->carry, df__exec_state_free);
        df__map_destroy(w->exec_part, NULL);
        df__engine_destroy(w->eng);
        df__crashlog_close(w->crashlog);
        free(w->crashes);
        free(w->msgs);
        df__outs_clear(w);
        free(w->outs);
        free(w->dr_ckpt);
        df_conf_destroy(w->conf);
        pthread_mutex_destroy(&w->poll_lock);
        free(w);
}
