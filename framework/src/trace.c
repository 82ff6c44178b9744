/*
 * trace.c -- W3C trace context, deterministic span ids (SipHash-2-4), the
 * span model, its OTLP/JSON encoding (jansson) and the OTLP/HTTP exporter
 * (libcurl, a thread of its own).  See trace.h.
 */
#include <curl/curl.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "log.h"
#include "trace.h"

#ifndef DF_VERSION_STRING
#define DF_VERSION_STRING "0"
#endif

/* ---------------- trace context ---------------- */

static int df__hexval(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        return -1; /* uppercase is not allowed by the recommendation */
}

/* n bytes from 2n lowercase hex characters; 0 or -1 */
static int df__unhex(const char *s, uint8_t *out, size_t n)
{
        size_t i;
        for (i = 0; i < n; i++) {
                int hi = df__hexval(s[2 * i]), lo = df__hexval(s[2 * i + 1]);
                if (hi < 0 || lo < 0)
                        return -1;
                out[i] = (uint8_t)(hi << 4 | lo);
        }
        return 0;
}

static int df__all_zero(const uint8_t *b, size_t n)
{
        size_t i;
        for (i = 0; i < n; i++)
                if (b[i])
                        return 0;
        return 1;
}

void df__hex(const uint8_t *b, size_t n, char *out)
{
        static const char digits[] = "0123456789abcdef";
        size_t i;
        for (i = 0; i < n; i++) {
                out[2 * i] = digits[b[i] >> 4];
                out[2 * i + 1] = digits[b[i] & 15];
        }
        out[2 * n] = '\0';
}

df_err_t df__traceparent_parse(const char *s, size_t len, df__traceparent_t *out, char *errstr, size_t errstr_size)
{
        df__traceparent_t tp;

        if (!s) {
                df__errf(errstr, errstr_size, "traceparent: missing");
                return DF_ERR_INVALID_ARG;
        }
        /* HTTP's optional whitespace around a header value */
        while (len && (s[0] == ' ' || s[0] == '\t')) {
                s++;
                len--;
        }
        while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
                len--;
        if (len < DF__TRACEPARENT_LEN) {
                df__errf(errstr, errstr_size,
                         "traceparent: %zu characters, a traceparent has 55 (version-traceid-parentid-flags)", len);
                return DF_ERR_INVALID_ARG;
        }
        if (s[2] != '-' || s[35] != '-' || s[52] != '-') {
                df__errf(errstr, errstr_size,
                         "traceparent: fields must be 2, 32, 16 and 2 lowercase hex digits separated by '-'");
                return DF_ERR_INVALID_ARG;
        }
        if (df__unhex(s, &tp.version, 1)) {
                df__errf(errstr, errstr_size, "traceparent: version is not 2 lowercase hex digits");
                return DF_ERR_INVALID_ARG;
        }
        if (tp.version == 0xff) {
                df__errf(errstr, errstr_size, "traceparent: version ff is invalid");
                return DF_ERR_INVALID_ARG;
        }
        if (tp.version == 0x00 && len != DF__TRACEPARENT_LEN) {
                df__errf(errstr, errstr_size, "traceparent: version 00 has exactly 55 characters, not %zu", len);
                return DF_ERR_INVALID_ARG;
        }
        if (len > DF__TRACEPARENT_LEN && s[DF__TRACEPARENT_LEN] != '-') {
                /* a later version may add fields, each after a '-' */
                df__errf(errstr, errstr_size, "traceparent: trace-flags must be followed by '-' or the end");
                return DF_ERR_INVALID_ARG;
        }
        if (df__unhex(s + 3, tp.trace_id, 16)) {
                df__errf(errstr, errstr_size, "traceparent: trace-id is not 32 lowercase hex digits");
                return DF_ERR_INVALID_ARG;
        }
        if (df__all_zero(tp.trace_id, 16)) {
                df__errf(errstr, errstr_size, "traceparent: trace-id is all zeros");
                return DF_ERR_INVALID_ARG;
        }
        if (df__unhex(s + 36, tp.span_id, 8)) {
                df__errf(errstr, errstr_size, "traceparent: parent-id is not 16 lowercase hex digits");
                return DF_ERR_INVALID_ARG;
        }
        if (df__all_zero(tp.span_id, 8)) {
                df__errf(errstr, errstr_size, "traceparent: parent-id is all zeros");
                return DF_ERR_INVALID_ARG;
        }
        if (df__unhex(s + 53, &tp.flags, 1)) {
                df__errf(errstr, errstr_size, "traceparent: trace-flags is not 2 lowercase hex digits");
                return DF_ERR_INVALID_ARG;
        }
        *out = tp;
        return DF_OK;
}

void df__traceparent_format(const df__traceparent_t *tp, char *out)
{
        char tid[33], sid[17];
        df__hex(tp->trace_id, 16, tid);
        df__hex(tp->span_id, 8, sid);
        snprintf(out, DF__TRACEPARENT_LEN + 1, "00-%s-%s-%02x", tid, sid, tp->flags);
}

df_err_t df__traceparent_new(df__traceparent_t *out)
{
        df__traceparent_t tp;
        do {
                if (df__random_bytes(tp.trace_id, sizeof(tp.trace_id)) || df__random_bytes(tp.span_id, 8))
                        return DF_ERR_STATE;
        } while (df__all_zero(tp.trace_id, 16) || df__all_zero(tp.span_id, 8));
        tp.version = 0;
        tp.flags = DF__TRACE_FLAG_SAMPLED;
        *out = tp;
        return DF_OK;
}

/* ---------------- deterministic span ids ---------------- */

/* SipHash-2-4 (Aumasson and Bernstein, 2012): a keyed 64-bit PRF. */
#define DF__ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define DF__SIPROUND                                                                                           \
        do {                                                                                                   \
                v0 += v1;                                                                                      \
                v1 = DF__ROTL(v1, 13);                                                                         \
                v1 ^= v0;                                                                                      \
                v0 = DF__ROTL(v0, 32);                                                                         \
                v2 += v3;                                                                                      \
                v3 = DF__ROTL(v3, 16);                                                                         \
                v3 ^= v2;                                                                                      \
                v0 += v3;                                                                                      \
                v3 = DF__ROTL(v3, 21);                                                                         \
                v3 ^= v0;                                                                                      \
                v2 += v1;                                                                                      \
                v1 = DF__ROTL(v1, 17);                                                                         \
                v1 ^= v2;                                                                                      \
                v2 = DF__ROTL(v2, 32);                                                                         \
        } while (0)

