/*
 * metrics.c -- the metrics registry, its Prometheus text rendering, the
 * /metrics, /healthz and /readyz endpoint (libmicrohttpd) and the parser
 * of librdkafka's statistics JSON (jansson).  See metrics.h.
 *
 * Memory model: a family's series live in an append-only array; a new
 * series is fully built, then published by a release store of the count,
 * so readers (lookups, rendering) scan [0, count) after an acquire load
 * without a lock.  Series are freed only by df__metrics_destroy.  Values
 * are updated with relaxed atomics: a rendering is a consistent page of
 * numbers each of which was true at some instant, which is what Prometheus
 * expects of a scrape.  A histogram's _count is the sum of its buckets as
 * read, so the +Inf bucket always equals _count.
 */
#include <arpa/inet.h>
#include <assert.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "internal.h"
#include "log.h"
#include "metrics.h"

/* ---------------- the table ---------------- */

#define DF__METRIC_BUCKETS(id, kind, name, help, labels, ...) static const double df__mb_##id[] = {__VA_ARGS__};
DF__METRICS(DF__METRIC_BUCKETS)
#undef DF__METRIC_BUCKETS

static df__metric_desc_t df__mdesc[DF__M__COUNT] = {
#define DF__METRIC_DESC(id, kind, name, help, labels, ...)                                                       \
        {name, help, labels, DF__MK_##kind, 0, DF__MK_##kind == DF__MK_HISTOGRAM ? df__mb_##id : NULL,             \
         DF__MK_##kind == DF__MK_HISTOGRAM ? (int)(sizeof(df__mb_##id) / sizeof(double)) : 0},
        DF__METRICS(DF__METRIC_DESC)
#undef DF__METRIC_DESC
};

static pthread_once_t df__mdesc_once = PTHREAD_ONCE_INIT;

static void df__mdesc_init(void)
{
        int i;
        for (i = 0; i < DF__M__COUNT; i++) {
                assert(df__mdesc[i].n_buckets < 63);
                const char *p = df__mdesc[i].labels;
                int n = *p ? 1 : 0;
                for (; *p; p++)
                        n += *p == ',';
                df__mdesc[i].n_labels = n;
        }
}

const df__metric_desc_t *df__metric_desc(df__metric_id_t id)
{
        if ((int)id < 0 || id >= DF__M__COUNT)
                return NULL;
        pthread_once(&df__mdesc_once, df__mdesc_init);
        return &df__mdesc[id];
}

/* ---------------- registry ---------------- */

struct df__series {
        /* hot fields first, on their own cache line (the struct is
         * allocated 64-byte aligned) */
        _Atomic uint64_t v;        /* counter value, or gauge value as double bits */
        _Atomic uint64_t sum_bits; /* histogram: sum of observations, double bits */
        _Atomic int present;       /* gauge: rendered when 1; counters/histograms: used */
        _Atomic uint64_t *buckets; /* histogram: n_buckets + 1 non-cumulative counts */
        df__metric_id_t id;
        uint64_t hash;
        char *values[DF__METRIC_MAX_LABELS];
};

typedef struct df__family {
        const df__metric_desc_t *d;
        pthread_mutex_t mu;
        _Atomic int n;
        df__series_t *series[DF__METRIC_MAX_SERIES];
        df__series_t *overflow; /* labelled families: labels "_overflow" */
} df__family_t;

struct df__metrics {
        df__family_t fam[DF__M__COUNT];
};

static uint64_t df__label_hash(const char *const *values, int n)
{
        uint64_t h = 1469598103934665603ULL;
        int i;
        for (i = 0; i < n; i++) {
                const unsigned char *p = (const unsigned char *)values[i];
                for (; *p; p++) {
                        h ^= *p;
                        h *= 1099511628211ULL;
                }
                h ^= 0xff; /* separator: ("a","bc") != ("ab","c") */
                h *= 1099511628211ULL;
        }
        return h;
}

/* A label value as recorded: the value itself when it is valid UTF-8 with
 * no control character and at most DF__METRIC_LABEL_MAX bytes; "_invalid"
 * otherwise (hostile or broken input never reaches the page). */
static const char *df__label_clean(const char *v)
{
        size_t n, i;
        if (!v)
                return "";
        n = strnlen(v, DF__METRIC_LABEL_MAX + 1);
        if (n > DF__METRIC_LABEL_MAX || !df__utf8_valid(v, n))
                return "_invalid";
        for (i = 0; i < n; i++) {
                unsigned char c = (unsigned char)v[i];
                if (c < 0x20 || c == 0x7f)
                        return "_invalid";
        }
        return v;
}

static void df__series_free(df__series_t *s)
{
        int i;
        if (!s)
                return;
        for (i = 0; i < DF__METRIC_MAX_LABELS; i++)
                free(s->values[i]);
        free(s->buckets);
        free(s);
}

static df__series_t *df__series_make(const df__metric_desc_t *d, df__metric_id_t id, const char *const *values,
                                     uint64_t hash, int present)
{
        size_t sz = (sizeof(df__series_t) + 63) & ~(size_t)63;
        df__series_t *s = aligned_alloc(64, sz);
        int i;
        if (!s)
                return NULL;
        memset(s, 0, sizeof(*s));
        s->id = id;
        s->hash = hash;
        for (i = 0; i < d->n_labels; i++) {
                s->values[i] = strdup(values[i]);
                if (!s->values[i]) {
                        df__series_free(s);
                        return NULL;
                }
        }
        if (d->kind == DF__MK_HISTOGRAM) {
                s->buckets = calloc((size_t)d->n_buckets + 1, sizeof(*s->buckets));
                if (!s->buckets) {
                        df__series_free(s);
                        return NULL;
                }
        }
        atomic_store_explicit(&s->present, present, memory_order_relaxed);
        return s;
}

df__metrics_t *df__metrics_new(void)
{
        df__metrics_t *m = calloc(1, sizeof(*m));
        static const char *const ovf[DF__METRIC_MAX_LABELS] = {"_overflow", "_overflow", "_overflow"};
        int i;

        if (!m)
                return NULL;
        for (i = 0; i < DF__M__COUNT; i++) {
                df__family_t *f = &m->fam[i];
                f->d = df__metric_desc((df__metric_id_t)i);
                pthread_mutex_init(&f->mu, NULL);
                if (f->d->n_labels == 0) {
                        /* the one series of a label-less family */
                        f->series[0] = df__series_make(f->d, (df__metric_id_t)i, NULL, df__label_hash(NULL, 0), 1);
                        if (!f->series[0])
                                goto fail;
                        atomic_store_explicit(&f->n, 1, memory_order_release);
                } else {
                        /* rendered once something lands in it */
                        f->overflow =
                            df__series_make(f->d, (df__metric_id_t)i, ovf, df__label_hash(ovf, f->d->n_labels), 0);
                        if (!f->overflow)
                                goto fail;
                }
        }
        return m;
fail:
        df__metrics_destroy(m);
        return NULL;
}

void df__metrics_destroy(df__metrics_t *m)
{
        int i, j;
        if (!m)
                return;
        for (i = 0; i < DF__M__COUNT; i++) {
                df__family_t *f = &m->fam[i];
                int n = atomic_load_explicit(&f->n, memory_order_acquire);
                for (j = 0; j < n; j++)
                        df__series_free(f->series[j]);
                df__series_free(f->overflow);
                if (f->d)
                        pthread_mutex_destroy(&f->mu);
        }
        free(m);
}

static df__series_t *df__family_find(df__family_t *f, const char *const *values, uint64_t h)
{
        int n = atomic_load_explicit(&f->n, memory_order_acquire), i, k;
        for (i = 0; i < n; i++) {
                df__series_t *s = f->series[i];
                if (s->hash != h)
                        continue;
                for (k = 0; k < f->d->n_labels; k++)
                        if (strcmp(s->values[k], values[k]))
                                break;
                if (k == f->d->n_labels)
                        return s;
        }
        return NULL;
}

static void df__overflow_note(df__metrics_t *m, df__family_t *f)
{
        atomic_store_explicit(&f->overflow->present, 1, memory_order_relaxed);
        df__counter_add(m->fam[DF__M_SERIES_DROPPED].series[0], 1);
}

df__series_t *df__metric_seriesv(df__metrics_t *m, df__metric_id_t id, const char *const *values, int n)
{
        const char *clean[DF__METRIC_MAX_LABELS];
        df__family_t *f;
        df__series_t *s;
        uint64_t h;
        int i, cnt;

        if (!m || (int)id < 0 || id >= DF__M__COUNT)
                return NULL;
        f = &m->fam[id];
        if (f->d->n_labels == 0)
                return f->series[0];
        for (i = 0; i < f->d->n_labels; i++)
                clean[i] = df__label_clean(i < n && values ? values[i] : NULL);
        h = df__label_hash(clean, f->d->n_labels);
        if ((s = df__family_find(f, clean, h)))
                return s;
        pthread_mutex_lock(&f->mu);
        if ((s = df__family_find(f, clean, h)))
                goto out;
        cnt = atomic_load_explicit(&f->n, memory_order_relaxed);
        /* a counter or histogram renders from its creation (0 is a value
         * rate() needs); a gauge once it is set */
        if (cnt >= DF__METRIC_MAX_SERIES - 1 ||
            !(s = df__series_make(f->d, id, clean, h, f->d->kind != DF__MK_GAUGE))) {
                s = f->overflow;
                pthread_mutex_unlock(&f->mu);
                df__overflow_note(m, f);
                return s;
        }
        f->series[cnt] = s;
        atomic_store_explicit(&f->n, cnt + 1, memory_order_release);
out:
        pthread_mutex_unlock(&f->mu);
        return s;
}

df__series_t *df__metric_series(df__metrics_t *m, df__metric_id_t id, ...)
{
        const char *values[DF__METRIC_MAX_LABELS] = {NULL, NULL, NULL};
        const df__metric_desc_t *d = df__metric_desc(id);
        va_list ap;
        int i;

        if (!m || !d)
                return NULL;
        va_start(ap, id);
        for (i = 0; i < d->n_labels; i++)
                values[i] = va_arg(ap, const char *);
        va_end(ap);
        return df__metric_seriesv(m, id, values, d->n_labels);
}

/* ---------------- updates ---------------- */

static inline uint64_t df__d2u(double v)
{
        uint64_t u;
        memcpy(&u, &v, sizeof(u));
        return u;
}

static inline double df__u2d(uint64_t u)
{
        double v;
        memcpy(&v, &u, sizeof(v));
        return v;
}

void df__counter_add(df__series_t *s, uint64_t n)
{
        if (!s)
                return;
        atomic_fetch_add_explicit(&s->v, n, memory_order_relaxed);
}

void df__gauge_set(df__series_t *s, double v)
{
        if (!s)
                return;
        atomic_store_explicit(&s->v, df__d2u(v), memory_order_relaxed);
        if (!atomic_load_explicit(&s->present, memory_order_relaxed))
                atomic_store_explicit(&s->present, 1, memory_order_relaxed);
}

static void df__atomic_add_double(_Atomic uint64_t *a, double v)
{
        uint64_t old = atomic_load_explicit(a, memory_order_relaxed);
        while (!atomic_compare_exchange_weak_explicit(a, &old, df__d2u(df__u2d(old) + v), memory_order_relaxed,
                                                      memory_order_relaxed))
                ;
}

void df__gauge_add(df__series_t *s, double v)
{
        if (!s)
                return;
        df__atomic_add_double(&s->v, v);
        if (!atomic_load_explicit(&s->present, memory_order_relaxed))
                atomic_store_explicit(&s->present, 1, memory_order_relaxed);
}

void df__gauge_unset(df__series_t *s)
{
        if (!s)
                return;
        atomic_store_explicit(&s->present, 0, memory_order_relaxed);
}

void df__histogram_observe(df__series_t *s, double v)
{
        const df__metric_desc_t *d;
        int lo, hi;

        if (!s || !s->buckets || isnan(v))
                return;
        d = &df__mdesc[s->id];
        /* first bucket whose upper bound is >= v (binary search) */
        lo = 0;
        hi = d->n_buckets;
        while (lo < hi) {
                int mid = (lo + hi) / 2;
                if (v <= d->buckets[mid])
                        hi = mid;
                else
                        lo = mid + 1;
        }
        atomic_fetch_add_explicit(&s->buckets[lo], 1, memory_order_relaxed);
        df__atomic_add_double(&s->sum_bits, v);
        if (!atomic_load_explicit(&s->present, memory_order_relaxed))
                atomic_store_explicit(&s->present, 1, memory_order_relaxed);
}

uint64_t df__counter_value(const df__series_t *s)
{
        return s ? atomic_load_explicit(&((df__series_t *)s)->v, memory_order_relaxed) : 0;
}

double df__gauge_value(const df__series_t *s)
{
        return s ? df__u2d(atomic_load_explicit(&((df__series_t *)s)->v, memory_order_relaxed)) : 0;
}

uint64_t df__histogram_count(const df__series_t *s, double *sum, uint64_t *buckets)
{
        const df__metric_desc_t *d;
        uint64_t total = 0;
        int i;

        if (!s || !s->buckets) {
                if (sum)
                        *sum = 0;
                return 0;
        }
        d = &df__mdesc[s->id];
        for (i = 0; i <= d->n_buckets; i++) {
                total += atomic_load_explicit(&((df__series_t *)s)->buckets[i], memory_order_relaxed);
                if (buckets)
                        buckets[i] = total;
        }
        if (sum)
                *sum = df__u2d(atomic_load_explicit(&((df__series_t *)s)->sum_bits, memory_order_relaxed));
        return total;
}

/* ---------------- rendering ---------------- */

typedef struct df__sb {
        char *p;
        size_t len, cap;
        int oom;
} df__sb_t;

static void df__sb_grow(df__sb_t *b, size_t need)
{
        size_t cap;
        char *p;
        if (b->oom || b->len + need < b->cap)
                return;
        cap = b->cap ? b->cap : 4096;
        while (cap <= b->len + need)
                cap *= 2;
        p = realloc(b->p, cap);
        if (!p) {
                b->oom = 1;
                return;
        }
        b->p = p;
        b->cap = cap;
}

static void df__sb_put(df__sb_t *b, const char *s, size_t n)
{
        df__sb_grow(b, n + 1);
        if (b->oom)
                return;
        memcpy(b->p + b->len, s, n);
        b->len += n;
        b->p[b->len] = '\0';
}

static void df__sb_puts(df__sb_t *b, const char *s)
{
        df__sb_put(b, s, strlen(s));
}

/* Prometheus escaping: HELP text escapes \ and newline; label values
 * escape \, " and newline. */
static void df__sb_escaped(df__sb_t *b, const char *s, int quote)
{
        for (; *s; s++) {
                if (*s == '\\')
                        df__sb_put(b, "\\\\", 2);
                else if (*s == '\n')
                        df__sb_put(b, "\\n", 2);
                else if (quote && *s == '"')
                        df__sb_put(b, "\\\"", 2);
                else
                        df__sb_put(b, s, 1);
        }
}

/* A float as Prometheus reads it: integers without exponent or point,
 * others in the shortest form that reads back to the same double. */
static void df__fmt_double(char *out, size_t n, double v)
{
        int prec;
        if (isnan(v)) {
                snprintf(out, n, "NaN");
                return;
        }
        if (isinf(v)) {
                snprintf(out, n, v > 0 ? "+Inf" : "-Inf");
                return;
        }
        if (v == floor(v) && fabs(v) < 9007199254740992.0) {
                snprintf(out, n, "%.0f", v);
                return;
        }
        for (prec = 1; prec <= 17; prec++) {
                snprintf(out, n, "%.*g", prec, v);
                if (strtod(out, NULL) == v)
                        return;
        }
}

static void df__render_labels(df__sb_t *b, const df__metric_desc_t *d, const df__series_t *s, const char *le)
{
        const char *name = d->labels;
        int i;

        if (d->n_labels == 0 && !le)
                return;
        df__sb_put(b, "{", 1);
        for (i = 0; i < d->n_labels; i++) {
                const char *end = strchr(name, ',');
                size_t nl = end ? (size_t)(end - name) : strlen(name);
                if (i)
                        df__sb_put(b, ",", 1);
                df__sb_put(b, name, nl);
                df__sb_put(b, "=\"", 2);
                df__sb_escaped(b, s->values[i], 1);
                df__sb_put(b, "\"", 1);
                name = end ? end + 1 : name + nl;
        }
        if (le) {
                if (d->n_labels)
                        df__sb_put(b, ",", 1);
                df__sb_puts(b, "le=\"");
                df__sb_puts(b, le);
                df__sb_put(b, "\"", 1);
        }
        df__sb_put(b, "}", 1);
}

static void df__render_series(df__sb_t *b, const df__metric_desc_t *d, df__series_t *s)
{
        char num[64];

        if (!atomic_load_explicit(&s->present, memory_order_relaxed))
                return;
        if (d->kind == DF__MK_HISTOGRAM) {
                uint64_t cum[64];
                double sum;
                uint64_t count;
                int i;
                count = df__histogram_count(s, &sum, cum);
                for (i = 0; i <= d->n_buckets; i++) {
                        char le[64];
                        if (i < d->n_buckets)
                                df__fmt_double(le, sizeof(le), d->buckets[i]);
                        else
                                snprintf(le, sizeof(le), "+Inf");
                        df__sb_puts(b, d->name);
                        df__sb_puts(b, "_bucket");
                        df__render_labels(b, d, s, le);
                        snprintf(num, sizeof(num), " %" PRIu64 "\n", cum[i]);
                        df__sb_puts(b, num);
                }
                df__sb_puts(b, d->name);
                df__sb_puts(b, "_sum");
                df__render_labels(b, d, s, NULL);
                df__fmt_double(num, sizeof(num), sum);
                df__sb_put(b, " ", 1);
                df__sb_puts(b, num);
                df__sb_put(b, "\n", 1);
                df__sb_puts(b, d->name);
                df__sb_puts(b, "_count");
                df__render_labels(b, d, s, NULL);
                snprintf(num, sizeof(num), " %" PRIu64 "\n", count);
                df__sb_puts(b, num);
                return;
        }
        df__sb_puts(b, d->name);
        df__render_labels(b, d, s, NULL);
        if (d->kind == DF__MK_COUNTER) {
                snprintf(num, sizeof(num), " %" PRIu64 "\n", df__counter_value(s));
                df__sb_puts(b, num);
        } else {
                df__fmt_double(num, sizeof(num), df__gauge_value(s));
                df__sb_put(b, " ", 1);
                df__sb_puts(b, num);
                df__sb_put(b, "\n", 1);
        }
}

char *df__metrics_render(df__metrics_t *m, size_t *len)
{
        df__sb_t b = {0};
        int i, j;

        if (!m)
                return NULL;
        df__sb_grow(&b, 16384);
        for (i = 0; i < DF__M__COUNT; i++) {
                df__family_t *f = &m->fam[i];
                const df__metric_desc_t *d = f->d;
                int n = atomic_load_explicit(&f->n, memory_order_acquire);
                static const char *const kinds[] = {"counter", "gauge", "histogram"};

                df__sb_puts(&b, "# HELP ");
                df__sb_puts(&b, d->name);
                df__sb_put(&b, " ", 1);
                df__sb_escaped(&b, d->help, 0);
                df__sb_puts(&b, "\n# TYPE ");
                df__sb_puts(&b, d->name);
                df__sb_put(&b, " ", 1);
                df__sb_puts(&b, kinds[d->kind]);
                df__sb_put(&b, "\n", 1);
                for (j = 0; j < n; j++)
                        df__render_series(&b, d, f->series[j]);
                if (f->overflow)
                        df__render_series(&b, d, f->overflow);
        }
        if (b.oom) {
                free(b.p);
                return NULL;
        }
        if (len)
                *len = b.len;
        return b.p;
}

/* ---------------- HTTP ---------------- */

struct df__metrics_http {
        struct MHD_Daemon *d;
        df__metrics_t *m;
        df__probe_fn *live, *ready;
        void *opaque;
        int port;
};

static df_err_t df__metrics_listen_addr(const char *listen, int *off, struct sockaddr_storage *ss, int *port_out,
                                        char *errstr, size_t errstr_size)
{
        char host[64];
        const char *colon, *hs, *he;
        char *end;
        long port;

        *off = 0;
        memset(ss, 0, sizeof(*ss));
        if (!listen || !*listen) {
                *off = 1;
                return DF_OK;
        }
        for (size_t i = 0; listen[i]; i++)
                if ((unsigned char)listen[i] <= 0x20 || (unsigned char)listen[i] >= 0x7f) {
                        df__errf(errstr, errstr_size,
                                 "property \"metrics.listen\": byte %zu is whitespace, a control character or not "
                                 "ASCII (an address is host:port)",
                                 i);
                        return DF_ERR_CONF;
                }
        if (strlen(listen) > 128) {
                df__errf(errstr, errstr_size, "property \"metrics.listen\": longer than 128 bytes");
                return DF_ERR_CONF;
        }
        if (listen[0] == '[') {
                he = strchr(listen, ']');
                if (!he || he[1] != ':') {
                        df__errf(errstr, errstr_size,
                                 "property \"metrics.listen\": \"%.64s\" is not [IPv6]:port (e.g. [::1]:9464)", listen);
                        return DF_ERR_CONF;
                }
                hs = listen + 1;
                colon = he + 1;
        } else {
                colon = strrchr(listen, ':');
                if (!colon) {
                        df__errf(errstr, errstr_size,
                                 "property \"metrics.listen\": \"%.64s\" is not host:port (e.g. 127.0.0.1:9464)",
                                 listen);
                        return DF_ERR_CONF;
                }
                hs = listen;
                he = colon;
        }
        if ((size_t)(he - hs) >= sizeof(host) || he == hs) {
                df__errf(errstr, errstr_size, "property \"metrics.listen\": the address in \"%.64s\" is %s", listen,
                         he == hs ? "empty" : "too long");
                return DF_ERR_CONF;
        }
        memcpy(host, hs, (size_t)(he - hs));
        host[he - hs] = '\0';
        port = strtol(colon + 1, &end, 10);
        if (!colon[1] || *end || port < 0 || port > 65535 || colon[1] == '-' || colon[1] == '+') {
                df__errf(errstr, errstr_size, "property \"metrics.listen\": the port in \"%.64s\" is not 0..65535",
                         listen);
                return DF_ERR_CONF;
        }
        if (listen[0] == '[') {
                struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
                if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1) {
                        df__errf(errstr, errstr_size, "property \"metrics.listen\": \"%.64s\" is not an IPv6 address",
                                 host);
                        return DF_ERR_CONF;
                }
                a6->sin6_family = AF_INET6;
                a6->sin6_port = htons((uint16_t)port);
        } else {
                struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
                if (inet_pton(AF_INET, host, &a4->sin_addr) != 1) {
                        df__errf(errstr, errstr_size,
                                 "property \"metrics.listen\": \"%.64s\" is not an IPv4 address (host names are not "
                                 "resolved; use 127.0.0.1, 0.0.0.0 or [::1])",
                                 host);
                        return DF_ERR_CONF;
                }
                a4->sin_family = AF_INET;
                a4->sin_port = htons((uint16_t)port);
        }
        *port_out = (int)port;
        return DF_OK;
}

