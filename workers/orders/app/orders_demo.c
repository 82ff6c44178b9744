/*
 * orders-demo -- the order-processing example in one process: embedded
 * Kafka (in-process mock cluster) unless --brokers is given, RocksDB in a
 * fresh temporary directory, a timer service, N workers, the simulators
 * (orders-sim) on an ephemeral port; loads the 830 Northwind orders, shows
 * progress once per second and ends with the summary and the simulator's
 * checks.
 */
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "duraflow/console.h"

#include "cli_common.h"
#include "order_summary.h"
#include "order_workflow.h"
#include "sim.h"
#include "sim_http.h"

#define MAX_WORKERS 16

static const char *prog = "orders-demo";
static volatile sig_atomic_t interrupted;

static void usage(FILE *f)
{
        fprintf(f,
                "usage: orders-demo [options]\n"
                "\n"
                "Runs the order-processing workflow over the 830 real Northwind orders, all in\n"
                "one process: Kafka (embedded: an in-process mock cluster, unless --brokers),\n"
                "RocksDB in a fresh temporary directory (removed at the end), the timer service,\n"
                "the workers and the simulated outside world (inventory, payments, warehouse,\n"
                "notices). Prints progress once per second, then the summary: orders per outcome,\n"
                "revenue, refunds, confirmed orders per shipper, and the simulator's checks.\n"
                "A day of the orders' calendar lasts --day-ms of real time.\n"
                "\n"
                "Options:\n"
                "      --day-ms MS          milliseconds per simulated day (default 1000)\n"
                "      --workers N          worker threads (default 2)\n"
                "      --limit N            only the first N orders (default all)\n"
                "      --timeout SECONDS    give up after this long (default 300)\n"
                "      --data DIR           Northwind CSV directory (default %s)\n"
                "      --json               the summary as JSON on stdout (progress goes to stderr)\n"
                "      --console HOST:PORT  where the in-process console serves its page and API (default\n"
                "                           127.0.0.1:0, a free port; its address is printed)\n"
                "      --no-console         run without the console\n"
                "      --keep-console       after the summary, keep the console up until Ctrl-C\n"
                "  -b, --brokers HOST:PORT  run on this Kafka cluster instead of the embedded one\n"
                "                           (topics get a fresh prefix; $DF_BROKERS is ignored)\n"
                "  -p, --prefix NAME        topic prefix (default orders-demo-<pid>-<time>)\n"
                "  -s, --state-dir DIR      keep RocksDB here (default: a temporary directory,\n"
                "                           removed at the end)\n"
                "  -X, --set NAME=VALUE     any duraflow property (`duraflow config`)\n"
                "  -h, --help               this help\n"
                "\n"
                "Exit status: 0 when every order reached a terminal state in time, the figures\n"
                "match the ones computed from the data, and the simulator's checks hold.\n",
                ORDERS_DATA_DIR);
}

static void on_signal(int sig)
{
        (void)sig;
        interrupted = 1;
}

static void *worker_main(void *p)
{
        df_err_t rc = df_worker_run(p);
        if (rc != DF_OK)
                fprintf(stderr, "%s: worker stopped: %s\n", prog, df_strerror(rc));
        return NULL;
}

static void *timer_main(void *p)
{
        df_err_t rc = df_timer_service_run(p);
        if (rc != DF_OK)
                fprintf(stderr, "%s: timer service stopped: %s\n", prog, df_strerror(rc));
        return NULL;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
        (void)sb;
        (void)flag;
        (void)ftw;
        if (remove(path))
                perror(path);
        return 0;
}

static void on_result(const char *id, df_exec_status_t status, const df_bytes_t *out, const char *error,
                      void *opaque)
{
        ow_tally_add(opaque, id, df_exec_status_name(status), out->data, out->len, error);
}

static json_t *sim_stats(orders_sim_t *sim)
{
        char *text = orders_sim_stats_json(sim);
        json_t *j = text ? json_loads(text, 0, NULL) : NULL;
        free(text);
        return j;
}

static int64_t jint(json_t *o, const char *key)
{
        return (int64_t)json_integer_value(json_object_get(o, key));
}

typedef struct demo {
        df_conf_t *conf;
        ow_dataset_t *ds;
        df_timer_service_t *ts;
        pthread_t ts_thr;
        int n_workers;
        df_worker_t *w[MAX_WORKERS];
        ow_flow_t *flow[MAX_WORKERS];
        pthread_t w_thr[MAX_WORKERS];
        orders_sim_t *sim;
        df_client_t *client;
        df_results_t *results;
        ow_tally_t *tally;
        df_console_t *console;
        pthread_t console_thr;
} demo_t;

static void *console_main(void *p)
{
        df_err_t rc = df_console_run(p);
        if (rc != DF_OK)
                fprintf(stderr, "%s: console stopped: %s\n", prog, df_strerror(rc));
        return NULL;
}

