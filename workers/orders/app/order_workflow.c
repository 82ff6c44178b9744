/*
 * order_workflow.c -- the "order" workflow (see order_workflow.h).
 *
 * Determinism: outside steps the handler reads only its input, the static
 * dataset and recorded results (step results, callback payloads); it never
 * reads the clock.  Every side effect is a step whose HTTP idempotency key is
 * df_step_idempotency_key() plus a suffix, so a retried or re-run step is a
 * no-op at the simulator.
 *
 * Concurrency: Reserve Inventory reserves the order's lines with df_map
 * (each line a child context with its own reservation step) and Send
 * Confirmation runs its independent side effects (the notice, the ledger
 * entry) with df_parallel, so their step bodies run at the same time on the
 * worker's pool: the HTTP clients come from a small pool guarded by a mutex
 * (a libcurl easy handle is used by one thread at a time).
 */
#include "order_workflow.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "order_texts.h"
#include "sim_http.h"

struct ow_flow {
        const ow_dataset_t *ds;
        char *sim_url;
        pthread_mutex_t mu;  /* idle */
        ow_http_t **idle;    /* HTTP clients not in use (each keeps its connection) */
        size_t n_idle, cap_idle;
};

#define KEY_MAX 320
#define HTTP_TIMEOUT_MS 5000
#define PAYMENT_TIMEOUT_MS 60000

/* Errors of the simulator that retrying cannot fix. */
static const char *const non_retryable[] = {"OutOfStock", "NotFound", "KeyConflict", "BadRequest", NULL};

/* HTTP steps: 6 attempts, 250 ms doubling to 4 s, full jitter (the 5 waits
 * at most 7.75 s in all, 3.9 s on average). */
static const df_step_opts_t http_opts = {
        .max_attempts = 6,
        .initial_delay_ms = 250,
        .max_delay_ms = 4000,
        .backoff_rate = 2.0,
        .jitter = DF_JITTER_FULL,
        .non_retryable = non_retryable,
};

ow_flow_t *ow_flow_new(const ow_dataset_t *ds, const char *sim_url)
{
        ow_flow_t *f = calloc(1, sizeof(*f));
        ow_http_t *h;
        if (!f)
                return NULL;
        f->ds = ds;
        f->sim_url = strdup(sim_url);
        pthread_mutex_init(&f->mu, NULL);
        /* one client made now: a bad URL shows at once */
        h = f->sim_url ? ow_http_new(sim_url) : NULL;
        f->idle = malloc(8 * sizeof(*f->idle));
        if (!h || !f->idle) {
                ow_http_free(h);
                ow_flow_free(f);
                return NULL;
        }
        f->cap_idle = 8;
        f->idle[f->n_idle++] = h;
        return f;
}

void ow_flow_free(ow_flow_t *f)
{
        size_t i;
        if (!f)
                return;
        for (i = 0; i < f->n_idle; i++)
                ow_http_free(f->idle[i]);
        free(f->idle);
        free(f->sim_url);
        pthread_mutex_destroy(&f->mu);
        free(f);
}

/* An HTTP client for this thread's call (an idle one, else a new one). */
static ow_http_t *http_acquire(ow_flow_t *f)
{
        ow_http_t *h = NULL;
        pthread_mutex_lock(&f->mu);
        if (f->n_idle)
                h = f->idle[--f->n_idle];
        pthread_mutex_unlock(&f->mu);
        return h ? h : ow_http_new(f->sim_url);
}

static void http_release(ow_flow_t *f, ow_http_t *h)
{
        pthread_mutex_lock(&f->mu);
        if (f->n_idle == f->cap_idle) {
                ow_http_t **n = realloc(f->idle, 2 * f->cap_idle * sizeof(*n));
                if (!n) {
                        pthread_mutex_unlock(&f->mu);
                        ow_http_free(h);
                        return;
                }
                f->idle = n;
                f->cap_idle *= 2;
        }
        f->idle[f->n_idle++] = h;
        pthread_mutex_unlock(&f->mu);
}

