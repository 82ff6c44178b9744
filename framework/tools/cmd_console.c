/*
 * cmd_console.c -- `duraflow console`: run the console (duraflow/console.h)
 * until SIGINT or SIGTERM.  Kept apart from duraflow.c, which only
 * dispatches to it.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duraflow/console.h"
#include "duraflow/duraflow.h"

int df_cli_console(df_conf_t *conf, int argc, char **argv);

static df_console_t *the_console;

static void on_signal(int sig)
{
        (void)sig;
        df_console_stop(the_console);
}

static const char help[] =
        "usage: duraflow [options] console [--listen HOST:PORT] [--state-dir DIR]\n"
        "Runs the console until SIGINT or SIGTERM: follows <prefix>.state and <prefix>.dlq into its own\n"
        "index and serves the HTTP API (/api/v1/) and the web page on console.listen\n"
        "(default 127.0.0.1:7070; port 0 = any free port). Prints \"console listening on URL\".\n"
        "Actions (start, stop, complete a callback) need the bearer token of console.token,\n"
        "or of $DF_CONSOLE_TOKEN (better than -X: not visible in the process list);\n"
        "without one the console is read-only.\n"
        "  --listen HOST:PORT   console.listen\n"
        "  --state-dir DIR      console.state.dir (the index)\n";

int df_cli_console(df_conf_t *conf, int argc, char **argv)
{
        static const struct option opts[] = {{"listen", required_argument, 0, 'l'},
                                             {"state-dir", required_argument, 0, 's'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
        const char *env = getenv("DF_CONSOLE_TOKEN"), *b;
        char errstr[512];
        df_err_t rc;
        int c;

        optind = 0;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                const char *name = c == 'l' ? "console.listen" : c == 's' ? "console.state.dir" : NULL;
                if (c == 'h') {
                        fputs(help, stdout);
                        return 0;
                }
                if (!name)
                        return 2;
                if (df_conf_set(conf, name, optarg, errstr, sizeof(errstr)) != DF_OK) {
                        fprintf(stderr, "duraflow console: %s\n", errstr);
                        return 2;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "duraflow console: unexpected argument \"%s\" (see --help)\n", argv[optind]);
                return 2;
        }
        b = df_conf_get(conf, "brokers");
        if (!b || !*b) {
                fprintf(stderr, "duraflow console: no brokers: give --brokers HOST:PORT or set DF_BROKERS (embedded "
                                "mode lives inside one process; orders-demo runs a console in-process)\n");
                return 2;
        }
        if (env && *env && !*df_conf_get(conf, "console.token") &&
            df_conf_set(conf, "console.token", env, errstr, sizeof(errstr)) != DF_OK) {
                fprintf(stderr, "duraflow console: DF_CONSOLE_TOKEN: %s\n", errstr);
                return 2;
        }
        /* the library logs at warn for the CLI's commands; a server says more */
        df_log_set_level(strcmp(df_conf_get(conf, "log.level"), "warn") ? df_conf_get(conf, "log.level") : "info");
        the_console = df_console_new(conf, errstr, sizeof(errstr));
        if (!the_console) {
                fprintf(stderr, "duraflow console: %s\n", errstr);
                return strstr(errstr, "console.") ? 2 : 1;
        }
        fprintf(stderr, "console listening on %s\n", df_console_address(the_console));
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
        signal(SIGPIPE, SIG_IGN);
        rc = df_console_run(the_console);
        df_console_destroy(the_console);
        if (rc != DF_OK) {
                fprintf(stderr, "duraflow console: stopped: %s\n", df_strerror(rc));
                return rc == DF_ERR_KAFKA ? 6 : 1;
        }
        return 0;
}
