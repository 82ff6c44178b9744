/*
 * fault_check -- the fault tests' checker.
 *
 *   fault_check wait --brokers B --prefix P --expect N [--timeout S]
 *       Reads <prefix>.results (read_committed, public df_results API) until
 *       N distinct executions have a terminal result; progress every 2 s.
 *       Exit 0 when they have, 1 on timeout.
 *
 *   fault_check verify --brokers B --prefix P [--five N] [--five-prefix five-]
 *                      [--five-ids FILE] [--cb M] [--cb-prefix cb-] [--log FILE]... [--expect-dlq K]
 *       Reads every record of <prefix>.state (the raw changelog, not the
 *       compacted view), <prefix>.results and <prefix>.dlq, and the step logs
 *       written by fault_worker, and checks:
 *         - every expected execution exists and SUCCEEDED, with the expected output;
 *         - its history has the expected operations (names, types, in order),
 *           each SUCCEEDED with the expected bytes;
 *         - each operation's SUCCEEDED record was committed exactly once, each
 *           execution's SUCCEEDED record once, its terminal result once
 *           (duplicates);
 *         - each step body ran at least once, and every run carried the
 *           idempotency key "<execution id>/<op id>";
 *         - (with --expect-dlq) the DLQ holds exactly K records.
 *       --five-ids FILE: the "five" executions expected are the ids in FILE,
 *       one a line (the runs of a schedule), instead of <five-prefix>0..N-1.
 *       Prints the problems (first 20 of each kind) and one line
 *       "FIGURES {json}"; exit 0 if everything holds, 1 otherwise.
 *
 *   fault_check delete-topics --brokers B --prefix P
 *
 *   fault_check dump --brokers B --topic T [--uncommitted]
 *       One line per record: partition, offset, timestamp, key, record type,
 *       and for events their type/execution (evidence for bug reports).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "duraflow/duraflow.h"
#include "duraflow/records.h"
#include "fault_common.h"

static const char *brokers, *prefix, *five_prefix = "five-", *cb_prefix = "cb-";
static long n_five, n_cb, expect = -1, expect_dlq = -1;
static int timeout_s = 300;
static const char *logs[64];
static int n_logs;
static char **five_ids; /* --five-ids */
static long n_five_ids;

static void load_ids(const char *path)
{
        FILE *f = fopen(path, "r");
        char line[512];
        if (!f)
                fc_die("--five-ids %s: cannot open", path);
        while (fgets(line, sizeof(line), f)) {
                line[strcspn(line, "\r\n")] = '\0';
                if (!*line)
                        continue;
                five_ids = realloc(five_ids, (size_t)(n_five_ids + 1) * sizeof(*five_ids));
                if (!five_ids || !(five_ids[n_five_ids] = strdup(line)))
                        fc_die("out of memory");
                n_five_ids++;
        }
        fclose(f);
}

/* ---------------- wait ---------------- */

typedef struct wait_ctx {
        fc_map_t *seen;
        long n, failed;
} wait_ctx_t;

static void on_result(const char *id, df_exec_status_t status, const df_bytes_t *out, const char *err,
                      void *opaque)
{
        wait_ctx_t *w = opaque;
        (void)out;
        if (!fc_map_get(w->seen, id)) {
                fc_map_put(w->seen, id, (void *)1);
                w->n++;
                if (status != DF_EXEC_SUCCEEDED) {
                        w->failed++;
                        fprintf(stderr, "fault_check: %s ended %s: %s\n", id, df_exec_status_name(status),
                                err ? err : "");
                }
        }
}

