/*
 * buf.h -- owned byte buffers and small string helpers (buf.c; internal).
 */
#ifndef DF_BUF_H
#define DF_BUF_H

#include <stddef.h>
#include <stdint.h>

/** Owned byte buffer; data may be NULL when len is 0. */
typedef struct df__buf {
        uint8_t *data;
        size_t len;
} df__buf_t;

/** Replace b's bytes by a copy of data[0..len); 0, or -1 (ENOMEM, b NULL,
 * data NULL with len > 0: b unchanged). */
int df__buf_set(df__buf_t *b, const void *data, size_t len);
/** Free b's bytes and empty it; NULL is a no-op. */
void df__buf_clear(df__buf_t *b);

/** strdup that maps NULL to ""; returns NULL only on ENOMEM. */
char *df__strdup0(const char *s);
/** snprintf into errstr when errstr is not NULL. */
void df__errf(char *errstr, size_t errstr_size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/** malloc'd printf; NULL on ENOMEM. */
char *df__asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* DF_BUF_H */
