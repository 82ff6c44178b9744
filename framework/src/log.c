/*
 * log.c -- text and JSON log lines (see log.h), and the UTF-8 repair and
 * terminal escaping they and the tracer share.  df__log and
 * df_log_set_level moved here from util.c, unchanged in signature.
 */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "log.h"

int df__log_level = DF__LOG_INFO;
static _Atomic int df__log_fmt = DF__LOG_TEXT;
static _Atomic int df__log_out = 2;
static pthread_mutex_t df__log_mu = PTHREAD_MUTEX_INITIALIZER; /* guards df__log_worker */
static char df__log_worker[256];

static const char *const df__level_upper[] = {"ERROR", "WARN", "INFO", "DEBUG"};
static const char *const df__level_lower[] = {"error", "warn", "info", "debug"};

void df_log_set_level(const char *level)
{
        if (!level)
                return;
        if (!strcmp(level, "error"))
                df__log_level = DF__LOG_ERROR;
        else if (!strcmp(level, "warn"))
                df__log_level = DF__LOG_WARN;
        else if (!strcmp(level, "info"))
                df__log_level = DF__LOG_INFO;
        else if (!strcmp(level, "debug"))
                df__log_level = DF__LOG_DEBUG;
}

df_err_t df__log_format_parse(const char *format, df__log_format_t *out, char *errstr, size_t errstr_size)
{
        df__log_format_t f;
        if (format && !strcmp(format, "text"))
                f = DF__LOG_TEXT;
        else if (format && !strcmp(format, "json"))
                f = DF__LOG_JSON;
        else {
                char shown[128];
                df__term_escape(format ? format : "(null)", shown, 64);
                df__errf(errstr, errstr_size, "property \"log.format\": \"%s\" is not text or json", shown);
                return DF_ERR_CONF;
        }
        if (out)
                *out = f;
        return DF_OK;
}

df_err_t df__log_set_format(const char *format, char *errstr, size_t errstr_size)
{
        df__log_format_t f;
        if (df__log_format_parse(format, &f, errstr, errstr_size) != DF_OK)
                return DF_ERR_CONF;
        atomic_store(&df__log_fmt, f);
        return DF_OK;
}

df__log_format_t df__log_get_format(void)
{
        return (df__log_format_t)atomic_load(&df__log_fmt);
}

void df__log_set_worker_id(const char *worker_id)
{
        pthread_mutex_lock(&df__log_mu);
        snprintf(df__log_worker, sizeof(df__log_worker), "%s", worker_id ? worker_id : "");
        pthread_mutex_unlock(&df__log_mu);
}

void df__log_set_fd(int fd)
{
        atomic_store(&df__log_out, fd);
}

/* ---------------- UTF-8 ---------------- */

/* Length of the valid UTF-8 sequence at p (at most n bytes), its code point
 * in *cp; 0 when the bytes there are not valid UTF-8 (or a NUL). */
static size_t df__utf8_seq(const unsigned char *p, size_t n, unsigned *cp)
{
        unsigned c = p[0];
        size_t len, k;
        unsigned lo = 0x80, hi = 0xBF;

        if (c == 0)
                return 0;
        if (c < 0x80) {
                *cp = c;
                return 1;
        }
        if (c >= 0xC2 && c <= 0xDF)
                len = 2;
        else if (c >= 0xE0 && c <= 0xEF) {
                len = 3;
                if (c == 0xE0)
                        lo = 0xA0;
                else if (c == 0xED)
                        hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
                len = 4;
                if (c == 0xF0)
                        lo = 0x90;
                else if (c == 0xF4)
                        hi = 0x8F;
        } else
                return 0;
        if (n < len || p[1] < lo || p[1] > hi)
                return 0;
        for (k = 2; k < len; k++)
                if (p[k] < 0x80 || p[k] > 0xBF)
                        return 0;
        *cp = len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
        for (k = 1; k < len; k++)
                *cp = (*cp << 6) | (p[k] & 0x3F);
        return len;
}

char *df__utf8_repair(const char *s, size_t n, size_t max)
{
        const unsigned char *p = (const unsigned char *)s;
        size_t i = 0, o = 0, cap;
        char *out;

        if (!s)
                n = 0;
        cap = (n * 3 < max ? n * 3 : max) + 1;
        out = malloc(cap);
        if (!out)
                return NULL;
        while (i < n) {
                unsigned cp;
                size_t len, run = i;
                /* a run of ASCII (no NUL) is copied at once */
                while (run < n && p[run] && p[run] < 0x80 && o + (run - i) < max)
                        run++;
                if (run > i) {
                        memcpy(out + o, p + i, run - i);
                        o += run - i;
                        i = run;
                        if (o >= max)
                                break;
                        continue;
                }
                len = df__utf8_seq(p + i, n - i, &cp);
                if (len) {
                        if (o + len > max)
                                break;
                        memcpy(out + o, p + i, len);
                        o += len;
                        i += len;
                } else {
                        if (o + 3 > max)
                                break;
                        memcpy(out + o, "\xEF\xBF\xBD", 3);
                        o += 3;
                        i++;
                }
        }
        out[o] = '\0';
        return out;
}

