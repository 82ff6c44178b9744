/*
 * duraflow/console.h -- the console: an indexed read side of the duraflow
 * topics, an HTTP JSON API and a web page, in one object that can run inside
 * any process (the order demo runs it next to its workers in embedded mode).
 *
 * A console follows <prefix>.state and <prefix>.dlq with read_committed
 * (partitions assigned explicitly, no consumer group: several consoles may
 * run, each reads everything) into its own RocksDB index under
 * "console.state.dir" (default <state.dir>/console-<worker.id>): the
 * execution and operation records as the workers wrote them, every version
 * of each operation (its attempts), secondary indexes by status, workflow,
 * outcome, start and end time and what the execution waits on, and the DLQ
 * records.  The consumed offsets are written in the same RocksDB write batch
 * as the index changes, so a restart resumes where it stopped; an index
 * whose offsets the topics no longer match (a topic recreated) is dropped
 * and rebuilt from the topics.
 *
 * It serves, on "console.listen" (default 127.0.0.1:7070; port 0 = any free
 * port), the API under /api/v1/ and the page at /.  It never writes
 * execution state: its actions (start, stop, complete a callback) go through
 * the client API (df_client_*), and only with the bearer token of
 * "console.token"; without a token configured it is read-only.  The API and
 * the page are described in the README ("The console").
 *
 * Every _new has a _destroy; _destroy(NULL) is a no-op.
 */
#ifndef DURAFLOW_CONSOLE_H
#define DURAFLOW_CONSOLE_H

#include <stdint.h>

#include "duraflow/conf.h"
#include "duraflow/error.h"

#include "duraflow/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct df_console df_console_t;

/**
 * Create a console: opens (or creates) its index, binds the HTTP server on
 * "console.listen" and starts serving at once (the index may still be
 * catching up: /api/v1/status tells its lag).  conf is copied.  Does not
 * create topics: until <prefix>.state exists the console waits for it.
 * Returns NULL with errstr set on failure (a listen address that cannot be
 * bound, an index that cannot be opened, a bad console.* property).
 */
DF_EXPORT df_console_t *df_console_new(const df_conf_t *conf, char *errstr, size_t errstr_size);

/**
 * Follow the topics into the index until df_console_stop().  The HTTP server
 * runs on its own threads from df_console_new() to df_console_destroy().
 * Returns DF_OK after a stop, or the fatal error (DF_ERR_STORE when the
 * index cannot be written).
 */
DF_EXPORT df_err_t df_console_run(df_console_t *c);

/** Ask df_console_run to return.  Thread- and async-signal-safe. */
DF_EXPORT void df_console_stop(df_console_t *c);

/** The server's base URL, "http://127.0.0.1:PORT" (the bound port when
 * console.listen asked for port 0).  Owned by c, valid until destroy. */
DF_EXPORT const char *df_console_address(const df_console_t *c);

/** Index figures (thread-safe reads). */
typedef struct df_console_stats {
        uint64_t records;     /* state records applied since start */
        uint64_t executions;  /* executions in the index */
        uint64_t dlq;         /* DLQ records in the index */
        uint64_t undecodable; /* records that could not be decoded (kept visible, not applied) */
        int64_t lag;          /* records behind the topics' ends at the last check; -1 = unknown */
        int caught_up;        /* 1 once every partition was read to its end since start */
} df_console_stats_t;
DF_EXPORT void df_console_get_stats(df_console_t *c, df_console_stats_t *out);

/** Stops the server and closes the index.  Call after df_console_run has
 * returned (or when it never ran). */
DF_EXPORT void df_console_destroy(df_console_t *c);

#ifdef __cplusplus
}
#endif
#endif /* DURAFLOW_CONSOLE_H */
