/*
 * schedule_client.c -- the control client's calls on schedules
 * (runtime.h): requests on <prefix>.events keyed "schedule:<name>" answered
 * by the owning worker (schedule.c), and reads of the Schedule records of
 * <prefix>.state, as client.c does for executions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "duraflow/records.h"
#include "schedule.h"
#include "text.h"

_Static_assert(DF_RECORD_SCHEDULE == (int)DF__REC_SCHEDULE, "df_record_type_t is the codec's record type");
_Static_assert(DF_EVENT_SCHEDULE_CREATE == (int)DF__EV_SCHEDULE_CREATE &&
                       DF_EVENT_SCHEDULE_PAUSE == (int)DF__EV_SCHEDULE_PAUSE &&
                       DF_EVENT_SCHEDULE_RESUME == (int)DF__EV_SCHEDULE_RESUME &&
                       DF_EVENT_SCHEDULE_DELETE == (int)DF__EV_SCHEDULE_DELETE &&
                       DF_EVENT_SCHEDULE_TRIGGER == (int)DF__EV_SCHEDULE_TRIGGER &&
                       DF_EVENT_SCHEDULE_FIRE == (int)DF__EV_SCHEDULE_FIRE &&
                       DF_EVENT_SCHEDULE_RUN_DONE == (int)DF__EV_SCHEDULE_RUN_DONE,
               "df_event_type_t is the codec's event type");

#define DF__KEY_MAX (DF__SCHEDULE_PREFIX_LEN + DF_SCHEDULE_NAME_MAX + 1)

/* A request on the schedule name (checked), waiting for the reply. */
static df_err_t df__sched_send(df_client_t *c, const char *what, int type, const char *name, const df__buf_t *def,
                               char *reply, size_t reply_size, char *errstr, size_t errstr_size)
{
        char key[DF__KEY_MAX], e[600], msg[600] = "";
        df__event_t ev;
        df_err_t rc;

        if (!c) {
                df__errf(errstr, errstr_size, "schedule %s: NULL client", what);
                return DF_ERR_INVALID_ARG;
        }
        if ((rc = df_schedule_name_check(name, e, sizeof(e))) != DF_OK) {
                df__errf(errstr, errstr_size, "schedule %s: %s", what, e);
                return rc;
        }
        snprintf(key, sizeof(key), "%s%s", DF__SCHEDULE_PREFIX, name);
        memset(&ev, 0, sizeof(ev));
        ev.type = type;
        ev.execution_id = key;
        if (def)
                ev.input = *def;
        rc = df__client_send(c, &ev, 1, msg, sizeof(msg));
        if (reply && reply_size)
                snprintf(reply, reply_size, "%s", rc == DF_OK ? msg : "");
        if (rc != DF_OK)
                df__errf(errstr, errstr_size, "%s", msg);
        return rc;
}

df_err_t df_client_schedule_create(df_client_t *c, const char *name, const df_schedule_def_t *def, int *existed,
                                   char *errstr, size_t errstr_size)
{
        char e[600], reply[64];
        df__buf_t b = {0};
        df_err_t rc;

        if (existed)
                *existed = 0;
        if (!c) {
                df__errf(errstr, errstr_size, "schedule create: NULL client");
                return DF_ERR_INVALID_ARG;
        }
        if ((rc = df__schedule_def_check(name, def, e, sizeof(e))) != DF_OK) {
                df__errf(errstr, errstr_size, "schedule create: %s", e);
                return rc;
        }
        if (df__schedule_def_encode(name, def, &b, e, sizeof(e))) {
                df__errf(errstr, errstr_size, "schedule create: %s", e);
                return DF_ERR_CODEC;
        }
        rc = df__sched_send(c, "create", DF__EV_SCHEDULE_CREATE, name, &b, reply, sizeof(reply), errstr, errstr_size);
        free(b.data);
        if (rc == DF_OK && existed && !strcmp(reply, "exists"))
                *existed = 1;
        return rc;
}

df_err_t df_client_schedule_pause(df_client_t *c, const char *name, char *errstr, size_t errstr_size)
{
        return df__sched_send(c, "pause", DF__EV_SCHEDULE_PAUSE, name, NULL, NULL, 0, errstr, errstr_size);
}

df_err_t df_client_schedule_resume(df_client_t *c, const char *name, char *errstr, size_t errstr_size)
{
        return df__sched_send(c, "resume", DF__EV_SCHEDULE_RESUME, name, NULL, NULL, 0, errstr, errstr_size);
}

df_err_t df_client_schedule_delete(df_client_t *c, const char *name, char *errstr, size_t errstr_size)
{
        return df__sched_send(c, "delete", DF__EV_SCHEDULE_DELETE, name, NULL, NULL, 0, errstr, errstr_size);
}

