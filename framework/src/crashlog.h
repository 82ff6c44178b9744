/*
 * crashlog.h -- crash breadcrumbs of a worker process (internal).
 *
 * A step body may kill the process that runs it (a segfault, abort(), the
 * OOM killer).  So that such a death is counted against that execution and
 * attempt, the worker notes, in a small file mapped MAP_SHARED, which
 * execution it is processing and which step body (operation id, attempt)
 * is running.  Plain stores into the mapping: nanoseconds, no system call,
 * nothing on the normal path's critical section; the kernel keeps the
 * pages when the process dies, so the next process with the same worker.id
 * reads them (a host crash loses them, as it loses the page cache).
 *
 * On open, every slot still active is returned (the previous process died
 * there) and the file is cleared.  One slot per thread that processes
 * executions.  Not thread-safe per slot: a slot belongs to one thread.
 */
#ifndef DF_CRASHLOG_H
#define DF_CRASHLOG_H

#include <stddef.h>
#include <stdint.h>

typedef struct df__crash_rec {
        char execution_id[208];
        char op_id[32];   /* "" = not inside a step body */
        int32_t partition;
        int32_t attempt;
        int64_t ts_ms;    /* when processing of the execution began, UTC ms */
} df__crash_rec_t;

typedef struct df__crashlog df__crashlog_t;

/**
 * Open (create) the breadcrumb file at path with nslots slots.  *found
 * (malloc'd, caller frees; NULL when none) receives the records left
 * active by a process that died, *nfound their number.  NULL with errstr
 * set on failure (the worker then runs without crash counting and says so).
 */
df__crashlog_t *df__crashlog_open(const char *path, int nslots, df__crash_rec_t **found, int *nfound, char *errstr,
                                  size_t errstr_size);
/** Processing of execution_id (on partition) begins in slot.  cl may be NULL. */
void df__crashlog_enter(df__crashlog_t *cl, int slot, const char *execution_id, int partition);
/** The body of step op_id runs at attempt (op_id NULL: the body returned). */
void df__crashlog_step(df__crashlog_t *cl, int slot, const char *op_id, int attempt);
/** Processing of the slot's execution is over. */
void df__crashlog_leave(df__crashlog_t *cl, int slot);
void df__crashlog_close(df__crashlog_t *cl);

#endif /* DF_CRASHLOG_H */
