/*
 * collector.c -- a batch's output records, produced at commit time (see collector.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"

/* Largest original value a dead letter carries whole; a larger one is cut
 * to its first DF__DLQ_KEEP bytes (the record must fit the topic's
 * max.message.bytes, 2 MiB, and the producer's message.max.bytes). */
#define DF__DLQ_INLINE_MAX 1000000
#define DF__DLQ_KEEP 65536

int df__collector_add(df__collector_t *c, const char *topic, int32_t part, const void *key, size_t klen,
                      const df__buf_t *val, int src)
{
        df__out_t *o;
        if (c->n == c->cap) {
                int cap = c->cap ? c->cap * 2 : 16;
                df__out_t *outs = realloc(c->outs, (size_t)cap * sizeof(*outs));
                if (!outs)
                        return -1;
                c->outs = outs;
                c->cap = cap;
        }
        o = &c->outs[c->n];
        o->topic = topic;
        o->part = part;
        o->klen = klen;
        o->vlen = val ? val->len : 0;
        o->key = malloc(klen ? klen : 1);
        o->val = val && val->data ? malloc(val->len ? val->len : 1) : NULL;
        o->src = src;
        o->tp[0] = '\0';
        o->span = NULL;
        if (!o->key || (val && val->data && !o->val)) {
                free(o->key);
                free(o->val);
                df__log(DF__LOG_ERROR, "output record for %s: out of memory", topic);
                return -1;
        }
        memcpy(o->key, key, klen);
        if (o->val)
                memcpy(o->val, val->data, val->len);
        c->n++;
        c->bytes += klen + o->vlen;
        return 0;
}

int df__collector_event(df__collector_t *c, const char *topic, const df__event_t *ev, int src)
{
        df__buf_t v = {0};
        char errstr[256];
        int rc;
        if (df__event_encode(ev, &v, errstr, sizeof(errstr))) {
                df__log(DF__LOG_ERROR, "encode event: %s", errstr);
                return -1;
        }
        rc = df__collector_add(c, topic, RD_KAFKA_PARTITION_UA, ev->execution_id, strlen(ev->execution_id), &v, src);
        if (!rc)
                snprintf(c->outs[c->n - 1].tp, DF__TP_SIZE, "%s", ev->traceparent);
        free(v.data);
        return rc;
}

int df__collector_timer(df__collector_t *c, const char *topic, const df__timer_rec_t *t, int src)
{
        df__buf_t v = {0};
        char errstr[256];
        int rc;
        if (df__timer_encode(t, &v, errstr, sizeof(errstr))) {
                df__log(DF__LOG_ERROR, "encode timer: %s", errstr);
                return -1;
        }
        rc = df__collector_add(c, topic, RD_KAFKA_PARTITION_UA, t->timer_id, strlen(t->timer_id), &v, src);
        if (!rc)
                snprintf(c->outs[c->n - 1].tp, DF__TP_SIZE, "%s", t->traceparent);
        free(v.data);
        return rc;
}

int df__collector_result(df__collector_t *c, const char *topic, const df__result_rec_t *r, int src)
{
        df__buf_t v = {0};
        char errstr[256];
        int rc;
        if (df__result_encode(r, &v, errstr, sizeof(errstr))) {
                df__log(DF__LOG_ERROR, "encode result: %s", errstr);
                return -1;
        }
        rc = df__collector_add(c, topic, RD_KAFKA_PARTITION_UA, r->execution_id, strlen(r->execution_id), &v, src);
        if (!rc)
                snprintf(c->outs[c->n - 1].tp, DF__TP_SIZE, "%s", r->traceparent);
        free(v.data);
        return rc;
}

