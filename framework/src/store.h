/*
 * store.h -- the local RocksDB store of a worker or a timer service
 * (internal), in the role of Kafka Streams' ProcessorStateManager: open,
 * reopen after an I/O error, the key formats, the changelog checkpoints
 * and the free-disk check.
 *
 * Key formats (written here only):
 *   worker   "s<partition, 4 digits>:<changelog key>"  the record of that
 *            changelog key (see state.h: "<exec id>", "<exec id>/<op id>")
 *            "m:cl:<partition, 4 digits>"               the partition's checkpoint
 *   timers   "d" + be64(due ms + 2^63) + timer id       the pending timer
 *            "i" + timer id -> be64(due ms + 2^63)      its due time, by id
 *
 * Not thread-safe for writes: one thread owns a store (RocksDB itself
 * allows concurrent reads).
 */
#ifndef DF_STORE_H
#define DF_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>
#include <rocksdb/c.h>

#include "kafka.h"

typedef struct df__store_opts {
        int wal;                  /* 1: write-ahead log on (the worker), 0: off (rebuilt from a topic) */
        size_t write_buffer_size; /* memtable bytes; 0 = RocksDB's default */
        int64_t min_free_bytes;   /* df__store_disk_low() threshold; 0 = no check */
} df__store_opts_t;

typedef struct df__store {
        rocksdb_t *db;            /* NULL while it could not be reopened */
        rocksdb_options_t *opts;
        rocksdb_writeoptions_t *wo;
        rocksdb_readoptions_t *ro;
        char path[1024];
        char who[160];            /* "worker w1": for messages */
        int64_t min_free;
        int disk_low;             /* logged once per episode */
        int64_t free_bytes;       /* at the last df__store_disk_low, -1 unknown */
} df__store_t;

/** Open (create) the store at path (its parent directory is created).
 * 0, or -1 with errstr. */
int df__store_open(df__store_t *s, const char *path, const df__store_opts_t *o, const char *who, char *errstr,
                   size_t errstr_size);
void df__store_close(df__store_t *s);
/** RocksDB refuses every write after an I/O error (a full disk) until it is
 * reopened: close and open again.  0 when open. */
int df__store_reopen(df__store_t *s);
/** 1 when the store's file system has less than min_free_bytes free (logged
 * once per episode, and once when it recovers). */
int df__store_disk_low(df__store_t *s);
/** Write a batch.  0, or -1 (logged with what). */
int df__store_write(df__store_t *s, rocksdb_writebatch_t *wb, const char *what);
/** Read key into *val (malloc'd) and set *found.  0, or -1 on an I/O error (logged). */
int df__store_get(df__store_t *s, const char *key, size_t klen, df__buf_t *val, int *found);

/* ---- the worker's partitions ---- */

/** "s%04d:<key>" into buf (truncated to size); returns its length. */
size_t df__store_pkey(char *buf, size_t size, int part, const char *key, size_t klen);

/*
 * A partition's changelog checkpoint: the next offset to read, and the
 * identity (timestamp, key hash) of the record just before it.  On restore
 * the record at next-1 must still be that record; otherwise the store was
 * built from another changelog (a topic deleted and recreated, a state
 * directory copied from elsewhere) and is dropped.
 */
typedef struct df__ckpt {
        int64_t next; /* -1: none */
        int64_t ts;
        uint64_t keyh;
} df__ckpt_t;

/** The checkpoint naming m (the record just read or written). */
void df__ckpt_of(df__ckpt_t *c, const rd_kafka_message_t *m);
/** The stored checkpoint of part ({0, 0, 0} if none). */
df__ckpt_t df__store_ckpt(df__store_t *s, int part);
/** Stage part's checkpoint in wb. */
void df__store_wb_ckpt(rocksdb_writebatch_t *wb, int part, const df__ckpt_t *c);
/** Drop everything of part (its records and its end-time index) and reset
 * its checkpoint.  0 or -1. */
int df__store_wipe_partition(df__store_t *s, int part);

/*
 * The end-time index of a partition's finished executions (retention.ms):
 * "r%04d:" + 8 bytes big-endian end time (UTC ms, sign bit flipped) + the
 * execution id, empty values, in the store only (never on the changelog:
 * a restore rebuilds it, from each execution record's timestamp).  An entry
 * is a hint: the sweep (worker_retention.c) reads the execution and purges
 * it only when it is finished and its own end is retention.ms ago, and
 * drops entries that name nothing or a later end.
 */
/** The index key of (part, end_ms, id) into buf; its length (id cut to fit), 0 when buf is too small. */
size_t df__store_rkey(char *buf, size_t size, int part, int64_t end_ms, const char *id, size_t idlen);
/** The first key of part's index at or after end_ms (no id); its length (14 below partition 10000). */
size_t df__store_rkey_bound(char *buf, size_t size, int part, int64_t end_ms);
/** Stage the index entry of a finished execution (store only). */
void df__store_wb_rkey(rocksdb_writebatch_t *wb, int part, int64_t end_ms, const char *id, size_t idlen);

/* ---- the timer service's index ---- */

/** The due key of a timer into buf (at least 9 bytes); its length. */
size_t df__store_due_key(char *buf, size_t size, int64_t due, const char *id, size_t idlen);
/** The id key ("i" + id) into buf; its length. */
size_t df__store_id_key(char *buf, size_t size, const char *id, size_t idlen);
/** Decode a due key's due time. */
int64_t df__store_due_of(const char *key);
void df__store_be64(unsigned char *b, uint64_t v);
uint64_t df__store_rd_be64(const unsigned char *b);

#endif /* DF_STORE_H */