df_err_t df__metrics_listen_parse(const char *listen, int *off, char *errstr, size_t errstr_size)
{
        struct sockaddr_storage ss;
        int port;
        return df__metrics_listen_addr(listen, off, &ss, &port, errstr, errstr_size);
}

static enum MHD_Result df__http_reply(struct MHD_Connection *c, unsigned status, const char *ctype, char *body,
                                      size_t len, enum MHD_ResponseMemoryMode mode)
{
        struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
        enum MHD_Result ret;
        if (!r) {
                if (mode == MHD_RESPMEM_MUST_FREE)
                        free(body);
                return MHD_NO;
        }
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
        MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
        if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
                MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
        ret = MHD_queue_response(c, status, r);
        MHD_destroy_response(r);
        return ret;
}

static enum MHD_Result df__http_probe(struct MHD_Connection *c, df__probe_fn *fn, void *opaque, const char *ok)
{
        char reason[256] = "";
        char body[300];
        int up = fn ? fn(reason, sizeof(reason), opaque) : 1;
        size_t i;

        /* the reason is ours, but keep the page plain ASCII whatever it says */
        reason[sizeof(reason) - 1] = '\0';
        for (i = 0; reason[i]; i++)
                if ((unsigned char)reason[i] < 0x20 || (unsigned char)reason[i] >= 0x7f)
                        reason[i] = '?';
        if (up)
                snprintf(body, sizeof(body), "%s\n", ok);
        else
                snprintf(body, sizeof(body), "not %s%s%s\n", ok, reason[0] ? ": " : "", reason);
        return df__http_reply(c, up ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain; charset=utf-8",
                              body, strlen(body), MHD_RESPMEM_MUST_COPY);
}

