/* order_summary.c -- see order_summary.h. */
#include "order_summary.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Outcome names in display order; the last ones appear only when non-zero. */
static const char *const outcome_names[] = {"confirmed_on_time", "confirmed_late", "cancelled", "payment_declined",
                                            "invalid", "rejected", "other"};
#define N_OUTCOMES (sizeof(outcome_names) / sizeof(outcome_names[0]))
#define N_ALWAYS 4 /* the first four are always shown */

typedef struct rec {
        signed char outcome; /* index in outcome_names, -1 = failed execution */
        int32_t shipper_id;
        int64_t total_cents, refund_cents;
} rec_t;

struct ow_tally {
        const ow_dataset_t *ds;
        size_t n_orders;
        unsigned char *seen; /* per order index */
        rec_t *recs;
        size_t done, failed;
        size_t outcomes[N_OUTCOMES];
        char first_error[512];
};

ow_tally_t *ow_tally_new(const ow_dataset_t *ds)
{
        ow_tally_t *t = calloc(1, sizeof(*t));
        if (!t)
                return NULL;
        t->ds = ds;
        t->n_orders = ow_dataset_order_count(ds);
        t->seen = calloc(t->n_orders + 1, 1);
        t->recs = calloc(t->n_orders + 1, sizeof(*t->recs));
        if (!t->seen || !t->recs) {
                ow_tally_free(t);
                return NULL;
        }
        return t;
}

void ow_tally_free(ow_tally_t *t)
{
        if (!t)
                return;
        free(t->seen);
        free(t->recs);
        free(t);
}

static int order_index(const ow_tally_t *t, const char *execution_id, size_t *idx)
{
        const ow_order_t *o, *first;
        char *end;
        long id;

        if (strncmp(execution_id, "order-", 6) || !t->n_orders)
                return 0;
        id = strtol(execution_id + 6, &end, 10);
        if (*end || id <= 0 || id > INT32_MAX)
                return 0;
        o = ow_dataset_find_order(t->ds, (int32_t)id);
        if (!o)
                return 0;
        first = ow_dataset_order_at(t->ds, 0);
        *idx = (size_t)(o - first);
        return *idx < t->n_orders;
}

static int outcome_index(const char *name)
{
        size_t i;
        for (i = 0; name && i < N_OUTCOMES - 1; i++)
                if (!strcmp(outcome_names[i], name))
                        return (int)i;
        return (int)N_OUTCOMES - 1;
}

int ow_tally_add(ow_tally_t *t, const char *execution_id, const char *status, const void *output, size_t len,
                 const char *error)
{
        size_t idx;
        rec_t *r;

        if (!order_index(t, execution_id, &idx) || t->seen[idx])
                return 0;
        t->seen[idx] = 1;
        r = &t->recs[idx];
        t->done++;
        if (strcmp(status, "SUCCEEDED")) {
                r->outcome = -1;
                t->failed++;
                if (!t->first_error[0])
                        snprintf(t->first_error, sizeof(t->first_error), "%s %s: %s", execution_id, status,
                                 error ? error : "");
                return 1;
        }
        {
                json_t *o = len ? json_loadb(output, len, 0, NULL) : NULL;
                r->outcome = (signed char)outcome_index(json_string_value(json_object_get(o, "outcome")));
                r->shipper_id = (int32_t)json_integer_value(json_object_get(o, "shipper_id"));
                r->total_cents = (int64_t)json_integer_value(json_object_get(o, "total_cents"));
                r->refund_cents = (int64_t)json_integer_value(json_object_get(o, "refund_cents"));
                json_decref(o);
        }
        t->outcomes[r->outcome]++;
        return 1;
}

size_t ow_tally_done(const ow_tally_t *t)
{
        return t->done;
}

size_t ow_tally_outcome(const ow_tally_t *t, const char *outcome)
{
        int i = outcome_index(outcome);
        return t->outcomes[i];
}

size_t ow_tally_failed(const ow_tally_t *t)
{
        return t->failed;
}

size_t ow_tally_missing(const ow_tally_t *t, size_t n, size_t max, char *buf, size_t size)
{
        size_t i, missing = 0, len = 0;
        if (size)
                buf[0] = '\0';
        for (i = 0; i < n && i < t->n_orders; i++) {
                if (t->seen[i])
                        continue;
                if (missing < max && len < size) {
                        int k = snprintf(buf + len, size - len, "%sorder-%ld", len ? " " : "",
                                         (long)ow_dataset_order_at(t->ds, i)->order_id);
                        if (k > 0)
                                len += (size_t)k;
                }
                missing++;
        }
        return missing;
}

