/*
 * duraflow -- the command line: control executions, complete callbacks, run
 * the timer service.
 *
 * Exit codes: 0 success; 1 failure; 2 usage error; 3 not found; 4 conflict;
 * 5 rejected (unknown callback, already finished); 6 unavailable (timeout,
 * Kafka unreachable).
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "duraflow/duraflow.h"

enum { EX_OK = 0, EX_FAIL = 1, EX_USAGE = 2, EX_NOTFOUND = 3, EX_CONFLICT = 4, EX_REJECTED = 5, EX_UNAVAIL = 6 };

static int json_out;
static df_conf_t *conf;

static int exit_code(df_err_t rc)
{
        switch (rc) {
        case DF_OK:
                return EX_OK;
        case DF_ERR_NOT_FOUND:
        case DF_ERR_UNKNOWN_WORKFLOW:
                return EX_NOTFOUND;
        case DF_ERR_CONFLICT:
                return EX_CONFLICT;
        case DF_ERR_UNKNOWN_CALLBACK:
        case DF_ERR_FINISHED:
                return EX_REJECTED;
        case DF_ERR_TIMEOUT:
        case DF_ERR_KAFKA:
                return EX_UNAVAIL;
        case DF_ERR_INVALID_ARG:
        case DF_ERR_CONF:
        case DF_ERR_PAYLOAD_TOO_LARGE:
                return EX_USAGE;
        default:
                return EX_FAIL;
        }
}

static void usage_main(FILE *f)
{
        fprintf(f,
                "usage: duraflow [options] <command> [args]\n"
                "\n"
                "Commands:\n"
                "  start <workflow> <execution-id>   start an execution (idempotent by id)\n"
                "  describe <execution-id>           status, input, output, error\n"
                "  history <execution-id>            every operation: status, attempt, times, result\n"
                "  list                              executions, by --workflow and --status\n"
                "  callback succeed|fail|heartbeat <callback-id>\n"
                "                                    complete a callback as an external system\n"
                "  stop <execution-id>               stop an execution\n"
                "  timer-service                     run the timer service until SIGINT/SIGTERM\n"
                "  config                            print the configuration reference\n"
                "\n"
                "Options (before the command):\n"
                "  -b, --brokers HOST:PORT   Kafka bootstrap servers (default $DF_BROKERS)\n"
                "  -p, --prefix NAME         topic prefix (default duraflow)\n"
                "  -X, --set NAME=VALUE      any configuration property (see `duraflow config`);\n"
                "                            kafka.* passes through to librdkafka\n"
                "  -j, --json                machine-readable output\n"
                "  -h, --help                this help; `duraflow <command> --help` for a command\n"
                "\n"
                "Exit codes: 0 ok, 1 failure, 2 usage, 3 not found, 4 conflict,\n"
                "            5 rejected (unknown or finished callback), 6 unavailable.\n");
}

static int set(const char *name, const char *value)
{
        char errstr[512];
        if (df_conf_set(conf, name, value, errstr, sizeof(errstr)) != DF_OK) {
                fprintf(stderr, "duraflow: %s\n", errstr);
                return -1;
        }
        return 0;
}

static char *read_file(const char *path, size_t *len)
{
        FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
        char *buf = NULL;
        size_t cap = 0, n = 0;
        if (!f) {
                fprintf(stderr, "duraflow: cannot open %s\n", path);
                return NULL;
        }
        for (;;) {
                size_t r;
                if (n == cap) {
                        char *nb = realloc(buf, cap ? cap * 2 : 65536);
                        if (!nb) {
                                free(buf);
                                buf = NULL;
                                break;
                        }
                        buf = nb;
                        cap = cap ? cap * 2 : 65536;
                }
                r = fread(buf + n, 1, cap - n, f);
                n += r;
                if (r == 0)
                        break;
                if (n > 2 * DF_PAYLOAD_MAX) {
                        fprintf(stderr, "duraflow: %s is over %d bytes\n", path, 2 * DF_PAYLOAD_MAX);
                        free(buf);
                        buf = NULL;
                        break;
                }
        }
        if (f != stdin)
                fclose(f);
        *len = n;
        return buf;
}

static df_client_t *client(void)
{
        char errstr[512];
        df_client_t *c;
        const char *b = df_conf_get(conf, "brokers");
        if (!b || !*b) {
                fprintf(stderr, "duraflow: no brokers: give --brokers HOST:PORT or set DF_BROKERS "
                                "(embedded mode lives inside one process, the CLI cannot reach it)\n");
                return NULL;
        }
        c = df_client_new(conf, errstr, sizeof(errstr));
        if (!c)
                fprintf(stderr, "duraflow: %s\n", errstr);
        return c;
}

static int report(df_err_t rc, const char *what, const char *errstr, const char *ok_text)
{
        if (json_out) {
                json_t *o = json_object();
                json_object_set_new(o, "ok", json_boolean(rc == DF_OK));
                json_object_set_new(o, "code", json_string(df_err_name(rc)));
                json_object_set_new(o, "message", json_string(rc == DF_OK ? ok_text : errstr));
                json_dumpf(o, stdout, JSON_COMPACT);
                fputc('\n', stdout);
                json_decref(o);
        } else if (rc == DF_OK) {
                printf("%s\n", ok_text);
        } else {
                fprintf(stderr, "duraflow %s: %s (%s)\n", what, errstr && *errstr ? errstr : df_strerror(rc),
                        df_err_name(rc));
        }
        return exit_code(rc);
}

/* ---------------- commands ---------------- */

