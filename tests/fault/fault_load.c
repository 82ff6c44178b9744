/*
 * fault_load -- load generator for the fault tests.
 *
 *   fault_load start --brokers B --prefix P [--workflow five] [--name-prefix five-]
 *                    --count N [--first K] [--rate PER_S] [--input TEXT] [--timeout S]
 *       df_client_start_async for executions <name-prefix><K..K+N-1>, then
 *       df_client_flush until every start is acknowledged (durable in Kafka).
 *       Prints "acked N starts" and exits 0, or 1 if not all were acked.
 *
 *   fault_load callbacks --brokers B --prefix P --cb-file F --count M [--timeout S]
 *       Follows F (lines "<execution id> <callback id>" written by the cb
 *       workflow's submitter) and completes each execution's callback with
 *       payload "pay:<execution id>", waiting for the worker's verdict:
 *       DF_OK or DF_ERR_FINISHED (already completed) = done; DF_ERR_UNKNOWN_CALLBACK
 *       = the id came from an aborted transaction, wait for the next line of
 *       that execution; anything else (timeout, Kafka) = retry.  Exits 0 when
 *       M executions are done.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "duraflow/duraflow.h"
#include "fault_common.h"

static const char *brokers, *prefix, *workflow = "five", *name_prefix = "five-", *input = "in", *cb_file;
static long count = -1, first = 0;
static double rate;
static int timeout_s = 300;
static const char *xprops[32];
static int n_xprops;

static df_client_t *client_new(void)
{
        df_conf_t *conf = df_conf_new();
        char errstr[512];
        df_client_t *c;
        int i;
        if (df_conf_set(conf, "brokers", brokers, errstr, sizeof(errstr)) ||
            df_conf_set(conf, "topic.prefix", prefix, errstr, sizeof(errstr)) ||
            df_conf_set(conf, "log.level", "warn", errstr, sizeof(errstr)) ||
            df_conf_set(conf, "client.timeout.ms", "10000", errstr, sizeof(errstr)))
                fc_die("conf: %s", errstr);
        for (i = 0; i < n_xprops; i++)
                if (df_conf_set_pair(conf, xprops[i], errstr, sizeof(errstr)))
                        fc_die("conf: %s", errstr);
        c = df_client_new(conf, errstr, sizeof(errstr));
        df_conf_destroy(conf);
        if (!c)
                fc_die("df_client_new: %s", errstr);
        return c;
}

static int cmd_start(void)
{
        int64_t t0 = fc_mono_ms(), deadline = t0 + (int64_t)timeout_s * 1000;
        df_client_t *c = client_new();
        char id[256], errstr[512];
        long i;
        df_err_t rc;

resend:
        for (i = 0; i < count; i++) {
                snprintf(id, sizeof(id), "%s%ld", name_prefix, first + i);
                while ((rc = df_client_start_async(c, workflow, id, input, strlen(input), errstr, sizeof(errstr))) !=
                       DF_OK) {
                        if (fc_mono_ms() > deadline)
                                fc_die("start %s: %s", id, errstr);
                        usleep(100000);
                }
                if (rate > 0) {
                        int64_t due = t0 + (int64_t)((double)(i + 1) * 1000.0 / rate);
                        int64_t now = fc_mono_ms();
                        if (due > now)
                                usleep((useconds_t)(due - now) * 1000);
                }
        }
        for (;;) {
                rc = df_client_flush(c, 1000);
                if (rc == DF_OK)
                        break;
                if (fc_mono_ms() > deadline) {
                        fprintf(stderr, "fault_load: not every start was acknowledged within %d s\n", timeout_s);
                        df_client_destroy(c);
                        return 1;
                }
                if (rc == DF_ERR_KAFKA) {
                        /* some were not delivered: send them all again
                         * (a start is idempotent by execution name) */
                        fprintf(stderr, "fault_load: %s; sending the starts again\n", df_strerror(rc));
                        rate = 0;
                        goto resend;
                }
        }
        printf("fault_load: acked %ld starts (%s%ld..%s%ld) in %lld ms\n", count, name_prefix, first, name_prefix,
               first + count - 1, (long long)(fc_mono_ms() - t0));
        fflush(stdout);
        df_client_destroy(c);
        return 0;
}

typedef struct cb_state {
        char cb[512];    /* latest callback id seen */
        int tried;       /* cb was tried and rejected as unknown */
        int done;
} cb_state_t;

