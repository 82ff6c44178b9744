/*
 * test_console_api -- the console's HTTP API against bad input, over real
 * HTTP (libcurl) to a console in embedded mode (no broker needed: the
 * server answers while the index waits for topics): unknown ids 404,
 * malformed filters and cursors 400 with a message, oversized bodies 413,
 * path tricks refused, actions refused without (401) or with a wrong (403)
 * token and on a read-only console (403), no CORS unless configured, a
 * foreign Host refused; and after all of it the server still serves.
 */
#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "duraflow/console.h"
#include "duraflow/duraflow.h"

#define TOKEN "ops:console-test-token-0123456789"
#define SECRET "console-test-token-0123456789"

static df_console_t *con, *ro;
static char dir[256];

typedef struct resp {
        long status;
        char body[65536];
        size_t len;
        char headers[8192];
        size_t hlen;
} resp_t;

static size_t on_body(char *p, size_t sz, size_t n, void *u)
{
        resp_t *r = u;
        size_t k = sz * n, room = sizeof(r->body) - 1 - r->len;
        memcpy(r->body + r->len, p, k < room ? k : room);
        r->len += k < room ? k : room;
        r->body[r->len] = '\0';
        return sz * n;
}

static size_t on_header(char *p, size_t sz, size_t n, void *u)
{
        resp_t *r = u;
        size_t k = sz * n, room = sizeof(r->headers) - 1 - r->hlen;
        memcpy(r->headers + r->hlen, p, k < room ? k : room);
        r->hlen += k < room ? k : room;
        r->headers[r->hlen] = '\0';
        return sz * n;
}

/* One request; path is sent as is (no normalisation). */
static void req(const df_console_t *c, const char *method, const char *path, const char *body, size_t body_len,
                const char *const *headers, resp_t *r)
{
        CURL *h = curl_easy_init();
        struct curl_slist *hl = NULL;
        char url[4096];
        memset(r, 0, sizeof(*r));
        snprintf(url, sizeof(url), "%s%s", df_console_address(c), path);
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
        curl_easy_setopt(h, CURLOPT_TIMEOUT, 20L);
        if (body) {
                curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
                curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)body_len);
        }
        for (; headers && *headers; headers++)
                hl = curl_slist_append(hl, *headers);
        if (hl)
                curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
        ck_assert_int_eq(curl_easy_perform(h), CURLE_OK);
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
        curl_slist_free_all(hl);
        curl_easy_cleanup(h);
}

static void get(const char *path, resp_t *r)
{
        req(con, "GET", path, NULL, 0, NULL, r);
}

/* status and an error message containing want */
static void expect(const resp_t *r, long status, const char *want)
{
        json_t *j = json_loads(r->body, 0, NULL);
        ck_assert_msg(r->status == status, "status %ld, want %ld: %s", r->status, status, r->body);
        if (want) {
                const char *m = j ? json_string_value(json_object_get(j, "error")) : NULL;
                ck_assert_msg(m && strstr(m, want), "error \"%s\" lacks \"%s\"", m ? m : r->body, want);
        }
        json_decref(j);
}

static int rm_entry(const char *p, const struct stat *sb, int f, struct FTW *ftw)
{
        (void)sb;
        (void)f;
        (void)ftw;
        return remove(p);
}

static df_console_t *start(const char *token, const char *cors, const char *sub)
{
        char e[512], path[512];
        df_conf_t *c = df_conf_new();
        df_console_t *x;
        snprintf(path, sizeof(path), "%s/%s", dir, sub);
        ck_assert_int_eq(df_conf_set(c, "brokers", "", e, sizeof(e)), DF_OK);
        ck_assert_int_eq(df_conf_set(c, "topic.prefix", "consoleapi", e, sizeof(e)), DF_OK);
        ck_assert_int_eq(df_conf_set(c, "log.level", "error", e, sizeof(e)), DF_OK);
        ck_assert_int_eq(df_conf_set(c, "console.listen", "127.0.0.1:0", e, sizeof(e)), DF_OK);
        ck_assert_int_eq(df_conf_set(c, "console.state.dir", path, e, sizeof(e)), DF_OK);
        if (token)
                ck_assert_int_eq(df_conf_set(c, "console.token", token, e, sizeof(e)), DF_OK);
        if (cors)
                ck_assert_int_eq(df_conf_set(c, "console.cors.origin", cors, e, sizeof(e)), DF_OK);
        x = df_console_new(c, e, sizeof(e));
        ck_assert_msg(x != NULL, "df_console_new: %s", e);
        df_conf_destroy(c);
        return x;
}

