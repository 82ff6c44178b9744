#!/usr/bin/env bash
# A real Apache Kafka for duraflow's tests and local development: one
# single-node broker (KRaft: broker + controller in one JVM), or with
# --brokers N a replicated cluster of N nodes. Kafka comes from Maven Central
# via scripts/kafka/pom.xml and is cached; no download site, no Docker.
#
# Usage: scripts/kafka.sh [--brokers N [--host ADDR | --bridge]] COMMAND
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
#   cluster-ids [N]  print N new KRaft cluster ids (never starting with "-")
#
# Cluster mode (--brokers N, N >= 2; 3 is what the tests use):
#   start          N nodes on free ports of ADDR (default 127.0.0.1), each a
#                  combined KRaft broker + controller (node ids 1..N, all N in
#                  the controller quorum); waits until every node lists all N
#                  brokers; prints DF_BROKERS=ADDR:p1,ADDR:p2,...
#                  Settings exactly-once needs on a replicated cluster (N >= 3):
#                  default.replication.factor 3, min.insync.replicas 2,
#                  offsets.topic.replication.factor 3,
#                  transaction.state.log.replication.factor 3,
#                  transaction.state.log.min.isr 2, no unclean leader election
#                  (N = 2: replication factor 2, min ISR 1). Heap per node
#                  -Xms128m -Xmx384m.
#   stop | status | env      all nodes (status: one line per node)
#   kill-node I    SIGKILL node I (a crash); its data and ports are kept
#   stop-node I    SIGTERM node I (controlled shutdown: leaders move first)
#   start-node I   start node I again (same id, ports, data); waits until every
#                  node lists all N brokers
#   restart-node I [--kill]   stop-node (or kill-node) then start-node
#   logs [N] [I]   last N lines of node I's log (default node 1)
#   --host ADDR    listen on ADDR instead of 127.0.0.1 (an address of this host;
#                  never a public interface)
#   --bridge       listen on $DF_KAFKA_BRIDGE_ADDR (10.77.0.1) of the bridge
#                  $DF_KAFKA_BRIDGE (dfbr0), created if missing (root; no
#                  uplink, no forwarding: reachable from this host and from
#                  network namespaces attached to the bridge, which is what
#                  tests/netns/ does) and deleted again by stop if start made it
#   Why combined nodes: a separate controller quorum would add 3 JVMs on a
#   2-core machine; 3 combined nodes keep a quorum of 3 (one node may be lost),
#   and losing a node loses a broker and a controller at once, which the fault
#   tests want. docs/production.md says when to separate them.
#   The state file defaults to $DF_CACHE/run/cluster.env in cluster mode; the
#   other commands learn the mode from the state file, so with DF_KAFKA_STATE
#   set, --brokers is only needed by start.
#
# Environment:
#   DF_CACHE                  cache dir (default <repo>/.cache/kafka)
#   DF_KAFKA_STATE            state file (default $DF_CACHE/run/broker.env,
#                             cluster mode $DF_CACHE/run/cluster.env)
#   DF_KAFKA_VERSION          Kafka version to fetch (default: the pom's)
#   DF_MAVEN_ARGS             extra mvn arguments (e.g. -Dmaven.repo.local=DIR)
#   DF_KAFKA_PORT, DF_KAFKA_CONTROLLER_PORT   fixed ports instead of free ones
#                             (single broker only)
#   DF_KAFKA_HEAP_OPTS        JVM heap options (default -Xms256m -Xmx512m;
#                             cluster mode -Xms128m -Xmx384m per node)
#   DF_KAFKA_START_TIMEOUT    seconds to wait for the broker (default 90;
#                             cluster mode 180)
#   DF_KAFKA_EXTRA_PROPS      extra server.properties lines (newline separated)
#   DF_KAFKA_KEEP=1           stop keeps the temp dir (data and logs)
#   DF_KAFKA_BRIDGE, DF_KAFKA_BRIDGE_ADDR    --bridge's bridge and its
#                             address/prefix (default dfbr0, 10.77.0.1/24)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
POM="$ROOT/scripts/kafka/pom.xml"
DF_CACHE="${DF_CACHE:-$ROOT/.cache/kafka}"
LIB="$DF_CACHE/lib"

