/*
 * schedule.h -- schedules: durable state of their own, applied by the
 * worker that owns the schedule key's partition (internal).
 *
 * A schedule "N" lives under the key "schedule:N" on <prefix>.events and
 * <prefix>.state (a Schedule record, records.h).  Its events
 * (DF__EV_SCHEDULE_*) are applied here inside the batch transaction, like an
 * execution's, so each is applied exactly once:
 *  - CREATE (idempotent by name), PAUSE, RESUME, DELETE, TRIGGER from the
 *    client, answered with a reply when they carry a request id;
 *  - FIRE from the timer service (the schedule armed it for its next fire
 *    time): starts the run "<N>-<scheduled time UTC, YYYYMMDDTHHMMSSZ>" with
 *    a START event (idempotent by that id), works out the next fire time
 *    and arms its timer;
 *  - RUN_DONE from the worker of a run when it ended (for the overlap
 *    policy skip).
 * Knows nothing of Kafka or RocksDB: the worker (task.c) and the test
 * runner load and flush the record through callbacks, as state.c does for
 * executions.
 *
 * Not thread-safe: one thread applies a schedule's events.
 */
#ifndef DF_SCHEDULE_H
#define DF_SCHEDULE_H

#include "engine.h"

/** Prefix of schedule keys; an execution id may not start with it. */
#define DF__SCHEDULE_PREFIX "schedule:"
/* A trigger's reply is the run id; "<run id> exists" when the run of that
 * second had been started already (run ids have no spaces). */
#define DF__SCHED_TRIGGER_EXISTS "exists"
/* Split a trigger's reply in place: *existed 1 for "<run id> exists". */
void df__sched_trigger_reply(char *reply, int *existed);
#define DF__SCHEDULE_PREFIX_LEN 9

/** 1 if key is a schedule's ("schedule:" and at least one character). */
int df__schedule_key(const char *key);

/** A schedule's state while an event is applied. */
typedef struct df__sched_state {
        int exists;    /* the record exists (loaded, or created by the event) */
        int dirty;     /* rec must be written */
        int deleted;   /* the record must be deleted (a tombstone) */
        df__sched_rec_t rec;
} df__sched_state_t;

/** Load the schedule under key into s (zeroed first; s->exists stays 0 when
 * absent).  0, or -1 with errstr set (a store read error, or a record that
 * does not decode). */
int df__sched_state_load(df__sched_state_t *s, const char *key, df__state_get_fn get, void *opaque, char *errstr,
                         size_t errstr_size);
/** Write what the event changed: the record (put with it), or its deletion
 * (put with a NULL value).  0, or -1 with errstr set. */
int df__sched_state_flush(df__sched_state_t *s, const char *key, df__state_put_fn put, void *opaque, char *errstr,
                          size_t errstr_size);
void df__sched_state_clear(df__sched_state_t *s);

/**
 * Apply ev (its execution_id is a schedule key) to s.  Replies (when ev has a
 * request id), START events of runs, timers and their
 * withdrawals go to out; the clock and the events topic are eng's.  0, or
 * -1 on an internal failure (ENOMEM, encode): the caller drops the event's
 * changes.
 */
int df__schedule_apply(df__engine_t *eng, df__sched_state_t *s, const df__event_t *ev, const df__engine_out_t *out);

/* ---- the engine's side: runs of a schedule ---- */

/** An execution reached a terminal status: when it is a scheduled run, a
 * SCHEDULE_RUN_DONE event to its schedule.  0 or -1. */
int df__schedule_run_ended(const df__engine_out_t *out, const df__exec_rec_t *e, int64_t now);
/**
 * A START of a scheduled run (ev->link set) that did not create its
 * execution: refused (st holds no execution: the workflow is unknown) or
 * the execution exists.  The schedule is told the run ended when it did
 * (refused, or already terminal), so that it is not held back waiting; an
 * existing execution not yet tied to a schedule is tied to this one.
 * 0 or -1.
 */
int df__schedule_start_seen(const df__engine_out_t *out, df__exec_state_t *st, const df__event_t *ev, int64_t now);

/* ---- the client's side ---- */

/** Check a definition at the public boundary: DF_OK or the df_err_t of
 * df_client_schedule_create, with errstr set. */
df_err_t df__schedule_def_check(const char *name, const df_schedule_def_t *def, char *errstr, size_t errstr_size);
/** The CREATE event's input: def as an encoded Schedule record (name, cron,
 * timezone, workflow, input, overlap).  0, or -1 with errstr set. */
int df__schedule_def_encode(const char *name, const df_schedule_def_t *def, df__buf_t *out, char *errstr,
                            size_t errstr_size);
/** The public view of rec (pointers into rec; input omitted when !full). */
void df__schedule_info(df_schedule_info_t *pub, const df__sched_rec_t *rec, int full);

#endif /* DF_SCHEDULE_H */
