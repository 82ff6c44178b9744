/*
 * orders_ledger.c - inventory simulator with idempotent reservations.
 *
 * Products: a sorted array (binary search). Reservations: an open-addressing
 * hash table (linear probing, FNV-1a) keyed by the idempotency key; keys are
 * never deleted (a released reservation stays, so a late retry of the same
 * reservation is recognised and does not take stock again).
 */
#include "orders_logic.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    int32_t product_id;
    int64_t stock;
} stock_t;

enum { RES_HELD = 1, RES_RELEASED, RES_REFUSED };

typedef struct {
    char *key; /* NULL: empty slot */
    uint64_t hash;
    int32_t product_id;
    int32_t qty;
    int state;
} resv_t;

struct ow_ledger {
    stock_t *products;
    size_t n_products, cap_products;
    resv_t *slots;
    size_t n_slots; /* power of two, or 0 */
    size_t n_keys;
    ow_ledger_counters_t c;
};

static uint64_t fnv1a(const char *s)
{
    uint64_t h = UINT64_C(1469598103934665603);
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= UINT64_C(1099511628211);
    }
    return h;
}

static stock_t *find_stock(const ow_ledger_t *l, int32_t product_id, size_t *pos)
{
    size_t lo = 0, hi = l->n_products;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (l->products[mid].product_id == product_id) {
            if (pos)
                *pos = mid;
            return &l->products[mid];
        }
        if (l->products[mid].product_id < product_id)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (pos)
        *pos = lo;
    return NULL;
}

ow_ledger_t *ow_ledger_create_empty(void)
{
    return calloc(1, sizeof(ow_ledger_t));
}

void ow_ledger_free(ow_ledger_t *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n_slots; i++)
        free(l->slots[i].key);
    free(l->slots);
    free(l->products);
    free(l);
}

bool ow_ledger_set_stock(ow_ledger_t *l, int32_t product_id, int64_t stock)
{
    if (!l || stock < 0)
        return false;
    size_t pos;
    stock_t *s = find_stock(l, product_id, &pos);
    if (s) {
        s->stock = stock;
        return true;
    }
    if (l->n_products == l->cap_products) {
        size_t cap = l->cap_products ? l->cap_products * 2 : 64;
        stock_t *p = realloc(l->products, cap * sizeof *p);
        if (!p)
            return false;
        l->products = p;
        l->cap_products = cap;
    }
    memmove(&l->products[pos + 1], &l->products[pos],
            (l->n_products - pos) * sizeof(stock_t));
    l->products[pos].product_id = product_id;
    l->products[pos].stock = stock;
    l->n_products++;
    return true;
}

ow_ledger_t *ow_ledger_create(const ow_dataset_t *ds)
{
    ow_ledger_t *l = ow_ledger_create_empty();
    if (!l)
        return NULL;
    for (size_t i = 0; i < ow_dataset_product_count(ds); i++) {
        if (!ow_ledger_set_stock(l, ow_dataset_product_at(ds, i)->product_id, 0))
            goto fail;
    }
    for (size_t i = 0; i < ow_dataset_order_count(ds); i++) {
        const ow_order_t *o = ow_dataset_order_at(ds, i);
        for (size_t k = 0; k < o->n_lines; k++) {
            const ow_line_t *ln = &o->lines[k];
            stock_t *s = find_stock(l, ln->product_id, NULL);
            if (s && ln->quantity > 0)
                s->stock += ln->quantity;
        }
    }
    return l;
fail:
    ow_ledger_free(l);
    return NULL;
}

/* Slot holding key, or the empty slot where it would go. n_slots > 0. */
static resv_t *probe(resv_t *slots, size_t n_slots, const char *key, uint64_t h)
{
    size_t mask = n_slots - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        resv_t *r = &slots[i];
        if (!r->key || (r->hash == h && strcmp(r->key, key) == 0))
            return r;
    }
}

static bool rehash_if_needed(ow_ledger_t *l)
{
    /* keep load factor <= 1/2 */
    if (l->n_slots && (l->n_keys + 1) * 2 <= l->n_slots)
        return true;
    size_t n = l->n_slots ? l->n_slots * 2 : 64;
    if (n > SIZE_MAX / sizeof(resv_t))
        return false;
    resv_t *slots = calloc(n, sizeof *slots);
    if (!slots)
        return false;
    for (size_t i = 0; i < l->n_slots; i++) {
        if (l->slots[i].key)
            *probe(slots, n, l->slots[i].key, l->slots[i].hash) = l->slots[i];
    }
    free(l->slots);
    l->slots = slots;
    l->n_slots = n;
    return true;
}

