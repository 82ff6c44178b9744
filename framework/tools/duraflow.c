/*
 * duraflow -- the command line: control executions, complete callbacks, run
 * the timer service.
 *
 * Exit codes: 0 success; 1 failure; 2 usage error (also: no brokers given, a
 * property refused, a bad --input-file); 3 not found (execution, workflow, or
 * no duraflow topics with the prefix); 4 conflict; 5 rejected (unknown
 * callback, already finished); 6 unavailable (timeout, Kafka unreachable).
 *
 * The commands that talk to Kafka wait at most CLI_STARTUP_TIMEOUT_MS for the
 * brokers (not the library's 120 s, meant for services starting with their
 * broker), unless -X startup.timeout.ms is given; timer-service is a service
 * and keeps the library default.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>

#include <jansson.h>

#include "duraflow/duraflow.h"

enum { EX_OK = 0, EX_FAIL = 1, EX_USAGE = 2, EX_NOTFOUND = 3, EX_CONFLICT = 4, EX_REJECTED = 5, EX_UNAVAIL = 6 };

#define CLI_STARTUP_TIMEOUT_MS "10000"

static int json_out;
static int user_startup_timeout; /* -X startup.timeout.ms was given */
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
        case DF_ERR_REJECTED:
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
                "Exit codes: 0 ok, 1 failure, 2 usage (or configuration: no brokers, a property refused),\n"
                "            3 not found (execution, workflow, or no topics with the prefix), 4 conflict,\n"
                "            5 rejected (unknown or finished callback), 6 unavailable (Kafka unreachable, timeout).\n"
                "The commands wait at most " CLI_STARTUP_TIMEOUT_MS " ms for the brokers "
                "(-X startup.timeout.ms=MS to change).\n");
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

/* The brokers the CLI needs (embedded mode lives inside one process: another
 * process cannot see it).  0, or EX_USAGE with the message printed. */
static int need_brokers(const char *what)
{
        const char *b = df_conf_get(conf, "brokers");
        if (b && *b)
                return 0;
        fprintf(stderr, "duraflow %s: no brokers: give --brokers HOST:PORT or set DF_BROKERS (embedded mode lives "
                        "inside one process, so the CLI cannot reach it)\n", what);
        return EX_USAGE;
}

/* Exactly n positional arguments (names: what they are, for the message).
 * 0, or EX_USAGE with the message printed. */
static int positional(const char *what, int argc, char **argv, int n, const char *names)
{
        if (argc - optind > n) {
                fprintf(stderr, "duraflow %s: unexpected argument \"%s\" (see --help)\n", what, argv[optind + n]);
                return EX_USAGE;
        }
        if (argc - optind < n) {
                fprintf(stderr, "duraflow %s: needs %s (see --help)\n", what, names);
                return EX_USAGE;
        }
        return 0;
}

/* The contents of path ("-": stdin), given with option opt of command what.
 * NULL with *ex set and the message printed: EX_USAGE when the file cannot
 * be opened, is a directory or is too large; EX_FAIL on a read error or out
 * of memory. */
static char *read_file(const char *what, const char *opt, const char *path, size_t *len, int *ex)
{
        FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
        struct stat sb;
        char *buf = NULL;
        size_t cap = 0, n = 0;

        *ex = EX_USAGE;
        if (!f) {
                fprintf(stderr, "duraflow %s: %s %s: %s\n", what, opt, path, strerror(errno));
                return NULL;
        }
        if (fstat(fileno(f), &sb) == 0 && S_ISDIR(sb.st_mode)) {
                fprintf(stderr, "duraflow %s: %s %s: is a directory, not a file\n", what, opt, path);
                goto fail;
        }
        for (;;) {
                size_t r;
                if (n == cap) {
                        char *nb = realloc(buf, cap ? cap * 2 : 65536);
                        if (!nb) {
                                fprintf(stderr, "duraflow %s: %s %s: out of memory\n", what, opt, path);
                                *ex = EX_FAIL;
                                goto fail;
                        }
                        buf = nb;
                        cap = cap ? cap * 2 : 65536;
                }
                r = fread(buf + n, 1, cap - n, f);
                n += r;
                if (r == 0)
                        break;
                if (n > 2 * DF_PAYLOAD_MAX) {
                        fprintf(stderr, "duraflow %s: %s %s: over %d bytes\n", what, opt, path, 2 * DF_PAYLOAD_MAX);
                        goto fail;
                }
        }
        if (ferror(f)) {
                fprintf(stderr, "duraflow %s: %s %s: %s\n", what, opt, path, strerror(errno));
                *ex = EX_FAIL;
                goto fail;
        }
        if (f != stdin)
                fclose(f);
        *len = n;
        *ex = EX_OK;
        return buf;
fail:
        if (f != stdin)
                fclose(f);
        free(buf);
        return NULL;
}

/* errstr without a leading "<what>: " (the library names the operation, the
 * CLI's message already names the command). */
