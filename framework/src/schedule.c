/*
 * schedule.c -- schedules (see schedule.h).
 *
 * Firing.  A schedule arms one timer at a time, for its next fire time T
 * (timer id "schedule:<name>/fire/<T>", target <prefix>.events, key the
 * schedule's, payload a SCHEDULE_FIRE event with seq = T).  A FIRE whose
 * time is not the armed one (a withdrawn timer the timer service fired
 * anyway, a fire of before a pause or a delete) changes nothing.  On the
 * FIRE of T applied at now:
 *  - catch-up: the run is for the latest fire time L in [T, now] (L = T
 *    when it comes on time).  After an outage that covered several fire
 *    times (timer service or worker down, the FIRE late) that is ONE run,
 *    for the most recent missed time, not a burst; the times between T and
 *    L are counted in "missed";
 *  - overlap: with the policy skip and the last run not ended, no run (the
 *    time is counted in "skipped"); with allow, a run;
 *  - the run is the execution "<name>-<L as YYYYMMDDTHHMMSSZ>", started by
 *    a START event keyed by that id and carrying the schedule's key
 *    (Event.link): idempotent by id, so a fire applied twice starts one;
 *    the run's worker sends SCHEDULE_RUN_DONE when it ends;
 *  - the next fire time is the first after max(now, L): armed.
 * Pause withdraws the armed timer; resume arms the first time after now
 * (fire times during a pause are not caught up); delete withdraws it and
 * tombstones the record.  A trigger starts a run for now (to the second).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec.h"
#include "cron.h"
#include "log.h"
#include "schedule.h"
#include "text.h"

/* Most fire times counted one by one as missed in one catch-up. */
#define DF__MISSED_COUNT_MAX 10000 /* bounds the work of one catch-up (a per-second schedule down a day) */

int df__schedule_key(const char *key)
{
        return key && !strncmp(key, DF__SCHEDULE_PREFIX, DF__SCHEDULE_PREFIX_LEN) && key[DF__SCHEDULE_PREFIX_LEN];
}

const char *df_overlap_name(df_overlap_t overlap)
{
        return overlap == DF_OVERLAP_SKIP ? "skip" : overlap == DF_OVERLAP_ALLOW ? "allow" : "unknown";
}

_Static_assert(DF_OVERLAP_SKIP == (int)DF__OV_SKIP && DF_OVERLAP_ALLOW == (int)DF__OV_ALLOW,
               "df_overlap_t is the record's overlap");
_Static_assert(DF_SCHEDULE_NAME_MAX + 17 == DF_EXECUTION_ID_MAX, "a run id is the name, '-' and 16 characters");
_Static_assert(DF__SCHEDULE_PREFIX_LEN + DF_SCHEDULE_NAME_MAX <= DF_EXECUTION_ID_MAX, "a schedule key is an id");

df_err_t df_schedule_name_check(const char *name, char *errstr, size_t errstr_size)
{
        char q[100];
        size_t n = name ? strlen(name) : 0, i;
        int ok = n >= 1 && n <= DF_SCHEDULE_NAME_MAX;
        for (i = 0; ok && i < n; i++) {
                char c = name[i];
                ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
                     c == '_' || c == ':' || c == '@' || c == '-';
        }
        if (ok)
                return DF_OK;
        df__errf(errstr, errstr_size,
                 "schedule name \"%s\" is invalid: it must be 1..%d characters of A-Z a-z 0-9 . _ : @ -",
                 df__quote(q, sizeof(q), name ? name : ""), DF_SCHEDULE_NAME_MAX);
        return DF_ERR_INVALID_ARG;
}

/* ---------------- state ---------------- */

int df__sched_state_load(df__sched_state_t *s, const char *key, df__state_get_fn get, void *opaque, char *errstr,
                         size_t errstr_size)
{
        df__buf_t val = {0};
        int found = 0, rc;

        memset(s, 0, sizeof(*s));
        if (get(opaque, key, &val, &found)) {
                df__errf(errstr, errstr_size, "state store read of %s failed", key);
                return -1;
        }
        if (!found)
                return 0;
        rc = df__sched_decode(val.data, val.len, &s->rec, errstr, errstr_size);
        free(val.data);
        if (rc)
                return -1;
        s->exists = 1;
        return 0;
}

