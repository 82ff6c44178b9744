/*
 * codec.h -- Avro single-object encoding of duraflow records (internal).
 *
 * Wire form (Avro specification, "Single-object encoding"):
 *   C3 01 | 8-byte little-endian CRC-64-AVRO fingerprint of the writer
 *   schema's Parsing Canonical Form | Avro binary body.
 *
 * The codec knows every schema in schemas/ (current and older versions);
 * a buffer written with an older known writer schema is resolved against
 * the current reader schema (Avro schema resolution), so records written by
 * an older duraflow still decode.
 *
 * Errors: every function returns 0 on success, or -1 and writes a message
 * naming what was wrong (bad marker, unknown fingerprint xx, truncated body,
 * invalid UTF-8 in field F, payload of N bytes over the limit of M, ...)
 * into errstr.  On failure the output record is left cleared (no leak).
 *
 * Thread safety: df__codec_init() must run once before any other call (it is
 * idempotent and thread-safe via pthread_once); after that every function is
 * safe to call from any thread.
 */
#ifndef DF_CODEC_H
#define DF_CODEC_H

#include "records.h"

int df__codec_init(char *errstr, size_t errstr_size);

/** Record type of an encoded buffer, DF__REC_UNKNOWN if not ours. */
df__rec_type_t df__codec_peek(const void *buf, size_t len);

/* Encoders: *out receives a malloc'd buffer owned by the caller
 * (free(out->data)).  Fail on a payload/input/result/output over
 * DF__PAYLOAD_MAX or a string that is not valid UTF-8. */
int df__event_encode(const df__event_t *ev, df__buf_t *out, char *errstr, size_t errstr_size);
int df__exec_encode(const df__exec_rec_t *rec, df__buf_t *out, char *errstr, size_t errstr_size);
int df__op_encode(const df__op_rec_t *rec, df__buf_t *out, char *errstr, size_t errstr_size);
int df__timer_encode(const df__timer_rec_t *rec, df__buf_t *out, char *errstr, size_t errstr_size);
int df__result_encode(const df__result_rec_t *rec, df__buf_t *out, char *errstr, size_t errstr_size);
int df__dlq_encode(const df__dlq_rec_t *rec, df__buf_t *out, char *errstr, size_t errstr_size);
int df__sched_encode(const df__sched_rec_t *rec, df__buf_t *out, char *errstr, size_t errstr_size);

/* Decoders: fill a zeroed/cleared *out; validate marker, fingerprint,
 * body length (no trailing bytes), UTF-8 of strings, enum ranges and
 * payload sizes. */
int df__event_decode(const void *buf, size_t len, df__event_t *out, char *errstr, size_t errstr_size);
int df__exec_decode(const void *buf, size_t len, df__exec_rec_t *out, char *errstr, size_t errstr_size);
int df__op_decode(const void *buf, size_t len, df__op_rec_t *out, char *errstr, size_t errstr_size);
int df__timer_decode(const void *buf, size_t len, df__timer_rec_t *out, char *errstr, size_t errstr_size);
int df__result_decode(const void *buf, size_t len, df__result_rec_t *out, char *errstr, size_t errstr_size);
int df__dlq_decode(const void *buf, size_t len, df__dlq_rec_t *out, char *errstr, size_t errstr_size);
int df__sched_decode(const void *buf, size_t len, df__sched_rec_t *out, char *errstr, size_t errstr_size);
/* Readers that show records rather than act on them (the console): as
 * above, but an int field out of its enum range (a status or type a newer
 * writer added) is kept as it is instead of failing the decode. */
int df__exec_decode_any(const void *buf, size_t len, df__exec_rec_t *out, char *errstr, size_t errstr_size);
int df__op_decode_any(const void *buf, size_t len, df__op_rec_t *out, char *errstr, size_t errstr_size);

/* Release what a record owns and zero it; NULL is a no-op. */
void df__event_clear(df__event_t *ev);
void df__exec_clear(df__exec_rec_t *rec);
void df__op_clear(df__op_rec_t *rec);
void df__timer_clear(df__timer_rec_t *rec);
void df__result_clear(df__result_rec_t *rec);
void df__dlq_clear(df__dlq_rec_t *rec);
void df__sched_clear(df__sched_rec_t *rec);

/* Deep copies (dst is overwritten, not cleared first); 0 or -1 on ENOMEM. */
int df__op_copy(df__op_rec_t *dst, const df__op_rec_t *src);
int df__exec_copy(df__exec_rec_t *dst, const df__exec_rec_t *src);
int df__sched_copy(df__sched_rec_t *dst, const df__sched_rec_t *src);

/* Text checks (utf8.c); buffer and string helpers: buf.h. */
/** 1 if s[0..len) is valid UTF-8 (no overlongs, no surrogates). */
int df__utf8_valid(const char *s, size_t len);
/** Offset of the first byte of s[0..len) that starts no valid UTF-8
 * sequence; len when s is valid. */
size_t df__utf8_invalid_at(const char *s, size_t len);
/**
 * A copy of the NUL-terminated text s (NULL = "") that is valid UTF-8 and at
 * most max bytes (at least 64) plus a marker: every byte that starts no valid
 * sequence becomes U+FFFD, and text beyond max is cut on a character
 * boundary with " [... N of M bytes cut]" appended.  For text a workflow
 * hands over (error messages, failure texts), recorded as safely as its bytes
 * allow.  malloc'd; NULL on ENOMEM.
 */
char *df__text_safe(const char *s, size_t max);

/** CRC-64-AVRO (Rabin) fingerprint of bytes, as in the Avro specification. */
uint64_t df__crc64_avro(const void *buf, size_t len);

#endif /* DF_CODEC_H */
