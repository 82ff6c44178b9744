/*
 * order_workflow.h -- the "order" workflow: one durable execution per
 * Northwind order (execution id "order-<orderID>", input
 * {"order_id":N,"day_ms":M}), talking to the simulated outside world
 * (inventory, payments, warehouse, notices; see workers/orders/sim) over
 * HTTP.
 *
 *   receive -> reserve (map over the lines, concurrently: item line-<productID>
 *              runs step reserve-<productID>; a refused line -> release the
 *              others => rejected) -> payment (callback)
 *     declined / timed out    -> release-<productID>...   => payment_declined
 *   -> shipment (callback, dispatch; timeout = requiredDate + half a day)
 *     dispatch failed for good (all attempts) -> the execution FAILS (restartable)
 *     timed out -> late-notice -> shipment-late (callback, track; 30 days)
 *   -> shipped: confirmation (parallel: branch notice runs step confirm,
 *               branch ledger runs step ledger-entry) => confirmed_on_time | confirmed_late
 *   -> never:   release-<productID>..., refund, cancel-notice  => cancelled
 *
 * Output: {"order_id","outcome","total_cents","shipper_id","shipper",
 * "refund_cents"} (plus "reason" for declined / cancelled / rejected orders).
 * Days of the order's calendar last day_ms milliseconds of real time.
 *
 * This file (and order_workflow.c) is the only place of the order example's
 * business path that includes duraflow; the rules live in orders_logic.
 */
#ifndef OW_ORDER_WORKFLOW_H
#define OW_ORDER_WORKFLOW_H

#include "duraflow/duraflow.h"
#include "orders_logic.h"

#define OW_WORKFLOW_NAME "order"

/* Outcome names used in the output besides ow_outcome_name()'s: an order
 * whose reservation was refused (out of stock, unknown product). */
#define OW_OUTCOME_REJECTED_NAME "rejected"

typedef struct ow_flow ow_flow_t;

/* Per-worker state of the workflow: the (shared, read-only) dataset and a
 * pool of HTTP clients to the simulator at sim_url (step bodies of a map or
 * parallel run at the same time, each takes its own client).  Thread-safe.
 * NULL when out of memory. */
ow_flow_t *ow_flow_new(const ow_dataset_t *ds, const char *sim_url);
void ow_flow_free(ow_flow_t *f);

/* Register the "order" workflow on w with f as its state (f must outlive w). */
df_err_t ow_flow_register(df_worker_t *w, ow_flow_t *f);

/* The execution id of an order ("order-10248") into buf. */
void ow_flow_execution_id(int32_t order_id, char *buf, size_t size);

/* The input of an order's execution (JSON text) into buf; its length. */
size_t ow_flow_input(int32_t order_id, int64_t day_ms, char *buf, size_t size);

#endif
