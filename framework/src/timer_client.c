/*
 * timer_client.c -- the timer API (runtime.h): any producer asks the timer
 * service (timer.c) to deliver a payload to a topic and key at a due time.
 *
 * A timer is a Timer record keyed by its id on <prefix>.timers, produced by
 * the client's idempotent producer (murmur2_random: the same partition as
 * the workers' transactional producers pick for the id); a cancel is a
 * tombstone with the same key, so a schedule and a cancel of one id reach
 * the same partition in the order they were sent.  Arguments are checked
 * here, at the boundary: the timer service skips what does not decode, and
 * a target topic that does not exist could never be delivered to.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "text.h"

/* How long a target topic that is not in the brokers' metadata is looked
 * for again before it is reported missing, ms. */
#define DF__TOPIC_APPEAR_MS 1000

/* 1 when topic is in the client's list of topics seen to exist (c->lock held). */
static int df__topic_known(const df_client_t *c, const char *topic)
{
        size_t n = strlen(topic);
        const char *p = c->known_topics, *end = p ? p + c->known_len : NULL;
        while (p && p < end) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                if (nl && (size_t)(nl - p) == n && !memcmp(p, topic, n))
                        return 1;
                p = nl ? nl + 1 : end;
        }
        return 0;
}

/*
 * Does topic exist on the brokers?  Asked once per topic and client: a
 * topic found is remembered, a missing one looked for again for up to
 * DF__TOPIC_APPEAR_MS (one just created), and again at the next call.  The
 * metadata request lists every topic (naming one could make a broker with
 * auto.create.topics.enable create it).  DF_OK, DF_ERR_NOT_FOUND,
 * DF_ERR_KAFKA, DF_ERR_NOMEM.
 */
static df_err_t df__topic_exists(df_client_t *c, const char *topic, char *errstr, size_t errstr_size)
{
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_resp_err_t err;
        df_err_t rc = DF_ERR_NOT_FOUND;
        char q[300];
        int i, attempt;

        pthread_mutex_lock(&c->lock);
        if (df__topic_known(c, topic)) {
                pthread_mutex_unlock(&c->lock);
                return DF_OK;
        }
        pthread_mutex_unlock(&c->lock);
        /* a topic created a moment ago may not be in every broker's
         * metadata yet: look again for up to DF__TOPIC_APPEAR_MS */
        for (attempt = 0;; attempt++) {
                err = rd_kafka_metadata(c->producer, 1, NULL, &md, c->timeout_ms > 0 ? c->timeout_ms : 10000);
                if (err) {
                        df__errf(errstr, errstr_size, "timer: looking up topic \"%s\": %s",
                                 df__quote(q, sizeof(q), topic), rd_kafka_err2str(err));
                        return DF_ERR_KAFKA;
                }
                for (i = 0; i < md->topic_cnt && rc != DF_OK; i++)
                        if (!md->topics[i].err && md->topics[i].partition_cnt > 0 &&
                            !strcmp(md->topics[i].topic, topic))
                                rc = DF_OK;
                rd_kafka_metadata_destroy(md);
                if (rc == DF_OK || (attempt + 1) * 200 >= DF__TOPIC_APPEAR_MS)
                        break;
                usleep(200000);
        }
        if (rc != DF_OK) {
                df__errf(errstr, errstr_size,
                         "timer: topic \"%s\" does not exist: create it before scheduling timers to it",
                         df__quote(q, sizeof(q), topic));
                return rc;
        }
        pthread_mutex_lock(&c->lock);
        if (!df__topic_known(c, topic)) {
                size_t n = strlen(topic);
                char *grown = realloc(c->known_topics, c->known_len + n + 1);
                if (!grown) {
                        pthread_mutex_unlock(&c->lock);
                        df__errf(errstr, errstr_size, "out of memory");
                        return DF_ERR_NOMEM;
                }
                memcpy(grown + c->known_len, topic, n);
                grown[c->known_len + n] = '\n';
                c->known_topics = grown;
                c->known_len += n + 1;
        }
        pthread_mutex_unlock(&c->lock);
        return DF_OK;
}

/* The checks of a schedule's arguments (public boundary), in the order of
 * the parameters. */
