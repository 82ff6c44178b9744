/*
 * broker_smoke: checks that the librdkafka this project builds against works
 * with the real broker started by scripts/kafka.sh, for every Kafka feature
 * duraflow relies on:
 *
 *   1. Admin CreateTopics: two topics of 3 partitions, one cleanup.policy=compact
 *   2. transactional producer (murmur2_random partitioner): init_transactions,
 *      a committed transaction, an aborted one, another committed one
 *   3. read_committed consumer in a consumer group (subscribe): receives the
 *      committed records and none of the aborted ones
 *   4. consume-transform-produce: records to the compacted topic plus the
 *      group's offsets in one transaction (send_offsets_to_transaction with the
 *      consumer group metadata), commit
 *   5. the group's committed offsets (rd_kafka_committed and Admin
 *      ListConsumerGroupOffsets) match what was consumed
 *   6. a read_committed reader (assign) sees the transformed records
 *   7. fencing: a second producer with the same transactional.id fences the
 *      first, whose next commit fails with a fatal error
 *   8. Admin DescribeConfigs confirms cleanup.policy=compact; DeleteTopics
 *
 * Usage: broker_smoke [BROKERS]   (default: $DF_BROKERS)
 * Exit 0 when all works, 1 on failure, 1 also when no broker is given (a broker test never skips silently).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* clock_gettime, usleep */
#endif
#include <librdkafka/rdkafka.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NPART 3
#define N_COMMITTED 30 /* first committed transaction */
#define N_ABORTED 5
#define N_TOTAL (N_COMMITTED + 1) /* plus one record in the last transaction */
#define STEP_TIMEOUT_MS 60000

static const char *brokers;
static char topic_events[128], topic_state[128], group_id[128], txn_id[128];

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "broker_smoke: FAILED: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  exit(1);
}

