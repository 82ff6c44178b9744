/*
 * store.c -- the local RocksDB store (see store.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "store.h"

int df__store_open(df__store_t *s, const char *path, const df__store_opts_t *o, const char *who, char *errstr,
                   size_t errstr_size)
{
        char dir[1024], *slash, *err = NULL;

        memset(s, 0, sizeof(*s));
        snprintf(s->path, sizeof(s->path), "%s", path);
        snprintf(s->who, sizeof(s->who), "%s", who);
        s->min_free = o->min_free_bytes;
        snprintf(dir, sizeof(dir), "%s", path);
        if ((slash = strrchr(dir, '/')) && slash != dir) {
                *slash = '\0';
                mkdir(dir, 0755);
        }
        s->opts = rocksdb_options_create();
        rocksdb_options_set_create_if_missing(s->opts, 1);
        rocksdb_options_set_compression(s->opts, rocksdb_lz4_compression);
        if (o->write_buffer_size)
                rocksdb_options_set_write_buffer_size(s->opts, o->write_buffer_size);
        s->wo = rocksdb_writeoptions_create();
        rocksdb_writeoptions_disable_WAL(s->wo, !o->wal);
        s->ro = rocksdb_readoptions_create();
        s->db = rocksdb_open(s->opts, path, &err);
        if (err) {
                df__errf(errstr, errstr_size, "RocksDB open %s: %s", path, err);
                free(err);
                s->db = NULL;
                return -1;
        }
        return 0;
}

void df__store_close(df__store_t *s)
{
        if (s->db)
                rocksdb_close(s->db);
        if (s->opts)
                rocksdb_options_destroy(s->opts);
        if (s->wo)
                rocksdb_writeoptions_destroy(s->wo);
        if (s->ro)
                rocksdb_readoptions_destroy(s->ro);
        memset(s, 0, sizeof(*s));
}

int df__store_reopen(df__store_t *s)
{
        char *err = NULL;
        if (s->db)
                rocksdb_close(s->db);
        s->db = rocksdb_open(s->opts, s->path, &err);
        if (err) {
                df__log(DF__LOG_ERROR, "RocksDB reopen %s: %s", s->path, err);
                free(err);
                s->db = NULL;
                return -1;
        }
        return 0;
}

int df__store_disk_low(df__store_t *s)
{
        struct statvfs sv;
        int64_t avail;
        if (statvfs(s->path, &sv)) {
                s->free_bytes = -1;
                return 0;
        }
        avail = (int64_t)sv.f_bavail * (int64_t)sv.f_frsize;
        s->free_bytes = avail;
        if (s->min_free <= 0)
                return 0;
        if (avail < s->min_free) {
                if (!s->disk_low)
                        df__log(DF__LOG_ERROR, "%s: unhealthy: %lld bytes free under %s, less than "
                                               "state.min.free.bytes (%lld): processing nothing until there is room",
                                s->who, (long long)avail, s->path, (long long)s->min_free);
                s->disk_low = 1;
                return 1;
        }
        if (s->disk_low)
                df__log(DF__LOG_INFO, "%s: %lld bytes free again; healthy", s->who, (long long)avail);
        s->disk_low = 0;
        return 0;
}

int df__store_write(df__store_t *s, rocksdb_writebatch_t *wb, const char *what)
{
        char *err = NULL;
        if (!s->db) {
                df__log(DF__LOG_ERROR, "RocksDB %s (%s): the store is not open", what, s->path);
                return -1;
        }
        rocksdb_write(s->db, s->wo, wb, &err);
        if (err) {
                df__log(DF__LOG_ERROR, "RocksDB %s (%s): %s", what, s->path, err);
                free(err);
                return -1;
        }
        return 0;
}

int df__store_get(df__store_t *s, const char *key, size_t klen, df__buf_t *val, int *found)
{
        char *err = NULL, *v;
        size_t len;

        *found = 0;
        if (!s->db)
                return -1;
        v = rocksdb_get(s->db, s->ro, key, klen, &len, &err);
        if (err) {
                df__log(DF__LOG_ERROR, "RocksDB get %.*s: %s", (int)(klen > 200 ? 200 : klen), key, err);
                free(err);
                return -1;
        }
        *found = v != NULL;
        if (v) {
                val->data = (uint8_t *)v;
                val->len = len;
        }
        return 0;
}

/* ---------------- the worker's partitions ---------------- */

size_t df__store_pkey(char *buf, size_t size, int part, const char *key, size_t klen)
{
        int n = snprintf(buf, size, "s%04d:%.*s", part, (int)klen, key);
        return n < 0 ? 0 : (size_t)n >= size ? size - 1 : (size_t)n;
}

static void df__ckpt_key(char *buf, size_t size, int part)
{
        snprintf(buf, size, "m:cl:%04d", part);
}

