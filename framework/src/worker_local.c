/*
 * worker_local.c -- timers this worker fires itself when due
 * (timer.local.max.ms): armed by a committed batch, applied in a later one
 * with a tombstone that withdraws them from <prefix>.timers; forgotten when
 * partitions move (the timer service fires them then).  And the tests'
 * fault injection around the commit of a batch that fires them.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker_int.h"

void df__local_forget(df_worker_t *w)
{
        int i;
        for (i = 0; i < w->n_local; i++)
                df__local_timer_clear(&w->local[i]);
        w->n_local = 0;
        for (i = 0; i < w->t.partitions; i++)
                w->committed[i] = -1;
}

/* The timers a committed batch armed to fire here join the others. */
void df__local_arm(df_worker_t *w)
{
        df__local_timer_t *in;
        int n = df__task_take_local(&w->task, &in), i;
        if (!n) {
                free(in);
                return;
        }
        if (w->n_local + n > w->cap_local) {
                int cap = w->cap_local ? w->cap_local : 64;
                df__local_timer_t *a;
                while (cap < w->n_local + n)
                        cap *= 2;
                a = realloc(w->local, (size_t)cap * sizeof(*a));
                if (!a) { /* the timer service fires them (timer.local.grace.ms late) */
                        for (i = 0; i < n; i++)
                                df__local_timer_clear(&in[i]);
                        free(in);
                        return;
                }
                w->local = a;
                w->cap_local = cap;
        }
        memcpy(w->local + w->n_local, in, (size_t)n * sizeof(*in));
        w->n_local += n;
        free(in);
}

/* When the next timer fired here is due (UTC ms), INT64_MAX if none. */
int64_t df__local_next(const df_worker_t *w)
{
        int64_t next = INT64_MAX;
        int i;
        for (i = 0; i < w->n_local; i++)
                if (w->local[i].due_ms < next)
                        next = w->local[i].due_ms;
        return next;
}

/*
 * Apply the timers due by now in the open batch: each timer's event, and a
 * tombstone withdrawing it from <prefix>.timers (the timer service then
 * never fires its backstop).  *parts gets each partition touched.  0, or
 * -1 when the batch must abort.
 */
int df__local_fire(df_worker_t *w, rd_kafka_topic_partition_list_t *parts)
{
        int64_t now = df__now_ms();
        int i = 0;
        while (i < w->n_local) {
                df__local_timer_t *t = &w->local[i];
                df__event_t ev;
                char errstr[256];
                int rc = 0;
                if (t->due_ms > now) {
                        i++;
                        continue;
                }
                memset(&ev, 0, sizeof(ev));
                if (!df__event_decode(t->payload.data, t->payload.len, &ev, errstr, sizeof(errstr))) {
                        rc = df__task_apply(&w->task, &ev, t->part, 0, &t->payload) == -1 ||
                             df__collector_add(&w->task.out, w->t.timers, RD_KAFKA_PARTITION_UA, t->timer_id,
                                               strlen(t->timer_id), NULL, -1);
                        df__event_clear(&ev);
                }
                if (rc)
                        return -1;
                if (!rd_kafka_topic_partition_list_find(parts, w->t.events, t->part))
                        rd_kafka_topic_partition_list_add(parts, w->t.events, t->part)->offset = -1;
                df__local_timer_clear(t);
                w->local[i] = w->local[--w->n_local];
        }
        return 0;
}

/* $DF_FAULT_INJECT = "kill-before-local-commit:N" | "kill-after-local-commit:N" */
void df__fault_inject_load(df_worker_t *w)
{
        const char *f = getenv("DF_FAULT_INJECT");
        if (!f)
                return;
        if (!strncmp(f, "kill-before-local-commit:", 25)) {
                w->kill_when = 1;
                w->kill_nth = atoi(f + 25);
        } else if (!strncmp(f, "kill-after-local-commit:", 24)) {
                w->kill_when = 2;
                w->kill_nth = atoi(f + 24);
        }
        if (w->kill_when)
                df__log(DF__LOG_WARN, "worker %s: fault injection: %s", w->id, f);
}

void df__fault_inject(df_worker_t *w, int when, int fired_here)
{
        if (w->kill_when == when && fired_here && --w->kill_nth == 0) {
                df__log(DF__LOG_WARN, "worker %s: fault injection: SIGKILL %s the commit of a batch that fired "
                                      "%d timer(s) here",
                        w->id, when == 1 ? "before" : "after", fired_here);
                raise(SIGKILL);
        }
}
