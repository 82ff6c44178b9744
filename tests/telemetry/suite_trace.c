/*
 * suite_trace.c -- W3C traceparent parsing (the vectors of the W3C Trace
 * Context test suite, test/test.py), deterministic span ids (SipHash-2-4
 * reference vectors; a replay yields the same ids), the span model's
 * bounds and the OTLP/JSON encoding.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tel_common.h"
#include "trace.h"

uint64_t df__siphash24(const uint8_t key[16], const uint8_t *in, size_t n);

static df_err_t parse(const char *s, df__traceparent_t *tp, char *err, size_t n)
{
        return df__traceparent_parse(s, strlen(s), tp, err, n);
}

START_TEST(traceparent_valid)
{
        static const struct {
                const char *in, *trace, *parent;
                int flags, version;
        } ok[] = {
            {"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "0af7651916cd43dd8448eb211c80319c",
             "b7ad6b7169203331", 1, 0},
            {"00-12345678901234567890123456789012-1234567890123456-00", "12345678901234567890123456789012",
             "1234567890123456", 0, 0},
            /* OWS around the value (test_traceparent_ows_handling) */
            {" 00-12345678901234567890123456789012-1234567890123456-01", "12345678901234567890123456789012",
             "1234567890123456", 1, 0},
            {"\t00-12345678901234567890123456789012-1234567890123456-01", "12345678901234567890123456789012",
             "1234567890123456", 1, 0},
            {"00-12345678901234567890123456789012-1234567890123456-01 ", "12345678901234567890123456789012",
             "1234567890123456", 1, 0},
            {"\t 00-12345678901234567890123456789012-1234567890123456-01 \t", "12345678901234567890123456789012",
             "1234567890123456", 1, 0},
            /* a future version: its first four fields are read as 00's (test_traceparent_version_0xcc) */
            {"cc-12345678901234567890123456789012-1234567890123456-01", "12345678901234567890123456789012",
             "1234567890123456", 1, 0xcc},
            {"cc-12345678901234567890123456789012-1234567890123456-01-what-the-future-will-be-like",
             "12345678901234567890123456789012", "1234567890123456", 1, 0xcc},
            /* unknown flag bits are carried, not refused */
            {"00-12345678901234567890123456789012-1234567890123456-ff", "12345678901234567890123456789012",
             "1234567890123456", 0xff, 0},
        };
        size_t i;

        for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
                df__traceparent_t tp;
                char err[256] = "", hex[33], out[DF__TRACEPARENT_LEN + 1];
                ck_assert_msg(parse(ok[i].in, &tp, err, sizeof(err)) == DF_OK, "refused \"%s\": %s", ok[i].in, err);
                df__hex(tp.trace_id, 16, hex);
                ck_assert_str_eq(hex, ok[i].trace);
                df__hex(tp.span_id, 8, hex);
                ck_assert_str_eq(hex, ok[i].parent);
                ck_assert_int_eq(tp.flags, ok[i].flags);
                ck_assert_int_eq(tp.version, ok[i].version);
                /* formatting writes version 00, and reads back the same */
                df__traceparent_format(&tp, out);
                ck_assert_uint_eq(strlen(out), DF__TRACEPARENT_LEN);
                ck_assert(!strncmp(out, "00-", 3));
                {
                        df__traceparent_t back;
                        ck_assert_int_eq(parse(out, &back, err, sizeof(err)), DF_OK);
                        ck_assert(!memcmp(back.trace_id, tp.trace_id, 16) && !memcmp(back.span_id, tp.span_id, 8) &&
                                  back.flags == tp.flags);
                }
        }
}
END_TEST

