/*
 * cluster_tool -- what the multi-broker tests ask a Kafka cluster.
 *
 *   cluster_tool leaders --brokers B [--prefix P]
 *       One JSON line: the brokers the metadata lists, and for the
 *       partitions of the topics "<P>.*" and Kafka's own __consumer_offsets
 *       and __transaction_state (their leaders are the group and transaction
 *       coordinators), how many each broker leads; "most" = the broker that
 *       leads most; "under_replicated" = partitions whose ISR is smaller than
 *       their replica set; "offline" = partitions without a leader;
 *       "min_replicas" = the smallest replica set among the "<P>.*"
 *       partitions (the replication factor duraflow created them with);
 *       "coordinators" = the broker coordinating each consumer group "<P>-*".
 *
 *   cluster_tool wait-isr --brokers B [--expect-brokers N] [--timeout S]
 *       Waits until the metadata lists N brokers (default 3) and every
 *       partition of every topic has a leader and its whole replica set in
 *       sync.  Exit 0 when it does (prints how long it took), 1 on timeout.
 *       A rolling restart of brokers waits for this between two brokers.
 *
 *   cluster_tool follow --brokers B --prefix P --expect N --out FILE [--timeout S]
 *       Reads <P>.results (read_committed, df_results) from the beginning and
 *       appends "<monotonic ms> <wall clock ms> <execution id>" to FILE the
 *       first time each execution's result arrives (one write per line).
 *       Exit 0 when N distinct executions have a result, 1 on timeout.  The
 *       tests measure stalls (gaps between arrivals) from FILE.
 *
 * Exit status 2: usage or a Kafka error.
 */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "duraflow/duraflow.h"
#include "fault_common.h"

static const char *brokers, *prefix, *out_path;
static long expect = -1;
static int timeout_s = 120, expect_brokers = 3;

static rd_kafka_t *admin_client(void)
{
        char e[512];
        const char *extra[] = {"log_level=3", NULL};
        rd_kafka_conf_t *kc = fc_kconf(brokers, extra);
        rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, kc, e, sizeof(e));
        if (!rk)
                fc_die("rd_kafka_new: %s", e);
        return rk;
}

static int counted(const char *topic)
{
        size_t n = prefix ? strlen(prefix) : 0;
        if (!strcmp(topic, "__consumer_offsets") || !strcmp(topic, "__transaction_state"))
                return 1;
        return prefix && !strncmp(topic, prefix, n) && topic[n] == '.';
}

typedef struct cl_state {
        int brokers, partitions, under_replicated, offline, min_replicas;
        int ids[64], leads[64];
} cl_state_t;

/* 0 and st filled, or -1 when the metadata request failed */
static int cluster_state(rd_kafka_t *rk, cl_state_t *st)
{
        const struct rd_kafka_metadata *md = NULL;
        int i, j, k;

        memset(st, 0, sizeof(*st));
        st->min_replicas = -1;
        if (rd_kafka_metadata(rk, 1, NULL, &md, 5000) != RD_KAFKA_RESP_ERR_NO_ERROR || !md)
                return -1;
        st->brokers = md->broker_cnt < 64 ? md->broker_cnt : 64;
        for (i = 0; i < st->brokers; i++)
                st->ids[i] = md->brokers[i].id;
        for (i = 0; i < md->topic_cnt; i++) {
                const rd_kafka_metadata_topic_t *t = &md->topics[i];
                int mine = counted(t->topic), dflow = mine && strncmp(t->topic, "__", 2);
                for (j = 0; j < t->partition_cnt; j++) {
                        const rd_kafka_metadata_partition_t *p = &t->partitions[j];
                        if (p->isr_cnt < p->replica_cnt)
                                st->under_replicated++;
                        if (p->leader < 0)
                                st->offline++;
                        if (dflow && (st->min_replicas < 0 || p->replica_cnt < st->min_replicas))
                                st->min_replicas = p->replica_cnt;
                        if (!mine)
                                continue;
                        st->partitions++;
                        for (k = 0; k < st->brokers; k++)
                                if (st->ids[k] == p->leader)
                                        st->leads[k]++;
                }
        }
        rd_kafka_metadata_destroy(md);
        return 0;
}

