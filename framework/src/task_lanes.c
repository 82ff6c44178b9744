/*
 * task_lanes.c -- a batch's executions applied at once, on lanes (see
 * df__task_apply_batch in task.h).
 *
 * A batch holds the events of many executions.  Each execution's events
 * form a job, applied in their order by one thread (its steps follow each
 * other as its code says); different jobs run at the same time on "lanes":
 * the worker's thread plus idle threads of the engine's pool (worker.threads
 * - 1, shared with the branches of parallel / map), the way Temporal's
 * activity slots or one Lambda invocation per execution run steps side by
 * side.  A job writes only its own state (loaded before, on the worker's
 * thread) and its own record collector; the engine is safe for concurrent
 * replays of different executions.  Once every lane is back, the worker's
 * thread merges the jobs' records into the batch, in the order of each
 * job's first record, and applies the records that are not an execution's
 * event (dead letters, schedules) there too: what the batch produces does
 * not depend on thread timing.
 *
 * Crash isolation.  Each lane keeps its own crash breadcrumb slot
 * (crashlog.h).  When a process dies with several executions in flight,
 * none is charged an attempt (which one killed it is not known); each gets
 * a suspect crash event (its crash count goes up) and an execution with a
 * crash count runs alone (after the lanes, with nothing else in flight)
 * until it runs through, so a second death is attributed to it alone.
 *
 * Time budget: once the batch has run a third of transaction.timeout.ms
 * (or holds batch.max.bytes), no new job starts.  The batch then ends at
 * a cut: every record before it is applied (jobs already started hold all
 * of theirs; a job that has records before the cut is started even then,
 * limited to them), none after it, so the committed offsets stay a prefix.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"
#include "schedule.h"
#include "state.h"
#include "task_int.h"

typedef struct df__lanes df__lanes_t;

typedef struct df__job {
        df__lanes_t *L;
        df__exec_state_t *st;   /* the batch's state of the execution (in k->cache) */
        const char *exec_id;    /* its first event's */
        int part;
        int *recs, n_recs, cap_recs; /* its records (indexes into the batch), in order */
        int first, last;        /* recs[0], recs[n_recs - 1] */
        int limit;              /* apply only records before it */
        int done;               /* records applied (a prefix of recs) */
        int failed;             /* recs[done] failed inside the engine: reason */
        int load_failed;        /* its state could not be read (not a store I/O error) */
        int solo;               /* a crash suspect: runs with nothing else in flight */
        int started;
        int slot;               /* crash breadcrumb slot of the lane running it */
        int src;                /* the record being applied */
        int yielded;            /* a CONTINUE went out: it goes on in the next batch */
        int64_t end_ms;         /* > 0: it finished then (updated_ms), for the end-time index (store.h) */
        df__collector_t out;    /* its output records, state records included */
        df__local_timer_t *local; /* timers it armed to fire here */
        int n_local, cap_local;
        char reason[600];
} df__job_t;

typedef struct df__brec {
        df__event_t ev;
        int job;                /* its job, -1: applied on the worker's thread (df__task_apply_record) */
} df__brec_t;

struct df__lanes {
        df__task_t *k;
        rd_kafka_message_t **msgs;
        df__brec_t *recs;
        int n;
        df__job_t *jobs;
        int n_jobs;
        int *order;             /* jobs to run on lanes (not solo), by first record */
        int n_order, next;
        pthread_mutex_t mu;
        pthread_cond_t cv;
        int running, lane_ids;
        int started, tripped, cut, max_last;
        int64_t t0_ms, budget_ms;
        int poison_part;        /* the record to dead-letter ("processing failed twice"), -1: none */
        int64_t poison_off;
        size_t bytes;           /* records the jobs hold, bytes (atomic) */
};

/* ---------------- a job's engine outputs ---------------- */

static void df__job_count(df__job_t *j, size_t before)
{
        if (j->out.bytes >= before)
                __atomic_add_fetch(&j->L->bytes, j->out.bytes - before, __ATOMIC_RELAXED);
        else
                __atomic_sub_fetch(&j->L->bytes, before - j->out.bytes, __ATOMIC_RELAXED);
}

