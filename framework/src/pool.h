/*
 * pool.h -- a bounded pool of threads that run short tasks (internal).
 *
 * The replay engine hands branch bodies of a parallel / map to it.  A task
 * is only ever given to a thread that is idle at that moment
 * (df__pool_try_run), never queued behind busy ones: the caller runs it
 * itself otherwise.  So a task that waits for tasks it handed out (a nested
 * parallel inside a branch) can never deadlock the pool, and the number of
 * threads running bodies is bounded by the pool's size plus the callers.
 *
 * Thread safety: every function may be called from any thread, including
 * from a task running on the pool; df__pool_destroy() only when no task is
 * running or being handed out.
 */
#ifndef DF_POOL_H
#define DF_POOL_H

typedef struct df__pool df__pool_t;

/** A pool of n threads (0..1024; 0 = a pool that runs nothing: every
 * df__pool_try_run fails).  NULL on failure (ENOMEM, thread creation). */
df__pool_t *df__pool_new(int n);
/** Hand fn(arg) to an idle thread: 0 when one took it (it starts at once),
 * -1 when none is idle (fn is not called: run it yourself). */
int df__pool_try_run(df__pool_t *p, void (*fn)(void *arg), void *arg);
/** Threads of the pool. */
int df__pool_size(const df__pool_t *p);
/** Stop and join the threads (NULL: no-op). */
void df__pool_destroy(df__pool_t *p);

#endif
