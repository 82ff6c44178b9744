/*
 * console_int.h -- internals of the console (not installed): the index
 * store and its queries (console_index.c), the follower of the topics
 * (console_follow.c), the HTTP API (console_http.c), the embedded page
 * (generated console_assets.c) and the object gluing them (console.c).
 *
 * Index layout (one RocksDB; every key starts with a one-byte tag):
 *   'P' exec                         -> Execution record (Avro, as the worker wrote it)
 *   'P' exec 00 opsort               -> Operation record (Avro), the latest version
 *                                       (an execution's records side by side: one seek
 *                                       reads them all; 00 sorts before any id byte)
 *   'H' exec 00 opsort FFFFFFFF off8 -> Operation record (Avro), each version that changed
 *                                       status, attempt, error, result or due time (its
 *                                       attempts); off8 = the record's offset in <p>.state
 *   'A' created8 exec                -> ""   every execution by start time
 *   'S' status1 created8 exec        -> ""   by status
 *   'W' workflow 00 created8 exec    -> ""   by workflow
 *   'O' outcome 00 created8 exec     -> ""   by outcome (a string field of the JSON output)
 *   'K' kind1 created8 exec          -> ""   by what it waits on
 *   'E' ended8 exec                  -> ""   finished executions by end time
 *   'V' exec 00 kind1 due8 opsort    -> ""   what it waits on now (one per waiting operation)
 *   'Q' ts8 part4 off8               -> DeadLetter record (Avro) read from <p>.dlq
 *   'Z' part4 off8                   -> DeadLetter record (Avro) of a <p>.state record the
 *                                       console could not decode (kept visible)
 *   '#' name                         -> int64 LE: counters "A", "S:<status>", "W:<wf>",
 *                                       "O:<outcome>", "K:<kind>", "Z", "Q"
 *   'm' name                         -> meta: "off/s/<part>", "off/d/<part>" (next offset to
 *                                       read, int64 LE), "prefix", "format" (DF__CIDX_FORMAT)
 * created8, ended8, due8, ts8, off8: big-endian uint64 (negative times as 0);
 * part4: big-endian uint32; opsort: each dot-separated component of the op
 * id as a big-endian uint32 ("3.1" -> 00000003 00000001).
 *
 * Secondary keys ('A' 'S' 'W' 'O' 'K' 'E' 'V') are a pure function of an
 * execution's records: an ingest batch computes the set before and after
 * and writes the difference, the counters and the offsets in one write
 * batch.
 */
#ifndef DF_CONSOLE_INT_H
#define DF_CONSOLE_INT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "internal.h"

/* ---- what an execution waits on ---- */
#define DF__CW_TIMER 't'    /* a df_wait: due at T */
#define DF__CW_RETRY 'r'    /* a step's retry backoff until T, with the last error */
#define DF__CW_CALLBACK 'c' /* a callback, with its timeout */
#define DF__CW_RUNNING 's'  /* a step about to run or running (at-most-once START) */
#define DF__CW_CHILD 'h'    /* an invoked execution, or a child context / parallel / map with nothing
                             * inside it waiting (what waits inside shows instead) */
#define DF__CW_NONDET 'n'   /* NONDETERMINISM: waits for fixed code */
#define DF__CW_PAUSED 'p'   /* PAUSED (control actions) */
#define DF__CW_QUARANTINED 'q' /* QUARANTINED: kept killing workers; waits for an operator's resume */
#define DF__CW_VERSION 'v'  /* VERSION_MISSING: waits for a worker that has its workflow version */
#define DF__CW_OTHER 'x'    /* a status this console does not know */

/** The index's format: an index of another format is dropped and rebuilt
 * from the topics (its secondary keys were derived by other rules).
 * 2: VERSION_MISSING is a waiting kind; a context waits only when nothing
 * inside it does; wait_for_condition waits on a timer.
 * 3: the Execution record under 'P' exec (was 'X' exec). */
#define DF__CIDX_FORMAT "3"
/** Tag of an execution's Execution record ('P' exec) and operations ('P' exec 00 opsort). */
#define DF__CK_EXEC 'P'

const char *df__cw_name(int kind);
/** Kind from its name ("timer", "retry", ...); -1 if unknown. */
int df__cw_parse(const char *name);

/* ---- the index ---- */
typedef struct df__cidx df__cidx_t;

/** Open (create) the index at path.  outcome_field: the JSON output field
 * indexed as the outcome ("" = none).  NULL with errstr on failure. */
df__cidx_t *df__cidx_open(const char *path, const char *outcome_field, char *errstr, size_t errstr_size);
void df__cidx_close(df__cidx_t *ix);
/** Drop everything (index rebuilt from the topics). 0 or -1. */
int df__cidx_wipe(df__cidx_t *ix, char *errstr, size_t errstr_size);

/** Meta values: a string ("" when absent, malloc'd) and offsets. */
char *df__cidx_meta_get(df__cidx_t *ix, const char *name);
int df__cidx_meta_put(df__cidx_t *ix, const char *name, const char *value);
/** Next offset to read of <p>.state ('s') or <p>.dlq ('d') partition part; -1 when none stored. */
int64_t df__cidx_offset(df__cidx_t *ix, char topic, int32_t part);
/** Counter value (0 when absent). */
int64_t df__cidx_counter(df__cidx_t *ix, const char *name);

/* Ingest: records go into a batch, applied in one RocksDB write batch
 * together with the offsets.  A batch belongs to one thread; several
 * threads may each fill and commit their own batches at once, provided no
 * two of them take records of the same partition (an execution's records
 * are on one partition, so no two batches touch one execution); commits
 * are serialized inside (the counters).  A wipe only while no batch
 * holds records. */
