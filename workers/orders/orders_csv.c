/*
 * orders_csv.c - Northwind CSV loader for the order example (no framework).
 *
 * Structure:
 *   - a string arena owning every string of the dataset (one free at the end);
 *   - a small RFC 4180 record reader over a file read whole into memory, which
 *     tracks physical line numbers and resynchronises after a bad record;
 *   - per-table row converters (syntax only: business rules live in
 *     orders_logic.c), the address-comma repair, and the final indexing
 *     (sort by id, duplicate detection, attaching lines to orders).
 */
#include "orders_logic.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* String arena                                                             */
/* ------------------------------------------------------------------------ */

typedef struct arena_chunk {
    struct arena_chunk *next;
    size_t used, cap;
    char data[];
} arena_chunk_t;

typedef struct {
    arena_chunk_t *head;
} arena_t;

static char *arena_strndup(arena_t *a, const char *s, size_t len)
{
    if (len > SIZE_MAX / 2)
        return NULL;
    size_t need = len + 1;
    if (!a->head || a->head->cap - a->head->used < need) {
        size_t cap = need > 16384 ? need : 16384;
        arena_chunk_t *c = malloc(sizeof *c + cap);
        if (!c)
            return NULL;
        c->next = a->head;
        c->used = 0;
        c->cap = cap;
        a->head = c;
    }
    char *p = a->head->data + a->head->used;
    if (len)
        memcpy(p, s, len);
    p[len] = '\0';
    a->head->used += need;
    return p;
}

static void arena_free(arena_t *a)
{
    arena_chunk_t *c = a->head;
    while (c) {
        arena_chunk_t *n = c->next;
        free(c);
        c = n;
    }
    a->head = NULL;
}

/* Grows *arr (element size `elem`) so that it can hold at least `need`. */
static bool grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return true;
    size_t ncap = *cap ? *cap : 16;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2)
            return false;
        ncap *= 2;
    }
    if (ncap > SIZE_MAX / elem)
        return false;
    void *p = realloc(*arr, ncap * elem);
    if (!p)
        return false;
    *arr = p;
    *cap = ncap;
    return true;
}

/* ------------------------------------------------------------------------ */
/* Dataset                                                                  */
/* ------------------------------------------------------------------------ */

struct ow_dataset {
    arena_t arena;
    ow_order_t *orders;
    size_t n_orders;
    ow_line_t *lines;
    size_t n_lines;
    ow_product_t *products;
    size_t n_products;
    ow_customer_t *customers;
    size_t n_customers;
    ow_shipper_t *shippers;
    size_t n_shippers;
    size_t problems;
    /* only during load */
    size_t orders_cap, lines_cap, products_cap, customers_cap, shippers_cap;
    ow_report_fn report;
    void *opaque;
};

static void problem(ow_dataset_t *ds, const char *file, long line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void problem(ow_dataset_t *ds, const char *file, long line, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ds->problems++;
    if (ds->report)
        ds->report(ds->opaque, file, line, msg);
}

/* ------------------------------------------------------------------------ */
/* File and CSV record reader                                               */
/* ------------------------------------------------------------------------ */

/* Reads a whole file. Returns NULL with errno set on failure. */
static char *read_file(const char *path, size_t *out_len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap);
    if (!buf) {
        fclose(f);
        errno = ENOMEM;
        return NULL;
    }
    for (;;) {
        if (len == cap) {
            if (cap > SIZE_MAX / 2) {
                free(buf);
                fclose(f);
                errno = EFBIG;
                return NULL;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                fclose(f);
                errno = ENOMEM;
                return NULL;
            }
            buf = nb;
            cap *= 2;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0) {
            if (ferror(f)) {
                int e = errno ? errno : EIO;
                free(buf);
                fclose(f);
                errno = e;
                return NULL;
            }
            break;
        }
    }
    fclose(f);
    *out_len = len;
    return buf;
}

typedef struct {
    size_t off, len; /* into the reader's scratch buffer */
} field_t;

typedef struct {
    const char *buf;
    size_t len, pos;
    long line; /* physical line number at pos, 1-based */
    /* current record */
    char *scratch;
    size_t scratch_len, scratch_cap;
    field_t *fields;
    size_t nfields, fields_cap;
    long rec_line;
    bool oom;
} csv_reader_t;

static bool scratch_put(csv_reader_t *r, char c)
{
    if (!grow((void **)&r->scratch, &r->scratch_cap, r->scratch_len + 1, 1)) {
        r->oom = true;
        return false;
    }
    r->scratch[r->scratch_len++] = c;
    return true;
}

static bool field_begin(csv_reader_t *r)
{
    if (!grow((void **)&r->fields, &r->fields_cap, r->nfields + 1, sizeof(field_t))) {
        r->oom = true;
        return false;
    }
    r->fields[r->nfields].off = r->scratch_len;
    r->fields[r->nfields].len = 0;
    r->nfields++;
    return true;
}

