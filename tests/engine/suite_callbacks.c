/*
 * suite_callbacks.c -- callbacks: early completion, timeouts, heartbeats,
 * failures, forged and unknown ids, repeated completions.
 */
#include <stdio.h>
#include <stdlib.h>

#include "engine_test.h"

#define EXEC "cb-1"
#define MAXCB 16

static struct {
        df_callback_opts_t opts;
        int64_t grace_ms;       /* wait after the callback (keeps the execution alive) */
        df_err_t cb_rc;         /* last verdict of the callback (not SUSPENDED) */
        int timed_out_seen;     /* replays that saw DF_ERR_TIMED_OUT */
        char last_error[256];
        int n_cb;
        char cb[MAXCB][CBID_MAX]; /* ids handed to the submitter, in order */
        int submit_runs;
        int handler_runs;
        char early_id[CBID_MAX];
        int tries_seen;         /* loop workflow: try reached in the last replay */
} G;

static void setup(void)
{
        memset(&G, 0, sizeof(G));
}

static df_err_t submitter(df_step_t *s, const char *callback_id, void *opaque)
{
        (void)s;
        (void)opaque;
        G.submit_runs++;
        ck_assert_int_lt(G.n_cb, MAXCB);
        et_copy(G.cb[G.n_cb++], CBID_MAX, callback_id);
        return DF_OK;
}

/* wait_for_callback "approval" with G.opts; then an optional grace wait;
 * output = the payload, or the callback's error is returned. */
static df_err_t wf_cb(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        df_bytes_t r;
        df_err_t rc, rc2;

        (void)input;
        (void)opaque;
        G.handler_runs++;
        rc = df_wait_for_callback(ctx, "approval", submitter, NULL, &G.opts, NULL, &r);
        if (rc == DF_SUSPENDED)
                return rc;
        G.cb_rc = rc;
        if (rc == DF_ERR_TIMED_OUT)
                G.timed_out_seen++;
        et_copy(G.last_error, sizeof(G.last_error), df_ctx_last_error(ctx));
        if (G.grace_ms && (rc2 = df_wait(ctx, "grace", G.grace_ms)) != DF_OK)
                return rc2;
        if (rc != DF_OK)
                return rc;
        return df_ctx_set_output(ctx, r.data, r.len);
}

static df_test_t *runner(df_handler_fn fn)
{
        df_test_t *t = et_new();
        ASSERT_RC(df_test_register(t, "wf", fn, NULL), DF_OK);
        return t;
}

/* Start wf_cb and check the callback is pending with the submitted id. */
static df_test_t *start_cb(char id[CBID_MAX])
{
        df_test_t *t = runner(wf_cb);

        ASSERT_RC(df_test_start(t, "wf", EXEC, NULL, 0), DF_OK);
        ASSERT_STATUS(t, EXEC, "SUSPENDED");
        ASSERT_OP(t, EXEC, 1, "approval", "CALLBACK", "PENDING");
        ASSERT_OP(t, EXEC, 2, "approval.submit", "STEP", "SUCCEEDED");
        et_cb_id(t, EXEC, "approval", id);
        ck_assert_int_eq(G.n_cb, 1);
        ck_assert_str_eq(G.cb[0], id);
        return t;
}

/* ---------------- early completion ---------------- */

static df_err_t wf_early(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        const char *id;
        df_bytes_t r;
        df_err_t rc;

        (void)input;
        (void)opaque;
        G.handler_runs++;
        if ((rc = df_create_callback(ctx, "early", NULL, &id)) != DF_OK)
                return rc;
        et_copy(G.early_id, sizeof(G.early_id), id);
        if ((rc = df_wait(ctx, "w", 5000)) != DF_OK)
                return rc;
        rc = df_callback_result(ctx, id, &r);
        if (rc != DF_OK)
                return rc;
        return df_ctx_set_output(ctx, r.data, r.len);
}

/* A completion that arrives before the workflow waits for it is kept. */
START_TEST(test_completion_before_wait)
{
        static const uint8_t payload[] = {'e', 0x00, 0xff, 'y'};
        df_test_t *t = runner(wf_early);
        char id[CBID_MAX];

        ASSERT_RC(df_test_start(t, "wf", EXEC, NULL, 0), DF_OK);
        ASSERT_STATUS(t, EXEC, "SUSPENDED");
        et_cb_id(t, EXEC, "early", id);
        ck_assert_str_eq(id, G.early_id);
        ASSERT_OP(t, EXEC, 2, "w", "WAIT", "PENDING");
        df_test_advance(t, 2000);
        ASSERT_RC(df_test_callback(t, id, DF_CALLBACK_SUCCESS, payload, sizeof(payload), NULL), DF_OK);
        ASSERT_STATUS(t, EXEC, "SUSPENDED"); /* still in the wait */
        ASSERT_OP(t, EXEC, 1, "early", "CALLBACK", "SUCCEEDED");
        ASSERT_OP_RESULT(t, EXEC, 1, payload, sizeof(payload));
        ASSERT_OP(t, EXEC, 2, "w", "WAIT", "PENDING");
        df_test_advance(t, 2999);
        ASSERT_STATUS(t, EXEC, "SUSPENDED");
        df_test_advance(t, 1);
        ASSERT_STATUS(t, EXEC, "SUCCEEDED");
        ASSERT_OUTPUT(t, EXEC, payload, sizeof(payload));
        ck_assert_int_eq(df_test_op_count(t, EXEC), 2);
        df_test_destroy(t);
}
END_TEST

