#!/usr/bin/env bash
# End-to-end test of the order example. Compares every figure with the
# independent Python computation (tests/orders/expected_summary.py): orders per
# outcome, revenue of confirmed orders, refunds (count and cents), confirmed
# orders per shipper, total orders; and checks the simulator's checks (no
# failed reservation, no duplicate confirmation, stock never negative, the
# sim's refunds and confirmations agree with the results).
#
# Usage: test_demo.sh MODE PROGRAM EXPECTED_SUMMARY_PY DATA_DIR [options...]
#   MODE embedded  PROGRAM is orders-demo: `orders-demo --json [options]` on the
#                  in-process mock cluster (DF_BROKERS is ignored)
#   MODE broker    the same on the real broker in $DF_BROKERS (fails if unset)
#   MODE programs  PROGRAM is the directory of orders-worker, orders-load and
#                  orders-report; $ORDERS_SIM and $DURAFLOW_CLI name orders-sim
#                  and the duraflow CLI. On $DF_BROKERS: orders-sim, a timer
#                  service and a worker as separate processes; orders-load twice
#                  (the second run must start 0 new orders); the worker is
#                  killed (SIGKILL) mid-run and restarted; orders-report --json.
#                  Options: --day-ms N only.
# e.g. test_demo.sh embedded build/workers/orders/app/orders-demo \
#        tests/orders/expected_summary.py workers/orders/data --day-ms 500
# Without --day-ms orders-demo runs at its default scale (1 day = 1 s, ~85 s).
# KEEP_TMP=1 keeps the temporary directory (logs of every process).
set -euo pipefail

if [ $# -lt 4 ]; then
  sed -n '2,26p' "$0" >&2
  exit 2
fi
mode=$1 prog=$2 expected_py=$3 data=$4
shift 4

need_broker() {
  if [ -z "${DF_BROKERS:-}" ]; then
    echo "test_demo.sh: DF_BROKERS is not set: start a broker (scripts/kafka.sh start; eval \"\$(scripts/kafka.sh env)\")" >&2
    exit 1
  fi
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test-demo-XXXXXX")
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  [ -n "${KEEP_TMP:-}" ] && echo "kept $tmp" || rm -rf "$tmp"
}
trap cleanup EXIT

python3 "$expected_py" "$data" > "$tmp/expected.json"

run_demo() {
  echo "running: $prog --json --data $data $*"
  local start end
  start=$(date +%s)
  set +e
  "$prog" --json --data "$data" "$@" > "$tmp/actual.json" 2> "$tmp/progress.log"
  rc=$?
  set -e
  end=$(date +%s)
  echo "orders-demo exited with $rc after $((end - start)) s; last progress lines:"
  tail -n 5 "$tmp/progress.log" | cut -c1-240
  if [ $rc -ne 0 ]; then
    echo "--- warnings and errors of the run:"
    grep -E 'WARN|ERROR|orders-demo:|orders-sim:' "$tmp/progress.log" | head -n 20 || true
  fi
}

# Wait until file $1 contains regex $2 (at most $3 seconds).
wait_for() {
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    grep -qE "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "test_demo.sh: timed out waiting for '$2' in $1:" >&2
  cat "$1" >&2
  return 1
}

run_programs() {
  local day_ms=500 prefix state port sim_url w start
  while [ $# -gt 0 ]; do
    case "$1" in
      --day-ms) day_ms=$2; shift 2 ;;
      *) echo "test_demo.sh: programs mode takes --day-ms only (got '$1')" >&2; exit 2 ;;
    esac
  done
  : "${ORDERS_SIM:?set ORDERS_SIM to the orders-sim program}"
  : "${DURAFLOW_CLI:?set DURAFLOW_CLI to the duraflow program}"
  prefix="orders-programs-$$-$(date +%s)"
  state="$tmp/state"
  common=(--brokers "$DF_BROKERS" --prefix "$prefix")
  start=$(date +%s)

  "$ORDERS_SIM" "${common[@]}" --port 0 --day-ms "$day_ms" --data "$data" > "$tmp/sim.out" 2> "$tmp/sim.err" &
  pids+=($!)
  wait_for "$tmp/sim.out" 'listening on' 60
  port=$(sed -n 's/.*listening on [^ ]*:\([0-9]*\).*/\1/p' "$tmp/sim.out" | head -n 1)
  sim_url="http://127.0.0.1:$port"
  echo "orders-sim at $sim_url, topic prefix $prefix"

  "$DURAFLOW_CLI" "${common[@]}" -X state.dir="$state" -X worker.id=ts1 timer-service > "$tmp/ts.log" 2>&1 &
  pids+=($!)
  "$prog/orders-worker" "${common[@]}" --state-dir "$state" --sim "$sim_url" --data "$data" --worker-id w1 \
    > "$tmp/w1.log" 2>&1 &
  w=$!
  pids+=($w)
  wait_for "$tmp/w1.log" 'running workflow' 60

  "$prog/orders-load" "${common[@]}" --data "$data" --day-ms "$day_ms" | tee "$tmp/load1.txt"
  grep -q ': 830 new, 0 already started, 0 conflicting, 0 failed' "$tmp/load1.txt" ||
    { echo "FAIL: the first orders-load did not start 830 new orders"; exit 1; }
  "$prog/orders-load" "${common[@]}" --data "$data" --day-ms "$day_ms" | tee "$tmp/load2.txt"
  grep -q ': 0 new, 830 already started, 0 conflicting, 0 failed' "$tmp/load2.txt" ||
    { echo "FAIL: the second orders-load was not a no-op (0 new, 830 already started)"; exit 1; }

  # a crash mid-run: SIGKILL the worker, start it again with the same id
  sleep 3
  echo "killing the worker (SIGKILL) and starting it again"
  kill -KILL "$w"
  wait "$w" 2>/dev/null || true
  "$prog/orders-worker" "${common[@]}" --state-dir "$state" --sim "$sim_url" --data "$data" --worker-id w1 \
    > "$tmp/w1b.log" 2>&1 &
  pids+=($!)

  set +e
  "$prog/orders-report" "${common[@]}" --data "$data" --sim "$sim_url" --timeout 240 --json > "$tmp/actual.json" \
    2> "$tmp/report.err"
  rc=$?
  set -e
  echo "orders-report exited with $rc after $(($(date +%s) - start)) s"
  if [ $rc -ne 0 ]; then
    cat "$tmp/report.err"
    echo "--- worker logs:"
    grep -E 'WARN|ERROR' "$tmp/w1.log" "$tmp/w1b.log" | head -n 20 || true
  fi
}

