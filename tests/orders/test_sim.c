/*
 * test_sim.c - Check tests of orders-sim (workers/orders/sim): the simulator
 * runs in-process in embedded mode (the in-process mock Kafka cluster), on an
 * ephemeral port, and the tests talk to it with libcurl. Completions sent by
 * the scheduler are observed through the on_sent hook and /stats; the last
 * test runs a real worker whose workflow waits on callbacks the simulator
 * completes.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <curl/curl.h>
#include <jansson.h>

#include "duraflow/duraflow.h"
#include "orders_logic.h"
#include "sim.h"

#define DAY_MS 10
#define PAY_DELAY_MS 50

/* ------------------------------------------------------------------ */
/* fixture                                                             */
/* ------------------------------------------------------------------ */

typedef struct sent {
        char *cb;
        int outcome;
        char *payload, *error;
        int64_t at_ms;
} sent_t;

static orders_sim_t *sim;
static df_conf_t *conf;
static ow_dataset_t *ds;
static char base_url[64];
static char state_dir[128];
static pthread_mutex_t sent_mu = PTHREAD_MUTEX_INITIALIZER;
static sent_t sent[256];
static size_t n_sent;

static int64_t mono_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *dup_or_null(const char *s)
{
        char *p;
        if (!s)
                return NULL;
        p = malloc(strlen(s) + 1);
        if (p)
                strcpy(p, s);
        return p;
}

static void on_sent(void *opaque, const char *callback_id, int outcome, const char *payload, const char *error)
{
        (void)opaque;
        pthread_mutex_lock(&sent_mu);
        if (n_sent < sizeof(sent) / sizeof(sent[0])) {
                sent[n_sent].cb = dup_or_null(callback_id);
                sent[n_sent].outcome = outcome;
                sent[n_sent].payload = dup_or_null(payload);
                sent[n_sent].error = dup_or_null(error);
                sent[n_sent].at_ms = mono_ms();
                n_sent++;
        }
        pthread_mutex_unlock(&sent_mu);
}

static void conf_set(const char *name, const char *value)
{
        char e[256];
        ck_assert_msg(df_conf_set(conf, name, value, e, sizeof(e)) == DF_OK, "%s", e);
}

static void setup(void)
{
        orders_sim_opts_t o;
        char errstr[512], prefix[64];

        n_sent = 0;
        conf = df_conf_new();
        ck_assert_ptr_nonnull(conf);
        static int setups; /* unique topics per test, also under CK_FORK=no */
        snprintf(prefix, sizeof(prefix), "simtest-%d-%d", (int)getpid(), ++setups);
        snprintf(state_dir, sizeof(state_dir), "/tmp/duraflow-%s", prefix);
        conf_set("brokers", "");
        conf_set("topic.prefix", prefix);
        conf_set("partitions", "2");
        conf_set("state.dir", state_dir);
        conf_set("log.level", getenv("DF_LOG") ? getenv("DF_LOG") : "warn");
        orders_sim_opts_init(&o);
        o.port = 0;
        o.day_ms = DAY_MS;
        o.payment_delay_ms = PAY_DELAY_MS;
        o.conf = conf;
        o.on_sent = on_sent;
        sim = orders_sim_start(&o, errstr, sizeof(errstr));
        ck_assert_msg(sim != NULL, "orders_sim_start: %s", errstr);
        ck_assert_int_gt(orders_sim_port(sim), 0);
        snprintf(base_url, sizeof(base_url), "http://127.0.0.1:%d", orders_sim_port(sim));
        ds = ow_dataset_load(ORDERS_DATA_DIR, NULL, NULL);
        ck_assert_ptr_nonnull(ds);
}

static void teardown(void)
{
        char cmd[200];
        size_t i;
        orders_sim_stop(sim);
        sim = NULL;
        ow_dataset_free(ds);
        df_conf_destroy(conf);
        for (i = 0; i < n_sent; i++) {
                free(sent[i].cb);
                free(sent[i].payload);
                free(sent[i].error);
        }
        n_sent = 0;
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", state_dir);
        if (system(cmd) != 0)
                fprintf(stderr, "cleanup of %s failed\n", state_dir);
}

/* ------------------------------------------------------------------ */
/* HTTP helpers                                                        */
/* ------------------------------------------------------------------ */

typedef struct buf {
        char *p;
        size_t n;
} buf_t;

static size_t on_body(char *data, size_t size, size_t nmemb, void *opaque)
{
        buf_t *b = opaque;
        size_t n = size * nmemb;
        char *p = realloc(b->p, b->n + n + 1);
        if (!p)
                return 0;
        memcpy(p + b->n, data, n);
        b->p = p;
        b->n += n;
        p[b->n] = '\0';
        return n;
}

/* Sends a request (body NULL = GET) to url; returns the status code and
 * the parsed JSON answer in *out (caller decrefs). */
static long http_to(const char *url_base, const char *path, const char *body, size_t body_len, json_t **out)
{
        CURL *h = curl_easy_init();
        struct curl_slist *hdrs = NULL;
        buf_t b = {NULL, 0};
        char url[256];
        long status = 0;
        CURLcode rc;

        ck_assert_ptr_nonnull(h);
        snprintf(url, sizeof(url), "%s%s", url_base, path);
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        if (body) {
                hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
                curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
                curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
                curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)body_len);
        }
        rc = curl_easy_perform(h);
        ck_assert_msg(rc == CURLE_OK, "%s: %s", url, curl_easy_strerror(rc));
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        curl_slist_free_all(hdrs);
        curl_easy_cleanup(h);
        if (out) {
                json_error_t e;
                *out = b.p ? json_loads(b.p, 0, &e) : NULL;
                ck_assert_msg(*out != NULL, "%s: answer is not JSON: %s", url, b.p ? b.p : "(empty)");
        }
        free(b.p);
        return status;
}

static long http(const char *path, const char *body, json_t **out)
{
        return http_to(base_url, path, body, body ? strlen(body) : 0, out);
}

