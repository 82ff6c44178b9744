/*
 * test_console_index -- the console's index (console_index.c) fed with
 * records as the workers write them: secondary indexes and counters follow
 * each change, offsets land with the batch, attempts come from the versions
 * of a step's record, unknown statuses stay visible, undecodable records are
 * kept aside, purges remove everything, cursors page without duplicates;
 * the same records give the same index applied one per batch, all in one
 * batch or by two threads.  No Kafka.
 */
#include <check.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rocksdb/c.h>

#include "console_int.h"

static char dir[256];
static df__cidx_t *ix;
static int64_t off;

static int rm_entry(const char *p, const struct stat *sb, int f, struct FTW *ftw)
{
        (void)sb;
        (void)f;
        (void)ftw;
        return remove(p);
}

static void setup(void)
{
        char e[256];
        ck_assert_int_eq(df__codec_init(e, sizeof(e)), 0);
        snprintf(dir, sizeof(dir), "%s/console-index-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        ck_assert_ptr_nonnull(mkdtemp(dir));
        ix = df__cidx_open(dir, "outcome", e, sizeof(e));
        ck_assert_msg(ix != NULL, "open: %s", e);
        off = 0;
}

static void teardown(void)
{
        df__cidx_close(ix);
        nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void put_exec(df__cbatch_t *b, const char *id, int status, int64_t created, const char *output, int ops)
{
        df__exec_rec_t x;
        df__buf_t v = {0};
        char e[256];
        memset(&x, 0, sizeof(x));
        x.execution_id = (char *)id;
        x.workflow = "order";
        x.status = status;
        x.error = status == DF__ES_FAILED ? "boom" : "";
        x.output.data = (uint8_t *)output;
        x.output.len = output ? strlen(output) : 0;
        x.created_ms = created;
        x.updated_ms = created + 1000;
        x.op_count = ops;
        ck_assert_msg(df__exec_encode(&x, &v, e, sizeof(e)) == 0, "%s", e);
        ck_assert_int_eq(df__cbatch_state(b, id, strlen(id), v.data, v.len, 0, off), 0);
        df__cbatch_offset(b, 's', 0, ++off);
        free(v.data);
}

static void put_op(df__cbatch_t *b, const char *id, const char *op_id, const char *name, int type, int status,
                   int attempt, const char *error, int64_t t, int64_t due)
{
        df__op_rec_t o;
        df__buf_t v = {0};
        char e[256], key[300];
        memset(&o, 0, sizeof(o));
        o.execution_id = (char *)id;
        o.op_id = (char *)op_id;
        o.parent_id = "";
        o.name = (char *)name;
        o.type = type;
        o.status = status;
        o.attempt = attempt;
        o.error = (char *)(error ? error : "");
        o.started_ms = 1000;
        o.updated_ms = t;
        o.due_ms = due;
        o.callback_id = type == DF__OP_CALLBACK ? "0123456789abcdef0123456789abcdef_3_x" : "";
        ck_assert_msg(df__op_encode(&o, &v, e, sizeof(e)) == 0, "%s", e);
        snprintf(key, sizeof(key), "%s/%s", id, op_id);
        ck_assert_int_eq(df__cbatch_state(b, key, strlen(key), v.data, v.len, 0, off), 0);
        df__cbatch_offset(b, 's', 0, ++off);
        free(v.data);
}

static void put_op_result(df__cbatch_t *b, const char *id, const char *op_id, const char *name, const char *result)
{
        df__op_rec_t o;
        df__buf_t v = {0};
        char e[256], key[300];
        memset(&o, 0, sizeof(o));
        o.execution_id = (char *)id;
        o.op_id = (char *)op_id;
        o.parent_id = "";
        o.name = (char *)name;
        o.type = DF__OP_STEP;
        o.status = DF__OS_SUCCEEDED;
        o.attempt = 1;
        o.result.data = (uint8_t *)result;
        o.result.len = strlen(result);
        o.error = "";
        o.callback_id = "";
        o.started_ms = o.updated_ms = 1900;
        ck_assert_msg(df__op_encode(&o, &v, e, sizeof(e)) == 0, "%s", e);
        snprintf(key, sizeof(key), "%s/%s", id, op_id);
        ck_assert_int_eq(df__cbatch_state(b, key, strlen(key), v.data, v.len, 0, off), 0);
        df__cbatch_offset(b, 's', 0, ++off);
        free(v.data);
}

/* An execution with a version and, when invoked, its parent. */
static void put_exec_v(df__cbatch_t *b, const char *id, int status, int version, const char *parent,
                       const char *parent_op, int ops)
{
        df__exec_rec_t x;
        df__buf_t v = {0};
        char e[256];
        memset(&x, 0, sizeof(x));
        x.execution_id = (char *)id;
        x.workflow = "order";
        x.status = status;
        x.error = status == DF__ES_VERSION_MISSING ? "version 3 of workflow \"order\" is not registered on this worker"
                                                   : "";
        x.created_ms = 1000;
        x.updated_ms = 2000;
        x.op_count = ops;
        x.version = version;
        x.parent_id = (char *)parent;
        x.parent_op = (char *)parent_op;
        ck_assert_msg(df__exec_encode(&x, &v, e, sizeof(e)) == 0, "%s", e);
        ck_assert_int_eq(df__cbatch_state(b, id, strlen(id), v.data, v.len, 0, off), 0);
        df__cbatch_offset(b, 's', 0, ++off);
        free(v.data);
}

/* A nested operation (parent op, child count) or an invoke (child id). */
static void put_op_n(df__cbatch_t *b, const char *id, const char *op_id, const char *parent, const char *name,
                     int type, int status, int children, const char *child, int64_t due)
{
        df__op_rec_t o;
        df__buf_t v = {0};
        char e[256], key[300];
        memset(&o, 0, sizeof(o));
        o.execution_id = (char *)id;
        o.op_id = (char *)op_id;
        o.parent_id = (char *)parent;
        o.name = (char *)name;
        o.type = type;
        o.status = status;
        o.attempt = type == DF__OP_STEP ? 1 : 0;
        o.error = "";
        o.started_ms = 1000;
        o.updated_ms = 1500;
        o.due_ms = due;
        o.callback_id = type == DF__OP_CALLBACK ? "0123456789abcdef0123456789abcdef_9_x" : "";
        o.child_count = children;
        o.child_id = (char *)(child ? child : "");
        ck_assert_msg(df__op_encode(&o, &v, e, sizeof(e)) == 0, "%s", e);
        snprintf(key, sizeof(key), "%s/%s", id, op_id);
        ck_assert_int_eq(df__cbatch_state(b, key, strlen(key), v.data, v.len, 0, off), 0);
        df__cbatch_offset(b, 's', 0, ++off);
        free(v.data);
}

static void commit(df__cbatch_t *b)
{
        char e[256];
        ck_assert_msg(df__cbatch_commit(b, e, sizeof(e)) == 0, "%s", e);
}

static json_t *list(const char *status, const char *outcome, const char *waiting, int limit, const json_t *cursor)
{
        df__cquery_t q;
        df__buf_t cur = {0};
        char e[256];
        int http = 0;
        json_t *r;
        memset(&q, 0, sizeof(q));
        q.status = status ? df__exec_status_parse(status) : -1;
        q.outcome = outcome;
        q.waiting = waiting ? df__cw_parse(waiting) : -1;
        q.started_after = INT64_MIN;
        q.started_before = INT64_MAX;
        q.limit = limit;
        q.scan_budget = 100000;
        if (cursor && json_is_string(cursor)) {
                ck_assert_int_eq(df__b64url_decode(json_string_value(cursor), &cur), 0);
                q.cursor = cur.data;
                q.cursor_len = cur.len;
        }
        r = df__cidx_list(ix, &q, &http, e, sizeof(e));
        free(cur.data);
        ck_assert_msg(r != NULL && http == 200, "list: %d %s", http, e);
        return r;
}

static json_int_t count(const char *group, const char *name)
{
        json_t *c = df__cidx_counts(ix);
        json_t *v = group ? json_object_get(json_object_get(c, group), name) : json_object_get(c, name);
        json_int_t n = v ? json_integer_value(v) : 0;
        json_decref(c);
        return n;
}

/* A start's input_b64 may be as long as an input (1,000,000 bytes): the
 * decoder's 8,192-character bound is a cursor's, not an input's (a 6,145-byte
 * input was refused as "not base64"). */
START_TEST(b64_input_longer_than_a_cursor)
{
        size_t n = 20000, i;
        char *s = malloc(n + 1);
        df__buf_t b = {0};
        for (i = 0; i < n; i++)
                s[i] = "AQID"[i % 4];
        s[n] = '\0';
        ck_assert_int_eq(df__b64url_decode(s, &b), -1); /* a cursor this long is refused */
        ck_assert_int_eq(df__b64url_decode_max(s, 1333338, &b), 0);
        ck_assert_uint_eq(b.len, 15000);
        ck_assert_int_eq(b.data[0], 1);
        ck_assert_int_eq(b.data[14999], 3);
        free(b.data);
        free(s);
}
END_TEST

START_TEST(secondary_keys_follow_changes)
{
        df__cbatch_t *b = df__cbatch_new(ix);
        json_t *l;
        put_exec(b, "order-1", DF__ES_SUSPENDED, 1000, NULL, 2);
        put_op(b, "order-1", "1", "receive", DF__OP_STEP, DF__OS_SUCCEEDED, 1, NULL, 1100, 0);
        put_op(b, "order-1", "2", "payment", DF__OP_CALLBACK, DF__OS_PENDING, 0, NULL, 1200, 61200);
        commit(b);
        ck_assert_int_eq(count(NULL, "total"), 1);
        ck_assert_int_eq(count("status", "SUSPENDED"), 1);
        ck_assert_int_eq(count("waiting", "callback"), 1);
        l = list(NULL, NULL, "callback", 10, NULL);
        ck_assert_int_eq(json_array_size(json_object_get(l, "items")), 1);
        ck_assert_int_eq(json_integer_value(json_object_get(
                                 json_array_get(json_object_get(json_array_get(json_object_get(l, "items"), 0), "waiting"), 0),
                                 "due_ms")),
                         61200);
        json_decref(l);
        /* the callback fails, the execution ends cancelled */
        put_op(b, "order-1", "2", "payment", DF__OP_CALLBACK, DF__OS_FAILED, 0, "declined", 5000, 61200);
        put_exec(b, "order-1", DF__ES_SUCCEEDED, 1000, "{\"outcome\":\"payment_declined\"}", 2);
        commit(b);
        ck_assert_int_eq(count(NULL, "total"), 1);
        ck_assert_int_eq(count("status", "SUSPENDED"), 0);
        ck_assert_int_eq(count("status", "SUCCEEDED"), 1);
        ck_assert_int_eq(count("waiting", "callback"), 0);
        ck_assert_int_eq(count("outcome", "payment_declined"), 1);
        l = list(NULL, "payment_declined", NULL, 10, NULL);
        ck_assert_int_eq(json_array_size(json_object_get(l, "items")), 1);
        json_decref(l);
        l = list(NULL, NULL, "callback", 10, NULL);
        ck_assert_int_eq(json_array_size(json_object_get(l, "items")), 0);
        json_decref(l);
        ck_assert_int_eq(df__cidx_offset(ix, 's', 0), off);
        df__cbatch_destroy(b);
        /* counters and offsets survive a reopen */
        df__cidx_close(ix);
        {
                char e[256];
                ix = df__cidx_open(dir, "outcome", e, sizeof(e));
        }
        ck_assert_int_eq(count("status", "SUCCEEDED"), 1);
        ck_assert_int_eq(df__cidx_offset(ix, 's', 0), off);
}
END_TEST

START_TEST(attempts_and_point_of_failure)
{
        df__cbatch_t *b = df__cbatch_new(ix);
        df__crender_t r = {4096, 0};
        json_t *d, *ops, *att, *f;
        int http;
        put_exec(b, "order-2", DF__ES_SUSPENDED, 1000, NULL, 3);
        put_op(b, "order-2", "1", "receive", DF__OP_STEP, DF__OS_SUCCEEDED, 1, NULL, 1100, 0);
        put_op(b, "order-2", "2", "reserve", DF__OP_STEP, DF__OS_PENDING, 1, "SimError: HTTP 503", 1200, 1450);
        commit(b);
        d = df__cidx_describe(ix, "order-2", &r, &http);
        ck_assert_ptr_nonnull(d);
        ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(d, "waiting"), 0), "kind")),
                         "retry");
        ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(d, "waiting"), 0),
                                                           "last_error")),
                         "SimError: HTTP 503");
        json_decref(d);
        put_op(b, "order-2", "2", "reserve", DF__OP_STEP, DF__OS_SUCCEEDED, 2, NULL, 1500, 0);
        put_op(b, "order-2", "3", "payment", DF__OP_CALLBACK, DF__OS_FAILED, 0, "card declined", 2000, 0);
        put_op_result(b, "order-2", "4", "payment.submit", "{\"callback\":\"0123456789abcdef0123456789abcdef_3_x\"}");
        put_exec(b, "order-2", DF__ES_SUCCEEDED, 1000, "{\"outcome\":\"payment_declined\"}", 4);
        commit(b);
        d = df__cidx_describe(ix, "order-2", &r, &http);
        ck_assert_int_eq(http, 200);
        ops = json_object_get(d, "operations");
        ck_assert_int_eq(json_array_size(ops), 4);
        /* a step result that echoes the callback id: hidden without the token */
        {
                char *all = json_dumps(d, 0);
                ck_assert_ptr_null(strstr(all, "0123456789abcdef0123456789abcdef"));
                ck_assert_ptr_nonnull(strstr(all, "shown to a token holder"));
                free(all);
        }
        att = json_object_get(json_array_get(ops, 1), "attempts");
        ck_assert_int_eq(json_array_size(att), 2);
        ck_assert_str_eq(json_string_value(json_object_get(json_array_get(att, 0), "outcome")), "failed");
        ck_assert_str_eq(json_string_value(json_object_get(json_array_get(att, 0), "error_type")), "SimError");
        ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(att, 0), "backoff_until_ms")), 1450);
        ck_assert_str_eq(json_string_value(json_object_get(json_array_get(att, 1), "outcome")), "succeeded");
        ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(att, 1), "started_ms")), 1450);
        f = json_object_get(d, "failure");
        ck_assert_str_eq(json_string_value(json_object_get(f, "name")), "payment");
        ck_assert_str_eq(json_string_value(json_object_get(f, "error_type")), "CallbackFailed");
        ck_assert_str_eq(json_string_value(json_object_get(f, "error_message")), "card declined");
        ck_assert_int_eq(json_array_size(json_object_get(f, "before")), 2);
        /* callback ids are capabilities: only for a token holder */
        ck_assert_ptr_null(json_object_get(json_array_get(ops, 2), "callback_id"));
        json_decref(d);
        r.show_callbacks = 1;
        d = df__cidx_describe(ix, "order-2", &r, &http);
        ck_assert_ptr_nonnull(json_object_get(json_array_get(json_object_get(d, "operations"), 2), "callback_id"));
        {
                char *all = json_dumps(d, 0);
                ck_assert_ptr_nonnull(strstr(all, "{\\\"callback\\\":\\\"0123456789abcdef0123456789abcdef_3_x"));
                free(all);
        }
        json_decref(d);
        ck_assert_ptr_null(df__cidx_describe(ix, "order-404", &r, &http));
        ck_assert_int_eq(http, 404);
        df__cbatch_destroy(b);
}
END_TEST

