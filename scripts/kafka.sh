#!/usr/bin/env bash
# A real, single-node Apache Kafka broker (KRaft: broker + controller in one JVM)
# for duraflow's tests and local development. Kafka comes from Maven Central via
# scripts/kafka/pom.xml and is cached; no download site, no Docker.
#
# Usage: scripts/kafka.sh COMMAND
#   fetch          fetch Kafka's jars into the cache (done by start when needed)
#   start          start a broker on a free 127.0.0.1 port, wait until it serves
#                  requests, print DF_BROKERS=127.0.0.1:<port>
#                  (a broker already running for this state file is reused)
#   env            print DF_BROKERS=... for the running broker
#                  (eval "$(scripts/kafka.sh env)"; export DF_BROKERS)
#   status         say whether it is running; exit 0 if so, 1 if not
#   stop           stop the broker this script started; delete its temp dirs
#   restart [--kill]
#                  stop (TERM, or KILL with --kill: a crash) and start the same
#                  broker again, same port and data; for fault tests
#   logs [N]       print the last N (default 100) lines of the broker log
#
# Environment:
#   DF_CACHE                  cache dir (default <repo>/.cache/kafka)
#   DF_KAFKA_STATE            state file (default $DF_CACHE/run/broker.env)
#   DF_KAFKA_VERSION          Kafka version to fetch (default: the pom's)
#   DF_MAVEN_ARGS             extra mvn arguments (e.g. -Dmaven.repo.local=DIR)
#   DF_KAFKA_PORT, DF_KAFKA_CONTROLLER_PORT   fixed ports instead of free ones
#   DF_KAFKA_HEAP_OPTS        JVM heap options (default -Xms256m -Xmx512m)
#   DF_KAFKA_START_TIMEOUT    seconds to wait for the broker (default 90)
#   DF_KAFKA_EXTRA_PROPS      extra server.properties lines (newline separated)
#   DF_KAFKA_KEEP=1           stop keeps the temp dir (data and logs)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
POM="$ROOT/scripts/kafka/pom.xml"
DF_CACHE="${DF_CACHE:-$ROOT/.cache/kafka}"
STATE="${DF_KAFKA_STATE:-$DF_CACHE/run/broker.env}"
LIB="$DF_CACHE/lib"
HEAP_OPTS="${DF_KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
START_TIMEOUT="${DF_KAFKA_START_TIMEOUT:-90}"

