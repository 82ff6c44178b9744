/*
 * duraflow/conf.h -- configuration object.
 *
 * Properties are strings, validated by df_conf_set(); the table of all
 * properties, their defaults and meaning is df_conf_properties() (the source
 * of the README's configuration reference, printed by `duraflow config`).
 * Any property starting with "kafka." is passed, without the prefix, to
 * librdkafka (e.g. "kafka.security.protocol").
 *
 * Ownership: df_conf_new() returns a conf with every default set; the
 * constructors of df_worker_t, df_timer_service_t and df_client_t copy the
 * conf (the caller keeps and destroys its own).  Not thread-safe: configure
 * from one thread, then hand it over.
 */
#ifndef DURAFLOW_CONF_H
#define DURAFLOW_CONF_H

#include <stddef.h>

#include "duraflow/error.h"

#include "duraflow/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct df_conf df_conf_t;

/** One configuration property, for documentation. */
typedef struct df_conf_prop {
        const char *name;
        const char *default_value; /* "" when empty by default */
        const char *description;   /* with its unit */
} df_conf_prop_t;

DF_EXPORT df_conf_t *df_conf_new(void);
DF_EXPORT df_conf_t *df_conf_dup(const df_conf_t *conf);
DF_EXPORT void df_conf_destroy(df_conf_t *conf); /* NULL is a no-op */

/**
 * Set property name to value.  Returns DF_OK, or DF_ERR_CONF with a message
 * naming the property and what was wrong in errstr (unknown property, not a
 * number, out of range).
 */
DF_EXPORT df_err_t df_conf_set(df_conf_t *conf, const char *name, const char *value, char *errstr, size_t errstr_size);

/** "name=value" form of df_conf_set (the CLI's --set / -X). */
DF_EXPORT df_err_t df_conf_set_pair(df_conf_t *conf, const char *pair, char *errstr, size_t errstr_size);

/** Value of a property, or NULL if unknown.  Owned by conf, valid until the
 * next df_conf_set of that name or df_conf_destroy. */
DF_EXPORT const char *df_conf_get(const df_conf_t *conf, const char *name);

/**
 * Check what can be checked without a broker: every kafka.* property is one
 * librdkafka accepts.  DF_OK, or DF_ERR_CONF with a message naming the
 * property in errstr.  Programs call it first so that a mistyped property
 * is a configuration error, not a broker that seems away.
 */
DF_EXPORT df_err_t df_conf_check(const df_conf_t *conf, char *errstr, size_t errstr_size);

/** The librdkafka property names a "kafka.*" property may not set (what
 * exactly-once rests on, or what a duraflow property sets), NULL-terminated.
 * Static. */
DF_EXPORT const char *const *df_conf_kafka_reserved(void);

/** The property table, terminated by an entry with name NULL.  Static. */
DF_EXPORT const df_conf_prop_t *df_conf_properties(void);

#ifdef __cplusplus
}
#endif
#endif /* DURAFLOW_CONF_H */
