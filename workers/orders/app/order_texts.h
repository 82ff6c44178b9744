/*
 * order_texts.h -- texts of the order workflow that orders_logic does not
 * provide.  Plain C, no duraflow include (business logic stays portable).
 */
#ifndef OW_ORDER_TEXTS_H
#define OW_ORDER_TEXTS_H

#include <stdint.h>

#include "orders_logic.h"

/* Cancellation notice for an order that never shipped (or shipped more than
 * OW_LATE_GRACE_DAYS late): names the refund.  malloc'd, caller frees; NULL
 * when out of memory. */
char *ow_cancellation_text(const ow_order_t *order, int64_t refund_cents);

/* Payment-declined notice is not sent (the payment provider tells the
 * customer); declined orders only release their reservations. */

#endif