void ow_flow_execution_id(int32_t order_id, char *buf, size_t size)
{
        snprintf(buf, size, "order-%" PRId32, order_id);
}

size_t ow_flow_input(int32_t order_id, int64_t day_ms, char *buf, size_t size)
{
        int n = snprintf(buf, size, "{\"order_id\":%" PRId32 ",\"day_ms\":%" PRId64 "}", order_id, day_ms);
        return n < 0 ? 0 : (size_t)n;
}

/* ------------------------------------------------------------------ */
/* HTTP steps                                                          */
/* ------------------------------------------------------------------ */

/* Arguments of one step body. */
typedef struct call {
        ow_flow_t *f;
        const ow_order_t *o;
        const ow_line_t *line;   /* reserve */
        const char *key;         /* release: the reservation's key */
        int64_t total_cents;     /* payment, refund, cancel notice, ledger */
        const char *kind;        /* notify: "late", "confirmation", "cancellation" */
        int32_t shipper_id;      /* ledger */
} call_t;

/* Idempotency key of this step for the simulator: "<exec>/<op>:<suffix>". */
static void step_key(df_step_t *s, const char *suffix, char *buf, size_t size)
{
        snprintf(buf, size, "%s:%s", df_step_idempotency_key(s), suffix);
}

/*
 * POST body (stolen) to path and turn the answer into the step's outcome:
 * 2xx -> result = result_obj (stolen; NULL = the response body);
 * transport error or 5xx -> retryable; 409 (out of stock), 404 (unknown
 * product / order / key), 422 (key conflict), other 4xx -> non-retryable.
 */
static df_err_t sim_post(df_step_t *s, ow_flow_t *f, const char *path, json_t *body, json_t *result_obj)
{
        char err[512], *text = body ? json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS) : NULL, *resp = NULL;
        char tp[DF_TRACEPARENT_SIZE];
        long status;
        df_err_t rc = DF_OK;
        ow_http_t *h;

        json_decref(body);
        h = text ? http_acquire(f) : NULL;
        if (!h) {
                free(text);
                json_decref(result_obj);
                df_step_set_error(s, "NoMemory", "cannot build the request");
                return DF_ERR_NOMEM;
        }
        /* the attempt's trace context: the simulator's span of this request is its child */
        if (df_step_traceparent(s, tp, sizeof(tp)) != DF_OK)
                tp[0] = '\0';
        status = ow_http_request_tp(h, "POST", path, text, HTTP_TIMEOUT_MS, tp, &resp, err, sizeof(err));
        http_release(f, h);
        df_step_log(s, DF_LOG_DEBUG, "POST %s: %s%ld", path, status < 0 ? "transport error " : "HTTP ",
                    status < 0 ? 0L : status);
        free(text);
        if (status < 0) {
                df_step_set_error(s, "SimUnavailable", err);
                rc = DF_ERR_DEADLINE;
        } else if (status >= 200 && status < 300) {
                if (result_obj) {
                        char *r = json_dumps(result_obj, JSON_COMPACT | JSON_SORT_KEYS);
                        rc = r ? df_step_set_result(s, r, strlen(r)) : DF_ERR_NOMEM;
                        free(r);
                } else {
                        rc = df_step_set_result(s, resp, strlen(resp));
                }
        } else {
                const char *type = status >= 500   ? "SimError"
                                   : status == 409 ? "OutOfStock"
                                   : status == 404 ? "NotFound"
                                   : status == 422 ? "KeyConflict"
                                                   : "BadRequest";
                snprintf(err, sizeof(err), "POST %s: HTTP %ld %.300s", path, status, resp ? resp : "");
                df_step_set_error(s, type, err);
                rc = DF_ERR_STEP_FAILED;
        }
        json_decref(result_obj);
        free(resp);
        return rc;
}

