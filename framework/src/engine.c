/*
 * engine.c -- the replay engine: applies one event to an execution's state
 * and replays its handler.  Knows nothing of Kafka or RocksDB: the worker
 * and the in-process test runner both drive it.
 *
 * Semantics follow the AWS Lambda durable execution SDK (step, wait,
 * create_callback, wait_for_callback, run_in_child_context, parallel, map,
 * invoke, wait_for_condition) as described in docs/design.md.
 *
 * Contexts.  A replay (df__run_t) holds what every context of one
 * execution shares: its state, the outputs, the flags that stop every
 * context (non-determinism, an internal failure, a yield, a history limit).
 * Each context (df_ctx_t: the handler's, a child's, a branch's) has its own
 * operation counter: operation n of the context opened by operation P has
 * the id "P.n".  Ids depend only on the order of calls inside each context,
 * never on thread timing.
 *
 * Concurrency.  The branches of a parallel / map run on "lanes": the
 * calling thread plus as many pool threads (pool.c, "worker.threads" - 1)
 * as are idle and max_concurrency allows; each lane takes the next branch
 * not run yet, in index order, until none is left or the batch completed.
 * Step bodies run without the replay's lock; everything that touches the
 * shared state or the outputs holds it (run->mu).  A parallel returns only
 * once every lane is back, so no branch or body ever outlives the call that
 * started it (their opaque may point into the caller's stack).  Which
 * branches a completion config abandons depends on which finish first (as
 * in AWS); what is recorded for each branch does not.  A branch abandoned
 * because the batch completed records nothing afterwards: its next
 * operation suspends it, a body that was running has its result dropped,
 * and later timers and callbacks aimed into it are no-ops.
 */
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine_trace.h"
#include "internal.h"
#include "log.h"
#include "metrics.h"
#include "pool.h"
#include "schedule.h"
#include "text.h"

typedef struct df__wfver {
        int version;
        df_handler_fn fn;
        void *opaque;
} df__wfver_t;

/* Registered versions of one workflow, ascending. */
typedef struct df__workflow {
        int n;
        df__wfver_t *v;
} df__workflow_t;

struct df__engine {
        char *events_topic;
        df__map_t *workflows; /* name -> df__workflow_t */
        df__map_t *amo;       /* "<exec>/<op>" -> attempt (intptr): START awaiting commit */
        df__map_t *amo_execs; /* exec id -> (void *)1 */
        df__clock_fn clock;
        void *clock_opaque;
        int max_crashes;      /* crash events before an execution is QUARANTINED */
        int threads;          /* worker.threads */
        int max_ops;          /* history.max.operations */
        int64_t max_bytes;    /* history.max.bytes */
        int64_t retention_ms; /* retention.ms: a finished execution is purged this long after it ended; 0 never */
        df__metrics_t *metrics; /* NULL: none counted */
        df__otlp_t *tracer;   /* NULL: no spans (engine_trace.h) */
        pthread_mutex_t mu;   /* amo, amo_execs, stats, pool */
        df__pool_t *pool;     /* threads - 1 threads, created at the first batch that needs them */
        df__engine_stats_t stats;
};

/* One replay of one execution: what its contexts share.  Guarded by mu
 * whenever branches run on more than one thread. */
typedef struct df__run {
        df__engine_t *eng;
        df__exec_state_t *st;
        const df__engine_out_t *out;
        const df__wfver_t *wf;
        int64_t now;
        int committed;
        pthread_mutex_t mu;
        int nondet;           /* nondet_msg says where */
        int failed_internal;  /* ENOMEM, an output that failed: the delivery is dropped */
        int yielded;          /* the batch is full: nothing more runs in this replay */
        int continued;        /* a CONTINUE event went out */
        int crash_consumed;   /* this replay turned a crash note into a failed attempt */
        const char *suspend_kind; /* what it suspended on first (wait, callback, retry, child, condition) */
        char *nondet_msg;
        char *limit_msg;      /* a history limit was reached: the execution fails with it */
        size_t new_bytes;     /* results recorded by this replay (not flushed yet), bytes */
        void **arena;         /* memory handed to the workflow (batch results), freed at the end */
        int n_arena, cap_arena;
} df__run_t;

struct df__batch;

struct df_ctx {
        df__run_t *run;
        df_ctx_t *parent;
        df__op_rec_t *op;      /* the operation that opened this context; NULL at top level */
        struct df__batch *batch; /* this context is branch `branch` of batch, or NULL */
        int branch;
        int next_op;
        int rec_count;         /* operations recorded in this context when the replay began */
        int suspended;
        int replaying;
        char *last_error;
        char *fail_msg;
        df__buf_t output;
        char last_op[DF__OP_ID_MAX]; /* operation this context reached last (df_log) */
        int last_attempt;
};

struct df_step {
        df_ctx_t *ctx;
        const df__op_rec_t *op;
        int attempt;
        char *idem_key;
        df__buf_t result;
        int result_set;
        char *err_type;
        char *err_msg;
        int result_err;
        int64_t t0_ms;         /* when the body started, the engine's clock (UTC ms): its attempt span */
};

static int df__replay(df__engine_t *eng, df__exec_state_t *st, const df__engine_out_t *out, int committed,
                      int64_t now);
static int df__engine_apply_event(df__engine_t *eng, df__exec_state_t *st, const df__event_t *ev,
                                  const df__engine_out_t *out, int committed);

/* ---------------- engine object ---------------- */

static int64_t df__wall_clock(void *opaque)
{
        (void)opaque;
        return df__now_ms();
}

static void df__workflow_free(void *p)
{
        df__workflow_t *wf = p;
        if (wf) {
                free(wf->v);
                free(wf);
        }
}

df__engine_t *df__engine_new(const char *events_topic)
{
        df__engine_t *eng = calloc(1, sizeof(*eng));
        if (!eng)
                return NULL;
        pthread_mutex_init(&eng->mu, NULL);
        eng->events_topic = strdup(events_topic);
        eng->workflows = df__map_new();
        eng->amo = df__map_new();
        eng->amo_execs = df__map_new();
        eng->clock = df__wall_clock;
        eng->max_crashes = 5;
        eng->threads = 16;
        eng->max_ops = 3000;
        eng->max_bytes = 104857600;
        if (!eng->events_topic || !eng->workflows || !eng->amo || !eng->amo_execs) {
                df__engine_destroy(eng);
                return NULL;
        }
        return eng;
}

void df__engine_destroy(df__engine_t *eng)
{
        if (!eng)
                return;
        df__pool_destroy(eng->pool);
        free(eng->events_topic);
        df__map_destroy(eng->workflows, df__workflow_free);
        df__map_destroy(eng->amo, NULL);
        df__map_destroy(eng->amo_execs, NULL);
        pthread_mutex_destroy(&eng->mu);
        free(eng);
}

df_err_t df__engine_register_version(df__engine_t *eng, const char *name, int version, df_handler_fn fn,
                                     void *opaque)
{
        df__workflow_t *wf;
        df__wfver_t *v;
        int err, i;

        if (!eng || !name || !*name || !fn || version < 1)
                return DF_ERR_INVALID_ARG;
        wf = df__map_get(eng->workflows, name);
        if (!wf) {
                wf = calloc(1, sizeof(*wf));
                if (!wf)
                        return DF_ERR_NOMEM;
                df__map_put(eng->workflows, name, wf, &err);
                if (err) {
                        free(wf);
                        return DF_ERR_NOMEM;
                }
        }
        for (i = 0; i < wf->n; i++)
                if (wf->v[i].version == version)
                        return DF_ERR_INVALID_ARG;
        v = realloc(wf->v, (size_t)(wf->n + 1) * sizeof(*v));
        if (!v)
                return DF_ERR_NOMEM;
        wf->v = v;
        for (i = wf->n; i > 0 && wf->v[i - 1].version > version; i--)
                wf->v[i] = wf->v[i - 1];
        wf->v[i] = (df__wfver_t){version, fn, opaque};
        wf->n++;
        return DF_OK;
}

df_err_t df__engine_unregister_version(df__engine_t *eng, const char *name, int version)
{
        df__workflow_t *wf = eng && name ? df__map_get(eng->workflows, name) : NULL;
        int i;
        for (i = 0; wf && i < wf->n; i++) {
                if (wf->v[i].version != version)
                        continue;
                memmove(&wf->v[i], &wf->v[i + 1], (size_t)(wf->n - i - 1) * sizeof(wf->v[0]));
                wf->n--;
                return DF_OK;
        }
        return DF_ERR_NOT_FOUND;
}

df_err_t df__engine_register(df__engine_t *eng, const char *name, df_handler_fn fn, void *opaque)
{
        return df__engine_register_version(eng, name, 1, fn, opaque);
}

static const df__wfver_t *df__wf_find(const df__engine_t *eng, const char *name, int version)
{
        const df__workflow_t *wf = name ? df__map_get(eng->workflows, name) : NULL;
        int i;
        for (i = 0; wf && i < wf->n; i++)
                if (wf->v[i].version == version)
                        return &wf->v[i];
        return NULL;
}

static const df__wfver_t *df__wf_newest(const df__engine_t *eng, const char *name)
{
        const df__workflow_t *wf = name ? df__map_get(eng->workflows, name) : NULL;
        return wf && wf->n ? &wf->v[wf->n - 1] : NULL;
}

void df__engine_set_max_crashes(df__engine_t *eng, int n)
{
        eng->max_crashes = n < 1 ? 1 : n;
}

void df__engine_set_threads(df__engine_t *eng, int n)
{
        pthread_mutex_lock(&eng->mu);
        eng->threads = n < 1 ? 1 : n > 1024 ? 1024 : n;
        if (eng->pool && df__pool_size(eng->pool) != eng->threads - 1) {
                df__pool_destroy(eng->pool); /* between replays: nothing runs on it */
                eng->pool = NULL;
        }
        pthread_mutex_unlock(&eng->mu);
}

void df__engine_set_metrics(df__engine_t *eng, df__metrics_t *m)
{
        eng->metrics = m;
}

void df__engine_set_tracer(df__engine_t *eng, df__otlp_t *exp)
{
        eng->tracer = exp;
}

df__otlp_t *df__engine_tracer(const df__engine_t *eng)
{
        return eng->tracer;
}

void df__engine_set_retention(df__engine_t *eng, int64_t ms)
{
        eng->retention_ms = ms > 0 ? ms : 0;
}

int64_t df__engine_retention(const df__engine_t *eng)
{
        return eng ? eng->retention_ms : 0;
}

int df__engine_retention_over(const df__engine_t *eng, const df__exec_state_t *st, int64_t now)
{
        return eng && eng->retention_ms > 0 && st->exists && *st->exec.workflow &&
               df__exec_status_terminal(st->exec.status) && st->exec.updated_ms + eng->retention_ms <= now;
}

void df__engine_set_limits(df__engine_t *eng, int max_ops, int64_t max_bytes)
{
        eng->max_ops = max_ops < 1 ? 1 : max_ops;
        eng->max_bytes = max_bytes < 1 ? 1 : max_bytes;
}

int df__engine_threads(df__engine_t *eng)
{
        int n;
        pthread_mutex_lock(&eng->mu);
        n = eng->threads;
        pthread_mutex_unlock(&eng->mu);
        return n;
}

/* The pool for branch lanes, created on first use; NULL when threads = 1
 * or it could not be created (the caller then runs every branch itself). */
df__pool_t *df__engine_pool(df__engine_t *eng)
{
        df__pool_t *p;
        pthread_mutex_lock(&eng->mu);
        if (!eng->pool && eng->threads > 1) {
                eng->pool = df__pool_new(eng->threads - 1);
                if (!eng->pool) {
                        df__log(DF__LOG_WARN, "cannot start %d pool threads: branches run one after another",
                                eng->threads - 1);
                        eng->threads = 1;
                }
        }
        p = eng->pool;
        pthread_mutex_unlock(&eng->mu);
        return p;
}

void df__engine_set_clock(df__engine_t *eng, df__clock_fn fn, void *opaque)
{
        eng->clock = fn ? fn : df__wall_clock;
        eng->clock_opaque = opaque;
}

int64_t df__engine_now(const df__engine_t *eng)
{
        return eng->clock(eng->clock_opaque);
}

const char *df__engine_events_topic(const df__engine_t *eng)
{
        return eng->events_topic;
}

int df__engine_has_workflow(const df__engine_t *eng, const char *name)
{
        return df__wf_newest(eng, name) != NULL; /* a version of it is registered */
}

void df__engine_stats(const df__engine_t *eng, df__engine_stats_t *out)
{
        pthread_mutex_lock((pthread_mutex_t *)&eng->mu);
        *out = eng->stats;
        pthread_mutex_unlock((pthread_mutex_t *)&eng->mu);
}

struct df__drain {
        void (*fn)(const char *, void *);
        void *opaque;
};

static void df__drain_one(const char *key, void *val, void *opaque)
{
        struct df__drain *d = opaque;
        (void)val;
        d->fn(key, d->opaque);
}

void df__engine_amo_drain(df__engine_t *eng, void (*fn)(const char *execution_id, void *opaque), void *opaque)
{
        struct df__drain d = {fn, opaque};
        df__map_t *execs, *fresh;

        pthread_mutex_lock(&eng->mu);
        execs = eng->amo_execs;
        if (!df__map_size(execs)) {
                pthread_mutex_unlock(&eng->mu);
                return;
        }
        /* fn may re-arm new at-most-once steps: give it a fresh set. */
        fresh = df__map_new();
        if (!fresh) {
                pthread_mutex_unlock(&eng->mu);
                return;
        }
        eng->amo_execs = fresh;
        pthread_mutex_unlock(&eng->mu);
        df__map_foreach(execs, df__drain_one, &d);
        df__map_destroy(execs, NULL);
}

struct df__forget {
        const char *exec;
        size_t len;
        char **keys;
        int n, cap;
};

static void df__forget_collect(const char *key, void *val, void *opaque)
{
        struct df__forget *f = opaque;
        (void)val;
        if (strncmp(key, f->exec, f->len) || key[f->len] != '/')
                return;
        if (f->n == f->cap) {
                int cap = f->cap ? f->cap * 2 : 4;
                char **k = realloc(f->keys, (size_t)cap * sizeof(*k));
                if (!k)
                        return;
                f->keys = k;
                f->cap = cap;
        }
        if ((f->keys[f->n] = strdup(key)))
                f->n++;
}

void df__engine_amo_forget(df__engine_t *eng, const char *execution_id)
{
        struct df__forget f = {execution_id, strlen(execution_id), NULL, 0, 0};
        int i;
        pthread_mutex_lock(&eng->mu);
        df__map_del(eng->amo_execs, execution_id);
        df__map_foreach(eng->amo, df__forget_collect, &f);
        for (i = 0; i < f.n; i++) {
                df__map_del(eng->amo, f.keys[i]);
                free(f.keys[i]);
        }
        pthread_mutex_unlock(&eng->mu);
        free(f.keys);
}

void df__engine_amo_reset(df__engine_t *eng)
{
        pthread_mutex_lock(&eng->mu);
        df__map_clear(eng->amo, NULL);
        df__map_clear(eng->amo_execs, NULL);
        pthread_mutex_unlock(&eng->mu);
}

/* ---------------- callback ids ---------------- */

int df__callback_id_parse(const char *cb, char *op_id, size_t op_id_size, const char **exec)
{
        size_t i, n;
        const char *p;

        if (!cb)
                return -1;
        for (i = 0; i < 32; i++) {
                char c = cb[i];
                if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
                        return -1;
        }
        if (cb[32] != '_')
                return -1;
        p = cb + 33;
        for (n = 0; p[n] && p[n] != '_'; n++)
                if (!((p[n] >= '0' && p[n] <= '9') || p[n] == '.'))
                        return -1;
        if (n == 0 || p[n] != '_' || n + 1 > op_id_size)
                return -1;
        memcpy(op_id, p, n);
        op_id[n] = '\0';
        *exec = p + n + 1;
        if (!df__execution_id_valid(*exec))
                return -1;
        return 0;
}

/* Constant-time string comparison (callback tokens). */
static int df__secure_eq(const char *a, const char *b)
{
        size_t la = strlen(a), lb = strlen(b), i;
        unsigned char d = (unsigned char)(la != lb);
        for (i = 0; i < la && i < lb; i++)
                d |= (unsigned char)(a[i] ^ b[i]);
        return d == 0;
}

/* ---------------- text helpers ---------------- */

/* Every text the engine records goes through here: made valid UTF-8 and
 * cut to max bytes with a marker (df__text_safe), so what a workflow hands
 * over can always be encoded. */
static void df__set_text(char **dst, const char *src, size_t max)
{
        char *s = df__text_safe(src, max);
        if (!s)
                return; /* keep the old text rather than lose the pointer */
        free(*dst);
        *dst = s;
}

static void df__set_str(char **dst, const char *src)
{
        df__set_text(dst, src, DF__TEXT_MAX);
}

/* An operation's result and error, with the history's byte count kept. */
static int df__op_result(df__exec_state_t *st, df__op_rec_t *op, const void *data, size_t len)
{
        size_t old = op->result.len;
        if (df__buf_set(&op->result, data, len))
                return -1;
        st->rec_bytes = st->rec_bytes - old + len;
        return 0;
}

