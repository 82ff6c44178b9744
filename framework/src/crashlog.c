/*
 * crashlog.c -- crash breadcrumbs in a MAP_SHARED file (see crashlog.h).
 *
 * File: a 64-byte header ("DFCRASH1", slot count, slot size) then the
 * slots.  A slot is written field by field and published by a release
 * store of its state word; the order of stores to a shared mapping is
 * what another process sees after this one died (no torn record can be
 * read as active).  Within a step the attempt is written before the op id,
 * so a death between the two reads as a death outside a step body, which
 * counts the crash without failing a step attempt that may not have run.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crashlog.h"
#include "internal.h"

#define DF__CL_MAGIC "DFCRASH1"
#define DF__CL_HDR 64

typedef struct df__cl_slot {
        uint32_t state; /* 1: active */
        uint32_t pad;
        df__crash_rec_t rec;
} df__cl_slot_t;

struct df__crashlog {
        unsigned char *map;
        size_t size;
        int nslots;
};

static df__cl_slot_t *df__cl_slot(df__crashlog_t *cl, int slot)
{
        if (!cl || slot < 0 || slot >= cl->nslots)
                return NULL;
        return (df__cl_slot_t *)(cl->map + DF__CL_HDR + (size_t)slot * sizeof(df__cl_slot_t));
}

/* The slots a process that died left active, read from the file as that
 * process laid it out (it may have run with another worker.threads). */
static int df__crashlog_read_old(int fd, off_t fsize, df__crash_rec_t **found, int *nfound)
{
        unsigned char hdr[DF__CL_HDR];
        uint32_t old, i;
        int n = 0;

        if (fsize < DF__CL_HDR || pread(fd, hdr, sizeof(hdr), 0) != (ssize_t)sizeof(hdr) ||
            memcmp(hdr, DF__CL_MAGIC, 8) || *(uint32_t *)(hdr + 12) != (uint32_t)sizeof(df__cl_slot_t))
                return 0; /* a file of another layout (or new) holds no breadcrumbs */
        old = *(uint32_t *)(hdr + 8);
        if (old > 4096 || fsize != (off_t)(DF__CL_HDR + (size_t)old * sizeof(df__cl_slot_t)))
                return 0;
        for (i = 0; i < old; i++) {
                df__cl_slot_t s;
                df__crash_rec_t *a;
                if (pread(fd, &s, sizeof(s), DF__CL_HDR + (off_t)i * (off_t)sizeof(s)) != (ssize_t)sizeof(s))
                        break;
                if (s.state != 1)
                        continue;
                a = realloc(*found, (size_t)(n + 1) * sizeof(*a));
                if (!a)
                        break;
                *found = a;
                a[n] = s.rec;
                a[n].execution_id[sizeof(s.rec.execution_id) - 1] = '\0';
                a[n].op_id[sizeof(s.rec.op_id) - 1] = '\0';
                n++;
        }
        *nfound = n;
        return n;
}

df__crashlog_t *df__crashlog_open(const char *path, int nslots, df__crash_rec_t **found, int *nfound, char *errstr,
                                  size_t errstr_size)
{
        df__crashlog_t *cl;
        size_t size = DF__CL_HDR + (size_t)nslots * sizeof(df__cl_slot_t);
        struct stat sb;
        int fd;

        *found = NULL;
        *nfound = 0;
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0) {
                df__errf(errstr, errstr_size, "crash log %s: %s", path, strerror(errno));
                return NULL;
        }
        if (fstat(fd, &sb)) {
                df__errf(errstr, errstr_size, "crash log %s: %s", path, strerror(errno));
                close(fd);
                return NULL;
        }
        df__crashlog_read_old(fd, sb.st_size, found, nfound);
        if (sb.st_size != (off_t)size && ftruncate(fd, (off_t)size)) {
                df__errf(errstr, errstr_size, "crash log %s: %s", path, strerror(errno));
                close(fd);
                free(*found);
                *found = NULL;
                *nfound = 0;
                return NULL;
        }
        cl = calloc(1, sizeof(*cl));
        if (!cl) {
                close(fd);
                df__errf(errstr, errstr_size, "out of memory");
                free(*found);
                *found = NULL;
                *nfound = 0;
                return NULL;
        }
        cl->map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        close(fd);
        if (cl->map == MAP_FAILED) {
                df__errf(errstr, errstr_size, "crash log %s: mmap: %s", path, strerror(errno));
                free(cl);
                free(*found);
                *found = NULL;
                *nfound = 0;
                return NULL;
        }
        cl->size = size;
        cl->nslots = nslots;
        memset(cl->map, 0, size);
        memcpy(cl->map, DF__CL_MAGIC, 8);
        *(uint32_t *)(cl->map + 8) = (uint32_t)nslots;
        *(uint32_t *)(cl->map + 12) = (uint32_t)sizeof(df__cl_slot_t);
        return cl;
}

void df__crashlog_enter(df__crashlog_t *cl, int slot, const char *execution_id, int partition)
{
        df__cl_slot_t *s = df__cl_slot(cl, slot);
        if (!s)
                return;
        __atomic_store_n(&s->state, 0, __ATOMIC_RELEASE);
        snprintf(s->rec.execution_id, sizeof(s->rec.execution_id), "%s", execution_id);
        s->rec.op_id[0] = '\0';
        s->rec.attempt = 0;
        s->rec.partition = partition;
        s->rec.ts_ms = df__now_ms();
        __atomic_store_n(&s->state, 1, __ATOMIC_RELEASE);
}

void df__crashlog_step(df__crashlog_t *cl, int slot, const char *op_id, int attempt)
{
        df__cl_slot_t *s = df__cl_slot(cl, slot);
        if (!s)
                return;
        if (!op_id) {
                __atomic_store_n(&s->rec.op_id[0], '\0', __ATOMIC_RELEASE);
                return;
        }
        s->rec.op_id[0] = '\0';
        __atomic_store_n(&s->rec.attempt, attempt, __ATOMIC_RELEASE);
        snprintf(s->rec.op_id + 1, sizeof(s->rec.op_id) - 1, "%s", op_id + (op_id[0] ? 1 : 0));
        __atomic_store_n(&s->rec.op_id[0], op_id[0], __ATOMIC_RELEASE);
}

void df__crashlog_leave(df__crashlog_t *cl, int slot)
{
        df__cl_slot_t *s = df__cl_slot(cl, slot);
        if (s)
                __atomic_store_n(&s->state, 0, __ATOMIC_RELEASE);
}

void df__crashlog_close(df__crashlog_t *cl)
{
        if (!cl)
                return;
        munmap(cl->map, cl->size);
        free(cl);
}
