/*
 * orders_logic.h - business logic of the order-processing example, in plain C.
 *
 * This header (and the library `orders_logic` behind it) deliberately includes
 * nothing from duraflow: it is the seam that lets a user keep their business
 * code and leave the framework. Everything here is deterministic and free of
 * global state; nothing is thread-safe by itself (one object, one thread at a
 * time, or lock around it).
 *
 * Contents
 *   1. Money, decimals and dates (exact integer arithmetic, UTC, no timezone).
 *   2. The Northwind dataset loader (CSV with real-world flaws) and accessors.
 *   3. Business rules: order total, validation, payment, shipment, outcome.
 *   4. Texts: shipping label, late notice, confirmation (caller frees).
 *   5. Inventory ledger with idempotent reservations.
 *   6. The expected demo summary, computed from the data.
 *
 * Money: amounts are int64 cents. A line's exact value is kept in "e4" units,
 * i.e. 1/10000 of a cent (price cents x quantity x (10000 - discount bp)), and
 * only an order total is rounded to cents, half up, once.
 *
 * Ownership: a dataset owns every order, line, product, customer and shipper
 * it hands out, and every string inside them; those pointers stay valid until
 * ow_dataset_free(). Functions returning `char *` return a malloc'd string the
 * caller frees with free(); they return NULL only when out of memory.
 *
 * Build: the CMake target `orders_logic` defines ORDERS_DATA_DIR (absolute
 * path of workers/orders/data, the bundled Northwind CSVs) for its users.
 */
#ifndef ORDERS_LOGIC_H
#define ORDERS_LOGIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* 1. Money, decimals and dates                                             */
/* ------------------------------------------------------------------------ */

#define OW_MS_PER_DAY INT64_C(86400000)
/* Credit limit: a payment is declined when the order total exceeds it. */
#define OW_CREDIT_LIMIT_CENTS INT64_C(1000000) /* 10,000.00 */
/* An order shipped more than this many days after requiredDate is cancelled. */
#define OW_LATE_GRACE_DAYS 30

/* Parses a plain decimal `[-]digits[.digits]` (no exponent, no spaces, no
 * thousands separator) of `len` bytes into an integer scaled by 10^scale
 * (scale 0..9): "0.05" at scale 4 -> 500, "14.00" at scale 2 -> 1400.
 * More fractional digits than `scale` are accepted only if they are zeros.
 * Returns true on success, false on any syntax error or int64 overflow. */
bool ow_parse_decimal(const char *s, size_t len, int scale, int64_t *out);

/* Parses a decimal integer `[-]digits` into int64; false on error/overflow. */
bool ow_parse_int(const char *s, size_t len, int64_t *out);

/* Days since 1970-01-01 of a proleptic Gregorian civil date (any year). */
int64_t ow_days_from_civil(int64_t y, unsigned m, unsigned d);

/* Parses "YYYY-MM-DD HH:MM:SS.fff" (also accepted: "YYYY-MM-DD HH:MM:SS" and
 * "YYYY-MM-DD", and 1 to 3 fraction digits) as UTC into milliseconds since the
 * Unix epoch. Validates ranges (month 1-12, day within the month, leap years,
 * 00:00:00 - 23:59:59). Returns false on any error. No timezone dependence. */
bool ow_parse_datetime_ms(const char *s, size_t len, int64_t *out_ms);

/* Formats UTC ms as "YYYY-MM-DD" into buf (at least 16 bytes). */
void ow_format_date(int64_t ms, char *buf, size_t cap);
/* Formats UTC ms as "YYYY-MM-DD HH:MM:SS.mmm" into buf (at least 32 bytes). */
void ow_format_datetime(int64_t ms, char *buf, size_t cap);
/* Formats cents as "-1234.05" / "1265793.04" into buf (at least 24 bytes). */
void ow_format_cents(int64_t cents, char *buf, size_t cap);