/* ---------------- timeouts ---------------- */

START_TEST(test_timeout_then_completion_rejected)
{
        df_test_t *t;
        df_test_op_t op;
        char id[CBID_MAX];

        G.opts.timeout_ms = 10000;
        G.grace_ms = 60000;
        t = start_cb(id);
        ASSERT_RC(df_test_op(t, EXEC, 1, &op), DF_OK);
        ck_assert_int_eq(op.due_ms, T0 + 10000);
        df_test_advance(t, 9999);
        ASSERT_OP(t, EXEC, 1, "approval", "CALLBACK", "PENDING");
        ck_assert_int_eq(G.timed_out_seen, 0);
        df_test_advance(t, 1);
        ASSERT_OP(t, EXEC, 1, "approval", "CALLBACK", "TIMED_OUT");
        ASSERT_RC(df_test_op(t, EXEC, 1, &op), DF_OK);
        ck_assert_str_eq(op.error, "callback timed out");
        ASSERT_RC(G.cb_rc, DF_ERR_TIMED_OUT);
        ck_assert_str_eq(G.last_error, "callback timed out");
        ASSERT_STATUS(t, EXEC, "SUSPENDED"); /* in the grace wait */
        ASSERT_OP(t, EXEC, 3, "grace", "WAIT", "PENDING");

        /* too late: the timeout was recorded first */
        ASSERT_RC(df_test_callback(t, id, DF_CALLBACK_SUCCESS, "late", 4, NULL), DF_ERR_FINISHED);
        ASSERT_RC(df_test_callback(t, id, DF_CALLBACK_FAILURE, NULL, 0, "late"), DF_ERR_FINISHED);
        ASSERT_RC(df_test_callback(t, id, DF_CALLBACK_HEARTBEAT, NULL, 0, NULL), DF_ERR_FINISHED);
        ASSERT_OP(t, EXEC, 1, "approval", "CALLBACK", "TIMED_OUT");
        ASSERT_OP_RESULT(t, EXEC, 1, "", 0);

        df_test_advance(t, 60000);
        ASSERT_STATUS(t, EXEC, "FAILED");
        ck_assert_str_eq(df_test_error(t, EXEC), "callback timed out");
        ASSERT_RC(G.cb_rc, DF_ERR_TIMED_OUT);
        ASSERT_RC(df_test_callback(t, id, DF_CALLBACK_SUCCESS, "late", 4, NULL), DF_ERR_FINISHED);
        ck_assert_int_eq(G.submit_runs, 1);
        df_test_destroy(t);
}
END_TEST

/* Success first, then the timeout's timer fires: a no-op.  Loop 0: the
 * execution is still running (grace wait) when the stale timer fires; loop
 * 1: it has already finished. */
START_TEST(test_stale_timeout_after_success)
{
        static const uint8_t payload[] = {'p', 0x00, 0x80, 'q'};
        df_test_t *t;
        char id[CBID_MAX];

        G.opts.timeout_ms = 10000;
        G.grace_ms = _i == 0 ? 60000 : 0;
        t = start_cb(id);
        /* the timeout's timer fires although the success withdrew it */
        df_test_keep_withdrawn_timers(t, 1);
        df_test_advance(t, 5000);
        ASSERT_RC(df_test_callback(t, id, DF_CALLBACK_SUCCESS, payload, sizeof(payload), NULL), DF_OK);
        ASSERT_RC(G.cb_rc, DF_OK);
        ASSERT_OP(t, EXEC, 1, "approval", "CALLBACK", "SUCCEEDED");
        ASSERT_STATUS(t, EXEC, _i == 0 ? "SUSPENDED" : "SUCCEEDED");
        df_test_advance(t, 5000); /* the timeout is due now */
        ASSERT_OP(t, EXEC, 1, "approval", "CALLBACK", "SUCCEEDED");
        ASSERT_OP_RESULT(t, EXEC, 1, payload, sizeof(payload));
        ck_assert_int_eq(G.timed_out_seen, 0);
        ASSERT_RC(G.cb_rc, DF_OK);
        df_test_advance(t, 60000);
        ASSERT_STATUS(t, EXEC, "SUCCEEDED");
        ASSERT_OUTPUT(t, EXEC, payload, sizeof(payload));
        ck_assert_int_eq(G.timed_out_seen, 0);
        ck_assert_int_eq(df_test_pending_timers(t), 0);
        df_test_destroy(t);
}
END_TEST

/* ---------------- heartbeats ---------------- */

