/*
 * trace.h -- W3C trace context, deterministic span ids, the span model and
 * the OTLP/HTTP (JSON) exporter.
 *
 * Trace context: a `traceparent` as the W3C Trace Context recommendation
 * (level 1) defines it: "VV-TTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTT-PPPPPPPPPPPPPPPP-FF",
 * lowercase hex, version 00 (later versions are read as 00 for their first
 * four fields, as the recommendation asks), trace id and parent id not all
 * zero, version ff invalid.  Leading and trailing spaces and tabs (HTTP's
 * OWS) are ignored.
 *
 * Span ids: a replay must never produce a second span for the same thing,
 * so the span ids of an execution are a function of (trace id, execution
 * id, operation id, attempt): SipHash-2-4 keyed with the 16 bytes of the
 * trace id over the execution id, the operation id and the attempt number.
 *   execution span  (trace, execution id, "", 0), parent: the start's traceparent's span
 *   operation span  (trace, execution id, op id, 0), parent: the execution span
 *   attempt span    (trace, execution id, op id, attempt >= 1), parent: the operation span
 * A step body's traceparent is its attempt span's (df__trace_attempt_context),
 * so the calls it makes become children of the attempt.
 *
 * Attribute names: OpenTelemetry's messaging semantic conventions for the
 * Kafka side (messaging.system = "kafka", messaging.destination.name,
 * messaging.destination.partition.id, messaging.operation.type,
 * messaging.operation.name, messaging.consumer.group.name,
 * messaging.kafka.offset) and, for the durable side, the names of AWS's
 * durable execution SDK OpenTelemetry plugin (durable.execution.status,
 * durable.operation.id / .type / .name / .subtype / .status,
 * durable.attempt.number / .outcome).  Where that plugin names an execution
 * by its ARN (durable.execution.arn), duraflow has an execution id and a
 * workflow name: durable.execution.id and durable.execution.workflow.
 *
 * Exporter: OTLP over HTTP with the JSON encoding of
 * ExportTraceServiceRequest, POST <endpoint>/v1/traces (libcurl), on a
 * thread of its own.  df__otlp_submit never blocks on the network: it
 * appends to a bounded queue under a mutex held for a few instructions, and
 * drops (and counts) the span when the queue is full.  The thread sends
 * batches of at most batch_max spans when a batch is full or flush_ms after
 * the oldest queued span; a failed request (connection refused, timeout,
 * 429, 502, 503, 504) is retried with exponential backoff (with jitter)
 * from backoff_initial_ms to backoff_max_ms, holding that one batch while
 * the queue keeps its bound; other 4xx/5xx answers drop the batch
 * (counted as rejected).  Memory: at most queue_max + batch_max spans, each
 * at most df__span_max_bytes().
 *
 * Export down (a circuit breaker): after down_after failed requests in a
 * row the exporter is down.  It then drops its queue, refuses every span
 * submitted (counted dropped, reason "backend_down"), and says so to
 * producers of spans through df__otlp_skip, a relaxed atomic load, so that
 * they make none (the engine's span ids are deterministic: a span not made
 * is only missing, never wrong); the batch it holds is kept and sent again
 * as the probe, after the backoff, which goes on doubling up to
 * backoff_max_ms.  The first request that gets an answer (accepted or
 * rejected: the collector is there) brings it up again: spans are made and
 * exported from then on, at most backoff_max_ms (plus one request) after
 * the collector came back.  One log line (warning) when export goes down,
 * one (info) when it is up again, none per failed request; the gauge
 * duraflow_otlp_export_down counts the exporters of the process that are
 * down.
 */
#ifndef DF_TRACE_H
#define DF_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "duraflow/conf.h"
#include "duraflow/error.h"
#include "metrics.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------- trace context ---------------- */

#define DF__TRACEPARENT_LEN 55 /* "00-" 32 "-" 16 "-" 2 */
#define DF__TRACE_FLAG_SAMPLED 0x01

typedef struct df__traceparent {
        uint8_t version;
        uint8_t trace_id[16];
        uint8_t span_id[8]; /* the parent-id field: the caller's span */
        uint8_t flags;
} df__traceparent_t;

