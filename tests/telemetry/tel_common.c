/*
 * tel_common.c -- see tel_common.h; and main(), which runs one suite named
 * by CK_RUN_SUITE (CTest runs each as its own test) or all of them.
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tel_common.h"

int64_t tel_mono_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t tel_mono_ms(void)
{
        return tel_mono_ns() / 1000000;
}

typedef struct tel_buf {
        char *p;
        size_t n;
} tel_buf_t;

static size_t tel_write(char *p, size_t size, size_t n, void *opaque)
{
        tel_buf_t *b = opaque;
        char *np = realloc(b->p, b->n + size * n + 1);
        if (!np)
                return 0;
        memcpy(np + b->n, p, size * n);
        b->p = np;
        b->n += size * n;
        b->p[b->n] = '\0';
        return size * n;
}

long tel_http_get(const char *url, char **body, char *ctype, size_t ctype_size)
{
        CURL *c = curl_easy_init();
        tel_buf_t b = {NULL, 0};
        long code = 0;
        char *ct = NULL;

        ck_assert_ptr_nonnull(c);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, tel_write);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        if (curl_easy_perform(c) == CURLE_OK) {
                curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
                if (ctype && ctype_size) {
                        curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
                        snprintf(ctype, ctype_size, "%s", ct ? ct : "");
                }
        }
        curl_easy_cleanup(c);
        if (body)
                *body = b.p ? b.p : strdup("");
        else
                free(b.p);
        return code;
}

long tel_http_method(const char *url, const char *method)
{
        CURL *c = curl_easy_init();
        tel_buf_t b = {NULL, 0};
        long code = 0;

        curl_easy_setopt(c, CURLOPT_URL, url);
        if (!strcmp(method, "HEAD"))
                curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
        else
                curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, tel_write);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        if (!strcmp(method, "POST")) {
                curl_easy_setopt(c, CURLOPT_POSTFIELDS, "x=1");
        }
        if (curl_easy_perform(c) == CURLE_OK)
                curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        curl_easy_cleanup(c);
        free(b.p);
        return code;
}

/* ---------------- the recording collector ---------------- */

#define TEL_MAX_REQ 4096

struct tel_collector {
        struct MHD_Daemon *d;
        int port;
        int script[32];
        int n_script;
        pthread_mutex_t mu;
        pthread_cond_t cv;
        char *bodies[TEL_MAX_REQ];
        int64_t times[TEL_MAX_REQ];
        int n;
};

static enum MHD_Result tel_handler(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                   const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
        tel_collector_t *c = cls;
        tel_buf_t *b = *con_cls;
        struct MHD_Response *r;
        enum MHD_Result ret;
        int code, i;

        (void)version;
        if (!b) {
                b = calloc(1, sizeof(*b));
                *con_cls = b;
                return MHD_YES;
        }
        if (*upload_size) {
                tel_write((char *)upload, 1, *upload_size, b);
                *upload_size = 0;
                return MHD_YES;
        }
        pthread_mutex_lock(&c->mu);
        i = c->n;
        code = c->script[i < c->n_script ? i : c->n_script - 1];
        if (strcmp(method, "POST") || strcmp(url, "/v1/traces"))
                code = 404;
        if (c->n < TEL_MAX_REQ) {
                c->bodies[c->n] = b->p ? b->p : strdup("");
                c->times[c->n] = tel_mono_ms();
                c->n++;
                b->p = NULL;
        }
        pthread_cond_broadcast(&c->cv);
        pthread_mutex_unlock(&c->mu);
        r = MHD_create_response_from_buffer(2, (void *)"{}", MHD_RESPMEM_PERSISTENT);
        MHD_add_response_header(r, "Content-Type", "application/json");
        ret = MHD_queue_response(conn, (unsigned)code, r);
        MHD_destroy_response(r);
        return ret;
}

static void tel_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode t)
{
        tel_buf_t *b = *con_cls;
        (void)cls;
        (void)conn;
        (void)t;
        if (b) {
                free(b->p);
                free(b);
        }
        *con_cls = NULL;
}

tel_collector_t *tel_collector_start(const int *script)
{
        return tel_collector_start_on(script, 0);
}

