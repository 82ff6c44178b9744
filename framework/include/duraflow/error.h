/*
 * duraflow/error.h -- error codes.
 *
 * One table (DF_ERRORS) yields the enum, df_strerror() and df_err_name(),
 * in the manner of libuv's UV_ERRNO_MAP.  DF_OK is 0; every other value is
 * positive.  DF_SUSPENDED is not a failure: it tells a workflow handler that
 * the execution is now suspended (waiting for a timer or a callback) and that
 * it must return DF_SUSPENDED at once.
 */
#ifndef DURAFLOW_ERROR_H
#define DURAFLOW_ERROR_H

#include "duraflow/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* X(name, retriable, text) */
#define DF_ERRORS(X)                                                                    \
        X(OK, 0, "success")                                                             \
        X(SUSPENDED, 0, "execution suspended: return DF_SUSPENDED from the handler")    \
        X(INVALID_ARG, 0, "invalid argument")                                          \
        X(NOMEM, 1, "out of memory")                                                    \
        X(CONF, 0, "invalid configuration")                                             \
        X(NOT_FOUND, 0, "not found")                                                    \
        X(CONFLICT, 0, "conflict: execution exists with a different workflow or input") \
        X(NONDETERMINISM, 0, "non-determinism: replayed code differs from the history") \
        X(STEP_FAILED, 0, "step failed")                                                \
        X(STEP_INTERRUPTED, 1, "step interrupted (at-most-once step started, no result)") \
        X(CALLBACK_FAILED, 0, "callback completed with a failure")                      \
        X(TIMED_OUT, 0, "timed out (a callback or an execution: a workflow outcome)")   \
        X(UNKNOWN_CALLBACK, 0, "unknown or forged callback id")                         \
        X(FINISHED, 0, "already finished")                                              \
        X(STOPPED, 0, "execution stopped")                                              \
        X(PAYLOAD_TOO_LARGE, 0, "payload over the size limit")                          \
        X(CODEC, 0, "record could not be encoded or decoded")                           \
        X(KAFKA, 1, "Kafka error")                                                      \
        X(FENCED, 0, "fenced: another instance owns this work")                         \
        X(STORE, 1, "state store (RocksDB) error")                                      \
        X(DEADLINE, 1, "deadline exceeded: no reply or acknowledgement in time")          \
        X(STATE, 0, "invalid state for this call")                                      \
        X(UNKNOWN_WORKFLOW, 0, "no workflow registered under that name")              \
        X(REJECTED, 0, "rejected: the worker could not process the request (dead-lettered)") \
        X(CHILD_FAILED, 0, "child context failed")                                      \
        X(INVOKE_FAILED, 0, "invoked child execution did not succeed")                   \
        X(CONDITION_NOT_MET, 0, "wait_for_condition: condition not met within its attempts") \
        X(HISTORY_LIMIT, 0, "execution history limit reached (history.max.operations / history.max.bytes)")

typedef enum df_err {
#define DF__ERR_ENUM(name, retriable, text) DF_ERR_##name,
        DF_ERRORS(DF__ERR_ENUM)
#undef DF__ERR_ENUM
        DF_ERR__COUNT
} df_err_t;

#define DF_OK DF_ERR_OK
#define DF_SUSPENDED DF_ERR_SUSPENDED

/** Human text of an error; a static string, never NULL. */
DF_EXPORT const char *df_strerror(df_err_t err);
/** Symbolic name ("DF_ERR_CONFLICT"); a static string, never NULL. */
DF_EXPORT const char *df_err_name(df_err_t err);
/** 1 if retrying the same call later may succeed (Kafka, store, timeout, NOMEM). */
DF_EXPORT int df_err_is_retriable(df_err_t err);

#ifdef __cplusplus
}
#endif
#endif /* DURAFLOW_ERROR_H */
