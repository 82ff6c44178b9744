/*
 * testrunner.c -- the in-process test runner (duraflow/testing.h): the
 * replay engine over an in-memory changelog, with a fake clock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duraflow/testing.h"
#include "internal.h"
#include "schedule.h"
#include "state.h"

typedef struct df__qent {
        df__buf_t ev; /* encoded event */
        char *exec;   /* its execution id (df_test_hold) */
        struct df__qent *next;
} df__qent_t;

typedef struct df__staged_timer {
        df__timer_rec_t t;
        int cancel; /* a tombstone for t.timer_id */
        struct df__staged_timer *next;
} df__staged_timer_t;

struct df_test {
        df__engine_t *eng;
        int64_t now;
        int64_t clock_tick; /* df_test_set_clock_tick */
        df__map_t *store;  /* changelog key -> df__buf_t * (committed) */
        df__map_t *timers; /* timer id -> df__timer_rec_t * (pending) */
        df__map_t *replies; /* request id -> (intptr) code + 1 */
        df__qent_t *qhead, *qtail;
        df__qent_t *hhead, *htail; /* events of held executions (df_test_hold), in order */
        df__map_t *held;           /* execution id -> (void *)1 */
        /* staging of one delivery */
        df__staged_timer_t *st_timers;
        df__qent_t *st_events, *st_events_tail;
        df__map_t *st_replies;
        int crash_in, crashes;
        int kill_in;                  /* df_test_kill_in_step */
        int kill_beside;              /* df_test_kill_beside_in_step: others were in flight */
        int fault_in;                 /* df_test_fail_next */
        int killed, killed_attempt;   /* the simulated death's breadcrumb */
        char killed_exec[256], killed_op[DF__OP_ID_MAX];
        int keep_withdrawn; /* df_test_keep_withdrawn_timers */
        unsigned req_seq;
        df__exec_state_t *inspect; /* cached until the store changes */
        char *inspect_id;
        df_test_op_t op_view;
        df__sched_rec_t sched_view;     /* df_test_schedule */
        df_schedule_info_t sched_info;
        const char **ids;               /* df_test_executions */
        char last_reply[256];           /* the message of the last reply (a trigger's run id) */
};

static int64_t df__test_clock(void *opaque)
{
        df_test_t *t = opaque;
        int64_t tick = __atomic_load_n(&t->clock_tick, __ATOMIC_RELAXED);

        if (tick)
                return __atomic_add_fetch(&t->now, tick, __ATOMIC_RELAXED);
        return __atomic_load_n(&t->now, __ATOMIC_RELAXED);
}

void df_test_set_clock_tick(df_test_t *t, int64_t ms)
{
        __atomic_store_n(&t->clock_tick, ms > 0 ? ms : 0, __ATOMIC_RELAXED);
}

static void df__buf_free(void *p)
{
        df__buf_t *b = p;
        if (b) {
                free(b->data);
                free(b);
        }
}

static void df__timer_free(void *p)
{
        df__timer_rec_t *t = p;
        if (t) {
                df__timer_clear(t);
                free(t);
        }
}

df_test_t *df_test_new(int64_t start_ms)
{
        df_test_t *t = calloc(1, sizeof(*t));
        char errstr[256];

        if (!t || df__codec_init(errstr, sizeof(errstr))) {
                free(t);
                return NULL;
        }
        t->now = start_ms;
        t->eng = df__engine_new("duraflow.events");
        t->store = df__map_new();
        t->timers = df__map_new();
        t->replies = df__map_new();
        t->st_replies = df__map_new();
        t->held = df__map_new();
        if (!t->eng || !t->store || !t->timers || !t->replies || !t->st_replies || !t->held) {
                df_test_destroy(t);
                return NULL;
        }
        df__engine_set_clock(t->eng, df__test_clock, t);
        return t;
}

static void df__q_free(df__qent_t *q)
{
        while (q) {
                df__qent_t *n = q->next;
                free(q->ev.data);
                free(q->exec);
                free(q);
                q = n;
        }
}

static void df__inspect_drop(df_test_t *t)
{
        df__exec_state_free(t->inspect);
        t->inspect = NULL;
        free(t->inspect_id);
        t->inspect_id = NULL;
}

static void df__staging_clear(df_test_t *t)
{
        df__staged_timer_t *s = t->st_timers;
        while (s) {
                df__staged_timer_t *n = s->next;
                df__timer_clear(&s->t);
                free(s);
                s = n;
        }
        t->st_timers = NULL;
        df__q_free(t->st_events);
        t->st_events = t->st_events_tail = NULL;
        df__map_clear(t->st_replies, NULL);
}

