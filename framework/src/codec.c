/*
 * codec.c -- Avro single-object encoding of duraflow records (internal).
 *
 * Wire form: C3 01 | 8-byte little-endian CRC-64-AVRO fingerprint of the
 * writer schema's Parsing Canonical Form (PCF) | Avro binary body.
 *
 * Schema registry.  The .avsc texts of schemas/ are compiled in (generated
 * df_schemas.c, see framework/cmake/embed_schemas.cmake).  A file at the top
 * level of schemas/ is the current version of its record (the one we write
 * and the reader schema); a file in a subfolder (schemas/v0/...) is an older
 * writer schema we still read.  df__codec_init() parses each text once
 * (pthread_once): jansson for the PCF, the fingerprint and the field
 * defaults, avro-c for the schema object and its generic value class.  It
 * checks that every current schema mirrors its C struct field for field
 * (name and type, each with a default) and that every older schema resolves
 * against the current one; a mismatch makes init (and every call) fail.
 *
 * Encoding: validate the struct (UTF-8 strings without NUL, payload sizes,
 * enum ranges), fill a per-call avro-c generic value from the cached class
 * (strings and bytes are wrapped, not copied), size it with
 * avro_value_sizeof, write it with a memory writer after the 10-byte header.
 *
 * Decoding: check marker and fingerprint, then scan the body against the
 * writer schema with our own bounds-checked reader (varints, lengths,
 * limits, exact body length) BEFORE avro-c sees it: avro-c 1.11.1 mallocs
 * whatever length a hostile varint claims, and shifts signed values out of
 * range on 10-byte varints.  Then avro-c reads the body into a generic value
 * of the writer's class and we map the writer fields onto the reader struct
 * by name (Avro schema resolution: int->long, string<->bytes promotions,
 * writer-only fields skipped, reader-only fields take the reader schema's
 * default).  We do not use avro_resolved_writer_new: in avro-c 1.11.1 it
 * rejects a reader field missing from the writer even when the field has a
 * default ("Reader field %s doesn't appear in writer"), and avro-c's schema
 * parser drops defaults anyway.
 *
 * Limits: payload fields (Event.input, Execution.input/output,
 * Operation.result, Timer.key/payload, Result.output) and every string are
 * at most DF__PAYLOAD_MAX (1,000,000) bytes.  DeadLetter.key and
 * DeadLetter.value carry the original, possibly hostile, record and may hold
 * up to DF__DLQ_VALUE_MAX (4 MiB, 4,194,304 bytes); the DLQ producer must
 * still fit the topic's max.message.bytes.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strdup, asprintf */
#endif
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <avro.h>
#include <jansson.h>

#include "codec.h"

/* Largest DeadLetter.key / DeadLetter.value, bytes (4 MiB). */
#define DF__DLQ_VALUE_MAX (4 * 1024 * 1024)
/* Largest string field, bytes. */
#define DF__STRING_MAX DF__PAYLOAD_MAX

#define HDR_LEN 10
#define MARKER0 0xC3
#define MARKER1 0x01

/* Generated from schemas/ by framework/cmake/embed_schemas.cmake. */
extern const size_t df__schema_count;
extern const char *const df__schema_paths[];
extern const unsigned char *const df__schema_texts[];
extern const size_t df__schema_lens[];

/* Test/tool entry points, not in codec.h (declared here for -Wmissing-prototypes). */
int df__codec_pcf(const char *json, size_t len, char **pcf, char *errstr, size_t errstr_size);
uint64_t df__codec_fingerprint(df__rec_type_t type);

/* ------------------------------------------------------------------ */
/* Record descriptors: the C side of each schema.                       */

typedef enum kind { K_INT, K_LONG, K_STRING, K_BYTES } kind_t;

static const char *const kind_names[] = {"int", "long", "string", "bytes"};

typedef struct fdesc {
        const char *name;
        kind_t kind;
        size_t off;
        int64_t min, max; /* K_INT: valid range (enums) */
        size_t limit;     /* K_STRING / K_BYTES: largest length */
} fdesc_t;

typedef struct rdesc {
        df__rec_type_t type;
        const char *name; /* short name; full name is io.duraflow.<name> */
        const fdesc_t *fields;
        size_t nfields;
        size_t size;
} rdesc_t;

#define F_STR(T, f) {#f, K_STRING, offsetof(T, f), 0, 0, DF__STRING_MAX}
#define F_BYTES(T, f, lim) {#f, K_BYTES, offsetof(T, f), 0, 0, (lim)}
#define F_INT(T, f, lo, hi) {#f, K_INT, offsetof(T, f), (lo), (hi), 0}
#define F_LONG(T, f) {#f, K_LONG, offsetof(T, f), INT64_MIN, INT64_MAX, 0}

static const fdesc_t event_fields[] = {
        /* up to the last schedule type: 8..19 are for executions' own types to come (a
         * type the engine does not know is answered "unknown event type") */
        F_INT(df__event_t, type, DF__EV_START, DF__EV_SCHEDULE_RUN_DONE),
        F_STR(df__event_t, execution_id),
        F_STR(df__event_t, workflow),
        F_BYTES(df__event_t, input, DF__PAYLOAD_MAX),
        F_STR(df__event_t, op_id),
        F_LONG(df__event_t, seq),
        F_INT(df__event_t, timer_kind, DF__TK_WAIT, DF__TK_RETENTION),
        F_STR(df__event_t, callback_id),
        F_INT(df__event_t, callback_kind, DF__CB_SUCCESS, DF__CB_HEARTBEAT),
        F_STR(df__event_t, error),
        F_STR(df__event_t, request_id),
        F_LONG(df__event_t, ts_ms),
        F_STR(df__event_t, parent_id),
        F_STR(df__event_t, parent_op),
        F_STR(df__event_t, child_id),
        F_INT(df__event_t, status, DF__ES_PENDING, DF__ES_VERSION_MISSING),
        F_STR(df__event_t, link),
        F_INT(df__event_t, run, 0, INT32_MAX),
};

static const fdesc_t exec_fields[] = {
        F_STR(df__exec_rec_t, execution_id),
        F_STR(df__exec_rec_t, workflow),
        F_BYTES(df__exec_rec_t, input, DF__PAYLOAD_MAX),
        F_INT(df__exec_rec_t, status, DF__ES_PENDING, DF__ES_PAUSED),
        F_BYTES(df__exec_rec_t, output, DF__PAYLOAD_MAX),
        F_STR(df__exec_rec_t, error),
        F_LONG(df__exec_rec_t, created_ms),
        F_LONG(df__exec_rec_t, updated_ms),
        F_INT(df__exec_rec_t, op_count, 0, INT32_MAX),
        F_INT(df__exec_rec_t, crash_count, 0, INT32_MAX),
        F_STR(df__exec_rec_t, crash_op),
        F_INT(df__exec_rec_t, crash_attempt, 0, INT32_MAX),
        F_BYTES(df__exec_rec_t, stash, DF__PAYLOAD_MAX + 65536),
        F_INT(df__exec_rec_t, version, 0, INT32_MAX),
        F_STR(df__exec_rec_t, parent_id),
        F_STR(df__exec_rec_t, parent_op),
        F_LONG(df__exec_rec_t, park_seq),
        F_STR(df__exec_rec_t, schedule),
        F_INT(df__exec_rec_t, run, 0, INT32_MAX),
        F_STR(df__exec_rec_t, run_log),
        F_STR(df__exec_rec_t, traceparent),
};