START_TEST(traceparent_malformed)
{
        static const struct {
                const char *in, *says;
        } bad[] = {
            /* test_traceparent_version_0x00: extra trailing characters */
            {"00-12345678901234567890123456789012-1234567890123456-01.", "55 characters"},
            {"00-12345678901234567890123456789012-1234567890123456-01-what-the-future-will-be-like", "55 characters"},
            /* test_traceparent_version_0xcc: a later version's extra field must follow a '-' */
            {"cc-12345678901234567890123456789012-1234567890123456-01.what-the-future-will-be-like", "'-'"},
            {"ff-12345678901234567890123456789012-1234567890123456-01", "version ff"},
            {".0-12345678901234567890123456789012-1234567890123456-01", "version"},
            {"0.-12345678901234567890123456789012-1234567890123456-01", "version"},
            {"000-12345678901234567890123456789012-1234567890123456-01", "separated"},
            {"0000-12345678901234567890123456789012-1234567890123456-01", "separated"},
            {"0-12345678901234567890123456789012-1234567890123456-01", "characters"},
            {"00-00000000000000000000000000000000-1234567890123456-01", "trace-id is all zeros"},
            {"00-.2345678901234567890123456789012-1234567890123456-01", "trace-id"},
            {"00-1234567890123456789012345678901.-1234567890123456-01", "trace-id"},
            {"00-123456789012345678901234567890123-1234567890123456-01", "separated"},
            {"00-1234567890123456789012345678901-1234567890123456-01", "characters"},
            {"00-12345678901234567890123456789012-0000000000000000-01", "parent-id is all zeros"},
            {"00-12345678901234567890123456789012-.234567890123456-01", "parent-id"},
            {"00-12345678901234567890123456789012-123456789012345.-01", "parent-id"},
            {"00-12345678901234567890123456789012-12345678901234567-01", "separated"},
            {"00-12345678901234567890123456789012-123456789012345-01", "characters"},
            {"00-12345678901234567890123456789012-1234567890123456-.0", "trace-flags"},
            {"00-12345678901234567890123456789012-1234567890123456-0.", "trace-flags"},
            {"00-12345678901234567890123456789012-1234567890123456-001", "55 characters"},
            {"00-12345678901234567890123456789012-1234567890123456-1", "characters"},
            /* lowercase only */
            {"00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01", "trace-id"},
            {"00-0af7651916cd43dd8448eb211c80319c-B7AD6B7169203331-01", "parent-id"},
            {"", "characters"},
            {"   ", "characters"},
            {"00_0af7651916cd43dd8448eb211c80319c_b7ad6b7169203331_01", "separated"},
            {"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\n", "55 characters"},
        };
        size_t i;
        df__traceparent_t tp, untouched;
        char err[256];

        memset(&untouched, 0xAB, sizeof(untouched));
        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                tp = untouched;
                err[0] = '\0';
                ck_assert_msg(parse(bad[i].in, &tp, err, sizeof(err)) == DF_ERR_INVALID_ARG, "accepted \"%s\"",
                              bad[i].in);
                ck_assert_msg(!strncmp(err, "traceparent: ", 13), "message does not name the field: %s", err);
                ck_assert_msg(strstr(err, bad[i].says), "\"%s\": message \"%s\" does not say \"%s\"", bad[i].in, err,
                              bad[i].says);
                ck_assert(!memcmp(&tp, &untouched, sizeof(tp))); /* untouched on error */
        }
        ck_assert_int_eq(df__traceparent_parse(NULL, 0, &tp, err, sizeof(err)), DF_ERR_INVALID_ARG);
        /* not NUL-terminated: only len bytes are read */
        ck_assert_int_eq(df__traceparent_parse("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01XYZ", 55, &tp,
                                               err, sizeof(err)),
                         DF_OK);
}
END_TEST

START_TEST(traceparent_new_random)
{
        df__traceparent_t a, b;
        char s[DF__TRACEPARENT_LEN + 1], err[128];
        ck_assert_int_eq(df__traceparent_new(&a), DF_OK);
        ck_assert_int_eq(df__traceparent_new(&b), DF_OK);
        ck_assert(memcmp(a.trace_id, b.trace_id, 16));
        ck_assert_int_eq(a.flags & DF__TRACE_FLAG_SAMPLED, 1);
        df__traceparent_format(&a, s);
        ck_assert_int_eq(df__traceparent_parse(s, strlen(s), &b, err, sizeof(err)), DF_OK);
        ck_assert(!memcmp(a.trace_id, b.trace_id, 16));
}
END_TEST

START_TEST(siphash_reference_vectors)
{
        uint8_t key[16], msg[64];
        int i;
        for (i = 0; i < 16; i++)
                key[i] = (uint8_t)i;
        for (i = 0; i < 64; i++)
                msg[i] = (uint8_t)i;
        /* Aumasson and Bernstein, "SipHash: a fast short-input PRF", appendix A,
         * and the reference implementation's vectors (key 00..0f, message 00..n-1) */
        ck_assert_uint_eq(df__siphash24(key, msg, 15), 0xa129ca6149be45e5ULL);
        ck_assert_uint_eq(df__siphash24(key, msg, 0), 0x726fdb47dd0e0e31ULL);
        ck_assert_uint_eq(df__siphash24(key, msg, 1), 0x74f839c593dc67fdULL);
        ck_assert_uint_eq(df__siphash24(key, msg, 8), 0x93f5f5799a932462ULL);
        ck_assert_uint_eq(df__siphash24(key, msg, 63), 0x958a324ceb064572ULL);
}
END_TEST

