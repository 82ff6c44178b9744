#!/usr/bin/env bash
# bench/run.sh -- build and run every duraflow benchmark against a real local
# Kafka broker, append the figures to bench/RESULTS.md and bench/results.csv,
# and draw bench/latency.png and bench/throughput.png (bench/plot.py).
#
# Usage: bench/run.sh [--quick] [--only NAME[,NAME...]] [--wait-load L] [--tuned]
#   --quick         small counts (a few minutes; for development, not for figures)
#   --only          run only these: rawloop, throughput, io, timers, suspended, recovery,
#                   recovery-load, console, scaleout (bench/scaleout.sh: its own
#                   3-node cluster), plot
#   --wait-load L   before starting, wait (up to BENCH_WAIT_MAX_S, default 1800 s)
#                   until the 1-minute load average is below L
#   --tuned         also run with the "tuned" librdkafka settings (below)
#
# Environment:
#   DF_BROKERS       use this broker (otherwise scripts/kafka.sh starts one with
#                    the state file DF_KAFKA_STATE, default
#                    .cache/kafka/run/bench.env, and stops it at the end)
#   BUILD_DIR        build directory (default <repo>/build)
#   BENCH_OUT_DIR    where RESULTS.md / results.csv / PNGs go (default bench/)
#   N_EXEC, N_TIMERS, N_DUE, N_SUSPENDED, N_RECOVERY   counts (defaults: 20000,
#                    1000000, 10000, 1000000, 100000)
#
# Configurations: "default" (duraflow's defaults), "batch5" (for latency:
# -X batch.max.ms=5, the default before 1) and, with --tuned, "tuned" (-X kafka.retry.backoff.ms=5
# -X kafka.fetch.wait.max.ms=10; under load also -X transaction.timeout.ms=6000:
# settings an earlier RESULTS.md proposed, since made defaults except the
# 5 ms backoff, 10 ms by default).  Every benchmark is bounded in time and
# stops by itself.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
export BENCH_OUT_DIR="${BENCH_OUT_DIR:-$ROOT/bench}"
QUICK=0 ONLY="" WAIT_LOAD="" TUNED=0
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --only) ONLY="$2"; shift ;;
    --wait-load) WAIT_LOAD="$2"; shift ;;
    --tuned) TUNED=1 ;;
    --no-tuned) TUNED=0 ;;
    -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
if [ "$QUICK" = 1 ]; then
  : "${N_EXEC:=3000}" "${N_TIMERS:=20000}" "${N_DUE:=1000}" "${N_SUSPENDED:=20000}" "${N_RECOVERY:=10000}"
else
  : "${N_EXEC:=20000}" "${N_TIMERS:=1000000}" "${N_DUE:=10000}" "${N_SUSPENDED:=1000000}" "${N_RECOVERY:=100000}"
fi
TUNE=(-X kafka.retry.backoff.ms=5 -X kafka.fetch.wait.max.ms=10)

FAILED=""
run_b() { "$@" || { echo "run.sh: FAILED: ${*##*/}" >&2; FAILED="$FAILED ${1##*/}"; }; }
want() { [ -z "$ONLY" ] || [[ ",$ONLY," == *",$1,"* ]]; }
say() { printf '\n=== %s (load %s)\n' "$*" "$(cut -d' ' -f1-3 /proc/loadavg)" >&2; }

# ---- packages (the build's, plus matplotlib for the plots)
"$ROOT/scripts/setup.sh" --bench

# ---- build
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
if ! ninja -C "$BUILD_DIR" bench_node bench_throughput bench_rawloop bench_timers bench_suspended \
     bench_recovery bench_console bench_scaleout duraflow_cli >/dev/null; then
  grep -q 'add_subdirectory(bench)' "$ROOT/CMakeLists.txt" ||
    echo "run.sh: the top-level CMakeLists.txt has no add_subdirectory(bench)" >&2
  exit 1
