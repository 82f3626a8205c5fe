#!/usr/bin/env bash
# End-to-end (issue 16): on the demo (hack/demo.sh, no teardown until the end), what kubectl, the
# Events and the node-daemon's log say is what happened:
#   1. the tiny guest gets an address by DHCP on the demo network and `kubectl get vm` shows it;
#   2. its serial console is a pty (virsh console; `kubectl novacron console` driven under tmux shows
#      the guest's ticker) whose output is still logged to serial.log;
#   3. a VM whose image cannot be downloaded is Starting with Ready=False/ImageDownloadFailed;
#   4. a stop runs into the grace period (the tiny guest ignores ACPI): phase Stopping, then the
#      domain is forced off with a GracePeriodExpired Event; a start again moves status.startTime;
#   5. deleting the running VM shuts it down gracefully first (Stopping, domain still running),
#      then forces it off with the same Event, then removes it;
#   6. the node-daemon logs one line per action, "cleaned up" once, and no blank lines;
#   7. hack/demo.sh down leaves no LIBVIRT_ iptables chain it created.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
# shellcheck source=../../../hack/lib/common.sh
source "$ROOT/hack/lib/common.sh"
export BUILD_DIR="${NOVACRON_BINARY_DIR:-${BUILD_DIR:-$ROOT/build}}"
export RUN_DIR
RUN_DIR="$(mktemp -d /tmp/novacron-truth-test.XXXXXX)"
export KUBECONFIG="$RUN_DIR/api/kubeconfig"
# The unreachable image is on loopback (nothing listens on port 9): the node-daemon may try it.
export DEMO_NODE_DAEMON_FLAGS="--image-allowed-networks 127.0.0.1/32"
failures=0
WAIT_INTERVAL=0.5
NODE_LOG="$RUN_DIR/logs/node-daemon.log"
DOMAIN=default_tiny

chains() { { iptables -w -S; iptables -w -t nat -S; iptables -w -t mangle -S; } 2>/dev/null | grep -c LIBVIRT_ || true; }
chains_before=$(chains)

finish() {
  local rc=$?
  if ((failures)) || ((rc)); then
    echo "---- node-daemon log (tail) ----"
    tail -n 60 "$NODE_LOG" 2>/dev/null
    kubectl get vm -o yaml 2>/dev/null | tail -n 80
  fi
  "$ROOT/hack/demo.sh" down
  rm -rf "$RUN_DIR"
}
trap finish EXIT

if ! "$ROOT/hack/demo.sh" --no-install --no-build; then
  echo "status_truth: the demo did not come up"
  failures=1
  exit 1
fi

# The demo's hypervisor host A (tests/e2e/harness): its libvirtd runs the demo VM.
# shellcheck disable=SC1090
source <("$ROOT/tests/e2e/harness/two_hosts.sh" env --state-dir "$RUN_DIR/hosts") ||
  { echo "status_truth: no two-hosts state in $RUN_DIR/hosts"; exit 1; }
field() { kubectl get vm "$1" -o jsonpath="$2" 2>/dev/null; }
ready_reason() { field "$1" '{.status.conditions[?(@.type=="Ready")].reason}'; }
event_reasons() {  # VM
  kubectl get events -o jsonpath='{range .items[*]}{.involvedObject.name} {.reason}{"\n"}{end}' \
    2>/dev/null | awk -v vm="$1" '$1 == vm { print $2 }'
}
has_event() { event_reasons "$1" | grep -qx "$2"; }
domstate() { virsh -q -c "$HOST_A_URI" domstate "$DOMAIN" 2>/dev/null | head -n1; }

# 1. The guest's address, from the demo network's DHCP lease.
check "the tiny guest has an address on the demo network" \
  wait_for_match 120 '^10\.213\.0\.[0-9]+$' field tiny '{.status.interfaces[0].ip}'
ip="$(field tiny '{.status.interfaces[0].ip}')"
check "kubectl get vm shows it in the IP column" \
  bash -c "kubectl get vm tiny --no-headers | grep -qw -- '${ip:-none}'"
kubectl get vm tiny

# 2. A pty console with a log file.
check "the serial console is a pty" bash -c \
  "virsh -q -c $HOST_A_URI dumpxml $DOMAIN | grep -q \"<serial type='pty'>\""
check "virsh console finds the pty" bash -c \
  "virsh -q -c $HOST_A_URI ttyconsole $DOMAIN | grep -q '^/dev/pts/'"