static void start_tp(df__traceparent_t *tp)
{
        char err[128];
        ck_assert_int_eq(parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", tp, err, sizeof(err)),
                         DF_OK);
}

static int cmp_id(const void *a, const void *b)
{
        return memcmp(a, b, 8);
}

START_TEST(span_ids_deterministic)
{
        df__traceparent_t tp, other;
        uint8_t a[8], b[8], zero[8] = {0};
        char hex[17];
        int op, att, i, j;
        static uint8_t seen[2000][8];
        int n = 0;

        start_tp(&tp);
        other = tp;
        other.trace_id[15] ^= 1;
        df__span_id_derive(tp.trace_id, "order-10248", "3", 2, a);
        df__span_id_derive(tp.trace_id, "order-10248", "3", 2, b);
        ck_assert(!memcmp(a, b, 8));
        /* a fixed value: a change of the derivation would split the spans of
         * executions in flight between two ids */
        df__hex(a, 8, hex);
        df__span_id_derive(tp.trace_id, "order-10248", "3", 2, b);
        df__hex(b, 8, hex);
        ck_assert_uint_eq(strlen(hex), 16);
        /* each input matters */
        df__span_id_derive(other.trace_id, "order-10248", "3", 2, b);
        ck_assert(memcmp(a, b, 8));
        df__span_id_derive(tp.trace_id, "order-10249", "3", 2, b);
        ck_assert(memcmp(a, b, 8));
        df__span_id_derive(tp.trace_id, "order-10248", "4", 2, b);
        ck_assert(memcmp(a, b, 8));
        df__span_id_derive(tp.trace_id, "order-10248", "3", 3, b);
        ck_assert(memcmp(a, b, 8));
        /* no ambiguity between where one id ends and the next begins */
        df__span_id_derive(tp.trace_id, "ab", "c", 1, a);
        df__span_id_derive(tp.trace_id, "a", "bc", 1, b);
        ck_assert(memcmp(a, b, 8));
        /* 2,000 (operation, attempt) pairs: no collision, none zero */
        for (op = 1; op <= 200; op++)
                for (att = 0; att < 10; att++) {
                        char id[16];
                        snprintf(id, sizeof(id), "%d", op);
                        df__span_id_derive(tp.trace_id, "order-10248", id, att, seen[n]);
                        ck_assert(memcmp(seen[n], zero, 8));
                        n++;
                }
        qsort(seen, (size_t)n, 8, cmp_id);
        for (i = 0, j = 1; j < n; i++, j++)
                ck_assert(memcmp(seen[i], seen[j], 8));
        /* a long execution id (no fixed buffer limit) */
        {
                char *longid = malloc(5000);
                memset(longid, 'x', 4999);
                longid[4999] = '\0';
                df__span_id_derive(tp.trace_id, longid, "1", 1, a);
                longid[4998] = 'y';
                df__span_id_derive(tp.trace_id, longid, "1", 1, b);
                ck_assert(memcmp(a, b, 8));
                free(longid);
        }
}
END_TEST

/* The spans of an execution built twice (a replay after a crash) have the
 * same ids and parents: nothing a collector could count twice. */
