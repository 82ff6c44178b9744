/*
 * sim_http.h -- a small blocking HTTP/JSON client (libcurl) for the order
 * example's simulators.  Plain C: no duraflow include.
 *
 * One ow_http_t per thread: it keeps one CURL easy handle (and with it a
 * kept-alive connection).  Call curl_global_init() once in main before
 * creating any (ow_http_global_init does it).
 */
#ifndef OW_SIM_HTTP_H
#define OW_SIM_HTTP_H

#include <stddef.h>

typedef struct ow_http ow_http_t;

/* curl_global_init(CURL_GLOBAL_DEFAULT); 0 or -1.  Call once, before threads. */
int ow_http_global_init(void);
void ow_http_global_cleanup(void);

/* A client for base_url, e.g. "http://127.0.0.1:8089" (copied).  NULL when
 * out of memory. */
ow_http_t *ow_http_new(const char *base_url);
void ow_http_free(ow_http_t *h); /* NULL is a no-op */
const char *ow_http_base(const ow_http_t *h);

/*
 * Send method ("GET" or "POST") to base_url + path with body (JSON text, or
 * NULL for none).  Returns the HTTP status (> 0) and sets *resp (if resp)
 * to the malloc'd response body (NUL terminated, caller frees); returns -1 on
 * a transport error (connection refused, timeout) with the message in err.
 * timeout_ms bounds the whole request (0 = 10 s).
 */
long ow_http_request(ow_http_t *h, const char *method, const char *path, const char *body, int timeout_ms,
                     char **resp, char *err, size_t err_size);
/* The same with a W3C traceparent sent as the header "traceparent" (NULL
 * or "" = none): the caller's trace context (df_step_traceparent). */
long ow_http_request_tp(ow_http_t *h, const char *method, const char *path, const char *body, int timeout_ms,
                        const char *traceparent, char **resp, char *err, size_t err_size);

#endif