/* POSTs body, checks the status and "result", returns nothing. */
static void expect(const char *path, const char *body, long status, const char *result)
{
        json_t *a;
        long st = http(path, body, &a);
        const char *r = json_string_value(json_object_get(a, "result"));
        ck_assert_msg(st == status, "%s %s: status %ld, expected %ld", path, body, st, status);
        ck_assert_msg(r && !strcmp(r, result), "%s %s: result %s, expected %s", path, body, r ? r : "(none)",
                      result);
        json_decref(a);
}

/* A 400 whose error names field. */
static void expect_400(const char *path, const char *body, const char *field)
{
        json_t *a;
        long st = http(path, body, &a);
        const char *e = json_string_value(json_object_get(a, "error"));
        char quoted[64];
        ck_assert_msg(st == 400, "%s %s: status %ld, expected 400", path, body, st);
        ck_assert_msg(e != NULL, "%s %s: no error message", path, body);
        snprintf(quoted, sizeof(quoted), "'%s'", field);
        ck_assert_msg(strstr(e, field ? quoted : "") != NULL, "%s %s: error \"%s\" does not name %s", path, body, e,
                      quoted);
        json_decref(a);
}

static json_t *stats(void)
{
        json_t *a;
        ck_assert_int_eq(http("/stats", NULL, &a), 200);
        return a;
}

static json_int_t stat2(const char *obj, const char *name)
{
        json_t *s = stats(), *v = obj ? json_object_get(json_object_get(s, obj), name) : json_object_get(s, name);
        json_int_t x;
        ck_assert_msg(json_is_integer(v), "stats: %s.%s missing", obj ? obj : "", name);
        x = json_integer_value(v);
        json_decref(s);
        return x;
}

static json_int_t stat(const char *name)
{
        return stat2(NULL, name);
}

static bool wait_stat(const char *name, json_int_t at_least, int timeout_ms)
{
        int64_t end = mono_ms() + timeout_ms;
        do {
                if (stat(name) >= at_least)
                        return true;
                usleep(10000);
        } while (mono_ms() < end);
        return false;
}

/* Index of the n-th (0-based) completion sent to cb, waiting up to
 * timeout_ms; -1 if none. */
static int wait_sent(const char *cb, int nth, int timeout_ms)
{
        int64_t end = mono_ms() + timeout_ms;
        do {
                size_t i;
                int seen = 0;
                pthread_mutex_lock(&sent_mu);
                for (i = 0; i < n_sent; i++) {
                        if (!strcmp(sent[i].cb, cb) && seen++ == nth) {
                                pthread_mutex_unlock(&sent_mu);
                                return (int)i;
                        }
                }
                pthread_mutex_unlock(&sent_mu);
                usleep(5000);
        } while (mono_ms() < end);
        return -1;
}

static int count_sent(const char *cb)
{
        size_t i;
        int n = 0;
        pthread_mutex_lock(&sent_mu);
        for (i = 0; i < n_sent; i++)
                n += !strcmp(sent[i].cb, cb);
        pthread_mutex_unlock(&sent_mu);
        return n;
}

/* A callback id of the framework's form: <32 hex>_<op id>_<execution id>. */
static void make_cb(char *buf, size_t cap, unsigned n)
{
        snprintf(buf, cap, "%032x_%u_sim-test-exec-%u", n, n % 7 + 1, n);
}

static const ow_order_t *find_order_where(bool (*pred)(const ow_order_t *))
{
        size_t i;
        for (i = 0; i < ow_dataset_order_count(ds); i++)
                if (pred(ow_dataset_order_at(ds, i)))
                        return ow_dataset_order_at(ds, i);
        return NULL;
}

static int64_t total_of(const ow_order_t *o)
{
        int64_t t;
        ck_assert(ow_order_total_cents(o, &t));
        return t;
}

static bool over_limit(const ow_order_t *o)
{
        int64_t t;
        return ow_order_total_cents(o, &t) && t > OW_CREDIT_LIMIT_CENTS;
}

static bool never_shipped(const ow_order_t *o)
{
        return !o->has_shipped;
}

static int64_t ship_days(const ow_order_t *o)
{
        return (o->shipped_date_ms - o->order_date_ms) / OW_MS_PER_DAY;
}

/* ------------------------------------------------------------------ */
/* tests                                                               */
/* ------------------------------------------------------------------ */

START_TEST(test_health_and_routing)
{
        json_t *a;
        ck_assert_int_eq(http("/health", NULL, &a), 200);
        ck_assert(json_is_true(json_object_get(a, "ok")));
        json_decref(a);
        ck_assert_int_eq(http("/nope", NULL, &a), 404);
        json_decref(a);
        ck_assert_int_eq(http("/nope", "{}", &a), 404);
        json_decref(a);
        ck_assert_int_eq(http("/inventory/reserve", NULL, &a), 405);
        json_decref(a);
        ck_assert_int_eq(http("/stats", "{}", &a), 405);
        json_decref(a);
        ck_assert_int_eq(stat("http_errors"), 4);
        /* business answers are not HTTP errors */
        expect("/inventory/reserve", "{\"product_id\":999999,\"quantity\":1,\"key\":\"u\"}", 404, "unknown_product");
        ck_assert_int_eq(stat("http_errors"), 4);
}
END_TEST