static void ok(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void ok(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  printf("broker_smoke: ok: ");
  vprintf(fmt, ap);
  printf("\n");
  fflush(stdout);
  va_end(ap);
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
  (void)opaque;
  fprintf(stderr, "broker_smoke: %s error: %s: %s\n", rd_kafka_name(rk),
          rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

static int delivery_failures;
static void dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  (void)opaque;
  if (m->err) {
    delivery_failures++;
    fprintf(stderr, "broker_smoke: delivery failed: %s\n", rd_kafka_err2str(m->err));
  }
}

static void set(rd_kafka_conf_t *conf, const char *k, const char *v) {
  char errstr[512];
  if (rd_kafka_conf_set(conf, k, v, errstr, sizeof errstr) != RD_KAFKA_CONF_OK)
    fail("config %s=%s: %s", k, v, errstr);
}

static rd_kafka_conf_t *base_conf(void) {
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  set(conf, "bootstrap.servers", brokers);
  set(conf, "client.id", "duraflow-broker-smoke");
  rd_kafka_conf_set_error_cb(conf, error_cb);
  return conf;
}

static rd_kafka_t *new_client(rd_kafka_type_t type, rd_kafka_conf_t *conf) {
  char errstr[512];
  rd_kafka_t *rk = rd_kafka_new(type, conf, errstr, sizeof errstr);
  if (!rk) fail("rd_kafka_new: %s", errstr);
  return rk;
}

/* Fails on a transactional API error, saying which kind it is. */
static void check_txn(rd_kafka_error_t *error, const char *what) {
  if (!error) return;
  fail("%s: %s (%s)%s%s%s", what, rd_kafka_error_string(error),
       rd_kafka_err2name(rd_kafka_error_code(error)),
       rd_kafka_error_is_fatal(error) ? " [fatal]" : "",
       rd_kafka_error_is_retriable(error) ? " [retriable]" : "",
       rd_kafka_error_txn_requires_abort(error) ? " [abortable]" : "");
}

/* Waits for one admin result event of the given type. */
static rd_kafka_event_t *admin_wait(rd_kafka_queue_t *q, rd_kafka_event_type_t type,
                                    const char *what) {
  int64_t deadline = now_ms() + STEP_TIMEOUT_MS;
  while (now_ms() < deadline) {
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 1000);
    if (!ev) continue;
    if (rd_kafka_event_type(ev) == type) {
      if (rd_kafka_event_error(ev))
        fail("%s: %s", what, rd_kafka_event_error_string(ev));
      return ev;
    }
    if (rd_kafka_event_type(ev) == RD_KAFKA_EVENT_ERROR)
      fprintf(stderr, "broker_smoke: %s: %s\n", what, rd_kafka_event_error_string(ev));
    rd_kafka_event_destroy(ev);
  }
  fail("%s: no result within %d ms", what, STEP_TIMEOUT_MS);
}

static rd_kafka_AdminOptions_t *admin_opts(rd_kafka_t *rk, rd_kafka_admin_op_t op) {
  char errstr[512];
  rd_kafka_AdminOptions_t *o = rd_kafka_AdminOptions_new(rk, op);
  if (rd_kafka_AdminOptions_set_request_timeout(o, STEP_TIMEOUT_MS, errstr, sizeof errstr))
    fail("admin options: %s", errstr);
  if (op == RD_KAFKA_ADMIN_OP_CREATETOPICS || op == RD_KAFKA_ADMIN_OP_DELETETOPICS) {
    if (rd_kafka_AdminOptions_set_operation_timeout(o, STEP_TIMEOUT_MS, errstr, sizeof errstr))
      fail("admin options: %s", errstr);
  }
  return o;
}

/* 1. CreateTopics */
static void create_topics(rd_kafka_t *rk, rd_kafka_queue_t *q) {
  char errstr[512];
  rd_kafka_NewTopic_t *nt[2];
  nt[0] = rd_kafka_NewTopic_new(topic_events, NPART, 1, errstr, sizeof errstr);
  nt[1] = rd_kafka_NewTopic_new(topic_state, NPART, 1, errstr, sizeof errstr);
  if (!nt[0] || !nt[1]) fail("NewTopic: %s", errstr);
  if (rd_kafka_NewTopic_set_config(nt[1], "cleanup.policy", "compact"))
    fail("NewTopic_set_config");
  rd_kafka_AdminOptions_t *o = admin_opts(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_CreateTopics(rk, nt, 2, o, q);
  rd_kafka_event_t *ev = admin_wait(q, RD_KAFKA_EVENT_CREATETOPICS_RESULT, "CreateTopics");
  size_t n;
  const rd_kafka_topic_result_t **res =
      rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
  if (n != 2) fail("CreateTopics: %zu results, expected 2", n);
  for (size_t i = 0; i < n; i++)
    if (rd_kafka_topic_result_error(res[i]))
      fail("CreateTopics %s: %s (%s)", rd_kafka_topic_result_name(res[i]),
           rd_kafka_topic_result_error_string(res[i]),
           rd_kafka_err2name(rd_kafka_topic_result_error(res[i])));
  rd_kafka_event_destroy(ev);
  rd_kafka_AdminOptions_destroy(o);
  rd_kafka_NewTopic_destroy_array(nt, 2);

  /* Wait until the metadata shows both topics with all partitions led. */
  int64_t deadline = now_ms() + STEP_TIMEOUT_MS;
  for (;;) {
    const struct rd_kafka_metadata *md;
    int ready = 0;
    if (rd_kafka_metadata(rk, 1, NULL, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      for (int t = 0; t < md->topic_cnt; t++) {
        const struct rd_kafka_metadata_topic *mt = &md->topics[t];
        if (strcmp(mt->topic, topic_events) && strcmp(mt->topic, topic_state)) continue;
        int led = 0;
        for (int p = 0; p < mt->partition_cnt; p++)
          if (mt->partitions[p].leader >= 0) led++;
        if (!mt->err && led == NPART) ready++;
      }
      rd_kafka_metadata_destroy(md);
    }
    if (ready == 2) break;
    if (now_ms() > deadline) fail("topics did not appear in metadata");
    usleep(200 * 1000);
  }
  ok("Admin CreateTopics: %s (%d partitions), %s (%d partitions, cleanup.policy=compact)",
     topic_events, NPART, topic_state, NPART);
}

static void produce(rd_kafka_t *rk, const char *topic, const char *key, const char *val) {
  rd_kafka_resp_err_t err;
  for (int tries = 0;; tries++) {
    err = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)),
                            RD_KAFKA_V_VALUE((void *)val, strlen(val)),
                            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || tries > 100) break;
    rd_kafka_poll(rk, 100);
  }
  if (err) fail("produce to %s: %s", topic, rd_kafka_err2str(err));
  rd_kafka_poll(rk, 0);
}

