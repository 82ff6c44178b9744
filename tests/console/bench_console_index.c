/*
 * bench_console_index.c -- the console index's ingest without Kafka: the
 * state records bench_console produces (3 per execution: a step SUCCEEDED,
 * a callback, the execution; 60% SUCCEEDED, 30% SUSPENDED on the callback,
 * 10% FAILED), spread over --partitions by execution id as the workers
 * co-partition them, fed to the index as the follower feeds them (chunks of
 * --chunk records per partition in turn, a commit every --batch records),
 * into an empty index, by --threads ingesting threads (thread k takes the
 * partitions p with p % threads == k, as the follower's shards do).
 * Prints records per wall second and the process's CPU seconds (the
 * ingesting threads and RocksDB's background threads).  The
 * cost of the index alone: the console's Kafka fetch is not in it (that is
 * bench/bench_console's figure).
 *
 * Usage: bench_console_index [--count 200000] [--partitions 6] [--chunk 500] [--batch 5000] [--threads 1]
 */
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "console_int.h"
#include "duraflow/records.h"

typedef struct rec {
        char key[96];
        void *v;
        size_t vlen;
} rec_t;

static int64_t now_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static double cpu_s(void)
{
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
               (double)ru.ru_stime.tv_usec / 1e6;
}

static long arg(int argc, char **argv, const char *name, long def)
{
        int i;
        for (i = 1; i + 1 < argc; i++)
                if (!strcmp(argv[i], name))
                        return atol(argv[i + 1]);
        return def;
}

static int rm_entry(const char *p, const struct stat *sb, int f, struct FTW *ftw)
{
        (void)sb;
        (void)f;
        (void)ftw;
        return remove(p);
}

/* The 3 records of execution i, as bench_console encodes them. */
static void make(long i, rec_t out[3])
{
        char id[64], e[512];
        int k;
        df_exec_status_t st = i % 10 == 0 ? DF_EXEC_FAILED : i % 10 < 4 ? DF_EXEC_SUSPENDED : DF_EXEC_SUCCEEDED;
        int64_t t = 1700000000000LL + i;
        snprintf(id, sizeof(id), "bench-%08ld", i);
        for (k = 1; k <= 3; k++) {
                df_op_info_t o;
                df_exec_info_t x;
                df_err_t rc;
                rec_t *r = &out[k - 1];
                memset(&o, 0, sizeof(o));
                memset(&x, 0, sizeof(x));
                if (k < 3) {
                        o.execution_id = id;
                        o.op_id = k == 1 ? "1" : "2";
                        o.parent_id = "";
                        o.name = k == 1 ? "receive" : "payment";
                        o.type = k == 1 ? DF_OP_TYPE_STEP : DF_OP_TYPE_CALLBACK;
                        o.status = k == 1 ? DF_OP_STATUS_SUCCEEDED
                                   : st == DF_EXEC_SUSPENDED ? DF_OP_STATUS_PENDING
                                   : st == DF_EXEC_FAILED   ? DF_OP_STATUS_FAILED
                                                            : DF_OP_STATUS_SUCCEEDED;
                        o.attempt = 1;
                        o.result.data = (const uint8_t *)"{\"total_cents\":12345,\"valid\":true}";
                        o.result.len = k == 1 ? 34 : 0;
                        o.error = o.status == DF_OP_STATUS_FAILED ? "card declined" : "";
                        o.callback_id = k == 2 ? "0123456789abcdef0123456789abcdef_2_x" : "";
                        o.started_ms = o.updated_ms = t;
                        o.due_ms = k == 2 ? t + 60000 : 0;
                        snprintf(r->key, sizeof(r->key), "%s/%s", id, o.op_id);
                        rc = df_record_encode_operation(&o, &r->v, &r->vlen, e, sizeof(e));
                } else {
                        x.execution_id = id;
                        x.workflow = "order";
                        x.input.data = (const uint8_t *)"{\"order_id\":10248,\"day_ms\":1000}";
                        x.input.len = 32;
                        x.status = st;
                        x.output.data = (const uint8_t *)"{\"outcome\":\"confirmed_on_time\"}";
                        x.output.len = st == DF_EXEC_SUCCEEDED ? 31 : 0;
                        x.error = st == DF_EXEC_FAILED ? "payment: card declined" : "";
                        x.created_ms = t;
                        x.updated_ms = t + 5;
                        x.op_count = 2;
                        snprintf(r->key, sizeof(r->key), "%s", id);
                        rc = df_record_encode_execution(&x, &r->v, &r->vlen, e, sizeof(e));
                }
                if (rc != DF_OK) {
                        fprintf(stderr, "bench_console_index: %s\n", e);
                        exit(1);
                }
        }
}

