#!/usr/bin/env bash
# Script test: kubectl-novacron end to end. etcd + novacron-dev-apiserver (hack/dev-cluster.sh on
# free ports), two node-daemons on libvirt's test driver and the controller, all of them and the
# plugin reading a kubeconfig whose user is an exec credential plugin (token_plugin.sh):
#   - kubeconfig: KUBECONFIG list merged (the exec-plugin file first wins), the plugin refreshed
#     after a 401, kubectl itself accepting the same kubeconfig;
#   - start / stop / pause / unpause / restart change the VM as expected (--wait);
#   - top and explain print the expected rows;
#   - migrate follows a VMMigration whose status this script writes (controller stopped) and exits
#     0 on Succeeded, 1 on Failed; cancel sets spec.cancel; completion and --help.
# Usage: plugin_e2e_test.sh PLUGIN DEV_APISERVER CONTROLLER NODE_DAEMON
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../../../hack/lib/common.sh
source "$ROOT/hack/lib/common.sh"
WAIT_INTERVAL=0.2
PLUGIN="${1:?usage: $0 PLUGIN DEV_APISERVER CONTROLLER NODE_DAEMON}"
export DEV_APISERVER="${2:?}"
CONTROLLER="${3:?}"
NODE_DAEMON="${4:?}"
if ! command -v kubectl >/dev/null || ! command -v etcd >/dev/null; then
  echo "SKIP: kubectl or etcd not installed"
  exit 77