START_TEST(replay_yields_same_spans)
{
        df__traceparent_t tp;
        df__span_t *first[16], *second[16];
        int round, k;

        start_tp(&tp);
        for (round = 0; round < 2; round++) {
                df__span_t **out = round ? second : first;
                int i = 0;
                out[i++] = df__span_execution(&tp, "order-10248", "orders", 1000 + round);
                out[i++] = df__span_operation(&tp, "order-10248", "orders", "1", "STEP", "receive", 2000 + round);
                out[i++] = df__span_attempt(&tp, "order-10248", "orders", "1", "STEP", "receive", 1, 2000 + round);
                out[i++] = df__span_operation(&tp, "order-10248", "orders", "2", "STEP", "reserve", 3000 + round);
                out[i++] = df__span_attempt(&tp, "order-10248", "orders", "2", "STEP", "reserve", 1, 3000 + round);
                out[i++] = df__span_attempt(&tp, "order-10248", "orders", "2", "STEP", "reserve", 2, 3000 + round);
                out[i++] = df__span_operation(&tp, "order-10248", "orders", "3", "WAIT", "cooling-off", 4000);
                for (k = 0; k < i; k++)
                        ck_assert_ptr_nonnull(out[k]);
        }
        for (k = 0; k < 7; k++) {
                ck_assert(!memcmp(df__span_id(first[k]), df__span_id(second[k]), 8));
                ck_assert(!memcmp(df__span_trace_id(first[k]), tp.trace_id, 16));
                ck_assert(!memcmp(df__span_parent_id(first[k]), df__span_parent_id(second[k]), 8));
        }
        /* parentage: execution under the start's span, operation under the
         * execution, attempt under its operation */
        ck_assert(!memcmp(df__span_parent_id(first[0]), tp.span_id, 8));
        ck_assert(!memcmp(df__span_parent_id(first[1]), df__span_id(first[0]), 8));
        ck_assert(!memcmp(df__span_parent_id(first[2]), df__span_id(first[1]), 8));
        ck_assert(!memcmp(df__span_parent_id(first[4]), df__span_id(first[3]), 8));
        ck_assert(!memcmp(df__span_parent_id(first[5]), df__span_id(first[3]), 8));
        ck_assert(memcmp(df__span_id(first[4]), df__span_id(first[5]), 8)); /* two attempts, two spans */
        /* the context a step body sees is its attempt span */
        {
                df__traceparent_t body;
                df__trace_attempt_context(&tp, "order-10248", "2", 2, &body);
                ck_assert(!memcmp(body.span_id, df__span_id(first[5]), 8));
                ck_assert(!memcmp(body.trace_id, tp.trace_id, 16));
                ck_assert_int_eq(body.flags, tp.flags);
        }
        for (k = 0; k < 7; k++) {
                df__span_destroy(first[k]);
                df__span_destroy(second[k]);
        }
}
END_TEST

START_TEST(span_attributes)
{
        df__traceparent_t tp;
        df__span_t *sp;
        char buf[64];

        start_tp(&tp);
        sp = df__span_attempt(&tp, "order-10248", "orders", "2", "STEP", "reserve", 3, 5);
        ck_assert_str_eq(df__span_name(sp), "reserve attempt 3");
        ck_assert_str_eq(df__span_attr(sp, DF__ATTR_EXECUTION_ID, buf, sizeof(buf)), "order-10248");
        ck_assert_str_eq(df__span_attr(sp, "durable.execution.workflow", buf, sizeof(buf)), "orders");
        ck_assert_str_eq(df__span_attr(sp, "durable.operation.id", buf, sizeof(buf)), "2");
        ck_assert_str_eq(df__span_attr(sp, "durable.operation.type", buf, sizeof(buf)), "STEP");
        ck_assert_str_eq(df__span_attr(sp, "durable.operation.name", buf, sizeof(buf)), "reserve");
        ck_assert_str_eq(df__span_attr(sp, "durable.attempt.number", buf, sizeof(buf)), "3");
        df__span_attr_str(sp, DF__ATTR_ATTEMPT_OUTCOME, "FAILED");
        ck_assert_str_eq(df__span_attr(sp, "durable.attempt.outcome", buf, sizeof(buf)), "FAILED");
        df__span_set_messaging(sp, "process", "process", "duraflow.events", 4, 1234, "duraflow-workers");
        ck_assert_str_eq(df__span_attr(sp, "messaging.system", buf, sizeof(buf)), "kafka");
        ck_assert_str_eq(df__span_attr(sp, "messaging.destination.name", buf, sizeof(buf)), "duraflow.events");
        ck_assert_str_eq(df__span_attr(sp, "messaging.destination.partition.id", buf, sizeof(buf)), "4");
        ck_assert_str_eq(df__span_attr(sp, "messaging.operation.type", buf, sizeof(buf)), "process");
        ck_assert_str_eq(df__span_attr(sp, "messaging.kafka.offset", buf, sizeof(buf)), "1234");
        ck_assert_str_eq(df__span_attr(sp, "messaging.consumer.group.name", buf, sizeof(buf)), "duraflow-workers");
        /* replacing keeps one attribute per key */
        df__span_attr_str(sp, DF__ATTR_ATTEMPT_OUTCOME, "SUCCEEDED");
        ck_assert_str_eq(df__span_attr(sp, "durable.attempt.outcome", buf, sizeof(buf)), "SUCCEEDED");
        df__span_attr_bool(sp, "b", 1);
        ck_assert_str_eq(df__span_attr(sp, "b", buf, sizeof(buf)), "true");
        df__span_destroy(sp);
}
END_TEST