START_TEST(unknown_status_undecodable_and_purge)
{
        df__cbatch_t *b = df__cbatch_new(ix);
        df__exec_rec_t x;
        df__buf_t v = {0};
        df__crender_t r = {4096, 0};
        char e[256];
        json_t *d;
        int http;
        /* a status a newer writer added (10; 9 is VERSION_MISSING now): kept visible, not a failure */
        memset(&x, 0, sizeof(x));
        x.execution_id = "x1";
        x.workflow = "wf";
        x.status = DF__ES_NONDETERMINISM;
        x.error = "";
        ck_assert_int_eq(df__exec_encode(&x, &v, e, sizeof(e)), 0);
        ck_assert_int_eq(v.data[17], 0x0e); /* zigzag(7) after "x1", "wf", "" */
        v.data[17] = 0x16;                  /* zigzag(11) */
        ck_assert_int_eq(df__cbatch_state(b, "x1", 2, v.data, v.len, 0, off++), 0);
        free(v.data);
        /* garbage: kept aside, counted, the batch goes on */
        ck_assert_int_eq(df__cbatch_state(b, "x2", 2, "\xc3\x01garbage", 9, 0, off++), 0);
        put_exec(b, "x3", DF__ES_RUNNING, 5, NULL, 0);
        put_exec(b, "x4", DF__ES_QUARANTINED, 6, NULL, 0);
        commit(b);
        ck_assert_int_eq(count("status", "STATUS_11"), 1);
        ck_assert_int_eq(count("status", "QUARANTINED"), 1);
        ck_assert_int_eq(count("waiting", "quarantined"), 1);
        ck_assert_int_eq(count("waiting", "unknown"), 1);
        ck_assert_int_eq(count(NULL, "undecodable"), 1);
        ck_assert_int_eq(count(NULL, "total"), 3);
        d = df__cidx_dlq(ix, 10, &r);
        ck_assert_int_eq(json_array_size(json_object_get(d, "undecodable")), 1);
        /* its bytes only for a token holder (they may hold a callback id) */
        ck_assert_ptr_nonnull(json_object_get(json_object_get(json_array_get(json_object_get(d, "undecodable"), 0),
                                                              "value"),
                                              "hidden"));
        json_decref(d);
        r.show_callbacks = 1;
        d = df__cidx_dlq(ix, 10, &r);
        ck_assert_int_eq(json_integer_value(json_object_get(
                                 json_object_get(json_array_get(json_object_get(d, "undecodable"), 0), "value"), "size")),
                         9);
        ck_assert_ptr_null(json_object_get(json_object_get(json_array_get(json_object_get(d, "undecodable"), 0), "value"),
                                           "hidden"));
        json_decref(d);
        r.show_callbacks = 0;
        d = df__cidx_describe(ix, "x1", &r, &http);
        ck_assert_str_eq(json_string_value(json_object_get(d, "status")), "STATUS_11");
        json_decref(d);
        /* purge (a tombstone of the execution record): everything goes */
        put_op(b, "x3", "1", "s", DF__OP_STEP, DF__OS_SUCCEEDED, 1, NULL, 10, 0);
        commit(b);
        ck_assert_int_eq(df__cbatch_state(b, "x3", 2, NULL, 0, 0, off++), 0);
        commit(b);
        ck_assert_int_eq(count(NULL, "total"), 2);
        ck_assert_int_eq(count("status", "RUNNING"), 0);
        ck_assert_ptr_null(df__cidx_describe(ix, "x3", &r, &http));
        df__cbatch_destroy(b);
}
END_TEST