static df_err_t step_receive(df_step_t *s, void *opaque)
{
        call_t *c = opaque;
        char msg[512], *r;
        int64_t total = 0;
        json_t *o;
        df_err_t rc;

        if (!ow_validate_order(c->f->ds, c->o, msg, sizeof(msg)))
                o = json_pack("{s:I, s:b, s:s}", "order_id", (json_int_t)c->o->order_id, "valid", 0, "error", msg);
        else if (!ow_order_total_cents(c->o, &total))
                o = json_pack("{s:I, s:b, s:s}", "order_id", (json_int_t)c->o->order_id, "valid", 0, "error",
                              "order total overflows");
        else
                o = json_pack("{s:I, s:b, s:I, s:I}", "order_id", (json_int_t)c->o->order_id, "valid", 1,
                              "total_cents", (json_int_t)total, "lines", (json_int_t)c->o->n_lines);
        r = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        json_decref(o);
        if (!r) {
                df_step_set_error(s, "NoMemory", "out of memory");
                return DF_ERR_NOMEM;
        }
        rc = df_step_set_result(s, r, strlen(r));
        free(r);
        return rc;
}

static df_err_t step_reserve(df_step_t *s, void *opaque)
{
        call_t *c = opaque;
        char key[KEY_MAX];
        step_key(s, "reserve", key, sizeof(key));
        return sim_post(s, c->f, "/inventory/reserve",
                        json_pack("{s:I, s:I, s:s}", "product_id", (json_int_t)c->line->product_id, "quantity",
                                  (json_int_t)c->line->quantity, "key", key),
                        json_pack("{s:s, s:I, s:I}", "key", key, "product_id", (json_int_t)c->line->product_id,
                                  "quantity", (json_int_t)c->line->quantity));
}

static df_err_t step_release(df_step_t *s, void *opaque)
{
        call_t *c = opaque;
        return sim_post(s, c->f, "/inventory/release", json_pack("{s:s}", "key", c->key), NULL);
}

static df_err_t submit_payment(df_step_t *s, const char *callback_id, void *opaque)
{
        call_t *c = opaque;
        char key[KEY_MAX];
        step_key(s, "authorize", key, sizeof(key));
        return sim_post(s, c->f, "/payments/authorize",
                        json_pack("{s:I, s:I, s:s, s:s}", "order_id", (json_int_t)c->o->order_id, "amount_cents",
                                  (json_int_t)c->total_cents, "callback_id", callback_id, "key", key),
                        NULL);
}

static df_err_t submit_dispatch(df_step_t *s, const char *callback_id, void *opaque)
{
        call_t *c = opaque;
        char key[KEY_MAX];
        step_key(s, "dispatch", key, sizeof(key));
        return sim_post(s, c->f, "/warehouse/dispatch",
                        json_pack("{s:I, s:s, s:s}", "order_id", (json_int_t)c->o->order_id, "callback_id",
                                  callback_id, "key", key),
                        NULL);
}

static df_err_t submit_track(df_step_t *s, const char *callback_id, void *opaque)
{
        call_t *c = opaque;
        return sim_post(s, c->f, "/warehouse/track",
                        json_pack("{s:I, s:s}", "order_id", (json_int_t)c->o->order_id, "callback_id", callback_id),
                        NULL);
}

static df_err_t step_refund(df_step_t *s, void *opaque)
{
        call_t *c = opaque;
        char key[KEY_MAX];
        step_key(s, "refund", key, sizeof(key));
        return sim_post(s, c->f, "/payments/refund",
                        json_pack("{s:I, s:I, s:s}", "order_id", (json_int_t)c->o->order_id, "amount_cents",
                                  (json_int_t)c->total_cents, "key", key),
                        NULL);
}

static df_err_t step_notify(df_step_t *s, void *opaque)
{
        call_t *c = opaque;
        char key[KEY_MAX], *text;
        json_t *body;

        step_key(s, c->kind, key, sizeof(key));
        if (!strcmp(c->kind, "late"))
                text = ow_late_notice(c->f->ds, c->o);
        else if (!strcmp(c->kind, "confirmation"))
                text = ow_confirmation_text(c->f->ds, c->o);
        else
                text = ow_cancellation_text(c->o, c->total_cents);
        if (!text) {
                df_step_set_error(s, "NoMemory", "out of memory");
                return DF_ERR_NOMEM;
        }
        body = json_pack("{s:I, s:s, s:s, s:s}", "order_id", (json_int_t)c->o->order_id, "kind", c->kind, "text",
                         text, "key", key);
        free(text);
        return sim_post(s, c->f, "/notify", body, NULL);
}

