/*
 * console-test-worker -- orders-worker (same options, same log lines) that
 * also runs the workflow "parked": it creates a callback "approval" (no
 * timeout) and waits for it; completed with success it runs a step
 * "finish" and ends with {"outcome":"approved"}.  The browser test starts
 * one and completes its callback from the console's page.
 *
 * All workers of a consumer group must know the same workflows, so the
 * browser test runs the cluster with this program as every worker
 * (scripts/cluster.sh: DF_CLUSTER_WORKER).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_common.h"
#include "order_workflow.h"
#include "sim_http.h"

static df_worker_t *worker;

static void on_signal(int sig)
{
        (void)sig;
        df_worker_stop(worker);
}

static void usage(FILE *f)
{
        fprintf(f, "usage: console-test-worker [orders-worker options]\n" OW_CLI_HELP_BROKERS OW_CLI_HELP);
}

static df_err_t submit(df_step_t *s, const char *callback_id, void *opaque)
{
        (void)opaque;
        (void)callback_id; /* a person completes it, from the console */
        return df_step_set_result(s, "submitted", 9);
}

static df_err_t finish(df_step_t *s, void *opaque)
{
        (void)opaque;
        return df_step_set_result(s, "done", 4);
}

static df_err_t parked(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        df_callback_opts_t o = {0, 0};
        df_bytes_t res;
        const char *out = "{\"outcome\":\"approved\"}";
        df_err_t rc;
        (void)input;
        (void)opaque;
        if ((rc = df_wait_for_callback(ctx, "approval", submit, NULL, &o, NULL, &res)) != DF_OK)
                return rc;
        if ((rc = df_step(ctx, "finish", finish, NULL, NULL, NULL)) != DF_OK)
                return rc;
        return df_ctx_set_output(ctx, out, strlen(out));
}

int main(int argc, char **argv)
{
        const char *sim = "http://127.0.0.1:8089", *data = ORDERS_DATA_DIR;
        int status = 0;
        const ow_opt_t opts[] = {OW_OPT_STR("sim", &sim), OW_OPT_STR("data", &data),
                                 OW_OPT_CONF("worker-id", "worker.id"), OW_OPT_END};
        ow_cli_t cli = {.prog = "console-test-worker", .usage = usage, .opts = opts};
        df_conf_t *conf;
        ow_dataset_t *ds;
        ow_flow_t *flow;
        char errstr[512];
        df_err_t rc;

        if (!(conf = ow_cli_parse(&cli, argc, argv, &status)))
                return status;
        if (ow_http_global_init())
                return 1;
        ds = ow_cli_load_dataset("console-test-worker", data);
        flow = ds ? ow_flow_new(ds, sim) : NULL;
        worker = flow ? df_worker_new(conf, errstr, sizeof(errstr)) : NULL;
        if (!worker) {
                fprintf(stderr, "console-test-worker: %s\n", flow ? errstr : "cannot load the data");
                return 1;
        }
        if (ow_flow_register(worker, flow) != DF_OK || df_worker_register(worker, "parked", parked, NULL) != DF_OK) {
                fprintf(stderr, "console-test-worker: cannot register the workflows\n");
                return 1;
        }
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
        rc = df_worker_run(worker);
        df_worker_destroy(worker);
        ow_flow_free(flow);
        ow_dataset_free(ds);
        df_conf_destroy(conf);
        ow_http_global_cleanup();
        return rc == DF_OK ? 0 : 1;
}
