/*
 * test_codec.c -- unit tests of the record codec (framework/src/codec.c).
 *
 * Wire bytes that the tests feed to the decoders are built here by hand
 * (tb_* below: zig-zag varints, length-prefixed strings/bytes), not with
 * avro-c, so the tests also check the codec against an independent writer.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strdup, asprintf */
#endif
#include <check.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

/* Not in codec.h: test/tool entry points of codec.c. */
int df__codec_pcf(const char *json, size_t len, char **pcf, char *errstr, size_t errstr_size);
uint64_t df__codec_fingerprint(df__rec_type_t type);

#define ERRSZ 512
#define DLQ_MAX (4 * 1024 * 1024)

/* PCF of schemas/Event.avsc (schemas/v3/Event.avsc is it without run), schemas/v2, v1 and v0/Event.avsc,
 * written by hand from the specification's rules. */
static const char EVENT_PCF[] =
        "{\"name\":\"io.duraflow.Event\",\"type\":\"record\",\"fields\":["
        "{\"name\":\"type\",\"type\":\"int\"},{\"name\":\"execution_id\",\"type\":\"string\"},"
        "{\"name\":\"workflow\",\"type\":\"string\"},{\"name\":\"input\",\"type\":\"bytes\"},"
        "{\"name\":\"op_id\",\"type\":\"string\"},{\"name\":\"seq\",\"type\":\"long\"},"
        "{\"name\":\"timer_kind\",\"type\":\"int\"},{\"name\":\"callback_id\",\"type\":\"string\"},"
        "{\"name\":\"callback_kind\",\"type\":\"int\"},{\"name\":\"error\",\"type\":\"string\"},"
        "{\"name\":\"request_id\",\"type\":\"string\"},{\"name\":\"ts_ms\",\"type\":\"long\"},"
        "{\"name\":\"parent_id\",\"type\":\"string\"},{\"name\":\"parent_op\",\"type\":\"string\"},"
        "{\"name\":\"child_id\",\"type\":\"string\"},{\"name\":\"status\",\"type\":\"int\"},"
        "{\"name\":\"link\",\"type\":\"string\"},{\"name\":\"run\",\"type\":\"int\"}]}";
static const char EVENT_V2_PCF[] =
        "{\"name\":\"io.duraflow.Event\",\"type\":\"record\",\"fields\":["
        "{\"name\":\"type\",\"type\":\"int\"},{\"name\":\"execution_id\",\"type\":\"string\"},"
        "{\"name\":\"workflow\",\"type\":\"string\"},{\"name\":\"input\",\"type\":\"bytes\"},"
        "{\"name\":\"op_id\",\"type\":\"string\"},{\"name\":\"seq\",\"type\":\"long\"},"
        "{\"name\":\"timer_kind\",\"type\":\"int\"},{\"name\":\"callback_id\",\"type\":\"string\"},"
        "{\"name\":\"callback_kind\",\"type\":\"int\"},{\"name\":\"error\",\"type\":\"string\"},"
        "{\"name\":\"request_id\",\"type\":\"string\"},{\"name\":\"ts_ms\",\"type\":\"long\"},"
        "{\"name\":\"parent_id\",\"type\":\"string\"},{\"name\":\"parent_op\",\"type\":\"string\"},"
        "{\"name\":\"child_id\",\"type\":\"string\"},{\"name\":\"status\",\"type\":\"int\"}]}";
static const char EVENT_V1_PCF[] =
        "{\"name\":\"io.duraflow.Event\",\"type\":\"record\",\"fields\":["
        "{\"name\":\"type\",\"type\":\"int\"},{\"name\":\"execution_id\",\"type\":\"string\"},"
        "{\"name\":\"workflow\",\"type\":\"string\"},{\"name\":\"input\",\"type\":\"bytes\"},"
        "{\"name\":\"op_id\",\"type\":\"string\"},{\"name\":\"seq\",\"type\":\"long\"},"
        "{\"name\":\"timer_kind\",\"type\":\"int\"},{\"name\":\"callback_id\",\"type\":\"string\"},"
        "{\"name\":\"callback_kind\",\"type\":\"int\"},{\"name\":\"error\",\"type\":\"string\"},"
        "{\"name\":\"request_id\",\"type\":\"string\"},{\"name\":\"ts_ms\",\"type\":\"long\"}]}";
static const char EVENT_V0_PCF[] =
        "{\"name\":\"io.duraflow.Event\",\"type\":\"record\",\"fields\":["
        "{\"name\":\"type\",\"type\":\"int\"},{\"name\":\"execution_id\",\"type\":\"string\"},"
        "{\"name\":\"workflow\",\"type\":\"string\"},{\"name\":\"input\",\"type\":\"bytes\"},"
        "{\"name\":\"op_id\",\"type\":\"string\"},{\"name\":\"seq\",\"type\":\"long\"},"
        "{\"name\":\"timer_kind\",\"type\":\"int\"},{\"name\":\"callback_id\",\"type\":\"string\"},"
        "{\"name\":\"callback_kind\",\"type\":\"int\"},{\"name\":\"error\",\"type\":\"string\"},"
        "{\"name\":\"ts_ms\",\"type\":\"long\"}]}";

/* Body layouts (field order of the schemas): i=int, l=long, s=C string,
 * b=(pointer, length) bytes or raw string bytes. */
#define EVENT_FMT "issbslisissl" "sssi" "s" "i"
#define EVENT_V2_FMT "issbslisissl" "sssi"
#define EVENT_V1_FMT "issbslisissl"
#define EVENT_V0_FMT "issbslisisl"
#define OP_FMT "ssssiiibslllsll" "is"
#define OP_V1_FMT "ssssiiibslllsll"

/* ------------------------------------------------------------------ */
/* Hand-made Avro writer.                                              */

typedef struct tb {
        uint8_t *p;
        size_t len, cap;
} tb_t;

static void tb_add(tb_t *b, const void *d, size_t n)
{
        if (b->len + n > b->cap) {
                size_t cap = b->cap ? b->cap : 64;
                while (cap < b->len + n)
                        cap *= 2;
                b->p = realloc(b->p, cap);
                ck_assert_ptr_nonnull(b->p);
                b->cap = cap;
        }
        if (n)
                memcpy(b->p + b->len, d, n);
        b->len += n;
}

static void tb_byte(tb_t *b, uint8_t c)
{
        tb_add(b, &c, 1);
}

static void tb_long(tb_t *b, int64_t v)
{
        uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
        while (z & ~(uint64_t)0x7F) {
                tb_byte(b, (uint8_t)((z & 0x7F) | 0x80));
                z >>= 7;
        }
        tb_byte(b, (uint8_t)z);
}

static void tb_bytes(tb_t *b, const void *d, size_t n)
{
        tb_long(b, (int64_t)n);
        tb_add(b, d, n);
}

static void tb_hdr(tb_t *b, uint64_t fp)
{
        tb_byte(b, 0xC3);
        tb_byte(b, 0x01);
        for (int i = 0; i < 8; i++)
                tb_byte(b, (uint8_t)(fp >> (8 * i)));
}

static void tb_fmt(tb_t *b, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        for (const char *f = fmt; *f; f++) {
                switch (*f) {
                case 'i':
                        tb_long(b, va_arg(ap, int32_t));
                        break;
                case 'l':
                        tb_long(b, va_arg(ap, int64_t));
                        break;
                case 's': {
                        const char *s = va_arg(ap, const char *);
                        tb_bytes(b, s, strlen(s));
                        break;
                }
                case 'b': {
                        const void *d = va_arg(ap, const void *);
                        size_t n = va_arg(ap, size_t);
                        tb_bytes(b, d, n);
                        break;
                }
                default:
                        ck_abort_msg("bad fmt");
                }
        }
        va_end(ap);
}

static void tb_free(tb_t *b)
{
        free(b->p);
        memset(b, 0, sizeof *b);
}

/* ------------------------------------------------------------------ */
/* Fixtures.                                                           */

static const uint8_t BIN[] = {0x00, 0xFF, 0xC0, 0xAF, 0xED, 0xA0, 0x80, 0x00, 0x7F, 0x80, 0xF8};
#define UTF8_TEXT "caf\xC3\xA9 \xE2\x98\x95 \xF0\x9D\x84\x9E" /* café ☕ 𝄞 */

static void setup(void)
{
        char err[ERRSZ] = "";
        ck_assert_msg(df__codec_init(err, sizeof err) == 0, "init: %s", err);
}

static void buf_eq(const df__buf_t *a, const void *data, size_t len)
{
        ck_assert_uint_eq(a->len, len);
        if (len)
                ck_assert_mem_eq(a->data, data, len);
}

static uint64_t hdr_fp(const df__buf_t *b)
{
        uint64_t fp = 0;
        ck_assert_uint_ge(b->len, 10);
        for (int i = 0; i < 8; i++)
                fp |= (uint64_t)b->data[2 + i] << (8 * i);
        return fp;
}

static void fill_event(df__event_t *e)
{
        memset(e, 0, sizeof *e);
        e->type = DF__EV_CALLBACK;
        e->execution_id = strdup("exec-" UTF8_TEXT);
        e->workflow = strdup("orders.process");
        df__buf_set(&e->input, BIN, sizeof BIN);
        e->op_id = strdup("3.1");
        e->seq = INT64_MAX;
        e->timer_kind = DF__TK_CB_HEARTBEAT;
        e->callback_id = strdup("cb-7f3a");
        e->callback_kind = DF__CB_FAILURE;
        e->error = strdup("card declined");
        e->request_id = strdup("req-42");
        e->ts_ms = INT64_MIN;
        e->parent_id = strdup("parent-" UTF8_TEXT);
        e->parent_op = strdup("4.2");
        e->child_id = strdup("child-9");
        e->status = DF__ES_VERSION_MISSING;
        e->link = strdup("schedule:nightly");
}

static void check_event(const df__event_t *e)
{
        ck_assert_int_eq(e->type, DF__EV_CALLBACK);
        ck_assert_str_eq(e->execution_id, "exec-" UTF8_TEXT);
        ck_assert_str_eq(e->workflow, "orders.process");
        buf_eq(&e->input, BIN, sizeof BIN);
        ck_assert_str_eq(e->op_id, "3.1");
        ck_assert(e->seq == INT64_MAX);
        ck_assert_int_eq(e->timer_kind, DF__TK_CB_HEARTBEAT);
        ck_assert_str_eq(e->callback_id, "cb-7f3a");
        ck_assert_int_eq(e->callback_kind, DF__CB_FAILURE);
        ck_assert_str_eq(e->error, "card declined");
        ck_assert_str_eq(e->request_id, "req-42");
        ck_assert(e->ts_ms == INT64_MIN);
        ck_assert_str_eq(e->parent_id, "parent-" UTF8_TEXT);
        ck_assert_str_eq(e->parent_op, "4.2");
        ck_assert_str_eq(e->child_id, "child-9");
        ck_assert_int_eq(e->status, DF__ES_VERSION_MISSING);
        ck_assert_str_eq(e->link, "schedule:nightly");
}