/* The order's entry in the books once it is confirmed (revenue, shipper,
 * outcome).  The example has no accounting service: the entry is the
 * step's recorded result (the report reads the books from the outputs); a
 * real one would post it with the step's idempotency key as the notice
 * steps do. */
static df_err_t step_ledger(df_step_t *s, void *opaque)
{
        call_t *c = opaque;
        char key[KEY_MAX], *r;
        json_t *o;
        df_err_t rc;

        step_key(s, "ledger", key, sizeof(key));
        o = json_pack("{s:s, s:I, s:I, s:I, s:s}", "entry", "revenue", "order_id", (json_int_t)c->o->order_id,
                      "amount_cents", (json_int_t)c->total_cents, "shipper_id", (json_int_t)c->shipper_id, "key", key);
        r = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        json_decref(o);
        if (!r) {
                df_step_set_error(s, "NoMemory", "out of memory");
                return DF_ERR_NOMEM;
        }
        rc = df_step_set_result(s, r, strlen(r));
        free(r);
        return rc;
}

/* ------------------------------------------------------------------ */
/* The handler                                                         */
/* ------------------------------------------------------------------ */

/* One replay of one execution. */
typedef struct run {
        df_ctx_t *ctx;
        ow_flow_t *f;
        const ow_order_t *o;
        int64_t day_ms;
        int64_t total_cents;
        char (*keys)[KEY_MAX]; /* reservation key per line; "" = not reserved */
        const void **lines;    /* &o->lines[i], the items of the reservation map */
        int confirm_failed;    /* a branch of Send Confirmation failed: its message is set */
        char reason[512];
} run_t;

/* Parse recorded JSON (a step result or callback payload). */
static json_t *parse(const df_bytes_t *b)
{
        return b && b->len ? json_loadb((const char *)b->data, b->len, 0, NULL) : NULL;
}

static df_err_t finish(run_t *r, const char *outcome, int32_t shipper_id, int64_t refund_cents)
{
        const ow_shipper_t *sh = ow_dataset_find_shipper(r->f->ds, shipper_id);
        json_t *o = json_pack("{s:I, s:s, s:I, s:I, s:s, s:I}", "order_id", (json_int_t)r->o->order_id, "outcome",
                              outcome, "total_cents", (json_int_t)r->total_cents, "shipper_id",
                              (json_int_t)shipper_id, "shipper", sh ? sh->company_name : "", "refund_cents",
                              (json_int_t)refund_cents);
        char *text;
        df_err_t rc;

        if (o && r->reason[0])
                json_object_set_new(o, "reason", json_string(r->reason));
        text = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        json_decref(o);
        if (!text)
                return DF_ERR_NOMEM;
        rc = df_ctx_set_output(r->ctx, text, strlen(text));
        free(text);
        return rc;
}

/* Remember the failure message of the last operation as the reason. */
static void set_reason(run_t *r, const char *what)
{
        snprintf(r->reason, sizeof(r->reason), "%s: %s", what, df_ctx_last_error(r->ctx));
}

/* Give back every reservation made (steps "release-<productID>"). */
static df_err_t release_all(run_t *r)
{
        size_t i;
        for (i = 0; i < r->o->n_lines; i++) {
                call_t c = {.f = r->f, .o = r->o, .key = r->keys[i]};
                char name[64];
                df_err_t rc;
                if (!r->keys[i][0])
                        continue;
                snprintf(name, sizeof(name), "release-%" PRId32, r->o->lines[i].product_id);
                if ((rc = df_step(r->ctx, name, step_release, &c, &http_opts, NULL)) != DF_OK)
                        return rc;
        }
        return DF_OK;
}

