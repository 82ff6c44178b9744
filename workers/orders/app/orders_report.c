/*
 * orders-report -- read the order executions' terminal results from the
 * results topic and print the summary (and the simulator's checks).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_common.h"
#include "order_summary.h"
#include "sim_http.h"

static const char *prog = "orders-report";

static void usage(FILE *f)
{
        fprintf(f,
                "usage: orders-report [options]\n"
                "\n"
                "Reads every terminal result of the \"order\" executions from <prefix>.results\n"
                "(from the beginning, deduplicated by execution id) until the expected number\n"
                "is in or --timeout passes, fetches the simulator's /stats when --sim is given,\n"
                "and prints the summary: orders per outcome, revenue of confirmed orders,\n"
                "refunds, confirmed orders per shipper, and the simulator's checks.\n"
                "\n"
                "Options:\n"
                "      --data DIR           Northwind CSV directory (default %s)\n"
                "      --expect N           results to wait for (default: every order)\n"
                "      --timeout SECONDS    longest wait for them (default 60)\n"
                "      --sim URL            simulators' base URL, e.g. http://127.0.0.1:8089\n"
                "      --json               print the summary as JSON (the field names of\n"
                "                           tests/orders/expected_summary.py, plus \"sim\")\n"
                OW_CLI_HELP_BROKERS_NEEDED OW_CLI_HELP
                "\n"
                "Exit status: 0 when N results are in, none failed, and (with --sim) the\n"
                "simulator's checks hold; 1 otherwise.\n",
                ORDERS_DATA_DIR);
}

static void on_result(const char *id, df_exec_status_t status, const df_bytes_t *out, const char *error,
                      void *opaque)
{
        ow_tally_add(opaque, id, df_exec_status_name(status), out->data, out->len, error);
}

static json_t *fetch_stats(const char *url)
{
        ow_http_t *h = ow_http_new(url);
        char err[512], *body = NULL;
        long st;
        json_t *j = NULL;
        if (!h)
                return NULL;
        st = ow_http_request(h, "GET", "/stats", NULL, 10000, &body, err, sizeof(err));
        if (st == 200)
                j = json_loads(body, 0, NULL);
        if (!j)
                fprintf(stderr, "%s: GET %s/stats: %s\n", prog, url, st < 0 ? err : "bad answer");
        free(body);
        ow_http_free(h);
        return j;
}

int main(int argc, char **argv)
{
        const char *data = ORDERS_DATA_DIR, *sim = NULL;
        int64_t expect = -1, timeout_s = 60, deadline;
        int json = 0, ok, status;
        const ow_opt_t opts[] = {OW_OPT_STR("data", &data),
                                 OW_OPT_INT("expect", &expect, 0, 1000000000),
                                 OW_OPT_INT("timeout", &timeout_s, 0, 86400),
                                 OW_OPT_STR("sim", &sim),
                                 OW_OPT_FLAG("json", &json),
                                 OW_OPT_END};
        ow_cli_t cli = {.prog = prog, .usage = usage, .opts = opts, .need_brokers = ""};
        df_conf_t *conf;
        ow_dataset_t *ds;
        ow_tally_t *t;
        df_results_t *r;
        json_t *stats = NULL;
        char errstr[512];

        if (!(conf = ow_cli_parse(&cli, argc, argv, &status)))
                return status;
        if (ow_http_global_init())
                return 1;
        ds = ow_cli_load_dataset(prog, data);
        if (!ds)
                return 1;
        if (expect < 0 || (size_t)expect > ow_dataset_order_count(ds))
                expect = (int64_t)ow_dataset_order_count(ds);
        t = ow_tally_new(ds);
        r = t ? df_results_open(conf, 1, errstr, sizeof(errstr)) : NULL;
        if (!r) {
                fprintf(stderr, "%s: %s\n", prog, t ? errstr : "out of memory");
                return 1;
        }
        deadline = ow_cli_mono_ms() + timeout_s * 1000;
        while (ow_tally_done(t) < (size_t)expect && ow_cli_mono_ms() < deadline) {
                if (df_results_poll(r, 500, on_result, t) < 0) {
                        fprintf(stderr, "%s: reading the results failed\n", prog);
                        break;
                }
        }
        df_results_close(r);
        if (ow_tally_done(t) < (size_t)expect)
                fprintf(stderr, "%s: only %zu of %lld results within %lld s\n", prog, ow_tally_done(t),
                        (long long)expect, (long long)timeout_s);
        if (sim)
                stats = fetch_stats(sim);
        ok = ow_tally_done(t) >= (size_t)expect && !ow_tally_failed(t);
        if (sim)
                ok = ok && stats && ow_sim_checks(t, stats, NULL);
        if (json) {
                json_t *j = ow_tally_to_json(t, stats);
                json_object_set_new(j, "expected_orders", json_integer((json_int_t)expect));
                json_object_set_new(j, "all_terminal", json_boolean(ow_tally_done(t) >= (size_t)expect));
                json_object_set_new(j, "ok", json_boolean(ok));
                json_dumpf(j, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
                fputc('\n', stdout);
                json_decref(j);
        } else {
                ow_tally_print(t, stats, stdout);
        }
        json_decref(stats);
        ow_tally_free(t);
        ow_dataset_free(ds);
        df_conf_destroy(conf);
        ow_http_global_cleanup();
        return ok ? 0 : 1;
}
