/*
 * tel_common.h -- helpers of the telemetry Check suites: an HTTP GET
 * (libcurl) and a recording OTLP collector (libmicrohttpd on 127.0.0.1)
 * whose answers the test scripts (e.g. 503, 503, then 200).
 */
#ifndef TEL_COMMON_H
#define TEL_COMMON_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

/** GET url; the status code (0 when no answer), body in *body (malloc'd,
 * NUL-terminated; may be NULL) when not NULL. */
long tel_http_get(const char *url, char **body, char *ctype, size_t ctype_size);
/** A request with another method; the status code. */
long tel_http_method(const char *url, const char *method);

typedef struct tel_collector tel_collector_t;

/** A collector on 127.0.0.1 (any free port) answering POST /v1/traces with
 * the codes of script in turn (0-terminated; the last one repeats). */
tel_collector_t *tel_collector_start(const int *script);
/** The same on a given port of 127.0.0.1 (e.g. one tel_closed_port gave:
 * the collector comes back); 0 = any free port. */
tel_collector_t *tel_collector_start_on(const int *script, int port);
int tel_collector_port(tel_collector_t *c);
/** Requests seen so far. */
int tel_collector_requests(tel_collector_t *c);
/** Body of request i (owned by the collector), NULL past the end. */
const char *tel_collector_body(tel_collector_t *c, int i);
/** Monotonic ms of request i. */
int64_t tel_collector_time(tel_collector_t *c, int i);
/** Wait until at least n requests were seen, at most timeout_ms; 1 if so. */
int tel_collector_wait(tel_collector_t *c, int n, int timeout_ms);
void tel_collector_stop(tel_collector_t *c);

int64_t tel_mono_ms(void);
int64_t tel_mono_ns(void);
/** A TCP port on 127.0.0.1 with nothing listening (bound then closed). */
int tel_closed_port(void);
/** A socket listening on 127.0.0.1 that never accepts (a hung collector);
 * *fd to close. Returns the port. */
int tel_blackhole_port(int *fd);
/** Resident set size of this process, bytes. */
long tel_rss_bytes(void);

Suite *suite_metrics(void);
Suite *suite_trace(void);
Suite *suite_exporter(void);
Suite *suite_log(void);
Suite *suite_engine_trace(void);

#endif
