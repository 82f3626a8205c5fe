#!/usr/bin/env bash
# Monitoring end to end: brings up the local demo (etcd, the dev API server, libvirtd, the
# node-daemon, the controller and a real QEMU guest; hack/demo.sh), starts Debian's Prometheus
# on a free loopback port in a temporary directory, scraping the controller and the node-daemon
# every second with config/monitoring/novacron-alerts.yaml loaded, then checks through
# Prometheus's HTTP API (tests/e2e/monitoring/check_queries.py) that:
#  - promtool accepts the rules and the configuration;
#  - every expression of config/monitoring/novacron-dashboard.json returns data, and its template
#    variables have values;
#  - every alert expression parses and evaluates, the rule groups evaluate without error, and no
#    alert is pending or firing for this healthy cluster;
#  - with the node-daemon stopped, NovaCronHypervisorNotReady and NovaCronVMsUnknown go pending.
# Everything is torn down at exit (hack/demo.sh down, Prometheus stopped, temp dir removed).
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
# shellcheck source=../../../hack/lib/common.sh
source "$ROOT/hack/lib/common.sh"
for tool in prometheus promtool; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "SKIPPED: $tool not found (hack/install-deps.sh installs Debian's prometheus)"
    exit 77
  fi
done
export BUILD_DIR="${NOVACRON_BINARY_DIR:-${BUILD_DIR:-$ROOT/build}}"
export RUN_DIR
RUN_DIR="$(mktemp -d /tmp/novacron-monitoring-demo.XXXXXX)"
PROM_DIR="$(mktemp -d /tmp/novacron-monitoring-prom.XXXXXX)"
# The demo's fixed endpoints (hack/demo.sh).
CONTROLLER=127.0.0.1:19102
NODE_DAEMON=127.0.0.1:19101
failures=0

cleanup() {
  stop_pidfile "$PROM_DIR/prometheus.pid" 10
  "$ROOT/hack/demo.sh" down >/dev/null 2>&1 || echo "monitoring_e2e: demo teardown failed"
  rm -rf "$PROM_DIR" "$RUN_DIR"
}
trap cleanup EXIT

check "promtool accepts config/monitoring/novacron-alerts.yaml" \
  promtool check rules "$ROOT/config/monitoring/novacron-alerts.yaml"

if ! "$ROOT/hack/demo.sh" --no-install --no-build >"$PROM_DIR/demo.log" 2>&1; then
  cat "$PROM_DIR/demo.log"
  echo "monitoring_e2e: the demo did not come up"
  exit 1
fi
echo "monitoring_e2e: demo up (VM tiny Running)"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$PROM_DIR/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $ROOT/config/monitoring/novacron-alerts.yaml
scrape_configs:
  - job_name: novacron-controller
    static_configs:
      - targets: ["$CONTROLLER"]
  - job_name: novacron-node-daemon
    static_configs:
      - targets: ["$NODE_DAEMON"]
YAML
check "promtool accepts the test's Prometheus configuration" \
  promtool check config "$PROM_DIR/prometheus.yml"
start_bg "$PROM_DIR/prometheus.pid" "$PROM_DIR/prometheus.log" prometheus \
  --config.file="$PROM_DIR/prometheus.yml" --storage.tsdb.path="$PROM_DIR/data" \
  --web.listen-address="127.0.0.1:$port" --log.level=warn
if ! wait_for 60 "Prometheus on 127.0.0.1:$port" curl -sf "http://127.0.0.1:$port/-/ready"; then
  cat "$PROM_DIR/prometheus.log"
  exit 1
fi

python3 "$ROOT/tests/e2e/monitoring/check_queries.py" "http://127.0.0.1:$port" \
  "$ROOT/config/monitoring/novacron-dashboard.json" "$ROOT/config/monitoring/novacron-alerts.yaml" ||
  failures=$((failures + 1))

# The alerts can fire: with the node-daemon gone, the controller marks the Hypervisor Ready=Unknown
# after its heartbeat timeout (40 s) and the VM Unknown; both alerts go pending (their `for:` keeps
# them from firing within the test).
stop_pidfile "$RUN_DIR/node-daemon.pid" 10
python3 "$ROOT/tests/e2e/monitoring/check_queries.py" "http://127.0.0.1:$port" --pending \
  NovaCronHypervisorNotReady NovaCronVMsUnknown || failures=$((failures + 1))

if ((failures)); then
  echo "---- prometheus log ----"
  tail -n 20 "$PROM_DIR/prometheus.log"
  echo "monitoring_e2e: $failures check(s) failed"
  exit 1
fi
echo "monitoring_e2e: all checks passed"
