/*
 * fault_timers -- timers through the public timer API, and the check that
 * each fired exactly once.
 *
 *   fault_timers produce --brokers B --prefix P --target TOPIC --count N
 *                        [--due-past K] [--spread-ms S] [--first F]
 *       Creates the duraflow topics (through df_client_new) and TOPIC, then
 *       schedules N timers with the public timer API (df_timer_schedule_async,
 *       acknowledged by df_client_flush): timer id "t<i>-<due ms>", target
 *       TOPIC, record key = payload = the timer id.  The first K are
 *       already due (0..5 s in the past), the others due uniformly within
 *       the next S ms.  Exits 0 once every timer is acknowledged.
 *
 *   fault_timers verify --brokers B --target TOPIC --count N [--first F] [--timeout S]
 *                       [--settle-ms MS]
 *       Reads TOPIC (read_committed) until the N ids have arrived (or the
 *       timeout), then for settle-ms more to catch late duplicates; prints
 *       distinct, duplicates, missing, early fires and lateness (record
 *       timestamp - due): max, p50, p99; and "FIGURES {json}".  Exit 0 if
 *       every timer fired exactly once and none early.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "duraflow/duraflow.h"
#include "fault_common.h"

static const char *brokers, *prefix, *target;
static long count = -1, due_past, first;
static long spread_ms = 10000, settle_ms = 3000;
static int timeout_s = 120;

static int cmd_produce(void)
{
        df_conf_t *conf = df_conf_new();
        df_client_t *c;
        char errstr[512];
        int64_t now = fc_now_ms(), t0 = fc_mono_ms();
        df_err_t rc;
        long i;
        int tries;

        if (df_conf_set(conf, "brokers", brokers, errstr, sizeof(errstr)) ||
            df_conf_set(conf, "topic.prefix", prefix, errstr, sizeof(errstr)) ||
            df_conf_set(conf, "log.level", "warn", errstr, sizeof(errstr)))
                fc_die("conf: %s", errstr);
        c = df_client_new(conf, errstr, sizeof(errstr)); /* creates the topics */
        if (!c)
                fc_die("df_client_new: %s", errstr);
        if (fc_create_topic(brokers, target, 3, errstr, sizeof(errstr)))
                fc_die("%s", errstr);
        srand48((long)now);
        for (i = 0; i < count; i++) {
                char id[64];
                int64_t due = i < due_past ? now - (int64_t)(drand48() * 5000)
                                           : now + (int64_t)(drand48() * (double)spread_ms);
                snprintf(id, sizeof(id), "t%ld-%lld", first + i, (long long)due);
                rc = df_timer_schedule_async(c, id, due, target, id, strlen(id), id, strlen(id), errstr,
                                             sizeof(errstr));
                if (rc != DF_OK)
                        fc_die("df_timer_schedule_async %s: %s: %s", id, df_err_name(rc), errstr);
        }
        /* acknowledged: df_client_flush says DF_ERR_DEADLINE while some are
         * still in flight */
        for (tries = 0; (rc = df_client_flush(c, 10000)) == DF_ERR_DEADLINE && tries < 6; tries++)
                ;
        if (rc != DF_OK)
                fc_die("timers not acknowledged within 60 s: %s", df_err_name(rc));
        df_client_destroy(c);
        df_conf_destroy(conf);
        printf("fault_timers: acked %ld timers (%ld already due, the rest within %ld ms) in %lld ms\n", count,
               due_past < count ? due_past : count, spread_ms, (long long)(fc_mono_ms() - t0));
        fflush(stdout);
        return 0;
}

typedef struct vctx {
        long *seen;     /* per index: times fired */
        int64_t *late;  /* per index: first fire lateness */
        long distinct, dups, early, foreign, records;
} vctx_t;

static int cmp64(const void *a, const void *b)
{
        int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
        return x < y ? -1 : x > y;
}