typedef struct df__cbatch df__cbatch_t;
df__cbatch_t *df__cbatch_new(df__cidx_t *ix);
void df__cbatch_destroy(df__cbatch_t *b);
/** A <p>.state record at (part, off); val NULL = tombstone.  0, or -1 on a
 * store error (an undecodable record is kept as a 'Z' entry, not an error). */
int df__cbatch_state(df__cbatch_t *b, const void *key, size_t klen, const void *val, size_t vlen, int32_t part,
                     int64_t off);
/** A <p>.dlq record. */
int df__cbatch_dlq(df__cbatch_t *b, const void *key, size_t klen, const void *val, size_t vlen, int32_t part,
                   int64_t off, int64_t ts_ms);
/** Next offset to read after this batch. */
void df__cbatch_offset(df__cbatch_t *b, char topic, int32_t part, int64_t next);
/** Number of records added since the last commit. */
size_t df__cbatch_size(const df__cbatch_t *b);
/** Write everything in one write batch, then reset the batch. 0 or -1. */
int df__cbatch_commit(df__cbatch_t *b, char *errstr, size_t errstr_size);

/* Queries (any thread).  Results are jansson objects owned by the caller. */
typedef struct df__cquery {
        int status;           /* -1 = any */
        const char *workflow; /* NULL = any */
        const char *outcome;  /* NULL = any */
        int waiting;          /* DF__CW_* or -1 */
        int version;          /* workflow version, 0 = any */
        int64_t started_after, started_before; /* ms, inclusive; INT64_MIN / INT64_MAX = open */
        const char *q;        /* substring of the execution id, NULL = any */
        int limit;            /* 1..500 */
        int ascending;        /* 0: newest first */
        const void *cursor;   /* decoded cursor (an index key), NULL = first page */
        size_t cursor_len;
        size_t scan_budget;   /* most index entries looked at */
} df__cquery_t;

/** List: {"items": [summary...], "next_cursor": "..."|null, "scanned": N,
 * "partial": bool}.  NULL with errstr on a bad cursor (*http = 400) or a
 * store error (*http = 500). */
json_t *df__cidx_list(df__cidx_t *ix, const df__cquery_t *q, int *http, char *errstr, size_t errstr_size);
/** Counters: {"total", "status": {...}, "outcome": {...}, "waiting": {...}, "workflow": {...}}. */
json_t *df__cidx_counts(df__cidx_t *ix);

/** Options of the renderings. */
typedef struct df__crender {
        size_t payload_max;  /* bytes rendered inline, the rest on request */
        int show_callbacks;  /* callback ids (capabilities) are included */
} df__crender_t;

/** One execution with its history; NULL when unknown (*http 404) or on a
 * store error (*http 500). */
json_t *df__cidx_describe(df__cidx_t *ix, const char *execution_id, const df__crender_t *r, int *http);
/** Full bytes of a payload: which = "input", "output", "op/<op id>/result".
 * 0 with *out malloc'd, -1 unknown (404). */
int df__cidx_payload(df__cidx_t *ix, const char *execution_id, const char *which, df__buf_t *out);
/** The callback id of a pending callback operation (for actions); 0, or -1
 * with errstr (unknown execution / operation, not a pending callback). */
int df__cidx_callback_id(df__cidx_t *ix, const char *execution_id, const char *op_id, char **callback_id,
                         char *errstr, size_t errstr_size);
/** DLQ records (and the records the console could not decode), newest first. */
json_t *df__cidx_dlq(df__cidx_t *ix, int limit, const df__crender_t *r);

/** Safe rendering of bytes: {"size", "encoding": "utf8"|"base64", "text", "truncated"}. */
json_t *df__cpayload_json(const void *data, size_t len, size_t max);
/** base64 / base64url (no padding when url); malloc'd. */
char *df__b64(const void *data, size_t len, int url);
/** Decode base64url (no padding); -1 on bad input. */
int df__b64url_decode(const char *s, df__buf_t *out);
/** The same for an input of at most max_chars characters (df__b64url_decode: 8,192, a cursor's). */
int df__b64url_decode_max(const char *s, size_t max_chars, df__buf_t *out);

/* ---- the embedded page (generated from framework/console/) ---- */
typedef struct df__casset {
        const char *path; /* "/index.html", "/app.js", ... */
        const char *content_type;
        const unsigned char *data;
        size_t len;
} df__casset_t;
extern const df__casset_t df__console_assets[];
extern const size_t df__console_asset_count;

/* ---- the HTTP server ---- */
typedef struct df__chttp df__chttp_t;
struct df_console;
/** Bind and serve.  NULL with errstr. */
df__chttp_t *df__chttp_start(struct df_console *c, const char *listen, char *url, size_t url_size, char *errstr,
                             size_t errstr_size);
void df__chttp_stop(df__chttp_t *h);

/* ---- the console object (console.c), for the HTTP layer ---- */
df__cidx_t *df__console_index(struct df_console *c);
const df_conf_t *df__console_conf(struct df_console *c);
/** Status object for /api/v1/status. */
json_t *df__console_status_json(struct df_console *c);
/** Token check: 1 and *token_id set (static, owned by c) when header is
 * "Bearer <a configured token>"; 0 when absent; -1 when wrong. */
int df__console_auth(struct df_console *c, const char *authorization, const char **token_id);
/** 1 when console.token is set (actions possible). */
int df__console_actions_enabled(struct df_console *c);
/** The action client (opened on first use); NULL with errstr. */
df_client_t *df__console_client(struct df_console *c, char *errstr, size_t errstr_size);

#endif /* DF_CONSOLE_INT_H */
