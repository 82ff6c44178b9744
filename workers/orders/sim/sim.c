/*
 * sim.c - orders-sim: inventory, payment, warehouse and notifications behind
 * an HTTP/JSON API (libmicrohttpd + jansson), completing duraflow callbacks
 * through df_client_callback. See sim.h.
 *
 * Answers (every body is a JSON object):
 *   POST /inventory/reserve {"product_id":int,"quantity":int,"key":str}
 *        200 {"result":"ok"} | 409 {"result":"out_of_stock"}
 *        404 {"result":"unknown_product"} | 422 {"result":"key_conflict"}
 *   POST /inventory/release {"key":str}
 *        200 {"result":"ok"|"already"} | 404 {"result":"unknown_key"}
 *   POST /payments/authorize {"order_id":int,"amount_cents":int,"callback_id":str,"key":str}
 *        202 {"result":"accepted"}; after payment_delay_ms the callback gets
 *        success {"payment_id":"pay-<order>","amount_cents":N} or failure
 *        "declined: total X over the credit limit of 10000.00"
 *   POST /payments/refund {"order_id":int,"amount_cents":int,"key":str}
 *        200 {"result":"ok"|"already"}
 *   POST /warehouse/dispatch {"order_id":int,"callback_id":str,"key":str}
 *        202 {"result":"accepted"}; the shipment report
 *        {"order_id":N,"shipped_date":"YYYY-MM-DD","shipper_id":N} goes to the
 *        order's current tracking callback at t0 + days x day_ms
 *        | 503 {"result":"unavailable","error":...} while a failure is injected
 *        for the order (below)
 *   POST /warehouse/track {"order_id":int,"callback_id":str}
 *        202 {"result":"accepted"} | 404 {"result":"not_dispatched"}
 *   POST /notify {"order_id":int,"kind":"late"|"confirmation"|"cancellation","text":str,"key":str}
 *        200 {"result":"ok"|"already"}
 *   POST /control/warehouse {"fail_dispatch":[order_id,...]}
 *        failure injection: from now on /warehouse/dispatch answers 503 for
 *        these orders (and only these: the list replaces the previous one;
 *        [] turns it off), changing nothing else (counted in
 *        dispatches_failed, not in http_errors). 200 {"result":"ok",
 *        "fail_dispatch":[...]} | 404 {"result":"unknown_order"} (nothing
 *        changed). orders_sim_opts_t.fail_dispatch sets the first list.
 *   GET /calls[?prefix=P]
 *        200 {"prefix":P,"calls":{"/inventory/reserve":{"<key>":N,...},...}}:
 *        per endpoint taking a "key", how many requests carried each key
 *        (every request: new, repeated, refused or failed), keys starting
 *        with P only (default "": all)
 *   GET /stats, GET /health
 * Also: an order_id not in the dataset -> 404 {"result":"unknown_order"}; a
 * key reused with different arguments (payments, refunds, dispatch, notices)
 * -> 422 {"result":"key_conflict"}; releasing a key whose reservation was
 * refused -> 200 "already"; bad JSON or a missing/ill-typed field -> 400
 * {"result":"bad_request","error":"... 'field' ..."}; body over 64 KiB ->
 * 413; unknown path -> 404 {"result":"not_found"}; known path, wrong method
 * -> 405. http_errors counts those protocol errors (400, 404 path, 405, 413,
 * 5xx), not business answers.
 *
 * Completions go out at least once: a send that Kafka did not acknowledge
 * within client.timeout.ms is retried (100 ms doubling to 5 s), and the
 * earlier attempt may still be delivered, so a callback can be completed
 * twice; the worker rejects the second as finished.
 */
#include "sim.h"

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <jansson.h>
#include <microhttpd.h>

#include "duraflow/duraflow.h"
#include "orders_logic.h"
#include "os.h"    /* duraflow's internal clocks (df__now_ms) */
#include "trace.h" /* duraflow's trace context, spans and OTLP exporter: a server span per request */

#define SIM_BODY_MAX (64 * 1024)
#define SIM_KEY_MAX 512
#define SIM_TEXT_MAX (32 * 1024)
#define SIM_BACKOFF_MIN_MS 100
#define SIM_BACKOFF_MAX_MS 5000
#define SIM_SEND_BATCH 256
#define SIM_FLUSH_TIMEOUT_MS 10000

/* ------------------------------------------------------------------------ */
/* small helpers                                                            */
/* ------------------------------------------------------------------------ */

static int64_t mono_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *xstrdup(const char *s)
{
        size_t n = strlen(s) + 1;
        char *p = malloc(n);
        if (p)
                memcpy(p, s, n);
        return p;
}

/* String-keyed hash map with chaining (FNV-1a); values are owned and freed
 * with free(). */
typedef struct smap_ent {
        struct smap_ent *next;
        char *key;
        void *val;
} smap_ent_t;

typedef struct smap {
        smap_ent_t **b;
        size_t nb, n;
} smap_t;

static uint64_t fnv1a(const char *s)
{
        uint64_t h = UINT64_C(1469598103934665603);
        for (; *s; s++) {
                h ^= (unsigned char)*s;
                h *= UINT64_C(1099511628211);
        }
        return h;
}

static void *smap_get(const smap_t *m, const char *key)
{
        smap_ent_t *e;
        if (!m->nb)
                return NULL;
        for (e = m->b[fnv1a(key) % m->nb]; e; e = e->next)
                if (!strcmp(e->key, key))
                        return e->val;
        return NULL;
}

/* Inserts key (copied) -> val (owned); the key must be absent. */
static bool smap_put(smap_t *m, const char *key, void *val)
{
        smap_ent_t *e;
        size_t i;
        if (m->n + 1 > m->nb) {
                size_t nb = m->nb ? m->nb * 2 : 64;
                smap_ent_t **b = calloc(nb, sizeof(*b));
                if (!b)
                        return false;
                for (i = 0; i < m->nb; i++) {
                        while (m->b[i]) {
                                smap_ent_t *x = m->b[i];
                                size_t j = fnv1a(x->key) % nb;
                                m->b[i] = x->next;
                                x->next = b[j];
                                b[j] = x;
                        }
                }
                free(m->b);
                m->b = b;
                m->nb = nb;
        }
        e = malloc(sizeof(*e));
        if (!e)
                return false;
        e->key = xstrdup(key);
        if (!e->key) {
                free(e);
                return false;
        }
        e->val = val;
        i = fnv1a(key) % m->nb;
        e->next = m->b[i];
        m->b[i] = e;
        m->n++;
        return true;
}

static void smap_free(smap_t *m, void (*free_val)(void *))
{
        size_t i;
        for (i = 0; i < m->nb; i++) {
                while (m->b[i]) {
                        smap_ent_t *x = m->b[i];
                        m->b[i] = x->next;
                        free_val(x->val);
                        free(x->key);
                        free(x);
                }
        }
        free(m->b);
        memset(m, 0, sizeof(*m));
}

/* ------------------------------------------------------------------------ */
/* state                                                                    */
/* ------------------------------------------------------------------------ */

enum { NK_LATE = 0, NK_CONFIRMATION, NK_CANCELLATION, NK_COUNT };
static const char *const notice_kinds[NK_COUNT] = {"late", "confirmation", "cancellation"};

