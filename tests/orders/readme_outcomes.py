#!/usr/bin/env python3
"""The README names every outcome an order can end with.

    readme_outcomes.py REPO

Reads the outcome names from workers/orders/app/order_summary.c (the table
the demo and the report count by; "other" is the catch-all, not an outcome
of the workflow) and checks that the README's quick start names each of them
as `name` (regression: `rejected` was missing).  Exit 0 when all are there.
"""
import re
import sys


def main():
    repo = sys.argv[1]
    src = open("%s/workers/orders/app/order_summary.c" % repo).read()
    m = re.search(r"outcome_names\[\]\s*=\s*\{([^}]*)\}", src)
    if not m:
        print("readme_outcomes: outcome_names not found in order_summary.c")
        return 1
    names = [n for n in re.findall(r'"([a-z_]+)"', m.group(1)) if n != "other"]
    readme = open("%s/README.md" % repo).read()
    quick = readme[readme.index("## Quick start"):readme.index("## Running a cluster")]
    missing = [n for n in names if "`%s`" % n not in quick]
    for n in names:
        print("%s %s" % ("ok    " if n not in missing else "NOT OK", n))
    print("readme_outcomes: %d outcomes, %d missing from the README's quick start" % (len(names), len(missing)))
    return 1 if missing or not names else 0


if __name__ == "__main__":
    sys.exit(main())