/* Rounds an amount in 1/10000 of a cent to cents, half up (towards +inf on a
 * tie: 0.5 -> 1, -0.5 -> 0). */
int64_t ow_round_e4_to_cents(int64_t e4);

/* ------------------------------------------------------------------------ */
/* 2. Dataset                                                               */
/* ------------------------------------------------------------------------ */

/* One order line (a row of order-details.csv). */
typedef struct ow_line {
    int32_t order_id;
    int32_t product_id;
    int64_t unit_price_cents; /* price of the line, not the product's list price */
    int32_t quantity;         /* as in the file; validation rejects <= 0 */
    int32_t discount_bp;      /* basis points: 0.05 -> 500, 0.25 -> 2500 */
    long src_line;            /* 1-based line number in order-details.csv */
} ow_line_t;

/* One order (a row of orders.csv) with its lines, in file order. Nullable
 * columns map the literal NULL to "" and a false has_* flag. */
typedef struct ow_order {
    int32_t order_id;
    const char *customer_id;
    int32_t employee_id;
    int64_t order_date_ms;
    int64_t required_date_ms;
    int64_t shipped_date_ms; /* 0 when !has_shipped */
    bool has_shipped;        /* false when shippedDate is NULL */
    int32_t ship_via;        /* shipper id */
    int64_t freight_cents;
    const char *ship_name;
    const char *ship_address; /* reconstructed, e.g. "Rua do Paço, 67" */
    const char *ship_city;
    const char *ship_region; /* "" when NULL */
    bool has_ship_region;
    const char *ship_postal_code; /* "" when NULL */
    bool has_ship_postal_code;
    const char *ship_country;
    const ow_line_t *lines;
    size_t n_lines;
    long src_line; /* 1-based line number in orders.csv */
} ow_order_t;

typedef struct ow_product {
    int32_t product_id;
    const char *name;
    int32_t supplier_id;
    int32_t category_id;
    const char *quantity_per_unit;
    int64_t unit_price_cents; /* list price (lines carry their own price) */
    int32_t units_in_stock;
    int32_t units_on_order;
    int32_t reorder_level;
    bool discontinued;
    long src_line; /* 1-based line number in products.csv */
} ow_product_t;

typedef struct ow_customer {
    const char *customer_id;
    const char *company_name;
    const char *contact_name;
    const char *contact_title;
    const char *address; /* reconstructed, e.g. "Rua do Paço, 67" */
    const char *city;
    const char *region; /* "" when NULL */
    bool has_region;
    const char *postal_code; /* "" when NULL */
    bool has_postal_code;
    const char *country;
    const char *phone;
    const char *fax; /* "" when NULL */
    bool has_fax;
    long src_line; /* 1-based line number in customers.csv */
} ow_customer_t;

typedef struct ow_shipper {
    int32_t shipper_id;
    const char *company_name;
    const char *phone;
    long src_line; /* 1-based line number in shippers.csv */
} ow_shipper_t;

typedef struct ow_dataset ow_dataset_t;

/* Called once per problem the loader finds: `file` is the CSV's base name
 * (e.g. "orders.csv"), `line` its 1-based physical line number (0 for a
 * problem with the whole file), `message` a human-readable description.
 * Both strings are only valid during the call. May be NULL (silence). */
typedef void (*ow_report_fn)(void *opaque, const char *file, long line,
                             const char *message);