int df__sched_state_flush(df__sched_state_t *s, const char *key, df__state_put_fn put, void *opaque, char *errstr,
                          size_t errstr_size)
{
        df__buf_t val = {0};
        if (s->deleted) {
                if (put(opaque, key, NULL)) {
                        df__errf(errstr, errstr_size, "cannot delete %s", key);
                        return -1;
                }
        } else if (s->dirty) {
                if (df__sched_encode(&s->rec, &val, errstr, errstr_size))
                        return -1;
                if (put(opaque, key, &val)) {
                        free(val.data);
                        df__errf(errstr, errstr_size, "cannot write %s", key);
                        return -1;
                }
                free(val.data);
        }
        s->dirty = s->deleted = 0;
        return 0;
}

void df__sched_state_clear(df__sched_state_t *s)
{
        df__sched_clear(&s->rec);
        memset(s, 0, sizeof(*s));
}

/* ---------------- outputs ---------------- */

static int df__sched_reply(const df__engine_out_t *out, const df__event_t *ev, df_err_t code, const char *msg,
                           int64_t now)
{
        df__result_rec_t r;
        if (!ev->request_id || !*ev->request_id)
                return 0;
        memset(&r, 0, sizeof(r));
        r.kind = DF__RK_REPLY;
        r.execution_id = ev->execution_id;
        r.request_id = ev->request_id;
        r.code = (int32_t)code;
        r.error = (char *)(msg ? msg : code ? df_strerror(code) : "");
        r.ts_ms = now;
        return out->result(out->opaque, &r);
}

static char *df__fire_timer_id(const char *key, int64_t due_ms)
{
        return df__asprintf("%s/fire/%lld", key, (long long)due_ms);
}

/* Arm the timer of the fire time due_ms. */
static int df__arm_fire(df__engine_t *eng, const char *key, int64_t due_ms, const df__engine_out_t *out,
                        int64_t now)
{
        df__event_t ev;
        df__timer_rec_t t;
        df__buf_t payload = {0};
        char errstr[256], *tid;
        int rc;

        memset(&ev, 0, sizeof(ev));
        ev.type = DF__EV_SCHEDULE_FIRE;
        ev.execution_id = (char *)key;
        ev.seq = due_ms;
        ev.ts_ms = now;
        if (df__event_encode(&ev, &payload, errstr, sizeof(errstr))) {
                df__log(DF__LOG_ERROR, "%s: cannot encode its fire event: %s", key, errstr);
                return -1;
        }
        tid = df__fire_timer_id(key, due_ms);
        if (!tid) {
                free(payload.data);
                return -1;
        }
        memset(&t, 0, sizeof(t));
        t.timer_id = tid;
        t.due_ms = due_ms;
        t.topic = (char *)df__engine_events_topic(eng);
        t.key.data = (uint8_t *)key;
        t.key.len = strlen(key);
        t.payload = payload;
        t.created_ms = now;
        rc = out->timer(out->opaque, &t);
        free(tid);
        free(payload.data);
        return rc;
}

/* Withdraw the armed timer (if any): the timer service drops it. */
static int df__disarm(df__sched_state_t *s, const char *key, const df__engine_out_t *out)
{
        char *tid;
        int rc = 0;
        if (s->rec.next_fire_ms <= 0)
                return 0;
        if (out->cancel_timer) {
                tid = df__fire_timer_id(key, s->rec.next_fire_ms);
                if (!tid)
                        return -1;
                rc = out->cancel_timer(out->opaque, tid);
                free(tid);
        }
        s->rec.next_fire_ms = 0;
        return rc;
}

/* Parse the schedule's expression and open its zone (both were checked
 * when it was created; a zone removed from the database since is an
 * error). */
static int df__sched_cron(const df__sched_rec_t *rec, df__cron_t *c, df__tz_t **tz, char *errstr, size_t n)
{
        if (df__cron_parse(c, rec->cron, errstr, n))
                return -1;
        *tz = df__tz_open(rec->timezone, errstr, n);
        return *tz ? 0 : -1;
}

/* Arm the first fire time after after_ms; next_fire_ms 0 when there is none
 * (or the expression cannot be read any more: logged). */