START_TEST(schedule_records_are_not_executions)
{
        /* a schedule's record on <prefix>.state (key "schedule:<name>") is
         * neither an execution nor undecodable; its runs are executions */
        df__cbatch_t *b = df__cbatch_new(ix);
        df__sched_rec_t r;
        df__buf_t v = {0};
        char e[256];
        memset(&r, 0, sizeof(r));
        r.name = "nightly";
        r.cron = "30 2 * * *";
        r.timezone = "Europe/Berlin";
        r.workflow = "order";
        r.last_run_id = "nightly-20261201T013000Z";
        ck_assert_int_eq(df__sched_encode(&r, &v, e, sizeof(e)), 0);
        ck_assert_int_eq(df__cbatch_state(b, "schedule:nightly", 16, v.data, v.len, 0, off++), 0);
        ck_assert_int_eq(df__cbatch_state(b, "schedule:nightly", 16, NULL, 0, 0, off++), 0); /* deleted */
        free(v.data);
        put_exec(b, "nightly-20261201T013000Z", DF__ES_SUCCEEDED, 5, "ok", 0);
        commit(b);
        ck_assert_int_eq(count(NULL, "undecodable"), 0);
        ck_assert_int_eq(count(NULL, "total"), 1);
        df__cbatch_destroy(b);
}
END_TEST

