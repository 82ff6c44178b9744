/*
 * utf8.c -- strict UTF-8 validation (RFC 3629 / Unicode table 3-7): no
 * overlong forms, no UTF-16 surrogates (U+D800..U+DFFF), nothing above
 * U+10FFFF, no truncated sequences.  U+0000 is valid UTF-8; the codec
 * rejects it in string fields separately (records use C strings).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

/* Length (1..4) of the valid UTF-8 sequence at p[0..len), 0 if invalid. */
static size_t df__utf8_seq(const unsigned char *p, size_t len)
{
        unsigned c = p[0];
        unsigned lo = 0x80, hi = 0xBF; /* range of the 2nd byte */
        size_t n, k;

        if (c < 0x80)
                return 1;
        if (c >= 0xC2 && c <= 0xDF) {
                n = 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
                n = 3;
                if (c == 0xE0)
                        lo = 0xA0; /* overlong below U+0800 */
                else if (c == 0xED)
                        hi = 0x9F; /* surrogates U+D800..U+DFFF */
        } else if (c >= 0xF0 && c <= 0xF4) {
                n = 4;
                if (c == 0xF0)
                        lo = 0x90; /* overlong below U+10000 */
                else if (c == 0xF4)
                        hi = 0x8F; /* above U+10FFFF */
        } else {
                return 0; /* continuation byte, C0/C1 overlong, F5..FF */
        }
        if (len < n || p[1] < lo || p[1] > hi)
                return 0;
        for (k = 2; k < n; k++)
                if (p[k] < 0x80 || p[k] > 0xBF)
                        return 0;
        return n;
}

int df__utf8_valid(const char *s, size_t len)
{
        const unsigned char *p = (const unsigned char *)s;
        size_t i = 0, n;

        if (len > 0 && s == NULL)
                return 0;
        while (i < len) {
                if (!(n = df__utf8_seq(p + i, len - i)))
                        return 0;
                i += n;
        }
        return 1;
}

size_t df__utf8_invalid_at(const char *s, size_t len)
{
        const unsigned char *p = (const unsigned char *)s;
        size_t i = 0, n;

        while (i < len) {
                if (!(n = df__utf8_seq(p + i, len - i)))
                        return i;
                i += n;
        }
        return len;
}

/* U+FFFD REPLACEMENT CHARACTER */
#define DF__REPL "\xEF\xBF\xBD"

char *df__text_safe(const char *s, size_t max)
{
        const unsigned char *p = (const unsigned char *)(s ? s : "");
        size_t len = strlen((const char *)p), i = 0, o = 0, n, cut;
        char marker[96];
        char *out;

        if (max < 64)
                max = 64;
        /* Worst case every byte becomes U+FFFD (3 bytes); output is cut at max. */
        out = malloc((len * 3 < max ? len * 3 : max) + sizeof(marker) + 1);
        if (!out)
                return NULL;
        while (i < len) {
                const unsigned char *src = p + i;
                n = df__utf8_seq(src, len - i);
                if (!n) {
                        src = (const unsigned char *)DF__REPL;
                        n = 3;
                }
                if (o + n > max)
                        break;
                memcpy(out + o, src, n);
                o += n;
                i += src == p + i ? n : 1;
        }
        if (i < len) {
                cut = len - i;
                snprintf(marker, sizeof(marker), " [... %zu of %zu bytes cut]", cut, len);
                memcpy(out + o, marker, strlen(marker));
                o += strlen(marker);
        }
        out[o] = '\0';
        return out;
}