START_TEST(test_heartbeat_keeps_alive_then_times_out)
{
        df_test_t *t;
        char id[CBID_MAX];
        int i;

        G.opts.heartbeat_timeout_ms = 10000;
        t = start_cb(id);
        for (i = 0; i < 4; i++) {
                df_test_advance(t, 8000);
                ASSERT_OP(t, EXEC, 1, "approval", "CALLBACK", "PENDING");
                ASSERT_RC(df_test_callback(t, id, DF_CALLBACK_HEARTBEAT, NULL, 0, NULL), DF_OK);
        }
        /* 32 s in, well past one heartbeat timeout from the start */
        ASSERT_STATUS(t, EXEC, "SUSPENDED");
        ck_assert_int_eq(G.timed_out_seen, 0);
        df_test_advance(t, 9999);
        ASSERT_OP(t, EXEC, 1, "approval", "CALLBACK", "PENDING");
        ASSERT_STATUS(t, EXEC, "SUSPENDED");
        df_test_advance(t, 1);
        ASSERT_OP(t, EXEC, 1, "approval", "CALLBACK", "TIMED_OUT");
        ASSERT_RC(G.cb_rc, DF_ERR_TIMED_OUT);
        ck_assert_str_eq(G.last_error, "callback heartbeat timed out");
        ASSERT_STATUS(t, EXEC, "FAILED");
        ck_assert_str_eq(df_test_error(t, EXEC), "callback heartbeat timed out");
        ASSERT_RC(df_test_callback(t, id, DF_CALLBACK_HEARTBEAT, NULL, 0, NULL), DF_ERR_FINISHED);
        df_test_destroy(t);
}
END_TEST

/* Without any heartbeat it times out after heartbeat_timeout from creation. */
START_TEST(test_heartbeat_missing)
{
        df_test_t *t;
        char id[CBID_MAX];

        G.opts.heartbeat_timeout_ms = 10000;
        t = start_cb(id);
        df_test_advance(t, 9999);
        ASSERT_OP(t, EXEC, 1, "approval", "CALLBACK", "PENDING");
        df_test_advance(t, 1);
        ASSERT_OP(t, EXEC, 1, "approval", "CALLBACK", "TIMED_OUT");
        ASSERT_STATUS(t, EXEC, "FAILED");
        ck_assert_str_eq(df_test_error(t, EXEC), "callback heartbeat timed out");
        df_test_destroy(t);
}
END_TEST

/* Heartbeats do not extend the overall timeout. */
START_TEST(test_heartbeat_overall_timeout_wins)
{
        df_test_t *t;
        char id[CBID_MAX];
        int i;

        G.opts.timeout_ms = 25000;
        G.opts.heartbeat_timeout_ms = 10000;
        t = start_cb(id);
        for (i = 0; i < 3; i++) {
                df_test_advance(t, 8000);
                ASSERT_RC(df_test_callback(t, id, DF_CALLBACK_HEARTBEAT, NULL, 0, NULL), DF_OK);
        }
        df_test_advance(t, 999);
        ASSERT_OP(t, EXEC, 1, "approval", "CALLBACK", "PENDING");
        df_test_advance(t, 1);
        ASSERT_OP(t, EXEC, 1, "approval", "CALLBACK", "TIMED_OUT");
        ck_assert_str_eq(G.last_error, "callback timed out");
        ASSERT_STATUS(t, EXEC, "FAILED");
        df_test_destroy(t);
}
END_TEST

/* A completed callback withdraws its timeout and heartbeat timers (they
 * would only fire as no-ops: 1,650 such timers for the 830 demo orders); a
 * heartbeat withdraws the heartbeat timer it supersedes; a crash before the
 * commit withdraws nothing.  Loop 0: success, 1: failure. */
START_TEST(test_completion_withdraws_timers)
{
        df_test_t *t;
        char id[CBID_MAX];

        G.opts.timeout_ms = 60000;
        G.opts.heartbeat_timeout_ms = 10000;
        t = start_cb(id);
        ck_assert_int_eq(df_test_pending_timers(t), 2); /* timeout + heartbeat */
        df_test_advance(t, 5000);
        ASSERT_RC(df_test_callback(t, id, DF_CALLBACK_HEARTBEAT, NULL, 0, NULL), DF_OK);
        ck_assert_int_eq(df_test_pending_timers(t), 2); /* the old heartbeat timer replaced, not added */
        df_test_crash_next(t, 1);
        ASSERT_RC(df_test_callback(t, id, _i == 0 ? DF_CALLBACK_SUCCESS : DF_CALLBACK_FAILURE, "ok", 2,
                                   _i == 0 ? NULL : "no"),
                  DF_OK);
        ck_assert_int_eq(df_test_crashes(t), 1);
        ck_assert_int_eq(df_test_pending_timers(t), 0); /* redelivered after the crash, then committed */
        ASSERT_OP(t, EXEC, 1, "approval", "CALLBACK", _i == 0 ? "SUCCEEDED" : "FAILED");
        df_test_advance(t, 120000);
        ck_assert_int_eq(G.timed_out_seen, 0);
        ASSERT_STATUS(t, EXEC, _i == 0 ? "SUCCEEDED" : "FAILED");
        df_test_destroy(t);
}
END_TEST