say() { printf 'kafka.sh: %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

# Global options (before the command).
NODES=0 HOST="" BRIDGE=0
while [ $# -gt 0 ]; do
  case "$1" in
    --brokers) [[ "${2:-}" =~ ^[1-9]$ ]] || die "--brokers wants a node count 1..9"; NODES="$2"; shift 2 ;;
    --brokers=*) NODES="${1#--brokers=}"; [[ "$NODES" =~ ^[1-9]$ ]] || die "--brokers wants a node count 1..9"; shift ;;
    --host) HOST="${2:?--host ADDR}"; shift 2 ;;
    --bridge) BRIDGE=1; shift ;;
    *) break ;;
  esac
done
[ "$NODES" = 1 ] && NODES=0  # --brokers 1: the single broker
if [ "$NODES" = 0 ] && { [ -n "$HOST" ] || [ "$BRIDGE" = 1 ]; }; then
  die "--host and --bridge are for a cluster (--brokers N, N >= 2); the single broker listens on 127.0.0.1"
fi
[ -n "$HOST" ] && [ "$BRIDGE" = 1 ] && die "--host and --bridge exclude each other"
if [ "$NODES" -ge 2 ]; then
  STATE="${DF_KAFKA_STATE:-$DF_CACHE/run/cluster.env}"
else
  STATE="${DF_KAFKA_STATE:-$DF_CACHE/run/broker.env}"
  # a cluster's state file given by DF_KAFKA_STATE: cluster mode
  if [ -f "$STATE" ] && grep -q '^DF_KAFKA_NODES=' "$STATE"; then
    NODES="$(sed -n 's/^DF_KAFKA_NODES=//p' "$STATE" | head -n1)"
  fi
fi
if [ "$NODES" -ge 2 ]; then
  HEAP_OPTS="${DF_KAFKA_HEAP_OPTS:--Xms128m -Xmx384m}"
  START_TIMEOUT="${DF_KAFKA_START_TIMEOUT:-180}"
else
  HEAP_OPTS="${DF_KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
  START_TIMEOUT="${DF_KAFKA_START_TIMEOUT:-90}"
fi
BRIDGE_DEV="${DF_KAFKA_BRIDGE:-dfbr0}"
BRIDGE_ADDR="${DF_KAFKA_BRIDGE_ADDR:-10.77.0.1/24}"

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

