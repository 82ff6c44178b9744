/*
 * worker.c -- the worker loop: poll, batch, transaction, commit (the role
 * of Kafka Streams' StreamThread).
 *
 * One thread.  Each batch of <prefix>.events records is processed first
 * (task.c: the steps run; their outputs are kept in the collector), then
 * committed in one Kafka transaction (txn.c) that carries the changelog
 * records (<prefix>.state, to the event's partition), timer requests,
 * outgoing events, results, dead letters and the consumer offsets
 * (send_offsets_to_transaction with the group metadata, KIP-447, which
 * fences a zombie that lost its partitions).  The transaction is open only
 * while the outputs are produced and committed, not while steps run: a step
 * may take longer than transaction.timeout.ms, and a worker that dies
 * mid-step leaves no open transaction for the next owner of its partitions
 * to wait for.  The local store (store.c) is written after the commit.  On
 * assignment each partition's store is brought up to date from
 * <prefix>.state (changelog.c) before its events are processed.  Before
 * anything else, the deaths of the previous process with this worker.id
 * (crashlog.c) are recorded as crash events.
 *
 * The other roles around the loop have files of their own (worker_int.h
 * lists them): the group consumer (worker_group.c), the store's upkeep
 * (worker_store.c), timers fired here (worker_local.c), at-most-once steps
 * (worker_amo.c), crash reports (worker_crash.c), probes (worker_probe.c).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "worker_int.h"


/* ---------------- the transaction of a batch ---------------- */

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

void df__batch_reset(df_worker_t *w)
{
        int i;
        df__task_reset(&w->task);
        for (i = 0; i < w->t.partitions; i++)
                w->dr_ckpt[i].next = -1;
}

/* A failed or aborted batch: its work is dropped (and done again). */
static void df__batch_abandon(df_worker_t *w)
{
        df__engine_amo_reset(w->eng);
        df__batch_reset(w);
        df__task_carry_clear(&w->task);
        w->n_done = 0;
}

/* Abort after a failure inside the batch (before commit).  1 = retry the
 * batch, -1 = fatal. */
int df__batch_abort(df_worker_t *w)
{
        DF__STAT_ADD(w->stats.aborts, 1);
        df__counter_inc(w->m_aborts);
        if (df__txn_abort(&w->txn) == DF__TXN_FATAL)
                return -1;
        df__batch_abandon(w);
        return 1;
}

/*
 * Produce the batch's outputs, send offs (may be NULL) with the group
 * metadata and commit.  0 when committed (and written to the store), 1 when
 * not (the batch is dropped: done again), -1 on a fatal error.
 */
int df__batch_commit(df_worker_t *w, rd_kafka_topic_partition_list_t *offs)
{
        int64_t t0 = df__mono_ns(), t_prod = 0, t_offs = 0;
        int failed_src, i;
        df__txn_rc_t rc;

        if (__atomic_load_n(&w->lost, __ATOMIC_SEQ_CST))
                return df__batch_abort(w);
        if (df__collector_produce(&w->task.out, &w->txn, &failed_src) || (t_prod = df__mono_ns(), 0)) {
                if (failed_src >= 0 && failed_src < w->n_msgs) {
                        /* Kafka refused a record this one produced: to the DLQ on the retry */
                        w->poison_part = w->msgs[failed_src]->partition;
                        w->poison_off = w->msgs[failed_src]->offset;
                }
                return df__batch_abort(w);
        }
        if (offs) {
                rc = df__txn_send_offsets(&w->txn, w->consumer, offs);
                if (rc == DF__TXN_FATAL)
                        return -1;
                if (rc == DF__TXN_ABORTED) {
                        df__batch_abandon(w);
                        return 1;
                }
                if (rc == DF__TXN_RETRY)
                        return df__batch_abort(w);
        }
        t_offs = df__mono_ns();
        if (__atomic_load_n(&w->lost, __ATOMIC_SEQ_CST))
                return df__batch_abort(w);
        rc = df__txn_commit(&w->txn);
        if (rc == DF__TXN_FATAL)
                return -1;
        if (rc != DF__TXN_OK) {
                df__batch_abandon(w);
                return 1;
        }
        DF__STAT_ADD(w->stats.batches, 1);
        df__histogram_observe(w->m_commit, (double)(df__mono_ns() - t0) / 1e9);
        /* where a batch's time goes (log.level debug): the latency work's figures */
        df__log(DF__LOG_DEBUG, "batch timing: records %d, outputs %d: produce %.2f ms, send_offsets %.2f ms, "
                               "commit %.2f ms",
                w->n_msgs, w->task.out.n, (double)(t_prod - t0) / 1e6, (double)(t_offs - t_prod) / 1e6,
                (double)(df__mono_ns() - t_offs) / 1e6);
        df__counter_add(w->m_dlq_decode, w->task.batch_dlq_decode);
        df__counter_add(w->m_dlq_process, w->task.batch_dlq_process);
        df__store_commit(w);
        df__task_done(&w->task);
        df__local_arm(w);
        for (i = 0; offs && i < offs->cnt; i++)
                if (offs->elems[i].partition >= 0 && offs->elems[i].partition < w->t.partitions)
                        w->committed[offs->elems[i].partition] = offs->elems[i].offset;
        return 0;
}

