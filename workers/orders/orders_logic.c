/*
 * orders_logic.c - money, dates, business rules, texts and the expected
 * summary of the order example. Plain C, no framework include.
 */
#include "orders_logic.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Numbers                                                                  */
/* ------------------------------------------------------------------------ */

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

bool ow_parse_decimal(const char *s, size_t len, int scale, int64_t *out)
{
    if (!s || !out || scale < 0 || scale > 9)
        return false;
    size_t i = 0;
    bool neg = false;
    if (i < len && (s[i] == '-' || s[i] == '+')) {
        neg = s[i] == '-';
        i++;
    }
    /* magnitude accumulated as a negative number so INT64_MIN fits */
    int64_t acc = 0;
    size_t int_digits = 0, frac_digits = 0;
    while (i < len && is_digit(s[i])) {
        int d = s[i] - '0';
        if (acc < (INT64_MIN + d) / 10)
            return false;
        acc = acc * 10 - d;
        int_digits++;
        i++;
    }
    if (i < len && s[i] == '.') {
        i++;
        while (i < len && is_digit(s[i])) {
            int d = s[i] - '0';
            if ((int)frac_digits < scale) {
                if (acc < (INT64_MIN + d) / 10)
                    return false;
                acc = acc * 10 - d;
            } else if (d != 0) {
                return false; /* more precision than the scale can hold */
            }
            frac_digits++;
            i++;
        }
        if (frac_digits == 0)
            return false; /* "12." */
    }
    if (i != len || int_digits == 0)
        return false; /* trailing garbage, ".5", "", "-" */
    for (int k = (int)(frac_digits < (size_t)scale ? frac_digits : (size_t)scale); k < scale;
         k++) {
        if (acc < INT64_MIN / 10)
            return false;
        acc *= 10;
    }
    if (!neg) {
        if (acc == INT64_MIN)
            return false;
        acc = -acc;
    }
    *out = acc;
    return true;
}

bool ow_parse_int(const char *s, size_t len, int64_t *out)
{
    if (!s || !out)
        return false;
    for (size_t i = 0; i < len; i++)
        if (s[i] == '.')
            return false;
    return ow_parse_decimal(s, len, 0, out);
}

int64_t ow_round_e4_to_cents(int64_t e4)
{
    /* floor((e4 + 5000) / 10000), with floor division for negatives */
    int64_t x = e4 + 5000;
    int64_t q = x / 10000;
    if ((x % 10000) < 0)
        q--;
    return q;
}

void ow_format_cents(int64_t cents, char *buf, size_t cap)
{
    /* avoid negating INT64_MIN: work on unsigned magnitude */
    uint64_t mag = cents < 0 ? (uint64_t)0 - (uint64_t)cents : (uint64_t)cents;
    snprintf(buf, cap, "%s%llu.%02llu", cents < 0 ? "-" : "", (unsigned long long)(mag / 100),
             (unsigned long long)(mag % 100));
}

/* ------------------------------------------------------------------------ */
/* Dates (UTC, proleptic Gregorian; Howard Hinnant's civil algorithms)      */
/* ------------------------------------------------------------------------ */

