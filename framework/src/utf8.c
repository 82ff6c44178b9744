/*
 * utf8.c -- strict UTF-8 validation (RFC 3629 / Unicode table 3-7): no
 * overlong forms, no UTF-16 surrogates (U+D800..U+DFFF), nothing above
 * U+10FFFF, no truncated sequences.  U+0000 is valid UTF-8; the codec
 * rejects it in string fields separately (records use C strings).
 */
#include "codec.h"

int df__utf8_valid(const char *s, size_t len)
{
        const unsigned char *p = (const unsigned char *)s;
        size_t i = 0;

        if (len > 0 && s == NULL)
                return 0;
        while (i < len) {
                unsigned c = p[i];
                if (c < 0x80) {
                        i++;
                        continue;
                }
                size_t n;
                unsigned lo = 0x80, hi = 0xBF; /* range of the 2nd byte */
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
                if (len - i < n)
                        return 0;
                if (p[i + 1] < lo || p[i + 1] > hi)
                        return 0;
                for (size_t k = 2; k < n; k++)
                        if (p[i + k] < 0x80 || p[i + k] > 0xBF)
                                return 0;
                i += n;
        }
        return 1;
}
