/*
 * main.c - the orders-sim program: the simulated outside world of the order
 * example (inventory, payment, warehouse, notifications) on HTTP/JSON,
 * completing callbacks on a real Kafka cluster. See sim.h.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duraflow/duraflow.h"
#include "sim.h"

static void usage(FILE *f)
{
        fprintf(f,
                "usage: orders-sim [--data DIR] [--listen HOST] [--port N] [--day-ms N]\n"
                "                  [--payment-delay-ms N] [--fail-dispatch ID[,ID...]]\n"
                "                  [--brokers HOST:PORT] [--prefix P] [-X NAME=VALUE]...\n"
                "\n"
                "The outside world of the order example: inventory, payment, warehouse and\n"
                "notifications behind an HTTP/JSON API, completing duraflow callbacks.\n"
                "\n"
                "Options:\n"
                "  -d, --data DIR             Northwind CSVs (default %s)\n"
                "  -l, --listen HOST          address to bind (default 127.0.0.1)\n"
                "  -P, --port N               TCP port (default 8089; 0 = ephemeral, printed)\n"
                "      --day-ms N             scaled clock: ms per simulated day (default 1000)\n"
                "      --payment-delay-ms N   delay of a payment verdict, ms (default 100)\n"
                "      --fail-dispatch ID[,ID...]  failure injection: POST /warehouse/dispatch of\n"
                "                             these orders answers 503 (a warehouse outage) until\n"
                "                             POST /control/warehouse {\"fail_dispatch\":[]}\n"
                "  -b, --brokers HOST:PORT    Kafka bootstrap servers (default $DF_BROKERS; required:\n"
                "                             embedded mode lives inside one process, so embed the\n"
                "                             simulator with orders_sim_start() instead)\n"
                "  -p, --prefix P             topic prefix (default duraflow)\n"
                "  -X, --set NAME=VALUE       any duraflow configuration property\n"
                "  -h, --help                 this help\n"
                "\n"
                "Prints \"orders-sim listening on HOST:PORT\" once ready; runs until SIGINT or\n"
                "SIGTERM, then prints the final statistics (GET /stats) as JSON.\n",
                ORDERS_DATA_DIR);
}

static int parse_long(const char *opt, const char *s, long min, long max, long *out)
{
        char *end;
        long v;
        errno = 0;
        v = strtol(s, &end, 10);
        if (errno || end == s || *end || v < min || v > max) {
                fprintf(stderr, "orders-sim: --%s: expected an integer in %ld..%ld, got \"%s\"\n", opt, min, max, s);
                return -1;
        }
        *out = v;
        return 0;
}

int main(int argc, char **argv)
{
        enum { OPT_DAY_MS = 1000, OPT_PAY_DELAY, OPT_FAIL_DISPATCH };
        static const struct option opts[] = {{"data", required_argument, 0, 'd'},
                                             {"listen", required_argument, 0, 'l'},
                                             {"port", required_argument, 0, 'P'},
                                             {"day-ms", required_argument, 0, OPT_DAY_MS},
                                             {"payment-delay-ms", required_argument, 0, OPT_PAY_DELAY},
                                             {"fail-dispatch", required_argument, 0, OPT_FAIL_DISPATCH},
                                             {"brokers", required_argument, 0, 'b'},
                                             {"prefix", required_argument, 0, 'p'},
                                             {"set", required_argument, 0, 'X'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
        orders_sim_opts_t o;
        orders_sim_t *sim;
        df_conf_t *conf;
        const char *env = getenv("DF_BROKERS"), *brokers;
        char errstr[512], *stats;
        int32_t *fail = NULL;
        size_t n_fail = 0;
        sigset_t sigs;
        long v;
        int c, sig = 0;

        orders_sim_opts_init(&o);
        o.port = 8089;
        conf = df_conf_new();
        if (!conf) {
                fprintf(stderr, "orders-sim: out of memory\n");
                return 1;
        }
        df_conf_set(conf, "log.level", "warn", errstr, sizeof(errstr));
        if (env && *env && df_conf_set(conf, "brokers", env, errstr, sizeof(errstr)) != DF_OK) {
                fprintf(stderr, "orders-sim: DF_BROKERS: %s\n", errstr);
                df_conf_destroy(conf);
                return 2;
        }
        while ((c = getopt_long(argc, argv, "d:l:P:b:p:X:h", opts, NULL)) != -1) {
                df_err_t rc = DF_OK;
                switch (c) {
                case 'd':
                        o.data_dir = optarg;
                        break;
                case 'l':
                        o.listen_host = optarg;
                        break;
                case 'P':
                        if (parse_long("port", optarg, 0, 65535, &v))
                                goto usage_err;
                        o.port = (int)v;
                        break;
                case OPT_DAY_MS:
                        if (parse_long("day-ms", optarg, 1, LONG_MAX, &v))
                                goto usage_err;
                        o.day_ms = v;
                        break;
                case OPT_PAY_DELAY:
                        if (parse_long("payment-delay-ms", optarg, 0, INT_MAX, &v))
                                goto usage_err;
                        o.payment_delay_ms = (int)v;
                        break;
                case OPT_FAIL_DISPATCH: {
                        char *list = strdup(optarg), *tok, *save = NULL;
                        if (!list) {
                                fprintf(stderr, "orders-sim: out of memory\n");
                                goto usage_err;
                        }
                        for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                                int32_t *n = realloc(fail, (n_fail + 1) * sizeof(*n));
                                if (!n || parse_long("fail-dispatch", tok, 1, INT32_MAX, &v)) {
                                        if (n)
                                                fail = n;
                                        free(list);
                                        goto usage_err;
                                }
                                fail = n;
                                fail[n_fail++] = (int32_t)v;
                        }
                        free(list);
                        if (!n_fail) {
                                fprintf(stderr, "orders-sim: --fail-dispatch: expected order ids, got \"%s\"\n",
                                        optarg);
                                goto usage_err;
                        }
                        break;
                }
                case 'b':
                        rc = df_conf_set(conf, "brokers", optarg, errstr, sizeof(errstr));
                        break;
                case 'p':
                        rc = df_conf_set(conf, "topic.prefix", optarg, errstr, sizeof(errstr));
                        break;
                case 'X':
                        rc = df_conf_set_pair(conf, optarg, errstr, sizeof(errstr));
                        break;
                case 'h':
                        usage(stdout);
                        df_conf_destroy(conf);
                        free(fail);
                        return 0;
                default:
                        usage(stderr);
                        goto usage_err;
                }
                if (rc != DF_OK) {
                        fprintf(stderr, "orders-sim: %s\n", errstr);
                        goto usage_err;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "orders-sim: unexpected argument \"%s\" (see --help)\n", argv[optind]);
                goto usage_err;
        }
        brokers = df_conf_get(conf, "brokers");
        if (!brokers || !*brokers) {
                fprintf(stderr, "orders-sim: no brokers: give --brokers HOST:PORT or set DF_BROKERS "
                                "(embedded mode lives inside one process; the all-in-one demo embeds the "
                                "simulator)\n");
                goto usage_err;
        }
        df_log_set_level(df_conf_get(conf, "log.level"));
        o.conf = conf;
        o.fail_dispatch = fail;
        o.n_fail_dispatch = n_fail;

        /* Block the stop signals in every thread (the simulator's threads
         * inherit the mask) and wait for them here. */
        sigemptyset(&sigs);
        sigaddset(&sigs, SIGINT);
        sigaddset(&sigs, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &sigs, NULL);

        sim = orders_sim_start(&o, errstr, sizeof(errstr));
        if (!sim) {
                fprintf(stderr, "orders-sim: %s\n", errstr);
                df_conf_destroy(conf);
                free(fail);
                return 1;
        }
        printf("orders-sim listening on %s:%d\n", o.listen_host, orders_sim_port(sim));
        fflush(stdout);
        while (sigwait(&sigs, &sig) != 0)
                ;
        fprintf(stderr, "orders-sim: %s, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
        stats = orders_sim_stats_json(sim);
        orders_sim_stop(sim);
        if (stats) {
                printf("%s\n", stats);
                free(stats);
        }
        fflush(stdout);
        df_conf_destroy(conf);
        free(fail);
        return 0;

usage_err:
        df_conf_destroy(conf);
        free(fail);
        return 2;
}
