/*
 * task.c -- applying a batch's events to the replay engine (see task.h).
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schedule.h"
#include "state.h"
#include "task_int.h"

static void df__local_clear(df__task_t *k);

/* A batch that moved this many bytes of state gives memory back (malloc_trim). */
#define DF__TRIM_AFTER_BYTES (8u << 20)

static void df__task_buf_free(void *p)
{
        df__buf_t *b = p;
        if (b) {
                free(b->data);
                free(b);
        }
}

int df__task_init(df__task_t *k, df__engine_t *eng, df__store_t *store, const df__topics_t *t,
                  df__crashlog_t *crashlog, size_t batch_max_bytes)
{
        memset(k, 0, sizeof(*k));
        k->eng = eng;
        k->store = store;
        k->t = t;
        k->crashlog = crashlog;
        k->batch_max_bytes = batch_max_bytes;
        k->src = -1;
        k->cur_part = -1;
        k->wb = rocksdb_writebatch_create();
        k->cache = df__map_new();
        k->yielded = df__map_new();
        k->carry = df__map_new();
        k->exec_part = df__map_new();
        k->sched_recs = df__map_new();
        return k->wb && k->cache && k->yielded && k->carry && k->exec_part && k->sched_recs ? 0 : -1;
}

void df__task_destroy(df__task_t *k)
{
        df__map_destroy(k->cache, df__exec_state_free);
        df__map_destroy(k->yielded, NULL);
        df__map_destroy(k->carry, df__exec_state_free);
        df__map_destroy(k->exec_part, NULL);
        df__map_destroy(k->sched_recs, df__task_buf_free);
        if (k->wb)
                rocksdb_writebatch_destroy(k->wb);
        df__collector_destroy(&k->out);
        df__local_clear(k);
        free(k->local);
        memset(k, 0, sizeof(*k));
}

/* ---------------- the state handle of one partition ---------------- */

int df__ps_get(void *opaque, const char *key, df__buf_t *val, int *found)
{
        df__pstate_t *ps = opaque;
        char k[512];
        size_t kl = df__store_pkey(k, sizeof(k), ps->part, key, strlen(key));
        if (df__store_get(ps->k->store, k, kl, val, found)) {
                ps->k->store_err = 1;
                return -1;
        }
        if (*found)
                ps->k->loaded_bytes += val->len;
        return 0;
}

/* A changelog record for the batch's transaction (to the partition of the
 * events it came from), staged for the store too; val NULL: a deletion (a
 * tombstone). */
int df__ps_put(void *opaque, const char *key, const df__buf_t *val)
{
        df__pstate_t *ps = opaque;
        char k[512];
        size_t kl;
        if (df__collector_add(&ps->k->out, ps->k->t->state, ps->part, key, strlen(key), val, ps->k->src))
                return -1;
        kl = df__store_pkey(k, sizeof(k), ps->part, key, strlen(key));
        if (val)
                rocksdb_writebatch_put(ps->k->wb, k, kl, (const char *)val->data, val->len);
        else
                rocksdb_writebatch_delete(ps->k->wb, k, kl);
        return 0;
}

/* ---------------- engine outputs ---------------- */

void df__local_timer_clear(df__local_timer_t *t)
{
        free(t->timer_id);
        free(t->payload.data);
        memset(t, 0, sizeof(*t));
}

static void df__local_clear(df__task_t *k)
{
        int i;
        for (i = 0; i < k->n_local; i++)
                df__local_timer_clear(&k->local[i]);
        k->n_local = 0;
}

int df__task_take_local(df__task_t *k, df__local_timer_t **out)
{
        int n = k->n_local;
        *out = k->local;
        k->local = NULL;
        k->n_local = k->cap_local = 0;
        return n;
}

/*
 * A timer due soon for an execution of this worker's partition: kept to be
 * fired here when due (once the batch that armed it is committed), and
 * recorded on <prefix>.timers due timer.local.grace.ms later, so that the
 * timer service fires it only if this worker did not (a crash, a
 * rebalance).  A fire after the worker's is a no-op, as a stale timer is.
 */
