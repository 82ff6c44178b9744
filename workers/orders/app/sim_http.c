/* sim_http.c -- see sim_http.h. */
#include "sim_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

struct ow_http {
        CURL *curl;
        struct curl_slist *headers;
        char *base;
};

typedef struct ow_buf {
        char *data;
        size_t len, cap;
        int oom;
} ow_buf_t;

int ow_http_global_init(void)
{
        return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void ow_http_global_cleanup(void)
{
        curl_global_cleanup();
}

ow_http_t *ow_http_new(const char *base_url)
{
        ow_http_t *h = calloc(1, sizeof(*h));
        size_t n;
        if (!h)
                return NULL;
        n = strlen(base_url);
        while (n && base_url[n - 1] == '/')
                n--;
        h->base = malloc(n + 1);
        h->curl = curl_easy_init();
        h->headers = curl_slist_append(NULL, "Content-Type: application/json");
        if (!h->base || !h->curl || !h->headers) {
                ow_http_free(h);
                return NULL;
        }
        memcpy(h->base, base_url, n);
        h->base[n] = '\0';
        return h;
}

void ow_http_free(ow_http_t *h)
{
        if (!h)
                return;
        if (h->curl)
                curl_easy_cleanup(h->curl);
        curl_slist_free_all(h->headers);
        free(h->base);
        free(h);
}

const char *ow_http_base(const ow_http_t *h)
{
        return h->base;
}

static size_t ow_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
        ow_buf_t *b = userdata;
        size_t n = size * nmemb;
        if (b->len + n + 1 > b->cap) {
                size_t cap = b->cap ? b->cap : 256;
                char *p;
                while (cap < b->len + n + 1)
                        cap *= 2;
                p = realloc(b->data, cap);
                if (!p) {
                        b->oom = 1;
                        return 0;
                }
                b->data = p;
                b->cap = cap;
        }
        memcpy(b->data + b->len, ptr, n);
        b->len += n;
        b->data[b->len] = '\0';
        return n;
}

long ow_http_request(ow_http_t *h, const char *method, const char *path, const char *body, int timeout_ms,
                     char **resp, char *err, size_t err_size)
{
        return ow_http_request_tp(h, method, path, body, timeout_ms, NULL, resp, err, err_size);
}

long ow_http_request_tp(ow_http_t *h, const char *method, const char *path, const char *body, int timeout_ms,
                        const char *traceparent, char **resp, char *err, size_t err_size)
{
        char url[1024], tp_header[128];
        ow_buf_t b = {0};
        CURLcode rc;
        long status = 0;
        struct curl_slist *headers = h->headers, *extra = NULL;

        if (resp)
                *resp = NULL;
        snprintf(url, sizeof(url), "%s%s", h->base, path);
        curl_easy_reset(h->curl);
        curl_easy_setopt(h->curl, CURLOPT_URL, url);
        curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, (long)(timeout_ms > 0 ? timeout_ms : 10000));
        curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
        curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, ow_write);
        curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, &b);
        if (traceparent && *traceparent && strlen(traceparent) < 100) {
                /* a copy of the fixed headers plus this request's */
                snprintf(tp_header, sizeof(tp_header), "traceparent: %s", traceparent);
                extra = curl_slist_append(NULL, "Content-Type: application/json");
                if (extra && !curl_slist_append(extra, tp_header)) {
                        curl_slist_free_all(extra);
                        extra = NULL;
                }
                if (extra)
                        headers = extra;
        }
        curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, headers);
        if (!strcmp(method, "POST")) {
                curl_easy_setopt(h->curl, CURLOPT_POST, 1L);
                curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, body ? body : "");
                curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE, (long)(body ? strlen(body) : 0));
        } else if (strcmp(method, "GET")) {
                curl_easy_setopt(h->curl, CURLOPT_CUSTOMREQUEST, method);
        }
        rc = curl_easy_perform(h->curl);
        curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, h->headers);
        curl_slist_free_all(extra);
        if (rc != CURLE_OK || b.oom) {
                snprintf(err, err_size, "%s %s: %s", method, url, b.oom ? "out of memory" : curl_easy_strerror(rc));
                free(b.data);
                return -1;
        }
        curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
        if (resp) {
                *resp = b.data ? b.data : calloc(1, 1);
                b.data = NULL;
        }
        free(b.data);
        if (err_size)
                err[0] = '\0';
        return status;
}
