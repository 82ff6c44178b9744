/*
 * fault_poison -- hostile input for the workers.
 *
 *   fault_poison produce --brokers B --prefix P --key-prefix K --first F
 *       Produces 9 hostile records to <prefix>.events, with the keys
 *       <K><F>..<K><F+8> (executions started later land behind them, on the
 *       same partitions), and prints one line per record:
 *         empty value; random bytes; a valid marker with an unknown schema
 *         fingerprint; a truncated body; a 2 MB value; invalid UTF-8 in a
 *         string field (the workflow name); an event whose execution id
 *         differs from the record key; an invalid execution id; random
 *         bytes without a key.
 *       Every one of them must end in <prefix>.dlq.  --big-bytes N changes
 *       the size of the big one (default 2,000,000).
 *
 *   fault_poison probe --brokers B --prefix P --cb-file F
 *       Control requests that must be rejected with a clear status, through
 *       the client API (waiting for the worker's verdict):
 *         a callback completion with a forged id (a real callback id of F
 *         with one hex digit changed)      -> DF_ERR_UNKNOWN_CALLBACK
 *         a callback for an execution that does not exist -> DF_ERR_NOT_FOUND
 *         a malformed callback id          -> DF_ERR_UNKNOWN_CALLBACK
 *         a stop for an execution that does not exist    -> DF_ERR_NOT_FOUND
 *         the genuine completion repeated  -> DF_ERR_FINISHED
 *       Prints each verdict; exit 0 if all are as expected.
 */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "duraflow/duraflow.h"
#include "duraflow/records.h"
#include "fault_common.h"

static const char *brokers, *prefix, *key_prefix = "victim-", *cb_file;
static long first;
static size_t big_bytes = 2000000; /* "a 2 MB value": 2,000,000 bytes, under the topic's 2,097,152 */

static void produce(rd_kafka_t *rk, const char *topic, const char *key, const void *val, size_t len,
                    const char *what)
{
        rd_kafka_resp_err_t err =
                rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, key ? strlen(key) : 0),
                                  RD_KAFKA_V_VALUE((void *)val, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                  RD_KAFKA_V_END);
        if (err)
                fc_die("produce %s: %s", what, rd_kafka_err2str(err));
        printf("fault_poison: key %-12s %8zu bytes: %s\n", key ? key : "(none)", len, what);
}

/* A valid start event (records.h), the base of the hostile variants. */
typedef struct rec {
        uint8_t *data;
        size_t len;
} rec_t;

static rec_t start_event(const char *exec, const char *workflow, size_t input_len)
{
        rec_t out = {NULL, 0};
        char errstr[256];
        void *buf;
        uint8_t *in = calloc(1, input_len + 1);
        df_err_t rc;
        memset(in, 'i', input_len);
        rc = df_record_encode_start(exec, workflow, in, input_len, &buf, &out.len, errstr, sizeof(errstr));
        if (rc != DF_OK)
                fc_die("encode: %s", errstr);
        out.data = buf;
        free(in);
        return out;
}

/* Replace the first occurrence of what (n bytes) in b with with (n bytes). */
static void patch(rec_t *b, const char *what, const char *with, size_t n)
{
        size_t i;
        for (i = 0; i + n <= b->len; i++) {
                if (!memcmp(b->data + i, what, n)) {
                        memcpy(b->data + i, with, n);
                        return;
                }
        }
        fc_die("patch: \"%s\" not in the record", what);
}

static void random_bytes(uint8_t *buf, size_t n)
{
        int fd = open("/dev/urandom", O_RDONLY);
        if (fd < 0 || read(fd, buf, n) != (ssize_t)n)
                fc_die("/dev/urandom");
        close(fd);
}