df_err_t df_client_schedule_trigger(df_client_t *c, const char *name, char *run_id, size_t run_id_size,
                                    char *errstr, size_t errstr_size)
{
        return df_client_schedule_trigger_ex(c, name, run_id, run_id_size, NULL, errstr, errstr_size);
}

df_err_t df_client_schedule_trigger_ex(df_client_t *c, const char *name, char *run_id, size_t run_id_size,
                                       int *existed, char *errstr, size_t errstr_size)
{
        char reply[DF_EXECUTION_ID_MAX + 64] = "";
        df_err_t rc = df__sched_send(c, "trigger", DF__EV_SCHEDULE_TRIGGER, name, NULL, reply, sizeof(reply),
                                     errstr, errstr_size);

        df__sched_trigger_reply(reply, existed);
        if (run_id && run_id_size)
                snprintf(run_id, run_id_size, "%s", rc == DF_OK ? reply : "");
        return rc;
}

/* ---------------- reading ---------------- */

/* A schedule record decoded, and the public view of it. */
struct df__sched_info {
        df_schedule_info_t pub; /* first: df_schedule_info_destroy casts back */
        df__sched_rec_t rec;
};

void df_schedule_info_destroy(df_schedule_info_t *info)
{
        struct df__sched_info *x = (struct df__sched_info *)info;
        if (!x)
                return;
        df__sched_clear(&x->rec);
        free(x);
}

df_err_t df_record_decode_schedule(const void *buf, size_t len, df_schedule_info_t **out, char *errstr,
                                   size_t errstr_size)
{
        struct df__sched_info *x;
        char e[300];
        if (out)
                *out = NULL;
        if (!out || (!buf && len)) {
                df__errf(errstr, errstr_size, "decode schedule: NULL %s", out ? "buffer with a length" : "out");
                return DF_ERR_INVALID_ARG;
        }
        if (df__codec_init(errstr, errstr_size))
                return DF_ERR_CODEC;
        x = calloc(1, sizeof(*x));
        if (!x) {
                df__errf(errstr, errstr_size, "out of memory");
                return DF_ERR_NOMEM;
        }
        if (df__sched_decode(buf, len, &x->rec, e, sizeof(e))) {
                free(x);
                df__errf(errstr, errstr_size, "not a valid schedule record: %s", e);
                return DF_ERR_CODEC;
        }
        df__schedule_info(&x->pub, &x->rec, 1);
        *out = &x->pub;
        return DF_OK;
}

struct df__sched_find {
        const char *key;
        df__buf_t rec; /* the latest record of key (empty: none, or deleted) */
};

static int df__sched_find_rec(const rd_kafka_message_t *m, void *opaque, char *errstr, size_t errstr_size)
{
        struct df__sched_find *f = opaque;
        size_t n = strlen(f->key);
        if (m->key_len != n || memcmp(m->key, f->key, n))
                return 0;
        df__buf_clear(&f->rec);
        if (m->payload && df__buf_set(&f->rec, m->payload, m->len)) {
                df__errf(errstr, errstr_size, "out of memory");
                return -1;
        }
        return 0;
}

df_err_t df_client_schedule_describe(df_client_t *c, const char *name, df_schedule_info_t **out, char *errstr,
                                     size_t errstr_size)
{
        struct df__sched_find f = {NULL, {0}};
        struct df__sched_info *x;
        char key[DF__KEY_MAX], e[400], q[100];
        int32_t part;
        df_err_t rc;

        if (!out || !c) {
                df__errf(errstr, errstr_size, "schedule describe: NULL client or out");
                return DF_ERR_INVALID_ARG;
        }
        *out = NULL;
        if ((rc = df_schedule_name_check(name, e, sizeof(e))) != DF_OK) {
                df__errf(errstr, errstr_size, "schedule describe: %s", e);
                return rc;
        }
        snprintf(key, sizeof(key), "%s%s", DF__SCHEDULE_PREFIX, name);
        f.key = key;
        /* the record is on the partition of its key */
        part = df__topics_partition_of(&c->t, key);
        rc = df__client_scan(c, &part, 1, df__sched_find_rec, &f, DF_ERR_NOMEM, errstr, errstr_size);
        if (rc != DF_OK)
                goto out;
        if (!f.rec.len) {
                df__errf(errstr, errstr_size, "no schedule named \"%s\"", df__quote(q, sizeof(q), name));
                rc = DF_ERR_NOT_FOUND;
                goto out;
        }
        x = calloc(1, sizeof(*x));
        if (!x) {
                df__errf(errstr, errstr_size, "out of memory");
                rc = DF_ERR_NOMEM;
                goto out;
        }
        if (df__sched_decode(f.rec.data, f.rec.len, &x->rec, e, sizeof(e))) {
                df__errf(errstr, errstr_size, "schedule describe: the record of %s does not decode: %s",
                         df__quote(q, sizeof(q), name), e);
                free(x);
                rc = DF_ERR_CODEC;
                goto out;
        }
        df__schedule_info(&x->pub, &x->rec, 1);
        *out = &x->pub;
out:
        df__buf_clear(&f.rec);
        return rc;
}

