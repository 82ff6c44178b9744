/* fault_common.c -- see fault_common.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fault_common.h"

/* ---------------- hash map ---------------- */

struct fc_map {
        char **keys;
        void **vals;
        size_t cap, n;
};

static uint64_t fc_hash(const char *s)
{
        uint64_t h = 1469598103934665603ULL;
        while (*s)
                h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
        return h;
}

fc_map_t *fc_map_new(void)
{
        fc_map_t *m = calloc(1, sizeof(*m));
        if (!m)
                fc_die("out of memory");
        m->cap = 1024;
        m->keys = calloc(m->cap, sizeof(char *));
        m->vals = calloc(m->cap, sizeof(void *));
        if (!m->keys || !m->vals)
                fc_die("out of memory");
        return m;
}

static size_t fc_slot(const fc_map_t *m, const char *key)
{
        size_t i = (size_t)fc_hash(key) & (m->cap - 1);
        while (m->keys[i] && strcmp(m->keys[i], key))
                i = (i + 1) & (m->cap - 1);
        return i;
}

void *fc_map_get(const fc_map_t *m, const char *key)
{
        size_t i = fc_slot(m, key);
        return m->keys[i] ? m->vals[i] : NULL;
}

static void fc_grow(fc_map_t *m)
{
        fc_map_t n = {0};
        size_t i;
        n.cap = m->cap * 2;
        n.keys = calloc(n.cap, sizeof(char *));
        n.vals = calloc(n.cap, sizeof(void *));
        if (!n.keys || !n.vals)
                fc_die("out of memory");
        for (i = 0; i < m->cap; i++) {
                if (m->keys[i]) {
                        size_t j = fc_slot(&n, m->keys[i]);
                        n.keys[j] = m->keys[i];
                        n.vals[j] = m->vals[i];
                }
        }
        free(m->keys);
        free(m->vals);
        m->keys = n.keys;
        m->vals = n.vals;
        m->cap = n.cap;
}

void *fc_map_put(fc_map_t *m, const char *key, void *val)
{
        size_t i;
        void *old;
        if ((m->n + 1) * 2 > m->cap)
                fc_grow(m);
        i = fc_slot(m, key);
        if (!m->keys[i]) {
                m->keys[i] = strdup(key);
                if (!m->keys[i])
                        fc_die("out of memory");
                m->vals[i] = val;
                m->n++;
                return NULL;
        }
        old = m->vals[i];
        m->vals[i] = val;
        return old;
}

size_t fc_map_size(const fc_map_t *m)
{
        return m->n;
}

void fc_map_foreach(fc_map_t *m, void (*fn)(const char *key, void *val, void *opaque), void *opaque)
{
        size_t i;
        for (i = 0; i < m->cap; i++)
                if (m->keys[i])
                        fn(m->keys[i], m->vals[i], opaque);
}

void fc_map_destroy(fc_map_t *m, void (*free_val)(void *))
{
        size_t i;
        if (!m)
                return;
        for (i = 0; i < m->cap; i++) {
                if (m->keys[i]) {
                        free(m->keys[i]);
                        if (free_val)
                                free_val(m->vals[i]);
                }
        }
        free(m->keys);
        free(m->vals);
        free(m);
}

/* ---------------- clocks, misc ---------------- */

int64_t fc_now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t fc_mono_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void fc_die(const char *fmt, ...)
{
        va_list ap;
        fputs("fault: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        exit(2);
}

int fc_write_line(int fd, const char *line)
{
        size_t len = strlen(line);
        ssize_t n;
        do
                n = write(fd, line, len);
        while (n < 0 && errno == EINTR);
        return n == (ssize_t)len ? 0 : -1;
}

/* ---------------- Kafka ---------------- */

static void fc_kset(rd_kafka_conf_t *kc, const char *name, const char *value)
{
        char e[512];
        if (rd_kafka_conf_set(kc, name, value, e, sizeof(e)) != RD_KAFKA_CONF_OK)
                fc_die("Kafka property %s=%s: %s", name, value, e);
}

rd_kafka_conf_t *fc_kconf(const char *brokers, const char *const *extra)
{
        rd_kafka_conf_t *kc = rd_kafka_conf_new();
        fc_kset(kc, "bootstrap.servers", brokers);
        fc_kset(kc, "log_level", "3");
        for (; extra && *extra; extra++) {
                char name[256];
                const char *eq = strchr(*extra, '=');
                if (!eq || (size_t)(eq - *extra) >= sizeof(name))
                        fc_die("bad Kafka property %s", *extra);
                memcpy(name, *extra, (size_t)(eq - *extra));
                name[eq - *extra] = '\0';
                fc_kset(kc, name, eq + 1);
        }
        return kc;
}

rd_kafka_t *fc_producer(const char *brokers)
{
        static const char *const extra[] = {"partitioner=murmur2_random", "enable.idempotence=true",
                                            "message.max.bytes=3000000", "linger.ms=5", NULL};
        char e[512];
        rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, fc_kconf(brokers, extra), e, sizeof(e));
        if (!rk)
                fc_die("producer: %s", e);
        return rk;
}