int64_t ow_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;                                   /* [0, 399] */
    const int64_t mm = m, dd = d;
    const int64_t doy = (153 * (mm > 2 ? mm - 3 : mm + 9) + 2) / 5 + dd - 1; /* [0, 365] */
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* [0, 146096] */
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const int64_t doe = z - era * 146097;
    const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const int64_t mp = (5 * doy + 2) / 153;
    *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int64_t y, unsigned m)
{
    static const unsigned dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* Reads exactly n digits at s[*i]. */
static bool digits(const char *s, size_t len, size_t *i, size_t n, unsigned *out)
{
    unsigned v = 0;
    if (len - *i < n)
        return false;
    for (size_t k = 0; k < n; k++) {
        char c = s[*i + k];
        if (!is_digit(c))
            return false;
        v = v * 10 + (unsigned)(c - '0');
    }
    *i += n;
    *out = v;
    return true;
}

static bool expect(const char *s, size_t len, size_t *i, char c)
{
    if (*i >= len || s[*i] != c)
        return false;
    (*i)++;
    return true;
}

bool ow_parse_datetime_ms(const char *s, size_t len, int64_t *out_ms)
{
    if (!s || !out_ms)
        return false;
    size_t i = 0;
    unsigned y, mo, d, h = 0, mi = 0, se = 0, ms = 0;
    if (!digits(s, len, &i, 4, &y) || !expect(s, len, &i, '-') ||
        !digits(s, len, &i, 2, &mo) || !expect(s, len, &i, '-') ||
        !digits(s, len, &i, 2, &d))
        return false;
    if (i < len) {
        if (!(expect(s, len, &i, ' ') || expect(s, len, &i, 'T')) ||
            !digits(s, len, &i, 2, &h) || !expect(s, len, &i, ':') ||
            !digits(s, len, &i, 2, &mi) || !expect(s, len, &i, ':') ||
            !digits(s, len, &i, 2, &se))
            return false;
        if (i < len) {
            if (!expect(s, len, &i, '.'))
                return false;
            size_t nd = 0;
            while (i < len && is_digit(s[i]) && nd < 3) {
                ms = ms * 10 + (unsigned)(s[i] - '0');
                i++;
                nd++;
            }
            if (nd == 0 || i != len)
                return false;
            while (nd++ < 3)
                ms *= 10;
        }
    }
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || se > 59)
        return false;
    int64_t days = ow_days_from_civil(y, mo, d);
    *out_ms = ((days * 24 + h) * 60 + mi) * INT64_C(60000) + (int64_t)se * 1000 + ms;
    return true;
}

static void split_ms(int64_t ms, int64_t *y, unsigned *mo, unsigned *d, unsigned *h,
                     unsigned *mi, unsigned *s, unsigned *milli)
{
    int64_t days = ms / OW_MS_PER_DAY;
    int64_t rem = ms % OW_MS_PER_DAY;
    if (rem < 0) {
        rem += OW_MS_PER_DAY;
        days--;
    }
    civil_from_days(days, y, mo, d);
    *h = (unsigned)(rem / 3600000);
    *mi = (unsigned)(rem / 60000 % 60);
    *s = (unsigned)(rem / 1000 % 60);
    *milli = (unsigned)(rem % 1000);
}

void ow_format_date(int64_t ms, char *buf, size_t cap)
{
    int64_t y;
    unsigned mo, d, h, mi, s, milli;
    split_ms(ms, &y, &mo, &d, &h, &mi, &s, &milli);
    snprintf(buf, cap, "%04lld-%02u-%02u", (long long)y, mo, d);
}

void ow_format_datetime(int64_t ms, char *buf, size_t cap)
{
    int64_t y;
    unsigned mo, d, h, mi, s, milli;
    split_ms(ms, &y, &mo, &d, &h, &mi, &s, &milli);
    snprintf(buf, cap, "%04lld-%02u-%02u %02u:%02u:%02u.%03u", (long long)y, mo, d, h, mi, s,
             milli);
}

/* ------------------------------------------------------------------------ */
/* Business rules                                                           */
/* ------------------------------------------------------------------------ */

bool ow_line_value_e4(const ow_line_t *line, int64_t *out_e4)
{
    int64_t a;
    if (__builtin_mul_overflow(line->unit_price_cents, (int64_t)line->quantity, &a) ||
        __builtin_mul_overflow(a, (int64_t)10000 - line->discount_bp, &a))
        return false;
    *out_e4 = a;
    return true;
}

bool ow_order_total_cents(const ow_order_t *order, int64_t *out_cents)
{
    int64_t sum;
    if (__builtin_mul_overflow(order->freight_cents, (int64_t)10000, &sum))
        return false;
    for (size_t i = 0; i < order->n_lines; i++) {
        int64_t v;
        if (!ow_line_value_e4(&order->lines[i], &v) || __builtin_add_overflow(sum, v, &sum))
            return false;
    }
    if (sum > INT64_MAX - 5000)
        return false;
    *out_cents = ow_round_e4_to_cents(sum);
    return true;
}

