/*
 * console.c -- the console object: its configuration, index, follower,
 * HTTP server and the client its actions go through (duraflow/console.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "console_follow.h"
#include "console_int.h"
#include "telemetry.h"
#include "duraflow/console.h"
#include "kafka.h"

#define DF__CONSOLE_MAX_TOKENS 16
#define DF__CONSOLE_TOKEN_MIN 16

typedef struct df__ctoken {
        char name[64];
        char *secret;
} df__ctoken_t;

struct df_console {
        df_conf_t *conf;
        df__cidx_t *ix;
        df__cfollow_t *follow;
        df__chttp_t *http;
        char url[128];
        char index_path[1024];
        int stop;
        int running;
        df__ctoken_t tokens[DF__CONSOLE_MAX_TOKENS];
        int n_tokens;
        pthread_mutex_t client_lock;
        df_client_t *client;
        int64_t started_ms;
        df__settings_t s;            /* conf as typed values */
        df__telemetry_probe_t probe; /* /readyz: caught up with the topics */
        int telemetry_joined;
};

/* /readyz: the index has read the topics to their end once. */
static int df__console_ready(char *reason, size_t size, void *opaque)
{
        df_console_t *c = opaque;
        uint64_t records = 0;
        int64_t lag = -1;
        int caught_up = 0, following = 0;
        df__cfollow_stats(c->follow, &records, &lag, &caught_up, &following);
        if (!caught_up)
                snprintf(reason, size, "index catching up (lag %lld records)", (long long)lag);
        df__gauge_set(df__metric_series(df__telemetry_metrics(), DF__M_READY, "console"), caught_up);
        if (lag >= 0)
                df__gauge_set(df__metric_series(df__telemetry_metrics(), DF__M_CONSUMER_LAG, "console", "state", "all"),
                              (double)lag);
        return caught_up;
}

/* mkdir -p */
static int df__mkdirs(const char *path)
{
        char buf[1024];
        size_t i, n = strlen(path);
        if (n >= sizeof(buf))
                return -1;
        memcpy(buf, path, n + 1);
        for (i = 1; i <= n; i++) {
                if (buf[i] == '/' || buf[i] == '\0') {
                        char c = buf[i];
                        buf[i] = '\0';
                        if (mkdir(buf, 0700) && errno != EEXIST)
                                return -1;
                        buf[i] = c;
                }
        }
        return 0;
}

/* console.token: "SECRET" or "NAME:SECRET,NAME:SECRET" (names [A-Za-z0-9._-]). */
static int df__parse_tokens(df_console_t *c, const char *spec, char *errstr, size_t errstr_size)
{
        const char *p = spec;
        while (p && *p) {
                const char *end = strchr(p, ','), *colon;
                size_t n = end ? (size_t)(end - p) : strlen(p), i;
                df__ctoken_t *t;
                if (c->n_tokens >= DF__CONSOLE_MAX_TOKENS) {
                        df__errf(errstr, errstr_size, "property \"console.token\": more than %d tokens",
                                 DF__CONSOLE_MAX_TOKENS);
                        return -1;
                }
                t = &c->tokens[c->n_tokens];
                colon = memchr(p, ':', n);
                if (colon) {
                        size_t nl = (size_t)(colon - p);
                        if (!nl || nl >= sizeof(t->name)) {
                                df__errf(errstr, errstr_size,
                                         "property \"console.token\": a token name must have 1..63 characters");
                                return -1;
                        }
                        for (i = 0; i < nl; i++)
                                if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z') ||
                                      (p[i] >= '0' && p[i] <= '9') || p[i] == '.' || p[i] == '_' || p[i] == '-')) {
                                        df__errf(errstr, errstr_size,
                                                 "property \"console.token\": a token name may only hold "
                                                 "A-Z a-z 0-9 . _ -");
                                        return -1;
                                }
                        memcpy(t->name, p, nl);
                        t->name[nl] = '\0';
                        p = colon + 1;
                        n -= nl + 1;
                } else {
                        snprintf(t->name, sizeof(t->name), "token%d", c->n_tokens + 1);
                }
                if (n < DF__CONSOLE_TOKEN_MIN || n > 256) {
                        df__errf(errstr, errstr_size,
                                 "property \"console.token\": token \"%s\" must have %d..256 characters (has %zu)",
                                 t->name, DF__CONSOLE_TOKEN_MIN, n);
                        return -1;
                }
                for (i = 0; i < n; i++)
                        if ((unsigned char)p[i] <= 0x20 || (unsigned char)p[i] >= 0x7f) {
                                df__errf(errstr, errstr_size,
                                         "property \"console.token\": token \"%s\" must be printable ASCII without "
                                         "spaces",
                                         t->name);
                                return -1;
                        }
                /* the action log names the token: two of one name (or of one
                 * secret, the first name would always be logged) could not
                 * be told apart */
                for (i = 0; i < (size_t)c->n_tokens; i++) {
                        if (!strcmp(c->tokens[i].name, t->name)) {
                                df__errf(errstr, errstr_size,
                                         "property \"console.token\": two tokens named \"%s\" (each name once: "
                                         "the action log tells the tokens apart by name)",
                                         t->name);
                                return -1;
                        }
                        if (strlen(c->tokens[i].secret) == n && !memcmp(c->tokens[i].secret, p, n)) {
                                df__errf(errstr, errstr_size,
                                         "property \"console.token\": tokens \"%s\" and \"%s\" have the same "
                                         "secret",
                                         c->tokens[i].name, t->name);
                                return -1;
                        }
                }
                t->secret = strndup(p, n);
                if (!t->secret) {
                        df__errf(errstr, errstr_size, "out of memory");
                        return -1;
                }
                c->n_tokens++;
                p = end ? end + 1 : NULL;
        }
        return 0;
}

