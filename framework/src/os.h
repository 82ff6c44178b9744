/*
 * os.h -- what the framework asks of the operating system: its clocks and
 * random bytes (util.c; internal).
 */
#ifndef DF_OS_H
#define DF_OS_H

#include <stddef.h>
#include <stdint.h>

int64_t df__now_ms(void);  /* wall clock, UTC ms since the epoch */
int64_t df__mono_ms(void); /* monotonic clock, ms */
int64_t df__mono_ns(void); /* monotonic clock, ns */

/** Fill buf with n random bytes (getrandom); 0 or -1. */
int df__random_bytes(void *buf, size_t n);

#endif /* DF_OS_H */
