/*
 * crc64.c -- CRC-64-AVRO, the Rabin fingerprint of the Avro specification
 * ("Schema Fingerprints"): EMPTY = 0xc15d213aa4d7a795, the 256-entry table
 * built from it, then fp = (fp >> 8) ^ table[(fp ^ b) & 0xff] per byte.
 * Test vectors (Avro share/test/data/schema-tests.txt): "int" gives
 * 0x7275d51a3f395c8f, "string" gives 0x8f014872634503c7.
 */
#include <pthread.h>

#include "codec.h"

#define CRC64_AVRO_EMPTY UINT64_C(0xc15d213aa4d7a795)

static uint64_t crc64_table[256];
static pthread_once_t crc64_once = PTHREAD_ONCE_INIT;

static void crc64_init_table(void)
{
        for (unsigned i = 0; i < 256; i++) {
                uint64_t fp = i;
                for (int j = 0; j < 8; j++)
                        fp = (fp >> 1) ^ (CRC64_AVRO_EMPTY & (0 - (fp & 1)));
                crc64_table[i] = fp;
        }
}

uint64_t df__crc64_avro(const void *buf, size_t len)
{
        const uint8_t *p = buf;
        uint64_t fp = CRC64_AVRO_EMPTY;

        pthread_once(&crc64_once, crc64_init_table);
        for (size_t i = 0; i < len; i++)
                fp = (fp >> 8) ^ crc64_table[(fp ^ p[i]) & 0xff];
        return fp;
}