int df__batch_begin(df_worker_t *w)
{
        df__txn_rc_t rc;
        df__batch_reset(w);
        /* begin_transaction is local: the broker's transaction (and its
         * timeout) starts with the first record produced, after the steps */
        rc = df__txn_begin(&w->txn);
        return rc == DF__TXN_OK ? 0 : rc == DF__TXN_FATAL ? -1 : 1;
}

/*
 * Run one batch: a prefix of the collected messages, as many as fit in the
 * time budget and batch.max.bytes (at least one), recorded in w->n_done.
 * The events are processed first, with no transaction open (steps run here
 * and may take long); their outputs are then produced and committed with
 * the offsets in one transaction.  0 when committed, 1 when not (the
 * messages stay collected and are processed again), -1 on a fatal error.
 */
static int df__run_batch(df_worker_t *w)
{
        int64_t t0 = df__mono_ms();
        rd_kafka_topic_partition_list_t *offs;
        int n = 0, i, r, fired_here = 0, swept = 0;

        if ((r = df__batch_begin(w)) != 0)
                return r;
        offs = rd_kafka_topic_partition_list_new(8);
        fired_here = w->n_local;
        if (df__local_fire(w, offs)) {
                rd_kafka_topic_partition_list_destroy(offs);
                return df__batch_abort(w);
        }
        fired_here -= w->n_local;
        if (df__retention_sweep(w, offs, &swept)) {
                rd_kafka_topic_partition_list_destroy(offs);
                return df__batch_abort(w);
        }
        /* the executions of the batch at once (task_lanes.c); past the time
         * or byte budget the rest goes in the next transaction */
        n = df__task_apply_batch(&w->task, w->msgs, w->n_msgs, w->poison_part, w->poison_off, t0, w->txn_budget_ms);
        if (n < 0) {
                rd_kafka_topic_partition_list_destroy(offs);
                return df__batch_abort(w);
        }
        for (i = 0; i < n && w->poison_part >= 0; i++)
                if (w->msgs[i]->partition == w->poison_part && w->msgs[i]->offset == w->poison_off)
                        w->poison_part = -1;
        if (swept)
                df__log(DF__LOG_DEBUG, "worker %s: retention sweep: %d index entries", w->id, swept);
        if (n)
                df__log(DF__LOG_DEBUG, "batch timing: %d of %d collected records processed in %.2f ms, the first "
                                       "waited %.2f ms in the worker",
                        n, w->n_msgs, (double)(df__mono_ms() - t0),
                        (double)(df__now_ms() - rd_kafka_message_timestamp(w->msgs[0], NULL)));
        for (i = 0; i < n; i++) {
                rd_kafka_message_t *m = w->msgs[i];
                rd_kafka_topic_partition_t *p = rd_kafka_topic_partition_list_find(offs, w->t.events, m->partition);
                if (!p)
                        p = rd_kafka_topic_partition_list_add(offs, w->t.events, m->partition);
                p->offset = m->offset + 1;
        }
        /* a partition with only timers fired here: its offset as last committed */
        for (i = 0; i < offs->cnt; i++) {
                rd_kafka_topic_partition_t *p = &offs->elems[i];
                if (p->offset >= 0)
                        continue;
                if (p->partition >= 0 && p->partition < w->t.partitions && w->committed[p->partition] >= 0) {
                        p->offset = w->committed[p->partition];
                } else {
                        rd_kafka_topic_partition_list_t *q = rd_kafka_topic_partition_list_new(1);
                        rd_kafka_topic_partition_list_add(q, w->t.events, p->partition);
                        if (rd_kafka_committed(w->consumer, q, 10000) || q->elems[0].offset < 0) {
                                rd_kafka_topic_partition_list_destroy(q);
                                rd_kafka_topic_partition_list_destroy(offs);
                                return df__batch_abort(w);
                        }
                        p->offset = q->elems[0].offset;
                        rd_kafka_topic_partition_list_destroy(q);
                }
        }
        df__fault_inject(w, 1, fired_here);
        r = df__batch_commit(w, offs->cnt ? offs : NULL);
        rd_kafka_topic_partition_list_destroy(offs);
        if (r == 0)
                df__fault_inject(w, 2, fired_here);
        if (r == 0) {
                w->n_done = n;
                df__counter_add(w->m_events, (uint64_t)n);
                df__histogram_observe(w->m_batch, n);
        }
        return r;
}