/* Loads orders.csv, order-details.csv, products.csv, customers.csv and
 * shippers.csv from directory `dir`.
 *
 * Columns are found by header name (order does not matter, unknown extra
 * columns are ignored). Fields are RFC 4180 (optionally double-quoted, ""
 * escapes a quote, quoted fields may hold commas and newlines); CRLF and a
 * UTF-8 BOM are accepted; blank lines are skipped.
 *
 * Repair: orders.shipAddress and customers.address may contain an unquoted
 * comma followed by a space ("Rua do Paço, 67"); a row with k surplus fields
 * is repaired by joining the k fields after the address back with ",", but
 * only if each of them starts with a space (the signature of that flaw).
 *
 * A row that cannot be made sense of (wrong field count after repair, bad
 * number, bad date, invalid UTF-8, embedded NUL, unterminated quote, duplicate
 * id, a line whose orderID has no order) is reported and skipped; the rest of
 * the file still loads. Rows that parse but break a business rule (unknown
 * customer or product, quantity <= 0) are kept: ow_validate_order flags them.
 *
 * Returns NULL, after reporting why, only when a file is missing/unreadable,
 * lacks a required column, or memory runs out. Free with ow_dataset_free. */
ow_dataset_t *ow_dataset_load(const char *dir, ow_report_fn report, void *opaque);
void ow_dataset_free(ow_dataset_t *ds);

/* Number of problems reported while loading (rows skipped or otherwise). */
size_t ow_dataset_problem_count(const ow_dataset_t *ds);

/* Orders are sorted by order id; lines of each order keep file order (a
 * second line with the same orderID and productID is reported and skipped).
 * Products and shippers are sorted by id, customers by customerID (strcmp). */
size_t ow_dataset_order_count(const ow_dataset_t *ds);
const ow_order_t *ow_dataset_order_at(const ow_dataset_t *ds, size_t i);
const ow_order_t *ow_dataset_find_order(const ow_dataset_t *ds, int32_t order_id);
/* Total number of lines attached to orders. */
size_t ow_dataset_line_count(const ow_dataset_t *ds);

size_t ow_dataset_product_count(const ow_dataset_t *ds);
const ow_product_t *ow_dataset_product_at(const ow_dataset_t *ds, size_t i);
const ow_product_t *ow_dataset_find_product(const ow_dataset_t *ds, int32_t product_id);

size_t ow_dataset_customer_count(const ow_dataset_t *ds);
const ow_customer_t *ow_dataset_customer_at(const ow_dataset_t *ds, size_t i);
const ow_customer_t *ow_dataset_find_customer(const ow_dataset_t *ds, const char *customer_id);

size_t ow_dataset_shipper_count(const ow_dataset_t *ds);
const ow_shipper_t *ow_dataset_shipper_at(const ow_dataset_t *ds, size_t i);
const ow_shipper_t *ow_dataset_find_shipper(const ow_dataset_t *ds, int32_t shipper_id);

/* ------------------------------------------------------------------------ */
/* 3. Business rules (pure functions)                                       */
/* ------------------------------------------------------------------------ */

/* Exact value of a line in 1/10000 of a cent:
 * unit_price_cents * quantity * (10000 - discount_bp). False on overflow. */
bool ow_line_value_e4(const ow_line_t *line, int64_t *out_e4);

/* Order total in cents: sum of exact line values plus freight, rounded half
 * up once at the end. False on overflow. */
bool ow_order_total_cents(const ow_order_t *order, int64_t *out_cents);

/* Checks that the order's customer and shipper exist, that it has at least
 * one line, and that every line has a known product, quantity > 0, a price
 * >= 0 and a discount in 0..10000 bp. Returns true when valid; otherwise
 * writes into msg (if msg && cap) a message naming the first bad field, e.g.
 * "order 10248: customerID 'XXXXX' is unknown" or
 * "order 10248 line 2: quantity must be > 0 (got 0)". */
bool ow_validate_order(const ow_dataset_t *ds, const ow_order_t *order,
                       char *msg, size_t cap);

typedef enum ow_payment {
    OW_PAYMENT_APPROVED = 0,
    OW_PAYMENT_DECLINED = 1 /* total > OW_CREDIT_LIMIT_CENTS */
} ow_payment_t;

/* Payment decision: declined when total_cents > OW_CREDIT_LIMIT_CENTS. */
ow_payment_t ow_payment_decide(int64_t total_cents);

