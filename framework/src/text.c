/*
 * text.c -- text fit for a terminal, and the checks of the text arguments
 * the public API takes (execution ids, workflow names, messages).
 *
 * Escaping (df_text_escape): valid UTF-8 passes through except what can
 * move the cursor, recolour or rewrite what a terminal shows, or reorder
 * it: C0 controls (with CR, LF, TAB, ESC) and DEL as \xNN, C1 controls
 * (U+0080..U+009F), the bidi controls U+061C, U+200E, U+200F,
 * U+202A..U+202E, U+2066..U+2069 and the line/paragraph separators
 * U+2028, U+2029 as \uNNNN; each byte of an invalid UTF-8 sequence as \xNN.
 * A backslash is not escaped: the output is safe, not reversible (the
 * --json output of the CLI is the exact form).
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "schedule.h"
#include "text.h"

/* Length of the valid UTF-8 sequence at p (n bytes left) and its code
 * point in *cp; 0 when the sequence is invalid (RFC 3629, as utf8.c). */
static size_t df__utf8_next(const unsigned char *p, size_t n, unsigned *cp)
{
        unsigned c = p[0], lo = 0x80, hi = 0xBF;
        size_t len, k;

        if (c < 0x80) {
                *cp = c;
                return 1;
        }
        if (c >= 0xC2 && c <= 0xDF) {
                len = 2;
                *cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
                len = 3;
                *cp = c & 0x0F;
                if (c == 0xE0)
                        lo = 0xA0;
                else if (c == 0xED)
                        hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
                len = 4;
                *cp = c & 0x07;
                if (c == 0xF0)
                        lo = 0x90;
                else if (c == 0xF4)
                        hi = 0x8F;
        } else {
                return 0;
        }
        if (n < len || p[1] < lo || p[1] > hi)
                return 0;
        *cp = (*cp << 6) | (p[1] & 0x3F);
        for (k = 2; k < len; k++) {
                if (p[k] < 0x80 || p[k] > 0xBF)
                        return 0;
                *cp = (*cp << 6) | (p[k] & 0x3F);
        }
        return len;
}