static bool fail(char *msg, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static bool fail(char *msg, size_t cap, const char *fmt, ...)
{
    if (msg && cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, cap, fmt, ap);
        va_end(ap);
    }
    return false;
}

bool ow_validate_order(const ow_dataset_t *ds, const ow_order_t *o, char *msg, size_t cap)
{
    long id = (long)o->order_id;
    if (!ow_dataset_find_customer(ds, o->customer_id))
        return fail(msg, cap, "order %ld: customerID '%s' is unknown", id, o->customer_id);
    if (!ow_dataset_find_shipper(ds, o->ship_via))
        return fail(msg, cap, "order %ld: shipVia %ld is not a known shipper", id,
                    (long)o->ship_via);
    if (o->freight_cents < 0)
        return fail(msg, cap, "order %ld: freight must be >= 0", id);
    if (o->n_lines == 0)
        return fail(msg, cap, "order %ld: lines: the order has no line", id);
    for (size_t i = 0; i < o->n_lines; i++) {
        const ow_line_t *l = &o->lines[i];
        size_t n = i + 1;
        if (!ow_dataset_find_product(ds, l->product_id))
            return fail(msg, cap, "order %ld line %zu: productID %ld is unknown", id, n,
                        (long)l->product_id);
        if (l->quantity <= 0)
            return fail(msg, cap, "order %ld line %zu: quantity must be > 0 (got %ld)", id, n,
                        (long)l->quantity);
        if (l->unit_price_cents < 0)
            return fail(msg, cap, "order %ld line %zu: unitPrice must be >= 0", id, n);
        if (l->discount_bp < 0 || l->discount_bp > 10000)
            return fail(msg, cap, "order %ld line %zu: discount must be within 0..1", id, n);
    }
    int64_t total;
    if (!ow_order_total_cents(o, &total))
        return fail(msg, cap, "order %ld: total overflows", id);
    if (msg && cap)
        msg[0] = '\0';
    return true;
}

ow_payment_t ow_payment_decide(int64_t total_cents)
{
    return total_cents > OW_CREDIT_LIMIT_CENTS ? OW_PAYMENT_DECLINED : OW_PAYMENT_APPROVED;
}

ow_shipment_t ow_shipment_classify(const ow_order_t *o)
{
    if (!o->has_shipped)
        return OW_SHIPMENT_NEVER;
    if (o->shipped_date_ms <= o->required_date_ms)
        return OW_SHIPMENT_ON_TIME;
    if (o->shipped_date_ms <= o->required_date_ms + OW_LATE_GRACE_DAYS * OW_MS_PER_DAY)
        return OW_SHIPMENT_LATE;
    return OW_SHIPMENT_TOO_LATE;
}

int64_t ow_days_late(const ow_order_t *o)
{
    if (!o->has_shipped)
        return 0;
    int64_t diff = o->shipped_date_ms - o->required_date_ms;
    if (diff <= 0)
        return -((-diff) / OW_MS_PER_DAY);
    return (diff + OW_MS_PER_DAY - 1) / OW_MS_PER_DAY;
}

const char *ow_outcome_name(ow_outcome_t outcome)
{
    switch (outcome) {
    case OW_OUTCOME_PAYMENT_DECLINED:
        return "payment_declined";
    case OW_OUTCOME_CONFIRMED_ON_TIME:
        return "confirmed_on_time";
    case OW_OUTCOME_CONFIRMED_LATE:
        return "confirmed_late";
    case OW_OUTCOME_CANCELLED:
        return "cancelled";
    case OW_OUTCOME_INVALID:
        return "invalid";
    default:
        return "?";
    }
}