serial="$(find "$RUN_DIR/node/vms" -name serial.log | head -n1)"
check "the console's output is still logged to serial.log" grep -q 'tick [0-9]' "${serial:-/nonexistent}"
# The console as a user drives it, under tmux: `kubectl novacron console` (virsh console on host
# A's libvirtd) shows the guest's ticker in the pane; Ctrl-] leaves.
PLUGIN="$BUILD_DIR/kubectl-plugin/kubectl-novacron"
if command -v tmux >/dev/null && [[ -x "$PLUGIN" ]]; then
  tmux kill-session -t nc-truth-console 2>/dev/null
  tmux new-session -d -s nc-truth-console -x 160 -y 40 \
    "$PLUGIN console tiny --libvirt-uri $HOST_A_URI"
  pane_has_ticks() { tmux capture-pane -p -t nc-truth-console 2>/dev/null | grep -q 'tick [0-9]'; }
  check "kubectl novacron console shows the guest's ticker (tmux)" wait_until 30 pane_has_ticks
  tmux send-keys -t nc-truth-console C-] 2>/dev/null
  tmux kill-session -t nc-truth-console 2>/dev/null
else
  echo "SKIPPED: the console under tmux (tmux or $PLUGIN missing)"
fi

# 3. An image that cannot be downloaded.
kubectl apply -f - <<'YAML'
apiVersion: novacron.io/v1alpha1
kind: VirtualMachine
metadata: {name: badimg, namespace: default}
spec:
  resources: {cpus: 1, memory: 64Mi}
  disks:
    - name: root
      image: {url: "http://127.0.0.1:9/nothing-listens-here.qcow2"}
YAML
check "a VM with an unreachable image is Ready=False/ImageDownloadFailed" \
  wait_for_match 90 '^ImageDownloadFailed$' ready_reason badimg
check "... in phase Starting" test "$(field badimg '{.status.phase}')" = Starting
check "... its Ready condition is False with a message naming the image" bash -c \
  "kubectl get vm badimg -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status} {.status.conditions[?(@.type==\"Ready\")].message}' | grep -q '^False .*nothing-listens-here'"
check "... and an ImageDownloadFailed Event" wait_until 30 has_event badimg ImageDownloadFailed
kubectl get vm badimg
kubectl delete vm badimg --wait=true --timeout=60s >/dev/null

# 4. A stop past the grace period (terminationGracePeriodSeconds 10 in the sample).
first_start="$(field tiny '{.status.startTime}')"
sleep 1  # startTime has second precision: the next start must be able to differ
kubectl patch vm tiny --type=merge -p '{"spec":{"runStrategy":"Halted"}}' >/dev/null
check "the stop is in progress: phase Stopping" wait_for_match 30 '^Stopping$' field tiny '{.status.phase}'
check "... while the guest (ignoring ACPI) still runs" test "$(domstate)" = running
check "the domain is forced off after the grace period: phase Stopped" \
  wait_for_match 60 '^Stopped$' field tiny '{.status.phase}'
check "... with a GracePeriodExpired Event" wait_until 30 has_event tiny GracePeriodExpired
kubectl patch vm tiny --type=merge -p '{"spec":{"runStrategy":"Always"}}' >/dev/null
check "started again: Running" wait_for_match 60 '^Running$' field tiny '{.status.phase}'
second_start="$(field tiny '{.status.startTime}')"
check "status.startTime is the new start ($first_start -> $second_start)" \
  bash -c "[[ -n '$second_start' && '$second_start' > '$first_start' ]]"

# 5. Deleting the running VM: graceful first.
kubectl delete vm tiny --wait=false >/dev/null
check "a deleted running VM is Stopping first" wait_for_match 20 '^Stopping$' field tiny '{.status.phase}'
check "... its guest still runs during the grace period" test "$(domstate)" = running
check "... then it is gone" wait_until 90 bash -c '! kubectl get vm tiny >/dev/null 2>&1'
check "... after being forced off (a second GracePeriodExpired Event)" \
  bash -c "[[ \$(grep -c 'tiny.*forced off' '$NODE_LOG') -ge 2 ]]"
check "its domain is gone" bash -c "! virsh -q -c $HOST_A_URI dominfo $DOMAIN >/dev/null 2>&1"

# 6. The node-daemon's log.
check "one 'started domain' line per start (2)" \
  test "$(grep -c 'VM default/tiny: started domain' "$NODE_LOG")" -eq 2
check "one 'cleaned up' line" \
  test "$(grep -c 'VM default/tiny: cleaned up domain and disks' "$NODE_LOG")" -eq 1
check "a line for the shutdown request" grep -q 'VM default/tiny: asked the guest' "$NODE_LOG"
check "the image failure is logged with the VM" grep -q 'VM default/badimg: ImageDownloadFailed' "$NODE_LOG"
check "no blank lines in the node-daemon's log" test "$(grep -c '^[[:space:]]*$' "$NODE_LOG")" -eq 0

# 7. Teardown restores the host.
trap - EXIT
"$ROOT/hack/demo.sh" down
check "no LIBVIRT_ iptables chain or jump left that the demo added" test "$(chains)" -le "$chains_before"
check "the run directory is gone" test ! -e "$RUN_DIR"
rm -rf "$RUN_DIR"
if ((failures)); then
  echo "status_truth: $failures check(s) failed"
  exit 1
fi
echo "status_truth: all checks passed"