typedef struct sim_order {
        const ow_order_t *o;
        bool dispatched, shipped;
        bool fail_dispatch; /* injected: /warehouse/dispatch answers 503 */
        int64_t t0;        /* monotonic ms of the first dispatch */
        char *track_cb;    /* current tracking callback id */
        char *sent_cb;     /* last id the shipment report was sent to */
        unsigned refund_keys, confirm_keys;
} sim_order_t;

typedef struct pay_rec {
        int32_t order_id;
        int64_t amount;
        char **cbs; /* callback ids a completion was scheduled for */
        size_t ncbs;
} pay_rec_t;

typedef struct kv_rec { /* refund, dispatch and notice keys */
        int32_t order_id;
        int64_t amount; /* refund amount; notice kind */
} kv_rec_t;

enum { JOB_SEND = 0, JOB_SHIP };

typedef struct job {
        int64_t due;
        uint64_t seq;
        int kind;
        size_t order_idx; /* JOB_SHIP */
        char *callback_id;
        int outcome;
        char *payload; /* success */
        char *error;   /* failure */
        unsigned attempts;
} job_t;

typedef struct sim_stats {
        uint64_t releases_ok, releases_repeated, releases_unknown;
        uint64_t payments_authorized, payments_declined, payments_repeated, payment_callbacks_renewed;
        uint64_t amount_mismatches;
        uint64_t refunds_count, refunds_repeated;
        int64_t refunds_cents;
        uint64_t dispatches, dispatches_repeated, dispatches_failed, tracks, shipments_reported;
        uint64_t notices[NK_COUNT], notices_repeated;
        uint64_t key_conflicts_other; /* payments, refunds, dispatch, notices */
        uint64_t unknown_orders;
        uint64_t callbacks_sent, callbacks_rejected, callbacks_retried;
        uint64_t http_requests, http_errors;
        bool stock_negative;
} sim_stats_t;

struct orders_sim {
        pthread_mutex_t mu;
        pthread_cond_t cv;
        pthread_t sched;
        bool sched_started, stopping;

        struct MHD_Daemon *httpd;
        int port;
        df__otlp_t *tracer; /* otlp.endpoint: a SERVER span per request; NULL: none */
        df_client_t *client;
        int64_t day_ms;
        int payment_delay_ms;
        orders_sim_sent_fn on_sent;
        void *on_sent_opaque;

        ow_dataset_t *ds;
        ow_ledger_t *ledger;
        sim_order_t *orders; /* sorted by order id */
        size_t n_orders;
        smap_t pays, refunds, dispatches, notices;
        smap_t *calls; /* per route: key -> uint64_t requests that carried it */

        job_t **heap;
        size_t heap_n, heap_cap;
        uint64_t seq;
        size_t inflight; /* popped by the scheduler, being sent */

        sim_stats_t st;
};

static void pay_rec_free(void *p)
{
        pay_rec_t *r = p;
        size_t i;
        if (!r)
                return;
        for (i = 0; i < r->ncbs; i++)
                free(r->cbs[i]);
        free(r->cbs);
        free(r);
}

static void job_free(job_t *j)
{
        if (!j)
                return;
        free(j->callback_id);
        free(j->payload);
        free(j->error);
        free(j);
}

static sim_order_t *find_order(orders_sim_t *s, int64_t order_id)
{
        size_t lo = 0, hi = s->n_orders;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int32_t id = s->orders[mid].o->order_id;
                if (id == order_id)
                        return &s->orders[mid];
                if (id < order_id)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return NULL;
}

/* ---------------- the scheduler's min-heap (due, seq) ---------------- */

