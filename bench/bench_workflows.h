/*
 * bench_workflows.h -- the workflows the benchmarks run (header-only, static).
 *
 *  noop3 : three no-op steps (default at-least-once), each returning a small
 *          JSON result; output a small JSON object.
 *  amo3  : the same with at-most-once steps: each step's START checkpoint
 *          commits before its body runs (one transaction per step).
 *  park  : one step, then a durable wait of BENCH_PARK_MS (30 days): the
 *          execution stays suspended.
 *  probe : one no-op step (recovery probes).
 *  history: input "N:BYTES": N steps, each returning BYTES bytes (a long
 *          history: worker memory while replaying it, and after).
 *  sleep1: step, a 1 s df_wait, step; the output is the lateness inside
 *          the handler in ms: second step's entry - (first step's exit + 1000),
 *          on the wall clock.
 *  waits0: input "N": N durable waits of 0 ms, each fired by the timer
 *          service, so the handler replays N times over a growing history.
 *  io3   : three steps that each wait 50 ms for a service (nanosleep): an
 *          I/O-bound workflow, run side by side by the worker's lanes.
 *
 * Step bodies call bench_step_hook (if set) with the execution id, the step
 * number (1-based) and the monotonic time (ns) at entry and exit.
 */
#ifndef BENCH_WORKFLOWS_H
#define BENCH_WORKFLOWS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_common.h"

#define BENCH_PARK_MS (30LL * 24 * 3600 * 1000)

static __attribute__((unused)) void (*bench_step_hook)(const char *exec_id, int step, int64_t t_in, int64_t t_out);

static df_err_t bench_noop_step(df_step_t *s, void *opaque)
{
        int64_t t_in = bench_mono_ns();
        int step = (int)(intptr_t)opaque;
        char res[64];
        int n = snprintf(res, sizeof(res), "{\"step\":%d,\"ok\":true}", step);
        df_err_t rc = df_step_set_result(s, res, (size_t)n);
        if (bench_step_hook) {
                /* the idempotency key is "<execution id>/<op id>" */
                char exec[256];
                const char *k = df_step_idempotency_key(s), *slash = strrchr(k, '/');
                size_t l = slash ? (size_t)(slash - k) : strlen(k);
                if (l >= sizeof(exec))
                        l = sizeof(exec) - 1;
                memcpy(exec, k, l);
                exec[l] = 0;
                bench_step_hook(exec, step, t_in, bench_mono_ns());
        }
        return rc;
}

static df_err_t bench_wf_steps(df_ctx_t *ctx, int n, const df_step_opts_t *o)
{
        static const char *names[] = {"validate", "reserve", "confirm", "s4", "s5", "s6"};
        df_err_t rc;
        int i;
        for (i = 1; i <= n; i++)
                if ((rc = df_step(ctx, names[(i - 1) % 6], bench_noop_step, (void *)(intptr_t)i, o, NULL)) != DF_OK)
                        return rc;
        return DF_OK;
}

static df_err_t bench_wf_noop3(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        df_err_t rc;
        static const char out[] = "{\"status\":\"confirmed\",\"steps\":3}";
        (void)input;
        (void)opaque;
        if ((rc = bench_wf_steps(ctx, 3, NULL)) != DF_OK)
                return rc;
        return df_ctx_set_output(ctx, out, sizeof(out) - 1);
}

static df_err_t bench_wf_amo3(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        df_step_opts_t o;
        df_err_t rc;
        static const char out[] = "{\"status\":\"confirmed\",\"steps\":3}";
        (void)input;
        (void)opaque;
        memset(&o, 0, sizeof(o));
        o.semantics = DF_AT_MOST_ONCE_PER_RETRY;
        if ((rc = bench_wf_steps(ctx, 3, &o)) != DF_OK)
                return rc;
        return df_ctx_set_output(ctx, out, sizeof(out) - 1);
}

static df_err_t bench_wf_park(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        df_err_t rc;
        (void)input;
        (void)opaque;
        if ((rc = bench_wf_steps(ctx, 1, NULL)) != DF_OK)
                return rc;
        return df_wait(ctx, "park", BENCH_PARK_MS);
}

static df_err_t bench_wf_probe(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        (void)input;
        (void)opaque;
        return bench_wf_steps(ctx, 1, NULL);
}

static df_err_t bench_big_step(df_step_t *s, void *opaque)
{
        size_t n = (size_t)(uintptr_t)opaque, i;
        char *buf = malloc(n ? n : 1);
        df_err_t rc;
        if (!buf)
                return DF_ERR_NOMEM;
        for (i = 0; i < n; i++)
                buf[i] = (char)('a' + (i * 7 + (size_t)df_step_attempt(s)) % 26);
        rc = df_step_set_result(s, buf, n);
        free(buf);
        return rc;
}