static uint64_t df__le64(const uint8_t *p)
{
        uint64_t v = 0;
        int i;
        for (i = 7; i >= 0; i--)
                v = v << 8 | p[i];
        return v;
}

uint64_t df__siphash24(const uint8_t key[16], const uint8_t *in, size_t n);
uint64_t df__siphash24(const uint8_t key[16], const uint8_t *in, size_t n)
{
        uint64_t k0 = df__le64(key), k1 = df__le64(key + 8);
        uint64_t v0 = 0x736f6d6570736575ULL ^ k0, v1 = 0x646f72616e646f6dULL ^ k1;
        uint64_t v2 = 0x6c7967656e657261ULL ^ k0, v3 = 0x7465646279746573ULL ^ k1;
        uint64_t b = (uint64_t)n << 56, m;
        size_t i, full = n & ~(size_t)7;

        for (i = 0; i < full; i += 8) {
                m = df__le64(in + i);
                v3 ^= m;
                DF__SIPROUND;
                DF__SIPROUND;
                v0 ^= m;
        }
        for (i = 0; i < (n & 7); i++)
                b |= (uint64_t)in[full + i] << (8 * i);
        v3 ^= b;
        DF__SIPROUND;
        DF__SIPROUND;
        v0 ^= b;
        v2 ^= 0xff;
        DF__SIPROUND;
        DF__SIPROUND;
        DF__SIPROUND;
        DF__SIPROUND;
        return v0 ^ v1 ^ v2 ^ v3;
}

void df__span_id_derive(const uint8_t trace_id[16], const char *execution_id, const char *op_id, int attempt,
                        uint8_t out[8])
{
        static const char tag[] = "duraflow.span.v1";
        uint8_t stack[512], *buf = stack;
        size_t le = execution_id ? strlen(execution_id) : 0, lo = op_id ? strlen(op_id) : 0;
        size_t n = sizeof(tag) + le + 1 + lo + 1 + 4, o = 0;
        uint64_t h;
        int i;

        if (n > sizeof(stack) && !(buf = malloc(n))) {
                /* no memory for a long id: hash its prefix, still deterministic */
                buf = stack;
                le = le > 200 ? 200 : le;
                lo = lo > 200 ? 200 : lo;
        }
        memcpy(buf + o, tag, sizeof(tag)); /* with its NUL: a separator */
        o += sizeof(tag);
        memcpy(buf + o, execution_id ? execution_id : "", le);
        o += le;
        buf[o++] = 0;
        memcpy(buf + o, op_id ? op_id : "", lo);
        o += lo;
        buf[o++] = 0;
        buf[o++] = (uint8_t)((uint32_t)attempt >> 24);
        buf[o++] = (uint8_t)((uint32_t)attempt >> 16);
        buf[o++] = (uint8_t)((uint32_t)attempt >> 8);
        buf[o++] = (uint8_t)attempt;
        h = df__siphash24(trace_id, buf, o);
        if (buf != stack)
                free(buf);
        if (!h)
                h = 1; /* an all-zero span id is invalid */
        for (i = 7; i >= 0; i--) {
                out[i] = (uint8_t)h;
                h >>= 8;
        }
}

void df__trace_attempt_context(const df__traceparent_t *start, const char *execution_id, const char *op_id,
                               int attempt, df__traceparent_t *out)
{
        df__traceparent_t tp = *start;
        tp.version = 0;
        df__span_id_derive(start->trace_id, execution_id, op_id, attempt, tp.span_id);
        *out = tp;
}

/* ---------------- spans ---------------- */

enum { DF__AT_STR, DF__AT_INT, DF__AT_BOOL, DF__AT_DOUBLE };

typedef struct df__attr {
        char *key;
        int type;
        char *s;
        int64_t i;
        double d;
} df__attr_t;

struct df__span {
        struct df__span *next; /* the exporter's queue */
        char *name;
        df__span_kind_t kind;
        uint8_t trace_id[16], span_id[8], parent[8];
        int has_parent;
        int64_t start_ns, end_ns;
        df__span_status_t status;
        char *status_msg;
        df__attr_t attrs[DF__SPAN_MAX_ATTRS];
        int n_attrs;
        uint32_t dropped_attrs;
        size_t bytes;
};

size_t df__span_max_bytes(void)
{
        return sizeof(struct df__span) + (DF__SPAN_MAX_NAME + 1) + (DF__SPAN_MAX_VALUE + 1) +
               DF__SPAN_MAX_ATTRS * ((DF__SPAN_MAX_KEY + 1) + (DF__SPAN_MAX_VALUE + 1));
}

static char *df__text(const char *s, size_t max)
{
        return df__utf8_repair(s ? s : "", s ? strlen(s) : 0, max);
}

df__span_t *df__span_new(const char *name, df__span_kind_t kind, const uint8_t trace_id[16],
                         const uint8_t span_id[8], const uint8_t *parent_span_id, int64_t start_unix_ns)
{
        df__span_t *sp = calloc(1, sizeof(*sp));
        if (!sp)
                return NULL;
        sp->name = df__text(name, DF__SPAN_MAX_NAME);
        if (!sp->name) {
                free(sp);
                return NULL;
        }
        sp->kind = kind;
        memcpy(sp->trace_id, trace_id, 16);
        memcpy(sp->span_id, span_id, 8);
        if (parent_span_id) {
                memcpy(sp->parent, parent_span_id, 8);
                sp->has_parent = 1;
        }
        sp->start_ns = sp->end_ns = start_unix_ns;
        sp->bytes = sizeof(*sp) + strlen(sp->name) + 1;
        return sp;
}

void df__span_destroy(df__span_t *sp)
{
        int i;
        if (!sp)
                return;
        for (i = 0; i < sp->n_attrs; i++) {
                free(sp->attrs[i].key);
                free(sp->attrs[i].s);
        }
        free(sp->name);
        free(sp->status_msg);
        free(sp);
}

void df__span_end(df__span_t *sp, int64_t end_unix_ns)
{
        if (sp)
                sp->end_ns = end_unix_ns < sp->start_ns ? sp->start_ns : end_unix_ns;
}