static int cmd_wait(void)
{
        df_conf_t *conf = df_conf_new();
        char errstr[512];
        df_results_t *r;
        wait_ctx_t w = {fc_map_new(), 0, 0};
        int64_t t0 = fc_mono_ms(), last = t0;

        if (df_conf_set(conf, "brokers", brokers, errstr, sizeof(errstr)) ||
            df_conf_set(conf, "topic.prefix", prefix, errstr, sizeof(errstr)) ||
            df_conf_set(conf, "log.level", "warn", errstr, sizeof(errstr)))
                fc_die("conf: %s", errstr);
        r = df_results_open(conf, 1, errstr, sizeof(errstr));
        if (!r)
                fc_die("df_results_open: %s", errstr);
        while (w.n < expect) {
                if (df_results_poll(r, 500, on_result, &w) < 0)
                        fprintf(stderr, "fault_check: results poll error\n");
                if (fc_mono_ms() - last >= 2000) {
                        last = fc_mono_ms();
                        fprintf(stderr, "fault_check: progress %ld/%ld results after %.1f s\n", w.n, expect,
                                (double)(last - t0) / 1000.0);
                }
                if (fc_mono_ms() - t0 > (int64_t)timeout_s * 1000) {
                        printf("fault_check: TIMEOUT: %ld/%ld results after %d s\n", w.n, expect, timeout_s);
                        return 1;
                }
        }
        printf("fault_check: all %ld results after %lld ms (%ld not SUCCEEDED)\n", w.n, (long long)(fc_mono_ms() - t0),
               w.failed);
        fflush(stdout);
        df_results_close(r);
        df_conf_destroy(conf);
        return 0;
}

/* ---------------- verify ---------------- */

typedef struct exec_info {
        int records, succ_records;
        df_exec_info_t *last;
} exec_info_t;

typedef struct op_info {
        int records, succ_records, conflict;
        uint8_t *first_result; /* malloc'd copy */
        size_t first_len;
        df_op_info_t *last;
} op_info_t;

typedef struct run_info {
        int runs, bad_key;
} run_info_t;

typedef struct verify {
        fc_map_t *execs, *ops, *runs, *results;
        long state_records, tombstones, undecodable, dlq, result_records;
        long step_lines, bad_lines, key_mismatch;
} verify_t;

static void free_exec(void *p)
{
        exec_info_t *e = p;
        df_exec_info_destroy(e->last);
        free(e);
}

static void free_op(void *p)
{
        op_info_t *o = p;
        df_op_info_destroy(o->last);
        free(o->first_result);
        free(o);
}

static void on_state(const rd_kafka_message_t *m, void *opaque)
{
        verify_t *v = opaque;
        char key[512], errstr[256];
        v->state_records++;
        if (!m->key || m->key_len >= sizeof(key))
                return;
        memcpy(key, m->key, m->key_len);
        key[m->key_len] = '\0';
        if (!m->payload) {
                v->tombstones++;
                return;
        }
        switch (df_record_type(m->payload, m->len)) {
        case DF_RECORD_EXECUTION: {
                exec_info_t *e = fc_map_get(v->execs, key);
                df_exec_info_t *r = NULL;
                if (df_record_decode_execution(m->payload, m->len, &r, errstr, sizeof(errstr)) != DF_OK) {
                        v->undecodable++;
                        return;
                }
                if (!e) {
                        e = calloc(1, sizeof(*e));
                        fc_map_put(v->execs, key, e);
                }
                e->records++;
                if (r->status == DF_EXEC_SUCCEEDED)
                        e->succ_records++;
                df_exec_info_destroy(e->last);
                e->last = r;
                break;
        }
        case DF_RECORD_OPERATION: {
                op_info_t *o = fc_map_get(v->ops, key);
                df_op_info_t *r = NULL;
                if (df_record_decode_operation(m->payload, m->len, &r, errstr, sizeof(errstr)) != DF_OK) {
                        v->undecodable++;
                        return;
                }
                if (!o) {
                        o = calloc(1, sizeof(*o));
                        fc_map_put(v->ops, key, o);
                }
                o->records++;
                if (r->status == DF_OP_STATUS_SUCCEEDED) {
                        if (o->succ_records++ == 0) {
                                o->first_result = malloc(r->result.len + 1);
                                if (!o->first_result)
                                        fc_die("out of memory");
                                if (r->result.len)
                                        memcpy(o->first_result, r->result.data, r->result.len);
                                o->first_len = r->result.len;
                        } else if (o->first_len != r->result.len ||
                                   (r->result.len && memcmp(o->first_result, r->result.data, r->result.len))) {
                                o->conflict = 1;
                        }
                }
                df_op_info_destroy(o->last);
                o->last = r;
                break;
        }
        case DF_RECORD_SCHEDULE: /* a schedule's record (its runs are executions) */
                break;
        default:
                v->undecodable++;
        }
}