static int bench_parse_nm(const df_bytes_t *in, long *n, long *m)
{
        char buf[64];
        size_t l = in->len < sizeof(buf) - 1 ? in->len : sizeof(buf) - 1;
        memcpy(buf, in->data, l);
        buf[l] = 0;
        *m = 0;
        return sscanf(buf, "%ld:%ld", n, m) >= 1 ? 0 : -1;
}

static df_err_t bench_wf_history(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        long n, bytes, i;
        char name[32];
        df_err_t rc;
        (void)opaque;
        if (bench_parse_nm(input, &n, &bytes))
                return DF_ERR_INVALID_ARG;
        for (i = 0; i < n; i++) {
                snprintf(name, sizeof(name), "s%ld", i);
                if ((rc = df_step(ctx, name, bench_big_step, (void *)(uintptr_t)bytes, NULL, NULL)) != DF_OK)
                        return rc;
        }
        return df_ctx_set_output(ctx, "done", 4);
}

static df_err_t bench_wf_waits0(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        long n, unused, i;
        char name[32];
        df_err_t rc;
        (void)opaque;
        if (bench_parse_nm(input, &n, &unused))
                return DF_ERR_INVALID_ARG;
        for (i = 0; i < n; i++) {
                snprintf(name, sizeof(name), "w%ld", i);
                if ((rc = df_wait(ctx, name, 0)) != DF_OK)
                        return rc;
        }
        return df_ctx_set_output(ctx, "done", 4);
}

static df_err_t bench_stamp_step(df_step_t *s, void *opaque)
{
        char b[32];
        int n = snprintf(b, sizeof(b), "%lld", (long long)bench_wall_ms());
        (void)opaque;
        return df_step_set_result(s, b, (size_t)n);
}

static df_err_t bench_late_step(df_step_t *s, void *opaque)
{
        const df_bytes_t *before = opaque;
        char b[32];
        long long t1 = 0;
        int n;
        if (before->len < sizeof(b)) {
                memcpy(b, before->data, before->len);
                b[before->len] = 0;
                t1 = atoll(b);
        }
        n = snprintf(b, sizeof(b), "%lld", (long long)(bench_wall_ms() - (t1 + 1000)));
        return df_step_set_result(s, b, (size_t)n);
}

static df_err_t bench_wf_sleep1(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        df_bytes_t before, late;
        df_err_t rc;
        (void)input;
        (void)opaque;
        if ((rc = df_step(ctx, "before", bench_stamp_step, NULL, NULL, &before)) != DF_OK)
                return rc;
        if ((rc = df_wait(ctx, "sleep", 1000)) != DF_OK)
                return rc;
        if ((rc = df_step(ctx, "after", bench_late_step, &before, NULL, &late)) != DF_OK)
                return rc;
        return df_ctx_set_output(ctx, late.data, late.len);
}

/* A step that waits 50 ms for a service (an HTTP call's usual latency). */
static df_err_t bench_io_step(df_step_t *s, void *opaque)
{
        char res[64];
        int n = snprintf(res, sizeof(res), "{\"step\":%d,\"ok\":true}", (int)(intptr_t)opaque);
        struct timespec ts = {0, 50 * 1000000L};
        while (nanosleep(&ts, &ts) != 0)
                ;
        return df_step_set_result(s, res, (size_t)n);
}

static df_err_t bench_wf_io3(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        static const char *names[] = {"validate", "reserve", "confirm"};
        static const char out[] = "{\"status\":\"confirmed\",\"steps\":3}";
        df_err_t rc;
        int i;
        (void)input;
        (void)opaque;
        for (i = 1; i <= 3; i++)
                if ((rc = df_step(ctx, names[i - 1], bench_io_step, (void *)(intptr_t)i, NULL, NULL)) != DF_OK)
                        return rc;
        return df_ctx_set_output(ctx, out, sizeof(out) - 1);
}

static __attribute__((unused)) void bench_register_all(df_worker_t *w)
{
        df_worker_register(w, "io3", bench_wf_io3, NULL);
        df_worker_register(w, "sleep1", bench_wf_sleep1, NULL);
        df_worker_register(w, "history", bench_wf_history, NULL);
        df_worker_register(w, "waits0", bench_wf_waits0, NULL);
        df_worker_register(w, "noop3", bench_wf_noop3, NULL);
        df_worker_register(w, "amo3", bench_wf_amo3, NULL);
        df_worker_register(w, "park", bench_wf_park, NULL);
        df_worker_register(w, "probe", bench_wf_probe, NULL);
}

/* A small JSON-sized input (about 120 bytes). */
static __attribute__((unused)) size_t bench_input(char *buf, size_t size, long i)
{
        return (size_t)snprintf(buf, size,
                                "{\"orderId\":%ld,\"customer\":\"ALFKI\",\"items\":[{\"sku\":\"CHAI\",\"qty\":2},"
                                "{\"sku\":\"CHANG\",\"qty\":1}],\"total\":42.50}",
                                i);
}

#endif
