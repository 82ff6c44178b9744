/*
 * inspect.c -- the public views of duraflow's records (duraflow/records.h,
 * and the df_exec_info_t / df_op_info_t of runtime.h that the client's
 * reads hand out): each decoded with the codec, which checks it as the
 * workers do, and shown through the public structures; and the encoders
 * records.h offers (a start event for producers that are not C clients;
 * execution and operation records for benchmarks and tests), each checking
 * its arguments so that it writes only what a worker could have written.
 */
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "duraflow/records.h"
#include "text.h"

_Static_assert(DF_RECORD_EVENT == (int)DF__REC_EVENT && DF_RECORD_EXECUTION == (int)DF__REC_EXEC &&
                       DF_RECORD_OPERATION == (int)DF__REC_OP && DF_RECORD_TIMER == (int)DF__REC_TIMER &&
                       DF_RECORD_RESULT == (int)DF__REC_RESULT && DF_RECORD_DEAD_LETTER == (int)DF__REC_DLQ,
               "df_record_type_t is the codec's record type");
_Static_assert(DF_EVENT_START == (int)DF__EV_START && DF_EVENT_TIMER == (int)DF__EV_TIMER &&
                       DF_EVENT_CALLBACK == (int)DF__EV_CALLBACK && DF_EVENT_STOP == (int)DF__EV_STOP &&
                       DF_EVENT_CONTINUE == (int)DF__EV_CONTINUE && DF_EVENT_CRASH == (int)DF__EV_CRASH &&
                       DF_EVENT_RESUME == (int)DF__EV_RESUME && DF_EVENT_CHILD_DONE == (int)DF__EV_CHILD_DONE,
               "df_event_type_t is the event's type");
_Static_assert(DF_TIMER_KIND_WAIT == (int)DF__TK_WAIT && DF_TIMER_KIND_RETRY == (int)DF__TK_RETRY &&
                       DF_TIMER_KIND_CALLBACK_TIMEOUT == (int)DF__TK_CB_TIMEOUT &&
                       DF_TIMER_KIND_HEARTBEAT_TIMEOUT == (int)DF__TK_CB_HEARTBEAT &&
                       DF_TIMER_KIND_VERSION == (int)DF__TK_VERSION &&
                       DF_TIMER_KIND_RETENTION == (int)DF__TK_RETENTION,
               "df_timer_kind_t is the event's timer kind");
_Static_assert(DF_CALLBACK_SUCCESS == (int)DF__CB_SUCCESS && DF_CALLBACK_FAILURE == (int)DF__CB_FAILURE &&
                       DF_CALLBACK_HEARTBEAT == (int)DF__CB_HEARTBEAT,
               "df_callback_outcome_t is the event's callback kind");
_Static_assert(DF_RESULT_TERMINAL == (int)DF__RK_RESULT && DF_RESULT_REPLY == (int)DF__RK_REPLY,
               "df_result_kind_t is the result's kind");

#define DF__S(s) ((s) ? (s) : "")

static df_bytes_t df__bytes(const df__buf_t *b)
{
        df_bytes_t out = {b->data, b->len};
        return out;
}

/* ---------------- names ---------------- */

df_record_type_t df_record_type(const void *buf, size_t len)
{
        return (df_record_type_t)df__codec_peek(buf, len);
}

const char *df_record_type_name(df_record_type_t type)
{
        static const char *const names[] = {"UNKNOWN", "EVENT",  "EXECUTION",   "OPERATION",
                                            "TIMER",   "RESULT", "DEAD_LETTER", "SCHEDULE"};
        return (int)type > 0 && (int)type <= DF_RECORD_SCHEDULE ? names[type] : "UNKNOWN";
}

const char *df_event_type_name(df_event_type_t type)
{
        static const char *const names[] = {"START",    "TIMER", "CALLBACK", "STOP",
                                            "CONTINUE", "CRASH", "RESUME",   "CHILD_DONE",
                                            "PAUSE",    "RESTART", "PURGE"};
        static const char *const sched[] = {"SCHEDULE_CREATE", "SCHEDULE_PAUSE", "SCHEDULE_RESUME",
                                            "SCHEDULE_DELETE", "SCHEDULE_TRIGGER", "SCHEDULE_FIRE",
                                            "SCHEDULE_RUN_DONE"};
        if ((int)type >= DF_EVENT_SCHEDULE_CREATE && (int)type <= DF_EVENT_SCHEDULE_RUN_DONE)
                return sched[type - DF_EVENT_SCHEDULE_CREATE];
        return (int)type >= 0 && (int)type <= DF_EVENT_PURGE ? names[type] : "UNKNOWN";
}