tel_collector_t *tel_collector_start_on(const int *script, int port)
{
        tel_collector_t *c = calloc(1, sizeof(*c));
        struct sockaddr_in sa;
        const union MHD_DaemonInfo *info;

        ck_assert_ptr_nonnull(c);
        while (script[c->n_script] && c->n_script < 32) {
                c->script[c->n_script] = script[c->n_script];
                c->n_script++;
        }
        ck_assert_int_gt(c->n_script, 0);
        pthread_mutex_init(&c->mu, NULL);
        pthread_cond_init(&c->cv, NULL);
        memset(&sa, 0, sizeof(sa));
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sa.sin_port = htons((uint16_t)port);
        c->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, 0, NULL, NULL, tel_handler, c,
                                MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_NOTIFY_COMPLETED,
                                tel_completed, c, MHD_OPTION_END);
        ck_assert_ptr_nonnull(c->d);
        info = MHD_get_daemon_info(c->d, MHD_DAEMON_INFO_BIND_PORT);
        c->port = info->port;
        return c;
}

int tel_collector_port(tel_collector_t *c)
{
        return c->port;
}

int tel_collector_requests(tel_collector_t *c)
{
        int n;
        pthread_mutex_lock(&c->mu);
        n = c->n;
        pthread_mutex_unlock(&c->mu);
        return n;
}

const char *tel_collector_body(tel_collector_t *c, int i)
{
        const char *b;
        pthread_mutex_lock(&c->mu);
        b = i < c->n ? c->bodies[i] : NULL;
        pthread_mutex_unlock(&c->mu);
        return b;
}

int64_t tel_collector_time(tel_collector_t *c, int i)
{
        int64_t t;
        pthread_mutex_lock(&c->mu);
        t = i < c->n ? c->times[i] : -1;
        pthread_mutex_unlock(&c->mu);
        return t;
}

int tel_collector_wait(tel_collector_t *c, int n, int timeout_ms)
{
        int64_t until = tel_mono_ms() + timeout_ms;
        int ok;
        pthread_mutex_lock(&c->mu);
        while (c->n < n && tel_mono_ms() < until) {
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                ts.tv_nsec += 10 * 1000000L;
                if (ts.tv_nsec >= 1000000000L) {
                        ts.tv_sec++;
                        ts.tv_nsec -= 1000000000L;
                }
                pthread_cond_timedwait(&c->cv, &c->mu, &ts);
        }
        ok = c->n >= n;
        pthread_mutex_unlock(&c->mu);
        return ok;
}

void tel_collector_stop(tel_collector_t *c)
{
        int i;
        if (!c)
                return;
        MHD_stop_daemon(c->d);
        for (i = 0; i < c->n; i++)
                free(c->bodies[i]);
        pthread_mutex_destroy(&c->mu);
        pthread_cond_destroy(&c->cv);
        free(c);
}

/* ---------------- ports ---------------- */

static int tel_bound_socket(int *port)
{
        struct sockaddr_in sa;
        socklen_t len = sizeof(sa);
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        ck_assert_int_ge(fd, 0);
        memset(&sa, 0, sizeof(sa));
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
        *port = ntohs(sa.sin_port);
        return fd;
}

int tel_closed_port(void)
{
        int port, fd = tel_bound_socket(&port);
        close(fd);
        return port;
}

int tel_blackhole_port(int *fd)
{
        int port;
        *fd = tel_bound_socket(&port);
        ck_assert_int_eq(listen(*fd, 1), 0);
        return port;
}

long tel_rss_bytes(void)
{
        long pages = 0, rss = 0;
        FILE *f = fopen("/proc/self/statm", "r");
        if (!f)
                return -1;
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
                rss = -1;
        fclose(f);
        return rss < 0 ? -1 : rss * sysconf(_SC_PAGESIZE);
}

int main(void)
{
        SRunner *sr = srunner_create(suite_metrics());
        int failed;

        curl_global_init(CURL_GLOBAL_DEFAULT);
        srunner_add_suite(sr, suite_trace());
        srunner_add_suite(sr, suite_exporter());
        srunner_add_suite(sr, suite_log());
        srunner_add_suite(sr, suite_engine_trace());
        srunner_run_all(sr, CK_NORMAL); /* CK_RUN_SUITE selects one */
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        curl_global_cleanup();
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