say() { printf 'kafka.sh: %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

need() {
  command -v "$1" >/dev/null 2>&1 || die "'$1' not found; run scripts/setup.sh first"
}

# ---------------------------------------------------------------------------
# fetch: copy Kafka and its dependencies into $LIB, once per pom/version.
# ---------------------------------------------------------------------------
fetch_stamp() {
  { sha256sum "$POM" | cut -d' ' -f1; echo "version=${DF_KAFKA_VERSION:-}"; } | sha256sum | cut -d' ' -f1
}

kafka_version_of_lib() {
  local j
  j="$(ls "$LIB"/kafka_2.13-*.jar 2>/dev/null | head -n1)"
  [ -n "$j" ] || { echo unknown; return; }
  j="${j##*/kafka_2.13-}"
  echo "${j%.jar}"
}

cmd_fetch() {
  local stamp
  stamp="$(fetch_stamp)"
  if [ -f "$LIB/.stamp" ] && [ "$(cat "$LIB/.stamp")" = "$stamp" ]; then
    return 0
  fi
  need mvn
  need java
  mkdir -p "$DF_CACHE"
  (
    flock -w 600 9 || die "timed out waiting for another fetch"
    # Someone else may have fetched while we waited for the lock.
    if [ -f "$LIB/.stamp" ] && [ "$(cat "$LIB/.stamp")" = "$stamp" ]; then exit 0; fi
    local tmp="$DF_CACHE/lib.tmp.$$" t0=$SECONDS
    local -a vers=()
    [ -n "${DF_KAFKA_VERSION:-}" ] && vers=("-Dkafka.version=$DF_KAFKA_VERSION")
    rm -rf "$tmp"
    say "fetching Apache Kafka from Maven Central (${DF_KAFKA_VERSION:-pom default}) into $LIB"
    local -a margs
    read -r -a margs <<<"${DF_MAVEN_ARGS:-}"
    if ! mvn -B -q -f "$POM" "${vers[@]}" "${margs[@]}" dependency:copy-dependencies \
         -DoutputDirectory="$tmp" </dev/null >"$DF_CACHE/fetch.log" 2>&1; then
      tail -n 40 "$DF_CACHE/fetch.log" >&2 || true
      rm -rf "$tmp"
      die "maven could not fetch Kafka (full log: $DF_CACHE/fetch.log)"
    fi
    ls "$tmp"/kafka_2.13-*.jar >/dev/null 2>&1 || { rm -rf "$tmp"; die "fetch produced no kafka_2.13 jar"; }
    echo "$stamp" >"$tmp/.stamp"
    rm -rf "$LIB"
    mv "$tmp" "$LIB"
    say "fetched Kafka $(kafka_version_of_lib) ($(ls "$LIB"/*.jar | wc -l) jars) in $((SECONDS - t0)) s"
  ) 9>"$DF_CACHE/fetch.lock"
}

# ---------------------------------------------------------------------------
# state
# ---------------------------------------------------------------------------
DF_KAFKA_PID="" DF_KAFKA_PORT_S="" DF_KAFKA_CPORT_S="" DF_KAFKA_DIR="" DF_KAFKA_LOG=""
load_state() {
  [ -f "$STATE" ] || return 1
  # shellcheck disable=SC1090
  local DF_BROKERS=""  # keep the caller's DF_BROKERS untouched
  . "$STATE"
  DF_KAFKA_PORT_S="$DF_KAFKA_BROKER_PORT"
  DF_KAFKA_CPORT_S="$DF_KAFKA_CTRL_PORT"
}

write_state() { # pid
  mkdir -p "$(dirname "$STATE")"
  {
    printf 'DF_KAFKA_PID=%q\n' "$1"
    printf 'DF_KAFKA_BROKER_PORT=%q\n' "$PORT"
    printf 'DF_KAFKA_CTRL_PORT=%q\n' "$CPORT"
    printf 'DF_KAFKA_DIR=%q\n' "$DIR"
    printf 'DF_KAFKA_LOG=%q\n' "$DIR/logs/server.log"
    printf 'DF_KAFKA_VERSION_RUNNING=%q\n' "$(kafka_version_of_lib)"
    printf 'DF_BROKERS=%q\n' "127.0.0.1:$PORT"
  } >"$STATE.tmp"
  mv "$STATE.tmp" "$STATE"
}

# Is $1 alive and our broker (not a recycled pid)?
is_our_broker() { # pid dir
  local pid="$1" dir="$2"
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "kafka.Kafka $dir/server.properties"
}

running() {
  load_state && is_our_broker "$DF_KAFKA_PID" "$DF_KAFKA_DIR"
}

# ---------------------------------------------------------------------------
# start
# ---------------------------------------------------------------------------
free_ports() { # prints two free TCP ports on 127.0.0.1
  python3 - <<'EOF'
import socket
socks = []
for _ in range(2):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

# Ready when a Metadata request (v4) lists at least one broker: the broker
# appears there only once the controller has unfenced it.
probe() { # port
  python3 - "$1" <<'EOF'
import socket, struct, sys
port = int(sys.argv[1])
try:
    s = socket.create_connection(("127.0.0.1", port), timeout=3)
    s.settimeout(3)
    cid = b"df-probe"
    # header v1: api_key=3 (Metadata), api_version=4, correlation_id, client_id
    body = struct.pack(">hhih", 3, 4, 7, len(cid)) + cid
    body += struct.pack(">i", 0) + b"\x00"  # topics: [] ; allow_auto_topic_creation=false
    s.sendall(struct.pack(">i", len(body)) + body)
    def readn(n):
        b = b""
        while len(b) < n:
            c = s.recv(n - len(b))
            if not c:
                raise EOFError
            b += c
        return b
    size = struct.unpack(">i", readn(4))[0]
    resp = readn(size)
    corr, throttle, nbrokers = struct.unpack(">iii", resp[:12])
    sys.exit(0 if corr == 7 and nbrokers >= 1 else 1)
except Exception:
    sys.exit(1)
EOF
}

write_config() {
  local cluster_id
  mkdir -p "$DIR/data" "$DIR/logs"
  cat >"$DIR/server.properties" <<EOF
# generated by scripts/kafka.sh: single-node KRaft broker + controller
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CPORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CPORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$DIR/data
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=false
delete.topic.enable=true
# internal topics on one node: replication factor 1, fewer partitions
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# tests want a consumer group to rebalance at once
group.initial.rebalance.delay.ms=0
# abort a dead producer's timed-out transaction within ~1 s of its timeout (takeover time)
transaction.abort.timed.out.transaction.cleanup.interval.ms=1000
# after a crash (restart --kill) the controller waits for the old broker
# session to expire before the broker may register again: keep that short
broker.heartbeat.interval.ms=500
broker.session.timeout.ms=2500
num.network.threads=2
num.io.threads=4
EOF
  if [ -n "${DF_KAFKA_EXTRA_PROPS:-}" ]; then
    printf '# DF_KAFKA_EXTRA_PROPS\n%s\n' "$DF_KAFKA_EXTRA_PROPS" >>"$DIR/server.properties"
  fi
  cat >"$DIR/log4j2.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="WARN">
  <Appenders>
    <File name="server" fileName="$DIR/logs/server.log">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
    </File>
  </Appenders>
  <Loggers>
    <Logger name="kafka.request.logger" level="WARN"/>
    <Logger name="state.change.logger" level="WARN"/>
    <Logger name="org.apache.kafka.controller" level="INFO"/>
    <Root level="INFO"><AppenderRef ref="server"/></Root>
  </Loggers>
</Configuration>
EOF
  # A Kafka Uuid: 16 random bytes, base64url without padding.
  cluster_id="$(python3 -c 'import base64,os;print(base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("="))')"
  if ! java -Xmx256m -Dlog4j2.configurationFile="$DIR/log4j2.xml" -cp "$LIB/*" \
       kafka.tools.StorageTool format -t "$cluster_id" -c "$DIR/server.properties" \
       </dev/null >"$DIR/logs/format.log" 2>&1; then
    cat "$DIR/logs/format.log" >&2
    return 1
  fi
}

launch() { # starts the JVM in the background; sets PID
  local -a heap
  read -r -a heap <<<"$HEAP_OPTS"
  # setsid: own session, so a terminal's Ctrl-C in the caller does not hit it.
  setsid java "${heap[@]}" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$DIR/log4j2.xml" -Dkafka.logs.dir="$DIR/logs" \
    -cp "$LIB/*" kafka.Kafka "$DIR/server.properties" \
    </dev/null >>"$DIR/logs/stdout.log" 2>&1 8>&- 9>&- &
  PID=$!
}

wait_ready() { # returns 0 ready, 1 died, 2 timed out
  local deadline=$((SECONDS + START_TIMEOUT))
  while [ $SECONDS -lt $deadline ]; do
    kill -0 "$PID" 2>/dev/null || return 1
    if probe "$PORT"; then return 0; fi
    sleep 0.5
  done
  return 2
}

show_log_tail() {
  # Errors first, then the tail without the indented config dumps.
  if grep -qE ' (ERROR|FATAL) ' "$DIR/logs/server.log" 2>/dev/null; then
    say "---- errors in $DIR/logs/server.log ----"
    grep -E ' (ERROR|FATAL) ' "$DIR/logs/server.log" | tail -n 15 | cut -c1-1000 >&2 || true
  fi
  say "---- tail of $DIR/logs/server.log ----"
  grep -v $'^\t' "$DIR/logs/server.log" 2>/dev/null | tail -n 40 | cut -c1-1000 >&2 || true
  if [ -s "$DIR/logs/stdout.log" ]; then
    say "---- tail of $DIR/logs/stdout.log ----"
    tail -n 20 "$DIR/logs/stdout.log" >&2 || true
  fi
}

kill_pid() { # pid signal-first(TERM|KILL)
  local pid="$1" sig="${2:-TERM}" i
  kill -"$sig" "$pid" 2>/dev/null || return 0
  for i in $(seq 1 120); do  # up to 60 s for a clean shutdown
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.5
  done
  say "broker pid $pid did not exit after SIG$sig; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for i in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.25; done
}

start_once() { # sets PORT CPORT DIR PID; returns 0 ok, 1 failed, 3 port clash
  local ports rc=0
  if [ -n "${DF_KAFKA_PORT:-}" ] && [ -n "${DF_KAFKA_CONTROLLER_PORT:-}" ]; then
    PORT="$DF_KAFKA_PORT" CPORT="$DF_KAFKA_CONTROLLER_PORT"
  else
    ports="$(free_ports)"
    PORT="${DF_KAFKA_PORT:-${ports% *}}" CPORT="${DF_KAFKA_CONTROLLER_PORT:-${ports#* }}"
  fi
  DIR="$(mktemp -d "${TMPDIR:-/tmp}/df-kafka.XXXXXX")"
  if ! write_config; then
    say "formatting the log directory failed"
    rm -rf "$DIR"
    return 1
  fi
  launch
  write_state "$PID"
  wait_ready || rc=$?
  [ $rc -eq 0 ] && return 0
  if [ $rc -eq 1 ]; then
    if [ -z "${DF_KAFKA_PORT:-}${DF_KAFKA_CONTROLLER_PORT:-}" ] &&
       grep -qE 'Address already in use|BindException' "$DIR/logs/server.log" "$DIR/logs/stdout.log" 2>/dev/null; then
      rm -rf "$DIR"; rm -f "$STATE"
      return 3
    fi
    say "the broker exited during start-up (Kafka $(kafka_version_of_lib), port $PORT)"
  else
    say "the broker did not serve requests within ${START_TIMEOUT} s (Kafka $(kafka_version_of_lib), port $PORT)"
    kill_pid "$PID" TERM
  fi
  show_log_tail
  if [ "${DF_KAFKA_KEEP:-0}" = 1 ]; then say "kept $DIR"; else rm -rf "$DIR"; fi
  rm -f "$STATE"
  return 1
}

cmd_start() {
  need java
  need python3
  cmd_fetch
  mkdir -p "$(dirname "$STATE")"
  exec 8>"$STATE.lock"
  flock -w 300 8 || die "timed out waiting for the lock on $STATE"
  if running; then
    say "already running (pid $DF_KAFKA_PID)"
    echo "DF_BROKERS=127.0.0.1:$DF_KAFKA_PORT_S"
    return 0
  fi
  rm -f "$STATE"
  local t0=$SECONDS attempt rc
  for attempt in 1 2 3; do
    rc=0
    start_once || rc=$?
    [ $rc -eq 0 ] && break
    if [ $rc -eq 3 ] && [ $attempt -lt 3 ]; then
      say "port $PORT or $CPORT was taken meanwhile; retrying with other ports"
      continue
    fi
    [ $rc -eq 3 ] && say "ports taken three times in a row"
    die "could not start the Kafka broker (see above)"
  done
  say "Kafka $(kafka_version_of_lib) up in $((SECONDS - t0)) s: pid $PID, 127.0.0.1:$PORT (controller $CPORT), dir $DIR"
  echo "DF_BROKERS=127.0.0.1:$PORT"
}

# ---------------------------------------------------------------------------
# stop / status / env / restart / logs
# ---------------------------------------------------------------------------
cmd_stop() {
  if ! load_state; then say "not running (no state file $STATE)"; return 0; fi
  exec 8>"$STATE.lock"
  flock -w 300 8 || die "timed out waiting for the lock on $STATE"
  if is_our_broker "$DF_KAFKA_PID" "$DF_KAFKA_DIR"; then
    say "stopping broker pid $DF_KAFKA_PID"
    kill_pid "$DF_KAFKA_PID" TERM
  else
    say "broker pid $DF_KAFKA_PID is not running"
  fi
  if [ -n "$DF_KAFKA_DIR" ] && [ -d "$DF_KAFKA_DIR" ]; then
    case "$DF_KAFKA_DIR" in
      */df-kafka.*)
        if [ "${DF_KAFKA_KEEP:-0}" = 1 ]; then say "kept $DF_KAFKA_DIR"; else rm -rf "$DF_KAFKA_DIR"; fi ;;
      *) say "not deleting unexpected dir $DF_KAFKA_DIR" ;;
    esac
  fi
  rm -f "$STATE"
  say "stopped"
}