static int cmd_produce(void)
{
        df_conf_t *conf = df_conf_new();
        char errstr[512], topic[300], key[9][64];
        df_client_t *c;
        rd_kafka_t *rk;
        rec_t b;
        uint8_t rnd[64], *big;
        int k;

        if (df_conf_set(conf, "brokers", brokers, errstr, sizeof(errstr)) ||
            df_conf_set(conf, "topic.prefix", prefix, errstr, sizeof(errstr)) ||
            df_conf_set(conf, "log.level", "warn", errstr, sizeof(errstr)))
                fc_die("conf: %s", errstr);
        c = df_client_new(conf, errstr, sizeof(errstr)); /* the topics */
        if (!c)
                fc_die("df_client_new: %s", errstr);
        df_client_destroy(c);
        df_conf_destroy(conf);
        for (k = 0; k < 9; k++)
                snprintf(key[k], sizeof(key[k]), "%s%ld", key_prefix, first + k);
        snprintf(topic, sizeof(topic), "%s.events", prefix);
        rk = fc_producer(brokers);

        produce(rk, topic, key[0], "", 0, "empty value");

        random_bytes(rnd, sizeof(rnd));
        produce(rk, topic, key[1], rnd, sizeof(rnd), "64 random bytes");

        b = start_event(key[2], "five", 2);
        memcpy(b.data + 2, "\xde\xad\xbe\xef\x01\x02\x03\x04", 8);
        produce(rk, topic, key[2], b.data, b.len, "marker C3 01 with an unknown schema fingerprint, valid body");
        df_record_free(b.data);

        b = start_event(key[3], "five", 100);
        produce(rk, topic, key[3], b.data, b.len - 40, "a START event truncated by 40 bytes");
        df_record_free(b.data);

        b = start_event(key[4], "five", 2);
        big = malloc(big_bytes);
        memset(big, 'A', big_bytes);
        memcpy(big, b.data, 10); /* a valid marker and Event fingerprint, then 2 MB of 'A' */
        produce(rk, topic, key[4], big, big_bytes, "2 MB value (Event marker and fingerprint, then junk)");
        free(big);
        df_record_free(b.data);

        b = start_event(key[5], "ZZZZZZZZ", 2);
        patch(&b, "ZZZZZZZZ", "\xc3\x28\xa0\xa1\xe2\x28\xa1\xff", 8);
        produce(rk, topic, key[5], b.data, b.len, "START event with invalid UTF-8 in the workflow name");
        df_record_free(b.data);

        b = start_event("somebody-else", "five", 2);
        produce(rk, topic, key[6], b.data, b.len, "START event whose execution id differs from the record key");
        df_record_free(b.data);

        /* the encoder writes valid ids only: a valid one of the same length,
         * then the hostile bytes in its place */
        b = start_event("bad_id_with_spaces", "five", 2);
        patch(&b, "bad_id_with_spaces", "bad/id with spaces", 18);
        produce(rk, topic, key[7], b.data, b.len, "START event with an invalid execution id");
        df_record_free(b.data);

        random_bytes(rnd, sizeof(rnd));
        produce(rk, topic, NULL, rnd, sizeof(rnd), "64 random bytes without a key");

        if (rd_kafka_flush(rk, 60000))
                fc_die("hostile records not acknowledged");
        rd_kafka_destroy(rk);
        printf("fault_poison: 9 hostile records acknowledged\n");
        fflush(stdout);
        return 0;
}

static int expect(df_err_t got, df_err_t want, const char *what, const char *errstr)
{
        int ok = got == want;
        printf("fault_poison: %-58s -> %s (\"%s\"): %s\n", what, df_err_name(got), errstr,
               ok ? "as expected" : "UNEXPECTED");
        if (!ok)
                printf("fault_poison:   expected %s\n", df_err_name(want));
        fflush(stdout);
        return ok;
}