static void fill_exec(df__exec_rec_t *r)
{
        memset(r, 0, sizeof *r);
        r->execution_id = strdup("e-1");
        r->workflow = strdup("wf");
        df__buf_set(&r->input, "{\"order\":10248}", 15);
        r->status = DF__ES_NONDETERMINISM;
        df__buf_set(&r->output, BIN, sizeof BIN);
        r->error = strdup("operation 2 was wait, code asks for step \"" UTF8_TEXT "\"");
        r->created_ms = 1700000000000;
        r->updated_ms = 1700000000999;
        r->op_count = INT32_MAX;
        r->version = 7;
        r->parent_id = strdup("p-1");
        r->parent_op = strdup("2.1");
        r->park_seq = 3;
        r->schedule = strdup("schedule:nightly");
        r->traceparent = strdup("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
}

static void check_exec(const df__exec_rec_t *r)
{
        ck_assert_str_eq(r->execution_id, "e-1");
        ck_assert_str_eq(r->workflow, "wf");
        buf_eq(&r->input, "{\"order\":10248}", 15);
        ck_assert_int_eq(r->status, DF__ES_NONDETERMINISM);
        buf_eq(&r->output, BIN, sizeof BIN);
        ck_assert_str_eq(r->error, "operation 2 was wait, code asks for step \"" UTF8_TEXT "\"");
        ck_assert(r->created_ms == 1700000000000);
        ck_assert(r->updated_ms == 1700000000999);
        ck_assert_int_eq(r->op_count, INT32_MAX);
        ck_assert_int_eq(r->version, 7);
        ck_assert_str_eq(r->parent_id, "p-1");
        ck_assert_str_eq(r->parent_op, "2.1");
        ck_assert(r->park_seq == 3);
        ck_assert_str_eq(r->schedule, "schedule:nightly");
        ck_assert_str_eq(r->traceparent, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
}

static void fill_op(df__op_rec_t *r)
{
        memset(r, 0, sizeof *r);
        r->execution_id = strdup("e-1");
        r->op_id = strdup("3.2");
        r->parent_id = strdup("3");
        r->name = strdup("charge " UTF8_TEXT);
        r->type = DF__OP_CALLBACK;
        r->status = DF__OS_TIMED_OUT;
        r->attempt = 5;
        df__buf_set(&r->result, BIN, sizeof BIN);
        r->error = strdup("heartbeat timeout");
        r->started_ms = -1;
        r->updated_ms = 1;
        r->due_ms = 31622400000LL;
        r->callback_id = strdup("cb-1");
        r->seq = 9;
        r->hb_timeout_ms = 60000;
        r->child_count = 1000;
        r->child_id = strdup("child-" UTF8_TEXT);
}

static void check_op(const df__op_rec_t *r)
{
        ck_assert_str_eq(r->execution_id, "e-1");
        ck_assert_str_eq(r->op_id, "3.2");
        ck_assert_str_eq(r->parent_id, "3");
        ck_assert_str_eq(r->name, "charge " UTF8_TEXT);
        ck_assert_int_eq(r->type, DF__OP_CALLBACK);
        ck_assert_int_eq(r->status, DF__OS_TIMED_OUT);
        ck_assert_int_eq(r->attempt, 5);
        buf_eq(&r->result, BIN, sizeof BIN);
        ck_assert_str_eq(r->error, "heartbeat timeout");
        ck_assert(r->started_ms == -1);
        ck_assert(r->updated_ms == 1);
        ck_assert(r->due_ms == 31622400000LL);
        ck_assert_str_eq(r->callback_id, "cb-1");
        ck_assert(r->seq == 9);
        ck_assert(r->hb_timeout_ms == 60000);
        ck_assert_int_eq(r->child_count, 1000);
        ck_assert_str_eq(r->child_id, "child-" UTF8_TEXT);
}

static void fill_timer(df__timer_rec_t *r)
{
        memset(r, 0, sizeof *r);
        r->timer_id = strdup("e-1/2#3");
        r->due_ms = 1735689600000LL;
        r->topic = strdup("duraflow.events");
        df__buf_set(&r->key, "e-1", 3);
        df__buf_set(&r->payload, BIN, sizeof BIN);
        r->created_ms = 1704067200000LL;
}

static void check_timer(const df__timer_rec_t *r)
{
        ck_assert_str_eq(r->timer_id, "e-1/2#3");
        ck_assert(r->due_ms == 1735689600000LL);
        ck_assert_str_eq(r->topic, "duraflow.events");
        buf_eq(&r->key, "e-1", 3);
        buf_eq(&r->payload, BIN, sizeof BIN);
        ck_assert(r->created_ms == 1704067200000LL);
}

static void fill_result(df__result_rec_t *r)
{
        memset(r, 0, sizeof *r);
        r->kind = DF__RK_REPLY;
        r->execution_id = strdup("e-1");
        r->request_id = strdup("req-9");
        r->status = DF__ES_FAILED;
        r->code = -17;
        df__buf_set(&r->output, BIN, sizeof BIN);
        r->error = strdup("conflict: different input");
        r->ts_ms = 42;
}

static void check_result(const df__result_rec_t *r)
{
        ck_assert_int_eq(r->kind, DF__RK_REPLY);
        ck_assert_str_eq(r->execution_id, "e-1");
        ck_assert_str_eq(r->request_id, "req-9");
        ck_assert_int_eq(r->status, DF__ES_FAILED);
        ck_assert_int_eq(r->code, -17);
        buf_eq(&r->output, BIN, sizeof BIN);
        ck_assert_str_eq(r->error, "conflict: different input");
        ck_assert(r->ts_ms == 42);
}

static void fill_dlq(df__dlq_rec_t *r)
{
        memset(r, 0, sizeof *r);
        r->topic = strdup("duraflow.events");
        r->partition = -1;
        r->offset = 123456789012LL;
        df__buf_set(&r->key, BIN, 3);
        df__buf_set(&r->value, BIN, sizeof BIN);
        r->error = strdup("bad marker 7b 22");
        r->ts_ms = 7;
}

static void check_dlq(const df__dlq_rec_t *r)
{
        ck_assert_str_eq(r->topic, "duraflow.events");
        ck_assert_int_eq(r->partition, -1);
        ck_assert(r->offset == 123456789012LL);
        buf_eq(&r->key, BIN, 3);
        buf_eq(&r->value, BIN, sizeof BIN);
        ck_assert_str_eq(r->error, "bad marker 7b 22");
        ck_assert(r->ts_ms == 7);
}

static int all_zero(const void *p, size_t n)
{
        const uint8_t *b = p;
        for (size_t i = 0; i < n; i++)
                if (b[i])
                        return 0;
        return 1;
}

/* ------------------------------------------------------------------ */
/* Fingerprints and PCF.                                               */

START_TEST(test_crc64_vectors)
{
        /* Avro specification / Java SchemaNormalization test vectors. */
        ck_assert_uint_eq(df__crc64_avro("\"int\"", 5), UINT64_C(0x7275d51a3f395c8f));
        ck_assert_uint_eq(df__crc64_avro("\"string\"", 8), UINT64_C(0x8f014872634503c7));
        /* Empty input is the EMPTY constant. */
        ck_assert_uint_eq(df__crc64_avro("", 0), UINT64_C(0xc15d213aa4d7a795));
}
END_TEST

/* From Avro's share/test/data/schema-tests.txt: input, canonical form,
 * fingerprint (signed 64-bit, as Java prints it). */
static const struct {
        const char *in, *pcf;
        int64_t fp;
} pcf_vectors[] = {
        {"\"null\"", "\"null\"", 7195948357588979594LL},
        {"{\"type\":\"null\"}", "\"null\"", 7195948357588979594LL},
        {"\"boolean\"", "\"boolean\"", -6970731678124411036LL},
        {"\"int\"", "\"int\"", 8247732601305521295LL},
        {"{\"type\":\"int\"}", "\"int\"", 8247732601305521295LL},
        {"\"long\"", "\"long\"", -3434872931120570953LL},
        {"\"float\"", "\"float\"", 5583340709985441680LL},
        {"\"double\"", "\"double\"", -8181574048448539266LL},
        {"\"bytes\"", "\"bytes\"", 5746618253357095269LL},
        {"\"string\"", "\"string\"", -8142146995180207161LL},
        {"{\"type\":\"string\"}", "\"string\"", -8142146995180207161LL},
        {"[  ]", "[]", -1241056759729112623LL},
        {"[ \"int\"  ]", "[\"int\"]", -5232228896498058493LL},
        {"[ \"int\" , {\"type\":\"boolean\"} ]", "[\"int\",\"boolean\"]", 5392556393470105090LL},
        {"{\"fields\":[], \"type\":\"record\", \"name\":\"foo\"}", "{\"name\":\"foo\",\"type\":\"record\",\"fields\":[]}",
         -4824392279771201922LL},
        {"{\"fields\":[], \"type\":\"record\", \"name\":\"foo\", \"namespace\":\"x.y\"}",
         "{\"name\":\"x.y.foo\",\"type\":\"record\",\"fields\":[]}", 5916914534497305771LL},
        {"{\"fields\":[], \"type\":\"record\", \"name\":\"a.b.foo\", \"namespace\":\"x.y\"}",
         "{\"name\":\"a.b.foo\",\"type\":\"record\",\"fields\":[]}", -4616218487480524110LL},
        {"{\"fields\":[], \"type\":\"record\", \"name\":\"foo\", \"doc\":\"Useful info\"}",
         "{\"name\":\"foo\",\"type\":\"record\",\"fields\":[]}", -4824392279771201922LL},
        {"{\"fields\":[], \"type\":\"record\", \"name\":\"foo\", \"aliases\":[\"foo\",\"bar\"]}",
         "{\"name\":\"foo\",\"type\":\"record\",\"fields\":[]}", -4824392279771201922LL},
        {"{\"fields\":[{\"type\":{\"type\":\"boolean\"}, \"name\":\"f1\"}], \"type\":\"record\", \"name\":\"foo\"}",
         "{\"name\":\"foo\",\"type\":\"record\",\"fields\":[{\"name\":\"f1\",\"type\":\"boolean\"}]}",
         7843277075252814651LL},
        {"{ \"fields\":[{\"type\":\"boolean\", \"aliases\":[], \"name\":\"f1\", \"default\":\"true\"},\n"
         "            {\"order\":\"descending\",\"name\":\"f2\",\"doc\":\"Hello\",\"type\":\"int\"}],\n"
         "  \"type\":\"record\", \"name\":\"foo\"\n}",
         "{\"name\":\"foo\",\"type\":\"record\",\"fields\":[{\"name\":\"f1\",\"type\":\"boolean\"},{\"name\":\"f2\","
         "\"type\":\"int\"}]}",
         -4860222112080293046LL},
        {"{\"type\":\"enum\", \"name\":\"foo\", \"symbols\":[\"A1\"]}",
         "{\"name\":\"foo\",\"type\":\"enum\",\"symbols\":[\"A1\"]}", -6342190197741309591LL},
        {"{\"namespace\":\"x.y.z\", \"type\":\"enum\", \"name\":\"foo\", \"doc\":\"foo bar\", \"symbols\":[\"A1\", "
         "\"A2\"]}",
         "{\"name\":\"x.y.z.foo\",\"type\":\"enum\",\"symbols\":[\"A1\",\"A2\"]}", -4448647247586288245LL},
        {"{\"name\":\"foo\",\"type\":\"fixed\",\"size\":15}", "{\"name\":\"foo\",\"type\":\"fixed\",\"size\":15}",
         1756455273707447556LL},
        {"{\"namespace\":\"x.y.z\", \"type\":\"fixed\", \"name\":\"foo\", \"doc\":\"foo bar\", \"size\":32}",
         "{\"name\":\"x.y.z.foo\",\"type\":\"fixed\",\"size\":32}", -3064184465700546786LL},
        {"{ \"items\":{\"type\":\"null\"}, \"type\":\"array\"}", "{\"type\":\"array\",\"items\":\"null\"}",
         -589620603366471059LL},
        {"{ \"values\":\"string\", \"type\":\"map\"}", "{\"type\":\"map\",\"values\":\"string\"}",
         -8732877298790414990LL},
        {"{\"name\":\"PigValue\",\"type\":\"record\",\n"
         "   \"fields\":[{\"name\":\"value\", \"type\":[\"null\", \"int\", \"long\", \"PigValue\"]}]}",
         "{\"name\":\"PigValue\",\"type\":\"record\",\"fields\":[{\"name\":\"value\",\"type\":[\"null\",\"int\","
         "\"long\",\"PigValue\"]}]}",
         -1759257747318642341LL},
};

START_TEST(test_pcf_vectors)
{
        for (size_t i = 0; i < sizeof pcf_vectors / sizeof pcf_vectors[0]; i++) {
                char err[ERRSZ] = "";
                char *pcf = NULL;
                ck_assert_msg(df__codec_pcf(pcf_vectors[i].in, strlen(pcf_vectors[i].in), &pcf, err, sizeof err) == 0,
                              "vector %zu: %s", i, err);
                ck_assert_str_eq(pcf, pcf_vectors[i].pcf);
                ck_assert_uint_eq(df__crc64_avro(pcf, strlen(pcf)), (uint64_t)pcf_vectors[i].fp);
                free(pcf);
        }
        /* Nested named types take the enclosing namespace. */
        const char *nested = "{\"type\":\"record\",\"name\":\"R\",\"namespace\":\"a.b\",\"fields\":["
                             "{\"name\":\"e\",\"type\":{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"X\"]}},"
                             "{\"name\":\"e2\",\"type\":\"E\"},{\"name\":\"m\",\"type\":{\"type\":\"map\",\"values\":"
                             "{\"type\":\"fixed\",\"name\":\"c.F\",\"size\":4}}}]}";
        char err[ERRSZ] = "";
        char *pcf = NULL;
        ck_assert_msg(df__codec_pcf(nested, strlen(nested), &pcf, err, sizeof err) == 0, "%s", err);
        ck_assert_str_eq(pcf, "{\"name\":\"a.b.R\",\"type\":\"record\",\"fields\":[{\"name\":\"e\",\"type\":{\"name\":"
                              "\"a.b.E\",\"type\":\"enum\",\"symbols\":[\"X\"]}},{\"name\":\"e2\",\"type\":\"a.b.E\"},"
                              "{\"name\":\"m\",\"type\":{\"type\":\"map\",\"values\":{\"name\":\"c.F\",\"type\":"
                              "\"fixed\",\"size\":4}}}]}");
        free(pcf);
        ck_assert_int_eq(df__codec_pcf("{\"type\":", 8, &pcf, err, sizeof err), -1);
        ck_assert_ptr_null(pcf);
        ck_assert_ptr_nonnull(strstr(err, "not valid JSON"));
}
END_TEST

START_TEST(test_schema_fingerprints)
{
        /* The registry's fingerprint of Event is the CRC of the hand-written PCF. */
        ck_assert_uint_eq(df__codec_fingerprint(DF__REC_EVENT), df__crc64_avro(EVENT_PCF, strlen(EVENT_PCF)));
        ck_assert_uint_ne(df__codec_fingerprint(DF__REC_EVENT), df__crc64_avro(EVENT_V0_PCF, strlen(EVENT_V0_PCF)));
        ck_assert_uint_ne(df__codec_fingerprint(DF__REC_EVENT), df__crc64_avro(EVENT_V2_PCF, strlen(EVENT_V2_PCF)));
        static const char *names[] = {"", "Event", "Execution", "Operation", "Timer", "Result", "DeadLetter",
                                      "Schedule"};
        for (int t = DF__REC_EVENT; t <= DF__REC_SCHEDULE; t++) {
                uint64_t fp = df__codec_fingerprint((df__rec_type_t)t);
                ck_assert_uint_ne(fp, 0);
                for (int u = DF__REC_EVENT; u < t; u++)
                        ck_assert_uint_ne(fp, df__codec_fingerprint((df__rec_type_t)u));
                printf("fingerprint io.duraflow.%-10s %016" PRIx64 "\n", names[t], fp);
        }
        printf("fingerprint io.duraflow.Event v0   %016" PRIx64 "\n", df__crc64_avro(EVENT_V0_PCF, strlen(EVENT_V0_PCF)));
        ck_assert_uint_eq(df__codec_fingerprint(DF__REC_UNKNOWN), 0);
        /* init is idempotent */
        char err[ERRSZ];
        ck_assert_int_eq(df__codec_init(err, sizeof err), 0);
        ck_assert_int_eq(df__codec_init(NULL, 0), 0);
}
END_TEST

START_TEST(test_utf8)
{
        static const struct {
                const char *s;
                size_t n;
                int ok;
        } v[] = {
                {"", 0, 1},
                {"plain ascii", 11, 1},
                {UTF8_TEXT, sizeof UTF8_TEXT - 1, 1},
                {"a\0b", 3, 1},                  /* U+0000 is UTF-8 (the codec rejects it in fields) */
                {"\xC2\x80", 2, 1},              /* U+0080 */
                {"\xDF\xBF", 2, 1},              /* U+07FF */
                {"\xE0\xA0\x80", 3, 1},          /* U+0800 */
                {"\xED\x9F\xBF", 3, 1},          /* U+D7FF */
                {"\xEE\x80\x80", 3, 1},          /* U+E000 */
                {"\xEF\xBF\xBF", 3, 1},          /* U+FFFF */
                {"\xF0\x90\x80\x80", 4, 1},      /* U+10000 */
                {"\xF4\x8F\xBF\xBF", 4, 1},      /* U+10FFFF */
                {"\xC0\xAF", 2, 0},              /* overlong '/' */
                {"\xC1\xBF", 2, 0},              /* overlong */
                {"\xE0\x80\xAF", 3, 0},          /* overlong */
                {"\xE0\x9F\xBF", 3, 0},          /* overlong U+07FF */
                {"\xF0\x80\x80\xAF", 4, 0},      /* overlong */
                {"\xF0\x8F\xBF\xBF", 4, 0},      /* overlong U+FFFF */
                {"\xED\xA0\x80", 3, 0},          /* surrogate U+D800 */
                {"\xED\xBF\xBF", 3, 0},          /* surrogate U+DFFF */
                {"\xED\xA0\xBD\xED\xB8\x80", 6, 0}, /* CESU-8 pair */
                {"\xF4\x90\x80\x80", 4, 0},      /* U+110000 */
                {"\xF5\x80\x80\x80", 4, 0},
                {"\xFF", 1, 0},
                {"\x80", 1, 0},                  /* lone continuation */
                {"\xC3", 1, 0},                  /* truncated */
                {"\xE2\x98", 2, 0},              /* truncated */
                {"\xF0\x9D\x84", 3, 0},          /* truncated */
                {"\xC3\x28", 2, 0},              /* bad continuation */
                {"\xE2\x28\xA1", 3, 0},
                {"ok\xE2\x98\x95ok\xC3", 9, 0},
        };
        for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
                ck_assert_msg(df__utf8_valid(v[i].s, v[i].n) == v[i].ok, "utf8 vector %zu", i);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Round trips.                                                        */

START_TEST(test_roundtrip_all)
{
        char err[ERRSZ] = "";
        df__buf_t b = {0}, b2 = {0};

        df__event_t ev, ev2;
        fill_event(&ev);
        ck_assert_msg(df__event_encode(&ev, &b, err, sizeof err) == 0, "%s", err);
        ck_assert_uint_eq(b.data[0], 0xC3);
        ck_assert_uint_eq(b.data[1], 0x01);
        ck_assert_uint_eq(hdr_fp(&b), df__crc64_avro(EVENT_PCF, strlen(EVENT_PCF)));
        ck_assert_int_eq(df__codec_peek(b.data, b.len), DF__REC_EVENT);
        ck_assert_msg(df__event_decode(b.data, b.len, &ev2, err, sizeof err) == 0, "%s", err);
        check_event(&ev2);
        ck_assert_int_eq(df__event_encode(&ev2, &b2, err, sizeof err), 0);
        ck_assert_uint_eq(b.len, b2.len);
        ck_assert_mem_eq(b.data, b2.data, b.len);
        df__event_clear(&ev);
        df__event_clear(&ev2);
        df__buf_clear(&b);
        df__buf_clear(&b2);

        df__exec_rec_t ex, ex2;
        fill_exec(&ex);
        ck_assert_msg(df__exec_encode(&ex, &b, err, sizeof err) == 0, "%s", err);
        ck_assert_int_eq(df__codec_peek(b.data, b.len), DF__REC_EXEC);
        ck_assert_msg(df__exec_decode(b.data, b.len, &ex2, err, sizeof err) == 0, "%s", err);
        check_exec(&ex2);
        df__exec_clear(&ex);
        df__exec_clear(&ex2);
        df__buf_clear(&b);

        df__op_rec_t op, op2;
        fill_op(&op);
        ck_assert_msg(df__op_encode(&op, &b, err, sizeof err) == 0, "%s", err);
        ck_assert_int_eq(df__codec_peek(b.data, b.len), DF__REC_OP);
        ck_assert_msg(df__op_decode(b.data, b.len, &op2, err, sizeof err) == 0, "%s", err);
        check_op(&op2);
        df__op_clear(&op);
        df__op_clear(&op2);
        df__buf_clear(&b);

        df__timer_rec_t tm, tm2;
        fill_timer(&tm);
        ck_assert_msg(df__timer_encode(&tm, &b, err, sizeof err) == 0, "%s", err);
        ck_assert_int_eq(df__codec_peek(b.data, b.len), DF__REC_TIMER);
        ck_assert_msg(df__timer_decode(b.data, b.len, &tm2, err, sizeof err) == 0, "%s", err);
        check_timer(&tm2);
        df__timer_clear(&tm);
        df__timer_clear(&tm2);
        df__buf_clear(&b);

        df__result_rec_t rs, rs2;
        fill_result(&rs);
        ck_assert_msg(df__result_encode(&rs, &b, err, sizeof err) == 0, "%s", err);
        ck_assert_int_eq(df__codec_peek(b.data, b.len), DF__REC_RESULT);
        ck_assert_msg(df__result_decode(b.data, b.len, &rs2, err, sizeof err) == 0, "%s", err);
        check_result(&rs2);
        df__result_clear(&rs);
        df__result_clear(&rs2);
        df__buf_clear(&b);

        df__dlq_rec_t dl, dl2;
        fill_dlq(&dl);
        ck_assert_msg(df__dlq_encode(&dl, &b, err, sizeof err) == 0, "%s", err);
        ck_assert_int_eq(df__codec_peek(b.data, b.len), DF__REC_DLQ);
        ck_assert_msg(df__dlq_decode(b.data, b.len, &dl2, err, sizeof err) == 0, "%s", err);
        check_dlq(&dl2);
        /* Exact wire bytes, against the hand-made writer. */
        tb_t t = {0};
        tb_hdr(&t, df__codec_fingerprint(DF__REC_DLQ));
        tb_fmt(&t, "silbbsl", "duraflow.events", (int32_t)-1, (int64_t)123456789012LL, BIN, (size_t)3, BIN, sizeof BIN,
               "bad marker 7b 22", (int64_t)7);
        ck_assert_uint_eq(b.len, t.len);
        ck_assert_mem_eq(b.data, t.p, t.len);
        tb_free(&t);
        df__dlq_clear(&dl);
        df__dlq_clear(&dl2);
        df__buf_clear(&b);

        df__sched_rec_t sc, sc2;
        memset(&sc, 0, sizeof sc);
        sc.name = "nightly";
        sc.cron = "30 2 * * mon-fri";
        sc.timezone = "Europe/Berlin";
        sc.workflow = "orders." UTF8_TEXT;
        sc.input.data = (uint8_t *)BIN;
        sc.input.len = sizeof BIN;
        sc.overlap = DF__OV_ALLOW;
        sc.paused = 1;
        sc.next_fire_ms = 1764552600000LL;
        sc.last_fire_ms = 1764466200000LL;
        sc.last_run_id = "nightly-20251130T013000Z";
        sc.running = 1;
        sc.fires = 41;
        sc.skipped = 3;
        sc.missed = INT64_MAX;
        sc.created_ms = 1700000000000LL;
        sc.updated_ms = INT64_MIN;
        ck_assert_msg(df__sched_encode(&sc, &b, err, sizeof err) == 0, "%s", err);
        ck_assert_int_eq(df__codec_peek(b.data, b.len), DF__REC_SCHEDULE);
        ck_assert_msg(df__sched_decode(b.data, b.len, &sc2, err, sizeof err) == 0, "%s", err);
        ck_assert_str_eq(sc2.name, "nightly");
        ck_assert_str_eq(sc2.cron, "30 2 * * mon-fri");
        ck_assert_str_eq(sc2.timezone, "Europe/Berlin");
        ck_assert_str_eq(sc2.workflow, "orders." UTF8_TEXT);
        buf_eq(&sc2.input, BIN, sizeof BIN);
        ck_assert_int_eq(sc2.overlap, DF__OV_ALLOW);
        ck_assert_int_eq(sc2.paused, 1);
        ck_assert(sc2.next_fire_ms == 1764552600000LL && sc2.last_fire_ms == 1764466200000LL);
        ck_assert_str_eq(sc2.last_run_id, "nightly-20251130T013000Z");
        ck_assert_int_eq(sc2.running, 1);
        ck_assert(sc2.fires == 41 && sc2.skipped == 3 && sc2.missed == INT64_MAX);
        ck_assert(sc2.created_ms == 1700000000000LL && sc2.updated_ms == INT64_MIN);
        /* a schedule record is not an execution's */
        ck_assert_int_eq(df__exec_decode(b.data, b.len, &ex, err, sizeof err), -1);
        ck_assert_ptr_nonnull(strstr(err, "is a io.duraflow.Schedule"));
        df__sched_clear(&sc2);
        df__buf_clear(&b);
}
END_TEST

START_TEST(test_zeroed_records)
{
        /* A zeroed struct (NULL strings, empty buffers) is a valid empty
         * record; it decodes with "" strings, never NULL. */
        char err[ERRSZ] = "";
        df__buf_t b = {0};
        df__op_rec_t op = {0}, op2;
        ck_assert_msg(df__op_encode(&op, &b, err, sizeof err) == 0, "%s", err);
        ck_assert_uint_eq(b.len, 10 + 17); /* one byte per field */
        ck_assert_int_eq(df__op_decode(b.data, b.len, &op2, err, sizeof err), 0);
        ck_assert_str_eq(op2.execution_id, "");
        ck_assert_str_eq(op2.name, "");
        ck_assert_str_eq(op2.callback_id, "");
        ck_assert_ptr_null(op2.result.data);
        ck_assert_uint_eq(op2.result.len, 0);
        ck_assert_int_eq(op2.attempt, 0);
        df__op_clear(&op2);
        df__buf_clear(&b);

        df__event_t ev = {0}, ev2;
        ck_assert_int_eq(df__event_encode(&ev, &b, err, sizeof err), 0);
        ck_assert_int_eq(df__event_decode(b.data, b.len, &ev2, err, sizeof err), 0);
        ck_assert_str_eq(ev2.request_id, "");
        ck_assert_uint_eq(ev2.input.len, 0);
        df__event_clear(&ev2);
        df__buf_clear(&b);

        df__dlq_rec_t dl = {0}, dl2;
        ck_assert_int_eq(df__dlq_encode(&dl, &b, err, sizeof err), 0);
        ck_assert_int_eq(df__dlq_decode(b.data, b.len, &dl2, err, sizeof err), 0);
        ck_assert_str_eq(dl2.topic, "");
        ck_assert_uint_eq(dl2.value.len, 0);
        df__dlq_clear(&dl2);
        df__buf_clear(&b);
}
END_TEST

START_TEST(test_payloads)
{
        char err[ERRSZ] = "";
        df__buf_t b = {0};
        df__op_rec_t op, op2;

        /* Empty payload with a non-NULL pointer. */
        fill_op(&op);
        df__buf_clear(&op.result);
        op.result.data = malloc(1);
        op.result.len = 0;
        ck_assert_int_eq(df__op_encode(&op, &b, err, sizeof err), 0);
        ck_assert_int_eq(df__op_decode(b.data, b.len, &op2, err, sizeof err), 0);
        ck_assert_uint_eq(op2.result.len, 0);
        ck_assert_str_eq(op2.error, "heartbeat timeout");
        df__op_clear(&op2);
        df__buf_clear(&b);

        /* Binary: every byte value, NULs and invalid UTF-8 carried untouched. */
        uint8_t all[512];
        for (int i = 0; i < 512; i++)
                all[i] = (uint8_t)(i % 256);
        ck_assert_int_eq(df__buf_set(&op.result, all, sizeof all), 0);
        ck_assert_int_eq(df__op_encode(&op, &b, err, sizeof err), 0);
        ck_assert_int_eq(df__op_decode(b.data, b.len, &op2, err, sizeof err), 0);
        buf_eq(&op2.result, all, sizeof all);
        df__op_clear(&op2);
        df__buf_clear(&b);

        /* Exactly the limit: 1,000,000 bytes round trip. */
        uint8_t *big = malloc(DF__PAYLOAD_MAX + 1);
        ck_assert_ptr_nonnull(big);
        for (size_t i = 0; i < DF__PAYLOAD_MAX + 1; i++)
                big[i] = (uint8_t)(i * 2654435761u >> 13);
        ck_assert_int_eq(df__buf_set(&op.result, big, DF__PAYLOAD_MAX), 0);
        ck_assert_msg(df__op_encode(&op, &b, err, sizeof err) == 0, "%s", err);
        ck_assert_int_eq(df__op_decode(b.data, b.len, &op2, err, sizeof err), 0);
        buf_eq(&op2.result, big, DF__PAYLOAD_MAX);
        ck_assert_str_eq(op2.name, "charge " UTF8_TEXT);
        df__op_clear(&op2);
        df__buf_clear(&b);

        /* One over: rejected, non-retryable, with the message. */
        ck_assert_int_eq(df__buf_set(&op.result, big, DF__PAYLOAD_MAX + 1), 0);
        b.data = (uint8_t *)"sentinel";
        b.len = 8;
        ck_assert_int_eq(df__op_encode(&op, &b, err, sizeof err), -1);
        ck_assert_str_eq(err, "Operation.result is 1000001 bytes, over the limit of 1000000");
        ck_assert_ptr_null(b.data);
        ck_assert_uint_eq(b.len, 0);
        df__op_clear(&op);

        df__event_t ev = {0};
        ev.input.data = big;
        ev.input.len = DF__PAYLOAD_MAX + 1;
        ck_assert_int_eq(df__event_encode(&ev, &b, err, sizeof err), -1);
        ck_assert_str_eq(err, "Event.input is 1000001 bytes, over the limit of 1000000");

        df__exec_rec_t ex = {0};
        ex.output.data = big;
        ex.output.len = DF__PAYLOAD_MAX + 1;
        ck_assert_int_eq(df__exec_encode(&ex, &b, err, sizeof err), -1);
        ck_assert_str_eq(err, "Execution.output is 1000001 bytes, over the limit of 1000000");

        df__timer_rec_t tm = {0};
        tm.payload.data = big;
        tm.payload.len = DF__PAYLOAD_MAX + 1;
        ck_assert_int_eq(df__timer_encode(&tm, &b, err, sizeof err), -1);
        ck_assert_str_eq(err, "Timer.payload is 1000001 bytes, over the limit of 1000000");

        df__result_rec_t rs = {0};
        rs.output.data = big;
        rs.output.len = DF__PAYLOAD_MAX + 1;
        ck_assert_int_eq(df__result_encode(&rs, &b, err, sizeof err), -1);
        ck_assert_str_eq(err, "Result.output is 1000001 bytes, over the limit of 1000000");

        /* Over the limit on the decode side too (hand-made body). */
        tb_t t = {0};
        tb_hdr(&t, df__codec_fingerprint(DF__REC_OP));
        tb_fmt(&t, OP_FMT, "e", "1", "", "n", (int32_t)0, (int32_t)2, (int32_t)1, big, (size_t)(DF__PAYLOAD_MAX + 1), "",
               (int64_t)0, (int64_t)0, (int64_t)0, "", (int64_t)0, (int64_t)0, (int32_t)0, "");
        ck_assert_int_eq(df__op_decode(t.p, t.len, &op2, err, sizeof err), -1);
        ck_assert_str_eq(err, "Operation.result is 1000001 bytes, over the limit of 1000000");
        ck_assert(all_zero(&op2, sizeof op2));
        tb_free(&t);
        free(big);

        /* DeadLetter.value: up to 4 MiB. */
        uint8_t *huge = calloc(1, DLQ_MAX + 1);
        ck_assert_ptr_nonnull(huge);
        huge[0] = 0xC3;
        huge[DLQ_MAX - 1] = 0xFF;
        df__dlq_rec_t dl = {0}, dl2;
        dl.value.data = huge;
        dl.value.len = DLQ_MAX;
        ck_assert_msg(df__dlq_encode(&dl, &b, err, sizeof err) == 0, "%s", err);
        ck_assert_int_eq(df__dlq_decode(b.data, b.len, &dl2, err, sizeof err), 0);
        buf_eq(&dl2.value, huge, DLQ_MAX);
        df__dlq_clear(&dl2);
        df__buf_clear(&b);
        dl.value.len = DLQ_MAX + 1;
        ck_assert_int_eq(df__dlq_encode(&dl, &b, err, sizeof err), -1);
        ck_assert_str_eq(err, "DeadLetter.value is 4194305 bytes, over the limit of 4194304");
        free(huge);

        /* A buffer with length but no data is a caller bug, reported. */
        ev.input.data = NULL;
        ev.input.len = 3;
        ck_assert_int_eq(df__event_encode(&ev, &b, err, sizeof err), -1);
        ck_assert_str_eq(err, "Event.input has length 3 but no data");
}
END_TEST

/* ------------------------------------------------------------------ */
/* Validation.                                                          */

START_TEST(test_utf8_fields)
{
        char err[ERRSZ] = "";
        df__buf_t b = {0};

        /* Encode side. */
        df__event_t ev = {0};
        ev.workflow = "bad \xC0\xAF overlong";
        ck_assert_int_eq(df__event_encode(&ev, &b, err, sizeof err), -1);
        ck_assert_str_eq(err, "invalid UTF-8 in string field Event.workflow");
        ck_assert_ptr_null(b.data);
        ev.workflow = NULL;
        ev.request_id = "\xED\xA0\x80";
        ck_assert_int_eq(df__event_encode(&ev, &b, err, sizeof err), -1);
        ck_assert_str_eq(err, "invalid UTF-8 in string field Event.request_id");

        df__op_rec_t op = {0};
        op.name = "\xFF";
        ck_assert_int_eq(df__op_encode(&op, &b, err, sizeof err), -1);
        ck_assert_str_eq(err, "invalid UTF-8 in string field Operation.name");

        df__dlq_rec_t dl = {0};
        dl.error = "truncated \xE2\x98";
        ck_assert_int_eq(df__dlq_encode(&dl, &b, err, sizeof err), -1);
        ck_assert_str_eq(err, "invalid UTF-8 in string field DeadLetter.error");

        /* Decode side: hand-made bodies. */
        static const struct {
                const char *s;
                size_t n;
                const char *msg;
        } bad[] = {
                {"\xC0\xAF", 2, "invalid UTF-8 in string field Event.workflow"},
                {"\xED\xA0\x80", 3, "invalid UTF-8 in string field Event.workflow"},
                {"\xF8\x88\x80\x80\x80", 5, "invalid UTF-8 in string field Event.workflow"},
                {"ab\0cd", 5, "string field Event.workflow contains a NUL character"},
        };
        uint64_t fp = df__codec_fingerprint(DF__REC_EVENT);
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                tb_t t = {0};
                df__event_t out;
                tb_hdr(&t, fp);
                tb_fmt(&t, "isbbslisissl" "sssi" "s" "i", (int32_t)0, "e-1", bad[i].s, bad[i].n, "", (size_t)0, "",
                       (int64_t)0, (int32_t)0, "", (int32_t)0, "", "", (int64_t)0, "", "", "", (int32_t)0, "",
                       (int32_t)0);
                ck_assert_int_eq(df__event_decode(t.p, t.len, &out, err, sizeof err), -1);
                ck_assert_str_eq(err, bad[i].msg);
                ck_assert(all_zero(&out, sizeof out));
                tb_free(&t);
        }
        /* The same body with valid text decodes. */
        tb_t t = {0};
        df__event_t out;
        tb_hdr(&t, fp);
        tb_fmt(&t, "isbbslisissl" "sssi" "s" "i", (int32_t)0, "e-1", UTF8_TEXT, sizeof UTF8_TEXT - 1, "", (size_t)0,
               "", (int64_t)0, (int32_t)0, "", (int32_t)0, "", "", (int64_t)0, "", "", "", (int32_t)0, "", (int32_t)0);
        ck_assert_msg(df__event_decode(t.p, t.len, &out, err, sizeof err) == 0, "%s", err);
        ck_assert_str_eq(out.workflow, UTF8_TEXT);
        df__event_clear(&out);
        tb_free(&t);
}
END_TEST

START_TEST(test_enum_ranges)
{
        char err[ERRSZ] = "";
        df__buf_t b = {0};
        df__event_t ev = {0}, out;
        /* executions' types 0..7, the schedules' 20..26 */
        ev.type = 27;
        ck_assert_int_eq(df__event_encode(&ev, &b, err, sizeof err), -1);
        ck_assert_str_eq(err, "Event.type is 27, out of range [0, 26]");
        ev.type = -1;
        ck_assert_int_eq(df__event_encode(&ev, &b, err, sizeof err), -1);
        ck_assert_str_eq(err, "Event.type is -1, out of range [0, 26]");
        for (ev.type = DF__EV_SCHEDULE_CREATE; ev.type <= DF__EV_SCHEDULE_RUN_DONE; ev.type++) {
                ck_assert_msg(df__event_encode(&ev, &b, err, sizeof err) == 0, "%s", err);
                ck_assert_int_eq(df__event_decode(b.data, b.len, &out, err, sizeof err), 0);
                ck_assert_int_eq(out.type, ev.type);
                df__event_clear(&out);
                df__buf_clear(&b);
        }
        df__sched_rec_t sr = {0};
        sr.overlap = 2;
        ck_assert_int_eq(df__sched_encode(&sr, &b, err, sizeof err), -1);
        ck_assert_str_eq(err, "Schedule.overlap is 2, out of range [0, 1]");
        sr.overlap = DF__OV_ALLOW;
        sr.paused = 2;
        ck_assert_int_eq(df__sched_encode(&sr, &b, err, sizeof err), -1);
        ck_assert_str_eq(err, "Schedule.paused is 2, out of range [0, 1]");
        ev.type = DF__EV_TIMER;
        ev.timer_kind = -1;
        ck_assert_int_eq(df__event_encode(&ev, &b, err, sizeof err), -1);
        ck_assert_str_eq(err, "Event.timer_kind is -1, out of range [0, 5]");
        ev.timer_kind = DF__TK_WAIT;
        ev.type = DF__EV_CHILD_DONE;
        ev.status = 10;
        ck_assert_int_eq(df__event_encode(&ev, &b, err, sizeof err), -1);
        ck_assert_str_eq(err, "Event.status is 10, out of range [0, 9]");
        ev.status = 0;

        df__op_rec_t op = {0};
        op.status = 99;
        ck_assert_int_eq(df__op_encode(&op, &b, err, sizeof err), -1);
        ck_assert_str_eq(err, "Operation.status is 99, out of range [0, 4]");

        /* Decode: status 9 of an Execution, Event.callback_kind 3. */
        tb_t t = {0};
        tb_hdr(&t, df__codec_fingerprint(DF__REC_EVENT));
        tb_fmt(&t, EVENT_FMT, (int32_t)2, "e", "", "", (size_t)0, "", (int64_t)0, (int32_t)0, "cb", (int32_t)3, "", "",
               (int64_t)0, "", "", "", (int32_t)0, "", (int32_t)0);
        ck_assert_int_eq(df__event_decode(t.p, t.len, &out, err, sizeof err), -1);
        ck_assert_str_eq(err, "Event.callback_kind is 3, out of range [0, 2]");
        ck_assert(all_zero(&out, sizeof out));
        tb_free(&t);

        df__exec_rec_t ex;
        tb_hdr(&t, df__codec_fingerprint(DF__REC_EXEC));
        tb_fmt(&t, "ssbibsll" "i" "isib" "issl" "s" "is" "s", "e", "w", "", (size_t)0, (int32_t)11, "", (size_t)0, "",
               (int64_t)0, (int64_t)0, (int32_t)0, (int32_t)0, "", (int32_t)0, "", (size_t)0, (int32_t)1, "", "",
               (int64_t)0, "", (int32_t)0, "", "");
        ck_assert_int_eq(df__exec_decode(t.p, t.len, &ex, err, sizeof err), -1);
        ck_assert_str_eq(err, "Execution.status is 11, out of range [0, 10]");
        tb_free(&t);

        /* An int field whose varint does not fit 32 bits. */
        tb_hdr(&t, df__codec_fingerprint(DF__REC_EVENT));
        tb_long(&t, (int64_t)INT32_MAX + 1);
        tb_fmt(&t, "ssbslisissl" "sssi" "s", "e", "", "", (size_t)0, "", (int64_t)0, (int32_t)0, "", (int32_t)0, "",
               "", (int64_t)0, "", "", "", (int32_t)0, "");
        ck_assert_int_eq(df__event_decode(t.p, t.len, &out, err, sizeof err), -1);
        ck_assert_str_eq(err, "malformed body: Event.type = 2147483648 does not fit an int");
        tb_free(&t);
}
END_TEST

START_TEST(test_malformed)
{
        char err[ERRSZ] = "";
        df__buf_t b = {0};
        df__op_rec_t op, out;
        fill_op(&op);
        ck_assert_int_eq(df__op_encode(&op, &b, err, sizeof err), 0);
        df__op_clear(&op);

        /* Empty input. */
        ck_assert_int_eq(df__op_decode(NULL, 0, &out, err, sizeof err), -1);
        ck_assert_str_eq(err, "Operation decode: empty input");
        ck_assert_int_eq(df__op_decode(b.data, 0, &out, err, sizeof err), -1);
        ck_assert_str_eq(err, "Operation decode: empty input");
        ck_assert_int_eq(df__codec_peek(b.data, 0), DF__REC_UNKNOWN);

        /* Every truncation fails cleanly and says so. */
        for (size_t n = 1; n < b.len; n++) {
                ck_assert_int_eq(df__op_decode(b.data, n, &out, err, sizeof err), -1);
                ck_assert_msg(strstr(err, "truncated") != NULL, "len %zu: %s", n, err);
                ck_assert(all_zero(&out, sizeof out));
        }
        ck_assert_int_eq(df__op_decode(b.data, 10, &out, err, sizeof err), -1);
        ck_assert_str_eq(err, "truncated body: Operation ends inside field execution_id (0 body bytes)");
        ck_assert_int_eq(df__op_decode(b.data, 5, &out, err, sizeof err), -1);
        ck_assert_str_eq(err, "Operation decode: truncated header: 5 bytes, need 10");
        ck_assert_int_eq(df__codec_peek(b.data, 9), DF__REC_UNKNOWN);

        /* Trailing garbage. */
        uint8_t *longer = malloc(b.len + 3);
        memcpy(longer, b.data, b.len);
        memcpy(longer + b.len, "xyz", 3);
        ck_assert_int_eq(df__op_decode(longer, b.len + 1, &out, err, sizeof err), -1);
        ck_assert_str_eq(err, "1 trailing byte after the Operation body");
        ck_assert_int_eq(df__op_decode(longer, b.len + 3, &out, err, sizeof err), -1);
        ck_assert_str_eq(err, "3 trailing bytes after the Operation body");
        ck_assert(all_zero(&out, sizeof out));
        free(longer);

        /* Wrong marker. */
        uint8_t *copy = malloc(b.len);
        memcpy(copy, b.data, b.len);
        copy[1] = 0x02;
        ck_assert_int_eq(df__op_decode(copy, b.len, &out, err, sizeof err), -1);
        ck_assert_str_eq(err, "Operation decode: bad marker c3 02, expected c3 01 (not Avro single-object encoded)");
        ck_assert_int_eq(df__codec_peek(copy, b.len), DF__REC_UNKNOWN);
        ck_assert_int_eq(df__op_decode("{\"op\":1}", 8, &out, err, sizeof err), -1);
        ck_assert_str_eq(err, "Operation decode: bad marker 7b 22, expected c3 01 (not Avro single-object encoded)");
        ck_assert_int_eq(df__op_decode("\x00", 1, &out, err, sizeof err), -1);
        ck_assert_str_eq(err, "Operation decode: bad marker 00, expected c3 01 (not Avro single-object encoded)");
        ck_assert_int_eq(df__op_decode("\xC3", 1, &out, err, sizeof err), -1);
        ck_assert_str_eq(err, "Operation decode: truncated header: 1 bytes, need 10");

        /* Unknown fingerprint. */
        memcpy(copy, b.data, b.len);
        copy[2] ^= 0x01;
        uint64_t fp = hdr_fp(&b) ^ 1;
        char want[128];
        snprintf(want, sizeof want, "Operation decode: unknown schema fingerprint %016" PRIx64, fp);
        ck_assert_int_eq(df__op_decode(copy, b.len, &out, err, sizeof err), -1);
        ck_assert_str_eq(err, want);
        ck_assert_int_eq(df__codec_peek(copy, b.len), DF__REC_UNKNOWN);
        free(copy);

        /* A record of another type. */
        df__event_t ev;
        ck_assert_int_eq(df__event_decode(b.data, b.len, &ev, err, sizeof err), -1);
        ck_assert_str_eq(err, "Event decode: record is a io.duraflow.Operation (schemas/Operation.avsc), expected "
                              "io.duraflow.Event");
        ck_assert(all_zero(&ev, sizeof ev));
        df__buf_clear(&b);

        /* Hostile lengths and varints, bounded before avro-c sees them. */
        tb_t t = {0};
        tb_hdr(&t, df__codec_fingerprint(DF__REC_OP));
        tb_long(&t, INT64_MAX); /* execution_id claims 2^63-1 bytes */
        ck_assert_int_eq(df__op_decode(t.p, t.len, &out, err, sizeof err), -1);
        ck_assert_str_eq(err, "Operation.execution_id is 9223372036854775807 bytes, over the limit of 1000000");
        tb_free(&t);

        tb_hdr(&t, df__codec_fingerprint(DF__REC_OP));
        tb_long(&t, 999999); /* plausible length, missing bytes */
        tb_add(&t, "abc", 3);
        ck_assert_int_eq(df__op_decode(t.p, t.len, &out, err, sizeof err), -1);
        ck_assert_str_eq(err, "truncated body: Operation.execution_id needs 999999 bytes, 3 left");
        tb_free(&t);

        tb_hdr(&t, df__codec_fingerprint(DF__REC_OP));
        tb_long(&t, -5);
        ck_assert_int_eq(df__op_decode(t.p, t.len, &out, err, sizeof err), -1);
        ck_assert_str_eq(err, "malformed body: Operation.execution_id has negative length -5");
        tb_free(&t);

        tb_hdr(&t, df__codec_fingerprint(DF__REC_OP));
        for (int i = 0; i < 11; i++)
                tb_byte(&t, 0xFF);
        ck_assert_int_eq(df__op_decode(t.p, t.len, &out, err, sizeof err), -1);
        ck_assert_str_eq(err, "malformed body: Operation.execution_id has a varint longer than 64 bits");
        tb_free(&t);

        /* A 10-byte varint with bits beyond 64 is rejected; one within 64 is fine. */
        tb_hdr(&t, df__codec_fingerprint(DF__REC_TIMER));
        tb_fmt(&t, "s", "t");
        for (int i = 0; i < 9; i++)
                tb_byte(&t, 0xFF);
        tb_byte(&t, 0x02);
        tb_fmt(&t, "sbbl", "x", "", (size_t)0, "", (size_t)0, (int64_t)0);
        df__timer_rec_t tm;
        ck_assert_int_eq(df__timer_decode(t.p, t.len, &tm, err, sizeof err), -1);
        ck_assert_str_eq(err, "malformed body: Timer.due_ms has a varint longer than 64 bits");
        tb_free(&t);
        tb_hdr(&t, df__codec_fingerprint(DF__REC_TIMER));
        tb_fmt(&t, "slsbbl", "t", INT64_MIN, "x", "", (size_t)0, "", (size_t)0, (int64_t)0);
        ck_assert_uint_eq(t.p[10 + 2 + 9], 0x01); /* INT64_MIN needs all 10 bytes */
        ck_assert_msg(df__timer_decode(t.p, t.len, &tm, err, sizeof err) == 0, "%s", err);
        ck_assert(tm.due_ms == INT64_MIN);
        df__timer_clear(&tm);
        tb_free(&t);

        /* NULL output record. */
        ck_assert_int_eq(df__op_decode("x", 1, NULL, err, sizeof err), -1);
        ck_assert_int_eq(df__op_encode(NULL, &b, err, sizeof err), -1);
        ck_assert_int_eq(df__op_encode(&out, NULL, err, sizeof err), -1);
        /* NULL/short errstr is allowed. */
        ck_assert_int_eq(df__op_decode(NULL, 0, &out, NULL, 0), -1);
        char tiny[8];
        ck_assert_int_eq(df__op_decode(NULL, 0, &out, tiny, sizeof tiny), -1);
        ck_assert_str_eq(tiny, "Operati");
}
END_TEST

/* ------------------------------------------------------------------ */
/* Schema evolution.                                                    */

/* The fingerprint of schemas/<rel> (its PCF), read from the source tree. */
static uint64_t file_fp(const char *rel)
{
        char path[1024], err[ERRSZ] = "", *pcf = NULL, *text;
        FILE *f;
        long n;
        uint64_t fp;
        snprintf(path, sizeof path, "%s/%s", DF_SCHEMA_DIR, rel);
        f = fopen(path, "rb");
        ck_assert_msg(f != NULL, "cannot open %s", path);
        fseek(f, 0, SEEK_END);
        n = ftell(f);
        fseek(f, 0, SEEK_SET);
        text = malloc((size_t)n + 1);
        ck_assert_ptr_nonnull(text);
        ck_assert_uint_eq(fread(text, 1, (size_t)n, f), (size_t)n);
        fclose(f);
        ck_assert_msg(df__codec_pcf(text, (size_t)n, &pcf, err, sizeof err) == 0, "%s", err);
        fp = df__crc64_avro(pcf, strlen(pcf));
        free(pcf);
        free(text);
        return fp;
}

/* Records of in-flight executions written before child contexts, invoke
 * and versions (schemas/v1/) decode, the new fields taking the current
 * schema's defaults: an execution runs version 1, no parent, no children. */
START_TEST(test_evolution_v1_records)
{
        char err[ERRSZ] = "";
        uint64_t ev_fp = file_fp("v1/Event.avsc"), ex_fp = file_fp("v1/Execution.avsc"),
                 op_fp = file_fp("v1/Operation.avsc");
        tb_t t = {0};

        ck_assert_uint_eq(ev_fp, df__crc64_avro(EVENT_V1_PCF, strlen(EVENT_V1_PCF)));
        ck_assert_uint_ne(ev_fp, df__codec_fingerprint(DF__REC_EVENT));
        ck_assert_uint_ne(ex_fp, df__codec_fingerprint(DF__REC_EXEC));
        ck_assert_uint_ne(op_fp, df__codec_fingerprint(DF__REC_OP));

        df__event_t ev;
        tb_hdr(&t, ev_fp);
        tb_fmt(&t, EVENT_V1_FMT, (int32_t)DF__EV_START, "exec-1", "orders", BIN, sizeof BIN, "", (int64_t)0,
               (int32_t)0, "", (int32_t)0, "", "req-1", (int64_t)1700000000000LL);
        ck_assert_msg(df__event_decode(t.p, t.len, &ev, err, sizeof err) == 0, "%s", err);
        ck_assert_int_eq(ev.type, DF__EV_START);
        ck_assert_str_eq(ev.workflow, "orders");
        ck_assert_str_eq(ev.request_id, "req-1");
        ck_assert_str_eq(ev.parent_id, "");
        ck_assert_str_eq(ev.parent_op, "");
        ck_assert_str_eq(ev.child_id, "");
        ck_assert_int_eq(ev.status, 0);
        df__event_clear(&ev);
        tb_free(&t);

        df__exec_rec_t ex;
        tb_hdr(&t, ex_fp);
        tb_fmt(&t, "ssbibsll" "i" "isib", "exec-1", "orders", "in", (size_t)2, (int32_t)DF__ES_SUSPENDED, "",
               (size_t)0, "", (int64_t)1, (int64_t)2, (int32_t)4, (int32_t)1, "3", (int32_t)2, "", (size_t)0);
        ck_assert_msg(df__exec_decode(t.p, t.len, &ex, err, sizeof err) == 0, "%s", err);
        ck_assert_int_eq(ex.status, DF__ES_SUSPENDED);
        ck_assert_int_eq(ex.op_count, 4);
        ck_assert_int_eq(ex.crash_count, 1);
        ck_assert_str_eq(ex.crash_op, "3");
        ck_assert_int_eq(ex.version, 1); /* the schema's default: the only code there was */
        ck_assert_str_eq(ex.parent_id, "");
        ck_assert_str_eq(ex.parent_op, "");
        ck_assert(ex.park_seq == 0);
        df__exec_clear(&ex);
        tb_free(&t);

        df__op_rec_t op;
        tb_hdr(&t, op_fp);
        tb_fmt(&t, OP_V1_FMT, "exec-1", "2", "", "charge", (int32_t)DF__OP_STEP, (int32_t)DF__OS_SUCCEEDED,
               (int32_t)1, BIN, sizeof BIN, "", (int64_t)1, (int64_t)2, (int64_t)0, "", (int64_t)0, (int64_t)0);
        ck_assert_msg(df__op_decode(t.p, t.len, &op, err, sizeof err) == 0, "%s", err);
        ck_assert_str_eq(op.op_id, "2");
        buf_eq(&op.result, BIN, sizeof BIN);
        ck_assert_int_eq(op.child_count, 0);
        ck_assert_str_eq(op.child_id, "");
        df__op_clear(&op);
        tb_free(&t);
}
END_TEST

START_TEST(test_evolution_v2_records)
{
        /* An Event and an Execution as written before schedules (schemas/v2)
         * decode with an empty link and an empty schedule. */
        char err[ERRSZ] = "";
        uint64_t ev_fp = file_fp("v2/Event.avsc"), ex_fp = file_fp("v2/Execution.avsc");
        tb_t t = {0};
        df__buf_t b = {0};

        ck_assert_uint_eq(ev_fp, df__crc64_avro(EVENT_V2_PCF, strlen(EVENT_V2_PCF)));
        ck_assert_uint_ne(ev_fp, df__codec_fingerprint(DF__REC_EVENT));
        ck_assert_uint_ne(ex_fp, df__codec_fingerprint(DF__REC_EXEC));
        df__event_t ev;
        tb_hdr(&t, ev_fp);
        tb_fmt(&t, EVENT_V2_FMT, (int32_t)DF__EV_START, "exec-1", "orders", BIN, sizeof BIN, "", (int64_t)0,
               (int32_t)0, "", (int32_t)0, "", "req-1", (int64_t)1700000000000LL, "p", "1", "", (int32_t)0);
        ck_assert_msg(df__event_decode(t.p, t.len, &ev, err, sizeof err) == 0, "%s", err);
        ck_assert_str_eq(ev.parent_id, "p");
        ck_assert_ptr_nonnull(ev.link);
        ck_assert_str_eq(ev.link, "");
        ck_assert_int_eq(df__event_encode(&ev, &b, err, sizeof err), 0);
        ck_assert_uint_eq(hdr_fp(&b), df__codec_fingerprint(DF__REC_EVENT));
        ck_assert_uint_eq(b.len, t.len + 2); /* + the empty link, run 0 */
        df__buf_clear(&b);
        df__event_clear(&ev);
        tb_free(&t);

        df__exec_rec_t ex;
        tb_hdr(&t, ex_fp);
        tb_fmt(&t, "ssbibsll" "i" "isib" "issl", "exec-1", "orders", "in", (size_t)2, (int32_t)DF__ES_SUSPENDED, "",
               (size_t)0, "", (int64_t)1, (int64_t)2, (int32_t)4, (int32_t)0, "", (int32_t)0, "", (size_t)0,
               (int32_t)2, "", "", (int64_t)0);
        ck_assert_msg(df__exec_decode(t.p, t.len, &ex, err, sizeof err) == 0, "%s", err);
        ck_assert_int_eq(ex.version, 2);
        ck_assert_ptr_nonnull(ex.schedule);
        ck_assert_str_eq(ex.schedule, "");
        df__exec_clear(&ex);
        tb_free(&t);
}
END_TEST

START_TEST(test_evolution_v4_execution)
{
        /* An Execution as written before traceparent (schemas/v4) decodes
         * with an empty traceparent; written again, it gains the field. */
        char err[ERRSZ] = "";
        uint64_t ex_fp = file_fp("v4/Execution.avsc");
        tb_t t = {0};
        df__buf_t b = {0};
        df__exec_rec_t ex;

        ck_assert_uint_ne(ex_fp, df__codec_fingerprint(DF__REC_EXEC));
        tb_hdr(&t, ex_fp);
        tb_fmt(&t, "ssbibsll" "i" "isib" "issl" "s" "is", "exec-1", "orders", "in", (size_t)2,
               (int32_t)DF__ES_SUSPENDED, "", (size_t)0, "", (int64_t)1, (int64_t)2, (int32_t)4, (int32_t)0, "",
               (int32_t)0, "", (size_t)0, (int32_t)2, "", "", (int64_t)0, "schedule:s", (int32_t)1, "line");
        ck_assert_msg(df__exec_decode(t.p, t.len, &ex, err, sizeof err) == 0, "%s", err);
        ck_assert_int_eq(ex.run, 1);
        ck_assert_str_eq(ex.run_log, "line");
        ck_assert_ptr_nonnull(ex.traceparent);
        ck_assert_str_eq(ex.traceparent, "");
        ck_assert_int_eq(df__exec_encode(&ex, &b, err, sizeof err), 0);
        ck_assert_uint_eq(hdr_fp(&b), df__codec_fingerprint(DF__REC_EXEC));
        ck_assert_uint_eq(b.len, t.len + 1); /* + the empty traceparent */
        df__buf_clear(&b);
        df__exec_clear(&ex);
        tb_free(&t);
}
END_TEST

START_TEST(test_evolution_v0_event)
{
        char err[ERRSZ] = "";
        uint64_t v0fp = df__crc64_avro(EVENT_V0_PCF, strlen(EVENT_V0_PCF));
        tb_t t = {0};
        tb_hdr(&t, v0fp);
        tb_fmt(&t, EVENT_V0_FMT, (int32_t)DF__EV_TIMER, "exec-9", "orders", BIN, sizeof BIN, "4", (int64_t)3,
               (int32_t)DF__TK_RETRY, "cb", (int32_t)DF__CB_HEARTBEAT, "old " UTF8_TEXT, (int64_t)1600000000000LL);

        ck_assert_int_eq(df__codec_peek(t.p, t.len), DF__REC_EVENT);
        df__event_t ev;
        ck_assert_msg(df__event_decode(t.p, t.len, &ev, err, sizeof err) == 0, "%s", err);
        ck_assert_int_eq(ev.type, DF__EV_TIMER);
        ck_assert_str_eq(ev.execution_id, "exec-9");
        ck_assert_str_eq(ev.workflow, "orders");
        buf_eq(&ev.input, BIN, sizeof BIN);
        ck_assert_str_eq(ev.op_id, "4");
        ck_assert(ev.seq == 3);
        ck_assert_int_eq(ev.timer_kind, DF__TK_RETRY);
        ck_assert_str_eq(ev.callback_id, "cb");
        ck_assert_int_eq(ev.callback_kind, DF__CB_HEARTBEAT);
        ck_assert_str_eq(ev.error, "old " UTF8_TEXT);
        ck_assert_ptr_nonnull(ev.request_id);
        ck_assert_str_eq(ev.request_id, ""); /* missing in v0: the reader's default */
        ck_assert(ev.ts_ms == 1600000000000LL);

        /* Re-encoding writes the current schema. */
        df__buf_t b = {0};
        ck_assert_int_eq(df__event_encode(&ev, &b, err, sizeof err), 0);
        ck_assert_uint_eq(hdr_fp(&b), df__codec_fingerprint(DF__REC_EVENT));
        ck_assert_uint_eq(b.len, t.len + 7); /* + the empty request_id, parent_id, parent_op, child_id, status 0,
                                              * link, run 0 */
        df__buf_clear(&b);
        df__event_clear(&ev);

        /* v0 body checks still apply: trailing bytes and truncation. */
        tb_byte(&t, 0);
        ck_assert_int_eq(df__event_decode(t.p, t.len, &ev, err, sizeof err), -1);
        ck_assert_str_eq(err, "1 trailing byte after the Event body");
        ck_assert_int_eq(df__event_decode(t.p, t.len - 2, &ev, err, sizeof err), -1);
        char want[128];
        snprintf(want, sizeof want, "truncated body: Event ends inside field ts_ms (%zu body bytes)", t.len - 2 - 10);
        ck_assert_str_eq(err, want);
        tb_free(&t);

        /* A current-schema body under the v0 fingerprint has a field too many. */
        df__event_t cur;
        fill_event(&cur);
        ck_assert_int_eq(df__event_encode(&cur, &b, err, sizeof err), 0);
        for (int i = 0; i < 8; i++)
                b.data[2 + i] = (uint8_t)(v0fp >> (8 * i));
        ck_assert_int_eq(df__event_decode(b.data, b.len, &ev, err, sizeof err), -1);
        ck_assert_ptr_nonnull(strstr(err, "trailing byte"));
        df__buf_clear(&b);
        df__event_clear(&cur);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Copies and helpers.                                                  */

START_TEST(test_copy_clear_helpers)
{
        df__op_rec_t op, cp;
        fill_op(&op);
        memset(&cp, 0xAB, sizeof cp); /* dst is overwritten, not cleared */
        ck_assert_int_eq(df__op_copy(&cp, &op), 0);
        df__op_clear(&op);
        check_op(&cp);
        df__op_clear(&cp);
        ck_assert(all_zero(&cp, sizeof cp));

        df__exec_rec_t ex, ecp;
        fill_exec(&ex);
        ck_assert_int_eq(df__exec_copy(&ecp, &ex), 0);
        ck_assert_ptr_ne(ecp.input.data, ex.input.data);
        df__exec_clear(&ex);
        check_exec(&ecp);
        df__exec_clear(&ecp);

        df__exec_rec_t zero = {0};
        ck_assert_int_eq(df__exec_copy(&ecp, &zero), 0);
        ck_assert_str_eq(ecp.execution_id, ""); /* NULL strings copy as "" */
        ck_assert_ptr_null(ecp.input.data);
        df__exec_clear(&ecp);

        df__event_clear(NULL);
        df__exec_clear(NULL);
        df__op_clear(NULL);
        df__timer_clear(NULL);
        df__result_clear(NULL);
        df__dlq_clear(NULL);

        df__buf_t b = {0};
        ck_assert_int_eq(df__buf_set(&b, "abc", 3), 0);
        buf_eq(&b, "abc", 3);
        ck_assert_int_eq(df__buf_set(&b, b.data + 1, 2), 0); /* from itself */
        buf_eq(&b, "bc", 2);
        ck_assert_int_eq(df__buf_set(&b, NULL, 0), 0);
        ck_assert_ptr_null(b.data);
        ck_assert_uint_eq(b.len, 0);
        ck_assert_int_eq(df__buf_set(&b, NULL, 4), -1);
        df__buf_clear(&b);
        df__buf_clear(NULL);

        char *s = df__strdup0(NULL);
        ck_assert_str_eq(s, "");
        free(s);
        s = df__strdup0("x");
        ck_assert_str_eq(s, "x");
        free(s);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Random input: never crash, fail cleanly or decode validly.           */

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;
static uint64_t rng(void)
{
        uint64_t x = rng_state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        rng_state = x;
        return x * 0x2545F4914F6CDD1DULL;
}

static void check_strings_ok(const char *const *s, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                ck_assert_ptr_nonnull(s[i]);
                ck_assert(df__utf8_valid(s[i], strlen(s[i])));
        }
}

/* Run every decoder on buf; each must fail with a message and a zeroed
 * record, or decode into a record that re-encodes. Returns successes. */
static int try_all(const uint8_t *buf, size_t len)
{
        char err[ERRSZ];
        df__buf_t b = {0};
        int ok = 0;
        df__rec_type_t peek = df__codec_peek(buf, len);

#define TRY(T, dec, enc, clr, strs)                                                          \
        do {                                                                                 \
                T r;                                                                         \
                err[0] = '\0';                                                               \
                int rc = dec(buf, len, &r, err, sizeof err);                                 \
                if (rc == 0) {                                                               \
                        const char *ss[] = strs;                                             \
                        check_strings_ok(ss, sizeof ss / sizeof ss[0]);                      \
                        ck_assert_msg(enc(&r, &b, err, sizeof err) == 0, "re-encode: %s", err); \
                        df__buf_clear(&b);                                                   \
                        clr(&r);                                                             \
                        ok++;                                                                \
                } else {                                                                     \
                        ck_assert_int_eq(rc, -1);                                            \
                        ck_assert(err[0] != '\0');                                           \
                        ck_assert(all_zero(&r, sizeof r));                                   \
                }                                                                            \
        } while (0)
#define S(...) {__VA_ARGS__}
        TRY(df__event_t, df__event_decode, df__event_encode, df__event_clear,
            S(r.execution_id, r.workflow, r.op_id, r.callback_id, r.error, r.request_id));
        TRY(df__exec_rec_t, df__exec_decode, df__exec_encode, df__exec_clear, S(r.execution_id, r.workflow, r.error));
        TRY(df__op_rec_t, df__op_decode, df__op_encode, df__op_clear,
            S(r.execution_id, r.op_id, r.parent_id, r.name, r.error, r.callback_id));
        TRY(df__timer_rec_t, df__timer_decode, df__timer_encode, df__timer_clear, S(r.timer_id, r.topic));
        TRY(df__result_rec_t, df__result_decode, df__result_encode, df__result_clear,
            S(r.execution_id, r.request_id, r.error));
        TRY(df__dlq_rec_t, df__dlq_decode, df__dlq_encode, df__dlq_clear, S(r.topic, r.error));
#undef TRY
#undef S
        ck_assert_int_le(ok, 1);
        if (ok)
                ck_assert_int_ne(peek, DF__REC_UNKNOWN);
        return ok;
}

START_TEST(test_random_bytes)
{
        char err[ERRSZ];
        df__buf_t valid[6] = {{0}};
        df__event_t ev;
        df__exec_rec_t ex;
        df__op_rec_t op;
        df__timer_rec_t tm;
        df__result_rec_t rs;
        df__dlq_rec_t dl;
        fill_event(&ev);
        fill_exec(&ex);
        fill_op(&op);
        fill_timer(&tm);
        fill_result(&rs);
        fill_dlq(&dl);
        ck_assert_int_eq(df__event_encode(&ev, &valid[0], err, sizeof err), 0);
        ck_assert_int_eq(df__exec_encode(&ex, &valid[1], err, sizeof err), 0);
        ck_assert_int_eq(df__op_encode(&op, &valid[2], err, sizeof err), 0);
        ck_assert_int_eq(df__timer_encode(&tm, &valid[3], err, sizeof err), 0);
        ck_assert_int_eq(df__result_encode(&rs, &valid[4], err, sizeof err), 0);
        ck_assert_int_eq(df__dlq_encode(&dl, &valid[5], err, sizeof err), 0);
        df__event_clear(&ev);
        df__exec_clear(&ex);
        df__op_clear(&op);
        df__timer_clear(&tm);
        df__result_clear(&rs);
        df__dlq_clear(&dl);

        uint8_t buf[512];
        int decoded = 0;
        rng_state = 0x5EED5EED12345678ULL;
        for (int it = 0; it < 1000; it++) {
                size_t len;
                int mode = it % 4;
                const df__buf_t *v = &valid[rng() % 6];
                if (mode == 0) { /* pure noise */
                        len = rng() % 64;
                        for (size_t i = 0; i < len; i++)
                                buf[i] = (uint8_t)rng();
                } else if (mode == 1) { /* a known header, noise body */
                        len = 10 + rng() % 200;
                        memcpy(buf, v->data, 10);
                        for (size_t i = 10; i < len; i++)
                                buf[i] = (uint8_t)rng();
                } else { /* a valid record, mutated */
                        len = v->len;
                        ck_assert_uint_le(len, sizeof buf);
                        memcpy(buf, v->data, len);
                        int flips = 1 + (int)(rng() % 4);
                        for (int k = 0; k < flips; k++) {
                                size_t at = 10 + rng() % (len - 10);
                                buf[at] = mode == 2 ? (uint8_t)rng() : (uint8_t)(buf[at] ^ (1u << (rng() % 8)));
                        }
                        if (rng() % 4 == 0)
                                len = 10 + rng() % (len - 10);
                }
                decoded += try_all(buf, len);
        }
        /* Unmutated records decode; bit flips in payload bytes often too. */
        for (int k = 0; k < 6; k++) {
                ck_assert_int_eq(try_all(valid[k].data, valid[k].len), 1);
                df__buf_clear(&valid[k]);
        }
        printf("random: %d of 1000 buffers decoded validly, the rest failed cleanly\n", decoded);
        ck_assert_int_gt(decoded, 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Threads: the cached classes are shared, values are per call.         */

static void *thread_main(void *arg)
{
        int id = (int)(intptr_t)arg;
        char err[ERRSZ];
        for (int i = 0; i < 300; i++) {
                df__op_rec_t op = {0}, out;
                df__buf_t b = {0};
                char name[32];
                snprintf(name, sizeof name, "t%d-%d", id, i);
                op.name = name;
                op.attempt = i;
                op.result.data = (uint8_t *)name;
                op.result.len = strlen(name);
                if (df__op_encode(&op, &b, err, sizeof err) != 0)
                        return (void *)1;
                if (df__op_decode(b.data, b.len, &out, err, sizeof err) != 0)
                        return (void *)2;
                int bad = strcmp(out.name, name) != 0 || out.attempt != i || out.result.len != strlen(name) ||
                          memcmp(out.result.data, name, out.result.len) != 0;
                df__op_clear(&out);
                df__buf_clear(&b);
                if (bad)
                        return (void *)3;
        }
        return NULL;
}

START_TEST(test_threads)
{
        pthread_t th[4];
        for (int i = 0; i < 4; i++)
                ck_assert_int_eq(pthread_create(&th[i], NULL, thread_main, (void *)(intptr_t)i), 0);
        for (int i = 0; i < 4; i++) {
                void *rv = (void *)-1;
                ck_assert_int_eq(pthread_join(th[i], &rv), 0);
                ck_assert_ptr_null(rv);
        }
}
END_TEST

static Suite *codec_suite(void)
{
        Suite *s = suite_create("codec");
        TCase *tc;

        tc = tcase_create("fingerprint");
        tcase_add_checked_fixture(tc, setup, NULL);
        tcase_add_test(tc, test_crc64_vectors);
        tcase_add_test(tc, test_pcf_vectors);
        tcase_add_test(tc, test_schema_fingerprints);
        suite_add_tcase(s, tc);

        tc = tcase_create("utf8");
        tcase_add_test(tc, test_utf8);
        suite_add_tcase(s, tc);

        tc = tcase_create("roundtrip");
        tcase_add_checked_fixture(tc, setup, NULL);
        tcase_add_test(tc, test_roundtrip_all);
        tcase_add_test(tc, test_zeroed_records);
        tcase_add_test(tc, test_copy_clear_helpers);
        suite_add_tcase(s, tc);

        tc = tcase_create("payload");
        tcase_add_checked_fixture(tc, setup, NULL);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_payloads);
        suite_add_tcase(s, tc);

        tc = tcase_create("validation");
        tcase_add_checked_fixture(tc, setup, NULL);
        tcase_add_test(tc, test_utf8_fields);
        tcase_add_test(tc, test_enum_ranges);
        tcase_add_test(tc, test_malformed);
        suite_add_tcase(s, tc);

        tc = tcase_create("evolution");
        tcase_add_checked_fixture(tc, setup, NULL);
        tcase_add_test(tc, test_evolution_v0_event);
        tcase_add_test(tc, test_evolution_v1_records);
        tcase_add_test(tc, test_evolution_v2_records);
        tcase_add_test(tc, test_evolution_v4_execution);
        suite_add_tcase(s, tc);

        tc = tcase_create("robustness");
        tcase_add_checked_fixture(tc, setup, NULL);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_random_bytes);
        tcase_add_test(tc, test_threads);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(codec_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