static void setup(void)
{
        snprintf(dir, sizeof(dir), "%s/console-api-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        ck_assert_ptr_nonnull(mkdtemp(dir));
        con = start(TOKEN, "https://ops.example", "a");
        ro = start(NULL, NULL, "b");
}

static void teardown(void)
{
        df_console_destroy(con);
        df_console_destroy(ro);
        nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

START_TEST(reads_and_bad_filters)
{
        resp_t r;
        get("/api/v1/status", &r);
        expect(&r, 200, NULL);
        ck_assert_ptr_nonnull(strstr(r.body, "\"prefix\":\"consoleapi\""));
        get("/api/v1/executions/order-1", &r);
        expect(&r, 404, "no execution named \"order-1\"");
        get("/api/v1/executions/bad%20id", &r);
        expect(&r, 400, "execution id");
        get("/api/v1/executions?status=DONE", &r);
        expect(&r, 400, "status: \"DONE\" is not a status");
        get("/api/v1/executions?waiting=forever", &r);
        expect(&r, 400, "waiting: \"forever\"");
        get("/api/v1/executions?waiting=version", &r); /* VERSION_MISSING's kind */
        expect(&r, 200, NULL);
        get("/api/v1/executions?version=0", &r);
        expect(&r, 400, "version: a workflow version, an integer 1..2147483647 (got \"0\")");
        get("/api/v1/executions?version=2x", &r);
        expect(&r, 400, "version: a workflow version");
        get("/api/v1/executions?version=3", &r);
        expect(&r, 200, NULL);
        get("/api/v1/executions?limit=0", &r);
        expect(&r, 400, "limit");
        get("/api/v1/executions?limit=abc", &r);
        expect(&r, 400, "limit");
        get("/api/v1/executions?started_after=yesterday", &r);
        expect(&r, 400, "started_after");
        get("/api/v1/executions?started_after=2025-01-02T00:00:00Z&started_before=2025-01-01T00:00:00Z", &r);
        expect(&r, 400, "later than");
        get("/api/v1/executions?q=%3Cscript%3E", &r);
        expect(&r, 400, "q:");
        get("/api/v1/executions?cursor=!!!", &r);
        expect(&r, 400, "cursor");
        get("/api/v1/executions?cursor=WFhYWFhYWFhYWFhY", &r); /* base64url, but not one of ours */
        expect(&r, 400, "cursor");
        get("/api/v1/executions?order=sideways", &r);
        expect(&r, 400, "order");
        get("/api/v1/executions?colour=red", &r);
        expect(&r, 400, "unknown parameter \"colour\"");
        get("/api/v1/executions?status=FAILED&status=FAILED", &r);
        expect(&r, 400, "twice");
        get("/api/v1/executions?workflow=%ff%fe", &r);
        expect(&r, 400, "invalid UTF-8");
        get("/api/v1/executions?workflow=a%0Ab", &r);
        expect(&r, 400, "control character");
        get("/api/v1/executions?status=FAILED&limit=10", &r);
        expect(&r, 200, NULL);
        ck_assert_ptr_nonnull(strstr(r.body, "\"items\":[]"));
        /* every GET endpoint refuses an unknown parameter, naming it
         * (status, counts, actions and the payloads answered 200) */
        get("/api/v1/status?x=1", &r);
        expect(&r, 400, "unknown parameter \"x\"");
        get("/api/v1/counts?x=1", &r);
        expect(&r, 400, "unknown parameter \"x\"");
        get("/api/v1/actions?verbose", &r);
        expect(&r, 400, "unknown parameter \"verbose\"");
        get("/api/v1/executions/order-1?x=1", &r);
        expect(&r, 400, "unknown parameter \"x\"");
        get("/api/v1/executions/order-1/input?x=1", &r);
        expect(&r, 400, "unknown parameter \"x\"");
        get("/api/v1/executions/order-1/operations/3/result?x=1", &r);
        expect(&r, 400, "unknown parameter \"x\"");
        get("/api/v1/dlq?x=1", &r);
        expect(&r, 400, "unknown parameter \"x\"");
        get("/api/v1/status?a%E2%80%AEb=1", &r); /* the name escaped (U+202E) */
        expect(&r, 400, "unknown parameter \"a\\u202Eb\"");
        get("/api/v9/executions", &r);
        expect(&r, 404, "v9");
        get("/api/v1/nothing", &r);
        expect(&r, 404, NULL);
}
END_TEST

START_TEST(path_tricks)
{
        resp_t r;
        char longp[3000];
        get("/api/v1/../../etc/passwd", &r);
        expect(&r, 400, "\"..\"");
        /* "." and ".." are valid execution ids: as the id segment of
         * /api/v1/executions/ID they are looked up (they were refused, 400),
         * anywhere else still refused */
        get("/api/v1/executions/%2e%2e", &r);
        expect(&r, 404, "no execution named \"..\"");
        get("/api/v1/executions/..", &r);
        expect(&r, 404, "no execution named \"..\"");
        get("/api/v1/executions/%2E", &r);
        expect(&r, 404, "no execution named \".\"");
        get("/api/v1/executions/%2E%2E/input", &r);
        expect(&r, 404, "no payload input of execution \"..\"");
        get("/api/v1/%2e%2e/executions", &r);
        expect(&r, 400, "\"..\"");
        get("/api/v1/executions/x-1/%2e%2e", &r);
        expect(&r, 400, "\"..\"");
        get("/api/v1/executions/x-1/operations/%2e/result", &r);
        expect(&r, 400, "\"..\"");
        get("/%2e%2e/index.html", &r);
        expect(&r, 400, "\"..\"");
        get("/api/v1/executions/a%00b", &r);
        expect(&r, 400, "NUL");
        get("/api/v1/executions/a%2fb", &r);
        expect(&r, 400, "encoded '/'");
        get("/api/v1/executions/a%zz", &r);
        expect(&r, 400, "%-escape");
        get("/api/v1//executions", &r);
        expect(&r, 400, "empty");
        memset(longp, 'a', sizeof(longp));
        memcpy(longp, "/api/v1/executions/", 19);
        longp[sizeof(longp) - 1] = '\0';
        get(longp, &r);
        ck_assert_msg(r.status == 414 || r.status == 400, "overlong path: %ld", r.status);
        get("/../index.html", &r);
        expect(&r, 400, NULL);
        get("/index.html", &r);
        expect(&r, 200, NULL);
        ck_assert_ptr_nonnull(strstr(r.headers, "Content-Security-Policy"));
        ck_assert_ptr_nonnull(strstr(r.body, "duraflow console"));
        get("/app.js", &r);
        expect(&r, 200, NULL);
        ck_assert_ptr_null(strstr(r.body, "innerHTML =")); /* the page never injects HTML */
}
END_TEST

START_TEST(actions_need_the_token)
{
        resp_t r;
        const char *auth[] = {"Authorization: Bearer " SECRET, "Content-Type: application/json", NULL};
        const char *wrong[] = {"Authorization: Bearer not-the-token-at-all", "Content-Type: application/json", NULL};
        const char *json_only[] = {"Content-Type: application/json", NULL};
        const char *text[] = {"Authorization: Bearer " SECRET, "Content-Type: text/plain", NULL};
        const char *body = "{\"workflow\":\"order\",\"execution_id\":\"x-1\"}";
        char *big;
        req(con, "POST", "/api/v1/executions", body, strlen(body), json_only, &r);
        expect(&r, 401, "bearer token");
        ck_assert_ptr_nonnull(strstr(r.headers, "WWW-Authenticate: Bearer"));
        req(con, "POST", "/api/v1/executions", body, strlen(body), wrong, &r);
        expect(&r, 403, "not accepted");
        req(con, "POST", "/api/v1/executions/x-1/stop", "{}", 2, wrong, &r);
        expect(&r, 403, "not accepted");
        req(con, "POST", "/api/v1/executions", body, strlen(body), text, &r);
        expect(&r, 415, "application/json");
        req(con, "POST", "/api/v1/executions", "{\"workflow\":", strlen("{\"workflow\":"), auth, &r);
        expect(&r, 400, "not valid JSON");
        req(con, "POST", "/api/v1/executions", "[1]", strlen("[1]"), auth, &r);
        expect(&r, 400, "JSON object");
        req(con, "POST", "/api/v1/executions", "{\"workflow\":\"order\",\"execution_id\":\"a b\"}", strlen("{\"workflow\":\"order\",\"execution_id\":\"a b\"}"), auth, &r);
        expect(&r, 400, "execution_id");
        req(con, "POST", "/api/v1/executions", "{\"workflow\":\"o\\u0001\",\"execution_id\":\"ab\"}", strlen("{\"workflow\":\"o\\u0001\",\"execution_id\":\"ab\"}"), auth, &r);
        expect(&r, 400, "control characters");
        req(con, "POST", "/api/v1/executions/x-1/operations/3/complete", "{\"outcome\":\"maybe\"}", strlen("{\"outcome\":\"maybe\"}"), auth, &r);
        expect(&r, 400, "outcome");
        req(con, "POST", "/api/v1/executions/x-1/operations/3/complete", "{\"outcome\":\"failure\"}", strlen("{\"outcome\":\"failure\"}"), auth, &r);
        expect(&r, 400, "\"error\" is required");
        req(con, "POST", "/api/v1/executions/x-1/operations/3/complete", "{\"outcome\":\"success\"}", strlen("{\"outcome\":\"success\"}"), auth, &r);
        expect(&r, 404, "no execution named");
        req(con, "POST", "/api/v1/executions/%2E%2E/operations/3/complete", "{\"outcome\":\"success\"}", strlen("{\"outcome\":\"success\"}"), auth, &r);
        expect(&r, 404, "no execution named");
        req(con, "POST", "/api/v1/executions/%2E%2E/operations/%2E%2E/complete", "{\"outcome\":\"success\"}", strlen("{\"outcome\":\"success\"}"), auth, &r);
        expect(&r, 400, "\"..\"");
        req(con, "POST", "/api/v1/executions/x-1/fly", "{}", strlen("{}"), auth, &r);
        expect(&r, 404, "no such action");
        /* a field the action does not know is refused, not ignored (a typo
         * would otherwise drop the operator's reason silently) */
        {
                /* ... and logged with who and what, as the actions that run
                 * are (regression: the console's own refusals were silent) */
                char path[300], buf[8192];
                FILE *f;
                size_t n;
                int saved;
                snprintf(path, sizeof(path), "%s/stderr.txt", dir);
                fflush(stderr);
                saved = dup(2);
                f = fopen(path, "w+");
                ck_assert_ptr_nonnull(f);
                dup2(fileno(f), 2);
                df_log_set_level("warn"); /* the suite runs at error */
                req(con, "POST", "/api/v1/executions/x-1/stop", "{\"reson\":\"typo\"}", strlen("{\"reson\":\"typo\"}"), auth,
                    &r);
                df_log_set_level("error");
                fflush(stderr);
                dup2(saved, 2);
                close(saved);
                rewind(f);
                n = fread(buf, 1, sizeof(buf) - 1, f);
                buf[n] = '\0';
                fclose(f);
                expect(&r, 400, "stop: unknown field \"reson\" (known: reason)");
                ck_assert_msg(strstr(buf, "console: action stop by token \"ops\" on x-1 refused: 400 stop: unknown field"),
                              "the refusal is not in the log: %s", buf);
        }
        req(con, "POST", "/api/v1/executions/x-1/resume", "{\"reason\":\"x\"}", strlen("{\"reason\":\"x\"}"), auth, &r);
        expect(&r, 400, "unknown field \"reason\" (known: none)");
        /* the client's message names the action once ("start: start: ..." before) */
        req(con, "POST", "/api/v1/executions", "{\"workflow\":\"order\",\"execution_id\":\"schedule:x\"}", strlen("{\"workflow\":\"order\",\"execution_id\":\"schedule:x\"}"), auth, &r);
        expect(&r, 503, "start: no duraflow topics");
        ck_assert_ptr_null(strstr(r.body, "start: start:"));
        /* a key made of two known names is not known (strstr on the list let it by) */
        req(con, "POST", "/api/v1/executions/x-1/restart", "{\"reason from_op\":\"x\"}", strlen("{\"reason from_op\":\"x\"}"), auth, &r);
        expect(&r, 400, "unknown field \"reason from_op\"");
        req(con, "POST", "/api/v1/executions/x-1/stop", "{\"a\\u001b[2Jb\":1}", strlen("{\"a\\u001b[2Jb\":1}"), auth, &r);
        expect(&r, 400, "unknown field");
        ck_assert_ptr_null(strstr(r.body, "\\u001b"));
        big = malloc(2000001);
        memset(big, ' ', 2000000);
        big[0] = '{';
        big[1999999] = '}';
        req(con, "POST", "/api/v1/executions", big, 2000000, auth, &r);
        expect(&r, 413, "over");
        free(big);
        /* a read-only console refuses every action, token or not */
        req(ro, "POST", "/api/v1/executions", body, strlen(body), auth, &r);
        expect(&r, 403, "read-only");
        /* a wrong token is refused on reads too; no token reads */
        req(con, "GET", "/api/v1/counts", NULL, 0, wrong, &r);
        expect(&r, 403, NULL);
        req(con, "GET", "/api/v1/counts", NULL, 0, auth, &r);
        expect(&r, 200, NULL);
        req(con, "DELETE", "/api/v1/executions/x-1", NULL, 0, auth, &r);
        expect(&r, 405, NULL);
        /* a GET on an action (POST only) is 405 with Allow: POST (it was 404) */
        get("/api/v1/executions/x-1/stop", &r);
        expect(&r, 405, "POST");
        ck_assert_msg(strstr(r.headers, "Allow: POST\r\n"), "no Allow: POST in %s", r.headers);
        req(con, "GET", "/api/v1/executions/x-1/operations/3/complete", NULL, 0, auth, &r);
        expect(&r, 405, "POST");
        ck_assert_msg(strstr(r.headers, "Allow: POST\r\n"), "no Allow: POST in %s", r.headers);
        get("/api/v1/executions/x-1/fly", &r);
        expect(&r, 404, NULL);
}
END_TEST

START_TEST(cors_host_and_still_serving)
{
        resp_t r;
        const char *evil[] = {"Origin: https://evil.example", NULL};
        const char *ops[] = {"Origin: https://ops.example", NULL};
        const char *pre[] = {"Origin: https://ops.example", "Access-Control-Request-Method: POST", NULL};
        const char *host[] = {"Host: attacker.example:7070", NULL};
        int i;
        req(con, "GET", "/api/v1/status", NULL, 0, evil, &r);
        expect(&r, 200, NULL);
        ck_assert_ptr_null(strstr(r.headers, "Access-Control-Allow-Origin"));
        req(ro, "GET", "/api/v1/status", NULL, 0, ops, &r);
        ck_assert_ptr_null(strstr(r.headers, "Access-Control-Allow-Origin")); /* not configured there */
        req(con, "GET", "/api/v1/status", NULL, 0, ops, &r);
        ck_assert_ptr_nonnull(strstr(r.headers, "Access-Control-Allow-Origin: https://ops.example"));
        req(con, "OPTIONS", "/api/v1/executions", NULL, 0, pre, &r);
        ck_assert_int_eq(r.status, 204);
        req(con, "OPTIONS", "/api/v1/executions", NULL, 0, evil, &r);
        ck_assert_int_eq(r.status, 403);
        ck_assert_ptr_null(strstr(r.headers, "Set-Cookie"));
        /* DNS rebinding: a loopback console answers only to a loopback Host */
        req(con, "GET", "/api/v1/status", NULL, 0, host, &r);
        expect(&r, 403, "Host");
        /* many bad requests later, it still serves */
        for (i = 0; i < 50; i++)
                get("/api/v1/executions?status=%00", &r);
        get("/api/v1/status", &r);
        expect(&r, 200, NULL);
}
END_TEST

START_TEST(bad_configuration)
{
        char e[512];
        df_conf_t *c = df_conf_new();
        df_console_t *x;
        df_conf_set(c, "brokers", "", e, sizeof(e));
        df_conf_set(c, "log.level", "error", e, sizeof(e));
        df_conf_set(c, "console.state.dir", dir, e, sizeof(e));
        df_conf_set(c, "console.listen", "127.0.0.1:99999", e, sizeof(e));
        x = df_console_new(c, e, sizeof(e));
        ck_assert_ptr_null(x);
        ck_assert_msg(strstr(e, "console.listen"), "%s", e);
        df_conf_set(c, "console.listen", "example.com:80", e, sizeof(e));
        ck_assert_ptr_null(df_console_new(c, e, sizeof(e)));
        ck_assert_msg(strstr(e, "console.listen"), "%s", e);
        df_conf_set(c, "console.listen", "127.0.0.1:0", e, sizeof(e));
        df_conf_set(c, "console.token", "short", e, sizeof(e));
        ck_assert_ptr_null(df_console_new(c, e, sizeof(e)));
        ck_assert_msg(strstr(e, "console.token") && strstr(e, "16"), "%s", e);
        /* two tokens of one name: the action log could not tell them apart */
        df_conf_set(c, "console.token", "a:secret1-0123456789abcdef,a:secret2-0123456789abcdef", e, sizeof(e));
        ck_assert_ptr_null(df_console_new(c, e, sizeof(e)));
        ck_assert_msg(strstr(e, "console.token") && strstr(e, "two tokens named \"a\""), "%s", e);
        /* an explicit name equal to a default one ("token2" of the 2nd) */
        df_conf_set(c, "console.token", "token2:secret1-0123456789abcdef,secret2-0123456789abcdef", e, sizeof(e));
        ck_assert_ptr_null(df_console_new(c, e, sizeof(e)));
        ck_assert_msg(strstr(e, "two tokens named \"token2\""), "%s", e);
        df_conf_set(c, "console.token", "a:secret1-0123456789abcdef,b:secret1-0123456789abcdef", e, sizeof(e));
        ck_assert_ptr_null(df_console_new(c, e, sizeof(e)));
        ck_assert_msg(strstr(e, "tokens \"a\" and \"b\" have the same secret"), "%s", e);
        df_conf_destroy(c);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("console_api");
        TCase *tc = tcase_create("api");
        SRunner *sr;
        int nf;
        curl_global_init(CURL_GLOBAL_DEFAULT);
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, reads_and_bad_filters);
        tcase_add_test(tc, path_tricks);
        tcase_add_test(tc, actions_need_the_token);
        tcase_add_test(tc, cors_host_and_still_serving);
        tcase_add_test(tc, bad_configuration);
        suite_add_tcase(s, tc);
        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        nf = srunner_ntests_failed(sr);
        srunner_free(sr);
        curl_global_cleanup();
        return nf ? 1 : 0;
}
