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
 *
 * Human output (describe, history, list, every message) goes through
 * df_text_escape(): control, bidi and invalid UTF-8 bytes are shown as
 * \xNN / \uNNNN, never sent to the terminal.  --json prints the exact
 * values (jansson; payloads that are not UTF-8 text in base64 under
 * "<name>_b64").  describe and history hold one record at a time (the
 * library's typed read API), history --json is written operation by
 * operation.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>

#include <jansson.h>

#include "duraflow/duraflow.h"

enum { EX_OK = 0, EX_FAIL = 1, EX_USAGE = 2, EX_NOTFOUND = 3, EX_CONFLICT = 4, EX_REJECTED = 5, EX_UNAVAIL = 6 };

#define CLI_STARTUP_TIMEOUT_MS "10000"

int df_cli_console(df_conf_t *conf, int argc, char **argv); /* cmd_console.c */
int df_cli_brokers_check(const char *what, const char *brokers); /* here, for cmd_console.c: 0 or 2 */
/* describe, history and list through a console's API (below) */
static const char *console_url; /* --console, else $DF_CONSOLE_URL */
static int console_describe(const char *what, const char *id, int history);
static int console_list(const char *wf, df_exec_status_t st, int version);

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
        case DF_ERR_STATE:
                return EX_REJECTED;
        case DF_ERR_DEADLINE:
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

/* ---------------- text for the terminal ---------------- */

/* len bytes of s escaped for the terminal (df_text_escape), malloc'd; NULL
 * only on ENOMEM. */
static char *esc_n(const void *s, size_t len)
{
        size_t n = df_text_escape(NULL, 0, s, len);
        char *out = malloc(n + 1);
        if (out)
                df_text_escape(out, n + 1, s, len);
        return out;
}

/* Print to f what fmt makes, escaped, with a newline.  Every message with a
 * value from the user or from Kafka in it goes through here. */
static void say(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(FILE *f, const char *fmt, ...)
{
        char buf[4096], *e;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        e = esc_n(buf, strlen(buf));
        fprintf(f, "%s\n", e ? e : "(out of memory)");
        free(e);
}

/* A getopt error of command what (opterr is 0: glibc's own messages would
 * echo the argument raw).  Returns EX_USAGE. */
static int bad_option(const char *what, int c, char **argv)
{
        const char *arg = optind > 0 ? argv[optind - 1] : "";
        if (c == ':') {
                if (!strncmp(arg, "--", 2))
                        say(stderr, "%s: option '%s' requires an argument", what, arg);
                else
                        say(stderr, "%s: option requires an argument -- '%c'", what, optopt);
        } else if (optopt && !strncmp(arg, "--", 2)) {
                say(stderr, "%s: option '%s' doesn't allow an argument", what, arg);
        } else if (optopt) {
                say(stderr, "%s: invalid option -- '%c'", what, optopt);
        } else {
                say(stderr, "%s: unrecognized option '%s'", what, arg);
        }
        return EX_USAGE;
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
                "  pause <execution-id>              run nothing of it until resumed (events still recorded)\n"
                "  resume <execution-id>             go on: PAUSED, or NONDETERMINISM / QUARANTINED after a fix\n"
                "  restart <execution-id>            a FAILED / STOPPED / TIMED_OUT one again from its failure\n"
                "  purge <execution-id>              delete a finished execution's state and history now\n"
                "  stop|pause|resume|restart --all   every execution matching --workflow, --status,\n"
                "                                    --started-before/--started-after (--dry-run: count)\n"
                "  schedule create|list|describe|pause|resume|delete|trigger\n"
                "                                    runs of a workflow at the times of a cron expression\n"
                "  timer-service                     run the timer service until SIGINT/SIGTERM\n"
                "  console                           run the console (HTTP API and web page)\n"
                "  config                            print the configuration reference\n"
                "\n"
                "Options (before the command):\n"
                "  -b, --brokers HOST:PORT   Kafka bootstrap servers, comma separated, port 1..65535\n"
                "                            (default $DF_BROKERS; checked before connecting)\n"
                "  -p, --prefix NAME         topic prefix (default duraflow)\n"
                "  -X, --set NAME=VALUE      any configuration property (see `duraflow config`);\n"
                "                            kafka.* passes through to librdkafka\n"
                "  -j, --json                machine-readable output\n"
                "  -h, --help                this help; `duraflow <command> --help` for a command\n"
                "\n"
                "Exit codes: 0 ok, 1 failure, 2 usage (or configuration: no brokers, a property refused),\n"
                "            3 not found (execution, workflow, or no topics with the prefix), 4 conflict,\n"
                "            5 rejected (unknown or finished callback; an execution in the wrong state for\n"
                "            the command), 6 unavailable (Kafka unreachable, timeout).\n"
                "The commands wait at most " CLI_STARTUP_TIMEOUT_MS " ms for the brokers "
                "(-X startup.timeout.ms=MS to change).\n");
}

static int set(const char *name, const char *value)
{
        char errstr[512];
        if (df_conf_set(conf, name, value, errstr, sizeof(errstr)) != DF_OK) {
                say(stderr, "duraflow: %s", errstr);
                return -1;
        }
        return 0;
}

/* The brokers the CLI needs (embedded mode lives inside one process: another
 * process cannot see it).  0, or EX_USAGE with the message printed. */
/* 1 if e (len bytes) is [scheme://]HOST:PORT: HOST a name or address
 * ([...] for IPv6), PORT 1..65535; spaces around it allowed. */
static int broker_ok(const char *e, size_t len)
{
        const char *end = e + len, *p, *colon;
        long port = 0;

        while (e < end && *e == ' ')
                e++;
        while (end > e && end[-1] == ' ')
                end--;
        for (p = e; p < end && ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || *p == '_'); p++)
                ;
        if (p > e && end - p > 3 && !memcmp(p, "://", 3))
                e = p + 3; /* librdkafka's PLAINTEXT://, SSL:// ... */
        if (e < end && *e == '[') {
                for (p = e + 1; p < end && *p != ']'; p++)
                        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F') ||
                              *p == ':' || *p == '.' || *p == '%'))
                                return 0;
                if (p == end || p == e + 1)
                        return 0;
                colon = p + 1;
                if (colon >= end || *colon != ':')
                        return 0;
        } else {
                for (p = e; p < end && *p != ':'; p++)
                        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                              *p == '.' || *p == '-' || *p == '_'))
                                return 0;
                if (p == e || p == end)
                        return 0;
                colon = p;
        }
        if (colon + 1 >= end)
                return 0;
        for (p = colon + 1; p < end; p++) {
                if (*p < '0' || *p > '9')
                        return 0;
                port = port * 10 + (*p - '0');
                if (port > 65535)
                        return 0;
        }
        return port >= 1;
}

/* 0 when brokers (non-empty) is HOST:PORT[,HOST:PORT...]; else EX_USAGE
 * with the bad entry named. */
int df_cli_brokers_check(const char *what, const char *b)
{
        const char *e = b, *comma;
        for (;; e = comma + 1) {
                size_t n;
                comma = strchr(e, ',');
                n = comma ? (size_t)(comma - e) : strlen(e);
                if (!broker_ok(e, n)) {
                        say(stderr, "duraflow %s: the brokers list \"%s\" has the entry \"%.*s\": not "
                                    "HOST:PORT with a port 1..65535 (--brokers or DF_BROKERS: HOST:PORT, "
                                    "comma separated)",
                            what, b, (int)n, e);
                        return EX_USAGE;
                }
                if (!comma)
                        return 0;
        }
}

static int need_brokers(const char *what)
{
        const char *b = df_conf_get(conf, "brokers");
        if (b && *b)
                return df_cli_brokers_check(what, b);
        fprintf(stderr, "duraflow %s: no brokers: give --brokers HOST:PORT or set DF_BROKERS (embedded mode lives "
                        "inside one process, so the CLI cannot reach it)\n", what);
        return EX_USAGE;
}

/* An option that takes one value: *var = optarg, or 1 with the message
 * printed when it was given already (a second one silently won). */
static int once(const char *what, const char *opt, const char **var)
{
        if (*var) {
                say(stderr, "duraflow %s: --%s given twice", what, opt);
                return 1;
        }
        *var = optarg;
        return 0;
}

/* Exactly n positional arguments (names: what they are, for the message).
 * 0, or EX_USAGE with the message printed. */
