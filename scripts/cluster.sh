#!/usr/bin/env bash
# The topology of docker/docker-compose.yml as plain processes on this machine
# (no Docker): a Kafka broker, the timer service, the order simulator and N
# order workers, all bound to 127.0.0.1. For local runs and the cluster test.
#
# Usage: scripts/cluster.sh COMMAND [options]
#   up [--workers N] [--prefix P] [--day-ms MS] [--sim-port N] [--console-port N]
#      [-X NAME=VALUE]...
#                   start everything and wait until it is ready:
#                   - the broker: $DF_BROKERS if set, otherwise scripts/kafka.sh
#                     start with a state file of this cluster (stopped by down)
#                   - duraflow timer-service, orders-sim (free port unless
#                     --sim-port), duraflow console (port 7070 unless
#                     --console-port; 0 = a free one; actions with the token
#                     of $DF_CONSOLE_TOKEN, read-only without), orders-worker
#                     1..N (distinct --worker-id and state dirs); -X settings
#                     go to every program
#   down [--purge]  stop the processes this script started (TERM, then KILL),
#                   and the broker if up started it; --purge deletes the run
#                   dir (logs, stores)
#   status          each process: pid, alive or dead, log; exit 0 if all alive
#   env             print DF_BROKERS=, DF_PREFIX=, DF_SIM_URL=, DF_DAY_MS=, DF_CONSOLE_URL=
#   load [ARGS]     run orders-load against the cluster (ARGS e.g. --limit 100)
#   report [ARGS]   run orders-report (ARGS e.g. --json --expect 830 --timeout 300)
#   kill-worker I   SIGKILL worker I (a crash, for fault tests)
#   start-worker I  start worker I again (same worker id and store)
#   logs NAME [N]   last N (default 50) lines of NAME's log (timer-service,
#                   orders-sim, worker-1, ...)
#
# Environment:
#   DF_CLUSTER_DIR   run dir: pids, logs, stores (default <repo>/.cache/cluster)
#   DF_BUILD_DIR     build tree with the programs (default <repo>/build)
#   DF_BROKERS       use this broker instead of starting one
#   DF_PREFIX        topic prefix (default duraflow); --prefix wins
#   DF_DAY_MS        ms per day of the orders' calendar (default 1000); --day-ms wins
#   DF_CONSOLE_TOKEN bearer token of the console's actions (none: read-only console)
#   DF_CLUSTER_WORKER the worker program (default orders-worker; the console's
#                    browser test gives one that also runs a test workflow)
#   DF_CLUSTER_READY_TIMEOUT  seconds to wait for each process (default 60)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${DF_BUILD_DIR:-$ROOT/build}"
RUN="${DF_CLUSTER_DIR:-$ROOT/.cache/cluster}"
READY_TIMEOUT="${DF_CLUSTER_READY_TIMEOUT:-60}"
STATE="$RUN/cluster.env"

DURAFLOW="$BUILD/framework/tools/duraflow"
WORKER="${DF_CLUSTER_WORKER:-$BUILD/workers/orders/app/orders-worker}"
LOAD="$BUILD/workers/orders/app/orders-load"
REPORT="$BUILD/workers/orders/app/orders-report"
SIM="$BUILD/workers/orders/sim/orders-sim"

