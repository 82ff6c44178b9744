/* cli_common.c -- see cli_common.h. */
#include "cli_common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

df_conf_t *ow_cli_conf_new(void)
{
        df_conf_t *conf = df_conf_new();
        const char *b = getenv("DF_BROKERS");
        char e[256];
        if (!conf)
                return NULL;
        df_conf_set(conf, "log.level", "warn", e, sizeof(e));
        if (b && *b && df_conf_set(conf, "brokers", b, e, sizeof(e)) != DF_OK)
                fprintf(stderr, "warning: DF_BROKERS: %s\n", e);
        return conf;
}

int ow_cli_common(df_conf_t *conf, int c, const char *arg, const char *prog)
{
        char e[512];
        df_err_t rc;
        switch (c) {
        case 'b':
                rc = df_conf_set(conf, "brokers", arg, e, sizeof(e));
                break;
        case 'p':
                rc = df_conf_set(conf, "topic.prefix", arg, e, sizeof(e));
                break;
        case 's':
                rc = df_conf_set(conf, "state.dir", arg, e, sizeof(e));
                break;
        case 'X':
                rc = df_conf_set_pair(conf, arg, e, sizeof(e));
                break;
        default:
                return 0;
        }
        if (rc != DF_OK) {
                fprintf(stderr, "%s: %s\n", prog, e);
                return -1;
        }
        return 1;
}

int ow_cli_int(const char *prog, const char *opt, const char *arg, int64_t min, int64_t max, int64_t *out)
{
        char *end;
        long long v;
        errno = 0;
        v = strtoll(arg, &end, 10);
        if (errno || end == arg || *end || v < min || v > max) {
                fprintf(stderr, "%s: %s must be an integer in %lld..%lld (got \"%s\")\n", prog, opt, (long long)min,
                        (long long)max, arg);
                return -1;
        }
        *out = v;
        return 0;
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