/* Heartbeats then success: the later heartbeat timers are no-ops. */
START_TEST(test_heartbeat_then_success)
{
        df_test_t *t;
        char id[CBID_MAX];

        G.opts.heartbeat_timeout_ms = 10000;
        t = start_cb(id);
        df_test_keep_withdrawn_timers(t, 1); /* the superseded heartbeat timers fire anyway */
        df_test_advance(t, 6000);
        ASSERT_RC(df_test_callback(t, id, DF_CALLBACK_HEARTBEAT, NULL, 0, NULL), DF_OK);
        df_test_advance(t, 6000);
        ASSERT_RC(df_test_callback(t, id, DF_CALLBACK_SUCCESS, "done", 4, NULL), DF_OK);
        ASSERT_STATUS(t, EXEC, "SUCCEEDED");
        df_test_advance(t, 60000);
        ASSERT_STATUS(t, EXEC, "SUCCEEDED");
        ASSERT_OUTPUT(t, EXEC, "done", 4);
        ASSERT_OP(t, EXEC, 1, "approval", "CALLBACK", "SUCCEEDED");
        ck_assert_int_eq(G.timed_out_seen, 0);
        ck_assert_int_eq(df_test_pending_timers(t), 0);
        df_test_destroy(t);
}
END_TEST

/* ---------------- failure ---------------- */

START_TEST(test_failure_completion)
{
        static const char *const msgs[] = {"card declined", NULL};
        const char *msg = msgs[_i];
        df_test_t *t;
        df_test_op_t op;
        char id[CBID_MAX];

        t = start_cb(id);
        ASSERT_RC(df_test_callback(t, id, DF_CALLBACK_FAILURE, NULL, 0, msg), DF_OK);
        ASSERT_RC(G.cb_rc, DF_ERR_CALLBACK_FAILED);
        ck_assert_str_eq(G.last_error, msg ? msg : "callback failed");
        ASSERT_STATUS(t, EXEC, "FAILED");
        ck_assert_str_eq(df_test_error(t, EXEC), msg ? msg : "callback failed");
        ASSERT_OP(t, EXEC, 1, "approval", "CALLBACK", "FAILED");
        ASSERT_RC(df_test_op(t, EXEC, 1, &op), DF_OK);
        ck_assert_str_eq(op.error, msg ? msg : "callback failed");
        ASSERT_RC(df_test_callback(t, id, DF_CALLBACK_SUCCESS, "x", 1, NULL), DF_ERR_FINISHED);
        df_test_destroy(t);
}
END_TEST

/* ---------------- forged / unknown ids ---------------- */

