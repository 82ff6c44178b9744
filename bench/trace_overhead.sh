#!/usr/bin/env bash
# bench/trace_overhead.sh -- the worker with tracing on and the trace
# backend down for the whole run, against tracing off (issue 14: "with the
# trace backend down, workers behave and perform as without tracing").
#
# bench_throughput's closed loop (workflow noop3: 3 steps, so 1 execution, 3
# operation and 3 attempt spans per execution), one worker, --count
# executions, run in alternating rounds: "off" (otlp.endpoint empty) then "on"
# (otlp.endpoint = http://127.0.0.1:PORT, a port nothing listens on: every
# export is refused; after 3 refusals in a row export is down and the
# engine makes no span until a retry gets through).  Prints each run's
# executions/s, steady executions/s, failed executions, CPU per 1,000
# executions and (on) the worker's log lines saying export went down and
# came back up, then the medians and on/off.  Writes nothing under bench/
# (bench_throughput's own RESULTS.md / results.csv go to a temporary
# directory).
#
# Usage: bench/trace_overhead.sh [--count 3000] [--rounds 3] [--workflow noop3]
# Environment: DF_BROKERS (required: a real broker), BUILD_DIR (default <repo>/build).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
COUNT=3000 ROUNDS=3 WORKFLOW=noop3
while [ $# -gt 0 ]; do
  case "$1" in
    --count) COUNT="$2"; shift ;;
    --rounds) ROUNDS="$2"; shift ;;
    --workflow) WORKFLOW="$2"; shift ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "trace_overhead.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
if [ -z "${DF_BROKERS:-}" ]; then
  echo "trace_overhead.sh: DF_BROKERS is not set (scripts/kafka.sh start; eval \"\$(scripts/kafka.sh env)\")" >&2
  exit 1
fi
B="$BUILD_DIR/bench/bench_throughput"
[ -x "$B" ] || { echo "trace_overhead.sh: $B not built" >&2; exit 1; }
OUT="$(mktemp -d /tmp/df-trace-bench.XXXXXX)"
trap 'rm -rf "$OUT"' EXIT
# a loopback port nothing listens on (bound, then closed)
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"

# One closed-loop run; prints "executions/s steady/s failed cpu down up" of
# its median run (cpu: CPU seconds of the benchmark process per 1,000
# executions, less sensitive than the rates to other load on the machine;
# down / up: the worker's log lines "OTLP export to ... is down" / "is up
# again": one of each at most per outage).
one() {
  local label="$1"; shift
  BENCH_OUT_DIR="$OUT" "$B" --count "$COUNT" --workers 1 --modes closed --repeat 1 --warmup 200 \
    --workflow "$WORKFLOW" --label "$label" "$@" >"$OUT/$label.txt" 2>"$OUT/$label.err" || {
    echo "trace_overhead.sh: bench_throughput ($label) failed:" >&2; tail -20 "$OUT/$label.err" >&2; exit 1; }
  local down up
  down="$(grep -c 'OTLP export to .* is down' "$OUT/$label.err" || true)"
  up="$(grep -c 'OTLP export to .* is up again' "$OUT/$label.err" || true)"
  awk -F'|' -v down="$down" -v up="$up" '/closed #1 \(median\)/ && NF > 10 { gsub(/ /, "", $5); gsub(/ /, "", $6);
              gsub(/ /, "", $11); split($10, c, "/"); gsub(/ /, "", c[1]); print $5, $6, $11, c[1], down, up; exit }' \
    "$OUT/$label.txt"
}

printf 'bench_throughput closed loop, workflow %s, 1 worker, %s executions a run; on = otlp.endpoint http://127.0.0.1:%s (nothing listening)\n' \
  "$WORKFLOW" "$COUNT" "$PORT"
printf '%-6s %-4s %14s %14s %7s %22s %12s\n' round mode "executions/s" "steady/s" failed "CPU s per 1k exec" \
  "down/up log"
OFF=() ON=() COFF=() CON=()
for r in $(seq 1 "$ROUNDS"); do
  read -r e s f c d u < <(one "off$r")
  printf '%-6s %-4s %14s %14s %7s %22s %12s\n' "$r" off "$e" "$s" "$f" "$c" -; OFF+=("$e"); COFF+=("$c")
  [ "$f" = 0 ] || { echo "trace_overhead.sh: $f executions failed with tracing off" >&2; exit 1; }
  read -r e s f c d u < <(one "on$r" -X "otlp.endpoint=http://127.0.0.1:$PORT")
  printf '%-6s %-4s %14s %14s %7s %22s %12s\n' "$r" on "$e" "$s" "$f" "$c" "$d/$u"; ON+=("$e"); CON+=("$c")
  [ "$f" = 0 ] || { echo "trace_overhead.sh: $f executions failed with tracing on (backend down)" >&2; exit 1; }
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "${OFF[*]}" "${ON[*]}" "${COFF[*]}" "${CON[*]}" <<'EOF'
import statistics, sys
off, on, coff, con = ([float(x) for x in a.split()] for a in sys.argv[1:5])
mo, mn = statistics.median(off), statistics.median(on)
co, cn = statistics.median(coff), statistics.median(con)
print(f"median executions/s: off {mo:.0f}, on (backend down) {mn:.0f}: on/off {mn / mo:.3f}")
print(f"median CPU s per 1k executions: off {co:.3f}, on (backend down) {cn:.3f}: on/off {cn / co:.3f}")
EOF
