/*
 * fault_worker -- a duraflow worker process for the fault tests.
 *
 * Workflows:
 *   five: step1, step2, wait "pause" (--wait-ms, default 2000), step3, step4,
 *         step5; output "done:<execution id>".
 *   cb:   step "a", wait_for_callback "approval" (its submitter appends
 *         "<execution id> <callback id>" to --cb-file), step "b"; output =
 *         the callback's payload.
 *   killer: step "kill" whose body logs its line, then SIGKILLs its own
 *         process, every time (input "amo": at-most-once semantics, else
 *         at-least-once; 3 attempts, 300 ms apart); then step "after".
 *         Input "slow": the body first sleeps 300 ms (the death comes while
 *         other executions' step bodies run beside it).
 * Every step body appends one line
 *   "<execution id> <op id> <attempt> <idempotency key> <pid> <wall clock ms>"
 * to --log (O_APPEND, one write() per line) and returns "<execution id>:<op id>:ok",
 * which depends only on the execution id and the operation id.
 *
 * --status FILE: the worker's counters, rewritten every 200 ms (JSON).
 * SIGTERM / SIGINT: stop after the current batch, exit 0.
 * Exit codes: 0 clean stop, 2 usage, 3 df_worker_new failed, 4 run failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "duraflow/duraflow.h"
#include "fault_common.h"

static int log_fd = -1, cb_fd = -1;
static int sleep_ms;
static const char *sleep_step; /* NULL: every step */
static int64_t wait_ms = 2000;
static df_worker_t *worker;
static const char *status_path;
static volatile sig_atomic_t done;

typedef struct step_arg {
        df_ctx_t *ctx;
        const char *name;
        int op;
} step_arg_t;

