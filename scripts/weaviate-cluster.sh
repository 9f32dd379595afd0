#!/usr/bin/env bash
# A Weaviate cluster on loopback for the weaviate backend's tests and
# benchmarks: builds the pinned server once, starts N nodes with free ports,
# waits for health, and stops only the processes it started (by PID).
#
#   scripts/weaviate-cluster.sh build             build the server (cached)
#   scripts/weaviate-cluster.sh start [N]         start N nodes (default 3) on a fresh data dir
#   scripts/weaviate-cluster.sh status            nodes, PIDs, ports, health
#   scripts/weaviate-cluster.sh addrs             the address list for --weaviate (HOST:HTTP/GRPC,...)
#   scripts/weaviate-cluster.sh kill NODE         kill -9 node NODE (1..N)
#   scripts/weaviate-cluster.sh restart NODE      start node NODE again with its data
#   scripts/weaviate-cluster.sh stop              stop every node (TERM, then KILL after 20 s)
#
# Environment:
#   MRL_WEAVIATE_STATE  state dir: PIDs, ports, data, logs (default ${TMPDIR:-/tmp}/mrl-weaviate)
#   MRL_WEAVIATE_BIN    a weaviate-server binary to use instead of building one
#   MRL_WEAVIATE_WAIT   seconds to wait for health (default 120)
#   MRL_WEAVIATE_PPROF  1: serve Go's pprof on each node's PPROF port
#                       (http://127.0.0.1:PPROF/debug/pprof/; a diagnostic
#                       run, e.g. bench/cluster -pprof; off by default)
#
# The server is built with `go install` into
# ${XDG_CACHE_HOME:-$HOME/.cache}/mrl/weaviate-$VERSION (about 8 CPU-minutes
# and 1.8 GB of memory, once). Each node gets eight ports: HTTP, gRPC, gossip,
# data, Raft, Raft's internal RPC (Raft+1), Prometheus metrics
# (http://127.0.0.1:METRICS/metrics, which bench/cluster reads for the
# nodes' heap and vector index sizes) and pprof (used only with
# MRL_WEAVIATE_PPROF=1).
set -euo pipefail

VERSION=v1.35.2
STATE=${MRL_WEAVIATE_STATE:-${TMPDIR:-/tmp}/mrl-weaviate}
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/mrl/weaviate-$VERSION
BIN=${MRL_WEAVIATE_BIN:-$CACHE/weaviate-server}
WAIT=${MRL_WEAVIATE_WAIT:-120}

die() { echo "weaviate-cluster: $*" >&2; exit 1; }

build() {
  if [ -x "$BIN" ]; then
    return
  fi
  [ -z "${MRL_WEAVIATE_BIN:-}" ] || die "MRL_WEAVIATE_BIN=$BIN is not an executable file"
  mkdir -p "$CACHE"
  echo "weaviate-cluster: building weaviate-server $VERSION into $CACHE (once; about 8 CPU-minutes)" >&2
  local t0=$SECONDS
  (cd "$CACHE" && GOBIN="$CACHE" GOFLAGS=-buildvcs=false nice -n 10 go install "github.com/weaviate/weaviate/cmd/weaviate-server@$VERSION") ||
    die "go install github.com/weaviate/weaviate/cmd/weaviate-server@$VERSION failed"
  echo "weaviate-cluster: built in $((SECONDS - t0)) s" >&2
}

# port_free reports whether nothing listens on 127.0.0.1:$1 (TCP or UDP).
port_free() {
  ! ss -Htuln "sport = :$1" 2>/dev/null | grep -q .
}