static bool job_before(const job_t *a, const job_t *b)
{
        return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static bool heap_push(orders_sim_t *s, job_t *j)
{
        size_t i;
        if (s->heap_n == s->heap_cap) {
                size_t cap = s->heap_cap ? s->heap_cap * 2 : 64;
                job_t **h = realloc(s->heap, cap * sizeof(*h));
                if (!h)
                        return false;
                s->heap = h;
                s->heap_cap = cap;
        }
        j->seq = s->seq++;
        i = s->heap_n++;
        while (i > 0) {
                size_t p = (i - 1) / 2;
                if (!job_before(j, s->heap[p]))
                        break;
                s->heap[i] = s->heap[p];
                i = p;
        }
        s->heap[i] = j;
        pthread_cond_signal(&s->cv);
        return true;
}

static job_t *heap_pop(orders_sim_t *s)
{
        job_t *top, *last;
        size_t i = 0;
        if (!s->heap_n)
                return NULL;
        top = s->heap[0];
        last = s->heap[--s->heap_n];
        for (;;) {
                size_t l = 2 * i + 1, r = l + 1, m = i;
                const job_t *mj = last;
                if (l < s->heap_n && job_before(s->heap[l], mj)) {
                        m = l;
                        mj = s->heap[l];
                }
                if (r < s->heap_n && job_before(s->heap[r], mj))
                        m = r;
                if (m == i)
                        break;
                s->heap[i] = s->heap[m];
                i = m;
        }
        if (s->heap_n)
                s->heap[i] = last;
        return top;
}

/* Schedules a completion of callback_id (copied) at monotonic time due.
 * payload (success) or error (failure) are copied. */
static bool schedule_send(orders_sim_t *s, int64_t due, const char *callback_id, int outcome, const char *payload,
                          const char *error)
{
        job_t *j = calloc(1, sizeof(*j));
        if (!j)
                return false;
        j->kind = JOB_SEND;
        j->due = due;
        j->outcome = outcome;
        j->callback_id = xstrdup(callback_id);
        j->payload = payload ? xstrdup(payload) : NULL;
        j->error = error ? xstrdup(error) : NULL;
        if (!j->callback_id || (payload && !j->payload) || (error && !j->error) || !heap_push(s, j)) {
                job_free(j);
                return false;
        }
        return true;
}

static char *shipment_payload(const ow_order_t *o)
{
        char date[32];
        json_t *p;
        char *txt;
        ow_format_date(o->shipped_date_ms, date, sizeof(date));
        p = json_pack("{s:I, s:s, s:I}", "order_id", (json_int_t)o->order_id, "shipped_date", date, "shipper_id",
                      (json_int_t)o->ship_via);
        if (!p)
                return NULL;
        txt = json_dumps(p, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(p);
        return txt;
}

/* Makes callback_id the order's tracking callback; if the order already
 * shipped and the report was not sent to that id yet, completes it now.
 * Lock held. */
static bool set_tracking(orders_sim_t *s, sim_order_t *so, const char *callback_id)
{
        char *cb;
        if (!so->track_cb || strcmp(so->track_cb, callback_id)) {
                cb = xstrdup(callback_id);
                if (!cb)
                        return false;
                free(so->track_cb);
                so->track_cb = cb;
        }
        if (so->shipped && (!so->sent_cb || strcmp(so->sent_cb, callback_id))) {
                char *payload = shipment_payload(so->o);
                bool ok = payload && schedule_send(s, mono_ms(), callback_id, DF_CALLBACK_SUCCESS, payload, NULL);
                free(payload);
                if (!ok)
                        return false;
                cb = xstrdup(callback_id);
                if (cb) {
                        free(so->sent_cb);
                        so->sent_cb = cb;
                }
        }
        return true;
}

/* The shipment of an order happens (JOB_SHIP is due). Lock held. */
static void ship_now(orders_sim_t *s, sim_order_t *so)
{
        if (so->shipped)
                return;
        so->shipped = true;
        s->st.shipments_reported++;
        if (so->track_cb) {
                char *cb = xstrdup(so->track_cb);
                if (cb && !set_tracking(s, so, cb))
                        fprintf(stderr, "orders-sim: out of memory scheduling the shipment of order %d\n",
                                (int)so->o->order_id);
                free(cb);
        }
}

static void *scheduler_main(void *arg)
{
        orders_sim_t *s = arg;
        char errstr[512];

        pthread_mutex_lock(&s->mu);
        while (!s->stopping) {
                job_t *j;
                int64_t now = mono_ms();

                if (!s->heap_n) {
                        pthread_cond_wait(&s->cv, &s->mu);
                        continue;
                }
                if (s->heap[0]->due > now) {
                        int64_t due = s->heap[0]->due;
                        struct timespec ts;
                        clock_gettime(CLOCK_MONOTONIC, &ts);
                        ts.tv_sec += (time_t)((due - now) / 1000);
                        ts.tv_nsec += (long)((due - now) % 1000) * 1000000L;
                        if (ts.tv_nsec >= 1000000000L) {
                                ts.tv_sec++;
                                ts.tv_nsec -= 1000000000L;
                        }
                        pthread_cond_timedwait(&s->cv, &s->mu, &ts);
                        continue;
                }
                /* Take every due job: shipments happen here, completions
                 * are sent as one batch with one flush (one Kafka round trip). */
                {
                        job_t *batch[SIM_SEND_BATCH];
                        df_err_t rcs[SIM_SEND_BATCH];
                        int nb = 0, k2;
                        df_err_t frc = DF_OK;
                        while (s->heap_n && s->heap[0]->due <= now && nb < SIM_SEND_BATCH) {
                                j = heap_pop(s);
                                if (j->kind == JOB_SHIP) {
                                        ship_now(s, &s->orders[j->order_idx]);
                                        job_free(j);
                                        continue;
                                }
                                batch[nb++] = j;
                        }
                        if (!nb)
                                continue;
                        s->inflight += nb;
                        pthread_mutex_unlock(&s->mu);
                        for (k2 = 0; k2 < nb; k2++) {
                                j = batch[k2];
                                errstr[0] = '\0';
                                rcs[k2] = df_client_callback_async(s->client, j->callback_id,
                                                                   (df_callback_outcome_t)j->outcome, j->payload,
                                                                   j->payload ? strlen(j->payload) : 0, j->error,
                                                                   errstr, sizeof(errstr));
                                if (rcs[k2] != DF_OK && df_err_is_retriable(rcs[k2]))
                                        fprintf(stderr, "orders-sim: callback %s not queued (%s: %s)\n",
                                                j->callback_id, df_err_name(rcs[k2]), errstr);
                                else if (rcs[k2] != DF_OK)
                                        fprintf(stderr, "orders-sim: callback %s rejected (%s: %s)\n",
                                                j->callback_id, df_err_name(rcs[k2]), errstr);
                        }
                        frc = df_client_flush(s->client, SIM_FLUSH_TIMEOUT_MS);
                        for (k2 = 0; k2 < nb; k2++) {
                                if (rcs[k2] == DF_OK && frc != DF_OK)
                                        rcs[k2] = frc;
                                if (rcs[k2] == DF_OK && s->on_sent)
                                        s->on_sent(s->on_sent_opaque, batch[k2]->callback_id, batch[k2]->outcome,
                                                   batch[k2]->payload, batch[k2]->error);
                        }
                        pthread_mutex_lock(&s->mu);
                        s->inflight -= nb;
                        for (k2 = 0; k2 < nb; k2++) {
                                df_err_t rc = rcs[k2];
                                j = batch[k2];
                                if (rc == DF_OK) {
                                        s->st.callbacks_sent++;
                                        job_free(j);
                                } else if (df_err_is_retriable(rc)) {
                                        /* Not acknowledged: send again later (the worker
                                         * rejects a second completion as finished). */
                                        int64_t backoff = SIM_BACKOFF_MIN_MS;
                                        unsigned k;
                                        for (k = 0; k < j->attempts && backoff < SIM_BACKOFF_MAX_MS; k++)
                                                backoff *= 2;
                                        if (backoff > SIM_BACKOFF_MAX_MS)
                                                backoff = SIM_BACKOFF_MAX_MS;
                                        j->attempts++;
                                        j->due = mono_ms() + backoff;
                                        s->st.callbacks_retried++;
                                        fprintf(stderr, "orders-sim: callback %s not acknowledged (%s), retry %u in %lld ms\n",
                                                j->callback_id, df_err_name(rc), j->attempts, (long long)backoff);
                                        if (!heap_push(s, j)) {
                                                fprintf(stderr, "orders-sim: out of memory, callback %s lost\n",
                                                        j->callback_id);
                                                job_free(j);
                                        }
                                } else {
                                        s->st.callbacks_rejected++;
                                        job_free(j);
                                }
                        }
                }
        }
        pthread_mutex_unlock(&s->mu);
        return NULL;
}

/* ------------------------------------------------------------------------ */
/* request handling                                                         */
/* ------------------------------------------------------------------------ */

typedef struct reply {
        unsigned status;
        json_t *body;
        bool proto_err; /* a malformed request or a server error: counted in http_errors */
} reply_t;

static reply_t result(unsigned status, const char *result)
{
        reply_t r = {status, json_pack("{s:s}", "result", result), false};
        return r;
}

static reply_t proto_error(unsigned status, const char *result, const char *msg)
{
        reply_t r = {status, json_pack("{s:s, s:s}", "result", result, "error", msg), true};
        return r;
}

static reply_t bad_request(const char *fmt, const char *field)
{
        char msg[256];
        snprintf(msg, sizeof(msg), fmt, field);
        return proto_error(MHD_HTTP_BAD_REQUEST, "bad_request", msg);
}

static reply_t no_memory(void)
{
        return proto_error(MHD_HTTP_INTERNAL_SERVER_ERROR, "error", "out of memory");
}

/* Field getters: false with *err filled (a 400 naming the field). */
static bool get_int(json_t *o, const char *name, int64_t min, int64_t max, int64_t *out, reply_t *err)
{
        json_t *v = json_object_get(o, name);
        if (!v) {
                *err = bad_request("missing field '%s'", name);
                return false;
        }
        if (!json_is_integer(v)) {
                *err = bad_request("field '%s' must be an integer", name);
                return false;
        }
        *out = (int64_t)json_integer_value(v);
        if (*out < min || *out > max) {
                char fmt[128];
                snprintf(fmt, sizeof(fmt), "field '%%s' must be between %lld and %lld", (long long)min,
                         (long long)max);
                *err = bad_request(fmt, name);
                return false;
        }
        return true;
}

static bool get_str(json_t *o, const char *name, size_t max, bool allow_empty, const char **out, reply_t *err)
{
        json_t *v = json_object_get(o, name);
        size_t n;
        if (!v) {
                *err = bad_request("missing field '%s'", name);
                return false;
        }
        if (!json_is_string(v)) {
                *err = bad_request("field '%s' must be a string", name);
                return false;
        }
        n = json_string_length(v);
        if (n > max || strlen(json_string_value(v)) != n) {
                *err = bad_request("field '%s' is too long or contains a NUL", name);
                return false;
        }
        if (!n && !allow_empty) {
                *err = bad_request("field '%s' must not be empty", name);
                return false;
        }
        *out = json_string_value(v);
        return true;
}

/* A callback id as printable ASCII without spaces (the framework checks the
 * rest; a malformed id is rejected by df_client_callback, counted in
 * callbacks_rejected). */
static bool get_callback_id(json_t *o, const char *name, const char **out, reply_t *err)
{
        const char *p;
        if (!get_str(o, name, SIM_KEY_MAX, false, out, err))
                return false;
        for (p = *out; *p; p++) {
                if (*p <= ' ' || *p > '~') {
                        *err = bad_request("field '%s' must be printable ASCII without spaces", name);
                        return false;
                }
        }
        return true;
}

static reply_t unknown_order(orders_sim_t *s)
{
        s->st.unknown_orders++;
        return result(MHD_HTTP_NOT_FOUND, "unknown_order");
}

static reply_t key_conflict(orders_sim_t *s)
{
        s->st.key_conflicts_other++;
        return result(422, "key_conflict");
}

static void check_stock(orders_sim_t *s, int64_t product_id)
{
        if (ow_ledger_stock(s->ledger, (int32_t)product_id) < 0)
                s->st.stock_negative = true;
}

static reply_t h_reserve(orders_sim_t *s, json_t *req)
{
        int64_t pid, qty;
        const char *key;
        reply_t err;
        if (!get_int(req, "product_id", INT32_MIN, INT32_MAX, &pid, &err) ||
            !get_int(req, "quantity", 1, INT32_MAX, &qty, &err) || !get_str(req, "key", SIM_KEY_MAX, false, &key, &err))
                return err;
        switch (ow_ledger_reserve(s->ledger, (int32_t)pid, (int32_t)qty, key)) {
        case OW_RESERVE_OK:
                check_stock(s, pid);
                return result(MHD_HTTP_OK, "ok");
        case OW_RESERVE_OUT_OF_STOCK:
                return result(MHD_HTTP_CONFLICT, "out_of_stock");
        case OW_RESERVE_UNKNOWN_PRODUCT:
                return result(MHD_HTTP_NOT_FOUND, "unknown_product");
        case OW_RESERVE_KEY_CONFLICT:
                return result(422, "key_conflict");
        case OW_RESERVE_INVALID:
                return bad_request("invalid reservation: check '%s' and quantity", "key");
        case OW_RESERVE_NO_MEMORY:
        default:
                return no_memory();
        }
}

static reply_t h_release(orders_sim_t *s, json_t *req)
{
        const char *key;
        reply_t err;
        if (!get_str(req, "key", SIM_KEY_MAX, false, &key, &err))
                return err;
        switch (ow_ledger_release(s->ledger, key)) {
        case OW_RELEASE_OK:
                s->st.releases_ok++;
                return result(MHD_HTTP_OK, "ok");
        case OW_RELEASE_ALREADY:
        case OW_RELEASE_NOT_HELD: /* the reservation had failed: nothing to give back */
                s->st.releases_repeated++;
                return result(MHD_HTTP_OK, "already");
        case OW_RELEASE_UNKNOWN_KEY:
        default:
                s->st.releases_unknown++;
                return result(MHD_HTTP_NOT_FOUND, "unknown_key");
        }
}

static reply_t h_authorize(orders_sim_t *s, json_t *req)
{
        int64_t oid, amount, total;
        const char *cb, *key;
        sim_order_t *so;
        pay_rec_t *r;
        reply_t err;
        size_t i;
        char **cbs;
        bool fresh = false, ok;

        if (!get_int(req, "order_id", INT32_MIN, INT32_MAX, &oid, &err) ||
            !get_int(req, "amount_cents", 0, INT64_MAX, &amount, &err) || !get_callback_id(req, "callback_id", &cb, &err) ||
            !get_str(req, "key", SIM_KEY_MAX, false, &key, &err))
                return err;
        so = find_order(s, oid);
        if (!so)
                return unknown_order(s);
        r = smap_get(&s->pays, key);
        if (r) {
                if (r->order_id != oid || r->amount != amount)
                        return key_conflict(s);
                for (i = 0; i < r->ncbs; i++) {
                        if (!strcmp(r->cbs[i], cb)) {
                                s->st.payments_repeated++;
                                return result(MHD_HTTP_ACCEPTED, "accepted");
                        }
                }
        } else {
                r = calloc(1, sizeof(*r));
                if (!r || !smap_put(&s->pays, key, r)) {
                        free(r);
                        return no_memory();
                }
                r->order_id = (int32_t)oid;
                r->amount = amount;
                fresh = true;
        }
        cbs = realloc(r->cbs, (r->ncbs + 1) * sizeof(*cbs));
        if (!cbs)
                return no_memory();
        r->cbs = cbs;
        if (!(r->cbs[r->ncbs] = xstrdup(cb)))
                return no_memory();
        r->ncbs++;

        if (ow_payment_decide(amount) == OW_PAYMENT_DECLINED) {
                char total_s[32], limit_s[32], msg[128];
                ow_format_cents(amount, total_s, sizeof(total_s));
                ow_format_cents(OW_CREDIT_LIMIT_CENTS, limit_s, sizeof(limit_s));
                snprintf(msg, sizeof(msg), "declined: total %s over the credit limit of %s", total_s, limit_s);
                ok = schedule_send(s, mono_ms() + s->payment_delay_ms, cb, DF_CALLBACK_FAILURE, NULL, msg);
                if (fresh)
                        s->st.payments_declined++;
        } else {
                char pid[32], *payload;
                json_t *p;
                snprintf(pid, sizeof(pid), "pay-%d", (int)oid);
                p = json_pack("{s:s, s:I}", "payment_id", pid, "amount_cents", (json_int_t)amount);
                payload = p ? json_dumps(p, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
                json_decref(p);
                ok = payload && schedule_send(s, mono_ms() + s->payment_delay_ms, cb, DF_CALLBACK_SUCCESS, payload,
                                              NULL);
                free(payload);
                if (fresh)
                        s->st.payments_authorized++;
        }
        if (!ok)
                return no_memory();
        if (fresh && (!ow_order_total_cents(so->o, &total) || total != amount))
                s->st.amount_mismatches++;
        if (!fresh)
                s->st.payment_callbacks_renewed++;
        return result(MHD_HTTP_ACCEPTED, "accepted");
}

static reply_t h_refund(orders_sim_t *s, json_t *req)
{
        int64_t oid, amount;
        const char *key;
        sim_order_t *so;
        kv_rec_t *r;
        reply_t err;

        if (!get_int(req, "order_id", INT32_MIN, INT32_MAX, &oid, &err) ||
            !get_int(req, "amount_cents", 0, INT64_MAX, &amount, &err) ||
            !get_str(req, "key", SIM_KEY_MAX, false, &key, &err))
                return err;
        so = find_order(s, oid);
        if (!so)
                return unknown_order(s);
        r = smap_get(&s->refunds, key);
        if (r) {
                if (r->order_id != oid || r->amount != amount)
                        return key_conflict(s);
                s->st.refunds_repeated++;
                return result(MHD_HTTP_OK, "already");
        }
        r = malloc(sizeof(*r));
        if (!r || !smap_put(&s->refunds, key, r)) {
                free(r);
                return no_memory();
        }
        r->order_id = (int32_t)oid;
        r->amount = amount;
        s->st.refunds_count++;
        s->st.refunds_cents += amount;
        so->refund_keys++;
        return result(MHD_HTTP_OK, "ok");
}

/* Simulated delay between order date and shipped date, in monotonic ms. */
static int64_t scaled_ship_delay(const orders_sim_t *s, const ow_order_t *o)
{
        int64_t d = o->shipped_date_ms - o->order_date_ms;
        if (d <= 0)
                return 0;
        return (d / OW_MS_PER_DAY) * s->day_ms + (d % OW_MS_PER_DAY) * s->day_ms / OW_MS_PER_DAY;
}

static reply_t h_dispatch(orders_sim_t *s, json_t *req)
{
        int64_t oid;
        const char *cb, *key;
        sim_order_t *so;
        kv_rec_t *r;
        reply_t err;

        if (!get_int(req, "order_id", INT32_MIN, INT32_MAX, &oid, &err) ||
            !get_callback_id(req, "callback_id", &cb, &err) || !get_str(req, "key", SIM_KEY_MAX, false, &key, &err))
                return err;
        so = find_order(s, oid);
        if (!so)
                return unknown_order(s);
        if (so->fail_dispatch) {
                /* an injected warehouse failure: a 5xx, so retryable for the
                 * workflow; nothing is recorded */
                char msg[160];
                reply_t f;
                snprintf(msg, sizeof(msg), "injected warehouse failure for order %d (POST /control/warehouse)",
                         (int)oid);
                f.status = MHD_HTTP_SERVICE_UNAVAILABLE;
                f.body = json_pack("{s:s, s:s}", "result", "unavailable", "error", msg);
                f.proto_err = false;
                s->st.dispatches_failed++;
                return f;
        }
        r = smap_get(&s->dispatches, key);
        if (r && r->order_id != oid)
                return key_conflict(s);
        if (!r) {
                r = calloc(1, sizeof(*r));
                if (!r || !smap_put(&s->dispatches, key, r)) {
                        free(r);
                        return no_memory();
                }
                r->order_id = (int32_t)oid;
        }
        if (!set_tracking(s, so, cb))
                return no_memory();
        if (so->dispatched) {
                s->st.dispatches_repeated++;
                return result(MHD_HTTP_ACCEPTED, "accepted");
        }
        so->dispatched = true;
        so->t0 = mono_ms();
        s->st.dispatches++;
        if (so->o->has_shipped) {
                job_t *j = calloc(1, sizeof(*j));
                if (!j)
                        return no_memory();
                j->kind = JOB_SHIP;
                j->order_idx = (size_t)(so - s->orders);
                j->due = so->t0 + scaled_ship_delay(s, so->o);
                if (!heap_push(s, j)) {
                        job_free(j);
                        return no_memory();
                }
        }
        return result(MHD_HTTP_ACCEPTED, "accepted");
}

static reply_t h_track(orders_sim_t *s, json_t *req)
{
        int64_t oid;
        const char *cb;
        sim_order_t *so;
        reply_t err;

        if (!get_int(req, "order_id", INT32_MIN, INT32_MAX, &oid, &err) || !get_callback_id(req, "callback_id", &cb, &err))
                return err;
        so = find_order(s, oid);
        if (!so)
                return unknown_order(s);
        if (!so->dispatched)
                return result(MHD_HTTP_NOT_FOUND, "not_dispatched");
        s->st.tracks++;
        if (!set_tracking(s, so, cb))
                return no_memory();
        return result(MHD_HTTP_ACCEPTED, "accepted");
}

static reply_t h_notify(orders_sim_t *s, json_t *req)
{
        int64_t oid;
        const char *kind_s, *text, *key;
        sim_order_t *so;
        kv_rec_t *r;
        reply_t err;
        int kind;

        if (!get_int(req, "order_id", INT32_MIN, INT32_MAX, &oid, &err) ||
            !get_str(req, "kind", 32, false, &kind_s, &err) || !get_str(req, "text", SIM_TEXT_MAX, true, &text, &err) ||
            !get_str(req, "key", SIM_KEY_MAX, false, &key, &err))
                return err;
        for (kind = 0; kind < NK_COUNT; kind++)
                if (!strcmp(kind_s, notice_kinds[kind]))
                        break;
        if (kind == NK_COUNT)
                return bad_request("field '%s' must be \"late\", \"confirmation\" or \"cancellation\"", "kind");
        so = find_order(s, oid);
        if (!so)
                return unknown_order(s);
        r = smap_get(&s->notices, key);
        if (r) {
                if (r->order_id != oid || r->amount != kind)
                        return key_conflict(s);
                s->st.notices_repeated++;
                return result(MHD_HTTP_OK, "already");
        }
        r = malloc(sizeof(*r));
        if (!r || !smap_put(&s->notices, key, r)) {
                free(r);
                return no_memory();
        }
        r->order_id = (int32_t)oid;
        r->amount = kind;
        s->st.notices[kind]++;
        if (kind == NK_CONFIRMATION)
                so->confirm_keys++;
        return result(MHD_HTTP_OK, "ok");
}

/* Stats as a JSON object. Lock held. */
static json_t *stats_locked(orders_sim_t *s)
{
        ow_ledger_counters_t lc;
        size_t i, confirmed = 0, dup_conf = 0, dup_ref = 0, ship_pending = 0, cb_pending = s->inflight;
        bool negative = s->st.stock_negative;

        ow_ledger_counters(s->ledger, &lc);
        for (i = 0; i < ow_dataset_product_count(s->ds); i++)
                if (ow_ledger_stock(s->ledger, ow_dataset_product_at(s->ds, i)->product_id) < 0)
                        negative = true;
        for (i = 0; i < s->n_orders; i++) {
                const sim_order_t *so = &s->orders[i];
                confirmed += so->confirm_keys > 0;
                dup_conf += so->confirm_keys > 1;
                dup_ref += so->refund_keys > 1;
        }
        for (i = 0; i < s->heap_n; i++) {
                if (s->heap[i]->kind == JOB_SHIP)
                        ship_pending++;
                else
                        cb_pending++;
        }
        s->st.stock_negative = negative;
        return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:I, s:I,"
                         " s:I, s:I, s:I, s:I, s:I,"
                         " s:{s:I, s:I}, s:I, s:I,"
                         " s:I, s:I, s:I, s:I, s:I, s:I,"
                         " s:{s:I, s:I, s:I}, s:I, s:I, s:I,"
                         " s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
                         "reservations_ok", (json_int_t)lc.reserved_ok, "reservations_repeated", (json_int_t)lc.replays,
                         "out_of_stock", (json_int_t)lc.out_of_stock, "unknown_product", (json_int_t)lc.unknown_product,
                         "key_conflicts", (json_int_t)(lc.key_conflicts + s->st.key_conflicts_other), "releases_ok",
                         (json_int_t)s->st.releases_ok, "releases_repeated", (json_int_t)s->st.releases_repeated,
                         "releases_unknown", (json_int_t)s->st.releases_unknown, "stock_negative", negative,
                         "units_held", (json_int_t)lc.units_held, "units_in_stock", (json_int_t)lc.units_in_stock,

                         "payments_authorized", (json_int_t)s->st.payments_authorized, "payments_declined",
                         (json_int_t)s->st.payments_declined, "payments_repeated", (json_int_t)s->st.payments_repeated,
                         "payment_callbacks_renewed", (json_int_t)s->st.payment_callbacks_renewed,
                         "amount_mismatches", (json_int_t)s->st.amount_mismatches,

                         "refunds", "count", (json_int_t)s->st.refunds_count, "cents", (json_int_t)s->st.refunds_cents,
                         "refunds_repeated", (json_int_t)s->st.refunds_repeated, "duplicate_refunds",
                         (json_int_t)dup_ref,

                         "dispatches", (json_int_t)s->st.dispatches, "dispatches_repeated",
                         (json_int_t)s->st.dispatches_repeated, "dispatches_failed",
                         (json_int_t)s->st.dispatches_failed, "tracks", (json_int_t)s->st.tracks,
                         "shipments_reported", (json_int_t)s->st.shipments_reported, "shipments_pending",
                         (json_int_t)ship_pending,

                         "notices", "late", (json_int_t)s->st.notices[NK_LATE], "confirmation",
                         (json_int_t)s->st.notices[NK_CONFIRMATION], "cancellation",
                         (json_int_t)s->st.notices[NK_CANCELLATION], "notices_repeated",
                         (json_int_t)s->st.notices_repeated, "orders_confirmed", (json_int_t)confirmed,
                         "duplicate_confirmations", (json_int_t)dup_conf,

                         "unknown_orders", (json_int_t)s->st.unknown_orders, "callbacks_sent",
                         (json_int_t)s->st.callbacks_sent, "callbacks_rejected", (json_int_t)s->st.callbacks_rejected,
                         "callbacks_retried", (json_int_t)s->st.callbacks_retried, "callbacks_pending",
                         (json_int_t)cb_pending, "http_requests", (json_int_t)s->st.http_requests, "http_errors",
                         (json_int_t)s->st.http_errors, "day_ms", (json_int_t)s->day_ms, "payment_delay_ms",
                         (json_int_t)s->payment_delay_ms);
}

/* POST /control/warehouse: the orders whose dispatch fails from now on. */
static reply_t h_control_warehouse(orders_sim_t *s, json_t *req)
{
        json_t *ids = json_object_get(req, "fail_dispatch"), *v, *now;
        size_t i;

        if (!ids)
                return bad_request("missing field '%s'", "fail_dispatch");
        if (!json_is_array(ids))
                return bad_request("field '%s' must be an array of order ids", "fail_dispatch");
        json_array_foreach(ids, i, v) {
                if (!json_is_integer(v))
                        return bad_request("field '%s' must be an array of order ids", "fail_dispatch");
                if (!find_order(s, json_integer_value(v)))
                        return unknown_order(s);
        }
        for (i = 0; i < s->n_orders; i++)
                s->orders[i].fail_dispatch = false;
        json_array_foreach(ids, i, v) {
                find_order(s, json_integer_value(v))->fail_dispatch = true;
        }
        now = json_array();
        for (i = 0; now && i < s->n_orders; i++)
                if (s->orders[i].fail_dispatch && json_array_append_new(now, json_integer(s->orders[i].o->order_id)))
                        break;
        if (!now || i < s->n_orders) {
                json_decref(now);
                return no_memory();
        }
        {
                reply_t r = {MHD_HTTP_OK, json_pack("{s:s, s:o}", "result", "ok", "fail_dispatch", now), false};
                return r;
        }
}

typedef struct route {
        const char *path;
        reply_t (*fn)(orders_sim_t *, json_t *);
        bool keyed; /* takes an idempotency "key": its requests are counted per key (GET /calls) */
} route_t;

static const route_t routes[] = {
        {"/inventory/reserve", h_reserve, true},   {"/inventory/release", h_release, true},
        {"/payments/authorize", h_authorize, true}, {"/payments/refund", h_refund, true},
        {"/warehouse/dispatch", h_dispatch, true}, {"/warehouse/track", h_track, false},
        {"/notify", h_notify, true},               {"/control/warehouse", h_control_warehouse, false},
};
#define N_ROUTES (sizeof(routes) / sizeof(routes[0]))

/* One more request of route ri carried key. Lock held; false when out of memory. */
static bool count_call(orders_sim_t *s, size_t ri, const char *key)
{
        uint64_t *n = smap_get(&s->calls[ri], key);
        if (!n) {
                n = calloc(1, sizeof(*n));
                if (!n || !smap_put(&s->calls[ri], key, n)) {
                        free(n);
                        return false;
                }
        }
        (*n)++;
        return true;
}

/* GET /calls: requests per key of each keyed route, keys starting with prefix. Lock held. */
static json_t *calls_locked(orders_sim_t *s, const char *prefix)
{
        json_t *all = json_object(), *o;
        size_t ri, b, plen = strlen(prefix);
        const smap_ent_t *e;

        for (ri = 0; all && ri < N_ROUTES; ri++) {
                if (!routes[ri].keyed)
                        continue;
                o = json_object();
                if (!o || json_object_set_new(all, routes[ri].path, o)) {
                        json_decref(all);
                        return NULL;
                }
                for (b = 0; b < s->calls[ri].nb; b++)
                        for (e = s->calls[ri].b[b]; e; e = e->next)
                                if (!strncmp(e->key, prefix, plen) &&
                                    json_object_set_new(o, e->key, json_integer((json_int_t)*(const uint64_t *)e->val))) {
                                        json_decref(all);
                                        return NULL;
                                }
        }
        return all ? json_pack("{s:s, s:o}", "prefix", prefix, "calls", all) : NULL;
}

/* Dispatches a complete request (prefix: the query's "prefix", may be NULL).
 * Takes the lock for the state. */
static reply_t handle(orders_sim_t *s, const char *method, const char *url, const char *prefix, const char *body,
                      size_t len)
{
        bool get = !strcmp(method, MHD_HTTP_METHOD_GET), post = !strcmp(method, MHD_HTTP_METHOD_POST);
        size_t i;
        reply_t r;

        if (!strcmp(url, "/health")) {
                if (!get)
                        return proto_error(MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed", "wrong method for this path");
                r.status = MHD_HTTP_OK;
                r.body = json_pack("{s:b}", "ok", 1);
                r.proto_err = false;
                return r;
        }
        if (!strcmp(url, "/stats")) {
                if (!get)
                        return proto_error(MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed", "wrong method for this path");
                pthread_mutex_lock(&s->mu);
                r.status = MHD_HTTP_OK;
                r.body = stats_locked(s);
                r.proto_err = false;
                pthread_mutex_unlock(&s->mu);
                return r;
        }
        if (!strcmp(url, "/calls")) {
                if (!get)
                        return proto_error(MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed", "wrong method for this path");
                pthread_mutex_lock(&s->mu);
                r.status = MHD_HTTP_OK;
                r.body = calls_locked(s, prefix ? prefix : "");
                r.proto_err = false;
                pthread_mutex_unlock(&s->mu);
                return r;
        }
        for (i = 0; i < N_ROUTES; i++) {
                json_error_t jerr;
                json_t *req;
                if (strcmp(url, routes[i].path))
                        continue;
                if (!post)
                        return proto_error(MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed", "wrong method for this path");
                req = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &jerr);
                if (!req) {
                        char msg[300];
                        snprintf(msg, sizeof(msg), "invalid JSON body: %s (line %d, column %d)", jerr.text, jerr.line,
                                 jerr.column);
                        return proto_error(MHD_HTTP_BAD_REQUEST, "bad_request", msg);
                }
                if (!json_is_object(req)) {
                        json_decref(req);
                        return bad_request("the body must be a JSON %s", "object");
                }
                pthread_mutex_lock(&s->mu);
                if (routes[i].keyed && json_is_string(json_object_get(req, "key")) &&
                    !count_call(s, i, json_string_value(json_object_get(req, "key")))) {
                        pthread_mutex_unlock(&s->mu);
                        json_decref(req);
                        return no_memory();
                }
                r = routes[i].fn(s, req);
                pthread_mutex_unlock(&s->mu);
                json_decref(req);
                return r;
        }
        return proto_error(MHD_HTTP_NOT_FOUND, "not_found", "unknown path");
}

/* ---------------- microhttpd glue ---------------- */

typedef struct conn_ctx {
        char *buf;
        size_t len, cap;
        bool too_large;
        int64_t start_ms;          /* when the request came */
        bool traced;               /* it carried a valid traceparent */
        df__traceparent_t parent;  /* ... its context: the caller's span */
} conn_ctx_t;

/* The request's SERVER span, child of the span its traceparent names (the
 * step attempt that sent it), as OpenTelemetry's HTTP server conventions
 * name it ("POST /inventory/reserve"); exported when otlp.endpoint is set. */
static void request_span(orders_sim_t *s, const conn_ctx_t *cx, const char *method, const char *url, int status)
{
        uint8_t id[8];
        char name[300];
        df__span_t *sp;

        if (!s->tracer || !cx->traced || !(cx->parent.flags & DF__TRACE_FLAG_SAMPLED))
                return;
        do {
                if (df__random_bytes(id, sizeof(id)))
                        return;
        } while (!(id[0] | id[1] | id[2] | id[3] | id[4] | id[5] | id[6] | id[7]));
        snprintf(name, sizeof(name), "%s %.200s", method, url);
        sp = df__span_new(name, DF__SPAN_SERVER, cx->parent.trace_id, id, cx->parent.span_id,
                          cx->start_ms * 1000000LL);
        if (!sp)
                return;
        df__span_attr_str(sp, "http.request.method", method);
        df__span_attr_str(sp, "url.path", url);
        df__span_attr_int(sp, "http.response.status_code", status);
        df__span_set_status(sp, status >= 500 ? DF__STATUS_ERROR : DF__STATUS_UNSET,
                            status >= 500 ? "server error" : NULL);
        df__span_end(sp, df__now_ms() * 1000000LL);
        df__otlp_submit(s->tracer, sp);
}

static enum MHD_Result send_reply(orders_sim_t *s, struct MHD_Connection *c, reply_t r)
{
        struct MHD_Response *resp;
        enum MHD_Result ret;
        char *txt = r.body ? json_dumps(r.body, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        json_decref(r.body);
        if (!txt) {
                static const char oom[] = "{\"result\":\"error\",\"error\":\"out of memory\"}";
                r.status = MHD_HTTP_INTERNAL_SERVER_ERROR;
                r.proto_err = true;
                resp = MHD_create_response_from_buffer(sizeof(oom) - 1, (void *)oom, MHD_RESPMEM_PERSISTENT);
        } else {
                resp = MHD_create_response_from_buffer(strlen(txt), txt, MHD_RESPMEM_MUST_FREE);
                if (!resp)
                        free(txt);
        }
        if (!resp)
                return MHD_NO;
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
        pthread_mutex_lock(&s->mu);
        s->st.http_requests++;
        /* malformed requests and server errors, not business answers (409,
         * 404 unknown product/order/key, 422) */
        if (r.proto_err)
                s->st.http_errors++;
        pthread_mutex_unlock(&s->mu);
        ret = MHD_queue_response(c, r.status, resp);
        MHD_destroy_response(resp);
        return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
        orders_sim_t *s = cls;
        conn_ctx_t *cx = *con_cls;
        reply_t r;
        (void)version;

        if (!cx) {
                const char *tp = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "traceparent");
                cx = calloc(1, sizeof(*cx));
                if (!cx)
                        return MHD_NO;
                cx->start_ms = df__now_ms();
                cx->traced = tp && df__traceparent_parse(tp, strlen(tp), &cx->parent, NULL, 0) == DF_OK;
                *con_cls = cx;
                return MHD_YES;
        }
        if (*upload_data_size) {
                size_t n = *upload_data_size;
                if (!cx->too_large && cx->len + n > SIM_BODY_MAX) {
                        cx->too_large = true;
                        free(cx->buf);
                        cx->buf = NULL;
                        cx->len = cx->cap = 0;
                }
                if (!cx->too_large) {
                        if (cx->len + n > cx->cap) {
                                size_t cap = cx->cap ? cx->cap : 1024;
                                char *b;
                                while (cap < cx->len + n)
                                        cap *= 2;
                                b = realloc(cx->buf, cap);
                                if (!b)
                                        return MHD_NO;
                                cx->buf = b;
                                cx->cap = cap;
                        }
                        memcpy(cx->buf + cx->len, upload_data, n);
                        cx->len += n;
                }
                *upload_data_size = 0;
                return MHD_YES;
        }
        if (cx->too_large) {
                r = proto_error(MHD_HTTP_CONTENT_TOO_LARGE, "too_large", "request body over 65536 bytes");
        } else {
                r = handle(s, method, url, MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "prefix"), cx->buf,
                           cx->len);
                if (!r.body)
                        r = no_memory();
        }
        {
                int status = (int)r.status;
                enum MHD_Result ret = send_reply(s, c, r);
                request_span(s, cx, method, url, status);
                return ret;
        }
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
        conn_ctx_t *cx = *con_cls;
        (void)cls;
        (void)c;
        (void)toe;
        if (cx) {
                free(cx->buf);
                free(cx);
                *con_cls = NULL;
        }
}

/* ------------------------------------------------------------------------ */
/* start / stop                                                             */
/* ------------------------------------------------------------------------ */

typedef struct load_report {
        char msg[256];
} load_report_t;

static void on_load_problem(void *opaque, const char *file, long line, const char *message)
{
        load_report_t *lr = opaque;
        snprintf(lr->msg, sizeof(lr->msg), "%s:%ld: %s", file, line, message);
}

void orders_sim_opts_init(orders_sim_opts_t *o)
{
        memset(o, 0, sizeof(*o));
        o->data_dir = ORDERS_DATA_DIR;
        o->listen_host = "127.0.0.1";
        o->port = 0;
        o->day_ms = 1000;
        o->payment_delay_ms = 100;
}

static bool start_http(orders_sim_t *s, const char *host, int port, char *errstr, size_t errstr_size)
{
        struct addrinfo hints, *ai = NULL;
        char port_s[16];
        const union MHD_DaemonInfo *info;
        unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO;
        int rc;

        memset(&hints, 0, sizeof(hints));
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
        snprintf(port_s, sizeof(port_s), "%d", port);
        rc = getaddrinfo(host, port_s, &hints, &ai);
        if (rc || !ai) {
                snprintf(errstr, errstr_size, "listen address %s: %s", host, rc ? gai_strerror(rc) : "no address");
                return false;
        }
        if (ai->ai_family == AF_INET6)
                flags |= MHD_USE_IPv6;
        s->httpd = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR,
                                    ai->ai_addr, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                                    MHD_OPTION_THREAD_POOL_SIZE, (unsigned)4, MHD_OPTION_CONNECTION_TIMEOUT,
                                    (unsigned)60, MHD_OPTION_END);
        freeaddrinfo(ai);
        if (!s->httpd) {
                snprintf(errstr, errstr_size, "cannot listen on %s:%d (%s)", host, port,
                         errno ? strerror(errno) : "microhttpd failed to start");
                return false;
        }
        info = MHD_get_daemon_info(s->httpd, MHD_DAEMON_INFO_BIND_PORT);
        s->port = info ? info->port : port;
        return true;
}

orders_sim_t *orders_sim_start(const orders_sim_opts_t *o, char *errstr, size_t errstr_size)
{
        orders_sim_opts_t def;
        orders_sim_t *s;
        load_report_t lr;
        pthread_condattr_t ca;
        df_conf_t *own_conf = NULL;
        size_t i;

        if (!o) {
                orders_sim_opts_init(&def);
                o = &def;
        }
        s = calloc(1, sizeof(*s));
        if (!s) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        pthread_mutex_init(&s->mu, NULL);
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&s->cv, &ca);
        pthread_condattr_destroy(&ca);
        s->day_ms = o->day_ms > 0 ? o->day_ms : 1000;
        s->payment_delay_ms = o->payment_delay_ms >= 0 ? o->payment_delay_ms : 100;
        s->on_sent = o->on_sent;
        s->on_sent_opaque = o->on_sent_opaque;

        memset(&lr, 0, sizeof(lr));
        s->ds = ow_dataset_load(o->data_dir ? o->data_dir : ORDERS_DATA_DIR, on_load_problem, &lr);
        if (!s->ds) {
                snprintf(errstr, errstr_size, "dataset %s: %s", o->data_dir ? o->data_dir : ORDERS_DATA_DIR,
                         lr.msg[0] ? lr.msg : "cannot load");
                goto fail;
        }
        s->ledger = ow_ledger_create(s->ds);
        s->n_orders = ow_dataset_order_count(s->ds);
        s->orders = calloc(s->n_orders ? s->n_orders : 1, sizeof(*s->orders));
        if (!s->ledger || !s->orders) {
                snprintf(errstr, errstr_size, "out of memory");
                goto fail;
        }
        for (i = 0; i < s->n_orders; i++)
                s->orders[i].o = ow_dataset_order_at(s->ds, i);
        s->calls = calloc(N_ROUTES, sizeof(*s->calls));
        if (!s->calls) {
                snprintf(errstr, errstr_size, "out of memory");
                goto fail;
        }
        for (i = 0; i < o->n_fail_dispatch; i++) {
                sim_order_t *so = find_order(s, o->fail_dispatch[i]);
                if (!so) {
                        snprintf(errstr, errstr_size, "fail_dispatch: order %d is not in the dataset",
                                 (int)o->fail_dispatch[i]);
                        goto fail;
                }
                so->fail_dispatch = true;
        }

        if (!o->conf) {
                own_conf = df_conf_new();
                if (!own_conf) {
                        snprintf(errstr, errstr_size, "out of memory");
                        goto fail;
                }
        }
        s->client = df_client_new(o->conf ? o->conf : own_conf, errstr, errstr_size);
        df_conf_destroy(own_conf);
        if (!s->client)
                goto fail;
        if (o->conf) {
                const char *ep = df_conf_get(o->conf, "otlp.endpoint");
                if (ep && *ep) {
                        df__otlp_opts_t to = {0};
                        to.endpoint = ep;
                        to.service_name = "orders-sim";
                        if (df__otlp_new(&to, &s->tracer, errstr, errstr_size) != DF_OK)
                                goto fail;
                }
        }

        if (pthread_create(&s->sched, NULL, scheduler_main, s)) {
                snprintf(errstr, errstr_size, "cannot start the scheduler thread");
                goto fail;
        }
        s->sched_started = true;
        if (!start_http(s, o->listen_host ? o->listen_host : "127.0.0.1", o->port, errstr, errstr_size))
                goto fail;
        return s;
fail:
        orders_sim_stop(s);
        return NULL;
}

int orders_sim_port(const orders_sim_t *s)
{
        return s ? s->port : -1;
}

char *orders_sim_stats_json(orders_sim_t *s)
{
        json_t *j;
        char *txt;
        if (!s)
                return NULL;
        pthread_mutex_lock(&s->mu);
        j = stats_locked(s);
        pthread_mutex_unlock(&s->mu);
        if (!j)
                return NULL;
        txt = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        json_decref(j);
        return txt;
}

void orders_sim_stop(orders_sim_t *s)
{
        size_t i;
        if (!s)
                return;
        if (s->httpd)
                MHD_stop_daemon(s->httpd);
        df__otlp_destroy(s->tracer, 1000); /* no request left to trace */
        if (s->sched_started) {
                pthread_mutex_lock(&s->mu);
                s->stopping = true;
                pthread_cond_broadcast(&s->cv);
                pthread_mutex_unlock(&s->mu);
                pthread_join(s->sched, NULL);
        }
        df_client_destroy(s->client);
        for (i = 0; i < s->heap_n; i++)
                job_free(s->heap[i]);
        free(s->heap);
        smap_free(&s->pays, pay_rec_free);
        smap_free(&s->refunds, free);
        smap_free(&s->dispatches, free);
        smap_free(&s->notices, free);
        for (i = 0; s->calls && i < N_ROUTES; i++)
                smap_free(&s->calls[i], free);
        free(s->calls);
        for (i = 0; s->orders && i < s->n_orders; i++) {
                free(s->orders[i].track_cb);
                free(s->orders[i].sent_cb);
        }
        free(s->orders);
        ow_ledger_free(s->ledger);
        ow_dataset_free(s->ds);
        pthread_cond_destroy(&s->cv);
        pthread_mutex_destroy(&s->mu);
        free(s);
}