static const char *jget(json_t *o, const char *k)
{
        const char *v = json_string_value(json_object_get(o, k));
        return v ? v : "(none)";
}

/* The programming model in the index: operations depth first with their
 * child counts, what a nested execution waits on (the innermost operation,
 * not the map or branch around it), an invoke's link both ways, the
 * version, VERSION_MISSING as a waiting kind, wait_for_condition's timer. */
START_TEST(nested_versions_and_links)
{
        static const char *const order[] = {"1", "2", "2.1", "2.1.1", "2.2", "2.2.1", "2.10", "2.10.1"};
        df__cbatch_t *b = df__cbatch_new(ix);
        df__crender_t r = {4096, 0};
        json_t *d, *ops, *w, *l;
        int http;
        size_t i;

        /* p1: a map whose second item waits for a callback */
        put_exec_v(b, "p1", DF__ES_SUSPENDED, 3, "", "", 2);
        put_op_n(b, "p1", "1", "", "receive", DF__OP_STEP, DF__OS_SUCCEEDED, 0, NULL, 0);
        put_op_n(b, "p1", "2.10.1", "2.10", "reserve-10", DF__OP_STEP, DF__OS_SUCCEEDED, 0, NULL, 0);
        put_op_n(b, "p1", "2.10", "2", "line-10", DF__OP_CHILD, DF__OS_SUCCEEDED, 1, NULL, 0);
        put_op_n(b, "p1", "2.2.1", "2.2", "approve", DF__OP_CALLBACK, DF__OS_PENDING, 0, NULL, 9000);
        put_op_n(b, "p1", "2.2", "2", "line-2", DF__OP_CHILD, DF__OS_STARTED, 1, NULL, 0);
        put_op_n(b, "p1", "2.1.1", "2.1", "reserve-1", DF__OP_STEP, DF__OS_SUCCEEDED, 0, NULL, 0);
        put_op_n(b, "p1", "2.1", "2", "line-1", DF__OP_CHILD, DF__OS_SUCCEEDED, 1, NULL, 0);
        put_op_n(b, "p1", "2", "", "reserve", DF__OP_MAP, DF__OS_STARTED, 10, NULL, 0);
        /* p2 invoked c1, which runs; v1 lacks its version; w1 polls a condition */
        put_exec_v(b, "p2", DF__ES_SUSPENDED, 1, "", "", 1);
        put_op_n(b, "p2", "1", "", "kid", DF__OP_INVOKE, DF__OS_STARTED, 0, "c1", 0);
        put_exec_v(b, "c1", DF__ES_RUNNING, 1, "p2", "1", 1);
        put_op_n(b, "c1", "1", "", "work", DF__OP_STEP, DF__OS_STARTED, 0, NULL, 0);
        put_exec_v(b, "v1", DF__ES_VERSION_MISSING, 3, "", "", 0);
        put_exec_v(b, "w1", DF__ES_SUSPENDED, 2, "", "", 1);
        put_op_n(b, "w1", "1", "", "poll", DF__OP_CONDITION, DF__OS_PENDING, 0, NULL, 7000);
        commit(b);

        /* what each waits on, as counted */
        ck_assert_int_eq(count("waiting", "callback"), 1);
        ck_assert_int_eq(count("waiting", "child"), 1);    /* p2's invoke; not p1's map nor its item */
        ck_assert_int_eq(count("waiting", "version"), 1);  /* v1 */
        ck_assert_int_eq(count("waiting", "timer"), 1);    /* w1's condition between checks */
        ck_assert_int_eq(count("waiting", "running"), 1);  /* c1's step */
        ck_assert_int_eq(count("waiting", "unknown"), 0);
        ck_assert_int_eq(count("status", "VERSION_MISSING"), 1);

        d = df__cidx_describe(ix, "p1", &r, &http);
        ck_assert_int_eq(http, 200);
        ck_assert_int_eq(json_integer_value(json_object_get(d, "version")), 3);
        ck_assert(json_is_null(json_object_get(d, "parent")));
        ops = json_object_get(d, "operations");
        ck_assert_int_eq(json_array_size(ops), 8);
        for (i = 0; i < 8; i++) /* depth first, numerically: 2.2 before 2.10 */
                ck_assert_str_eq(jget(json_array_get(ops, i), "op_id"), order[i]);
        ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(ops, 1), "child_count")), 10);
        ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(ops, 2), "child_count")), 1);
        ck_assert_str_eq(jget(json_array_get(ops, 5), "parent_id"), "2.2");
        ck_assert_ptr_null(json_object_get(json_array_get(ops, 0), "child_count"));     /* a step opens nothing */
        ck_assert_ptr_null(json_object_get(json_array_get(ops, 1), "child_execution_id"));
        w = json_object_get(d, "waiting");
        ck_assert_int_eq(json_array_size(w), 1);
        ck_assert_str_eq(jget(json_array_get(w, 0), "kind"), "callback");
        ck_assert_str_eq(jget(json_array_get(w, 0), "op_id"), "2.2.1");
        ck_assert_str_eq(jget(json_array_get(w, 0), "name"), "approve");
        ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(w, 0), "due_ms")), 9000);
        json_decref(d);

        d = df__cidx_describe(ix, "p2", &r, &http);
        ops = json_object_get(d, "operations");
        ck_assert_str_eq(jget(json_array_get(ops, 0), "child_execution_id"), "c1");
        ck_assert_int_eq(json_array_size(json_object_get(d, "children")), 1);
        ck_assert_str_eq(jget(json_array_get(json_object_get(d, "children"), 0), "execution_id"), "c1");
        ck_assert_str_eq(jget(json_array_get(json_object_get(d, "children"), 0), "op_id"), "1");
        w = json_array_get(json_object_get(d, "waiting"), 0);
        ck_assert_str_eq(jget(w, "kind"), "child");
        ck_assert_str_eq(jget(w, "type"), "INVOKE");
        ck_assert_str_eq(jget(w, "child_execution_id"), "c1");
        json_decref(d);

        d = df__cidx_describe(ix, "c1", &r, &http);
        ck_assert_str_eq(jget(json_object_get(d, "parent"), "execution_id"), "p2");
        ck_assert_str_eq(jget(json_object_get(d, "parent"), "op_id"), "1");
        ck_assert_int_eq(json_array_size(json_object_get(d, "children")), 0);
        json_decref(d);

        d = df__cidx_describe(ix, "v1", &r, &http);
        ck_assert_str_eq(jget(json_array_get(json_object_get(d, "waiting"), 0), "kind"), "version");
        ck_assert_int_eq(json_integer_value(json_object_get(d, "version")), 3);
        json_decref(d);

        /* the version as a filter (with and without another index) */
        {
                df__cquery_t q;
                char e[256];
                memset(&q, 0, sizeof(q));
                q.status = -1;
                q.waiting = -1;
                q.started_after = INT64_MIN;
                q.started_before = INT64_MAX;
                q.limit = 50;
                q.scan_budget = 1000;
                q.version = 3;
                l = df__cidx_list(ix, &q, &http, e, sizeof(e));
                ck_assert_int_eq(json_array_size(json_object_get(l, "items")), 2); /* p1, v1 */
                for (i = 0; i < 2; i++)
                        ck_assert_int_eq(json_integer_value(json_object_get(
                                                 json_array_get(json_object_get(l, "items"), i), "version")),
                                         3);
                json_decref(l);
                q.status = DF__ES_SUSPENDED;
                l = df__cidx_list(ix, &q, &http, e, sizeof(e));
                ck_assert_int_eq(json_array_size(json_object_get(l, "items")), 1);
                ck_assert_str_eq(jget(json_array_get(json_object_get(l, "items"), 0), "execution_id"), "p1");
                json_decref(l);
        }

        /* the callback completes, the item and the map end: nothing waits inside, p1 runs on */
        put_op_n(b, "p1", "2.2.1", "2.2", "approve", DF__OP_CALLBACK, DF__OS_SUCCEEDED, 0, NULL, 0);
        commit(b);
        ck_assert_int_eq(count("waiting", "callback"), 0);
        ck_assert_int_eq(count("waiting", "child"), 2); /* the item 2.2 (nothing inside it waits) and p2's invoke */
        put_op_n(b, "p1", "2.2", "2", "line-2", DF__OP_CHILD, DF__OS_SUCCEEDED, 1, NULL, 0);
        put_op_n(b, "p1", "2", "", "reserve", DF__OP_MAP, DF__OS_SUCCEEDED, 10, NULL, 0);
        put_exec_v(b, "p1", DF__ES_SUCCEEDED, 3, "", "", 2);
        commit(b);
        ck_assert_int_eq(count("waiting", "child"), 1);
        ck_assert_int_eq(count("waiting", "unknown"), 0);
        df__cbatch_destroy(b);
}
END_TEST