static void field_end(csv_reader_t *r)
{
    field_t *f = &r->fields[r->nfields - 1];
    f->len = r->scratch_len - f->off;
}

/* Skips to the start of the physical line after the one starting at line
 * `from_line`, scanning from `from_pos`. */
static void resync_after_line(csv_reader_t *r, size_t from_pos, long from_line)
{
    size_t p = from_pos;
    while (p < r->len && r->buf[p] != '\n')
        p++;
    if (p < r->len)
        p++;
    r->pos = p;
    r->line = from_line + 1;
}

enum { CSV_EOF = 0, CSV_RECORD = 1, CSV_BAD = -1, CSV_OOM = -2 };

/* Reads the next non-blank record. On CSV_BAD, *err says why and the reader
 * has already resynchronised at the next physical line. */
static int csv_next(csv_reader_t *r, const char **err)
{
    *err = NULL;
    /* skip blank lines */
    for (;;) {
        if (r->pos >= r->len)
            return CSV_EOF;
        if (r->buf[r->pos] == '\n') {
            r->pos++;
            r->line++;
            continue;
        }
        if (r->buf[r->pos] == '\r' && r->pos + 1 < r->len && r->buf[r->pos + 1] == '\n') {
            r->pos += 2;
            r->line++;
            continue;
        }
        break;
    }
    size_t rec_pos = r->pos;
    r->rec_line = r->line;
    r->scratch_len = 0;
    r->nfields = 0;
    bool has_nul = false;

    for (;;) { /* one field per iteration */
        if (!field_begin(r))
            return CSV_OOM;
        if (r->pos < r->len && r->buf[r->pos] == '"') {
            r->pos++;
            for (;;) {
                if (r->pos >= r->len) {
                    *err = "unterminated quoted field";
                    resync_after_line(r, rec_pos, r->rec_line);
                    return CSV_BAD;
                }
                char c = r->buf[r->pos];
                if (c == '"') {
                    if (r->pos + 1 < r->len && r->buf[r->pos + 1] == '"') {
                        if (!scratch_put(r, '"'))
                            return CSV_OOM;
                        r->pos += 2;
                        continue;
                    }
                    r->pos++;
                    break;
                }
                if (c == '\n')
                    r->line++;
                if (c == '\0')
                    has_nul = true;
                if (!scratch_put(r, c))
                    return CSV_OOM;
                r->pos++;
            }
            field_end(r);
            /* after the closing quote: separator, end of line or end of file */
            if (r->pos >= r->len)
                break;
            char c = r->buf[r->pos];
            if (c == ',') {
                r->pos++;
                continue;
            }
            if (c == '\n') {
                r->pos++;
                r->line++;
                break;
            }
            if (c == '\r' && r->pos + 1 < r->len && r->buf[r->pos + 1] == '\n') {
                r->pos += 2;
                r->line++;
                break;
            }
            *err = "unexpected character after a closing quote";
            resync_after_line(r, r->pos, r->line);
            return CSV_BAD;
        }
        /* unquoted field: up to ',' or end of line; a stray '"' is kept */
        bool end_of_record = false;
        for (;;) {
            if (r->pos >= r->len) {
                end_of_record = true;
                break;
            }
            char c = r->buf[r->pos];
            if (c == ',') {
                r->pos++;
                break;
            }
            if (c == '\n') {
                r->pos++;
                r->line++;
                end_of_record = true;
                break;
            }
            if (c == '\r' && r->pos + 1 < r->len && r->buf[r->pos + 1] == '\n') {
                r->pos += 2;
                r->line++;
                end_of_record = true;
                break;
            }
            if (c == '\0')
                has_nul = true;
            if (!scratch_put(r, c))
                return CSV_OOM;
            r->pos++;
        }
        field_end(r);
        if (end_of_record)
            break;
    }
    if (has_nul) {
        *err = "embedded NUL byte";
        return CSV_BAD;
    }
    return CSV_RECORD;
}

/* Strict UTF-8 check (no overlongs, no surrogates, <= U+10FFFF). */
static bool utf8_valid(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (len - i <= n)
            return false;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += n + 1;
    }
    return true;
}

/* ------------------------------------------------------------------------ */
/* Table loading                                                            */
/* ------------------------------------------------------------------------ */

#define MAX_COLS 16

typedef struct {
    const char *file;           /* base name */
    const char *const *columns; /* required header names */
    size_t ncolumns;            /* <= MAX_COLS */
    const char *repair_column;  /* column that may hold unquoted commas, or NULL */
} table_spec_t;

/* One row handed to a converter: the values of the required columns, in the
 * spec's order, each NUL-terminated (in a buffer owned by load_table). */
typedef struct {
    const char *v[MAX_COLS];
    size_t len[MAX_COLS];
    long line;
} row_t;

/* A converter returns true when the row was stored; false with a message in
 * err when the row is rejected; it sets *oom when out of memory. */