int df__local_push(df__local_timer_t **arr, int *n, int *cap, const df__timer_rec_t *t, int part)
{
        df__local_timer_t *l;
        if (*n == *cap) {
                int c = *cap ? *cap * 2 : 16;
                df__local_timer_t *a = realloc(*arr, (size_t)c * sizeof(*a));
                if (!a)
                        return -1;
                *arr = a;
                *cap = c;
        }
        l = &(*arr)[*n];
        memset(l, 0, sizeof(*l));
        l->timer_id = strdup(t->timer_id);
        l->due_ms = t->due_ms;
        l->part = part;
        if (!l->timer_id || df__buf_set(&l->payload, t->payload.data, t->payload.len)) {
                df__local_timer_clear(l);
                return -1;
        }
        (*n)++;
        return 0;
}

int df__local_due_here(const df__task_t *k, int part, const df__timer_rec_t *t)
{
        return k->local_max_ms > 0 && part >= 0 && t->topic && !strcmp(t->topic, k->t->events) &&
               t->due_ms - df__now_ms() <= k->local_max_ms;
}

static int df__out_timer(void *opaque, const df__timer_rec_t *t)
{
        df__task_t *k = opaque;
        if (df__local_due_here(k, k->cur_part, t) &&
            df__local_push(&k->local, &k->n_local, &k->cap_local, t, k->cur_part) == 0) {
                df__timer_rec_t backstop = *t;
                backstop.due_ms = t->due_ms + k->local_grace_ms;
                return df__collector_timer(&k->out, k->t->timers, &backstop, k->src);
        }
        return df__collector_timer(&k->out, k->t->timers, t, k->src);
}

/* A timer no longer needed: a tombstone on <prefix>.timers (same key, so
 * the same partition as the timer record). */
static int df__out_cancel_timer(void *opaque, const char *timer_id)
{
        df__task_t *k = opaque;
        return df__collector_add(&k->out, k->t->timers, RD_KAFKA_PARTITION_UA, timer_id, strlen(timer_id), NULL,
                                 k->src);
}

static int df__out_event(void *opaque, const df__event_t *ev)
{
        df__task_t *k = opaque;
        int err;
        if (ev->type == DF__EV_CONTINUE)
                df__map_put(k->yielded, ev->execution_id, (void *)1, &err);
        return df__collector_event(&k->out, k->t->events, ev, k->src);
}

static int df__out_result(void *opaque, const df__result_rec_t *r)
{
        df__task_t *k = opaque;
        return df__collector_result(&k->out, k->t->results, r, k->src);
}

static int df__out_step_begin(void *opaque, const char *execution_id, const char *op_id, int attempt)
{
        df__task_t *k = opaque;
        (void)execution_id;
        df__crashlog_step(k->crashlog, 0, op_id, attempt);
        return 0;
}

static void df__out_step_end(void *opaque)
{
        df__task_t *k = opaque;
        df__crashlog_step(k->crashlog, 0, NULL, 0);
}

static int df__out_over_budget(void *opaque, size_t pending)
{
        df__task_t *k = opaque;
        return k->out.bytes + pending >= k->batch_max_bytes;
}

/* A span the replay ended: kept with the batch's records, exported after the commit. */
static int df__out_span(void *opaque, df__span_t *span)
{
        df__task_t *k = opaque;
        return df__collector_span(&k->out, span, k->src);
}

static df__engine_out_t df__engine_out(df__task_t *k)
{
        df__engine_out_t out = {.timer = df__out_timer,
                                .event = df__out_event,
                                .result = df__out_result,
                                .opaque = k,
                                .cancel_timer = df__out_cancel_timer,
                                .step_begin = df__out_step_begin,
                                .step_end = df__out_step_end,
                                .over_budget = df__out_over_budget,
                                .span = df__out_span};
        return out;
}

/* ---------------- processing ---------------- */

void df__task_carry_clear(df__task_t *k)
{
        df__map_clear(k->carry, df__exec_state_free);
}

df__exec_state_t *df__task_load(df__task_t *k, df__pstate_t *ps, const char *exec_id, char *errstr,
                                       size_t errstr_size)
{
        df__exec_state_t *st = df__map_get(k->cache, exec_id);
        int err;
        if (st)
                return st;
        /* an execution that yielded in the last batch: its committed state
         * is still in memory (no second read of a long history) */
        st = df__map_del(k->carry, exec_id);
        if (st) {
                df__map_put(k->cache, exec_id, st, &err);
                if (!err)
                        return st;
                df__exec_state_free(st);
        }
        st = df__exec_state_new();
        if (!st)
                return NULL;
        if (df__state_load(st, exec_id, df__ps_get, ps, errstr, errstr_size)) {
                df__exec_state_free(st);
                return NULL;
        }
        df__map_put(k->cache, exec_id, st, &err);
        if (err) {
                df__exec_state_free(st);
                return NULL;
        }
        return st;
}