static void on_result_rec(const rd_kafka_message_t *m, void *opaque)
{
        verify_t *v = opaque;
        df_result_info_t *r = NULL;
        char errstr[256];
        if (!m->payload || df_record_decode_result(m->payload, m->len, &r, errstr, sizeof(errstr)) != DF_OK)
                return;
        if (r->kind == DF_RESULT_TERMINAL) {
                long n = (long)(intptr_t)fc_map_get(v->results, r->execution_id);
                fc_map_put(v->results, r->execution_id, (void *)(intptr_t)(n + 1));
                v->result_records++;
        }
        df_result_info_destroy(r);
}

static void on_dlq(const rd_kafka_message_t *m, void *opaque)
{
        verify_t *v = opaque;
        df_dead_letter_t *d = NULL;
        char errstr[256], key[200], topic[200], error[300];
        v->dlq++;
        if (df_record_decode_dead_letter(m->payload, m->len, &d, errstr, sizeof(errstr)) != DF_OK) {
                printf("  dlq[%d]@%lld: UNDECODABLE DLQ record: %s\n", m->partition, (long long)m->offset, errstr);
                return;
        }
        /* the original key and the error may be hostile: escaped */
        df_text_escape(key, sizeof(key), d->key.data, d->key.len > 60 ? 60 : d->key.len);
        df_text_escape(topic, sizeof(topic), d->topic, strlen(d->topic));
        df_text_escape(error, sizeof(error), d->error, strlen(d->error));
        printf("  dlq: %s[%d]@%lld key \"%s\" value %zu bytes: %s\n", topic, d->partition, (long long)d->offset, key,
               d->value.len, error);
        df_dead_letter_destroy(d);
}

static void read_logs(verify_t *v)
{
        int i;
        for (i = 0; i < n_logs; i++) {
                FILE *f = fopen(logs[i], "r");
                char line[1024];
                if (!f)
                        continue; /* a worker that never ran a step writes no log */
                while (fgets(line, sizeof(line), f)) {
                        char exec[256], key[300], want[600], k[600];
                        int op, attempt, pid;
                        run_info_t *r;
                        if (sscanf(line, "%255s %d %d %299s %d", exec, &op, &attempt, key, &pid) != 5) {
                                v->bad_lines++;
                                continue;
                        }
                        v->step_lines++;
                        snprintf(k, sizeof(k), "%s/%d", exec, op);
                        r = fc_map_get(v->runs, k);
                        if (!r) {
                                r = calloc(1, sizeof(*r));
                                fc_map_put(v->runs, k, r);
                        }
                        r->runs++;
                        snprintf(want, sizeof(want), "%s/%d", exec, op);
                        if (strcmp(key, want)) {
                                r->bad_key++;
                                v->key_mismatch++;
                                if (v->key_mismatch <= 20)
                                        printf("  key mismatch: %s op %d ran with key %s\n", exec, op, key);
                        }
                }
                fclose(f);
        }
}

typedef struct want_op {
        const char *name;
        int type;
        int logged;      /* a step body that writes the step log */
        int result_kind; /* 0 any, 1 "<exec>:<op>:ok", 2 "pay:<exec>" */
} want_op_t;

static const want_op_t five_ops[] = {{"step1", DF_OP_TYPE_STEP, 1, 1}, {"step2", DF_OP_TYPE_STEP, 1, 1},
                                     {"pause", DF_OP_TYPE_WAIT, 0, 0},  {"step3", DF_OP_TYPE_STEP, 1, 1},
                                     {"step4", DF_OP_TYPE_STEP, 1, 1}, {"step5", DF_OP_TYPE_STEP, 1, 1}};
