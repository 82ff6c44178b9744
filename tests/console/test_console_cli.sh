#!/usr/bin/env bash
# `duraflow describe`, `history` and `list` through a console (--console URL,
# $DF_CONSOLE_URL) print the same as when they read the changelog: a cluster
# (scripts/cluster.sh, real broker in $DF_BROKERS; fails without it) runs 40
# orders to their end plus one parked execution (callback pending, its id
# shown with $DF_CONSOLE_TOKEN), then each command's text and --json output
# is compared byte for byte, for every execution.
#
# Usage: tests/console/test_console_cli.sh [BUILD_DIR]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD="$(cd "${1:-${DF_BUILD_DIR:-$ROOT/build}}" && pwd)"
CL="$ROOT/scripts/cluster.sh"
DF="$BUILD/framework/tools/duraflow"
PASS=0 FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok     $*"; }
not_ok() { FAIL=$((FAIL + 1)); echo "NOT OK $*"; }
[ -n "${DF_BROKERS:-}" ] || { echo "test_console_cli: DF_BROKERS is not set: start a broker first" >&2; echo "console_cli: 0 passed, 1 failed"; exit 1; }

PREFIX="dfconsolecli-$(date +%s)-$$"
RUN="$(mktemp -d "${TMPDIR:-/tmp}/df-console-cli.XXXXXX")"
export DF_CLUSTER_DIR="$RUN" DF_BUILD_DIR="$BUILD" DF_CLUSTER_READY_TIMEOUT=90
export DF_CLUSTER_WORKER="$BUILD/tests/console/console-test-worker"
export DF_CONSOLE_TOKEN="cli-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
cleanup() {
  local rc=$?
  timeout 120 "$CL" down >/dev/null 2>&1 || true
  rm -rf "$RUN"
  echo "console_cli: $PASS passed, $FAIL failed"
  [ "$FAIL" -eq 0 ] && [ "$rc" -eq 0 ] && exit 0
  exit 1
}
trap cleanup EXIT

timeout 240 "$CL" up --workers 1 --prefix "$PREFIX" --day-ms 200 --console-port 0 >"$RUN/up.out" 2>&1 ||
  { cat "$RUN/up.out"; not_ok "cluster.sh up"; exit 1; }
eval "$("$CL" env)"
"$DF" --brokers "$DF_BROKERS" --prefix "$PREFIX" start parked parked-1 --input '{"x":1}' >/dev/null
# "." and ".." are valid execution ids: the console must serve them too
"$DF" --brokers "$DF_BROKERS" --prefix "$PREFIX" start parked . --input '{"x":2}' >/dev/null
"$DF" --brokers "$DF_BROKERS" --prefix "$PREFIX" start parked .. --input '{"x":3}' >/dev/null
timeout 120 "$CL" load --limit 40 >"$RUN/load.out" 2>&1 || { not_ok "orders-load"; exit 1; }
timeout 200 "$CL" report --json --expect 40 --timeout 150 >"$RUN/report.json" 2>&1 || { not_ok "40 orders finished"; exit 1; }
# the console has all 43 executions with their last records
deadline=$((SECONDS + 60))
until [ "$(curl -s "$DF_CONSOLE_URL/api/v1/status" | python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["executions"] if s["lag"] == 0 else -1)')" = 43 ]; do
  [ $SECONDS -lt $deadline ] || { not_ok "console indexed 43 executions"; exit 1; }
  sleep 1
done
sleep 1
ok "console at $DF_CONSOLE_URL indexed 43 executions"

cmp_out() { # name args...: the same output with and without the console
  local name="$1"; shift
  local a b
  a="$("$DF" --brokers "$DF_BROKERS" --prefix "$PREFIX" "$@" 2>&1; echo "exit $?")"
  b="$("$DF" --brokers "$DF_BROKERS" --prefix "$PREFIX" "$@" --console "$DF_CONSOLE_URL" 2>&1; echo "exit $?")"
  if [ "$a" = "$b" ]; then return 0; fi
  echo "---- $name: changelog vs console"; diff <(echo "$a") <(echo "$b") | head -20
  return 1
}
bad=0
ids="$("$DF" --brokers "$DF_BROKERS" --prefix "$PREFIX" --json list | python3 -c 'import json,sys; print(" ".join(x["execution_id"] for x in json.load(sys.stdin)))')"
for id in $ids; do
  for cmd in describe history; do
    cmp_out "$cmd $id" "$cmd" "$id" || bad=$((bad + 1))
    cmp_out "--json $cmd $id" --json "$cmd" "$id" || bad=$((bad + 1))
  done