static int cmd_start(int argc, char **argv)
{
        static const struct option opts[] = {{"input", required_argument, 0, 'i'},
                                             {"input-file", required_argument, 0, 'f'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
        const char *input = NULL, *file = NULL;
        char *buf = NULL, errstr[512] = "", msg[600];
        size_t len = 0;
        int c, existed = 0, ex;
        df_client_t *cl;
        df_err_t rc;

        optind = 0; /* 0: glibc re-initialises, so options may follow the arguments */
        while ((c = getopt_long(argc, argv, "i:f:h", opts, NULL)) != -1) {
                switch (c) {
                case 'i':
                        input = optarg;
                        break;
                case 'f':
                        file = optarg;
                        break;
                case 'h':
                        printf("usage: duraflow start <workflow> <execution-id> [--input TEXT | --input-file FILE|-]\n"
                               "Starts an execution. Idempotent by execution id: the same id with the same\n"
                               "input reports the existing execution (exit 0); a different input exits 4.\n");
                        return EX_OK;
                default:
                        return EX_USAGE;
                }
        }
        if (argc - optind != 2) {
                fprintf(stderr, "duraflow start: needs <workflow> <execution-id> (see --help)\n");
                return EX_USAGE;
        }
        if (file) {
                buf = read_file(file, &len);
                if (!buf)
                        return EX_FAIL;
        } else if (input) {
                len = strlen(input);
        }
        cl = client();
        if (!cl) {
                free(buf);
                return EX_UNAVAIL;
        }
        rc = df_client_start(cl, argv[optind], argv[optind + 1], buf ? buf : input, len, &existed, errstr,
                             sizeof(errstr));
        snprintf(msg, sizeof(msg), "%s %s", argv[optind + 1], existed ? "already exists (same input)" : "started");
        ex = report(rc, "start", errstr, msg);
        df_client_destroy(cl);
        free(buf);
        return ex;
}

static void print_human(json_t *o, int history)
{
        const char *keys[] = {"execution_id", "workflow", "status", "input", "output", "error", NULL};
        int i;
        for (i = 0; keys[i]; i++) {
                json_t *v = json_object_get(o, keys[i]);
                if (v && json_is_string(v) && *json_string_value(v))
                        printf("%-13s %s\n", keys[i], json_string_value(v));
        }
        if (history) {
                json_t *ops = json_object_get(o, "operations"), *op;
                size_t idx;
                printf("\n%-4s %-9s %-10s %-3s %-28s %s\n", "op", "type", "status", "att", "name", "result / error");
                json_array_foreach(ops, idx, op)
                {
                        const char *res = json_string_value(json_object_get(op, "result"));
                        const char *err = json_string_value(json_object_get(op, "error"));
                        printf("%-4s %-9s %-10s %-3lld %-28s %.80s\n", json_string_value(json_object_get(op, "op_id")),
                               json_string_value(json_object_get(op, "type")),
                               json_string_value(json_object_get(op, "status")),
                               (long long)json_integer_value(json_object_get(op, "attempt")),
                               json_string_value(json_object_get(op, "name")),
                               err && *err ? err : (res ? res : "(binary)"));
                }
        }
}

static int cmd_describe(int argc, char **argv, int history)
{
        static const struct option opts[] = {{"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
        char errstr[512] = "", *json = NULL;
        df_client_t *cl;
        df_err_t rc;
        int c;

        optind = 0; /* 0: glibc re-initialises, so options may follow the arguments */
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                if (c == 'h') {
                        printf("usage: duraflow %s <execution-id>\n%s\n", history ? "history" : "describe",
                               history ? "Prints every operation of the execution: type, status, attempt, result or error."
                                       : "Prints the execution's workflow, status, input, output and error.");
                        return EX_OK;
                }
                return EX_USAGE;
        }
        if (argc - optind != 1) {
                fprintf(stderr, "duraflow %s: needs <execution-id>\n", history ? "history" : "describe");
                return EX_USAGE;
        }
        cl = client();
        if (!cl)
                return EX_UNAVAIL;
        rc = df_client_describe(cl, argv[optind], history, &json, errstr, sizeof(errstr));
        df_client_destroy(cl);
        if (rc != DF_OK)
                return report(rc, history ? "history" : "describe", errstr, "");
        if (json_out) {
                printf("%s\n", json);
        } else {
                json_t *o = json_loads(json, 0, NULL);
                print_human(o, history);
                json_decref(o);
        }
        free(json);
        return EX_OK;
}

static int cmd_list(int argc, char **argv)
{
        static const struct option opts[] = {{"workflow", required_argument, 0, 'w'},
                                             {"status", required_argument, 0, 's'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
        const char *wf = NULL, *status = NULL;
        char errstr[512] = "", *json = NULL;
        df_client_t *cl;
        df_err_t rc;
        int c;

        optind = 0; /* 0: glibc re-initialises, so options may follow the arguments */
        while ((c = getopt_long(argc, argv, "w:s:h", opts, NULL)) != -1) {
                switch (c) {
                case 'w':
                        wf = optarg;
                        break;
                case 's':
                        status = optarg;
                        break;
                case 'h':
                        printf("usage: duraflow list [--workflow NAME] [--status STATUS]\n"
                               "STATUS: RUNNING, SUSPENDED, SUCCEEDED, FAILED, STOPPED, NONDETERMINISM\n");
                        return EX_OK;
                default:
                        return EX_USAGE;
                }
        }
        cl = client();
        if (!cl)
                return EX_UNAVAIL;
        rc = df_client_list(cl, wf, status, &json, errstr, sizeof(errstr));
        df_client_destroy(cl);
        if (rc != DF_OK)
                return report(rc, "list", errstr, "");
        if (json_out) {
                printf("%s\n", json);
        } else {
                json_t *arr = json_loads(json, 0, NULL), *o;
                size_t i;
                printf("%-30s %-16s %-15s %s\n", "execution", "workflow", "status", "ops");
                json_array_foreach(arr, i, o)
                {
                        printf("%-30s %-16s %-15s %lld\n", json_string_value(json_object_get(o, "execution_id")),
                               json_string_value(json_object_get(o, "workflow")),
                               json_string_value(json_object_get(o, "status")),
                               (long long)json_integer_value(json_object_get(o, "operations_count")));
                }
                printf("%zu execution(s)\n", json_array_size(arr));
                json_decref(arr);
        }
        free(json);
        return EX_OK;
}

static int cmd_callback(int argc, char **argv)
{
        static const struct option opts[] = {{"payload", required_argument, 0, 'p'},
                                             {"payload-file", required_argument, 0, 'f'},
                                             {"error", required_argument, 0, 'e'},
                                             {"no-wait", no_argument, 0, 'n'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
        const char *payload = NULL, *file = NULL, *error = NULL;
        char *buf = NULL, errstr[512] = "";
        size_t len = 0;
        int c, wait = 1, ex;
        df_callback_outcome_t outcome;
        df_client_t *cl;
        df_err_t rc;

        optind = 0; /* 0: glibc re-initialises, so options may follow the arguments */
        while ((c = getopt_long(argc, argv, "p:f:e:nh", opts, NULL)) != -1) {
                switch (c) {
                case 'p':
                        payload = optarg;
                        break;
                case 'f':
                        file = optarg;
                        break;
                case 'e':
                        error = optarg;
                        break;
                case 'n':
                        wait = 0;
                        break;
                case 'h':
                        printf("usage: duraflow callback succeed <callback-id> [--payload TEXT | --payload-file F]\n"
                               "       duraflow callback fail <callback-id> --error MESSAGE\n"
                               "       duraflow callback heartbeat <callback-id>\n"
                               "Waits for the worker's verdict unless --no-wait: exit 5 when the callback id is\n"
                               "unknown or forged, or the callback already completed or timed out.\n");
                        return EX_OK;
                default:
                        return EX_USAGE;
                }
        }
        if (argc - optind != 2) {
                fprintf(stderr, "duraflow callback: needs succeed|fail|heartbeat <callback-id> (see --help)\n");
                return EX_USAGE;
        }
        if (!strcmp(argv[optind], "succeed"))
                outcome = DF_CALLBACK_SUCCESS;
        else if (!strcmp(argv[optind], "fail"))
                outcome = DF_CALLBACK_FAILURE;
        else if (!strcmp(argv[optind], "heartbeat"))
                outcome = DF_CALLBACK_HEARTBEAT;
        else {
                fprintf(stderr, "duraflow callback: \"%s\" is not succeed, fail or heartbeat\n", argv[optind]);
                return EX_USAGE;
        }
        if (file) {
                buf = read_file(file, &len);
                if (!buf)
                        return EX_FAIL;
        } else if (payload) {
                len = strlen(payload);
        }
        cl = client();
        if (!cl) {
                free(buf);
                return EX_UNAVAIL;
        }
        rc = df_client_callback(cl, argv[optind + 1], outcome, buf ? buf : payload, len, error, wait, errstr,
                                sizeof(errstr));
        ex = report(rc, "callback", errstr, wait ? "callback accepted" : "callback sent");
        df_client_destroy(cl);
        free(buf);
        return ex;
}

static int cmd_stop(int argc, char **argv)
{
        static const struct option opts[] = {{"reason", required_argument, 0, 'r'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
        const char *reason = NULL;
        char errstr[512] = "";
        df_client_t *cl;
        df_err_t rc;
        int c, ex;

        optind = 0; /* 0: glibc re-initialises, so options may follow the arguments */
        while ((c = getopt_long(argc, argv, "r:h", opts, NULL)) != -1) {
                switch (c) {
                case 'r':
                        reason = optarg;
                        break;
                case 'h':
                        printf("usage: duraflow stop <execution-id> [--reason TEXT]\n");
                        return EX_OK;
                default:
                        return EX_USAGE;
                }
        }
        if (argc - optind != 1) {
                fprintf(stderr, "duraflow stop: needs <execution-id>\n");
                return EX_USAGE;
        }
        cl = client();
        if (!cl)
                return EX_UNAVAIL;
        rc = df_client_stop(cl, argv[optind], reason, errstr, sizeof(errstr));
        ex = report(rc, "stop", errstr, "stopped");
        df_client_destroy(cl);
        return ex;
}

static df_timer_service_t *the_ts;

static void on_signal(int sig)
{
        (void)sig;
        df_timer_service_stop(the_ts);
}

static int cmd_timer_service(int argc, char **argv)
{
        char errstr[512];
        df_err_t rc;
        (void)argv;
        if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
                printf("usage: duraflow [options] timer-service\n"
                       "Runs the timer service (consumes <prefix>.timers, fires due timers) until\n"
                       "SIGINT or SIGTERM. State: <state.dir>/timers-<worker.id>.\n");
                return EX_OK;
        }
        the_ts = df_timer_service_new(conf, errstr, sizeof(errstr));
        if (!the_ts) {
                fprintf(stderr, "duraflow timer-service: %s\n", errstr);
                return EX_UNAVAIL;
        }
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
        rc = df_timer_service_run(the_ts);
        df_timer_service_destroy(the_ts);
        return exit_code(rc);
}

static int cmd_config(void)
{
        const df_conf_prop_t *p;
        if (json_out) {
                json_t *arr = json_array();
                for (p = df_conf_properties(); p->name; p++) {
                        json_t *o = json_object();
                        json_object_set_new(o, "name", json_string(p->name));
                        json_object_set_new(o, "default", json_string(p->default_value));
                        json_object_set_new(o, "description", json_string(p->description));
                        json_array_append_new(arr, o);
                }
                json_dumpf(arr, stdout, JSON_INDENT(2));
                fputc('\n', stdout);
                json_decref(arr);
                return EX_OK;
        }
        printf("| property | default | meaning |\n| --- | --- | --- |\n");
        for (p = df_conf_properties(); p->name; p++)
                printf("| `%s` | %s | %s |\n", p->name, *p->default_value ? p->default_value : "(empty)",
                       p->description);
        printf("| `kafka.*` | | passed to librdkafka without the prefix |\n");
        return EX_OK;
}

int main(int argc, char **argv)
{
        static const struct option opts[] = {{"brokers", required_argument, 0, 'b'},
                                             {"prefix", required_argument, 0, 'p'},
                                             {"set", required_argument, 0, 'X'},
                                             {"json", no_argument, 0, 'j'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
        const char *env = getenv("DF_BROKERS");
        char errstr[512];
        int c, ret;

        conf = df_conf_new();
        if (!conf)
                return EX_FAIL;
        set("log.level", "warn");
        if (env && *env && set("brokers", env))
                return EX_USAGE;
        while ((c = getopt_long(argc, argv, "+b:p:X:jh", opts, NULL)) != -1) {
                switch (c) {
                case 'b':
                        if (set("brokers", optarg))
                                return EX_USAGE;
                        break;
                case 'p':
                        if (set("topic.prefix", optarg))
                                return EX_USAGE;
                        break;
                case 'X':
                        if (df_conf_set_pair(conf, optarg, errstr, sizeof(errstr)) != DF_OK) {
                                fprintf(stderr, "duraflow: %s\n", errstr);
                                return EX_USAGE;
                        }
                        break;
                case 'j':
                        json_out = 1;
                        break;
                case 'h':
                        usage_main(stdout);
                        return EX_OK;
                default:
                        usage_main(stderr);
                        return EX_USAGE;
                }
        }
        if (optind >= argc) {
                usage_main(stderr);
                return EX_USAGE;
        }
        df_log_set_level(df_conf_get(conf, "log.level"));
        argc -= optind;
        argv += optind;
        if (!strcmp(argv[0], "start"))
                ret = cmd_start(argc, argv);
        else if (!strcmp(argv[0], "describe"))
                ret = cmd_describe(argc, argv, 0);
        else if (!strcmp(argv[0], "history"))
                ret = cmd_describe(argc, argv, 1);
        else if (!strcmp(argv[0], "list"))
                ret = cmd_list(argc, argv);
        else if (!strcmp(argv[0], "callback"))
                ret = cmd_callback(argc, argv);
        else if (!strcmp(argv[0], "stop"))
                ret = cmd_stop(argc, argv);
        else if (!strcmp(argv[0], "timer-service"))
                ret = cmd_timer_service(argc, argv);
        else if (!strcmp(argv[0], "config"))
                ret = cmd_config();
        else {
                fprintf(stderr, "duraflow: unknown command \"%s\" (see --help)\n", argv[0]);
                ret = EX_USAGE;
        }
        df_conf_destroy(conf);
        return ret;
}