static const want_op_t cb_ops[] = {{"a", DF_OP_TYPE_STEP, 1, 1},
                                   {"approval", DF_OP_TYPE_CALLBACK, 0, 2},
                                   {"approval.submit", DF_OP_TYPE_STEP, 0, 0},
                                   {"b", DF_OP_TYPE_STEP, 1, 1}};

typedef struct figures {
        long expected, found, succeeded, lost, unfinished, history_errors;
        long dup_ops, dup_exec, dup_results, missing_results, conflicts;
        long runs, steps_with_runs, never_ran, re_runs;
} figures_t;

#define PROBLEM(counter, ...)                                                                                          \
        do {                                                                                                           \
                if (++(counter) <= 20)                                                                                 \
                        printf("  " __VA_ARGS__);                                                                      \
        } while (0)

static void check_exec(verify_t *v, figures_t *f, const char *id, const char *workflow, const want_op_t *want,
                       int n_want, const char *want_output)
{
        exec_info_t *e = fc_map_get(v->execs, id);
        long nres = (long)(intptr_t)fc_map_get(v->results, id);
        int i, bad = 0;

        f->expected++;
        if (!e) {
                PROBLEM(f->lost, "LOST: %s has no execution record in the changelog\n", id);
                return;
        }
        f->found++;
        if (e->last->status != DF_EXEC_SUCCEEDED) {
                PROBLEM(f->unfinished, "UNFINISHED: %s is %s (error \"%s\")\n", id,
                        df_exec_status_name(e->last->status), e->last->error);
        } else {
                f->succeeded++;
        }
        if (e->succ_records > 1)
                PROBLEM(f->dup_exec, "DUPLICATE: %s: %d SUCCEEDED execution records\n", id, e->succ_records);
        if (nres > 1)
                PROBLEM(f->dup_results, "DUPLICATE: %s: %ld terminal results\n", id, nres);
        if (nres == 0 && e->last->status == DF_EXEC_SUCCEEDED)
                PROBLEM(f->missing_results, "NO RESULT: %s succeeded but has no record in the results topic\n", id);
        if (strcmp(e->last->workflow, workflow))
                bad = printf("  HISTORY: %s: workflow %s\n", id, e->last->workflow);
        if (e->last->status == DF_EXEC_SUCCEEDED &&
            (e->last->output.len != strlen(want_output) ||
             memcmp(e->last->output.data, want_output, e->last->output.len)))
                bad = printf("  HISTORY: %s: output \"%.*s\", expected \"%s\"\n", id, (int)e->last->output.len,
                             (const char *)e->last->output.data, want_output);
        if (e->last->op_count != n_want)
                bad = printf("  HISTORY: %s: %d operations, expected %d\n", id, e->last->op_count, n_want);
        for (i = 0; i < n_want; i++) {
                char k[400], res[400] = "";
                op_info_t *o;
                run_info_t *r;
                snprintf(k, sizeof(k), "%s/%d", id, i + 1);
                o = fc_map_get(v->ops, k);
                r = fc_map_get(v->runs, k);
                if (want[i].logged) {
                        if (r) {
                                f->steps_with_runs++;
                                f->runs += r->runs;
                                f->re_runs += r->runs - 1;
                        } else if (o && o->succ_records) {
                                PROBLEM(f->never_ran, "NEVER RAN: %s step %s has a result but no run in the logs\n",
                                        id, want[i].name);
                        }
                }
                if (!o) {
                        bad = printf("  HISTORY: %s: operation %d (%s) missing\n", id, i + 1, want[i].name);
                        continue;
                }
                if (o->succ_records > 1)
                        PROBLEM(f->dup_ops, "DUPLICATE: %s op %d (%s) recorded SUCCEEDED %d times%s\n", id, i + 1,
                                want[i].name, o->succ_records, o->conflict ? " WITH DIFFERENT RESULTS" : "");
                if (o->conflict)
                        f->conflicts++;
                if (strcmp(o->last->name, want[i].name) || (int)o->last->type != want[i].type) {
                        bad = printf("  HISTORY: %s op %d is %s/%d, expected %s/%d\n", id, i + 1, o->last->name,
                                     o->last->type, want[i].name, want[i].type);
                        continue;
                }
                if (o->last->status != DF_OP_STATUS_SUCCEEDED) {
                        if (e->last->status == DF_EXEC_SUCCEEDED)
                                bad = printf("  HISTORY: %s op %d (%s) status %s\n", id, i + 1, want[i].name,
                                             df_op_status_name(o->last->status));
                        continue;
                }
                if (want[i].result_kind == 1)
                        snprintf(res, sizeof(res), "%s:%d:ok", id, i + 1);
                else if (want[i].result_kind == 2)
                        snprintf(res, sizeof(res), "pay:%s", id);
                if (want[i].result_kind &&
                    (o->last->result.len != strlen(res) || memcmp(o->last->result.data, res, o->last->result.len)))
                        bad = printf("  HISTORY: %s op %d (%s) result \"%.*s\", expected \"%s\"\n", id, i + 1,
                                     want[i].name, (int)o->last->result.len, (const char *)o->last->result.data, res);
        }
        if (bad)
                f->history_errors++;
}

