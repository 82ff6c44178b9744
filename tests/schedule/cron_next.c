/*
 * cron_next -- the next fire times of cron expressions, for the croniter
 * oracle (oracle.py): reads lines "EXPR<TAB>ZONE<TAB>AFTER_MS<TAB>COUNT"
 * from stdin and prints, for each, COUNT fire times in UTC ms separated by
 * spaces (df_cron_next from each previous one), or "ERROR <message>".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duraflow/duraflow.h"

int main(void)
{
        char line[4096];
        while (fgets(line, sizeof(line), stdin)) {
                char *expr = strtok(line, "\t"), *zone = strtok(NULL, "\t"), *after = strtok(NULL, "\t"),
                     *count = strtok(NULL, "\t\n"), err[512];
                int64_t t;
                int n, i;
                if (!expr || !zone || !after || !count) {
                        printf("ERROR malformed line\n");
                        continue;
                }
                t = strtoll(after, NULL, 10);
                n = atoi(count);
                for (i = 0; i < n; i++) {
                        int64_t next;
                        df_err_t rc = df_cron_next(expr, zone, t, &next, err, sizeof(err));
                        if (rc != DF_OK) {
                                printf("%sERROR %s", i ? " " : "", err);
                                break;
                        }
                        printf("%s%lld", i ? " " : "", (long long)next);
                        t = next;
                }
                printf("\n");
                fflush(stdout);
        }
        return 0;
}