fi
B="$BUILD_DIR/bench"
# which duraflow the figures belong to (printed in every report)
if git -C "$ROOT" rev-parse --short HEAD >/dev/null 2>&1; then
  BENCH_GIT_DESC="commit $(git -C "$ROOT" rev-parse --short HEAD)"
  if [ -n "$(git -C "$ROOT" status --porcelain -- framework 2>/dev/null)" ]; then
    BENCH_GIT_DESC="$BENCH_GIT_DESC (framework/ has uncommitted changes)"
  fi
  export BENCH_GIT_DESC
fi

# ---- broker
STARTED=0
if [ -z "${DF_BROKERS:-}" ]; then
  export DF_KAFKA_STATE="${DF_KAFKA_STATE:-$ROOT/.cache/kafka/run/bench.env}"
  if ! "$ROOT/scripts/kafka.sh" status >/dev/null 2>&1; then
    "$ROOT/scripts/kafka.sh" start >/dev/null
    STARTED=1
  fi
  eval "$("$ROOT/scripts/kafka.sh" env)"
  export DF_BROKERS
fi
cleanup() { if [ "$STARTED" = 1 ]; then "$ROOT/scripts/kafka.sh" stop >/dev/null 2>&1 || true; fi; }
trap cleanup EXIT
echo "run.sh: broker $DF_BROKERS" >&2

# ---- a quiet machine, if asked
if [ -n "$WAIT_LOAD" ]; then
  end=$((SECONDS + ${BENCH_WAIT_MAX_S:-1800}))
  while awk -v l="$WAIT_LOAD" '{exit !($1 >= l)}' /proc/loadavg && [ $SECONDS -lt $end ]; do
    sleep 15
  done
  echo "run.sh: load average now $(cut -d' ' -f1-3 /proc/loadavg)" >&2
fi

# ---- the benchmarks
if want rawloop; then
  say "raw transactional loop (physical limit)"
  # "duraflow": the producer settings duraflow's own transactional producers use
  run_b "$B/bench_rawloop" --count "$N_EXEC" --out 2,5 --label duraflow --kafka retry.backoff.ms=10
  run_b "$B/bench_rawloop" --count "$N_EXEC" --out 2,5 --label default
  if [ "$TUNED" = 1 ]; then run_b "$B/bench_rawloop" --count "$N_EXEC" --out 2,5 --label tuned --kafka retry.backoff.ms=5; fi
fi
if want throughput; then
  say "throughput and latency"
  # --rates 3333: also an open loop at the target load, 10,000 step transitions/s
  run_b "$B/bench_throughput" --count "$N_EXEC" --workers 1,2 --modes closed,open --rates 3333 --label default
  if [ "$TUNED" = 1 ]; then run_b "$B/bench_throughput" --count "$N_EXEC" --workers 1,2 --modes closed,open --rates 3333 --label tuned "${TUNE[@]}"; fi
  # batch.max.ms 5 (the default before 1 ms): what waiting longer for a batch does
  run_b "$B/bench_throughput" --count "$N_EXEC" --workers 1 --modes closed,open --rates 3333 --label batch5 -X batch.max.ms=5
  # at-most-once steps: one transaction per step (the per-step checkpoint round trip)
  run_b "$B/bench_throughput" --count "$N_EXEC" --workers 1 --modes closed,open --repeat 1 --workflow amo3 --label default
  if [ "$TUNED" = 1 ]; then run_b "$B/bench_throughput" --count "$N_EXEC" --workers 1 --modes closed,open --repeat 1 --workflow amo3 --label tuned "${TUNE[@]}"; fi