ow_outcome_t ow_expected_outcome(const ow_dataset_t *ds, const ow_order_t *o)
{
    int64_t total;
    if (!ow_validate_order(ds, o, NULL, 0) || !ow_order_total_cents(o, &total))
        return OW_OUTCOME_INVALID;
    if (ow_payment_decide(total) == OW_PAYMENT_DECLINED)
        return OW_OUTCOME_PAYMENT_DECLINED;
    switch (ow_shipment_classify(o)) {
    case OW_SHIPMENT_ON_TIME:
        return OW_OUTCOME_CONFIRMED_ON_TIME;
    case OW_SHIPMENT_LATE:
        return OW_OUTCOME_CONFIRMED_LATE;
    default:
        return OW_OUTCOME_CANCELLED;
    }
}

/* ------------------------------------------------------------------------ */
/* Texts                                                                    */
/* ------------------------------------------------------------------------ */

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *s = malloc((size_t)n + 1);
    if (!s)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

static const char *shipper_name(const ow_dataset_t *ds, const ow_order_t *o)
{
    const ow_shipper_t *s = ow_dataset_find_shipper(ds, o->ship_via);
    return s ? s->company_name : "unknown shipper";
}

char *ow_shipping_label(const ow_dataset_t *ds, const ow_order_t *o)
{
    /* City line: "City Region PostalCode", skipping NULL parts. */
    return xasprintf("ORDER %ld via %s\n"
                     "%s\n"
                     "%s\n"
                     "%s%s%s%s%s\n"
                     "%s\n",
                     (long)o->order_id, shipper_name(ds, o), o->ship_name, o->ship_address,
                     o->ship_city, o->has_ship_region ? " " : "", o->ship_region,
                     o->has_ship_postal_code ? " " : "", o->ship_postal_code, o->ship_country);
}

char *ow_late_notice(const ow_dataset_t *ds, const ow_order_t *o)
{
    (void)ds; /* kept for symmetry with the other texts */
    char due[32], cancel[32];
    ow_format_date(o->required_date_ms, due, sizeof due);
    ow_format_date(o->required_date_ms + OW_LATE_GRACE_DAYS * OW_MS_PER_DAY, cancel,
                   sizeof cancel);
    return xasprintf("Dear %s, your order %ld was due on %s and has not shipped yet. "
                     "We apologise for the delay. If it has not shipped by %s it will be "
                     "cancelled and refunded in full.",
                     o->ship_name, (long)o->order_id, due, cancel);
}

char *ow_confirmation_text(const ow_dataset_t *ds, const ow_order_t *o)
{
    int64_t total = 0;
    char stotal[32], sfreight[32], shipped[32], due[32], timing[64];
    ow_order_total_cents(o, &total);
    ow_format_cents(total, stotal, sizeof stotal);
    ow_format_cents(o->freight_cents, sfreight, sizeof sfreight);
    ow_format_date(o->required_date_ms, due, sizeof due);
    if (o->has_shipped) {
        ow_format_date(o->shipped_date_ms, shipped, sizeof shipped);
        int64_t late = ow_days_late(o);
        if (late > 0)
            snprintf(timing, sizeof timing, "%lld day%s late", (long long)late,
                     late == 1 ? "" : "s");
        else
            snprintf(timing, sizeof timing, "on time");
    } else {
        snprintf(shipped, sizeof shipped, "(not shipped)");
        snprintf(timing, sizeof timing, "not shipped");
    }
    return xasprintf("Order %ld for %s is confirmed: %zu line%s, total %s "
                     "(freight %s included). Shipped on %s via %s, %s (due %s).",
                     (long)o->order_id, o->ship_name, o->n_lines,
                     o->n_lines == 1 ? "" : "s", stotal, sfreight, shipped,
                     shipper_name(ds, o), timing, due);
}

/* ------------------------------------------------------------------------ */
/* Expected summary                                                         */
/* ------------------------------------------------------------------------ */