int fc_partitions(rd_kafka_t *rk, const char *topic, int timeout_ms)
{
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
        int n = -1;
        if (rd_kafka_metadata(rk, 0, t, &md, timeout_ms) == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1 &&
            !md->topics[0].err)
                n = md->topics[0].partition_cnt;
        if (md)
                rd_kafka_metadata_destroy(md);
        rd_kafka_topic_destroy(t);
        return n;
}

int fc_read_uncommitted;

long fc_read_topic(const char *brokers, const char *topic, int timeout_ms, fc_record_fn fn, void *opaque)
{
        const char *const extra[] = {"group.id=fault-reader-unused", "enable.auto.commit=false",
                                     fc_read_uncommitted ? "isolation.level=read_uncommitted"
                                                         : "isolation.level=read_committed",
                                     "enable.partition.eof=true", "fetch.wait.max.ms=10", NULL};
        char e[512];
        rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, fc_kconf(brokers, extra), e, sizeof(e));
        rd_kafka_topic_partition_list_t *tp;
        int64_t deadline = fc_mono_ms() + timeout_ms;
        int parts, p, pending = 0;
        long n = 0;

        if (!rk)
                fc_die("consumer: %s", e);
        parts = fc_partitions(rk, topic, 10000);
        if (parts < 0) {
                fprintf(stderr, "fault: topic %s: no metadata\n", topic);
                rd_kafka_destroy(rk);
                return -1;
        }
        tp = rd_kafka_topic_partition_list_new(parts);
        for (p = 0; p < parts; p++) {
                int64_t lo = 0, hi = 0;
                rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, 10000);
                if (err) {
                        fprintf(stderr, "fault: %s[%d] watermarks: %s\n", topic, p, rd_kafka_err2str(err));
                        n = -1;
                        goto out;
                }
                if (hi > lo) {
                        rd_kafka_topic_partition_list_add(tp, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
                        pending++;
                }
        }
        rd_kafka_assign(rk, tp);
        while (pending > 0) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
                if (!m) {
                        if (fc_mono_ms() > deadline) {
                                fprintf(stderr, "fault: reading %s timed out\n", topic);
                                n = -1;
                                goto out;
                        }
                        continue;
                }
                if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
                        pending--;
                else if (m->err)
                        fprintf(stderr, "fault: reading %s: %s\n", topic, rd_kafka_message_errstr(m));
                else {
                        fn(m, opaque);
                        n++;
                }
                rd_kafka_message_destroy(m);
        }
out:
        rd_kafka_topic_partition_list_destroy(tp);
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
        return n;
}

static rd_kafka_t *fc_admin(const char *brokers)
{
        char e[512];
        rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, fc_kconf(brokers, NULL), e, sizeof(e));
        if (!rk)
                fc_die("admin client: %s", e);
        return rk;
}

int fc_create_topic(const char *brokers, const char *topic, int partitions, char *errstr, size_t errstr_size)
{
        rd_kafka_t *rk = fc_admin(brokers);
        rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, partitions, 1, errstr, errstr_size);
        rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
        rd_kafka_event_t *ev;
        int ret = -1;

        if (!nt)
                goto out;
        rd_kafka_NewTopic_set_config(nt, "max.message.bytes", "2097152");
        rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
        ev = rd_kafka_queue_poll(q, 60000);
        if (!ev) {
                snprintf(errstr, errstr_size, "CreateTopics %s: no answer", topic);
        } else if (rd_kafka_event_error(ev)) {
                snprintf(errstr, errstr_size, "CreateTopics %s: %s", topic, rd_kafka_event_error_string(ev));
        } else {
                size_t n;
                const rd_kafka_topic_result_t **tr =
                        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
                rd_kafka_resp_err_t err = n ? rd_kafka_topic_result_error(tr[0]) : RD_KAFKA_RESP_ERR_NO_ERROR;
                if (err && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
                        snprintf(errstr, errstr_size, "CreateTopics %s: %s", topic, rd_kafka_err2str(err));
                else
                        ret = 0;
        }
        if (ev)
                rd_kafka_event_destroy(ev);
        rd_kafka_NewTopic_destroy(nt);
out:
        rd_kafka_queue_destroy(q);
        rd_kafka_destroy(rk);
        return ret;
}

int fc_delete_topics(const char *brokers, const char *prefix)
{
        rd_kafka_t *rk = fc_admin(brokers);
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_DeleteTopic_t *dt[256];
        size_t plen = strlen(prefix);
        int i, n = 0, ret = -1;

        if (rd_kafka_metadata(rk, 1, NULL, &md, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR)
                goto out;
        for (i = 0; i < md->topic_cnt && n < 256; i++) {
                const char *t = md->topics[i].topic;
                if (!strncmp(t, prefix, plen) && t[plen] == '.')
                        dt[n++] = rd_kafka_DeleteTopic_new(t);
        }
        if (n) {
                rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
                rd_kafka_event_t *ev;
                rd_kafka_DeleteTopics(rk, dt, (size_t)n, NULL, q);
                ev = rd_kafka_queue_poll(q, 30000);
                if (ev)
                        rd_kafka_event_destroy(ev);
                rd_kafka_queue_destroy(q);
                for (i = 0; i < n; i++)
                        rd_kafka_DeleteTopic_destroy(dt[i]);
        }
        ret = n;
out:
        if (md)
                rd_kafka_metadata_destroy(md);
        rd_kafka_destroy(rk);
        return ret;
}