const char *df_timer_kind_name(df_timer_kind_t kind)
{
        static const char *const names[] = {"WAIT",    "RETRY",    "CALLBACK_TIMEOUT", "HEARTBEAT_TIMEOUT",
                                            "VERSION", "RETENTION"};
        return (int)kind >= 0 && (int)kind <= DF_TIMER_KIND_RETENTION ? names[kind] : "UNKNOWN";
}

/* ---------------- the views ---------------- */

void df__exec_pub(df_exec_info_t *pub, const df__exec_rec_t *rec)
{
        pub->execution_id = DF__S(rec->execution_id);
        pub->workflow = DF__S(rec->workflow);
        pub->status = (df_exec_status_t)rec->status;
        pub->input = df__bytes(&rec->input);
        pub->output = df__bytes(&rec->output);
        pub->error = DF__S(rec->error);
        pub->created_ms = rec->created_ms;
        pub->updated_ms = rec->updated_ms;
        pub->op_count = rec->op_count;
        pub->version = rec->version;
        pub->parent_execution_id = DF__S(rec->parent_id);
        pub->parent_op_id = DF__S(rec->parent_op);
        pub->run = rec->run;
        pub->run_log = DF__S(rec->run_log);
}

void df__op_pub(df_op_info_t *pub, const df__op_rec_t *rec)
{
        pub->op_id = DF__S(rec->op_id);
        pub->parent_id = DF__S(rec->parent_id);
        pub->type = (df_op_type_t)rec->type;
        pub->name = DF__S(rec->name);
        pub->status = (df_op_status_t)rec->status;
        pub->attempt = rec->attempt;
        pub->started_ms = rec->started_ms;
        pub->updated_ms = rec->updated_ms;
        pub->result = df__bytes(&rec->result);
        pub->error = DF__S(rec->error);
        pub->due_ms = rec->due_ms;
        pub->callback_id = DF__S(rec->callback_id);
        pub->execution_id = DF__S(rec->execution_id);
        pub->child_execution_id = DF__S(rec->child_id);
        pub->child_count = rec->child_count;
}

void df_exec_info_destroy(df_exec_info_t *info)
{
        struct df__exec_info *x = (struct df__exec_info *)info;
        if (!x)
                return;
        df__exec_clear(&x->rec);
        free(x);
}

/* The common start of every decode: arguments, codec, allocation of the
 * holder (size bytes, zeroed).  NULL with *rc and errstr set. */
static void *df__decode_begin(const void *buf, size_t len, void *out, size_t size, const char *what, df_err_t *rc,
                              char *errstr, size_t errstr_size)
{
        void *x;
        if (!out || (!buf && len)) {
                df__errf(errstr, errstr_size, "decode %s: NULL %s", what, out ? "buffer with a length" : "out");
                *rc = DF_ERR_INVALID_ARG;
                return NULL;
        }
        if (df__codec_init(errstr, errstr_size)) {
                *rc = DF_ERR_CODEC;
                return NULL;
        }
        x = calloc(1, size);
        if (!x) {
                df__errf(errstr, errstr_size, "out of memory");
                *rc = DF_ERR_NOMEM;
        }
        return x;
}

/* A decoder's failure as the message records.h promises. */
static df_err_t df__decode_failed(void *x, const char *what, const char *e, char *errstr, size_t errstr_size)
{
        free(x);
        df__errf(errstr, errstr_size, "not a valid %s record: %s", what, e);
        return DF_ERR_CODEC;
}

df_err_t df_record_decode_execution(const void *buf, size_t len, df_exec_info_t **out, char *errstr,
                                    size_t errstr_size)
{
        df_err_t rc = DF_OK;
        char e[300];
        struct df__exec_info *x = df__decode_begin(buf, len, out, sizeof(*x), "execution", &rc, errstr, errstr_size);
        if (out)
                *out = NULL;
        if (!x)
                return rc;
        if (df__exec_decode(buf, len, &x->rec, e, sizeof(e)))
                return df__decode_failed(x, "execution", e, errstr, errstr_size);
        df__exec_pub(&x->pub, &x->rec);
        *out = &x->pub;
        return DF_OK;
}

struct df__op_info {
        df_op_info_t pub; /* first: df_op_info_destroy casts back */
        df__op_rec_t rec;
};

