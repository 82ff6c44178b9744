/*
 * test_records.c -- the public record-inspection API (duraflow/records.h).
 *
 * Records of every type are written with the framework's own encoders (as
 * the workers, the timer service and the client write them: this test
 * includes framework/src/codec.h for that, and only for that), then read
 * back through the public API: every field as written, hostile bytes
 * (truncated, trailing, unknown fingerprint, invalid UTF-8, another record
 * type, out-of-range enums) refused with DF_ERR_CODEC and a message, never a
 * crash; the encoders (a start event, execution and operation records)
 * check their arguments, refuse what no worker writes, and write what the
 * workers decode.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "duraflow/records.h"

#define ERRSZ 512

static df__buf_t enc_event(const df__event_t *ev)
{
        df__buf_t b = {0};
        char e[ERRSZ];
        ck_assert_msg(df__event_encode(ev, &b, e, sizeof(e)) == 0, "%s", e);
        return b;
}

static df__event_t callback_event(void)
{
        df__event_t ev;
        memset(&ev, 0, sizeof(ev));
        ev.type = DF__EV_CALLBACK;
        ev.execution_id = "order-1";
        ev.workflow = "";
        ev.input.data = (uint8_t *)"pay\0load";
        ev.input.len = 8;
        ev.op_id = "3";
        ev.callback_id = "0123456789abcdef0123456789abcdef_3_order-1";
        ev.callback_kind = DF__CB_FAILURE;
        ev.error = "card declined \xe2\x80\xae";
        ev.request_id = "req-7";
        ev.ts_ms = 1767268800123LL;
        return ev;
}

START_TEST(test_event)
{
        df__event_t ev = callback_event();
        df__buf_t b = enc_event(&ev);
        df_event_info_t *x = NULL;
        char e[ERRSZ];

        ck_assert_int_eq(df_record_type(b.data, b.len), DF_RECORD_EVENT);
        ck_assert_str_eq(df_record_type_name(df_record_type(b.data, b.len)), "EVENT");
        ck_assert_int_eq(df_record_decode_event(b.data, b.len, &x, e, sizeof(e)), DF_OK);
        ck_assert_int_eq(x->type, DF_EVENT_CALLBACK);
        ck_assert_str_eq(df_event_type_name(x->type), "CALLBACK");
        ck_assert_str_eq(x->execution_id, "order-1");
        ck_assert_str_eq(x->workflow, "");
        ck_assert_uint_eq(x->input.len, 8);
        ck_assert(!memcmp(x->input.data, "pay\0load", 8));
        ck_assert_str_eq(x->op_id, "3");
        ck_assert_str_eq(x->callback_id, "0123456789abcdef0123456789abcdef_3_order-1");
        ck_assert_int_eq(x->callback_outcome, DF_CALLBACK_FAILURE);
        ck_assert_str_eq(x->error, "card declined \xe2\x80\xae");
        ck_assert_str_eq(x->request_id, "req-7");
        ck_assert_int_eq(x->ts_ms, 1767268800123LL);
        df_event_info_destroy(x);

        /* a timer event's fields */
        memset(&ev, 0, sizeof(ev));
        ev.type = DF__EV_TIMER;
        ev.execution_id = "order-2";
        ev.op_id = "4";
        ev.seq = 9;
        ev.timer_kind = DF__TK_CB_HEARTBEAT;
        free(b.data);
        b = enc_event(&ev);
        ck_assert_int_eq(df_record_decode_event(b.data, b.len, &x, e, sizeof(e)), DF_OK);
        ck_assert_int_eq(x->type, DF_EVENT_TIMER);
        ck_assert_int_eq(x->seq, 9);
        ck_assert_int_eq(x->timer_kind, DF_TIMER_KIND_HEARTBEAT_TIMEOUT);
        ck_assert_str_eq(df_timer_kind_name(x->timer_kind), "HEARTBEAT_TIMEOUT");
        ck_assert_str_eq(x->workflow, ""); /* never NULL */
        ck_assert_str_eq(x->callback_id, "");
        df_event_info_destroy(x);
        free(b.data);
        df_event_info_destroy(NULL);
}
END_TEST

