#!/usr/bin/env bash
# bench/latency.sh -- the closed-loop latency figures of issue 15, before and
# after, in one sitting: bench_closedloop (C clients, each waiting for its own
# result; one worker and one timer service as child processes) from one or
# two build directories, alternating round by round so both see the same
# machine:
#
#   noop3  C = 50   (3 no-op steps)            executions/s, p50/p95/p99/max
#   noop3  C = 200
#   sleep1 C = 100  (step, 1 s df_wait, step)  in-handler and end-to-end lateness
#   idle 30 s before the first noop3 run of each build (worker + timer service
#   attached, nothing running): CPU of worker, timer service, broker
#   --fsync: the noop3 C = 50 run again against a second broker that fsyncs
#   every write (log.flush.interval.messages=1), started and stopped here
#
# Prints each run's table row (bench_closedloop's report) prefixed with the
# build's label; writes nothing under bench/ (the reports go to a temporary
# directory).  Needs a real broker: DF_BROKERS and DF_KAFKA_STATE (so the
# broker's CPU is measured) from scripts/kafka.sh.
#
# Usage: bench/latency.sh [--build LABEL=DIR]... [--rounds 3] [--fsync]
#                         [--count-noop 2000] [--count-sleep 1000]
# Default: --build after=<repo>/build.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILDS=() ROUNDS=3 FSYNC=0 N_NOOP=2000 N_SLEEP=1000
while [ $# -gt 0 ]; do
  case "$1" in
    --build) BUILDS+=("$2"); shift ;;
    --rounds) ROUNDS="$2"; shift ;;
    --fsync) FSYNC=1 ;;
    --count-noop) N_NOOP="$2"; shift ;;
    --count-sleep) N_SLEEP="$2"; shift ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    *) echo "latency.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
[ ${#BUILDS[@]} -gt 0 ] || BUILDS=("after=$ROOT/build")
: "${DF_BROKERS:?latency.sh: DF_BROKERS must name a real broker (scripts/kafka.sh start)}"
: "${DF_KAFKA_STATE:?latency.sh: DF_KAFKA_STATE must name the state file of the broker (its CPU is measured)}"
for b in "${BUILDS[@]}"; do
  [ -x "${b#*=}/bench/bench_closedloop" ] || { echo "latency.sh: no ${b#*=}/bench/bench_closedloop" >&2; exit 2; }
done
OUT="$(mktemp -d "${TMPDIR:-/tmp}/df-latency.XXXXXX")"
FSYNC_STATE="$OUT/fsync-kafka.env"
cleanup() {
  if [ -f "$FSYNC_STATE" ]; then DF_KAFKA_STATE="$FSYNC_STATE" "$ROOT/scripts/kafka.sh" stop >/dev/null 2>&1 || true; fi
  rm -rf "$OUT"
}
trap cleanup EXIT

# run LABEL DIR TAG ARGS...: one bench_closedloop run, its table row printed
run() {
  local label="$1" dir="$2" tag="$3" out
  shift 3
  out="$OUT/$label-$tag"
  mkdir -p "$out"
  if BENCH_OUT_DIR="$out" "$dir/bench/bench_closedloop" "$@" >"$out/stdout" 2>"$out/stderr"; then
    printf '%-8s %-22s load %s  ' "$label" "$tag" "$(cut -d' ' -f1 /proc/loadavg)"
    grep -E '^\| [0-9]' "$out/RESULTS.md" | tail -n 1
    grep -h '^Idle for' "$out/RESULTS.md" | sed "s/^/$label    /" || true
  else
    printf '%-8s %-22s FAILED: %s\n' "$label" "$tag" "$(tail -n 2 "$out/stderr" | tr '\n' ' ')"
  fi
}

echo "latency.sh: $(date -u +%FT%TZ), brokers $DF_BROKERS, rounds $ROUNDS, noop3 $N_NOOP, sleep1 $N_SLEEP executions"
echo "columns: executions/s | p50 | p95 | p99 | max (ms) | [sleep1: in-handler lateness p50 / p99 | end-to-end lateness p50 / p99 (ms)] | CPU s per 1,000 executions: worker / timer service / broker"
for r in $(seq 1 "$ROUNDS"); do
  for b in "${BUILDS[@]}"; do
    label="${b%%=*}" dir="${b#*=}"
    idle=()
    [ "$r" = 1 ] && idle=(--idle-s 30)
    run "$label" "$dir" "r$r-noop3-c50" --workflow noop3 --count "$N_NOOP" --clients 50 "${idle[@]}"
    run "$label" "$dir" "r$r-noop3-c200" --workflow noop3 --count "$((N_NOOP * 3))" --clients 200
    run "$label" "$dir" "r$r-sleep1-c100" --workflow sleep1 --count "$N_SLEEP" --clients 100
  done
done
if [ "$FSYNC" = 1 ]; then
  line="$(DF_KAFKA_STATE="$FSYNC_STATE" DF_KAFKA_EXTRA_PROPS="log.flush.interval.messages=1" \
    "$ROOT/scripts/kafka.sh" start 2>&1 | grep '^DF_BROKERS=' | tail -n 1)"
  [ -n "$line" ] || { echo "latency.sh: the fsync broker did not start" >&2; exit 1; }
  echo "fsync broker (log.flush.interval.messages=1): ${line#DF_BROKERS=}"
  for b in "${BUILDS[@]}"; do
    label="${b%%=*}" dir="${b#*=}"
    DF_BROKERS="${line#DF_BROKERS=}" DF_KAFKA_STATE="$FSYNC_STATE" \
      run "$label" "$dir" "fsync-noop3-c50" --workflow noop3 --count "$N_NOOP" --clients 50
    DF_BROKERS="${line#DF_BROKERS=}" DF_KAFKA_STATE="$FSYNC_STATE" \
      run "$label" "$dir" "fsync-noop3-c200" --workflow noop3 --count "$((N_NOOP * 3))" --clients 200
  done
fi
