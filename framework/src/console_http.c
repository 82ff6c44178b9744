/*
 * console_http.c -- the console's HTTP server (libmicrohttpd, a thread per
 * connection): the JSON API under /api/v1/, the actions (through the client
 * API, with a bearer token) and the embedded page.
 *
 * Input is hostile until checked: the path is taken raw (our own strict
 * percent-decoding: no %00, no control characters, no encoded '/', no "."
 * or ".." segment, at most 1024 bytes), every query parameter is known and
 * checked, bodies are JSON objects of at most DF__CHTTP_BODY_MAX bytes
 * (413 above), the Host header must name the loopback when the server is
 * bound to it (a page of another site cannot reach it through DNS
 * rebinding).  No cookie is read or set; cross-origin access only for the
 * origin of console.cors.origin.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

#include "console_int.h"

#define DF__CHTTP_BODY_MAX 1500000
#define DF__CHTTP_PATH_MAX 1024
#define DF__CHTTP_SEGS 8

struct df__chttp {
        struct df_console *c;
        struct MHD_Daemon *d;
        int loopback;
        char cors[256];
        size_t payload_max;
};

typedef struct req {
        char *body;
        size_t len;
        int too_large;
} req_t;

/* ------------------------------------------------------------------ */
/* responses                                                            */

static void common_headers(df__chttp_t *h, struct MHD_Connection *conn, struct MHD_Response *r)
{
        const char *origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin");
        MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
        MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
        MHD_add_response_header(r, "X-Frame-Options", "DENY");
        if (h->cors[0] && origin && !strcmp(origin, h->cors)) {
                MHD_add_response_header(r, "Access-Control-Allow-Origin", h->cors);
                MHD_add_response_header(r, "Vary", "Origin");
        }
}

static enum MHD_Result send_bytes(df__chttp_t *h, struct MHD_Connection *conn, unsigned status, const char *type,
                                  const void *data, size_t len, const char *extra_name, const char *extra_value)
{
        struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_COPY);
        enum MHD_Result ret;
        if (!r)
                return MHD_NO;
        MHD_add_response_header(r, "Content-Type", type);
        common_headers(h, conn, r);
        if (extra_name)
                MHD_add_response_header(r, extra_name, extra_value);
        ret = MHD_queue_response(conn, status, r);
        MHD_destroy_response(r);
        return ret;
}

static enum MHD_Result send_json_h(df__chttp_t *h, struct MHD_Connection *conn, unsigned status, json_t *j,
                                   const char *extra_name, const char *extra_value)
{
        char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
        struct MHD_Response *r;
        enum MHD_Result ret;
        json_decref(j);
        if (!s)
                return MHD_NO;
        r = MHD_create_response_from_buffer(strlen(s), s, MHD_RESPMEM_MUST_FREE);
        if (!r) {
                free(s);
                return MHD_NO;
        }
        MHD_add_response_header(r, "Content-Type", "application/json; charset=utf-8");
        MHD_add_response_header(r, "Cache-Control", "no-store");
        common_headers(h, conn, r);
        if (status == 401)
                MHD_add_response_header(r, "WWW-Authenticate", "Bearer realm=\"duraflow-console\"");
        if (extra_name)
                MHD_add_response_header(r, extra_name, extra_value);
        ret = MHD_queue_response(conn, status, r);
        MHD_destroy_response(r);
        return ret;
}

static enum MHD_Result send_json(df__chttp_t *h, struct MHD_Connection *conn, unsigned status, json_t *j)
{
        return send_json_h(h, conn, status, j, NULL, NULL);
}

static enum MHD_Result send_error(df__chttp_t *h, struct MHD_Connection *conn, unsigned status, const char *fmt,
                                  ...) __attribute__((format(printf, 4, 5)));

static enum MHD_Result send_error(df__chttp_t *h, struct MHD_Connection *conn, unsigned status, const char *fmt,
                                  ...)
{
        char msg[600];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        /* a message may quote input: keep it valid UTF-8 */
        if (!df__utf8_valid(msg, strlen(msg)))
                snprintf(msg, sizeof(msg), "bad request (the input is not valid UTF-8)");
        return send_json(h, conn, status, json_pack("{s:s, s:i}", "error", msg, "status", (int)status));
}

/* 405 for a path that takes only POST (an action), with its Allow header */
static enum MHD_Result send_post_only(df__chttp_t *h, struct MHD_Connection *conn, const char *method)
{
        char msg[100];
        snprintf(msg, sizeof(msg), "method %.16s not allowed: this action takes POST", method);
        return send_json_h(h, conn, 405, json_pack("{s:s, s:i}", "error", msg, "status", 405), "Allow", "POST");
}

/* ------------------------------------------------------------------ */
/* input                                                                */

/* Strict percent-decoding of one path segment or query value into out
 * (size bytes).  Refuses %00, control characters, invalid UTF-8 and, in a
 * path segment, an encoded '/'.  0 or -1 with why. */
static int pct_decode(const char *s, size_t n, int plus_space, int path, char *out, size_t size, const char **why)
{
        size_t i, o = 0;
        for (i = 0; i < n; i++) {
                unsigned char ch = (unsigned char)s[i];
                if (ch == '%') {
                        int hi, lo;
                        if (i + 2 >= n) {
                                *why = "a truncated %-escape";
                                return -1;
                        }
                        hi = s[i + 1], lo = s[i + 2];
                        hi = hi >= '0' && hi <= '9' ? hi - '0' : hi >= 'a' && hi <= 'f' ? hi - 'a' + 10
                             : hi >= 'A' && hi <= 'F'                                   ? hi - 'A' + 10
                                                                                        : -1;
                        lo = lo >= '0' && lo <= '9' ? lo - '0' : lo >= 'a' && lo <= 'f' ? lo - 'a' + 10
                             : lo >= 'A' && lo <= 'F'                                   ? lo - 'A' + 10
                                                                                        : -1;
                        if (hi < 0 || lo < 0) {
                                *why = "an invalid %-escape";
                                return -1;
                        }
                        ch = (unsigned char)(hi * 16 + lo);
                        i += 2;
                        if (path && ch == '/') {
                                *why = "an encoded '/'";
                                return -1;
                        }
                } else if (ch == '+' && plus_space) {
                        ch = ' ';
                }
                if (ch < 0x20 || ch == 0x7f) {
                        *why = ch == 0 ? "a NUL character (%00)" : "a control character";
                        return -1;
                }
                if (o + 1 >= size) {
                        *why = "too long";
                        return -1;
                }
                out[o++] = (char)ch;
        }
        out[o] = '\0';
        if (!df__utf8_valid(out, o)) {
                *why = "invalid UTF-8";
                return -1;
        }
        return 0;
}

