/*
 * util.c -- the error table (df_strerror ...), the clocks and random bytes
 * (os.h).  The hash map is in map.c, buffers and string helpers in buf.c,
 * the execution state and the names of statuses and operation types in
 * state.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "duraflow/error.h"
#include "os.h"

/* ---------------- errors ---------------- */

static const struct {
        const char *name;
        int retriable;
        const char *text;
} df__errtab[] = {
#define DF__ERR_ROW(name, retriable, text) {"DF_ERR_" #name, retriable, text},
        DF_ERRORS(DF__ERR_ROW)
#undef DF__ERR_ROW
};

const char *df_strerror(df_err_t err)
{
        if ((int)err < 0 || err >= DF_ERR__COUNT)
                return "unknown error";
        return df__errtab[err].text;
}

const char *df_err_name(df_err_t err)
{
        if ((int)err < 0 || err >= DF_ERR__COUNT)
                return "DF_ERR_UNKNOWN";
        return df__errtab[err].name;
}

int df_err_is_retriable(df_err_t err)
{
        if ((int)err < 0 || err >= DF_ERR__COUNT)
                return 0;
        return df__errtab[err].retriable;
}

/* ---------------- time ---------------- */

int64_t df__now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t df__mono_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t df__mono_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---------------- random bytes ---------------- */

int df__random_bytes(void *buf, size_t n)
{
        size_t got = 0;

        while (got < n) {
                ssize_t r = getrandom((char *)buf + got, n - got, 0);
                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        return -1;
                }
                got += (size_t)r;
        }
        return 0;
}