static enum MHD_Result df__http_handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                        const char *version, const char *upload_data, size_t *upload_data_size,
                                        void **con_cls)
{
        df__metrics_http_t *h = cls;
        static const char nf[] = "not found: /metrics, /healthz, /readyz\n";
        static const char na[] = "method not allowed: GET or HEAD\n";

        (void)version;
        (void)upload_data;
        (void)upload_data_size;
        (void)con_cls;
        if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
                return df__http_reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain; charset=utf-8", (char *)na,
                                      sizeof(na) - 1, MHD_RESPMEM_PERSISTENT);
        if (!strcmp(url, "/metrics")) {
                size_t len;
                char *page = df__metrics_render(h->m, &len);
                if (!page)
                        return df__http_reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain", (char *)"out of memory\n",
                                              14, MHD_RESPMEM_PERSISTENT);
                return df__http_reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", page, len,
                                      MHD_RESPMEM_MUST_FREE);
        }
        if (!strcmp(url, "/healthz"))
                return df__http_probe(c, h->live, h->opaque, "ok");
        if (!strcmp(url, "/readyz"))
                return df__http_probe(c, h->ready, h->opaque, "ready");
        return df__http_reply(c, MHD_HTTP_NOT_FOUND, "text/plain; charset=utf-8", (char *)nf, sizeof(nf) - 1,
                              MHD_RESPMEM_PERSISTENT);
}