df_err_t df_record_decode_operation(const void *buf, size_t len, df_op_info_t **out, char *errstr,
                                    size_t errstr_size)
{
        df_err_t rc = DF_OK;
        char e[300];
        struct df__op_info *x = df__decode_begin(buf, len, out, sizeof(*x), "operation", &rc, errstr, errstr_size);
        if (out)
                *out = NULL;
        if (!x)
                return rc;
        if (df__op_decode(buf, len, &x->rec, e, sizeof(e)))
                return df__decode_failed(x, "operation", e, errstr, errstr_size);
        df__op_pub(&x->pub, &x->rec);
        *out = &x->pub;
        return DF_OK;
}

void df_op_info_destroy(df_op_info_t *op)
{
        struct df__op_info *x = (struct df__op_info *)op;
        if (!x)
                return;
        df__op_clear(&x->rec);
        free(x);
}

struct df__event_info {
        df_event_info_t pub;
        df__event_t rec;
};

df_err_t df_record_decode_event(const void *buf, size_t len, df_event_info_t **out, char *errstr,
                                size_t errstr_size)
{
        df_err_t rc = DF_OK;
        char e[300];
        struct df__event_info *x = df__decode_begin(buf, len, out, sizeof(*x), "event", &rc, errstr, errstr_size);
        df_event_info_t *p;
        if (out)
                *out = NULL;
        if (!x)
                return rc;
        if (df__event_decode(buf, len, &x->rec, e, sizeof(e)))
                return df__decode_failed(x, "event", e, errstr, errstr_size);
        p = &x->pub;
        p->type = (df_event_type_t)x->rec.type;
        p->execution_id = DF__S(x->rec.execution_id);
        p->workflow = DF__S(x->rec.workflow);
        p->input = df__bytes(&x->rec.input);
        p->op_id = DF__S(x->rec.op_id);
        p->seq = x->rec.seq;
        p->timer_kind = (df_timer_kind_t)x->rec.timer_kind;
        p->callback_id = DF__S(x->rec.callback_id);
        p->callback_outcome = (df_callback_outcome_t)x->rec.callback_kind;
        p->error = DF__S(x->rec.error);
        p->request_id = DF__S(x->rec.request_id);
        p->ts_ms = x->rec.ts_ms;
        p->link = DF__S(x->rec.link);
        p->parent_execution_id = DF__S(x->rec.parent_id);
        p->parent_op_id = DF__S(x->rec.parent_op);
        p->child_execution_id = DF__S(x->rec.child_id);
        p->child_status = (df_exec_status_t)x->rec.status;
        *out = p;
        return DF_OK;
}

void df_event_info_destroy(df_event_info_t *ev)
{
        struct df__event_info *x = (struct df__event_info *)ev;
        if (!x)
                return;
        df__event_clear(&x->rec);
        free(x);
}

struct df__timer_info {
        df_timer_info_t pub;
        df__timer_rec_t rec;
};

df_err_t df_record_decode_timer(const void *buf, size_t len, df_timer_info_t **out, char *errstr,
                                size_t errstr_size)
{
        df_err_t rc = DF_OK;
        char e[300];
        struct df__timer_info *x = df__decode_begin(buf, len, out, sizeof(*x), "timer", &rc, errstr, errstr_size);
        if (out)
                *out = NULL;
        if (!x)
                return rc;
        if (df__timer_decode(buf, len, &x->rec, e, sizeof(e)))
                return df__decode_failed(x, "timer", e, errstr, errstr_size);
        x->pub.timer_id = DF__S(x->rec.timer_id);
        x->pub.due_ms = x->rec.due_ms;
        x->pub.topic = DF__S(x->rec.topic);
        x->pub.key = df__bytes(&x->rec.key);
        x->pub.payload = df__bytes(&x->rec.payload);
        x->pub.created_ms = x->rec.created_ms;
        *out = &x->pub;
        return DF_OK;
}

void df_timer_info_destroy(df_timer_info_t *t)
{
        struct df__timer_info *x = (struct df__timer_info *)t;
        if (!x)
                return;
        df__timer_clear(&x->rec);
        free(x);
}

struct df__result_info {
        df_result_info_t pub;
        df__result_rec_t rec;
};