/**
 * Parse a traceparent of len bytes (need not be NUL-terminated).  DF_OK, or
 * DF_ERR_INVALID_ARG with a message naming the field and the rule (e.g.
 * "traceparent: trace-id is all zeros").  *out is untouched on error.
 */
df_err_t df__traceparent_parse(const char *s, size_t len, df__traceparent_t *out, char *errstr, size_t errstr_size);

/** Format as version 00 into out (DF__TRACEPARENT_LEN + 1 bytes, NUL-terminated). */
void df__traceparent_format(const df__traceparent_t *tp, char *out);

/** A new context: random trace id and span id (getrandom), sampled.
 * DF_ERR_STATE if the system has no randomness to give. */
df_err_t df__traceparent_new(df__traceparent_t *out);

/** Lowercase hex of n bytes into out (2n + 1 bytes, NUL-terminated). */
void df__hex(const uint8_t *b, size_t n, char *out);

/**
 * The span id of (trace id, execution id, operation id, attempt): operation
 * id "" and attempt 0 for the execution span, attempt 0 for an operation
 * span, attempt >= 1 for an attempt span.  Never all zeros.  Pure function.
 */
void df__span_id_derive(const uint8_t trace_id[16], const char *execution_id, const char *op_id, int attempt,
                        uint8_t out[8]);

/** The context a step body sees: the start's trace id, the attempt span's
 * id, the start's flags. */
void df__trace_attempt_context(const df__traceparent_t *start, const char *execution_id, const char *op_id,
                               int attempt, df__traceparent_t *out);

/* ---------------- spans ---------------- */

/* OTLP's SpanKind and Status.StatusCode values. */
typedef enum df__span_kind {
        DF__SPAN_INTERNAL = 1,
        DF__SPAN_SERVER = 2,
        DF__SPAN_CLIENT = 3,
        DF__SPAN_PRODUCER = 4,
        DF__SPAN_CONSUMER = 5
} df__span_kind_t;
typedef enum df__span_status { DF__STATUS_UNSET = 0, DF__STATUS_OK = 1, DF__STATUS_ERROR = 2 } df__span_status_t;

#define DF__SPAN_MAX_ATTRS 32    /* more are dropped (counted in droppedAttributesCount) */
#define DF__SPAN_MAX_VALUE 1024  /* bytes of a string value or the status message; longer is cut */
#define DF__SPAN_MAX_NAME 256    /* bytes of a span name */
#define DF__SPAN_MAX_KEY 128     /* bytes of an attribute key */

/* Attribute names (OpenTelemetry semantic conventions; AWS's durable plugin). */
#define DF__ATTR_MESSAGING_SYSTEM "messaging.system"
#define DF__ATTR_MESSAGING_DESTINATION "messaging.destination.name"
#define DF__ATTR_MESSAGING_PARTITION "messaging.destination.partition.id"
#define DF__ATTR_MESSAGING_OPERATION_TYPE "messaging.operation.type"
#define DF__ATTR_MESSAGING_OPERATION_NAME "messaging.operation.name"
#define DF__ATTR_MESSAGING_CONSUMER_GROUP "messaging.consumer.group.name"
#define DF__ATTR_MESSAGING_KAFKA_OFFSET "messaging.kafka.offset"
#define DF__ATTR_MESSAGING_KAFKA_KEY "messaging.kafka.message.key"
#define DF__ATTR_EXECUTION_ID "durable.execution.id"
#define DF__ATTR_EXECUTION_WORKFLOW "durable.execution.workflow"
#define DF__ATTR_EXECUTION_STATUS "durable.execution.status"
#define DF__ATTR_OPERATION_ID "durable.operation.id"
#define DF__ATTR_OPERATION_TYPE "durable.operation.type"
#define DF__ATTR_OPERATION_NAME "durable.operation.name"
#define DF__ATTR_OPERATION_SUBTYPE "durable.operation.subtype"
#define DF__ATTR_OPERATION_STATUS "durable.operation.status"
#define DF__ATTR_ATTEMPT_NUMBER "durable.attempt.number"
#define DF__ATTR_ATTEMPT_OUTCOME "durable.attempt.outcome"

