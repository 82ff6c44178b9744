/*
 * cron.h -- cron expressions and their next fire time in a time zone
 * (internal; the public face is df_cron_check / df_cron_next in runtime.h).
 *
 * Expressions: 5 fields "minute hour day-of-month month day-of-week" as
 * Vixie cron, or 6 with a leading seconds field (as Quartz and Spring);
 * each field a list of "*", "N", "A-B", with an optional "/STEP" ("N/STEP"
 * means N-max/STEP); month names jan..dec and day names sun..sat (any case);
 * day-of-week 0..7 (0 and 7 are Sunday); @yearly @annually @monthly @weekly
 * @daily @midnight @hourly.  Day-of-month and day-of-week follow Vixie
 * cron's rule: when both are restricted (neither field starts with "*") a
 * day matches either; otherwise both.
 *
 * Time zones: names of the system's tz database (IANA "Area/City", "UTC"),
 * read through GLib's GTimeZone (see cron.c for why not ICU).
 *
 * Daylight saving (cron.c says how): a wall time the clocks skip fires once
 * at the instant the gap ends; a wall time that happens twice fires at its
 * first occurrence, except for expressions whose second, minute or hour
 * field starts with "*" (Vixie cron's "wildcard" jobs), which fire at every
 * instant whose wall time matches, in both passes.
 *
 * Thread safety: a parsed df__cron_t and an open df__tz_t are read-only and
 * may be shared between threads.
 */
#ifndef DF_CRON_H
#define DF_CRON_H

#include <stddef.h>
#include <stdint.h>

typedef struct df__cron {
        uint64_t sec, min;  /* bit n: second / minute n (0..59) */
        uint32_t hour;      /* bits 0..23 */
        uint32_t dom;       /* bits 1..31 */
        uint32_t mon;       /* bits 1..12 */
        uint32_t dow;       /* bits 0..6, Sunday = 0 */
        int dom_star, dow_star; /* the field starts with '*' (Vixie's DOM_STAR / DOW_STAR) */
        int wild;           /* the second, minute or hour field starts with '*' */
} df__cron_t;

/** Parse expr into *c.  0, or -1 with errstr naming the field, its position
 * (1-based byte offset in expr) and the rule broken. */
int df__cron_parse(df__cron_t *c, const char *expr, char *errstr, size_t errstr_size);

typedef struct df__tz df__tz_t;

/** Open the zone name ("" or NULL: UTC).  NULL with errstr set when name is
 * not a zone of the tz database (or out of memory). */
df__tz_t *df__tz_open(const char *name, char *errstr, size_t errstr_size);
void df__tz_close(df__tz_t *tz);
/** UTC offset of zone at UTC second t, seconds east of Greenwich. */
int32_t df__tz_offset(const df__tz_t *tz, int64_t t);

/** The first second after after_s (UTC seconds since the epoch, >= 0) at
 * which c fires in tz; 0 with *next_s set, or -1 when none within 50 years. */
int df__cron_next(const df__cron_t *c, const df__tz_t *tz, int64_t after_s, int64_t *next_s);

/** The latest fire time <= at_s, and later than not_before_s; 0 with *out_s
 * set, or -1 when there is none in (not_before_s, at_s]. */
int df__cron_last(const df__cron_t *c, const df__tz_t *tz, int64_t not_before_s, int64_t at_s, int64_t *out_s);

#endif /* DF_CRON_H */
