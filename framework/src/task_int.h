/*
 * task_int.h -- what task.c (one event at a time) and task_lanes.c (a
 * batch's executions on lanes, at once) share (internal).
 */
#ifndef DF_TASK_INT_H
#define DF_TASK_INT_H

#include "task.h"

/* What the state loader and flusher see: one partition's store. */
typedef struct df__pstate {
        df__task_t *k;
        int part;
} df__pstate_t;

/** The state handle's reads (the partition's store) and writes (a
 * changelog record in the batch's collector and the store's write batch). */
int df__ps_get(void *opaque, const char *key, df__buf_t *val, int *found);
int df__ps_put(void *opaque, const char *key, const df__buf_t *val);
/** The execution's state for this batch: the batch's, the carried one of
 * the last batch, else read from the store.  NULL with errstr set. */
df__exec_state_t *df__task_load(df__task_t *k, df__pstate_t *ps, const char *exec_id, char *errstr,
                                size_t errstr_size);
/** Undo what the batch holds of one execution: its output records from mark
 * on, its store changes since the save point, its state. */
void df__task_undo(df__task_t *k, int mark, const char *exec_id);
/** Park an execution whose event failed (see task.c).  0, -2, -1. */
int df__task_park(df__task_t *k, const df__event_t *ev, int part, const df__buf_t *raw, const char *reason,
                  int mark);
/** Dead-letter an event whose execution's state cannot be read or recorded
 * (and reply "rejected" to its request, if any).  0 or -1. */
int df__task_state_dead_letter(df__task_t *k, const rd_kafka_message_t *m, const df__event_t *ev);
/** 1 when the timer t of an execution of partition part is due soon enough to be fired here. */
int df__local_due_here(const df__task_t *k, int part, const df__timer_rec_t *t);
/** Append a copy of t (to fire on partition part) to the array. 0 or -1. */
int df__local_push(df__local_timer_t **arr, int *n, int *cap, const df__timer_rec_t *t, int part);

#endif /* DF_TASK_INT_H */