static int positional(const char *what, int argc, char **argv, int n, const char *names)
{
        if (argc - optind > n) {
                say(stderr, "duraflow %s: unexpected argument \"%s\" (see --help)", what, argv[optind + n]);
                return EX_USAGE;
        }
        if (argc - optind < n) {
                say(stderr, "duraflow %s: needs %s (see --help)", what, names);
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
                say(stderr, "duraflow %s: %s %s: %s", what, opt, path, strerror(errno));
                return NULL;
        }
        if (fstat(fileno(f), &sb) == 0 && S_ISDIR(sb.st_mode)) {
                say(stderr, "duraflow %s: %s %s: is a directory, not a file", what, opt, path);
                goto fail;
        }
        for (;;) {
                size_t r;
                if (n == cap) {
                        char *nb = realloc(buf, cap ? cap * 2 : 65536);
                        if (!nb) {
                                say(stderr, "duraflow %s: %s %s: out of memory", what, opt, path);
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
                if (n > DF_PAYLOAD_MAX) {
                        say(stderr, "duraflow %s: %s %s: over the limit of %d bytes (DF_ERR_PAYLOAD_TOO_LARGE)", what,
                            opt, path, DF_PAYLOAD_MAX);
                        goto fail;
                }
        }
        if (ferror(f)) {
                say(stderr, "duraflow %s: %s %s: %s", what, opt, path, strerror(errno));
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
        static const char *const names[] = {"start", "describe", "history", "list",    "callback", "stop",
                                            "pause", "resume",   "restart", "purge",   NULL};
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
                const char *msg = rc == DF_OK ? ok_text : errstr ? errstr : "";
                json_t *o = json_object(), *m = json_string(msg);
                char *e = NULL;
                if (!m) /* not UTF-8: the escaped text */
                        m = json_string((e = esc_n(msg, strlen(msg))) ? e : "");
                json_object_set_new(o, "ok", json_boolean(rc == DF_OK));
                json_object_set_new(o, "code", json_string(df_err_name(rc)));
                json_object_set_new(o, "message", m);
                json_dumpf(o, stdout, JSON_COMPACT);
                fputc('\n', stdout);
                json_decref(o);
                free(e);
        } else if (rc == DF_OK) {
                say(stdout, "%s", ok_text);
        } else {
                say(stderr, "duraflow %s: %s (%s)", what, errstr && *errstr ? errstr : df_strerror(rc),
                    df_err_name(rc));
        }
        return exit_code(rc);
}

/* A check of an argument before any client opens (and creates topics). */
static int check_arg(const char *what, df_err_t rc, const char *errstr)
{
        return rc == DF_OK ? EX_OK : report(rc, what, errstr, "");
}

/* ---------------- commands ---------------- */

static int cmd_start(int argc, char **argv)
{
        static const struct option opts[] = {{"input", required_argument, 0, 'i'},
                                             {"input-file", required_argument, 0, 'f'},
                                             {"traceparent", required_argument, 0, 't'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
        const char *input = NULL, *file = NULL, *traceparent = NULL;
        char *buf = NULL, errstr[512] = "", msg[600], tperr[300];
        size_t len = 0;
        int c, existed = 0, ex;
        df_client_t *cl;
        df_err_t rc;

        optind = 0; /* 0: glibc re-initialises, so options may follow the arguments */
        while ((c = getopt_long(argc, argv, ":i:f:t:h", opts, NULL)) != -1) {
                switch (c) {
                case 'i':
                        if (once("start", "input", &input))
                                return EX_USAGE;
                        break;
                case 'f':
                        if (once("start", "input-file", &file))
                                return EX_USAGE;
                        break;
                case 't':
                        if (traceparent) {
                                say(stderr, "duraflow start: --traceparent given twice");
                                return EX_USAGE;
                        }
                        traceparent = optarg;
                        break;
                case 'h':
                        printf("usage: duraflow start <workflow> <execution-id> [--input TEXT | --input-file FILE|-]\n"
                               "                      [--traceparent TP]\n"
                               "Starts an execution. Idempotent by execution id: the same id with the same\n"
                               "input reports the existing execution (exit 0); a different input exits 4.\n"
                               "<workflow>: 1..%d bytes of UTF-8 text, no control characters.\n"
                               "<execution-id>: 1..%d characters of A-Z a-z 0-9 . _ : @ -\n"
                               "The input: at most %d bytes.\n"
                               "--traceparent: a W3C traceparent, 00-<32 hex>-<16 hex>-<2 hex> (lowercase): the\n"
                               "execution's spans join that trace, under that parent span; without it the\n"
                               "worker creates a trace. Kept with the execution, carried in a Kafka header.\n"
                               "Invalid arguments exit 2 before any topic is created.\n",
                               DF_WORKFLOW_NAME_MAX, DF_EXECUTION_ID_MAX, DF_PAYLOAD_MAX);
                        return EX_OK;
                default:
                        return bad_option(argv[0], c, argv);
                }
        }
        if ((ex = positional("start", argc, argv, 2, "<workflow> <execution-id>")))
                return ex;
        if (input && file) {
                say(stderr, "duraflow start: give --input or --input-file, not both");
                return EX_USAGE;
        }
        /* at the boundary, before any topic is created */
        if ((ex = check_arg("start", df_workflow_name_check(argv[optind], errstr, sizeof(errstr)), errstr)) ||
            (ex = check_arg("start", df_execution_id_check(argv[optind + 1], errstr, sizeof(errstr)), errstr)))
                return ex;
        if (traceparent && df_traceparent_check(traceparent, tperr, sizeof(tperr)) != DF_OK) {
                snprintf(errstr, sizeof(errstr), "--traceparent \"%.80s%s\": %s", traceparent,
                         strlen(traceparent) > 80 ? "..." : "", tperr);
                return check_arg("start", DF_ERR_INVALID_ARG, errstr);
        }
        if (file) {
                buf = read_file("start", "--input-file", file, &len, &ex);
                if (!buf)
                        return ex;
        } else if (input) {
                len = strlen(input);
                if (len > DF_PAYLOAD_MAX) {
                        snprintf(errstr, sizeof(errstr), "--input is %zu bytes, over the limit of %d", len,
                                 DF_PAYLOAD_MAX);
                        return report(DF_ERR_PAYLOAD_TOO_LARGE, "start", errstr, "");
                }
        }
        cl = client("start", 0, &ex);
        if (!cl) {
                free(buf);
                return ex;
        }
        rc = df_client_start_traced(cl, argv[optind], argv[optind + 1], buf ? buf : input, len, traceparent,
                                    &existed, errstr, sizeof(errstr));
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

/* ---------------- JSON (the exact values) ---------------- */

static int is_text(const df_bytes_t *b)
{
        /* jansson takes UTF-8 only; a NUL would end a C string */
        json_t *j;
        if (!b->len)
                return 1;
        if (memchr(b->data, 0, b->len))
                return 0;
        j = json_stringn((const char *)b->data, b->len);
        json_decref(j);
        return j != NULL;
}

/* A payload under name: the text when it is UTF-8, else base64 under
 * "<name>_b64". */
static void json_payload(json_t *o, const char *name, const df_bytes_t *b)
{
        static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        char key[64];
        size_t i, n = b->len, o2 = 0;
        char *s;

        if (is_text(b)) {
                json_object_set_new(o, name, json_stringn(b->len ? (const char *)b->data : "", b->len));
                return;
        }
        s = malloc(4 * ((n + 2) / 3) + 1);
        if (!s)
                return;
        for (i = 0; i < n; i += 3) {
                uint32_t v = (uint32_t)b->data[i] << 16;
                if (i + 1 < n)
                        v |= (uint32_t)b->data[i + 1] << 8;
                if (i + 2 < n)
                        v |= b->data[i + 2];
                s[o2++] = tbl[(v >> 18) & 63];
                s[o2++] = tbl[(v >> 12) & 63];
                s[o2++] = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
                s[o2++] = i + 2 < n ? tbl[v & 63] : '=';
        }
        s[o2] = '\0';
        snprintf(key, sizeof(key), "%s_b64", name);
        json_object_set_new(o, key, json_string(s));
        free(s);
}

static json_t *exec_json(const df_exec_info_t *x, int full)
{
        json_t *o = json_object();
        json_object_set_new(o, "execution_id", json_string(x->execution_id));
        json_object_set_new(o, "workflow", json_string(x->workflow));
        json_object_set_new(o, "version", json_integer(x->version));
        json_object_set_new(o, "status", json_string(df_exec_status_name(x->status)));
        json_object_set_new(o, "created_ms", json_integer(x->created_ms));
        json_object_set_new(o, "updated_ms", json_integer(x->updated_ms));
        if (full) {
                json_payload(o, "input", &x->input);
                json_payload(o, "output", &x->output);
                json_object_set_new(o, "error", json_string(x->error));
        }
        json_object_set_new(o, "operations_count", json_integer(x->op_count));
        if (full && x->parent_execution_id && *x->parent_execution_id) {
                /* started by an invoke: the link back to the parent */
                json_object_set_new(o, "parent_execution_id", json_string(x->parent_execution_id));
                json_object_set_new(o, "parent_op_id", json_string(x->parent_op_id ? x->parent_op_id : ""));
        }
        if (full && x->run > 0) {
                /* restarted: which run, and what each restart kept and discarded */
                json_object_set_new(o, "run", json_integer(x->run));
                json_object_set_new(o, "run_log", json_string(x->run_log ? x->run_log : ""));
        }
        return o;
}

/* What an operation's type holds (its context, a child execution). */
static int opens_context(df_op_type_t t)
{
        return t == DF_OP_TYPE_CHILD || t == DF_OP_TYPE_PARALLEL || t == DF_OP_TYPE_MAP;
}

static json_t *op_json(const df_op_info_t *op)
{
        json_t *j = json_object();
        json_object_set_new(j, "op_id", json_string(op->op_id));
        if (*op->parent_id)
                json_object_set_new(j, "parent_id", json_string(op->parent_id));
        json_object_set_new(j, "name", json_string(op->name));
        json_object_set_new(j, "type", json_string(df_op_type_name(op->type)));
        json_object_set_new(j, "status", json_string(df_op_status_name(op->status)));
        json_object_set_new(j, "attempt", json_integer(op->attempt));
        json_object_set_new(j, "started_ms", json_integer(op->started_ms));
        json_object_set_new(j, "updated_ms", json_integer(op->updated_ms));
        json_object_set_new(j, "due_ms", json_integer(op->due_ms));
        json_payload(j, "result", &op->result);
        json_object_set_new(j, "error", json_string(op->error));
        if (op->type == DF_OP_TYPE_CALLBACK)
                json_object_set_new(j, "callback_id", json_string(op->callback_id));
        if (opens_context(op->type))
                json_object_set_new(j, "child_count", json_integer(op->child_count));
        if (op->type == DF_OP_TYPE_INVOKE)
                json_object_set_new(j, "child_execution_id", json_string(op->child_execution_id));
        return j;
}

/* Print o as jansson's JSON_INDENT(2) would print it nested indent levels
 * deep (without a final newline), so that a document printed piece by
 * piece reads as if dumped whole.  A JSON text holds no raw newline but
 * its own. */
static void print_nested(json_t *o, int indent)
{
        char *txt = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        const char *p, *nl;
        if (!txt)
                return;
        for (p = txt; (nl = strchr(p, '\n')); p = nl + 1) {
                fwrite(p, 1, (size_t)(nl - p) + 1, stdout);
                printf("%*s", indent, "");
        }
        fputs(p, stdout);
        free(txt);
}

/* ---------------- human output (escaped) ---------------- */

/* The first max bytes of an escaped text, cut at a character boundary. */
static void cut_utf8(char *s, size_t max)
{
        size_t n = strlen(s);
        if (n <= max)
                return;
        while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
                max--;
        s[max] = '\0';
}

static void print_field(const char *key, const void *data, size_t len)
{
        char *e;
        if (!len)
                return;
        e = esc_n(data, len);
        printf("%-13s %s\n", key, e ? e : "(out of memory)");
        free(e);
}

static void print_exec(const df_exec_info_t *x)
{
        const char *status = df_exec_status_name(x->status);
        print_field("execution_id", x->execution_id, strlen(x->execution_id));
        print_field("workflow", x->workflow, strlen(x->workflow));
        print_field("status", status, strlen(status));
        print_field("input", x->input.data, x->input.len);
        print_field("output", x->output.data, x->output.len);
        print_field("error", x->error, strlen(x->error));
        printf("%-13s %d\n", "version", x->version);
        if (x->parent_execution_id && *x->parent_execution_id) {
                char p[DF_EXECUTION_ID_MAX + 300];
                snprintf(p, sizeof(p), "%s (operation %s)", x->parent_execution_id,
                         x->parent_op_id ? x->parent_op_id : "");
                print_field("parent", p, strlen(p));
        }
        if (x->run > 0 && x->run_log) {
                /* one line per restart, each escaped for the terminal */
                const char *line = x->run_log, *nl;
                printf("%-13s %d\n", "run", x->run);
                for (; *line; line = nl ? nl + 1 : line + strlen(line)) {
                        nl = strchr(line, '\n');
                        print_field("restarted", line, nl ? (size_t)(nl - line) : strlen(line));
                }
        }
}

/* The nesting depth of an operation: the '.' in its id. */
static int op_depth(const char *op_id)
{
        int d = 0;
        for (; *op_id; op_id++)
                d += *op_id == '.';
        return d;
}

static void print_op(const df_op_info_t *op)
{
        char started[32], updated[32], due_s[32];
        /* nested operations are indented under the one that holds them */
        int ind = 2 * op_depth(op->op_id);
        /* the column shows 80 bytes: escape no more than can show */
        char *name = esc_n(op->name, strlen(op->name)), *what;
        if (*op->error)
                what = esc_n(op->error, strlen(op->error) < 400 ? strlen(op->error) : 400);
        else if (is_text(&op->result))
                what = esc_n(op->result.data, op->result.len < 400 ? op->result.len : 400);
        else
                what = esc_n("(binary)", 8);
        if (what)
                cut_utf8(what, 80);
        printf("%*s%-4s %-9s %-10s %-3d %-24s %-12s %-12s %s\n", ind, "", op->op_id, df_op_type_name(op->type),
               df_op_status_name(op->status), op->attempt, name ? name : "", clock_utc(started, sizeof(started),
               op->started_ms), clock_utc(updated, sizeof(updated), op->updated_ms), what ? what : "");
        if (op->due_ms > 0)
                printf("%*s     due %s UTC\n", ind, "", date_utc(due_s, sizeof(due_s), op->due_ms));
        if (*op->callback_id)
                say(stdout, "%*s     callback id %s", ind, "", op->callback_id);
        if (op->type == DF_OP_TYPE_INVOKE && *op->child_execution_id)
                say(stdout, "%*s     child execution %s", ind, "", op->child_execution_id);
        free(name);
        free(what);
}

static int cmd_describe(int argc, char **argv, int history)
{
        static const struct option opts[] = {{"console", required_argument, 0, 'c'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
        const char *what = history ? "history" : "describe";
        char errstr[512] = "";
        df_client_t *cl;
        df_err_t rc;
        int c, ex, n = 0;

        optind = 0; /* 0: glibc re-initialises, so options may follow the arguments */
        while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
                if (c == 'c') {
                        console_url = optarg;
                        continue;
                }
                if (c == 'h') {
                        printf("usage: duraflow %s <execution-id> [--console URL]\n%s\n", history ? "history" : "describe",
                               history ? "Prints every operation of the execution: type, status, attempt, result or "
                                         "error."
                                       : "Prints the execution's workflow, status, input, output and error.");
                        printf("<execution-id>: 1..%d characters of A-Z a-z 0-9 . _ : @ -\n", DF_EXECUTION_ID_MAX);
                        printf("--console URL (or $DF_CONSOLE_URL): read it from that console's API (`duraflow console`)\n"
                               "instead of the changelog, with the same output; $DF_CONSOLE_TOKEN shows callback ids.\n");
                        return EX_OK;
                }
                return bad_option(argv[0], c, argv);
        }
        if ((ex = positional(what, argc, argv, 1, "<execution-id>")))
                return ex;
        if ((ex = check_arg(what, df_execution_id_check(argv[optind], errstr, sizeof(errstr)), errstr)))
                return ex;
        if (!console_url && getenv("DF_CONSOLE_URL") && *getenv("DF_CONSOLE_URL"))
                console_url = getenv("DF_CONSOLE_URL");
        if (console_url)
                return console_describe(what, argv[optind], history);
        cl = client(what, DF_CLIENT_NO_CREATE_TOPICS, &ex);
        if (!cl)
                return ex;
        if (!history) {
                df_exec_info_t *x = NULL;
                rc = df_client_describe(cl, argv[optind], &x, errstr, sizeof(errstr));
                df_client_destroy(cl);
                if (rc != DF_OK)
                        return report(rc, what, errstr, "");
                if (json_out) {
                        json_t *o = exec_json(x, 1);
                        print_nested(o, 0);
                        printf("\n");
                        json_decref(o);
                } else {
                        print_exec(x);
                }
                df_exec_info_destroy(x);
                return EX_OK;
        } else {
                df_history_t *h = NULL;
                const df_op_info_t *op;
                rc = df_client_history(cl, argv[optind], &h, errstr, sizeof(errstr));
                if (rc != DF_OK) {
                        df_client_destroy(cl);
                        return report(rc, what, errstr, "");
                }
                if (json_out) {
                        /* the object without its closing brace, then each operation as it comes */
                        json_t *o = exec_json(df_history_execution(h), 1);
                        char *txt = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
                        json_decref(o);
                        if (!txt || strlen(txt) < 2) {
                                free(txt);
                                df_history_destroy(h);
                                df_client_destroy(cl);
                                return report(DF_ERR_NOMEM, what, "out of memory", "");
                        }
                        txt[strlen(txt) - 2] = '\0'; /* "\n}" */
                        printf("%s,\n  \"operations\": [", txt);
                        free(txt);
                } else {
                        print_exec(df_history_execution(h));
                        printf("\n%-4s %-9s %-10s %-3s %-24s %-12s %-12s %s\n", "op", "type", "status", "att", "name",
                               "started", "updated", "result / error");
                }
                while ((rc = df_history_next(h, &op, errstr, sizeof(errstr))) == DF_OK && op) {
                        if (json_out) {
                                json_t *j = op_json(op);
                                printf("%s\n    ", n ? "," : "");
                                print_nested(j, 4);
                                json_decref(j);
                        } else {
                                print_op(op);
                        }
                        n++;
                }
                if (json_out)
                        printf(n ? "\n  ]\n}\n" : "]\n}\n");
                else
                        printf("(times UTC; --json for every field in full)\n");
                df_history_destroy(h);
                df_client_destroy(cl);
                if (rc != DF_OK) {
                        fflush(stdout);
                        if (json_out)
                                json_out = 0; /* the document is cut: say why on stderr */
                        return report(rc, what, errstr, "");
                }
                return EX_OK;
        }
}

static int cmd_list(int argc, char **argv)
{
        static const struct option opts[] = {{"workflow", required_argument, 0, 'w'},
                                             {"status", required_argument, 0, 's'},
                                             {"version", required_argument, 0, 'V'},
                                             {"console", required_argument, 0, 'c'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
        const char *wf = NULL, *status = NULL, *vers = NULL;
        char errstr[512] = "";
        df_exec_status_t st = DF_EXEC_ANY;
        df_exec_list_t *list = NULL;
        df_client_t *cl;
        df_err_t rc;
        size_t i, n;
        int c, ex, version = 0;

        optind = 0; /* 0: glibc re-initialises, so options may follow the arguments */
        while ((c = getopt_long(argc, argv, ":w:s:V:h", opts, NULL)) != -1) {
                switch (c) {
                case 'w':
                        wf = optarg;
                        break;
                case 's':
                        status = optarg;
                        break;
                case 'V':
                        vers = optarg;
                        break;
                case 'c':
                        console_url = optarg;
                        break;
                case 'h':
                        printf("usage: duraflow list [--workflow NAME] [--status STATUS] [--version N] [--console URL]\n"
                               "STATUS: PENDING, RUNNING, SUSPENDED, SUCCEEDED, FAILED, TIMED_OUT, STOPPED,\n"
                               "NONDETERMINISM, QUARANTINED, VERSION_MISSING, PAUSED.\n"
                               "--version N: only executions of workflow version N (1..2147483647).\n"
                               "Prints each execution's small fields (--json: execution_id, workflow, version,\n"
                               "status, created_ms, updated_ms, operations_count); `describe` for the rest.\n"
                               "--console URL (or $DF_CONSOLE_URL): from that console's index, same output.\n");
                        return EX_OK;
                default:
                        return bad_option(argv[0], c, argv);
                }
        }
        if ((ex = positional("list", argc, argv, 0, "")))
                return ex;
        if (status && df_exec_status_parse(status, &st) != DF_OK) {
                snprintf(errstr, sizeof(errstr),
                         "--status \"%.80s\" is not a status (PENDING, RUNNING, SUSPENDED, SUCCEEDED, FAILED, "
                         "TIMED_OUT, STOPPED, NONDETERMINISM, QUARANTINED, VERSION_MISSING, PAUSED)",
                         status);
                return report(DF_ERR_INVALID_ARG, "list", errstr, "");
        }
        if (vers) {
                char *end;
                long v;
                errno = 0;
                v = strtol(vers, &end, 10);
                if (errno || end == vers || *end || v < 1 || v > INT32_MAX) {
                        snprintf(errstr, sizeof(errstr),
                                 "--version \"%.80s\" is not a workflow version (an integer 1..2147483647)", vers);
                        return report(DF_ERR_INVALID_ARG, "list", errstr, "");
                }
                version = (int)v;
        }
        if (wf && (ex = check_arg("list", df_workflow_name_check(wf, errstr, sizeof(errstr)), errstr)))
                return ex;
        if (!console_url && getenv("DF_CONSOLE_URL") && *getenv("DF_CONSOLE_URL"))
                console_url = getenv("DF_CONSOLE_URL");
        if (console_url)
                return console_list(wf, st, version);
        cl = client("list", DF_CLIENT_NO_CREATE_TOPICS, &ex);
        if (!cl)
                return ex;
        rc = df_client_list(cl, wf, st, &list, errstr, sizeof(errstr));
        df_client_destroy(cl);
        if (rc != DF_OK)
                return report(rc, "list", errstr, "");
        if (json_out) {
                /* item by item: a long list is never one JSON tree in memory */
                printf("[");
                for (i = n = 0; i < list->count; i++) {
                        json_t *o;
                        if (version && list->items[i].version != version)
                                continue;
                        o = exec_json(&list->items[i], 0);
                        printf("%s\n  ", n++ ? "," : "");
                        print_nested(o, 2);
                        json_decref(o);
                }
                printf(n ? "\n]\n" : "]\n");
        } else {
                printf("%-30s %-16s %-15s %s\n", "execution", "workflow", "status", "ops");
                for (i = n = 0; i < list->count; i++) {
                        const df_exec_info_t *x = &list->items[i];
                        char *w;
                        if (version && x->version != version)
                                continue;
                        w = esc_n(x->workflow, strlen(x->workflow));
                        printf("%-30s %-16s %-15s %d\n", x->execution_id, w ? w : "", df_exec_status_name(x->status),
                               x->op_count);
                        free(w);
                        n++;
                }
                printf("%zu execution(s)\n", n);
        }
        df_exec_list_destroy(list);
        return EX_OK;
}

/* ---------------- reading through a console (--console URL, $DF_CONSOLE_URL) ---------------- */

/* describe, history and list read the console's API (duraflow console)
 * instead of the changelog when a console URL is given, and print the same
 * output: the records' fields are taken as the API renders them, payloads
 * the API cut or base64-encoded are fetched whole.  cmd_console.c does the
 * HTTP. */
df_err_t df_cli_console_get(const char *base, const char *path, char **body, size_t *len, char *errstr,
                            size_t errstr_size);
char *df_cli_console_escape(const char *s); /* percent-encoded, malloc'd; NULL on ENOMEM */

static df_err_t console_json(const char *path, json_t **out, char *errstr, size_t errstr_size)
{
        char *body;
        size_t len;
        json_error_t je;
        df_err_t rc = df_cli_console_get(console_url, path, &body, &len, errstr, errstr_size);
        *out = NULL;
        if (rc != DF_OK)
                return rc;
        *out = json_loadb(body, len, 0, &je);
        free(body);
        if (!*out) {
                snprintf(errstr, errstr_size, "the console's answer is not JSON: %s", je.text);
                return DF_ERR_CODEC;
        }
        return DF_OK;
}

/* A payload as the API renders it ({"size","encoding","text","truncated"}),
 * whole: fetched from raw_path when cut or not text.  *hold owns the bytes. */
static df_err_t console_payload(json_t *p, const char *raw_path, df_bytes_t *b, char **hold, char *errstr,
                                size_t errstr_size)
{
        size_t len;
        *hold = NULL;
        b->data = NULL;
        b->len = 0;
        if (!json_integer_value(json_object_get(p, "size")))
                return DF_OK;
        if (!json_is_true(json_object_get(p, "truncated")) &&
            !strcmp(json_string_value(json_object_get(p, "encoding")) ?: "", "utf8")) {
                b->data = (const uint8_t *)json_string_value(json_object_get(p, "text"));
                b->len = json_string_length(json_object_get(p, "text"));
                return DF_OK;
        }
        if (df_cli_console_get(console_url, raw_path, hold, &len, errstr, errstr_size) != DF_OK)
                return DF_ERR_STATE;
        b->data = (const uint8_t *)*hold;
        b->len = len;
        return DF_OK;
}

static const char *jstr(json_t *o, const char *k)
{
        const char *s = json_string_value(json_object_get(o, k));
        return s ? s : "";
}

static int64_t jint(json_t *o, const char *k)
{
        return (int64_t)json_integer_value(json_object_get(o, k));
}

/* The summary fields of an execution (pointers into o). */
static void console_exec(json_t *o, df_exec_info_t *x)
{
        memset(x, 0, sizeof(*x));
        x->execution_id = jstr(o, "execution_id");
        x->workflow = jstr(o, "workflow");
        if (df_exec_status_parse(jstr(o, "status"), &x->status) != DF_OK)
                x->status = (df_exec_status_t)-1; /* a status this CLI does not know: printed as such */
        x->error = jstr(o, "error");
        x->created_ms = jint(o, "created_ms");
        x->updated_ms = jint(o, "updated_ms");
        x->op_count = (int)jint(o, "operations_count");
        x->version = (int)jint(o, "version");
        x->parent_execution_id = jstr(json_object_get(o, "parent"), "execution_id");
        x->parent_op_id = jstr(json_object_get(o, "parent"), "op_id");
        x->run = (int)jint(o, "run");
        x->run_log = jstr(o, "run_log");
}

static int console_enum(const char *name, const char *(*fn)(int))
{
        int i;
        for (i = 0; i < 32; i++)
                if (!strcmp(fn(i), name))
                        return i;
        return -1;
}

static const char *op_type_name_i(int t)
{
        return df_op_type_name((df_op_type_t)t);
}

static const char *op_status_name_i(int s)
{
        return df_op_status_name((df_op_status_t)s);
}

static int console_describe(const char *what, const char *id, int history)
{
        char errstr[512] = "", path[700], *hin = NULL, *hout = NULL, *eid;
        json_t *o, *op;
        df_exec_info_t x;
        df_err_t rc;
        size_t i;
        int n = 0;

        eid = df_cli_console_escape(id);
        if (!eid)
                return report(DF_ERR_NOMEM, what, "out of memory", "");
        snprintf(path, sizeof(path), "/api/v1/executions/%s", eid);
        rc = console_json(path, &o, errstr, sizeof(errstr));
        if (rc != DF_OK)
                goto done;
        console_exec(o, &x);
        snprintf(path, sizeof(path), "/api/v1/executions/%s/input", eid);
        rc = console_payload(json_object_get(o, "input"), path, &x.input, &hin, errstr, sizeof(errstr));
        snprintf(path, sizeof(path), "/api/v1/executions/%s/output", eid);
        if (rc == DF_OK)
                rc = console_payload(json_object_get(o, "output"), path, &x.output, &hout, errstr, sizeof(errstr));
        if (rc != DF_OK)
                goto done;
        if (json_out) {
                json_t *j = exec_json(&x, 1);
                if (!history) {
                        print_nested(j, 0);
                        printf("\n");
                } else {
                        char *txt = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
                        if (txt && strlen(txt) >= 2) {
                                txt[strlen(txt) - 2] = '\0'; /* "\n}" */
                                printf("%s,\n  \"operations\": [", txt);
                        }
                        free(txt);
                }
                json_decref(j);
        } else {
                print_exec(&x);
                if (history)
                        printf("\n%-4s %-9s %-10s %-3s %-24s %-12s %-12s %s\n", "op", "type", "status", "att", "name",
                               "started", "updated", "result / error");
        }
        json_array_foreach(json_object_get(o, "operations"), i, op)
        {
                df_op_info_t oi;
                char *hres = NULL, *eop;
                if (!history)
                        break;
                memset(&oi, 0, sizeof(oi));
                oi.op_id = jstr(op, "op_id");
                oi.parent_id = jstr(op, "parent_id");
                oi.name = jstr(op, "name");
                oi.type = (df_op_type_t)console_enum(jstr(op, "type"), op_type_name_i);
                oi.status = (df_op_status_t)console_enum(jstr(op, "status"), op_status_name_i);
                oi.attempt = (int)jint(op, "attempt");
                oi.started_ms = jint(op, "started_ms");
                oi.updated_ms = jint(op, "updated_ms");
                oi.due_ms = jint(op, "due_ms");
                oi.error = jstr(op, "error");
                oi.callback_id = jstr(op, "callback_id");
                oi.child_execution_id = jstr(op, "child_execution_id");
                oi.child_count = (int)jint(op, "child_count");
                oi.execution_id = x.execution_id;
                eop = df_cli_console_escape(oi.op_id);
                snprintf(path, sizeof(path), "/api/v1/executions/%s/operations/%s/result", eid, eop ? eop : "");
                free(eop);
                rc = console_payload(json_object_get(op, "result"), path, &oi.result, &hres, errstr, sizeof(errstr));
                if (rc != DF_OK)
                        break;
                if (json_out) {
                        json_t *j = op_json(&oi);
                        printf("%s\n    ", n ? "," : "");
                        print_nested(j, 4);
                        json_decref(j);
                } else {
                        print_op(&oi);
                }
                free(hres);
                n++;
        }
        if (history && rc == DF_OK) {
                if (json_out)
                        printf(n ? "\n  ]\n}\n" : "]\n}\n");
                else
                        printf("(times UTC; --json for every field in full)\n");
        }
done:
        json_decref(o);
        free(hin);
        free(hout);
        free(eid);
        return rc == DF_OK ? EX_OK : report(rc, what, errstr, "");
}

static int console_cmp(const void *a, const void *b)
{
        return strcmp(jstr(*(json_t *const *)a, "execution_id"), jstr(*(json_t *const *)b, "execution_id"));
}

static int console_list(const char *wf, df_exec_status_t st, int version)
{
        char errstr[512] = "", path[4096];
        json_t *all = json_array(), *page = NULL, *it;
        json_t **items = NULL;
        const char *cursor = NULL;
        df_err_t rc = DF_OK;
        size_t i, n;
        int pages = 0;

        do { /* every page (500 a page), sorted by execution id as the changelog's list is */
                char *ewf = wf ? df_cli_console_escape(wf) : NULL, *ecur = cursor ? df_cli_console_escape(cursor) : NULL;
                char vq[32] = "";
                if (version)
                        snprintf(vq, sizeof(vq), "&version=%d", version);
                snprintf(path, sizeof(path), "/api/v1/executions?limit=500%s%s%s%s%s%s%s", wf ? "&workflow=" : "",
                         ewf ? ewf : "", st != DF_EXEC_ANY ? "&status=" : "",
                         st != DF_EXEC_ANY ? df_exec_status_name(st) : "", vq, cursor ? "&cursor=" : "",
                         ecur ? ecur : "");
                free(ewf);
                free(ecur);
                json_decref(page);
                rc = console_json(path, &page, errstr, sizeof(errstr));
                if (rc != DF_OK)
                        break;
                json_array_extend(all, json_object_get(page, "items"));
                cursor = json_string_value(json_object_get(page, "next_cursor"));
        } while (cursor && ++pages < 100000);
        if (rc != DF_OK) {
                json_decref(page);
                json_decref(all);
                return report(rc, "list", errstr, "");
        }
        n = json_array_size(all);
        items = calloc(n + 1, sizeof(*items));
        json_array_foreach(all, i, it) items[i] = it;
        qsort(items, n, sizeof(*items), console_cmp);
        if (json_out) {
                printf("[");
                for (i = 0; i < n; i++) {
                        df_exec_info_t x;
                        json_t *o;
                        console_exec(items[i], &x);
                        o = exec_json(&x, 0);
                        printf("%s\n  ", i ? "," : "");
                        print_nested(o, 2);
                        json_decref(o);
                }
                printf(n ? "\n]\n" : "]\n");
        } else {
                printf("%-30s %-16s %-15s %s\n", "execution", "workflow", "status", "ops");
                for (i = 0; i < n; i++) {
                        df_exec_info_t x;
                        char *w;
                        console_exec(items[i], &x);
                        w = esc_n(x.workflow, strlen(x.workflow));
                        printf("%-30s %-16s %-15s %d\n", x.execution_id, w ? w : "", df_exec_status_name(x.status),
                               x.op_count);
                        free(w);
                }
                printf("%zu execution(s)\n", n);
        }
        free(items);
        json_decref(page);
        json_decref(all);
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
        while ((c = getopt_long(argc, argv, ":p:f:e:nh", opts, NULL)) != -1) {
                switch (c) {
                case 'p':
                        if (once("callback", "payload", &payload))
                                return EX_USAGE;
                        break;
                case 'f':
                        if (once("callback", "payload-file", &file))
                                return EX_USAGE;
                        break;
                case 'e':
                        if (once("callback", "error", &error))
                                return EX_USAGE;
                        break;
                case 'n':
                        wait = 0;
                        break;
                case 'h':
                        printf("usage: duraflow callback succeed <callback-id> [--payload TEXT | --payload-file F]\n"
                               "       duraflow callback fail <callback-id> --error MESSAGE\n"
                               "       duraflow callback heartbeat <callback-id>\n"
                               "<callback-id>: <32 lowercase hex>_<op id>_<execution id>, checked before\n"
                               "connecting (exit 2 when malformed).\n"
                               "Waits for the worker's verdict unless --no-wait: exit 5 when the callback id is\n"
                               "unknown or forged, or the callback already completed or timed out.\n"
                               "--error: UTF-8 text of at most %d bytes; the payload: at most %d bytes.\n",
                               DF_MESSAGE_MAX, DF_PAYLOAD_MAX);
                        return EX_OK;
                default:
                        return bad_option(argv[0], c, argv);
                }
        }
        if ((ex = positional("callback", argc, argv, 2, "succeed|fail|heartbeat <callback-id>")))
                return ex;
        if (payload && file) {
                say(stderr, "duraflow callback: give --payload or --payload-file, not both");
                return EX_USAGE;
        }
        if (!strcmp(argv[optind], "succeed"))
                outcome = DF_CALLBACK_SUCCESS;
        else if (!strcmp(argv[optind], "fail"))
                outcome = DF_CALLBACK_FAILURE;
        else if (!strcmp(argv[optind], "heartbeat"))
                outcome = DF_CALLBACK_HEARTBEAT;
        else {
                say(stderr, "duraflow callback: \"%s\" is not succeed, fail or heartbeat", argv[optind]);
                return EX_USAGE;
        }
        if (outcome == DF_CALLBACK_FAILURE && (!error || !*error)) {
                say(stderr, "duraflow callback: fail needs --error MESSAGE (what the workflow's callback sees as "
                            "the failure)");
                return EX_USAGE;
        }
        if (outcome != DF_CALLBACK_FAILURE && error) {
                say(stderr, "duraflow callback: --error goes with fail only");
                return EX_USAGE;
        }
        if (outcome != DF_CALLBACK_SUCCESS && (payload || file)) {
                say(stderr, "duraflow callback: --payload and --payload-file go with succeed only");
                return EX_USAGE;
        }
        if ((ex = check_arg("callback", df_text_check("the failure message (--error)", error, DF_MESSAGE_MAX, errstr,
                                                      sizeof(errstr)),
                            errstr)))
                return ex;
        /* the id's form offline (exit 2), not after connecting (it waited for
         * Kafka, exit 6, or the worker said malformed, exit 5); the brokers
         * first, so that none configured says so */
        if ((ex = need_brokers("callback")))
                return ex;
        if ((ex = check_arg("callback", df_callback_id_check(argv[optind + 1], errstr, sizeof(errstr)), errstr)))
                return ex;
        if (file) {
                buf = read_file("callback", "--payload-file", file, &len, &ex);
                if (!buf)
                        return ex;
        } else if (payload) {
                len = strlen(payload);
                if (len > DF_PAYLOAD_MAX) {
                        snprintf(errstr, sizeof(errstr), "--payload is %zu bytes, over the limit of %d", len,
                                 DF_PAYLOAD_MAX);
                        return report(DF_ERR_PAYLOAD_TOO_LARGE, "callback", errstr, "");
                }
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
        while ((c = getopt_long(argc, argv, ":r:h", opts, NULL)) != -1) {
                switch (c) {
                case 'r':
                        if (once("stop", "reason", &reason))
                                return EX_USAGE;
                        break;
                case 'h':
                        printf("usage: duraflow stop <execution-id> [--reason TEXT]\n"
                               "       duraflow stop --all [--workflow W] [--status S] [--started-before T]\n"
                               "                [--started-after T] [--dry-run] [--reason TEXT]\n"
                               "<execution-id>: 1..%d characters of A-Z a-z 0-9 . _ : @ -\n"
                               "--reason: UTF-8 text of at most %d bytes (default \"stopped by client\").\n",
                               DF_EXECUTION_ID_MAX, DF_MESSAGE_MAX);
                        return EX_OK;
                default:
                        return bad_option(argv[0], c, argv);
                }
        }
        if ((ex = positional("stop", argc, argv, 1, "<execution-id>")))
                return ex;
        if ((ex = check_arg("stop", df_execution_id_check(argv[optind], errstr, sizeof(errstr)), errstr)) ||
            (ex = check_arg("stop", df_text_check("the reason (--reason)", reason, DF_MESSAGE_MAX, errstr,
                                                  sizeof(errstr)),
                            errstr)))
                return ex;
        cl = client("stop", 0, &ex);
        if (!cl)
                return ex;
        rc = df_client_stop(cl, argv[optind], reason, errstr, sizeof(errstr));
        ex = report(rc, "stop", errstr, "stopped");
        df_client_destroy(cl);
        return ex;
}

/* ---------------- pause, resume, restart, purge; bulk (issue 12) ---------------- */

/* A time given to --started-before / --started-after: UTC ms since the
 * epoch (digits only), or ISO 8601 UTC "YYYY-MM-DDTHH:MM:SS[.mmm]Z" of a
 * real date, 1970 or later.  0, or -1. */
static int parse_time_ms(const char *s, int64_t *out)
{
        struct tm tm, back;
        const char *p;
        char *end;
        long long v;
        int ms = 0;
        time_t t;

        for (p = s; *p >= '0' && *p <= '9'; p++)
                ;
        if (p != s && !*p && p - s <= 15) {
                v = strtoll(s, &end, 10);
                *out = v;
                return 0;
        }
        memset(&tm, 0, sizeof(tm));
        end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
        if (!end || s[0] < '0' || s[0] > '9')
                return -1;
        if (end[0] == '.') {
                if (end[1] < '0' || end[1] > '9' || end[2] < '0' || end[2] > '9' || end[3] < '0' || end[3] > '9')
                        return -1;
                ms = (end[1] - '0') * 100 + (end[2] - '0') * 10 + (end[3] - '0');
                end += 4;
        }
        if (strcmp(end, "Z"))
                return -1;
        back = tm;
        t = timegm(&tm);
        /* timegm normalises 02-30 to 03-02: a date that is not a real one differs */
        if (t < 0 || tm.tm_mday != back.tm_mday || tm.tm_mon != back.tm_mon || tm.tm_year != back.tm_year ||
            tm.tm_hour != back.tm_hour || tm.tm_min != back.tm_min || tm.tm_sec != back.tm_sec)
                return -1;
        *out = (int64_t)t * 1000 + ms;
        return 0;
}

/* "N" or "N.M..." with each N in 1..9999999 without a leading zero: the
 * form of an operation id (the worker checks that it exists and is a
 * top-level one). */
static int op_id_form(const char *s)
{
        int digits = 0;
        for (; *s; s++) {
                if (*s >= '0' && *s <= '9') {
                        if (!digits && *s == '0')
                                return 0;
                        if (++digits > 7)
                                return 0;
                } else if (*s == '.' && digits) {
                        digits = 0;
                } else {
                        return 0;
                }
        }
        return digits > 0;
}

/* The statuses resume goes with. */
static int resumable(df_exec_status_t st)
{
        return st == DF_EXEC_PAUSED || st == DF_EXEC_NONDETERMINISM || st == DF_EXEC_QUARANTINED ||
               st == DF_EXEC_VERSION_MISSING;
}

/* Whether verb can apply to an execution in status st (the worker has the
 * last word: the status listed may be a moment old).  A bulk action counts
 * only these as matching, so a dry run says what would really change. */
static int applies(const char *verb, df_exec_status_t st)
{
        int terminal = st == DF_EXEC_SUCCEEDED || st == DF_EXEC_FAILED || st == DF_EXEC_TIMED_OUT ||
                       st == DF_EXEC_STOPPED;
        if (!strcmp(verb, "resume"))
                return resumable(st);
        if (!strcmp(verb, "pause"))
                return st == DF_EXEC_PENDING || st == DF_EXEC_RUNNING || st == DF_EXEC_SUSPENDED;
        if (!strcmp(verb, "restart"))
                return st == DF_EXEC_FAILED || st == DF_EXEC_STOPPED || st == DF_EXEC_TIMED_OUT;
        if (!strcmp(verb, "stop"))
                return !terminal;
        return 1;
}

static df_err_t control_one(df_client_t *cl, const char *verb, const char *id, const char *from_op,
                            const char *reason, char *errstr, size_t errstr_size)
{
        if (!strcmp(verb, "pause"))
                return df_client_pause(cl, id, reason, errstr, errstr_size);
        if (!strcmp(verb, "resume"))
                return df_client_resume(cl, id, errstr, errstr_size);
        if (!strcmp(verb, "restart"))
                return df_client_restart(cl, id, from_op, reason, errstr, errstr_size);
        if (!strcmp(verb, "purge"))
                return df_client_purge(cl, id, errstr, errstr_size);
        return df_client_stop(cl, id, reason, errstr, errstr_size);
}

static const char *done_word(const char *verb)
{
        return !strcmp(verb, "pause")    ? "paused"
               : !strcmp(verb, "resume") ? "resumed"
               : !strcmp(verb, "restart") ? "restarted"
               : !strcmp(verb, "purge")  ? "purged"
                                         : "stopped";
}

/* Every execution matching the filters: a dry run prints how many (and
 * which); else the verb is applied to each, one reply at a time. */
static int control_bulk(const char *verb, const char *wf, df_exec_status_t st, const int64_t *before,
                        const int64_t *after, int dry_run, const char *from_op, const char *reason)
{
        char errstr[512] = "";
        df_exec_list_t *list = NULL;
        df_client_t *cl;
        df_err_t rc;
        size_t i, n = 0, ok = 0, bad = 0;
        json_t *ids = json_array(), *failed = json_array();
        int ex, worst = EX_OK;

        cl = client(verb, DF_CLIENT_NO_CREATE_TOPICS, &ex);
        if (!cl) {
                json_decref(ids);
                json_decref(failed);
                return ex;
        }
        rc = df_client_list(cl, wf, st, &list, errstr, sizeof(errstr));
        if (rc != DF_OK) {
                df_client_destroy(cl);
                json_decref(ids);
                json_decref(failed);
                return report(rc, verb, errstr, "");
        }
        for (i = 0; i < list->count; i++) {
                const df_exec_info_t *x = &list->items[i];
                if ((before && x->created_ms >= *before) || (after && x->created_ms <= *after))
                        continue;
                if (!applies(verb, x->status))
                        continue; /* e.g. a finished one for stop: not counted as matching */
                n++;
                json_array_append_new(ids, json_string(x->execution_id));
                if (dry_run)
                        continue;
                rc = control_one(cl, verb, x->execution_id, from_op, reason, errstr, sizeof(errstr));
                if (rc == DF_OK) {
                        ok++;
                        continue;
                }
                bad++;
                if (exit_code(rc) > worst)
                        worst = exit_code(rc);
                if (json_out) {
                        json_t *o = json_object();
                        json_object_set_new(o, "execution_id", json_string(x->execution_id));
                        json_object_set_new(o, "code", json_string(df_err_name(rc)));
                        json_object_set_new(o, "message", json_string(errstr));
                        json_array_append_new(failed, o);
                } else {
                        say(stderr, "duraflow %s: %s: %s (%s)", verb, x->execution_id, strip_what(verb, errstr),
                            df_err_name(rc));
                }
        }
        if (json_out) {
                json_t *o = json_object();
                json_object_set_new(o, "dry_run", json_boolean(dry_run));
                json_object_set_new(o, "matched", json_integer((json_int_t)n));
                json_object_set_new(o, "execution_ids", ids);
                if (!dry_run) {
                        json_object_set_new(o, "done", json_integer((json_int_t)ok));
                        json_object_set_new(o, "failed", failed);
                } else {
                        json_decref(failed);
                }
                json_dumpf(o, stdout, JSON_COMPACT);
                fputc('\n', stdout);
                json_decref(o);
        } else {
                if (dry_run) {
                        /* the colon introduces the list: none when there is nothing to list */
                        say(stdout, "%zu execution%s would be %s%s", n, n == 1 ? "" : "s", done_word(verb),
                            json_array_size(ids) ? ":" : "");
                        for (i = 0; i < json_array_size(ids); i++)
                                say(stdout, "  %s", json_string_value(json_array_get(ids, i)));
                } else if (n) {
                        say(stdout, "%s %zu of %zu matching execution%s (%zu refused)", done_word(verb), ok, n,
                            n == 1 ? "" : "s", bad);
                }
                if (!n)
                        say(stderr, "duraflow %s: no execution matches the filters (DF_ERR_NOT_FOUND)", verb);
                json_decref(ids);
                json_decref(failed);
        }
        df_exec_list_destroy(list);
        df_client_destroy(cl);
        return n ? worst : EX_NOTFOUND;
}

static int cmd_control(const char *verb, int argc, char **argv)
{
        static const struct option opts[] = {{"reason", required_argument, 0, 'r'},
                                             {"from-op", required_argument, 0, 'o'},
                                             {"all", no_argument, 0, 'a'},
                                             {"workflow", required_argument, 0, 'w'},
                                             {"status", required_argument, 0, 's'},
                                             {"started-before", required_argument, 0, 'B'},
                                             {"started-after", required_argument, 0, 'A'},
                                             {"dry-run", no_argument, 0, 'n'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
        const char *reason = NULL, *from_op = NULL, *wf = NULL, *status = NULL;
        int bulk_ok = strcmp(verb, "purge") != 0, all = 0, dry_run = 0, filters = 0, has_before = 0, has_after = 0;
        int64_t before = 0, after = 0;
        df_exec_status_t st = DF_EXEC_ANY;
        char errstr[512] = "";
        df_client_t *cl;
        df_err_t rc;
        int c, ex;

        optind = 0;
        while ((c = getopt_long(argc, argv, ":r:o:aw:s:B:A:nh", opts, NULL)) != -1) {
                switch (c) {
                case 'r':
                        if (once(verb, "reason", &reason))
                                return EX_USAGE;
                        break;
                case 'o':
                        if (once(verb, "from-op", &from_op))
                                return EX_USAGE;
                        break;
                case 'a':
                        all = 1;
                        break;
                case 'w':
                case 's':
                        if (c == 'w' ? wf != NULL : status != NULL) {
                                say(stderr, "duraflow %s: --%s given twice", verb, c == 'w' ? "workflow" : "status");
                                return EX_USAGE;
                        }
                        *(c == 'w' ? &wf : &status) = optarg;
                        filters = 1;
                        break;
                case 'B':
                case 'A':
                        if ((c == 'B' ? has_before : has_after) ||
                            parse_time_ms(optarg, c == 'B' ? &before : &after)) {
                                snprintf(errstr, sizeof(errstr),
                                         (c == 'B' ? has_before : has_after)
                                                 ? "--started-%s given twice (\"%.80s\")"
                                                 : "--started-%s \"%.80s\" is not a time (UTC ms since the epoch, "
                                                   "or YYYY-MM-DDTHH:MM:SS[.mmm]Z of a real date, 1970 or later)",
                                         c == 'B' ? "before" : "after", optarg);
                                return report(DF_ERR_INVALID_ARG, verb, errstr, "");
                        }
                        *(c == 'B' ? &has_before : &has_after) = 1;
                        filters = 1;
                        break;
                case 'n':
                        dry_run = 1;
                        break;
                case 'h':
                        printf("usage: duraflow %s <execution-id>%s%s\n", verb,
                               !strcmp(verb, "restart") ? " [--from-op N]" : "",
                               strcmp(verb, "resume") && strcmp(verb, "purge") ? " [--reason TEXT]" : "");
                        if (bulk_ok)
                                printf("       duraflow %s --all [--workflow W] [--status S] [--started-before T]\n"
                                       "                [--started-after T] [--dry-run]%s\n",
                                       verb, !strcmp(verb, "restart") ? " [--from-op N]" : "");
                        if (!strcmp(verb, "pause"))
                                printf("Pause: the execution runs no handler and no step (PAUSED); timers, callback\n"
                                       "completions and child results that arrive meanwhile are recorded and take\n"
                                       "effect at `duraflow resume`. A finished execution: exit 5.\n");
                        else if (!strcmp(verb, "resume"))
                                printf("Resume a PAUSED execution, or a NONDETERMINISM / QUARANTINED one once the\n"
                                       "fixed code runs (VERSION_MISSING: once a worker has the version).\n");
                        else if (!strcmp(verb, "restart"))
                                printf("Restart a FAILED, STOPPED or TIMED_OUT execution from its first top-level\n"
                                       "operation that did not succeed (--from-op N: from top-level operation N).\n"
                                       "The operations before it keep their results byte for byte; it and those after\n"
                                       "it are discarded and run again with fresh attempts. A failure inside a child\n"
                                       "context, branch or map item reruns the whole top-level operation around it\n"
                                       "(its result is one checkpoint). `history` shows the run log. Another\n"
                                       "status: exit 5.\n");
                        else if (!strcmp(verb, "purge"))
                                printf("Purge a finished execution now (as retention.ms does later): its records are\n"
                                       "tombstoned in <prefix>.state and the worker's store; the id may start again.\n"
                                       "A running execution: exit 5 (stop it first).\n");
                        if (bulk_ok)
                                printf("--all: every execution matching the filters (--status as `list`; T: UTC ms\n"
                                       "or YYYY-MM-DDTHH:MM:SSZ, compared with its start); --dry-run prints the\n"
                                       "count and the ids only. Exit 3 when none matches.\n");
                        return EX_OK;
                default:
                        return bad_option(argv[0], c, argv);
                }
        }
        if (!strcmp(verb, "resume") || !strcmp(verb, "purge")) {
                if (reason) {
                        say(stderr, "duraflow %s: --reason goes with stop, pause and restart", verb);
                        return EX_USAGE;
                }
        }
        if (from_op && strcmp(verb, "restart")) {
                say(stderr, "duraflow %s: --from-op goes with restart only", verb);
                return EX_USAGE;
        }
        if (from_op && !op_id_form(from_op)) {
                snprintf(errstr, sizeof(errstr),
                         "--from-op \"%.80s\" is not an operation id (a top-level one: 1, 2, ...)", from_op);
                return report(DF_ERR_INVALID_ARG, verb, errstr, "");
        }
        if (reason && (ex = check_arg(verb, df_text_check("the reason (--reason)", reason, DF_MESSAGE_MAX, errstr,
                                                           sizeof(errstr)),
                                      errstr)))
                return ex;
        if (status && df_exec_status_parse(status, &st) != DF_OK) {
                snprintf(errstr, sizeof(errstr), "--status \"%.80s\" is not a status (see `duraflow list --help`)",
                         status);
                return report(DF_ERR_INVALID_ARG, verb, errstr, "");
        }
        if (wf && (ex = check_arg(verb, df_workflow_name_check(wf, errstr, sizeof(errstr)), errstr)))
                return ex;
        if (all || filters || dry_run) {
                if (!bulk_ok) {
                        say(stderr, "duraflow %s: one execution at a time (no --all)", verb);
                        return EX_USAGE;
                }
                if (!all) {
                        say(stderr, "duraflow %s: --workflow, --status, --started-* and --dry-run go with --all",
                            verb);
                        return EX_USAGE;
                }
                if ((ex = positional(verb, argc, argv, 0, "")))
                        return ex;
                return control_bulk(verb, wf, st, has_before ? &before : NULL, has_after ? &after : NULL, dry_run,
                                    from_op, reason);
        }
        if ((ex = positional(verb, argc, argv, 1, "<execution-id>")))
                return ex;
        if ((ex = check_arg(verb, df_execution_id_check(argv[optind], errstr, sizeof(errstr)), errstr)))
                return ex;
        cl = client(verb, DF_CLIENT_NO_CREATE_TOPICS, &ex);
        if (!cl)
                return ex;
        if (!strcmp(verb, "resume")) {
                /* resume goes with a parked execution; on another it would only replay */
                df_exec_info_t *x = NULL;
                rc = df_client_describe(cl, argv[optind], &x, errstr, sizeof(errstr));
                if (rc == DF_OK && !resumable(x->status)) {
                        snprintf(errstr, sizeof(errstr),
                                 "execution %s is %s: nothing to resume (resume goes with PAUSED, NONDETERMINISM, "
                                 "QUARANTINED and VERSION_MISSING)",
                                 argv[optind], df_exec_status_name(x->status));
                        rc = x->status >= DF_EXEC_SUCCEEDED && x->status <= DF_EXEC_STOPPED ? DF_ERR_FINISHED
                                                                                              : DF_ERR_STATE;
                }
                df_exec_info_destroy(x);
                if (rc != DF_OK) {
                        ex = report(rc, verb, errstr, "");
                        df_client_destroy(cl);
                        return ex;
                }
        }
        rc = control_one(cl, verb, argv[optind], from_op, reason, errstr, sizeof(errstr));
        ex = report(rc, verb, errstr, done_word(verb));
        df_client_destroy(cl);
        return ex;
}

/* ---------------- schedule (issue 12.5) ---------------- */

static const char sched_usage[] =
        "usage: duraflow schedule create <name> --cron EXPR [--timezone Area/City] --workflow W\n"
        "                                [--input TEXT | --input-file FILE|-] [--overlap skip|allow]\n"
        "       duraflow schedule list\n"
        "       duraflow schedule describe <name>\n"
        "       duraflow schedule pause|resume|delete|trigger <name>\n"
        "A schedule starts an execution of W at each time of a cron expression read in a\n"
        "time zone; the run of time T is the execution <name>-<T in UTC, YYYYMMDDTHHMMSSZ>.\n"
        "After an outage that covered several times it runs once, for the latest.\n"
        "create is idempotent by name: the same definition exits 0, another exits 4.\n"
        "--cron: 5 fields (minute hour day-of-month month day-of-week), 6 with a seconds\n"
        "  field first, or @yearly @monthly @weekly @daily @hourly; *, lists, ranges,\n"
        "  steps, jan..dec, sun..sat; at most %d bytes.\n"
        "--timezone: a tz database name (default UTC). --overlap: skip (default: no run\n"
        "  while the last one runs) or allow.\n"
        "<name>: 1..%d characters of A-Z a-z 0-9 . _ : @ -; the input: at most %d bytes.\n"
        "pause: no runs until resume (times meanwhile are not caught up); trigger: a run\n"
        "now (exit 4 when the last run runs and the overlap policy is skip; a second\n"
        "trigger in the same second starts and counts nothing more: exit 0, \"already\n"
        "started\"); delete: no more runs (those started go on).\n";

/* errstr without the library's leading "schedule <verb>: ". */
static const char *sched_strip(const char *verb, const char *errstr)
{
        size_t n = strlen(verb);
        if (!strncmp(errstr, "schedule ", 9) && !strncmp(errstr + 9, verb, n) && !strncmp(errstr + 9 + n, ": ", 2))
                return errstr + 9 + n + 2;
        return errstr;
}

/* "YYYY-MM-DDTHH:MM:SSZ" of a UTC ms, "-" for 0. */
static const char *iso_utc(char *buf, size_t size, int64_t ms)
{
        time_t t = (time_t)(ms / 1000);
        struct tm tm;
        if (ms <= 0 || !gmtime_r(&t, &tm) || !strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm))
                snprintf(buf, size, "-");
        return buf;
}

static json_t *sched_json(const df_schedule_info_t *s, int full)
{
        json_t *o = json_object();
        json_object_set_new(o, "name", json_string(s->name));
        json_object_set_new(o, "cron", json_string(s->cron));
        json_object_set_new(o, "timezone", json_string(s->timezone));
        json_object_set_new(o, "workflow", json_string(s->workflow));
        if (full)
                json_payload(o, "input", &s->input);
        json_object_set_new(o, "overlap", json_string(df_overlap_name(s->overlap)));
        json_object_set_new(o, "paused", json_boolean(s->paused));
        json_object_set_new(o, "next_fire_ms", json_integer(s->next_fire_ms));
        json_object_set_new(o, "last_fire_ms", json_integer(s->last_fire_ms));
        json_object_set_new(o, "last_run_id", json_string(s->last_run_id));
        json_object_set_new(o, "last_run_running", json_boolean(s->last_run_running));
        json_object_set_new(o, "fires", json_integer(s->fires));
        json_object_set_new(o, "skipped", json_integer(s->skipped));
        json_object_set_new(o, "missed", json_integer(s->missed));
        json_object_set_new(o, "created_ms", json_integer(s->created_ms));
        json_object_set_new(o, "updated_ms", json_integer(s->updated_ms));
        return o;
}

static void print_sched(const df_schedule_info_t *s)
{
        char a[40], b[40], n[DF_EXECUTION_ID_MAX + 32];
        const char *ov = df_overlap_name(s->overlap), *state = s->paused ? "paused" : "active";
        print_field("name", s->name, strlen(s->name));
        print_field("cron", s->cron, strlen(s->cron));
        print_field("timezone", s->timezone, strlen(s->timezone));
        print_field("workflow", s->workflow, strlen(s->workflow));
        print_field("input", s->input.data, s->input.len);
        print_field("overlap", ov, strlen(ov));
        print_field("state", state, strlen(state));
        iso_utc(a, sizeof(a), s->next_fire_ms);
        print_field("next_fire", a, strlen(a));
        iso_utc(b, sizeof(b), s->last_fire_ms);
        print_field("last_fire", b, strlen(b));
        if (*s->last_run_id) {
                snprintf(n, sizeof(n), "%s%s", s->last_run_id, s->last_run_running ? " (running)" : " (ended)");
                print_field("last_run", n, strlen(n));
        }
        printf("%-13s %lld runs, %lld skipped (overlap), %lld missed (catch-up)\n", "fires", (long long)s->fires,
               (long long)s->skipped, (long long)s->missed);
}

static int cmd_schedule(int argc, char **argv)
{
        static const struct option opts[] = {{"cron", required_argument, 0, 'c'},
                                             {"timezone", required_argument, 0, 'z'},
                                             {"workflow", required_argument, 0, 'w'},
                                             {"input", required_argument, 0, 'i'},
                                             {"input-file", required_argument, 0, 'f'},
                                             {"overlap", required_argument, 0, 'o'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
        const char *cron = NULL, *zone = NULL, *workflow = NULL, *input = NULL, *file = NULL, *overlap = NULL;
        const char *verb, *name = NULL;
        char what[64], errstr[600] = "", msg[400], *buf = NULL;
        df_schedule_def_t def;
        df_client_t *cl;
        size_t len = 0;
        df_err_t rc;
        int c, ex, create;

        optind = 0; /* 0: glibc re-initialises, so options may follow the arguments */
        while ((c = getopt_long(argc, argv, ":c:z:w:i:f:o:h", opts, NULL)) != -1) {
                switch (c) {
                case 'c':
                        if (once("schedule", "cron", &cron))
                                return EX_USAGE;
                        break;
                case 'z':
                        if (once("schedule", "timezone", &zone))
                                return EX_USAGE;
                        break;
                case 'w':
                        if (once("schedule", "workflow", &workflow))
                                return EX_USAGE;
                        break;
                case 'i':
                        if (once("schedule", "input", &input))
                                return EX_USAGE;
                        break;
                case 'f':
                        if (once("schedule", "input-file", &file))
                                return EX_USAGE;
                        break;
                case 'o':
                        if (once("schedule", "overlap", &overlap))
                                return EX_USAGE;
                        break;
                case 'h':
                        printf(sched_usage, DF_CRON_MAX, DF_SCHEDULE_NAME_MAX, DF_SCHEDULE_INPUT_MAX);
                        return EX_OK;
                default:
                        return bad_option(argv[0], c, argv);
                }
        }
        if (optind >= argc) {
                say(stderr, "duraflow schedule: needs create|list|describe|pause|resume|delete|trigger (see --help)");
                return EX_USAGE;
        }
        verb = argv[optind];
        if (strcmp(verb, "create") && strcmp(verb, "list") && strcmp(verb, "describe") && strcmp(verb, "pause") &&
            strcmp(verb, "resume") && strcmp(verb, "delete") && strcmp(verb, "trigger")) {
                say(stderr, "duraflow schedule: \"%s\" is not create, list, describe, pause, resume, delete or trigger",
                    verb);
                return EX_USAGE;
        }
        snprintf(what, sizeof(what), "schedule %s", verb);
        create = !strcmp(verb, "create");
        optind++;
        if ((ex = positional(what, argc, argv, strcmp(verb, "list") ? 1 : 0, "<name>")))
                return ex;
        if (strcmp(verb, "list"))
                name = argv[optind];
        if (!create && (cron || zone || workflow || input || file || overlap)) {
                say(stderr, "duraflow %s: --cron, --timezone, --workflow, --input, --input-file and --overlap go "
                            "with create only", what);
                return EX_USAGE;
        }
        /* at the boundary, before any topic is created */
        if (name && (ex = check_arg(what, df_schedule_name_check(name, errstr, sizeof(errstr)), errstr)))
                return ex;
        memset(&def, 0, sizeof(def));
        if (create) {
                if (!cron || !workflow) {
                        say(stderr, "duraflow schedule create: needs --cron EXPR and --workflow W (see --help)");
                        return EX_USAGE;
                }
                if (input && file) {
                        say(stderr, "duraflow schedule create: give --input or --input-file, not both");
                        return EX_USAGE;
                }
                if (overlap && strcmp(overlap, "skip") && strcmp(overlap, "allow")) {
                        say(stderr, "duraflow schedule create: --overlap \"%s\" is not skip or allow", overlap);
                        return EX_USAGE;
                }
                if ((ex = check_arg(what, df_cron_check(cron, zone, errstr, sizeof(errstr)), errstr)) ||
                    (ex = check_arg(what, df_workflow_name_check(workflow, errstr, sizeof(errstr)), errstr)))
                        return ex;
                if (file) {
                        buf = read_file(what, "--input-file", file, &len, &ex);
                        if (!buf)
                                return ex;
                } else if (input) {
                        len = strlen(input);
                }
                if (len > DF_SCHEDULE_INPUT_MAX) {
                        snprintf(errstr, sizeof(errstr), "%s is %zu bytes, over the limit of %d",
                                 file ? "--input-file" : "--input", len, DF_SCHEDULE_INPUT_MAX);
                        free(buf);
                        return report(DF_ERR_PAYLOAD_TOO_LARGE, what, errstr, "");
                }
                def.cron = cron;
                def.timezone = zone;
                def.workflow = workflow;
                def.input = buf ? buf : input;
                def.input_len = len;
                def.overlap = overlap && !strcmp(overlap, "allow") ? DF_OVERLAP_ALLOW : DF_OVERLAP_SKIP;
        }
        /* reads never create the topics */
        cl = client(what, !strcmp(verb, "list") || !strcmp(verb, "describe") ? DF_CLIENT_NO_CREATE_TOPICS : 0, &ex);
        if (!cl) {
                free(buf);
                return ex;
        }
        if (create) {
                int existed = 0;
                rc = df_client_schedule_create(cl, name, &def, &existed, errstr, sizeof(errstr));
                snprintf(msg, sizeof(msg), "schedule %s %s", name, existed ? "already exists (same definition)" :
                                                                             "created");
                ex = report(rc, what, sched_strip(verb, errstr), msg);
        } else if (!strcmp(verb, "describe")) {
                df_schedule_info_t *s = NULL;
                rc = df_client_schedule_describe(cl, name, &s, errstr, sizeof(errstr));
                if (rc != DF_OK) {
                        ex = report(rc, what, sched_strip(verb, errstr), "");
                } else {
                        if (json_out) {
                                json_t *o = sched_json(s, 1);
                                json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
                                fputc('\n', stdout);
                                json_decref(o);
                        } else {
                                print_sched(s);
                        }
                        ex = EX_OK;
                }
                df_schedule_info_destroy(s);
        } else if (!strcmp(verb, "list")) {
                df_schedule_list_t *l = NULL;
                size_t i;
                rc = df_client_schedule_list(cl, &l, errstr, sizeof(errstr));
                if (rc != DF_OK) {
                        ex = report(rc, what, sched_strip(verb, errstr), "");
                } else {
                        if (json_out) {
                                json_t *arr = json_array();
                                for (i = 0; i < l->count; i++)
                                        json_array_append_new(arr, sched_json(&l->items[i], 0));
                                json_dumpf(arr, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
                                fputc('\n', stdout);
                                json_decref(arr);
                        } else {
                                printf("%-24s %-20s %-16s %-16s %-7s %-21s %s\n", "name", "cron", "timezone",
                                       "workflow", "state", "next fire", "last run");
                                for (i = 0; i < l->count; i++) {
                                        const df_schedule_info_t *s = &l->items[i];
                                        char *n = esc_n(s->name, strlen(s->name)), *cr = esc_n(s->cron, strlen(s->cron));
                                        char *w = esc_n(s->workflow, strlen(s->workflow)), nf[40];
                                        char *z = esc_n(s->timezone, strlen(s->timezone));
                                        char *r = esc_n(s->last_run_id, strlen(s->last_run_id));
                                        printf("%-24s %-20s %-16s %-16s %-7s %-21s %s%s\n", n ? n : "", cr ? cr : "",
                                               z ? z : "", w ? w : "", s->paused ? "paused" : "active",
                                               iso_utc(nf, sizeof(nf), s->next_fire_ms),
                                               r && *r ? r : "-", s->last_run_running ? " (running)" : "");
                                        free(n);
                                        free(cr);
                                        free(w);
                                        free(z);
                                        free(r);
                                }
                                printf("%zu schedule(s)\n", l->count);
                        }
                        ex = EX_OK;
                }
                df_schedule_list_destroy(l);
        } else if (!strcmp(verb, "trigger")) {
                char run[DF_EXECUTION_ID_MAX + 1] = "";
                int existed = 0;
                rc = df_client_schedule_trigger_ex(cl, name, run, sizeof(run), &existed, errstr, sizeof(errstr));
                if (rc == DF_OK && json_out) {
                        json_t *o = json_object();
                        json_object_set_new(o, "ok", json_true());
                        json_object_set_new(o, "code", json_string(df_err_name(rc)));
                        json_object_set_new(o, "message", json_string(existed ? "already started" : "triggered"));
                        json_object_set_new(o, "run_id", json_string(run));
                        json_dumpf(o, stdout, JSON_COMPACT);
                        fputc('\n', stdout);
                        json_decref(o);
                        ex = EX_OK;
                } else {
                        if (existed)
                                snprintf(msg, sizeof(msg),
                                         "schedule %s: run %s was already started this second: not started again",
                                         name, run);
                        else
                                snprintf(msg, sizeof(msg), "schedule %s triggered: started %s", name, run);
                        ex = report(rc, what, sched_strip(verb, errstr), msg);
                }
        } else {
                if (!strcmp(verb, "pause"))
                        rc = df_client_schedule_pause(cl, name, errstr, sizeof(errstr));
                else if (!strcmp(verb, "resume"))
                        rc = df_client_schedule_resume(cl, name, errstr, sizeof(errstr));
                else
                        rc = df_client_schedule_delete(cl, name, errstr, sizeof(errstr));
                snprintf(msg, sizeof(msg), "schedule %s %s", name,
                         !strcmp(verb, "pause") ? "paused" : !strcmp(verb, "resume") ? "resumed" : "deleted");
                ex = report(rc, what, sched_strip(verb, errstr), msg);
        }
        df_client_destroy(cl);
        free(buf);
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
        while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
                if (c == 'h') {
                        fputs(help, stdout);
                        return 1;
                }
                return bad_option(argv[0], c, argv);
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
        /* a kafka.* property librdkafka refuses is a usage error, found
         * before any connection is tried */
        if (df_conf_check(conf, errstr, sizeof(errstr)) != DF_OK) {
                say(stderr, "duraflow timer-service: %s (DF_ERR_CONF)", errstr);
                return EX_USAGE;
        }
        errstr[0] = '\0';
        the_ts = df_timer_service_new(conf, errstr, sizeof(errstr));
        if (!the_ts) {
                say(stderr, "duraflow timer-service: %s", *errstr ? errstr : "could not start");
                return EX_UNAVAIL;
        }
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
        /* one line that it runs, as `duraflow console` prints its address
         * (its own log lines are at info, below the CLI's default level) */
        say(stderr, "timer service running: brokers %s, topics %s.*, state in %s (SIGINT or SIGTERM stops)",
            df_conf_get(conf, "brokers"), df_conf_get(conf, "topic.prefix"), df_conf_get(conf, "state.dir"));
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
        {
                const char *const *r;
                printf("| `kafka.*` | | passed to librdkafka without the prefix; refused for what exactly-once rests on "
                       "or a duraflow property sets (");
                for (r = df_conf_kafka_reserved(); *r; r++)
                        printf("%s%s", r == df_conf_kafka_reserved() ? "" : ", ", *r);
                printf(") |\n");
        }
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
        opterr = 0; /* our messages, escaped */
        while ((c = getopt_long(argc, argv, "+:b:p:X:jh", opts, NULL)) != -1) {
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
                                say(stderr, "duraflow: %s", errstr);
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
                        bad_option("duraflow", c, argv);
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
        if (!user_startup_timeout && strcmp(cmd, "timer-service") && strcmp(cmd, "console") &&
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
        else if (!strcmp(cmd, "stop")) {
                int i, all = 0;
                for (i = 1; i < argc; i++)
                        all |= !strcmp(argv[i], "--all");
                ret = all ? cmd_control("stop", argc, argv) : cmd_stop(argc, argv);
        } else if (!strcmp(cmd, "pause") || !strcmp(cmd, "resume") || !strcmp(cmd, "restart") ||
                   !strcmp(cmd, "purge"))
                ret = cmd_control(cmd, argc, argv);
        else if (!strcmp(cmd, "schedule"))
                ret = cmd_schedule(argc, argv);
        else if (!strcmp(cmd, "timer-service"))
                ret = cmd_timer_service(argc, argv);
        else if (!strcmp(cmd, "config"))
                ret = cmd_config(argc, argv);
        else if (!strcmp(cmd, "console")) /* cmd_console.c */
                ret = df_cli_console(conf, argc, argv);
        else {
                say(stderr, "duraflow: unknown command \"%s\" (see --help)", cmd);
                ret = EX_USAGE;
        }
        df_conf_destroy(conf);
        return ret;
}
