/* e2e_common.h -- a worker, a timer service and a client in one process,
 * against the broker in $DF_BROKERS, or embedded mode when it is empty. */
#ifndef E2E_COMMON_H
#define E2E_COMMON_H

#include <pthread.h>

#include "duraflow/duraflow.h"

typedef struct e2e_env {
        df_conf_t *conf;
        df_worker_t *worker;
        df_timer_service_t *ts;
        df_client_t *client;
        pthread_t worker_thr, ts_thr;
        char state_dir[256];
        char prefix[64];
} e2e_env_t;

/* Start the timer service and the client (and, if register_fn is given, a
 * worker with the workflows it registers). Returns 0 or -1 (errstr set). */
int e2e_start(e2e_env_t *env, const char *tag, void (*register_fn)(df_worker_t *w), char *errstr, size_t errstr_size);
/* The same with extra "name=value" configuration (NULL-terminated list). */
int e2e_start_conf(e2e_env_t *env, const char *tag, void (*register_fn)(df_worker_t *w), const char *const *extra,
                   char *errstr, size_t errstr_size);
void e2e_stop(e2e_env_t *env);

#endif