/* ---------------- the collected messages ---------------- */

/* Forget the first n collected messages (committed). */
void df__shift_msgs(df_worker_t *w, int n)
{
        int i;
        for (i = 0; i < n; i++)
                rd_kafka_message_destroy(w->msgs[i]);
        memmove(w->msgs, w->msgs + n, (size_t)(w->n_msgs - n) * sizeof(*w->msgs));
        w->n_msgs -= n;
}

void df__drop_msgs(df_worker_t *w)
{
        df__shift_msgs(w, w->n_msgs);
}

/* ---------------- lifecycle ---------------- */

df_worker_t *df_worker_new(const df_conf_t *conf, char *errstr, size_t errstr_size)
{
        df_worker_t *w = calloc(1, sizeof(*w));
        df__store_opts_t so = {.wal = 1, .write_buffer_size = 16u << 20};
        char cid[300], who[200];

        if (!w || !conf) {
                df__errf(errstr, errstr_size, "out of memory or NULL conf");
                free(w);
                return NULL;
        }
        if (df__program_init(conf, &w->conf, &w->s, &w->t, errstr, errstr_size))
                goto fail;
        snprintf(w->id, sizeof(w->id), "%s", w->s.instance_id);
        w->batch_max = (int)w->s.batch_max_records;
        w->batch_ms = (int)w->s.batch_max_ms;
        DF__STAT_SET(w->stats.healthy, 1);
        w->poison_part = -1;
        pthread_mutex_init(&w->poll_lock, NULL);
        w->ka_after_ms = w->s.max_poll_interval_ms / 4;
        if (w->ka_after_ms < 500)
                w->ka_after_ms = 500;
        w->txn_budget_ms = w->s.transaction_timeout_ms / 3;
        w->eng = df__engine_new(w->t.events);
        w->msgs = calloc((size_t)w->batch_max * 2, sizeof(*w->msgs));
        if (!w->eng || !w->msgs) {
                df__errf(errstr, errstr_size, "out of memory");
                goto fail;
        }
        df__engine_set_max_crashes(w->eng, (int)w->s.execution_max_crashes);
        df__engine_set_threads(w->eng, (int)w->s.worker_threads);
        df__engine_set_limits(w->eng, (int)w->s.history_max_operations, w->s.history_max_bytes);
        df__engine_set_retention(w->eng, w->s.retention_ms);
        df__engine_set_metrics(w->eng, df__telemetry_metrics());
        if (df__otlp_new_conf(conf, w->id, df__telemetry_metrics(), &w->tracer, errstr, errstr_size))
                goto fail;
        df__engine_set_tracer(w->eng, w->tracer);
        if (df__topics_ensure(conf, &w->t, errstr, errstr_size))
                goto fail;
        /* sized by the partitions the brokers reported, not the setting */
        w->dr_ckpt = calloc((size_t)w->t.partitions, sizeof(*w->dr_ckpt));
        w->committed = malloc((size_t)w->t.partitions * sizeof(*w->committed));
        if (!w->dr_ckpt || !w->committed) {
                df__errf(errstr, errstr_size, "out of memory");
                goto fail;
        }

        snprintf(who, sizeof(who), "worker %s", w->id);
        so.min_free_bytes = w->s.state_min_free_bytes;
        mkdir(w->s.state_dir, 0755);
        if (df__store_open(&w->store, w->s.worker_store, &so, who, errstr, errstr_size))
                goto fail;
        df__crashlog_load(w);
        if (df__task_init(&w->task, w->eng, &w->store, &w->t, w->crashlog, (size_t)w->s.batch_max_bytes)) {
                df__errf(errstr, errstr_size, "out of memory");
                goto fail;
        }
        df__fault_inject_load(w);
        w->task.local_max_ms = w->s.timer_local_max_ms;
        w->task.local_grace_ms = w->s.timer_local_grace_ms;
        for (int i = 0; i < w->t.partitions; i++)
                w->committed[i] = -1;
        if (df__txn_init(&w->txn, w->conf, w->s.topic_prefix, "worker", w->id, df__dr_cb, w, errstr, errstr_size))
                goto fail;
        snprintf(cid, sizeof(cid), "duraflow-worker-%s", w->id);
        if (df__changelog_open(&w->cl, w->conf, cid, w->t.state, w->s.transaction_timeout_ms, errstr, errstr_size))
                goto fail;
        if (df__worker_telemetry(w, errstr, errstr_size))
                goto fail;
        w->consumer = df__consumer_new(w, cid, errstr, errstr_size);
        if (!w->consumer)
                goto fail;
        return w;
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
        out->batches = __atomic_load_n(&w->stats.batches, __ATOMIC_RELAXED);
        out->aborts = __atomic_load_n(&w->stats.aborts, __ATOMIC_RELAXED);
        out->healthy = __atomic_load_n(&w->stats.healthy, __ATOMIC_RELAXED);
        out->events = __atomic_load_n(&w->task.events, __ATOMIC_RELAXED);
        out->dlq = __atomic_load_n(&w->task.dlq, __ATOMIC_RELAXED);
        out->steps_run = es.steps_run;
        out->executions_finished = es.finished;
}