void df__span_set_status(df__span_t *sp, df__span_status_t code, const char *message)
{
        char *m = NULL;
        if (!sp)
                return;
        if (message && code == DF__STATUS_ERROR && !(m = df__text(message, DF__SPAN_MAX_VALUE)))
                return;
        if (sp->status_msg)
                sp->bytes -= strlen(sp->status_msg) + 1;
        free(sp->status_msg);
        sp->status_msg = m;
        if (m)
                sp->bytes += strlen(m) + 1;
        sp->status = code;
}

static df__attr_t *df__attr_slot(df__span_t *sp, const char *key)
{
        int i;
        df__attr_t *a;
        for (i = 0; i < sp->n_attrs; i++)
                if (!strcmp(sp->attrs[i].key, key))
                        break;
        if (i < sp->n_attrs) {
                a = &sp->attrs[i];
                if (a->s)
                        sp->bytes -= strlen(a->s) + 1;
                free(a->s);
                a->s = NULL;
                return a;
        }
        if (sp->n_attrs == DF__SPAN_MAX_ATTRS) {
                sp->dropped_attrs++;
                return NULL;
        }
        a = &sp->attrs[sp->n_attrs];
        a->key = df__text(key, DF__SPAN_MAX_KEY);
        if (!a->key)
                return NULL;
        sp->bytes += strlen(a->key) + 1;
        sp->n_attrs++;
        return a;
}

int df__span_attr_str(df__span_t *sp, const char *key, const char *value)
{
        df__attr_t *a;
        char *v;
        if (!sp || !key)
                return -1;
        if (!(v = df__text(value, DF__SPAN_MAX_VALUE)))
                return -1;
        if (!(a = df__attr_slot(sp, key))) {
                free(v);
                return -1;
        }
        a->type = DF__AT_STR;
        a->s = v;
        sp->bytes += strlen(v) + 1;
        return 0;
}

int df__span_attr_int(df__span_t *sp, const char *key, int64_t value)
{
        df__attr_t *a = sp && key ? df__attr_slot(sp, key) : NULL;
        if (!a)
                return -1;
        a->type = DF__AT_INT;
        a->i = value;
        return 0;
}

int df__span_attr_bool(df__span_t *sp, const char *key, int value)
{
        df__attr_t *a = sp && key ? df__attr_slot(sp, key) : NULL;
        if (!a)
                return -1;
        a->type = DF__AT_BOOL;
        a->i = !!value;
        return 0;
}

int df__span_attr_double(df__span_t *sp, const char *key, double value)
{
        df__attr_t *a = sp && key ? df__attr_slot(sp, key) : NULL;
        if (!a)
                return -1;
        a->type = DF__AT_DOUBLE;
        a->d = value;
        return 0;
}

const char *df__span_name(const df__span_t *sp)
{
        return sp->name;
}

const uint8_t *df__span_id(const df__span_t *sp)
{
        return sp->span_id;
}

const uint8_t *df__span_parent_id(const df__span_t *sp)
{
        return sp->has_parent ? sp->parent : NULL;
}

const uint8_t *df__span_trace_id(const df__span_t *sp)
{
        return sp->trace_id;
}

const char *df__span_attr(const df__span_t *sp, const char *key, char *buf, size_t buf_size)
{
        int i;
        for (i = 0; i < sp->n_attrs; i++) {
                const df__attr_t *a = &sp->attrs[i];
                if (strcmp(a->key, key))
                        continue;
                switch (a->type) {
                case DF__AT_STR:
                        return a->s;
                case DF__AT_INT:
                        snprintf(buf, buf_size, "%" PRId64, a->i);
                        return buf;
                case DF__AT_BOOL:
                        snprintf(buf, buf_size, "%s", a->i ? "true" : "false");
                        return buf;
                default:
                        snprintf(buf, buf_size, "%.17g", a->d);
                        return buf;
                }
        }
        return NULL;
}

size_t df__span_bytes(const df__span_t *sp)
{
        return sp ? sp->bytes : 0;
}

/* ---------------- durable execution spans ---------------- */

static void df__span_durable_common(df__span_t *sp, const char *execution_id, const char *workflow)
{
        df__span_attr_str(sp, DF__ATTR_EXECUTION_ID, execution_id);
        if (workflow)
                df__span_attr_str(sp, DF__ATTR_EXECUTION_WORKFLOW, workflow);
}

df__span_t *df__span_execution(const df__traceparent_t *start, const char *execution_id, const char *workflow,
                               int64_t start_unix_ns)
{
        uint8_t id[8];
        df__span_t *sp;
        char name[DF__SPAN_MAX_NAME];

        df__span_id_derive(start->trace_id, execution_id, "", 0, id);
        snprintf(name, sizeof(name), "%s", workflow ? workflow : "execution");
        sp = df__span_new(name, DF__SPAN_SERVER, start->trace_id, id, start->span_id, start_unix_ns);
        if (sp)
                df__span_durable_common(sp, execution_id, workflow);
        return sp;
}

df__span_t *df__span_operation(const df__traceparent_t *start, const char *execution_id, const char *workflow,
                               const char *op_id, const char *op_type, const char *op_name, int64_t start_unix_ns)
{
        uint8_t id[8], parent[8];
        df__span_t *sp;

        df__span_id_derive(start->trace_id, execution_id, "", 0, parent);
        df__span_id_derive(start->trace_id, execution_id, op_id, 0, id);
        sp = df__span_new(op_name && *op_name ? op_name : op_type ? op_type : "operation", DF__SPAN_INTERNAL,
                          start->trace_id, id, parent, start_unix_ns);
        if (!sp)
                return NULL;
        df__span_durable_common(sp, execution_id, workflow);
        df__span_attr_str(sp, DF__ATTR_OPERATION_ID, op_id);
        if (op_type)
                df__span_attr_str(sp, DF__ATTR_OPERATION_TYPE, op_type);
        if (op_name)
                df__span_attr_str(sp, DF__ATTR_OPERATION_NAME, op_name);
        return sp;
}