bool ow_expected_summary(const ow_dataset_t *ds, ow_summary_t *out)
{
    memset(out, 0, sizeof *out);
    size_t ns = ow_dataset_shipper_count(ds);
    if (ns) {
        out->per_shipper = calloc(ns, sizeof *out->per_shipper);
        if (!out->per_shipper)
            return false;
    }
    out->n_shippers = ns;
    for (size_t i = 0; i < ns; i++) {
        const ow_shipper_t *s = ow_dataset_shipper_at(ds, i);
        out->per_shipper[i].shipper_id = s->shipper_id;
        out->per_shipper[i].company_name = s->company_name;
    }
    int64_t lines_e4 = 0;
    out->total_orders = ow_dataset_order_count(ds);
    for (size_t i = 0; i < out->total_orders; i++) {
        const ow_order_t *o = ow_dataset_order_at(ds, i);
        out->total_lines += o->n_lines;
        for (size_t k = 0; k < o->n_lines; k++) {
            int64_t v;
            if (!ow_line_value_e4(&o->lines[k], &v) ||
                __builtin_add_overflow(lines_e4, v, &lines_e4))
                goto overflow;
        }
        if (!o->has_shipped)
            out->never_shipped++;
        if (ow_shipment_classify(o) == OW_SHIPMENT_TOO_LATE)
            out->shipped_more_than_30_days_late++;
        ow_outcome_t oc = ow_expected_outcome(ds, o);
        out->outcomes[oc]++;
        int64_t total = 0;
        if (oc != OW_OUTCOME_INVALID && !ow_order_total_cents(o, &total))
            goto overflow;
        if (oc == OW_OUTCOME_CONFIRMED_ON_TIME || oc == OW_OUTCOME_CONFIRMED_LATE) {
            if (__builtin_add_overflow(out->revenue_confirmed_cents, total,
                                       &out->revenue_confirmed_cents))
                goto overflow;
            for (size_t s = 0; s < ns; s++)
                if (out->per_shipper[s].shipper_id == o->ship_via)
                    out->per_shipper[s].confirmed++;
        } else if (oc == OW_OUTCOME_CANCELLED) {
            out->refunds_count++;
            if (__builtin_add_overflow(out->refunds_cents, total, &out->refunds_cents))
                goto overflow;
        }
    }
    if (lines_e4 > INT64_MAX - 5000)
        goto overflow;
    out->lines_total_cents = ow_round_e4_to_cents(lines_e4);
    return true;
overflow:
    ow_summary_free(out);
    return false;
}

void ow_summary_free(ow_summary_t *summary)
{
    if (!summary)
        return;
    free(summary->per_shipper);
    summary->per_shipper = NULL;
    summary->n_shippers = 0;
}

/* --- JSON in Python's json.dumps(indent=2, sort_keys=True, ensure_ascii=False) form --- */

typedef struct {
    char *buf;
    size_t len, cap;
    bool oom;
} sbuf_t;

static void sb_putn(sbuf_t *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->buf, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->buf = p;
        b->cap = cap;
    }
    memcpy(b->buf + b->len, s, n);
    b->len += n;
    b->buf[b->len] = '\0';
}

static void sb_puts(sbuf_t *b, const char *s)
{
    sb_putn(b, s, strlen(s));
}

static void sb_printf(sbuf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(sbuf_t *b, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        b->oom = true; /* only short fragments are printed this way */
        return;
    }
    sb_putn(b, tmp, (size_t)n);
}

/* A JSON string as Python writes it with ensure_ascii=False. */
static void sb_json_string(sbuf_t *b, const char *s)
{
    sb_putn(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '"':
            sb_puts(b, "\\\"");
            break;
        case '\\':
            sb_puts(b, "\\\\");
            break;
        case '\n':
            sb_puts(b, "\\n");
            break;
        case '\r':
            sb_puts(b, "\\r");
            break;
        case '\t':
            sb_puts(b, "\\t");
            break;
        case '\b':
            sb_puts(b, "\\b");
            break;
        case '\f':
            sb_puts(b, "\\f");
            break;
        default:
            if (c < 0x20)
                sb_printf(b, "\\u%04x", c);
            else
                sb_putn(b, (const char *)&c, 1);
        }
    }
    sb_putn(b, "\"", 1);
}