/* Undo what the batch holds of one execution: its output records from
 * mark on, its store changes since the save point, its state. */
void df__task_undo(df__task_t *k, int mark, const char *exec_id)
{
        char *err = NULL;
        df__collector_truncate(&k->out, mark);
        rocksdb_writebatch_rollback_to_save_point(k->wb, &err);
        free(err);
        rocksdb_writebatch_set_save_point(k->wb);
        df__engine_amo_forget(k->eng, exec_id);
        df__exec_state_free(df__map_del(k->cache, exec_id));
}

/* ---------------- schedules (schedule.c) ---------------- */

/* A schedule's record: as this batch last wrote it, else the store's. */
static int df__sched_get(void *opaque, const char *key, df__buf_t *val, int *found)
{
        df__pstate_t *ps = opaque;
        df__buf_t *b = df__map_get(ps->k->sched_recs, key);
        if (!b)
                return df__ps_get(opaque, key, val, found);
        *found = b->data != NULL;
        return *found ? df__buf_set(val, b->data, b->len) : 0;
}

static int df__sched_put(void *opaque, const char *key, const df__buf_t *val)
{
        df__pstate_t *ps = opaque;
        df__buf_t *b = calloc(1, sizeof(*b));
        int err;
        if (!b || (val && df__buf_set(b, val->data, val->len)) || df__ps_put(opaque, key, val)) {
                df__task_buf_free(b);
                return -1;
        }
        df__task_buf_free(df__map_put(ps->k->sched_recs, key, b, &err));
        if (err) {
                df__task_buf_free(b);
                return -1;
        }
        return 0;
}

/* An event of a schedule: applied alone; when it fails its changes are
 * undone (-2: dead-lettered; -1: a store read error, the batch aborts). */
static int df__task_apply_schedule(df__task_t *k, const df__event_t *ev, int part)
{
        df__engine_out_t out = df__engine_out(k);
        df__pstate_t ps = {k, part};
        df__sched_state_t s;
        char errstr[512] = "", *err = NULL;
        int mark = k->out.n, ret = 0;

        k->store_err = 0;
        /* a schedule's timers always go through the timer service, never
         * fired here (timer.local.max.ms): the local fire's backstop comes
         * timer.local.grace.ms late, so a worker crash would make a fire of a
         * schedule with a shorter period a catch-up (schedule.c) */
        k->cur_part = -1;
        rocksdb_writebatch_set_save_point(k->wb);
        if (df__sched_state_load(&s, ev->execution_id, df__sched_get, &ps, errstr, sizeof(errstr)) ||
            df__schedule_apply(k->eng, &s, ev, &out) ||
            df__sched_state_flush(&s, ev->execution_id, df__sched_put, &ps, errstr, sizeof(errstr))) {
                df__log(DF__LOG_ERROR, "%s: event type %d not applied: %s", ev->execution_id, ev->type,
                        errstr[0] ? errstr : "internal error");
                df__collector_truncate(&k->out, mark);
                rocksdb_writebatch_rollback_to_save_point(k->wb, &err);
                free(err);
                err = NULL;
                rocksdb_writebatch_set_save_point(k->wb);
                ret = k->store_err ? -1 : -2;
        } else {
                __atomic_add_fetch(&k->events, 1, __ATOMIC_RELAXED);
        }
        rocksdb_writebatch_pop_save_point(k->wb, &err);
        free(err);
        df__sched_state_clear(&s);
        return ret;
}

/* This execution alone failed: undo its changes in the batch (its records
 * from mark on; the caller set the store's save point) and park it, so that
 * its content never costs the others theirs.  0, -2 (not even parked: the
 * caller dead-letters the event), -1 (a store read error: abort). */
int df__task_park(df__task_t *k, const df__event_t *ev, int part, const df__buf_t *raw, const char *reason, int mark)
{
        df__engine_out_t out = df__engine_out(k);
        df__pstate_t ps = {k, part};
        df__exec_state_t *st;
        char errstr[512] = "";

        k->store_err = 0;
        k->cur_part = part;
        df__task_undo(k, mark, ev->execution_id);
        st = df__task_load(k, &ps, ev->execution_id, errstr, sizeof(errstr));
        if (!st || df__engine_quarantine(k->eng, st, ev, raw, reason, &out) ||
            df__state_flush_dirty(st, df__ps_put, &ps, errstr, sizeof(errstr))) {
                df__task_undo(k, mark, ev->execution_id);
                return k->store_err ? -1 : -2;
        }
        __atomic_add_fetch(&k->events, 1, __ATOMIC_RELAXED);
        return 0;
}