struct stray_ctx {
        long n;
};

static int expected_id(const char *id)
{
        size_t a = strlen(five_prefix), b = strlen(cb_prefix);
        char *end;
        long i;
        for (i = 0; i < n_five_ids; i++)
                if (!strcmp(id, five_ids[i]))
                        return 1;
        if (n_five && !strncmp(id, five_prefix, a)) {
                i = strtol(id + a, &end, 10);
                if (!*end && i >= 0 && i < n_five)
                        return 1;
        }
        if (n_cb && !strncmp(id, cb_prefix, b)) {
                i = strtol(id + b, &end, 10);
                if (!*end && i >= 0 && i < n_cb)
                        return 1;
        }
        return 0;
}

static void count_other(const char *key, void *val, void *opaque)
{
        struct stray_ctx *s = opaque;
        (void)val;
        if (!expected_id(key)) {
                if (++s->n <= 10)
                        printf("  other execution in the changelog: %s\n", key);
        }
}

static int cmd_verify(void)
{
        verify_t v;
        figures_t f;
        char topic[300];
        struct stray_ctx stray = {0};
        long i;
        int ok;
        int64_t t0 = fc_mono_ms();

        memset(&v, 0, sizeof(v));
        memset(&f, 0, sizeof(f));
        v.execs = fc_map_new();
        v.ops = fc_map_new();
        v.runs = fc_map_new();
        v.results = fc_map_new();
        snprintf(topic, sizeof(topic), "%s.state", prefix);
        if (fc_read_topic(brokers, topic, 120000, on_state, &v) < 0)
                fc_die("cannot read %s", topic);
        snprintf(topic, sizeof(topic), "%s.results", prefix);
        if (fc_read_topic(brokers, topic, 120000, on_result_rec, &v) < 0)
                fc_die("cannot read %s", topic);
        printf("fault_check: dead letters in %s.dlq:\n", prefix);
        snprintf(topic, sizeof(topic), "%s.dlq", prefix);
        if (fc_read_topic(brokers, topic, 120000, on_dlq, &v) < 0)
                fc_die("cannot read %s", topic);
        read_logs(&v);
        printf("fault_check: problems (first 20 of each kind):\n");
        for (i = 0; i < n_five; i++) {
                char id[256], out[300];
                snprintf(id, sizeof(id), "%s%ld", five_prefix, i);
                snprintf(out, sizeof(out), "done:%s", id);
                check_exec(&v, &f, id, "five", five_ops, 6, out);
        }
        for (i = 0; i < n_five_ids; i++) {
                char out[600];
                snprintf(out, sizeof(out), "done:%s", five_ids[i]);
                check_exec(&v, &f, five_ids[i], "five", five_ops, 6, out);
        }
        for (i = 0; i < n_cb; i++) {
                char id[256], out[300];
                snprintf(id, sizeof(id), "%s%ld", cb_prefix, i);
                snprintf(out, sizeof(out), "pay:%s", id);
                check_exec(&v, &f, id, "cb", cb_ops, 4, out);
        }
        fc_map_foreach(v.execs, count_other, &stray);
        ok = !f.lost && !f.unfinished && !f.history_errors && !f.dup_ops && !f.dup_exec && !f.dup_results &&
             !f.missing_results && !f.never_ran && !v.key_mismatch && !v.undecodable && !v.bad_lines &&
             (expect_dlq < 0 || v.dlq == expect_dlq);
        printf("fault_check: %s: executions %ld, found %ld, succeeded %ld, lost %ld, unfinished %ld, "
               "history errors %ld, duplicates %ld (operations %ld, executions %ld, results %ld), "
               "step runs %ld over %ld steps (re-runs %ld), key mismatches %ld, never ran %ld, DLQ records %ld%s, "
               "changelog records %ld, other executions %ld; checked in %lld ms\n",
               ok ? "PASS" : "FAIL", f.expected, f.found, f.succeeded, f.lost, f.unfinished, f.history_errors,
               f.dup_ops + f.dup_exec + f.dup_results, f.dup_ops, f.dup_exec, f.dup_results, f.runs,
               f.steps_with_runs, f.re_runs, v.key_mismatch, f.never_ran, v.dlq,
               expect_dlq >= 0 ? (v.dlq == expect_dlq ? " (as expected)" : " (UNEXPECTED)") : "", v.state_records,
               stray.n, (long long)(fc_mono_ms() - t0));
        printf("FIGURES {\"executions\":%ld,\"found\":%ld,\"succeeded\":%ld,\"lost\":%ld,\"unfinished\":%ld,"
               "\"history_errors\":%ld,\"duplicates\":%ld,\"dup_ops\":%ld,\"dup_exec\":%ld,\"dup_results\":%ld,"
               "\"result_conflicts\":%ld,\"missing_results\":%ld,\"step_runs\":%ld,\"steps\":%ld,\"re_runs\":%ld,"
               "\"key_mismatch\":%ld,\"never_ran\":%ld,\"dlq\":%ld,\"changelog_records\":%ld,"
               "\"undecodable\":%ld,\"other_executions\":%ld,\"ok\":%s}\n",
               f.expected, f.found, f.succeeded, f.lost, f.unfinished, f.history_errors,
               f.dup_ops + f.dup_exec + f.dup_results, f.dup_ops, f.dup_exec, f.dup_results, f.conflicts,
               f.missing_results, f.runs, f.steps_with_runs, f.re_runs, v.key_mismatch, f.never_ran, v.dlq,
               v.state_records, v.undecodable, stray.n, ok ? "true" : "false");
        fflush(stdout);
        fc_map_destroy(v.execs, free_exec);
        fc_map_destroy(v.ops, free_op);
        fc_map_destroy(v.runs, free);
        fc_map_destroy(v.results, NULL);
        return ok ? 0 : 1;
}

