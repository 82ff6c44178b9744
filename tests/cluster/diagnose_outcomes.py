#!/usr/bin/env python3
"""When an orders run ends with other outcomes than expected_summary.py's,
print what is needed to tell why, for each order whose outcome differs:
its expected and actual outcome, its shipment dates, and every operation
of its execution from the console's API (status, attempt, times relative
to the execution's start, result or error), then the simulator's counters.

Usage: diagnose_outcomes.py DATA_DIR CONSOLE_URL REPORT_JSON [MAX_ORDERS]

Reads only; prints to stdout; exit status 0 (a diagnosis, not a check).
"""

import json
import os
import shutil
import subprocess
import sys
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "orders"))
import expected_summary as es  # noqa: E402


def expected_outcomes(data_dir):
    """order id -> outcome, by the same rules as expected_summary.summarize."""
    shippers, products, customers, orders = es.load(data_dir)
    out = {}
    for oid, o in orders.items():
        valid = (o["customer"] in customers and o["via"] in shippers and o["lines"]
                 and o["freight"] >= 0
                 and all(pid in products and qty > 0 and price >= 0 and 0 <= disc <= 1
                         for pid, price, qty, disc in o["lines"]))
        if not valid:
            continue
        total = (sum((es.line_value(x) for x in o["lines"]), es.Decimal(0)) + o["freight"]
                 ).quantize(es.CENT, rounding=es.ROUND_HALF_UP)
        if total > es.CREDIT_LIMIT:
            out[oid] = "payment_declined", o
        elif o["shipped"] is None or o["shipped"] > o["required"] + es.GRACE:
            out[oid] = "cancelled", o
        elif o["shipped"] <= o["required"]:
            out[oid] = "confirmed_on_time", o
        else:
            out[oid] = "confirmed_late", o
    return out


def get(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.load(r)


def main(argv):
    if len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 0
    data_dir, console, report = argv[1], argv[2].rstrip("/"), argv[3]
    limit = int(argv[4]) if len(argv) > 4 else 10
    shown = 0
    try:
        want = expected_outcomes(data_dir)
    except Exception as e:  # a diagnosis never fails the run itself
        print(f"diagnose: cannot compute the expected outcomes: {e}")
        return 0
    wrong = []
    for oid, (outcome, o) in sorted(want.items()):
        try:
            ex = get(f"{console}/api/v1/executions/order-{oid}")
        except Exception as e:
            wrong.append((oid, outcome, f"(console: {e})", o, None))
            continue
        got = ex.get("outcome") or ex.get("status")
        if got != outcome:
            wrong.append((oid, outcome, got, o, ex))
    print(f"diagnose: {len(wrong)} order(s) with another outcome than expected")
    for oid, outcome, got, o, ex in wrong:
        print(f"diagnose: order {oid}: expected {outcome}, got {got}; ordered {o['order_date'] if 'order_date' in o else '?'}"
              f" required {o['required']} shipped {o['shipped']}")
        if ex is None or shown >= limit:
            continue
        shown += 1
        t0 = ex.get("created_ms") or 0
        print(f"diagnose:   status {ex.get('status')}, created {t0}, ended {ex.get('ended_ms')}, "
              f"output {str((ex.get('output') or {}).get('text', ''))[:200]}")
        for op in ex.get("operations") or []:
            rel = lambda ms: f"{(ms - t0) / 1000:+.3f}s" if ms else "-"
            res = op.get("error") or op.get("result") or ""
            if isinstance(res, dict):
                res = res.get("text", res)
            print(f"diagnose:   {op.get('op_id', ''):8} {op.get('type', ''):9} {op.get('status', ''):10} "
                  f"att {op.get('attempt', '')} {op.get('name', ''):22} start {rel(op.get('started_ms'))} "
                  f"end {rel(op.get('updated_ms'))} due {rel(op.get('due_ms'))} {str(res)[:160]}")
    # The records of those orders in <prefix>.events, as a read_uncommitted
    # and as a read_committed reader sees them (kcat, when installed): was a
    # completion written, and is it visible?
    brokers, prefix = os.environ.get("DF_BROKERS"), os.environ.get("DF_DIAG_PREFIX")
    if wrong and brokers and prefix and shutil.which("kcat"):
        keys = {f"order-{w[0]}" for w in wrong[:limit]}
        for iso in ("read_uncommitted", "read_committed"):
            try:
                run = subprocess.run(["kcat", "-b", brokers, "-X", f"isolation.level={iso}", "-C", "-t",
                                      f"{prefix}.events", "-o", "beginning", "-e", "-q", "-f",
                                      "%p %o %T %k %S\n"], capture_output=True, text=True, timeout=60)
            except Exception as e:
                print(f"diagnose: kcat ({iso}): {e}")
                continue
            for line in run.stdout.splitlines():
                f = line.split()
                if len(f) == 5 and f[3] in keys:
                    print(f"diagnose: {iso}: {prefix}.events[{f[0]}] offset {f[1]} ts {f[2]} key {f[3]} "
                          f"{f[4]} bytes")
    try:
        with open(report) as f:
            sim = json.load(f).get("sim")
        print("diagnose: simulator counters: " + json.dumps(sim, sort_keys=True))
    except Exception as e:
        print(f"diagnose: no simulator counters ({e})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