START_TEST(test_execution_and_operation)
{
        df__exec_rec_t r;
        df__op_rec_t o;
        df__buf_t b = {0};
        df_exec_info_t *x = NULL;
        df_op_info_t *op = NULL;
        char e[ERRSZ];

        memset(&r, 0, sizeof(r));
        r.execution_id = "order-3";
        r.workflow = "orders";
        r.input.data = (uint8_t *)"in";
        r.input.len = 2;
        r.status = DF__ES_FAILED;
        r.error = "boom";
        r.created_ms = 10;
        r.updated_ms = 20;
        r.op_count = 4;
        ck_assert_msg(df__exec_encode(&r, &b, e, sizeof(e)) == 0, "%s", e);
        ck_assert_int_eq(df_record_type(b.data, b.len), DF_RECORD_EXECUTION);
        ck_assert_int_eq(df_record_decode_execution(b.data, b.len, &x, e, sizeof(e)), DF_OK);
        ck_assert_str_eq(x->execution_id, "order-3");
        ck_assert_str_eq(x->workflow, "orders");
        ck_assert_int_eq(x->status, DF_EXEC_FAILED);
        ck_assert_uint_eq(x->input.len, 2);
        ck_assert_uint_eq(x->output.len, 0);
        ck_assert_str_eq(x->error, "boom");
        ck_assert_int_eq(x->created_ms, 10);
        ck_assert_int_eq(x->updated_ms, 20);
        ck_assert_int_eq(x->op_count, 4);
        df_exec_info_destroy(x);
        /* an execution record is not an operation */
        ck_assert_int_eq(df_record_decode_operation(b.data, b.len, &op, e, sizeof(e)), DF_ERR_CODEC);
        ck_assert_ptr_null(op);
        ck_assert_msg(strstr(e, "not a valid operation record") != NULL, "%s", e);
        free(b.data);

        memset(&o, 0, sizeof(o));
        o.execution_id = "order-3";
        o.op_id = "2";
        o.name = "reserve";
        o.type = DF__OP_CALLBACK;
        o.status = DF__OS_SUCCEEDED;
        o.attempt = 2;
        o.result.data = (uint8_t *)"\x00\x01";
        o.result.len = 2;
        o.started_ms = 30;
        o.updated_ms = 40;
        o.due_ms = 50;
        o.callback_id = "cb";
        ck_assert_msg(df__op_encode(&o, &b, e, sizeof(e)) == 0, "%s", e);
        ck_assert_int_eq(df_record_type(b.data, b.len), DF_RECORD_OPERATION);
        ck_assert_int_eq(df_record_decode_operation(b.data, b.len, &op, e, sizeof(e)), DF_OK);
        ck_assert_str_eq(op->execution_id, "order-3");
        ck_assert_str_eq(op->op_id, "2");
        ck_assert_str_eq(op->parent_id, "");
        ck_assert_str_eq(op->name, "reserve");
        ck_assert_int_eq(op->type, DF_OP_TYPE_CALLBACK);
        ck_assert_int_eq(op->status, DF_OP_STATUS_SUCCEEDED);
        ck_assert_int_eq(op->attempt, 2);
        ck_assert_uint_eq(op->result.len, 2);
        ck_assert(!memcmp(op->result.data, "\x00\x01", 2));
        ck_assert_str_eq(op->error, "");
        ck_assert_int_eq(op->started_ms, 30);
        ck_assert_int_eq(op->updated_ms, 40);
        ck_assert_int_eq(op->due_ms, 50);
        ck_assert_str_eq(op->callback_id, "cb");
        df_op_info_destroy(op);
        df_op_info_destroy(NULL);
        free(b.data);
}
END_TEST