static int df__escaped_cp(unsigned cp)
{
        return (cp >= 0x80 && cp <= 0x9F) || cp == 0x061C || cp == 0x200E || cp == 0x200F ||
               (cp >= 0x2028 && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

size_t df_text_escape(char *dst, size_t dst_size, const void *src, size_t len)
{
        const unsigned char *p = src;
        size_t i = 0, total = 0, written = 0;
        int full = 0;

        if (!p)
                len = 0;
        while (i < len) {
                char unit[16];
                const char *u = unit;
                size_t ulen;
                unsigned cp = 0;
                size_t n = df__utf8_next(p + i, len - i, &cp);
                if (n == 0 || cp < 0x20 || cp == 0x7F) {
                        snprintf(unit, sizeof(unit), "\\x%02X", p[i]);
                        ulen = 4;
                        n = 1;
                } else if (df__escaped_cp(cp)) {
                        snprintf(unit, sizeof(unit), "\\u%04X", cp);
                        ulen = 6;
                } else {
                        u = (const char *)p + i;
                        ulen = n;
                }
                i += n;
                /* whole units only: never half an escape or a character */
                if (!full && written + ulen < dst_size) {
                        memcpy(dst + written, u, ulen);
                        written += ulen;
                } else {
                        full = 1;
                }
                total += ulen;
        }
        if (dst_size)
                dst[written] = '\0';
        return total;
}

const char *df__quote(char *buf, size_t size, const char *s)
{
        size_t n;
        if (!size)
                return buf;
        if (!s)
                s = "";
        n = df_text_escape(buf, size, s, strlen(s));
        if (n >= size && size > 4) {
                /* cut back at a unit boundary to leave room for "..." */
                df_text_escape(buf, size - 3, s, strlen(s));
                strcat(buf, "...");
        }
        return buf;
}

df_err_t df_text_check(const char *field, const char *text, size_t max, char *errstr, size_t errstr_size)
{
        size_t n;
        if (!field)
                field = "text";
        if (!text)
                return DF_OK;
        n = strlen(text);
        if (n > max) {
                df__errf(errstr, errstr_size, "%s is %zu bytes, over the limit of %zu", field, n, max);
                return DF_ERR_INVALID_ARG;
        }
        if (!df__utf8_valid(text, n)) {
                char q[100];
                df__errf(errstr, errstr_size, "%s \"%s\" is not valid UTF-8", field, df__quote(q, sizeof(q), text));
                return DF_ERR_INVALID_ARG;
        }
        return DF_OK;
}

df_err_t df__text_check(const char *what, const char *field, const char *s, size_t max, char *errstr,
                        size_t errstr_size)
{
        char e[300];
        df_err_t rc = df_text_check(field, s, max, e, sizeof(e));
        if (rc != DF_OK)
                df__errf(errstr, errstr_size, "%s: %s", what, e);
        return rc;
}

df_err_t df_execution_id_check(const char *id, char *errstr, size_t errstr_size)
{
        char q[100];
        if (df__execution_id_valid(id) && strncmp(id, DF__SCHEDULE_PREFIX, DF__SCHEDULE_PREFIX_LEN))
                return DF_OK;
        if (df__execution_id_valid(id)) {
                df__errf(errstr, errstr_size,
                         "execution id \"%s\" is invalid: ids starting with \"" DF__SCHEDULE_PREFIX
                         "\" are the keys of schedules (duraflow schedule ...)",
                         df__quote(q, sizeof(q), id));
                return DF_ERR_INVALID_ARG;
        }
        df__errf(errstr, errstr_size,
                 "execution id \"%s\" is invalid: it must be 1..%d characters of A-Z a-z 0-9 . _ : @ -",
                 df__quote(q, sizeof(q), id), DF_EXECUTION_ID_MAX);
        return DF_ERR_INVALID_ARG;
}

df_err_t df__printable_check(const char *field, const char *s, size_t max, char *errstr, size_t errstr_size)
{
        const unsigned char *p = (const unsigned char *)s;
        char q[100];
        size_t n, i = 0;

        if (!s || !*s) {
                df__errf(errstr, errstr_size, "%s is empty: it must be 1..%zu bytes of UTF-8 text", field, max);
                return DF_ERR_INVALID_ARG;
        }
        n = strlen(s);
        if (n > max) {
                df__errf(errstr, errstr_size, "%s \"%s\" is %zu bytes, over the limit of %zu", field,
                         df__quote(q, sizeof(q), s), n, max);
                return DF_ERR_INVALID_ARG;
        }
        while (i < n) {
                unsigned cp;
                size_t k = df__utf8_next(p + i, n - i, &cp);
                if (!k) {
                        df__errf(errstr, errstr_size, "%s \"%s\" is not valid UTF-8", field, df__quote(q, sizeof(q), s));
                        return DF_ERR_INVALID_ARG;
                }
                if (cp < 0x20 || cp == 0x7F || df__escaped_cp(cp)) {
                        df__errf(errstr, errstr_size,
                                 "%s \"%s\" contains a control character (U+%04X): it must be printable text", field,
                                 df__quote(q, sizeof(q), s), cp);
                        return DF_ERR_INVALID_ARG;
                }
                i += k;
        }
        return DF_OK;
}

df_err_t df_workflow_name_check(const char *name, char *errstr, size_t errstr_size)
{
        return df__printable_check("workflow name", name, DF_WORKFLOW_NAME_MAX, errstr, errstr_size);
}

df_err_t df_timer_id_check(const char *id, char *errstr, size_t errstr_size)
{
        char q[100];
        df_err_t rc = df__printable_check("timer id", id, DF_TIMER_ID_MAX, errstr, errstr_size);
        if (rc == DF_OK && strchr(id, '/')) {
                df__errf(errstr, errstr_size,
                         "timer id \"%s\" contains '/': ids with '/' are the workers' own timers", df__quote(q, sizeof(q), id));
                rc = DF_ERR_INVALID_ARG;
        }
        return rc;
}

df_err_t df__topic_name_check(const char *field, const char *name, char *errstr, size_t errstr_size)
{
        char q[100];
        size_t n, i;

        if (!name || !*name) {
                df__errf(errstr, errstr_size, "%s is empty: it must be 1..%d characters of A-Z a-z 0-9 . _ -", field,
                         DF_TOPIC_NAME_MAX);
                return DF_ERR_INVALID_ARG;
        }
        n = strlen(name);
        for (i = 0; i < n; i++) {
                char ch = name[i];
                if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' ||
                      ch == '_' || ch == '-'))
                        break;
        }
        if (n > DF_TOPIC_NAME_MAX || i < n || !strcmp(name, ".") || !strcmp(name, "..")) {
                df__errf(errstr, errstr_size,
                         "%s \"%s\" is not a Kafka topic name: it must be 1..%d characters of A-Z a-z 0-9 . _ -, "
                         "not \".\" or \"..\"",
                         field, df__quote(q, sizeof(q), name), DF_TOPIC_NAME_MAX);
                return DF_ERR_INVALID_ARG;
        }
        return DF_OK;
}