START_TEST(test_forged_ids_rejected)
{
        df_test_t *t;
        char id[CBID_MAX], forged[CBID_MAX + 64];
        int runs;

        t = start_cb(id);
        ASSERT_RC(df_test_start(t, "wf", "other", NULL, 0), DF_OK); /* a second, real execution */
        runs = G.handler_runs;
        ck_assert_uint_eq(strlen(id), 32 + 1 + 1 + 1 + strlen(EXEC));

        /* right format, wrong random part (every position) */
        for (int i = 0; i < 32; i++) {
                et_copy(forged, sizeof(forged), id);
                forged[i] = forged[i] == '0' ? '1' : '0';
                ASSERT_RC(df_test_callback(t, forged, DF_CALLBACK_SUCCESS, "x", 1, NULL), DF_ERR_UNKNOWN_CALLBACK);
        }
        /* right random part routed to another operation of the execution */
        snprintf(forged, sizeof(forged), "%.32s_2_%s", id, EXEC);
        ASSERT_RC(df_test_callback(t, forged, DF_CALLBACK_SUCCESS, "x", 1, NULL), DF_ERR_UNKNOWN_CALLBACK);
        snprintf(forged, sizeof(forged), "%.32s_99_%s", id, EXEC);
        ASSERT_RC(df_test_callback(t, forged, DF_CALLBACK_SUCCESS, "x", 1, NULL), DF_ERR_UNKNOWN_CALLBACK);
        /* ... or to another execution */
        snprintf(forged, sizeof(forged), "%.32s_1_other", id);
        ASSERT_RC(df_test_callback(t, forged, DF_CALLBACK_SUCCESS, "x", 1, NULL), DF_ERR_UNKNOWN_CALLBACK);
        /* garbage */
        ASSERT_RC(df_test_callback(t, "hello", DF_CALLBACK_SUCCESS, "x", 1, NULL), DF_ERR_UNKNOWN_CALLBACK);
        ASSERT_RC(df_test_callback(t, "", DF_CALLBACK_SUCCESS, "x", 1, NULL), DF_ERR_UNKNOWN_CALLBACK);
        snprintf(forged, sizeof(forged), "%.31s_1_%s", id, EXEC); /* 31 hex */
        ASSERT_RC(df_test_callback(t, forged, DF_CALLBACK_SUCCESS, "x", 1, NULL), DF_ERR_UNKNOWN_CALLBACK);
        et_copy(forged, sizeof(forged), id);
        forged[0] = 'G';
        ASSERT_RC(df_test_callback(t, forged, DF_CALLBACK_SUCCESS, "x", 1, NULL), DF_ERR_UNKNOWN_CALLBACK);
        /* a routing part naming an execution that does not exist */
        snprintf(forged, sizeof(forged), "%s_", id);
        ASSERT_RC(df_test_callback(t, forged, DF_CALLBACK_SUCCESS, "x", 1, NULL), DF_ERR_NOT_FOUND);
        snprintf(forged, sizeof(forged), "%.33s1", id); /* no execution part */
        ASSERT_RC(df_test_callback(t, forged, DF_CALLBACK_SUCCESS, "x", 1, NULL), DF_ERR_UNKNOWN_CALLBACK);
        /* heartbeats and failures with a forged id are rejected too */
        et_copy(forged, sizeof(forged), id);
        forged[5] = forged[5] == 'a' ? 'b' : 'a';
        ASSERT_RC(df_test_callback(t, forged, DF_CALLBACK_FAILURE, NULL, 0, "no"), DF_ERR_UNKNOWN_CALLBACK);
        ASSERT_RC(df_test_callback(t, forged, DF_CALLBACK_HEARTBEAT, NULL, 0, NULL), DF_ERR_UNKNOWN_CALLBACK);

        /* the executions are unaffected: nothing recorded, nothing replayed */
        ck_assert_int_eq(G.handler_runs, runs);
        ASSERT_STATUS(t, EXEC, "SUSPENDED");
        ASSERT_OP(t, EXEC, 1, "approval", "CALLBACK", "PENDING");
        ASSERT_OP_RESULT(t, EXEC, 1, "", 0);
        ASSERT_STATUS(t, "other", "SUSPENDED");
        ASSERT_OP(t, "other", 1, "approval", "CALLBACK", "PENDING");

        ASSERT_RC(df_test_callback(t, id, DF_CALLBACK_SUCCESS, "real", 4, NULL), DF_OK);
        ASSERT_STATUS(t, EXEC, "SUCCEEDED");
        ASSERT_OUTPUT(t, EXEC, "real", 4);
        ASSERT_STATUS(t, "other", "SUSPENDED");
        /* once it is over, a forged id is still unknown, the real one finished */
        ASSERT_RC(df_test_callback(t, forged, DF_CALLBACK_SUCCESS, "x", 1, NULL), DF_ERR_UNKNOWN_CALLBACK);
        ASSERT_RC(df_test_callback(t, id, DF_CALLBACK_SUCCESS, "x", 1, NULL), DF_ERR_FINISHED);
        ASSERT_OUTPUT(t, EXEC, "real", 4);
        df_test_destroy(t);
}
END_TEST

START_TEST(test_unknown_execution)
{
        df_test_t *t;
        char id[CBID_MAX], ghost[CBID_MAX + 64];

        t = start_cb(id);
        snprintf(ghost, sizeof(ghost), "%.32s_1_ghost", id);
        ASSERT_RC(df_test_callback(t, ghost, DF_CALLBACK_SUCCESS, "x", 1, NULL), DF_ERR_NOT_FOUND);
        ASSERT_RC(df_test_callback(t, "0123456789abcdef0123456789abcdef_1_nobody", DF_CALLBACK_HEARTBEAT, NULL, 0,
                                   NULL),
                  DF_ERR_NOT_FOUND);
        ck_assert_ptr_null(df_test_status(t, "ghost"));
        ck_assert_ptr_null(df_test_status(t, "nobody"));
        ASSERT_STATUS(t, EXEC, "SUSPENDED");
        df_test_destroy(t);
}
END_TEST

/* A second completion is refused and changes nothing. */
START_TEST(test_second_completion)
{
        df_test_t *t;
        char id[CBID_MAX];

        G.grace_ms = 1000;
        t = start_cb(id);
        ASSERT_RC(df_test_callback(t, id, DF_CALLBACK_SUCCESS, "first", 5, NULL), DF_OK);
        ASSERT_STATUS(t, EXEC, "SUSPENDED");
        ASSERT_RC(df_test_callback(t, id, DF_CALLBACK_SUCCESS, "second", 6, NULL), DF_ERR_FINISHED);
        ASSERT_RC(df_test_callback(t, id, DF_CALLBACK_FAILURE, NULL, 0, "no"), DF_ERR_FINISHED);
        ASSERT_RC(df_test_callback(t, id, DF_CALLBACK_HEARTBEAT, NULL, 0, NULL), DF_ERR_FINISHED);
        ASSERT_OP(t, EXEC, 1, "approval", "CALLBACK", "SUCCEEDED");
        ASSERT_OP_RESULT(t, EXEC, 1, "first", 5);
        df_test_advance(t, 1000);
        ASSERT_STATUS(t, EXEC, "SUCCEEDED");
        ASSERT_OUTPUT(t, EXEC, "first", 5);
        ASSERT_RC(df_test_callback(t, id, DF_CALLBACK_SUCCESS, "third", 5, NULL), DF_ERR_FINISHED);
        ASSERT_OUTPUT(t, EXEC, "first", 5);
        df_test_destroy(t);
}
END_TEST