# free_ports N prints N distinct free ports, each pair (p, p+1) free where
# the caller needs the next one too (Raft's internal RPC port). They lie
# outside the range the kernel takes the local ports of outgoing
# connections from (ip_local_port_range): the nodes start together and
# connect to each other at once, and one of those connections could hold
# a port picked for another node before that node binds it (CI,
# 2026-12-02: node 2's gRPC port 36064 taken, "bind: address already in
# use", and the cluster never became healthy).
free_ports() {
  local want=$1 got=() p lo hi base span
  read -r lo hi </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || { lo=32768 hi=60999; }
  if [ "$lo" -gt 12000 ]; then
    base=10000 span=$((lo - 10000 - 1)) # p + 1 < lo
  else
    base=$((hi + 1)) span=$((65535 - hi - 1))
  fi
  [ "$span" -gt $((8 * want)) ] || die "no room for $want ports outside the kernel's ephemeral port range $lo-$hi"
  while [ ${#got[@]} -lt "$want" ]; do
    p=$((base + (RANDOM * 32768 + RANDOM) % span))
    if port_free "$p" && port_free $((p + 1)) && [[ " ${got[*]} " != *" $p "* && " ${got[*]} " != *" $((p + 1)) "* && " ${got[*]} " != *" $((p - 1)) "* ]]; then
      got+=("$p")
    fi
  done
  echo "${got[@]}"
}

nodes() { cat "$STATE/nodes" 2>/dev/null || echo 0; }

# load I sets HTTP GRPC GOSSIP DATA RAFT METRICS PPROF for node I.
load() {
  [ -f "$STATE/node$1/ports" ] || die "no node $1 in $STATE (nodes: $(nodes))"
  # shellcheck disable=SC1090
  . "$STATE/node$1/ports"
}

# alive I reports whether node I's recorded PID is our weaviate-server.
alive() {
  local pid
  pid=$(cat "$STATE/node$1/pid" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "weaviate-server.*--port $(
    . "$STATE/node$1/ports"
    echo "$HTTP"
  )"
}

launch() {
  local i=$1 n join raft j
  n=$(nodes)
  load "$i"
  join="" raft=""
  for j in $(seq 1 "$n"); do
    # shellcheck disable=SC1090
    (. "$STATE/node$j/ports" && echo "$GOSSIP $RAFT") >"$STATE/.tmp"
    read -r g r <"$STATE/.tmp"
    join+="${join:+,}127.0.0.1:$g"
    raft+="${raft:+,}node$j:$r"
  done
  rm -f "$STATE/.tmp"
  load "$i"
  local profiling=true
  if [ "${MRL_WEAVIATE_PPROF:-}" = 1 ]; then
    [ -n "${PPROF:-}" ] || die "MRL_WEAVIATE_PPROF=1: node $i has no PPROF port (a cluster started before it had one: stop and start again)"
    profiling=false
  fi
  mkdir -p "$STATE/node$i/data"
  (
    cd "$STATE/node$i"
    exec env \
      PERSISTENCE_DATA_PATH="$STATE/node$i/data" \
      AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED=true \
      DEFAULT_VECTORIZER_MODULE=none \
      DISABLE_TELEMETRY=true \
      GO_PROFILING_DISABLE="$profiling" \
      GO_PROFILING_PORT="${PPROF:-6060}" \
      PROMETHEUS_MONITORING_ENABLED=true \
      PROMETHEUS_MONITORING_PORT="$METRICS" \
      CLUSTER_HOSTNAME="node$i" \
      CLUSTER_IN_LOCALHOST=true \
      CLUSTER_BIND_ADDR=127.0.0.1 \
      CLUSTER_ADVERTISE_ADDR=127.0.0.1 \
      CLUSTER_GOSSIP_BIND_PORT="$GOSSIP" \
      CLUSTER_DATA_BIND_PORT="$DATA" \
      CLUSTER_JOIN="$join" \
      RAFT_PORT="$RAFT" \
      RAFT_INTERNAL_RPC_PORT=$((RAFT + 1)) \
      RAFT_JOIN="$raft" \
      RAFT_BOOTSTRAP_EXPECT="$n" \
      GRPC_PORT="$GRPC" \
      ASYNC_REPLICATION_FREQUENCY="${ASYNC_REPLICATION_FREQUENCY:-2s}" \
      ASYNC_REPLICATION_PROPAGATION_DELAY="${ASYNC_REPLICATION_PROPAGATION_DELAY:-1s}" \
      ASYNC_REPLICATION_ALIVE_NODES_CHECKING_FREQUENCY="${ASYNC_REPLICATION_ALIVE_NODES_CHECKING_FREQUENCY:-1s}" \
      "$BIN" --host 127.0.0.1 --port "$HTTP" --scheme http
  ) >>"$STATE/node$i/log" 2>&1 </dev/null &
  echo $! >"$STATE/node$i/pid"
}

ready() {
  load "$1"
  curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$HTTP/v1/.well-known/ready" 2>/dev/null
}

# healthy_count I prints how many nodes node I's /v1/nodes reports HEALTHY.
healthy_count() {
  load "$1"
  local body
  body=$(curl -fsS --max-time 3 "http://127.0.0.1:$HTTP/v1/nodes" 2>/dev/null) || body=""
  grep -o '"status":"HEALTHY"' <<<"$body" | wc -l || true # grep finds none: 0
}

# wait_health I...: each node in the list is ready and sees every started node healthy.
wait_health() {
  local n deadline=$((SECONDS + WAIT)) i ok
  n=$(nodes)
  while :; do
    ok=1
    # Every node's process first: one that died (a port taken, say)
    # fails the start at once, with its log, rather than after WAIT.
    for i in $(seq 1 "$n"); do
      alive "$i" || die "node $i (PID $(cat "$STATE/node$i/pid")) exited; last log lines:
$(tail -n 20 "$STATE/node$i/log")"
    done
    for i in "$@"; do
      if ! ready "$i" || [ "$(healthy_count "$i")" -lt "$n" ]; then
        ok=0
        break
      fi
    done
    [ $ok = 1 ] && return
    [ $SECONDS -lt $deadline ] || die "nodes $* not healthy after ${WAIT}s; logs in $STATE/node*/log"
    sleep 0.5
  done
}

addrs() {
  local n i out=""
  n=$(nodes)
  [ "$n" -gt 0 ] || die "no cluster in $STATE"
  for i in $(seq 1 "$n"); do
    load "$i"
    out+="${out:+,}127.0.0.1:$HTTP/$GRPC"
  done
  echo "$out"
}

start() {
  local n=${1:-3} i ports
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "start: node count $n: want a positive integer"
  if [ -d "$STATE" ]; then
    for i in $(seq 1 "$(nodes)"); do
      ! alive "$i" || die "node $i is running (PID $(cat "$STATE/node$i/pid")); run stop first"
    done
    rm -rf "$STATE"
  fi
  command -v curl >/dev/null || die "curl is needed"
  build
  mkdir -p "$STATE"
  echo "$n" >"$STATE/nodes"
  read -r -a ports <<<"$(free_ports $((7 * n)))"
  for i in $(seq 1 "$n"); do
    mkdir -p "$STATE/node$i"
    local b=$((7 * (i - 1)))
    printf 'HTTP=%s\nGRPC=%s\nGOSSIP=%s\nDATA=%s\nRAFT=%s\nMETRICS=%s\nPPROF=%s\n' "${ports[b]}" "${ports[b + 1]}" "${ports[b + 2]}" "${ports[b + 3]}" "${ports[b + 4]}" "${ports[b + 5]}" "${ports[b + 6]}" >"$STATE/node$i/ports"
  done
  local t0=$SECONDS
  for i in $(seq 1 "$n"); do
    launch "$i"
  done
  wait_health $(seq 1 "$n")
  echo "weaviate-cluster: $n nodes healthy in $((SECONDS - t0)) s; state in $STATE" >&2
  addrs
}

stop_pids() {
  local i pids=() deadline
  for i in "$@"; do
    if alive "$i"; then
      pids+=("$(cat "$STATE/node$i/pid")")
    fi
  done
  [ ${#pids[@]} -gt 0 ] || return 0
  kill -TERM "${pids[@]}" 2>/dev/null || true
  deadline=$((SECONDS + 20))
  for i in "$@"; do
    while alive "$i" && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
    if alive "$i"; then
      echo "weaviate-cluster: node $i did not stop in 20 s: kill -9" >&2
      kill -KILL "$(cat "$STATE/node$i/pid")" 2>/dev/null || true
    fi
  done
}

status() {
  local n i state h
  n=$(nodes)
  [ "$n" -gt 0 ] || { echo "no cluster in $STATE"; return 1; }
  printf '%-6s %-8s %-6s %-6s %-6s %-6s %-6s %s\n' node pid http grpc gossip data raft state
  for i in $(seq 1 "$n"); do
    load "$i"
    if ! alive "$i"; then
      state=down
    elif ready "$i"; then
      h=$(healthy_count "$i")
      if [ "$h" -gt 0 ]; then
        state="ready, sees $h/$n healthy"
      else
        state="ready, node status unavailable (a node may be down)"
      fi
    else
      state=starting
    fi
    printf '%-6s %-8s %-6s %-6s %-6s %-6s %-6s %s\n' "node$i" "$(cat "$STATE/node$i/pid" 2>/dev/null)" "$HTTP" "$GRPC" "$GOSSIP" "$DATA" "$RAFT" "$state"
  done
  echo "addrs: $(addrs)"
}

node_arg() {
  local i=${1:-}
  [ "$(nodes)" -gt 0 ] || die "no cluster in $STATE"
  i=${i#node}
  [[ "$i" =~ ^[0-9]+$ ]] && [ "$i" -ge 1 ] && [ "$i" -le "$(nodes)" ] || die "node ${1:-(none)}: want 1..$(nodes)"
  echo "$i"
}

cmd=${1:-}
shift || true
case "$cmd" in
build) build ;;
start) start "$@" ;;
stop)
  n=$(nodes)
  [ "$n" -gt 0 ] || exit 0
  stop_pids $(seq 1 "$n")
  echo "weaviate-cluster: stopped; logs and data stay in $STATE" >&2
  ;;
status) status ;;
addrs) addrs ;;
kill)
  i=$(node_arg "${1:-}")
  alive "$i" || die "node $i is not running"
  kill -KILL "$(cat "$STATE/node$i/pid")"
  while alive "$i"; do sleep 0.1; done
  echo "weaviate-cluster: node $i killed (-9)" >&2
  ;;
restart)
  i=$(node_arg "${1:-}")
  stop_pids "$i"
  build
  launch "$i"
  wait_health "$i"
  echo "weaviate-cluster: node $i restarted with its data" >&2
  ;;
*)
  sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
  ;;
esac