/* MHD's own unescaping is replaced by ours (it would cut at %00). */
static size_t no_unescape(void *cls, struct MHD_Connection *c, char *s)
{
        (void)cls;
        (void)c;
        return strlen(s);
}

typedef struct qparam {
        const char *name;
        char value[1100];
        int set;
} qparam_t;

struct qctx {
        qparam_t *p;
        int n;
        char bad[200];
};

static enum MHD_Result q_iter(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
        struct qctx *q = cls;
        int i;
        const char *why = NULL;
        (void)kind;
        if (q->bad[0])
                return MHD_NO;
        for (i = 0; i < q->n; i++)
                if (!strcmp(q->p[i].name, key))
                        break;
        if (i == q->n) {
                char k[64];
                char shown[160];
                if (pct_decode(key, strlen(key), 1, 0, k, sizeof(k), &why))
                        snprintf(k, sizeof(k), "?");
                df_text_escape(shown, sizeof(shown), k, strlen(k));
                snprintf(q->bad, sizeof(q->bad), "unknown parameter \"%s\"", shown);
                return MHD_NO;
        }
        if (q->p[i].set) {
                snprintf(q->bad, sizeof(q->bad), "parameter \"%s\" given twice", key);
                return MHD_NO;
        }
        if (pct_decode(value ? value : "", value ? strlen(value) : 0, 1, 0, q->p[i].value, sizeof(q->p[i].value),
                       &why)) {
                snprintf(q->bad, sizeof(q->bad), "parameter \"%s\": %s", key, why);
                return MHD_NO;
        }
        q->p[i].set = 1;
        return MHD_YES;
}

/* Parse the query against the known names; 0 or -1 with the message. */
static int parse_query(struct MHD_Connection *conn, qparam_t *p, int n, char *bad, size_t bad_size)
{
        struct qctx q = {p, n, ""};
        MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, q_iter, &q);
        if (q.bad[0]) {
                snprintf(bad, bad_size, "%s", q.bad);
                return -1;
        }
        return 0;
}

static const char *qget(const qparam_t *p, int n, const char *name)
{
        int i;
        for (i = 0; i < n; i++)
                if (!strcmp(p[i].name, name))
                        return p[i].set ? p[i].value : NULL;
        return NULL;
}

/* Milliseconds since the epoch: an integer, or RFC 3339 UTC
 * "YYYY-MM-DDTHH:MM:SS[.mmm]Z".  0 or -1. */
static int parse_time(const char *s, int64_t *out)
{
        struct tm tm;
        const char *p;
        char *end;
        long long v;
        int ms = 0;
        if (!*s)
                return -1;
        errno = 0;
        v = strtoll(s, &end, 10);
        if (!errno && !*end) {
                *out = v;
                return 0;
        }
        memset(&tm, 0, sizeof(tm));
        p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
        if (!p)
                return -1;
        if (*p == '.') {
                int digits = 0;
                p++;
                while (*p >= '0' && *p <= '9') {
                        if (digits < 3)
                                ms = ms * 10 + (*p - '0');
                        digits++;
                        p++;
                }
                if (!digits)
                        return -1;
                while (digits++ < 3)
                        ms *= 10;
        }
        if (strcmp(p, "Z"))
                return -1;
        *out = (int64_t)timegm(&tm) * 1000 + ms;
        return 0;
}

/* A text: a string of 1..max bytes (0.. when !required) without control
 * characters (newlines and tabs allowed when multiline). 0, 1 absent, -1. */
static int body_text(json_t *body, const char *field, size_t max, int multiline, int required, const char **out,
                     char *bad, size_t bad_size)
{
        json_t *v = json_object_get(body, field);
        const char *s;
        size_t n, i;
        *out = NULL;
        if (!v || json_is_null(v)) {
                if (required) {
                        snprintf(bad, bad_size, "field \"%s\" is required", field);
                        return -1;
                }
                return 1;
        }
        if (!json_is_string(v)) {
                snprintf(bad, bad_size, "field \"%s\" must be a string", field);
                return -1;
        }
        s = json_string_value(v);
        n = json_string_length(v);
        if (n > max || (required && !n) || strlen(s) != n) {
                snprintf(bad, bad_size, "field \"%s\" must have %s..%zu bytes without NUL (has %zu)", field,
                         required ? "1" : "0", max, n);
                return -1;
        }
        for (i = 0; i < n; i++) {
                unsigned char ch = (unsigned char)s[i];
                if ((ch < 0x20 && !(multiline && (ch == '\n' || ch == '\t' || ch == '\r'))) || ch == 0x7f) {
                        snprintf(bad, bad_size, "field \"%s\": control characters are not allowed", field);
                        return -1;
                }
        }
        *out = s;
        return 0;
}

/* ------------------------------------------------------------------ */
/* actions                                                              */

/* The client of the actions, opened on first use (after the input was
 * checked: a bad request is told so even when Kafka is away). */
#define ACTION_CLIENT(r, msg, msg_size)                                                          \
        do {                                                                                     \
                cl = df__console_client((r)->h->c, msg, msg_size);                               \
                if (!cl)                                                                         \
                        return DF_ERR_KAFKA;                                                     \
        } while (0)

typedef struct areq {
        df__chttp_t *h;
        const char *execution_id; /* NULL for a collection action */
        const char *op_id;        /* operation-scoped actions */
        json_t *body;             /* a JSON object */
        const char *token_id;
} areq_t;

/* An action: its name, where it applies and what it does.  The control
 * actions of issue 12 (pause, resume, restart, purge) are rows here: an
 * execution-scoped run() calling the client, and offered() telling the page
 * when to show the button. */
typedef struct df__caction {
        const char *name;
        char scope; /* 'c' collection (POST /executions), 'e' execution, 'o' operation */
        const char *label;
        df_err_t (*run)(const areq_t *r, json_t *result, char *msg, size_t msg_size);
        int (*offered)(const json_t *exec, const json_t *op); /* op NULL for execution scope */
        const char *fields; /* the body's fields, space-separated: any other is refused (400) */
} df__caction_t;

