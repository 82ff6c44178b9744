/*
 * cli_client -- the control client's opening (df_client_open) in embedded
 * mode, and a helper of test_cli.py.
 *
 *   cli_client embedded                        the checks below, no broker
 *   cli_client delete-topics BROKERS PREFIX    delete PREFIX.* (test clean-up)
 *   cli_client create-topics BROKERS PREFIX N [STATE_N]
 *                                              create PREFIX.events, .state,
 *                                              .timers, .results, .dlq with N
 *                                              partitions (.state: STATE_N), as
 *                                              an operator would, not duraflow
 *   cli_client worker BROKERS PREFIX STATE_DIR [VERSIONS]
 *                                              a worker (default "partitions")
 *                                              running the workflows below
 *                                              until SIGTERM; VERSIONS: the
 *                                              versions of "ver" it has, e.g.
 *                                              "1" (default "1,2")
 *   cli_client reply BROKERS PREFIX CODE MESSAGE
 *                                              a stand-in worker: answers every
 *                                              request on PREFIX.events with a
 *                                              reply of code CODE (a df_err_t
 *                                              name) and MESSAGE, until SIGTERM
 *
 * Workflows of the worker:
 *   echo     step "echo" returns the input; output = the input
 *   cb       wait_for_callback "approval" (no timeout); output = its payload
 *   hostile  step "paint" returns text with ESC, CR, BEL, U+202E and C1
 *            controls; step "boom" fails (one attempt) with such an error, and
 *            so does the execution
 *   big      input "N SIZE": N steps each returning SIZE bytes
 *   bigmap   input "N SIZE": a map "big" of N items, each a step returning
 *            SIZE bytes
 *   nested   every operation of the programming model: child context "prep"
 *            (steps "a", "b"), map "items" of 3 items (a step "item" each),
 *            parallel "both" (branches "left", "right", a step each),
 *            wait_for_condition "poll" (met at its 2nd check, 20 ms apart),
 *            invoke "kid" (execution "<id>-kid" of workflow echo, input
 *            "hello kid"); output "nested done"
 *   ver      version N (each registered one): wait_for_callback "go" (no
 *            timeout), then step "done-vN"; output "ver N"
 *
 * Exit 0 when every check passed.
 */
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "codec.h" /* the framework's own records, for the stand-in worker */
#include "duraflow/duraflow.h"
#include "fault_common.h"

static int failed;

#define CHECK(cond, ...)                                                                                            \
        do {                                                                                                        \
                if (cond) {                                                                                         \
                        printf("ok     ");                                                                          \
                } else {                                                                                            \
                        printf("NOT OK ");                                                                          \
                        failed++;                                                                                   \
                }                                                                                                   \
                printf(__VA_ARGS__);                                                                                \
                printf("\n");                                                                                       \
        } while (0)

static df_conf_t *conf_with(const char *prefix, const char *extra)
{
        char e[256];
        df_conf_t *c = df_conf_new();
        if (!c || df_conf_set(c, "brokers", "", e, sizeof(e)) || df_conf_set(c, "topic.prefix", prefix, e, sizeof(e)) ||
            df_conf_set(c, "log.level", "warn", e, sizeof(e)) || (extra && df_conf_set_pair(c, extra, e, sizeof(e)))) {
                fprintf(stderr, "conf: %s\n", e);
                exit(2);
        }
        return c;
}

