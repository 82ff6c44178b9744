/*
 * log.h -- logging: text lines for a terminal, or JSON lines (one object a
 * line, jansson) for a log pipeline (log.format = text | json), on stderr.
 *
 * A line has a time (RFC 3339, UTC, milliseconds), a level, a message and,
 * when the line is about an execution, the fields that correlate it across
 * workers, resumes and programs: execution_id, workflow, op_id, attempt,
 * trace_id, worker_id (df__log_fields_t; worker_id defaults to the
 * process's, df__log_set_worker_id).  df__log is df__log_ctx with no
 * fields.
 *
 *   text  12:00:00.123 INFO message execution_id=o-1 op_id=3 attempt=2 ...
 *         (control and bidirectional-override characters of the message and
 *         the fields are written as \xNN / \u{NNNN}, so a line can neither
 *         move the cursor nor reorder what the terminal shows)
 *   json  {"ts":"2026-01-01T12:00:00.123Z","level":"info","msg":"message",
 *          "execution_id":"o-1","op_id":"3","attempt":2,...}
 *         (text that is not valid UTF-8 is repaired: each bad byte becomes
 *         U+FFFD; non-ASCII is written as \uXXXX escapes)
 *
 * Each line is written with one write(2) of at most DF__LOG_LINE_MAX bytes
 * (a longer message is cut and ends with "..."), so lines of several threads
 * never interleave.  Thread-safe.  The level and format are process-wide.
 */
#ifndef DF_LOG_H
#define DF_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "duraflow/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DF__LOG_LINE_MAX 4096

enum { DF__LOG_ERROR = 0, DF__LOG_WARN = 1, DF__LOG_INFO = 2, DF__LOG_DEBUG = 3 };
/** The process's level: lines above it are not written. */
extern int df__log_level;
/** One line at level with no fields (df__log_ctx(level, NULL, ...)). */
void df__log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

typedef enum df__log_format { DF__LOG_TEXT = 0, DF__LOG_JSON = 1 } df__log_format_t;

/** What a line is about; every field may be NULL (or attempt 0): left out. */
typedef struct df__log_fields {
        const char *execution_id;
        const char *workflow;
        const char *op_id;
        int attempt;
        const char *trace_id; /* 32 lowercase hex characters */
        const char *worker_id;
} df__log_fields_t;

/** "text" or "json" into *out (may be NULL: only check); DF_ERR_CONF with a
 * message naming log.format otherwise. */
df_err_t df__log_format_parse(const char *format, df__log_format_t *out, char *errstr, size_t errstr_size);
/** Parse and make it the process's format. */
df_err_t df__log_set_format(const char *format, char *errstr, size_t errstr_size);
df__log_format_t df__log_get_format(void);
/** The worker id written on every line that does not name one (copied;
 * NULL clears it). */
void df__log_set_worker_id(const char *worker_id);
/** Where lines go (default 2, stderr); for tests. */
void df__log_set_fd(int fd);

/** One line at level (DF__LOG_ERROR .. DF__LOG_DEBUG) with the
 * fields f (may be NULL), if level is enabled. */
void df__log_ctx(int level, const df__log_fields_t *f, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void df__log_vctx(int level, const df__log_fields_t *f, const char *fmt, va_list ap);

/**
 * The fields of what the calling thread works on from now on (an
 * execution being applied: the engine sets it around each apply and each
 * branch lane), or NULL: a line written by this thread without fields gets
 * them, and a line about the same execution gets those it lacks (trace id,
 * workflow, operation and attempt).  f must stay valid until replaced.
 * Returns the previous scope (to restore).  Per thread; no lock.
 */
const df__log_fields_t *df__log_scope_set(const df__log_fields_t *f);

/**
 * Format one line into buf (NUL-terminated, no newline), without writing
 * it: what df__log_ctx writes.  ts_ms is the time (UTC ms since the
 * epoch).  Returns the length.
 */
size_t df__log_format_line(char *buf, size_t size, df__log_format_t format, int level, int64_t ts_ms,
                           const df__log_fields_t *f, const char *msg);

/* ---- text helpers, shared with the tracer ---- */

/** A copy of the first n bytes of s, at most max bytes long (cut at a
 * character boundary), every byte that is not part of valid UTF-8 (and every
 * NUL) replaced by U+FFFD.  malloc'd; NULL on ENOMEM. */
char *df__utf8_repair(const char *s, size_t n, size_t max);

/** s for a terminal: printable ASCII and valid UTF-8 as is, except control
 * characters (C0, DEL, C1) as \xNN and the bidirectional controls
 * U+061C, U+200E, U+200F, U+202A..U+202E, U+2066..U+2069 as \u{NNNN}; a
 * byte that is not valid UTF-8 as \xNN.  Into out (NUL-terminated, cut to
 * fit); returns the length written. */
size_t df__term_escape(const char *s, char *out, size_t out_size);

#ifdef __cplusplus
}
#endif
#endif /* DF_LOG_H */