cmd_status() {
  if running; then
    echo "running: pid $DF_KAFKA_PID, DF_BROKERS=127.0.0.1:$DF_KAFKA_PORT_S, Kafka ${DF_KAFKA_VERSION_RUNNING:-?}, dir $DF_KAFKA_DIR"
    return 0
  fi
  echo "not running"
  return 1
}

cmd_env() {
  running || die "no broker running (state file $STATE); run scripts/kafka.sh start"
  echo "DF_BROKERS=127.0.0.1:$DF_KAFKA_PORT_S"
}

cmd_restart() {
  local sig=TERM
  [ "${1:-}" = "--kill" ] && sig=KILL
  running || die "no broker running to restart"
  exec 8>"$STATE.lock"
  flock -w 300 8 || die "timed out waiting for the lock on $STATE"
  PORT="$DF_KAFKA_PORT_S" CPORT="$DF_KAFKA_CPORT_S" DIR="$DF_KAFKA_DIR"
  say "restarting broker pid $DF_KAFKA_PID with SIG$sig"
  kill_pid "$DF_KAFKA_PID" "$sig"
  local t0=$SECONDS rc=0 i
  # the old socket may linger briefly
  for i in $(seq 1 20); do
    python3 -c "import socket,sys;s=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);s.bind(('127.0.0.1',$PORT))" 2>/dev/null && break
    sleep 0.5
  done
  echo "---- restart ($sig) at $(date -u +%FT%TZ) ----" >>"$DIR/logs/stdout.log"
  launch
  write_state "$PID"
  wait_ready || rc=$?
  if [ $rc -ne 0 ]; then
    [ $rc -eq 2 ] && kill_pid "$PID" TERM
    show_log_tail
    die "the broker did not come back after restart"
  fi
  say "Kafka back up in $((SECONDS - t0)) s: pid $PID, 127.0.0.1:$PORT"
  echo "DF_BROKERS=127.0.0.1:$PORT"
}

cmd_logs() {
  load_state || die "no broker state ($STATE)"
  tail -n "${1:-100}" "$DF_KAFKA_LOG"
}

case "${1:-}" in
  fetch)   cmd_fetch; say "Kafka $(kafka_version_of_lib) in $LIB" ;;
  start)   cmd_start ;;
  stop)    cmd_stop ;;
  status)  cmd_status ;;
  env)     cmd_env ;;
  restart) shift; cmd_restart "$@" ;;
  logs)    shift; cmd_logs "$@" ;;
  -h|--help|help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
  *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
esac