static const fdesc_t op_fields[] = {
        F_STR(df__op_rec_t, execution_id),
        F_STR(df__op_rec_t, op_id),
        F_STR(df__op_rec_t, parent_id),
        F_STR(df__op_rec_t, name),
        F_INT(df__op_rec_t, type, DF__OP_STEP, DF__OP_CONDITION),
        F_INT(df__op_rec_t, status, DF__OS_STARTED, DF__OS_TIMED_OUT),
        F_INT(df__op_rec_t, attempt, 0, INT32_MAX),
        F_BYTES(df__op_rec_t, result, DF__PAYLOAD_MAX),
        F_STR(df__op_rec_t, error),
        F_LONG(df__op_rec_t, started_ms),
        F_LONG(df__op_rec_t, updated_ms),
        F_LONG(df__op_rec_t, due_ms),
        F_STR(df__op_rec_t, callback_id),
        F_LONG(df__op_rec_t, seq),
        F_LONG(df__op_rec_t, hb_timeout_ms),
        F_INT(df__op_rec_t, child_count, 0, INT32_MAX),
        F_STR(df__op_rec_t, child_id),
};

static const fdesc_t timer_fields[] = {
        F_STR(df__timer_rec_t, timer_id),
        F_LONG(df__timer_rec_t, due_ms),
        F_STR(df__timer_rec_t, topic),
        F_BYTES(df__timer_rec_t, key, DF__PAYLOAD_MAX),
        F_BYTES(df__timer_rec_t, payload, DF__PAYLOAD_MAX),
        F_LONG(df__timer_rec_t, created_ms),
};

static const fdesc_t result_fields[] = {
        F_INT(df__result_rec_t, kind, DF__RK_RESULT, DF__RK_REPLY),
        F_STR(df__result_rec_t, execution_id),
        F_STR(df__result_rec_t, request_id),
        F_INT(df__result_rec_t, status, DF__ES_PENDING, DF__ES_PAUSED),
        F_INT(df__result_rec_t, code, INT32_MIN, INT32_MAX),
        F_BYTES(df__result_rec_t, output, DF__PAYLOAD_MAX),
        F_STR(df__result_rec_t, error),
        F_LONG(df__result_rec_t, ts_ms),
};

static const fdesc_t dlq_fields[] = {
        F_STR(df__dlq_rec_t, topic),
        F_INT(df__dlq_rec_t, partition, INT32_MIN, INT32_MAX),
        F_LONG(df__dlq_rec_t, offset),
        F_BYTES(df__dlq_rec_t, key, DF__DLQ_VALUE_MAX),
        F_BYTES(df__dlq_rec_t, value, DF__DLQ_VALUE_MAX),
        F_STR(df__dlq_rec_t, error),
        F_LONG(df__dlq_rec_t, ts_ms),
};