static df_err_t df__schedule_check(df_client_t *c, const char *timer_id, int64_t due_ms, const char *topic,
                                   const void *key, size_t klen, const void *payload, size_t plen, char *errstr,
                                   size_t errstr_size)
{
        int64_t now = df__now_ms();
        char e[400];
        df_err_t rc;

        if (!c) {
                df__errf(errstr, errstr_size, "timer: NULL client");
                return DF_ERR_INVALID_ARG;
        }
        if ((rc = df_timer_id_check(timer_id, e, sizeof(e))) != DF_OK) {
                df__errf(errstr, errstr_size, "timer: %s", e);
                return rc;
        }
        if (due_ms < now - DF_TIMER_DUE_RANGE_MS || due_ms > now + DF_TIMER_DUE_RANGE_MS) {
                df__errf(errstr, errstr_size,
                         "timer: due time %lld is %lld ms from now (%lld): it must be an absolute UTC time in ms "
                         "within %lld ms (366 days) of now",
                         (long long)due_ms, (long long)(due_ms - now), (long long)now,
                         (long long)DF_TIMER_DUE_RANGE_MS);
                return DF_ERR_INVALID_ARG;
        }
        if ((rc = df__topic_name_check("target topic", topic, e, sizeof(e))) != DF_OK) {
                df__errf(errstr, errstr_size, "timer: %s", e);
                return rc;
        }
        if (!strcmp(topic, c->t.timers)) {
                df__errf(errstr, errstr_size, "timer: target topic \"%s\" is the timers topic itself", topic);
                return DF_ERR_INVALID_ARG;
        }
        if ((klen && !key) || (plen && !payload)) {
                df__errf(errstr, errstr_size, "timer: NULL %s with a length of %zu", klen && !key ? "key" : "payload",
                         klen && !key ? klen : plen);
                return DF_ERR_INVALID_ARG;
        }
        if (klen > DF_TIMER_KEY_MAX) {
                df__errf(errstr, errstr_size, "timer: key is %zu bytes, over the limit of %d", klen, DF_TIMER_KEY_MAX);
                return DF_ERR_PAYLOAD_TOO_LARGE;
        }
        if (plen > DF_PAYLOAD_MAX) {
                df__errf(errstr, errstr_size, "timer: payload is %zu bytes, over the limit of %d", plen,
                         DF_PAYLOAD_MAX);
                return DF_ERR_PAYLOAD_TOO_LARGE;
        }
        return df__topic_exists(c, topic, errstr, errstr_size);
}

/* Produce value (NULL: a tombstone) keyed by timer_id to <prefix>.timers;
 * wait: then flush. */
static df_err_t df__timers_produce(df_client_t *c, const char *timer_id, const df__buf_t *v, int wait, char *errstr,
                                   size_t errstr_size)
{
        rd_kafka_resp_err_t err;
        pthread_mutex_lock(&c->lock);
        df__client_recover(c);
        pthread_mutex_unlock(&c->lock);
        for (;;) {
                err = rd_kafka_producev(c->producer, RD_KAFKA_V_TOPIC(c->t.timers),
                                        RD_KAFKA_V_KEY(timer_id, strlen(timer_id)),
                                        RD_KAFKA_V_VALUE(v ? v->data : NULL, v ? v->len : 0),
                                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
                if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
                        break;
                rd_kafka_poll(c->producer, 10);
        }
        if (err) {
                df__errf(errstr, errstr_size, "timer: produce to %s: %s", c->t.timers, rd_kafka_err2str(err));
                return DF_ERR_KAFKA;
        }
        rd_kafka_poll(c->producer, 0); /* serve delivery reports */
        return wait ? df__client_flush(c, c->timeout_ms, errstr, errstr_size) : DF_OK;
}

static df_err_t df__schedule(df_client_t *c, const char *timer_id, int64_t due_ms, const char *topic,
                             const void *key, size_t klen, const void *payload, size_t plen, int wait, char *errstr,
                             size_t errstr_size)
{
        df__timer_rec_t t;
        df__buf_t v = {0};
        char e[300];
        df_err_t rc;

        rc = df__schedule_check(c, timer_id, due_ms, topic, key, klen, payload, plen, errstr, errstr_size);
        if (rc != DF_OK)
                return rc;
        memset(&t, 0, sizeof(t));
        t.timer_id = (char *)timer_id;
        t.due_ms = due_ms;
        t.topic = (char *)topic;
        t.key.data = (uint8_t *)key;
        t.key.len = klen;
        t.payload.data = (uint8_t *)payload;
        t.payload.len = plen;
        t.created_ms = df__now_ms();
        if (df__timer_encode(&t, &v, e, sizeof(e))) {
                df__errf(errstr, errstr_size, "timer: %s", e);
                return DF_ERR_CODEC;
        }
        rc = df__timers_produce(c, timer_id, &v, wait, errstr, errstr_size);
        free(v.data);
        return rc;
}

df_err_t df_timer_schedule(df_client_t *c, const char *timer_id, int64_t due_ms, const char *topic, const void *key,
                           size_t klen, const void *payload, size_t plen, char *errstr, size_t errstr_size)
{
        return df__schedule(c, timer_id, due_ms, topic, key, klen, payload, plen, 1, errstr, errstr_size);
}

df_err_t df_timer_schedule_async(df_client_t *c, const char *timer_id, int64_t due_ms, const char *topic,
                                 const void *key, size_t klen, const void *payload, size_t plen, char *errstr,
                                 size_t errstr_size)
{
        return df__schedule(c, timer_id, due_ms, topic, key, klen, payload, plen, 0, errstr, errstr_size);
}

static df_err_t df__cancel(df_client_t *c, const char *timer_id, int wait, char *errstr, size_t errstr_size)
{
        char e[400];
        df_err_t rc;
        if (!c) {
                df__errf(errstr, errstr_size, "timer cancel: NULL client");
                return DF_ERR_INVALID_ARG;
        }
        if ((rc = df_timer_id_check(timer_id, e, sizeof(e))) != DF_OK) {
                df__errf(errstr, errstr_size, "timer cancel: %s", e);
                return rc;
        }
        return df__timers_produce(c, timer_id, NULL, wait, errstr, errstr_size);
}

df_err_t df_timer_cancel(df_client_t *c, const char *timer_id, char *errstr, size_t errstr_size)
{
        return df__cancel(c, timer_id, 1, errstr, errstr_size);
}

df_err_t df_timer_cancel_async(df_client_t *c, const char *timer_id, char *errstr, size_t errstr_size)
{
        return df__cancel(c, timer_id, 0, errstr, errstr_size);
}