/* df_text_escape and the status names: no Kafka. */
static void text_checks(void)
{
        static const struct {
                const char *in;
                size_t len;
                const char *out;
        } cases[] = {
                {"plain text", 10, "plain text"},
                {"caf\xc3\xa9 \xe2\x82\xac", 9, "caf\xc3\xa9 \xe2\x82\xac"},  /* UTF-8 passes */
                {"a\x1b[31mb", 7, "a\\x1B[31mb"},                        /* ESC */
                {"l1\r\nl2\t", 7, "l1\\x0D\\x0Al2\\x09"},                 /* CR LF TAB */
                {"x\x7f\x00y", 4, "x\\x7F\\x00y"},                          /* DEL, NUL */
                {"\xc2\x9b" "1m", 4, "\\u009B1m"},                           /* C1 CSI */
                {"\xe2\x80\xae" "cba", 6, "\\u202Ecba"},                      /* RLO */
                {"\xe2\x81\xa6" "i\xe2\x81\xa9", 7, "\\u2066i\\u2069"},        /* isolates */
                {"\xe2\x80\x8e\xe2\x80\x8f\xd8\x9c", 8, "\\u200E\\u200F\\u061C"}, /* LRM RLM ALM */
                {"\xe2\x80\xa8", 3, "\\u2028"},                              /* line separator */
                {"bad\xc3\x28", 5, "bad\\xC3("},                             /* invalid UTF-8 */
                {"\xed\xa0\x80", 3, "\\xED\\xA0\\x80"},                       /* a surrogate */
                {"\xf0\x9f\x98\x80", 4, "\xf0\x9f\x98\x80"},                  /* U+1F600 passes */
                {"back\\slash", 10, "back\\slash"},                         /* kept */
        };
        char out[64];
        size_t i, n;
        df_exec_status_t st;

        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                n = df_text_escape(out, sizeof(out), cases[i].in, cases[i].len);
                CHECK(!strcmp(out, cases[i].out) && n == strlen(cases[i].out), "df_text_escape case %zu: \"%s\"", i,
                      out);
        }
        /* cut at a whole escape, never in the middle of one */
        n = df_text_escape(out, 6, "ab\x1b\x1b", 4);
        CHECK(n == 10 && !strcmp(out, "ab"), "df_text_escape cuts at a whole escape: \"%s\" (%zu)", out, n);
        n = df_text_escape(out, 3, "a\xc3\xa9", 3);
        CHECK(n == 3 && !strcmp(out, "a"), "df_text_escape cuts at a whole character: \"%s\" (%zu)", out, n);
        n = df_text_escape(NULL, 0, "\x01", 1);
        CHECK(n == 4, "df_text_escape measures with a NULL dst: %zu", n);

        CHECK(!strcmp(df_exec_status_name(DF_EXEC_NONDETERMINISM), "NONDETERMINISM") &&
                      !strcmp(df_exec_status_name(DF_EXEC_PENDING), "PENDING") &&
                      !strcmp(df_exec_status_name((df_exec_status_t)99), "UNKNOWN"),
              "df_exec_status_name");
        CHECK(df_exec_status_parse("timed_out", &st) == DF_OK && st == DF_EXEC_TIMED_OUT &&
                      df_exec_status_parse("DONE", &st) == DF_ERR_INVALID_ARG,
              "df_exec_status_parse");
        CHECK(!strcmp(df_op_type_name(DF_OP_TYPE_CALLBACK), "CALLBACK") &&
                      !strcmp(df_op_type_name(DF_OP_TYPE_CHILD), "CHILD") &&
                      !strcmp(df_op_type_name(DF_OP_TYPE_INVOKE), "INVOKE") &&
                      !strcmp(df_op_type_name(DF_OP_TYPE_PARALLEL), "PARALLEL") &&
                      !strcmp(df_op_type_name(DF_OP_TYPE_MAP), "MAP") &&
                      !strcmp(df_op_type_name(DF_OP_TYPE_CONDITION), "CONDITION") &&
                      !strcmp(df_op_type_name((df_op_type_t)8), "UNKNOWN") &&
                      !strcmp(df_op_type_name((df_op_type_t)-1), "UNKNOWN") &&
                      !strcmp(df_op_status_name(DF_OP_STATUS_TIMED_OUT), "TIMED_OUT"),
              "df_op_type_name, df_op_status_name");
        CHECK(!strcmp(df_exec_status_name(DF_EXEC_VERSION_MISSING), "VERSION_MISSING") &&
                      df_exec_status_parse("version_missing", &st) == DF_OK && st == DF_EXEC_VERSION_MISSING &&
                      !strcmp(df_exec_status_name(DF_EXEC_PAUSED), "PAUSED") &&
                      df_exec_status_parse("paused", &st) == DF_OK && st == DF_EXEC_PAUSED &&
                      !strcmp(df_exec_status_name((df_exec_status_t)11), "UNKNOWN"),
              "VERSION_MISSING (9) and PAUSED (10) are statuses, 11 is not");
        CHECK(df_execution_id_check("order-10248:v2@x.y_z", out, sizeof(out)) == DF_OK &&
                      df_execution_id_check("", out, sizeof(out)) == DF_ERR_INVALID_ARG &&
                      df_workflow_name_check("commandes \xc3\xa0 livrer", out, sizeof(out)) == DF_OK &&
                      df_workflow_name_check("w\xe2\x80\xae", out, sizeof(out)) == DF_ERR_INVALID_ARG,
              "df_execution_id_check, df_workflow_name_check");
}