/* Top up the collected messages: wait for the first one, then up to
 * batch.max.ms for more; with leftovers, take only what is already there
 * (this also serves rebalances). */
static void df__collect(df_worker_t *w)
{
        int64_t deadline = 0, next = df__local_next(w), idle = 100;
        int had = w->n_msgs;
        if (rd_kafka_fatal_error(w->consumer, NULL, 0)) {
                /* (the keepalive thread may have consumed the error event) */
                w->consumer_fatal = 1;
                return;
        }
        if (next != INT64_MAX) {
                int64_t until = next - df__now_ms();
                idle = until < 0 ? 0 : until < idle ? until : idle;
        }
        while (w->n_msgs < w->batch_max && !w->stop) {
                int timeout = had ? 0 : w->n_msgs == 0 ? (int)idle : (int)(deadline - df__mono_ms());
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
                        if (m->err == RD_KAFKA_RESP_ERR__FATAL) {
                                char e[512];
                                rd_kafka_fatal_error(w->consumer, e, sizeof(e));
                                df__log(DF__LOG_ERROR, "worker %s: fatal consumer error: %s", w->id, e);
                                w->consumer_fatal = 1;
                                rd_kafka_message_destroy(m);
                                break;
                        }
                        if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                                df__log(DF__LOG_WARN, "consume: %s", rd_kafka_message_errstr(m));
                        rd_kafka_message_destroy(m);
                        continue;
                }
                if (w->n_msgs == 0)
                        deadline = df__mono_ms() + w->batch_ms;
                w->msgs[w->n_msgs++] = m;
        }
}