START_TEST(test_inventory)
{
        const int32_t pid = 11;
        int64_t stock = 0;
        size_t i, j;
        char body[256];

        for (i = 0; i < ow_dataset_order_count(ds); i++) {
                const ow_order_t *o = ow_dataset_order_at(ds, i);
                for (j = 0; j < o->n_lines; j++)
                        if (o->lines[j].product_id == pid && o->lines[j].quantity > 0)
                                stock += o->lines[j].quantity;
        }
        ck_assert_int_gt(stock, 0);

        /* take all of it, repeat, then one more unit is out of stock */
        snprintf(body, sizeof(body), "{\"product_id\":%d,\"quantity\":%lld,\"key\":\"r1\"}", pid, (long long)stock);
        expect("/inventory/reserve", body, 200, "ok");
        expect("/inventory/reserve", body, 200, "ok");
        ck_assert_int_eq(stat("reservations_ok"), 1);
        ck_assert_int_eq(stat("reservations_repeated"), 1);
        snprintf(body, sizeof(body), "{\"product_id\":%d,\"quantity\":1,\"key\":\"r2\"}", pid);
        expect("/inventory/reserve", body, 409, "out_of_stock");
        expect("/inventory/reserve", body, 409, "out_of_stock"); /* remembered */
        ck_assert_int_eq(stat("out_of_stock"), 1);
        expect("/inventory/reserve", "{\"product_id\":999999,\"quantity\":1,\"key\":\"r3\"}", 404, "unknown_product");
        ck_assert_int_eq(stat("unknown_product"), 1);
        /* the same key for another quantity */
        snprintf(body, sizeof(body), "{\"product_id\":%d,\"quantity\":2,\"key\":\"r1\"}", pid);
        expect("/inventory/reserve", body, 422, "key_conflict");
        ck_assert_int_eq(stat("key_conflicts"), 1);

        /* release twice, unknown key, the failed reservation */
        expect("/inventory/release", "{\"key\":\"r1\"}", 200, "ok");
        expect("/inventory/release", "{\"key\":\"r1\"}", 200, "already");
        expect("/inventory/release", "{\"key\":\"r2\"}", 200, "already");
        expect("/inventory/release", "{\"key\":\"nope\"}", 404, "unknown_key");
        ck_assert_int_eq(stat("releases_ok"), 1);
        ck_assert_int_eq(stat("releases_repeated"), 2);

        /* the stock is back; the released key never re-takes it */
        snprintf(body, sizeof(body), "{\"product_id\":%d,\"quantity\":%lld,\"key\":\"r1\"}", pid, (long long)stock);
        expect("/inventory/reserve", body, 200, "ok");
        snprintf(body, sizeof(body), "{\"product_id\":%d,\"quantity\":%lld,\"key\":\"r4\"}", pid, (long long)stock);
        expect("/inventory/reserve", body, 200, "ok");
        snprintf(body, sizeof(body), "{\"product_id\":%d,\"quantity\":1,\"key\":\"r5\"}", pid);
        expect("/inventory/reserve", body, 409, "out_of_stock");
        {
                json_t *s = stats();
                ck_assert(json_is_false(json_object_get(s, "stock_negative")));
                json_decref(s);
        }
}
END_TEST

START_TEST(test_payment_approved)
{
        const ow_order_t *o = ow_dataset_find_order(ds, 10248);
        int64_t total = total_of(o);
        char body[512], cb1[128], cb2[128], expected[128];
        int i;

        ck_assert_int_le(total, OW_CREDIT_LIMIT_CENTS);
        make_cb(cb1, sizeof(cb1), 1);
        make_cb(cb2, sizeof(cb2), 2);
        snprintf(body, sizeof(body), "{\"order_id\":10248,\"amount_cents\":%lld,\"callback_id\":\"%s\",\"key\":\"p1\"}",
                 (long long)total, cb1);
        expect("/payments/authorize", body, 202, "accepted");
        i = wait_sent(cb1, 0, 5000);
        ck_assert_int_ge(i, 0);
        snprintf(expected, sizeof(expected), "{\"payment_id\":\"pay-10248\",\"amount_cents\":%lld}",
                 (long long)total);
        ck_assert_int_eq(sent[i].outcome, DF_CALLBACK_SUCCESS);
        ck_assert_str_eq(sent[i].payload, expected);
        ck_assert_ptr_null(sent[i].error);
        ck_assert(wait_stat("callbacks_sent", 1, 5000));
        ck_assert_int_eq(stat("payments_authorized"), 1);
        ck_assert_int_eq(stat("amount_mismatches"), 0);

        /* the same (key, callback) again: nothing new */
        expect("/payments/authorize", body, 202, "accepted");
        usleep(4 * PAY_DELAY_MS * 1000);
        ck_assert_int_eq(count_sent(cb1), 1);
        ck_assert_int_eq(stat("callbacks_sent"), 1);

        /* the same key, a re-created callback: the new id is completed */
        snprintf(body, sizeof(body), "{\"order_id\":10248,\"amount_cents\":%lld,\"callback_id\":\"%s\",\"key\":\"p1\"}",
                 (long long)total, cb2);
        expect("/payments/authorize", body, 202, "accepted");
        i = wait_sent(cb2, 0, 5000);
        ck_assert_int_ge(i, 0);
        ck_assert_str_eq(sent[i].payload, expected);
        ck_assert_int_eq(stat("payments_authorized"), 1);
        ck_assert_int_eq(count_sent(cb1), 1);

        /* the same key for another amount: conflict */
        snprintf(body, sizeof(body), "{\"order_id\":10248,\"amount_cents\":1,\"callback_id\":\"%s\",\"key\":\"p1\"}",
                 cb2);
        expect("/payments/authorize", body, 422, "key_conflict");

        /* an amount that is not the order's total is paid but counted */
        snprintf(body, sizeof(body), "{\"order_id\":10248,\"amount_cents\":%lld,\"callback_id\":\"%s\",\"key\":\"p2\"}",
                 (long long)total + 1, cb2);
        expect("/payments/authorize", body, 202, "accepted");
        ck_assert_int_eq(stat("amount_mismatches"), 1);
        ck_assert_int_eq(stat("payments_authorized"), 2);

        /* an unknown order */
        snprintf(body, sizeof(body), "{\"order_id\":1,\"amount_cents\":5,\"callback_id\":\"%s\",\"key\":\"p3\"}", cb2);
        expect("/payments/authorize", body, 404, "unknown_order");
}
END_TEST