/* Never shipped (or too late): release, refund, tell the customer. */
static df_err_t cancel(run_t *r)
{
        call_t c = {.f = r->f, .o = r->o, .total_cents = r->total_cents, .kind = "cancellation"};
        df_err_t rc;
        if ((rc = release_all(r)) != DF_OK)
                return rc;
        if ((rc = df_step(r->ctx, "refund", step_refund, &c, &http_opts, NULL)) != DF_OK)
                return rc;
        if ((rc = df_step(r->ctx, "cancel-notice", step_notify, &c, &http_opts, NULL)) != DF_OK)
                return rc;
        return finish(r, ow_outcome_name(OW_OUTCOME_CANCELLED), r->o->ship_via, r->total_cents);
}

/* Map item of Reserve Inventory: one line, its own idempotent reservation
 * (step "reserve-<productID>" in child context "line-<productID>"); its
 * result is the reservation (with its key). */
static df_err_t reserve_line(df_ctx_t *ctx, const void *item, int index, void *opaque)
{
        const run_t *r = opaque;
        call_t lc = {.f = r->f, .o = r->o, .line = item, .total_cents = r->total_cents};
        df_bytes_t res;
        char name[64];
        df_err_t rc;
        (void)index;
        snprintf(name, sizeof(name), "reserve-%" PRId32, lc.line->product_id);
        rc = df_step(ctx, name, step_reserve, &lc, &http_opts, &res);
        if (rc == DF_ERR_STEP_FAILED) {
                /* the item fails with "reserve-<id>: <error>" */
                char msg[1024];
                snprintf(msg, sizeof(msg), "%s: %s", name, df_ctx_last_error(ctx));
                df_ctx_fail(ctx, msg);
        }
        if (rc != DF_OK)
                return rc;
        return df_ctx_set_output(ctx, res.data, res.len);
}

static void line_name(const void *item, int index, void *opaque, char *buf, size_t size)
{
        (void)index;
        (void)opaque;
        snprintf(buf, size, "line-%" PRId32, ((const ow_line_t *)item)->product_id);
}

/* The branches of Send Confirmation: independent side effects. */
static df_err_t confirm_notice(df_ctx_t *ctx, void *opaque)
{
        return df_step(ctx, "confirm", step_notify, opaque, &http_opts, NULL);
}

static df_err_t ledger_entry(df_ctx_t *ctx, void *opaque)
{
        return df_step(ctx, "ledger-entry", step_ledger, opaque, &http_opts, NULL);
}