void df_test_destroy(df_test_t *t)
{
        if (!t)
                return;
        df__staging_clear(t);
        df__q_free(t->qhead);
        df__q_free(t->hhead);
        df__engine_destroy(t->eng);
        df__map_destroy(t->store, df__buf_free);
        df__map_destroy(t->timers, df__timer_free);
        df__map_destroy(t->replies, NULL);
        df__map_destroy(t->st_replies, NULL);
        df__map_destroy(t->held, NULL);
        df__inspect_drop(t);
        df__sched_clear(&t->sched_view);
        free(t->ids);
        free(t);
}

df_err_t df_test_register(df_test_t *t, const char *name, df_handler_fn fn, void *opaque)
{
        return df__engine_register(t->eng, name, fn, opaque);
}

df_err_t df_test_register_version(df_test_t *t, const char *name, int version, df_handler_fn fn, void *opaque)
{
        return df__engine_register_version(t->eng, name, version, fn, opaque);
}

df_err_t df_test_unregister_version(df_test_t *t, const char *name, int version)
{
        return df__engine_unregister_version(t->eng, name, version);
}

void df_test_set_threads(df_test_t *t, int n)
{
        df__engine_set_threads(t->eng, n);
}

void df_test_set_history_limits(df_test_t *t, int max_operations, int64_t max_bytes)
{
        df__engine_set_limits(t->eng, max_operations, max_bytes);
}


int64_t df_test_now(const df_test_t *t)
{
        return t->now;
}

void df_test_crash_next(df_test_t *t, int nth)
{
        t->crash_in = nth;
}

void df_test_fail_next(df_test_t *t, int nth)
{
        t->fault_in = nth;
}

void df_test_kill_in_step(df_test_t *t, int nth)
{
        t->kill_in = nth;
        t->kill_beside = 0;
}

void df_test_kill_beside_in_step(df_test_t *t, int nth)
{
        t->kill_in = nth;
        t->kill_beside = 1;
}

int df_test_crashes(const df_test_t *t)
{
        return t->crashes;
}

int df_test_pending_timers(const df_test_t *t)
{
        return (int)df__map_size(t->timers);
}

void df_test_keep_withdrawn_timers(df_test_t *t, int keep)
{
        t->keep_withdrawn = keep;
}

/* ---- engine outputs, staged until the delivery commits ---- */

static int df__out_timer(void *opaque, const df__timer_rec_t *rec)
{
        df_test_t *t = opaque;
        df__staged_timer_t *s = calloc(1, sizeof(*s));
        if (!s)
                return -1;
        s->t.timer_id = df__strdup0(rec->timer_id);
        s->t.topic = df__strdup0(rec->topic);
        s->t.due_ms = rec->due_ms;
        s->t.created_ms = rec->created_ms;
        if (!s->t.timer_id || !s->t.topic || df__buf_set(&s->t.key, rec->key.data, rec->key.len) ||
            df__buf_set(&s->t.payload, rec->payload.data, rec->payload.len)) {
                df__timer_clear(&s->t);
                free(s);
                return -1;
        }
        s->next = t->st_timers;
        t->st_timers = s;
        return 0;
}

static int df__out_cancel_timer(void *opaque, const char *timer_id)
{
        df_test_t *t = opaque;
        df__staged_timer_t *s = calloc(1, sizeof(*s));
        if (!s)
                return -1;
        s->cancel = 1;
        s->t.timer_id = df__strdup0(timer_id);
        if (!s->t.timer_id) {
                free(s);
                return -1;
        }
        s->next = t->st_timers;
        t->st_timers = s;
        return 0;
}

static void df__q_append(df__qent_t **head, df__qent_t **tail, df__qent_t *q)
{
        q->next = NULL;
        if (*tail)
                (*tail)->next = q;
        else
                *head = q;
        *tail = q;
}

static int df__q_push(df__qent_t **head, df__qent_t **tail, const df__event_t *ev)
{
        df__qent_t *q = calloc(1, sizeof(*q));
        char errstr[256];
        if (!q)
                return -1;
        q->exec = df__strdup0(ev->execution_id);
        if (!q->exec || df__event_encode(ev, &q->ev, errstr, sizeof(errstr))) {
                free(q->exec);
                free(q);
                return -1;
        }
        if (*tail)
                (*tail)->next = q;
        else
                *head = q;
        *tail = q;
        return 0;
}

static int df__out_event(void *opaque, const df__event_t *ev)
{
        df_test_t *t = opaque;
        return df__q_push(&t->st_events, &t->st_events_tail, ev);
}