df_console_t *df_console_new(const df_conf_t *conf, char *errstr, size_t errstr_size)
{
        df_console_t *c;
        const char *dir, *token;
        char id[128], e[512];

        if (!conf) {
                df__errf(errstr, errstr_size, "df_console_new: NULL conf");
                return NULL;
        }
        c = calloc(1, sizeof(*c));
        if (!c) {
                df__errf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        pthread_mutex_init(&c->client_lock, NULL);
        c->started_ms = df__now_ms();
        c->conf = df_conf_dup(conf);
        if (!c->conf) {
                df__errf(errstr, errstr_size, "out of memory");
                goto fail;
        }
        if (df__settings_load(&c->s, c->conf) || df__codec_init(errstr, errstr_size))
                goto fail;
        df_log_set_level(df_conf_get(conf, "log.level"));
        token = df_conf_get(conf, "console.token");
        if (token && *token && df__parse_tokens(c, token, errstr, errstr_size))
                goto fail;
        dir = df_conf_get(conf, "console.state.dir");
        if (dir && *dir) {
                snprintf(c->index_path, sizeof(c->index_path), "%s", dir);
        } else {
                const char *wid = df_conf_get(conf, "worker.id");
                snprintf(id, sizeof(id), "%s%s%s", df_conf_get(conf, "topic.prefix"), wid && *wid ? "-" : "",
                         wid && *wid ? wid : "");
                snprintf(c->index_path, sizeof(c->index_path), "%s/console-%s", df_conf_get(conf, "state.dir"),
                         id);
        }
        if (df__mkdirs(c->index_path)) {
                df__errf(errstr, errstr_size, "console index directory %s: %s", c->index_path, strerror(errno));
                goto fail;
        }
        c->ix = df__cidx_open(c->index_path, df_conf_get(conf, "console.outcome.field"), e, sizeof(e));
        if (!c->ix) {
                df__errf(errstr, errstr_size, "%s (is another console using it? set console.state.dir)", e);
                goto fail;
        }
        /* the server first: a bad console.listen is told before Kafka is tried */
        c->http = df__chttp_start(c, df_conf_get(conf, "console.listen"), c->url, sizeof(c->url), errstr,
                                  errstr_size);
        if (!c->http)
                goto fail;
        c->follow = df__cfollow_new(conf, c->ix, errstr, errstr_size);
        if (!c->follow)
                goto fail;
        c->probe.component = "console";
        c->probe.ready = df__console_ready;
        c->probe.opaque = c;
        if (df__telemetry_join(&c->s, &c->probe, errstr, errstr_size))
                goto fail;
        c->telemetry_joined = 1;
        df__log(DF__LOG_INFO, "console: serving %s (index %s, %s)", c->url, c->index_path,
                c->n_tokens ? "actions need a bearer token" : "read-only: console.token is not set");
        return c;
fail:
        df_console_destroy(c);
        return NULL;
}

df_err_t df_console_run(df_console_t *c)
{
        df_err_t rc;
        if (!c || !c->follow)
                return DF_ERR_INVALID_ARG;
        __atomic_store_n(&c->running, 1, __ATOMIC_SEQ_CST);
        rc = df__cfollow_run(c->follow, &c->stop);
        __atomic_store_n(&c->running, 0, __ATOMIC_SEQ_CST);
        return rc;
}

void df_console_stop(df_console_t *c)
{
        if (c)
                __atomic_store_n(&c->stop, 1, __ATOMIC_SEQ_CST);
}

const char *df_console_address(const df_console_t *c)
{
        return c ? c->url : "";
}

void df_console_get_stats(df_console_t *c, df_console_stats_t *out)
{
        int following;
        memset(out, 0, sizeof(*out));
        if (!c)
                return;
        df__cfollow_stats(c->follow, &out->records, &out->lag, &out->caught_up, &following);
        out->executions = (uint64_t)df__cidx_counter(c->ix, "A");
        out->dlq = (uint64_t)df__cidx_counter(c->ix, "Q");
        out->undecodable = (uint64_t)df__cidx_counter(c->ix, "Z");
}

void df_console_destroy(df_console_t *c)
{
        int i;
        if (!c)
                return;
        if (c->telemetry_joined)
                df__telemetry_leave(&c->probe);
        df__chttp_stop(c->http);
        df__cfollow_destroy(c->follow);
        df__cidx_close(c->ix);
        df_client_destroy(c->client);
        for (i = 0; i < c->n_tokens; i++) {
                volatile char *s = c->tokens[i].secret;
                size_t n = strlen(c->tokens[i].secret);
                while (n--)
                        s[n] = 0;
                free(c->tokens[i].secret);
        }
        df_conf_destroy(c->conf);
        pthread_mutex_destroy(&c->client_lock);
        free(c);
}

/* ---------------- for the HTTP layer ---------------- */

df__cidx_t *df__console_index(df_console_t *c)
{
        return c->ix;
}

const df_conf_t *df__console_conf(df_console_t *c)
{
        return c->conf;
}

json_t *df__console_status_json(df_console_t *c)
{
        df_console_stats_t s;
        int following;
        json_t *o = json_object();
        const char *b = df_conf_get(c->conf, "brokers");
        df_console_get_stats(c, &s);
        df__cfollow_stats(c->follow, &s.records, &s.lag, &s.caught_up, &following);
        json_object_set_new(o, "api", json_string("v1"));
        json_object_set_new(o, "prefix", json_string(df_conf_get(c->conf, "topic.prefix")));
        json_object_set_new(o, "brokers", json_string(b && *b ? b : "(embedded)"));
        json_object_set_new(o, "following", json_boolean(following));
        json_object_set_new(o, "caught_up", json_boolean(s.caught_up));
        json_object_set_new(o, "lag", s.lag >= 0 ? json_integer(s.lag) : json_null());
        json_object_set_new(o, "records_applied", json_integer((json_int_t)s.records));
        json_object_set_new(o, "executions", json_integer((json_int_t)s.executions));
        json_object_set_new(o, "dlq", json_integer((json_int_t)s.dlq));
        json_object_set_new(o, "undecodable", json_integer((json_int_t)s.undecodable));
        json_object_set_new(o, "actions", json_boolean(c->n_tokens > 0));
        json_object_set_new(o, "started_ms", json_integer(c->started_ms));
        json_object_set_new(o, "now_ms", json_integer(df__now_ms()));
        return o;
}

/* Constant-time comparison of a presented token with a secret. */
static int df__token_eq(const char *a, size_t la, const char *b)
{
        size_t lb = strlen(b), i;
        unsigned char d = (unsigned char)(la != lb);
        for (i = 0; i < la; i++)
                d |= (unsigned char)(a[i] ^ b[i < lb ? i : 0]);
        return d == 0;
}

int df__console_auth(df_console_t *c, const char *authorization, const char **token_id)
{
        const char *t;
        size_t n;
        int i, found = -1;
        *token_id = NULL;
        /* no token configured: a presented one grants nothing, refuses nothing */
        if (!authorization || !*authorization || !c->n_tokens)
                return 0;
        if (strncasecmp(authorization, "Bearer ", 7))
                return -1;
        t = authorization + 7;
        while (*t == ' ')
                t++;
        n = strlen(t);
        while (n && t[n - 1] == ' ')
                n--;
        if (!n || n > 256)
                return -1;
        for (i = 0; i < c->n_tokens; i++)
                if (df__token_eq(t, n, c->tokens[i].secret))
                        found = i; /* no early exit: the time does not tell which */
        if (found < 0)
                return -1;
        *token_id = c->tokens[found].name;
        return 1;
}

int df__console_actions_enabled(df_console_t *c)
{
        return c->n_tokens > 0;
}

df_client_t *df__console_client(df_console_t *c, char *errstr, size_t errstr_size)
{
        df_client_t *cl;
        pthread_mutex_lock(&c->client_lock);
        if (!c->client)
                df_client_open(c->conf, DF_CLIENT_NO_CREATE_TOPICS, &c->client, errstr, errstr_size);
        cl = c->client;
        pthread_mutex_unlock(&c->client_lock);
        return cl;
}