static void df__op_error(df__exec_state_t *st, df__op_rec_t *op, const char *text)
{
        size_t old = op->error ? strlen(op->error) : 0;
        df__set_str(&op->error, text);
        st->rec_bytes = st->rec_bytes - old + (op->error ? strlen(op->error) : 0);
}

/* ---------------- output helpers ---------------- */

static int df__emit_reply(const df__engine_out_t *out, const df__event_t *ev, df_err_t code, const char *msg,
                          int64_t now)
{
        df__result_rec_t r;

        if (!ev->request_id || !*ev->request_id)
                return 0;
        memset(&r, 0, sizeof(r));
        r.kind = DF__RK_REPLY;
        r.execution_id = ev->execution_id;
        r.request_id = ev->request_id;
        r.code = (int32_t)code;
        r.error = (char *)(msg ? msg : (code ? df_strerror(code) : ""));
        r.ts_ms = now;
        return out->result(out->opaque, &r);
}

/* An invoked child reached a terminal status: tell its parent. */
static int df__emit_child_done(const df__engine_out_t *out, const df__exec_rec_t *e, int64_t now)
{
        df__event_t ev;

        if (!e->parent_id || !*e->parent_id)
                return 0;
        memset(&ev, 0, sizeof(ev));
        ev.type = DF__EV_CHILD_DONE;
        ev.execution_id = e->parent_id;
        ev.op_id = e->parent_op;
        ev.child_id = e->execution_id;
        ev.status = e->status;
        ev.input = e->output;
        ev.error = e->error;
        ev.ts_ms = now;
        return out->event(out->opaque, &ev);
}

static int df__arm(const df__engine_t *eng, const df__engine_out_t *out, int64_t now, const char *exec,
                   const char *op_id, int kind, int64_t seq, int64_t due_ms, int32_t run);

/* A terminal status was recorded: the result record and the parent's event.
 * (retention.ms purges it later: the worker's sweep of its end-time index,
 * not a timer per execution, which cost a record and a partition in every
 * finishing transaction and grew the timer service's index to retention.ms
 * × the finishing rate.) */
static int df__emit_result(const df__engine_t *eng, const df__engine_out_t *out, const df__exec_state_t *st,
                           int64_t now)
{
        df__result_rec_t r;

        memset(&r, 0, sizeof(r));
        r.kind = DF__RK_RESULT;
        r.execution_id = st->exec.execution_id;
        r.request_id = "";
        r.status = st->exec.status;
        r.output = st->exec.output;
        r.error = st->exec.error ? st->exec.error : "";
        r.ts_ms = now;
        if (out->result(out->opaque, &r))
                return -1;
        if (eng)
                df__counter_inc(df__metric_series(eng->metrics, DF__M_EXECUTIONS_FINISHED, st->exec.workflow,
                                                  df__exec_status_name(st->exec.status)));
        if (df__emit_child_done(out, &st->exec, now))
                return -1;
        return df__schedule_run_ended(out, &st->exec, now); /* a scheduled run tells its schedule */
}

/* Timer ids: "<execution id>/<operation id>/<kind>/<seq>" (unique per arming). */
static char *df__timer_id(const char *exec, const char *op_id, int kind, int64_t seq)
{
        return df__asprintf("%s/%s/%d/%lld", exec, op_id, kind, (long long)seq);
}

/* Withdraw a timer that can only fire as a no-op now (the timer service
 * drops it from its index instead of firing it). */
static int df__cancel_timer(const df__engine_out_t *out, const df__op_rec_t *op, int kind, int64_t seq)
{
        char *tid;
        int rc;
        if (!out || !out->cancel_timer)
                return 0;
        tid = df__timer_id(op->execution_id, op->op_id, kind, seq);
        if (!tid)
                return -1;
        rc = out->cancel_timer(out->opaque, tid);
        free(tid);
        return rc;
}

/* A callback is over (completed or timed out): its other timers go. */
static int df__cancel_callback_timers(const df__engine_out_t *out, const df__op_rec_t *op, int fired_kind)
{
        if (op->due_ms > 0 && fired_kind != DF__TK_CB_TIMEOUT && df__cancel_timer(out, op, DF__TK_CB_TIMEOUT, 0))
                return -1;
        if (op->hb_timeout_ms > 0 && fired_kind != DF__TK_CB_HEARTBEAT &&
            df__cancel_timer(out, op, DF__TK_CB_HEARTBEAT, op->seq))
                return -1;
        return 0;
}

/* Ask the timer service for a TIMER event (exec, op_id, kind, seq) at due_ms. */
static int df__arm(const df__engine_t *eng, const df__engine_out_t *out, int64_t now, const char *exec,
                   const char *op_id, int kind, int64_t seq, int64_t due_ms, int32_t run)
{
        df__event_t ev;
        df__timer_rec_t t;
        df__buf_t payload = {0};
        char errstr[256];
        char *tid;
        int rc;

        memset(&ev, 0, sizeof(ev));
        ev.type = DF__EV_TIMER;
        ev.execution_id = (char *)exec;
        ev.op_id = (char *)op_id;
        ev.seq = seq;
        ev.timer_kind = kind;
        ev.ts_ms = now;
        ev.run = run; /* a restart discards the timers of earlier runs */
        if (df__event_encode(&ev, &payload, errstr, sizeof(errstr))) {
                df__log(DF__LOG_ERROR, "cannot encode timer event: %s", errstr);
                return -1;
        }
        tid = df__timer_id(exec, op_id, kind, seq);
        if (!tid) {
                free(payload.data);
                return -1;
        }
        memset(&t, 0, sizeof(t));
        t.timer_id = tid;
        t.due_ms = due_ms;
        t.topic = eng->events_topic;
        t.key.data = (uint8_t *)exec;
        t.key.len = strlen(exec);
        t.payload = payload;
        t.created_ms = now;
        rc = out->timer(out->opaque, &t);
        free(tid);
        free(payload.data);
        return rc;
}

static int df__arm_timer(df_ctx_t *ctx, const df__op_rec_t *op, int kind, int64_t seq, int64_t due_ms)
{
        return df__arm(ctx->run->eng, ctx->run->out, ctx->run->now, op->execution_id, op->op_id, kind, seq, due_ms,
                       ctx->run->st->exec.run);
}

/* ---------------- replay context helpers (run->mu held) ---------------- */

