/*
 * test_timers.c -- the public timer API (runtime.h: df_timer_schedule,
 * df_timer_cancel and their _async variants) against a timer service, with
 * the public API only (no framework/src include).
 *
 *   e2e_timers_broker: the real broker in $DF_BROKERS (fails when unset);
 *   e2e_timers_embedded: librdkafka's mock cluster in-process.
 *
 * delivery: 100 timers to a scratch topic (50 scheduled and acknowledged one
 * by one, 50 async and acknowledged by df_client_flush), 10 of them cancelled
 * (5 sync, 5 async), one scheduled twice (the second replaces the first):
 * the 90 + 1 arrive exactly once each, with their key and payload, never
 * before their due time; the cancelled ones and the replaced payload never
 * arrive.  arguments: invalid arguments are refused with a message naming
 * the field and the rule, and nothing of them reaches <prefix>.timers; what a
 * valid call writes there is a Timer record (records.h) with its arguments,
 * a cancel a tombstone.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "duraflow/duraflow.h"
#include "duraflow/records.h"
#include "e2e_common.h"

#define N_TIMERS 100

static int64_t wall_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *bootstrap(e2e_env_t *env)
{
        const char *b = df_conf_get(env->conf, "brokers");
        return b && *b ? b : df_embedded_bootstrap(env->conf);
}

static rd_kafka_conf_t *kconf(e2e_env_t *env)
{
        char e[256];
        rd_kafka_conf_t *kc = rd_kafka_conf_new();
        ck_assert_int_eq(rd_kafka_conf_set(kc, "bootstrap.servers", bootstrap(env), e, sizeof(e)), RD_KAFKA_CONF_OK);
        return kc;
}

/* Create topic with 3 partitions (the scratch target of the timers).  The
 * mock cluster of embedded mode (librdkafka 2.0) has no CreateTopics: a
 * producer's metadata request for the topic creates it there. */
static void create_topic(e2e_env_t *env, const char *topic)
{
        char e[512];
        const char *b = df_conf_get(env->conf, "brokers");
        rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, kconf(env), e, sizeof(e));
        rd_kafka_NewTopic_t *nt;
        rd_kafka_queue_t *q;
        rd_kafka_event_t *ev;
        const rd_kafka_CreateTopics_result_t *res;
        const rd_kafka_topic_result_t **tr;
        size_t n;

        ck_assert_msg(rk != NULL, "%s", e);
        if (!b || !*b) {
                const struct rd_kafka_metadata *md = NULL;
                rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
                ck_assert_int_eq(rd_kafka_metadata(rk, 0, rkt, &md, 10000), 0);
                ck_assert_msg(md->topic_cnt == 1 && !md->topics[0].err, "mock topic %s not created", topic);
                rd_kafka_metadata_destroy(md);
                rd_kafka_topic_destroy(rkt);
                rd_kafka_destroy(rk);
                return;
        }
        nt = rd_kafka_NewTopic_new(topic, 3, 1, e, sizeof(e));
        ck_assert_msg(nt != NULL, "%s", e);
        q = rd_kafka_queue_new(rk);
        rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
        ev = rd_kafka_queue_poll(q, 30000);
        ck_assert_msg(ev != NULL, "CreateTopics %s: no answer in 30 s", topic);
        res = rd_kafka_event_CreateTopics_result(ev);
        ck_assert(res != NULL);
        tr = rd_kafka_CreateTopics_result_topics(res, &n);
        ck_assert_uint_eq(n, 1);
        ck_assert_msg(!rd_kafka_topic_result_error(tr[0]), "CreateTopics %s: %s", topic,
                      rd_kafka_topic_result_error_string(tr[0]));
        rd_kafka_event_destroy(ev);
        rd_kafka_NewTopic_destroy(nt);
        rd_kafka_queue_destroy(q);
        rd_kafka_destroy(rk);
}