static int df__out_result(void *opaque, const df__result_rec_t *r)
{
        df_test_t *t = opaque;
        int err;
        if (r->kind == DF__RK_REPLY && r->request_id && *r->request_id) {
                df__map_put(t->st_replies, r->request_id, (void *)(intptr_t)(r->code + 1), &err);
                snprintf(t->last_reply, sizeof(t->last_reply), "%s", r->error ? r->error : "");
        }
        return 0;
}

/* ---- store access ---- */

static int df__store_get(void *opaque, const char *key, df__buf_t *val, int *found)
{
        df_test_t *t = opaque;
        df__buf_t *b = df__map_get(t->store, key);
        *found = b != NULL;
        if (!b)
                return 0;
        return df__buf_set(val, b->data, b->len);
}

static int df__store_put(void *opaque, const char *key, const df__buf_t *val)
{
        df_test_t *t = opaque;
        df__buf_t *b;
        int err;
        if (!val) { /* a deletion */
                df__inspect_drop(t);
                df__buf_free(df__map_del(t->store, key));
                return 0;
        }
        b = calloc(1, sizeof(*b));
        if (!b || df__buf_set(b, val->data, val->len)) {
                free(b);
                return -1;
        }
        df__inspect_drop(t);
        df__buf_free(df__map_put(t->store, key, b, &err));
        if (err) {
                df__buf_free(b);
                return -1;
        }
        return 0;
}

static void df__commit_reply(const char *key, void *val, void *opaque)
{
        df_test_t *t = opaque;
        int err;
        df__map_put(t->replies, key, val, &err);
}

static void df__deliver(df_test_t *t, const df__buf_t *raw, int committed_flag);

static void df__amo_continue(const char *execution_id, void *opaque)
{
        df_test_t *t = opaque;
        df__event_t ev;
        df__buf_t raw = {0};
        char errstr[256];

        memset(&ev, 0, sizeof(ev));
        ev.type = DF__EV_CONTINUE;
        ev.execution_id = (char *)execution_id;
        ev.ts_ms = t->now;
        if (df__event_encode(&ev, &raw, errstr, sizeof(errstr)))
                return;
        df__deliver(t, &raw, 1);
        free(raw.data);
}

/* The staged outputs of a delivery land: timers, events, replies. */
static void df__commit_staged(df_test_t *t)
{
        while (t->st_timers) {
                df__staged_timer_t *s = t->st_timers;
                df__timer_rec_t *tr = malloc(sizeof(*tr));
                int err;
                t->st_timers = s->next;
                if (s->cancel) {
                        if (!t->keep_withdrawn)
                                df__timer_free(df__map_del(t->timers, s->t.timer_id));
                        df__timer_clear(&s->t);
                        free(tr);
                } else if (tr) {
                        *tr = s->t;
                        df__timer_free(df__map_put(t->timers, tr->timer_id, tr, &err));
                } else {
                        df__timer_clear(&s->t);
                }
                free(s);
        }
        if (t->st_events) {
                if (t->qtail)
                        t->qtail->next = t->st_events;
                else
                        t->qhead = t->st_events;
                t->qtail = t->st_events_tail;
                t->st_events = t->st_events_tail = NULL;
        }
        df__map_foreach(t->st_replies, df__commit_reply, t);
        df__map_clear(t->st_replies, NULL);
}

/* Put raw back at the head of the queue (its offset was not committed). */
static void df__requeue_head(df_test_t *t, const df__buf_t *raw, const char *exec)
{
        df__qent_t *q = calloc(1, sizeof(*q));
        if (q && (q->exec = df__strdup0(exec)) && !df__buf_set(&q->ev, raw->data, raw->len)) {
                q->next = t->qhead;
                t->qhead = q;
                if (!t->qtail)
                        t->qtail = q;
        } else {
                if (q)
                        free(q->exec);
                free(q);
        }
}

static int df__t_step_begin(void *opaque, const char *execution_id, const char *op_id, int attempt)
{
        df_test_t *t = opaque;
        if (t->kill_in <= 0 || --t->kill_in > 0)
                return 0;
        /* the simulated process dies inside this body: what the worker's
         * crash breadcrumb would hold */
        snprintf(t->killed_exec, sizeof(t->killed_exec), "%s", execution_id);
        snprintf(t->killed_op, sizeof(t->killed_op), "%s", op_id);
        t->killed_attempt = attempt;
        t->killed = 1;
        return -1;
}

static void df__t_step_end(void *opaque)
{
        (void)opaque;
}

static void df__deliver_ev(df_test_t *t, const df__buf_t *raw, int committed_flag, int depth);

/* After a simulated process death: the restarted worker commits a crash
 * event for the breadcrumb first, then the event comes again. */