START_TEST(cursor_pages_without_duplicates)
{
        df__cbatch_t *b = df__cbatch_new(ix);
        json_t *l, *cur = NULL, *seen = json_object();
        int i, pages = 0, total = 0;
        int64_t prev = INT64_MAX;
        for (i = 0; i < 120; i++) {
                char id[32];
                snprintf(id, sizeof(id), "e-%03d", i);
                put_exec(b, id, i % 2 ? DF__ES_SUCCEEDED : DF__ES_FAILED, 1000 + i / 3, NULL, 0);
        }
        commit(b);
        do {
                size_t k;
                json_t *it;
                l = list(NULL, NULL, NULL, 50, cur);
                json_array_foreach(json_object_get(l, "items"), k, it)
                {
                        const char *id = json_string_value(json_object_get(it, "execution_id"));
                        int64_t c = json_integer_value(json_object_get(it, "created_ms"));
                        ck_assert_msg(!json_object_get(seen, id), "%s twice", id);
                        ck_assert(c <= prev);
                        prev = c;
                        json_object_set_new(seen, id, json_true());
                        total++;
                }
                json_decref(cur);
                cur = json_incref(json_object_get(l, "next_cursor"));
                json_decref(l);
                pages++;
        } while (json_is_string(cur) && pages < 10);
        ck_assert_int_eq(total, 120);
        ck_assert_int_eq(pages, 3);
        json_decref(cur);
        /* a status-filtered listing */
        l = list("FAILED", NULL, NULL, 500, NULL);
        ck_assert_int_eq(json_array_size(json_object_get(l, "items")), 60);
        /* its cursor does not fit the unfiltered listing */
        json_decref(l);
        l = list("FAILED", NULL, NULL, 10, NULL);
        {
                df__cquery_t q;
                df__buf_t c = {0};
                char e[256];
                int http = 0;
                memset(&q, 0, sizeof(q));
                q.status = -1;
                q.waiting = -1;
                q.started_after = INT64_MIN;
                q.started_before = INT64_MAX;
                q.limit = 10;
                q.scan_budget = 1000;
                ck_assert_int_eq(df__b64url_decode(json_string_value(json_object_get(l, "next_cursor")), &c), 0);
                q.cursor = c.data;
                q.cursor_len = c.len;
                ck_assert_ptr_null(df__cidx_list(ix, &q, &http, e, sizeof(e)));
                ck_assert_int_eq(http, 400);
                ck_assert_ptr_nonnull(strstr(e, "cursor"));
                free(c.data);
        }
        json_decref(l);
        json_decref(seen);
        df__cbatch_destroy(b);
}
END_TEST