/* 2. transactional producer */
static rd_kafka_t *new_txn_producer(void) {
  rd_kafka_conf_t *conf = base_conf();
  set(conf, "transactional.id", txn_id);
  set(conf, "partitioner", "murmur2_random");
  set(conf, "linger.ms", "5");
  rd_kafka_conf_set_dr_msg_cb(conf, dr_msg_cb);
  rd_kafka_t *p = new_client(RD_KAFKA_PRODUCER, conf);
  int64_t t0 = now_ms();
  check_txn(rd_kafka_init_transactions(p, STEP_TIMEOUT_MS), "init_transactions");
  ok("transactional producer %s: init_transactions (%" PRId64 " ms)", txn_id, now_ms() - t0);
  return p;
}

static void produce_input(rd_kafka_t *p) {
  char key[64], val[64];
  check_txn(rd_kafka_begin_transaction(p), "begin_transaction");
  for (int i = 0; i < N_COMMITTED; i++) {
    snprintf(key, sizeof key, "exec-%d", i);
    snprintf(val, sizeof val, "start-%d", i);
    produce(p, topic_events, key, val);
  }
  check_txn(rd_kafka_commit_transaction(p, STEP_TIMEOUT_MS), "commit_transaction (1)");

  check_txn(rd_kafka_begin_transaction(p), "begin_transaction");
  for (int i = 0; i < N_ABORTED; i++) {
    snprintf(key, sizeof key, "exec-%d", i);
    snprintf(val, sizeof val, "ABORTED-%d", i);
    produce(p, topic_events, key, val);
  }
  check_txn(rd_kafka_flush(p, STEP_TIMEOUT_MS) ? rd_kafka_error_new(RD_KAFKA_RESP_ERR__TIMED_OUT, "flush")
                                               : NULL,
            "flush before abort");
  check_txn(rd_kafka_abort_transaction(p, STEP_TIMEOUT_MS), "abort_transaction");

  check_txn(rd_kafka_begin_transaction(p), "begin_transaction");
  produce(p, topic_events, "exec-last", "start-last");
  check_txn(rd_kafka_commit_transaction(p, STEP_TIMEOUT_MS), "commit_transaction (3)");
  if (delivery_failures) fail("%d delivery failures", delivery_failures);
  ok("transactions: committed %d records, aborted %d, committed 1 more to %s", N_COMMITTED,
     N_ABORTED, topic_events);
}

/* 3. read_committed consumer in a group */
typedef struct {
  char key[32][32];
  int n;
  int64_t next_offset[NPART]; /* last consumed offset + 1, per partition */
} consumed_t;