static df_err_t run_order(run_t *r)
{
        const ow_order_t *o = r->o;
        call_t c = {.f = r->f, .o = o};
        df_callback_opts_t cb_opts = {0, 0};
        df_bytes_t res;
        json_t *j;
        df_err_t rc;
        size_t i;
        int valid;

        /* 1. Receive Order: validate, compute the total. */
        if ((rc = df_step(r->ctx, "receive", step_receive, &c, NULL, &res)) != DF_OK)
                return rc;
        if (!(j = parse(&res))) {
                df_ctx_fail(r->ctx, "receive: recorded result is not JSON");
                return DF_ERR_CODEC;
        }
        valid = json_is_true(json_object_get(j, "valid"));
        r->total_cents = (int64_t)json_integer_value(json_object_get(j, "total_cents"));
        if (!valid)
                snprintf(r->reason, sizeof(r->reason), "%s", json_string_value(json_object_get(j, "error")));
        json_decref(j);
        if (!valid)
                return finish(r, ow_outcome_name(OW_OUTCOME_INVALID), o->ship_via, 0);
        c.total_cents = r->total_cents;

        /* 2. Reserve Inventory: every line at once, each its own reservation.
         * Every line runs to its end (no early completion), so that each
         * reservation made is recorded and can be released. */
        {
                df_batch_opts_t mo = {.namer = line_name, .completion = {.tolerated_failure_count = DF_TOLERATE_ALL}};
                df_batch_t batch;
                int failed = -1;
                for (i = 0; i < o->n_lines; i++)
                        r->lines[i] = &o->lines[i];
                if ((rc = df_map(r->ctx, "reserve", r->lines, (int)o->n_lines, reserve_line, r, &mo, &batch)) !=
                    DF_OK)
                        return rc;
                for (i = 0; i < o->n_lines; i++) {
                        const df_batch_item_t *it = &batch.items[i];
                        if (it->status != DF_ITEM_SUCCEEDED) {
                                if (failed < 0)
                                        failed = (int)i;
                                continue;
                        }
                        if (!(j = parse(&it->result))) {
                                df_ctx_fail(r->ctx, "reserve: recorded result is not JSON");
                                return DF_ERR_CODEC;
                        }
                        {
                                const char *key = json_string_value(json_object_get(j, "key"));
                                snprintf(r->keys[i], KEY_MAX, "%s", key ? key : "");
                        }
                        json_decref(j);
                }
                if (failed >= 0) {
                        snprintf(r->reason, sizeof(r->reason), "%s", batch.items[failed].error);
                        if ((rc = release_all(r)) != DF_OK)
                                return rc;
                        return finish(r, OW_OUTCOME_REJECTED_NAME, o->ship_via, 0);
                }
        }

        /* 3. Wait for Payment. */
        cb_opts.timeout_ms = PAYMENT_TIMEOUT_MS;
        rc = df_wait_for_callback(r->ctx, "payment", submit_payment, &c, &cb_opts, &http_opts, NULL);
        if (rc == DF_ERR_CALLBACK_FAILED || rc == DF_ERR_TIMED_OUT || rc == DF_ERR_STEP_FAILED) {
                set_reason(r, "payment");
                if ((rc = release_all(r)) != DF_OK)
                        return rc;
                return finish(r, ow_outcome_name(OW_OUTCOME_PAYMENT_DECLINED), o->ship_via, 0);
        }
        if (rc != DF_OK)
                return rc;

        /* 4. Dispatch to Warehouse, wait for the shipment until requiredDate
         * (+ half a day: shipping on the required date is on time). */
        cb_opts.timeout_ms = (o->required_date_ms - o->order_date_ms) * r->day_ms / OW_MS_PER_DAY + r->day_ms / 2;
        rc = df_wait_for_callback(r->ctx, "shipment", submit_dispatch, &c, &cb_opts, &http_opts, &res);
        if (rc == DF_ERR_TIMED_OUT) {
                /* 5. Late: tell the customer, keep tracking for 30 more days. */
                call_t lc = c;
                lc.kind = "late";
                if ((rc = df_step(r->ctx, "late-notice", step_notify, &lc, &http_opts, NULL)) != DF_OK)
                        return rc;
                cb_opts.timeout_ms = OW_LATE_GRACE_DAYS * r->day_ms;
                rc = df_wait_for_callback(r->ctx, "shipment-late", submit_track, &c, &cb_opts, &http_opts, &res);
                if (rc == DF_ERR_TIMED_OUT || rc == DF_ERR_CALLBACK_FAILED || rc == DF_ERR_STEP_FAILED) {
                        set_reason(r, "shipment-late");
                        return cancel(r);
                }
        } else if (rc == DF_ERR_CALLBACK_FAILED) {
                set_reason(r, "shipment");
                return cancel(r);
        }
        /* DF_ERR_STEP_FAILED: the dispatch request itself failed for good
         * (the warehouse unavailable for every attempt, or a request it
         * refused): the warehouse never took the order, which is no business
         * outcome, so the execution fails with that error (order_handler),
         * keeping its reservations and payment, for an operator to
         * `duraflow restart` once the warehouse is back: Receive, Reserve and
         * Payment keep their results, the dispatch runs again. */
        if (rc != DF_OK)
                return rc;

        /* 6. Shipped: confirm, on time or late (by the reported ship date). */
        {
                const char *date;
                int64_t shipped_ms = 0;
                int32_t shipper_id;
                const char *outcome;
                call_t cc = c;

                if (!(j = parse(&res))) {
                        df_ctx_fail(r->ctx, "shipment report is not JSON");
                        return DF_ERR_CODEC;
                }
                date = json_string_value(json_object_get(j, "shipped_date"));
                shipper_id = (int32_t)json_integer_value(json_object_get(j, "shipper_id"));
                if (!date || !ow_parse_datetime_ms(date, strlen(date), &shipped_ms)) {
                        json_decref(j);
                        df_ctx_fail(r->ctx, "shipment report without a valid shipped_date (YYYY-MM-DD)");
                        return DF_ERR_CODEC;
                }
                json_decref(j);
                if (!shipper_id)
                        shipper_id = o->ship_via;
                if (shipped_ms > o->required_date_ms + OW_LATE_GRACE_DAYS * OW_MS_PER_DAY) {
                        snprintf(r->reason, sizeof(r->reason), "shipped more than %d days after its required date",
                                 OW_LATE_GRACE_DAYS);
                        return cancel(r);
                }
                cc.kind = "confirmation";
                cc.shipper_id = shipper_id;
                {
                        /* 6b. Send Confirmation: the notice and the ledger entry, side by side */
                        df_branch_t b[2] = {{"notice", confirm_notice, &cc}, {"ledger", ledger_entry, &cc}};
                        df_batch_opts_t po = {.completion = {.tolerated_failure_count = DF_TOLERATE_ALL}};
                        df_batch_t batch;
                        if ((rc = df_parallel(r->ctx, "confirmation", b, 2, &po, &batch)) != DF_OK)
                                return rc;
                        for (i = 0; i < 2; i++)
                                if (batch.items[i].status != DF_ITEM_SUCCEEDED) {
                                        df_ctx_fail(r->ctx, batch.items[i].error);
                                        r->confirm_failed = 1;
                                        return DF_ERR_STEP_FAILED;
                                }
                }
                outcome = ow_outcome_name(shipped_ms <= o->required_date_ms ? OW_OUTCOME_CONFIRMED_ON_TIME
                                                                            : OW_OUTCOME_CONFIRMED_LATE);
                return finish(r, outcome, shipper_id, 0);
        }
}