static void df__after_kill(df_test_t *t, const df__buf_t *raw, int depth)
{
        df__event_t ce;
        df__buf_t craw = {0};
        char errstr[256];

        t->killed = 0;
        t->crashes++;
        memset(&ce, 0, sizeof(ce));
        ce.type = DF__EV_CRASH;
        ce.execution_id = t->killed_exec;
        ce.op_id = t->killed_op;
        ce.seq = t->killed_attempt;
        ce.ts_ms = t->now;
        /* as worker_crash.c reports a death with several executions in flight */
        ce.error = t->kill_beside ? "suspect: 2 executions were being processed at once" : NULL;
        t->kill_beside = 0;
        df__requeue_head(t, raw, t->killed_exec);
        if (!df__event_encode(&ce, &craw, errstr, sizeof(errstr)))
                df__deliver_ev(t, &craw, 1, depth + 1);
        free(craw.data);
}

/* A schedule's event (schedule.c): one transaction, as an execution's. */
static void df__deliver_schedule(df_test_t *t, const df__event_t *ev, const df__buf_t *raw,
                                 const df__engine_out_t *out)
{
        df__sched_state_t s;
        char errstr[256] = "";
        int rc = df__sched_state_load(&s, ev->execution_id, df__store_get, t, errstr, sizeof(errstr));
        if (!rc)
                rc = df__schedule_apply(t->eng, &s, ev, out);
        if (t->fault_in > 0 && --t->fault_in == 0)
                rc = -1; /* df_test_fail_next */
        if (t->crash_in > 0 && --t->crash_in == 0) {
                /* crash before the commit: delivered again */
                df__staging_clear(t);
                t->crashes++;
                df__requeue_head(t, raw, ev->execution_id);
        } else if (rc || df__sched_state_flush(&s, ev->execution_id, df__store_put, t, errstr, sizeof(errstr))) {
                df__log(DF__LOG_ERROR, "test runner: %s: event dropped (would be dead-lettered): %s",
                        ev->execution_id, errstr[0] ? errstr : "internal error");
                df__staging_clear(t);
        } else {
                df__commit_staged(t);
        }
        df__sched_state_clear(&s);
}

/* One delivery = one transaction: apply, then commit or crash. */
static void df__deliver_ev(df_test_t *t, const df__buf_t *raw, int committed_flag, int depth)
{
        df__engine_out_t out = {.timer = df__out_timer,
                                .event = df__out_event,
                                .result = df__out_result,
                                .opaque = t,
                                .cancel_timer = df__out_cancel_timer,
                                .step_begin = df__t_step_begin,
                                .step_end = df__t_step_end};
        df__exec_state_t *st;
        df__event_t ev;
        char errstr[256];
        int rc;

        memset(&ev, 0, sizeof(ev));
        if (df__event_decode(raw->data, raw->len, &ev, errstr, sizeof(errstr))) {
                df__log(DF__LOG_WARN, "test runner: undecodable event dropped: %s", errstr);
                return;
        }
        if (df__map_get(t->held, ev.execution_id)) {
                /* its partition's worker is away (df_test_hold): kept, in order */
                df__qent_t *q = calloc(1, sizeof(*q));
                if (q && (q->exec = df__strdup0(ev.execution_id)) && !df__buf_set(&q->ev, raw->data, raw->len))
                        df__q_append(&t->hhead, &t->htail, q);
                else if (q) {
                        free(q->exec);
                        free(q);
                }
                df__event_clear(&ev);
                return;
        }
        if (df__schedule_key(ev.execution_id)) {
                df__deliver_schedule(t, &ev, raw, &out);
                df__event_clear(&ev);
                return;
        }
        st = df__exec_state_new();
        if (!st || df__state_load(st, ev.execution_id, df__store_get, t, errstr, sizeof(errstr))) {
                df__exec_state_free(st);
                df__event_clear(&ev);
                return;
        }
        rc = df__engine_apply(t->eng, st, &ev, &out, committed_flag);
        if (t->fault_in > 0 && --t->fault_in == 0)
                rc = -1; /* df_test_fail_next: as an internal failure */
        if (t->killed || (t->crash_in > 0 && --t->crash_in == 0)) {
                /* Crash before commit: nothing of this delivery lands; the
                 * event is delivered again (its offset was not committed). */
                df__staging_clear(t);
                df__engine_amo_reset(t->eng);
                df__exec_state_free(st);
                if (t->killed && depth < 8) {
                        df__after_kill(t, raw, depth);
                } else {
                        t->killed = 0;
                        t->crashes++;
                        df__requeue_head(t, raw, ev.execution_id);
                }
                df__event_clear(&ev);
                return;
        }
        if (rc || df__state_flush_dirty(st, df__store_put, t, errstr, sizeof(errstr))) {
                /* As the worker: this execution is parked (QUARANTINED) with
                 * the event stashed; nothing else is held up. */
                const char *why = rc ? "internal error in the replay engine" : errstr;
                char reason[300];
                snprintf(reason, sizeof(reason), "%s", why);
                df__log(DF__LOG_ERROR, "test runner: delivery failed: %s", reason);
                df__staging_clear(t);
                df__engine_amo_reset(t->eng);
                df__exec_state_free(st);
                st = df__exec_state_new();
                if (!st || df__state_load(st, ev.execution_id, df__store_get, t, errstr, sizeof(errstr)) ||
                    df__engine_quarantine(t->eng, st, &ev, raw, reason, &out) ||
                    df__state_flush_dirty(st, df__store_put, t, errstr, sizeof(errstr))) {
                        df__log(DF__LOG_ERROR, "test runner: event dropped (would be dead-lettered)");
                        df__staging_clear(t);
                        df__exec_state_free(st);
                        df__event_clear(&ev);
                        return;
                }
        }
        df__commit_staged(t);
        df__exec_state_free(st);
        df__event_clear(&ev);
        /* START checkpoints of at-most-once steps are committed: run them. */
        df__engine_amo_drain(t->eng, df__amo_continue, t);
}