df_err_t df_worker_run(df_worker_t *w)
{
        int backoff_ms = 100, r;
        char who[200];

        snprintf(who, sizeof(who), "worker %s", w->id);
        if (df__subscribe(w->consumer, w->t.events, who) != DF_OK)
                return DF_ERR_KAFKA;
        if (!w->ka_started && !pthread_create(&w->ka_thr, NULL, df__keepalive_main, w))
                w->ka_started = 1;
        pthread_mutex_lock(&w->poll_lock);
        while (!w->stop) {
                df__collect(w);
                if (w->consumer_fatal) {
                        if (df__consumer_replace(w, who))
                                break;
                        continue;
                }
                if (w->n_crashes && !w->need_restore) {
                        r = df__report_crashes(w);
                        if (r < 0 && df__txn_replace(&w->txn, &w->stop))
                                break;
                        if (r != 0) {
                                usleep(100000);
                                continue;
                        }
                }
                if ((!w->n_msgs && df__local_next(w) > df__now_ms() && !df__retention_due(w)) ||
                    !df__store_ready(w, &backoff_ms))
                        continue;
                df__busy_begin(w);
                r = df__run_batch(w);
                if (r == 0) {
                        w->fails = 0;
                        df__shift_msgs(w, w->n_done);
                        r = df__run_amo(w);
                }
                df__busy_end(w);
                if (r < 0) {
                        df__batch_abandon(w);
                        if (df__txn_replace(&w->txn, &w->stop))
                                break;
                } else if (r > 0) {
                        /* Not committed: the same messages go again (a record
                         * whose output Kafka refused goes to the DLQ on that
                         * retry), after 50 ms, doubling up to 2 s while it
                         * keeps failing (the broker away: steps would re-run
                         * in a tight loop). */
                        int wait_ms = 50 << (w->fails < 6 ? w->fails : 6);
                        w->fails++;
                        usleep((useconds_t)(wait_ms > 2000 ? 2000 : wait_ms) * 1000);
                }
        }
        pthread_mutex_unlock(&w->poll_lock);
        if (w->ka_started) {
                w->ka_stop = 1;
                pthread_join(w->ka_thr, NULL);
                w->ka_started = 0;
        }
        df__drop_msgs(w);
        if (w->consumer && !rd_kafka_fatal_error(w->consumer, NULL, 0))
                rd_kafka_consumer_close(w->consumer); /* a fatally failed member cannot leave */
        if (w->consumer_replacements > 3 || !w->consumer)
                return DF_ERR_KAFKA;
        return w->txn.fatal ? w->txn.fatal : DF_OK;
}

void df_worker_destroy(df_worker_t *w)
{
        if (!w)
                return;
        if (w->telemetry_joined)
                df__telemetry_leave(&w->probe);
        if (w->consumer)
                rd_kafka_destroy(w->consumer);
        df__changelog_close(&w->cl);
        df__txn_destroy(&w->txn);
        df__store_close(&w->store);
        df__task_destroy(&w->task);
        df__engine_destroy(w->eng);
        df__otlp_destroy(w->tracer, 1000); /* what is queued gets 1 s to go out */
        df__crashlog_close(w->crashlog);
        free(w->crashes);
        free(w->msgs);
        free(w->dr_ckpt);
        if (w->committed)
                df__local_forget(w);
        free(w->local);
        free(w->committed);
        df_conf_destroy(w->conf);
        pthread_mutex_destroy(&w->poll_lock);
        free(w);
}