static int df__arm_next(df__engine_t *eng, df__sched_state_t *s, const char *key, int64_t after_ms,
                        const df__engine_out_t *out, int64_t now)
{
        df__cron_t c;
        df__tz_t *tz;
        char errstr[512];
        int64_t next;
        int rc;

        s->rec.next_fire_ms = 0;
        if (df__sched_cron(&s->rec, &c, &tz, errstr, sizeof(errstr))) {
                df__log(DF__LOG_ERROR, "%s: no next fire time: %s", key, errstr);
                return 0;
        }
        rc = df__cron_next(&c, tz, after_ms / 1000, &next);
        df__tz_close(tz);
        if (rc) {
                df__log(DF__LOG_WARN, "%s: no fire time in the next 50 years", key);
                return 0;
        }
        s->rec.next_fire_ms = next * 1000;
        return df__arm_fire(eng, key, s->rec.next_fire_ms, out, now);
}

/* "<name>-YYYYMMDDTHHMMSSZ" of a fire time. */
static int df__run_id(char *buf, size_t size, const char *name, int64_t at_ms)
{
        time_t t = (time_t)(at_ms / 1000);
        struct tm tm;
        if (!gmtime_r(&t, &tm))
                return -1;
        return snprintf(buf, size, "%s-%04d%02d%02dT%02d%02d%02dZ", name, tm.tm_year + 1900, tm.tm_mon + 1,
                        tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec) >= (int)size
                       ? -1
                       : 0;
}

/* Start the run for the fire time at_ms: a START keyed by its id.  0, or 1
 * when that run is the last one started (a second trigger in the same
 * second, or a fire in the second of a trigger): nothing sent nor counted,
 * as its START would start nothing; -1 on a failure. */
static int df__start_run(df__sched_state_t *s, const char *key, int64_t at_ms, const df__engine_out_t *out,
                         int64_t now, char *run_id, size_t run_id_size)
{
        df__sched_rec_t *r = &s->rec;
        df__event_t ev;
        char *id;

        if (df__run_id(run_id, run_id_size, r->name, at_ms))
                return -1;
        if (r->last_run_id && !strcmp(r->last_run_id, run_id)) {
                df__log(DF__LOG_INFO, "%s: %s already started: not started again", key, run_id);
                return 1;
        }
        memset(&ev, 0, sizeof(ev));
        ev.type = DF__EV_START;
        ev.execution_id = run_id;
        ev.workflow = r->workflow;
        ev.input = r->input;
        ev.link = (char *)key;
        ev.ts_ms = now;
        if (out->event(out->opaque, &ev))
                return -1;
        id = strdup(run_id);
        if (!id)
                return -1;
        free(r->last_run_id);
        r->last_run_id = id;
        r->last_fire_ms = at_ms;
        r->running = 1;
        r->fires++;
        df__log(DF__LOG_INFO, "%s: started %s", key, run_id);
        return 0;
}

void df__sched_trigger_reply(char *reply, int *existed)
{
        char *sp = reply ? strchr(reply, ' ') : NULL;

        if (existed)
                *existed = 0;
        if (sp) {
                if (existed)
                        *existed = !strcmp(sp + 1, DF__SCHED_TRIGGER_EXISTS);
                *sp = 0;
        }
}

/* ---------------- events ---------------- */

static int df__same_def(const df__sched_rec_t *a, const df__sched_rec_t *b)
{
        return !strcmp(a->cron, b->cron) && !strcmp(a->timezone, b->timezone) && !strcmp(a->workflow, b->workflow) &&
               a->overlap == b->overlap && a->input.len == b->input.len &&
               (!a->input.len || !memcmp(a->input.data, b->input.data, a->input.len));
}