say() { printf 'cluster.sh: %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

need_programs() {
  local p
  for p in "$DURAFLOW" "$WORKER" "$SIM" "$LOAD" "$REPORT"; do
    [ -x "$p" ] || die "$p not built; run: cmake -S . -B build -G Ninja && ninja -C build (or set DF_BUILD_DIR)"
  done
}

# ---------------------------------------------------------------------------
# cluster state (cluster.env) and processes (pids/NAME.pid: "pid starttime")
# ---------------------------------------------------------------------------
C_BROKERS="" C_PREFIX="" C_DAY_MS="" C_SIM_URL="" C_WORKERS=0 C_BROKER_STARTED=0 C_SETS="" C_CONSOLE_URL=""
load_state() {
  [ -f "$STATE" ] || return 1
  # shellcheck disable=SC1090
  . "$STATE"
}
need_state() { load_state || die "no cluster in $RUN (run: scripts/cluster.sh up)"; }

write_state() {
  mkdir -p "$RUN"
  {
    printf 'C_BROKERS=%q\n' "$C_BROKERS"
    printf 'C_PREFIX=%q\n' "$C_PREFIX"
    printf 'C_DAY_MS=%q\n' "$C_DAY_MS"
    printf 'C_SIM_URL=%q\n' "$C_SIM_URL"
    printf 'C_WORKERS=%q\n' "$C_WORKERS"
    printf 'C_BROKER_STARTED=%q\n' "$C_BROKER_STARTED"
    printf 'C_SETS=%q\n' "$C_SETS"
    printf 'C_CONSOLE_URL=%q\n' "$C_CONSOLE_URL"
  } >"$STATE.tmp"
  mv "$STATE.tmp" "$STATE"
}

# -X settings (stored as one newline-separated string) as arguments.
SET_ARGS=()
set_args() {
  SET_ARGS=()
  local s
  while IFS= read -r s; do
    [ -n "$s" ] && SET_ARGS+=(-X "$s")
  done <<<"$C_SETS"
  return 0
}

starttime() { # pid -> start time in clock ticks since boot (field 22 of stat)
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  stat="${stat##*) }"
  # shellcheck disable=SC2086 # split the fields on purpose
  set -- $stat
  echo "${20}"
}

pid_of() { # name -> pid (from the pid file) or nothing
  [ -f "$RUN/pids/$1.pid" ] || return 1
  local pid st
  read -r pid st <"$RUN/pids/$1.pid"
  echo "$pid"
}

alive() { # name: its recorded process is running (and is not a recycled pid)
  [ -f "$RUN/pids/$1.pid" ] || return 1
  local pid st now
  read -r pid st <"$RUN/pids/$1.pid"
  now="$(starttime "$pid")" || return 1
  [ "$now" = "$st" ] || return 1
  # a zombie is not alive
  ! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null
}

log_of() { echo "$RUN/logs/$1.log"; }
log_size() { stat -c %s "$(log_of "$1")" 2>/dev/null || echo 0; }

start_proc() { # name command... : starts it in its own session, records its pid
  local name="$1"; shift
  local log
  log="$(log_of "$name")"
  mkdir -p "$RUN/pids" "$RUN/logs"
  printf -- '---- %s start: %s\n' "$(date -u +%FT%TZ)" "$*" >>"$log"
  # setsid: a terminal's Ctrl-C in the caller does not reach it; 9>&-: the
  # lock of this script is not inherited.
  setsid "$@" </dev/null >>"$log" 2>&1 9>&- &
  local pid=$!
  local st=""
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    st="$(starttime "$pid")" && break
    sleep 0.05
  done
  [ -n "$st" ] || { say "$name exited at once; see $log"; tail -n 20 "$log" >&2; return 1; }
  echo "$pid $st" >"$RUN/pids/$name.pid"
}

stop_proc() { # name [signal-first] : TERM (or KILL), wait, then KILL
  local name="$1" sig="${2:-TERM}" pid i
  alive "$name" || return 0
  pid="$(pid_of "$name")"
  kill -"$sig" "$pid" 2>/dev/null || return 0
  for i in $(seq 1 100); do  # 20 s for a clean stop
    alive "$name" || return 0
    sleep 0.2
  done
  say "$name (pid $pid) did not stop after SIG$sig; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for i in $(seq 1 50); do alive "$name" || return 0; sleep 0.1; done
  say "$name (pid $pid) is still there after SIGKILL"
  return 1
}

# Wait until NAME's log (from byte offset OFF on) matches REGEX; fails when
# the process dies or the time is up.
wait_log() { # name offset regex what
  local name="$1" off="$2" re="$3" what="$4" deadline=$((SECONDS + READY_TIMEOUT))
  while [ $SECONDS -lt $deadline ]; do
    if tail -c +"$((off + 1))" "$(log_of "$name")" 2>/dev/null | grep -qE "$re"; then return 0; fi
    if ! alive "$name"; then
      say "$name exited before $what; last lines of $(log_of "$name"):"
      tail -n 30 "$(log_of "$name")" >&2 || true
      return 1
    fi
    sleep 0.2
  done
  say "$name: no $what within ${READY_TIMEOUT} s; last lines of $(log_of "$name"):"
  tail -n 30 "$(log_of "$name")" >&2 || true
  return 1
}

http_ok() { # url -> 0 if it answers 200 within 3 s
  if command -v curl >/dev/null 2>&1; then
    curl -fsS -m 3 -o /dev/null "$1" 2>/dev/null
  else
    python3 -c 'import sys,urllib.request;urllib.request.urlopen(sys.argv[1],timeout=3).read()' "$1" 2>/dev/null
  fi
}

lock() {
  mkdir -p "$RUN"
  exec 9>"$RUN/.lock"
  flock -w 120 9 || die "timed out waiting for the lock on $RUN/.lock"
}

kafka_sh() { DF_KAFKA_STATE="$RUN/broker.env" "$ROOT/scripts/kafka.sh" "$@"; }

# ---------------------------------------------------------------------------
# the processes
# ---------------------------------------------------------------------------
start_timer() {
  local off
  off="$(log_size timer-service)"
  start_proc timer-service "$DURAFLOW" --brokers "$C_BROKERS" --prefix "$C_PREFIX" \
    -X "state.dir=$RUN/state" -X "worker.id=$C_PREFIX-timer-1" -X log.level=info \
    "${SET_ARGS[@]}" timer-service || return 1
  wait_log timer-service "$off" 'timer service .*: consuming' "'consuming' line"
}

start_sim() { # port (0 = free)
  local off line port
  off="$(log_size orders-sim)"
  start_proc orders-sim "$SIM" --brokers "$C_BROKERS" --prefix "$C_PREFIX" --listen 127.0.0.1 \
    --port "$1" --day-ms "$C_DAY_MS" "${SET_ARGS[@]}" || return 1
  wait_log orders-sim "$off" '^orders-sim listening on ' "'listening' line" || return 1
  line="$(tail -c +"$((off + 1))" "$(log_of orders-sim)" | grep -m1 -E '^orders-sim listening on ')"
  port="${line##*:}"
  C_SIM_URL="http://127.0.0.1:$port"
  local deadline=$((SECONDS + READY_TIMEOUT))
  until http_ok "$C_SIM_URL/health"; do
    [ $SECONDS -lt $deadline ] && alive orders-sim || { say "orders-sim: $C_SIM_URL/health does not answer"; return 1; }
    sleep 0.2
  done
}

start_console() { # port (0 = free)
  local off line
  off="$(log_size console)"
  mkdir -p "$RUN/state/console"
  start_proc console "$DURAFLOW" --brokers "$C_BROKERS" --prefix "$C_PREFIX" \
    -X "console.state.dir=$RUN/state/console" "${SET_ARGS[@]}" \
    console --listen "127.0.0.1:$1" || return 1
  wait_log console "$off" '^console listening on ' "'listening' line" || return 1
  line="$(tail -c +"$((off + 1))" "$(log_of console)" | grep -m1 -E '^console listening on ')"
  C_CONSOLE_URL="${line#console listening on }"
  local deadline=$((SECONDS + READY_TIMEOUT))
  until http_ok "$C_CONSOLE_URL/api/v1/status"; do
    [ $SECONDS -lt $deadline ] && alive console || { say "console: $C_CONSOLE_URL does not answer"; return 1; }
    sleep 0.2
  done
}

start_worker() { # index
  local i="$1" name="worker-$1" off
  off="$(log_size "$name")"
  mkdir -p "$RUN/state/$name"
  start_proc "$name" "$WORKER" --brokers "$C_BROKERS" --prefix "$C_PREFIX" \
    --state-dir "$RUN/state/$name" --worker-id "$C_PREFIX-worker-$i" --sim "$C_SIM_URL" \
    -X log.level=info "${SET_ARGS[@]}" || return 1
  wait_log "$name" "$off" "worker $C_PREFIX-worker-$i: consuming" "'consuming' line"
}

names() { # every process name, in start order
  echo timer-service
  echo orders-sim
  echo console
  local i
  for ((i = 1; i <= C_WORKERS; i++)); do echo "worker-$i"; done
}

# ---------------------------------------------------------------------------
# commands
# ---------------------------------------------------------------------------
# Everything but the broker; returns 1 at the first process that fails to
# start or to become ready (the caller stops the rest). set -e does not apply
# in here (called in a condition): every step says `|| return 1`.
start_all() { # sim-port workers console-port
  local workers="$2" i offs=() deadline pending
  start_timer || return 1
  start_sim "$1" || return 1
  start_console "$3" || return 1
  write_state || return 1
  # The workers start together and become ready together (one rebalance).
  for ((i = 1; i <= workers; i++)); do
    offs[i]="$(log_size "worker-$i")"
    mkdir -p "$RUN/state/worker-$i" || return 1
    start_proc "worker-$i" "$WORKER" --brokers "$C_BROKERS" --prefix "$C_PREFIX" \
      --state-dir "$RUN/state/worker-$i" --worker-id "$C_PREFIX-worker-$i" --sim "$C_SIM_URL" \
      -X log.level=info "${SET_ARGS[@]}" || return 1
  done
  for ((i = 1; i <= workers; i++)); do
    wait_log "worker-$i" "${offs[i]}" "worker $C_PREFIX-worker-$i: consuming" "'consuming' line" || return 1
  done
  # Settle: the group has balanced once every worker logged an assignment
  # (a worker beyond the partition count may get none: not an error).
  deadline=$((SECONDS + 15))
  while :; do
    pending=0
    for ((i = 1; i <= workers; i++)); do
      tail -c +"$((offs[i] + 1))" "$(log_of "worker-$i")" | grep -qE 'assigned [0-9]+ partition' ||
        pending=$((pending + 1))
    done
    [ $pending -eq 0 ] && break
    if [ $SECONDS -ge $deadline ]; then
      say "note: $pending worker(s) have no partition assigned yet (more workers than partitions?)"
      break
    fi
    sleep 0.2
  done
  return 0
}

cmd_up() {
  local workers=3 sim_port=0 console_port=7070 n
  C_PREFIX="${DF_PREFIX:-duraflow}" C_DAY_MS="${DF_DAY_MS:-1000}" C_SETS=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --workers) workers="${2:?--workers N}"; shift 2 ;;
      --prefix) C_PREFIX="${2:?--prefix P}"; shift 2 ;;
      --day-ms) C_DAY_MS="${2:?--day-ms MS}"; shift 2 ;;
      --sim-port) sim_port="${2:?--sim-port N}"; shift 2 ;;
      --console-port) console_port="${2:?--console-port N}"; shift 2 ;;
      -X|--set) C_SETS+="${2:?-X NAME=VALUE}"$'\n'; shift 2 ;;
      *) die "up: unknown option $1" ;;
    esac
  done
  [[ "$workers" =~ ^[1-9][0-9]*$ ]] || die "--workers wants a positive number"
  need_programs
  lock
  if load_state; then
    for n in $(names); do
      alive "$n" && die "a cluster is already up in $RUN ($n is running): scripts/cluster.sh status / down"
    done
  fi
  rm -rf "$RUN/pids"
  C_WORKERS="$workers" C_BROKER_STARTED=0 C_SIM_URL="" C_CONSOLE_URL=""
  set_args
  local t0=$SECONDS line
  if [ -n "${DF_BROKERS:-}" ]; then
    C_BROKERS="$DF_BROKERS"
    say "using the broker at $C_BROKERS (DF_BROKERS)"
  else
    line="$(kafka_sh start)" || die "the broker did not start"
    C_BROKERS="${line#DF_BROKERS=}"
    C_BROKER_STARTED=1
  fi
  write_state
  # Also on Ctrl-C: stop what was started.
  trap 'say "interrupted; stopping what was started"; down_locked; exit 130' INT TERM
  if ! start_all "$sim_port" "$workers" "$console_port"; then
    say "up failed; stopping what was started"
    down_locked || true
    exit 1
  fi
  trap - INT TERM
  say "up in $((SECONDS - t0)) s: broker $C_BROKERS, prefix $C_PREFIX, simulator $C_SIM_URL, console $C_CONSOLE_URL, $workers worker(s), day ${C_DAY_MS} ms; run dir $RUN"
  cmd_env
}

