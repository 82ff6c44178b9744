/*
 * worker.c -- the worker loop: poll, batch, transaction, rebalance,
 * keepalive (the role of Kafka Streams' StreamThread).
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
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "changelog.h"
#include "settings.h"
#include "telemetry.h"
#include "task.h"
#include "txn.h"

/* Counters read by df_worker_get_stats() from other threads. */
#define DF__STAT_ADD(field, n) __atomic_add_fetch(&(field), (n), __ATOMIC_RELAXED)
#define DF__STAT_SET(field, v) __atomic_store_n(&(field), (v), __ATOMIC_RELAXED)

struct df_worker {
        df_conf_t *conf;
        df__settings_t s;          /* conf as typed values */
        df__topics_t t;
        char id[128];
        int batch_max, batch_ms;
        rd_kafka_t *consumer;
        df__txn_t txn;
        df__changelog_t cl;
        df__store_t store;
        df__engine_t *eng;
        df__task_t task;
        df__crashlog_t *crashlog;  /* breadcrumbs: which execution / step body this process runs */
        df__crash_rec_t *crashes;  /* left by the previous process with this worker.id: to report */
        int n_crashes;
        int fails;                 /* batches not committed in a row (for the retry backoff) */
        df__ckpt_t *dr_ckpt;       /* per partition: last delivered state record (next = -1: none) */
        rd_kafka_message_t **msgs; /* consumed, not yet committed; capacity 2 * batch_max */
        int n_msgs;
        int n_done;                /* how many of msgs the last transaction processed */
        int64_t txn_budget_ms;     /* stop adding events to a batch after processing this long */
        int poison_part;           /* record whose output Kafka refused: */
        int64_t poison_off;        /* the retry sends it to the DLQ */
        int need_restore;          /* the store missed a committed batch: catch up first */
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
        volatile int stop;
        df_worker_stats_t stats;    /* batches, aborts, healthy; the rest from the task and engine */
        df__telemetry_probe_t probe; /* /readyz, /healthz */
        int telemetry_joined;
        int n_assigned;             /* partitions assigned (atomic: read by the metrics thread) */
        df__series_t *m_commit, *m_events, *m_batch, *m_aborts, *m_assigned, *m_ready, *m_healthy, *m_free;
        df__series_t *m_dlq_decode, *m_dlq_process;
        /* timers this worker fires itself when due (timer.local.max.ms) */
        df__local_timer_t *local;
        int n_local, cap_local;
        int64_t *committed;         /* per partition: the offset last committed by this worker, -1 unknown */
        /* fault injection for the tests only ($DF_FAULT_INJECT, read once):
         * SIGKILL this process before (1) or after (2) the commit of the
         * kill_nth batch that fires timers here */
        int kill_when, kill_nth;
        int consumer_fatal;         /* the group consumer failed fatally: replace it */
        int consumer_replacements;  /* in the current minute */
        int64_t consumer_window_ms;
};

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

static void df__batch_reset(df_worker_t *w)
{
        int i;
        df__task_reset(&w->task);
        for (i = 0; i < w->t.partitions; i++)
                w->dr_ckpt[i].next = -1;
}

/* ---------------- timers fired here ---------------- */

static void df__local_forget(df_worker_t *w)
{
        int i;
        for (i = 0; i < w->n_local; i++)
                df__local_timer_clear(&w->local[i]);
        w->n_local = 0;
        for (i = 0; i < w->t.partitions; i++)
                w->committed[i] = -1;
}

/* The timers a committed batch armed to fire here join the others. */
static void df__local_arm(df_worker_t *w)
{
        df__local_timer_t *in;
        int n = df__task_take_local(&w->task, &in), i;
        if (!n) {
                free(in);
                return;
        }
        if (w->n_local + n > w->cap_local) {
                int cap = w->cap_local ? w->cap_local : 64;
                df__local_timer_t *a;
                while (cap < w->n_local + n)
                        cap *= 2;
                a = realloc(w->local, (size_t)cap * sizeof(*a));
                if (!a) { /* the timer service fires them (timer.local.grace.ms late) */
                        for (i = 0; i < n; i++)
                                df__local_timer_clear(&in[i]);
                        free(in);
                        return;
                }
                w->local = a;
                w->cap_local = cap;
        }
        memcpy(w->local + w->n_local, in, (size_t)n * sizeof(*in));
        w->n_local += n;
        free(in);
}