static const fdesc_t sched_fields[] = {
        F_STR(df__sched_rec_t, name),
        F_STR(df__sched_rec_t, cron),
        F_STR(df__sched_rec_t, timezone),
        F_STR(df__sched_rec_t, workflow),
        F_BYTES(df__sched_rec_t, input, DF__PAYLOAD_MAX),
        F_INT(df__sched_rec_t, overlap, DF__OV_SKIP, DF__OV_ALLOW),
        F_INT(df__sched_rec_t, paused, 0, 1),
        F_LONG(df__sched_rec_t, next_fire_ms),
        F_LONG(df__sched_rec_t, last_fire_ms),
        F_STR(df__sched_rec_t, last_run_id),
        F_INT(df__sched_rec_t, running, 0, 1),
        F_LONG(df__sched_rec_t, fires),
        F_LONG(df__sched_rec_t, skipped),
        F_LONG(df__sched_rec_t, missed),
        F_LONG(df__sched_rec_t, created_ms),
        F_LONG(df__sched_rec_t, updated_ms),
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define RDESC(t, n, f, T) {t, n, f, NELEM(f), sizeof(T)}

static const rdesc_t rdescs[] = {
        RDESC(DF__REC_EVENT, "Event", event_fields, df__event_t),
        RDESC(DF__REC_EXEC, "Execution", exec_fields, df__exec_rec_t),
        RDESC(DF__REC_OP, "Operation", op_fields, df__op_rec_t),
        RDESC(DF__REC_TIMER, "Timer", timer_fields, df__timer_rec_t),
        RDESC(DF__REC_RESULT, "Result", result_fields, df__result_rec_t),
        RDESC(DF__REC_DLQ, "DeadLetter", dlq_fields, df__dlq_rec_t),
        RDESC(DF__REC_SCHEDULE, "Schedule", sched_fields, df__sched_rec_t),
};

#define NAMESPACE "io.duraflow"
#define NREC (DF__REC_SCHEDULE + 1)

/* ------------------------------------------------------------------ */
/* Registry (built once).                                              */

typedef struct dflt {
        int64_t i;
        uint8_t *s; /* string (NUL terminated) or bytes */
        size_t len;
} dflt_t;

typedef struct wfield {
        char *name;
        kind_t kind;
        int rf;       /* reader field index, -1 = writer-only, skipped */
        size_t limit; /* largest length accepted on the wire */
} wfield_t;

typedef struct sent {
        char *path;
        const rdesc_t *rd;
        int current;
        uint64_t fp;
        char *pcf;
        avro_schema_t schema;
        avro_value_iface_t *iface;
        size_t nw;
        wfield_t *wf;
        int *from; /* per reader field: writer field index, -1 = default */
} sent_t;

static struct {
        sent_t *ents;
        size_t n;
        sent_t *cur[NREC];
        dflt_t *dflt[NREC];
        int ok;
        char err[512];
} G;

static pthread_once_t codec_once = PTHREAD_ONCE_INIT;

/* ------------------------------------------------------------------ */
/* Small helpers.                                                      */

__attribute__((format(printf, 3, 4))) static int fail(char *errstr, size_t errstr_size, const char *fmt, ...)
{
        if (errstr && errstr_size > 0) {
                va_list ap;
                va_start(ap, fmt);
                vsnprintf(errstr, errstr_size, fmt, ap);
                va_end(ap);
        }
        return -1;
}

static const char *avro_err(void)
{
        const char *e = avro_strerror();
        return (e && *e) ? e : "unknown avro-c error";
}

static void *field_ptr(void *rec, const fdesc_t *fd)
{
        return (char *)rec + fd->off;
}

static const void *field_cptr(const void *rec, const fdesc_t *fd)
{
        return (const char *)rec + fd->off;
}

static const rdesc_t *rdesc_of(df__rec_type_t t)
{
        for (size_t i = 0; i < NELEM(rdescs); i++)
                if (rdescs[i].type == t)
                        return &rdescs[i];
        return NULL;
}

/* ------------------------------------------------------------------ */
/* Generic record operations driven by the descriptors.                */

static void rec_clear(const rdesc_t *rd, void *rec)
{
        if (!rec)
                return;
        for (size_t i = 0; i < rd->nfields; i++) {
                const fdesc_t *fd = &rd->fields[i];
                if (fd->kind == K_STRING)
                        free(*(char **)field_ptr(rec, fd));
                else if (fd->kind == K_BYTES)
                        free(((df__buf_t *)field_ptr(rec, fd))->data);
        }
        memset(rec, 0, rd->size);
}

static int rec_copy(const rdesc_t *rd, void *dst, const void *src)
{
        if (!dst || !src)
                return -1;
        memcpy(dst, src, rd->size);
        /* Detach every owned pointer first so that a failure can clear dst. */
        for (size_t i = 0; i < rd->nfields; i++) {
                const fdesc_t *fd = &rd->fields[i];
                if (fd->kind == K_STRING)
                        *(char **)field_ptr(dst, fd) = NULL;
                else if (fd->kind == K_BYTES)
                        *(df__buf_t *)field_ptr(dst, fd) = (df__buf_t){NULL, 0};
        }
        for (size_t i = 0; i < rd->nfields; i++) {
                const fdesc_t *fd = &rd->fields[i];
                if (fd->kind == K_STRING) {
                        char *s = df__strdup0(*(char *const *)field_cptr(src, fd));
                        if (!s)
                                goto oom;
                        *(char **)field_ptr(dst, fd) = s;
                } else if (fd->kind == K_BYTES) {
                        const df__buf_t *sb = field_cptr(src, fd);
                        if (df__buf_set(field_ptr(dst, fd), sb->data, sb->len) != 0)
                                goto oom;
                }
        }
        return 0;
oom:
        rec_clear(rd, dst);
        return -1;
}

static int check_int(const rdesc_t *rd, const fdesc_t *fd, int64_t v, char *errstr, size_t n)
{
        if (v < fd->min || v > fd->max)
                return fail(errstr, n, "%s.%s is %" PRId64 ", out of range [%" PRId64 ", %" PRId64 "]",
                            rd->name, fd->name, v, fd->min, fd->max);
        return 0;
}

static int check_len(const char *rec, const char *field, size_t len, size_t limit, char *errstr, size_t n)
{
        if (len > limit)
                return fail(errstr, n, "%s.%s is %zu bytes, over the limit of %zu", rec, field, len, limit);
        return 0;
}

static int check_string(const char *rec, const char *field, const char *s, size_t len, char *errstr, size_t n)
{
        if (!df__utf8_valid(s, len))
                return fail(errstr, n, "invalid UTF-8 in string field %s.%s", rec, field);
        if (len > 0 && memchr(s, '\0', len))
                return fail(errstr, n, "string field %s.%s contains a NUL character", rec, field);
        return 0;
}

/* Validate a record before encoding. */
static int rec_validate(const rdesc_t *rd, const void *rec, char *errstr, size_t n)
{
        for (size_t i = 0; i < rd->nfields; i++) {
                const fdesc_t *fd = &rd->fields[i];
                switch (fd->kind) {
                case K_INT:
                        if (check_int(rd, fd, *(const int32_t *)field_cptr(rec, fd), errstr, n))
                                return -1;
                        break;
                case K_LONG:
                        break;
                case K_STRING: {
                        const char *s = *(char *const *)field_cptr(rec, fd);
                        size_t len = s ? strlen(s) : 0;
                        if (check_len(rd->name, fd->name, len, fd->limit, errstr, n) ||
                            check_string(rd->name, fd->name, s, len, errstr, n))
                                return -1;
                        break;
                }
                case K_BYTES: {
                        const df__buf_t *b = field_cptr(rec, fd);
                        if (b->len > 0 && !b->data)
                                return fail(errstr, n, "%s.%s has length %zu but no data", rd->name,
                                            fd->name, b->len);
                        if (check_len(rd->name, fd->name, b->len, fd->limit, errstr, n))
                                return -1;
                        break;
                }
                }
        }
        return 0;
}

/* ------------------------------------------------------------------ */
/* Parsing Canonical Form (Avro specification, "Parsing Canonical Form   */
/* for Schemas"): PRIMITIVES, FULLNAMES, STRIP, ORDER (name, type,       */
/* fields, symbols, items, values, size), STRINGS, INTEGERS, WHITESPACE. */

typedef struct sb {
        char *p;
        size_t len, cap;
        int oom;
} sb_t;

static void sb_add(sb_t *b, const char *s, size_t n)
{
        if (b->oom)
                return;
        if (b->len + n + 1 > b->cap) {
                size_t cap = b->cap ? b->cap : 256;
                while (cap < b->len + n + 1)
                        cap *= 2;
                char *p = realloc(b->p, cap);
                if (!p) {
                        b->oom = 1;
                        return;
                }
                b->p = p;
                b->cap = cap;
        }
        memcpy(b->p + b->len, s, n);
        b->len += n;
        b->p[b->len] = '\0';
}

static void sb_puts(sb_t *b, const char *s)
{
        sb_add(b, s, strlen(s));
}

/* A JSON string literal; characters are emitted as UTF-8, only what JSON
 * requires is escaped (names and symbols never need it). */
static void sb_qstr(sb_t *b, const char *s)
{
        sb_add(b, "\"", 1);
        for (const char *p = s; *p; p++) {
                unsigned char c = (unsigned char)*p;
                if (c == '"' || c == '\\') {
                        char e[2] = {'\\', (char)c};
                        sb_add(b, e, 2);
                } else if (c < 0x20) {
                        char e[8];
                        snprintf(e, sizeof e, "\\u%04x", c);
                        sb_add(b, e, 6);
                } else {
                        sb_add(b, (const char *)&c, 1);
                }
        }
        sb_add(b, "\"", 1);
}

static const char *const primitives[] = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"};

static int is_primitive(const char *s)
{
        for (size_t i = 0; i < NELEM(primitives); i++)
                if (strcmp(s, primitives[i]) == 0)
                        return 1;
        return 0;
}

/* [A-Za-z_][A-Za-z0-9_]* components separated by single dots. */
static int valid_name(const char *s, int dotted)
{
        int start = 1;
        if (!*s)
                return 0;
        for (; *s; s++) {
                char c = *s;
                if (c == '.' && dotted && !start) {
                        start = 1;
                        continue;
                }
                if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || (!start && c >= '0' && c <= '9')) {
                        start = 0;
                        continue;
                }
                return 0;
        }
        return !start;
}

static char *make_fullname(const char *name, const char *ns)
{
        char *full;
        if (strchr(name, '.') || !ns || !*ns)
                return strdup(name);
        if (asprintf(&full, "%s.%s", ns, name) < 0)
                return NULL;
        return full;
}

static int pcf_emit(json_t *s, const char *ns, sb_t *b, int depth, char *err, size_t n);

/* A named type definition: returns its full name (malloc'd) and emits
 * {"name":"<full>","type":"<type>". */
static char *pcf_named_head(json_t *s, const char *type, const char *ns, sb_t *b, char *err, size_t n)
{
        json_t *jn = json_object_get(s, "name");
        json_t *jns = json_object_get(s, "namespace");
        if (!json_is_string(jn) || !valid_name(json_string_value(jn), 1)) {
                fail(err, n, "%s schema without a valid \"name\"", type);
                return NULL;
        }
        if (jns && !json_is_string(jns) && !json_is_null(jns)) {
                fail(err, n, "\"namespace\" of %s is not a string", json_string_value(jn));
                return NULL;
        }
        if (json_is_string(jns)) {
                const char *v = json_string_value(jns);
                if (*v && !valid_name(v, 1)) {
                        fail(err, n, "invalid namespace \"%s\"", v);
                        return NULL;
                }
                ns = v;
        }
        char *full = make_fullname(json_string_value(jn), ns);
        if (!full) {
                fail(err, n, "out of memory");
                return NULL;
        }
        sb_puts(b, "{\"name\":");
        sb_qstr(b, full);
        sb_puts(b, ",\"type\":");
        sb_qstr(b, type);
        return full;
}

