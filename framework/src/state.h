/* state.h -- load and flush an execution's changelog records (internal). */
#ifndef DF_STATE_H
#define DF_STATE_H

#include "internal.h"

/** Read the record under key into *val (malloc'd) and set *found; 0 or -1 on a store error. */
typedef int (*df__state_get_fn)(void *opaque, const char *key, df__buf_t *val, int *found);
/** Write (val non-NULL) the record under key; 0 or -1. */
typedef int (*df__state_put_fn)(void *opaque, const char *key, const df__buf_t *val);

/** Load execution_id into an empty st (st->exists stays 0 when absent). */
int df__state_load(df__exec_state_t *st, const char *execution_id, df__state_get_fn get, void *opaque, char *errstr,
                   size_t errstr_size);
/** Encode and put every dirty record (operations first, then the execution)
 * and clear the dirty flags. */
int df__state_flush_dirty(df__exec_state_t *st, df__state_put_fn put, void *opaque, char *errstr,
                          size_t errstr_size);

#endif