static int df__apply_create(df__engine_t *eng, df__sched_state_t *s, const df__event_t *ev,
                            const df__engine_out_t *out, int64_t now)
{
        const char *key = ev->execution_id, *name = key + DF__SCHEDULE_PREFIX_LEN;
        df__sched_rec_t def;
        df_schedule_def_t d;
        char errstr[600], msg[700];
        df_err_t code;
        int rc;

        memset(&def, 0, sizeof(def));
        if (df__sched_decode(ev->input.data, ev->input.len, &def, errstr, sizeof(errstr))) {
                snprintf(msg, sizeof(msg), "the schedule's definition does not decode: %s", errstr);
                return df__sched_reply(out, ev, DF_ERR_INVALID_ARG, msg, now);
        }
        /* the same checks as the client's: the event may come from anywhere */
        d.cron = def.cron;
        d.timezone = def.timezone;
        d.workflow = def.workflow;
        d.input = def.input.data;
        d.input_len = def.input.len;
        d.overlap = (df_overlap_t)def.overlap;
        if (strcmp(def.name, name)) {
                code = DF_ERR_INVALID_ARG;
                snprintf(errstr, sizeof(errstr), "the definition names another schedule than its key");
        } else {
                code = df__schedule_def_check(name, &d, errstr, sizeof(errstr));
        }
        if (code == DF_OK && !df__engine_has_workflow(eng, def.workflow)) {
                char q[100];
                code = DF_ERR_UNKNOWN_WORKFLOW;
                snprintf(errstr, sizeof(errstr), "no workflow \"%s\" is registered on the worker that owns the schedule",
                         df__quote(q, sizeof(q), def.workflow));
        }
        if (code != DF_OK) {
                rc = df__sched_reply(out, ev, code, errstr, now);
                df__sched_clear(&def);
                return rc;
        }
        if (!*def.timezone) {
                free(def.timezone);
                def.timezone = strdup("UTC");
                if (!def.timezone) {
                        df__sched_clear(&def);
                        return -1;
                }
        }
        if (s->exists) {
                int same = df__same_def(&s->rec, &def);
                df__sched_clear(&def);
                return df__sched_reply(out, ev, same ? DF_OK : DF_ERR_CONFLICT,
                                       same ? "exists" : "a schedule of this name exists with another definition", now);
        }
        df__sched_clear(&s->rec);
        s->rec = def; /* moved */
        s->rec.paused = 0;
        s->rec.next_fire_ms = s->rec.last_fire_ms = 0;
        s->rec.running = 0;
        s->rec.fires = s->rec.skipped = s->rec.missed = 0;
        free(s->rec.last_run_id);
        s->rec.last_run_id = strdup("");
        if (!s->rec.last_run_id)
                return -1;
        s->rec.created_ms = s->rec.updated_ms = now;
        s->exists = s->dirty = 1;
        if (df__arm_next(eng, s, key, now, out, now))
                return -1;
        return df__sched_reply(out, ev, DF_OK, "created", now);
}

/* The FIRE of ev->seq (see the top of this file). */
static int df__apply_fire(df__engine_t *eng, df__sched_state_t *s, const df__event_t *ev,
                          const df__engine_out_t *out, int64_t now)
{
        df__sched_rec_t *r = &s->rec;
        const char *key = ev->execution_id;
        int64_t at = ev->seq, latest, t, n;
        char run_id[DF_EXECUTION_ID_MAX + 1], errstr[512];
        df__cron_t c;
        df__tz_t *tz;

        if (!s->exists || r->paused || at <= 0 || at != r->next_fire_ms) {
                df__log(DF__LOG_DEBUG, "%s: fire of %lld ignored (armed: %lld%s)", key, (long long)at,
                        (long long)(s->exists ? r->next_fire_ms : 0), s->exists && r->paused ? ", paused" : "");
                return 0;
        }
        /* catch-up: the latest fire time in [at, now] stands for them all */
        if (df__sched_cron(r, &c, &tz, errstr, sizeof(errstr))) {
                df__log(DF__LOG_ERROR, "%s: cannot fire: %s", key, errstr);
                r->next_fire_ms = 0;
                s->dirty = 1;
                return 0;
        }
        if (now / 1000 > at / 1000 && df__cron_last(&c, tz, at / 1000, now / 1000, &latest) == 0) {
                int64_t k = 0;
                for (t = at / 1000; k < DF__MISSED_COUNT_MAX && t < latest && df__cron_next(&c, tz, t, &n) == 0; t = n)
                        k++; /* at, and each time after it before latest */
                r->missed += k;
                df__log(DF__LOG_WARN, "%s: fire of %lld came at %lld: %lld fire time(s) missed, one catch-up run",
                        key, (long long)at, (long long)now, (long long)k);
                at = latest * 1000;
        }
        df__tz_close(tz);
        if (r->overlap == DF__OV_SKIP && r->running) {
                r->skipped++;
                df__log(DF__LOG_INFO, "%s: fire of %lld skipped: %s has not ended (overlap skip)", key, (long long)at,
                        r->last_run_id);
        } else if (df__start_run(s, key, at, out, now, run_id, sizeof(run_id)) < 0) {
                return -1;
        }
        r->updated_ms = now;
        s->dirty = 1;
        return df__arm_next(eng, s, key, at > now ? at : now, out, now);
}

