#!/usr/bin/env bash
# The order example as a cluster of processes on a real Kafka broker
# (scripts/cluster.sh): a timer service, the simulator and 3 workers; all 830
# orders loaded; one worker SIGKILLed mid-run and restarted; then the report's
# figures must equal the ones computed independently from the CSVs
# (tests/orders/expected_summary.py) and the simulator's checks must hold
# (no duplicate confirmation, nothing out of stock, stock never negative).
#
# Usage: tests/cluster/test_cluster.sh [BUILD_DIR]     (default <repo>/build)
#
# Needs DF_BROKERS (scripts/kafka.sh start; eval "$(scripts/kafka.sh env)"):
# without it the test FAILS, it is never skipped. Topics get a fresh prefix.
#
# Environment:
#   DF_CLUSTER_TEST_DAY_MS   ms per day of the orders' calendar (default 1000;
#                            the run lasts about 80 days of it)
#   DF_CLUSTER_TEST_LIMIT    load only the first N orders (default all 830;
#                            the figures are compared only for all 830)
#   DF_CLUSTER_TEST_TIMEOUT  seconds to wait for the results (default 420)
#   DF_CLUSTER_TEST_KEEP=1   keep the run dir (logs, stores) afterwards
#   DF_CLUSTER_TEST_X        NAME=VALUE settings (space separated) for every
#                            program, e.g. replication.factor=3 on a cluster
#   DF_CLUSTER_TEST_TOOL, DF_CLUSTER_TEST_MIN_REPLICAS
#                            tests/cluster/cluster_tool and the replicas every
#                            partition of the topics must have (the
#                            multibroker variant: 3)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD="$(cd "${1:-${DF_BUILD_DIR:-$ROOT/build}}" && pwd)"
CL="$ROOT/scripts/cluster.sh"
DAY_MS="${DF_CLUSTER_TEST_DAY_MS:-1000}"
LIMIT="${DF_CLUSTER_TEST_LIMIT:-}"
RESULT_TIMEOUT="${DF_CLUSTER_TEST_TIMEOUT:-420}"
WORKERS=3
KILLED=2

T0=$SECONDS
PASS=0 FAIL=0
log() { printf '[%4ds] %s\n' "$((SECONDS - T0))" "$*"; }
ok() { PASS=$((PASS + 1)); printf 'ok     %s\n' "$*"; }
not_ok() { FAIL=$((FAIL + 1)); printf 'NOT OK %s\n' "$*"; }
finish() {
  printf 'cluster: %d passed, %d failed\n' "$PASS" "$FAIL"
}

if [ -z "${DF_BROKERS:-}" ]; then
  echo "test_cluster: DF_BROKERS is not set: start a broker first" >&2
  echo "  scripts/kafka.sh start && eval \"\$(scripts/kafka.sh env)\" && export DF_BROKERS" >&2
  FAIL=1
  finish
  exit 1
fi
for p in framework/tools/duraflow workers/orders/app/orders-worker workers/orders/app/orders-load \
         workers/orders/app/orders-report workers/orders/sim/orders-sim; do
  if [ ! -x "$BUILD/$p" ]; then
    echo "test_cluster: $BUILD/$p is not built" >&2
    FAIL=1
    finish
    exit 1
  fi
done

PREFIX="dfcluster-$(date +%s)-$$"
RUN="$(mktemp -d "${TMPDIR:-/tmp}/df-cluster-test.XXXXXX")"
export DF_CLUSTER_DIR="$RUN" DF_BUILD_DIR="$BUILD" DF_CLUSTER_READY_TIMEOUT=90
LOAD_PID=""