static uint64_t df__keyhash(const void *key, size_t len)
{
        const unsigned char *p = key;
        uint64_t h = 1469598103934665603ULL;
        size_t i;
        for (i = 0; i < len; i++) {
                h ^= p[i];
                h *= 1099511628211ULL;
        }
        return h;
}

void df__ckpt_of(df__ckpt_t *c, const rd_kafka_message_t *m)
{
        rd_kafka_timestamp_type_t tt;
        c->next = m->offset + 1;
        c->ts = rd_kafka_message_timestamp(m, &tt);
        c->keyh = df__keyhash(m->key, m->key_len);
}

df__ckpt_t df__store_ckpt(df__store_t *s, int part)
{
        char key[32];
        df__buf_t v = {0};
        df__ckpt_t c = {0, 0, 0};
        int found;

        df__ckpt_key(key, sizeof(key), part);
        if (df__store_get(s, key, strlen(key), &v, &found) || !found)
                return c;
        if (v.len == sizeof(c))
                memcpy(&c, v.data, sizeof(c));
        free(v.data);
        return c;
}

void df__store_wb_ckpt(rocksdb_writebatch_t *wb, int part, const df__ckpt_t *c)
{
        char key[32];
        df__ckpt_key(key, sizeof(key), part);
        rocksdb_writebatch_put(wb, key, strlen(key), (const char *)c, sizeof(*c));
}

int df__store_wipe_partition(df__store_t *s, int part)
{
        char lo[16], hi[16];
        df__ckpt_t zero = {0, 0, 0};
        rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
        int rc;
        snprintf(lo, sizeof(lo), "s%04d:", part);
        snprintf(hi, sizeof(hi), "s%04d;", part); /* ';' follows ':' */
        rocksdb_writebatch_delete_range(wb, lo, strlen(lo), hi, strlen(hi));
        snprintf(lo, sizeof(lo), "r%04d:", part);
        snprintf(hi, sizeof(hi), "r%04d;", part);
        rocksdb_writebatch_delete_range(wb, lo, strlen(lo), hi, strlen(hi));
        df__store_wb_ckpt(wb, part, &zero);
        rc = df__store_write(s, wb, "wipe of a partition");
        rocksdb_writebatch_destroy(wb);
        return rc;
}

size_t df__store_rkey_bound(char *buf, size_t size, int part, int64_t end_ms)
{
        char head[24];
        int h = snprintf(head, sizeof(head), "r%04d:", part);
        if (h < 0 || size < (size_t)h + 8)
                return 0;
        memcpy(buf, head, (size_t)h);
        df__store_be64((unsigned char *)buf + h, (uint64_t)end_ms ^ (1ULL << 63));
        return (size_t)h + 8;
}

size_t df__store_rkey(char *buf, size_t size, int part, int64_t end_ms, const char *id, size_t idlen)
{
        size_t n = df__store_rkey_bound(buf, size, part, end_ms);
        if (!n)
                return 0;
        if (idlen > size - n)
                idlen = size - n;
        memcpy(buf + n, id, idlen);
        return n + idlen;
}

void df__store_wb_rkey(rocksdb_writebatch_t *wb, int part, int64_t end_ms, const char *id, size_t idlen)
{
        char k[512];
        size_t kl = df__store_rkey(k, sizeof(k), part, end_ms, id, idlen);
        if (kl)
                rocksdb_writebatch_put(wb, k, kl, "", 0);
}

/* ---------------- the timer service's index ---------------- */

void df__store_be64(unsigned char *b, uint64_t v)
{
        int i;
        for (i = 7; i >= 0; i--) {
                b[i] = (unsigned char)(v & 0xff);
                v >>= 8;
        }
}

uint64_t df__store_rd_be64(const unsigned char *b)
{
        uint64_t v = 0;
        int i;
        for (i = 0; i < 8; i++)
                v = (v << 8) | b[i];
        return v;
}

size_t df__store_due_key(char *buf, size_t size, int64_t due, const char *id, size_t idlen)
{
        if (idlen + 9 > size)
                idlen = size - 9;
        buf[0] = 'd';
        df__store_be64((unsigned char *)buf + 1, (uint64_t)due ^ (1ULL << 63));
        memcpy(buf + 9, id, idlen);
        return idlen + 9;
}

size_t df__store_id_key(char *buf, size_t size, const char *id, size_t idlen)
{
        if (idlen + 1 > size)
                idlen = size - 1;
        buf[0] = 'i';
        memcpy(buf + 1, id, idlen);
        return idlen + 1;
}

int64_t df__store_due_of(const char *key)
{
        return (int64_t)(df__store_rd_be64((const unsigned char *)key + 1) ^ (1ULL << 63));
}