int df__schedule_apply(df__engine_t *eng, df__sched_state_t *s, const df__event_t *ev, const df__engine_out_t *out)
{
        int64_t now = df__engine_now(eng);
        const char *key = ev->execution_id;
        df__sched_rec_t *r = &s->rec;
        char run_id[DF_EXECUTION_ID_MAX + 1], msg[400];

        if (ev->type == DF__EV_SCHEDULE_CREATE)
                return df__apply_create(eng, s, ev, out, now);
        if (ev->type == DF__EV_SCHEDULE_FIRE)
                return df__apply_fire(eng, s, ev, out, now);
        if (ev->type == DF__EV_SCHEDULE_RUN_DONE) {
                if (s->exists && r->running && ev->link && !strcmp(ev->link, r->last_run_id)) {
                        r->running = 0;
                        r->updated_ms = now;
                        s->dirty = 1;
                }
                return 0;
        }
        if (ev->type < DF__EV_SCHEDULE_PAUSE || ev->type > DF__EV_SCHEDULE_TRIGGER) {
                snprintf(msg, sizeof(msg), "event type %d is not a schedule's (%s is a schedule key)", ev->type, key);
                return df__sched_reply(out, ev, DF_ERR_INVALID_ARG, msg, now);
        }
        if (!s->exists)
                return df__sched_reply(out, ev, DF_ERR_NOT_FOUND, "no such schedule", now);
        switch (ev->type) {
        case DF__EV_SCHEDULE_PAUSE:
                if (!r->paused) {
                        if (df__disarm(s, key, out))
                                return -1;
                        r->paused = 1;
                        r->updated_ms = now;
                        s->dirty = 1;
                }
                return df__sched_reply(out, ev, DF_OK, "paused", now);
        case DF__EV_SCHEDULE_RESUME:
                if (r->paused) {
                        r->paused = 0;
                        r->updated_ms = now;
                        s->dirty = 1;
                        if (df__arm_next(eng, s, key, now, out, now))
                                return -1;
                }
                return df__sched_reply(out, ev, DF_OK, "resumed", now);
        case DF__EV_SCHEDULE_DELETE:
                if (df__disarm(s, key, out))
                        return -1;
                s->exists = 0;
                s->deleted = 1;
                return df__sched_reply(out, ev, DF_OK, "deleted", now);
        case DF__EV_SCHEDULE_TRIGGER:
                if (r->overlap == DF__OV_SKIP && r->running) {
                        char q[100];
                        snprintf(msg, sizeof(msg), "the last run %s has not ended and the overlap policy is skip",
                                 df__quote(q, sizeof(q), r->last_run_id));
                        return df__sched_reply(out, ev, DF_ERR_CONFLICT, msg, now);
                }
                switch (df__start_run(s, key, now / 1000 * 1000, out, now, run_id, sizeof(run_id))) {
                case 0:
                        break;
                case 1: /* the run of this second exists: the same run, idempotent */
                        snprintf(msg, sizeof(msg), "%s " DF__SCHED_TRIGGER_EXISTS, run_id);
                        return df__sched_reply(out, ev, DF_OK, msg, now);
                default:
                        return -1;
                }
                r->updated_ms = now;
                s->dirty = 1;
                return df__sched_reply(out, ev, DF_OK, run_id, now);
        }
        return 0;
}

/* ---------------- runs ---------------- */

static int df__run_done(const df__engine_out_t *out, const char *schedule, const char *run, int status, int64_t now)
{
        df__event_t ev;
        memset(&ev, 0, sizeof(ev));
        ev.type = DF__EV_SCHEDULE_RUN_DONE;
        ev.execution_id = (char *)schedule;
        ev.link = (char *)run;
        ev.seq = status;
        ev.ts_ms = now;
        return out->event(out->opaque, &ev);
}

int df__schedule_run_ended(const df__engine_out_t *out, const df__exec_rec_t *e, int64_t now)
{
        if (!e->schedule || !df__schedule_key(e->schedule))
                return 0;
        return df__run_done(out, e->schedule, e->execution_id, e->status, now);
}