fi
if want io; then
  say "I/O-bound steps (io3: 3 steps x 50 ms) by worker.threads"
  # all starts at once (the flood), one worker; each pool size its own count (~10-15 s a run)
  if [ "$QUICK" = 1 ]; then IO_N=(60 600 1500); else IO_N=(150 1500 4000); fi
  run_b "$B/bench_throughput" --count "${IO_N[0]}" --workers 1 --modes closed --repeat 1 --warmup 20 --workflow io3 --label threads1 -X worker.threads=1
  run_b "$B/bench_throughput" --count "${IO_N[1]}" --workers 1 --modes closed --repeat 1 --warmup 20 --workflow io3 --label threads16 -X worker.threads=16
  run_b "$B/bench_throughput" --count "${IO_N[2]}" --workers 1 --modes closed --repeat 1 --warmup 20 --workflow io3 --label threads64 -X worker.threads=64
  run_b "$B/bench_throughput" --count "${IO_N[2]}" --workers 1 --modes closed --repeat 1 --warmup 20 --workflow io3 --label threads64-records2000 -X worker.threads=64 -X batch.max.records=2000
  # a closed loop of 256 clients, each waiting for its result
  run_b "$B/bench_closedloop" --workflow io3 --count "${IO_N[2]}" --clients 256 --label threads64 -X worker.threads=64
fi
if want timers; then
  say "timers"
  run_b "$B/bench_timers" --pending "$N_TIMERS" --due "$N_DUE" --label default
  if [ "$TUNED" = 1 ]; then run_b "$B/bench_timers" --pending "$N_TIMERS" --due "$N_DUE" --label tuned "${TUNE[@]}"; fi
fi
if want suspended; then
  say "suspended executions"
  run_b "$B/bench_suspended" --count "$N_SUSPENDED" --label default
fi
if want recovery; then
  say "recovery"
  run_b "$B/bench_recovery" --count "$N_RECOVERY" --mode hot --label default
  if [ "$TUNED" = 1 ]; then run_b "$B/bench_recovery" --count "$N_RECOVERY" --mode hot --label tuned "${TUNE[@]}"; fi
  run_b "$B/bench_recovery" --count "$N_RECOVERY" --mode cold --label default
  if [ "$TUNED" = 1 ]; then run_b "$B/bench_recovery" --count "$N_RECOVERY" --mode cold --label tuned "${TUNE[@]}"; fi
fi
if want recovery-load; then
  say "recovery under load"
  # if the killed worker dies inside a transaction, the new owner's restore
  # waits until the coordinator aborts it (transaction.timeout.ms)
  run_b "$B/bench_recovery" --count "$N_RECOVERY" --mode hot --load-rate 2000 --label default
  if [ "$TUNED" = 1 ]; then run_b "$B/bench_recovery" --count "$N_RECOVERY" --mode hot --load-rate 2000 --label tuned \
    "${TUNE[@]}" -X transaction.timeout.ms=6000; fi
fi
if want console; then
  say "console"
  run_b "$B/bench_console" --count "$N_SUSPENDED"
fi
if want scaleout; then
  say "scale-out on a 3-node cluster"
  # its own replicated cluster (scripts/kafka.sh --brokers 3), not the broker above
  if [ "$QUICK" = 1 ]; then SC=(--quick); else SC=(--workers 1,2,4,8 --count "$N_EXEC"); fi
  scaleout() { (unset DF_BROKERS DF_KAFKA_STATE; BUILD_DIR="$BUILD_DIR" "$ROOT/bench/scaleout.sh" "$@"); }
  run_b scaleout "${SC[@]}"
fi
if want plot; then
  say "plots"
  PY=/usr/bin/python3
  "$PY" -c 'import matplotlib' 2>/dev/null || PY=python3
  "$PY" "$ROOT/bench/plot.py" --csv "$BENCH_OUT_DIR/results.csv" --out "$BENCH_OUT_DIR" ||
    echo "run.sh: plotting failed (is python3-matplotlib installed?)" >&2
fi
echo "run.sh: figures appended to $BENCH_OUT_DIR/RESULTS.md" >&2
if [ -n "$FAILED" ]; then
  echo "run.sh: failed:$FAILED" >&2
  exit 1
fi