static void sleep_ms_total(int ms)
{
        struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

static df_err_t body(df_step_t *s, void *opaque)
{
        const step_arg_t *a = opaque;
        const char *exec = df_ctx_execution_id(a->ctx);
        char line[600], res[300];

        snprintf(line, sizeof(line), "%s %d %d %s %d %lld\n", exec, a->op, df_step_attempt(s),
                 df_step_idempotency_key(s), (int)getpid(), (long long)fc_now_ms());
        if (fc_write_line(log_fd, line))
                fprintf(stderr, "fault_worker: write to the step log failed: %s\n", strerror(errno));
        if (sleep_ms > 0 && (!sleep_step || !strcmp(sleep_step, a->name)))
                sleep_ms_total(sleep_ms);
        snprintf(res, sizeof(res), "%s:%d:ok", exec, a->op);
        return df_step_set_result(s, res, strlen(res));
}

#define STEP(ctx, nm, opnum)                                                                                           \
        do {                                                                                                           \
                step_arg_t a_ = {ctx, nm, opnum};                                                                      \
                df_err_t rc_ = df_step(ctx, nm, body, &a_, NULL, NULL);                                                \
                if (rc_ != DF_OK)                                                                                      \
                        return rc_;                                                                                    \
        } while (0)

static df_err_t five(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        char out[300];
        df_err_t rc;
        (void)input;
        (void)opaque;
        STEP(ctx, "step1", 1);
        STEP(ctx, "step2", 2);
        if ((rc = df_wait(ctx, "pause", wait_ms)) != DF_OK)
                return rc;
        STEP(ctx, "step3", 4);
        STEP(ctx, "step4", 5);
        STEP(ctx, "step5", 6);
        snprintf(out, sizeof(out), "done:%s", df_ctx_execution_id(ctx));
        return df_ctx_set_output(ctx, out, strlen(out));
}

static df_err_t submit(df_step_t *s, const char *callback_id, void *opaque)
{
        df_ctx_t *ctx = opaque;
        char line[800];
        (void)s;
        snprintf(line, sizeof(line), "%s %s\n", df_ctx_execution_id(ctx), callback_id);
        if (cb_fd >= 0 && fc_write_line(cb_fd, line))
                fprintf(stderr, "fault_worker: write to the callback file failed: %s\n", strerror(errno));
        return DF_OK;
}

static df_err_t cbflow(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        df_bytes_t pay;
        df_err_t rc;
        (void)input;
        (void)opaque;
        STEP(ctx, "a", 1);
        if ((rc = df_wait_for_callback(ctx, "approval", submit, ctx, NULL, NULL, &pay)) != DF_OK)
                return rc;
        STEP(ctx, "b", 4);
        return df_ctx_set_output(ctx, pay.data, pay.len);
}

static df_err_t kill_body(df_step_t *s, void *opaque)
{
        const step_arg_t *a = opaque;
        char line[600];
        snprintf(line, sizeof(line), "%s %d %d %s %d %lld\n", df_ctx_execution_id(a->ctx), a->op, df_step_attempt(s),
                 df_step_idempotency_key(s), (int)getpid(), (long long)fc_now_ms());
        fc_write_line(log_fd, line);
        if (!strcmp(a->name, "kill-slow"))
                sleep_ms_total(300); /* input "slow": die while other executions' bodies run */
        raise(SIGKILL);
        return DF_OK;
}

static df_err_t killer(df_ctx_t *ctx, const df_bytes_t *input, void *opaque)
{
        df_step_opts_t o = {.max_attempts = 3, .initial_delay_ms = 300, .backoff_rate = 1.0};
        step_arg_t a = {ctx, "kill", 1};
        df_err_t rc;
        (void)opaque;
        if (input->len == 3 && !memcmp(input->data, "amo", 3))
                o.semantics = DF_AT_MOST_ONCE_PER_RETRY;
        if (input->len == 4 && !memcmp(input->data, "slow", 4))
                a.name = "kill-slow";
        if ((rc = df_step(ctx, "kill", kill_body, &a, &o, NULL)) != DF_OK)
                return rc;
        STEP(ctx, "after", 2);
        return DF_OK;
}

static void on_signal(int sig)
{
        (void)sig;
        done = 1;
        df_worker_stop(worker);
}

static void write_status(const char *id, int running)
{
        df_worker_stats_t st;
        char tmp[1100];
        FILE *f;
        df_worker_get_stats(worker, &st);
        snprintf(tmp, sizeof(tmp), "%s.tmp", status_path);
        f = fopen(tmp, "w");
        if (!f)
                return;
        fprintf(f,
                "{\"worker_id\":\"%s\",\"pid\":%d,\"ts_ms\":%lld,\"running\":%d,\"healthy\":%d,\"batches\":%llu,"
                "\"events\":%llu,\"finished\":%llu,\"steps_run\":%llu,\"dlq\":%llu,\"aborts\":%llu}\n",
                id, (int)getpid(), (long long)fc_now_ms(), running, st.healthy, (unsigned long long)st.batches,
                (unsigned long long)st.events, (unsigned long long)st.executions_finished,
                (unsigned long long)st.steps_run, (unsigned long long)st.dlq, (unsigned long long)st.aborts);
        fclose(f);
        rename(tmp, status_path);
}

static const char *the_id;

static void *status_main(void *p)
{
        (void)p;
        while (!done) {
                write_status(the_id, 1);
                sleep_ms_total(200);
        }
        return NULL;
}

static void usage(void)
{
        fprintf(stderr, "usage: fault_worker --brokers B --prefix P --state-dir D --worker-id ID --log FILE\n"
                        "       [--sleep-in-step MS [--sleep-step NAME]] [--wait-ms MS] [--cb-file FILE]\n"
                        "       [--status FILE] [--log-level L] [-X name=value]...\n");
        exit(2);
}

int main(int argc, char **argv)
{
        static const struct option opts[] = {{"brokers", required_argument, 0, 'b'},
                                             {"prefix", required_argument, 0, 'p'},
                                             {"state-dir", required_argument, 0, 'd'},
                                             {"worker-id", required_argument, 0, 'i'},
                                             {"log", required_argument, 0, 'l'},
                                             {"sleep-in-step", required_argument, 0, 's'},
                                             {"sleep-step", required_argument, 0, 'S'},
                                             {"wait-ms", required_argument, 0, 'w'},
                                             {"cb-file", required_argument, 0, 'c'},
                                             {"status", required_argument, 0, 't'},
                                             {"log-level", required_argument, 0, 'L'},
                                             {0, 0, 0, 0}};
        df_conf_t *conf = df_conf_new();
        const char *brokers = NULL, *prefix = NULL, *state_dir = NULL, *id = NULL, *log_path = NULL;
        const char *cb_path = NULL, *level = "info";
        char errstr[512];
        struct sigaction sa;
        pthread_t thr;
        int64_t t0;
        df_err_t rc;
        int c;

        while ((c = getopt_long(argc, argv, "X:", opts, NULL)) != -1) {
                switch (c) {
                case 'b': brokers = optarg; break;
                case 'p': prefix = optarg; break;
                case 'd': state_dir = optarg; break;
                case 'i': id = optarg; break;
                case 'l': log_path = optarg; break;
                case 's': sleep_ms = atoi(optarg); break;
                case 'S': sleep_step = optarg; break;
                case 'w': wait_ms = atoll(optarg); break;
                case 'c': cb_path = optarg; break;
                case 't': status_path = optarg; break;
                case 'L': level = optarg; break;
                case 'X':
                        if (df_conf_set_pair(conf, optarg, errstr, sizeof(errstr)) != DF_OK) {
                                fprintf(stderr, "fault_worker: %s\n", errstr);
                                return 2;
                        }
                        break;
                default: usage();
                }
        }
        if (!brokers || !prefix || !state_dir || !id || !log_path)
                usage();
        if (df_conf_set(conf, "brokers", brokers, errstr, sizeof(errstr)) ||
            df_conf_set(conf, "topic.prefix", prefix, errstr, sizeof(errstr)) ||
            df_conf_set(conf, "state.dir", state_dir, errstr, sizeof(errstr)) ||
            df_conf_set(conf, "worker.id", id, errstr, sizeof(errstr)) ||
            df_conf_set(conf, "log.level", level, errstr, sizeof(errstr))) {
                fprintf(stderr, "fault_worker: %s\n", errstr);
                return 2;
        }
        log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (log_fd < 0) {
                fprintf(stderr, "fault_worker: %s: %s\n", log_path, strerror(errno));
                return 2;
        }
        if (cb_path && (cb_fd = open(cb_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) < 0) {
                fprintf(stderr, "fault_worker: %s: %s\n", cb_path, strerror(errno));
                return 2;
        }
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        signal(SIGXFSZ, SIG_IGN); /* a lowered RLIMIT_FSIZE makes writes fail with EFBIG (full-disk test) */

        t0 = fc_mono_ms();
        fprintf(stderr, "fault_worker %s: pid %d starting (brokers %s, prefix %s)\n", id, (int)getpid(), brokers,
                prefix);
        worker = df_worker_new(conf, errstr, sizeof(errstr));
        if (!worker) {
                fprintf(stderr, "fault_worker %s: df_worker_new failed after %lld ms: %s\n", id,
                        (long long)(fc_mono_ms() - t0), errstr);
                return 3;
        }
        fprintf(stderr, "fault_worker %s: ready after %lld ms\n", id, (long long)(fc_mono_ms() - t0));
        if (df_worker_register(worker, "five", five, NULL) || df_worker_register(worker, "cb", cbflow, NULL) ||
            df_worker_register(worker, "killer", killer, NULL)) {
                fprintf(stderr, "fault_worker: register failed\n");
                return 2;
        }
        the_id = id;
        if (status_path)
                pthread_create(&thr, NULL, status_main, NULL);
        if (done) /* a signal arrived during start-up */
                df_worker_stop(worker);
        rc = df_worker_run(worker);
        done = 1;
        if (status_path) {
                pthread_join(thr, NULL);
                write_status(id, 0);
        }
        {
                df_worker_stats_t st;
                df_worker_get_stats(worker, &st);
                fprintf(stderr,
                        "fault_worker %s: stopped: %s; batches %llu events %llu finished %llu steps %llu dlq %llu "
                        "aborts %llu\n",
                        id, df_err_name(rc), (unsigned long long)st.batches, (unsigned long long)st.events,
                        (unsigned long long)st.executions_finished, (unsigned long long)st.steps_run,
                        (unsigned long long)st.dlq, (unsigned long long)st.aborts);
        }
        df_worker_destroy(worker);
        df_conf_destroy(conf);
        close(log_fd);
        if (cb_fd >= 0)
                close(cb_fd);
        return rc == DF_OK ? 0 : 4;
}