/* When the next timer fired here is due (UTC ms), INT64_MAX if none. */
static int64_t df__local_next(const df_worker_t *w)
{
        int64_t next = INT64_MAX;
        int i;
        for (i = 0; i < w->n_local; i++)
                if (w->local[i].due_ms < next)
                        next = w->local[i].due_ms;
        return next;
}

/*
 * Apply the timers due by now in the open batch: each timer's event, and a
 * tombstone withdrawing it from <prefix>.timers (the timer service then
 * never fires its backstop).  *parts gets each partition touched.  0, or
 * -1 when the batch must abort.
 */
static int df__local_fire(df_worker_t *w, rd_kafka_topic_partition_list_t *parts)
{
        int64_t now = df__now_ms();
        int i = 0;
        while (i < w->n_local) {
                df__local_timer_t *t = &w->local[i];
                df__event_t ev;
                char errstr[256];
                int rc = 0;
                if (t->due_ms > now) {
                        i++;
                        continue;
                }
                memset(&ev, 0, sizeof(ev));
                if (!df__event_decode(t->payload.data, t->payload.len, &ev, errstr, sizeof(errstr))) {
                        rc = df__task_apply(&w->task, &ev, t->part, 0, &t->payload) == -1 ||
                             df__collector_add(&w->task.out, w->t.timers, RD_KAFKA_PARTITION_UA, t->timer_id,
                                               strlen(t->timer_id), NULL, -1);
                        df__event_clear(&ev);
                }
                if (rc)
                        return -1;
                if (!rd_kafka_topic_partition_list_find(parts, w->t.events, t->part))
                        rd_kafka_topic_partition_list_add(parts, w->t.events, t->part)->offset = -1;
                df__local_timer_clear(t);
                w->local[i] = w->local[--w->n_local];
        }
        return 0;
}

/* After a commit: the changelog checkpoints and the batch's state into the store. */
static int df__store_commit(df_worker_t *w)
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
static int df__batch_abort(df_worker_t *w)
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
static int df__batch_commit(df_worker_t *w, rd_kafka_topic_partition_list_t *offs)
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

static int df__batch_begin(df_worker_t *w)
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
/* $DF_FAULT_INJECT = "kill-before-local-commit:N" | "kill-after-local-commit:N" */
static void df__fault_inject_load(df_worker_t *w)
{
        const char *f = getenv("DF_FAULT_INJECT");
        if (!f)
                return;
        if (!strncmp(f, "kill-before-local-commit:", 25)) {
                w->kill_when = 1;
                w->kill_nth = atoi(f + 25);
        } else if (!strncmp(f, "kill-after-local-commit:", 24)) {
                w->kill_when = 2;
                w->kill_nth = atoi(f + 24);
        }
        if (w->kill_when)
                df__log(DF__LOG_WARN, "worker %s: fault injection: %s", w->id, f);
}

static void df__fault_inject(df_worker_t *w, int when, int fired_here)
{
        if (w->kill_when == when && fired_here && --w->kill_nth == 0) {
                df__log(DF__LOG_WARN, "worker %s: fault injection: SIGKILL %s the commit of a batch that fired "
                                      "%d timer(s) here",
                        w->id, when == 1 ? "before" : "after", fired_here);
                raise(SIGKILL);
        }
}