static void df__deliver(df_test_t *t, const df__buf_t *raw, int committed_flag)
{
        df__deliver_ev(t, raw, committed_flag, 0);
}

static void df__run_queue(df_test_t *t)
{
        while (t->qhead) {
                df__qent_t *q = t->qhead;
                t->qhead = q->next;
                if (!t->qhead)
                        t->qtail = NULL;
                df__deliver(t, &q->ev, 0);
                free(q->ev.data);
                free(q->exec);
                free(q);
        }
}

struct df__earliest {
        df__timer_rec_t *t;
};

static void df__find_earliest(const char *key, void *val, void *opaque)
{
        struct df__earliest *e = opaque;
        df__timer_rec_t *t = val;
        (void)key;
        if (!e->t || t->due_ms < e->t->due_ms || (t->due_ms == e->t->due_ms && strcmp(t->timer_id, e->t->timer_id) < 0))
                e->t = t;
}

static df__exec_state_t *df__inspect(df_test_t *t, const char *execution_id);

/* retention.ms, as a worker's sweep (worker_retention.c): every finished
 * execution whose end is retention.ms ago gets the sweep's RETENTION event. */
static void df__test_sweep(df_test_t *t)
{
        const char *const *ids;
        char **copy;
        size_t n, i, m = 0;

        if (df__engine_retention(t->eng) <= 0)
                return;
        n = df_test_executions(t, &ids);
        copy = n ? calloc(n, sizeof(*copy)) : NULL;
        for (i = 0; copy && i < n; i++) {
                df__exec_state_t *st = df__inspect(t, ids[i]);
                if (st && df__engine_retention_over(t->eng, st, t->now) && (copy[m] = df__strdup0(ids[i])))
                        m++;
        }
        for (i = 0; i < m; i++) {
                df__event_t ev;
                df__buf_t raw = {0};
                char errstr[256];
                memset(&ev, 0, sizeof(ev));
                ev.type = DF__EV_TIMER;
                ev.timer_kind = DF__TK_RETENTION;
                ev.seq = DF__RETENTION_SWEEP;
                ev.execution_id = copy[i];
                ev.op_id = "";
                ev.ts_ms = t->now;
                if (!df__event_encode(&ev, &raw, errstr, sizeof(errstr))) {
                        df__deliver(t, &raw, 0);
                        df__run_queue(t);
                }
                free(raw.data);
                free(copy[i]);
        }
        free(copy);
}

void df_test_advance(df_test_t *t, int64_t ms)
{
        if (ms > 0)
                t->now += ms;
        df__run_queue(t);
        for (;;) {
                struct df__earliest e = {NULL};
                df__timer_rec_t *tr;
                df__map_foreach(t->timers, df__find_earliest, &e);
                if (!e.t || e.t->due_ms > t->now)
                        break;
                tr = df__map_del(t->timers, e.t->timer_id);
                df__deliver(t, &tr->payload, 0);
                df__timer_free(tr);
                df__run_queue(t);
        }
        df__test_sweep(t);
}