START_TEST(wipe_empties_the_index)
{
        df__cbatch_t *b = df__cbatch_new(ix);
        char e[256];
        put_exec(b, "w1", DF__ES_RUNNING, 5, NULL, 0);
        commit(b);
        ck_assert_int_eq(count(NULL, "total"), 1);
        ck_assert_int_eq(df__cidx_wipe(ix, e, sizeof(e)), 0);
        ck_assert_int_eq(count(NULL, "total"), 0);
        ck_assert_int_eq(df__cidx_offset(ix, 's', 0), -1);
        df__cbatch_destroy(b);
}
END_TEST

START_TEST(dead_letters)
{
        df__cbatch_t *b = df__cbatch_new(ix);
        df__crender_t r = {4096, 0};
        df__dlq_rec_t d;
        df__buf_t v = {0};
        char e[256];
        json_t *l, *it;
        memset(&d, 0, sizeof(d));
        d.topic = "p.events";
        d.partition = 2;
        d.offset = 41;
        d.key.data = (uint8_t *)"order-9";
        d.key.len = 7;
        d.value.data = (uint8_t *)"not avro";
        d.value.len = 8;
        d.error = "Event decode: bad marker 6e 6f";
        d.ts_ms = 5000;
        ck_assert_int_eq(df__dlq_encode(&d, &v, e, sizeof(e)), 0);
        ck_assert_int_eq(df__cbatch_dlq(b, "order-9", 7, v.data, v.len, 0, 0, 5000), 0);
        /* not a DeadLetter record at all: kept as what arrived */
        ck_assert_int_eq(df__cbatch_dlq(b, "k", 1, "junk", 4, 0, 1, 6000), 0);
        df__cbatch_offset(b, 'd', 0, 2);
        commit(b);
        free(v.data);
        ck_assert_int_eq(count(NULL, "dlq"), 2);
        ck_assert_int_eq(df__cidx_offset(ix, 'd', 0), 2);
        l = df__cidx_dlq(ix, 10, &r);
        ck_assert_int_eq(json_array_size(json_object_get(l, "items")), 2);
        it = json_array_get(json_object_get(l, "items"), 1); /* newest first: the DeadLetter is second */
        ck_assert_str_eq(json_string_value(json_object_get(it, "topic")), "p.events");
        ck_assert_int_eq(json_integer_value(json_object_get(it, "offset")), 41);
        ck_assert_str_eq(json_string_value(json_object_get(it, "error")), "Event decode: bad marker 6e 6f");
        ck_assert_str_eq(json_string_value(json_object_get(json_object_get(it, "key"), "text")), "order-9");
        it = json_array_get(json_object_get(l, "items"), 0);
        ck_assert_str_eq(json_string_value(json_object_get(it, "topic")), "dlq");
        json_decref(l);
        df__cbatch_destroy(b);
}
END_TEST

START_TEST(payload_rendering)
{
        json_t *p = df__cpayload_json("h\xc3\xa9llo", 6, 2);
        /* cut on a character boundary, never inside é */
        ck_assert_str_eq(json_string_value(json_object_get(p, "text")), "h");
        ck_assert(json_is_true(json_object_get(p, "truncated")));
        json_decref(p);
        p = df__cpayload_json("\xff\x00\x01", 3, 100);
        ck_assert_str_eq(json_string_value(json_object_get(p, "encoding")), "base64");
        ck_assert_str_eq(json_string_value(json_object_get(p, "text")), "/wAB");
        json_decref(p);
}
END_TEST

/* ---- the same records, applied record by record, coalesced in one
 * batch, and by two threads: the same index, key for key ---- */

typedef struct trec {
        char key[128];
        df__buf_t v; /* data NULL: a tombstone */
        int part;
        int64_t off;
} trec_t;

#define EQ_EXECS 36
#define EQ_PARTS 4
static trec_t eq_recs[EQ_EXECS * 16];
static int eq_n;
static int64_t eq_next[EQ_PARTS];

static void eq_add(const char *key, const df__buf_t *v, int part)
{
        trec_t *r = &eq_recs[eq_n++];
        ck_assert_int_lt(eq_n, (int)(sizeof(eq_recs) / sizeof(eq_recs[0])));
        snprintf(r->key, sizeof(r->key), "%s", key);
        r->v.data = NULL;
        r->v.len = 0;
        if (v) {
                r->v.data = malloc(v->len);
                ck_assert_ptr_nonnull(r->v.data);
                memcpy(r->v.data, v->data, v->len);
                r->v.len = v->len;
        }
        r->part = part;
        r->off = eq_next[part]++;
}

static void eq_exec(const char *id, int part, int status, const char *output, int64_t t)
{
        df__exec_rec_t x;
        df__buf_t v = {0};
        char e[256];
        memset(&x, 0, sizeof(x));
        x.execution_id = (char *)id;
        x.workflow = part % 2 ? "order" : "refund";
        x.status = status;
        x.error = status == DF__ES_FAILED ? "boom" : "";
        x.output.data = (uint8_t *)output;
        x.output.len = output ? strlen(output) : 0;
        x.created_ms = 1000;
        x.updated_ms = t;
        x.op_count = 3;
        ck_assert_msg(df__exec_encode(&x, &v, e, sizeof(e)) == 0, "%s", e);
        eq_add(id, &v, part);
        free(v.data);
}