static int df__job_timer(void *opaque, const df__timer_rec_t *t)
{
        df__job_t *j = opaque;
        df__task_t *k = j->L->k;
        size_t before = j->out.bytes;
        int rc;
        if (df__local_due_here(k, j->part, t) && df__local_push(&j->local, &j->n_local, &j->cap_local, t, j->part) == 0) {
                df__timer_rec_t backstop = *t;
                backstop.due_ms = t->due_ms + k->local_grace_ms;
                rc = df__collector_timer(&j->out, k->t->timers, &backstop, j->src);
        } else {
                rc = df__collector_timer(&j->out, k->t->timers, t, j->src);
        }
        df__job_count(j, before);
        return rc;
}

static int df__job_cancel_timer(void *opaque, const char *timer_id)
{
        df__job_t *j = opaque;
        size_t before = j->out.bytes;
        int rc = df__collector_add(&j->out, j->L->k->t->timers, RD_KAFKA_PARTITION_UA, timer_id, strlen(timer_id), NULL,
                                   j->src);
        df__job_count(j, before);
        return rc;
}

static int df__job_event(void *opaque, const df__event_t *ev)
{
        df__job_t *j = opaque;
        size_t before = j->out.bytes;
        int rc;
        if (ev->type == DF__EV_CONTINUE && !strcmp(ev->execution_id, j->exec_id))
                j->yielded = 1;
        rc = df__collector_event(&j->out, j->L->k->t->events, ev, j->src);
        df__job_count(j, before);
        return rc;
}

static int df__job_result(void *opaque, const df__result_rec_t *r)
{
        df__job_t *j = opaque;
        size_t before = j->out.bytes;
        int rc = df__collector_result(&j->out, j->L->k->t->results, r, j->src);
        df__job_count(j, before);
        return rc;
}

static int df__job_step_begin(void *opaque, const char *execution_id, const char *op_id, int attempt)
{
        df__job_t *j = opaque;
        (void)execution_id;
        df__crashlog_step(j->L->k->crashlog, j->slot, op_id, attempt);
        return 0;
}

static void df__job_step_end(void *opaque)
{
        df__job_t *j = opaque;
        df__crashlog_step(j->L->k->crashlog, j->slot, NULL, 0);
}

static int df__job_over_budget(void *opaque, size_t pending)
{
        df__job_t *j = opaque;
        df__task_t *k = j->L->k;
        return k->out.bytes + __atomic_load_n(&j->L->bytes, __ATOMIC_RELAXED) + pending >= k->batch_max_bytes;
}

/* A span the job's replay ended: kept with its records (moved with them at
 * the merge), exported after the batch's commit. */
static int df__job_span(void *opaque, df__span_t *span)
{
        df__job_t *j = opaque;
        return df__collector_span(&j->out, span, j->src);
}

/* A changelog record of the job: kept in its collector; the merge stages it
 * in the store's write batch too. */
static int df__job_put(void *opaque, const char *key, const df__buf_t *val)
{
        df__job_t *j = opaque;
        size_t before = j->out.bytes;
        int rc = df__collector_add(&j->out, j->L->k->t->state, j->part, key, strlen(key), val, j->src);
        df__job_count(j, before);
        return rc;
}

/* ---------------- running jobs ---------------- */

static void df__job_run(df__job_t *j)
{
        df__lanes_t *L = j->L;
        df__task_t *k = L->k;
        df__engine_out_t out = {.timer = df__job_timer,
                                .event = df__job_event,
                                .result = df__job_result,
                                .opaque = j,
                                .cancel_timer = df__job_cancel_timer,
                                .step_begin = df__job_step_begin,
                                .step_end = df__job_step_end,
                                .over_budget = df__job_over_budget,
                                .span = df__job_span};
        int i;

        for (i = 0; i < j->n_recs && j->recs[i] < j->limit; i++) {
                const df__event_t *ev = &L->recs[j->recs[i]].ev;
                char errstr[512] = "";
                int mark = j->out.n;
                size_t before = j->out.bytes;

                j->src = j->recs[i];
                df__crashlog_enter(k->crashlog, j->slot, j->exec_id, j->part);
                int ok = df__engine_apply(k->eng, j->st, ev, &out, 0) == 0;
                int ended = ok && j->st->exists && j->st->exec_dirty && df__exec_status_terminal(j->st->exec.status);
                if (ok && df__state_flush_dirty(j->st, df__job_put, j, errstr, sizeof(errstr)) == 0) {
                        if (ended)
                                j->end_ms = j->st->exec.updated_ms;
                        df__crashlog_leave(k->crashlog, j->slot);
                        j->done++;
                        __atomic_add_fetch(&k->events, 1, __ATOMIC_RELAXED);
                        continue;
                }
                df__crashlog_leave(k->crashlog, j->slot);
                snprintf(j->reason, sizeof(j->reason), "%s", errstr[0] ? errstr : "internal error in the replay engine");
                before = j->out.bytes;
                df__collector_truncate(&j->out, mark);
                df__job_count(j, before);
                j->failed = 1;
                break;
        }
}

