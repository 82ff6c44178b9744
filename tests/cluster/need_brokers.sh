#!/bin/sh
# need_brokers.sh [--min N] PROGRAM [ARGS...]: run PROGRAM when DF_BROKERS is
# set (and, with --min N, lists at least N addresses); otherwise FAIL, saying
# how to start the broker(s). Tests never skip for want of a broker.
min=1
if [ "$1" = --min ]; then min="$2"; shift 2; fi
if [ -z "$DF_BROKERS" ]; then
  if [ "$min" -gt 1 ]; then
    echo "DF_BROKERS is not set: start the $min-node cluster (scripts/kafka.sh --brokers $min --bridge start; eval \"\$(scripts/kafka.sh --brokers $min env)\"; export DF_BROKERS)" >&2
  else
    echo "DF_BROKERS is not set: start a broker (scripts/kafka.sh start; eval \"\$(scripts/kafka.sh env)\"; export DF_BROKERS)" >&2
  fi
  exit 1
fi
n=$(printf '%s' "$DF_BROKERS" | tr ',' '\n' | grep -c .)
if [ "$n" -lt "$min" ]; then
  echo "DF_BROKERS=$DF_BROKERS names $n broker(s); this test needs the $min-node cluster (scripts/kafka.sh --brokers $min --bridge start)" >&2
  exit 1
fi
exec "$@"