int df__collector_dead_letter(df__collector_t *c, const char *dlq_topic, const rd_kafka_message_t *m,
                              const char *error, int src)
{
        df__dlq_rec_t d;
        df__buf_t v = {0};
        char errstr[256], *text = NULL;
        size_t klen = m->key_len > 4096 ? 4096 : m->key_len;
        int rc;

        memset(&d, 0, sizeof(d));
        d.topic = (char *)rd_kafka_topic_name(m->rkt);
        d.partition = m->partition;
        d.offset = m->offset;
        d.key.data = m->key;
        d.key.len = klen;
        d.value.data = m->payload;
        d.value.len = m->len;
        d.error = (char *)error;
        d.ts_ms = df__now_ms();
        df__log(DF__LOG_WARN, "dead letter %s[%d]@%lld: %s", d.topic, (int)d.partition, (long long)d.offset, error);
        if (m->len > DF__DLQ_INLINE_MAX) {
                text = df__asprintf("%s (value of %zu bytes cut to its first %d)", error, m->len, DF__DLQ_KEEP);
                d.error = text ? text : (char *)error;
                d.value.len = DF__DLQ_KEEP;
        }
        if (df__dlq_encode(&d, &v, errstr, sizeof(errstr))) {
                /* The record could not be built whole: keep the coordinates. */
                d.value.data = NULL;
                d.value.len = 0;
                d.key.len = 0;
                if (df__dlq_encode(&d, &v, errstr, sizeof(errstr))) {
                        df__log(DF__LOG_ERROR, "dead letter %s[%d]@%lld not written: %s", d.topic,
                                (int)d.partition, (long long)d.offset, errstr);
                        free(text);
                        return -1;
                }
        }
        rc = df__collector_add(c, dlq_topic, RD_KAFKA_PARTITION_UA, m->key, klen, &v, src);
        free(v.data);
        free(text);
        return rc;
}

int df__collector_span(df__collector_t *c, df__span_t *span, int src)
{
        df__out_t *o;
        if (!span)
                return 0;
        if (c->n == c->cap) {
                int cap = c->cap ? c->cap * 2 : 1024;
                df__out_t *outs = realloc(c->outs, (size_t)cap * sizeof(*outs));
                if (!outs) {
                        df__span_destroy(span);
                        return -1;
                }
                c->outs = outs;
                c->cap = cap;
        }
        o = &c->outs[c->n++];
        memset(o, 0, sizeof(*o));
        o->src = src;
        o->span = span;
        return 0;
}

void df__collector_submit_spans(df__collector_t *c, df__otlp_t *exp)
{
        int i;
        for (i = 0; i < c->n; i++) {
                if (!c->outs[i].span)
                        continue;
                df__otlp_submit(exp, c->outs[i].span); /* owns it now, also when it drops it */
                c->outs[i].span = NULL;
        }
}

void df__collector_truncate(df__collector_t *c, int mark)
{
        int i;
        for (i = mark; i < c->n; i++) {
                c->bytes -= c->outs[i].klen + c->outs[i].vlen;
                free(c->outs[i].key);
                free(c->outs[i].val);
                df__span_destroy(c->outs[i].span);
        }
        if (mark < c->n)
                c->n = mark;
}

int df__collector_move(df__collector_t *dst, df__collector_t *src)
{
        if (dst->n + src->n > dst->cap) {
                int cap = dst->cap ? dst->cap : 64;
                df__out_t *a;
                while (cap < dst->n + src->n)
                        cap *= 2;
                a = realloc(dst->outs, (size_t)cap * sizeof(*a));
                if (!a)
                        return -1;
                dst->outs = a;
                dst->cap = cap;
        }
        if (src->n)
                memcpy(dst->outs + dst->n, src->outs, (size_t)src->n * sizeof(*src->outs));
        dst->n += src->n;
        dst->bytes += src->bytes;
        src->n = 0;
        src->bytes = 0;
        return 0;
}

void df__collector_clear(df__collector_t *c)
{
        df__collector_truncate(c, 0);
        c->bytes = 0;
}

void df__collector_destroy(df__collector_t *c)
{
        df__collector_clear(c);
        free(c->outs);
        memset(c, 0, sizeof(*c));
}

int df__collector_produce(df__collector_t *c, df__txn_t *t, int *failed_src)
{
        int i;
        *failed_src = -1;
        for (i = 0; i < c->n; i++) {
                df__out_t *o = &c->outs[i];
                rd_kafka_resp_err_t err;
                if (o->span)
                        continue; /* not a record */
                err = df__txn_produce_tp(t, o->topic, o->part, o->key, o->klen, o->val, o->vlen, o->tp);
                if (err) {
                        df__log(DF__LOG_ERROR, "produce to %s: %s", o->topic, rd_kafka_err2str(err));
                        *failed_src = o->src;
                        return -1;
                }
        }
        return 0;
}