static int cmd_callbacks(void)
{
        int64_t t0 = fc_mono_ms(), deadline = t0 + (int64_t)timeout_s * 1000;
        df_client_t *c = client_new();
        fc_map_t *m = fc_map_new();
        char **order = NULL;
        long n_order = 0, cap = 0, n_done = 0, stale = 0, retries = 0, i;
        long pos = 0;
        FILE *f = NULL;

        while (n_done < count) {
                char line[1024];
                if (fc_mono_ms() > deadline) {
                        fprintf(stderr, "fault_load: %ld of %ld callbacks completed within %d s\n", n_done, count,
                                timeout_s);
                        return 1;
                }
                if (!f)
                        f = fopen(cb_file, "r");
                if (f) {
                        fseek(f, pos, SEEK_SET);
                        while (fgets(line, sizeof(line), f)) {
                                char exec[256], cb[512];
                                cb_state_t *s;
                                if (!strchr(line, '\n'))
                                        break; /* partial line: read it again later */
                                pos = ftell(f);
                                if (sscanf(line, "%255s %511s", exec, cb) != 2)
                                        continue;
                                s = fc_map_get(m, exec);
                                if (!s) {
                                        s = calloc(1, sizeof(*s));
                                        fc_map_put(m, exec, s);
                                        if (n_order == cap) {
                                                cap = cap ? cap * 2 : 256;
                                                order = realloc(order, (size_t)cap * sizeof(*order));
                                        }
                                        order[n_order++] = strdup(exec);
                                }
                                if (strcmp(s->cb, cb)) {
                                        snprintf(s->cb, sizeof(s->cb), "%s", cb);
                                        s->tried = 0;
                                }
                        }
                        clearerr(f);
                }
                for (i = 0; i < n_order; i++) {
                        cb_state_t *s = fc_map_get(m, order[i]);
                        char pay[300], errstr[512];
                        df_err_t rc;
                        if (s->done || s->tried)
                                continue;
                        if (fc_mono_ms() > deadline)
                                break;
                        snprintf(pay, sizeof(pay), "pay:%s", order[i]);
                        rc = df_client_callback(c, s->cb, DF_CALLBACK_SUCCESS, pay, strlen(pay), NULL, 1, errstr,
                                                sizeof(errstr));
                        if (rc == DF_OK || rc == DF_ERR_FINISHED) {
                                s->done = 1;
                                n_done++;
                        } else if (rc == DF_ERR_UNKNOWN_CALLBACK) {
                                s->tried = 1;
                                stale++;
                        } else {
                                retries++;
                                fprintf(stderr, "fault_load: callback for %s: %s (%s); will retry\n", order[i],
                                        df_err_name(rc), errstr);
                        }
                }
                if (n_done < count)
                        usleep(100000);
        }
        printf("fault_load: completed %ld callbacks in %lld ms (stale ids rejected: %ld, retries: %ld)\n", n_done,
               (long long)(fc_mono_ms() - t0), stale, retries);
        fflush(stdout);
        if (f)
                fclose(f);
        for (i = 0; i < n_order; i++)
                free(order[i]);
        free(order);
        fc_map_destroy(m, free);
        df_client_destroy(c);
        return 0;
}

int main(int argc, char **argv)
{
        static const struct option opts[] = {
                {"brokers", required_argument, 0, 'b'},    {"prefix", required_argument, 0, 'p'},
                {"workflow", required_argument, 0, 'w'},   {"name-prefix", required_argument, 0, 'n'},
                {"count", required_argument, 0, 'c'},      {"first", required_argument, 0, 'f'},
                {"rate", required_argument, 0, 'r'},       {"input", required_argument, 0, 'i'},
                {"timeout", required_argument, 0, 't'},    {"cb-file", required_argument, 0, 'C'},
                {0, 0, 0, 0}};
        const char *cmd;
        int c;
        if (argc < 2)
                fc_die("usage: fault_load start|callbacks [options] (see the source)");
        cmd = argv[1];
        optind = 2;
        while ((c = getopt_long(argc, argv, "X:", opts, NULL)) != -1) {
                switch (c) {
                case 'b': brokers = optarg; break;
                case 'p': prefix = optarg; break;
                case 'w': workflow = optarg; break;
                case 'n': name_prefix = optarg; break;
                case 'c': count = atol(optarg); break;
                case 'f': first = atol(optarg); break;
                case 'r': rate = atof(optarg); break;
                case 'i': input = optarg; break;
                case 't': timeout_s = atoi(optarg); break;
                case 'C': cb_file = optarg; break;
                case 'X':
                        if (n_xprops < 31)
                                xprops[n_xprops++] = optarg;
                        break;
                default: fc_die("bad option");
                }
        }
        if (!brokers || !prefix || count < 0)
                fc_die("--brokers, --prefix and --count are required");
        if (!strcmp(cmd, "start"))
                return cmd_start();
        if (!strcmp(cmd, "callbacks")) {
                if (!cb_file)
                        fc_die("callbacks needs --cb-file");
                return cmd_callbacks();
        }
        fc_die("unknown command %s", cmd);
}