typedef struct df__span df__span_t;

/**
 * A new span.  parent_span_id NULL for a root span.  Times are UTC
 * nanoseconds since the epoch; end defaults to start.  name is cut to
 * DF__SPAN_MAX_NAME bytes; text that is not valid UTF-8 is repaired (each
 * bad byte becomes U+FFFD) here and in every setter below.  NULL on ENOMEM.
 * A span belongs to one thread until it is submitted.
 */
df__span_t *df__span_new(const char *name, df__span_kind_t kind, const uint8_t trace_id[16],
                         const uint8_t span_id[8], const uint8_t *parent_span_id, int64_t start_unix_ns);
void df__span_destroy(df__span_t *span); /* NULL is a no-op */
void df__span_end(df__span_t *span, int64_t end_unix_ns);
void df__span_set_status(df__span_t *span, df__span_status_t code, const char *message);
/** Set an attribute (replacing one of the same key).  0, or -1 when the
 * span already has DF__SPAN_MAX_ATTRS (counted as dropped) or on ENOMEM. */
int df__span_attr_str(df__span_t *span, const char *key, const char *value);
int df__span_attr_int(df__span_t *span, const char *key, int64_t value);
int df__span_attr_bool(df__span_t *span, const char *key, int value);
int df__span_attr_double(df__span_t *span, const char *key, double value);

/* Read access (tests, the exporter). */
const char *df__span_name(const df__span_t *span);
const uint8_t *df__span_id(const df__span_t *span);
const uint8_t *df__span_parent_id(const df__span_t *span); /* NULL for a root span */
const uint8_t *df__span_trace_id(const df__span_t *span);
/** The string form of attribute key ("true"/"false", decimal numbers), or NULL. */
const char *df__span_attr(const df__span_t *span, const char *key, char *buf, size_t buf_size);
/** Bytes this span holds (what the exporter's memory bound counts), and
 * the most any span can hold. */
size_t df__span_bytes(const df__span_t *span);
size_t df__span_max_bytes(void);

/**
 * The spans of a durable execution, with their deterministic ids, parents
 * and attributes (see the top of this file).  start is the traceparent the
 * execution was started with (kept with the execution).  op_type is the
 * operation's type as AWS's plugin spells it (STEP, WAIT, CALLBACK,
 * CONTEXT, CHAINED_INVOKE); op_name the name the workflow code gave.
 */
df__span_t *df__span_execution(const df__traceparent_t *start, const char *execution_id, const char *workflow,
                               int64_t start_unix_ns);
df__span_t *df__span_operation(const df__traceparent_t *start, const char *execution_id, const char *workflow,
                               const char *op_id, const char *op_type, const char *op_name, int64_t start_unix_ns);
df__span_t *df__span_attempt(const df__traceparent_t *start, const char *execution_id, const char *workflow,
                             const char *op_id, const char *op_type, const char *op_name, int attempt,
                             int64_t start_unix_ns);
/** The messaging attributes of a Kafka span: operation_type "send",
 * "receive", "process" (or "settle"); partition < 0 and offset < 0 and
 * NULL strings are left out. */
void df__span_set_messaging(df__span_t *span, const char *operation_type, const char *operation_name,
                            const char *topic, int32_t partition, int64_t offset, const char *consumer_group);

/**
 * The OTLP/JSON ExportTraceServiceRequest for n spans (one resource with
 * service.name and, when not NULL, service.instance.id; one scope
 * "duraflow").  malloc'd, NUL-terminated; NULL on ENOMEM.
 */
char *df__otlp_encode(df__span_t *const *spans, int n, const char *service_name, const char *instance_id,
                      size_t *len);

/* ---------------- exporter ---------------- */

typedef struct df__otlp df__otlp_t;