static int embedded(void)
{
        char e[512];
        df_client_t *c = (df_client_t *)&e; /* must come back NULL */
        df_conf_t *conf = conf_with("cliemb", NULL), *bad = conf_with("cliemb", "kafka.no.such.prop=1");
        df_err_t rc;

        rc = df_client_open(NULL, 0, &c, e, sizeof(e));
        CHECK(rc == DF_ERR_INVALID_ARG && !c, "NULL conf: %s (%s)", df_err_name(rc), e);
        rc = df_client_open(conf, 0x80, &c, e, sizeof(e));
        CHECK(rc == DF_ERR_INVALID_ARG && !c && strstr(e, "0x80"), "unknown flag: %s (%s)", df_err_name(rc), e);

        rc = df_client_open(conf, DF_CLIENT_NO_CREATE_TOPICS, &c, e, sizeof(e));
        CHECK(rc == DF_ERR_NOT_FOUND && !c &&
                      !strcmp(e, "no duraflow topics with prefix \"cliemb\" on the embedded cluster"),
              "no topics, DF_CLIENT_NO_CREATE_TOPICS: %s (%s)", df_err_name(rc), e);
        rc = df_client_open(conf, DF_CLIENT_NO_CREATE_TOPICS, &c, e, sizeof(e));
        CHECK(rc == DF_ERR_NOT_FOUND, "... and it created none: %s", df_err_name(rc));

        rc = df_client_open(bad, DF_CLIENT_NO_CREATE_TOPICS, &c, e, sizeof(e));
        CHECK(rc == DF_ERR_CONF && !c && strstr(e, "no.such.prop"), "mistyped kafka.* property: %s (%s)",
              df_err_name(rc), e);
        rc = df_client_open(bad, 0, &c, e, sizeof(e));
        CHECK(rc == DF_ERR_CONF && !c && strstr(e, "no.such.prop"), "... without the flag: %s (%s)", df_err_name(rc),
              e);

        rc = df_client_open(conf, 0, &c, e, sizeof(e));
        CHECK(rc == DF_OK && c, "flags 0 creates the topics: %s (%s)", df_err_name(rc), rc ? e : "");
        df_client_destroy(c);
        rc = df_client_open(conf, DF_CLIENT_NO_CREATE_TOPICS, &c, e, sizeof(e));
        CHECK(rc == DF_OK && c, "then DF_CLIENT_NO_CREATE_TOPICS opens: %s (%s)", df_err_name(rc), rc ? e : "");
        if (c) {
                df_exec_list_t *list = NULL;
                df_exec_info_t *x = (df_exec_info_t *)&e; /* must come back NULL */
                df_history_t *h = (df_history_t *)&e;
                rc = df_client_list(c, NULL, DF_EXEC_ANY, &list, e, sizeof(e));
                CHECK(rc == DF_OK && list && list->count == 0, "and lists nothing: %s %zu", df_err_name(rc),
                      list ? list->count : (size_t)99);
                df_exec_list_destroy(list);
                rc = df_client_list(c, NULL, (df_exec_status_t)42, &list, e, sizeof(e));
                CHECK(rc == DF_ERR_INVALID_ARG && !list, "list by an unknown status: %s (%s)", df_err_name(rc), e);
                rc = df_client_describe(c, "nosuch", &x, e, sizeof(e));
                CHECK(rc == DF_ERR_NOT_FOUND && !x && !strcmp(e, "no execution named \"nosuch\""),
                      "describe of a missing execution: %s (%s)", df_err_name(rc), e);
                rc = df_client_history(c, "a/b", &h, e, sizeof(e));
                CHECK(rc == DF_ERR_INVALID_ARG && !h &&
                              !strcmp(e, "history: execution id \"a/b\" is invalid: it must be 1..200 characters of "
                                         "A-Z a-z 0-9 . _ : @ -"),
                      "history a/b says the allowed form: %s (%s)", df_err_name(rc), e);
                rc = df_client_describe(c, "x\x1b[2J\r", &x, e, sizeof(e));
                CHECK(rc == DF_ERR_INVALID_ARG && !strchr(e, '\x1b') && !strchr(e, '\r') &&
                              strstr(e, "\"x\\x1B[2J\\x0D\""),
                      "an id with ESC and CR is quoted escaped: %s", e);
                rc = df_client_start(c, "wf\xc3\x28", "e1", NULL, 0, NULL, e, sizeof(e));
                CHECK(rc == DF_ERR_INVALID_ARG && strstr(e, "workflow name \"wf\\xC3(\" is not valid UTF-8"),
                      "a workflow name of invalid UTF-8: %s (%s)", df_err_name(rc), e);
                rc = df_client_start(c, "wf\nx", "e1", NULL, 0, NULL, e, sizeof(e));
                CHECK(rc == DF_ERR_INVALID_ARG && strstr(e, "contains a control character (U+000A)"),
                      "a workflow name with a newline: %s (%s)", df_err_name(rc), e);
                rc = df_client_start(c, "", "e1", NULL, 0, NULL, e, sizeof(e));
                CHECK(rc == DF_ERR_INVALID_ARG && strstr(e, "workflow name is empty"),
                      "an empty workflow name: %s (%s)", df_err_name(rc), e);
                rc = df_client_start_async(c, "wf", "bad id", "x", 1, e, sizeof(e));
                CHECK(rc == DF_ERR_INVALID_ARG && strstr(e, "execution id \"bad id\" is invalid: it must be"),
                      "start_async checks the id: %s (%s)", df_err_name(rc), e);
                rc = df_client_stop(c, "e1", "why\xff", e, sizeof(e));
                CHECK(rc == DF_ERR_INVALID_ARG && strstr(e, "stop: the reason \"why\\xFF\" is not valid UTF-8"),
                      "a stop reason of invalid UTF-8: %s (%s)", df_err_name(rc), e);
                rc = df_client_callback(c, "0123456789abcdef0123456789abcdef_1_e1", DF_CALLBACK_FAILURE, NULL, 0,
                                        "no\xc3\x28", 1, e, sizeof(e));
                CHECK(rc == DF_ERR_INVALID_ARG && strstr(e, "the failure message \"no\\xC3(\" is not valid UTF-8"),
                      "a callback failure text of invalid UTF-8: %s (%s)", df_err_name(rc), e);
                {
                        char *big = malloc(DF_MESSAGE_MAX + 2);
                        memset(big, 'a', DF_MESSAGE_MAX + 1);
                        big[DF_MESSAGE_MAX + 1] = '\0';
                        rc = df_client_stop(c, "e1", big, e, sizeof(e));
                        CHECK(rc == DF_ERR_INVALID_ARG &&
                                      strstr(e, "the reason is 32769 bytes, over the limit of 32768"),
                              "a stop reason over DF_MESSAGE_MAX: %s (%s)", df_err_name(rc), e);
                        free(big);
                }
                df_client_destroy(c);
        }
        c = df_client_new(conf, e, sizeof(e));
        CHECK(c != NULL, "df_client_new still works");
        df_client_destroy(c);
        rc = df_conf_check(bad, e, sizeof(e));
        CHECK(rc == DF_ERR_CONF && strstr(e, "no.such.prop"), "df_conf_check names the refused property: %s (%s)",
              df_err_name(rc), e);
        rc = df_conf_check(conf, e, sizeof(e));
        CHECK(rc == DF_OK, "df_conf_check accepts the defaults: %s", df_err_name(rc));

        text_checks();
        df_conf_destroy(conf);
        df_conf_destroy(bad);
        printf("cli_client embedded: %d failed\n", failed);
        return failed ? 1 : 0;
}

/* Delete every topic PREFIX.* (what the broker test created), with the
 * fault tests' helper. */
