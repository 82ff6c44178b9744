#!/usr/bin/env bash
# The console in a real headless Chromium against a real broker: the 830
# orders run on a cluster of processes (scripts/cluster.sh, with
# console-test-worker as the workers: the orders plus the workflow
# "parked"), the console follows it, and tests/console/browser.mjs drives
# the page: counts per outcome = the run's summary, filter cancelled and
# open one (late notice, 30-day wait, refund), open a declined order (the
# payment callback's failure as the point of failure), complete the callback
# of a parked execution (refused without the token, done with it).
# Screenshots: BUILD_DIR/tests/console/screenshots/*.png.
#
# Usage: tests/console/test_console_browser.sh [BUILD_DIR]
# Needs DF_BROKERS (fails without it, never skips), /usr/bin/chromium
# (scripts/setup.sh), node and npm; playwright-core is installed into
# $DF_NPM_CACHE (default /var/cache/duraflow/npm, else
# $HOME/.cache/duraflow/npm) when missing: never into the repository.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD="$(cd "${1:-${DF_BUILD_DIR:-$ROOT/build}}" && pwd)"
CL="$ROOT/scripts/cluster.sh"
PLAYWRIGHT_VERSION=1.65.1
DAY_MS=1000
T0=$SECONDS
log() { printf '[%4ds] %s\n' "$((SECONDS - T0))" "$*"; }
fail() { echo "test_console_browser: $*" >&2; echo "console_browser: 0 passed, 1 failed"; exit 1; }

[ -n "${DF_BROKERS:-}" ] || fail "DF_BROKERS is not set: start a broker first (scripts/kafka.sh start; eval \"\$(scripts/kafka.sh env)\")"
[ -x /usr/bin/chromium ] || fail "/usr/bin/chromium is missing: run scripts/setup.sh (Debian package chromium)"
command -v node >/dev/null && command -v npm >/dev/null || fail "node and npm are needed (scripts/setup.sh)"
for p in tests/console/console-test-worker framework/tools/duraflow workers/orders/sim/orders-sim \
         workers/orders/app/orders-load workers/orders/app/orders-report; do
  [ -x "$BUILD/$p" ] || fail "$BUILD/$p is not built"
done

# playwright-core, in a cache outside the repository (CI's clone is fresh)
NPM_CACHE="${DF_NPM_CACHE:-/var/cache/duraflow/npm}"
if ! mkdir -p "$NPM_CACHE" 2>/dev/null || [ ! -w "$NPM_CACHE" ]; then NPM_CACHE="$HOME/.cache/duraflow/npm"; fi
if ! grep -qs "\"version\": \"$PLAYWRIGHT_VERSION\"" "$NPM_CACHE/node_modules/playwright-core/package.json"; then
  log "installing playwright-core@$PLAYWRIGHT_VERSION into $NPM_CACHE"
  mkdir -p "$NPM_CACHE"
  timeout 300 npm install --no-audit --no-fund --prefix "$NPM_CACHE" "playwright-core@$PLAYWRIGHT_VERSION" >&2 ||
    fail "npm install playwright-core failed"
fi

PREFIX="dfconsole-$(date +%s)-$$"
RUN="$(mktemp -d "${TMPDIR:-/tmp}/df-console-browser.XXXXXX")"
TOKEN="browser-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
export DF_CLUSTER_DIR="$RUN" DF_BUILD_DIR="$BUILD" DF_CLUSTER_READY_TIMEOUT=90
export DF_CLUSTER_WORKER="$BUILD/tests/console/console-test-worker" DF_CONSOLE_TOKEN="$TOKEN"
OUT="$BUILD/tests/console/screenshots"
cleanup() {
  local rc=$?
  trap - EXIT
  if [ "$rc" -ne 0 ]; then
    for f in "$RUN"/logs/console.log "$RUN"/logs/worker-1.log; do
      [ -f "$f" ] && { echo "---- last lines of $f ----"; tail -n 20 "$f"; }
    done
  fi
  timeout 120 "$CL" down >/dev/null 2>&1 || echo "test_console_browser: cluster.sh down failed" >&2
  if [ -d "$RUN/pids" ]; then
    for f in "$RUN"/pids/*.pid; do
      [ -f "$f" ] || continue
      read -r pid _ <"$f"
      kill -KILL "$pid" 2>/dev/null && echo "test_console_browser: killed leftover pid $pid" >&2
    done
  fi
  [ "${DF_CONSOLE_TEST_KEEP:-0}" = 1 ] && echo "kept $RUN" || rm -rf "$RUN"
  exit "$rc"
}
trap cleanup EXIT

log "broker $DF_BROKERS, prefix $PREFIX, run dir $RUN"
timeout 240 "$CL" up --workers 2 --prefix "$PREFIX" --day-ms "$DAY_MS" --console-port 0 >"$RUN/up.out" 2>&1 ||
  { cat "$RUN/up.out"; fail "cluster.sh up failed"; }
eval "$("$CL" env)"
log "console at $DF_CONSOLE_URL"
"$BUILD/framework/tools/duraflow" --brokers "$DF_BROKERS" --prefix "$PREFIX" start parked parked-1 --input '{}' ||
  fail "cannot start the parked execution"
# an input with C0/C1 and bidi controls: the page shows them escaped
"$BUILD/framework/tools/duraflow" --brokers "$DF_BROKERS" --prefix "$PREFIX" start parked bidi-1 \
  --input $'a\x1b[2Jb\x07\u0085 \u202E rtl \u2066x\u2069 \u200F' || fail "cannot start the execution bidi-1"
timeout 300 "$CL" load >"$RUN/load.out" 2>&1 || { tail -n 5 "$RUN/load.out"; fail "orders-load failed"; }
log "$(tail -n 1 "$RUN/load.out")"
timeout 560 "$CL" report --json --expect 830 --timeout 500 >"$RUN/report.json" 2>"$RUN/report.err" ||
  { tail -n 5 "$RUN/report.err"; fail "orders-report: not all 830 results"; }
log "report: $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["outcomes"])' "$RUN/report.json")"

# the console has indexed every finished order
deadline=$((SECONDS + 90))
until python3 - "$DF_CONSOLE_URL" <<'PY'
import json, sys, urllib.request
c = json.load(urllib.request.urlopen(sys.argv[1] + "/api/v1/counts", timeout=5))
sys.exit(0 if sum(v for k, v in c["outcome"].items() if k != "approved") == 830 else 1)
PY
do
  [ $SECONDS -lt $deadline ] || fail "the console did not index the 830 finished orders within 90 s"
  sleep 1
done
log "console: $(curl -s "$DF_CONSOLE_URL/api/v1/status")"

rc=0
timeout 300 node "$ROOT/tests/console/browser.mjs" "$DF_CONSOLE_URL" "$TOKEN" "$RUN/report.json" "$OUT" \
  "$NPM_CACHE" "$DAY_MS" || rc=$?
grep -q 'action complete by token "token1" on execution parked-1 operation' "$RUN/logs/console.log" &&
  echo "ok     the console logged the action with its token id" ||
  { echo "NOT OK the console did not log the action"; rc=1; }
ls -l "$OUT"/*.png 2>/dev/null || true
log "wall time $((SECONDS - T0)) s"
exit $rc
