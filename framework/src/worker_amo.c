/*
 * worker_amo.c -- at-most-once steps: run once their START committed, each
 * round of them in a transaction of its own.
 */
#include <stdlib.h>
#include <string.h>

#include "worker_int.h"

struct df__amo_list {
        char **ids;
        int *parts;
        int n, cap;
};

static void df__amo_collect(const char *exec_id, void *opaque)
{
        struct df__amo_list *l = opaque;
        if (l->n == l->cap) {
                int cap = l->cap ? l->cap * 2 : 8;
                char **ids = realloc(l->ids, (size_t)cap * sizeof(*ids));
                int *parts;
                if (!ids)
                        return;
                l->ids = ids;
                parts = realloc(l->parts, (size_t)cap * sizeof(*parts));
                if (!parts)
                        return;
                l->parts = parts;
                l->cap = cap;
        }
        l->ids[l->n] = strdup(exec_id);
        if (l->ids[l->n])
                l->n++;
}

/*
 * At-most-once steps whose START just committed run now, each batch of
 * them in its own transaction, while this worker still owns the partitions.
 * 0, or -1 on a fatal error.
 */
int df__run_amo(df_worker_t *w)
{
        struct df__amo_list amo = {0};
        int i, r = 0;

        while (r >= 0) {
                amo.n = 0;
                df__engine_amo_drain(w->eng, df__amo_collect, &amo);
                if (!amo.n)
                        break;
                for (i = 0; i < amo.n; i++)
                        amo.parts[i] = df__task_partition_of(&w->task, amo.ids[i]);
                if ((r = df__batch_begin(w)) == 0) {
                        for (i = 0; i < amo.n && r == 0; i++) {
                                df__event_t ev;
                                memset(&ev, 0, sizeof(ev));
                                ev.type = DF__EV_CONTINUE;
                                ev.execution_id = amo.ids[i];
                                ev.ts_ms = df__now_ms();
                                if (amo.parts[i] >= 0 && df__task_apply(&w->task, &ev, amo.parts[i], 1, NULL) == -1)
                                        r = df__batch_abort(w);
                        }
                        if (r == 0)
                                r = df__batch_commit(w, NULL);
                }
                for (i = 0; i < amo.n; i++)
                        free(amo.ids[i]);
                if (r > 0)
                        r = 0; /* not committed: the CONTINUE events in Kafka run them later */
        }
        free(amo.ids);
        free(amo.parts);
        return r < 0 ? -1 : 0;
}