static int df__is_bidi(unsigned cp)
{
        return cp == 0x061C || cp == 0x200E || cp == 0x200F || (cp >= 0x202A && cp <= 0x202E) ||
               (cp >= 0x2066 && cp <= 0x2069);
}

size_t df__term_escape(const char *s, char *out, size_t out_size)
{
        const unsigned char *p = (const unsigned char *)(s ? s : "");
        size_t n = strlen((const char *)p), i = 0, o = 0;

        if (!out_size)
                return 0;
        while (i < n) {
                char esc[16];
                const char *put;
                size_t plen;
                unsigned cp = 0;
                size_t len = df__utf8_seq(p + i, n - i, &cp);
                if (!len) {
                        snprintf(esc, sizeof(esc), "\\x%02X", p[i]);
                        put = esc;
                        plen = strlen(esc);
                        len = 1;
                } else if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0)) {
                        snprintf(esc, sizeof(esc), "\\x%02X", cp);
                        put = esc;
                        plen = strlen(esc);
                } else if (df__is_bidi(cp)) {
                        snprintf(esc, sizeof(esc), "\\u{%04X}", cp);
                        put = esc;
                        plen = strlen(esc);
                } else {
                        put = (const char *)p + i;
                        plen = len;
                }
                if (o + plen >= out_size)
                        break;
                memcpy(out + o, put, plen);
                o += plen;
                i += len;
        }
        out[o] = '\0';
        return o;
}

/* ---------------- lines ---------------- */

static void df__ts_rfc3339(int64_t ts_ms, char *out, size_t n)
{
        time_t sec = (time_t)(ts_ms / 1000);
        struct tm tm;
        gmtime_r(&sec, &tm);
        snprintf(out, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                 tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ts_ms % 1000));
}

#define DF__LOG_FIELD_MAX 256 /* bytes of one correlation field */

static void df__json_set_str(json_t *o, const char *key, const char *v, size_t max)
{
        char *fixed;
        if (!v)
                return;
        fixed = df__utf8_repair(v, strlen(v), max);
        if (fixed)
                json_object_set_new(o, key, json_string(fixed));
        free(fixed);
}

/* The object of one line, msg cut to keep bytes, the fields to field_max
 * (0: left out). */
static json_t *df__line_obj(int level, const char *ts, const df__log_fields_t *f, const char *worker,
                            const char *msg, size_t keep, size_t field_max)
{
        json_t *o = json_object();
        size_t mlen = msg ? strlen(msg) : 0;

        if (!o)
                return NULL;
        json_object_set_new(o, "ts", json_string(ts));
        json_object_set_new(o, "level", json_string(df__level_lower[level]));
        df__json_set_str(o, "msg", msg ? msg : "", keep);
        if (mlen > keep)
                json_object_set_new(o, "truncated", json_true());
        if (f && field_max) {
                df__json_set_str(o, "execution_id", f->execution_id, field_max);
                df__json_set_str(o, "workflow", f->workflow, field_max);
                df__json_set_str(o, "op_id", f->op_id, field_max);
                if (f->attempt > 0)
                        json_object_set_new(o, "attempt", json_integer(f->attempt));
                df__json_set_str(o, "trace_id", f->trace_id, field_max);
        }
        if (field_max)
                df__json_set_str(o, "worker_id", worker, field_max);
        return o;
}

static size_t df__line_json(char *buf, size_t size, int level, int64_t ts_ms, const df__log_fields_t *f,
                            const char *worker, const char *msg)
{
        char ts[64];
        size_t keep = size, n = 0, field_max = DF__LOG_FIELD_MAX;

        df__ts_rfc3339(ts_ms, ts, sizeof(ts));
        /* JSON_ENSURE_ASCII: non-ASCII as \uXXXX, so no byte of a line can be
         * a terminal control even when someone tails the raw file.  Too long
         * for one line: the message is cut (and "truncated": true), halving
         * until it fits; then the fields, then they go. */
        for (;;) {
                json_t *o = df__line_obj(level, ts, f, worker, msg, keep, field_max);
                if (!o)
                        break;
                n = json_dumpb(o, buf, size - 1, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER);
                json_decref(o);
                if (n > 0 && n <= size - 1) {
                        buf[n] = '\0';
                        return n;
                }
                if (keep > 16)
                        keep /= 2;
                else if (field_max > 16)
                        field_max /= 2;
                else if (field_max)
                        field_max = 0;
                else
                        break;
        }
        n = (size_t)snprintf(buf, size, "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":\"log line could not be encoded\"}",
                             ts, df__level_lower[level]);
        return n < size ? n : size - 1;
}

static size_t df__append(char *buf, size_t size, size_t n, const char *s)
{
        size_t l = strlen(s);
        if (n + l >= size)
                l = size - 1 - n;
        memcpy(buf + n, s, l);
        n += l;
        buf[n] = '\0';
        return n;
}

