/*
 * cron.c -- cron expressions, time zones and next fire times (see cron.h).
 *
 * Time zones come from the system's tz database (/usr/share/zoneinfo, or
 * $TZDIR), read with GLib's GTimeZone, not from ICU: Debian 12's ICU 72
 * carries its own copy of the rules (tz 2022e), older than the system's
 * (Debian keeps tzdata current: 2025b at the time of writing), and since
 * 2022e Mexico abolished DST (2022f), Greenland, Egypt, Kazakhstan and
 * Paraguay changed theirs: ICU would fire an hour off there.  glibc's own
 * reader (localtime_r with $TZ) is one zone per process, so it cannot serve
 * schedules of several zones on several threads.  GTimeZone is immutable
 * and thread-safe; its interval index (g_time_zone_find_interval) is all
 * this file asks of it: the UTC offset at an instant, and where it changes.
 *
 * Wall-clock arithmetic (days of a month, weekdays) is the proleptic
 * Gregorian calendar (H. Hinnant's days_from_civil), no table.
 *
 * The next fire time after an instant is found interval by interval: in an
 * interval between two transitions of the zone the offset o is constant,
 * so the matching wall times w in [t + o, T + o) are the instants w - o.
 * Across a transition at T from offset o to o2:
 *  - o2 > o (clocks jump forward): the wall times [T + o, T + o2) do not
 *    exist; if the expression matches one of them it fires once at T, the
 *    instant the gap ends (a daily 02:30 in Europe/Berlin on the last Sunday
 *    of March fires at 03:00 CEST, 01:00 UTC; several skipped times make one
 *    fire).  Vixie cron runs skipped jobs right after the jump too.
 *  - o2 < o (clocks go back): the wall times [T + o2, T + o) happen again.
 *    An expression whose second, minute and hour fields are fixed fires at
 *    the first occurrence only (a daily 02:30 on the last Sunday of October
 *    fires at 02:30 CEST, 00:30 UTC, not again at 02:30 CET); one whose
 *    second, minute or hour field starts with '*' ("every 15 minutes",
 *    "every hour") fires at each matching instant in both passes, as it
 *    measures elapsed time.  This is Vixie cron's rule for "wildcard" and
 *    fixed-time jobs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <glib.h>

#include "cron.h"
#include "internal.h"
#include "text.h"

#define DF__HORIZON_S (50LL * 366 * 86400) /* how far a next fire time is looked for */
#define DF__CRON_AFTER_MAX_MS 32503680000000LL /* 3000-01-01T00:00:00Z */

/* ---------------- the calendar ---------------- */

static int64_t df__floor_div(int64_t a, int64_t b)
{
        int64_t q = a / b;
        return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t df__days_from_civil(int64_t y, unsigned m, unsigned d)
{
        int64_t era;
        unsigned yoe, doy, doe;
        y -= m <= 2;
        era = (y >= 0 ? y : y - 399) / 400;
        yoe = (unsigned)(y - era * 400);
        doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
        doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146097 + (int64_t)doe - 719468;
}

static void df__civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
        int64_t era;
        unsigned doe, yoe, doy, mp;
        z += 719468;
        era = (z >= 0 ? z : z - 146096) / 146097;
        doe = (unsigned)(z - era * 146097);
        yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        mp = (5 * doy + 2) / 153;
        *d = doy - (153 * mp + 2) / 5 + 1;
        *m = mp < 10 ? mp + 3 : mp - 9;
        *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static unsigned df__days_in_month(int64_t y, unsigned m)
{
        static const unsigned dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        return m == 2 && leap ? 29 : dim[m - 1];
}

/* ---------------- parsing ---------------- */

typedef struct df__field {
        const char *name;
        int lo, hi;
        const char *const *names; /* names for lo, lo+1, ... (NULL: numbers only) */
} df__field_t;

static const char *const df__mon_names[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                            "jul", "aug", "sep", "oct", "nov", "dec", NULL};
static const char *const df__dow_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL};

