/*
 * order_summary.h -- tally of the order workflow's terminal results and the
 * summary that orders-report and orders-demo print.  Plain C + jansson: no
 * duraflow include.
 *
 * The JSON form uses the field names of tests/orders/expected_summary.py
 * (outcomes, revenue_confirmed {cents, amount}, refunds {count, cents,
 * amount}, confirmed_per_shipper, total_orders), plus "failed" (executions
 * that ended FAILED / STOPPED / TIMED_OUT), "sim" (the simulator's /stats)
 * and "checks".
 */
#ifndef OW_ORDER_SUMMARY_H
#define OW_ORDER_SUMMARY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "orders_logic.h"

typedef struct ow_tally ow_tally_t;

/* A tally over the orders of ds (borrowed; must outlive the tally). */
ow_tally_t *ow_tally_new(const ow_dataset_t *ds);
void ow_tally_free(ow_tally_t *t);

/*
 * Count one terminal result (status "SUCCEEDED", "FAILED", ...; output the
 * workflow's output JSON).  Results are deduplicated by execution id: returns
 * 1 when counted, 0 for a duplicate or an execution that is not an order of
 * the dataset ("order-<id>").
 */
int ow_tally_add(ow_tally_t *t, const char *execution_id, const char *status, const void *output, size_t len,
                 const char *error);

/* Distinct orders with a terminal result so far. */
size_t ow_tally_done(const ow_tally_t *t);
/* Orders so far with outcome name (e.g. "confirmed_late"); 0 if none. */
size_t ow_tally_outcome(const ow_tally_t *t, const char *outcome);
/* Executions that ended FAILED, STOPPED or TIMED_OUT. */
size_t ow_tally_failed(const ow_tally_t *t);

/* The execution ids of up to max orders among the first n of the dataset
 * without a result yet, space separated, into buf; how many are missing. */
size_t ow_tally_missing(const ow_tally_t *t, size_t n, size_t max, char *buf, size_t size);

/* Outcome counts for a progress line: "on_time 12  late 0  cancelled 0
 * declined 3" (+ invalid / rejected / other / FAILED when non-zero). */
void ow_tally_progress(const ow_tally_t *t, char *buf, size_t size);

/*
 * The summary as a JSON object (new reference).  sim_stats (borrowed, may
 * be NULL) is added under "sim", and the simulator checks under "checks".
 */
json_t *ow_tally_to_json(const ow_tally_t *t, json_t *sim_stats);

/*
 * Checks of the simulator's counters: reservations failed = 0, duplicate
 * confirmations = 0, stock never negative, and the simulator's refunds and
 * confirmations agree with the results.  Writes one line per check to f (if
 * f), returns 1 when all hold, 0 otherwise (or when sim_stats is NULL).
 */
int ow_sim_checks(const ow_tally_t *t, json_t *sim_stats, FILE *f);

/* Human summary (orders per outcome, revenue, refunds, per shipper, sim
 * checks when sim_stats is given). */
void ow_tally_print(const ow_tally_t *t, json_t *sim_stats, FILE *f);

/* 1 when the tally's figures equal the expected summary computed from the
 * data (ow_expected_summary); the differences go to f (if f). */
int ow_tally_matches_expected(const ow_tally_t *t, FILE *f);

#endif