/* Callback payloads: DF_PAYLOAD_MAX round-trips, one more byte is refused. */
START_TEST(test_callback_payload_limit)
{
        df_test_t *t;
        char id[CBID_MAX];
        uint8_t *p = et_pattern(DF_PAYLOAD_MAX + 1, 3);
        df_bytes_t out;

        t = start_cb(id);
        ASSERT_RC(df_test_callback(t, id, DF_CALLBACK_SUCCESS, p, DF_PAYLOAD_MAX + 1, NULL),
                  DF_ERR_PAYLOAD_TOO_LARGE);
        ASSERT_OP(t, EXEC, 1, "approval", "CALLBACK", "PENDING");
        ASSERT_RC(df_test_callback(t, id, DF_CALLBACK_SUCCESS, p, DF_PAYLOAD_MAX, NULL), DF_OK);
        ASSERT_STATUS(t, EXEC, "SUCCEEDED");
        ASSERT_RC(df_test_output(t, EXEC, &out), DF_OK);
        ck_assert_uint_eq(out.len, DF_PAYLOAD_MAX);
        ck_assert_int_eq(memcmp(out.data, p, DF_PAYLOAD_MAX), 0);
        free(p);
        df_test_destroy(t);
}
END_TEST

/* ---------------- three timeouts, then an answer ---------------- */

static df_err_t wf_tries(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        df_callback_opts_t o = {10000, 0};
        char name[32], out[64];
        df_bytes_t r;
        df_err_t rc;
        int i;

        (void)input;
        (void)opaque;
        for (i = 1; i <= 4; i++) {
                G.tries_seen = i;
                snprintf(name, sizeof(name), "approval-%d", i);
                rc = df_wait_for_callback(ctx, name, submitter, NULL, &o, NULL, &r);
                if (rc == DF_SUSPENDED)
                        return rc;
                if (rc == DF_OK) {
                        int n = snprintf(out, sizeof(out), "try %d: %.*s", i, (int)r.len, (const char *)r.data);
                        return df_ctx_set_output(ctx, out, (size_t)n);
                }
                if (rc != DF_ERR_TIMED_OUT)
                        return rc;
        }
        df_ctx_fail(ctx, "no answer after 4 tries");
        return DF_ERR_TIMED_OUT;
}

/* Loop 0: the 4th try receives its event; loop 1: it times out too. */
START_TEST(test_three_timeouts_then_event)
{
        df_test_t *t = runner(wf_tries);
        char id[CBID_MAX], name[32];
        int i;

        ASSERT_RC(df_test_start(t, "wf", EXEC, NULL, 0), DF_OK);
        for (i = 1; i <= 3; i++) {
                snprintf(name, sizeof(name), "approval-%d", i);
                ck_assert_int_eq(df_test_op_count(t, EXEC), 2 * i);
                ck_assert_int_eq(G.n_cb, i);
                df_test_advance(t, 9999);
                ASSERT_OP(t, EXEC, 2 * i - 1, name, "CALLBACK", "PENDING");
                df_test_advance(t, 1);
                ASSERT_OP(t, EXEC, 2 * i - 1, name, "CALLBACK", "TIMED_OUT");
                ASSERT_STATUS(t, EXEC, "SUSPENDED");
        }
        ck_assert_int_eq(df_test_op_count(t, EXEC), 8);
        ck_assert_int_eq(G.n_cb, 4);
        ck_assert_int_eq(G.submit_runs, 4);
        ck_assert_int_eq(G.tries_seen, 4);
        ASSERT_OP(t, EXEC, 7, "approval-4", "CALLBACK", "PENDING");
        ASSERT_OP(t, EXEC, 8, "approval-4.submit", "STEP", "SUCCEEDED");
        et_cb_id(t, EXEC, "approval-4", id);
        ck_assert_str_eq(id, G.cb[3]);
        for (i = 0; i < 3; i++) {
                ck_assert_str_ne(G.cb[i], G.cb[3]);
                ASSERT_RC(df_test_callback(t, G.cb[i], DF_CALLBACK_SUCCESS, "old", 3, NULL), DF_ERR_FINISHED);
        }
        if (_i == 0) {
                ASSERT_RC(df_test_callback(t, id, DF_CALLBACK_SUCCESS, "yes", 3, NULL), DF_OK);
                ASSERT_STATUS(t, EXEC, "SUCCEEDED");
                ASSERT_OUTPUT(t, EXEC, "try 4: yes", 10);
                ASSERT_OP(t, EXEC, 7, "approval-4", "CALLBACK", "SUCCEEDED");
                df_test_advance(t, 10000); /* the 4th timeout, stale */
                ASSERT_STATUS(t, EXEC, "SUCCEEDED");
        } else {
                df_test_advance(t, 10000);
                ASSERT_OP(t, EXEC, 7, "approval-4", "CALLBACK", "TIMED_OUT");
                ASSERT_STATUS(t, EXEC, "FAILED");
                ck_assert_str_eq(df_test_error(t, EXEC), "no answer after 4 tries");
        }
        ck_assert_int_eq(df_test_op_count(t, EXEC), 8);
        ck_assert_int_eq(G.submit_runs, 4);
        df_test_destroy(t);
}
END_TEST