df_err_t df_record_decode_result(const void *buf, size_t len, df_result_info_t **out, char *errstr,
                                 size_t errstr_size)
{
        df_err_t rc = DF_OK;
        char e[300];
        struct df__result_info *x = df__decode_begin(buf, len, out, sizeof(*x), "result", &rc, errstr, errstr_size);
        if (out)
                *out = NULL;
        if (!x)
                return rc;
        if (df__result_decode(buf, len, &x->rec, e, sizeof(e)))
                return df__decode_failed(x, "result", e, errstr, errstr_size);
        x->pub.kind = (df_result_kind_t)x->rec.kind;
        x->pub.execution_id = DF__S(x->rec.execution_id);
        x->pub.request_id = DF__S(x->rec.request_id);
        x->pub.status = (df_exec_status_t)x->rec.status;
        x->pub.code = (df_err_t)x->rec.code;
        x->pub.output = df__bytes(&x->rec.output);
        x->pub.error = DF__S(x->rec.error);
        x->pub.ts_ms = x->rec.ts_ms;
        *out = &x->pub;
        return DF_OK;
}

void df_result_info_destroy(df_result_info_t *r)
{
        struct df__result_info *x = (struct df__result_info *)r;
        if (!x)
                return;
        df__result_clear(&x->rec);
        free(x);
}

struct df__dead_letter {
        df_dead_letter_t pub;
        df__dlq_rec_t rec;
};

df_err_t df_record_decode_dead_letter(const void *buf, size_t len, df_dead_letter_t **out, char *errstr,
                                      size_t errstr_size)
{
        df_err_t rc = DF_OK;
        char e[300];
        struct df__dead_letter *x =
                df__decode_begin(buf, len, out, sizeof(*x), "dead letter", &rc, errstr, errstr_size);
        if (out)
                *out = NULL;
        if (!x)
                return rc;
        if (df__dlq_decode(buf, len, &x->rec, e, sizeof(e)))
                return df__decode_failed(x, "dead letter", e, errstr, errstr_size);
        x->pub.topic = DF__S(x->rec.topic);
        x->pub.partition = x->rec.partition;
        x->pub.offset = x->rec.offset;
        x->pub.key = df__bytes(&x->rec.key);
        x->pub.value = df__bytes(&x->rec.value);
        x->pub.error = DF__S(x->rec.error);
        x->pub.ts_ms = x->rec.ts_ms;
        *out = &x->pub;
        return DF_OK;
}

void df_dead_letter_destroy(df_dead_letter_t *d)
{
        struct df__dead_letter *x = (struct df__dead_letter *)d;
        if (!x)
                return;
        df__dlq_clear(&x->rec);
        free(x);
}

/* ---------------- a start event ---------------- */

df_err_t df_record_encode_start(const char *execution_id, const char *workflow, const void *input, size_t len,
                                void **out, size_t *out_len, char *errstr, size_t errstr_size)
{
        df__event_t ev;
        df__buf_t v = {0};
        char e[400];
        df_err_t rc;

        if (out)
                *out = NULL;
        if (out_len)
                *out_len = 0;
        if (!out || !out_len) {
                df__errf(errstr, errstr_size, "encode start: NULL out or out_len");
                return DF_ERR_INVALID_ARG;
        }
        if ((rc = df__start_args_check("encode start", workflow, execution_id, input, len, errstr, errstr_size)) !=
            DF_OK)
                return rc;
        if (df__codec_init(errstr, errstr_size))
                return DF_ERR_CODEC;
        df__start_event(&ev, workflow, execution_id, input, len);
        ev.ts_ms = df__now_ms();
        if (df__event_encode(&ev, &v, e, sizeof(e))) {
                df__errf(errstr, errstr_size, "encode start: %s", e);
                return DF_ERR_CODEC;
        }
        *out = v.data;
        *out_len = v.len;
        return DF_OK;
}

/* The common checks of the encoders' out parameters. */
static df_err_t df__encode_begin(const void *info, void **out, size_t *out_len, const char *what, char *errstr,
                                 size_t errstr_size)
{
        if (out)
                *out = NULL;
        if (out_len)
                *out_len = 0;
        if (!info || !out || !out_len) {
                df__errf(errstr, errstr_size, "encode %s: NULL %s", what, info ? "out or out_len" : "record");
                return DF_ERR_INVALID_ARG;
        }
        return df__codec_init(errstr, errstr_size) ? DF_ERR_CODEC : DF_OK;
}

