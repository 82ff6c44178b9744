/*
 * worker_store.c -- the worker's partition store around the loop: the
 * batch's state written after the commit, the free-disk guard, and the
 * catch-up from the changelog after a missed write.
 */
#include <stdio.h>
#include <unistd.h>

#include "worker_int.h"

/* After a commit: the changelog checkpoints and the batch's state into the store. */
int df__store_commit(df_worker_t *w)
{
        int i;
        rd_kafka_poll(w->txn.rk, 0); /* delivery reports: the checkpoints */
        for (i = 0; i < w->t.partitions; i++)
                if (w->dr_ckpt[i].next >= 0)
                        df__store_wb_ckpt(w->task.wb, i, &w->dr_ckpt[i]);
        if (df__store_write(&w->store, w->task.wb, "write after commit")) {
                df__log(DF__LOG_ERROR, "worker %s: the store missed a committed batch: it will be restored from %s",
                        w->id, w->t.state);
                DF__STAT_SET(w->stats.healthy, 0);
                w->need_restore = 1;
                return -1;
        }
        DF__STAT_SET(w->stats.healthy, 1);
        return 0;
}

/* Bring every assigned partition's store up to date from the changelog
 * (after a failed store write).  0 when done. */
static int df__restore_assigned(df_worker_t *w)
{
        rd_kafka_topic_partition_list_t *a = NULL;
        int i, ret = 0;
        if (rd_kafka_assignment(w->consumer, &a) != RD_KAFKA_RESP_ERR_NO_ERROR)
                return -1;
        for (i = 0; i < a->cnt && !ret; i++)
                ret = df__changelog_restore(&w->cl, &w->store, a->elems[i].partition);
        rd_kafka_topic_partition_list_destroy(a);
        return ret;
}

/* 1 when the store can take the batch (room on disk, caught up with the
 * changelog), 0 when the worker must wait (unhealthy), with *backoff_ms grown. */
int df__store_ready(df_worker_t *w, int *backoff_ms)
{
        int low = df__store_disk_low(&w->store);
        df__gauge_set(w->m_free, (double)w->store.free_bytes);
        if (low) {
                DF__STAT_SET(w->stats.healthy, 0);
                usleep((useconds_t)*backoff_ms * 1000);
                if (*backoff_ms < 1000)
                        *backoff_ms *= 2;
                return 0;
        }
        if (w->need_restore) {
                if (df__restore_assigned(w) && (df__store_reopen(&w->store) || df__restore_assigned(w))) {
                        /* Still cannot persist: process nothing, keep the
                         * records for later, report unhealthy. */
                        df__log(DF__LOG_ERROR, "worker %s: unhealthy: state store cannot be brought up to date; "
                                               "retrying in %d ms",
                                w->id, *backoff_ms);
                        DF__STAT_SET(w->stats.healthy, 0);
                        usleep((useconds_t)*backoff_ms * 1000);
                        if (*backoff_ms < 5000)
                                *backoff_ms *= 2;
                        return 0;
                }
                w->need_restore = 0;
                df__log(DF__LOG_INFO, "worker %s: state store caught up; healthy", w->id);
        }
        DF__STAT_SET(w->stats.healthy, 1);
        *backoff_ms = 100;
        return 1;
}