static df_err_t order_handler(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        run_t r;
        json_t *in = parse(input);
        json_int_t order_id = 0, day_ms = 0;
        char msg[256];
        df_err_t rc;

        memset(&r, 0, sizeof(r));
        r.ctx = ctx;
        r.f = opaque;
        if (!in || json_unpack(in, "{s:I, s:I}", "order_id", &order_id, "day_ms", &day_ms) || day_ms <= 0 ||
            day_ms > OW_MS_PER_DAY || order_id <= 0 || order_id > INT32_MAX) {
                json_decref(in);
                df_ctx_fail(ctx, "input must be {\"order_id\": N, \"day_ms\": 1..86400000}");
                return DF_ERR_INVALID_ARG;
        }
        json_decref(in);
        r.day_ms = (int64_t)day_ms;
        r.o = ow_dataset_find_order(r.f->ds, (int32_t)order_id);
        if (!r.o) {
                snprintf(msg, sizeof(msg), "order %lld is not in the dataset", (long long)order_id);
                df_ctx_fail(ctx, msg);
                return DF_ERR_NOT_FOUND;
        }
        r.keys = calloc(r.o->n_lines ? r.o->n_lines : 1, sizeof(*r.keys));
        r.lines = calloc(r.o->n_lines ? r.o->n_lines : 1, sizeof(*r.lines));
        if (!r.keys || !r.lines) {
                free(r.keys);
                free(r.lines);
                return DF_ERR_NOMEM;
        }
        rc = run_order(&r);
        /* A step that failed for good (e.g. the simulator unreachable for
         * all attempts) fails the execution with that step's error. */
        if ((rc == DF_ERR_STEP_FAILED && !r.confirm_failed) || rc == DF_ERR_NONDETERMINISM)
                df_ctx_fail(ctx, df_ctx_last_error(ctx));
        free(r.keys);
        free(r.lines);
        return rc;
}

df_err_t ow_flow_register(df_worker_t *w, ow_flow_t *f)
{
        return df_worker_register(w, OW_WORKFLOW_NAME, order_handler, f);
}