static int delete_topics(const char *brokers, const char *prefix)
{
        int n = fc_delete_topics(brokers, prefix);
        if (n < 0) {
                fprintf(stderr, "delete-topics: no metadata from %s\n", brokers);
                return 1;
        }
        printf("deleted %d topic(s) of prefix %s\n", n, prefix);
        return 0;
}

/* The five topics with partition counts chosen by the operator. */
static int create_topics(const char *brokers, const char *prefix, int n, int state_n)
{
        static const char *const suffix[] = {"events", "state", "timers", "results", "dlq"};
        char topic[300], e[512];
        int i;
        for (i = 0; i < 5; i++) {
                snprintf(topic, sizeof(topic), "%s.%s", prefix, suffix[i]);
                if (fc_create_topic(brokers, topic, i == 1 ? state_n : n, e, sizeof(e))) {
                        fprintf(stderr, "create-topics: %s\n", e);
                        return 1;
                }
        }
        printf("created %s.* with %d partitions (state %d)\n", prefix, n, state_n);
        return 0;
}

/* ---------------- the worker's workflows ---------------- */

/* What hostile text looks like: CSI colour, CR (overwrites the line), BEL,
 * U+202E (right-to-left override), a C1 control (U+009B, CSI), DEL. */
#define HOSTILE_RESULT "\x1b[31mred\rover\a\xe2\x80\xae" "evil\xc2\x9bx\x7f"
#define HOSTILE_ERROR "bad\x1b]0;title\x07\r\n\xe2\x81\xa6isolate\xd8\x9c"

static df_err_t echo_body(df_step_t *s, void *opaque)
{
        const df_bytes_t *in = opaque;
        return df_step_set_result(s, in->data, in->len);
}

static df_err_t wf_echo(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        df_bytes_t r;
        df_err_t rc;
        (void)opaque;
        if ((rc = df_step(ctx, "echo", echo_body, (void *)input, NULL, &r)) != DF_OK)
                return rc;
        return df_ctx_set_output(ctx, r.data, r.len);
}

static df_err_t submit_nothing(df_step_t *s, const char *callback_id, void *opaque)
{
        (void)callback_id;
        (void)opaque;
        return df_step_set_result(s, "", 0);
}

static df_err_t wf_cb(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        df_callback_opts_t o = {0, 0};
        df_bytes_t r;
        df_err_t rc;
        (void)input;
        (void)opaque;
        if ((rc = df_wait_for_callback(ctx, "approval", submit_nothing, NULL, &o, NULL, &r)) != DF_OK)
                return rc;
        return df_ctx_set_output(ctx, r.data, r.len);
}

static df_err_t paint(df_step_t *s, void *opaque)
{
        (void)opaque;
        return df_step_set_result(s, HOSTILE_RESULT, strlen(HOSTILE_RESULT));
}

static df_err_t boom(df_step_t *s, void *opaque)
{
        (void)opaque;
        df_step_set_error(s, "Hostile", HOSTILE_ERROR);
        return DF_ERR_STEP_FAILED;
}

static df_err_t wf_hostile(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        df_step_opts_t once = {.max_attempts = 1};
        df_err_t rc;
        (void)input;
        (void)opaque;
        if ((rc = df_step(ctx, "paint", paint, NULL, NULL, NULL)) != DF_OK)
                return rc;
        if ((rc = df_step(ctx, "boom", boom, NULL, &once, NULL)) != DF_OK) {
                if (rc != DF_SUSPENDED)
                        df_ctx_fail(ctx, HOSTILE_ERROR);
                return rc;
        }
        return DF_OK;
}

static size_t big_size;

static df_err_t big_body(df_step_t *s, void *opaque)
{
        char *buf = malloc(big_size ? big_size : 1);
        df_err_t rc;
        (void)opaque;
        if (!buf)
                return DF_ERR_NOMEM;
        memset(buf, 'a' + df_step_attempt(s) % 26, big_size);
        rc = df_step_set_result(s, buf, big_size);
        free(buf);
        return rc;
}

static df_err_t wf_big(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        char in[64], name[32];
        long n = 0, size = 0, i;
        df_err_t rc;
        (void)opaque;
        snprintf(in, sizeof(in), "%.*s", (int)(input->len < 63 ? input->len : 63), (const char *)input->data);
        if (sscanf(in, "%ld %ld", &n, &size) != 2 || n < 1 || size < 0 || size > DF_PAYLOAD_MAX) {
                df_ctx_fail(ctx, "input must be \"N SIZE\"");
                return DF_ERR_INVALID_ARG;
        }
        big_size = (size_t)size;
        for (i = 1; i <= n; i++) {
                snprintf(name, sizeof(name), "s%ld", i);
                if ((rc = df_step(ctx, name, big_body, NULL, NULL, NULL)) != DF_OK)
                        return rc;
        }
        return DF_OK;
}

static df_err_t bigmap_item(df_ctx_t *ctx, const void *item, int index, void *opaque)
{
        df_bytes_t r;
        df_err_t rc;
        (void)item;
        (void)index;
        (void)opaque;
        if ((rc = df_step(ctx, "part", big_body, NULL, NULL, &r)) != DF_OK)
                return rc;
        return df_ctx_set_output(ctx, "", 0); /* the batch records no copy of the bytes */
}

static df_err_t wf_bigmap(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        char in[64];
        long n = 0, size = 0;
        df_batch_t batch;
        (void)opaque;
        snprintf(in, sizeof(in), "%.*s", (int)(input->len < 63 ? input->len : 63), (const char *)input->data);
        if (sscanf(in, "%ld %ld", &n, &size) != 2 || n < 1 || n > 100000 || size < 0 || size > DF_PAYLOAD_MAX) {
                df_ctx_fail(ctx, "input must be \"N SIZE\"");
                return DF_ERR_INVALID_ARG;
        }
        big_size = (size_t)size;
        return df_map(ctx, "big", NULL, (int)n, bigmap_item, NULL, NULL, &batch);
}