done
[ "$bad" -eq 0 ] && ok "describe and history, text and --json, of all 43 (with \".\" and \"..\"): the same through the console" ||
  not_ok "$bad outputs differ"
for args in "list" "--json list" "list --status SUCCEEDED" "list --workflow parked" "list --status FAILED"; do
  # shellcheck disable=SC2086
  if cmp_out "$args" $args; then ok "$args: the same"; else not_ok "$args differs"; fi
done
cmp_out "describe missing" describe order-1 && ok "an unknown execution: the same message and exit code" ||
  not_ok "unknown execution differs"
out="$(DF_CONSOLE_URL="$DF_CONSOLE_URL" "$DF" --brokers 127.0.0.1:1 --prefix "$PREFIX" history parked-1 2>&1)" &&
  grep -q "callback id [0-9a-f]\{32\}_" <<<"$out" && ok "\$DF_CONSOLE_URL alone (brokers unreachable): history from the console, callback id with the token" ||
  not_ok "DF_CONSOLE_URL: $out"
out="$(DF_CONSOLE_TOKEN= "$DF" --prefix "$PREFIX" history parked-1 --console "$DF_CONSOLE_URL" 2>&1)"
grep -q "callback id" <<<"$out" && not_ok "callback id shown without the token" || ok "without the token no callback id"
rc=0
"$DF" describe parked-1 --console http://127.0.0.1:1 >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 6 ] && ok "a console that does not answer: exit 6" || not_ok "unreachable console: exit $rc"
# the ids "." and ".." through the console: describe finds them (it printed
# "not found" before: curl removed the dot segment, the server refused it)
for id in . ..; do
  out="$("$DF" describe "$id" --console "$DF_CONSOLE_URL" 2>&1)" && grep -q "parked" <<<"$out" &&
    ok "describe $id --console: found" || not_ok "describe $id --console: $out"
done
code="$(curl -s --path-as-is -o "$RUN/dotdot.json" -w '%{http_code}' "$DF_CONSOLE_URL/api/v1/executions/%2E%2E")"
[ "$code" = 200 ] && grep -q '"execution_id":"\.\."' "$RUN/dotdot.json" && ok "GET /api/v1/executions/%2E%2E: 200, execution \"..\"" ||
  not_ok "GET /api/v1/executions/%2E%2E: $code $(cat "$RUN/dotdot.json")"
for id in %2E %2E%2E; do
  code="$(curl -s --path-as-is -o "$RUN/dotpause.json" -w '%{http_code}' -X POST -H "Authorization: Bearer $DF_CONSOLE_TOKEN" \
    -H 'Content-Type: application/json' -d '{"reason":"console_cli"}' "$DF_CONSOLE_URL/api/v1/executions/$id/pause")"
  [ "$code" = 200 ] && ok "pause $id through the console: 200" || not_ok "pause $id through the console: $code $(cat "$RUN/dotpause.json")"
done
# two tokens of one name: refused at startup (the action log names tokens)
rc=0
out="$(timeout 20 "$DF" --brokers "$DF_BROKERS" -X console.token=a:secret1-0123456789abcdef,a:secret2-0123456789abcdef \
  console --listen 127.0.0.1:0 --state-dir "$RUN/dup-token" 2>&1)" || rc=$?
[ "$rc" -eq 2 ] && grep -q 'two tokens named "a"' <<<"$out" && ok "console.token with a name twice: exit 2 naming it" ||
  not_ok "console.token with a name twice: exit $rc: $out"
# `duraflow console` logs its actions at info by default (it used to set the
# level only for itself, and the console's client put the CLI's "warn" back)
code="$(curl -s -o "$RUN/pause.json" -w '%{http_code}' -X POST -H "Authorization: Bearer $DF_CONSOLE_TOKEN" \
  -H 'Content-Type: application/json' -d '{"reason":"console_cli"}' "$DF_CONSOLE_URL/api/v1/executions/parked-1/pause")"
[ "$code" = 200 ] && ok "pause through the console: 200" || not_ok "pause through the console: $code $(cat "$RUN/pause.json")"
deadline=$((SECONDS + 10))
until grep -q 'action pause by token "token1" on execution parked-1: ok' "$RUN/logs/console.log" 2>/dev/null; do
  [ $SECONDS -lt $deadline ] || break
  sleep 0.2
done
grep -q 'action pause by token "token1" on execution parked-1: ok' "$RUN/logs/console.log" &&
  ok "the console logged the action (no log.level given)" || not_ok "the console did not log the action: $(tail -3 "$RUN/logs/console.log")"