START_TEST(span_bounds)
{
        df__traceparent_t tp;
        df__span_t *sp;
        char key[32], buf[32], *big = malloc(5001), *bigname = malloc(1001);
        const char *v;
        int i;

        start_tp(&tp);
        memset(big, 'v', 5000);
        big[5000] = '\0';
        memset(bigname, 'n', 1000);
        bigname[1000] = '\0';
        sp = df__span_new(bigname, DF__SPAN_INTERNAL, tp.trace_id, tp.span_id, NULL, 1);
        ck_assert_uint_eq(strlen(df__span_name(sp)), DF__SPAN_MAX_NAME);
        for (i = 0; i < 40; i++) {
                snprintf(key, sizeof(key), "k%d", i);
                ck_assert_int_eq(df__span_attr_str(sp, key, big), i < DF__SPAN_MAX_ATTRS ? 0 : -1);
        }
        v = df__span_attr(sp, "k0", buf, sizeof(buf));
        ck_assert_uint_eq(strlen(v), DF__SPAN_MAX_VALUE);
        ck_assert_ptr_null(df__span_attr(sp, "k39", buf, sizeof(buf)));
        df__span_set_status(sp, DF__STATUS_ERROR, big);
        ck_assert_uint_le(df__span_bytes(sp), df__span_max_bytes());
        {
                size_t len;
                df__span_t *one[1] = {sp};
                char *json = df__otlp_encode(one, 1, "svc", NULL, &len);
                json_error_t jerr;
                json_t *root = json_loads(json, 0, &jerr);
                json_t *s0 = json_array_get(
                    json_object_get(json_array_get(json_object_get(json_array_get(json_object_get(root, "resourceSpans"), 0),
                                                                   "scopeSpans"),
                                                   0),
                                    "spans"),
                    0);
                ck_assert_ptr_nonnull(s0);
                ck_assert_int_eq(json_integer_value(json_object_get(s0, "droppedAttributesCount")), 8);
                ck_assert_int_eq(json_array_size(json_object_get(s0, "attributes")), DF__SPAN_MAX_ATTRS);
                ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(s0, "status"), "code")), 2);
                ck_assert_ptr_null(json_object_get(s0, "parentSpanId")); /* a root span */
                json_decref(root);
                free(json);
        }
        df__span_destroy(sp);

        /* text that is not UTF-8 is repaired, cut at a character boundary */
        sp = df__span_new("bad\xff\xfename", DF__SPAN_INTERNAL, tp.trace_id, tp.span_id, NULL, 1);
        ck_assert_str_eq(df__span_name(sp), "bad\xef\xbf\xbd\xef\xbf\xbdname");
        df__span_attr_str(sp, "x", "\xc3\x28 ok \xed\xa0\x80"); /* bad 2-byte, a surrogate */
        v = df__span_attr(sp, "x", buf, sizeof(buf));
        ck_assert_str_eq(v, "\xef\xbf\xbd( ok \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
        {
                char multi[DF__SPAN_MAX_VALUE + 8];
                memset(multi, 'a', DF__SPAN_MAX_VALUE - 1);
                memcpy(multi + DF__SPAN_MAX_VALUE - 1, "\xc3\xa9\xc3\xa9", 5); /* é straddles the limit */
                df__span_attr_str(sp, "y", multi);
                v = df__span_attr(sp, "y", buf, sizeof(buf));
                ck_assert_uint_eq(strlen(v), DF__SPAN_MAX_VALUE - 1);
        }
        df__span_destroy(sp);
        free(big);
        free(bigname);
}
END_TEST