# N cluster ids, one a line: a Kafka Uuid is 16 random bytes in base64url
# without padding, and, as Kafka's own Uuid.randomUuid() makes sure, never
# one that starts with "-": kafka-storage format would read "-t -abc..." as
# an option ("argument --cluster-id/-t: expected one argument"; one start in
# 64 failed so in CI's fault_broker_outage).
new_cluster_ids() {
  python3 - "$1" <<'PY'
import base64, os, sys
for _ in range(int(sys.argv[1])):
    while True:
        u = base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("=")
        if not u.startswith("-"):
            break
    print(u)
PY
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
# probe PORT [HOST [MIN]]: ready when at least MIN (default 1) brokers are
# listed (a cluster node: when every node has registered).
probe() { # port [host [min brokers]]
  python3 - "$1" "${2:-127.0.0.1}" "${3:-1}" <<'EOF'
import socket, struct, sys
port, host, want = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
try:
    s = socket.create_connection((host, port), timeout=3)
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
    sys.exit(0 if corr == 7 and nbrokers >= want else 1)
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
  cluster_id="$(new_cluster_ids 1)"
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

# ---------------------------------------------------------------------------
# cluster mode (--brokers N): N combined broker+controller nodes
# ---------------------------------------------------------------------------
C_DIR="" C_HOST="" C_BRIDGE_CREATED=0 C_VERSION=""
declare -a C_PID=() C_PORT=() C_CPORT=()

c_load_state() {
  [ -f "$STATE" ] || return 1
  local DF_BROKERS="" i v  # keep the caller's DF_BROKERS untouched
  # shellcheck disable=SC1090
  . "$STATE"
  NODES="$DF_KAFKA_NODES" C_DIR="$DF_KAFKA_DIR" C_HOST="$DF_KAFKA_HOST"
  C_BRIDGE_CREATED="${DF_KAFKA_BRIDGE_CREATED:-0}" C_VERSION="${DF_KAFKA_VERSION_RUNNING:-?}"
  BRIDGE_DEV="${DF_KAFKA_BRIDGE_DEV:-$BRIDGE_DEV}"
  for ((i = 1; i <= NODES; i++)); do
    v="DF_KAFKA_PID_$i"; C_PID[i]="${!v:-}"
    v="DF_KAFKA_PORT_$i"; C_PORT[i]="${!v}"
    v="DF_KAFKA_CPORT_$i"; C_CPORT[i]="${!v}"
  done
}

c_brokers() {
  local i out=""
  for ((i = 1; i <= NODES; i++)); do out+="${out:+,}$C_HOST:${C_PORT[i]}"; done
  echo "$out"
}

c_write_state() {
  local i
  mkdir -p "$(dirname "$STATE")"
  {
    printf 'DF_KAFKA_NODES=%q\n' "$NODES"
    printf 'DF_KAFKA_HOST=%q\n' "$C_HOST"
    printf 'DF_KAFKA_DIR=%q\n' "$C_DIR"
    printf 'DF_KAFKA_BRIDGE_CREATED=%q\n' "$C_BRIDGE_CREATED"
    printf 'DF_KAFKA_BRIDGE_DEV=%q\n' "$BRIDGE_DEV"
    printf 'DF_KAFKA_VERSION_RUNNING=%q\n' "$(kafka_version_of_lib)"
    for ((i = 1; i <= NODES; i++)); do
      printf 'DF_KAFKA_PID_%d=%q\n' "$i" "${C_PID[i]:-}"
      printf 'DF_KAFKA_PORT_%d=%q\n' "$i" "${C_PORT[i]}"
      printf 'DF_KAFKA_CPORT_%d=%q\n' "$i" "${C_CPORT[i]}"
      printf 'DF_KAFKA_LOG_%d=%q\n' "$i" "$C_DIR/node-$i/logs/server.log"
    done
    printf 'DF_BROKERS=%q\n' "$(c_brokers)"
  } >"$STATE.tmp"
  mv "$STATE.tmp" "$STATE"
}

c_alive() { is_our_broker "${C_PID[$1]:-}" "$C_DIR/node-$1"; }

c_free_ports() { # count host -> that many free TCP ports on host
  python3 - "$1" "$2" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((sys.argv[2], 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

# --bridge: a host-only bridge with one address, for network namespaces.
c_bridge_up() {
  local ip="${BRIDGE_ADDR%/*}"
  C_HOST="$ip"
  if ip -o addr show dev "$BRIDGE_DEV" 2>/dev/null | grep -qw "inet $BRIDGE_ADDR"; then
    say "using the existing bridge $BRIDGE_DEV ($BRIDGE_ADDR)"
    ip link set "$BRIDGE_DEV" up
    return 0
  fi
  ip link show "$BRIDGE_DEV" >/dev/null 2>&1 &&
    die "$BRIDGE_DEV exists without the address $BRIDGE_ADDR: not touching it (set DF_KAFKA_BRIDGE)"
  ip -o addr show to "$ip" 2>/dev/null | grep -q . &&
    die "$ip is already an address of this host (not on $BRIDGE_DEV): set DF_KAFKA_BRIDGE_ADDR"
  need ip
  [ "$(id -u)" = 0 ] || die "--bridge creates the bridge $BRIDGE_DEV: run as root (or create it first)"
  ip link add "$BRIDGE_DEV" type bridge || die "cannot create the bridge $BRIDGE_DEV"
  C_BRIDGE_CREATED=1
  ip addr add "$BRIDGE_ADDR" dev "$BRIDGE_DEV" && ip link set "$BRIDGE_DEV" up || {
    ip link del "$BRIDGE_DEV" 2>/dev/null || true
    die "cannot configure the bridge $BRIDGE_DEV"
  }
  say "created the bridge $BRIDGE_DEV with $BRIDGE_ADDR (no uplink)"
}

c_bridge_down() {
  if [ "$C_BRIDGE_CREATED" = 1 ] && ip link show "$BRIDGE_DEV" >/dev/null 2>&1; then
    ip link del "$BRIDGE_DEV" && say "deleted the bridge $BRIDGE_DEV"
  fi
}

# --host ADDR: loopback, or an address on a host-only bridge (no physical
# port): never an interface the network can reach.
c_check_host() { # addr
  local a="$1" dev p
  case "$a" in 127.*) return 0 ;; esac
  dev="$(ip -o -4 addr show to "$a" 2>/dev/null | awk '{print $2; exit}')"
  [ -n "$dev" ] || die "--host $a is not an IPv4 address of this host"
  [ -d "/sys/class/net/$dev/bridge" ] ||
    die "--host $a is on $dev, which is neither loopback nor a host-only bridge: the brokers would be reachable from the network (refused)"
  for p in /sys/class/net/"$dev"/brif/*; do
    [ -e "$p" ] || continue
    [ -e "/sys/class/net/${p##*/}/device" ] &&
      die "--host $a is on the bridge $dev, which has the physical port ${p##*/}: reachable from the network (refused)"
  done
  return 0
}

c_write_config() { # node cluster-id
  local i="$1" cid="$2" d="$C_DIR/node-$1" voters="" j rf misr
  for ((j = 1; j <= NODES; j++)); do voters+="${voters:+,}$j@$C_HOST:${C_CPORT[j]}"; done
  rf=$((NODES < 3 ? NODES : 3))
  misr=$((rf >= 3 ? 2 : 1))
  mkdir -p "$d/data" "$d/logs"
  cat >"$d/server.properties" <<EOF
# generated by scripts/kafka.sh: node $i of a $NODES-node KRaft cluster
# (combined broker + controller; every node is a controller voter)
process.roles=broker,controller
node.id=$i
controller.quorum.voters=$voters
listeners=PLAINTEXT://$C_HOST:${C_PORT[i]},CONTROLLER://$C_HOST:${C_CPORT[i]}
advertised.listeners=PLAINTEXT://$C_HOST:${C_PORT[i]}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$d/data
num.partitions=1
auto.create.topics.enable=false
delete.topic.enable=true
# what exactly-once rests on in a replicated cluster: every record on $rf
# nodes, a write acknowledged (acks=all) only once $misr replicas have it, and
# no out-of-sync replica ever elected leader (it would drop committed records)
default.replication.factor=$rf
min.insync.replicas=$misr
unclean.leader.election.enable=false
offsets.topic.replication.factor=$rf
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$misr
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=$rf
share.coordinator.state.topic.min.isr=$misr
group.initial.rebalance.delay.ms=0
transaction.abort.timed.out.transaction.cleanup.interval.ms=1000
# a crashed node is fenced (its leaderships move) 2.5 s after its last heartbeat
broker.heartbeat.interval.ms=500
broker.session.timeout.ms=2500
num.network.threads=2
num.io.threads=2
num.replica.fetchers=1
EOF
  if [ -n "${DF_KAFKA_EXTRA_PROPS:-}" ]; then
    printf '# DF_KAFKA_EXTRA_PROPS\n%s\n' "$DF_KAFKA_EXTRA_PROPS" >>"$d/server.properties"
  fi
  cat >"$d/log4j2.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="WARN">
  <Appenders>
    <File name="server" fileName="$d/logs/server.log">
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
  if ! java -Xmx256m -Dlog4j2.configurationFile="$d/log4j2.xml" -cp "$LIB/*" \
       kafka.tools.StorageTool format -t "$cid" -c "$d/server.properties" \
       </dev/null >"$d/logs/format.log" 2>&1; then
    cat "$d/logs/format.log" >&2
    return 1
  fi
}

c_launch() { # node: start its JVM (same config, data and ports), record its pid
  local DIR="$C_DIR/node-$1" PID
  launch
  C_PID[$1]="$PID"
  c_write_state
}

# Wait until node I serves and lists all N brokers: 0 ready, 1 died, 2 timed out
c_wait_node() { # node deadline(SECONDS)
  local i="$1" deadline="$2"
  while [ $SECONDS -lt "$deadline" ]; do
    kill -0 "${C_PID[i]}" 2>/dev/null || return 1
    probe "${C_PORT[i]}" "$C_HOST" "$NODES" && return 0
    sleep 0.5
  done
  return 2
}

c_show_log_tail() { # node
  local DIR="$C_DIR/node-$1"
  say "==== node $1 ===="
  show_log_tail
}

c_start_once() { # 0 ok, 1 failed, 3 port clash
  local ports i cid rc deadline failed=0 clash=0
  ports=($(c_free_ports $((2 * NODES)) "$C_HOST"))
  for ((i = 1; i <= NODES; i++)); do
    C_PORT[i]="${ports[2 * i - 2]}" C_CPORT[i]="${ports[2 * i - 1]}" C_PID[i]=""
  done
  C_DIR="$(mktemp -d "${TMPDIR:-/tmp}/df-kafka-cluster.XXXXXX")"
  cid="$(new_cluster_ids 1)"
  # the nodes' storage is formatted in parallel (a JVM each)
  local -a fpids=()
  for ((i = 1; i <= NODES; i++)); do
    c_write_config "$i" "$cid" &
    fpids[i]=$!
  done
  for ((i = 1; i <= NODES; i++)); do
    wait "${fpids[i]}" || failed=1
  done
  if [ $failed -ne 0 ]; then say "formatting the nodes' storage failed"; rm -rf "$C_DIR"; return 1; fi
  c_write_state
  for ((i = 1; i <= NODES; i++)); do c_launch "$i"; done
  deadline=$((SECONDS + START_TIMEOUT))
  for ((i = 1; i <= NODES; i++)); do
    rc=0
    c_wait_node "$i" "$deadline" || rc=$?
    [ $rc -eq 0 ] && continue
    failed=1
    if [ $rc -eq 1 ] && grep -qE 'Address already in use|BindException' \
         "$C_DIR/node-$i/logs/server.log" "$C_DIR/node-$i/logs/stdout.log" 2>/dev/null; then
      clash=1
    fi
    break
  done
  [ $failed -eq 0 ] && return 0
  if [ $clash -eq 0 ]; then
    say "node $i did not come up with all $NODES brokers within ${START_TIMEOUT} s (rc $rc; Kafka $(kafka_version_of_lib))"
    for ((i = 1; i <= NODES; i++)); do c_show_log_tail "$i"; done
  fi
  c_stop_nodes
  if [ "${DF_KAFKA_KEEP:-0}" = 1 ] && [ $clash -eq 0 ]; then say "kept $C_DIR"; else rm -rf "$C_DIR"; fi
  rm -f "$STATE"
  [ $clash -eq 1 ] && return 3
  return 1
}

c_running_all() {
  local i
  c_load_state || return 1
  for ((i = 1; i <= NODES; i++)); do c_alive "$i" || return 1; done
}

c_start() {
  local t0=$SECONDS attempt rc i
  need java
  need python3
  [ "$BRIDGE" = 1 ] || c_check_host "${HOST:-127.0.0.1}"
  cmd_fetch
  mkdir -p "$(dirname "$STATE")"
  exec 8>"$STATE.lock"
  flock -w 300 8 || die "timed out waiting for the lock on $STATE"
  local want="$NODES"
  if c_load_state; then
    for ((i = 1; i <= NODES; i++)); do
      if c_alive "$i"; then
        if c_running_all; then
          say "already running ($NODES nodes)"
          echo "DF_BROKERS=$(c_brokers)"
          return 0
        fi
        die "the cluster of $STATE is partly running: scripts/kafka.sh status, start-node I or stop"
      fi
    done
  fi
  NODES="$want"
  rm -f "$STATE"
  C_BRIDGE_CREATED=0
  if [ "$BRIDGE" = 1 ]; then c_bridge_up; else C_HOST="${HOST:-127.0.0.1}"; fi
  for attempt in 1 2 3; do
    rc=0
    c_start_once || rc=$?
    [ $rc -eq 0 ] && break
    if [ $rc -eq 3 ] && [ $attempt -lt 3 ]; then
      say "a port was taken meanwhile; retrying with other ports"
      continue
    fi
    c_bridge_down
    die "could not start the $NODES-node Kafka cluster (see above)"
  done
  say "Kafka $(kafka_version_of_lib) cluster up in $((SECONDS - t0)) s: $NODES nodes on $C_HOST, dir $C_DIR"
  for ((i = 1; i <= NODES; i++)); do
    say "  node $i: pid ${C_PID[i]}, $C_HOST:${C_PORT[i]} (controller ${C_CPORT[i]})"
  done
  echo "DF_BROKERS=$(c_brokers)"
}

c_stop_nodes() { # TERM every live node at once, KILL after 30 s
  local i j
  for ((i = 1; i <= NODES; i++)); do
    c_alive "$i" && kill -TERM "${C_PID[i]}" 2>/dev/null || true
  done
  for j in $(seq 1 60); do
    local left=0
    for ((i = 1; i <= NODES; i++)); do kill -0 "${C_PID[i]:-0}" 2>/dev/null && [ -n "${C_PID[i]:-}" ] && left=1; done
    [ $left -eq 0 ] && return 0
    sleep 0.5
  done
  for ((i = 1; i <= NODES; i++)); do
    if c_alive "$i"; then
      say "node $i (pid ${C_PID[i]}) did not exit after SIGTERM; sending SIGKILL"
      kill -KILL "${C_PID[i]}" 2>/dev/null || true
    fi
  done
  sleep 0.5
}

c_stop() {
  if ! c_load_state; then say "not running (no state file $STATE)"; return 0; fi
  exec 8>"$STATE.lock"
  flock -w 300 8 || die "timed out waiting for the lock on $STATE"
  say "stopping $NODES nodes"
  c_stop_nodes
  if [ -n "$C_DIR" ] && [ -d "$C_DIR" ]; then
    case "$C_DIR" in
      */df-kafka-cluster.*)
        if [ "${DF_KAFKA_KEEP:-0}" = 1 ]; then say "kept $C_DIR"; else rm -rf "$C_DIR"; fi ;;
      *) say "not deleting unexpected dir $C_DIR" ;;
    esac
  fi
  c_bridge_down
  rm -f "$STATE"
  say "stopped"
}

c_status() {
  local i all=0 serving
  if ! c_load_state; then echo "not running"; return 1; fi
  echo "cluster: $NODES nodes (combined broker + controller), Kafka $C_VERSION, DF_BROKERS=$(c_brokers), dir $C_DIR"
  for ((i = 1; i <= NODES; i++)); do
    if c_alive "$i"; then
      if probe "${C_PORT[i]}" "$C_HOST" 1; then serving="serving"; else serving="not serving"; all=1; fi
      echo "node $i: running, pid ${C_PID[i]}, $C_HOST:${C_PORT[i]} (controller ${C_CPORT[i]}), $serving"
    else
      echo "node $i: not running, $C_HOST:${C_PORT[i]} (controller ${C_CPORT[i]})"
      all=1
    fi
  done
  return $all
}

c_env() {
  local i
  c_load_state || die "no cluster running (state file $STATE); run scripts/kafka.sh --brokers N start"
  for ((i = 1; i <= NODES; i++)); do
    c_alive "$i" && { echo "DF_BROKERS=$(c_brokers)"; return 0; }
  done
  die "no node of the cluster in $STATE is running"
}

c_node_arg() { # validates I
  c_load_state || die "no cluster running (state file $STATE)"
  [[ "${1:-}" =~ ^[1-9]$ ]] && [ "$1" -le "$NODES" ] || die "node index must be 1..$NODES"
}

c_kill_node() { # node signal
  local i="$1" sig="$2" k
  c_alive "$i" || { say "node $i is not running"; return 0; }
  say "SIG$sig node $i (pid ${C_PID[i]})"
  if [ "$sig" = KILL ]; then
    kill -KILL "${C_PID[i]}" 2>/dev/null || true
    for k in $(seq 1 40); do kill -0 "${C_PID[i]}" 2>/dev/null || return 0; sleep 0.25; done
  else
    kill_pid "${C_PID[i]}" TERM
  fi
}

c_start_node() { # node
  local i="$1" t0=$SECONDS rc=0 k
  c_alive "$i" && die "node $i is already running (pid ${C_PID[i]})"
  for k in $(seq 1 20); do  # the old sockets may linger briefly
    python3 -c "import socket,sys
for p in ($DF_KAFKA_PORT_CHECK):
    s=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);s.bind(('$C_HOST',p));s.close()" \
      2>/dev/null && break
    sleep 0.5
  done
  echo "---- start-node at $(date -u +%FT%TZ) ----" >>"$C_DIR/node-$i/logs/stdout.log"
  c_launch "$i"
  c_wait_node "$i" $((SECONDS + START_TIMEOUT)) || rc=$?
  if [ $rc -ne 0 ]; then
    c_show_log_tail "$i"
    die "node $i did not come back with all $NODES brokers within ${START_TIMEOUT} s"
  fi
  say "node $i back in $((SECONDS - t0)) s: pid ${C_PID[i]}, $C_HOST:${C_PORT[i]}"
}