START_TEST(test_payment_declined)
{
        const ow_order_t *o = find_order_where(over_limit);
        int64_t total;
        char body[512], cb[128], total_s[32], msg[128];
        int i;

        ck_assert_ptr_nonnull(o);
        total = total_of(o);
        make_cb(cb, sizeof(cb), 3);
        snprintf(body, sizeof(body), "{\"order_id\":%d,\"amount_cents\":%lld,\"callback_id\":\"%s\",\"key\":\"pd\"}",
                 (int)o->order_id, (long long)total, cb);
        expect("/payments/authorize", body, 202, "accepted");
        i = wait_sent(cb, 0, 5000);
        ck_assert_int_ge(i, 0);
        ow_format_cents(total, total_s, sizeof(total_s));
        snprintf(msg, sizeof(msg), "declined: total %s over the credit limit of 10000.00", total_s);
        ck_assert_int_eq(sent[i].outcome, DF_CALLBACK_FAILURE);
        ck_assert_ptr_null(sent[i].payload);
        ck_assert_str_eq(sent[i].error, msg);
        ck_assert_int_eq(stat("payments_declined"), 1);
        ck_assert_int_eq(stat("payments_authorized"), 0);
        ck_assert_int_eq(stat("amount_mismatches"), 0);

        /* the limit itself is approved */
        snprintf(body, sizeof(body), "{\"order_id\":%d,\"amount_cents\":1000000,\"callback_id\":\"%s\",\"key\":\"pl\"}",
                 (int)o->order_id, cb);
        expect("/payments/authorize", body, 202, "accepted");
        i = wait_sent(cb, 1, 5000);
        ck_assert_int_ge(i, 0);
        ck_assert_int_eq(sent[i].outcome, DF_CALLBACK_SUCCESS);
}
END_TEST

START_TEST(test_dispatch_and_track)
{
        const ow_order_t *o = ow_dataset_find_order(ds, 10248);
        char body[512], cb1[128], cb2[128], cb3[128];
        const char *expected = "{\"order_id\":10248,\"shipped_date\":\"1996-07-16\",\"shipper_id\":3}";
        int64_t t_before, delay = ship_days(o) * DAY_MS;
        int i;

        ck_assert_int_eq(ship_days(o), 12);
        make_cb(cb1, sizeof(cb1), 11);
        make_cb(cb2, sizeof(cb2), 12);
        make_cb(cb3, sizeof(cb3), 13);

        /* track before dispatch */
        snprintf(body, sizeof(body), "{\"order_id\":10248,\"callback_id\":\"%s\"}", cb1);
        expect("/warehouse/track", body, 404, "not_dispatched");

        t_before = mono_ms();
        snprintf(body, sizeof(body), "{\"order_id\":10248,\"callback_id\":\"%s\",\"key\":\"d1\"}", cb1);
        expect("/warehouse/dispatch", body, 202, "accepted");
        expect("/warehouse/dispatch", body, 202, "accepted"); /* repeat: same schedule */
        i = wait_sent(cb1, 0, 5000);
        ck_assert_int_ge(i, 0);
        ck_assert_str_eq(sent[i].payload, expected);
        ck_assert_int_eq(sent[i].outcome, DF_CALLBACK_SUCCESS);
        ck_assert_msg(sent[i].at_ms - t_before >= delay - 1, "shipped after %lld ms, expected >= %lld",
                      (long long)(sent[i].at_ms - t_before), (long long)delay);
        ck_assert_int_eq(stat("shipments_reported"), 1);
        ck_assert_int_eq(stat("dispatches"), 1);
        ck_assert_int_eq(stat("dispatches_repeated"), 1);

        /* the workflow's first wait timed out: track with a new id, completed at once */
        t_before = mono_ms();
        snprintf(body, sizeof(body), "{\"order_id\":10248,\"callback_id\":\"%s\"}", cb2);
        expect("/warehouse/track", body, 202, "accepted");
        i = wait_sent(cb2, 0, 5000);
        ck_assert_int_ge(i, 0);
        ck_assert_str_eq(sent[i].payload, expected);
        ck_assert_int_lt(sent[i].at_ms - t_before, 2000);
        /* the same id again: nothing more */
        expect("/warehouse/track", body, 202, "accepted");
        usleep(100000);
        ck_assert_int_eq(count_sent(cb2), 1);
        ck_assert_int_eq(count_sent(cb1), 1);
        ck_assert_int_eq(stat("shipments_reported"), 1);

        /* a re-dispatch with a new callback id after the shipment completes it too */
        snprintf(body, sizeof(body), "{\"order_id\":10248,\"callback_id\":\"%s\",\"key\":\"d1\"}", cb3);
        expect("/warehouse/dispatch", body, 202, "accepted");
        ck_assert_int_ge(wait_sent(cb3, 0, 5000), 0);
        ck_assert_int_eq(stat("dispatches"), 1);

        /* the same key for another order */
        snprintf(body, sizeof(body), "{\"order_id\":10249,\"callback_id\":\"%s\",\"key\":\"d1\"}", cb3);
        expect("/warehouse/dispatch", body, 422, "key_conflict");
        snprintf(body, sizeof(body), "{\"order_id\":1,\"callback_id\":\"%s\",\"key\":\"d9\"}", cb3);
        expect("/warehouse/dispatch", body, 404, "unknown_order");
}
END_TEST