/* Under L->mu: the time or byte budget is used up; no new job starts. */
static void df__lanes_check_budget(df__lanes_t *L)
{
        df__task_t *k = L->k;
        if (L->tripped || !L->started)
                return;
        if (df__mono_ms() - L->t0_ms <= L->budget_ms &&
            k->out.bytes + __atomic_load_n(&L->bytes, __ATOMIC_RELAXED) < k->batch_max_bytes)
                return;
        L->tripped = 1;
        L->cut = L->max_last + 1;
}

/* Under L->mu: start job j, or 0 when it may not start (after the cut). */
static int df__lanes_start(df__lanes_t *L, df__job_t *j)
{
        df__lanes_check_budget(L);
        if (L->tripped && j->first >= L->cut)
                return 0;
        j->limit = L->tripped ? L->cut : L->n;
        if (!L->tripped && j->last > L->max_last)
                L->max_last = j->last;
        j->started = 1;
        L->started++;
        return 1;
}

/* A lane: takes the next job in order until none is left.  Runs on a pool
 * thread or on the worker's. */
static void df__lane(void *arg)
{
        df__lanes_t *L = arg;
        int slot;

        pthread_mutex_lock(&L->mu);
        slot = L->lane_ids++;
        for (;;) {
                df__job_t *j = NULL;
                while (L->next < L->n_order) {
                        df__job_t *c = &L->jobs[L->order[L->next++]];
                        if (df__lanes_start(L, c)) {
                                j = c;
                                break;
                        }
                }
                if (!j)
                        break;
                j->slot = slot;
                pthread_mutex_unlock(&L->mu);
                df__job_run(j);
                pthread_mutex_lock(&L->mu);
        }
        L->running--;
        pthread_cond_broadcast(&L->cv);
        pthread_mutex_unlock(&L->mu);
}

/* Run the jobs that are not suspects on up to worker.threads lanes, then
 * the suspects one at a time on this thread, with nothing else in flight. */
static void df__lanes_run(df__lanes_t *L)
{
        df__task_t *k = L->k;
        struct df__pool *pool = NULL;
        int lanes, i, threads = df__engine_threads(k->eng);

        lanes = threads < L->n_order ? threads : L->n_order;
        if (lanes > 1)
                pool = df__engine_pool(k->eng);
        pthread_mutex_lock(&L->mu);
        L->running = 1;
        L->lane_ids = 0;
        pthread_mutex_unlock(&L->mu);
        /* each lane takes a slot of its own (lane_ids); lanes <= worker.threads = the slots */
        for (i = 1; i < lanes && pool; i++) {
                pthread_mutex_lock(&L->mu);
                L->running++;
                pthread_mutex_unlock(&L->mu);
                if (df__pool_try_run(pool, df__lane, L)) {
                        pthread_mutex_lock(&L->mu);
                        L->running--;
                        pthread_mutex_unlock(&L->mu);
                        break;
                }
        }
        df__lane(L);
        pthread_mutex_lock(&L->mu);
        while (L->running > 0)
                pthread_cond_wait(&L->cv, &L->mu);
        pthread_mutex_unlock(&L->mu);
        /* the suspects, alone */
        for (i = 0; i < L->n_jobs; i++) {
                df__job_t *j = &L->jobs[i];
                int go;
                if (!j->solo || j->load_failed)
                        continue;
                pthread_mutex_lock(&L->mu);
                go = df__lanes_start(L, j);
                pthread_mutex_unlock(&L->mu);
                if (!go)
                        continue;
                j->slot = 0;
                df__job_run(j);
        }
}

/* ---------------- before and after the lanes ---------------- */