/* " key=value", the value escaped for a terminal and cut to 512 bytes;
 * nothing when value is NULL or empty */
static size_t df__append_kv(char *buf, size_t size, size_t n, const char *key, const char *value)
{
        char esc[512];
        if (!value || !*value)
                return n;
        df__term_escape(value, esc, sizeof(esc));
        n = df__append(buf, size, n, " ");
        n = df__append(buf, size, n, key);
        n = df__append(buf, size, n, "=");
        return df__append(buf, size, n, esc);
}

static size_t df__line_text(char *buf, size_t size, int level, int64_t ts_ms, const df__log_fields_t *f,
                            const char *worker, const char *msg)
{
        time_t sec = (time_t)(ts_ms / 1000);
        struct tm tm;
        char esc[DF__LOG_LINE_MAX];
        size_t n;

        gmtime_r(&sec, &tm);
        n = (size_t)snprintf(buf, size, "%02d:%02d:%02d.%03d %s ", tm.tm_hour, tm.tm_min, tm.tm_sec,
                             (int)(ts_ms % 1000), df__level_upper[level]);
        if (n >= size)
                return size - 1;
        df__term_escape(msg, esc, sizeof(esc));
        n = df__append(buf, size, n, esc);
        if (f) {
                n = df__append_kv(buf, size, n, "execution_id", f->execution_id);
                n = df__append_kv(buf, size, n, "workflow", f->workflow);
                n = df__append_kv(buf, size, n, "op_id", f->op_id);
                if (f->attempt > 0) {
                        char kv[32];
                        snprintf(kv, sizeof(kv), " attempt=%d", f->attempt);
                        n = df__append(buf, size, n, kv);
                }
                n = df__append_kv(buf, size, n, "trace_id", f->trace_id);
        }
        n = df__append_kv(buf, size, n, "worker_id", worker);
        return n;
}

size_t df__log_format_line(char *buf, size_t size, df__log_format_t format, int level, int64_t ts_ms,
                           const df__log_fields_t *f, const char *msg)
{
        const char *worker = f && f->worker_id ? f->worker_id : NULL;
        char wbuf[256];

        if (!size)
                return 0;
        if (level < DF__LOG_ERROR)
                level = DF__LOG_ERROR;
        if (level > DF__LOG_DEBUG)
                level = DF__LOG_DEBUG;
        if (!worker) {
                pthread_mutex_lock(&df__log_mu);
                memcpy(wbuf, df__log_worker, sizeof(wbuf));
                pthread_mutex_unlock(&df__log_mu);
                worker = wbuf[0] ? wbuf : NULL;
        }
        if (format == DF__LOG_JSON)
                return df__line_json(buf, size, level, ts_ms, f, worker, msg);
        return df__line_text(buf, size, level, ts_ms, f, worker, msg);
}

/* What this thread works on now (df__log_scope_set). */
static _Thread_local const df__log_fields_t *df__log_scope;

const df__log_fields_t *df__log_scope_set(const df__log_fields_t *f)
{
        const df__log_fields_t *prev = df__log_scope;
        df__log_scope = f;
        return prev;
}

void df__log_vctx(int level, const df__log_fields_t *f, const char *fmt, va_list ap)
{
        char msg[DF__LOG_LINE_MAX];
        char line[DF__LOG_LINE_MAX + 2];
        const df__log_fields_t *sc = df__log_scope;
        df__log_fields_t merged;
        size_t n;
        int m;

        if (level > df__log_level)
                return;
        if (sc && !f) {
                f = sc;
        } else if (sc && f && (!f->execution_id || (sc->execution_id && !strcmp(f->execution_id, sc->execution_id)))) {
                /* the same execution: what the line does not say, the scope does */
                merged = *f;
                if (!merged.execution_id)
                        merged.execution_id = sc->execution_id;
                if (!merged.workflow)
                        merged.workflow = sc->workflow;
                if (!merged.op_id) {
                        merged.op_id = sc->op_id;
                        if (!merged.attempt)
                                merged.attempt = sc->attempt;
                }
                if (!merged.trace_id)
                        merged.trace_id = sc->trace_id;
                f = &merged;
        }
        m = vsnprintf(msg, sizeof(msg), fmt, ap);
        if (m >= (int)sizeof(msg))
                memcpy(msg + sizeof(msg) - 4, "...", 4);
        n = df__log_format_line(line, sizeof(line) - 1, (df__log_format_t)atomic_load(&df__log_fmt), level,
                                df__now_ms(), f, msg);
        line[n++] = '\n';
        /* one write: lines of several threads never interleave */
        for (size_t off = 0; off < n;) {
                ssize_t w = write(atomic_load(&df__log_out), line + off, n - off);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w <= 0)
                        break;
                off += (size_t)w;
        }
}

void df__log_ctx(int level, const df__log_fields_t *f, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        df__log_vctx(level, f, fmt, ap);
        va_end(ap);
}

void df__log(int level, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        df__log_vctx(level, NULL, fmt, ap);
        va_end(ap);
}