static int cmd_verify(void)
{
        static const char *const extra[] = {"group.id=fault-timers-unused", "enable.auto.commit=false",
                                            "isolation.level=read_committed", "fetch.wait.max.ms=10", NULL};
        char e[512];
        rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, fc_kconf(brokers, extra), e, sizeof(e));
        rd_kafka_topic_partition_list_t *tp;
        vctx_t v;
        int64_t t0 = fc_mono_ms(), all_at = 0, *sorted;
        long i, n_late = 0, missing = 0;
        int parts, p, ok;

        if (!rk)
                fc_die("consumer: %s", e);
        memset(&v, 0, sizeof(v));
        v.seen = calloc((size_t)count, sizeof(long));
        v.late = calloc((size_t)count, sizeof(int64_t));
        sorted = calloc((size_t)count + 1, sizeof(int64_t));
        parts = fc_partitions(rk, target, 10000);
        if (parts < 0)
                fc_die("no topic %s", target);
        tp = rd_kafka_topic_partition_list_new(parts);
        for (p = 0; p < parts; p++)
                rd_kafka_topic_partition_list_add(tp, target, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
        rd_kafka_assign(rk, tp);
        rd_kafka_topic_partition_list_destroy(tp);
        for (;;) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
                int64_t now = fc_mono_ms();
                if (!all_at && v.distinct == count)
                        all_at = now;
                if (all_at && now - all_at > settle_ms)
                        break;
                if (!all_at && now - t0 > (int64_t)timeout_s * 1000)
                        break;
                if (!m)
                        continue;
                if (!m->err && m->payload) {
                        char id[64];
                        long idx;
                        long long due;
                        rd_kafka_timestamp_type_t tt;
                        int64_t ts = rd_kafka_message_timestamp(m, &tt);
                        v.records++;
                        snprintf(id, sizeof(id), "%.*s", (int)(m->len < 63 ? m->len : 63), (const char *)m->payload);
                        if (sscanf(id, "t%ld-%lld", &idx, &due) != 2 || idx < first || idx >= first + count) {
                                v.foreign++;
                        } else {
                                idx -= first;
                                if (v.seen[idx]++ == 0) {
                                        v.distinct++;
                                        v.late[idx] = ts - due;
                                        if (ts < due - 5) /* allow for clock granularity */
                                                v.early++;
                                } else {
                                        v.dups++;
                                        if (v.dups <= 10)
                                                printf("  DUPLICATE fire of %s (fire #%ld)\n", id, v.seen[idx]);
                                }
                        }
                }
                rd_kafka_message_destroy(m);
        }
        for (i = 0; i < count; i++) {
                if (!v.seen[i]) {
                        if (++missing <= 10)
                                printf("  MISSING timer index %ld\n", first + i);
                } else {
                        sorted[n_late++] = v.late[i];
                }
        }
        qsort(sorted, (size_t)n_late, sizeof(int64_t), cmp64);
        ok = v.distinct == count && !v.dups && !v.early && !missing;
        printf("fault_timers: %s: timers %ld, fired %ld distinct, duplicates %ld, missing %ld, early %ld, "
               "lateness ms: p50 %lld, p99 %lld, max %lld\n",
               ok ? "PASS" : "FAIL", count, v.distinct, v.dups, missing, v.early,
               (long long)(n_late ? sorted[n_late / 2] : 0), (long long)(n_late ? sorted[(n_late * 99) / 100] : 0),
               (long long)(n_late ? sorted[n_late - 1] : 0));
        printf("FIGURES {\"timers\":%ld,\"distinct\":%ld,\"duplicates\":%ld,\"missing\":%ld,\"early\":%ld,"
               "\"late_p50_ms\":%lld,\"late_p99_ms\":%lld,\"late_max_ms\":%lld,\"ok\":%s}\n",
               count, v.distinct, v.dups, missing, v.early, (long long)(n_late ? sorted[n_late / 2] : 0),
               (long long)(n_late ? sorted[(n_late * 99) / 100] : 0), (long long)(n_late ? sorted[n_late - 1] : 0),
               ok ? "true" : "false");
        fflush(stdout);
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
        free(v.seen);
        free(v.late);
        free(sorted);
        return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
        static const struct option opts[] = {
                {"brokers", required_argument, 0, 'b'},   {"prefix", required_argument, 0, 'p'},
                {"target", required_argument, 0, 'T'},    {"count", required_argument, 0, 'c'},
                {"due-past", required_argument, 0, 'd'},  {"spread-ms", required_argument, 0, 's'},
                {"first", required_argument, 0, 'f'},     {"timeout", required_argument, 0, 't'},
                {"settle-ms", required_argument, 0, 'S'}, {0, 0, 0, 0}};
        const char *cmd;
        int c;
        if (argc < 2)
                fc_die("usage: fault_timers produce|verify [options] (see the source)");
        cmd = argv[1];
        optind = 2;
        while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
                switch (c) {
                case 'b': brokers = optarg; break;
                case 'p': prefix = optarg; break;
                case 'T': target = optarg; break;
                case 'c': count = atol(optarg); break;
                case 'd': due_past = atol(optarg); break;
                case 's': spread_ms = atol(optarg); break;
                case 'f': first = atol(optarg); break;
                case 't': timeout_s = atoi(optarg); break;
                case 'S': settle_ms = atol(optarg); break;
                default: fc_die("bad option");
                }
        }
        if (!brokers || !target || count < 0)
                fc_die("--brokers, --target and --count are required");
        if (!strcmp(cmd, "produce")) {
                if (!prefix)
                        fc_die("produce needs --prefix");
                return cmd_produce();
        }
        if (!strcmp(cmd, "verify"))
                return cmd_verify();
        fc_die("unknown command %s", cmd);
}