int df__task_apply(df__task_t *k, const df__event_t *ev, int part, int committed, const df__buf_t *raw)
{
        df__engine_out_t out = df__engine_out(k);
        df__pstate_t ps = {k, part};
        df__exec_state_t *st;
        char errstr[512] = "", reason[600];
        char *err = NULL;
        int mark = k->out.n, perr, ret = 0;

        if (df__schedule_key(ev->execution_id))
                return df__task_apply_schedule(k, ev, part);
        k->store_err = 0;
        k->cur_part = part;
        rocksdb_writebatch_set_save_point(k->wb);
        df__crashlog_enter(k->crashlog, 0, ev->execution_id, part);
        st = df__task_load(k, &ps, ev->execution_id, errstr, sizeof(errstr));
        if (!st) {
                df__log(DF__LOG_ERROR, "execution %s: cannot load state: %s", ev->execution_id, errstr);
                ret = k->store_err ? -1 : -2;
                goto out;
        }
        df__map_put(k->exec_part, ev->execution_id, (void *)(intptr_t)(part + 1), &perr);
        if (df__engine_apply(k->eng, st, ev, &out, committed) == 0) {
                int ended = st->exists && st->exec_dirty && df__exec_status_terminal(st->exec.status);
                if (df__state_flush_dirty(st, df__ps_put, &ps, errstr, sizeof(errstr)) == 0) {
                        /* its entry in the end-time index, for retention.ms (store.h) */
                        if (ended)
                                df__store_wb_rkey(k->wb, part, st->exec.updated_ms, st->exec.execution_id,
                                                  strlen(st->exec.execution_id));
                        __atomic_add_fetch(&k->events, 1, __ATOMIC_RELAXED);
                        goto out;
                }
        }
        snprintf(reason, sizeof(reason), "%s", errstr[0] ? errstr : "internal error in the replay engine");
        ret = df__task_park(k, ev, part, raw, reason, mark);
out:
        df__crashlog_leave(k->crashlog, 0);
        rocksdb_writebatch_pop_save_point(k->wb, &err);
        free(err);
        return ret;
}

/* A reply to a request whose event could not be processed at all. */
static int df__reply_rejected(df__task_t *k, const df__event_t *ev, const char *why)
{
        df__result_rec_t r;
        char *msg;
        int rc;

        if (!ev || !ev->request_id || !*ev->request_id)
                return 0;
        msg = df__asprintf("rejected (dead-lettered to %s): %s", k->t->dlq, why);
        memset(&r, 0, sizeof(r));
        r.kind = DF__RK_REPLY;
        r.execution_id = ev->execution_id;
        r.request_id = ev->request_id;
        r.code = DF_ERR_REJECTED;
        r.error = msg ? msg : (char *)why;
        r.ts_ms = df__now_ms();
        rc = df__collector_result(&k->out, k->t->results, &r, k->src);
        free(msg);
        return rc;
}

/* process: a decodable event whose processing failed; decode: the rest */
static int df__task_dead_letter(df__task_t *k, const rd_kafka_message_t *m, const char *error, int process)
{
        __atomic_add_fetch(&k->dlq, 1, __ATOMIC_RELAXED);
        if (process)
                k->batch_dlq_process++;
        else
                k->batch_dlq_decode++;
        return df__collector_dead_letter(&k->out, k->t->dlq, m, error, k->src);
}