void df_test_hold(df_test_t *t, const char *execution_id, int hold)
{
        df__qent_t *q, *keep_h = NULL, *keep_t = NULL, *next;
        int err;

        if (!t || !execution_id)
                return;
        if (hold) {
                df__map_put(t->held, execution_id, (void *)1, &err);
                return;
        }
        df__map_del(t->held, execution_id);
        /* its events, in the order they came, go behind what is queued */
        for (q = t->hhead; q; q = next) {
                next = q->next;
                if (!strcmp(q->exec, execution_id))
                        df__q_append(&t->qhead, &t->qtail, q);
                else
                        df__q_append(&keep_h, &keep_t, q);
        }
        t->hhead = keep_h;
        t->htail = keep_t;
        df__run_queue(t);
}

int df_test_held_events(const df_test_t *t)
{
        const df__qent_t *q;
        int n = 0;
        for (q = t->hhead; q; q = q->next)
                n++;
        return n;
}

static df_err_t df__request(df_test_t *t, df__event_t *ev)
{
        char rid[32];
        df__buf_t raw = {0};
        char errstr[256];
        intptr_t code;

        snprintf(rid, sizeof(rid), "r%u", ++t->req_seq);
        ev->request_id = rid;
        ev->ts_ms = t->now;
        if (df__event_encode(ev, &raw, errstr, sizeof(errstr)))
                return DF_ERR_CODEC;
        df__deliver(t, &raw, 0);
        free(raw.data);
        df__run_queue(t);
        code = (intptr_t)df__map_del(t->replies, rid);
        return code ? (df_err_t)(code - 1) : DF_ERR_DEADLINE;
}

df_err_t df_test_start(df_test_t *t, const char *workflow, const char *execution_id, const void *input, size_t len)
{
        df__event_t ev;

        if (!t || !workflow || !df__execution_id_valid(execution_id) || (len && !input))
                return DF_ERR_INVALID_ARG;
        if (len > DF_PAYLOAD_MAX)
                return DF_ERR_PAYLOAD_TOO_LARGE;
        memset(&ev, 0, sizeof(ev));
        ev.type = DF__EV_START;
        ev.execution_id = (char *)execution_id;
        ev.workflow = (char *)workflow;
        ev.input.data = (uint8_t *)input;
        ev.input.len = len;
        return df__request(t, &ev);
}

df_err_t df_test_callback(df_test_t *t, const char *callback_id, int outcome, const void *payload, size_t len,
                          const char *error)
{
        df__event_t ev;
        char opid[16];
        const char *exec;

        if (!t || !callback_id || outcome < DF_CALLBACK_SUCCESS || outcome > DF_CALLBACK_HEARTBEAT)
                return DF_ERR_INVALID_ARG;
        if (df__callback_id_parse(callback_id, opid, sizeof(opid), &exec))
                return DF_ERR_UNKNOWN_CALLBACK;
        if (len > DF_PAYLOAD_MAX)
                return DF_ERR_PAYLOAD_TOO_LARGE;
        memset(&ev, 0, sizeof(ev));
        ev.type = DF__EV_CALLBACK;
        ev.execution_id = (char *)exec;
        ev.callback_id = (char *)callback_id;
        ev.callback_kind = outcome;
        ev.input.data = (uint8_t *)payload;
        ev.input.len = len;
        ev.error = (char *)error;
        return df__request(t, &ev);
}

df_err_t df_test_stop(df_test_t *t, const char *execution_id)
{
        df__event_t ev;
        memset(&ev, 0, sizeof(ev));
        ev.type = DF__EV_STOP;
        ev.execution_id = (char *)execution_id;
        ev.error = "stopped by test";
        return df__request(t, &ev);
}

df_err_t df_test_resume(df_test_t *t, const char *execution_id)
{
        df__event_t ev;
        memset(&ev, 0, sizeof(ev));
        ev.type = DF__EV_RESUME;
        ev.execution_id = (char *)execution_id;
        return df__request(t, &ev);
}

df_err_t df_test_pause(df_test_t *t, const char *execution_id)
{
        df__event_t ev;
        memset(&ev, 0, sizeof(ev));
        ev.type = DF__EV_PAUSE;
        ev.execution_id = (char *)execution_id;
        ev.error = "paused by test";
        return df__request(t, &ev);
}

df_err_t df_test_restart(df_test_t *t, const char *execution_id, const char *from_op, const char *reason)
{
        df__event_t ev;
        memset(&ev, 0, sizeof(ev));
        ev.type = DF__EV_RESTART;
        ev.execution_id = (char *)execution_id;
        ev.op_id = (char *)(from_op ? from_op : "");
        ev.error = (char *)(reason ? reason : "restarted by test");
        return df__request(t, &ev);
}

df_err_t df_test_purge(df_test_t *t, const char *execution_id)
{
        df__event_t ev;
        memset(&ev, 0, sizeof(ev));
        ev.type = DF__EV_PURGE;
        ev.execution_id = (char *)execution_id;
        return df__request(t, &ev);
}