typedef enum ow_shipment {
    OW_SHIPMENT_ON_TIME = 0, /* shipped <= requiredDate */
    OW_SHIPMENT_LATE,        /* requiredDate < shipped <= requiredDate + 30 days */
    OW_SHIPMENT_TOO_LATE,    /* shipped > requiredDate + 30 days */
    OW_SHIPMENT_NEVER        /* shippedDate NULL */
} ow_shipment_t;

/* Shipment outcome from the order's real shippedDate and requiredDate. */
ow_shipment_t ow_shipment_classify(const ow_order_t *order);

/* Whole days between requiredDate and shippedDate (positive when late,
 * rounded up: 1 ms late counts as 1 day). 0 when not shipped. */
int64_t ow_days_late(const ow_order_t *order);

typedef enum ow_outcome {
    OW_OUTCOME_PAYMENT_DECLINED = 0,
    OW_OUTCOME_CONFIRMED_ON_TIME,
    OW_OUTCOME_CONFIRMED_LATE,
    OW_OUTCOME_CANCELLED, /* never shipped, or shipped > 30 days late */
    OW_OUTCOME_INVALID,   /* ow_validate_order failed (none in Northwind) */
    OW_OUTCOME_COUNT_
} ow_outcome_t;

/* "payment_declined", "confirmed_on_time", "confirmed_late", "cancelled",
 * "invalid"; "?" for anything else. */
const char *ow_outcome_name(ow_outcome_t outcome);

/* Expected final outcome of an order, in workflow order: validation, then
 * payment (total vs credit limit), then shipment. */
ow_outcome_t ow_expected_outcome(const ow_dataset_t *ds, const ow_order_t *order);

/* ------------------------------------------------------------------------ */
/* 4. Texts (malloc'd, caller frees; NULL only when out of memory)          */
/* ------------------------------------------------------------------------ */

/* Multi-line shipping label: order id, ship name, address, city/region/postal
 * code, country, shipper. */
char *ow_shipping_label(const ow_dataset_t *ds, const ow_order_t *order);

/* Texts address the customer by the order's shipName (customers.csv has
 * typos such as "Blondesddsl père et fils" for BLONP; the orders carry the
 * right name). */

/* Late notice sent when requiredDate passes before the order shipped. */
char *ow_late_notice(const ow_dataset_t *ds, const ow_order_t *order);

/* Confirmation text for a confirmed (on time or late) order: total, freight,
 * ship date, shipper, and how late if late. */
char *ow_confirmation_text(const ow_dataset_t *ds, const ow_order_t *order);

/* ------------------------------------------------------------------------ */
/* 5. Inventory ledger                                                      */
/* ------------------------------------------------------------------------ */

typedef struct ow_ledger ow_ledger_t;

typedef enum ow_reserve_result {
    OW_RESERVE_OK = 0,
    OW_RESERVE_OUT_OF_STOCK,    /* nothing taken; the answer is remembered */
    OW_RESERVE_UNKNOWN_PRODUCT, /* nothing taken, nothing remembered */
    OW_RESERVE_KEY_CONFLICT,    /* key already used for another product/qty */
    OW_RESERVE_INVALID,         /* NULL key or qty <= 0 */
    OW_RESERVE_NO_MEMORY
} ow_reserve_result_t;

typedef enum ow_release_result {
    OW_RELEASE_OK = 0,       /* stock given back */
    OW_RELEASE_ALREADY,      /* already released: no-op */
    OW_RELEASE_NOT_HELD,     /* the key's reservation failed (out of stock): no-op */
    OW_RELEASE_UNKNOWN_KEY   /* never reserved: no-op */
} ow_release_result_t;