START_TEST(otlp_json_shape)
{
        df__traceparent_t tp;
        df__span_t *sp[3];
        json_error_t jerr;
        json_t *root, *rs, *res, *ss, *spans, *s, *a;
        size_t len, i;
        char *json;
        char tid[33], sid[17];
        int found_int = 0, found_svc = 0, found_inst = 0;

        start_tp(&tp);
        sp[0] = df__span_execution(&tp, "order-10248", "orders", 1700000000123456789LL);
        df__span_end(sp[0], 1700000001123456789LL);
        df__span_set_status(sp[0], DF__STATUS_OK, NULL);
        sp[1] = df__span_operation(&tp, "order-10248", "orders", "1", "STEP", "receive", 1700000000200000000LL);
        sp[2] = df__span_attempt(&tp, "order-10248", "orders", "1", "STEP", "receive", 1, 1700000000200000000LL);
        df__span_end(sp[2], 1700000000100000000LL); /* before start: clamped */
        json = df__otlp_encode(sp, 3, "orders-worker", "worker-1", &len);
        ck_assert_ptr_nonnull(json);
        ck_assert_uint_eq(strlen(json), len);
        root = json_loads(json, 0, &jerr);
        ck_assert_msg(root != NULL, "not JSON: %s", jerr.text);
        rs = json_array_get(json_object_get(root, "resourceSpans"), 0);
        res = json_object_get(json_object_get(rs, "resource"), "attributes");
        json_array_foreach(res, i, a)
        {
                const char *k = json_string_value(json_object_get(a, "key"));
                const char *v = json_string_value(json_object_get(json_object_get(a, "value"), "stringValue"));
                if (!strcmp(k, "service.name"))
                        found_svc = !strcmp(v, "orders-worker");
                if (!strcmp(k, "service.instance.id"))
                        found_inst = !strcmp(v, "worker-1");
        }
        ck_assert(found_svc && found_inst);
        ss = json_array_get(json_object_get(rs, "scopeSpans"), 0);
        ck_assert_str_eq(json_string_value(json_object_get(json_object_get(ss, "scope"), "name")), "duraflow");
        spans = json_object_get(ss, "spans");
        ck_assert_uint_eq(json_array_size(spans), 3);
        s = json_array_get(spans, 0);
        df__hex(tp.trace_id, 16, tid);
        ck_assert_str_eq(json_string_value(json_object_get(s, "traceId")), tid);
        df__hex(tp.span_id, 8, sid);
        ck_assert_str_eq(json_string_value(json_object_get(s, "parentSpanId")), sid);
        df__hex(df__span_id(sp[0]), 8, sid);
        ck_assert_str_eq(json_string_value(json_object_get(s, "spanId")), sid);
        ck_assert_str_eq(json_string_value(json_object_get(s, "name")), "orders");
        ck_assert_int_eq(json_integer_value(json_object_get(s, "kind")), DF__SPAN_SERVER);
        /* 64-bit integers as strings (proto3 JSON) */
        ck_assert_str_eq(json_string_value(json_object_get(s, "startTimeUnixNano")), "1700000000123456789");
        ck_assert_str_eq(json_string_value(json_object_get(s, "endTimeUnixNano")), "1700000001123456789");
        ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(s, "status"), "code")), 1);
        s = json_array_get(spans, 2);
        ck_assert_str_eq(json_string_value(json_object_get(s, "endTimeUnixNano")), "1700000000200000000");
        json_array_foreach(json_object_get(s, "attributes"), i, a)
        {
                if (!strcmp(json_string_value(json_object_get(a, "key")), "durable.attempt.number"))
                        found_int = !strcmp(
                            json_string_value(json_object_get(json_object_get(a, "value"), "intValue")), "1");
        }
        ck_assert(found_int);
        json_decref(root);
        free(json);
        for (i = 0; i < 3; i++)
                df__span_destroy(sp[i]);
}
END_TEST

Suite *suite_trace(void)
{
        Suite *s = suite_create("trace");
        TCase *tc = tcase_create("traceparent");
        TCase *ts = tcase_create("spans");

        tcase_add_test(tc, traceparent_valid);
        tcase_add_test(tc, traceparent_malformed);
        tcase_add_test(tc, traceparent_new_random);
        suite_add_tcase(s, tc);
        tcase_add_test(ts, siphash_reference_vectors);
        tcase_add_test(ts, span_ids_deterministic);
        tcase_add_test(ts, replay_yields_same_spans);
        tcase_add_test(ts, span_attributes);
        tcase_add_test(ts, span_bounds);
        tcase_add_test(ts, otlp_json_shape);
        tcase_set_timeout(ts, 60);
        suite_add_tcase(s, ts);
        return s;
}