/* bytes b of a field: NULL with a length, or over DF_PAYLOAD_MAX */
static df_err_t df__bytes_check(const char *what, const char *field, const df_bytes_t *b, char *errstr,
                                size_t errstr_size)
{
        if (b->len && !b->data) {
                df__errf(errstr, errstr_size, "encode %s: NULL %s with a length of %zu", what, field, b->len);
                return DF_ERR_INVALID_ARG;
        }
        if (b->len > DF_PAYLOAD_MAX) {
                df__errf(errstr, errstr_size, "encode %s: %s is %zu bytes, over the limit of %d", what, field, b->len,
                         DF_PAYLOAD_MAX);
                return DF_ERR_PAYLOAD_TOO_LARGE;
        }
        return DF_OK;
}

/* An encoded record into *out / *out_len (rc from the encoder). */
static df_err_t df__encode_end(int failed, df__buf_t *v, const char *what, const char *e, void **out,
                               size_t *out_len, char *errstr, size_t errstr_size)
{
        if (failed) {
                df__errf(errstr, errstr_size, "encode %s: %s", what, e);
                return DF_ERR_CODEC;
        }
        *out = v->data;
        *out_len = v->len;
        return DF_OK;
}

df_err_t df_record_encode_execution(const df_exec_info_t *info, void **out, size_t *out_len, char *errstr,
                                    size_t errstr_size)
{
        df__exec_rec_t r;
        df__buf_t v = {0};
        char e[400];
        df_err_t rc;

        if ((rc = df__encode_begin(info, out, out_len, "execution", errstr, errstr_size)) != DF_OK)
                return rc;
        if ((rc = df_execution_id_check(info->execution_id, e, sizeof(e))) != DF_OK ||
            (rc = df_workflow_name_check(info->workflow, e, sizeof(e))) != DF_OK ||
            (rc = df_text_check("error", info->error, DF_MESSAGE_MAX, e, sizeof(e))) != DF_OK) {
                df__errf(errstr, errstr_size, "encode execution: %s", e);
                return rc;
        }
        if ((int)info->status < DF_EXEC_PENDING || !strcmp(df_exec_status_name(info->status), "UNKNOWN") ||
            info->op_count < 0 || info->version < 0) {
                const char *f = info->op_count < 0 ? "op_count" : info->version < 0 ? "version" : "status";
                df__errf(errstr, errstr_size, "encode execution: %s %d is out of range", f,
                         info->op_count < 0 ? info->op_count : info->version < 0 ? info->version : (int)info->status);
                return DF_ERR_INVALID_ARG;
        }
        if (!!*DF__S(info->parent_execution_id) != !!*DF__S(info->parent_op_id)) {
                df__errf(errstr, errstr_size, "encode execution: parent_execution_id and parent_op_id go together "
                                              "(an invoked child has both, another execution neither)");
                return DF_ERR_INVALID_ARG;
        }
        if (*DF__S(info->parent_execution_id) &&
            (rc = df_execution_id_check(info->parent_execution_id, e, sizeof(e))) != DF_OK) {
                df__errf(errstr, errstr_size, "encode execution: parent: %s", e);
                return rc;
        }
        if (*DF__S(info->parent_op_id) && !df__op_id_valid(info->parent_op_id)) {
                char q[100];
                df__errf(errstr, errstr_size, "encode execution: parent op id \"%s\" is invalid: it must be "
                                              "numbers 1..%d joined by '.', at most %d deep",
                         df__quote(q, sizeof(q), info->parent_op_id), DF__OP_INDEX_MAX, DF__OP_DEPTH_MAX);
                return DF_ERR_INVALID_ARG;
        }
        if ((rc = df__bytes_check("execution", "input", &info->input, errstr, errstr_size)) != DF_OK ||
            (rc = df__bytes_check("execution", "output", &info->output, errstr, errstr_size)) != DF_OK)
                return rc;
        memset(&r, 0, sizeof(r));
        r.execution_id = (char *)info->execution_id;
        r.workflow = (char *)info->workflow;
        r.input.data = (uint8_t *)info->input.data;
        r.input.len = info->input.len;
        r.status = (int32_t)info->status;
        r.output.data = (uint8_t *)info->output.data;
        r.output.len = info->output.len;
        r.error = (char *)DF__S(info->error);
        r.created_ms = info->created_ms;
        r.updated_ms = info->updated_ms;
        r.op_count = info->op_count;
        r.crash_op = "";
        r.version = info->version ? info->version : 1;
        r.parent_id = (char *)DF__S(info->parent_execution_id);
        r.parent_op = (char *)DF__S(info->parent_op_id);
        r.run = info->run;
        r.run_log = (char *)DF__S(info->run_log);
        return df__encode_end(df__exec_encode(&r, &v, e, sizeof(e)), &v, "execution", e, out, out_len, errstr,
                              errstr_size);
}


