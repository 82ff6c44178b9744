/*
 * cli_client -- the control client's opening (df_client_open) in embedded
 * mode, and a helper of test_cli.py.
 *
 *   cli_client embedded                        the checks below, no broker
 *   cli_client delete-topics BROKERS PREFIX    delete PREFIX.* (test clean-up)
 *
 * Exit 0 when every check passed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "duraflow/duraflow.h"
#include "fault_common.h"

static int failed;

#define CHECK(cond, ...)                                                                                            \
        do {                                                                                                        \
                if (cond) {                                                                                         \
                        printf("ok     ");                                                                          \
                } else {                                                                                            \
                        printf("NOT OK ");                                                                          \
                        failed++;                                                                                   \
                }                                                                                                   \
                printf(__VA_ARGS__);                                                                                \
                printf("\n");                                                                                       \
        } while (0)

static df_conf_t *conf_with(const char *prefix, const char *extra)
{
        char e[256];
        df_conf_t *c = df_conf_new();
        if (!c || df_conf_set(c, "brokers", "", e, sizeof(e)) || df_conf_set(c, "topic.prefix", prefix, e, sizeof(e)) ||
            df_conf_set(c, "log.level", "warn", e, sizeof(e)) || (extra && df_conf_set_pair(c, extra, e, sizeof(e)))) {
                fprintf(stderr, "conf: %s\n", e);
                exit(2);
        }
        return c;
}

static int embedded(void)
{
        char e[512];
        df_client_t *c = (df_client_t *)&e; /* must come back NULL */
        df_conf_t *conf = conf_with("cliemb", NULL), *bad = conf_with("cliemb", "kafka.no.such.prop=1");
        char *json = NULL;
        df_err_t rc;

        rc = df_client_open(NULL, 0, &c, e, sizeof(e));
        CHECK(rc == DF_ERR_INVALID_ARG && !c, "NULL conf: %s (%s)", df_err_name(rc), e);
        rc = df_client_open(conf, 0x80, &c, e, sizeof(e));
        CHECK(rc == DF_ERR_INVALID_ARG && !c && strstr(e, "0x80"), "unknown flag: %s (%s)", df_err_name(rc), e);

        rc = df_client_open(conf, DF_CLIENT_NO_CREATE_TOPICS, &c, e, sizeof(e));
        CHECK(rc == DF_ERR_NOT_FOUND && !c &&
                      !strcmp(e, "no duraflow topics with prefix \"cliemb\" on the embedded cluster"),
              "no topics, DF_CLIENT_NO_CREATE_TOPICS: %s (%s)", df_err_name(rc), e);
        rc = df_client_open(conf, DF_CLIENT_NO_CREATE_TOPICS, &c, e, sizeof(e));
        CHECK(rc == DF_ERR_NOT_FOUND, "... and it created none: %s", df_err_name(rc));

        rc = df_client_open(bad, DF_CLIENT_NO_CREATE_TOPICS, &c, e, sizeof(e));
        CHECK(rc == DF_ERR_CONF && !c && strstr(e, "no.such.prop"), "mistyped kafka.* property: %s (%s)",
              df_err_name(rc), e);
        rc = df_client_open(bad, 0, &c, e, sizeof(e));
        CHECK(rc == DF_ERR_CONF && !c && strstr(e, "no.such.prop"), "... without the flag: %s (%s)", df_err_name(rc),
              e);

        rc = df_client_open(conf, 0, &c, e, sizeof(e));
        CHECK(rc == DF_OK && c, "flags 0 creates the topics: %s (%s)", df_err_name(rc), rc ? e : "");
        df_client_destroy(c);
        rc = df_client_open(conf, DF_CLIENT_NO_CREATE_TOPICS, &c, e, sizeof(e));
        CHECK(rc == DF_OK && c, "then DF_CLIENT_NO_CREATE_TOPICS opens: %s (%s)", df_err_name(rc), rc ? e : "");
        if (c) {
                rc = df_client_list(c, NULL, NULL, &json, e, sizeof(e));
                CHECK(rc == DF_OK && json && !strcmp(json, "[]"), "and lists nothing: %s %s", df_err_name(rc),
                      json ? json : e);
                free(json);
                df_client_destroy(c);
        }
        c = df_client_new(conf, e, sizeof(e));
        CHECK(c != NULL, "df_client_new still works");
        df_client_destroy(c);

        df_conf_destroy(conf);
        df_conf_destroy(bad);
        printf("cli_client embedded: %d failed\n", failed);
        return failed ? 1 : 0;
}

/* Delete every topic PREFIX.* (what the broker test created), with the
 * fault tests' helper. */
static int delete_topics(const char *brokers, const char *prefix)
{
        int n = fc_delete_topics(brokers, prefix);
        if (n < 0) {
                fprintf(stderr, "delete-topics: no metadata from %s\n", brokers);
                return 1;
        }
        printf("deleted %d topic(s) of prefix %s\n", n, prefix);
        return 0;
}

int main(int argc, char **argv)
{
        if (argc == 2 && !strcmp(argv[1], "embedded"))
                return embedded();
        if (argc == 4 && !strcmp(argv[1], "delete-topics"))
                return delete_topics(argv[2], argv[3]);
        fprintf(stderr, "usage: cli_client embedded | delete-topics BROKERS PREFIX\n");
        return 2;
}