/* Decode the records; an execution's events join its job. 0 or -1 (ENOMEM). */
static int df__lanes_group(df__lanes_t *L)
{
        df__map_t *idx = df__map_new();
        int i, err;
        if (!idx)
                return -1;
        for (i = 0; i < L->n; i++) {
                const rd_kafka_message_t *m = L->msgs[i];
                df__brec_t *r = &L->recs[i];
                df__job_t *j;
                intptr_t ji;
                char errstr[256];

                r->job = -1;
                if (!m->payload || !m->len || (m->partition == L->poison_part && m->offset == L->poison_off) ||
                    df__event_decode(m->payload, m->len, &r->ev, errstr, sizeof(errstr)))
                        continue;
                if (!df__execution_id_valid(r->ev.execution_id) || m->key_len != strlen(r->ev.execution_id) ||
                    memcmp(m->key, r->ev.execution_id, m->key_len) || df__schedule_key(r->ev.execution_id))
                        continue;
                df__kafka_traceparent(m, r->ev.traceparent); /* the record's header (engine_trace.h) */
                ji = (intptr_t)df__map_get(idx, r->ev.execution_id);
                if (!ji) {
                        j = &L->jobs[L->n_jobs];
                        memset(j, 0, sizeof(*j));
                        j->L = L;
                        j->exec_id = r->ev.execution_id;
                        j->part = m->partition;
                        j->first = i;
                        ji = ++L->n_jobs;
                        df__map_put(idx, r->ev.execution_id, (void *)ji, &err);
                        if (err)
                                goto fail;
                }
                j = &L->jobs[ji - 1];
                if (j->part != m->partition)
                        continue; /* the same id on two partitions: not an event of this job's store */
                if (j->n_recs == j->cap_recs) {
                        int cap = j->cap_recs ? j->cap_recs * 2 : 4;
                        int *a = realloc(j->recs, (size_t)cap * sizeof(*a));
                        if (!a)
                                goto fail;
                        j->recs = a;
                        j->cap_recs = cap;
                }
                j->recs[j->n_recs++] = i;
                j->last = i;
                r->job = (int)(ji - 1);
        }
        df__map_destroy(idx, NULL);
        return 0;
fail:
        df__map_destroy(idx, NULL);
        return -1;
}

/* Load each job's state (on this thread: the store handle is the worker's).
 * 0, or -1 on a store I/O error (the batch aborts). */
static int df__lanes_load(df__lanes_t *L)
{
        df__task_t *k = L->k;
        int i, perr;
        for (i = 0; i < L->n_jobs; i++) {
                df__job_t *j = &L->jobs[i];
                df__pstate_t ps = {k, j->part};
                char errstr[512] = "";
                k->store_err = 0;
                j->st = df__task_load(k, &ps, j->exec_id, errstr, sizeof(errstr));
                if (!j->st) {
                        if (k->store_err)
                                return -1;
                        j->load_failed = 1; /* applied one by one after the lanes: dead-lettered there */
                        continue;
                }
                df__map_put(k->exec_part, j->exec_id, (void *)(intptr_t)(j->part + 1), &perr);
                /* a worker died while processing it: it runs alone until it runs through */
                j->solo = j->st->exists && j->st->exec.crash_count > 0;
                if (!j->solo)
                        L->order[L->n_order++] = i;
        }
        return 0; /* jobs were made in the order of their first records */
}

/* Stage a job's state records in the store's write batch and move its
 * records into the batch's.  0 or -1. */
static int df__lanes_merge_job(df__lanes_t *L, df__job_t *j)
{
        df__task_t *k = L->k;
        int i, err;
        for (i = 0; i < j->out.n; i++) {
                const df__out_t *o = &j->out.outs[i];
                char key[512];
                size_t kl;
                if (o->topic != k->t->state)
                        continue;
                kl = df__store_pkey(key, sizeof(key), o->part, o->key, o->klen);
                if (o->val)
                        rocksdb_writebatch_put(k->wb, key, kl, o->val, o->vlen);
                else
                        rocksdb_writebatch_delete(k->wb, key, kl);
        }
        if (j->end_ms > 0)
                df__store_wb_rkey(k->wb, j->part, j->end_ms, j->exec_id, strlen(j->exec_id));
        if (df__collector_move(&k->out, &j->out))
                return -1;
        for (i = 0; i < j->n_local; i++) {
                df__timer_rec_t t;
                memset(&t, 0, sizeof(t));
                t.timer_id = j->local[i].timer_id;
                t.due_ms = j->local[i].due_ms;
                t.payload = j->local[i].payload;
                if (df__local_push(&k->local, &k->n_local, &k->cap_local, &t, j->local[i].part))
                        return -1;
        }
        if (j->yielded)
                df__map_put(k->yielded, j->exec_id, (void *)1, &err);
        return 0;
}

