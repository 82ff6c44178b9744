/*
 * engine.c -- the replay engine: applies one event to an execution's state
 * and replays its handler.  Knows nothing of Kafka or RocksDB: the worker
 * and the in-process test runner both drive it.
 *
 * Semantics follow the AWS Lambda durable execution SDK (step, wait,
 * create_callback, wait_for_callback) as described in docs/design.md.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef struct df__workflow {
        df_handler_fn fn;
        void *opaque;
} df__workflow_t;

struct df__engine {
        char *events_topic;
        df__map_t *workflows; /* name -> df__workflow_t */
        df__map_t *amo;       /* "<exec>/<op>" -> attempt (intptr): START awaiting commit */
        df__map_t *amo_execs; /* exec id -> (void *)1 */
        df__clock_fn clock;
        void *clock_opaque;
        int max_crashes;      /* crash events before an execution is QUARANTINED */
        df__engine_stats_t stats;
};

struct df_ctx {
        df__engine_t *eng;
        df__exec_state_t *st;
        const df__engine_out_t *out;
        int64_t now;
        int next_op;
        int suspended;
        int nondet;
        int failed_internal;
        int committed;
        int replaying;
        int crash_consumed;   /* this replay turned a crash note into a failed attempt */
        size_t new_bytes;     /* results recorded by this replay (not flushed yet), bytes */
        char *last_error;
        char *fail_msg;
        df__buf_t output;
};

struct df_step {
        df_ctx_t *ctx;
        int attempt;
        char *idem_key;
        df__buf_t result;
        char *err_type;
        char *err_msg;
        int result_err;
};

/* ---------------- engine object ---------------- */

static int64_t df__wall_clock(void *opaque)
{
        (void)opaque;
        return df__now_ms();
}

df__engine_t *df__engine_new(const char *events_topic)
{
        df__engine_t *eng = calloc(1, sizeof(*eng));
        if (!eng)
                return NULL;
        eng->events_topic = strdup(events_topic);
        eng->workflows = df__map_new();
        eng->amo = df__map_new();
        eng->amo_execs = df__map_new();
        eng->clock = df__wall_clock;
        eng->max_crashes = 5;
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
        free(eng->events_topic);
        df__map_destroy(eng->workflows, free);
        df__map_destroy(eng->amo, NULL);
        df__map_destroy(eng->amo_execs, NULL);
        free(eng);
}

df_err_t df__engine_register(df__engine_t *eng, const char *name, df_handler_fn fn, void *opaque)
{
        df__workflow_t *wf;
        int err;

        if (!name || !*name || !fn || df__map_get(eng->workflows, name))
                return DF_ERR_INVALID_ARG;
        wf = malloc(sizeof(*wf));
        if (!wf)
                return DF_ERR_NOMEM;
        wf->fn = fn;
        wf->opaque = opaque;
        df__map_put(eng->workflows, name, wf, &err);
        if (err) {
                free(wf);
                return DF_ERR_NOMEM;
        }
        return DF_OK;
}

