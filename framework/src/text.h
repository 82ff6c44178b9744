/* text.h -- values quoted into messages, and the checks of text arguments (internal). */
#ifndef DF_TEXT_H
#define DF_TEXT_H

#include <stddef.h>

#include "duraflow/runtime.h"

/** s escaped as df_text_escape() does, into buf (NUL terminated); cut at a
 * character boundary with "..." when longer than fits.  Returns buf. */
const char *df__quote(char *buf, size_t size, const char *s);

/** df_text_check with "<what>: " before its message. */
df_err_t df__text_check(const char *what, const char *field, const char *s, size_t max, char *errstr,
                        size_t errstr_size);

/** DF_OK when s is 1..max bytes of valid UTF-8 with no control character
 * (C0, DEL, C1, bidi controls, U+2028/U+2029); otherwise DF_ERR_INVALID_ARG
 * with "<field> ..." naming the rule (s quoted escaped).  The check of
 * workflow names and timer ids. */
df_err_t df__printable_check(const char *field, const char *s, size_t max, char *errstr, size_t errstr_size);

/** DF_OK when name is a Kafka topic name: 1..DF_TOPIC_NAME_MAX characters
 * of A-Z a-z 0-9 . _ -, not "." or ".."; otherwise DF_ERR_INVALID_ARG with
 * "<field> ..." naming the rule. */
df_err_t df__topic_name_check(const char *field, const char *name, char *errstr, size_t errstr_size);

#endif
