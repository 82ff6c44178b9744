/*
 * pool.c -- a bounded pool of threads that run short tasks (see pool.h).
 *
 * One mutex and condition variable.  A submitter reserves an idle thread
 * (idle > pending) and puts its task in a small ring; a woken thread takes
 * it.  Because a task is accepted only when a thread is idle, the ring never
 * holds more tasks than there are threads, and an accepted task never waits
 * for a busy thread.
 */
#include <pthread.h>
#include <stdlib.h>

#include "pool.h"

typedef struct df__task {
        void (*fn)(void *);
        void *arg;
} df__task_t;

struct df__pool {
        pthread_mutex_t mu;
        pthread_cond_t cv;
        pthread_cond_t ready; /* a thread became idle (df__pool_new waits for all) */
        pthread_t *thr;
        int n, started;
        int idle;        /* threads waiting for a task */
        df__task_t *ring; /* n slots */
        int head, count;  /* tasks handed out, not yet taken */
        int stop;
};

static void *df__pool_main(void *opaque)
{
        df__pool_t *p = opaque;
        pthread_mutex_lock(&p->mu);
        for (;;) {
                df__task_t t;
                p->idle++;
                pthread_cond_broadcast(&p->ready);
                while (!p->count && !p->stop)
                        pthread_cond_wait(&p->cv, &p->mu);
                p->idle--;
                if (!p->count)
                        break; /* stop */
                t = p->ring[p->head];
                p->head = (p->head + 1) % p->n;
                p->count--;
                pthread_mutex_unlock(&p->mu);
                t.fn(t.arg);
                pthread_mutex_lock(&p->mu);
        }
        pthread_mutex_unlock(&p->mu);
        return NULL;
}

df__pool_t *df__pool_new(int n)
{
        df__pool_t *p;
        int i;

        if (n < 0 || n > 1024)
                return NULL;
        p = calloc(1, sizeof(*p));
        if (!p)
                return NULL;
        p->n = n;
        p->thr = calloc((size_t)(n ? n : 1), sizeof(*p->thr));
        p->ring = calloc((size_t)(n ? n : 1), sizeof(*p->ring));
        if (!p->thr || !p->ring || pthread_mutex_init(&p->mu, NULL)) {
                free(p->thr);
                free(p->ring);
                free(p);
                return NULL;
        }
        pthread_cond_init(&p->cv, NULL);
        pthread_cond_init(&p->ready, NULL);
        for (i = 0; i < n; i++) {
                pthread_attr_t a;
                int rc;
                pthread_attr_init(&a);
                pthread_attr_setstacksize(&a, 8u << 20); /* as a main thread's: step bodies may be deep */
                rc = pthread_create(&p->thr[i], &a, df__pool_main, p);
                pthread_attr_destroy(&a);
                if (rc)
                        break;
                p->started++;
        }
        if (p->started < n) {
                df__pool_destroy(p);
                return NULL;
        }
        /* every thread waits for work before the pool is handed out, so the
         * first batch gets all of them */
        pthread_mutex_lock(&p->mu);
        while (p->idle < p->started)
                pthread_cond_wait(&p->ready, &p->mu);
        pthread_mutex_unlock(&p->mu);
        return p;
}

int df__pool_try_run(df__pool_t *p, void (*fn)(void *arg), void *arg)
{
        int ok = 0;
        if (!p || !p->n)
                return -1;
        pthread_mutex_lock(&p->mu);
        if (!p->stop && p->idle > p->count) {
                p->ring[(p->head + p->count) % p->n] = (df__task_t){fn, arg};
                p->count++;
                ok = 1;
                pthread_cond_signal(&p->cv);
        }
        pthread_mutex_unlock(&p->mu);
        return ok ? 0 : -1;
}

int df__pool_size(const df__pool_t *p)
{
        return p ? p->n : 0;
}

void df__pool_destroy(df__pool_t *p)
{
        int i;
        if (!p)
                return;
        pthread_mutex_lock(&p->mu);
        p->stop = 1;
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
        for (i = 0; i < p->started; i++)
                pthread_join(p->thr[i], NULL);
        pthread_cond_destroy(&p->cv);
        pthread_cond_destroy(&p->ready);
        pthread_mutex_destroy(&p->mu);
        free(p->thr);
        free(p->ring);
        free(p);
}