static void on_dump(const rd_kafka_message_t *m, void *opaque)
{
        char errstr[256], key[300];
        rd_kafka_timestamp_type_t tt;
        df_record_type_t type = m->payload ? df_record_type(m->payload, m->len) : DF_RECORD_UNKNOWN;
        (void)opaque;
        df_text_escape(key, sizeof(key), m->key, m->key ? m->key_len : 0);
        printf("%d\t%lld\t%lld\t%s\t", m->partition, (long long)m->offset,
               (long long)rd_kafka_message_timestamp(m, &tt), key);
        if (!m->payload) {
                printf("tombstone\n");
        } else if (type == DF_RECORD_EVENT) {
                df_event_info_t *ev = NULL;
                if (df_record_decode_event(m->payload, m->len, &ev, errstr, sizeof(errstr)) != DF_OK)
                        printf("event (undecodable: %s)\n", errstr);
                else
                        printf("event %s exec %s op %s seq %lld req %s\n", df_event_type_name(ev->type),
                               ev->execution_id, ev->op_id, (long long)ev->seq, ev->request_id);
                df_event_info_destroy(ev);
        } else if (type == DF_RECORD_OPERATION) {
                df_op_info_t *op = NULL;
                if (df_record_decode_operation(m->payload, m->len, &op, errstr, sizeof(errstr)) != DF_OK)
                        printf("op (undecodable: %s)\n", errstr);
                else
                        printf("op %s/%s %s status %s attempt %d\n", op->execution_id, op->op_id, op->name,
                               df_op_status_name(op->status), op->attempt);
                df_op_info_destroy(op);
        } else if (type == DF_RECORD_EXECUTION) {
                df_exec_info_t *ex = NULL;
                if (df_record_decode_execution(m->payload, m->len, &ex, errstr, sizeof(errstr)) != DF_OK)
                        printf("exec (undecodable: %s)\n", errstr);
                else
                        printf("exec %s status %s ops %d\n", ex->execution_id, df_exec_status_name(ex->status),
                               ex->op_count);
                df_exec_info_destroy(ex);
        } else {
                printf("record %s, %zu bytes\n", df_record_type_name(type), m->len);
        }
}

