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
                "      --timer-service      also run a timer service in this process\n" OW_CLI_HELP,
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
        enum { O_SIM = 1000, O_DATA, O_WORKER_ID, O_TIMERS };
        static const struct option opts[] = {{"sim", required_argument, NULL, O_SIM},
                                             {"data", required_argument, NULL, O_DATA},
                                             {"worker-id", required_argument, NULL, O_WORKER_ID},
                                             {"timer-service", no_argument, NULL, O_TIMERS},
                                             OW_CLI_LONG,
                                             {NULL, 0, NULL, 0}};
        const char *sim = "http://127.0.0.1:8089", *data = ORDERS_DATA_DIR;
        df_conf_t *conf = ow_cli_conf_new();
        ow_dataset_t *ds;
        ow_flow_t *flow;
        pthread_t tthr;
        char errstr[512];
        int c, with_timers = 0, status = 0;
        df_err_t rc;

        if (!conf)
                return 1;
        while ((c = getopt_long(argc, argv, OW_CLI_SHORT, opts, NULL)) != -1) {
                int h = ow_cli_common(conf, c, optarg, prog);
                if (h < 0)
                        return 2;
                if (h)
                        continue;
                switch (c) {
                case O_SIM:
                        sim = optarg;
                        break;
                case O_DATA:
                        data = optarg;
                        break;
                case O_WORKER_ID:
                        if (df_conf_set(conf, "worker.id", optarg, errstr, sizeof(errstr)) != DF_OK) {
                                fprintf(stderr, "%s: %s\n", prog, errstr);
                                return 2;
                        }
                        break;
                case O_TIMERS:
                        with_timers = 1;
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "%s: unexpected argument \"%s\"\n", prog, argv[optind]);
                return 2;
        }
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