df__span_t *df__span_attempt(const df__traceparent_t *start, const char *execution_id, const char *workflow,
                             const char *op_id, const char *op_type, const char *op_name, int attempt,
                             int64_t start_unix_ns)
{
        uint8_t id[8], parent[8];
        char name[DF__SPAN_MAX_NAME];
        df__span_t *sp;

        if (attempt < 1)
                attempt = 1;
        df__span_id_derive(start->trace_id, execution_id, op_id, 0, parent);
        df__span_id_derive(start->trace_id, execution_id, op_id, attempt, id);
        /* as AWS's plugin names them: "<operation> attempt <n>" */
        snprintf(name, sizeof(name), "%.200s attempt %d",
                 op_name && *op_name ? op_name : op_type ? op_type : "operation", attempt);
        sp = df__span_new(name, DF__SPAN_INTERNAL, start->trace_id, id, parent, start_unix_ns);
        if (!sp)
                return NULL;
        df__span_durable_common(sp, execution_id, workflow);
        df__span_attr_str(sp, DF__ATTR_OPERATION_ID, op_id);
        if (op_type)
                df__span_attr_str(sp, DF__ATTR_OPERATION_TYPE, op_type);
        if (op_name)
                df__span_attr_str(sp, DF__ATTR_OPERATION_NAME, op_name);
        df__span_attr_int(sp, DF__ATTR_ATTEMPT_NUMBER, attempt);
        return sp;
}

void df__span_set_messaging(df__span_t *sp, const char *operation_type, const char *operation_name,
                            const char *topic, int32_t partition, int64_t offset, const char *consumer_group)
{
        char pid[16];
        if (!sp)
                return;
        df__span_attr_str(sp, DF__ATTR_MESSAGING_SYSTEM, "kafka");
        if (operation_type)
                df__span_attr_str(sp, DF__ATTR_MESSAGING_OPERATION_TYPE, operation_type);
        if (operation_name)
                df__span_attr_str(sp, DF__ATTR_MESSAGING_OPERATION_NAME, operation_name);
        if (topic)
                df__span_attr_str(sp, DF__ATTR_MESSAGING_DESTINATION, topic);
        if (partition >= 0) {
                /* a string in the conventions */
                snprintf(pid, sizeof(pid), "%" PRId32, partition);
                df__span_attr_str(sp, DF__ATTR_MESSAGING_PARTITION, pid);
        }
        if (offset >= 0)
                df__span_attr_int(sp, DF__ATTR_MESSAGING_KAFKA_OFFSET, offset);
        if (consumer_group)
                df__span_attr_str(sp, DF__ATTR_MESSAGING_CONSUMER_GROUP, consumer_group);
}

/* ---------------- OTLP/JSON ---------------- */

static json_t *df__kv_str(const char *key, const char *value)
{
        return json_pack("{s:s,s:{s:s}}", "key", key, "value", "stringValue", value);
}

static json_t *df__span_json(const df__span_t *sp)
{
        char tid[33], sid[17], pid[17], ns[24];
        json_t *o = json_object(), *attrs = json_array();
        int i;

        if (!o || !attrs) {
                json_decref(o);
                json_decref(attrs);
                return NULL;
        }
        df__hex(sp->trace_id, 16, tid);
        df__hex(sp->span_id, 8, sid);
        /* OTLP/JSON: ids are hex (not base64), 64-bit integers are strings,
         * enums are integers */
        json_object_set_new(o, "traceId", json_string(tid));
        json_object_set_new(o, "spanId", json_string(sid));
        if (sp->has_parent) {
                df__hex(sp->parent, 8, pid);
                json_object_set_new(o, "parentSpanId", json_string(pid));
        }
        json_object_set_new(o, "name", json_string(sp->name));
        json_object_set_new(o, "kind", json_integer(sp->kind));
        snprintf(ns, sizeof(ns), "%" PRId64, sp->start_ns);
        json_object_set_new(o, "startTimeUnixNano", json_string(ns));
        snprintf(ns, sizeof(ns), "%" PRId64, sp->end_ns);
        json_object_set_new(o, "endTimeUnixNano", json_string(ns));
        for (i = 0; i < sp->n_attrs; i++) {
                const df__attr_t *a = &sp->attrs[i];
                json_t *v;
                switch (a->type) {
                case DF__AT_STR:
                        v = json_pack("{s:s}", "stringValue", a->s);
                        break;
                case DF__AT_INT:
                        snprintf(ns, sizeof(ns), "%" PRId64, a->i);
                        v = json_pack("{s:s}", "intValue", ns);
                        break;
                case DF__AT_BOOL:
                        v = json_pack("{s:b}", "boolValue", (int)a->i);
                        break;
                default:
                        v = json_pack("{s:f}", "doubleValue", a->d);
                        break;
                }
                if (v)
                        json_array_append_new(attrs, json_pack("{s:s,s:o}", "key", a->key, "value", v));
        }
        json_object_set_new(o, "attributes", attrs);
        if (sp->dropped_attrs)
                json_object_set_new(o, "droppedAttributesCount", json_integer(sp->dropped_attrs));
        if (sp->status != DF__STATUS_UNSET) {
                json_t *st = json_pack("{s:i}", "code", (int)sp->status);
                if (st && sp->status_msg)
                        json_object_set_new(st, "message", json_string(sp->status_msg));
                if (st)
                        json_object_set_new(o, "status", st);
        }
        return o;
}

char *df__otlp_encode(df__span_t *const *spans, int n, const char *service_name, const char *instance_id,
                      size_t *len)
{
        json_t *rattrs = json_array(), *arr = json_array(), *root;
        char *svc = df__text(service_name ? service_name : "duraflow", DF__SPAN_MAX_VALUE);
        char *inst = instance_id ? df__text(instance_id, DF__SPAN_MAX_VALUE) : NULL;
        char *out = NULL;
        int i;

        if (!rattrs || !arr || !svc || (instance_id && !inst))
                goto done;
        json_array_append_new(rattrs, df__kv_str("service.name", svc));
        if (inst)
                json_array_append_new(rattrs, df__kv_str("service.instance.id", inst));
        json_array_append_new(rattrs, df__kv_str("telemetry.sdk.name", "duraflow"));
        json_array_append_new(rattrs, df__kv_str("telemetry.sdk.version", DF_VERSION_STRING));
        for (i = 0; i < n; i++) {
                json_t *sj = df__span_json(spans[i]);
                if (!sj)
                        goto done;
                json_array_append_new(arr, sj);
        }
        root = json_pack("{s:[{s:{s:o},s:[{s:{s:s,s:s},s:o}]}]}", "resourceSpans", "resource", "attributes", rattrs,
                         "scopeSpans", "scope", "name", "duraflow", "version", DF_VERSION_STRING, "spans", arr);
        rattrs = arr = NULL; /* stolen by json_pack's "o", also on failure */
        if (root) {
                out = json_dumps(root, JSON_COMPACT);
                json_decref(root);
                if (out && len)
                        *len = strlen(out);
        }
done:
        json_decref(rattrs);
        json_decref(arr);
        free(svc);
        free(inst);
        return out;
}