typedef struct df__otlp_opts {
        const char *endpoint;     /* http[s]://host:port[/path]; "/v1/traces" is appended unless present */
        const char *service_name; /* resource service.name; NULL = "duraflow" */
        const char *instance_id;  /* resource service.instance.id; NULL = none */
        int batch_max;            /* spans per request; 0 = 512 */
        int queue_max;            /* spans waiting; 0 = 2048 */
        int flush_ms;             /* longest wait of a queued span before a request; 0 = 1000 */
        int timeout_ms;           /* one request, connect included; 0 = 5000 */
        int backoff_initial_ms;   /* 0 = 100 */
        int backoff_max_ms;       /* 0 = 30000; also the longest wait between probes while down */
        int down_after;           /* failed requests in a row that take export down; 0 = 3 */
        df__metrics_t *metrics;   /* duraflow_otlp_* counters; NULL = none */
} df__otlp_opts_t;

typedef struct df__otlp_stats {
        uint64_t submitted; /* spans submitted, and spans not made (df__otlp_skip) */
        uint64_t not_made;  /* of those, not made (counted in dropped_full or dropped_down too) */
        uint64_t exported, dropped_full, dropped_rejected, dropped_shutdown;
        uint64_t dropped_down; /* while down: not made, refused, and the queue dropped when it went down */
        uint64_t failures, requests;
        uint64_t downs;   /* times export went down */
        int down;         /* export is down now */
        size_t queued, queued_bytes, held; /* held: spans of the batch being sent or retried */
        size_t max_queued, max_bytes;      /* high-water marks of queued + held */
} df__otlp_stats_t;

/**
 * Validate an OTLP endpoint: http:// or https://, a host, at most 2048
 * bytes, no whitespace or control character.  DF_ERR_CONF with a message
 * naming otlp.endpoint and the rule.
 */
df_err_t df__otlp_endpoint_check(const char *endpoint, char *errstr, size_t errstr_size);

/** Start an exporter (and its thread).  DF_ERR_CONF for a bad endpoint,
 * DF_ERR_NOMEM, DF_ERR_STATE if the thread cannot start. */
df_err_t df__otlp_new(const df__otlp_opts_t *opts, df__otlp_t **out, char *errstr, size_t errstr_size);

/** From the configuration (otlp.endpoint, otlp.batch.max, otlp.queue.max,
 * service.name; instance_id e.g. the worker id).  *out = NULL and DF_OK
 * when otlp.endpoint is empty (tracing off). */
df_err_t df__otlp_new_conf(const df_conf_t *conf, const char *instance_id, df__metrics_t *metrics, df__otlp_t **out,
                           char *errstr, size_t errstr_size);

/**
 * Hand span to the exporter, which owns it from now on (also when it is
 * dropped).  Never blocks on the network; any thread.  0 when queued, -1
 * when dropped (export down, queue full, exporter NULL or shutting down).
 */
int df__otlp_submit(df__otlp_t *exp, df__span_t *span);

/**
 * Before making a span: 1 when a span made now would be dropped, and then
 * it is counted as dropped (not made): export is down (reason
 * "backend_down"), or the last submit found the queue full and the
 * exporter's thread has not taken a batch from it since (the collector is
 * slow or down; reason "queue_full"), or exp is NULL (not counted).  0
 * when a span may be made and submitted.  A hint, lock-free (relaxed
 * atomic loads and adds, no allocation): a few nanoseconds, any thread.
 */
int df__otlp_skip(df__otlp_t *exp);
/** 1 while export is down (see the top of this file), 0 when up or exp is
 * NULL.  Relaxed atomic load, any thread. */
int df__otlp_down(df__otlp_t *exp);

/** Wait until everything queued so far was sent or dropped, at most
 * timeout_ms.  1 when drained, 0 on timeout or at once while export is
 * down (its held batch waits for the probe). */
int df__otlp_flush(df__otlp_t *exp, int timeout_ms);

void df__otlp_stats(df__otlp_t *exp, df__otlp_stats_t *out);

/**
 * Stop: try to send what is queued for at most flush_timeout_ms (a request
 * in flight is aborted at the deadline, within 50 ms), drop the rest (counted as
 * shutdown), join the thread, free.  While export is down it sends nothing
 * and returns at once (within 50 ms of a probe in flight).  NULL is a no-op.
 */
void df__otlp_destroy(df__otlp_t *exp, int flush_timeout_ms);

#ifdef __cplusplus
}
#endif
#endif /* DF_TRACE_H */