static rd_kafka_t *new_group_consumer(void) {
  rd_kafka_conf_t *conf = base_conf();
  set(conf, "group.id", group_id);
  set(conf, "isolation.level", "read_committed");
  set(conf, "enable.auto.commit", "false");
  set(conf, "auto.offset.reset", "earliest");
  set(conf, "session.timeout.ms", "10000");
  rd_kafka_t *c = new_client(RD_KAFKA_CONSUMER, conf);
  rd_kafka_poll_set_consumer(c);
  rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(sub, topic_events, RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t err = rd_kafka_subscribe(c, sub);
  rd_kafka_topic_partition_list_destroy(sub);
  if (err) fail("subscribe: %s", rd_kafka_err2str(err));
  return c;
}

static void consume_input(rd_kafka_t *c, consumed_t *got) {
  int64_t t0 = now_ms(), first = -1;
  memset(got, 0, sizeof *got);
  for (int p = 0; p < NPART; p++) got->next_offset[p] = -1;
  while (got->n < N_TOTAL) {
    if (now_ms() - t0 > STEP_TIMEOUT_MS)
      fail("consumer: got %d of %d records in %d ms", got->n, N_TOTAL, STEP_TIMEOUT_MS);
    rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 500);
    if (!m) continue;
    if (m->err) {
      if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
        fprintf(stderr, "broker_smoke: consumer: %s\n", rd_kafka_message_errstr(m));
      rd_kafka_message_destroy(m);
      continue;
    }
    if (first < 0) first = now_ms() - t0;
    if (m->len >= 7 && !memcmp(m->payload, "ABORTED", 7))
      fail("read_committed consumer received an aborted record (partition %d offset %" PRId64 ")",
           m->partition, m->offset);
    if (m->partition < 0 || m->partition >= NPART) fail("unexpected partition %d", m->partition);
    snprintf(got->key[got->n], sizeof got->key[0], "%.*s", (int)m->key_len, (const char *)m->key);
    got->n++;
    got->next_offset[m->partition] = m->offset + 1;
    rd_kafka_message_destroy(m);
  }
  /* Nothing more (no aborted record) should follow. */
  int64_t until = now_ms() + 1500;
  while (now_ms() < until) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 200);
    if (!m) continue;
    if (!m->err) fail("consumer: unexpected extra record at offset %" PRId64, m->offset);
    rd_kafka_message_destroy(m);
  }
  int used = 0;
  for (int p = 0; p < NPART; p++) used += got->next_offset[p] >= 0;
  ok("read_committed consumer in group %s: %d records from %d partitions, none aborted "
     "(first record after %" PRId64 " ms: join + fetch)",
     group_id, got->n, used, first);
}

/* 4. consume-transform-produce with offsets in the transaction */
static void transform(rd_kafka_t *p, rd_kafka_t *c, const consumed_t *got) {
  char val[64];
  check_txn(rd_kafka_begin_transaction(p), "begin_transaction");
  for (int i = 0; i < got->n; i++) {
    snprintf(val, sizeof val, "state-of-%s", got->key[i]);
    produce(p, topic_state, got->key[i], val);
  }
  rd_kafka_topic_partition_list_t *offs = rd_kafka_topic_partition_list_new(NPART);
  for (int part = 0; part < NPART; part++)
    if (got->next_offset[part] >= 0)
      rd_kafka_topic_partition_list_add(offs, topic_events, part)->offset = got->next_offset[part];
  rd_kafka_consumer_group_metadata_t *cgmd = rd_kafka_consumer_group_metadata(c);
  if (!cgmd) fail("rd_kafka_consumer_group_metadata returned NULL");
  check_txn(rd_kafka_send_offsets_to_transaction(p, offs, cgmd, STEP_TIMEOUT_MS),
            "send_offsets_to_transaction");
  rd_kafka_consumer_group_metadata_destroy(cgmd);
  rd_kafka_topic_partition_list_destroy(offs);
  check_txn(rd_kafka_commit_transaction(p, STEP_TIMEOUT_MS), "commit_transaction (offsets)");
  if (delivery_failures) fail("%d delivery failures", delivery_failures);
  ok("consume-transform-produce: %d records to %s + group offsets in one transaction "
     "(send_offsets_to_transaction), committed",
     got->n, topic_state);
}

