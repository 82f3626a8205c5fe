#!/usr/bin/env bash
# Starts/stops a local development Kubernetes API: etcd + novacron-dev-apiserver, in the
# background, under a run directory. Prints the kubeconfig path on start.
#
#   hack/dev-cluster.sh start     # build dir: $BUILD_DIR (default build/), run dir: $RUN_DIR
#   export KUBECONFIG=$(hack/dev-cluster.sh kubeconfig)
#   hack/dev-cluster.sh status
#   hack/dev-cluster.sh stop      # stops both; RESET=1 also deletes the data
#
# Environment: RUN_DIR (default .run/dev-cluster/ in the repository), BUILD_DIR, API_PORT (6443),
# ETCD_PORT (2379), ETCD_PEER_PORT (2380), DEV_APISERVER (path to the binary).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUN_DIR="${RUN_DIR:-$ROOT/.run/dev-cluster}"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
API_PORT="${API_PORT:-6443}"
ETCD_PORT="${ETCD_PORT:-2379}"
ETCD_PEER_PORT="${ETCD_PEER_PORT:-2380}"
DEV_APISERVER="${DEV_APISERVER:-$BUILD_DIR/dev-apiserver/novacron-dev-apiserver}"
KUBECONFIG_OUT="$RUN_DIR/kubeconfig"

alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

wait_port() {  # port seconds
  local deadline=$((SECONDS + $2))
  while ((SECONDS < deadline)); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  return 1
}

start() {
  mkdir -p "$RUN_DIR"
  if ! command -v etcd >/dev/null; then
    echo "etcd not found (apt-get install etcd-server)" >&2
    exit 1
  fi
  if [[ ! -x "$DEV_APISERVER" ]]; then
    echo "$DEV_APISERVER not built (cmake --build $BUILD_DIR --target novacron-dev-apiserver)" >&2
    exit 1
  fi
  if ! alive "$RUN_DIR/etcd.pid"; then
    local url="http://127.0.0.1:$ETCD_PORT" peer="http://127.0.0.1:$ETCD_PEER_PORT"
    nohup etcd --name dev --data-dir "$RUN_DIR/etcd-data" --listen-client-urls "$url" \
      --advertise-client-urls "$url" --listen-peer-urls "$peer" \
      --initial-advertise-peer-urls "$peer" --initial-cluster "dev=$peer" \
      --log-level error >"$RUN_DIR/etcd.log" 2>&1 &
    echo $! >"$RUN_DIR/etcd.pid"
    if ! wait_port "$ETCD_PORT" 30; then
      echo "etcd did not start; see $RUN_DIR/etcd.log" >&2
      exit 1
    fi
  fi
  if ! alive "$RUN_DIR/apiserver.pid"; then
    rm -f "$KUBECONFIG_OUT"
    nohup "$DEV_APISERVER" --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
      --secure-port="$API_PORT" --bind-address=127.0.0.1 --cert-dir="$RUN_DIR/certs" \
      --kubeconfig-out="$KUBECONFIG_OUT" >"$RUN_DIR/apiserver.log" 2>&1 &
    echo $! >"$RUN_DIR/apiserver.pid"
    local deadline=$((SECONDS + 30))
    until [[ -f "$KUBECONFIG_OUT" ]] && wait_port "$API_PORT" 1; do
      if ((SECONDS >= deadline)) || ! alive "$RUN_DIR/apiserver.pid"; then
        echo "novacron-dev-apiserver did not start; see $RUN_DIR/apiserver.log" >&2
        exit 1
      fi
      sleep 0.1
    done
  fi
  echo "$KUBECONFIG_OUT"
}

stop_one() {  # pidfile
  if alive "$1"; then
    local pid
    pid="$(cat "$1")"
    kill "$pid"
    for _ in $(seq 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$1"
}

stop() {
  stop_one "$RUN_DIR/apiserver.pid"
  stop_one "$RUN_DIR/etcd.pid"
  if [[ "${RESET:-0}" == 1 ]]; then
    rm -rf "$RUN_DIR"
  fi
  echo "stopped"
}

status() {
  local rc=0
  for p in etcd apiserver; do
    if alive "$RUN_DIR/$p.pid"; then
      echo "$p: running (pid $(cat "$RUN_DIR/$p.pid"))"
    else
      echo "$p: stopped"
      rc=1
    fi
  done
  [[ -f "$KUBECONFIG_OUT" ]] && echo "kubeconfig: $KUBECONFIG_OUT"
  return $rc
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  kubeconfig) echo "$KUBECONFIG_OUT" ;;
  *)
    echo "usage: $0 start|stop|status|kubeconfig" >&2
    exit 2
    ;;
esac