ow_reserve_result_t ow_ledger_reserve(ow_ledger_t *l, int32_t product_id, int32_t qty,
                                      const char *key)
{
    if (!l || !key || qty <= 0) {
        if (l)
            l->c.invalid++;
        return OW_RESERVE_INVALID;
    }
    uint64_t h = fnv1a(key);
    if (l->n_slots) {
        resv_t *r = probe(l->slots, l->n_slots, key, h);
        if (r->key) {
            if (r->product_id != product_id || r->qty != qty) {
                l->c.key_conflicts++;
                return OW_RESERVE_KEY_CONFLICT;
            }
            l->c.replays++;
            return r->state == RES_REFUSED ? OW_RESERVE_OUT_OF_STOCK : OW_RESERVE_OK;
        }
    }
    stock_t *s = find_stock(l, product_id, NULL);
    if (!s) {
        l->c.unknown_product++;
        return OW_RESERVE_UNKNOWN_PRODUCT;
    }
    if (!rehash_if_needed(l))
        return OW_RESERVE_NO_MEMORY;
    size_t klen = strlen(key);
    char *k = malloc(klen + 1);
    if (!k)
        return OW_RESERVE_NO_MEMORY;
    memcpy(k, key, klen + 1);
    resv_t *r = probe(l->slots, l->n_slots, key, h);
    r->key = k;
    r->hash = h;
    r->product_id = product_id;
    r->qty = qty;
    l->n_keys++;
    if (s->stock < qty) {
        r->state = RES_REFUSED;
        l->c.out_of_stock++;
        return OW_RESERVE_OUT_OF_STOCK;
    }
    s->stock -= qty;
    r->state = RES_HELD;
    l->c.reserved_ok++;
    l->c.units_held += qty;
    return OW_RESERVE_OK;
}

ow_release_result_t ow_ledger_release(ow_ledger_t *l, const char *key)
{
    if (!l || !key || !l->n_slots) {
        if (l)
            l->c.release_noops++;
        return OW_RELEASE_UNKNOWN_KEY;
    }
    resv_t *r = probe(l->slots, l->n_slots, key, fnv1a(key));
    if (!r->key) {
        l->c.release_noops++;
        return OW_RELEASE_UNKNOWN_KEY;
    }
    if (r->state == RES_REFUSED) {
        l->c.release_noops++;
        return OW_RELEASE_NOT_HELD;
    }
    if (r->state == RES_RELEASED) {
        l->c.release_noops++;
        return OW_RELEASE_ALREADY;
    }
    stock_t *s = find_stock(l, r->product_id, NULL);
    if (s) /* products are never removed, so this always holds */
        s->stock += r->qty;
    r->state = RES_RELEASED;
    l->c.released++;
    l->c.units_held -= r->qty;
    return OW_RELEASE_OK;
}

int64_t ow_ledger_stock(const ow_ledger_t *l, int32_t product_id)
{
    const stock_t *s = l ? find_stock(l, product_id, NULL) : NULL;
    return s ? s->stock : -1;
}

void ow_ledger_counters(const ow_ledger_t *l, ow_ledger_counters_t *out)
{
    *out = l->c;
    out->products = l->n_products;
    out->keys = l->n_keys;
    out->units_in_stock = 0;
    for (size_t i = 0; i < l->n_products; i++)
        out->units_in_stock += l->products[i].stock;
}

const char *ow_reserve_result_name(ow_reserve_result_t r)
{
    switch (r) {
    case OW_RESERVE_OK:
        return "ok";
    case OW_RESERVE_OUT_OF_STOCK:
        return "out_of_stock";
    case OW_RESERVE_UNKNOWN_PRODUCT:
        return "unknown_product";
    case OW_RESERVE_KEY_CONFLICT:
        return "key_conflict";
    case OW_RESERVE_INVALID:
        return "invalid";
    case OW_RESERVE_NO_MEMORY:
        return "no_memory";
    }
    return "?";
}

const char *ow_release_result_name(ow_release_result_t r)
{
    switch (r) {
    case OW_RELEASE_OK:
        return "ok";
    case OW_RELEASE_ALREADY:
        return "already_released";
    case OW_RELEASE_NOT_HELD:
        return "not_held";
    case OW_RELEASE_UNKNOWN_KEY:
        return "unknown_key";
    }
    return "?";
}
