/*
 * buf.c -- owned byte buffers and small string helpers (buf.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

char *df__strdup0(const char *s)
{
        return strdup(s ? s : "");
}

int df__buf_set(df__buf_t *b, const void *data, size_t len)
{
        uint8_t *p = NULL;

        if (!b || (len > 0 && !data))
                return -1;
        if (len > 0) {
                p = malloc(len);
                if (!p)
                        return -1;
                memcpy(p, data, len);
        }
        free(b->data);
        b->data = p;
        b->len = len;
        return 0;
}

void df__buf_clear(df__buf_t *b)
{
        if (!b)
                return;
        free(b->data);
        b->data = NULL;
        b->len = 0;
}

void df__errf(char *errstr, size_t errstr_size, const char *fmt, ...)
{
        va_list ap;

        if (!errstr || !errstr_size)
                return;
        va_start(ap, fmt);
        vsnprintf(errstr, errstr_size, fmt, ap);
        va_end(ap);
}

char *df__asprintf(const char *fmt, ...)
{
        va_list ap;
        char *s = NULL;
        int n;

        va_start(ap, fmt);
        n = vasprintf(&s, fmt, ap);
        va_end(ap);
        return n < 0 ? NULL : s;
}