int df__schedule_start_seen(const df__engine_out_t *out, df__exec_state_t *st, const df__event_t *ev, int64_t now)
{
        df__exec_rec_t *e = &st->exec;
        char *link;
        if (ev->type != DF__EV_START || !df__schedule_key(ev->link))
                return 0;
        if (!st->exists || !e->workflow || !*e->workflow)
                return df__run_done(out, ev->link, ev->execution_id, DF__ES_FAILED, now); /* refused */
        if (df__exec_status_terminal(e->status))
                return df__run_done(out, ev->link, ev->execution_id, e->status, now);
        if (e->schedule && *e->schedule)
                return 0;
        link = strdup(ev->link);
        if (!link)
                return -1;
        free(e->schedule);
        e->schedule = link;
        st->exec_dirty = 1;
        return 0;
}

/* ---------------- the client's side ---------------- */

df_err_t df__schedule_def_check(const char *name, const df_schedule_def_t *def, char *errstr, size_t errstr_size)
{
        char e[600];
        df_err_t rc;
        if ((rc = df_schedule_name_check(name, errstr, errstr_size)) != DF_OK)
                return rc;
        if (!def) {
                df__errf(errstr, errstr_size, "schedule: no definition (NULL)");
                return DF_ERR_INVALID_ARG;
        }
        if (!def->cron) {
                df__errf(errstr, errstr_size, "schedule: the cron expression is required");
                return DF_ERR_INVALID_ARG;
        }
        if ((rc = df_cron_check(def->cron, def->timezone, errstr, errstr_size)) != DF_OK)
                return rc;
        if ((rc = df_workflow_name_check(def->workflow, e, sizeof(e))) != DF_OK) {
                df__errf(errstr, errstr_size, "%s", e);
                return rc;
        }
        if ((int)def->overlap != DF_OVERLAP_SKIP && def->overlap != DF_OVERLAP_ALLOW) {
                df__errf(errstr, errstr_size, "schedule: overlap %d is not skip (0) or allow (1)", (int)def->overlap);
                return DF_ERR_INVALID_ARG;
        }
        if (def->input_len && !def->input) {
                df__errf(errstr, errstr_size, "schedule: NULL input with a length of %zu", def->input_len);
                return DF_ERR_INVALID_ARG;
        }
        if (def->input_len > DF_SCHEDULE_INPUT_MAX) {
                df__errf(errstr, errstr_size, "schedule: input is %zu bytes, over the limit of %d", def->input_len,
                         DF_SCHEDULE_INPUT_MAX);
                return DF_ERR_PAYLOAD_TOO_LARGE;
        }
        return DF_OK;
}

int df__schedule_def_encode(const char *name, const df_schedule_def_t *def, df__buf_t *out, char *errstr,
                            size_t errstr_size)
{
        df__sched_rec_t r;
        memset(&r, 0, sizeof(r));
        r.name = (char *)name;
        r.cron = (char *)def->cron;
        r.timezone = (char *)(def->timezone && *def->timezone ? def->timezone : "UTC");
        r.workflow = (char *)def->workflow;
        r.input.data = (uint8_t *)def->input;
        r.input.len = def->input_len;
        r.overlap = (int32_t)def->overlap;
        r.last_run_id = "";
        return df__sched_encode(&r, out, errstr, errstr_size);
}

void df__schedule_info(df_schedule_info_t *pub, const df__sched_rec_t *rec, int full)
{
        memset(pub, 0, sizeof(*pub));
        pub->name = rec->name ? rec->name : "";
        pub->cron = rec->cron ? rec->cron : "";
        pub->timezone = rec->timezone ? rec->timezone : "";
        pub->workflow = rec->workflow ? rec->workflow : "";
        if (full) {
                pub->input.data = rec->input.data;
                pub->input.len = rec->input.len;
        }
        pub->overlap = (df_overlap_t)rec->overlap;
        pub->paused = rec->paused;
        pub->next_fire_ms = rec->next_fire_ms;
        pub->last_fire_ms = rec->last_fire_ms;
        pub->last_run_id = rec->last_run_id ? rec->last_run_id : "";
        pub->last_run_running = rec->running;
        pub->fires = rec->fires;
        pub->skipped = rec->skipped;
        pub->missed = rec->missed;
        pub->created_ms = rec->created_ms;
        pub->updated_ms = rec->updated_ms;
}