static rec_t **pr;
static long *pn, chunk, bsize;
static int parts, threads;
static df__cidx_t *ix;

/* Thread k: its partitions in turn, chunk records each, a commit every bsize. */
static void *feed(void *arg)
{
        int k = (int)(intptr_t)arg, p, more = 1;
        long *pos = calloc((size_t)parts, sizeof(*pos));
        df__cbatch_t *b = df__cbatch_new(ix);
        char e[512];
        if (!pos || !b)
                exit(1);
        while (more) {
                more = 0;
                for (p = k; p < parts; p += threads) {
                        long n;
                        for (n = 0; n < chunk && pos[p] < pn[p]; n++, pos[p]++) {
                                rec_t *r = &pr[p][pos[p]];
                                if (df__cbatch_state(b, r->key, strlen(r->key), r->v, r->vlen, p, pos[p])) {
                                        fprintf(stderr, "bench_console_index: cannot index a record\n");
                                        exit(1);
                                }
                                df__cbatch_offset(b, 's', p, pos[p] + 1);
                                if ((long)df__cbatch_size(b) >= bsize && df__cbatch_commit(b, e, sizeof(e))) {
                                        fprintf(stderr, "bench_console_index: %s\n", e);
                                        exit(1);
                                }
                        }
                        if (pos[p] < pn[p])
                                more = 1;
                }
        }
        if (df__cbatch_size(b) && df__cbatch_commit(b, e, sizeof(e))) {
                fprintf(stderr, "bench_console_index: %s\n", e);
                exit(1);
        }
        df__cbatch_destroy(b);
        free(pos);
        return NULL;
}

int main(int argc, char **argv)
{
        long count = arg(argc, argv, "--count", 200000), i;
        char dir[256], e[512];
        pthread_t th[64];
        int64_t t0, t;
        double c0, c;
        int p;

        parts = (int)arg(argc, argv, "--partitions", 6);
        chunk = arg(argc, argv, "--chunk", 500);
        bsize = arg(argc, argv, "--batch", 5000);
        threads = (int)arg(argc, argv, "--threads", 1);
        if (threads < 1 || threads > 64 || threads > parts) {
                fprintf(stderr, "bench_console_index: --threads 1..min(64, partitions)\n");
                return 2;
        }
        pr = calloc((size_t)parts, sizeof(*pr));
        pn = calloc((size_t)parts, sizeof(*pn));

        if (df__codec_init(e, sizeof(e))) {
                fprintf(stderr, "bench_console_index: %s\n", e);
                return 1;
        }
        for (p = 0; p < parts; p++)
                pr[p] = malloc((size_t)count * 3 * sizeof(rec_t) / (size_t)parts * 2 + 64 * sizeof(rec_t));
        for (i = 0; i < count; i++) {
                rec_t r[3];
                char id[64];
                int k;
                make(i, r);
                snprintf(id, sizeof(id), "bench-%08ld", i);
                p = rd_kafka_msg_partitioner_murmur2(NULL, id, strlen(id), parts, NULL, NULL);
                for (k = 0; k < 3; k++)
                        pr[p][pn[p]++] = r[k];
        }
        snprintf(dir, sizeof(dir), "%s/bench-console-index-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        if (!mkdtemp(dir) || !(ix = df__cidx_open(dir, "outcome", e, sizeof(e)))) {
                fprintf(stderr, "bench_console_index: cannot open an index in %s: %s\n", dir, e);
                return 1;
        }
        t0 = now_ns();
        c0 = cpu_s();
        for (p = 0; p < threads; p++)
                pthread_create(&th[p], NULL, feed, (void *)(intptr_t)p);
        for (p = 0; p < threads; p++)
                pthread_join(th[p], NULL);
        t = now_ns() - t0;
        c = cpu_s() - c0;
        printf("bench_console_index: %ld executions, %ld records, %d partitions, chunk %ld, batch %ld, %d threads\n",
               count, count * 3, parts, chunk, bsize, threads);
        printf("ingest: %.2f s = %.0f records/s; process CPU %.2f s = %.2f us/record; counters A=%lld\n",
               (double)t / 1e9, (double)count * 3 / ((double)t / 1e9), c, c * 1e6 / (double)(count * 3),
               (long long)df__cidx_counter(ix, "A"));
        df__cidx_close(ix);
        nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        for (p = 0; p < parts; p++) {
                for (i = 0; i < pn[p]; i++)
                        df_record_free(pr[p][i].v);
                free(pr[p]);
        }
        free(pr);
        free(pn);
        return 0;
}
