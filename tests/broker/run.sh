#!/usr/bin/env bash
# Builds and runs the broker smoke test (tests/broker/broker_smoke.c) against
# the broker of scripts/kafka.sh. Uses the running broker if there is one
# (DF_BROKERS, or scripts/kafka.sh env); otherwise starts one and stops it
# afterwards.
#
#   tests/broker/run.sh [--keep]      (--keep: leave the test topics)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT="${DF_SMOKE_BUILD:-$ROOT/.cache/broker_smoke}"
mkdir -p "$OUT"
cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O1 -g \
  -o "$OUT/broker_smoke" "$ROOT/tests/broker/broker_smoke.c" \
  $(pkg-config --cflags --libs rdkafka)

started=0
if [ -z "${DF_BROKERS:-}" ]; then
  if ! line="$("$ROOT/scripts/kafka.sh" env 2>/dev/null)"; then
    line="$("$ROOT/scripts/kafka.sh" start)"
    started=1
    trap '"$ROOT/scripts/kafka.sh" stop' EXIT
  fi
  DF_BROKERS="${line#DF_BROKERS=}"
fi
export DF_BROKERS

if "$OUT/broker_smoke" "$@"; then
  echo "broker_smoke: 1 passed, 0 failed"
else
  rc=$?
  echo "broker_smoke: 0 passed, 1 failed"
  [ "$started" = 1 ] && "$ROOT/scripts/kafka.sh" logs 40 >&2 || true
  exit "$rc"
fi