typedef bool (*row_fn)(ow_dataset_t *ds, const row_t *row, char *err, size_t errcap, bool *oom);

static bool is_null(const row_t *r, size_t c)
{
    return r->len[c] == 4 && memcmp(r->v[c], "NULL", 4) == 0;
}

/* Text column, copied into the arena (NULL only when out of memory). */
static const char *text(ow_dataset_t *ds, const row_t *r, size_t c)
{
    return arena_strndup(&ds->arena, r->v[c], r->len[c]);
}

/* Nullable text column: the literal NULL -> "" and *has = false. */
static const char *ntext(ow_dataset_t *ds, const row_t *r, size_t c, bool *has)
{
    *has = !is_null(r, c);
    return *has ? text(ds, r, c) : arena_strndup(&ds->arena, "", 0);
}

static bool int_col(const row_t *r, size_t c, const char *name, int64_t lo, int64_t hi,
                    int64_t *out, char *err, size_t errcap)
{
    if (!ow_parse_int(r->v[c], r->len[c], out) || *out < lo || *out > hi) {
        snprintf(err, errcap, "%s: '%.40s' is not an integer in [%lld, %lld]", name, r->v[c],
                 (long long)lo, (long long)hi);
        return false;
    }
    return true;
}

static bool i32_col(const row_t *r, size_t c, const char *name, int32_t *out, char *err,
                    size_t errcap)
{
    int64_t v;
    if (!int_col(r, c, name, INT32_MIN, INT32_MAX, &v, err, errcap))
        return false;
    *out = (int32_t)v;
    return true;
}

static bool dec_col(const row_t *r, size_t c, const char *name, int scale, int64_t lo,
                    int64_t hi, int64_t *out, char *err, size_t errcap)
{
    if (!ow_parse_decimal(r->v[c], r->len[c], scale, out)) {
        snprintf(err, errcap, "%s: '%.40s' is not a decimal number with at most %d places",
                 name, r->v[c], scale);
        return false;
    }
    if (*out < lo || *out > hi) {
        snprintf(err, errcap, "%s: '%.40s' is out of range", name, r->v[c]);
        return false;
    }
    return true;
}

static bool date_col(const row_t *r, size_t c, const char *name, int64_t *out, char *err,
                     size_t errcap)
{
    if (!ow_parse_datetime_ms(r->v[c], r->len[c], out)) {
        snprintf(err, errcap, "%s: '%.40s' is not a date YYYY-MM-DD HH:MM:SS.000", name,
                 r->v[c]);
        return false;
    }
    return true;
}

/* Reads one table: header mapping, address repair, per-row conversion.
 * Returns false only on a fatal problem (missing/unreadable file, missing
 * column, out of memory: *oom set). */