/* Reads better whole: one case per schema kind, as the specification lists its Parsing Canonical Form rules. */
static int pcf_emit(json_t *s, const char *ns, sb_t *b, int depth, char *err, size_t n)
{
        if (depth > 64)
                return fail(err, n, "schema nested too deeply");
        if (json_is_string(s)) {
                const char *name = json_string_value(s);
                if (is_primitive(name)) {
                        sb_qstr(b, name);
                        return 0;
                }
                if (!valid_name(name, 1))
                        return fail(err, n, "invalid type name \"%s\"", name);
                char *full = make_fullname(name, ns);
                if (!full)
                        return fail(err, n, "out of memory");
                sb_qstr(b, full);
                free(full);
                return 0;
        }
        if (json_is_array(s)) {
                size_t i;
                json_t *v;
                sb_puts(b, "[");
                json_array_foreach(s, i, v)
                {
                        if (i > 0)
                                sb_puts(b, ",");
                        if (pcf_emit(v, ns, b, depth + 1, err, n))
                                return -1;
                }
                sb_puts(b, "]");
                return 0;
        }
        if (!json_is_object(s))
                return fail(err, n, "a schema must be a string, an array or an object");

        json_t *jt = json_object_get(s, "type");
        if (!json_is_string(jt))
                return fail(err, n, "schema object without a string \"type\"");
        const char *type = json_string_value(jt);

        if (is_primitive(type)) {
                sb_qstr(b, type); /* PRIMITIVES: {"type":"int"} -> "int" */
                return 0;
        }
        if (strcmp(type, "record") == 0 || strcmp(type, "error") == 0) {
                char *full = pcf_named_head(s, type, ns, b, err, n);
                if (!full)
                        return -1;
                /* Children resolve relative names against the namespace of
                 * the enclosing type's full name. */
                char *dot = strrchr(full, '.');
                const char *cns = "";
                if (dot) {
                        *dot = '\0';
                        cns = full;
                }
                json_t *fields = json_object_get(s, "fields");
                if (!json_is_array(fields)) {
                        free(full);
                        return fail(err, n, "record without a \"fields\" array");
                }
                sb_puts(b, ",\"fields\":[");
                size_t i;
                json_t *f;
                json_array_foreach(fields, i, f)
                {
                        json_t *fname = json_object_get(f, "name");
                        json_t *ftype = json_object_get(f, "type");
                        if (!json_is_string(fname) || !valid_name(json_string_value(fname), 0) || !ftype) {
                                free(full);
                                return fail(err, n, "record field %zu without a valid name and type", i);
                        }
                        if (i > 0)
                                sb_puts(b, ",");
                        sb_puts(b, "{\"name\":");
                        sb_qstr(b, json_string_value(fname));
                        sb_puts(b, ",\"type\":");
                        if (pcf_emit(ftype, cns, b, depth + 1, err, n)) {
                                free(full);
                                return -1;
                        }
                        sb_puts(b, "}");
                }
                sb_puts(b, "]}");
                free(full);
                return 0;
        }
        if (strcmp(type, "enum") == 0) {
                char *full = pcf_named_head(s, type, ns, b, err, n);
                if (!full)
                        return -1;
                free(full);
                json_t *syms = json_object_get(s, "symbols");
                if (!json_is_array(syms))
                        return fail(err, n, "enum without a \"symbols\" array");
                sb_puts(b, ",\"symbols\":[");
                size_t i;
                json_t *v;
                json_array_foreach(syms, i, v)
                {
                        if (!json_is_string(v) || !valid_name(json_string_value(v), 0))
                                return fail(err, n, "invalid enum symbol %zu", i);
                        if (i > 0)
                                sb_puts(b, ",");
                        sb_qstr(b, json_string_value(v));
                }
                sb_puts(b, "]}");
                return 0;
        }
        if (strcmp(type, "fixed") == 0) {
                json_t *size = json_object_get(s, "size");
                if (!json_is_integer(size) || json_integer_value(size) < 0)
                        return fail(err, n, "fixed without a non-negative integer \"size\"");
                char *full = pcf_named_head(s, type, ns, b, err, n);
                if (!full)
                        return -1;
                free(full);
                char num[32];
                snprintf(num, sizeof num, ",\"size\":%" JSON_INTEGER_FORMAT "}", json_integer_value(size));
                sb_puts(b, num);
                return 0;
        }
        if (strcmp(type, "array") == 0 || strcmp(type, "map") == 0) {
                int arr = type[0] == 'a';
                json_t *sub = json_object_get(s, arr ? "items" : "values");
                if (!sub)
                        return fail(err, n, "%s without \"%s\"", type, arr ? "items" : "values");
                sb_puts(b, arr ? "{\"type\":\"array\",\"items\":" : "{\"type\":\"map\",\"values\":");
                if (pcf_emit(sub, ns, b, depth + 1, err, n))
                        return -1;
                sb_puts(b, "}");
                return 0;
        }
        /* {"type":"SomeNamedType"}: a reference. */
        return pcf_emit(jt, ns, b, depth + 1, err, n);
}

static int pcf_of_json(json_t *root, char **out, char *err, size_t n)
{
        sb_t b = {0};
        *out = NULL;
        if (pcf_emit(root, "", &b, 0, err, n)) {
                free(b.p);
                return -1;
        }
        if (b.oom || !b.p) {
                free(b.p);
                return fail(err, n, "out of memory");
        }
        *out = b.p;
        return 0;
}