df_err_t df__metrics_http_start(df__metrics_t *m, const char *listen, df__probe_fn *live, df__probe_fn *ready,
                                void *opaque, df__metrics_http_t **out, char *errstr, size_t errstr_size)
{
        struct sockaddr_storage ss;
        const union MHD_DaemonInfo *info;
        df__metrics_http_t *h;
        int off, port;
        unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO;
        df_err_t err;

        *out = NULL;
        if (!m) {
                df__errf(errstr, errstr_size, "metrics endpoint: no registry");
                return DF_ERR_INVALID_ARG;
        }
        if ((err = df__metrics_listen_addr(listen, &off, &ss, &port, errstr, errstr_size)) != DF_OK)
                return err;
        if (off) {
                df__errf(errstr, errstr_size, "property \"metrics.listen\" is empty (metrics off)");
                return DF_ERR_CONF;
        }
        h = calloc(1, sizeof(*h));
        if (!h)
                return DF_ERR_NOMEM;
        h->m = m;
        h->live = live;
        h->ready = ready;
        h->opaque = opaque;
        if (ss.ss_family == AF_INET6)
                flags |= MHD_USE_IPv6;
        h->d = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, df__http_handler, h, MHD_OPTION_SOCK_ADDR,
                                (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
                                MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_END);
        if (!h->d) {
                df__errf(errstr, errstr_size, "metrics endpoint: cannot listen on %s (address in use or not local?)",
                         listen);
                free(h);
                return DF_ERR_STATE;
        }
        info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
        h->port = info ? (int)info->port : port;
        *out = h;
        return DF_OK;
}