/* ---------------- options, outcomes, crashes ---------------- */

static df_err_t wf_opts(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        const char *id = NULL;
        df_bytes_t r;

        (void)input;
        (void)opaque;
        G.cb_rc = df_create_callback(ctx, "c", &G.opts, &id);
        if (G.cb_rc != DF_OK)
                return G.cb_rc;
        et_copy(G.early_id, sizeof(G.early_id), id);
        /* an id that is not one of this execution's callbacks */
        G.tries_seen = df_callback_result(ctx, "0123456789abcdef0123456789abcdef_9_x", &r);
        return df_callback_result(ctx, id, &r);
}

/* Timeouts: 0..DF_WAIT_MAX_MS; out of range is refused before anything is
 * recorded. */
START_TEST(test_callback_option_range)
{
        static const df_callback_opts_t cases[] = {
                {DF_WAIT_MAX_MS, DF_WAIT_MAX_MS}, {DF_WAIT_MAX_MS + 1, 0}, {0, DF_WAIT_MAX_MS + 1},
                {-1, 0},                          {0, -1},
        };
        df_test_t *t = runner(wf_opts);
        df_test_op_t op;

        G.opts = cases[_i];
        ASSERT_RC(df_test_start(t, "wf", EXEC, NULL, 0), DF_OK);
        if (_i == 0) {
                ASSERT_RC(G.cb_rc, DF_OK);
                ASSERT_RC((df_err_t)G.tries_seen, DF_ERR_INVALID_ARG);
                ASSERT_STATUS(t, EXEC, "SUSPENDED");
                ASSERT_RC(df_test_op(t, EXEC, 1, &op), DF_OK);
                ck_assert_int_eq(op.due_ms, T0 + DF_WAIT_MAX_MS);
                ck_assert_str_eq(op.callback_id, G.early_id);
                df_test_advance(t, DF_WAIT_MAX_MS - 1);
                ASSERT_OP(t, EXEC, 1, "c", "CALLBACK", "PENDING");
                df_test_advance(t, 1);
                ASSERT_OP(t, EXEC, 1, "c", "CALLBACK", "TIMED_OUT");
                ASSERT_STATUS(t, EXEC, "FAILED");
        } else {
                ASSERT_RC(G.cb_rc, DF_ERR_INVALID_ARG);
                ASSERT_STATUS(t, EXEC, "FAILED");
                ck_assert_int_eq(df_test_op_count(t, EXEC), 0);
                ck_assert_int_eq(df_test_pending_timers(t), 0);
        }
        df_test_destroy(t);
}
END_TEST

/* An unknown outcome code is refused; the callback stays pending. */
START_TEST(test_bad_outcome)
{
        df_test_t *t;
        char id[CBID_MAX];

        t = start_cb(id);
        ASSERT_RC(df_test_callback(t, id, 7, "x", 1, NULL), DF_ERR_INVALID_ARG);
        ASSERT_RC(df_test_callback(t, NULL, DF_CALLBACK_SUCCESS, "x", 1, NULL), DF_ERR_INVALID_ARG);
        ASSERT_OP(t, EXEC, 1, "approval", "CALLBACK", "PENDING");
        ASSERT_STATUS(t, EXEC, "SUSPENDED");
        ASSERT_RC(df_test_callback(t, id, DF_CALLBACK_SUCCESS, "x", 1, NULL), DF_OK);
        ASSERT_OUTPUT(t, EXEC, "x", 1);
        df_test_destroy(t);
}
END_TEST

/* A heartbeat whose delivery crashes is delivered again and still counts. */
START_TEST(test_heartbeat_crash)
{
        df_test_t *t;
        char id[CBID_MAX];

        G.opts.heartbeat_timeout_ms = 10000;
        t = start_cb(id);
        df_test_advance(t, 8000);
        df_test_crash_next(t, 1);
        ASSERT_RC(df_test_callback(t, id, DF_CALLBACK_HEARTBEAT, NULL, 0, NULL), DF_OK);
        ck_assert_int_eq(df_test_crashes(t), 1);
        df_test_advance(t, 9999); /* 17.999 s: alive thanks to the heartbeat at 8 s */
        ASSERT_OP(t, EXEC, 1, "approval", "CALLBACK", "PENDING");
        df_test_advance(t, 1);
        ASSERT_OP(t, EXEC, 1, "approval", "CALLBACK", "TIMED_OUT");
        df_test_destroy(t);
}
END_TEST