START_TEST(test_timer_result_dead_letter)
{
        df__timer_rec_t t;
        df__result_rec_t r;
        df__dlq_rec_t d;
        df__buf_t b = {0};
        df_timer_info_t *ti = NULL;
        df_result_info_t *ri = NULL;
        df_dead_letter_t *di = NULL;
        char e[ERRSZ];

        memset(&t, 0, sizeof(t));
        t.timer_id = "svc:1";
        t.due_ms = 123456;
        t.topic = "target";
        t.key.data = (uint8_t *)"k";
        t.key.len = 1;
        t.payload.data = (uint8_t *)"p";
        t.payload.len = 1;
        t.created_ms = 7;
        ck_assert_msg(df__timer_encode(&t, &b, e, sizeof(e)) == 0, "%s", e);
        ck_assert_int_eq(df_record_type(b.data, b.len), DF_RECORD_TIMER);
        ck_assert_int_eq(df_record_decode_timer(b.data, b.len, &ti, e, sizeof(e)), DF_OK);
        ck_assert_str_eq(ti->timer_id, "svc:1");
        ck_assert_int_eq(ti->due_ms, 123456);
        ck_assert_str_eq(ti->topic, "target");
        ck_assert(ti->key.len == 1 && ti->key.data[0] == 'k');
        ck_assert(ti->payload.len == 1 && ti->payload.data[0] == 'p');
        ck_assert_int_eq(ti->created_ms, 7);
        df_timer_info_destroy(ti);
        free(b.data);

        memset(&r, 0, sizeof(r));
        r.kind = DF__RK_REPLY;
        r.execution_id = "order-4";
        r.request_id = "req-1";
        r.code = DF_ERR_CONFLICT;
        r.error = "different input";
        r.ts_ms = 99;
        ck_assert_msg(df__result_encode(&r, &b, e, sizeof(e)) == 0, "%s", e);
        ck_assert_int_eq(df_record_type(b.data, b.len), DF_RECORD_RESULT);
        ck_assert_int_eq(df_record_decode_result(b.data, b.len, &ri, e, sizeof(e)), DF_OK);
        ck_assert_int_eq(ri->kind, DF_RESULT_REPLY);
        ck_assert_str_eq(ri->execution_id, "order-4");
        ck_assert_str_eq(ri->request_id, "req-1");
        ck_assert_int_eq(ri->code, DF_ERR_CONFLICT);
        ck_assert_str_eq(ri->error, "different input");
        ck_assert_int_eq(ri->ts_ms, 99);
        df_result_info_destroy(ri);
        free(b.data);
        r.kind = DF__RK_RESULT;
        r.status = DF__ES_SUCCEEDED;
        r.code = 0;
        r.output.data = (uint8_t *)"out";
        r.output.len = 3;
        ck_assert_msg(df__result_encode(&r, &b, e, sizeof(e)) == 0, "%s", e);
        ck_assert_int_eq(df_record_decode_result(b.data, b.len, &ri, e, sizeof(e)), DF_OK);
        ck_assert_int_eq(ri->kind, DF_RESULT_TERMINAL);
        ck_assert_int_eq(ri->status, DF_EXEC_SUCCEEDED);
        ck_assert(ri->output.len == 3 && !memcmp(ri->output.data, "out", 3));
        df_result_info_destroy(ri);
        free(b.data);

        /* a dead letter keeps the hostile original as it was, with its origin */
        memset(&d, 0, sizeof(d));
        d.topic = "p.events";
        d.partition = 2;
        d.offset = 4711;
        d.key.data = (uint8_t *)"victim-1";
        d.key.len = 8;
        d.value.data = (uint8_t *)"\xc3\x01\xde\xad\x1b[2J";
        d.value.len = 8;
        d.error = "unknown schema fingerprint";
        d.ts_ms = 5;
        ck_assert_msg(df__dlq_encode(&d, &b, e, sizeof(e)) == 0, "%s", e);
        ck_assert_int_eq(df_record_type(b.data, b.len), DF_RECORD_DEAD_LETTER);
        ck_assert_int_eq(df_record_decode_dead_letter(b.data, b.len, &di, e, sizeof(e)), DF_OK);
        ck_assert_str_eq(di->topic, "p.events");
        ck_assert_int_eq(di->partition, 2);
        ck_assert_int_eq(di->offset, 4711);
        ck_assert(di->key.len == 8 && !memcmp(di->key.data, "victim-1", 8));
        ck_assert(di->value.len == 8 && !memcmp(di->value.data, "\xc3\x01\xde\xad\x1b[2J", 8));
        ck_assert_str_eq(di->error, "unknown schema fingerprint");
        ck_assert_int_eq(di->ts_ms, 5);
        /* the original value is not itself a record */
        ck_assert_int_eq(df_record_type(di->value.data, di->value.len), DF_RECORD_UNKNOWN);
        df_dead_letter_destroy(di);
        df_timer_info_destroy(NULL);
        df_result_info_destroy(NULL);
        df_dead_letter_destroy(NULL);
        free(b.data);
}
END_TEST

