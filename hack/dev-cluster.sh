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

# shellcheck source=lib/common.sh
source "$ROOT/hack/lib/common.sh"
WAIT_INTERVAL=0.1

# The API server is up (kubeconfig written, port open), or it died and waiting longer is pointless.
apiserver_settled() {
  if [[ -f "$KUBECONFIG_OUT" ]] && port_open "$API_PORT"; then
    return 0
  fi
  ! pid_alive "$RUN_DIR/apiserver.pid"
}

start() {
  mkdir -p "$RUN_DIR"
  if ! command -v etcd >/dev/null; then
    die "etcd not found (apt-get install etcd-server)"
  fi
  if [[ ! -x "$DEV_APISERVER" ]]; then
    die "$DEV_APISERVER not built (cmake --build $BUILD_DIR --target novacron-dev-apiserver)"
  fi
  if ! pid_alive "$RUN_DIR/etcd.pid"; then
    local url="http://127.0.0.1:$ETCD_PORT" peer="http://127.0.0.1:$ETCD_PEER_PORT"
    : >"$RUN_DIR/etcd.log"
    start_bg "$RUN_DIR/etcd.pid" "$RUN_DIR/etcd.log" etcd --name dev \
      --data-dir "$RUN_DIR/etcd-data" --listen-client-urls "$url" \
      --advertise-client-urls "$url" --listen-peer-urls "$peer" \
      --initial-advertise-peer-urls "$peer" --initial-cluster "dev=$peer" --log-level error
    wait_until 30 port_open "$ETCD_PORT" || die "etcd did not start; see $RUN_DIR/etcd.log"
  fi
  if ! pid_alive "$RUN_DIR/apiserver.pid"; then
    rm -f "$KUBECONFIG_OUT"
    : >"$RUN_DIR/apiserver.log"
    start_bg "$RUN_DIR/apiserver.pid" "$RUN_DIR/apiserver.log" "$DEV_APISERVER" \
      --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
      --secure-port="$API_PORT" --bind-address=127.0.0.1 --cert-dir="$RUN_DIR/certs" \
      --kubeconfig-out="$KUBECONFIG_OUT"
    if ! wait_until 30 apiserver_settled || ! pid_alive "$RUN_DIR/apiserver.pid"; then
      die "novacron-dev-apiserver did not start; see $RUN_DIR/apiserver.log"
    fi
  fi
  echo "$KUBECONFIG_OUT"
}

stop() {
  stop_pidfile "$RUN_DIR/apiserver.pid" 5
  stop_pidfile "$RUN_DIR/etcd.pid" 5
  if [[ "${RESET:-0}" == 1 ]]; then
    rm -rf "$RUN_DIR"
  fi
  echo "stopped"
}

status() {
  local rc=0
  for p in etcd apiserver; do
    if pid_alive "$RUN_DIR/$p.pid"; then
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