int df__task_apply_record(df__task_t *k, const rd_kafka_message_t *m, int src, int poison)
{
        df__event_t ev;
        df__buf_t raw;
        char errstr[512];
        int rc;

        k->src = src;
        memset(&ev, 0, sizeof(ev));
        if (!m->payload || !m->len)
                return df__task_dead_letter(k, m, "empty value", 0);
        if (df__event_decode(m->payload, m->len, &ev, errstr, sizeof(errstr)))
                return df__task_dead_letter(k, m, errstr, 0);
        if (!df__execution_id_valid(ev.execution_id)) {
                df__event_clear(&ev);
                return df__task_dead_letter(k, m, "invalid execution id (1..200 chars of A-Za-z0-9._:@-)", 0);
        }
        if (m->key_len != strlen(ev.execution_id) || memcmp(m->key, ev.execution_id, m->key_len)) {
                df__event_clear(&ev);
                return df__task_dead_letter(k, m, "record key differs from the event's execution id", 0);
        }
        df__kafka_traceparent(m, ev.traceparent);
        if (poison) {
                rc = df__task_dead_letter(k, m, "processing failed twice (internal error); see the worker log", 1);
                if (!rc)
                        rc = df__reply_rejected(k, &ev, "processing failed twice (internal error)");
                df__event_clear(&ev);
                return rc;
        }
        raw.data = m->payload;
        raw.len = m->len;
        rc = df__task_apply(k, &ev, m->partition, 0, &raw);
        if (rc == -2)
                rc = df__task_state_dead_letter(k, m, &ev);
        df__event_clear(&ev);
        return rc;
}

int df__task_state_dead_letter(df__task_t *k, const rd_kafka_message_t *m, const df__event_t *ev)
{
        char errstr[512];
        int rc;
        snprintf(errstr, sizeof(errstr), "the state of execution %s cannot be read or recorded; see the worker log",
                 ev->execution_id);
        rc = df__task_dead_letter(k, m, errstr, 1);
        if (!rc)
                rc = df__reply_rejected(k, ev, errstr);
        return rc;
}

int df__task_partition_of(df__task_t *k, const char *execution_id)
{
        return (int)(intptr_t)df__map_get(k->exec_part, execution_id) - 1;
}

void df__task_reset(df__task_t *k)
{
        df__map_clear(k->cache, df__exec_state_free);
        df__map_clear(k->exec_part, NULL);
        df__map_clear(k->yielded, NULL);
        df__map_clear(k->sched_recs, df__task_buf_free);
        rocksdb_writebatch_clear(k->wb);
        df__collector_clear(&k->out);
        k->src = -1;
        k->cur_part = -1;
        k->batch_dlq_decode = k->batch_dlq_process = 0;
        df__local_clear(k);
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
        df__task_t *k = opaque;
        df__exec_state_t *st = df__map_del(k->cache, exec_id);
        int err;
        (void)val;
        if (!st)
                return;
        df__map_put(k->carry, exec_id, st, &err);
        if (err)
                df__exec_state_free(st);
}

/* Most bytes of committed state kept from one batch for the next (below). */
#define DF__CARRY_MAX_BYTES (32u << 20)

struct df__carry_live {
        df__task_t *k;
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

        if (!st->exists || df__exec_status_terminal(st->exec.status) || df__map_get(c->k->carry, exec_id))
                return;
        df__count_bytes(exec_id, val, &n);
        if (c->bytes + n > DF__CARRY_MAX_BYTES)
                return;
        df__map_put(c->k->carry, exec_id, st, &err);
        if (err)
                return;
        c->bytes += n;
        df__map_del(c->k->cache, exec_id); /* exec_id is freed here: not used after */
}

void df__task_done(df__task_t *k)
{
        size_t moved = k->loaded_bytes + k->out.bytes;
        /* keep the committed state of executions that go on in the next
         * batch (a yield, an at-most-once continuation); free the rest */
        df__map_foreach(k->carry, df__count_bytes, &moved);
        df__task_carry_clear(k);
        df__map_foreach(k->yielded, df__carry_one, k);
        df__map_clear(k->yielded, NULL);
        if (moved < DF__TRIM_AFTER_BYTES) {
                struct df__carry_live c = {k, 0};
                df__map_foreach(k->cache, df__carry_live_one, &c);
        }
        if (moved < DF__TRIM_AFTER_BYTES)
                df__map_foreach(k->cache, df__count_bytes, &moved);
        df__map_clear(k->cache, df__exec_state_free);
        df__map_clear(k->sched_recs, df__task_buf_free);
        df__collector_submit_spans(&k->out, df__engine_tracer(k->eng)); /* committed: their spans go */
        df__collector_clear(&k->out);
        if (moved >= DF__TRIM_AFTER_BYTES) {
                /* a cleared write batch keeps its buffer's capacity */
                rocksdb_writebatch_destroy(k->wb);
                k->wb = rocksdb_writebatch_create();
                malloc_trim(0);
        } else {
                rocksdb_writebatch_clear(k->wb);
        }
        k->loaded_bytes = 0;
        k->src = -1;
}