c_cmd_node() { # command node [--kill]
  local cmd="$1" i="${2:-}"
  c_node_arg "$i"
  exec 8>"$STATE.lock"
  flock -w 300 8 || die "timed out waiting for the lock on $STATE"
  c_load_state
  DF_KAFKA_PORT_CHECK="${C_PORT[i]},${C_CPORT[i]}"
  case "$cmd" in
    kill-node) c_kill_node "$i" KILL ;;
    stop-node) c_kill_node "$i" TERM ;;
    start-node) c_start_node "$i" ;;
    restart-node)
      if [ "${3:-}" = --kill ]; then c_kill_node "$i" KILL; else c_kill_node "$i" TERM; fi
      c_start_node "$i" ;;
  esac
}

c_logs() { # [N] [node]
  local n="${1:-100}" i="${2:-1}"
  c_node_arg "$i"
  tail -n "$n" "$C_DIR/node-$i/logs/server.log"
}

if [ "$NODES" -ge 2 ]; then
  case "${1:-}" in
    fetch)   cmd_fetch; say "Kafka $(kafka_version_of_lib) in $LIB" ;;
    start)   c_start ;;
    stop)    c_stop ;;
    status)  c_status ;;
    env)     c_env ;;
    kill-node|stop-node|start-node|restart-node) c_cmd_node "$@" ;;
    logs)    shift; c_logs "$@" ;;
    restart) die "in cluster mode: restart-node I [--kill]" ;;
    cluster-ids) new_cluster_ids "${2:-1}" ;;
  -h|--help|help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
  exit $?
fi

case "${1:-}" in
  fetch)   cmd_fetch; say "Kafka $(kafka_version_of_lib) in $LIB" ;;
  start)   cmd_start ;;
  stop)    cmd_stop ;;
  status)  cmd_status ;;
  env)     cmd_env ;;
  restart) shift; cmd_restart "$@" ;;
  logs)    shift; cmd_logs "$@" ;;
  kill-node|stop-node|start-node|restart-node) die "$1 is for a cluster (--brokers N)" ;;
  cluster-ids) new_cluster_ids "${2:-1}" ;;
  -h|--help|help) usage; exit 0 ;;
  *) usage >&2; exit 2 ;;
esac