/* 5. committed offsets */
static void check_committed(rd_kafka_t *c, rd_kafka_t *admin, rd_kafka_queue_t *q,
                            const consumed_t *got) {
  rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(NPART);
  for (int p = 0; p < NPART; p++) rd_kafka_topic_partition_list_add(parts, topic_events, p);
  rd_kafka_resp_err_t err = rd_kafka_committed(c, parts, STEP_TIMEOUT_MS);
  if (err) fail("rd_kafka_committed: %s", rd_kafka_err2str(err));
  for (int i = 0; i < parts->cnt; i++) {
    rd_kafka_topic_partition_t *tp = &parts->elems[i];
    int64_t want = got->next_offset[tp->partition];
    if (want < 0) want = RD_KAFKA_OFFSET_INVALID;
    if (tp->err || tp->offset != want)
      fail("committed offset of %s[%d]: %" PRId64 " (%s), expected %" PRId64, tp->topic,
           tp->partition, tp->offset, rd_kafka_err2name(tp->err), want);
  }
  rd_kafka_topic_partition_list_destroy(parts);

  /* The same through the Admin API. */
  rd_kafka_ListConsumerGroupOffsets_t *req = rd_kafka_ListConsumerGroupOffsets_new(group_id, NULL);
  rd_kafka_AdminOptions_t *o = admin_opts(admin, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS);
  rd_kafka_AdminOptions_set_require_stable_offsets(o, 1);
  rd_kafka_ListConsumerGroupOffsets(admin, &req, 1, o, q);
  rd_kafka_event_t *ev =
      admin_wait(q, RD_KAFKA_EVENT_LISTCONSUMERGROUPOFFSETS_RESULT, "ListConsumerGroupOffsets");
  size_t n;
  const rd_kafka_group_result_t **gr = rd_kafka_ListConsumerGroupOffsets_result_groups(
      rd_kafka_event_ListConsumerGroupOffsets_result(ev), &n);
  if (n != 1) fail("ListConsumerGroupOffsets: %zu groups", n);
  if (rd_kafka_group_result_error(gr[0]))
    fail("ListConsumerGroupOffsets: %s", rd_kafka_error_string(rd_kafka_group_result_error(gr[0])));
  const rd_kafka_topic_partition_list_t *lp = rd_kafka_group_result_partitions(gr[0]);
  int64_t sum = 0;
  for (int i = 0; lp && i < lp->cnt; i++)
    if (lp->elems[i].offset > 0) sum += lp->elems[i].offset;
  int64_t want = 0;
  for (int p = 0; p < NPART; p++)
    if (got->next_offset[p] > 0) want += got->next_offset[p];
  if (sum != want)
    fail("ListConsumerGroupOffsets: offsets add up to %" PRId64 ", expected %" PRId64, sum, want);
  rd_kafka_event_destroy(ev);
  rd_kafka_AdminOptions_destroy(o);
  rd_kafka_ListConsumerGroupOffsets_destroy(req);
  ok("group offsets committed by the transaction: rd_kafka_committed and Admin "
     "ListConsumerGroupOffsets agree (sum %" PRId64 ")",
     want);
}

