/*
 * worker_retention.c -- retention.ms: the worker purges the finished
 * executions of its partitions whose end is retention.ms ago, by a sweep of
 * its store's end-time index (store.h), in its batch transactions.
 *
 * Until 2026-12 each finished execution armed a RETENTION timer on
 * <prefix>.timers instead: one more record and up to six more partitions
 * with commit markers in every finishing transaction (bench_throughput's
 * closed loop −23 %), and retention.ms × the finishing rate pending in the
 * timer service's index (121 million for 14 days at 100/s), rebuilt on
 * every assignment.  Such timers still pending fire as before (engine.c).
 *
 * The sweep looks at most once a second (DF__SWEEP_EVERY_MS), so a purge
 * comes up to about a second after its time, and visits at most
 * DF__SWEEP_MAX entries a batch: a backlog (retention.ms lowered, a worker
 * back after a week) is worked off over several batches, beside the events.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schedule.h"
#include "state.h"
#include "worker_int.h"

#define DF__SWEEP_EVERY_MS 1000
#define DF__SWEEP_MAX 1000

/* The first index entry of part due by cutoff (UTC ms): 1 if there is one. */
static int df__sweep_any(df_worker_t *w, int part, int64_t cutoff)
{
        char lo[32], hi[32];
        size_t ll = df__store_rkey_bound(lo, sizeof(lo), part, INT64_MIN);
        size_t hl = df__store_rkey_bound(hi, sizeof(hi), part, cutoff + 1);
        rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
        rocksdb_iterator_t *it;
        int any;
        rocksdb_readoptions_set_iterate_upper_bound(ro, hi, hl);
        it = rocksdb_create_iterator(w->store.db, ro);
        rocksdb_iter_seek(it, lo, ll);
        any = rocksdb_iter_valid(it);
        rocksdb_iter_destroy(it);
        rocksdb_readoptions_destroy(ro);
        return any;
}

int df__retention_due(df_worker_t *w)
{
        rd_kafka_topic_partition_list_t *a = NULL;
        int64_t cutoff;
        int i;

        if (w->sweep_due)
                return 1;
        if (w->s.retention_ms <= 0 || !w->store.db || df__mono_ms() < w->sweep_next_ms)
                return 0;
        w->sweep_next_ms = df__mono_ms() + DF__SWEEP_EVERY_MS;
        if (rd_kafka_assignment(w->consumer, &a) != RD_KAFKA_RESP_ERR_NO_ERROR)
                return 0;
        cutoff = df__now_ms() - w->s.retention_ms;
        for (i = 0; i < a->cnt && !w->sweep_due; i++)
                w->sweep_due = df__sweep_any(w, a->elems[i].partition, cutoff);
        rd_kafka_topic_partition_list_destroy(a);
        return w->sweep_due;
}

/* One entry of part's index (key, kl) is due: its execution purged when its
 * own end is retention.ms ago, the entry dropped (and made again at the
 * execution's end when that is later).  0, or -1 when the batch must abort. */
static int df__sweep_one(df_worker_t *w, int part, const char *key, size_t kl, size_t head)
{
        char id[256];
        size_t n = kl - head;
        df__exec_state_t *st;
        df__event_t ev;
        df__buf_t raw = {(uint8_t *)"", 0};
        int rc;

        rocksdb_writebatch_delete(w->task.wb, key, kl);
        if (n == 0 || n >= sizeof(id))
                return 0;
        memcpy(id, key + head, n);
        id[n] = '\0';
        if (!df__execution_id_valid(id) || df__schedule_key(id))
                return 0;
        memset(&ev, 0, sizeof(ev));
        ev.type = DF__EV_TIMER;
        ev.timer_kind = DF__TK_RETENTION;
        ev.seq = DF__RETENTION_SWEEP;
        ev.execution_id = id;
        ev.op_id = "";
        ev.ts_ms = df__now_ms();
        rc = df__task_apply(&w->task, &ev, part, 0, &raw);
        if (rc == -1)
                return -1;
        if (rc == -2) {
                df__log(DF__LOG_ERROR, "worker %s: execution %s: the retention sweep could not apply its purge "
                                       "(see above); it is not purged",
                        w->id, id);
                return 0;
        }
        /* still here and finished later (restarted, ended again): its entry
         * at its own end (an entry from a restore is at its record's time) */
        st = df__map_get(w->task.cache, id);
        if (st && st->exists && df__exec_status_terminal(st->exec.status))
                df__store_wb_rkey(w->task.wb, part, st->exec.updated_ms, id, n);
        return 0;
}

int df__retention_sweep(df_worker_t *w, rd_kafka_topic_partition_list_t *parts, int *visited_out)
{
        rd_kafka_topic_partition_list_t *a = NULL;
        int64_t cutoff = df__now_ms() - w->s.retention_ms;
        int i, visited = 0, more = 0, ret = 0;

        *visited_out = 0;
        if (!df__retention_due(w))
                return 0;
        w->sweep_due = 0;
        if (rd_kafka_assignment(w->consumer, &a) != RD_KAFKA_RESP_ERR_NO_ERROR)
                return 0;
        for (i = 0; i < a->cnt && !ret; i++) {
                int part = a->elems[i].partition, touched = 0;
                char lo[32], hi[32];
                size_t ll = df__store_rkey_bound(lo, sizeof(lo), part, INT64_MIN);
                size_t hl = df__store_rkey_bound(hi, sizeof(hi), part, cutoff + 1);
                rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
                rocksdb_iterator_t *it;
                rocksdb_readoptions_set_iterate_upper_bound(ro, hi, hl);
                it = rocksdb_create_iterator(w->store.db, ro);
                for (rocksdb_iter_seek(it, lo, ll); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
                        size_t kl;
                        const char *k = rocksdb_iter_key(it, &kl);
                        if (visited == DF__SWEEP_MAX) {
                                more = 1;
                                break;
                        }
                        visited++;
                        touched = 1;
                        if (kl < ll || df__sweep_one(w, part, k, kl, ll)) {
                                ret = -1;
                                break;
                        }
                }
                rocksdb_iter_destroy(it);
                rocksdb_readoptions_destroy(ro);
                if (touched && !rd_kafka_topic_partition_list_find(parts, w->t.events, part))
                        rd_kafka_topic_partition_list_add(parts, w->t.events, part)->offset = -1;
                if (more)
                        break;
        }
        rd_kafka_topic_partition_list_destroy(a);
        w->sweep_due = more; /* a backlog: on in the next batch */
        *visited_out = visited;
        return ret;
}