static bool load_table(ow_dataset_t *ds, const char *dir, const table_spec_t *spec, row_fn fn,
                       bool *oom)
{
    char path[4096];
    int n = snprintf(path, sizeof path, "%s/%s", dir, spec->file);
    if (n < 0 || (size_t)n >= sizeof path) {
        problem(ds, spec->file, 0, "path too long");
        return false;
    }
    size_t len = 0;
    errno = 0;
    char *buf = read_file(path, &len);
    if (!buf) {
        int e = errno;
        if (e == ENOMEM)
            *oom = true;
        problem(ds, spec->file, 0, "cannot read %s: %s", path, strerror(e));
        return false;
    }
    csv_reader_t r = {.buf = buf, .len = len, .pos = 0, .line = 1};
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
        r.pos = 3;

    bool ok = false;
    char *rowbuf = NULL;
    size_t rowbuf_cap = 0;
    size_t *loff = NULL, *llen = NULL; /* per logical field, nheader entries */
    size_t colidx[MAX_COLS];
    size_t repair_idx = SIZE_MAX;
    size_t nheader = 0;
    const char *err = NULL;

    int rc = csv_next(&r, &err);
    if (rc == CSV_OOM) {
        *oom = true;
        goto out;
    }
    if (rc != CSV_RECORD) {
        problem(ds, spec->file, r.rec_line ? r.rec_line : 1, "no header line%s%s",
                err ? ": " : "", err ? err : "");
        goto out;
    }
    nheader = r.nfields;
    for (size_t c = 0; c < spec->ncolumns; c++) {
        colidx[c] = SIZE_MAX;
        size_t want = strlen(spec->columns[c]);
        for (size_t h = 0; h < r.nfields; h++) {
            const char *hv = r.scratch + r.fields[h].off;
            size_t hl = r.fields[h].len;
            if (hl == want && memcmp(hv, spec->columns[c], hl) == 0) {
                colidx[c] = h;
                break;
            }
        }
        if (colidx[c] == SIZE_MAX) {
            problem(ds, spec->file, r.rec_line, "header lacks column '%s'", spec->columns[c]);
            goto out;
        }
        if (spec->repair_column && strcmp(spec->columns[c], spec->repair_column) == 0)
            repair_idx = colidx[c];
    }
    loff = calloc(nheader, sizeof *loff);
    llen = calloc(nheader, sizeof *llen);
    if (!loff || !llen) {
        *oom = true;
        goto out;
    }

    for (;;) {
        rc = csv_next(&r, &err);
        if (rc == CSV_EOF)
            break;
        if (rc == CSV_OOM) {
            *oom = true;
            goto out;
        }
        if (rc == CSV_BAD) {
            problem(ds, spec->file, r.rec_line, "malformed row: %s; row skipped", err);
            continue;
        }
        /* field count, and the address repair */
        size_t nf = r.nfields;
        size_t extra = 0;
        if (nf != nheader) {
            bool can_repair = nf > nheader && repair_idx != SIZE_MAX;
            bool repaired = false;
            if (can_repair) {
                extra = nf - nheader;
                repaired = true;
                for (size_t k = 1; k <= extra; k++) {
                    const field_t *f = &r.fields[repair_idx + k];
                    if (f->len == 0 || r.scratch[f->off] != ' ') {
                        repaired = false;
                        break;
                    }
                }
            }
            if (!repaired) {
                if (can_repair)
                    problem(ds, spec->file, r.rec_line,
                            "expected %zu fields, found %zu, and the surplus does not look "
                            "like a comma inside %s; row skipped",
                            nheader, nf, spec->repair_column);
                else
                    problem(ds, spec->file, r.rec_line,
                            "expected %zu fields, found %zu; row skipped", nheader, nf);
                continue;
            }
        }
        /* assemble logical fields, joining the repaired span with ',' */
        if (!grow((void **)&rowbuf, &rowbuf_cap, r.scratch_len + nf + 1, 1)) {
            *oom = true;
            goto out;
        }
        size_t w = 0;
        size_t bad_field = SIZE_MAX;
        for (size_t i = 0, p = 0; i < nheader; i++) {
            size_t span = (i == repair_idx) ? extra + 1 : 1;
            size_t start = w;
            for (size_t k = 0; k < span; k++, p++) {
                if (k)
                    rowbuf[w++] = ',';
                memcpy(rowbuf + w, r.scratch + r.fields[p].off, r.fields[p].len);
                w += r.fields[p].len;
            }
            rowbuf[w++] = '\0';
            loff[i] = start;
            llen[i] = w - 1 - start;
            if (bad_field == SIZE_MAX &&
                !utf8_valid((const unsigned char *)rowbuf + start, llen[i]))
                bad_field = i;
        }
        if (bad_field != SIZE_MAX) {
            problem(ds, spec->file, r.rec_line, "field %zu is not valid UTF-8; row skipped",
                    bad_field + 1);
            continue;
        }
        row_t row;
        row.line = r.rec_line;
        for (size_t c = 0; c < spec->ncolumns; c++) {
            row.v[c] = rowbuf + loff[colidx[c]];
            row.len[c] = llen[colidx[c]];
        }
        char ebuf[256];
        ebuf[0] = '\0';
        if (!fn(ds, &row, ebuf, sizeof ebuf, oom)) {
            if (*oom)
                goto out;
            problem(ds, spec->file, r.rec_line, "%s; row skipped", ebuf);
        }
    }
    ok = true;
out:
    if (*oom)
        problem(ds, spec->file, r.line, "out of memory");
    free(loff);
    free(llen);
    free(rowbuf);
    free(r.scratch);
    free(r.fields);
    free(buf);
    return ok;
}

#define NEED(p)                                                                          \
    do {                                                                                 \
        if (!(p)) {                                                                      \
            *oom = true;                                                                 \
            return false;                                                                \
        }                                                                                \
    } while (0)

/* ---- shippers.csv ---- */
enum { SH_ID, SH_NAME, SH_PHONE, SH_N };
static const char *const SHIPPER_COLS[SH_N] = {"shipperID", "companyName", "phone"};

static bool shipper_row(ow_dataset_t *ds, const row_t *r, char *err, size_t errcap, bool *oom)
{
    ow_shipper_t s;
    s.src_line = r->line;
    if (!i32_col(r, SH_ID, "shipperID", &s.shipper_id, err, errcap))
        return false;
    NEED(s.company_name = text(ds, r, SH_NAME));
    NEED(s.phone = text(ds, r, SH_PHONE));
    NEED(grow((void **)&ds->shippers, &ds->shippers_cap, ds->n_shippers + 1, sizeof s));
    ds->shippers[ds->n_shippers++] = s;
    return true;
}

/* ---- products.csv ---- */
enum { PR_ID, PR_NAME, PR_SUPPLIER, PR_CATEGORY, PR_QPU, PR_PRICE, PR_STOCK, PR_ON_ORDER,
       PR_REORDER, PR_DISCONTINUED, PR_N };