/* 6. read back the compacted topic */
static void read_state(void) {
  rd_kafka_conf_t *conf = base_conf();
  set(conf, "isolation.level", "read_committed");
  set(conf, "enable.partition.eof", "true");
  /* librdkafka 2.0 wants a group.id even for assign(); nothing is committed */
  char gid[160];
  snprintf(gid, sizeof gid, "%s-reader", group_id);
  set(conf, "group.id", gid);
  set(conf, "enable.auto.commit", "false");
  rd_kafka_t *c = new_client(RD_KAFKA_CONSUMER, conf);
  rd_kafka_poll_set_consumer(c);
  rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(NPART);
  for (int p = 0; p < NPART; p++)
    rd_kafka_topic_partition_list_add(parts, topic_state, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_resp_err_t err = rd_kafka_assign(c, parts);
  rd_kafka_topic_partition_list_destroy(parts);
  if (err) fail("assign: %s", rd_kafka_err2str(err));
  int n = 0, eofs = 0;
  int64_t t0 = now_ms();
  while (n < N_TOTAL || eofs < NPART) {
    if (now_ms() - t0 > STEP_TIMEOUT_MS) fail("state reader: got %d of %d records", n, N_TOTAL);
    rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 500);
    if (!m) continue;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) eofs++;
    else if (m->err) fprintf(stderr, "broker_smoke: state reader: %s\n", rd_kafka_message_errstr(m));
    else if (m->len < 9 || memcmp(m->payload, "state-of-", 9)) fail("state reader: bad record");
    else n++;
    rd_kafka_message_destroy(m);
  }
  if (n != N_TOTAL) fail("state reader: %d records, expected %d", n, N_TOTAL);
  rd_kafka_consumer_close(c);
  rd_kafka_destroy(c);
  ok("read_committed reader (assign) sees %d records in %s", n, topic_state);
}

/* 7. zombie fencing: a new producer with the same transactional.id fences the
 * old one, whose next commit fails with a fatal error. */
static void check_fencing(rd_kafka_t *old) {
  printf("broker_smoke: fencing check: librdkafka logs the expected fatal _FENCED error on stderr\n");
  rd_kafka_t *fresh = new_txn_producer();
  check_txn(rd_kafka_begin_transaction(old), "begin_transaction (zombie)");
  produce(old, topic_state, "zombie", "state-of-zombie");
  rd_kafka_error_t *error = rd_kafka_commit_transaction(old, STEP_TIMEOUT_MS);
  if (!error) fail("fencing: the old producer committed after a new one took its transactional.id");
  if (!rd_kafka_error_is_fatal(error))
    fail("fencing: expected a fatal error, got %s (%s)", rd_kafka_error_string(error),
         rd_kafka_err2name(rd_kafka_error_code(error)));
  char errstr[512];
  rd_kafka_resp_err_t fatal = rd_kafka_fatal_error(old, errstr, sizeof errstr);
  ok("fencing: new producer with the same transactional.id fenced the old one (%s: %s)",
     rd_kafka_err2name(fatal), errstr);
  rd_kafka_error_destroy(error);
  /* The fresh producer works. */
  check_txn(rd_kafka_begin_transaction(fresh), "begin_transaction (fresh)");
  produce(fresh, topic_state, "exec-0", "state-of-exec-0");
  check_txn(rd_kafka_commit_transaction(fresh, STEP_TIMEOUT_MS), "commit_transaction (fresh)");
  rd_kafka_destroy(fresh);
}