enum { F_SEC, F_MIN, F_HOUR, F_DOM, F_MON, F_DOW };
static const df__field_t df__fields[] = {
        {"second", 0, 59, NULL},      {"minute", 0, 59, NULL}, {"hour", 0, 23, NULL},
        {"day-of-month", 1, 31, NULL}, {"month", 1, 12, df__mon_names}, {"day-of-week", 0, 7, df__dow_names},
};

struct df__parse {
        const char *expr;
        char *errstr;
        size_t errstr_size;
        int nfields;
};

/* The message of a parse error: the expression quoted, the field with its
 * number, the position. */
static int df__perr(struct df__parse *p, int f, const char *at, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static int df__perr(struct df__parse *p, int f, const char *at, const char *fmt, ...)
{
        char q[300], what[300];
        va_list ap;
        int idx = p->nfields == 5 ? f : f + 1; /* 1-based number of the field as written */
        va_start(ap, fmt);
        vsnprintf(what, sizeof(what), fmt, ap);
        va_end(ap);
        df__errf(p->errstr, p->errstr_size, "cron expression \"%s\": %s (field %d) at position %d: %s",
                 df__quote(q, sizeof(q), p->expr), df__fields[f].name, idx, (int)(at - p->expr) + 1, what);
        return -1;
}

static int df__is_space(char c)
{
        return c == ' ' || c == '\t';
}

/* A number or (for month and day-of-week) a name at *s; advances *s. */
static int df__value(struct df__parse *p, int f, const char **s, int *out)
{
        const df__field_t *fd = &df__fields[f];
        const char *start = *s;
        char q[64];
        if (**s >= '0' && **s <= '9') {
                long v = 0;
                while (**s >= '0' && **s <= '9') {
                        v = v * 10 + (**s - '0');
                        if (v > 100000)
                                return df__perr(p, f, start, "number too large");
                        (*s)++;
                }
                if (v < fd->lo || v > fd->hi)
                        return df__perr(p, f, start, "%ld is out of range %d-%d", v, fd->lo, fd->hi);
                *out = (int)v;
                return 0;
        }
        if ((**s >= 'a' && **s <= 'z') || (**s >= 'A' && **s <= 'Z')) {
                size_t n = 0;
                int i;
                while (((*s)[n] >= 'a' && (*s)[n] <= 'z') || ((*s)[n] >= 'A' && (*s)[n] <= 'Z'))
                        n++;
                if (n == 1 && strchr("LWlw", **s))
                        return df__perr(p, f, start, "\"%c\" (a Quartz extension) is not supported", **s);
                snprintf(q, sizeof(q), "%.*s", (int)(n < 40 ? n : 40), *s);
                if (!fd->names)
                        return df__perr(p, f, start, "\"%s\": names are for months and days of the week only", q);
                for (i = 0; fd->names[i]; i++)
                        if (n == 3 && !strncasecmp(*s, fd->names[i], 3)) {
                                *s += 3;
                                *out = fd->lo + i;
                                return 0;
                        }
                return df__perr(p, f, start, "unknown name \"%s\" (%s)", q,
                                f == F_MON ? "jan..dec" : "sun..sat");
        }
        if (!**s || **s == ',' || **s == '/' || **s == '-' || df__is_space(**s))
                return df__perr(p, f, start, "a value is missing");
        if (**s == '?' || **s == '#')
                return df__perr(p, f, start, "\"%c\" (a Quartz extension) is not supported", **s);
        return df__perr(p, f, start, "unexpected character \"%s\"",
                        df__quote(q, sizeof(q), (char[]){**s, 0}));
}

/* One field (the text [s, end)) into *bits.  *star: it starts with '*'. */
static int df__field(struct df__parse *p, int f, const char *s, const char *end, uint64_t *bits, int *star)
{
        const df__field_t *fd = &df__fields[f];
        *bits = 0;
        *star = *s == '*';
        for (;;) {
                const char *item = s;
                int a, b, step = 1, v;
                if (*s == '*') {
                        a = fd->lo;
                        b = f == F_DOW ? 6 : fd->hi;
                        s++;
                } else {
                        if (df__value(p, f, &s, &a))
                                return -1;
                        b = a;
                        if (*s == '-') {
                                const char *bs = ++s;
                                if (df__value(p, f, &s, &b))
                                        return -1;
                                /* "fri-sun": Sunday as 7 */
                                if (f == F_DOW && b == 0 && a > 0)
                                        b = 7;
                                if (b < a)
                                        return df__perr(p, f, bs, "range %d-%d ends before it starts", a, b);
                        } else if (*s == '/') {
                                b = fd->hi; /* "N/STEP" = N-max/STEP */
                        }
                }
                if (*s == '/') {
                        const char *ss = ++s;
                        long n = 0;
                        if (!(*s >= '0' && *s <= '9'))
                                return df__perr(p, f, ss, "a step must be a number");
                        while (*s >= '0' && *s <= '9') {
                                n = n * 10 + (*s - '0');
                                if (n > 100000)
                                        return df__perr(p, f, ss, "step too large");
                                s++;
                        }
                        if (n < 1) /* a step past the range leaves its start (as Vixie cron) */
                                return df__perr(p, f, ss, "step 0: a step is at least 1");
                        step = (int)n;
                }
                for (v = a; v <= b; v += step)
                        *bits |= 1ULL << (f == F_DOW && v == 7 ? 0 : v);
                if (s == end)
                        return 0;
                if (*s != ',') {
                        char q[64];
                        if (*s == 'L' || *s == 'W' || *s == '#' || *s == '?' || *s == 'l' || *s == 'w')
                                return df__perr(p, f, s, "\"%c\" (a Quartz extension) is not supported", *s);
                        return df__perr(p, f, s, "unexpected character \"%s\" after \"%.*s\"",
                                        df__quote(q, sizeof(q), (char[]){*s, 0}), (int)(s - item), item);
                }
                s++;
                if (s == end)
                        return df__perr(p, f, s, "a value is missing after \",\"");
        }
}

static const struct {
        const char *name, *expr;
} df__macros[] = {
        {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"}, {"@weekly", "0 0 * * 0"},
        {"@daily", "0 0 * * *"},  {"@midnight", "0 0 * * *"}, {"@hourly", "0 * * * *"},
};

/* The length and the bytes of expr: at most DF_CRON_MAX, no control
 * character but tabs, ASCII.  0, or -1 with errstr. */
static int df__cron_bytes(const char *expr, char *errstr, size_t errstr_size)
{
        char q[300];
        size_t len, i;

        len = strlen(expr);
        if (len > DF_CRON_MAX) {
                df__errf(errstr, errstr_size, "cron expression is %zu bytes, over the limit of %d", len, DF_CRON_MAX);
                return -1;
        }
        for (i = 0; i < len; i++) {
                unsigned char ch = (unsigned char)expr[i];
                if (ch < 0x20 && ch != '\t') {
                        df__errf(errstr, errstr_size, "cron expression \"%s\": control character 0x%02x at position %zu",
                                 df__quote(q, sizeof(q), expr), ch, i + 1);
                        return -1;
                }
                if (ch >= 0x7f) {
                        df__errf(errstr, errstr_size,
                                 "cron expression \"%s\": byte 0x%02x at position %zu: a cron expression is ASCII",
                                 df__quote(q, sizeof(q), expr), ch, i + 1);
                        return -1;
                }
        }
        return 0;
}

/* expr is a macro, starting at s ("@daily"): c as its expression.  0, or
 * -1 with errstr. */
static int df__cron_macro(df__cron_t *c, const char *expr, const char *s, char *errstr, size_t errstr_size)
{
        const char *e = s;
        char q[300];
        size_t i;

        while (*e && !df__is_space(*e))
                e++;
        for (i = 0; i < sizeof(df__macros) / sizeof(df__macros[0]); i++)
                if ((size_t)(e - s) == strlen(df__macros[i].name) &&
                    !strncasecmp(s, df__macros[i].name, (size_t)(e - s)))
                        break;
        while (df__is_space(*e))
                e++;
        if (i == sizeof(df__macros) / sizeof(df__macros[0]) || *e) {
                df__errf(errstr, errstr_size,
                         "cron expression \"%s\": unknown macro at position %d (@yearly, @annually, @monthly, "
                         "@weekly, @daily, @midnight, @hourly)",
                         df__quote(q, sizeof(q), expr), (int)(s - expr) + 1);
                return -1;
        }
        if (df__cron_parse(c, df__macros[i].expr, NULL, 0))
                return -1; /* not reached: the macros parse */
        return 0;
}

int df__cron_parse(df__cron_t *c, const char *expr, char *errstr, size_t errstr_size)
{
        struct df__parse p = {expr, errstr, errstr_size, 0};
        const char *starts[7], *ends[7], *s;
        char q[300];
        int n = 0, f, first;

        memset(c, 0, sizeof(*c));
        if (!expr || !*expr) {
                df__errf(errstr, errstr_size, "cron expression is empty: give 5 fields (minute hour day-of-month "
                                              "month day-of-week) or 6 (a seconds field first)");
                return -1;
        }
        if (df__cron_bytes(expr, errstr, errstr_size))
                return -1;
        s = expr;
        while (df__is_space(*s))
                s++;
        if (*s == '@')
                return df__cron_macro(c, expr, s, errstr, errstr_size);
        while (*s) {
                if (n == 7)
                        break;
                starts[n] = s;
                while (*s && !df__is_space(*s))
                        s++;
                ends[n++] = s;
                while (df__is_space(*s))
                        s++;
        }
        if (*s || (n != 5 && n != 6)) {
                df__errf(errstr, errstr_size,
                         "cron expression \"%s\" has %s%d fields: give 5 (minute hour day-of-month month day-of-week) "
                         "or 6 (a seconds field first)",
                         df__quote(q, sizeof(q), expr), *s ? "more than " : "", n);
                return -1;
        }
        p.nfields = n;
        first = n == 5 ? F_MIN : F_SEC;
        if (n == 5)
                c->sec = 1; /* second 0 */
        for (f = first; f <= F_DOW; f++) {
                uint64_t bits;
                int star, k = f - first;
                if (df__field(&p, f, starts[k], ends[k], &bits, &star))
                        return -1;
                switch (f) {
                case F_SEC:
                        c->sec = bits;
                        c->wild |= star;
                        break;
                case F_MIN:
                        c->min = bits;
                        c->wild |= star;
                        break;
                case F_HOUR:
                        c->hour = (uint32_t)bits;
                        c->wild |= star;
                        break;
                case F_DOM:
                        c->dom = (uint32_t)bits;
                        c->dom_star = star;
                        break;
                case F_MON:
                        c->mon = (uint32_t)bits;
                        break;
                case F_DOW:
                        c->dow = (uint32_t)bits;
                        c->dow_star = star;
                        break;
                }
        }
        /* A day of the month that no chosen month has ("30 2" = 30 February)
         * never comes when the days are ANDed (or only day-of-month counts). */
        if (c->dom_star || c->dow_star) {
                unsigned m, d, ok = 0;
                for (m = 1; m <= 12 && !ok; m++)
                        if (c->mon & (1u << m))
                                for (d = 1; d <= (m == 2 ? 29u : df__days_in_month(2001, m)); d++)
                                        if (c->dom & (1u << d))
                                                ok = 1;
                if (!ok) {
                        df__errf(errstr, errstr_size,
                                 "cron expression \"%s\" never fires: no month it names has the days of the month it "
                                 "names",
                                 df__quote(q, sizeof(q), expr));
                        return -1;
                }
        }
        return 0;
}

/* ---------------- matching wall-clock times ---------------- */

static int df__day_ok(const df__cron_t *c, int64_t days, unsigned d)
{
        unsigned dow = (unsigned)(((days % 7) + 11) % 7); /* 1970-01-01 was a Thursday (4) */
        int dom_ok = (c->dom >> d) & 1, dow_ok = (c->dow >> dow) & 1;
        return c->dom_star || c->dow_star ? dom_ok && dow_ok : dom_ok || dow_ok;
}

/* The first set bit >= from in bits[0..n), -1 if none. */
static int df__next_bit(uint64_t bits, int from, int n)
{
        int i;
        for (i = from; i < n; i++)
                if ((bits >> i) & 1)
                        return i;
        return -1;
}

/*
 * The first wall-clock second >= ws (seconds since 1970-01-01T00:00 of the
 * wall clock, as if it were UTC) that c matches, or -1 when none <= limit.
 */
static int64_t df__next_wall(const df__cron_t *c, int64_t ws, int64_t limit)
{
        int64_t days = df__floor_div(ws, 86400), y;
        int64_t sod = ws - days * 86400;
        int h = (int)(sod / 3600), mi = (int)(sod / 60 % 60), s = (int)(sod % 60);
        unsigned mo, d;

        df__civil_from_days(days, &y, &mo, &d);
        for (;;) {
                int nh, nm, ns;
                if (days * 86400 + h * 3600 + mi * 60 + s > limit)
                        return -1;
                if (!((c->mon >> mo) & 1)) {
                        if (++mo > 12) {
                                mo = 1;
                                y++;
                        }
                        d = 1;
                        days = df__days_from_civil(y, mo, 1);
                        h = mi = s = 0;
                        continue;
                }
                if (!df__day_ok(c, days, d))
                        goto next_day;
                nh = df__next_bit(c->hour, h, 24);
                if (nh < 0)
                        goto next_day;
                if (nh != h) {
                        h = nh;
                        mi = s = 0;
                }
                nm = df__next_bit(c->min, mi, 60);
                if (nm < 0) {
                        mi = s = 0;
                        if (++h == 24)
                                goto next_day;
                        continue;
                }
                if (nm != mi) {
                        mi = nm;
                        s = 0;
                }
                ns = df__next_bit(c->sec, s, 60);
                if (ns < 0) {
                        s = 0;
                        if (++mi == 60) {
                                mi = 0;
                                if (++h == 24)
                                        goto next_day;
                        }
                        continue;
                }
                {
                        int64_t w = days * 86400 + h * 3600 + mi * 60 + ns;
                        return w <= limit ? w : -1;
                }
next_day:
                days++;
                h = mi = s = 0;
                if (++d > df__days_in_month(y, mo)) {
                        d = 1;
                        if (++mo > 12) {
                                mo = 1;
                                y++;
                        }
                }
        }
}

/* ---------------- time zones ---------------- */

struct df__tz {
        GTimeZone *z; /* NULL: UTC */
};

/* "Area/City": components of A-Z a-z 0-9 _ + - separated by '/', each
 * starting with a letter (the tz database's own rule for names). */
static int df__tz_name_ok(const char *name)
{
        const char *s = name;
        int start = 1;
        if (strlen(name) > DF_TIMEZONE_MAX)
                return 0;
        for (; *s; s++) {
                char c = *s;
                if (c == '/') {
                        if (start)
                                return 0;
                        start = 1;
                        continue;
                }
                if (start && !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')))
                        return 0;
                if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
                      c == '+' || c == '-'))
                        return 0;
                start = 0;
        }
        return !start;
}

df__tz_t *df__tz_open(const char *name, char *errstr, size_t errstr_size)
{
        const char *dir = getenv("TZDIR");
        df__tz_t *tz;
        struct stat sb;
        char q[100], *path;
        int ok;

        if (!dir || !*dir)
                dir = "/usr/share/zoneinfo";
        tz = calloc(1, sizeof(*tz));
        if (!tz) {
                df__errf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        if (!name || !*name || !strcmp(name, "UTC"))
                return tz;
        /* a name of the database, not a POSIX TZ rule GLib would also take,
         * nor the host's own zone ("localtime": workers must agree) */
        if (!df__tz_name_ok(name) || !strcmp(name, "localtime")) {
                df__errf(errstr, errstr_size,
                         "time zone \"%s\" is not a name of the tz database: give an IANA name such as Europe/Berlin "
                         "or UTC (at most %d characters of A-Z a-z 0-9 _ + - /)",
                         df__quote(q, sizeof(q), name), DF_TIMEZONE_MAX);
                free(tz);
                return NULL;
        }
        path = df__asprintf("%s/%s", dir, name);
        ok = path && stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
        free(path);
        if (ok)
                tz->z = g_time_zone_new_identifier(name);
        if (!tz->z) {
                df__errf(errstr, errstr_size,
                         "unknown time zone \"%s\": not in the tz database (%s); give an IANA name such as "
                         "Europe/Berlin or UTC",
                         df__quote(q, sizeof(q), name), dir);
                free(tz);
                return NULL;
        }
        return tz;
}

void df__tz_close(df__tz_t *tz)
{
        if (!tz)
                return;
        if (tz->z)
                g_time_zone_unref(tz->z);
        free(tz);
}

static int df__tz_interval(const df__tz_t *tz, int64_t t)
{
        return g_time_zone_find_interval(tz->z, G_TIME_TYPE_UNIVERSAL, t);
}

int32_t df__tz_offset(const df__tz_t *tz, int64_t t)
{
        if (!tz->z)
                return 0;
        return g_time_zone_get_offset(tz->z, df__tz_interval(tz, t));
}

/* The first second in (t, limit] whose interval is not t's: the zone's next
 * transition; INT64_MAX when none up to limit.  Intervals are numbered in
 * time order, so a binary search finds the first change. */
static int64_t df__tz_next_transition(const df__tz_t *tz, int64_t t, int64_t limit)
{
        int64_t lo = t, hi, step = 3600;
        int i0;
        if (!tz->z)
                return INT64_MAX;
        i0 = df__tz_interval(tz, t);
        for (;;) {
                hi = lo + step > limit ? limit : lo + step;
                if (hi <= lo)
                        return INT64_MAX;
                if (df__tz_interval(tz, hi) != i0)
                        break;
                if (hi == limit)
                        return INT64_MAX;
                lo = hi;
                if (step < 64LL * 86400)
                        step *= 2;
        }
        while (hi - lo > 1) {
                int64_t mid = lo + (hi - lo) / 2;
                if (df__tz_interval(tz, mid) == i0)
                        lo = mid;
                else
                        hi = mid;
        }
        return hi;
}

/* The last transition in (t - 25 h, t], INT64_MIN if none. */
static int64_t df__tz_prev_transition(const df__tz_t *tz, int64_t t)
{
        int64_t lo = t - 25 * 3600, hi = t;
        int it;
        if (!tz->z || df__tz_interval(tz, lo) == (it = df__tz_interval(tz, t)))
                return INT64_MIN;
        /* interval(lo) != it == interval(hi): the first second of it's interval */
        while (hi - lo > 1) {
                int64_t mid = lo + (hi - lo) / 2;
                if (df__tz_interval(tz, mid) == it)
                        hi = mid;
                else
                        lo = mid;
        }
        return hi;
}

/* ---------------- next fire time ---------------- */

int df__cron_next(const df__cron_t *c, const df__tz_t *tz, int64_t after_s, int64_t *next_s)
{
        int64_t t = after_s + 1, horizon = after_s + DF__HORIZON_S;
        int64_t ceil = INT64_MIN; /* wall times below it already happened (after a fall back) */

        if (!c->wild) {
                /* t may lie in the second pass of a fall back */
                int64_t tp = df__tz_prev_transition(tz, t);
                if (tp != INT64_MIN) {
                        int32_t o1 = df__tz_offset(tz, tp - 1), o2 = df__tz_offset(tz, tp);
                        if (o2 < o1)
                                ceil = tp + o1;
                }
        }
        while (t <= horizon) {
                int32_t o = df__tz_offset(tz, t), o2;
                int64_t tr = df__tz_next_transition(tz, t, horizon);
                int64_t wend = tr == INT64_MAX ? horizon + o : tr + o - 1; /* last wall second of this interval */
                int64_t from = t + o, w;

                if (!c->wild && ceil > from)
                        from = ceil;
                if (from <= wend && (w = df__next_wall(c, from, wend)) >= 0) {
                        *next_s = w - o;
                        return 0;
                }
                if (tr == INT64_MAX)
                        break;
                o2 = df__tz_offset(tz, tr);
                if (o2 > o && df__next_wall(c, tr + o, tr + o2 - 1) >= 0) {
                        *next_s = tr; /* a skipped wall time: when the gap ends */
                        return 0;
                }
                if (o2 < o)
                        ceil = tr + o;
                t = tr;
        }
        return -1;
}

int df__cron_last(const df__cron_t *c, const df__tz_t *tz, int64_t not_before_s, int64_t at_s, int64_t *out_s)
{
        /* windows growing back from at_s: the first that holds a fire time
         * holds few, walked forward to the last */
        static const int64_t windows[] = {1, 60, 3600, 86400, 32LL * 86400, 366LL * 86400, 0};
        int i;
        if (at_s <= not_before_s)
                return -1;
        for (i = 0;; i++) {
                int64_t from = windows[i] && at_s - windows[i] > not_before_s ? at_s - windows[i] : not_before_s;
                int64_t cur, nx;
                if (df__cron_next(c, tz, from, &cur) == 0 && cur <= at_s) {
                        while (df__cron_next(c, tz, cur, &nx) == 0 && nx <= at_s)
                                cur = nx;
                        *out_s = cur;
                        return 0;
                }
                if (from == not_before_s)
                        return -1;
        }
}

/* ---------------- public ---------------- */

df_err_t df_cron_check(const char *cron, const char *timezone, char *errstr, size_t errstr_size)
{
        df__cron_t c;
        df__tz_t *tz;
        if (df__cron_parse(&c, cron, errstr, errstr_size))
                return DF_ERR_INVALID_ARG;
        tz = df__tz_open(timezone, errstr, errstr_size);
        if (!tz)
                return DF_ERR_INVALID_ARG;
        df__tz_close(tz);
        return DF_OK;
}

df_err_t df_cron_next(const char *cron, const char *timezone, int64_t after_ms, int64_t *next_ms, char *errstr,
                      size_t errstr_size)
{
        df__cron_t c;
        df__tz_t *tz;
        int64_t s;
        int rc;

        if (!next_ms || after_ms < 0 || after_ms > DF__CRON_AFTER_MAX_MS) {
                df__errf(errstr, errstr_size, "cron: after_ms %lld is out of range 0..%lld (or next_ms is NULL)",
                         (long long)after_ms, (long long)DF__CRON_AFTER_MAX_MS);
                return DF_ERR_INVALID_ARG;
        }
        if (df__cron_parse(&c, cron, errstr, errstr_size))
                return DF_ERR_INVALID_ARG;
        tz = df__tz_open(timezone, errstr, errstr_size);
        if (!tz)
                return DF_ERR_INVALID_ARG;
        rc = df__cron_next(&c, tz, df__floor_div(after_ms, 1000), &s);
        df__tz_close(tz);
        if (rc) {
                char q[300];
                df__errf(errstr, errstr_size, "cron expression \"%s\" does not fire in the 50 years after %lld ms",
                         df__quote(q, sizeof(q), cron), (long long)after_ms);
                return DF_ERR_NOT_FOUND;
        }
        *next_ms = s * 1000;
        return DF_OK;
}
