/*
 * cli_common.h -- the command line of the order example's programs.
 *
 * Options every program has (OW_CLI_HELP_BROKERS* and OW_CLI_HELP are their help):
 *   -b, --brokers HOST:PORT   Kafka bootstrap servers (default $DF_BROKERS;
 *                             empty = embedded mode, an in-process mock cluster,
 *                             unless the program needs brokers)
 *   -p, --prefix NAME         topic prefix (default "duraflow")
 *   -s, --state-dir DIR       RocksDB directory (default "duraflow-state")
 *   -X, --set NAME=VALUE      any duraflow property (kafka.* goes to librdkafka)
 *   -h, --help                the program's usage on stdout, exit status 0
 * A program adds its own long options with a table of ow_opt_t and calls
 * ow_cli_parse, which makes the configuration, parses argv with getopt_long
 * and applies the usage-error conventions: a bad value prints a message, an
 * unknown option the usage on stderr, a non-option argument "unexpected
 * argument"; each exits with status 2.
 */
#ifndef OW_CLI_COMMON_H
#define OW_CLI_COMMON_H

#include <stdint.h>
#include <stdio.h>

#include "duraflow/duraflow.h"
#include "orders_logic.h"

/* Help of --brokers: OW_CLI_HELP_BROKERS for a program that may run embedded,
 * OW_CLI_HELP_BROKERS_NEEDED for one with need_brokers (below). */
#define OW_CLI_HELP_BROKERS                                                                       \
        "  -b, --brokers HOST:PORT  Kafka bootstrap servers (default $DF_BROKERS; empty =\n"      \
        "                           embedded mode: an in-process mock Kafka cluster)\n"
#define OW_CLI_HELP_BROKERS_NEEDED                                                                \
        "  -b, --brokers HOST:PORT  Kafka bootstrap servers (default $DF_BROKERS; required:\n"    \
        "                           a real cluster: the embedded one lives in one process)\n"
/* Help of the other common options. */
#define OW_CLI_HELP                                                                               \
        "  -p, --prefix NAME        topic prefix (default duraflow)\n"                            \
        "  -s, --state-dir DIR      directory of the RocksDB stores (default duraflow-state)\n"   \
        "  -X, --set NAME=VALUE     any duraflow property (`duraflow config` lists them);\n"      \
        "                           kafka.* passes through to librdkafka\n"                       \
        "  -h, --help               this help\n"

/* One long option of a program (--name); exactly one destination is set:
 * use the OW_OPT_* macros. */
typedef struct ow_opt {
        const char *name;     /* without the dashes; NULL ends a table */
        const char **str;     /* --name ARG: *str = ARG */
        int64_t *num;         /* --name N: *num = N, an integer in min..max */
        int64_t min, max;
        int *flag;            /* --name (no argument): *flag = 1 */
        const char *conf_key; /* --name ARG: the duraflow property conf_key = ARG */
} ow_opt_t;

#define OW_OPT_STR(name, str) {(name), (str), NULL, 0, 0, NULL, NULL}
#define OW_OPT_INT(name, num, min, max) {(name), NULL, (num), (min), (max), NULL, NULL}
#define OW_OPT_FLAG(name, flag) {(name), NULL, NULL, 0, 0, (flag), NULL}
#define OW_OPT_CONF(name, key) {(name), NULL, NULL, 0, 0, NULL, (key)}
#define OW_OPT_END {NULL, NULL, NULL, 0, 0, NULL, NULL}

/* Most options a program may add to the common ones. */
#define OW_CLI_MAX_OPTS 16

typedef struct ow_cli {
        const char *prog;        /* prefix of every message */
        void (*usage)(FILE *f);  /* the program's help text */
        const ow_opt_t *opts;    /* the program's options, ended by OW_OPT_END */
        /* The configuration starts with log.level warn and brokers from
         * $DF_BROKERS; with ignore_env_brokers, brokers from --brokers only. */
        int ignore_env_brokers;
        /* Non-NULL: the program needs brokers; without them it prints
         * "<prog>: no brokers: give --brokers HOST:PORT or set DF_BROKERS"
         * followed by this text and a newline, and exits with status 2. */
        const char *need_brokers;
        /* Out: the last --prefix and --state-dir given (NULL when none). */
        const char *prefix, *state_dir;
} ow_cli_t;

/* Parse argv. Returns the configuration when the program goes on; NULL when
 * it ends with exit status *status: 0 after --help, 1 when out of memory,
 * 2 on a usage error (message printed). */
df_conf_t *ow_cli_parse(ow_cli_t *cli, int argc, char **argv, int *status);

/* Load the dataset from dir, reporting every bad row ("file:line: message")
 * to stderr; NULL (after the message) when it cannot be loaded. */
ow_dataset_t *ow_cli_load_dataset(const char *prog, const char *dir);

/* Monotonic clock, ms. */
int64_t ow_cli_mono_ms(void);

#endif