struct df__slist {
        df_schedule_list_t pub; /* first: df_schedule_list_destroy casts back */
        struct df__sched_info *items;
        df_schedule_info_t *views;
        size_t n, cap;
};

struct df__sched_scan {
        df__map_t *by_key; /* schedule key -> struct df__sched_info * (input dropped) */
};

static void df__sinfo_free(void *p)
{
        df_schedule_info_destroy(p);
}

static int df__sched_scan_rec(const rd_kafka_message_t *m, void *opaque, char *errstr, size_t errstr_size)
{
        struct df__sched_scan *l = opaque;
        struct df__sched_info *x;
        char key[DF__KEY_MAX + 8], e[256], q[100];
        int err = 0;

        if (m->key_len >= sizeof(key) || memchr(m->key, 0, m->key_len))
                return 0;
        memcpy(key, m->key, m->key_len);
        key[m->key_len] = '\0';
        if (!df__schedule_key(key))
                return 0;
        if (!m->payload) {
                df__sinfo_free(df__map_del(l->by_key, key));
                return 0;
        }
        x = calloc(1, sizeof(*x));
        if (!x) {
                df__errf(errstr, errstr_size, "out of memory");
                return -1;
        }
        if (df__sched_decode(m->payload, m->len, &x->rec, e, sizeof(e))) {
                df__log(DF__LOG_WARN, "schedule list: the record of %s does not decode (skipped): %s",
                        df__quote(q, sizeof(q), key), e);
                free(x);
                return 0;
        }
        df__buf_clear(&x->rec.input); /* the payloads go at once */
        df__schedule_info(&x->pub, &x->rec, 0);
        df__sinfo_free(df__map_put(l->by_key, key, x, &err));
        if (err) {
                df__sinfo_free(x);
                df__errf(errstr, errstr_size, "out of memory");
                return -1;
        }
        return 0;
}

static void df__slist_take(const char *key, void *val, void *opaque)
{
        struct df__slist *l = opaque;
        (void)key;
        l->items[l->n++] = *(struct df__sched_info *)val;
        free(val); /* the record moved into the list */
}

static int df__cmp_sched(const void *a, const void *b)
{
        const struct df__sched_info *x = a, *y = b;
        return strcmp(x->rec.name, y->rec.name);
}

void df_schedule_list_destroy(df_schedule_list_t *list)
{
        struct df__slist *l = (struct df__slist *)list;
        size_t i;
        if (!l)
                return;
        for (i = 0; i < l->n; i++)
                df__sched_clear(&l->items[i].rec);
        free(l->items);
        free(l->views);
        free(l);
}

df_err_t df_client_schedule_list(df_client_t *c, df_schedule_list_t **out, char *errstr, size_t errstr_size)
{
        struct df__sched_scan scan = {NULL};
        struct df__slist *l = NULL;
        const df__topics_t *t;
        int32_t *parts = NULL;
        df_err_t rc;
        size_t i, n;
        int p;

        if (!out || !c) {
                df__errf(errstr, errstr_size, "schedule list: NULL client or out");
                return DF_ERR_INVALID_ARG;
        }
        *out = NULL;
        t = &c->t;
        scan.by_key = df__map_new();
        parts = calloc((size_t)t->partitions + 1, sizeof(*parts));
        if (!scan.by_key || !parts) {
                df__errf(errstr, errstr_size, "out of memory");
                rc = DF_ERR_NOMEM;
                goto out;
        }
        for (p = 0; p < t->partitions; p++)
                parts[p] = p;
        rc = df__client_scan(c, parts, t->partitions, df__sched_scan_rec, &scan, DF_ERR_NOMEM, errstr, errstr_size);
        if (rc != DF_OK)
                goto out;
        n = df__map_size(scan.by_key);
        l = calloc(1, sizeof(*l));
        if (l) {
                l->items = calloc(n + 1, sizeof(*l->items));
                l->views = calloc(n + 1, sizeof(*l->views));
        }
        if (!l || !l->items || !l->views) {
                df__errf(errstr, errstr_size, "out of memory");
                rc = DF_ERR_NOMEM;
                goto out;
        }
        df__map_foreach(scan.by_key, df__slist_take, l);
        df__map_clear(scan.by_key, NULL); /* moved */
        qsort(l->items, l->n, sizeof(*l->items), df__cmp_sched);
        for (i = 0; i < l->n; i++)
                df__schedule_info(&l->views[i], &l->items[i].rec, 0);
        l->pub.count = l->n;
        l->pub.items = l->views;
        *out = &l->pub;
        l = NULL;
out:
        df_schedule_list_destroy(l ? &l->pub : NULL);
        df__map_destroy(scan.by_key, df__sinfo_free);
        free(parts);
        return rc;
}
