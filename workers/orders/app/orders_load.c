/*
 * orders-load -- start one "order" execution per Northwind order
 * ("order-<orderID>"), idempotently: a second run starts nothing new.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_common.h"
#include "order_workflow.h"

static const char *prog = "orders-load";

static void usage(FILE *f)
{
        fprintf(f,
                "usage: orders-load [options]\n"
                "\n"
                "Reads the Northwind CSVs (reporting any bad row with its line number) and\n"
                "starts the execution \"order-<orderID>\" of the \"order\" workflow for each order,\n"
                "with input {\"order_id\":N,\"day_ms\":M}. Starting is idempotent by name: orders\n"
                "already started are counted, not started again (a second run reports 0 new).\n"
                "Needs a running orders-worker (it answers each start).\n"
                "\n"
                "Options:\n"
                "      --data DIR           Northwind CSV directory (default %s)\n"
                "      --day-ms MS          length of one day of the orders' calendar in real\n"
                "                           milliseconds (default 1000: a day per second)\n"
                "      --limit N            only the first N orders (by order id)\n"
                "      --concurrency N      parallel start requests (default 8)\n"
                OW_CLI_HELP_BROKERS_NEEDED OW_CLI_HELP
                "\n"
                "Exit status: 0 when every order is started (new or already there), 1 otherwise.\n",
                ORDERS_DATA_DIR);
}

typedef struct load {
        const df_conf_t *conf;
        const ow_dataset_t *ds;
        size_t n;
        int64_t day_ms;
        atomic_size_t next;
        atomic_size_t started, existed, conflicts, failed;
        pthread_mutex_t lock; /* stderr lines */
} load_t;

static void *loader(void *p)
{
        load_t *l = p;
        char errstr[512], id[64], input[128];
        df_client_t *c = df_client_new(l->conf, errstr, sizeof(errstr));
        size_t i;

        if (!c) {
                pthread_mutex_lock(&l->lock);
                fprintf(stderr, "%s: client: %s\n", prog, errstr);
                pthread_mutex_unlock(&l->lock);
        }
        while ((i = atomic_fetch_add(&l->next, 1)) < l->n) {
                const ow_order_t *o = ow_dataset_order_at(l->ds, i);
                size_t len = ow_flow_input(o->order_id, l->day_ms, input, sizeof(input));
                int existed = 0;
                df_err_t rc;
                ow_flow_execution_id(o->order_id, id, sizeof(id));
                if (!c) {
                        atomic_fetch_add(&l->failed, 1);
                        continue;
                }
                rc = df_client_start(c, OW_WORKFLOW_NAME, id, input, len, &existed, errstr, sizeof(errstr));
                if (rc == DF_OK) {
                        atomic_fetch_add(existed ? &l->existed : &l->started, 1);
                        continue;
                }
                atomic_fetch_add(rc == DF_ERR_CONFLICT ? &l->conflicts : &l->failed, 1);
                pthread_mutex_lock(&l->lock);
                if (rc == DF_ERR_CONFLICT)
                        fprintf(stderr, "%s: %s exists with a different input (another --day-ms?): %s\n", prog, id,
                                errstr);
                else
                        fprintf(stderr, "%s: %s: %s (%s)\n", prog, id, errstr, df_err_name(rc));
                pthread_mutex_unlock(&l->lock);
        }
        df_client_destroy(c);
        return NULL;
}

int main(int argc, char **argv)
{
        const char *data = ORDERS_DATA_DIR;
        int64_t day_ms = 1000, limit = -1, conc = 8, t0;
        const ow_opt_t opts[] = {OW_OPT_STR("data", &data),
                                 OW_OPT_INT("day-ms", &day_ms, 1, 86400000),
                                 OW_OPT_INT("limit", &limit, 0, 1000000000),
                                 OW_OPT_INT("concurrency", &conc, 1, 64),
                                 OW_OPT_END};
        ow_cli_t cli = {.prog = prog,
                        .usage = usage,
                        .opts = opts,
                        .need_brokers = " (an orders-worker in\n"
                                        "embedded mode prints the address of its in-process Kafka); orders-demo runs\n"
                                        "everything in one process"};
        df_conf_t *conf;
        ow_dataset_t *ds;
        pthread_t thr[64];
        load_t l;
        int i, status;

        if (!(conf = ow_cli_parse(&cli, argc, argv, &status)))
                return status;
        ds = ow_cli_load_dataset(prog, data);
        if (!ds)
                return 1;
        memset(&l, 0, sizeof(l));
        l.conf = conf;
        l.ds = ds;
        l.n = ow_dataset_order_count(ds);
        if (limit >= 0 && (size_t)limit < l.n)
                l.n = (size_t)limit;
        l.day_ms = day_ms;
        pthread_mutex_init(&l.lock, NULL);
        if ((size_t)conc > l.n)
                conc = l.n ? (int64_t)l.n : 1;
        t0 = ow_cli_mono_ms();
        for (i = 0; i < conc; i++)
                pthread_create(&thr[i], NULL, loader, &l);
        for (i = 0; i < conc; i++)
                pthread_join(thr[i], NULL);
        printf("%s: %zu orders: %zu new, %zu already started, %zu conflicting, %zu failed (%.1f s)\n", prog, l.n,
               atomic_load(&l.started), atomic_load(&l.existed), atomic_load(&l.conflicts), atomic_load(&l.failed),
               (double)(ow_cli_mono_ms() - t0) / 1000.0);
        pthread_mutex_destroy(&l.lock);
        ow_dataset_free(ds);
        df_conf_destroy(conf);
        return atomic_load(&l.conflicts) || atomic_load(&l.failed) ? 1 : 0;
}