START_TEST(test_dispatch_new_callback_before_shipment)
{
        const ow_order_t *o = NULL;
        char body[512], cb1[128], cb2[128], expected[128], date[16];
        size_t k;
        int i;

        /* the order that takes longest to ship */
        for (k = 0; k < ow_dataset_order_count(ds); k++) {
                const ow_order_t *x = ow_dataset_order_at(ds, k);
                if (x->has_shipped && (!o || ship_days(x) > ship_days(o)))
                        o = x;
        }
        ck_assert_ptr_nonnull(o);
        ck_assert_int_ge(ship_days(o), 20);
        make_cb(cb1, sizeof(cb1), 21);
        make_cb(cb2, sizeof(cb2), 22);
        snprintf(body, sizeof(body), "{\"order_id\":%d,\"callback_id\":\"%s\",\"key\":\"k1\"}", (int)o->order_id, cb1);
        expect("/warehouse/dispatch", body, 202, "accepted");
        snprintf(body, sizeof(body), "{\"order_id\":%d,\"callback_id\":\"%s\",\"key\":\"k1\"}", (int)o->order_id, cb2);
        expect("/warehouse/dispatch", body, 202, "accepted");
        i = wait_sent(cb2, 0, 5000);
        ck_assert_int_ge(i, 0);
        ow_format_date(o->shipped_date_ms, date, sizeof(date));
        snprintf(expected, sizeof(expected), "{\"order_id\":%d,\"shipped_date\":\"%s\",\"shipper_id\":%d}",
                 (int)o->order_id, date, (int)o->ship_via);
        ck_assert_str_eq(sent[i].payload, expected);
        usleep(50000);
        ck_assert_int_eq(count_sent(cb1), 0);
        ck_assert_int_eq(stat("shipments_reported"), 1);
}
END_TEST

/* Failure injection (POST /control/warehouse, opts.fail_dispatch) and the
 * calls per idempotency key (GET /calls). */
START_TEST(test_fail_dispatch_and_calls)
{
        char body[512], cb[128], errstr[256];
        json_t *a, *d;
        json_int_t errors0 = stat("http_errors");
        const int32_t unknown[] = {999999};
        orders_sim_opts_t o;

        make_cb(cb, sizeof(cb), 41);
        expect("/control/warehouse", "{\"fail_dispatch\":[10248]}", 200, "ok");
        snprintf(body, sizeof(body), "{\"order_id\":10248,\"callback_id\":\"%s\",\"key\":\"fd1\"}", cb);
        expect("/warehouse/dispatch", body, 503, "unavailable");
        expect("/warehouse/dispatch", body, 503, "unavailable");
        snprintf(body, sizeof(body), "{\"order_id\":10249,\"callback_id\":\"%s\",\"key\":\"fd2\"}", cb);
        expect("/warehouse/dispatch", body, 202, "accepted"); /* only the listed orders fail */
        ck_assert_int_eq(stat("dispatches_failed"), 2);
        ck_assert_int_eq(stat("dispatches"), 1);
        /* an unknown order changes nothing; a bad list is a 400 */
        expect("/control/warehouse", "{\"fail_dispatch\":[10248,1]}", 404, "unknown_order");
        expect_400("/control/warehouse", "{\"fail_dispatch\":10248}", "fail_dispatch");
        expect_400("/control/warehouse", "{\"fail_dispatch\":[\"10248\"]}", "fail_dispatch");
        expect_400("/control/warehouse", "{}", "fail_dispatch");
        snprintf(body, sizeof(body), "{\"order_id\":10248,\"callback_id\":\"%s\",\"key\":\"fd1\"}", cb);
        expect("/warehouse/dispatch", body, 503, "unavailable");
        ck_assert_int_eq(stat("dispatches_failed"), 3);
        ck_assert_int_eq(stat("http_errors"), errors0 + 3); /* the three 400s, not the injected 503s */
        /* off: the dispatch goes through, nothing of the failed ones was kept */
        ck_assert_int_eq(http("/control/warehouse", "{\"fail_dispatch\":[]}", &a), 200);
        ck_assert_int_eq(json_array_size(json_object_get(a, "fail_dispatch")), 0);
        json_decref(a);
        expect("/warehouse/dispatch", body, 202, "accepted");
        ck_assert_int_eq(stat("dispatches"), 2);
        ck_assert_int_eq(stat("dispatches_repeated"), 0);
        ck_assert_int_ge(wait_sent(cb, 0, 5000), 0);

        /* every request that carried a key, by endpoint and key */
        expect("/inventory/reserve", "{\"product_id\":11,\"quantity\":1,\"key\":\"fd3\"}", 200, "ok");
        expect("/inventory/reserve", "{\"product_id\":11,\"quantity\":1,\"key\":\"fd3\"}", 200, "ok");
        expect("/inventory/reserve", "{\"product_id\":11,\"quantity\":1,\"key\":\"zz\"}", 200, "ok");
        ck_assert_int_eq(http("/calls?prefix=fd", NULL, &a), 200);
        ck_assert_str_eq(json_string_value(json_object_get(a, "prefix")), "fd");
        d = json_object_get(a, "calls");
        ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(d, "/warehouse/dispatch"), "fd1")), 4);
        ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(d, "/warehouse/dispatch"), "fd2")), 1);
        ck_assert_int_eq(json_object_size(json_object_get(d, "/warehouse/dispatch")), 2);
        ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(d, "/inventory/reserve"), "fd3")), 2);
        ck_assert_int_eq(json_object_size(json_object_get(d, "/inventory/reserve")), 1); /* not zz */
        ck_assert_int_eq(json_object_size(json_object_get(d, "/notify")), 0);
        ck_assert_ptr_null(json_object_get(d, "/warehouse/track")); /* no key */
        json_decref(a);
        ck_assert_int_eq(http("/calls", NULL, &a), 200);
        ck_assert_int_eq(json_object_size(json_object_get(json_object_get(a, "calls"), "/inventory/reserve")), 2);
        json_decref(a);
        ck_assert_int_eq(http("/calls", "{}", &a), 405);
        json_decref(a);

        /* the first list given at start must name orders of the dataset */
        orders_sim_opts_init(&o);
        o.conf = conf;
        o.fail_dispatch = unknown;
        o.n_fail_dispatch = 1;
        ck_assert_ptr_null(orders_sim_start(&o, errstr, sizeof(errstr)));
        ck_assert_msg(strstr(errstr, "fail_dispatch: order 999999 is not in the dataset"), "%s", errstr);
}
END_TEST