int df__metrics_http_port(const df__metrics_http_t *h)
{
        return h ? h->port : -1;
}

void df__metrics_http_stop(df__metrics_http_t *h)
{
        if (!h)
                return;
        MHD_stop_daemon(h->d);
        free(h);
}

/* ---------------- librdkafka statistics ---------------- */

void df__kstats_clear(df__kstats_t *st)
{
        if (!st)
                return;
        free(st->parts);
        memset(st, 0, sizeof(*st));
        st->rebalance_cnt = -1;
        st->assignment_size = -1;
}

df_err_t df__kstats_parse(const char *json, size_t len, df__kstats_t *out, char *errstr, size_t errstr_size)
{
        json_error_t jerr;
        json_t *root, *topics, *cgrp;
        const char *tname;
        json_t *t;
        int cap = 0;

        memset(out, 0, sizeof(*out));
        out->rebalance_cnt = -1;
        out->assignment_size = -1;
        root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!root) {
                df__errf(errstr, errstr_size, "statistics: not JSON (%s at offset %d)", jerr.text, jerr.position);
                return DF_ERR_CODEC;
        }
        if (!json_is_object(root)) {
                json_decref(root);
                df__errf(errstr, errstr_size, "statistics: not a JSON object");
                return DF_ERR_CODEC;
        }
        cgrp = json_object_get(root, "cgrp");
        if (json_is_object(cgrp)) {
                json_t *v = json_object_get(cgrp, "rebalance_cnt");
                if (json_is_integer(v))
                        out->rebalance_cnt = json_integer_value(v);
                v = json_object_get(cgrp, "assignment_size");
                if (json_is_integer(v))
                        out->assignment_size = json_integer_value(v);
        }
        topics = json_object_get(root, "topics");
        if (json_is_object(topics)) {
                json_object_foreach(topics, tname, t)
                {
                        json_t *parts = json_object_get(t, "partitions"), *p;
                        const char *pkey;
                        if (!json_is_object(parts) || strlen(tname) >= sizeof(out->parts[0].topic))
                                continue;
                        json_object_foreach(parts, pkey, p)
                        {
                                json_t *pid = json_object_get(p, "partition"), *lag = json_object_get(p, "consumer_lag");
                                df__kstats_partition_t *e;
                                if (!json_is_integer(pid) || json_integer_value(pid) < 0 ||
                                    json_integer_value(pid) > INT32_MAX)
                                        continue; /* -1: librdkafka's internal unassigned partition */
                                if (out->n_parts == cap) {
                                        int nc = cap ? cap * 2 : 16;
                                        df__kstats_partition_t *np = realloc(out->parts, (size_t)nc * sizeof(*np));
                                        if (!np) {
                                                json_decref(root);
                                                df__kstats_clear(out);
                                                df__errf(errstr, errstr_size, "statistics: out of memory");
                                                return DF_ERR_NOMEM;
                                        }
                                        out->parts = np;
                                        cap = nc;
                                }
                                e = &out->parts[out->n_parts++];
                                snprintf(e->topic, sizeof(e->topic), "%s", tname);
                                e->partition = (int32_t)json_integer_value(pid);
                                e->lag = json_is_integer(lag) && json_integer_value(lag) >= 0 ? json_integer_value(lag)
                                                                                             : -1;
                                {
                                        json_t *hi = json_object_get(p, "hi_offset"), *ls = json_object_get(p, "ls_offset"),
                                               *nx = json_object_get(p, "next_offset"),
                                               *fs = json_object_get(p, "fetch_state");
                                        e->hi = json_is_integer(hi) && json_integer_value(hi) >= 0 ? json_integer_value(hi) : -1;
                                        e->ls = json_is_integer(ls) && json_integer_value(ls) >= 0 ? json_integer_value(ls) : -1;
                                        e->next = json_is_integer(nx) && json_integer_value(nx) >= 0 ? json_integer_value(nx)
                                                                                                    : -1;
                                        snprintf(e->fetch_state, sizeof(e->fetch_state), "%s",
                                                 json_is_string(fs) ? json_string_value(fs) : "");
                                }
                        }
                }
        }
        json_decref(root);
        return DF_OK;
}