static const char *strip_what(const char *what, const char *errstr)
{
        static const char *const names[] = {"start", "describe", "history", "list", "callback", "stop", NULL};
        int i;
        if (!errstr)
                return errstr;
        for (i = 0; names[i]; i++) {
                size_t n = strlen(names[i]);
                if (!strncmp(errstr, names[i], n) && !strncmp(errstr + n, ": ", 2) &&
                    (!strcmp(names[i], what) || !strcmp(what, "history")))
                        return errstr + n + 2;
        }
        return errstr;
}

static int report(df_err_t rc, const char *what, const char *errstr, const char *ok_text);

/* A client for command what.  NULL with *ex set and the message printed when
 * there are no brokers (EX_USAGE), a property is refused (EX_USAGE), Kafka
 * does not answer (EX_UNAVAIL) or, with DF_CLIENT_NO_CREATE_TOPICS, the
 * topics do not exist (EX_NOTFOUND). */
static df_client_t *client(const char *what, unsigned flags, int *ex)
{
        char errstr[512] = "";
        df_client_t *c = NULL;
        df_err_t rc;

        *ex = need_brokers(what);
        if (*ex)
                return NULL;
        rc = df_client_open(conf, flags, &c, errstr, sizeof(errstr));
        if (rc != DF_OK)
                *ex = report(rc, what, errstr, "");
        return c;
}

static int report(df_err_t rc, const char *what, const char *errstr, const char *ok_text)
{
        errstr = strip_what(what, errstr);
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
        if ((ex = positional("start", argc, argv, 2, "<workflow> <execution-id>")))
                return ex;
        if (input && file) {
                fprintf(stderr, "duraflow start: give --input or --input-file, not both\n");
                return EX_USAGE;
        }
        if (file) {
                buf = read_file("start", "--input-file", file, &len, &ex);
                if (!buf)
                        return ex;
        } else if (input) {
                len = strlen(input);
        }
        cl = client("start", 0, &ex);
        if (!cl) {
                free(buf);
                return ex;
        }
        rc = df_client_start(cl, argv[optind], argv[optind + 1], buf ? buf : input, len, &existed, errstr,
                             sizeof(errstr));
        snprintf(msg, sizeof(msg), "%s %s", argv[optind + 1], existed ? "already exists (same input)" : "started");
        ex = report(rc, "start", errstr, msg);
        df_client_destroy(cl);
        free(buf);
        return ex;
}

/* "HH:MM:SS.mmm" (UTC) of an epoch time in ms, "-" for none. */
static const char *clock_utc(char *buf, size_t size, int64_t ms)
{
        time_t t = (time_t)(ms / 1000);
        struct tm tm;
        if (ms <= 0 || !gmtime_r(&t, &tm)) {
                snprintf(buf, size, "-");
                return buf;
        }
        snprintf(buf, size, "%02d:%02d:%02d.%03d", tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
        return buf;
}

/* "YYYY-MM-DD HH:MM:SS" (UTC) of an epoch time in ms. */
static const char *date_utc(char *buf, size_t size, int64_t ms)
{
        time_t t = (time_t)(ms / 1000);
        struct tm tm;
        if (!gmtime_r(&t, &tm) || !strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm))
                snprintf(buf, size, "%lld ms", (long long)ms);
        return buf;
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
                char started[32], updated[32];
                printf("\n%-4s %-9s %-10s %-3s %-24s %-12s %-12s %s\n", "op", "type", "status", "att", "name",
                       "started", "updated", "result / error");
                json_array_foreach(ops, idx, op)
                {
                        const char *res = json_string_value(json_object_get(op, "result"));
                        const char *err = json_string_value(json_object_get(op, "error"));
                        const char *cb = json_string_value(json_object_get(op, "callback_id"));
                        int64_t due = (int64_t)json_integer_value(json_object_get(op, "due_ms"));
                        char due_s[32];
                        printf("%-4s %-9s %-10s %-3lld %-24s %-12s %-12s %.80s\n",
                               json_string_value(json_object_get(op, "op_id")),
                               json_string_value(json_object_get(op, "type")),
                               json_string_value(json_object_get(op, "status")),
                               (long long)json_integer_value(json_object_get(op, "attempt")),
                               json_string_value(json_object_get(op, "name")),
                               clock_utc(started, sizeof(started),
                                         (int64_t)json_integer_value(json_object_get(op, "started_ms"))),
                               clock_utc(updated, sizeof(updated),
                                         (int64_t)json_integer_value(json_object_get(op, "updated_ms"))),
                               err && *err ? err : (res ? res : "(binary)"));
                        if (due > 0)
                                printf("     due %s UTC\n", date_utc(due_s, sizeof(due_s), due));
                        if (cb && *cb)
                                printf("     callback id %s\n", cb);
                }
                printf("(times UTC; --json for every field in full)\n");
        }
}