static const char *const PRODUCT_COLS[PR_N] = {
    "productID",    "productName",  "supplierID",   "categoryID", "quantityPerUnit",
    "unitPrice",    "unitsInStock", "unitsOnOrder", "reorderLevel", "discontinued"};

/* Optional integer: the literal NULL -> 0. */
static bool opt_i32(const row_t *r, size_t c, const char *name, int32_t *out, char *err,
                    size_t errcap)
{
    if (is_null(r, c)) {
        *out = 0;
        return true;
    }
    return i32_col(r, c, name, out, err, errcap);
}

static bool product_row(ow_dataset_t *ds, const row_t *r, char *err, size_t errcap, bool *oom)
{
    ow_product_t p;
    int32_t disc;
    p.src_line = r->line;
    if (!i32_col(r, PR_ID, "productID", &p.product_id, err, errcap) ||
        !opt_i32(r, PR_SUPPLIER, "supplierID", &p.supplier_id, err, errcap) ||
        !opt_i32(r, PR_CATEGORY, "categoryID", &p.category_id, err, errcap) ||
        !dec_col(r, PR_PRICE, "unitPrice", 2, 0, INT64_MAX / 4, &p.unit_price_cents, err,
                 errcap) ||
        !opt_i32(r, PR_STOCK, "unitsInStock", &p.units_in_stock, err, errcap) ||
        !opt_i32(r, PR_ON_ORDER, "unitsOnOrder", &p.units_on_order, err, errcap) ||
        !opt_i32(r, PR_REORDER, "reorderLevel", &p.reorder_level, err, errcap) ||
        !i32_col(r, PR_DISCONTINUED, "discontinued", &disc, err, errcap))
        return false;
    if (disc != 0 && disc != 1) {
        snprintf(err, errcap, "discontinued: '%s' is neither 0 nor 1", r->v[PR_DISCONTINUED]);
        return false;
    }
    p.discontinued = disc == 1;
    NEED(p.name = text(ds, r, PR_NAME));
    NEED(p.quantity_per_unit = text(ds, r, PR_QPU));
    NEED(grow((void **)&ds->products, &ds->products_cap, ds->n_products + 1, sizeof p));
    ds->products[ds->n_products++] = p;
    return true;
}

/* ---- customers.csv ---- */
enum { CU_ID, CU_NAME, CU_CONTACT, CU_TITLE, CU_ADDRESS, CU_CITY, CU_REGION, CU_POSTAL,
       CU_COUNTRY, CU_PHONE, CU_FAX, CU_N };
static const char *const CUSTOMER_COLS[CU_N] = {
    "customerID", "companyName", "contactName", "contactTitle", "address", "city",
    "region",     "postalCode",  "country",     "phone",        "fax"};

static bool customer_row(ow_dataset_t *ds, const row_t *r, char *err, size_t errcap, bool *oom)
{
    ow_customer_t c;
    c.src_line = r->line;
    if (r->len[CU_ID] == 0 || is_null(r, CU_ID)) {
        snprintf(err, errcap, "customerID is empty");
        return false;
    }
    NEED(c.customer_id = text(ds, r, CU_ID));
    NEED(c.company_name = text(ds, r, CU_NAME));
    NEED(c.contact_name = text(ds, r, CU_CONTACT));
    NEED(c.contact_title = text(ds, r, CU_TITLE));
    NEED(c.address = text(ds, r, CU_ADDRESS));
    NEED(c.city = text(ds, r, CU_CITY));
    NEED(c.region = ntext(ds, r, CU_REGION, &c.has_region));
    NEED(c.postal_code = ntext(ds, r, CU_POSTAL, &c.has_postal_code));
    NEED(c.country = text(ds, r, CU_COUNTRY));
    NEED(c.phone = text(ds, r, CU_PHONE));
    NEED(c.fax = ntext(ds, r, CU_FAX, &c.has_fax));
    NEED(grow((void **)&ds->customers, &ds->customers_cap, ds->n_customers + 1, sizeof c));
    ds->customers[ds->n_customers++] = c;
    return true;
}

/* ---- orders.csv ---- */
enum { OR_ID, OR_CUSTOMER, OR_EMPLOYEE, OR_ORDER_DATE, OR_REQUIRED, OR_SHIPPED, OR_VIA,
       OR_FREIGHT, OR_NAME, OR_ADDRESS, OR_CITY, OR_REGION, OR_POSTAL, OR_COUNTRY, OR_N };
static const char *const ORDER_COLS[OR_N] = {
    "orderID",  "customerID", "employeeID",  "orderDate",   "requiredDate",
    "shippedDate", "shipVia", "freight",     "shipName",    "shipAddress",
    "shipCity", "shipRegion", "shipPostalCode", "shipCountry"};