START_TEST(test_never_shipped)
{
        const ow_order_t *o = find_order_where(never_shipped);
        char body[512], cb[128];

        ck_assert_ptr_nonnull(o);
        make_cb(cb, sizeof(cb), 31);
        snprintf(body, sizeof(body), "{\"order_id\":%d,\"callback_id\":\"%s\",\"key\":\"n1\"}", (int)o->order_id, cb);
        expect("/warehouse/dispatch", body, 202, "accepted");
        snprintf(body, sizeof(body), "{\"order_id\":%d,\"callback_id\":\"%s\"}", (int)o->order_id, cb);
        expect("/warehouse/track", body, 202, "accepted");
        usleep(200 * DAY_MS * 1000 / 10);
        ck_assert_int_eq(count_sent(cb), 0);
        ck_assert_int_eq(stat("shipments_reported"), 0);
        ck_assert_int_eq(stat("shipments_pending"), 0);
        ck_assert_int_eq(stat("dispatches"), 1);
}
END_TEST

START_TEST(test_refund)
{
        expect("/payments/refund", "{\"order_id\":10248,\"amount_cents\":47238,\"key\":\"f1\"}", 200, "ok");
        expect("/payments/refund", "{\"order_id\":10248,\"amount_cents\":47238,\"key\":\"f1\"}", 200, "already");
        ck_assert_int_eq(stat2("refunds", "count"), 1);
        ck_assert_int_eq(stat2("refunds", "cents"), 47238);
        ck_assert_int_eq(stat("duplicate_refunds"), 0);
        expect("/payments/refund", "{\"order_id\":10249,\"amount_cents\":100,\"key\":\"f2\"}", 200, "ok");
        ck_assert_int_eq(stat("duplicate_refunds"), 0);
        /* the same order refunded under a second key */
        expect("/payments/refund", "{\"order_id\":10248,\"amount_cents\":47238,\"key\":\"f3\"}", 200, "ok");
        ck_assert_int_eq(stat2("refunds", "count"), 3);
        ck_assert_int_eq(stat2("refunds", "cents"), 2 * 47238 + 100);
        ck_assert_int_eq(stat("duplicate_refunds"), 1);
        expect("/payments/refund", "{\"order_id\":10248,\"amount_cents\":5,\"key\":\"f1\"}", 422, "key_conflict");
        expect("/payments/refund", "{\"order_id\":7,\"amount_cents\":5,\"key\":\"f9\"}", 404, "unknown_order");
}
END_TEST

START_TEST(test_notify)
{
        expect("/notify", "{\"order_id\":10248,\"kind\":\"confirmation\",\"text\":\"hi\",\"key\":\"c1\"}", 200, "ok");
        expect("/notify", "{\"order_id\":10248,\"kind\":\"confirmation\",\"text\":\"hi\",\"key\":\"c1\"}", 200,
               "already");
        ck_assert_int_eq(stat2("notices", "confirmation"), 1);
        ck_assert_int_eq(stat("orders_confirmed"), 1);
        ck_assert_int_eq(stat("duplicate_confirmations"), 0);
        expect("/notify", "{\"order_id\":10249,\"kind\":\"confirmation\",\"text\":\"\",\"key\":\"c2\"}", 200, "ok");
        expect("/notify", "{\"order_id\":10248,\"kind\":\"late\",\"text\":\"late\",\"key\":\"l1\"}", 200, "ok");
        expect("/notify", "{\"order_id\":10250,\"kind\":\"cancellation\",\"text\":\"x\",\"key\":\"x1\"}", 200, "ok");
        ck_assert_int_eq(stat("orders_confirmed"), 2);
        ck_assert_int_eq(stat("duplicate_confirmations"), 0);
        /* a second confirmation of the same order under another key */
        expect("/notify", "{\"order_id\":10248,\"kind\":\"confirmation\",\"text\":\"hi\",\"key\":\"c3\"}", 200, "ok");
        ck_assert_int_eq(stat("duplicate_confirmations"), 1);
        ck_assert_int_eq(stat("orders_confirmed"), 2);
        ck_assert_int_eq(stat2("notices", "confirmation"), 3);
        ck_assert_int_eq(stat2("notices", "late"), 1);
        ck_assert_int_eq(stat2("notices", "cancellation"), 1);
        expect("/notify", "{\"order_id\":10248,\"kind\":\"late\",\"text\":\"hi\",\"key\":\"c1\"}", 422, "key_conflict");
        expect_400("/notify", "{\"order_id\":10248,\"kind\":\"hello\",\"text\":\"hi\",\"key\":\"c9\"}", "kind");
        expect_400("/notify", "{\"order_id\":10248,\"kind\":\"late\",\"key\":\"c9\"}", "text");
}
END_TEST

START_TEST(test_bad_requests)
{
        json_t *a;
        char *big;
        size_t n = 70 * 1024;
        json_int_t errors0 = stat("http_errors");

        ck_assert_int_eq(http("/inventory/reserve", "{\"product_id\":", &a), 400);
        ck_assert_ptr_nonnull(json_string_value(json_object_get(a, "error")));
        json_decref(a);
        ck_assert_int_eq(http("/inventory/reserve", "", &a), 400);
        json_decref(a);
        ck_assert_int_eq(http("/inventory/reserve", "[1,2]", &a), 400);
        json_decref(a);
        expect_400("/inventory/reserve", "{\"quantity\":1,\"key\":\"k\"}", "product_id");
        expect_400("/inventory/reserve", "{\"product_id\":11,\"quantity\":\"3\",\"key\":\"k\"}", "quantity");
        expect_400("/inventory/reserve", "{\"product_id\":11,\"quantity\":0,\"key\":\"k\"}", "quantity");
        expect_400("/inventory/reserve", "{\"product_id\":11,\"quantity\":1}", "key");
        expect_400("/inventory/reserve", "{\"product_id\":11,\"quantity\":1,\"key\":\"\"}", "key");
        expect_400("/inventory/release", "{}", "key");
        expect_400("/payments/authorize", "{\"order_id\":10248,\"amount_cents\":5,\"key\":\"k\"}", "callback_id");
        expect_400("/payments/authorize", "{\"order_id\":10248,\"amount_cents\":5.5,\"callback_id\":\"a\",\"key\":\"k\"}",
                   "amount_cents");
        expect_400("/payments/refund", "{\"amount_cents\":5,\"key\":\"k\"}", "order_id");
        expect_400("/warehouse/dispatch", "{\"order_id\":10248,\"callback_id\":\"a b\",\"key\":\"k\"}", "callback_id");
        expect_400("/warehouse/track", "{\"order_id\":10248}", "callback_id");
        expect_400("/notify", "{\"order_id\":10248,\"kind\":\"late\",\"text\":\"t\"}", "key");

        /* over 64 KiB */
        big = malloc(n + 1);
        ck_assert_ptr_nonnull(big);
        memset(big, ' ', n);
        big[0] = '{';
        big[n - 1] = '}';
        big[n] = '\0';
        ck_assert_int_eq(http_to(base_url, "/notify", big, n, &a), 413);
        json_decref(a);
        free(big);

        ck_assert_int_eq(stat("http_errors"), errors0 + 16);
        /* nothing was taken */
        ck_assert_int_eq(stat("reservations_ok"), 0);
        ck_assert_int_eq(stat("callbacks_sent"), 0);
}
END_TEST