/* A completion whose delivery crashes is delivered again and lands once. */
START_TEST(test_completion_crash)
{
        df_test_t *t;
        char id[CBID_MAX];

        G.grace_ms = 1000;
        t = start_cb(id);
        df_test_crash_next(t, 1);
        ASSERT_RC(df_test_callback(t, id, DF_CALLBACK_SUCCESS, "once", 4, NULL), DF_OK);
        ck_assert_int_eq(df_test_crashes(t), 1);
        ASSERT_OP(t, EXEC, 1, "approval", "CALLBACK", "SUCCEEDED");
        ASSERT_OP_RESULT(t, EXEC, 1, "once", 4);
        ASSERT_RC(df_test_callback(t, id, DF_CALLBACK_SUCCESS, "twice", 5, NULL), DF_ERR_FINISHED);
        df_test_advance(t, 1000);
        ASSERT_STATUS(t, EXEC, "SUCCEEDED");
        ASSERT_OUTPUT(t, EXEC, "once", 4);
        ck_assert_int_eq(G.submit_runs, 1);
        df_test_destroy(t);
}
END_TEST

static df_err_t wf_amo_submit(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        df_step_opts_t so = {0};
        df_bytes_t r;
        df_err_t rc;

        (void)input;
        (void)opaque;
        so.semantics = DF_AT_MOST_ONCE_PER_RETRY;
        so.max_attempts = 1;
        rc = df_wait_for_callback(ctx, "approval", submitter, NULL, &G.opts, &so, &r);
        if (rc == DF_SUSPENDED)
                return rc;
        G.cb_rc = rc;
        et_copy(G.last_error, sizeof(G.last_error), df_ctx_last_error(ctx));
        if (rc != DF_OK)
                return rc;
        return df_ctx_set_output(ctx, r.data, r.len);
}

/* An at-most-once submitter: runs once; if its delivery crashes after START
 * committed, it is not run again and wait_for_callback fails. */
START_TEST(test_at_most_once_submitter)
{
        df_test_t *t = runner(wf_amo_submit);
        char id[CBID_MAX];

        if (_i)
                df_test_crash_next(t, 2); /* 1 commits START, 2 runs the submitter */
        ASSERT_RC(df_test_start(t, "wf", EXEC, NULL, 0), DF_OK);
        ck_assert_int_eq(G.submit_runs, 1);
        if (!_i) {
                ASSERT_STATUS(t, EXEC, "SUSPENDED");
                et_cb_id(t, EXEC, "approval", id);
                ck_assert_str_eq(id, G.cb[0]);
                ASSERT_RC(df_test_callback(t, id, DF_CALLBACK_SUCCESS, "ok", 2, NULL), DF_OK);
                ASSERT_STATUS(t, EXEC, "SUCCEEDED");
                ASSERT_OUTPUT(t, EXEC, "ok", 2);
        } else {
                ASSERT_RC(G.cb_rc, DF_ERR_STEP_FAILED);
                ck_assert_ptr_nonnull(strstr(G.last_error, "StepInterrupted"));
                ASSERT_STATUS(t, EXEC, "FAILED");
                ASSERT_OP(t, EXEC, 2, "approval.submit", "STEP", "FAILED");
        }
        ck_assert_int_eq(G.submit_runs, 1);
        df_test_destroy(t);
}
END_TEST

Suite *suite_callbacks(void)
{
        Suite *s = suite_create("callbacks");
        TCase *tc = tcase_create("callback");

        tcase_add_checked_fixture(tc, setup, NULL);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_completion_before_wait);
        tcase_add_test(tc, test_timeout_then_completion_rejected);
        tcase_add_loop_test(tc, test_stale_timeout_after_success, 0, 2);
        tcase_add_test(tc, test_heartbeat_keeps_alive_then_times_out);
        tcase_add_test(tc, test_heartbeat_missing);
        tcase_add_test(tc, test_heartbeat_overall_timeout_wins);
        tcase_add_test(tc, test_heartbeat_then_success);
        tcase_add_loop_test(tc, test_completion_withdraws_timers, 0, 2);
        tcase_add_loop_test(tc, test_failure_completion, 0, 2);
        tcase_add_test(tc, test_forged_ids_rejected);
        tcase_add_test(tc, test_unknown_execution);
        tcase_add_test(tc, test_second_completion);
        tcase_add_test(tc, test_callback_payload_limit);
        tcase_add_loop_test(tc, test_three_timeouts_then_event, 0, 2);
        tcase_add_loop_test(tc, test_callback_option_range, 0, 5);
        tcase_add_test(tc, test_bad_outcome);
        tcase_add_test(tc, test_heartbeat_crash);
        tcase_add_test(tc, test_completion_crash);
        tcase_add_loop_test(tc, test_at_most_once_submitter, 0, 2);
        suite_add_tcase(s, tc);
        return s;
}