/* After the lanes, in the batch's order: the records before the cut. */
static int df__lanes_merge(df__lanes_t *L, int cut)
{
        df__task_t *k = L->k;
        int i, n;
        for (i = 0; i < cut; i++) {
                df__brec_t *r = &L->recs[i];
                df__job_t *j = r->job >= 0 ? &L->jobs[r->job] : NULL;
                if (!j || j->load_failed) {
                        /* not an execution's event (a dead letter, a schedule), or its
                         * state cannot be read: one by one, as without lanes */
                        const rd_kafka_message_t *m = L->msgs[i];
                        if (df__task_apply_record(k, m, i, m->partition == L->poison_part && m->offset == L->poison_off))
                                return -1;
                        continue;
                }
                if (i != j->first)
                        continue; /* merged with its job's first record */
                if (df__lanes_merge_job(L, j))
                        return -1;
                if (!j->failed)
                        continue;
                /* its event recs[done] failed in the engine: park it, as without lanes */
                n = j->done;
                {
                        const rd_kafka_message_t *m = L->msgs[j->recs[n]];
                        df__buf_t raw = {.data = m->payload, .len = m->len};
                        char *err = NULL;
                        int rc;
                        k->src = j->recs[n];
                        rocksdb_writebatch_set_save_point(k->wb);
                        rc = df__task_park(k, &L->recs[j->recs[n]].ev, j->part, &raw, j->reason, k->out.n);
                        rocksdb_writebatch_pop_save_point(k->wb, &err);
                        free(err);
                        if (rc == -1 || (rc == -2 && df__task_state_dead_letter(k, m, &L->recs[j->recs[n]].ev)))
                                return -1;
                }
                /* the execution's later events of the batch, one by one */
                for (n = j->done + 1; n < j->n_recs && j->recs[n] < cut; n++)
                        if (df__task_apply_record(k, L->msgs[j->recs[n]], j->recs[n], 0))
                                return -1;
        }
        return 0;
}

static void df__lanes_free(df__lanes_t *L)
{
        int i, l;
        for (i = 0; i < L->n_jobs; i++) {
                df__job_t *j = &L->jobs[i];
                free(j->recs);
                df__collector_destroy(&j->out);
                for (l = 0; l < j->n_local; l++)
                        df__local_timer_clear(&j->local[l]);
                free(j->local);
        }
        for (i = 0; i < L->n; i++)
                df__event_clear(&L->recs[i].ev);
        free(L->recs);
        free(L->jobs);
        free(L->order);
        pthread_mutex_destroy(&L->mu);
        pthread_cond_destroy(&L->cv);
}

int df__task_apply_batch(df__task_t *k, rd_kafka_message_t **msgs, int n, int poison_part, int64_t poison_off,
                         int64_t t0_ms, int64_t budget_ms)
{
        df__lanes_t L;
        int cut = -1;

        if (n <= 0)
                return 0;
        memset(&L, 0, sizeof(L));
        L.k = k;
        L.msgs = msgs;
        L.n = n;
        L.t0_ms = t0_ms;
        L.budget_ms = budget_ms;
        L.max_last = -1;
        L.poison_part = poison_part;
        L.poison_off = poison_off;
        pthread_mutex_init(&L.mu, NULL);
        pthread_cond_init(&L.cv, NULL);
        L.recs = calloc((size_t)n, sizeof(*L.recs));
        L.jobs = calloc((size_t)n, sizeof(*L.jobs));
        L.order = calloc((size_t)n, sizeof(*L.order));
        if (!L.recs || !L.jobs || !L.order || df__lanes_group(&L) ||
            df__lanes_load(&L))
                goto out;
        df__lanes_run(&L);
        cut = L.tripped ? L.cut : n;
        if (cut < 1)
                cut = 1;
        if (df__lanes_merge(&L, cut))
                cut = -1;
out:
        df__lanes_free(&L);
        return cut;
}
