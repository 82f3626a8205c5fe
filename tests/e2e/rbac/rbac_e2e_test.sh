#!/usr/bin/env bash
# NovaCron under exactly its RBAC: the dev API server authorizes with config/rbac applied; the
# controller (with leader election) and two node-daemons (libvirt's test driver, each its own
# in-memory hypervisor) each run with a kubeconfig holding its own service account's token
# (`kubectl create token`). A VM is created by the administrator, placed, bound and Running; it is
# deleted and everything is cleaned up (finalizers released by both service accounts). No
# component may log a 403 / Forbidden on the way.
#   tests/e2e/rbac/rbac_e2e_test.sh BUILD_DIR   (exit 77 = skipped)
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
BUILD_DIR="$(cd "${1:-$ROOT/build}" && pwd)"
# shellcheck source=../../../hack/lib/common.sh
source "$ROOT/hack/lib/common.sh"
# shellcheck source=rbac_cluster.sh
source "$HERE/rbac_cluster.sh"
LOG_NAME=rbac_e2e
WAIT_INTERVAL=0.2
NS=default
VM=rbac-e2e

skip() {
  echo "SKIP: $*"
  exit 77
}
for tool in etcd kubectl python3; do
  command -v "$tool" >/dev/null || skip "$tool is not installed (hack/install-deps.sh)"
done
export DEV_APISERVER="$BUILD_DIR/dev-apiserver/novacron-dev-apiserver"
CONTROLLER="$BUILD_DIR/controller/novacron-controller"
NODE_DAEMON="$BUILD_DIR/node-daemon/novacron-node-daemon"
for b in "$DEV_APISERVER" "$CONTROLLER" "$NODE_DAEMON"; do
  [[ -x "$b" ]] || skip "$b is not built"
done

RUN="$(mktemp -d /tmp/novacron-rbac-e2e.XXXXXX)"
PIDS=()
failures=0
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if ((rc)); then
    kubectl get vm,hypervisor -A -o yaml 2>&1 | sed 's/^/    /' | head -n 120
    for f in "$RUN"/*.log "$RUN"/api/apiserver.log; do
      echo "---- tail of $f ----"
      tail -n 30 "$f"
    done
  fi
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null
  done
  stop_rbac_cluster
  rm -rf "$RUN"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

jp() { kubectl get "$1" "$2" -n "$NS" -o "jsonpath=$3" 2>/dev/null; }
field_is() { [[ "$(jp "$1" "$2" "$3")" == "$4" ]]; }
hv_ready() {
  [[ "$(kubectl get hypervisor "$1" \
    -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" == True ]]
}
vm_gone() { ! kubectl get vm "$VM" -n "$NS" >/dev/null 2>&1; }

echo "== API server with RBAC, config/rbac applied"
start_rbac_cluster
sa_kubeconfig novacron-controller "$RUN/controller.kubeconfig"
sa_kubeconfig novacron-node-daemon "$RUN/node-daemon.kubeconfig"
check "service-account kubeconfigs are owner-only" \
  test "$(stat -c %a "$RUN/controller.kubeconfig")" = 600
check "the node-daemon's token is not an administrator's" \
  test "$(KUBECONFIG="$RUN/node-daemon.kubeconfig" kubectl auth can-i update virtualmachines -A)" = no

echo "== controller and two node-daemons, each with its own service account"
start_node() {
  "$NODE_DAEMON" --node-name "$1" --kubeconfig "$RUN/node-daemon.kubeconfig" \
    --libvirt-uri test:///default --vm-root "$RUN/$1/vms" --image-root "$RUN/$1/images" \
    --metrics-address 127.0.0.1 --metrics-port 0 --heartbeat-seconds 1 --resync-seconds 5 \
    --log-format text >"$RUN/node-$1.log" 2>&1 &
  PIDS+=("$!")
}
start_node hv-1
start_node hv-2
"$CONTROLLER" --kubeconfig "$RUN/controller.kubeconfig" --identity rbac-e2e \
  --bind-address "127.0.0.1:$(free_port)" --leader-elect true --log-format text \
  >"$RUN/controller.log" 2>&1 &
PIDS+=("$!")
for hv in hv-1 hv-2; do
  wait_for 60 "Hypervisor $hv Ready" hv_ready "$hv" || die "$hv did not become Ready"
done
wait_for 30 "the controller's leader Lease" \
  kubectl get lease novacron-controller -n novacron-system || die "no leader election"
check "heartbeats are Leases in novacron-node-lease" \
  kubectl get lease hv-1 hv-2 -n novacron-node-lease

echo "== a VM is placed, bound and Running"
kubectl apply -f - >>"$RUN/kubectl.log" 2>&1 <<EOF || die "kubectl apply vm"
apiVersion: novacron.io/v1alpha1
kind: VirtualMachine
metadata: {name: $VM, namespace: $NS}
spec:
  runStrategy: Always
  resources: {cpus: 1, memory: 128Mi}
  disks:
    - name: root
      emptyDisk: {size: 64Mi}
  networks:
    - name: default
  terminationGracePeriodSeconds: 2
EOF
wait_for 60 "VM Running" field_is vm "$VM" '{.status.phase}' Running || die "VM not Running"
bound="$(jp vm "$VM" '{.status.hypervisor}')"
check "the VM is bound to a node ($bound)" test "$bound" = hv-1 -o "$bound" = hv-2
check "the hypervisor label mirrors the binding" wait_until 20 \
  field_is vm "$VM" '{.metadata.labels.novacron\.io/hypervisor}' "$bound"
check "Events were recorded" \
  wait_until 20 bash -c "kubectl get events -n $NS -o name | grep -q ."

echo "== delete: both finalizers released, the VM is gone"
kubectl delete vm "$VM" -n "$NS" --wait=false >>"$RUN/kubectl.log" 2>&1
wait_for 60 "the VM to be deleted" vm_gone
check "the VM is gone" vm_gone

echo "== no component was refused anything"
# A refusal is logged as "(HTTP 403" and reason Forbidden; a bare 403 would also
# match a timestamp's milliseconds (06:05:34.403), which failed a green run once.
refusal='HTTP 403|[^0-9.:]403[^0-9]|forbidden'
for f in "$RUN/controller.log" "$RUN/node-hv-1.log" "$RUN/node-hv-2.log"; do
  if grep -Eiq "$refusal" "$f"; then
    echo "FAIL: $(basename "$f") logged a refusal:"
    grep -Ei "$refusal" "$f" | head -n 5 | sed 's/^/    /'
    failures=$((failures + 1))
  else
    echo "PASS: $(basename "$f"): no 403 / Forbidden"
  fi
done
for pid in "${PIDS[@]}"; do
  check "process $pid is still running" kill -0 "$pid"
done

((failures == 0)) || die "$failures check(s) failed"
echo "rbac_e2e: PASS"
