#!/usr/bin/env bash
# bench/scaleout.sh -- scale-out on a replicated cluster: bench_scaleout with
# 1, 2, 4 and 8 worker processes over 24 partitions on a 3-node Kafka cluster
# (topics with replication factor 3, min.insync.replicas 2), CPU per
# component; appends to bench/RESULTS.md and bench/results.csv.
#
# Usage: bench/scaleout.sh [--quick] [--wait-load L] [bench_scaleout options...]
#   --quick         1 and 2 workers, 3000 executions, 5 s of closed loop
#   --wait-load L   first wait (up to BENCH_WAIT_MAX_S, default 1800 s) until the
#                   1-minute load average is below L
#   other options go to bench_scaleout (e.g. --workers 1,2,4,8 --count 20000)
#
# Environment:
#   DF_BROKERS + DF_KAFKA_STATE   use this cluster (the state file gives the
#                    brokers' pids for the CPU figures); otherwise
#                    scripts/kafka.sh --brokers 3 starts one on 127.0.0.1 with
#                    the state file .cache/kafka/run/bench-cluster.env and stops
#                    it at the end
#   BUILD_DIR        build directory (default <repo>/build)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
ARGS=() WAIT_LOAD=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) ARGS+=(--workers 1,2 --count 3000 --latency-s 5 --jvm-warmup 3000) ;;
    --wait-load) WAIT_LOAD="$2"; shift ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) ARGS+=("$1") ;;
  esac
  shift
done

if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
ninja -C "$BUILD_DIR" bench_scaleout bench_node >/dev/null

STARTED=0
if [ -z "${DF_BROKERS:-}" ]; then
  export DF_KAFKA_STATE="$ROOT/.cache/kafka/run/bench-cluster.env"
  if ! "$ROOT/scripts/kafka.sh" status >/dev/null 2>&1; then
    "$ROOT/scripts/kafka.sh" --brokers 3 start >/dev/null
    STARTED=1
  fi
  eval "$("$ROOT/scripts/kafka.sh" env)"
  export DF_BROKERS
fi
cleanup() { if [ "$STARTED" = 1 ]; then "$ROOT/scripts/kafka.sh" stop >/dev/null 2>&1 || true; fi; }
trap cleanup EXIT
echo "scaleout.sh: cluster $DF_BROKERS (state ${DF_KAFKA_STATE:-unknown})" >&2

if [ -n "$WAIT_LOAD" ]; then
  end=$((SECONDS + ${BENCH_WAIT_MAX_S:-1800}))
  while awk -v l="$WAIT_LOAD" '{exit !($1 >= l)}' /proc/loadavg && [ $SECONDS -lt $end ]; do
    sleep 15
  done
  echo "scaleout.sh: load average now $(cut -d' ' -f1-3 /proc/loadavg)" >&2
fi

if git -C "$ROOT" rev-parse --short HEAD >/dev/null 2>&1; then
  BENCH_GIT_DESC="commit $(git -C "$ROOT" rev-parse --short HEAD)"
  export BENCH_GIT_DESC
fi
"$BUILD_DIR/bench/bench_scaleout" -X replication.factor=3 "${ARGS[@]}"