void df_test_set_retention(df_test_t *t, int64_t ms)
{
        df__engine_set_retention(t->eng, ms);
}

/* ---- inspection ---- */

static df__exec_state_t *df__inspect(df_test_t *t, const char *execution_id)
{
        char errstr[256];
        if (!execution_id)
                return NULL;
        if (t->inspect && t->inspect_id && !strcmp(t->inspect_id, execution_id))
                return t->inspect; /* the store has not changed since */
        df__inspect_drop(t);
        t->inspect = df__exec_state_new();
        t->inspect_id = df__strdup0(execution_id);
        if (!t->inspect || !t->inspect_id)
                return NULL;
        if (df__state_load(t->inspect, execution_id, df__store_get, t, errstr, sizeof(errstr)) || !t->inspect->exists) {
                df__inspect_drop(t);
                return NULL;
        }
        return t->inspect;
}

int df_test_run_count(df_test_t *t, const char *execution_id, const char **run_log)
{
        df__exec_state_t *st = df__inspect(t, execution_id);
        if (run_log)
                *run_log = st && st->exec.run_log ? st->exec.run_log : "";
        return st ? st->exec.run : -1;
}

const char *df_test_status(df_test_t *t, const char *execution_id)
{
        df__exec_state_t *st = df__inspect(t, execution_id);
        return st ? df__exec_status_name(st->exec.status) : NULL;
}

df_err_t df_test_output(df_test_t *t, const char *execution_id, df_bytes_t *out)
{
        df__exec_state_t *st = df__inspect(t, execution_id);
        if (!st)
                return DF_ERR_NOT_FOUND;
        out->data = st->exec.output.data;
        out->len = st->exec.output.len;
        return DF_OK;
}

const char *df_test_error(df_test_t *t, const char *execution_id)
{
        df__exec_state_t *st = df__inspect(t, execution_id);
        return st ? st->exec.error : NULL;
}

int df_test_version(df_test_t *t, const char *execution_id)
{
        df__exec_state_t *st = df__inspect(t, execution_id);
        return st ? st->exec.version : -1;
}

const char *df_test_parent(df_test_t *t, const char *execution_id, const char **parent_op)
{
        df__exec_state_t *st = df__inspect(t, execution_id);
        if (parent_op)
                *parent_op = st ? st->exec.parent_op : NULL;
        return st ? st->exec.parent_id : NULL;
}

int df_test_op_count(df_test_t *t, const char *execution_id)
{
        df__exec_state_t *st = df__inspect(t, execution_id);
        return st ? st->n_top : -1;
}

int df_test_op_count_all(df_test_t *t, const char *execution_id)
{
        df__exec_state_t *st = df__inspect(t, execution_id);
        return st ? st->n_ops : -1;
}

static void df__op_view(const df__op_rec_t *op, df_test_op_t *out)
{
        memset(out, 0, sizeof(*out));
        out->name = op->name;
        out->type = df__op_type_name(op->type);
        out->status = df__op_status_name(op->status);
        out->attempt = op->attempt;
        out->result.data = op->result.data;
        out->result.len = op->result.len;
        out->error = op->error;
        out->callback_id = op->callback_id;
        out->due_ms = op->due_ms;
        out->op_id = op->op_id;
        out->parent_id = op->parent_id;
        out->child_id = op->child_id;
        out->child_count = op->child_count;
        out->started_ms = op->started_ms;
        out->updated_ms = op->updated_ms;
}

df_err_t df_test_op(df_test_t *t, const char *execution_id, int op_id, df_test_op_t *out)
{
        df__exec_state_t *st = df__inspect(t, execution_id);
        df__op_rec_t *op = st ? df__exec_state_op(st, op_id) : NULL;
        if (!op)
                return DF_ERR_NOT_FOUND;
        df__op_view(op, out);
        return DF_OK;
}

df_err_t df_test_op_at(df_test_t *t, const char *execution_id, const char *op_id, df_test_op_t *out)
{
        df__exec_state_t *st = df__inspect(t, execution_id);
        df__op_rec_t *op = st ? df__exec_state_find(st, op_id) : NULL;
        if (!op)
                return DF_ERR_NOT_FOUND;
        df__op_view(op, out);
        return DF_OK;
}

const char *df_test_callback_id(df_test_t *t, const char *execution_id, const char *name)
{
        df__exec_state_t *st = df__inspect(t, execution_id);
        int i;
        if (!st)
                return NULL;
        for (i = 0; i < st->n_ops; i++) {
                df__op_rec_t *op = st->ops[i];
                if (op && op->type == DF__OP_CALLBACK && !strcmp(op->name, name))
                        return op->callback_id;
        }
        return NULL;
}