static void eq_op(const char *id, int part, const char *op_id, const char *parent, int type, int status, int attempt,
                  const char *error, int64_t t, int64_t due)
{
        df__op_rec_t o;
        df__buf_t v = {0};
        char e[256], key[128];
        memset(&o, 0, sizeof(o));
        o.execution_id = (char *)id;
        o.op_id = (char *)op_id;
        o.parent_id = (char *)parent;
        o.name = type == DF__OP_CALLBACK ? "payment" : type == DF__OP_CHILD ? "branch" : "reserve";
        o.type = type;
        o.status = status;
        o.attempt = attempt;
        o.error = (char *)(error ? error : "");
        o.started_ms = 1000;
        o.updated_ms = t;
        o.due_ms = due;
        o.callback_id = type == DF__OP_CALLBACK ? "0123456789abcdef0123456789abcdef_3_x" : "";
        ck_assert_msg(df__op_encode(&o, &v, e, sizeof(e)) == 0, "%s", e);
        snprintf(key, sizeof(key), "%s/%s", id, op_id);
        eq_add(key, &v, part);
        free(v.data);
}

/* Execution i's records, in the order a worker writes them; the records of
 * the executions of one partition interleaved. */
static void eq_generate(void)
{
        int i, step;
        eq_n = 0;
        memset(eq_next, 0, sizeof(eq_next));
        for (step = 0; step < 9; step++)
                for (i = 0; i < EQ_EXECS; i++) {
                        char id[32], k[64];
                        int part = i % EQ_PARTS;
                        int64_t t = 2000 + step * 100 + i;
                        snprintf(id, sizeof(id), "eq-%03d", i);
                        switch (step) {
                        case 0:
                                eq_op(id, part, "1", "", DF__OP_STEP, DF__OS_STARTED, 1, NULL, t, 0);
                                eq_exec(id, part, DF__ES_RUNNING, NULL, t);
                                break;
                        case 1: /* a retry backoff, then the second attempt */
                                eq_op(id, part, "1", "", DF__OP_STEP, DF__OS_PENDING, 1, "timeout", t, t + 500);
                                if (i % 3 == 0)
                                        eq_op(id, part, "1", "", DF__OP_STEP, DF__OS_STARTED, 2, NULL, t + 1, 0);
                                break;
                        case 2:
                                eq_op(id, part, "1", "", DF__OP_STEP, DF__OS_SUCCEEDED, 2, NULL, t, 0);
                                eq_op(id, part, "2", "", DF__OP_CALLBACK, DF__OS_STARTED, 0, NULL, t, t + 60000);
                                eq_exec(id, part, DF__ES_SUSPENDED, NULL, t);
                                break;
                        case 3: /* a heartbeat: no new version */
                                eq_op(id, part, "2", "", DF__OP_CALLBACK, DF__OS_STARTED, 0, NULL, t + 7, t + 60000);
                                if (i % 4 == 1) { /* a child context with a wait inside */
                                        eq_op(id, part, "3", "", DF__OP_CHILD, DF__OS_STARTED, 0, NULL, t, 0);
                                        eq_op(id, part, "3.1", "3", DF__OP_WAIT, DF__OS_PENDING, 0, NULL, t, t + 9000);
                                }
                                break;
                        case 4:
                                if (i % 5 == 0) {
                                        eq_op(id, part, "2", "", DF__OP_CALLBACK, DF__OS_SUCCEEDED, 0, NULL, t, 0);
                                        eq_exec(id, part, DF__ES_SUCCEEDED, "{\"outcome\":\"shipped\"}", t);
                                } else if (i % 5 == 1) {
                                        eq_op(id, part, "2", "", DF__OP_CALLBACK, DF__OS_TIMED_OUT, 0, "timed out", t,
                                              0);
                                        eq_exec(id, part, DF__ES_FAILED, NULL, t);
                                } else if (i % 5 == 2) {
                                        eq_exec(id, part, DF__ES_PAUSED, NULL, t);
                                }
                                break;
                        case 5: /* purged: tombstones of its operations, then of it */
                                if (i % 5 == 0 && i % 2 == 0) {
                                        snprintf(k, sizeof(k), "%s/1", id);
                                        eq_add(k, NULL, part);
                                        snprintf(k, sizeof(k), "%s/2", id);
                                        eq_add(k, NULL, part);
                                        eq_add(id, NULL, part);
                                }
                                if (i % 5 == 2)
                                        eq_exec(id, part, DF__ES_SUSPENDED, NULL, t);
                                break;
                        case 6: /* the same id started again after its purge */
                                if (i % 10 == 0) {
                                        eq_op(id, part, "1", "", DF__OP_STEP, DF__OS_STARTED, 1, NULL, t, 0);
                                        eq_exec(id, part, DF__ES_RUNNING, NULL, t);
                                }
                                if (i == 7) /* and one record no console can read */
                                        eq_add("eq-007/9", &(df__buf_t){(uint8_t *)"\xc3\x01zz", 4}, part);
                                break;
                        case 7:
                                if (i % 4 == 1 && i % 5 > 1)
                                        eq_op(id, part, "3.1", "3", DF__OP_WAIT, DF__OS_SUCCEEDED, 0, NULL, t, 0);
                                break;
                        case 8:
                                if (i % 4 == 1 && i % 5 > 1) {
                                        eq_op(id, part, "3", "", DF__OP_CHILD, DF__OS_SUCCEEDED, 0, NULL, t, 0);
                                        snprintf(k, sizeof(k), "%s/3.1", id); /* an operation's tombstone */
                                        eq_add(k, NULL, part);
                                }
                                break;
                        }
                }
}

/* Partition part's records from *pos on, at most n (n < 0: all) into b. */
static void eq_feed(df__cbatch_t *b, int part, int *pos, int n)
{
        for (; *pos < eq_n && n; (*pos)++) {
                trec_t *r = &eq_recs[*pos];
                if (r->part != part)
                        continue;
                ck_assert_int_eq(df__cbatch_state(b, r->key, strlen(r->key), r->v.data, r->v.len, r->part, r->off),
                                 0);
                df__cbatch_offset(b, 's', r->part, r->off + 1);
                if (n > 0)
                        n--;
        }
}

struct eq_thread {
        df__cidx_t *ix;
        int first, step, batch;
};

/* Partitions first, first + step, ... in turn, batch records of one at a
 * time, a commit every batch records. */