static df_err_t act_start(const areq_t *r, json_t *result, char *msg, size_t msg_size)
{
        df_client_t *cl;
        const char *wf, *id, *input = NULL, *b64 = NULL;
        df__buf_t bin = {0};
        int existed = 0, i;
        df_err_t rc;
        if (body_text(r->body, "workflow", 200, 0, 1, &wf, msg, msg_size) < 0 ||
            body_text(r->body, "execution_id", 200, 0, 1, &id, msg, msg_size) < 0 ||
            body_text(r->body, "input", DF__PAYLOAD_MAX, 1, 0, &input, msg, msg_size) < 0 ||
            body_text(r->body, "input_b64", DF__PAYLOAD_MAX * 4 / 3 + 4, 0, 0, &b64, msg, msg_size) < 0)
                return DF_ERR_INVALID_ARG;
        if (!df__execution_id_valid(id)) {
                snprintf(msg, msg_size, "field \"execution_id\": 1..200 characters of A-Z a-z 0-9 . _ : @ -");
                return DF_ERR_INVALID_ARG;
        }
        if (input && b64) {
                snprintf(msg, msg_size, "give \"input\" or \"input_b64\", not both");
                return DF_ERR_INVALID_ARG;
        }
        if (b64) {
                /* standard base64: map to url-safe, drop padding */
                char *u = strdup(b64);
                if (!u)
                        return DF_ERR_NOMEM;
                for (i = 0; u[i]; i++)
                        u[i] = u[i] == '+' ? '-' : u[i] == '/' ? '_' : u[i];
                while (i > 0 && u[i - 1] == '=')
                        u[--i] = '\0';
                if (df__b64url_decode_max(u, DF__PAYLOAD_MAX * 4 / 3 + 4, &bin)) {
                        free(u);
                        snprintf(msg, msg_size, "field \"input_b64\" is not base64");
                        return DF_ERR_INVALID_ARG;
                }
                free(u);
        }
        cl = df__console_client(r->h->c, msg, msg_size);
        if (!cl) {
                free(bin.data);
                return DF_ERR_KAFKA;
        }
        rc = df_client_start(cl, wf, id, b64 ? bin.data : (const void *)input,
                             b64 ? bin.len : input ? strlen(input) : 0, &existed, msg, msg_size);
        free(bin.data);
        json_object_set_new(result, "execution_id", json_string(id));
        json_object_set_new(result, "existed", json_boolean(existed));
        return rc;
}

/* stop and pause: an optional "reason" (default what) */
static df_err_t act_with_reason(const areq_t *r, char *msg, size_t msg_size,
                                df_err_t (*call)(df_client_t *, const char *, const char *, char *, size_t),
                                const char *what)
{
        df_client_t *cl;
        const char *reason = NULL;
        if (body_text(r->body, "reason", 1000, 1, 0, &reason, msg, msg_size) < 0)
                return DF_ERR_INVALID_ARG;
        ACTION_CLIENT(r, msg, msg_size);
        return call(cl, r->execution_id, reason ? reason : what, msg, msg_size);
}

static df_err_t act_stop(const areq_t *r, json_t *result, char *msg, size_t msg_size)
{
        (void)result;
        return act_with_reason(r, msg, msg_size, df_client_stop, "stopped from the console");
}

static df_err_t act_pause(const areq_t *r, json_t *result, char *msg, size_t msg_size)
{
        (void)result;
        return act_with_reason(r, msg, msg_size, df_client_pause, "paused from the console");
}

static df_err_t act_resume(const areq_t *r, json_t *result, char *msg, size_t msg_size)
{
        df_client_t *cl;
        (void)result;
        ACTION_CLIENT(r, msg, msg_size);
        return df_client_resume(cl, r->execution_id, msg, msg_size);
}

static df_err_t act_restart(const areq_t *r, json_t *result, char *msg, size_t msg_size)
{
        df_client_t *cl;
        const char *reason = NULL, *from_op = NULL;
        if (body_text(r->body, "reason", 1000, 1, 0, &reason, msg, msg_size) < 0 ||
            body_text(r->body, "from_op", 64, 1, 0, &from_op, msg, msg_size) < 0)
                return DF_ERR_INVALID_ARG;
        ACTION_CLIENT(r, msg, msg_size);
        json_object_set_new(result, "from_op", json_string(from_op ? from_op : ""));
        return df_client_restart(cl, r->execution_id, from_op, reason ? reason : "restarted from the console", msg,
                                 msg_size);
}

static df_err_t act_purge(const areq_t *r, json_t *result, char *msg, size_t msg_size)
{
        df_client_t *cl;
        (void)result;
        ACTION_CLIENT(r, msg, msg_size);
        return df_client_purge(cl, r->execution_id, msg, msg_size);
}

static df_err_t act_complete(const areq_t *r, json_t *result, char *msg, size_t msg_size)
{
        df_client_t *cl;
        const char *outcome, *payload = NULL, *error = NULL;
        df_callback_outcome_t oc;
        char *cb = NULL;
        df_err_t rc;
        if (body_text(r->body, "outcome", 16, 0, 1, &outcome, msg, msg_size) < 0 ||
            body_text(r->body, "payload", DF__PAYLOAD_MAX, 1, 0, &payload, msg, msg_size) < 0 ||
            body_text(r->body, "error", 10000, 1, 0, &error, msg, msg_size) < 0)
                return DF_ERR_INVALID_ARG;
        if (!strcmp(outcome, "success"))
                oc = DF_CALLBACK_SUCCESS;
        else if (!strcmp(outcome, "failure"))
                oc = DF_CALLBACK_FAILURE;
        else if (!strcmp(outcome, "heartbeat"))
                oc = DF_CALLBACK_HEARTBEAT;
        else {
                snprintf(msg, msg_size, "field \"outcome\" must be \"success\", \"failure\" or \"heartbeat\"");
                return DF_ERR_INVALID_ARG;
        }
        if (oc == DF_CALLBACK_FAILURE && (!error || !*error)) {
                snprintf(msg, msg_size, "field \"error\" is required with outcome \"failure\"");
                return DF_ERR_INVALID_ARG;
        }
        if ((oc != DF_CALLBACK_FAILURE && error) || (oc != DF_CALLBACK_SUCCESS && payload)) {
                snprintf(msg, msg_size, "\"payload\" goes with \"success\" only, \"error\" with \"failure\" only");
                return DF_ERR_INVALID_ARG;
        }
        if (df__cidx_callback_id(df__console_index(r->h->c), r->execution_id, r->op_id, &cb, msg, msg_size))
                return DF_ERR_NOT_FOUND;
        cl = df__console_client(r->h->c, msg, msg_size);
        if (!cl) {
                free(cb);
                return DF_ERR_KAFKA;
        }
        rc = df_client_callback(cl, cb, oc, payload, payload ? strlen(payload) : 0, error, 1, msg, msg_size);
        free(cb);
        json_object_set_new(result, "outcome", json_string(outcome));
        return rc;
}