void df__metrics_apply_kstats(df__metrics_t *m, const char *component, const df__kstats_t *st,
                              int64_t *last_rebalances)
{
        df__family_t *f;
        int i, j, n;

        if (!m || !st)
                return;
        component = df__label_clean(component);
        for (i = 0; i < st->n_parts; i++) {
                char pid[16];
                if (st->parts[i].lag < 0)
                        continue;
                snprintf(pid, sizeof(pid), "%" PRId32, st->parts[i].partition);
                df__gauge_set(df__metric_series(m, DF__M_CONSUMER_LAG, component, st->parts[i].topic, pid),
                              (double)st->parts[i].lag);
        }
        /* hide the lag of partitions this component no longer reports */
        f = &m->fam[DF__M_CONSUMER_LAG];
        n = atomic_load_explicit(&f->n, memory_order_acquire);
        for (j = 0; j < n; j++) {
                df__series_t *s = f->series[j];
                int found = 0;
                if (strcmp(s->values[0], component))
                        continue;
                for (i = 0; i < st->n_parts && !found; i++) {
                        char pid[16];
                        snprintf(pid, sizeof(pid), "%" PRId32, st->parts[i].partition);
                        found = st->parts[i].lag >= 0 && !strcmp(s->values[1], st->parts[i].topic) &&
                                !strcmp(s->values[2], pid);
                }
                if (!found)
                        df__gauge_unset(s);
        }
        if (st->rebalance_cnt >= 0 && last_rebalances) {
                /* librdkafka's count is per consumer instance: a smaller
                 * value is a new consumer, whose every rebalance is new */
                int64_t delta = *last_rebalances < 0 || st->rebalance_cnt < *last_rebalances
                                    ? st->rebalance_cnt
                                    : st->rebalance_cnt - *last_rebalances;
                if (delta > 0)
                        df__counter_add(df__metric_series(m, DF__M_REBALANCES, component), (uint64_t)delta);
                *last_rebalances = st->rebalance_cnt;
        }
}

