/*
 * cli_common.h -- options shared by the order example's programs:
 *   -b, --brokers HOST:PORT   Kafka bootstrap servers (default $DF_BROKERS;
 *                             empty = embedded mode, an in-process mock cluster)
 *   -p, --prefix NAME         topic prefix (default "duraflow")
 *   -s, --state-dir DIR       RocksDB directory (default "duraflow-state")
 *   -X, --set NAME=VALUE      any duraflow property (kafka.* goes to librdkafka)
 */
#ifndef OW_CLI_COMMON_H
#define OW_CLI_COMMON_H

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>

#include "duraflow/duraflow.h"
#include "orders_logic.h"

#define OW_CLI_SHORT "b:p:s:X:h"
#define OW_CLI_LONG                                                                                 \
        {"brokers", required_argument, NULL, 'b'}, {"prefix", required_argument, NULL, 'p'},       \
                {"state-dir", required_argument, NULL, 's'}, {"set", required_argument, NULL, 'X'}, \
                {"help", no_argument, NULL, 'h'}
#define OW_CLI_HELP                                                                               \
        "  -b, --brokers HOST:PORT  Kafka bootstrap servers (default $DF_BROKERS; empty =\n"      \
        "                           embedded mode: an in-process mock Kafka cluster)\n"           \
        "  -p, --prefix NAME        topic prefix (default duraflow)\n"                            \
        "  -s, --state-dir DIR      directory of the RocksDB stores (default duraflow-state)\n"   \
        "  -X, --set NAME=VALUE     any duraflow property (`duraflow config` lists them);\n"      \
        "                           kafka.* passes through to librdkafka\n"                       \
        "  -h, --help               this help\n"

/* A conf with log.level warn and brokers from $DF_BROKERS. NULL on OOM. */
df_conf_t *ow_cli_conf_new(void);

/* Handle a common option c (one of b p s X); returns 1 when handled, 0 when c
 * is not a common option, -1 on a bad value (message printed to stderr). */
int ow_cli_common(df_conf_t *conf, int c, const char *arg, const char *prog);

/* Parse a positive integer option; -1 (message printed) when invalid. */
int ow_cli_int(const char *prog, const char *opt, const char *arg, int64_t min, int64_t max, int64_t *out);

/* Load the dataset from dir, reporting every bad row ("file:line: message")
 * to stderr; NULL (after the message) when it cannot be loaded. */
ow_dataset_t *ow_cli_load_dataset(const char *prog, const char *dir);

/* Monotonic clock, ms. */
int64_t ow_cli_mono_ms(void);

#endif