START_TEST(test_hostile_bytes_refused)
{
        df__event_t ev = callback_event();
        df__buf_t b = enc_event(&ev);
        df_event_info_t *x = (df_event_info_t *)1;
        df_exec_info_t *xi = (df_exec_info_t *)1;
        uint8_t *copy = malloc(b.len + 1);
        char e[ERRSZ];
        size_t i;

        /* arguments */
        ck_assert_int_eq(df_record_decode_event(b.data, b.len, NULL, e, sizeof(e)), DF_ERR_INVALID_ARG);
        ck_assert_int_eq(df_record_decode_event(NULL, 5, &x, e, sizeof(e)), DF_ERR_INVALID_ARG);
        ck_assert_ptr_null(x);
        ck_assert_int_eq(df_record_decode_event(NULL, 0, &x, e, sizeof(e)), DF_ERR_CODEC);
        ck_assert_ptr_null(x);
        ck_assert_int_eq(df_record_type(NULL, 0), DF_RECORD_UNKNOWN);
        /* another record type */
        e[0] = '\0';
        ck_assert_int_eq(df_record_decode_execution(b.data, b.len, &xi, e, sizeof(e)), DF_ERR_CODEC);
        ck_assert_ptr_null(xi);
        ck_assert_msg(strstr(e, "not a valid execution record: ") != NULL, "%s", e);
        /* every truncation */
        for (i = 0; i < b.len; i++) {
                x = (df_event_info_t *)1;
                ck_assert_msg(df_record_decode_event(b.data, i, &x, e, sizeof(e)) == DF_ERR_CODEC,
                              "truncated to %zu bytes decoded", i);
                ck_assert_ptr_null(x);
        }
        /* a trailing byte */
        memcpy(copy, b.data, b.len);
        copy[b.len] = 0;
        ck_assert_int_eq(df_record_decode_event(copy, b.len + 1, &x, e, sizeof(e)), DF_ERR_CODEC);
        /* an unknown fingerprint */
        memcpy(copy, b.data, b.len);
        memcpy(copy + 2, "\xde\xad\xbe\xef\x01\x02\x03\x04", 8);
        ck_assert_int_eq(df_record_type(copy, b.len), DF_RECORD_UNKNOWN);
        e[0] = '\0';
        ck_assert_int_eq(df_record_decode_event(copy, b.len, &x, e, sizeof(e)), DF_ERR_CODEC);
        ck_assert_msg(strstr(e, "not a valid event record: ") != NULL && strlen(e) > 28, "%s", e);
        /* invalid UTF-8 in a string: "order-1" -> "order\xc3\x28" */
        memcpy(copy, b.data, b.len);
        for (i = 10; i + 7 <= b.len; i++)
                if (!memcmp(copy + i, "order-1", 7)) {
                        copy[i + 5] = 0xc3;
                        copy[i + 6] = 0x28;
                        break;
                }
        ck_assert_uint_lt(i + 7, b.len + 1);
        e[0] = '\0';
        ck_assert_int_eq(df_record_decode_event(copy, b.len, &x, e, sizeof(e)), DF_ERR_CODEC);
        ck_assert_msg(strstr(e, "UTF-8") != NULL, "%s", e);
        /* an event type out of range: the first body byte is the zig-zag int */
        memcpy(copy, b.data, b.len);
        copy[10] = 2 * 40;
        ck_assert_int_eq(df_record_decode_event(copy, b.len, &x, e, sizeof(e)), DF_ERR_CODEC);
        ck_assert_ptr_null(x);
        free(copy);
        free(b.data);
        ck_assert_str_eq(df_record_type_name((df_record_type_t)99), "UNKNOWN");
        ck_assert_str_eq(df_event_type_name((df_event_type_t)-1), "UNKNOWN");
        ck_assert_str_eq(df_timer_kind_name((df_timer_kind_t)5), "RETENTION");
        ck_assert_str_eq(df_timer_kind_name((df_timer_kind_t)6), "UNKNOWN");
        ck_assert_str_eq(df_event_type_name((df_event_type_t)9), "RESTART");
        ck_assert_str_eq(df_event_type_name((df_event_type_t)11), "UNKNOWN");
}
END_TEST