void ow_tally_progress(const ow_tally_t *t, char *buf, size_t size)
{
        static const char *const short_names[N_OUTCOMES] = {"on_time", "late",    "cancelled", "declined",
                                                            "invalid", "rejected", "other"};
        size_t i, n = 0;
        buf[0] = '\0';
        for (i = 0; i < N_OUTCOMES && n < size; i++) {
                int k;
                if (i >= N_ALWAYS && !t->outcomes[i])
                        continue;
                k = snprintf(buf + n, size - n, "%s%s %zu", n ? "  " : "", short_names[i], t->outcomes[i]);
                if (k < 0)
                        return;
                n += (size_t)k;
        }
        if (t->failed && n < size)
                snprintf(buf + n, size - n, "  FAILED %zu", t->failed);
}

/* Figures of the tally. */
typedef struct figures {
        size_t confirmed, refunds;
        int64_t revenue, refund_cents;
        size_t *per_shipper; /* by shipper index */
} figures_t;

static int shipper_index(const ow_dataset_t *ds, int32_t id)
{
        size_t i;
        for (i = 0; i < ow_dataset_shipper_count(ds); i++)
                if (ow_dataset_shipper_at(ds, i)->shipper_id == id)
                        return (int)i;
        return -1;
}

static int figures(const ow_tally_t *t, figures_t *f)
{
        size_t i;
        memset(f, 0, sizeof(*f));
        f->per_shipper = calloc(ow_dataset_shipper_count(t->ds) + 1, sizeof(size_t));
        if (!f->per_shipper)
                return -1;
        for (i = 0; i < t->n_orders; i++) {
                const rec_t *r = &t->recs[i];
                if (!t->seen[i] || r->outcome < 0)
                        continue;
                if (r->outcome <= 1) { /* confirmed on time / late */
                        int s = shipper_index(t->ds, r->shipper_id);
                        f->confirmed++;
                        f->revenue += r->total_cents;
                        if (s >= 0)
                                f->per_shipper[s]++;
                }
                if (r->refund_cents > 0) {
                        f->refunds++;
                        f->refund_cents += r->refund_cents;
                }
        }
        return 0;
}

static json_t *money(int64_t cents)
{
        char buf[32];
        ow_format_cents(cents, buf, sizeof(buf));
        return json_pack("{s:I, s:s}", "cents", (json_int_t)cents, "amount", buf);
}

/* An integer counter of the simulator's stats ("a.b" for nested); -1 if absent. */
static int64_t sim_int(json_t *sim, const char *path)
{
        char key[64];
        const char *dot = strchr(path, '.');
        json_t *v;
        if (!sim)
                return -1;
        if (dot) {
                snprintf(key, sizeof(key), "%.*s", (int)(dot - path), path);
                return sim_int(json_object_get(sim, key), dot + 1);
        }
        v = json_object_get(sim, path);
        if (json_is_integer(v))
                return (int64_t)json_integer_value(v);
        if (json_is_boolean(v))
                return json_is_true(v) ? 1 : 0;
        return -1;
}

typedef struct check {
        const char *name;
        int64_t value, want; /* want -2: informational */
        int ok;
} check_t;

static size_t sim_check_list(const ow_tally_t *t, json_t *sim, check_t *c)
{
        figures_t f;
        size_t n = 0;
        int64_t oos = sim_int(sim, "out_of_stock"), unk = sim_int(sim, "unknown_product");
        int64_t conflicts = sim_int(sim, "key_conflicts");

        if (figures(t, &f))
                return 0;
        c[n] = (check_t){"reservations failed", (oos < 0 ? 0 : oos) + (unk < 0 ? 0 : unk) +
                                                        (conflicts < 0 ? 0 : conflicts),
                         0, oos >= 0};
        c[n].ok = c[n].ok && c[n].value == 0;
        n++;
        c[n] = (check_t){"duplicate confirmations", sim_int(sim, "duplicate_confirmations"), 0, 0};
        c[n].ok = c[n].value == 0;
        n++;
        c[n] = (check_t){"stock went negative", sim_int(sim, "stock_negative"), 0, 0};
        c[n].ok = c[n].value == 0;
        n++;
        c[n] = (check_t){"orders confirmed (sim)", sim_int(sim, "orders_confirmed"), (int64_t)f.confirmed, 0};
        c[n].ok = c[n].value == c[n].want;
        n++;
        c[n] = (check_t){"refunds (sim)", sim_int(sim, "refunds.count"), (int64_t)f.refunds, 0};
        c[n].ok = c[n].value == c[n].want;
        n++;
        c[n] = (check_t){"refunded cents (sim)", sim_int(sim, "refunds.cents"), f.refund_cents, 0};
        c[n].ok = c[n].value == c[n].want;
        n++;
        free(f.per_shipper);
        return n;
}

int ow_sim_checks(const ow_tally_t *t, json_t *sim_stats, FILE *out)
{
        check_t c[8];
        size_t i, n;
        int all = 1;

        if (!sim_stats) {
                if (out)
                        fprintf(out, "  (no simulator statistics)\n");
                return 0;
        }
        n = sim_check_list(t, sim_stats, c);
        if (!n)
                return 0;
        for (i = 0; i < n; i++) {
                all &= c[i].ok;
                if (!out)
                        continue;
                if (c[i].value < 0)
                        fprintf(out, "  %-28s %12s   FAIL (missing from /stats)\n", c[i].name, "?");
                else
                        fprintf(out, "  %-28s %12" PRId64 "   %s (want %" PRId64 ")\n", c[i].name, c[i].value,
                                c[i].ok ? "ok" : "FAIL", c[i].want);
        }
        return all;
}