START_TEST(test_stats_shape)
{
        static const char *const keys[] = {"reservations_ok", "reservations_repeated", "out_of_stock",
                                           "unknown_product", "key_conflicts", "releases_ok", "releases_repeated",
                                           "stock_negative", "payments_authorized", "payments_declined",
                                           "amount_mismatches", "refunds", "duplicate_refunds", "dispatches",
                                           "shipments_reported", "notices", "orders_confirmed",
                                           "duplicate_confirmations", "callbacks_sent", "callbacks_rejected",
                                           "http_errors"};
        json_t *s = stats();
        char *txt;
        size_t i;
        for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
                ck_assert_msg(json_object_get(s, keys[i]) != NULL, "stats lack %s", keys[i]);
        ck_assert(json_is_integer(json_object_get(json_object_get(s, "refunds"), "count")));
        ck_assert(json_is_integer(json_object_get(json_object_get(s, "refunds"), "cents")));
        ck_assert(json_is_integer(json_object_get(json_object_get(s, "notices"), "late")));
        ck_assert(json_is_integer(json_object_get(json_object_get(s, "notices"), "confirmation")));
        ck_assert(json_is_integer(json_object_get(json_object_get(s, "notices"), "cancellation")));
        json_decref(s);
        txt = orders_sim_stats_json(sim);
        ck_assert_ptr_nonnull(txt);
        s = json_loads(txt, 0, NULL);
        ck_assert_ptr_nonnull(s);
        json_decref(s);
        free(txt);
}
END_TEST

/* Concurrent clients: every key reserved exactly once, stock never negative. */
typedef struct hammer_arg {
        int id;
        int ok, oos;
} hammer_arg_t;

static void *hammer(void *p)
{
        hammer_arg_t *h = p;
        int i;
        for (i = 0; i < 40; i++) {
                char body[128];
                json_t *a;
                long st;
                /* 20 keys of its own, each sent twice */
                snprintf(body, sizeof(body), "{\"product_id\":17,\"quantity\":3,\"key\":\"h%d\"}", i % 20 + h->id * 20);
                st = http("/inventory/reserve", body, &a);
                if (i < 20) {
                        h->ok += st == 200;
                        h->oos += st == 409;
                }
                json_decref(a);
        }
        return NULL;
}

START_TEST(test_concurrency)
{
        pthread_t t[4];
        hammer_arg_t h[4];
        int i, ok = 0;
        for (i = 0; i < 4; i++) {
                h[i].id = i;
                h[i].ok = h[i].oos = 0;
                pthread_create(&t[i], NULL, hammer, &h[i]);
        }
        for (i = 0; i < 4; i++) {
                pthread_join(t[i], NULL);
                ok += h[i].ok;
        }
        ck_assert_int_eq(stat("reservations_ok"), ok);
        ck_assert_int_eq(stat("reservations_ok") + stat("out_of_stock"), 80);
        ck_assert_int_eq(stat("reservations_repeated"), 80);
        {
                json_t *s = stats();
                ck_assert(json_is_false(json_object_get(s, "stock_negative")));
                json_decref(s);
        }
}
END_TEST

/* ------------------------------------------------------------------ */
/* end to end: a worker's workflow waits on callbacks the sim completes */
/* ------------------------------------------------------------------ */

static long post_from_step(const char *path, const char *body)
{
        return http_to(base_url, path, body, strlen(body), NULL);
}

static df_err_t submit_payment(df_step_t *step, const char *callback_id, void *opaque)
{
        const int64_t *amount = opaque;
        char body[512];
        snprintf(body, sizeof(body), "{\"order_id\":10248,\"amount_cents\":%lld,\"callback_id\":\"%s\",\"key\":\"%s\"}",
                 (long long)*amount, callback_id, df_step_idempotency_key(step));
        if (post_from_step("/payments/authorize", body) != 202) {
                df_step_set_error(step, "http", "authorize was not accepted");
                return DF_ERR_STEP_FAILED;
        }
        return DF_OK;
}

static df_err_t submit_dispatch(df_step_t *step, const char *callback_id, void *opaque)
{
        char body[512];
        (void)opaque;
        snprintf(body, sizeof(body), "{\"order_id\":10248,\"callback_id\":\"%s\",\"key\":\"%s\"}", callback_id,
                 df_step_idempotency_key(step));
        if (post_from_step("/warehouse/dispatch", body) != 202) {
                df_step_set_error(step, "http", "dispatch was not accepted");
                return DF_ERR_STEP_FAILED;
        }
        return DF_OK;
}

static int64_t e2e_amount;