df_err_t df_record_encode_operation(const df_op_info_t *info, void **out, size_t *out_len, char *errstr,
                                    size_t errstr_size)
{
        df__op_rec_t r;
        df__buf_t v = {0};
        char e[400], q[100];
        df_err_t rc;

        if ((rc = df__encode_begin(info, out, out_len, "operation", errstr, errstr_size)) != DF_OK)
                return rc;
        if ((rc = df_execution_id_check(info->execution_id, e, sizeof(e))) != DF_OK ||
            (rc = df__printable_check("operation name", info->name, DF__NAME_MAX, e, sizeof(e))) != DF_OK ||
            (rc = df_text_check("error", info->error, DF_MESSAGE_MAX, e, sizeof(e))) != DF_OK ||
            (rc = df_text_check("callback id", info->callback_id, DF_MESSAGE_MAX, e, sizeof(e))) != DF_OK) {
                df__errf(errstr, errstr_size, "encode operation: %s", e);
                return rc;
        }
        if (!df__op_id_valid(info->op_id) || (info->parent_id && *info->parent_id && !df__op_id_valid(info->parent_id))) {
                const char *bad = !df__op_id_valid(info->op_id) ? info->op_id : info->parent_id;
                df__errf(errstr, errstr_size,
                         "encode operation: %s \"%s\" is invalid: it must be 1..32 characters of digits and '.'",
                         bad == info->op_id ? "op id" : "parent id", df__quote(q, sizeof(q), bad));
                return DF_ERR_INVALID_ARG;
        }
        if ((int)info->type < 0 || (int)info->type > DF_OP_TYPE_CONDITION || (int)info->status < 0 ||
            (int)info->status > DF_OP_STATUS_TIMED_OUT || info->attempt < 0 || info->child_count < 0) {
                df__errf(errstr, errstr_size,
                         "encode operation: type %d, status %d, attempt %d or child_count %d out of range",
                         (int)info->type, (int)info->status, info->attempt, info->child_count);
                return DF_ERR_INVALID_ARG;
        }
        if (info->child_count > 0 && info->type != DF_OP_TYPE_CHILD && info->type != DF_OP_TYPE_PARALLEL &&
            info->type != DF_OP_TYPE_MAP) {
                df__errf(errstr, errstr_size, "encode operation: child_count %d on a %s operation (only CHILD, "
                                              "PARALLEL and MAP open a context)",
                         info->child_count, df_op_type_name(info->type));
                return DF_ERR_INVALID_ARG;
        }
        if (*DF__S(info->child_execution_id)) {
                if (info->type != DF_OP_TYPE_INVOKE) {
                        df__errf(errstr, errstr_size, "encode operation: child_execution_id on a %s operation "
                                                      "(only INVOKE starts a child execution)",
                                 df_op_type_name(info->type));
                        return DF_ERR_INVALID_ARG;
                }
                if ((rc = df_execution_id_check(info->child_execution_id, e, sizeof(e))) != DF_OK) {
                        df__errf(errstr, errstr_size, "encode operation: child: %s", e);
                        return rc;
                }
        }
        if ((rc = df__bytes_check("operation", "result", &info->result, errstr, errstr_size)) != DF_OK)
                return rc;
        memset(&r, 0, sizeof(r));
        r.execution_id = (char *)info->execution_id;
        r.op_id = (char *)info->op_id;
        r.parent_id = (char *)DF__S(info->parent_id);
        r.name = (char *)info->name;
        r.type = (int32_t)info->type;
        r.status = (int32_t)info->status;
        r.attempt = info->attempt;
        r.result.data = (uint8_t *)info->result.data;
        r.result.len = info->result.len;
        r.error = (char *)DF__S(info->error);
        r.started_ms = info->started_ms;
        r.updated_ms = info->updated_ms;
        r.due_ms = info->due_ms;
        r.callback_id = (char *)DF__S(info->callback_id);
        r.child_count = info->child_count;
        r.child_id = (char *)DF__S(info->child_execution_id);
        return df__encode_end(df__op_encode(&r, &v, e, sizeof(e)), &v, "operation", e, out, out_len, errstr,
                              errstr_size);
}

void df_record_free(void *buf)
{
        free(buf);
}