typedef struct ow_ledger_counters {
    size_t products;
    size_t keys;                /* distinct idempotency keys remembered */
    uint64_t reserved_ok;       /* successful first-time reservations */
    uint64_t out_of_stock;      /* first-time reservations refused */
    uint64_t replays;           /* reserve calls answered from a remembered key */
    uint64_t key_conflicts;
    uint64_t unknown_product;
    uint64_t invalid;
    uint64_t released;          /* releases that gave stock back */
    uint64_t release_noops;     /* ALREADY + NOT_HELD + UNKNOWN_KEY */
    int64_t units_held;         /* units reserved and not released */
    int64_t units_in_stock;     /* sum of current stock over all products */
} ow_ledger_counters_t;

/* Ledger whose initial stock of each product of the dataset is exactly the
 * total quantity ordered of it across all lines with quantity > 0 (products
 * never ordered get 0). NULL when out of memory. Caller owns; free with
 * ow_ledger_free. */
ow_ledger_t *ow_ledger_create(const ow_dataset_t *ds);
/* Empty ledger; add products with ow_ledger_set_stock. */
ow_ledger_t *ow_ledger_create_empty(void);
void ow_ledger_free(ow_ledger_t *ledger);

/* Adds a product or overwrites its current stock (stock >= 0). False on bad
 * argument or out of memory. */
bool ow_ledger_set_stock(ow_ledger_t *ledger, int32_t product_id, int64_t stock);

/* Reserves qty units of product under idempotency key `key` (copied).
 * The first call with a key decides: OK takes the stock, OUT_OF_STOCK takes
 * nothing; either answer is remembered, and any later call with the same key
 * and same product/qty is a no-op returning that answer - even after the
 * reservation was released (a late retry never re-takes stock). The same key
 * with a different product or qty returns KEY_CONFLICT and changes nothing. */
ow_reserve_result_t ow_ledger_reserve(ow_ledger_t *ledger, int32_t product_id,
                                      int32_t qty, const char *key);

/* Gives back the stock of the reservation made under `key`, exactly once. */
ow_release_result_t ow_ledger_release(ow_ledger_t *ledger, const char *key);

/* Current stock of a product, or -1 when unknown. */
int64_t ow_ledger_stock(const ow_ledger_t *ledger, int32_t product_id);

void ow_ledger_counters(const ow_ledger_t *ledger, ow_ledger_counters_t *out);

const char *ow_reserve_result_name(ow_reserve_result_t r);
const char *ow_release_result_name(ow_release_result_t r);

/* ------------------------------------------------------------------------ */
/* 6. Expected demo summary                                                 */
/* ------------------------------------------------------------------------ */

typedef struct ow_shipper_count {
    int32_t shipper_id;
    const char *company_name; /* owned by the dataset */
    size_t confirmed;
} ow_shipper_count_t;

typedef struct ow_summary {
    size_t total_orders;
    size_t total_lines;
    size_t outcomes[OW_OUTCOME_COUNT_]; /* indexed by ow_outcome_t */
    size_t never_shipped;                 /* shippedDate NULL */
    size_t shipped_more_than_30_days_late;
    int64_t revenue_confirmed_cents;      /* totals of confirmed_on_time + late */
    size_t refunds_count;                 /* cancelled orders */
    int64_t refunds_cents;                /* their totals */
    int64_t lines_total_cents;            /* all lines, before freight, rounded once */
    ow_shipper_count_t *per_shipper;      /* one per shipper, by shipper id */
    size_t n_shippers;
} ow_summary_t;

/* Computes the summary the demo prints, from the data alone. Returns false
 * when out of memory (or on overflow). Free with ow_summary_free; the
 * summary borrows shipper names from the dataset. */
bool ow_expected_summary(const ow_dataset_t *ds, ow_summary_t *out);
void ow_summary_free(ow_summary_t *summary);

/* The summary as JSON, in exactly the form tests/orders/expected_summary.py
 * prints (keys sorted, 2-space indent, UTF-8 kept), ending with "\n". */
char *ow_summary_to_json(const ow_summary_t *summary);

#ifdef __cplusplus
}
#endif

#endif /* ORDERS_LOGIC_H */
