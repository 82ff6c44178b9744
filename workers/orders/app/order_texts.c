/* order_texts.c -- see order_texts.h. */
#include "order_texts.h"

#include <stdio.h>
#include <stdlib.h>

char *ow_cancellation_text(const ow_order_t *o, int64_t refund_cents)
{
        char due[32], amount[32];
        char *s;
        int n;

        ow_format_date(o->required_date_ms, due, sizeof(due));
        ow_format_cents(refund_cents, amount, sizeof(amount));
        n = snprintf(NULL, 0,
                     "Dear %s, your order %ld, due on %s, could not be shipped within %d days of its due "
                     "date and has been cancelled. %s has been refunded in full.",
                     o->ship_name, (long)o->order_id, due, OW_LATE_GRACE_DAYS, amount);
        if (n < 0 || !(s = malloc((size_t)n + 1)))
                return NULL;
        snprintf(s, (size_t)n + 1,
                 "Dear %s, your order %ld, due on %s, could not be shipped within %d days of its due "
                 "date and has been cancelled. %s has been refunded in full.",
                 o->ship_name, (long)o->order_id, due, OW_LATE_GRACE_DAYS, amount);
        return s;
}