static bool order_row(ow_dataset_t *ds, const row_t *r, char *err, size_t errcap, bool *oom)
{
    ow_order_t o;
    memset(&o, 0, sizeof o);
    o.src_line = r->line;
    if (!i32_col(r, OR_ID, "orderID", &o.order_id, err, errcap) ||
        !opt_i32(r, OR_EMPLOYEE, "employeeID", &o.employee_id, err, errcap) ||
        !date_col(r, OR_ORDER_DATE, "orderDate", &o.order_date_ms, err, errcap) ||
        !date_col(r, OR_REQUIRED, "requiredDate", &o.required_date_ms, err, errcap) ||
        !i32_col(r, OR_VIA, "shipVia", &o.ship_via, err, errcap) ||
        !dec_col(r, OR_FREIGHT, "freight", 2, 0, INT64_MAX / 4, &o.freight_cents, err, errcap))
        return false;
    o.has_shipped = !is_null(r, OR_SHIPPED);
    if (o.has_shipped &&
        !date_col(r, OR_SHIPPED, "shippedDate", &o.shipped_date_ms, err, errcap))
        return false;
    NEED(o.customer_id = text(ds, r, OR_CUSTOMER));
    NEED(o.ship_name = text(ds, r, OR_NAME));
    NEED(o.ship_address = text(ds, r, OR_ADDRESS));
    NEED(o.ship_city = text(ds, r, OR_CITY));
    NEED(o.ship_region = ntext(ds, r, OR_REGION, &o.has_ship_region));
    NEED(o.ship_postal_code = ntext(ds, r, OR_POSTAL, &o.has_ship_postal_code));
    NEED(o.ship_country = text(ds, r, OR_COUNTRY));
    NEED(grow((void **)&ds->orders, &ds->orders_cap, ds->n_orders + 1, sizeof o));
    ds->orders[ds->n_orders++] = o;
    return true;
}

/* ---- order-details.csv ---- */
enum { LI_ORDER, LI_PRODUCT, LI_PRICE, LI_QTY, LI_DISCOUNT, LI_N };
static const char *const LINE_COLS[LI_N] = {"orderID", "productID", "unitPrice", "quantity",
                                            "discount"};

static bool line_row(ow_dataset_t *ds, const row_t *r, char *err, size_t errcap, bool *oom)
{
    ow_line_t l;
    int64_t price, disc;
    l.src_line = r->line;
    if (!i32_col(r, LI_ORDER, "orderID", &l.order_id, err, errcap) ||
        !i32_col(r, LI_PRODUCT, "productID", &l.product_id, err, errcap) ||
        !dec_col(r, LI_PRICE, "unitPrice", 2, INT64_MIN / 4, INT64_MAX / 4, &price, err,
                 errcap) ||
        !i32_col(r, LI_QTY, "quantity", &l.quantity, err, errcap) ||
        !dec_col(r, LI_DISCOUNT, "discount", 4, INT32_MIN, INT32_MAX, &disc, err, errcap))
        return false;
    l.unit_price_cents = price;
    l.discount_bp = (int32_t)disc;
    NEED(grow((void **)&ds->lines, &ds->lines_cap, ds->n_lines + 1, sizeof l));
    ds->lines[ds->n_lines++] = l;
    return true;
}

#undef NEED

/* ------------------------------------------------------------------------ */
/* Indexing                                                                 */
/* ------------------------------------------------------------------------ */

static int cmp_i32(int32_t a, int32_t b)
{
    return (a > b) - (a < b);
}

/* Key comparisons only: stable_sort keeps file order among equal keys. */
static int order_cmp(const void *a, const void *b)
{
    return cmp_i32(((const ow_order_t *)a)->order_id, ((const ow_order_t *)b)->order_id);
}

static int line_cmp(const void *a, const void *b)
{
    return cmp_i32(((const ow_line_t *)a)->order_id, ((const ow_line_t *)b)->order_id);
}

static int product_cmp(const void *a, const void *b)
{
    const ow_product_t *x = a, *y = b;
    return cmp_i32(x->product_id, y->product_id);
}

static int shipper_cmp(const void *a, const void *b)
{
    const ow_shipper_t *x = a, *y = b;
    return cmp_i32(x->shipper_id, y->shipper_id);
}

static int customer_cmp(const void *a, const void *b)
{
    const ow_customer_t *x = a, *y = b;
    return strcmp(x->customer_id, y->customer_id);
}

/* Stable bottom-up merge sort (qsort is not stable); tmp holds n elements. */
static void stable_sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *),
                        void *tmp)
{
    char *a = base, *b = tmp;
    for (size_t width = 1; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n;
            size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi) {
                if (cmp(a + j * size, a + i * size) < 0)
                    memcpy(b + (k++) * size, a + (j++) * size, size);
                else
                    memcpy(b + (k++) * size, a + (i++) * size, size);
            }
            while (i < mid)
                memcpy(b + (k++) * size, a + (i++) * size, size);
            while (j < hi)
                memcpy(b + (k++) * size, a + (j++) * size, size);
        }
        char *t = a;
        a = b;
        b = t;
    }
    if (a != (char *)base)
        memcpy(base, a, n * size);
}

