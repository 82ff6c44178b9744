/*
 * Unit tests of the order example's business logic (workers/orders), which
 * has no framework dependency. Check framework, forked mode.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* mkdtemp, popen */
#endif
#include "orders_logic.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef ORDERS_DATA_DIR
#error "ORDERS_DATA_DIR must be defined (by workers/orders/CMakeLists.txt)"
#endif

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

#define MAX_REPORTS 64

typedef struct {
    size_t n;
    struct {
        char file[64];
        long line;
        char msg[512];
    } r[MAX_REPORTS];
} reports_t;

static void collect(void *opaque, const char *file, long line, const char *message)
{
    reports_t *rs = opaque;
    if (rs->n < MAX_REPORTS) {
        snprintf(rs->r[rs->n].file, sizeof rs->r[rs->n].file, "%s", file);
        rs->r[rs->n].line = line;
        snprintf(rs->r[rs->n].msg, sizeof rs->r[rs->n].msg, "%s", message);
    }
    rs->n++;
}

/* Index of the report for file:line, or -1. */
static int find_report(const reports_t *rs, const char *file, long line)
{
    for (size_t i = 0; i < rs->n && i < MAX_REPORTS; i++)
        if (strcmp(rs->r[i].file, file) == 0 && rs->r[i].line == line)
            return (int)i;
    return -1;
}

static void dump_reports(const reports_t *rs)
{
    for (size_t i = 0; i < rs->n && i < MAX_REPORTS; i++)
        fprintf(stderr, "  report %s:%ld: %s\n", rs->r[i].file, rs->r[i].line, rs->r[i].msg);
}

static ow_dataset_t *ds;
static reports_t ds_reports;

static void load_northwind(void)
{
    memset(&ds_reports, 0, sizeof ds_reports);
    ds = ow_dataset_load(ORDERS_DATA_DIR, collect, &ds_reports);
    ck_assert_ptr_nonnull(ds);
}

static void free_northwind(void)
{
    ow_dataset_free(ds);
    ds = NULL;
}

static int64_t ms_of(const char *s)
{
    int64_t ms = 0;
    ck_assert_msg(ow_parse_datetime_ms(s, strlen(s), &ms), "cannot parse %s", s);
    return ms;
}

static int64_t dec(const char *s, int scale)
{
    int64_t v = 0;
    ck_assert_msg(ow_parse_decimal(s, strlen(s), scale, &v), "cannot parse %s", s);
    return v;
}

static bool dec_ok(const char *s, int scale)
{
    int64_t v;
    return ow_parse_decimal(s, strlen(s), scale, &v);
}

/* ------------------------------------------------------------------------ */
/* Numbers and dates                                                        */
/* ------------------------------------------------------------------------ */

START_TEST(test_parse_decimal)
{
    ck_assert_int_eq(dec("14.00", 2), 1400);
    ck_assert_int_eq(dec("9.8", 2), 980);
    ck_assert_int_eq(dec("0.05", 4), 500);
    ck_assert_int_eq(dec("0.25", 4), 2500);
    ck_assert_int_eq(dec("0", 4), 0);
    ck_assert_int_eq(dec("1", 4), 10000);
    ck_assert_int_eq(dec("-3.5", 2), -350);
    ck_assert_int_eq(dec("1.000", 2), 100); /* extra zero digits are harmless */
    ck_assert_int_eq(dec("92233720368547758.07", 2), INT64_MAX);
    ck_assert_int_eq(dec("-92233720368547758.08", 2), INT64_MIN);
    ck_assert(!dec_ok("92233720368547758.08", 2)); /* overflow */
    ck_assert(!dec_ok("1.005", 2));                /* would need rounding */
    ck_assert(!dec_ok("", 2));
    ck_assert(!dec_ok("-", 2));
    ck_assert(!dec_ok("abc", 2));
    ck_assert(!dec_ok("12.", 2));
    ck_assert(!dec_ok(".5", 2));
    ck_assert(!dec_ok("1e3", 2));
    ck_assert(!dec_ok(" 1", 2));
    ck_assert(!dec_ok("NULL", 2));
    int64_t v;
    ck_assert(ow_parse_int("10248", 5, &v) && v == 10248);
    ck_assert(!ow_parse_int("12.0", 4, &v));
    ck_assert(!ow_parse_int("12x", 3, &v));
}
END_TEST

START_TEST(test_rounding_and_format)
{
    char b[32];
    ck_assert_int_eq(ow_round_e4_to_cents(5000), 1);   /* 0.5 cent up */
    ck_assert_int_eq(ow_round_e4_to_cents(4999), 0);
    ck_assert_int_eq(ow_round_e4_to_cents(15000), 2);  /* half up, not to even */
    ck_assert_int_eq(ow_round_e4_to_cents(25000), 3);
    ck_assert_int_eq(ow_round_e4_to_cents(-5000), 0);  /* half up = towards +inf */
    ck_assert_int_eq(ow_round_e4_to_cents(-5001), -1);
    ck_assert_int_eq(ow_round_e4_to_cents(0), 0);
    ow_format_cents(126579304, b, sizeof b);
    ck_assert_str_eq(b, "1265793.04");
    ow_format_cents(5, b, sizeof b);
    ck_assert_str_eq(b, "0.05");
    ow_format_cents(-105, b, sizeof b);
    ck_assert_str_eq(b, "-1.05");
    ow_format_cents(INT64_MIN, b, sizeof b);
    ck_assert_str_eq(b, "-92233720368547758.08");
}
END_TEST