/* ---------------- exporter ---------------- */

struct df__otlp {
        char *url, *service, *instance;
        int batch_max, queue_max, flush_ms, timeout_ms, backoff_initial_ms, backoff_max_ms, down_after;

        pthread_mutex_t mu;
        pthread_cond_t wake;    /* the thread: work, flush or stop */
        pthread_cond_t drained; /* flushers: queue and held batch empty */
        pthread_t thread;
        df__span_t *head, *tail;
        size_t qlen, qbytes;
        df__span_t *held; /* the batch being sent or retried */
        size_t held_n, held_bytes;
        char *held_body;  /* its request body, encoded once for all its retries (the thread's) */
        size_t held_len;
        int64_t oldest_ms; /* mono ms the oldest queued span was queued */
        int flush_req, stop;
        int64_t stop_deadline_ms;
        _Atomic int abort_transfer;
        _Atomic int full; /* the last submit found the queue full (a hint for df__otlp_skip) */
        /* export down (trace.h): written by the thread with mu held, read
         * anywhere; while it is 1 the thread holds a batch (the probe) */
        _Atomic int down;
        _Atomic uint64_t skip_full, skip_down; /* spans not made (df__otlp_skip): counted without mu */
        int fails;                /* failed requests in a row (the thread's) */
        int64_t down_since_ms;    /* mono ms export went down */
        uint64_t down_dropped0;   /* spans dropped as backend_down before it went down */
        char last_error[128];     /* why the last request failed (the thread's) */
        df__otlp_stats_t st;

        CURL *curl;
        struct curl_slist *headers;
        df__series_t *m_exported, *m_full, *m_rejected, *m_shutdown, *m_down, *m_failures, *m_down_gauge;
};

df_err_t df__otlp_endpoint_check(const char *endpoint, char *errstr, size_t errstr_size)
{
        size_t n, i, skip;
        if (!endpoint || !*endpoint) {
                df__errf(errstr, errstr_size, "property \"otlp.endpoint\" is empty (tracing off)");
                return DF_ERR_CONF;
        }
        n = strnlen(endpoint, 2049);
        if (n > 2048) {
                df__errf(errstr, errstr_size, "property \"otlp.endpoint\": longer than 2048 bytes");
                return DF_ERR_CONF;
        }
        for (i = 0; i < n; i++) {
                unsigned char c = (unsigned char)endpoint[i];
                if (c <= 0x20 || c >= 0x7f) {
                        df__errf(errstr, errstr_size,
                                 "property \"otlp.endpoint\": byte %zu is whitespace, a control character or not "
                                 "ASCII (a URL has none)",
                                 i);
                        return DF_ERR_CONF;
                }
        }
        skip = !strncmp(endpoint, "http://", 7) ? 7 : !strncmp(endpoint, "https://", 8) ? 8 : 0;
        if (!skip) {
                df__errf(errstr, errstr_size,
                         "property \"otlp.endpoint\": \"%.64s\" must start with http:// or https:// (OTLP over HTTP, "
                         "e.g. http://127.0.0.1:4318)",
                         endpoint);
                return DF_ERR_CONF;
        }
        if (!endpoint[skip] || endpoint[skip] == '/' || endpoint[skip] == ':') {
                df__errf(errstr, errstr_size, "property \"otlp.endpoint\": \"%.64s\" names no host", endpoint);
                return DF_ERR_CONF;
        }
        return DF_OK;
}

static pthread_once_t df__curl_once = PTHREAD_ONCE_INIT;
static void df__curl_init(void)
{
        curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t df__curl_discard(char *p, size_t size, size_t n, void *opaque)
{
        (void)p;
        (void)opaque;
        return size * n;
}

/* curl_easy_perform, through a multi handle polled every 50 ms, so that
 * destroy can abort a request in flight at once (abort_transfer). */
static CURLcode df__curl_perform(df__otlp_t *e)
{
        CURLM *m = curl_multi_init();
        CURLcode rc = CURLE_FAILED_INIT;
        int running = 1;

        if (!m)
                return rc;
        if (curl_multi_add_handle(m, e->curl) != CURLM_OK) {
                curl_multi_cleanup(m);
                return rc;
        }
        while (running) {
                if (curl_multi_perform(m, &running) != CURLM_OK)
                        break;
                if (!running)
                        break;
                if (atomic_load(&e->abort_transfer)) {
                        rc = CURLE_ABORTED_BY_CALLBACK;
                        running = -1;
                        break;
                }
                if (curl_multi_poll(m, NULL, 0, 50, NULL) != CURLM_OK)
                        break;
        }
        if (running == 0) {
                CURLMsg *msg;
                int left;
                while ((msg = curl_multi_info_read(m, &left)))
                        if (msg->msg == CURLMSG_DONE && msg->easy_handle == e->curl)
                                rc = msg->data.result;
        }
        curl_multi_remove_handle(m, e->curl);
        curl_multi_cleanup(m);
        return rc;
}

static void df__free_list(df__span_t *sp)
{
        while (sp) {
                df__span_t *next = sp->next;
                df__span_destroy(sp);
                sp = next;
        }
}

static void df__timespec_at(struct timespec *ts, int64_t mono_ms)
{
        ts->tv_sec = (time_t)(mono_ms / 1000);
        ts->tv_nsec = (long)(mono_ms % 1000) * 1000000L;
}

static void df__note_held(df__otlp_t *e)
{
        size_t q = e->qlen + e->held_n, b = e->qbytes + e->held_bytes;
        if (q > e->st.max_queued)
                e->st.max_queued = q;
        if (b > e->st.max_bytes)
                e->st.max_bytes = b;
}

/* One request for the held batch.  0 sent, 1 retry later, 2 rejected. */
static int df__otlp_send(df__otlp_t *e, int64_t deadline_ms)
{
        df__span_t **arr, *sp;
        long code = 0;
        CURLcode rc;
        int i = 0, timeout = e->timeout_ms;

        if (!e->held_body) {
                /* the held batch is the thread's alone: encoded once, however often it is retried */
                if (!(arr = malloc(e->held_n * sizeof(*arr))))
                        return 1;
                for (sp = e->held; sp; sp = sp->next)
                        arr[i++] = sp;
                e->held_body = df__otlp_encode(arr, i, e->service, e->instance, &e->held_len);
                free(arr);
                if (!e->held_body)
                        return 1;
        }
        if (deadline_ms) {
                int64_t left = deadline_ms - df__mono_ms();
                if (left < timeout)
                        timeout = left < 1 ? 1 : (int)left;
        }
        curl_easy_setopt(e->curl, CURLOPT_POSTFIELDS, e->held_body);
        curl_easy_setopt(e->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)e->held_len);
        curl_easy_setopt(e->curl, CURLOPT_TIMEOUT_MS, (long)timeout);
        curl_easy_setopt(e->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)(timeout < 2000 ? timeout : 2000));
        rc = df__curl_perform(e);
        if (rc != CURLE_OK) {
                snprintf(e->last_error, sizeof(e->last_error), "%s", curl_easy_strerror(rc));
                return 1;
        }
        curl_easy_getinfo(e->curl, CURLINFO_RESPONSE_CODE, &code);
        if (code >= 200 && code < 300)
                return 0;
        if (code == 408 || code == 429 || code == 502 || code == 503 || code == 504) {
                snprintf(e->last_error, sizeof(e->last_error), "HTTP status %ld", code);
                return 1;
        }
        return 2;
}

