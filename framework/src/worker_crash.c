/*
 * worker_crash.c -- the crash breadcrumbs of the previous process with this
 * worker.id (crashlog.c): loaded at startup, and reported as crash events
 * before anything else is processed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker_int.h"

void df__crashlog_load(df_worker_t *w)
{
        char e[512];
        int i;

        w->crashlog = df__crashlog_open(w->s.crashlog, (int)w->s.worker_threads, &w->crashes, &w->n_crashes, e,
                                        sizeof(e));
        if (!w->crashlog)
                df__log(DF__LOG_WARN, "worker %s: %s: deaths inside step bodies will not be counted", w->id, e);
        else if (!w->s.stable_id)
                df__log(DF__LOG_WARN, "worker %s: worker.id is not set: a restarted worker gets a new id, so it "
                                      "neither takes its partitions back at once (static membership) nor counts "
                                      "a death inside a step body (set a stable worker.id per instance)",
                        w->id);
        for (i = 0; i < w->n_crashes; i++)
                df__log(DF__LOG_WARN, "worker %s: the previous process died while processing execution %s "
                                      "(partition %d%s%s, attempt %d): reporting it",
                        w->id, w->crashes[i].execution_id, w->crashes[i].partition,
                        w->crashes[i].op_id[0] ? ", in the body of operation " : ", outside any step body",
                        w->crashes[i].op_id, w->crashes[i].attempt);
}

/*
 * The previous process with this worker.id died while processing some
 * executions (its crash breadcrumbs).  Before anything else is processed,
 * a crash event is recorded for each, in a transaction of its own: the
 * count is then durable even if processing the same event kills this
 * process too.  An execution of a partition assigned here gets the event
 * applied at once; one whose partition another worker owns now gets it on
 * <prefix>.events, for its owner.  The assigned partitions' committed
 * offsets go with the transaction (with the group metadata), so a zombie
 * cannot write these records.  0 when recorded, 1 when not yet (retried),
 * -1 on a fatal error.
 */
int df__report_crashes(df_worker_t *w)
{
        rd_kafka_topic_partition_list_t *a = NULL;
        char suspect[96] = "";
        int i, j, r;

        if (rd_kafka_assignment(w->consumer, &a) != RD_KAFKA_RESP_ERR_NO_ERROR)
                return 1;
        if (!a->cnt) {
                rd_kafka_topic_partition_list_destroy(a);
                return 1;
        }
        if ((r = df__batch_begin(w)) != 0) {
                rd_kafka_topic_partition_list_destroy(a);
                return r;
        }
        /* several executions were running at once (worker.threads): which
         * one killed the process is not known, so none is charged an
         * attempt; each is a suspect and runs alone next (task.c), where a
         * death is its own */
        if (w->n_crashes > 1)
                snprintf(suspect, sizeof(suspect), "suspect: %d executions were being processed at once",
                         w->n_crashes);
        for (i = 0; i < w->n_crashes && r == 0; i++) {
                df__crash_rec_t *c = &w->crashes[i];
                df__event_t ev;
                int mine = 0;
                memset(&ev, 0, sizeof(ev));
                ev.type = DF__EV_CRASH;
                ev.execution_id = c->execution_id;
                ev.op_id = c->op_id;
                ev.seq = c->attempt;
                ev.error = suspect;
                ev.ts_ms = df__now_ms();
                if (!df__execution_id_valid(c->execution_id))
                        continue;
                for (j = 0; j < a->cnt; j++)
                        mine |= a->elems[j].partition == c->partition;
                if (mine ? df__task_apply(&w->task, &ev, c->partition, 1, NULL) == -1
                         : df__collector_event(&w->task.out, w->t.events, &ev, -1) != 0)
                        r = df__batch_abort(w);
        }
        if (r == 0 && rd_kafka_committed(w->consumer, a, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR)
                r = df__batch_abort(w);
        for (j = 0; r == 0 && j < a->cnt; j++) {
                int64_t lo = 0, hi = 0;
                if (a->elems[j].offset >= 0)
                        continue;
                if (df__watermarks(w->cl.probe, w->t.events, a->elems[j].partition, &lo, &hi))
                        r = df__batch_abort(w);
                a->elems[j].offset = lo; /* nothing committed yet: the start is what a reset reads */
        }
        if (r == 0)
                r = df__batch_commit(w, a);
        rd_kafka_topic_partition_list_destroy(a);
        if (r != 0)
                return r;
        df__log(DF__LOG_INFO, "worker %s: recorded %d crash(es) of the previous process", w->id, w->n_crashes);
        free(w->crashes);
        w->crashes = NULL;
        w->n_crashes = 0;
        return 0;
}