/* Sorts stably by key (file order among equals) and drops the later
 * duplicates, reporting each with its line. */
static bool sort_unique(ow_dataset_t *ds, void *base, size_t *n, size_t size,
                        int (*cmp)(const void *, const void *), const char *file,
                        const char *what, void (*describe)(const void *, char *, size_t),
                        long (*line_of)(const void *))
{
    if (*n < 2)
        return true;
    void *tmp = malloc(*n * size);
    if (!tmp)
        return false;
    stable_sort(base, *n, size, cmp, tmp);
    free(tmp);
    char *a = base;
    size_t w = 1;
    for (size_t i = 1; i < *n; i++) {
        if (cmp(a + i * size, a + (w - 1) * size) == 0) {
            char d[128];
            describe(a + i * size, d, sizeof d);
            problem(ds, file, line_of(a + i * size),
                    "duplicate %s %s; row skipped", what, d);
            continue;
        }
        if (w != i)
            memcpy(a + w * size, a + i * size, size);
        w++;
    }
    *n = w;
    return true;
}

static void describe_order(const void *p, char *b, size_t n)
{
    snprintf(b, n, "%ld", (long)((const ow_order_t *)p)->order_id);
}
static long line_of_order(const void *p)
{
    return ((const ow_order_t *)p)->src_line;
}
static long line_of_product(const void *p)
{
    return ((const ow_product_t *)p)->src_line;
}
static long line_of_shipper(const void *p)
{
    return ((const ow_shipper_t *)p)->src_line;
}
static long line_of_customer(const void *p)
{
    return ((const ow_customer_t *)p)->src_line;
}
static void describe_product(const void *p, char *b, size_t n)
{
    snprintf(b, n, "%ld", (long)((const ow_product_t *)p)->product_id);
}
static void describe_shipper(const void *p, char *b, size_t n)
{
    snprintf(b, n, "%ld", (long)((const ow_shipper_t *)p)->shipper_id);
}
static void describe_customer(const void *p, char *b, size_t n)
{
    snprintf(b, n, "'%.60s'", ((const ow_customer_t *)p)->customer_id);
}

/* Attaches lines to orders; drops (and reports) lines without an order and
 * duplicate (orderID, productID) lines. */
static bool attach_lines(ow_dataset_t *ds)
{
    if (ds->n_lines) {
        void *tmp = malloc(ds->n_lines * sizeof(ow_line_t));
        if (!tmp)
            return false;
        stable_sort(ds->lines, ds->n_lines, sizeof(ow_line_t), line_cmp, tmp);
        free(tmp);
    }
    size_t w = 0, i = 0;
    while (i < ds->n_lines) {
        int32_t oid = ds->lines[i].order_id;
        size_t j = i;
        while (j < ds->n_lines && ds->lines[j].order_id == oid)
            j++;
        const ow_order_t *o = ow_dataset_find_order(ds, oid);
        if (!o) {
            for (size_t k = i; k < j; k++)
                problem(ds, "order-details.csv", ds->lines[k].src_line,
                        "orderID %ld has no order in orders.csv; row skipped", (long)oid);
        } else {
            size_t first = w;
            for (size_t k = i; k < j; k++) {
                bool dup = false;
                for (size_t m = first; m < w; m++) {
                    if (ds->lines[m].product_id == ds->lines[k].product_id) {
                        dup = true;
                        break;
                    }
                }
                if (dup) {
                    problem(ds, "order-details.csv", ds->lines[k].src_line,
                            "duplicate line for order %ld, product %ld (first at line %ld); "
                            "row skipped",
                            (long)oid, (long)ds->lines[k].product_id,
                            ds->lines[first].src_line);
                    continue;
                }
                ds->lines[w++] = ds->lines[k];
            }
        }
        i = j;
    }
    ds->n_lines = w;
    /* pointers last: lines do not move any more */
    size_t k = 0;
    for (size_t oi = 0; oi < ds->n_orders; oi++) {
        ow_order_t *o = &ds->orders[oi];
        while (k < ds->n_lines && ds->lines[k].order_id < o->order_id)
            k++;
        size_t start = k;
        while (k < ds->n_lines && ds->lines[k].order_id == o->order_id)
            k++;
        o->lines = k > start ? &ds->lines[start] : NULL;
        o->n_lines = k - start;
    }
    return true;
}

/* ------------------------------------------------------------------------ */
/* Public API                                                               */
/* ------------------------------------------------------------------------ */

#define SPEC(file_, cols_, repair_)                                                      \
    {                                                                                    \
        file_, cols_, sizeof(cols_) / sizeof(cols_[0]), repair_                          \
    }

