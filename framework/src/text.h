/* text.h -- values quoted into messages, and the checks of text arguments (internal). */
#ifndef DF_TEXT_H
#define DF_TEXT_H

#include <stddef.h>

#include "duraflow/duraflow.h"

/** s escaped as df_text_escape() does, into buf (NUL terminated); cut at a
 * character boundary with "..." when longer than fits.  Returns buf. */
const char *df__quote(char *buf, size_t size, const char *s);

/** df_text_check with "<what>: " before its message. */
df_err_t df__text_check(const char *what, const char *field, const char *s, size_t max, char *errstr,
                        size_t errstr_size);

#endif