START_TEST(test_encode_start)
{
        void *buf = NULL;
        size_t len = 0;
        df_event_info_t *x = NULL;
        df__event_t ev;
        uint8_t *big = calloc(1, DF_PAYLOAD_MAX + 1);
        char e[ERRSZ];

        ck_assert_int_eq(df_record_encode_start("order-9", "orders", "in\0put", 6, &buf, &len, e, sizeof(e)), DF_OK);
        ck_assert_int_eq(df_record_type(buf, len), DF_RECORD_EVENT);
        ck_assert_int_eq(df_record_decode_event(buf, len, &x, e, sizeof(e)), DF_OK);
        ck_assert_int_eq(x->type, DF_EVENT_START);
        ck_assert_str_eq(x->execution_id, "order-9");
        ck_assert_str_eq(x->workflow, "orders");
        ck_assert(x->input.len == 6 && !memcmp(x->input.data, "in\0put", 6));
        ck_assert_str_eq(x->request_id, "");
        ck_assert(x->ts_ms > 1700000000000LL);
        df_event_info_destroy(x);
        /* what the workers decode */
        memset(&ev, 0, sizeof(ev));
        ck_assert_int_eq(df__event_decode(buf, len, &ev, e, sizeof(e)), 0);
        ck_assert_int_eq(ev.type, DF__EV_START);
        ck_assert_str_eq(ev.execution_id, "order-9");
        df__event_clear(&ev);
        df_record_free(buf);
        df_record_free(NULL);

        /* the checks of df_client_start */
        buf = (void *)1;
        ck_assert_int_eq(df_record_encode_start("bad/id", "orders", NULL, 0, &buf, &len, e, sizeof(e)),
                         DF_ERR_INVALID_ARG);
        ck_assert_ptr_null(buf);
        ck_assert_msg(strstr(e, "execution id \"bad/id\" is invalid") != NULL, "%s", e);
        ck_assert_int_eq(df_record_encode_start("ok", "a\x1b[2Jb", NULL, 0, &buf, &len, e, sizeof(e)),
                         DF_ERR_INVALID_ARG);
        ck_assert_msg(strstr(e, "workflow name \"a\\x1B[2Jb\" contains a control character") != NULL, "%s", e);
        ck_assert_int_eq(df_record_encode_start("ok", "bad\xff", NULL, 0, &buf, &len, e, sizeof(e)),
                         DF_ERR_INVALID_ARG);
        ck_assert_msg(strstr(e, "is not valid UTF-8") != NULL, "%s", e);
        ck_assert_int_eq(df_record_encode_start("ok", "orders", NULL, 3, &buf, &len, e, sizeof(e)), DF_ERR_INVALID_ARG);
        ck_assert_int_eq(df_record_encode_start("ok", "orders", big, DF_PAYLOAD_MAX + 1, &buf, &len, e, sizeof(e)),
                         DF_ERR_PAYLOAD_TOO_LARGE);
        ck_assert_msg(strstr(e, "input is 1000001 bytes, over the limit of 1000000") != NULL, "%s", e);
        ck_assert_int_eq(df_record_encode_start("ok", "orders", NULL, 0, NULL, &len, e, sizeof(e)),
                         DF_ERR_INVALID_ARG);
        ck_assert_int_eq(df_record_encode_start("ok", "orders", big, DF_PAYLOAD_MAX, &buf, &len, e, sizeof(e)), DF_OK);
        df_record_free(buf);
        free(big);
}
END_TEST