/* ---- nested: every operation of the programming model ---- */

static df_err_t text_body(df_step_t *s, void *opaque)
{
        const char *t = opaque;
        return df_step_set_result(s, t, strlen(t));
}

static df_err_t prep(df_ctx_t *ctx, void *opaque)
{
        df_err_t rc;
        (void)opaque;
        if ((rc = df_step(ctx, "a", text_body, "A", NULL, NULL)) != DF_OK ||
            (rc = df_step(ctx, "b", text_body, "B", NULL, NULL)) != DF_OK)
                return rc;
        return df_ctx_set_output(ctx, "AB", 2);
}

static df_err_t nested_item(df_ctx_t *ctx, const void *item, int index, void *opaque)
{
        df_bytes_t r;
        df_err_t rc;
        (void)index;
        (void)opaque;
        if ((rc = df_step(ctx, "item", text_body, (void *)item, NULL, &r)) != DF_OK)
                return rc;
        return df_ctx_set_output(ctx, r.data, r.len);
}

static df_err_t branch_step(df_ctx_t *ctx, void *opaque)
{
        return df_step(ctx, opaque, text_body, opaque, NULL, NULL);
}

static df_err_t check_twice(df_step_t *s, const df_bytes_t *state, int *done, void *opaque)
{
        char buf[16];
        (void)opaque;
        *done = state->len + 1 >= 2;
        snprintf(buf, sizeof(buf), "%.*sx", (int)(state->len < 8 ? state->len : 8), (const char *)state->data);
        return df_step_set_result(s, buf, strlen(buf));
}

static df_err_t wf_nested(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        static const char *const items[] = {"one", "two", "three"};
        const df_branch_t br[2] = {{"left", branch_step, "l"}, {"right", branch_step, "r"}};
        const df_condition_strategy_t poll = {.max_attempts = 5, .initial_delay_ms = 20, .max_delay_ms = 20,
                                              .backoff_rate = 1.0};
        const df_bytes_t kid_in = {(const uint8_t *)"hello kid", 9};
        char kid[DF_EXECUTION_ID_MAX + 8];
        df_batch_t batch;
        df_bytes_t r;
        df_err_t rc;
        (void)input;
        (void)opaque;
        snprintf(kid, sizeof(kid), "%.190s-kid", df_ctx_execution_id(ctx));
        if ((rc = df_run_in_child_context(ctx, "prep", prep, NULL, &r)) != DF_OK ||
            (rc = df_map(ctx, "items", (const void *const *)items, 3, nested_item, NULL, NULL, &batch)) != DF_OK ||
            (rc = df_parallel(ctx, "both", br, 2, NULL, &batch)) != DF_OK ||
            (rc = df_wait_for_condition(ctx, "poll", check_twice, NULL, NULL, &poll, &r)) != DF_OK ||
            (rc = df_invoke(ctx, "kid", "echo", kid, &kid_in, &r)) != DF_OK)
                return rc;
        return df_ctx_set_output(ctx, "nested done", 11);
}

/* ---- ver: one handler per version, told apart by opaque ---- */

static df_err_t wf_ver(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        int v = (int)(intptr_t)opaque;
        df_callback_opts_t o = {0, 0};
        char name[32], out[32];
        df_bytes_t r;
        df_err_t rc;
        (void)input;
        if ((rc = df_wait_for_callback(ctx, "go", submit_nothing, NULL, &o, NULL, &r)) != DF_OK)
                return rc;
        snprintf(name, sizeof(name), "done-v%d", v);
        if ((rc = df_step(ctx, name, text_body, name, NULL, NULL)) != DF_OK)
                return rc;
        snprintf(out, sizeof(out), "ver %d", v);
        return df_ctx_set_output(ctx, out, strlen(out));
}

/* ---- steer: receive -> reserve -> dispatch (fails while <state dir>/broken
 * exists) -> wait 5 s -> notify; every body run appends "<step> <key>" to
 * <state dir>/calls.log, as a simulator counts calls by idempotency key ---- */

static const char *G_state_dir = ".";

static df_err_t steer_body(df_step_t *s, void *opaque)
{
        const char *name = opaque;
        char path[4096];
        FILE *f;
        snprintf(path, sizeof(path), "%s/calls.log", G_state_dir);
        if ((f = fopen(path, "a"))) {
                fprintf(f, "%s %s\n", name, df_step_idempotency_key(s));
                fclose(f);
        }
        snprintf(path, sizeof(path), "%s/broken", G_state_dir);
        if (!strcmp(name, "dispatch") && access(path, F_OK) == 0) {
                df_step_set_error(s, "WarehouseDown", "warehouse simulator failure injected");
                return DF_ERR_STEP_FAILED;
        }
        return df_step_set_result(s, name, strlen(name));
}

static df_err_t wf_steer(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        df_step_opts_t twice = {.max_attempts = 2, .initial_delay_ms = 200, .backoff_rate = 1.0};
        df_err_t rc;
        (void)input;
        (void)opaque;
        if ((rc = df_step(ctx, "receive", steer_body, "receive", NULL, NULL)) != DF_OK ||
            (rc = df_step(ctx, "reserve", steer_body, "reserve", NULL, NULL)) != DF_OK ||
            (rc = df_step(ctx, "dispatch", steer_body, "dispatch", &twice, NULL)) != DF_OK ||
            (rc = df_wait(ctx, "cool-off", 5000)) != DF_OK ||
            (rc = df_step(ctx, "notify", steer_body, "notify", NULL, NULL)) != DF_OK)
                return rc;
        return df_ctx_set_output(ctx, "shipped", 7);
}