START_TEST(test_dates)
{
    /* 1996-07-04 is day 9681 since the epoch: 26 years of 365 days (9490)
     * + 6 leap days (72, 76, 80, 84, 88, 92) = 9496 days to 1996-01-01,
     * + 185 days (Jan..Jun of a leap year: 31+29+31+30+31+30). */
    ck_assert_int_eq(ow_days_from_civil(1996, 7, 4), 9681);
    ck_assert_int_eq(ms_of("1996-07-04 00:00:00.000"), INT64_C(9681) * OW_MS_PER_DAY);
    ck_assert_int_eq(ms_of("1970-01-01 00:00:00.000"), 0);
    ck_assert_int_eq(ms_of("1969-12-31 23:59:59.999"), -1);
    ck_assert_int_eq(ms_of("1970-01-01 01:02:03.4"), 3723400);
    ck_assert_int_eq(ms_of("1970-01-02"), OW_MS_PER_DAY);
    ck_assert_int_eq(ms_of("2000-03-01 00:00:00.000") - ms_of("2000-02-28 00:00:00.000"),
                     2 * OW_MS_PER_DAY); /* 2000 is a leap year */
    ck_assert_int_eq(ms_of("1900-03-01 00:00:00.000") - ms_of("1900-02-28 00:00:00.000"),
                     OW_MS_PER_DAY); /* 1900 is not */
    ms_of("1996-02-29 00:00:00.000");
    int64_t ms;
    const char *bad[] = {"1997-02-29 00:00:00.000", "1996-13-01 00:00:00.000",
                         "1996-00-10 00:00:00.000", "1996-04-31 00:00:00.000",
                         "1996-07-04 24:00:00.000", "1996-07-04 00:60:00.000",
                         "1996-07-04 00:00:00.0000", "1996-07-04 00:00:00.",
                         "1996-7-4 00:00:00.000",   "NULL", "", "1996-07-04x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(!ow_parse_datetime_ms(bad[i], strlen(bad[i]), &ms), "accepted %s",
                      bad[i]);
    char b[32];
    ow_format_datetime(ms_of("1998-05-06 13:14:15.016"), b, sizeof b);
    ck_assert_str_eq(b, "1998-05-06 13:14:15.016");
    ow_format_date(ms_of("1969-12-31 23:59:59.999"), b, sizeof b);
    ck_assert_str_eq(b, "1969-12-31");
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Loading the real Northwind files                                         */
/* ------------------------------------------------------------------------ */

START_TEST(test_load_counts)
{
    if (ds_reports.n)
        dump_reports(&ds_reports);
    ck_assert_uint_eq(ds_reports.n, 0);
    ck_assert_uint_eq(ow_dataset_problem_count(ds), 0);
    ck_assert_uint_eq(ow_dataset_order_count(ds), 830);
    ck_assert_uint_eq(ow_dataset_line_count(ds), 2155);
    ck_assert_uint_eq(ow_dataset_product_count(ds), 77);
    ck_assert_uint_eq(ow_dataset_customer_count(ds), 91);
    ck_assert_uint_eq(ow_dataset_shipper_count(ds), 3);
    ck_assert_int_eq(ow_dataset_order_at(ds, 0)->order_id, 10248);
    ck_assert_int_eq(ow_dataset_order_at(ds, 829)->order_id, 11077);
    ck_assert_ptr_null(ow_dataset_order_at(ds, 830));
    ck_assert_str_eq(ow_dataset_find_shipper(ds, 3)->company_name, "Federal Shipping");
    ck_assert_ptr_null(ow_dataset_find_order(ds, 1));

    size_t lines = 0, never = 0, comma = 0;
    for (size_t i = 0; i < ow_dataset_order_count(ds); i++) {
        const ow_order_t *o = ow_dataset_order_at(ds, i);
        lines += o->n_lines;
        never += !o->has_shipped;
        comma += strchr(o->ship_address, ',') != NULL;
    }
    ck_assert_uint_eq(lines, 2155);
    ck_assert_uint_eq(never, 21);
    ck_assert_uint_eq(comma, 176); /* every 15-field row was repaired */
    size_t ccomma = 0;
    for (size_t i = 0; i < ow_dataset_customer_count(ds); i++)
        ccomma += strchr(ow_dataset_customer_at(ds, i)->address, ',') != NULL;
    ck_assert_uint_eq(ccomma, 24);
}
END_TEST

START_TEST(test_comma_in_address)
{
    /* orders.csv line 4 has 15 fields:
     * ...,Hanari Carnes,Rua do Paço, 67,Rio de Janeiro,RJ,05454-876,Brazil */
    const ow_order_t *o = ow_dataset_find_order(ds, 10250);
    ck_assert_ptr_nonnull(o);
    ck_assert_int_eq(o->src_line, 4);
    ck_assert_str_eq(o->ship_name, "Hanari Carnes");
    ck_assert_str_eq(o->ship_address, "Rua do Paço, 67");
    ck_assert_str_eq(o->ship_city, "Rio de Janeiro");
    ck_assert(o->has_ship_region);
    ck_assert_str_eq(o->ship_region, "RJ");
    ck_assert(o->has_ship_postal_code);
    ck_assert_str_eq(o->ship_postal_code, "05454-876");
    ck_assert_str_eq(o->ship_country, "Brazil");
    ck_assert_str_eq(o->customer_id, "HANAR");
    ck_assert_int_eq(o->employee_id, 4);
    ck_assert_int_eq(o->ship_via, 2);
    ck_assert_int_eq(o->freight_cents, 6583);
    ck_assert_int_eq(o->order_date_ms, ms_of("1996-07-08 00:00:00.000"));
    ck_assert_int_eq(o->required_date_ms, ms_of("1996-08-05 00:00:00.000"));
    ck_assert(o->has_shipped);
    ck_assert_int_eq(o->shipped_date_ms, ms_of("1996-07-12 00:00:00.000"));

    size_t n = 0;
    for (size_t i = 0; i < ow_dataset_order_count(ds); i++) {
        const ow_order_t *x = ow_dataset_order_at(ds, i);
        if (strcmp(x->ship_address, "Rua do Paço, 67") == 0) {
            n++;
            ck_assert_str_eq(x->ship_city, "Rio de Janeiro");
            ck_assert_str_eq(x->ship_country, "Brazil");
        }
    }
    ck_assert_uint_eq(n, 14);

    /* the customer row has the same flaw (12 fields instead of 11) */
    const ow_customer_t *c = ow_dataset_find_customer(ds, "HANAR");
    ck_assert_ptr_nonnull(c);
    ck_assert_str_eq(c->address, "Rua do Paço, 67");
    ck_assert_str_eq(c->city, "Rio de Janeiro");
    ck_assert_str_eq(c->region, "RJ");
    ck_assert_str_eq(c->postal_code, "05454-876");
    ck_assert_str_eq(c->country, "Brazil");
    ck_assert_str_eq(c->phone, "(21) 555-0091");
    ck_assert_str_eq(c->fax, "(21) 555-8765");

    /* "2, rue du Commerce": the fragment before the comma is a number */
    const ow_customer_t *v = ow_dataset_find_customer(ds, "VICTE");
    ck_assert_str_eq(v->address, "2, rue du Commerce");
    ck_assert_str_eq(v->city, "Lyon");
    ck_assert(!v->has_region);
}
END_TEST

START_TEST(test_nulls_and_utf8)
{
    /* 10248: ...,Vins et alcools Chevalier,59 rue de l'Abbaye,Reims,NULL,51100,France */
    const ow_order_t *o = ow_dataset_find_order(ds, 10248);
    ck_assert(!o->has_ship_region);
    ck_assert_str_eq(o->ship_region, "");
    ck_assert_str_eq(o->ship_address, "59 rue de l'Abbaye");
    ck_assert_str_eq(o->ship_postal_code, "51100");

    /* 10298: shipPostalCode NULL (Cork, Ireland) */
    o = ow_dataset_find_order(ds, 10298);
    ck_assert(!o->has_ship_postal_code);
    ck_assert_str_eq(o->ship_postal_code, "");
    ck_assert_str_eq(o->ship_city, "Cork");
    ck_assert(o->has_ship_region);
    ck_assert_str_eq(o->ship_region, "Co. Cork");

    /* 11008: shippedDate NULL */
    o = ow_dataset_find_order(ds, 11008);
    ck_assert(!o->has_shipped);
    ck_assert_int_eq(o->shipped_date_ms, 0);

    /* 10249: UTF-8 kept byte for byte */
    o = ow_dataset_find_order(ds, 10249);
    ck_assert_str_eq(o->ship_name, "Toms Spezialitäten");
    ck_assert_str_eq(o->ship_city, "Münster");

    const ow_customer_t *c = ow_dataset_find_customer(ds, "HUNGO");
    ck_assert(!c->has_postal_code);
    ck_assert_str_eq(c->postal_code, "");
    c = ow_dataset_find_customer(ds, "ALFKI");
    ck_assert(!c->has_region);
    ck_assert(c->has_fax);
    ck_assert_str_eq(c->fax, "030-0076545");

    size_t nr = 0, np = 0;
    for (size_t i = 0; i < ow_dataset_order_count(ds); i++) {
        nr += !ow_dataset_order_at(ds, i)->has_ship_region;
        np += !ow_dataset_order_at(ds, i)->has_ship_postal_code;
    }
    ck_assert_uint_eq(nr, 507);
    ck_assert_uint_eq(np, 19);
    size_t nf = 0;
    for (size_t i = 0; i < ow_dataset_customer_count(ds); i++)
        nf += !ow_dataset_customer_at(ds, i)->has_fax;
    ck_assert_uint_eq(nf, 22);

    const ow_product_t *p = ow_dataset_find_product(ds, 1);
    ck_assert_str_eq(p->name, "Chai");
    ck_assert_int_eq(p->unit_price_cents, 1800);
    ck_assert(!p->discontinued);
}
END_TEST

START_TEST(test_order_lines)
{
    const ow_order_t *o = ow_dataset_find_order(ds, 10248);
    ck_assert_uint_eq(o->n_lines, 3);
    ck_assert_int_eq(o->lines[0].product_id, 11);
    ck_assert_int_eq(o->lines[0].unit_price_cents, 1400);
    ck_assert_int_eq(o->lines[0].quantity, 12);
    ck_assert_int_eq(o->lines[0].discount_bp, 0);
    ck_assert_int_eq(o->lines[0].src_line, 2);
    ck_assert_int_eq(o->lines[2].product_id, 72);
    /* 10403 has 15% discounts */
    o = ow_dataset_find_order(ds, 10403);
    ck_assert_uint_eq(o->n_lines, 2);
    ck_assert_int_eq(o->lines[0].discount_bp, 1500);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Business rules                                                           */
/* ------------------------------------------------------------------------ */

START_TEST(test_order_totals_by_hand)
{
    int64_t t;
    /* 10248, no discount:
     *   product 11: 14.00 x 12 = 168.00
     *   product 42:  9.80 x 10 =  98.00
     *   product 72: 34.80 x  5 = 174.00
     *   lines 440.00 + freight 32.38 = 472.38 */
    ck_assert(ow_order_total_cents(ow_dataset_find_order(ds, 10248), &t));
    ck_assert_int_eq(t, 47238);

    /* 10403, exactly half a cent, where half-up and half-even differ:
     *   product 16: 13.90 x 21 x (1 - 0.15) = 291.90 x 0.85 = 248.115
     *   product 48: 10.20 x 70 x (1 - 0.15) = 714.00 x 0.85 = 606.900
     *   lines 855.015 + freight 73.79 = 928.805 -> half up 928.81
     *   (half to even would give 928.80; binary floats give either). */
    ck_assert(ow_order_total_cents(ow_dataset_find_order(ds, 10403), &t));
    ck_assert_int_eq(t, 92881);

    /* 10264: 15.20 x 35 = 532.00; 7.70 x 25 x 0.85 = 163.625;
     *   695.625 + freight 3.67 = 699.295 -> 699.30 */
    ck_assert(ow_order_total_cents(ow_dataset_find_order(ds, 10264), &t));
    ck_assert_int_eq(t, 69930);

    /* line exact value in 1/10000 cent: 1390 c x 21 x 8500 = 248115000 */
    int64_t v;
    ck_assert(ow_line_value_e4(&ow_dataset_find_order(ds, 10403)->lines[0], &v));
    ck_assert_int_eq(v, INT64_C(248115000));

    /* overflow is detected, not wrapped */
    ow_line_t huge = {.unit_price_cents = INT64_MAX / 2, .quantity = 3, .discount_bp = 0};
    ck_assert(!ow_line_value_e4(&huge, &v));
}
END_TEST

START_TEST(test_lines_total)
{
    /* all lines, exact: 1265793.0395 = 126579303.95 cents -> 1265793.04 */
    int64_t e4 = 0, v;
    for (size_t i = 0; i < ow_dataset_order_count(ds); i++) {
        const ow_order_t *o = ow_dataset_order_at(ds, i);
        for (size_t k = 0; k < o->n_lines; k++) {
            ck_assert(ow_line_value_e4(&o->lines[k], &v));
            e4 += v;
        }
    }
    ck_assert_int_eq(e4, INT64_C(1265793039500));
    ck_assert_int_eq(ow_round_e4_to_cents(e4), 126579304);
    ow_summary_t s;
    ck_assert(ow_expected_summary(ds, &s));
    ck_assert_int_eq(s.lines_total_cents, 126579304);
    ow_summary_free(&s);
}
END_TEST

START_TEST(test_payment)
{
    ck_assert_int_eq(ow_payment_decide(1000000), OW_PAYMENT_APPROVED); /* exactly the limit */
    ck_assert_int_eq(ow_payment_decide(1000001), OW_PAYMENT_DECLINED);
    ck_assert_int_eq(ow_payment_decide(0), OW_PAYMENT_APPROVED);
    /* 10372: 10101.68 > 10000.00 */
    int64_t t;
    const ow_order_t *o = ow_dataset_find_order(ds, 10372);
    ck_assert(ow_order_total_cents(o, &t));
    ck_assert_int_eq(t, 1010168);
    ck_assert_int_eq(ow_expected_outcome(ds, o), OW_OUTCOME_PAYMENT_DECLINED);
}
END_TEST

START_TEST(test_shipment_boundaries)
{
    ow_order_t o;
    memset(&o, 0, sizeof o);
    o.required_date_ms = ms_of("1996-08-01 00:00:00.000");
    o.has_shipped = false;
    ck_assert_int_eq(ow_shipment_classify(&o), OW_SHIPMENT_NEVER);
    o.has_shipped = true;
    o.shipped_date_ms = o.required_date_ms;
    ck_assert_int_eq(ow_shipment_classify(&o), OW_SHIPMENT_ON_TIME);
    ck_assert_int_eq(ow_days_late(&o), 0);
    o.shipped_date_ms = o.required_date_ms + 1;
    ck_assert_int_eq(ow_shipment_classify(&o), OW_SHIPMENT_LATE);
    ck_assert_int_eq(ow_days_late(&o), 1);
    o.shipped_date_ms = ms_of("1996-08-31 00:00:00.000"); /* exactly 30 days */
    ck_assert_int_eq(ow_shipment_classify(&o), OW_SHIPMENT_LATE);
    ck_assert_int_eq(ow_days_late(&o), 30);
    o.shipped_date_ms += 1;
    ck_assert_int_eq(ow_shipment_classify(&o), OW_SHIPMENT_TOO_LATE);

    /* real orders */
    ck_assert_int_eq(ow_expected_outcome(ds, ow_dataset_find_order(ds, 10248)),
                     OW_OUTCOME_CONFIRMED_ON_TIME);
    const ow_order_t *late = ow_dataset_find_order(ds, 10264); /* due 08-21, shipped 08-23 */
    ck_assert_int_eq(ow_expected_outcome(ds, late), OW_OUTCOME_CONFIRMED_LATE);
    ck_assert_int_eq(ow_days_late(late), 2);
    ck_assert_int_eq(ow_expected_outcome(ds, ow_dataset_find_order(ds, 11008)),
                     OW_OUTCOME_CANCELLED);
    ck_assert_str_eq(ow_outcome_name(OW_OUTCOME_CONFIRMED_LATE), "confirmed_late");
    ck_assert_str_eq(ow_outcome_name(OW_OUTCOME_PAYMENT_DECLINED), "payment_declined");
}
END_TEST

START_TEST(test_no_order_shipped_over_30_days_late)
{
    size_t late = 0, too_late = 0;
    int64_t worst = 0;
    for (size_t i = 0; i < ow_dataset_order_count(ds); i++) {
        const ow_order_t *o = ow_dataset_order_at(ds, i);
        ow_shipment_t s = ow_shipment_classify(o);
        late += s == OW_SHIPMENT_LATE;
        too_late += s == OW_SHIPMENT_TOO_LATE;
        if (ow_days_late(o) > worst)
            worst = ow_days_late(o);
    }
    ck_assert_uint_eq(too_late, 0);
    ck_assert_uint_eq(late, 37);
    ck_assert_int_eq(worst, 23);
}
END_TEST

START_TEST(test_validation)
{
    char msg[256];
    for (size_t i = 0; i < ow_dataset_order_count(ds); i++) {
        const ow_order_t *o = ow_dataset_order_at(ds, i);
        ck_assert_msg(ow_validate_order(ds, o, msg, sizeof msg), "%s", msg);
    }
    ow_order_t o = *ow_dataset_find_order(ds, 10248);
    ow_line_t lines[3];
    memcpy(lines, o.lines, sizeof lines);
    o.lines = lines;

    o.customer_id = "NOONE";
    ck_assert(!ow_validate_order(ds, &o, msg, sizeof msg));
    ck_assert_str_eq(msg, "order 10248: customerID 'NOONE' is unknown");
    ck_assert_int_eq(ow_expected_outcome(ds, &o), OW_OUTCOME_INVALID);
    o.customer_id = "VINET";

    lines[1].quantity = 0;
    ck_assert(!ow_validate_order(ds, &o, msg, sizeof msg));
    ck_assert_str_eq(msg, "order 10248 line 2: quantity must be > 0 (got 0)");
    lines[1].quantity = -4;
    ck_assert(!ow_validate_order(ds, &o, msg, sizeof msg));
    ck_assert_str_eq(msg, "order 10248 line 2: quantity must be > 0 (got -4)");
    lines[1].quantity = 10;

    lines[2].product_id = 999;
    ck_assert(!ow_validate_order(ds, &o, msg, sizeof msg));
    ck_assert_str_eq(msg, "order 10248 line 3: productID 999 is unknown");
    lines[2].product_id = 72;

    o.ship_via = 7;
    ck_assert(!ow_validate_order(ds, &o, msg, sizeof msg));
    ck_assert_ptr_nonnull(strstr(msg, "shipVia"));
    o.ship_via = 3;

    ck_assert(ow_validate_order(ds, &o, msg, sizeof msg));
    ck_assert(ow_validate_order(ds, &o, NULL, 0));
}
END_TEST

START_TEST(test_texts)
{
    char *label = ow_shipping_label(ds, ow_dataset_find_order(ds, 10250));
    ck_assert_str_eq(label, "ORDER 10250 via United Package\n"
                            "Hanari Carnes\n"
                            "Rua do Paço, 67\n"
                            "Rio de Janeiro RJ 05454-876\n"
                            "Brazil\n");
    free(label);
    label = ow_shipping_label(ds, ow_dataset_find_order(ds, 10248)); /* region NULL */
    ck_assert_str_eq(label, "ORDER 10248 via Federal Shipping\n"
                            "Vins et alcools Chevalier\n"
                            "59 rue de l'Abbaye\n"
                            "Reims 51100\n"
                            "France\n");
    free(label);

    char *late = ow_late_notice(ds, ow_dataset_find_order(ds, 10264));
    ck_assert_str_eq(late, "Dear Folk och fä HB, your order 10264 was due on 1996-08-21 "
                           "and has not shipped yet. We apologise for the delay. If it has "
                           "not shipped by 1996-09-20 it will be cancelled and refunded in "
                           "full.");
    free(late);
    /* customers.csv misspells BLONP ("Blondesddsl"); texts use the order's shipName */
    late = ow_late_notice(ds, ow_dataset_find_order(ds, 10265));
    ck_assert_str_eq(ow_dataset_find_customer(ds, "BLONP")->company_name,
                     "Blondesddsl père et fils");
    ck_assert_ptr_nonnull(strstr(late, "Dear Blondel père et fils, your order 10265"));
    free(late);

    char *conf = ow_confirmation_text(ds, ow_dataset_find_order(ds, 10264));
    ck_assert_str_eq(conf, "Order 10264 for Folk och fä HB is confirmed: 2 lines, total "
                           "699.30 (freight 3.67 included). Shipped on 1996-08-23 via Federal "
                           "Shipping, 2 days late (due 1996-08-21).");
    free(conf);
    conf = ow_confirmation_text(ds, ow_dataset_find_order(ds, 10248));
    ck_assert_ptr_nonnull(strstr(conf, "total 472.38"));
    ck_assert_ptr_nonnull(strstr(conf, "on time (due 1996-08-01)"));
    free(conf);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Inventory ledger                                                         */
/* ------------------------------------------------------------------------ */

static int64_t ordered_qty(int32_t product_id)
{
    int64_t q = 0;
    for (size_t i = 0; i < ow_dataset_order_count(ds); i++) {
        const ow_order_t *o = ow_dataset_order_at(ds, i);
        for (size_t k = 0; k < o->n_lines; k++)
            if (o->lines[k].product_id == product_id)
                q += o->lines[k].quantity;
    }
    return q;
}

START_TEST(test_ledger_idempotent_reserve)
{
    ow_ledger_t *l = ow_ledger_create(ds);
    ck_assert_ptr_nonnull(l);
    int64_t initial = ordered_qty(11);
    ck_assert_int_gt(initial, 0);
    ck_assert_int_eq(ow_ledger_stock(l, 11), initial);

    ck_assert_int_eq(ow_ledger_reserve(l, 11, 12, "exec-1/op-3"), OW_RESERVE_OK);
    ck_assert_int_eq(ow_ledger_stock(l, 11), initial - 12);
    /* same key again: no-op, same answer */
    ck_assert_int_eq(ow_ledger_reserve(l, 11, 12, "exec-1/op-3"), OW_RESERVE_OK);
    ck_assert_int_eq(ow_ledger_reserve(l, 11, 12, "exec-1/op-3"), OW_RESERVE_OK);
    ck_assert_int_eq(ow_ledger_stock(l, 11), initial - 12);
    /* same key, different request: refused, nothing changes */
    ck_assert_int_eq(ow_ledger_reserve(l, 11, 13, "exec-1/op-3"), OW_RESERVE_KEY_CONFLICT);
    ck_assert_int_eq(ow_ledger_reserve(l, 42, 12, "exec-1/op-3"), OW_RESERVE_KEY_CONFLICT);
    ck_assert_int_eq(ow_ledger_stock(l, 11), initial - 12);
    /* a different key takes more */
    ck_assert_int_eq(ow_ledger_reserve(l, 11, 1, "exec-2/op-3"), OW_RESERVE_OK);
    ck_assert_int_eq(ow_ledger_stock(l, 11), initial - 13);

    ck_assert_int_eq(ow_ledger_reserve(l, 4242, 1, "k"), OW_RESERVE_UNKNOWN_PRODUCT);
    ck_assert_int_eq(ow_ledger_stock(l, 4242), -1);
    ck_assert_int_eq(ow_ledger_reserve(l, 11, 0, "k"), OW_RESERVE_INVALID);
    ck_assert_int_eq(ow_ledger_reserve(l, 11, 1, NULL), OW_RESERVE_INVALID);

    /* out of stock: refused, remembered, nothing to release */
    ck_assert_int_eq(ow_ledger_reserve(l, 11, (int32_t)initial, "too-much"),
                     OW_RESERVE_OUT_OF_STOCK);
    ck_assert_int_eq(ow_ledger_stock(l, 11), initial - 13);
    ck_assert_int_eq(ow_ledger_release(l, "exec-2/op-3"), OW_RELEASE_OK);
    ck_assert_int_eq(ow_ledger_reserve(l, 11, (int32_t)initial, "too-much"),
                     OW_RESERVE_OUT_OF_STOCK); /* same answer, even with more stock */
    ck_assert_int_eq(ow_ledger_release(l, "too-much"), OW_RELEASE_NOT_HELD);

    ow_ledger_counters_t c;
    ow_ledger_counters(l, &c);
    ck_assert_uint_eq(c.products, 77);
    ck_assert_uint_eq(c.keys, 3);
    ck_assert_uint_eq(c.reserved_ok, 2);
    ck_assert_uint_eq(c.out_of_stock, 1);
    ck_assert_uint_eq(c.replays, 3);
    ck_assert_uint_eq(c.key_conflicts, 2);
    ck_assert_uint_eq(c.unknown_product, 1);
    ck_assert_uint_eq(c.invalid, 2);
    ck_assert_uint_eq(c.released, 1);
    ck_assert_int_eq(c.units_held, 12);
    ow_ledger_free(l);
}
END_TEST

START_TEST(test_ledger_release_once)
{
    ow_ledger_t *l = ow_ledger_create(ds);
    int64_t initial = ow_ledger_stock(l, 42);
    ck_assert_int_eq(ow_ledger_reserve(l, 42, 10, "r1"), OW_RESERVE_OK);
    ck_assert_int_eq(ow_ledger_stock(l, 42), initial - 10);
    ck_assert_int_eq(ow_ledger_release(l, "r1"), OW_RELEASE_OK);
    ck_assert_int_eq(ow_ledger_stock(l, 42), initial);
    ck_assert_int_eq(ow_ledger_release(l, "r1"), OW_RELEASE_ALREADY);
    ck_assert_int_eq(ow_ledger_release(l, "r1"), OW_RELEASE_ALREADY);
    ck_assert_int_eq(ow_ledger_stock(l, 42), initial);
    /* a late retry of the released reservation does not take stock again */
    ck_assert_int_eq(ow_ledger_reserve(l, 42, 10, "r1"), OW_RESERVE_OK);
    ck_assert_int_eq(ow_ledger_stock(l, 42), initial);
    ck_assert_int_eq(ow_ledger_release(l, "never-reserved"), OW_RELEASE_UNKNOWN_KEY);
    ck_assert_int_eq(ow_ledger_stock(l, 42), initial);
    ow_ledger_counters_t c;
    ow_ledger_counters(l, &c);
    ck_assert_uint_eq(c.released, 1);
    ck_assert_uint_eq(c.release_noops, 3);
    ck_assert_int_eq(c.units_held, 0);
    ow_ledger_free(l);

    ow_ledger_t *e = ow_ledger_create_empty();
    ck_assert_int_eq(ow_ledger_release(e, "x"), OW_RELEASE_UNKNOWN_KEY);
    ck_assert(ow_ledger_set_stock(e, 5, 3));
    ck_assert(ow_ledger_set_stock(e, 2, 1));
    ck_assert(!ow_ledger_set_stock(e, 9, -1));
    ck_assert_int_eq(ow_ledger_reserve(e, 5, 3, "a"), OW_RESERVE_OK);
    ck_assert_int_eq(ow_ledger_reserve(e, 5, 1, "b"), OW_RESERVE_OUT_OF_STOCK);
    ck_assert_int_eq(ow_ledger_reserve(e, 2, 1, "c"), OW_RESERVE_OK);
    ck_assert_int_eq(ow_ledger_stock(e, 5), 0);
    ow_ledger_free(e);
}
END_TEST

START_TEST(test_ledger_full_pass)
{
    ow_ledger_t *l = ow_ledger_create(ds);
    ow_ledger_counters_t c;
    ow_ledger_counters(l, &c);
    ck_assert_int_eq(c.units_in_stock, 51317); /* sum of all ordered quantities */
    char key[64];
    for (int pass = 0; pass < 2; pass++) { /* the second pass is all replays */
        for (size_t i = 0; i < ow_dataset_order_count(ds); i++) {
            const ow_order_t *o = ow_dataset_order_at(ds, i);
            for (size_t k = 0; k < o->n_lines; k++) {
                snprintf(key, sizeof key, "order-%ld/line-%zu", (long)o->order_id, k);
                ow_reserve_result_t r =
                    ow_ledger_reserve(l, o->lines[k].product_id, o->lines[k].quantity, key);
                ck_assert_msg(r == OW_RESERVE_OK, "%s: %s", key, ow_reserve_result_name(r));
            }
        }
    }
    for (size_t i = 0; i < ow_dataset_product_count(ds); i++)
        ck_assert_int_eq(ow_ledger_stock(l, ow_dataset_product_at(ds, i)->product_id), 0);
    ow_ledger_counters(l, &c);
    ck_assert_uint_eq(c.reserved_ok, 2155);
    ck_assert_uint_eq(c.replays, 2155);
    ck_assert_uint_eq(c.keys, 2155);
    ck_assert_uint_eq(c.out_of_stock, 0);
    ck_assert_int_eq(c.units_in_stock, 0);
    ck_assert_int_eq(c.units_held, 51317);
    /* nothing left for a new reservation */
    ck_assert_int_eq(ow_ledger_reserve(l, 11, 1, "one-more"), OW_RESERVE_OUT_OF_STOCK);
    ow_ledger_free(l);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Malformed input                                                          */
/* ------------------------------------------------------------------------ */

static void write_file(const char *dir, const char *name, const char *content)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(content, 1, strlen(content), f), strlen(content));
    ck_assert_int_eq(fclose(f), 0);
}

static void remove_dir(const char *dir)
{
    const char *names[] = {"shippers.csv", "products.csv", "customers.csv", "orders.csv",
                           "order-details.csv"};
    char path[512];
    for (size_t i = 0; i < 5; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

#define ORDERS_HEADER                                                                      \
    "orderID,customerID,employeeID,orderDate,requiredDate,shippedDate,shipVia,freight,"    \
    "shipName,shipAddress,shipCity,shipRegion,shipPostalCode,shipCountry\n"
#define D "1996-07-04 00:00:00.000"

START_TEST(test_malformed_rows)
{
    char dir[] = "/tmp/ow_test_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    /* BOM, CRLF, columns in another order */
    write_file(dir, "shippers.csv",
               "\xEF\xBB\xBF" "companyName,shipperID,phone\r\nSpeedy,1,555\r\nSlow,2,556\r\n");
    write_file(dir, "products.csv",
               "productID,productName,supplierID,categoryID,quantityPerUnit,unitPrice,"
               "unitsInStock,unitsOnOrder,reorderLevel,discontinued\n"
               "1,Chai,1,1,10 boxes,18.00,39,0,10,0\n"
               "2,\"Tea, \"\"green\"\"\",1,1,x,19.00,17,40,25,1\n" /* line 3: quoted */
               "3,Broken,1,1,x,cheap,1,0,0,0\n");                 /* line 4: bad price */
    write_file(dir, "customers.csv",
               "customerID,companyName,contactName,contactTitle,address,city,region,"
               "postalCode,country,phone,fax\n"
               "AAA,Alpha,Ann,Boss,\"Main St, 1\",Town,NULL,123,Land,1,NULL\n"
               "BBB,Beta,Bob,Boss,Rua X, 5,Rio,RJ,456,Brazil,2,3\n" /* line 3: repaired */
               "CCC,Gamma,Cy,Boss,Street,5b,City,NULL,789,Land,3,4\n" /* line 4: no space */
               "DDD,Delta\n");                                       /* line 5: too short */
    write_file(dir, "orders.csv",
               ORDERS_HEADER
               "1,AAA,1," D "," D "," D ",1,1.50,Alpha,Rua do Paço, 67,Rio,RJ,1,Brazil\n"
               "2,AAA,1," D "," D ",NULL,1,2.00,Alpha,Street,Town,NULL,NULL,Land\n"
               "3,AAA,1," D "," D "," D ",1,2.00,Alpha,Street,Town,NULL,NULL\n" /* 4: 13 */
               "4,AAA,1,1996-02-30 00:00:00.000," D ",NULL,1,2.00,A,S,T,NULL,NULL,L\n"
               "\n"                                                    /* 6: blank */
               "5,AAA,1," D "," D ",NULL,1,2.00,\"Alpha\"x,S,T,NULL,NULL,L\n" /* 7 */
               "6,AAA,1," D "," D ",NULL,1,2.00,A\xC3,S,T,NULL,NULL,L\n"        /* 8 */
               "1,AAA,1," D "," D ",NULL,1,2.00,Dup,S,T,NULL,NULL,L\n"         /* 9 */
               "7,AAA,1," D "," D ",NULL,1,2.00,\"multi\nline\",S,T,NULL,NULL,L\n" /* 10 */
               "8,AAA,1," D "," D ",NULL,1,2.00,A,S,T,NULL,NULL,L"); /* 12, no final NL */
    write_file(dir, "order-details.csv",
               "orderID,productID,unitPrice,quantity,discount\n"
               "1,1,18.00,2,0\n"
               "1,2,abc,1,0\n"        /* line 3: non-numeric price */
               "1,2,19.00,3,0.05\n"
               "2,1,18.00,x,0\n"      /* line 5: bad quantity */
               "99,1,18.00,1,0\n"     /* line 6: no such order */
               "1,1,18.00,1,0\n"      /* line 7: duplicate line */
               "2,1,18.00,0,0\n"      /* kept: validation rejects it */
               "2,2,\"19.00,4,0\n"    /* line 9: unterminated quote */
               "8,1,18.00,1,0.1\n");  /* line 10: still read after the resync */

    reports_t rs = {0};
    ow_dataset_t *d = ow_dataset_load(dir, collect, &rs);
    ck_assert_ptr_nonnull(d);
    dump_reports(&rs);

    struct {
        const char *file;
        long line;
        const char *needle;
    } want[] = {
        {"products.csv", 4, "unitPrice"},
        {"customers.csv", 4, "expected 11 fields, found 12"},
        {"customers.csv", 5, "expected 11 fields, found 2"},
        {"orders.csv", 4, "expected 14 fields, found 13"},
        {"orders.csv", 5, "orderDate"},
        {"orders.csv", 7, "closing quote"},
        {"orders.csv", 8, "UTF-8"},
        {"orders.csv", 9, "duplicate orderID 1"},
        {"order-details.csv", 3, "unitPrice: 'abc'"},
        {"order-details.csv", 5, "quantity"},
        {"order-details.csv", 6, "orderID 99 has no order"},
        {"order-details.csv", 7, "duplicate line"},
        {"order-details.csv", 9, "unterminated"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        int k = find_report(&rs, want[i].file, want[i].line);
        ck_assert_msg(k >= 0, "no report for %s:%ld", want[i].file, want[i].line);
        ck_assert_msg(strstr(rs.r[k].msg, want[i].needle), "%s:%ld: '%s' lacks '%s'",
                      want[i].file, want[i].line, rs.r[k].msg, want[i].needle);
    }
    ck_assert_uint_eq(rs.n, sizeof want / sizeof want[0]);
    ck_assert_uint_eq(ow_dataset_problem_count(d), rs.n);

    /* the rest loaded */
    ck_assert_uint_eq(ow_dataset_shipper_count(d), 2);
    ck_assert_str_eq(ow_dataset_find_shipper(d, 2)->company_name, "Slow");
    ck_assert_str_eq(ow_dataset_find_shipper(d, 2)->phone, "556");
    ck_assert_uint_eq(ow_dataset_product_count(d), 2);
    ck_assert_str_eq(ow_dataset_find_product(d, 2)->name, "Tea, \"green\"");
    ck_assert(ow_dataset_find_product(d, 2)->discontinued);
    ck_assert_uint_eq(ow_dataset_customer_count(d), 2);
    ck_assert_str_eq(ow_dataset_find_customer(d, "AAA")->address, "Main St, 1");
    ck_assert_str_eq(ow_dataset_find_customer(d, "BBB")->address, "Rua X, 5");
    ck_assert_str_eq(ow_dataset_find_customer(d, "BBB")->city, "Rio");
    ck_assert_uint_eq(ow_dataset_order_count(d), 4); /* 1, 2, 7, 8 */
    const ow_order_t *o1 = ow_dataset_find_order(d, 1);
    ck_assert_str_eq(o1->ship_address, "Rua do Paço, 67");
    ck_assert_str_eq(o1->ship_name, "Alpha"); /* the first of the duplicates wins */
    ck_assert_uint_eq(o1->n_lines, 2);
    ck_assert_int_eq(o1->lines[1].discount_bp, 500);
    ck_assert_str_eq(ow_dataset_find_order(d, 7)->ship_name, "multi\nline");
    ck_assert_int_eq(ow_dataset_find_order(d, 8)->src_line, 12);
    ck_assert_uint_eq(ow_dataset_find_order(d, 8)->n_lines, 1);
    ck_assert_uint_eq(ow_dataset_line_count(d), 4);
    /* 1: 18.00x2 + 19.00x3x0.95 = 36.00 + 54.15 = 90.15, + 1.50 = 91.65 */
    int64_t t;
    ck_assert(ow_order_total_cents(o1, &t));
    ck_assert_int_eq(t, 9165);
    char msg[128];
    ck_assert(!ow_validate_order(d, ow_dataset_find_order(d, 2), msg, sizeof msg));
    ck_assert_str_eq(msg, "order 2 line 1: quantity must be > 0 (got 0)");
    ck_assert_int_eq(ow_expected_outcome(d, ow_dataset_find_order(d, 2)), OW_OUTCOME_INVALID);
    ow_dataset_free(d);

    /* a missing file is fatal for the load, reported with line 0 */
    char path[512];
    snprintf(path, sizeof path, "%s/orders.csv", dir);
    unlink(path);
    memset(&rs, 0, sizeof rs);
    ck_assert_ptr_null(ow_dataset_load(dir, collect, &rs));
    ck_assert_int_ge(find_report(&rs, "orders.csv", 0), 0);
    /* so is a missing column */
    write_file(dir, "orders.csv", "orderID,customerID\n1,AAA\n");
    memset(&rs, 0, sizeof rs);
    ck_assert_ptr_null(ow_dataset_load(dir, collect, &rs));
    int k = find_report(&rs, "orders.csv", 1);
    ck_assert_int_ge(k, 0);
    ck_assert_ptr_nonnull(strstr(rs.r[k].msg, "employeeID"));
    ck_assert_ptr_null(ow_dataset_load("/nonexistent/dir", NULL, NULL));
    remove_dir(dir);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Summary: C against the independent Python script                        */
/* ------------------------------------------------------------------------ */

START_TEST(test_summary_values)
{
    ow_summary_t s;
    ck_assert(ow_expected_summary(ds, &s));
    ck_assert_uint_eq(s.total_orders, 830);
    ck_assert_uint_eq(s.total_lines, 2155);
    ck_assert_uint_eq(s.never_shipped, 21);
    ck_assert_uint_eq(s.shipped_more_than_30_days_late, 0);
    ck_assert_uint_eq(s.outcomes[OW_OUTCOME_PAYMENT_DECLINED], 12);
    ck_assert_uint_eq(s.outcomes[OW_OUTCOME_CONFIRMED_ON_TIME], 761);
    ck_assert_uint_eq(s.outcomes[OW_OUTCOME_CONFIRMED_LATE], 36);
    ck_assert_uint_eq(s.outcomes[OW_OUTCOME_CANCELLED], 21);
    ck_assert_uint_eq(s.outcomes[OW_OUTCOME_INVALID], 0);
    ck_assert_uint_eq(s.refunds_count, 21);
    ck_assert_int_eq(s.refunds_cents, 2692511);
    ck_assert_int_eq(s.revenue_confirmed_cents, 115840280);
    ck_assert_int_eq(s.lines_total_cents, 126579304);
    ck_assert_uint_eq(s.n_shippers, 3);
    ck_assert_uint_eq(s.per_shipper[0].confirmed + s.per_shipper[1].confirmed +
                          s.per_shipper[2].confirmed,
                      761 + 36);
    ow_summary_free(&s);
}
END_TEST

START_TEST(test_summary_matches_python)
{
    ow_summary_t s;
    ck_assert(ow_expected_summary(ds, &s));
    char *json = ow_summary_to_json(&s);
    ck_assert_ptr_nonnull(json);
    ow_summary_free(&s);

    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' '%s' '%s'", ORDERS_PYTHON, ORDERS_SUMMARY_SCRIPT,
             ORDERS_DATA_DIR);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    char out[8192];
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    int status = pclose(p);
    ck_assert_msg(status == 0, "%s exited with %d", cmd, status);
    ck_assert_msg(strcmp(out, json) == 0, "C summary:\n%s\nPython summary:\n%s", json, out);
    ck_assert_ptr_nonnull(strstr(out, "\"amount\": \"1265793.04\""));
    free(json);
}
END_TEST

static Suite *orders_suite(void)
{
    Suite *s = suite_create("orders_logic");
    TCase *pure = tcase_create("pure");
    tcase_add_test(pure, test_parse_decimal);
    tcase_add_test(pure, test_rounding_and_format);
    tcase_add_test(pure, test_dates);
    suite_add_tcase(s, pure);

    TCase *data = tcase_create("northwind");
    tcase_add_checked_fixture(data, load_northwind, free_northwind);
    tcase_set_timeout(data, 60);
    tcase_add_test(data, test_load_counts);
    tcase_add_test(data, test_comma_in_address);
    tcase_add_test(data, test_nulls_and_utf8);
    tcase_add_test(data, test_order_lines);
    tcase_add_test(data, test_order_totals_by_hand);
    tcase_add_test(data, test_lines_total);
    tcase_add_test(data, test_payment);
    tcase_add_test(data, test_shipment_boundaries);
    tcase_add_test(data, test_no_order_shipped_over_30_days_late);
    tcase_add_test(data, test_validation);
    tcase_add_test(data, test_texts);
    tcase_add_test(data, test_ledger_idempotent_reserve);
    tcase_add_test(data, test_ledger_release_once);
    tcase_add_test(data, test_ledger_full_pass);
    tcase_add_test(data, test_summary_values);
    tcase_add_test(data, test_summary_matches_python);
    suite_add_tcase(s, data);

    TCase *bad = tcase_create("malformed");
    tcase_add_test(bad, test_malformed_rows);
    suite_add_tcase(s, bad);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(orders_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
