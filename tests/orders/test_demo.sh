#!/usr/bin/env bash
# End-to-end test of the order example: runs `orders-demo --json` (the
# workflow over the 830 Northwind orders, with the timer service, workers and
# simulators in one process) and compares every figure with the independent
# Python computation (tests/orders/expected_summary.py): orders per outcome,
# revenue of confirmed orders, refunds (count and cents), confirmed orders per
# shipper, total orders; and checks the simulator's checks (no failed
# reservation, no duplicate confirmation, stock never negative, the sim's
# refunds and confirmations agree with the results).
#
# Usage: test_demo.sh MODE ORDERS_DEMO EXPECTED_SUMMARY_PY DATA_DIR [orders-demo options...]
#   MODE embedded  in-process mock cluster (DF_BROKERS is ignored)
#   MODE broker    the real broker in $DF_BROKERS (fails if it is empty)
# e.g. test_demo.sh embedded build/workers/orders/app/orders-demo \
#        tests/orders/expected_summary.py workers/orders/data --day-ms 200
# Without --day-ms the demo runs at its default scale (1 day = 1 s, ~85 s).
set -euo pipefail

if [ $# -lt 4 ]; then
  sed -n '2,20p' "$0" >&2
  exit 2
fi
mode=$1 demo=$2 expected_py=$3 data=$4
shift 4

case "$mode" in
  embedded) export DF_BROKERS= ;;
  broker)
    if [ -z "${DF_BROKERS:-}" ]; then
      echo "test_demo.sh: DF_BROKERS is not set: start a broker (scripts/kafka.sh start; eval \"\$(scripts/kafka.sh env)\")" >&2
      exit 1
    fi
    set -- --brokers "$DF_BROKERS" "$@" ;;
  *) echo "test_demo.sh: MODE must be embedded or broker (got '$mode')" >&2; exit 2 ;;
esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test-demo-XXXXXX")
trap 'rm -rf "$tmp"' EXIT

python3 "$expected_py" "$data" > "$tmp/expected.json"

echo "running: $demo --json --data $data $*"
start=$(date +%s)
set +e
"$demo" --json --data "$data" "$@" > "$tmp/actual.json" 2> "$tmp/progress.log"
rc=$?
set -e
end=$(date +%s)
echo "orders-demo exited with $rc after $((end - start)) s; last progress lines:"
tail -n 5 "$tmp/progress.log"

python3 - "$tmp/expected.json" "$tmp/actual.json" "$rc" <<'PY'
import json, sys

expected = json.load(open(sys.argv[1]))
try:
    actual = json.load(open(sys.argv[2]))
except ValueError as e:
    print(f"FAIL: orders-demo did not print a JSON summary ({e})")
    print(open(sys.argv[2]).read()[:2000])
    sys.exit(1)
rc = int(sys.argv[3])
errors = []

def check(name, got, want):
    status = "ok" if got == want else "MISMATCH"
    print(f"  {name:45} {str(got):>12} {str(want):>12}  {status}")
    if got != want:
        errors.append(f"{name}: got {got!r}, expected {want!r}")

print(f"  {'figure':45} {'orders-demo':>12} {'expected':>12}")
check("total_orders", actual.get("total_orders"), expected["total_orders"])
for k, v in sorted(expected["outcomes"].items()):
    check(f"outcomes.{k}", actual.get("outcomes", {}).get(k), v)
extra = {k: v for k, v in actual.get("outcomes", {}).items() if k not in expected["outcomes"] and v}
check("other outcomes", extra, {})
check("invalid orders", actual.get("outcomes", {}).get("invalid", 0), expected["invalid_orders"])
check("revenue_confirmed.cents", actual.get("revenue_confirmed", {}).get("cents"), expected["revenue_confirmed"]["cents"])
check("revenue_confirmed.amount", actual.get("revenue_confirmed", {}).get("amount"), expected["revenue_confirmed"]["amount"])
for k in ("count", "cents", "amount"):
    check(f"refunds.{k}", actual.get("refunds", {}).get(k), expected["refunds"][k])
for k, v in sorted(expected["confirmed_per_shipper"].items()):
    check(f"confirmed_per_shipper.{k}", actual.get("confirmed_per_shipper", {}).get(k), v)
check("failed executions", actual.get("failed"), 0)

checks = actual.get("checks", {})
for name in ("reservations failed", "duplicate confirmations", "stock went negative"):
    check(f"sim: {name}", checks.get(name, {}).get("value"), 0)
for name in ("orders confirmed (sim)", "refunds (sim)", "refunded cents (sim)"):
    c = checks.get(name, {})
    check(f"sim: {name}", c.get("value"), c.get("want", "?"))
check("sim checks all ok", checks.get("all_ok"), True)
check("all terminal", actual.get("all_terminal"), True)
check("orders-demo exit status", rc, 0)
print(f"  wall time of orders-demo: {actual.get('wall_time_s', 0):.1f} s "
      f"(day_ms {actual.get('day_ms')}, workers {actual.get('workers')})")
if errors:
    print("FAIL:\n  " + "\n  ".join(errors))
    if actual.get("first_failure"):
        print("  first failed execution: " + actual["first_failure"])
    sys.exit(1)
print("PASS: every figure matches expected_summary.py and the simulator's checks hold")
PY