/* A read_committed consumer of every partition of topic from the start. */
static rd_kafka_t *reader(e2e_env_t *env, const char *topic, int eof)
{
        char e[512];
        rd_kafka_conf_t *kc = kconf(env);
        rd_kafka_topic_partition_list_t *tp = rd_kafka_topic_partition_list_new(3);
        rd_kafka_t *rk;
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_topic_t *rkt;
        int p, parts;

        ck_assert_int_eq(rd_kafka_conf_set(kc, "group.id", "e2e-timers-unused", e, sizeof(e)), RD_KAFKA_CONF_OK);
        ck_assert_int_eq(rd_kafka_conf_set(kc, "isolation.level", "read_committed", e, sizeof(e)), RD_KAFKA_CONF_OK);
        ck_assert_int_eq(rd_kafka_conf_set(kc, "enable.auto.commit", "false", e, sizeof(e)), RD_KAFKA_CONF_OK);
        ck_assert_int_eq(rd_kafka_conf_set(kc, "fetch.wait.max.ms", "10", e, sizeof(e)), RD_KAFKA_CONF_OK);
        ck_assert_int_eq(rd_kafka_conf_set(kc, "enable.partition.eof", eof ? "true" : "false", e, sizeof(e)),
                         RD_KAFKA_CONF_OK);
        rk = rd_kafka_new(RD_KAFKA_CONSUMER, kc, e, sizeof(e));
        ck_assert_msg(rk != NULL, "%s", e);
        rkt = rd_kafka_topic_new(rk, topic, NULL);
        ck_assert_int_eq(rd_kafka_metadata(rk, 0, rkt, &md, 10000), 0);
        ck_assert_int_eq(md->topic_cnt, 1);
        parts = md->topics[0].partition_cnt;
        ck_assert_msg(parts > 0, "topic %s has no partitions", topic);
        rd_kafka_metadata_destroy(md);
        rd_kafka_topic_destroy(rkt);
        for (p = 0; p < parts; p++)
                rd_kafka_topic_partition_list_add(tp, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
        ck_assert_int_eq(rd_kafka_assign(rk, tp), 0);
        rd_kafka_topic_partition_list_destroy(tp);
        return rk;
}

static void reader_close(rd_kafka_t *rk)
{
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
}

/* ---------------- delivery ---------------- */

typedef struct arrival {
        int count;
        int64_t at_ms, ts_ms; /* first arrival: local wall clock, record timestamp */
} arrival_t;

static int cmp64(const void *a, const void *b)
{
        int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
        return x < y ? -1 : x > y;
}

START_TEST(test_timers_delivered_once_none_early)
{
        e2e_env_t env;
        char errstr[512], target[200], id[64], key[64], payload[128];
        int64_t due[N_TIMERS], t0, t_sync = 0, t_async, last_due, deadline, moved_due, lateness[N_TIMERS + 1];
        arrival_t got[N_TIMERS], moved = {0};
        int i, cancelled[N_TIMERS] = {0}, distinct = 0, n_late = 0, early = 0, foreign = 0, dups = 0;
        rd_kafka_t *rk;
        df_err_t rc;

        ck_assert_msg(e2e_start(&env, "timers", NULL, errstr, sizeof(errstr)) == 0, "%s", errstr);
        snprintf(target, sizeof(target), "%s.scratch", env.prefix);
        create_topic(&env, target);
        memset(got, 0, sizeof(got));

        /* 100 timers due 4..7 s from now, 30 ms apart: 50 acknowledged one by
         * one, 50 by one flush */
        t0 = wall_ms();
        for (i = 0; i < N_TIMERS; i++) {
                due[i] = t0 + 4000 + i * 30;
                snprintf(id, sizeof(id), "e2e:timer-%d", i);
                snprintf(key, sizeof(key), "key-%d", i);
                snprintf(payload, sizeof(payload), "%d %lld", i, (long long)due[i]);
                if (i == N_TIMERS / 2)
                        t_sync = wall_ms() - t0;
                rc = i < N_TIMERS / 2 ? df_timer_schedule(env.client, id, due[i], target, key, strlen(key), payload,
                                                          strlen(payload), errstr, sizeof(errstr))
                                      : df_timer_schedule_async(env.client, id, due[i], target, key, strlen(key),
                                                                payload, strlen(payload), errstr, sizeof(errstr));
                ck_assert_msg(rc == DF_OK, "schedule %s: %s: %s", id, df_err_name(rc), errstr);
        }
        ck_assert_int_eq(df_client_flush(env.client, 30000), DF_OK);
        t_async = wall_ms() - t0 - t_sync;
        /* cancel 10: i = 3, 13, ..., 93 (5 sync, 5 async) */
        for (i = 3; i < N_TIMERS; i += 10) {
                snprintf(id, sizeof(id), "e2e:timer-%d", i);
                rc = i < N_TIMERS / 2 ? df_timer_cancel(env.client, id, errstr, sizeof(errstr))
                                      : df_timer_cancel_async(env.client, id, errstr, sizeof(errstr));
                ck_assert_msg(rc == DF_OK, "cancel %s: %s: %s", id, df_err_name(rc), errstr);
                cancelled[i] = 1;
        }
        ck_assert_int_eq(df_client_flush(env.client, 30000), DF_OK);
        /* one scheduled twice: the second replaces the first */
        ck_assert_int_eq(df_timer_schedule(env.client, "e2e:moved", t0 + 4500, target, "moved", 5, "old", 3, errstr,
                                           sizeof(errstr)),
                         DF_OK);
        moved_due = t0 + 6000;
        ck_assert_int_eq(df_timer_schedule(env.client, "e2e:moved", moved_due, target, "moved", 5, "new", 3, errstr,
                                           sizeof(errstr)),
                         DF_OK);
        ck_assert_msg(wall_ms() < t0 + 3500, "scheduling took %lld ms: the first timers may be due already",
                      (long long)(wall_ms() - t0));
        fprintf(stderr, "e2e_timers: 50 timers acknowledged one by one in %lld ms, 50 async + flush in %lld ms\n",
                (long long)t_sync, (long long)t_async);

        last_due = due[N_TIMERS - 1];
        deadline = last_due + 30000;
        rk = reader(&env, target, 0);
        /* until every expected timer arrived, then 3 s more past the last due
         * time for duplicates and cancelled ones */
        for (;;) {
                int64_t now = wall_ms();
                rd_kafka_message_t *m;
                if (distinct == N_TIMERS - 10 && moved.count && now > last_due + 3000)
                        break;
                if (now > deadline)
                        break;
                m = rd_kafka_consumer_poll(rk, 100);
                if (!m)
                        continue;
                now = wall_ms(); /* when it arrived (the poll may have waited) */
                if (!m->err) {
                        rd_kafka_timestamp_type_t tt;
                        int64_t ts = rd_kafka_message_timestamp(m, &tt);
                        long long due_got = 0;
                        char buf[128];
                        int idx = -1;
                        snprintf(buf, sizeof(buf), "%.*s", (int)(m->len < 127 ? m->len : 127),
                                 m->payload ? (const char *)m->payload : "");
                        if (m->key_len == 5 && !memcmp(m->key, "moved", 5)) {
                                ck_assert_msg(!strcmp(buf, "new"), "the replaced payload \"%s\" was delivered", buf);
                                if (moved.count++ == 0) {
                                        moved.at_ms = now;
                                        moved.ts_ms = ts;
                                }
                        } else if (sscanf(buf, "%d %lld", &idx, &due_got) == 2 && idx >= 0 &&
                                   idx < N_TIMERS && due_got == due[idx]) {
                                snprintf(key, sizeof(key), "key-%d", idx);
                                ck_assert_msg(m->key_len == strlen(key) && !memcmp(m->key, key, m->key_len),
                                              "timer %d delivered with key \"%.*s\"", idx, (int)m->key_len,
                                              (const char *)m->key);
                                if (got[idx].count++ == 0) {
                                        got[idx].at_ms = now;
                                        got[idx].ts_ms = ts;
                                        if (!cancelled[idx])
                                                distinct++;
                                } else {
                                        dups++;
                                }
                        } else {
                                foreign++;
                        }
                }
                rd_kafka_message_destroy(m);
        }
        reader_close(rk);
        for (i = 0; i < N_TIMERS; i++) {
                if (cancelled[i]) {
                        ck_assert_msg(got[i].count == 0, "cancelled timer %d was delivered %d time(s)", i,
                                      got[i].count);
                        continue;
                }
                ck_assert_msg(got[i].count == 1, "timer %d delivered %d times", i, got[i].count);
                /* never early, by the record's timestamp (the service's
                 * produce time) and by this reader's clock */
                if (got[i].ts_ms < due[i] || got[i].at_ms < due[i])
                        early++;
                lateness[n_late++] = got[i].at_ms - due[i];
        }
        ck_assert_msg(moved.count == 1, "the rescheduled timer arrived %d times", moved.count);
        ck_assert_msg(moved.ts_ms >= moved_due && moved.at_ms >= moved_due,
                      "the rescheduled timer arrived early: due %lld, record timestamp %lld, read at %lld",
                      (long long)moved_due, (long long)moved.ts_ms, (long long)moved.at_ms);
        qsort(lateness, (size_t)n_late, sizeof(lateness[0]), cmp64);
        fprintf(stderr,
                "e2e_timers: %d scheduled, 10 cancelled, 1 rescheduled: %d + %d delivered, duplicates %d, early %d, "
                "cancelled delivered 0, foreign %d; arrival - due (ms): p50 %lld, max %lld\n",
                N_TIMERS, distinct, moved.count, dups, early, foreign, (long long)lateness[n_late / 2],
                (long long)lateness[n_late - 1]);
        ck_assert_int_eq(distinct, N_TIMERS - 10);
        ck_assert_int_eq(dups, 0);
        ck_assert_int_eq(early, 0);
        ck_assert_int_eq(foreign, 0);
        e2e_stop(&env);
}
END_TEST

/* ---------------- arguments ---------------- */

/* rc and a message holding every fragment of want (NULL-terminated). */
static void expect_refused(df_err_t got, df_err_t want, const char *errstr, const char *const *frag, const char *what)
{
        ck_assert_msg(got == want, "%s: %s (\"%s\"), expected %s", what, df_err_name(got), errstr, df_err_name(want));
        for (; *frag; frag++)
                ck_assert_msg(strstr(errstr, *frag) != NULL, "%s: message \"%s\" lacks \"%s\"", what, errstr, *frag);
}

#define REFUSED(call, want, ...)                                                                                       \
        do {                                                                                                           \
                static const char *const frag_[] = {__VA_ARGS__, NULL};                                                \
                errstr[0] = '\0';                                                                                      \
                expect_refused((call), (want), errstr, frag_, #call);                                                  \
        } while (0)

typedef struct timers_seen {
        int records, tombstones, timers;
        df_timer_info_t *valid2; /* the record of "e2e:valid-2" */
        char last_tombstone[64];
} timers_seen_t;

/* Read <prefix>.timers to its end. */
static void read_timers(e2e_env_t *env, timers_seen_t *s)
{
        char topic[200], errstr[256];
        rd_kafka_t *rk;
        int eofs = 0;
        memset(s, 0, sizeof(*s));
        snprintf(topic, sizeof(topic), "%s.timers", env->prefix);
        rk = reader(env, topic, 1);
        while (eofs < 3) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 15000);
                ck_assert_msg(m != NULL, "reading %s timed out", topic);
                if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                        eofs++;
                } else if (!m->err) {
                        s->records++;
                        if (!m->payload) {
                                s->tombstones++;
                                snprintf(s->last_tombstone, sizeof(s->last_tombstone), "%.*s", (int)m->key_len,
                                         (const char *)m->key);
                        } else {
                                df_timer_info_t *t = NULL;
                                ck_assert_int_eq(df_record_type(m->payload, m->len), DF_RECORD_TIMER);
                                ck_assert_msg(df_record_decode_timer(m->payload, m->len, &t, errstr,
                                                                     sizeof(errstr)) == DF_OK,
                                              "%s", errstr);
                                ck_assert_msg(m->key_len == strlen(t->timer_id) &&
                                                      !memcmp(m->key, t->timer_id, m->key_len),
                                              "a timer record keyed \"%.*s\" holds timer id \"%s\"", (int)m->key_len,
                                              (const char *)m->key, t->timer_id);
                                if (!strcmp(t->timer_id, "e2e:valid-2")) {
                                        df_timer_info_destroy(s->valid2);
                                        s->valid2 = t;
                                } else {
                                        df_timer_info_destroy(t);
                                }
                                s->timers++;
                        }
                }
                rd_kafka_message_destroy(m);
        }
        reader_close(rk);
}