/* 8. DescribeConfigs, DeleteTopics */
static void describe_and_delete(rd_kafka_t *rk, rd_kafka_queue_t *q, int keep) {
  rd_kafka_ConfigResource_t *cr = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic_state);
  rd_kafka_AdminOptions_t *o = admin_opts(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
  rd_kafka_DescribeConfigs(rk, &cr, 1, o, q);
  rd_kafka_event_t *ev = admin_wait(q, RD_KAFKA_EVENT_DESCRIBECONFIGS_RESULT, "DescribeConfigs");
  size_t n, nc;
  const rd_kafka_ConfigResource_t **res =
      rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev), &n);
  if (n != 1 || rd_kafka_ConfigResource_error(res[0]))
    fail("DescribeConfigs: %s", n ? rd_kafka_ConfigResource_error_string(res[0]) : "no result");
  const rd_kafka_ConfigEntry_t **ce = rd_kafka_ConfigResource_configs(res[0], &nc);
  const char *policy = NULL;
  for (size_t i = 0; i < nc; i++)
    if (!strcmp(rd_kafka_ConfigEntry_name(ce[i]), "cleanup.policy"))
      policy = rd_kafka_ConfigEntry_value(ce[i]);
  if (!policy || strcmp(policy, "compact"))
    fail("DescribeConfigs: cleanup.policy of %s is %s", topic_state, policy ? policy : "(none)");
  rd_kafka_event_destroy(ev);
  rd_kafka_AdminOptions_destroy(o);
  rd_kafka_ConfigResource_destroy(cr);
  ok("Admin DescribeConfigs: %s cleanup.policy=compact (%zu config entries)", topic_state, nc);

  if (keep) return;
  rd_kafka_DeleteTopic_t *dt[2] = {rd_kafka_DeleteTopic_new(topic_events),
                                   rd_kafka_DeleteTopic_new(topic_state)};
  o = admin_opts(rk, RD_KAFKA_ADMIN_OP_DELETETOPICS);
  rd_kafka_DeleteTopics(rk, dt, 2, o, q);
  ev = admin_wait(q, RD_KAFKA_EVENT_DELETETOPICS_RESULT, "DeleteTopics");
  const rd_kafka_topic_result_t **tr =
      rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev), &n);
  for (size_t i = 0; i < n; i++)
    if (rd_kafka_topic_result_error(tr[i]))
      fail("DeleteTopics %s: %s", rd_kafka_topic_result_name(tr[i]),
           rd_kafka_topic_result_error_string(tr[i]));
  rd_kafka_event_destroy(ev);
  rd_kafka_AdminOptions_destroy(o);
  rd_kafka_DeleteTopic_destroy_array(dt, 2);
  ok("Admin DeleteTopics: both topics deleted");
}

int main(int argc, char **argv) {
  int keep = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--keep")) keep = 1;
    else if (argv[i][0] == '-') {
      fprintf(stderr, "usage: %s [--keep] [BROKERS]   (default $DF_BROKERS)\n", argv[0]);
      return 2;
    } else brokers = argv[i];
  }
  if (!brokers) brokers = getenv("DF_BROKERS");
  if (!brokers || !*brokers) {
    fprintf(stderr, "broker_smoke: FAILED: no broker (pass BROKERS or set DF_BROKERS; "
           "scripts/kafka.sh start)\n");
    return 1;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);

  unsigned long tag = (unsigned long)time(NULL) * 100000UL + (unsigned long)getpid() % 100000UL;
  snprintf(topic_events, sizeof topic_events, "df-smoke-%lu.events", tag);
  snprintf(topic_state, sizeof topic_state, "df-smoke-%lu.state", tag);
  snprintf(group_id, sizeof group_id, "df-smoke-%lu-group", tag);
  snprintf(txn_id, sizeof txn_id, "df-smoke-%lu-txn", tag);
  printf("broker_smoke: librdkafka %s, brokers %s\n", rd_kafka_version_str(), brokers);
  int64_t t0 = now_ms();

  rd_kafka_t *admin = new_client(RD_KAFKA_PRODUCER, base_conf());
  rd_kafka_queue_t *q = rd_kafka_queue_new(admin);

  create_topics(admin, q);
  rd_kafka_t *p = new_txn_producer();
  produce_input(p);
  rd_kafka_t *c = new_group_consumer();
  consumed_t got;
  consume_input(c, &got);
  transform(p, c, &got);
  check_committed(c, admin, q, &got);
  read_state();
  delivery_failures = 0;
  check_fencing(p);
  /* Leave the group before its topic is deleted: closing a group consumer
   * whose subscribed topic was just deleted hung once (300 s test timeout). */
  rd_kafka_resp_err_t err = rd_kafka_consumer_close(c);
  if (err) fail("consumer_close: %s", rd_kafka_err2str(err));
  rd_kafka_destroy(c);
  rd_kafka_destroy(p); /* fenced: nothing to flush */
  describe_and_delete(admin, q, keep);

  rd_kafka_queue_destroy(q);
  rd_kafka_destroy(admin);
  printf("broker_smoke: PASSED: admin, transactions, consumer group, read_committed, "
         "send_offsets_to_transaction, fencing all work (%" PRId64 " ms)\n",
         now_ms() - t0);
  return 0;
}
