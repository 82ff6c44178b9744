/*
 * sim.h - orders-sim: the simulated outside world of the order example
 * (inventory, payment, warehouse, notifications) behind a small HTTP/JSON API.
 *
 * The simulator keeps its state in memory (it is the "outside world": it
 * survives worker crashes, not its own restart). Business rules come from
 * orders_logic (stock from the dataset, order totals, payment decision).
 * Asynchronous answers (payment authorisation, shipment reports) complete
 * duraflow callbacks through a df_client: a scheduler thread keeps a min-heap
 * of pending completions due on the monotonic clock and sends each with
 * df_client_callback(wait_reply = 0) when due, retrying with backoff while
 * Kafka is unavailable (a completion is never dropped while the simulator
 * runs; those still pending at stop are counted in callbacks_pending).
 *
 * HTTP API (JSON bodies and answers; statuses and payloads in sim.c):
 *   POST /inventory/reserve   {"product_id","quantity","key"}
 *   POST /inventory/release   {"key"}
 *   POST /payments/authorize  {"order_id","amount_cents","callback_id","key"}
 *   POST /payments/refund     {"order_id","amount_cents","key"}
 *   POST /warehouse/dispatch  {"order_id","callback_id","key"}
 *   POST /warehouse/track     {"order_id","callback_id"}
 *   POST /notify              {"order_id","kind","text","key"}
 *   POST /control/warehouse   {"fail_dispatch":[order_id,...]}  (failure injection)
 *   GET  /calls?prefix=P      requests per idempotency key, per endpoint
 *   GET  /stats, GET /health
 *
 * Thread-safe: one mutex guards the state; HTTP handlers run on a small pool
 * of microhttpd threads.
 */
#ifndef ORDERS_SIM_H
#define ORDERS_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "duraflow/conf.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct orders_sim orders_sim_t;

/* Called from the scheduler thread after a callback completion was
 * acknowledged by Kafka: outcome is DF_CALLBACK_SUCCESS (payload is the JSON
 * text sent, error NULL) or DF_CALLBACK_FAILURE (payload NULL, error the
 * message). Strings are valid during the call only. Must not call
 * orders_sim_stop; may call orders_sim_stats_json. */
typedef void (*orders_sim_sent_fn)(void *opaque, const char *callback_id, int outcome, const char *payload,
                                   const char *error);

typedef struct orders_sim_opts {
        const char *data_dir;    /* Northwind CSVs; NULL = ORDERS_DATA_DIR */
        const char *listen_host; /* numeric address or name; NULL = "127.0.0.1" */
        int port;                /* 0 = ephemeral (see orders_sim_port) */
        int64_t day_ms;          /* scaled clock: ms per simulated day; <= 0 = 1000 */
        int payment_delay_ms;    /* delay before a payment verdict; < 0 = 100 */
        const df_conf_t *conf;   /* for df_client_new (brokers, topic.prefix, ...);
                                    NULL = defaults (embedded mode) */
        orders_sim_sent_fn on_sent; /* optional observer of sent completions */
        void *on_sent_opaque;
        const int32_t *fail_dispatch; /* failure injection: /warehouse/dispatch answers 503 for these
                                         orders until POST /control/warehouse changes the list */
        size_t n_fail_dispatch;
} orders_sim_opts_t;

/* Fills o with the defaults above. */
void orders_sim_opts_init(orders_sim_opts_t *o);

/* Loads the dataset, creates the df_client, starts the HTTP server and the
 * scheduler thread. Returns NULL with errstr set on failure. */
orders_sim_t *orders_sim_start(const orders_sim_opts_t *o, char *errstr, size_t errstr_size);

/* The port the HTTP server is bound to (the ephemeral one when port was 0). */
int orders_sim_port(const orders_sim_t *s);

/* The statistics as JSON text (the body of GET /stats); caller frees with
 * free(). NULL when out of memory. */
char *orders_sim_stats_json(orders_sim_t *s);

/* Stops the HTTP server and the scheduler, destroys the client and frees
 * everything. Completions not yet sent are discarded. NULL is a no-op. */
void orders_sim_stop(orders_sim_t *s);

#ifdef __cplusplus
}
#endif

#endif /* ORDERS_SIM_H */