/* Spans dropped as backend_down so far (mu held). */
static uint64_t df__otlp_down_total(df__otlp_t *e)
{
        return e->st.dropped_down + atomic_load_explicit(&e->skip_down, memory_order_relaxed);
}

/* down_after requests in a row failed: export is down.  Drops the queue
 * (the held batch stays: the probe), tells producers (df__otlp_skip), and
 * writes the one line that says so.  Called and returns with mu held. */
static void df__otlp_go_down(df__otlp_t *e, int next_ms)
{
        df__span_t *rest = e->head;
        size_t n = e->qlen;

        e->down_dropped0 = df__otlp_down_total(e);
        e->head = e->tail = NULL;
        e->qlen = e->qbytes = 0;
        e->st.dropped_down += n;
        e->st.downs++;
        e->down_since_ms = df__mono_ms();
        atomic_store_explicit(&e->down, 1, memory_order_relaxed);
        atomic_store_explicit(&e->full, 0, memory_order_relaxed);
        pthread_cond_broadcast(&e->drained); /* flushers stop waiting */
        pthread_mutex_unlock(&e->mu);
        df__counter_add(e->m_down, n);
        df__gauge_add(e->m_down_gauge, 1);
        df__free_list(rest);
        df__log(DF__LOG_WARN,
                "OTLP export to %s is down: %d requests in a row failed (the last: %s); spans are not made until a "
                "retry gets through (the next in about %d ms, then every %d ms at most)",
                e->url, e->fails, e->last_error[0] ? e->last_error : "failed", next_ms, e->backoff_max_ms);
        pthread_mutex_lock(&e->mu);
}

/* A request got an answer while export was down: it is up again.  Called
 * and returns with mu held. */
static void df__otlp_go_up(df__otlp_t *e)
{
        uint64_t dropped = df__otlp_down_total(e) - e->down_dropped0;
        int64_t down_ms = df__mono_ms() - e->down_since_ms;

        atomic_store_explicit(&e->down, 0, memory_order_relaxed);
        pthread_mutex_unlock(&e->mu);
        df__gauge_add(e->m_down_gauge, -1);
        df__log(DF__LOG_INFO, "OTLP export to %s is up again after %.1f s down (%llu spans dropped meanwhile)", e->url,
                (double)down_ms / 1000.0, (unsigned long long)dropped);
        pthread_mutex_lock(&e->mu);
}