/* nondet: its first step's name is "renamed" while <state dir>/v2 exists
 * (a deploy that changed the code under a suspended execution), else
 * "first"; then a 2 s wait and a step "after" */
static df_err_t wf_nondet(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        char path[4096];
        const char *name;
        df_err_t rc;
        (void)input;
        (void)opaque;
        snprintf(path, sizeof(path), "%s/v2", G_state_dir);
        name = access(path, F_OK) == 0 ? "renamed" : "first";
        if ((rc = df_step(ctx, name, steer_body, "first", NULL, NULL)) != DF_OK ||
            (rc = df_wait(ctx, "pause", 2000)) != DF_OK ||
            (rc = df_step(ctx, "after", steer_body, "after", NULL, NULL)) != DF_OK)
                return rc;
        return df_ctx_set_output(ctx, "fixed", 5);
}

/* Register the workflows above on w ("ver" in the versions listed, e.g. "1,2"). */
static int register_all(df_worker_t *w, const char *versions)
{
        const char *p = versions;
        if (df_worker_register(w, "echo", wf_echo, NULL) || df_worker_register(w, "cb", wf_cb, NULL) ||
            df_worker_register(w, "hostile", wf_hostile, NULL) || df_worker_register(w, "big", wf_big, NULL) ||
            df_worker_register(w, "bigmap", wf_bigmap, NULL) || df_worker_register(w, "nested", wf_nested, NULL) ||
            df_worker_register(w, "steer", wf_steer, NULL) || df_worker_register(w, "nondet", wf_nondet, NULL))
                return -1;
        while (*p) {
                char *end;
                long v = strtol(p, &end, 10);
                if (end == p || v < 1 || df_worker_register_version(w, "ver", (int)v, wf_ver, (void *)(intptr_t)v))
                        return -1;
                p = *end == ',' ? end + 1 : end;
        }
        return 0;
}

/* ---- embedded: the typed reads of the programming model's records ---- */

static void *run_worker(void *w)
{
        df_worker_run(w);
        return NULL;
}

static int rm_entry(const char *p, const struct stat *sb, int f, struct FTW *ftw)
{
        (void)sb;
        (void)f;
        (void)ftw;
        return remove(p);
}

/* describe id until its status is st (30 s at most); the last info (to destroy) or NULL */
static df_exec_info_t *await_status(df_client_t *c, const char *id, df_exec_status_t st)
{
        char e[512];
        int i;
        for (i = 0; i < 300; i++) {
                df_exec_info_t *x = NULL;
                if (df_client_describe(c, id, &x, e, sizeof(e)) == DF_OK && (x->status == st || i == 299))
                        return x;
                df_exec_info_destroy(x);
                usleep(100000);
        }
        return NULL;
}

/* A worker thread of this process (embedded mode) runs "nested" and "ver":
 * df_history_next hands out the nested operations depth first, with the
 * fields that link them; describe gives the version and the parent. */