static int st_is(const json_t *exec, const char *s)
{
        return !strcmp(json_string_value(json_object_get(exec, "status")), s);
}

static int offer_stop(const json_t *exec, const json_t *op)
{
        (void)op;
        return !json_is_integer(json_object_get(exec, "ended_ms"));
}

static int offer_pause(const json_t *exec, const json_t *op)
{
        (void)op;
        return offer_stop(exec, op) && !st_is(exec, "PAUSED");
}

static int offer_resume(const json_t *exec, const json_t *op)
{
        (void)op;
        return st_is(exec, "PAUSED") || st_is(exec, "NONDETERMINISM") || st_is(exec, "QUARANTINED") ||
               st_is(exec, "VERSION_MISSING");
}

static int offer_restart(const json_t *exec, const json_t *op)
{
        (void)op;
        return st_is(exec, "FAILED") || st_is(exec, "STOPPED") || st_is(exec, "TIMED_OUT");
}

static int offer_purge(const json_t *exec, const json_t *op)
{
        (void)op;
        return json_is_integer(json_object_get(exec, "ended_ms"));
}

static int offer_complete(const json_t *exec, const json_t *op)
{
        return op && !strcmp(json_string_value(json_object_get(op, "type")), "CALLBACK") &&
               !strcmp(json_string_value(json_object_get(op, "status")), "PENDING") && !st_is(exec, "SUCCEEDED") &&
               !json_is_integer(json_object_get(exec, "ended_ms"));
}

static const df__caction_t df__actions[] = {
        {"start", 'c', "Start", act_start, NULL, "workflow execution_id input input_b64"},
        {"stop", 'e', "Stop", act_stop, offer_stop, "reason"},
        {"pause", 'e', "Pause", act_pause, offer_pause, "reason"},
        {"resume", 'e', "Resume", act_resume, offer_resume, ""},
        {"restart", 'e', "Restart from the failure", act_restart, offer_restart, "reason from_op"},
        {"purge", 'e', "Purge", act_purge, offer_purge, ""},
        {"complete", 'o', "Complete callback", act_complete, offer_complete, "outcome payload error"},
};
#define DF__N_ACTIONS (sizeof(df__actions) / sizeof(df__actions[0]))