void df__engine_set_max_crashes(df__engine_t *eng, int n)
{
        eng->max_crashes = n < 1 ? 1 : n;
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

void df__engine_stats(const df__engine_t *eng, df__engine_stats_t *out)
{
        *out = eng->stats;
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
        df__map_t *execs = eng->amo_execs;

        if (!df__map_size(execs))
                return;
        /* fn may re-arm new at-most-once steps: give it a fresh set. */
        eng->amo_execs = df__map_new();
        if (!eng->amo_execs) {
                eng->amo_execs = execs;
                return;
        }
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
        df__map_del(eng->amo_execs, execution_id);
        df__map_foreach(eng->amo, df__forget_collect, &f);
        for (i = 0; i < f.n; i++) {
                df__map_del(eng->amo, f.keys[i]);
                free(f.keys[i]);
        }
        free(f.keys);
}

void df__engine_amo_reset(df__engine_t *eng)
{
        df__map_clear(eng->amo, NULL);
        df__map_clear(eng->amo_execs, NULL);
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

static int df__emit_result(const df__engine_out_t *out, const df__exec_state_t *st, int64_t now)
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
        return out->result(out->opaque, &r);
}

/* Ask the timer service for a TIMER event at due_ms. */
/* Timer ids: "<execution id>/<operation id>/<kind>/<seq>" (unique per arming). */
static char *df__timer_id(const df__op_rec_t *op, int kind, int64_t seq)
{
        return df__asprintf("%s/%s/%d/%lld", op->execution_id, op->op_id, kind, (long long)seq);
}

/* Withdraw a timer that can only fire as a no-op now (the timer service
 * drops it from its index instead of firing it). */
static int df__cancel_timer(const df__engine_out_t *out, const df__op_rec_t *op, int kind, int64_t seq)
{
        char *tid;
        int rc;
        if (!out || !out->cancel_timer)
                return 0;
        tid = df__timer_id(op, kind, seq);
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

static int df__arm_timer(df_ctx_t *ctx, const df__op_rec_t *op, int kind, int64_t seq, int64_t due_ms)
{
        df__event_t ev;
        df__timer_rec_t t;
        df__buf_t payload = {0};
        char errstr[256];
        char *tid;
        int rc;

        memset(&ev, 0, sizeof(ev));
        ev.type = DF__EV_TIMER;
        ev.execution_id = op->execution_id;
        ev.op_id = op->op_id;
        ev.seq = seq;
        ev.timer_kind = kind;
        ev.ts_ms = ctx->now;
        if (df__event_encode(&ev, &payload, errstr, sizeof(errstr))) {
                df__log(DF__LOG_ERROR, "cannot encode timer event: %s", errstr);
                return -1;
        }
        tid = df__timer_id(op, kind, seq);
        if (!tid) {
                free(payload.data);
                return -1;
        }
        memset(&t, 0, sizeof(t));
        t.timer_id = tid;
        t.due_ms = due_ms;
        t.topic = ctx->eng->events_topic;
        t.key.data = (uint8_t *)op->execution_id;
        t.key.len = strlen(op->execution_id);
        t.payload = payload;
        t.created_ms = ctx->now;
        rc = ctx->out->timer(ctx->out->opaque, &t);
        free(tid);
        free(payload.data);
        return rc;
}

/* ---------------- replay context helpers ---------------- */

/* Every text the engine records goes through here: made valid UTF-8 and
 * cut to DF__TEXT_MAX bytes with a marker (df__text_safe), so what a
 * workflow hands over can always be encoded. */
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

/* Set ctx->last_error to a formatted message (kept when out of memory). */
static void df__ctx_errorf(df_ctx_t *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void df__ctx_errorf(df_ctx_t *ctx, const char *fmt, ...)
{
        char buf[512];
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

static df_err_t df__internal(df_ctx_t *ctx)
{
        ctx->failed_internal = 1;
        ctx->suspended = 1; /* nothing more may run in this replay */
        return DF_SUSPENDED;
}

static df_err_t df__suspend(df_ctx_t *ctx)
{
        ctx->suspended = 1;
        ctx->replaying = 0;
        return DF_SUSPENDED;
}

/* Suspend now and continue in a later batch (a CONTINUE event). */
static df_err_t df__yield(df_ctx_t *ctx)
{
        df__event_t ev;
        memset(&ev, 0, sizeof(ev));
        ev.type = DF__EV_CONTINUE;
        ev.execution_id = ctx->st->exec.execution_id;
        ev.ts_ms = ctx->now;
        if (ctx->out->event(ctx->out->opaque, &ev))
                return df__internal(ctx);
        return df__suspend(ctx);
}

static df_err_t df__nondet(df_ctx_t *ctx, int id, const df__op_rec_t *op, int type, const char *name)
{
        char *msg = df__asprintf("non-determinism at operation %d: history has %s \"%s\", code calls %s \"%s\"", id,
                                 df__op_type_name(op->type), op->name, df__op_type_name(type), name);
        ctx->nondet = 1;
        if (msg) {
                free(ctx->last_error);
                ctx->last_error = msg;
        }
        return DF_ERR_NONDETERMINISM;
}

/* Entry check of every operation: DF_OK to go on, or what to return. */
static df_err_t df__op_gate(df_ctx_t *ctx)
{
        if (ctx->nondet)
                return DF_ERR_NONDETERMINISM;
        if (ctx->suspended)
                return DF_SUSPENDED;
        return DF_OK;
}

/* The op with this id, checked against the code's type and name.
 * *op = NULL when the history has none. */
static df_err_t df__op_lookup(df_ctx_t *ctx, int id, int type, const char *name, df__op_rec_t **op)
{
        df__op_rec_t *o = df__exec_state_op(ctx->st, id);
        *op = NULL;
        if (!o)
                return DF_OK;
        if (o->type != type || strcmp(o->name, name))
                return df__nondet(ctx, id, o, type, name);
        *op = o;
        /* the code after the last recorded operation runs for the first time */
        ctx->replaying = id < ctx->st->n_ops;
        return DF_OK;
}

/* A new op record for id, stored in st; NULL on ENOMEM. */
static df__op_rec_t *df__op_new(df_ctx_t *ctx, int id, int type, const char *name)
{
        df__op_rec_t op;
        char idbuf[16];

        memset(&op, 0, sizeof(op));
        snprintf(idbuf, sizeof(idbuf), "%d", id);
        op.execution_id = df__strdup0(ctx->st->exec.execution_id);
        op.op_id = df__strdup0(idbuf);
        op.parent_id = df__strdup0("");
        op.name = df__strdup0(name);
        op.error = df__strdup0("");
        op.callback_id = df__strdup0("");
        op.type = type;
        op.started_ms = op.updated_ms = ctx->now;
        if (!op.execution_id || !op.op_id || !op.parent_id || !op.name || !op.error || !op.callback_id ||
            df__exec_state_put_op(ctx->st, &op)) {
                df__op_clear(&op);
                return NULL;
        }
        ctx->st->op_dirty[id - 1] = 1;
        return df__exec_state_op(ctx->st, id);
}

static void df__op_touch(df_ctx_t *ctx, int id)
{
        df__op_rec_t *op = df__exec_state_op(ctx->st, id);
        op->updated_ms = ctx->now;
        ctx->st->op_dirty[id - 1] = 1;
}

/* ---------------- public ctx accessors ---------------- */

const char *df_ctx_execution_id(const df_ctx_t *ctx)
{
        return ctx->st->exec.execution_id;
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

/* ---------------- step ---------------- */

int df_step_attempt(const df_step_t *step)
{
        return step->attempt;
}

const char *df_step_idempotency_key(const df_step_t *step)
{
        return step->idem_key;
}

df_err_t df_step_set_result(df_step_t *step, const void *data, size_t len)
{
        if (!step || (len && !data))
                return DF_ERR_INVALID_ARG;
        if (len > DF_PAYLOAD_MAX) {
                step->result_err = DF_ERR_PAYLOAD_TOO_LARGE;
                return DF_ERR_PAYLOAD_TOO_LARGE;
        }
        return df__buf_set(&step->result, data, len) ? DF_ERR_NOMEM : DF_OK;
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
static df_err_t df__step_failed(df_ctx_t *ctx, int id, const df_step_opts_t *o, int attempt, const char *type,
                                const char *msg)
{
        df__op_rec_t *op = df__exec_state_op(ctx->st, id);
        char *text = df__asprintf("%s: %s", type, msg);

        if (!text)
                return df__internal(ctx);
        free(op->error);
        op->error = text;
        op->attempt = attempt;
        df__buf_clear(&op->result);
        df__op_touch(ctx, id);
        if (attempt < o->max_attempts && !df__non_retryable(o, type)) {
                int64_t delay = df__retry_delay(o, attempt);
                op->status = DF__OS_PENDING;
                op->due_ms = ctx->now + delay;
                op->seq++;
                if (df__arm_timer(ctx, op, DF__TK_RETRY, op->seq, op->due_ms))
                        return df__internal(ctx);
                return df__suspend(ctx);
        }
        op->status = DF__OS_FAILED;
        op->due_ms = 0;
        df__set_str(&ctx->last_error, text);
        return DF_ERR_STEP_FAILED;
}

static df_err_t df__step_run(df_ctx_t *ctx, int id, df_step_fn fn, void *opaque, const df_step_opts_t *o,
                             int attempt, df_bytes_t *result)
{
        df__op_rec_t *op = df__exec_state_op(ctx->st, id);
        df_step_t s;
        df_err_t rc;

        memset(&s, 0, sizeof(s));
        s.ctx = ctx;
        s.attempt = attempt;
        s.idem_key = df__asprintf("%s/%s", op->execution_id, op->op_id);
        if (!s.idem_key)
                return df__internal(ctx);
        ctx->replaying = 0;
        if (ctx->out->step_begin && ctx->out->step_begin(ctx->out->opaque, op->execution_id, op->op_id, attempt)) {
                df__step_free(&s);
                return df__internal(ctx);
        }
        rc = fn(&s, opaque);
        if (ctx->out->step_end)
                ctx->out->step_end(ctx->out->opaque);
        ctx->eng->stats.steps_run++;
        op = df__exec_state_op(ctx->st, id);
        if (rc == DF_OK && !s.result_err) {
                df__buf_t tmp = op->result;
                op->result = s.result;
                s.result = tmp;
                op->status = DF__OS_SUCCEEDED;
                op->attempt = attempt;
                op->due_ms = 0;
                ctx->new_bytes += op->result.len + 256;
                df__set_str(&op->error, "");
                df__op_touch(ctx, id);
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
                rc = df__step_failed(ctx, id, &once, attempt, type, msg);
        }
        df__step_free(&s);
        return rc;
}

/*
 * A crash note (DF__EV_CRASH) says the worker process died while the body of
 * step id ran at this attempt: that attempt failed with WorkerCrashed and
 * goes into the retry strategy, without running the body again.  1 when
 * the note was for it (and is now consumed), else 0.
 */
static int df__crash_noted(df_ctx_t *ctx, int id, int attempt)
{
        df__exec_rec_t *e = &ctx->st->exec;
        char idbuf[16];

        if (!e->crash_op || !*e->crash_op)
                return 0;
        snprintf(idbuf, sizeof(idbuf), "%d", id);
        if (strcmp(e->crash_op, idbuf) || e->crash_attempt != attempt)
                return 0;
        df__set_str(&e->crash_op, "");
        e->crash_attempt = 0;
        ctx->st->exec_dirty = 1;
        ctx->crash_consumed = 1;
        return 1;
}

static df_err_t df__step_crashed(df_ctx_t *ctx, int id, const df_step_opts_t *o, int attempt, const char *name)
{
        char msg[DF__NAME_MAX + 128];
        snprintf(msg, sizeof(msg), "the worker process died while running step \"%s\" (attempt %d)", name, attempt);
        df__log(DF__LOG_WARN, "execution %s: %s", ctx->st->exec.execution_id, msg);
        return df__step_failed(ctx, id, o, attempt, "WorkerCrashed", msg);
}

df_err_t df_step(df_ctx_t *ctx, const char *name, df_step_fn fn, void *opaque, const df_step_opts_t *opts,
                 df_bytes_t *result)
{
        df_step_opts_t o;
        df__op_rec_t *op;
        df_err_t rc;
        int id, attempt;
        char key[256];

        if (result) {
                result->data = NULL;
                result->len = 0;
        }
        if (!ctx || !name || !fn)
                return DF_ERR_INVALID_ARG;
        if ((rc = df__op_gate(ctx)) != DF_OK)
                return rc;
        if ((rc = df__name_check(ctx, "step", name)) != DF_OK)
                return rc;
        df__step_opts_resolve(opts, &o);
        id = ++ctx->next_op;
        if ((rc = df__op_lookup(ctx, id, DF__OP_STEP, name, &op)) != DF_OK)
                return rc;
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
                                return df__suspend(ctx); /* backoff not over */
                        attempt = op->attempt + 1;
                        break;
                case DF__OS_STARTED:
                        snprintf(key, sizeof(key), "%s/%d", op->execution_id, id);
                        if ((intptr_t)df__map_get(ctx->eng->amo, key) == op->attempt) {
                                if (!ctx->committed)
                                        return df__suspend(ctx); /* START not committed yet */
                                df__map_del(ctx->eng->amo, key);
                                return df__step_run(ctx, id, fn, opaque, &o, op->attempt, result);
                        }
                        /* START committed by a run that never recorded a result. */
                        if (df__crash_noted(ctx, id, op->attempt))
                                return df__step_crashed(ctx, id, &o, op->attempt, name);
                        return df__step_failed(ctx, id, &o, op->attempt, "StepInterrupted",
                                               "at-most-once step started but no result was recorded");
                default:
                        return df__internal(ctx);
                }
        } else {
                /* The batch holds as many output bytes as it may: commit it
                 * first; this execution goes on in the next batch. */
                if (ctx->out->over_budget && ctx->out->over_budget(ctx->out->opaque, ctx->new_bytes))
                        return df__yield(ctx);
                op = df__op_new(ctx, id, DF__OP_STEP, name);
                if (!op)
                        return df__internal(ctx);
                attempt = 1;
        }
        if (df__crash_noted(ctx, id, attempt))
                return df__step_crashed(ctx, id, &o, attempt, name);
        if (o.semantics == DF_AT_MOST_ONCE_PER_RETRY) {
                df__event_t ev;
                int err;
                op->status = DF__OS_STARTED;
                op->attempt = attempt;
                op->due_ms = 0;
                df__op_touch(ctx, id);
                snprintf(key, sizeof(key), "%s/%d", op->execution_id, id);
                df__map_put(ctx->eng->amo, key, (void *)(intptr_t)attempt, &err);
                if (err)
                        return df__internal(ctx);
                df__map_put(ctx->eng->amo_execs, op->execution_id, (void *)1, &err);
                if (err)
                        return df__internal(ctx);
                /* Whoever owns the execution after the commit replays it. */
                memset(&ev, 0, sizeof(ev));
                ev.type = DF__EV_CONTINUE;
                ev.execution_id = op->execution_id;
                ev.ts_ms = ctx->now;
                if (ctx->out->event(ctx->out->opaque, &ev))
                        return df__internal(ctx);
                return df__suspend(ctx);
        }
        return df__step_run(ctx, id, fn, opaque, &o, attempt, result);
}

/* ---------------- wait ---------------- */

df_err_t df_wait(df_ctx_t *ctx, const char *name, int64_t duration_ms)
{
        df__op_rec_t *op;
        df_err_t rc;
        int id;

        if (!ctx || !name)
                return DF_ERR_INVALID_ARG;
        if ((rc = df__op_gate(ctx)) != DF_OK)
                return rc;
        if ((rc = df__name_check(ctx, "wait", name)) != DF_OK)
                return rc;
        if (duration_ms < 0 || duration_ms > DF_WAIT_MAX_MS) {
                df__ctx_errorf(ctx, "wait \"%s\": duration_ms %lld is outside 0..%lld (366 days)", name,
                               (long long)duration_ms, (long long)DF_WAIT_MAX_MS);
                return DF_ERR_INVALID_ARG;
        }
        id = ++ctx->next_op;
        if ((rc = df__op_lookup(ctx, id, DF__OP_WAIT, name, &op)) != DF_OK)
                return rc;
        if (op) {
                if (op->status == DF__OS_SUCCEEDED)
                        return DF_OK;
                return df__suspend(ctx);
        }
        op = df__op_new(ctx, id, DF__OP_WAIT, name);
        if (!op)
                return df__internal(ctx);
        op->status = DF__OS_PENDING;
        op->due_ms = ctx->now + duration_ms;
        op->seq = 1;
        if (df__arm_timer(ctx, op, DF__TK_WAIT, op->seq, op->due_ms))
                return df__internal(ctx);
        return df__suspend(ctx);
}

/* ---------------- callbacks ---------------- */

df_err_t df_create_callback(df_ctx_t *ctx, const char *name, const df_callback_opts_t *opts,
                            const char **callback_id)
{
        df_callback_opts_t o = {0, 0};
        df__op_rec_t *op;
        unsigned char rnd[16];
        char hex[33];
        df_err_t rc;
        int id, i;

        if (callback_id)
                *callback_id = NULL;
        if (!ctx || !name || !callback_id)
                return DF_ERR_INVALID_ARG;
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
        id = ++ctx->next_op;
        if ((rc = df__op_lookup(ctx, id, DF__OP_CALLBACK, name, &op)) != DF_OK)
                return rc;
        if (op) {
                *callback_id = op->callback_id;
                return DF_OK;
        }
        op = df__op_new(ctx, id, DF__OP_CALLBACK, name);
        if (!op)
                return df__internal(ctx);
        if (df__random_bytes(rnd, sizeof(rnd)))
                return df__internal(ctx);
        for (i = 0; i < 16; i++)
                snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
        free(op->callback_id);
        op->callback_id = df__asprintf("%s_%d_%s", hex, id, op->execution_id);
        if (!op->callback_id)
                return df__internal(ctx);
        op->status = DF__OS_PENDING;
        op->hb_timeout_ms = o.heartbeat_timeout_ms;
        op->due_ms = o.timeout_ms ? ctx->now + o.timeout_ms : 0;
        if (o.timeout_ms && df__arm_timer(ctx, op, DF__TK_CB_TIMEOUT, 0, op->due_ms))
                return df__internal(ctx);
        if (o.heartbeat_timeout_ms &&
            df__arm_timer(ctx, op, DF__TK_CB_HEARTBEAT, op->seq, ctx->now + o.heartbeat_timeout_ms))
                return df__internal(ctx);
        ctx->replaying = 0;
        *callback_id = op->callback_id;
        return DF_OK;
}

df_err_t df_callback_result(df_ctx_t *ctx, const char *callback_id, df_bytes_t *result)
{
        df__op_rec_t *op = NULL;
        df_err_t rc;
        int i;

        if (result) {
                result->data = NULL;
                result->len = 0;
        }
        if (!ctx || !callback_id)
                return DF_ERR_INVALID_ARG;
        if ((rc = df__op_gate(ctx)) != DF_OK)
                return rc;
        for (i = 1; i <= ctx->st->n_ops; i++) {
                df__op_rec_t *o = df__exec_state_op(ctx->st, i);
                if (o && o->type == DF__OP_CALLBACK && !strcmp(o->callback_id, callback_id)) {
                        op = o;
                        break;
                }
        }
        if (!op)
                return DF_ERR_INVALID_ARG;
        switch (op->status) {
        case DF__OS_SUCCEEDED:
                if (result) {
                        result->data = op->result.data;
                        result->len = op->result.len;
                }
                return DF_OK;
        case DF__OS_FAILED:
                df__set_str(&ctx->last_error, op->error);
                return DF_ERR_CALLBACK_FAILED;
        case DF__OS_TIMED_OUT:
                df__set_str(&ctx->last_error, op->error);
                return DF_ERR_TIMED_OUT;
        default:
                return df__suspend(ctx);
        }
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

/* ---------------- apply an event ---------------- */

static int df__exec_create(df__exec_state_t *st, const df__event_t *ev, int64_t now)
{
        df__exec_rec_t *e = &st->exec;

        df__exec_clear(e);
        e->execution_id = df__strdup0(ev->execution_id);
        e->workflow = df__strdup0(ev->workflow);
        e->error = df__strdup0("");
        if (!e->execution_id || !e->workflow || !e->error || df__buf_set(&e->input, ev->input.data, ev->input.len))
                return -1;
        e->status = DF__ES_RUNNING;
        e->created_ms = e->updated_ms = now;
        st->exists = 1;
        st->exec_dirty = 1;
        return 0;
}

static void df__exec_touch(df__exec_state_t *st, int status, int64_t now)
{
        st->exec.status = status;
        st->exec.updated_ms = now;
        st->exec_dirty = 1;
}

static int df__replay(df__engine_t *eng, df__exec_state_t *st, const df__engine_out_t *out, int committed,
                      int64_t now)
{
        df__workflow_t *wf = df__map_get(eng->workflows, st->exec.workflow);
        df_bytes_t input = {st->exec.input.data, st->exec.input.len};
        df_ctx_t ctx;
        df_err_t rc;
        int ret = 0;

        if (!wf) {
                df__set_str(&st->exec.error, "no workflow registered under this name on this worker");
                df__exec_touch(st, DF__ES_FAILED, now);
                return df__emit_result(out, st, now);
        }
        memset(&ctx, 0, sizeof(ctx));
        ctx.eng = eng;
        ctx.st = st;
        ctx.out = out;
        ctx.now = now;
        ctx.committed = committed;
        ctx.replaying = st->n_ops > 0; /* a fresh execution replays nothing */
        rc = wf->fn(&ctx, &input, wf->opaque);
        if (ctx.failed_internal) {
                ret = -1;
        } else if (ctx.nondet) {
                df__set_str(&st->exec.error, ctx.last_error);
                df__exec_touch(st, DF__ES_NONDETERMINISM, now);
                df__log(DF__LOG_WARN, "execution %s: %s", st->exec.execution_id, st->exec.error);
        } else if (ctx.suspended || rc == DF_SUSPENDED) {
                if (st->exec.status != DF__ES_SUSPENDED)
                        df__exec_touch(st, DF__ES_SUSPENDED, now);
        } else if (rc == DF_OK && ctx.next_op < st->n_ops) {
                char *msg = df__asprintf("non-determinism: history has %d operations, the code completed after %d",
                                         st->n_ops, ctx.next_op);
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
                eng->stats.finished++;
                ret = df__emit_result(out, st, now);
        } else {
                const char *msg = ctx.fail_msg ? ctx.fail_msg : (ctx.last_error ? ctx.last_error : df_strerror(rc));
                df__set_str(&st->exec.error, msg);
                df__exec_touch(st, DF__ES_FAILED, now);
                eng->stats.finished++;
                ret = df__emit_result(out, st, now);
        }
        if (st->exec.op_count != st->n_ops) {
                st->exec.op_count = st->n_ops;
                st->exec_dirty = 1;
        }
        /* A replay that ran through without a crash note to consume shows
         * that what killed workers before does not always do so. */
        if (!ctx.failed_internal && !ctx.crash_consumed && st->exec.crash_count) {
                st->exec.crash_count = 0;
                st->exec_dirty = 1;
        }
        free(ctx.last_error);
        free(ctx.fail_msg);
        free(ctx.output.data);
        return ret;
}

static int df__apply_timer(df__exec_state_t *st, const df__event_t *ev, const df__engine_out_t *out, int64_t now,
                           int *replay)
{
        char *end;
        long id = strtol(ev->op_id ? ev->op_id : "", &end, 10);
        df__op_rec_t *op = (*end || id < 1) ? NULL : df__exec_state_op(st, (int)id);

        *replay = 0;
        if (!op)
                return 0;
        switch (ev->timer_kind) {
        case DF__TK_WAIT:
                if (op->type != DF__OP_WAIT || op->status != DF__OS_PENDING || op->seq != ev->seq)
                        return 0;
                op->status = DF__OS_SUCCEEDED;
                break;
        case DF__TK_RETRY:
                if (op->type != DF__OP_STEP || op->status != DF__OS_PENDING || op->seq != ev->seq)
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
                df__set_str(&op->error, ev->timer_kind == DF__TK_CB_TIMEOUT ? "callback timed out"
                                                                            : "callback heartbeat timed out");
                if (df__cancel_callback_timers(out, op, ev->timer_kind))
                        return -1;
                break;
        default:
                return 0;
        }
        op->updated_ms = now;
        st->op_dirty[id - 1] = 1;
        *replay = 1;
        return 0;
}

static int df__apply_callback(df__engine_t *eng, df__exec_state_t *st, const df__event_t *ev,
                              const df__engine_out_t *out, int64_t now, int *replay)
{
        char opid[16];
        const char *exec;
        df__op_rec_t *op = NULL;
        long id = 0;

        *replay = 0;
        if (!df__callback_id_parse(ev->callback_id, opid, sizeof(opid), &exec) &&
            !strcmp(exec, st->exec.execution_id)) {
                id = strtol(opid, NULL, 10);
                op = df__exec_state_op(st, (int)id);
        }
        if (!op || op->type != DF__OP_CALLBACK || !df__secure_eq(op->callback_id, ev->callback_id)) {
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
        switch (ev->callback_kind) {
        case DF__CB_SUCCESS:
                if (df__buf_set(&op->result, ev->input.data, ev->input.len))
                        return -1;
                op->status = DF__OS_SUCCEEDED;
                *replay = 1;
                if (df__cancel_callback_timers(out, op, -1))
                        return -1;
                break;
        case DF__CB_FAILURE:
                df__set_str(&op->error, ev->error && *ev->error ? ev->error : "callback failed");
                op->status = DF__OS_FAILED;
                *replay = 1;
                if (df__cancel_callback_timers(out, op, -1))
                        return -1;
                break;
        case DF__CB_HEARTBEAT:
                if (op->hb_timeout_ms > 0) {
                        df_ctx_t ctx;
                        memset(&ctx, 0, sizeof(ctx));
                        ctx.eng = eng;
                        ctx.st = st;
                        ctx.out = out;
                        ctx.now = now;
                        /* the heartbeat timer armed before is superseded */
                        if (df__cancel_timer(out, op, DF__TK_CB_HEARTBEAT, op->seq))
                                return -1;
                        op->seq++;
                        if (df__arm_timer(&ctx, op, DF__TK_CB_HEARTBEAT, op->seq, now + op->hb_timeout_ms))
                                return -1;
                }
                break;
        default:
                return df__emit_reply(out, ev, DF_ERR_INVALID_ARG, "unknown callback outcome", now);
        }
        op->updated_ms = now;
        st->op_dirty[id - 1] = 1;
        return df__emit_reply(out, ev, DF_OK, NULL, now);
}

/* Statuses in which events are recorded but the handler is not replayed. */
static int df__exec_parked(int status)
{
        return status == DF__ES_NONDETERMINISM || status == DF__ES_QUARANTINED;
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
        df__set_str(&e->crash_op, ev->op_id ? ev->op_id : "");
        e->crash_attempt = (int32_t)ev->seq;
        e->updated_ms = now;
        st->exec_dirty = 1;
        df__log(DF__LOG_WARN, "execution %s: a worker process died while processing it (%d so far; %s%s%s)",
                e->execution_id, e->crash_count, *e->crash_op ? "in the body of operation " : "outside any step body",
                e->crash_op, "");
        if (e->crash_count < eng->max_crashes || e->status == DF__ES_QUARANTINED)
                return 0;
        if (*e->crash_op)
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
        e->crash_count = 0;
        df__set_str(&e->crash_op, "");
        e->crash_attempt = 0;
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
        rc = df__engine_apply(eng, st, &stashed, out, committed);
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
                if (df__exec_create(st, ev, now))
                        return -1;
        } else if (df__exec_status_terminal(e->status)) {
                return -1;
        } else if (ev->type != DF__EV_START && raw && raw->len && !e->stash.len) {
                if (df__buf_set(&e->stash, raw->data, raw->len))
                        return -1;
        }
        msg = df__asprintf("quarantined: processing a %s event failed: %s; resume it once fixed",
                           ev->type == DF__EV_START ? "start" : ev->type == DF__EV_TIMER ? "timer" :
                           ev->type == DF__EV_CALLBACK ? "callback" : "control",
                           reason);
        df__set_str(&e->error, msg ? msg : reason);
        free(msg);
        df__exec_touch(st, DF__ES_QUARANTINED, now);
        df__log(DF__LOG_ERROR, "execution %s: %s", e->execution_id, e->error);
        return df__emit_reply(out, ev, DF_ERR_REJECTED, e->error, now);
}

int df__engine_apply(df__engine_t *eng, df__exec_state_t *st, const df__event_t *ev, const df__engine_out_t *out,
                     int committed)
{
        int64_t now = df__engine_now(eng);
        int replay = 0;

        if (ev->type == DF__EV_CRASH)
                return df__apply_crash(eng, st, ev, now);
        if (ev->type == DF__EV_START) {
                /* a placeholder left by a crash event is filled in, not an existing execution */
                if (st->exists && *st->exec.workflow) {
                        int same = !strcmp(st->exec.workflow, ev->workflow) && st->exec.input.len == ev->input.len &&
                                   (!ev->input.len || !memcmp(st->exec.input.data, ev->input.data, ev->input.len));
                        return df__emit_reply(out, ev, same ? DF_OK : DF_ERR_CONFLICT, same ? "exists" : NULL, now);
                }
                if (!df__map_get(eng->workflows, ev->workflow))
                        return df__emit_reply(out, ev, DF_ERR_UNKNOWN_WORKFLOW, NULL, now);
                {
                        /* keep what a crash event recorded before the start landed */
                        int32_t cc = st->exists ? st->exec.crash_count : 0, ca = st->exists ? st->exec.crash_attempt : 0;
                        int quarantined = st->exists && st->exec.status == DF__ES_QUARANTINED;
                        char *cop = st->exists ? st->exec.crash_op : NULL, *qerr = NULL;
                        if (st->exists) {
                                st->exec.crash_op = NULL;
                                qerr = st->exec.error;
                                st->exec.error = NULL;
                        }
                        if (df__exec_create(st, ev, now)) {
                                free(cop);
                                free(qerr);
                                return -1;
                        }
                        st->exec.crash_count = cc;
                        st->exec.crash_attempt = ca;
                        free(st->exec.crash_op);
                        st->exec.crash_op = cop ? cop : df__strdup0("");
                        if (quarantined) {
                                free(st->exec.error);
                                st->exec.error = qerr;
                                st->exec.status = DF__ES_QUARANTINED;
                        } else {
                                free(qerr);
                        }
                }
                if (df__emit_reply(out, ev, DF_OK, NULL, now))
                        return -1;
                if (st->exec.status == DF__ES_QUARANTINED)
                        return 0;
                return df__replay(eng, st, out, committed, now);
        }
        if (!st->exists || !*st->exec.workflow)
                return df__emit_reply(out, ev, DF_ERR_NOT_FOUND, "no such execution", now);
        if (df__exec_status_terminal(st->exec.status) && ev->type != DF__EV_CALLBACK)
                return df__emit_reply(out, ev, DF_ERR_FINISHED, "execution already finished", now);
        switch (ev->type) {
        case DF__EV_TIMER:
                if (df__apply_timer(st, ev, out, now, &replay))
                        return -1;
                break;
        case DF__EV_CALLBACK:
                if (df__apply_callback(eng, st, ev, out, now, &replay))
                        return -1;
                break;
        case DF__EV_STOP:
                df__set_str(&st->exec.error, ev->error && *ev->error ? ev->error : "stopped");
                df__exec_touch(st, DF__ES_STOPPED, now);
                if (df__emit_result(out, st, now))
                        return -1;
                return df__emit_reply(out, ev, DF_OK, NULL, now);
        case DF__EV_CONTINUE:
                replay = 1;
                if (df__emit_reply(out, ev, DF_OK, NULL, now))
                        return -1;
                break;
        case DF__EV_RESUME:
                return df__apply_resume(eng, st, ev, out, committed, now);
        default:
                return df__emit_reply(out, ev, DF_ERR_INVALID_ARG, "unknown event type", now);
        }
        if (!replay || df__exec_parked(st->exec.status))
                return 0;
        return df__replay(eng, st, out, committed, now);
}
