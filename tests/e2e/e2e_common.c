#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "e2e_common.h"

static void *worker_main(void *p)
{
        df_worker_run(p);
        return NULL;
}

static void *ts_main(void *p)
{
        df_timer_service_run(p);
        return NULL;
}

int e2e_start(e2e_env_t *env, const char *tag, void (*register_fn)(df_worker_t *w), char *errstr, size_t errstr_size)
{
        return e2e_start_conf(env, tag, register_fn, NULL, errstr, errstr_size);
}

int e2e_start_conf(e2e_env_t *env, const char *tag, void (*register_fn)(df_worker_t *w), const char *const *extra,
                   char *errstr, size_t errstr_size)
{
        const char *brokers = getenv("DF_BROKERS");
        char e[256];

        memset(env, 0, sizeof(*env));
        env->conf = df_conf_new();
        snprintf(env->prefix, sizeof(env->prefix), "e2e-%s-%d-%ld", tag, (int)getpid(), (long)time(NULL));
        snprintf(env->state_dir, sizeof(env->state_dir), "/tmp/duraflow-%s", env->prefix);
        if (df_conf_set(env->conf, "topic.prefix", env->prefix, e, sizeof(e)) ||
            df_conf_set(env->conf, "state.dir", env->state_dir, e, sizeof(e)) ||
            df_conf_set(env->conf, "partitions", "3", e, sizeof(e)) ||
            df_conf_set(env->conf, "client.timeout.ms", "30000", e, sizeof(e)) ||
            df_conf_set(env->conf, "log.level", getenv("DF_LOG") ? getenv("DF_LOG") : "warn", e, sizeof(e)) ||
            (brokers && *brokers && df_conf_set(env->conf, "brokers", brokers, e, sizeof(e)))) {
                snprintf(errstr, errstr_size, "conf: %s", e);
                return -1;
        }
        for (; extra && *extra; extra++) {
                if (df_conf_set_pair(env->conf, *extra, e, sizeof(e))) {
                        snprintf(errstr, errstr_size, "conf: %s", e);
                        return -1;
                }
        }
        env->ts = df_timer_service_new(env->conf, errstr, errstr_size);
        if (!env->ts)
                return -1;
        pthread_create(&env->ts_thr, NULL, ts_main, env->ts);
        if (register_fn) {
                env->worker = df_worker_new(env->conf, errstr, errstr_size);
                if (!env->worker)
                        return -1;
                register_fn(env->worker);
                pthread_create(&env->worker_thr, NULL, worker_main, env->worker);
        }
        env->client = df_client_new(env->conf, errstr, errstr_size);
        return env->client ? 0 : -1;
}

void e2e_stop(e2e_env_t *env)
{
        char cmd[400];
        if (env->worker) {
                df_worker_stop(env->worker);
                pthread_join(env->worker_thr, NULL);
                df_worker_destroy(env->worker);
        }
        if (env->ts) {
                df_timer_service_stop(env->ts);
                pthread_join(env->ts_thr, NULL);
                df_timer_service_destroy(env->ts);
        }
        df_client_destroy(env->client);
        df_conf_destroy(env->conf);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", env->state_dir);
        if (system(cmd) != 0)
                fprintf(stderr, "cleanup of %s failed\n", env->state_dir);
}