START_TEST(test_encode_changelog)
{
        df_exec_info_t x, *xd = NULL;
        df_op_info_t o, *od = NULL;
        df__exec_rec_t r;
        void *buf = NULL;
        size_t len = 0;
        char e[ERRSZ];

        memset(&x, 0, sizeof(x));
        x.execution_id = "order-5";
        x.workflow = "orders";
        x.status = DF_EXEC_SUSPENDED;
        x.input.data = (const uint8_t *)"in";
        x.input.len = 2;
        x.error = "";
        x.created_ms = 1;
        x.updated_ms = 2;
        x.op_count = 3;
        ck_assert_int_eq(df_record_encode_execution(&x, &buf, &len, e, sizeof(e)), DF_OK);
        ck_assert_int_eq(df_record_type(buf, len), DF_RECORD_EXECUTION);
        ck_assert_int_eq(df_record_decode_execution(buf, len, &xd, e, sizeof(e)), DF_OK);
        ck_assert_str_eq(xd->execution_id, "order-5");
        ck_assert_str_eq(xd->workflow, "orders");
        ck_assert_int_eq(xd->status, DF_EXEC_SUSPENDED);
        ck_assert(xd->input.len == 2 && !memcmp(xd->input.data, "in", 2));
        ck_assert_int_eq(xd->created_ms, 1);
        ck_assert_int_eq(xd->updated_ms, 2);
        ck_assert_int_eq(xd->op_count, 3);
        df_exec_info_destroy(xd);
        /* what the workers read: no crashes counted, nothing stashed */
        memset(&r, 0, sizeof(r));
        ck_assert_int_eq(df__exec_decode(buf, len, &r, e, sizeof(e)), 0);
        ck_assert_int_eq(r.crash_count, 0);
        ck_assert_uint_eq(r.stash.len, 0);
        df__exec_clear(&r);
        df_record_free(buf);

        /* refused: what no worker writes */
        x.execution_id = "has space";
        ck_assert_int_eq(df_record_encode_execution(&x, &buf, &len, e, sizeof(e)), DF_ERR_INVALID_ARG);
        ck_assert_msg(strstr(e, "execution id \"has space\" is invalid") != NULL, "%s", e);
        ck_assert_ptr_null(buf);
        x.execution_id = "order-5";
        x.status = DF_EXEC_ANY;
        ck_assert_int_eq(df_record_encode_execution(&x, &buf, &len, e, sizeof(e)), DF_ERR_INVALID_ARG);
        ck_assert_msg(strstr(e, "status -1 is out of range") != NULL, "%s", e);
        x.status = (df_exec_status_t)42;
        ck_assert_int_eq(df_record_encode_execution(&x, &buf, &len, e, sizeof(e)), DF_ERR_INVALID_ARG);
        x.status = DF_EXEC_FAILED;
        x.error = "bad \xff";
        ck_assert_int_eq(df_record_encode_execution(&x, &buf, &len, e, sizeof(e)), DF_ERR_INVALID_ARG);
        ck_assert_msg(strstr(e, "error \"bad \\xFF\" is not valid UTF-8") != NULL, "%s", e);
        x.error = "";
        x.output.len = DF_PAYLOAD_MAX + 1;
        x.output.data = NULL;
        ck_assert_int_eq(df_record_encode_execution(&x, &buf, &len, e, sizeof(e)), DF_ERR_INVALID_ARG);
        ck_assert_int_eq(df_record_encode_execution(NULL, &buf, &len, e, sizeof(e)), DF_ERR_INVALID_ARG);

        memset(&o, 0, sizeof(o));
        o.execution_id = "order-5";
        o.op_id = "2";
        o.name = "payment";
        o.type = DF_OP_TYPE_CALLBACK;
        o.status = DF_OP_STATUS_PENDING;
        o.attempt = 1;
        o.due_ms = 99;
        o.callback_id = "0123456789abcdef0123456789abcdef_2_order-5";
        ck_assert_int_eq(df_record_encode_operation(&o, &buf, &len, e, sizeof(e)), DF_OK);
        ck_assert_int_eq(df_record_decode_operation(buf, len, &od, e, sizeof(e)), DF_OK);
        ck_assert_str_eq(od->execution_id, "order-5");
        ck_assert_str_eq(od->op_id, "2");
        ck_assert_str_eq(od->parent_id, "");
        ck_assert_str_eq(od->name, "payment");
        ck_assert_int_eq(od->type, DF_OP_TYPE_CALLBACK);
        ck_assert_int_eq(od->status, DF_OP_STATUS_PENDING);
        ck_assert_int_eq(od->due_ms, 99);
        ck_assert_str_eq(od->callback_id, "0123456789abcdef0123456789abcdef_2_order-5");
        ck_assert_str_eq(od->error, "");
        df_op_info_destroy(od);
        df_record_free(buf);
        o.op_id = "2/x";
        ck_assert_int_eq(df_record_encode_operation(&o, &buf, &len, e, sizeof(e)), DF_ERR_INVALID_ARG);
        ck_assert_msg(strstr(e, "op id \"2/x\" is invalid") != NULL, "%s", e);
        o.op_id = "2";
        o.name = "pay\x1b[2J";
        ck_assert_int_eq(df_record_encode_operation(&o, &buf, &len, e, sizeof(e)), DF_ERR_INVALID_ARG);
        ck_assert_msg(strstr(e, "operation name") != NULL && strstr(e, "control character") != NULL, "%s", e);
        o.name = "";
        ck_assert_int_eq(df_record_encode_operation(&o, &buf, &len, e, sizeof(e)), DF_ERR_INVALID_ARG);
        o.name = "payment";
        o.status = (df_op_status_t)9;
        ck_assert_int_eq(df_record_encode_operation(&o, &buf, &len, e, sizeof(e)), DF_ERR_INVALID_ARG);
        o.status = DF_OP_STATUS_SUCCEEDED;
        o.result.len = DF_PAYLOAD_MAX + 1;
        o.result.data = (const uint8_t *)e;
        ck_assert_int_eq(df_record_encode_operation(&o, &buf, &len, e, sizeof(e)), DF_ERR_PAYLOAD_TOO_LARGE);
        ck_assert_ptr_null(buf);
}
END_TEST