static void embedded_model(void)
{
        static const struct {
                const char *id, *parent, *name;
                df_op_type_t type;
                int children;
        } want[] = {
                {"1", "", "prep", DF_OP_TYPE_CHILD, 2},         {"1.1", "1", "a", DF_OP_TYPE_STEP, 0},
                {"1.2", "1", "b", DF_OP_TYPE_STEP, 0},          {"2", "", "items", DF_OP_TYPE_MAP, 3},
                {"2.1", "2", "items-0", DF_OP_TYPE_CHILD, 1},   {"2.1.1", "2.1", "item", DF_OP_TYPE_STEP, 0},
                {"2.2", "2", "items-1", DF_OP_TYPE_CHILD, 1},   {"2.2.1", "2.2", "item", DF_OP_TYPE_STEP, 0},
                {"2.3", "2", "items-2", DF_OP_TYPE_CHILD, 1},   {"2.3.1", "2.3", "item", DF_OP_TYPE_STEP, 0},
                {"3", "", "both", DF_OP_TYPE_PARALLEL, 2},      {"3.1", "3", "left", DF_OP_TYPE_CHILD, 1},
                {"3.1.1", "3.1", "l", DF_OP_TYPE_STEP, 0},      {"3.2", "3", "right", DF_OP_TYPE_CHILD, 1},
                {"3.2.1", "3.2", "r", DF_OP_TYPE_STEP, 0},      {"4", "", "poll", DF_OP_TYPE_CONDITION, 0},
                {"5", "", "kid", DF_OP_TYPE_INVOKE, 0},
        };
        char e[512] = "", dir[] = "/tmp/cli-client-model-XXXXXX", got[512] = "";
        df_conf_t *conf = conf_with("climodel", NULL);
        df_client_t *c = NULL;
        df_worker_t *w;
        df_exec_info_t *x;
        df_history_t *h = NULL;
        const df_op_info_t *op;
        pthread_t th;
        size_t n = 0, i;
        int ok = 1;

        CHECK(mkdtemp(dir) != NULL && df_conf_set(conf, "state.dir", dir, e, sizeof(e)) == DF_OK, "state dir %s", dir);
        w = df_worker_new(conf, e, sizeof(e));
        CHECK(w && !register_all(w, "1,2"), "a worker with nested and ver (versions 1, 2): %s", w ? "" : e);
        if (!w)
                return;
        pthread_create(&th, NULL, run_worker, w);
        CHECK(df_client_open(conf, 0, &c, e, sizeof(e)) == DF_OK, "client: %s", c ? "" : e);
        CHECK(c && df_client_start(c, "nested", "n1", NULL, 0, NULL, e, sizeof(e)) == DF_OK, "start nested n1: %s",
              e);
        CHECK(c && df_client_start(c, "ver", "v1", NULL, 0, NULL, e, sizeof(e)) == DF_OK, "start ver v1: %s", e);
        x = c ? await_status(c, "n1", DF_EXEC_SUCCEEDED) : NULL;
        CHECK(x && x->status == DF_EXEC_SUCCEEDED && x->op_count == 5 && x->version == 1 &&
                      !strcmp(x->parent_execution_id, "") && !strcmp(x->parent_op_id, ""),
              "n1 SUCCEEDED, 5 top-level operations, version 1, no parent: %s %d v%d",
              x ? df_exec_status_name(x->status) : "-", x ? x->op_count : -1, x ? x->version : -1);
        df_exec_info_destroy(x);
        if (c && df_client_history(c, "n1", &h, e, sizeof(e)) == DF_OK) {
                df_err_t rc;
                while ((rc = df_history_next(h, &op, e, sizeof(e))) == DF_OK && op) {
                        snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s", n ? " " : "", op->op_id);
                        if (n >= sizeof(want) / sizeof(want[0]) || strcmp(op->op_id, want[n].id) ||
                            strcmp(op->parent_id, want[n].parent) || strcmp(op->name, want[n].name) ||
                            op->type != want[n].type || op->child_count != want[n].children ||
                            op->status != DF_OP_STATUS_SUCCEEDED || strcmp(op->execution_id, "n1") ||
                            strcmp(op->child_execution_id, op->type == DF_OP_TYPE_INVOKE ? "n1-kid" : "")) {
                                printf("       operation %zu: %s parent \"%s\" %s %s children %d child \"%s\" %s\n", n,
                                       op->op_id, op->parent_id, op->name, df_op_type_name(op->type), op->child_count,
                                       op->child_execution_id, df_op_status_name(op->status));
                                ok = 0;
                        }
                        n++;
                }
                CHECK(rc == DF_OK, "history of n1 read to its end: %s", rc == DF_OK ? "" : e);
        }
        CHECK(ok && n == sizeof(want) / sizeof(want[0]),
              "history of n1: %zu operations depth first, each with its parent, type, child count and child: %s",
              n, got);
        df_history_destroy(h);
        x = c ? await_status(c, "n1-kid", DF_EXEC_SUCCEEDED) : NULL;
        CHECK(x && !strcmp(x->parent_execution_id, "n1") && !strcmp(x->parent_op_id, "5") && x->version == 1 &&
                      x->output.len == 9 && !memcmp(x->output.data, "hello kid", 9),
              "the invoked child n1-kid names its parent n1, operation 5: \"%s\" \"%s\"",
              x ? x->parent_execution_id : "-", x ? x->parent_op_id : "-");
        df_exec_info_destroy(x);
        x = c ? await_status(c, "v1", DF_EXEC_SUSPENDED) : NULL;
        CHECK(x && x->status == DF_EXEC_SUSPENDED && x->version == 2, "ver v1 runs the newest version, 2: v%d %s",
              x ? x->version : -1, x ? df_exec_status_name(x->status) : "-");
        df_exec_info_destroy(x);
        if (c) {
                df_exec_list_t *l = NULL;
                int vers = 0;
                CHECK(df_client_list(c, NULL, DF_EXEC_ANY, &l, e, sizeof(e)) == DF_OK && l->count == 3,
                      "list: n1, n1-kid, v1 (%zu)", l ? l->count : (size_t)0);
                for (i = 0; l && i < l->count; i++)
                        vers = vers * 10 + l->items[i].version;
                CHECK(vers == 112, "list items carry the version (n1 1, n1-kid 1, v1 2): %d", vers);
                df_exec_list_destroy(l);
        }
        df_client_destroy(c);
        df_worker_stop(w);
        pthread_join(th, NULL);
        df_worker_destroy(w);
        df_conf_destroy(conf);
        nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static df_worker_t *the_worker;
static volatile sig_atomic_t stop_reply;

static void on_term_reply(int sig)
{
        (void)sig;
        stop_reply = 1;
}

/* Answer every request from the end of PREFIX.events on, as a worker that
 * dead-letters everything would (code DF_ERR_REJECTED and its message). */
static int reply(const char *brokers, const char *prefix, const char *code_name, const char *message)
{
        static const char *const extra[] = {"group.id=cli-client-reply", "enable.partition.eof=false", NULL};
        char events[300], results[300], e[512];
        rd_kafka_t *cons, *prod = fc_producer(brokers);
        rd_kafka_conf_t *kc = fc_kconf(brokers, extra);
        rd_kafka_topic_partition_list_t *tp;
        int code = -1, i, n, answered = 0;

        for (i = 0; i < DF_ERR__COUNT; i++)
                if (!strcmp(df_err_name((df_err_t)i), code_name))
                        code = i;
        if (code < 0 || df__codec_init(e, sizeof(e))) {
                fprintf(stderr, "reply: unknown code %s or codec: %s\n", code_name, e);
                return 2;
        }
        snprintf(events, sizeof(events), "%s.events", prefix);
        snprintf(results, sizeof(results), "%s.results", prefix);
        cons = rd_kafka_new(RD_KAFKA_CONSUMER, kc, e, sizeof(e));
        if (!cons)
                fc_die("reply: %s", e);
        n = fc_partitions(cons, events, 10000);
        if (n < 1)
                fc_die("reply: no topic %s", events);
        tp = rd_kafka_topic_partition_list_new(n);
        for (i = 0; i < n; i++) {
                /* from the end as it is now: a request sent after "replying" is seen */
                int64_t lo, hi;
                if (rd_kafka_query_watermark_offsets(cons, events, i, &lo, &hi, 10000))
                        fc_die("reply: watermarks of %s[%d]", events, i);
                rd_kafka_topic_partition_list_add(tp, events, i)->offset = hi;
        }
        rd_kafka_assign(cons, tp);
        rd_kafka_topic_partition_list_destroy(tp);
        signal(SIGTERM, on_term_reply);
        signal(SIGINT, on_term_reply);
        printf("replying %s\n", code_name);
        fflush(stdout);
        while (!stop_reply) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(cons, 100);
                df__event_t ev;
                if (!m)
                        continue;
                memset(&ev, 0, sizeof(ev));
                if (!m->err && m->payload && !df__event_decode(m->payload, m->len, &ev, e, sizeof(e)) &&
                    ev.request_id && *ev.request_id) {
                        df__result_rec_t r;
                        df__buf_t v = {0};
                        memset(&r, 0, sizeof(r));
                        r.kind = DF__RK_REPLY;
                        r.execution_id = ev.execution_id;
                        r.request_id = ev.request_id;
                        r.code = code;
                        r.error = (char *)message;
                        r.ts_ms = fc_now_ms();
                        if (df__result_encode(&r, &v, e, sizeof(e)))
                                fc_die("reply: encode: %s", e);
                        if (rd_kafka_producev(prod, RD_KAFKA_V_TOPIC(results),
                                              RD_KAFKA_V_KEY(ev.execution_id, strlen(ev.execution_id)),
                                              RD_KAFKA_V_VALUE(v.data, v.len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                              RD_KAFKA_V_END))
                                fc_die("reply: produce failed");
                        rd_kafka_flush(prod, 10000);
                        free(v.data);
                        answered++;
                }
                df__event_clear(&ev);
                rd_kafka_message_destroy(m);
        }
        printf("answered %d request(s)\n", answered);
        rd_kafka_consumer_close(cons);
        rd_kafka_destroy(cons);
        rd_kafka_destroy(prod);
        return 0;
}

static void on_term(int sig)
{
        (void)sig;
        df_worker_stop(the_worker);
}

static int worker(const char *brokers, const char *prefix, const char *state_dir, const char *versions)
{
        char e[512];
        df_conf_t *c = df_conf_new();
        df_err_t rc;
        G_state_dir = state_dir;
        if (!c || df_conf_set(c, "brokers", brokers, e, sizeof(e)) ||
            df_conf_set(c, "topic.prefix", prefix, e, sizeof(e)) ||
            df_conf_set(c, "state.dir", state_dir, e, sizeof(e)) || df_conf_set(c, "log.level", "warn", e, sizeof(e)) ||
            (getenv("DF_CLI_RETENTION_MS") &&
             df_conf_set(c, "retention.ms", getenv("DF_CLI_RETENTION_MS"), e, sizeof(e))) ||
            (getenv("DF_CLI_METRICS_LISTEN") &&
             df_conf_set(c, "metrics.listen", getenv("DF_CLI_METRICS_LISTEN"), e, sizeof(e)))) {
                fprintf(stderr, "worker conf: %s\n", e);
                return 2;
        }
        the_worker = df_worker_new(c, e, sizeof(e));
        df_conf_destroy(c);
        if (!the_worker) {
                fprintf(stderr, "worker: %s\n", e);
                return 3;
        }
        if (register_all(the_worker, versions)) {
                fprintf(stderr, "worker: cannot register the workflows (versions \"%s\")\n", versions);
                return 2;
        }
        signal(SIGTERM, on_term);
        signal(SIGINT, on_term);
        printf("worker running\n");
        fflush(stdout);
        rc = df_worker_run(the_worker);
        df_worker_destroy(the_worker);
        if (rc != DF_OK) {
                fprintf(stderr, "worker: %s\n", df_err_name(rc));
                return 4;
        }
        return 0;
}

int main(int argc, char **argv)
{
        if (argc == 2 && !strcmp(argv[1], "embedded")) {
                int rc = embedded();
                embedded_model();
                printf("cli_client embedded (the programming model): %d failed\n", failed);
                return rc || failed ? 1 : 0;
        }
        if (argc == 4 && !strcmp(argv[1], "delete-topics"))
                return delete_topics(argv[2], argv[3]);
        if ((argc == 5 || argc == 6) && !strcmp(argv[1], "create-topics"))
                return create_topics(argv[2], argv[3], atoi(argv[4]), atoi(argv[argc == 6 ? 5 : 4]));
        if ((argc == 5 || argc == 6) && !strcmp(argv[1], "worker"))
                return worker(argv[2], argv[3], argv[4], argc == 6 ? argv[5] : "1,2");
        if (argc == 6 && !strcmp(argv[1], "reply"))
                return reply(argv[2], argv[3], argv[4], argv[5]);
        fprintf(stderr, "usage: cli_client embedded | delete-topics BROKERS PREFIX | create-topics BROKERS PREFIX N "
                        "[STATE_N] | worker BROKERS PREFIX STATE_DIR [VERSIONS] | reply BROKERS PREFIX CODE MESSAGE\n");
        return 2;
}