static df_err_t wf_order(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        df_callback_opts_t co = {30000, 0};
        df_bytes_t pay, ship;
        char *out;
        df_err_t rc;
        size_t n;
        (void)input;
        (void)opaque;
        rc = df_wait_for_callback(ctx, "payment", submit_payment, &e2e_amount, &co, NULL, &pay);
        if (rc == DF_ERR_CALLBACK_FAILED) {
                df_ctx_set_output(ctx, df_ctx_last_error(ctx), strlen(df_ctx_last_error(ctx)));
                return DF_OK;
        }
        if (rc != DF_OK)
                return rc;
        rc = df_wait_for_callback(ctx, "shipment", submit_dispatch, NULL, &co, NULL, &ship);
        if (rc != DF_OK)
                return rc;
        n = pay.len + ship.len + 2;
        out = malloc(n);
        if (!out)
                return DF_ERR_NOMEM;
        memcpy(out, pay.data, pay.len);
        out[pay.len] = '|';
        memcpy(out + pay.len + 1, ship.data, ship.len);
        rc = df_ctx_set_output(ctx, out, n - 1);
        free(out);
        return rc;
}

typedef struct e2e_result {
        char status[32];
        char output[512];
        int done;
} e2e_result_t;

static void on_result(const char *execution_id, df_exec_status_t status, const df_bytes_t *output,
                      const char *error, void *opaque)
{
        e2e_result_t *r = opaque;
        (void)error;
        if (strcmp(execution_id, "sim-e2e-order"))
                return;
        snprintf(r->status, sizeof(r->status), "%s", df_exec_status_name(status));
        snprintf(r->output, sizeof(r->output), "%.*s", (int)(output ? output->len : 0),
                 output && output->data ? (const char *)output->data : "");
        r->done = 1;
}

static void *run_worker(void *p)
{
        df_worker_run(p);
        return NULL;
}

static void *run_timers(void *p)
{
        df_timer_service_run(p);
        return NULL;
}

static void run_e2e(int64_t amount, const char *expected)
{
        char errstr[512];
        df_worker_t *w;
        df_timer_service_t *ts;
        df_client_t *c;
        df_results_t *res;
        pthread_t wt, tt;
        e2e_result_t r;
        int64_t end;

        e2e_amount = amount;
        memset(&r, 0, sizeof(r));
        w = df_worker_new(conf, errstr, sizeof(errstr));
        ck_assert_msg(w != NULL, "%s", errstr);
        ck_assert_int_eq(df_worker_register(w, "order", wf_order, NULL), DF_OK);
        ts = df_timer_service_new(conf, errstr, sizeof(errstr));
        ck_assert_msg(ts != NULL, "%s", errstr);
        pthread_create(&wt, NULL, run_worker, w);
        pthread_create(&tt, NULL, run_timers, ts);
        res = df_results_open(conf, 1, errstr, sizeof(errstr));
        ck_assert_msg(res != NULL, "%s", errstr);
        c = df_client_new(conf, errstr, sizeof(errstr));
        ck_assert_msg(c != NULL, "%s", errstr);
        ck_assert_msg(df_client_start(c, "order", "sim-e2e-order", "{}", 2, NULL, errstr, sizeof(errstr)) == DF_OK,
                      "%s", errstr);
        end = mono_ms() + 60000;
        while (!r.done && mono_ms() < end)
                df_results_poll(res, 200, on_result, &r);
        df_results_close(res);
        df_client_destroy(c);
        df_worker_stop(w);
        df_timer_service_stop(ts);
        pthread_join(wt, NULL);
        pthread_join(tt, NULL);
        df_worker_destroy(w);
        df_timer_service_destroy(ts);
        ck_assert_msg(r.done, "no result within 60 s");
        ck_assert_str_eq(r.status, "SUCCEEDED");
        ck_assert_str_eq(r.output, expected);
}

START_TEST(test_e2e_worker)
{
        int64_t total = total_of(ow_dataset_find_order(ds, 10248));
        char expected[256];
        snprintf(expected, sizeof(expected),
                 "{\"payment_id\":\"pay-10248\",\"amount_cents\":%lld}|"
                 "{\"order_id\":10248,\"shipped_date\":\"1996-07-16\",\"shipper_id\":3}",
                 (long long)total);
        run_e2e(total, expected);
        ck_assert_int_eq(stat("payments_authorized"), 1);
        ck_assert_int_eq(stat("shipments_reported"), 1);
        ck_assert_int_eq(stat("callbacks_sent"), 2);
        ck_assert_int_eq(stat("callbacks_rejected"), 0);
}
END_TEST

START_TEST(test_e2e_worker_declined)
{
        run_e2e(1234567, "declined: total 12345.67 over the credit limit of 10000.00");
        ck_assert_int_eq(stat("payments_declined"), 1);
        ck_assert_int_eq(stat("amount_mismatches"), 1);
}
END_TEST

static Suite *sim_suite(void)
{
        Suite *s = suite_create("orders_sim");
        TCase *tc = tcase_create("api");
        TCase *te = tcase_create("e2e");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_health_and_routing);
        tcase_add_test(tc, test_inventory);
        tcase_add_test(tc, test_payment_approved);
        tcase_add_test(tc, test_payment_declined);
        tcase_add_test(tc, test_dispatch_and_track);
        tcase_add_test(tc, test_dispatch_new_callback_before_shipment);
        tcase_add_test(tc, test_fail_dispatch_and_calls);
        tcase_add_test(tc, test_never_shipped);
        tcase_add_test(tc, test_refund);
        tcase_add_test(tc, test_notify);
        tcase_add_test(tc, test_bad_requests);
        tcase_add_test(tc, test_stats_shape);
        tcase_add_test(tc, test_concurrency);
        suite_add_tcase(s, tc);

        tcase_add_checked_fixture(te, setup, teardown);
        tcase_set_timeout(te, 120);
        tcase_add_test(te, test_e2e_worker);
        tcase_add_test(te, test_e2e_worker_declined);
        suite_add_tcase(s, te);
        return s;
}

int main(void)
{
        SRunner *sr;
        int failed;
        curl_global_init(CURL_GLOBAL_ALL);
        sr = srunner_create(sim_suite());
        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        curl_global_cleanup();
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
