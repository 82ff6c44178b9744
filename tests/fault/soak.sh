#!/usr/bin/env bash
# Soak: the worker-crash fault scenario (3 workers, 2,000 executions, a worker
# SIGKILLed every 3-6 s) run N times back to back (default 30), each on a fresh
# topic prefix with the loader started at the same moment as the workers, so
# that its first starts race the topics' creation as they did in the CI run
# that once lost one start.  Not part of CI (about 40 s a run).
#
# Usage: tests/fault/soak.sh [N]        (DF_BROKERS must point at a broker;
#                                        BUILD defaults to build/)
# Prints each run's figures and a total; exit 0 when every run passed.
set -uo pipefail
cd "$(dirname "$0")/../.."
N=${1:-30}
BUILD=${BUILD:-build}
: "${DF_BROKERS:?DF_BROKERS is not set: start a broker (scripts/kafka.sh start; eval \"\$(scripts/kafka.sh env)\")}"
export DF_BROKERS DF_FAULT_RACE_TOPICS=1
pass=0 fail=0 lost=0 dups=0 kills=0
for i in $(seq 1 "$N"); do
  out=$(python3 tests/fault/fault.py --bin "$BUILD/tests/fault" --cli "$BUILD/framework/tools/duraflow" \
        --work "${TMPDIR:-/tmp}/df-soak" --repo . worker-crash 2>&1)
  rc=$?
  l=$(printf '%s\n' "$out" | sed -n 's/^ *lost  *\([0-9]*\).*/\1/p' | tail -1)
  d=$(printf '%s\n' "$out" | sed -n 's/^ *duplicates found  *\([0-9]*\).*/\1/p' | tail -1)
  k=$(printf '%s\n' "$out" | sed -n 's/^ *kills (SIGKILL)  *\([0-9]*\).*/\1/p' | tail -1)
  w=$(printf '%s\n' "$out" | sed -n 's/^ *wall time  *\(.*\)/\1/p' | tail -1)
  lost=$((lost + ${l:-0})) dups=$((dups + ${d:-0})) kills=$((kills + ${k:-0}))
  if [ $rc -eq 0 ]; then pass=$((pass + 1)); verdict=PASS; else fail=$((fail + 1)); verdict=FAIL; fi
  printf 'run %2d/%d: %s  kills %s  lost %s  duplicates %s  wall %s\n' "$i" "$N" "$verdict" "${k:-?}" "${l:-?}" "${d:-?}" "${w:-?}"
  if [ $rc -ne 0 ]; then printf '%s\n' "$out" | tail -40 | sed 's/^/    /'; fi
done
printf 'soak: %d runs, %d passed, %d failed; kills %d, lost %d, duplicates %d\n' "$N" "$pass" "$fail" "$kills" "$lost" "$dups"
[ $fail -eq 0 ]