/* 1 if field is one of the action's body fields */
static int action_has_field(const df__caction_t *a, const char *field)
{
        size_t n = strlen(field);
        const char *p = a->fields;
        if (strchr(field, ' '))
                return 0; /* "workflow execution_id" is not two known fields */
        while (n && (p = strstr(p, field)) != NULL) {
                if ((p == a->fields || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
                        return 1;
                p += n;
        }
        return 0;
}

static unsigned http_of(df_err_t rc)
{
        switch (rc) {
        case DF_OK:
                return 200;
        case DF_ERR_INVALID_ARG:
        case DF_ERR_CONF:
                return 400;
        case DF_ERR_NOT_FOUND:
        case DF_ERR_UNKNOWN_WORKFLOW:
                return 404;
        case DF_ERR_CONFLICT:
        case DF_ERR_UNKNOWN_CALLBACK:
        case DF_ERR_FINISHED:
        case DF_ERR_REJECTED:
        case DF_ERR_STATE:
                return 409;
        case DF_ERR_PAYLOAD_TOO_LARGE:
                return 413;
        case DF_ERR_DEADLINE:
                return 504;
        case DF_ERR_KAFKA:
                return 503;
        default:
                return 500;
        }
}

/* Authorization of a request: 1 token holder, 0 anonymous, or a response
 * was queued (-1) for a wrong token. */
static int authorize(df__chttp_t *h, struct MHD_Connection *conn, const char **token_id, enum MHD_Result *ret)
{
        const char *a = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
        int ok = df__console_auth(h->c, a, token_id);
        if (ok < 0) {
                df__log(DF__LOG_WARN, "console: a request with a token that is not accepted was refused");
                *ret = send_error(h, conn, 403, "the bearer token is not accepted");
                return -1;
        }
        return ok;
}

/* An action refused before it ran (a body it cannot take): logged at warn
 * with who and what, as the actions that run are, then answered. */
static enum MHD_Result action_refused(df__chttp_t *h, struct MHD_Connection *conn, const df__caction_t *a,
                                      const char *token_id, const char *exec_id, unsigned status, const char *fmt,
                                      ...) __attribute__((format(printf, 7, 8)));

static enum MHD_Result action_refused(df__chttp_t *h, struct MHD_Connection *conn, const df__caction_t *a,
                                      const char *token_id, const char *exec_id, unsigned status, const char *fmt,
                                      ...)
{
        char msg[600], shown[700], id[220];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        df_text_escape(shown, sizeof(shown), msg, strlen(msg));
        if (exec_id)
                df_text_escape(id, sizeof(id), exec_id, strlen(exec_id));
        df__log(DF__LOG_WARN, "console: action %s by token \"%s\"%s%s refused: %u %s", a->name, token_id,
                exec_id ? " on " : "", exec_id ? id : "", status, shown);
        return send_error(h, conn, status, "%s", msg);
}

static enum MHD_Result do_action(df__chttp_t *h, struct MHD_Connection *conn, const df__caction_t *a,
                                 const char *exec_id, const char *op_id, req_t *rq)
{
        const char *token_id = NULL, *ct;
        enum MHD_Result ret;
        json_t *body, *result;
        json_error_t je;
        char msg[600] = "";
        df_err_t rc;
        int auth;

        if (!df__console_actions_enabled(h->c))
                return send_error(h, conn, 403, "actions are disabled: console.token is not set (read-only console)");
        auth = authorize(h, conn, &token_id, &ret);
        if (auth < 0)
                return ret;
        if (auth == 0) {
                df__log(DF__LOG_WARN, "console: action %s%s%s refused: no bearer token", a->name,
                        exec_id ? " on " : "", exec_id ? exec_id : "");
                return send_error(h, conn, 401, "action \"%s\" needs a bearer token (Authorization: Bearer ...)",
                                  a->name);
        }
        ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
        if (rq->len && (!ct || strncasecmp(ct, "application/json", 16)))
                return action_refused(h, conn, a, token_id, exec_id, 415, "the body must be application/json");
        body = rq->len ? json_loadb(rq->body, rq->len, JSON_REJECT_DUPLICATES, &je) : json_object();
        if (!body)
                return action_refused(h, conn, a, token_id, exec_id, 400, "the body is not valid JSON: %s (line %d)",
                                      je.text, je.line);
        if (!json_is_object(body)) {
                json_decref(body);
                return action_refused(h, conn, a, token_id, exec_id, 400, "the body must be a JSON object");
        }
        if (exec_id && !df__execution_id_valid(exec_id)) {
                json_decref(body);
                return action_refused(h, conn, a, token_id, exec_id, 400,
                                      "execution id: 1..200 characters of A-Z a-z 0-9 . _ : @ -");
        }
        {
                /* a field the action does not know (a typo such as "reson") is
                 * refused, not silently ignored */
                const char *field;
                json_t *v;
                json_object_foreach(body, field, v) {
                        if (!action_has_field(a, field)) {
                                char shown[80];
                                df_text_escape(shown, sizeof(shown), field, strlen(field));
                                json_decref(body);
                                return action_refused(h, conn, a, token_id, exec_id, 400,
                                                      "%s: unknown field \"%s\" (known: %s)", a->name, shown,
                                                      *a->fields ? a->fields : "none");
                        }
                }
        }
        result = json_object();
        {
                /* the lines are about the execution acted on (a start names it in its body) */
                const char *about = exec_id ? exec_id : json_string_value(json_object_get(body, "execution_id"));
                areq_t r = {h, exec_id, op_id, body, token_id};
                df__log_fields_t f;
                memset(&f, 0, sizeof(f));
                if (about && df__execution_id_valid(about))
                        f.execution_id = about;
                f.op_id = op_id;
                df__log_ctx(DF__LOG_DEBUG, &f, "console: action %s by token \"%s\"%s%s%s%s: requested", a->name,
                            token_id, f.execution_id ? " on execution " : "", f.execution_id ? f.execution_id : "",
                            op_id ? " operation " : "", op_id ? op_id : "");
                rc = a->run(&r, result, msg, sizeof(msg));
                df__log_ctx(rc == DF_OK ? DF__LOG_INFO : DF__LOG_WARN, &f,
                            "console: action %s by token \"%s\"%s%s%s%s: %s%s%s", a->name,
                            token_id, f.execution_id ? " on execution " : "", f.execution_id ? f.execution_id : "",
                            op_id ? " operation " : "", op_id ? op_id : "", rc == DF_OK ? "ok" : df_err_name(rc),
                            msg[0] ? ": " : "", msg);
        }
        json_decref(body);
        if (rc != DF_OK) {
                json_decref(result);
                /* the client's message may name the action already ("start: ...") */
                size_t nl = strlen(a->name);
                int named = !strncmp(msg, a->name, nl) && msg[nl] == ':';
                return send_error(h, conn, http_of(rc), "%s%s%s", named ? "" : a->name, named ? "" : ": ",
                                  msg[0] ? msg : df_strerror(rc));
        }
        json_object_set_new(result, "action", json_string(a->name));
        json_object_set_new(result, "ok", json_true());
        if (msg[0])
                json_object_set_new(result, "message", json_string(msg));
        return send_json(h, conn, 200, result);
}

/* ------------------------------------------------------------------ */
/* read endpoints                                                       */

static enum MHD_Result get_list(df__chttp_t *h, struct MHD_Connection *conn)
{
        qparam_t p[] = {{"status", "", 0},         {"workflow", "", 0}, {"outcome", "", 0}, {"waiting", "", 0},
                        {"started_after", "", 0}, {"started_before", "", 0}, {"q", "", 0}, {"limit", "", 0},
                        {"cursor", "", 0},        {"order", "", 0},    {"version", "", 0}};
        int np = (int)(sizeof(p) / sizeof(p[0]));
        df__cquery_t q;
        df__buf_t cur = {0};
        char bad[300], e[300];
        const char *v;
        json_t *res;
        int http;

        memset(&q, 0, sizeof(q));
        q.status = -1;
        q.waiting = -1;
        q.started_after = INT64_MIN;
        q.started_before = INT64_MAX;
        q.limit = 50;
        q.scan_budget = 200000;
        if (parse_query(conn, p, np, bad, sizeof(bad)))
                return send_error(h, conn, 400, "%s", bad);
        if ((v = qget(p, np, "status"))) {
                q.status = df__exec_status_parse(v);
                if (q.status < 0 && !strncmp(v, "STATUS_", 7)) {
                        char *end;
                        long s = strtol(v + 7, &end, 10);
                        if (*end || end == v + 7 || s < 0 || s > 255)
                                s = -1;
                        q.status = (int)s;
                }
                if (q.status < 0) {
                        char names[300] = "";
                        int i;
                        for (i = 0; strcmp(df__exec_status_name(i), "UNKNOWN") && i < 64; i++)
                                snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s", i ? ", " : "",
                                         df__exec_status_name(i));
                        return send_error(h, conn, 400, "status: \"%.64s\" is not a status (%s)", v, names);
                }
        }
        if ((v = qget(p, np, "workflow"))) {
                if (!*v || strlen(v) > 200)
                        return send_error(h, conn, 400, "workflow: 1..200 bytes");
                q.workflow = v;
        }
        if ((v = qget(p, np, "outcome"))) {
                if (!*v || strlen(v) > 64)
                        return send_error(h, conn, 400, "outcome: 1..64 bytes");
                q.outcome = v;
        }
        if ((v = qget(p, np, "waiting"))) {
                q.waiting = df__cw_parse(v);
                if (q.waiting < 0)
                        return send_error(h, conn, 400,
                                          "waiting: \"%.64s\" is not one of timer, retry, callback, running, child, "
                                          "nondeterminism, paused, quarantined, version, unknown",
                                          v);
        }
        if ((v = qget(p, np, "version"))) {
                char *end;
                long l;
                errno = 0;
                l = strtol(v, &end, 10);
                if (errno || *end || end == v || l < 1 || l > INT32_MAX)
                        return send_error(h, conn, 400, "version: a workflow version, an integer 1..2147483647 (got "
                                                        "\"%.32s\")",
                                          v);
                q.version = (int)l;
        }
        if ((v = qget(p, np, "started_after")) && parse_time(v, &q.started_after))
                return send_error(h, conn, 400,
                                  "started_after: \"%.64s\" is neither ms since the epoch nor YYYY-MM-DDTHH:MM:SSZ", v);
        if ((v = qget(p, np, "started_before")) && parse_time(v, &q.started_before))
                return send_error(h, conn, 400,
                                  "started_before: \"%.64s\" is neither ms since the epoch nor YYYY-MM-DDTHH:MM:SSZ",
                                  v);
        if (q.started_after > q.started_before)
                return send_error(h, conn, 400, "started_after is later than started_before");
        if ((v = qget(p, np, "q"))) {
                size_t i;
                if (!*v || strlen(v) > 200)
                        return send_error(h, conn, 400, "q: 1..200 characters");
                for (i = 0; v[i]; i++)
                        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:@-", v[i]))
                                return send_error(h, conn, 400,
                                                  "q: execution ids hold only A-Z a-z 0-9 . _ : @ - (got \"%.64s\")",
                                                  v);
                q.q = v;
        }
        if ((v = qget(p, np, "limit"))) {
                char *end;
                long l = strtol(v, &end, 10);
                if (*end || end == v || l < 1 || l > 500)
                        return send_error(h, conn, 400, "limit: an integer 1..500 (got \"%.32s\")", v);
                q.limit = (int)l;
        }
        if ((v = qget(p, np, "order"))) {
                if (!strcmp(v, "asc"))
                        q.ascending = 1;
                else if (strcmp(v, "desc"))
                        return send_error(h, conn, 400, "order: \"asc\" or \"desc\"");
        }
        if ((v = qget(p, np, "cursor"))) {
                if (strlen(v) > 1000 || df__b64url_decode(v, &cur) || cur.len < 9)
                        return send_error(h, conn, 400, "cursor: not a cursor of this API");
                q.cursor = cur.data;
                q.cursor_len = cur.len;
        }
        res = df__cidx_list(df__console_index(h->c), &q, &http, e, sizeof(e));
        free(cur.data);
        if (!res)
                return send_error(h, conn, (unsigned)http, "%s", e);
        return send_json(h, conn, 200, res);
}

static void add_actions(const json_t *exec, json_t *o, const json_t *op, char scope)
{
        json_t *arr = json_array();
        size_t i;
        for (i = 0; i < DF__N_ACTIONS; i++)
                if (df__actions[i].scope == scope && df__actions[i].offered && df__actions[i].offered(exec, op))
                        json_array_append_new(arr, json_string(df__actions[i].name));
        json_object_set_new(o, "actions", arr);
}

static enum MHD_Result get_exec(df__chttp_t *h, struct MHD_Connection *conn, const char *id, int auth)
{
        df__crender_t r = {h->payload_max, auth > 0};
        json_t *o, *op;
        size_t i;
        int http;
        char bad[64];
        qparam_t p[1] = {{"_", "", 0}};
        if (parse_query(conn, p, 0, bad, sizeof(bad)))
                return send_error(h, conn, 400, "%s", bad);
        if (!df__execution_id_valid(id))
                return send_error(h, conn, 400, "execution id: 1..200 characters of A-Z a-z 0-9 . _ : @ -");
        o = df__cidx_describe(df__console_index(h->c), id, &r, &http);
        if (!o)
                return http == 404 ? send_error(h, conn, 404, "no execution named \"%s\"", id)
                                   : send_error(h, conn, 500, "console index unavailable");
        add_actions(o, o, NULL, 'e');
        json_array_foreach(json_object_get(o, "operations"), i, op) add_actions(o, op, op, 'o');
        json_object_set_new(o, "token_holder", json_boolean(auth > 0));
        return send_json(h, conn, 200, o);
}

static enum MHD_Result get_payload(df__chttp_t *h, struct MHD_Connection *conn, const char *id, const char *which)
{
        df__buf_t b;
        enum MHD_Result ret;
        if (df__cidx_payload(df__console_index(h->c), id, which, &b))
                return send_error(h, conn, 404, "no payload %s of execution \"%s\"", which, id);
        ret = send_bytes(h, conn, 200, "application/octet-stream", b.data ? (const char *)b.data : "", b.len,
                         "Content-Disposition", "attachment");
        free(b.data);
        return ret;
}

static enum MHD_Result get_actions(df__chttp_t *h, struct MHD_Connection *conn)
{
        json_t *arr = json_array();
        size_t i;
        for (i = 0; i < DF__N_ACTIONS; i++)
                json_array_append_new(arr, json_pack("{s:s, s:s, s:s}", "name", df__actions[i].name, "scope",
                                                     df__actions[i].scope == 'c'   ? "collection"
                                                     : df__actions[i].scope == 'e' ? "execution"
                                                                                   : "operation",
                                                     "label", df__actions[i].label));
        return send_json(h, conn, 200,
                         json_pack("{s:o, s:b}", "actions", arr, "enabled", df__console_actions_enabled(h->c)));
}

static enum MHD_Result get_asset(df__chttp_t *h, struct MHD_Connection *conn, const char *path)
{
        size_t i;
        if (!strcmp(path, "/"))
                path = "/index.html";
        for (i = 0; i < df__console_asset_count; i++) {
                const df__casset_t *a = &df__console_assets[i];
                if (!strcmp(a->path, path)) {
                        struct MHD_Response *r =
                                MHD_create_response_from_buffer(a->len, (void *)a->data, MHD_RESPMEM_PERSISTENT);
                        enum MHD_Result ret;
                        if (!r)
                                return MHD_NO;
                        MHD_add_response_header(r, "Content-Type", a->content_type);
                        MHD_add_response_header(r, "Cache-Control", "no-cache");
                        MHD_add_response_header(r, "Content-Security-Policy",
                                                "default-src 'none'; script-src 'self'; style-src 'self'; "
                                                "img-src 'self' data:; connect-src 'self'; base-uri 'none'; "
                                                "form-action 'none'; frame-ancestors 'none'");
                        common_headers(h, conn, r);
                        ret = MHD_queue_response(conn, 200, r);
                        MHD_destroy_response(r);
                        return ret;
                }
        }
        return send_error(h, conn, 404, "not found");
}

/* ------------------------------------------------------------------ */
/* dispatch                                                             */

static int host_ok(df__chttp_t *h, struct MHD_Connection *conn)
{
        const char *host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Host");
        size_t n;
        if (!h->loopback)
                return 1;
        if (!host)
                return 0;
        n = strcspn(host, ":");
        if (host[0] == '[')
                return !strncmp(host, "[::1]", 5) && (host[5] == '\0' || host[5] == ':');
        return (n == 9 && !strncmp(host, "127.0.0.1", 9)) || (n == 9 && !strncasecmp(host, "localhost", 9));
}

/* A chunk of the request body: kept while the body stays within
 * DF__CHTTP_BODY_MAX, else the request is marked too large. */
static enum MHD_Result body_chunk(req_t *rq, const char *upload_data, size_t *upload_data_size)
{
        if (!rq->too_large && rq->len + *upload_data_size <= DF__CHTTP_BODY_MAX) {
                char *b = realloc(rq->body, rq->len + *upload_data_size + 1);
                if (!b)
                        return MHD_NO;
                rq->body = b;
                memcpy(rq->body + rq->len, upload_data, *upload_data_size);
                rq->len += *upload_data_size;
                rq->body[rq->len] = '\0';
        } else {
                rq->too_large = 1;
        }
        *upload_data_size = 0;
        return MHD_YES;
}

/* The path, raw: split and decode each segment strictly into segs.  0, or
 * -1 when the request was answered (an error, in *ret). */
static int split_path(df__chttp_t *h, struct MHD_Connection *conn, const char *url, char (*segs)[256], int *nseg,
                      enum MHD_Result *ret)
{
        const char *why = NULL, *p;
        size_t ul = strlen(url);

        *nseg = 0;
        if (ul > DF__CHTTP_PATH_MAX) {
                *ret = send_error(h, conn, 414, "path over %d bytes", DF__CHTTP_PATH_MAX);
                return -1;
        }
        if (url[0] != '/') {
                *ret = send_error(h, conn, 400, "path must start with /");
                return -1;
        }
        for (p = url + 1; *p;) {
                const char *end = strchr(p, '/');
                size_t n = end ? (size_t)(end - p) : strlen(p);
                if (*nseg >= DF__CHTTP_SEGS) {
                        *ret = send_error(h, conn, 404, "not found");
                        return -1;
                }
                if (pct_decode(p, n, 0, 1, segs[*nseg], 256, &why)) {
                        *ret = send_error(h, conn, 400, "path: %s", why);
                        return -1;
                }
                /* "." and ".." are refused, except as the execution id of
                 * /api/v1/executions/ID[/...]: they are valid ids, and no
                 * path of this server maps to a file */
                if (((!strcmp(segs[*nseg], ".") || !strcmp(segs[*nseg], "..")) &&
                     !(*nseg == 3 && !strcmp(segs[0], "api") && !strcmp(segs[1], "v1") &&
                       !strcmp(segs[2], "executions"))) ||
                    (!n && end)) {
                        *ret = send_error(h, conn, 400, "path: empty, \".\" and \"..\" segments are refused");
                        return -1;
                }
                if (n)
                        (*nseg)++;
                p = end ? end + 1 : p + n;
        }
        return 0;
}

/* OPTIONS: a CORS preflight, answered for console.cors.origin only. */
static enum MHD_Result preflight(df__chttp_t *h, struct MHD_Connection *conn)
{
        const char *origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin");
        enum MHD_Result ret;

        if (h->cors[0] && origin && !strcmp(origin, h->cors)) {
                struct MHD_Response *r = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
                MHD_add_response_header(r, "Access-Control-Allow-Methods", "GET, POST");
                MHD_add_response_header(r, "Access-Control-Allow-Headers", "Authorization, Content-Type");
                MHD_add_response_header(r, "Access-Control-Max-Age", "600");
                common_headers(h, conn, r);
                ret = MHD_queue_response(conn, 204, r);
                MHD_destroy_response(r);
                return ret;
        }
        return send_error(h, conn, 403, "cross-origin requests are not allowed (console.cors.origin)");
}

/* an execution's or operation's action: .../executions/ID/ACTION or
 * .../executions/ID/operations/OP/ACTION (POST only) */
static int is_action_path(char (*segs)[256], int nseg)
{
        size_t i;
        for (i = 0; i < DF__N_ACTIONS; i++) {
                const df__caction_t *a = &df__actions[i];
                if (a->scope == 'e' && nseg == 5 && !strcmp(segs[2], "executions") && !strcmp(segs[4], a->name))
                        return 1;
                if (a->scope == 'o' && nseg == 7 && !strcmp(segs[2], "executions") &&
                    !strcmp(segs[4], "operations") && !strcmp(segs[6], a->name))
                        return 1;
        }
        return 0;
}

/* POST /api/v1/executions | .../executions/ID/ACTION | .../executions/ID/operations/OP/ACTION */
static enum MHD_Result post_api(df__chttp_t *h, struct MHD_Connection *conn, char (*segs)[256], int nseg, req_t *rq)
{
        size_t i;
        if (nseg == 3 && !strcmp(segs[2], "executions"))
                return do_action(h, conn, &df__actions[0], NULL, NULL, rq);
        for (i = 0; i < DF__N_ACTIONS; i++) {
                const df__caction_t *a = &df__actions[i];
                if (a->scope == 'e' && nseg == 5 && !strcmp(segs[2], "executions") && !strcmp(segs[4], a->name))
                        return do_action(h, conn, a, segs[3], NULL, rq);
                if (a->scope == 'o' && nseg == 7 && !strcmp(segs[2], "executions") &&
                    !strcmp(segs[4], "operations") && !strcmp(segs[6], a->name))
                        return do_action(h, conn, a, segs[3], segs[5], rq);
        }
        return send_error(h, conn, 404, "no such action");
}

/* GET /api/v1/dlq?limit=N */
static enum MHD_Result get_dlq(df__chttp_t *h, struct MHD_Connection *conn, int auth)
{
        qparam_t p[] = {{"limit", "", 0}};
        char bad[300];
        const char *v;
        long l = 100;
        df__crender_t r = {h->payload_max, auth > 0};
        if (parse_query(conn, p, 1, bad, sizeof(bad)))
                return send_error(h, conn, 400, "%s", bad);
        if ((v = qget(p, 1, "limit"))) {
                char *end;
                l = strtol(v, &end, 10);
                if (*end || end == v || l < 1 || l > 1000)
                        return send_error(h, conn, 400, "limit: an integer 1..1000");
        }
        return send_json(h, conn, 200, df__cidx_dlq(df__console_index(h->c), (int)l, &r));
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                               const char *version, const char *upload_data, size_t *upload_data_size,
                               void **con_cls)
{
        df__chttp_t *h = cls;
        req_t *rq = *con_cls;
        char segs[DF__CHTTP_SEGS][256];
        int nseg = 0, is_get, is_post, auth;
        const char *token_id = NULL;
        enum MHD_Result ret;

        (void)version;
        if (!rq) {
                const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
                rq = calloc(1, sizeof(*rq));
                if (!rq)
                        return MHD_NO;
                *con_cls = rq;
                if (cl && strtoull(cl, NULL, 10) > DF__CHTTP_BODY_MAX)
                        return send_error(h, conn, 413, "request body over %d bytes", DF__CHTTP_BODY_MAX);
                return MHD_YES;
        }
        if (*upload_data_size)
                return body_chunk(rq, upload_data, upload_data_size);
        if (rq->too_large)
                return send_error(h, conn, 413, "request body over %d bytes", DF__CHTTP_BODY_MAX);
        if (!host_ok(h, conn))
                return send_error(h, conn, 403, "Host header not allowed: this console is bound to the loopback");
        if (split_path(h, conn, url, segs, &nseg, &ret))
                return ret;
        is_get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
        is_post = !strcmp(method, "POST");
        if (!strcmp(method, "OPTIONS"))
                return preflight(h, conn);
        if (!is_get && !is_post)
                return send_error(h, conn, 405, "method %.16s not allowed", method);
        if (nseg < 2 || strcmp(segs[0], "api")) {
                if (!is_get)
                        return send_error(h, conn, 405, "method %.16s not allowed here", method);
                return get_asset(h, conn, nseg == 0 ? "/" : url);
        }
        if (strcmp(segs[1], "v1"))
                return send_error(h, conn, 404, "unknown API version \"%s\" (this console serves v1)", segs[1]);
        auth = authorize(h, conn, &token_id, &ret);
        if (auth < 0)
                return ret;
        if (is_post)
                return post_api(h, conn, segs, nseg, rq);
        if (is_action_path(segs, nseg))
                return send_post_only(h, conn, method);
        /* the GET endpoints that take no parameter refuse any (400), as
         * those that take some refuse the others */
        if ((nseg == 3 && (!strcmp(segs[2], "status") || !strcmp(segs[2], "counts") || !strcmp(segs[2], "actions"))) ||
            ((nseg == 5 || nseg == 7) && !strcmp(segs[2], "executions"))) {
                char bad[300];
                qparam_t none[1] = {{"_", "", 0}};
                if (parse_query(conn, none, 0, bad, sizeof(bad)))
                        return send_error(h, conn, 400, "%s", bad);
        }
        if (nseg == 3 && !strcmp(segs[2], "status"))
                return send_json(h, conn, 200, df__console_status_json(h->c));
        if (nseg == 3 && !strcmp(segs[2], "counts"))
                return send_json(h, conn, 200, df__cidx_counts(df__console_index(h->c)));
        if (nseg == 3 && !strcmp(segs[2], "actions"))
                return get_actions(h, conn);
        if (nseg == 3 && !strcmp(segs[2], "executions"))
                return get_list(h, conn);
        if (nseg == 4 && !strcmp(segs[2], "executions"))
                return get_exec(h, conn, segs[3], auth);
        if (nseg == 5 && !strcmp(segs[2], "executions") && (!strcmp(segs[4], "input") || !strcmp(segs[4], "output")))
                return get_payload(h, conn, segs[3], segs[4]);
        if (nseg == 7 && !strcmp(segs[2], "executions") && !strcmp(segs[4], "operations") &&
            !strcmp(segs[6], "result")) {
                char which[300];
                snprintf(which, sizeof(which), "op/%s/result", segs[5]);
                return get_payload(h, conn, segs[3], which);
        }
        if (nseg == 3 && !strcmp(segs[2], "dlq"))
                return get_dlq(h, conn, auth);
        return send_error(h, conn, 404, "not found");
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
        req_t *rq = *con_cls;
        (void)cls;
        (void)conn;
        (void)toe;
        if (rq) {
                free(rq->body);
                free(rq);
                *con_cls = NULL;
        }
}

df__chttp_t *df__chttp_start(struct df_console *c, const char *listen, char *url, size_t url_size, char *errstr,
                             size_t errstr_size)
{
        df__chttp_t *h = calloc(1, sizeof(*h));
        struct sockaddr_in sa;
        const union MHD_DaemonInfo *info;
        const char *colon = listen ? strrchr(listen, ':') : NULL;
        const char *pm = df_conf_get(df__console_conf(c), "console.payload.max");
        char host[64];
        char *end;
        long port;

        if (!h) {
                df__errf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        h->c = c;
        snprintf(h->cors, sizeof(h->cors), "%s", df_conf_get(df__console_conf(c), "console.cors.origin"));
        h->payload_max = pm ? (size_t)atoll(pm) : 4096;
        if (!colon || colon == listen || (size_t)(colon - listen) >= sizeof(host)) {
                df__errf(errstr, errstr_size, "property \"console.listen\": \"%s\" is not HOST:PORT",
                         listen ? listen : "");
                goto fail;
        }
        memcpy(host, listen, (size_t)(colon - listen));
        host[colon - listen] = '\0';
        errno = 0;
        port = strtol(colon + 1, &end, 10);
        if (errno || *end || end == colon + 1 || port < 0 || port > 65535) {
                df__errf(errstr, errstr_size, "property \"console.listen\": port \"%s\" is not 0..65535", colon + 1);
                goto fail;
        }
        if (!strcmp(host, "localhost"))
                snprintf(host, sizeof(host), "127.0.0.1");
        memset(&sa, 0, sizeof(sa));
        sa.sin_family = AF_INET;
        sa.sin_port = htons((uint16_t)port);
        if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
                df__errf(errstr, errstr_size,
                         "property \"console.listen\": host \"%s\" is not an IPv4 address (e.g. 127.0.0.1)", host);
                goto fail;
        }
        h->loopback = (ntohl(sa.sin_addr.s_addr) >> 24) == 127;
        h->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL, 0,
                                NULL, NULL, handler, h, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                                MHD_OPTION_CONNECTION_LIMIT, (unsigned)64, MHD_OPTION_CONNECTION_TIMEOUT,
                                (unsigned)60, MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, NULL,
                                MHD_OPTION_NOTIFY_COMPLETED, completed, NULL, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                                (size_t)65536, MHD_OPTION_END);
        if (!h->d) {
                df__errf(errstr, errstr_size, "console: cannot listen on %s: %s", listen,
                         errno ? strerror(errno) : "libmicrohttpd refused");
                goto fail;
        }
        info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
        snprintf(url, url_size, "http://%s:%u", strcmp(host, "0.0.0.0") ? host : "127.0.0.1",
                 info ? (unsigned)info->port : (unsigned)port);
        return h;
fail:
        free(h);
        return NULL;
}

void df__chttp_stop(df__chttp_t *h)
{
        if (!h)
                return;
        if (h->d)
                MHD_stop_daemon(h->d);
        free(h);
}
