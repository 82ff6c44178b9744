/* console_follow.h -- the console's follower of <prefix>.state and .dlq (internal). */
#ifndef DF_CONSOLE_FOLLOW_H
#define DF_CONSOLE_FOLLOW_H

#include "console_int.h"

typedef struct df__cfollow df__cfollow_t;

/** A consumer (no group, read_committed) feeding ix.  NULL with errstr. */
df__cfollow_t *df__cfollow_new(const df_conf_t *conf, df__cidx_t *ix, char *errstr, size_t errstr_size);
/** Follow until *stop (read atomically) becomes non-zero, on the calling
 * thread and console.ingest.threads - 1 more (joined before it returns).
 * DF_OK, or DF_ERR_STORE / DF_ERR_KAFKA on a fatal error (of any thread). */
df_err_t df__cfollow_run(df__cfollow_t *f, const int *stop);
/** Figures (any thread): records applied, lag (-1 unknown; the sum over
 * the threads' partitions), caught up once (every thread), following (0
 * while waiting for the topics). */
void df__cfollow_stats(df__cfollow_t *f, uint64_t *records, int64_t *lag, int *caught_up, int *following);
void df__cfollow_destroy(df__cfollow_t *f);

#endif