fi

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
RUN_DIR="$(mktemp -d /tmp/novacron-plugin-e2e-XXXXXX)"
API_PORT="$(free_port)"
ETCD_PORT="$(free_port)"
ETCD_PEER_PORT="$(free_port)"
CONTROLLER_PORT="$(free_port)"
export RUN_DIR API_PORT ETCD_PORT ETCD_PEER_PORT
cleanup() {
  local rc=$?
  for p in "$RUN_DIR"/*.pid; do
    [[ -e "$p" ]] && stop_pidfile "$p" 5
  done
  if ((rc != 0)); then
    for f in "$RUN_DIR"/*.log; do
      echo "--- $f (tail)"
      tail -n 25 "$f" 2>/dev/null || true
    done
  fi
  "$ROOT/hack/dev-cluster.sh" stop >/dev/null || true
  if [[ "${KEEP_RUN_DIR:-0}" == 1 ]]; then echo "kept $RUN_DIR"; else rm -rf "$RUN_DIR"; fi
  exit $rc
}
trap cleanup EXIT
step() { echo "--- $*"; }
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

DEV_KUBECONFIG="$("$ROOT/hack/dev-cluster.sh" start)"

step "a kubeconfig whose user is an exec credential plugin, listed first in KUBECONFIG"
KUBECONFIG="$DEV_KUBECONFIG" kubectl config view --raw -o jsonpath='{.users[0].user.token}' \
  >"$RUN_DIR/token"
server="$(KUBECONFIG="$DEV_KUBECONFIG" kubectl config view --raw -o jsonpath='{.clusters[0].cluster.server}')"
ca="$(KUBECONFIG="$DEV_KUBECONFIG" kubectl config view --raw \
  -o jsonpath='{.clusters[0].cluster.certificate-authority-data}')"
mkdir -p "$RUN_DIR/exec-state"
cat >"$RUN_DIR/exec-kubeconfig" <<YAML
apiVersion: v1
kind: Config
current-context: via-exec
clusters:
- name: dev-exec
  cluster:
    server: $server
    certificate-authority-data: $ca
contexts:
- name: via-exec
  context: {cluster: dev-exec, user: exec-user, namespace: e2e}
users:
- name: exec-user
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: $HERE/token_plugin.sh
      interactiveMode: Never
      env:
      - {name: TOKEN_FILE, value: $RUN_DIR/token}
      - {name: STATE_DIR, value: $RUN_DIR/exec-state}
YAML
export KUBECONFIG="$RUN_DIR/exec-kubeconfig:$DEV_KUBECONFIG"
plugin() { "$PLUGIN" "$@"; }

step "kubectl accepts the same merged kubeconfig (exec plugin, namespace e2e)"
kubectl apply -f "$ROOT/crds/" >/dev/null
kubectl wait --for=condition=Established crd --all --timeout=20s >/dev/null
kubectl create namespace e2e >/dev/null
kubectl apply -f "$ROOT/config/default/namespace.yaml" >/dev/null  # the node leases live there
[[ "$(cat "$RUN_DIR/exec-state/runs")" -ge 1 ]] || fail "kubectl did not run the exec plugin"

step "a refused exec credential is fetched again (401 -> plugin re-run)"
mkdir -p "$RUN_DIR/exec-401"
sed -e "s|$RUN_DIR/exec-state|$RUN_DIR/exec-401|" \
  -e "s|- {name: TOKEN_FILE, |- {name: WRONG_FIRST, value: \"1\"}\n      - {name: TOKEN_FILE, |" \
  "$RUN_DIR/exec-kubeconfig" >"$RUN_DIR/exec-401-kubeconfig"
out="$("$PLUGIN" --kubeconfig "$RUN_DIR/exec-401-kubeconfig" top 2>&1)" ||
  fail "plugin with a first-refused token: $out"
[[ "$(cat "$RUN_DIR/exec-401/runs")" == 2 ]] ||
  fail "exec plugin ran $(cat "$RUN_DIR/exec-401/runs") times, want 2 (wrong token, then after 401)"

step "two node-daemons (test driver) and the controller, all through the exec plugin"
for node in node-a node-b; do
  start_bg "$RUN_DIR/$node.pid" "$RUN_DIR/$node.log" "$NODE_DAEMON" --node-name "$node" \
    --libvirt-uri test:///default --vm-root "$RUN_DIR/$node/vms" \
    --image-root "$RUN_DIR/$node/images" --metrics-address 127.0.0.1 --metrics-port 0 \
    --heartbeat-seconds 1 --resync-seconds 5 --log-format text --log-level debug
done
start_bg "$RUN_DIR/controller.pid" "$RUN_DIR/controller.log" "$CONTROLLER" \
  --identity e2e-controller --bind-address "127.0.0.1:$CONTROLLER_PORT" --leader-elect false \
  --log-format text
wait_for 60 "both Hypervisors Ready" bash -c \
  'kubectl wait --for=condition=Ready hypervisor/node-a hypervisor/node-b --timeout=1s'

step "a VM becomes Running"
cat <<YAML | kubectl apply -f - >/dev/null
apiVersion: novacron.io/v1alpha1
kind: VirtualMachine
metadata: {name: web, namespace: e2e}
spec:
  resources: {cpus: 1, memory: 128Mi}
  disks:
  - name: root
    emptyDisk: {size: 64Mi}
YAML
wait_for_match 90 "^Running$" kubectl get vm web -o 'jsonpath={.status.phase}' ||
  fail "web did not become Running"
HV="$(kubectl get vm web -o 'jsonpath={.status.hypervisor}')"

step "top: one row per hypervisor and a total"
out="$(plugin top)"
echo "$out"
grep -qE "^NAME +READY +SCHEDULING +CPU\(ALLOC/AVAIL\)" <<<"$out" || fail "top header"
grep -qE "^node-a +True " <<<"$out" || fail "top: node-a row"
grep -qE "^node-b +True " <<<"$out" || fail "top: node-b row"
# The allocated totals top reads are written with the ledger, in the reservation; the cache this
# view reads may still be behind the write: poll for it.
wait_for_match 30 "^$HV +True +[A-Za-z]+ +1/" plugin top || fail "top: $HV does not count web's CPU"
grep -qE "^TOTAL " <<<"$out" || fail "top: total row"

step "explain: where web runs and how the other hypervisor fares"
out="$(plugin explain web)"
echo "$out"
grep -qE "^Hypervisor: +$HV$" <<<"$out" || fail "explain: hypervisor"
grep -qE "^  $HV +bound +runs here" <<<"$out" || fail "explain: bound row"
grep -qE "^  node-[ab] +yes +would fit" <<<"$out" || fail "explain: the other hypervisor fits"
grep -qE "^  Ready +True" <<<"$out" || fail "explain: Ready condition"

step "pause / unpause"
plugin pause web --wait --timeout 60s
[[ "$(kubectl get vm web -o 'jsonpath={.spec.paused}')" == true ]] || fail "spec.paused not set"
plugin unpause web --wait --timeout 60s
[[ -z "$(kubectl get vm web -o 'jsonpath={.spec.paused}')" ]] || fail "spec.paused still set"

step "restart: a new start time, Running again"
before="$(kubectl get vm web -o 'jsonpath={.status.startTime}')"
plugin restart web --wait --timeout 60s
after="$(kubectl get vm web -o 'jsonpath={.status.startTime}')"
[[ "$after" > "$before" ]] || fail "startTime did not move ($before -> $after)"

step "stop / start"
plugin stop web --wait --timeout 60s
[[ "$(kubectl get vm web -o 'jsonpath={.spec.runStrategy}')" == Halted ]] || fail "not Halted"
plugin start web --wait --timeout 60s
[[ "$(kubectl get vm web -o 'jsonpath={.status.phase}')" == Running ]] || fail "not Running"

step "explain an unschedulable VM"
cat <<YAML | kubectl apply -f - >/dev/null
apiVersion: novacron.io/v1alpha1
kind: VirtualMachine
metadata: {name: huge, namespace: e2e}
spec:
  resources: {cpus: 256, memory: 4Ti}
YAML
wait_for_match 30 "False" kubectl get vm huge -o \
  'jsonpath={.status.conditions[?(@.type=="Scheduled")].status}' || fail "huge not refused"
out="$(plugin explain huge)"
echo "$out"
grep -q "(not placed)" <<<"$out" || fail "explain huge: placed?"
grep -qE "^  node-a +no +insufficient" <<<"$out" || fail "explain huge: node-a reason"

step "migrate follows a migration to Succeeded (status written here; controller stopped)"
stop_pidfile "$RUN_DIR/controller.pid" 5
write_status() { # NAME JSON
  kubectl patch vmmigration "$1" --subresource=status --type=merge -p "$2" >/dev/null
}
plugin migrate web --to node-b --name mig-ok >"$RUN_DIR/mig-ok.out" 2>&1 &
mig_pid=$!
wait_for 20 "vmmigration mig-ok" kubectl get vmmigration mig-ok
write_status mig-ok '{"status":{"phase":"Migrating","sourceHypervisor":"ghost-a","targetHypervisor":"ghost-b","progress":{"percent":40,"dataTotalBytes":1073741824,"dataProcessedBytes":429496729,"etaSeconds":12}}}'
wait_for_match 20 "40%" cat "$RUN_DIR/mig-ok.out" || fail "no 40% progress line"
write_status mig-ok '{"status":{"phase":"Succeeded","progress":{"percent":100,"downtimeMs":240}}}'
rc=0
wait "$mig_pid" || rc=$?
cat "$RUN_DIR/mig-ok.out"
((rc == 0)) || fail "migrate exited $rc on Succeeded"
grep -qE "40%  409.6 MiB / 1.0 GiB  ETA 12s  Migrating" "$RUN_DIR/mig-ok.out" ||
  fail "progress line lacks bytes/ETA"
grep -q "succeeded: web moved from ghost-a to ghost-b" "$RUN_DIR/mig-ok.out" || fail "no summary"

step "migrate exits 1 when the migration fails"
plugin migrate web --mode cold --name mig-bad >"$RUN_DIR/mig-bad.out" 2>&1 &
mig_pid=$!
wait_for 20 "vmmigration mig-bad" kubectl get vmmigration mig-bad
[[ "$(kubectl get vmmigration mig-bad -o 'jsonpath={.spec.mode}')" == Cold ]] || fail "mode not Cold"
write_status mig-bad '{"status":{"phase":"Failed","failureReason":"TargetUnreachable"}}'
rc=0
wait "$mig_pid" || rc=$?
cat "$RUN_DIR/mig-bad.out"
((rc == 1)) || fail "migrate exited $rc on Failed, want 1"
grep -q "Failed: TargetUnreachable" "$RUN_DIR/mig-bad.out" || fail "no failure reason"

step "cancel sets spec.cancel"
plugin migrate web --name mig-cancel --no-wait >/dev/null
plugin cancel mig-cancel
[[ "$(kubectl get vmmigration mig-cancel -o 'jsonpath={.spec.cancel}')" == true ]] ||
  fail "spec.cancel not set"

step "console: without a node-daemon pod it runs virsh console on the local libvirt"
mkdir -p "$RUN_DIR/fakebin"
printf '#!/bin/sh\necho "fake-virsh $*"\n' >"$RUN_DIR/fakebin/virsh"
chmod +x "$RUN_DIR/fakebin/virsh"
out="$(PATH="$RUN_DIR/fakebin:$PATH" plugin console web 2>&1)" || fail "console: $out"
grep -qx "fake-virsh -c qemu:///system console e2e_web" <<<"$out" || fail "console ran: $out"
out="$(PATH="$RUN_DIR/fakebin:$PATH" plugin console web --libvirt-uri test:///default 2>&1)"
grep -qx "fake-virsh -c test:///default console e2e_web" <<<"$out" || fail "console ran: $out"

step "--help, unknown commands, completion"
plugin --help | grep -q "migrate" || fail "--help lacks migrate"
plugin migrate --help | grep -q -- "--mode live|cold" || fail "migrate --help"
if plugin frobnicate >/dev/null 2>&1; then fail "unknown command accepted"; fi
plugin completion bash >"$RUN_DIR/completion.bash"
bash -c "source '$RUN_DIR/completion.bash' && complete -p kubectl-novacron" | grep -q _kubectl_novacron ||
  fail "bash completion not registered"
COMP_WORDS=(kubectl-novacron mig) COMP_CWORD=1 bash -c "source '$RUN_DIR/completion.bash'
  COMP_WORDS=(kubectl-novacron mig); COMP_CWORD=1; _kubectl_novacron; echo \"\${COMPREPLY[*]}\"" |
  grep -qx migrate || fail "bash completion of 'mig'"

echo "PASS"