down_locked() {
  local n rc=0
  load_state || { say "no cluster in $RUN"; return 0; }
  # workers first (they call the simulator), then the timer service and the simulator
  for n in $(names | tac); do
    if alive "$n"; then
      say "stopping $n (pid $(pid_of "$n"))"
      stop_proc "$n" TERM || rc=1
    fi
  done
  if [ "$C_BROKER_STARTED" = 1 ]; then
    kafka_sh stop || rc=1
  fi
  rm -f "$STATE"
  rm -rf "$RUN/pids"
  return $rc
}

cmd_down() {
  local purge=0
  [ "${1:-}" = "--purge" ] && purge=1
  lock
  down_locked || true
  if [ $purge = 1 ]; then
    case "$RUN" in
      /|"$ROOT"|"$HOME") die "refusing to delete $RUN" ;;
    esac
    rm -rf "$RUN"
    say "deleted $RUN"
  fi
  say "down"
}

cmd_status() {
  need_state
  local n all=0 pid
  printf '%-16s %-8s %-6s %s\n' NAME PID STATE LOG
  for n in $(names); do
    pid="$(pid_of "$n" 2>/dev/null || echo -)"
    if alive "$n"; then
      printf '%-16s %-8s %-6s %s\n' "$n" "$pid" alive "$(log_of "$n")"
    else
      printf '%-16s %-8s %-6s %s\n' "$n" "$pid" dead "$(log_of "$n")"
      all=1
    fi
  done
  if [ "$C_BROKER_STARTED" = 1 ]; then
    printf 'broker           %s\n' "$(kafka_sh status 2>&1 || true)"
  else
    printf 'broker           %s (given by DF_BROKERS; not managed here)\n' "$C_BROKERS"
  fi
  return $all
}