static int cmd_describe(int argc, char **argv, int history)
{
        static const struct option opts[] = {{"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
        const char *what = history ? "history" : "describe";
        char errstr[512] = "", *json = NULL;
        df_client_t *cl;
        df_err_t rc;
        int c, ex;

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
        if ((ex = positional(what, argc, argv, 1, "<execution-id>")))
                return ex;
        cl = client(what, DF_CLIENT_NO_CREATE_TOPICS, &ex);
        if (!cl)
                return ex;
        rc = df_client_describe(cl, argv[optind], history, &json, errstr, sizeof(errstr));
        df_client_destroy(cl);
        if (rc != DF_OK)
                return report(rc, what, errstr, "");
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
        int c, ex;

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
        if ((ex = positional("list", argc, argv, 0, "")))
                return ex;
        cl = client("list", DF_CLIENT_NO_CREATE_TOPICS, &ex);
        if (!cl)
                return ex;
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
        if ((ex = positional("callback", argc, argv, 2, "succeed|fail|heartbeat <callback-id>")))
                return ex;
        if (payload && file) {
                fprintf(stderr, "duraflow callback: give --payload or --payload-file, not both\n");
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
        if (outcome == DF_CALLBACK_FAILURE && (!error || !*error)) {
                fprintf(stderr, "duraflow callback: fail needs --error MESSAGE (what the workflow's callback "
                                "sees as the failure)\n");
                return EX_USAGE;
        }
        if (outcome != DF_CALLBACK_FAILURE && error) {
                fprintf(stderr, "duraflow callback: --error goes with fail only\n");
                return EX_USAGE;
        }
        if (outcome != DF_CALLBACK_SUCCESS && (payload || file)) {
                fprintf(stderr, "duraflow callback: --payload and --payload-file go with succeed only\n");
                return EX_USAGE;
        }
        if (file) {
                buf = read_file("callback", "--payload-file", file, &len, &ex);
                if (!buf)
                        return ex;
        } else if (payload) {
                len = strlen(payload);
        }
        cl = client("callback", 0, &ex);
        if (!cl) {
                free(buf);
                return ex;
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
        if ((ex = positional("stop", argc, argv, 1, "<execution-id>")))
                return ex;
        cl = client("stop", 0, &ex);
        if (!cl)
                return ex;
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

/* Only --help, no positional argument: 0, 1 when help was printed, or EX_USAGE. */
static int no_args(const char *what, int argc, char **argv, const char *help)
{
        static const struct option opts[] = {{"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
        int c;
        optind = 0; /* 0: glibc re-initialises */
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                if (c == 'h') {
                        fputs(help, stdout);
                        return 1;
                }
                return EX_USAGE;
        }
        return positional(what, argc, argv, 0, "");
}

static int cmd_timer_service(int argc, char **argv)
{
        char errstr[512];
        df_err_t rc;
        int ex = no_args("timer-service", argc, argv,
                         "usage: duraflow [options] timer-service\n"
                         "Runs the timer service (consumes <prefix>.timers, fires due timers) until\n"
                         "SIGINT or SIGTERM. State: <state.dir>/timers-<worker.id>.\n");
        if (ex)
                return ex == 1 ? EX_OK : ex;
        if ((ex = need_brokers("timer-service")))
                return ex;
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

static int cmd_config(int argc, char **argv)
{
        const df_conf_prop_t *p;
        int ex = no_args("config", argc, argv,
                         "usage: duraflow [--json] config\n"
                         "Prints every configuration property with its default and meaning (a Markdown\n"
                         "table, or a JSON array with --json). Set them with -X NAME=VALUE.\n");
        if (ex)
                return ex == 1 ? EX_OK : ex;
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
        printf("| `kafka.*` | | passed to librdkafka without the prefix; refused for what exactly-once rests on "
               "(isolation.level, transactional.id, enable.idempotence, enable.auto.commit, auto.offset.reset, "
               "group.id, bootstrap.servers, transaction.timeout.ms) |\n");
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
        static char prog[64];
        char errstr[512];
        const char *cmd;
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
                        if (!strncmp(optarg, "startup.timeout.ms=", 19))
                                user_startup_timeout = 1;
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
        cmd = argv[0];
        /* getopt's own messages name argv[0]: "duraflow <command>" */
        snprintf(prog, sizeof(prog), "duraflow %s", cmd);
        argv[0] = prog;
        /* an interactive command fails within seconds when Kafka is away */
        if (!user_startup_timeout && strcmp(cmd, "timer-service") &&
            set("startup.timeout.ms", CLI_STARTUP_TIMEOUT_MS))
                return EX_FAIL;
        if (!strcmp(cmd, "start"))
                ret = cmd_start(argc, argv);
        else if (!strcmp(cmd, "describe"))
                ret = cmd_describe(argc, argv, 0);
        else if (!strcmp(cmd, "history"))
                ret = cmd_describe(argc, argv, 1);
        else if (!strcmp(cmd, "list"))
                ret = cmd_list(argc, argv);
        else if (!strcmp(cmd, "callback"))
                ret = cmd_callback(argc, argv);
        else if (!strcmp(cmd, "stop"))
                ret = cmd_stop(argc, argv);
        else if (!strcmp(cmd, "timer-service"))
                ret = cmd_timer_service(argc, argv);
        else if (!strcmp(cmd, "config"))
                ret = cmd_config(argc, argv);
        else {
                fprintf(stderr, "duraflow: unknown command \"%s\" (see --help)\n", cmd);
                ret = EX_USAGE;
        }
        df_conf_destroy(conf);
        return ret;
}
