/*
 * worker_group.c -- the worker's group consumer of <prefix>.events: its
 * creation, the rebalance callback (a new assignment's partitions restored
 * from the changelog first), the keepalive thread that polls it while a long
 * batch runs, and its replacement after a fatal error.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "worker_int.h"

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
        } else {
                df__task_carry_clear(&w->task); /* partitions move: nothing carried is known to be current */
                df__local_forget(w);            /* the timer service fires them now */
        }
        if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
                for (i = 0; i < parts->cnt; i++) {
                        if (df__changelog_restore(&w->cl, &w->store, parts->elems[i].partition)) {
                                /* Nothing of the partition is processed before
                                 * its state is restored: the main loop retries. */
                                df__log(DF__LOG_ERROR, "cannot restore partition %d yet; will retry before "
                                                       "processing",
                                        parts->elems[i].partition);
                                DF__STAT_SET(w->stats.healthy, 0);
                                w->need_restore = 1;
                        }
                }
                df__log(DF__LOG_INFO, "worker %s: assigned %d partition(s) of %s", w->id, parts->cnt, w->t.events);
                rd_kafka_assign(rk, parts);
                __atomic_store_n(&w->n_assigned, parts->cnt, __ATOMIC_RELAXED);
                df__gauge_set(w->m_assigned, parts->cnt);
        } else {
                if (!w->in_keepalive)
                        df__drop_msgs(w); /* not ours any more: the next owner consumes them */
                df__log(DF__LOG_INFO, "worker %s: revoked %d partition(s)", w->id, parts->cnt);
                rd_kafka_assign(rk, NULL);
                __atomic_store_n(&w->n_assigned, 0, __ATOMIC_RELAXED);
                df__gauge_set(w->m_assigned, 0);
        }
}

/* The group consumer of <prefix>.events. */
rd_kafka_t *df__consumer_new(df_worker_t *w, const char *cid, char *errstr, size_t errstr_size)
{
        rd_kafka_conf_t *kc = df__group_consumer_conf(w->conf, &w->s, cid, w->s.worker_group, 0, errstr, errstr_size);
        char mpi[32];

        if (!kc)
                return NULL;
        snprintf(mpi, sizeof(mpi), "%lld", (long long)w->s.max_poll_interval_ms);
        if (df__kconf_set(kc, "max.poll.interval.ms", mpi, errstr, errstr_size) ||
            df__telemetry_kafka_stats(kc, &w->s, "worker", errstr, errstr_size)) {
                rd_kafka_conf_destroy(kc);
                return NULL;
        }
        return df__group_consumer_open(kc, w->conf, df__rebalance_cb, w, "consumer", errstr, errstr_size);
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

void *df__keepalive_main(void *arg)
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
void df__busy_begin(df_worker_t *w)
{
        __atomic_store_n(&w->busy_since, df__mono_ms(), __ATOMIC_SEQ_CST);
        pthread_mutex_unlock(&w->poll_lock);
}

void df__busy_end(df_worker_t *w)
{
        pthread_mutex_lock(&w->poll_lock);
        __atomic_store_n(&w->busy_since, 0, __ATOMIC_SEQ_CST);
        if (__atomic_load_n(&w->lost, __ATOMIC_SEQ_CST)) {
                /* A rebalance came while the batch ran: its transaction was
                 * aborted; the records are consumed again from the committed
                 * offsets by whoever owns them now. */
                df__drop_msgs(w);
                df__engine_amo_reset(w->eng);
                df__task_carry_clear(&w->task);
                df__local_forget(w);
                __atomic_store_n(&w->lost, 0, __ATOMIC_SEQ_CST);
                w->paused = 0;
        } else if (w->paused) {
                df__pause_all(w, 0);
                w->paused = 0;
        }
}

/*
 * The group consumer failed fatally: with static membership (KIP-345)
 * librdkafka 2.0 reports "Static consumer fenced by other consumer with same
 * group.instance.id" when a broker's loss or restart made the coordinator
 * see two incarnations of this member; the consumer then fetches nothing
 * more, for ever.  Replace it with a new one (the same group.instance.id:
 * it takes this member's partitions over), dropping what the batch held:
 * the records are consumed again from the committed offsets.  At most 3
 * times a minute.  0, or -1 (give up: the worker stops with DF_ERR_KAFKA).
 */
typedef struct consumer_arg {
        df_worker_t *w;
        const char *cid;
} consumer_arg_t;

static rd_kafka_t *df__consumer_make(void *arg, char *errstr, size_t errstr_size)
{
        consumer_arg_t *a = arg;
        return df__consumer_new(a->w, a->cid, errstr, errstr_size);
}

int df__consumer_replace(df_worker_t *w, const char *who)
{
        char cid[300];
        consumer_arg_t a = {w, cid};

        w->consumer_fatal = 0;
        if (df__consumer_replace_allowed(&w->consumer_window_ms, &w->consumer_replacements, who))
                return -1;
        df__drop_msgs(w);
        df__engine_amo_reset(w->eng);
        df__batch_reset(w);
        df__task_carry_clear(&w->task);
        df__local_forget(w);
        __atomic_store_n(&w->n_assigned, 0, __ATOMIC_RELAXED);
        rd_kafka_destroy(w->consumer); /* no close: a fatally failed member cannot leave */
        snprintf(cid, sizeof(cid), "duraflow-worker-%s", w->id);
        w->consumer = df__consumer_until_ready(df__consumer_make, &a, w->t.events, who, &w->stop);
        return w->consumer ? 0 : -1;
}