cmd_env() {
  need_state
  echo "DF_BROKERS=$C_BROKERS"
  echo "DF_PREFIX=$C_PREFIX"
  echo "DF_SIM_URL=$C_SIM_URL"
  echo "DF_DAY_MS=$C_DAY_MS"
  echo "DF_CONSOLE_URL=$C_CONSOLE_URL"
}

cmd_load() {
  need_state
  need_programs
  set_args
  "$LOAD" --brokers "$C_BROKERS" --prefix "$C_PREFIX" --day-ms "$C_DAY_MS" "${SET_ARGS[@]}" "$@"
}

cmd_report() {
  need_state
  need_programs
  set_args
  "$REPORT" --brokers "$C_BROKERS" --prefix "$C_PREFIX" --sim "$C_SIM_URL" "${SET_ARGS[@]}" "$@"
}

worker_index() {
  need_state
  [[ "${1:-}" =~ ^[1-9][0-9]*$ ]] && [ "$1" -le "$C_WORKERS" ] ||
    die "worker index must be 1..$C_WORKERS"
}

cmd_kill_worker() {
  worker_index "${1:-}"
  lock
  alive "worker-$1" || die "worker-$1 is not running"
  say "SIGKILL worker-$1 (pid $(pid_of "worker-$1"))"
  stop_proc "worker-$1" KILL
}

cmd_start_worker() {
  worker_index "${1:-}"
  need_programs
  lock
  alive "worker-$1" && die "worker-$1 is already running (pid $(pid_of "worker-$1"))"
  set_args
  start_worker "$1"
  say "worker-$1 running again (pid $(pid_of "worker-$1"))"
}

cmd_logs() {
  [ -n "${1:-}" ] || die "logs NAME [N]"
  tail -n "${2:-50}" "$(log_of "$1")"
}

case "${1:-}" in
  up) shift; cmd_up "$@" ;;
  down) shift; cmd_down "$@" ;;
  status) cmd_status ;;
  env) cmd_env ;;
  load) shift; cmd_load "$@" ;;
  report) shift; cmd_report "$@" ;;
  kill-worker) shift; cmd_kill_worker "$@" ;;
  start-worker) shift; cmd_start_worker "$@" ;;
  logs) shift; cmd_logs "$@" ;;
  -h|--help|help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
  *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
esac