static void demo_stop(demo_t *d)
{
        int i;
        if (d->console) {
                df_console_stop(d->console);
                pthread_join(d->console_thr, NULL);
                df_console_destroy(d->console);
                d->console = NULL;
        }
        for (i = 0; i < d->n_workers; i++)
                if (d->w[i])
                        df_worker_stop(d->w[i]);
        for (i = 0; i < d->n_workers; i++) {
                if (d->w[i]) {
                        pthread_join(d->w_thr[i], NULL);
                        df_worker_destroy(d->w[i]);
                }
                ow_flow_free(d->flow[i]);
        }
        orders_sim_stop(d->sim);
        if (d->ts) {
                df_timer_service_stop(d->ts);
                pthread_join(d->ts_thr, NULL);
                df_timer_service_destroy(d->ts);
        }
        df_results_close(d->results);
        df_client_destroy(d->client);
        ow_tally_free(d->tally);
        ow_dataset_free(d->ds);
        df_conf_destroy(d->conf);
}

int main(int argc, char **argv)
{
        const char *data = ORDERS_DATA_DIR;
        int64_t day_ms = 1000, workers = 2, limit = -1, timeout_s = 300;
        int64_t t_begin = ow_cli_mono_ms(), t_load, t_end, deadline, next_tick;
        int i, json = 0, own_state = 0, ok, status, no_console = 0, keep_console = 0;
        const char *console_listen = "127.0.0.1:0";
        const ow_opt_t opts[] = {OW_OPT_INT("day-ms", &day_ms, 1, 86400000),
                                 OW_OPT_INT("workers", &workers, 1, MAX_WORKERS),
                                 OW_OPT_INT("limit", &limit, 0, 1000000000),
                                 OW_OPT_INT("timeout", &timeout_s, 1, 86400),
                                 OW_OPT_STR("data", &data),
                                 OW_OPT_FLAG("json", &json),
                                 OW_OPT_STR("console", &console_listen),
                                 OW_OPT_FLAG("no-console", &no_console),
                                 OW_OPT_FLAG("keep-console", &keep_console),
                                 OW_OPT_END};
        /* The demo is embedded unless --brokers says otherwise: $DF_BROKERS
         * (set by the broker scripts) does not redirect it. */
        ow_cli_t cli = {.prog = prog, .usage = usage, .opts = opts, .ignore_env_brokers = 1};
        char errstr[512], state_dir[256] = "", sim_url[64], prefix[96];
        size_t n_orders, started = 0;
        demo_t d;
        json_t *stats = NULL;
        FILE *progress;

        memset(&d, 0, sizeof(d));
        if (!(d.conf = ow_cli_parse(&cli, argc, argv, &status)))
                return status;
        if (cli.state_dir)
                snprintf(state_dir, sizeof(state_dir), "%s", cli.state_dir);
        progress = json ? stderr : stdout;
        setvbuf(stdout, NULL, _IOLBF, 0);

        /* configuration: fresh prefix and state directory */
        if (!cli.prefix) {
                snprintf(prefix, sizeof(prefix), "orders-demo-%ld-%ld", (long)getpid(), (long)time(NULL));
                df_conf_set(d.conf, "topic.prefix", prefix, errstr, sizeof(errstr));
        }
        if (!state_dir[0]) {
                const char *tmp = getenv("TMPDIR");
                snprintf(state_dir, sizeof(state_dir), "%s/orders-demo-XXXXXX", tmp && *tmp ? tmp : "/tmp");
                if (!mkdtemp(state_dir)) {
                        perror("mkdtemp");
                        return 1;
                }
                own_state = 1;
                df_conf_set(d.conf, "state.dir", state_dir, errstr, sizeof(errstr));
        }
        if (ow_http_global_init())
                return 1;
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
        signal(SIGPIPE, on_signal); /* stdout closed (| head): stop, but clean up */

        d.ds = ow_cli_load_dataset(prog, data);
        if (!d.ds)
                goto fail;
        n_orders = ow_dataset_order_count(d.ds);
        if (limit >= 0 && (size_t)limit < n_orders)
                n_orders = (size_t)limit;
        d.tally = ow_tally_new(d.ds);
        if (!d.tally)
                goto fail;

        fprintf(progress, "orders-demo: %zu orders, %d worker%s, 1 day = %lld ms, Kafka: %s, state: %s\n", n_orders,
                (int)workers, workers == 1 ? "" : "s", (long long)day_ms,
                *df_conf_get(d.conf, "brokers") ? df_conf_get(d.conf, "brokers") : "embedded (in-process mock cluster)",
                state_dir);

        /* the simulated outside world, on an ephemeral port */
        {
                orders_sim_opts_t so;
                orders_sim_opts_init(&so);
                so.data_dir = data;
                so.port = 0;
                so.day_ms = day_ms;
                so.conf = d.conf;
                d.sim = orders_sim_start(&so, errstr, sizeof(errstr));
                if (!d.sim) {
                        fprintf(stderr, "%s: simulator: %s\n", prog, errstr);
                        goto fail;
                }
                snprintf(sim_url, sizeof(sim_url), "http://127.0.0.1:%d", orders_sim_port(d.sim));
        }

        /* timer service and workers */
        d.ts = df_timer_service_new(d.conf, errstr, sizeof(errstr));
        if (!d.ts) {
                fprintf(stderr, "%s: timer service: %s\n", prog, errstr);
                goto fail;
        }
        pthread_create(&d.ts_thr, NULL, timer_main, d.ts);
        for (i = 0; i < workers; i++) {
                df_conf_t *wc = df_conf_dup(d.conf);
                char wid[64];
                snprintf(wid, sizeof(wid), "demo-%ld-%d", (long)getpid(), i + 1);
                if (!wc || df_conf_set(wc, "worker.id", wid, errstr, sizeof(errstr)) != DF_OK) {
                        df_conf_destroy(wc);
                        goto fail;
                }
                d.flow[i] = ow_flow_new(d.ds, sim_url);
                d.w[i] = d.flow[i] ? df_worker_new(wc, errstr, sizeof(errstr)) : NULL;
                df_conf_destroy(wc);
                d.n_workers = i + 1;
                if (!d.w[i]) {
                        fprintf(stderr, "%s: worker: %s\n", prog, d.flow[i] ? errstr : "out of memory");
                        goto fail;
                }
                ow_flow_register(d.w[i], d.flow[i]);
                pthread_create(&d.w_thr[i], NULL, worker_main, d.w[i]);
        }

        /* client and results reader */
        d.client = df_client_new(d.conf, errstr, sizeof(errstr));
        d.results = d.client ? df_results_open(d.conf, 1, errstr, sizeof(errstr)) : NULL;
        if (!d.results) {
                fprintf(stderr, "%s: %s\n", prog, errstr);
                goto fail;
        }

        /* the console, in this process (embedded mode's cluster is only
         * reachable from here): follows the run, serves its page */
        if (!no_console) {
                df_conf_t *cc = df_conf_dup(d.conf);
                char cdir[300];
                snprintf(cdir, sizeof(cdir), "%s/console", state_dir);
                if (!cc || df_conf_set(cc, "console.state.dir", cdir, errstr, sizeof(errstr)) != DF_OK ||
                    df_conf_set(cc, "console.listen", console_listen, errstr, sizeof(errstr)) != DF_OK) {
                        fprintf(stderr, "%s: console: %s\n", prog, errstr);
                        df_conf_destroy(cc);
                        goto fail;
                }
                d.console = df_console_new(cc, errstr, sizeof(errstr));
                df_conf_destroy(cc);
                if (!d.console) {
                        fprintf(stderr, "%s: console: %s\n", prog, errstr);
                        goto fail;
                }
                pthread_create(&d.console_thr, NULL, console_main, d.console);
                fprintf(progress, "orders-demo: console at %s (executions, timelines, what each order waits on)\n",
                        df_console_address(d.console));
        }

        /* load: one execution per order (idempotent by name) */
        t_load = ow_cli_mono_ms();
        for (started = 0; started < n_orders; started++) {
                const ow_order_t *o = ow_dataset_order_at(d.ds, started);
                char id[64], input[128];
                size_t len = ow_flow_input(o->order_id, day_ms, input, sizeof(input));
                ow_flow_execution_id(o->order_id, id, sizeof(id));
                if (df_client_start_async(d.client, OW_WORKFLOW_NAME, id, input, len, errstr, sizeof(errstr)) !=
                    DF_OK) {
                        fprintf(stderr, "%s: start %s: %s\n", prog, id, errstr);
                        goto fail;
                }
        }
        if (df_client_flush(d.client, 30000) != DF_OK) {
                fprintf(stderr, "%s: the starts were not acknowledged by Kafka within 30 s\n", prog);
                goto fail;
        }
        fprintf(progress, "[%6.1fs] started %zu orders (acknowledged by Kafka in %lld ms)\n",
                (double)(ow_cli_mono_ms() - t_load) / 1000.0, started, (long long)(ow_cli_mono_ms() - t_load));

        {
                /* the loaded orders that never ship (shippedDate NULL): counted, not assumed */
                size_t never = 0, k;
                for (k = 0; k < started; k++)
                        never += !ow_dataset_order_at(d.ds, k)->has_shipped;
                fprintf(progress,
                        "           (in flight: orders not finished; awaiting shipment: dispatched, the warehouse "
                        "has not reported yet;\n"
                        "            sim queue: callback completions the simulators have still to send; timers: "
                        "pending timers, i.e.\n"
                        "            payment and shipment timeouts and late orders' 30-day grace periods: the %zu "
                        "order%s that never\n"
                        "            ship wait%s there, at 1 day = %lld ms, before %s cancelled)\n",
                        never, never == 1 ? "" : "s", never == 1 ? "s" : "", (long long)day_ms,
                        never == 1 ? "it is" : "they are");
        }
        /* run: results as they come, progress once per second */
        deadline = t_load + timeout_s * 1000;
        next_tick = t_load + 1000;
        while (ow_tally_done(d.tally) < n_orders && !interrupted && ow_cli_mono_ms() < deadline) {
                int64_t now;
                if (df_results_poll(d.results, 200, on_result, d.tally) < 0) {
                        fprintf(stderr, "%s: reading the results failed\n", prog);
                        break;
                }
                now = ow_cli_mono_ms();
                if (now >= next_tick) {
                        char counts[256];
                        df_timer_stats_t tst;
                        json_t *st = sim_stats(d.sim);
                        df_timer_service_get_stats(d.ts, &tst);
                        ow_tally_progress(d.tally, counts, sizeof(counts));
                        fprintf(progress,
                                "[%6.1fs] started %zu  finished %zu  in flight %zu (awaiting shipment %lld) | %s"
                                " | sim queue %lld  timers %llu\n",
                                (double)(now - t_load) / 1000.0, started, ow_tally_done(d.tally),
                                started - ow_tally_done(d.tally), (long long)jint(st, "shipments_pending"), counts,
                                (long long)jint(st, "callbacks_pending"), (unsigned long long)tst.pending);
                        json_decref(st);
                        while (next_tick <= now)
                                next_tick += 1000;
                }
        }
        t_end = ow_cli_mono_ms();
        stats = sim_stats(d.sim);

        /* summary */
        {
                int all_done = ow_tally_done(d.tally) >= n_orders && !ow_tally_failed(d.tally);
                int checks = stats && ow_sim_checks(d.tally, stats, NULL);
                int matches = ow_tally_matches_expected(d.tally, NULL);
                double wall = (double)(t_end - t_begin) / 1000.0, run = (double)(t_end - t_load) / 1000.0;
                ok = all_done && checks && matches;
                if (json) {
                        json_t *j = ow_tally_to_json(d.tally, stats);
                        json_object_set_new(j, "expected_orders", json_integer((json_int_t)n_orders));
                        json_object_set_new(j, "all_terminal", json_boolean(all_done));
                        json_object_set_new(j, "matches_expected", json_boolean(matches));
                        json_object_set_new(j, "day_ms", json_integer((json_int_t)day_ms));
                        json_object_set_new(j, "workers", json_integer((json_int_t)workers));
                        json_object_set_new(j, "wall_time_s", json_real(wall));
                        json_object_set_new(j, "ok", json_boolean(ok));
                        json_dumpf(j, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
                        fputc('\n', stdout);
                        json_decref(j);
                } else {
                        printf("\n=== Summary: %zu of %zu orders finished in %.1f s (1 day = %lld ms) ===\n",
                               ow_tally_done(d.tally), n_orders, run, (long long)day_ms);
                        ow_tally_print(d.tally, stats, stdout);
                        printf("Figures computed from the data (orders_logic)  %s\n",
                               matches ? "match" : "DIFFER:");
                        if (!matches)
                                ow_tally_matches_expected(d.tally, stdout);
                        printf("Wall time                       %9.1f s\n", wall);
                        printf("%s\n", ok ? "OK" : "FAILED");
                }
                if (!all_done) {
                        char missing[512];
                        size_t n_missing = ow_tally_missing(d.tally, n_orders, 10, missing, sizeof(missing));
                        fprintf(stderr, "%s: %zu of %zu orders reached a terminal state%s\n", prog,
                                ow_tally_done(d.tally), n_orders,
                                interrupted ? " (interrupted)" : " within the time limit");
                        if (n_missing)
                                fprintf(stderr, "%s: without a result: %s%s (`duraflow -p %s history <id>` tells why)\n",
                                        prog, missing, n_missing > 10 ? " ..." : "", df_conf_get(d.conf, "topic.prefix"));
                }
        }
        json_decref(stats);
        if (d.console && keep_console && !interrupted) {
                fflush(stdout); /* the summary reaches a pipe before the wait */
                fprintf(stderr, "%s: the console stays at %s until Ctrl-C\n", prog, df_console_address(d.console));
                while (!interrupted)
                        usleep(200000);
        }
        demo_stop(&d);
        if (own_state)
                nftw(state_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        ow_http_global_cleanup();
        return ok ? 0 : 1;
fail:
        demo_stop(&d);
        if (own_state)
                nftw(state_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        ow_http_global_cleanup();
        return 1;
}
