/* cli_common.c -- see cli_common.h. */
#include "cli_common.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* getopt_long's value of the program's option i: O_FIRST + i */
enum { O_FIRST = 1000 };

static const struct option common_opts[] = {
        {"brokers", required_argument, NULL, 'b'}, {"prefix", required_argument, NULL, 'p'},
        {"state-dir", required_argument, NULL, 's'}, {"set", required_argument, NULL, 'X'},
        {"help", no_argument, NULL, 'h'}};
#define N_COMMON (sizeof(common_opts) / sizeof(common_opts[0]))

/* A conf with log.level warn and brokers from $DF_BROKERS (or none). NULL on OOM. */
static df_conf_t *conf_new(int ignore_env_brokers)
{
        df_conf_t *conf = df_conf_new();
        const char *b = getenv("DF_BROKERS");
        char e[256];
        if (!conf)
                return NULL;
        df_conf_set(conf, "log.level", "warn", e, sizeof(e));
        if (b && *b && df_conf_set(conf, "brokers", b, e, sizeof(e)) != DF_OK)
                fprintf(stderr, "warning: DF_BROKERS: %s\n", e);
        if (ignore_env_brokers)
                df_conf_set(conf, "brokers", "", e, sizeof(e));
        return conf;
}

/* Set the property key (NULL: arg is NAME=VALUE); -1 (message printed) on a bad value. */
static int set_conf(df_conf_t *conf, const char *key, const char *arg, const char *prog)
{
        char e[512];
        df_err_t rc = key ? df_conf_set(conf, key, arg, e, sizeof(e)) : df_conf_set_pair(conf, arg, e, sizeof(e));
        if (rc != DF_OK) {
                fprintf(stderr, "%s: %s\n", prog, e);
                return -1;
        }
        return 0;
}

/* Parse the integer of option o; -1 (message printed) when invalid. */
static int set_int(const ow_opt_t *o, const char *arg, const char *prog)
{
        char *end;
        long long v;
        errno = 0;
        v = strtoll(arg, &end, 10);
        if (errno || end == arg || *end || v < o->min || v > o->max) {
                fprintf(stderr, "%s: --%s must be an integer in %lld..%lld (got \"%s\")\n", prog, o->name,
                        (long long)o->min, (long long)o->max, arg);
                return -1;
        }
        *o->num = v;
        return 0;
}

/* Apply the program's option o; -1 (message printed) on a bad value. */
static int set_opt(df_conf_t *conf, const ow_opt_t *o, const char *arg, const char *prog)
{
        if (o->str)
                *o->str = arg;
        else if (o->num)
                return set_int(o, arg, prog);
        else if (o->flag)
                *o->flag = 1;
        else
                return set_conf(conf, o->conf_key, arg, prog);
        return 0;
}

df_conf_t *ow_cli_parse(ow_cli_t *cli, int argc, char **argv, int *status)
{
        struct option lo[OW_CLI_MAX_OPTS + N_COMMON + 1];
        const char *prog = cli->prog;
        df_conf_t *conf;
        int n, c, bad;

        /* the program's options first, then the common ones */
        for (n = 0; cli->opts && cli->opts[n].name; n++) {
                if (n == OW_CLI_MAX_OPTS) {
                        fprintf(stderr, "%s: more than %d options\n", prog, OW_CLI_MAX_OPTS);
                        *status = 1;
                        return NULL;
                }
                lo[n] = (struct option){cli->opts[n].name, cli->opts[n].flag ? no_argument : required_argument, NULL,
                                        O_FIRST + n};
        }
        memcpy(&lo[n], common_opts, sizeof(common_opts));
        memset(&lo[n + N_COMMON], 0, sizeof(lo[0]));
        cli->prefix = cli->state_dir = NULL;
        conf = conf_new(cli->ignore_env_brokers);
        if (!conf) {
                *status = 1;
                return NULL;
        }
        *status = 2;
        while ((c = getopt_long(argc, argv, "b:p:s:X:h", lo, NULL)) != -1) {
                switch (c) {
                case 'b':
                        bad = set_conf(conf, "brokers", optarg, prog);
                        break;
                case 'p':
                        cli->prefix = optarg;
                        bad = set_conf(conf, "topic.prefix", optarg, prog);
                        break;
                case 's':
                        cli->state_dir = optarg;
                        bad = set_conf(conf, "state.dir", optarg, prog);
                        break;
                case 'X':
                        bad = set_conf(conf, NULL, optarg, prog);
                        break;
                case 'h':
                        cli->usage(stdout);
                        *status = 0;
                        goto stop;
                default:
                        if (c < O_FIRST || c >= O_FIRST + n) {
                                cli->usage(stderr); /* getopt_long said what is wrong */
                                goto stop;
                        }
                        bad = set_opt(conf, &cli->opts[c - O_FIRST], optarg, prog);
                        break;
                }
                if (bad)
                        goto stop;
        }
        if (optind < argc) {
                fprintf(stderr, "%s: unexpected argument \"%s\"\n", prog, argv[optind]);
                goto stop;
        }
        if (cli->need_brokers && !*df_conf_get(conf, "brokers")) {
                fprintf(stderr, "%s: no brokers: give --brokers HOST:PORT or set DF_BROKERS%s\n", prog,
                        cli->need_brokers);
                goto stop;
        }
        *status = 0;
        return conf;
stop:
        df_conf_destroy(conf);
        return NULL;
}

static void report_row(void *opaque, const char *file, long line, const char *message)
{
        const char *prog = opaque;
        if (line > 0)
                fprintf(stderr, "%s: %s:%ld: %s\n", prog, file, line, message);
        else
                fprintf(stderr, "%s: %s: %s\n", prog, file, message);
}

ow_dataset_t *ow_cli_load_dataset(const char *prog, const char *dir)
{
        ow_dataset_t *ds = ow_dataset_load(dir, report_row, (void *)prog);
        if (!ds)
                fprintf(stderr, "%s: cannot load the Northwind CSVs from %s\n", prog, dir);
        else if (ow_dataset_problem_count(ds))
                fprintf(stderr, "%s: %zu problem(s) in the CSVs of %s (rows reported above were skipped)\n", prog,
                        ow_dataset_problem_count(ds), dir);
        return ds;
}

int64_t ow_cli_mono_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