START_TEST(test_timer_arguments_refused)
{
        e2e_env_t env;
        char errstr[512], target[200], timers[200], long_id[DF_TIMER_ID_MAX + 2], long_topic[DF_TOPIC_NAME_MAX + 2];
        int64_t now;
        uint8_t *big;
        timers_seen_t seen;
        df_client_t *none = NULL;

        ck_assert_msg(e2e_start(&env, "timerargs", NULL, errstr, sizeof(errstr)) == 0, "%s", errstr);
        snprintf(target, sizeof(target), "%s.scratch", env.prefix);
        snprintf(timers, sizeof(timers), "%s.timers", env.prefix);
        create_topic(&env, target);
        now = wall_ms();
        memset(long_id, 'i', sizeof(long_id) - 1);
        long_id[sizeof(long_id) - 1] = '\0';
        memset(long_topic, 't', sizeof(long_topic) - 1);
        long_topic[sizeof(long_topic) - 1] = '\0';
        big = calloc(1, DF_PAYLOAD_MAX + 1);

        REFUSED(df_timer_schedule(none, "t", now, target, "k", 1, "p", 1, errstr, sizeof(errstr)), DF_ERR_INVALID_ARG,
                "NULL client");
        /* the timer id */
        REFUSED(df_timer_schedule(env.client, NULL, now, target, "k", 1, "p", 1, errstr, sizeof(errstr)),
                DF_ERR_INVALID_ARG, "timer id is empty", "1..256 bytes");
        REFUSED(df_timer_schedule(env.client, "", now, target, "k", 1, "p", 1, errstr, sizeof(errstr)),
                DF_ERR_INVALID_ARG, "timer id is empty", "1..256 bytes");
        REFUSED(df_timer_schedule(env.client, long_id, now, target, "k", 1, "p", 1, errstr, sizeof(errstr)),
                DF_ERR_INVALID_ARG, "timer id", "257 bytes, over the limit of 256");
        REFUSED(df_timer_schedule(env.client, "bad\xc3\x28utf8", now, target, "k", 1, "p", 1, errstr, sizeof(errstr)),
                DF_ERR_INVALID_ARG, "timer id \"bad\\xC3(utf8\" is not valid UTF-8");
        REFUSED(df_timer_schedule(env.client, "esc\x1b[31m", now, target, "k", 1, "p", 1, errstr, sizeof(errstr)),
                DF_ERR_INVALID_ARG, "timer id \"esc\\x1B[31m\" contains a control character (U+001B)");
        REFUSED(df_timer_schedule(env.client, "bidi\xe2\x80\xae", now, target, "k", 1, "p", 1, errstr, sizeof(errstr)),
                DF_ERR_INVALID_ARG, "timer id \"bidi\\u202E\" contains a control character (U+202E)");
        REFUSED(df_timer_schedule(env.client, "exec-1/2/0/0", now, target, "k", 1, "p", 1, errstr, sizeof(errstr)),
                DF_ERR_INVALID_ARG, "contains '/'", "workers' own timers");
        REFUSED(df_timer_cancel(env.client, "exec-1/2/0/0", errstr, sizeof(errstr)), DF_ERR_INVALID_ARG,
                "timer cancel: timer id", "contains '/'");
        REFUSED(df_timer_cancel_async(env.client, "", errstr, sizeof(errstr)), DF_ERR_INVALID_ARG,
                "timer id is empty");
        REFUSED(df_timer_cancel(none, "t", errstr, sizeof(errstr)), DF_ERR_INVALID_ARG, "NULL client");
        /* the due time: within 366 days of now; seconds and microseconds
         * passed for ms fall outside */
        REFUSED(df_timer_schedule(env.client, "t", now + DF_TIMER_DUE_RANGE_MS + 60000, target, "k", 1, "p", 1, errstr,
                                  sizeof(errstr)),
                DF_ERR_INVALID_ARG, "due time", "absolute UTC time in ms within 31622400000 ms (366 days) of now");
        REFUSED(df_timer_schedule(env.client, "t", now / 1000, target, "k", 1, "p", 1, errstr, sizeof(errstr)),
                DF_ERR_INVALID_ARG, "due time", "within 31622400000 ms");
        REFUSED(df_timer_schedule(env.client, "t", now * 1000, target, "k", 1, "p", 1, errstr, sizeof(errstr)),
                DF_ERR_INVALID_ARG, "due time", "within 31622400000 ms");
        REFUSED(df_timer_schedule(env.client, "t", -1, target, "k", 1, "p", 1, errstr, sizeof(errstr)),
                DF_ERR_INVALID_ARG, "due time -1");
        /* the target topic */
        REFUSED(df_timer_schedule(env.client, "t", now, NULL, "k", 1, "p", 1, errstr, sizeof(errstr)),
                DF_ERR_INVALID_ARG, "target topic is empty", "A-Z a-z 0-9 . _ -");
        REFUSED(df_timer_schedule(env.client, "t", now, "two words", "k", 1, "p", 1, errstr, sizeof(errstr)),
                DF_ERR_INVALID_ARG, "target topic \"two words\" is not a Kafka topic name",
                "1..249 characters of A-Z a-z 0-9 . _ -");
        REFUSED(df_timer_schedule(env.client, "t", now, "..", "k", 1, "p", 1, errstr, sizeof(errstr)),
                DF_ERR_INVALID_ARG, "target topic \"..\" is not a Kafka topic name");
        REFUSED(df_timer_schedule(env.client, "t", now, "t\x1b]0;x", "k", 1, "p", 1, errstr, sizeof(errstr)),
                DF_ERR_INVALID_ARG, "target topic \"t\\x1B]0;x\" is not a Kafka topic name");
        REFUSED(df_timer_schedule(env.client, "t", now, long_topic, "k", 1, "p", 1, errstr, sizeof(errstr)),
                DF_ERR_INVALID_ARG, "is not a Kafka topic name", "1..249 characters");
        REFUSED(df_timer_schedule(env.client, "t", now, timers, "k", 1, "p", 1, errstr, sizeof(errstr)),
                DF_ERR_INVALID_ARG, "is the timers topic itself");
        REFUSED(df_timer_schedule(env.client, "t", now, "e2e-no-such-topic", "k", 1, "p", 1, errstr, sizeof(errstr)),
                DF_ERR_NOT_FOUND, "topic \"e2e-no-such-topic\" does not exist");
        /* key and payload */
        REFUSED(df_timer_schedule(env.client, "t", now, target, NULL, 3, "p", 1, errstr, sizeof(errstr)),
                DF_ERR_INVALID_ARG, "NULL key with a length of 3");
        REFUSED(df_timer_schedule(env.client, "t", now, target, "k", 1, NULL, 5, errstr, sizeof(errstr)),
                DF_ERR_INVALID_ARG, "NULL payload with a length of 5");
        REFUSED(df_timer_schedule(env.client, "t", now, target, big, DF_TIMER_KEY_MAX + 1, "p", 1, errstr,
                                  sizeof(errstr)),
                DF_ERR_PAYLOAD_TOO_LARGE, "key is 65537 bytes, over the limit of 65536");
        REFUSED(df_timer_schedule_async(env.client, "t", now, target, "k", 1, big, DF_PAYLOAD_MAX + 1, errstr,
                                        sizeof(errstr)),
                DF_ERR_PAYLOAD_TOO_LARGE, "payload is 1000001 bytes, over the limit of 1000000");
        free(big);
        ck_assert_int_eq(df_client_flush(env.client, 30000), DF_OK);

        /* none of them wrote anything */
        read_timers(&env, &seen);
        ck_assert_msg(seen.records == 0, "%d record(s) in %s after refused calls", seen.records, timers);

        /* a valid one is a Timer record with its arguments (an empty key and
         * payload allowed), a cancel a tombstone */
        ck_assert_int_eq(df_timer_schedule(env.client, "e2e:valid", now + 3600000, target, NULL, 0, NULL, 0, errstr,
                                           sizeof(errstr)),
                         DF_OK);
        ck_assert_int_eq(df_timer_schedule(env.client, "e2e:valid-2", now + 7200000, target, "k\0y", 3, "p\xff", 2,
                                           errstr, sizeof(errstr)),
                         DF_OK);
        ck_assert_int_eq(df_timer_cancel(env.client, "e2e:valid", errstr, sizeof(errstr)), DF_OK);
        read_timers(&env, &seen);
        ck_assert_int_eq(seen.records, 3);
        ck_assert_int_eq(seen.timers, 2);
        ck_assert_int_eq(seen.tombstones, 1);
        ck_assert_str_eq(seen.last_tombstone, "e2e:valid");
        ck_assert_ptr_nonnull(seen.valid2);
        ck_assert_str_eq(seen.valid2->timer_id, "e2e:valid-2");
        ck_assert_int_eq(seen.valid2->due_ms, now + 7200000);
        ck_assert_str_eq(seen.valid2->topic, target);
        ck_assert_uint_eq(seen.valid2->key.len, 3);
        ck_assert(!memcmp(seen.valid2->key.data, "k\0y", 3));
        ck_assert_uint_eq(seen.valid2->payload.len, 2);
        ck_assert(!memcmp(seen.valid2->payload.data, "p\xff", 2));
        ck_assert(seen.valid2->created_ms >= now && seen.valid2->created_ms <= wall_ms());
        df_timer_info_destroy(seen.valid2);
        e2e_stop(&env);
}
END_TEST

int main(void)
{
        int real = getenv("DF_BROKERS") && *getenv("DF_BROKERS");
        Suite *s = suite_create(real ? "timers-broker" : "timers-embedded");
        TCase *tc = tcase_create("timers");
        SRunner *sr;
        int failed;
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_timer_arguments_refused);
        tcase_add_test(tc, test_timers_delivered_once_none_early);
        suite_add_tcase(s, tc);
        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? 1 : 0;
}