static void *df__otlp_main(void *arg)
{
        df__otlp_t *e = arg;
        int backoff = 0;
        unsigned seed = (unsigned)df__now_ms();

        pthread_mutex_lock(&e->mu);
        for (;;) {
                int64_t now = df__mono_ms(), deadline = 0;
                int rc;
                /* wait for a full batch, the oldest span's flush time, a
                 * flush request or stop */
                while (!e->held && !e->stop) {
                        struct timespec ts;
                        if (e->qlen >= (size_t)e->batch_max || (e->qlen && e->flush_req))
                                break;
                        if (e->qlen) {
                                int64_t due = e->oldest_ms + e->flush_ms;
                                if (df__mono_ms() >= due)
                                        break;
                                df__timespec_at(&ts, due);
                        } else {
                                df__timespec_at(&ts, df__mono_ms() + 1000);
                        }
                        pthread_cond_timedwait(&e->wake, &e->mu, &ts);
                }
                now = df__mono_ms();
                if (e->stop && (now >= e->stop_deadline_ms || (!e->qlen && !e->held) ||
                                atomic_load_explicit(&e->down, memory_order_relaxed)))
                        break; /* (while down nothing is sent at shutdown) */
                if (!e->held) {
                        df__span_t **pp = &e->held, *sp;
                        while (e->head && e->held_n < (size_t)e->batch_max) {
                                sp = e->head;
                                e->head = sp->next;
                                sp->next = NULL;
                                *pp = sp;
                                pp = &sp->next;
                                e->held_n++;
                                e->held_bytes += sp->bytes;
                                e->qlen--;
                                e->qbytes -= sp->bytes;
                        }
                        if (e->qlen < (size_t)e->queue_max)
                                atomic_store_explicit(&e->full, 0, memory_order_relaxed);
                        if (!e->head)
                                e->tail = NULL;
                        e->oldest_ms = now; /* the rest waited; send them at the next turn */
                        if (!e->held)
                                continue;
                }
                deadline = e->stop ? e->stop_deadline_ms : 0;
                e->st.requests++;
                pthread_mutex_unlock(&e->mu);
                rc = df__otlp_send(e, deadline);
                pthread_mutex_lock(&e->mu);
                if (rc == 0 || rc == 2) {
                        df__span_t *done = e->held;
                        size_t n = e->held_n;
                        free(e->held_body);
                        e->held_body = NULL;
                        e->held = NULL;
                        e->held_n = e->held_bytes = 0;
                        if (rc == 0) {
                                e->st.exported += n;
                                df__counter_add(e->m_exported, n);
                        } else {
                                e->st.dropped_rejected += n;
                                df__counter_add(e->m_rejected, n);
                        }
                        backoff = 0;
                        e->fails = 0;
                        if (atomic_load_explicit(&e->down, memory_order_relaxed))
                                df__otlp_go_up(e); /* the probe got an answer */
                        if (!e->qlen)
                                e->flush_req = 0;
                        pthread_cond_broadcast(&e->drained);
                        pthread_mutex_unlock(&e->mu);
                        df__free_list(done);
                        pthread_mutex_lock(&e->mu);
                        continue;
                }
                /* retry later: exponential backoff with jitter (half to all
                 * of the delay), cut short only by stop; down_after
                 * failures in a row take export down (once: a failed probe
                 * only backs off further) */
                e->st.failures++;
                df__counter_inc(e->m_failures);
                e->fails++;
                backoff = backoff ? (backoff * 2 > e->backoff_max_ms ? e->backoff_max_ms : backoff * 2)
                                  : e->backoff_initial_ms;
                {
                        int delay = backoff / 2 + (int)(rand_r(&seed) % (unsigned)(backoff / 2 + 1));
                        int64_t until = df__mono_ms() + delay;
                        struct timespec ts;
                        if (e->fails >= e->down_after && !e->stop &&
                            !atomic_load_explicit(&e->down, memory_order_relaxed))
                                df__otlp_go_down(e, delay);
                        while (!e->stop && df__mono_ms() < until) {
                                df__timespec_at(&ts, until);
                                pthread_cond_timedwait(&e->wake, &e->mu, &ts);
                        }
                }
        }
        /* stopping: what could not be sent in time is dropped */
        free(e->held_body);
        e->held_body = NULL;
        {
                df__span_t *rest = e->held;
                size_t n = e->held_n + e->qlen;
                if (rest) {
                        df__span_t *t = rest;
                        while (t->next)
                                t = t->next;
                        t->next = e->head;
                } else {
                        rest = e->head;
                }
                e->held = e->head = e->tail = NULL;
                e->held_n = e->held_bytes = e->qlen = e->qbytes = 0;
                e->st.dropped_shutdown += n;
                df__counter_add(e->m_shutdown, n);
                pthread_cond_broadcast(&e->drained);
                pthread_mutex_unlock(&e->mu);
                df__free_list(rest);
        }
        return NULL;
}

