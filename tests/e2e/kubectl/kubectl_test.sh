#!/usr/bin/env bash
# Script test: drives the real kubectl against novacron-dev-apiserver (started here on free ports
# with hack/dev-cluster.sh) using the project's CRDs and samples:
#   apply -f crds/ and config/samples/, get vm (printer columns), get -o yaml, describe,
#   patch --type=merge, label, wait --for=condition, get -w seeing an update, delete waiting on a
#   finalizer, and invalid samples refused with the offending field named.
# Usage: kubectl_test.sh PATH/TO/novacron-dev-apiserver
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
# shellcheck source=../../../hack/lib/common.sh
source "$ROOT/hack/lib/common.sh"
WAIT_INTERVAL=0.1
export DEV_APISERVER="${1:?usage: $0 PATH/TO/novacron-dev-apiserver}"
if ! command -v kubectl >/dev/null || ! command -v etcd >/dev/null; then
  echo "SKIP: kubectl or etcd not installed"
  exit 77
fi

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
RUN_DIR="$(mktemp -d /tmp/novacron-kubectl-e2e-XXXXXX)"
API_PORT="$(free_port)"
ETCD_PORT="$(free_port)"
ETCD_PEER_PORT="$(free_port)"
export RUN_DIR API_PORT ETCD_PORT ETCD_PEER_PORT
BG_PIDS=()
cleanup() {
  local rc=$?
  for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  if ((rc != 0)); then
    echo "--- apiserver.log (tail)"; tail -n 30 "$RUN_DIR/apiserver.log" 2>/dev/null || true
  fi
  "$ROOT/hack/dev-cluster.sh" stop >/dev/null || true
  rm -rf "$RUN_DIR"
  exit $rc
}
trap cleanup EXIT

KUBECONFIG="$("$ROOT/hack/dev-cluster.sh" start)"
export KUBECONFIG
step() { echo "--- $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

step "kubectl version reaches the server"
out="$(kubectl version)"
grep -q "Server Version" <<<"$out" || fail "no server version"

step "apply -f crds/"
kubectl apply -f "$ROOT/crds/"
kubectl wait --for=condition=Established crd --all --timeout=20s

step "apply -f config/samples/"
kubectl apply -f "$ROOT/config/samples/"
VM="$(kubectl get vm -o jsonpath='{.items[0].metadata.name}')"
[[ -n "$VM" ]] || fail "no VirtualMachine from the samples"

step "get vm shows the printer columns"
out="$(kubectl get vm)"
echo "$out"
head -1 <<<"$out" | grep -qE "^NAME +PHASE +HYPERVISOR +CPUS +MEMORY" || fail "missing printer columns"
grep -q "^$VM " <<<"$out" || fail "$VM not listed"
wide="$(kubectl get vm -o wide)"
head -1 <<<"$wide" | grep -q "READY" || fail "priority-1 column missing in -o wide"

step "get vm -o yaml"
out="$(kubectl get vm "$VM" -o yaml)"
grep -q "kind: VirtualMachine" <<<"$out" || fail "no kind in yaml"
grep -q "resourceVersion:" <<<"$out" || fail "no resourceVersion in yaml"

step "describe"
out="$(kubectl describe vm "$VM")"
grep -qE "^Name: +$VM" <<<"$out" || fail "describe lacks the name"

step "get -w sees an update"
kubectl get vm "$VM" -w >"$RUN_DIR/watch.out" 2>&1 &
BG_PIDS+=($!)
wait_for_match 10 "^$VM " cat "$RUN_DIR/watch.out" || fail "watch printed nothing"

step "patch --type=merge (status subresource) and the watch sees it"
kubectl patch vm "$VM" --subresource=status --type=merge \
  -p '{"status":{"phase":"Running","conditions":[{"type":"Ready","status":"True","reason":"Booted","message":"guest up","lastTransitionTime":"2026-01-01T00:00:00Z"}]}}'
wait_for_match 10 "^$VM +Running" cat "$RUN_DIR/watch.out" ||
  fail "get -w did not show the update"

step "wait --for=condition=Ready"
kubectl wait --for=condition=Ready "vm/$VM" --timeout=20s

step "patch --type=merge of metadata only keeps generation"
gen_before="$(kubectl get vm "$VM" -o jsonpath='{.metadata.generation}')"
kubectl patch vm "$VM" --type=merge -p '{"metadata":{"annotations":{"e2e":"yes"}}}'
[[ "$(kubectl get vm "$VM" -o jsonpath='{.metadata.generation}')" == "$gen_before" ]] ||
  fail "metadata-only patch bumped generation"

step "label"
kubectl label vm "$VM" e2e-tier=gold
out="$(kubectl get vm -l e2e-tier=gold -o name)"
grep -q "virtualmachine.novacron.io/$VM" <<<"$out" ||
  fail "label selector did not find $VM"

step "delete waits on a finalizer"
kubectl patch vm "$VM" --type=merge -p '{"metadata":{"finalizers":["e2e.novacron.io/hold"]}}'
kubectl delete vm "$VM" --timeout=30s >"$RUN_DIR/delete.out" 2>&1 &
DEL_PID=$!
BG_PIDS+=("$DEL_PID")
wait_for_match 10 "^20[0-9-]+T" kubectl get vm "$VM" -o 'jsonpath={.metadata.deletionTimestamp}' ||
  fail "no deletionTimestamp"
kill -0 "$DEL_PID" 2>/dev/null || fail "kubectl delete returned while the finalizer was set"
kubectl patch vm "$VM" --type=json -p '[{"op":"remove","path":"/metadata/finalizers"}]'
wait "$DEL_PID" || fail "kubectl delete failed: $(cat "$RUN_DIR/delete.out")"
if kubectl get vm "$VM" 2>/dev/null; then fail "$VM still exists"; fi

step "invalid samples are refused with the field named"
shopt -s nullglob
invalid=("$ROOT"/config/samples/invalid/*.yaml)
((${#invalid[@]} > 0)) || fail "no invalid samples"
for f in "${invalid[@]}"; do
  if out="$(kubectl apply -f "$f" 2>&1)"; then fail "$f was accepted"; fi
  echo "$out"
  grep -qE "is invalid: .*(spec|metadata)\.[a-zA-Z]|spec\.[a-zA-Z.\[\]0-9]+" <<<"$out" ||
    fail "$f: refusal does not name a field"
done

step "typed clients: create namespace/configmap/secret (protobuf bodies), delete the namespace"
kubectl create namespace e2e-ns
kubectl create configmap cfg -n e2e-ns --from-literal=k=v
kubectl create secret generic sec -n e2e-ns --from-literal=pw=x
[[ "$(kubectl get configmap cfg -n e2e-ns -o jsonpath='{.data.k}')" == v ]] || fail "configmap data"
kubectl delete namespace e2e-ns --timeout=30s
if kubectl get configmap cfg -n e2e-ns 2>/dev/null; then fail "namespace contents survived"; fi

echo "PASS"