static void *eq_thread(void *p)
{
        struct eq_thread *a = p;
        df__cbatch_t *b = df__cbatch_new(a->ix);
        int pos[EQ_PARTS] = {0}, part, more = 1;
        char e[256];
        ck_assert_ptr_nonnull(b);
        while (more) {
                more = 0;
                for (part = a->first; part < EQ_PARTS; part += a->step) {
                        eq_feed(b, part, &pos[part], a->batch);
                        ck_assert_int_eq(df__cbatch_commit(b, e, sizeof(e)), 0);
                        if (pos[part] < eq_n)
                                more = 1;
                }
        }
        df__cbatch_destroy(b);
        return NULL;
}

/* Every key and value of the index at path ('Z' values carry the time they
 * were kept: their keys only), as one string. */
static char *eq_dump(const char *path)
{
        rocksdb_options_t *o = rocksdb_options_create();
        rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
        char *err = NULL, *out = NULL;
        size_t n = 0, keys = 0;
        FILE *f = open_memstream(&out, &n);
        rocksdb_t *db = rocksdb_open_for_read_only(o, path, 0, &err);
        rocksdb_iterator_t *it;
        ck_assert_msg(db != NULL, "%s", err ? err : "open");
        it = rocksdb_create_iterator(db, ro);
        for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
                size_t kl, vl, i;
                const char *k = rocksdb_iter_key(it, &kl), *v = rocksdb_iter_value(it, &vl);
                for (i = 0; i < kl; i++)
                        fprintf(f, "%02x", (unsigned char)k[i]);
                fputc('=', f);
                for (i = 0; k[0] != 'Z' && i < vl; i++)
                        fprintf(f, "%02x", (unsigned char)v[i]);
                fputc('\n', f);
                keys++;
        }
        rocksdb_iter_destroy(it);
        rocksdb_close(db);
        rocksdb_options_destroy(o);
        rocksdb_readoptions_destroy(ro);
        fclose(f);
        ck_assert_uint_gt(keys, 500);
        return out;
}

/* Two dumps are equal; else the first line that differs. */
static void eq_same(const char *a, const char *b, const char *what)
{
        size_t line = 1;
        const char *la = a, *lb = b;
        while (*a && *a == *b) {
                if (*a == '\n') {
                        line++;
                        la = a + 1;
                        lb = b + 1;
                }
                a++;
                b++;
        }
        ck_assert_msg(!*a && !*b, "%s: entry %zu differs: %.200s <> %.200s", what, line, la, lb);
}

/* A fresh index in a directory of its own; *path malloc'd. */
static df__cidx_t *eq_open(char **path)
{
        char e[256];
        df__cidx_t *x;
        *path = malloc(300);
        snprintf(*path, 300, "%s/console-eq-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        ck_assert_ptr_nonnull(mkdtemp(*path));
        x = df__cidx_open(*path, "outcome", e, sizeof(e));
        ck_assert_msg(x != NULL, "%s", e);
        return x;
}

START_TEST(batching_and_threads_give_one_index)
{
        /* the same records: one per batch (each execution read back from
         * the store at every record), all in one batch (each execution read
         * once, its keys written once), and two threads over two
         * partitions each, 5 records a batch */
        char *p1, *p2, *p3, *d1, *d2, *d3, e[256];
        df__cidx_t *x1, *x2, *x3;
        df__cbatch_t *b;
        pthread_t th[2];
        struct eq_thread a[2];
        int i, part;

        eq_generate();
        x1 = eq_open(&p1);
        b = df__cbatch_new(x1);
        for (i = 0; i < eq_n; i++) {
                int pos = i;
                eq_feed(b, eq_recs[i].part, &pos, 1);
                ck_assert_int_eq(df__cbatch_commit(b, e, sizeof(e)), 0);
        }
        df__cbatch_destroy(b);

        x2 = eq_open(&p2);
        b = df__cbatch_new(x2);
        for (part = 0; part < EQ_PARTS; part++) {
                int pos = 0;
                eq_feed(b, part, &pos, -1);
        }
        ck_assert_int_eq((int)df__cbatch_size(b), eq_n);
        ck_assert_int_eq(df__cbatch_commit(b, e, sizeof(e)), 0);
        df__cbatch_destroy(b);

        x3 = eq_open(&p3);
        for (i = 0; i < 2; i++) {
                a[i].ix = x3;
                a[i].first = i;
                a[i].step = 2;
                a[i].batch = 5;
                ck_assert_int_eq(pthread_create(&th[i], NULL, eq_thread, &a[i]), 0);
        }
        for (i = 0; i < 2; i++)
                pthread_join(th[i], NULL);

        ck_assert_int_eq(df__cidx_counter(x1, "A"), EQ_EXECS);
        ck_assert_int_eq(df__cidx_counter(x1, "Z"), 1);
        df__cidx_close(x1);
        df__cidx_close(x2);
        df__cidx_close(x3);
        d1 = eq_dump(p1);
        d2 = eq_dump(p2);
        d3 = eq_dump(p3);
        eq_same(d1, d2, "one batch against one record per batch");
        eq_same(d1, d3, "two threads against one record per batch");
        free(d1);
        free(d2);
        free(d3);
        nftw(p1, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        nftw(p2, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        nftw(p3, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        free(p1);
        free(p2);
        free(p3);
        for (i = 0; i < eq_n; i++)
                free(eq_recs[i].v.data);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("console_index");
        TCase *tc = tcase_create("index");
        SRunner *sr;
        int nf;
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, b64_input_longer_than_a_cursor);
        tcase_add_test(tc, secondary_keys_follow_changes);
        tcase_add_test(tc, attempts_and_point_of_failure);
        tcase_add_test(tc, unknown_status_undecodable_and_purge);
        tcase_add_test(tc, schedule_records_are_not_executions);
        tcase_add_test(tc, nested_versions_and_links);
        tcase_add_test(tc, cursor_pages_without_duplicates);
        tcase_add_test(tc, wipe_empties_the_index);
        tcase_add_test(tc, dead_letters);
        tcase_add_test(tc, payload_rendering);
        tcase_add_test(tc, batching_and_threads_give_one_index);
        suite_add_tcase(s, tc);
        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        nf = srunner_ntests_failed(sr);
        srunner_free(sr);
        return nf ? 1 : 0;
}