ow_dataset_t *ow_dataset_load(const char *dir, ow_report_fn report, void *opaque)
{
    ow_dataset_t *ds = calloc(1, sizeof *ds);
    if (!ds) {
        if (report)
            report(opaque, "", 0, "out of memory");
        return NULL;
    }
    ds->report = report;
    ds->opaque = opaque;
    if (!dir)
        dir = ".";

    static const table_spec_t shippers = SPEC("shippers.csv", SHIPPER_COLS, NULL);
    static const table_spec_t products = SPEC("products.csv", PRODUCT_COLS, NULL);
    static const table_spec_t customers = SPEC("customers.csv", CUSTOMER_COLS, "address");
    static const table_spec_t orders = SPEC("orders.csv", ORDER_COLS, "shipAddress");
    static const table_spec_t lines = SPEC("order-details.csv", LINE_COLS, NULL);

    bool oom = false;
    if (!load_table(ds, dir, &shippers, shipper_row, &oom) ||
        !load_table(ds, dir, &products, product_row, &oom) ||
        !load_table(ds, dir, &customers, customer_row, &oom) ||
        !load_table(ds, dir, &orders, order_row, &oom) ||
        !load_table(ds, dir, &lines, line_row, &oom))
        goto fail;

    if (!sort_unique(ds, ds->shippers, &ds->n_shippers, sizeof(ow_shipper_t), shipper_cmp,
                     "shippers.csv", "shipperID", describe_shipper, line_of_shipper) ||
        !sort_unique(ds, ds->products, &ds->n_products, sizeof(ow_product_t), product_cmp,
                     "products.csv", "productID", describe_product, line_of_product) ||
        !sort_unique(ds, ds->customers, &ds->n_customers, sizeof(ow_customer_t),
                     customer_cmp, "customers.csv", "customerID", describe_customer, line_of_customer) ||
        !sort_unique(ds, ds->orders, &ds->n_orders, sizeof(ow_order_t), order_cmp,
                     "orders.csv", "orderID", describe_order, line_of_order) ||
        !attach_lines(ds)) {
        problem(ds, "", 0, "out of memory");
        goto fail;
    }
    ds->report = NULL;
    ds->opaque = NULL;
    return ds;
fail:
    ow_dataset_free(ds);
    return NULL;
}

void ow_dataset_free(ow_dataset_t *ds)
{
    if (!ds)
        return;
    arena_free(&ds->arena);
    free(ds->orders);
    free(ds->lines);
    free(ds->products);
    free(ds->customers);
    free(ds->shippers);
    free(ds);
}

size_t ow_dataset_problem_count(const ow_dataset_t *ds)
{
    return ds ? ds->problems : 0;
}

size_t ow_dataset_order_count(const ow_dataset_t *ds)
{
    return ds->n_orders;
}

const ow_order_t *ow_dataset_order_at(const ow_dataset_t *ds, size_t i)
{
    return i < ds->n_orders ? &ds->orders[i] : NULL;
}

const ow_order_t *ow_dataset_find_order(const ow_dataset_t *ds, int32_t order_id)
{
    size_t lo = 0, hi = ds->n_orders;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int32_t v = ds->orders[mid].order_id;
        if (v == order_id)
            return &ds->orders[mid];
        if (v < order_id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

size_t ow_dataset_line_count(const ow_dataset_t *ds)
{
    return ds->n_lines;
}

size_t ow_dataset_product_count(const ow_dataset_t *ds)
{
    return ds->n_products;
}

const ow_product_t *ow_dataset_product_at(const ow_dataset_t *ds, size_t i)
{
    return i < ds->n_products ? &ds->products[i] : NULL;
}

const ow_product_t *ow_dataset_find_product(const ow_dataset_t *ds, int32_t product_id)
{
    size_t lo = 0, hi = ds->n_products;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int32_t v = ds->products[mid].product_id;
        if (v == product_id)
            return &ds->products[mid];
        if (v < product_id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

size_t ow_dataset_customer_count(const ow_dataset_t *ds)
{
    return ds->n_customers;
}

const ow_customer_t *ow_dataset_customer_at(const ow_dataset_t *ds, size_t i)
{
    return i < ds->n_customers ? &ds->customers[i] : NULL;
}

const ow_customer_t *ow_dataset_find_customer(const ow_dataset_t *ds, const char *customer_id)
{
    if (!customer_id)
        return NULL;
    size_t lo = 0, hi = ds->n_customers;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(ds->customers[mid].customer_id, customer_id);
        if (c == 0)
            return &ds->customers[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

size_t ow_dataset_shipper_count(const ow_dataset_t *ds)
{
    return ds->n_shippers;
}

const ow_shipper_t *ow_dataset_shipper_at(const ow_dataset_t *ds, size_t i)
{
    return i < ds->n_shippers ? &ds->shippers[i] : NULL;
}

const ow_shipper_t *ow_dataset_find_shipper(const ow_dataset_t *ds, int32_t shipper_id)
{
    size_t lo = 0, hi = ds->n_shippers;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int32_t v = ds->shippers[mid].shipper_id;
        if (v == shipper_id)
            return &ds->shippers[mid];
        if (v < shipper_id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}