df_err_t df__otlp_new(const df__otlp_opts_t *o, df__otlp_t **out, char *errstr, size_t errstr_size)
{
        df__otlp_t *e;
        pthread_condattr_t ca;
        size_t n;
        df_err_t err;

        *out = NULL;
        if (!o || (err = df__otlp_endpoint_check(o->endpoint, errstr, errstr_size)) != DF_OK)
                return o ? err : DF_ERR_INVALID_ARG;
        pthread_once(&df__curl_once, df__curl_init);
        e = calloc(1, sizeof(*e));
        if (!e)
                return DF_ERR_NOMEM;
        n = strlen(o->endpoint);
        while (n && o->endpoint[n - 1] == '/')
                n--;
        if (n >= 10 && !strncmp(o->endpoint + n - 10, "/v1/traces", 10))
                e->url = df__asprintf("%.*s", (int)n, o->endpoint);
        else
                e->url = df__asprintf("%.*s/v1/traces", (int)n, o->endpoint);
        e->service = strdup(o->service_name && *o->service_name ? o->service_name : "duraflow");
        e->instance = o->instance_id && *o->instance_id ? strdup(o->instance_id) : NULL;
        e->batch_max = o->batch_max > 0 ? o->batch_max : 512;
        e->queue_max = o->queue_max > 0 ? o->queue_max : 2048;
        e->flush_ms = o->flush_ms > 0 ? o->flush_ms : 1000;
        e->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 5000;
        e->backoff_initial_ms = o->backoff_initial_ms > 0 ? o->backoff_initial_ms : 100;
        e->backoff_max_ms = o->backoff_max_ms > 0 ? o->backoff_max_ms : 30000;
        if (e->backoff_max_ms < e->backoff_initial_ms)
                e->backoff_max_ms = e->backoff_initial_ms;
        e->down_after = o->down_after > 0 ? o->down_after : 3;
        e->curl = curl_easy_init();
        e->headers = curl_slist_append(NULL, "Content-Type: application/json");
        if (!e->url || !e->service || (o->instance_id && *o->instance_id && !e->instance) || !e->curl ||
            !e->headers) {
                err = DF_ERR_NOMEM;
                goto fail;
        }
        curl_easy_setopt(e->curl, CURLOPT_URL, e->url);
        curl_easy_setopt(e->curl, CURLOPT_HTTPHEADER, e->headers);
        curl_easy_setopt(e->curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(e->curl, CURLOPT_WRITEFUNCTION, df__curl_discard);
        curl_easy_setopt(e->curl, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(e->curl, CURLOPT_USERAGENT, "duraflow/" DF_VERSION_STRING);
        if (o->metrics) {
                e->m_exported = df__metric_series(o->metrics, DF__M_SPANS_EXPORTED);
                e->m_full = df__metric_series(o->metrics, DF__M_SPANS_DROPPED, "queue_full");
                e->m_rejected = df__metric_series(o->metrics, DF__M_SPANS_DROPPED, "rejected");
                e->m_shutdown = df__metric_series(o->metrics, DF__M_SPANS_DROPPED, "shutdown");
                e->m_down = df__metric_series(o->metrics, DF__M_SPANS_DROPPED, "backend_down");
                e->m_failures = df__metric_series(o->metrics, DF__M_OTLP_FAILURES);
                e->m_down_gauge = df__metric_series(o->metrics, DF__M_OTLP_DOWN);
        }
        pthread_mutex_init(&e->mu, NULL);
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&e->wake, &ca);
        pthread_cond_init(&e->drained, &ca);
        pthread_condattr_destroy(&ca);
        if (pthread_create(&e->thread, NULL, df__otlp_main, e)) {
                pthread_mutex_destroy(&e->mu);
                pthread_cond_destroy(&e->wake);
                pthread_cond_destroy(&e->drained);
                df__errf(errstr, errstr_size, "OTLP exporter: cannot start its thread");
                err = DF_ERR_STATE;
                goto fail;
        }
        *out = e;
        return DF_OK;
fail:
        if (err == DF_ERR_NOMEM)
                df__errf(errstr, errstr_size, "OTLP exporter: out of memory");
        curl_slist_free_all(e->headers);
        if (e->curl)
                curl_easy_cleanup(e->curl);
        free(e->url);
        free(e->service);
        free(e->instance);
        free(e);
        return err;
}

df_err_t df__otlp_new_conf(const df_conf_t *conf, const char *instance_id, df__metrics_t *metrics, df__otlp_t **out,
                           char *errstr, size_t errstr_size)
{
        df__otlp_opts_t o = {0};
        const char *ep = df_conf_get(conf, "otlp.endpoint");
        const char *bm = df_conf_get(conf, "otlp.batch.max"), *qm = df_conf_get(conf, "otlp.queue.max");

        *out = NULL;
        if (!ep || !*ep)
                return DF_OK;
        o.endpoint = ep;
        o.service_name = df_conf_get(conf, "service.name");
        o.instance_id = instance_id;
        o.batch_max = bm ? atoi(bm) : 0;
        o.queue_max = qm ? atoi(qm) : 0;
        o.metrics = metrics;
        return df__otlp_new(&o, out, errstr, errstr_size);
}

int df__otlp_submit(df__otlp_t *e, df__span_t *sp)
{
        if (!sp)
                return -1;
        if (!e) {
                df__span_destroy(sp);
                return -1;
        }
        sp->next = NULL;
        pthread_mutex_lock(&e->mu);
        e->st.submitted++;
        if (atomic_load_explicit(&e->down, memory_order_relaxed)) {
                e->st.dropped_down++;
                pthread_mutex_unlock(&e->mu);
                df__counter_inc(e->m_down);
                df__span_destroy(sp);
                return -1;
        }
        if (e->stop || e->qlen >= (size_t)e->queue_max) {
                e->st.dropped_full++;
                atomic_store_explicit(&e->full, 1, memory_order_relaxed);
                pthread_mutex_unlock(&e->mu);
                df__counter_inc(e->m_full);
                df__span_destroy(sp);
                return -1;
        }
        if (e->tail)
                e->tail->next = sp;
        else
                e->head = sp;
        e->tail = sp;
        if (!e->qlen++)
                e->oldest_ms = df__mono_ms();
        e->qbytes += sp->bytes;
        df__note_held(e);
        if (e->qlen == (size_t)e->batch_max)
                pthread_cond_signal(&e->wake);
        pthread_mutex_unlock(&e->mu);
        return 0;
}

int df__otlp_skip(df__otlp_t *e)
{
        if (!e)
                return 1;
        if (atomic_load_explicit(&e->down, memory_order_relaxed)) {
                atomic_fetch_add_explicit(&e->skip_down, 1, memory_order_relaxed);
                df__counter_inc(e->m_down);
                return 1;
        }
        if (atomic_load_explicit(&e->full, memory_order_relaxed)) {
                atomic_fetch_add_explicit(&e->skip_full, 1, memory_order_relaxed);
                df__counter_inc(e->m_full);
                return 1;
        }
        return 0;
}

int df__otlp_down(df__otlp_t *e)
{
        return e && atomic_load_explicit(&e->down, memory_order_relaxed);
}

int df__otlp_flush(df__otlp_t *e, int timeout_ms)
{
        int64_t until = df__mono_ms() + timeout_ms;
        int drained;
        if (!e)
                return 1;
        pthread_mutex_lock(&e->mu);
        e->flush_req = 1;
        pthread_cond_signal(&e->wake);
        while ((e->qlen || e->held) && !atomic_load_explicit(&e->down, memory_order_relaxed) &&
               df__mono_ms() < until) {
                struct timespec ts;
                df__timespec_at(&ts, until);
                pthread_cond_timedwait(&e->drained, &e->mu, &ts);
        }
        drained = !e->qlen && !e->held;
        pthread_mutex_unlock(&e->mu);
        return drained;
}

void df__otlp_stats(df__otlp_t *e, df__otlp_stats_t *out)
{
        memset(out, 0, sizeof(*out));
        if (!e)
                return;
        pthread_mutex_lock(&e->mu);
        *out = e->st;
        {
                uint64_t full = atomic_load_explicit(&e->skip_full, memory_order_relaxed);
                uint64_t down = atomic_load_explicit(&e->skip_down, memory_order_relaxed);
                out->submitted += full + down;
                out->not_made = full + down;
                out->dropped_full += full;
                out->dropped_down += down;
        }
        out->down = atomic_load_explicit(&e->down, memory_order_relaxed);
        out->queued = e->qlen;
        out->queued_bytes = e->qbytes + e->held_bytes;
        out->held = e->held_n;
        pthread_mutex_unlock(&e->mu);
}

void df__otlp_destroy(df__otlp_t *e, int flush_timeout_ms)
{
        if (!e)
                return;
        pthread_mutex_lock(&e->mu);
        e->stop = 1;
        e->stop_deadline_ms = df__mono_ms() + (flush_timeout_ms > 0 ? flush_timeout_ms : 0);
        pthread_cond_broadcast(&e->wake);
        /* the thread sends what it can until the deadline (a request's
         * timeout is cut to it); at the deadline a request still in flight
         * is aborted */
        while ((e->qlen || e->held) && !atomic_load_explicit(&e->down, memory_order_relaxed) &&
               df__mono_ms() < e->stop_deadline_ms) {
                struct timespec ts;
                df__timespec_at(&ts, e->stop_deadline_ms);
                pthread_cond_timedwait(&e->drained, &e->mu, &ts);
        }
        pthread_mutex_unlock(&e->mu);
        atomic_store(&e->abort_transfer, 1);
        pthread_join(e->thread, NULL);
        if (atomic_load_explicit(&e->down, memory_order_relaxed))
                df__gauge_add(e->m_down_gauge, -1); /* this exporter is gone */
        curl_slist_free_all(e->headers);
        curl_easy_cleanup(e->curl);
        pthread_mutex_destroy(&e->mu);
        pthread_cond_destroy(&e->wake);
        pthread_cond_destroy(&e->drained);
        free(e->url);
        free(e->service);
        free(e->instance);
        free(e);
}