/* ---------------- the stall watch ---------------- */

static df__stall_entry_t *df__stall_entry(df__stall_t *w, const char *topic, int32_t partition)
{
        int i;
        for (i = 0; i < w->n; i++)
                if (w->e[i].partition == partition && !strcmp(w->e[i].topic, topic))
                        return &w->e[i];
        if (w->n == w->cap) {
                int nc = w->cap ? w->cap * 2 : 16;
                df__stall_entry_t *ne = realloc(w->e, (size_t)nc * sizeof(*ne));
                if (!ne)
                        return NULL;
                w->e = ne;
                w->cap = nc;
        }
        memset(&w->e[w->n], 0, sizeof(w->e[w->n]));
        snprintf(w->e[w->n].topic, sizeof(w->e[w->n].topic), "%s", topic);
        w->e[w->n].partition = partition;
        w->e[w->n].ls = w->e[w->n].next = -1;
        return &w->e[w->n++];
}

void df__stall_check(df__stall_t *w, const char *who, const df__kstats_t *st, int64_t now_ms, df__stall_emit_fn emit,
                     void *opaque)
{
        int i;
        char msg[700];
        if (!w || !st)
                return;
        for (i = 0; i < st->n_parts; i++) {
                const df__kstats_partition_t *p = &st->parts[i];
                df__stall_entry_t *e;
                int held, stuck;
                if (p->hi < 0 || p->ls < 0)
                        continue; /* not assigned here, or not known yet */
                if (!(e = df__stall_entry(w, p->topic, p->partition)))
                        return;
                /* 1. the last stable offset held below the high watermark */
                held = p->ls < p->hi && p->ls == e->ls;
                if (!held) {
                        if (e->ls_warned && emit) {
                                snprintf(msg, sizeof(msg), "%s: %s[%d]: the last stable offset moves again (%lld, high "
                                                           "watermark %lld) after %lld ms",
                                         who, p->topic, (int)p->partition, (long long)p->ls, (long long)p->hi,
                                         (long long)(now_ms - e->ls_since));
                                emit(DF__LOG_INFO, msg, opaque);
                        }
                        e->ls_warned = 0;
                        e->ls_since = p->ls < p->hi ? now_ms : 0;
                } else if (!e->ls_since) {
                        e->ls_since = now_ms;
                } else if (!e->ls_warned && now_ms - e->ls_since >= w->after_ms) {
                        e->ls_warned = 1;
                        if (emit) {
                                snprintf(msg, sizeof(msg),
                                         "%s: %s[%d]: the last stable offset has stayed at %lld for %lld ms, %lld "
                                         "record(s) below the high watermark %lld: an open transaction holds "
                                         "read_committed readers back (what was written after it stays invisible "
                                         "until it commits or aborts)",
                                         who, p->topic, (int)p->partition, (long long)p->ls,
                                         (long long)(now_ms - e->ls_since), (long long)(p->hi - p->ls), (long long)p->hi);
                                emit(DF__LOG_WARN, msg, opaque);
                        }
                }
                e->ls = p->ls;
                /* 2. records there to read, the fetch position not moving */
                stuck = p->next >= 0 && p->next < p->ls && p->next == e->next && !strcmp(p->fetch_state, "active");
                if (!stuck) {
                        if (e->next_warned && emit) {
                                snprintf(msg, sizeof(msg), "%s: %s[%d]: the fetch position is %lld now (fetch state "
                                                           "%s), after %lld ms",
                                         who, p->topic, (int)p->partition, (long long)p->next,
                                         p->fetch_state[0] ? p->fetch_state : "?", (long long)(now_ms - e->next_since));
                                emit(DF__LOG_INFO, msg, opaque);
                        }
                        e->next_warned = 0;
                        e->next_since = p->next >= 0 && p->next < p->ls ? now_ms : 0;
                } else if (!e->next_since) {
                        e->next_since = now_ms;
                } else if (!e->next_warned && now_ms - e->next_since >= w->after_ms) {
                        e->next_warned = 1;
                        if (emit) {
                                snprintf(msg, sizeof(msg),
                                         "%s: %s[%d]: %lld record(s) readable (offsets %lld..%lld) but the fetch "
                                         "position has not moved for %lld ms (fetch state %s; a batch that runs long "
                                         "pauses fetching)",
                                         who, p->topic, (int)p->partition, (long long)(p->ls - p->next),
                                         (long long)p->next, (long long)p->ls - 1, (long long)(now_ms - e->next_since),
                                         p->fetch_state);
                                emit(DF__LOG_WARN, msg, opaque);
                        }
                }
                e->next = p->next;
        }
}

void df__stall_clear(df__stall_t *w)
{
        if (!w)
                return;
        free(w->e);
        w->e = NULL;
        w->n = w->cap = 0;
}