# After a failure: every order whose outcome is not the expected one, with
# its operations (tests/cluster/diagnose_outcomes.py, through the console),
# and per partition of <prefix>.events the last offset a read_committed
# reader reaches against the last one written (an open transaction holding
# the last stable offset back shows as a gap).
diagnose() {
  local url
  url="$(timeout 30 "$CL" env 2>/dev/null | sed -n 's/^DF_CONSOLE_URL=//p')"
  [ -f "$RUN/report.json" ] && [ -n "$url" ] &&
    DF_DIAG_PREFIX="$PREFIX" timeout 300 python3 "$ROOT/tests/cluster/diagnose_outcomes.py" "$ROOT/workers/orders/data" "$url" \
      "$RUN/report.json" 10
  if command -v kcat >/dev/null 2>&1; then
    local p rc_off ru_off
    for p in 0 1 2 3 4 5 6 7 8 9 10 11; do
      ru_off="$(timeout 20 kcat -b "$DF_BROKERS" -C -t "$PREFIX.events" -p "$p" -o -3 -e -q -f '%o\n' 2>/dev/null | tail -n 1)"
      [ -n "$ru_off" ] || continue
      rc_off="$(timeout 20 kcat -b "$DF_BROKERS" -X isolation.level=read_committed -C -t "$PREFIX.events" -p "$p" \
        -o -3 -e -q -f '%o\n' 2>/dev/null | tail -n 1)"
      echo "diagnose: $PREFIX.events[$p]: last offset read_uncommitted ${ru_off:-none}, read_committed ${rc_off:-none}"
    done
  fi
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$LOAD_PID" ] && kill -0 "$LOAD_PID" 2>/dev/null; then
    kill -TERM "$LOAD_PID" 2>/dev/null || true
    wait "$LOAD_PID" 2>/dev/null || true
  fi
  if [ "$FAIL" -gt 0 ] || [ "$rc" -ne 0 ]; then
    for f in "$RUN"/logs/*.log "$RUN"/load.out; do
      [ -f "$f" ] || continue
      echo "---- last lines of $f ----"
      grep -v '^{' "$f" | tail -n 25 || true
    done
    diagnose || true
  fi
  timeout 120 "$CL" down >/dev/null 2>&1 || echo "test_cluster: cluster.sh down failed" >&2
  # nothing this test started may outlive it
  if [ -d "$RUN/pids" ]; then
    for f in "$RUN"/pids/*.pid; do
      [ -f "$f" ] || continue
      read -r pid _ <"$f"
      kill -KILL "$pid" 2>/dev/null && echo "test_cluster: killed leftover pid $pid" >&2
    done
  fi
  if [ "${DF_CLUSTER_TEST_KEEP:-0}" = 1 ]; then
    echo "test_cluster: kept $RUN"
  else
    rm -rf "$RUN"
  fi
  [ "$rc" -ne 0 ] && [ "$FAIL" -eq 0 ] && FAIL=1
  finish
  log "wall time $((SECONDS - T0)) s"
  [ "$FAIL" -eq 0 ] && exit 0
  exit 1
}
trap cleanup EXIT
trap 'echo "test_cluster: unexpected failure at line $LINENO" >&2' ERR
trap 'echo "test_cluster: interrupted" >&2; exit 130' INT TERM

# Partial results: how many orders are terminal now (never waits).
done_count() {
  timeout 60 "$CL" report --json --expect 830 --timeout 1 2>/dev/null |
    python3 -c 'import json,sys
try: print(json.load(sys.stdin).get("total_orders", 0))
except Exception: print(0)' || true
}

# ---------------------------------------------------------------------------
log "broker $DF_BROKERS, prefix $PREFIX, $WORKERS workers, day ${DAY_MS} ms, run dir $RUN"
UP_X=()
for x in ${DF_CLUSTER_TEST_X:-}; do UP_X+=(-X "$x"); done
if timeout 240 "$CL" up --workers "$WORKERS" --prefix "$PREFIX" --day-ms "$DAY_MS" --console-port 0 "${UP_X[@]}"; then
  ok "cluster.sh up --workers $WORKERS ${DF_CLUSTER_TEST_X:-}"
else
  not_ok "cluster.sh up --workers $WORKERS"
  exit 1
fi
if [ -n "${DF_CLUSTER_TEST_MIN_REPLICAS:-}" ]; then
  leaders="$("${DF_CLUSTER_TEST_TOOL:?DF_CLUSTER_TEST_TOOL names tests/cluster/cluster_tool}" leaders \
    --brokers "$DF_BROKERS" --prefix "$PREFIX" 2>&1 | tail -n 1)"
  reps="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["min_replicas"])' "$leaders" 2>/dev/null || echo "?")"
  if [ "$reps" = "$DF_CLUSTER_TEST_MIN_REPLICAS" ]; then
    ok "every partition of $PREFIX.* has $reps replicas ($leaders)"
  else
    not_ok "partitions of $PREFIX.* have $reps replicas, want $DF_CLUSTER_TEST_MIN_REPLICAS ($leaders)"
  fi
fi
if timeout 30 "$CL" status; then ok "status: every process alive"; else not_ok "status after up"; fi

EXPECT=830
LOAD_ARGS=()
if [ -n "$LIMIT" ]; then
  EXPECT="$LIMIT"
  LOAD_ARGS=(--limit "$LIMIT")
fi
log "loading $EXPECT orders"
timeout 300 "$CL" load "${LOAD_ARGS[@]}" >"$RUN/load.out" 2>&1 &
LOAD_PID=$!

# Mid-run: orders started and in flight, the load possibly still running.
sleep 8
before="$(done_count)"
log "before the crash: $before of $EXPECT orders terminal"
if [ "$before" -lt "$EXPECT" ]; then
  ok "worker killed mid-run ($before of $EXPECT terminal)"
else
  not_ok "the run was over before the worker could be killed ($before terminal)"
fi
if timeout 30 "$CL" kill-worker "$KILLED"; then ok "kill-worker $KILLED (SIGKILL)"; else not_ok "kill-worker $KILLED"; fi
if ! timeout 30 "$CL" status >/dev/null; then
  ok "status reports worker-$KILLED dead"
else
  not_ok "status still says every process is alive after SIGKILL"
fi
sleep 3
RESTART_OFF="$(stat -c %s "$RUN/logs/worker-$KILLED.log")"
if timeout 120 "$CL" start-worker "$KILLED"; then ok "start-worker $KILLED"; else not_ok "start-worker $KILLED"; fi

if wait "$LOAD_PID"; then
  ok "$(tail -n 1 "$RUN/load.out")"
else
  not_ok "orders-load failed: $(tail -n 3 "$RUN/load.out")"
fi
LOAD_PID=""

log "waiting up to ${RESULT_TIMEOUT} s for $EXPECT results"
rc=0
timeout $((RESULT_TIMEOUT + 60)) "$CL" report --json --expect "$EXPECT" --timeout "$RESULT_TIMEOUT" \
  >"$RUN/report.json" 2>"$RUN/report.err" || rc=$?
log "orders-report exit status $rc"
if [ "$rc" -eq 0 ]; then ok "orders-report: all $EXPECT results in, its own checks hold"; else
  not_ok "orders-report exit status $rc: $(tail -n 3 "$RUN/report.err")"; fi
timeout 60 "$CL" report --expect "$EXPECT" --timeout 30 2>&1 | sed 's/^/  | /' || true

if tail -c +"$((RESTART_OFF + 1))" "$RUN/logs/worker-$KILLED.log" |
   grep -qE "worker $PREFIX-worker-$KILLED: assigned [1-9]"; then
  ok "the restarted worker-$KILLED got partitions again"
else
  echo "  (the restarted worker-$KILLED got no partition: the group gave them to the others)"
fi
if timeout 30 "$CL" status >/dev/null; then ok "status: every process alive at the end"; else not_ok "status at the end"; fi

python3 "$ROOT/tests/orders/expected_summary.py" "$ROOT/workers/orders/data" >"$RUN/expected.json"

# Compare: one line per figure.
while IFS= read -r line; do
  case "$line" in
    ok\ *) ok "${line#ok }" ;;
    *) not_ok "${line#fail }" ;;
  esac
done < <(python3 - "$RUN/report.json" "$RUN/expected.json" "$EXPECT" <<'EOF'
import json, sys

def load(p):
    try:
        with open(p) as f:
            return json.load(f)
    except Exception as e:
        print(f"fail cannot read {p}: {e}")
        sys.exit(0)

rep, exp, n = load(sys.argv[1]), load(sys.argv[2]), int(sys.argv[3])

def check(name, got, want):
    print(("ok " if got == want else "fail ") + f"{name}: {got!r}" + ("" if got == want else f" (want {want!r})"))

check("orders terminal", rep.get("total_orders"), n)
check("failed executions", rep.get("failed"), 0)
sim = rep.get("sim") or {}
check("sim duplicate_confirmations", sim.get("duplicate_confirmations"), 0)
check("sim out_of_stock", sim.get("out_of_stock"), 0)
check("sim stock_negative", sim.get("stock_negative"), False)
check("report checks all_ok", (rep.get("checks") or {}).get("all_ok"), True)
if n == 830:
    want = {"payment_declined": 12, "confirmed_on_time": 761, "confirmed_late": 36, "cancelled": 21}
    check("outcomes = expected_summary.py", rep.get("outcomes"), exp.get("outcomes"))
    check("outcomes = 12/761/36/21", rep.get("outcomes"), want)
    check("confirmed per shipper", rep.get("confirmed_per_shipper"), exp.get("confirmed_per_shipper"))
    check("revenue of confirmed orders (cents)", (rep.get("revenue_confirmed") or {}).get("cents"),
          exp["revenue_confirmed"]["cents"])
    check("refunds (count)", (rep.get("refunds") or {}).get("count"), exp["refunds"]["count"])
    check("refunds (cents)", (rep.get("refunds") or {}).get("cents"), exp["refunds"]["cents"])
EOF
)
