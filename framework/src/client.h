/*
 * client.h -- the control client's handle, shared by the files that make
 * up the client API (internal): client.c (control, typed reads, results),
 * timer_client.c (the timer API), inspect.c (the public views of records),
 * schedule_client.c (the calls on schedules).
 */
#ifndef DF_CLIENT_H
#define DF_CLIENT_H

#include <pthread.h>

#include "duraflow/runtime.h"
#include "kafka.h"

struct df_client {
        df_conf_t *conf;
        df__topics_t t;
        rd_kafka_t *producer;
        rd_kafka_t *reader; /* results replies */
        pthread_mutex_t lock;
        int timeout_ms;
        int reader_ready;
        int failed;                    /* deliveries that failed since the last flush (atomic) */
        rd_kafka_resp_err_t last_err;
        /* timer_client.c: target topics seen to exist (names, "\n"-separated
         * in one buffer), under lock */
        char *known_topics;
        size_t known_len;
        /* producers replaced after a fatal error: kept until the client is
         * destroyed (another thread may still hold the pointer) */
        rd_kafka_t *retired[8];
        int n_retired;
};

/** Under c->lock: when the idempotent producer failed fatally (librdkafka
 * 2.0 after a leader change: "out of order sequence number ... sequence
 * desynchronization"), replace it with a new one; what the old one still
 * held is purged and counts as not delivered, so the next flush reports
 * DF_ERR_KAFKA and the caller sends it again (starts are idempotent).  At
 * most 8 times in a client's life. */
void df__client_recover(df_client_t *c);

/** Flush the producer (up to timeout_ms), then DF_OK when every message
 * since the last flush was delivered; DF_ERR_DEADLINE (still in flight) or
 * DF_ERR_KAFKA (some were not delivered: errstr says how many and why). */
df_err_t df__client_flush(df_client_t *c, int timeout_ms, char *errstr, size_t errstr_size);

/** The checks of a start's arguments, as df_client_start states them
 * (client.c; also df_record_encode_start's): input NULL with a length,
 * execution id, workflow name, input size; errstr "<what>: ...". */
df_err_t df__start_args_check(const char *what, const char *workflow, const char *execution_id, const void *input,
                              size_t len, char *errstr, size_t errstr_size);

/** A START event of workflow for execution_id with input (pointers into
 * the arguments, request id "", no timestamp yet). */
void df__start_event(df__event_t *ev, const char *workflow, const char *execution_id, const void *input, size_t len);

/* ---- for schedule_client.c (the client's calls on schedules) ---- */

/** Produce ev to <prefix>.events keyed by its execution id; with wait, flush
 * and wait for the worker's reply (its code; errstr its message, also on
 * DF_OK).  ev->request_id and ev->ts_ms are set here. */
df_err_t df__client_send(df_client_t *c, df__event_t *ev, int wait, char *errstr, size_t errstr_size);

/** Called for each record of a scan, one at a time; 0 to go on, -1 to stop
 * (errstr set). */
typedef int (*df__client_scan_fn)(const rd_kafka_message_t *m, void *opaque, char *errstr, size_t errstr_size);

/** Read partitions parts[0..n) of <prefix>.state from their beginning to
 * their end (read_committed) with a reader of its own, calling fn for each
 * record.  DF_OK, DF_ERR_KAFKA, DF_ERR_CONF, or fail_rc when fn stopped it. */
df_err_t df__client_scan(df_client_t *c, const int32_t *parts, int n, df__client_scan_fn fn, void *opaque,
                         df_err_t fail_rc, char *errstr, size_t errstr_size);

/* ---- the public views of records (inspect.c) ---- */

/** An execution record decoded, and the public view of it (what a
 * df_exec_info_t points to; df_exec_info_destroy frees it). */
struct df__exec_info {
        df_exec_info_t pub; /* first: df_exec_info_destroy casts back */
        df__exec_rec_t rec;
};

/** Point pub's fields into rec (strings never NULL). */
void df__exec_pub(df_exec_info_t *pub, const df__exec_rec_t *rec);
/** Point pub's fields into rec (strings never NULL). */
void df__op_pub(df_op_info_t *pub, const df__op_rec_t *rec);

#endif
