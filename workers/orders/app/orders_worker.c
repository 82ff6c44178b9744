/*
 * orders-worker -- a duraflow worker running the "order" workflow against
 * the simulators (orders-sim).  Runs until SIGINT / SIGTERM.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_common.h"
#include "order_workflow.h"
#include "sim_http.h"

static const char *prog = "orders-worker";
static df_worker_t *worker;
static df_timer_service_t *timers;

static void usage(FILE *f)
{
        fprintf(f,
                "usage: orders-worker [options]\n"
                "\n"
                "A duraflow worker running the \"order\" workflow (one execution per Northwind\n"
                "order, started by orders-load) against the simulators of orders-sim.\n"
                "Runs until SIGINT or SIGTERM. Run several with distinct --worker-id to share\n"
                "the partitions; run `duraflow timer-service` (or --timer-service) for the\n"
                "timeouts.\n"
                "\n"
                "Options:\n"
                "      --sim URL            simulators' base URL (default http://127.0.0.1:8089)\n"
                "      --data DIR           Northwind CSV directory (default %s)\n"
                "      --worker-id ID       stable id of this worker (transactional id, store);\n"
                "                           default host-pid\n"
                "      --timer-service      also run a timer service in this process\n"
                OW_CLI_HELP_BROKERS OW_CLI_HELP,
                ORDERS_DATA_DIR);
}

static void on_signal(int sig)
{
        (void)sig;
        df_worker_stop(worker);
        if (timers)
                df_timer_service_stop(timers);
}

static void *timer_main(void *p)
{
        df_timer_service_run(p);
        return NULL;
}

int main(int argc, char **argv)
{
        const char *sim = "http://127.0.0.1:8089", *data = ORDERS_DATA_DIR;
        int with_timers = 0, status = 0;
        const ow_opt_t opts[] = {OW_OPT_STR("sim", &sim),
                                 OW_OPT_STR("data", &data),
                                 OW_OPT_CONF("worker-id", "worker.id"),
                                 OW_OPT_FLAG("timer-service", &with_timers),
                                 OW_OPT_END};
        ow_cli_t cli = {.prog = prog, .usage = usage, .opts = opts};
        df_conf_t *conf;
        ow_dataset_t *ds;
        ow_flow_t *flow;
        pthread_t tthr;
        char errstr[512];
        df_err_t rc;

        if (!(conf = ow_cli_parse(&cli, argc, argv, &status)))
                return status;
        if (ow_http_global_init()) {
                fprintf(stderr, "%s: curl_global_init failed\n", prog);
                return 1;
        }
        ds = ow_cli_load_dataset(prog, data);
        if (!ds)
                return 1;
        flow = ow_flow_new(ds, sim);
        worker = flow ? df_worker_new(conf, errstr, sizeof(errstr)) : NULL;
        if (!worker) {
                fprintf(stderr, "%s: %s\n", prog, flow ? errstr : "out of memory");
                return 1;
        }
        if ((rc = ow_flow_register(worker, flow)) != DF_OK) {
                fprintf(stderr, "%s: register: %s\n", prog, df_strerror(rc));
                return 1;
        }
        if (with_timers) {
                timers = df_timer_service_new(conf, errstr, sizeof(errstr));
                if (!timers) {
                        fprintf(stderr, "%s: timer service: %s\n", prog, errstr);
                        return 1;
                }
                pthread_create(&tthr, NULL, timer_main, timers);
        }
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
        if (!*df_conf_get(conf, "brokers"))
                fprintf(stderr, "%s: embedded mode: Kafka (in-process mock cluster) at %s\n", prog,
                        df_embedded_bootstrap(conf));
        fprintf(stderr, "%s: running workflow \"%s\" on %zu orders, simulators at %s (Ctrl-C stops)\n", prog,
                OW_WORKFLOW_NAME, ow_dataset_order_count(ds), sim);
        rc = df_worker_run(worker);
        if (rc != DF_OK) {
                fprintf(stderr, "%s: worker stopped: %s\n", prog, df_strerror(rc));
                status = 1;
        }
        if (timers) {
                df_timer_service_stop(timers);
                pthread_join(tthr, NULL);
                df_timer_service_destroy(timers);
        }
        df_worker_destroy(worker);
        ow_flow_free(flow);
        ow_dataset_free(ds);
        df_conf_destroy(conf);
        ow_http_global_cleanup();
        return status;
}
