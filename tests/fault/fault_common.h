/*
 * fault_common.h -- helpers shared by the fault-test harness programs
 * (tests/fault/): a string-keyed hash map, clocks, raw Kafka producers and
 * readers of whole topics (read_committed), topic administration.
 *
 * The harness uses the public API only: it reads duraflow's records with
 * the record-inspection API (duraflow/records.h), so that it can see every
 * record of the changelog, not only the compacted view the client shows,
 * and schedules timers with the timer API (duraflow/runtime.h).
 */
#ifndef FAULT_COMMON_H
#define FAULT_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

/* ---- string-keyed hash map (values are caller-owned pointers) ---- */
typedef struct fc_map fc_map_t;
fc_map_t *fc_map_new(void);
void *fc_map_get(const fc_map_t *m, const char *key);
/** Insert or replace; returns the previous value (or NULL). Aborts on ENOMEM. */
void *fc_map_put(fc_map_t *m, const char *key, void *val);
size_t fc_map_size(const fc_map_t *m);
void fc_map_foreach(fc_map_t *m, void (*fn)(const char *key, void *val, void *opaque), void *opaque);
void fc_map_destroy(fc_map_t *m, void (*free_val)(void *));

/* ---- clocks ---- */
int64_t fc_now_ms(void);  /* wall clock, UTC ms */
int64_t fc_mono_ms(void); /* monotonic, ms */

/* ---- Kafka ---- */
/** A conf with bootstrap.servers and every "name=value" of extra (NULL-terminated, may be NULL). */
rd_kafka_conf_t *fc_kconf(const char *brokers, const char *const *extra);
/** A plain (idempotent) producer with the murmur2_random partitioner; exits on failure. */
rd_kafka_t *fc_producer(const char *brokers);
/** Number of partitions of topic, or -1 if it does not exist. */
int fc_partitions(rd_kafka_t *rk, const char *topic, int timeout_ms);

/** Called for every record of a topic read to its end (read_committed). */
typedef void (*fc_record_fn)(const rd_kafka_message_t *m, void *opaque);
/**
 * Read every partition of topic from the beginning to its end
 * (read_committed: aborted transactions are invisible) and call fn for
 * each record.  Returns the number of records, or -1 on error/timeout.
 */
extern int fc_read_uncommitted; /* 1: fc_read_topic reads read_uncommitted */
long fc_read_topic(const char *brokers, const char *topic, int timeout_ms, fc_record_fn fn, void *opaque);

/** Create topic (partitions, "delete" cleanup) if missing; 0 or -1. */
int fc_create_topic(const char *brokers, const char *topic, int partitions, char *errstr, size_t errstr_size);
/** Delete every topic whose name starts with "<prefix>."; returns how many, -1 on error. */
int fc_delete_topics(const char *brokers, const char *prefix);

/* ---- misc ---- */
/** Append a line to fd with one write(); 0 or -1. */
int fc_write_line(int fd, const char *line);
/** Print "fault: <message>" to stderr and exit(2). */
void fc_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