/* A schedule's record (<p>.state, key "schedule:<name>") and its events. */
START_TEST(test_schedule_records)
{
        df__sched_rec_t r;
        df__event_t ev;
        df__buf_t b = {0};
        df_schedule_info_t *si = NULL;
        df_event_info_t *ei = NULL;
        char e[ERRSZ];

        memset(&r, 0, sizeof(r));
        r.name = "nightly";
        r.cron = "30 2 * * *";
        r.timezone = "Europe/Berlin";
        r.workflow = "report";
        r.input.data = (uint8_t *)"in";
        r.input.len = 2;
        r.overlap = DF__OV_ALLOW;
        r.next_fire_ms = 1764552600000LL;
        r.last_run_id = "nightly-20251130T013000Z";
        r.running = 1;
        r.fires = 3;
        r.missed = 2;
        ck_assert_int_eq(df__sched_encode(&r, &b, e, sizeof(e)), 0);
        ck_assert_int_eq(df_record_type(b.data, b.len), DF_RECORD_SCHEDULE);
        ck_assert_str_eq(df_record_type_name(DF_RECORD_SCHEDULE), "SCHEDULE");
        ck_assert_int_eq(df_record_decode_schedule(b.data, b.len, &si, e, sizeof(e)), DF_OK);
        ck_assert_str_eq(si->name, "nightly");
        ck_assert_str_eq(si->cron, "30 2 * * *");
        ck_assert_str_eq(si->timezone, "Europe/Berlin");
        ck_assert_str_eq(si->workflow, "report");
        ck_assert_uint_eq(si->input.len, 2);
        ck_assert_int_eq(si->overlap, DF_OVERLAP_ALLOW);
        ck_assert(si->next_fire_ms == 1764552600000LL && si->fires == 3 && si->missed == 2);
        ck_assert_str_eq(si->last_run_id, "nightly-20251130T013000Z");
        ck_assert_int_eq(si->last_run_running, 1);
        df_schedule_info_destroy(si);
        /* it is no execution; an execution is no schedule */
        ck_assert_int_eq(df_record_decode_execution(b.data, b.len, (df_exec_info_t **)&si, e, sizeof(e)), DF_ERR_CODEC);
        free(b.data);
        b.data = NULL;
        ck_assert_int_eq(df_record_decode_schedule("\xc3\x01xx", 4, &si, e, sizeof(e)), DF_ERR_CODEC);
        ck_assert_ptr_null(si);
        ck_assert_ptr_nonnull(strstr(e, "not a valid schedule record"));
        ck_assert_int_eq(df_record_decode_schedule(NULL, 0, NULL, e, sizeof(e)), DF_ERR_INVALID_ARG);
        /* a run's end, told to its schedule */
        memset(&ev, 0, sizeof(ev));
        ev.type = DF__EV_SCHEDULE_RUN_DONE;
        ev.execution_id = "schedule:nightly";
        ev.link = "nightly-20251130T013000Z";
        ev.seq = DF__ES_SUCCEEDED;
        b = enc_event(&ev);
        ck_assert_int_eq(df_record_decode_event(b.data, b.len, &ei, e, sizeof(e)), DF_OK);
        ck_assert_int_eq(ei->type, DF_EVENT_SCHEDULE_RUN_DONE);
        ck_assert_str_eq(df_event_type_name(ei->type), "SCHEDULE_RUN_DONE");
        ck_assert_str_eq(ei->link, "nightly-20251130T013000Z");
        ck_assert_str_eq(df_event_type_name(DF_EVENT_SCHEDULE_CREATE), "SCHEDULE_CREATE");
        ck_assert_str_eq(df_event_type_name((df_event_type_t)19), "UNKNOWN");
        df_event_info_destroy(ei);
        free(b.data);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("records");
        TCase *tc = tcase_create("records");
        SRunner *sr;
        int failed;
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_event);
        tcase_add_test(tc, test_execution_and_operation);
        tcase_add_test(tc, test_timer_result_dead_letter);
        tcase_add_test(tc, test_hostile_bytes_refused);
        tcase_add_test(tc, test_encode_start);
        tcase_add_test(tc, test_encode_changelog);
        tcase_add_test(tc, test_schedule_records);
        suite_add_tcase(s, tc);
        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? 1 : 0;
}