static int cmd_probe(void)
{
        df_conf_t *conf = df_conf_new();
        char errstr[512], line[1024], exec[256], cb[512], forged[512];
        df_client_t *c;
        FILE *f;
        int ok = 1;
        df_err_t rc;

        if (df_conf_set(conf, "brokers", brokers, errstr, sizeof(errstr)) ||
            df_conf_set(conf, "topic.prefix", prefix, errstr, sizeof(errstr)) ||
            df_conf_set(conf, "log.level", "warn", errstr, sizeof(errstr)) ||
            df_conf_set(conf, "client.timeout.ms", "20000", errstr, sizeof(errstr)))
                fc_die("conf: %s", errstr);
        c = df_client_new(conf, errstr, sizeof(errstr));
        if (!c)
                fc_die("df_client_new: %s", errstr);
        f = fopen(cb_file, "r");
        if (!f || !fgets(line, sizeof(line), f) || sscanf(line, "%255s %511s", exec, cb) != 2)
                fc_die("no callback id in %s", cb_file);
        fclose(f);

        snprintf(forged, sizeof(forged), "%s", cb);
        forged[5] = forged[5] == 'a' ? 'b' : 'a';
        errstr[0] = '\0';
        rc = df_client_callback(c, forged, DF_CALLBACK_SUCCESS, "evil", 4, NULL, 1, errstr, sizeof(errstr));
        ok &= expect(rc, DF_ERR_UNKNOWN_CALLBACK, "callback with a forged id (one hex digit changed)", errstr);

        snprintf(forged, sizeof(forged), "0123456789abcdef0123456789abcdef_2_no-such-execution");
        errstr[0] = '\0';
        rc = df_client_callback(c, forged, DF_CALLBACK_SUCCESS, "evil", 4, NULL, 1, errstr, sizeof(errstr));
        ok &= expect(rc, DF_ERR_NOT_FOUND, "callback for an execution that does not exist", errstr);

        errstr[0] = '\0';
        rc = df_client_callback(c, "not-a-callback-id", DF_CALLBACK_FAILURE, NULL, 0, "x", 1, errstr, sizeof(errstr));
        ok &= expect(rc, DF_ERR_UNKNOWN_CALLBACK, "malformed callback id", errstr);

        errstr[0] = '\0';
        rc = df_client_stop(c, "no-such-execution", "probe", errstr, sizeof(errstr));
        ok &= expect(rc, DF_ERR_NOT_FOUND, "stop of an execution that does not exist", errstr);

        /* the genuine id, completed once by fault_load: a second completion is refused */
        {
                char pay[300];
                snprintf(pay, sizeof(pay), "pay:%s", exec);
                errstr[0] = '\0';
                rc = df_client_callback(c, cb, DF_CALLBACK_SUCCESS, pay, strlen(pay), NULL, 1, errstr,
                                        sizeof(errstr));
                ok &= expect(rc, DF_ERR_FINISHED, "the genuine callback completed a second time", errstr);
        }
        df_client_destroy(c);
        df_conf_destroy(conf);
        printf("fault_poison: probes %s\n", ok ? "PASS" : "FAIL");
        return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
        static const struct option opts[] = {{"brokers", required_argument, 0, 'b'},
                                             {"prefix", required_argument, 0, 'p'},
                                             {"key-prefix", required_argument, 0, 'k'},
                                             {"first", required_argument, 0, 'f'},
                                             {"cb-file", required_argument, 0, 'c'},
                                             {"big-bytes", required_argument, 0, 'B'},
                                             {0, 0, 0, 0}};
        const char *cmd;
        int c;
        if (argc < 2)
                fc_die("usage: fault_poison produce|probe [options] (see the source)");
        cmd = argv[1];
        optind = 2;
        while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
                switch (c) {
                case 'b': brokers = optarg; break;
                case 'p': prefix = optarg; break;
                case 'k': key_prefix = optarg; break;
                case 'f': first = atol(optarg); break;
                case 'c': cb_file = optarg; break;
                case 'B': big_bytes = (size_t)atol(optarg); break;
                default: fc_die("bad option");
                }
        }
        if (!brokers || !prefix)
                fc_die("--brokers and --prefix are required");
        if (!strcmp(cmd, "produce"))
                return cmd_produce();
        if (!strcmp(cmd, "probe")) {
                if (!cb_file)
                        fc_die("probe needs --cb-file");
                return cmd_probe();
        }
        fc_die("unknown command %s", cmd);
}