static int cmd_leaders(void)
{
        rd_kafka_t *rk = admin_client();
        cl_state_t st;
        int i, most = -1, most_n = -1;

        if (cluster_state(rk, &st))
                fc_die("no metadata from %s", brokers);
        printf("{\"brokers\":[");
        for (i = 0; i < st.brokers; i++)
                printf("%s%d", i ? "," : "", st.ids[i]);
        printf("],\"leaders\":{");
        for (i = 0; i < st.brokers; i++) {
                printf("%s\"%d\":%d", i ? "," : "", st.ids[i], st.leads[i]);
                if (st.leads[i] > most_n) {
                        most_n = st.leads[i];
                        most = st.ids[i];
                }
        }
        printf("},\"most\":%d,\"partitions\":%d,\"under_replicated\":%d,\"offline\":%d,\"min_replicas\":%d", most,
               st.partitions, st.under_replicated, st.offline, st.min_replicas);
        /* the group coordinator of each consumer group "<P>-...": the broker
         * whose loss makes the group's members rejoin */
        printf(",\"coordinators\":{");
        if (prefix) {
                const struct rd_kafka_group_list *gl = NULL;
                size_t n = strlen(prefix);
                int k = 0;
                if (rd_kafka_list_groups(rk, NULL, &gl, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR && gl) {
                        for (i = 0; i < gl->group_cnt; i++)
                                if (!strncmp(gl->groups[i].group, prefix, n) && gl->groups[i].group[n] == '-')
                                        printf("%s\"%s\":%d", k++ ? "," : "", gl->groups[i].group,
                                               (int)gl->groups[i].broker.id);
                        rd_kafka_group_list_destroy(gl);
                }
        }
        printf("}}\n");
        rd_kafka_destroy(rk);
        return 0;
}

static int cmd_wait_isr(void)
{
        rd_kafka_t *rk = admin_client();
        int64_t t0 = fc_mono_ms();
        cl_state_t st;
        int rc = 1;

        for (;;) {
                int ok = !cluster_state(rk, &st);
                if (ok && st.brokers >= expect_brokers && !st.under_replicated && !st.offline) {
                        printf("cluster_tool: %d brokers, every partition in sync after %lld ms\n", st.brokers,
                               (long long)(fc_mono_ms() - t0));
                        rc = 0;
                        break;
                }
                if (fc_mono_ms() - t0 > (int64_t)timeout_s * 1000) {
                        printf("cluster_tool: TIMEOUT after %d s: %d brokers listed, %d partitions under-replicated, "
                               "%d offline\n",
                               timeout_s, ok ? st.brokers : -1, ok ? st.under_replicated : -1, ok ? st.offline : -1);
                        break;
                }
                usleep(250000);
        }
        fflush(stdout);
        rd_kafka_destroy(rk);
        return rc;
}

typedef struct follow_ctx {
        fc_map_t *seen;
        long n;
        int fd;
} follow_ctx_t;

static void on_result(const char *id, df_exec_status_t status, const df_bytes_t *out, const char *err,
                      void *opaque)
{
        follow_ctx_t *f = opaque;
        char line[512];
        (void)status;
        (void)out;
        (void)err;
        if (fc_map_get(f->seen, id))
                return;
        fc_map_put(f->seen, id, (void *)1);
        f->n++;
        snprintf(line, sizeof(line), "%lld %lld %s\n", (long long)fc_mono_ms(), (long long)fc_now_ms(), id);
        if (fc_write_line(f->fd, line))
                fc_die("write %s failed", out_path);
}

static int cmd_follow(void)
{
        df_conf_t *conf = df_conf_new();
        char errstr[512];
        df_results_t *r;
        follow_ctx_t f = {fc_map_new(), 0, -1};
        int64_t t0 = fc_mono_ms();
        int rc = 0;

        if (df_conf_set(conf, "brokers", brokers, errstr, sizeof(errstr)) ||
            df_conf_set(conf, "topic.prefix", prefix, errstr, sizeof(errstr)) ||
            df_conf_set(conf, "log.level", "warn", errstr, sizeof(errstr)))
                fc_die("conf: %s", errstr);
        f.fd = open(out_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (f.fd < 0)
                fc_die("cannot open %s", out_path);
        r = df_results_open(conf, 1, errstr, sizeof(errstr));
        if (!r)
                fc_die("df_results_open: %s", errstr);
        while (f.n < expect) {
                if (df_results_poll(r, 200, on_result, &f) < 0)
                        fprintf(stderr, "cluster_tool: results poll error\n");
                if (fc_mono_ms() - t0 > (int64_t)timeout_s * 1000) {
                        printf("cluster_tool: TIMEOUT: %ld/%ld results after %d s\n", f.n, expect, timeout_s);
                        rc = 1;
                        break;
                }
        }
        if (!rc)
                printf("cluster_tool: all %ld results after %lld ms\n", f.n, (long long)(fc_mono_ms() - t0));
        fflush(stdout);
        df_results_close(r);
        close(f.fd);
        fc_map_destroy(f.seen, NULL);
        df_conf_destroy(conf);
        return rc;
}

static void usage(void)
{
        fprintf(stderr, "usage: cluster_tool leaders --brokers B [--prefix P]\n"
                        "       cluster_tool wait-isr --brokers B [--expect-brokers N] [--timeout S]\n"
                        "       cluster_tool follow --brokers B --prefix P --expect N --out FILE [--timeout S]\n");
        exit(2);
}

int main(int argc, char **argv)
{
        static const struct option opts[] = {{"brokers", required_argument, 0, 'b'},
                                             {"prefix", required_argument, 0, 'p'},
                                             {"expect", required_argument, 0, 'e'},
                                             {"expect-brokers", required_argument, 0, 'n'},
                                             {"out", required_argument, 0, 'o'},
                                             {"timeout", required_argument, 0, 't'},
                                             {0, 0, 0, 0}};
        const char *cmd;
        int c;

        if (argc < 2)
                usage();
        cmd = argv[1];
        optind = 2;
        while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
                switch (c) {
                case 'b': brokers = optarg; break;
                case 'p': prefix = optarg; break;
                case 'e': expect = atol(optarg); break;
                case 'n': expect_brokers = atoi(optarg); break;
                case 'o': out_path = optarg; break;
                case 't': timeout_s = atoi(optarg); break;
                default: usage();
                }
        }
        if (!brokers || optind != argc)
                usage();
        if (!strcmp(cmd, "leaders"))
                return cmd_leaders();
        if (!strcmp(cmd, "wait-isr"))
                return cmd_wait_isr();
        if (!strcmp(cmd, "follow")) {
                if (!prefix || expect < 0 || !out_path)
                        usage();
                return cmd_follow();
        }
        usage();
        return 2;
}