static void sb_money(sbuf_t *b, const char *indent, int64_t cents, bool with_count,
                     size_t count)
{
    char amount[32];
    ow_format_cents(cents, amount, sizeof amount);
    sb_printf(b, "{\n%s  \"amount\": \"%s\",\n%s  \"cents\": %lld", indent, amount, indent,
              (long long)cents);
    if (with_count)
        sb_printf(b, ",\n%s  \"count\": %zu", indent, count);
    sb_printf(b, "\n%s}", indent);
}

static int shipper_name_cmp(const void *a, const void *b)
{
    const ow_shipper_count_t *x = *(ow_shipper_count_t *const *)a;
    const ow_shipper_count_t *y = *(ow_shipper_count_t *const *)b;
    return strcmp(x->company_name, y->company_name);
}

char *ow_summary_to_json(const ow_summary_t *s)
{
    sbuf_t b = {0};
    /* Keys in sorted order, as json.dumps(sort_keys=True) writes them. */
    sb_puts(&b, "{\n  \"confirmed_per_shipper\": {");
    const ow_shipper_count_t **sorted = NULL;
    if (s->n_shippers) {
        sorted = malloc(s->n_shippers * sizeof *sorted);
        if (!sorted) {
            free(b.buf);
            return NULL;
        }
        for (size_t i = 0; i < s->n_shippers; i++)
            sorted[i] = &s->per_shipper[i];
        qsort(sorted, s->n_shippers, sizeof *sorted, shipper_name_cmp);
        for (size_t i = 0; i < s->n_shippers; i++) {
            sb_puts(&b, i ? ",\n    " : "\n    ");
            sb_json_string(&b, sorted[i]->company_name);
            sb_printf(&b, ": %zu", sorted[i]->confirmed);
        }
        sb_puts(&b, "\n  ");
    }
    free(sorted);
    sb_puts(&b, "},\n");
    char limit[32];
    ow_format_cents(OW_CREDIT_LIMIT_CENTS, limit, sizeof limit);
    sb_printf(&b, "  \"credit_limit\": \"%s\",\n", limit);
    sb_printf(&b, "  \"invalid_orders\": %zu,\n", s->outcomes[OW_OUTCOME_INVALID]);
    sb_puts(&b, "  \"lines_total_before_freight\": ");
    sb_money(&b, "  ", s->lines_total_cents, false, 0);
    sb_printf(&b, ",\n  \"never_shipped\": %zu,\n", s->never_shipped);
    sb_puts(&b, "  \"outcomes\": {\n");
    sb_printf(&b, "    \"cancelled\": %zu,\n", s->outcomes[OW_OUTCOME_CANCELLED]);
    sb_printf(&b, "    \"confirmed_late\": %zu,\n", s->outcomes[OW_OUTCOME_CONFIRMED_LATE]);
    sb_printf(&b, "    \"confirmed_on_time\": %zu,\n",
              s->outcomes[OW_OUTCOME_CONFIRMED_ON_TIME]);
    sb_printf(&b, "    \"payment_declined\": %zu\n  },\n",
              s->outcomes[OW_OUTCOME_PAYMENT_DECLINED]);
    sb_puts(&b, "  \"refunds\": ");
    sb_money(&b, "  ", s->refunds_cents, true, s->refunds_count);
    sb_puts(&b, ",\n  \"revenue_confirmed\": ");
    sb_money(&b, "  ", s->revenue_confirmed_cents, false, 0);
    sb_printf(&b, ",\n  \"shipped_more_than_30_days_late\": %zu,\n",
              s->shipped_more_than_30_days_late);
    sb_printf(&b, "  \"total_lines\": %zu,\n", s->total_lines);
    sb_printf(&b, "  \"total_orders\": %zu\n}\n", s->total_orders);
    if (b.oom) {
        free(b.buf);
        return NULL;
    }
    return b.buf;
}