/* ---- schedules ---- */

static df_err_t df__sched_request(df_test_t *t, int type, const char *name, const df__buf_t *def)
{
        char key[DF__SCHEDULE_PREFIX_LEN + DF_SCHEDULE_NAME_MAX + 1];
        df__event_t ev;

        if (!t || df_schedule_name_check(name, NULL, 0) != DF_OK)
                return DF_ERR_INVALID_ARG;
        snprintf(key, sizeof(key), "%s%s", DF__SCHEDULE_PREFIX, name);
        memset(&ev, 0, sizeof(ev));
        ev.type = type;
        ev.execution_id = key;
        if (def)
                ev.input = *def;
        t->last_reply[0] = '\0';
        return df__request(t, &ev);
}

df_err_t df_test_schedule_create(df_test_t *t, const char *name, const df_schedule_def_t *def)
{
        char e[600];
        df__buf_t b = {0};
        df_err_t rc;

        if (!t)
                return DF_ERR_INVALID_ARG;
        if ((rc = df__schedule_def_check(name, def, e, sizeof(e))) != DF_OK)
                return rc;
        if (df__schedule_def_encode(name, def, &b, e, sizeof(e)))
                return DF_ERR_CODEC;
        rc = df__sched_request(t, DF__EV_SCHEDULE_CREATE, name, &b);
        free(b.data);
        return rc;
}

df_err_t df_test_schedule_pause(df_test_t *t, const char *name)
{
        return df__sched_request(t, DF__EV_SCHEDULE_PAUSE, name, NULL);
}

df_err_t df_test_schedule_resume(df_test_t *t, const char *name)
{
        return df__sched_request(t, DF__EV_SCHEDULE_RESUME, name, NULL);
}

df_err_t df_test_schedule_delete(df_test_t *t, const char *name)
{
        return df__sched_request(t, DF__EV_SCHEDULE_DELETE, name, NULL);
}

df_err_t df_test_schedule_trigger(df_test_t *t, const char *name, char *run_id, size_t run_id_size)
{
        df_err_t rc = df__sched_request(t, DF__EV_SCHEDULE_TRIGGER, name, NULL);
        df__sched_trigger_reply(t->last_reply, NULL);
        if (run_id && run_id_size)
                snprintf(run_id, run_id_size, "%s", rc == DF_OK ? t->last_reply : "");
        return rc;
}

const df_schedule_info_t *df_test_schedule(df_test_t *t, const char *name)
{
        char key[DF__SCHEDULE_PREFIX_LEN + DF_SCHEDULE_NAME_MAX + 1], errstr[256];
        df__buf_t *b;

        df__sched_clear(&t->sched_view);
        if (!name || df_schedule_name_check(name, NULL, 0) != DF_OK)
                return NULL;
        snprintf(key, sizeof(key), "%s%s", DF__SCHEDULE_PREFIX, name);
        b = df__map_get(t->store, key);
        if (!b || df__sched_decode(b->data, b->len, &t->sched_view, errstr, sizeof(errstr)))
                return NULL;
        df__schedule_info(&t->sched_info, &t->sched_view, 1);
        return &t->sched_info;
}

struct df__ids {
        const char **ids;
        size_t n, cap;
        int oom;
};

static void df__collect_id(const char *key, void *val, void *opaque)
{
        struct df__ids *c = opaque;
        (void)val;
        if (strchr(key, '/') || df__schedule_key(key) || c->oom)
                return;
        if (c->n == c->cap) {
                size_t cap = c->cap ? c->cap * 2 : 16;
                const char **ids = realloc(c->ids, cap * sizeof(*ids));
                if (!ids) {
                        c->oom = 1;
                        return;
                }
                c->ids = ids;
                c->cap = cap;
        }
        c->ids[c->n++] = key;
}

static int df__cmp_id(const void *a, const void *b)
{
        return strcmp(*(const char *const *)a, *(const char *const *)b);
}

size_t df_test_executions(df_test_t *t, const char *const **ids)
{
        struct df__ids c = {NULL, 0, 0, 0};
        free(t->ids);
        t->ids = NULL;
        df__map_foreach(t->store, df__collect_id, &c);
        if (c.oom) {
                free(c.ids);
                c.ids = NULL;
                c.n = 0;
        }
        if (c.n)
                qsort(c.ids, c.n, sizeof(*c.ids), df__cmp_id);
        t->ids = c.ids;
        if (ids)
                *ids = c.ids;
        return c.n;
}
