/*
 * orders_summary DATA_DIR - prints the expected demo summary computed in C
 * (ow_expected_summary) as JSON, for comparison with expected_summary.py.
 * Load problems go to stderr; exit status 1 if any, 2 if the load failed.
 */
#include "orders_logic.h"

#include <stdio.h>
#include <stdlib.h>

static void report(void *opaque, const char *file, long line, const char *message)
{
    (void)opaque;
    fprintf(stderr, "%s:%ld: %s\n", file, line, message);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : ORDERS_DATA_DIR;
    ow_dataset_t *ds = ow_dataset_load(dir, report, NULL);
    if (!ds)
        return 2;
    ow_summary_t s;
    char *json = NULL;
    int rc = 1;
    if (ow_expected_summary(ds, &s)) {
        json = ow_summary_to_json(&s);
        ow_summary_free(&s);
    }
    if (json) {
        fputs(json, stdout);
        rc = ow_dataset_problem_count(ds) ? 1 : 0;
    } else {
        fprintf(stderr, "out of memory\n");
    }
    free(json);
    ow_dataset_free(ds);
    return rc;
}