int df__codec_pcf(const char *json, size_t len, char **pcf, char *errstr, size_t errstr_size)
{
        json_error_t je;
        if (!pcf)
                return fail(errstr, errstr_size, "no output pointer");
        *pcf = NULL;
        json_t *root = json_loadb(json, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
        if (!root)
                return fail(errstr, errstr_size, "schema is not valid JSON: %s (line %d)", je.text, je.line);
        int r = pcf_of_json(root, pcf, errstr, errstr_size);
        json_decref(root);
        return r;
}

/* ------------------------------------------------------------------ */
/* Registry construction.                                               */

static int kind_of_json(json_t *t, kind_t *k)
{
        if (json_is_object(t))
                t = json_object_get(t, "type");
        if (!json_is_string(t))
                return -1;
        const char *s = json_string_value(t);
        for (int i = 0; i < (int)NELEM(kind_names); i++)
                if (strcmp(s, kind_names[i]) == 0) {
                        *k = (kind_t)i;
                        return 0;
                }
        return -1;
}

/* Avro encodes a bytes default as a JSON string whose code points 0..255
 * are the bytes. */
static int bytes_default(const char *s, size_t len, uint8_t **out, size_t *outlen)
{
        const unsigned char *p = (const unsigned char *)s;
        uint8_t *d = malloc(len + 1);
        size_t k = 0;
        if (!d)
                return -1;
        for (size_t i = 0; i < len;) {
                if (p[i] < 0x80) {
                        d[k++] = p[i++];
                } else if ((p[i] == 0xC2 || p[i] == 0xC3) && i + 1 < len) {
                        d[k++] = (uint8_t)(((p[i] & 0x03) << 6) | (p[i + 1] & 0x3F));
                        i += 2;
                } else {
                        free(d);
                        return -1;
                }
        }
        d[k] = 0;
        *out = d;
        *outlen = k;
        return 0;
}

static int parse_default(const rdesc_t *rd, const fdesc_t *fd, json_t *jd, dflt_t *d, char *err, size_t n)
{
        memset(d, 0, sizeof *d);
        if (!jd)
                return fail(err, n, "field %s.%s has no default", rd->name, fd->name);
        switch (fd->kind) {
        case K_INT:
        case K_LONG:
                if (!json_is_integer(jd))
                        return fail(err, n, "default of %s.%s is not an integer", rd->name, fd->name);
                d->i = json_integer_value(jd);
                if (fd->kind == K_INT && check_int(rd, fd, d->i, err, n))
                        return -1;
                return 0;
        case K_STRING:
                if (!json_is_string(jd))
                        return fail(err, n, "default of %s.%s is not a string", rd->name, fd->name);
                d->len = json_string_length(jd);
                d->s = (uint8_t *)strdup(json_string_value(jd));
                if (!d->s)
                        return fail(err, n, "out of memory");
                return check_string(rd->name, fd->name, (const char *)d->s, d->len, err, n);
        case K_BYTES:
                if (!json_is_string(jd))
                        return fail(err, n, "default of %s.%s is not a string", rd->name, fd->name);
                if (bytes_default(json_string_value(jd), json_string_length(jd), &d->s, &d->len))
                        return fail(err, n, "default of %s.%s is not a bytes string", rd->name, fd->name);
                return 0;
        }
        return 0;
}

static int promotable(kind_t w, kind_t r)
{
        return w == r || (w == K_INT && r == K_LONG) || (w == K_STRING && r == K_BYTES) ||
               (w == K_BYTES && r == K_STRING);
}

/* Parse one embedded schema into e (defaults of current schemas go to
 * G.dflt).  Reads better whole: the steps of loading one schema in order,
 * sharing one cleanup on failure. */
static int load_schema(sent_t *e, const char *path, const char *text, size_t len, char *err, size_t n)
{
        json_error_t je;
        json_t *root = NULL;
        int r = -1;

        e->path = strdup(path);
        if (!e->path)
                return fail(err, n, "out of memory");
        e->current = strchr(path, '/') == NULL;
        root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
        if (!root) {
                fail(err, n, "schemas/%s: invalid JSON: %s (line %d)", path, je.text, je.line);
                goto out;
        }
        if (pcf_of_json(root, &e->pcf, err, n)) {
                char tmp[sizeof G.err];
                snprintf(tmp, sizeof tmp, "%s", err ? err : "");
                fail(err, n, "schemas/%s: %s", path, tmp);
                goto out;
        }
        e->fp = df__crc64_avro(e->pcf, strlen(e->pcf));

        /* Which record? */
        json_t *jt = json_object_get(root, "type"), *jn = json_object_get(root, "name"),
               *jns = json_object_get(root, "namespace");
        if (!json_is_string(jt) || strcmp(json_string_value(jt), "record") != 0 || !json_is_string(jn)) {
                fail(err, n, "schemas/%s: not a named record schema", path);
                goto out;
        }
        char *full = make_fullname(json_string_value(jn), json_is_string(jns) ? json_string_value(jns) : "");
        if (!full) {
                fail(err, n, "out of memory");
                goto out;
        }
        for (size_t i = 0; i < NELEM(rdescs); i++) {
                if (strncmp(full, NAMESPACE ".", sizeof NAMESPACE) == 0 &&
                    strcmp(full + sizeof NAMESPACE, rdescs[i].name) == 0)
                        e->rd = &rdescs[i];
        }
        if (!e->rd) {
                fail(err, n, "schemas/%s: record %s is not one the codec knows", path, full);
                free(full);
                goto out;
        }
        free(full);
        const rdesc_t *rd = e->rd;

        /* Writer fields. */
        json_t *fields = json_object_get(root, "fields");
        e->nw = json_array_size(fields);
        e->wf = calloc(e->nw ? e->nw : 1, sizeof *e->wf);
        e->from = calloc(rd->nfields, sizeof *e->from);
        if (!e->wf || !e->from) {
                fail(err, n, "out of memory");
                goto out;
        }
        for (size_t i = 0; i < rd->nfields; i++)
                e->from[i] = -1;
        for (size_t j = 0; j < e->nw; j++) {
                json_t *f = json_array_get(fields, j);
                wfield_t *w = &e->wf[j];
                w->name = strdup(json_string_value(json_object_get(f, "name")));
                if (!w->name) {
                        fail(err, n, "out of memory");
                        goto out;
                }
                if (kind_of_json(json_object_get(f, "type"), &w->kind)) {
                        fail(err, n, "schemas/%s: field %s: only int, long, string and bytes fields are supported",
                             path, w->name);
                        goto out;
                }
                w->rf = -1;
                w->limit = DF__DLQ_VALUE_MAX; /* writer-only field: generous, still bounded */
                for (size_t i = 0; i < rd->nfields; i++) {
                        if (strcmp(rd->fields[i].name, w->name) != 0)
                                continue;
                        if (!promotable(w->kind, rd->fields[i].kind)) {
                                fail(err, n, "schemas/%s: field %s.%s: writer type %s does not resolve to %s", path,
                                     rd->name, w->name, kind_names[w->kind], kind_names[rd->fields[i].kind]);
                                goto out;
                        }
                        if (e->current && w->kind != rd->fields[i].kind) {
                                fail(err, n, "schemas/%s: field %s.%s is %s, the struct has %s", path, rd->name,
                                     w->name, kind_names[w->kind], kind_names[rd->fields[i].kind]);
                                goto out;
                        }
                        w->rf = (int)i;
                        w->limit = rd->fields[i].limit;
                        e->from[i] = (int)j;
                }
                if (e->current && w->rf < 0) {
                        fail(err, n, "schemas/%s: field %s.%s is not in the C struct", path, rd->name, w->name);
                        goto out;
                }
        }

        if (e->current) {
                if (G.cur[rd->type]) {
                        fail(err, n, "schemas/%s and schemas/%s are both current versions of %s", G.cur[rd->type]->path,
                             path, rd->name);
                        goto out;
                }
                dflt_t *d = calloc(rd->nfields, sizeof *d);
                if (!d) {
                        fail(err, n, "out of memory");
                        goto out;
                }
                G.dflt[rd->type] = d;
                for (size_t i = 0; i < rd->nfields; i++) {
                        if (e->from[i] < 0) {
                                fail(err, n, "schemas/%s: struct field %s.%s is missing from the schema", path,
                                     rd->name, rd->fields[i].name);
                                goto out;
                        }
                        json_t *f = json_array_get(fields, (size_t)e->from[i]);
                        if (parse_default(rd, &rd->fields[i], json_object_get(f, "default"), &d[i], err, n)) {
                                char tmp[sizeof G.err];
                                snprintf(tmp, sizeof tmp, "%s", err ? err : "");
                                fail(err, n, "schemas/%s: %s", path, tmp);
                                goto out;
                        }
                }
                G.cur[rd->type] = e;
        }

        /* avro-c side: schema object and generic class. */
        if (avro_schema_from_json_length(text, len, &e->schema)) {
                fail(err, n, "schemas/%s: avro-c rejects the schema: %s", path, avro_err());
                goto out;
        }
        if (avro_schema_record_size(e->schema) != e->nw) {
                fail(err, n, "schemas/%s: avro-c sees %zu fields, expected %zu", path,
                     avro_schema_record_size(e->schema), e->nw);
                goto out;
        }
        for (size_t j = 0; j < e->nw; j++) {
                const char *an = avro_schema_record_field_name(e->schema, (int)j);
                if (!an || strcmp(an, e->wf[j].name) != 0) {
                        fail(err, n, "schemas/%s: avro-c field %zu is %s, expected %s", path, j, an ? an : "?",
                             e->wf[j].name);
                        goto out;
                }
        }
        e->iface = avro_generic_class_from_schema(e->schema);
        if (!e->iface) {
                fail(err, n, "schemas/%s: avro_generic_class_from_schema: %s", path, avro_err());
                goto out;
        }
        r = 0;
out:
        json_decref(root);
        return r;
}

static void registry_free(void)
{
        for (size_t k = 0; k < G.n; k++) {
                sent_t *e = &G.ents[k];
                if (e->iface)
                        avro_value_iface_decref(e->iface);
                if (e->schema)
                        avro_schema_decref(e->schema);
                for (size_t j = 0; e->wf && j < e->nw; j++)
                        free(e->wf[j].name);
                free(e->wf);
                free(e->from);
                free(e->pcf);
                free(e->path);
        }
        free(G.ents);
        G.ents = NULL;
        G.n = 0;
        for (int t = 0; t < NREC; t++) {
                const rdesc_t *rd = rdesc_of((df__rec_type_t)t);
                if (G.dflt[t] && rd)
                        for (size_t i = 0; i < rd->nfields; i++)
                                free(G.dflt[t][i].s);
                free(G.dflt[t]);
                G.dflt[t] = NULL;
                G.cur[t] = NULL;
        }
}

static void codec_init_once(void)
{
        char *err = G.err;
        size_t n = sizeof G.err;

        G.ents = calloc(df__schema_count ? df__schema_count : 1, sizeof *G.ents);
        if (!G.ents) {
                fail(err, n, "out of memory");
                return;
        }
        for (size_t k = 0; k < df__schema_count; k++) {
                G.n = k + 1;
                if (load_schema(&G.ents[k], df__schema_paths[k], (const char *)df__schema_texts[k],
                                df__schema_lens[k], err, n))
                        goto bad;
                for (size_t m = 0; m < k; m++)
                        if (G.ents[m].fp == G.ents[k].fp) {
                                fail(err, n, "schemas/%s and schemas/%s have the same fingerprint %016" PRIx64,
                                     G.ents[m].path, G.ents[k].path, G.ents[k].fp);
                                goto bad;
                        }
        }
        for (size_t i = 0; i < NELEM(rdescs); i++)
                if (!G.cur[rdescs[i].type]) {
                        fail(err, n, "no current schema for io.duraflow.%s in schemas/", rdescs[i].name);
                        goto bad;
                }
        /* Older versions: every reader field they lack needs a default,
         * which every current field has (checked above). */
        G.ok = 1;
        return;
bad:
        registry_free();
}

int df__codec_init(char *errstr, size_t errstr_size)
{
        pthread_once(&codec_once, codec_init_once);
        if (!G.ok)
                return fail(errstr, errstr_size, "codec init failed: %s", G.err);
        return 0;
}

static const sent_t *lookup_fp(uint64_t fp)
{
        for (size_t k = 0; k < G.n; k++)
                if (G.ents[k].fp == fp)
                        return &G.ents[k];
        return NULL;
}

uint64_t df__codec_fingerprint(df__rec_type_t type)
{
        if (df__codec_init(NULL, 0) || type <= DF__REC_UNKNOWN || type >= NREC)
                return 0;
        return G.cur[type]->fp;
}

/* ------------------------------------------------------------------ */
/* Encoding.                                                           */

static int encode_rec(const rdesc_t *rd, const void *rec, df__buf_t *out, char *errstr, size_t n)
{
        avro_value_t v = {NULL, NULL};
        avro_writer_t w = NULL;
        uint8_t *buf = NULL;
        size_t sz = 0;
        int r = -1;

        if (!out)
                return fail(errstr, n, "%s encode: no output buffer", rd->name);
        out->data = NULL;
        out->len = 0;
        if (df__codec_init(errstr, n))
                return -1;
        if (!rec)
                return fail(errstr, n, "%s encode: NULL record", rd->name);
        if (rec_validate(rd, rec, errstr, n))
                return -1;

        const sent_t *e = G.cur[rd->type];
        if (avro_generic_value_new(e->iface, &v)) {
                v.iface = NULL;
                fail(errstr, n, "%s encode: avro_generic_value_new: %s", rd->name, avro_err());
                goto out;
        }
        for (size_t i = 0; i < rd->nfields; i++) {
                const fdesc_t *fd = &rd->fields[i];
                avro_value_t fv;
                int rc;
                if (avro_value_get_by_index(&v, (size_t)e->from[i], &fv, NULL)) {
                        fail(errstr, n, "%s encode: field %s: %s", rd->name, fd->name, avro_err());
                        goto out;
                }
                switch (fd->kind) {
                case K_INT:
                        rc = avro_value_set_int(&fv, *(const int32_t *)field_cptr(rec, fd));
                        break;
                case K_LONG:
                        rc = avro_value_set_long(&fv, *(const int64_t *)field_cptr(rec, fd));
                        break;
                case K_STRING: {
                        /* Wrapped, not copied; avro-c string sizes count the NUL. */
                        const char *s = *(char *const *)field_cptr(rec, fd);
                        avro_wrapped_buffer_t wb;
                        if (!s)
                                s = "";
                        rc = avro_wrapped_buffer_new(&wb, s, strlen(s) + 1);
                        if (rc == 0)
                                rc = avro_value_give_string_len(&fv, &wb);
                        break;
                }
                case K_BYTES: {
                        const df__buf_t *b = field_cptr(rec, fd);
                        avro_wrapped_buffer_t wb;
                        rc = avro_wrapped_buffer_new(&wb, b->len ? (const void *)b->data : "", b->len);
                        if (rc == 0)
                                rc = avro_value_give_bytes(&fv, &wb);
                        break;
                }
                default:
                        rc = EINVAL;
                }
                if (rc) {
                        fail(errstr, n, "%s encode: field %s: %s", rd->name, fd->name, avro_err());
                        goto out;
                }
        }
        if (avro_value_sizeof(&v, &sz)) {
                fail(errstr, n, "%s encode: avro_value_sizeof: %s", rd->name, avro_err());
                goto out;
        }
        if (sz == 0 || sz > (size_t)INT64_MAX - HDR_LEN) {
                fail(errstr, n, "%s encode: avro_value_sizeof returned %zu", rd->name, sz);
                goto out;
        }
        buf = malloc(HDR_LEN + sz);
        if (!buf) {
                fail(errstr, n, "%s encode: out of memory (%zu bytes)", rd->name, HDR_LEN + sz);
                goto out;
        }
        buf[0] = MARKER0;
        buf[1] = MARKER1;
        for (int i = 0; i < 8; i++)
                buf[2 + i] = (uint8_t)(e->fp >> (8 * i));
        w = avro_writer_memory((const char *)buf + HDR_LEN, (int64_t)sz);
        if (!w) {
                fail(errstr, n, "%s encode: avro_writer_memory: %s", rd->name, avro_err());
                goto out;
        }
        if (avro_value_write(w, &v)) {
                fail(errstr, n, "%s encode: avro_value_write: %s", rd->name, avro_err());
                goto out;
        }
        if (avro_writer_tell(w) != (int64_t)sz) {
                fail(errstr, n, "%s encode: wrote %" PRId64 " bytes, avro_value_sizeof said %zu", rd->name,
                     avro_writer_tell(w), sz);
                goto out;
        }
        out->data = buf;
        out->len = HDR_LEN + sz;
        buf = NULL;
        r = 0;
out:
        if (w)
                avro_writer_free(w);
        if (v.iface)
                avro_value_decref(&v);
        free(buf);
        return r;
}

/* ------------------------------------------------------------------ */
/* Decoding.                                                           */

/* Avro zig-zag varint, at most 10 bytes, no bits beyond 64. 0 ok, -1
 * truncated, -2 malformed. */
static int rd_varint(const uint8_t *p, size_t len, size_t *pos, int64_t *out)
{
        uint64_t v = 0;
        for (int i = 0; i < 10; i++) {
                if (*pos >= len)
                        return -1;
                uint8_t b = p[(*pos)++];
                if (i == 9 && (b & 0xFE))
                        return -2;
                v |= (uint64_t)(b & 0x7F) << (7 * i);
                if (!(b & 0x80)) {
                        uint64_t z = (v >> 1) ^ (0 - (v & 1));
                        memcpy(out, &z, sizeof z);
                        return 0;
                }
        }
        return -2;
}

/* Walk the body against the writer schema; everything avro-c will read
 * is known to be in bounds and of sane size afterwards. */
static int scan_body(const sent_t *e, const uint8_t *p, size_t len, char *errstr, size_t n)
{
        const char *rn = e->rd->name;
        size_t pos = 0;
        for (size_t j = 0; j < e->nw; j++) {
                const wfield_t *w = &e->wf[j];
                int64_t v;
                int rc = rd_varint(p, len, &pos, &v);
                if (rc == -1)
                        return fail(errstr, n, "truncated body: %s ends inside field %s (%zu body bytes)", rn, w->name,
                                    len);
                if (rc == -2)
                        return fail(errstr, n, "malformed body: %s.%s has a varint longer than 64 bits", rn, w->name);
                switch (w->kind) {
                case K_INT:
                        if (v < INT32_MIN || v > INT32_MAX)
                                return fail(errstr, n, "malformed body: %s.%s = %" PRId64 " does not fit an int", rn,
                                            w->name, v);
                        break;
                case K_LONG:
                        break;
                case K_STRING:
                case K_BYTES:
                        if (v < 0)
                                return fail(errstr, n, "malformed body: %s.%s has negative length %" PRId64, rn,
                                            w->name, v);
                        if ((uint64_t)v > w->limit)
                                return fail(errstr, n, "%s.%s is %" PRId64 " bytes, over the limit of %zu", rn, w->name,
                                            v, w->limit);
                        if ((uint64_t)v > len - pos)
                                return fail(errstr, n, "truncated body: %s.%s needs %" PRId64 " bytes, %zu left", rn,
                                            w->name, v, len - pos);
                        pos += (size_t)v;
                        break;
                }
        }
        if (pos != len)
                return fail(errstr, n, "%zu trailing byte%s after the %s body", len - pos, len - pos == 1 ? "" : "s",
                            rn);
        return 0;
}

/* Reads better whole: one pass over the writer's fields in wire order, resolution and checks side by side. */
static int decode_rec(const rdesc_t *rd, const void *vbuf, size_t len, void *out, int lenient, char *errstr,
                      size_t n)
{
        const uint8_t *p = vbuf;
        avro_value_t v = {NULL, NULL};
        avro_reader_t rdr = NULL;
        int r = -1;

        if (!out)
                return fail(errstr, n, "%s decode: no output record", rd->name);
        memset(out, 0, rd->size);
        if (df__codec_init(errstr, n))
                return -1;
        if (!p || len == 0)
                return fail(errstr, n, "%s decode: empty input", rd->name);
        if (p[0] != MARKER0 || (len > 1 && p[1] != MARKER1)) {
                if (len > 1)
                        return fail(errstr, n, "%s decode: bad marker %02x %02x, expected c3 01 (not Avro single-object encoded)",
                                    rd->name, p[0], p[1]);
                return fail(errstr, n, "%s decode: bad marker %02x, expected c3 01 (not Avro single-object encoded)",
                            rd->name, p[0]);
        }
        if (len < HDR_LEN)
                return fail(errstr, n, "%s decode: truncated header: %zu bytes, need %d", rd->name, len, HDR_LEN);
        uint64_t fp = 0;
        for (int i = 0; i < 8; i++)
                fp |= (uint64_t)p[2 + i] << (8 * i);
        const sent_t *e = lookup_fp(fp);
        if (!e)
                return fail(errstr, n, "%s decode: unknown schema fingerprint %016" PRIx64, rd->name, fp);
        if (e->rd != rd)
                return fail(errstr, n, "%s decode: record is a " NAMESPACE ".%s (schemas/%s), expected " NAMESPACE ".%s",
                            rd->name, e->rd->name, e->path, rd->name);
        const uint8_t *body = p + HDR_LEN;
        size_t blen = len - HDR_LEN;
        if (scan_body(e, body, blen, errstr, n))
                return -1;

        if (avro_generic_value_new(e->iface, &v)) {
                v.iface = NULL;
                fail(errstr, n, "%s decode: avro_generic_value_new: %s", rd->name, avro_err());
                goto out;
        }
        rdr = avro_reader_memory((const char *)body, (int64_t)blen);
        if (!rdr) {
                fail(errstr, n, "%s decode: avro_reader_memory: %s", rd->name, avro_err());
                goto out;
        }
        if (avro_value_read(rdr, &v)) {
                fail(errstr, n, "%s decode: %s", rd->name, avro_err());
                goto out;
        }

        const dflt_t *dflt = G.dflt[rd->type];
        for (size_t i = 0; i < rd->nfields; i++) {
                const fdesc_t *fd = &rd->fields[i];
                int j = e->from[i];
                int64_t iv = 0;
                const char *data = NULL;
                size_t dlen = 0;

                if (j < 0) {
                        iv = dflt[i].i;
                        data = (const char *)dflt[i].s;
                        dlen = dflt[i].len;
                } else {
                        avro_value_t fv;
                        int rc;
                        if (avro_value_get_by_index(&v, (size_t)j, &fv, NULL)) {
                                fail(errstr, n, "%s decode: field %s: %s", rd->name, fd->name, avro_err());
                                goto out;
                        }
                        switch (e->wf[j].kind) {
                        case K_INT: {
                                int32_t x = 0;
                                rc = avro_value_get_int(&fv, &x);
                                iv = x;
                                break;
                        }
                        case K_LONG:
                                rc = avro_value_get_long(&fv, &iv);
                                break;
                        case K_STRING: {
                                size_t sz = 0;
                                rc = avro_value_get_string(&fv, &data, &sz);
                                dlen = sz > 0 ? sz - 1 : 0; /* avro-c counts the NUL */
                                break;
                        }
                        case K_BYTES: {
                                const void *b = NULL;
                                rc = avro_value_get_bytes(&fv, &b, &dlen);
                                data = b;
                                break;
                        }
                        default:
                                rc = EINVAL;
                        }
                        if (rc) {
                                fail(errstr, n, "%s decode: field %s: %s", rd->name, fd->name, avro_err());
                                goto out;
                        }
                }

                switch (fd->kind) {
                case K_INT:
                        /* lenient: an enum value a newer writer added (a status this
                         * build does not know) is kept, to be shown as it is */
                        if ((!lenient || iv < INT32_MIN || iv > INT32_MAX) && check_int(rd, fd, iv, errstr, n))
                                goto out;
                        *(int32_t *)field_ptr(out, fd) = (int32_t)iv;
                        break;
                case K_LONG:
                        *(int64_t *)field_ptr(out, fd) = iv;
                        break;
                case K_STRING: {
                        if (check_len(rd->name, fd->name, dlen, fd->limit, errstr, n) ||
                            check_string(rd->name, fd->name, data, dlen, errstr, n))
                                goto out;
                        char *s = malloc(dlen + 1);
                        if (!s) {
                                fail(errstr, n, "%s decode: out of memory", rd->name);
                                goto out;
                        }
                        if (dlen)
                                memcpy(s, data, dlen);
                        s[dlen] = '\0';
                        *(char **)field_ptr(out, fd) = s;
                        break;
                }
                case K_BYTES:
                        if (check_len(rd->name, fd->name, dlen, fd->limit, errstr, n))
                                goto out;
                        if (df__buf_set(field_ptr(out, fd), data, dlen)) {
                                fail(errstr, n, "%s decode: out of memory", rd->name);
                                goto out;
                        }
                        break;
                }
        }
        r = 0;
out:
        if (rdr)
                avro_reader_free(rdr);
        if (v.iface)
                avro_value_decref(&v);
        if (r)
                rec_clear(rd, out);
        return r;
}

df__rec_type_t df__codec_peek(const void *buf, size_t len)
{
        const uint8_t *p = buf;
        if (!p || len < HDR_LEN || p[0] != MARKER0 || p[1] != MARKER1)
                return DF__REC_UNKNOWN;
        if (df__codec_init(NULL, 0))
                return DF__REC_UNKNOWN;
        uint64_t fp = 0;
        for (int i = 0; i < 8; i++)
                fp |= (uint64_t)p[2 + i] << (8 * i);
        const sent_t *e = lookup_fp(fp);
        return e ? e->rd->type : DF__REC_UNKNOWN;
}

/* ------------------------------------------------------------------ */
/* Public wrappers.                                                    */

#define R_EVENT (&rdescs[0])
#define R_EXEC (&rdescs[1])
#define R_OP (&rdescs[2])
#define R_TIMER (&rdescs[3])
#define R_RESULT (&rdescs[4])
#define R_DLQ (&rdescs[5])
#define R_SCHED (&rdescs[6])

int df__event_encode(const df__event_t *ev, df__buf_t *out, char *errstr, size_t errstr_size)
{
        return encode_rec(R_EVENT, ev, out, errstr, errstr_size);
}
int df__exec_encode(const df__exec_rec_t *rec, df__buf_t *out, char *errstr, size_t errstr_size)
{
        return encode_rec(R_EXEC, rec, out, errstr, errstr_size);
}
int df__op_encode(const df__op_rec_t *rec, df__buf_t *out, char *errstr, size_t errstr_size)
{
        return encode_rec(R_OP, rec, out, errstr, errstr_size);
}
int df__timer_encode(const df__timer_rec_t *rec, df__buf_t *out, char *errstr, size_t errstr_size)
{
        return encode_rec(R_TIMER, rec, out, errstr, errstr_size);
}
int df__result_encode(const df__result_rec_t *rec, df__buf_t *out, char *errstr, size_t errstr_size)
{
        return encode_rec(R_RESULT, rec, out, errstr, errstr_size);
}
int df__dlq_encode(const df__dlq_rec_t *rec, df__buf_t *out, char *errstr, size_t errstr_size)
{
        return encode_rec(R_DLQ, rec, out, errstr, errstr_size);
}

int df__event_decode(const void *buf, size_t len, df__event_t *out, char *errstr, size_t errstr_size)
{
        return decode_rec(R_EVENT, buf, len, out, 0, errstr, errstr_size);
}
int df__exec_decode(const void *buf, size_t len, df__exec_rec_t *out, char *errstr, size_t errstr_size)
{
        return decode_rec(R_EXEC, buf, len, out, 0, errstr, errstr_size);
}
int df__op_decode(const void *buf, size_t len, df__op_rec_t *out, char *errstr, size_t errstr_size)
{
        return decode_rec(R_OP, buf, len, out, 0, errstr, errstr_size);
}
int df__timer_decode(const void *buf, size_t len, df__timer_rec_t *out, char *errstr, size_t errstr_size)
{
        return decode_rec(R_TIMER, buf, len, out, 0, errstr, errstr_size);
}
int df__result_decode(const void *buf, size_t len, df__result_rec_t *out, char *errstr, size_t errstr_size)
{
        return decode_rec(R_RESULT, buf, len, out, 0, errstr, errstr_size);
}
int df__exec_decode_any(const void *buf, size_t len, df__exec_rec_t *out, char *errstr, size_t errstr_size)
{
        return decode_rec(R_EXEC, buf, len, out, 1, errstr, errstr_size);
}
int df__op_decode_any(const void *buf, size_t len, df__op_rec_t *out, char *errstr, size_t errstr_size)
{
        return decode_rec(R_OP, buf, len, out, 1, errstr, errstr_size);
}
int df__dlq_decode(const void *buf, size_t len, df__dlq_rec_t *out, char *errstr, size_t errstr_size)
{
        return decode_rec(R_DLQ, buf, len, out, 0, errstr, errstr_size);
}

void df__event_clear(df__event_t *ev)
{
        rec_clear(R_EVENT, ev);
}
void df__exec_clear(df__exec_rec_t *rec)
{
        rec_clear(R_EXEC, rec);
}
void df__op_clear(df__op_rec_t *rec)
{
        rec_clear(R_OP, rec);
}
void df__timer_clear(df__timer_rec_t *rec)
{
        rec_clear(R_TIMER, rec);
}
void df__result_clear(df__result_rec_t *rec)
{
        rec_clear(R_RESULT, rec);
}
void df__dlq_clear(df__dlq_rec_t *rec)
{
        rec_clear(R_DLQ, rec);
}

int df__op_copy(df__op_rec_t *dst, const df__op_rec_t *src)
{
        return rec_copy(R_OP, dst, src);
}
int df__exec_copy(df__exec_rec_t *dst, const df__exec_rec_t *src)
{
        return rec_copy(R_EXEC, dst, src);
}

int df__sched_encode(const df__sched_rec_t *rec, df__buf_t *out, char *errstr, size_t errstr_size)
{
        return encode_rec(R_SCHED, rec, out, errstr, errstr_size);
}
int df__sched_decode(const void *buf, size_t len, df__sched_rec_t *out, char *errstr, size_t errstr_size)
{
        return decode_rec(R_SCHED, buf, len, out, 0, errstr, errstr_size);
}
void df__sched_clear(df__sched_rec_t *rec)
{
        rec_clear(R_SCHED, rec);
}
int df__sched_copy(df__sched_rec_t *dst, const df__sched_rec_t *src)
{
        return rec_copy(R_SCHED, dst, src);
}