case "$mode" in
  embedded) export DF_BROKERS= ; run_demo "$@" ;;
  broker) need_broker; run_demo --brokers "$DF_BROKERS" "$@" ;;
  programs) need_broker; run_programs "$@" ;;
  *) echo "test_demo.sh: MODE must be embedded, broker or programs (got '$mode')" >&2; exit 2 ;;
esac

python3 - "$tmp/expected.json" "$tmp/actual.json" "$rc" <<'PY'
import json, sys

expected = json.load(open(sys.argv[1]))
try:
    actual = json.load(open(sys.argv[2]))
except ValueError as e:
    print(f"FAIL: no JSON summary ({e})")
    print(open(sys.argv[2]).read()[:2000])
    sys.exit(1)
rc = int(sys.argv[3])
errors = []

def check(name, got, want):
    status = "ok" if got == want else "MISMATCH"
    print(f"  {name:45} {str(got):>12} {str(want):>12}  {status}")
    if got != want:
        errors.append(f"{name}: got {got!r}, expected {want!r}")

print(f"  {'figure':45} {'actual':>12} {'expected':>12}")
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
check("exit status", rc, 0)
if "wall_time_s" in actual:
    print(f"  wall time of orders-demo: {actual['wall_time_s']:.1f} s "
          f"(day_ms {actual.get('day_ms')}, workers {actual.get('workers')})")
if errors:
    print("FAIL:\n  " + "\n  ".join(errors))
    if actual.get("first_failure"):
        print("  first failed execution: " + actual["first_failure"])
    sys.exit(1)
print("PASS: every figure matches expected_summary.py and the simulator's checks hold")
PY