int main(int argc, char **argv)
{
        static const struct option opts[] = {
                {"brokers", required_argument, 0, 'b'},     {"prefix", required_argument, 0, 'p'},
                {"five", required_argument, 0, 'f'},        {"five-prefix", required_argument, 0, 'F'},
                {"five-ids", required_argument, 0, 'I'},
                {"cb", required_argument, 0, 'c'},          {"cb-prefix", required_argument, 0, 'C'},
                {"log", required_argument, 0, 'l'},         {"expect", required_argument, 0, 'e'},
                {"expect-dlq", required_argument, 0, 'd'},  {"timeout", required_argument, 0, 't'},
                {"topic", required_argument, 0, 'T'},       {"uncommitted", no_argument, 0, 'U'},
                {0, 0, 0, 0}};
        const char *topic = NULL;
        const char *cmd;
        int c;

        if (argc < 2)
                fc_die("usage: fault_check wait|verify|delete-topics [options] (see the source)");
        cmd = argv[1];
        optind = 2;
        while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
                switch (c) {
                case 'b': brokers = optarg; break;
                case 'p': prefix = optarg; break;
                case 'f': n_five = atol(optarg); break;
                case 'F': five_prefix = optarg; break;
                case 'I': load_ids(optarg); break;
                case 'c': n_cb = atol(optarg); break;
                case 'C': cb_prefix = optarg; break;
                case 'l':
                        if (n_logs < 64)
                                logs[n_logs++] = optarg;
                        break;
                case 'e': expect = atol(optarg); break;
                case 'd': expect_dlq = atol(optarg); break;
                case 't': timeout_s = atoi(optarg); break;
                case 'T': topic = optarg; break;
                case 'U': fc_read_uncommitted = 1; break;
                default: fc_die("bad option");
                }
        }
        if (!brokers || (!prefix && !topic))
                fc_die("--brokers and --prefix are required");
        if (!strcmp(cmd, "wait")) {
                if (expect < 0)
                        fc_die("wait needs --expect");
                return cmd_wait();
        }
        if (!strcmp(cmd, "verify"))
                return cmd_verify();
        if (!strcmp(cmd, "dump"))
                return fc_read_topic(brokers, topic, 120000, on_dump, NULL) < 0;
        if (!strcmp(cmd, "delete-topics")) {
                int n = fc_delete_topics(brokers, prefix);
                printf("fault_check: deleted %d topic(s) of prefix %s\n", n, prefix);
                return n < 0;
        }
        fc_die("unknown command %s", cmd);
}
