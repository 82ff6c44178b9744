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

#include <jansson.h>

#include "duraflow/console.h"
#include "duraflow/duraflow.h"

int df_cli_brokers_check(const char *what, const char *brokers); /* duraflow.c: 0 or 2 */

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
        "Actions (start, stop, pause, resume, restart, purge, complete a callback) need the\n"
        "bearer token of console.token,\n"
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
        if (df_cli_brokers_check("console", b))
                return 2;
        if (env && *env && !*df_conf_get(conf, "console.token") &&
            df_conf_set(conf, "console.token", env, errstr, sizeof(errstr)) != DF_OK) {
                fprintf(stderr, "duraflow console: DF_CONSOLE_TOKEN: %s\n", errstr);
                return 2;
        }
        /* the library logs at warn for the CLI's commands; a server says more */
        if (!strcmp(df_conf_get(conf, "log.level"), "warn") &&
            df_conf_set(conf, "log.level", "info", errstr, sizeof(errstr)) != DF_OK) {
                fprintf(stderr, "duraflow console: log.level: %s\n", errstr);
                return 2;
        }
        df_log_set_level(df_conf_get(conf, "log.level")); /* (the console and its client set it from conf too) */
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

/* ---------------- the CLI's reads through a console (--console URL) ---------------- */

#include <curl/curl.h>

/* declared in duraflow.c */
char *df_cli_console_escape(const char *s);
df_err_t df_cli_console_get(const char *base, const char *path, char **body, size_t *len, char *errstr,
                            size_t errstr_size);

struct df_cli_body {
        char *p;
        size_t n;
        int too_big;
};

static size_t df_cli_on_body(char *d, size_t sz, size_t nm, void *u)
{
        struct df_cli_body *b = u;
        size_t k = sz * nm;
        char *p;
        if (b->n + k > 64u * 1024 * 1024) { /* no answer of the API is that large */
                b->too_big = 1;
                return 0;
        }
        p = realloc(b->p, b->n + k + 1);
        if (!p)
                return 0;
        b->p = p;
        memcpy(b->p + b->n, d, k);
        b->n += k;
        b->p[b->n] = '\0';
        return k;
}

/*
 * GET base + path (path already percent-encoded), with the bearer token of
 * $DF_CONSOLE_TOKEN when set (a token holder also sees callback ids).
 * DF_OK with *body (malloc'd, NUL-terminated) and *len; otherwise the error
 * of the HTTP status (404 DF_ERR_NOT_FOUND, 400 DF_ERR_INVALID_ARG, ...,
 * no answer DF_ERR_DEADLINE) with the console's message in errstr.
 */
df_err_t df_cli_console_get(const char *base, const char *path, char **body, size_t *len, char *errstr,
                            size_t errstr_size)
{
        const char *token = getenv("DF_CONSOLE_TOKEN");
        struct df_cli_body b = {NULL, 0, 0};
        struct curl_slist *hl = NULL;
        char url[4096], auth[400];
        CURLcode cc;
        long status = 0;
        CURL *h;
        df_err_t rc = DF_OK;

        *body = NULL;
        *len = 0;
        if (strncmp(base, "http://", 7) && strncmp(base, "https://", 8)) {
                snprintf(errstr, errstr_size, "--console \"%.200s\" is not an http:// or https:// URL", base);
                return DF_ERR_INVALID_ARG;
        }
        snprintf(url, sizeof(url), "%.*s%s", (int)(strlen(base) && base[strlen(base) - 1] == '/' ? strlen(base) - 1
                                                                                                  : strlen(base)),
                 base, path);
        h = curl_easy_init();
        if (!h) {
                snprintf(errstr, errstr_size, "out of memory");
                return DF_ERR_NOMEM;
        }
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, df_cli_on_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 30000L);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        /* no dot-segment removal: "." and ".." are execution ids */
        curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
        if (token && *token) {
                snprintf(auth, sizeof(auth), "Authorization: Bearer %.300s", token);
                hl = curl_slist_append(hl, auth);
                curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
        }
        cc = curl_easy_perform(h);
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        curl_slist_free_all(hl);
        curl_easy_cleanup(h);
        if (cc != CURLE_OK) {
                snprintf(errstr, errstr_size, "the console at %.200s did not answer: %s", base,
                         b.too_big ? "answer over 64 MB" : curl_easy_strerror(cc));
                free(b.p);
                return DF_ERR_DEADLINE;
        }
        if (status != 200) {
                json_t *j = b.p ? json_loads(b.p, 0, NULL) : NULL;
                const char *m = j ? json_string_value(json_object_get(j, "error")) : NULL;
                snprintf(errstr, errstr_size, "%s", m ? m : "the console refused the request");
                json_decref(j);
                free(b.p);
                rc = status == 404   ? DF_ERR_NOT_FOUND
                     : status == 400 ? DF_ERR_INVALID_ARG
                     : status == 401 || status == 403 ? DF_ERR_REJECTED
                     : status == 503 || status == 504 ? DF_ERR_DEADLINE
                                                      : DF_ERR_STATE;
                if (status == 401 || status == 403)
                        snprintf(errstr + strlen(errstr), errstr_size - strlen(errstr),
                                 " (HTTP %ld; $DF_CONSOLE_TOKEN)", status);
                return rc;
        }
        *body = b.p ? b.p : strdup("");
        *len = b.n;
        return *body ? DF_OK : DF_ERR_NOMEM;
}

/* s percent-encoded for a path segment or a query value; "." and ".."
 * (valid execution ids) as %2E and %2E%2E, never a dot segment. */
char *df_cli_console_escape(const char *s)
{
        char *e, *out;
        if (!strcmp(s, "."))
                return strdup("%2E");
        if (!strcmp(s, ".."))
                return strdup("%2E%2E");
        e = curl_easy_escape(NULL, s, 0);
        if (!e)
                return NULL;
        out = strdup(e);
        curl_free(e);
        return out;
}
