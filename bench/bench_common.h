/*
 * bench_common.h -- shared helpers of the duraflow benchmarks: clocks,
 * percentiles, machine description, reports (stdout + bench/RESULTS.md +
 * bench/results.csv), configuration against the real broker, child
 * processes, /proc readings, the murmur2 partition of a key.
 *
 * Benchmarks are programs, not tests: each prints its figures and appends
 * them to RESULTS.md.  Every wait is bounded; every program stops by itself.
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <librdkafka/rdkafka.h>

#include "duraflow/duraflow.h"

/* ---- clocks ---- */
int64_t bench_mono_ns(void);
int64_t bench_wall_ms(void);
void bench_sleep_ns(int64_t ns);

/* ---- percentiles (sorts v in place) ---- */
typedef struct bench_pct {
        size_t n;
        double p50, p95, p99, max, mean; /* in the unit of the samples / div */
} bench_pct_t;
bench_pct_t bench_percentiles(int64_t *v, size_t n, double div);

/* ---- arguments: --name value or --name=value ---- */
const char *bench_arg(int argc, char **argv, const char *name, const char *def);
long long bench_arg_ll(int argc, char **argv, const char *name, long long def);
int bench_flag(int argc, char **argv, const char *name);

/* ---- configuration against the real broker ($DF_BROKERS) ---- */
/** Exits with a message when DF_BROKERS is unset (benchmarks need a real broker). */
const char *bench_brokers(void);
/** A conf with brokers, topic.prefix, state.dir, partitions and log.level set
 * (log.level from $DF_LOG, default warn). */
df_conf_t *bench_conf(const char *prefix, const char *state_dir, int partitions);
void bench_conf_set(df_conf_t *c, const char *name, const char *value);
/** Apply every "-X name=value" of argv to c (exits on an invalid one). */
void bench_conf_args(df_conf_t *c, int argc, char **argv);
/** The -X pairs of argv as one string "name=value ..." ("" if none), for reports. */
const char *bench_conf_args_str(int argc, char **argv);
/** A unique topic prefix "bench-<tag>-<pid>-<n>" written into buf. */
void bench_prefix(char *buf, size_t size, const char *tag);
/** A librdkafka conf for the broker, with the given extra name=value pairs (NULL-terminated). */
rd_kafka_conf_t *bench_kconf(const char *first, ...);
/** Create topics (partitions, compact 0/1); 0 or -1. */
int bench_create_topic(const char *name, int partitions, int compact);
/** Delete every topic named "<prefix>.<anything>" (best effort). */
void bench_delete_topics(const char *prefix);
/** Partition of key as librdkafka's murmur2 (Java-compatible) partitioner picks it. */
int bench_partition(const char *key, int partitions);

/* ---- /proc and disk ---- */
/** VmHWM / VmRSS of pid (0 = self) in kB, -1 if unreadable. */
long bench_vm_kb(pid_t pid, const char *field);
/** Bytes on disk (allocated blocks) under path. */
long long bench_du(const char *path);
/** Apparent size (sum of st_size) under path. */
long long bench_du_apparent(const char *path);
/** Bytes of the broker's log segments of the topic (all partitions), -1 if the
 * broker's data dir is unknown ($DF_KAFKA_DATA_DIR or the kafka.sh state file). */
long long bench_topic_disk(const char *topic);
void bench_rm_rf(const char *path);
/** CPU seconds (user + system) used so far by pid (0 = self, all threads), -1 if unreadable. */
double bench_proc_cpu_s(pid_t pid);
/** The broker's pid from the kafka.sh state file ($DF_KAFKA_STATE), 0 if unknown. */
pid_t bench_broker_pid(void);
/** Every broker pid of the kafka.sh state file (a cluster's DF_KAFKA_PID_<i>
 * lines, or the single DF_KAFKA_PID) into out (at most max); how many. */
int bench_broker_pids(pid_t *out, int max);

/* ---- child processes ---- */
typedef struct bench_child {
        pid_t pid;
        FILE *out;   /* its stdout (line-buffered reading) */
        int out_fd;
} bench_child_t;
/** fork+exec argv with stdout piped (stderr to errlog if not NULL, else inherited). */
int bench_spawn(bench_child_t *c, char *const argv[], const char *errlog);
/** Read a line from the child's stdout, waiting at most timeout_ms; 1 line, 0 timeout, -1 EOF. */
int bench_child_line(bench_child_t *c, char *buf, size_t size, int timeout_ms);
/** SIGTERM then wait up to timeout_ms, then SIGKILL. */
void bench_child_stop(bench_child_t *c, int timeout_ms);
void bench_child_kill(bench_child_t *c); /* SIGKILL + reap */
/** Start bench_node (sibling program) in mode "worker" or "timers", passing on
 * every -X of argv plus the extra -X pairs in extra (NULL-terminated, may be
 * NULL); stderr to errlog.  Waits for its "ready" line (up to 120 s); 0 or -1. */
int bench_spawn_node(bench_child_t *c, const char *mode, const char *prefix, const char *state, const char *id,
                     int partitions, int argc, char **argv, const char *const *extra, const char *errlog);
/** Parse "key=value" (a number) out of a bench_node stats line; -1 if absent. */
long long bench_stat(const char *line, const char *key);
/** Path of a sibling program (same directory as this executable). */
void bench_sibling(char *buf, size_t size, const char *name);

/* ---- reports ---- */
typedef struct bench_report bench_report_t;
/** Starts a report (records the date, machine, load and command line). */
bench_report_t *bench_report_new(const char *bench, const char *title, int argc, char **argv);
/** Free text (markdown) line. */
void bench_report_text(bench_report_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** A CSV data point: results.csv row (date, bench, config, metric, value, unit). */
void bench_report_csv(bench_report_t *r, const char *config, const char *metric, double value, const char *unit);
/** Prints the report to stdout and appends it to RESULTS.md (and the CSV rows to
 * results.csv) in $BENCH_OUT_DIR (default: the bench/ source directory). */
void bench_report_finish(bench_report_t *r);
/** "1.23" style ms formatting helper into a static ring of buffers. */
const char *bench_ms(double ms);
/** Load average (1 min) now. */
double bench_load1(void);

#endif