json_t *ow_tally_to_json(const ow_tally_t *t, json_t *sim_stats)
{
        figures_t f;
        json_t *root, *outc, *ship;
        size_t i;

        if (figures(t, &f))
                return NULL;
        root = json_object();
        outc = json_object();
        ship = json_object();
        for (i = 0; i < N_OUTCOMES; i++)
                if (i < N_ALWAYS || t->outcomes[i])
                        json_object_set_new(outc, outcome_names[i], json_integer((json_int_t)t->outcomes[i]));
        for (i = 0; i < ow_dataset_shipper_count(t->ds); i++)
                json_object_set_new(ship, ow_dataset_shipper_at(t->ds, i)->company_name,
                                    json_integer((json_int_t)f.per_shipper[i]));
        json_object_set_new(root, "outcomes", outc);
        json_object_set_new(root, "confirmed_per_shipper", ship);
        json_object_set_new(root, "revenue_confirmed", money(f.revenue));
        {
                json_t *r = money(f.refund_cents);
                json_object_set_new(r, "count", json_integer((json_int_t)f.refunds));
                json_object_set_new(root, "refunds", r);
        }
        json_object_set_new(root, "total_orders", json_integer((json_int_t)t->done));
        json_object_set_new(root, "failed", json_integer((json_int_t)t->failed));
        if (t->first_error[0])
                json_object_set_new(root, "first_failure", json_string(t->first_error));
        if (sim_stats) {
                check_t c[8];
                size_t n = sim_check_list(t, sim_stats, c);
                json_t *checks = json_object();
                int all = n > 0;
                for (i = 0; i < n; i++) {
                        json_object_set_new(checks, c[i].name,
                                            json_pack("{s:I, s:I, s:b}", "value", (json_int_t)c[i].value, "want",
                                                      (json_int_t)c[i].want, "ok", c[i].ok));
                        all &= c[i].ok;
                }
                json_object_set_new(checks, "all_ok", json_boolean(all));
                json_object_set_new(root, "checks", checks);
                json_object_set(root, "sim", sim_stats);
        }
        free(f.per_shipper);
        return root;
}

void ow_tally_print(const ow_tally_t *t, json_t *sim_stats, FILE *out)
{
        figures_t f;
        char amount[32];
        size_t i;

        if (figures(t, &f))
                return;
        fprintf(out, "Orders per outcome (%zu orders with a result)\n", t->done);
        for (i = 0; i < N_OUTCOMES; i++)
                if (i < N_ALWAYS || t->outcomes[i])
                        fprintf(out, "  %-28s %6zu\n", outcome_names[i], t->outcomes[i]);
        if (t->failed)
                fprintf(out, "  %-28s %6zu   (first: %s)\n", "FAILED executions", t->failed, t->first_error);
        ow_format_cents(f.revenue, amount, sizeof(amount));
        fprintf(out, "Revenue of confirmed orders     %12s  (%zu orders)\n", amount, f.confirmed);
        ow_format_cents(f.refund_cents, amount, sizeof(amount));
        fprintf(out, "Refunds                         %12s  (%zu orders)\n", amount, f.refunds);
        fprintf(out, "Confirmed orders per shipper\n");
        for (i = 0; i < ow_dataset_shipper_count(t->ds); i++)
                fprintf(out, "  %-28s %6zu\n", ow_dataset_shipper_at(t->ds, i)->company_name, f.per_shipper[i]);
        if (sim_stats) {
                fprintf(out, "Simulator checks\n");
                ow_sim_checks(t, sim_stats, out);
        }
        free(f.per_shipper);
}

int ow_tally_matches_expected(const ow_tally_t *t, FILE *out)
{
        size_t i, bad = 0;
        for (i = 0; i < t->n_orders; i++) {
                const ow_order_t *o = ow_dataset_order_at(t->ds, i);
                const rec_t *r = &t->recs[i];
                const char *want;
                int64_t total = 0;
                if (!t->seen[i])
                        continue;
                want = ow_outcome_name(ow_expected_outcome(t->ds, o));
                ow_order_total_cents(o, &total);
                if (r->outcome < 0 || strcmp(outcome_names[(int)r->outcome], want) ||
                    (r->outcome != 4 && r->total_cents != total)) {
                        if (out && bad < 10)
                                fprintf(out, "  order %" PRId32 ": got %s (total %" PRId64 "), expected %s (total %" PRId64
                                             ")\n",
                                        o->order_id, r->outcome < 0 ? "FAILED" : outcome_names[(int)r->outcome],
                                        r->total_cents, want, total);
                        bad++;
                }
        }
        if (out && bad > 10)
                fprintf(out, "  ... and %zu more\n", bad - 10);
        return bad == 0;
}