static int df__run_batch(df_worker_t *w)
{
        int64_t t0 = df__mono_ms();
        rd_kafka_topic_partition_list_t *offs;
        int n = 0, i, r, fired_here = 0;

        if ((r = df__batch_begin(w)) != 0)
                return r;
        offs = rd_kafka_topic_partition_list_new(8);
        fired_here = w->n_local;
        if (df__local_fire(w, offs)) {
                rd_kafka_topic_partition_list_destroy(offs);
                return df__batch_abort(w);
        }
        fired_here -= w->n_local;
        for (; n < w->n_msgs; n++) {
                rd_kafka_message_t *m = w->msgs[n];
                int poison = m->partition == w->poison_part && m->offset == w->poison_off;
                if (n > 0 && (df__mono_ms() - t0 > w->txn_budget_ms || w->task.out.bytes >= w->task.batch_max_bytes))
                        break; /* commit what is done; the rest goes in the next transaction */
                if (poison)
                        w->poison_part = -1;
                if (df__task_apply_record(&w->task, m, n, poison)) {
                        rd_kafka_topic_partition_list_destroy(offs);
                        return df__batch_abort(w);
                }
        }
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

struct df__amo_list {
        char **ids;
        int *parts;
        int n, cap;
};

static void df__amo_collect(const char *exec_id, void *opaque)
{
        struct df__amo_list *l = opaque;
        if (l->n == l->cap) {
                int cap = l->cap ? l->cap * 2 : 8;
                char **ids = realloc(l->ids, (size_t)cap * sizeof(*ids));
                int *parts;
                if (!ids)
                        return;
                l->ids = ids;
                parts = realloc(l->parts, (size_t)cap * sizeof(*parts));
                if (!parts)
                        return;
                l->parts = parts;
                l->cap = cap;
        }
        l->ids[l->n] = strdup(exec_id);
        if (l->ids[l->n])
                l->n++;
}

/*
 * At-most-once steps whose START just committed run now, each batch of
 * them in its own transaction, while this worker still owns the partitions.
 * 0, or -1 on a fatal error.
 */
static int df__run_amo(df_worker_t *w)
{
        struct df__amo_list amo = {0};
        int i, r = 0;

        while (r >= 0) {
                amo.n = 0;
                df__engine_amo_drain(w->eng, df__amo_collect, &amo);
                if (!amo.n)
                        break;
                for (i = 0; i < amo.n; i++)
                        amo.parts[i] = df__task_partition_of(&w->task, amo.ids[i]);
                if ((r = df__batch_begin(w)) == 0) {
                        for (i = 0; i < amo.n && r == 0; i++) {
                                df__event_t ev;
                                memset(&ev, 0, sizeof(ev));
                                ev.type = DF__EV_CONTINUE;
                                ev.execution_id = amo.ids[i];
                                ev.ts_ms = df__now_ms();
                                if (amo.parts[i] >= 0 && df__task_apply(&w->task, &ev, amo.parts[i], 1, NULL) == -1)
                                        r = df__batch_abort(w);
                        }
                        if (r == 0)
                                r = df__batch_commit(w, NULL);
                }
                for (i = 0; i < amo.n; i++)
                        free(amo.ids[i]);
                if (r > 0)
                        r = 0; /* not committed: the CONTINUE events in Kafka run them later */
        }
        free(amo.ids);
        free(amo.parts);
        return r < 0 ? -1 : 0;
}

/*
 * The previous process with this worker.id died while processing some
 * executions (its crash breadcrumbs).  Before anything else is processed,
 * a crash event is recorded for each, in a transaction of its own: the
 * count is then durable even if processing the same event kills this
 * process too.  An execution of a partition assigned here gets the event
 * applied at once; one whose partition another worker owns now gets it on
 * <prefix>.events, for its owner.  The assigned partitions' committed
 * offsets go with the transaction (with the group metadata), so a zombie
 * cannot write these records.  0 when recorded, 1 when not yet (retried),
 * -1 on a fatal error.
 */
static int df__report_crashes(df_worker_t *w)
{
        rd_kafka_topic_partition_list_t *a = NULL;
        int i, j, r;

        if (rd_kafka_assignment(w->consumer, &a) != RD_KAFKA_RESP_ERR_NO_ERROR)
                return 1;
        if (!a->cnt) {
                rd_kafka_topic_partition_list_destroy(a);
                return 1;
        }
        if ((r = df__batch_begin(w)) != 0) {
                rd_kafka_topic_partition_list_destroy(a);
                return r;
        }
        for (i = 0; i < w->n_crashes && r == 0; i++) {
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
                if (mine ? df__task_apply(&w->task, &ev, c->partition, 1, NULL) == -1
                         : df__collector_event(&w->task.out, w->t.events, &ev, -1) != 0)
                        r = df__batch_abort(w);
        }
        if (r == 0 && rd_kafka_committed(w->consumer, a, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR)
                r = df__batch_abort(w);
        for (j = 0; r == 0 && j < a->cnt; j++) {
                int64_t lo = 0, hi = 0;
                if (a->elems[j].offset >= 0)
                        continue;
                if (df__watermarks(w->cl.probe, w->t.events, a->elems[j].partition, &lo, &hi))
                        r = df__batch_abort(w);
                a->elems[j].offset = lo; /* nothing committed yet: the start is what a reset reads */
        }
        if (r == 0)
                r = df__batch_commit(w, a);
        rd_kafka_topic_partition_list_destroy(a);
        if (r != 0)
                return r;
        df__log(DF__LOG_INFO, "worker %s: recorded %d crash(es) of the previous process", w->id, w->n_crashes);
        free(w->crashes);
        w->crashes = NULL;
        w->n_crashes = 0;
        return 0;
}

/* ---------------- rebalance and keepalive ---------------- */

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
        df__shift_msgs(w, w->n_msgs);
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
                df__task_carry_clear(&w->task);
                df__local_forget(w);
                __atomic_store_n(&w->lost, 0, __ATOMIC_SEQ_CST);
                w->paused = 0;
        } else if (w->paused) {
                df__pause_all(w, 0);
                w->paused = 0;
        }
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

/* ---------------- lifecycle ---------------- */

static void df__crashlog_load(df_worker_t *w)
{
        char e[512];
        int i;

        w->crashlog = df__crashlog_open(w->s.crashlog, 1, &w->crashes, &w->n_crashes, e, sizeof(e));
        if (!w->crashlog)
                df__log(DF__LOG_WARN, "worker %s: %s: deaths inside step bodies will not be counted", w->id, e);
        else if (!w->s.stable_id)
                df__log(DF__LOG_WARN, "worker %s: worker.id is not set: a restarted worker gets a new id, so it "
                                      "neither takes its partitions back at once (static membership) nor counts "
                                      "a death inside a step body (set a stable worker.id per instance)",
                        w->id);
        for (i = 0; i < w->n_crashes; i++)
                df__log(DF__LOG_WARN, "worker %s: the previous process died while processing execution %s "
                                      "(partition %d%s%s, attempt %d): reporting it",
                        w->id, w->crashes[i].execution_id, w->crashes[i].partition,
                        w->crashes[i].op_id[0] ? ", in the body of operation " : ", outside any step body",
                        w->crashes[i].op_id, w->crashes[i].attempt);
}

/* /readyz: every assigned partition restored, the store current, the
 * producer usable.  Runs on the metrics server's thread: reads atomics only. */
static int df__worker_ready(char *reason, size_t size, void *opaque)
{
        df_worker_t *w = opaque;
        int ready = 1;
        if (__atomic_load_n(&w->txn.fatal, __ATOMIC_RELAXED)) {
                snprintf(reason, size, "the transactional producer failed (%s)",
                         df_err_name(__atomic_load_n(&w->txn.fatal, __ATOMIC_RELAXED)));
                ready = 0;
        } else if (__atomic_load_n(&w->need_restore, __ATOMIC_RELAXED)) {
                snprintf(reason, size, "partitions not restored from the changelog yet");
                ready = 0;
        } else if (!__atomic_load_n(&w->n_assigned, __ATOMIC_RELAXED)) {
                snprintf(reason, size, "no partition assigned");
                ready = 0;
        }
        df__gauge_set(w->m_ready, ready);
        return ready;
}

/* /healthz: the store can be written (room on disk, no failed write). */
static int df__worker_live(char *reason, size_t size, void *opaque)
{
        df_worker_t *w = opaque;
        int live = __atomic_load_n(&w->stats.healthy, __ATOMIC_RELAXED);
        if (!live)
                snprintf(reason, size, "the state store cannot be written (disk space or I/O error)");
        df__gauge_set(w->m_healthy, live);
        return live;
}

static int df__worker_telemetry(df_worker_t *w, char *errstr, size_t errstr_size)
{
        df__metrics_t *m = df__telemetry_metrics();
        w->m_commit = df__metric_series(m, DF__M_COMMIT_DURATION, "worker");
        w->m_events = df__metric_series(m, DF__M_EVENTS_PROCESSED, "worker");
        w->m_batch = df__metric_series(m, DF__M_BATCH_SIZE, "worker");
        w->m_aborts = df__metric_series(m, DF__M_TRANSACTION_ABORTS, "worker");
        w->m_assigned = df__metric_series(m, DF__M_PARTITIONS_ASSIGNED, "worker");
        w->m_ready = df__metric_series(m, DF__M_READY, "worker");
        w->m_healthy = df__metric_series(m, DF__M_HEALTHY, "worker");
        w->m_free = df__metric_series(m, DF__M_STATE_FREE_BYTES, "worker");
        w->m_dlq_decode = df__metric_series(m, DF__M_DLQ_RECORDS, "worker", "decode");
        w->m_dlq_process = df__metric_series(m, DF__M_DLQ_RECORDS, "worker", "process");
        w->probe.component = "worker";
        w->probe.ready = df__worker_ready;
        w->probe.live = df__worker_live;
        w->probe.opaque = w;
        if (df__telemetry_join(&w->s, &w->probe, errstr, errstr_size))
                return -1;
        w->telemetry_joined = 1;
        return 0;
}

/* The group consumer of <prefix>.events. */
static rd_kafka_t *df__consumer_new(df_worker_t *w, const char *cid, char *errstr, size_t errstr_size)
{
        rd_kafka_conf_t *kc = df__group_consumer_conf(w->conf, &w->s, cid, w->s.worker_group, 0, errstr, errstr_size);
        char e[512], mpi[32];
        rd_kafka_t *rk;

        if (!kc)
                return NULL;
        snprintf(mpi, sizeof(mpi), "%lld", (long long)w->s.max_poll_interval_ms);
        if (df__kconf_set(kc, "max.poll.interval.ms", mpi, errstr, errstr_size) ||
            df__telemetry_kafka_stats(kc, &w->s, "worker", errstr, errstr_size) ||
            df__kconf_user(kc, w->conf, errstr, errstr_size)) {
                rd_kafka_conf_destroy(kc);
                return NULL;
        }
        rd_kafka_conf_set_rebalance_cb(kc, df__rebalance_cb);
        rd_kafka_conf_set_opaque(kc, w);
        rk = rd_kafka_new(RD_KAFKA_CONSUMER, kc, e, sizeof(e));
        if (!rk) {
                df__errf(errstr, errstr_size, "consumer: %s", e);
                rd_kafka_conf_destroy(kc);
                return NULL;
        }
        rd_kafka_poll_set_consumer(rk);
        return rk;
}

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

/* 1 when the store can take the batch (room on disk, caught up with the
 * changelog), 0 when the worker must wait (unhealthy), with *backoff_ms grown. */
static int df__store_ready(df_worker_t *w, int *backoff_ms)
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
static int df__consumer_replace(df_worker_t *w, const char *who)
{
        char cid[300], errstr[512];
        int64_t now = df__mono_ms();

        w->consumer_fatal = 0;
        if (now - w->consumer_window_ms > 60000) {
                w->consumer_window_ms = now;
                w->consumer_replacements = 0;
        }
        if (++w->consumer_replacements > 3) {
                df__log(DF__LOG_ERROR, "worker %s: the group consumer keeps failing fatally: stopping", w->id);
                return -1;
        }
        df__log(DF__LOG_WARN, "worker %s: recreating the group consumer", w->id);
        df__drop_msgs(w);
        df__engine_amo_reset(w->eng);
        df__batch_reset(w);
        df__task_carry_clear(&w->task);
        df__local_forget(w);
        __atomic_store_n(&w->n_assigned, 0, __ATOMIC_RELAXED);
        rd_kafka_destroy(w->consumer); /* no close: a fatally failed member cannot leave */
        snprintf(cid, sizeof(cid), "duraflow-worker-%s", w->id);
        for (;;) {
                w->consumer = df__consumer_new(w, cid, errstr, sizeof(errstr));
                if (w->consumer && df__subscribe(w->consumer, w->t.events, who) == DF_OK)
                        return 0;
                if (w->consumer)
                        rd_kafka_destroy(w->consumer);
                w->consumer = NULL;
                if (w->stop)
                        return -1;
                df__log(DF__LOG_WARN, "worker %s: consumer not ready: %s; retrying in 1 s", w->id, errstr);
                sleep(1);
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
                if ((!w->n_msgs && df__local_next(w) > df__now_ms()) || !df__store_ready(w, &backoff_ms))
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