/* Set ctx->last_error to a formatted message (kept when out of memory). */
static void df__ctx_errorf(df_ctx_t *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void df__ctx_errorf(df_ctx_t *ctx, const char *fmt, ...)
{
        char buf[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        df__set_str(&ctx->last_error, buf);
}

/*
 * An operation name from the workflow's code: 1..DF__NAME_MAX bytes of
 * UTF-8 without control characters.  DF_OK, or DF_ERR_INVALID_ARG with
 * ctx's last error naming the rule (the handler that returns it fails the
 * execution visibly with that message).
 */
static df_err_t df__name_check(df_ctx_t *ctx, const char *what, const char *name)
{
        size_t len = strlen(name), bad = df__utf8_invalid_at(name, len), i;

        if (len == 0 || len > DF__NAME_MAX) {
                df__ctx_errorf(ctx, "%s name is %zu bytes: a name is 1..%d bytes of UTF-8 without control characters",
                               what, len, DF__NAME_MAX);
                return DF_ERR_INVALID_ARG;
        }
        if (bad < len) {
                df__ctx_errorf(ctx, "%s name: invalid UTF-8 at byte %zu (a name is 1..%d bytes of UTF-8 without "
                                    "control characters)",
                               what, bad, DF__NAME_MAX);
                return DF_ERR_INVALID_ARG;
        }
        for (i = 0; i < len; i++) {
                unsigned char c = (unsigned char)name[i];
                if (c < 0x20 || c == 0x7f) {
                        df__ctx_errorf(ctx, "%s name: control character 0x%02x at byte %zu (a name is 1..%d bytes "
                                            "of UTF-8 without control characters)",
                                       what, c, i, DF__NAME_MAX);
                        return DF_ERR_INVALID_ARG;
                }
        }
        return DF_OK;
}

static void *df__run_alloc(df__run_t *run, size_t size)
{
        void *p;
        if (run->n_arena == run->cap_arena) {
                int cap = run->cap_arena ? run->cap_arena * 2 : 8;
                void **a = realloc(run->arena, (size_t)cap * sizeof(*a));
                if (!a)
                        return NULL;
                run->arena = a;
                run->cap_arena = cap;
        }
        p = calloc(1, size ? size : 1);
        if (p)
                run->arena[run->n_arena++] = p;
        return p;
}

static char *df__run_strdup(df__run_t *run, const char *s)
{
        size_t n = strlen(s);
        char *p = df__run_alloc(run, n + 1);
        if (p)
                memcpy(p, s, n + 1);
        return p;
}

static df_err_t df__internal(df_ctx_t *ctx)
{
        ctx->run->failed_internal = 1;
        ctx->suspended = 1; /* nothing more may run in this replay */
        return DF_SUSPENDED;
}

static df_err_t df__suspend(df_ctx_t *ctx);

/* Suspend, naming what the execution waits on (the metric's kind): the
 * first one named in a replay counts. */
static df_err_t df__suspend_as(df_ctx_t *ctx, const char *kind)
{
        if (!ctx->run->suspend_kind)
                ctx->run->suspend_kind = kind;
        return df__suspend(ctx);
}

static df_err_t df__suspend(df_ctx_t *ctx)
{
        ctx->suspended = 1;
        ctx->replaying = 0;
        return DF_SUSPENDED;
}

/* One CONTINUE event per replay: whoever owns the execution then replays it. */
static int df__emit_continue(df__run_t *run)
{
        df__event_t ev;
        if (run->continued)
                return 0;
        memset(&ev, 0, sizeof(ev));
        ev.type = DF__EV_CONTINUE;
        ev.execution_id = run->st->exec.execution_id;
        ev.ts_ms = run->now;
        if (run->out->event(run->out->opaque, &ev))
                return -1;
        run->continued = 1;
        return 0;
}

/* Suspend now and continue in a later batch (a CONTINUE event): every
 * context of the replay stops. */
static df_err_t df__yield(df_ctx_t *ctx)
{
        if (df__emit_continue(ctx->run))
                return df__internal(ctx);
        ctx->run->yielded = 1;
        return df__suspend(ctx);
}

/* A branch whose batch completed without it (or inside such a branch). */
static int df__ctx_abandoned(const df_ctx_t *ctx);

/* Entry check of every operation: DF_OK to go on, or what to return. */
static df_err_t df__op_gate(df_ctx_t *ctx)
{
        df__run_t *run = ctx->run;
        if (run->nondet)
                return DF_ERR_NONDETERMINISM;
        if (run->limit_msg)
                return DF_ERR_HISTORY_LIMIT;
        if (run->failed_internal || run->yielded || ctx->suspended)
                return DF_SUSPENDED;
        if (df__ctx_abandoned(ctx))
                return df__suspend(ctx);
        return DF_OK;
}

static void df__nondet_msg(df__run_t *run, char *msg)
{
        run->nondet = 1;
        if (!run->nondet_msg)
                run->nondet_msg = msg;
        else
                free(msg);
}

static df_err_t df__nondet(df_ctx_t *ctx, const char *id, const df__op_rec_t *op, int type, const char *name)
{
        char *msg = df__asprintf("non-determinism at operation %s: history has %s \"%s\", code calls %s \"%s\"", id,
                                 df__op_type_name(op->type), op->name, df__op_type_name(type), name);
        df__nondet_msg(ctx->run, msg);
        if (msg)
                df__set_str(&ctx->last_error, msg);
        return DF_ERR_NONDETERMINISM;
}

/* The id of the next operation of ctx, in idbuf (DF__OP_ID_MAX). */
static df_err_t df__next_id(df_ctx_t *ctx, char *idbuf)
{
        int n = ++ctx->next_op;
        int len;
        if (n > DF__OP_INDEX_MAX) {
                df__ctx_errorf(ctx, "a context holds at most %d operations", DF__OP_INDEX_MAX);
                return DF_ERR_INVALID_ARG;
        }
        len = ctx->op ? snprintf(idbuf, DF__OP_ID_MAX, "%s.%d", ctx->op->op_id, n)
                      : snprintf(idbuf, DF__OP_ID_MAX, "%d", n);
        if (len >= DF__OP_ID_MAX || !df__op_id_valid(idbuf)) {
                df__ctx_errorf(ctx, "child contexts nested deeper than %d levels", DF__OP_DEPTH_MAX);
                return DF_ERR_INVALID_ARG;
        }
        return DF_OK;
}

/* The next op of ctx (its id in idbuf), checked against the code's type and
 * name.  *op = NULL when the history has none. */
static df_err_t df__op_lookup(df_ctx_t *ctx, int type, const char *name, char *idbuf, df__op_rec_t **op)
{
        df__op_rec_t *o;
        df_err_t rc;

        *op = NULL;
        if ((rc = df__next_id(ctx, idbuf)) != DF_OK)
                return rc;
        snprintf(ctx->last_op, sizeof(ctx->last_op), "%s", idbuf);
        ctx->last_attempt = 0;
        o = df__exec_state_find(ctx->run->st, idbuf);
        if (!o)
                return DF_OK;
        if (o->type != type || strcmp(o->name, name))
                return df__nondet(ctx, idbuf, o, type, name);
        *op = o;
        ctx->last_attempt = o->attempt;
        /* the code after the last recorded operation runs for the first time */
        ctx->replaying = ctx->next_op < ctx->rec_count;
        return DF_OK;
}

/* The history limit on operations: DF_OK, or DF_ERR_HISTORY_LIMIT with the
 * execution failing by it. */
static df_err_t df__limit_ops(df_ctx_t *ctx, const char *id, const char *name)
{
        df__run_t *run = ctx->run;
        if (run->st->n_ops < run->eng->max_ops)
                return DF_OK;
        if (!run->limit_msg)
                run->limit_msg = df__asprintf(
                        "history limit: the execution has recorded %d operations, the most history.max.operations "
                        "allows (%d); operation %s \"%s\" was not recorded",
                        run->st->n_ops, run->eng->max_ops, id, name);
        if (!run->limit_msg)
                return df__internal(ctx);
        df__set_str(&ctx->last_error, run->limit_msg);
        return DF_ERR_HISTORY_LIMIT;
}

/* The history limit on bytes, before `add` bytes replace `old` ones. */
static df_err_t df__limit_bytes(df_ctx_t *ctx, size_t old, size_t add, const char *what, const char *name)
{
        df__run_t *run = ctx->run;
        size_t total = run->st->rec_bytes - old + add;
        if ((int64_t)total <= run->eng->max_bytes)
                return DF_OK;
        if (!run->limit_msg)
                run->limit_msg = df__asprintf(
                        "history limit: recording the %zu-byte result of %s \"%s\" would take the execution's "
                        "history to %zu bytes, over history.max.bytes (%lld)",
                        add, what, name, total, (long long)run->eng->max_bytes);
        if (!run->limit_msg)
                return df__internal(ctx);
        df__set_str(&ctx->last_error, run->limit_msg);
        return DF_ERR_HISTORY_LIMIT;
}

/* A new op record with id (the next of ctx), stored in st; DF_OK and *out,
 * DF_ERR_HISTORY_LIMIT, or an internal failure. */
static df_err_t df__op_new(df_ctx_t *ctx, const char *id, int type, const char *name, df__op_rec_t **out)
{
        df__exec_state_t *st = ctx->run->st;
        df__op_rec_t op;
        df_err_t rc;

        *out = NULL;
        if ((rc = df__limit_ops(ctx, id, name)) != DF_OK)
                return rc;
        memset(&op, 0, sizeof(op));
        op.execution_id = df__strdup0(st->exec.execution_id);
        op.op_id = df__strdup0(id);
        op.parent_id = df__strdup0(ctx->op ? ctx->op->op_id : "");
        op.name = df__strdup0(name);
        op.error = df__strdup0("");
        op.callback_id = df__strdup0("");
        op.child_id = df__strdup0("");
        op.type = type;
        /* the clock now, not the replay's start: a step's times are when it
         * began and ended (the replay's own decisions use run->now) */
        op.started_ms = op.updated_ms = df__engine_now(ctx->run->eng);
        if (!op.execution_id || !op.op_id || !op.parent_id || !op.name || !op.error || !op.callback_id ||
            !op.child_id || df__exec_state_put_op(st, &op)) {
                df__op_clear(&op);
                return df__internal(ctx);
        }
        df__exec_state_touch(st, id);
        if (ctx->op && ctx->op->child_count < ctx->next_op) {
                ctx->op->child_count = ctx->next_op;
                df__exec_state_touch(st, ctx->op->op_id);
        }
        ctx->replaying = 0;
        *out = df__exec_state_find(st, id);
        return DF_OK;
}

static void df__op_touch(df_ctx_t *ctx, df__op_rec_t *op)
{
        op->updated_ms = df__engine_now(ctx->run->eng);
        df__exec_state_touch(ctx->run->st, op->op_id);
}

/* Lock and unlock the replay's shared state. */
static void df__lock(df_ctx_t *ctx)
{
        pthread_mutex_lock(&ctx->run->mu);
}

static void df__unlock(df_ctx_t *ctx)
{
        pthread_mutex_unlock(&ctx->run->mu);
}

/* ---------------- public ctx accessors ---------------- */

const char *df_ctx_execution_id(const df_ctx_t *ctx)
{
        return ctx->run->st->exec.execution_id;
}

df_err_t df_ctx_set_output(df_ctx_t *ctx, const void *data, size_t len)
{
        if (!ctx || (len && !data))
                return DF_ERR_INVALID_ARG;
        if (len > DF_PAYLOAD_MAX)
                return DF_ERR_PAYLOAD_TOO_LARGE;
        return df__buf_set(&ctx->output, data, len) ? DF_ERR_NOMEM : DF_OK;
}

void df_ctx_fail(df_ctx_t *ctx, const char *message)
{
        if (ctx)
                df__set_str(&ctx->fail_msg, message);
}

const char *df_ctx_last_error(const df_ctx_t *ctx)
{
        return ctx && ctx->last_error ? ctx->last_error : "";
}

int df_ctx_is_replaying(const df_ctx_t *ctx)
{
        return ctx ? ctx->replaying : 0;
}

int df_ctx_version(const df_ctx_t *ctx)
{
        return ctx ? ctx->run->st->exec.version : 0;
}

/* ---------------- step ---------------- */

int df_step_attempt(const df_step_t *step)
{
        return step->attempt;
}

const char *df_step_idempotency_key(const df_step_t *step)
{
        return step->idem_key;
}

df_err_t df_step_traceparent(const df_step_t *step, char *buf, size_t size)
{
        char tp[DF__TP_SIZE];

        if (!step || !buf || size < DF_TRACEPARENT_SIZE) {
                if (buf && size)
                        buf[0] = '\0';
                return DF_ERR_INVALID_ARG;
        }
        if (df__etrace_step_context(step->ctx->run->out->trace, step->op, step->attempt, tp)) {
                buf[0] = '\0';
                return DF_ERR_STATE;
        }
        memcpy(buf, tp, DF_TRACEPARENT_SIZE);
        return DF_OK;
}

df_err_t df_step_set_result(df_step_t *step, const void *data, size_t len)
{
        if (!step || (len && !data))
                return DF_ERR_INVALID_ARG;
        if (len > DF_PAYLOAD_MAX) {
                step->result_err = DF_ERR_PAYLOAD_TOO_LARGE;
                return DF_ERR_PAYLOAD_TOO_LARGE;
        }
        if (df__buf_set(&step->result, data, len))
                return DF_ERR_NOMEM;
        step->result_set = 1;
        return DF_OK;
}

void df_step_set_error(df_step_t *step, const char *type, const char *message)
{
        if (!step)
                return;
        /* cut so that "type: message" stays within DF__TEXT_MAX */
        df__set_text(&step->err_type, type ? type : "StepError", DF__NAME_MAX);
        df__set_text(&step->err_msg, message, DF__TEXT_MAX - DF__NAME_MAX - 64);
}

static void df__step_opts_resolve(const df_step_opts_t *in, df_step_opts_t *o)
{
        memset(o, 0, sizeof(*o));
        if (in)
                *o = *in;
        if (o->max_attempts < 1)
                o->max_attempts = 3;
        if (o->initial_delay_ms <= 0)
                o->initial_delay_ms = 1000;
        if (o->max_delay_ms <= 0)
                o->max_delay_ms = 60000;
        if (o->max_delay_ms < o->initial_delay_ms)
                o->max_delay_ms = o->initial_delay_ms;
        if (!(o->backoff_rate >= 1.0))
                o->backoff_rate = 2.0;
}

/* Delay before attempt (failed_attempt + 1). */
static int64_t df__retry_delay(const df_step_opts_t *o, int failed_attempt)
{
        double d = (double)o->initial_delay_ms * pow(o->backoff_rate, failed_attempt - 1);
        int64_t delay = d > (double)o->max_delay_ms ? o->max_delay_ms : (int64_t)d;
        uint32_t r = 0;

        if (o->jitter != DF_JITTER_NONE && delay > 0) {
                df__random_bytes(&r, sizeof(r));
                if (o->jitter == DF_JITTER_FULL)
                        delay = (int64_t)((double)delay * ((double)r / 4294967295.0));
                else
                        delay = delay / 2 + (int64_t)((double)(delay - delay / 2) * ((double)r / 4294967295.0));
        }
        return delay;
}

static int df__non_retryable(const df_step_opts_t *o, const char *type)
{
        const char *const *p;
        if (!o->non_retryable || !type)
                return 0;
        for (p = o->non_retryable; *p; p++)
                if (!strcmp(*p, type))
                        return 1;
        return 0;
}

static void df__step_free(df_step_t *s)
{
        free(s->idem_key);
        free(s->result.data);
        free(s->err_type);
        free(s->err_msg);
}

/* A failed attempt: retry later or fail the step. */
static df_err_t df__step_failed(df_ctx_t *ctx, df__op_rec_t *op, const df_step_opts_t *o, int attempt,
                                const char *type, const char *msg)
{
        char *text = df__asprintf("%s: %s", type, msg);

        if (!text)
                return df__internal(ctx);
        df__op_error(ctx->run->st, op, text);
        free(text);
        op->attempt = attempt;
        ctx->last_attempt = attempt;
        df__op_result(ctx->run->st, op, NULL, 0);
        df__op_touch(ctx, op);
        if (attempt < o->max_attempts && !df__non_retryable(o, type)) {
                int64_t delay = df__retry_delay(o, attempt);
                op->status = DF__OS_PENDING;
                op->due_ms = ctx->run->now + delay;
                op->seq++;
                if (df__arm_timer(ctx, op, DF__TK_RETRY, op->seq, op->due_ms))
                        return df__internal(ctx);
                df__counter_inc(df__metric_series(ctx->run->eng->metrics, DF__M_STEP_RETRIES, ctx->run->st->exec.workflow));
                return df__suspend_as(ctx, "retry");
        }
        op->status = DF__OS_FAILED;
        op->due_ms = 0;
        df__set_str(&ctx->last_error, op->error);
        return DF_ERR_STEP_FAILED;
}

/* What an operation returns when the replay was stopped (or ctx
 * abandoned) while a body or child ran unlocked. */
static df_err_t df__stopped(df_ctx_t *ctx)
{
        df_err_t rc = df__op_gate(ctx);
        return rc == DF_OK ? DF_SUSPENDED : rc;
}

static int df__run_stopped(const df__run_t *run)
{
        return run->nondet || run->limit_msg || run->failed_internal || run->yielded;
}

/* Run one attempt of a step body (run->mu held on entry and on return;
 * released while the body runs).  0 with *body_rc = what the body
 * returned, or -1 when it could not start (the replay fails internally:
 * out of memory, or the test runner's simulated death in step_begin). */
static int df__body_call(df_ctx_t *ctx, df_step_t *s, df__op_rec_t *op, int attempt,
                         df_err_t (*call)(df_step_t *, void *), void *arg, df_err_t *body_rc)
{
        df__run_t *run = ctx->run;
        int64_t t0;

        memset(s, 0, sizeof(*s));
        s->ctx = ctx;
        s->op = op;
        s->attempt = attempt;
        s->idem_key = df__asprintf("%s/%s", op->execution_id, op->op_id);
        if (!s->idem_key) {
                df__internal(ctx);
                return -1;
        }
        ctx->replaying = 0;
        ctx->last_attempt = attempt;
        if (run->out->step_begin && run->out->step_begin(run->out->opaque, op->execution_id, op->op_id, attempt)) {
                df__internal(ctx);
                return -1;
        }
        s->t0_ms = df__engine_now(run->eng);
        df__unlock(ctx);
        t0 = df__mono_ms();
        *body_rc = call(s, arg);
        df__histogram_observe(df__metric_series(run->eng->metrics, DF__M_STEP_DURATION, run->st->exec.workflow,
                                                *body_rc == DF_OK ? "succeeded" : "failed"),
                              (double)(df__mono_ms() - t0) / 1000.0);
        df__lock(ctx);
        if (run->out->step_end)
                run->out->step_end(run->out->opaque);
        pthread_mutex_lock(&run->eng->mu);
        run->eng->stats.steps_run++;
        pthread_mutex_unlock(&run->eng->mu);
        return 0;
}

struct df__plain_step {
        df_step_fn fn;
        void *opaque;
};

static df_err_t df__plain_call(df_step_t *s, void *arg)
{
        struct df__plain_step *p = arg;
        return p->fn(s, p->opaque);
}

static df_err_t df__step_run(df_ctx_t *ctx, df__op_rec_t *op, df_step_fn fn, void *opaque, const df_step_opts_t *o,
                             int attempt, df_bytes_t *result)
{
        struct df__plain_step p = {fn, opaque};
        df_step_t s;
        df_err_t rc;

        if (df__body_call(ctx, &s, op, attempt, df__plain_call, &p, &rc)) {
                df__step_free(&s);
                return DF_SUSPENDED;
        }
        if (df__run_stopped(ctx->run) || df__ctx_abandoned(ctx)) {
                /* the batch this branch was in completed meanwhile, or
                 * another context stopped the replay: record nothing */
                df__step_free(&s);
                return df__stopped(ctx);
        }
        if (rc == DF_OK && !s.result_err) {
                df_err_t lrc = df__limit_bytes(ctx, op->result.len, s.result.len, "step", op->name);
                df__buf_t tmp;
                if (lrc != DF_OK) {
                        df__step_free(&s);
                        return lrc;
                }
                ctx->run->st->rec_bytes = ctx->run->st->rec_bytes - op->result.len + s.result.len;
                tmp = op->result;
                op->result = s.result;
                s.result = tmp;
                op->status = DF__OS_SUCCEEDED;
                op->attempt = attempt;
                op->due_ms = 0;
                ctx->run->new_bytes += op->result.len + 256;
                df__op_error(ctx->run->st, op, "");
                df__op_touch(ctx, op);
                df__etrace_attempt(ctx->run->out->trace, op, attempt, s.t0_ms, df__engine_now(ctx->run->eng), 1);
                df__step_free(&s);
                if (result) {
                        result->data = op->result.data;
                        result->len = op->result.len;
                }
                return DF_OK;
        }
        if (rc == DF_OK)
                rc = (df_err_t)s.result_err;
        {
                const char *type = s.err_type ? s.err_type : df_err_name(rc);
                const char *msg = s.err_msg ? s.err_msg : df_strerror(rc);
                /* An oversize result can never succeed: fail without retrying. */
                df_step_opts_t once = *o;
                if (s.result_err == DF_ERR_PAYLOAD_TOO_LARGE)
                        once.max_attempts = attempt;
                rc = df__step_failed(ctx, op, &once, attempt, type, msg);
                df__etrace_attempt(ctx->run->out->trace, op, attempt, s.t0_ms, df__engine_now(ctx->run->eng), 0);
        }
        df__step_free(&s);
        return rc;
}

/*
 * A crash note (DF__EV_CRASH) says the worker process died while the body of
 * step op ran at this attempt: that attempt failed with WorkerCrashed and
 * goes into the retry strategy, without running the body again.  1 when
 * the note was for it (and is now consumed), else 0.
 */
static int df__crash_noted(df_ctx_t *ctx, const df__op_rec_t *op, int attempt)
{
        df__exec_rec_t *e = &ctx->run->st->exec;

        if (!e->crash_op || !*e->crash_op)
                return 0;
        if (strcmp(e->crash_op, op->op_id) || e->crash_attempt != attempt)
                return 0;
        df__set_str(&e->crash_op, "");
        e->crash_attempt = 0;
        ctx->run->st->exec_dirty = 1;
        ctx->run->crash_consumed = 1;
        return 1;
}

static df_err_t df__step_crashed(df_ctx_t *ctx, df__op_rec_t *op, const df_step_opts_t *o, int attempt,
                                 const char *name)
{
        char msg[DF__NAME_MAX + 128];
        snprintf(msg, sizeof(msg), "the worker process died while running step \"%s\" (attempt %d)", name, attempt);
        df_err_t rc;
        df__log(DF__LOG_WARN, "execution %s: %s", ctx->run->st->exec.execution_id, msg);
        rc = df__step_failed(ctx, op, o, attempt, "WorkerCrashed", msg);
        /* the attempt that died: its span, ended now (its start went with the process) */
        df__etrace_attempt(ctx->run->out->trace, op, attempt, 0, df__engine_now(ctx->run->eng), 0);
        return rc;
}

static df_err_t df__step_locked(df_ctx_t *ctx, const char *name, df_step_fn fn, void *opaque,
                                const df_step_opts_t *opts, df_bytes_t *result)
{
        df__run_t *run = ctx->run;
        df_step_opts_t o;
        df__op_rec_t *op;
        df_err_t rc;
        int attempt, err;
        char id[DF__OP_ID_MAX], key[DF__OP_ID_MAX + 256];

        if ((rc = df__op_gate(ctx)) != DF_OK)
                return rc;
        if ((rc = df__name_check(ctx, "step", name)) != DF_OK)
                return rc;
        df__step_opts_resolve(opts, &o);
        if ((rc = df__op_lookup(ctx, DF__OP_STEP, name, id, &op)) != DF_OK)
                return rc;
        snprintf(key, sizeof(key), "%s/%s", run->st->exec.execution_id, id);
        if (op) {
                switch (op->status) {
                case DF__OS_SUCCEEDED:
                        if (result) {
                                result->data = op->result.data;
                                result->len = op->result.len;
                        }
                        return DF_OK;
                case DF__OS_FAILED:
                        df__set_str(&ctx->last_error, op->error);
                        return DF_ERR_STEP_FAILED;
                case DF__OS_PENDING:
                        if (op->due_ms > 0)
                                return df__suspend_as(ctx, "retry"); /* backoff not over */
                        attempt = op->attempt + 1;
                        break;
                case DF__OS_STARTED: {
                        intptr_t pending;
                        pthread_mutex_lock(&run->eng->mu);
                        pending = (intptr_t)df__map_get(run->eng->amo, key);
                        if (pending == op->attempt && run->committed)
                                df__map_del(run->eng->amo, key);
                        pthread_mutex_unlock(&run->eng->mu);
                        if (pending == op->attempt) {
                                if (!run->committed)
                                        return df__suspend(ctx); /* START not committed yet */
                                return df__step_run(ctx, op, fn, opaque, &o, op->attempt, result);
                        }
                        /* START committed by a run that never recorded a result. */
                        if (df__crash_noted(ctx, op, op->attempt))
                                return df__step_crashed(ctx, op, &o, op->attempt, name);
                        rc = df__step_failed(ctx, op, &o, op->attempt, "StepInterrupted",
                                             "at-most-once step started but no result was recorded");
                        df__etrace_attempt(run->out->trace, op, op->attempt, op->updated_ms,
                                           df__engine_now(run->eng), 0);
                        return rc;
                }
                default:
                        return df__internal(ctx);
                }
        } else {
                /* The batch holds as many output bytes as it may: commit it
                 * first; this execution goes on in the next batch. */
                if (run->out->over_budget && run->out->over_budget(run->out->opaque, run->new_bytes))
                        return df__yield(ctx);
                if ((rc = df__op_new(ctx, id, DF__OP_STEP, name, &op)) != DF_OK)
                        return rc;
                attempt = 1;
        }
        if (df__crash_noted(ctx, op, attempt))
                return df__step_crashed(ctx, op, &o, attempt, name);
        if (o.semantics == DF_AT_MOST_ONCE_PER_RETRY) {
                op->status = DF__OS_STARTED;
                op->attempt = attempt;
                op->due_ms = 0;
                df__op_touch(ctx, op);
                pthread_mutex_lock(&run->eng->mu);
                df__map_put(run->eng->amo, key, (void *)(intptr_t)attempt, &err);
                if (!err)
                        df__map_put(run->eng->amo_execs, op->execution_id, (void *)1, &err);
                pthread_mutex_unlock(&run->eng->mu);
                if (err)
                        return df__internal(ctx);
                /* Whoever owns the execution after the commit replays it. */
                if (df__emit_continue(run))
                        return df__internal(ctx);
                return df__suspend(ctx);
        }
        return df__step_run(ctx, op, fn, opaque, &o, attempt, result);
}

df_err_t df_step(df_ctx_t *ctx, const char *name, df_step_fn fn, void *opaque, const df_step_opts_t *opts,
                 df_bytes_t *result)
{
        df_err_t rc;

        if (result) {
                result->data = NULL;
                result->len = 0;
        }
        if (!ctx || !name || !fn)
                return DF_ERR_INVALID_ARG;
        df__lock(ctx);
        rc = df__step_locked(ctx, name, fn, opaque, opts, result);
        df__unlock(ctx);
        return rc;
}

/* ---------------- wait ---------------- */

df_err_t df_wait(df_ctx_t *ctx, const char *name, int64_t duration_ms)
{
        df__op_rec_t *op;
        df_err_t rc;
        char id[DF__OP_ID_MAX];

        if (!ctx || !name)
                return DF_ERR_INVALID_ARG;
        df__lock(ctx);
        if ((rc = df__op_gate(ctx)) != DF_OK)
                goto out;
        if ((rc = df__name_check(ctx, "wait", name)) != DF_OK)
                goto out;
        if (duration_ms < 0 || duration_ms > DF_WAIT_MAX_MS) {
                df__ctx_errorf(ctx, "wait \"%s\": duration_ms %lld is outside 0..%lld (366 days)", name,
                               (long long)duration_ms, (long long)DF_WAIT_MAX_MS);
                rc = DF_ERR_INVALID_ARG;
                goto out;
        }
        if ((rc = df__op_lookup(ctx, DF__OP_WAIT, name, id, &op)) != DF_OK)
                goto out;
        if (op) {
                rc = op->status == DF__OS_SUCCEEDED ? DF_OK : df__suspend_as(ctx, "wait");
                goto out;
        }
        if ((rc = df__op_new(ctx, id, DF__OP_WAIT, name, &op)) != DF_OK)
                goto out;
        op->status = DF__OS_PENDING;
        op->due_ms = ctx->run->now + duration_ms;
        op->seq = 1;
        if (df__arm_timer(ctx, op, DF__TK_WAIT, op->seq, op->due_ms))
                rc = df__internal(ctx);
        else
                rc = df__suspend_as(ctx, "wait");
out:
        df__unlock(ctx);
        return rc;
}

/* ---------------- callbacks ---------------- */

static df_err_t df__create_callback_locked(df_ctx_t *ctx, const char *name, const df_callback_opts_t *opts,
                                           const char **callback_id)
{
        df_callback_opts_t o = {0, 0};
        df__op_rec_t *op;
        unsigned char rnd[16];
        char hex[33], id[DF__OP_ID_MAX];
        df_err_t rc;
        int i;

        if ((rc = df__op_gate(ctx)) != DF_OK)
                return rc;
        if ((rc = df__name_check(ctx, "callback", name)) != DF_OK)
                return rc;
        if (opts)
                o = *opts;
        if (o.timeout_ms < 0 || o.timeout_ms > DF_WAIT_MAX_MS || o.heartbeat_timeout_ms < 0 ||
            o.heartbeat_timeout_ms > DF_WAIT_MAX_MS) {
                df__ctx_errorf(ctx, "callback \"%s\": timeout_ms %lld and heartbeat_timeout_ms %lld must be in "
                                    "0..%lld (366 days)",
                               name, (long long)o.timeout_ms, (long long)o.heartbeat_timeout_ms,
                               (long long)DF_WAIT_MAX_MS);
                return DF_ERR_INVALID_ARG;
        }
        if ((rc = df__op_lookup(ctx, DF__OP_CALLBACK, name, id, &op)) != DF_OK)
                return rc;
        if (op) {
                *callback_id = op->callback_id;
                return DF_OK;
        }
        if ((rc = df__op_new(ctx, id, DF__OP_CALLBACK, name, &op)) != DF_OK)
                return rc;
        if (df__random_bytes(rnd, sizeof(rnd)))
                return df__internal(ctx);
        for (i = 0; i < 16; i++)
                snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
        free(op->callback_id);
        op->callback_id = df__asprintf("%s_%s_%s", hex, id, op->execution_id);
        if (!op->callback_id)
                return df__internal(ctx);
        op->status = DF__OS_PENDING;
        op->hb_timeout_ms = o.heartbeat_timeout_ms;
        op->due_ms = o.timeout_ms ? ctx->run->now + o.timeout_ms : 0;
        if (o.timeout_ms && df__arm_timer(ctx, op, DF__TK_CB_TIMEOUT, 0, op->due_ms))
                return df__internal(ctx);
        if (o.heartbeat_timeout_ms &&
            df__arm_timer(ctx, op, DF__TK_CB_HEARTBEAT, op->seq, ctx->run->now + o.heartbeat_timeout_ms))
                return df__internal(ctx);
        ctx->replaying = 0;
        *callback_id = op->callback_id;
        return DF_OK;
}

df_err_t df_create_callback(df_ctx_t *ctx, const char *name, const df_callback_opts_t *opts,
                            const char **callback_id)
{
        df_err_t rc;
        if (callback_id)
                *callback_id = NULL;
        if (!ctx || !name || !callback_id)
                return DF_ERR_INVALID_ARG;
        df__lock(ctx);
        rc = df__create_callback_locked(ctx, name, opts, callback_id);
        df__unlock(ctx);
        return rc;
}

/* The CALLBACK operation of this execution whose id is callback_id (the
 * operation id is part of it: O(1)), or NULL. */
static df__op_rec_t *df__callback_op(const df__exec_state_t *st, const char *callback_id)
{
        char opid[DF__OP_ID_MAX];
        const char *exec;
        df__op_rec_t *op;

        if (df__callback_id_parse(callback_id, opid, sizeof(opid), &exec) || strcmp(exec, st->exec.execution_id))
                return NULL;
        op = df__exec_state_find(st, opid);
        if (!op || op->type != DF__OP_CALLBACK || !df__secure_eq(op->callback_id, callback_id))
                return NULL;
        return op;
}

df_err_t df_callback_result(df_ctx_t *ctx, const char *callback_id, df_bytes_t *result)
{
        df__op_rec_t *op;
        df_err_t rc;

        if (result) {
                result->data = NULL;
                result->len = 0;
        }
        if (!ctx || !callback_id)
                return DF_ERR_INVALID_ARG;
        df__lock(ctx);
        if ((rc = df__op_gate(ctx)) != DF_OK)
                goto out;
        op = df__callback_op(ctx->run->st, callback_id);
        if (!op) {
                rc = DF_ERR_INVALID_ARG;
                goto out;
        }
        switch (op->status) {
        case DF__OS_SUCCEEDED:
                if (result) {
                        result->data = op->result.data;
                        result->len = op->result.len;
                }
                rc = DF_OK;
                break;
        case DF__OS_FAILED:
                df__set_str(&ctx->last_error, op->error);
                rc = DF_ERR_CALLBACK_FAILED;
                break;
        case DF__OS_TIMED_OUT:
                df__set_str(&ctx->last_error, op->error);
                rc = DF_ERR_TIMED_OUT;
                break;
        default:
                rc = df__suspend_as(ctx, "callback");
                break;
        }
out:
        df__unlock(ctx);
        return rc;
}

struct df__submit {
        df_submitter_fn fn;
        const char *callback_id;
        void *opaque;
};

static df_err_t df__submit_step(df_step_t *step, void *opaque)
{
        struct df__submit *s = opaque;
        return s->fn(step, s->callback_id, s->opaque);
}

df_err_t df_wait_for_callback(df_ctx_t *ctx, const char *name, df_submitter_fn submitter, void *opaque,
                              const df_callback_opts_t *opts, const df_step_opts_t *step_opts, df_bytes_t *result)
{
        struct df__submit s;
        const char *cb;
        char sname[512];
        df_err_t rc;

        if (result) {
                result->data = NULL;
                result->len = 0;
        }
        if (!ctx || !name || !submitter)
                return DF_ERR_INVALID_ARG;
        if ((rc = df_create_callback(ctx, name, opts, &cb)) != DF_OK)
                return rc;
        snprintf(sname, sizeof(sname), "%s.submit", name);
        s.fn = submitter;
        s.callback_id = cb;
        s.opaque = opaque;
        if ((rc = df_step(ctx, sname, df__submit_step, &s, step_opts, NULL)) != DF_OK)
                return rc;
        return df_callback_result(ctx, cb, result);
}

/* ---------------- child contexts ---------------- */

static void df__ctx_init(df_ctx_t *c, df_ctx_t *parent, df__op_rec_t *op)
{
        memset(c, 0, sizeof(*c));
        c->run = parent->run;
        c->parent = parent;
        c->op = op;
        c->rec_count = op->child_count;
        c->replaying = c->rec_count > 0;
        snprintf(c->last_op, sizeof(c->last_op), "%s", op->op_id);
}

static void df__ctx_release(df_ctx_t *c)
{
        free(c->last_error);
        free(c->fail_msg);
        free(c->output.data);
        c->last_error = c->fail_msg = NULL;
        c->output.data = NULL;
        c->output.len = 0;
}

/* A child context's end: the clock now (not the replay's start, run->now,
 * which is before the child began when it began in this replay), and never
 * before its start or the last change of an operation in it. */
static void df__op_end_time(df__run_t *run, df__op_rec_t *op)
{
        int64_t t = df__engine_now(run->eng);
        char id[DF__OP_ID_MAX + 16];
        int i;

        if (t < op->started_ms)
                t = op->started_ms;
        for (i = 1; i <= op->child_count; i++) {
                const df__op_rec_t *k;
                snprintf(id, sizeof(id), "%s.%d", op->op_id, i);
                if ((k = df__exec_state_find(run->st, id)) && k->updated_ms > t)
                        t = k->updated_ms;
        }
        op->updated_ms = t;
        df__exec_state_touch(run->st, op->op_id);
}

/* Outcome of a child context's function fn returned rc (run->mu held).
 * Records the CHILD op's result or failure unless the replay stopped or the
 * context was abandoned.  1 = completed (succeeded), 2 = failed, 0 = not
 * completed (suspended, stopped, abandoned). */
static int df__child_outcome(df_ctx_t *c, df__op_rec_t *op, df_err_t rc)
{
        df__run_t *run = c->run;

        if (df__run_stopped(run) || df__ctx_abandoned(c))
                return 0;
        if (c->suspended || rc == DF_SUSPENDED)
                return 0;
        if (rc == DF_OK && c->next_op < c->rec_count) {
                df__nondet_msg(run, df__asprintf("non-determinism in child context %s \"%s\": history has %d "
                                                 "operations in it, the code completed after %d",
                                                 op->op_id, op->name, c->rec_count, c->next_op));
                return 0;
        }
        if (rc == DF_OK) {
                if (df__limit_bytes(c, op->result.len, c->output.len, "child context", op->name) != DF_OK)
                        return 0;
                run->st->rec_bytes = run->st->rec_bytes - op->result.len + c->output.len;
                free(op->result.data);
                op->result = c->output;
                c->output.data = NULL;
                c->output.len = 0;
                run->new_bytes += op->result.len + 256;
                op->status = DF__OS_SUCCEEDED;
                df__op_error(run->st, op, "");
        } else {
                const char *msg = c->fail_msg ? c->fail_msg : c->last_error ? c->last_error : df_strerror(rc);
                df__op_error(run->st, op, msg && *msg ? msg : df_strerror(rc));
                op->status = DF__OS_FAILED;
        }
        df__op_end_time(run, op);
        return rc == DF_OK ? 1 : 2;
}

df_err_t df_run_in_child_context(df_ctx_t *ctx, const char *name, df_child_fn fn, void *opaque, df_bytes_t *result)
{
        df__op_rec_t *op;
        df_ctx_t child;
        df_err_t rc;
        char id[DF__OP_ID_MAX];
        int outcome;

        if (result) {
                result->data = NULL;
                result->len = 0;
        }
        if (!ctx || !name || !fn)
                return DF_ERR_INVALID_ARG;
        df__lock(ctx);
        if ((rc = df__op_gate(ctx)) != DF_OK)
                goto out;
        if ((rc = df__name_check(ctx, "child context", name)) != DF_OK)
                goto out;
        if ((rc = df__op_lookup(ctx, DF__OP_CHILD, name, id, &op)) != DF_OK)
                goto out;
        if (op && op->status == DF__OS_SUCCEEDED) {
                if (result) {
                        result->data = op->result.data;
                        result->len = op->result.len;
                }
                rc = DF_OK; /* not re-entered */
                goto out;
        }
        if (op && op->status == DF__OS_FAILED) {
                df__set_str(&ctx->last_error, op->error);
                rc = DF_ERR_CHILD_FAILED;
                goto out;
        }
        if (!op && (rc = df__op_new(ctx, id, DF__OP_CHILD, name, &op)) != DF_OK)
                goto out;
        df__ctx_init(&child, ctx, op);
        df__unlock(ctx);
        rc = fn(&child, opaque);
        df__lock(ctx);
        outcome = df__child_outcome(&child, op, rc);
        ctx->replaying = ctx->next_op < ctx->rec_count;
        snprintf(ctx->last_op, sizeof(ctx->last_op), "%s", id);
        if (outcome == 1) {
                if (result) {
                        result->data = op->result.data;
                        result->len = op->result.len;
                }
                rc = DF_OK;
        } else if (outcome == 2) {
                df__set_str(&ctx->last_error, op->error);
                rc = DF_ERR_CHILD_FAILED;
        } else {
                rc = df__stopped(ctx);
                if (rc == DF_SUSPENDED)
                        df__suspend(ctx);
        }
        df__ctx_release(&child);
out:
        df__unlock(ctx);
        return rc;
}

/* ---------------- parallel and map ---------------- */

enum { DF__B_PENDING, DF__B_RUNNING, DF__B_SUCCEEDED, DF__B_FAILED, DF__B_OPEN };

typedef struct df__batch {
        df_ctx_t *ctx;            /* the context that called parallel / map */
        df__op_rec_t *op;         /* its PARALLEL / MAP operation */
        int n;
        const df_branch_t *branches;        /* parallel */
        const void *const *items;           /* map */
        df_map_fn map_fn;
        void *map_opaque;
        char **names;             /* resolved item names (run arena) */
        unsigned char *state;     /* DF__B_* per item */
        int next;                 /* first item a lane may still take */
        int lanes;                /* lanes still running */
        df_completion_t comp;
        int succeeded, failed;
        int done;
        df_completion_reason_t reason;
        pthread_cond_t cv;
} df__batch_t;

static int df__ctx_abandoned(const df_ctx_t *ctx)
{
        const df_ctx_t *c;
        for (c = ctx; c; c = c->parent)
                if (c->batch && c->batch->done && c->batch->state[c->branch] != DF__B_SUCCEEDED &&
                    c->batch->state[c->branch] != DF__B_FAILED)
                        return 1;
        return 0;
}

const char *df_completion_reason_name(df_completion_reason_t r)
{
        switch (r) {
        case DF_ALL_COMPLETED:
                return "ALL_COMPLETED";
        case DF_MIN_SUCCESSFUL_REACHED:
                return "MIN_SUCCESSFUL_REACHED";
        case DF_FAILURE_TOLERANCE_EXCEEDED:
                return "FAILURE_TOLERANCE_EXCEEDED";
        }
        return "UNKNOWN";
}

const char *df_item_status_name(df_item_status_t s)
{
        switch (s) {
        case DF_ITEM_SUCCEEDED:
                return "SUCCEEDED";
        case DF_ITEM_FAILED:
                return "FAILED";
        case DF_ITEM_STARTED:
                return "STARTED";
        case DF_ITEM_NOT_STARTED:
                return "NOT_STARTED";
        }
        return "UNKNOWN";
}

/* Does the batch complete with these counts?  Sets done and reason. */
static void df__batch_check(df__batch_t *b)
{
        const df_completion_t *c = &b->comp;
        int min_set = c->min_successful > 0;
        int count_set = c->tolerated_failure_count > 0 || c->tolerated_failure_count == DF_TOLERATE_NONE;
        int pct_set = c->tolerated_failure_percentage > 0;
        int exceeded = 0;

        if (b->done)
                return;
        if (!min_set && !count_set && !pct_set) {
                exceeded = b->failed > 0; /* all successful (AWS's default) */
        } else {
                if (count_set && b->failed > (c->tolerated_failure_count == DF_TOLERATE_NONE
                                                      ? 0
                                                      : c->tolerated_failure_count))
                        exceeded = 1;
                if (pct_set && b->n > 0 && (double)b->failed * 100.0 / b->n > c->tolerated_failure_percentage)
                        exceeded = 1;
        }
        if (exceeded) {
                b->done = 1;
                b->reason = DF_FAILURE_TOLERANCE_EXCEEDED;
        } else if (b->succeeded + b->failed == b->n) {
                b->done = 1;
                b->reason = DF_ALL_COMPLETED;
        } else if (min_set && b->succeeded >= c->min_successful) {
                b->done = 1;
                b->reason = DF_MIN_SUCCESSFUL_REACHED;
        }
}

/* Run item i of b on this thread (run->mu held on entry and return). */
static void df__batch_item(df__batch_t *b, int i)
{
        df_ctx_t *ctx = b->ctx;
        df__run_t *run = ctx->run;
        df__op_rec_t *op;
        df_ctx_t *c;
        char id[DF__OP_ID_MAX + 16];
        df_err_t rc;
        int outcome;

        snprintf(id, sizeof(id), "%s.%d", b->op->op_id, i + 1);
        op = df__exec_state_find(run->st, id);
        if (!op) {
                /* a branch record is made when it starts; ids stay per index */
                df_ctx_t at;
                memset(&at, 0, sizeof(at));
                at.run = run;
                at.op = b->op;
                at.next_op = i + 1;
                if (df__op_new(&at, id, DF__OP_CHILD, b->names[i], &op) != DF_OK) {
                        df__ctx_release(&at);
                        b->state[i] = DF__B_OPEN;
                        return;
                }
                df__ctx_release(&at);
                op->status = DF__OS_STARTED;
        }
        c = calloc(1, sizeof(*c));
        if (!c) {
                run->failed_internal = 1;
                b->state[i] = DF__B_OPEN;
                return;
        }
        df__ctx_init(c, ctx, op);
        c->batch = b;
        c->branch = i;
        pthread_mutex_unlock(&run->mu);
        if (b->branches)
                rc = b->branches[i].fn(c, b->branches[i].opaque);
        else
                rc = b->map_fn(c, b->items ? b->items[i] : NULL, i, b->map_opaque);
        pthread_mutex_lock(&run->mu);
        outcome = df__child_outcome(c, op, rc);
        if (outcome == 1) {
                b->state[i] = DF__B_SUCCEEDED;
                b->succeeded++;
        } else if (outcome == 2) {
                b->state[i] = DF__B_FAILED;
                b->failed++;
        } else {
                b->state[i] = DF__B_OPEN;
        }
        df__batch_check(b);
        df__ctx_release(c);
        free(c);
}

/* A lane: takes items in index order until none is left or the batch is
 * done.  Runs on a pool thread or on the caller's. */
static void df__lane(void *arg)
{
        df__batch_t *b = arg;
        df__run_t *run = b->ctx->run;
        const df__log_fields_t *prev = df__log_scope_set(df__etrace_log_scope(run->out->trace));

        pthread_mutex_lock(&run->mu);
        for (;;) {
                int i;
                if (b->done || df__run_stopped(run) || df__ctx_abandoned(b->ctx))
                        break;
                for (i = b->next; i < b->n && b->state[i] != DF__B_PENDING; i++)
                        ;
                if (i >= b->n)
                        break;
                b->next = i + 1;
                b->state[i] = DF__B_RUNNING;
                df__batch_item(b, i);
        }
        b->lanes--;
        pthread_cond_broadcast(&b->cv);
        pthread_mutex_unlock(&run->mu);
        df__log_scope_set(prev);
}

/* The batch result from the item records (b->done). */
static df_err_t df__batch_result(df__batch_t *b, df_batch_t *out)
{
        df__run_t *run = b->ctx->run;
        df_batch_item_t *items = df__run_alloc(run, (size_t)(b->n ? b->n : 1) * sizeof(*items));
        int i;

        if (!items)
                return df__internal(b->ctx);
        memset(out, 0, sizeof(*out));
        out->total = b->n;
        out->reason = b->reason;
        out->items = items;
        for (i = 0; i < b->n; i++) {
                char id[DF__OP_ID_MAX + 16];
                const df__op_rec_t *op;
                snprintf(id, sizeof(id), "%s.%d", b->op->op_id, i + 1);
                op = df__exec_state_find(run->st, id);
                items[i].index = i;
                items[i].name = op ? op->name : b->names[i];
                items[i].error = "";
                if (!op) {
                        items[i].status = DF_ITEM_NOT_STARTED;
                        out->not_started++;
                } else if (op->status == DF__OS_SUCCEEDED) {
                        items[i].status = DF_ITEM_SUCCEEDED;
                        items[i].result.data = op->result.data;
                        items[i].result.len = op->result.len;
                        out->succeeded++;
                } else if (op->status == DF__OS_FAILED) {
                        items[i].status = DF_ITEM_FAILED;
                        items[i].error = op->error;
                        out->failed++;
                } else {
                        items[i].status = DF_ITEM_STARTED;
                        out->started++;
                }
        }
        return DF_OK;
}

static const char *const df__reason_names[] = {"ALL_COMPLETED", "MIN_SUCCESSFUL_REACHED",
                                               "FAILURE_TOLERANCE_EXCEEDED"};

/* The completion reason recorded in a completed batch's summary. */
static int df__summary_reason(const df__op_rec_t *op, df_completion_reason_t *reason)
{
        static const char pre[] = "{\"completionReason\":\"";
        size_t i, pl = sizeof(pre) - 1;
        if (op->result.len <= pl || memcmp(op->result.data, pre, pl))
                return -1;
        for (i = 0; i < 3; i++) {
                size_t l = strlen(df__reason_names[i]);
                if (op->result.len > pl + l && !memcmp(op->result.data + pl, df__reason_names[i], l) &&
                    op->result.data[pl + l] == '"') {
                        *reason = (df_completion_reason_t)i;
                        return 0;
                }
        }
        return -1;
}

/* The arguments of a parallel / map: the item count and the options. */
static df_err_t df__batch_check_args(df_ctx_t *ctx, const char *what, const char *name, const df__batch_t *b,
                                     const df_batch_opts_t *opts)
{
        if (b->n < 0 || b->n > DF__OP_INDEX_MAX) {
                df__ctx_errorf(ctx, "%s \"%s\": %d items (0..%d)", what, name, b->n, DF__OP_INDEX_MAX);
                return DF_ERR_INVALID_ARG;
        }
        if (opts && (opts->max_concurrency < 0 || opts->completion.min_successful < 0 ||
                     opts->completion.tolerated_failure_count < DF_TOLERATE_NONE ||
                     !(opts->completion.tolerated_failure_percentage >= 0 &&
                       opts->completion.tolerated_failure_percentage <= 100))) {
                df__ctx_errorf(ctx, "%s \"%s\": max_concurrency and min_successful must be >= 0, "
                                    "tolerated_failure_count >= 0 (or DF_TOLERATE_NONE), "
                                    "tolerated_failure_percentage in 0..100",
                               what, name);
                return DF_ERR_INVALID_ARG;
        }
        return DF_OK;
}

/* The items' names into b->names (and b->state allocated). */
static df_err_t df__batch_names(df_ctx_t *ctx, int type, const char *name, df__batch_t *b,
                                const df_batch_opts_t *opts)
{
        df__run_t *run = ctx->run;
        df_err_t rc;
        char nbuf[DF__NAME_MAX + 32];
        int i;

        /* item names: the code's, checked as operation names */
        b->names = df__run_alloc(run, (size_t)(b->n ? b->n : 1) * sizeof(*b->names));
        b->state = df__run_alloc(run, (size_t)(b->n ? b->n : 1));
        if (!b->names || !b->state)
                return df__internal(ctx);
        for (i = 0; i < b->n; i++) {
                if (b->branches) {
                        if (!b->branches[i].fn) {
                                df__ctx_errorf(ctx, "parallel \"%s\": branch %d has no function", name, i);
                                return DF_ERR_INVALID_ARG;
                        }
                        if (b->branches[i].name)
                                snprintf(nbuf, sizeof(nbuf), "%s", b->branches[i].name);
                        else
                                snprintf(nbuf, sizeof(nbuf), "branch-%d", i);
                } else if (opts && opts->namer) {
                        nbuf[0] = '\0';
                        opts->namer(b->items ? b->items[i] : NULL, i, b->map_opaque, nbuf, sizeof(nbuf));
                        nbuf[sizeof(nbuf) - 1] = '\0';
                } else {
                        snprintf(nbuf, sizeof(nbuf), "%s-%d", name, i);
                }
                if ((rc = df__name_check(ctx, type == DF__OP_PARALLEL ? "parallel branch" : "map item", nbuf)) !=
                    DF_OK)
                        return rc;
                if (!(b->names[i] = df__run_strdup(run, nbuf)))
                        return df__internal(ctx);
        }
        return DF_OK;
}

/* Each item's state from its recorded child context (a different one is
 * nondeterminism); *pending gets how many have not ended. */
static df_err_t df__batch_replay_items(df_ctx_t *ctx, df__batch_t *b, const char *id, int *pending)
{
        df__run_t *run = ctx->run;
        int i;

        for (i = 0; i < b->n; i++) {
                char cid[DF__OP_ID_MAX + 16];
                df__op_rec_t *c;
                snprintf(cid, sizeof(cid), "%s.%d", id, i + 1);
                c = df__exec_state_find(run->st, cid);
                if (c && (c->type != DF__OP_CHILD || strcmp(c->name, b->names[i])))
                        return df__nondet(ctx, cid, c, DF__OP_CHILD, b->names[i]);
                if (c && c->status == DF__OS_SUCCEEDED) {
                        b->state[i] = DF__B_SUCCEEDED;
                        b->succeeded++;
                } else if (c && c->status == DF__OS_FAILED) {
                        b->state[i] = DF__B_FAILED;
                        b->failed++;
                } else {
                        b->state[i] = DF__B_PENDING;
                        (*pending)++;
                }
        }
        return DF_OK;
}

/* Run the pending items on up to max_concurrency lanes, this thread one of
 * them (run->mu held on entry and on return). */
static void df__batch_run_lanes(df__batch_t *b, const df_batch_opts_t *opts, int pending)
{
        df__run_t *run = b->ctx->run;
        df__pool_t *pool;
        int i, lanes, max_conc;

        max_conc = opts && opts->max_concurrency > 0 ? opts->max_concurrency : pending;
        lanes = max_conc < pending ? max_conc : pending;
        pthread_cond_init(&b->cv, NULL);
        pool = lanes > 1 ? df__engine_pool(run->eng) : NULL;
        /* lanes on idle pool threads (they wait for run->mu, held here) */
        b->lanes = 1;
        for (i = 1; i < lanes && pool; i++) {
                b->lanes++;
                if (df__pool_try_run(pool, df__lane, b)) {
                        b->lanes--;
                        break;
                }
        }
        pthread_mutex_unlock(&run->mu);
        df__lane(b); /* this thread is a lane too */
        pthread_mutex_lock(&run->mu);
        while (b->lanes > 0)
                pthread_cond_wait(&b->cv, &run->mu);
        pthread_cond_destroy(&b->cv);
}

/* A batch that completed: its summary becomes op's result. */
static df_err_t df__batch_record_summary(df_ctx_t *ctx, df__batch_t *b, df__op_rec_t *op, const char *id,
                                         const char *what, const char *name)
{
        df__run_t *run = ctx->run;
        df_err_t rc;
        char summary[256];
        int i, started = 0, not_started = 0, len;

        for (i = 0; i < b->n; i++) {
                char cid[DF__OP_ID_MAX + 16];
                snprintf(cid, sizeof(cid), "%s.%d", id, i + 1);
                if (b->state[i] == DF__B_SUCCEEDED || b->state[i] == DF__B_FAILED)
                        continue;
                if (df__exec_state_find(run->st, cid))
                        started++;
                else
                        not_started++;
        }
        len = snprintf(summary, sizeof(summary),
                       "{\"completionReason\":\"%s\",\"totalCount\":%d,\"successCount\":%d,\"failureCount\":%d,"
                       "\"startedCount\":%d,\"notStartedCount\":%d}",
                       df__reason_names[b->reason], b->n, b->succeeded, b->failed, started, not_started);
        if ((rc = df__limit_bytes(ctx, op->result.len, (size_t)len, what, name)) != DF_OK)
                return rc;
        if (df__op_result(run->st, op, summary, (size_t)len))
                return df__internal(ctx);
        op->status = DF__OS_SUCCEEDED;
        df__op_touch(ctx, op);
        return DF_OK;
}

static df_err_t df__batch_locked(df_ctx_t *ctx, int type, const char *name, df__batch_t *b,
                                 const df_batch_opts_t *opts, df_batch_t *out)
{
        df__run_t *run = ctx->run;
        df__op_rec_t *op;
        df_err_t rc;
        char id[DF__OP_ID_MAX];
        const char *what = type == DF__OP_PARALLEL ? "parallel" : "map";
        int pending = 0;

        if ((rc = df__op_gate(ctx)) != DF_OK)
                return rc;
        if ((rc = df__name_check(ctx, what, name)) != DF_OK)
                return rc;
        if ((rc = df__batch_check_args(ctx, what, name, b, opts)) != DF_OK)
                return rc;
        if ((rc = df__batch_names(ctx, type, name, b, opts)) != DF_OK)
                return rc;
        if ((rc = df__op_lookup(ctx, type, name, id, &op)) != DF_OK)
                return rc;
        {
                char probe[DF__OP_ID_MAX + 16];
                snprintf(probe, sizeof(probe), "%s.%d", id, b->n > 0 ? b->n : 1);
                if (!df__op_id_valid(probe)) {
                        df__ctx_errorf(ctx, "%s \"%s\": child contexts nested deeper than %d levels", what, name,
                                       DF__OP_DEPTH_MAX);
                        return DF_ERR_INVALID_ARG;
                }
        }
        b->ctx = ctx;
        b->comp = opts ? opts->completion : (df_completion_t){0, 0, 0};
        if (op && op->status == DF__OS_SUCCEEDED) {
                /* completed: the recorded batch, no branch runs again */
                b->op = op;
                b->done = 1;
                if (df__summary_reason(op, &b->reason)) {
                        df__ctx_errorf(ctx, "%s \"%s\": recorded result is not a batch summary", what, name);
                        return df__internal(ctx);
                }
                return df__batch_result(b, out);
        }
        if (!op) {
                if ((rc = df__op_new(ctx, id, type, name, &op)) != DF_OK)
                        return rc;
                op->status = DF__OS_STARTED;
        }
        b->op = op;
        if ((rc = df__batch_replay_items(ctx, b, id, &pending)) != DF_OK)
                return rc;
        df__batch_check(b);
        if (!b->done && pending)
                df__batch_run_lanes(b, opts, pending);
        ctx->replaying = ctx->next_op < ctx->rec_count;
        snprintf(ctx->last_op, sizeof(ctx->last_op), "%s", id);
        if (df__run_stopped(run) || df__ctx_abandoned(ctx))
                return df__stopped(ctx);
        if (!b->done)
                return df__suspend(ctx); /* some item suspended: wait for it */
        if ((rc = df__batch_record_summary(ctx, b, op, id, what, name)) != DF_OK)
                return rc;
        return df__batch_result(b, out);
}

df_err_t df_parallel(df_ctx_t *ctx, const char *name, const df_branch_t *branches, int n,
                     const df_batch_opts_t *opts, df_batch_t *batch)
{
        df__batch_t b;
        df_err_t rc;

        if (batch)
                memset(batch, 0, sizeof(*batch));
        if (!ctx || !name || !batch || (n > 0 && !branches))
                return DF_ERR_INVALID_ARG;
        memset(&b, 0, sizeof(b));
        b.n = n;
        b.branches = branches;
        df__lock(ctx);
        rc = df__batch_locked(ctx, DF__OP_PARALLEL, name, &b, opts, batch);
        df__unlock(ctx);
        return rc;
}

df_err_t df_map(df_ctx_t *ctx, const char *name, const void *const *items, int n, df_map_fn fn, void *opaque,
                const df_batch_opts_t *opts, df_batch_t *batch)
{
        df__batch_t b;
        df_err_t rc;

        if (batch)
                memset(batch, 0, sizeof(*batch));
        if (!ctx || !name || !fn || !batch)
                return DF_ERR_INVALID_ARG;
        memset(&b, 0, sizeof(b));
        b.n = n;
        b.items = items;
        b.map_fn = fn;
        b.map_opaque = opaque;
        df__lock(ctx);
        rc = df__batch_locked(ctx, DF__OP_MAP, name, &b, opts, batch);
        df__unlock(ctx);
        return rc;
}

/* ---------------- invoke ---------------- */

static df_err_t df__invoke_locked(df_ctx_t *ctx, const char *name, const char *workflow, const char *child,
                                  const df_bytes_t *input, df_bytes_t *result)
{
        df__run_t *run = ctx->run;
        df__op_rec_t *op;
        df__event_t ev;
        df_err_t rc;
        char id[DF__OP_ID_MAX];

        if ((rc = df__op_gate(ctx)) != DF_OK)
                return rc;
        if ((rc = df__name_check(ctx, "invoke", name)) != DF_OK)
                return rc;
        if ((rc = df__name_check(ctx, "invoked workflow", workflow)) != DF_OK)
                return rc;
        if (!df__execution_id_valid(child) || !strcmp(child, run->st->exec.execution_id)) {
                df__ctx_errorf(ctx, "invoke \"%s\": child execution id must be 1..200 chars of [A-Za-z0-9._:@-] "
                                    "and not the parent's own",
                               name);
                return DF_ERR_INVALID_ARG;
        }
        if (input && input->len > DF_PAYLOAD_MAX) {
                df__ctx_errorf(ctx, "invoke \"%s\": input of %zu bytes is over %d", name, input->len,
                               DF_PAYLOAD_MAX);
                return DF_ERR_INVALID_ARG;
        }
        if ((rc = df__op_lookup(ctx, DF__OP_INVOKE, name, id, &op)) != DF_OK)
                return rc;
        if (op) {
                if (strcmp(op->child_id, child)) {
                        char *msg = df__asprintf("non-determinism at operation %s: history invoked child execution "
                                                 "\"%s\", code invokes \"%s\"",
                                                 id, op->child_id, child);
                        df__nondet_msg(run, msg);
                        if (msg)
                                df__set_str(&ctx->last_error, msg);
                        return DF_ERR_NONDETERMINISM;
                }
                if (op->status == DF__OS_SUCCEEDED) {
                        if (result) {
                                result->data = op->result.data;
                                result->len = op->result.len;
                        }
                        return DF_OK;
                }
                if (op->status == DF__OS_FAILED || op->status == DF__OS_TIMED_OUT) {
                        df__set_str(&ctx->last_error, op->error);
                        return DF_ERR_INVOKE_FAILED;
                }
                return df__suspend_as(ctx, "child"); /* the child runs */
        }
        if ((rc = df__op_new(ctx, id, DF__OP_INVOKE, name, &op)) != DF_OK)
                return rc;
        free(op->child_id);
        op->child_id = df__strdup0(child);
        if (!op->child_id)
                return df__internal(ctx);
        op->status = DF__OS_STARTED;
        /* START for the child, keyed by its id (its partition, whichever
         * worker owns it), in this batch's transaction with this record */
        memset(&ev, 0, sizeof(ev));
        ev.type = DF__EV_START;
        ev.execution_id = (char *)child;
        ev.workflow = (char *)workflow;
        if (input) {
                ev.input.data = (uint8_t *)input->data;
                ev.input.len = input->len;
        }
        ev.parent_id = run->st->exec.execution_id;
        ev.parent_op = op->op_id;
        ev.ts_ms = run->now;
        if (run->out->event(run->out->opaque, &ev))
                return df__internal(ctx);
        return df__suspend_as(ctx, "child");
}

df_err_t df_invoke(df_ctx_t *ctx, const char *name, const char *workflow, const char *child_execution_id,
                   const df_bytes_t *input, df_bytes_t *result)
{
        df_err_t rc;
        if (result) {
                result->data = NULL;
                result->len = 0;
        }
        if (!ctx || !name || !workflow || !child_execution_id || (input && input->len && !input->data))
                return DF_ERR_INVALID_ARG;
        df__lock(ctx);
        rc = df__invoke_locked(ctx, name, workflow, child_execution_id, input, result);
        df__unlock(ctx);
        return rc;
}

/* ---------------- wait_for_condition ---------------- */

#define DF__NOT_MET "ConditionNotMet"

struct df__check_call {
        df_check_fn fn;
        void *opaque;
        df_bytes_t state;
        int done;
};

static df_err_t df__check_call(df_step_t *s, void *arg)
{
        struct df__check_call *c = arg;
        return c->fn(s, &c->state, &c->done, c->opaque);
}

/* The check's retry options from strategy (NULL: the defaults). */
static void df__condition_opts(const df_condition_strategy_t *strategy, df_step_opts_t *o)
{
        memset(o, 0, sizeof(*o));
        o->max_attempts = strategy && strategy->max_attempts > 0 ? strategy->max_attempts : 60;
        o->initial_delay_ms = strategy && strategy->initial_delay_ms > 0 ? strategy->initial_delay_ms : 5000;
        o->max_delay_ms = strategy && strategy->max_delay_ms > 0 ? strategy->max_delay_ms : 300000;
        if (o->max_delay_ms < o->initial_delay_ms)
                o->max_delay_ms = o->initial_delay_ms;
        o->backoff_rate = strategy && strategy->backoff_rate >= 1.0 ? strategy->backoff_rate : 1.5;
        o->jitter = strategy ? strategy->jitter : DF_JITTER_NONE;
}

/* A recorded condition: 1 with *rc the answer (ended, or still waiting
 * between checks), 0 when the next check runs now. */
static int df__condition_recorded(df_ctx_t *ctx, const df__op_rec_t *op, df_bytes_t *final_state, df_err_t *rc)
{
        switch (op->status) {
        case DF__OS_SUCCEEDED:
                if (final_state) {
                        final_state->data = op->result.data;
                        final_state->len = op->result.len;
                }
                *rc = DF_OK;
                return 1;
        case DF__OS_FAILED:
                df__set_str(&ctx->last_error, op->error);
                *rc = strncmp(op->error, DF__NOT_MET ":", sizeof(DF__NOT_MET)) ? DF_ERR_STEP_FAILED
                                                                               : DF_ERR_CONDITION_NOT_MET;
                return 1;
        case DF__OS_PENDING:
                if (op->due_ms > 0) {
                        *rc = df__suspend_as(ctx, "condition"); /* the wait between checks is not over */
                        return 1;
                }
                return 0;
        default:
                *rc = df__internal(ctx);
                return 1;
        }
}

/* The check failed (rc, or the error it set in s): recorded as the
 * condition's failure; s is freed. */
static df_err_t df__condition_failed(df_ctx_t *ctx, df__op_rec_t *op, df_step_t *s, df_err_t rc, int attempt)
{
        df__run_t *run = ctx->run;
        const char *type, *msg;
        char *text;

        if (rc == DF_OK)
                rc = (df_err_t)s->result_err;
        type = s->err_type ? s->err_type : df_err_name(rc);
        msg = s->err_msg ? s->err_msg : df_strerror(rc);
        text = df__asprintf("%s: %s", type, msg);
        df__step_free(s);
        if (!text)
                return df__internal(ctx);
        df__op_error(run->st, op, text);
        free(text);
        op->status = DF__OS_FAILED;
        op->attempt = attempt;
        op->due_ms = 0;
        df__op_touch(ctx, op);
        df__set_str(&ctx->last_error, op->error);
        return DF_ERR_STEP_FAILED;
}

/* After a check (done: the condition is met): the condition succeeds,
 * fails after its last attempt, or waits for the next check. */
static df_err_t df__condition_after_check(df_ctx_t *ctx, df__op_rec_t *op, const df_step_opts_t *o,
                                          const char *name, int attempt, int done, df_bytes_t *final_state)
{
        df__run_t *run = ctx->run;

        op->attempt = attempt;
        ctx->last_attempt = attempt;
        df__op_touch(ctx, op); /* the clock now, as its start: not run->now */
        if (done) {
                op->status = DF__OS_SUCCEEDED;
                op->due_ms = 0;
                if (final_state) {
                        final_state->data = op->result.data;
                        final_state->len = op->result.len;
                }
                return DF_OK;
        }
        if (attempt >= o->max_attempts) {
                char msg[DF__NAME_MAX + 160];
                snprintf(msg, sizeof(msg), DF__NOT_MET ": wait_for_condition \"%s\": condition not met after %d "
                                                       "attempts (max_attempts %d)",
                         name, attempt, o->max_attempts);
                df__op_error(run->st, op, msg);
                op->status = DF__OS_FAILED;
                op->due_ms = 0;
                df__set_str(&ctx->last_error, op->error);
                return DF_ERR_CONDITION_NOT_MET;
        }
        op->status = DF__OS_PENDING;
        op->due_ms = run->now + df__retry_delay(o, attempt);
        op->seq++;
        if (df__arm_timer(ctx, op, DF__TK_RETRY, op->seq, op->due_ms))
                return df__internal(ctx);
        return df__suspend_as(ctx, "condition");
}

static df_err_t df__condition_locked(df_ctx_t *ctx, const char *name, df_check_fn check, void *opaque,
                                     const df_bytes_t *initial, const df_condition_strategy_t *strategy,
                                     df_bytes_t *final_state)
{
        df__run_t *run = ctx->run;
        df_step_opts_t o;
        df__op_rec_t *op;
        struct df__check_call cc;
        df_step_t s;
        df_err_t rc;
        char id[DF__OP_ID_MAX];
        int attempt;

        if ((rc = df__op_gate(ctx)) != DF_OK)
                return rc;
        if ((rc = df__name_check(ctx, "wait_for_condition", name)) != DF_OK)
                return rc;
        if (initial && initial->len > DF_PAYLOAD_MAX) {
                df__ctx_errorf(ctx, "wait_for_condition \"%s\": initial state of %zu bytes is over %d", name,
                               initial->len, DF_PAYLOAD_MAX);
                return DF_ERR_INVALID_ARG;
        }
        df__condition_opts(strategy, &o);
        if ((rc = df__op_lookup(ctx, DF__OP_CONDITION, name, id, &op)) != DF_OK)
                return rc;
        if (op) {
                if (df__condition_recorded(ctx, op, final_state, &rc))
                        return rc;
        } else {
                if (run->out->over_budget && run->out->over_budget(run->out->opaque, run->new_bytes))
                        return df__yield(ctx);
                if ((rc = df__op_new(ctx, id, DF__OP_CONDITION, name, &op)) != DF_OK)
                        return rc;
                if ((rc = df__limit_bytes(ctx, 0, initial ? initial->len : 0, "wait_for_condition", name)) != DF_OK)
                        return rc;
                if (df__op_result(run->st, op, initial ? initial->data : NULL, initial ? initial->len : 0))
                        return df__internal(ctx);
                op->status = DF__OS_PENDING;
        }
        attempt = op->attempt + 1;
        if (df__crash_noted(ctx, op, attempt)) {
                /* the worker died in this check: an unmet attempt, state unchanged */
                df__log(DF__LOG_WARN, "execution %s: the worker process died while running the check of \"%s\" "
                                      "(attempt %d)",
                        run->st->exec.execution_id, name, attempt);
                return df__condition_after_check(ctx, op, &o, name, attempt, 0, final_state);
        }
        cc.fn = check;
        cc.opaque = opaque;
        cc.state.data = op->result.data;
        cc.state.len = op->result.len;
        cc.done = 0;
        if (df__body_call(ctx, &s, op, attempt, df__check_call, &cc, &rc)) {
                df__step_free(&s);
                return DF_SUSPENDED;
        }
        if (df__run_stopped(run) || df__ctx_abandoned(ctx)) {
                df__step_free(&s);
                return df__stopped(ctx);
        }
        if (rc != DF_OK || s.result_err) {
                int64_t t0 = s.t0_ms;
                rc = df__condition_failed(ctx, op, &s, rc, attempt);
                df__etrace_attempt(run->out->trace, op, attempt, t0, df__engine_now(run->eng), 0);
                return rc;
        }
        df__etrace_attempt(run->out->trace, op, attempt, s.t0_ms, df__engine_now(run->eng), 1);
        if (s.result_set) {
                if ((rc = df__limit_bytes(ctx, op->result.len, s.result.len, "wait_for_condition", name)) != DF_OK) {
                        df__step_free(&s);
                        return rc;
                }
                run->st->rec_bytes = run->st->rec_bytes - op->result.len + s.result.len;
                free(op->result.data);
                op->result = s.result;
                s.result.data = NULL;
                s.result.len = 0;
                run->new_bytes += op->result.len + 256;
        }
        df__step_free(&s);
        return df__condition_after_check(ctx, op, &o, name, attempt, cc.done, final_state);
}

df_err_t df_wait_for_condition(df_ctx_t *ctx, const char *name, df_check_fn check, void *opaque,
                               const df_bytes_t *initial_state, const df_condition_strategy_t *strategy,
                               df_bytes_t *final_state)
{
        df_err_t rc;
        if (final_state) {
                final_state->data = NULL;
                final_state->len = 0;
        }
        if (!ctx || !name || !check || (initial_state && initial_state->len && !initial_state->data))
                return DF_ERR_INVALID_ARG;
        df__lock(ctx);
        rc = df__condition_locked(ctx, name, check, opaque, initial_state, strategy, final_state);
        df__unlock(ctx);
        return rc;
}

/* ---------------- replay-aware logging ---------------- */

/* One line through log.c with the execution's correlation fields (text:
 * escaped for a terminal; json: one object a line, log.format). */
static void df__log_line(int level, const df__exec_rec_t *e, const char *op_id, int attempt, const char *fmt,
                         va_list ap)
{
        df__log_fields_t f;
        memset(&f, 0, sizeof(f));
        f.execution_id = e->execution_id;
        f.workflow = e->workflow;
        f.op_id = op_id && *op_id ? op_id : NULL;
        f.attempt = attempt;
        df__log_vctx(level, &f, fmt, ap);
}

void df_log(df_ctx_t *ctx, df_log_level_t level, const char *fmt, ...)
{
        va_list ap;
        if (!ctx || !fmt || (int)level < DF__LOG_ERROR || (int)level > DF__LOG_DEBUG || (int)level > df__log_level)
                return;
        if (ctx->replaying)
                return; /* this line was written when the code first ran */
        va_start(ap, fmt);
        df__log_line((int)level, &ctx->run->st->exec, ctx->last_op, ctx->last_attempt, fmt, ap);
        va_end(ap);
}

void df_step_log(df_step_t *step, df_log_level_t level, const char *fmt, ...)
{
        va_list ap;
        if (!step || !fmt || (int)level < DF__LOG_ERROR || (int)level > DF__LOG_DEBUG ||
            (int)level > df__log_level)
                return;
        va_start(ap, fmt);
        df__log_line((int)level, &step->ctx->run->st->exec, step->op->op_id, step->attempt, fmt, ap);
        va_end(ap);
}

/* ---------------- apply an event ---------------- */

static int df__exec_create(df__engine_t *eng, df__exec_state_t *st, const df__event_t *ev, int64_t now)
{
        df__exec_rec_t *e = &st->exec;
        const df__wfver_t *v = df__wf_newest(eng, ev->workflow);

        df__exec_clear(e);
        e->execution_id = df__strdup0(ev->execution_id);
        e->workflow = df__strdup0(ev->workflow);
        e->error = df__strdup0("");
        e->parent_id = df__strdup0(ev->parent_id);
        e->parent_op = df__strdup0(ev->parent_op);
        e->schedule = df__strdup0(ev->link); /* a scheduled run: its schedule */
        if (!e->execution_id || !e->workflow || !e->error || !e->parent_id || !e->parent_op || !e->schedule ||
            df__buf_set(&e->input, ev->input.data, ev->input.len))
                return -1;
        e->version = v ? v->version : 1;
        e->status = DF__ES_RUNNING;
        e->created_ms = e->updated_ms = now;
        st->exists = 1;
        st->exec_dirty = 1;
        st->rec_bytes = e->input.len;
        return 0;
}

static void df__exec_touch(df__exec_state_t *st, int status, int64_t now)
{
        st->exec.status = status;
        st->exec.updated_ms = now;
        st->exec_dirty = 1;
}

/* The execution's workflow version is not registered here: park it
 * (VERSION_MISSING), and look again later with a durable timer (10 s,
 * doubling to 1 h), so that it goes on by itself once a worker that has
 * the version owns it; any event for it looks again too. */
static int df__park_version(df__engine_t *eng, df__exec_state_t *st, const df__engine_out_t *out, int64_t now)
{
        df__exec_rec_t *e = &st->exec;
        const df__workflow_t *wf = df__map_get(eng->workflows, e->workflow);
        char have[128] = "";
        char *msg;
        int64_t delay = 10000;
        int i;

        for (i = 0; wf && i < wf->n && strlen(have) < sizeof(have) - 16; i++)
                snprintf(have + strlen(have), sizeof(have) - strlen(have), "%s%d", i ? ", " : "", wf->v[i].version);
        msg = df__asprintf("version %d of workflow \"%s\" is not registered on this worker (%s%s); parked until a "
                           "worker that has it processes the execution",
                           e->version, e->workflow, wf && wf->n ? "it has " : "it has no version of it", have);
        df__set_str(&e->error, msg ? msg : "workflow version not registered on this worker");
        free(msg);
        e->park_seq++;
        for (i = 1; i < e->park_seq && delay < 3600000; i++)
                delay *= 2;
        if (delay > 3600000)
                delay = 3600000;
        if (e->status != DF__ES_VERSION_MISSING)
                df__log(DF__LOG_WARN, "execution %s: %s", e->execution_id, e->error);
        df__exec_touch(st, DF__ES_VERSION_MISSING, now);
        return df__arm(eng, out, now, e->execution_id, "", DF__TK_VERSION, e->park_seq, now + delay, e->run);
}

static int df__replay(df__engine_t *eng, df__exec_state_t *st, const df__engine_out_t *out, int committed,
                      int64_t now)
{
        const df__wfver_t *wf = df__wf_find(eng, st->exec.workflow, st->exec.version);
        df_bytes_t input = {st->exec.input.data, st->exec.input.len};
        df__run_t run;
        df_ctx_t ctx;
        df_err_t rc;
        int ret = 0, i;
        int64_t t0;

        if (!wf)
                return df__park_version(eng, st, out, now);
        memset(&run, 0, sizeof(run));
        run.eng = eng;
        run.st = st;
        run.out = out;
        run.wf = wf;
        run.now = now;
        run.committed = committed;
        pthread_mutex_init(&run.mu, NULL);
        memset(&ctx, 0, sizeof(ctx));
        ctx.run = &run;
        ctx.rec_count = st->n_top;
        ctx.replaying = st->n_top > 0; /* a fresh execution replays nothing */
        t0 = df__mono_ms();
        rc = wf->fn(&ctx, &input, wf->opaque);
        df__histogram_observe(df__metric_series(eng->metrics, DF__M_REPLAY_DURATION, st->exec.workflow),
                              (double)(df__mono_ms() - t0) / 1000.0);
        if (run.failed_internal) {
                ret = -1;
        } else if (run.nondet) {
                df__set_str(&st->exec.error, run.nondet_msg ? run.nondet_msg : "non-determinism");
                df__exec_touch(st, DF__ES_NONDETERMINISM, now);
                df__log(DF__LOG_WARN, "execution %s: %s", st->exec.execution_id, st->exec.error);
        } else if (run.limit_msg) {
                df__set_str(&st->exec.error, run.limit_msg);
                df__exec_touch(st, DF__ES_FAILED, now);
                df__log(DF__LOG_WARN, "execution %s: %s", st->exec.execution_id, st->exec.error);
                pthread_mutex_lock(&eng->mu);
                eng->stats.finished++;
                pthread_mutex_unlock(&eng->mu);
                ret = df__emit_result(eng, out, st, now);
        } else if (ctx.suspended || rc == DF_SUSPENDED) {
                if (st->exec.status != DF__ES_SUSPENDED)
                        df__exec_touch(st, DF__ES_SUSPENDED, now);
                if (!run.yielded && !run.continued)
                        df__counter_inc(df__metric_series(eng->metrics, DF__M_EXECUTIONS_SUSPENDED, st->exec.workflow,
                                                          run.suspend_kind ? run.suspend_kind : "other"));
        } else if (rc == DF_OK && ctx.next_op < ctx.rec_count) {
                char *msg = df__asprintf("non-determinism: history has %d operations, the code completed after %d",
                                         ctx.rec_count, ctx.next_op);
                if (msg) {
                        free(st->exec.error);
                        st->exec.error = msg;
                }
                df__exec_touch(st, DF__ES_NONDETERMINISM, now);
        } else if (rc == DF_OK) {
                df__buf_t tmp = st->exec.output;
                st->exec.output = ctx.output;
                ctx.output = tmp;
                df__set_str(&st->exec.error, "");
                df__exec_touch(st, DF__ES_SUCCEEDED, now);
                pthread_mutex_lock(&eng->mu);
                eng->stats.finished++;
                pthread_mutex_unlock(&eng->mu);
                ret = df__emit_result(eng, out, st, now);
        } else {
                const char *msg = ctx.fail_msg ? ctx.fail_msg : (ctx.last_error ? ctx.last_error : df_strerror(rc));
                df__set_str(&st->exec.error, msg);
                df__exec_touch(st, DF__ES_FAILED, now);
                pthread_mutex_lock(&eng->mu);
                eng->stats.finished++;
                pthread_mutex_unlock(&eng->mu);
                ret = df__emit_result(eng, out, st, now);
        }
        if (st->exec.op_count != st->n_top) {
                st->exec.op_count = st->n_top;
                st->exec_dirty = 1;
        }
        /* A replay that ran through without a crash note to consume shows
         * that what killed workers before does not always do so. */
        if (!run.failed_internal && !run.crash_consumed && st->exec.crash_count) {
                st->exec.crash_count = 0;
                st->exec_dirty = 1;
        }
        for (i = 0; i < run.n_arena; i++)
                free(run.arena[i]);
        free(run.arena);
        free(run.nondet_msg);
        free(run.limit_msg);
        pthread_mutex_destroy(&run.mu);
        free(ctx.last_error);
        free(ctx.fail_msg);
        free(ctx.output.data);
        return ret;
}

/*
 * 1 when op sits in a context that already completed: a branch abandoned
 * by its parallel / map, or a child context that returned.  Nothing is
 * recorded into it any more (its timers and callbacks are no-ops).
 */
static int df__op_sealed(const df__exec_state_t *st, const df__op_rec_t *op)
{
        const df__op_rec_t *cur = op;
        int depth = 0;
        while (cur->parent_id && *cur->parent_id && depth++ < DF__OP_DEPTH_MAX + 1) {
                const df__op_rec_t *p = df__exec_state_find(st, cur->parent_id);
                if (!p)
                        return 0;
                if ((p->type == DF__OP_PARALLEL || p->type == DF__OP_MAP) && p->status == DF__OS_SUCCEEDED &&
                    cur->status != DF__OS_SUCCEEDED && cur->status != DF__OS_FAILED)
                        return 1;
                if (p->type == DF__OP_CHILD && (p->status == DF__OS_SUCCEEDED || p->status == DF__OS_FAILED))
                        return 1;
                cur = p;
        }
        return 0;
}

static int df__apply_timer(df__engine_t *eng, df__exec_state_t *st, const df__event_t *ev,
                           const df__engine_out_t *out, int64_t now, int *replay)
{
        df__op_rec_t *op;

        *replay = 0;
        if (ev->run != st->exec.run)
                return 0; /* armed by a run that a restart discarded */
        if (ev->timer_kind == DF__TK_VERSION) {
                df__exec_rec_t *e = &st->exec;
                if (e->status != DF__ES_VERSION_MISSING || ev->seq != e->park_seq)
                        return 0; /* stale: running again, or a newer timer is pending */
                if (!df__wf_find(eng, e->workflow, e->version))
                        return df__park_version(eng, st, out, now);
                *replay = 1; /* the caller unparks it */
                return 0;
        }
        op = df__exec_state_find(st, ev->op_id);
        if (!op || df__op_sealed(st, op))
                return 0;
        switch (ev->timer_kind) {
        case DF__TK_WAIT:
                if (op->type != DF__OP_WAIT || op->status != DF__OS_PENDING || op->seq != ev->seq)
                        return 0;
                op->status = DF__OS_SUCCEEDED;
                break;
        case DF__TK_RETRY:
                if ((op->type != DF__OP_STEP && op->type != DF__OP_CONDITION) || op->status != DF__OS_PENDING ||
                    op->seq != ev->seq)
                        return 0;
                op->due_ms = 0; /* the next attempt may run */
                break;
        case DF__TK_CB_TIMEOUT:
        case DF__TK_CB_HEARTBEAT:
                if (op->type != DF__OP_CALLBACK || op->status != DF__OS_PENDING)
                        return 0; /* completion recorded first: the timeout is a no-op */
                if (ev->timer_kind == DF__TK_CB_HEARTBEAT && op->seq != ev->seq)
                        return 0; /* a heartbeat re-armed it */
                op->status = DF__OS_TIMED_OUT;
                df__op_error(st, op, ev->timer_kind == DF__TK_CB_TIMEOUT ? "callback timed out"
                                                                         : "callback heartbeat timed out");
                if (df__cancel_callback_timers(out, op, ev->timer_kind))
                        return -1;
                break;
        default:
                return 0;
        }
        op->updated_ms = now;
        df__exec_state_touch(st, op->op_id);
        *replay = 1;
        return 0;
}

static int df__apply_callback(df__engine_t *eng, df__exec_state_t *st, const df__event_t *ev,
                              const df__engine_out_t *out, int64_t now, int *replay)
{
        df__op_rec_t *op = df__callback_op(st, ev->callback_id);

        *replay = 0;
        if (!op) {
                df__log(DF__LOG_WARN, "execution %s: rejected completion for unknown callback id",
                        st->exec.execution_id);
                return df__emit_reply(out, ev, DF_ERR_UNKNOWN_CALLBACK, NULL, now);
        }
        /* The id is checked first: a forged id is told it is unknown even
         * when the execution is over. */
        if (df__exec_status_terminal(st->exec.status))
                return df__emit_reply(out, ev, DF_ERR_FINISHED, "execution already finished", now);
        if (op->status != DF__OS_PENDING)
                return df__emit_reply(out, ev, DF_ERR_FINISHED, "callback already completed or timed out", now);
        if (df__op_sealed(st, op))
                return df__emit_reply(out, ev, DF_ERR_FINISHED,
                                      "callback belongs to a branch or child context that already completed", now);
        switch (ev->callback_kind) {
        case DF__CB_SUCCESS:
                if (df__op_result(st, op, ev->input.data, ev->input.len))
                        return -1;
                op->status = DF__OS_SUCCEEDED;
                *replay = 1;
                if (df__cancel_callback_timers(out, op, -1))
                        return -1;
                break;
        case DF__CB_FAILURE:
                df__op_error(st, op, ev->error && *ev->error ? ev->error : "callback failed");
                op->status = DF__OS_FAILED;
                *replay = 1;
                if (df__cancel_callback_timers(out, op, -1))
                        return -1;
                break;
        case DF__CB_HEARTBEAT:
                if (op->hb_timeout_ms > 0) {
                        /* the heartbeat timer armed before is superseded */
                        if (df__cancel_timer(out, op, DF__TK_CB_HEARTBEAT, op->seq))
                                return -1;
                        op->seq++;
                        if (df__arm(eng, out, now, op->execution_id, op->op_id, DF__TK_CB_HEARTBEAT, op->seq,
                                    now + op->hb_timeout_ms, st->exec.run))
                                return -1;
                }
                break;
        default:
                return df__emit_reply(out, ev, DF_ERR_INVALID_ARG, "unknown callback outcome", now);
        }
        op->updated_ms = now;
        df__exec_state_touch(st, op->op_id);
        return df__emit_reply(out, ev, DF_OK, NULL, now);
}

/* DF__EV_CHILD_DONE: an invoked child ended; its INVOKE op records how. */
static int df__apply_child_done(df__exec_state_t *st, const df__event_t *ev, int64_t now, int *replay)
{
        df__op_rec_t *op = df__exec_state_find(st, ev->op_id);

        *replay = 0;
        if (!op || op->type != DF__OP_INVOKE || strcmp(op->child_id, ev->child_id ? ev->child_id : "") ||
            (op->status != DF__OS_STARTED && op->status != DF__OS_PENDING) || df__op_sealed(st, op)) {
                df__log(DF__LOG_DEBUG, "execution %s: child-done event of %s for operation %s ignored",
                        st->exec.execution_id, ev->child_id ? ev->child_id : "", ev->op_id ? ev->op_id : "");
                return 0;
        }
        if (ev->status == DF__ES_SUCCEEDED) {
                if (df__op_result(st, op, ev->input.data, ev->input.len))
                        return -1;
                op->status = DF__OS_SUCCEEDED;
                df__op_error(st, op, "");
        } else {
                char *msg = df__asprintf("child execution %s ended %s: %s", ev->child_id,
                                         df__exec_status_name(ev->status), ev->error ? ev->error : "");
                df__op_error(st, op, msg ? msg : "child execution did not succeed");
                free(msg);
                op->status = ev->status == DF__ES_TIMED_OUT ? DF__OS_TIMED_OUT : DF__OS_FAILED;
        }
        op->updated_ms = now;
        df__exec_state_touch(st, op->op_id);
        *replay = 1;
        return 0;
}

/* Statuses in which events are recorded but the handler is not replayed. */
static int df__exec_parked(int status)
{
        return status == DF__ES_NONDETERMINISM || status == DF__ES_QUARANTINED || status == DF__ES_VERSION_MISSING ||
               status == DF__ES_PAUSED;
}

/*
 * DF__EV_CRASH: a worker process died while processing the execution.  The
 * count is kept with the execution (whoever owns it next sees it); the
 * step whose body ran is remembered for the next replay, which fails that
 * attempt with WorkerCrashed.  At max_crashes the execution is QUARANTINED.
 * An execution not recorded yet (its START was being processed) gets a
 * placeholder (status PENDING, no workflow) that the START fills in.
 */
static int df__apply_crash(df__engine_t *eng, df__exec_state_t *st, const df__event_t *ev, int64_t now)
{
        df__exec_rec_t *e = &st->exec;
        char *msg;

        if (!st->exists) {
                df__exec_clear(e);
                e->execution_id = df__strdup0(ev->execution_id);
                e->workflow = df__strdup0("");
                e->error = df__strdup0("");
                if (!e->execution_id || !e->workflow || !e->error)
                        return -1;
                e->status = DF__ES_PENDING;
                e->created_ms = e->updated_ms = now;
                st->exists = 1;
        } else if (df__exec_status_terminal(e->status)) {
                return 0;
        }
        e->crash_count++;
        e->updated_ms = now;
        st->exec_dirty = 1;
        if (ev->error && *ev->error) {
                /* one of several executions the process was running at once:
                 * a suspect, not charged with an attempt; it runs alone
                 * (task.c) until it runs through, so a second death is its own */
                df__log(DF__LOG_WARN, "execution %s: a worker process died while processing it among others (%s); "
                                      "it runs alone until it runs through (%d so far)",
                        e->execution_id, ev->error, e->crash_count);
                if (e->crash_count < eng->max_crashes || e->status == DF__ES_QUARANTINED)
                        return 0;
                df__set_str(&e->crash_op, "");
                e->crash_attempt = 0;
        } else {
                df__set_str(&e->crash_op, ev->op_id ? ev->op_id : "");
                e->crash_attempt = (int32_t)ev->seq;
        }
        df__log(DF__LOG_WARN, "execution %s: a worker process died while processing it (%d so far; %s%s%s)",
                e->execution_id, e->crash_count, *e->crash_op ? "in the body of operation " : "outside any step body",
                e->crash_op, "");
        if (e->crash_count < eng->max_crashes || e->status == DF__ES_QUARANTINED)
                return 0;
        if (ev->error && *ev->error)
                msg = df__asprintf("quarantined: %d worker processes died while processing this execution, the last "
                                   "while it ran beside others (%s); fix the cause, then resume it",
                                   e->crash_count, ev->error);
        else if (*e->crash_op)
                msg = df__asprintf("quarantined: %d worker processes died while processing this execution, the last "
                                   "while operation %s ran (attempt %d); fix the cause, then resume it",
                                   e->crash_count, e->crash_op, e->crash_attempt);
        else
                msg = df__asprintf("quarantined: %d worker processes died while processing this execution, the last "
                                   "outside any step body (in the handler or while loading its state); fix the "
                                   "cause, then resume it",
                                   e->crash_count);
        if (msg) {
                free(e->error);
                e->error = msg;
        }
        e->status = DF__ES_QUARANTINED;
        df__log(DF__LOG_ERROR, "execution %s: %s", e->execution_id, e->error);
        return 0;
}

static int df__apply_resume(df__engine_t *eng, df__exec_state_t *st, const df__event_t *ev,
                            const df__engine_out_t *out, int committed, int64_t now)
{
        df__exec_rec_t *e = &st->exec;
        df__event_t stashed;
        char errstr[256];
        int rc;

        if (!df__exec_parked(e->status)) {
                /* running or suspended: a replay, as a CONTINUE (harmless) */
                if (df__emit_reply(out, ev, DF_OK, NULL, now))
                        return -1;
                return df__replay(eng, st, out, committed, now);
        }
        if (e->status != DF__ES_PAUSED) { /* a pause keeps the crash count: the cause is not fixed */
                e->crash_count = 0;
                df__set_str(&e->crash_op, "");
                e->crash_attempt = 0;
        }
        df__set_str(&e->error, "");
        df__exec_touch(st, DF__ES_RUNNING, now);
        if (df__emit_reply(out, ev, DF_OK, NULL, now))
                return -1;
        if (!e->stash.len)
                return df__replay(eng, st, out, committed, now);
        /* The event whose processing failed: apply it now (it replays). */
        memset(&stashed, 0, sizeof(stashed));
        if (df__event_decode(e->stash.data, e->stash.len, &stashed, errstr, sizeof(errstr))) {
                df__log(DF__LOG_WARN, "execution %s: stashed event undecodable, dropped: %s", e->execution_id, errstr);
                df__buf_clear(&e->stash);
                return df__replay(eng, st, out, committed, now);
        }
        df__buf_clear(&e->stash);
        free(stashed.request_id); /* its requester was answered when it was stashed */
        stashed.request_id = NULL;
        rc = df__engine_apply_event(eng, st, &stashed, out, committed); /* within this apply's tracing */
        df__event_clear(&stashed);
        return rc;
}

int df__engine_quarantine(df__engine_t *eng, df__exec_state_t *st, const df__event_t *ev, const df__buf_t *raw,
                          const char *reason, const df__engine_out_t *out)
{
        int64_t now = df__engine_now(eng);
        df__exec_rec_t *e = &st->exec;
        char *msg;

        if (!st->exists || !*e->workflow) {
                if (ev->type != DF__EV_START)
                        return -1; /* nothing to park: the caller dead-letters it */
                if (df__exec_create(eng, st, ev, now))
                        return -1;
        } else if (df__exec_status_terminal(e->status)) {
                return -1;
        } else if (ev->type != DF__EV_START && raw && raw->len && !e->stash.len) {
                if (df__buf_set(&e->stash, raw->data, raw->len))
                        return -1;
        }
        msg = df__asprintf("quarantined: processing a %s event failed: %s; resume it once fixed",
                           ev->type == DF__EV_START ? "start" : ev->type == DF__EV_TIMER ? "timer" :
                           ev->type == DF__EV_CALLBACK ? "callback" : ev->type == DF__EV_CHILD_DONE ? "child-done" :
                           "control",
                           reason);
        df__set_str(&e->error, msg ? msg : reason);
        free(msg);
        df__exec_touch(st, DF__ES_QUARANTINED, now);
        df__log(DF__LOG_ERROR, "execution %s: %s", e->execution_id, e->error);
        return df__emit_reply(out, ev, DF_ERR_REJECTED, e->error, now);
}

/* A child START that cannot start (conflict, unknown workflow, already
 * another's child): tell the parent at once, so that it never waits for
 * an execution that will not run for it. */
static int df__child_refused(const df__engine_out_t *out, const df__event_t *ev, const char *why, int64_t now)
{
        df__event_t done;
        if (!ev->parent_id || !*ev->parent_id)
                return 0;
        memset(&done, 0, sizeof(done));
        done.type = DF__EV_CHILD_DONE;
        done.execution_id = ev->parent_id;
        done.op_id = ev->parent_op;
        done.child_id = ev->execution_id;
        done.status = DF__ES_FAILED;
        done.error = (char *)why;
        done.ts_ms = now;
        return out->event(out->opaque, &done);
}

/* START of an execution that exists already (idempotent by execution id). */
static int df__start_existing(df__exec_state_t *st, const df__event_t *ev, const df__engine_out_t *out,
                              int64_t now)
{
        df__exec_rec_t *e = &st->exec;
        int same = !strcmp(e->workflow, ev->workflow) && e->input.len == ev->input.len &&
                   (!ev->input.len || !memcmp(e->input.data, ev->input.data, ev->input.len));
        int from_parent = ev->parent_id && *ev->parent_id;

        if (from_parent) {
                char *why = NULL;
                int mine = !strcmp(e->parent_id ? e->parent_id : "", ev->parent_id) &&
                           !strcmp(e->parent_op ? e->parent_op : "", ev->parent_op ? ev->parent_op : "");
                if (!same)
                        why = df__asprintf("conflict: execution %s exists with a different workflow or input",
                                           ev->execution_id);
                else if (!mine && e->parent_id && *e->parent_id)
                        why = df__asprintf("execution %s is already the child of %s", ev->execution_id, e->parent_id);
                if (why) {
                        int rc = df__child_refused(out, ev, why, now);
                        free(why);
                        return rc;
                }
                if (!mine) {
                        /* started by someone else first: it reports to this parent now */
                        df__set_str(&e->parent_id, ev->parent_id);
                        df__set_str(&e->parent_op, ev->parent_op);
                        st->exec_dirty = 1;
                }
                if (df__exec_status_terminal(e->status) && df__emit_child_done(out, e, now))
                        return -1;
        }
        return df__emit_reply(out, ev, same ? DF_OK : DF_ERR_CONFLICT, same ? "exists" : NULL, now);
}

static int df__apply_start(df__engine_t *eng, df__exec_state_t *st, const df__event_t *ev,
                           const df__engine_out_t *out, int committed, int64_t now)
{
        /* keep what a crash event (or a parent's stop) recorded before the start landed */
        int32_t cc = 0, ca = 0;
        int quarantined = 0, stopped = 0;
        char *cop = NULL, *qerr = NULL;

        /* a placeholder (left by a crash event or a parent's stop) is filled in */
        if (st->exists && *st->exec.workflow) {
                if (df__schedule_start_seen(out, st, ev, now)) /* a scheduled run that exists */
                        return -1;
                return df__start_existing(st, ev, out, now);
        }
        if (!df__wf_newest(eng, ev->workflow)) {
                char q[100], msg[200], cmsg[240];
                df__quote(q, sizeof(q), ev->workflow ? ev->workflow : "");
                snprintf(msg, sizeof(msg), "no workflow \"%s\" is registered on the worker that owns the execution",
                         q);
                snprintf(cmsg, sizeof(cmsg), "no workflow \"%s\" is registered on the worker that owns the child "
                         "execution", q);
                if (df__child_refused(out, ev, cmsg, now) || df__schedule_start_seen(out, st, ev, now))
                        return -1;
                return df__emit_reply(out, ev, DF_ERR_UNKNOWN_WORKFLOW, msg, now);
        }
        if (st->exists) {
                cc = st->exec.crash_count;
                ca = st->exec.crash_attempt;
                quarantined = st->exec.status == DF__ES_QUARANTINED;
                stopped = st->exec.status == DF__ES_STOPPED;
                cop = st->exec.crash_op;
                st->exec.crash_op = NULL;
                qerr = st->exec.error;
                st->exec.error = NULL;
        }
        if (df__exec_create(eng, st, ev, now)) {
                free(cop);
                free(qerr);
                return -1;
        }
        st->exec.crash_count = cc;
        st->exec.crash_attempt = ca;
        free(st->exec.crash_op);
        st->exec.crash_op = cop ? cop : df__strdup0("");
        if (quarantined || stopped) {
                free(st->exec.error);
                st->exec.error = qerr;
                st->exec.status = quarantined ? DF__ES_QUARANTINED : DF__ES_STOPPED;
        } else {
                free(qerr);
        }
        if (df__emit_reply(out, ev, DF_OK, NULL, now))
                return -1;
        df__counter_inc(df__metric_series(eng->metrics, DF__M_EXECUTIONS_STARTED, st->exec.workflow));
        if (stopped) /* its parent was stopped before this start landed: it ends stopped, never runs */
                return df__emit_result(eng, out, st, now);
        if (st->exec.status == DF__ES_QUARANTINED)
                return 0;
        return df__replay(eng, st, out, committed, now);
}

/* DF__EV_STOP: the execution ends STOPPED; its running children are stopped
 * too (a STOP keyed by each child id, on the child's partition, behind the
 * START this execution sent it). */
static int df__apply_stop(df__engine_t *eng, df__exec_state_t *st, const df__event_t *ev,
                          const df__engine_out_t *out, int64_t now)
{
        const char *reason = ev->error && *ev->error ? ev->error : "stopped";
        int i;

        df__set_str(&st->exec.error, reason);
        df__exec_touch(st, DF__ES_STOPPED, now);
        for (i = 0; i < st->n_ops; i++) {
                const df__op_rec_t *op = st->ops[i];
                df__event_t stop;
                char *why;
                if (op->type != DF__OP_INVOKE || (op->status != DF__OS_STARTED && op->status != DF__OS_PENDING))
                        continue;
                why = df__asprintf("parent execution %s stopped: %s", st->exec.execution_id, reason);
                memset(&stop, 0, sizeof(stop));
                stop.type = DF__EV_STOP;
                stop.execution_id = op->child_id;
                stop.error = why ? why : (char *)"parent execution stopped";
                stop.parent_id = st->exec.execution_id;
                stop.ts_ms = now;
                if (out->event(out->opaque, &stop)) {
                        free(why);
                        return -1;
                }
                free(why);
        }
        if (df__emit_result(eng, out, st, now))
                return -1;
        return df__emit_reply(out, ev, DF_OK, NULL, now);
}

/* A parent's STOP for a child whose START has not landed (yet): a
 * placeholder STOPPED record, so that the START, when it comes, ends
 * stopped without running anything. */
static int df__stop_placeholder(df__exec_state_t *st, const df__event_t *ev, const df__engine_out_t *out,
                                int64_t now)
{
        df__exec_rec_t *e = &st->exec;
        df__exec_clear(e);
        e->execution_id = df__strdup0(ev->execution_id);
        e->workflow = df__strdup0("");
        e->parent_id = df__strdup0(ev->parent_id);
        e->parent_op = df__strdup0("");
        e->error = df__text_safe(ev->error && *ev->error ? ev->error : "stopped", DF__TEXT_MAX);
        if (!e->execution_id || !e->workflow || !e->parent_id || !e->parent_op || !e->error)
                return -1;
        e->status = DF__ES_STOPPED;
        e->created_ms = e->updated_ms = now;
        st->exists = 1;
        st->exec_dirty = 1;
        return df__emit_reply(out, ev, DF_OK, NULL, now);
}

/* DF__EV_PAUSE: no handler and no step runs until a RESUME; events that
 * arrive meanwhile are applied to the operations (a timer fired, a
 * callback completed, a child ended) and take effect at the resume's
 * replay, so none is lost and a timer due during the pause is honoured. */
static int df__apply_pause(df__exec_state_t *st, const df__event_t *ev, const df__engine_out_t *out, int64_t now)
{
        char *msg;
        if (st->exec.status == DF__ES_PAUSED)
                return df__emit_reply(out, ev, DF_OK, "already paused", now);
        msg = df__asprintf("paused: %s", ev->error && *ev->error ? ev->error : "by an operator");
        df__set_text(&st->exec.error, msg ? msg : "paused", DF__TEXT_MAX);
        free(msg);
        df__exec_touch(st, DF__ES_PAUSED, now);
        df__log(DF__LOG_INFO, "execution %s: %s", st->exec.execution_id, st->exec.error);
        return df__emit_reply(out, ev, DF_OK, NULL, now);
}

/* Restart rule: the point is a top-level operation.  A child context's,
 * branch's or item's result is checkpointed as one unit (its parent
 * records it whole and never re-enters a completed child), so a failure
 * inside one reruns the whole top-level operation around it. */
static int df__restart_point(const df__exec_state_t *st, const char *want, int *from, char *why, size_t why_size)
{
        int i;
        if (want && *want) {
                if (!df__op_id_valid(want)) {
                        snprintf(why, why_size, "operation id \"%.40s\" is malformed (a top-level id: 1, 2, ...)",
                                 want);
                        return -1;
                }
                if (strchr(want, '.')) {
                        snprintf(why, why_size,
                                 "operation %.40s is inside a child context, branch or map item: restart from its "
                                 "top-level operation %d (a child's result is checkpointed as one unit, so the "
                                 "whole child reruns)",
                                 want, atoi(want));
                        return -1;
                }
                *from = atoi(want);
                if (*from > st->n_top + 1) {
                        snprintf(why, why_size, "operation %d does not exist: the execution has operations 1..%d",
                                 *from, st->n_top);
                        return -1;
                }
                return 0;
        }
        for (i = 1; i <= st->n_top; i++) {
                const df__op_rec_t *op = df__exec_state_op(st, i);
                if (!op || op->status != DF__OS_SUCCEEDED)
                        break;
        }
        *from = i; /* the first that did not succeed; n_top + 1: all kept, the handler runs on */
        return 0;
}

/* Append one line to the execution's run log (bounded: the oldest lines go). */
static void df__run_log_add(df__exec_rec_t *e, const char *line)
{
        const char *old = e->run_log ? e->run_log : "";
        size_t keep = strlen(old), max = 16384;
        char *all;
        while (keep + strlen(line) + 2 > max && keep) {
                const char *nl = strchr(old, '\n');
                if (!nl)
                        keep = 0, old = "";
                else
                        keep -= (size_t)(nl + 1 - old), old = nl + 1;
        }
        all = df__asprintf("%.*s%s%s", (int)keep, old, keep ? "\n" : "", line);
        if (all) {
                free(e->run_log);
                e->run_log = all;
        }
}

/* DF__EV_RESTART: a FAILED, STOPPED or TIMED_OUT execution runs again from
 * a top-level operation (op_id; "" = its first one that did not succeed):
 * the operations before it are kept byte for byte, it and every one after
 * it are discarded (tombstoned) and run afresh, with a fresh set of
 * attempts.  Timers armed by the earlier run are no-ops (Event.run).  The
 * run log says when, from where, what was discarded and why. */
static int df__apply_restart(df__engine_t *eng, df__exec_state_t *st, const df__event_t *ev,
                             const df__engine_out_t *out, int committed, int64_t now)
{
        df__exec_rec_t *e = &st->exec;
        char why[512], names[400] = "", when[32];
        int from, i, n, was = e->status;
        size_t nl = 0;
        char *line, *err_cut, *why_cut;
        time_t secs;
        struct tm tm;

        if (was != DF__ES_FAILED && was != DF__ES_STOPPED && was != DF__ES_TIMED_OUT) {
                snprintf(why, sizeof(why),
                         "only a FAILED, STOPPED or TIMED_OUT execution can be restarted; this one is %s%s",
                         df__exec_status_name(was),
                         was == DF__ES_NONDETERMINISM || was == DF__ES_QUARANTINED || was == DF__ES_PAUSED ||
                                         was == DF__ES_VERSION_MISSING
                                 ? " (resume it)"
                                 : was == DF__ES_SUCCEEDED ? "" : " (stop it first)");
                return df__emit_reply(out, ev, DF_ERR_STATE, why, now);
        }
        if (df__restart_point(st, ev->op_id, &from, why, sizeof(why)))
                return df__emit_reply(out, ev, DF_ERR_INVALID_ARG, why, now);
        for (i = from; i <= st->n_top && nl < sizeof(names) - 64; i++) {
                const df__op_rec_t *op = df__exec_state_op(st, i);
                nl += (size_t)snprintf(names + nl, sizeof(names) - nl, "%s%d %s", i > from ? ", " : "", i,
                                       op && op->name ? op->name : "?");
        }
        if (i <= st->n_top)
                snprintf(names + nl, sizeof(names) - nl, ", ...");
        n = df__exec_state_discard_from(st, from);
        if (n < 0)
                return -1;
        e->run++;
        secs = (time_t)(now / 1000);
        gmtime_r(&secs, &tm);
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
        /* the error and the reason cut to 500 bytes each (UTF-8 safe, with
         * a marker): a run log line stays readable, the log bounded */
        err_cut = df__text_safe(e->error && *e->error ? e->error : "-", 500);
        why_cut = df__text_safe(ev->error && *ev->error ? ev->error : "restarted by an operator", 500);
        line = err_cut && why_cut
                       ? df__asprintf("run %d at %s.%03dZ: restarted from operation %d; %d operation(s) discarded"
                                      "%s%s%s; it was %s: %s; reason: %s",
                                      e->run, when, (int)(now % 1000), from, n, *names ? " (" : "", names,
                                      *names ? ")" : "", df__exec_status_name(was), err_cut, why_cut)
                       : NULL;
        free(err_cut);
        free(why_cut);
        if (!line)
                return -1;
        df__run_log_add(e, line);
        df__log(DF__LOG_INFO, "execution %s: %s", e->execution_id, line);
        free(line);
        df__set_str(&e->error, "");
        df__buf_clear(&e->output);
        e->crash_count = 0;
        df__set_str(&e->crash_op, "");
        e->crash_attempt = 0;
        e->op_count = st->n_top;
        df__exec_touch(st, DF__ES_RUNNING, now);
        if (df__emit_reply(out, ev, DF_OK, NULL, now))
                return -1;
        return df__replay(eng, st, out, committed, now);
}

/* DF__EV_PURGE (an operator) or a RETENTION timer: a finished execution's
 * records are tombstoned in <prefix>.state and its store; the id may be
 * started again as new. */
static int df__apply_purge(df__exec_state_t *st, const df__event_t *ev, const df__engine_out_t *out, int64_t now)
{
        char why[256];
        char *id;
        if (!df__exec_status_terminal(st->exec.status)) {
                snprintf(why, sizeof(why), "only a finished execution can be purged; this one is %s (stop it first)",
                         df__exec_status_name(st->exec.status));
                return df__emit_reply(out, ev, DF_ERR_STATE, why, now);
        }
        id = df__strdup0(st->exec.execution_id);
        if (!id || df__exec_state_purge(st)) {
                free(id);
                return -1;
        }
        df__log(DF__LOG_INFO, "execution %s: purged (%s)", id,
                ev->type == DF__EV_TIMER ? "its retention.ms is over" : "by an operator");
        free(id);
        return df__emit_reply(out, ev, DF_OK, NULL, now);
}

static int df__engine_apply_event(df__engine_t *eng, df__exec_state_t *st, const df__event_t *ev,
                                  const df__engine_out_t *out, int committed)
{
        int64_t now = df__engine_now(eng);
        int replay = 0;

        if (ev->type == DF__EV_CRASH)
                return df__apply_crash(eng, st, ev, now);
        if (ev->type == DF__EV_START)
                return df__apply_start(eng, st, ev, out, committed, now);
        if (ev->type == DF__EV_STOP && (!st->exists || !*st->exec.workflow) && ev->parent_id && *ev->parent_id &&
            !(st->exists && df__exec_status_terminal(st->exec.status)))
                return df__stop_placeholder(st, ev, out, now);
        if (!st->exists || !*st->exec.workflow) {
                /* as describe and resume say it */
                char q[100], msg[160];
                snprintf(msg, sizeof(msg), "no execution named \"%s\"",
                         df__quote(q, sizeof(q), ev->execution_id ? ev->execution_id : ""));
                return df__emit_reply(out, ev, DF_ERR_NOT_FOUND, msg, now);
        }
        if (ev->type == DF__EV_RESTART)
                return df__apply_restart(eng, st, ev, out, committed, now);
        if (ev->type == DF__EV_PURGE)
                return df__apply_purge(st, ev, out, now);
        if (ev->type == DF__EV_TIMER && ev->timer_kind == DF__TK_RETENTION) {
                /* the sweep's: purge when its own end is retention.ms ago
                 * (restarted and ended again since: not yet); a timer of an
                 * earlier version (one per finished run): its run's */
                if (ev->seq == DF__RETENTION_SWEEP ? !df__engine_retention_over(eng, st, now)
                                                   : !df__exec_status_terminal(st->exec.status) ||
                                                             ev->run != st->exec.run)
                        return 0;
                return df__apply_purge(st, ev, out, now);
        }
        if (df__exec_status_terminal(st->exec.status) && ev->type != DF__EV_CALLBACK)
                return df__emit_reply(out, ev, DF_ERR_FINISHED, "execution already finished", now);
        switch (ev->type) {
        case DF__EV_TIMER:
                if (df__apply_timer(eng, st, ev, out, now, &replay))
                        return -1;
                break;
        case DF__EV_CALLBACK:
                if (df__apply_callback(eng, st, ev, out, now, &replay))
                        return -1;
                break;
        case DF__EV_CHILD_DONE:
                if (df__apply_child_done(st, ev, now, &replay))
                        return -1;
                break;
        case DF__EV_STOP:
                return df__apply_stop(eng, st, ev, out, now);
        case DF__EV_CONTINUE:
                replay = 1;
                if (df__emit_reply(out, ev, DF_OK, NULL, now))
                        return -1;
                break;
        case DF__EV_RESUME:
                return df__apply_resume(eng, st, ev, out, committed, now);
        case DF__EV_PAUSE:
                return df__apply_pause(st, ev, out, now);
        default:
                return df__emit_reply(out, ev, DF_ERR_INVALID_ARG, "unknown event type", now);
        }
        if (!replay)
                return 0;
        if (st->exec.status == DF__ES_VERSION_MISSING) {
                /* a worker that has the version: it goes on */
                if (!df__wf_find(eng, st->exec.workflow, st->exec.version))
                        return 0;
                df__set_str(&st->exec.error, "");
                df__exec_touch(st, DF__ES_RUNNING, now);
                df__log(DF__LOG_INFO, "execution %s: version %d of workflow \"%s\" is registered here: it goes on",
                        st->exec.execution_id, st->exec.version, st->exec.workflow);
        } else if (df__exec_parked(st->exec.status)) {
                return 0;
        }
        return df__replay(eng, st, out, committed, now);
}

/* Every apply goes through the tracing (engine_trace.h): its records carry
 * the execution's traceparent, and the spans of what it ended are emitted. */
int df__engine_apply(df__engine_t *eng, df__exec_state_t *st, const df__event_t *ev, const df__engine_out_t *out,
                     int committed)
{
        df__etrace_t tr;
        df__engine_out_t traced;
        int rc;

        df__etrace_begin(&tr, eng->tracer, st, ev, out, &traced);
        rc = df__engine_apply_event(eng, st, ev, &traced, committed);
        df__etrace_end(&tr, rc, df__engine_now(eng));
        return rc;
}
